/*
 * test_reasm.c -- TCP reassembly: in order, reorder, retransmission,
 * first-wins overlaps, gaps (queue limit, ACK, close, RST), sequence
 * wraparound near 2^32, depth cap, memcap with counters, midstream pickup,
 * the overlap history (and a stream that stops adding to it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "reasm.h"

/* The deliver callback renders everything into a string:
 * data bytes verbatim, "[GAP n]", "[DEPTH]", "[END]". */
typedef struct rec {
    char buf[8192];
    size_t n;
    int ends;
} rec;

static void rec_cb(void *ud, reasm_event ev, const uint8_t *data, size_t len)
{
    rec *r = ud;
    char tmp[64];
    const char *s = tmp;
    size_t n = 0;
    switch (ev) {
    case REASM_DATA:
        assert_non_null(data);
        s = (const char *)data;
        n = len;
        break;
    case REASM_GAP:
        assert_null(data);
        n = (size_t)snprintf(tmp, sizeof(tmp), "[GAP %zu]", len);
        break;
    case REASM_DEPTH:
        n = (size_t)snprintf(tmp, sizeof(tmp), "[DEPTH]");
        break;
    case REASM_END:
        r->ends++;
        n = (size_t)snprintf(tmp, sizeof(tmp), "[END]");
        break;
    }
    assert_true(r->n + n < sizeof(r->buf));
    memcpy(r->buf + r->n, s, n);
    r->n += n;
    r->buf[r->n] = 0;
}

static void push(reasm_ctx *ctx, reasm_stream *s, rec *r, uint32_t seq, unsigned fl,
                 const char *data)
{
    reasm_push(ctx, s, seq, fl, (const uint8_t *)data, data ? strlen(data) : 0, rec_cb, r);
}

static void test_in_order_syn_fin(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    push(ctx, &s, &r, 1000, REASM_SYN, NULL);
    assert_int_equal(s.next_seq, 1001);
    push(ctx, &s, &r, 1001, 0, "hello ");
    push(ctx, &s, &r, 1007, REASM_FIN, "world");
    assert_string_equal(r.buf, "hello world[END]");
    push(ctx, &s, &r, 1012, 0, "late"); /* after END: ignored */
    assert_string_equal(r.buf, "hello world[END]");
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.bytes_delivered, 11);
    assert_int_equal(st.bytes_buffered, 0);
    assert_int_equal(st.bytes_peak, 0); /* in order: nothing copied */
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
}

static void test_reorder(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    push(ctx, &s, &r, 99, REASM_SYN, NULL);
    push(ctx, &s, &r, 106, 0, "ghi");  /* third */
    push(ctx, &s, &r, 103, 0, "defg"); /* second, overlaps 'g' */
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.segs_buffered, 2);
    assert_int_equal(st.bytes_buffered, 3 + 3 + 2 * REASM_SEG_OVERHEAD); /* "def" piece + "ghi" */
    assert_string_equal(r.buf, "");
    push(ctx, &s, &r, 100, 0, "abcd"); /* first, overlaps the queued 'd' */
    assert_string_equal(r.buf, "abcdefghi");
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.bytes_buffered, 0);
    assert_int_equal(st.segs_buffered, 0);
    assert_true(st.bytes_peak > 0);
    assert_int_equal(st.overlaps, 1);
    assert_int_equal(st.overlap_diff, 0);
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
}

static void test_retransmission_and_partial(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    push(ctx, &s, &r, 0, REASM_SYN, NULL);
    push(ctx, &s, &r, 1, 0, "abc");
    push(ctx, &s, &r, 1, 0, "abc");   /* full retransmission */
    push(ctx, &s, &r, 2, 0, "bcdef"); /* partial: only "def" is new */
    assert_string_equal(r.buf, "abcdef");
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.retransmits, 1);
    assert_int_equal(st.overlaps, 1);
    assert_int_equal(s.overlaps, 1);
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
}

/* A retransmission of delivered bytes: the first copy stays delivered;
 * different bytes within the history count overlap_conflict, identical
 * ones do not, and bytes older than the history cannot be compared. */
