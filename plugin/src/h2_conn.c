/*
 * h2_conn.c -- passive HTTP/2 parser (RFC 9113): the connection API of
 * h2.h (the contract): the connection preface, feeding bytes and gaps to
 * the frame layer, the end of each direction.  The work is done by the
 * files h2_int.h lists.
 */
#include "h2.h"

#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "h2_int.h"

static const uint8_t preface[24] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* ---- public API ---- */

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
    c->env = body_env_make(&c->cb, ud, c->st.events, c->lim.inflate_max_out,
                           c->lim.inflate_max_ratio, c->lim.inflate_ratio_floor);
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
    /* HTTP2-Settings: base64url SETTINGS h2_payload (RFC 7540 3.2.1), applied
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
            h2_apply_table(c, HTTP_DIR_RESP, v);
        } else {
            h2_setting(c, HTTP_DIR_REQ, id, v);
        }
    }
    h2_stream *s = h2_stream_new(c, 1);
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
    h2_announce(c, s, HTTP_DIR_REQ);
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
                h2_break_conn(c, dir, HTTP_EV_H2_BAD_PREFACE);
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
            if (d->hlen == 9) h2_frame_begin(c, dir);
            break;
        case D_PAYLOAD:
            p = h2_payload(c, dir, p, end);
            break;
        default: /* D_RESYNC */
            p = h2_resync_scan(c, dir, p, end);
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
        h2_resync(c, dir, len);
        return;
    case D_PAYLOAD: {
        uint32_t rem = d->len - d->off;
        if (len <= rem) {
            h2_gap_in_frame(c, dir, (uint32_t)len);
            return;
        }
        h2_gap_in_frame(c, dir, rem);
        if (d->st == D_STOPPED) return;
        h2_resync(c, dir, len - rem);
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
        h2_resync(c, dir, len);
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
        h2_block_end(c, dir);
    }
    for (unsigned i = 0; i < c->n;) {
        h2_stream *s = c->tab[i];
        unsigned before = c->n;
        if (!s->done[dir]) h2_msg_done(c, s, dir, true);
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
    while (c->n) h2_stream_free(c, c->tab[c->n - 1]);
    free(c->tab);
    for (int i = 0; i < 2; i++) hpack_dec_free(c->d[i].hp);
    free(c);
}
