/*
 * rules_test.c -- the rule test kit (see rules_test.h): synthetic events
 * and, through the host's capture runner, captures.
 *
 * Test files run in their own small Lua state (text only, no io/os/
 * package/debug; they are data plus loops).  For each test a fresh rules
 * instance is built (config table -> Lua source -> config_text), the
 * events become rule_views (strings borrowed from the test's Lua table,
 * which stays on the stack), alerts are collected, their why JSON is
 * decoded back into Lua values (rules_test_lua.c) and compared with the
 * expectations.
 * A capture test hands the same rules_config (with the same collectors)
 * to the host's runner, which replays the file through an engine; the
 * comparison is the same code.
 * This file includes Lua headers too: it is the rule host's test runner.
 */
#include "rules_test.h"
#include "dirlist.h"
#include "fnv.h"
#include "rules_test_lua.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "rules.h"

typedef struct got_alert {
    uint32_t sid;
    int severity;
    char src_ip[46], dest_ip[46];
    char provider[64]; /* ai.provider, "" when the flow has no attribution */
    char *why, *key;
    bool matched;
} got_alert;

typedef struct run {
    got_alert *a;
    size_t n, cap;
    char logs[4096];
    size_t logs_len;
    uint64_t faults;       /* runtime faults of the rules under test */
    char first_fault[512]; /* the first one, for the report */
} run;

/* A rule that fails at run time fails its test, even when no alert is
 * expected: a broken hook would otherwise pass as "no alerts". */
static void on_fault(void *ud, uint32_t sid, const char *hook, const char *kind, const char *msg)
{
    run *r = ud;
    if (r->faults++ == 0)
        snprintf(r->first_fault, sizeof(r->first_fault), "rule %u %s in %s: %s", sid, kind,
                 hook ? hook : "?", msg);
}

static void on_alert(void *ud, const rule_view *v, const rule_alert *a)
{
    run *r = ud;
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 16;
        got_alert *na = realloc(r->a, nc * sizeof(*na));
        if (!na) return;
        r->a = na;
        r->cap = nc;
    }
    got_alert *g = &r->a[r->n++];
    memset(g, 0, sizeof(*g));
    g->sid = a->sid;
    g->severity = a->severity;
    snprintf(g->src_ip, sizeof(g->src_ip), "%s", v->src_ip);
    snprintf(g->dest_ip, sizeof(g->dest_ip), "%s", v->dest_ip);
    snprintf(g->provider, sizeof(g->provider), "%s",
             v->has_ai && v->ai_provider ? v->ai_provider : "");
    g->why = strndup(a->why_json, a->why_len);
    g->key = a->key ? strdup(a->key) : NULL;
}

static void on_log(void *ud, int level, const char *msg)
{
    run *r = ud;
    if (level == 2) return; /* info; errors, warnings and the rules' own lines are kept */
    int n = snprintf(r->logs + r->logs_len, sizeof(r->logs) - r->logs_len, "      log: %s\n", msg);
    if (n > 0 && r->logs_len + (size_t)n < sizeof(r->logs)) r->logs_len += (size_t)n;
}

static void run_free(run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->a[i].why);
        free(r->a[i].key);
    }
    free(r->a);
}

/* ---- building a rule_view ---- */

static const char *fstr(lua_State *L, int t, const char *k, const char *dflt)
{
    lua_getfield(L, t, k);
    const char *s = lua_isstring(L, -1) ? lua_tostring(L, -1) : dflt;
    lua_pop(L, 1); /* the string stays alive in the table */
    return s;
}

static int64_t fint(lua_State *L, int t, const char *k, int64_t dflt)
{
    lua_getfield(L, t, k);
    int64_t v = lua_isnumber(L, -1) ? (int64_t)llround(lua_tonumber(L, -1)) : dflt;
    lua_pop(L, 1);
    return v;
}

