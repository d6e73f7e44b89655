/*
 * rules.c -- the Lua rule host: sandbox, limits, rule{} declarations and
 * loading (the model is Suricata 8's util-lua-sandbox.c; see
 * rules/README.md for the rule-author API).  The configuration state is
 * rules_config.c's, calling rules rules_dispatch.c's, the libraries a rule
 * sees rules_lib.c's (with rules_flow.c and rules_window.c).
 *
 * One lua_State per rule FILE.  Its allocator refuses past mem_limit
 * (the first allocation of a block counts too: ptr == NULL means osize
 * is a type tag, not a size); a count hook every RULES_HOOK_STEP
 * instructions raises "instruction limit exceeded" past instr_limit per
 * call.  Chunks load as text only.  The base library is allow-listed;
 * string, table, math (seeded deterministically) and utf8 open; io, os,
 * debug, package and coroutine never do.  Globals are frozen after
 * load.  Rules are called through lua_pcall only; a fault is counted,
 * logged once per kind, and max_faults of them disable the rule.
 * No mutable globals: two rules instances can coexist.
 */
#include "conf_keys.h"
#include "dirlist.h"
#include "rules.h"
#include "rules_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lualib.h>

static const char *const hook_names[RH__COUNT] = {
#define RH_X(e, n) n,
    RULE_HOOK_MAP(RH_X)
#undef RH_X
};

const char *rules_hook_name(rule_hook h)
{
    return (unsigned)h < RH__COUNT ? hook_names[h] : NULL;
}

void rules_logf(struct rules *r, int level, const char *fmt, ...)
{
    if (!r->cfg.on_log) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    r->cfg.on_log(r->cfg.ud, level, buf);
}

/* ---- allocator, hook, context ---- */

static void *rules_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    rule_file *f = ud;
    if (!ptr) osize = 0; /* osize is a type tag for new blocks: count them in full */
    if (nsize == 0) {
        free(ptr);
        f->mem_used -= osize;
        return NULL;
    }
    if (nsize > osize && f->mem_limit && f->mem_used + (nsize - osize) > f->mem_limit) {
        f->mem_hit = true;
        return NULL;
    }
    void *np = realloc(ptr, nsize);
    if (!np) return NULL;
    f->mem_used = f->mem_used - osize + nsize;
    if (f->mem_used > f->mem_peak) f->mem_peak = f->mem_used;
    return np;
}

rule_file *rules_ctx(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

/* Raises the limit error with the innermost Lua line, if there is one
 * (lua_error: luaL_error would prefix a second position when a C function
 * such as string.find is charged). */
static void limit_error(lua_State *L, const char *what, lua_Integer limit, const char *unit)
{
    lua_Debug d;
    for (int level = 0; level < 3 && lua_getstack(L, level, &d); level++)
        if (lua_getinfo(L, "Sl", &d) && d.currentline > 0) {
            lua_pushfstring(L, "%s:%d: %s exceeded (%I%s)", d.short_src, d.currentline, what, limit,
                            unit);
            lua_error(L);
        }
    lua_pushfstring(L, "%s exceeded (%I%s)", what, limit, unit);
    lua_error(L);
}

/* The instruction budget always; the clock every 16th check (a vDSO read
 * costs about as much as 20 Lua instructions). */
static void check_budget(lua_State *L, rule_file *f)
{
    if (f->instr_limit && f->instr_used > f->instr_limit) {
        f->instr_hit = true;
        limit_error(L, "instruction limit", (lua_Integer)f->instr_limit, "");
    }
    if (f->deadline_ns && (++f->ticks & 15) == 0 && rules_now_ns() > f->deadline_ns) {
        f->time_hit = true;
        limit_error(L, "time limit", (lua_Integer)f->owner->cfg.time_limit_ms, " ms");
    }
}

void rules_count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    rule_file *f = rules_ctx(L);
    f->instr_used += RULES_HOOK_STEP;
    check_budget(L, f);
}

void rules_charge(lua_State *L, uint64_t n)
{
    rule_file *f = rules_ctx(L);
    if (!f || !f->owner || !lua_gethook(L)) return;
    f->instr_used += n;
    check_budget(L, f);
}

