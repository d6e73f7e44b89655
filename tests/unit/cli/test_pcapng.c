/*
 * test_pcapng.c -- egret's pcapng reader (pcapng.c) on files built here,
 * block by block, in both byte orders: packets, link types per interface,
 * timestamps at every if_tsresol kind and if_tsoffset, several sections,
 * Simple and Obsolete Packet Blocks, skipped blocks, Decryption Secrets
 * kept (and bounded), records longer than the interface's snaplen read
 * whole and counted, and every kind of damage: an error that names the
 * block's offset, with the packets before it delivered.  Each file is read
 * from memory and from a stdio stream (the CLI's pipes and stdin), and the
 * CLI's source (capture.c) is checked on top: a -f filter per link type,
 * the over-snaplen event once per file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "pcapng.h"
#include "../tmpdir.h"

/* ---- a pcapng writer ---- */

typedef struct nb {
    uint8_t *b;
    size_t n, cap;
    bool be; /* the section being written is big-endian */
} nb;

static void put(nb *w, const void *p, size_t n)
{
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        w->b = realloc(w->b, w->cap);
        assert_non_null(w->b);
    }
    if (n) memcpy(w->b + w->n, p, n); /* p may be NULL for an empty option */
    w->n += n;
}

static void put32(nb *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(w->be ? v >> (24 - 8 * i) : v >> (8 * i));
    put(w, b, 4);
}

static void put16(nb *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(w->be ? v >> 8 : v), (uint8_t)(w->be ? v : v >> 8)};
    put(w, b, 2);
}

static void pad(nb *w)
{
    static const uint8_t z[4];
    put(w, z, (4 - w->n % 4) % 4);
}

static size_t begin(nb *w, uint32_t type)
{
    size_t at = w->n;
    put32(w, type);
    put32(w, 0); /* length, set by end() */
    return at;
}

static void end(nb *w, size_t at)
{
    pad(w);
    uint32_t len = (uint32_t)(w->n - at + 4);
    put32(w, len);
    nb t = *w;
    t.n = at + 4;
    put32(&t, len); /* in place: no growth, t.b == w->b */
}

static void shb(nb *w, bool be)
{
    w->be = be;
    size_t at = begin(w, PCAPNG_SHB_TYPE);
    put32(w, 0x1A2B3C4D);
    put16(w, 1);
    put16(w, 0);
    put32(w, 0xffffffff), put32(w, 0xffffffff); /* section length unknown */
    end(w, at);
}

static void option(nb *w, uint16_t code, const void *v, uint16_t len)
{
    put16(w, code);
    put16(w, len);
    put(w, v, len);
    pad(w);
}

/* tsresol < 0: no option; tsoffset: seconds (0: no option) */
static void idb(nb *w, uint16_t linktype, uint32_t snaplen, int tsresol, int64_t tsoffset)
{
    size_t at = begin(w, 1);
    put16(w, linktype);
    put16(w, 0);
    put32(w, snaplen);
    if (tsresol >= 0) {
        uint8_t r = (uint8_t)tsresol;
        option(w, 9, &r, 1);
    }
    if (tsoffset) {
        uint8_t v[8];
        uint64_t u = (uint64_t)tsoffset;
        for (int i = 0; i < 8; i++) v[i] = (uint8_t)(w->be ? u >> (56 - 8 * i) : u >> (8 * i));
        option(w, 14, v, 8);
    }
    if (tsresol >= 0 || tsoffset) option(w, 0, NULL, 0);
    end(w, at);
}

/* Packet bytes: a pattern that names its length and seed. */
static void body(nb *w, uint32_t caplen, uint8_t seed)
{
    for (uint32_t i = 0; i < caplen; i++) {
        uint8_t c = (uint8_t)(i * 13 + seed);
        put(w, &c, 1);
    }
}

static bool body_ok(const uint8_t *d, uint32_t caplen, uint8_t seed)
{
    for (uint32_t i = 0; i < caplen; i++)
        if (d[i] != (uint8_t)(i * 13 + seed)) return false;
    return true;
}

