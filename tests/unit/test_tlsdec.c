/*
 * test_tlsdec.c -- passive TLS decryption on the project's own captures
 * (pcaps/tls/, made by scripts/mktlscaps): each TLS 1.3 and TLS 1.2 AEAD
 * suite, KeyUpdate, HelloRetryRequest; directions swapped; byte-by-byte
 * feeding; wrong key, missing key, late key, a truncated record, a tampered
 * record, capture loss (a whole record, across records, inside a record, a
 * lost KeyUpdate), the hold bound.
 *
 * A tiny classic-pcap reader (Ethernet/IPv4/TCP, the first connection) rebuilds
 * each direction's byte stream in order and the list of segments in
 * capture order; the tests feed those segments to tlsdec as reasm would.
 *
 *   test_tlsdec                      the cmocka suite
 *   test_tlsdec --dump CAP KEYLOG    prints each decrypted HTTP/1.1 request
 *                                    as "METHOD<TAB>URI<TAB>BODY" (the
 *                                    shell test compares it with tshark)
 *   test_tlsdec --bench CAP KEYLOG N decrypts the capture N times, prints
 *                                    the throughput (no assertions)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "keylog.h"
#include "tlsdec.h"

#ifndef EGRET_SRCDIR
#define EGRET_SRCDIR "."
#endif
#define CAPDIR EGRET_SRCDIR "/pcaps/tls/"

/* ==== captures ==== */

#define MAXSEG 8192

typedef struct seg {
    int dir; /* 0: client -> server */
    size_t off, len;
    int gap; /* bytes not captured (the stream has no bytes for it) */
} seg;

typedef struct capture {
    uint8_t *stream[2];
    size_t slen[2];
    seg segs[MAXSEG];
    int nseg, ngaps;
    char *keylog;
    size_t keylog_len;
    char *request, *response;
    size_t request_len, response_len;
} capture;

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    fclose(f);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads a classic little-endian pcap over Ethernet: the first TCP
 * connection in it (its SYN is the first packet). */
static int read_pcap(const char *path, capture *c)
{
    size_t n;
    uint8_t *b = slurp(path, &n);
    if (!b || n < 24 || le32(b) != 0xa1b2c3d4u || le32(b + 20) != 1) return -1;
    uint16_t cport = 0;
    uint32_t next[2] = {0, 0};
    int started[2] = {0, 0};
    for (int i = 0; i < 2; i++) c->stream[i] = malloc(n);
    size_t at = 24;
    while (at + 16 <= n) {
        uint32_t caplen = le32(b + at + 8);
        const uint8_t *p = b + at + 16;
        at += 16 + caplen;
        if (at > n || caplen < 14 + 20 + 20 || p[12] != 0x08 || p[13] != 0x00) continue;
        const uint8_t *ip = p + 14;
        size_t ihl = (size_t)(ip[0] & 15) * 4, iplen = (size_t)ip[2] << 8 | ip[3];
        if (ip[9] != 6 || 14 + iplen > caplen) continue;
        const uint8_t *tcp = ip + ihl;
        size_t thl = (size_t)(tcp[12] >> 4) * 4;
        uint16_t sport = (uint16_t)(tcp[0] << 8 | tcp[1]);
        uint16_t dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
        uint32_t seq = be32(tcp + 4);
        uint8_t flags = tcp[13];
        if (!cport) cport = sport; /* the first packet is the client's SYN */
        /* only that connection: a browser opens more than one (the
         * Chromium capture has a second, idle one) */
        if (sport != cport && dport != cport) continue;
        int dir = sport == cport ? 0 : 1;
        const uint8_t *pl = tcp + thl;
        size_t plen = iplen - ihl - thl;
        if (flags & 0x02) {
            next[dir] = seq + 1;
            started[dir] = 1;
            continue;
        }
        if (!started[dir] || plen == 0) continue;
        int32_t d = (int32_t)(seq - next[dir]);
        if (d > 0) { /* not captured (tcpdump drops on a busy loopback) */
            if (c->nseg < MAXSEG) c->segs[c->nseg++] = (seg){dir, c->slen[dir], (size_t)d, 1};
            c->ngaps++;
            next[dir] = seq;
            d = 0;
        }
        if ((size_t)-d >= plen) continue; /* retransmission */
        pl += -d;
        plen -= (size_t)-d;
        memcpy(c->stream[dir] + c->slen[dir], pl, plen);
        if (c->nseg < MAXSEG) c->segs[c->nseg++] = (seg){dir, c->slen[dir], plen, 0};
        c->slen[dir] += plen;
        next[dir] += (uint32_t)plen;
    }
    free(b);
    return 0;
}

static void load(const char *name, capture *c)
{
    char path[512];
    memset(c, 0, sizeof(*c));
    snprintf(path, sizeof(path), CAPDIR "%s.pcap", name);
    assert_int_equal(read_pcap(path, c), 0);
    assert_int_equal(c->ngaps, 0); /* the committed captures are complete */
    snprintf(path, sizeof(path), CAPDIR "%s.keylog", name);
    c->keylog = (char *)slurp(path, &c->keylog_len);
    snprintf(path, sizeof(path), CAPDIR "%s.request", name);
    c->request = (char *)slurp(path, &c->request_len);
    snprintf(path, sizeof(path), CAPDIR "%s.response", name);
    c->response = (char *)slurp(path, &c->response_len);
    assert_non_null(c->keylog);
    assert_non_null(c->request);
    if (!c->response) c->response = calloc(1, 1); /* tls13-h2 has none */
}

static void unload(capture *c)
{
    free(c->stream[0]);
    free(c->stream[1]);
    free(c->keylog);
    free(c->request);
    free(c->response);
}

/* ==== output recorder ==== */

typedef struct out {
    uint8_t data[2][1 << 18]; /* the Chromium capture: 93 KB of plaintext */
    size_t len[2];
    int gaps[2];
    size_t gap_at[2][8], gap_len[2][8];
    int ends[2];
} out;

