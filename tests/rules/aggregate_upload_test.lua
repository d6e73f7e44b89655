-- aggregate_upload_test.lua -- 9000002: upload per host x provider in 10 minutes.
local AI = { provider = "Anthropic", kind = "api", host = "api.anthropic.com" }

local function flow(src, port, up, extra)
  local f = { src_ip = src, src_port = port, dest_ip = "160.79.104.10", ai = AI,
              payload_toserver = up, payload_toclient = up // 10 }
  for k, v in pairs(extra or {}) do f[k] = v end
  return f
end

-- six 1 MB flows from one host within five minutes
local six = {}
for i = 1, 6 do
  six[#six + 1] = { hook = "on_flow_end", at = i * 50, flow = flow("10.0.0.7", 50000 + i, 1e6) }
end

-- one long flow, ticked every 30 s, 2 MB more each time
local ticks = {}
for i = 1, 5 do
  ticks[#ticks + 1] = { hook = "on_tick", at = i * 30, flow = flow("10.0.0.8", 41000, i * 2e6) }
end
ticks[#ticks + 1] = { hook = "on_flow_end", at = 160, flow = flow("10.0.0.8", 41000, 11e6) }

return {
  { name = "six 1 MB flows in 5 min -> one alert for the host x provider", sids = { 9000002 },
    events = six,
    expect = { { sid = 9000002, severity = 2, src_ip = "10.0.0.7", key = "10.0.0.7|Anthropic",
                 why = { upload_bytes_window = { ge = 5000000 }, flows = 5, window_s = 600,
                         threshold_bytes = 5000000, provider = "Anthropic", src_host = "10.0.0.7" } } } },

  { name = "fires from ticks while the upload runs (suppressed per key)", sids = { 9000002 },
    events = ticks,
    expect = { { sid = 9000002, why = { upload_bytes_window = 6000000, flows = 1 } } } },

  { name = "messages seen in clear-text requests are reported with the bytes", sids = { 9000002 },
    events = {
      { hook = "on_http", at = 10, flow = flow("10.0.0.10", 42000, 1e5,
          { http = { method = "POST", uri = "/v1/messages" }, content = { shape = "openai_chat", messages = 40, chars = 9000 } }) },
      { hook = "on_http", at = 20, flow = flow("10.0.0.10", 42000, 2e5,
          { http = { method = "POST", uri = "/v1/messages" }, content = { shape = "openai_chat", messages = 25, chars = 6000 } }) },
      { hook = "on_flow_end", at = 30, flow = flow("10.0.0.10", 42000, 6e6) },
    },
    expect = { { sid = 9000002, src_ip = "10.0.0.10",
                 why = { upload_bytes_window = 6000000, messages_window = 65 } } } },

  { name = "3 MB then 3 MB eleven minutes later: window expired, silent", sids = { 9000002 },
    events = { { hook = "on_flow_end", at = 10, flow = flow("10.0.0.9", 40001, 3e6) },
               { hook = "on_flow_end", at = 670, flow = flow("10.0.0.9", 40002, 3e6) } },
    expect = {} },

  { name = "two hosts with 3 MB each do not add up", sids = { 9000002 },
    events = { { hook = "on_flow_end", at = 10, flow = flow("10.0.0.10", 40001, 3e6) },
               { hook = "on_flow_end", at = 20, flow = flow("10.0.0.11", 40001, 3e6) } },
    expect = {} },

  { name = "window and threshold from config", sids = { 9000002 },
    config = { aggregate_upload = { min_bytes = 1e6, window_s = 60 } },
    events = { { hook = "on_flow_end", at = 10, flow = flow("10.0.0.12", 40001, 6e5) },
               { hook = "on_flow_end", at = 50, flow = flow("10.0.0.12", 40002, 6e5) } },
    expect = { { sid = 9000002, why = { window_s = 60, threshold_bytes = 1000000,
                                        upload_bytes_window = 1200000 } } } },
}
