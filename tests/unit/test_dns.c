/*
 * test_dns.c -- DNS parser: answers with compression and a CNAME chain,
 * AAAA, NXDOMAIN, every truncated prefix, pointer loops.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dns.h"

/* Response: api.openai.com A? -> CNAME openai.edge.example.net, A 198.51.100.10 */
static const uint8_t resp[] = {
    0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
    /* q: api.openai.com (offset 12) */
    3, 'a', 'p', 'i', 6, 'O', 'p', 'e', 'n', 'A', 'I', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
    /* an1: ptr->12 CNAME, ttl 300, rdata: openai.edge.example.net (offset 44) */
    0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 0x2c, 0, 25, 6, 'o', 'p', 'e', 'n', 'a', 'i', 4, 'e', 'd', 'g',
    'e', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'n', 'e', 't', 0,
    /* an2: ptr->44 A 198.51.100.10 ttl 60 */
    0xc0, 44, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 10};

static void test_cname_chain(void **state)
{
    (void)state;
    dns_msg m;
    assert_int_equal(dns_parse(resp, sizeof(resp), &m), 0);
    assert_true(m.response);
    assert_int_equal(m.id, 0x1234);
    assert_string_equal(m.qname, "api.openai.com");
    assert_int_equal(m.qtype, DNS_T_A);
    assert_int_equal(m.n_answers, 2);
    assert_string_equal(m.answers[0].name, "api.openai.com");
    assert_int_equal(m.answers[0].type, DNS_T_CNAME);
    assert_string_equal(m.answers[0].target, "openai.edge.example.net");
    assert_int_equal(m.answers[0].ttl, 300);
    assert_string_equal(m.answers[1].name, "openai.edge.example.net");
    assert_int_equal(m.answers[1].type, DNS_T_A);
    const uint8_t want[4] = {198, 51, 100, 10};
    assert_memory_equal(m.answers[1].addr, want, 4);
    char b[16];
    assert_string_equal(dns_rcode_name(m.rcode, b), "NOERROR");
    assert_string_equal(dns_type_name(28, b), "AAAA");
    assert_string_equal(dns_type_name(999, b), "TYPE999");
}

static void test_truncated_prefixes(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof(resp); n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan catches over-reads */
        memcpy(copy, resp, n);
        dns_msg m;
        assert_int_equal(dns_parse(copy, n, &m), -1);
        free(copy);
    }
}

static void test_pointer_loop_and_forward(void **state)
{
    (void)state;
    uint8_t loop[] = {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    dns_msg m;
    assert_int_equal(dns_parse(loop, sizeof(loop), &m), -1);
    uint8_t fwd[] = {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 1, 'a', 0, 0, 1, 0, 1};
    assert_int_equal(dns_parse(fwd, sizeof(fwd), &m), -1);
}

static void test_aaaa_nxdomain(void **state)
{
    (void)state;
    uint8_t r[] = {0,    7,    0x81, 0x83, 0, 1, 0,    1,  0, 0,  0, 0, 1, 'x', 4, 't', 'e', 's',
                   't',  0,    0,    28,   0, 1, 0xc0, 12, 0, 28, 0, 1, 0, 0,   0, 30,  0,   16,
                   0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,    0,  0, 0,  0, 0, 0, 0,   0, 1};
    dns_msg m;
    assert_int_equal(dns_parse(r, sizeof(r), &m), 0);
    char b[16];
    assert_string_equal(dns_rcode_name(m.rcode, b), "NXDOMAIN");
    assert_int_equal(m.answers[0].type, DNS_T_AAAA);
    assert_int_equal(m.answers[0].addr[0], 0x20);
    assert_int_equal(m.answers[0].addr[15], 1);
    r[35] = 4; /* AAAA with a 4-byte rdata is malformed */
    assert_int_equal(dns_parse(r, sizeof(r) - 12, &m), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cname_chain),
        cmocka_unit_test(test_truncated_prefixes),
        cmocka_unit_test(test_pointer_loop_and_forward),
        cmocka_unit_test(test_aaaa_nxdomain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
