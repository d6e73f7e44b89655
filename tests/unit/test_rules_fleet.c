/*
 * test_rules_fleet.c -- fleet-wide rule windows (rules_fleet.c) against an
 * in-memory store with the egret_fleet_store contract: two rule sets
 * (two sensors) whose halves cross a threshold together raise one alert,
 * from the sensor that crossed, with both parts in 'why'; the increments
 * go out at syncs, not per add; an unreachable store falls back to the
 * local window (logged once, counted) and comes back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "egret.h"
#include "rules.h"
#include "tmpdir.h"

/* ---- the store: (window, key, bucket, sensor) -> field sums ---- */

typedef struct fent {
    char win[32], key[64], sensor[16];
    uint64_t bucket;
    double v[EGRET_FLEET_FIELDS];
} fent;

static fent fstore[4096];
static size_t n_fent, n_syncs, n_deltas, last_nq; /* last_nq: the last sync's queries */
static bool fdown;
static struct {
    char key[128];
    uint64_t t;
} claims[16];
static size_t n_claims;

static int f_sync(void *ud, const egret_fleet_delta *d, size_t nd, egret_fleet_query *q, size_t nq)
{
    const char *sensor = ud;
    if (fdown) return -1;
    n_syncs++;
    n_deltas += nd;
    last_nq = nq;
    for (size_t i = 0; i < nd; i++) {
        fent *e = NULL;
        for (size_t k = 0; k < n_fent; k++)
            if (strcmp(fstore[k].win, d[i].window) == 0 && fstore[k].bucket == d[i].bucket &&
                strlen(fstore[k].key) == d[i].key_len &&
                memcmp(fstore[k].key, d[i].key, d[i].key_len) == 0 &&
                strcmp(fstore[k].sensor, sensor) == 0)
                e = &fstore[k];
        if (!e) {
            assert_true(n_fent < sizeof(fstore) / sizeof(fstore[0]));
            e = &fstore[n_fent++];
            memset(e, 0, sizeof(*e));
            snprintf(e->win, sizeof(e->win), "%s", d[i].window);
            snprintf(e->key, sizeof(e->key), "%.*s", (int)d[i].key_len, d[i].key);
            snprintf(e->sensor, sizeof(e->sensor), "%s", sensor);
            e->bucket = d[i].bucket;
        }
        for (uint32_t f = 0; f < d[i].n_fields; f++) e->v[f] += d[i].vals[f];
    }
    for (size_t i = 0; i < nq; i++) {
        for (size_t k = 0; k < n_fent; k++) {
            fent *e = &fstore[k];
            if (strcmp(e->win, q[i].window) != 0 || strlen(e->key) != q[i].key_len ||
                memcmp(e->key, q[i].key, q[i].key_len) != 0 || e->bucket > q[i].bucket_now ||
                e->bucket + q[i].n_buckets <= q[i].bucket_now)
                continue;
            for (uint32_t f = 0; f < q[i].n_fields; f++) q[i].total[f] += e->v[f];
            uint32_t s;
            for (s = 0; s < q[i].n_sensors; s++)
                if (strcmp(q[i].sensor[s], e->sensor) == 0) break;
            if (s == q[i].n_sensors) {
                snprintf(q[i].sensor[s], sizeof(q[i].sensor[s]), "%s", e->sensor);
                q[i].n_sensors++;
            }
            q[i].part[s] += e->v[0];
        }
    }
    return 0;
}

static int f_claim(void *ud, uint32_t sid, const char *key, size_t n, uint64_t now, uint64_t period)
{
    (void)ud;
    if (fdown) return -1;
    char k[128];
    snprintf(k, sizeof(k), "%u|%.*s", sid, (int)n, key);
    for (size_t i = 0; i < n_claims; i++)
        if (strcmp(claims[i].key, k) == 0) {
            uint64_t dt = now > claims[i].t ? now - claims[i].t : claims[i].t - now;
            if (dt < period) return 0;
            claims[i].t = now;
            return 1;
        }
    assert_true(n_claims < sizeof(claims) / sizeof(claims[0])); /* as fstore: never past the end */
    snprintf(claims[n_claims].key, sizeof(claims[n_claims].key), "%s", k);
    claims[n_claims++].t = now;
    return 1;
}

/* ---- two sensors' rule sets ---- */

