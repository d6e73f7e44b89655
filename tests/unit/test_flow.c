/*
 * test_flow.c -- unit tests for the flow table (flow.c).
 *
 * Packets are dec_pkt structs built by hand (no decoder).  Time is in
 * microseconds; S(x) converts seconds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

#define S(x) ((uint64_t)(x)*1000000u)
#define TCP  6
#define UDP  17
#define ICMP 1

/* ---- helpers --------------------------------------------------------- */

static dec_pkt mk(uint8_t proto, const char *src, uint16_t sp, const char *dst, uint16_t dp,
                  uint8_t flags, uint32_t seq, uint32_t plen)
{
    dec_pkt p;
    memset(&p, 0, sizeof(p));
    int v6 = strchr(src, ':') != NULL;
    p.ip_v = v6 ? 6 : 4;
    assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, src, p.src), 1);
    assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, dst, p.dst), 1);
    p.proto = proto;
    p.sport = sp;
    p.dport = dp;
    p.tcp_flags = flags;
    p.seq = seq;
    p.payload_len = plen;
    p.payload_wire = plen;
    return p;
}

/* Reversed copy of a packet (reply direction). */
static dec_pkt rev(const dec_pkt *q, uint8_t flags, uint32_t seq, uint32_t plen)
{
    dec_pkt p = *q;
    memcpy(p.src, q->dst, 16);
    memcpy(p.dst, q->src, 16);
    p.sport = q->dport;
    p.dport = q->sport;
    p.tcp_flags = flags;
    p.seq = seq;
    p.payload_len = plen;
    p.payload_wire = plen;
    return p;
}

#define MAXREC 64
typedef struct rec {
    int n;
    int by_reason[4];
    flow_end_reason why[MAXREC];
    uint64_t id[MAXREC], first_ts[MAXREC];
    uint16_t cport[MAXREC];
    uint8_t state[MAXREC];
} rec;

static void on_end(flow *f, flow_end_reason why, void *ud)
{
    rec *r = ud;
    r->by_reason[why]++;
    if (r->n < MAXREC) {
        r->why[r->n] = why;
        r->id[r->n] = f->id;
        r->first_ts[r->n] = f->first_ts;
        r->cport[r->n] = f->cport;
        r->state[r->n] = (uint8_t)f->state;
    }
    r->n++;
}

static flow_table *mk_table(rec *r, uint64_t max_flows, size_t ext)
{
    flow_config c;
    memset(&c, 0, sizeof(c));
    c.max_flows = max_flows;
    c.timeout_us[FLOW_TC_TCP] = (uint32_t)S(60);
    c.timeout_us[FLOW_TC_TCP_CLOSED] = (uint32_t)S(10);
    c.timeout_us[FLOW_TC_UDP] = (uint32_t)S(5);
    c.timeout_us[FLOW_TC_OTHER] = (uint32_t)S(7);
    c.ext_size = ext;
    c.on_end = on_end;
    c.ud = r;
    flow_table *t = flow_table_new(&c);
    assert_non_null(t);
    return t;
}

static flow *feed(flow_table *t, const dec_pkt *p, uint64_t ts, uint32_t wire, int *dir,
                  bool *created)
{
    int d = -1;
    bool c = false;
    flow *f = flow_packet(t, p, ts, wire, &d, &c);
    assert_non_null(f);
    if (dir) *dir = d;
    if (created) *created = c;
    return f;
}

static flow_counters counters(flow_table *t)
{
    flow_counters c;
    flow_table_counters(t, &c);
    return c;
}

/* ---- key and orientation -------------------------------------------- */

static void test_both_directions(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 100, 0);
    dec_pkt syn = mk(TCP, "10.0.0.1", 40000, "93.184.216.34", 443, TH_SYN, 100, 0);
    dec_pkt sa = rev(&syn, TH_SYN | TH_ACK, 500, 0);
    dec_pkt ack = mk(TCP, "10.0.0.1", 40000, "93.184.216.34", 443, TH_ACK, 101, 0);
    int d;
    bool c;
    flow *f = feed(t, &syn, S(1), 60, &d, &c);
    assert_true(c);
    assert_int_equal(d, FLOW_TOSERVER);
    flow *g = feed(t, &sa, S(1) + 10, 60, &d, &c);
    assert_ptr_equal(f, g);
    assert_false(c);
    assert_int_equal(d, FLOW_TOCLIENT);
    g = feed(t, &ack, S(1) + 20, 54, &d, &c);
    assert_ptr_equal(f, g);
    assert_int_equal(d, FLOW_TOSERVER);
    /* a different source port is a different flow */
    dec_pkt other = mk(TCP, "10.0.0.1", 40001, "93.184.216.34", 443, TH_SYN, 1, 0);
    g = feed(t, &other, S(2), 60, &d, &c);
    assert_ptr_not_equal(f, g);
    assert_true(c);
    /* ... and so is UDP on the same ports */
    dec_pkt u = mk(UDP, "10.0.0.1", 40000, "93.184.216.34", 443, 0, 0, 10);
    g = feed(t, &u, S(2), 60, &d, &c);
    assert_ptr_not_equal(f, g);
    assert_true(c);
    assert_int_equal(counters(t).created, 3);
    assert_int_equal(counters(t).active, 3);
    flow_table_free(t);
    assert_int_equal(r.n, 3);
}

