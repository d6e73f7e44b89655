-- content_test.lua -- 9000007: message content sent to an AI endpoint (on_http).
--
-- Synthetic on_http events carry `http = {...}` and `content = {...}` on the
-- flow (what inspect.c hands the rules for one parsed request), then one
-- capture test on pcaps/testnet-plaintext.pcap.  Shipped defaults:
-- content.min_messages 50, content.min_chars 1e6, content.window_s 600.
local AI = { provider = "OpenAI", kind = "api", host = "api.openai.com" }
local DST = "162.159.140.245"
local FP = string.rep("ab", 32) -- 64 hex characters

local function chat(msgs, chars)
  return { shape = "openai_chat", messages = msgs, chars = chars, senders = 0, records = 1,
           fingerprint = FP }
end

local function post(uri, body_len)
  return { method = "POST", host = "api.openai.com", uri = uri or "/v1/chat/completions",
           content_type = "application/json", body_len = body_len or 4000 }
end

-- one request event from src at time at
local function req(src, at, content, extra)
  local f = { src_ip = src, src_port = 40000, dest_ip = DST, dest_port = 80, app_proto = "http",
              ai = AI, http = post(nil, content.chars and content.chars + 200 or 4000),
              content = content }
  for k, v in pairs(extra or {}) do f[k] = v end
  return { hook = "on_http", at = at, flow = f }
end