static void on_out(void *ud, int dir, tlsdec_event ev, const uint8_t *data, size_t len)
{
    out *o = ud;
    switch (ev) {
    case TLSDEC_DATA:
        assert_true(o->len[dir] + len <= sizeof(o->data[0]));
        memcpy(o->data[dir] + o->len[dir], data, len);
        o->len[dir] += len;
        break;
    case TLSDEC_GAP:
        if (o->gaps[dir] < 8) {
            o->gap_at[dir][o->gaps[dir]] = o->len[dir];
            o->gap_len[dir][o->gaps[dir]] = len;
        }
        o->gaps[dir]++;
        break;
    case TLSDEC_END:
        o->ends[dir]++;
        break;
    }
}

/* A harness: key table, context, session. */
typedef struct rig {
    keylog_table *keys;
    tlsdec_ctx *ctx;
    tlsdec_session *s;
    out *o;
} rig;

static void rig_open(rig *r, const capture *c, bool with_keys, size_t hold_max)
{
    r->keys = keylog_table_new(64);
    if (with_keys) keylog_parse_buffer(r->keys, c->keylog, c->keylog_len, NULL, NULL, NULL);
    tlsdec_config cfg = {.keys = r->keys, .hold_max = hold_max};
    r->ctx = tlsdec_ctx_new(&cfg);
    assert_non_null(r->ctx);
    r->o = calloc(1, sizeof(out));
    r->s = tlsdec_session_new(r->ctx, on_out, r->o);
}

static void rig_close(rig *r)
{
    tlsdec_session_free(r->s);
    tlsdec_ctx_free(r->ctx);
    keylog_table_free(r->keys);
    free(r->o);
}

static void feed_seg(rig *r, const capture *c, int i, int swap)
{
    const seg *g = &c->segs[i];
    tlsdec_feed(r->s, g->dir ^ swap, c->stream[g->dir] + g->off, g->len);
}

static void feed_all(rig *r, const capture *c, int swap)
{
    for (int i = 0; i < c->nseg; i++) feed_seg(r, c, i, swap);
    tlsdec_end(r->s, 0);
    tlsdec_end(r->s, 1);
}

static void assert_plain(const out *o, const capture *c, int swap)
{
    assert_int_equal(o->len[0 ^ swap], c->request_len);
    assert_memory_equal(o->data[0 ^ swap], c->request, c->request_len);
    assert_int_equal(o->len[1 ^ swap], c->response_len);
    assert_memory_equal(o->data[1 ^ swap], c->response, c->response_len);
    assert_int_equal(o->gaps[0] + o->gaps[1], 0);
    assert_int_equal(o->ends[0], 1);
    assert_int_equal(o->ends[1], 1);
}

/* ==== every capture decrypts to its known plaintext ==== */

static const char *const caps[] = {
    "tls13-aes128gcm", "tls13-aes256gcm",      "tls13-chacha20",  "tls12-aes128gcm",
    "tls12-aes256gcm", "tls12-chacha20",       "tls13-keyupdate", "tls13-hrr",
    "tls13-early",     "tls13-early-rejected",
};
static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xC02F, 0xC030,
                                  0xCCA8, 0x1301, 0x1302, 0x1302, 0x1302};

static void test_captures(void **state)
{
    for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
        for (int swap = 0; swap < 2; swap++) {
            capture c;
            load(caps[k], &c);
            rig r;
            rig_open(&r, &c, true, 0);
            feed_all(&r, &c, swap);
            assert_plain(r.o, &c, swap);
            tlsdec_info info;
            tlsdec_get_info(r.s, &info);
            assert_int_equal(info.client_dir, swap);
            assert_int_equal(info.version, caps[k][4] == '3' ? 0x0304 : 0x0303);
            assert_int_equal(info.suite, suites[k]);
            assert_true(info.supported);
            assert_true(info.keys[0] && info.keys[1]);
            assert_true(tlsdec_dir_keyed(r.s, 0) && tlsdec_dir_keyed(r.s, 1));
            assert_false(info.waiting);
            bool early = strncmp(caps[k], "tls13-early", 11) == 0; /* s_server: no ALPN */
            if (early) {
                assert_null(info.alpn);
            } else {
                assert_non_null(info.alpn);
                assert_string_equal(info.alpn, "http/1.1");
            }
            assert_int_equal(info.hrr, strcmp(caps[k], "tls13-hrr") == 0);
            tlsdec_stats st;
            tlsdec_ctx_stats(r.ctx, &st);
            assert_int_equal(st.sessions, 1);
            assert_int_equal(st.sessions_with_keys, 1);
            assert_int_equal(st.auth_failures, 0);
            assert_int_equal(st.records_skipped, 0);
            assert_int_equal(st.bytes_decrypted, c.request_len + c.response_len);
            /* four records per request (early: one 0-RTT, one after) */
            int nreq = strcmp(caps[k], "tls13-keyupdate") == 0 ? 3 : 1;
            assert_true(info.records[swap] >= (uint64_t)(early ? 2 : 4 * nreq + 1));
            rig_close(&r);
            unload(&c);
        }
    }
}

/* Every segment fed one byte at a time (records and handshake messages
 * split at every point). */
static void test_byte_by_byte(void **state)
{
    static const char *const which[] = {"tls13-keyupdate", "tls12-aes256gcm", "tls13-hrr"};
    for (size_t k = 0; k < 3; k++) {
        capture c;
        load(which[k], &c);
        rig r;
        rig_open(&r, &c, true, 0);
        for (int i = 0; i < c.nseg; i++)
            for (size_t j = 0; j < c.segs[i].len; j++)
                tlsdec_feed(r.s, c.segs[i].dir, c.stream[c.segs[i].dir] + c.segs[i].off + j, 1);
        tlsdec_end(r.s, 0);
        tlsdec_end(r.s, 1);
        assert_plain(r.o, &c, 0);
        rig_close(&r);
        unload(&c);
    }
}

/* ==== keys: wrong, missing, late ==== */

