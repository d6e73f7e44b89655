/*
 * h2.h -- passive HTTP/2 connection parser (RFC 9113, HPACK RFC 7541)
 * over reassembled TCP bytes, with the same callback contract as the
 * HTTP/1.x parser (http.h) so that a consumer can take either.
 *
 * One h2_conn per TCP connection, fed the in-order bytes of each
 * direction (h2_conn_feed), gap notices (h2_conn_gap) and the end of each
 * direction (h2_conn_end), exactly like http_conn.  HTTP_DIR_REQ is the
 * client (it sends the preface), HTTP_DIR_RESP the server.  Decrypted TLS
 * application data and clear-text h2c are fed the same way.
 *
 * Transactions: one http_txn per stream (protocol HTTP_PROTO_2, stream_id
 * set), with :method, :path (-> uri), :authority (-> host; a Host field
 * only when there is no :authority), :scheme, :status, user-agent,
 * content-type, content-encoding and content-length (-> declared_len).
 * Request and response bodies (DATA frames, padding removed) go through
 * the same decoding as HTTP/1.x bodies (body.c: gzip / deflate with the
 * bomb cap, multipart/form-data parts, on_body_gap).  A message completes
 * at END_STREAM (trailers are decoded and ignored); RST_STREAM truncates
 * both messages of its stream (HTTP_TXN_RESET; HTTP_TXN_NO_RESPONSE when
 * no response headers came); a GOAWAY resets the streams above its last
 * stream id.  Interim 1xx responses are skipped.  A PUSH_PROMISE makes a
 * txn (HTTP_TXN_PUSHED) whose request is the promised header block,
 * announced and completed at once; its response is the pushed stream's.
 * Callback order per txn is http.h's: on_request_headers, request body,
 * on_request_complete, then on_response_complete (a response that ends
 * before its request is reported after it; its headers and body may come
 * earlier).  txn ids count streams in the order they are opened.
 *
 * HPACK: one decoder per direction (hpack.c).  Every header block is
 * decoded, also those of ignored streams, trailers and PUSH_PROMISE, to
 * keep the dynamic table right.  SETTINGS_HEADER_TABLE_SIZE sent by one
 * side bounds the decoder of the other side's blocks: a larger value
 * applies at once (harmless: the decoder only checks an upper bound), a
 * smaller one when the other side acknowledges that SETTINGS frame -- in
 * that side's own byte order, so it does not depend on how the engine
 * interleaves the two directions.  Values above max_table_size are capped
 * (HTTP_EV_H2_TABLE_SIZE).
 *
 * Bounds (h2_limits), each counted when hit: max_streams open streams per
 * connection (a stream beyond is ignored, HTTP_EV_H2_TOO_MANY_STREAMS,
 * streams_refused); max_header_list bytes of decoded fields per block
 * (name + value + 32 each, RFC 9113 6.5.2; fields beyond are dropped,
 * HTTP_EV_HEADER_TOO_LONG); max_table_size; frames longer than the
 * receiver's SETTINGS_MAX_FRAME_SIZE are counted
 * (HTTP_EV_H2_FRAME_TOO_LARGE) but parsed, since the two directions may
 * reach the parser in either order, and frames longer than max_frame_size
 * break the connection.  Nothing is buffered per frame (DATA and header
 * fragments stream through), so memory is the stream table plus, per
 * stream, its txn and body decoders.
 *
 * Protocol errors (bad preface, a frame on the wrong stream, CONTINUATION
 * out of place, bad padding or lengths, a corrupt header block is not
 * one: see below) mark the connection broken (HTTP_EV_H2_BAD_PREFACE /
 * H2_PROTOCOL_ERROR / H2_FRAME_TOO_LARGE, stats.broken): open messages
 * are reported truncated and later bytes are ignored.
 *
 * Loss (h2_conn_gap):
 *  - Inside a frame of known length, exactly the missing bytes are
 *    skipped.  In a DATA frame the stream's body gets a gap (on_body_gap
 *    for an uncompressed body, as in HTTP/1.x).  In a header block the
 *    direction's HPACK table is now unknown: header decoding stops for
 *    that direction (HTTP_EV_H2_HEADERS_LOST, stats.hpack_lost,
 *    header_blocks_lost counts the blocks not decoded since).  A request
 *    whose headers were cut is reported truncated; later new streams of a
 *    lost request direction are not reported (streams_lost); response
 *    headers of a lost response direction are reported with status 0 and
 *    HTTP_MSG_GAP, and their bodies delivered undecoded.  DATA of known
 *    streams keeps flowing either way.  An HPACK decoding error does the
 *    same (HTTP_EV_H2_HPACK_ERROR).
 *  - A gap that runs past the end of the current frame (or starts
 *    between frames) loses the frame boundaries.  HPACK is then lost for
 *    that direction (the gap may have held a header block), every body of
 *    that direction in progress gets a gap of the whole gap length (an
 *    upper bound: the missing bytes were spread over unknown frames), and
 *    the direction resynchronises (HTTP_EV_H2_RESYNC, resyncs): it scans
 *    for the first 9 bytes that make a plausible frame header -- a known
 *    type other than CONTINUATION, only that type's defined flags, a length
 *    within the peer's SETTINGS_MAX_FRAME_SIZE and the type's fixed size
 *    (RST_STREAM / WINDOW_UPDATE 4, PRIORITY 5, PING 8, SETTINGS a
 *    multiple of 6 up to 60, GOAWAY 8..1024), the reserved bit clear, and
 *    a stream id that fits: 0 for connection frames, a stream with that
 *    message still open for DATA / HEADERS / RST_STREAM / PUSH_PROMISE /
 *    PRIORITY / WINDOW_UPDATE (or 0 for WINDOW_UPDATE).  The 31-bit stream
 *    id makes a false match in payload bytes unlikely; if one happens, the
 *    next frames are likely to break the protocol and the connection is
 *    marked broken rather than misparsed for long.
 *
 * h2c: a clear-text connection whose client starts with the preface
 * (h2_looks_like_preface) is parsed with h2_conn_new like any other.
 * After "Upgrade: h2c", http.c reports the upgrade request and the 101
 * response (HTTP_TXN_TUNNEL; the request's Upgrade and HTTP2-Settings
 * fields are in t->upgrade and t->h2_settings) and stops.  The engine then
 * starts h2_conn_new_upgraded with that request (from on_response_complete
 * of a txn with status 101 and upgrade "h2c") and feeds it the bytes after
 * the 101 response's header block (server) and after the upgrade request
 * (client: the preface, then frames).  Where they start: http.c counts the
 * bytes it ignores after the switch, so the last
 * (ignored_bytes[dir] after - before) bytes of the feed that carried the
 * end of the 101 are already HTTP/2; every later feed is.  The client
 * sends its preface only after it has read the 101, so its HTTP/2 bytes
 * come in later feeds.  test_h2.c's test_captures does exactly this.
 *
 * Callbacks must not call back into the same h2_conn.  All are optional.
 */