static void epb(nb *w, uint32_t ifid, uint64_t ts, uint32_t caplen, uint32_t len, uint8_t seed)
{
    size_t at = begin(w, 6);
    put32(w, ifid);
    put32(w, (uint32_t)(ts >> 32));
    put32(w, (uint32_t)ts);
    put32(w, caplen);
    put32(w, len);
    body(w, caplen, seed);
    pad(w);
    option(w, 1, "comment", 7); /* opt_comment, then no opt_endofopt: both are valid */
    end(w, at);
}

static void spb(nb *w, uint32_t len, uint32_t caplen, uint8_t seed)
{
    size_t at = begin(w, 3);
    put32(w, len);
    body(w, caplen, seed);
    end(w, at);
}

static void opb(nb *w, uint16_t ifid, uint64_t ts, uint32_t caplen, uint8_t seed)
{
    size_t at = begin(w, 2);
    put16(w, ifid);
    put16(w, 0);
    put32(w, (uint32_t)(ts >> 32));
    put32(w, (uint32_t)ts);
    put32(w, caplen);
    put32(w, caplen);
    body(w, caplen, seed);
    end(w, at);
}

static void other(nb *w, uint32_t type, uint32_t len)
{
    size_t at = begin(w, type);
    for (uint32_t i = 0; i < len; i++) put(w, "x", 1);
    end(w, at);
}

static void dsb(nb *w, uint32_t type, const char *secret, uint32_t len)
{
    size_t at = begin(w, 0x0A);
    put32(w, type);
    put32(w, len);
    put(w, secret, len);
    end(w, at);
}

/* ---- reading ---- */

#define MAXP 64

typedef struct got {
    int n, rc; /* packets; the last pcapng_next result */
    sf_pkt p[MAXP];
    uint8_t *data[MAXP];
    char err[256];
    uint64_t oversize;
    size_t secrets;
} got;

/* Reads the whole of w's bytes with the reader, from memory (stream
 * false) or through a stdio stream. */
static got *read_all(const nb *w, bool stream)
{
    got *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    bsrc src;
    FILE *fp = NULL;
    if (stream) {
        fp = fmemopen(w->b, w->n, "rb");
        assert_non_null(fp);
        bsrc_init_file(&src, fp);
    } else {
        bsrc_init_mem(&src, w->b, w->n);
    }
    char err[256];
    pcapng *r = pcapng_open(&src, err, sizeof(err));
    if (!r) {
        g->rc = -2;
        snprintf(g->err, sizeof(g->err), "%s", err);
    } else {
        sf_pkt p;
        while ((g->rc = pcapng_next(r, &p)) == 1) {
            assert_true(g->n < MAXP);
            g->p[g->n] = p;
            g->data[g->n] = malloc(p.caplen + 1);
            memcpy(g->data[g->n], p.data, p.caplen);
            g->n++;
        }
        if (g->rc < 0) snprintf(g->err, sizeof(g->err), "%s", pcapng_err(r));
        g->oversize = pcapng_oversize(r);
        g->secrets = pcapng_secrets_count(r);
        pcapng_free(r);
    }
    bsrc_close(&src);
    if (fp) fclose(fp);
    return g;
}

static void got_free(got *g)
{
    for (int i = 0; i < g->n; i++) free(g->data[i]);
    free(g);
}

/* Both ways of reading give the same packets and result; returns the
 * memory one (the caller frees it). */
static got *read_both(const nb *w)
{
    got *a = read_all(w, false), *b = read_all(w, true);
    assert_int_equal(a->rc, b->rc);
    assert_int_equal(a->n, b->n);
    assert_string_equal(a->err, b->err);
    for (int i = 0; i < a->n; i++) {
        assert_true(a->p[i].ts_usec == b->p[i].ts_usec);
        assert_int_equal(a->p[i].caplen, b->p[i].caplen);
        assert_int_equal(a->p[i].len, b->p[i].len);
        assert_int_equal(a->p[i].linktype, b->p[i].linktype);
        assert_memory_equal(a->data[i], b->data[i], a->p[i].caplen);
    }
    got_free(b);
    return a;
}

/* ---- tests ---- */

/* Enhanced Packet Blocks in both byte orders; the one longer than the
 * interface's snaplen comes whole and is counted. */
