/*
 * rules_pattern.c -- string.find, string.match, string.gmatch and
 * string.gsub for the rule sandbox, on a pattern matcher of egret's own
 * that charges every step to the calling rule's budget (rules_charge).
 *
 * Why: Lua's own matcher is C code that the instruction-count hook never
 * interrupts, and a backtracking pattern such as ("a*"):rep(100).."b"
 * against ("a"):rep(5000) runs for longer than the universe.  Here every
 * attempt of the matcher (a pattern item tried at a subject position, a
 * character taken by a repetition, a byte scanned by %b) is a step; steps
 * are charged in batches like instructions, so a pathological pattern
 * hits the rule's instruction limit (or its time limit) and the rule is
 * stopped, counted and, if it keeps doing it, disabled.
 *
 * The pattern language is Lua 5.4's, as its reference manual describes
 * it (classes, sets, the four repetitions, anchors, captures and position
 * captures, %b, %f, back references); tests/unit/test_rules_pattern.c
 * checks this matcher against the stock string library on a table of
 * patterns.  Recursion is bounded (PAT_MAX_DEPTH) so the C stack is too.
 */
#include "rules_int.h"

#include <ctype.h>
#include <string.h>

#define PAT_MAX_CAPTURES 32
#define PAT_MAX_DEPTH    200
#define PAT_CHARGE_BATCH 256 /* steps charged to the rule at once */
#define CAP_OPEN         (-1)
#define CAP_POSITION     (-2)

typedef struct pat {
    lua_State *L;
    const char *s, *s_end; /* subject */
    const char *p_end;     /* end of the pattern */
    int depth, level;
    unsigned steps; /* not yet charged */
    struct {
        const char *at;
        ptrdiff_t len; /* or CAP_OPEN / CAP_POSITION */
    } cap[PAT_MAX_CAPTURES];
} pat;

static void flush_steps(pat *m)
{
    unsigned n = m->steps;
    m->steps = 0;
    if (n) rules_charge(m->L, n);
}

static inline void step(pat *m, unsigned n)
{
    m->steps += n;
    if (m->steps >= PAT_CHARGE_BATCH) flush_steps(m);
}

static int class_has(int c, int cl)
{
    int r;
    switch (tolower(cl)) {
    case 'a':
        r = isalpha(c);
        break;
    case 'c':
        r = iscntrl(c);
        break;
    case 'd':
        r = isdigit(c);
        break;
    case 'g':
        r = isgraph(c);
        break;
    case 'l':
        r = islower(c);
        break;
    case 'p':
        r = ispunct(c);
        break;
    case 's':
        r = isspace(c);
        break;
    case 'u':
        r = isupper(c);
        break;
    case 'w':
        r = isalnum(c);
        break;
    case 'x':
        r = isxdigit(c);
        break;
    case 'z':
        r = c == 0;
        break; /* kept by Lua 5.4 for old patterns */
    default:
        return cl == c; /* %. escapes a non-alphanumeric character */
    }
    if (isupper(cl)) r = !r;
    return r != 0;
}

