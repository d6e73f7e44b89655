/*
 * rules_test_lua.h -- Lua values in and out of the rule test kit
 * (rules_test_lua.c): why JSON to a Lua table, a Lua value to Lua source.
 */
#ifndef EGRET_RULES_TEST_LUA_H
#define EGRET_RULES_TEST_LUA_H

#include <lua.h>

/* [-0, +1, e] Pushes the alert's why as a Lua table: an empty one when it
 * does not parse. */
void rules_test_push_why(lua_State *L, const char *json);

/* [-0, +1, e] Pushes the value at idx as Lua source text (tables with
 * sorted keys). */
void rules_test_push_source(lua_State *L, int idx);

#endif /* EGRET_RULES_TEST_LUA_H */
