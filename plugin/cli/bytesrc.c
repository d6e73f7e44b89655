/*
 * bytesrc.c -- a capture file as a forward-only run of bytes (see
 * bytesrc.h).
 */
#include "bytesrc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bsrc_init_mem(bsrc *b, const uint8_t *mem, size_t len)
{
    memset(b, 0, sizeof(*b));
    b->mem = mem;
    b->mem_len = len;
}

void bsrc_init_file(bsrc *b, FILE *fp)
{
    memset(b, 0, sizeof(*b));
    b->fp = fp;
}

/* Stream: makes buf[pos, pos + n) hold the next n bytes if the input has
 * them; returns how many it holds (< n at the end or on a read error). */
static size_t fill(bsrc *b, size_t n)
{
    size_t have = b->fill - b->pos;
    if (have >= n) return n;
    if (b->pos) { /* what is peeked moves to the front */
        memmove(b->buf, b->buf + b->pos, have);
        b->pos = 0;
        b->fill = have;
    }
    if (n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < n) cap *= 2;
        uint8_t *nb = realloc(b->buf, cap);
        if (!nb) {
            b->err = ENOMEM;
            return have;
        }
        b->buf = nb;
        b->cap = cap;
    }
    size_t got = fread(b->buf + b->fill, 1, n - have, b->fp);
    b->fill += got;
    if (got < n - have && ferror(b->fp)) b->err = errno ? errno : EIO;
    return b->fill - b->pos;
}

const uint8_t *bsrc_peek(bsrc *b, size_t n, size_t *got)
{
    if (!b->fp) {
        size_t left = b->mem_len - (size_t)b->off;
        *got = left < n ? left : n;
        return left < n ? NULL : b->mem + b->off;
    }
    *got = fill(b, n);
    return *got < n ? NULL : b->buf + b->pos;
}

const uint8_t *bsrc_take(bsrc *b, size_t n, size_t *got)
{
    const uint8_t *p = bsrc_peek(b, n, got);
    b->off += *got;
    if (b->fp) b->pos += *got;
    return p;
}

void bsrc_close(bsrc *b)
{
    if (!b) return;
    free(b->buf);
    b->buf = NULL;
    b->cap = b->pos = b->fill = 0;
}
