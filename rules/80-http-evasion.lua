-- 80-http-evasion.lua -- 9000008: a request to an AI endpoint shaped to evade inspection.
--
-- egret reads through the shapes an insider's upload script can give a
-- request to hide it (docs/EVASION.md): header padding, duplicated or
-- mismatched Host, odd Transfer-Encoding, retransmissions with different
-- bytes.  Each is also marked in http.anomalies, and the shape itself is
-- worth an alert when the request goes to an AI endpoint:
--   severity 2: host_duplicate, host_mismatch (two names: which one did the
--     server route on?), tcp_overlap_conflict (two different copies of the
--     same bytes: egret kept the first, the server may have kept the other),
--     malformed (framing egret could not follow, so the body went uninspected);
--   severity 3: header_limit, transfer_coding, chunk_extension (rare from
--     real clients, read through by egret).
-- absolute_uri, h2_padding and h2_continuation are normal for proxies and
-- HTTP/2 clients and alone raise nothing.  One alert per host x provider per
-- evasion.suppress_s (default 3600).
local SUPPRESS = egret.config("evasion.suppress_s", 3600)

local STRONG = { "host_duplicate", "host_mismatch", "tcp_overlap_conflict", "malformed" }
local WEAK = { "header_limit", "transfer_coding", "chunk_extension" }

rule {
  id = 9000008, rev = 1, severity = 3, category = "ai-evasion",
  name = "EGRET evasive HTTP request to an AI endpoint",
  needs = { "ai", "internal_src" },
  suppress = SUPPRESS,
  hooks = { "on_http" },
  on_http = function(flow)
    local h = flow:http()
    if not h or not h.anomalies then return end
    local seen, sev = {}, nil
    for _, a in ipairs(STRONG) do
      if h.anomalies[a] then seen[#seen + 1] = a; sev = 2 end
    end
    for _, a in ipairs(WEAK) do
      if h.anomalies[a] then seen[#seen + 1] = a; sev = sev or 3 end
    end
    if not sev then return end
    local ai = flow:ai()
    alert {
      key = egret.key(flow.src_ip, ai.provider),
      severity = sev,
      why = {
        anomalies = table.concat(seen, ","), provider = ai.provider, kind = ai.kind,
        src_host = flow.src_ip, ai_host = h.host, host_alt = h.host_alt, method = h.method,
        uri = h.uri, protocol = h.protocol,
      },
    }
  end,
}
