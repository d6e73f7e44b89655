/*
 * rules_config.c -- the rules' configuration: a data-only Lua state built
 * from config_file, config_text and the --set overrides (cfg_*), and the
 * deep copy of a value into a rule file's state (egret.config).
 */
#include "fcheck.h"
#include "rules_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration (data only) ---- */

static bool is_sequence(lua_State *L, int t)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, t), k = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        k++;
    }
    return n > 0 && k == n;
}

/* dst[k] = src[k] recursively (records merge; lists and scalars replace). */
static void cfg_merge(lua_State *L, int dst, int src)
{
    luaL_checkstack(L, 8, "config nested too deep");
    dst = lua_absindex(L, dst);
    src = lua_absindex(L, src);
    lua_pushnil(L);
    while (lua_next(L, src)) {
        int v = lua_gettop(L);
        if (lua_type(L, v) == LUA_TTABLE && !is_sequence(L, v)) {
            lua_pushvalue(L, v - 1);
            if (lua_rawget(L, dst) == LUA_TTABLE) {
                cfg_merge(L, -1, v);
                lua_pop(L, 2);
                continue;
            }
            lua_pop(L, 1);
        }
        lua_pushvalue(L, v - 1);
        lua_pushvalue(L, v);
        lua_rawset(L, dst);
        lua_pop(L, 1);
    }
}

/* Loads 'src' as a data-only chunk (empty environment) and pushes its
 * table: the returned table, else the environment.  [-0, +1, e] */
static void cfg_eval(lua_State *L, const char *src, size_t n, const char *chunkname)
{
    if (luaL_loadbufferx(L, src, n, chunkname, "t") != LUA_OK) lua_error(L);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setupvalue(L, -3, 1); /* _ENV */
    lua_insert(L, -2);        /* env, chunk */
    lua_call(L, 0, 1);
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
}

char *rules_read_file(const char *path, size_t *n, char *err, size_t errlen)
{
    FILE *fp = fcheck_fopen(path, FCHECK_RULES_MAX, err, errlen);
    if (!fp) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (len < cap) break;
        if (cap > FCHECK_RULES_MAX) { /* grew while read */
            snprintf(err, errlen, "%s: file too large", path);
            free(buf);
            buf = NULL;
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
        cap *= 2;
    }
    if (!buf && !err[0]) snprintf(err, errlen, "%s: out of memory", path);
    fclose(fp);
    *n = len;
    return buf;
}

/* Value text of --set: true/false, a number, a {table} literal, or a string. */
static void push_set_value(lua_State *L, const char *v)
{
    if (strcmp(v, "true") == 0)
        lua_pushboolean(L, 1);
    else if (strcmp(v, "false") == 0)
        lua_pushboolean(L, 0);
    else if (v[0] == '{') {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        luaL_addstring(&b, "return ");
        luaL_addstring(&b, v);
        luaL_pushresult(&b);
        size_t n;
        const char *src = lua_tolstring(L, -1, &n);
        cfg_eval(L, src, n, "=--set");
        lua_remove(L, -2);
    } else if (lua_stringtonumber(L, v) == 0) {
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
            lua_pushlstring(L, v + 1, n - 2);
        else
            lua_pushstring(L, v);
    }
}

/* Applies one "a.b.c=value" to the config table at index 1. */
static int cfg_apply_set(lua_State *L)
{
    const char *set = lua_tostring(L, 2);
    const char *eq = strchr(set, '=');
    if (!eq || eq == set) return luaL_error(L, "--set '%s': expected key=value", set);
    lua_pushvalue(L, 1);
    const char *p = set;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(eq - p));
        size_t len = dot ? (size_t)(dot - p) : (size_t)(eq - p);
        if (len == 0) return luaL_error(L, "--set '%s': empty key part", set);
        lua_pushlstring(L, p, len);
        if (!dot) {
            push_set_value(L, eq + 1);
            lua_rawset(L, -3);
            return 0;
        }
        lua_pushvalue(L, -1);
        if (lua_rawget(L, -3) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -2);
            lua_pushvalue(L, -2);
            lua_rawset(L, -5); /* parent[part] = {} */
        }
        lua_remove(L, -2); /* part name */
        lua_remove(L, -2); /* parent */
        p = dot + 1;
    }
}

