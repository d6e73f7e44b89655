/*
 * h2_int.h -- what the files of the passive HTTP/2 parser share (private
 * to them; the contract is h2.h): frame types and flags, the stream, the
 * per-direction and the connection state, and the steps each file offers
 * the others.
 *
 *   h2_stream.c  streams as http_txn and their messages, the connection's
 *                state (SETTINGS, HPACK loss, breaking it), header blocks
 *                through hpack.c
 *   h2_frame.c   the frame layer: headers, payload ranges, loss within a
 *                frame and resynchronisation after a lost boundary
 *   h2_conn.c    the connection API of h2.h
 */
#ifndef EGRET_H2_INT_H
#define EGRET_H2_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "body.h"
#include "h2.h"
#include "hpack.h"

enum ftype {
    F_DATA = 0,
    F_HEADERS = 1,
    F_PRIORITY = 2,
    F_RST_STREAM = 3,
    F_SETTINGS = 4,
    F_PUSH_PROMISE = 5,
    F_PING = 6,
    F_GOAWAY = 7,
    F_WINDOW_UPDATE = 8,
    F_CONTINUATION = 9,
};

#define FL_END_STREAM  0x01u
#define FL_ACK         0x01u
#define FL_END_HEADERS 0x04u
#define FL_PADDED      0x08u
#define FL_PRIORITY    0x20u

#define SET_HEADER_TABLE_SIZE 0x1u
#define SET_MAX_FRAME_SIZE    0x5u

#define DEFAULT_TABLE     4096u
#define DEFAULT_MAX_FRAME 16384u
#define MAX_FRAME_LIMIT   16777215u
#define SMALL_MAX         16 /* control payload bytes kept */
#define PENDING_MAX       8  /* SETTINGS frames awaiting their ACK */

enum dstate { D_PREFACE, D_HDR, D_PAYLOAD, D_RESYNC, D_STOPPED };

/* What a header block is for. */
enum bkind {
    K_NONE,    /* ignored stream: decoded for the table only */
    K_REQ,     /* request headers of a new stream */
    K_RESP,    /* response headers */
    K_TRAILER, /* trailers: decoded and ignored, END_STREAM counts */
    K_PUSH,    /* PUSH_PROMISE: the promised request */
};

typedef struct h2_stream {
    uint32_t id;
    http_txn t;
    bool announced[2], done[2];
    bool defer_resp; /* response ended first: on_response_complete waits */
    char boundary[2][72];
    body_dec body[2];
} h2_stream;

typedef struct ddir {
    int st; /* enum dstate */
    size_t pre;
    uint8_t hdr[9];
    size_t hlen;
    /* the current frame */
    uint32_t len, sid, off;
    uint8_t type, flags;
    uint32_t pre_len;     /* prefix bytes collected into small */
    uint32_t content_end; /* content is [pre_len, content_end), then padding */
    uint8_t small[SMALL_MAX];
    bool frame_lost; /* bytes of this frame's prefix or control payload lost */
    uint8_t entry[6];
    size_t entry_len;
    bool entry_lost;
    bool set_table; /* this SETTINGS frame carried HEADER_TABLE_SIZE */
    uint32_t set_table_val;
    /* the header block in progress */
    bool in_block;
    uint32_t block_frame_sid; /* the HEADERS / PUSH_PROMISE frame's stream */
    uint32_t block_sid;       /* the stream the fields are for */
    int bkind;
    bool block_end_stream;
    bool block_lost;
    size_t block_list;
    bool block_too_long;
    /* HPACK of this direction's blocks */
    hpack_dec *hp;
    bool hp_lost;
    uint32_t table_max; /* applied to hp */
    uint32_t max_frame; /* the peer's SETTINGS_MAX_FRAME_SIZE */
    /* SETTINGS this direction sent that the other has not acknowledged:
     * the HEADER_TABLE_SIZE each carried (has = false: none) */
    uint32_t pend_val[PENDING_MAX];
    bool pend_has[PENDING_MAX];
    unsigned pend_head, pend_n;
    /* resynchronisation: the last bytes of the previous feed */
    uint8_t carry[8];
    size_t carry_len;
    bool ended;
} ddir;

struct h2_conn {
    h2_limits lim;
    http_callbacks cb;
    void *ud;
    body_env env;
    ddir d[2];
    h2_stream **tab; /* open streams in creation order */
    unsigned n;
    uint32_t max_client_sid, max_push_sid;
    uint64_t next_id;
    http_dir fdir; /* the direction whose block hpack_dec_feed is decoding */
    h2_conn_stats st;
};

/* ==== steps shared between the files ==== */

/* h2_stream.c: events, streams, messages */
void h2_event(h2_conn *c, http_dir dir, const http_txn *t, http_event ev);
h2_stream *h2_find(h2_conn *c, uint32_t sid);
h2_stream *h2_find_open(h2_conn *c, uint32_t sid, http_dir dir);
h2_stream *h2_stream_new(h2_conn *c, uint32_t sid);
void h2_stream_free(h2_conn *c, h2_stream *s);
void h2_announce(h2_conn *c, h2_stream *s, http_dir dir);
void h2_msg_done(h2_conn *c, h2_stream *s, http_dir dir, bool truncated);
void h2_stream_abort(h2_conn *c, h2_stream *s);
/* h2_stream.c: connection state */
void h2_break_conn(h2_conn *c, http_dir dir, http_event ev);
void h2_hpack_lost(h2_conn *c, http_dir dir, http_event ev);
void h2_apply_table(h2_conn *c, http_dir dir, uint32_t v);
void h2_setting(h2_conn *c, http_dir dir, uint16_t id, uint32_t v);
void h2_settings_sent(h2_conn *c, http_dir dir);
void h2_settings_ack(h2_conn *c, http_dir dir);
/* h2_stream.c: header blocks */
void h2_block_start(h2_conn *c, http_dir dir);
void h2_block_bytes(h2_conn *c, http_dir dir, const uint8_t *p, size_t n, bool final);
void h2_block_end(h2_conn *c, http_dir dir);

/* h2_frame.c */
void h2_frame_begin(h2_conn *c, http_dir dir);
const uint8_t *h2_payload(h2_conn *c, http_dir dir, const uint8_t *p, const uint8_t *end);
void h2_resync(h2_conn *c, http_dir dir, uint64_t lost);
void h2_gap_in_frame(h2_conn *c, http_dir dir, uint32_t n);
const uint8_t *h2_resync_scan(h2_conn *c, http_dir dir, const uint8_t *p, const uint8_t *end);

#endif
