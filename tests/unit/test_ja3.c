/*
 * test_ja3.c -- JA3 string and hash of a ClientHello: GREASE left out of
 * ciphers, extensions and curves; every cut-short prefix gives nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ja3.h"

/* ClientHello, legacy version 0x0303, ciphers GREASE 0x1a1a, 0x1301, 0xc02b;
 * extensions: GREASE 0x2a2a (empty), server_name (0, empty), supported_groups
 * (10: GREASE 0x3a3a, 29, 23), ec_point_formats (11: 0), alpn (16, empty). */
/* clang-format off */
static const uint8_t HELLO[] = {
    22, 3, 1, 0, 81,                      /* record */
    1, 0, 0, 77,                          /* handshake */
    3, 3,                                 /* legacy_version */
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, /* random */
    0,                                    /* session id */
    0, 6, 0x1a, 0x1a, 0x13, 0x01, 0xc0, 0x2b, /* ciphers */
    1, 0,                                 /* compression */
    0, 30,                                /* extensions */
    0x2a, 0x2a, 0, 0,
    0, 0, 0, 0,
    0, 10, 0, 8, 0, 6, 0x3a, 0x3a, 0, 29, 0, 23,
    0, 11, 0, 2, 1, 0,
    0, 16, 0, 0};
/* clang-format on */

static void test_string(void **state)
{
    (void)state;
    char s[JA3_STRING_MAX];
    size_t n = ja3_string(HELLO, sizeof(HELLO), s);
    assert_string_equal(s, "771,4865-49195,0-10-11-16,29-23,0");
    assert_int_equal(n, strlen(s));
    char h[33];
    ja3_hash(s, n, h);
    assert_int_equal(strlen(h), 32);
    assert_string_equal(h, "53962ec19dcdb5203d1ae1d50be37d3d"); /* MD5 of that string */
    /* MD5("") as a known answer for the hash itself */
    ja3_hash("", 0, h);
    assert_string_equal(h, "d41d8cd98f00b204e9800998ecf8427e");
}

static void test_prefixes_and_others(void **state)
{
    (void)state;
    char s[JA3_STRING_MAX];
    for (size_t n = 0; n < sizeof(HELLO); n++) assert_int_equal(ja3_string(HELLO, n, s), 0);
    uint8_t other[sizeof(HELLO)];
    memcpy(other, HELLO, sizeof(HELLO));
    other[5] = 2; /* a ServerHello */
    assert_int_equal(ja3_string(other, sizeof(other), s), 0);
    other[5] = 1;
    other[0] = 23; /* application data */
    assert_int_equal(ja3_string(other, sizeof(other), s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string),
        cmocka_unit_test(test_prefixes_and_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