static void test_overlap_conflict_history(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    push(ctx, &s, &r, 0, REASM_SYN, NULL);
    push(ctx, &s, &r, 1, 0, "abcdef");
    push(ctx, &s, &r, 1, 0, "abcdef"); /* same bytes: a plain retransmission */
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.overlap_conflict, 0);
    push(ctx, &s, &r, 3, 0, "XY");    /* 3..4 differ: conflict, first wins */
    push(ctx, &s, &r, 6, 0, "fghij"); /* 6 same, 7.. new */
    assert_string_equal(r.buf, "abcdefghij");
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.overlap_conflict, 1);
    assert_int_equal(s.overlap_conflicts, 1);
    /* push the first bytes out of the history: then they cannot be compared */
    char big[REASM_HIST_BYTES + 1];
    memset(big, 'z', REASM_HIST_BYTES);
    big[REASM_HIST_BYTES] = 0;
    push(ctx, &s, &r, 11, 0, big);
    push(ctx, &s, &r, 1, 0, "Q");
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.overlap_conflict, 1);
    push(ctx, &s, &r, 11 + REASM_HIST_BYTES - 1, 0, "Q"); /* the newest byte: compared */
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.overlap_conflict, 2);
    /* across the ring's end (offset REASM_HIST_BYTES is slot 0): both
     * runs compared, a difference only past the wrap counts */
    push(ctx, &s, &r, REASM_HIST_BYTES - 8, 0, "zzzzzzzzzzzzzzzz");
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.overlap_conflict, 2);
    push(ctx, &s, &r, REASM_HIST_BYTES - 8, 0, "zzzzzzzzzzzzzzzY");
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.overlap_conflict, 3);
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
}

/* reasm_stream_no_history (a decrypted TLS direction): bytes delivered
 * before it stay in the history and are still compared; bytes delivered
 * after it are not kept, so their retransmissions are not compared; the
 * first copy is still the one delivered. */
static void test_no_history(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    push(ctx, &s, &r, 0, REASM_SYN, NULL);
    push(ctx, &s, &r, 1, 0, "hello"); /* the clear-text handshake, say */
    reasm_stream_no_history(&s);
    assert_true(s.flags & REASM_ST_NOHIST);
    push(ctx, &s, &r, 6, 0, "world");
    push(ctx, &s, &r, 6, 0, "WORLD"); /* not in the history: not compared */
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.overlap_conflict, 0);
    push(ctx, &s, &r, 1, 0, "HELLO"); /* kept from before: compared */
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.overlap_conflict, 1);
    push(ctx, &s, &r, 11, 0, "!");
    assert_string_equal(r.buf, "helloworld!");
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
}

/* A stream created after its SYN went by, whose first segment arrives
 * out of order: reasm_stream_start bases it at ISN+1. */
static void test_stream_start(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    reasm_stream_start(&s, 101);
    push(ctx, &s, &r, 104, 0, "def");
    push(ctx, &s, &r, 101, 0, "abc");
    assert_string_equal(r.buf, "abcdef");
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
}

/* Queued data wins over later different bytes (first wins). */
static void test_overlap_first_wins(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    push(ctx, &s, &r, 0, REASM_SYN, NULL);
    push(ctx, &s, &r, 5, 0, "EFG");     /* 5..7 */
    push(ctx, &s, &r, 3, 0, "cdXYZhi"); /* 3..9: 5..7 conflict -> keep EFG */
    push(ctx, &s, &r, 12, 0, "lm");     /* 12..13 */
    push(ctx, &s, &r, 10, 0, "jkLMn");  /* 10..14: fills 10,11 and 14 */
    push(ctx, &s, &r, 1, 0, "ab");
    assert_string_equal(r.buf, "abcdEFGhijklmn");
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.overlaps, 2);
    assert_int_equal(st.overlap_diff, 2);
    assert_int_equal(st.bytes_buffered, 0);
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
}

/* A hole followed by more queued data than the per-stream limit is skipped. */
static void test_gap_queue_limit(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_ctx_set_ooo_limit(ctx, 0, 3);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    push(ctx, &s, &r, 0, REASM_SYN, NULL);
    push(ctx, &s, &r, 1, 0, "aa");
    /* bytes 3..4 lost */
    push(ctx, &s, &r, 5, 0, "cc");
    push(ctx, &s, &r, 7, 0, "dd");
    push(ctx, &s, &r, 9, 0, "ee");
    assert_string_equal(r.buf, "aa");
    push(ctx, &s, &r, 11, 0, "ff"); /* queue full: skip the hole */
    assert_string_equal(r.buf, "aa[GAP 2]ccddeeff");
    push(ctx, &s, &r, 13, 0, "gg");
    push(ctx, &s, &r, 3, 0, "bb"); /* the lost bytes arrive late: dropped */
    assert_string_equal(r.buf, "aa[GAP 2]ccddeeffgg");
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.gaps, 1);
    assert_int_equal(st.gap_bytes, 2);
    assert_int_equal(st.ooo_limit_skips, 1);
    assert_int_equal(st.retransmits, 1);
    assert_int_equal(st.bytes_buffered, 0);
    assert_int_equal(s.gaps, 1);
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
}