static bool fbool(lua_State *L, int t, const char *k, bool dflt)
{
    lua_getfield(L, t, k);
    bool v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Pushes sub-table k of t (or nil); returns its index or 0. */
static int sub_table(lua_State *L, int t, const char *k)
{
    if (lua_getfield(L, t, k) == LUA_TTABLE) return lua_gettop(L);
    return 0;
}

/* Fills v from the flow table at index t (event time at_us). Leaves
 * sub-tables on the stack (the caller resets the top). */
static void build_view(lua_State *L, int t, uint64_t at_us, rule_view *v)
{
    memset(v, 0, sizeof(*v));
    luaL_checkstack(L, 24, "flow table"); /* sub-tables stay on the stack */
    snprintf(v->src_ip, sizeof(v->src_ip), "%s", fstr(L, t, "src_ip", "10.0.0.5"));
    snprintf(v->dest_ip, sizeof(v->dest_ip), "%s", fstr(L, t, "dest_ip", "203.0.113.10"));
    v->ip_v = strchr(v->src_ip, ':') ? 6 : 4;
    v->src_port = (uint16_t)fint(L, t, "src_port", 40000);
    v->dest_port = (uint16_t)fint(L, t, "dest_port", 443);
    v->proto = fstr(L, t, "proto", "TCP");
    /* A synthetic flow's default flow_id hashes its 5-tuple.  The start
     * value is not the FNV offset basis; it stays because test files may
     * have recorded the ids it gives. */
    const uint64_t seed = 1469598103934665603ull;
    char tup[160];
    snprintf(tup, sizeof(tup), "%s|%u|%s|%u|%s", v->src_ip, v->src_port, v->dest_ip, v->dest_port,
             v->proto);
    v->flow_id = (uint64_t)fint(L, t, "flow_id", (int64_t)(fnv1a64(seed, tup, strlen(tup)) >> 1));
    v->src_internal = fbool(L, t, "src_internal", true);
    v->dest_internal = fbool(L, t, "dest_internal", false);
    v->direction = fstr(L, t, "direction",
                        v->src_internal ? (v->dest_internal ? "internal" : "outbound")
                                        : (v->dest_internal ? "inbound" : "external"));
    v->app_proto = fstr(L, t, "app_proto", "tls");
    v->ndpi_proto = fstr(L, t, "ndpi_proto", "");
    v->category = fstr(L, t, "category", "");
    v->hostname = fstr(L, t, "hostname", "");
    v->sni = fstr(L, t, "sni", v->hostname);
    v->risk = (uint64_t)fint(L, t, "risk", 0);
    v->pkts_toserver = (uint64_t)fint(L, t, "pkts_toserver", 0);
    v->pkts_toclient = (uint64_t)fint(L, t, "pkts_toclient", 0);
    int64_t bts = fint(L, t, "bytes_toserver", -1), btc = fint(L, t, "bytes_toclient", -1);
    int64_t pts = fint(L, t, "payload_toserver", -1), ptc = fint(L, t, "payload_toclient", -1);
    v->bytes_toserver = (uint64_t)(bts >= 0 ? bts : pts >= 0 ? pts : 0);
    v->bytes_toclient = (uint64_t)(btc >= 0 ? btc : ptc >= 0 ? ptc : 0);
    v->payload_toserver = (uint64_t)(pts >= 0 ? pts : bts >= 0 ? bts : 0);
    v->payload_toclient = (uint64_t)(ptc >= 0 ? ptc : btc >= 0 ? btc : 0);
    v->seq_bytes_toserver = (uint64_t)fint(L, t, "seq_bytes_toserver", 0);
    v->seq_bytes_toclient = (uint64_t)fint(L, t, "seq_bytes_toclient", 0);
    v->exchanges = (uint32_t)fint(L, t, "exchanges", 0);
    lua_getfield(L, t, "start");
    v->start_us = lua_isnumber(L, -1) ? (uint64_t)llround(lua_tonumber(L, -1) * 1e6) : at_us;
    lua_pop(L, 1);
    v->last_us = at_us;
    int s;
    if ((s = sub_table(L, t, "ai"))) {
        v->has_ai = true;
        v->ai_provider = fstr(L, s, "provider", "");
        v->ai_kind = fstr(L, s, "kind", "api");
        v->ai_host = fstr(L, s, "host", v->hostname);
        v->ai_method = fstr(L, s, "method", "sni");
        v->ai_confidence = fstr(L, s, "confidence", "high");
    }
    if ((s = sub_table(L, t, "geo"))) {
        v->has_geo = true;
        v->geo_country_iso = fstr(L, s, "country_iso", "");
        v->geo_country = fstr(L, s, "country", "");
        v->geo_city = fstr(L, s, "city", "");
        v->geo_as_org = fstr(L, s, "as_org", "");
        v->geo_asn = (uint32_t)fint(L, s, "asn", 0);
    }
    if ((s = sub_table(L, t, "delta"))) {
        v->d_bytes_toserver = (uint64_t)fint(L, s, "bytes_toserver", 0);
        v->d_bytes_toclient = (uint64_t)fint(L, s, "bytes_toclient", 0);
        v->d_payload_toserver = (uint64_t)fint(L, s, "payload_toserver", 0);
        v->d_exchanges = (uint64_t)fint(L, s, "exchanges", 0);
        v->d_us = (uint64_t)fint(L, s, "seconds", 0) * 1000000u;
    }
    if ((s = sub_table(L, t, "tls"))) {
        v->tls_version = fstr(L, s, "version", "");
        v->tls_alpn = fstr(L, s, "alpn", "");
        v->ja3 = fstr(L, s, "ja3", "");
    }
    if ((s = sub_table(L, t, "dns"))) {
        v->dns_rrname = fstr(L, s, "rrname", "");
        v->dns_rrtype = fstr(L, s, "rrtype", "A");
        v->dns_rcode = fstr(L, s, "rcode", "NOERROR");
        if (lua_getfield(L, s, "answers") == LUA_TTABLE) {
            size_t n = lua_rawlen(L, -1);
            for (size_t i = 0; i < n && i < RULE_DNS_MAX_ANSWERS; i++) {
                lua_rawgeti(L, -1, (lua_Integer)i + 1);
                v->dns_answers[v->dns_n_answers++] = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
                lua_pop(L, 1);
            }
        }
    }
    if ((s = sub_table(L, t, "http"))) {
        v->http_method = fstr(L, s, "method", "");
        v->http_host = fstr(L, s, "host", "");
        v->http_uri = fstr(L, s, "uri", "");
        v->http_user_agent = fstr(L, s, "user_agent", "");
        v->http_content_type = fstr(L, s, "content_type", "");
        v->http_body_len = (uint64_t)fint(L, s, "body_len", 0);
        v->http_status = (int)fint(L, s, "status", 0);
        v->http_host_alt = fstr(L, s, "host_alt", "");
        v->http_anomalies = fstr(L, s, "anomalies", ""); /* "a,b" as in the engine */
    }
    v->content_messages = v->content_chars = v->content_senders = v->content_records = -1;
    v->content_embedded_messages = v->content_embedded_senders = -1;
    v->content_gaps = v->content_gap_bytes = -1;
    if ((s = sub_table(L, t, "content"))) {
        v->content_shape = fstr(L, s, "shape", "");
        v->content_messages = fint(L, s, "messages", -1);
        v->content_chars = fint(L, s, "chars", -1);
        v->content_senders = fint(L, s, "senders", -1);
        v->content_records = fint(L, s, "records", -1);
        v->content_fingerprint = fstr(L, s, "fingerprint", "");
        v->content_inner_shape = fstr(L, s, "inner_shape", "");
        v->content_purpose = fstr(L, s, "purpose", "");
        v->content_embedded_messages = fint(L, s, "embedded_messages", -1);
        v->content_embedded_senders = fint(L, s, "embedded_senders", -1);
        v->content_gaps = fint(L, s, "gaps", -1);
        v->content_gap_bytes = fint(L, s, "gap_bytes", -1);
    }
}

/* ---- matching ---- */

static bool in_list(lua_State *L, int test, const char *k, lua_Integer v)
{
    if (lua_getfield(L, test, k) != LUA_TTABLE) {
        lua_pop(L, 1);
        return true; /* no filter */
    }
    bool hit = false;
    size_t n = lua_rawlen(L, -1);
    for (size_t i = 1; i <= n && !hit; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        hit = lua_tointeger(L, -1) == v;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return hit;
}

/* Does value 'got' (index g, may be nil) satisfy expectation e? */
static bool value_ok(lua_State *L, int g, int e)
{
    luaL_checkstack(L, 8, "expectation too deep");
    if (lua_type(L, e) == LUA_TTABLE && !lua_rawlen(L, e)) {
        static const char *const ops[] = {"eq", "ge", "gt", "le", "lt", NULL};
        bool any = false;
        for (int i = 0; ops[i]; i++) {
            if (lua_getfield(L, e, ops[i]) == LUA_TNIL) {
                lua_pop(L, 1);
                continue;
            }
            any = true;
            bool ok;
            if (i == 0)
                ok = lua_compare(L, g, -1, LUA_OPEQ);
            else if (!lua_isnumber(L, g) || !lua_isnumber(L, -1))
                ok = false;
            else {
                double a = lua_tonumber(L, g), b = lua_tonumber(L, -1);
                ok = i == 1 ? a >= b : i == 2 ? a > b : i == 3 ? a <= b : a < b;
            }
            lua_pop(L, 1);
            if (!ok) return false;
        }
        if (any) return true;
        if (lua_type(L, g) != LUA_TTABLE) return false;
    }
    if (lua_type(L, e) == LUA_TTABLE) {
        if (lua_type(L, g) != LUA_TTABLE) return false;
        lua_pushnil(L);
        while (lua_next(L, e)) {
            lua_pushvalue(L, -2);
            lua_rawget(L, g);
            bool ok = value_ok(L, lua_gettop(L), lua_gettop(L) - 1);
            lua_pop(L, 2);
            if (!ok) {
                lua_pop(L, 1);
                return false;
            }
        }
        return true;
    }
    if (lua_type(L, e) == LUA_TNUMBER && lua_type(L, g) == LUA_TNUMBER) {
        double a = lua_tonumber(L, g), b = lua_tonumber(L, e);
        return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(b));
    }
    return lua_compare(L, g, e, LUA_OPEQ);
}

static bool alert_matches(lua_State *L, int ex, const got_alert *g)
{
    if (fint(L, ex, "sid", fint(L, ex, "signature_id", g->sid)) != g->sid) return false;
    if (fint(L, ex, "severity", g->severity) != g->severity) return false;
    if (strcmp(fstr(L, ex, "src_ip", g->src_ip), g->src_ip) != 0) return false;
    if (strcmp(fstr(L, ex, "dest_ip", g->dest_ip), g->dest_ip) != 0) return false;
    if (strcmp(fstr(L, ex, "provider", g->provider), g->provider) != 0) return false;
    const char *k = fstr(L, ex, "key", NULL);
    if (k && (!g->key || strcmp(k, g->key) != 0)) return false;
    if (lua_getfield(L, ex, "why") != LUA_TTABLE) {
        lua_pop(L, 1);
        return true;
    }
    int e = lua_gettop(L);
    rules_test_push_why(L, g->why);
    bool ok = value_ok(L, lua_gettop(L), e);
    lua_settop(L, e - 1);
    return ok;
}

static void print_got(FILE *out, const char *tag, const got_alert *g)
{
    fprintf(out, "      %s sid=%u severity=%d %s -> %s%s%s%s%s why=%s\n", tag, g->sid, g->severity,
            g->src_ip, g->dest_ip, g->provider[0] ? " provider=" : "", g->provider,
            g->key ? " key=" : "", g->key ? g->key : "", g->why);
}

static rule_hook hook_by_name(const char *n)
{
    for (int h = 0; h < RH__COUNT; h++)
        if (n && strcmp(n, rules_hook_name((rule_hook)h)) == 0) return (rule_hook)h;
    return RH__COUNT;
}

/* What one `egret test` run shares across files. */
typedef struct kit {
    FILE *out;
    const char *default_rules;
    rules_test_capture_fn capture; /* NULL: capture tests fail */
    void *capture_ctx;
    int run, failed;
} kit;

/* Resolves a test's relative file name: the test file's directory first,
 * then the working directory (a test run from a checkout can name
 * pcaps/...). */
static void resolve_path(const char *dir, const char *p, char *buf, size_t len)
{
    if (p[0] == '/') {
        snprintf(buf, len, "%s", p);
        return;
    }
    snprintf(buf, len, "%s/%s", dir, p);
    struct stat sb;
    if (stat(buf, &sb) == 0) return;
    char alt[1024];
    snprintf(alt, sizeof(alt), "%s", p);
    if (stat(alt, &sb) == 0) snprintf(buf, len, "%s", alt);
}

/* Collects the test's `sets` (a list of "k=v" strings, or a map
 * { ["k"] = v }) into sets[]; strings stay anchored in a table left on
 * the stack.  Returns the count. */
static size_t collect_sets(lua_State *L, int t, const char **sets, size_t max)
{
    size_t ns = 0;
    lua_newtable(L); /* anchor for formatted "k=v" strings */
    int anchor = lua_gettop(L);
    if (lua_getfield(L, t, "sets") != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    int st = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, st)) {
        if (ns == max) {
            lua_pop(L, 2); /* value, key */
            break;
        }
        if (lua_type(L, -2) == LUA_TNUMBER && lua_isstring(L, -1)) {
            lua_pushvalue(L, -1);
        } else if (lua_type(L, -2) == LUA_TSTRING) {
            lua_pushvalue(L, -2);
            rules_test_push_source(L, lua_gettop(L) - 1); /* the value as Lua source */
            lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
            lua_replace(L, -3);
            lua_pop(L, 1);
        } else {
            lua_pop(L, 1);
            continue;
        }
        sets[ns++] = lua_tostring(L, -1);
        lua_rawseti(L, anchor, (lua_Integer)ns);
        lua_pop(L, 1); /* the value; keep the key for lua_next */
    }
    lua_pop(L, 1); /* sets; the anchor stays */
    return ns;
}

