/*
 * fuzz_pattern.c -- the rules' pattern matcher (rules_pattern.c): Lua
 * patterns and subjects from the input through string.find, match, gmatch
 * and gsub, in a Lua state that looks like a rule file's to the budget
 * (rules_ctx is the allocator's ud, a count hook is set), so a
 * backtracking pattern is stopped by the instruction budget as it is in a
 * rule instead of timing the fuzzer out.  Input: one byte choosing where
 * the pattern ends, the pattern, the subject.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

#include <lualib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *fuzz_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud, (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static int run_all(lua_State *L)
{
    /* 1: pattern, 2: subject */
    static const char *const fns[] = {"find", "match", "gsub"};
    for (int i = 0; i < 3; i++) {
        lua_getglobal(L, "string");
        lua_getfield(L, -1, fns[i]);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 1);
        if (i == 2) lua_pushliteral(L, "<%0>");
        lua_call(L, i == 2 ? 3 : 2, 0);
        lua_pop(L, 1);
    }
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "gmatch");
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 1);
    lua_call(L, 2, 1);
    for (int k = 0; k < 1000; k++) {
        lua_pushvalue(L, -1);
        lua_call(L, 0, 1);
        bool done = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (done) break;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t plen = data[0] < size - 1 ? data[0] : size - 1;
    static struct rules owner;
    rule_file f = {0};
    owner.cfg.time_limit_ms = 1000;
    f.owner = &owner;
    f.instr_limit = 50000; /* enough to match; a backtracking bomb stops fast */
    lua_State *L = lua_newstate(fuzz_alloc, &f);
    if (!L) return 0;
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    rules_pattern_open(L);
    lua_pop(L, 1);
    rules_arm_deadline(&f, rules_now_ns());
    lua_sethook(L, rules_count_hook, LUA_MASKCOUNT, RULES_HOOK_STEP);
    lua_pushcfunction(L, run_all);
    lua_pushlstring(L, (const char *)data + 1, plen);
    lua_pushlstring(L, (const char *)data + 1 + plen, size - 1 - plen);
    (void)lua_pcall(L, 2, 0, 0); /* pattern errors and budget stops are expected */
    lua_close(L);
    return 0;
}