static void test_wrong_key(void **state)
{
    static const char *const which[] = {"tls13-aes128gcm", "tls12-aes128gcm"};
    for (size_t k = 0; k < 2; k++) {
        capture c;
        load(which[k], &c);
        /* Change one hex digit of every secret (the last digit of each line). */
        for (size_t i = 1; i < c.keylog_len; i++)
            if (c.keylog[i] == '\n' && c.keylog[i - 1] != '\n')
                c.keylog[i - 1] = c.keylog[i - 1] == '0' ? '1' : '0';
        rig r;
        rig_open(&r, &c, true, 0);
        feed_all(&r, &c, 0);
        assert_int_equal(r.o->len[0] + r.o->len[1], 0); /* nothing delivered */
        tlsdec_stats st;
        tlsdec_ctx_stats(r.ctx, &st);
        assert_int_equal(st.auth_failures, 2); /* one per direction, then stopped */
        assert_int_equal(st.records_decrypted, 0);
        tlsdec_info info;
        tlsdec_get_info(r.s, &info);
        assert_true(info.failed[0] && info.failed[1]);
        rig_close(&r);
        unload(&c);
    }
}

static void test_missing_key(void **state)
{
    capture c;
    load("tls13-chacha20", &c);
    rig r;
    rig_open(&r, &c, false, 0);
    feed_all(&r, &c, 0);
    assert_int_equal(r.o->len[0] + r.o->len[1], 0);
    assert_true(tlsdec_waiting(r.s));
    /* no keys: the TCP overlap history must stay (inspect.c) */
    assert_false(tlsdec_dir_keyed(r.s, 0) || tlsdec_dir_keyed(r.s, 1));
    tlsdec_stats st;
    tlsdec_ctx_stats(r.ctx, &st);
    assert_int_equal(st.auth_failures, 0);
    assert_int_equal(st.sessions_with_keys, 0);
    assert_true(st.bytes_held > 0);
    tlsdec_session_free(r.s);
    r.s = NULL;
    tlsdec_ctx_stats(r.ctx, &st);
    assert_int_equal(st.sessions_without_keys, 1);
    assert_int_equal(st.bytes_held, 0);
    rig_close(&r);
    unload(&c);
}

/* The key log line arrives after the records: held, then decrypted. */
static void test_late_key(void **state)
{
    static const char *const which[] = {"tls13-keyupdate", "tls12-chacha20"};
    for (size_t k = 0; k < 2; k++) {
        capture c;
        load(which[k], &c);
        /* (a) everything fed, then the key, then an explicit retry */
        rig r;
        rig_open(&r, &c, false, 0);
        for (int i = 0; i < c.nseg; i++) feed_seg(&r, &c, i, 0);
        assert_int_equal(r.o->len[0] + r.o->len[1], 0);
        keylog_parse_buffer(r.keys, c.keylog, c.keylog_len, NULL, NULL, NULL);
        assert_int_equal(tlsdec_retry(r.s), 1);
        tlsdec_end(r.s, 0);
        tlsdec_end(r.s, 1);
        assert_plain(r.o, &c, 0);
        tlsdec_stats st;
        tlsdec_ctx_stats(r.ctx, &st);
        assert_int_equal(st.late_keys, 2);
        assert_int_equal(st.bytes_held, 0);
        assert_int_equal(st.sessions_with_keys, 1);
        rig_close(&r);

        /* (b) the key appears halfway; the next feed notices (generation) */
        rig_open(&r, &c, false, 0);
        for (int i = 0; i < c.nseg; i++) {
            if (i == c.nseg / 2)
                keylog_parse_buffer(r.keys, c.keylog, c.keylog_len, NULL, NULL, NULL);
            feed_seg(&r, &c, i, 0);
        }
        tlsdec_end(r.s, 0);
        tlsdec_end(r.s, 1);
        assert_plain(r.o, &c, 0);
        rig_close(&r);
        unload(&c);
    }
}

/* 0-RTT without CLIENT_EARLY_TRAFFIC_SECRET: the early record is skipped
 * (counted, not an authentication failure), the rest decrypts. */
static void test_early_without_secret(void **state)
{
    capture c;
    load("tls13-early", &c);
    char *l = strstr(c.keylog, "CLIENT_EARLY_TRAFFIC_SECRET");
    assert_non_null(l);
    l[0] = 'X'; /* an unknown label now: ignored */
    rig r;
    rig_open(&r, &c, true, 0);
    feed_all(&r, &c, 0);
    tlsdec_stats st;
    tlsdec_ctx_stats(r.ctx, &st);
    assert_int_equal(st.auth_failures, 0);
    assert_int_equal(st.records_skipped, 2); /* the early data and EndOfEarlyData */
    /* What was sent after the handshake is the request's tail. */
    assert_true(r.o->len[0] > 0 && r.o->len[0] < c.request_len);
    assert_memory_equal(r.o->data[0], c.request + c.request_len - r.o->len[0], r.o->len[0]);
    rig_close(&r);
    unload(&c);
}

/* Held bytes are bounded: the cap is counted, the session gives up. */
static void test_hold_bound(void **state)
{
    capture c;
    load("tls13-keyupdate", &c);
    rig r;
    rig_open(&r, &c, false, 600);
    feed_all(&r, &c, 0);
    tlsdec_stats st;
    tlsdec_ctx_stats(r.ctx, &st);
    assert_int_equal(st.hold_cap_hits, 1);
    assert_int_equal(st.sessions_without_keys, 1); /* gave up: dropped > hold_max */
    assert_int_equal(st.bytes_held, 0);
    assert_false(tlsdec_waiting(r.s));
    assert_int_equal(r.o->len[0] + r.o->len[1], 0);
    rig_close(&r);
    unload(&c);
}

/* A CBC suite is left out: counted as unsupported, nothing held, nothing
 * delivered, no authentication failure. */
