/*
 * test_dnscache.c -- per-client DNS answer memory: direct answers, CNAME
 * chains, client isolation, TTL clamp and expiry, cap and eviction, AAAA,
 * input validation.
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

#include "dnscache.h"

#define SEC 1000000ull
#define T0  (1700000000ull * SEC)

typedef struct ip {
    int v;
    uint8_t a[16];
} ip;

static ip IP(const char *text)
{
    ip r;
    memset(&r, 0, sizeof r);
    r.v = strchr(text, ':') ? 6 : 4;
    assert_int_equal(inet_pton(r.v == 6 ? AF_INET6 : AF_INET, text, r.a), 1);
    return r;
}

static int add(dnscache *dc, const char *client, const char *name, const char *answer, uint32_t ttl,
               uint64_t now)
{
    ip c = IP(client), a = IP(answer);
    return dnscache_add(dc, c.v, c.a, name, a.v, a.a, ttl, now);
}

static int cname(dnscache *dc, const char *client, const char *alias, const char *target,
                 uint32_t ttl, uint64_t now)
{
    ip c = IP(client);
    return dnscache_add_cname(dc, c.v, c.a, alias, target, ttl, now);
}

/* Returns the name found, or "" on a miss (static buffer). */
static const char *look(dnscache *dc, const char *client, const char *server, uint64_t now)
{
    static char out[DNSCACHE_NAME_MAX + 1];
    ip c = IP(client), s = IP(server);
    if (!dnscache_lookup(dc, c.v, c.a, s.v, s.a, now, out, sizeof out)) return "";
    return out;
}

static dnscache_stats stats(const dnscache *dc)
{
    dnscache_stats st;
    dnscache_get_stats(dc, &st);
    return st;
}

static void test_direct_a(void **state)
{
    (void)state;
    dnscache *dc = dnscache_new(16);
    assert_non_null(dc);
    assert_int_equal(add(dc, "10.0.0.5", "API.OpenAI.com.", "198.51.100.10", 60, T0), 0);
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.10", T0 + SEC), "api.openai.com");
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.11", T0 + SEC), "");
    /* A second name for the same address replaces the first. */
    assert_int_equal(add(dc, "10.0.0.5", "chatgpt.com", "198.51.100.10", 60, T0 + 2 * SEC), 0);
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.10", T0 + 3 * SEC), "chatgpt.com");
    dnscache_stats st = stats(dc);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.inserts, 2);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.capacity, 16);
    /* Output buffer truncation keeps a terminated prefix. */
    ip c = IP("10.0.0.5"), s = IP("198.51.100.10");
    char small[5];
    assert_true(dnscache_lookup(dc, c.v, c.a, s.v, s.a, T0 + 3 * SEC, small, sizeof small));
    assert_string_equal(small, "chat");
    dnscache_free(dc);
}

static void test_cname_chain(void **state)
{
    (void)state;
    dnscache *dc = dnscache_new(32);
    const char *cl = "10.0.0.5";
    /* api.openai.com -> a.edge.example.net -> b.edge.example.net -> c.cdn.example -> A */
    assert_int_equal(cname(dc, cl, "api.openai.com", "a.edge.example.net", 300, T0), 0);
    assert_int_equal(cname(dc, cl, "a.edge.example.net.", "B.EDGE.example.net", 300, T0), 0);
    assert_int_equal(cname(dc, cl, "b.edge.example.net", "c.cdn.example", 300, T0), 0);
    assert_int_equal(add(dc, cl, "c.cdn.example", "198.51.100.10", 60, T0), 0);
    assert_int_equal(add(dc, cl, "c.cdn.example", "2001:db8::10", 60, T0), 0);
    assert_string_equal(look(dc, cl, "198.51.100.10", T0 + SEC), "api.openai.com");
    assert_string_equal(look(dc, cl, "2001:db8::10", T0 + SEC), "api.openai.com");
    /* An address answered for a name in the middle of the chain maps back too. */
    assert_int_equal(add(dc, cl, "b.edge.example.net", "198.51.100.20", 60, T0), 0);
    assert_string_equal(look(dc, cl, "198.51.100.20", T0 + SEC), "api.openai.com");
    /* A name with no CNAME stays itself. */
    assert_int_equal(add(dc, cl, "other.example", "198.51.100.30", 60, T0), 0);
    assert_string_equal(look(dc, cl, "198.51.100.30", T0 + SEC), "other.example");
    /* A CNAME loop terminates and stores something sane. */
    assert_int_equal(cname(dc, cl, "loop1.example", "loop2.example", 60, T0), 0);
    assert_int_equal(cname(dc, cl, "loop2.example", "loop1.example", 60, T0), 0);
    assert_int_equal(add(dc, cl, "loop1.example", "198.51.100.40", 60, T0), 0);
    assert_string_not_equal(look(dc, cl, "198.51.100.40", T0 + SEC), "");
    dnscache_free(dc);
}

