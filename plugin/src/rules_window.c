/*
 * rules_window.c -- egret.window: named sliding windows of per-key counters
 * (window.c) that a rule file declares once and its rules add to and read
 * (w:add, w:get, w:series).  The windows belong to the rule file and are
 * freed with it.
 */
#include "rules_int.h"

#include <stdlib.h>
#include <string.h>

#define WINDOW_MT   "egret.window"
#define MAX_WINDOWS 32

typedef struct window_ud {
    size_t idx;
} window_ud;

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
    uint64_t now = opt_now(L, 4);
    if (window_add(rw->w, k, n, vals, now) == 0 && rw->fleet)
        rules_fleet_note_add(rules_ctx(L)->owner, rw, k, n, vals, now);
    return 0;
}

/* w:get(key [, now_s]) -> {<fields>, first, last, active_buckets, span, fleet
 * [, sensor, sensors]} or nil; fleet: the sums are the fleet's (sensors:
 * field 1 per sensor name, sensor: this one's name) */
static int l_window_get(lua_State *L)
{
    rule_window *rw = check_window(L);
    size_t n;
    const char *k = window_key(L, 2, &n);
    double out[WINDOW_MAX_FIELDS];
    window_info info;
    uint64_t now = opt_now(L, 3);
    if (!window_get(rw->w, k, n, now, out, &info)) return 0;
    /* fleet-wide: the fleet's sums, and field 0 per sensor ('sensors') */
    bool fleet = rw->fleet && rules_fleet_get(L, rules_ctx(L)->owner, rw, k, n, now, out);
    lua_createtable(L, 0, (int)rw->n_fields + 7);
    if (fleet) {
        lua_insert(L, -2);
        lua_setfield(L, -2, "sensors");
        lua_pushstring(L, rules_fleet_sensor(rules_ctx(L)->owner));
        lua_setfield(L, -2, "sensor");
    }
    lua_pushboolean(L, fleet);
    lua_setfield(L, -2, "fleet");
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

/* egret.window(name, span_s [, {buckets = 60, fields = {"bytes","requests","flows"},
 *                               fleet = false}])
 * -> window; the same name returns the same window (per rule file). */
int rules_window_new(lua_State *L)
{
    rule_file *f = rules_ctx(L);
    const char *name = luaL_checkstring(L, 1);
    double span = luaL_checknumber(L, 2);
    luaL_argcheck(L, span >= 1 && span <= 86400 * 31, 2, "span must be 1 s .. 31 days");
    lua_Integer nb = 60;
    bool fleet = false;
    if (lua_type(L, 3) == LUA_TTABLE) {
        if (lua_getfield(L, 3, "buckets") != LUA_TNIL) nb = luaL_checkinteger(L, -1);
        lua_pop(L, 1);
        int ft = lua_getfield(L, 3, "fleet");
        if (ft != LUA_TNIL && ft != LUA_TBOOLEAN) luaL_typeerror(L, 3, "fleet = boolean");
        fleet = lua_toboolean(L, -1);
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
        /* fleet-wide only with a store: otherwise the local window alone */
        if (fleet && f->owner->cfg.fleet) {
            rw->fleet = rules_fleet_win_new();
            if (!rw->fleet) ok = false;
        }
        f->n_wins++; /* freed by rules_window_free_all either way */
        if (!ok) return luaL_error(L, "window '%s': out of memory or bad parameters", name);
        idx = f->n_wins - 1;
    }
    window_ud *u = lua_newuserdatauv(L, sizeof(*u), 0);
    u->idx = idx;
    luaL_setmetatable(L, WINDOW_MT);
    return 1;
}

void rules_window_free_all(rule_file *f)
{
    for (size_t i = 0; i < f->n_wins; i++) {
        window_free(f->wins[i].w);
        rules_fleet_win_free(f->wins[i].fleet);
        free(f->wins[i].name);
        for (uint32_t k = 0; k < f->wins[i].n_fields; k++) free(f->wins[i].fields[k]);
    }
    free(f->wins);
    f->wins = NULL;
    f->n_wins = 0;
}

// clang-format off
static const luaL_Reg window_methods[] = {
    {"add", l_window_add}, {"get", l_window_get}, {"series", l_window_series}, {NULL, NULL}};
// clang-format on

void rules_window_open(lua_State *L)
{
    luaL_newmetatable(L, WINDOW_MT);
    luaL_newlib(L, window_methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}