void rules_arm_deadline(rule_file *f, uint64_t now_ns)
{
    f->ticks = 0;
    f->deadline_ns = now_ns + (uint64_t)f->owner->cfg.time_limit_ms * 1000000ull;
}

int rules_msgh(lua_State *L)
{
    if (!lua_isstring(L, 1))
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    return 1;
}

/* ---- the sandboxed base library ---- */

static int l_blocked(lua_State *L)
{
    return luaL_error(L, "blocked function: %s (sandbox)", lua_tostring(L, lua_upvalueindex(1)));
}

/* pcall(f, ...) -> ok, ...: like Lua's, but a limit hit is not caught. */
static int l_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    rule_file *f = rules_ctx(L);
    if (status != LUA_OK && (f->instr_hit || f->time_hit || status == LUA_ERRMEM)) {
        if (status == LUA_ERRMEM) f->mem_hit = true;
        return lua_error(L);
    }
    lua_pushboolean(L, status == LUA_OK);
    lua_insert(L, 1);
    return lua_gettop(L);
}

static void check_not_env(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushglobaltable(L);
    bool env = lua_rawequal(L, 1, -1);
    lua_pop(L, 1);
    if (env) luaL_error(L, "blocked: raw access to the global environment (sandbox)");
}

static int l_rawget(lua_State *L)
{
    check_not_env(L);
    luaL_checkany(L, 2);
    lua_settop(L, 2);
    lua_rawget(L, 1);
    return 1;
}

static int l_rawset(lua_State *L)
{
    check_not_env(L);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

/* setmetatable(t, mt): tables only; no __gc (finalizers would run outside
 * any budget); not on the environment. */
static int l_setmetatable(lua_State *L)
{
    check_not_env(L);
    int t = lua_type(L, 2);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        if (lua_getfield(L, 2, "__gc") != LUA_TNIL)
            return luaL_error(L, "blocked: __gc metamethods are not allowed (sandbox)");
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* getmetatable(t): tables only (not strings or userdata); honours
 * __metatable. */
static int l_getmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_getmetatable(L, 1)) return 0;
    if (lua_getfield(L, -1, "__metatable") == LUA_TNIL) lua_pop(L, 1);
    return 1;
}

/* require(name): the built-in "egret" only. */
static int l_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (strcmp(name, "egret") == 0) {
        lua_getglobal(L, "egret");
        return 1;
    }
    return luaL_error(L, "module '%s' not found (sandbox: only 'egret' is built in)", name);
}

static int l_print(lua_State *L)
{
    rule_file *f = rules_ctx(L);
    int n = lua_gettop(L); /* before luaL_buffinit, which may push a box of its own */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        luaL_tolstring(L, i, NULL);
        if (i > 1) luaL_addchar(&b, ' ');
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    rules_logf(f->owner, RULES_LOG_RULE, "%s: %.512s", f->path, lua_tostring(L, -1));
    return 0;
}

static int l_frozen(lua_State *L)
{
    return luaL_error(L, "assignment to global '%s' after load (use a local or egret.state)",
                      lua_tostring(L, 2));
}

// clang-format off
static const char *const base_allowed[] = {
    "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawlen", "select",
    "tonumber", "tostring", "type", "_VERSION", "_G", NULL};
static const char *const base_blocked[] = {
    "load", "loadstring", "dofile", "loadfile", "collectgarbage", "xpcall", NULL};
static const luaL_Reg base_own[] = {
    {"pcall", l_pcall}, {"rawget", l_rawget}, {"rawset", l_rawset},
    {"setmetatable", l_setmetatable}, {"getmetatable", l_getmetatable},
    {"require", l_require}, {"print", l_print}, {NULL, NULL}};
// clang-format on

static void set_blocked(lua_State *L, int t, const char *name)
{
    lua_pushstring(L, name);
    lua_pushcclosure(L, l_blocked, 1);
    lua_setfield(L, t, name);
}