static void test_unsupported(void **state)
{
    capture c;
    load("tls12-cbc", &c);
    rig r;
    rig_open(&r, &c, true, 0);
    for (int i = 0; i < c.nseg; i++) {
        feed_seg(&r, &c, i, 0);
        assert_false(tlsdec_waiting(r.s));
    }
    tlsdec_end(r.s, 0);
    tlsdec_end(r.s, 1);
    assert_int_equal(r.o->len[0] + r.o->len[1], 0);
    tlsdec_info info;
    tlsdec_get_info(r.s, &info);
    assert_int_equal(info.version, 0x0303);
    assert_int_equal(info.suite, 0xC027);
    assert_false(info.supported);
    tlsdec_stats st;
    tlsdec_ctx_stats(r.ctx, &st);
    assert_int_equal(st.sessions_unsupported, 1);
    assert_int_equal(st.auth_failures, 0);
    assert_int_equal(st.bytes_held, 0);
    assert_int_equal(st.hold_cap_hits, 0);
    rig_close(&r);
    unload(&c);
}

/* HTTP/2 (nginx + curl): ALPN h2 from the encrypted EncryptedExtensions,
 * the connection preface first, the body inside the client's DATA frames. */
static size_t h2_data(const uint8_t *p, size_t n, uint8_t *dst)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    size_t at = n >= 24 && memcmp(p, preface, 24) == 0 ? 24 : 0, m = 0;
    while (at + 9 <= n) {
        size_t len = (size_t)p[at] << 16 | (size_t)p[at + 1] << 8 | p[at + 2];
        uint8_t type = p[at + 3], flags = p[at + 4];
        if (at + 9 + len > n) break;
        if (type == 0) {
            const uint8_t *d = p + at + 9;
            size_t dl = len, pad = 0;
            if (flags & 0x8 && dl > 0) {
                pad = d[0];
                d++;
                dl--;
            }
            if (pad <= dl) {
                memcpy(dst + m, d, dl - pad);
                m += dl - pad;
            }
        }
        at += 9 + len;
    }
    return m;
}

