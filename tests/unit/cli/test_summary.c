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
                        "  packets        1315 (1.3 MB) processed\n"
                        "  flows          3 total, 0 evicted\n"
                        "  decode events  0\n"
                        "  records        4 written to stdout\n"
                        "  elapsed        0.50 s, 2630 packets/s\n"
                        "  databases      no GeoIP (countries and ASNs not tagged)\n"
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

/* --eve-redis: each of the sink's counters in its place. */
static void test_redis(void **state)
{
    (void)state;
    summary s = {.redis = true,
                 .redis_counters = {.sent = 1,
                                    .queued = 2,
                                    .spooled = 3,
                                    .spool_pending = 4,
                                    .dropped = 5,
                                    .duplicates = 6,
                                    .reconnects = 7},
                 .out_name = "stdout"};
    char *text = print(&s);
    assert_non_null(strstr(text, "  redis          1 sent, 2 queued, 3 spooled (4 still in the "
                                 "spool), 5 dropped, 6 duplicates skipped, 7 reconnects\n"));
    free(text);
    s.redis = false;
    text = print(&s);
    assert_null(strstr(text, "redis"));
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
    assert_non_null(strstr(text, "  packets        30 (3.0 kB) processed\n"));
    assert_non_null(strstr(text, "  capture        31 packets seen by the kernel, 1 dropped "
                                 "(3.23 %), 0 dropped by the interface\n"));
    /* 3 % is above the threshold: the hint says what to do */
    assert_non_null(strstr(text, "  warning        capture loss above 0.1 %: counts are lower "
                                 "bounds; raise -B (MiB per capture) or add --workers\n"));
    assert_non_null(strstr(text, "  workers        2; packets per worker: 10 20\n"));
    assert_non_null(
        strstr(text, "  fanout         kernel; 0 of 2 packets checked off their worker's shard\n"));
    assert_non_null(strstr(text, "  elapsed        0.00 s, 0 packets/s\n"));
    assert_null(strstr(text, "top internal hosts"));
    free(text);
}

/* No loss, no hint; the TEST databases get their loud line. */
static void test_no_loss_test_geo(void **state)
{
    (void)state;
    summary s = {.iface = "eth1",
                 .have_cap_stats = true,
                 .cap_recv = 100000,
                 .cap_drop = 100, /* 0.1 %: not above */
                 .out_name = "eve.json",
                 .geo = true,
                 .geoip_db = "/x/GeoLite2-City-Test.mmdb",
                 .geo_test = true};
    char *text = print(&s);
    assert_non_null(strstr(text, "(0.10 %)"));
    assert_null(strstr(text, "capture loss above"));
    assert_non_null(strstr(text, "  databases      GeoIP /x/GeoLite2-City-Test.mmdb, ASN -\n"));
    assert_non_null(strstr(text, "  !! TEST GEO    THE BUNDLED TEST GeoIP/ASN DATABASES"));
    free(text);
}

static const char ALERT[] =
    "{\"timestamp\":\"2025-03-01T10:00:00.047800+0000\",\"flow_id\":62,\"event_type\":"
    "\"alert\",\"src_ip\":\"10.1.1.20\",\"src_port\":50000,\"dest_ip\":\"203.0.113.20\","
    "\"dest_port\":443,\"proto\":\"TCP\",\"ip_v\":4,\"direction\":\"outbound\","
    "\"ai\":{\"provider\":\"Anthropic\",\"kind\":\"api\",\"host\":\"api.anthropic.com\"},"
    "\"dest_geo\":{\"country_iso\":\"US\",\"asn\":64502},\"alert\":{\"action\":\"allowed\","
    "\"gid\":1,\"signature_id\":9000001,\"rev\":2,\"signature\":\"EGRET bulk \\\"upload\\\"\","
    "\"category\":\"ai-policy\",\"severity\":1,\"why\":{\"note\":\"a\\nb\",\"bytes\":12000000,"
    "\"list\":[1,2],\"decrypted\":true,\"window_s\":60}}}";

/* The alert log's line: fields in place, why's numbers first, no control
 * characters, nested values left out. */
