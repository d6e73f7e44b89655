/*
 * h2_frame.c -- the frame layer of the passive HTTP/2 parser (RFC 9113 4):
 * frame headers, their payloads, bytes lost inside a frame, and
 * resynchronisation on a plausible frame header after a lost boundary.
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
#include <string.h>

#include "cursor.h"
#include "h2_int.h"

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
        return len == 4 && (sid == 0 || h2_find(c, sid));
    case F_PRIORITY:
        return len == 5 && sid != 0 && h2_find(c, sid);
    case F_RST_STREAM:
        return len == 4 && sid != 0 && h2_find(c, sid);
    case F_PUSH_PROMISE:
        return dir == HTTP_DIR_RESP && len >= 4 && h2_find_open(c, sid, HTTP_DIR_RESP) != NULL;
    case F_HEADERS: {
        h2_stream *s = h2_find(c, sid);
        return s && !s->done[dir];
    }
    default: /* F_DATA */
        return sid != 0 && h2_find_open(c, sid, dir) != NULL;
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
            h2_break_conn(c, dir, HTTP_EV_H2_PROTOCOL_ERROR);
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
        h2_hpack_lost(c, dir, HTTP_EV_H2_HEADERS_LOST);
    } else if (d->type == F_HEADERS || d->type == F_PUSH_PROMISE) {
        h2_block_start(c, dir);
        if (d->frame_lost && d->in_block) {
            d->block_lost = true;
            h2_hpack_lost(c, dir, HTTP_EV_H2_HEADERS_LOST);
        }
    } else if (d->type == F_DATA && d->frame_lost) {
        h2_stream *s = h2_find_open(c, d->sid, dir);
        if (s) body_gap(&s->body[dir], d->len - d->off);
    }
}

/* A complete frame header is in d->hdr. */
void h2_frame_begin(h2_conn *c, http_dir dir)
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
        h2_break_conn(c, dir, HTTP_EV_H2_FRAME_TOO_LARGE);
        return;
    }
    if (d->len > d->max_frame) h2_event(c, dir, NULL, HTTP_EV_H2_FRAME_TOO_LARGE);
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
        h2_break_conn(c, dir, HTTP_EV_H2_PROTOCOL_ERROR);
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
        if ((d->flags & FL_END_STREAM) && (s = h2_find_open(c, d->sid, dir)))
            h2_msg_done(c, s, dir, false);
        break;
    case F_HEADERS:
    case F_PUSH_PROMISE:
    case F_CONTINUATION:
        if (d->in_block && (d->flags & FL_END_HEADERS)) {
            h2_block_bytes(c, dir, NULL, 0, true);
            h2_block_end(c, dir);
        }
        break;
    case F_SETTINGS:
        if (d->flags & FL_ACK)
            h2_settings_ack(c, dir);
        else
            h2_settings_sent(c, dir);
        break;
    case F_RST_STREAM:
        if (!d->frame_lost && (s = h2_find(c, d->sid))) {
            s->t.flags |= HTTP_TXN_RESET;
            h2_event(c, dir, &s->t, HTTP_EV_H2_STREAM_RESET);
            if (dir == HTTP_DIR_RESP && !s->done[HTTP_DIR_REQ]) {
                /* The server reset the stream (often after answering,
                 * before reading the body).  What the client still sends
                 * left the network all the same: the request stays open
                 * until its END_STREAM, a reset of its own or the end. */
                h2_msg_done(c, s, HTTP_DIR_RESP, true);
            } else {
                h2_stream_abort(c, s);
            }
        }
        break;
    case F_GOAWAY:
        if (!d->frame_lost) {
            uint32_t last = (((uint32_t)d->small[0] << 24) | ((uint32_t)d->small[1] << 16) |
                             ((uint32_t)d->small[2] << 8) | d->small[3]) &
                            0x7fffffffu;
            h2_event(c, dir, NULL, HTTP_EV_H2_GOAWAY);
            /* streams the receiver opened above 'last' were not processed */
            uint32_t parity = dir == HTTP_DIR_RESP ? 1 : 0;
            for (unsigned i = 0; i < c->n;) {
                s = c->tab[i];
                if ((s->id & 1) == parity && s->id > last) {
                    s->t.flags |= HTTP_TXN_RESET;
                    unsigned before = c->n;
                    h2_stream_abort(c, s);
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
const uint8_t *h2_payload(h2_conn *c, http_dir dir, const uint8_t *p, const uint8_t *end)
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
                h2_stream *s = h2_find_open(c, d->sid, dir);
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
                    h2_setting(c, dir, id, cur_be32(&e));
                }
            } else if (d->in_block) {
                h2_block_bytes(c, dir, p, k, false);
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
void h2_resync(h2_conn *c, http_dir dir, uint64_t lost)
{
    ddir *d = &c->d[dir];
    d->st = D_RESYNC;
    d->carry_len = 0;
    c->st.resyncs[dir]++;
    h2_event(c, dir, NULL, HTTP_EV_H2_RESYNC);
    if (d->in_block) {
        d->block_lost = true;
        h2_block_end(c, dir);
    }
    h2_hpack_lost(c, dir, HTTP_EV_H2_HEADERS_LOST);
    for (unsigned i = 0; i < c->n; i++) {
        h2_stream *s = c->tab[i];
        if (s->announced[dir] && !s->done[dir]) body_gap(&s->body[dir], lost);
    }
}

/* 'n' bytes (no more than the rest of the frame) of the current frame's
 * payload are missing. */
void h2_gap_in_frame(h2_conn *c, http_dir dir, uint32_t n)
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
                h2_stream *s = h2_find_open(c, d->sid, dir);
                if (s) body_gap(&s->body[dir], k);
            } else if (d->type == F_SETTINGS) {
                /* entries stay aligned: drop the ones the gap touched */
                uint32_t pos = d->off - d->pre_len;
                d->entry_lost = true;
                d->entry_len = (pos + k) % 6;
                if (d->entry_len == 0) d->entry_lost = false;
            } else if (d->in_block) {
                d->block_lost = true;
                h2_hpack_lost(c, dir, HTTP_EV_H2_HEADERS_LOST);
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
const uint8_t *h2_resync_scan(h2_conn *c, http_dir dir, const uint8_t *p, const uint8_t *end)
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
            h2_frame_begin(c, dir);
            return p + used;
        }
    }
    for (size_t i = 0; i + 9 <= avail; i++) {
        if (!plausible(c, dir, p + i)) continue;
        c->st.ignored_bytes[dir] += d->carry_len + i;
        d->carry_len = 0;
        memcpy(d->hdr, p + i, 9);
        h2_frame_begin(c, dir);
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
