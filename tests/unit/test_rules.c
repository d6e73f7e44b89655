/*
 * test_rules.c -- the Lua rule host: the shipped rules through the
 * synthetic test kit (tests/rules/NAME_test.lua), and the sandbox: each
 * hostile rule sits in a temporary directory next to a good rule that
 * must keep firing (loops, memory bombs, blocked libraries, runtime
 * errors, bytecode, kept flow views, syntax errors), plus suppression,
 * --set typing, stats, rules_check and two coexisting instances.
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

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "rules.h"
#include "rules_test.h"
#include "tmpdir.h"

/* ---- fixture ---- */

typedef struct sink {
    int alerts[8]; /* by sid (small sids in these tests) */
    int total;
    char last_why[1024];
    char last_key[128];
    int last_severity;
    char logs[8192];
} sink;

static void on_alert(void *ud, const rule_view *v, const rule_alert *a)
{
    (void)v;
    sink *s = ud;
    if (a->sid < 8) s->alerts[a->sid]++;
    s->total++;
    s->last_severity = a->severity;
    snprintf(s->last_why, sizeof(s->last_why), "%.*s", (int)a->why_len, a->why_json);
    snprintf(s->last_key, sizeof(s->last_key), "%s", a->key ? a->key : "");
}

static void on_log(void *ud, int level, const char *msg)
{
    sink *s = ud;
    size_t n = strlen(s->logs);
    snprintf(s->logs + n, sizeof(s->logs) - n, "[%d] %s\n", level, msg);
}

static char tmpdir[256];

static const char *GOOD =
    "rule { id = 1, name = 'good', severity = 2,\n"
    "  on_flow_end = function(flow) alert { why = { n = flow:bytes() } } end }\n";

static void write_file(const char *name, const char *text, size_t n)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
}

static int setup_dir(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(test_tmpname(tmpdir, sizeof(tmpdir), "egret_rules")));
    write_file("00-good.lua", GOOD, strlen(GOOD));
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd);
}

/* The configuration of the rules in tmpdir reporting to s, as load() uses
 * it; a test that needs other limits adjusts it before rules_new. */
static rules_config test_cfg(sink *s)
{
    static const char *paths[1];
    paths[0] = tmpdir;
    return (rules_config){.paths = paths,
                          .n_paths = 1,
                          .mem_limit = 4u << 20,
                          .instr_limit = 200000,
                          .max_faults = 3,
                          .on_alert = on_alert,
                          .on_log = on_log,
                          .ud = s};
}

static rules *load(sink *s, const char *const *sets, size_t n_sets, size_t *n_err)
{
    rules_config cfg = test_cfg(s);
    cfg.sets = sets;
    cfg.n_sets = n_sets;
    rules *r = rules_new(&cfg, n_err, NULL, 0);
    assert_non_null(r);
    return r;
}

/* Writes 'src' as rule file 'name' and loads the directory: no errors. */
static rules *load_ok(sink *s, const char *name, const char *src)
{
    write_file(name, src, strlen(src));
    size_t n_err = 0;
    rules *r = load(s, NULL, 0, &n_err);
    assert_int_equal(n_err, 0);
    return r;
}

static void view(rule_view *v, uint64_t flow_id)
{
    memset(v, 0, sizeof(*v));
    v->flow_id = flow_id;
    snprintf(v->src_ip, sizeof(v->src_ip), "10.0.0.5");
    snprintf(v->dest_ip, sizeof(v->dest_ip), "203.0.113.9");
    v->bytes_toserver = 100;
    v->bytes_toclient = 50;
    v->direction = "outbound";
    v->src_internal = true;
}

static const rule_stats *stats_of(rules *r, uint32_t sid)
{
    static rule_stats st;
    for (size_t i = 0; i < rules_count(r); i++)
        if (rules_rule_stats(r, i, &st) && st.sid == sid) return &st;
    return NULL;
}

static int count_substr(const char *h, const char *n)
{
    int c = 0;
    for (const char *p = h; (p = strstr(p, n)); p += strlen(n)) c++;
    return c;
}

/* Loads GOOD + 50-bad.lua (text), runs N flow ends, returns the bad rule's stats. */
static rule_stats run_bad(const char *bad, int n, sink *s)
{
    write_file("50-bad.lua", bad, strlen(bad));
    size_t n_err = 99;
    rules *r = load(s, NULL, 0, &n_err);
    assert_int_equal(n_err, 0);
    assert_int_equal(rules_count(r), 2);
    rule_view v;
    for (int i = 0; i < n; i++) {
        view(&v, 100 + (uint64_t)i);
        rules_dispatch(r, RH_FLOW_END, &v, (uint64_t)(i + 1) * 1000000);
        rules_flow_forget(r, v.flow_id);
    }
    assert_int_equal(s->alerts[1], n); /* the good rule kept firing */
    const rule_stats *st = stats_of(r, 2);
    assert_non_null(st);
    rule_stats out = *st;
    rules_free(r);
    return out;
}

/* ---- the shipped rules through the test kit ---- */

