/*
 * test_h2.c -- passive HTTP/2 parser: frames built here (header blocks by
 * nghttp2's HPACK deflater, the test's only use of it), fed per direction
 * and checked through the http_callbacks log: concurrent interleaved
 * streams, CONTINUATION, padding, dynamic-table eviction, table size
 * changes by SETTINGS, RST_STREAM, GOAWAY, PUSH_PROMISE, gzip and
 * multipart bodies, the bounds, garbage, split invariance, loss inside
 * DATA and header blocks, resynchronisation, h2c upgrade, and a mutation
 * loop (run under ASan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include "h2.h"
#include "http.h"

#define REQ  HTTP_DIR_REQ
#define RESP HTTP_DIR_RESP

/* ---- recorder: every callback appends a line to a log ---- */

#define MAX_IDS 512

typedef struct rec {
    char *log;
    size_t n, cap;
    const void *last_body;
    unsigned reqh, reqs, resps, gaps;
    /* bodies per txn id and direction, for interleaved streams */
    char *body[MAX_IDS][2];
    size_t blen[MAX_IDS][2];
} rec;

static void app(rec *r, const char *s, size_t n)
{
    if (r->n + n + 1 > r->cap) {
        r->cap = (r->n + n + 1) * 2;
        r->log = realloc(r->log, r->cap);
        assert_non_null(r->log);
    }
    memcpy(r->log + r->n, s, n);
    r->n += n;
    r->log[r->n] = 0;
}

static void appf(rec *r, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    r->last_body = NULL;
    app(r, tmp, (size_t)n);
}

static void cb_reqh(void *ud, const http_txn *t)
{
    ((rec *)ud)->reqh++;
    appf(ud, "REQ %llu s%u %s %s %s %s ua=%s ct=%s dl=%lld tf=%x\n", (unsigned long long)t->id,
         t->stream_id, t->method, t->scheme, t->host, t->uri, t->user_agent, t->req.content_type,
         (long long)t->req.declared_len, t->flags);
}

static void cb_resph(void *ud, const http_txn *t)
{
    appf(ud, "RESPH %llu %d ct=%s ce=%s dl=%lld\n", (unsigned long long)t->id, t->status,
         t->resp.content_type, t->resp.content_encoding, (long long)t->resp.declared_len);
}

static void cb_body(void *ud, const http_txn *t, http_dir dir, const http_part *p,
                    const uint8_t *data, size_t len)
{
    rec *r = ud;
    const void *key = p ? (const void *)p : (const void *)((const char *)t + dir);
    if (r->last_body != key) {
        appf(r, "DATA %llu/%d/%d:", (unsigned long long)t->id, (int)dir, p ? (int)p->index : -1);
        r->last_body = key;
    }
    app(r, (const char *)data, len);
    if (t->id < MAX_IDS) {
        char **b = &r->body[t->id][dir];
        *b = realloc(*b, r->blen[t->id][dir] + len + 1);
        memcpy(*b + r->blen[t->id][dir], data, len);
        r->blen[t->id][dir] += len;
        (*b)[r->blen[t->id][dir]] = 0;
    }
}

static void cb_pbeg(void *ud, const http_txn *t, http_dir dir, const http_part *p)
{
    appf(ud, "\nPART %llu %u name=%s file=%s ct=%s\n", (unsigned long long)t->id, p->index, p->name,
         p->filename, p->content_type);
}

static void cb_pend(void *ud, const http_txn *t, http_dir dir, const http_part *p)
{
    appf(ud, "\nPARTEND %u bytes=%llu value=%s\n", p->index, (unsigned long long)p->bytes,
         p->value);
}

static void cb_reqd(void *ud, const http_txn *t)
{
    ((rec *)ud)->reqs++;
    appf(ud, "\nREQDONE %llu flags=%x wire=%llu body=%llu parts=%u\n", (unsigned long long)t->id,
         t->req.flags, (unsigned long long)t->req.wire_body_bytes,
         (unsigned long long)t->req.body_bytes, t->parts);
}

static void cb_respd(void *ud, const http_txn *t)
{
    ((rec *)ud)->resps++;
    appf(ud, "\nRESPDONE %llu %s %d tflags=%x flags=%x body=%llu\n", (unsigned long long)t->id,
         t->method, t->status, t->flags, t->resp.flags, (unsigned long long)t->resp.body_bytes);
}

static void cb_ev(void *ud, const http_txn *t, http_dir dir, http_event ev)
{
    appf(ud, "EV %d %s\n", (int)dir, http_event_name(ev));
}

static void cb_gap(void *ud, const http_txn *t, http_dir dir, const http_part *p, uint64_t len)
{
    ((rec *)ud)->gaps++;
    appf(ud, "\nGAP %llu/%d/%d:%llu\n", (unsigned long long)t->id, (int)dir, p ? (int)p->index : -1,
         (unsigned long long)len);
}

static const http_callbacks CBS = {cb_reqh, cb_resph, cb_body, cb_pbeg, cb_pend,
                                   cb_reqd, cb_respd, cb_ev,   cb_gap};

static void rec_free(rec *r)
{
    free(r->log);
    for (int i = 0; i < MAX_IDS; i++) free(r->body[i][0]), free(r->body[i][1]);
    memset(r, 0, sizeof(*r));
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle)) fail_msg("missing [%s] in log:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle)) fail_msg("unexpected [%s] in log:\n%s", needle, hay);
}

/* Every announced request got its completions (after both ends). */
static void assert_contract(const rec *r)
{
    assert_int_equal(r->reqh, r->reqs);
    assert_int_equal(r->reqs, r->resps);
}

/* ---- wire builder: a script of per-direction byte runs and gaps ---- */

typedef struct seg {
    int dir;
    uint8_t *p;
    size_t n;
    uint64_t gap; /* > 0: a gap notice instead of bytes */
} seg;

typedef struct wire {
    seg s[4096];
    int n;
    nghttp2_hd_deflater *def[2]; /* encoder of each direction's blocks */
} wire;

static void w_init(wire *w)
{
    memset(w, 0, sizeof(*w));
    /* the encoders start at the protocol's 4096 and may grow to 64 KiB
     * when a test changes their table size (as a SETTINGS would) */
    assert_int_equal(nghttp2_hd_deflate_new(&w->def[REQ], 65536), 0);
    assert_int_equal(nghttp2_hd_deflate_new(&w->def[RESP], 65536), 0);
}

static void w_free(wire *w)
{
    for (int i = 0; i < w->n; i++) free(w->s[i].p);
    nghttp2_hd_deflate_del(w->def[REQ]);
    nghttp2_hd_deflate_del(w->def[RESP]);
}

static void w_raw(wire *w, int dir, const void *p, size_t n)
{
    seg *s = w->n ? &w->s[w->n - 1] : NULL;
    if (!s || s->dir != dir || s->gap) {
        assert_true(w->n < 4096);
        s = &w->s[w->n++];
        memset(s, 0, sizeof(*s));
        s->dir = dir;
    }
    s->p = realloc(s->p, s->n + n + 1);
    if (n) memcpy(s->p + s->n, p, n);
    s->n += n;
}

static void w_gap(wire *w, int dir, uint64_t n)
{
    assert_true(w->n < 4096);
    seg *s = &w->s[w->n++];
    memset(s, 0, sizeof(*s));
    s->dir = dir;
    s->gap = n;
}

