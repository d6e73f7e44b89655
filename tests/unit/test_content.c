/*
 * test_content.c -- message-content detector: every body shape of
 * AI_EGRESS.md 1.6 (chat, Responses, Anthropic, Gemini, Cohere, Bedrock,
 * JSONL batches, inline batches), e-mail and transcripts, non-message JSON
 * that must not count, sender identifiers, the fingerprint definition,
 * caps and identical results for every split point (redaction:
 * test_redact.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "content.h"
#include "hash.h"

typedef struct ccase {
    const char *name;
    const char *body;
    const char *api_shape; /* hint, may be NULL */
    const char *shape;
    const char *inner;
    unsigned records, messages, chars, senders;
} ccase;

// clang-format off
static const ccase CASES[] = {
    {"openai_chat",
     "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
     "{\"role\":\"user\",\"content\":\"Hello, world\"},"
     "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}]}],\"stream\":true}",
     NULL, "openai_chat", "", 1, 3, 23, 0},
    {"anthropic_system",
     "{\"model\":\"claude-x\",\"max_tokens\":1024,\"system\":\"You are\","
     "\"messages\":[{\"role\":\"user\",\"content\":\"R\\u00e9sum\\u00e9 \xc3\xbc\"}]}",
     NULL, "anthropic_messages", "", 1, 1, 8, 0},
    {"anthropic_blocks",
     "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\"},"
     "{\"type\":\"text\",\"text\":\"ok\"}]}],\"model\":\"m\"}",
     NULL, "anthropic_messages", "", 1, 1, 2, 0},
    {"anthropic_hint",
     "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"abc\"}]}",
     "anthropic-messages", "anthropic_messages", "", 1, 1, 3, 0},
    {"gemini",
     "{\"systemInstruction\":{\"parts\":[{\"text\":\"sys\"}]},\"contents\":[{\"role\":\"user\","
     "\"parts\":[{\"text\":\"abc\"},{\"text\":\"de\"}]},{\"role\":\"model\",\"parts\":[{\"text\":\"f\"}]}]}",
     NULL, "gemini_contents", "", 1, 2, 6, 0},
    {"cohere_v1",
     "{\"message\":\"What now?\",\"chat_history\":[{\"role\":\"USER\",\"message\":\"hi\"},"
     "{\"role\":\"CHATBOT\",\"message\":\"hello\"}],\"preamble\":\"p\"}",
     NULL, "cohere_chat", "", 1, 3, 16, 0},
    {"bedrock_converse",
     "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"hola\"}]}],"
     "\"system\":[{\"text\":\"s\"}],\"inferenceConfig\":{\"maxTokens\":10}}",
     NULL, "bedrock_converse", "", 1, 1, 4, 0},
    {"responses_string",
     "{\"model\":\"gpt-4.1\",\"instructions\":\"x\",\"input\":\"Tell me\"}",
     NULL, "openai_responses", "", 1, 1, 7, 0},
    {"responses_items",
     "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\","
     "\"text\":\"abc\"}]},{\"role\":\"assistant\",\"content\":\"de\"}],\"previous_response_id\":\"r\"}",
     NULL, "openai_responses", "", 1, 2, 5, 0},
    {"embeddings_array",
     "{\"model\":\"text-embedding-3-small\",\"input\":[\"a b c\",\"d e f\"]}",
     NULL, "json_other", "", 0, 0, 0, 0},
    {"embeddings_string",
     "{\"model\":\"text-embedding-3-small\",\"input\":\"hello world\"}",
     NULL, "json_other", "", 0, 0, 0, 0},
    {"responses_string_hint_embeddings",
     "{\"model\":\"x\",\"input\":\"hello\",\"instructions\":\"y\"}",
     "embeddings", "json_other", "", 0, 0, 0, 0},
    {"config_object",
     "{\"messages\":{\"welcome\":\"Hi there\",\"bye\":\"Bye\"},\"theme\":\"dark\",\"input\":\"x\"}",
     NULL, "json_other", "", 0, 0, 0, 0},
    {"messages_strings",
     "{\"messages\":[\"not\",\"objects\"],\"message\":\"status ok\"}",
     NULL, "json_other", "", 0, 0, 0, 0},
    {"openai_batch_jsonl",
     "{\"custom_id\":\"r1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"m\","
     "\"messages\":[{\"role\":\"user\",\"content\":\"one\"}]}}\n"
     "{\"custom_id\":\"r2\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"m\","
     "\"messages\":[{\"role\":\"user\",\"content\":\"two\"}]}}\n"
     "{\"custom_id\":\"r3\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"m\","
     "\"messages\":[{\"role\":\"user\",\"content\":\"three\"}]}}\n",
     NULL, "jsonl_batch", "openai_chat", 3, 3, 11, 0},
    {"single_batch_line",
     "{\"custom_id\":\"r1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{"
     "\"messages\":[{\"role\":\"user\",\"content\":\"one\"}]}}",
     NULL, "jsonl_batch", "openai_chat", 1, 1, 3, 0},
    {"finetune_jsonl",
     "{\"messages\":[{\"role\":\"user\",\"content\":\"q1\"},{\"role\":\"assistant\",\"content\":\"a1\"}]}\r\n"
     "{\"messages\":[{\"role\":\"user\",\"content\":\"q2\"},{\"role\":\"assistant\",\"content\":\"a2\"}]}",
     NULL, "jsonl_batch", "openai_chat", 2, 4, 8, 0},
    {"gemini_batch_jsonl",
     "{\"key\":\"request-1\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"q\"}]}]}}\n"
     "{\"key\":\"request-2\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"rr\"}]}]}}\n",
     NULL, "jsonl_batch", "gemini_contents", 2, 2, 3, 0},
    {"anthropic_inline_batch",
     "{\"requests\":[{\"custom_id\":\"a\",\"params\":{\"model\":\"c\",\"max_tokens\":5,"
     "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}},{\"custom_id\":\"b\",\"params\":{"
     "\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"yz\"},"
     "{\"role\":\"assistant\",\"content\":\"w\"}]}}]}",
     "anthropic-batch", "inline_batch", "anthropic_messages", 2, 3, 4, 0},
    {"senders_json",
     "{\"messages\":[{\"role\":\"user\",\"name\":\"Alice\",\"content\":\"mail bob@example.com or "
     "BOB@example.com, profile urn:li:member:12345\"},{\"role\":\"user\",\"name\":\"alice\","
     "\"content\":\"member_98765 says hi\"}]}",
     NULL, "openai_chat", "", 1, 2, 88, 4},
    {"email",
     "From: Alice <alice@corp.example>\r\nTo: bob@corp.example\r\nCc: carol@corp.example, "
     "alice@corp.example\r\nSubject: Q3 numbers\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n"
     "Hi Bob,\r\nnumbers attached.\r\n",
     NULL, "email", "", 1, 1, 24, 3},
    {"mbox",
     "From alice@x.example Mon Jan  1 00:00:00 2024\nFrom: alice@x.example\nSubject: a\n\nbody one\n\n"
     "From bob@x.example Mon Jan  1 00:00:00 2024\nFrom: bob@x.example\nTo: alice@x.example\n\nbody two\n",
     NULL, "email", "", 2, 2, 16, 2},
    {"transcript",
     "[10:01] Alice: hi there\n[10:02] Bob: hello\n[10:03] Alice: how are you\n",
     NULL, "chat_transcript", "", 1, 3, 24, 2},
    {"transcript_whatsapp_irc",
     "12/01/2024, 10:01 - Dana Smith: ok\n<eve> sure thing\nDana Smith: fine\n",
     NULL, "chat_transcript", "", 1, 3, 16, 2},
    {"plain_text",
     "just some text\nwith several lines\nand no speakers\n",
     NULL, "unknown", "", 0, 0, 0, 0},
    {"empty", "", NULL, "unknown", "", 0, 0, 0, 0},
    {"top_level_scalar", "  42  ", NULL, "unknown", "", 0, 0, 0, 0},
};
// clang-format on
#define NCASES (sizeof(CASES) / sizeof(CASES[0]))