static void test_basic_both_orders(void **state)
{
    (void)state;
    for (int be = 0; be < 2; be++) {
        nb w = {0};
        shb(&w, be);
        idb(&w, 1, 100, -1, 0);
        epb(&w, 0, 1700000000123456ull, 60, 60, 1);
        epb(&w, 0, 1700000001000000ull, 150, 1500, 2); /* over the snaplen of 100 */
        epb(&w, 0, 1700000002000001ull, 100, 100, 3);
        got *g = read_both(&w);
        assert_int_equal(g->rc, 0);
        assert_int_equal(g->n, 3);
        assert_true(g->p[0].ts_usec == 1700000000123456ull);
        assert_int_equal(g->p[1].caplen, 150);
        assert_int_equal(g->p[1].len, 1500);
        assert_true(body_ok(g->data[1], 150, 2));
        assert_true(body_ok(g->data[2], 100, 3));
        assert_int_equal(g->p[2].linktype, 1);
        assert_int_equal(g->oversize, 1);
        got_free(g);
        free(w.b);
    }
}

/* if_tsresol: powers of 10 and of 2; if_tsoffset either sign; a time
 * before the epoch after the offset is 0; times going backwards come as
 * they are. */
static void test_timestamps(void **state)
{
    (void)state;
    const struct {
        int tsresol;
        int64_t offset;
        uint64_t ts, want_usec;
    } rows[] = {
        {-1, 0, 1700000000123456ull, 1700000000123456ull},       /* default: microseconds */
        {6, 0, 1700000000123456ull, 1700000000123456ull},        /* explicit */
        {9, 0, 1700000000123456789ull, 1700000000123456ull},     /* nanoseconds, truncated */
        {3, 0, 1700000000123ull, 1700000000123000ull},           /* milliseconds */
        {0, 0, 1700000000ull, 1700000000000000ull},              /* seconds */
        {0x80 | 20, 0, (5ull << 20) | (1u << 19), 5500000ull},   /* 2^-20 s: 5.5 s */
        {0x80 | 10, 0, 3ull * 1024 + 1, 3000976ull},             /* 2^-10: 3 s + 976.56 us */
        {0x80 | 0, 0, 42, 42000000ull},                          /* 2^0: seconds */
        {6, 100, 1000000ull, 101000000ull},                      /* offset +100 s */
        {6, -50, 60000001ull, 10000001ull},                      /* offset -50 s */
        {6, -50, 1000000ull, 0},                                 /* before the epoch: 0 */
        {19, 0, 10000000000000000000ull, 1000000ull},            /* 10^-19 s */
        {0x80 | 63, 0, (1ull << 63) + (1ull << 62), 1500000ull}, /* 2^-63 s: 1.5 s */
    };
    for (int be = 0; be < 2; be++) {
        nb w = {0};
        shb(&w, be);
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
            idb(&w, 1, 0, rows[i].tsresol, rows[i].offset);
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
            epb(&w, (uint32_t)i, rows[i].ts, 20, 20, (uint8_t)i);
        epb(&w, 0, 1000000000000000ull, 20, 20, 99); /* backwards in time */
        got *g = read_both(&w);
        assert_int_equal(g->rc, 0);
        assert_int_equal(g->n, (int)(sizeof(rows) / sizeof(rows[0])) + 1);
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            if (g->p[i].ts_usec != rows[i].want_usec)
                fail_msg("row %zu (%s): %llu, want %llu", i, be ? "BE" : "LE",
                         (unsigned long long)g->p[i].ts_usec,
                         (unsigned long long)rows[i].want_usec);
        }
        assert_true(g->p[g->n - 1].ts_usec == 1000000000000000ull);
        assert_int_equal(g->oversize, 0); /* snaplen 0: none recorded */
        got_free(g);
        free(w.b);
    }
    /* a resolution that cannot be represented: an error at its block */
    nb w = {0};
    shb(&w, false);
    idb(&w, 1, 0, 20, 0);
    got *g = read_both(&w);
    assert_int_equal(g->rc, -2);
    assert_non_null(strstr(g->err, "if_tsresol"));
    assert_non_null(strstr(g->err, "offset 28"));
    got_free(g);
    free(w.b);
}

