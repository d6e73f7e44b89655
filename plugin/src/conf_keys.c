/*
 * conf_keys.c -- which keys the configuration file may hold, and where
 * each one is written.
 *
 * A key is valid when a loaded rule declared it (rule{ config = {...} }) or
 * read it with egret.config(key, default) while loading, or when it sits
 * under one of the host's sections (capture, outputs, ...), whose keys the
 * host checks itself (the CLI's table in plugin/cli/conffile.c).  A value
 * must have its declaration's type (the default's).  Anything else is a
 * configuration error reported as FILE:LINE, so a misspelt threshold is
 * caught instead of silently leaving the default in force.
 *
 * Lua keeps no line numbers for table keys; key_line() finds the line by
 * reading the file's text for each part of the dotted key in turn, which
 * is right for every configuration written as nested table constructors
 * (the documented form); a key not written in the file came from --set.
 */
#include "conf_keys.h"

#include "egret_tools.h"
#include "rules_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECLARED      "egret.declared"
#define CONF_PATH_MAX 256 /* a dotted key longer than this is reported cut */

/* The host's sections: the CLI (or another host) validates their keys. */
static const char *const HOST_SECTIONS[] = {"capture", "outputs", "home_net",   "geo",
                                            "ai",      "ndpi",    "inspection", "tls",
                                            "engine",  "redis",   "service",    NULL};

bool conf_is_host_section(const char *key, size_t len)
{
    for (size_t i = 0; HOST_SECTIONS[i]; i++)
        if (strlen(HOST_SECTIONS[i]) == len && strncmp(HOST_SECTIONS[i], key, len) == 0)
            return true;
    return false;
}

const char *const *conf_host_sections(void)
{
    return HOST_SECTIONS;
}

void rules_config_declare(struct rules *r, const char *key, int type)
{
    lua_State *C = r->cfgf.L;
    if (!C || !key || !key[0]) return;
    int top = lua_gettop(C);
    if (lua_getfield(C, LUA_REGISTRYINDEX, DECLARED) != LUA_TTABLE) {
        lua_pop(C, 1);
        lua_newtable(C);
        lua_pushvalue(C, -1);
        lua_setfield(C, LUA_REGISTRYINDEX, DECLARED);
    }
    /* the first declaration with a type wins; nil (any type) never narrows */
    if (lua_getfield(C, -1, key) == LUA_TNIL || lua_tointeger(C, -1) == LUA_TNIL) {
        lua_pop(C, 1);
        lua_pushinteger(C, type);
        lua_setfield(C, -2, key);
    }
    lua_settop(C, top);
}