/* The end of the single-character item at p (one past it). */
static const char *item_end(pat *m, const char *p)
{
    char c = *p++;
    if (c == '%') {
        if (p >= m->p_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c != '[') return p;
    if (p < m->p_end && *p == '^') p++;
    /* the first character of a set is literal, even ']' */
    do {
        if (p >= m->p_end) luaL_error(m->L, "malformed pattern (missing ']')");
        c = *p++;
        if (c == '%') {
            if (p >= m->p_end) luaL_error(m->L, "malformed pattern (missing ']')");
            p++;
        }
    } while (p >= m->p_end || *p != ']');
    return p + 1;
}

/* c in the set [ ... ] that starts at p and whose ']' is at close. */
static int set_has(int c, const char *p, const char *close)
{
    int want = 1;
    p++;
    if (*p == '^') {
        want = 0;
        p++;
    }
    while (p < close) {
        if (*p == '%' && p + 1 < close) {
            if (class_has(c, (unsigned char)p[1])) return want;
            p += 2;
        } else if (p + 2 < close && p[1] == '-') {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return want;
            p += 3;
        } else {
            if ((unsigned char)*p == c) return want;
            p++;
        }
    }
    return !want;
}

static int one_char(pat *m, const char *s, const char *p, const char *ep)
{
    if (s >= m->s_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.':
        return 1;
    case '%':
        return class_has(c, (unsigned char)p[1]);
    case '[':
        return set_has(c, p, ep - 1);
    default:
        return (unsigned char)*p == c;
    }
}

static const char *match(pat *m, const char *s, const char *p);

static const char *greedy(pat *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t n = 0;
    while (one_char(m, s + n, p, ep)) {
        n++;
        step(m, 1);
    }
    for (; n >= 0; n--) { /* longest first, then give back one at a time */
        const char *r = match(m, s + n, ep + 1);
        if (r) return r;
    }
    return NULL;
}

static const char *lazy(pat *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *r = match(m, s, ep + 1);
        if (r) return r;
        if (!one_char(m, s, p, ep)) return NULL;
        s++;
    }
}

static const char *open_capture(pat *m, const char *s, const char *p, ptrdiff_t what)
{
    if (m->level >= PAT_MAX_CAPTURES) luaL_error(m->L, "too many captures");
    m->cap[m->level].at = s;
    m->cap[m->level].len = what;
    m->level++;
    const char *r = match(m, s, p);
    if (!r) m->level--;
    return r;
}

static const char *close_capture(pat *m, const char *s, const char *p)
{
    int l = m->level - 1;
    while (l >= 0 && m->cap[l].len != CAP_OPEN) l--;
    if (l < 0) luaL_error(m->L, "invalid pattern capture");
    m->cap[l].len = s - m->cap[l].at;
    const char *r = match(m, s, p);
    if (!r) m->cap[l].len = CAP_OPEN;
    return r;
}

static const char *balanced(pat *m, const char *s, const char *p)
{
    if (p + 1 >= m->p_end) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->s_end || *s != p[0]) return NULL;
    int depth = 1;
    while (++s < m->s_end) {
        step(m, 1);
        if (*s == p[1]) {
            if (--depth == 0) return s + 1;
        } else if (*s == p[0])
            depth++;
    }
    return NULL;
}

static const char *backref(pat *m, const char *s, int digit)
{
    int l = digit - '1';
    if (l < 0 || l >= m->level || m->cap[l].len == CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", l + 1);
    size_t len = (size_t)m->cap[l].len;
    step(m, 1 + (unsigned)(len / 64));
    if ((size_t)(m->s_end - s) >= len && memcmp(m->cap[l].at, s, len) == 0) return s + len;
    return NULL;
}

static const char *match_body(pat *m, const char *s, const char *p)
{
    for (;;) {
        step(m, 1);
        if (p >= m->p_end) return s;
        switch (*p) {
        case '(':
            if (p + 1 < m->p_end && p[1] == ')') return open_capture(m, s, p + 2, CAP_POSITION);
            return open_capture(m, s, p + 1, CAP_OPEN);
        case ')':
            return close_capture(m, s, p + 1);
        case '$':
            if (p + 1 == m->p_end) return s == m->s_end ? s : NULL;
            break;
        case '%':
            if (p + 1 >= m->p_end) break; /* item_end reports it */
            if (p[1] == 'b') {
                s = balanced(m, s, p + 2);
                if (!s) return NULL;
                p += 4;
                continue;
            }
            if (p[1] == 'f') {
                p += 2;
                if (p >= m->p_end || *p != '[')
                    luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *ep = item_end(m, p);
                int prev = s == m->s ? 0 : (unsigned char)s[-1];
                int cur = s < m->s_end ? (unsigned char)*s : 0;
                if (set_has(prev, p, ep - 1) || !set_has(cur, p, ep - 1)) return NULL;
                p = ep;
                continue;
            }
            if (isdigit((unsigned char)p[1])) {
                s = backref(m, s, (unsigned char)p[1]);
                if (!s) return NULL;
                p += 2;
                continue;
            }
            break;
        default:
            break;
        }
        const char *ep = item_end(m, p);
        char q = ep < m->p_end ? *ep : 0;
        if (!one_char(m, s, p, ep)) {
            if (q == '*' || q == '?' || q == '-') { /* may match zero times */
                p = ep + 1;
                continue;
            }
            return NULL;
        }
        switch (q) {
        case '?': {
            const char *r = match(m, s + 1, ep + 1);
            if (r) return r;
            p = ep + 1;
            continue;
        }
        case '+':
            return greedy(m, s + 1, p, ep);
        case '*':
            return greedy(m, s, p, ep);
        case '-':
            return lazy(m, s, p, ep);
        default:
            s++;
            p = ep;
            continue;
        }
    }
}

static const char *match(pat *m, const char *s, const char *p)
{
    if (++m->depth > PAT_MAX_DEPTH) luaL_error(m->L, "pattern too complex");
    const char *r = match_body(m, s, p);
    m->depth--;
    return r;
}

/* ---- results ---- */

static void push_capture(pat *m, int i, const char *s, const char *e)
{
    if (i >= m->level) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s)); /* no captures: the whole match */
        return;
    }
    ptrdiff_t len = m->cap[i].len;
    if (len == CAP_OPEN) luaL_error(m->L, "unfinished capture");
    if (len == CAP_POSITION)
        lua_pushinteger(m->L, (lua_Integer)(m->cap[i].at - m->s) + 1);
    else
        lua_pushlstring(m->L, m->cap[i].at, (size_t)len);
}

