/*
 * h2.c -- passive HTTP/2 parser (RFC 9113): connection preface, frame
 * layer, streams as http_txn, header blocks through hpack.c, bodies
 * through body.c, loss and resynchronisation.  Contracts in h2.h.
 *
 * Frame header (RFC 9113 4.1), 9 bytes:
 *   +-----------------------------------------------+
 *   |                 Length (24)                   |
 *   +---------------+---------------+---------------+
 *   |   Type (8)    |   Flags (8)   |
 *   +-+-------------+---------------+-------------------------------+
 *   |R|                 Stream Identifier (31)                      |
 *   +=+=============================================================+
 *   |                   Frame Payload (0...)                      ...
 *
 * Each payload is parsed as three consecutive ranges, streamed without
 * buffering: a fixed prefix (pad length, priority, promised stream id;
 * for control frames their first bytes), collected in 'small'; the
 * content (DATA bytes, header block fragment, SETTINGS entries); and the
 * padding.
 */
#include "h2.h"

#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "body.h"
#include "cursor.h"
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

static const uint8_t preface[24] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

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

void h2_limits_default(h2_limits *l)
{
    l->max_streams = 128;
    l->max_header_list = 65536;
    l->max_table_size = 65536;
    l->max_frame_size = MAX_FRAME_LIMIT;
    l->inflate_max_out = 64u << 20;
    l->inflate_max_ratio = 200;
    l->inflate_ratio_floor = 1u << 20;
}

bool h2_looks_like_preface(const uint8_t *data, size_t len)
{
    size_t n = len < sizeof(preface) ? len : sizeof(preface);
    return n > 0 && memcmp(data, preface, n) == 0;
}

/* ---- events, streams, messages ---- */

static void event(h2_conn *c, http_dir dir, const http_txn *t, http_event ev)
{
    c->st.events[ev]++;
    if (c->cb.on_event) c->cb.on_event(c->ud, t, dir, ev);
}

static http_msg *msg_of(h2_stream *s, http_dir dir)
{
    return dir == HTTP_DIR_REQ ? &s->t.req : &s->t.resp;
}

static h2_stream *find(h2_conn *c, uint32_t sid)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->tab[i]->id == sid) return c->tab[i];
    return NULL;
}

/* A stream whose message in 'dir' is open (headers announced, not done). */
static h2_stream *find_open(h2_conn *c, uint32_t sid, http_dir dir)
{
    h2_stream *s = find(c, sid);
    return s && s->announced[dir] && !s->done[dir] ? s : NULL;
}

static h2_stream *stream_new(h2_conn *c, uint32_t sid)
{
    if (c->n >= c->lim.max_streams) {
        c->st.streams_refused++;
        event(c, sid & 1 ? HTTP_DIR_REQ : HTTP_DIR_RESP, NULL, HTTP_EV_H2_TOO_MANY_STREAMS);
        return NULL;
    }
    h2_stream *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->id = sid;
    s->t.id = ++c->next_id;
    s->t.protocol = HTTP_PROTO_2;
    s->t.stream_id = sid;
    s->t.req.declared_len = -1;
    s->t.resp.declared_len = -1;
    c->tab[c->n++] = s;
    c->st.streams++;
    return s;
}

static void stream_free(h2_conn *c, h2_stream *s)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (c->tab[i] != s) continue;
        memmove(&c->tab[i], &c->tab[i + 1], (c->n - i - 1) * sizeof(*c->tab));
        c->n--;
        break;
    }
    body_free(&s->body[0]);
    body_free(&s->body[1]);
    free(s);
}

static void announce(h2_conn *c, h2_stream *s, http_dir dir)
{
    if (s->announced[dir]) return;
    s->announced[dir] = true;
    if (dir == HTTP_DIR_REQ) {
        if (c->cb.on_request_headers) c->cb.on_request_headers(c->ud, &s->t);
    } else if (c->cb.on_response_headers) {
        c->cb.on_response_headers(c->ud, &s->t);
    }
}

static void response_done_cb(h2_conn *c, h2_stream *s)
{
    c->st.responses++;
    if (c->cb.on_response_complete) c->cb.on_response_complete(c->ud, &s->t);
}

/* Ends message 'dir' of s (complete or truncated) with its callbacks; the
 * stream is freed once both are done.  A response that never had headers
 * is reported as HTTP_TXN_NO_RESPONSE, as http.c does. */
static void msg_done(h2_conn *c, h2_stream *s, http_dir dir, bool truncated)
{
    if (s->done[dir]) return;
    s->done[dir] = true;
    http_msg *m = msg_of(s, dir);
    if (dir == HTTP_DIR_RESP && !s->announced[dir]) {
        s->t.flags |= HTTP_TXN_NO_RESPONSE;
    } else if (truncated) {
        m->flags |= HTTP_MSG_TRUNCATED;
        if (!s->announced[dir]) m->flags |= HTTP_MSG_HEADERS_ONLY;
        event(c, dir, &s->t, HTTP_EV_TRUNCATED);
        announce(c, s, dir);
    } else {
        m->flags |= HTTP_MSG_COMPLETE;
        announce(c, s, dir);
    }
    body_finish(&s->body[dir]);
    if (dir == HTTP_DIR_REQ) {
        c->st.requests++;
        if (c->cb.on_request_complete) c->cb.on_request_complete(c->ud, &s->t);
        if (s->defer_resp) response_done_cb(c, s);
    } else if (!s->done[HTTP_DIR_REQ]) {
        s->defer_resp = true;
    } else {
        response_done_cb(c, s);
    }
    if (s->done[0] && s->done[1]) stream_free(c, s);
}

