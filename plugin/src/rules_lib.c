/*
 * rules_lib.c -- the libraries a rule sees (rules/README.md is the
 * author's reference): the flow view (userdata "egret.flow"), alert{},
 * egret.config/window/state/log/now/key/ip_in, and the why-to-JSON
 * serialiser (sorted keys, so alerts are deterministic).
 *
 * A flow view is a borrowed view: it carries the call generation it was
 * made for, and every access checks it against the file's current call,
 * so a view kept past its hook raises a Lua error instead of reading a
 * dead rule_view.  Per-flow state, per-key state and suppression marks
 * live in registry tables of the rule file's own lua_State (so they count
 * against its memory cap) with explicit count caps.
 */
#include "netset.h"
#include "rules_int.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FLOW_MT       "egret.flow"
#define WINDOW_MT     "egret.window"
#define REG_FLOWSTATE "egret.flowstate"
#define REG_KEYSTATE  "egret.keystate"
#define REG_KEYEXP    "egret.keyexp"
#define REG_SUPPFLOW  "egret.suppflow"
#define REG_SUPPKEY   "egret.suppkey"
#define REG_GROWTH    "egret.growth"
#define MAX_WINDOWS   32

typedef struct flow_ud {
    uint64_t gen;
} flow_ud;

typedef struct window_ud {
    size_t idx;
} window_ud;

static double secs(uint64_t us)
{
    return (double)us / 1e6;
}

static uint64_t to_us(double s)
{
    return s <= 0 ? 0 : (uint64_t)llround(s * 1e6);
}

/* [-0, +1, m] */
static void push_str_or_nil(lua_State *L, const char *s)
{
    if (s && s[0])
        lua_pushstring(L, s);
    else
        lua_pushnil(L);
}

static void set_str(lua_State *L, const char *k, const char *s)
{
    if (s && s[0]) {
        lua_pushstring(L, s);
        lua_setfield(L, -2, k);
    }
}

