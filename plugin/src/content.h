/*
 * content.h -- streaming message-content detector over request bodies:
 * content.c (context, modes, result), content_lines.c (e-mail and chat
 * lines), content_json.c (JSON through yajl's streaming parser; the rule
 * test kit, rules_test_lua.c, is the other yajl user, with its tree API).
 * Evidence redaction is redact.h's, included here for its callers.
 *
 * A content_ctx classifies one body at a time: content_begin, any number of
 * content_feed calls with decoded body bytes (http on_body_data), then
 * content_end, which fills a content_result.  The ctx is reused for the
 * next body.  Memory is bounded: the JSON parser is yajl's streaming lexer
 * (it holds one token at a time, capped at max_token bytes) except for
 * strings in message-text position, which content_json.c decodes itself as they
 * arrive (any length, counted while they stream: a cut one counts what was
 * seen); nesting is capped at max_depth, text is scanned line by line
 * (1 KiB pieces), and each identifier set holds at most max_senders 64-bit
 * hashes.  The message text itself is never stored or returned, only
 * counted and hashed.
 *
 * Engine wiring (from the http callbacks, one content_ctx per flow):
 *   on_request_headers: content_begin(hint: req content type, api_shape of
 *     the URI from ai_api_paths.tsv) if the body is worth inspecting;
 *   on_body_data with part == NULL: content_feed;
 *   on_part_begin of a file part: content_begin(hint: part content type,
 *     filename); on_body_data with that part: content_feed; on_part_end:
 *     content_end -> one result per uploaded file;
 *   on_request_complete (non-multipart): content_end -> result for the txn.
 *
 * Shapes (content_result.shape; see AI_EGRESS.md 1.6 in the shared docs):
 *   openai_chat        {"messages":[{"role","content"}...]} (also OpenAI-
 *                      compatible providers, Cohere v2 unless hinted)
 *   anthropic_messages messages[] plus a top-level system / anthropic_version /
 *                      stop_sequences / top_k, or Anthropic content blocks
 *                      (tool_use, tool_result, document), or api_shape hint
 *   bedrock_converse   messages[] whose content blocks are {"text":..}
 *                      without "type", or inferenceConfig
 *   gemini_contents    {"contents":[{"parts":[{"text"}]}]}
 *   cohere_chat        {"message":"..","chat_history":[..]} (v1)
 *   openai_responses   {"input":[{role,content}..]}, or "input" string
 *                      together with a Responses-only key (instructions,
 *                      previous_response_id, max_output_tokens, reasoning,
 *                      tools, store, conversation) or the api_shape hint
 *   jsonl_batch        several top-level JSON values (JSON Lines), a
 *                      batch line ({custom_id,body} or {key,request}), or a
 *                      .jsonl / application/jsonl / x-ndjson hint;
 *                      inner_shape tells the records' shape
 *   inline_batch       one JSON object whose "requests" array holds
 *                      conversations (Anthropic Message Batches, Gemini
 *                      inline batches)
 *   email              RFC 822 / mbox text: an mbox "From " line, or at
 *                      least two known header fields in the first header block
 *   chat_transcript    text where at least two lines, and at least half of
 *                      the non-empty lines, look like "Name: text" (with an
 *                      optional [time] / date prefix) or "<name> text"
 *   json_other         JSON with no conversation in it
 *   unknown            anything else (including empty bodies)
 *
 * Not messages (decided and tested): embeddings / moderation bodies
 * ({"model","input":"..."} or "input":["..",..]) -- an "input" string
 * without a Responses-only key is ambiguous and is not counted; arrays of
 * plain strings; "messages" that is not an array of objects; config
 * objects.  System prompts (system, instructions, preamble,
 * systemInstruction) are not counted as message text.
 *
 * Counts:
 *   records    conversation objects not nested in another one (1 for a
 *              single chat body, N for a batch of N requests / N JSONL
 *              lines); for email the messages, for transcripts 1
 *   messages   message objects (messages[], contents[], chat_history[],
 *              input[] items having role/content/parts/message/type) plus
 *              confirmed single-string prompts; e-mails; transcript lines
 *   text_chars Unicode code points of message text: JSON strings in
 *              message-text position (messages[].content string or
 *              content[].text, contents[].parts[].text,
 *              chat_history[].message, message, input / input[].content),
 *              e-mail bodies, transcript utterances (after the speaker)
 *   senders    distinct sender-like identifiers, reported only when
 *              messages > 0: e-mail addresses (in message text, or in
 *              From/To/Cc/Reply-To/Sender headers), "member" handles
 *              (member:123, urn:li:member:123, member_abc), the values of
 *              name / sender / author / from / email / user / user_id keys
 *              inside message objects, and transcript speaker names.
 *              Roles (user/assistant) are not identifiers.  Compared
 *              case-insensitively as 64-bit FNV-1a hashes; at most
 *              max_senders (then senders_capped).
 *   embedded_messages / embedded_senders
 *              messages pasted inside one message text -- a JSON string in
 *              message-text position, a form field value
 *              (application/x-www-form-urlencoded), a text body that is
 *              neither e-mail nor transcript (a CSV export), or an uploaded
 *              JSON file (hint filename) with no conversation in it (a chat
 *              export's records) -- and their distinct senders (one set
 *              for the body).  Forms: transcript
 *              lines ("Name: text", "[12:01] name: text", "<name> text", or
 *              a "Name  10:01 AM" header line with the text below), e-mails
 *              (mbox, or "From:" header blocks with >= 2 known fields), CSV
 *              / TSV with a sender and a body column, JSON / JSON Lines
 *              objects with a sender and a text key (embed.h).  Per text the
 *              form with most messages counts.  Transcript lines count only
 *              when at least half the non-empty lines are speaker lines and
 *              messages >= 1.5 x distinct speakers; document labels
 *              ("Note:", "Step 2:"), log levels and times with fractions of
 *              a second, e-mail header names and code labels are not
 *              speakers; roles (User:, Assistant:) are counted but are not
 *              senders.  A single sender is reported as such: whether one
 *              sender's lines matter is the rules' call (9000007 wants 2).
 *   gaps, gap_bytes, CONTENT_F_LOSSY
 *              content_gap calls and the bytes they said were missing.
 *              After a gap, the current top-level JSON value is abandoned
 *              (what it held so far is counted; a document cut in the
 *              middle cannot be resynchronised reliably) and, for JSON
 *              Lines, parsing resumes after the next newline (lines that are
 *              not whole records are skipped without CONTENT_F_INVALID);
 *              transcript and e-mail text resume at the next whole line (an
 *              mbox "From " line right after it starts a message); a form
 *              resumes at the next field.  Counts seen before the gap are
 *              kept, records and messages after it are counted, the
 *              fingerprint covers the text seen.
 *   fingerprint hex SHA-256 over the concatenation of SHA-256(unit) for
 *              each message-text unit in the order counted (a unit is one
 *              JSON string, one e-mail body, one transcript utterance);
 *              "" when there is no message text.  Independent of how the
 *              body was split into feeds.
 */