/* Both messages of s end truncated (RST_STREAM, GOAWAY, broken
 * connection, end of capture). */
static void stream_abort(h2_conn *c, h2_stream *s)
{
    bool resp_done = s->done[HTTP_DIR_RESP];
    msg_done(c, s, HTTP_DIR_REQ, true); /* frees s if the response was done */
    if (!resp_done) msg_done(c, s, HTTP_DIR_RESP, true);
}

/* The headers of message 'dir' are known and a body follows. */
static void body_begin(h2_conn *c, h2_stream *s, http_dir dir)
{
    body_start(&s->body[dir], &c->env, &s->t, dir, s->boundary[dir]);
}

/* ---- connection state ---- */

static void break_conn(h2_conn *c, http_dir dir, http_event ev)
{
    if (c->st.broken) return;
    c->st.broken = true;
    event(c, dir, NULL, ev);
    for (int i = 0; i < 2; i++) {
        c->d[i].st = D_STOPPED;
        c->d[i].in_block = false;
    }
    while (c->n) stream_abort(c, c->tab[0]);
}

/* The direction's HPACK table can no longer be trusted. */
static void hpack_lost(h2_conn *c, http_dir dir, http_event ev)
{
    ddir *d = &c->d[dir];
    if (d->hp_lost) return;
    d->hp_lost = true;
    c->st.hpack_lost[dir] = true;
    event(c, dir, NULL, ev);
}

static void apply_table(h2_conn *c, http_dir dir, uint32_t v)
{
    ddir *d = &c->d[dir];
    d->table_max = v;
    if (!d->hp_lost && hpack_dec_set_max_table(d->hp, v) != 0)
        hpack_lost(c, dir, HTTP_EV_H2_HPACK_ERROR);
}

/* One SETTINGS entry sent by 'dir' (RFC 9113 6.5.2). */
static void setting(h2_conn *c, http_dir dir, uint16_t id, uint32_t v)
{
    ddir *d = &c->d[dir];
    http_dir other = (http_dir)!dir;
    if (id == SET_HEADER_TABLE_SIZE) {
        if (v > c->lim.max_table_size) {
            v = c->lim.max_table_size;
            event(c, dir, NULL, HTTP_EV_H2_TABLE_SIZE);
        }
        d->set_table = true;
        d->set_table_val = v;
        /* the other side's encoder may grow its table once it reads this */
        if (v > c->d[other].table_max) apply_table(c, other, v);
    } else if (id == SET_MAX_FRAME_SIZE) {
        if (v >= DEFAULT_MAX_FRAME && v <= MAX_FRAME_LIMIT) c->d[other].max_frame = v;
    }
}

/* A SETTINGS frame (not an ACK) from 'dir' ended: remember what its ACK
 * will confirm. */
static void settings_sent(h2_conn *c, http_dir dir)
{
    ddir *d = &c->d[dir];
    if (d->pend_n == PENDING_MAX) {
        /* too many unacknowledged: apply now rather than queue */
        if (d->set_table) apply_table(c, (http_dir)!dir, d->set_table_val);
        return;
    }
    unsigned i = (d->pend_head + d->pend_n++) % PENDING_MAX;
    d->pend_has[i] = d->set_table;
    d->pend_val[i] = d->set_table_val;
}

/* 'dir' acknowledged the other side's oldest SETTINGS: a smaller table
 * size takes effect for dir's encoder from here on. */
static void settings_ack(h2_conn *c, http_dir dir)
{
    ddir *o = &c->d[!dir];
    if (!o->pend_n) return;
    unsigned i = o->pend_head;
    o->pend_head = (o->pend_head + 1) % PENDING_MAX;
    o->pend_n--;
    if (o->pend_has[i] && o->pend_val[i] != c->d[dir].table_max)
        apply_table(c, dir, o->pend_val[i]);
}

/* ---- header blocks ---- */

static bool parse_u64(const uint8_t *v, size_t n, int64_t *out)
{
    int64_t x = 0;
    if (n == 0 || n > 15) return false;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return false;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return true;
}

static void field_msg(h2_stream *s, http_dir dir, const char *nm, size_t nl, const char *v,
                      size_t vl)
{
    http_msg *m = msg_of(s, dir);
    if (ascii_ieq(nm, nl, "content-type")) {
        ascii_copy_trunc(m->content_type, sizeof(m->content_type), v, vl);
        if (ascii_iprefix(v, vl, "multipart/form-data"))
            body_get_param(v, vl, "boundary", s->boundary[dir], sizeof(s->boundary[dir]));
    } else if (ascii_ieq(nm, nl, "content-encoding")) {
        ascii_copy_trunc(m->content_encoding, sizeof(m->content_encoding), v, vl);
    } else if (ascii_ieq(nm, nl, "content-length")) {
        int64_t x;
        if (parse_u64((const uint8_t *)v, vl, &x)) m->declared_len = x;
    }
}