static void set_int(lua_State *L, const char *k, int64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

/* ---- the flow view ---- */

static const rule_view *check_flow(lua_State *L, int i)
{
    flow_ud *u = luaL_checkudata(L, i, FLOW_MT);
    rule_file *f = rules_ctx(L);
    if (!f->in_call || !f->cur_view || u->gen != f->call_gen)
        luaL_error(L, "stale flow view: a flow is only valid during the hook call it was "
                      "passed to (keep values, not the view)");
    return f->cur_view;
}

void rules_lib_push_flow(lua_State *L)
{
    rule_file *f = rules_ctx(L);
    flow_ud *u = lua_newuserdatauv(L, sizeof(*u), 0);
    u->gen = f->call_gen;
    luaL_setmetatable(L, FLOW_MT);
}

enum { DIR_BOTH, DIR_TS, DIR_TC };

static int opt_dir(lua_State *L, int i)
{
    static const char *const dirs[] = {"both", "toserver", "toclient", NULL};
    return luaL_checkoption(L, i, "both", dirs);
}

static int push_dir(lua_State *L, uint64_t ts, uint64_t tc)
{
    int d = opt_dir(L, 2);
    lua_pushinteger(L, (lua_Integer)(d == DIR_TS ? ts : d == DIR_TC ? tc : ts + tc));
    return 1;
}

/* flow:bytes([dir]) -> integer; dir "toserver", "toclient" or nil (both). Captured bytes. */
static int l_flow_bytes(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    return push_dir(L, v->bytes_toserver, v->bytes_toclient);
}

/* flow:payload([dir]) -> integer: captured L4 payload bytes. */
static int l_flow_payload(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    return push_dir(L, v->payload_toserver, v->payload_toclient);
}

/* flow:seq_bytes([dir]) -> integer: TCP sequence progress (loss-proof). */
static int l_flow_seq_bytes(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    return push_dir(L, v->seq_bytes_toserver, v->seq_bytes_toclient);
}

/* flow:pkts([dir]) -> integer */
static int l_flow_pkts(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    return push_dir(L, v->pkts_toserver, v->pkts_toclient);
}

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* flow:upload() -> integer: max(payload, seq_bytes) toserver. */
static int l_flow_upload(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    lua_pushinteger(L, (lua_Integer)max64(v->payload_toserver, v->seq_bytes_toserver));
    return 1;
}

/* flow:download() -> integer: max(payload, seq_bytes) toclient. */
static int l_flow_download(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    lua_pushinteger(L, (lua_Integer)max64(v->payload_toclient, v->seq_bytes_toclient));
    return 1;
}

/* flow:tuple() -> src_ip, src_port, dest_ip, dest_port, proto */
static int l_flow_tuple(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    lua_pushstring(L, v->src_ip);
    lua_pushinteger(L, v->src_port);
    lua_pushstring(L, v->dest_ip);
    lua_pushinteger(L, v->dest_port);
    push_str_or_nil(L, v->proto);
    return 5;
}

/* flow:is_outbound() -> boolean: internal client, external server. */
static int l_flow_is_outbound(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    lua_pushboolean(L, v->direction && v->direction[0] ? strcmp(v->direction, "outbound") == 0
                                                       : v->src_internal && !v->dest_internal);
    return 1;
}

/* flow:internal(side) -> boolean; side "src" or "dest". */
static int l_flow_internal(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    static const char *const sides[] = {"src", "dest", NULL};
    int s = luaL_checkoption(L, 2, NULL, sides);
    lua_pushboolean(L, s == 0 ? v->src_internal : v->dest_internal);
    return 1;
}

/* flow:ai() -> {provider, kind, host, method, confidence} or nil */
static int l_flow_ai(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    if (!v->has_ai) return 0;
    lua_createtable(L, 0, 5);
    set_str(L, "provider", v->ai_provider);
    set_str(L, "kind", v->ai_kind);
    set_str(L, "host", v->ai_host);
    set_str(L, "method", v->ai_method);
    set_str(L, "confidence", v->ai_confidence);
    return 1;
}

/* flow:geo() -> {country_iso, country, city, as_org, asn} (destination) or nil */
static int l_flow_geo(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    if (!v->has_geo) return 0;
    lua_createtable(L, 0, 5);
    set_str(L, "country_iso", v->geo_country_iso);
    set_str(L, "country", v->geo_country);
    set_str(L, "city", v->geo_city);
    set_str(L, "as_org", v->geo_as_org);
    if (v->geo_asn) set_int(L, "asn", v->geo_asn);
    return 1;
}

/* flow:exchanges() -> integer: estimated request/response exchanges. */
static int l_flow_exchanges(lua_State *L)
{
    lua_pushinteger(L, check_flow(L, 1)->exchanges);
    return 1;
}

/* flow:start(), flow:last() -> seconds (packet time); flow:duration() -> seconds */
static int l_flow_start(lua_State *L)
{
    lua_pushnumber(L, secs(check_flow(L, 1)->start_us));
    return 1;
}

static int l_flow_last(lua_State *L)
{
    lua_pushnumber(L, secs(check_flow(L, 1)->last_us));
    return 1;
}

static int l_flow_duration(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    lua_pushnumber(L, v->last_us > v->start_us ? secs(v->last_us - v->start_us) : 0.0);
    return 1;
}

/* flow:risks() -> list of nDPI risk names (ascending bit order) */
static int l_flow_risks(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    rule_file *f = rules_ctx(L);
    lua_newtable(L);
    int n = 0;
    for (int b = 0; b < 64; b++) {
        if (!(v->risk & (1ull << b))) continue;
        const char *name =
            f->owner->cfg.risk_name ? f->owner->cfg.risk_name(f->owner->cfg.ud, b) : NULL;
        if (name)
            lua_pushstring(L, name);
        else
            lua_pushfstring(L, "risk_%d", b);
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

/* flow:delta() -> {bytes_toserver, bytes_toclient, payload_toserver, exchanges, seconds}:
 * on_tick, the change since this flow's previous tick. */
static int l_flow_delta(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    lua_createtable(L, 0, 5);
    set_int(L, "bytes_toserver", (int64_t)v->d_bytes_toserver);
    set_int(L, "bytes_toclient", (int64_t)v->d_bytes_toclient);
    set_int(L, "payload_toserver", (int64_t)v->d_payload_toserver);
    set_int(L, "exchanges", (int64_t)v->d_exchanges);
    lua_pushnumber(L, secs(v->d_us));
    lua_setfield(L, -2, "seconds");
    return 1;
}

/* flow:tls() -> {sni, version, alpn, ja3} */
static int l_flow_tls(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    lua_createtable(L, 0, 4);
    set_str(L, "sni", v->sni);
    set_str(L, "version", v->tls_version);
    set_str(L, "alpn", v->tls_alpn);
    set_str(L, "ja3", v->ja3);
    return 1;
}

/* flow:dns() -> {rrname, rrtype, rcode, answers = {...}} */
static int l_flow_dns(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    lua_createtable(L, 0, 4);
    set_str(L, "rrname", v->dns_rrname);
    set_str(L, "rrtype", v->dns_rrtype);
    set_str(L, "rcode", v->dns_rcode);
    size_t n = v->dns_n_answers < RULE_DNS_MAX_ANSWERS ? v->dns_n_answers : RULE_DNS_MAX_ANSWERS;
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, v->dns_answers[i] ? v->dns_answers[i] : "");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "answers");
    return 1;
}

/* flow:http() -> {method, host, uri, user_agent, content_type, body_len, status} */
static int l_flow_http(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    lua_createtable(L, 0, 7);
    set_str(L, "method", v->http_method);
    set_str(L, "host", v->http_host);
    set_str(L, "uri", v->http_uri);
    set_str(L, "user_agent", v->http_user_agent);
    set_str(L, "content_type", v->http_content_type);
    set_int(L, "body_len", (int64_t)v->http_body_len);
    if (v->http_status) set_int(L, "status", v->http_status);
    return 1;
}

/* flow:content() -> {shape, messages, chars, senders, fingerprint, records, inner_shape,
 * purpose, embedded_messages, embedded_senders, gaps, gap_bytes} or nil */
static int l_flow_content(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    if (!(v->content_shape && v->content_shape[0])) return 0;
    lua_createtable(L, 0, 5);
    set_str(L, "shape", v->content_shape);
    if (v->content_messages >= 0) set_int(L, "messages", v->content_messages);
    if (v->content_chars >= 0) set_int(L, "chars", v->content_chars);
    if (v->content_senders >= 0) set_int(L, "senders", v->content_senders);
    set_str(L, "fingerprint", v->content_fingerprint);
    if (v->content_records >= 0) set_int(L, "records", v->content_records);
    if (v->content_inner_shape && v->content_inner_shape[0])
        set_str(L, "inner_shape", v->content_inner_shape);
    if (v->content_purpose && v->content_purpose[0]) set_str(L, "purpose", v->content_purpose);
    if (v->content_embedded_messages >= 0)
        set_int(L, "embedded_messages", v->content_embedded_messages);
    if (v->content_embedded_senders >= 0)
        set_int(L, "embedded_senders", v->content_embedded_senders);
    if (v->content_gaps >= 0) set_int(L, "gaps", v->content_gaps);
    if (v->content_gap_bytes >= 0) set_int(L, "gap_bytes", v->content_gap_bytes);
    return 1;
}

/* Pushes the per-flow state table of flow_id (created on demand). [-0, +1, e] */
static void push_flow_state(lua_State *L, uint64_t flow_id)
{
    rule_file *f = rules_ctx(L);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FLOWSTATE);
    if (lua_rawgeti(L, -1, (lua_Integer)flow_id) == LUA_TTABLE) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    if (f->n_flow_states >= RULES_FLOW_STATE_CAP)
        luaL_error(L, "per-flow state cap reached (%d flows)", RULES_FLOW_STATE_CAP);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, (lua_Integer)flow_id);
    f->n_flow_states++;
    lua_remove(L, -2);
}

