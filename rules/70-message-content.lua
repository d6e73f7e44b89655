-- 70-message-content.lua -- 9000007: message content leaving in clear text.
--
-- Where egret sees the request body (plain HTTP: an internal AI gateway, a
-- proxy hop, a misconfigured client), the content detector tells what kind
-- of content leaves.  One request to an AI endpoint that carries
--   >= content.min_messages chat messages (default 50), or
--   >= content.min_chars characters of message text (default 1,000,000), or
--   a batch / fine-tuning JSONL file (any size),
-- raises severity 2.  Messages pasted inside one message (a chat export,
-- an mbox, a CSV of messages in a prompt: content.embedded_messages) add to
-- the request's messages when they come from at least two distinct senders
-- (content.embedded_senders), so a prompt that merely has many
-- "Name: text" lines of one author does not qualify.
-- Messages are also summed per internal host x provider
-- over content.window_s (default 600 s), so many small requests that carry
-- conversations add up: >= min_messages in the window also alerts.
-- The why carries counts and the body's fingerprint, never the text;
-- decrypted = true when the request came out of TLS (a key log), and the
-- HTTP protocol ("HTTP/1.1", "HTTP/2").
local MIN_MSGS = egret.config("content.min_messages", 50)
local MIN_CHARS = egret.config("content.min_chars", 1e6)
local WIN = egret.config("content.window_s", 600)
-- fleet = true: shared through --window-store when given (see 9000002).
local W = egret.window("ai_messages", WIN, { fields = { "messages", "requests", "bytes" }, fleet = true })

local BATCH = { jsonl_batch = true, inline_batch = true }

rule {
  id = 9000007, rev = 2, severity = 2, category = "ai-egress",
  name = "EGRET message content sent to an AI endpoint",
  needs = { "ai", "internal_src" },
  suppress = WIN,
  fleet = true,
  hooks = { "on_http" },
  on_http = function(flow)
    local c = flow:content()
    if not c then return end
    local ai, h = flow:ai(), flow:http()
    local own = c.messages or 0
    local emb = c.embedded_messages or 0
    if (c.embedded_senders or 0) < 2 then emb = 0 end
    local msgs = own + emb
    local key = egret.key(flow.src_ip, ai.provider)
    W:add(key, { messages = msgs, requests = 1, bytes = h.body_len or 0 })
    local t = W:get(key)
    local reason
    if BATCH[c.shape] then
      reason = "batch_file"
    elseif msgs >= MIN_MSGS then
      reason = "messages_in_request"
    elseif (c.chars or 0) >= MIN_CHARS then
      reason = "text_in_request"
    elseif t and t.messages >= MIN_MSGS then
      reason = "messages_in_window"
    end
    if not reason then return end
    alert {
      key = key,
      why = {
        reason = reason, provider = ai.provider, kind = ai.kind, method = h.method,
        src_host = flow.src_ip, ai_host = h.host, uri = h.uri, shape = c.shape, inner_shape = c.inner_shape,
        purpose = c.purpose, records = c.records, messages = own, chars = c.chars,
        embedded_messages = c.embedded_messages, embedded_senders = c.embedded_senders,
        messages_total = msgs, gaps = c.gaps, decrypted = h.decrypted or nil,
        protocol = h.protocol,
        senders = c.senders, fingerprint = c.fingerprint, body_bytes = h.body_len,
        messages_window = t and t.messages or msgs, requests_window = t and t.requests or 1,
        window_s = WIN, threshold_messages = MIN_MSGS, threshold_chars = MIN_CHARS,
        sensor = t and t.fleet and t.sensor or nil,
        sensor_messages = t and t.fleet and t.sensors or nil,
      },
    }
  end,
}
