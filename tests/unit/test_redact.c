/*
 * test_redact.c -- evidence redaction, table-driven: e-mail addresses
 * (plain, JSON- and URL-escaped, quoted local parts, address literals,
 * internationalised), payment cards (grouped, Luhn), phone numbers and long
 * digit runs replaced, dates and dotted quads kept, the decoding of
 * escapes, truncation that never splits a tag.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "redact.h"

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
        {"x 4111111111111111 y", "x [card] y"},
        {"", ""},
        /* issue 16: forms the redaction used to miss */
        {"{\"to\":\"alice\\u0040corp.example.com\"}", "{\"to\":\"[email]\"}"},
        {"alice\\u0040corp.example.com", "[email]"},
        {"alice\\u0040corp\\u002eexample\\u002ecom", "[email]"},
        {"to=alice%40corp.example.com&x=1", "to=[email]&x=1"},
        {"user@[192.0.2.1] wrote", "[email] wrote"},
        {"user@[IPv6:2001:db8::1] wrote", "[email] wrote"},
        {"\"john doe\"@example.com said", "[email] said"},
        {"x \"a@b\"@example.com y", "x [email] y"},
        {"mail jörg@bücher.example now", "mail [email] now"},
        {"mail user@xn--bcher-kva.example now", "mail [email] now"},
        {"mail 用户@例子.广告 now", "mail [email] now"},
        {"mail o'brien@example.ie now", "mail [email] now"},
        {"card 4111 1111 1111 1111 exp", "card [card] exp"},
        {"card 4111-1111-1111-1111 exp", "card [card] exp"},
        {"amex 3782 822463 10005.", "amex [card]."},
        {"not luhn 4111 1111 1111 1112 x", "not luhn [num] x"},
        {"\\u0034111111111111111", "[card]"},
        {"nul\\u0000byte and \\u00e9t\\u00e9", "nul?byte and été"},
        {"pair \\ud83d\\ude00 ok", "pair 😀 ok"},
        {"lone \\ud83d ok", "lone ? ok"},
        {"cut \\u00", "cut "},
        {"tab\\tnew\\nline", "tab\tnew\nline"},
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
