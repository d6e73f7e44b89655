/*
 * test_geo.c -- the GeoIP/ASN adapter: lookups (IPv4, IPv6, v4-mapped,
 * absent addresses) against the test databases built from
 * scripts/geo_test_table.tsv, City vs Country layouts, the lookup cache
 * and its counters, and hostile database files (missing, random bytes,
 * truncated, garbled body, wrong kind) which must fail geo_open with a
 * clear message -- never crash -- while geo_reopen keeps the old data.
 *
 * The databases are not built here: set EGRET_GEO_DIR to the directory
 * scripts/mkgeodb wrote (e.g. `scripts/mkgeodb build/geo`).  Without it
 * the tests that need them are skipped; the others still run.
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
#include <sys/stat.h>
#include <unistd.h>

#include <egret.h>

#include "geo.h"
#include "tmpdir.h"

#define TEST_EPOCH 1735689600u /* "# build_epoch:" in geo_test_table.tsv */

/* ======================= Helpers ======================= */

static const char *geo_dir(void)
{
    const char *d = getenv("EGRET_GEO_DIR");
    return d != NULL && d[0] != '\0' ? d : NULL;
}

#define NEED_DBS()                                                                                 \
    do {                                                                                           \
        if (geo_dir() == NULL) {                                                                   \
            print_message("[  SKIP    ] EGRET_GEO_DIR is not set; build the test databases "       \
                          "with scripts/mkgeodb DIR and set EGRET_GEO_DIR=DIR\n");                 \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* Path of test database 'name' ("City", "Country", "ASN") in a static
 * buffer per name slot. */
static const char *db(const char *name)
{
    static char buf[3][512];
    int i = strcmp(name, "City") == 0 ? 0 : strcmp(name, "Country") == 0 ? 1 : 2;
    snprintf(buf[i], sizeof buf[i], "%s/GeoLite2-%s-Test.mmdb", geo_dir(), name);
    return buf[i];
}

/* Parses a textual address into (ip_v, 16 bytes) as dec_pkt holds it. */
static int parse_addr(const char *s, uint8_t a[16])
{
    memset(a, 0, 16);
    if (inet_pton(AF_INET, s, a) == 1) return 4;
    assert_int_equal(inet_pton(AF_INET6, s, a), 1);
    return 6;
}

static bool lookup(geo *g, const char *ip, geo_result *r)
{
    uint8_t a[16];
    int v = parse_addr(ip, a);
    return geo_lookup(g, v, a, r);
}

/* Reads a whole file into a malloc'd buffer. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Writes 'len' bytes to a new temporary file; its path goes to path[64]. */
static void write_temp(char path[64], const void *data, size_t len)
{
    int fd = mkstemp(test_tmpname(path, 64, "egret-geo"));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* Deterministic pseudo-random bytes (xorshift32). */
static void fill_random(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed != 0 ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* ======================= Lookups ======================= */

typedef struct {
    const char *ip;
    bool found;
    const char *iso, *country, *city; /* "" = absent */
    uint32_t asn;                     /* 0 = absent */
    const char *org;
} lookup_case;

// clang-format off
static const lookup_case city_cases[] = {
    /* ip                    found  iso   country          city                 asn    org */
    {"198.51.100.10",        true,  "US", "United States", "San Francisco",     64500, "OpenAI-Test"},
    {"198.51.100.127",       true,  "US", "United States", "San Francisco",     64500, "OpenAI-Test"},
    {"198.51.100.128",       true,  "FR", "France",        "Paris",             64501, "Mistral-Test"},
    {"203.0.113.5",          true,  "US", "United States", "San Francisco",     64502, "Anthropic-Test"},
    {"203.0.113.70",         true,  "CN", "China",         "Hangzhou",          64503, "DeepSeek-Test"},
    {"203.0.113.130",        true,  "DE", "Germany",       "Frankfurt am Main", 64504, "DE-AI-Test"},
    {"192.0.2.5",            true,  "US", "United States", "",                  64510, "SaaS-Web-Test"},
    {"2001:db8:100::1",      true,  "US", "United States", "San Francisco",     64500, "OpenAI-Test"},
    {"2001:db8:200::abcd",   true,  "CN", "China",         "Hangzhou",          64503, "DeepSeek-Test"},
    {"2001:db8:300::9",      true,  "US", "United States", "",                  0,     ""},
    {"::ffff:203.0.113.70",  true,  "CN", "China",         "Hangzhou",          64503, "DeepSeek-Test"},
    {"203.0.113.192",        false, "",   "",              "",                  0,     ""},
    {"203.0.113.255",        false, "",   "",              "",                  0,     ""},
    {"10.1.2.3",             false, "",   "",              "",                  0,     ""},
    {"127.0.0.1",            false, "",   "",              "",                  0,     ""},
    {"2001:db8:ff00::1",     false, "",   "",              "",                  0,     ""},
    {"::1",                  false, "",   "",              "",                  0,     ""},
};
// clang-format on

static void check_case(geo *g, const lookup_case *c, bool want_city)
{
    geo_result r;
    print_message("  %s\n", c->ip);
    assert_int_equal(lookup(g, c->ip, &r), c->found);
    assert_string_equal(r.country_iso, c->iso);
    assert_string_equal(r.country, c->country);
    assert_string_equal(r.city, want_city ? c->city : "");
    assert_int_equal(r.asn, c->asn);
    assert_string_equal(r.as_org, c->org);
    assert_int_equal(!!(r.flags & GEO_HAS_COUNTRY), c->iso[0] != '\0');
    assert_int_equal(!!(r.flags & GEO_HAS_CITY), want_city && c->city[0] != '\0');
    assert_int_equal(!!(r.flags & GEO_HAS_ASN), c->asn != 0);
}

static void test_lookup_city_asn(void **state)
{
    (void)state;
    NEED_DBS();
    geo *g = geo_new(0);
    assert_non_null(g);
    char err[EGRET_ERRBUF_SIZE] = "x";
    assert_int_equal(geo_open(g, db("City"), db("ASN"), err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_true(geo_is_open(g));
    for (size_t i = 0; i < sizeof city_cases / sizeof city_cases[0]; i++)
        check_case(g, &city_cases[i], true);
    /* the same addresses again, now from the cache */
    for (size_t i = 0; i < sizeof city_cases / sizeof city_cases[0]; i++)
        check_case(g, &city_cases[i], true);
    geo_stats st;
    geo_get_stats(g, &st);
    assert_int_equal(st.errors, 0);
    geo_free(g);
}

/* A Country-layout database answers country but never city. */
static void test_lookup_country_layout(void **state)
{
    (void)state;
    NEED_DBS();
    geo *g = geo_new(0);
    char err[EGRET_ERRBUF_SIZE];
    assert_int_equal(geo_open(g, db("Country"), db("ASN"), err, sizeof err), 0);
    geo_db_info ci;
    geo_info(g, &ci, NULL);
    assert_int_equal(ci.kind, GEO_KIND_COUNTRY);
    assert_string_equal(ci.type, "GeoLite2-Country");
    for (size_t i = 0; i < sizeof city_cases / sizeof city_cases[0]; i++)
        check_case(g, &city_cases[i], false);
    geo_free(g);
}

/* Either slot may be empty. */
static void test_lookup_one_db(void **state)
{
    (void)state;
    NEED_DBS();
    geo *g = geo_new(0);
    char err[EGRET_ERRBUF_SIZE];
    geo_result r;

    assert_int_equal(geo_open(g, db("City"), NULL, err, sizeof err), 0);
    assert_true(lookup(g, "203.0.113.70", &r));
    assert_string_equal(r.country_iso, "CN");
    assert_string_equal(r.city, "Hangzhou");
    assert_int_equal(r.asn, 0);
    assert_int_equal(r.flags, GEO_HAS_COUNTRY | GEO_HAS_CITY);

    assert_int_equal(geo_open(g, NULL, db("ASN"), err, sizeof err), 0);
    assert_true(lookup(g, "203.0.113.70", &r));
    assert_string_equal(r.country_iso, "");
    assert_int_equal(r.asn, 64503);
    assert_string_equal(r.as_org, "DeepSeek-Test");
    assert_int_equal(r.flags, GEO_HAS_ASN);
    /* an address with location data only: nothing in the ASN database */
    assert_false(lookup(g, "2001:db8:300::9", &r));
    geo_free(g);
}

/* Names are UTF-8; a name longer than the field is cut on a character
 * boundary (the table's 2001:db8:400::/48 row has a two-byte character
 * across byte 63). */
static void test_utf8_names(void **state)
{
    (void)state;
    NEED_DBS();
    static const char full[] =
        "Quartier-de-Test-au-Nom-Tres-Long-Pour-Verifier-la-Troncature-\xc3\xa9\xc3\xa9\xc3\xa9";
    geo_result r;
    assert_true(sizeof full - 1 > sizeof r.city);
    assert_true(((unsigned char)full[sizeof r.city - 1] & 0xC0) == 0x80); /* the row still
                                                                              tests the edge */
    geo *g = geo_new(0);
    char err[EGRET_ERRBUF_SIZE];
    assert_int_equal(geo_open(g, db("City"), db("ASN"), err, sizeof err), 0);
    assert_true(lookup(g, "2001:db8:400::1", &r));
    assert_string_equal(r.country_iso, "CI");
    assert_string_equal(r.country, "C\xc3\xb4te d'Ivoire");
    size_t n = strlen(r.city);
    assert_true(n < sizeof r.city);
    assert_memory_equal(r.city, full, n);                 /* a prefix */
    assert_true(((unsigned char)full[n] & 0xC0) != 0x80); /* on a boundary */
    assert_int_equal(n, sizeof r.city - 2);               /* and no shorter */
    assert_true(r.flags & GEO_HAS_CITY);
    geo_free(g);
}

static void test_info(void **state)
{
    (void)state;
    NEED_DBS();
    geo *g = geo_new(0);
    char err[EGRET_ERRBUF_SIZE];
    geo_db_info ci, ai;
    geo_info(g, &ci, &ai);
    assert_int_equal(ci.kind, GEO_KIND_NONE);
    assert_int_equal(ai.kind, GEO_KIND_NONE);
    assert_string_equal(ci.type, "");

    assert_int_equal(geo_open(g, db("City"), db("ASN"), err, sizeof err), 0);
    geo_info(g, &ci, &ai);
    assert_int_equal(ci.kind, GEO_KIND_CITY);
    assert_string_equal(ci.type, "GeoLite2-City");
    assert_string_equal(ci.path, db("City"));
    assert_int_equal(ci.build_epoch, TEST_EPOCH);
    assert_int_equal(ci.ip_version, 6);
    assert_true(ci.node_count > 0);
    assert_int_equal(ai.kind, GEO_KIND_ASN);
    assert_string_equal(ai.type, "GeoLite2-ASN");
    assert_int_equal(ai.build_epoch, TEST_EPOCH);
    assert_string_equal(geo_kind_name(ci.kind), "city");
    assert_string_equal(geo_kind_name(ai.kind), "asn");
    assert_string_equal(geo_kind_name(GEO_KIND_COUNTRY), "country");
    assert_string_equal(geo_kind_name(GEO_KIND_NONE), "none");
    geo_free(g);
}

/* No database: every lookup is "nothing known" and nothing is counted. */
static void test_no_db(void **state)
{
    (void)state;
    geo *g = geo_new(0);
    assert_non_null(g);
    assert_false(geo_is_open(g));
    geo_result r;
    memset(&r, 0x55, sizeof r);
    assert_false(lookup(g, "203.0.113.70", &r));
    assert_int_equal(r.flags, 0);
    assert_string_equal(r.country_iso, "");
    char err[EGRET_ERRBUF_SIZE];
    assert_int_equal(geo_open(g, NULL, NULL, err, sizeof err), 0);
    assert_false(geo_is_open(g));
    geo_stats st;
    geo_get_stats(g, &st);
    assert_int_equal(st.lookups, 0);
    assert_int_equal(st.slots, GEO_CACHE_DEFAULT);
    geo_free(g);
    geo_free(NULL);
    geo_close(NULL);
}

/* ======================= Cache ======================= */

static void test_cache_counters(void **state)
{
    (void)state;
    NEED_DBS();
    geo *g = geo_new(0);
    char err[EGRET_ERRBUF_SIZE];
    assert_int_equal(geo_open(g, db("City"), db("ASN"), err, sizeof err), 0);
    geo_result r1, r2;
    geo_stats st;

    assert_true(lookup(g, "198.51.100.10", &r1));
    geo_get_stats(g, &st);
    assert_int_equal(st.lookups, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 0);
    for (int i = 0; i < 5; i++) {
        assert_true(lookup(g, "198.51.100.10", &r2));
        assert_memory_equal(&r1, &r2, sizeof r1);
    }
    /* a negative answer is cached too */
    assert_false(lookup(g, "10.9.9.9", &r2));
    assert_false(lookup(g, "10.9.9.9", &r2));
    /* same 4 bytes as IPv6 is a different key */
    uint8_t a[16];
    parse_addr("198.51.100.10", a);
    assert_false(geo_lookup(g, 6, a, &r2)); /* c633:640a:: is not in the table */
    geo_get_stats(g, &st);
    assert_int_equal(st.lookups, 9);
    assert_int_equal(st.hits, 6);
    assert_int_equal(st.misses, 3);
    assert_int_equal(st.hits + st.misses, st.lookups);
    assert_int_equal(st.evictions, 0);
    /* bad ip_v: not a lookup */
    assert_false(geo_lookup(g, 5, a, &r2));
    geo_get_stats(g, &st);
    assert_int_equal(st.lookups, 9);
    geo_free(g);
}

/* One slot: every different address evicts, and answers stay right. */
static void test_cache_eviction(void **state)
{
    (void)state;
    NEED_DBS();
    geo *g = geo_new(1);
    char err[EGRET_ERRBUF_SIZE];
    assert_int_equal(geo_open(g, db("City"), db("ASN"), err, sizeof err), 0);
    geo_result r;
    static const char *const seq[] = {"198.51.100.10", "203.0.113.70", "203.0.113.70",
                                      "198.51.100.10", "2001:db8:200::1"};
    static const char *const iso[] = {"US", "CN", "CN", "US", "CN"};
    for (size_t i = 0; i < 5; i++) {
        assert_true(lookup(g, seq[i], &r));
        assert_string_equal(r.country_iso, iso[i]);
    }
    geo_stats st;
    geo_get_stats(g, &st);
    assert_int_equal(st.slots, 1);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 4);
    assert_int_equal(st.evictions, 3);

    /* sizes round up to a power of two and are capped */
    geo *h = geo_new(3000);
    geo_get_stats(h, &st);
    assert_int_equal(st.slots, 4096);
    geo_free(h);
    h = geo_new(UINT32_MAX);
    geo_get_stats(h, &st);
    assert_int_equal(st.slots, GEO_CACHE_MAX);
    geo_free(h);
    geo_free(g);
}

/* ======================= Bad files ======================= */

static void expect_open_fails(const char *city, const char *asn, int code, const char *needle)
{
    geo *g = geo_new(16);
    char err[EGRET_ERRBUF_SIZE] = "";
    assert_int_equal(geo_open(g, city, asn, err, sizeof err), code);
    print_message("  -> %s\n", err);
    assert_non_null(strstr(err, city != NULL ? city : asn)); /* names the file */
    if (needle != NULL) assert_non_null(strstr(err, needle));
    assert_false(geo_is_open(g));
    geo_result r;
    assert_false(lookup(g, "203.0.113.70", &r));
    geo_free(g);
}

static void test_missing_file(void **state)
{
    (void)state;
    expect_open_fails("/nonexistent/egret/GeoLite2-City.mmdb", NULL, EGRET_EIO,
                      "No such file or directory");
    expect_open_fails(NULL, "/nonexistent/egret/GeoLite2-ASN.mmdb", EGRET_EIO,
                      "No such file or directory");
    expect_open_fails("/", NULL, EGRET_EIO, "is a directory");
}

static void test_random_bytes(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 16, 1000, 70000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *buf = malloc(sizes[i] + 1);
        fill_random(buf, sizes[i], (uint32_t)(i + 1) * 2654435761u);
        char path[64];
        write_temp(path, buf, sizes[i]);
        expect_open_fails(path, NULL, EGRET_EIO, sizes[i] == 0 ? "file is empty" : NULL);
        expect_open_fails(NULL, path, EGRET_EIO, sizes[i] == 0 ? "file is empty" : NULL);
        unlink(path);
        free(buf);
    }
    /* just the metadata marker, nothing behind it */
    static const char marker[] = "\xab\xcd\xefMaxMind.com";
    char path[64];
    write_temp(path, marker, sizeof marker - 1);
    expect_open_fails(path, NULL, EGRET_EIO, "corrupt");
    unlink(path);
}

/* Every length of truncated copy fails (the metadata sits at the end);
 * none crashes. */
static void test_truncated(void **state)
{
    (void)state;
    NEED_DBS();
    size_t len;
    uint8_t *buf = slurp(db("City"), &len);
    size_t tail = len > 64 ? len - 64 : 0; /* every length near the end */
    for (size_t n = 0; n < len; n = n < tail ? n + len / 61 + 1 : n + 1) {
        char path[64];
        write_temp(path, buf, n);
        expect_open_fails(path, NULL, EGRET_EIO, NULL);
        unlink(path);
    }
    free(buf);
}

/* The metadata intact but the search tree and data garbled: rejected by
 * geo_open's probe lookups, or at worst answered as "no data" -- never a
 * crash.  With the whole body overwritten it must be rejected. */
static void test_garbled_body(void **state)
{
    (void)state;
    NEED_DBS();
    size_t len;
    uint8_t *orig = slurp(db("City"), &len);
    static const char marker[] = "\xab\xcd\xefMaxMind.com";
    uint8_t *m = memmem(orig, len, marker, sizeof marker - 1);
    assert_non_null(m);
    size_t body = (size_t)(m - orig);
    uint8_t *buf = malloc(len);

    /* body all 0xff / all random: must fail */
    for (int variant = 0; variant < 2; variant++) {
        memcpy(buf, orig, len);
        if (variant == 0)
            memset(buf, 0xff, body);
        else
            fill_random(buf, body, 12345);
        char path[64];
        write_temp(path, buf, len);
        expect_open_fails(path, NULL, EGRET_EIO, "corrupt");
        unlink(path);
    }

    /* single corrupted bytes all over the body: open may succeed, but then
     * every lookup must still return a terminated, bounded answer */
    geo *g = geo_new(16);
    for (size_t off = 0; off < body; off += 7) {
        memcpy(buf, orig, len);
        buf[off] ^= 0xa5;
        char path[64], err[EGRET_ERRBUF_SIZE];
        write_temp(path, buf, len);
        if (geo_open(g, path, NULL, err, sizeof err) == 0) {
            for (size_t i = 0; i < sizeof city_cases / sizeof city_cases[0]; i++) {
                geo_result r;
                lookup(g, city_cases[i].ip, &r);
                assert_true(strlen(r.country_iso) < sizeof r.country_iso);
                assert_true(strlen(r.city) < sizeof r.city);
            }
        } else {
            assert_non_null(strstr(err, path));
        }
        geo_close(g);
        unlink(path);
    }
    geo_free(g);
    free(buf);
    free(orig);
}

/* A valid database of the wrong kind for its slot. */
static void test_wrong_kind(void **state)
{
    (void)state;
    NEED_DBS();
    expect_open_fails(db("ASN"), NULL, EGRET_ECONFIG, "GeoLite2-ASN");
    expect_open_fails(NULL, db("City"), EGRET_ECONFIG, "GeoLite2-City");
    expect_open_fails(NULL, db("Country"), EGRET_ECONFIG, "GeoLite2-Country");
    /* all or nothing: a good city database is not left open either */
    geo *g = geo_new(16);
    char err[EGRET_ERRBUF_SIZE];
    assert_int_equal(geo_open(g, db("City"), db("City"), err, sizeof err), EGRET_ECONFIG);
    assert_false(geo_is_open(g));
    geo_free(g);
}

/* ======================= Reopen ======================= */

static void test_reopen(void **state)
{
    (void)state;
    NEED_DBS();
    geo *g = geo_new(0);
    char err[EGRET_ERRBUF_SIZE];
    geo_result r;
    geo_stats st;
    assert_int_equal(geo_open(g, db("City"), db("ASN"), err, sizeof err), 0);
    assert_true(lookup(g, "203.0.113.70", &r));
    assert_string_equal(r.city, "Hangzhou");

    /* failures keep the old databases */
    char junk[64];
    uint8_t bytes[256];
    fill_random(bytes, sizeof bytes, 99);
    write_temp(junk, bytes, sizeof bytes);
    const char *bad[][2] = {
        {"/nonexistent/City.mmdb", NULL},
        {db("City"), "/nonexistent/ASN.mmdb"}, /* first opens, second fails */
        {junk, db("ASN")},
        {db("ASN"), db("ASN")}, /* wrong kind */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_true(geo_reopen(g, bad[i][0], bad[i][1], err, sizeof err) < 0);
        assert_true(err[0] != '\0');
        assert_true(geo_is_open(g));
        assert_true(lookup(g, "203.0.113.70", &r));
        assert_string_equal(r.city, "Hangzhou");
        assert_int_equal(r.asn, 64503);
        geo_db_info ci;
        geo_info(g, &ci, NULL);
        assert_string_equal(ci.type, "GeoLite2-City");
    }
    unlink(junk);
    geo_get_stats(g, &st);
    assert_int_equal(st.reloads, 0);

    /* success swaps and empties the cache: the cached city is gone */
    assert_int_equal(geo_reopen(g, db("Country"), NULL, err, sizeof err), 0);
    assert_true(lookup(g, "203.0.113.70", &r));
    assert_string_equal(r.country_iso, "CN");
    assert_string_equal(r.city, "");
    assert_int_equal(r.asn, 0);
    geo_get_stats(g, &st);
    assert_int_equal(st.reloads, 1);

    /* geo_open, unlike reopen, leaves nothing open on failure */
    assert_int_equal(geo_open(g, "/nonexistent/City.mmdb", NULL, err, sizeof err), EGRET_EIO);
    assert_false(geo_is_open(g));
    assert_false(lookup(g, "203.0.113.70", &r));
    geo_free(g);
}

/* ======================= Finding databases ======================= */

static void touch(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fclose(f);
}

static void rm(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
}

static void test_find(void **state)
{
    (void)state;
    char d1[64], d2[64], fb[64];
    assert_non_null(mkdtemp(test_tmpname(d1, sizeof(d1), "egret-geo-d1")));
    assert_non_null(mkdtemp(test_tmpname(d2, sizeof(d2), "egret-geo-d2")));
    assert_non_null(mkdtemp(test_tmpname(fb, sizeof(fb), "egret-geo-fb")));
    const char *const dirs[] = {d1, d2, NULL};
    char city[512], asn[512], want[512];

    /* nothing anywhere */
    assert_int_equal(geo_find(dirs, fb, city, asn, sizeof city), 0);
    assert_string_equal(city, "");
    assert_string_equal(asn, "");

    /* only the shipped test databases */
    touch(fb, "GeoLite2-City-Test.mmdb");
    touch(fb, "GeoLite2-ASN-Test.mmdb");
    assert_int_equal(geo_find(dirs, fb, city, asn, sizeof city), GEO_HAS_COUNTRY | GEO_HAS_ASN);
    snprintf(want, sizeof want, "%s/GeoLite2-City-Test.mmdb", fb);
    assert_string_equal(city, want);
    assert_int_equal(geo_find(dirs, NULL, city, asn, sizeof city), 0);

    /* a real database anywhere wins, and the test ones are not mixed in */
    touch(d2, "GeoLite2-Country.mmdb");
    touch(d1, "dbip-city-lite.mmdb"); /* city layouts are preferred */
    assert_int_equal(geo_find(dirs, fb, city, asn, sizeof city), GEO_HAS_COUNTRY);
    snprintf(want, sizeof want, "%s/dbip-city-lite.mmdb", d1);
    assert_string_equal(city, want);
    assert_string_equal(asn, "");

    touch(d2, "GeoLite2-City.mmdb"); /* preferred name, even in a later dir */
    touch(d2, "GeoLite2-ASN.mmdb");
    assert_int_equal(geo_find(dirs, fb, city, asn, sizeof city), GEO_HAS_COUNTRY | GEO_HAS_ASN);
    snprintf(want, sizeof want, "%s/GeoLite2-City.mmdb", d2);
    assert_string_equal(city, want);
    snprintf(want, sizeof want, "%s/GeoLite2-ASN.mmdb", d2);
    assert_string_equal(asn, want);

    /* a path that does not fit is not found */
    char small_c[20], small_a[20];
    assert_int_equal(geo_find(dirs, NULL, small_c, small_a, sizeof small_c), 0);
    assert_string_equal(small_c, "");

    /* the default search answers consistently with what exists */
    unsigned got = geo_find_default(NULL, city, asn, sizeof city);
    assert_int_equal(!!(got & GEO_HAS_COUNTRY), city[0] != '\0');
    assert_int_equal(!!(got & GEO_HAS_ASN), asn[0] != '\0');
    if (city[0] != '\0') assert_int_equal(access(city, R_OK), 0);

    rm(d1, "dbip-city-lite.mmdb");
    rm(d2, "GeoLite2-Country.mmdb");
    rm(d2, "GeoLite2-City.mmdb");
    rm(d2, "GeoLite2-ASN.mmdb");
    rm(fb, "GeoLite2-City-Test.mmdb");
    rm(fb, "GeoLite2-ASN-Test.mmdb");
    assert_int_equal(rmdir(d1), 0);
    assert_int_equal(rmdir(d2), 0);
    assert_int_equal(rmdir(fb), 0);
}

/* The test databases themselves are found through the fallback. */
static void test_find_and_open_fallback(void **state)
{
    (void)state;
    NEED_DBS();
    char empty[64];
    assert_non_null(mkdtemp(test_tmpname(empty, sizeof(empty), "egret-geo-e")));
    const char *const dirs[] = {empty, NULL};
    char city[512], asn[512], err[EGRET_ERRBUF_SIZE];
    assert_int_equal(geo_find(dirs, geo_dir(), city, asn, sizeof city),
                     GEO_HAS_COUNTRY | GEO_HAS_ASN);
    geo *g = geo_new(0);
    assert_int_equal(geo_open(g, city, asn, err, sizeof err), 0);
    geo_result r;
    assert_true(lookup(g, "198.51.100.200", &r));
    assert_string_equal(r.city, "Paris");
    geo_free(g);
    rmdir(empty);
}

int main(void)
{
    if (geo_dir() == NULL)
        fprintf(stderr, "test_geo: EGRET_GEO_DIR is not set -- tests that need the test "
                        "databases are SKIPPED (run scripts/mkgeodb DIR; EGRET_GEO_DIR=DIR)\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_city_asn),
        cmocka_unit_test(test_lookup_country_layout),
        cmocka_unit_test(test_lookup_one_db),
        cmocka_unit_test(test_utf8_names),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_no_db),
        cmocka_unit_test(test_cache_counters),
        cmocka_unit_test(test_cache_eviction),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_garbled_body),
        cmocka_unit_test(test_wrong_kind),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_find_and_open_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