static void test_shipped_rules_kit(void **state)
{
    (void)state;
    char buf[65536] = "";
    FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");
    /* No replay here (the CLI's rules_kit test runs the capture tests):
     * those, and only those, fail, each saying why. */
    int failed =
        rules_test_run(EGRET_SRCDIR "/tests/rules", out, EGRET_SRCDIR "/rules", NULL, NULL);
    fclose(out);
    int no_replay = count_substr(buf, "capture tests need a packet replay");
    if (failed != no_replay) fprintf(stderr, "%s", buf);
    assert_int_equal(failed, no_replay);
    assert_int_equal(count_substr(buf, "FAIL "), no_replay);
    assert_non_null(strstr(buf, "rules tests: "));
    assert_true(count_substr(buf, "PASS ") >= 25);
}

static void test_kit_reports_failures(void **state)
{
    (void)state;
    const char *t =
        "return { name = 'wrong sid', sids = {9000001},\n"
        "  events = { { hook = 'on_flow_end', at = 5, flow = { payload_toserver = 20e6,\n"
        "    ai = { provider = 'OpenAI' } } } },\n"
        "  expect = { { sid = 9000001, why = { upload_bytes = 1 } } } }\n";
    write_file("x_test.lua", t, strlen(t));
    char path[512], buf[8192] = "";
    snprintf(path, sizeof(path), "%s/x_test.lua", tmpdir);
    FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");
    int failed = rules_test_run(path, out, EGRET_SRCDIR "/rules", NULL, NULL);
    fclose(out);
    assert_int_equal(failed, 1);
    assert_non_null(strstr(buf, "FAIL "));
    assert_non_null(strstr(buf, "expected (1 of 1 missing)"));
    assert_non_null(strstr(buf, "unexpected: sid=9000001"));
    assert_non_null(strstr(buf, "rules tests: 1 run, 0 passed, 1 failed"));
    unlink(path);
}

/* A capture test without a replay callback fails with a clear message;
 * with one, the runner gets the resolved path, the test's sets (map form
 * too) and the kit's collector, and alerts it hands back are compared. */
typedef struct fake_replay {
    char pcap[512];
    char sets[4][64];
    size_t n_sets;
    int calls;
} fake_replay;

static int fake_capture(void *ctx, const rules_test_capture *c, size_t *n_errors, char *err,
                        size_t errlen)
{
    fake_replay *f = ctx;
    (void)err;
    (void)errlen;
    f->calls++;
    snprintf(f->pcap, sizeof(f->pcap), "%s", c->pcap);
    for (size_t i = 0; i < c->rules->n_sets && i < 4; i++)
        snprintf(f->sets[f->n_sets++], sizeof(f->sets[0]), "%s", c->rules->sets[i]);
    *n_errors = 0;
    rule_view v;
    memset(&v, 0, sizeof(v));
    snprintf(v.src_ip, sizeof(v.src_ip), "10.1.1.20");
    snprintf(v.dest_ip, sizeof(v.dest_ip), "203.0.113.20");
    v.has_ai = true;
    v.ai_provider = "Anthropic";
    rule_alert a = {
        .sid = 9000001, .severity = 2, .why_json = "{\"upload_bytes\":5}", .why_len = 18};
    c->rules->on_alert(c->rules->ud, &v, &a);
    return 0;
}

static void test_kit_capture_tests(void **state)
{
    (void)state;
    const char *t = "return { { name = 'cap', pcap = 'x.pcap',\n"
                    "  sets = { ['bulk_upload.min_bytes'] = 1e6 },\n"
                    "  expect = { { sid = 9000001, src_ip = '10.1.1.20', provider = 'Anthropic',\n"
                    "               why = { upload_bytes = 5 } } } },\n"
                    " { name = 'wrong provider', pcap = '/abs/y.pcap',\n"
                    "  expect = { { sid = 9000001, provider = 'OpenAI' } } } }\n";
    write_file("cap_test.lua", t, strlen(t));
    char path[512], buf[8192] = "";
    snprintf(path, sizeof(path), "%s/cap_test.lua", tmpdir);
    FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");
    int failed = rules_test_run(path, out, EGRET_SRCDIR "/rules", NULL, NULL);
    fclose(out);
    assert_int_equal(failed, 2);
    assert_non_null(strstr(buf, "capture tests need a packet replay"));

    fake_replay f = {0};
    memset(buf, 0, sizeof(buf));
    out = fmemopen(buf, sizeof(buf) - 1, "w");
    failed = rules_test_run(path, out, EGRET_SRCDIR "/rules", fake_capture, &f);
    fclose(out);
    assert_int_equal(f.calls, 2);
    assert_int_equal(failed, 1);
    assert_non_null(strstr(buf, "PASS  "));
    assert_non_null(strstr(buf, "expected (1 of 1 missing)"));
    assert_non_null(strstr(buf, "unexpected: sid=9000001 severity=2 10.1.1.20 -> 203.0.113.20 "
                                "provider=Anthropic"));
    assert_string_equal(f.pcap, "/abs/y.pcap");
    assert_int_equal(f.n_sets, 1);
    assert_string_equal(f.sets[0], "bulk_upload.min_bytes=1000000");
    unlink(path);
}