static void test_orientation(void **state)
{
    static const struct {
        const char *name;
        uint8_t proto, flags;
        uint32_t plen;
        bool client_is_src;
    } cases[] = {
        {"syn", TCP, TH_SYN, 0, true},
        {"syn+ack first", TCP, TH_SYN | TH_ACK, 0, false},
        {"midstream ack", TCP, TH_ACK, 0, true},
        {"midstream data", TCP, TH_ACK | TH_PUSH, 100, true},
        {"midstream fin", TCP, TH_FIN | TH_ACK, 0, true},
        {"udp", UDP, 0, 20, true},
        {"icmp", ICMP, 0, 20, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rec r = {0};
        flow_table *t = mk_table(&r, 10, 0);
        /* sender is the "server-looking" side to make sure orientation
         * does not depend on port numbers */
        dec_pkt p = mk(cases[i].proto, "192.0.2.7", 443, "10.1.2.3", 51000, cases[i].flags, 7,
                       cases[i].plen);
        int d;
        flow *f = feed(t, &p, S(1), 100, &d, NULL);
        uint8_t src[4] = {192, 0, 2, 7}, dst[4] = {10, 1, 2, 3};
        if (cases[i].client_is_src) {
            assert_int_equal(d, FLOW_TOSERVER);
            assert_memory_equal(f->cli, src, 4);
            assert_memory_equal(f->srv, dst, 4);
            if (cases[i].proto != ICMP) {
                assert_int_equal(f->cport, 443);
                assert_int_equal(f->sport, 51000);
            }
            assert_int_equal(f->dir[FLOW_TOSERVER].pkts, 1);
        } else {
            assert_int_equal(d, FLOW_TOCLIENT);
            assert_memory_equal(f->cli, dst, 4);
            assert_memory_equal(f->srv, src, 4);
            assert_int_equal(f->cport, 51000);
            assert_int_equal(f->sport, 443);
            assert_int_equal(f->dir[FLOW_TOCLIENT].pkts, 1);
            assert_int_equal(f->tcp_flags_tc, TH_SYN | TH_ACK);
            assert_int_equal(f->tcp_flags_ts, 0);
        }
        /* the reply comes back in the other direction */
        dec_pkt q = rev(&p, TH_ACK, 9, 0);
        feed(t, &q, S(2), 60, &d, NULL);
        assert_int_equal(d, cases[i].client_is_src ? FLOW_TOCLIENT : FLOW_TOSERVER);
        flow_table_free(t);
        assert_int_equal(r.n, 1);
    }
}

static void test_icmp_echo_one_flow(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    dec_pkt req = mk(ICMP, "10.0.0.1", 8, "10.0.0.2", 0, 0, 0, 56); /* echo request */
    dec_pkt rep = mk(ICMP, "10.0.0.2", 0, "10.0.0.1", 0, 0, 0, 56); /* echo reply */
    int d;
    flow *f = feed(t, &req, S(1), 98, &d, NULL);
    flow *g = feed(t, &rep, S(1) + 5, 98, &d, NULL);
    assert_ptr_equal(f, g);
    assert_int_equal(d, FLOW_TOCLIENT);
    assert_int_equal(f->cport, 8); /* first packet's ICMP type */
    assert_int_equal(f->tclass, FLOW_TC_OTHER);
    assert_int_equal(f->state, FLOW_STATE_ESTABLISHED);
    flow_table_free(t);
}

/* ---- accounting ------------------------------------------------------ */

static void test_dir_counters(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    dec_pkt q = mk(UDP, "10.0.0.1", 5353, "10.0.0.2", 53, 0, 0, 30);
    dec_pkt a = rev(&q, 0, 0, 120);
    a.payload_len = 100; /* snaplen cut the answer: captured < wire */
    flow *f = feed(t, &q, S(1), 72, NULL, NULL);
    feed(t, &a, S(1) + 1, 162, NULL, NULL);
    feed(t, &q, S(1) + 2, 72, NULL, NULL);
    assert_int_equal(f->dir[FLOW_TOSERVER].pkts, 2);
    assert_int_equal(f->dir[FLOW_TOSERVER].bytes, 144);
    assert_int_equal(f->dir[FLOW_TOSERVER].payload_bytes, 60);
    assert_int_equal(f->dir[FLOW_TOCLIENT].pkts, 1);
    assert_int_equal(f->dir[FLOW_TOCLIENT].bytes, 162);
    assert_int_equal(f->dir[FLOW_TOCLIENT].payload_bytes, 100);
    assert_int_equal(f->first_ts, S(1));
    assert_int_equal(f->last_ts, S(1) + 2);
    assert_int_equal(f->dir[0].seq_bytes, 0); /* UDP: no sequence accounting */
    flow_table_free(t);
}

static void test_seq_gap_and_retransmission(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    dec_pkt syn = mk(TCP, "10.0.0.1", 40000, "10.9.9.9", 443, TH_SYN, 1000, 0);
    flow *f = feed(t, &syn, S(1), 60, NULL, NULL);
    flow_dir *d = &f->dir[FLOW_TOSERVER];
    assert_true(d->seq_init);
    assert_int_equal(d->seq_base, 1001);
    assert_int_equal(d->seq_high, 1001);
    dec_pkt seg = syn;
    seg.tcp_flags = TH_ACK;
    static const struct {
        uint32_t seq, len;
        uint64_t seq_bytes, payload;
    } steps[] = {
        {1001, 100, 100, 100}, /* in order */
        {1201, 100, 300, 200}, /* 1101..1200 lost: no ACKs seen, within the fixed bound */
        {1201, 100, 300, 300}, /* retransmission: not double counted */
        {1001, 100, 300, 400}, /* old retransmission */
        {1251, 100, 350, 500}, /* partial overlap: only the new 50 bytes */
        {1351, 0, 350, 500},   /* pure ACK */
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        seg.seq = steps[i].seq;
        seg.payload_len = seg.payload_wire = steps[i].len;
        feed(t, &seg, S(2) + i, 54 + steps[i].len, NULL, NULL);
        assert_int_equal(d->seq_bytes, steps[i].seq_bytes);
        assert_int_equal(d->payload_bytes, steps[i].payload);
    }
    assert_int_equal(d->seq_high, 1351);
    /* a jump beyond the fixed bound is implausible: only its own seen bytes */
    flow_counters fc;
    seg.seq = 1351u + FLOW_SEQ_FIXED_BOUND + 1;
    seg.payload_len = seg.payload_wire = 10;
    feed(t, &seg, S(3), 64, NULL, NULL);
    assert_int_equal(d->seq_bytes, 360);
    flow_table_counters(t, &fc);
    assert_int_equal(fc.seq_implausible, 1);
    /* data behind it still counts once as it arrives, never twice */
    seg.seq = 1351;
    seg.payload_len = seg.payload_wire = 100;
    feed(t, &seg, S(3), 154, NULL, NULL);
    feed(t, &seg, S(3), 154, NULL, NULL);
    assert_int_equal(d->seq_bytes, 460);
    /* the other direction is independent; payload_wire counts, not captured */
    dec_pkt resp = rev(&syn, TH_ACK, 77, 1400);
    resp.payload_len = 200;
    resp.ack = 1451;
    feed(t, &resp, S(3), 1454, NULL, NULL);
    assert_int_equal(d->seq_bytes, 460); /* the implausible hole is never credited by an ACK */
    assert_int_equal(f->dir[FLOW_TOCLIENT].seq_base, 77);
    assert_int_equal(f->dir[FLOW_TOCLIENT].seq_bytes, 1400);
    assert_int_equal(f->dir[FLOW_TOCLIENT].payload_bytes, 200);
    flow_table_free(t);
}

static void test_seq_wraparound(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    dec_pkt syn = mk(TCP, "10.0.0.1", 40000, "10.9.9.9", 443, TH_SYN, 0xFFFFFF00u, 0);
    flow *f = feed(t, &syn, S(1), 60, NULL, NULL);
    flow_dir *d = &f->dir[FLOW_TOSERVER];
    dec_pkt seg = syn;
    seg.tcp_flags = TH_ACK;
    seg.seq = 0xFFFFFF01u;
    seg.payload_len = seg.payload_wire = 0x200; /* ends at 0x101 after wrapping */
    feed(t, &seg, S(2), 600, NULL, NULL);
    assert_int_equal(d->seq_high, 0x101);
    assert_int_equal(d->seq_bytes, 0x200);
    seg.seq = 0xFFFFFF81u; /* retransmission straddling the wrap */
    seg.payload_len = seg.payload_wire = 0x100;
    feed(t, &seg, S(3), 300, NULL, NULL);
    assert_int_equal(d->seq_bytes, 0x200);
    seg.seq = 0x201; /* gap of 0x100 after the wrap, then 100 bytes */
    seg.payload_len = seg.payload_wire = 100;
    feed(t, &seg, S(4), 154, NULL, NULL);
    assert_int_equal(d->seq_bytes, 0x200 + 0x100 + 100);
    flow_table_free(t);
}

/* A handshake with window scaling (shift 'shift' both ways; DEC_WSCALE_NONE:
 * no option), client ISN 1000, server ISN 5000, server window 'win'
 * (unscaled; 65535 << 7 is 8 MiB). */
static flow *handshake_w(flow_table *t, dec_pkt *c, dec_pkt *s, uint8_t shift, uint16_t win)
{
    *c = mk(TCP, "10.0.0.1", 40000, "203.0.113.9", 443, TH_SYN, 1000, 0);
    c->tcp_wscale = shift;
    c->tcp_win = 64240;
    *s = rev(c, TH_SYN | TH_ACK, 5000, 0);
    s->ack = 1001;
    s->tcp_win = win;
    flow *f = feed(t, c, S(1), 60, NULL, NULL);
    feed(t, s, S(1), 60, NULL, NULL);
    c->tcp_flags = TH_ACK;
    c->seq = 1001;
    c->ack = 5001;
    c->tcp_wscale = DEC_WSCALE_NONE;
    c->tcp_win = 502;
    feed(t, c, S(1), 54, NULL, NULL);
    s->tcp_flags = TH_ACK;
    s->seq = 5001;
    s->tcp_wscale = DEC_WSCALE_NONE;
    return f;
}

static flow *handshake(flow_table *t, dec_pkt *c, dec_pkt *s)
{
    return handshake_w(t, c, s, 7, 65535);
}

static void client_seg(flow_table *t, dec_pkt *c, uint32_t seq, uint32_t len, uint64_t ts)
{
    c->seq = seq;
    c->payload_len = c->payload_wire = len;
    feed(t, c, ts, 54 + len, NULL, NULL);
}

static void server_ack(flow_table *t, dec_pkt *s, uint32_t ack, uint64_t ts)
{
    s->ack = ack;
    s->payload_len = s->payload_wire = 0;
    feed(t, s, ts, 54, NULL, NULL);
}

/* Capture loss of many segments is still credited -- the reason seq_bytes
 * exists: at once when the server's window allowed the bytes to be sent,
 * else when the server acknowledges them, and no sooner. */
static void test_seq_loss_acked(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    dec_pkt c, s;
    /* a 2000-byte window: the ACKs that opened it further were lost too */
    flow *f = handshake_w(t, &c, &s, DEC_WSCALE_NONE, 2000);
    flow_dir *d = &f->dir[FLOW_TOSERVER];
    /* ten 1000-byte segments; the capture lost 3..8 */
    for (uint32_t i = 0; i < 10; i++)
        if (i < 2 || i > 7) client_seg(t, &c, 1001 + i * 1000, 1000, S(2));
    assert_int_equal(d->seq_bytes, 4000);
    assert_int_equal(d->n_holes, 1);
    server_ack(t, &s, 3001, S(2)); /* acknowledges only what was seen */
    assert_int_equal(d->seq_bytes, 4000);
    server_ack(t, &s, 6001, S(2));
    assert_int_equal(d->seq_bytes, 7000);
    server_ack(t, &s, 11001, S(2));
    assert_int_equal(d->seq_bytes, 10000);
    assert_int_equal(d->n_holes, 0);
    /* tail loss: a bare FIN 3000 bytes on, inside the window just given */
    c.tcp_flags = TH_FIN | TH_ACK;
    client_seg(t, &c, 12001, 0, S(2));
    assert_int_equal(d->seq_bytes, 11000);
    /* the ACK of the FIN is not a byte */
    server_ack(t, &s, 12002, S(2));
    assert_int_equal(d->seq_bytes, 11000);
    flow_counters fc;
    flow_table_counters(t, &fc);
    assert_int_equal(fc.seq_implausible, 0);
    flow_table_free(t);
}

/* With window scaling seen, the server's last ACK plus its scaled window
 * (8 MiB) explains a loss larger than the fixed bound, at once. */
static void test_seq_loss_window(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    dec_pkt c, s;
    flow *f = handshake(t, &c, &s);
    flow_dir *d = &f->dir[FLOW_TOSERVER];
    server_ack(t, &s, 1001, S(2)); /* a window update: 65535 << 7 */
    client_seg(t, &c, 1001, 1000, S(2));
    client_seg(t, &c, 2001 + (4u << 20), 1000, S(3));
    assert_int_equal(d->seq_bytes, 2000 + (4u << 20));
    assert_int_equal(d->n_holes, 0);
    /* beyond the window but within the bound: a hole the ACK confirms */
    client_seg(t, &c, 3001 + (10u << 20), 1000, S(3));
    assert_int_equal(d->seq_bytes, 3000 + (4u << 20));
    assert_int_equal(d->n_holes, 1);
    server_ack(t, &s, 4001 + (10u << 20), S(3));
    assert_int_equal(d->seq_bytes, 3000 + (10u << 20));
    flow_counters fc;
    flow_table_counters(t, &fc);
    assert_int_equal(fc.seq_implausible, 0);
    flow_table_free(t);
}

/* More holes than the list holds (heavy loss before the ACKs arrive): the
 * merged hole is credited by the ACK exactly, never with the seen bytes
 * inside it again. */
static void test_seq_holes_merged(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    dec_pkt c, s;
    flow *f = handshake_w(t, &c, &s, DEC_WSCALE_NONE, 1000);
    flow_dir *d = &f->dir[FLOW_TOSERVER];
    /* 19 segments, every other one lost: 9 holes */
    for (uint32_t i = 0; i < 19; i += 2) client_seg(t, &c, 1001 + i * 1000, 1000, S(2));
    assert_int_equal(d->seq_bytes, 10000);
    assert_int_equal(d->n_holes, FLOW_SEQ_HOLES);
    /* a retransmission of a seen segment inside the merged hole adds nothing */
    client_seg(t, &c, 1001 + 16 * 1000, 1000, S(2));
    assert_int_equal(d->seq_bytes, 10000);
    /* partial: late, never twice -- at most [1001, 13001) plus the three
     * segments seen beyond it */
    server_ack(t, &s, 1001 + 12 * 1000, S(2));
    assert_true(d->seq_bytes >= 13000 && d->seq_bytes <= 15000);
    server_ack(t, &s, 1001 + 19 * 1000, S(2));
    assert_int_equal(d->seq_bytes, 19000);
    assert_int_equal(d->n_holes, 0);
    flow_counters fc;
    flow_table_counters(t, &fc);
    assert_int_equal(fc.seq_holes_merged, 9 - FLOW_SEQ_HOLES);
    flow_table_free(t);
}

/* A new ISN without its SYN (the second connection's SYN not captured):
 * the jump is not credited even though the server acknowledges the new
 * sequence space. */
static void test_seq_jumped_isn(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    dec_pkt c, s;
    flow *f = handshake(t, &c, &s);
    flow_dir *d = &f->dir[FLOW_TOSERVER];
    client_seg(t, &c, 1001, 1000, S(2));
    server_ack(t, &s, 2001, S(2));
    uint32_t isn2 = 1001u + 0x60000000u;
    client_seg(t, &c, isn2, 1000, S(3));
    server_ack(t, &s, isn2 + 1000, S(3));
    client_seg(t, &c, isn2 + 1000, 1000, S(3));
    server_ack(t, &s, isn2 + 2000, S(3));
    assert_int_equal(d->seq_bytes, 3000);
    assert_int_equal(d->payload_bytes, 3000);
    flow_counters fc;
    flow_table_counters(t, &fc);
    assert_int_equal(fc.seq_implausible, 1);
    flow_table_free(t);
}

/* A bogus segment far ahead (within the bound, never acknowledged) adds
 * only its own bytes; the real data behind it is credited exactly once;
 * the hole it left is counted as unconfirmed when the flow ends. */
static void test_seq_bogus_ahead(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    /* picked up midstream: no SYNs, so the fixed bound applies */
    dec_pkt c = mk(TCP, "10.0.0.1", 40001, "203.0.113.9", 443, TH_ACK, 70000, 0);
    dec_pkt s = rev(&c, TH_ACK, 90000, 0);
    c.ack = 90000;
    flow *f = feed(t, &c, S(1), 54, NULL, NULL);
    server_ack(t, &s, 70000, S(1));
    flow_dir *d = &f->dir[FLOW_TOSERVER];
    client_seg(t, &c, 70000 + (512u << 10), 10, S(2)); /* bogus */
    assert_int_equal(d->seq_bytes, 10);
    for (uint32_t i = 0; i < 20; i++) {
        client_seg(t, &c, 70000 + i * 1000, 1000, S(2));
        client_seg(t, &c, 70000 + i * 1000, 1000, S(2)); /* retransmitted */
        server_ack(t, &s, 70000 + (i + 1) * 1000, S(2));
    }
    assert_int_equal(d->seq_bytes, 20010);
    /* a RST with a random sequence number credits nothing */
    c.tcp_flags = TH_RST | TH_ACK;
    client_seg(t, &c, 0x9abcdef0u, 0, S(3));
    assert_int_equal(d->seq_bytes, 20010);
    flow_counters fc;
    flow_table_counters(t, &fc);
    assert_int_equal(fc.seq_implausible, 0);
    flow_table_free(t);
    flow_table_counters(NULL, &fc);
    assert_int_equal(r.n, 1);
}

/* The unconfirmed counter, seen through a table that outlives the flow. */
static void test_seq_unconfirmed_counted(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    dec_pkt c, s;
    handshake_w(t, &c, &s, DEC_WSCALE_NONE, 1000);
    client_seg(t, &c, 1001, 1000, S(2));
    client_seg(t, &c, 3001, 1000, S(2)); /* 1000 lost, beyond the window, never acknowledged */
    server_ack(t, &s, 2001, S(2));
    flow_flush(t);
    flow_counters fc;
    flow_table_counters(t, &fc);
    assert_int_equal(fc.seq_unconfirmed, 1);
    assert_int_equal(r.n, 1);
    flow_table_free(t);
}

/* Port reuse: a SYN with a new ISN on a closed flow, or far outside an
 * open flow's sequence span, ends the old flow ("tcp_reuse") and starts
 * a new one; a retransmitted SYN or an in-window one does not. */
static void test_port_reuse(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    dec_pkt c, s;
    flow *f = handshake(t, &c, &s);
    uint64_t id1 = f->id;
    client_seg(t, &c, 1001, 5000, S(2));
    server_ack(t, &s, 6001, S(2));
    c.tcp_flags = TH_FIN | TH_ACK;
    client_seg(t, &c, 6001, 0, S(3));
    s.tcp_flags = TH_FIN | TH_ACK;
    server_ack(t, &s, 6002, S(3));
    assert_int_equal(f->state, FLOW_STATE_CLOSED);
    /* new connection 5 s later, ISN far from the old one */
    dec_pkt syn = mk(TCP, "10.0.0.1", 40000, "203.0.113.9", 443, TH_SYN, 0x70000000u, 0);
    bool created = false;
    int dir = -1;
    flow *g = feed(t, &syn, S(8), 60, &dir, &created);
    assert_true(created);
    assert_int_equal(dir, FLOW_TOSERVER);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.why[0], FLOW_END_REUSE);
    assert_int_equal(r.id[0], id1);
    assert_int_not_equal(g->id, id1);
    assert_int_equal(g->dir[FLOW_TOSERVER].pkts, 1);
    assert_int_equal(g->dir[FLOW_TOSERVER].seq_bytes, 0);
    assert_int_equal(g->state, FLOW_STATE_NEW);
    /* its retransmission is the same connection */
    g = feed(t, &syn, S(9), 60, NULL, &created);
    assert_false(created);
    assert_int_equal(g->dir[FLOW_TOSERVER].pkts, 2);
    /* an in-window SYN on an open flow is not a new connection */
    dec_pkt in = syn;
    in.seq = 0x70000000u + 100;
    g = feed(t, &in, S(9), 60, NULL, &created);
    assert_false(created);
    /* a SYN far outside the open flow's span is */
    dec_pkt far = syn;
    far.seq = 0x10000000u;
    g = feed(t, &far, S(10), 60, NULL, &created);
    assert_true(created);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.why[1], FLOW_END_REUSE);
    /* after a RST, the server side opening a connection back is reused
     * too, with the orientation of the new SYN */
    dec_pkt rst = far;
    rst.tcp_flags = TH_RST;
    feed(t, &rst, S(11), 54, NULL, NULL);
    dec_pkt back = rev(&far, TH_SYN, 123456, 0);
    g = feed(t, &back, S(12), 60, &dir, &created);
    assert_true(created);
    assert_int_equal(dir, FLOW_TOSERVER);
    assert_int_equal(g->cport, 443);
    flow_counters fc;
    flow_table_counters(t, &fc);
    assert_int_equal(fc.tcp_reuse, 3);
    assert_string_equal(flow_reason_name(FLOW_END_REUSE), "tcp_reuse");
    flow_table_free(t);
}