/* Pushes the captures (or the whole match when s != NULL and there is
 * none); returns how many. */
static int push_captures(pat *m, const char *s, const char *e)
{
    int n = (m->level == 0 && s) ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) push_capture(m, i, s, e);
    return n;
}

static void pat_init(pat *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
    m->L = L;
    m->s = s;
    m->s_end = s + ls;
    m->p_end = p + lp;
    m->depth = m->level = 0;
    m->steps = 0;
}

static void pat_reset(pat *m)
{
    m->depth = m->level = 0;
}

/* A start position: 1-based, negative from the end, clamped at 1. */
static size_t start_at(lua_Integer pos, size_t len)
{
    if (pos > 0) return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len) return 1;
    return len + (size_t)pos + 1;
}

static int has_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr("^$*+?.([%-", p[i])) return 1;
    return 0;
}

static const char *plain_find(const char *s, size_t ls, const char *p, size_t lp)
{
    if (lp == 0) return s;
    if (lp > ls) return NULL;
    const char *last = s + (ls - lp);
    for (const char *q = s; q <= last; q++) {
        q = memchr(q, p[0], (size_t)(last - q) + 1);
        if (!q) return NULL;
        if (memcmp(q + 1, p + 1, lp - 1) == 0) return q;
    }
    return NULL;
}

static int find_or_match(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *at = plain_find(s + init, ls - init, p, lp);
        if (!at) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (lua_Integer)(at - s) + 1);
        lua_pushinteger(L, (lua_Integer)(at - s + (ptrdiff_t)lp));
        return 2;
    }
    pat m;
    int anchor = lp > 0 && *p == '^';
    if (anchor) p++, lp--;
    pat_init(&m, L, s, ls, p, lp);
    const char *from = s + init;
    do {
        pat_reset(&m);
        const char *e = match(&m, from, p);
        if (e) {
            flush_steps(&m);
            if (find) {
                lua_pushinteger(L, (lua_Integer)(from - s) + 1);
                lua_pushinteger(L, (lua_Integer)(e - s));
                return push_captures(&m, NULL, NULL) + 2;
            }
            return push_captures(&m, from, e);
        }
    } while (from++ < m.s_end && !anchor);
    flush_steps(&m);
    luaL_pushfail(L);
    return 1;
}

static int l_find(lua_State *L)
{
    return find_or_match(L, 1);
}