static void run(content_ctx *c, const ccase *k, size_t cut, bool bytewise, content_result *out)
{
    content_hint h = {NULL, NULL, k->api_shape};
    assert_int_equal(content_begin(c, &h), 0);
    const uint8_t *b = (const uint8_t *)k->body;
    size_t n = strlen(k->body);
    if (bytewise) {
        for (size_t i = 0; i < n; i++) content_feed(c, b + i, 1);
    } else {
        content_feed(c, b, cut);
        content_feed(c, b + cut, n - cut);
    }
    content_end(c, out);
}

static void test_shapes(void **state)
{
    (void)state;
    content_ctx *c = content_new(NULL);
    assert_non_null(c);
    for (size_t i = 0; i < NCASES; i++) {
        const ccase *k = &CASES[i];
        content_result r;
        run(c, k, 0, false, &r);
        if (strcmp(r.shape, k->shape) || strcmp(r.inner_shape, k->inner) ||
            r.records != k->records || r.messages != k->messages || r.text_chars != k->chars ||
            r.senders != k->senders)
            fail_msg("%s: got shape=%s inner=%s records=%llu messages=%llu chars=%llu senders=%u "
                     "flags=%x",
                     k->name, r.shape, r.inner_shape, (unsigned long long)r.records,
                     (unsigned long long)r.messages, (unsigned long long)r.text_chars, r.senders,
                     r.flags);
        assert_int_equal(r.bytes, strlen(k->body));
        if (k->messages)
            assert_int_equal(strlen(r.fingerprint), 64);
        else
            assert_string_equal(r.fingerprint, "");
        assert_int_equal(r.flags & (CONTENT_F_INVALID | CONTENT_F_TRUNCATED), 0);
    }
    content_free(c);
}

/* Every split point into two feeds, and byte-by-byte feeding, give the same
 * result (including the fingerprint). */
static void test_split_invariance(void **state)
{
    (void)state;
    content_ctx *c = content_new(NULL);
    for (size_t i = 0; i < NCASES; i++) {
        const ccase *k = &CASES[i];
        content_result ref, r;
        run(c, k, 0, false, &ref);
        size_t n = strlen(k->body);
        for (size_t cut = 0; cut <= n; cut++) {
            run(c, k, cut, false, &r);
            if (strcmp(r.shape, ref.shape) || r.records != ref.records ||
                r.messages != ref.messages || r.text_chars != ref.text_chars ||
                r.senders != ref.senders || strcmp(r.fingerprint, ref.fingerprint) ||
                r.flags != ref.flags)
                fail_msg("%s: split at %zu differs", k->name, cut);
        }
        run(c, k, 0, true, &r);
        assert_string_equal(r.fingerprint, ref.fingerprint);
        assert_int_equal(r.messages, ref.messages);
    }
    content_free(c);
}

/* The fingerprint is SHA-256 over the SHA-256 of each message text unit. */
static void test_fingerprint_definition(void **state)
{
    (void)state;
    const char *units[] = {"Be brief.", "Hello, world", "Hi"};
    uint8_t cat[96], d[32];
    for (int i = 0; i < 3; i++) hash_sha256(units[i], strlen(units[i]), cat + 32 * i);
    hash_sha256(cat, sizeof(cat), d);
    char hex[65];
    hash_hex(d, 32, hex);
    content_ctx *c = content_new(NULL);
    content_result r;
    run(c, &CASES[0], 0, false, &r);
    assert_string_equal(r.fingerprint, hex);

    /* Same text, different JSON layout and key order: same fingerprint. */
    ccase k2 = CASES[0];
    k2.body =
        "{ \"stream\": false, \"messages\": [ {\"content\": \"Be brief.\", \"role\": \"system\"},"
        "{\"content\":[{\"text\":\"Hello, world\",\"type\":\"text\"}],\"role\":\"user\"},"
        "{\"role\":\"assistant\",\"content\":\"Hi\"} ] }";
    content_result r2;
    run(c, &k2, 0, false, &r2);
    assert_string_equal(r2.fingerprint, hex);
    /* Different text: different fingerprint. */
    k2.body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello, world!\"}]}";
    run(c, &k2, 0, false, &r2);
    assert_string_not_equal(r2.fingerprint, hex);
    content_free(c);
}

