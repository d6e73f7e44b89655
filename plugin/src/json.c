/*
 * json.c -- JSON writer for EVE records (see json.h).
 *
 * Owns one growable buffer per writer.  Escaping follows RFC 8259: '"',
 * '\\' and control characters are escaped; valid UTF-8 passes through;
 * any byte that does not start a valid UTF-8 sequence is written as
 * \u00XX (its Latin-1 reading), so hostile SNI or Host bytes can never
 * break a line or the encoding.
 */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(jw *w)
{
    memset(w, 0, sizeof(*w));
}

void jw_free(jw *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

void jw_reset(jw *w)
{
    w->len = 0;
    w->oom = false;
    w->depth = 0;
    if (w->buf) w->buf[0] = '\0';
}

static bool grow(jw *w, size_t extra)
{
    size_t ncap = w->cap ? w->cap : 1024;
    while (ncap < w->len + extra + 1) ncap *= 2;
    char *nb = realloc(w->buf, ncap);
    if (!nb) {
        w->oom = true;
        return false;
    }
    w->buf = nb;
    w->cap = ncap;
    return true;
}

/* Room for 'extra' bytes and the terminating NUL. */
static inline bool reserve(jw *w, size_t extra)
{
    if (w->oom) return false;
    if (w->len + extra + 1 <= w->cap) return true;
    return grow(w, extra);
}

static inline void put(jw *w, const char *s, size_t n)
{
    if (!reserve(w, n)) return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static inline void putc1(jw *w, char c)
{
    if (!reserve(w, 1)) return;
    w->buf[w->len++] = c;
    w->buf[w->len] = '\0';
}

/* A byte that a JSON string cannot carry as is (or that starts a UTF-8
 * sequence to check). */
static inline bool special(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

/* Non-zero when one of the 8 bytes of x is special(): >= 0x80, < 0x20,
 * '"' or '\\' (the usual "has a zero byte" bit trick, per condition; a
 * false hit only sends the caller to the byte loop). */
static inline uint64_t special8(uint64_t x)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t ctl = (x - ones * 0x20) & ~x;
    uint64_t zq = (q - ones) & ~q, zb = (b - ones) & ~b;
    return (x | ctl | zq | zb) & high;
}

/* Length of the leading run of ordinary bytes: 8 at a time (the last
 * partial block padded with 'a'), then one by one from the first block
 * that holds a special byte. */
static inline size_t plain_run(const unsigned char *u, size_t n)
{
    size_t i = 0;
    uint64_t x;
    for (; i + 8 <= n; i += 8) {
        memcpy(&x, u + i, 8);
        if (special8(x)) goto bytes;
    }
    if (i == n) return n;
    x = UINT64_C(0x0101010101010101) * 'a';
    memcpy(&x, u + i, n - i);
    if (!special8(x)) return n;
bytes:
    while (i < n && !special(u[i])) i++;
    return i;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < need) return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

void jw_escape(jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (!special(c)) {
            size_t j = i + plain_run(u + i, n - i);
            put(w, s + i, j - i);
            i = j;
            continue;
        }
        switch (c) {
        case '"':
            put(w, "\\\"", 2);
            i++;
            continue;
        case '\\':
            put(w, "\\\\", 2);
            i++;
            continue;
        case '\n':
            put(w, "\\n", 2);
            i++;
            continue;
        case '\r':
            put(w, "\\r", 2);
            i++;
            continue;
        case '\t':
            put(w, "\\t", 2);
            i++;
            continue;
        case '\b':
            put(w, "\\b", 2);
            i++;
            continue;
        case '\f':
            put(w, "\\f", 2);
            i++;
            continue;
        default:
            break;
        }
        size_t ul = c >= 0x80 ? utf8_len(u + i, n - i) : 0;
        if (ul > 1) {
            put(w, s + i, ul);
            i += ul;
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(w, esc, 6);
            i++;
        }
    }
}

/* The separator before a value and its "key":.  Keys are mostly short
 * literals: copied and checked in one pass, escaped only when needed. */
#define KEY_FAST 48

static inline void sep_key(jw *w, const char *key)
{
    if (!reserve(w, KEY_FAST + 4)) return;
    char *p = w->buf + w->len;
    if (w->depth > 0) {
        if (!w->first[w->depth - 1]) *p++ = ',';
        w->first[w->depth - 1] = false;
    }
    if (key) {
        *p = '"';
        size_t i = 0;
        unsigned char c;
        while (i < KEY_FAST && (c = (unsigned char)key[i]) != 0 && !special(c))
            p[1 + i++] = (char)c;
        if (key[i] == 0) { /* plain and short: done */
            p += 1 + i;
            *p++ = '"';
            *p++ = ':';
        } else { /* long, or needs escaping */
            w->len = (size_t)(p - w->buf);
            putc1(w, '"');
            jw_escape(w, key, strlen(key));
            put(w, "\":", 2);
            return;
        }
    }
    w->len = (size_t)(p - w->buf);
    w->buf[w->len] = '\0';
}

static void open_(jw *w, const char *key, char c)
{
    sep_key(w, key);
    putc1(w, c);
    if (w->depth < JW_MAX_DEPTH) w->first[w->depth] = true;
    w->depth++;
}

static void close_(jw *w, char c)
{
    if (w->depth > 0) w->depth--;
    putc1(w, c);
}

void jw_obj_open(jw *w, const char *key)
{
    open_(w, key, '{');
}

void jw_obj_close(jw *w)
{
    close_(w, '}');
}

void jw_arr_open(jw *w, const char *key)
{
    open_(w, key, '[');
}

void jw_arr_close(jw *w)
{
    close_(w, ']');
}

void jw_strn(jw *w, const char *key, const char *s, size_t n)
{
    sep_key(w, key);
    if (plain_run((const unsigned char *)s, n) == n) { /* the usual case: one copy */
        if (!reserve(w, n + 2)) return;
        char *p = w->buf + w->len;
        *p++ = '"';
        memcpy(p, s, n);
        p[n] = '"';
        w->len += n + 2;
        w->buf[w->len] = '\0';
        return;
    }
    putc1(w, '"');
    jw_escape(w, s, n);
    putc1(w, '"');
}

void jw_str(jw *w, const char *key, const char *s)
{
    jw_strn(w, key, s ? s : "", s ? strlen(s) : 0);
}

/* Integer formatting without printf: EVE records are mostly numbers.  Two
 * digits per division, from a table of "00".."99". */
static size_t fmt_u64(char *end, uint64_t v)
{
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    char *p = end;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, pairs + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    return (size_t)(end - p);
}

void jw_u64(jw *w, const char *key, uint64_t v)
{
    char b[24];
    size_t n = fmt_u64(b + sizeof(b), v);
    sep_key(w, key);
    put(w, b + sizeof(b) - n, n);
}

void jw_i64(jw *w, const char *key, int64_t v)
{
    char b[24];
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = fmt_u64(b + sizeof(b), m);
    if (v < 0) b[sizeof(b) - ++n] = '-';
    sep_key(w, key);
    put(w, b + sizeof(b) - n, n);
}

void jw_dbl(jw *w, const char *key, double v)
{
    if (!isfinite(v)) {
        jw_null(w, key);
        return;
    }
    char b[40];
    int n;
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        n = snprintf(b, sizeof(b), "%.0f", v);
    else
        n = snprintf(b, sizeof(b), "%.10g", v);
    sep_key(w, key);
    put(w, b, (size_t)n);
}

void jw_bool(jw *w, const char *key, bool v)
{
    sep_key(w, key);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void jw_null(jw *w, const char *key)
{
    sep_key(w, key);
    put(w, "null", 4);
}

void jw_raw(jw *w, const char *key, const char *json, size_t n)
{
    sep_key(w, key);
    put(w, json, n);
}

const char *jw_text(const jw *w)
{
    if (w->oom) return NULL;
    return w->buf ? w->buf : "";
}
