/*
 * http.h -- streaming HTTP/1.x parser over reassembled TCP bytes.  Its
 * types and callbacks (http_txn, http_msg, http_callbacks, http_event) are
 * shared with the HTTP/2 parser (h2.h) so that a consumer can take either;
 * body decoding is body.c's, the only file that includes <zlib.h>.
 *
 * One http_conn per TCP connection, fed the in-order bytes of each
 * direction as reasm delivers them (http_conn_feed), gap notices
 * (http_conn_gap) and the end of each direction (http_conn_end).  It never
 * needs a whole message in memory: bodies are de-chunked, decompressed and
 * split into multipart parts as they stream through, and handed to
 * on_body_data in pieces.
 *
 * Why hand-written rather than Debian's libhttp-parser (2.9): that library
 * is archived upstream, fixes its header limit at compile time
 * (HTTP_MAX_HEADER_SIZE), hands header fields over in fragments that the
 * caller must buffer anyway, and does no content coding or multipart.  This
 * parser follows the picohttpparser contract instead (bounded, never reads
 * past its input, state zero-initialised, malformed input is an event), but
 * is incremental byte-by-byte: any split of the input into feeds gives the
 * same transactions, fields and body bytes (tested for every split point).
 *
 * Bounds (http_limits): a start line or chunk-size line longer than
 * max_line stops the parser for that direction (later bytes are ignored
 * and counted).  A header block over a limit -- a field line longer than
 * max_line, more than max_headers fields, more than max_header_bytes --
 * raises HTTP_EV_HEADER_TOO_LONG / HTTP_EV_TOO_MANY_HEADERS (once per
 * message) and HTTP_ANOM_HEADER_LIMIT, and the parser reads on: limits
 * stop *storing* (an over-long line keeps its first max_line bytes; past
 * max_headers only Host, Content-Type, Content-Length, Transfer-Encoding
 * and Content-Encoding are read), never *looking* (docs/EVASION.md).
 * Host: normalised (http_host_normalize); an absolute-form target's
 * authority wins, else the first Host field; a different second name is
 * kept in host_alt (HTTP_ANOM_HOST_DUPLICATE / HOST_MISMATCH).
 * Copies: only header / chunk-size lines (bounded by max_line, needed when a
 * line spans two feeds) and at most one delimiter's worth of multipart
 * look-ahead; body bytes reach on_body_data straight from the caller's
 * buffer (identity coding) or from the inflate buffer.
 * Memory per connection: the txn ring plus, lazily, one line buffer per
 * direction (max_line) and one 16 KiB inflate buffer and zlib state per
 * compressed message.
 *
 * Semantics:
 *  - Requests: Transfer-Encoding chunked (wins over Content-Length, RFC 9112
 *    6.3), else Content-Length, else no body.  Responses: no body for HEAD,
 *    1xx, 204, 304; chunked; Content-Length; else until the connection ends.
 *    Interim 1xx responses (100 Continue) are skipped; 101 and a 2xx to
 *    CONNECT turn the connection into a tunnel (parsing stops, counted).
 *  - Pipelining/keep-alive: requests queue in order (up to max_pipeline
 *    awaiting a response); each response pairs with the oldest.  A request
 *    beyond the queue is reported but unpaired (HTTP_TXN_UNPAIRED).  A
 *    response with no request (midstream pickup) is reported with
 *    HTTP_TXN_ORPHAN and an empty method.
 *  - Content-Encoding (or a transfer coding) gzip, x-gzip, deflate (zlib or
 *    raw) is decoded.  Bomb cap: decoding stops with HTTP_EV_BOMB once the
 *    decoded size exceeds inflate_max_out, or exceeds inflate_ratio_floor
 *    and inflate_max_ratio times the compressed size.  Other codings (br,
 *    zstd, stacked codings) are not decoded: HTTP_EV_UNSUPPORTED_ENCODING
 *    and no body bytes are delivered for that message.
 *  - multipart/form-data (request or response): each part is announced with
 *    on_part_begin/on_part_end (name, filename, content type, size; the
 *    first bytes of non-file fields such as purpose=batch in part->value).
 *    Only file parts (with a filename) are fed to on_body_data.
 *  - Gaps: inside a body of known length (Content-Length, or the current
 *    chunk's size) exactly the missing bytes are skipped and framing goes
 *    on; an uncompressed body (or multipart file part) keeps being
 *    delivered, with on_body_gap where bytes are missing, so that the
 *    consumer can resume at its next record; a gzip/deflate body is not
 *    delivered any further (the decoder cannot resynchronise).
 *    HTTP_MSG_GAP is set and the message's gaps/gap_bytes count them.  In a
 *    read-until-close body framing goes on but no more bytes are
 *    delivered.  A gap anywhere else -- a header block, a chunk-size line,
 *    or past the end of the body -- truncates the current message
 *    (reported with HTTP_MSG_TRUNCATED | HTTP_MSG_GAP, or complete when
 *    the body had ended); the
 *    direction then skips to the next whole line that looks like a start
 *    line ("METHOD target HTTP/1.x", "HTTP/1.x NNN") and resumes there
 *    (resyncs counter).
 *    Responses after lost requests may pair with the wrong request.
 *  - Truncation: http_conn_end on a direction in the middle of a message
 *    reports what was seen (headers announced if not yet, then the
 *    completion callback with HTTP_MSG_TRUNCATED).  When the response
 *    direction ends, queued requests get on_response_complete with
 *    HTTP_TXN_NO_RESPONSE.
 *
 * Callback contract: every txn announced with on_request_headers gets
 * exactly one on_request_complete and then one on_response_complete,
 * provided the engine calls http_conn_end for both directions before
 * http_conn_free (free itself is silent).  A txn pointer is valid until its
 * on_response_complete returns.  Callbacks must not call back into the
 * same http_conn.  All callbacks are optional.
 */