/* Interfaces with different link types in one section, and a second
 * section (other byte order) whose interface 0 is a new one. */
static void test_interfaces_and_sections(void **state)
{
    (void)state;
    nb w = {0};
    shb(&w, false);
    idb(&w, 1, 65535, -1, 0);   /* Ethernet */
    idb(&w, 101, 65535, -1, 0); /* raw IP */
    idb(&w, 113, 65535, 9, 0);  /* Linux SLL, nanoseconds */
    epb(&w, 0, 1000000, 60, 60, 1);
    epb(&w, 1, 2000000, 40, 40, 2);
    epb(&w, 2, 3000000000ull, 44, 44, 3);
    epb(&w, 1, 4000000, 40, 40, 4);
    shb(&w, true);
    idb(&w, 276, 65535, -1, 0); /* SLL2 is interface 0 of the second section */
    epb(&w, 0, 5000000, 50, 50, 5);
    got *g = read_both(&w);
    assert_int_equal(g->rc, 0);
    assert_int_equal(g->n, 5);
    const int want[] = {1, 101, 113, 101, 276};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(g->p[i].linktype, want[i]);
        assert_true(body_ok(g->data[i], g->p[i].caplen, (uint8_t)(i + 1)));
        assert_true(g->p[i].ts_usec == (uint64_t)(i + 1) * 1000000u);
    }
    got_free(g);
    /* interface 1 of the first section is gone in the second */
    epb(&w, 1, 6000000, 50, 50, 6);
    g = read_both(&w);
    assert_int_equal(g->n, 5);
    assert_int_equal(g->rc, -1);
    assert_non_null(strstr(g->err, "undeclared interface"));
    got_free(g);
    free(w.b);
}

/* Simple Packet Blocks (interface 0, no time), Obsolete Packet Blocks,
 * and blocks that are skipped. */
static void test_spb_opb_skipped(void **state)
{
    (void)state;
    for (int be = 0; be < 2; be++) {
        nb w = {0};
        shb(&w, be);
        other(&w, 4, 20); /* name resolution: before the interface */
        idb(&w, 1, 64, -1, 0);
        spb(&w, 1500, 64, 1);      /* cut to the snaplen by the writer */
        spb(&w, 61, 61, 2);        /* shorter than the snaplen: padding is not data */
        spb(&w, 1500, 100, 3);     /* more than the snaplen: whole, counted */
        other(&w, 5, 16);          /* interface statistics */
        other(&w, 0x00000BAD, 40); /* custom */
        other(&w, 0x40000BAD, 0);
        other(&w, 0x12345678, 8); /* unknown */
        opb(&w, 0, 7000000, 30, 4);
        got *g = read_both(&w);
        assert_int_equal(g->rc, 0);
        assert_int_equal(g->n, 4);
        assert_int_equal(g->p[0].caplen, 64);
        assert_int_equal(g->p[0].len, 1500);
        assert_int_equal(g->p[1].caplen, 61);
        assert_int_equal(g->p[2].caplen, 100);
        assert_true(g->p[0].ts_usec == 0);
        assert_true(g->p[3].ts_usec == 7000000);
        assert_int_equal(g->p[3].caplen, 30);
        for (int i = 0; i < 4; i++)
            assert_true(body_ok(g->data[i], g->p[i].caplen, (uint8_t)(i + 1)));
        assert_int_equal(g->oversize, 1);
        got_free(g);
        free(w.b);
    }
}

struct seen {
    int calls;
    uint32_t type, len;
};

static void on_secrets(void *ud, const pcapng_secrets *s)
{
    struct seen *k = ud;
    k->calls++;
    k->type = s->type;
    k->len = s->len;
}

/* Decryption Secrets Blocks: kept (before and after interfaces), handed
 * to the hook, bounded; the packets around them are not disturbed. */