static void test_exchanges(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    dec_pkt c = mk(TCP, "10.0.0.1", 40000, "10.9.9.9", 443, TH_SYN, 0, 0);
    dec_pkt s = rev(&c, TH_SYN | TH_ACK, 5000, 0);
    flow *f = feed(t, &c, 1, 60, NULL, NULL);
    feed(t, &s, 2, 60, NULL, NULL);
    uint32_t cseq = 1, sseq = 5001;
    uint64_t ts = 3;
    c.tcp_flags = s.tcp_flags = TH_ACK;
    for (int ex = 0; ex < 3; ex++) {
        /* request in two segments, a pure ACK, response in three */
        for (int k = 0; k < 2; k++) {
            c.seq = cseq;
            c.payload_len = c.payload_wire = 700;
            cseq += 700;
            feed(t, &c, ts++, 754, NULL, NULL);
        }
        s.seq = sseq;
        s.payload_len = s.payload_wire = 0;
        feed(t, &s, ts++, 54, NULL, NULL);
        for (int k = 0; k < 3; k++) {
            s.seq = sseq;
            s.payload_len = s.payload_wire = 1400;
            sseq += 1400;
            feed(t, &s, ts++, 1454, NULL, NULL);
        }
        c.seq = cseq;
        c.payload_len = c.payload_wire = 0;
        feed(t, &c, ts++, 54, NULL, NULL);
        /* an idle keep-alive probe with one garbage byte (seq = next - 1)
         * is not a request */
        c.seq = cseq - 1;
        c.payload_len = c.payload_wire = 1;
        feed(t, &c, ts++, 55, NULL, NULL);
        assert_int_equal(f->exchanges, (uint32_t)ex + 1);
    }
    assert_int_equal(f->exchanges, 3);
    assert_int_equal(f->last_data_dir, FLOW_TOCLIENT);
    assert_int_equal(f->dir[FLOW_TOSERVER].seq_bytes, 3 * 1400);
    assert_int_equal(f->dir[FLOW_TOCLIENT].seq_bytes, 3 * 4200);

    /* TLS + HTTP/2 set-up is not a request: ClientHello (0x16), CCS +
     * Finished (0x14), a small SETTINGS ack; then one real request. */
    dec_pkt tc = mk(TCP, "10.0.0.2", 40001, "10.9.9.9", 443, TH_SYN, 0, 0);
    dec_pkt ts_ = rev(&tc, TH_SYN | TH_ACK, 9000, 0);
    flow *g = feed(t, &tc, ts++, 60, NULL, NULL);
    feed(t, &ts_, ts++, 60, NULL, NULL);
    tc.tcp_flags = ts_.tcp_flags = TH_ACK;
    static const uint8_t hs[1] = {0x16}, ccs[1] = {0x14}, app[1] = {0x17};
    const struct {
        const uint8_t *first;
        uint32_t len;
        uint32_t want;
    } bursts[] = {{hs, 300, 0}, {ccs, 80, 0}, {app, 31, 0}, {app, 500, 1}, {app, 60, 1}};
    uint32_t gseq = 1, hseq = 9001;
    for (size_t i = 0; i < sizeof(bursts) / sizeof(bursts[0]); i++) {
        tc.seq = gseq;
        tc.payload = bursts[i].first;
        tc.payload_len = tc.payload_wire = bursts[i].len;
        gseq += bursts[i].len;
        feed(t, &tc, ts++, 54 + bursts[i].len, NULL, NULL);
        /* the rest of a burst completes a small first segment */
        assert_int_equal(g->exchanges, bursts[i].want);
        ts_.seq = hseq;
        ts_.payload_len = ts_.payload_wire = 200;
        hseq += 200;
        feed(t, &ts_, ts++, 254, NULL, NULL);
    }
    /* a request whose first segment is small still counts once it grows */
    tc.seq = gseq;
    tc.payload = app;
    tc.payload_len = tc.payload_wire = 40;
    gseq += 40;
    feed(t, &tc, ts++, 94, NULL, NULL);
    assert_int_equal(g->exchanges, 1);
    tc.seq = gseq;
    tc.payload_len = tc.payload_wire = 900;
    gseq += 900;
    feed(t, &tc, ts++, 954, NULL, NULL);
    assert_int_equal(g->exchanges, 2);

    /* UDP: query, answer, query, answer -> 2 */
    dec_pkt q = mk(UDP, "10.0.0.1", 5000, "10.0.0.53", 53, 0, 0, 40);
    dec_pkt a = rev(&q, 0, 0, 80);
    dec_pkt e = q;
    e.payload_len = e.payload_wire = 0;
    flow *u = feed(t, &e, ts++, 42, NULL, NULL); /* empty datagram: no data */
    assert_int_equal(u->last_data_dir, 0xff);
    feed(t, &q, ts++, 82, NULL, NULL);
    feed(t, &q, ts++, 82, NULL, NULL);
    feed(t, &a, ts++, 122, NULL, NULL);
    feed(t, &q, ts++, 82, NULL, NULL);
    feed(t, &a, ts++, 122, NULL, NULL);
    assert_int_equal(u->exchanges, 2);
    /* server speaks first: no exchange until the client answers */
    dec_pkt b = mk(UDP, "10.0.0.1", 5001, "10.0.0.53", 53, 0, 0, 0);
    flow *v = feed(t, &b, ts++, 42, NULL, NULL);
    dec_pkt bs = rev(&b, 0, 0, 10);
    feed(t, &bs, ts++, 52, NULL, NULL);
    assert_int_equal(v->exchanges, 0);
    flow_table_free(t);
}