/* A frame into 'out' (returns its size). */
static size_t fbuild(uint8_t *out, uint8_t type, uint8_t flags, uint32_t sid, const void *pl,
                     size_t len)
{
    out[0] = (uint8_t)(len >> 16);
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    out[3] = type;
    out[4] = flags;
    out[5] = (uint8_t)(sid >> 24);
    out[6] = (uint8_t)(sid >> 16);
    out[7] = (uint8_t)(sid >> 8);
    out[8] = (uint8_t)sid;
    if (len) memcpy(out + 9, pl, len);
    return 9 + len;
}

static void w_frame(wire *w, int dir, uint8_t type, uint8_t flags, uint32_t sid, const void *pl,
                    size_t len)
{
    uint8_t *f = malloc(9 + len);
    size_t n = fbuild(f, type, flags, sid, pl, len);
    w_raw(w, dir, f, n);
    free(f);
}

/* A header block of the name/value pairs in nv (NULL-terminated). */
static size_t w_block(wire *w, int dir, const char *const *nv, uint8_t *out, size_t cap)
{
    nghttp2_nv a[64];
    size_t k = 0;
    for (; nv[2 * k]; k++) {
        a[k].name = (uint8_t *)(uintptr_t)nv[2 * k];
        a[k].namelen = strlen(nv[2 * k]);
        a[k].value = (uint8_t *)(uintptr_t)nv[2 * k + 1];
        a[k].valuelen = strlen(nv[2 * k + 1]);
        a[k].flags = NGHTTP2_NV_FLAG_NONE;
    }
    ssize_t n = nghttp2_hd_deflate_hd(w->def[dir], out, cap, a, k);
    assert_true(n >= 0);
    return (size_t)n;
}

static void w_headers(wire *w, int dir, uint32_t sid, uint8_t flags, const char *const *nv)
{
    uint8_t blk[16384];
    size_t n = w_block(w, dir, nv, blk, sizeof(blk));
    w_frame(w, dir, 1, flags | 0x4, sid, blk, n);
}

static void w_data(wire *w, int dir, uint32_t sid, uint8_t flags, const char *s)
{
    w_frame(w, dir, 0, flags, sid, s, strlen(s));
}

static void w_preface(wire *w)
{
    w_raw(w, REQ, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    w_frame(w, REQ, 4, 0, 0, NULL, 0);
    w_frame(w, RESP, 4, 0, 0, NULL, 0);
    w_frame(w, RESP, 4, 1, 0, NULL, 0);
    w_frame(w, REQ, 4, 1, 0, NULL, 0);
}

/* Plays the script in pieces of 'piece' bytes (0 = whole runs), then ends
 * both directions. */
static void play(wire *w, h2_conn *c, size_t piece)
{
    for (int i = 0; i < w->n; i++) {
        seg *s = &w->s[i];
        if (s->gap) {
            h2_conn_gap(c, (http_dir)s->dir, s->gap);
            continue;
        }
        size_t step = piece ? piece : s->n;
        for (size_t off = 0; off < s->n; off += step)
            h2_conn_feed(c, (http_dir)s->dir, s->p + off, s->n - off < step ? s->n - off : step);
    }
    h2_conn_end(c, REQ);
    h2_conn_end(c, RESP);
}

static h2_conn *run(wire *w, rec *r, const h2_limits *lim, size_t piece)
{
    memset(r, 0, sizeof(*r));
    h2_conn *c = h2_conn_new(lim, &CBS, r);
    assert_non_null(c);
    play(w, c, piece);
    return c;
}

static const char *const REQ_POST[] = {":method",
                                       "POST",
                                       ":scheme",
                                       "https",
                                       ":authority",
                                       "api.openai.com",
                                       ":path",
                                       "/v1/chat/completions",
                                       "user-agent",
                                       "OpenAI/Python 1.0",
                                       "content-type",
                                       "application/json",
                                       NULL};
static const char *const RESP_200[] = {":status", "200", "content-type", "application/json", NULL};

/* ---- tests ---- */

static void test_basic(void **state)
{
    (void)state;
    wire w;
    w_init(&w);
    w_preface(&w);
    const char *const req[] = {":method",
                               "POST",
                               ":scheme",
                               "https",
                               ":authority",
                               "api.openai.com",
                               ":path",
                               "/v1/chat/completions",
                               "user-agent",
                               "OpenAI/Python 1.0",
                               "content-type",
                               "application/json",
                               "content-length",
                               "11",
                               NULL};
    w_headers(&w, REQ, 1, 0, req);
    w_data(&w, REQ, 1, 0, "{\"a\":");
    w_data(&w, REQ, 1, 1, "\"xyz\"}");
    w_headers(&w, RESP, 1, 0, RESP_200);
    w_data(&w, RESP, 1, 1, "ok");
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    assert_string_equal(r.log, "REQ 1 s1 POST https api.openai.com /v1/chat/completions "
                               "ua=OpenAI/Python 1.0 ct=application/json dl=11 tf=0\n"
                               "DATA 1/0/-1:{\"a\":\"xyz\"}\n"
                               "REQDONE 1 flags=10 wire=11 body=11 parts=0\n"
                               "RESPH 1 200 ct=application/json ce= dl=-1\n"
                               "DATA 1/1/-1:ok\n"
                               "RESPDONE 1 POST 200 tflags=0 flags=10 body=2\n");
    const h2_conn_stats *st = h2_conn_stats_get(c);
    assert_int_equal(st->streams, 1);
    assert_int_equal(st->frames[REQ][0], 2);
    assert_int_equal(st->frames[REQ][4], 2);
    assert_false(st->broken);
    assert_true(h2_looks_like_preface((const uint8_t *)"PRI * HTTP/2", 12));
    assert_false(h2_looks_like_preface((const uint8_t *)"GET / HTTP/1.1", 14));
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

/* 40 streams open at once, their DATA frames interleaved round-robin,
 * responses in reverse order; every body arrives whole on its txn. */
static void test_interleaved(void **state)
{
    (void)state;
    wire w;
    w_init(&w);
    w_preface(&w);
    enum { N = 40 };
    char path[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(path[i], sizeof(path[i]), "/v1/upload/%d", i);
        const char *const nv[] = {":method", "POST",  ":scheme", "https", ":authority",
                                  "h",       ":path", path[i],   NULL};
        w_headers(&w, REQ, 1 + 2 * (uint32_t)i, 0, nv);
    }
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < N; i++) {
            char chunk[64];
            snprintf(chunk, sizeof(chunk), "[s%d r%d]", i, round);
            w_data(&w, REQ, 1 + 2 * (uint32_t)i, round == 4 ? 1 : 0, chunk);
        }
    for (int i = N - 1; i >= 0; i--) {
        w_headers(&w, RESP, 1 + 2 * (uint32_t)i, 0, RESP_200);
        char chunk[64];
        snprintf(chunk, sizeof(chunk), "resp%d", i);
        w_data(&w, RESP, 1 + 2 * (uint32_t)i, 1, chunk);
    }
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    assert_int_equal(r.reqs, N);
    assert_int_equal(r.resps, N);
    for (int i = 0; i < N; i++) {
        char want[512] = "", piece[64];
        for (int round = 0; round < 5; round++) {
            snprintf(piece, sizeof(piece), "[s%d r%d]", i, round);
            strcat(want, piece);
        }
        assert_string_equal(r.body[i + 1][REQ], want);
        snprintf(piece, sizeof(piece), "resp%d", i);
        assert_string_equal(r.body[i + 1][RESP], piece);
        char line[128];
        snprintf(line, sizeof(line), " /v1/upload/%d ", i);
        assert_contains(r.log, line);
    }
    assert_int_equal(h2_conn_stats_get(c)->streams, N);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

/* A header block in HEADERS + 2 CONTINUATION; padded HEADERS with
 * priority; padded DATA. */
static void test_continuation_padding(void **state)
{
    (void)state;
    wire w;
    w_init(&w);
    w_preface(&w);
    uint8_t blk[4096], f[8192];
    size_t n = w_block(&w, REQ, REQ_POST, blk, sizeof(blk));
    assert_true(n > 10);
    w_frame(&w, REQ, 1, 0, 1, blk, 4);
    w_frame(&w, REQ, 9, 0, 1, blk + 4, 3);
    w_frame(&w, REQ, 9, 0x4, 1, blk + 7, n - 7);
    /* DATA, PADDED: pad length 5 */
    f[0] = 5;
    memcpy(f + 1, "hello", 5);
    memset(f + 6, 0, 5);
    w_frame(&w, REQ, 0, 0x8 | 0x1, 1, f, 11);
    /* HEADERS, PADDED | PRIORITY | END_HEADERS: pad 3, 5 priority bytes */
    n = w_block(&w, RESP, RESP_200, blk, sizeof(blk));
    f[0] = 3;
    memcpy(f + 1, "\x80\x00\x00\x00\x10", 5);
    memcpy(f + 6, blk, n);
    memset(f + 6 + n, 0, 3);
    w_frame(&w, RESP, 1, 0x8 | 0x20 | 0x4, 1, f, 6 + n + 3);
    /* DATA padded with an empty content */
    f[0] = 2;
    w_frame(&w, RESP, 0, 0x8, 1, f, 3);
    w_data(&w, RESP, 1, 1, "world");
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    assert_contains(r.log, "REQ 1 s1 POST https api.openai.com /v1/chat/completions");
    assert_contains(r.log, "DATA 1/0/-1:hello\nREQDONE 1 flags=10 wire=5 body=5");
    assert_contains(r.log, "RESPH 1 200");
    assert_contains(r.log, "DATA 1/1/-1:world\nRESPDONE 1 POST 200 tflags=0 flags=10 body=5");
    assert_false(h2_conn_stats_get(c)->broken);
    h2_conn_free(c);
    rec_free(&r);

    /* padding longer than the frame: protocol error */
    wire w2;
    w_init(&w2);
    w_preface(&w2);
    w_headers(&w2, REQ, 1, 0, REQ_POST);
    f[0] = 9;
    w_frame(&w2, REQ, 0, 0x8, 1, f, 4);
    c = run(&w2, &r, NULL, 0);
    assert_true(h2_conn_stats_get(c)->broken);
    assert_contains(r.log, "EV 0 http2.protocol_error");
    assert_contains(r.log, "REQDONE 1 flags=20");
    assert_contract(&r);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w2);
    w_free(&w);
}

static char names_host[256], names_alt[256];
static uint32_t names_anom;

static void cb_reqh_names(void *ud, const http_txn *t)
{
    cb_reqh(ud, t);
    snprintf(names_host, sizeof(names_host), "%s", t->host);
    snprintf(names_alt, sizeof(names_alt), "%s", t->host_alt);
    names_anom = t->anomalies;
}

/* :authority wins over a host field (RFC 9113 8.3.1); a different host is
 * kept in host_alt and marked host_mismatch; both are normalised (case,
 * port, trailing dot) before they are compared. */
static void test_host_authority(void **state)
{
    (void)state;
    static const struct {
        const char *authority, *host, *want, *alt;
        uint32_t anomalies;
    } cases[] = {
        {"API.OpenAI.com:443", "api.openai.com.", "api.openai.com", "", 0},
        {"api.openai.com", "Example.org:8080", "api.openai.com", "example.org",
         HTTP_ANOM_HOST_MISMATCH},
        {"api.openai.com", NULL, "api.openai.com", "", 0},
    };
    http_callbacks cbs = CBS;
    cbs.on_request_headers = cb_reqh_names;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *const nv[] = {":method",
                                  "POST",
                                  ":scheme",
                                  "https",
                                  ":authority",
                                  cases[i].authority,
                                  ":path",
                                  "/v1/chat/completions",
                                  cases[i].host ? "host" : NULL,
                                  cases[i].host,
                                  NULL};
        wire w;
        w_init(&w);
        w_preface(&w);
        w_headers(&w, REQ, 1, 0x1, nv);
        w_headers(&w, RESP, 1, 0x1, RESP_200);
        rec r;
        memset(&r, 0, sizeof(r));
        names_host[0] = names_alt[0] = 0;
        names_anom = ~0u;
        h2_conn *c = h2_conn_new(NULL, &cbs, &r);
        assert_non_null(c);
        play(&w, c, 0);
        assert_int_equal(r.reqh, 1);
        assert_string_equal(names_host, cases[i].want);
        assert_string_equal(names_alt, cases[i].alt);
        assert_int_equal(names_anom, cases[i].anomalies);
        h2_conn_free(c);
        rec_free(&r);
        w_free(&w);
    }
}