/* A capture test: the host replays the file through an engine running
 * 'cfg'.  Returns false (message in fail) when it could not run. */
static bool run_capture(lua_State *L, int t, const char *dir, const kit *k, const rules_config *cfg,
                        size_t *n_err, char *fail, size_t faillen)
{
    char pcap[1024];
    resolve_path(dir, fstr(L, t, "pcap", ""), pcap, sizeof(pcap));
    if (!k->capture) {
        /* %.600s: keep the message's tail even for a long path */
        snprintf(fail, faillen,
                 "%.600s: capture tests need a packet replay; run them with `egret test`", pcap);
        return false;
    }
    rules_test_capture c = {.pcap = pcap, .rules = cfg};
    char cats[8][1024];
    const char *catp[8];
    int e = sub_table(L, t, "engine");
    if (e) {
        c.home_net = fstr(L, e, "home_net", NULL);
        c.tick_interval_s = (uint32_t)fint(L, e, "tick_interval", 0);
        c.tick_bytes = (uint64_t)fint(L, e, "tick_bytes", 0);
        c.no_geo = fbool(L, e, "no_geo", false);
        int ct = lua_getfield(L, e, "ai_catalog");
        size_t n = ct == LUA_TSTRING ? 1 : ct == LUA_TTABLE ? lua_rawlen(L, -1) : 0;
        for (size_t i = 0; i < n && c.n_ai_catalog_files < 8; i++) {
            if (ct == LUA_TTABLE) lua_rawgeti(L, -1, (lua_Integer)i + 1);
            const char *p = lua_tostring(L, -1);
            if (p) {
                resolve_path(dir, p, cats[c.n_ai_catalog_files], sizeof(cats[0]));
                catp[c.n_ai_catalog_files] = cats[c.n_ai_catalog_files];
                c.n_ai_catalog_files++;
            }
            if (ct == LUA_TTABLE) lua_pop(L, 1);
        }
        lua_pop(L, 1);
        c.ai_catalog_files = catp;
    }
    char err[512] = "";
    if (k->capture(k->capture_ctx, &c, n_err, err, sizeof(err)) != 0) {
        snprintf(fail, faillen, "capture: %s", err[0] ? err : "replay failed");
        return false;
    }
    return true;
}