/* hpack_field_fn: one decoded field of the block in progress. */
static void on_field(void *ud, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen)
{
    h2_conn *c = ud;
    http_dir dir = c->fdir;
    ddir *d = &c->d[dir];
    d->block_list += nlen + vlen + 32;
    if (d->block_list > c->lim.max_header_list) {
        if (!d->block_too_long) event(c, dir, NULL, HTTP_EV_HEADER_TOO_LONG);
        d->block_too_long = true;
        return;
    }
    if (d->bkind == K_NONE || d->bkind == K_TRAILER) return;
    h2_stream *s = find(c, d->block_sid);
    if (!s) return;
    const char *nm = (const char *)name, *v = (const char *)value;
    http_txn *t = &s->t;
    if (d->bkind == K_RESP) {
        if (ascii_ieq(nm, nlen, ":status")) {
            int st = 0;
            for (size_t i = 0; i < vlen && i < 3; i++)
                if (v[i] >= '0' && v[i] <= '9') st = st * 10 + (v[i] - '0');
            t->status = vlen == 3 ? st : 0;
        } else {
            field_msg(s, HTTP_DIR_RESP, nm, nlen, v, vlen);
        }
        return;
    }
    /* K_REQ, K_PUSH: request fields */
    if (ascii_ieq(nm, nlen, ":method")) {
        ascii_copy_trunc(t->method, sizeof(t->method), v, vlen);
    } else if (ascii_ieq(nm, nlen, ":path")) {
        if (ascii_copy_trunc(t->uri, sizeof(t->uri), v, vlen)) t->flags |= HTTP_TXN_URI_TRUNC;
    } else if (ascii_ieq(nm, nlen, ":authority")) {
        ascii_copy_trunc(t->host, sizeof(t->host), v, vlen);
    } else if (ascii_ieq(nm, nlen, ":scheme")) {
        ascii_copy_trunc(t->scheme, sizeof(t->scheme), v, vlen);
    } else if (ascii_ieq(nm, nlen, "host")) {
        if (!t->host[0]) ascii_copy_trunc(t->host, sizeof(t->host), v, vlen);
    } else if (ascii_ieq(nm, nlen, "user-agent")) {
        ascii_copy_trunc(t->user_agent, sizeof(t->user_agent), v, vlen);
    } else {
        field_msg(s, HTTP_DIR_REQ, nm, nlen, v, vlen);
    }
}

/* A HEADERS or PUSH_PROMISE frame starts a block: what is it for? */
static void block_start(h2_conn *c, http_dir dir)
{
    ddir *d = &c->d[dir];
    d->in_block = true;
    d->block_frame_sid = d->sid;
    d->block_sid = d->sid;
    d->block_end_stream = d->type == F_HEADERS && (d->flags & FL_END_STREAM);
    d->block_lost = d->hp_lost;
    d->block_list = 0;
    d->block_too_long = false;
    d->bkind = K_NONE;
    if (d->hp_lost) c->st.header_blocks_lost[dir]++;
    if (d->type == F_PUSH_PROMISE) {
        uint32_t promised = (((uint32_t)d->small[d->pre_len - 4] << 24) |
                             ((uint32_t)d->small[d->pre_len - 3] << 16) |
                             ((uint32_t)d->small[d->pre_len - 2] << 8) | d->small[d->pre_len - 1]) &
                            0x7fffffffu;
        if (promised == 0 || (promised & 1) || promised <= c->max_push_sid) {
            break_conn(c, dir, HTTP_EV_H2_PROTOCOL_ERROR);
            return;
        }
        c->max_push_sid = promised;
        d->block_sid = promised;
        if (d->hp_lost) {
            c->st.streams_lost++;
            return;
        }
        h2_stream *s = stream_new(c, promised);
        if (!s) return;
        s->t.flags |= HTTP_TXN_PUSHED;
        d->bkind = K_PUSH;
        return;
    }
    h2_stream *s = find(c, d->sid);
    if (dir == HTTP_DIR_REQ) {
        if (s) {
            if (s->announced[dir] && !s->done[dir]) d->bkind = K_TRAILER;
            return;
        }
        if (!(d->sid & 1)) {
            break_conn(c, dir, HTTP_EV_H2_PROTOCOL_ERROR);
            return;
        }
        if (d->sid <= c->max_client_sid) return; /* closed or refused */
        c->max_client_sid = d->sid;
        if (d->hp_lost) {
            c->st.streams_lost++;
            return;
        }
        if (stream_new(c, d->sid)) d->bkind = K_REQ;
        return;
    }
    if (!s || s->done[dir]) return;
    d->bkind = s->announced[dir] ? K_TRAILER : K_RESP;
}