/* ---- state ----------------------------------------------------------- */

static void test_tcp_states(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 10, 0);
    /* handshake, data, FIN both ways */
    dec_pkt c = mk(TCP, "10.0.0.1", 40000, "10.9.9.9", 80, TH_SYN, 0, 0);
    flow *f = feed(t, &c, S(1), 60, NULL, NULL);
    assert_int_equal(f->state, FLOW_STATE_NEW);
    c.tcp_flags = TH_SYN; /* SYN retransmission stays NEW */
    feed(t, &c, S(2), 60, NULL, NULL);
    assert_int_equal(f->state, FLOW_STATE_NEW);
    dec_pkt s = rev(&c, TH_SYN | TH_ACK, 100, 0);
    feed(t, &s, S(2), 60, NULL, NULL);
    assert_int_equal(f->state, FLOW_STATE_ESTABLISHED);
    c.tcp_flags = TH_FIN | TH_ACK;
    c.seq = 1;
    feed(t, &c, S(3), 54, NULL, NULL);
    assert_int_equal(f->state, FLOW_STATE_ESTABLISHED);
    assert_true(f->dir[FLOW_TOSERVER].fin);
    assert_int_equal(f->tclass, FLOW_TC_TCP);
    s.tcp_flags = TH_FIN | TH_ACK;
    s.seq = 101;
    feed(t, &s, S(3), 54, NULL, NULL);
    assert_int_equal(f->state, FLOW_STATE_CLOSED);
    assert_int_equal(f->tclass, FLOW_TC_TCP_CLOSED);
    assert_int_equal(f->tcp_flags_ts, TH_SYN | TH_FIN | TH_ACK);
    assert_int_equal(f->tcp_flags_tc, TH_SYN | TH_FIN | TH_ACK);
    c.tcp_flags = TH_ACK; /* last ACK: still closed */
    feed(t, &c, S(3), 54, NULL, NULL);
    assert_int_equal(f->state, FLOW_STATE_CLOSED);

    /* refused: SYN answered by RST */
    dec_pkt c2 = mk(TCP, "10.0.0.1", 40001, "10.9.9.9", 81, TH_SYN, 0, 0);
    flow *g = feed(t, &c2, S(4), 60, NULL, NULL);
    dec_pkt rst = rev(&c2, TH_RST | TH_ACK, 0, 0);
    feed(t, &rst, S(4), 54, NULL, NULL);
    assert_int_equal(g->state, FLOW_STATE_CLOSED);
    assert_true(g->dir[FLOW_TOCLIENT].rst);
    assert_int_equal(g->tclass, FLOW_TC_TCP_CLOSED);

    /* midstream: client data stays NEW until the server is seen; client RST closes */
    dec_pkt m = mk(TCP, "10.0.0.1", 40002, "10.9.9.9", 443, TH_ACK | TH_PUSH, 5, 10);
    flow *h = feed(t, &m, S(5), 64, NULL, NULL);
    feed(t, &m, S(5), 64, NULL, NULL);
    assert_int_equal(h->state, FLOW_STATE_NEW);
    dec_pkt ms = rev(&m, TH_ACK, 9, 0);
    feed(t, &ms, S(5), 54, NULL, NULL);
    assert_int_equal(h->state, FLOW_STATE_ESTABLISHED);
    m.tcp_flags = TH_RST;
    feed(t, &m, S(6), 54, NULL, NULL);
    assert_int_equal(h->state, FLOW_STATE_CLOSED);

    /* UDP: established once both directions are seen */
    dec_pkt u = mk(UDP, "10.0.0.1", 1234, "10.0.0.2", 4321, 0, 0, 8);
    flow *k = feed(t, &u, S(7), 50, NULL, NULL);
    feed(t, &u, S(7), 50, NULL, NULL);
    assert_int_equal(k->state, FLOW_STATE_NEW);
    assert_int_equal(k->tclass, FLOW_TC_UDP);
    dec_pkt ur = rev(&u, 0, 0, 8);
    feed(t, &ur, S(7), 50, NULL, NULL);
    assert_int_equal(k->state, FLOW_STATE_ESTABLISHED);
    flow_table_free(t);
}

