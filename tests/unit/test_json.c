/*
 * test_json.c -- JSON writer: structure, numbers, and escaping of hostile
 * strings (control characters, quotes, invalid UTF-8) so that a line of
 * EVE output always stays one valid JSON object.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static void test_structure(void **state)
{
    (void)state;
    jw w;
    jw_init(&w);
    jw_obj_open(&w, NULL);
    jw_str(&w, "a", "x");
    jw_u64(&w, "n", 18446744073709551615ull);
    jw_i64(&w, "neg", -5);
    jw_arr_open(&w, "arr");
    jw_u64(&w, NULL, 1);
    jw_str(&w, NULL, "two");
    jw_obj_open(&w, NULL);
    jw_bool(&w, "t", true);
    jw_null(&w, "z");
    jw_obj_close(&w);
    jw_arr_close(&w);
    jw_dbl(&w, "d", 0.5);
    jw_dbl(&w, "nan", NAN);
    jw_dbl(&w, "ts", 1740823201.0);
    jw_dbl(&w, "frac", 0.1);
    jw_raw(&w, "raw", "{\"k\":1}", 7);
    jw_obj_close(&w);
    assert_string_equal(jw_text(&w),
                        "{\"a\":\"x\",\"n\":18446744073709551615,\"neg\":-5,"
                        "\"arr\":[1,\"two\",{\"t\":true,\"z\":null}],\"d\":0.5,"
                        "\"nan\":null,\"ts\":1740823201,\"frac\":0.1,\"raw\":{\"k\":1}}");
    jw_reset(&w);
    jw_obj_open(&w, NULL);
    jw_obj_close(&w);
    assert_string_equal(jw_text(&w), "{}");
    jw_free(&w);
}

typedef struct {
    const char *in;
    size_t len;
    const char *want;
} esc_case;

static void test_escaping(void **state)
{
    (void)state;
    /* clang-format off */
    static const esc_case cases[] = {
        {"plain.example.com", 17, "\"plain.example.com\""},
        {"q\"b\\s", 5, "\"q\\\"b\\\\s\""},
        {"a\nb\rc\td", 7, "\"a\\nb\\rc\\td\""},
        {"\x01\x1f", 2, "\"\\u0001\\u001f\""},
        {"nul\0x", 5, "\"nul\\u0000x\""},
        {"caf\xc3\xa9", 5, "\"caf\xc3\xa9\""},                 /* valid UTF-8 kept */
        {"\xff\xfe", 2, "\"\\u00ff\\u00fe\""},                /* invalid bytes escaped */
        {"\xc3", 1, "\"\\u00c3\""},                           /* truncated sequence */
        {"\xed\xa0\x80", 3, "\"\\u00ed\\u00a0\\u0080\""},     /* surrogate rejected */
        {"\xe2\x82\xac", 3, "\"\xe2\x82\xac\""},              /* euro sign */
        {"\xc0\xaf", 2, "\"\\u00c0\\u00af\""},                /* overlong */
    };
    /* clang-format on */
    jw w;
    jw_init(&w);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        jw_reset(&w);
        jw_strn(&w, NULL, cases[i].in, cases[i].len);
        assert_string_equal(jw_text(&w), cases[i].want);
    }
    jw_free(&w);
}

/* The writer scans 8 bytes at a time: every special byte at every offset
 * of a long string, as a value and as a key, against the escape of the
 * byte alone between two plain runs. */
