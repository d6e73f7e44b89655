/*
 * test_netset.c -- unit tests for prefix sets (netset.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "netset.h"

#define HOME "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7"

/* Looks up a textual address; returns the value or -1 for no match. */
static int look(const netset *s, const char *ip)
{
    uint8_t a[16] = {0};
    int v6 = strchr(ip, ':') != NULL;
    assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, ip, a), 1);
    int val = -12345;
    if (!netset_lookup(s, v6 ? 6 : 4, a, &val)) {
        assert_int_equal(val, -12345); /* untouched on a miss */
        return -1;
    }
    return val;
}

static void test_home_net(void **state)
{
    netset *s = netset_new();
    char err[128] = "";
    assert_int_equal(netset_add_list(s, HOME, 1, err, sizeof(err)), 0);
    assert_int_equal(netset_count(s), 5);
    static const struct {
        const char *ip;
        int in;
    } cases[] = {
        {"10.0.0.0", 1},    {"10.255.255.255", 1}, {"9.255.255.255", 0},
        {"11.0.0.0", 0},    {"172.16.0.0", 1},     {"172.31.255.255", 1},
        {"172.32.0.0", 0},  {"172.15.255.255", 0}, {"192.168.1.1", 1},
        {"192.169.0.0", 0}, {"100.64.0.1", 1},     {"100.127.255.255", 1},
        {"100.128.0.0", 0}, {"100.63.255.255", 0}, {"8.8.8.8", 0},
        {"fc00::1", 1},     {"fdff:ffff::1", 1},   {"fe00::", 0},
        {"fbff:ffff::", 0}, {"2001:db8::1", 0},    {"::ffff:10.0.0.1", 0},
        {"::", 0},          {"0.0.0.0", 0},        {"255.255.255.255", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int v = look(s, cases[i].ip);
        if (v != (cases[i].in ? 1 : -1)) fail_msg("%s: got %d", cases[i].ip, v);
    }
    netset_free(s);
}

static void test_families_independent(void **state)
{
    netset *s = netset_new();
    assert_int_equal(netset_add(s, "0.0.0.0/0", 4, NULL, 0), 0);
    assert_int_equal(look(s, "1.2.3.4"), 4);
    assert_int_equal(look(s, "255.255.255.255"), 4);
    assert_int_equal(look(s, "::1"), -1); /* /0 of IPv4 does not cover IPv6 */
    assert_int_equal(netset_add(s, "::/0", 6, NULL, 0), 0);
    assert_int_equal(look(s, "::1"), 6);
    assert_int_equal(look(s, "1.2.3.4"), 4);
    uint8_t a[16] = {0};
    assert_false(netset_lookup(s, 5, a, NULL)); /* unknown family */
    assert_true(netset_lookup(s, 4, a, NULL));  /* NULL value pointer ok */
    netset_free(s);
}

static void test_host_prefixes(void **state)
{
    netset *s = netset_new();
    char err[128];
    assert_int_equal(netset_add(s, "192.0.2.1/32", 1, err, sizeof(err)), 0);
    assert_int_equal(netset_add(s, "198.51.100.7", 2, err, sizeof(err)), 0); /* implied /32 */
    assert_int_equal(netset_add(s, "2001:db8::1/128", 3, err, sizeof(err)), 0);
    assert_int_equal(netset_add(s, "::1", 4, err, sizeof(err)), 0); /* implied /128 */
    assert_int_equal(look(s, "192.0.2.1"), 1);
    assert_int_equal(look(s, "192.0.2.0"), -1);
    assert_int_equal(look(s, "192.0.2.2"), -1);
    assert_int_equal(look(s, "198.51.100.7"), 2);
    assert_int_equal(look(s, "198.51.100.6"), -1);
    assert_int_equal(look(s, "2001:db8::1"), 3);
    assert_int_equal(look(s, "2001:db8::"), -1);
    assert_int_equal(look(s, "2001:db8::3"), -1);
    assert_int_equal(look(s, "::1"), 4);
    assert_int_equal(look(s, "::"), -1);
    assert_int_equal(netset_count(s), 4);
    netset_free(s);
}

static void test_longest_prefix_wins(void **state)
{
    netset *s = netset_new();
    assert_int_equal(netset_add(s, "10.0.0.0/8", 8, NULL, 0), 0);
    assert_int_equal(netset_add(s, "10.1.0.0/16", 16, NULL, 0), 0);
    assert_int_equal(netset_add(s, "10.1.2.0/24", 24, NULL, 0), 0);
    assert_int_equal(netset_add(s, "10.1.2.3/32", 32, NULL, 0), 0);
    assert_int_equal(netset_add(s, "2001:db8::/32", 32, NULL, 0), 0);
    assert_int_equal(netset_add(s, "2001:db8:1::/48", 48, NULL, 0), 0);
    /* added shortest-last must not matter */
    assert_int_equal(netset_add(s, "0.0.0.0/0", 0, NULL, 0), 0);
    static const struct {
        const char *ip;
        int v;
    } cases[] = {
        {"10.1.2.3", 32}, {"10.1.2.4", 24},      {"10.1.3.1", 16},      {"10.2.0.0", 8},
        {"11.0.0.0", 0},  {"2001:db8:1::5", 48}, {"2001:db8:2::5", 32}, {"2001:db9::", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int v = look(s, cases[i].ip);
        if (v != cases[i].v) fail_msg("%s: got %d want %d", cases[i].ip, v, cases[i].v);
    }
    /* re-adding the same prefix replaces its value, count unchanged */
    size_t n = netset_count(s);
    assert_int_equal(netset_add(s, "10.1.0.0/16", 99, NULL, 0), 0);
    assert_int_equal(netset_count(s), n);
    assert_int_equal(look(s, "10.1.3.1"), 99);
    netset_free(s);
}

static void test_host_bits_masked(void **state)
{
    netset *s = netset_new();
    char err[128] = "";
    assert_int_equal(netset_add(s, "10.1.2.3/8", 1, err, sizeof(err)), 0);
    assert_int_equal(netset_add(s, "172.16.5.4/12", 2, err, sizeof(err)), 0);
    assert_int_equal(netset_add(s, "2001:db8:ffff:ffff::1/33", 3, err, sizeof(err)), 0);
    assert_int_equal(look(s, "10.200.0.1"), 1);
    assert_int_equal(look(s, "172.31.0.1"), 2);
    assert_int_equal(look(s, "172.32.0.1"), -1);
    assert_int_equal(look(s, "2001:db8:8000::"), 3);
    assert_int_equal(look(s, "2001:db8:7fff::"), -1);
    /* the same network written with different host bits is one prefix */
    assert_int_equal(netset_add(s, "10.0.0.0/8", 5, err, sizeof(err)), 0);
    assert_int_equal(netset_count(s), 3);
    assert_int_equal(look(s, "10.200.0.1"), 5);
    netset_free(s);
}

static void test_bad_inputs(void **state)
{
    static const struct {
        const char *in;
        const char *msg; /* expected substring of the error */
    } cases[] = {
        {"garbage", "bad CIDR 'garbage': not an IPv4 address"},
        {"10.0.0.0/33", "bad CIDR '10.0.0.0/33': prefix length 33 > 32"},
        {"::/129", "bad CIDR '::/129': prefix length 129 > 128"},
        {"2001:db8::/999", "prefix length 999 > 128"},
        {"10.0.0.0/", "prefix length '' is not a number"},
        {"10.0.0.0/x", "prefix length 'x' is not a number"},
        {"10.0.0.0/-1", "is not a number"},
        {"10.0.0.0/+8", "is not a number"},
        {"10.0.0.0/0008", "is not a number"},
        {"10.0.0.0/8/9", "is not a number"},
        {"10.0.0.0 /8", "not an IPv4 address"},
        {"10/8", "not an IPv4 address"},
        {"256.0.0.0/8", "not an IPv4 address"},
        {"2001:db8::g/32", "not an IPv6 address"},
        {"/8", "missing address"},
        {"", "bad CIDR '': empty"},
        {"   ", "bad CIDR '': empty"},
        {"1234567890123456789012345678901234567890123456789012345678901234567890", "too long"},
    };
    netset *s = netset_new();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[160] = "";
        if (netset_add(s, cases[i].in, 1, err, sizeof(err)) != -1)
            fail_msg("'%s' accepted", cases[i].in);
        if (!strstr(err, cases[i].msg))
            fail_msg("'%s': error '%s' lacks '%s'", cases[i].in, err, cases[i].msg);
    }
    assert_int_equal(netset_count(s), 0);
    /* NULL err buffer is fine */
    assert_int_equal(netset_add(s, "nope", 1, NULL, 0), -1);
    /* a tiny buffer is truncated, not overrun */
    char tiny[8];
    assert_int_equal(netset_add(s, "nope", 1, tiny, sizeof(tiny)), -1);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    netset_free(s);
}

/* netset_parse: the status its callers word messages from, host bits. */
static void test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        netset_perr want;
        int ip_v;
        unsigned len;
        bool host_bits;
    } cases[] = {
        {"10.1.2.3/8", NETSET_OK, 4, 8, true},
        {"10.0.0.0/8", NETSET_OK, 4, 8, false},
        {"2001:db8::1", NETSET_OK, 6, 128, false},
        {"2001:db8::1/32", NETSET_OK, 6, 32, true},
        {"", NETSET_EMPTY, 0, 0, false},
        {"/8", NETSET_NO_ADDR, 0, 0, false},
        {"10.0.0/8", NETSET_BAD_ADDR, 4, 0, false},
        {" 10.0.0.0/8", NETSET_BAD_ADDR, 4, 0, false}, /* no trimming */
        {"2001:db8::g/32", NETSET_BAD_ADDR, 6, 0, false},
        {"10.0.0.0/", NETSET_BAD_LEN, 4, 32, false},
        {"10.0.0.0/+8", NETSET_BAD_LEN, 4, 32, false},
        {"10.0.0.0/33", NETSET_LONG_LEN, 4, 33, false},
        {"1234567890123456789012345678901234567890123456789012345678901234567890", NETSET_TOO_LONG,
         0, 0, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        netset_prefix pf;
        bool hb = !cases[i].host_bits;
        netset_perr got = netset_parse(cases[i].in, strlen(cases[i].in), &pf, &hb);
        if (got != cases[i].want)
            fail_msg("'%s': status %d, want %d", cases[i].in, got, cases[i].want);
        if (pf.ip_v != cases[i].ip_v) fail_msg("'%s': ip_v %d", cases[i].in, pf.ip_v);
        if (got == NETSET_OK || got == NETSET_LONG_LEN)
            if (pf.len != cases[i].len) fail_msg("'%s': len %u", cases[i].in, pf.len);
        if (got == NETSET_OK && hb != cases[i].host_bits) fail_msg("'%s': host bits", cases[i].in);
    }
    netset_prefix pf;
    assert_int_equal(netset_parse("192.168.1.77/24", 15, &pf, NULL), NETSET_OK);
    static const uint8_t net[4] = {192, 168, 1, 0};
    assert_memory_equal(pf.addr, net, 4);
    /* a parsed prefix adds as netset_add would */
    netset *s = netset_new();
    pf.value = 3;
    assert_int_equal(netset_add_prefix(s, &pf, NULL, 0), 0);
    assert_int_equal(look(s, "192.168.1.200"), 3);
    pf.len = 33;
    assert_int_equal(netset_add_prefix(s, &pf, NULL, 0), -1);
    netset_free(s);
}

