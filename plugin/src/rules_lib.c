/*
 * rules_lib.c -- the egret library a rule sees (rules/README.md is the
 * author's reference): alert{} with suppression,
 * egret.config/state/log/now/key/ip_in, the why-to-JSON serialiser (sorted
 * keys, so alerts are deterministic), and the opener that installs it with
 * the flow view (rules_flow.c) and egret.window (rules_window.c).
 *
 * Built on the host's small interface in rules_int.h (rules_ctx,
 * rules_logf, rules_config_push); the host calls only rules_lib_open and
 * rules_lib_flow_forget.  Per-flow state, per-key state and suppression marks
 * live in registry tables of the rule file's own lua_State (so they count
 * against its memory cap) with explicit count caps.
 */
#include "netset.h"
#include "rules.h"
#include "conf_keys.h"
#include "rules_int.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    /* a fleet rule's alert is raised once per fleet: the store decides */
    if (sup > 0 && (suppressed(L, f, d, key, sup) ||
                    rules_fleet_claimed_elsewhere(f->owner, d, key, f->now_us, sup))) {
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
    rules_config_declare(f->owner, key, lua_type(L, 2));
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
    /* A value of the wrong type is the configuration's error, not the
     * rule's: the rule gets its default, rules_config_validate reports the
     * value with its FILE:LINE (and the host refuses to start). */
    lua_pushvalue(L, 2);
    return 1;
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
    int n = lua_gettop(L); /* before luaL_buffinit, which may push a box of its own */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        luaL_tolstring(L, i, NULL);
        if (i > 1) luaL_addchar(&b, ' ');
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    const char *msg = lua_tostring(L, -1);
    if (f->cur_rule && f->in_call)
        rules_logf(f->owner, RULES_LOG_RULE, "rule %u (%s): %.512s", f->cur_rule->sid,
                   f->cur_rule->name, msg);
    else
        rules_logf(f->owner, RULES_LOG_RULE, "%s: %.512s", f->path, msg);
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
    {"ip_in", l_ip_in}, {"window", rules_window_new}, {"alert", l_alert}, {NULL, NULL}};
static const luaL_Reg state_lib[] = {
    {"flow", rules_flow_state}, {"key", l_state_key}, {NULL, NULL}};
// clang-format on

void rules_lib_open(lua_State *L)
{
    rules_flow_open(L);
    rules_window_open(L);
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