-- n requests of m messages each, `step` seconds apart, from src
local function series(src, n, m, step)
  local e = {}
  for i = 1, n do e[#e + 1] = req(src, i * step, chat(m, m * 300)) end
  return e
end

return {
  { name = "one request with 60 messages -> messages_in_request", sids = { 9000007 },
    events = { req("10.2.0.1", 10, chat(60, 45000)) },
    expect = { { sid = 9000007, severity = 2, src_ip = "10.2.0.1", dest_ip = DST,
                 provider = "OpenAI", key = "10.2.0.1|OpenAI",
                 why = { reason = "messages_in_request", messages = 60, chars = 45000,
                         shape = "openai_chat", method = "POST", ai_host = "api.openai.com",
                         uri = "/v1/chat/completions", body_bytes = 45200, fingerprint = FP,
                         messages_window = 60, requests_window = 1, threshold_messages = 50,
                         threshold_chars = 1000000, window_s = 600, provider = "OpenAI",
                         kind = "api" } } } },

  { name = "exactly 50 messages is the threshold -> alert", sids = { 9000007 },
    events = { req("10.2.0.2", 10, chat(50, 5000)) },
    expect = { { sid = 9000007, src_ip = "10.2.0.2", why = { reason = "messages_in_request",
                                                            messages = 50 } } } },

  { name = "49 messages, few chars, alone -> nothing", sids = { 9000007 },
    events = { req("10.2.0.3", 10, chat(49, 5000)) },
    expect = {} },

  { name = "jsonl_batch file upload (3 records) -> batch_file whatever the size", sids = { 9000007 },
    events = { req("10.2.0.4", 10,
                   { shape = "jsonl_batch", inner_shape = "openai_chat", purpose = "batch",
                     records = 3, messages = 6, chars = 900, senders = 0, fingerprint = FP },
                   { http = { method = "POST", host = "api.openai.com", uri = "/v1/files",
                              content_type = "multipart/form-data", body_len = 1500 } }) },
    expect = { { sid = 9000007, severity = 2, src_ip = "10.2.0.4",
                 why = { reason = "batch_file", shape = "jsonl_batch", inner_shape = "openai_chat",
                         purpose = "batch", records = 3, messages = 6, uri = "/v1/files",
                         body_bytes = 1500 } } } },

  { name = "2.4 M characters in 2 messages -> text_in_request", sids = { 9000007 },
    events = { req("10.2.0.5", 10, chat(2, 2400000)) },
    expect = { { sid = 9000007, src_ip = "10.2.0.5",
                 why = { reason = "text_in_request", messages = 2, chars = 2400000 } } } },

  { name = "10 requests x 6 messages in 90 s -> messages_in_window once (at the 9th)",
    sids = { 9000007 },
    events = series("10.2.0.6", 10, 6, 10),
    expect = { { sid = 9000007, src_ip = "10.2.0.6", key = "10.2.0.6|OpenAI",
                 why = { reason = "messages_in_window", messages = 6, messages_window = 54,
                         requests_window = 9, window_s = 600 } } } },

  { name = "the same 60 messages spread over 50 minutes stay under the window", sids = { 9000007 },
    events = series("10.2.0.7", 10, 6, 300),
    expect = {} },

  { name = "a few interactive prompts (3 requests x 2 messages) -> nothing", sids = { 9000007 },
    events = series("10.2.0.8", 3, 2, 40),
    expect = {} },

  { name = "windows are per host: two hosts at 30 messages each -> nothing", sids = { 9000007 },
    events = { req("10.2.0.9", 10, chat(30, 3000)), req("10.2.0.10", 20, chat(30, 3000)) },
    expect = {} },

  { name = "non-AI destination with 200 messages -> nothing", sids = { 9000007 },
    events = { { hook = "on_http", at = 10,
                 flow = { src_ip = "10.2.0.11", dest_ip = "198.51.100.77", dest_port = 80,
                          app_proto = "http",
                          http = { method = "POST", host = "intranet.example", uri = "/api/chat",
                                   body_len = 90000 },
                          content = chat(200, 80000) } } },
    expect = {} },

  { name = "external client (not internal_src) -> nothing", sids = { 9000007 },
    events = { req("198.51.100.9", 10, chat(200, 80000), { src_internal = false }) },
    expect = {} },

  { name = "request without a content summary -> nothing", sids = { 9000007 },
    events = { { hook = "on_http", at = 10,
                 flow = { src_ip = "10.2.0.12", dest_ip = DST, dest_port = 80, app_proto = "http",
                          ai = AI, http = post("/v1/models", 0) } } },
    expect = {} },

  { name = "content.min_messages=5 via --set -> 6 messages alert", sids = { 9000007 },
    sets = { ["content.min_messages"] = 5 },
    events = { req("10.2.0.13", 10, chat(6, 600)) },
    expect = { { sid = 9000007, src_ip = "10.2.0.13",
                 why = { reason = "messages_in_request", threshold_messages = 5 } } } },

  { name = "suppressed for the window per host x provider: two big requests -> one alert",
    sids = { 9000007 },
    events = { req("10.2.0.14", 10, chat(80, 8000)), req("10.2.0.14", 70, chat(80, 8000)) },
    expect = { { sid = 9000007, src_ip = "10.2.0.14", why = { messages = 80,
                                                             messages_window = 80 } } } },

  -- Messages pasted inside one message (content.embedded_messages) add to
  -- the request's own when at least two distinct senders were seen.
  { name = "one prompt pasting 3000 messages from 25 senders -> messages_in_request",
    sids = { 9000007 },
    events = { req("10.2.0.15", 10, { shape = "openai_chat", messages = 1, chars = 240000,
                                      senders = 0, records = 1, fingerprint = FP,
                                      embedded_messages = 3000, embedded_senders = 25 }) },
    expect = { { sid = 9000007, src_ip = "10.2.0.15",
                 why = { reason = "messages_in_request", messages = 1, embedded_messages = 3000,
                         embedded_senders = 25, messages_total = 3001,
                         messages_window = 3001 } } } },

  { name = "3000 embedded lines of a single sender -> nothing", sids = { 9000007 },
    events = { req("10.2.0.16", 10, { shape = "openai_chat", messages = 1, chars = 240000,
                                      senders = 0, records = 1, fingerprint = FP,
                                      embedded_messages = 3000, embedded_senders = 1 }) },
    expect = {} },

  { name = "embedded messages without a sender count -> nothing", sids = { 9000007 },
    events = { req("10.2.0.17", 10, { shape = "openai_chat", messages = 1, chars = 9000,
                                      senders = 0, records = 1, fingerprint = FP,
                                      embedded_messages = 400 }) },
    expect = {} },

  { name = "48 messages + 2 embedded from 2 senders reach the threshold -> alert",
    sids = { 9000007 },
    events = { req("10.2.0.18", 10, { shape = "openai_chat", messages = 48, chars = 9000,
                                      senders = 0, records = 1, fingerprint = FP,
                                      embedded_messages = 2, embedded_senders = 2 }) },
    expect = { { sid = 9000007, src_ip = "10.2.0.18",
                 why = { reason = "messages_in_request", messages = 48, embedded_messages = 2,
                         messages_total = 50 } } } },

  { name = "single-sender embedded messages do not add up in the window either",
    sids = { 9000007 },
    events = (function()
      local e = {}
      for i = 1, 5 do
        e[#e + 1] = req("10.2.0.19", i * 10, { shape = "openai_chat", messages = 1, chars = 900,
                                               senders = 0, records = 1, fingerprint = FP,
                                               embedded_messages = 30, embedded_senders = 1 })
      end
      return e
    end)(),
    expect = {} },

  -- The whole pipeline: testnet-plaintext.pcap carries one 2,413,262-byte
  -- chat POST (2 messages, 2,400,565 characters) to api.mistral.ai over
  -- clear-text HTTP (pcaps/MANIFEST.md).  Its user message is a pasted
  -- export: 11,803 "[ts] Name: text" lines from 176 names, so the request
  -- counts 11,805 messages (it alerted as text_in_request before embedded
  -- messages were counted).
  { name = "testnet-plaintext: a pasted export of 11,803 messages to Mistral -> messages_in_request",
    pcap = "../../pcaps/testnet-plaintext.pcap", sids = { 9000007 },
    expect = { { sid = 9000007, severity = 2, src_ip = "10.1.2.10", dest_ip = "198.51.100.140",
                 provider = "Mistral", key = "10.1.2.10|Mistral",
                 why = { reason = "messages_in_request", shape = "openai_chat", messages = 2,
                         embedded_messages = 11803, embedded_senders = 176, messages_total = 11805,
                         chars = 2400565, records = 1, senders = 0, method = "POST",
                         ai_host = "api.mistral.ai", uri = "/v1/chat/completions",
                         body_bytes = 2413262, requests_window = 1,
                         fingerprint = "00f699488a8c66f197e60dde0c388be1d9ec22251dd1be5caff573d733001c19" } } } },
}