/* What flow:growth() last reported to one rule for one flow. */
typedef struct growth_mark {
    int64_t up, down, ex;
    bool seen;
} growth_mark;

/* [-0, +0, m] This rule's mark for the flow: one userdata per flow (in
 * REG_GROWTH) holds a mark for every rule of the file. */
static growth_mark *growth_of(lua_State *L, uint64_t flow_id)
{
    rule_file *f = rules_ctx(L);
    size_t r = 0;
    while (r < f->n_defs && f->defs[r] != f->cur_rule) r++;
    lua_getfield(L, LUA_REGISTRYINDEX, REG_GROWTH);
    if (lua_rawgeti(L, -1, (lua_Integer)flow_id) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        if (f->n_growth_states >= RULES_FLOW_STATE_CAP)
            luaL_error(L, "per-flow state cap reached (%d flows)", RULES_FLOW_STATE_CAP);
        size_t n = f->n_defs ? f->n_defs : 1;
        memset(lua_newuserdatauv(L, n * sizeof(growth_mark), 0), 0, n * sizeof(growth_mark));
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, (lua_Integer)flow_id);
        f->n_growth_states++;
    }
    growth_mark *m = lua_touserdata(L, -1);
    if (r >= lua_rawlen(L, -1) / sizeof(*m)) luaL_error(L, "flow:growth() outside a rule");
    lua_pop(L, 2); /* REG_GROWTH keeps it */
    return m + r;
}

/* flow:growth() -> {upload, download, exchanges, first}: how much
 * flow:upload(), flow:download() and flow:exchanges() grew since this
 * rule's previous flow:growth() on this flow (first call: their values,
 * first = true).  Kept per rule x flow, dropped at flow end. */
static int l_flow_growth(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    growth_mark *m = growth_of(L, v->flow_id);
    int64_t up = (int64_t)max64(v->payload_toserver, v->seq_bytes_toserver);
    int64_t down = (int64_t)max64(v->payload_toclient, v->seq_bytes_toclient);
    int64_t ex = v->exchanges;
    lua_createtable(L, 0, 4);
    set_int(L, "upload", up - m->up);
    set_int(L, "download", down - m->down);
    set_int(L, "exchanges", ex - m->ex);
    lua_pushboolean(L, !m->seen);
    lua_setfield(L, -2, "first");
    /* counters only grow; a mark never goes back */
    if (up > m->up) m->up = up;
    if (down > m->down) m->down = down;
    if (ex > m->ex) m->ex = ex;
    m->seen = true;
    return 1;
}

/* flow:state() -> table private to this rule file and flow; dropped at flow end. */
static int l_flow_state(lua_State *L)
{
    push_flow_state(L, check_flow(L, 1)->flow_id);
    return 1;
}

// clang-format off
static const luaL_Reg flow_methods[] = {
    {"bytes", l_flow_bytes}, {"payload", l_flow_payload}, {"seq_bytes", l_flow_seq_bytes},
    {"pkts", l_flow_pkts}, {"upload", l_flow_upload}, {"download", l_flow_download},
    {"tuple", l_flow_tuple}, {"is_outbound", l_flow_is_outbound}, {"internal", l_flow_internal},
    {"ai", l_flow_ai}, {"geo", l_flow_geo}, {"exchanges", l_flow_exchanges},
    {"start", l_flow_start}, {"last", l_flow_last}, {"duration", l_flow_duration},
    {"risks", l_flow_risks}, {"delta", l_flow_delta}, {"tls", l_flow_tls},
    {"dns", l_flow_dns}, {"http", l_flow_http}, {"content", l_flow_content},
    {"state", l_flow_state}, {"growth", l_flow_growth}, {NULL, NULL}};
// clang-format on

/* flow.<field>: src_ip, dest_ip, src_port, dest_port, proto, ip_version,
 * flow_id, direction, app_proto, ndpi_proto, category, hostname, sni,
 * hook; or a method. */
static int l_flow_index(lua_State *L)
{
    const char *k = luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1; /* a method */
    lua_pop(L, 1);
    const rule_view *v = check_flow(L, 1);
    rule_file *f = rules_ctx(L);
    if (strcmp(k, "src_ip") == 0)
        lua_pushstring(L, v->src_ip);
    else if (strcmp(k, "dest_ip") == 0)
        lua_pushstring(L, v->dest_ip);
    else if (strcmp(k, "src_port") == 0)
        lua_pushinteger(L, v->src_port);
    else if (strcmp(k, "dest_port") == 0)
        lua_pushinteger(L, v->dest_port);
    else if (strcmp(k, "proto") == 0)
        push_str_or_nil(L, v->proto);
    else if (strcmp(k, "ip_version") == 0)
        lua_pushinteger(L, v->ip_v);
    else if (strcmp(k, "flow_id") == 0)
        lua_pushinteger(L, (lua_Integer)v->flow_id);
    else if (strcmp(k, "direction") == 0)
        push_str_or_nil(L, v->direction);
    else if (strcmp(k, "app_proto") == 0)
        push_str_or_nil(L, v->app_proto);
    else if (strcmp(k, "ndpi_proto") == 0)
        push_str_or_nil(L, v->ndpi_proto);
    else if (strcmp(k, "category") == 0)
        push_str_or_nil(L, v->category);
    else if (strcmp(k, "hostname") == 0)
        push_str_or_nil(L, v->hostname);
    else if (strcmp(k, "sni") == 0)
        push_str_or_nil(L, v->sni);
    else if (strcmp(k, "hook") == 0)
        lua_pushstring(L, rules_hook_name(f->cur_hook));
    else
        return luaL_error(L, "flow has no field '%s'", k);
    return 1;
}

static int l_flow_tostring(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    lua_pushfstring(L, "flow %s:%d -> %s:%d", v->src_ip, (int)v->src_port, v->dest_ip,
                    (int)v->dest_port);
    return 1;
}

static int l_readonly(lua_State *L)
{
    return luaL_error(L, "flow views are read-only");
}

/* ---- alert{} and why ---- */