static bool ident_char(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Offset of key 'name' written as `name =` or `["name"] =` at or after
 * 'from', outside comments and other strings; -1 when absent. */
static long find_key(const char *src, size_t n, size_t from, const char *name, size_t len)
{
    size_t i = from;
    while (i < n) {
        char c = src[i];
        if (c == '-' && i + 1 < n && src[i + 1] == '-') { /* comment */
            if (i + 3 < n && src[i + 2] == '[' && src[i + 3] == '[') {
                const char *e = strstr(src + i + 4, "]]");
                i = e ? (size_t)(e - src) + 2 : n;
            } else {
                while (i < n && src[i] != '\n') i++;
            }
            continue;
        }
        size_t start = i, end;
        bool quoted = c == '"' || c == '\'';
        if (quoted) {
            for (end = i + 1; end < n && src[end] != c; end++)
                if (src[end] == '\\') end++;
            if (end >= n) return -1;
            start = i + 1;
            i = end + 1;
        } else if (ident_char(c) && !(c >= '0' && c <= '9')) {
            for (end = i; end < n && ident_char(src[end]);) end++;
            i = end;
        } else {
            i++;
            continue;
        }
        if (end - start != len || memcmp(src + start, name, len) != 0) continue;
        size_t j = i;
        if (quoted) { /* ["name"] = */
            if (start < 2 || src[start - 2] != '[' || j >= n || src[j] != ']') continue;
            j++;
        } else if (start > 0 && src[start - 1] == '.') {
            continue; /* a field access, not a key */
        }
        while (j < n && (src[j] == ' ' || src[j] == '\t')) j++;
        if (j < n && src[j] == '=' && (j + 1 >= n || src[j + 1] != '=')) return (long)start;
    }
    return -1;
}

int conf_key_line(const char *src, size_t n, const char *key)
{
    if (!src) return 0;
    size_t pos = 0;
    long at = -1;
    /* a flat key ("a.b" = ...) first, else each part after the previous */
    at = find_key(src, n, 0, key, strlen(key));
    if (at < 0) {
        const char *p = key;
        while (*p) {
            const char *dot = strchr(p, '.');
            size_t len = dot ? (size_t)(dot - p) : strlen(p);
            long f = find_key(src, n, pos, p, len);
            if (f < 0) return 0; /* not written in the file (--set) */
            at = f;
            pos = (size_t)f + len;
            if (!dot) break;
            p = dot + 1;
        }
    }
    if (at < 0) return 0;
    int line = 1;
    for (long i = 0; i < at; i++)
        if (src[i] == '\n') line++;
    return line;
}

typedef struct walk {
    struct rules *r;
    const char *src; /* the file's text, for line numbers; NULL: none */
    size_t n;
    const char *file;
    size_t errors;
} walk;

static bool lua_is_list(lua_State *L, int t)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, t), k = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        k++;
    }
    return k == 0 || k == n;
}

/* Declared type of 'key' (LUA_TNIL: any), or -1 when undeclared. */
static int declared_type(lua_State *C, int decl, const char *key)
{
    lua_getfield(C, decl, key);
    int t = lua_isinteger(C, -1) ? (int)lua_tointeger(C, -1) : -1;
    lua_pop(C, 1);
    return t;
}

/* True when a declared key starts with "key." (key is an inner table). */
static bool has_declared_child(lua_State *C, int decl, const char *key)
{
    size_t len = strlen(key);
    lua_pushnil(C);
    while (lua_next(C, decl)) {
        lua_pop(C, 1);
        size_t kl;
        const char *k = lua_tolstring(C, -1, &kl);
        if (k && kl > len && strncmp(k, key, len) == 0 && k[len] == '.') {
            lua_pop(C, 1);
            return true;
        }
    }
    return false;
}

/* Same acceptance as egret.config: numbers written as numeric strings,
 * lists written as "a,b" strings. */
static bool type_fits(lua_State *C, int v, int want)
{
    int have = lua_type(C, v);
    if (want == LUA_TNIL || have == want) return true;
    if (want == LUA_TNUMBER && have == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(C, v, &n);
        return lua_stringtonumber(C, s) == n + 1 && (lua_pop(C, 1), true);
    }
    return want == LUA_TTABLE && have == LUA_TSTRING;
}

/* Whether a --set names key (an override on the command line). */
static bool set_names(const struct rules *r, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < r->cfg.n_sets; i++) {
        const char *s = r->cfg.sets[i];
        if (s && strncmp(s, key, kl) == 0 && s[kl] == '=') return true;
    }
    return false;
}

static void conf_error(walk *w, const char *key, const char *msg)
{
    int line = conf_key_line(w->src, w->n, key);
    /* blame the --set that overrode the file's default, or that gave a
     * key the file does not write */
    if (line && !set_names(w->r, key))
        rules_logf(w->r, 0, "%s:%d: %s", w->file, line, msg);
    else
        rules_logf(w->r, 0, "--set %s: %s", key, msg);
    w->errors++;
}

