-- 40-restricted-geo.lua -- 9000004: upload to an AI service hosted in a
-- restricted jurisdiction (destination GeoIP country on
-- restricted_countries), >= restricted_geo.min_bytes per internal host x
-- provider within the window.
local MIN = egret.config("restricted_geo.min_bytes", 100e3)
local WIN = egret.config("restricted_geo.window_s", 600)
local COUNTRIES = egret.config("restricted_countries", { "CN", "RU", "IR", "KP" })
local W = egret.window("restricted_upload", WIN)

local restricted = {}
for _, c in ipairs(COUNTRIES) do restricted[string.upper(c)] = true end

local function feed(flow)
  local ai, geo = flow:ai(), flow:geo()
  if not ai or not geo or not geo.country_iso then return end
  if not restricted[string.upper(geo.country_iso)] or not flow:internal("src") then return end
  local st = flow:state()
  local up = flow:upload()
  local delta = up - (st.up or 0)
  st.up = math.max(up, st.up or 0)
  if delta <= 0 then return end
  local key = egret.key(flow.src_ip, ai.provider)
  W:add(key, { bytes = delta, flows = st.counted and 0 or 1 })
  st.counted = true
  local t = W:get(key)
  if t and t.bytes >= MIN then
    alert {
      key = key,
      why = {
        host = flow.src_ip, provider = ai.provider, kind = ai.kind,
        country_iso = geo.country_iso, country = geo.country, asn = geo.asn,
        upload_bytes_window = t.bytes, window_s = WIN, threshold_bytes = MIN,
      },
    }
  end
end

rule {
  id = 9000004, rev = 1, severity = 2, category = "ai-egress",
  name = "EGRET AI upload to a restricted jurisdiction",
  suppress = WIN,
  needs = { "ai", "internal_src" },
  hooks = { "on_tick", "on_flow_end" },
  on_tick = feed,
  on_flow_end = feed,
}