static void why_value(lua_State *L, int idx, jw *w, const char *key, int depth);

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void why_table(lua_State *L, int t, jw *w, const char *key, int depth)
{
    luaL_checkstack(L, 10, "alert why: nested too deep");
    t = lua_absindex(L, t);
    size_t n = lua_rawlen(L, t), count = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        count++;
    }
    if (n > 0 && count == n) { /* a list */
        jw_arr_open(w, key);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, t, (lua_Integer)i);
            why_value(L, -1, w, NULL, depth + 1);
            lua_pop(L, 1);
        }
        jw_arr_close(w);
        return;
    }
    /* a record: string keys, sorted; other keys as their text */
    lua_createtable(L, 0, (int)count); /* name -> value */
    int m = lua_gettop(L);
    const char **names = lua_newuserdatauv(L, sizeof(char *) * (count ? count : 1), 0);
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        int kt = lua_type(L, -2);
        if (kt == LUA_TSTRING || kt == LUA_TNUMBER) {
            lua_pushvalue(L, -2);
            luaL_tolstring(L, -1, NULL); /* text of the key, anchored in m below */
            lua_remove(L, -2);
            lua_pushvalue(L, -1);
            lua_pushvalue(L, -3);
            lua_rawset(L, m);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    while (lua_next(L, m)) {
        lua_pop(L, 1);
        if (k < count) names[k++] = lua_tostring(L, -1); /* anchored as keys of m */
    }
    qsort(names, k, sizeof(*names), cmp_cstr);
    jw_obj_open(w, key);
    for (size_t i = 0; i < k; i++) {
        lua_getfield(L, m, names[i]);
        why_value(L, -1, w, names[i], depth + 1);
        lua_pop(L, 1);
    }
    jw_obj_close(w);
    lua_settop(L, m - 1);
}

static void why_value(lua_State *L, int idx, jw *w, const char *key, int depth)
{
    if (depth > 8) luaL_error(L, "alert why: nested too deep");
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            jw_i64(w, key, lua_tointeger(L, idx));
        else {
            double d = lua_tonumber(L, idx);
            if (isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0)
                jw_i64(w, key, (int64_t)d);
            else
                jw_dbl(w, key, d);
        }
        break;
    case LUA_TBOOLEAN:
        jw_bool(w, key, lua_toboolean(L, idx));
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        jw_strn(w, key, s, n);
        break;
    }
    case LUA_TTABLE:
        why_table(L, idx, w, key, depth);
        break;
    default:
        jw_null(w, key);
        break;
    }
}

static bool valid_alert_field(const char *k)
{
    static const char *const f[] = {"why", "severity", "key", "suppress", NULL};
    for (const char *const *p = f; *p; p++)
        if (strcmp(k, *p) == 0) return true;
    return false;
}

/* Returns true when (rule, key|flow) is suppressed now; otherwise marks it. */
static bool suppressed(lua_State *L, rule_file *f, rule_def *d, const char *key, double sup_s)
{
    if (key) {
        lua_getfield(L, LUA_REGISTRYINDEX, REG_SUPPKEY);
        int t = lua_gettop(L);
        lua_pushfstring(L, "%d|%s", (int)d->sid, key);
        lua_pushvalue(L, -1);
        lua_rawget(L, t);
        bool known = !lua_isnil(L, -1);
        if (known && (uint64_t)lua_tointeger(L, -1) > f->now_us) {
            lua_settop(L, t - 1);
            return true;
        }
        lua_pop(L, 1);
        if (!known && f->n_supp_keys >= RULES_SUPP_KEY_CAP) { /* drop expired marks */
            lua_pushnil(L);
            while (lua_next(L, t)) {
                if ((uint64_t)lua_tointeger(L, -1) <= f->now_us) {
                    lua_pushvalue(L, -2);
                    lua_pushnil(L);
                    lua_rawset(L, t);
                    f->n_supp_keys--;
                }
                lua_pop(L, 1);
            }
        }
        if (known || f->n_supp_keys < RULES_SUPP_KEY_CAP) {
            lua_pushinteger(L, (lua_Integer)(f->now_us + to_us(sup_s)));
            lua_rawset(L, t);
            if (!known) f->n_supp_keys++;
        }
        lua_settop(L, t - 1);
        return false;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, REG_SUPPFLOW);
    if (lua_rawgeti(L, -1, (lua_Integer)f->cur_view->flow_id) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, (lua_Integer)f->cur_view->flow_id);
    }
    bool seen = lua_rawgeti(L, -1, d->sid) != LUA_TNIL;
    lua_pop(L, 1);
    if (!seen) {
        lua_pushboolean(L, 1);
        lua_rawseti(L, -2, d->sid);
    }
    lua_pop(L, 2);
    return seen;
}

/* alert{ why = {...}, severity = 1..3, key = "...", suppress = seconds|false }
 * -> true if raised, false if suppressed. */
