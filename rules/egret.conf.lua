-- egret.conf.lua -- egret's configuration file (data only).
--
-- Found at `-c FILE`, else (an installed egret) SYSCONFDIR/egret/egret.conf.lua
-- (/etc/egret/ for a /usr install), else this shipped default.  Loaded in an
-- empty sandbox environment: no functions, no libraries; either
-- `return { ... }` a table (as here) or assign globals.
--
-- Two kinds of keys live here:
--   * host settings, in the sections capture, outputs, home_net, geo, ai,
--     ndpi, inspection, tls, engine: each stands for a command-line option
--     (the reference table in README.md, "Configuration file"), and the
--     command line overrides it;
--   * rule settings (everything else): read by the rules with
--     egret.config("bulk_upload.min_bytes", 10e6) or declared in their
--     rule{ config = {...} }; the rule's default applies when a key is absent.
-- A key that is neither (a typo), or a value of the wrong type, stops egret
-- with FILE:LINE and exit status 2.  Any value can be overridden with dotted
-- keys: --set bulk_upload.min_bytes=5e6 --set restricted_countries=CN,RU
-- --set 'sanctioned_providers={"OpenAI","Anthropic"}'.
return {
  -- ---- host settings (the command line's defaults shown commented) ----
  -- capture = { interface = "eth0", filter = "tcp or udp", buffer_mib = 64,
  --             workers = 4, fanout = true },
  -- outputs = { eve = { file = "/var/log/egret/eve.json",
  --                     types = { "alert", "flow", "stats" }, community_id = true },
  --             stats_interval_s = 60, evidence_dir = "/var/lib/egret/evidence" },
  -- geo = { geoip_db = "/usr/share/GeoIP/GeoLite2-City.mmdb",
  --         asn_db = "/usr/share/GeoIP/GeoLite2-ASN.mmdb", enabled = true,
  --         test_databases = false },
  -- ai = { catalogs = { "/etc/egret/site-ai.tsv" }, ndpi = true },
  -- inspection = { enabled = true, depth = 4194304, reasm_memcap = 67108864 },
  -- tls = { keylogs = { "/var/lib/egret/sslkeys.log" } },
  -- engine = { max_flows = 1000000, tick_interval_s = 5, rule_paths = { "/etc/egret/rules" } },

  -- Internal address space: the engine decides flow direction with it (as
  -- --home-net does, which overrides it) and rules read it.  The engine's
  -- default, including carrier-grade NAT space.
  home_net = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7" },

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

  -- 9000008: evasive HTTP requests to AI endpoints (docs/EVASION.md).
  evasion = { suppress_s = 3600 },
}