/* ---- sandbox ---- */

static void test_instruction_limit(void **state)
{
    (void)state;
    sink s = {0};
    rule_stats st = run_bad("rule { id = 2, name = 'loop',\n"
                            "  on_flow_end = function(flow)\n"
                            "    while true do end\n"
                            "  end }\n",
                            6, &s);
    if (st.instr_limit != 3) fail_msg("%s", s.logs);
    assert_int_equal(st.calls, 3); /* disabled after max_faults = 3 */
    assert_true(st.disabled);
    assert_int_equal(count_substr(s.logs, "instruction limit exceeded"), 1);
    assert_non_null(strstr(s.logs, "50-bad.lua:3:"));
    assert_non_null(strstr(s.logs, "disabled after 3 faults"));
}

static void test_pcall_cannot_swallow_limits(void **state)
{
    (void)state;
    sink s = {0};
    rule_stats st = run_bad("rule { id = 2, name = 'sneaky',\n"
                            "  on_flow_end = function(flow)\n"
                            "    while true do pcall(function() while true do end end) end\n"
                            "  end }\n",
                            2, &s);
    assert_int_equal(st.instr_limit, 2);
}

static void test_memory_limit(void **state)
{
    (void)state;
    static const char *bombs[] = {
        "rule { id = 2, name = 'rep', on_flow_end = function(flow)\n"
        "  local s = string.rep('x', 2^30) end }\n",
        "rule { id = 2, name = 'doubling', on_flow_end = function(flow)\n"
        "  local s = 'x' while true do s = s .. s end end }\n",
        "rule { id = 2, name = 'tables', on_flow_end = function(flow)\n"
        "  local t = {} for i = 1, 1e9 do t[i] = string.rep('y', 1000) .. i end end }\n",
    };
    for (size_t i = 0; i < sizeof(bombs) / sizeof(bombs[0]); i++) {
        sink s = {0};
        rule_stats st = run_bad(bombs[i], 4, &s);
        assert_int_equal(st.mem_limit + st.instr_limit, 3);
        if (st.mem_limit < 1) fail_msg("case %zu: %s", i, s.logs);
        assert_true(st.disabled);
        assert_non_null(strstr(s.logs, "memory limit exceeded"));
    }
    /* a single allocation larger than the cap at load time */
    sink s = {0};
    const char *big = "local s = string.rep('x', 16 * 1024 * 1024)\n"
                      "rule { id = 2, name = 'x', on_flow_end = function() end }\n";
    write_file("50-bad.lua", big, strlen(big));
    size_t n_err = 0;
    rules *r = load(&s, NULL, 0, &n_err);
    assert_int_equal(n_err, 1);
    assert_int_equal(rules_count(r), 1);
    rules_free(r);
}

static void test_blocked(void **state)
{
    (void)state;
    static const struct {
        const char *expr, *msg;
    } cases[] = {
        {"os.execute('id')", "global 'os'"},
        {"io.open('/etc/passwd')", "global 'io'"},
        {"debug.traceback()", "global 'debug'"},
        {"package.loadlib('x', 'y')", "global 'package'"},
        {"load('return 1')", "blocked function: load"},
        {"dofile('/etc/passwd')", "blocked function: dofile"},
        {"loadfile('/etc/passwd')", "blocked function: loadfile"},
        {"collectgarbage()", "blocked function: collectgarbage"},
        {"string.dump(function() end)", "blocked function: dump"},
        {"require('os')", "module 'os' not found"},
        {"rawset(_G, 'x', 1)", "raw access to the global environment"},
        {"setmetatable(_G, {})", "raw access to the global environment"},
        {"getmetatable('').__index.rep = nil", "table expected"},
        {"setmetatable({}, { __gc = function() end })", "__gc"},
        {"kept = 1", "assignment to global 'kept' after load"},
        {"coroutine.wrap(function() end)", "global 'coroutine'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char src[512];
        snprintf(src, sizeof(src),
                 "rule { id = 2, name = 'blocked', on_flow_end = function(flow)\n  %s\nend }\n",
                 cases[i].expr);
        sink s = {0};
        rule_stats st = run_bad(src, 2, &s);
        if (st.errors != 2 || !strstr(s.logs, cases[i].msg))
            fail_msg("case '%s': errors=%llu logs=%s", cases[i].expr, (unsigned long long)st.errors,
                     s.logs);
        assert_non_null(strstr(s.logs, "50-bad.lua:2:"));
    }
    /* while loading, too */
    const char *src = "local f = io and io.open('/etc/passwd')\nload('x')\n";
    write_file("50-bad.lua", src, strlen(src));
    sink s = {0};
    size_t n_err = 0;
    rules *r = load(&s, NULL, 0, &n_err);
    assert_int_equal(n_err, 1);
    assert_non_null(strstr(s.logs, "50-bad.lua:2: blocked function: load"));
    rules_free(r);
}

static void test_runtime_error_reported_once(void **state)
{
    (void)state;
    sink s = {0};
    rule_stats st = run_bad("rule { id = 2, name = 'oops', on_flow_end = function(flow)\n"
                            "  local t = nil\n"
                            "  return t.field\n"
                            "end }\n",
                            2, &s);
    assert_int_equal(st.errors, 2);
    assert_false(st.disabled);
    assert_int_equal(count_substr(s.logs, "50-bad.lua:3: attempt to index"), 1);
}

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    (void)L;
    luaL_addlstring(ud, p, sz);
    return 0;
}