static int l_alert(lua_State *L)
{
    rule_file *f = rules_ctx(L);
    if (!f->in_call || !f->cur_rule) return luaL_error(L, "alert{} outside a hook call");
    rule_def *d = f->cur_rule;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING || !valid_alert_field(lua_tostring(L, -1)))
            return luaL_error(L, "alert: unknown field '%s'", luaL_tolstring(L, -1, NULL));
    }
    int sev = d->severity;
    if (lua_getfield(L, 1, "severity") != LUA_TNIL) {
        int isint;
        lua_Integer s = lua_tointegerx(L, -1, &isint);
        if (!isint || s < 1 || s > 3) return luaL_error(L, "alert: severity must be 1, 2 or 3");
        sev = (int)s;
    }
    lua_pop(L, 1);
    const char *key = NULL;
    int kt = lua_getfield(L, 1, "key"); /* stays on the stack (anchors key) */
    if (kt == LUA_TNUMBER)
        lua_tostring(L, -1); /* converts in place */
    else if (kt != LUA_TNIL && kt != LUA_TSTRING)
        return luaL_error(L, "alert: key must be a string");
    if (kt != LUA_TNIL) key = lua_tostring(L, -1);
    double sup = key ? d->suppress_s : 1; /* per flow: any value > 0 */
    int st = lua_getfield(L, 1, "suppress");
    if (st == LUA_TBOOLEAN && !lua_toboolean(L, -1))
        sup = 0;
    else if (st == LUA_TNUMBER && lua_tonumber(L, -1) >= 0)
        sup = lua_tonumber(L, -1);
    else if (st != LUA_TNIL)
        return luaL_error(L, "alert: suppress must be seconds or false");
    lua_pop(L, 1);
    if (sup > 0 && suppressed(L, f, d, key, sup)) {
        d->suppressed++;
        lua_pushboolean(L, 0);
        return 1;
    }
    jw *w = &f->owner->why;
    jw_reset(w);
    if (lua_getfield(L, 1, "why") == LUA_TTABLE)
        why_table(L, -1, w, NULL, 0);
    else if (lua_isnil(L, -1)) {
        jw_obj_open(w, NULL);
        jw_obj_close(w);
    } else
        return luaL_error(L, "alert: why must be a table");
    lua_pop(L, 1);
    const char *json = jw_text(w);
    if (!json) return luaL_error(L, "alert: out of memory");
    rule_alert a = {.sid = d->sid,
                    .rev = d->rev,
                    .severity = sev,
                    .signature = d->name,
                    .category = d->category,
                    .rule_file = f->path,
                    .why_json = json,
                    .why_len = w->len,
                    .key = key};
    d->alerts++;
    if (f->owner->cfg.on_alert) f->owner->cfg.on_alert(f->owner->cfg.ud, f->cur_view, &a);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- egret.* ---- */

/* egret.config(key [, default]) -> value: dotted key into the config;
 * default when absent.  A string value is coerced to the default's type
 * (number; list from "a,b,c"). */
static int l_config(lua_State *L)
{
    rule_file *f = rules_ctx(L);
    const char *key = luaL_checkstring(L, 1);
    lua_settop(L, 2);
    if (!rules_config_push(f->owner, L, key)) {
        lua_pushvalue(L, 2);
        return 1;
    }
    int dt = lua_type(L, 2), vt = lua_type(L, 3);
    if (dt == LUA_TNIL || dt == vt) return 1;
    if (dt == LUA_TNUMBER && vt == LUA_TSTRING && lua_stringtonumber(L, lua_tostring(L, 3)))
        return 1;
    if (dt == LUA_TTABLE && vt == LUA_TSTRING) { /* "CN,RU" -> {"CN","RU"} */
        const char *s = lua_tostring(L, 3);
        lua_newtable(L);
        int n = 0;
        while (*s) {
            const char *c = strchr(s, ',');
            size_t len = c ? (size_t)(c - s) : strlen(s);
            while (len && *s == ' ') s++, len--;
            while (len && s[len - 1] == ' ') len--;
            if (len) {
                lua_pushlstring(L, s, len);
                lua_rawseti(L, -2, ++n);
            }
            if (!c) break;
            s = c + 1;
        }
        return 1;
    }
    return luaL_error(L, "config '%s' is a %s, expected a %s", key, lua_typename(L, vt),
                      lua_typename(L, dt));
}

/* egret.now() -> seconds: packet time of the current event (0 while loading). */
static int l_now(lua_State *L)
{
    lua_pushnumber(L, secs(rules_ctx(L)->now_us));
    return 1;
}

/* egret.log(...): an info line through on_log, rate-limited per file. */
static int l_log(lua_State *L)
{
    rule_file *f = rules_ctx(L);
    if (f->now_us >= f->log_t0 + 60000000ull || f->now_us < f->log_t0) {
        f->log_t0 = f->now_us;
        f->log_n = 0;
    }
    if (f->log_n >= RULES_LOG_PER_MIN) {
        f->log_dropped++;
        return 0;
    }
    f->log_n++;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        luaL_tolstring(L, i, NULL);
        if (i > 1) luaL_addchar(&b, ' ');
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    const char *msg = lua_tostring(L, -1);
    if (f->cur_rule && f->in_call)
        rules_logf(f->owner, 2, "rule %u: %.512s", f->cur_rule->sid, msg);
    else
        rules_logf(f->owner, 2, "%s: %.512s", f->path, msg);
    return 0;
}

/* egret.key(a, b, ...) -> "a|b|...": a composite key. */
static int l_key(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, '|');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return 1;
}

static bool parse_ip(const char *s, size_t n, uint8_t out[16], int *fam)
{
    char buf[64];
    if (n >= sizeof(buf)) return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (inet_pton(AF_INET, buf, out) == 1) {
        *fam = 4;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out) == 1) {
        *fam = 6;
        return true;
    }
    return false;
}

/* ---- egret.ip_in: CIDR lists parsed once ---- */

/* A CIDR list as egret.ip_in reads it: the prefixes before its first bad
 * item, and that item's error.  Items are checked in order and the first
 * one containing the address answers, so an address inside an earlier
 * item is in the list even when a later item is malformed; otherwise the
 * bad item raises. */
typedef struct cidr_list {
    netset *set;
    char *err; /* message of the first bad item, or NULL */
} cidr_list;

/* A netset's memory is outside the rule file's memory cap, so the cache is
 * bounded: at most IPIN_CACHE_MAX lists of at most IPIN_CACHE_LEN bytes
 * each; other lists are parsed per call and their netset freed at once. */
#define CIDRLIST_MT    "egret.cidrlist"
#define REG_IPIN       "egret.ipin"   /* list text -> cidr_list userdata */
#define REG_IPIN_N     "egret.ipin.n" /* entries in REG_IPIN */
#define IPIN_CACHE_MAX 64
#define IPIN_CACHE_LEN 1024

static void cidr_list_clear(cidr_list *c)
{
    netset_free(c->set);
    free(c->err);
    c->set = NULL;
    c->err = NULL;
}

/* Parses 'list' ("10.0.0.0/8, fd00::/8"; empty items skipped).  Returns
 * 0, or -1 out of memory. */