/* Opens the sandbox into L (run under lua_pcall: may raise memory errors).
 * Upvalue-free C function: arg 1 = boolean "with egret library". */
static int setup_sandbox(lua_State *L)
{
    bool with_egret = lua_toboolean(L, 1);
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    int g = lua_gettop(L);
    /* drop everything not on the allow list */
    lua_newtable(L);
    int keep = lua_gettop(L);
    for (const char *const *p = base_allowed; *p; p++) {
        lua_getfield(L, g, *p);
        lua_setfield(L, keep, *p);
    }
    lua_pushnil(L);
    while (lua_next(L, g)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, g);
    }
    lua_pushnil(L);
    while (lua_next(L, keep)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, g);
    }
    lua_pop(L, 1); /* keep */
    luaL_setfuncs(L, base_own, 0);
    for (const char *const *p = base_blocked; *p; p++) set_blocked(L, g, *p);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    set_blocked(L, lua_gettop(L), "dump");
    rules_pattern_open(L); /* find/match/gmatch/gsub that the budget can stop */
    lua_pop(L, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    lua_pop(L, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, 0x5eed);
    lua_call(L, 1, 0); /* deterministic math.random */
    lua_pop(L, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    lua_pop(L, 1);
    if (with_egret) rules_lib_open(L);
    lua_pop(L, 1); /* _G */
    return 0;
}

static void freeze_globals(lua_State *L)
{
    lua_pushglobaltable(L);
    lua_newtable(L);
    lua_pushcfunction(L, l_frozen);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

static int on_panic(lua_State *L)
{
    rule_file *f = rules_ctx(L);
    rules_logf(f->owner, 0, "lua panic in %s: %s", f->path ? f->path : "(config)",
               lua_tostring(L, -1));
    abort();
}

/* Creates f->L with the sandbox.  Returns 0 or -1 (message logged). */
static int file_state_open(rule_file *f, bool with_egret)
{
    f->L = lua_newstate(rules_alloc, f);
    if (!f->L) return -1;
    lua_atpanic(f->L, on_panic);
    lua_pushcfunction(f->L, setup_sandbox);
    lua_pushboolean(f->L, with_egret);
    if (lua_pcall(f->L, 1, 0, 0) != LUA_OK) {
        lua_pop(f->L, 1);
        lua_close(f->L);
        f->L = NULL;
        return -1;
    }
    return 0;
}

/* ---- rule{} declaration ---- */

static bool valid_field(const char *k)
{
    static const char *const fields[] = {"id",    "rev",      "name",        "severity", "category",
                                         "hooks", "suppress", "description", "author",   "refs",
                                         "tests", "needs",    "config",      "fleet",    NULL};
    for (const char *const *p = fields; *p; p++)
        if (strcmp(k, *p) == 0) return true;
    for (int h = 0; h < RH__COUNT; h++)
        if (strcmp(k, hook_names[h]) == 0) return true;
    return false;
}

static void def_free(lua_State *L, rule_def *d)
{
    if (!d) return;
    if (L) {
        luaL_unref(L, LUA_REGISTRYINDEX, d->ref_table);
        for (int h = 0; h < RH__COUNT; h++) luaL_unref(L, LUA_REGISTRYINDEX, d->ref_hook[h]);
    }
    free(d->name);
    free(d->category);
    free(d);
}

static lua_Integer opt_int_field(lua_State *L, const char *k, lua_Integer dflt, lua_Integer lo,
                                 lua_Integer hi)
{
    int t = lua_getfield(L, 1, k);
    lua_Integer v = dflt;
    if (t != LUA_TNIL) {
        int isint;
        v = lua_tointegerx(L, -1, &isint);
        if (!isint) luaL_error(L, "rule field '%s' must be an integer", k);
    }
    lua_pop(L, 1);
    if (v < lo || v > hi)
        luaL_error(L, "rule field '%s' out of range (%d..%d)", k, (int)lo, (int)hi);
    return v;
}

/* What a rule{} declaration said, read and checked by the steps below.
 * Each step raises a Lua error (luaL_error does not return) on the first
 * thing wrong, so the messages and their order are those of one pass. */
typedef struct rule_decl {
    lua_Integer sid, rev, sev;
    double suppress;
    bool fleet;
    unsigned needs;       /* RULE_NEEDS_* */
    bool want[RH__COUNT]; /* the hooks it subscribes to */
} rule_decl;

/* Every key of the table (at 1) is a field rule{} knows. */
static int check_field_names(lua_State *L)
{
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING || !valid_field(lua_tostring(L, -1)))
            return luaL_error(L, "rule: unknown field '%s'", luaL_tolstring(L, -1, NULL));
    }
    return 0;
}