static void walk_table(walk *w, lua_State *C, int t, int decl, const char *prefix)
{
    luaL_checkstack(C, 8, "configuration nested too deep");
    lua_pushnil(C);
    while (lua_next(C, t)) {
        int v = lua_gettop(C);
        char key[CONF_PATH_MAX];
        if (lua_type(C, v - 1) == LUA_TSTRING)
            snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "",
                     lua_tostring(C, v - 1));
        else if (lua_isinteger(C, v - 1))
            snprintf(key, sizeof(key), "%s[%lld]", prefix, (long long)lua_tointeger(C, v - 1));
        else
            snprintf(key, sizeof(key), "%s[?]", prefix);
        const char *dot = strchr(key, '.');
        size_t first = dot ? (size_t)(dot - key) : strlen(key);
        int want = declared_type(C, decl, key);
        char msg[384];
        if (!prefix[0] && conf_is_host_section(key, first)) {
            /* the host's own keys: it checks them */
        } else if (want >= 0) {
            if (!type_fits(C, v, want)) {
                snprintf(msg, sizeof(msg), "configuration key '%s' is a %s, expected a %s", key,
                         lua_typename(C, lua_type(C, v)), lua_typename(C, want));
                conf_error(w, key, msg);
            }
        } else if (lua_type(C, v) == LUA_TTABLE && !lua_is_list(C, v) &&
                   has_declared_child(C, decl, key)) {
            walk_table(w, C, v, decl, key);
        } else {
            snprintf(msg, sizeof(msg),
                     "unknown configuration key '%s' (no loaded rule reads it and it is not a "
                     "host setting)",
                     key);
            conf_error(w, key, msg);
        }
        lua_settop(C, v - 1);
    }
}

size_t rules_config_validate(struct rules *r)
{
    lua_State *C = r->cfgf.L;
    if (!C || !r->cfg.config_file) return 0;
    int top = lua_gettop(C);
    if (lua_getfield(C, LUA_REGISTRYINDEX, "egret.config") != LUA_TTABLE) {
        lua_settop(C, top);
        return 0;
    }
    int cfg = lua_gettop(C);
    if (lua_getfield(C, LUA_REGISTRYINDEX, DECLARED) != LUA_TTABLE) {
        lua_pop(C, 1);
        lua_newtable(C);
    }
    int decl = lua_gettop(C);
    char err[256] = "";
    walk w = {.r = r, .file = r->cfg.config_file};
    char *src = rules_read_file(r->cfg.config_file, &w.n, err, sizeof(err));
    w.src = src;
    walk_table(&w, C, cfg, decl, "");
    free(src);
    lua_settop(C, top);
    return w.errors;
}

/* ---- the host's settings, for egret_config_file_read ---- */

typedef struct hwalk {
    const char *src; /* the file's text, for line numbers */
    size_t n;
    const char *file;
    int (*fn)(const egret_conf_value *, void *);
    void *ud;
    int rc;
} hwalk;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A scalar's text into buf; false when v is not a scalar. */
static bool scalar_text(lua_State *C, int v, char *buf, size_t len, egret_conf_type *t)
{
    switch (lua_type(C, v)) {
    case LUA_TSTRING:
        snprintf(buf, len, "%s", lua_tostring(C, v));
        *t = EGRET_CONF_STRING;
        return true;
    case LUA_TNUMBER:
        if (lua_isinteger(C, v))
            snprintf(buf, len, "%lld", (long long)lua_tointeger(C, v));
        else if (lua_tonumber(C, v) == (double)(long long)lua_tonumber(C, v))
            snprintf(buf, len, "%lld", (long long)lua_tonumber(C, v));
        else
            snprintf(buf, len, "%.17g", lua_tonumber(C, v));
        *t = EGRET_CONF_NUMBER;
        return true;
    case LUA_TBOOLEAN:
        snprintf(buf, len, "%s", lua_toboolean(C, v) ? "true" : "false");
        *t = EGRET_CONF_BOOLEAN;
        return true;
    default:
        return false;
    }
}

#define CONF_LIST_MAX 256 /* elements of one list setting */
#define CONF_TEXT_MAX 1024