static void test_bytecode_rejected(void **state)
{
    (void)state;
    lua_State *L = luaL_newstate();
    assert_int_equal(luaL_loadstring(L, "rule { id = 2, name = 'bc', on_flow_end = function() "
                                        "alert{} end }"),
                     LUA_OK);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushvalue(L, 1);
    lua_dump(L, dump_writer, &b, 0);
    lua_pop(L, 1);
    luaL_pushresult(&b);
    size_t n;
    const char *bc = lua_tolstring(L, -1, &n);
    write_file("50-bad.lua", bc, n);
    lua_close(L);
    sink s = {0};
    size_t n_err = 0;
    rules *r = load(&s, NULL, 0, &n_err);
    assert_int_equal(n_err, 1);
    assert_int_equal(rules_count(r), 1);
    assert_non_null(strstr(s.logs, "binary chunk"));
    rule_view v;
    view(&v, 1);
    rules_dispatch(r, RH_FLOW_END, &v, 1);
    assert_int_equal(s.alerts[1], 1);
    rules_free(r);
}

static void test_kept_flow_view(void **state)
{
    (void)state;
    sink s = {0};
    rule_stats st = run_bad("local saved\n"
                            "rule { id = 2, name = 'keeper', on_flow_end = function(flow)\n"
                            "  if saved then return saved:bytes() + #saved.src_ip end\n"
                            "  saved = flow\n"
                            "end }\n",
                            3, &s);
    assert_int_equal(st.calls, 3);
    assert_int_equal(st.errors, 2); /* calls 2 and 3 touch the stale view */
    assert_non_null(strstr(s.logs, "50-bad.lua:3: stale flow view"));
    /* a view written into a field is read-only */
    sink s2 = {0};
    st = run_bad("rule { id = 2, name = 'writer', on_flow_end = function(flow)\n"
                 "  flow.src_ip = 'x' end }\n",
                 1, &s2);
    assert_int_equal(st.errors, 1);
    assert_non_null(strstr(s2.logs, "read-only"));
}