static void test_lists(void **state)
{
    netset *s = netset_new();
    char err[160] = "";
    assert_int_equal(
        netset_add_list(s, "  10.0.0.0/8 ,\t192.168.0.0/16,  fc00::/7  ", 7, err, sizeof(err)), 0);
    assert_int_equal(netset_count(s), 3);
    assert_int_equal(look(s, "192.168.3.4"), 7);
    assert_int_equal(look(s, "fd00::1"), 7);
    assert_int_equal(netset_add_list(s, "1.2.3.4", 8, err, sizeof(err)), 0); /* single item */
    assert_int_equal(look(s, "1.2.3.4"), 8);
    assert_int_equal(netset_add(s, "  8.8.8.8/32  ", 9, err, sizeof(err)), 0);
    assert_int_equal(look(s, "8.8.8.8"), 9);
    assert_int_equal(netset_count(s), 5);

    static const struct {
        const char *in, *msg;
    } bad[] = {
        {"10.0.0.0/8,,192.168.0.0/16", "item 2 is empty"},
        {"10.0.0.0/8,", "item 2 is empty"},
        {",10.0.0.0/8", "item 1 is empty"},
        {"10.0.0.0/8, ,11.0.0.0/8", "item 2 is empty"},
        {"", "item 1 is empty"},
        {"20.0.0.0/8,21.0.0.0/33", "bad CIDR '21.0.0.0/33': prefix length 33 > 32"},
        {"20.0.0.0/8 21.0.0.0/8", "is not a number"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (netset_add_list(s, bad[i].in, 1, err, sizeof(err)) != -1)
            fail_msg("'%s' accepted", bad[i].in);
        if (!strstr(err, bad[i].msg))
            fail_msg("'%s': error '%s' lacks '%s'", bad[i].in, err, bad[i].msg);
    }
    /* a rejected list adds nothing, not even its good leading items */
    assert_int_equal(netset_count(s), 5);
    assert_int_equal(look(s, "20.1.1.1"), -1);
    netset_free(s);
}

static void test_empty_set_and_null(void **state)
{
    netset *s = netset_new();
    assert_non_null(s);
    assert_int_equal(netset_count(s), 0);
    assert_int_equal(look(s, "10.0.0.1"), -1);
    assert_int_equal(look(s, "::1"), -1);
    assert_int_equal(netset_count(NULL), 0);
    uint8_t a[16] = {0};
    assert_false(netset_lookup(NULL, 4, a, NULL));
    netset_free(s);
    netset_free(NULL);
}

static void test_many_prefixes(void **state)
{
    /* grows the node array many times; every /24 keeps its own value */
    netset *s = netset_new();
    char buf[32];
    for (int i = 0; i < 4096; i++) {
        snprintf(buf, sizeof(buf), "10.%d.%d.0/24", i / 256, i % 256);
        assert_int_equal(netset_add(s, buf, i, NULL, 0), 0);
    }
    assert_int_equal(netset_count(s), 4096);
    for (int i = 0; i < 4096; i += 37) {
        snprintf(buf, sizeof(buf), "10.%d.%d.200", i / 256, i % 256);
        assert_int_equal(look(s, buf), i);
    }
    assert_int_equal(look(s, "10.16.0.1"), -1);
    netset_free(s);
}

/* Against a brute-force longest-prefix match, with sets of 1 to 24 random
 * nested and overlapping IPv4 prefixes (small sets are also answered from
 * a list, larger ones by the trie alone), values replaced on re-add. */
static void test_random_against_reference(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15u;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, (uint32_t)x)
    for (int round = 0; round < 200; round++) {
        int k = 1 + round % 24;
        struct {
            uint32_t net;
            unsigned len;
            int value;
        } ref[32];
        int nref = 0;
        netset *s = netset_new();
        uint32_t base = RND();
        for (int i = 0; i < k; i++) {
            unsigned len = RND() % 33;
            uint32_t a = (RND() % 4) ? base ^ (RND() & 0xffffu) : RND(); /* mostly nested */
            uint32_t mask = len ? ~(uint32_t)0 << (32 - len) : 0;
            char buf[32];
            snprintf(buf, sizeof(buf), "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
                     a & 255, len);
            int value = (int)(RND() % 1000);
            assert_int_equal(netset_add(s, buf, value, NULL, 0), 0);
            int j = 0;
            while (j < nref && !(ref[j].len == len && ref[j].net == (a & mask))) j++;
            if (j == nref) nref++;
            ref[j].net = a & mask, ref[j].len = len, ref[j].value = value;
        }
        assert_int_equal(netset_count(s), (size_t)nref);
        for (int q = 0; q < 500; q++) {
            uint32_t a = (q % 2) ? base ^ (RND() & 0xffffu) : RND();
            int want = -1, best = -1;
            for (int j = 0; j < nref; j++) {
                uint32_t mask = ref[j].len ? ~(uint32_t)0 << (32 - ref[j].len) : 0;
                if ((a & mask) == ref[j].net && (int)ref[j].len > best)
                    best = (int)ref[j].len, want = ref[j].value;
            }
            uint8_t b[16] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
            int got = -1;
            if (!netset_lookup(s, 4, b, &got)) got = -1;
            if (got != want)
                fail_msg("round %d (%d prefixes): %08x got %d want %d", round, k, a, got, want);
        }
        netset_free(s);
    }
#undef RND
}

