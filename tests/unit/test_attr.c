/*
 * test_attr.c -- attribution order of evidence over the shipped catalog:
 * sent name (SNI / QUIC / Host) > DNS-derived name (CNAME chains) >
 * published ranges; an ECH outer / generic name never beats DNS; DNS
 * memory is per client; user catalogs override; errors name FILE:LINE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "tmpdir.h"

#define DATA EGRET_SRCDIR "/rules/data"
#define T0   1740823200000000ull

static void ip(const char *s, uint8_t out[16])
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, s, out) != 1) assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static attr *shipped(void)
{
    char err[512] = "";
    attr *a = attr_new(DATA, NULL, 0, 0, err, sizeof(err));
    if (!a) fail_msg("attr_new: %s", err);
    return a;
}

/* A response: qname CNAME target, target A addr. */
static void answer(dns_msg *m, const char *qname, const char *cname, const char *addr)
{
    memset(m, 0, sizeof(*m));
    m->response = true;
    snprintf(m->qname, sizeof(m->qname), "%s", qname);
    m->qtype = DNS_T_A;
    size_t n = 0;
    const char *owner = qname;
    if (cname) {
        dns_rr *c = &m->answers[n++];
        snprintf(c->name, sizeof(c->name), "%s", qname);
        c->type = DNS_T_CNAME;
        c->ttl = 300;
        snprintf(c->target, sizeof(c->target), "%s", cname);
        owner = cname;
    }
    dns_rr *r = &m->answers[n++];
    snprintf(r->name, sizeof(r->name), "%s", owner);
    r->type = DNS_T_A;
    r->ttl = 300;
    ip(addr, r->addr);
    m->n_answers = n;
}

static void test_sent_name(void **state)
{
    (void)state;
    attr *a = shipped();
    uint8_t c[16], s[16];
    ip("10.1.1.10", c);
    ip("198.51.100.10", s);
    attr_result r;
    assert_true(attr_flow(a, 4, c, s, "api.openai.com", ATTR_NAME_SNI, T0, &r));
    assert_string_equal(r.provider, "OpenAI");
    assert_string_equal(r.kind, "api");
    assert_string_equal(r.host, "api.openai.com");
    assert_string_equal(r.method, "sni");
    assert_string_equal(r.confidence, "high");
    assert_true(attr_flow(a, 4, c, s, "API.Mistral.AI.", ATTR_NAME_HTTP_HOST, T0, &r));
    assert_string_equal(r.provider, "Mistral");
    assert_string_equal(r.method, "http_host");
    /* a Host or :authority with a port: the name matches, reported without it */
    assert_true(attr_flow(a, 4, c, s, "api.openai.com:8443", ATTR_NAME_HTTP_HOST, T0, &r));
    assert_string_equal(r.provider, "OpenAI");
    assert_string_equal(r.host, "api.openai.com");
    assert_false(attr_flow(a, 4, c, s, "api.openai.com:", ATTR_NAME_HTTP_HOST, T0, &r));
    assert_false(attr_flow(a, 4, c, s, "api.openai.com:443", ATTR_NAME_SNI, T0, &r));
    assert_true(attr_flow(a, 4, c, s, "chatgpt.com", ATTR_NAME_QUIC_SNI, T0, &r));
    assert_string_equal(r.kind, "consumer");
    assert_string_equal(r.method, "quic_sni");
    /* label boundaries */
    assert_false(attr_flow(a, 4, c, s, "notopenai.com", ATTR_NAME_SNI, T0, &r));
    assert_false(attr_flow(a, 4, c, s, "openai.com.evil.net", ATTR_NAME_SNI, T0, &r));
    attr_free(a);
}