static void test_alert_line(void **state)
{
    (void)state;
    char line[512];
    size_t n = tally_alert_line(ALERT, strlen(ALERT), line, sizeof(line));
    assert_int_equal(n, strlen(line));
    assert_string_equal(line, "2025-03-01T10:00:00.047800+0000  [**] [1:9000001:2] EGRET bulk "
                              "\"upload\" [**] [ai-policy] [Severity: 1] {TCP} 10.1.1.20:50000 -> "
                              "203.0.113.20:443 [Anthropic api.anthropic.com] [US AS64502] why: "
                              "bytes=12000000 window_s=60 note=a b decrypted=true\n");
    /* a small buffer cuts the line but keeps its end of line */
    n = tally_alert_line(ALERT, strlen(ALERT), line, 40);
    assert_int_equal(n, 39);
    assert_int_equal(line[38], '\n');
    /* not an alert, or not JSON: no line */
    assert_int_equal(tally_alert_line("{\"event_type\":\"flow\"}", 22, line, sizeof(line)), 0);
    assert_int_equal(tally_alert_line("{\"alert\":{", 10, line, sizeof(line)), 0);
}

/* The tables from records: alerts by severity and rule, host x provider. */
static void test_tally(void **state)
{
    (void)state;
    static tally t;
    memset(&t, 0, sizeof(t));
    const char *flow1 = "{\"event_type\":\"flow\",\"src_ip\":\"10.1.1.20\",\"direction\":"
                        "\"outbound\",\"ai\":{\"provider\":\"Mistral\"},\"dest_geo\":{"
                        "\"country_iso\":\"FR\"},\"flow\":{\"bytes_toserver\":2500000,"
                        "\"exchanges\":2}}";
    const char *flow2 = "{\"event_type\":\"flow\",\"src_ip\":\"10.1.1.20\",\"direction\":"
                        "\"outbound\",\"ai\":{\"provider\":\"Mistral\"},\"dest_geo\":{"
                        "\"country_iso\":\"DE\"},\"flow\":{\"bytes_toserver\":500000,"
                        "\"exchanges\":1}}";
    const char *plain = "{\"event_type\":\"flow\",\"src_ip\":\"10.1.1.30\",\"direction\":"
                        "\"outbound\",\"flow\":{\"bytes_toserver\":9}}";
    const char *http = "{\"event_type\":\"http\",\"src_ip\":\"10.1.1.20\",\"direction\":"
                       "\"outbound\",\"ai\":{\"provider\":\"Mistral\"},\"content\":{"
                       "\"messages\":40,\"gaps\":1,\"lossy\":true}}";
    tally_add(&t, flow1, strlen(flow1));
    tally_add(&t, flow2, strlen(flow2));
    tally_add(&t, plain, strlen(plain));
    tally_add(&t, http, strlen(http));
    tally_add(&t, ALERT, strlen(ALERT));
    tally_add(&t, ALERT, strlen(ALERT));
    /* records cut short (a crash): their type is readable, they are not counted */
    tally_add(&t, ALERT, strlen(ALERT) / 2);
    tally_add(&t, flow1, strlen(flow1) - 3);
    assert_int_equal(t.alerts, 2);
    assert_int_equal(t.by_severity[1], 2);
    assert_int_equal(t.n_rules, 1);
    assert_int_equal(t.n_pairs, 1);
    assert_int_equal(t.pairs[0].bytes_up, 3000000);
    assert_int_equal(t.pairs[0].requests, 3);
    assert_int_equal(t.pairs[0].messages, 40);

    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    tally_print(fp, &t);
    fclose(fp);
    assert_non_null(strstr(buf, "  alerts         2 (high 2, medium 0, low 0)\n"));
    assert_non_null(strstr(buf, "          2  1    9000001    EGRET bulk \"upload\"\n"));
    /* a lossy content summary makes the message count a lower bound */
    assert_non_null(strstr(buf, "10.1.1.20                               Mistral              "
                                "3.0 MB      2        3      >=40  FR,DE\n"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_live_workers),
        cmocka_unit_test(test_no_loss_test_geo),
        cmocka_unit_test(test_alert_line),
        cmocka_unit_test(test_tally),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_redis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
