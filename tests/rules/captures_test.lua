-- captures_test.lua -- the shipped rules on the project's captures (pcaps/).
--
-- Each test names a capture; `egret test` replays it through a real engine
-- (decode, flows, nDPI, attribution, GeoIP with the shipped test
-- databases) running the rules with the test's config/sets, then compares
-- the alerts.  The captures are small, so most tests lower a threshold
-- with `sets`.  Figures come from pcaps/README.md.
local P = "../../pcaps/" -- relative to this file

return {
  -- ai-upload.pcap: 1,181,548 payload bytes to api.anthropic.com in one flow;
  -- judged by on_tick when the client's FIN arrives (not at the flow's timeout)
  { name = "ai-upload: 1.2 MB to Anthropic -> 9000001 at a 1 MB threshold",
    pcap = P .. "ai-upload.pcap", sids = { 9000001 },
    sets = { ["bulk_upload.min_bytes"] = 1e6 },
    expect = { { sid = 9000001, severity = 2, src_ip = "10.1.1.20", dest_ip = "203.0.113.20",
                 provider = "Anthropic",
                 why = { upload_bytes = 1181548, download_bytes = 2963, threshold_bytes = 1000000,
                         ratio = { ge = 0.99 }, ai_host = "api.anthropic.com", kind = "api",
                         hook = "on_tick" } } } },

  { name = "ai-upload: below the default 10 MB thresholds -> no upload alert",
    pcap = P .. "ai-upload.pcap", sids = { 9000001, 9000002 },
    expect = {} },

  { name = "ai-upload: host x provider window -> 9000002 at a 1 MB threshold",
    pcap = P .. "ai-upload.pcap", sids = { 9000002 },
    sets = { "aggregate_upload.min_bytes=1e6" },
    expect = { { sid = 9000002, src_ip = "10.1.1.20", dest_ip = "203.0.113.20",
                 provider = "Anthropic", key = "10.1.1.20|Anthropic",
                 why = { flows = 1, upload_bytes_window = 1181548, window_s = 600 } } } },

  { name = "ai-upload: unsanctioned notice once, not for the non-AI download",
    pcap = P .. "ai-upload.pcap", sids = { 9000005 },
    expect = { { sid = 9000005, severity = 3, src_ip = "10.1.1.20", dest_ip = "203.0.113.20",
                 provider = "Anthropic",
                 why = { ai_host = "api.anthropic.com", method = "sni", sanctioned_count = 0 } } } },

  { name = "ai-upload: sanctioned provider (config table) is silent",
    pcap = P .. "ai-upload.pcap", sids = { 9000005 },
    config = { sanctioned_providers = { "anthropic" } },
    expect = {} },

  -- The per-host rules count internal hosts only; 9000001 is per flow and
  -- has no direction condition.
  { name = "ai-upload: a client outside engine.home_net is not counted per host",
    pcap = P .. "ai-upload.pcap", engine = { home_net = "192.168.0.0/16" },
    sids = { 9000002, 9000003, 9000004, 9000005, 9000006 },
    sets = { ["bulk_upload.min_bytes"] = 1e6, ["aggregate_upload.min_bytes"] = 1e6 },
    expect = {} },

  -- ai-dns-ipliteral.pcap: SNI-less upload to a DeepSeek address (CN) named by DNS
  { name = "ai-dns-ipliteral: upload to CN -> 9000004 at a 10 kB threshold",
    pcap = P .. "ai-dns-ipliteral.pcap", sids = { 9000004 },
    sets = { ["restricted_geo.min_bytes"] = 10e3 },
    expect = { { sid = 9000004, severity = 2, src_ip = "10.1.1.30", dest_ip = "203.0.113.70",
                 provider = "DeepSeek",
                 why = { country_iso = "CN", asn = 64503, upload_bytes_window = 24925,
                         threshold_bytes = 10000 } } } },

  { name = "ai-dns-ipliteral: 25 kB is below the default 100 kB restricted-geo threshold",
    pcap = P .. "ai-dns-ipliteral.pcap", sids = { 9000004 },
    expect = {} },

  { name = "ai-dns-ipliteral: attributed by DNS; the client that never resolved is not",
    pcap = P .. "ai-dns-ipliteral.pcap", sids = { 9000005 },
    expect = { { sid = 9000005, src_ip = "10.1.1.30", dest_ip = "203.0.113.70",
                 provider = "DeepSeek", why = { method = "dns", ai_host = "api.deepseek.com" } } } },

  -- ai-ech.pcap: outer SNI cloudflare-ech.com; the resolved name wins
  { name = "ai-ech: ECH flow attributed to Anthropic through DNS",
    pcap = P .. "ai-ech.pcap", sids = { 9000005 },
    expect = { { sid = 9000005, src_ip = "10.1.1.60", dest_ip = "203.0.113.21",
                 provider = "Anthropic", why = { method = "dns", ai_host = "api.anthropic.com" } } } },

  -- ai-ipv6.pcap: five AI providers over IPv6 (one by DNS), two non-AI flows
  { name = "ai-ipv6: one unsanctioned notice per provider",
    pcap = P .. "ai-ipv6.pcap", sids = { 9000005 },
    expect = {
      { sid = 9000005, src_ip = "fd00::30", dest_ip = "2001:db8:100::10", provider = "OpenAI" },
      { sid = 9000005, src_ip = "fd00::30", dest_ip = "2001:db8:200::70", provider = "DeepSeek" },
      { sid = 9000005, src_ip = "fd00::30", dest_ip = "2001:db8:300::5", provider = "Mistral" },
      { sid = 9000005, src_ip = "fd00::30", dest_ip = "2001:db8:ff00::1", provider = "Groq" },
      { sid = 9000005, src_ip = "fd00::30", dest_ip = "2001:db8:200::80", provider = "xAI",
        why = { method = "dns" } } } },

  -- ai-quic.pcap: QUIC Initial with SNI chatgpt.com
  { name = "ai-quic: QUIC SNI attribution reaches the rules",
    pcap = P .. "ai-quic.pcap", sids = { 9000005 },
    expect = { { sid = 9000005, src_ip = "10.1.1.70", dest_ip = "198.51.100.12", provider = "OpenAI",
                 why = { method = "quic_sni", kind = "consumer", ai_host = "chatgpt.com" } } } },

  -- ai-sni-kinds.pcap with a site catalog (engine.ai_catalog)
  { name = "ai-sni-kinds: --ai-catalog adds a gateway and re-kinds claude.ai",
    pcap = P .. "ai-sni-kinds.pcap", sids = { 9000005 },
    engine = { ai_catalog = "../integration/ai-catalog-override/local_ai.tsv" },
    expect = {
      { sid = 9000005, dest_ip = "198.51.100.11", provider = "OpenAI" },
      { sid = 9000005, dest_ip = "203.0.113.22", provider = "Anthropic", why = { kind = "api" } },
      { sid = 9000005, dest_ip = "203.0.113.140", provider = "AWS Bedrock", why = { kind = "cloud" } },
      { sid = 9000005, dest_ip = "198.51.100.140", provider = "OpenRouter" },
      { sid = 9000005, dest_ip = "203.0.113.150", provider = "Google" },
      { sid = 9000005, src_ip = "10.1.1.50", dest_ip = "203.0.113.200",
        provider = "Corp LLM Gateway", why = { kind = "gateway" } } } },

  -- http-host.pcap: three chat-completion requests on one connection
  { name = "http-host: 3 exchanges -> 9000003 at min_requests 3",
    pcap = P .. "http-host.pcap", sids = { 9000003 },
    sets = { ["cadence.min_requests"] = 3 },
    expect = { { sid = 9000003, src_ip = "10.1.1.30", dest_ip = "198.51.100.40", provider = "Mistral",
                 why = { requests = 3, flows = 1, threshold_requests = 3 } } } },

  -- dns-answers.pcap: a server subnet resolving an AI name
  { name = "dns-answers: a listed server resolving api.openai.com -> 9000006 via dns",
    pcap = P .. "dns-answers.pcap", sids = { 9000006 },
    config = { servers = { "10.1.1.0/24" } },
    expect = { { sid = 9000006, src_ip = "10.1.1.10", dest_ip = "10.0.0.53", provider = "OpenAI",
                 why = { via = "dns", ai_host = "api.openai.com" } } } },

  -- tcp-loss.pcap: no AI endpoint at all, even with every threshold low
  { name = "tcp-loss: non-AI upload is silent for every rule",
    pcap = P .. "tcp-loss.pcap",
    sets = { ["bulk_upload.min_bytes"] = 1, ["aggregate_upload.min_bytes"] = 1,
             ["cadence.min_requests"] = 1, ["restricted_geo.min_bytes"] = 1 },
    config = { servers = { "10.0.0.0/8" } },
    expect = {} },
}