/* Header block bytes (a fragment, or its end with final). */
static void block_bytes(h2_conn *c, http_dir dir, const uint8_t *p, size_t n, bool final)
{
    ddir *d = &c->d[dir];
    if (d->block_lost) return;
    c->fdir = dir;
    if (hpack_dec_feed(d->hp, p, n, final, on_field, c) != 0) {
        d->block_lost = true;
        hpack_lost(c, dir, HTTP_EV_H2_HPACK_ERROR);
    }
}

/* The block ended (END_HEADERS), or was abandoned (lost). */
static void block_end(h2_conn *c, http_dir dir)
{
    ddir *d = &c->d[dir];
    d->in_block = false;
    h2_stream *s = find(c, d->block_sid);
    if (!s) return;
    switch (d->bkind) {
    case K_REQ:
    case K_PUSH:
        if (d->block_lost) {
            msg_done(c, s, HTTP_DIR_REQ, true);
        } else {
            announce(c, s, HTTP_DIR_REQ);
            if (d->block_end_stream || d->bkind == K_PUSH)
                msg_done(c, s, HTTP_DIR_REQ, false);
            else
                body_begin(c, s, HTTP_DIR_REQ);
        }
        break;
    case K_RESP:
        if (d->block_lost) {
            /* headers unknown: report the response, deliver its body raw */
            s->t.status = 0;
            s->t.resp.content_encoding[0] = 0;
            s->boundary[dir][0] = 0;
            s->t.resp.flags |= HTTP_MSG_GAP;
        } else if (s->t.status >= 100 && s->t.status < 200 && s->t.status != 101) {
            /* interim response: the final one follows */
            s->t.status = 0;
            memset(&s->t.resp, 0, sizeof(s->t.resp));
            s->t.resp.declared_len = -1;
            s->boundary[dir][0] = 0;
            if (!d->block_end_stream) break;
        }
        announce(c, s, dir);
        if (d->block_end_stream)
            msg_done(c, s, dir, false);
        else
            body_begin(c, s, dir);
        break;
    case K_TRAILER:
        if (d->block_end_stream) msg_done(c, s, dir, false);
        break;
    default:
        break;
    }
}

/* ---- frames ---- */

/* Flags each type defines (anything else is unusual: used to judge
 * plausibility after a gap, never to reject a frame). */
static uint8_t defined_flags(uint8_t type)
{
    switch (type) {
    case F_DATA:
        return FL_END_STREAM | FL_PADDED;
    case F_HEADERS:
        return FL_END_STREAM | FL_END_HEADERS | FL_PADDED | FL_PRIORITY;
    case F_PUSH_PROMISE:
        return FL_END_HEADERS | FL_PADDED;
    case F_SETTINGS:
    case F_PING:
        return FL_ACK;
    case F_CONTINUATION:
        return FL_END_HEADERS;
    default:
        return 0;
    }
}

/* Could these 9 bytes be the next frame header of 'dir' (after a gap)? */
static bool plausible(h2_conn *c, http_dir dir, const uint8_t *h)
{
    cur k = cur_make(h, 9);
    uint32_t len = (uint32_t)cur_u8(&k) << 16;
    len |= cur_be16(&k);
    uint8_t type = cur_u8(&k), flags = cur_u8(&k);
    uint32_t sid = cur_be32(&k);
    if (k.trunc || (sid & 0x80000000u) || type > F_CONTINUATION || type == F_CONTINUATION)
        return false;
    if (flags & ~defined_flags(type)) return false;
    if (len > c->d[dir].max_frame) return false;
    switch (type) {
    case F_SETTINGS:
        return sid == 0 && len % 6 == 0 && len <= 60 && (!(flags & FL_ACK) || len == 0);
    case F_PING:
        return sid == 0 && len == 8;
    case F_GOAWAY:
        return sid == 0 && len >= 8 && len <= 1024;
    case F_WINDOW_UPDATE:
        return len == 4 && (sid == 0 || find(c, sid));
    case F_PRIORITY:
        return len == 5 && sid != 0 && find(c, sid);
    case F_RST_STREAM:
        return len == 4 && sid != 0 && find(c, sid);
    case F_PUSH_PROMISE:
        return dir == HTTP_DIR_RESP && len >= 4 && find_open(c, sid, HTTP_DIR_RESP) != NULL;
    case F_HEADERS: {
        h2_stream *s = find(c, sid);
        return s && !s->done[dir];
    }
    default: /* F_DATA */
        return sid != 0 && find_open(c, sid, dir) != NULL;
    }
}

static void frame_end(h2_conn *c, http_dir dir);