/* A JSONL file with N lines gives N records. */
static void test_jsonl_many(void **state)
{
    (void)state;
    content_ctx *c = content_new(NULL);
    content_hint h = {"application/jsonl", "train.jsonl", NULL};
    assert_int_equal(content_begin(c, &h), 0);
    const unsigned N = 2500;
    char line[256];
    for (unsigned i = 0; i < N; i++) {
        int n = snprintf(line, sizeof(line),
                         "{\"messages\":[{\"role\":\"user\",\"content\":\"question %u\"},"
                         "{\"role\":\"assistant\",\"content\":\"answer\"}]}\n",
                         i % 10);
        /* feed in odd pieces */
        content_feed(c, (const uint8_t *)line, 7);
        content_feed(c, (const uint8_t *)line + 7, (size_t)n - 7);
    }
    content_result r;
    content_end(c, &r);
    assert_string_equal(r.shape, "jsonl_batch");
    assert_string_equal(r.inner_shape, "openai_chat");
    assert_int_equal(r.records, N);
    assert_int_equal(r.messages, 2 * N);
    assert_int_equal(r.text_chars, N * (10 + 6));

    /* One line with a .jsonl hint is still a batch of one. */
    h.content_type = NULL;
    assert_int_equal(content_begin(c, &h), 0);
    const char *one = "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}\n";
    content_feed(c, (const uint8_t *)one, strlen(one));
    content_end(c, &r);
    assert_string_equal(r.shape, "jsonl_batch");
    assert_int_equal(r.records, 1);
    content_free(c);
}

static void test_caps_and_invalid(void **state)
{
    (void)state;
    content_limits lim;
    content_limits_default(&lim);
    lim.max_token = 64;
    lim.max_depth = 16;
    lim.max_senders = 3;
    content_ctx *c = content_new(&lim);
    content_result r;

    /* A string longer than max_token that is not message text (a model
     * id, a data URL...): parsing stops, earlier counts kept. */
    assert_int_equal(content_begin(c, NULL), 0);
    const char *a = "{\"messages\":[{\"role\":\"user\",\"content\":\"short\"},"
                    "{\"role\":\"user\",\"content\":\"x\",\"image\":\"";
    content_feed(c, (const uint8_t *)a, strlen(a));
    char big[1000];
    memset(big, 'x', sizeof(big));
    for (int i = 0; i < 100; i++) content_feed(c, (const uint8_t *)big, sizeof(big));
    content_end(c, &r);
    assert_true(r.flags & CONTENT_F_TRUNCATED);
    assert_int_equal(r.text_chars, 6);
    assert_int_equal(r.messages, 2); /* the cut message object is still counted */
    assert_string_equal(r.shape, "openai_chat");

    /* Message text is streamed, not held: past max_token it is still
     * counted, and a body cut inside it reports what was seen. */
    assert_int_equal(content_begin(c, NULL), 0);
    a = "{\"messages\":[{\"role\":\"user\",\"content\":\"short\"},"
        "{\"role\":\"user\",\"content\":\"";
    content_feed(c, (const uint8_t *)a, strlen(a));
    for (int i = 0; i < 100; i++) content_feed(c, (const uint8_t *)big, sizeof(big));
    content_end(c, &r);
    assert_true(r.flags & CONTENT_F_TRUNCATED);
    assert_int_equal(r.text_chars, 5 + 100 * sizeof(big));
    assert_int_equal(r.messages, 2);
    assert_int_equal(strlen(r.fingerprint), 64);

    /* Deep nesting. */
    assert_int_equal(content_begin(c, NULL), 0);
    for (int i = 0; i < 10000; i++) content_feed(c, (const uint8_t *)"[", 1);
    content_end(c, &r);
    assert_true(r.flags & CONTENT_F_TRUNCATED);
    assert_string_equal(r.shape, "json_other");

    /* Malformed JSON after a valid record. */
    assert_int_equal(content_begin(c, NULL), 0);
    const char *m = "{\"messages\":[{\"role\":\"user\",\"content\":\"ok\"}]}\n{\"messages\":[}";
    content_feed(c, (const uint8_t *)m, strlen(m));
    content_end(c, &r);
    assert_true(r.flags & CONTENT_F_INVALID);
    assert_int_equal(r.records, 1);
    assert_int_equal(r.messages, 1);

    /* Truncated body (gap / connection end). */
    assert_int_equal(content_begin(c, NULL), 0);
    const char *t =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"ab\"},{\"role\":\"user\",\"con";
    content_feed(c, (const uint8_t *)t, strlen(t));
    content_end(c, &r);
    assert_true(r.flags & CONTENT_F_TRUNCATED);
    assert_int_equal(r.text_chars, 2);

    /* Sender cap. */
    assert_int_equal(content_begin(c, NULL), 0);
    const char *s =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"a@x.io b@x.io c@x.io d@x.io\"}]}";
    content_feed(c, (const uint8_t *)s, strlen(s));
    content_end(c, &r);
    assert_int_equal(r.senders, 3);
    assert_true(r.senders_capped);
    content_free(c);
}

/* Mutated bodies: no crash (ASan), and every record holds a message. */
static void test_mutations(void **state)
{
    (void)state;
    content_limits lim;
    content_limits_default(&lim);
    lim.max_token = 40;
    lim.max_depth = 6;
    content_ctx *c = content_new(&lim);
    unsigned x = 7;
    uint8_t buf[2048];
    for (unsigned round = 0; round < 4000; round++) {
        const ccase *k = &CASES[round % NCASES];
        size_t n = strlen(k->body);
        if (n > sizeof(buf)) n = sizeof(buf);
        memcpy(buf, k->body, n);
        for (unsigned m = 0; m < 1 + round % 6 && n; m++) {
            x = x * 1103515245u + 12345u;
            buf[(x >> 8) % n] = (uint8_t)(x >> 24);
        }
        content_hint h = {round % 3 ? "application/json" : "application/jsonl", NULL, k->api_shape};
        assert_int_equal(content_begin(c, &h), 0);
        size_t a = 0;
        while (a < n) {
            x = x * 1103515245u + 12345u;
            size_t step = 1 + (x >> 8) % 50;
            if (step > n - a) step = n - a;
            content_feed(c, buf + a, step);
            a += step;
        }
        content_result r;
        content_end(c, &r);
        assert_true(r.records <= r.messages);
        assert_true(r.messages == 0 || strlen(r.fingerprint) == 64 || r.text_chars == 0);
        char red[64];
        size_t rn = content_redact((const char *)buf, n, red, sizeof(red));
        assert_true(rn < sizeof(red));
    }
    content_free(c);
}

/* ---- messages pasted inside one message ---- */

