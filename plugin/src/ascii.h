/*
 * ascii.h -- locale-free ASCII helpers for header parsing, shared by the
 * HTTP/1.x parser, the HTTP/2 parser and the body decoder.  Header names
 * and tokens are compared case-insensitively against lower-case literals.
 */
#ifndef EGRET_ASCII_H
#define EGRET_ASCII_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static inline int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* The value of the hex digit c, or -1. */
static inline int ascii_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = ascii_lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* a[0..n) equals the lower-case literal 'lit', ignoring case. */
static inline bool ascii_ieq(const char *a, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m) return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower((unsigned char)a[i]) != lit[i]) return false;
    return true;
}

/* a[0..n) starts with the lower-case literal 'lit', ignoring case. */
static inline bool ascii_iprefix(const char *a, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n < m) return false;
    for (size_t i = 0; i < m; i++)
        if (ascii_lower((unsigned char)a[i]) != lit[i]) return false;
    return true;
}

static inline bool ascii_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Strips optional whitespace from both ends of s[0..n). */
static inline void ascii_trim(const char **s, size_t *n)
{
    while (*n && ascii_is_ows(**s)) (*s)++, (*n)--;
    while (*n && ascii_is_ows((*s)[*n - 1])) (*n)--;
}

/* Copies at most cap-1 bytes and NUL-terminates.  Returns true if cut. */
static inline bool ascii_copy_trunc(char *dst, size_t cap, const char *src, size_t n)
{
    bool cut = n >= cap;
    if (cut) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
    return cut;
}

#endif /* EGRET_ASCII_H */
