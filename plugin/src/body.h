/*
 * body.h -- HTTP message body decoding shared by the HTTP/1.x parser
 * (http.c) and the HTTP/2 parser (h2_*.c): content codings gzip / x-gzip /
 * deflate (zlib or raw) with the decompression-bomb cap, and the
 * multipart/form-data splitter.  body.c is the only file that includes
 * <zlib.h>.
 *
 * One body_dec per message direction being parsed.  The owner frames the
 * message (Content-Length, chunks, DATA frames) and hands the framed body
 * bytes to body_wire; body_dec decodes them and reports to the consumer
 * through the http_callbacks in its body_env (on_body_data, on_part_begin,
 * on_part_end, on_body_gap, on_event).  The semantics -- which codings are
 * decoded, the bomb cap, what a gap does to each kind of body, which
 * multipart parts are delivered -- are those documented in http.h.
 *
 * Lifecycle per message: body_reset (state zeroed, keeps buffers), header
 * parsing may set 'enc' for transfer codings, body_start once the headers
 * are known, body_wire / body_gap while the body streams, body_finish at
 * its end.  body_free releases the buffers (zlib state, inflate buffer,
 * multipart parser), which are allocated on first use and reused by later
 * messages of the same body_dec.
 */
#ifndef EGRET_BODY_H
#define EGRET_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_txn.h"

enum body_enc { BODY_ENC_NONE, BODY_ENC_GZIP, BODY_ENC_DEFLATE, BODY_ENC_UNSUPPORTED };

/* Where a decoder reports, and its caps.  Owned by the connection; every
 * body_dec of the connection points at it. */
typedef struct body_env {
    const http_callbacks *cb;
    void *ud;
    uint64_t *events;           /* counters indexed by http_event */
    uint64_t inflate_max_out;   /* see http_limits */
    uint64_t inflate_max_ratio; /* >= 1 */
    uint64_t inflate_ratio_floor;
} body_env;

/* A connection's body environment: its callbacks, event counters and
 * inflate caps (the parser's limits). */
static inline body_env body_env_make(const http_callbacks *cb, void *ud, uint64_t *events,
                                     uint64_t max_out, uint64_t max_ratio, uint64_t ratio_floor)
{
    body_env e = {cb, ud, events, max_out, max_ratio, ratio_floor};
    return e;
}

struct body_z;
struct body_mp;

typedef struct body_dec {
    int enc;   /* enum body_enc; header parsing may set it before body_start */
    bool skip; /* deliver no more body bytes for this message */
    /* set by body_start */
    const body_env *env;
    http_txn *t;
    http_dir dir;
    /* private */
    struct body_z *z; /* zlib stream + output buffer, allocated on first use */
    bool z_init, z_done;
    uint64_t z_in, z_out;
    struct body_mp *mp; /* allocated on first multipart message */
    bool mp_active;
} body_dec;

/* Forgets the previous message (keeps the buffers).  A zeroed body_dec is
 * also valid. */
void body_reset(body_dec *b);

/* Adds the codings of a Content-Encoding list to b->enc (one layer of gzip
 * or deflate is supported; anything else makes it BODY_ENC_UNSUPPORTED). */
void body_pick_coding(body_dec *b, const char *content_encoding);

/* Finds parameter 'key' in a header value "type; a=b; key="v"" and copies
 * its (unquoted) value, truncated to cap-1 bytes.  Returns true if found. */
bool body_get_param(const char *v, size_t n, const char *key, char *out, size_t cap);

/* The headers of message 'dir' of 't' are complete and a body may follow:
 * picks the coding from the message's content_encoding (plus b->enc), sets
 * the HTTP_MSG_GZIP / DEFLATE / UNDECODED / MULTIPART flags, and starts the
 * multipart splitter when 'boundary' is not empty. */
void body_start(body_dec *b, const body_env *env, http_txn *t, http_dir dir, const char *boundary);

/* Body bytes as framed on the wire (borrowed): counted in wire_body_bytes,
 * decoded, delivered. */
void body_wire(body_dec *b, const uint8_t *p, size_t n);

/* 'n' wire bytes of the body are missing (framing goes on).  Counted in the
 * message; an uncompressed body keeps being delivered after an on_body_gap,
 * a compressed one is not delivered any further. */
void body_gap(body_dec *b, uint64_t n);

/* The body ended (normally or not): closes the multipart splitter (an
 * unfinished one is an error unless the message is already marked
 * truncated, gapped or skipped) and the zlib stream. */
void body_finish(body_dec *b);

/* Releases the buffers.  Accepts NULL. */
void body_free(body_dec *b);

#endif /* EGRET_BODY_H */
