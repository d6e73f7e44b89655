/*
 * test_http.c -- streaming HTTP/1.x parser: keep-alive, pipelining and
 * pairing, chunked, gzip / deflate / raw deflate, the decompression-bomb
 * caps, truncation, gaps, absurd header sizes, multipart uploads, interim
 * and HEAD responses, and split invariance (every split point of a stream
 * across two feeds, and byte-by-byte feeding, give the same log).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "http.h"

/* ---- recorder: every callback appends a line to a log ---- */

typedef struct rec {
    char *log;
    size_t n, cap;
    const void *last_body; /* merges consecutive body pieces */
    unsigned reqs, resps, reqh, orphans;
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
    char tmp[2048];
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
    appf(ud, "REQ %llu %s %s %s ua=%s ct=%s dl=%lld\n", (unsigned long long)t->id, t->method,
         t->host, t->uri, t->user_agent, t->req.content_type, (long long)t->req.declared_len);
}

static void cb_resph(void *ud, const http_txn *t)
{
    appf(ud, "RESPH %llu %d\n", (unsigned long long)t->id, t->status);
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
    if (t->flags & HTTP_TXN_ORPHAN) ((rec *)ud)->orphans++;
    appf(ud, "\nRESPDONE %llu %s %d tflags=%x flags=%x body=%llu\n", (unsigned long long)t->id,
         t->method, t->status, t->flags, t->resp.flags, (unsigned long long)t->resp.body_bytes);
}

static void cb_ev(void *ud, const http_txn *t, http_dir dir, http_event ev)
{
    appf(ud, "EV %d %s\n", (int)dir, http_event_name(ev));
}

static void cb_gap(void *ud, const http_txn *t, http_dir dir, const http_part *p, uint64_t len)
{
    appf(ud, "\nGAP %llu/%d/%d:%llu\n", (unsigned long long)t->id, (int)dir, p ? (int)p->index : -1,
         (unsigned long long)len);
}

static const http_callbacks CBS = {cb_reqh, cb_resph, cb_body, cb_pbeg, cb_pend,
                                   cb_reqd, cb_respd, cb_ev,   cb_gap};

static http_conn *mk(rec *r, const http_limits *lim)
{
    memset(r, 0, sizeof(*r));
    http_conn *c = http_conn_new(lim, &CBS, r);
    assert_non_null(c);
    return c;
}

static void feed(http_conn *c, http_dir dir, const char *s)
{
    http_conn_feed(c, dir, (const uint8_t *)s, strlen(s));
}

static void finish(http_conn *c)
{
    http_conn_end(c, HTTP_DIR_REQ);
    http_conn_end(c, HTTP_DIR_RESP);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle)) fail_msg("missing [%s] in log:\n%s", needle, hay);
}

/* ---- tests ---- */

static void test_keepalive_pairing(void **state)
{
    (void)state;
    rec r;
    http_conn *c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ,
         "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
         "User-Agent: OpenAI/Python 1.0\r\nContent-Type: application/json\r\n"
         "Content-Length: 11\r\n\r\n{\"a\":\"xyz\"}");
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    feed(c, HTTP_DIR_REQ, "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n");
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    finish(c);
    assert_contains(r.log, "REQ 1 POST api.openai.com /v1/chat/completions ua=OpenAI/Python 1.0 "
                           "ct=application/json dl=11");
    assert_contains(r.log, "DATA 1/0/-1:{\"a\":\"xyz\"}");
    assert_contains(r.log, "REQDONE 1 flags=10 wire=11 body=11");
    assert_contains(r.log, "RESPDONE 1 POST 200 tflags=0 flags=10 body=2");
    assert_contains(r.log, "REQ 2 GET api.openai.com /v1/models");
    assert_contains(r.log, "RESPDONE 2 GET 404");
    assert_int_equal(r.reqs, 2);
    assert_int_equal(r.resps, 2);
    const http_conn_stats *st = http_conn_stats_get(c);
    assert_int_equal(st->requests, 2);
    assert_int_equal(st->responses, 2);
    http_conn_free(c);
    free(r.log);
}

/* A target with raw spaces (attack tools) still parses: the version is the
 * last token, as in libhtp.  A control character in the target does not. */
static void test_uri_with_spaces(void **state)
{
    (void)state;
    rec r;
    http_conn *c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ,
         "GET /cgi-bin/x;cat /etc/passwd|?d=1 HTTP/1.1\r\nHost: victim.example\r\n\r\n");
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    finish(c);
    assert_contains(r.log, "REQ 1 GET victim.example /cgi-bin/x;cat /etc/passwd|?d=1");
    assert_int_equal(r.reqs, 1);
    http_conn_free(c);
    free(r.log);
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "GET /a\x01b HTTP/1.1\r\nHost: h\r\n\r\n");
    finish(c);
    assert_int_equal(r.reqs, 0);
    http_conn_free(c);
    free(r.log);
}