/* An OpenAI chat body whose one user message is 'text' (JSON-escaped). */
static size_t chat_body(const char *text, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap,
                                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"");
    for (const char *p = text; *p && o + 8 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = *p;
        } else if (*p == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (*p == '\t') {
            o += (size_t)snprintf(out + o, cap - o, "\\u0009");
        } else {
            out[o++] = *p;
        }
    }
    o += (size_t)snprintf(out + o, cap - o, "\"}]}");
    return o;
}

typedef struct ecase {
    const char *name, *text;
    unsigned messages, senders;
} ecase;

// clang-format off
static const ecase EMBEDDED[] = {
    {"name_colon",
     "Summarise this chat:\nAlice: hi all\nBob: hello\nAlice: how are you\nBob: fine\n"
     "Carol: me too\nAlice: ok then\n", 6, 3},
    {"time_name_colon",
     "[12:01] alice: a\n[12:02] bob: b\n[12:03] alice: c\n[12:04] bob: d\n", 4, 2},
    {"time_with_seconds",
     "[1/2/24, 10:01:05] Alice: hi\n[1/2/24, 10:01:09] Bob: yo\n[1/2/24, 10:02:00] Alice: ok\n", 3, 2},
    {"irc",
     "<alice> hi\n<bob> yo\n<alice> sup\n<bob> nm\n", 4, 2},
    {"header_per_message",
     "Alice Smith  10:01 AM\nHello team\nBob Jones \xe2\x80\x94 10:02 AM\nHi Alice\n"
     "Alice Smith  10:05 AM\nLunch?\n[10:07] Carol Diaz\nSure\n[10:08] Bob Jones\nok\n"
     "[10:09 AM] Carol Diaz\nfine\nAlice Smith \xe2\x80\x94 Today at 10:11 AM\nbye\n", 7, 3},
    {"mbox",
     "From alice@x.example Mon Jan  1 00:00:00 2024\nFrom: alice@x.example\nTo: bob@x.example\n"
     "Subject: a\n\nbody one\n\nFrom bob@x.example Mon Jan  1 00:00:00 2024\n"
     "From: bob@x.example\nTo: alice@x.example\nSubject: b\n\nbody two\n", 2, 2},
    {"email_run",
     "Please summarise:\n\nFrom: Alice <alice@x.example>\nSent: Monday\nTo: bob@x.example\n"
     "Subject: x\n\nhello\n\nFrom: Bob <bob@x.example>\nTo: carol@x.example\nSubject: RE: x\n\nhi\n",
     2, 3},
    {"csv",
     "date,from,to,body\n2024-01-01,alice@x.example,bob@x.example,\"Hi, Bob\"\n"
     "2024-01-01,bob@x.example,alice@x.example,Hello\n"
     "2024-01-02,carol@x.example,bob@x.example,\"multi\nline \"\"quoted\"\"\"\n", 3, 3},
    {"tsv",
     "sender\trecipient\tmessage\nalice\tbob\thi\nbob\talice\tyo\nalice\tbob\tok\n", 3, 2},
    {"json_array",
     "[{\"user\":\"alice\",\"text\":\"hi\"},{\"user\":\"bob\",\"text\":\"yo\"},"
     "{\"user\":\"alice\",\"text\":\"x\"}]", 3, 2},
    {"json_lines",
     "{\"from\":\"a@x.io\",\"body\":\"hi\",\"ts\":1}\n{\"from\":\"b@x.io\",\"body\":\"yo\",\"ts\":2}\n"
     "{\"author\":{\"id\":\"7\",\"username\":\"c\"},\"content\":\"z\"}\n", 3, 3},
};

/* Must not count as messages from two or more senders. */
static const ecase NOT_EMBEDDED[] = {
    {"code",
     "int f(int x)\n{\n    switch (x) {\n    case 1: return 2;\n    default: return 0;\n    }\n}\n"
     "case 2: x\ndefault: y\npublic: z\nprivate: w\ndef g(a):\n    return a\n", 0, 0},
    {"poem",
     "Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n"
     "Rough winds do shake the darling buds of May,\nAnd summer's lease hath all too short a date\n",
     0, 0},
    {"log",
     "2024-01-02 10:00:01,123 INFO [main] Server: started\n"
     "2024-01-02 10:00:02,456 WARN [db] Pool: slow\n"
     "2024-01-02 10:00:03.789 ERROR api: failed\n"
     "2024-01-02 10:00:04 ERROR db: connection refused\n"
     "2024-01-02 10:00:05 INFO api: retry\n"
     "2024-01-02 10:00:06 Starting worker\n2024-01-02 10:00:07 Worker ready\n", 0, 0},
    {"log_components",
     "10:00:01 api: request done\n10:00:02 db: slow query\n10:00:03 api: retry\n"
     "10:00:04 db: ok\n10:00:05 api: done\n", 0, 0},
    {"ui_json",
     "[{\"name\":\"ok_button\",\"text\":\"OK\"},{\"name\":\"cancel\",\"text\":\"Cancel\"},"
     "{\"name\":\"ok_button\",\"text\":\"Sure\"}]", 0, 0},
    {"markdown_notes",
     "# Setup\n\nNote: install first.\n\nWarning: this is slow.\n\nTip: use the cache.\n\n"
     "Note: again.\n\nExample: foo\n\nStep 1: build\nStep 2: test\nTODO: docs\n", 0, 0},
    {"numbered_list",
     "1. Buy milk\n2. Call Bob: about lunch\n3. Email Alice: the report\n4) Done\n", 0, 0},
    {"key_values",
     "name: egret\nversion: 1.2\nauthor: someone\nlicense: MIT\nhomepage: https://x.example\n"
     "maintainer: me\nrepository: git\n", 0, 0},
    {"single_speaker",
     "Alice: first\nAlice: second\nAlice: third\nAlice: fourth\n", 4, 1},
    {"roles_only",
     "User: what is 2+2?\nAssistant: 4\nUser: and 3+3?\nAssistant: 6\n", 4, 0},
    {"from_sentence",
     "From the desk of the director\nplease read this memo.\n\nFrom now on, meetings start at nine.\n", 0, 0},
    {"csv_no_sender",
     "product,price,qty\nfoo,1,2\nbar,3,4\n", 0, 0},
};
// clang-format on

static void run_text(content_ctx *c, const char *body, size_t n, size_t piece, content_result *r)
{
    assert_int_equal(content_begin(c, NULL), 0);
    for (size_t i = 0; i < n; i += piece)
        content_feed(c, (const uint8_t *)body + i, n - i < piece ? n - i : piece);
    content_end(c, r);
}

