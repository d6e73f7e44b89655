/*
 * test_dpi.c -- the nDPI adapter driven with hand-built packets.
 *
 * Packets are built here (IPv4/IPv6 + TCP/UDP with real TLS ClientHello,
 * HTTP and DNS payloads) and fed through dpi_process as the engine would:
 * every packet of the flow, both directions, from the IP header.
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

#include "dpi.h"
#include "tmpdir.h"

/* ==== Packet builder ==== */

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_PSH = 0x08, TH_ACK = 0x10 };

typedef struct pkt {
    uint8_t b[2048];
    uint32_t len;
} pkt;

typedef struct ep {
    int v6; /* 0: IPv4, 1: IPv6 */
    uint8_t addr[16];
    uint16_t port;
} ep;

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) s += (uint32_t)(p[n - 1] << 8);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Builds IP + L4 header + payload.  l4 = 6 (TCP) or 17 (UDP). */
static void build(pkt *k, const ep *src, const ep *dst, uint8_t l4, uint32_t seq, uint32_t ack,
                  uint8_t flags, const void *payload, size_t plen)
{
    size_t iph = src->v6 ? 40 : 20, l4h = l4 == 6 ? 20 : 8;
    assert_true(iph + l4h + plen <= sizeof(k->b));
    memset(k->b, 0, iph + l4h);
    uint8_t *ip = k->b, *t = k->b + iph;
    if (src->v6) {
        ip[0] = 0x60;
        put16(ip + 4, (uint16_t)(l4h + plen));
        ip[6] = l4;
        ip[7] = 64;
        memcpy(ip + 8, src->addr, 16);
        memcpy(ip + 24, dst->addr, 16);
    } else {
        ip[0] = 0x45;
        put16(ip + 2, (uint16_t)(iph + l4h + plen));
        put16(ip + 4, 0x1234);
        ip[6] = 0x40; /* DF */
        ip[8] = 64;
        ip[9] = l4;
        memcpy(ip + 12, src->addr, 4);
        memcpy(ip + 16, dst->addr, 4);
        put16(ip + 10, csum(ip, 20));
    }
    put16(t, src->port);
    put16(t + 2, dst->port);
    if (l4 == 6) {
        put32(t + 4, seq);
        put32(t + 8, ack);
        t[12] = 5 << 4;
        t[13] = flags;
        put16(t + 14, 65535);
    } else {
        put16(t + 4, (uint16_t)(8 + plen));
    }
    if (plen) memcpy(t + l4h, payload, plen);
    k->len = (uint32_t)(iph + l4h + plen);
}

/* ==== A TCP conversation: handshake, then data both ways ==== */

typedef struct tcpconv {
    ep cli, srv;
    uint32_t cseq, sseq;
    uint64_t ts;
    dpi_ctx *c;
    dpi_flow *f;
    uint32_t budget;
    dpi_info info;
    bool done;
} tcpconv;

static bool conv_send(tcpconv *v, bool from_cli, uint8_t flags, const void *data, size_t len)
{
    pkt k;
    if (from_cli)
        build(&k, &v->cli, &v->srv, 6, v->cseq, v->sseq, flags, data, len);
    else
        build(&k, &v->srv, &v->cli, 6, v->sseq, v->cseq, flags, data, len);
    uint32_t adv = (uint32_t)len + ((flags & (TH_SYN | TH_FIN)) ? 1u : 0u);
    if (from_cli)
        v->cseq += adv;
    else
        v->sseq += adv;
    v->ts += 10;
    v->done = dpi_process(v->c, v->f, k.b, k.len, v->ts, v->budget, &v->info);
    if (!v->done) dpi_peek(v->c, v->f, &v->info); /* intermediate state */
    return v->done;
}

static void conv_open(tcpconv *v, dpi_ctx *c, const ep *cli, const ep *srv)
{
    memset(v, 0, sizeof(*v));
    v->cli = *cli, v->srv = *srv;
    v->cseq = 1000, v->sseq = 5000;
    v->ts = 1700000000000ull;
    v->c = c;
    v->f = dpi_flow_new(c);
    assert_non_null(v->f);
    v->budget = DPI_BUDGET_TCP;
    assert_false(conv_send(v, true, TH_SYN, NULL, 0));
    v->cseq = 1001;
    assert_false(conv_send(v, false, TH_SYN | TH_ACK, NULL, 0));
    v->sseq = 5001;
    assert_false(conv_send(v, true, TH_ACK, NULL, 0));
}