/* Peer ACK past a hole: the bytes were sent but not captured. */
static void test_gap_ack_and_fin(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    push(ctx, &s, &r, 10, REASM_SYN, NULL);
    push(ctx, &s, &r, 11, 0, "abc");
    push(ctx, &s, &r, 17, REASM_FIN, "xyz"); /* 14..16 lost, FIN at 20 */
    assert_string_equal(r.buf, "abc");       /* a FIN alone does not skip */
    reasm_ack(ctx, &s, 14, rec_cb, &r);      /* nothing new acknowledged */
    assert_string_equal(r.buf, "abc");
    reasm_ack(ctx, &s, 21, rec_cb, &r); /* FIN acknowledged */
    assert_string_equal(r.buf, "abc[GAP 3]xyz[END]");
    assert_int_equal(r.ends, 1);
    reasm_stream_close(ctx, &s, rec_cb, &r); /* idempotent */
    assert_int_equal(r.ends, 1);
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
}

static void test_gap_on_close_and_rst(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    push(ctx, &s, &r, 0, REASM_SYN, NULL);
    push(ctx, &s, &r, 1, 0, "ab");
    push(ctx, &s, &r, 5, 0, "ef");
    push(ctx, &s, &r, 9, REASM_FIN, "ij"); /* FIN at 11 */
    reasm_stream_close(ctx, &s, rec_cb, &r);
    assert_string_equal(r.buf, "ab[GAP 2]ef[GAP 2]ij[END]");

    rec r2 = {0};
    reasm_stream s2;
    reasm_stream_init(&s2);
    push(ctx, &s2, &r2, 0, REASM_SYN, NULL);
    push(ctx, &s2, &r2, 1, 0, "ab");
    push(ctx, &s2, &r2, 6, 0, "fg");
    push(ctx, &s2, &r2, 8, REASM_RST, NULL);
    assert_string_equal(r2.buf, "ab[GAP 3]fg[END]");
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.gaps, 3);
    assert_int_equal(st.gap_bytes, 7);
    assert_int_equal(st.bytes_buffered, 0);
    reasm_stream_free(ctx, &s);
    reasm_stream_free(ctx, &s2);
    reasm_ctx_free(ctx);
}

/* Sequence numbers crossing 2^32, in order and reordered. */
static void test_wraparound(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    uint32_t isn = 0xfffffff9u; /* data starts at 0xfffffffa */
    push(ctx, &s, &r, isn, REASM_SYN, NULL);
    push(ctx, &s, &r, 0x00000002u, 0, "ijk");  /* after the wrap */
    push(ctx, &s, &r, 0xfffffffeu, 0, "efgh"); /* spans the wrap: fe ff 00 01 */
    push(ctx, &s, &r, 0xfffffffau, 0, "abcd");
    push(ctx, &s, &r, 0xfffffffcu, 0, "cd"); /* old */
    push(ctx, &s, &r, 0x00000005u, REASM_FIN, "l");
    assert_string_equal(r.buf, "abcdefghijkl[END]");
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.retransmits, 1);
    assert_int_equal(st.bytes_buffered, 0);

    /* A gap across the wrap. */
    rec r2 = {0};
    reasm_stream s2;
    reasm_stream_init(&s2);
    push(ctx, &s2, &r2, 0xfffffff0u, 0, "ab"); /* midstream */
    push(ctx, &s2, &r2, 0x00000010u, 0, "zz");
    reasm_stream_close(ctx, &s2, rec_cb, &r2);
    assert_string_equal(r2.buf, "ab[GAP 30]zz[END]");
    reasm_stream_free(ctx, &s);
    reasm_stream_free(ctx, &s2);
    reasm_ctx_free(ctx);
}