static void test_escaping_every_offset(void **state)
{
    (void)state;
    static const struct {
        const char *b;
        const char *esc;
    } sp[] = {
        {"\"", "\\\""}, {"\\", "\\\\"},      {"\x01", "\\u0001"}, {"\x1f", "\\u001f"},
        {"\n", "\\n"},  {"\x80", "\\u0080"}, {"\xff", "\\u00ff"}, {"\xc3\xa9", "\xc3\xa9"},
        {" ", " "},     {"~", "~"},          {"\x7f", "\x7f"},
    };
    jw w;
    jw_init(&w);
    for (size_t k = 0; k < sizeof(sp) / sizeof(sp[0]); k++) {
        for (size_t at = 0; at <= 24; at++) {
            char in[64], want[128], key_want[160];
            size_t bl = strlen(sp[k].b);
            memset(in, 'a', at);
            memcpy(in + at, sp[k].b, bl);
            memset(in + at + bl, 'z', 24 - at);
            size_t n = at + bl + 24 - at;
            in[n] = '\0';
            snprintf(want, sizeof(want), "\"%.*s%s%.*s\"", (int)at, in, sp[k].esc, (int)(24 - at),
                     in + at + bl);
            jw_reset(&w);
            jw_strn(&w, NULL, in, n);
            assert_string_equal(jw_text(&w), want);
            snprintf(key_want, sizeof(key_want), "{%s:1}", want);
            jw_reset(&w);
            jw_obj_open(&w, NULL);
            jw_u64(&w, in, 1);
            jw_obj_close(&w);
            assert_string_equal(jw_text(&w), key_want);
        }
    }
    jw_free(&w);
}

static void test_large_buffer_growth(void **state)
{
    (void)state;
    jw w;
    jw_init(&w);
    jw_arr_open(&w, NULL);
    for (int i = 0; i < 10000; i++) jw_str(&w, NULL, "xxxxxxxxxx");
    jw_arr_close(&w);
    const char *t = jw_text(&w);
    assert_non_null(t);
    assert_int_equal(strlen(t), 2 + 10000 * 12 + 9999);
    jw_free(&w);
}

/* Keys around and past the writer's one-pass length (48), plain and with
 * a byte to escape beyond it, in objects (separators) and arrays. */
static void test_long_keys(void **state)
{
    (void)state;
    jw w;
    jw_init(&w);
    for (size_t kl = 40; kl <= 70; kl++) {
        for (int bad = 0; bad < 2; bad++) {
            char key[80], keyesc[100];
            memset(key, 'k', kl);
            key[kl] = '\0';
            if (bad) key[kl - 1] = '"'; /* the last byte: past 48 for long keys */
            snprintf(keyesc, sizeof(keyesc), "%.*s%s", (int)kl - 1, key, bad ? "\\\"" : "k");
            jw_reset(&w);
            jw_obj_open(&w, NULL);
            jw_u64(&w, "a", 1);
            jw_u64(&w, key, 2);
            jw_obj_open(&w, key);
            jw_str(&w, key, "v");
            jw_obj_close(&w);
            jw_obj_close(&w);
            char want[512];
            snprintf(want, sizeof(want), "{\"a\":1,\"%s\":2,\"%s\":{\"%s\":\"v\"}}", keyesc, keyesc,
                     keyesc);
            assert_string_equal(jw_text(&w), want);
        }
    }
    jw_free(&w);
}

/* Integers against printf: every value to 100,000, each power of ten and
 * its neighbours, the extremes, and pseudo-random 64-bit values. */
static void test_numbers_against_printf(void **state)
{
    (void)state;
    jw w;
    jw_init(&w);
    char want[64];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 200000; i++) {
        uint64_t v;
        if (i < 100001) {
            v = (uint64_t)i;
        } else if (i < 100001 + 60) {
            int k = (i - 100001) / 3, d = (i - 100001) % 3 - 1;
            uint64_t p = 1;
            for (int j = 0; j < k % 20; j++) p *= 10;
            v = p + (uint64_t)(int64_t)d;
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            v = x >> (x % 64);
        }
        if (i == 199999) v = UINT64_MAX;
        jw_reset(&w);
        jw_u64(&w, NULL, v);
        snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
        assert_string_equal(jw_text(&w), want);
        int64_t sv = (int64_t)v;
        if (i == 199998) sv = INT64_MIN;
        jw_reset(&w);
        jw_i64(&w, NULL, sv);
        snprintf(want, sizeof(want), "%lld", (long long)sv);
        assert_string_equal(jw_text(&w), want);
    }
    jw_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_escaping_every_offset),
        cmocka_unit_test(test_long_keys),
        cmocka_unit_test(test_numbers_against_printf),
        cmocka_unit_test(test_large_buffer_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