static void test_pipelined(void **state)
{
    (void)state;
    rec r;
    http_conn *c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ,
         "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
         "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
         "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(c, HTTP_DIR_RESP,
         "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
         "HTTP/1.1 100 Continue\r\n\r\n"
         "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nBB\r\n0\r\n\r\n"
         "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"); /* HEAD: no body */
    finish(c);
    assert_contains(r.log, "RESPDONE 1 GET 200 tflags=0 flags=10 body=1");
    assert_contains(r.log, "RESPDONE 2 POST 201 tflags=0 flags=11 body=2");
    assert_contains(r.log, "RESPDONE 3 HEAD 200 tflags=0 flags=10 body=0");
    assert_int_equal(r.resps, 3);
    assert_null(strstr(r.log, "TRUNC"));
    http_conn_free(c);
    free(r.log);
}

static void test_chunked(void **state)
{
    (void)state;
    rec r;
    http_conn *c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ,
         "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
         "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
         "4;ext=1\r\nabcd\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n");
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    finish(c);
    assert_contains(r.log, "DATA 1/0/-1:abcd0123456789");
    assert_contains(r.log, "REQDONE 1 flags=11 wire=14 body=14");
    http_conn_free(c);
    free(r.log);

    /* A bad chunk size stops the direction and reports the message. */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    assert_contains(r.log, "EV 0 http.bad_chunk");
    assert_contains(r.log, "REQDONE 1 flags=21");
    assert_true(http_conn_stats_get(c)->stopped[HTTP_DIR_REQ]);
    feed(c, HTTP_DIR_REQ, "GET / HTTP/1.1\r\n\r\n");
    assert_int_equal(http_conn_stats_get(c)->ignored_bytes[HTTP_DIR_REQ], 18);
    finish(c);
    assert_contains(r.log, "RESPDONE 1 POST 0 tflags=8");
    http_conn_free(c);
    free(r.log);
}

/* Compresses 'in' with zlib; wbits 31 = gzip, 15 = zlib, -15 = raw. */
static size_t zcomp(const void *in, size_t n, uint8_t *out, size_t cap, int wbits)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, wbits, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t outn = z.total_out;
    deflateEnd(&z);
    return outn;
}

static void compressed_case(const char *encoding, int wbits, bool chunked)
{
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello hello hello\"}]}";
    uint8_t z[512];
    size_t zn = zcomp(body, strlen(body), z, sizeof(z), wbits);
    char hdr[256];
    rec r;
    http_conn *c = mk(&r, NULL);
    if (chunked)
        snprintf(hdr, sizeof(hdr),
                 "POST /v1/chat/completions HTTP/1.1\r\nContent-Encoding: %s\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n",
                 encoding, zn - 5);
    else
        snprintf(hdr, sizeof(hdr),
                 "POST /v1/chat/completions HTTP/1.1\r\nContent-Encoding: %s\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 encoding, zn);
    feed(c, HTTP_DIR_REQ, hdr);
    if (chunked) {
        http_conn_feed(c, HTTP_DIR_REQ, z, zn - 5);
        char mid[32];
        snprintf(mid, sizeof(mid), "\r\n5\r\n");
        feed(c, HTTP_DIR_REQ, mid);
        http_conn_feed(c, HTTP_DIR_REQ, z + zn - 5, 5);
        feed(c, HTTP_DIR_REQ, "\r\n0\r\n\r\n");
    } else {
        http_conn_feed(c, HTTP_DIR_REQ, z, zn);
    }
    finish(c);
    char want[256];
    snprintf(want, sizeof(want), "DATA 1/0/-1:%s", body);
    assert_contains(r.log, want);
    snprintf(want, sizeof(want), "wire=%zu body=%zu", zn, strlen(body));
    assert_contains(r.log, want);
    assert_null(strstr(r.log, "EV "));
    http_conn_free(c);
    free(r.log);
}

static void test_gzip(void **state)
{
    (void)state;
    compressed_case("gzip", 31, false);
    compressed_case("x-gzip", 31, true);
}

static void test_deflate(void **state)
{
    (void)state;
    compressed_case("deflate", 15, false); /* zlib-wrapped (RFC 9110) */
    compressed_case("deflate", -15, true); /* raw, as some servers send */
}

static void test_bomb(void **state)
{
    (void)state;
    size_t big = 8u << 20;
    uint8_t *zeros = malloc(big);
    memset(zeros, 'a', big);
    uint8_t *z = malloc(65536);
    size_t zn = zcomp(zeros, big, z, 65536, 31);
    assert_true(zn < 20000);
    char hdr[128];
    snprintf(hdr, sizeof(hdr),
             "POST /x HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", zn);

    /* Ratio cap (defaults: 200:1 beyond 1 MiB). */
    rec r;
    http_conn *c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, hdr);
    http_conn_feed(c, HTTP_DIR_REQ, z, zn);
    feed(c, HTTP_DIR_REQ, "GET /next HTTP/1.1\r\n\r\n"); /* framing stays in sync */
    finish(c);
    assert_contains(r.log, "EV 0 http.decompression_bomb");
    assert_contains(r.log, "REQ 2 GET");
    assert_int_equal(http_conn_stats_get(c)->events[HTTP_EV_BOMB], 1);
    const char *done = strstr(r.log, "REQDONE 1");
    assert_non_null(done);
    unsigned flags;
    unsigned long long wire, body;
    assert_int_equal(sscanf(done, "REQDONE 1 flags=%x wire=%llu body=%llu", &flags, &wire, &body),
                     3);
    assert_true(flags & HTTP_MSG_BOMB);
    assert_int_equal(wire, zn);
    assert_true(body <= 200 * wire && body > (1u << 20) - 20000);
    http_conn_free(c);
    free(r.log);

    /* Output cap. */
    http_limits lim;
    http_limits_default(&lim);
    lim.inflate_max_out = 100000;
    lim.inflate_max_ratio = 1000000;
    c = mk(&r, &lim);
    feed(c, HTTP_DIR_REQ, hdr);
    http_conn_feed(c, HTTP_DIR_REQ, z, zn);
    finish(c);
    assert_contains(r.log, "EV 0 http.decompression_bomb");
    done = strstr(r.log, "REQDONE 1");
    assert_int_equal(sscanf(done, "REQDONE 1 flags=%x wire=%llu body=%llu", &flags, &wire, &body),
                     3);
    assert_int_equal(body, 100000);
    http_conn_free(c);
    free(r.log);
    free(zeros);
    free(z);
}

