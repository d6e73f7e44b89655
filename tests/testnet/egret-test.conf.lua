-- tests/testnet/egret-test.conf.lua -- rules configuration for the testnet
-- captures (pcaps/testnet-*.pcap) and the live test.
--
-- The shipped defaults (rules/egret.conf.lua) with only the two volume
-- thresholds lowered, so that the committed captures can stay small
-- (each <= 5 MB, all <= 30 MB) and still cross them:
--   bulk_upload.min_bytes       10e6 -> 2e6    (9000001, one flow)
--   aggregate_upload.min_bytes   5e6 -> 1.5e6  (9000002, host x provider, 600 s)
-- 1.5e6 stays above pcaps/ai-upload.pcap's 1.18 MB upload, so the older
-- captures raise the same alerts under this file as under the shipped one.
-- Everything else (cadence 100 requests / 600 s, restricted_geo 100 KB,
-- restricted countries, no sanctioned providers, no servers) is shipped.
return {
  home_net = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7" },
  servers = {},
  sanctioned_providers = {},
  restricted_countries = { "CN", "RU", "IR", "KP" },
  bulk_upload = { min_bytes = 2e6, high_bytes = 100e6, min_ratio = 0.8 },
  aggregate_upload = { min_bytes = 1.5e6, window_s = 600 },
  cadence = { min_requests = 100, window_s = 600 },
  restricted_geo = { min_bytes = 100e3, window_s = 600 },
  unsanctioned = { suppress_s = 86400 },
  servers_ai = { suppress_s = 86400 },
}
