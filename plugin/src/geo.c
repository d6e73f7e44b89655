/*
 * geo.c -- GeoIP country/city and ASN tagging: the libmaxminddb adapter.
 *
 * The only file that includes <maxminddb.h>.  Holds a location database
 * (City or Country layout) and an ASN database, each in its own heap
 * block so a reload can open the new one completely before swapping a
 * pointer; and a direct-mapped cache of answers keyed by address, so a
 * flow's repeated lookups cost one hash and one compare.  The cache is
 * allocated in geo_new and never grows; a colliding address evicts the
 * previous one (counted).  Negative answers are cached too.
 *
 * Database files are untrusted input: libmaxminddb bounds-checks the
 * search tree and data section, every MMDB error is answered as "no
 * data" and counted, and geo_open probes a few lookups so a file with a
 * valid header but a garbage body is rejected up front.
 */
#include "errbuf.h"
#include "fnv.h"
#include "geo.h"
#include "mem.h"

#include <egret.h>

#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ======================= Types ======================= */

/* One open database.  Heap-allocated and never copied: MMDB_s is only
 * used where MMDB_open put it. */
typedef struct geo_db {
    MMDB_s mmdb;
    geo_kind kind;
    char path[256];
} geo_db;

/* One cache slot.  ip_v == 0 marks an empty slot.  The key is the 16
 * address bytes with the unused 12 zeroed for IPv4. */
typedef struct cache_slot {
    uint8_t addr[16];
    uint8_t ip_v;
    bool found;
    geo_result res;
} cache_slot;

struct geo {
    geo_db *loc; /* City or Country layout, or NULL */
    geo_db *asn; /* ASN layout, or NULL */
    cache_slot *cache;
    uint32_t mask; /* slots - 1 */
    geo_stats st;
};

/* ======================= Small helpers ======================= */

/* Copies at most cap-1 bytes of src[0..n) into dst, stopping at a NUL, and
 * never cutting a UTF-8 sequence in half.  dst is always terminated. */