/* ==== Payloads ==== */

/* A TLS 1.3-capable ClientHello with SNI 'host' and ALPN h2,http/1.1. */
static size_t client_hello(uint8_t *out, size_t cap, const char *host)
{
    uint8_t ext[512];
    size_t e = 0, hl = strlen(host);
    /* server_name */
    put16(ext + e, 0x0000), put16(ext + e + 2, (uint16_t)(hl + 5));
    put16(ext + e + 4, (uint16_t)(hl + 3)), ext[e + 6] = 0, put16(ext + e + 7, (uint16_t)hl);
    memcpy(ext + e + 9, host, hl);
    e += 9 + hl;
    /* supported_groups: x25519, secp256r1 */
    static const uint8_t groups[] = {0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17};
    memcpy(ext + e, groups, sizeof(groups)), e += sizeof(groups);
    /* ec_point_formats */
    static const uint8_t ecpf[] = {0x00, 0x0b, 0x00, 0x02, 0x01, 0x00};
    memcpy(ext + e, ecpf, sizeof(ecpf)), e += sizeof(ecpf);
    /* signature_algorithms */
    static const uint8_t sigs[] = {0x00, 0x0d, 0x00, 0x08, 0x00, 0x06,
                                   0x04, 0x03, 0x08, 0x04, 0x04, 0x01};
    memcpy(ext + e, sigs, sizeof(sigs)), e += sizeof(sigs);
    /* ALPN: h2, http/1.1 */
    static const uint8_t alpn[] = {0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 'h', '2',
                                   0x08, 'h',  't',  't',  'p',  '/',  '1',  '.', '1'};
    memcpy(ext + e, alpn, sizeof(alpn)), e += sizeof(alpn);
    /* supported_versions: TLS 1.3, 1.2 */
    static const uint8_t vers[] = {0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03};
    memcpy(ext + e, vers, sizeof(vers)), e += sizeof(vers);

    static const uint8_t suites[] = {0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b,
                                     0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9c};
    uint8_t hs[1024];
    size_t h = 4;
    put16(hs + h, 0x0303), h += 2;
    for (int i = 0; i < 32; i++) hs[h++] = (uint8_t)(i * 7 + 1); /* random */
    hs[h++] = 32;
    for (int i = 0; i < 32; i++) hs[h++] = (uint8_t)(0xa0 + i); /* session id */
    put16(hs + h, sizeof(suites)), h += 2;
    memcpy(hs + h, suites, sizeof(suites)), h += sizeof(suites);
    hs[h++] = 1, hs[h++] = 0; /* compression: null */
    put16(hs + h, (uint16_t)e), h += 2;
    memcpy(hs + h, ext, e), h += e;
    hs[0] = 1; /* client_hello */
    hs[1] = 0, put16(hs + 2, (uint16_t)(h - 4));

    assert_true(5 + h <= cap);
    out[0] = 0x16, put16(out + 1, 0x0301), put16(out + 3, (uint16_t)h);
    memcpy(out + 5, hs, h);
    return 5 + h;
}

static size_t dns_name(uint8_t *p, const char *name)
{
    size_t n = 0;
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        p[n++] = (uint8_t)l;
        memcpy(p + n, name, l), n += l;
        name += l + (dot ? 1 : 0);
    }
    p[n++] = 0;
    return n;
}

/* DNS A query for 'name'; with 'answer' a response carrying one A record. */
static size_t dns_msg(uint8_t *p, const char *name, bool answer)
{
    size_t n = 12;
    memset(p, 0, 12);
    put16(p, 0x4242);
    put16(p + 2, answer ? 0x8180 : 0x0100);
    put16(p + 4, 1);
    put16(p + 6, answer ? 1 : 0);
    n += dns_name(p + n, name);
    put16(p + n, 1), put16(p + n + 2, 1), n += 4;
    if (answer) {
        put16(p + n, 0xc00c), put16(p + n + 2, 1), put16(p + n + 4, 1);
        put32(p + n + 6, 300), put16(p + n + 10, 4);
        p[n + 12] = 93, p[n + 13] = 184, p[n + 14] = 216, p[n + 15] = 34;
        n += 16;
    }
    return n;
}

static const ep CLI4 = {0, {192, 168, 1, 10}, 51234};
static const ep CLI6 = {1, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}, 51235};
static const ep SRV6_HTTPS = {
    1, {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}, 443};