/* The prefix is complete: padding and content are known. */
static void prefix_done(h2_conn *c, http_dir dir)
{
    ddir *d = &c->d[dir];
    uint32_t pad = 0;
    bool padded = (d->type == F_DATA || d->type == F_HEADERS || d->type == F_PUSH_PROMISE) &&
                  (d->flags & FL_PADDED);
    if (padded) pad = d->small[0];
    if (d->frame_lost && padded) {
        /* the pad length was lost: the rest of the frame is unusable */
        d->content_end = d->pre_len;
    } else if (padded || d->type == F_HEADERS || d->type == F_PUSH_PROMISE || d->type == F_DATA) {
        if (d->pre_len + pad > d->len) {
            break_conn(c, dir, HTTP_EV_H2_PROTOCOL_ERROR);
            return;
        }
        d->content_end = d->len - pad;
    }
    if (d->type == F_PUSH_PROMISE && d->frame_lost) {
        /* the promised stream id is unknown: decode nothing, but keep the
         * block open so that its CONTINUATION frames are expected */
        d->in_block = true;
        d->block_frame_sid = d->block_sid = d->sid;
        d->bkind = K_NONE;
        d->block_end_stream = false;
        d->block_lost = true;
        hpack_lost(c, dir, HTTP_EV_H2_HEADERS_LOST);
    } else if (d->type == F_HEADERS || d->type == F_PUSH_PROMISE) {
        block_start(c, dir);
        if (d->frame_lost && d->in_block) {
            d->block_lost = true;
            hpack_lost(c, dir, HTTP_EV_H2_HEADERS_LOST);
        }
    } else if (d->type == F_DATA && d->frame_lost) {
        h2_stream *s = find_open(c, d->sid, dir);
        if (s) body_gap(&s->body[dir], d->len - d->off);
    }
}

/* A complete frame header is in d->hdr. */
static void frame_begin(h2_conn *c, http_dir dir)
{
    ddir *d = &c->d[dir];
    cur k = cur_make(d->hdr, 9);
    d->len = (uint32_t)cur_u8(&k) << 16;
    d->len |= cur_be16(&k);
    d->type = cur_u8(&k);
    d->flags = cur_u8(&k);
    d->sid = cur_be32(&k) & 0x7fffffffu;
    d->hlen = 0;
    d->off = 0;
    d->frame_lost = false;
    d->entry_len = 0;
    d->entry_lost = false;
    d->set_table = false;
    d->st = D_PAYLOAD;
    c->st.frames[dir][d->type <= F_CONTINUATION ? d->type : H2_FRAME_TYPES - 1]++;

    if (d->len > c->lim.max_frame_size) {
        break_conn(c, dir, HTTP_EV_H2_FRAME_TOO_LARGE);
        return;
    }
    if (d->len > d->max_frame) event(c, dir, NULL, HTTP_EV_H2_FRAME_TOO_LARGE);
    bool bad = false;
    if (d->in_block)
        bad = d->type != F_CONTINUATION || d->sid != d->block_frame_sid;
    else if (d->type == F_CONTINUATION)
        bad = true;
    switch (d->type) {
    case F_DATA:
    case F_HEADERS:
    case F_PRIORITY:
    case F_RST_STREAM:
    case F_PUSH_PROMISE:
    case F_CONTINUATION:
        bad |= d->sid == 0;
        break;
    case F_SETTINGS:
    case F_PING:
    case F_GOAWAY:
        bad |= d->sid != 0;
        break;
    default:
        break;
    }
    /* prefix and content ranges */
    d->pre_len = 0;
    d->content_end = d->len;
    switch (d->type) {
    case F_DATA:
        d->pre_len = d->flags & FL_PADDED ? 1 : 0;
        break;
    case F_HEADERS:
        d->pre_len = (d->flags & FL_PADDED ? 1 : 0) + (d->flags & FL_PRIORITY ? 5 : 0);
        break;
    case F_PUSH_PROMISE:
        d->pre_len = (d->flags & FL_PADDED ? 1 : 0) + 4;
        bad |= dir == HTTP_DIR_REQ;
        break;
    case F_CONTINUATION:
        break;
    case F_SETTINGS:
        bad |= (d->flags & FL_ACK) ? d->len != 0 : d->len % 6 != 0;
        break;
    case F_PRIORITY:
        bad |= d->len != 5;
        d->pre_len = d->len;
        break;
    case F_RST_STREAM:
    case F_WINDOW_UPDATE:
        bad |= d->len != 4;
        d->pre_len = d->len;
        break;
    case F_PING:
        bad |= d->len != 8;
        d->pre_len = d->len;
        break;
    case F_GOAWAY:
        bad |= d->len < 8;
        d->pre_len = d->len < SMALL_MAX ? d->len : SMALL_MAX;
        d->content_end = d->pre_len;
        break;
    default: /* unknown type: skipped (RFC 9113 4.1) */
        d->content_end = 0;
        break;
    }
    if (bad || d->pre_len > d->len) {
        break_conn(c, dir, HTTP_EV_H2_PROTOCOL_ERROR);
        return;
    }
    if (d->pre_len == 0) prefix_done(c, dir);
    if (d->st == D_PAYLOAD && d->len == 0) frame_end(c, dir);
}