/* id, rev, severity, name, category, suppress. */
static int read_fields(lua_State *L, rule_decl *r)
{
    r->sid = opt_int_field(L, "id", 0, 1, 0xffffffffll);
    r->rev = opt_int_field(L, "rev", 1, 1, 0xffffffffll);
    r->sev = opt_int_field(L, "severity", 3, 1, 3);
    int sid = (int)r->sid;
    if (lua_getfield(L, 1, "name") != LUA_TSTRING || lua_rawlen(L, -1) == 0)
        return luaL_error(L, "rule %d: 'name' (string) is required", sid);
    lua_pop(L, 1);
    int ct = lua_getfield(L, 1, "category");
    if (ct != LUA_TNIL && ct != LUA_TSTRING)
        return luaL_error(L, "rule %d: 'category' must be a string", sid);
    lua_pop(L, 1);
    r->suppress = RULES_DEFAULT_SUPPRESS_S;
    if (lua_getfield(L, 1, "suppress") != LUA_TNIL) {
        if (!lua_isnumber(L, -1) || lua_tonumber(L, -1) < 0)
            return luaL_error(L, "rule %d: 'suppress' must be seconds >= 0", sid);
        r->suppress = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    int ft = lua_getfield(L, 1, "fleet");
    if (ft != LUA_TNIL && ft != LUA_TBOOLEAN)
        return luaL_error(L, "rule %d: 'fleet' must be a boolean", sid);
    r->fleet = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return 0;
}

/* config = { ["bulk_upload.min_bytes"] = 10e6, ... }: the configuration
 * keys the rule reads, with their defaults (whose types the configuration
 * file's values must have).  Keys read with egret.config() while loading
 * are declared too; this is for keys read later, in hooks. */
static int read_config_decl(lua_State *L, int sid)
{
    int t = lua_getfield(L, 1, "config");
    if (t == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                return luaL_error(L, "rule %d: 'config' keys must be strings (\"a.b\")", sid);
            rules_config_declare(rules_ctx(L)->owner, lua_tostring(L, -2), lua_type(L, -1));
            lua_pop(L, 1);
        }
    } else if (t != LUA_TNIL) {
        return luaL_error(L, "rule %d: 'config' must be a table of key = default", sid);
    }
    lua_pop(L, 1);
    return 0;
}

/* needs = { "ai", "internal_src" }: prefilters checked in C before the
 * call, so flows that cannot match cost no Lua call at all. */
static int read_needs(lua_State *L, rule_decl *r)
{
    int nt = lua_getfield(L, 1, "needs");
    if (nt == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            const char *k = lua_tostring(L, -1);
            if (k && strcmp(k, "ai") == 0)
                r->needs |= RULE_NEEDS_AI;
            else if (k && strcmp(k, "internal_src") == 0)
                r->needs |= RULE_NEEDS_INTERNAL_SRC;
            else
                return luaL_error(L, "rule %d: unknown 'needs' entry '%s' (ai, internal_src)",
                                  (int)r->sid, k ? k : "?");
            lua_pop(L, 1);
        }
    } else if (nt != LUA_TNIL) {
        return luaL_error(L, "rule %d: 'needs' must be a list", (int)r->sid);
    }
    lua_pop(L, 1);
    return 0;
}

