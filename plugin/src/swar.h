/*
 * swar.h -- eight bytes at a time: finding the first byte of a small class
 * (a quote, a backslash, a control byte, a letter) in a run of text, and
 * counting UTF-8 characters.  The content detector reads every byte of a
 * decrypted upload; a byte-by-byte loop with several comparisons per byte
 * was most of its cost (issue 15).  Sixteen bytes at a time with SSE2
 * where the target has it (every x86-64), else portable SWAR with the
 * compiler's count-trailing-zeros builtin, else (big-endian) a byte loop.
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

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define SWAR_SSE2    1
#define SSE_LOAD(p)  _mm_loadu_si128((const __m128i *)(const void *)(p))
#define SSE_EQ(x, c) _mm_cmpeq_epi8((x), _mm_set1_epi8((char)(c)))
/* Runs 'mask_expr' (an __m128i of 0xff bytes where found, from x) over
 * p[i..n) sixteen bytes at a time; returns at the first hit. */
#define SSE_SCAN(p, n, i, mask_expr)                                                               \
    for (; (i) + 16 <= (n); (i) += 16) {                                                           \
        __m128i x = SSE_LOAD((p) + (i));                                                           \
        unsigned mm = (unsigned)_mm_movemask_epi8(mask_expr);                                      \
        if (mm) return (i) + (size_t)__builtin_ctz(mm);                                            \
    }
#else
#define SWAR_SSE2 0
#endif

/* Length of the run at p[0..n) holding no '"', no '\\' and no byte below
 * 0x20: the plain text of a JSON string. */
static inline size_t swar_json_plain(const uint8_t *p, size_t n)
{
    size_t i = 0;
#if SWAR_SSE2
    SSE_SCAN(p, n, i,
             _mm_or_si128(_mm_or_si128(SSE_EQ(x, '"'), SSE_EQ(x, '\\')),
                          _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x)))
#endif
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
#if SWAR_SSE2
    SSE_SCAN(p, n, i, _mm_or_si128(SSE_EQ(x, a), SSE_EQ(x, b)))
#endif
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

/* Offset of the first "mem" (any case) starting in p[0..n), which holds
 * two more bytes after it (p[n+1] readable), or n.  ('m' alone, as
 * common a letter as it is, stopped the scan every few dozen bytes.) */
static inline size_t swar_find_mem(const uint8_t *p, size_t n)
{
    size_t i = 0;
#if SWAR_SSE2
    const __m128i lc = _mm_set1_epi8(0x20);
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_or_si128(SSE_LOAD(p + i), lc);
        __m128i b = _mm_or_si128(SSE_LOAD(p + i + 1), lc);
        __m128i c = _mm_or_si128(SSE_LOAD(p + i + 2), lc);
        unsigned mm = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_and_si128(SSE_EQ(a, 'm'), SSE_EQ(b, 'e')), SSE_EQ(c, 'm')));
        if (mm) return i + (size_t)__builtin_ctz(mm);
    }
    if (i < n && n >= 16) {
        /* the last 16 offsets, overlapping those already seen (none of
         * which matched): no byte loop over the tail */
        i = n - 16;
        __m128i a = _mm_or_si128(SSE_LOAD(p + i), lc);
        __m128i b = _mm_or_si128(SSE_LOAD(p + i + 1), lc);
        __m128i c = _mm_or_si128(SSE_LOAD(p + i + 2), lc);
        unsigned mm = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_and_si128(SSE_EQ(a, 'm'), SSE_EQ(b, 'e')), SSE_EQ(c, 'm')));
        return mm ? i + (size_t)__builtin_ctz(mm) : n;
    }
#endif
    for (; i < n; i++)
        if ((p[i] | 0x20) == 'm' && (p[i + 1] | 0x20) == 'e' && (p[i + 2] | 0x20) == 'm') break;
    return i;
}

/* UTF-8 characters in s[0..n): the bytes that are not continuation bytes
 * (10xxxxxx). */
static inline uint64_t swar_utf8_chars(const uint8_t *s, size_t n)
{
    uint64_t cont = 0;
    size_t i = 0;
#if SWAR_SSE2
    while (i + 16 <= n) {
        /* continuation bytes are 0x80..0xbf: below -64 as signed bytes;
         * each lane counts down from 0 (a hit is -1), summed before 255 */
        __m128i acc = _mm_setzero_si128();
        for (int k = 0; k < 255 && i + 16 <= n; k++, i += 16)
            acc = _mm_add_epi8(acc, _mm_cmplt_epi8(SSE_LOAD(s + i), _mm_set1_epi8(-64)));
        __m128i sums = _mm_sad_epu8(_mm_sub_epi8(_mm_setzero_si128(), acc), _mm_setzero_si128());
        cont += (uint64_t)_mm_cvtsi128_si32(sums) +
                (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
    }
#endif
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
