-- 10-bulk-upload.lua -- 9000001: a single large upload to an AI endpoint.
--
-- One flow whose upload (max of captured payload and TCP sequence
-- progress toserver, so capture loss cannot hide it) reaches
-- bulk_upload.min_bytes with upload/(upload+download) >= min_ratio:
-- severity 2; at bulk_upload.high_bytes: severity 1.  Checked on every
-- tick (fires while the upload runs) and at flow end.  One alert per flow
-- and severity level: a flow that first crossed 10 MB and later 100 MB
-- alerts twice (2, then 1).
local MIN = egret.config("bulk_upload.min_bytes", 10e6)
local HIGH = egret.config("bulk_upload.high_bytes", 100e6)
local RATIO = egret.config("bulk_upload.min_ratio", 0.8)

local function round3(x) return math.floor(x * 1000 + 0.5) / 1000 end

local function check(flow)
  local ai = flow:ai()
  local up, down = flow:upload(), flow:download()
  if up < MIN then return end
  local ratio = up / (up + down)
  if ratio < RATIO then return end
  local sev = up >= HIGH and 1 or 2
  local st = flow:state()
  if st.sev and st.sev <= sev then return end -- already raised at this level
  st.sev = sev
  alert {
    severity = sev,
    suppress = false, -- per-flow-and-level suppression is done above
    why = {
      src_host = flow.src_ip, provider = ai.provider, kind = ai.kind,
      ai_host = ai.host or flow.hostname,
      upload_bytes = up, download_bytes = down, ratio = round3(ratio),
      threshold_bytes = sev == 1 and HIGH or MIN, min_ratio = RATIO,
      payload_toserver = flow:payload("toserver"),
      seq_bytes_toserver = flow:seq_bytes("toserver"),
      duration_s = round3(flow:duration()), hook = flow.hook,
    },
  }
end

rule {
  id = 9000001, rev = 1, severity = 2, category = "ai-egress",
  name = "EGRET AI bulk upload in one flow",
  needs = { "ai", "internal_src" },
  hooks = { "on_tick", "on_flow_end" },
  on_tick = check,
  on_flow_end = check,
}
