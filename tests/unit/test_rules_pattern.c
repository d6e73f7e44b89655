/*
 * test_rules_pattern.c -- egret's pattern matcher (rules_pattern.c) gives
 * the same answers as Lua's stock string library: a table of subjects,
 * patterns and replacements run through find, match, gmatch and gsub in
 * two plain Lua states, one with the stock functions and one with
 * egret's, results compared as text (errors compared as "error").
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "rules_int.h"

/* Runs every case in L and returns the results, one line per case. */
static const char *RUNNER =
    "local cases = ...\n"
    "local function ser(ok, ...)\n"
    "  if not ok then return 'error' end\n"
    "  local t, o = table.pack(...), {}\n"
    "  for i = 1, t.n do o[#o + 1] = type(t[i]) .. ':' .. tostring(t[i]) end\n"
    "  return table.concat(o, ',')\n"
    "end\n"
    "local out = {}\n"
    "for _, c in ipairs(cases) do\n"
    "  local s, p, a = c[1], c[2], c[3]\n"
    "  local line = {}\n"
    "  line[#line + 1] = ser(pcall(string.find, s, p, a))\n"
    "  line[#line + 1] = ser(pcall(string.match, s, p, a))\n"
    "  line[#line + 1] = ser(pcall(function()\n"
    "    local r = {}\n"
    "    for x, y in string.gmatch(s, p, a) do r[#r + 1] = tostring(x) .. '/' .. tostring(y) end\n"
    "    return table.concat(r, ';') end))\n"
    "  local repl = c[4] or '<%0>'\n"
    "  if repl == 'FN' then repl = function(x) if x == 'b' then return false end return '[' .. x "
    ".. ']' end end\n"
    "  if repl == 'TAB' then repl = { a = 'A', b = true and 'B' } end\n"
    "  line[#line + 1] = ser(pcall(string.gsub, s, p, repl, c[5]))\n"
    "  line[#line + 1] = ser(pcall(string.find, s, p, a, true))\n"
    "  out[#out + 1] = table.concat(line, ' | ')\n"
    "end\n"
    "return table.concat(out, '\\n')\n";

// clang-format off
static const char *CASES =
    "return {\n"
    " {'hello world', 'o'}, {'hello world', 'o', 6}, {'hello world', 'o', -3},\n"
    " {'hello world', 'l+'}, {'hello world', 'l*'}, {'hello world', 'l-o'}, {'hello', 'l?'},\n"
    " {'hello world', '^h'}, {'hello world', '^w'}, {'hello world', 'd$'}, {'hello world', 'o$'},\n"
    " {'a$b', '$b'}, {'a^b', 'a^'}, {'', ''}, {'', 'x*'}, {'abc', ''}, {'abc', '', 10},\n"
    " {'abc', 'x*', 4}, {'abc', '.-', 2}, {'key = value', '(%w+)%s*=%s*(%w+)'},\n"
    " {'key = value', '()(%w+)()'}, {'THE (quick) fox', '%((%a+)%)'}, {'f(a(b)c)d', '%b()'},\n"
    " {'[[x]]', '%b[]'}, {'THE (quick) fox', '%f[%a]%a+'}, {'THE (quick) fox', '%f[%A]'},\n"
    " {'hello hello', '(h%a+) %1'}, {'abcabc', '(a)(b)(c)%3'}, {'x = 10, y = 20', '%d+'},\n"
    " {'a.b.c', '%.'}, {'a.b.c', '.'}, {'a-b-c', '[%-]'}, {'a]b', '[]]'}, {'a]b', '[^]]+'},\n"
    " {'a-z', '[a%-z]+'}, {'0x1F', '0[xX](%x+)'}, {'tab\\there', '%s'}, {'ctrl\\1x', '%c'},\n"
    " {'Punct!?', '%p+'}, {'MiXeD', '%u%l'}, {'MiXeD', '[%U]+'}, {'a,b,,c', '([^,]*)'},\n"
    " {'one two  three', '%S+'}, {'abc', '[a-b]+'}, {'abc', '[^a-b]'}, {'a\\0b', '%z'},\n"
    " {'a\\0b', 'a\\0'}, {'a\\0b', '[\\0]'}, {'x', '%'}, {'x', '[a'}, {'x', '[a%'}, {'x', '(x'},\n"
    " {'x', 'x)'}, {'x', '%1'}, {'xx', '(x)%2'}, {'x', '%b'}, {'x', '%bx'}, {'x', '%fx'},\n"
    " {'abc', '()', 2}, {'hello', '(l)(l)', nil, '%2%1'}, {'hello', 'l', nil, '%%'},\n"
    " {'hello', 'l', nil, '%9'}, {'hello', 'l', nil, '%x'}, {'hello', 'l', nil, '%'},\n"
    " {'abc', '%w', nil, 'FN'}, {'abcab', '%w', nil, 'TAB'}, {'abc', '%w', nil, '-', 2},\n"
    " {'abc', '^%w', nil, '-'}, {'abc', '', nil, '-'}, {'abc', 'x*', nil, '-'},\n"
    " {'a b c', '%s*', nil, '_'}, {'<<a>>', '%b<>', nil, '%0%0'}, {'aaa', 'a-', nil, '.'},\n"
    " {('a'):rep(40), ('a?'):rep(10) .. ('a'):rep(10)}, {'2026-12-06', '(%d+)-(%d+)-(%d+)'},\n"
    " {'user@example.com', '[%w._%%+-]+@[%w.-]+%.%a%a+'}, {'ééé', '[\\128-\\255]+'},\n"
    " {'abc', '.', 0}, {'abc', '.', -10}, {'abc', 'c', 3}, {'abc', 'c', 4}, {'abc', '$', 4},\n"
    "}\n";