static void frame_end(h2_conn *c, http_dir dir)
{
    ddir *d = &c->d[dir];
    d->st = D_HDR;
    h2_stream *s;
    switch (d->type) {
    case F_DATA:
        if ((d->flags & FL_END_STREAM) && (s = find_open(c, d->sid, dir)))
            msg_done(c, s, dir, false);
        break;
    case F_HEADERS:
    case F_PUSH_PROMISE:
    case F_CONTINUATION:
        if (d->in_block && (d->flags & FL_END_HEADERS)) {
            block_bytes(c, dir, NULL, 0, true);
            block_end(c, dir);
        }
        break;
    case F_SETTINGS:
        if (d->flags & FL_ACK)
            settings_ack(c, dir);
        else
            settings_sent(c, dir);
        break;
    case F_RST_STREAM:
        if (!d->frame_lost && (s = find(c, d->sid))) {
            s->t.flags |= HTTP_TXN_RESET;
            event(c, dir, &s->t, HTTP_EV_H2_STREAM_RESET);
            if (dir == HTTP_DIR_RESP && !s->done[HTTP_DIR_REQ]) {
                /* The server reset the stream (often after answering,
                 * before reading the body).  What the client still sends
                 * left the network all the same: the request stays open
                 * until its END_STREAM, a reset of its own or the end. */
                msg_done(c, s, HTTP_DIR_RESP, true);
            } else {
                stream_abort(c, s);
            }
        }
        break;
    case F_GOAWAY:
        if (!d->frame_lost) {
            uint32_t last = (((uint32_t)d->small[0] << 24) | ((uint32_t)d->small[1] << 16) |
                             ((uint32_t)d->small[2] << 8) | d->small[3]) &
                            0x7fffffffu;
            event(c, dir, NULL, HTTP_EV_H2_GOAWAY);
            /* streams the receiver opened above 'last' were not processed */
            uint32_t parity = dir == HTTP_DIR_RESP ? 1 : 0;
            for (unsigned i = 0; i < c->n;) {
                s = c->tab[i];
                if ((s->id & 1) == parity && s->id > last) {
                    s->t.flags |= HTTP_TXN_RESET;
                    unsigned before = c->n;
                    stream_abort(c, s);
                    if (c->n < before) continue;
                }
                i++;
            }
        }
        break;
    default:
        break;
    }
}

/* Payload bytes of the current frame. */
static const uint8_t *payload(h2_conn *c, http_dir dir, const uint8_t *p, const uint8_t *end)
{
    ddir *d = &c->d[dir];
    while (p < end && d->st == D_PAYLOAD && d->off < d->len) {
        size_t avail = (size_t)(end - p), k;
        if (d->off < d->pre_len) {
            k = d->pre_len - d->off;
            if (k > avail) k = avail;
            size_t keep = d->off < SMALL_MAX ? SMALL_MAX - d->off : 0;
            memcpy(d->small + d->off, p, k < keep ? k : keep);
            d->off += (uint32_t)k;
            p += k;
            if (d->off == d->pre_len) prefix_done(c, dir);
            continue;
        }
        if (d->off < d->content_end) {
            k = d->content_end - d->off;
            if (k > avail) k = avail;
            if (d->type == F_DATA) {
                h2_stream *s = find_open(c, d->sid, dir);
                if (s)
                    body_wire(&s->body[dir], p, k);
                else
                    c->st.ignored_bytes[dir] += k;
            } else if (d->type == F_SETTINGS) {
                for (size_t i = 0; i < k; i++) {
                    d->entry[d->entry_len++] = p[i];
                    if (d->entry_len < 6) continue;
                    d->entry_len = 0;
                    if (d->entry_lost) {
                        d->entry_lost = false;
                        continue;
                    }
                    cur e = cur_make(d->entry, 6);
                    uint16_t id = cur_be16(&e);
                    setting(c, dir, id, cur_be32(&e));
                }
            } else if (d->in_block) {
                block_bytes(c, dir, p, k, false);
            }
            d->off += (uint32_t)k;
            p += k;
            continue;
        }
        k = d->len - d->off; /* padding, or the skipped rest */
        if (k > avail) k = avail;
        d->off += (uint32_t)k;
        p += k;
    }
    if (d->st == D_PAYLOAD && d->off == d->len) frame_end(c, dir);
    return p;
}

/* ---- loss ---- */

/* Enters resynchronisation after 'lost' bytes of unknown frames. */
static void resync(h2_conn *c, http_dir dir, uint64_t lost)
{
    ddir *d = &c->d[dir];
    d->st = D_RESYNC;
    d->carry_len = 0;
    c->st.resyncs[dir]++;
    event(c, dir, NULL, HTTP_EV_H2_RESYNC);
    if (d->in_block) {
        d->block_lost = true;
        block_end(c, dir);
    }
    hpack_lost(c, dir, HTTP_EV_H2_HEADERS_LOST);
    for (unsigned i = 0; i < c->n; i++) {
        h2_stream *s = c->tab[i];
        if (s->announced[dir] && !s->done[dir]) body_gap(&s->body[dir], lost);
    }
}

/* 'n' bytes (no more than the rest of the frame) of the current frame's
 * payload are missing. */