/* The test's rule paths (relative to its directory), or the default
 * rules; returns how many (at most 16). */
static size_t test_rule_paths(lua_State *L, int t, const char *dir, const kit *k,
                              const char *paths[16], char pbuf[16][1024])
{
    size_t np = 0;
    int rt = lua_getfield(L, t, "rules");
    if (rt == LUA_TSTRING || rt == LUA_TTABLE) {
        size_t n = rt == LUA_TSTRING ? 1 : lua_rawlen(L, -1);
        for (size_t i = 0; i < n && np < 16; i++) {
            if (rt == LUA_TTABLE) lua_rawgeti(L, -1, (lua_Integer)i + 1);
            const char *p = lua_tostring(L, -1);
            if (p && p[0] != '/')
                snprintf(pbuf[np], 1024, "%s/%s", dir, p);
            else
                snprintf(pbuf[np], 1024, "%s", p ? p : "");
            paths[np] = pbuf[np];
            np++;
            if (rt == LUA_TTABLE) lua_pop(L, 1);
        }
    } else {
        paths[np++] = k->default_rules;
    }
    lua_pop(L, 1);
    return np;
}

/* Dispatches the test's synthetic events to 'rs'; false (with the reason
 * in 'fail') on an unknown hook. */
static bool replay_events(lua_State *L, int t, rules *rs, char *fail, size_t faillen)
{
    bool ok = true;
    if (lua_getfield(L, t, "events") == LUA_TTABLE) {
        int evs = lua_gettop(L);
        size_t n = lua_rawlen(L, evs);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, evs, (lua_Integer)i);
            int ev = lua_gettop(L);
            const char *hn = fstr(L, ev, "hook", NULL);
            rule_hook h = hook_by_name(hn);
            if (h == RH__COUNT) {
                snprintf(fail, faillen, "event %zu: unknown hook '%s'", i, hn ? hn : "nil");
                ok = false;
                lua_settop(L, ev - 1);
                break;
            }
            lua_getfield(L, ev, "at");
            uint64_t at_us = (uint64_t)llround(luaL_optnumber(L, -1, 0) * 1e6);
            lua_pop(L, 1);
            if (lua_getfield(L, ev, "flow") != LUA_TTABLE) {
                lua_pop(L, 1);
                lua_newtable(L);
            }
            rule_view v;
            build_view(L, lua_gettop(L), at_us, &v);
            rules_dispatch(rs, h, &v, at_us);
            if (h == RH_FLOW_END && fbool(L, ev, "forget", true)) rules_flow_forget(rs, v.flow_id);
            lua_settop(L, ev - 1);
        }
    }
    lua_pop(L, 1);
    return ok;
}