static void same(const char *name, const content_result *a, const content_result *b)
{
    if (strcmp(a->shape, b->shape) || a->records != b->records || a->messages != b->messages ||
        a->text_chars != b->text_chars || a->senders != b->senders ||
        a->embedded_messages != b->embedded_messages ||
        a->embedded_senders != b->embedded_senders || strcmp(a->fingerprint, b->fingerprint) ||
        a->flags != b->flags)
        fail_msg("%s: results differ with the split", name);
}

static void test_embedded(void **state)
{
    (void)state;
    content_ctx *c = content_new(NULL);
    static char body[4096];
    for (size_t i = 0; i < sizeof(EMBEDDED) / sizeof(EMBEDDED[0]); i++) {
        const ecase *k = &EMBEDDED[i];
        size_t n = chat_body(k->text, body, sizeof(body));
        content_result r, r1, r7;
        run_text(c, body, n, n, &r);
        if (r.embedded_messages != k->messages || r.embedded_senders != k->senders)
            fail_msg("%s: embedded %llu from %u, want %u from %u", k->name,
                     (unsigned long long)r.embedded_messages, r.embedded_senders, k->messages,
                     k->senders);
        /* the outer body is unchanged: one message, its characters */
        assert_string_equal(r.shape, "openai_chat");
        assert_int_equal(r.messages, 1);
        assert_int_equal(r.flags, 0);
        run_text(c, body, n, 1, &r1);
        run_text(c, body, n, 7, &r7);
        same(k->name, &r, &r1);
        same(k->name, &r, &r7);
    }
    for (size_t i = 0; i < sizeof(NOT_EMBEDDED) / sizeof(NOT_EMBEDDED[0]); i++) {
        const ecase *k = &NOT_EMBEDDED[i];
        size_t n = chat_body(k->text, body, sizeof(body));
        content_result r, r1;
        run_text(c, body, n, n, &r);
        if (r.embedded_messages != k->messages || r.embedded_senders != k->senders ||
            r.embedded_senders >= 2)
            fail_msg("%s: embedded %llu from %u, want %u from %u", k->name,
                     (unsigned long long)r.embedded_messages, r.embedded_senders, k->messages,
                     k->senders);
        run_text(c, body, n, 1, &r1);
        same(k->name, &r, &r1);
    }
    content_free(c);
}

/* Embedded messages in form values and in text uploads. */
static void test_embedded_bodies(void **state)
{
    (void)state;
    content_ctx *c = content_new(NULL);
    content_result r;
    content_hint form = {"application/x-www-form-urlencoded", NULL, NULL};
    const char *f = "model=m&prompt=%5B10%3A01%5D+Alice%3A+hi%0A%5B10%3A02%5D+Bob%3A+yo%0A"
                    "%5B10%3A03%5D+Alice%3A+ok%0A%5B10%3A04%5D+Bob%3A+bye&go=1";
    for (size_t piece = 1; piece <= strlen(f); piece += strlen(f) - 1) {
        assert_int_equal(content_begin(c, &form), 0);
        for (size_t i = 0; i < strlen(f); i += piece)
            content_feed(c, (const uint8_t *)f + i, strlen(f) - i < piece ? strlen(f) - i : piece);
        content_end(c, &r);
        assert_string_equal(r.shape, "unknown");
        assert_int_equal(r.embedded_messages, 4);
        assert_int_equal(r.embedded_senders, 2);
    }
    /* a CSV export uploaded as a text file */
    const char *csv = "from,to,body\na@x.io,b@x.io,hi\nb@x.io,a@x.io,yo\nc@x.io,a@x.io,z\n";
    run_text(c, csv, strlen(csv), 5, &r);
    assert_string_equal(r.shape, "unknown");
    assert_int_equal(r.embedded_messages, 3);
    assert_int_equal(r.embedded_senders, 3);
    /* every message-text position: content blocks, Gemini parts, Cohere
     * chat_history, a confirmed Responses input string (embedded counts
     * of an unconfirmed one -- an embeddings input -- are not kept) */
    static const struct {
        const char *body;
        unsigned emb;
    } POS[] = {
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
         "\"Al: x\\nBob: y\\nAl: z\\nBob: w\\nAl: v\\n\"}]}],\"system\":\"s\"}",
         5},
        {"{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":"
         "\"Al: x\\nBob: y\\nAl: z\\n\"}]}]}",
         3},
        {"{\"message\":\"sum up\",\"chat_history\":[{\"role\":\"USER\",\"message\":"
         "\"Al: x\\nBob: y\\nAl: z\\n\"}]}",
         3},
        {"{\"model\":\"m\",\"instructions\":\"i\",\"input\":\"Al: x\\nBob: y\\nAl: z\\n\"}", 3},
        {"{\"model\":\"text-embedding-3-small\",\"input\":\"Al: x\\nBob: y\\nAl: z\\n\"}", 0},
    };
    for (size_t i = 0; i < sizeof(POS) / sizeof(POS[0]); i++) {
        run_text(c, POS[i].body, strlen(POS[i].body), 3, &r);
        if (r.embedded_messages != POS[i].emb)
            fail_msg("position %zu: %llu embedded, want %u", i,
                     (unsigned long long)r.embedded_messages, POS[i].emb);
    }

    /* a chat export uploaded as a JSON file (multipart part with a filename) */
    const char *sl = "[{\"type\":\"message\",\"user\":\"U01\",\"text\":\"hi\",\"ts\":\"1.0\"},"
                     "{\"type\":\"message\",\"user\":\"U02\",\"text\":\"yo\"},"
                     "{\"type\":\"message\",\"user\":\"U01\",\"text\":\"ok\"}]";
    content_hint file = {"application/json", "general.json", NULL};
    for (size_t piece = 1; piece <= strlen(sl); piece += strlen(sl) - 1) {
        assert_int_equal(content_begin(c, &file), 0);
        for (size_t i = 0; i < strlen(sl); i += piece)
            content_feed(c, (const uint8_t *)sl + i,
                         strlen(sl) - i < piece ? strlen(sl) - i : piece);
        content_end(c, &r);
        assert_string_equal(r.shape, "json_other");
        assert_int_equal(r.embedded_messages, 3);
        assert_int_equal(r.embedded_senders, 2);
    }
    /* the same bytes as a request body are not looked into: an AI request
     * is what request bodies are, and the scan would cost every JSON body */
    run_text(c, sl, strlen(sl), strlen(sl), &r);
    assert_string_equal(r.shape, "json_other");
    assert_int_equal(r.embedded_messages, 0);

    /* a text body that is a transcript counts as messages, not embedded */
    const char *t = "[10:01] Alice: hi\n[10:02] Bob: yo\n";
    run_text(c, t, strlen(t), 3, &r);
    assert_string_equal(r.shape, "chat_transcript");
    assert_int_equal(r.messages, 2);
    assert_int_equal(r.embedded_messages, 0);
    content_free(c);
}