static ep srv4(uint16_t port)
{
    ep e = {0, {203, 0, 113, 45}, port};
    return e;
}

/* ==== Fixtures ==== */

static int setup(void **state)
{
    char err[256];
    dpi_ctx *c = dpi_new(NULL, NULL, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "dpi_new: %s\n", err);
        return -1;
    }
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    dpi_free(*state);
    return 0;
}

/* ==== Tests ==== */

/* TLS over IPv4 and IPv6: the ClientHello yields SNI, ALPN, JA3, version. */
static void test_tls_client_hello(void **state)
{
    dpi_ctx *c = *state;
    const struct {
        const ep *cli;
        ep srv;
    } cases[] = {{&CLI4, {0, {203, 0, 113, 45}, 443}}, {&CLI6, SRV6_HTTPS}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tcpconv v;
        conv_open(&v, c, cases[i].cli, &cases[i].srv);
        uint8_t ch[1500];
        size_t n = client_hello(ch, sizeof(ch), "api.openai.com");
        conv_send(&v, true, TH_PSH | TH_ACK, ch, n);

        assert_string_equal(v.info.hostname, "api.openai.com");
        assert_string_equal(v.info.alpn, "h2,http/1.1");
        /* md5("771,4865-4866-4867-49195-49199-49196-49200-156,0-10-11-13-16-43,29-23,0") */
        assert_string_equal(v.info.ja3, "6f530edf846e928879e7858c79b5b2e8");
        assert_string_equal(v.info.tls_version,
                            "TLS 1.2"); /* ClientHello legacy version, as Suricata writes it */
        assert_int_equal(v.info.master_id == 91 || v.info.app_id == 91, 1); /* TLS */
        assert_string_equal(v.info.proto, "TLS");
        assert_string_equal(v.info.app_proto, "tls");
        assert_string_equal(v.info.category, "Web");
        assert_true(v.info.detected);
        assert_false(v.info.guessed);
        assert_string_equal(v.info.confidence, "DPI");
        /* Without a certificate nDPI wants more packets: not done yet. */
        assert_false(v.done);
        assert_int_equal(v.info.pkts, 4);

        /* Empty ACKs until the TCP budget runs out: done exactly on packet
         * budget+1, classification kept (no giveup needed). */
        while (!conv_send(&v, false, TH_ACK, NULL, 0)) assert_true(v.info.pkts <= DPI_BUDGET_TCP);
        assert_int_equal(v.info.pkts, DPI_BUDGET_TCP + 1);
        assert_true(v.info.done);
        assert_string_equal(v.info.proto, "TLS");
        assert_string_equal(v.info.hostname, "api.openai.com");
        assert_string_equal(v.info.alpn, "h2,http/1.1");
        /* Further calls are harmless and report done. */
        assert_true(conv_send(&v, true, TH_ACK, NULL, 0));
        assert_int_equal(v.info.pkts, DPI_BUDGET_TCP + 1);
        dpi_flow_free(v.f);
    }
}

/* A well-known SNI gets its sub-protocol, ndpiReader style "TLS.Google". */
static void test_tls_known_sni(void **state)
{
    tcpconv v;
    ep s = srv4(443);
    conv_open(&v, *state, &CLI4, &s);
    uint8_t ch[1500];
    size_t n = client_hello(ch, sizeof(ch), "www.google.com");
    conv_send(&v, true, TH_PSH | TH_ACK, ch, n);
    assert_string_equal(v.info.proto, "TLS.Google");
    assert_string_equal(v.info.app_proto, "tls");
    assert_string_equal(v.info.category, "Web");
    assert_string_equal(v.info.hostname, "www.google.com");
    dpi_flow_free(v.f);
}