static void test_syntax_error_and_bad_declarations(void **state)
{
    (void)state;
    static const struct {
        const char *src, *msg;
    } cases[] = {
        {"rule { id = 2, name =\n", "50-bad.lua:2:"},
        {"-- nothing\n", "declares no rule"},
        {"rule { id = 2, name = 'x', on_flowend = function() end }\n",
         "unknown field 'on_flowend'"},
        {"rule { id = 2, name = 'x', hooks = {'on_tick'} }\n", "not a function"},
        {"rule { id = 2, name = 'x', hooks = {'on_nothing'}, on_tick = function() end }\n",
         "unknown hook 'on_nothing'"},
        {"rule { id = 1, name = 'dup', on_tick = function() end }\n", "id already used"},
        {"rule { id = 2, name = 'x', severity = 7, on_tick = function() end }\n", "out of range"},
        {"rule { id = 2, on_tick = function() end }\n", "'name' (string) is required"},
        {"\n\nrule { id = 2, name = 'x' }\n", "50-bad.lua:3: rule 2: subscribes to no hook"},
        {"local n = 0\nwhile true do n = n + 1 end\n", "50-bad.lua:2: instruction limit exceeded"},
        {"rule { id = 2, name = 'x', on_tick = function() end }\nalert {}\n",
         "alert{} outside a hook call"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_file("50-bad.lua", cases[i].src, strlen(cases[i].src));
        sink s = {0};
        size_t n_err = 0;
        rules *r = load(&s, NULL, 0, &n_err);
        if (n_err != 1 || !strstr(s.logs, cases[i].msg))
            fail_msg("case %zu: n_err=%zu logs=%s", i, n_err, s.logs);
        assert_int_equal(rules_count(r), 1);
        rule_view v;
        view(&v, 1);
        rules_dispatch(r, RH_FLOW_END, &v, 1);
        assert_int_equal(s.alerts[1], 1);
        rules_free(r);
    }
    /* rules_check reports the same with file:line and counts */
    const char *bad = "rule { id = 2, name =\n";
    write_file("50-bad.lua", bad, strlen(bad));
    char buf[4096] = "";
    FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");
    const char *paths[] = {tmpdir};
    rules_config cfg = {.paths = paths, .n_paths = 1};
    assert_int_equal(rules_check(&cfg, out), 1);
    fclose(out);
    assert_non_null(strstr(buf, "50-bad.lua:2:"));
    assert_non_null(strstr(buf, "1 rule(s) in 1 file(s), 1 load error(s), 0 runtime error(s)"));
    unlink(strstr(buf, "") ? (snprintf(buf, sizeof(buf), "%s/50-bad.lua", tmpdir), buf) : buf);
}

/* Lua's own string.find never returns on this (C code the instruction
 * hook cannot interrupt); egret's matcher charges every step. */
static void test_pattern_stall(void **state)
{
    (void)state;
    static const char *stalls[] = {
        "string.find(('a'):rep(5000), ('a*'):rep(100) .. 'b')",
        "string.match(('a'):rep(5000), ('a-'):rep(100) .. 'b')",
        "for _ in string.gmatch(('a'):rep(5000), ('a?'):rep(60) .. 'b') do end",
        "string.gsub(('a'):rep(5000), ('.*'):rep(50) .. 'x', '')",
        "(('a'):rep(5000)):find(('a*'):rep(100) .. 'b')",
        "local s = ('('):rep(3000) string.find(s:rep(2), '%b()%b()%b()x')",
    };
    for (size_t i = 0; i < sizeof(stalls) / sizeof(stalls[0]); i++) {
        char src[512];
        snprintf(src, sizeof(src),
                 "rule { id = 2, name = 'stall',\n"
                 "  on_flow_end = function(flow)\n"
                 "    %s\n"
                 "  end }\n",
                 stalls[i]);
        sink s = {0};
        rule_stats st = run_bad(src, 5, &s);
        if (st.instr_limit + st.time_limit != 3) fail_msg("case %zu: %s", i, s.logs);
        assert_int_equal(st.calls, 3);
        assert_true(st.disabled);
        assert_non_null(strstr(s.logs, "50-bad.lua:3:"));
    }
}

/* With the instruction budget out of reach, the clock stops a call. */
static void test_time_limit(void **state)
{
    (void)state;
    const char *src = "rule { id = 2, name = 'spin', on_flow_end = function(flow)\n"
                      "  while true do end end }\n";
    write_file("50-bad.lua", src, strlen(src));
    sink s = {0};
    rules_config cfg = test_cfg(&s);
    cfg.instr_limit = UINT64_MAX;
    cfg.time_limit_ms = 20;
    cfg.max_faults = 2;
    size_t n_err = 0;
    rules *r = rules_new(&cfg, &n_err, NULL, 0);
    assert_non_null(r);
    rule_view v;
    for (int i = 0; i < 3; i++) {
        view(&v, 1 + (uint64_t)i);
        rules_dispatch(r, RH_FLOW_END, &v, 1000000);
    }
    const rule_stats *st = stats_of(r, 2);
    if (st->time_limit != 2) fail_msg("%s", s.logs);
    assert_true(st->disabled);
    assert_non_null(strstr(s.logs, "time limit exceeded (20 ms)"));
    assert_int_equal(s.alerts[1], 3);
    rules_free(r);
}

/* The flush shares one wall-clock budget: rules that each stay within
 * their own limits are skipped (counted, warned once) once it is spent, so
 * a stop cannot take flows x the per-call budget; outside a flush every
 * call runs again. */
static void test_flush_budget(void **state)
{
    (void)state;
    const char *src = "rule { id = 2, name = 'slow', on_flow_end = function(flow)\n"
                      "  local x = 0 for i = 1, 200000 do x = x + i end end }\n";
    write_file("50-slow.lua", src, strlen(src));
    sink s = {0};
    rules_config cfg = test_cfg(&s);
    cfg.instr_limit = 0; /* the default (10^6): the loop is within it */
    cfg.flush_budget_ms = 1;
    size_t n_err = 0;
    rules *r = rules_new(&cfg, &n_err, NULL, 0);
    assert_non_null(r);
    rule_view v;
    rules_flush_begin(r);
    for (int i = 0; i < 500; i++) {
        view(&v, 1 + (uint64_t)i);
        rules_dispatch(r, RH_FLOW_END, &v, 1000000);
    }
    rules_flush_end(r);
    uint64_t calls = stats_of(r, 2)->calls;
    assert_true(calls >= 1);  /* the budget was spent on real calls ... */
    assert_true(calls < 500); /* ... and the rest skipped */
    assert_false(stats_of(r, 2)->disabled);
    assert_int_equal(count_substr(s.logs, "flush's budget (1 ms) is spent"), 1);
    jw w;
    jw_init(&w);
    rules_stats(r, &w);
    const char *json = jw_text(&w);
    assert_non_null(json);
    char want[64];
    snprintf(want, sizeof(want), "\"flush_skipped\":%llu", (unsigned long long)(500 - calls));
    if (!strstr(json, want)) fail_msg("%s not in %s", want, json);
    jw_free(&w);
    /* after the flush, calls run again */
    view(&v, 9999);
    rules_dispatch(r, RH_FLOW_END, &v, 1000000);
    assert_int_equal(stats_of(r, 2)->calls, calls + 1);
    rules_free(r);
}

/* Alerts per rule per call and per flow are capped and counted; keyed
 * suppression forgets its oldest marks in O(1) when full. */
static void test_alert_caps_and_suppression_table(void **state)
{
    (void)state;
    const char *src = "rule { id = 2, name = 'flood', on_flow_end = function(flow)\n"
                      "  for i = 1, 1000 do alert { key = flow.flow_id .. ':' .. i, suppress = "
                      "false } end end }\n"
                      "rule { id = 3, name = 'keys', suppress = 3600, on_tick = function(flow)\n"
                      "  alert { key = tostring(flow.flow_id) } end }\n";
    sink s = {0};
    rules *r = load_ok(&s, "50-bad.lua", src);
    rule_view v;
    view(&v, 7);
    rules_dispatch(r, RH_FLOW_END, &v, 1000000);
    assert_int_equal(s.alerts[2], 16); /* the per-call cap (the flow's is 256) */
    for (int i = 1; i < 20; i++) rules_dispatch(r, RH_FLOW_END, &v, 1000000);
    assert_int_equal(s.alerts[2], 256); /* 16 per call, 256 per flow */
    const rule_stats *st = stats_of(r, 2);
    assert_int_equal(st->alerts_capped, 20 * 1000 - 256);
    assert_int_equal(st->instr_limit + st->errors, 0);
    /* 20,000 keys through a 16,384-mark table */
    for (uint64_t k = 0; k < 20000; k++) {
        view(&v, 1000 + k);
        rules_dispatch(r, RH_TICK, &v, 2000000);
    }
    assert_int_equal(s.alerts[3], 20000);
    view(&v, 1000 + 19999); /* still marked */
    rules_dispatch(r, RH_TICK, &v, 3000000);
    assert_int_equal(s.alerts[3], 20000);
    view(&v, 1000); /* the oldest mark was forgotten */
    rules_dispatch(r, RH_TICK, &v, 3000000);
    assert_int_equal(s.alerts[3], 20001);
    jw w;
    jw_init(&w);
    rules_stats(r, &w);
    const char *json = jw_text(&w);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"suppress_evicted\":3617"));
    assert_non_null(strstr(json, "\"alerts_capped\":19744"));
    jw_free(&w);
    rules_free(r);
}

