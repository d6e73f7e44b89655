-- 50-unsanctioned.lua -- 9000005: traffic to an AI provider that is not on
-- sanctioned_providers (default: none sanctioned).  Severity 3 notice,
-- one per internal host x provider per unsanctioned.suppress_s (a day).
local SANCTIONED = egret.config("sanctioned_providers", {})
local SUPPRESS = egret.config("unsanctioned.suppress_s", 86400)

local ok = {}
for _, p in ipairs(SANCTIONED) do ok[string.lower(p)] = true end

local function check(flow)
  local ai = flow:ai()
  if not ai.provider or ok[string.lower(ai.provider)] then return end
  alert {
    key = egret.key(flow.src_ip, ai.provider),
    why = {
      src_host = flow.src_ip, provider = ai.provider, kind = ai.kind,
      ai_host = ai.host or flow.hostname, method = ai.method,
      sanctioned_count = #SANCTIONED,
    },
  }
end

rule {
  id = 9000005, rev = 1, severity = 3, category = "ai-policy",
  name = "EGRET unsanctioned AI provider",
  suppress = SUPPRESS,
  fleet = true, -- with --window-store: once per fleet, not per sensor
  needs = { "ai", "internal_src" },
  hooks = { "on_classified", "on_flow_end" },
  on_classified = check,
  on_flow_end = check,
}