static void test_names(void **state)
{
    assert_string_equal(flow_state_name(FLOW_STATE_NEW), "new");
    assert_string_equal(flow_state_name(FLOW_STATE_ESTABLISHED), "established");
    assert_string_equal(flow_state_name(FLOW_STATE_CLOSED), "closed");
    assert_string_equal(flow_reason_name(FLOW_END_TIMEOUT), "timeout");
    assert_string_equal(flow_reason_name(FLOW_END_EVICTED), "forced");
    assert_string_equal(flow_reason_name(FLOW_END_SHUTDOWN), "shutdown");
}

/* ---- timeouts, eviction, flush -------------------------------------- */

static void test_timeouts_per_class(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 100, 0); /* tcp 60 s, closed 10 s, udp 5 s, other 7 s */
    dec_pkt tc = mk(TCP, "10.0.0.1", 1000, "10.0.0.2", 80, TH_SYN, 0, 0);
    dec_pkt ud = mk(UDP, "10.0.0.1", 1001, "10.0.0.2", 53, 0, 0, 20);
    dec_pkt ic = mk(ICMP, "10.0.0.1", 8, "10.0.0.2", 0, 0, 0, 20);
    dec_pkt cl = mk(TCP, "10.0.0.1", 1002, "10.0.0.2", 80, TH_RST, 0, 0);
    uint16_t tcp_port = feed(t, &tc, S(100), 60, NULL, NULL)->cport;
    feed(t, &ud, S(100), 60, NULL, NULL);
    feed(t, &ic, S(100), 60, NULL, NULL);
    feed(t, &cl, S(101), 60, NULL, NULL);
    feed(t, &ud, S(102), 60, NULL, NULL); /* refresh the UDP flow */

    flow_expire(t, S(107)); /* exactly at the UDP deadline: not yet */
    assert_int_equal(r.n, 0);
    flow_expire(t, S(107) + 1);
    /* udp (102 + 5) and icmp (100 + 7) share the deadline: tie -> lower class */
    assert_int_equal(r.n, 2);
    assert_int_equal(r.why[0], FLOW_END_TIMEOUT);
    assert_int_equal(r.why[1], FLOW_END_TIMEOUT);
    assert_int_equal(r.cport[0], 1001);
    assert_int_equal(r.cport[1], 8);
    flow_expire(t, S(107) + 1); /* idempotent */
    assert_int_equal(r.n, 2);
    flow_expire(t, S(112)); /* closed tcp: deadline 111 */
    assert_int_equal(r.n, 3);
    assert_int_equal(r.cport[2], 1002);
    assert_int_equal(r.state[2], FLOW_STATE_CLOSED);
    assert_int_equal(counters(t).active, 1);

    /* expiry also runs from flow_packet: an unrelated packet at 161 s */
    dec_pkt other = mk(UDP, "10.0.0.3", 1, "10.0.0.4", 2, 0, 0, 1);
    feed(t, &other, S(161), 43, NULL, NULL);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.cport[3], tcp_port);
    assert_int_equal(r.by_reason[FLOW_END_TIMEOUT], 4);
    flow_counters c = counters(t);
    assert_int_equal(c.timed_out, 4);
    assert_int_equal(c.active, 1);
    assert_int_equal(c.created, 5);
    assert_int_equal(c.evicted, 0);
    flow_table_free(t);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.why[4], FLOW_END_SHUTDOWN);
}