static void test_secrets(void **state)
{
    (void)state;
    static const char keylog[] = "CLIENT_RANDOM 0011 2233"; /* not a real key */
    nb w = {0};
    shb(&w, false);
    dsb(&w, 0x544c534b, keylog, sizeof(keylog) - 1);
    idb(&w, 1, 0, -1, 0);
    epb(&w, 0, 1000000, 60, 60, 1);
    dsb(&w, 0x5353484b, "k2", 2);
    epb(&w, 0, 2000000, 60, 60, 2);
    bsrc src;
    bsrc_init_mem(&src, w.b, w.n);
    char err[256];
    pcapng *r = pcapng_open(&src, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(pcapng_secrets_count(r), 1); /* read before the interface */
    struct seen k = {0};
    pcapng_set_secrets_hook(r, on_secrets, &k);
    sf_pkt p;
    int n = 0;
    while (pcapng_next(r, &p) == 1) n++;
    assert_int_equal(n, 2);
    assert_int_equal(k.calls, 1);
    assert_int_equal(k.type, 0x5353484b);
    assert_int_equal(pcapng_secrets_count(r), 2);
    pcapng_secrets s;
    assert_true(pcapng_secrets_get(r, 0, &s));
    assert_int_equal(s.type, 0x544c534b);
    assert_int_equal(s.len, sizeof(keylog) - 1);
    assert_memory_equal(s.data, keylog, s.len);
    assert_false(pcapng_secrets_get(r, 2, &s));
    assert_int_equal(pcapng_secrets_dropped(r), 0);
    pcapng_free(r);
    free(w.b);

    /* more than PCAPNG_MAX_SECRETS bytes: the rest are counted, not kept */
    nb v = {0};
    shb(&v, false);
    idb(&v, 1, 0, -1, 0);
    char *big = calloc(1, 300000);
    assert_non_null(big);
    for (int i = 0; i < 5; i++) dsb(&v, 0x544c534b, big, 300000);
    epb(&v, 0, 1000000, 60, 60, 1);
    free(big);
    got *g = read_both(&v);
    assert_int_equal(g->rc, 0);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->secrets, 3); /* 900,000 bytes kept of 1 MiB */
    got_free(g);
    bsrc_init_mem(&src, v.b, v.n);
    r = pcapng_open(&src, err, sizeof(err));
    assert_non_null(r);
    while (pcapng_next(r, &p) == 1) {
    }
    assert_int_equal(pcapng_secrets_dropped(r), 2);
    pcapng_free(r);
    free(v.b);
}

/* A good file, then damage of each kind after two packets: the two come,
 * then an error naming the damaged block's offset. */
static void test_damage(void **state)
{
    (void)state;
    enum { TRUNC, SHORT_LEN, ODD_LEN, HUGE_LEN, TRAIL, CAPLEN_BIG, CAPLEN_PAST, BAD_IF, N };
    for (int be = 0; be < 2; be++) {
        for (int kind = 0; kind < N; kind++) {
            nb w = {0};
            shb(&w, be);
            idb(&w, 1, 65535, -1, 0);
            epb(&w, 0, 1000000, 60, 60, 1);
            epb(&w, 0, 2000000, 60, 60, 2);
            size_t at = w.n;
            const char *want = NULL;
            switch (kind) {
            case TRUNC: /* the file ends inside a block */
                epb(&w, 0, 3000000, 60, 60, 3);
                w.n -= 10;
                want = "truncated block";
                break;
            case SHORT_LEN:
                put32(&w, 6), put32(&w, 8), put32(&w, 8);
                want = "bad block length 8";
                break;
            case ODD_LEN:
                put32(&w, 6), put32(&w, 13), put32(&w, 0), put32(&w, 13);
                want = "bad block length 13";
                break;
            case HUGE_LEN:
                put32(&w, 6), put32(&w, (32u << 20)), put32(&w, 0);
                want = "bad block length 33554432";
                break;
            case TRAIL:
                epb(&w, 0, 3000000, 60, 60, 3);
                w.b[w.n - 1] ^= 0x40, w.b[w.n - 4] ^= 0x40; /* either order: the trailer changes */
                want = "trailing block length";
                break;
            case CAPLEN_BIG: {
                size_t b = begin(&w, 6);
                put32(&w, 0), put32(&w, 0), put32(&w, 0), put32(&w, 300000), put32(&w, 300000);
                end(&w, b);
                want = "more than the maximum of 262144";
                break;
            }
            case CAPLEN_PAST: {
                size_t b = begin(&w, 6);
                put32(&w, 0), put32(&w, 0), put32(&w, 0), put32(&w, 100), put32(&w, 100);
                body(&w, 40, 0);
                end(&w, b);
                want = "runs past its block";
                break;
            }
            case BAD_IF:
                epb(&w, 3, 3000000, 60, 60, 3);
                want = "undeclared interface";
                break;
            }
            got *g = read_both(&w);
            assert_int_equal(g->n, 2);
            assert_int_equal(g->rc, -1);
            char off[64];
            snprintf(off, sizeof(off), "offset %zu:", at);
            if (!strstr(g->err, want) || !strstr(g->err, off))
                fail_msg("kind %d: '%s' lacks '%s' or '%s'", kind, g->err, want, off);
            assert_true(body_ok(g->data[1], 60, 2));
            got_free(g);
            free(w.b);
        }
    }
}

