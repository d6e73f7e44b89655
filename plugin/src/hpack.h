/*
 * hpack.h -- HPACK header block decoding (RFC 7541) for the HTTP/2 parser:
 * an adapter over libnghttp2's inflater.  hpack.c is the only file that
 * includes <nghttp2/nghttp2.h>; no nghttp2 type appears here.
 *
 * One hpack_dec per direction of a connection: the dynamic table carries
 * state from one header block to the next, so every block of the
 * direction must be fed, in order, in full.  A block may be fed in any
 * number of pieces (HEADERS + CONTINUATION fragments, split feeds); the
 * last piece has final = true.
 */
#ifndef EGRET_HPACK_H
#define EGRET_HPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hpack_dec hpack_dec;

/* One decoded field (borrowed: valid only during the call). */
typedef void (*hpack_field_fn)(void *ud, const uint8_t *name, size_t nlen, const uint8_t *value,
                               size_t vlen);

/* A decoder with the protocol's default table size (4096).  NULL on
 * allocation failure. */
hpack_dec *hpack_dec_new(void);

/* The decoding side announced SETTINGS_HEADER_TABLE_SIZE = size (the most
 * the encoder may use; a smaller one evicts entries and obliges the
 * encoder to send a size update).  Inside a header block it takes effect
 * after the block ends.  Returns 0, or -1 if the decoder failed. */
int hpack_dec_set_max_table(hpack_dec *h, uint32_t size);

/* Decodes a piece of a header block and calls fn for each field
 * completed.  Returns 0, or -1 if the block is corrupt (or too big for
 * nghttp2's per-field limit): the decoder is then unusable, and so is
 * every later block of the direction. */
int hpack_dec_feed(hpack_dec *h, const uint8_t *p, size_t n, bool final, hpack_field_fn fn,
                   void *ud);

/* Accepts NULL. */
void hpack_dec_free(hpack_dec *h);

#endif /* EGRET_HPACK_H */