/* Many requests with distinct, indexed header values: the 4096-byte table
 * evicts again and again; every block still decodes right. */
static void test_table_eviction(void **state)
{
    (void)state;
    wire w;
    w_init(&w);
    w_preface(&w);
    enum { N = 60 };
    char val[N][400], path[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(path[i], sizeof(path[i]), "/p/%d", i % 7);
        memset(val[i], 'a' + i % 26, 300);
        snprintf(val[i] + 300, 100, "-%d", i);
        const char *const nv[] = {":method",  "GET",      ":scheme", "https", ":authority",
                                  "h",        ":path",    path[i],   "x-big", val[i],
                                  "x-repeat", val[i / 3], NULL};
        w_headers(&w, REQ, 1 + 2 * (uint32_t)i, 1, nv);
        w_headers(&w, RESP, 1 + 2 * (uint32_t)i, 1, RESP_200);
    }
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    assert_int_equal(r.reqs, N);
    for (int i = 0; i < N; i++) {
        char line[128];
        snprintf(line, sizeof(line), "REQ %d s%d GET https h /p/%d ", i + 1, 1 + 2 * i, i % 7);
        assert_contains(r.log, line);
    }
    assert_false(h2_conn_stats_get(c)->hpack_lost[REQ]);
    assert_int_equal(h2_conn_stats_get(c)->events[HTTP_EV_H2_HPACK_ERROR], 0);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

static void settings_frame(wire *w, int dir, uint16_t id, uint32_t v)
{
    uint8_t e[6] = {(uint8_t)(id >> 8), (uint8_t)id,       (uint8_t)(v >> 24),
                    (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    w_frame(w, dir, 4, 0, 0, e, 6);
}

/* SETTINGS_HEADER_TABLE_SIZE from the client governs the server's
 * encoder: a larger table is only decodable if the setting was applied; a
 * smaller one takes effect at the server's ACK (the encoder then signals
 * it in its next block). */
static void test_table_size_settings(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    const char *const r1[] = {":status", "200", "x-a", big, "x-b", big, "x-c", big, NULL};
    for (int with = 0; with < 2; with++) {
        wire w;
        w_init(&w);
        w_raw(&w, REQ, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
        if (with) settings_frame(&w, REQ, 1, 16384);
        w_frame(&w, RESP, 4, 0, 0, NULL, 0);
        if (with) w_frame(&w, RESP, 4, 1, 0, NULL, 0);
        assert_int_equal(nghttp2_hd_deflate_change_table_size(w.def[RESP], 16384), 0);
        for (uint32_t sid = 1; sid <= 5; sid += 2) {
            const char *const nv[] = {":method", "GET",   ":scheme", "http", ":authority",
                                      "h",       ":path", "/x",      NULL};
            w_headers(&w, REQ, sid, 1, nv);
            w_headers(&w, RESP, sid, 1, r1);
        }
        rec r;
        h2_conn *c = run(&w, &r, NULL, 0);
        const h2_conn_stats *st = h2_conn_stats_get(c);
        if (with) {
            assert_false(st->hpack_lost[RESP]);
            assert_int_equal(r.resps, 3);
            assert_contains(r.log, "RESPDONE 3 GET 200");
        } else {
            /* the encoder used a table the client never allowed */
            assert_true(st->hpack_lost[RESP]);
            assert_contains(r.log, "http2.hpack_error");
        }
        assert_contract(&r);
        h2_conn_free(c);
        rec_free(&r);
        w_free(&w);
    }

    /* shrink to 0 at the ACK; blocks before the ACK still use the old table */
    wire w;
    w_init(&w);
    w_preface(&w);
    const char *const nv[] = {":method", "GET",   ":scheme", "http", ":authority",
                              "h",       ":path", "/x",      NULL};
    const char *const rr[] = {":status", "200", "x-long", big, NULL};
    w_headers(&w, REQ, 1, 1, nv);
    settings_frame(&w, REQ, 1, 0);
    w_headers(&w, RESP, 1, 1, rr); /* before the server saw the SETTINGS */
    w_frame(&w, RESP, 4, 1, 0, NULL, 0);
    assert_int_equal(nghttp2_hd_deflate_change_table_size(w.def[RESP], 0), 0);
    w_headers(&w, REQ, 3, 1, nv);
    w_headers(&w, RESP, 3, 1, rr);
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    assert_false(h2_conn_stats_get(c)->hpack_lost[RESP]);
    assert_contains(r.log, "RESPDONE 1 GET 200");
    assert_contains(r.log, "RESPDONE 2 GET 200");
    h2_conn_free(c);
    rec_free(&r);

    /* a table size above the cap is capped and counted */
    h2_limits lim;
    h2_limits_default(&lim);
    lim.max_table_size = 8192;
    c = run(&w, &r, &lim, 0);
    assert_int_equal(h2_conn_stats_get(c)->events[HTTP_EV_H2_TABLE_SIZE], 0);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
    w_init(&w);
    w_raw(&w, REQ, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    settings_frame(&w, REQ, 1, 1u << 20);
    c = run(&w, &r, &lim, 0);
    assert_int_equal(h2_conn_stats_get(c)->events[HTTP_EV_H2_TABLE_SIZE], 1);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

static void rst(wire *w, int dir, uint32_t sid)
{
    w_frame(w, dir, 3, 0, sid, "\0\0\0\x08", 4);
}

/* RST_STREAM in the middle of an upload; GOAWAY resets streams above its
 * last stream id. */
static void test_rst_goaway(void **state)
{
    (void)state;
    wire w;
    w_init(&w);
    w_preface(&w);
    w_headers(&w, REQ, 1, 0, REQ_POST);
    w_data(&w, REQ, 1, 0, "part-of-a-body");
    rst(&w, REQ, 1);
    w_data(&w, REQ, 1, 1, "after-reset"); /* ignored */
    w_headers(&w, REQ, 3, 0, REQ_POST);
    w_headers(&w, REQ, 5, 0, REQ_POST);
    w_headers(&w, RESP, 3, 0, RESP_200);
    w_data(&w, RESP, 3, 0, "partial response");
    rst(&w, RESP, 3);
    uint8_t ga[8] = {0, 0, 0, 3, 0, 0, 0, 0};
    w_frame(&w, RESP, 7, 0, 0, ga, 8);
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    assert_contains(r.log, "DATA 1/0/-1:part-of-a-bodyEV 0 http2.stream_reset\n"
                           "EV 0 http.truncated\n\nREQDONE 1 flags=20 wire=14 body=14");
    assert_contains(r.log, "RESPDONE 1 POST 0 tflags=28 flags=0");
    assert_lacks(r.log, "after-reset");
    assert_contains(r.log, "EV 1 http2.stream_reset");
    assert_contains(r.log, "RESPDONE 2 POST 200 tflags=20 flags=20 body=16");
    assert_contains(r.log, "EV 1 http2.goaway");
    assert_contains(r.log, "RESPDONE 3 POST 0 tflags=28");
    assert_int_equal(h2_conn_stats_get(c)->events[HTTP_EV_H2_GOAWAY], 1);
    assert_contract(&r);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

/* PUSH_PROMISE: the promised request is decoded with the server's table
 * (so the next response that refers to its entries decodes too). */
static void test_push_promise(void **state)
{
    (void)state;
    wire w;
    w_init(&w);
    w_preface(&w);
    const char *const get[] = {":method",      "GET",   ":scheme", "https", ":authority",
                               "site.example", ":path", "/",       NULL};
    w_headers(&w, REQ, 1, 1, get);
    const char *const promise[] = {":method",
                                   "GET",
                                   ":scheme",
                                   "https",
                                   ":authority",
                                   "site.example",
                                   ":path",
                                   "/style.css",
                                   "x-pushed-marker",
                                   "unique-value-123",
                                   NULL};
    uint8_t blk[4096], f[4200];
    size_t n = w_block(&w, RESP, promise, blk, sizeof(blk));
    f[0] = f[1] = f[2] = 0;
    f[3] = 2;
    memcpy(f + 4, blk, n);
    w_frame(&w, RESP, 5, 0x4, 1, f, 4 + n);
    const char *const r1[] = {":status", "200", "x-pushed-marker", "unique-value-123", NULL};
    w_headers(&w, RESP, 1, 0, r1);
    w_data(&w, RESP, 1, 1, "<html>");
    const char *const r2[] = {":status", "200", "content-type", "text/css", NULL};
    w_headers(&w, RESP, 2, 0, r2);
    w_data(&w, RESP, 2, 1, "body{}");
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    assert_contains(r.log, "REQ 1 s1 GET https site.example / ");
    assert_contains(r.log, "REQ 2 s2 GET https site.example /style.css ua= ct= dl=-1 tf=40");
    assert_contains(r.log, "REQDONE 2 flags=10");
    assert_contains(r.log, "DATA 1/1/-1:<html>");
    assert_contains(r.log, "RESPH 2 200 ct=text/css");
    assert_contains(r.log, "DATA 2/1/-1:body{}");
    assert_contains(r.log, "RESPDONE 2 GET 200 tflags=40 flags=10 body=6");
    assert_false(h2_conn_stats_get(c)->hpack_lost[RESP]);
    assert_contract(&r);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

static size_t gzip_buf(const char *in, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)strlen(in);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

/* gzip request body in three DATA frames; multipart upload with a file
 * part and a field. */
static void test_gzip_multipart(void **state)
{
    (void)state;
    wire w;
    w_init(&w);
    w_preface(&w);
    const char *const nv[] = {
        ":method", "POST",      ":scheme",          "https", ":authority",   "api.example",
        ":path",   "/v1/batch", "content-encoding", "gzip",  "content-type", "application/json",
        NULL};
    w_headers(&w, REQ, 1, 0, nv);
    const char *plain = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello hello hello\"}]}";
    uint8_t gz[512];
    size_t gn = gzip_buf(plain, gz, sizeof(gz));
    w_frame(&w, REQ, 0, 0, 1, gz, 10);
    w_frame(&w, REQ, 0, 0, 1, gz + 10, 7);
    w_frame(&w, REQ, 0, 1, 1, gz + 17, gn - 17);
    const char *const mp[] = {
        ":method",     "POST",  ":scheme",   "https",        ":authority",
        "api.example", ":path", "/v1/files", "content-type", "multipart/form-data; boundary=XyZ",
        NULL};
    w_headers(&w, REQ, 3, 0, mp);
    w_data(&w, REQ, 3, 0,
           "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--XyZ\r\n"
           "Content-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n"
           "Content-Type: application/jsonl\r\n\r\n{\"custom_id\":1}\n");
    w_data(&w, REQ, 3, 1, "{\"custom_id\":2}\n\r\n--XyZ--\r\n");
    w_headers(&w, RESP, 1, 1, RESP_200);
    w_headers(&w, RESP, 3, 1, RESP_200);
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    char want[256];
    snprintf(want, sizeof(want), "DATA 1/0/-1:%s\nREQDONE 1 flags=12 wire=%zu body=%zu", plain, gn,
             strlen(plain));
    assert_contains(r.log, want);
    assert_contains(r.log, "PARTEND 0 bytes=5 value=batch");
    assert_contains(r.log, "PART 2 1 name=file file=in.jsonl ct=application/jsonl\n"
                           "DATA 2/0/1:{\"custom_id\":1}\n{\"custom_id\":2}\n");
    assert_contains(r.log, "REQDONE 2 flags=18");
    assert_contract(&r);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

/* Bounds: a frame over max_frame_size breaks the connection; one over
 * the peer's SETTINGS_MAX_FRAME_SIZE is counted and parsed; streams over
 * max_streams are ignored (their blocks still decoded); a header list over
 * max_header_list is cut. */
static void test_bounds(void **state)
{
    (void)state;
    static char big[20000];
    memset(big, 'b', sizeof(big) - 1);
    wire w;
    w_init(&w);
    w_preface(&w);
    w_headers(&w, REQ, 1, 0, REQ_POST);
    w_data(&w, REQ, 1, 1, big);
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    assert_false(h2_conn_stats_get(c)->broken);
    assert_int_equal(h2_conn_stats_get(c)->events[HTTP_EV_H2_FRAME_TOO_LARGE], 1);
    assert_int_equal(r.blen[1][REQ], sizeof(big) - 1);
    h2_conn_free(c);
    rec_free(&r);
    h2_limits lim;
    h2_limits_default(&lim);
    lim.max_frame_size = 16384;
    c = run(&w, &r, &lim, 0);
    assert_true(h2_conn_stats_get(c)->broken);
    assert_contains(r.log, "EV 0 http2.frame_too_large");
    assert_contains(r.log, "REQDONE 1 flags=20 wire=0");
    assert_contract(&r);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);

    /* 6 streams open, room for 4 */
    w_init(&w);
    w_preface(&w);
    for (uint32_t sid = 1; sid <= 11; sid += 2) {
        char p[16];
        snprintf(p, sizeof(p), "/s%u", sid);
        const char *const nv[] = {":method", "POST",  ":scheme", "https", ":authority",
                                  "h",       ":path", p,         NULL};
        w_headers(&w, REQ, sid, 0, nv);
        w_data(&w, REQ, sid, 0, "x");
    }
    for (uint32_t sid = 1; sid <= 11; sid += 2) {
        w_data(&w, REQ, sid, 1, "y");
        char p[16];
        snprintf(p, sizeof(p), "v%u", sid);
        const char *const rr[] = {":status", "201", "x-v", p, NULL};
        w_headers(&w, RESP, sid, 1, rr);
    }
    const char *const nv[] = {":method", "GET",   ":scheme", "https", ":authority",
                              "h",       ":path", "/last",   NULL};
    w_headers(&w, REQ, 13, 1, nv);
    const char *const rr[] = {":status", "204", "x-v", "v11", NULL}; /* indexed from s11 */
    w_headers(&w, RESP, 13, 1, rr);
    lim.max_streams = 4;
    lim.max_frame_size = 1u << 24;
    c = run(&w, &r, &lim, 0);
    const h2_conn_stats *st = h2_conn_stats_get(c);
    assert_int_equal(st->streams_refused, 2);
    assert_int_equal(st->events[HTTP_EV_H2_TOO_MANY_STREAMS], 2);
    assert_int_equal(r.reqs, 5);
    assert_contains(r.log, "REQ 4 s7 POST");
    assert_lacks(r.log, " /s9 ");
    assert_contains(r.log, "REQ 5 s13 GET https h /last");
    assert_contains(r.log, "RESPDONE 5 GET 204");
    assert_false(st->hpack_lost[RESP]);
    assert_contract(&r);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);

    /* header list size */
    w_init(&w);
    w_preface(&w);
    char v[2000];
    memset(v, 'v', sizeof(v) - 1);
    v[sizeof(v) - 1] = 0;
    const char *const hv[] = {":method", "GET", ":scheme", "https", ":authority", "h", "x-1",
                              v,         "x-2", v,         ":path", "/late",      NULL};
    w_headers(&w, REQ, 1, 1, hv);
    lim.max_streams = 128;
    lim.max_header_list = 2500;
    c = run(&w, &r, &lim, 0);
    assert_contains(r.log, "EV 0 http.header_too_long");
    assert_contains(r.log, "REQ 1 s1 GET https h  "); /* the path came too late */
    assert_contract(&r);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

/* Not HTTP/2 at all, and garbage after a good start: marked, no crash. */
static void test_garbage(void **state)
{
    (void)state;
    rec r;
    memset(&r, 0, sizeof(r));
    h2_conn *c = h2_conn_new(NULL, &CBS, &r);
    h2_conn_feed(c, REQ, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18);
    assert_true(h2_conn_stats_get(c)->broken);
    assert_int_equal(h2_conn_stats_get(c)->events[HTTP_EV_H2_BAD_PREFACE], 1);
    h2_conn_free(c);
    rec_free(&r);

    uint8_t junk[4096];
    srand(7);
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(junk); i++) junk[i] = (uint8_t)rand();
        memset(&r, 0, sizeof(r));
        c = h2_conn_new(NULL, &CBS, &r);
        h2_conn_feed(c, REQ, (const uint8_t *)"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
        h2_conn_feed(c, REQ, junk, sizeof(junk) / 2);
        h2_conn_feed(c, RESP, junk + sizeof(junk) / 2, sizeof(junk) / 2);
        h2_conn_end(c, REQ);
        h2_conn_end(c, RESP);
        assert_contract(&r);
        h2_conn_free(c);
        rec_free(&r);
    }
}

/* A connection with most features, for split invariance and mutation. */
static void build_rich(wire *w)
{
    w_init(w);
    w_preface(w);
    settings_frame(w, REQ, 1, 8192);
    w_frame(w, RESP, 4, 1, 0, NULL, 0);
    assert_int_equal(nghttp2_hd_deflate_change_table_size(w->def[RESP], 8192), 0);
    uint8_t blk[4096], f[4200];
    size_t n = w_block(w, REQ, REQ_POST, blk, sizeof(blk));
    w_frame(w, REQ, 1, 0, 1, blk, 5);
    w_frame(w, REQ, 9, 0x4, 1, blk + 5, n - 5);
    f[0] = 4;
    memcpy(f + 1, "{\"messages\":", 12);
    memset(f + 13, 0, 4);
    w_frame(w, REQ, 0, 0x8, 1, f, 17);
    const char *const mp[] = {
        ":method",     "POST",  ":scheme",   "https",        ":authority",
        "api.example", ":path", "/v1/files", "content-type", "multipart/form-data; boundary=b0",
        NULL};
    w_headers(w, REQ, 3, 0, mp);
    w_data(w, REQ, 1, 1, "[\"hi\"]}");
    w_frame(w, RESP, 8, 0, 0, "\0\0\x10\0", 4);
    w_frame(w, REQ, 6, 0, 0, "12345678", 8);
    w_frame(w, RESP, 6, 1, 0, "12345678", 8);
    w_headers(w, RESP, 1, 0, RESP_200);
    w_frame(w, REQ, 0xfa, 0, 0, "unknown type", 12);
    w_data(w, REQ, 3, 0,
           "--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
           "line one\nline two\n");
    w_data(w, RESP, 1, 0, "{\"id\":\"chatcmpl\"}");
    const char *const promise[] = {":method",     "GET",   ":scheme", "https", ":authority",
                                   "api.example", ":path", "/pushed", NULL};
    n = w_block(w, RESP, promise, blk, sizeof(blk));
    f[0] = f[1] = f[2] = 0;
    f[3] = 2;
    memcpy(f + 4, blk, n);
    w_frame(w, RESP, 5, 0x4, 1, f, 4 + n);
    w_data(w, REQ, 3, 1, "line three\n\r\n--b0--\r\n");
    w_frame(w, RESP, 0, 1, 1, NULL, 0);
    w_headers(w, RESP, 2, 1, RESP_200);
    const char *const gz[] = {":status", "200", "content-encoding", "gzip", NULL};
    w_headers(w, RESP, 3, 0, gz);
    uint8_t z[256];
    size_t zn = gzip_buf("compressed response body, compressed response body", z, sizeof(z));
    w_frame(w, RESP, 0, 0, 3, z, zn / 2);
    w_frame(w, RESP, 0, 1, 3, z + zn / 2, zn - zn / 2);
    const char *const trailer[] = {"grpc-status", "0", NULL};
    w_headers(w, REQ, 5, 0, REQ_POST);
    w_data(w, REQ, 5, 0, "{}");
    w_headers(w, REQ, 5, 1, trailer);
    w_headers(w, RESP, 5, 1, RESP_200);
    uint8_t ga[8] = {0, 0, 0, 5, 0, 0, 0, 0};
    w_frame(w, RESP, 7, 0, 0, ga, 8);
}

static void test_split_invariance(void **state)
{
    (void)state;
    wire w;
    build_rich(&w);
    rec r0, r;
    h2_conn *c = run(&w, &r0, NULL, 0);
    assert_false(h2_conn_stats_get(c)->broken);
    assert_int_equal(r0.reqs, 4);
    assert_string_equal(r0.body[1][REQ], "{\"messages\":[\"hi\"]}");
    assert_string_equal(r0.body[2][REQ], "line one\nline two\nline three\n");
    assert_contains(r0.log, "REQ 3 s2 GET https api.example /pushed");
    assert_contains(r0.log, "DATA 2/1/-1:compressed response body, compressed response body");
    assert_contains(r0.log, "DATA 4/0/-1:{}\nREQDONE 4 flags=10");
    assert_contract(&r0);
    h2_conn_free(c);
    const size_t pieces[] = {1, 7, 4096};
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        c = run(&w, &r, NULL, pieces[i]);
        /* body pieces merge in the log, so the logs must be identical */
        assert_string_equal(r.log, r0.log);
        h2_conn_free(c);
        rec_free(&r);
    }
    rec_free(&r0);
    w_free(&w);
}

/* A gap inside a DATA frame: exactly those bytes are missing, the rest of
 * the body and the connection go on; HPACK is unaffected. */
static void test_gap_in_data(void **state)
{
    (void)state;
    wire w;
    w_init(&w);
    w_preface(&w);
    w_headers(&w, REQ, 1, 0, REQ_POST);
    uint8_t f[64];
    size_t n = fbuild(f, 0, 0, 1, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n", 24);
    w_raw(&w, REQ, f, 9 + 8);
    w_gap(&w, REQ, 8);
    w_raw(&w, REQ, f + 25, n - 25);
    w_data(&w, REQ, 1, 1, "{\"d\":4}\n");
    w_headers(&w, REQ, 3, 1, REQ_POST);
    w_headers(&w, RESP, 1, 1, RESP_200);
    w_headers(&w, RESP, 3, 1, RESP_200);
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    assert_contains(r.log, "DATA 1/0/-1:{\"a\":1}\nEV 0 http.gap\n\nGAP 1/0/-1:8\n"
                           "DATA 1/0/-1:{\"c\":3}\n{\"d\":4}\n");
    assert_contains(r.log, "REQDONE 1 flags=50 wire=32 body=24");
    assert_contains(r.log, "REQ 2 s3 POST");
    assert_false(h2_conn_stats_get(c)->hpack_lost[REQ]);
    assert_int_equal(h2_conn_stats_get(c)->resyncs[REQ], 0);
    assert_contract(&r);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

/* A gap inside a header block: that direction's HPACK is lost; the cut
 * request is reported truncated, a known stream's DATA still flows, a new
 * stream is not reported; the other direction is unaffected. */
static void test_gap_in_headers(void **state)
{
    (void)state;
    wire w;
    w_init(&w);
    w_preface(&w);
    w_headers(&w, REQ, 1, 0, REQ_POST);
    w_data(&w, REQ, 1, 0, "first ");
    uint8_t blk[1024], f[1100];
    size_t n = w_block(&w, REQ, REQ_POST, blk, sizeof(blk));
    size_t fl = fbuild(f, 1, 0x4, 3, blk, n);
    w_raw(&w, REQ, f, 12);
    w_gap(&w, REQ, 5);
    w_raw(&w, REQ, f + 17, fl - 17);
    w_data(&w, REQ, 1, 1, "second");
    w_headers(&w, REQ, 5, 1, REQ_POST);
    w_headers(&w, RESP, 1, 1, RESP_200);
    w_headers(&w, RESP, 3, 1, RESP_200);
    w_headers(&w, RESP, 5, 1, RESP_200);
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    const h2_conn_stats *st = h2_conn_stats_get(c);
    assert_true(st->hpack_lost[REQ]);
    assert_false(st->hpack_lost[RESP]);
    assert_contains(r.log, "EV 0 http2.headers_lost");
    assert_contains(r.log, "REQDONE 2 flags=420");
    assert_string_equal(r.body[1][REQ], "first second");
    assert_contains(r.log, "REQDONE 1 flags=10 wire=12");
    assert_contains(r.log, "RESPDONE 1 POST 200");
    assert_contains(r.log, "RESPDONE 2 ");
    assert_int_equal(st->streams_lost, 1);
    assert_int_equal(st->header_blocks_lost[REQ], 1);
    assert_int_equal(r.reqs, 2);
    assert_int_equal(st->resyncs[REQ], 0);
    assert_contract(&r);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

/* A gap across frame boundaries: resynchronise on the next plausible
 * frame header; known streams' DATA resumes after a gap notice. */
static void test_gap_resync(void **state)
{
    (void)state;
    wire w;
    w_init(&w);
    w_preface(&w);
    w_headers(&w, REQ, 1, 0, REQ_POST);
    w_headers(&w, REQ, 3, 0, REQ_POST);
    w_data(&w, REQ, 1, 0, "aaaa");
    uint8_t f[256];
    size_t a = fbuild(f, 0, 0, 3, "lost-lost-lost", 14);
    size_t b = fbuild(f + a, 0, 0, 1, "0123456789", 10);
    /* lose the end of one frame, a whole frame header, and part of the
     * next payload, then junk-looking bytes ... */
    w_raw(&w, REQ, f, 12);
    w_gap(&w, REQ, (a - 12) + 9 + 3);
    w_raw(&w, REQ, f + a + 12, b - 12);
    w_data(&w, REQ, 1, 1, "bbbb");
    w_data(&w, REQ, 3, 1, "cccc");
    w_headers(&w, RESP, 1, 1, RESP_200);
    w_headers(&w, RESP, 3, 1, RESP_200);
    rec r;
    h2_conn *c = run(&w, &r, NULL, 0);
    const h2_conn_stats *st = h2_conn_stats_get(c);
    assert_int_equal(st->resyncs[REQ], 1);
    assert_true(st->hpack_lost[REQ]);
    assert_false(st->broken);
    assert_contains(r.log, "EV 0 http2.resync");
    assert_contains(r.log, "GAP 1/0/-1:");
    assert_contains(r.log, "DATA 1/0/-1:bbbb\nREQDONE 1 flags=50");
    assert_contains(r.log, "DATA 2/0/-1:cccc\nREQDONE 2 flags=50");
    assert_contains(r.log, "RESPDONE 1 POST 200");
    assert_contract(&r);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

/* Upgrade: h2c -- the HTTP/1.1 request is stream 1, its response HTTP/2. */
static void test_upgrade(void **state)
{
    (void)state;
    http_txn req;
    memset(&req, 0, sizeof(req));
    req.id = 1;
    strcpy(req.method, "POST");
    strcpy(req.host, "127.0.0.1:8080");
    strcpy(req.uri, "/v1/chat/completions");
    strcpy(req.upgrade, "h2c");
    /* SETTINGS_HEADER_TABLE_SIZE = 8192, SETTINGS_MAX_FRAME_SIZE = 32768 */
    strcpy(req.h2_settings, "AAEAACAAAAUAAIAA");
    req.req.declared_len = 2;
    req.req.body_bytes = 2;
    req.req.flags = HTTP_MSG_COMPLETE;
    req.flags = HTTP_TXN_TUNNEL;
    req.status = 101;
    rec r;
    memset(&r, 0, sizeof(r));
    h2_conn *c = h2_conn_new_upgraded(NULL, &CBS, &r, &req);
    assert_non_null(c);
    assert_contains(r.log, "REQ 1 s1 POST  127.0.0.1:8080 /v1/chat/completions ua= ct= dl=2 tf=80");
    assert_contains(r.log, "REQDONE 1 flags=10 wire=0 body=2");
    wire w;
    w_init(&w);
    assert_int_equal(nghttp2_hd_deflate_change_table_size(w.def[RESP], 8192), 0);
    w_frame(&w, RESP, 4, 0, 0, NULL, 0);
    w_raw(&w, REQ, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    w_frame(&w, REQ, 4, 0, 0, NULL, 0);
    w_frame(&w, RESP, 4, 1, 0, NULL, 0);
    char big[6000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    const char *const rr[] = {":status", "200", "x-big", big, NULL};
    w_headers(&w, RESP, 1, 0, rr);
    static char body[20000];
    memset(body, 'r', sizeof(body) - 1);
    w_data(&w, RESP, 1, 1, body); /* allowed by the client's MAX_FRAME_SIZE */
    w_headers(&w, REQ, 3, 1, REQ_POST);
    w_headers(&w, RESP, 3, 1, rr);
    play(&w, c, 0);
    assert_contains(r.log, "RESPH 1 200");
    assert_contains(r.log, "RESPDONE 1 POST 200 tflags=80 flags=10 body=19999");
    assert_contains(r.log, "REQ 2 s3 POST https api.openai.com");
    assert_contains(r.log, "RESPDONE 2 POST 200");
    const h2_conn_stats *st = h2_conn_stats_get(c);
    assert_false(st->hpack_lost[RESP]);
    assert_int_equal(st->events[HTTP_EV_H2_FRAME_TOO_LARGE], 0);
    assert_contract(&r);
    h2_conn_free(c);
    rec_free(&r);
    w_free(&w);
}

/* Mutations of the rich connection (bytes flipped, cut, gaps inserted),
 * fed in random pieces: never a crash or leak (ASan), always the
 * callback contract. */
static void test_mutations(void **state)
{
    (void)state;
    wire w;
    build_rich(&w);
    srand(12345);
    int with_txns = 0, broken = 0;
    for (int round = 0; round < 1500; round++) {
        rec r;
        memset(&r, 0, sizeof(r));
        h2_limits lim;
        h2_limits_default(&lim);
        lim.max_streams = 1 + (unsigned)(rand() % 4);
        lim.max_header_list = 200 + (size_t)(rand() % 4000);
        h2_conn *c = h2_conn_new(&lim, &CBS, &r);
        for (int i = 0; i < w.n; i++) {
            seg *s = &w.s[i];
            uint8_t *p = malloc(s->n + 1);
            memcpy(p, s->p, s->n);
            size_t n = s->n;
            int kind = rand() % 24; /* 1 in 8 segments mutated each way */
            if (kind == 0 && n) p[rand() % n] ^= (uint8_t)(1 + rand() % 255);
            if (kind == 1 && n) n = (size_t)rand() % n;
            size_t off = 0;
            while (off < n) {
                size_t k = 1 + (size_t)rand() % 64;
                if (k > n - off) k = n - off;
                if (kind == 2 && rand() % 16 == 0)
                    h2_conn_gap(c, (http_dir)s->dir, k);
                else
                    h2_conn_feed(c, (http_dir)s->dir, p + off, k);
                off += k;
            }
            free(p);
        }
        h2_conn_end(c, REQ);
        h2_conn_end(c, RESP);
        assert_contract(&r);
        if (r.reqs) with_txns++;
        if (h2_conn_stats_get(c)->broken) broken++;
        h2_conn_free(c);
        rec_free(&r);
    }
    /* the mutations reach deep into the connection, and some break it */
    print_message("mutations: %d of 1500 with transactions, %d broken\n", with_txns, broken);
    assert_true(with_txns > 750);
    assert_true(broken > 50);
    w_free(&w);
}

/* ---- real captures (pcaps/h2, scripts/mkh2caps) ---- */

/* One TCP connection of a capture, reassembled in order per direction and
 * fed packet by packet as the engine would. */
typedef struct pconn {
    uint16_t cport;
    uint32_t next[2];
    bool seen_syn[2];
    h2_conn *h2;
    http_conn *h1; /* the upgrade's HTTP/1.1 part */
    http_txn up;   /* the 101 upgrade txn, once seen */
    bool upgraded;
} pconn;

typedef struct presult {
    char line[64][1536];
    int n;
    int conn; /* index of the connection being fed */
} presult;

static presult *g_pr;

static void pr_respd(void *ud, const http_txn *t)
{
    presult *pr = g_pr;
    assert_true(pr->n < 64);
    snprintf(pr->line[pr->n++], sizeof(pr->line[0]), "%d\t%u\t%s\t%s\t%s\t%d\t%llu\t%llu",
             (int)(intptr_t)ud, t->stream_id, t->method, t->uri, t->host, t->status,
             (unsigned long long)(t->flags & HTTP_TXN_UPGRADED ? 0 : t->req.wire_body_bytes),
             (unsigned long long)t->resp.wire_body_bytes);
    if (t->flags & HTTP_TXN_UPGRADED) assert_int_equal(t->req.wire_body_bytes, t->req.declared_len);
    assert_true(t->req.flags & HTTP_MSG_COMPLETE);
    assert_true(t->resp.flags & HTTP_MSG_COMPLETE);
    if (t->resp.flags & HTTP_MSG_GZIP) assert_true(t->resp.body_bytes > t->resp.wire_body_bytes);
}

static pconn *g_pc;

static void h1_respd(void *ud, const http_txn *t)
{
    if (t->status == 101 && strcmp(t->upgrade, "h2c") == 0) {
        g_pc->up = *t;
        g_pc->upgraded = true;
    }
}

static const http_callbacks PCBS = {.on_response_complete = pr_respd};
static const http_callbacks H1CBS = {.on_response_complete = h1_respd};

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    uint8_t *p = malloc(1 << 20);
    *n = fread(p, 1, 1 << 20, f);
    fclose(f);
    return p;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Feeds one in-order payload of a connection. */
static void pconn_feed(pconn *pc, int conn, http_dir dir, const uint8_t *p, size_t n, bool upgrade)
{
    g_pc = pc;
    if (upgrade && !pc->h2) {
        if (!pc->h1) pc->h1 = http_conn_new(NULL, &H1CBS, NULL);
        uint64_t before = http_conn_stats_get(pc->h1)->ignored_bytes[dir];
        http_conn_feed(pc->h1, dir, p, n);
        if (!pc->upgraded) return;
        /* the bytes after the 101's header block are HTTP/2 already */
        size_t h2n = (size_t)(http_conn_stats_get(pc->h1)->ignored_bytes[dir] - before);
        pc->h2 = h2_conn_new_upgraded(NULL, &PCBS, (void *)(intptr_t)conn, &pc->up);
        assert_non_null(pc->h2);
        p += n - h2n;
        n = h2n;
    }
    if (!pc->h2) pc->h2 = h2_conn_new(NULL, &PCBS, (void *)(intptr_t)conn);
    h2_conn_feed(pc->h2, dir, p, n);
}

static void check_capture(const char *name, uint16_t sport, bool upgrade)
{
    char path[512];
    size_t n;
    snprintf(path, sizeof(path), "%s/pcaps/h2/%s.pcap", EGRET_SRCDIR, name);
    uint8_t *buf = slurp(path, &n);
    assert_true(n > 24);
    assert_int_equal(rd32(buf), 0xa1b2c3d4u);
    assert_int_equal(rd32(buf + 20), 1); /* Ethernet */
    presult pr;
    memset(&pr, 0, sizeof(pr));
    g_pr = &pr;
    pconn pcs[8];
    memset(pcs, 0, sizeof(pcs));
    int npc = 0;
    for (size_t off = 24; off + 16 <= n;) {
        uint32_t incl = rd32(buf + off + 8);
        const uint8_t *f = buf + off + 16;
        off += 16 + incl;
        assert_true(off <= n);
        if (incl < 14 + 20 || f[12] != 0x08 || f[13] != 0x00) continue;
        const uint8_t *ip = f + 14;
        size_t ihl = (size_t)(ip[0] & 0x0f) * 4, tot = (size_t)ip[2] << 8 | ip[3];
        if (ip[9] != 6 || tot > incl - 14) continue;
        const uint8_t *tcp = ip + ihl;
        uint16_t sp = (uint16_t)(tcp[0] << 8 | tcp[1]), dp = (uint16_t)(tcp[2] << 8 | tcp[3]);
        uint32_t seq = be32(tcp + 4);
        uint8_t flags = tcp[13];
        size_t thl = (size_t)(tcp[12] >> 4) * 4;
        const uint8_t *pl = tcp + thl;
        size_t pn = tot - ihl - thl;
        http_dir dir = dp == sport ? REQ : RESP;
        uint16_t cport = dir == REQ ? sp : dp;
        int k = 0;
        while (k < npc && pcs[k].cport != cport) k++;
        if (k == npc) {
            assert_true(npc < 8);
            pcs[npc++].cport = cport;
        }
        pconn *pc = &pcs[k];
        if (flags & 0x02) { /* SYN */
            pc->next[dir] = seq + 1;
            pc->seen_syn[dir] = true;
            continue;
        }
        if (!pn || !pc->seen_syn[dir]) continue;
        int32_t d = (int32_t)(seq - pc->next[dir]);
        if (d > 0) fail_msg("%s: a gap in a loopback capture", name);
        if ((size_t)-d >= pn) continue; /* retransmission */
        pl += -d;
        pn -= (size_t)-d;
        pc->next[dir] += (uint32_t)pn;
        pconn_feed(pc, k, dir, pl, pn, upgrade);
    }
    for (int k = 0; k < npc; k++) {
        if (pcs[k].h2) {
            h2_conn_end(pcs[k].h2, REQ);
            h2_conn_end(pcs[k].h2, RESP);
            assert_false(h2_conn_stats_get(pcs[k].h2)->broken);
            assert_false(h2_conn_stats_get(pcs[k].h2)->hpack_lost[REQ]);
            assert_false(h2_conn_stats_get(pcs[k].h2)->hpack_lost[RESP]);
        }
        h2_conn_free(pcs[k].h2);
        http_conn_free(pcs[k].h1);
    }
    /* the same set of lines as tshark's (ours come in completion order) */
    snprintf(path, sizeof(path), "%s/pcaps/h2/%s.expect.tsv", EGRET_SRCDIR, name);
    size_t en;
    uint8_t *exp = slurp(path, &en);
    exp[en] = 0;
    int lines = 0;
    for (char *save = NULL, *l = strtok_r((char *)exp, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        lines++;
        bool found = false;
        for (int i = 0; i < pr.n && !found; i++) found = strcmp(pr.line[i], l) == 0;
        if (!found) {
            static char all[64 * 1536 + 64];
            all[0] = 0;
            for (int i = 0; i < pr.n; i++) strcat(all, pr.line[i]), strcat(all, "\n");
            fail_msg("%s: tshark's [%s] not among ours:\n%s", name, l, all);
        }
    }
    assert_int_equal(lines, pr.n);
    free(exp);
    free(buf);
}

static void test_captures(void **state)
{
    (void)state;
    check_capture("h2c-prior", 8080, false);
    check_capture("h2c-upgrade", 8081, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_interleaved),
        cmocka_unit_test(test_continuation_padding),
        cmocka_unit_test(test_host_authority),
        cmocka_unit_test(test_table_eviction),
        cmocka_unit_test(test_table_size_settings),
        cmocka_unit_test(test_rst_goaway),
        cmocka_unit_test(test_push_promise),
        cmocka_unit_test(test_gzip_multipart),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_split_invariance),
        cmocka_unit_test(test_gap_in_data),
        cmocka_unit_test(test_gap_in_headers),
        cmocka_unit_test(test_gap_resync),
        cmocka_unit_test(test_upgrade),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_captures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