static void gap_in_frame(h2_conn *c, http_dir dir, uint32_t n)
{
    ddir *d = &c->d[dir];
    while (n && d->st == D_PAYLOAD) {
        uint32_t k;
        if (d->off < d->pre_len) {
            k = d->pre_len - d->off;
            if (k > n) k = n;
            d->frame_lost = true;
            d->off += k;
            n -= k;
            if (d->off == d->pre_len) prefix_done(c, dir);
            continue;
        }
        if (d->off < d->content_end) {
            k = d->content_end - d->off;
            if (k > n) k = n;
            if (d->type == F_DATA) {
                h2_stream *s = find_open(c, d->sid, dir);
                if (s) body_gap(&s->body[dir], k);
            } else if (d->type == F_SETTINGS) {
                /* entries stay aligned: drop the ones the gap touched */
                uint32_t pos = d->off - d->pre_len;
                d->entry_lost = true;
                d->entry_len = (pos + k) % 6;
                if (d->entry_len == 0) d->entry_lost = false;
            } else if (d->in_block) {
                d->block_lost = true;
                hpack_lost(c, dir, HTTP_EV_H2_HEADERS_LOST);
            }
            d->off += k;
            n -= k;
            continue;
        }
        k = d->len - d->off;
        if (k > n) k = n;
        d->off += k;
        n -= k;
    }
    if (d->st == D_PAYLOAD && d->off == d->len) frame_end(c, dir);
}

/* Scans for a plausible frame header (h2.h); returns the new position. */
static const uint8_t *resync_scan(h2_conn *c, http_dir dir, const uint8_t *p, const uint8_t *end)
{
    ddir *d = &c->d[dir];
    size_t avail = (size_t)(end - p);
    if (d->carry_len) {
        uint8_t w[16];
        size_t take = avail < 8 ? avail : 8;
        memcpy(w, d->carry, d->carry_len);
        memcpy(w + d->carry_len, p, take);
        for (size_t i = 0; i < d->carry_len && i + 9 <= d->carry_len + take; i++) {
            if (!plausible(c, dir, w + i)) continue;
            c->st.ignored_bytes[dir] += i;
            memcpy(d->hdr, w + i, 9);
            size_t used = i + 9 - d->carry_len;
            d->carry_len = 0;
            frame_begin(c, dir);
            return p + used;
        }
    }
    for (size_t i = 0; i + 9 <= avail; i++) {
        if (!plausible(c, dir, p + i)) continue;
        c->st.ignored_bytes[dir] += d->carry_len + i;
        d->carry_len = 0;
        memcpy(d->hdr, p + i, 9);
        frame_begin(c, dir);
        return p + i + 9;
    }
    /* keep the last 8 bytes: a header may start in them */
    size_t total = d->carry_len + avail, keep = total < 8 ? total : 8;
    uint8_t w[16];
    memcpy(w, d->carry, d->carry_len);
    size_t tail = avail < 8 ? avail : 8;
    memcpy(w + d->carry_len, end - tail, tail);
    size_t wl = d->carry_len + tail;
    memcpy(d->carry, w + wl - keep, keep);
    c->st.ignored_bytes[dir] += total - keep;
    d->carry_len = keep;
    return end;
}

/* ---- public API ---- */

static h2_conn *conn_new(const h2_limits *lim, const http_callbacks *cb, void *ud)
{
    h2_conn *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    if (lim)
        c->lim = *lim;
    else
        h2_limits_default(&c->lim);
    if (c->lim.max_streams == 0) c->lim.max_streams = 1;
    if (c->lim.inflate_max_ratio == 0) c->lim.inflate_max_ratio = 1;
    if (c->lim.max_frame_size > MAX_FRAME_LIMIT) c->lim.max_frame_size = MAX_FRAME_LIMIT;
    if (cb) c->cb = *cb;
    c->ud = ud;
    c->env.cb = &c->cb;
    c->env.ud = ud;
    c->env.events = c->st.events;
    c->env.inflate_max_out = c->lim.inflate_max_out;
    c->env.inflate_max_ratio = c->lim.inflate_max_ratio;
    c->env.inflate_ratio_floor = c->lim.inflate_ratio_floor;
    c->tab = calloc(c->lim.max_streams, sizeof(*c->tab));
    if (!c->tab) {
        free(c);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        ddir *d = &c->d[i];
        d->st = i == HTTP_DIR_REQ ? D_PREFACE : D_HDR;
        d->table_max = DEFAULT_TABLE;
        d->max_frame = DEFAULT_MAX_FRAME;
        d->hp = hpack_dec_new();
        if (!d->hp) {
            h2_conn_free(c);
            return NULL;
        }
    }
    return c;
}

h2_conn *h2_conn_new(const h2_limits *lim, const http_callbacks *cb, void *ud)
{
    return conn_new(lim, cb, ud);
}

static int b64url(int ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '-' || ch == '+') return 62;
    if (ch == '_' || ch == '/') return 63;
    return -1;
}