/* Builds the config table in the registry of r->cfgf.L.  Protected:
 * light userdata arg = rules. */
int rules_config_build(lua_State *L)
{
    struct rules *r = lua_touserdata(L, 1);
    lua_newtable(L); /* 2: config */
    if (r->cfg.config_file) {
        char err[256] = "";
        size_t n;
        char *src = rules_read_file(r->cfg.config_file, &n, err, sizeof(err));
        if (!src) return luaL_error(L, "%s", err);
        lua_pushfstring(L, "@%s", r->cfg.config_file);
        int st = luaL_loadbufferx(L, src, n, lua_tostring(L, -1), "t");
        free(src);
        if (st != LUA_OK) return lua_error(L);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setupvalue(L, -3, 1);
        lua_insert(L, -2);
        lua_call(L, 0, 1);
        if (lua_type(L, -1) != LUA_TTABLE)
            lua_pop(L, 1);
        else
            lua_remove(L, -2);
        lua_remove(L, -2); /* chunk name */
        cfg_merge(L, 2, -1);
        lua_pop(L, 1);
    }
    if (r->cfg.config_text) {
        cfg_eval(L, r->cfg.config_text, strlen(r->cfg.config_text), "=config_text");
        cfg_merge(L, 2, -1);
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < r->cfg.n_sets; i++) {
        lua_pushcfunction(L, cfg_apply_set);
        lua_pushvalue(L, 2);
        lua_pushstring(L, r->cfg.sets[i]);
        lua_call(L, 2, 0);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "egret.config");
    return 0;
}

/* Deep copy of the value on top of 'from' onto 'to'. [-0, +1, m] */
static void xcopy(lua_State *from, lua_State *to, int depth)
{
    luaL_checkstack(to, 4, "config value too deep");
    if (!lua_checkstack(from, 4)) {
        lua_pushnil(to);
        return;
    }
    switch (lua_type(from, -1)) {
    case LUA_TBOOLEAN:
        lua_pushboolean(to, lua_toboolean(from, -1));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(from, -1))
            lua_pushinteger(to, lua_tointeger(from, -1));
        else
            lua_pushnumber(to, lua_tonumber(from, -1));
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(from, -1, &n);
        lua_pushlstring(to, s, n);
        break;
    }
    case LUA_TTABLE:
        lua_newtable(to);
        if (depth > 16) break;
        lua_pushnil(from);
        while (lua_next(from, -2)) {
            lua_pushvalue(from, -2);
            xcopy(from, to, depth + 1); /* key */
            lua_pop(from, 1);
            xcopy(from, to, depth + 1); /* value */
            lua_pop(from, 1);
            lua_rawset(to, -3);
        }
        break;
    default:
        lua_pushnil(to);
        break;
    }
}

bool rules_config_push(struct rules *r, lua_State *L, const char *key)
{
    lua_State *C = r->cfgf.L;
    if (!C) return false;
    lua_settop(C, 0);
    if (lua_getfield(C, LUA_REGISTRYINDEX, "egret.config") != LUA_TTABLE) return false;
    /* a flat key wins ("a.b" as one name), else walk the dots */
    lua_getfield(C, 1, key);
    if (lua_isnil(C, -1)) {
        lua_settop(C, 1);
        const char *p = key;
        while (*p) {
            const char *dot = strchr(p, '.');
            size_t len = dot ? (size_t)(dot - p) : strlen(p);
            if (lua_type(C, -1) != LUA_TTABLE) {
                lua_settop(C, 0);
                return false;
            }
            lua_pushlstring(C, p, len);
            lua_rawget(C, -2);
            p += len + (dot ? 1 : 0);
            if (!dot) break;
        }
    }
    if (lua_isnil(C, -1)) {
        lua_settop(C, 0);
        return false;
    }
    xcopy(C, L, 0);
    lua_settop(C, 0);
    return true;
}