/* Every prefix of a good file: no more than the whole file's packets, in
 * order, and an error (never a crash, never a read past the end: ASan)
 * unless the prefix ends on a block boundary. */
static void test_every_prefix(void **state)
{
    (void)state;
    nb w = {0};
    shb(&w, true);
    idb(&w, 1, 50, 9, 3);
    dsb(&w, 0x544c534b, "abc", 3);
    epb(&w, 0, 1000000000, 60, 60, 1);
    spb(&w, 70, 70, 2);
    other(&w, 5, 12);
    epb(&w, 0, 2000000000, 33, 40, 3);
    got *whole = read_both(&w);
    assert_int_equal(whole->rc, 0);
    assert_int_equal(whole->n, 3);
    for (size_t cut = 0; cut < w.n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exactly 'cut' bytes: ASan sees an over-read */
        memcpy(copy, w.b, cut);
        nb v = {copy, cut, cut, true};
        got *g = read_both(&v);
        assert_true(g->n <= whole->n);
        for (int i = 0; i < g->n; i++) assert_int_equal(g->p[i].caplen, whole->p[i].caplen);
        if (g->rc == 0) { /* only on a block boundary after the interface */
            assert_true(g->n < 3);
        } else {
            assert_true(g->err[0] != '\0');
            assert_non_null(strstr(g->err, "offset"));
        }
        got_free(g);
        free(copy);
    }
    got_free(whole);
    free(w.b);
}

/* Files pcapng_open refuses. */
static void test_open_errors(void **state)
{
    (void)state;
    nb w = {0};
    shb(&w, false);
    epb(&w, 0, 1, 10, 10, 1); /* a packet before any interface */
    got *g = read_both(&w);
    assert_int_equal(g->rc, -2);
    assert_non_null(strstr(g->err, "before any interface"));
    got_free(g);
    w.n = 0;
    shb(&w, false);
    g = read_both(&w);
    assert_int_equal(g->rc, -2);
    assert_non_null(strstr(g->err, "no interface"));
    got_free(g);
    w.b[8] = 0x11; /* byte-order magic */
    g = read_both(&w);
    assert_non_null(strstr(g->err, "byte-order magic"));
    got_free(g);
    w.n = 0;
    idb(&w, 1, 0, -1, 0); /* no section header */
    g = read_both(&w);
    assert_non_null(strstr(g->err, "does not start a section"));
    got_free(g);
    free(w.b);
}

/* ---- through the CLI's source (capture.c) ---- */

static char tmpdir[64];

static const char *write_nb(const char *name, const nb *w)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(w->b, 1, w->n, f), w->n);
    fclose(f);
    return path;
}

/* An IPv4/UDP packet (the bytes after the link header), 'n' bytes long. */
static void ipv4_udp(uint8_t *p, size_t n)
{
    memset(p, 0, n);
    p[0] = 0x45;
    p[2] = (uint8_t)(n >> 8), p[3] = (uint8_t)n;
    p[8] = 64, p[9] = 17;
    p[12] = 10, p[15] = 1, p[16] = 192, p[19] = 2;
    p[20] = 0x30, p[21] = 0x39, p[22] = 0x00, p[23] = 0x35;
    p[24] = (uint8_t)((n - 20) >> 8), p[25] = (uint8_t)(n - 20);
}

