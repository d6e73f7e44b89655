/*
 * bytesrc.h -- a capture file as a forward-only run of bytes, for egret's
 * own savefile readers (pcapfile.c, pcapng.c).
 *
 * The source is either a memory span (a whole file in memory, as the unit
 * tests give it) or a stdio stream (a regular file, a pipe, standard
 * input).  Readers take the bytes of one record or block at a time; a
 * take from memory points into it, a take from a stream into the source's
 * own buffer, which grows to the largest take (the readers bound that) and
 * is reused: no allocation per packet.
 */
#ifndef EGRET_BYTESRC_H
#define EGRET_BYTESRC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct bsrc {
    FILE *fp;           /* the stream, or NULL for memory */
    const uint8_t *mem; /* memory: the bytes */
    size_t mem_len;
    uint64_t off; /* offset of the next byte not taken, from the start */
    uint8_t *buf; /* stream: buf[pos, fill) is peeked and not taken yet */
    size_t cap, pos, fill;
    int err; /* errno of a failed read, or 0 */
} bsrc;

void bsrc_init_mem(bsrc *b, const uint8_t *mem, size_t len);
void bsrc_init_file(bsrc *b, FILE *fp);

/* The next n bytes, taken (bsrc_take) or only looked at (bsrc_peek).
 * Borrowed: valid until the next take or peek.  When fewer than n bytes
 * are left, returns NULL and sets *got to those there are (a take consumes
 * them; b->err is set if a read failed rather than the input ended). */
const uint8_t *bsrc_take(bsrc *b, size_t n, size_t *got);
const uint8_t *bsrc_peek(bsrc *b, size_t n, size_t *got);

/* One packet as egret's savefile readers hand it out.  Borrowed: 'data'
 * is valid until the reader's next call. */
typedef struct sf_pkt {
    uint64_t ts_usec; /* microseconds since the epoch (UTC); 0 for times before it */
    uint32_t caplen;  /* bytes in 'data': the whole record, even beyond the snapshot length */
    uint32_t len;     /* length on the wire */
    int linktype;     /* LINKTYPE_ value of the packet's interface */
    const uint8_t *data;
} sf_pkt;

/* The longest record the readers accept: libpcap's own maximum snapshot
 * length (MAXIMUM_SNAPLEN) for the link types egret decodes. */
#define SF_MAX_CAPLEN 262144u

/* Frees the buffer (not the stream, which the caller owns).  Accepts NULL. */
void bsrc_close(bsrc *b);

#endif /* EGRET_BYTESRC_H */