typedef struct sensor {
    egret_fleet_store st;
    rules *r;
    int alerts;
    char why[1024];
    char logs[4096];
} sensor;

static char tmpdir[256];
static size_t keys_cap = 1000; /* rules_config.window_keys_cap of start() */

static const char *RULE =
    "local W = egret.window('up', 600, { fields = { 'bytes', 'flows' }, fleet = true })\n"
    "rule { id = 2, name = 'agg', suppress = 600, fleet = true,\n"
    "  on_flow_end = function(flow)\n"
    "    local k = flow.src_ip\n"
    "    W:add(k, { bytes = 400, flows = 1 })\n"
    "    local t = W:get(k)\n"
    "    if t.bytes >= 1000 then\n"
    "      alert { key = k, why = { total = t.bytes, fleet = t.fleet, sensor = t.sensor,\n"
    "                               parts = t.sensors } }\n"
    "    end\n"
    "  end }\n";

static void on_alert(void *ud, const rule_view *v, const rule_alert *a)
{
    (void)v;
    sensor *s = ud;
    s->alerts++;
    snprintf(s->why, sizeof(s->why), "%.*s", (int)a->why_len, a->why_json);
}

static void on_log(void *ud, int level, const char *msg)
{
    sensor *s = ud;
    size_t n = strlen(s->logs);
    snprintf(s->logs + n, sizeof(s->logs) - n, "[%d] %s\n", level, msg);
}

static void start(sensor *s, const char *name)
{
    static const char *paths[1];
    paths[0] = tmpdir;
    memset(s, 0, sizeof(*s));
    s->st = (egret_fleet_store){f_sync, f_claim, (void *)name, name};
    rules_config cfg = {.paths = paths,
                        .n_paths = 1,
                        .mem_limit = 4u << 20,
                        .instr_limit = 200000,
                        .max_faults = 3,
                        .window_keys_cap = keys_cap,
                        .on_alert = on_alert,
                        .on_log = on_log,
                        .ud = s,
                        .fleet = &s->st};
    size_t n_err = 0;
    s->r = rules_new(&cfg, &n_err, NULL, 0);
    assert_non_null(s->r);
    assert_int_equal(n_err, 0);
}

static void flow_end_from(sensor *s, const char *src, uint64_t id, uint64_t now_us)
{
    rule_view v;
    memset(&v, 0, sizeof(v));
    v.flow_id = id;
    snprintf(v.src_ip, sizeof(v.src_ip), "%s", src);
    snprintf(v.dest_ip, sizeof(v.dest_ip), "203.0.113.9");
    v.direction = "outbound";
    v.src_internal = true;
    rules_dispatch(s->r, RH_FLOW_END, &v, now_us);
    rules_flow_forget(s->r, id);
}

static void flow_end(sensor *s, uint64_t id, uint64_t now_us)
{
    flow_end_from(s, "10.0.0.5", id, now_us);
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(test_tmpname(tmpdir, sizeof(tmpdir), "egret_fleet")));
    char p[512];
    snprintf(p, sizeof(p), "%s/fleet.lua", tmpdir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(RULE, f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd);
}

/* Asserts that rules_stats of s holds 'want' (e.g. "\"fallbacks\":1"). */
static void stats_has(sensor *s, const char *want)
{
    jw w;
    jw_init(&w);
    rules_stats(s->r, &w);
    const char *json = jw_text(&w);
    assert_non_null(json);
    if (!strstr(json, want)) fail_msg("%s not in %s", want, json);
    jw_free(&w);
}

static void reset_store(void)
{
    n_fent = n_syncs = n_deltas = n_claims = 0;
    fdown = false;
}

#define T0 1700000000000000ull /* packet time, us */
#define S  1000000ull

