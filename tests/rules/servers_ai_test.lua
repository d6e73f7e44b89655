-- servers_ai_test.lua -- 9000006: servers resolving or connecting to AI.
local AI = { provider = "OpenAI", kind = "api", host = "api.openai.com" }
local SERVERS = { servers = { "10.20.0.0/16", "fd00:20::/32" } }

local function dns(src)
  return { src_ip = src, dest_ip = "10.0.0.53", dest_port = 53, proto = "UDP", app_proto = "dns",
           dest_internal = true, ai = AI,
           dns = { rrai_host = "api.openai.com", rrtype = "A", answers = { "162.159.140.245" } } }
end

local function conn(src)
  return { src_ip = src, dest_ip = "162.159.140.245", hostname = "api.openai.com", ai = AI }
end

return {
  { name = "default: no servers configured, silent", sids = { 9000006 },
    events = { { hook = "on_dns", at = 1, flow = dns("10.20.1.5") } },
    expect = {} },

  { name = "server resolves an AI name, then connects: one notice", sids = { 9000006 },
    config = SERVERS,
    events = { { hook = "on_dns", at = 1, flow = dns("10.20.1.5") },
               { hook = "on_classified", at = 2, flow = conn("10.20.1.5") },
               { hook = "on_classified", at = 3, flow = conn("10.0.0.5") } },
    expect = { { sid = 9000006, severity = 3, src_ip = "10.20.1.5",
                 why = { src_host = "10.20.1.5", via = "dns", ai_host = "api.openai.com",
                         provider = "OpenAI" } } } },

  { name = "IPv6 server connecting -> notice via connection", sids = { 9000006 },
    config = SERVERS,
    events = { { hook = "on_classified", at = 2, flow = conn("fd00:20::17") } },
    expect = { { sid = 9000006, why = { via = "connection", src_host = "fd00:20::17" } } } },
}