/* netset_prefixes lists what was added: masked, IPv4 first, each family in
 * address order, a replaced prefix once with its last value. */
static void test_prefix_listing(void **state)
{
    netset *s = netset_new();
    char err[128] = "";
    assert_int_equal(netset_add_list(s,
                                     "fc00::/7, 10.1.2.3/8, 0.0.0.0/0, 192.168.7.0/24, "
                                     "2001:db8::1, 10.0.0.0/8",
                                     7, err, sizeof(err)),
                     0);
    assert_int_equal(netset_add(s, "192.168.7.9/24", 9, err, sizeof(err)), 0);
    netset_prefix got[8];
    assert_int_equal(netset_prefixes(s, got, 8), 5);
    static const char *const want[] = {"0.0.0.0", "10.0.0.0", "192.168.7.0", "2001:db8::1",
                                       "fc00::"};
    static const unsigned lens[] = {0, 8, 24, 128, 7};
    static const int values[] = {7, 7, 9, 7, 7};
    for (int i = 0; i < 5; i++) {
        char txt[64];
        inet_ntop(got[i].ip_v == 6 ? AF_INET6 : AF_INET, got[i].addr, txt, sizeof(txt));
        assert_string_equal(txt, want[i]);
        assert_int_equal(got[i].len, lens[i]);
        assert_int_equal(got[i].value, values[i]);
    }
    /* a short buffer gets the first ones and the full count */
    assert_int_equal(netset_prefixes(s, got, 2), 5);
    assert_int_equal(got[1].len, 8);
    assert_int_equal(netset_prefixes(NULL, got, 8), 0);
    netset_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_home_net),
        cmocka_unit_test(test_families_independent),
        cmocka_unit_test(test_host_prefixes),
        cmocka_unit_test(test_longest_prefix_wins),
        cmocka_unit_test(test_host_bits_masked),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_empty_set_and_null),
        cmocka_unit_test(test_many_prefixes),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_prefix_listing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