static void test_depth(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 10);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    push(ctx, &s, &r, 0, REASM_SYN, NULL);
    push(ctx, &s, &r, 1, 0, "0123456");
    push(ctx, &s, &r, 20, 0, "queued"); /* queued, then freed at depth */
    push(ctx, &s, &r, 8, 0, "789abc");
    assert_string_equal(r.buf, "0123456789[DEPTH]");
    push(ctx, &s, &r, 14, 0, "def");
    push(ctx, &s, &r, 17, REASM_FIN, "gh");
    assert_string_equal(r.buf, "0123456789[DEPTH][END]");
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.depth_reached, 1);
    assert_int_equal(st.depth_bytes, 3 + 3 + 2);
    assert_int_equal(st.bytes_delivered, 10);
    assert_int_equal(st.bytes_buffered, 0);
    assert_int_equal(s.depth_bytes, 8);
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
}

/* Two streams share a small memcap: the second cannot queue, so it skips
 * its hole instead of stalling; the counters show it. */
static void test_memcap(void **state)
{
    (void)state;
    size_t cap = 2 * (10 + REASM_SEG_OVERHEAD);
    reasm_ctx *ctx = reasm_ctx_new(cap, 0);
    reasm_stream a, b;
    rec ra = {0}, rb = {0};
    reasm_stream_init(&a);
    reasm_stream_init(&b);
    push(ctx, &a, &ra, 0, REASM_SYN, NULL);
    push(ctx, &b, &rb, 0, REASM_SYN, NULL);
    push(ctx, &a, &ra, 11, 0, "AAAAAAAAAA");
    push(ctx, &a, &ra, 21, 0, "BBBBBBBBBB");
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.bytes_buffered, cap);
    assert_int_equal(st.bytes_peak, cap);
    assert_int_equal(st.memcap_drops, 0);
    push(ctx, &b, &rb, 1, 0, "xx");
    push(ctx, &b, &rb, 5, 0, "yy"); /* cannot queue: delivered after a gap */
    assert_string_equal(rb.buf, "xx[GAP 2]yy");
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.memcap_drops, 1);
    assert_int_equal(st.bytes_buffered, cap);
    /* Stream a hits the cap too: it flushes its own queue. */
    push(ctx, &a, &ra, 41, 0, "C");
    assert_string_equal(ra.buf, "[GAP 10]AAAAAAAAAABBBBBBBBBB[GAP 10]C");
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.memcap_drops, 2);
    assert_int_equal(st.bytes_buffered, 0);
    assert_int_equal(st.bytes_peak, cap);
    assert_int_equal(st.gaps, 3);
    reasm_stream_free(ctx, &a);
    reasm_stream_free(ctx, &b);
    reasm_stream_free(ctx, &a);
    reasm_stream_free(ctx, &b);
    reasm_ctx_free(ctx);
}

static void test_midstream(void **state)
{
    (void)state;
    reasm_ctx *ctx = reasm_ctx_new(0, 0);
    reasm_stream s;
    rec r = {0};
    reasm_stream_init(&s);
    push(ctx, &s, &r, 5000, 0, "middle ");
    assert_true(s.flags & REASM_ST_MIDSTREAM);
    push(ctx, &s, &r, 4990, 0, "earlier"); /* before the base: old */
    push(ctx, &s, &r, 5007, 0, "part");
    assert_string_equal(r.buf, "middle part");
    /* Free with data queued: accounting returns to zero. */
    push(ctx, &s, &r, 6000, 0, "far");
    reasm_stats st;
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.segs_buffered, 1);
    reasm_stream_free(ctx, &s);
    reasm_ctx_stats(ctx, &st);
    assert_int_equal(st.segs_buffered, 0);
    assert_int_equal(st.bytes_buffered, 0);
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
}

/* Every permutation-like shuffle of 8 one-byte-overlapping segments
 * reassembles to the same stream. */