static void test_truncated(void **state)
{
    (void)state;
    rec r;
    /* Body cut short by the end of the stream. */
    http_conn *c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "POST /v1/files HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123");
    finish(c);
    assert_contains(r.log, "DATA 1/0/-1:0123");
    assert_contains(r.log, "EV 0 http.truncated");
    assert_contains(r.log, "REQDONE 1 flags=20 wire=4 body=4");
    assert_contains(r.log, "RESPDONE 1 POST 0 tflags=8");
    http_conn_free(c);
    free(r.log);

    /* Cut inside the headers: what was seen is still reported. */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nCont");
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    finish(c);
    assert_contains(r.log, "REQ 1 POST api.anthropic.com /v1/messages");
    assert_contains(r.log, "REQDONE 1 flags=420");
    assert_contains(r.log, "RESPDONE 1 POST 200 tflags=0 flags=20 body=3");
    http_conn_free(c);
    free(r.log);

    /* Read-until-close response: the end is the normal end. */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "GET / HTTP/1.0\r\n\r\n");
    feed(c, HTTP_DIR_RESP, "HTTP/1.0 200 OK\r\n\r\nall of it");
    finish(c);
    assert_contains(r.log, "RESPDONE 1 GET 200 tflags=0 flags=10 body=9");
    http_conn_free(c);
    free(r.log);
}

static void test_gap(void **state)
{
    (void)state;
    rec r;
    http_conn *c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n012");
    http_conn_gap(c, HTTP_DIR_REQ, 4);
    feed(c, HTTP_DIR_REQ, "789GET /b HTTP/1.1\r\n\r\n");
    finish(c);
    assert_contains(r.log, "EV 0 http.gap");
    /* the body goes on after exactly the 4 missing bytes */
    assert_contains(r.log, "DATA 1/0/-1:012EV 0 http.gap\n");
    assert_contains(r.log, "GAP 1/0/-1:4\nDATA 1/0/-1:789");
    assert_contains(r.log, "REQDONE 1 flags=50 wire=10 body=6");
    assert_contains(r.log, "REQ 2 GET");
    http_conn_free(c);
    free(r.log);

    /* A gap in the headers: the message is reported, then the direction
     * resynchronises on the next start line (not on the partial line
     * right after the gap, nor on body lines). */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "POST /a HTTP/1.1\r\nHo");
    http_conn_gap(c, HTTP_DIR_REQ, 100);
    feed(c, HTTP_DIR_REQ, "GET /x HTTP/1.1\r\nbody line\r\n{\"json\": 1}\r\n");
    feed(c, HTTP_DIR_REQ, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    finish(c);
    assert_contains(r.log, "REQDONE 1 flags=460");
    assert_null(strstr(r.log, "/x"));
    assert_contains(r.log, "REQ 2 GET h /b");
    assert_int_equal(http_conn_stats_get(c)->resyncs[HTTP_DIR_REQ], 1);
    assert_false(http_conn_stats_get(c)->stopped[HTTP_DIR_REQ]);
    http_conn_free(c);
    free(r.log);

    /* A gap inside a chunked body, then a pipelined request. */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123");
    http_conn_gap(c, HTTP_DIR_REQ, 20);
    feed(c, HTTP_DIR_REQ, "89\r\n0\r\n\r\nPOST /d HTTP/1.1\r\nContent-Length: 2\r\n\r\nok");
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    finish(c);
    assert_contains(r.log, "DATA 1/0/-1:0123");
    assert_contains(r.log, "REQDONE 1 flags=61");
    assert_contains(r.log, "DATA 2/0/-1:ok");
    assert_contains(r.log, "REQDONE 2 flags=10");
    http_conn_free(c);
    free(r.log);
}