static void test_dns_cname_and_ech(void **state)
{
    (void)state;
    attr *a = shipped();
    uint8_t c[16], other[16], s[16];
    ip("10.1.1.30", c);
    ip("10.1.1.31", other);
    ip("203.0.113.70", s);
    dns_msg m;
    answer(&m, "api.deepseek.com", "x.cdn.example.net", "203.0.113.70");
    attr_dns_answer(a, 4, c, &m, T0);
    attr_result r;
    /* IP literal (no name) */
    assert_true(attr_flow(a, 4, c, s, NULL, ATTR_NAME_NONE, T0 + 1000000, &r));
    assert_string_equal(r.provider, "DeepSeek");
    assert_string_equal(r.host, "api.deepseek.com");
    assert_string_equal(r.method, "dns");
    /* ECH outer / generic CDN name does not win over the DNS-derived name */
    assert_true(attr_flow(a, 4, c, s, "cloudflare-ech.com", ATTR_NAME_SNI, T0 + 1000000, &r));
    assert_string_equal(r.method, "dns");
    assert_string_equal(r.provider, "DeepSeek");
    /* another client did not resolve it */
    assert_false(attr_flow(a, 4, other, s, NULL, ATTR_NAME_NONE, T0 + 1000000, &r));
    /* a catalog SNI beats DNS */
    assert_true(attr_flow(a, 4, c, s, "api.openai.com", ATTR_NAME_SNI, T0 + 1000000, &r));
    assert_string_equal(r.method, "sni");
    /* TTL expiry (300 s) */
    assert_false(attr_flow(a, 4, c, s, NULL, ATTR_NAME_NONE, T0 + 400ull * 1000000, &r));
    /* a failed lookup (NXDOMAIN) is not remembered */
    answer(&m, "api.x.ai", NULL, "203.0.113.71");
    m.rcode = 3;
    attr_dns_answer(a, 4, c, &m, T0);
    ip("203.0.113.71", s);
    assert_false(attr_flow(a, 4, c, s, NULL, ATTR_NAME_NONE, T0, &r));
    attr_stats st;
    attr_get_stats(a, &st);
    assert_int_equal(st.by_dns, 2);
    assert_int_equal(st.by_name, 1);
    assert_true(st.patterns > 100);
    attr_free(a);
}

static void test_ip_range(void **state)
{
    (void)state;
    attr *a = shipped();
    uint8_t c[16], s[16];
    ip("10.1.1.10", c);
    ip("160.79.104.10", s);
    attr_result r;
    assert_true(attr_flow(a, 4, c, s, "", ATTR_NAME_SNI, T0, &r));
    assert_string_equal(r.provider, "Anthropic");
    assert_string_equal(r.method, "ip_range");
    assert_string_equal(r.confidence, "medium");
    ip("104.16.0.1", s); /* a shared CDN address names nobody */
    assert_false(attr_flow(a, 4, c, s, "", ATTR_NAME_SNI, T0, &r));
    assert_true(attr_match_name(a, "generativelanguage.googleapis.com", &r));
    assert_string_equal(r.provider, "Google");
    attr_free(a);
}

static void test_user_catalog(void **state)
{
    (void)state;
    char dir[64];
    assert_non_null(mkdtemp(test_tmpname(dir, sizeof(dir), "egret-attr")));
    char good[128], bad[128];
    snprintf(good, sizeof(good), "%s/corp.tsv", dir);
    snprintf(bad, sizeof(bad), "%s/bad.tsv", dir);
    FILE *f = fopen(good, "w");
    fputs("provider\tkind\thost\tsource\nCorpGW\tgateway\tllm.corp-gw.example\tlocal\n"
          "Anthropic\tapi\tclaude.ai\tlocal override\n",
          f);
    fclose(f);
    f = fopen(bad, "w");
    fputs("provider\tkind\thost\tsource\nX\tnot-a-kind\tx.example\tsrc\n", f);
    fclose(f);
    const char *ok[1] = {good};
    char err[512] = "";
    attr *a = attr_new(DATA, ok, 1, 0, err, sizeof(err));
    assert_non_null(a);
    uint8_t c[16], s[16];
    ip("10.1.1.10", c);
    ip("192.0.2.10", s);
    attr_result r;
    assert_true(attr_flow(a, 4, c, s, "llm.corp-gw.example", ATTR_NAME_SNI, T0, &r));
    assert_string_equal(r.provider, "CorpGW");
    assert_string_equal(r.kind, "gateway");
    assert_true(attr_flow(a, 4, c, s, "claude.ai", ATTR_NAME_SNI, T0, &r));
    assert_string_equal(r.kind, "api");
    attr_free(a);
    const char *nok[1] = {bad};
    assert_null(attr_new(DATA, nok, 1, 0, err, sizeof(err)));
    char want[160];
    snprintf(want, sizeof(want), "%s:2:", bad);
    if (!strstr(err, want)) fail_msg("error '%s' lacks '%s'", err, want);
    assert_null(attr_new("/nonexistent/dir", NULL, 0, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "not found"));
    unlink(good);
    unlink(bad);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sent_name),
        cmocka_unit_test(test_dns_cname_and_ech),
        cmocka_unit_test(test_ip_range),
        cmocka_unit_test(test_user_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
