/*
 * test_window.c -- keyed sliding-window counters: sums inside the window,
 * expiry as packet time moves, bucket series, the key cap with LRU
 * eviction and expiry counters, and argument checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "window.h"

#define S 1000000ull /* one second in us */

static void add1(window *w, const char *key, double a, double b, uint64_t now)
{
    double v[2] = {a, b};
    assert_int_equal(window_add(w, key, strlen(key), v, now), 0);
}

static double get0(window *w, const char *key, uint64_t now, double *second)
{
    double out[2];
    window_get(w, key, strlen(key), now, out, NULL);
    if (second) *second = out[1];
    return out[0];
}

static void test_sums_and_expiry(void **state)
{
    (void)state;
    /* 60 s window, 60 buckets of 1 s */
    window *w = window_new(60 * S, 60, 2, 100);
    assert_non_null(w);
    add1(w, "a", 100, 1, 10 * S);
    add1(w, "a", 50, 1, 10 * S + 500000);
    add1(w, "a", 25, 1, 30 * S);
    add1(w, "b", 7, 1, 30 * S);
    double second;
    assert_true(get0(w, "a", 30 * S, &second) == 175);
    assert_true(second == 3);
    assert_true(get0(w, "b", 30 * S, NULL) == 7);
    assert_true(get0(w, "zz", 30 * S, NULL) == 0);
    /* at t=69.9 the bucket [10,11) is still inside (10, 70] ... */
    assert_true(get0(w, "a", 69 * S + 900000, NULL) == 175);
    /* ... at t=70 it has left */
    assert_true(get0(w, "a", 70 * S, NULL) == 25);
    window_info info;
    double out[2];
    assert_true(window_get(w, "a", 1, 70 * S, out, &info));
    assert_int_equal(info.active_buckets, 1);
    assert_int_equal(info.first_us, 30 * S);
    assert_int_equal(info.last_us, 30 * S);
    /* everything gone by t=90 */
    assert_false(window_get(w, "a", 1, 90 * S, out, NULL));
    assert_true(out[0] == 0);
    /* older timestamps are read as the newest seen: no resurrection */
    assert_true(get0(w, "a", 30 * S, NULL) == 0);
    /* a bucket slot reused after a full turn starts from zero */
    add1(w, "a", 1, 0, 130 * S); /* same slot as t=10 and t=70 */
    assert_true(get0(w, "a", 130 * S, NULL) == 1);
    window_free(w);
}

static void test_series(void **state)
{
    (void)state;
    window *w = window_new(10 * S, 10, 2, 10);
    add1(w, "k", 1, 0, 20 * S);
    add1(w, "k", 2, 0, 25 * S);
    add1(w, "k", 3, 0, 29 * S + 1);
    double s[10];
    assert_int_equal(window_series(w, "k", 1, 29 * S + 1, 0, s, 10), 10);
    double want[10] = {1, 0, 0, 0, 0, 2, 0, 0, 0, 3};
    for (int i = 0; i < 10; i++) assert_true(s[i] == want[i]);
    assert_int_equal(window_series(w, "nokey", 5, 29 * S, 0, s, 10), 0);
    assert_int_equal(window_series(w, "k", 1, 29 * S, 7, s, 10), 0); /* bad field */
    window_free(w);
}

static void test_cap_eviction(void **state)
{
    (void)state;
    window *w = window_new(60 * S, 60, 2, 3);
    add1(w, "k1", 1, 0, 1 * S);
    add1(w, "k2", 2, 0, 2 * S);
    add1(w, "k3", 3, 0, 3 * S);
    add1(w, "k1", 1, 0, 4 * S); /* k1 is now the most recent; k2 the LRU */
    add1(w, "k4", 4, 0, 5 * S); /* at the cap: evicts k2 */
    window_stats st;
    window_get_stats(w, &st);
    assert_int_equal(st.keys, 3);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.expired, 0);
    assert_int_equal(st.adds, 5);
    assert_true(get0(w, "k2", 5 * S, NULL) == 0);
    assert_true(get0(w, "k1", 5 * S, NULL) == 2);
    assert_true(get0(w, "k4", 5 * S, NULL) == 4);
    /* much later: a new key at the cap drops expired keys instead */
    add1(w, "k5", 5, 0, 200 * S);
    window_get_stats(w, &st);
    assert_int_equal(st.keys, 1);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.expired, 3);
    /* explicit expiry */
    window_expire(w, 300 * S);
    window_get_stats(w, &st);
    assert_int_equal(st.keys, 0);
    assert_int_equal(st.expired, 4);
    window_free(w);
}

static void test_many_keys_and_limits(void **state)
{
    (void)state;
    window *w = window_new(600 * S, 60, 1, 1000);
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "host%d|openai", i);
        double v = i;
        assert_int_equal(window_add(w, key, strlen(key), &v, (uint64_t)i * 1000), 0);
    }
    window_stats st;
    window_get_stats(w, &st);
    assert_int_equal(st.keys, 1000);
    assert_int_equal(st.evictions, 4000);
    double out;
    snprintf(key, sizeof(key), "host%d|openai", 4999);
    assert_true(window_get(w, key, strlen(key), 5 * S, &out, NULL));
    assert_true(out == 4999);
    char big[WINDOW_MAX_KEY + 1];
    memset(big, 'x', sizeof(big));
    assert_int_equal(window_add(w, big, sizeof(big), &out, 5 * S), -1);
    window_get_stats(w, &st);
    assert_int_equal(st.refused, 1);
    window_free(w);
    assert_null(window_new(10, 60, 1, 1));     /* span shorter than the buckets */
    assert_null(window_new(60 * S, 60, 0, 1)); /* no fields */
    assert_null(window_new(60 * S, 60, 9, 1)); /* too many fields */
    assert_null(window_new(60 * S, 60, 1, 0)); /* no cap */
    window_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sums_and_expiry),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_cap_eviction),
        cmocka_unit_test(test_many_keys_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