/* The id is new in this file and in the files loaded before it. */
static int check_unique_id(lua_State *L, const rule_file *f, lua_Integer sid)
{
    for (size_t i = 0; i < f->n_defs; i++)
        if (f->defs[i]->sid == (uint32_t)sid)
            return luaL_error(L, "rule %d: duplicate id in this file", (int)sid);
    for (size_t i = 0; i < f->owner->n_defs; i++)
        if (f->owner->defs[i]->sid == (uint32_t)sid)
            return luaL_error(L, "rule %d: id already used by %s", (int)sid,
                              f->owner->defs[i]->file->path);
    return 0;
}

/* Which hooks: the 'hooks' list, else every on_* function present; each
 * one subscribed to must be a function, and there must be one. */
static int read_hooks(lua_State *L, rule_decl *r)
{
    int sid = (int)r->sid;
    bool *want = r->want;
    int ht = lua_getfield(L, 1, "hooks");
    if (ht == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        if (n == 0) return luaL_error(L, "rule %d: 'hooks' is empty", sid);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            const char *hn = lua_tostring(L, -1);
            int h;
            for (h = 0; h < RH__COUNT; h++)
                if (hn && strcmp(hn, hook_names[h]) == 0) break;
            if (h == RH__COUNT)
                return luaL_error(L, "rule %d: unknown hook '%s'", sid,
                                  hn ? hn : luaL_typename(L, -1));
            want[h] = true;
            lua_pop(L, 1);
        }
    } else if (ht != LUA_TNIL) {
        return luaL_error(L, "rule %d: 'hooks' must be a list of hook names", sid);
    }
    lua_pop(L, 1);
    int n_hooks = 0;
    for (int h = 0; h < RH__COUNT; h++) {
        int t = lua_getfield(L, 1, hook_names[h]);
        lua_pop(L, 1);
        if (ht == LUA_TNIL && t == LUA_TFUNCTION) want[h] = true;
        if (want[h] && t != LUA_TFUNCTION)
            return luaL_error(L, "rule %d: hook '%s' is listed but is not a function", sid,
                              hook_names[h]);
        n_hooks += want[h];
    }
    if (n_hooks == 0) return luaL_error(L, "rule %d: subscribes to no hook", sid);
    return 0;
}

/* Adds the checked declaration to f's rules, with references to its table
 * and its hook functions. */
static int register_rule(lua_State *L, rule_file *f, const rule_decl *r)
{
    rule_def **nd = realloc(f->defs, sizeof(*nd) * (f->n_defs + 1));
    if (!nd) return luaL_error(L, "out of memory");
    f->defs = nd;
    rule_def *d = calloc(1, sizeof(*d));
    if (!d) return luaL_error(L, "out of memory");
    f->defs[f->n_defs++] = d;
    d->ref_table = LUA_NOREF;
    for (int h = 0; h < RH__COUNT; h++) d->ref_hook[h] = LUA_NOREF;
    d->file = f;
    d->sid = (uint32_t)r->sid;
    d->rev = (uint32_t)r->rev;
    d->severity = (int)r->sev;
    d->suppress_s = r->suppress;
    d->fleet = r->fleet;
    d->needs = r->needs;
    lua_getfield(L, 1, "name");
    d->name = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, 1, "category");
    d->category = strdup(lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
    lua_pop(L, 1);
    if (!d->name || !d->category) return luaL_error(L, "out of memory");
    lua_Debug ar;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar)) d->line = ar.currentline;
    for (int h = 0; h < RH__COUNT; h++) {
        if (!r->want[h]) continue;
        lua_getfield(L, 1, hook_names[h]);
        d->ref_hook[h] = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_pushvalue(L, 1);
    d->ref_table = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* rule{ id=, rev=, name=, severity=, category=, hooks={...}, suppress=,
 *       on_<hook>=function(flow, rule) ... end }  -> the rule table */
static int l_rule(lua_State *L)
{
    rule_file *f = rules_ctx(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!f->loading) return luaL_error(L, "rule{} may only be called while the file loads");
    lua_settop(L, 1);
    rule_decl r = {0};
    check_field_names(L);
    read_fields(L, &r);
    read_needs(L, &r);
    read_config_decl(L, (int)r.sid);
    check_unique_id(L, f, r.sid);
    read_hooks(L, &r);
    register_rule(L, f, &r);
    return 1;
}

/* ---- loading ---- */

static void file_free(rule_file *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n_defs; i++) def_free(NULL, f->defs[i]);
    free(f->defs);
    rules_window_free_all(f);
    if (f->L) lua_close(f->L);
    free(f->path);
    free(f);
}