static int l_match(lua_State *L)
{
    return find_or_match(L, 0);
}

/* gmatch's iterator: upvalues subject, pattern, next position (0-based),
 * end of the last match (-1: none), so an empty match is not repeated. */
static int gmatch_next(lua_State *L)
{
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    lua_Integer pos = lua_tointeger(L, lua_upvalueindex(3));
    lua_Integer last = lua_tointeger(L, lua_upvalueindex(4));
    if (pos > (lua_Integer)ls) return 0; /* exhausted */
    pat m;
    pat_init(&m, L, s, ls, p, lp);
    for (const char *from = s + pos; from <= m.s_end; from++) {
        pat_reset(&m);
        const char *e = match(&m, from, p);
        if (e && (e - s) != last) {
            flush_steps(&m);
            lua_pushinteger(L, (lua_Integer)(e - s));
            lua_pushvalue(L, -1);
            lua_replace(L, lua_upvalueindex(3));
            lua_replace(L, lua_upvalueindex(4));
            return push_captures(&m, from, e);
        }
    }
    flush_steps(&m);
    lua_pushinteger(L, (lua_Integer)ls + 1); /* exhausted */
    lua_replace(L, lua_upvalueindex(3));
    return 0;
}

static int l_gmatch(lua_State *L)
{
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) init = ls + 1; /* no match at all */
    lua_settop(L, 2);
    lua_pushinteger(L, (lua_Integer)init);
    lua_pushinteger(L, -1);
    lua_pushcclosure(L, gmatch_next, 4);
    return 1;
}

static void add_template(pat *m, luaL_Buffer *b, const char *s, const char *e)
{
    lua_State *L = m->L;
    size_t l;
    const char *t = lua_tolstring(L, 3, &l);
    const char *t_end = t + l;
    while (t < t_end) {
        const char *pc = memchr(t, '%', (size_t)(t_end - t));
        if (!pc) {
            luaL_addlstring(b, t, (size_t)(t_end - t));
            break;
        }
        luaL_addlstring(b, t, (size_t)(pc - t));
        t = pc + 1;
        if (t >= t_end) luaL_error(L, "invalid use of '%%' in replacement string");
        if (*t == '%')
            luaL_addchar(b, '%');
        else if (*t == '0')
            luaL_addlstring(b, s, (size_t)(e - s));
        else if (isdigit((unsigned char)*t)) {
            push_capture(m, *t - '1', s, e);
            luaL_tolstring(L, -1, NULL);
            lua_remove(L, -2);
            luaL_addvalue(b);
        } else
            luaL_error(L, "invalid use of '%%' in replacement string");
        t++;
        step(m, 1);
    }
}

static void add_replacement(pat *m, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = m->L;
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        flush_steps(m);
        lua_call(L, n, 1); /* Lua code: counted by the instruction hook */
    } else if (tr == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_template(m, b, s, e);
        return;
    }
    if (!lua_toboolean(L, -1)) { /* nil or false: keep the original text */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
    } else if (!lua_isstring(L, -1))
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    else
        luaL_addvalue(b);
}

static int l_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    luaL_argexpected(
        L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
        "string/function/table");
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    lua_settop(L, 3);
    int anchor = lp > 0 && *p == '^';
    if (anchor) p++, lp--;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    pat m;
    pat_init(&m, L, s, ls, p, lp);
    const char *from = s, *last = NULL;
    lua_Integer n = 0;
    while (n < max_n) {
        pat_reset(&m);
        const char *e = match(&m, from, p);
        if (e && e != last) {
            n++;
            add_replacement(&m, &b, from, e, tr);
            from = last = e;
        } else if (from < m.s_end)
            luaL_addchar(&b, *from++);
        else
            break;
        if (anchor) break;
    }
    flush_steps(&m);
    luaL_addlstring(&b, from, (size_t)(m.s_end - from));
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

void rules_pattern_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"find", l_find}, {"match", l_match}, {"gmatch", l_gmatch}, {"gsub", l_gsub}, {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