static void host_call(hwalk *h, egret_conf_value *cv)
{
    cv->file = h->file;
    cv->line = conf_key_line(h->src, h->n, cv->key);
    if (!h->rc) h->rc = h->fn(cv, h->ud);
}

/* A list of scalars: one LIST value; else TABLE. */
static void host_list(hwalk *h, lua_State *C, int v, const char *key)
{
    size_t n = (size_t)lua_rawlen(C, v);
    egret_conf_value cv = {.key = key, .type = EGRET_CONF_LIST};
    if (n > CONF_LIST_MAX) n = CONF_LIST_MAX + 1; /* the host reports the excess */
    char **items = calloc(n ? n : 1, sizeof(*items));
    size_t k = 0;
    bool ok = items != NULL;
    for (size_t i = 1; ok && i <= n; i++) {
        char buf[CONF_TEXT_MAX];
        egret_conf_type t;
        lua_rawgeti(C, v, (lua_Integer)i);
        ok = scalar_text(C, -1, buf, sizeof(buf), &t) && (items[k] = strdup(buf)) != NULL;
        lua_pop(C, 1);
        if (ok) k++;
    }
    if (!ok) cv.type = EGRET_CONF_TABLE;
    cv.items = (const char *const *)items;
    cv.n_items = ok ? k : 0;
    host_call(h, &cv);
    for (size_t i = 0; i < k; i++) free(items[i]);
    free(items);
}

static void host_walk(hwalk *h, lua_State *C, int t, const char *prefix)
{
    luaL_checkstack(C, 8, "configuration nested too deep");
    size_t n = 0, cap = 16;
    char **keys = malloc(cap * sizeof(*keys));
    lua_pushnil(C);
    while (keys && lua_next(C, t)) {
        lua_pop(C, 1);
        if (lua_type(C, -1) != LUA_TSTRING) continue;
        size_t kl;
        const char *k = lua_tolstring(C, -1, &kl);
        if (!prefix[0] && !conf_is_host_section(k, strcspn(k, "."))) continue;
        if (n == cap) {
            char **nk = realloc(keys, 2 * cap * sizeof(*keys));
            if (!nk) break;
            keys = nk;
            cap *= 2;
        }
        if ((keys[n] = strdup(k)) != NULL) n++;
    }
    if (!keys) return;
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (size_t i = 0; i < n && !h->rc; i++) {
        char key[CONF_PATH_MAX], text[CONF_TEXT_MAX];
        snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", keys[i]);
        lua_getfield(C, t, keys[i]);
        int v = lua_gettop(C);
        egret_conf_value cv = {.key = key, .text = text};
        if (lua_type(C, v) == LUA_TTABLE) {
            if (lua_is_list(C, v))
                host_list(h, C, v, key);
            else
                host_walk(h, C, v, key);
        } else if (scalar_text(C, v, text, sizeof(text), &cv.type)) {
            host_call(h, &cv);
        } else {
            cv.type = EGRET_CONF_TABLE;
            cv.text = NULL;
            host_call(h, &cv);
        }
        lua_settop(C, v - 1);
    }
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
}

int rules_config_walk_host(struct rules *r, int (*fn)(const egret_conf_value *, void *), void *ud)
{
    lua_State *C = r->cfgf.L;
    if (!C) return 0;
    int top = lua_gettop(C);
    if (lua_getfield(C, LUA_REGISTRYINDEX, "egret.config") != LUA_TTABLE) {
        lua_settop(C, top);
        return 0;
    }
    char err[256] = "";
    hwalk h = {.file = r->cfg.config_file, .fn = fn, .ud = ud};
    char *src =
        r->cfg.config_file ? rules_read_file(r->cfg.config_file, &h.n, err, sizeof(err)) : NULL;
    h.src = src;
    host_walk(&h, C, lua_gettop(C), "");
    free(src);
    lua_settop(C, top);
    return h.rc;
}