static void check_h2(const char *name)
{
    capture c;
    load(name, &c);
    rig r;
    rig_open(&r, &c, true, 0);
    feed_all(&r, &c, 0);
    tlsdec_info info;
    tlsdec_get_info(r.s, &info);
    assert_non_null(info.alpn);
    assert_string_equal(info.alpn, "h2");
    assert_int_equal(info.version, 0x0304);
    assert_true(r.o->len[0] > 24);
    assert_memory_equal(r.o->data[0], "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    static uint8_t body[1 << 18];
    size_t m = h2_data(r.o->data[0], r.o->len[0], body);
    assert_int_equal(m, c.request_len);
    assert_memory_equal(body, c.request, m);
    assert_true(r.o->len[1] > 9);
    assert_int_equal(r.o->data[1][3], 4); /* the server's first frame: SETTINGS */
    tlsdec_stats st;
    tlsdec_ctx_stats(r.ctx, &st);
    assert_int_equal(st.auth_failures, 0);
    rig_close(&r);
    unload(&c);
}

static void test_h2(void **state)
{
    check_h2("tls13-h2");
}

/* Headless Chromium (pcaps/tls/README.md): a browser's ClientHello (GREASE,
 * ECH GREASE, a hybrid post-quantum key share), its first connection of
 * two; both chat bodies (45 KB over many records and DATA frames, then a
 * small one on another stream) come out whole. */
static void test_h2_chromium(void **state)
{
    check_h2("tls13-chromium-h2");
}

/* The context-wide bound: two sessions without keys, 1000 bytes in all. */
static void test_hold_total(void **state)
{
    capture c;
    load("tls13-aes128gcm", &c);
    keylog_table *t = keylog_table_new(64);
    tlsdec_config cfg = {.keys = t, .hold_total_max = 1000};
    tlsdec_ctx *ctx = tlsdec_ctx_new(&cfg);
    out *o = calloc(1, sizeof(out));
    tlsdec_session *s1 = tlsdec_session_new(ctx, on_out, o);
    tlsdec_session *s2 = tlsdec_session_new(ctx, on_out, o);
    for (int i = 0; i < c.nseg; i++) {
        const seg *g = &c.segs[i];
        tlsdec_feed(s1, g->dir, c.stream[g->dir] + g->off, g->len);
        tlsdec_feed(s2, g->dir, c.stream[g->dir] + g->off, g->len);
    }
    tlsdec_stats st;
    tlsdec_ctx_stats(ctx, &st);
    assert_true(st.bytes_held <= 1000);
    assert_int_equal(st.hold_cap_hits, 2);
    tlsdec_session_free(s1);
    tlsdec_session_free(s2);
    tlsdec_ctx_stats(ctx, &st);
    assert_int_equal(st.bytes_held, 0);
    tlsdec_ctx_free(ctx);
    keylog_table_free(t);
    free(o);
    unload(&c);
}

/* forget: the session's secrets leave the shared table with the session. */
static void test_forget(void **state)
{
    capture c;
    load("tls13-chacha20", &c);
    keylog_table *t = keylog_table_new(64);
    keylog_parse_buffer(t, c.keylog, c.keylog_len, NULL, NULL, NULL);
    static const char other[] =
        "CLIENT_RANDOM 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
        "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacb"
        "cccdcecfd0\n";
    keylog_parse_buffer(t, other, strlen(other), NULL, NULL, NULL);
    keylog_table_stats ks;
    keylog_table_get_stats(t, &ks);
    assert_int_equal(ks.entries, 2);
    tlsdec_config cfg = {.keys = t, .forget = true};
    tlsdec_ctx *ctx = tlsdec_ctx_new(&cfg);
    out *o = calloc(1, sizeof(out));
    tlsdec_session *s = tlsdec_session_new(ctx, on_out, o);
    for (int i = 0; i < c.nseg; i++)
        tlsdec_feed(s, c.segs[i].dir, c.stream[c.segs[i].dir] + c.segs[i].off, c.segs[i].len);
    assert_int_equal(o->len[0], c.request_len);
    tlsdec_session_free(s);
    keylog_table_get_stats(t, &ks);
    assert_int_equal(ks.entries, 1); /* the other session's entry stays */
    tlsdec_ctx_free(ctx);
    keylog_table_free(t);
    free(o);
    unload(&c);
}

/* ==== damaged records ==== */

/* The client's application-data segments (one record each on loopback):
 * indexes into c->segs of the segments of direction 0 after the handshake
 * whose record type is 23 and that are longer than a KeyUpdate. */
static int app_segs(const capture *c, int dir, int *idx, int max)
{
    int n = 0, seen = 0;
    for (int i = 0; i < c->nseg && n < max; i++) {
        const seg *g = &c->segs[i];
        if (g->dir != dir) continue;
        const uint8_t *p = c->stream[dir] + g->off;
        if (seen++ < 2) continue; /* ClientHello; CCS+Finished / CKE+CCS+Finished */
        if (p[0] == 23 && g->len > 40) idx[n++] = i;
    }
    return n;
}

/* The stream is cut inside the last request record: what came before is
 * delivered, the partial record never. */
static void test_truncated(void **state)
{
    static const char *const which[] = {"tls13-aes256gcm", "tls12-aes128gcm"};
    for (size_t k = 0; k < 2; k++) {
        capture c;
        load(which[k], &c);
        int idx[8];
        assert_true(app_segs(&c, 0, idx, 8) >= 4);
        rig r;
        rig_open(&r, &c, true, 0);
        for (int i = 0; i < c.nseg; i++) {
            if (i == idx[3]) {
                tlsdec_feed(r.s, 0, c.stream[0] + c.segs[i].off, c.segs[i].len - 7);
                break;
            }
            feed_seg(&r, &c, i, 0);
        }
        tlsdec_end(r.s, 0);
        tlsdec_end(r.s, 1);
        assert_true(r.o->len[0] > 0 && r.o->len[0] < c.request_len);
        assert_memory_equal(r.o->data[0], c.request, r.o->len[0]);
        tlsdec_stats st;
        tlsdec_ctx_stats(r.ctx, &st);
        assert_int_equal(st.auth_failures, 0);
        rig_close(&r);
        unload(&c);
    }
}

/* One flipped ciphertext byte: counted, nothing of it or after delivered in
 * that direction; the other direction is unaffected. */
static void test_tampered(void **state)
{
    static const char *const which[] = {"tls13-aes128gcm", "tls12-chacha20", "tls12-aes256gcm"};
    for (size_t k = 0; k < 3; k++) {
        capture c;
        load(which[k], &c);
        int idx[8];
        assert_true(app_segs(&c, 0, idx, 8) >= 4);
        const seg *g = &c.segs[idx[1]];
        c.stream[0][g->off + g->len / 2] ^= 0x40;
        rig r;
        rig_open(&r, &c, true, 0);
        feed_all(&r, &c, 0);
        /* Exactly the first record (the request head) got out. */
        assert_true(r.o->len[0] > 0 && r.o->len[0] < c.request_len);
        assert_memory_equal(r.o->data[0], c.request, r.o->len[0]);
        assert_ptr_equal(memmem(c.request, c.request_len, "\r\n\r\n", 4),
                         c.request + r.o->len[0] - 4);
        assert_int_equal(r.o->len[1], c.response_len);
        tlsdec_stats st;
        tlsdec_ctx_stats(r.ctx, &st);
        assert_int_equal(st.auth_failures, 1);
        tlsdec_info info;
        tlsdec_get_info(r.s, &info);
        assert_true(info.failed[0]);
        assert_false(info.failed[1]);
        rig_close(&r);
        unload(&c);
    }
}

/* ==== capture loss ==== */

/* Feeds the capture with stream bytes [from, to) of direction 0 replaced
 * by a gap notice; late: the key log is loaded only after every segment
 * (the gap then happens while the bytes are held). */
static void feed_with_loss_late(rig *r, const capture *c, size_t from, size_t to, bool late)
{
    bool gap_sent = false;
    for (int i = 0; i < c->nseg; i++) {
        const seg *g = &c->segs[i];
        if (g->dir != 0) {
            feed_seg(r, c, i, 0);
            continue;
        }
        size_t a = g->off, b = g->off + g->len;
        if (b <= from || a >= to) {
            feed_seg(r, c, i, 0);
            continue;
        }
        if (a < from) tlsdec_feed(r->s, 0, c->stream[0] + a, from - a);
        if (!gap_sent) tlsdec_gap(r->s, 0, to - from);
        gap_sent = true;
        if (b > to) tlsdec_feed(r->s, 0, c->stream[0] + to, b - to);
    }
    if (late) {
        assert_int_equal(r->o->len[0] + r->o->len[1], 0);
        keylog_parse_buffer(r->keys, c->keylog, c->keylog_len, NULL, NULL, NULL);
        assert_int_equal(tlsdec_retry(r->s), 1);
    }
    tlsdec_end(r->s, 0);
    tlsdec_end(r->s, 1);
}

static void feed_with_loss(rig *r, const capture *c, size_t from, size_t to)
{
    feed_with_loss_late(r, c, from, to, false);
}

/* The delivered client bytes are the request with one hole whose size the
 * gap notice gives exactly (no padding in these captures). */
static void assert_one_hole(const out *o, const capture *c)
{
    assert_int_equal(o->gaps[0], 1);
    size_t before = o->gap_at[0][0], lost = o->gap_len[0][0], after = o->len[0] - before;
    assert_int_equal(before + lost + after, c->request_len);
    assert_memory_equal(o->data[0], c->request, before);
    assert_memory_equal(o->data[0] + before, c->request + before + lost, after);
    assert_int_equal(o->len[1], c->response_len);
}

static void test_loss(void **state)
{
    static const char *const which[] = {"tls13-aes128gcm", "tls13-chacha20", "tls12-aes128gcm",
                                        "tls12-chacha20", "tls12-aes256gcm"};
    for (size_t k = 0; k < sizeof(which) / sizeof(which[0]); k++) {
        capture c;
        load(which[k], &c);
        int idx[8];
        assert_true(app_segs(&c, 0, idx, 8) >= 4);
        const seg *s1 = &c.segs[idx[1]], *s2 = &c.segs[idx[2]];
        struct {
            size_t from, to;
            uint64_t skipped;
            const char *what;
        } cases[] = {
            /* a whole record: boundary at the gap's start, header lost */
            {s1->off, s1->off + s1->len, 1, "one record"},
            /* two records */
            {s1->off, s2->off + s2->len, 2, "two records"},
            /* from inside one record to inside the next: scan needed */
            {s1->off + 10, s2->off + 20, 2, "across a boundary"},
            /* inside one record: the next boundary is known */
            {s1->off + 10, s1->off + 30, 1, "inside a record"},
        };
        for (size_t j = 0; j < 2 * sizeof(cases) / sizeof(cases[0]); j++) {
            /* each case twice: keys known, and keys arriving after the loss */
            bool late = j % 2;
            rig r;
            rig_open(&r, &c, !late, 0);
            feed_with_loss_late(&r, &c, cases[j / 2].from, cases[j / 2].to, late);
            assert_one_hole(r.o, &c);
            tlsdec_stats st;
            tlsdec_ctx_stats(r.ctx, &st);
            assert_int_equal(st.gaps, 1);
            assert_int_equal(st.resyncs, 1);
            assert_int_equal(st.records_skipped, cases[j / 2].skipped);
            assert_int_equal(st.auth_failures, 0);
            rig_close(&r);
        }
        unload(&c);
    }
}

/* The client's KeyUpdate record is lost: the records after it are found
 * under the next secret. */
static void test_loss_keyupdate(void **state)
{
    capture c;
    load("tls13-keyupdate", &c);
    int ku = -1;
    for (int i = 6; i < c.nseg; i++)
        if (c.segs[i].dir == 0 && c.segs[i].len == 5 + 6 + 16) {
            ku = i; /* handshake(KeyUpdate) 5 bytes + type, tag */
            break;
        }
    assert_true(ku > 0);
    rig r;
    rig_open(&r, &c, true, 0);
    feed_with_loss(&r, &c, c.segs[ku].off, c.segs[ku].off + c.segs[ku].len);
    /* No application data was lost: the requests arrive whole. */
    assert_int_equal(r.o->len[0], c.request_len);
    assert_memory_equal(r.o->data[0], c.request, c.request_len);
    assert_int_equal(r.o->len[1], c.response_len);
    tlsdec_stats st;
    tlsdec_ctx_stats(r.ctx, &st);
    assert_int_equal(st.resyncs, 1);
    assert_int_equal(st.auth_failures, 0);
    rig_close(&r);
    unload(&c);
}

/* ==== keys from a pcapng Decryption Secrets Block ==== */

/* The capture with its key log embedded by `editcap --inject-secrets`: the
 * DSB's text (block type 0x0A, secrets type "TLSK") fed to
 * keylog_parse_buffer decrypts the session like the key log file. */
static void test_dsb(void **state)
{
    size_t n;
    uint8_t *b = slurp(CAPDIR "tls13-aes128gcm-dsb.pcapng", &n);
    assert_non_null(b);
    assert_true(n >= 12 && le32(b) == 0x0A0D0D0A && le32(b + 8) == 0x1A2B3C4D);
    keylog_table *t = keylog_table_new(64);
    size_t at = 0, stored = 0;
    int dsbs = 0;
    while (at + 12 <= n) {
        uint32_t type = le32(b + at), len = le32(b + at + 4);
        assert_true(len >= 12 && at + len <= n);
        if (type == 0x0000000A && len >= 20 && le32(b + at + 8) == 0x544c534b) {
            uint32_t slen = le32(b + at + 12);
            assert_true(16 + (size_t)slen <= len);
            uint64_t bad = 1;
            stored += keylog_parse_buffer(t, b + at + 16, slen, NULL, NULL, &bad);
            assert_int_equal(bad, 0);
            dsbs++;
        }
        at += len;
    }
    assert_int_equal(dsbs, 1);
    assert_int_equal(stored, 4); /* the four TLS 1.3 traffic secrets (EXPORTER ignored) */
    free(b);

    capture c;
    load("tls13-aes128gcm", &c);
    tlsdec_config cfg = {.keys = t};
    tlsdec_ctx *ctx = tlsdec_ctx_new(&cfg);
    out *o = calloc(1, sizeof(out));
    tlsdec_session *s = tlsdec_session_new(ctx, on_out, o);
    for (int i = 0; i < c.nseg; i++)
        tlsdec_feed(s, c.segs[i].dir, c.stream[c.segs[i].dir] + c.segs[i].off, c.segs[i].len);
    tlsdec_end(s, 0);
    tlsdec_end(s, 1);
    assert_plain(o, &c, 0);
    tlsdec_session_free(s);
    tlsdec_ctx_free(ctx);
    free(o);
    keylog_table_free(t);
    unload(&c);
}

/* The record boundaries of a stream (offsets of each header). */
static int rec_offsets(const uint8_t *p, size_t n, size_t *offs, int max)
{
    int k = 0;
    for (size_t at = 0; at + 5 <= n && k < max; at += 5 + ((size_t)p[at + 3] << 8 | p[at + 4]))
        offs[k++] = at;
    return k;
}

/* The server's handshake flight loses its Certificate, CertificateVerify
 * and Finished records (cut mid-record at both ends): the next records are
 * under the application secret, found by the resync's next-secret trial;
 * the response arrives whole. */
static void test_loss_handshake(void **state)
{
    static const char *const which[] = {"tls13-aes128gcm", "tls13-chacha20"};
    for (size_t k = 0; k < 2; k++) {
        capture c;
        load(which[k], &c);
        size_t offs[32];
        int n = rec_offsets(c.stream[1], c.slen[1], offs, 32);
        /* SH, CCS, EE, Certificate, CertificateVerify, Finished, tickets... */
        assert_true(n >= 8);
        assert_int_equal(c.stream[1][offs[0] + 5], 2); /* ServerHello */
        assert_int_equal(c.stream[1][offs[1]], 20);    /* CCS */
        size_t from = offs[3] + 10, to = offs[5] + 10;
        rig r;
        rig_open(&r, &c, true, 0);
        bool gap_sent = false;
        for (int i = 0; i < c.nseg; i++) {
            const seg *g = &c.segs[i];
            size_t a = g->off, b = g->off + g->len;
            if (g->dir != 1 || b <= from || a >= to) {
                feed_seg(&r, &c, i, 0);
                continue;
            }
            if (a < from) tlsdec_feed(r.s, 1, c.stream[1] + a, from - a);
            if (!gap_sent) tlsdec_gap(r.s, 1, to - from);
            gap_sent = true;
            if (b > to) tlsdec_feed(r.s, 1, c.stream[1] + to, b - to);
        }
        tlsdec_end(r.s, 0);
        tlsdec_end(r.s, 1);
        assert_int_equal(r.o->len[1], c.response_len);
        assert_memory_equal(r.o->data[1], c.response, c.response_len);
        assert_int_equal(r.o->len[0], c.request_len);
        tlsdec_stats st;
        tlsdec_ctx_stats(r.ctx, &st);
        assert_int_equal(st.resyncs, 1);
        assert_int_equal(st.auth_failures, 0);
        /* 3 were lost; across a key change only "at least one of the old
         * key, plus those of the new key before the one found" is known */
        assert_int_equal(st.records_skipped, 1);
        rig_close(&r);
        unload(&c);
    }
}

/* ==== damaged input never yields unauthenticated bytes ==== */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Every delivered run between gap notices is a piece of the true plaintext,
 * later than the previous piece. */
static void assert_pieces_of(const out *o, int dir, const char *truth, size_t tlen)
{
    size_t at = 0, pos = 0;
    int ng = o->gaps[dir] < 8 ? o->gaps[dir] : 8;
    for (int g = 0; g <= ng; g++) {
        size_t end = g < ng ? o->gap_at[dir][g] : o->len[dir];
        if (end > at) {
            const char *f = memmem(truth + pos, tlen - pos, o->data[dir] + at, end - at);
            assert_non_null(f);
            pos = (size_t)(f - truth) + (end - at);
        }
        at = end;
    }
}

/* Random byte flips (headers, hellos, ciphertext) and random holes, 100
 * times per capture: no crash (ASan build), and whatever comes out is
 * authentic plaintext. */
static void test_mutations(void **state)
{
    for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
        capture c;
        load(caps[k], &c);
        uint8_t *orig[2];
        for (int d = 0; d < 2; d++) {
            orig[d] = malloc(c.slen[d] + 1);
            memcpy(orig[d], c.stream[d], c.slen[d]);
        }
        for (int iter = 0; iter < 100; iter++) {
            for (int d = 0; d < 2; d++) memcpy(c.stream[d], orig[d], c.slen[d]);
            int flips = (int)(rng() % 4);
            for (int f = 0; f < flips; f++) {
                int d = (int)(rng() % 2);
                c.stream[d][rng() % c.slen[d]] ^= (uint8_t)(1 + rng() % 255);
            }
            /* one hole in a random direction, one time in three */
            int hd = (int)(rng() % 2);
            size_t hfrom = rng() % c.slen[hd],
                   hlen = iter % 3 ? 0 : 1 + rng() % (iter % 2 ? 600 : 4000);
            if (hfrom + hlen > c.slen[hd]) hlen = c.slen[hd] - hfrom;
            rig r;
            rig_open(&r, &c, iter % 11 != 0, iter % 5 == 0 ? 700 : 0);
            bool gap_sent = false;
            for (int i = 0; i < c.nseg; i++) {
                const seg *g = &c.segs[i];
                size_t a = g->off, b = g->off + g->len;
                if (g->dir != hd || hlen == 0 || b <= hfrom || a >= hfrom + hlen) {
                    /* split segments to vary the feed boundaries */
                    size_t cut = g->len > 1 ? rng() % g->len : 0;
                    tlsdec_feed(r.s, g->dir, c.stream[g->dir] + a, cut);
                    tlsdec_feed(r.s, g->dir, c.stream[g->dir] + a + cut, g->len - cut);
                    continue;
                }
                if (a < hfrom) tlsdec_feed(r.s, hd, c.stream[hd] + a, hfrom - a);
                if (!gap_sent) tlsdec_gap(r.s, hd, hlen);
                gap_sent = true;
                if (b > hfrom + hlen)
                    tlsdec_feed(r.s, hd, c.stream[hd] + hfrom + hlen, b - hfrom - hlen);
            }
            if (iter % 11 == 0) { /* the key arrives at the end */
                keylog_parse_buffer(r.keys, c.keylog, c.keylog_len, NULL, NULL, NULL);
                tlsdec_retry(r.s);
            }
            tlsdec_end(r.s, 0);
            tlsdec_end(r.s, 1);
            assert_pieces_of(r.o, 0, c.request, c.request_len);
            assert_pieces_of(r.o, 1, c.response, c.response_len);
            rig_close(&r);
        }
        free(orig[0]);
        free(orig[1]);
        unload(&c);
    }
}

