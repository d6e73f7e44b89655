-- 40-restricted-geo.lua -- 9000004: upload to an AI service hosted in a
-- restricted jurisdiction (destination GeoIP country on
-- restricted_countries), >= restricted_geo.min_bytes per internal host x
-- provider within the window.  Fed like 9000002: from ticks and flow end
-- with each flow's upload growth since this rule last saw it.
local MIN = egret.config("restricted_geo.min_bytes", 100e3)
local WIN = egret.config("restricted_geo.window_s", 600)
local COUNTRIES = egret.config("restricted_countries", { "CN", "RU", "IR", "KP" })
-- fleet = true: shared through --window-store when given (see 9000002).
local W = egret.window("restricted_upload", WIN, { fleet = true })

local restricted = {}
for _, c in ipairs(COUNTRIES) do restricted[string.upper(c)] = true end

local function feed(flow)
  local geo = flow:geo()
  if not geo or not geo.country_iso or not restricted[string.upper(geo.country_iso)] then return end
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
        country_iso = geo.country_iso, country = geo.country, asn = geo.asn,
        upload_bytes_window = t.bytes, window_s = WIN, threshold_bytes = MIN,
        sensor = t.fleet and t.sensor or nil, sensor_bytes = t.fleet and t.sensors or nil,
      },
    }
  end
end

rule {
  id = 9000004, rev = 1, severity = 2, category = "ai-egress",
  name = "EGRET AI upload to a restricted jurisdiction",
  suppress = WIN,
  fleet = true,
  needs = { "ai", "internal_src" },
  hooks = { "on_tick", "on_flow_end" },
  on_tick = feed,
  on_flow_end = feed,
}