static void test_eviction(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 4, 0);
    dec_pkt p[6];
    for (int i = 0; i < 6; i++) {
        /* alternate classes so eviction must compare list heads */
        p[i] =
            mk(i % 2 ? TCP : UDP, "10.0.0.1", (uint16_t)(2000 + i), "10.0.0.2", 443, TH_ACK, 1, 0);
    }
    for (int i = 0; i < 4; i++) feed(t, &p[i], S(1) + (uint64_t)i, 60, NULL, NULL);
    feed(t, &p[0], S(1) + 4, 60, NULL, NULL); /* flow 0 becomes the most recent */
    assert_int_equal(r.n, 0);
    bool created;
    feed(t, &p[4], S(1) + 5, 60, NULL, &created);
    assert_true(created);
    feed(t, &p[5], S(1) + 6, 60, NULL, &created);
    assert_true(created);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.why[0], FLOW_END_EVICTED);
    assert_int_equal(r.why[1], FLOW_END_EVICTED);
    assert_int_equal(r.cport[0], 2001); /* the two oldest idle ones */
    assert_int_equal(r.cport[1], 2002);
    flow_counters c = counters(t);
    assert_int_equal(c.created, 6);
    assert_int_equal(c.active, 4);
    assert_int_equal(c.evicted, 2);
    assert_int_equal(c.memcap_hits, 2);
    assert_int_equal(c.timed_out, 0);
    /* the survivors are still found, not recreated */
    int kept[] = {0, 3, 4, 5};
    for (int i = 0; i < 4; i++) {
        feed(t, &p[kept[i]], S(1) + 7, 60, NULL, &created);
        assert_false(created);
    }
    flow_table_free(t);
    assert_int_equal(r.n, 6);
}

static void flush_run(rec *r)
{
    flow_table *t = mk_table(r, 100, 0);
    /* first_ts out of order (timestamps may step back), and a tie at 10 s */
    static const struct {
        uint16_t port;
        uint64_t ts;
    } in[] = {{1, 30}, {2, 10}, {3, 20}, {4, 10}, {5, 25}, {6, 10}};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        dec_pkt p = mk(i % 2 ? TCP : UDP, "10.0.0.1", in[i].port, "10.0.0.2", 9, TH_SYN, 0, 0);
        feed(t, &p, S(in[i].ts), 60, NULL, NULL);
    }
    flow_flush(t);
    assert_int_equal(counters(t).active, 0);
    /* the table stays usable */
    dec_pkt p = mk(UDP, "10.0.0.1", 99, "10.0.0.2", 9, 0, 0, 0);
    bool created;
    feed(t, &p, S(40), 60, NULL, &created);
    assert_true(created);
    flow_table_free(t);
}

