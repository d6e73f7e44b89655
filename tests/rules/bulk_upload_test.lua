-- bulk_upload_test.lua -- 9000001: one large upload to an AI endpoint.
local AI = { provider = "OpenAI", kind = "api", host = "api.openai.com" }

local function flow(t)
  local f = { src_ip = "10.0.0.5", dest_ip = "162.159.140.245", hostname = "api.openai.com",
              ai = AI, start = 0, exchanges = 1 }
  for k, v in pairs(t) do f[k] = v end
  return f
end

return {
  { name = "12 MB upload in one flow -> severity 2", sids = { 9000001 },
    events = { { hook = "on_flow_end", at = 60,
                 flow = flow { payload_toserver = 12e6, payload_toclient = 200e3 } } },
    expect = { { sid = 9000001, severity = 2, src_ip = "10.0.0.5", dest_ip = "162.159.140.245",
                 why = { upload_bytes = 12000000, download_bytes = 200000,
                         threshold_bytes = 10000000, ratio = { ge = 0.98 }, min_ratio = 0.8,
                         provider = "OpenAI", kind = "api", hook = "on_flow_end" } } } },

  { name = "150 MB by TCP sequence (lossy capture) -> severity 1", sids = { 9000001 },
    events = { { hook = "on_flow_end", at = 300,
                 flow = flow { payload_toserver = 20e6, seq_bytes_toserver = 150e6,
                               payload_toclient = 1e6 } } },
    expect = { { sid = 9000001, severity = 1,
                 why = { upload_bytes = 150000000, threshold_bytes = 100000000,
                         payload_toserver = 20000000, seq_bytes_toserver = 150000000 } } } },

  { name = "fires while flowing; escalates once; one alert per level", sids = { 9000001 },
    events = {
      { hook = "on_tick", at = 30, flow = flow { payload_toserver = 11e6, payload_toclient = 1e5 } },
      { hook = "on_tick", at = 60, flow = flow { payload_toserver = 50e6, payload_toclient = 1e5 } },
      { hook = "on_tick", at = 90, flow = flow { payload_toserver = 101e6, payload_toclient = 1e5 } },
      { hook = "on_flow_end", at = 95, flow = flow { payload_toserver = 120e6, payload_toclient = 1e5 } },
    },
    expect = { { sid = 9000001, severity = 2, why = { hook = "on_tick", upload_bytes = 11000000 } },
               { sid = 9000001, severity = 1, why = { hook = "on_tick", upload_bytes = 101000000 } } } },

  { name = "download-heavy flow (ratio 0.375) is silent", sids = { 9000001 },
    events = { { hook = "on_flow_end", at = 60,
                 flow = flow { payload_toserver = 12e6, payload_toclient = 20e6 } } },
    expect = {} },

  { name = "non-AI destination is silent", sids = { 9000001 },
    events = { { hook = "on_flow_end", at = 60,
                 flow = { src_ip = "10.0.0.5", dest_ip = "198.51.100.7", payload_toserver = 50e6 } } },
    expect = {} },

  { name = "--set lowers the threshold", sids = { 9000001 }, sets = { "bulk_upload.min_bytes=1e6" },
    events = { { hook = "on_flow_end", at = 60, flow = flow { payload_toserver = 2e6 } } },
    expect = { { sid = 9000001, severity = 2, why = { threshold_bytes = 1000000 } } } },

  { name = "config table raises the threshold", sids = { 9000001 },
    config = { bulk_upload = { min_bytes = 50e6 } },
    events = { { hook = "on_flow_end", at = 60, flow = flow { payload_toserver = 12e6 } } },
    expect = {} },
}