/* A 50 MB pasted transcript in one message, cut before its end: counted
 * as it streamed, in fixed memory. */
static void test_embedded_streaming(void **state)
{
    (void)state;
    content_ctx *c = content_new(NULL);
    const char *head = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Export:\\n";
    char line[128];
    size_t target[] = {1u << 20, 50u << 20};
    uint64_t chars_seen[2] = {0, 0};
    for (int run = 0; run < 2; run++) {
        assert_int_equal(content_begin(c, NULL), 0);
        content_feed(c, (const uint8_t *)head, strlen(head));
        uint64_t chars = 8, lines = 0;
        size_t fed = strlen(head);
        char buf[4096];
        size_t b = 0;
        while (fed < target[run]) {
            int n = snprintf(line, sizeof(line),
                             "[%02u:%02u] Member %u: note %llu about \\\"acct\\\"\\n",
                             (unsigned)(lines / 60 % 24), (unsigned)(lines % 60),
                             (unsigned)(lines * 7 % 25), (unsigned long long)lines);
            if (b + (size_t)n > sizeof(buf)) {
                /* odd pieces: a line, an escape may be split anywhere */
                content_feed(c, (const uint8_t *)buf, 1000);
                content_feed(c, (const uint8_t *)buf + 1000, b - 1000);
                fed += b;
                b = 0;
            }
            memcpy(buf + b, line, (size_t)n);
            b += (size_t)n;
            chars += (uint64_t)n - 3; /* \" \" \n: 6 bytes -> 3 chars */
            lines++;
        }
        content_feed(c, (const uint8_t *)buf, b);
        content_result r;
        content_end(c, &r); /* no closing quote: cut */
        assert_true(r.flags & CONTENT_F_TRUNCATED);
        assert_int_equal(r.messages, 1);
        assert_int_equal(r.text_chars, chars);
        assert_int_equal(r.embedded_messages, lines);
        assert_int_equal(r.embedded_senders, 25);
        chars_seen[run] = r.text_chars;
    }
    assert_true(chars_seen[1] > 40 * chars_seen[0]);
    content_free(c);
}

/* Memory: the ctx allocates nothing per body or per byte; feeding 20 MB of
 * message text does not grow the heap (glibc's own count; under ASan the
 * allocator is ASan's, mallinfo2 reads 0 and only the plain build checks
 * this).  Identifier sets stop at max_senders and say so. */
static void test_embedded_memory(void **state)
{
    (void)state;
    content_ctx *c = content_new(NULL);
    char buf[4096];
    for (size_t i = 0; i < sizeof(buf); i++) buf[i] = "Alice: hi\\nBob: yo\\n"[i % 20];
    assert_int_equal(content_begin(c, NULL), 0);
    const char *head = "{\"messages\":[{\"role\":\"user\",\"content\":\"";
    content_feed(c, (const uint8_t *)head, strlen(head));
    content_feed(c, (const uint8_t *)buf, sizeof(buf));
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 5000; i++) content_feed(c, (const uint8_t *)buf, sizeof(buf));
    struct mallinfo2 after = mallinfo2();
    assert_true(after.uordblks <= before.uordblks + 4096);
    content_result r;
    content_end(c, &r);
    assert_true(r.embedded_messages > 1000000);
    assert_int_equal(r.embedded_senders, 2);
    assert_false(r.embedded_senders_capped);
    content_free(c);

    /* 25 speakers against a cap of 8 */
    content_limits lim;
    content_limits_default(&lim);
    lim.max_senders = 8;
    c = content_new(&lim);
    assert_int_equal(content_begin(c, NULL), 0);
    content_feed(c, (const uint8_t *)head, strlen(head));
    for (unsigned i = 0; i < 100; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "Member %u: hello\\n", i % 25);
        content_feed(c, (const uint8_t *)line, (size_t)n);
    }
    content_feed(c, (const uint8_t *)"\"}]}", 4);
    content_end(c, &r);
    assert_int_equal(r.embedded_messages, 100);
    assert_int_equal(r.embedded_senders, 8);
    assert_true(r.embedded_senders_capped);
    content_free(c);
}

/* ---- lossy mode after a gap ---- */

static void feed_str(content_ctx *c, const char *s)
{
    content_feed(c, (const uint8_t *)s, strlen(s));
}