static void test_suppression(void **state)
{
    (void)state;
    const char *src =
        "rule { id = 2, name = 'per flow', on_flow_end = function(flow)\n"
        "  alert { why = {} }; alert { why = {} } end }\n"
        "rule { id = 3, name = 'per key', suppress = 60, on_flow_end = function(flow)\n"
        "  alert { key = flow.src_ip } end }\n"
        "rule { id = 4, name = 'always', on_flow_end = function(flow)\n"
        "  assert(alert { suppress = false }); assert(alert { suppress = false }) end }\n"
        "rule { id = 5, name = 'sev', severity = 3, on_tick = function(flow)\n"
        "  local first = alert { severity = 1 }\n"
        "  local second = alert { severity = 1 }\n"
        "  assert(first == true and second == false) end }\n";
    sink s = {0};
    rules *r = load_ok(&s, "50-bad.lua", src);
    rule_view v;
    for (int i = 0; i < 3; i++) { /* three flows from one host within 60 s */
        view(&v, 10 + (uint64_t)i);
        rules_dispatch(r, RH_FLOW_END, &v, (uint64_t)(i + 1) * 1000000);
        rules_dispatch(r, RH_FLOW_END, &v, (uint64_t)(i + 1) * 1000000); /* same flow again */
    }
    assert_int_equal(s.alerts[2], 3); /* once per flow */
    assert_int_equal(s.alerts[3], 1); /* once per key per 60 s */
    assert_int_equal(s.alerts[4], 12);
    assert_string_equal(s.last_key, "");
    view(&v, 20);
    rules_dispatch(r, RH_FLOW_END, &v, 100000000); /* 100 s later */
    assert_int_equal(s.alerts[3], 2);
    rules_dispatch(r, RH_TICK, &v, 100000000);
    assert_int_equal(s.alerts[5], 1);
    assert_int_equal(s.last_severity, 1);
    /* after the flow is forgotten its marks are gone */
    rules_flow_forget(r, 20);
    rules_dispatch(r, RH_FLOW_END, &v, 100000001);
    assert_int_equal(s.alerts[2], 5);
    const rule_stats *st = stats_of(r, 2);
    assert_int_equal(st->suppressed, 11); /* 14 tries, 3 flows + 2 re-armed */
    assert_int_equal(st->errors, 0);
    assert_int_equal(stats_of(r, 5)->errors, 0);
    rules_free(r);
}

