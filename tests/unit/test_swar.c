/*
 * test_swar.c -- the eight-bytes-at-a-time scanners agree with a byte loop
 * at every offset and length, on text holding every byte value (bytes
 * >= 0x80 next to the searched ones, where a borrow could mislead), and
 * the UTF-8 count on long runs (past the 255-word lane flush).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "swar.h"

static size_t ref_json_plain(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20) i++;
    return i;
}

static size_t ref_find(const uint8_t *p, size_t n, const char *set)
{
    size_t i = 0;
    while (i < n && !memchr(set, p[i], strlen(set))) i++;
    return i;
}

static size_t ref_find_mem(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && !((p[i] | 0x20) == 'm' && (p[i + 1] | 0x20) == 'e' && (p[i + 2] | 0x20) == 'm'))
        i++;
    return i;
}

static uint64_t ref_utf8(const uint8_t *s, size_t n)
{
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) k += (s[i] & 0xc0) != 0x80;
    return k;
}

/* Mostly plain bytes with a few of the searched ones, and bytes that
 * differ from them by one (borrows) or only in the high bit. */
static void fill(uint8_t *b, size_t n, unsigned seed)
{
    static const uint8_t pick[] = {'"',  '\\', 0x1f, 0x20, 0x21, 0xa2, 0xdc, 0x00, 0x80, 0xff,
                                   '{',  '[',  '}',  ']',  'm',  'M',  'e',  'E',  0xed, 0xcd,
                                   0x7b, 0xfb, 0xc3, 0xa9, 0xe2, 0x22, 0x5c, 0x01, 0x0a, 'L'};
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        int r = rand() % 16;
        b[i] = r < 2 ? pick[rand() % sizeof(pick)] : (uint8_t)(r < 4 ? rand() % 256 : 'a' + r);
    }
}

static void test_scanners_agree(void **state)
{
    (void)state;
    uint8_t b[300];
    for (unsigned seed = 1; seed <= 200; seed++) {
        fill(b, sizeof(b), seed);
        for (size_t off = 0; off < 9; off++) {
            for (size_t n = 0; off + n <= sizeof(b); n += 1 + n / 16) {
                const uint8_t *p = b + off;
                assert_int_equal(swar_json_plain(p, n), ref_json_plain(p, n));
                assert_int_equal(swar_find2(p, n, '{', '['), ref_find(p, n, "{["));
                assert_int_equal(swar_find_jstruct(p, n), ref_find(p, n, "{[}]\""));
                assert_int_equal(swar_utf8_chars(p, n), ref_utf8(p, n));
                if (off + n + 2 <= sizeof(b))
                    assert_int_equal(swar_find_mem(p, n), ref_find_mem(p, n));
            }
        }
    }
}

static void test_found_byte_exact(void **state)
{
    (void)state;
    /* a searched byte right after one a borrow could flag, at each lane */
    for (size_t at = 0; at < 24; at++) {
        uint8_t b[32];
        memset(b, 0x80, sizeof(b));
        b[at] = '"';
        assert_int_equal(swar_json_plain(b, sizeof(b)), at);
        memset(b, 'a', sizeof(b));
        b[at] = 0x1f;
        if (at + 1 < sizeof(b)) b[at + 1] = '"';
        assert_int_equal(swar_json_plain(b, sizeof(b)), at);
        memset(b, 'a', sizeof(b));
        if (at + 3 <= sizeof(b)) {
            memcpy(b + at, "mEm", 3);
            assert_int_equal(swar_find_mem(b, sizeof(b) - 2), at);
            b[at] = 0xcd; /* 'M' | 0x80 */
            assert_int_equal(swar_find_mem(b, sizeof(b) - 2), sizeof(b) - 2);
            b[at] = 'M';
            assert_int_equal(swar_find_mem(b, sizeof(b) - 2), at);
            b[at + 1] = 0xc5; /* 'E' | 0x80 */
            assert_int_equal(swar_find_mem(b, sizeof(b) - 2), sizeof(b) - 2);
        }
    }
}

static void test_utf8_long(void **state)
{
    (void)state;
    size_t n = 100000;
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i + 3 <= n; i += 3) memcpy(b + i, "\xe2\x80\x94", 3); /* em dashes */
    b[n - 1] = 'x';
    assert_int_equal(swar_utf8_chars(b, n), ref_utf8(b, n));
    memset(b, 0xbf, n); /* all continuation bytes: every lane at its limit */
    assert_int_equal(swar_utf8_chars(b, n), 0);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scanners_agree),
        cmocka_unit_test(test_found_byte_exact),
        cmocka_unit_test(test_utf8_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