/* Gaps inside bodies of known length (issue 13): exactly the missing
 * bytes are skipped, delivery goes on where it can, and framing survives;
 * a gap that runs past the body or into a chunk-size line loses framing. */
static void test_body_gaps(void **state)
{
    (void)state;
    rec r;
    /* two gaps inside one chunk, then the next chunk and a second request */
    http_conn *c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n14\r\nabcd");
    http_conn_gap(c, HTTP_DIR_REQ, 6);
    feed(c, HTTP_DIR_REQ, "klmn");
    http_conn_gap(c, HTTP_DIR_REQ, 2);
    feed(c, HTTP_DIR_REQ, "qrst\r\n3\r\nxyz\r\n0\r\n\r\nGET /n HTTP/1.1\r\n\r\n");
    finish(c);
    assert_contains(r.log, "GAP 1/0/-1:6\nDATA 1/0/-1:klmnEV 0 http.gap\n");
    assert_contains(r.log, "GAP 1/0/-1:2\nDATA 1/0/-1:qrstxyz");
    assert_contains(r.log, "REQDONE 1 flags=51 wire=23 body=15");
    assert_contains(r.log, "REQ 2 GET");
    assert_int_equal(http_conn_stats_get(c)->resyncs[HTTP_DIR_REQ], 0);
    http_conn_free(c);
    free(r.log);

    /* a gap covering the body's end and the next request's start: the
     * body is complete (with its gap), the next message is lost */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "POST /a HTTP/1.1\r\nContent-Length: 6\r\n\r\nab");
    http_conn_gap(c, HTTP_DIR_REQ, 30);
    feed(c, HTTP_DIR_REQ, "-length: 3\r\n\r\nxyzGET /z HTTP/1.1\r\n\r\nGET /y HTTP/1.1\r\n\r\n");
    finish(c);
    assert_contains(r.log, "REQDONE 1 flags=50 wire=6 body=2");
    assert_null(strstr(r.log, "xyz"));
    assert_null(strstr(r.log, "/z")); /* glued to the lost body: not a whole start line */
    assert_contains(r.log, "REQ 2 GET  /y");
    assert_int_equal(http_conn_stats_get(c)->resyncs[HTTP_DIR_REQ], 1);
    http_conn_free(c);
    free(r.log);

    /* a gzip body cannot resume: nothing after the gap, framing kept */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ,
         "POST /g HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 40\r\n\r\n0123456789");
    http_conn_gap(c, HTTP_DIR_REQ, 10);
    feed(c, HTTP_DIR_REQ, "01234567890123456789GET /h HTTP/1.1\r\n\r\n");
    finish(c);
    assert_null(strstr(r.log, "GAP 1/"));
    assert_contains(r.log, "REQ 2 GET");
    http_conn_free(c);
    free(r.log);

    /* a multipart file part with a gap: the part goes on, its end is
     * found, and the gap is reported against the part */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ,
         "POST /f HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XX\r\n"
         "Content-Length: 109\r\n\r\n"
         "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
         "line one\r\nli");
    http_conn_gap(c, HTTP_DIR_REQ, 6);
    feed(c, HTTP_DIR_REQ, "line three\r\n--XX--\r\n");
    finish(c);
    assert_contains(r.log, "GAP 1/0/0:6\nDATA 1/0/0:line three");
    assert_contains(r.log, "PARTEND 0 bytes=28");
    assert_contains(r.log, "REQDONE 1 flags=58");
    http_conn_free(c);
    free(r.log);
}

