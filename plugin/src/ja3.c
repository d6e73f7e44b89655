/*
 * ja3.c -- JA3 from a ClientHello (see ja3.h).
 *
 * Record (RFC 8446 5.1): type 22, version, length; handshake: type 1,
 * 24-bit length, legacy_version, random (32), session id, cipher suites,
 * compression methods, extensions.  The string is
 * "version,ciphers,extensions,curves,point_formats" with decimal values
 * joined by '-'; GREASE values (RFC 8701: 0x0a0a, 0x1a1a ... 0xfafa) are
 * left out of every list, as the JA3 definition says.
 */
#include "ja3.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "hash.h"

static bool grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

typedef struct sb {
    char *p;
    size_t n;
    bool full;
} sb;

static void sb_put(sb *b, const char *s)
{
    size_t l = strlen(s);
    if (b->full || b->n + l + 1 > JA3_STRING_MAX) {
        b->full = true;
        return;
    }
    memcpy(b->p + b->n, s, l + 1);
    b->n += l;
}

/* One value of a '-' joined list ('first': none written yet). */
static void put_num(sb *b, bool *first, unsigned v)
{
    char num[8];
    snprintf(num, sizeof(num), *first ? "%u" : "-%u", v);
    sb_put(b, num);
    *first = false;
}

/* 'count' 16-bit (or 8-bit) values from 'c', GREASE skipped, '-' joined. */
static void put_list(sb *b, cur *c, size_t bytes, int width)
{
    bool first = true;
    for (size_t i = 0; i + (size_t)width <= bytes; i += (size_t)width) {
        uint16_t v = width == 2 ? cur_be16(c) : cur_u8(c);
        if (width == 2 && grease(v)) continue;
        put_num(b, &first, v);
    }
}

size_t ja3_string(const uint8_t *p, size_t len, char *out)
{
    cur c = cur_make(p, len);
    if (cur_u8(&c) != 22) return 0;
    cur_skip(&c, 2);
    uint16_t rlen = cur_be16(&c);
    if (c.trunc || cur_left(&c) < rlen) return 0;
    c = cur_make(c.p, rlen);
    if (cur_u8(&c) != 1) return 0;
    uint32_t hlen = (uint32_t)cur_u8(&c) << 16;
    hlen |= cur_be16(&c);
    if (c.trunc || cur_left(&c) < hlen) return 0;
    c = cur_make(c.p, hlen);
    uint16_t version = cur_be16(&c);
    cur_skip(&c, 32);
    cur_skip(&c, cur_u8(&c));
    uint16_t clen = cur_be16(&c);
    if (c.trunc || cur_left(&c) < clen) return 0;
    cur ciphers = cur_make(c.p, clen);
    c.p += clen;
    cur_skip(&c, cur_u8(&c)); /* compression methods */
    if (c.trunc) return 0;

    sb b = {out, 0, false};
    out[0] = '\0';
    char num[8];
    snprintf(num, sizeof(num), "%u,", version);
    sb_put(&b, num);
    put_list(&b, &ciphers, clen, 2);
    sb_put(&b, ",");
    /* extensions: their types here, curves and point formats remembered */
    cur curves = cur_make(NULL, 0), formats = cur_make(NULL, 0);
    size_t curves_n = 0, formats_n = 0;
    if (cur_left(&c) >= 2) {
        uint16_t elen = cur_be16(&c);
        if (cur_left(&c) < elen) return 0;
        cur e = cur_make(c.p, elen);
        bool first = true;
        while (cur_left(&e) >= 4) {
            uint16_t type = cur_be16(&e), l = cur_be16(&e);
            if (cur_left(&e) < l) return 0;
            cur body = cur_make(e.p, l);
            e.p += l;
            if (type == 10 && l >= 2) { /* supported_groups */
                curves_n = cur_be16(&body);
                if (curves_n > cur_left(&body)) return 0;
                curves = body;
            } else if (type == 11 && l >= 1) { /* ec_point_formats */
                formats_n = cur_u8(&body);
                if (formats_n > cur_left(&body)) return 0;
                formats = body;
            }
            if (!grease(type)) put_num(&b, &first, type);
        }
    }
    sb_put(&b, ",");
    put_list(&b, &curves, curves_n, 2);
    sb_put(&b, ",");
    put_list(&b, &formats, formats_n, 1);
    return b.full ? 0 : b.n;
}

void ja3_hash(const char *s, size_t len, char out[33])
{
    uint8_t md[16];
    hash_md5(s, len, md);
    hash_hex(md, 16, out);
}
