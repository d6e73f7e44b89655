-- restricted_geo_test.lua -- 9000004: upload to an AI service in a restricted country.
local function flow(cc, up, port)
  return { src_ip = "10.2.0.9", src_port = port or 40000, dest_ip = "198.51.100.20",
           ai = { provider = "DeepSeek", kind = "api", host = "api.deepseek.com" },
           geo = { country_iso = cc, country = cc == "CN" and "China" or "United States", asn = 4134 },
           payload_toserver = up, payload_toclient = 20e3 }
end

return {
  { name = "200 KB to a CN-hosted AI API -> severity 2", sids = { 9000004 },
    events = { { hook = "on_flow_end", at = 30, flow = flow("CN", 200e3) } },
    expect = { { sid = 9000004, severity = 2, src_ip = "10.2.0.9",
                 why = { country_iso = "CN", country = "China", asn = 4134, provider = "DeepSeek",
                         upload_bytes_window = 200000, threshold_bytes = 100000 } } } },

  { name = "60 KB + 60 KB in two flows within the window -> fires", sids = { 9000004 },
    events = { { hook = "on_flow_end", at = 30, flow = flow("CN", 60e3, 40001) },
               { hook = "on_flow_end", at = 90, flow = flow("CN", 60e3, 40002) } },
    expect = { { sid = 9000004, why = { upload_bytes_window = 120000 } } } },

  { name = "same upload to a US-hosted endpoint is silent", sids = { 9000004 },
    events = { { hook = "on_flow_end", at = 30, flow = flow("US", 5e6) } },
    expect = {} },

  { name = "small interactive use (20 KB) to CN is silent", sids = { 9000004 },
    events = { { hook = "on_flow_end", at = 30, flow = flow("CN", 20e3) } },
    expect = {} },

  { name = "--set restricted_countries=US,RU applies the list", sids = { 9000004 },
    sets = { "restricted_countries=US,RU" },
    events = { { hook = "on_flow_end", at = 30, flow = flow("US", 200e3) },
               { hook = "on_flow_end", at = 30, flow = flow("CN", 200e3, 40009) } },
    expect = { { sid = 9000004, why = { country_iso = "US" } } } },
}
