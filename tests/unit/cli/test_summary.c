/*
 * test_summary.c -- the end-of-run summary (summary.c): its text for a
 * replay with one engine, and the lines a live run with workers adds.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"

/* summary_print's text, to be freed. */
static char *print(const summary *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    summary_print(fp, s);
    fclose(fp);
    return buf;
}

static void test_replay(void **state)
{
    (void)state;
    egret_host_stat top[2] = {{.addr = "10.1.1.20", .bytes_out = 1234567, .flows_out = 2},
                              {.addr = "fd00::1", .bytes_out = 999, .flows_out = 1}};
    summary s = {.n_sources = 3,
                 .n_failed = 1,
                 .counters = {.packets = 1315, .bytes = 1300000, .flows_total = 3},
                 .written = 4,
                 .out_name = "stdout",
                 .elapsed = 0.5,
                 .top = top,
                 .n_top = 2};
    char *text = print(&s);
    assert_string_equal(text,
                        "egret: summary\n"
                        "  inputs         2 read, 1 failed\n"
                        "  packets        1315 (1.3 MB)\n"
                        "  flows          3 total, 0 evicted\n"
                        "  decode events  0\n"
                        "  records        4 written to stdout\n"
                        "  elapsed        0.50 s, 2630 packets/s\n"
                        "  top internal hosts by outbound bytes:\n"
                        "    10.1.1.20                                    1.2 MB in 2 flows\n"
                        "    fd00::1                                       999 B in 1 flows\n");
    free(text);
}

/* A failed output: the records are not claimed, the error is named. */
static void test_write_error(void **state)
{
    (void)state;
    summary s = {.written = 4, .flushed = 1, .out_errno = ENOSPC, .out_name = "/dev/full"};
    char *text = print(&s);
    assert_non_null(strstr(text, "  records        1 of 4 known written to /dev/full (write error: "
                                 "No space left on device)\n"));
    assert_null(strstr(text, "4 written"));
    free(text);
}

static void test_live_workers(void **state)
{
    (void)state;
    uint64_t per[2] = {10, 20};
    summary s = {.interrupted = true,
                 .iface = "eth1",
                 .counters = {.packets = 30, .bytes = 3000},
                 .have_cap_stats = true,
                 .cap_recv = 31,
                 .cap_drop = 1,
                 .workers = 2,
                 .per_worker = per,
                 .n_per_worker = 2,
                 .fanout = true,
                 .misplaced = 0,
                 .checked = 2,
                 .out_name = "eve.json"};
    char *text = print(&s);
    assert_non_null(strstr(text, "egret: summary (interrupted)\n  interface      eth1\n"));
    assert_non_null(strstr(text, "  packets        30 (3.0 kB)\n"));
    assert_non_null(
        strstr(text, "  capture        31 received, 1 dropped, 0 dropped by interface\n"));
    assert_non_null(strstr(text, "  workers        2; packets per worker: 10 20\n"));
    assert_non_null(
        strstr(text, "  fanout         kernel; 0 of 2 packets checked off their worker's shard\n"));
    assert_non_null(strstr(text, "  elapsed        0.00 s, 0 packets/s\n"));
    assert_null(strstr(text, "top internal hosts"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_live_workers),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
