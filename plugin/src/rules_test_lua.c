/*
 * rules_test_lua.c -- Lua values in and out of the rule test kit: an
 * alert's why (our own JSON output) decoded into a Lua table through
 * yajl's tree, and a Lua value written as Lua source with sorted keys (a
 * test's config becomes config_text; values in mismatch reports).
 */
#include "rules_test_lua.h"

#include <stdbool.h>
#include <string.h>

#include <lauxlib.h>
#include <yajl/yajl_tree.h>

/* ---- 'why' JSON (our own output) -> Lua, through yajl's tree ---- */

#define WHY_DEPTH_MAX 20

/* Pushes v (null: nil, so absent in a table).  Returns false (leaving
 * partial values on the stack) when nested deeper than WHY_DEPTH_MAX. */
static bool push_json(lua_State *L, yajl_val v, int depth)
{
    if (depth > WHY_DEPTH_MAX || !lua_checkstack(L, 4)) return false;
    if (YAJL_IS_OBJECT(v)) {
        lua_createtable(L, 0, (int)v->u.object.len);
        for (size_t i = 0; i < v->u.object.len; i++) {
            lua_pushstring(L, v->u.object.keys[i]);
            if (!push_json(L, v->u.object.values[i], depth + 1)) return false;
            lua_rawset(L, -3);
        }
    } else if (YAJL_IS_ARRAY(v)) {
        lua_createtable(L, (int)v->u.array.len, 0);
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (!push_json(L, v->u.array.values[i], depth + 1)) return false;
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
    } else if (YAJL_IS_STRING(v)) {
        lua_pushstring(L, YAJL_GET_STRING(v));
    } else if (YAJL_IS_INTEGER(v)) {
        lua_pushinteger(L, (lua_Integer)YAJL_GET_INTEGER(v));
    } else if (YAJL_IS_DOUBLE(v)) {
        lua_pushnumber(L, YAJL_GET_DOUBLE(v));
    } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        lua_pushboolean(L, YAJL_IS_TRUE(v));
    } else {
        lua_pushnil(L);
    }
    return true;
}

static int push_json_k(lua_State *L)
{
    if (!push_json(L, lua_touserdata(L, 1), 0)) {
        lua_settop(L, 1);
        lua_newtable(L);
    }
    return 1;
}

/* [-0, +1, e] Pushes the alert's why as a Lua table: an empty one when it
 * does not parse.  The conversion runs protected so that a Lua memory
 * error cannot leak yajl's tree. */
void rules_test_push_why(lua_State *L, const char *json)
{
    yajl_val v = yajl_tree_parse(json, NULL, 0);
    if (!v) {
        lua_newtable(L);
        return;
    }
    lua_pushcfunction(L, push_json_k);
    lua_pushlightuserdata(L, v);
    int rc = lua_pcall(L, 1, 1, 0);
    yajl_tree_free(v);
    if (rc != LUA_OK) lua_error(L);
}

/* ---- Lua value -> Lua source (sorted keys), for config_text and diffs ---- */

static int cmp_keys(lua_State *L)
{
    /* sort comparator for table.sort over mixed keys: by type name then value text */
    const char *a = luaL_tolstring(L, 1, NULL), *b = luaL_tolstring(L, 2, NULL);
    lua_pushboolean(L, strcmp(a, b) < 0);
    return 1;
}

static int push_source_k(lua_State *L);

void rules_test_push_source(lua_State *L, int idx)
{
    lua_pushcfunction(L, push_source_k);
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
}

/* Source is built as a table of pieces joined by table.concat. */
static void tl(lua_State *L, int idx, int pieces, int depth);

static void add_piece(lua_State *L, int pieces, const char *s)
{
    lua_pushstring(L, s);
    lua_rawseti(L, pieces, (lua_Integer)lua_rawlen(L, pieces) + 1);
}

static void tl_table(lua_State *L, int t, int pieces, int depth)
{
    luaL_checkstack(L, 10, "test value too deep");
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++n);
    }
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_pushvalue(L, keys);
    lua_pushcfunction(L, cmp_keys);
    lua_call(L, 2, 0);
    lua_pop(L, 1);
    lua_Integer len = (lua_Integer)lua_rawlen(L, t);
    add_piece(L, pieces, "{");
    for (lua_Integer i = 1; i <= n; i++) {
        if (len == n) {
            lua_rawgeti(L, t, i);
            tl(L, lua_gettop(L), pieces, depth + 1);
            lua_pop(L, 1);
        } else {
            lua_rawgeti(L, keys, i);
            int k = lua_gettop(L);
            if (lua_type(L, k) == LUA_TSTRING) {
                add_piece(L, pieces, lua_tostring(L, k));
            } else {
                add_piece(L, pieces, "[");
                tl(L, k, pieces, depth + 1);
                add_piece(L, pieces, "]");
            }
            add_piece(L, pieces, " = ");
            lua_pushvalue(L, k);
            lua_rawget(L, t);
            tl(L, lua_gettop(L), pieces, depth + 1);
            lua_pop(L, 2);
        }
        if (i < n) add_piece(L, pieces, ", ");
    }
    add_piece(L, pieces, "}");
    lua_remove(L, keys);
}

static void tl(lua_State *L, int idx, int pieces, int depth)
{
    char num[64];
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            snprintf(num, sizeof(num), "%lld", (long long)lua_tointeger(L, idx));
        else
            snprintf(num, sizeof(num), "%.17g", lua_tonumber(L, idx));
        add_piece(L, pieces, num);
        break;
    case LUA_TBOOLEAN:
        add_piece(L, pieces, lua_toboolean(L, idx) ? "true" : "false");
        break;
    case LUA_TSTRING:
        lua_getglobal(L, "string");
        lua_getfield(L, -1, "format");
        lua_pushliteral(L, "%q");
        lua_pushvalue(L, idx);
        lua_call(L, 2, 1);
        add_piece(L, pieces, lua_tostring(L, -1));
        lua_pop(L, 2);
        break;
    case LUA_TTABLE:
        if (depth > 16)
            add_piece(L, pieces, "{}");
        else
            tl_table(L, lua_absindex(L, idx), pieces, depth);
        break;
    default:
        add_piece(L, pieces, "nil");
        break;
    }
}

static int push_source_k(lua_State *L)
{
    lua_newtable(L); /* 2: pieces */
    tl(L, 1, 2, 0);
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "concat");
    lua_pushvalue(L, 2);
    lua_call(L, 1, 1);
    return 1;
}