#ifndef EGRET_HTTP_H
#define EGRET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_txn.h"

typedef struct http_limits {
    size_t max_line;              /* start/header/chunk-size line (default 8192) */
    size_t max_header_bytes;      /* whole header block (default 65536) */
    unsigned max_headers;         /* fields per block (default 128) */
    unsigned max_pipeline;        /* requests awaiting a response (default 8) */
    uint64_t inflate_max_out;     /* decoded bytes per message (default 64 MiB) */
    uint64_t inflate_max_ratio;   /* decoded/compressed (default 200) */
    uint64_t inflate_ratio_floor; /* ratio checked above this output (default 1 MiB) */
} http_limits;

/* Counters of one connection. */
typedef struct http_conn_stats {
    uint64_t requests, responses;
    uint64_t events[HTTP_EV__COUNT];
    uint64_t ignored_bytes[2]; /* bytes after a direction stopped, per http_dir */
    uint64_t resyncs[2];       /* gaps that lost framing, per http_dir */
    bool stopped[2];           /* per http_dir */
} http_conn_stats;

typedef struct http_conn http_conn;

void http_limits_default(http_limits *l);

/* A new connection parser.  lim NULL = defaults; cb is copied; ud is passed
 * to every callback.  Returns NULL on allocation failure. */
http_conn *http_conn_new(const http_limits *lim, const http_callbacks *cb, void *ud);

/* Feeds in-order bytes of one direction (borrowed). */
void http_conn_feed(http_conn *c, http_dir dir, const uint8_t *data, size_t len);

/* 'len' bytes of this direction are missing (reasm REASM_GAP). */
void http_conn_gap(http_conn *c, http_dir dir, uint64_t len);

/* This direction ended (reasm REASM_END, or REASM_DEPTH: no more bytes
 * will come).  Reports any message in progress; idempotent. */
void http_conn_end(http_conn *c, http_dir dir);

/* Reads the Host of a request head (start line and header block, whole
 * in p/n) the way the parser does: an absolute URI's authority, else the
 * first Host field; a second, different name goes to alt.  Names are
 * normalised (http_host_normalize).  False when the head does not end in
 * p/n.  For the engine's inspection decision on a flow's first segment. */
bool http_head_host(const uint8_t *p, size_t n, char *host, size_t cap, char *alt, size_t altcap);

/* Counters so far. */
const http_conn_stats *http_conn_stats_get(const http_conn *c);

/* Frees everything without calling callbacks.  Accepts NULL. */
void http_conn_free(http_conn *c);

#endif /* EGRET_HTTP_H */