static int cidr_list_parse(cidr_list *c, const char *list)
{
    if (!(c->set = netset_new())) return -1;
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *s = p;
        if (n) {
            while (n && *s == ' ') s++, n--;
            while (n && s[n - 1] == ' ') n--;
            netset_prefix pf;
            netset_perr st = netset_parse(s, n, &pf, NULL);
            if (st == NETSET_BAD_LEN || st == NETSET_LONG_LEN) {
                c->err = strdup("ip_in: bad prefix length");
                return c->err ? 0 : -1;
            }
            if (st != NETSET_OK) {
                size_t m = n + sizeof("ip_in: bad prefix ''");
                if (!(c->err = malloc(m))) return -1;
                snprintf(c->err, m, "ip_in: bad prefix '%.*s'", (int)n, s);
                return 0;
            }
            pf.value = 1;
            if (netset_add_prefix(c->set, &pf, NULL, 0) != 0) return -1;
        }
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

static int l_cidr_list_gc(lua_State *L)
{
    cidr_list_clear(luaL_checkudata(L, 1, CIDRLIST_MT));
    return 0;
}

/* [-0, +(0|1), m] The parsed form of 'list': from this rule file's cache,
 * or parsed into it; when the cache is full or the list long, parsed into
 * a new userdata left on the stack (*cached false). */
static cidr_list *cidr_list_get(lua_State *L, const char *list, bool *cached)
{
    lua_getfield(L, LUA_REGISTRYINDEX, REG_IPIN);
    if (lua_getfield(L, -1, list) == LUA_TUSERDATA) {
        cidr_list *c = lua_touserdata(L, -1);
        lua_pop(L, 2); /* the cache keeps it */
        *cached = true;
        return c;
    }
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_IPIN_N);
    lua_Integer n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    *cached = n < IPIN_CACHE_MAX && strlen(list) <= IPIN_CACHE_LEN;
    cidr_list *c = lua_newuserdatauv(L, sizeof(*c), 0);
    c->set = NULL;
    c->err = NULL;
    luaL_setmetatable(L, CIDRLIST_MT); /* from here __gc frees what parse made */
    if (cidr_list_parse(c, list) != 0) luaL_error(L, "ip_in: out of memory");
    if (!*cached) {
        lua_remove(L, -2);
        return c;
    }
    lua_setfield(L, -2, list);
    lua_pop(L, 1);
    lua_pushinteger(L, n + 1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_IPIN_N);
    return c;
}

/* Is the address in 'list'?  Raises the list's error when it is not in
 * the items before the bad one. */
static bool list_has(lua_State *L, const char *list, const uint8_t ip[16], int fam)
{
    int top = lua_gettop(L);
    bool cached;
    cidr_list *c = cidr_list_get(L, list, &cached);
    bool hit = netset_lookup(c->set, fam, ip, NULL);
    if (!cached) { /* its prefixes go now, not whenever Lua collects it */
        netset_free(c->set);
        c->set = NULL;
    }
    if (!hit && c->err) luaL_error(L, "%s", c->err);
    lua_settop(L, top);
    return hit;
}

/* egret.ip_in(ip, prefixes) -> boolean; prefixes: "10.0.0.0/8,fd00::/8" or a list. */
static int l_ip_in(lua_State *L)
{
    size_t n;
    const char *ip = luaL_checklstring(L, 1, &n);
    uint8_t a[16];
    int fam;
    if (!parse_ip(ip, n, a, &fam)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    bool hit = false;
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_Integer len = (lua_Integer)lua_rawlen(L, 2);
        for (lua_Integer i = 1; i <= len && !hit; i++) {
            lua_rawgeti(L, 2, i);
            const char *s = lua_tostring(L, -1);
            if (s) hit = list_has(L, s, a, fam);
            lua_pop(L, 1);
        }
    } else if (!lua_isnoneornil(L, 2)) {
        hit = list_has(L, luaL_checkstring(L, 2), a, fam);
    }
    lua_pushboolean(L, hit);
    return 1;
}

/* egret.state.flow(flow) -> per-flow table (same as flow:state()). */
static int l_state_flow(lua_State *L)
{
    push_flow_state(L, check_flow(L, 1)->flow_id);
    return 1;
}

/* egret.state.key(key [, ttl_s = 3600]) -> table private to this rule file
 * and key; dropped ttl_s after its last use (packet time).  At the cap,
 * the entry closest to expiry is dropped. */
static int l_state_key(lua_State *L)
{
    rule_file *f = rules_ctx(L);
    luaL_checkany(L, 1);
    double ttl = luaL_optnumber(L, 2, 3600);
    lua_settop(L, 2);
    luaL_tolstring(L, 1, NULL);                       /* 3 = key text */
    lua_getfield(L, LUA_REGISTRYINDEX, REG_KEYSTATE); /* 4 */
    lua_getfield(L, LUA_REGISTRYINDEX, REG_KEYEXP);   /* 5 */
    uint64_t exp = f->now_us + to_us(ttl);
    lua_pushvalue(L, 3);
    bool live = lua_rawget(L, 5) == LUA_TNUMBER && (uint64_t)lua_tointeger(L, -1) > f->now_us;
    bool known = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!known && f->n_key_states >= RULES_KEY_STATE_CAP) {
        /* drop expired entries, else the one closest to expiry */
        lua_Integer best = -1;
        lua_pushnil(L);
        while (lua_next(L, 5)) {
            lua_Integer e = lua_tointeger(L, -1);
            if ((uint64_t)e <= f->now_us) {
                lua_pushvalue(L, -2);
                lua_pushnil(L);
                lua_rawset(L, 4);
                lua_pushvalue(L, -2);
                lua_pushnil(L);
                lua_rawset(L, 5);
                f->n_key_states--;
            } else if (best < 0 || e < best) {
                best = e;
                lua_pushvalue(L, -2);
                lua_replace(L, 2); /* victim key (ttl already read) */
            }
            lua_pop(L, 1);
        }
        if (f->n_key_states >= RULES_KEY_STATE_CAP && best >= 0) {
            lua_pushvalue(L, 2);
            lua_pushnil(L);
            lua_rawset(L, 4);
            lua_pushvalue(L, 2);
            lua_pushnil(L);
            lua_rawset(L, 5);
            f->n_key_states--;
        }
    }
    lua_pushvalue(L, 3);
    lua_pushinteger(L, (lua_Integer)exp);
    lua_rawset(L, 5);
    lua_pushvalue(L, 3);
    if (live && lua_rawget(L, 4) == LUA_TTABLE) return 1;
    if (live)
        lua_pop(L, 1);
    else
        lua_pop(L, 1);
    if (!known) f->n_key_states++;
    lua_newtable(L);
    lua_pushvalue(L, 3);
    lua_pushvalue(L, -2);
    lua_rawset(L, 4);
    return 1;
}

