/*
 * http_txn.h -- what the HTTP parsers (http.c for HTTP/1.x, h2_*.c for
 * HTTP/2) and the body decoder they share (body.c) hand their consumer:
 * directions, events, transactions, messages, multipart parts and the
 * callback contract (documented in http.h).  Types only: http_event_name
 * is in http.c.
 */
#ifndef EGRET_HTTP_TXN_H
#define EGRET_HTTP_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum http_dir {
    HTTP_DIR_REQ = 0, /* client -> server */
    HTTP_DIR_RESP = 1 /* server -> client */
} http_dir;

/* Events: malformed or notable traffic (STYLE.md 4: not errors). */
#define HTTP_EVENTS(X)                                                                             \
    X(HEADER_TOO_LONG, "http.header_too_long")                                                     \
    X(TOO_MANY_HEADERS, "http.too_many_headers")                                                   \
    X(BAD_REQUEST_LINE, "http.bad_request_line")                                                   \
    X(BAD_STATUS_LINE, "http.bad_status_line")                                                     \
    X(BAD_CONTENT_LENGTH, "http.bad_content_length")                                               \
    X(BAD_TRANSFER_ENCODING, "http.bad_transfer_encoding")                                         \
    X(BAD_CHUNK, "http.bad_chunk")                                                                 \
    X(DECOMPRESS_ERROR, "http.decompress_error")                                                   \
    X(BOMB, "http.decompression_bomb")                                                             \
    X(UNSUPPORTED_ENCODING, "http.unsupported_encoding")                                           \
    X(MULTIPART_ERROR, "http.multipart_error")                                                     \
    X(GAP, "http.gap")                                                                             \
    X(TRUNCATED, "http.truncated")                                                                 \
    X(PIPELINE_OVERFLOW, "http.pipeline_overflow")                                                 \
    X(UNSOLICITED_RESPONSE, "http.unsolicited_response")                                           \
    X(TUNNEL, "http.tunnel")                                                                       \
    X(H2_BAD_PREFACE, "http2.bad_preface")                                                         \
    X(H2_PROTOCOL_ERROR, "http2.protocol_error")                                                   \
    X(H2_FRAME_TOO_LARGE, "http2.frame_too_large")                                                 \
    X(H2_HPACK_ERROR, "http2.hpack_error")                                                         \
    X(H2_HEADERS_LOST, "http2.headers_lost")                                                       \
    X(H2_TOO_MANY_STREAMS, "http2.too_many_streams")                                               \
    X(H2_TABLE_SIZE, "http2.table_size_capped")                                                    \
    X(H2_STREAM_RESET, "http2.stream_reset")                                                       \
    X(H2_GOAWAY, "http2.goaway")                                                                   \
    X(H2_RESYNC, "http2.resync")

typedef enum http_event {
#define HTTP_EV_ENUM(name, str) HTTP_EV_##name,
    HTTP_EVENTS(HTTP_EV_ENUM)
#undef HTTP_EV_ENUM
        HTTP_EV__COUNT
} http_event;

/* The event's dotted name ("http.gap"); "?" for an out-of-range value. */
const char *http_event_name(http_event ev);

/* Per-message (request or response) facts. */
typedef struct http_msg {
    int64_t declared_len;     /* Content-Length, -1 if absent */
    uint64_t wire_body_bytes; /* body bytes on the wire (after de-chunking, before decoding) */
    uint64_t body_bytes;      /* decoded body bytes produced */
    uint32_t gaps;            /* gaps inside the body */
    uint64_t gap_bytes;       /* wire body bytes they skipped */
    uint32_t flags;           /* HTTP_MSG_* */
    char content_type[96];    /* media type with parameters, truncated */
    char content_encoding[32];
} http_msg;

