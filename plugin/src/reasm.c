/*
 * reasm.c -- per-direction TCP stream reassembly.  Owns the copies of
 * out-of-order segment bytes and accounts them against the ctx memcap.
 * The policy (first-wins overlaps, gap skipping, depth, memcap) is
 * documented in reasm.h.
 */
#include "reasm.h"

#include <stdlib.h>
#include <string.h>

struct reasm_seg {
    reasm_seg *next;
    uint32_t seq;
    uint32_t len;
    uint8_t data[];
};

struct reasm_ctx {
    size_t memcap;
    size_t depth;
    size_t ooo_bytes_max;
    uint32_t ooo_segs_max;
    reasm_stats st;
};

/* Serial-number comparisons modulo 2^32. */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}
#define SEQ_LT(a, b)  (seq_diff((a), (b)) < 0)
#define SEQ_LEQ(a, b) (seq_diff((a), (b)) <= 0)
#define SEQ_GT(a, b)  (seq_diff((a), (b)) > 0)

/* An ACK further ahead than this is treated as bogus. */
#define ACK_SANE_WINDOW 0x40000000u

/* ---- context ---- */

reasm_ctx *reasm_ctx_new(size_t memcap, size_t depth)
{
    reasm_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) return NULL;
    ctx->memcap = memcap ? memcap : REASM_DEFAULT_MEMCAP;
    ctx->depth = depth;
    ctx->ooo_bytes_max = REASM_DEFAULT_OOO_BYTES;
    ctx->ooo_segs_max = REASM_DEFAULT_OOO_SEGS;
    return ctx;
}

void reasm_ctx_set_ooo_limit(reasm_ctx *ctx, size_t bytes, uint32_t segs)
{
    if (bytes) ctx->ooo_bytes_max = bytes;
    if (segs) ctx->ooo_segs_max = segs;
}

void reasm_ctx_free(reasm_ctx *ctx)
{
    free(ctx);
}

void reasm_ctx_stats(const reasm_ctx *ctx, reasm_stats *out)
{
    *out = ctx->st;
}

void reasm_stream_init(reasm_stream *s)
{
    memset(s, 0, sizeof(*s));
}

void reasm_stream_start(reasm_stream *s, uint32_t next_seq)
{
    if (s->flags & REASM_ST_STARTED) return;
    s->flags |= REASM_ST_STARTED;
    s->next_seq = next_seq;
}

/* ---- queue helpers ---- */

static void seg_release(reasm_ctx *ctx, reasm_stream *s, reasm_seg *g)
{
    size_t cost = (size_t)g->len + REASM_SEG_OVERHEAD;
    s->ooo_bytes -= cost;
    s->ooo_segs--;
    ctx->st.bytes_buffered -= cost;
    ctx->st.segs_buffered--;
    free(g);
}

static void queue_free(reasm_ctx *ctx, reasm_stream *s)
{
    while (s->ooo) {
        reasm_seg *g = s->ooo;
        s->ooo = g->next;
        seg_release(ctx, s, g);
    }
}

void reasm_stream_free(reasm_ctx *ctx, reasm_stream *s)
{
    if (!s) return;
    queue_free(ctx, s);
    free(s->hist);
    s->hist = NULL;
}

/* ---- history of delivered bytes ---- */

void reasm_stream_no_history(reasm_stream *s)
{
    s->flags |= REASM_ST_NOHIST;
}

/* Keeps [seq, seq+n) of delivered bytes (the newest REASM_HIST_BYTES). */
static void hist_add(reasm_stream *s, uint32_t seq, const uint8_t *data, size_t n)
{
    if (!s->hist) {
        s->hist = malloc(REASM_HIST_BYTES);
        if (!s->hist) return;
    }
    if (s->hist_fill && s->hist_end != seq) s->hist_fill = 0; /* a gap: not contiguous */
    if (n > REASM_HIST_BYTES) {
        seq += (uint32_t)(n - REASM_HIST_BYTES);
        data += n - REASM_HIST_BYTES;
        n = REASM_HIST_BYTES;
    }
    for (size_t i = 0; i < n;) {
        size_t at = (seq + i) % REASM_HIST_BYTES, k = REASM_HIST_BYTES - at;
        if (k > n - i) k = n - i;
        memcpy(s->hist + at, data + i, k);
        i += k;
    }
    s->hist_end = seq + (uint32_t)n;
    s->hist_fill =
        s->hist_fill + n > REASM_HIST_BYTES ? REASM_HIST_BYTES : s->hist_fill + (uint32_t)n;
}