static void test_config_sets_and_why_json(void **state)
{
    (void)state;
    const char *src = "local c = {\n"
                      "  num = egret.config('t.num', 1), flag = egret.config('t.flag', false),\n"
                      "  str = egret.config('t.str', 'd'), list = egret.config('t.list', {}),\n"
                      "  csv = egret.config('t.csv', {}), missing = egret.config('t.none', 42),\n"
                      "  quoted = egret.config('t.q', ''), ratio = 2 / 3, big = 12e6,\n"
                      "  nested = { z = 1, a = { 'x', 'y' } } }\n"
                      "rule { id = 2, name = 'cfg', on_flow_end = function(flow)\n"
                      "  alert { why = c } end }\n";
    write_file("50-bad.lua", src, strlen(src));
    const char *sets[] = {"t.num=5e6",         "t.flag=true",     "t.str=hello",
                          "t.list={'a', 'b'}", "t.csv=CN, RU,IR", "t.q=\"true\""};
    sink s = {0};
    size_t n_err = 0;
    rules *r = load(&s, sets, 6, &n_err);
    assert_int_equal(n_err, 0);
    rule_view v;
    view(&v, 1);
    rules_dispatch(r, RH_FLOW_END, &v, 1);
    assert_int_equal(s.alerts[2], 1);
    assert_string_equal(s.last_why,
                        "{\"big\":12000000,\"csv\":[\"CN\",\"RU\",\"IR\"],\"flag\":true,"
                        "\"list\":[\"a\",\"b\"],\"missing\":42,\"nested\":{\"a\":[\"x\",\"y\"],"
                        "\"z\":1},\"num\":5000000,\"quoted\":\"true\",\"ratio\":0.6666666667,"
                        "\"str\":\"hello\"}");
    rules_free(r);
    /* the shipped config file loads; a config file is data only */
    static const char *paths[1];
    paths[0] = EGRET_SRCDIR "/rules"; /* its keys are the shipped rules' */
    rules_config cfg = {.paths = paths,
                        .n_paths = 1,
                        .on_log = on_log,
                        .ud = &s,
                        .config_file = EGRET_SRCDIR "/rules/egret.conf.lua"};
    r = rules_new(&cfg, &n_err, NULL, 0);
    assert_int_equal(n_err, 0);
    rules_free(r);
    const char *conf = "min = 5\nx = string.rep('a', 3)\n";
    write_file("bad.conf.lua", conf, strlen(conf)); /* *.conf.lua is not loaded as rules */
    char cpath[512];
    snprintf(cpath, sizeof(cpath), "%s/bad.conf.lua", tmpdir);
    cfg.config_file = cpath;
    paths[0] = tmpdir;
    memset(&s, 0, sizeof(s));
    r = rules_new(&cfg, &n_err, NULL, 0);
    assert_int_equal(n_err, 1);
    assert_non_null(
        strstr(s.logs, "bad.conf.lua:2: attempt to index a nil value (global 'string')"));
    assert_int_equal(rules_count(r), 2);
    rules_free(r);
    /* a malformed --set is a load error, the rules still load */
    const char *bad[] = {"novalue"};
    sink s2 = {0};
    r = load(&s2, bad, 1, &n_err);
    assert_int_equal(n_err, 1);
    assert_non_null(strstr(s2.logs, "expected key=value"));
    rules_free(r);
}

static void test_stats_and_two_instances(void **state)
{
    (void)state;
    const char *src = "local W = egret.window('w', 60)\n"
                      "rule { id = 2, name = 'win', on_flow_end = function(flow)\n"
                      "  W:add(flow.src_ip, { bytes = flow:bytes('toserver'), flows = 1 })\n"
                      "  local t = W:get(flow.src_ip)\n"
                      "  if t.bytes >= 300 then alert { key = flow.src_ip, why = t } end end }\n";
    write_file("50-bad.lua", src, strlen(src));
    sink s1 = {0}, s2 = {0};
    size_t e1, e2;
    rules *r1 = load(&s1, NULL, 0, &e1);
    rules *r2 = load(&s2, NULL, 0, &e2);
    assert_int_equal(e1 + e2, 0);
    rule_view v;
    for (int i = 0; i < 3; i++) {
        view(&v, (uint64_t)i + 1);
        rules_dispatch(r1, RH_FLOW_END, &v, (uint64_t)(i + 1) * 1000000);
    }
    assert_int_equal(s1.alerts[2], 1);
    assert_non_null(strstr(s1.last_why, "\"bytes\":300,"));
    assert_non_null(strstr(s1.last_why, "\"flows\":3,"));
    assert_int_equal(s2.total, 0); /* r2 has its own windows */
    view(&v, 9);
    rules_dispatch(r2, RH_FLOW_END, &v, 1000000);
    assert_int_equal(s2.alerts[1], 1);
    assert_int_equal(s2.alerts[2], 0);
    rules_free(r1);
    view(&v, 10);
    rules_dispatch(r2, RH_FLOW_END, &v, 2000000);
    assert_int_equal(s2.alerts[1], 2);
    assert_true(rules_wants(r2, RH_FLOW_END));
    assert_false(rules_wants(r2, RH_DNS_ANSWER));
    jw w;
    jw_init(&w);
    jw_obj_open(&w, NULL);
    rules_stats(r2, &w);
    jw_obj_close(&w);
    const char *j = jw_text(&w);
    assert_non_null(strstr(j, "\"rules\":{\"files\":2,\"loaded\":2,\"load_errors\":0,"));
    assert_non_null(strstr(j, "\"windows\":{\"keys\":1,"));
    assert_non_null(strstr(j, "\"sid\":2,"));
    assert_non_null(strstr(j, "\"calls\":2,\"filtered\":0,\"alerts\":0,"));
    assert_non_null(strstr(j, "\"cpu_us\":"));
    jw_free(&w);
    rules_free(r2);
}

