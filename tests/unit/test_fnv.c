/*
 * test_fnv.c -- fnv.h: FNV-1a against the published test vectors, and
 * extending a hash across calls equals hashing the whole at once (the
 * catalog and dnscache rely on both: their tables' slots must not move).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fnv.h"

static void test_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint64_t h64;
        uint32_t h32;
    } cases[] = {
        {"", 0xcbf29ce484222325ULL, 0x811c9dc5u},
        {"a", 0xaf63dc4c8601ec8cULL, 0xe40c292cu},
        {"foobar", 0x85944171f73967e8ULL, 0xbf9cf968u},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].in);
        assert_true(fnv1a64(FNV1A64_INIT, cases[i].in, n) == cases[i].h64);
        assert_true(fnv1a32(FNV1A32_INIT, cases[i].in, n) == cases[i].h32);
    }
}

static void test_extend(void **state)
{
    (void)state;
    const char *s = "api.openai.com";
    size_t n = strlen(s);
    uint64_t whole = fnv1a64(FNV1A64_INIT, s, n);
    assert_true(fnv1a64(fnv1a64(FNV1A64_INIT, s, 4), s + 4, n - 4) == whole);
    uint64_t h = FNV1A64_INIT;
    for (size_t i = 0; i < n; i++) h = fnv1a64_byte(h, (uint8_t)s[i]);
    assert_true(h == whole);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_extend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
