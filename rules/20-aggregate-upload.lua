-- 20-aggregate-upload.lua -- 9000002: upload per internal host x AI
-- provider over a sliding window, across any number of flows and requests.
--
-- Fed from ticks and flow end with the growth of each flow's upload since
-- this rule last saw it (flow:growth(), so it fires while traffic flows);
-- one alert per (host, provider) per window.  Where request bodies are visible (clear-text
-- HTTP), the messages they carried are summed in the same window and
-- reported next to the bytes (messages_window).
local MIN = egret.config("aggregate_upload.min_bytes", 5e6)
local WIN = egret.config("aggregate_upload.window_s", 600)
-- fleet = true: with --window-store the window and the suppression are the
-- fleet's (several sensors, one total, one alert); local otherwise.
local W = egret.window("ai_upload", WIN, { fields = { "bytes", "flows", "messages" }, fleet = true })

local function count_messages(flow)
  local c = flow:content()
  if not c or not c.messages or c.messages == 0 then return end
  W:add(egret.key(flow.src_ip, flow:ai().provider), { messages = c.messages })
end

local function feed(flow)
  local g = flow:growth()
  if g.upload <= 0 and not g.first then return end
  local ai = flow:ai()
  local key = egret.key(flow.src_ip, ai.provider)
  W:add(key, { bytes = math.max(g.upload, 0), flows = g.first and 1 or 0 })
  local t = W:get(key)
  if t and t.bytes >= MIN then
    alert {
      key = key,
      why = {
        src_host = flow.src_ip, provider = ai.provider, kind = ai.kind,
        upload_bytes_window = t.bytes, flows = t.flows, window_s = WIN,
        messages_window = t.messages,
        threshold_bytes = MIN, first_seen = t.first, last_seen = t.last,
        sensor = t.fleet and t.sensor or nil, sensor_bytes = t.fleet and t.sensors or nil,
      },
    }
  end
end

rule {
  id = 9000002, rev = 1, severity = 2, category = "ai-egress",
  name = "EGRET AI aggregate upload from one host",
  suppress = WIN,
  fleet = true,
  needs = { "ai", "internal_src" },
  hooks = { "on_tick", "on_flow_end", "on_http" },
  on_tick = feed,
  on_flow_end = feed,
  on_http = count_messages,
}