#define HTTP_MSG_CHUNKED      0x0001u
#define HTTP_MSG_GZIP         0x0002u
#define HTTP_MSG_DEFLATE      0x0004u
#define HTTP_MSG_MULTIPART    0x0008u
#define HTTP_MSG_COMPLETE     0x0010u /* framing ended normally */
#define HTTP_MSG_TRUNCATED    0x0020u /* ended early (gap or end of stream) */
#define HTTP_MSG_GAP          0x0040u /* a gap inside the body (bytes missing) */
#define HTTP_MSG_BOMB         0x0080u /* decoding stopped at the bomb cap */
#define HTTP_MSG_DECODE_ERROR 0x0100u /* corrupt compressed data or multipart */
#define HTTP_MSG_UNDECODED    0x0200u /* unsupported coding: body not delivered */
#define HTTP_MSG_HEADERS_ONLY 0x0400u /* truncated before the end of the headers */

typedef struct http_txn {
    uint64_t id;          /* 1, 2, ... per connection, in request order */
    char method[16];      /* "" for an orphan response */
    char host[256];       /* Host header */
    char uri[1024];       /* request target, truncated (HTTP_TXN_URI_TRUNC) */
    char user_agent[256]; /* truncated */
    int status;           /* response status, 0 if none */
    uint32_t flags;       /* HTTP_TXN_* */
    uint32_t parts;       /* multipart parts seen in the request */
    http_msg req, resp;
    /* Appended for HTTP/2 (h2_*.c); http.c leaves protocol and stream_id 0. */
    uint32_t protocol;     /* HTTP_PROTO_* */
    uint32_t stream_id;    /* HTTP/2 stream, 0 for HTTP/1.x */
    char scheme[16];       /* HTTP/2 :scheme */
    char upgrade[32];      /* HTTP/1.x request's Upgrade header ("h2c", "websocket") */
    char h2_settings[128]; /* its HTTP2-Settings header (base64url), for h2_conn_new_upgraded */
    /* Appended for evasion resistance (docs/EVASION.md). */
    char host_alt[256]; /* a second, different Host (duplicate or vs the absolute URI) */
    uint32_t anomalies; /* HTTP_ANOM_*: shapes a client uses to hide a request */
} http_txn;

/* Request shapes that an evasive client uses (http.anomalies in EVE, the
 * rules' http.anomalies).  X(bit name, "name") */
#define HTTP_ANOMALIES(X)                                                                          \
    X(HEADER_LIMIT, "header_limit")        /* header block over a limit: looked on */              \
    X(HOST_DUPLICATE, "host_duplicate")    /* more than one Host */                                \
    X(HOST_MISMATCH, "host_mismatch")      /* Host differs from the absolute URI / :authority */   \
    X(ABSOLUTE_URI, "absolute_uri")        /* http://host/... in the request line */               \
    X(TRANSFER_CODING, "transfer_coding")  /* a coding other than chunked in Transfer-Encoding */  \
    X(CHUNK_EXTENSION, "chunk_extension")  /* "1a;ext=..." chunk-size lines */                     \
    X(MALFORMED, "malformed")              /* framing the parser could not follow: it stopped */   \
    X(H2_PADDING, "h2_padding")            /* HTTP/2 HEADERS or DATA with padding */               \
    X(H2_CONTINUATION, "h2_continuation")  /* HTTP/2 header block split over CONTINUATION */       \
    X(TCP_OVERLAP, "tcp_overlap_conflict") /* retransmitted bytes differed (inspect.c) */

enum {
#define HTTP_ANOM_BIT(name, str) HTTP_ANOM_BIT_##name,
    HTTP_ANOMALIES(HTTP_ANOM_BIT)
#undef HTTP_ANOM_BIT
        HTTP_ANOM__COUNT
};
#define HTTP_ANOM_HEADER_LIMIT    (1u << HTTP_ANOM_BIT_HEADER_LIMIT)
#define HTTP_ANOM_HOST_DUPLICATE  (1u << HTTP_ANOM_BIT_HOST_DUPLICATE)
#define HTTP_ANOM_HOST_MISMATCH   (1u << HTTP_ANOM_BIT_HOST_MISMATCH)
#define HTTP_ANOM_ABSOLUTE_URI    (1u << HTTP_ANOM_BIT_ABSOLUTE_URI)
#define HTTP_ANOM_TRANSFER_CODING (1u << HTTP_ANOM_BIT_TRANSFER_CODING)
#define HTTP_ANOM_CHUNK_EXTENSION (1u << HTTP_ANOM_BIT_CHUNK_EXTENSION)
#define HTTP_ANOM_MALFORMED       (1u << HTTP_ANOM_BIT_MALFORMED)
#define HTTP_ANOM_H2_PADDING      (1u << HTTP_ANOM_BIT_H2_PADDING)
#define HTTP_ANOM_H2_CONTINUATION (1u << HTTP_ANOM_BIT_H2_CONTINUATION)
#define HTTP_ANOM_TCP_OVERLAP     (1u << HTTP_ANOM_BIT_TCP_OVERLAP)