static void test_expired_cname_not_followed(void **state)
{
    (void)state;
    dnscache *dc = dnscache_new(32);
    assert_int_equal(cname(dc, "10.0.0.5", "api.openai.com", "edge.example", 30, T0), 0);
    assert_int_equal(add(dc, "10.0.0.5", "edge.example", "198.51.100.10", 60, T0 + 31 * SEC), 0);
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.10", T0 + 32 * SEC), "edge.example");
    dnscache_free(dc);
}

static void test_client_isolation(void **state)
{
    (void)state;
    dnscache *dc = dnscache_new(32);
    assert_int_equal(cname(dc, "10.0.0.5", "api.openai.com", "edge.example", 300, T0), 0);
    assert_int_equal(add(dc, "10.0.0.5", "edge.example", "198.51.100.10", 300, T0), 0);
    /* Another client sees nothing, and its own answers are not rewritten by
     * the first client's CNAME. */
    assert_string_equal(look(dc, "10.0.0.6", "198.51.100.10", T0 + SEC), "");
    assert_int_equal(add(dc, "10.0.0.6", "edge.example", "198.51.100.10", 300, T0), 0);
    assert_string_equal(look(dc, "10.0.0.6", "198.51.100.10", T0 + SEC), "edge.example");
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.10", T0 + SEC), "api.openai.com");
    /* An IPv4 client and an IPv6 client with the same leading bytes differ. */
    assert_int_equal(add(dc, "32.1.13.184", "v4.example", "198.51.100.50", 300, T0), 0);
    assert_string_equal(look(dc, "2001:db8::", "198.51.100.50", T0 + SEC), "");
    assert_string_equal(look(dc, "32.1.13.184", "198.51.100.50", T0 + SEC), "v4.example");
    dnscache_free(dc);
}

static void test_ttl_expiry_and_clamp(void **state)
{
    (void)state;
    dnscache *dc = dnscache_new(32);
    assert_int_equal(add(dc, "10.0.0.5", "a.example", "198.51.100.1", 60, T0), 0);
    assert_int_equal(add(dc, "10.0.0.5", "b.example", "198.51.100.2", 0, T0), 0);
    assert_int_equal(add(dc, "10.0.0.5", "c.example", "198.51.100.3", 864000, T0), 0);
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.1", T0 + 59 * SEC), "a.example");
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.1", T0 + 60 * SEC), "");
    /* TTL 0 is raised to 30 s. */
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.2", T0 + 29 * SEC), "b.example");
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.2", T0 + 30 * SEC), "");
    /* Ten days are cut to one. */
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.3", T0 + 86399 * SEC), "c.example");
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.3", T0 + 86400 * SEC), "");
    dnscache_stats st = stats(dc);
    assert_int_equal(st.expired, 3);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.hits, 3);
    assert_int_equal(st.misses, 3);
    /* A refresh extends the lifetime. */
    assert_int_equal(add(dc, "10.0.0.5", "a.example", "198.51.100.1", 60, T0), 0);
    assert_int_equal(add(dc, "10.0.0.5", "a.example", "198.51.100.1", 60, T0 + 50 * SEC), 0);
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.1", T0 + 100 * SEC), "a.example");
    assert_int_equal(stats(dc).entries, 1);
    /* The sweep drops what has expired. */
    assert_int_equal(add(dc, "10.0.0.5", "d.example", "198.51.100.4", 30, T0 + 100 * SEC), 0);
    assert_int_equal(dnscache_expire(dc, T0 + 111 * SEC), 1); /* a.example (until 110 s) */
    assert_int_equal(stats(dc).entries, 1);
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.4", T0 + 111 * SEC), "d.example");
    dnscache_free(dc);
}

static void test_cap_and_eviction(void **state)
{
    (void)state;
    dnscache *dc = dnscache_new(4);
    char name[32], addr[32];
    for (int i = 1; i <= 6; i++) {
        snprintf(name, sizeof name, "n%d.example", i);
        snprintf(addr, sizeof addr, "198.51.100.%d", i);
        assert_int_equal(add(dc, "10.0.0.5", name, addr, 300, T0 + (uint64_t)i * SEC), 0);
    }
    dnscache_stats st = stats(dc);
    assert_int_equal(st.entries, 4);
    assert_int_equal(st.inserts, 6);
    assert_int_equal(st.evictions, 2);
    assert_int_equal(st.expired, 0);
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.1", T0 + 10 * SEC), "");
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.2", T0 + 10 * SEC), "");
    for (int i = 3; i <= 6; i++) {
        snprintf(name, sizeof name, "n%d.example", i);
        snprintf(addr, sizeof addr, "198.51.100.%d", i);
        assert_string_equal(look(dc, "10.0.0.5", addr, T0 + 10 * SEC), name);
    }
    /* A refresh makes an entry the newest: n3 is refreshed, n4 goes next. */
    assert_int_equal(add(dc, "10.0.0.5", "n3.example", "198.51.100.3", 300, T0 + 11 * SEC), 0);
    assert_int_equal(add(dc, "10.0.0.5", "n7.example", "198.51.100.7", 300, T0 + 12 * SEC), 0);
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.3", T0 + 13 * SEC), "n3.example");
    assert_string_equal(look(dc, "10.0.0.5", "198.51.100.4", T0 + 13 * SEC), "");
    assert_int_equal(stats(dc).evictions, 3);
    /* Expired records are reclaimed before live ones are evicted. */
    assert_int_equal(add(dc, "10.0.0.5", "n8.example", "198.51.100.8", 300, T0 + 400 * SEC), 0);
    st = stats(dc);
    assert_int_equal(st.evictions, 3);
    assert_true(st.expired >= 1);
    assert_true(st.entries <= 4);
    /* CNAMEs share the cap. */
    uint64_t ev = stats(dc).evictions;
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "alias%d.example", i);
        snprintf(addr, sizeof addr, "target%d.example", i);
        assert_int_equal(cname(dc, "10.0.0.5", name, addr, 300, T0 + 500 * SEC), 0);
    }
    st = stats(dc);
    assert_int_equal(st.entries, 4);
    assert_int_equal(st.evictions, ev + 17); /* 1 live A record + 20 CNAMEs into 4 slots */
    dnscache_free(dc);
}

