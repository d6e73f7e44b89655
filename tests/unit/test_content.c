/*
 * test_content.c -- message-content detector: every body shape of
 * AI_EGRESS.md 1.6 (chat, Responses, Anthropic, Gemini, Cohere, Bedrock,
 * JSONL batches, inline batches), e-mail and transcripts, non-message JSON
 * that must not count, sender identifiers, the fingerprint definition,
 * caps, identical results for every split point, and redaction.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct rcase {
    const char *in, *out;
} rcase;

static void test_redact(void **state)
{
    (void)state;
    static const rcase R[] = {
        {"mail alice.smith+x@corp.example.com now", "mail [email] now"},
        {"a@b.c is not an address", "a@b.c is not an address"},
        {"call +1 (555) 123-4567 today", "call [phone] today"},
        {"call 555-123-4567.", "call [phone]."},
        {"+44 20 7946 0958", "[phone]"},
        {"order 1234567 shipped", "order [num] shipped"},
        {"code 12345 stays", "code 12345 stays"},
        {"on 2024-01-31 at 10:00", "on 2024-01-31 at 10:00"},
        {"host 192.168.100.200 ok", "host 192.168.100.200 ok"},
        {"id=member98765432", "id=member[num]"},
        {"x 4111111111111111 y", "x [num] y"},
        {"", ""},
    };
    char out[256];
    for (size_t i = 0; i < sizeof(R) / sizeof(R[0]); i++) {
        size_t n = content_redact(R[i].in, strlen(R[i].in), out, sizeof(out));
        if (strcmp(out, R[i].out) != 0) fail_msg("redact [%s] -> [%s]", R[i].in, out);
        assert_int_equal(n, strlen(R[i].out));
    }
    /* Truncation never splits a tag and always terminates. */
    const char *in = "abc bob@example.com";
    for (size_t cap = 1; cap < 16; cap++) {
        memset(out, 'Z', sizeof(out));
        size_t n = content_redact(in, strlen(in), out, cap);
        assert_true(n < cap);
        assert_int_equal(out[n], 0);
        assert_true(n <= 4 || n == 11);
    }
    assert_int_equal(content_redact(in, strlen(in), NULL, 0), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_split_invariance),
        cmocka_unit_test(test_fingerprint_definition),
        cmocka_unit_test(test_jsonl_many),
        cmocka_unit_test(test_caps_and_invalid),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