/* ==== guard page: no read past the bytes given ==== */

/* Every segment is fed from a buffer ending at a PROT_NONE page, and the
 * hello segments (ClientHello; the server's first flight) at every
 * truncated length: an over-read faults. */
static void test_guard_page(void **state)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *base =
        mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(base != MAP_FAILED);
    assert_int_equal(mprotect(base + page, page, PROT_NONE), 0);
    for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
        capture c;
        load(caps[k], &c);
        int first[2] = {-1, -1};
        for (int i = 0; i < c.nseg; i++)
            if (first[c.segs[i].dir] < 0) first[c.segs[i].dir] = i;
        /* (a) the whole capture */
        rig r;
        rig_open(&r, &c, true, 0);
        for (int i = 0; i < c.nseg; i++) {
            const seg *g = &c.segs[i];
            assert_true(g->len <= page);
            uint8_t *d = base + page - g->len;
            memcpy(d, c.stream[g->dir] + g->off, g->len);
            tlsdec_feed(r.s, g->dir, d, g->len);
        }
        tlsdec_end(r.s, 0);
        tlsdec_end(r.s, 1);
        assert_plain(r.o, &c, 0);
        rig_close(&r);
        /* (b) each hello segment cut at every length */
        for (int h = 0; h < 2; h++) {
            int fi = first[h];
            const seg *g = &c.segs[fi];
            for (size_t cut = 0; cut <= g->len; cut++) {
                rig_open(&r, &c, true, 0);
                for (int i = 0; i < fi; i++) feed_seg(&r, &c, i, 0);
                uint8_t *d = base + page - cut;
                memcpy(d, c.stream[h] + g->off, cut);
                tlsdec_feed(r.s, h, d, cut);
                tlsdec_end(r.s, 0);
                tlsdec_end(r.s, 1);
                /* (0-RTT data, held for the ServerHello, may come out) */
                assert_pieces_of(r.o, 0, c.request, c.request_len);
                assert_int_equal(r.o->len[1], 0);
                rig_close(&r);
            }
        }
        unload(&c);
    }
    munmap(base, 2 * page);
}