static void copy_utf8(char *dst, size_t cap, const char *src, size_t n)
{
    const char *nul = memchr(src, '\0', n);
    if (nul != NULL) n = (size_t)(nul - src);
    if (n >= cap) {
        n = cap - 1;
        /* src[n] is the first byte left out; back off while it continues
         * a character that started before it */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Copies a string of at most cap-1 bytes; longer strings are truncated. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    copy_utf8(dst, cap, src, strlen(src));
}

/* ======================= Opening ======================= */

const char *geo_kind_name(geo_kind k)
{
    switch (k) {
    case GEO_KIND_CITY:
        return "city";
    case GEO_KIND_COUNTRY:
        return "country";
    case GEO_KIND_ASN:
        return "asn";
    case GEO_KIND_NONE:
        break;
    }
    return "none";
}

/* Classifies metadata.database_type ("GeoLite2-City", "DBIP-ASN-Lite",
 * ...) by the words it contains. */
static geo_kind kind_of(const char *type)
{
    if (type == NULL) return GEO_KIND_NONE;
    if (strcasestr(type, "city") != NULL || strcasestr(type, "enterprise") != NULL)
        return GEO_KIND_CITY;
    if (strcasestr(type, "country") != NULL) return GEO_KIND_COUNTRY;
    if (strcasestr(type, "asn") != NULL || strcasestr(type, "isp") != NULL) return GEO_KIND_ASN;
    return GEO_KIND_NONE;
}

static void db_free(geo_db *db)
{
    if (db == NULL) return;
    MMDB_close(&db->mmdb);
    free(db);
}

static bool lookup_db(geo *g, geo_db *db, const struct sockaddr *sa, geo_result *out);

/* A few addresses looked up (and decoded) right after opening, so a file
 * with a valid metadata section and a corrupt tree or data section fails
 * geo_open instead of failing quietly on traffic. */
static const uint8_t probe_v4[][4] = {
    {1, 1, 1, 1}, {8, 8, 8, 8}, {198, 51, 100, 1}, {203, 0, 113, 70}, {192, 0, 2, 1},
};
static const uint8_t probe_v6[][16] = {
    {0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    {0x26, 0x06, 0x47, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
};

/* Returns the number of MMDB errors the probe lookups hit. */
static uint64_t db_probe(geo_db *db)
{
    geo scratch; /* only its error counter is used */
    memset(&scratch, 0, sizeof scratch);
    geo_result r;
    for (size_t i = 0; i < sizeof probe_v4 / sizeof probe_v4[0]; i++) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        memcpy(&sin.sin_addr, probe_v4[i], 4);
        memset(&r, 0, sizeof r);
        lookup_db(&scratch, db, (const struct sockaddr *)&sin, &r);
    }
    for (size_t i = 0; i < sizeof probe_v6 / sizeof probe_v6[0]; i++) {
        struct sockaddr_in6 sin6;
        memset(&sin6, 0, sizeof sin6);
        sin6.sin6_family = AF_INET6;
        memcpy(&sin6.sin6_addr, probe_v6[i], 16);
        memset(&r, 0, sizeof r);
        lookup_db(&scratch, db, (const struct sockaddr *)&sin6, &r);
    }
    return scratch.st.errors;
}

/* Opens 'path' for slot 'want_asn' (false: location).  Returns 0 and sets
 * *out (caller owns; release with db_free), or a negative EGRET_E* code
 * with a message in err. */
static int db_open(const char *path, bool want_asn, geo_db **out, char *err, size_t errlen)
{
    const char *role = want_asn ? "ASN" : "location";
    *out = NULL;
    geo_db *db = calloc(1, sizeof *db);
    if (db == NULL) {
        errbuf_fail(err, errlen, "geo: out of memory opening %s database '%s'", role, path);
        return EGRET_ENOMEM;
    }
    /* the two cases MMDB_open reports only as "read failed (EINVAL)" */
    struct stat st;
    if (stat(path, &st) == 0 && (S_ISDIR(st.st_mode) || st.st_size == 0)) {
        errbuf_fail(err, errlen, "geo: cannot open %s database '%s': %s", role, path,
                    S_ISDIR(st.st_mode) ? "is a directory" : "file is empty");
        free(db);
        return EGRET_EIO;
    }
    errno = 0;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    if (rc != MMDB_SUCCESS) {
        /* MMDB_open has released what it allocated; db->mmdb is not open */
        int e = errno;
        if ((rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR) && e != 0)
            errbuf_fail(err, errlen, "geo: cannot open %s database '%s': %s (%s)", role, path,
                        MMDB_strerror(rc), strerror(e));
        else
            errbuf_fail(err, errlen,
                        "geo: cannot open %s database '%s': %s (corrupt or not an MMDB file)", role,
                        path, MMDB_strerror(rc));
        free(db);
        return rc == MMDB_OUT_OF_MEMORY_ERROR ? EGRET_ENOMEM : EGRET_EIO;
    }
    copy_str(db->path, sizeof db->path, path);

    const char *type = db->mmdb.metadata.database_type;
    geo_kind k = kind_of(type);
    bool ok = want_asn ? k == GEO_KIND_ASN : (k == GEO_KIND_CITY || k == GEO_KIND_COUNTRY);
    if (!ok) {
        errbuf_fail(err, errlen, "geo: '%s' has database_type '%s'; expected %s", path,
                    type != NULL ? type : "(none)",
                    want_asn ? "an ASN database (e.g. GeoLite2-ASN)"
                             : "a City or Country database (e.g. GeoLite2-City)");
        db_free(db);
        return EGRET_ECONFIG;
    }
    db->kind = k;

    uint64_t errors = db_probe(db);
    if (errors != 0) {
        errbuf_fail(err, errlen,
                    "geo: %s database '%s' is corrupt: %llu of its probe lookups failed to decode",
                    role, path, (unsigned long long)errors);
        db_free(db);
        return EGRET_EIO;
    }
    *out = db;
    return 0;
}

/* ======================= Public: lifetime ======================= */

geo *geo_new(uint32_t cache_slots)
{
    uint32_t want = cache_slots == 0 ? GEO_CACHE_DEFAULT : cache_slots;
    if (want > GEO_CACHE_MAX) want = GEO_CACHE_MAX;
    uint32_t slots = 1;
    while (slots < want) slots <<= 1;

    geo *g = calloc(1, sizeof *g);
    if (g == NULL) return NULL;
    g->cache = mem_zalloc(slots, sizeof *g->cache); /* read first: see mem.h */
    if (g->cache == NULL) {
        free(g);
        return NULL;
    }
    g->mask = slots - 1;
    g->st.slots = slots;
    return g;
}

static void cache_clear(geo *g)
{
    for (uint32_t i = 0; i <= g->mask; i++) g->cache[i].ip_v = 0;
}

void geo_close(geo *g)
{
    if (g == NULL) return;
    db_free(g->loc);
    db_free(g->asn);
    g->loc = g->asn = NULL;
    cache_clear(g);
}

void geo_free(geo *g)
{
    if (g == NULL) return;
    geo_close(g);
    free(g->cache);
    free(g);
}

int geo_reopen(geo *g, const char *city_path, const char *asn_path, char *err, size_t errlen)
{
    if (g == NULL) {
        errbuf_fail(err, errlen, "geo: no geo handle");
        return EGRET_EINVAL;
    }
    geo_db *loc = NULL, *asn = NULL;
    int rc = 0;
    if (city_path != NULL) rc = db_open(city_path, false, &loc, err, errlen);
    if (rc == 0 && asn_path != NULL) rc = db_open(asn_path, true, &asn, err, errlen);
    if (rc != 0) {
        db_free(loc); /* the old databases stay in use */
        return rc;
    }
    db_free(g->loc);
    db_free(g->asn);
    g->loc = loc;
    g->asn = asn;
    cache_clear(g);
    g->st.reloads++;
    if (err != NULL && errlen > 0) err[0] = '\0';
    return 0;
}

int geo_open(geo *g, const char *city_path, const char *asn_path, char *err, size_t errlen)
{
    if (g == NULL) {
        errbuf_fail(err, errlen, "geo: no geo handle");
        return EGRET_EINVAL;
    }
    geo_close(g);
    uint64_t reloads = g->st.reloads;
    int rc = geo_reopen(g, city_path, asn_path, err, errlen);
    g->st.reloads = reloads; /* a first open is not a reload */
    return rc;
}

bool geo_is_open(const geo *g)
{
    return g != NULL && (g->loc != NULL || g->asn != NULL);
}

/* ======================= Lookup ======================= */

/* Fetches the value at 'path' below 'e'.  A missing key is "absent"
 * (libmaxminddb reports it as a path/data mismatch); any other failure
 * is a decode error, counted in g->st.errors. */
static bool get_value(geo *g, MMDB_entry_s *e, const char *const *path, MMDB_entry_data_s *d)
{
    int rc = MMDB_aget_value(e, d, path);
    if (rc == MMDB_SUCCESS) return d->has_data;
    if (rc != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) g->st.errors++;
    return false;
}

/* Reads the UTF-8 string at 'path' below 'e' into dst.  Returns true if
 * present and non-empty. */
static bool get_string(geo *g, MMDB_entry_s *e, const char *const *path, char *dst, size_t cap)
{
    MMDB_entry_data_s d;
    if (!get_value(g, e, path, &d)) return false;
    if (d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size == 0) return false;
    copy_utf8(dst, cap, d.utf8_string, d.data_size);
    return dst[0] != '\0';
}

/* Reads an unsigned number at 'path' (uint16/uint32/uint64/int32 that fits
 * in 32 bits).  Returns true if present and non-zero. */
static bool get_u32(geo *g, MMDB_entry_s *e, const char *const *path, uint32_t *v)
{
    MMDB_entry_data_s d;
    if (!get_value(g, e, path, &d)) return false;
    uint64_t x;
    switch (d.type) {
    case MMDB_DATA_TYPE_UINT16:
        x = d.uint16;
        break;
    case MMDB_DATA_TYPE_UINT32:
        x = d.uint32;
        break;
    case MMDB_DATA_TYPE_UINT64:
        x = d.uint64;
        break;
    case MMDB_DATA_TYPE_INT32:
        x = d.int32 > 0 ? (uint64_t)d.int32 : 0;
        break;
    default:
        return false;
    }
    if (x == 0 || x > UINT32_MAX) return false;
    *v = (uint32_t)x;
    return true;
}

/* Fills the fields of 'out' that 'db' knows for 'sa'.  Returns true if
 * the address has a record. */
static bool lookup_db(geo *g, geo_db *db, const struct sockaddr *sa, geo_result *out)
{
    int mmdb_err = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&db->mmdb, sa, &mmdb_err);
    if (mmdb_err == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) return false;
    if (mmdb_err != MMDB_SUCCESS) {
        g->st.errors++;
        return false;
    }
    if (!r.found_entry) return false;

    if (db->kind == GEO_KIND_ASN) {
        static const char *const p_asn[] = {"autonomous_system_number", NULL};
        static const char *const p_org[] = {"autonomous_system_organization", NULL};
        if (get_u32(g, &r.entry, p_asn, &out->asn)) {
            out->flags |= GEO_HAS_ASN;
            get_string(g, &r.entry, p_org, out->as_org, sizeof out->as_org);
        }
        return true;
    }

    /* country, else registered_country (GeoLite2 leaves country out for
     * some anycast and satellite ranges) */
    static const char *const p_iso[] = {"country", "iso_code", NULL};
    static const char *const p_name[] = {"country", "names", "en", NULL};
    static const char *const p_riso[] = {"registered_country", "iso_code", NULL};
    static const char *const p_rname[] = {"registered_country", "names", "en", NULL};
    static const char *const p_city[] = {"city", "names", "en", NULL};
    if (get_string(g, &r.entry, p_iso, out->country_iso, sizeof out->country_iso)) {
        out->flags |= GEO_HAS_COUNTRY;
        get_string(g, &r.entry, p_name, out->country, sizeof out->country);
    } else if (get_string(g, &r.entry, p_riso, out->country_iso, sizeof out->country_iso)) {
        out->flags |= GEO_HAS_COUNTRY;
        get_string(g, &r.entry, p_rname, out->country, sizeof out->country);
    }
    if (db->kind == GEO_KIND_CITY && get_string(g, &r.entry, p_city, out->city, sizeof out->city))
        out->flags |= GEO_HAS_CITY;
    return true;
}

/* Queries the open databases for one address (no cache). */
static void lookup_uncached(geo *g, int ip_v, const uint8_t *a, geo_result *out)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;

    /* ::ffff:a.b.c.d is looked up as a.b.c.d, so IPv4-only databases
     * answer it too */
    if (ip_v == 6 && memcmp(a, v4mapped, 12) == 0) {
        ip_v = 4;
        a += 12;
    }
    if (ip_v == 4) {
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        memcpy(&sin.sin_addr, a, 4);
        sa = (const struct sockaddr *)&sin;
    } else {
        memset(&sin6, 0, sizeof sin6);
        sin6.sin6_family = AF_INET6;
        memcpy(&sin6.sin6_addr, a, 16);
        sa = (const struct sockaddr *)&sin6;
    }
    memset(out, 0, sizeof *out);
    if (g->loc != NULL) lookup_db(g, g->loc, sa, out);
    if (g->asn != NULL) lookup_db(g, g->asn, sa, out);
}