/* ---- windows ---- */

static rule_window *check_window(lua_State *L)
{
    window_ud *u = luaL_checkudata(L, 1, WINDOW_MT);
    rule_file *f = rules_ctx(L);
    if (u->idx >= f->n_wins) luaL_error(L, "bad window");
    return &f->wins[u->idx];
}

static const char *window_key(lua_State *L, int i, size_t *n)
{
    int t = lua_type(L, i);
    if (t != LUA_TSTRING && t != LUA_TNUMBER) luaL_typeerror(L, i, "string key");
    const char *k = lua_tolstring(L, i, n);
    if (*n > WINDOW_MAX_KEY) luaL_error(L, "window key longer than %d bytes", WINDOW_MAX_KEY);
    return k;
}

static uint64_t opt_now(lua_State *L, int i)
{
    if (lua_isnoneornil(L, i)) return rules_ctx(L)->now_us;
    return to_us(luaL_checknumber(L, i));
}

/* w:add(key, {field = number, ...} [, now_s]) */
static int l_window_add(lua_State *L)
{
    rule_window *rw = check_window(L);
    size_t n;
    const char *k = window_key(L, 2, &n);
    luaL_checktype(L, 3, LUA_TTABLE);
    double vals[WINDOW_MAX_FIELDS] = {0};
    lua_pushnil(L);
    while (lua_next(L, 3)) {
        const char *fname = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        uint32_t i;
        for (i = 0; i < rw->n_fields; i++)
            if (strcmp(fname, rw->fields[i]) == 0) break;
        if (i == rw->n_fields)
            return luaL_error(L, "window '%s' has no field '%s'", rw->name, fname);
        if (!lua_isnumber(L, -1))
            return luaL_error(L, "window '%s': field '%s' must be a number", rw->name, fname);
        vals[i] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    window_add(rw->w, k, n, vals, opt_now(L, 4));
    return 0;
}

/* w:get(key [, now_s]) -> {<fields>, first, last, active_buckets, span} or nil */
static int l_window_get(lua_State *L)
{
    rule_window *rw = check_window(L);
    size_t n;
    const char *k = window_key(L, 2, &n);
    double out[WINDOW_MAX_FIELDS];
    window_info info;
    if (!window_get(rw->w, k, n, opt_now(L, 3), out, &info)) return 0;
    lua_createtable(L, 0, (int)rw->n_fields + 4);
    for (uint32_t i = 0; i < rw->n_fields; i++) {
        if (out[i] == floor(out[i]) && fabs(out[i]) < 9.0e15)
            lua_pushinteger(L, (lua_Integer)out[i]);
        else
            lua_pushnumber(L, out[i]);
        lua_setfield(L, -2, rw->fields[i]);
    }
    lua_pushnumber(L, secs(info.first_us));
    lua_setfield(L, -2, "first");
    lua_pushnumber(L, secs(info.last_us));
    lua_setfield(L, -2, "last");
    lua_pushinteger(L, info.active_buckets);
    lua_setfield(L, -2, "active_buckets");
    lua_pushnumber(L, secs(window_span_us(rw->w)));
    lua_setfield(L, -2, "span");
    return 1;
}

/* w:series(key, field [, now_s]) -> list of per-bucket sums, oldest first */
static int l_window_series(lua_State *L)
{
    rule_window *rw = check_window(L);
    size_t n;
    const char *k = window_key(L, 2, &n);
    const char *fname = luaL_checkstring(L, 3);
    uint32_t fi;
    for (fi = 0; fi < rw->n_fields; fi++)
        if (strcmp(fname, rw->fields[fi]) == 0) break;
    if (fi == rw->n_fields) return luaL_error(L, "window '%s' has no field '%s'", rw->name, fname);
    uint64_t now = opt_now(L, 4);
    uint32_t nb = window_n_buckets(rw->w);
    double *buf = lua_newuserdatauv(L, sizeof(double) * nb, 0);
    size_t got = window_series(rw->w, k, n, now, fi, buf, nb);
    lua_createtable(L, (int)got, 0);
    for (size_t i = 0; i < got; i++) {
        lua_pushnumber(L, buf[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* egret.window(name, span_s [, {buckets = 60, fields = {"bytes","requests","flows"}}])
 * -> window; the same name returns the same window (per rule file). */
static int l_window(lua_State *L)
{
    rule_file *f = rules_ctx(L);
    const char *name = luaL_checkstring(L, 1);
    double span = luaL_checknumber(L, 2);
    luaL_argcheck(L, span >= 1 && span <= 86400 * 31, 2, "span must be 1 s .. 31 days");
    lua_Integer nb = 60;
    if (lua_type(L, 3) == LUA_TTABLE) {
        if (lua_getfield(L, 3, "buckets") != LUA_TNIL) nb = luaL_checkinteger(L, -1);
        lua_pop(L, 1);
    } else if (!lua_isnoneornil(L, 3))
        luaL_typeerror(L, 3, "table");
    luaL_argcheck(L, nb >= 1 && nb <= WINDOW_MAX_BUCKETS, 3, "buckets out of range");
    size_t idx;
    for (idx = 0; idx < f->n_wins; idx++)
        if (strcmp(f->wins[idx].name, name) == 0) break;
    if (idx < f->n_wins) {
        if (window_span_us(f->wins[idx].w) != to_us(span))
            return luaL_error(L, "window '%s' already exists with another span", name);
    } else {
        if (f->n_wins >= MAX_WINDOWS)
            return luaL_error(L, "too many windows (max %d per file)", MAX_WINDOWS);
        const char *dflt[] = {"bytes", "requests", "flows"};
        const char *names[WINDOW_MAX_FIELDS];
        uint32_t nf = 0;
        if (lua_type(L, 3) == LUA_TTABLE && lua_getfield(L, 3, "fields") == LUA_TTABLE) {
            lua_Integer len = (lua_Integer)lua_rawlen(L, -1);
            if (len < 1 || len > WINDOW_MAX_FIELDS)
                return luaL_error(L, "window fields: 1..%d names", WINDOW_MAX_FIELDS);
            for (lua_Integer i = 1; i <= len; i++) {
                lua_rawgeti(L, -1, i);
                if (lua_type(L, -1) != LUA_TSTRING)
                    return luaL_error(L, "field names must be strings");
                names[nf++] = lua_tostring(L, -1);
                lua_pop(L, 1); /* still anchored by the fields table */
            }
        } else {
            for (int i = 0; i < 3; i++) names[nf++] = dflt[i];
        }
        rule_window *nw = realloc(f->wins, sizeof(*nw) * (f->n_wins + 1));
        if (!nw) return luaL_error(L, "out of memory");
        f->wins = nw;
        rule_window *rw = &f->wins[f->n_wins];
        memset(rw, 0, sizeof(*rw));
        rw->w = window_new(to_us(span), (uint32_t)nb, nf, f->owner->cfg.window_keys_cap);
        rw->name = malloc(strlen(name) + 1);
        bool ok = rw->w && rw->name;
        if (rw->name) strcpy(rw->name, name);
        rw->n_fields = nf;
        for (uint32_t i = 0; i < nf; i++) {
            rw->fields[i] = malloc(strlen(names[i]) + 1);
            if (rw->fields[i])
                strcpy(rw->fields[i], names[i]);
            else
                ok = false;
        }
        f->n_wins++; /* freed by rules_lib_free_windows either way */
        if (!ok) return luaL_error(L, "window '%s': out of memory or bad parameters", name);
        idx = f->n_wins - 1;
    }
    window_ud *u = lua_newuserdatauv(L, sizeof(*u), 0);
    u->idx = idx;
    luaL_setmetatable(L, WINDOW_MT);
    return 1;
}

void rules_lib_free_windows(rule_file *f)
{
    for (size_t i = 0; i < f->n_wins; i++) {
        window_free(f->wins[i].w);
        free(f->wins[i].name);
        for (uint32_t k = 0; k < f->wins[i].n_fields; k++) free(f->wins[i].fields[k]);
    }
    free(f->wins);
    f->wins = NULL;
    f->n_wins = 0;
}

/* [-0, +0, -] Drops registry table reg's entry for the flow; true if there
 * was one.  rawget and assigning nil to an existing key never allocate. */
static bool drop_flow_entry(lua_State *L, const char *reg, uint64_t flow_id)
{
    int top = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, reg);
    bool had = lua_rawgeti(L, -1, (lua_Integer)flow_id) != LUA_TNIL;
    if (had) {
        lua_pushnil(L);
        lua_rawseti(L, -3, (lua_Integer)flow_id);
    }
    lua_settop(L, top);
    return had;
}

void rules_lib_flow_forget(rule_file *f, uint64_t flow_id)
{
    if (drop_flow_entry(f->L, REG_FLOWSTATE, flow_id)) f->n_flow_states--;
    if (drop_flow_entry(f->L, REG_GROWTH, flow_id)) f->n_growth_states--;
    drop_flow_entry(f->L, REG_SUPPFLOW, flow_id);
}

// clang-format off
static const luaL_Reg egret_lib[] = {
    {"config", l_config}, {"now", l_now}, {"log", l_log}, {"key", l_key},
    {"ip_in", l_ip_in}, {"window", l_window}, {"alert", l_alert}, {NULL, NULL}};
static const luaL_Reg state_lib[] = {
    {"flow", l_state_flow}, {"key", l_state_key}, {NULL, NULL}};
static const luaL_Reg window_methods[] = {
    {"add", l_window_add}, {"get", l_window_get}, {"series", l_window_series}, {NULL, NULL}};
// clang-format on

void rules_lib_open(lua_State *L)
{
    /* flow metatable: methods through __index, read-only, locked */
    luaL_newmetatable(L, FLOW_MT);
    luaL_newlib(L, flow_methods);
    lua_pushcclosure(L, l_flow_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_readonly);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, l_flow_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    luaL_newmetatable(L, WINDOW_MT);
    luaL_newlib(L, window_methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    luaL_newmetatable(L, CIDRLIST_MT);
    lua_pushcfunction(L, l_cidr_list_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    const char *regs[] = {REG_FLOWSTATE, REG_KEYSTATE, REG_KEYEXP, REG_SUPPFLOW,
                          REG_SUPPKEY,   REG_IPIN,     REG_GROWTH};
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        lua_newtable(L);
        lua_setfield(L, LUA_REGISTRYINDEX, regs[i]);
    }
    luaL_newlib(L, egret_lib);
    luaL_newlib(L, state_lib);
    lua_setfield(L, -2, "state");
    for (int h = 0; h < RH__COUNT; h++) { /* egret.hooks = {"on_classified", ...} */
        if (h == 0) lua_createtable(L, RH__COUNT, 0);
        lua_pushstring(L, rules_hook_name((rule_hook)h));
        lua_rawseti(L, -2, h + 1);
    }
    lua_setfield(L, -2, "hooks");
    lua_getfield(L, -1, "alert");
    lua_setglobal(L, "alert");
    lua_getfield(L, -1, "log"); /* print is egret.log: rate-limited */
    lua_setglobal(L, "print");
    lua_setglobal(L, "egret");
}