/* Matches the alerts the rules raised (those of the test's sids and
 * severities) against its `expect` list; prints what is missing or
 * unexpected and, on failure, what matched and the rule log. */
static void compare_alerts(lua_State *L, int t, run *R, const char *file, const char *name,
                           FILE *out, bool *pass, bool *header, const char *fail)
{
    got_alert **cand = calloc(R->n ? R->n : 1, sizeof(*cand));
    size_t nc = 0;
    for (size_t i = 0; cand && i < R->n; i++)
        if (in_list(L, t, "sids", R->a[i].sid) && in_list(L, t, "severities", R->a[i].severity))
            cand[nc++] = &R->a[i];
    *header = false;
    if (lua_getfield(L, t, "expect") == LUA_TTABLE) {
        int exs = lua_gettop(L);
        size_t n = lua_rawlen(L, exs);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, exs, (lua_Integer)i);
            int ex = lua_gettop(L);
            int64_t want = fint(L, ex, "count", 1), have = 0;
            for (size_t m = 0; m < nc && have < want; m++)
                if (!cand[m]->matched && alert_matches(L, ex, cand[m])) {
                    cand[m]->matched = true;
                    have++;
                }
            if (have < want) {
                if (*pass || !*header) fprintf(out, "FAIL  %s: %s\n", file, name);
                *pass = false;
                *header = true;
                rules_test_push_source(L, ex);
                fprintf(out, "      expected (%lld of %lld missing): %s\n",
                        (long long)(want - have), (long long)want, lua_tostring(L, -1));
                lua_pop(L, 1);
            }
            lua_settop(L, ex - 1);
        }
    }
    lua_pop(L, 1);
    for (size_t m = 0; m < nc; m++) {
        if (cand[m]->matched) continue;
        if (*pass || !*header) fprintf(out, "FAIL  %s: %s\n", file, name);
        *pass = false;
        *header = true;
        print_got(out, "unexpected:", cand[m]);
    }
    if (!*pass) {
        if (!*header) fprintf(out, "FAIL  %s: %s\n", file, name);
        *header = true;
        if (fail[0]) fprintf(out, "      %s\n", fail);
        for (size_t m = 0; m < nc; m++)
            if (cand[m]->matched) print_got(out, "got:", cand[m]);
        if (R->logs_len) fputs(R->logs, out);
    }
    free(cand);
}

