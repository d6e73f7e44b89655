/*
 * test_embed.c -- the CSV / TSV and JSON record scanners for messages
 * pasted inside a message text: headers and columns, quoting, preambles,
 * senders as objects, what does not count, gaps, every split point.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "embed.h"

/* Distinct sender hashes seen (a small set for the tests). */
typedef struct senders {
    uint64_t h[64];
    unsigned n, calls;
} senders;

static void add_sender(void *ud, uint64_t h)
{
    senders *s = ud;
    s->calls++;
    for (unsigned i = 0; i < s->n; i++)
        if (s->h[i] == h) return;
    if (s->n < 64) s->h[s->n++] = h;
}

typedef struct tcase {
    const char *name, *text;
    unsigned messages, senders;
} tcase;

// clang-format off
static const tcase CSV[] = {
    {"csv", "from,to,body\na@x.io,b@x.io,hi\nb@x.io,a@x.io,yo\nA@X.IO,b@x.io,again\n", 3, 2},
    {"tsv_crlf", "Sender Name\tMessage\r\nAlice\thi\r\nBob\tyo\r\n", 2, 2},
    {"semicolon_quoted",
     "\"author\";\"text\"\n\"alice\";\"a; b\"\n\"bob\";\"line one\nline two \"\"q\"\"\"\n", 2, 2},
    {"preamble", "Here are the notes:\n\nuser,note\nalice,call back\nbob,sent\n", 2, 2},
    {"no_sender_column", "product,price\nfoo,1\nbar,2\n", 0, 0},
    {"no_body_column", "name,email\nalice,a@x.io\nbob,b@x.io\n", 0, 0},
    {"prose", "It was late, and the office, as usual, was empty.\nShe left.\n", 0, 0},
    {"rows_mostly_bad", "from,body\nalice\nbob\ncarol,hi\n", 0, 0},
    {"empty_body_skipped", "from,body\nalice,\nbob,yo\n", 1, 1},
    {"last_row_without_newline_not_counted", "from,body\nalice,hi\nbob,yo", 1, 1},
};

static const tcase JSON[] = {
    {"array", "[{\"user\":\"alice\",\"text\":\"hi\"},{\"user\":\"bob\",\"text\":\"yo\"}]", 2, 2},
    {"jsonl", "{\"from\":\"a\",\"body\":\"x\"}\n{\"from\":\"b\",\"body\":\"y\"}\n{\"from\":\"a\",\"body\":\"z\"}\n",
     3, 2},
    {"sender_object",
     "{\"messages\":[{\"author\":{\"id\":\"1\",\"username\":\"al\"},\"content\":\"hi\"},"
     "{\"author\":{\"id\":\"2\"},\"content\":\"yo\"}]}", 2, 2},
    {"number_sender", "[{\"user_id\":123,\"text\":\"a\"},{\"user_id\":456,\"text\":\"b\"}]", 2, 2},
    {"content_blocks", "[{\"sender\":\"a\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]", 1, 1},
    {"escaped_quotes", "[{\"sender\":\"a\\\"b\",\"msg\":\"say \\\"hi\\\"\"}]", 1, 1},
    {"no_text_key", "[{\"user\":\"alice\",\"id\":1},{\"user\":\"bob\",\"id\":2}]", 0, 0},
    {"no_sender_key", "[{\"title\":\"x\",\"text\":\"y\"}]", 0, 0},
    {"name_is_not_a_sender", "[{\"name\":\"ok\",\"text\":\"OK\"},{\"name\":\"no\",\"text\":\"No\"}]",
     0, 0},
    {"empty_text", "[{\"user\":\"alice\",\"text\":\"\"}]", 0, 0},
    {"code_with_braces", "int main(void) { if (x) { return 1; } }\n", 0, 0},
    {"deep", "[[[[[[[[[[[[[[[[[[[[{\"user\":\"a\",\"text\":\"b\"}]]]]]]]]]]]]]]]]]]]]", 0, 0},
};
// clang-format on

static void run_csv(const char *t, size_t piece, uint64_t *msgs, senders *s)
{
    embed_csv c;
    embed_csv_reset(&c);
    memset(s, 0, sizeof(*s));
    size_t n = strlen(t);
    for (size_t i = 0; i < n; i += piece)
        embed_csv_feed(&c, (const uint8_t *)t + i, n - i < piece ? n - i : piece, add_sender, s);
    *msgs = embed_csv_messages(&c);
}