/* FNV-1a over the key bytes, folded to a slot index.  The start value is
 * not the FNV offset basis: any value works, and this one keeps the slots,
 * so the cache's hit and eviction counters, as they have always been. */
static uint32_t slot_of(const geo *g, int ip_v, const uint8_t *key)
{
    uint64_t h = fnv1a64(1469598103934665603ull ^ (uint64_t)ip_v, key, ip_v == 4 ? 4 : 16);
    h ^= h >> 29;
    return (uint32_t)h & g->mask;
}

bool geo_lookup(geo *g, int ip_v, const uint8_t addr[16], geo_result *out)
{
    memset(out, 0, sizeof *out);
    if (g == NULL || (g->loc == NULL && g->asn == NULL) || (ip_v != 4 && ip_v != 6)) return false;
    g->st.lookups++;

    uint8_t key[16] = {0};
    memcpy(key, addr, ip_v == 4 ? 4 : 16);
    cache_slot *s = &g->cache[slot_of(g, ip_v, key)];
    if (s->ip_v == (uint8_t)ip_v && memcmp(s->addr, key, sizeof key) == 0) {
        g->st.hits++;
        *out = s->res;
        return s->found;
    }
    g->st.misses++;
    if (s->ip_v != 0) g->st.evictions++;

    lookup_uncached(g, ip_v, key, &s->res);
    memcpy(s->addr, key, sizeof key);
    s->ip_v = (uint8_t)ip_v;
    s->found = s->res.flags != 0;
    *out = s->res;
    return s->found;
}

