/*
 * fuzz_stream.h -- the input format of the stream targets (HTTP/1, HTTP/2,
 * TLS, the content detector): a run of events, each a control byte and a
 * 16-bit big-endian length.
 *
 *   ctl & 0x01   direction (0 client to server, 1 server to client)
 *   ctl & 0x80   a gap of 'len' bytes (nothing follows the length)
 *   otherwise    'len' bytes of data follow (fewer at the end of the input)
 *
 * scripts/fuzz-seeds writes TCP streams of the project's captures in this
 * form.  Header-only: each target includes it once.
 */
#ifndef EGRET_FUZZ_STREAM_H
#define EGRET_FUZZ_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define FZ_DIR 0x01u
#define FZ_GAP 0x80u

typedef struct fz_event {
    int dir;
    int gap; /* 1: len bytes missing; 0: data/len */
    const uint8_t *data;
    size_t len;
} fz_event;

/* The next event from *p (n bytes left), advancing them; 0 at the end. */
static inline int fz_next(const uint8_t **p, size_t *n, fz_event *ev)
{
    if (*n < 3) return 0;
    uint8_t ctl = (*p)[0];
    size_t len = (size_t)(*p)[1] << 8 | (*p)[2];
    *p += 3;
    *n -= 3;
    ev->dir = (int)(ctl & FZ_DIR);
    ev->gap = (ctl & FZ_GAP) != 0;
    ev->data = NULL;
    if (!ev->gap) {
        if (len > *n) len = *n;
        ev->data = *p;
        *p += len;
        *n -= len;
    }
    ev->len = len;
    return 1;
}

#endif /* EGRET_FUZZ_STREAM_H */