static const char HTTP_RESP[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                                "Content-Length: 2\r\n\r\nok";

/* HTTP: Host header becomes the hostname; done once the response is seen. */
static void test_http_get(void **state)
{
    tcpconv v;
    ep s = srv4(80);
    conv_open(&v, *state, &CLI4, &s);
    static const char req[] = "GET /v1/models HTTP/1.1\r\nHost: www.example.com\r\n"
                              "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
    conv_send(&v, true, TH_PSH | TH_ACK, req, sizeof(req) - 1);
    assert_string_equal(v.info.proto, "HTTP");
    assert_string_equal(v.info.app_proto, "http");
    assert_string_equal(v.info.hostname, "www.example.com");
    assert_string_equal(v.info.alpn, "");
    assert_string_equal(v.info.ja3, "");
    assert_int_equal(v.info.app_id, 7);
    conv_send(&v, false, TH_ACK, NULL, 0);
    bool done = conv_send(&v, false, TH_PSH | TH_ACK, HTTP_RESP, sizeof(HTTP_RESP) - 1);
    assert_true(done);
    assert_true(v.info.pkts < DPI_BUDGET_TCP);
    assert_string_equal(v.info.proto, "HTTP");
    assert_string_equal(v.info.hostname, "www.example.com");
    dpi_flow_free(v.f);
}

/* One HTTP exchange to port 80 from client port 'cport' for 'path'; returns
 * the risk bitmask once the response finished the flow. */
static uint64_t http_risk(dpi_ctx *c, uint16_t cport, const char *path)
{
    tcpconv v;
    ep cli = CLI4, s = srv4(80);
    cli.port = cport;
    conv_open(&v, c, &cli, &s);
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: www.example.com\r\n\r\n", path);
    conv_send(&v, true, TH_PSH | TH_ACK, req, (size_t)n);
    conv_send(&v, false, TH_ACK, NULL, 0);
    assert_true(conv_send(&v, false, TH_PSH | TH_ACK, HTTP_RESP, sizeof(HTTP_RESP) - 1));
    uint64_t risk = v.info.risk;
    dpi_flow_free(v.f);
    return risk;
}

/* The URL risk (XSS / SQL injection in the query) is the same whether it
 * comes from nDPI or from the per-context memo, and differs by URL. */
static void test_http_url_risk(void **state)
{
    int xss = -1, sqli = -1;
    for (int b = 1; b < 64; b++) {
        const char *nm = dpi_risk_name(b);
        if (nm && strstr(nm, "XSS")) xss = b;
        if (nm && strstr(nm, "SQL")) sqli = b;
    }
    assert_true(xss > 0 && sqli > 0);
    const char *bad_xss = "/search?q=<script>alert(document.cookie)</script>";
    const char *bad_sql = "/item?id=1' OR '1'='1";
    uint64_t h, m;
    uint64_t r1 = http_risk(*state, 40001, bad_xss);
    dpi_url_memo_counts(*state, &h, &m);
    assert_int_equal(h, 0);
    assert_int_equal(m, 1);
    assert_true(r1 & (UINT64_C(1) << xss));
    uint64_t r2 = http_risk(*state, 40002, bad_xss); /* from the memo */
    dpi_url_memo_counts(*state, &h, &m);
    assert_int_equal(h, 1);
    assert_int_equal(m, 1);
    assert_true(r2 & (UINT64_C(1) << xss));
    uint64_t r3 = http_risk(*state, 40003, bad_sql);
    assert_true(r3 & (UINT64_C(1) << sqli));
    assert_false(r3 & (UINT64_C(1) << xss));
    uint64_t r4 = http_risk(*state, 40004, "/search?q=hello");
    assert_false(r4 & ((UINT64_C(1) << xss) | (UINT64_C(1) << sqli)));
    assert_true(http_risk(*state, 40005, bad_sql) & (UINT64_C(1) << sqli));
    dpi_url_memo_counts(*state, &h, &m);
    assert_int_equal(h, 2);
    assert_int_equal(m, 3);
    /* More URLs (1,100) than memo slots (2 x 512), twice: slots are shared and
     * overwritten, and every answer still belongs to its own URL. */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 1100; i++) {
            char path[128];
            if (i % 2)
                snprintf(path, sizeof(path), "/s?q=<script>alert(%d)</script>", i);
            else
                snprintf(path, sizeof(path), "/s?q=hello%d", i);
            uint64_t r = http_risk(*state, (uint16_t)(42000 + round * 1200 + i), path);
            assert_int_equal((r >> xss) & 1, (uint64_t)(i % 2));
        }
    dpi_url_memo_counts(*state, &h, &m);
    assert_true(h + m == 2205 && h > 2 && m > 1102);
}