static void test_flush_order(void **state)
{
    rec a = {0}, b = {0};
    flush_run(&a);
    flush_run(&b);
    assert_int_equal(a.n, 7);
    for (int i = 0; i < a.n; i++) assert_int_equal(a.why[i], FLOW_END_SHUTDOWN);
    for (int i = 1; i < 6; i++) {
        assert_true(a.first_ts[i - 1] <= a.first_ts[i]);
        if (a.first_ts[i - 1] == a.first_ts[i]) assert_true(a.id[i - 1] < a.id[i]);
    }
    assert_int_equal(a.first_ts[0], S(10));
    assert_int_equal(a.first_ts[5], S(30));
    assert_int_equal(a.cport[6], 99);
    /* same input, same bytes */
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.id, b.id, sizeof(a.id[0]) * (size_t)a.n);
    assert_memory_equal(a.cport, b.cport, sizeof(a.cport[0]) * (size_t)a.n);
}

/* ---- keys ------------------------------------------------------------ */

static void test_vlan(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 100, 0);
    dec_pkt p = mk(UDP, "10.0.0.1", 1, "10.0.0.2", 2, 0, 0, 4);
    flow *f0 = feed(t, &p, 1, 50, NULL, NULL);
    p.vlan_n = 1;
    p.vlan[0] = 10;
    flow *f10 = feed(t, &p, 2, 50, NULL, NULL);
    p.vlan[0] = 20;
    flow *f20 = feed(t, &p, 3, 50, NULL, NULL);
    assert_ptr_not_equal(f0, f10);
    assert_ptr_not_equal(f10, f20);
    assert_ptr_not_equal(f0, f20);
    assert_int_equal(f10->vlan, 10);
    assert_int_equal(f20->vlan, 20);
    /* both tags key the flow (Suricata's vlan.use-for-tracking): 10/77 is a
     * new flow, and its reply with the same two tags joins it */
    p.vlan_n = 2;
    p.vlan[0] = 10;
    p.vlan[1] = 77;
    bool made = false;
    flow *f1077 = feed(t, &p, 4, 50, NULL, &made);
    assert_true(made);
    assert_ptr_not_equal(f1077, f10);
    assert_int_equal(f1077->vlan, 10 | 77 << 16);
    assert_int_equal(f1077->vlan_n, 2);
    dec_pkt q = rev(&p, 0, 0, 4);
    int d;
    assert_ptr_equal(feed(t, &q, 4, 50, &d, NULL), f1077);
    assert_int_equal(d, FLOW_TOCLIENT);
    /* vlan_n == 0 ignores stale vlan[] contents */
    q.vlan_n = 0;
    assert_ptr_equal(feed(t, &q, 5, 50, NULL, NULL), f0);
    assert_int_equal(counters(t).created, 4);
    flow_table_free(t);
}

static void test_ipv6(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 100, 0);
    dec_pkt a = mk(TCP, "2001:db8::1", 50000, "2001:db8:ffff::443", 443, TH_SYN, 0, 0);
    dec_pkt b = rev(&a, TH_SYN | TH_ACK, 0, 0);
    int d;
    flow *f = feed(t, &a, 1, 80, &d, NULL);
    assert_int_equal(f->ip_v, 6);
    assert_ptr_equal(feed(t, &b, 2, 80, &d, NULL), f);
    assert_int_equal(d, FLOW_TOCLIENT);
    assert_memory_equal(f->cli, a.src, 16);
    assert_memory_equal(f->srv, a.dst, 16);
    /* addresses differing only in the last byte are different flows */
    dec_pkt c = a;
    c.src[15] ^= 1;
    bool created;
    feed(t, &c, 3, 80, NULL, &created);
    assert_true(created);
    /* an IPv4 packet whose address bytes equal the IPv6 prefix is not the same flow */
    dec_pkt v4 = a;
    v4.ip_v = 4;
    memset(v4.src + 4, 0, 12);
    memset(v4.dst + 4, 0, 12);
    feed(t, &v4, 4, 80, NULL, &created);
    assert_true(created);
    assert_int_equal(counters(t).created, 3);
    flow_table_free(t);
}

static void test_id_reuse_and_determinism(void **state)
{
    rec r = {0};
    flow_table *t = mk_table(&r, 100, 0);
    dec_pkt p = mk(UDP, "10.0.0.1", 1000, "10.0.0.2", 53, 0, 0, 20);
    flow *f = feed(t, &p, S(1), 62, NULL, NULL);
    uint64_t id1 = f->id;
    assert_true(id1 != 0);
    assert_true(id1 < (UINT64_C(1) << 53));
    bool created;
    f = feed(t, &p, S(100), 62, NULL, &created); /* after the 5 s UDP timeout */
    assert_true(created);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.why[0], FLOW_END_TIMEOUT);
    assert_int_equal(r.id[0], id1);
    uint64_t id2 = f->id;
    assert_true(id2 != id1);
    assert_true(id2 != 0 && id2 < (UINT64_C(1) << 53));
    flow_table_free(t);

    /* a fresh table, different sizes, reply direction first: same ids */
    rec r2 = {0};
    flow_table *t2 = mk_table(&r2, 5000, 32);
    dec_pkt q = rev(&p, 0, 0, 20);
    assert_int_equal(feed(t2, &q, S(1), 62, NULL, NULL)->id, id1);
    flow_expire(t2, S(50));
    assert_int_equal(feed(t2, &p, S(100), 62, NULL, NULL)->id, id2);
    flow_table_free(t2);
}

/* ---- memory ---------------------------------------------------------- */

static void test_ext_zeroed(void **state)
{
    rec r = {0};
    enum { EXT = 100 };
    flow_table *t = mk_table(&r, 2, EXT);
    static const uint8_t zero[EXT];
    for (int round = 0; round < 5; round++) {
        dec_pkt p = mk(UDP, "10.0.0.1", (uint16_t)(round + 1), "10.0.0.2", 9, 0, 0, 1);
        flow *f = feed(t, &p, S(10 * round), 50, NULL, NULL);
        unsigned char *ext = flow_ext(f);
        assert_true(((uintptr_t)ext % 16) == 0);
        assert_true(ext >= (unsigned char *)(f + 1));
        assert_memory_equal(ext, zero, EXT);
        memset(ext, 0xAA, EXT); /* dirty it; a recycled slot must come back clean */
    }
    /* slots were recycled: only timeouts and evictions, never growth past cap */
    flow_counters c = counters(t);
    assert_int_equal(c.created, 5);
    assert_true(c.active <= 2);
    flow_table_free(t);
    assert_int_equal(r.n, 5);
}