static void test_absurd_headers(void **state)
{
    (void)state;
    rec r;
    /* One 1 MiB header line. */
    http_conn *c = mk(&r, NULL);
    size_t big = 1u << 20;
    char *line = malloc(big + 64);
    memcpy(line, "GET / HTTP/1.1\r\nX-Big: ", 23);
    memset(line + 23, 'a', big);
    memcpy(line + 23 + big, "\r\n\r\n", 5);
    for (size_t off = 0; off < big + 27; off += 1400) {
        size_t n = big + 27 - off < 1400 ? big + 27 - off : 1400;
        http_conn_feed(c, HTTP_DIR_REQ, (const uint8_t *)line + off, n);
    }
    finish(c);
    /* the line is cut, not the parse: the request completes */
    assert_contains(r.log, "EV 0 http.header_too_long");
    assert_contains(r.log, "REQDONE 1 flags=10");
    const http_conn_stats *st = http_conn_stats_get(c);
    assert_false(st->stopped[HTTP_DIR_REQ]);
    assert_int_equal(st->events[HTTP_EV_HEADER_TOO_LONG], 1);
    assert_int_equal(st->ignored_bytes[HTTP_DIR_REQ], 0);
    http_conn_free(c);
    free(r.log);

    /* Many short headers exceeding the block size / the count. */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 200; i++) feed(c, HTTP_DIR_RESP, "X: 1\r\n");
    finish(c);
    assert_contains(r.log, "EV 1 http.too_many_headers");
    http_conn_free(c);
    free(r.log);

    http_limits lim;
    http_limits_default(&lim);
    lim.max_header_bytes = 1000;
    c = mk(&r, &lim);
    feed(c, HTTP_DIR_REQ, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 40; i++) feed(c, HTTP_DIR_REQ, "X-Header-Name: some value\r\n");
    finish(c);
    assert_contains(r.log, "EV 0 http.header_too_long");
    http_conn_free(c);
    free(r.log);

    /* Garbage instead of a request line. */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "\x16\x03\x01\x02\x01 not http");
    finish(c);
    assert_contains(r.log, "EV 0 http.bad_request_line");
    assert_int_equal(r.reqs, 0);
    http_conn_free(c);
    free(r.log);
    free(line);
}

/* ---- evasion resistance (docs/EVASION.md) ---- */

typedef struct last_txn {
    http_txn t;
    unsigned n;
} last_txn;

static void lt_reqd(void *ud, const http_txn *t)
{
    last_txn *l = ud;
    l->t = *t;
    l->n++;
}

/* Feeds one request (byte by byte when 'bytewise') and returns its txn. */
static void one_req(const char *req, size_t len, bool bytewise, last_txn *out)
{
    http_callbacks cb = {0};
    cb.on_request_complete = lt_reqd;
    memset(out, 0, sizeof(*out));
    http_conn *c = http_conn_new(NULL, &cb, out);
    assert_non_null(c);
    if (bytewise)
        for (size_t i = 0; i < len; i++)
            http_conn_feed(c, HTTP_DIR_REQ, (const uint8_t *)req + i, 1);
    else
        http_conn_feed(c, HTTP_DIR_REQ, (const uint8_t *)req, len);
    finish(c);
    http_conn_free(c);
    assert_int_equal(out->n, 1);
}

static void check_head(const char *req, const char *host, const char *alt, uint32_t anomalies,
                       uint32_t flags)
{
    last_txn l;
    for (int bw = 0; bw < 2; bw++) {
        one_req(req, strlen(req), bw, &l);
        char names[256];
        if (strcmp(l.t.host, host) || strcmp(l.t.host_alt, alt) || l.t.anomalies != anomalies ||
            (l.t.req.flags & flags) != flags)
            fail_msg("host [%s] alt [%s] anomalies [%s] flags %x for:\n%.300s", l.t.host,
                     l.t.host_alt, http_anomaly_names(l.t.anomalies, names, sizeof(names)),
                     l.t.req.flags, req);
        /* the engine's own reading of the head agrees with the parser */
        char h[256], a[256];
        const char *eoh = strstr(req, "\r\n\r\n");
        assert_non_null(eoh);
        assert_true(http_head_host((const uint8_t *)req, (size_t)(eoh + 4 - req), h, sizeof(h), a,
                                   sizeof(a)));
        assert_string_equal(h, host);
        assert_string_equal(a, alt);
    }
}