/* Runs the test table at index t.  Returns true on pass. */
static bool run_one(lua_State *L, int t, const char *file, const char *dir, const kit *k)
{
    luaL_checkstack(L, 24, "test table");
    FILE *out = k->out;
    const char *name = fstr(L, t, "name", "(unnamed)");
    run R = {0};
    bool pass = true;
    bool header = false;
    char fail[1024] = "";
    const char *paths[16];
    char pbuf[16][1024];
    size_t np = test_rule_paths(L, t, dir, k, paths, pbuf);
    /* config */
    const char *config_text = NULL;
    if (lua_getfield(L, t, "config") == LUA_TTABLE) {
        rules_test_push_source(L, lua_gettop(L));
        lua_pushfstring(L, "return %s", lua_tostring(L, -1));
        config_text = lua_tostring(L, -1); /* anchored on the stack */
    }
    const char *sets[32];
    size_t ns = collect_sets(L, t, sets, 32);
    rules_config cfg = {.paths = paths,
                        .n_paths = np,
                        .config_text = config_text,
                        .sets = sets,
                        .n_sets = ns,
                        .on_alert = on_alert,
                        .on_log = on_log,
                        .ud = &R,
                        .on_fault = on_fault,
                        .fault_ud = &R};
    size_t n_err = 0;
    char err[256] = "";
    bool capture = fstr(L, t, "pcap", NULL) != NULL;
    rules *rs = NULL;
    if (capture) {
        lua_getfield(L, t, "events");
        bool both = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (both) {
            snprintf(fail, sizeof(fail), "a test has either `pcap` or `events`, not both");
            pass = false;
            goto done;
        }
        if (!run_capture(L, t, dir, k, &cfg, &n_err, fail, sizeof(fail))) {
            pass = false;
            goto done;
        }
    } else {
        rs = rules_new(&cfg, &n_err, err, sizeof(err));
        if (!rs) {
            snprintf(fail, sizeof(fail), "rules_new failed: %s", err);
            pass = false;
            goto done;
        }
    }
    if ((int64_t)n_err != fint(L, t, "load_errors", 0)) {
        snprintf(fail, sizeof(fail), "%zu rule load error(s), expected %lld", n_err,
                 (long long)fint(L, t, "load_errors", 0));
        pass = false;
    }
    if (!capture && !replay_events(L, t, rs, fail, sizeof(fail))) pass = false;
    rules_free(rs);
    int64_t want_faults = fint(L, t, "runtime_errors", 0);
    if (pass && (int64_t)R.faults != want_faults) {
        snprintf(fail, sizeof(fail), "%llu runtime error(s), expected %lld: %s",
                 (unsigned long long)R.faults, (long long)want_faults,
                 R.faults ? R.first_fault : "none raised");
        pass = false;
    }
    compare_alerts(L, t, &R, file, name, out, &pass, &header, fail);
done:
    if (pass)
        fprintf(out, "PASS  %s: %s\n", file, name);
    else if (!header) {
        fprintf(out, "FAIL  %s: %s\n      %s\n", file, name, fail);
        if (R.logs_len) fputs(R.logs, out);
    }
    run_free(&R);
    return pass;
}

