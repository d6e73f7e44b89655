/*
 * rules_flow.c -- the flow view a rule's hook receives (userdata
 * "egret.flow"): fields through __index, methods (flow:bytes(), :ai(),
 * :delta(), :state(), :growth() ...) over the current call's rule_view.
 *
 * A flow view is a borrowed view: it carries the call generation it was
 * made for, and every access checks it against the file's current call,
 * so a view kept past its hook raises a Lua error instead of reading a
 * dead rule_view.
 */
#include "rules.h"
#include "rules_int.h"

#include <string.h>

#define FLOW_MT "egret.flow"

typedef struct flow_ud {
    uint64_t gen;
} flow_ud;

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

static void set_bool(lua_State *L, const char *k, bool v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
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

void rules_flow_push(lua_State *L)
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

static bool nonempty(const char *s)
{
    return s && s[0];
}

/* flow:tls() -> {sni, version, alpn, ja3}, or nil on a flow without TLS */
static int l_flow_tls(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    if (!nonempty(v->sni) && !nonempty(v->tls_version) && !nonempty(v->ja3) &&
        !nonempty(v->tls_alpn))
        return 0; /* nil: no TLS on this flow */
    lua_createtable(L, 0, 4);
    set_str(L, "sni", v->sni);
    set_str(L, "version", v->tls_version);
    set_str(L, "alpn", v->tls_alpn);
    set_str(L, "ja3", v->ja3);
    return 1;
}

/* flow:dns() -> {rrname, rrtype, rcode, answers = {...}}, or nil outside a DNS answer */
static int l_flow_dns(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    if (!nonempty(v->dns_rrname) && !nonempty(v->dns_rrtype))
        return 0; /* nil: no DNS on this flow */
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

/* flow:http() (nil without an HTTP request) -> {method, host, uri, user_agent, content_type,
 * body_len, status, protocol ("HTTP/1.1", "HTTP/2"), decrypted (from TLS with a key log), host_alt
 * (a second Host) and anomalies (a set: anomalies.host_duplicate == true; docs/EVASION.md)} */
static int l_flow_http(lua_State *L)
{
    const rule_view *v = check_flow(L, 1);
    if (!nonempty(v->http_method) && !v->http_status) return 0; /* nil: no HTTP on this flow */
    lua_createtable(L, 0, 9);
    set_str(L, "method", v->http_method);
    set_str(L, "host", v->http_host);
    set_str(L, "uri", v->http_uri);
    set_str(L, "user_agent", v->http_user_agent);
    set_str(L, "content_type", v->http_content_type);
    set_int(L, "body_len", (int64_t)v->http_body_len);
    if (v->http_status) set_int(L, "status", v->http_status);
    if (v->http_protocol) set_str(L, "protocol", v->http_protocol);
    set_bool(L, "decrypted", v->http_decrypted);
    if (nonempty(v->http_host_alt)) set_str(L, "host_alt", v->http_host_alt);
    lua_createtable(L, 0, 0);
    for (const char *p = v->http_anomalies; p && *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        lua_pushlstring(L, p, n);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        p += n + (e ? 1 : 0);
    }
    lua_setfield(L, -2, "anomalies");
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

/* flow:state() -> table private to this rule file and flow; dropped at flow end.
 * Also egret.state.flow(flow). */
int rules_flow_state(lua_State *L)
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
    {"state", rules_flow_state}, {"growth", l_flow_growth}, {NULL, NULL}};
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

void rules_flow_open(lua_State *L)
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
}
