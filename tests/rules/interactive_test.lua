-- interactive_test.lua -- every shipped rule together: small, occasional
-- interactive use (a few prompts of a few KB) raises nothing at severity <= 2.
local function chat(src, port, at, prompts)
  return { hook = "on_flow_end", at = at,
           flow = { src_ip = src, src_port = port, dest_ip = "104.18.32.47", hostname = "chatgpt.com",
                    ai = { provider = "OpenAI", kind = "consumer", host = "chatgpt.com" },
                    geo = { country_iso = "US" }, start = at - 120, exchanges = prompts,
                    payload_toserver = prompts * 3e3, payload_toclient = prompts * 25e3 } }
end

local ev = {}
for i = 1, 4 do
  ev[#ev + 1] = { hook = "on_tick", at = i * 100 - 50,
    flow = { src_ip = "10.0.0.5", src_port = 40000 + i, dest_ip = "104.18.32.47",
             ai = { provider = "OpenAI", kind = "consumer" }, exchanges = 2,
             payload_toserver = 6e3, payload_toclient = 50e3 } }
  ev[#ev + 1] = chat("10.0.0.5", 40000 + i, i * 100, 3)
end

return {
  { name = "a person chatting: nothing at severity <= 2", severities = { 1, 2 },
    events = ev, expect = {} },
  { name = "a person chatting: just the unsanctioned-provider notice", 
    events = ev, expect = { { sid = 9000005, severity = 3 } } },
}
