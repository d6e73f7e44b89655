/*
 * cursor.h -- bounds-checked reads over captured bytes (STYLE.md section 5).
 *
 * A cursor never reads past 'end'.  A short read returns 0 and sets the
 * sticky 'trunc' flag, so a decoder reads a whole header and checks the
 * flag once.  Buffers are never cast to wire structs.
 */
#ifndef EGRET_CURSOR_H
#define EGRET_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cur {
    const uint8_t *p, *end;
    bool trunc;
} cur;

static inline cur cur_make(const uint8_t *p, size_t len)
{
    /* an empty cursor may have no buffer: NULL + 0 is undefined in C */
    cur c = {p, p ? p + len : p, false};
    return c;
}

static inline size_t cur_left(const cur *c)
{
    return (size_t)(c->end - c->p);
}

static inline bool cur_need(cur *c, size_t n)
{
    if (cur_left(c) < n) {
        c->trunc = true;
        c->p = c->end;
        return false;
    }
    return true;
}

static inline uint8_t cur_u8(cur *c)
{
    if (!cur_need(c, 1)) return 0;
    return *c->p++;
}

static inline uint16_t cur_be16(cur *c)
{
    if (!cur_need(c, 2)) return 0;
    uint16_t v = (uint16_t)((c->p[0] << 8) | c->p[1]);
    c->p += 2;
    return v;
}

static inline uint16_t cur_le16(cur *c)
{
    if (!cur_need(c, 2)) return 0;
    uint16_t v = (uint16_t)((c->p[1] << 8) | c->p[0]);
    c->p += 2;
    return v;
}

static inline uint32_t cur_be32(cur *c)
{
    if (!cur_need(c, 4)) return 0;
    uint32_t v = ((uint32_t)c->p[0] << 24) | ((uint32_t)c->p[1] << 16) | ((uint32_t)c->p[2] << 8) |
                 (uint32_t)c->p[3];
    c->p += 4;
    return v;
}

static inline uint32_t cur_le32(cur *c)
{
    if (!cur_need(c, 4)) return 0;
    uint32_t v = ((uint32_t)c->p[3] << 24) | ((uint32_t)c->p[2] << 16) | ((uint32_t)c->p[1] << 8) |
                 (uint32_t)c->p[0];
    c->p += 4;
    return v;
}

/* Returns the next byte without consuming it (0 and 'trunc' when empty). */
static inline uint8_t cur_peek_u8(cur *c)
{
    if (!cur_need(c, 1)) return 0;
    return *c->p;
}

/* Reads at 'off' bytes past the cursor without consuming: for headers
 * whose fields a table locates (layers.h).  A short read sets 'trunc'. */
static inline uint8_t cur_u8_at(cur *c, size_t off)
{
    if (!cur_need(c, off + 1)) return 0;
    return c->p[off];
}

static inline uint16_t cur_be16_at(cur *c, size_t off)
{
    if (!cur_need(c, off + 2)) return 0;
    return (uint16_t)((c->p[off] << 8) | c->p[off + 1]);
}

static inline uint32_t cur_le32_at(cur *c, size_t off)
{
    if (!cur_need(c, off + 4)) return 0;
    const uint8_t *b = c->p + off;
    return ((uint32_t)b[3] << 24) | ((uint32_t)b[2] << 16) | ((uint32_t)b[1] << 8) | (uint32_t)b[0];
}

static inline void cur_skip(cur *c, size_t n)
{
    if (cur_need(c, n)) c->p += n;
}

/* Copies n bytes into 'out' (zero-filled on truncation). */
static inline void cur_copy(cur *c, void *out, size_t n)
{
    uint8_t *o = out;
    if (!cur_need(c, n)) {
        for (size_t i = 0; i < n; i++) o[i] = 0;
        return;
    }
    for (size_t i = 0; i < n; i++) o[i] = c->p[i];
    c->p += n;
}

#endif /* EGRET_CURSOR_H */