static void test_shuffles(void **state)
{
    (void)state;
    const char *text = "the quick brown fox jumps over the lazy dog";
    size_t tl = strlen(text);
    for (unsigned seed = 1; seed < 200; seed++) {
        reasm_ctx *ctx = reasm_ctx_new(0, 0);
        reasm_stream s;
        rec r = {0};
        reasm_stream_init(&s);
        reasm_push(ctx, &s, 0x7ffffff0u, REASM_SYN, NULL, 0, rec_cb, &r);
        uint32_t base = 0x7ffffff1u;
        size_t order[16], n = 0;
        for (size_t off = 0; off < tl; off += 5) order[n++] = off;
        unsigned x = seed;
        for (size_t i = n - 1; i > 0; i--) {
            x = x * 1103515245u + 12345u;
            size_t j = (x >> 16) % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (size_t i = 0; i < n; i++) {
            size_t off = order[i], len = off + 7 <= tl ? 7 : tl - off; /* overlap by 2 */
            reasm_push(ctx, &s, base + (uint32_t)off, 0, (const uint8_t *)text + off, len, rec_cb,
                       &r);
        }
        assert_string_equal(r.buf, text);
        reasm_stats st;
        reasm_ctx_stats(ctx, &st);
        assert_int_equal(st.bytes_buffered, 0);
        assert_int_equal(st.overlap_diff, 0);
        reasm_stream_free(ctx, &s);
        reasm_ctx_free(ctx);
    }
}

/* Random segmentation, reordering, duplication and loss: every delivered
 * byte sits at the right stream offset (offset = data + gap bytes so far),
 * and the queue is empty after close. */
typedef struct model {
    const uint8_t *orig;
    size_t off;
    int ends;
} model;

static void model_cb(void *ud, reasm_event ev, const uint8_t *data, size_t len)
{
    model *m = ud;
    if (ev == REASM_DATA) {
        assert_memory_equal(data, m->orig + m->off, len);
        m->off += len;
    } else if (ev == REASM_GAP) {
        m->off += len;
    } else if (ev == REASM_END) {
        m->ends++;
    }
}

static void test_random_model(void **state)
{
    (void)state;
    enum { LEN = 6000, NSEG = 400 };
    static uint8_t orig[LEN];
    unsigned x = 12345;
    for (size_t i = 0; i < LEN; i++) orig[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 24);
    for (unsigned round = 0; round < 60; round++) {
        reasm_ctx *ctx = reasm_ctx_new(round % 3 == 0 ? 4096 : 0, round % 5 == 0 ? 3000 : 0);
        reasm_ctx_set_ooo_limit(ctx, round % 2 ? 2000 : 0, round % 4 == 1 ? 8 : 0);
        reasm_stream s;
        reasm_stream_init(&s);
        model m = {orig, 0, 0};
        uint32_t isn = 0xffffe000u + round * 97u; /* crosses 2^32 */
        reasm_push(ctx, &s, isn, REASM_SYN, NULL, 0, model_cb, &m);
        for (unsigned k = 0; k < NSEG; k++) {
            x = x * 1103515245u + 12345u;
            size_t off = (x >> 8) % LEN;
            x = x * 1103515245u + 12345u;
            size_t len = 1 + (x >> 8) % 200;
            if (off + len > LEN) len = LEN - off;
            /* bias towards in-order progress */
            if (k % 3 == 0 && m.off < LEN) {
                off = m.off;
                len = LEN - off < 150 ? LEN - off : 150;
            }
            reasm_push(ctx, &s, isn + 1 + (uint32_t)off, 0, orig + off, len, model_cb, &m);
            if (k % 50 == 49) reasm_ack(ctx, &s, isn + 1 + (uint32_t)(off / 2), model_cb, &m);
        }
        reasm_stream_close(ctx, &s, model_cb, &m);
        assert_int_equal(m.ends, 1);
        reasm_stats st;
        reasm_ctx_stats(ctx, &st);
        assert_int_equal(st.bytes_buffered, 0);
        assert_int_equal(st.segs_buffered, 0);
        if (round % 3 == 0) assert_true(st.bytes_peak <= 4096);
        reasm_stream_free(ctx, &s);
        reasm_ctx_free(ctx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_syn_fin),
        cmocka_unit_test(test_reorder),
        cmocka_unit_test(test_retransmission_and_partial),
        cmocka_unit_test(test_overlap_first_wins),
        cmocka_unit_test(test_stream_start),
        cmocka_unit_test(test_overlap_conflict_history),
        cmocka_unit_test(test_no_history),
        cmocka_unit_test(test_gap_queue_limit),
        cmocka_unit_test(test_gap_ack_and_fin),
        cmocka_unit_test(test_gap_on_close_and_rst),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_memcap),
        cmocka_unit_test(test_midstream),
        cmocka_unit_test(test_shuffles),
        cmocka_unit_test(test_random_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