/* The names of the bits set in 'anomalies', comma-separated, into buf
 * ("" when none); returns buf. */
char *http_anomaly_names(uint32_t anomalies, char *buf, size_t cap);
/* The name of anomaly bit i (0 .. HTTP_ANOM__COUNT-1); "?" beyond. */
const char *http_anomaly_name(unsigned i);

/* A Host value (or URI authority) as attribution compares it: OWS trimmed,
 * lower case, port and trailing dots removed, truncated to cap-1. */
void http_host_normalize(const char *v, size_t n, char *out, size_t cap);

/* The one rule for a request's names (HTTP/1 Host fields, the engine's
 * http_head_host, HTTP/2's host field): the first name wins ('have' when
 * host holds it already); a later, different one h is kept in alt if alt
 * is still empty.  True when h differs from the name kept. */
bool http_host_merge(char *host, size_t cap, char *alt, size_t altcap, const char *h, bool have);

#define HTTP_PROTO_1 0u /* HTTP/1.x (http.c) */
#define HTTP_PROTO_2 2u /* HTTP/2 (h2_*.c) */

#define HTTP_TXN_URI_TRUNC   0x01u
#define HTTP_TXN_UNPAIRED    0x02u /* pipeline queue full: no response pairing */
#define HTTP_TXN_ORPHAN      0x04u /* response without a request */
#define HTTP_TXN_NO_RESPONSE 0x08u /* the connection ended before a response */
#define HTTP_TXN_TUNNEL      0x10u /* 101 / CONNECT: the connection left HTTP */
#define HTTP_TXN_RESET       0x20u /* HTTP/2: RST_STREAM or GOAWAY ended the stream */
#define HTTP_TXN_PUSHED      0x40u /* HTTP/2: server push (request from PUSH_PROMISE) */
#define HTTP_TXN_UPGRADED    0x80u /* HTTP/2 stream 1 after Upgrade: h2c (request was HTTP/1.1) */

/* One multipart/form-data part. */
typedef struct http_part {
    uint32_t index; /* 0-based within the message */
    bool is_file;   /* Content-Disposition has a filename */
    char name[64];
    char filename[128];
    char content_type[96];
    uint64_t bytes; /* part body bytes so far (final at on_part_end) */
    char value[64]; /* first bytes of a non-file part, NUL-terminated */
    size_t value_len;
} http_part;

typedef struct http_callbacks {
    void (*on_request_headers)(void *ud, const http_txn *t);
    void (*on_response_headers)(void *ud, const http_txn *t);
    /* Decoded body bytes (borrowed).  part is NULL unless multipart, in which
     * case only file parts are delivered. */
    void (*on_body_data)(void *ud, const http_txn *t, http_dir dir, const http_part *part,
                         const uint8_t *data, size_t len);
    void (*on_part_begin)(void *ud, const http_txn *t, http_dir dir, const http_part *part);
    void (*on_part_end)(void *ud, const http_txn *t, http_dir dir, const http_part *part);
    void (*on_request_complete)(void *ud, const http_txn *t);
    void (*on_response_complete)(void *ud, const http_txn *t);
    /* t may be NULL (e.g. a bad start line). */
    void (*on_event)(void *ud, const http_txn *t, http_dir dir, http_event ev);
    /* 'len' body bytes are missing before the next on_body_data of this
     * message (or part, when part is not NULL; file parts only).  Only for
     * uncompressed bodies of known length; after a gap in any other body no
     * more bytes of it are delivered. */
    void (*on_body_gap)(void *ud, const http_txn *t, http_dir dir, const http_part *part,
                        uint64_t len);
} http_callbacks;

#endif /* EGRET_HTTP_TXN_H */
