-- 60-servers-ai.lua -- 9000006: a server (an address in the configured
-- `servers` subnets) resolving an AI name (DNS answer for a catalog name)
-- or connecting to an AI endpoint.  Severity 3, one per server x provider
-- per servers_ai.suppress_s.  Inert while `servers` is empty (default).
local SERVERS = egret.config("servers", {})
local SUPPRESS = egret.config("servers_ai.suppress_s", 86400)

local function check(flow)
  if #SERVERS == 0 then return end
  local ai = flow:ai()
  if not ai or not egret.ip_in(flow.src_ip, SERVERS) then return end
  local via, name = "connection", ai.host or flow.hostname
  if flow.hook == "on_dns" then
    via = "dns"
    name = flow:dns().rrname or name
  end
  alert {
    key = egret.key(flow.src_ip, ai.provider),
    why = { src_host = flow.src_ip, provider = ai.provider, kind = ai.kind, via = via, ai_host = name },
  }
end

rule {
  id = 9000006, rev = 1, severity = 3, category = "ai-policy",
  name = "EGRET server talking to an AI service",
  suppress = SUPPRESS,
  fleet = true, -- with --window-store: once per fleet, not per sensor
  needs = { "ai" },
  hooks = { "on_dns", "on_classified" },
  on_dns = check,
  on_classified = check,
}