/* DNS over UDP (v4 and v6): query name is the hostname; the response ends it. */
static void test_dns(void **state)
{
    dpi_ctx *c = *state;
    const ep *clis[] = {&CLI4, &CLI6};
    for (size_t i = 0; i < 2; i++) {
        ep s = *clis[i];
        s.port = 53;
        s.addr[15] ^= 0x55;
        dpi_flow *f = dpi_flow_new(c);
        assert_non_null(f);
        dpi_info info;
        uint8_t msg[512];
        pkt k;
        size_t n = dns_msg(msg, "chat.openai.com", false);
        build(&k, clis[i], &s, 17, 0, 0, 0, msg, n);
        bool done = dpi_process(c, f, k.b, k.len, 1000, DPI_BUDGET_UDP, &info);
        if (!done) dpi_peek(c, f, &info);
        assert_string_equal(info.proto, "DNS");
        assert_string_equal(info.app_proto, "dns");
        assert_string_equal(info.hostname, "chat.openai.com");
        assert_string_equal(info.category, "Network");
        assert_false(done); /* nDPI waits for the answer */
        n = dns_msg(msg, "chat.openai.com", true);
        build(&k, &s, clis[i], 17, 0, 0, 0, msg, n);
        done = dpi_process(c, f, k.b, k.len, 1010, DPI_BUDGET_UDP, &info);
        if (!done) dpi_peek(c, f, &info);
        assert_true(done);
        assert_true(info.done);
        assert_string_equal(info.proto, "DNS");
        assert_string_equal(info.hostname, "chat.openai.com");
        assert_int_equal(info.pkts, 2);
        dpi_flow_free(f);
    }
}

/* An undetectable UDP flow gives up exactly after the UDP budget. */
static void test_unknown_udp_budget(void **state)
{
    dpi_ctx *c = *state;
    ep a = CLI4, b = srv4(40001);
    a.port = 40000;
    dpi_flow *f = dpi_flow_new(c);
    dpi_info info;
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof(junk); i++) junk[i] = (uint8_t)(i * 37 + 11);
    uint32_t n = 0;
    bool done = false;
    while (!done) {
        pkt k;
        junk[0] = (uint8_t)n;
        if (n & 1)
            build(&k, &b, &a, 17, 0, 0, 0, junk, sizeof(junk));
        else
            build(&k, &a, &b, 17, 0, 0, 0, junk, sizeof(junk));
        done = dpi_process(c, f, k.b, k.len, 1000 + n, DPI_BUDGET_UDP, &info);
        if (!done) dpi_peek(c, f, &info);
        n++;
        assert_true(n <= DPI_BUDGET_UDP + 1);
    }
    assert_int_equal(n, DPI_BUDGET_UDP + 1);
    assert_string_equal(info.proto, "Unknown");
    assert_string_equal(info.app_proto, "failed");
    assert_string_equal(info.hostname, "");
    assert_false(info.detected);
    assert_false(info.guessed);
    assert_int_equal(info.app_id, 0);
    dpi_flow_free(f);
}

/* Giving up at flow end guesses by port: a bare handshake to 443 is "TLS"
 * (ndpiReader: "Confidence: Match by port"); to an unused port, Unknown. */