static void test_two_sensors_one_alert(void **state)
{
    (void)state;
    sensor a, b;
    reset_store();
    start(&a, "a");
    start(&b, "b");
    flow_end(&a, 1, T0);     /* 400: the key's first read syncs at once */
    flow_end(&a, 2, T0 + S); /* 800 */
    assert_int_equal(n_syncs, 1);
    rules_fleet_sync(a.r, T0 + 5 * S); /* the tick: the second add goes out */
    assert_int_equal(n_syncs, 2);
    assert_int_equal(a.alerts, 0);
    flow_end(&b, 3, T0 + 6 * S); /* b: 400 + a's 800 = 1200 */
    assert_int_equal(b.alerts, 1);
    assert_non_null(strstr(b.why, "\"sensor\":\"b\""));
    assert_non_null(strstr(b.why, "\"fleet\":true"));
    assert_non_null(strstr(b.why, "\"a\":800"));
    assert_non_null(strstr(b.why, "\"b\":400"));
    assert_non_null(strstr(b.why, "\"total\":1200"));
    /* a crosses too (its cache: 800 + 400 of its own), but b raised it */
    rules_fleet_sync(a.r, T0 + 10 * S);
    flow_end(&a, 4, T0 + 11 * S);
    assert_int_equal(a.alerts, 0);
    stats_has(&a, "\"claims_lost\":1"); /* the store said no, counted */
    /* a window later the claim is free again */
    flow_end(&a, 5, T0 + 700 * S);
    flow_end(&a, 6, T0 + 701 * S);
    flow_end(&a, 7, T0 + 702 * S);
    assert_int_equal(a.alerts, 1);
    stats_has(&a, "\"claims\":2,\"claims_lost\":1");
    stats_has(&b, "\"claims\":1,\"claims_lost\":0");
    rules_free(a.r);
    rules_free(b.r);
}

static void test_local_without_store_window(void **state)
{
    (void)state;
    sensor a;
    reset_store();
    start(&a, "a");
    fdown = true;
    flow_end(&a, 1, T0);
    flow_end(&a, 2, T0 + S);
    assert_int_equal(a.alerts, 0);
    flow_end(&a, 3, T0 + 2 * S); /* local: 1200 */
    assert_int_equal(a.alerts, 1);
    assert_non_null(strstr(a.why, "\"fleet\":false"));
    assert_non_null(strstr(a.logs, "window store unreachable"));
    char *first = strstr(a.logs, "window store unreachable");
    assert_null(strstr(first + 1, "window store unreachable")); /* once */
    /* counted: one fallback, in force now */
    stats_has(&a, "\"fallbacks\":1");
    stats_has(&a, "\"local\":true");
    /* back: the waiting increments go out at the next sync */
    fdown = false;
    rules_fleet_sync(a.r, T0 + 5 * S);
    assert_int_equal(n_deltas, 1); /* one bucket: the three adds merged */
    assert_int_equal(n_fent, 1);
    assert_true(fstore[0].v[0] == 1200 && fstore[0].v[1] == 3);
    assert_non_null(strstr(a.logs, "window store answers again"));
    stats_has(&a, "\"local\":false");
    stats_has(&a, "\"fallbacks\":1");
    rules_free(a.r);
}

/* More keys than the cache's first 1,024 slots: the table grows and every
 * key is still found (a lost one would be synced again at its next read). */
static void test_many_keys(void **state)
{
    (void)state;
    sensor a;
    enum { KEYS = 3000 };
    char ip[32];
    reset_store();
    keys_cap = 10000;
    start(&a, "a");
    keys_cap = 1000;
    fdown = true; /* no sync per new key: the adds wait */
    for (int i = 0; i < KEYS; i++) {
        snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
        flow_end_from(&a, ip, (uint64_t)i + 1, T0 + (uint64_t)i);
    }
    fdown = false;
    rules_fleet_sync(a.r, T0 + 5 * S);
    assert_int_equal(n_syncs, 1);
    assert_int_equal(n_deltas, KEYS);
    assert_int_equal(n_fent, KEYS);
    for (int i = 0; i < KEYS; i += 7) { /* each found, synced: no new sync */
        snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
        flow_end_from(&a, ip, (uint64_t)(KEYS + i) + 1, T0 + 6 * S);
    }
    assert_int_equal(n_syncs, 1);
    assert_int_equal(a.alerts, 0); /* 800 each: below 1,000 */
    /* a new key's first read syncs at once, reading back only that key */
    flow_end_from(&a, "10.2.0.1", 2 * KEYS, T0 + 7 * S);
    assert_int_equal(n_syncs, 2);
    assert_int_equal(last_nq, 1);
    /* the tick reads back every key touched within the span */
    rules_fleet_sync(a.r, T0 + 10 * S);
    assert_int_equal(n_syncs, 3);
    assert_int_equal(last_nq, KEYS + 1);
    rules_free(a.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_sensors_one_alert),
        cmocka_unit_test(test_local_without_store_window),
        cmocka_unit_test(test_many_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