/* A segment [seq, seq+len) starting before the delivery point: do its
 * bytes that the history still holds differ? */
static void hist_check(reasm_ctx *ctx, reasm_stream *s, uint32_t seq, const uint8_t *data,
                       uint32_t len)
{
    if (!s->hist || !s->hist_fill) return;
    uint32_t lo = s->hist_end - s->hist_fill, hi = s->hist_end;
    uint32_t a = SEQ_LT(seq, lo) ? lo : seq, b = seq + len;
    if (SEQ_GT(b, hi)) b = hi;
    /* [a, b) lies in the ring in at most two runs: compared a run at a
     * time, not byte by byte (a lossy link retransmits whole segments) */
    while (SEQ_LT(a, b)) {
        size_t at = a % REASM_HIST_BYTES, k = REASM_HIST_BYTES - at;
        if (k > b - a) k = b - a;
        if (memcmp(s->hist + at, data + (a - seq), k) != 0) {
            s->overlap_conflicts++;
            ctx->st.overlap_conflict++;
            return;
        }
        a += (uint32_t)k;
    }
}

/* ---- delivery ---- */

static void end_stream(reasm_ctx *ctx, reasm_stream *s, reasm_deliver_fn cb, void *ud)
{
    if (s->flags & REASM_ST_ENDED) return;
    s->flags |= REASM_ST_ENDED;
    queue_free(ctx, s);
    cb(ud, REASM_END, NULL, 0);
}

/* Delivers in-order bytes, enforcing depth. */
static void emit(reasm_ctx *ctx, reasm_stream *s, const uint8_t *data, size_t len,
                 reasm_deliver_fn cb, void *ud)
{
    if (len == 0 || (s->flags & REASM_ST_ENDED)) return;
    if (s->flags & REASM_ST_DEPTH) {
        s->depth_bytes += len;
        ctx->st.depth_bytes += len;
        return;
    }
    size_t n = len;
    if (ctx->depth && s->delivered + len >= ctx->depth) n = (size_t)(ctx->depth - s->delivered);
    if (n) {
        s->delivered += n;
        ctx->st.bytes_delivered += n;
        /* every caller has moved next_seq past the piece */
        if (!(s->flags & REASM_ST_NOHIST)) hist_add(s, s->next_seq - (uint32_t)len, data, n);
        cb(ud, REASM_DATA, data, n);
    }
    if (ctx->depth && s->delivered >= ctx->depth) {
        s->flags |= REASM_ST_DEPTH;
        s->depth_bytes += len - n;
        ctx->st.depth_bytes += len - n;
        ctx->st.depth_reached++;
        queue_free(ctx, s);
        cb(ud, REASM_DEPTH, NULL, 0);
    }
}

static void emit_gap(reasm_ctx *ctx, reasm_stream *s, uint32_t n, reasm_deliver_fn cb, void *ud)
{
    if (n == 0 || (s->flags & (REASM_ST_ENDED | REASM_ST_DEPTH))) return;
    s->gaps++;
    s->gap_bytes += n;
    ctx->st.gaps++;
    ctx->st.gap_bytes += n;
    cb(ud, REASM_GAP, NULL, n);
}

/* Ends the stream if the delivery point reached the FIN. */
static void check_fin(reasm_ctx *ctx, reasm_stream *s, reasm_deliver_fn cb, void *ud)
{
    if ((s->flags & REASM_ST_FIN) && SEQ_LEQ(s->fin_seq, s->next_seq)) end_stream(ctx, s, cb, ud);
}

/* Delivers queued pieces that start at or before the delivery point. */
static void drain(reasm_ctx *ctx, reasm_stream *s, reasm_deliver_fn cb, void *ud)
{
    while (s->ooo && SEQ_LEQ(s->ooo->seq, s->next_seq)) {
        reasm_seg *g = s->ooo;
        s->ooo = g->next;
        uint32_t end = g->seq + g->len;
        if (SEQ_LT(s->next_seq, end)) {
            uint32_t off = s->next_seq - g->seq;
            s->next_seq = end;
            emit(ctx, s, g->data + off, g->len - off, cb, ud);
        }
        seg_release(ctx, s, g);
        if (s->flags & (REASM_ST_ENDED | REASM_ST_DEPTH)) return;
    }
    check_fin(ctx, s, cb, ud);
}