static void frame_epb(nb *w, uint32_t ifid, uint64_t ts, const uint8_t *f, uint32_t n)
{
    size_t at = begin(w, 6);
    put32(w, ifid);
    put32(w, (uint32_t)(ts >> 32));
    put32(w, (uint32_t)ts);
    put32(w, n);
    put32(w, n);
    put(w, f, n);
    end(w, at);
}

/* A -f filter runs on each interface with a program for its own link
 * type; the over-snaplen event is reported once per file; secrets are
 * reachable through the source. */
static void test_cli_source(void **state)
{
    (void)state;
    uint8_t eth[14 + 100], raw[100];
    memset(eth, 0, 14);
    eth[12] = 0x08;
    ipv4_udp(eth + 14, 100);
    ipv4_udp(raw, 100);
    nb w = {0};
    shb(&w, false);
    idb(&w, 1, 64, -1, 0);  /* Ethernet, snaplen 64: its frames are longer */
    idb(&w, 101, 0, -1, 0); /* raw IP */
    dsb(&w, 0x544c534b, "s", 1);
    frame_epb(&w, 0, 1000000, eth, sizeof(eth));
    frame_epb(&w, 1, 2000000, raw, sizeof(raw));
    frame_epb(&w, 0, 3000000, eth, sizeof(eth));
    eth[14 + 9] = 6; /* TCP: the filter drops it */
    frame_epb(&w, 0, 4000000, eth, sizeof(eth));
    const char *path = write_nb("mixed.pcapng", &w);
    for (int filtered = 0; filtered < 2; filtered++) {
        char err[CAP_ERRBUF_SIZE];
        cap_source *s;
        assert_int_equal(cap_open_file(path, filtered ? "udp port 53" : NULL, &s, err), CAP_OK);
        assert_false(cap_mapped(s));
        assert_int_equal(cap_linktype(s), 1);
        cap_packet p;
        int n = 0, events = 0, lt[4];
        uint32_t caplen[4];
        int rc;
        while ((rc = cap_next(s, &p)) == CAP_PACKET) {
            assert_true(n < 4);
            lt[n] = p.linktype, caplen[n] = p.caplen, n++;
            events += cap_take_events(s) == CAP_EV_OVERSIZE;
        }
        assert_int_equal(rc, CAP_EOF);
        events += cap_take_events(s) != 0;
        assert_int_equal(n, filtered ? 3 : 4);
        assert_int_equal(lt[0], 1);
        assert_int_equal(lt[1], 101);
        assert_int_equal(lt[2], 1);
        assert_int_equal(caplen[0], sizeof(eth)); /* whole, past the snaplen of 64 */
        assert_int_equal(caplen[1], sizeof(raw));
        assert_int_equal(events, 1);
        assert_int_equal(cap_secrets_count(s), 1);
        pcapng_secrets sec;
        assert_true(cap_secrets_get(s, 0, &sec));
        assert_int_equal(sec.len, 1);
        cap_close(s);
    }
    /* an interface whose link type the filter cannot compile for: the
     * file stops there with the filter's message */
    nb v = {0};
    shb(&v, false);
    idb(&v, 101, 0, -1, 0);
    frame_epb(&v, 0, 1000000, raw, sizeof(raw));
    idb(&v, 1, 0, -1, 0);
    frame_epb(&v, 1, 2000000, eth, sizeof(eth));
    path = write_nb("filter-lt.pcapng", &v);
    char err[CAP_ERRBUF_SIZE];
    cap_source *s;
    assert_int_equal(cap_open_file(path, "ether host 02:00:00:00:00:01", &s, err), CAP_EFILTER);
    assert_non_null(strstr(err, "bad filter"));
    free(v.b);
    free(w.b);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(test_tmpname(tmpdir, sizeof(tmpdir), "egret-test-pcapng")) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char path[8192];
    const char *names[] = {"mixed.pcapng", "filter-lt.pcapng"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_both_orders),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_interfaces_and_sections),
        cmocka_unit_test(test_spb_opb_skipped),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_damage),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_cli_source),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
