-- unsanctioned_test.lua -- 9000005: notice for an unsanctioned AI provider.
local function flow(src, provider, port)
  return { src_ip = src, src_port = port or 40000, dest_ip = "203.0.113.50",
           ai = { provider = provider, kind = "consumer", host = "chatgpt.com" },
           payload_toserver = 4e3, payload_toclient = 30e3 }
end

return {
  { name = "default (nothing sanctioned): one notice per host x provider", sids = { 9000005 },
    events = { { hook = "on_classified", at = 1, flow = flow("10.0.0.5", "OpenAI", 40001) },
               { hook = "on_classified", at = 50, flow = flow("10.0.0.5", "OpenAI", 40002) },
               { hook = "on_flow_end", at = 60, flow = flow("10.0.0.5", "OpenAI", 40002) },
               { hook = "on_classified", at = 70, flow = flow("10.0.0.5", "Anthropic", 40003) } },
    expect = { { sid = 9000005, severity = 3, key = "10.0.0.5|OpenAI",
                 why = { provider = "OpenAI", kind = "consumer", ai_host = "chatgpt.com",
                         sanctioned_count = 0 } },
               { sid = 9000005, severity = 3, key = "10.0.0.5|Anthropic" } } },

  { name = "again after a day", sids = { 9000005 },
    events = { { hook = "on_classified", at = 1, flow = flow("10.0.0.5", "OpenAI", 40001) },
               { hook = "on_classified", at = 86402, flow = flow("10.0.0.5", "OpenAI", 40002) } },
    expect = { { sid = 9000005, count = 2 } } },

  { name = "sanctioned provider (case-insensitive) is silent", sids = { 9000005 },
    config = { sanctioned_providers = { "openai" } },
    events = { { hook = "on_classified", at = 1, flow = flow("10.0.0.5", "OpenAI") } },
    expect = {} },

  { name = "external client is not ours to report", sids = { 9000005 },
    events = { { hook = "on_classified", at = 1,
                 flow = (function() local f = flow("198.51.100.1", "OpenAI"); f.src_internal = false; return f end)() } },
    expect = {} },
}
