/*
 * geo.h -- GeoIP country/city and ASN tagging (the libmaxminddb adapter's
 * interface).
 *
 * geo.c is the only file that includes <maxminddb.h>; nothing here exposes
 * MMDB types.  One geo per engine.  It holds up to two databases -- a
 * location database (GeoLite2-City or GeoLite2-Country layout, or DB-IP's
 * lite equivalents) and an ASN database -- plus a bounded, direct-mapped
 * lookup cache allocated once in geo_new: geo_lookup never allocates.
 *
 * Not thread-safe: one geo is used (looked up, reopened) from one thread,
 * like the rest of an engine's state.
 */
#ifndef EGRET_GEO_H
#define EGRET_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct geo geo;

#define GEO_CACHE_DEFAULT 4096u /* slots when geo_new is given 0 */
#define GEO_CACHE_MAX     (1u << 20)

/* geo_result.flags: which fields were found. */
enum {
    GEO_HAS_COUNTRY = 1u << 0, /* country_iso and (usually) country */
    GEO_HAS_CITY = 1u << 1,    /* city */
    GEO_HAS_ASN = 1u << 2,     /* asn and (usually) as_org */
};

/* One lookup's answer; plain data, safe to copy into a flow.  Strings are
 * NUL-terminated UTF-8, "" when absent, truncated on a character boundary
 * if the database holds a longer name. */
typedef struct geo_result {
    char country_iso[4]; /* "US"; from country, else registered_country */
    char country[64];    /* English name, "United States" */
    char city[64];       /* English name; City-layout databases only */
    char as_org[128];    /* "OpenAI-Test" */
    uint32_t asn;        /* 0 when absent */
    uint32_t flags;      /* GEO_HAS_* */
} geo_result;

/* Which database a slot holds (from metadata.database_type). */
typedef enum geo_kind {
    GEO_KIND_NONE = 0,
    GEO_KIND_CITY,    /* "...City..." */
    GEO_KIND_COUNTRY, /* "...Country..." */
    GEO_KIND_ASN,     /* "...ASN..." or "...ISP..." */
} geo_kind;

/* What geo_info reports about one open database. */
typedef struct geo_db_info {
    geo_kind kind;        /* GEO_KIND_NONE: slot empty, other fields zero */
    char type[64];        /* metadata.database_type, "GeoLite2-City" */
    char path[256];       /* as passed to geo_open (truncated if longer) */
    uint64_t build_epoch; /* metadata.build_epoch, seconds since 1970 */
    uint16_t ip_version;  /* 4 or 6 */
    uint32_t node_count;
} geo_db_info;

/* Cache and lookup counters since geo_new (reopen does not reset them). */
typedef struct geo_stats {
    uint64_t lookups;   /* geo_lookup calls with at least one database open */
    uint64_t hits;      /* answered from the cache (found or not found) */
    uint64_t misses;    /* went to the database(s) */
    uint64_t evictions; /* a miss that replaced a different cached address */
    uint64_t errors;    /* MMDB lookup/data errors (answered as "no data") */
    uint64_t reloads;   /* successful geo_reopen calls */
    uint32_t slots;     /* cache size */
} geo_stats;

/* Allocates a geo with no database open and a cache of 'cache_slots'
 * entries (0 -> GEO_CACHE_DEFAULT; rounded up to a power of two, at most
 * GEO_CACHE_MAX).  Returns NULL on allocation failure.  Release with
 * geo_free. */
geo *geo_new(uint32_t cache_slots);

/* Closes any databases and frees 'g'.  Accepts NULL. */
void geo_free(geo *g);

/* Opens the location database 'city_path' (City or Country layout) and the
 * ASN database 'asn_path'; either may be NULL (slot left empty; both NULL
 * means "no geo", and succeeds).  All or nothing: on any failure nothing
 * is open afterwards (previously open databases are closed either way),
 * 'err' (may be NULL) names the file and the reason, and the return value
 * is EGRET_EIO (missing/unreadable/corrupt file) or EGRET_ECONFIG (valid
 * MMDB of the wrong kind, e.g. an ASN database given as the city one).
 * Returns 0 on success.  A corrupt or truncated file fails here; it is
 * never a crash.  Paths are not retained beyond geo_info's copy. */
int geo_open(geo *g, const char *city_path, const char *asn_path, char *err, size_t errlen);

/* Like geo_open, but the currently open databases are replaced only if all
 * new ones open; on failure the old ones stay in use and the error is
 * reported as for geo_open.  On success the cache is emptied.  Update
 * database files by writing a new file and rename()ing it into place (as
 * geoipupdate does): the open file is mmap()ed and must not be truncated
 * or rewritten in place. */
int geo_reopen(geo *g, const char *city_path, const char *asn_path, char *err, size_t errlen);

/* Closes both databases (the geo stays usable; lookups return false). */
void geo_close(geo *g);

/* True if at least one database is open. */
bool geo_is_open(const geo *g);

/* Looks up one address: 'ip_v' is 4 or 6, 'addr' 16 bytes as in dec_pkt
 * (an IPv4 address in the first 4 bytes).  Fills 'out' (all zero/"" when
 * nothing is known) and returns true if anything was found.  No
 * allocation; answers repeat addresses from the cache. */
bool geo_lookup(geo *g, int ip_v, const uint8_t addr[16], geo_result *out);

/* Describes the open databases; either out-pointer may be NULL. */
void geo_info(const geo *g, geo_db_info *city, geo_db_info *asn);

void geo_get_stats(const geo *g, geo_stats *out);

/* Name of a geo_kind: "city", "country", "asn" or "none". */
const char *geo_kind_name(geo_kind k);

/* ---- locating databases ---- */

/* NULL-terminated list of directories searched by geo_find_default:
 * "/usr/share/GeoIP", "/var/lib/GeoIP" (Debian's geoipupdate and
 * geoip-database locations). */
extern const char *const geo_default_dirs[];

/* Searches 'dirs' (NULL-terminated; NULL -> geo_default_dirs) for a
 * location database -- GeoLite2-City.mmdb, GeoIP2-City.mmdb,
 * dbip-city-lite.mmdb, GeoLite2-Country.mmdb, GeoIP2-Country.mmdb,
 * dbip-country-lite.mmdb, in that order of preference, the first name
 * found in any directory wins -- and an ASN database (GeoLite2-ASN.mmdb,
 * dbip-asn-lite.mmdb).  If neither is found there and 'fallback_dir' is
 * not NULL, uses the shipped test databases in it
 * (GeoLite2-City-Test.mmdb, GeoLite2-ASN-Test.mmdb); real and test
 * databases are never mixed.  Writes each path found into 'city' / 'asn'
 * ('size' bytes each; "" when not found or the path does not fit).
 * Returns the GEO_HAS_* bits of what was found: GEO_HAS_COUNTRY for a
 * location database, GEO_HAS_ASN for an ASN one.  Only checks that the
 * files are readable; geo_open validates them. */
unsigned geo_find(const char *const *dirs, const char *fallback_dir, char *city, char *asn,
                  size_t size);

/* geo_find(geo_default_dirs, fallback_dir, ...). */
unsigned geo_find_default(const char *fallback_dir, char *city, char *asn, size_t size);

#endif /* EGRET_GEO_H */