static int load_chunk(lua_State *L)
{
    size_t n;
    const char *src = lua_touserdata(L, 1);
    n = (size_t)lua_tointeger(L, 2);
    const char *name = lua_tostring(L, 3);
    lua_pushcfunction(L, l_rule);
    lua_setglobal(L, "rule");
    if (luaL_loadbufferx(L, src, n, name, "t") != LUA_OK) return lua_error(L);
    lua_call(L, 0, 0);
    return 0;
}

/* Loads one rule file.  On failure logs "path:line: msg" and counts it. */
static void load_file(struct rules *r, const char *path)
{
    rule_file *f = calloc(1, sizeof(*f));
    char err[512] = "";
    if (!f || !(f->path = strdup(path))) {
        free(f);
        rules_logf(r, 0, "%s: out of memory", path);
        r->load_errors++;
        return;
    }
    f->owner = r;
    f->mem_limit = r->cfg.mem_limit;
    f->instr_limit = r->cfg.instr_limit;
    size_t n = 0;
    char *src = rules_read_file(path, &n, err, sizeof(err));
    if (!src) goto fail;
    if (file_state_open(f, true) != 0) {
        snprintf(err, sizeof(err), "%s: cannot create the Lua state (memory limit?)", path);
        goto fail;
    }
    lua_State *L = f->L;
    f->loading = true;
    f->instr_used = 0;
    rules_arm_deadline(f, rules_now_ns());
    lua_sethook(L, rules_count_hook, LUA_MASKCOUNT, RULES_HOOK_STEP);
    lua_pushcfunction(L, rules_msgh);
    lua_pushcfunction(L, load_chunk);
    lua_pushlightuserdata(L, src);
    lua_pushinteger(L, (lua_Integer)n);
    lua_pushfstring(L, "@%s", path);
    int st = lua_pcall(L, 3, 0, 1);
    lua_sethook(L, NULL, 0, 0);
    f->loading = false;
    free(src);
    src = NULL;
    if (st != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        if (st == LUA_ERRMEM)
            snprintf(err, sizeof(err), "%s: memory limit exceeded while loading", path);
        else
            snprintf(err, sizeof(err), "%s", m ? m : "error");
        goto fail;
    }
    lua_settop(L, 0);
    if (f->n_defs == 0) {
        snprintf(err, sizeof(err), "%s:1: declares no rule (call rule{...})", path);
        goto fail;
    }
    lua_pushcfunction(L, l_rule);
    lua_pushnil(L);
    lua_setglobal(L, "rule");
    lua_pop(L, 1);
    freeze_globals(L);
    /* publish */
    rule_file **nf = realloc(r->files, sizeof(*nf) * (r->n_files + 1));
    rule_def **nd = realloc(r->defs, sizeof(*nd) * (r->n_defs + f->n_defs));
    if (nf) r->files = nf;
    if (nd) r->defs = nd;
    if (!nf || !nd) {
        snprintf(err, sizeof(err), "%s: out of memory", path);
        goto fail;
    }
    r->files[r->n_files++] = f;
    for (size_t i = 0; i < f->n_defs; i++) r->defs[r->n_defs++] = f->defs[i];
    return;
fail:
    free(src);
    rules_logf(r, 0, "%s", err);
    r->load_errors++;
    if (f->L) {
        for (size_t i = 0; i < f->n_defs; i++) def_free(f->L, f->defs[i]);
        f->n_defs = 0;
    }
    file_free(f);
}

/* *.lua, but not the config (*.conf.lua), rule tests kept beside the
 * rules (*_test.lua, run by `egret test`) nor hidden files */