static void test_evasion_headers(void **state)
{
    (void)state;
    const uint32_t DONE = HTTP_MSG_COMPLETE;
    /* 130 short headers before Host: read on, Host found, limit marked */
    size_t cap = 1 << 20;
    char *b = malloc(cap);
    size_t n = (size_t)snprintf(b, cap, "POST /v1/chat/completions HTTP/1.1\r\n");
    for (int i = 0; i < 130; i++) n += (size_t)snprintf(b + n, cap - n, "X-Pad-%d: v\r\n", i);
    snprintf(b + n, cap - n,
             "Host: api.openai.com\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
             "\r\n{}");
    check_head(b, "api.openai.com", "", HTTP_ANOM_HEADER_LIMIT, DONE);
    last_txn l;
    one_req(b, strlen(b), false, &l);
    assert_string_equal(l.t.req.content_type, "application/json");
    assert_int_equal(l.t.req.body_bytes, 2);
    /* one 30 KB header line, then a 70 KB block */
    n = (size_t)snprintf(b, cap, "POST /v1/chat/completions HTTP/1.1\r\nX-Big: ");
    memset(b + n, 'a', 30000);
    n += 30000;
    n += (size_t)snprintf(b + n, cap - n, "\r\n");
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(b + n, cap - n, "X-Pad: ");
        memset(b + n, 'b', 1000);
        n += 1000;
        n += (size_t)snprintf(b + n, cap - n, "\r\n");
    }
    snprintf(b + n, cap - n,
             "hOsT: API.OpenAI.com.:443\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n0\r\n\r\n");
    check_head(b, "api.openai.com", "", HTTP_ANOM_HEADER_LIMIT | HTTP_ANOM_TRANSFER_CODING,
               DONE | HTTP_MSG_CHUNKED);
    free(b);

    /* duplicated Host: the first wins, the other is kept */
    check_head("GET / HTTP/1.1\r\nHost: example.com\r\nHost: api.openai.com\r\n\r\n", "example.com",
               "api.openai.com", HTTP_ANOM_HOST_DUPLICATE, DONE);
    check_head("GET / HTTP/1.1\r\nHost:\r\nHost: api.openai.com\r\n\r\n", "", "api.openai.com",
               HTTP_ANOM_HOST_DUPLICATE, DONE);
    check_head("GET / HTTP/1.1\r\nHost: a.example\r\nhost: A.EXAMPLE:80\r\n\r\n", "a.example", "",
               HTTP_ANOM_HOST_DUPLICATE, DONE);
    check_head("GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n", "[2001:db8::1]", "", 0, DONE);
    /* absolute URI: its authority wins (RFC 9112 3.2.2) */
    check_head("POST http://user@API.openai.com:80/v1/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
               "api.openai.com", "example.com", HTTP_ANOM_ABSOLUTE_URI | HTTP_ANOM_HOST_MISMATCH,
               DONE);
    check_head("POST HTTPS://api.openai.com/v1/x HTTP/1.1\r\n\r\n", "api.openai.com", "",
               HTTP_ANOM_ABSOLUTE_URI, DONE);
    /* chunk extensions and codings */
    check_head("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
               "2;ext=\"x\"\r\n{}\r\n0;last\r\n\r\n",
               "h", "", HTTP_ANOM_CHUNK_EXTENSION, DONE | HTTP_MSG_CHUNKED);
    /* framing egret cannot follow: stopped, but marked */
    check_head("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "h", "",
               HTTP_ANOM_TRANSFER_CODING | HTTP_ANOM_MALFORMED, 0);

    char names[256];
    assert_string_equal(
        http_anomaly_names(HTTP_ANOM_HEADER_LIMIT | HTTP_ANOM_HOST_DUPLICATE, names, sizeof(names)),
        "header_limit,host_duplicate");
    assert_string_equal(http_anomaly_names(0, names, sizeof(names)), "");
    /* a head that does not end in the segment: no answer */
    char h[8], a[8];
    assert_false(http_head_host((const uint8_t *)"GET / HTTP/1.1\r\nHost: x\r\n", 26, h, sizeof(h),
                                a, sizeof(a)));
}

static const char MP_BODY[] =
    "--XyZb\r\n"
    "Content-Disposition: form-data; name=\"purpose\"\r\n\r\n"
    "batch\r\n"
    "--XyZb\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"batch.jsonl\"\r\n"
    "Content-Type: application/jsonl\r\n\r\n"
    "{\"custom_id\":\"r1\"}\r\n{\"custom_id\":\"r2\"}\r\n--XyZ not a boundary\r\n--XyZ\r\n"
    "\r\n--XyZb--\r\n";

static char *mp_request(void)
{
    char *buf = malloc(4096);
    snprintf(buf, 4096,
             "POST /v1/files HTTP/1.1\r\nHost: api.openai.com\r\n"
             "Content-Type: multipart/form-data; boundary=XyZb\r\nContent-Length: %zu\r\n\r\n%s"
             "GET /v1/files HTTP/1.1\r\nHost: api.openai.com\r\n\r\n",
             strlen(MP_BODY), MP_BODY);
    return buf;
}