static void test_aaaa(void **state)
{
    (void)state;
    dnscache *dc = dnscache_new(16);
    assert_int_equal(add(dc, "2001:db8:aa::5", "api.anthropic.com", "2001:db8:ffff::10", 120, T0),
                     0);
    assert_string_equal(look(dc, "2001:db8:aa::5", "2001:db8:ffff::10", T0 + SEC),
                        "api.anthropic.com");
    assert_string_equal(look(dc, "2001:db8:aa::5", "2001:db8:ffff::11", T0 + SEC), "");
    /* IPv4 answer 32.1.13.184 (bytes 20 01 0d b8) never matches IPv6 2001:db8:: */
    assert_int_equal(add(dc, "10.0.0.5", "v4.example", "32.1.13.184", 120, T0), 0);
    assert_int_equal(add(dc, "10.0.0.5", "v6.example", "2001:db8::", 120, T0), 0);
    assert_string_equal(look(dc, "10.0.0.5", "32.1.13.184", T0 + SEC), "v4.example");
    assert_string_equal(look(dc, "10.0.0.5", "2001:db8::", T0 + SEC), "v6.example");
    dnscache_free(dc);
}

static void test_bad_input(void **state)
{
    (void)state;
    dnscache *dc = dnscache_new(16);
    char longname[300];
    memset(longname, 'a', sizeof longname);
    for (int i = 60; i < 260; i += 61) longname[i] = '.';
    longname[254] = '\0'; /* 254 characters */
    assert_int_equal(add(dc, "10.0.0.5", longname, "198.51.100.1", 60, T0), -1);
    longname[253] = '.'; /* 253 + trailing dot: fine */
    assert_int_equal(add(dc, "10.0.0.5", longname, "198.51.100.1", 60, T0), 0);
    assert_int_equal(strlen(look(dc, "10.0.0.5", "198.51.100.1", T0)), 253);
    assert_int_equal(add(dc, "10.0.0.5", "a..example", "198.51.100.2", 60, T0), -1);
    assert_int_equal(add(dc, "10.0.0.5", "", "198.51.100.2", 60, T0), -1);
    assert_int_equal(add(dc, "10.0.0.5", ".", "198.51.100.2", 60, T0), -1);
    assert_int_equal(add(dc, "10.0.0.5",
                         "b\xc3\xbc"
                         "cher.example",
                         "198.51.100.2", 60, T0),
                     -1);
    assert_int_equal(add(dc, "10.0.0.5", "a b.example", "198.51.100.2", 60, T0), -1);
    assert_int_equal(cname(dc, "10.0.0.5", "ok.example", "bad..example", 60, T0), -1);
    uint8_t a[16] = {10, 0, 0, 5};
    assert_int_equal(dnscache_add(dc, 5, a, "x.example", 4, a, 60, T0), -1);
    assert_int_equal(dnscache_add(dc, 4, a, "x.example", 0, a, 60, T0), -1);
    assert_int_equal(dnscache_add(dc, 4, NULL, "x.example", 4, a, 60, T0), -1);
    assert_int_equal(dnscache_add(dc, 4, a, NULL, 4, a, 60, T0), -1);
    assert_false(dnscache_lookup(dc, 7, a, 4, a, T0, NULL, 0));
    dnscache_stats st = stats(dc);
    assert_int_equal(st.rejected, 11);
    assert_int_equal(st.entries, 1);
    assert_int_equal(dnscache_add(NULL, 4, a, "x.example", 4, a, 60, T0), -1);
    dnscache_free(NULL);
    dnscache_free(dc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_a),
        cmocka_unit_test(test_cname_chain),
        cmocka_unit_test(test_expired_cname_not_followed),
        cmocka_unit_test(test_client_isolation),
        cmocka_unit_test(test_ttl_expiry_and_clamp),
        cmocka_unit_test(test_cap_and_eviction),
        cmocka_unit_test(test_aaaa),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
