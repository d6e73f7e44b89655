/*
 * h2_stream.c -- the streams of the passive HTTP/2 parser and what they
 * carry: each stream as an http_txn with its two messages and their
 * callbacks, the connection-wide state that frames change (SETTINGS and
 * their ACKs, HPACK tables no longer trusted, a broken connection), and
 * header blocks decoded through hpack.c into the stream's fields.
 */
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "h2_int.h"

/* ---- events, streams, messages ---- */

void h2_event(h2_conn *c, http_dir dir, const http_txn *t, http_event ev)
{
    c->st.events[ev]++;
    if (c->cb.on_event) c->cb.on_event(c->ud, t, dir, ev);
}

static http_msg *msg_of(h2_stream *s, http_dir dir)
{
    return dir == HTTP_DIR_REQ ? &s->t.req : &s->t.resp;
}

h2_stream *h2_find(h2_conn *c, uint32_t sid)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->tab[i]->id == sid) return c->tab[i];
    return NULL;
}

/* A stream whose message in 'dir' is open (headers announced, not done). */
h2_stream *h2_find_open(h2_conn *c, uint32_t sid, http_dir dir)
{
    h2_stream *s = h2_find(c, sid);
    return s && s->announced[dir] && !s->done[dir] ? s : NULL;
}

h2_stream *h2_stream_new(h2_conn *c, uint32_t sid)
{
    if (c->n >= c->lim.max_streams) {
        c->st.streams_refused++;
        h2_event(c, sid & 1 ? HTTP_DIR_REQ : HTTP_DIR_RESP, NULL, HTTP_EV_H2_TOO_MANY_STREAMS);
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

void h2_stream_free(h2_conn *c, h2_stream *s)
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

void h2_announce(h2_conn *c, h2_stream *s, http_dir dir)
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
void h2_msg_done(h2_conn *c, h2_stream *s, http_dir dir, bool truncated)
{
    if (s->done[dir]) return;
    s->done[dir] = true;
    http_msg *m = msg_of(s, dir);
    if (dir == HTTP_DIR_RESP && !s->announced[dir]) {
        s->t.flags |= HTTP_TXN_NO_RESPONSE;
    } else if (truncated) {
        m->flags |= HTTP_MSG_TRUNCATED;
        if (!s->announced[dir]) m->flags |= HTTP_MSG_HEADERS_ONLY;
        h2_event(c, dir, &s->t, HTTP_EV_TRUNCATED);
        h2_announce(c, s, dir);
    } else {
        m->flags |= HTTP_MSG_COMPLETE;
        h2_announce(c, s, dir);
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
    if (s->done[0] && s->done[1]) h2_stream_free(c, s);
}

/* Both messages of s end truncated (RST_STREAM, GOAWAY, broken
 * connection, end of capture). */
void h2_stream_abort(h2_conn *c, h2_stream *s)
{
    bool resp_done = s->done[HTTP_DIR_RESP];
    h2_msg_done(c, s, HTTP_DIR_REQ, true); /* frees s if the response was done */
    if (!resp_done) h2_msg_done(c, s, HTTP_DIR_RESP, true);
}

/* The headers of message 'dir' are known and a body follows. */
static void body_begin(h2_conn *c, h2_stream *s, http_dir dir)
{
    body_start(&s->body[dir], &c->env, &s->t, dir, s->boundary[dir]);
}

/* ---- connection state ---- */

void h2_break_conn(h2_conn *c, http_dir dir, http_event ev)
{
    if (c->st.broken) return;
    c->st.broken = true;
    h2_event(c, dir, NULL, ev);
    for (int i = 0; i < 2; i++) {
        c->d[i].st = D_STOPPED;
        c->d[i].in_block = false;
    }
    while (c->n) h2_stream_abort(c, c->tab[0]);
}

/* The direction's HPACK table can no longer be trusted. */
void h2_hpack_lost(h2_conn *c, http_dir dir, http_event ev)
{
    ddir *d = &c->d[dir];
    if (d->hp_lost) return;
    d->hp_lost = true;
    c->st.hpack_lost[dir] = true;
    h2_event(c, dir, NULL, ev);
}

void h2_apply_table(h2_conn *c, http_dir dir, uint32_t v)
{
    ddir *d = &c->d[dir];
    d->table_max = v;
    if (!d->hp_lost && hpack_dec_set_max_table(d->hp, v) != 0)
        h2_hpack_lost(c, dir, HTTP_EV_H2_HPACK_ERROR);
}

/* One SETTINGS entry sent by 'dir' (RFC 9113 6.5.2). */
void h2_setting(h2_conn *c, http_dir dir, uint16_t id, uint32_t v)
{
    ddir *d = &c->d[dir];
    http_dir other = (http_dir)!dir;
    if (id == SET_HEADER_TABLE_SIZE) {
        if (v > c->lim.max_table_size) {
            v = c->lim.max_table_size;
            h2_event(c, dir, NULL, HTTP_EV_H2_TABLE_SIZE);
        }
        d->set_table = true;
        d->set_table_val = v;
        /* the other side's encoder may grow its table once it reads this */
        if (v > c->d[other].table_max) h2_apply_table(c, other, v);
    } else if (id == SET_MAX_FRAME_SIZE) {
        if (v >= DEFAULT_MAX_FRAME && v <= MAX_FRAME_LIMIT) c->d[other].max_frame = v;
    }
}

/* A SETTINGS frame (not an ACK) from 'dir' ended: remember what its ACK
 * will confirm. */
void h2_settings_sent(h2_conn *c, http_dir dir)
{
    ddir *d = &c->d[dir];
    if (d->pend_n == PENDING_MAX) {
        /* too many unacknowledged: apply now rather than queue */
        if (d->set_table) h2_apply_table(c, (http_dir)!dir, d->set_table_val);
        return;
    }
    unsigned i = (d->pend_head + d->pend_n++) % PENDING_MAX;
    d->pend_has[i] = d->set_table;
    d->pend_val[i] = d->set_table_val;
}

/* 'dir' acknowledged the other side's oldest SETTINGS: a smaller table
 * size takes effect for dir's encoder from here on. */
void h2_settings_ack(h2_conn *c, http_dir dir)
{
    ddir *o = &c->d[!dir];
    if (!o->pend_n) return;
    unsigned i = o->pend_head;
    o->pend_head = (o->pend_head + 1) % PENDING_MAX;
    o->pend_n--;
    if (o->pend_has[i] && o->pend_val[i] != c->d[dir].table_max)
        h2_apply_table(c, dir, o->pend_val[i]);
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
        if (!d->block_too_long) h2_event(c, dir, NULL, HTTP_EV_HEADER_TOO_LONG);
        d->block_too_long = true;
        return;
    }
    if (d->bkind == K_NONE || d->bkind == K_TRAILER) return;
    h2_stream *s = h2_find(c, d->block_sid);
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
        /* :authority wins over host (RFC 9113 8.3.1); a different name is kept */
        char h[sizeof(t->host)];
        http_host_normalize(v, vlen, h, sizeof(h));
        if (t->host[0] && strcmp(t->host, h) != 0) {
            t->anomalies |= HTTP_ANOM_HOST_MISMATCH;
            if (!t->host_alt[0]) memcpy(t->host_alt, t->host, sizeof(h));
        }
        memcpy(t->host, h, sizeof(h));
    } else if (ascii_ieq(nm, nlen, ":scheme")) {
        ascii_copy_trunc(t->scheme, sizeof(t->scheme), v, vlen);
    } else if (ascii_ieq(nm, nlen, "host")) {
        char h[sizeof(t->host)];
        http_host_normalize(v, vlen, h, sizeof(h));
        if (http_host_merge(t->host, sizeof(t->host), t->host_alt, sizeof(t->host_alt), h,
                            t->host[0] != 0))
            t->anomalies |= HTTP_ANOM_HOST_MISMATCH;
    } else if (ascii_ieq(nm, nlen, "user-agent")) {
        ascii_copy_trunc(t->user_agent, sizeof(t->user_agent), v, vlen);
    } else {
        field_msg(s, HTTP_DIR_REQ, nm, nlen, v, vlen);
    }
}

/* A HEADERS or PUSH_PROMISE frame starts a block: what is it for? */
void h2_block_start(h2_conn *c, http_dir dir)
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
            h2_break_conn(c, dir, HTTP_EV_H2_PROTOCOL_ERROR);
            return;
        }
        c->max_push_sid = promised;
        d->block_sid = promised;
        if (d->hp_lost) {
            c->st.streams_lost++;
            return;
        }
        h2_stream *s = h2_stream_new(c, promised);
        if (!s) return;
        s->t.flags |= HTTP_TXN_PUSHED;
        d->bkind = K_PUSH;
        return;
    }
    h2_stream *s = h2_find(c, d->sid);
    if (dir == HTTP_DIR_REQ) {
        if (s) {
            if (s->announced[dir] && !s->done[dir]) d->bkind = K_TRAILER;
            return;
        }
        if (!(d->sid & 1)) {
            h2_break_conn(c, dir, HTTP_EV_H2_PROTOCOL_ERROR);
            return;
        }
        if (d->sid <= c->max_client_sid) return; /* closed or refused */
        c->max_client_sid = d->sid;
        if (d->hp_lost) {
            c->st.streams_lost++;
            return;
        }
        h2_stream *ns = h2_stream_new(c, d->sid);
        if (!ns) return;
        d->bkind = K_REQ;
        if (d->flags & FL_PADDED) ns->t.anomalies |= HTTP_ANOM_H2_PADDING;
        return;
    }
    if (!s || s->done[dir]) return;
    d->bkind = s->announced[dir] ? K_TRAILER : K_RESP;
}