/* Skips the hole before the first queued piece and drains. */
static void skip_hole(reasm_ctx *ctx, reasm_stream *s, reasm_deliver_fn cb, void *ud)
{
    if (!s->ooo) return;
    if (SEQ_LT(s->next_seq, s->ooo->seq)) {
        emit_gap(ctx, s, s->ooo->seq - s->next_seq, cb, ud);
        s->next_seq = s->ooo->seq;
    }
    drain(ctx, s, cb, ud);
}

static void flush_all(reasm_ctx *ctx, reasm_stream *s, reasm_deliver_fn cb, void *ud)
{
    while (s->ooo && !(s->flags & (REASM_ST_ENDED | REASM_ST_DEPTH))) skip_hole(ctx, s, cb, ud);
}

/* Inserts a copy of [seq, seq+len) before *link.  Returns 0 or -1. */
static int insert_piece(reasm_ctx *ctx, reasm_stream *s, reasm_seg **link, uint32_t seq,
                        const uint8_t *data, uint32_t len)
{
    reasm_seg *g = malloc(sizeof(*g) + len);
    if (!g) return -1;
    g->seq = seq;
    g->len = len;
    memcpy(g->data, data, len);
    g->next = *link;
    *link = g;
    size_t cost = (size_t)len + REASM_SEG_OVERHEAD;
    s->ooo_bytes += cost;
    s->ooo_segs++;
    ctx->st.bytes_buffered += cost;
    ctx->st.segs_buffered++;
    if (ctx->st.bytes_buffered > ctx->st.bytes_peak) ctx->st.bytes_peak = ctx->st.bytes_buffered;
    return 0;
}

/* Queues [seq, seq+len) (strictly after the delivery point), keeping
 * queued bytes where they overlap (first wins).  Returns 0, or -1 when an
 * allocation failed (the rest of the segment is not queued). */
static int queue_segment(reasm_ctx *ctx, reasm_stream *s, uint32_t seq, const uint8_t *data,
                         uint32_t len)
{
    uint32_t cur = seq, end = seq + len;
    int overlapped = 0, differs = 0;
    reasm_seg **link = &s->ooo;
    while (*link && SEQ_LT(cur, end)) {
        reasm_seg *g = *link;
        uint32_t gend = g->seq + g->len;
        if (SEQ_LEQ(gend, cur)) {
            link = &g->next;
            continue;
        }
        if (SEQ_LT(cur, g->seq)) {
            uint32_t pend = SEQ_LT(end, g->seq) ? end : g->seq;
            if (insert_piece(ctx, s, link, cur, data + (cur - seq), pend - cur) < 0) return -1;
            link = &(*link)->next;
            cur = pend;
            if (!SEQ_LT(cur, end)) break;
        }
        /* [cur, min(end, gend)) overlaps g: keep g's bytes. */
        uint32_t oend = SEQ_LT(end, gend) ? end : gend;
        overlapped = 1;
        if (memcmp(data + (cur - seq), g->data + (cur - g->seq), oend - cur) != 0) differs = 1;
        cur = oend;
        link = &g->next;
    }
    if (SEQ_LT(cur, end) && insert_piece(ctx, s, link, cur, data + (cur - seq), end - cur) < 0)
        return -1;
    if (overlapped) {
        s->overlaps++;
        ctx->st.overlaps++;
        if (differs) {
            ctx->st.overlap_diff++;
            ctx->st.overlap_conflict++;
            s->overlap_conflicts++;
        }
    }
    return 0;
}

/* Delivers a segment that starts at or after the delivery point directly
 * from the packet buffer, skipping any hole before it. */
static void deliver_direct(reasm_ctx *ctx, reasm_stream *s, uint32_t seq, const uint8_t *data,
                           uint32_t len, reasm_deliver_fn cb, void *ud)
{
    if (SEQ_LT(seq, s->next_seq)) {
        uint32_t over = s->next_seq - seq;
        hist_check(ctx, s, seq, data, len);
        if (over >= len) {
            ctx->st.retransmits++;
            return;
        }
        s->overlaps++;
        ctx->st.overlaps++;
        seq += over;
        data += over;
        len -= over;
    } else if (SEQ_GT(seq, s->next_seq)) {
        emit_gap(ctx, s, seq - s->next_seq, cb, ud);
    }
    s->next_seq = seq + len;
    emit(ctx, s, data, len, cb, ud);
}

/* ---- public entry points ---- */