/* ======================= Introspection ======================= */

static void db_info(const geo_db *db, geo_db_info *out)
{
    memset(out, 0, sizeof *out);
    if (db == NULL) return;
    out->kind = db->kind;
    const char *type = db->mmdb.metadata.database_type;
    copy_str(out->type, sizeof out->type, type != NULL ? type : "");
    copy_str(out->path, sizeof out->path, db->path);
    out->build_epoch = db->mmdb.metadata.build_epoch;
    out->ip_version = db->mmdb.metadata.ip_version;
    out->node_count = db->mmdb.metadata.node_count;
}

void geo_info(const geo *g, geo_db_info *city, geo_db_info *asn)
{
    if (city != NULL) db_info(g != NULL ? g->loc : NULL, city);
    if (asn != NULL) db_info(g != NULL ? g->asn : NULL, asn);
}

void geo_get_stats(const geo *g, geo_stats *out)
{
    if (g == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = g->st;
}

/* ======================= Locating databases ======================= */

const char *const geo_default_dirs[] = {"/usr/share/GeoIP", "/var/lib/GeoIP", NULL};

// clang-format off
static const char *const loc_names[] = {
    "GeoLite2-City.mmdb", "GeoIP2-City.mmdb", "dbip-city-lite.mmdb",
    "GeoLite2-Country.mmdb", "GeoIP2-Country.mmdb", "dbip-country-lite.mmdb", NULL,
};
static const char *const asn_names[] = {"GeoLite2-ASN.mmdb", "dbip-asn-lite.mmdb", NULL};
// clang-format on

/* True if dir/name is a readable regular file; writes the path to dst. */
static bool try_file(const char *dir, const char *name, char *dst, size_t size)
{
    int n = snprintf(dst, size, "%s/%s", dir, name);
    struct stat st;
    if (n < 0 || (size_t)n >= size || stat(dst, &st) != 0 || !S_ISREG(st.st_mode) ||
        access(dst, R_OK) != 0) {
        if (size > 0) dst[0] = '\0';
        return false;
    }
    return true;
}

/* First names[i] found in any of dirs, preferring earlier names. */
static bool find_first(const char *const *dirs, const char *const *names, char *dst, size_t size)
{
    for (size_t i = 0; names[i] != NULL; i++)
        for (size_t j = 0; dirs[j] != NULL; j++)
            if (try_file(dirs[j], names[i], dst, size)) return true;
    return false;
}

unsigned geo_find(const char *const *dirs, const char *fallback_dir, char *city, char *asn,
                  size_t size)
{
    if (size == 0) return 0;
    city[0] = asn[0] = '\0';
    if (dirs == NULL) dirs = geo_default_dirs;
    unsigned found = 0;
    if (find_first(dirs, loc_names, city, size)) found |= GEO_HAS_COUNTRY;
    if (find_first(dirs, asn_names, asn, size)) found |= GEO_HAS_ASN;
    if (found != 0 || fallback_dir == NULL) return found;

    if (try_file(fallback_dir, "GeoLite2-City-Test.mmdb", city, size)) found |= GEO_HAS_COUNTRY;
    if (try_file(fallback_dir, "GeoLite2-ASN-Test.mmdb", asn, size)) found |= GEO_HAS_ASN;
    return found;
}

unsigned geo_find_default(const char *fallback_dir, char *city, char *asn, size_t size)
{
    return geo_find(geo_default_dirs, fallback_dir, city, asn, size);
}