/* Header block bytes (a fragment, or its end with final). */
void h2_block_bytes(h2_conn *c, http_dir dir, const uint8_t *p, size_t n, bool final)
{
    ddir *d = &c->d[dir];
    if (d->block_lost) return;
    if (d->type == F_CONTINUATION && dir == HTTP_DIR_REQ) {
        h2_stream *s = h2_find(c, d->block_sid);
        if (s) s->t.anomalies |= HTTP_ANOM_H2_CONTINUATION;
    }
    c->fdir = dir;
    if (hpack_dec_feed(d->hp, p, n, final, on_field, c) != 0) {
        d->block_lost = true;
        h2_hpack_lost(c, dir, HTTP_EV_H2_HPACK_ERROR);
    }
}

/* The block ended (END_HEADERS), or was abandoned (lost). */
void h2_block_end(h2_conn *c, http_dir dir)
{
    ddir *d = &c->d[dir];
    d->in_block = false;
    h2_stream *s = h2_find(c, d->block_sid);
    if (!s) return;
    switch (d->bkind) {
    case K_REQ:
    case K_PUSH:
        if (d->block_lost) {
            h2_msg_done(c, s, HTTP_DIR_REQ, true);
        } else {
            h2_announce(c, s, HTTP_DIR_REQ);
            if (d->block_end_stream || d->bkind == K_PUSH)
                h2_msg_done(c, s, HTTP_DIR_REQ, false);
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
        h2_announce(c, s, dir);
        if (d->block_end_stream)
            h2_msg_done(c, s, dir, false);
        else
            body_begin(c, s, dir);
        break;
    case K_TRAILER:
        if (d->block_end_stream) h2_msg_done(c, s, dir, false);
        break;
    default:
        break;
    }
}
