/*
 * jscan.c -- in-place JSON lookups (see jscan.h).
 *
 * A recursive-descent skipper: finding a key skips the values before it.
 * Depth is bounded so hostile input cannot exhaust the stack.
 */
#include "jscan.h"

#include <stdlib.h>
#include <string.h>

#define JS_MAX_DEPTH 64

typedef struct cur {
    const char *p, *end;
} cur;

static void ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Skips one value at c->p (after blanks); fills 'out'.  False on bad text. */
static bool skip_value(cur *c, js_val *out, int depth);

static bool skip_string(cur *c)
{
    if (c->p >= c->end || *c->p != '"') return false;
    for (c->p++; c->p < c->end; c->p++) {
        if (*c->p == '\\') {
            c->p++;
        } else if (*c->p == '"') {
            c->p++;
            return true;
        }
    }
    return false;
}

static bool skip_container(cur *c, char close, int depth)
{
    c->p++; /* '{' or '[' */
    ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return true;
    }
    for (;;) {
        js_val v;
        if (close == '}') {
            ws(c);
            if (!skip_string(c)) return false;
            ws(c);
            if (c->p >= c->end || *c->p != ':') return false;
            c->p++;
        }
        if (!skip_value(c, &v, depth + 1)) return false;
        ws(c);
        if (c->p >= c->end) return false;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p != close) return false;
        c->p++;
        return true;
    }
}

static bool skip_value(cur *c, js_val *out, int depth)
{
    ws(c);
    out->type = JS_NONE;
    out->p = c->p;
    out->len = 0;
    if (c->p >= c->end || depth > JS_MAX_DEPTH) return false;
    const char *start = c->p;
    js_type t;
    switch (*c->p) {
    case '{':
        t = JS_OBJECT;
        if (!skip_container(c, '}', depth)) return false;
        break;
    case '[':
        t = JS_ARRAY;
        if (!skip_container(c, ']', depth)) return false;
        break;
    case '"':
        t = JS_STRING;
        if (!skip_string(c)) return false;
        break;
    case 't':
    case 'f':
    case 'n': {
        static const char *const words[] = {"true", "false", "null"};
        static const js_type types[] = {JS_TRUE, JS_FALSE, JS_NULL};
        size_t k = *c->p == 't' ? 0 : *c->p == 'f' ? 1 : 2;
        size_t n = strlen(words[k]);
        if ((size_t)(c->end - c->p) < n || memcmp(c->p, words[k], n) != 0) return false;
        c->p += n;
        t = types[k];
        break;
    }
    default:
        if (*c->p != '-' && (*c->p < '0' || *c->p > '9')) return false;
        while (c->p < c->end && strchr("+-.eE0123456789", *c->p) && *c->p) c->p++;
        t = JS_NUMBER;
        break;
    }
    out->type = t;
    out->p = start;
    out->len = (size_t)(c->p - start);
    return true;
}

js_val js_root(const char *json, size_t len)
{
    cur c = {json, json + len};
    js_val v;
    if (!skip_value(&c, &v, 0)) v.type = JS_NONE;
    return v;
}

/* Does the string token at 'p' (quotes included, 'len' bytes) spell 'key'
 * ('klen' bytes)?  Keys egret writes carry no escapes; an escaped key
 * simply does not match. */
static bool key_is(const char *p, size_t len, const char *key, size_t klen)
{
    return len == klen + 2 && memcmp(p + 1, key, klen) == 0;
}

/* Reads the next member at c->p: for an object its key (the string
 * token, quotes included) and the ':', then the value and a ',' after it.
 * False at the end or on bad text. */
static bool next_member(cur *c, bool is_obj, js_val *key, js_val *val)
{
    ws(c);
    if (c->p >= c->end) return false;
    *key = (js_val){JS_STRING, c->p, 0};
    if (is_obj) {
        if (!skip_string(c)) return false;
        key->len = (size_t)(c->p - key->p);
        ws(c);
        if (c->p >= c->end || *c->p != ':') return false;
        c->p++;
    }
    if (!skip_value(c, val, 1)) return false;
    ws(c);
    if (c->p < c->end && *c->p == ',') c->p++;
    return true;
}

bool js_member(js_val obj, size_t i, char *key, size_t key_size, js_val *val)
{
    if (obj.type != JS_OBJECT && obj.type != JS_ARRAY) return false;
    bool is_obj = obj.type == JS_OBJECT;
    cur c = {obj.p + 1, obj.p + obj.len - 1};
    js_val kv, v;
    for (size_t k = 0; next_member(&c, is_obj, &kv, &v); k++) {
        if (k < i) continue;
        if (key && key_size) {
            if (is_obj)
                js_str(kv, key, key_size);
            else
                key[0] = '\0';
        }
        *val = v;
        return true;
    }
    return false;
}

js_val js_get(js_val v, const char *path)
{
    js_val none = {JS_NONE, NULL, 0};
    while (*path) {
        if (v.type != JS_OBJECT) return none;
        size_t klen = strcspn(path, ".");
        cur c = {v.p + 1, v.p + v.len - 1};
        js_val k, m;
        bool found = false;
        while (!found && next_member(&c, true, &k, &m)) found = key_is(k.p, k.len, path, klen);
        if (!found) return none;
        v = m;
        path += klen;
        if (*path == '.') path++;
    }
    return v;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

const char *js_str(js_val v, char *buf, size_t size)
{
    size_t o = 0;
    if (!size) return buf;
    if (v.type == JS_NUMBER || v.type == JS_TRUE || v.type == JS_FALSE) {
        size_t n = v.len < size - 1 ? v.len : size - 1;
        memcpy(buf, v.p, n);
        buf[n] = '\0';
        return buf;
    }
    if (v.type != JS_STRING || v.len < 2) {
        buf[0] = '\0';
        return buf;
    }
    const char *p = v.p + 1, *end = v.p + v.len - 1;
    while (p < end && o + 1 < size) {
        char ch = *p++;
        if (ch != '\\' || p >= end) {
            buf[o++] = ch;
            continue;
        }
        char e = *p++;
        switch (e) {
        case 'n':
            ch = '\n';
            break;
        case 't':
            ch = '\t';
            break;
        case 'r':
            ch = '\r';
            break;
        case 'b':
            ch = '\b';
            break;
        case 'f':
            ch = '\f';
            break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                int h = p < end ? hexval(*p) : -1;
                if (h < 0) break;
                cp = cp * 16 + (unsigned)h;
                p++;
            }
            /* surrogates and control characters: shown as '?' */
            if (cp >= 0xd800 && cp <= 0xdfff) cp = '?';
            if (cp < 0x80) {
                ch = cp < 0x20 ? '?' : (char)cp;
            } else if (cp < 0x800) {
                if (o + 3 > size) goto done;
                buf[o++] = (char)(0xc0 | (cp >> 6));
                ch = (char)(0x80 | (cp & 0x3f));
            } else {
                if (o + 4 > size) goto done;
                buf[o++] = (char)(0xe0 | (cp >> 12));
                buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                ch = (char)(0x80 | (cp & 0x3f));
            }
            break;
        }
        default:
            ch = e;
            break; /* \" \\ \/ */
        }
        buf[o++] = ch;
    }
done:
    buf[o] = '\0';
    return buf;
}

double js_num(js_val v)
{
    char b[64];
    if (v.type != JS_NUMBER) return 0;
    return strtod(js_str(v, b, sizeof(b)), NULL);
}

uint64_t js_u64(js_val v)
{
    char b[64];
    if (v.type != JS_NUMBER || v.p[0] == '-') return 0;
    return strtoull(js_str(v, b, sizeof(b)), NULL, 10);
}