#ifndef EGRET_CONTENT_H
#define EGRET_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "content_limits.h"
#include "redact.h"

typedef struct content_ctx content_ctx;

/* Optional context for one body; any field may be NULL. */
typedef struct content_hint {
    const char *content_type; /* the body's or the multipart part's Content-Type */
    const char *filename;     /* multipart filename */
    const char *api_shape;    /* ai_api_paths.tsv shape of the URI ("anthropic-messages") */
} content_hint;

#define CONTENT_F_TRUNCATED 0x01u /* parsing stopped early (token or depth cap) */
#define CONTENT_F_INVALID   0x02u /* malformed JSON (counts up to the error kept) */
#define CONTENT_F_MIXED     0x04u /* batch records of different shapes */
#define CONTENT_F_LOSSY     0x08u /* bytes of the body were missing (content_gap) */

typedef struct content_result {
    const char *shape;       /* static token, see above */
    const char *inner_shape; /* for jsonl_batch / inline_batch: the records' shape, else "" */
    uint64_t bytes;          /* body bytes fed */
    uint64_t records;
    uint64_t messages;
    uint64_t text_chars;
    uint32_t senders;
    bool senders_capped;
    uint64_t embedded_messages;   /* messages pasted inside message text (see above) */
    uint32_t embedded_senders;    /* their distinct senders (0 when embedded_messages is 0) */
    bool embedded_senders_capped; /* max_senders reached: embedded_senders is a lower bound */
    uint64_t gaps, gap_bytes;     /* content_gap calls and the bytes they said were missing */
    uint32_t flags;               /* CONTENT_F_* */
    char fingerprint[65];         /* hex SHA-256 or "" */
} content_result;

void content_limits_default(content_limits *l);

/* A new detector (lim NULL = defaults).  NULL on allocation failure. */
content_ctx *content_new(const content_limits *lim);

/* Starts a body.  The hint strings are read during the call only.  Returns
 * 0, or -1 if the JSON parser could not be allocated (the body is then
 * classified as unknown). */
int content_begin(content_ctx *c, const content_hint *hint);

/* Feeds decoded body bytes (borrowed). */
void content_feed(content_ctx *c, const uint8_t *data, size_t len);

/* A gap of 'len' body bytes is missing before the next content_feed. The detector
 * enters lossy mode: it resumes at the next line or record boundary (JSON Lines
 * record, transcript line, e-mail header block) and keeps counting what it sees. */
void content_gap(content_ctx *c, uint64_t len);

/* Ends the body and fills *out.  The ctx is ready for content_begin. */
void content_end(content_ctx *c, content_result *out);

/* Accepts NULL. */
void content_free(content_ctx *c);

#endif /* EGRET_CONTENT_H */