static void test_gap(void **state)
{
    (void)state;
    content_ctx *c = content_new(NULL);
    content_result r;

    /* JSONL batch: the record cut by the gap is lost, the next ones count */
    content_hint jl = {"application/jsonl", NULL, NULL};
    assert_int_equal(content_begin(c, &jl), 0);
    feed_str(
        c,
        "{\"custom_id\":\"r1\",\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"one\"}]}}\n"
        "{\"custom_id\":\"r2\",\"bo");
    content_gap(c, 1460);
    feed_str(
        c, "nt\":\"two\"}]}}\n"
           "{\"custom_id\":\"r3\",\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"three\"}"
           "]}}\n"
           "{\"custom_id\":\"r4\",\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"four\"},"
           "{\"role\":\"assistant\",\"content\":\"4\"}]}}\n");
    content_end(c, &r);
    assert_string_equal(r.shape, "jsonl_batch");
    assert_int_equal(r.records, 3);
    assert_int_equal(r.messages, 4);
    assert_int_equal(r.text_chars, 3 + 5 + 4 + 1);
    assert_int_equal(r.gaps, 1);
    assert_int_equal(r.gap_bytes, 1460);
    assert_true(r.flags & CONTENT_F_LOSSY);
    assert_int_equal(r.flags & CONTENT_F_INVALID, 0);

    /* transcript: the cut line is lost, the next whole line resumes */
    assert_int_equal(content_begin(c, NULL), 0);
    feed_str(c, "[10:01] Alice: hi\n[10:02] Bob: hello\n[10:03] Al");
    content_gap(c, 3000);
    feed_str(c, "ice said\n[10:05] Bob: after\n[10:06] Carol: more\n");
    content_end(c, &r);
    assert_string_equal(r.shape, "chat_transcript");
    assert_int_equal(r.messages, 4);
    assert_int_equal(r.senders, 3);
    assert_int_equal(r.gaps, 1);
    assert_true(r.flags & CONTENT_F_LOSSY);

    /* mbox: a gap inside the second message's body; the third counts */
    assert_int_equal(content_begin(c, NULL), 0);
    feed_str(c,
             "From a@x.example Mon Jan  1 00:00:00 2024\nFrom: a@x.example\nSubject: 1\n\nbody\n\n"
             "From b@x.example Mon Jan  1 00:00:00 2024\nFrom: b@x.example\nSubject: 2\n\nbo");
    content_gap(c, 700);
    feed_str(c, "dy\nmore body\n\nFrom c@x.example Mon Jan  1 00:00:00 2024\nFrom: c@x.example\n"
                "Subject: 3\n\nlast\n");
    content_end(c, &r);
    assert_string_equal(r.shape, "email");
    assert_int_equal(r.messages, 3);
    assert_int_equal(r.senders, 3);
    assert_int_equal(r.gaps, 1);

    /* mbox: the gap swallowed the blank line before a "From " line */
    assert_int_equal(content_begin(c, NULL), 0);
    feed_str(c, "From a@x.example Mon Jan  1 00:00:00 2024\nFrom: a@x.example\n\nbody a\nmo");
    content_gap(c, 20);
    feed_str(c, "re\nFrom b@x.example Mon Jan  1 00:00:00 2024\nFrom: b@x.example\n\nbody b\n");
    content_end(c, &r);
    assert_int_equal(r.messages, 2);

    /* one JSON chat body: what was seen before the gap is kept, and the
     * messages[] array is taken up at the next object opening with "role" */
    assert_int_equal(content_begin(c, NULL), 0);
    feed_str(c, "{\"messages\":[{\"role\":\"user\",\"content\":\"one\"},{\"role\":\"assistant\","
                "\"content\":\"two\"},{\"role\":\"user\",\"content\":\"thr");
    content_gap(c, 5000);
    feed_str(c, "ee\"},{\"role\":\"user\",\"content\":\"four\"}]}");
    content_end(c, &r);
    assert_string_equal(r.shape, "openai_chat");
    assert_int_equal(r.records, 1);
    assert_int_equal(r.messages, 4);
    assert_int_equal(r.text_chars, 13);
    assert_int_equal(strlen(r.fingerprint), 64);
    assert_int_equal(r.gaps, 1);
    assert_int_equal(r.gap_bytes, 5000);
    assert_true(r.flags & CONTENT_F_LOSSY);
    assert_int_equal(r.flags & CONTENT_F_INVALID, 0);

    /* a pretty-printed chat body: the array is taken up at the next object */
    assert_int_equal(content_begin(c, NULL), 0);
    feed_str(c, "{\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"a\"},\n    {\"ro");
    content_gap(c, 100);
    feed_str(c, "x\"},\n    {\"role\": \"user\", \"content\": \"b\"}\n  ]\n}\n");
    content_end(c, &r);
    assert_string_equal(r.shape, "openai_chat");
    assert_int_equal(r.records, 1);
    assert_int_equal(r.messages, 2); /* "a" and "b"; the cut object had no key yet */
    assert_int_equal(r.flags & CONTENT_F_MIXED, 0);

    /* two gaps before the array is taken up (an ACK-driven flush reports a
     * loss in pieces); Gemini contents[]; a "role" key inside message text
     * does not start an object */
    assert_int_equal(content_begin(c, NULL), 0);
    feed_str(c, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"one\"}]},{\"ro");
    content_gap(c, 1460);
    content_gap(c, 2920);
    feed_str(c, "t\"}]},{\"role\":\"user\",\"parts\":[{\"text\":\"say \\\"role\\\" twice\"}]},"
                "{\"role\":\"model\",\"parts\":[{\"text\":\"ok\"}]}]}");
    content_end(c, &r);
    assert_string_equal(r.shape, "gemini_contents");
    assert_int_equal(r.records, 1);
    assert_int_equal(r.messages, 3);
    assert_int_equal(r.gaps, 2);
    assert_int_equal(r.gap_bytes, 4380);

    /* a gap in a pasted transcript: embedded lines after it still count */
    assert_int_equal(content_begin(c, NULL), 0);
    feed_str(c, "{\"model\":\"m\",\"input\":\"Alice: a\\nBob: b\\nAlice: c\\nBo");
    content_gap(c, 10);
    feed_str(c, "b: d\\nAlice: e\\nBob: f\\n\",\"instructions\":\"x\"}");
    content_end(c, &r);
    assert_int_equal(r.gaps, 1);
    assert_true(r.flags & CONTENT_F_LOSSY);

    /* after a gap, a chunk of 200,000 lines that are not records, then a
     * record: skipped line by line in fixed stack, the record counts */
    assert_int_equal(content_begin(c, &jl), 0);
    feed_str(c, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}\n{\"mess");
    content_gap(c, 64);
    size_t junk_n = 200000 * 3;
    char *junk = malloc(junk_n);
    assert_non_null(junk);
    for (size_t i = 0; i < junk_n; i += 3) memcpy(junk + i, "}]\n", 3);
    content_feed(c, (const uint8_t *)junk, junk_n);
    free(junk);
    feed_str(c, "{\"messages\":[{\"role\":\"user\",\"content\":\"b\"}]}\n");
    content_end(c, &r);
    assert_string_equal(r.shape, "jsonl_batch");
    assert_int_equal(r.records, 2);
    assert_int_equal(r.flags & CONTENT_F_INVALID, 0);

    /* a gap before the first byte: the body starts at the next line */
    assert_int_equal(content_begin(c, NULL), 0);
    content_gap(c, 4096);
    feed_str(c, "ent\":\"lost\"}]}\n{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}\n"
                "{\"messages\":[{\"role\":\"user\",\"content\":\"y\"}]}\n");
    content_end(c, &r);
    assert_string_equal(r.shape, "jsonl_batch");
    assert_int_equal(r.records, 2);
    assert_int_equal(r.gaps, 1);

    /* no gap: the fields stay zero */
    assert_int_equal(content_begin(c, NULL), 0);
    feed_str(c, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    content_end(c, &r);
    assert_int_equal(r.gaps, 0);
    assert_int_equal(r.gap_bytes, 0);
    assert_int_equal(r.flags & CONTENT_F_LOSSY, 0);
    content_free(c);
}

/* Mutated pasted exports in JSON, form and text bodies, fed in random
 * pieces with random gaps: no crash (ASan/UBSan), sane counts. */
static void test_mutations_embedded(void **state)
{
    (void)state;
    content_limits lim;
    content_limits_default(&lim);
    lim.max_senders = 8;
    content_ctx *c = content_new(&lim);
    static char body[4096];
    unsigned x = 11;
    const size_t ne = sizeof(EMBEDDED) / sizeof(EMBEDDED[0]);
    const size_t nn = sizeof(NOT_EMBEDDED) / sizeof(NOT_EMBEDDED[0]);
    for (unsigned round = 0; round < 3000; round++) {
        const ecase *k = round % 2 ? &EMBEDDED[round / 2 % ne] : &NOT_EMBEDDED[round / 2 % nn];
        size_t n;
        content_hint h = {NULL, NULL, NULL};
        if (round % 3 == 0) {
            n = chat_body(k->text, body, sizeof(body));
        } else {
            n = strlen(k->text);
            memcpy(body, k->text, n);
            if (round % 3 == 1) h.content_type = "application/x-www-form-urlencoded";
        }
        for (unsigned m = 0; m < round % 5 && n; m++) {
            x = x * 1103515245u + 12345u;
            body[(x >> 8) % n] = (char)(x >> 24);
        }
        assert_int_equal(content_begin(c, &h), 0);
        unsigned gaps = 0;
        size_t a = 0;
        while (a < n) {
            x = x * 1103515245u + 12345u;
            size_t step = 1 + (x >> 8) % 64;
            if (step > n - a) step = n - a;
            if ((x >> 20) % 17 == 0) {
                content_gap(c, step);
                gaps++;
                a += step; /* those bytes are missing */
                continue;
            }
            content_feed(c, (const uint8_t *)body + a, step);
            a += step;
        }
        content_result r;
        content_end(c, &r);
        assert_int_equal(r.gaps, gaps);
        assert_int_equal(!!(r.flags & CONTENT_F_LOSSY), gaps > 0);
        assert_true(r.records <= r.messages);
        assert_true(r.embedded_senders <= 8);
        assert_true(r.embedded_messages || !r.embedded_senders);
    }
    content_free(c);
}

/* Message strings are decoded by content_json.c, not yajl: for random strings
 * with every escape (\n \" \\ \/ \b \f \r \t, \uXXXX in all UTF-8 lengths,
 * surrogate pairs), the fingerprint and text_chars equal those of the
 * string as yajl decodes it. */
typedef struct ydec {
    uint8_t d[32];
    uint64_t chars;
} ydec;

static int ydec_string(void *ud, const unsigned char *s, size_t n)
{
    ydec *y = ud;
    hash_sha256(s, n, y->d);
    y->chars = 0;
    for (size_t i = 0; i < n; i++) y->chars += (s[i] & 0xc0) != 0x80;
    return 1;
}

static void test_string_decoding(void **state)
{
    (void)state;
    static const yajl_callbacks cb = {NULL, NULL, NULL, NULL, NULL, ydec_string,
                                      NULL, NULL, NULL, NULL, NULL};
    content_ctx *c = content_new(NULL);
    unsigned x = 5;
    char str[600], body[800];
    for (int round = 0; round < 2000; round++) {
        size_t o = 0;
        while (o < 500) {
            x = x * 1103515245u + 12345u;
            unsigned r = (x >> 16) % 12;
            static const char *const esc[] = {"\\n", "\\\"", "\\\\", "\\/",
                                              "\\b", "\\f",  "\\r",  "\\t"};
            if (r < 4) {
                str[o++] = (char)('a' + (x >> 8) % 26);
            } else if (r < 6) {
                memcpy(str + o, esc[(x >> 9) % 8], 2);
                o += 2;
            } else if (r < 8) {
                static const unsigned cps[] = {0x41, 0xe9, 0x7ff, 0x800, 0x20ac, 0xfffd, 0x1, 0x7f};
                o += (size_t)snprintf(str + o, 8, "\\u%04X", cps[(x >> 9) % 8]);
            } else if (r < 9) {
                unsigned cp = 0x10000 + (x >> 4) % 0x100000;
                unsigned hi = 0xd800 + ((cp - 0x10000) >> 10),
                         lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
                o += (size_t)snprintf(str + o, 14, "\\u%04x\\u%04x", hi, lo);
            } else if (r < 10) {
                memcpy(str + o, "\xc3\xa9", 2); /* raw UTF-8 */
                o += 2;
            } else {
                str[o++] = ' ';
            }
        }
        str[o] = 0;
        int n = snprintf(body, sizeof(body),
                         "{\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}", str);
        /* yajl's decoding of the same string */
        ydec y;
        memset(&y, 0, sizeof(y));
        yajl_handle h = yajl_alloc(&cb, NULL, &y);
        char lit[620];
        int ln = snprintf(lit, sizeof(lit), "\"%s\"", str);
        assert_int_equal(yajl_parse(h, (const unsigned char *)lit, (size_t)ln), yajl_status_ok);
        assert_int_equal(yajl_complete_parse(h), yajl_status_ok);
        yajl_free(h);
        uint8_t cat[32], fp[32];
        char hex[65];
        memcpy(cat, y.d, 32);
        hash_sha256(cat, 32, fp);
        hash_hex(fp, 32, hex);
        /* ours, fed in pieces that split escapes anywhere */
        size_t piece = 1 + (size_t)round % 13;
        content_result r;
        run_text(c, body, (size_t)n, piece, &r);
        if (strcmp(r.fingerprint, hex) || r.text_chars != y.chars)
            fail_msg("round %d: chars %llu vs yajl %llu", round, (unsigned long long)r.text_chars,
                     (unsigned long long)y.chars);
    }
    content_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_split_invariance),
        cmocka_unit_test(test_fingerprint_definition),
        cmocka_unit_test(test_jsonl_many),
        cmocka_unit_test(test_caps_and_invalid),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_embedded),
        cmocka_unit_test(test_embedded_bodies),
        cmocka_unit_test(test_embedded_streaming),
        cmocka_unit_test(test_embedded_memory),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_mutations_embedded),
        cmocka_unit_test(test_string_decoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
