-- http_evasion_test.lua -- 9000008: evasive HTTP requests to AI endpoints (on_http).
--
-- Synthetic on_http events carry `http = {..., anomalies = "a,b"}` (the
-- comma-separated names the engine hands the rule as a set).
local AI = { provider = "OpenAI", kind = "api", host = "api.openai.com" }
local DST = "203.0.113.80"

local function req(src, at, anomalies, extra)
  local http = { method = "POST", host = "api.openai.com", uri = "/v1/chat/completions",
                 content_type = "application/json", body_len = 4000, anomalies = anomalies }
  for k, v in pairs(extra or {}) do http[k] = v end
  return { hook = "on_http", at = at,
           flow = { src_ip = src, src_port = 40000, dest_ip = DST, dest_port = 80,
                    app_proto = "http", ai = AI, http = http } }
end

return {
  { name = "duplicated Host -> severity 2 with the second name", sids = { 9000008 },
    events = { req("10.3.0.1", 10, "host_duplicate", { host = "example.com",
                                                        host_alt = "api.openai.com" }) },
    expect = { { sid = 9000008, severity = 2, src_ip = "10.3.0.1", dest_ip = DST,
                 provider = "OpenAI", key = "10.3.0.1|OpenAI",
                 why = { anomalies = "host_duplicate", ai_host = "example.com",
                         host_alt = "api.openai.com", provider = "OpenAI", kind = "api",
                         method = "POST", src_host = "10.3.0.1" } } } },

  { name = "retransmitted different bytes -> severity 2", sids = { 9000008 },
    events = { req("10.3.0.2", 10, "tcp_overlap_conflict") },
    expect = { { sid = 9000008, severity = 2, why = { anomalies = "tcp_overlap_conflict" } } } },

  { name = "header padding alone -> notice", sids = { 9000008 },
    events = { req("10.3.0.3", 10, "header_limit") },
    expect = { { sid = 9000008, severity = 3, why = { anomalies = "header_limit" } } } },

  { name = "strong and weak together -> severity 2, both named", sids = { 9000008 },
    events = { req("10.3.0.4", 10, "header_limit,host_mismatch,absolute_uri") },
    expect = { { sid = 9000008, severity = 2,
                 why = { anomalies = "host_mismatch,header_limit" } } } },

  { name = "absolute URI, HTTP/2 padding and CONTINUATION alone -> nothing", sids = { 9000008 },
    events = { req("10.3.0.5", 10, "absolute_uri,h2_padding,h2_continuation") },
    expect = {} },

  { name = "no anomalies -> nothing", sids = { 9000008 },
    events = { req("10.3.0.6", 10, "") },
    expect = {} },

  { name = "suppressed per host x provider for an hour", sids = { 9000008 },
    events = { req("10.3.0.7", 10, "header_limit"), req("10.3.0.7", 20, "host_duplicate"),
               req("10.3.0.7", 3700, "header_limit") },
    expect = { { sid = 9000008, src_ip = "10.3.0.7", severity = 3 },
               { sid = 9000008, src_ip = "10.3.0.7", severity = 3 } } },
}