static void run_json(const char *t, size_t piece, uint64_t *msgs, senders *s)
{
    embed_json j;
    embed_json_reset(&j);
    memset(s, 0, sizeof(*s));
    size_t n = strlen(t);
    for (size_t i = 0; i < n; i += piece)
        embed_json_feed(&j, (const uint8_t *)t + i, n - i < piece ? n - i : piece, add_sender, s);
    *msgs = embed_json_messages(&j);
}

static void check(const tcase *k, bool json)
{
    uint64_t ref = 0;
    unsigned refs = 0;
    for (size_t piece = 1; piece <= strlen(k->text) + 1; piece++) {
        uint64_t m;
        senders s;
        if (json)
            run_json(k->text, piece, &m, &s);
        else
            run_csv(k->text, piece, &m, &s);
        if (piece == 1) {
            ref = m;
            refs = m ? s.n : 0;
        }
        if (m != k->messages || (m ? s.n : 0) != k->senders || m != ref || (m ? s.n : 0) != refs)
            fail_msg("%s (pieces of %zu): %llu messages from %u senders, want %u from %u", k->name,
                     piece, (unsigned long long)m, s.n, k->messages, k->senders);
    }
}

static void test_csv(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(CSV) / sizeof(CSV[0]); i++) check(&CSV[i], false);
}

static void test_json(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(JSON) / sizeof(JSON[0]); i++) check(&JSON[i], true);
}

static void test_gaps(void **state)
{
    (void)state;
    senders s;
    memset(&s, 0, sizeof(s));
    /* CSV: the row cut by the gap is dropped, the next line resumes */
    embed_csv c;
    embed_csv_reset(&c);
    const char *a = "from,body\nalice,hi\nbob,y";
    const char *b = "lost tail\ncarol,ok\ndave,\"x\"\n";
    embed_csv_feed(&c, (const uint8_t *)a, strlen(a), add_sender, &s);
    embed_csv_gap(&c);
    embed_csv_feed(&c, (const uint8_t *)b, strlen(b), add_sender, &s);
    assert_int_equal(embed_csv_messages(&c), 3);
    /* a gap inside the header: no CSV */
    embed_csv_reset(&c);
    embed_csv_feed(&c, (const uint8_t *)"fro", 3, add_sender, &s);
    embed_csv_gap(&c);
    embed_csv_feed(&c, (const uint8_t *)"m,body\nalice,hi\n", 16, add_sender, &s);
    assert_int_equal(embed_csv_messages(&c), 0);
    /* JSON: open objects are dropped, counts kept, later objects count */
    embed_json j;
    embed_json_reset(&j);
    const char *x = "{\"user\":\"a\",\"text\":\"b\"}\n{\"user\":\"c\",\"te";
    const char *y = "{\"user\":\"d\",\"text\":\"e\"}\n";
    embed_json_feed(&j, (const uint8_t *)x, strlen(x), add_sender, &s);
    embed_json_gap(&j);
    embed_json_feed(&j, (const uint8_t *)y, strlen(y), add_sender, &s);
    assert_int_equal(embed_json_messages(&j), 2);
}

/* Arbitrary bytes: no crash, counts never exceed the rows / objects. */
static const char NOISE[] = "{}[]\",:\\\n\tab ,user text from body\r";
static void test_noise(void **state)
{
    (void)state;
    uint8_t buf[4096];
    unsigned x = 99;
    senders s;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)NOISE[(x >> 16) % (sizeof(NOISE) - 1)];
        }
        embed_csv c;
        embed_json j;
        embed_csv_reset(&c);
        embed_json_reset(&j);
        memset(&s, 0, sizeof(s));
        embed_csv_feed(&c, buf, sizeof(buf), add_sender, &s);
        embed_json_feed(&j, buf, sizeof(buf), add_sender, &s);
        assert_true(embed_csv_messages(&c) <= sizeof(buf));
        assert_true(embed_json_messages(&j) <= sizeof(buf) / 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_gaps),
        cmocka_unit_test(test_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