static int is_rule_file(const struct dirent *de)
{
    size_t len = strlen(de->d_name);
    return !(len < 5 || de->d_name[0] == '.' || strcmp(de->d_name + len - 4, ".lua") != 0 ||
             (len >= 9 && strcmp(de->d_name + len - 9, ".conf.lua") == 0) ||
             (len >= 9 && strcmp(de->d_name + len - 9, "_test.lua") == 0));
}

/* A rule path (cfg.paths) that cannot be loaded: logged, counted, and the
 * first one kept for rules_path_error. */
static void path_fail(struct rules *r, const char *path, const char *why)
{
    rules_logf(r, 0, "%s: %s", path, why);
    r->load_errors++;
    if (!r->path_err[0]) snprintf(r->path_err, sizeof(r->path_err), "%s: %s", path, why);
}

static void load_path(struct rules *r, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        path_fail(r, path, strerror(errno));
        return;
    }
    if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)) {
        path_fail(r, path, "not a rule file or directory");
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        load_file(r, path);
        return;
    }
    struct dirent **list;
    int n = dirlist_scan(path, is_rule_file, &list);
    if (n < 0) {
        path_fail(r, path, strerror(errno));
        return;
    }
    if (n == 0) { /* a mistyped directory would silently run without rules */
        path_fail(r, path, "holds no rule file (*.lua)");
    }
    for (int i = 0; i < n; i++) {
        size_t plen = strlen(path) + strlen(list[i]->d_name) + 2;
        char *name = malloc(plen);
        if (!name) break;
        snprintf(name, plen, "%s/%s", path, list[i]->d_name);
        load_file(r, name);
        free(name);
    }
    dirlist_free(list, n);
}

rules *rules_new(const rules_config *cfg, size_t *n_errors, char *err, size_t errlen)
{
    if (n_errors) *n_errors = 0;
    struct rules *r = calloc(1, sizeof(*r));
    if (!r) {
        if (err) snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->cfg = *cfg;
    if (!r->cfg.mem_limit) r->cfg.mem_limit = (size_t)8 << 20;
    if (!r->cfg.instr_limit) r->cfg.instr_limit = 1000000;
    if (!r->cfg.max_faults) r->cfg.max_faults = 3;
    if (!r->cfg.time_limit_ms) r->cfg.time_limit_ms = 250;
    if (!r->cfg.max_alerts_per_call) r->cfg.max_alerts_per_call = 16;
    if (!r->cfg.max_alerts_per_flow) r->cfg.max_alerts_per_flow = 256;
    if (!r->cfg.flush_budget_ms) r->cfg.flush_budget_ms = 5000;
    if (!r->cfg.window_keys_cap) r->cfg.window_keys_cap = 100000;
    jw_init(&r->why);
    /* the config state: data only, limits while it loads */
    r->cfgf.owner = r;
    r->cfgf.mem_limit = r->cfg.mem_limit;
    r->cfgf.instr_limit = r->cfg.instr_limit;
    if (file_state_open(&r->cfgf, false) != 0) {
        if (err) snprintf(err, errlen, "cannot create the config Lua state");
        rules_free(r);
        return NULL;
    }
    lua_State *C = r->cfgf.L;
    rules_arm_deadline(&r->cfgf, rules_now_ns());
    lua_sethook(C, rules_count_hook, LUA_MASKCOUNT, RULES_HOOK_STEP);
    lua_pushcfunction(C, rules_msgh);
    lua_pushcfunction(C, rules_config_build);
    lua_pushlightuserdata(C, r);
    int st = lua_pcall(C, 1, 0, 1);
    lua_sethook(C, NULL, 0, 0);
    r->cfgf.mem_limit = 0; /* config reads must never fail on memory */
    if (st != LUA_OK) {
        rules_logf(r, 0, "config: %s", lua_tostring(C, -1));
        r->load_errors++;
        lua_settop(C, 0);
        lua_newtable(C);
        lua_setfield(C, LUA_REGISTRYINDEX, "egret.config");
    }
    lua_settop(C, 0);
    for (size_t i = 0; i < cfg->n_paths; i++) load_path(r, cfg->paths[i]);
    /* hook tables */
    for (int h = 0; h < RH__COUNT; h++) {
        r->by_hook[h] = calloc(r->n_defs ? r->n_defs : 1, sizeof(rule_def *));
        if (!r->by_hook[h]) {
            if (err) snprintf(err, errlen, "out of memory");
            rules_free(r);
            return NULL;
        }
        for (size_t i = 0; i < r->n_defs; i++)
            if (r->defs[i]->ref_hook[h] != LUA_NOREF) r->by_hook[h][r->n_by_hook[h]++] = r->defs[i];
    }
    /* Unknown or mistyped configuration keys; not after a load error: the
     * broken file's keys would all look unknown. */
    if (r->load_errors == 0 && cfg->n_paths > 0) r->config_errors = rules_config_validate(r);
    if (n_errors) *n_errors = r->load_errors + r->config_errors;
    return r;
}

const char *rules_path_error(const rules *r)
{
    return r && r->path_err[0] ? r->path_err : NULL;
}

size_t rules_config_errors(const rules *r)
{
    return r ? r->config_errors : 0;
}

void rules_free(rules *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_files; i++) file_free(r->files[i]);
    free(r->files);
    free(r->defs);
    for (int h = 0; h < RH__COUNT; h++) free(r->by_hook[h]);
    if (r->cfgf.L) lua_close(r->cfgf.L);
    jw_free(&r->why);
    free(r);
}