static void test_flow_view_fields(void **state)
{
    (void)state;
    const char *src =
        "rule { id = 2, name = 'fields', on_tick = function(flow)\n"
        "  local a, b, c, d, e = flow:tuple()\n"
        "  local ai, geo, dl = flow:ai(), flow:geo(), flow:delta()\n"
        "  alert { why = { t = { a, b, c, d, e }, out = flow:is_outbound(),\n"
        "    si = flow:internal('src'), up = flow:upload(), ts = flow:bytes('toserver'),\n"
        "    both = flow:bytes(), ai = ai, geo = geo, dl = dl.bytes_toserver,\n"
        "    dur = flow:duration(), risks = flow:risks(), hook = flow.hook,\n"
        "    inn = egret.ip_in(flow.src_ip, '10.0.0.0/8'), now = egret.now(),\n"
        "    key = egret.key(flow.src_ip, ai.provider), st = flow:state() == flow:state() } }\n"
        "end }\n";
    sink s = {0};
    rules *r = load_ok(&s, "50-bad.lua", src);
    rule_view v;
    view(&v, 1);
    v.src_port = 40000;
    v.dest_port = 443;
    v.proto = "TCP";
    v.seq_bytes_toserver = 900;
    v.has_ai = true;
    v.ai_provider = "OpenAI";
    v.ai_kind = "api";
    v.has_geo = true;
    v.geo_country_iso = "US";
    v.geo_asn = 13335;
    v.d_bytes_toserver = 7;
    v.start_us = 1000000;
    v.last_us = 3500000;
    v.risk = (1ull << 3) | (1ull << 10);
    rules_dispatch(r, RH_TICK, &v, 4000000);
    assert_string_equal(
        s.last_why,
        "{\"ai\":{\"kind\":\"api\",\"provider\":\"OpenAI\"},\"both\":150,\"dl\":7,"
        "\"dur\":2.5,\"geo\":{\"asn\":13335,\"country_iso\":\"US\"},\"hook\":\"on_tick\","
        "\"inn\":true,\"key\":\"10.0.0.5|OpenAI\",\"now\":4,\"out\":true,"
        "\"risks\":[\"risk_3\",\"risk_10\"],\"si\":true,\"st\":true,"
        "\"t\":[\"10.0.0.5\",40000,\"203.0.113.9\",443,\"TCP\"],\"ts\":100,\"up\":900}");
    rules_free(r);
}

/* flow:growth(): per rule x flow, whole values first, then the growth;
 * two rules of one file keep separate marks; dropped at flow end. */
static void test_flow_growth(void **state)
{
    (void)state;
    const char *src = "local function g(flow)\n"
                      "  local d = flow:growth()\n"
                      "  alert { key = tostring(egret.now()), why = { up = d.upload,\n"
                      "    down = d.download, ex = d.exchanges, first = d.first } }\n"
                      "end\n"
                      "rule { id = 3, name = 'a', on_tick = g, on_flow_end = g }\n"
                      "rule { id = 4, name = 'b', on_flow_end = g }\n";
    sink s = {0};
    rules *r = load_ok(&s, "50-growth.lua", src);
    rule_view v;
    view(&v, 7);
    v.payload_toserver = 100;
    v.seq_bytes_toserver = 150;
    v.payload_toclient = 20;
    v.exchanges = 2;
    rules_dispatch(r, RH_TICK, &v, 1000000);
    assert_string_equal(s.last_why, "{\"down\":20,\"ex\":2,\"first\":true,\"up\":150}");
    v.seq_bytes_toserver = 400;
    v.exchanges = 3;
    rules_dispatch(r, RH_TICK, &v, 2000000);
    assert_string_equal(s.last_why, "{\"down\":0,\"ex\":1,\"first\":false,\"up\":250}");
    /* rule 4 has not looked yet: whole values */
    rules_dispatch(r, RH_FLOW_END, &v, 3000000);
    assert_string_equal(s.last_why, "{\"down\":20,\"ex\":3,\"first\":true,\"up\":400}");
    rules_flow_forget(r, 7);
    rules_dispatch(r, RH_TICK, &v, 4000000);
    assert_string_equal(s.last_why, "{\"down\":20,\"ex\":3,\"first\":true,\"up\":400}");
    rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_rules_kit),
        cmocka_unit_test_setup_teardown(test_kit_reports_failures, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_kit_capture_tests, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_instruction_limit, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_pcall_cannot_swallow_limits, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_memory_limit, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_blocked, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_runtime_error_reported_once, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_bytecode_rejected, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_kept_flow_view, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_syntax_error_and_bad_declarations, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_suppression, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_pattern_stall, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_time_limit, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_flush_budget, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_alert_caps_and_suppression_table, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_config_sets_and_why_json, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_stats_and_two_instances, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_flow_view_fields, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_flow_growth, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