static void test_multipart(void **state)
{
    (void)state;
    rec r;
    http_conn *c = mk(&r, NULL);
    char *req = mp_request();
    feed(c, HTTP_DIR_REQ, req);
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    finish(c);
    assert_contains(r.log, "PART 1 0 name=purpose file= ct=");
    assert_contains(r.log, "PARTEND 0 bytes=5 value=batch");
    assert_contains(r.log, "PART 1 1 name=file file=batch.jsonl ct=application/jsonl");
    const char *file = "{\"custom_id\":\"r1\"}\r\n{\"custom_id\":\"r2\"}\r\n--XyZ not a "
                       "boundary\r\n--XyZ\r\n";
    char want[512];
    snprintf(want, sizeof(want), "DATA 1/0/1:%s\nPARTEND 1 bytes=%zu", file, strlen(file));
    assert_contains(r.log, want);
    assert_contains(r.log, "parts=2");
    assert_contains(r.log, "REQ 2 GET");
    assert_null(strstr(r.log, "EV "));
    /* the non-file part's bytes are not body data */
    assert_null(strstr(r.log, "DATA 1/0/0"));
    http_conn_free(c);
    free(r.log);
    free(req);

    /* Missing closing delimiter: flagged. */
    const char *body = "--q q\r\nContent-Disposition: form-data; name=a; filename=b\r\n\r\nxy";
    char hdr[512];
    snprintf(hdr, sizeof(hdr),
             "POST /u HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=\"q q\"\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, hdr);
    finish(c);
    assert_contains(r.log, "PART 1 0 name=a file=b");
    assert_contains(r.log, "DATA 1/0/0:xy");
    assert_contains(r.log, "EV 0 http.multipart_error");
    assert_contains(r.log, "REQDONE 1 flags=118");
    http_conn_free(c);
    free(r.log);
}

/* The log of a complex exchange is identical for every split point and
 * for byte-by-byte feeding. */
static void test_split_invariance(void **state)
{
    (void)state;
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"split me\"}]}";
    uint8_t z[256];
    size_t zn = zcomp(body, strlen(body), z, sizeof(z), 31);
    char *mp = mp_request();
    size_t mpn = strlen(mp);
    uint8_t *stream = malloc(8192);
    size_t n = 0;
    n += (size_t)sprintf((char *)stream + n,
                         "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                         "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n",
                         zn);
    memcpy(stream + n, z, zn);
    n += zn;
    n += (size_t)sprintf((char *)stream + n, "\r\n0\r\n\r\n");
    memcpy(stream + n, mp, mpn);
    n += mpn;
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
                       "HTTP/1.1 204 No Content\r\n\r\n";

    rec ref;
    http_conn *c = mk(&ref, NULL);
    http_conn_feed(c, HTTP_DIR_REQ, stream, n);
    feed(c, HTTP_DIR_RESP, resp);
    finish(c);
    http_conn_free(c);
    assert_int_equal(ref.reqs, 3);
    assert_int_equal(ref.resps, 3);
    assert_contains(ref.log, "DATA 1/0/-1:{\"messages\"");
    assert_null(strstr(ref.log, "EV "));

    for (size_t cut = 0; cut <= n; cut++) {
        rec r;
        c = mk(&r, NULL);
        http_conn_feed(c, HTTP_DIR_REQ, stream, cut);
        http_conn_feed(c, HTTP_DIR_REQ, stream + cut, n - cut);
        feed(c, HTTP_DIR_RESP, resp);
        finish(c);
        http_conn_free(c);
        if (strcmp(r.log, ref.log) != 0) fail_msg("split at %zu differs:\n%s", cut, r.log);
        free(r.log);
    }
    size_t rn = strlen(resp);
    for (size_t cut = 0; cut <= rn; cut++) {
        rec r;
        c = mk(&r, NULL);
        http_conn_feed(c, HTTP_DIR_REQ, stream, n);
        http_conn_feed(c, HTTP_DIR_RESP, (const uint8_t *)resp, cut);
        http_conn_feed(c, HTTP_DIR_RESP, (const uint8_t *)resp + cut, rn - cut);
        finish(c);
        http_conn_free(c);
        if (strcmp(r.log, ref.log) != 0) fail_msg("response split at %zu differs", cut);
        free(r.log);
    }
    rec r1;
    c = mk(&r1, NULL);
    for (size_t i = 0; i < n; i++) http_conn_feed(c, HTTP_DIR_REQ, stream + i, 1);
    for (size_t i = 0; i < rn; i++) http_conn_feed(c, HTTP_DIR_RESP, (const uint8_t *)resp + i, 1);
    finish(c);
    http_conn_free(c);
    assert_string_equal(r1.log, ref.log);
    free(r1.log);
    free(ref.log);
    free(stream);
    free(mp);
}

static void test_orphan_tunnel_overflow(void **state)
{
    (void)state;
    rec r;
    /* Midstream: a response without a request. */
    http_conn *c = mk(&r, NULL);
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    finish(c);
    assert_contains(r.log, "EV 1 http.unsolicited_response");
    assert_contains(r.log, "RESPDONE 0  200 tflags=4");
    http_conn_free(c);
    free(r.log);

    /* CONNECT: the connection becomes a tunnel. */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ,
         "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n");
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01");
    http_conn_feed(c, HTTP_DIR_REQ, (const uint8_t *)"\x16\x03\x01\x00\x05hello", 10);
    finish(c);
    assert_contains(r.log, "EV 1 http.tunnel");
    assert_contains(r.log, "RESPDONE 1 CONNECT 200 tflags=10");
    assert_int_equal(http_conn_stats_get(c)->ignored_bytes[HTTP_DIR_REQ], 10);
    http_conn_free(c);
    free(r.log);

    /* Pipeline overflow: the extra request is reported unpaired. */
    http_limits lim;
    http_limits_default(&lim);
    lim.max_pipeline = 2;
    c = mk(&r, &lim);
    feed(c, HTTP_DIR_REQ, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
    assert_contains(r.log, "EV 0 http.pipeline_overflow");
    assert_contains(r.log, "RESPDONE 3 GET 0 tflags=2");
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 201 OK\r\nContent-Length: 0\r\n\r\n");
    finish(c);
    assert_contains(r.log, "RESPDONE 1 GET 200");
    assert_contains(r.log, "RESPDONE 2 GET 201");
    assert_int_equal(r.resps, 3);
    http_conn_free(c);
    free(r.log);

    /* Early response during an upload: callbacks stay in order. */
    c = mk(&r, NULL);
    feed(c, HTTP_DIR_REQ, "POST /up HTTP/1.1\r\nContent-Length: 6\r\n\r\nabc");
    feed(c, HTTP_DIR_RESP, "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n");
    assert_null(strstr(r.log, "RESPDONE"));
    feed(c, HTTP_DIR_REQ, "def");
    finish(c);
    const char *a = strstr(r.log, "REQDONE 1"), *b = strstr(r.log, "RESPDONE 1 POST 413");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    http_conn_free(c);
    free(r.log);
}

/* Mutated streams in random pieces with random gaps: no crash (ASan), and
 * the callback contract holds: every announced request completes once on
 * each side. */
static void test_mutations(void **state)
{
    (void)state;
    char *mp = mp_request();
    const char *extra = "POST /v1/chat/completions HTTP/1.1\r\nContent-Encoding: gzip\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n5\r\n\x1f\x8b\x08\x00\x00\r\n0\r\n\r\n";
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                       "\r\n\r\n1\r\nx\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    size_t n1 = strlen(mp), n2 = strlen(extra), rn = strlen(resp);
    uint8_t *req = malloc(n1 + n2), *rsp = malloc(rn);
    unsigned x = 99;
    http_limits lim;
    http_limits_default(&lim);
    lim.max_pipeline = 2;
    lim.max_line = 128;
    for (unsigned round = 0; round < 3000; round++) {
        memcpy(req, mp, n1);
        memcpy(req + n1, extra, n2);
        memcpy(rsp, resp, rn);
        unsigned muts = round % 8;
        for (unsigned k = 0; k < muts; k++) {
            x = x * 1103515245u + 12345u;
            size_t pos = (x >> 8) % (n1 + n2);
            x = x * 1103515245u + 12345u;
            req[pos] = (uint8_t)(x >> 24);
            x = x * 1103515245u + 12345u;
            rsp[(x >> 8) % rn] = (uint8_t)(x >> 20);
        }
        rec r;
        http_conn *c = mk(&r, round % 2 ? &lim : NULL);
        size_t a = 0, b = 0;
        while (a < n1 + n2 || b < rn) {
            x = x * 1103515245u + 12345u;
            size_t step = 1 + (x >> 8) % 90;
            if (a < n1 + n2) {
                size_t k = step < n1 + n2 - a ? step : n1 + n2 - a;
                if ((x >> 4) % 97 == 0)
                    http_conn_gap(c, HTTP_DIR_REQ, k);
                else
                    http_conn_feed(c, HTTP_DIR_REQ, req + a, k);
                a += k;
            }
            if (b < rn) {
                size_t k = step < rn - b ? step : rn - b;
                if ((x >> 12) % 89 == 0)
                    http_conn_gap(c, HTTP_DIR_RESP, k);
                else
                    http_conn_feed(c, HTTP_DIR_RESP, rsp + b, k);
                b += k;
            }
        }
        finish(c);
        http_conn_free(c);
        if (r.reqs != r.reqh || r.resps != r.reqh + r.orphans)
            fail_msg("round %u: reqh=%u reqs=%u resps=%u orphans=%u", round, r.reqh, r.reqs,
                     r.resps, r.orphans);
        free(r.log);
    }
    free(req);
    free(rsp);
    free(mp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive_pairing), cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_chunked),           cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_deflate),           cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_truncated),         cmocka_unit_test(test_gap),
        cmocka_unit_test(test_body_gaps),         cmocka_unit_test(test_absurd_headers),
        cmocka_unit_test(test_evasion_headers),   cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_split_invariance),  cmocka_unit_test(test_orphan_tunnel_overflow),
        cmocka_unit_test(test_mutations),         cmocka_unit_test(test_uri_with_spaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