static void test_defaults_and_null(void **state)
{
    flow_table *t = flow_table_new(NULL);
    assert_non_null(t);
    dec_pkt p = mk(UDP, "10.0.0.1", 1, "10.0.0.2", 2, 0, 0, 1);
    assert_non_null(flow_packet(t, &p, 1, 50, NULL, NULL)); /* NULL out-params ok */
    flow_expire(t, S(299));                                 /* default UDP timeout 300 s */
    flow_counters c;
    flow_table_counters(t, &c);
    assert_int_equal(c.active, 1);
    flow_expire(t, S(301));
    flow_table_counters(t, &c);
    assert_int_equal(c.active, 0);
    dec_pkt bad = p;
    bad.ip_v = 0;
    assert_null(flow_packet(t, &bad, 1, 50, NULL, NULL));
    flow_table_free(t);
    flow_table_free(NULL);
}

typedef struct churn_st {
    uint64_t ends[3];
    uint64_t max_seen_active;
} churn_st;

static void churn_end(flow *f, flow_end_reason why, void *ud)
{
    churn_st *s = ud;
    uint32_t *ext = flow_ext(f);
    assert_int_equal(ext[0], f->cport); /* ext belongs to this flow */
    s->ends[why]++;
}

static void count_live(flow *f, void *ud)
{
    (*(uint64_t *)ud)++;
}

static void test_churn(void **state)
{
    churn_st s = {{0}, 0};
    flow_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_flows = 1000;
    cfg.timeout_us[FLOW_TC_UDP] = 300000; /* phase 2 settles below the cap */
    cfg.timeout_us[FLOW_TC_TCP] = (uint32_t)S(2);
    cfg.ext_size = sizeof(uint32_t);
    cfg.on_end = churn_end;
    cfg.ud = &s;
    flow_table *t = flow_table_new(&cfg);
    assert_non_null(t);
    uint64_t ts = S(1);
    for (uint32_t i = 0; i < 200000; i++) {
        /* first half: 100 flows/ms (eviction); second half: 1 flow/ms (timeouts) */
        ts += i < 100000 ? 10 : 1000;
        uint8_t proto = (i % 3) ? UDP : TCP;
        dec_pkt p = mk(proto, "10.0.0.1", 0, "10.0.0.2", 443, TH_SYN, i, 0);
        p.sport = (uint16_t)i;
        p.src[2] = (uint8_t)(i >> 16);
        bool created;
        flow *f = flow_packet(t, &p, ts, 60, NULL, &created);
        assert_non_null(f);
        assert_true(created);
        *(uint32_t *)flow_ext(f) = f->cport;
        if (i % 2 == 0) { /* a reply for half the flows */
            dec_pkt q = rev(&p, TH_SYN | TH_ACK, 0, 0);
            assert_ptr_equal(flow_packet(t, &q, ts, 60, NULL, &created), f);
            assert_false(created);
        }
    }
    flow_counters c;
    flow_table_counters(t, &c);
    assert_int_equal(c.created, 200000);
    assert_true(c.active <= 1000);
    assert_true(c.evicted > 0);
    assert_true(c.timed_out > 0);
    assert_int_equal(c.evicted, c.memcap_hits);
    assert_int_equal(c.created, c.active + c.evicted + c.timed_out);
    assert_int_equal(s.ends[FLOW_END_EVICTED], c.evicted);
    assert_int_equal(s.ends[FLOW_END_TIMEOUT], c.timed_out);
    uint64_t live = 0;
    flow_foreach(t, count_live, &live);
    assert_int_equal(live, c.active);
    flow_table_free(t);
    assert_int_equal(s.ends[0] + s.ends[1] + s.ends[2], 200000);
    assert_int_equal(s.ends[FLOW_END_SHUTDOWN], c.active);
}

/* The hash table starts small and doubles as flows arrive, up to
 * max_flows / 2 buckets; every flow is found again after each doubling. */
static void test_bucket_growth(void **state)
{
    (void)state;
    rec r;
    memset(&r, 0, sizeof(r));
    flow_table *t = mk_table(&r, 20000, 0);
    flow_counters c = counters(t);
    assert_int_equal(c.buckets, 1024);
    assert_int_equal(c.bucket_grows, 0);
    flow *fs[12000];
    for (uint32_t i = 0; i < 12000; i++) {
        dec_pkt p = mk(UDP, "10.0.0.1", (uint16_t)(1024 + i % 50000), "192.0.2.9", 53, 0, 0, 10);
        p.src[2] = (uint8_t)(i >> 8), p.src[3] = (uint8_t)i;
        bool created;
        fs[i] = feed(t, &p, S(1) + i, 60, NULL, &created);
        assert_true(created);
    }
    c = counters(t);
    assert_int_equal(c.active, 12000);
    assert_int_equal(c.buckets,
                     16384); /* 1024 doubled 4 times: the first size above 12,000 flows */
    assert_int_equal(c.bucket_grows, 4);
    for (uint32_t i = 0; i < 12000; i++) { /* both directions still land on the same flow */
        dec_pkt p = mk(UDP, "10.0.0.1", (uint16_t)(1024 + i % 50000), "192.0.2.9", 53, 0, 0, 10);
        p.src[2] = (uint8_t)(i >> 8), p.src[3] = (uint8_t)i;
        dec_pkt q = rev(&p, 0, 0, 10);
        bool created;
        int d;
        assert_ptr_equal(feed(t, &q, S(2), 60, &d, &created), fs[i]);
        assert_false(created);
        assert_int_equal(d, FLOW_TOCLIENT);
    }
    assert_int_equal(counters(t).created, 12000);
    flow_table_free(t);
    /* a small cap keeps the table at max_flows / 2 */
    memset(&r, 0, sizeof(r));
    t = mk_table(&r, 3000, 0);
    for (uint32_t i = 0; i < 2900; i++) {
        dec_pkt p = mk(UDP, "10.0.0.1", (uint16_t)(2000 + i), "192.0.2.9", 53, 0, 0, 10);
        feed(t, &p, S(1) + i, 60, NULL, NULL);
    }
    c = counters(t);
    assert_int_equal(c.buckets, 2048);
    assert_int_equal(c.bucket_grows, 1);
    flow_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_directions),
        cmocka_unit_test(test_orientation),
        cmocka_unit_test(test_icmp_echo_one_flow),
        cmocka_unit_test(test_dir_counters),
        cmocka_unit_test(test_seq_gap_and_retransmission),
        cmocka_unit_test(test_seq_wraparound),
        cmocka_unit_test(test_seq_loss_acked),
        cmocka_unit_test(test_seq_loss_window),
        cmocka_unit_test(test_seq_holes_merged),
        cmocka_unit_test(test_seq_jumped_isn),
        cmocka_unit_test(test_seq_bogus_ahead),
        cmocka_unit_test(test_seq_unconfirmed_counted),
        cmocka_unit_test(test_port_reuse),
        cmocka_unit_test(test_exchanges),
        cmocka_unit_test(test_tcp_states),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bucket_growth),
        cmocka_unit_test(test_timeouts_per_class),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_flush_order),
        cmocka_unit_test(test_vlan),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_id_reuse_and_determinism),
        cmocka_unit_test(test_ext_zeroed),
        cmocka_unit_test(test_defaults_and_null),
        cmocka_unit_test(test_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
