-- machine_cadence_test.lua -- 9000003: >= 100 requests in 10 min per host x provider.
local AI = { provider = "OpenAI", kind = "api", host = "api.openai.com" }

-- one keep-alive flow: 10 requests every 10 s (a script)
local keepalive = {}
for i = 1, 12 do
  keepalive[#keepalive + 1] = { hook = "on_tick", at = i * 10,
    flow = { src_ip = "10.1.0.4", dest_ip = "162.159.140.245", ai = AI, exchanges = i * 10,
             payload_toserver = i * 40e3, payload_toclient = i * 60e3 } }
end

-- 120 short flows of one request each
local shortflows = {}
for i = 1, 120 do
  shortflows[#shortflows + 1] = { hook = "on_flow_end", at = i * 4,
    flow = { src_ip = "10.1.0.5", src_port = 30000 + i, dest_ip = "162.159.140.245", ai = AI,
             exchanges = 1, payload_toserver = 3e3, payload_toclient = 5e3 } }
end

return {
  { name = "keep-alive flow at 60 requests/min -> severity 2, regular", sids = { 9000003 },
    events = keepalive,
    expect = { { sid = 9000003, severity = 2, src_ip = "10.1.0.4",
                 why = { requests = 100, flows = 1, threshold_requests = 100, window_s = 600,
                         rate_per_min = { ge = 55, le = 65 }, cv = { le = 0.1 }, regular = true,
                         provider = "OpenAI" } } } },

  { name = "120 one-request flows -> one alert (counted across flows)", sids = { 9000003 },
    events = shortflows,
    expect = { { sid = 9000003, src_ip = "10.1.0.5", why = { requests = 100, flows = 100 } } } },

  { name = "a person: 20 requests in 10 minutes is silent", sids = { 9000003 },
    events = (function()
      local e = {}
      for i = 1, 20 do
        e[#e + 1] = { hook = "on_tick", at = i * 29,
          flow = { src_ip = "10.1.0.6", dest_ip = "162.159.140.245", ai = AI, exchanges = i } }
      end
      return e
    end)(),
    expect = {} },
}
