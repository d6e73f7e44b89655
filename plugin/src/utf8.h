/*
 * utf8.h -- one code point written as UTF-8, as yajl writes it: shared by
 * the content detector's JSON decoding and the evidence redactor's, so the
 * text both see is the same bytes.
 */
#ifndef EGRET_UTF8_H
#define EGRET_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Writes cp to o (room for 4 bytes) and returns the length; '?' beyond
 * 0x1fffff. */
static inline size_t utf8_put(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp < 0x200000) {
        o[0] = (uint8_t)(0xf0 | cp >> 18);
        o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (uint8_t)(0x80 | (cp & 0x3f));
        return 4;
    }
    o[0] = '?';
    return 1;
}

#endif /* EGRET_UTF8_H */