h2_conn *h2_conn_new_upgraded(const h2_limits *lim, const http_callbacks *cb, void *ud,
                              const http_txn *req)
{
    h2_conn *c = conn_new(lim, cb, ud);
    if (!c) return NULL;
    /* HTTP2-Settings: base64url SETTINGS payload (RFC 7540 3.2.1), applied
     * as the client's first SETTINGS; the server applies it before it
     * sends anything, and acknowledges nothing. */
    uint8_t buf[96];
    size_t bl = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (const char *q = req->h2_settings; *q && *q != '='; q++) {
        int v = b64url((unsigned char)*q);
        if (v < 0) break;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (bl < sizeof(buf)) buf[bl++] = (uint8_t)(acc >> bits);
        }
    }
    cur e = cur_make(buf, bl - bl % 6);
    while (cur_left(&e) >= 6) {
        uint16_t id = cur_be16(&e);
        uint32_t v = cur_be32(&e);
        if (id == SET_HEADER_TABLE_SIZE) {
            if (v > c->lim.max_table_size) v = c->lim.max_table_size;
            apply_table(c, HTTP_DIR_RESP, v);
        } else {
            setting(c, HTTP_DIR_REQ, id, v);
        }
    }
    h2_stream *s = stream_new(c, 1);
    if (!s) {
        h2_conn_free(c);
        return NULL;
    }
    uint64_t id = s->t.id;
    s->t = *req;
    s->t.id = id;
    s->t.protocol = HTTP_PROTO_2;
    s->t.stream_id = 1;
    s->t.flags = HTTP_TXN_UPGRADED | (req->flags & HTTP_TXN_URI_TRUNC);
    s->t.status = 0;
    memset(&s->t.resp, 0, sizeof(s->t.resp));
    s->t.resp.declared_len = -1;
    c->max_client_sid = 1;
    announce(c, s, HTTP_DIR_REQ);
    s->done[HTTP_DIR_REQ] = true;
    c->st.requests++;
    if (c->cb.on_request_complete) c->cb.on_request_complete(c->ud, &s->t);
    return c;
}

void h2_conn_feed(h2_conn *c, http_dir dir, const uint8_t *data, size_t len)
{
    ddir *d = &c->d[dir];
    const uint8_t *p = data, *end = data + len;
    if (d->ended) return;
    while (p < end) {
        size_t avail = (size_t)(end - p), k;
        switch (d->st) {
        case D_STOPPED:
            c->st.ignored_bytes[dir] += avail;
            return;
        case D_PREFACE:
            k = sizeof(preface) - d->pre;
            if (k > avail) k = avail;
            if (memcmp(p, preface + d->pre, k) != 0) {
                break_conn(c, dir, HTTP_EV_H2_BAD_PREFACE);
                break;
            }
            d->pre += k;
            p += k;
            if (d->pre == sizeof(preface)) d->st = D_HDR;
            break;
        case D_HDR:
            k = 9 - d->hlen;
            if (k > avail) k = avail;
            memcpy(d->hdr + d->hlen, p, k);
            d->hlen += k;
            p += k;
            if (d->hlen == 9) frame_begin(c, dir);
            break;
        case D_PAYLOAD:
            p = payload(c, dir, p, end);
            break;
        default: /* D_RESYNC */
            p = resync_scan(c, dir, p, end);
            break;
        }
    }
}

void h2_conn_gap(h2_conn *c, http_dir dir, uint64_t len)
{
    ddir *d = &c->d[dir];
    if (d->ended || d->st == D_STOPPED || len == 0) return;
    switch (d->st) {
    case D_PREFACE:
        if (d->pre + len <= sizeof(preface)) {
            /* the rest of the preface cannot be checked: accept it */
            d->pre += (size_t)len;
            if (d->pre == sizeof(preface)) d->st = D_HDR;
            return;
        }
        len -= sizeof(preface) - d->pre;
        d->pre = sizeof(preface);
        resync(c, dir, len);
        return;
    case D_PAYLOAD: {
        uint32_t rem = d->len - d->off;
        if (len <= rem) {
            gap_in_frame(c, dir, (uint32_t)len);
            return;
        }
        gap_in_frame(c, dir, rem);
        if (d->st == D_STOPPED) return;
        resync(c, dir, len - rem);
        return;
    }
    case D_RESYNC:
        d->carry_len = 0; /* not contiguous any more */
        for (unsigned i = 0; i < c->n; i++) {
            h2_stream *s = c->tab[i];
            if (s->announced[dir] && !s->done[dir]) body_gap(&s->body[dir], len);
        }
        return;
    default: /* D_HDR: between frames or inside a frame header */
        d->hlen = 0;
        resync(c, dir, len);
        return;
    }
}

void h2_conn_end(h2_conn *c, http_dir dir)
{
    ddir *d = &c->d[dir];
    if (d->ended) return;
    d->ended = true;
    if (d->in_block) {
        d->block_lost = true;
        block_end(c, dir);
    }
    for (unsigned i = 0; i < c->n;) {
        h2_stream *s = c->tab[i];
        unsigned before = c->n;
        if (!s->done[dir]) msg_done(c, s, dir, true);
        if (c->n == before) i++;
    }
}

const h2_conn_stats *h2_conn_stats_get(const h2_conn *c)
{
    return &c->st;
}

void h2_conn_free(h2_conn *c)
{
    if (!c) return;
    while (c->n) stream_free(c, c->tab[c->n - 1]);
    free(c->tab);
    for (int i = 0; i < 2; i++) hpack_dec_free(c->d[i].hp);
    free(c);
}
