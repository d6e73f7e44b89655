-- egret.conf.lua -- default configuration of the shipped rules (data only).
--
-- Loaded with `-c FILE` in an empty sandbox environment: no functions, no
-- libraries; either `return { ... }` a table (as here) or assign globals.
-- Every value can also be overridden on the command line with dotted
-- keys: --set bulk_upload.min_bytes=5e6 --set restricted_countries=CN,RU
-- --set 'sanctioned_providers={"OpenAI","Anthropic"}'.
-- Rules read values with egret.config("bulk_upload.min_bytes", 10e6); the
-- default in the rule applies when the key is absent here.
return {
  -- Internal address space as the rules see it (the engine's --home-net
  -- decides flow direction; this copy is for rules that need prefixes).
  home_net = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7" },

  -- Server subnets (rule 9000006 "servers talking to AI").  Empty: the
  -- rule is inert until you list your server VLANs, e.g. { "10.20.0.0/16" }.
  servers = {},

  -- Providers the organisation has approved (rule 9000005).  Compared
  -- case-insensitively with the attribution's provider name ("OpenAI",
  -- "Anthropic", "Google", ...).  Empty: every provider is unsanctioned,
  -- so each (host, provider) pair raises one severity-3 notice per day.
  sanctioned_providers = {},

  -- Destination countries (ISO 3166-1 alpha-2) where uploading to an AI
  -- service is restricted (rule 9000004).
  restricted_countries = { "CN", "RU", "IR", "KP" },

  -- 9000001: one flow's upload to an AI endpoint.
  bulk_upload = {
    min_bytes = 10e6,   -- severity 2 at or above
    high_bytes = 100e6, -- severity 1 at or above
    min_ratio = 0.8,    -- upload / (upload + download)
  },

  -- 9000002: upload per internal host x provider over a sliding window.
  aggregate_upload = { min_bytes = 5e6, window_s = 600 },

  -- 9000003: request (exchange) count per internal host x provider.
  cadence = { min_requests = 100, window_s = 600 },

  -- 9000004: upload to an AI destination in a restricted country.
  restricted_geo = { min_bytes = 100e3, window_s = 600 },

  -- 9000007: message content in clear-text requests (HTTP inspection).
  -- min_messages counts the request's messages plus those pasted inside
  -- them (embedded_messages) when they come from >= 2 distinct senders.
  content = { min_messages = 50, min_chars = 1e6, window_s = 600 },

  -- 9000005 / 9000006: one notice per (host, provider) per this many seconds.
  unsanctioned = { suppress_s = 86400 },
  servers_ai = { suppress_s = 86400 },
}