/* ==== --dump: for the tshark comparison ==== */

static int dump(const char *pcap, const char *keylog)
{
    capture c;
    memset(&c, 0, sizeof(c));
    if (read_pcap(pcap, &c) != 0) return 2;
    c.keylog = (char *)slurp(keylog, &c.keylog_len);
    if (!c.keylog) return 2;
    rig r;
    rig_open(&r, &c, true, 0);
    feed_all(&r, &c, 0);
    /* HTTP/1.1 requests with Content-Length bodies, one line each. */
    int dir = 0;
    tlsdec_info info;
    tlsdec_get_info(r.s, &info);
    if (info.client_dir == 1) dir = 1;
    if (info.alpn && strcmp(info.alpn, "h2") == 0) {
        /* HTTP/2: the client's DATA payload, hex (as tshark's http2.data.data) */
        static uint8_t body[1 << 20];
        size_t m = h2_data(r.o->data[dir], r.o->len[dir], body);
        for (size_t i = 0; i < m; i++) printf("%02x", body[i]);
        printf("\n");
        rig_close(&r);
        unload(&c);
        return 0;
    }
    const char *p = (const char *)r.o->data[dir], *end = p + r.o->len[dir];
    while (p < end) {
        const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hend) break;
        const char *sp1 = memchr(p, ' ', (size_t)(hend - p));
        const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(hend - sp1 - 1)) : NULL;
        if (!sp2) break;
        size_t clen = 0;
        const char *cl = memmem(p, (size_t)(hend - p), "Content-Length: ", 16);
        if (cl) clen = strtoul(cl + 16, NULL, 10);
        const char *body = hend + 4;
        if (clen > (size_t)(end - body)) clen = (size_t)(end - body);
        printf("%.*s\t%.*s\t%.*s\n", (int)(sp1 - p), p, (int)(sp2 - sp1 - 1), sp1 + 1, (int)clen,
               body);
        p = body + clen;
    }
    rig_close(&r);
    unload(&c);
    return 0;
}