size_t rules_count(const rules *r)
{
    return r ? r->n_defs : 0;
}

/* ---- check ---- */

static void check_log(void *ud, int level, const char *msg)
{
    if (level <= 1) fprintf((FILE *)ud, "%s: %s\n", level == 0 ? "error" : "warning", msg);
}

#define CHECK_FAULTS_KEPT 64

typedef struct check_faults {
    FILE *report;
    size_t n;                         /* distinct faults reported */
    uint64_t seen[CHECK_FAULTS_KEPT]; /* their hashes (beyond the cap: reported again) */
} check_faults;

static uint64_t fault_hash(uint32_t sid, const char *hook, const char *msg)
{
    uint64_t h = 1469598103934665603ull ^ sid;
    for (const char *p = hook ? hook : ""; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (const char *p = msg; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

/* Each distinct fault of the dry run (rule, hook, message) is a problem to
 * report once; the run-time log would show only a rule's first one. */
static void check_fault(void *ud, uint32_t sid, const char *hook, const char *kind, const char *msg)
{
    check_faults *cf = ud;
    uint64_t h = fault_hash(sid, hook, msg);
    size_t kept = cf->n < CHECK_FAULTS_KEPT ? cf->n : CHECK_FAULTS_KEPT;
    for (size_t i = 0; i < kept; i++)
        if (cf->seen[i] == h) return;
    if (cf->n < CHECK_FAULTS_KEPT) cf->seen[cf->n] = h;
    cf->n++;
    fprintf(cf->report, "error: %s (rule %u, %s, dry run on a synthetic event: %s)\n", msg, sid,
            hook ? hook : "?", kind);
}

int rules_check(const rules_config *cfg, FILE *report)
{
    rules_config c = *cfg;
    check_faults cf = {.report = report};
    c.on_alert = NULL;
    c.on_log = check_log;
    c.ud = report;
    c.on_fault = check_fault;
    c.fault_ud = &cf;
    c.max_faults = UINT32_MAX; /* report every hook's failure, disable none */
    size_t n_err = 0;
    char err[256] = "";
    rules *r = rules_new(&c, &n_err, err, sizeof(err));
    if (!r) {
        fprintf(report, "error: %s\n", err);
        return 1;
    }
    rules_dry_run(r);
    size_t ce = rules_config_errors(r);
    fprintf(report, "%zu rule(s) in %zu file(s), %zu load error(s), %zu runtime error(s)",
            r->n_defs, r->n_files, n_err - ce, cf.n);
    if (ce) fprintf(report, ", %zu configuration error(s)", ce);
    fputc('\n', report);
    rules_free(r);
    return (int)(n_err + cf.n);
}