static lua_State *test_state(void)
{
    lua_State *L = luaL_newstate();
    if (!L) return NULL;
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    const char *drop[] = {"dofile", "loadfile", "load", "require", "collectgarbage", NULL};
    for (int i = 0; drop[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, drop[i]);
    }
    lua_pop(L, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    lua_pop(L, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    lua_pop(L, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    lua_pop(L, 1);
    return L;
}

static int run_file_k(lua_State *L);

static void run_file(const char *file, kit *k)
{
    lua_State *L = test_state();
    if (!L) {
        fprintf(k->out, "FAIL  %s: cannot create a Lua state\n", file);
        k->run++;
        k->failed++;
        return;
    }
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof(dir), ".");
    lua_pushcfunction(L, run_file_k);
    lua_pushstring(L, file);
    lua_pushstring(L, dir);
    lua_pushlightuserdata(L, k);
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        fprintf(k->out, "FAIL  %s: %s\n", file, lua_tostring(L, -1));
        k->run++;
        k->failed++;
    }
    lua_close(L);
}

static int run_file_k(lua_State *L)
{
    const char *file = lua_tostring(L, 1), *dir = lua_tostring(L, 2);
    kit *k = lua_touserdata(L, 3);
    lua_pushfstring(L, "@%s", file);
    FILE *fp = fopen(file, "rb");
    if (!fp) return luaL_error(L, "cannot open %s", file);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) luaL_addlstring(&b, chunk, n);
    fclose(fp);
    luaL_pushresult(&b);
    size_t len;
    const char *src = lua_tolstring(L, -1, &len);
    if (luaL_loadbufferx(L, src, len, lua_tostring(L, -2), "t") != LUA_OK) return lua_error(L);
    lua_call(L, 0, 1);
    int res = lua_gettop(L);
    if (!lua_istable(L, res)) return luaL_error(L, "%s: must return a test table", file);
    /* one test (it has events or pcap) or a list of tests */
    lua_getfield(L, res, "events");
    lua_getfield(L, res, "pcap");
    bool single = !lua_isnil(L, -1) || !lua_isnil(L, -2);
    lua_pop(L, 2);
    size_t count = single ? 1 : lua_rawlen(L, res);
    for (size_t i = 1; i <= count; i++) {
        if (single)
            lua_pushvalue(L, res);
        else
            lua_rawgeti(L, res, (lua_Integer)i);
        if (!lua_istable(L, -1)) return luaL_error(L, "%s: test %d is not a table", file, (int)i);
        k->run++;
        if (!run_one(L, lua_gettop(L), file, dir, k)) k->failed++;
        lua_settop(L, res);
    }
    return 0;
}

static int is_test_file(const struct dirent *de)
{
    size_t len = strlen(de->d_name);
    return len >= 9 && strcmp(de->d_name + len - 9, "_test.lua") == 0;
}

int rules_test_run(const char *path, FILE *out, const char *default_rules,
                   rules_test_capture_fn capture, void *capture_ctx)
{
    kit k = {.out = out,
             .default_rules = default_rules ? default_rules : "rules",
             .capture = capture,
             .capture_ctx = capture_ctx};
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(out, "FAIL  %s: not found\n", path);
        k.run = k.failed = 1;
    } else if (!S_ISDIR(sb.st_mode)) {
        run_file(path, &k);
    } else {
        struct dirent **list;
        int n = dirlist_scan(path, is_test_file, &list);
        for (int i = 0; i < n; i++) {
            size_t pl = strlen(path) + strlen(list[i]->d_name) + 2;
            char *name = malloc(pl);
            if (!name) break;
            snprintf(name, pl, "%s/%s", path, list[i]->d_name);
            run_file(name, &k);
            free(name);
        }
        if (n > 0) dirlist_free(list, n);
    }
    fprintf(out, "rules tests: %d run, %d passed, %d failed\n", k.run, k.run - k.failed, k.failed);
    return k.failed;
}