static void count_cb(void *ud, int dir, tlsdec_event ev, const uint8_t *data, size_t len)
{
    if (ev == TLSDEC_DATA) *(uint64_t *)ud += len;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Throughput over the same capture: with keys (every record decrypted) and
 * without (bytes framed and held, up to the hold bound, then given up). */
static int bench(const char *pcap, const char *keylog, int rounds)
{
    capture c;
    memset(&c, 0, sizeof(c));
    if (read_pcap(pcap, &c) != 0) return 2;
    c.keylog = (char *)slurp(keylog, &c.keylog_len);
    if (!c.keylog) return 2;
    uint64_t wire = c.slen[0] + c.slen[1];
    for (int with = 1; with >= 0; with--) {
        keylog_table *t = keylog_table_new(64);
        if (with) keylog_parse_buffer(t, c.keylog, c.keylog_len, NULL, NULL, NULL);
        tlsdec_config cfg = {.keys = t};
        tlsdec_ctx *ctx = tlsdec_ctx_new(&cfg);
        uint64_t plain = 0;
        double t0 = now();
        for (int k = 0; k < rounds; k++) {
            tlsdec_session *s = tlsdec_session_new(ctx, count_cb, &plain);
            for (int i = 0; i < c.nseg; i++) {
                if (c.segs[i].gap)
                    tlsdec_gap(s, c.segs[i].dir, c.segs[i].len);
                else
                    tlsdec_feed(s, c.segs[i].dir, c.stream[c.segs[i].dir] + c.segs[i].off,
                                c.segs[i].len);
            }
            tlsdec_end(s, 0);
            tlsdec_end(s, 1);
            tlsdec_session_free(s);
        }
        double dt = now() - t0;
        tlsdec_stats st;
        tlsdec_ctx_stats(ctx, &st);
        printf("%s keys: %d x %.1f MB in %.3f s = %.0f MB/s; %llu records decrypted, "
               "%.1f MB plaintext; %d gaps, %llu resyncs, %llu records skipped\n",
               with ? "with" : "without", rounds, (double)wire / 1e6, dt,
               (double)wire * rounds / 1e6 / dt, (unsigned long long)st.records_decrypted,
               (double)plain / 1e6, c.ngaps, (unsigned long long)st.resyncs,
               (unsigned long long)st.records_skipped);
        tlsdec_ctx_free(ctx);
        keylog_table_free(t);
    }
    unload(&c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--dump") == 0) return dump(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "--bench") == 0) return bench(argv[2], argv[3], atoi(argv[4]));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captures),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_missing_key),
        cmocka_unit_test(test_late_key),
        cmocka_unit_test(test_early_without_secret),
        cmocka_unit_test(test_hold_bound),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_loss),
        cmocka_unit_test(test_loss_keyupdate),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_dsb),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_h2),
        cmocka_unit_test(test_h2_chromium),
        cmocka_unit_test(test_hold_total),
        cmocka_unit_test(test_forget),
        cmocka_unit_test(test_loss_handshake),
        cmocka_unit_test(test_guard_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