void reasm_push(reasm_ctx *ctx, reasm_stream *s, uint32_t seq, unsigned flags, const uint8_t *data,
                size_t len, reasm_deliver_fn cb, void *ud)
{
    if (s->flags & REASM_ST_ENDED) return;
    if (len > 0x7fffffffu) len = 0x7fffffffu; /* cannot happen with real TCP */
    uint32_t dseq = seq;
    if (flags & REASM_SYN) dseq = seq + 1;
    if (!(s->flags & REASM_ST_STARTED)) {
        s->flags |= REASM_ST_STARTED;
        s->next_seq = dseq;
        if (!(flags & REASM_SYN)) s->flags |= REASM_ST_MIDSTREAM;
    }
    if ((flags & REASM_FIN) && !(s->flags & REASM_ST_FIN)) {
        s->flags |= REASM_ST_FIN;
        s->fin_seq = dseq + (uint32_t)len;
    }

    uint32_t n = (uint32_t)len;
    if (s->flags & REASM_ST_DEPTH) {
        /* Only counted; the delivery point follows the highest byte so a
         * later FIN still ends the stream. */
        if (n && SEQ_GT(dseq + n, s->next_seq)) {
            s->depth_bytes += n;
            ctx->st.depth_bytes += n;
            s->next_seq = dseq + n;
        }
    } else if (n) {
        if (SEQ_LT(dseq, s->next_seq)) {
            uint32_t over = s->next_seq - dseq;
            hist_check(ctx, s, dseq, data, n);
            if (over >= n) {
                ctx->st.retransmits++;
                n = 0;
            } else {
                s->overlaps++;
                ctx->st.overlaps++;
                dseq += over;
                data += over;
                n -= over;
            }
        }
        if (n && dseq == s->next_seq) {
            /* Fast path: in order, straight from the packet buffer. */
            s->next_seq = dseq + n;
            emit(ctx, s, data, n, cb, ud);
            drain(ctx, s, cb, ud);
        } else if (n) {
            size_t cost = (size_t)n + REASM_SEG_OVERHEAD;
            if (s->ooo_bytes + cost > ctx->ooo_bytes_max || s->ooo_segs >= ctx->ooo_segs_max) {
                ctx->st.ooo_limit_skips++;
                flush_all(ctx, s, cb, ud);
                deliver_direct(ctx, s, dseq, data, n, cb, ud);
                drain(ctx, s, cb, ud);
            } else if (ctx->st.bytes_buffered + cost > ctx->memcap ||
                       queue_segment(ctx, s, dseq, data, n) < 0) {
                ctx->st.memcap_drops++;
                flush_all(ctx, s, cb, ud);
                deliver_direct(ctx, s, dseq, data, n, cb, ud);
                drain(ctx, s, cb, ud);
            }
        }
    }

    if (flags & REASM_RST) {
        s->flags |= REASM_ST_RST;
        flush_all(ctx, s, cb, ud);
        end_stream(ctx, s, cb, ud);
        return;
    }
    check_fin(ctx, s, cb, ud);
}

void reasm_ack(reasm_ctx *ctx, reasm_stream *s, uint32_t ack, reasm_deliver_fn cb, void *ud)
{
    if (!(s->flags & REASM_ST_STARTED) || (s->flags & REASM_ST_ENDED)) return;
    if (!SEQ_GT(ack, s->next_seq) || (uint32_t)(ack - s->next_seq) > ACK_SANE_WINDOW) return;
    /* A FIN consumes one sequence number: an ACK of fin_seq+1 covers it. */
    uint32_t target = ack;
    if ((s->flags & REASM_ST_FIN) && SEQ_GT(target, s->fin_seq)) target = s->fin_seq;
    while (s->ooo && SEQ_LT(s->ooo->seq, target) && !(s->flags & (REASM_ST_ENDED | REASM_ST_DEPTH)))
        skip_hole(ctx, s, cb, ud);
    if (s->flags & REASM_ST_ENDED) return;
    if (SEQ_LT(s->next_seq, target)) {
        emit_gap(ctx, s, target - s->next_seq, cb, ud);
        s->next_seq = target;
        drain(ctx, s, cb, ud);
    }
    check_fin(ctx, s, cb, ud);
}

void reasm_stream_close(reasm_ctx *ctx, reasm_stream *s, reasm_deliver_fn cb, void *ud)
{
    if (s->flags & REASM_ST_ENDED) return;
    flush_all(ctx, s, cb, ud);
    if ((s->flags & REASM_ST_FIN) && SEQ_LT(s->next_seq, s->fin_seq) &&
        !(s->flags & REASM_ST_DEPTH)) {
        emit_gap(ctx, s, s->fin_seq - s->next_seq, cb, ud);
        s->next_seq = s->fin_seq;
    }
    end_stream(ctx, s, cb, ud);
}