static void test_giveup_guess(void **state)
{
    dpi_ctx *c = *state;
    const struct {
        uint16_t port;
        const char *proto, *app_proto;
        bool guessed;
    } cases[] = {
        {443, "TLS", "tls", true}, {80, "HTTP", "http", true}, {47999, "Unknown", "failed", false}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tcpconv v;
        ep s = srv4(cases[i].port);
        conv_open(&v, c, &CLI4, &s);
        assert_string_equal(v.info.proto, "Unknown");
        dpi_info info;
        dpi_giveup(c, v.f, &info);
        assert_true(info.done);
        assert_string_equal(info.proto, cases[i].proto);
        assert_string_equal(info.app_proto, cases[i].app_proto);
        assert_int_equal(info.guessed, cases[i].guessed);
        assert_false(info.detected);
        if (cases[i].guessed) assert_string_equal(info.confidence, "Match by port");
        /* Giving up twice is a no-op. */
        dpi_info again;
        dpi_giveup(c, v.f, &again);
        assert_string_equal(again.proto, info.proto);
        dpi_flow_free(v.f);
    }
    /* A flow that never saw a packet. */
    dpi_flow *f = dpi_flow_new(c);
    dpi_info info;
    dpi_giveup(c, f, &info);
    assert_string_equal(info.app_proto, "failed");
    dpi_flow_free(f);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* A custom protocols file (nDPI 4.2 format) adds a host-based protocol. */
static void test_custom_protocols(void **state)
{
    (void)state;
    char dir[64];
    assert_non_null(mkdtemp(test_tmpname(dir, sizeof(dir), "egret_dpi")));
    char protos[128], cats[128];
    snprintf(protos, sizeof(protos), "%s/protos.txt", dir);
    snprintf(cats, sizeof(cats), "%s/cats.txt", dir);
    write_file(protos, "# test\nhost:\"example-ai.test\"@ExampleAI\n");
    write_file(cats, "other-ai.test\t100\n");

    char err[256];
    dpi_ctx *c = dpi_new(protos, cats, err, sizeof(err));
    assert_non_null(c);

    tcpconv v;
    ep s = srv4(80);
    conv_open(&v, c, &CLI4, &s);
    static const char req[] = "POST /v1/chat HTTP/1.1\r\nHost: api.example-ai.test\r\n"
                              "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    conv_send(&v, true, TH_PSH | TH_ACK, req, sizeof(req) - 1);
    assert_string_equal(v.info.proto, "HTTP.ExampleAI");
    assert_string_equal(v.info.app_proto, "http");
    assert_string_equal(v.info.hostname, "api.example-ai.test");
    conv_send(&v, false, TH_PSH | TH_ACK, HTTP_RESP, sizeof(HTTP_RESP) - 1);
    assert_true(v.done);
    assert_string_equal(v.info.proto, "HTTP.ExampleAI");
    dpi_flow_free(v.f);

    /* Without the file the same request is plain HTTP. */
    dpi_ctx *plain = dpi_new(NULL, NULL, err, sizeof(err));
    assert_non_null(plain);
    conv_open(&v, plain, &CLI4, &s);
    conv_send(&v, true, TH_PSH | TH_ACK, req, sizeof(req) - 1);
    assert_string_equal(v.info.proto, "HTTP");
    dpi_flow_free(v.f);
    dpi_free(plain);

    dpi_free(c);
    unlink(protos);
    unlink(cats);
    rmdir(dir);
}

/* Missing files give a clear error naming the file. */
static void test_bad_files(void **state)
{
    (void)state;
    char err[256];
    err[0] = 'x';
    assert_null(dpi_new("/nonexistent/egret/protos.txt", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/egret/protos.txt"));
    assert_non_null(strstr(err, "protocols"));
    assert_null(dpi_new(NULL, "/nonexistent/egret/cats.txt", err, sizeof(err)));
    assert_non_null(strstr(err, "categories"));
    /* A tiny error buffer is truncated, not overflowed. */
    char small[8];
    assert_null(dpi_new("/nonexistent/x", NULL, small, sizeof(small)));
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* Truncated or garbage input never crashes and never finishes early. */
static void test_garbage(void **state)
{
    dpi_ctx *c = *state;
    dpi_flow *f = dpi_flow_new(c);
    dpi_info info;
    static const uint8_t bytes[] = {0x45, 0x00, 0x00, 0x54, 0, 0, 0, 0, 64, 6};
    for (uint32_t n = 0; n <= sizeof(bytes); n++)
        assert_false(dpi_process(c, f, bytes, n, 1, 1000, &info));
    assert_false(dpi_process(c, f, NULL, 0, 1, 1000, &info));
    dpi_peek(c, f, &info);
    assert_string_equal(info.proto, "Unknown");
    dpi_flow_free(f);
    dpi_flow_free(NULL);
    dpi_free(NULL);
}

static void test_names(void **state)
{
    (void)state;
    assert_null(dpi_risk_name(0));
    assert_null(dpi_risk_name(-1));
    assert_null(dpi_risk_name(64));
    const char *r = dpi_risk_name(1);
    assert_non_null(r);
    assert_true(strlen(r) > 3);
    bool found = false;
    for (int i = 1; i < 64; i++) {
        const char *s = dpi_risk_name(i);
        if (s && strcmp(s, "Known Protocol on Non Standard Port") == 0) found = true;
    }
    assert_true(found);
    assert_non_null(dpi_version());
    assert_true(strncmp(dpi_version(), "4.2", 3) == 0);
    assert_int_equal(dpi_default_budget(6), 80);
    assert_int_equal(dpi_default_budget(17), 24);
    assert_int_equal(dpi_default_budget(1), UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tls_client_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_known_sni, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_url_risk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_udp_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_giveup_guess, setup, teardown),
        cmocka_unit_test(test_custom_protocols),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
