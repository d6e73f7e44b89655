/*
 * test_workers_stats.c -- merged stats records of several workers: sums,
 * the counters that are not summed, stats.threads, kernel_drop_pct worked
 * out again, a partial round at the end, records of differing shape kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "workers_int.h"

static char out[8][4096];
static int n_out;

static void collect(const egret_event *ev, void *ud)
{
    (void)ud;
    assert_true(n_out < 8);
    snprintf(out[n_out++], sizeof(out[0]), "%.*s", (int)ev->json_len, ev->json);
}

static void give(struct workers *ws, worker *w, const char *json)
{
    egret_event ev = {.type = EGRET_EV_STATS, .json = json, .json_len = strlen(json)};
    if (!wk_stats_take(ws, w, &ev)) collect(&ev, NULL);
}

static void setup2(struct workers *ws, worker w[2])
{
    memset(ws, 0, sizeof(*ws));
    memset(w, 0, 2 * sizeof(*w));
    w[0].id = 0, w[1].id = 1;
    ws->n = 2;
    ws->w = w;
    ws->user_cb = collect;
    n_out = 0;
}

static void test_merge(void **state)
{
    (void)state;
    struct workers ws;
    worker w[2];
    setup2(&ws, w);
    give(&ws, &w[0],
         "{\"timestamp\":\"2025-01-01T00:00:01.000000+0000\",\"event_type\":\"stats\",\"stats\":"
         "{\"uptime\":5,\"capture\":{\"packets\":10,\"kernel_packets\":200,\"kernel_drops\":1,"
         "\"kernel_ifdrops\":0,\"kernel_drop_pct\":0.5},\"ai\":{\"catalog_patterns\":125},"
         "\"geo\":{\"enabled\":true,\"test_databases\":false}}}");
    assert_int_equal(n_out, 0); /* waits for worker 1 */
    give(&ws, &w[1],
         "{\"timestamp\":\"2025-01-01T00:00:02.000000+0000\",\"event_type\":\"stats\",\"stats\":"
         "{\"uptime\":6,\"capture\":{\"packets\":32,\"kernel_packets\":0,\"kernel_drops\":0,"
         "\"kernel_ifdrops\":0},\"ai\":{\"catalog_patterns\":125},"
         "\"geo\":{\"enabled\":true,\"test_databases\":true}}}");
    assert_int_equal(n_out, 1);
    const char *m = out[0];
    assert_non_null(strstr(m, "\"timestamp\":\"2025-01-01T00:00:02.000000+0000\""));
    assert_non_null(strstr(m, "\"uptime\":6,")); /* greatest, not summed */
    assert_non_null(strstr(m, "\"packets\":42,"));
    assert_non_null(strstr(m, "\"kernel_ifdrops\":0,\"kernel_drop_pct\":0.5}"));
    assert_non_null(strstr(m, "\"catalog_patterns\":125}"));
    assert_non_null(strstr(m, "\"test_databases\":true}"));
    assert_non_null(strstr(m, ",\"threads\":{\"W#01\":{\"uptime\":5,"));
    assert_non_null(strstr(m, "\"W#02\":{\"uptime\":6,"));
    assert_int_equal(m[strlen(m) - 1], '}');
    assert_int_equal(m[strlen(m) - 2], '}');
    wk_stats_flush(&ws);
    assert_int_equal(n_out, 1);
}

static void test_partial_and_shapes(void **state)
{
    (void)state;
    struct workers ws;
    worker w[2];
    setup2(&ws, w);
    /* worker 0 is a record ahead at the end: its last one goes out alone */
    give(&ws, &w[0], "{\"event_type\":\"stats\",\"stats\":{\"a\":1}}");
    give(&ws, &w[0], "{\"event_type\":\"stats\",\"stats\":{\"a\":2}}");
    give(&ws, &w[1], "{\"event_type\":\"stats\",\"stats\":{\"a\":3}}");
    assert_int_equal(n_out, 1);
    assert_non_null(strstr(out[0], "{\"a\":4,\"threads\""));
    wk_stats_flush(&ws);
    assert_int_equal(n_out, 2);
    assert_non_null(strstr(out[1], "{\"a\":2,\"threads\":{\"W#01\":{\"a\":2}}}"));
    /* records whose keys differ are written as they are */
    setup2(&ws, w);
    give(&ws, &w[0], "{\"event_type\":\"stats\",\"stats\":{\"a\":1}}");
    give(&ws, &w[1], "{\"event_type\":\"stats\",\"stats\":{\"b\":1,\"c\":2}}");
    assert_int_equal(n_out, 2);
    assert_string_equal(out[0], "{\"event_type\":\"stats\",\"stats\":{\"a\":1}}");
    wk_stats_flush(&ws);
    /* other records and a single worker pass through */
    egret_event flow = {.type = EGRET_EV_FLOW, .json = "{}", .json_len = 2};
    assert_false(wk_stats_take(&ws, &w[0], &flow));
    ws.n = 1;
    egret_event st = {.type = EGRET_EV_STATS, .json = "{}", .json_len = 2};
    assert_false(wk_stats_take(&ws, &w[0], &st));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_partial_and_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
