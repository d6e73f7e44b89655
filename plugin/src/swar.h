/*
 * swar.h -- eight bytes at a time: finding the first byte of a small class
 * (a quote, a backslash, a control byte, a letter) in a run of text, and
 * counting UTF-8 characters.  The content detector reads every byte of a
 * decrypted upload; a byte-by-byte loop with several comparisons per byte
 * was most of its cost (issue 15).  Portable C (no intrinsics): the
 * compiler's count-trailing-zeros builtin, with a byte loop on big-endian
 * hosts.
 */
#ifndef EGRET_SWAR_H
#define EGRET_SWAR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SWAR_ONES  0x0101010101010101ull
#define SWAR_HIGHS 0x8080808080808080ull

static inline uint64_t swar_load(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* High bit set in each byte of x that is zero.  Only the lowest flagged
 * byte is exact (a borrow may flag bytes above it), which is all the
 * scanners below use. */
static inline uint64_t swar_zero(uint64_t x)
{
    return (x - SWAR_ONES) & ~x & SWAR_HIGHS;
}

/* High bit set in bytes of x equal to c (lowest flag exact). */
static inline uint64_t swar_eq(uint64_t x, uint8_t c)
{
    return swar_zero(x ^ (SWAR_ONES * c));
}

/* High bit set in bytes of x below c, c <= 128 (lowest flag exact). */
static inline uint64_t swar_below(uint64_t x, uint8_t c)
{
    return (x - SWAR_ONES * c) & ~x & SWAR_HIGHS;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
#define SWAR_FAST 1
/* Index of the lowest flagged byte of a non-zero mask. */
static inline size_t swar_first(uint64_t m)
{
    return (size_t)__builtin_ctzll(m) >> 3;
}
#else
#define SWAR_FAST 0
#endif

/* Length of the run at p[0..n) holding no '"', no '\\' and no byte below
 * 0x20: the plain text of a JSON string. */
static inline size_t swar_json_plain(const uint8_t *p, size_t n)
{
    size_t i = 0;
#if SWAR_FAST
    for (; i + 8 <= n; i += 8) {
        uint64_t x = swar_load(p + i);
        uint64_t m = swar_eq(x, '"') | swar_eq(x, '\\') | swar_below(x, 0x20);
        if (m) return i + swar_first(m);
    }
#endif
    while (i < n && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20) i++;
    return i;
}

/* Offset of the first byte of p[0..n) equal to a or b, or n. */
static inline size_t swar_find2(const uint8_t *p, size_t n, uint8_t a, uint8_t b)
{
    size_t i = 0;
#if SWAR_FAST
    for (; i + 8 <= n; i += 8) {
        uint64_t x = swar_load(p + i);
        uint64_t m = swar_eq(x, a) | swar_eq(x, b);
        if (m) return i + swar_first(m);
    }
#endif
    while (i < n && p[i] != a && p[i] != b) i++;
    return i;
}

/* Offset of the first of the five bytes of JSON structure that matter
 * inside an array: '{', '[', '}', ']', '"' -- or n. */
static inline size_t swar_find_jstruct(const uint8_t *p, size_t n)
{
    size_t i = 0;
#if SWAR_FAST
    for (; i + 8 <= n; i += 8) {
        uint64_t x = swar_load(p + i);
        uint64_t m =
            swar_eq(x, '{') | swar_eq(x, '[') | swar_eq(x, '}') | swar_eq(x, ']') | swar_eq(x, '"');
        if (m) return i + swar_first(m);
    }
#endif
    while (i < n && p[i] != '{' && p[i] != '[' && p[i] != '}' && p[i] != ']' && p[i] != '"') i++;
    return i;
}

/* Offset of the first 'm' or 'M' in p[0..n), or n. */
static inline size_t swar_find_m(const uint8_t *p, size_t n)
{
    size_t i = 0;
#if SWAR_FAST
    for (; i + 8 <= n; i += 8) {
        /* x | 0x20 is 'm' exactly for 'm' and 'M' */
        uint64_t m = swar_eq(swar_load(p + i) | (SWAR_ONES * 0x20), 'm');
        if (m) return i + swar_first(m);
    }
#endif
    while (i < n && (p[i] | 0x20) != 'm') i++;
    return i;
}

/* UTF-8 characters in s[0..n): the bytes that are not continuation bytes
 * (10xxxxxx). */
static inline uint64_t swar_utf8_chars(const uint8_t *s, size_t n)
{
    uint64_t cont = 0;
    size_t i = 0;
    while (i + 8 <= n) {
        /* one count per byte lane, summed before a lane can pass 255 */
        uint64_t lanes = 0;
        for (int k = 0; k < 255 && i + 8 <= n; k++, i += 8) {
            uint64_t x = swar_load(s + i);
            lanes += (x & ~(x << 1) & SWAR_HIGHS) >> 7;
        }
        uint64_t pairs = (lanes & 0x00ff00ff00ff00ffull) + ((lanes >> 8) & 0x00ff00ff00ff00ffull);
        cont += (pairs * 0x0001000100010001ull) >> 48;
    }
    for (; i < n; i++) cont += (s[i] & 0xc0) == 0x80;
    return (uint64_t)n - cont;
}

#endif
