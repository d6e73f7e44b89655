/*
 * test_community_id.c -- Community ID v1 against the spec's published
 * baseline vectors (corelight community-id-spec), both directions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "community_id.h"

typedef struct {
    const char *src, *dst;
    uint8_t proto;
    uint16_t sport, dport;
    const char *want;
} vec;

/* clang-format off */
static const vec vectors[] = {
    {"128.232.110.120", "66.35.250.204", 6, 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
    {"192.168.1.52", "8.8.8.8", 17, 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
    {"192.168.170.8", "192.168.170.56", 132, 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
    {"192.168.0.89", "192.168.0.1", 1, 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
    {"fe80::260:97ff:fe07:69ea", "ff02::1", 58, 134, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00="},
    {"2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 6, 63943, 25,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
};
/* clang-format on */

static int parse(const char *s, uint8_t out[16])
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, s, out) == 1) return 4;
    if (inet_pton(AF_INET6, s, out) == 1) return 6;
    return 0;
}

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const vec *v = &vectors[i];
        uint8_t a[16], b[16];
        int va = parse(v->src, a), vb = parse(v->dst, b);
        assert_int_equal(va, vb);
        char out[COMMUNITY_ID_LEN];
        community_id_v1(0, va, a, b, v->proto, v->sport, v->dport, out);
        assert_string_equal(out, v->want);
        /* The reverse direction gives the same ID (ICMP: the reply). */
        if (v->proto == 1 || v->proto == 58) continue;
        community_id_v1(0, va, b, a, v->proto, v->dport, v->sport, out);
        assert_string_equal(out, v->want);
    }
}

static void test_icmp_reply_matches_request(void **state)
{
    (void)state;
    uint8_t a[16], b[16];
    parse("192.168.0.89", a);
    parse("192.168.0.1", b);
    char req[COMMUNITY_ID_LEN], rep[COMMUNITY_ID_LEN];
    community_id_v1(0, 4, a, b, 1, 8, 0, req);
    community_id_v1(0, 4, b, a, 1, 0, 0, rep);
    assert_string_equal(req, rep);
}

static void test_seed_changes_value(void **state)
{
    (void)state;
    uint8_t a[16], b[16];
    parse("128.232.110.120", a);
    parse("66.35.250.204", b);
    char s0[COMMUNITY_ID_LEN], s1[COMMUNITY_ID_LEN];
    community_id_v1(0, 4, a, b, 6, 34855, 80, s0);
    community_id_v1(1, 4, a, b, 6, 34855, 80, s1);
    assert_string_not_equal(s0, s1);
    assert_int_equal(strlen(s1), 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_icmp_reply_matches_request),
        cmocka_unit_test(test_seed_changes_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
