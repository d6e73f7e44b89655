-- 30-machine-cadence.lua -- 9000003: machine-cadence API use.
--
-- Counts estimated requests (request/response exchanges, across flows) per
-- internal host x AI provider over a sliding window; at cadence.min_requests
-- raises severity 2.  'why' reports the rate and the regularity: the
-- coefficient of variation (cv) of per-bucket request counts since the
-- first request in the window (low cv = evenly spaced = a script).
local MIN = egret.config("cadence.min_requests", 100)
local WIN = egret.config("cadence.window_s", 600)
local BUCKETS = 60
-- fleet = true: with --window-store the counts and the suppression are the
-- fleet's (the regularity stays this sensor's own series); local otherwise.
local W = egret.window("ai_requests", WIN, { buckets = BUCKETS, fields = { "requests", "flows" }, fleet = true })

local function round3(x) return math.floor(x * 1000 + 0.5) / 1000 end

local function regularity(key)
  local s = W:series(key, "requests")
  local i = 1
  while i <= #s and s[i] == 0 do i = i + 1 end
  local n, sum, sq = 0, 0, 0
  for k = i, #s do n = n + 1; sum = sum + s[k]; sq = sq + s[k] * s[k] end
  if n < 2 or sum == 0 then return nil end
  local mean = sum / n
  local var = math.max(sq / n - mean * mean, 0)
  return math.sqrt(var) / mean
end

local function feed(flow)
  local g = flow:growth()
  if g.exchanges <= 0 and not g.first then return end
  local ai = flow:ai()
  local key = egret.key(flow.src_ip, ai.provider)
  W:add(key, { requests = math.max(g.exchanges, 0), flows = g.first and 1 or 0 })
  local t = W:get(key)
  if t and t.requests >= MIN then
    local active = math.max(egret.now() - t.first, 0) + WIN / BUCKETS -- whole buckets
    local cv = regularity(key)
    alert {
      key = key,
      why = {
        src_host = flow.src_ip, provider = ai.provider, kind = ai.kind,
        requests = t.requests, flows = t.flows, window_s = WIN, threshold_requests = MIN,
        rate_per_min = round3(t.requests * 60 / active),
        cv = cv and round3(cv) or nil, regular = cv ~= nil and cv < 0.5,
        sensor = t.fleet and t.sensor or nil, sensor_requests = t.fleet and t.sensors or nil,
      },
    }
  end
end

rule {
  id = 9000003, rev = 1, severity = 2, category = "ai-egress",
  name = "EGRET AI machine-cadence API use",
  suppress = WIN,
  fleet = true,
  needs = { "ai", "internal_src" },
  hooks = { "on_tick", "on_flow_end" },
  on_tick = feed,
  on_flow_end = feed,
}