// clang-format on

static const char *run(lua_State *L, size_t *n)
{
    assert_int_equal(luaL_loadstring(L, RUNNER), LUA_OK);
    assert_int_equal(luaL_dostring(L, CASES), LUA_OK);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) fail_msg("runner: %s", lua_tostring(L, -1));
    return lua_tolstring(L, -1, n);
}

static void test_same_as_stock(void **state)
{
    (void)state;
    lua_State *stock = luaL_newstate(), *own = luaL_newstate();
    luaL_openlibs(stock);
    luaL_openlibs(own);
    lua_getglobal(own, "string");
    rules_pattern_open(own); /* no rule file behind it: nothing charged */
    lua_pop(own, 1);
    /* the comparison means something only if 'own' runs egret's matcher */
    static const char *const fns[] = {"find", "match", "gmatch", "gsub"};
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        lua_getglobal(stock, "string");
        lua_getglobal(own, "string");
        lua_getfield(stock, -1, fns[i]);
        lua_getfield(own, -1, fns[i]);
        lua_CFunction fs = lua_tocfunction(stock, -1), fo = lua_tocfunction(own, -1);
        if (!fo || fo == fs) fail_msg("string.%s is not egret's", fns[i]);
        lua_pop(stock, 2);
        lua_pop(own, 2);
    }
    size_t na, nb;
    const char *a = run(stock, &na), *b = run(own, &nb);
    const char *a_end = a + na, *b_end = b + nb;
    /* line by line, so a difference names its case (results may hold NULs) */
    int line = 1;
    while (a < a_end || b < b_end) {
        const char *ea = memchr(a, '\n', (size_t)(a_end - a));
        const char *eb = memchr(b, '\n', (size_t)(b_end - b));
        size_t la = ea ? (size_t)(ea - a) : (size_t)(a_end - a);
        size_t lb = eb ? (size_t)(eb - b) : (size_t)(b_end - b);
        if (la != lb || memcmp(a, b, la) != 0)
            fail_msg("case %d:\n stock: %.*s\n egret: %.*s", line, (int)la, a, (int)lb, b);
        a += la + (ea ? 1 : 0);
        b += lb + (eb ? 1 : 0);
        line++;
    }
    assert_true(line > 80);
    lua_close(stock);
    lua_close(own);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_stock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