#ifndef EGRET_H2_H
#define EGRET_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

typedef struct h2_limits {
    unsigned max_streams;         /* open streams tracked (default 128) */
    size_t max_header_list;       /* decoded fields per header block (default 65536) */
    uint32_t max_table_size;      /* HPACK dynamic table cap (default 65536) */
    uint32_t max_frame_size;      /* longer frames break the connection (default 2^24-1) */
    uint64_t inflate_max_out;     /* as http_limits (default 64 MiB) */
    uint64_t inflate_max_ratio;   /* as http_limits (default 200) */
    uint64_t inflate_ratio_floor; /* as http_limits (default 1 MiB) */
} h2_limits;

#define H2_FRAME_TYPES 11 /* DATA .. CONTINUATION, then "unknown" */

typedef struct h2_conn_stats {
    uint64_t frames[2][H2_FRAME_TYPES]; /* per http_dir, per frame type */
    uint64_t streams;                   /* txns created (incl. pushed) */
    uint64_t streams_refused;           /* beyond max_streams: ignored */
    uint64_t streams_lost;              /* new streams not reported: HPACK lost */
    uint64_t requests, responses;       /* completion callbacks */
    uint64_t events[HTTP_EV__COUNT];
    uint64_t ignored_bytes[2];      /* after a stop, skipped while resynchronising, DATA
                                       of ignored streams */
    uint64_t resyncs[2];            /* gaps that lost frame boundaries */
    uint64_t header_blocks_lost[2]; /* blocks not decoded: HPACK state lost */
    bool hpack_lost[2];             /* header decoding stopped for the direction */
    bool broken;                    /* protocol error: parsing stopped */
} h2_conn_stats;

typedef struct h2_conn h2_conn;

void h2_limits_default(h2_limits *l);

/* True if the first len bytes of a client stream agree with the
 * 24-byte connection preface (a prefix of it when len < 24). */
bool h2_looks_like_preface(const uint8_t *data, size_t len);

/* A new connection parser, the client's first bytes being the preface.
 * lim NULL = defaults; cb is copied; ud is passed to every callback.
 * Returns NULL on allocation failure. */
h2_conn *h2_conn_new(const h2_limits *lim, const http_callbacks *cb, void *ud);

/* A connection upgraded from HTTP/1.1 (Upgrade: h2c, 101 Switching
 * Protocols).  'req' is the upgrade request as http.c reported it (copied):
 * it becomes stream 1 (HTTP_TXN_UPGRADED), announced and completed during
 * this call (on_request_headers, on_request_complete: its body, if any, was
 * delivered by http.c), whose response arrives as HTTP/2.  req->h2_settings
 * (base64url SETTINGS payload; may be empty) is applied as the client's
 * first SETTINGS.  The client's bytes start with the preface; the
 * server's with its SETTINGS frame.  NULL on allocation failure. */
h2_conn *h2_conn_new_upgraded(const h2_limits *lim, const http_callbacks *cb, void *ud,
                              const http_txn *req);

/* Feeds in-order bytes of one direction (borrowed). */
void h2_conn_feed(h2_conn *c, http_dir dir, const uint8_t *data, size_t len);

/* 'len' bytes of this direction are missing (reasm REASM_GAP). */
void h2_conn_gap(h2_conn *c, http_dir dir, uint64_t len);

/* This direction ended: its open messages are reported (truncated), and
 * when the server's ends, requests without a response get
 * on_response_complete with HTTP_TXN_NO_RESPONSE.  Idempotent. */
void h2_conn_end(h2_conn *c, http_dir dir);

const h2_conn_stats *h2_conn_stats_get(const h2_conn *c);

/* Frees everything without calling callbacks.  Accepts NULL. */
void h2_conn_free(h2_conn *c);

#endif /* EGRET_H2_H */
