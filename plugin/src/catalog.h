/*
 * catalog.h -- the AI-endpoint catalog: host patterns and IP ranges -> provider.
 *
 * Loads the TSV files under rules/data/ (format: rules/data/README.md) and
 * answers "which AI provider is this host / this address?".  Host matching is
 * on DNS label boundaries, case-insensitive, longest match wins; a lookup
 * walks the host's label suffixes through a hash table (no scan over all
 * patterns, no allocation).  IP ranges are longest-prefix matched in a
 * netset.
 *
 * Pattern language (one host pattern per row):
 *   openai.com                    the name and every name under it
 *   *.chatgpt.com                 names strictly under chatgpt.com (not the apex)
 *   bedrock-runtime.*.amazonaws.com
 *                                 a '*' label in the middle is exactly one label
 *   *-aiplatform.googleapis.com   a '*' inside a label globs within that label only
 * The rightmost label must be literal.  Specificity: more labels wins, then
 * more literal characters (not '*' or '.'), then the entry listed later.
 */
#ifndef EGRET_CATALOG_H
#define EGRET_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct catalog catalog;

typedef enum catalog_kind {
    CATALOG_KIND_API = 0,  /* developer API */
    CATALOG_KIND_CONSUMER, /* chat front-end, app or upload host */
    CATALOG_KIND_CLOUD,    /* model endpoint hosted by a hyperscaler */
    CATALOG_KIND_GATEWAY,  /* relay to many providers (OpenRouter, AI gateways) */
} catalog_kind;

/* A match.  All strings are borrowed from the catalog: valid until the next
 * catalog_load*() or catalog_free() on it. */
typedef struct catalog_match {
    const char *provider;
    catalog_kind kind;
    const char *pattern; /* host pattern, or CIDR for an IP match */
    const char *source;  /* the row's source/notes column */
} catalog_match;

catalog *catalog_new(void);
void catalog_free(catalog *cat); /* accepts NULL */

/* Loads an endpoints file (provider, kind, pattern, source).  Later rows and
 * later files replace an entry with the same (normalised) pattern; other rows
 * add.  On a malformed line nothing from this file is kept, the catalog is
 * unchanged and err gets "FILE:LINE: message" (FILE as passed).  Returns 0 or
 * -1.  err may be NULL. */
int catalog_load(catalog *cat, const char *path, char *err, size_t errlen);

/* Loads an IP-ranges file (provider, kind, cidr, source); same rules as
 * catalog_load.  CIDRs with host bits set are rejected as typos. */
int catalog_load_ranges(catalog *cat, const char *path, char *err, size_t errlen);

/* Matches host[0..len) (need not be NUL-terminated).  Case-insensitive; one
 * trailing dot ignored.  Names over 253 characters, with empty labels, labels
 * over 63 characters, or bytes outside [A-Za-z0-9_-.] never match.  Punycode
 * labels (xn--...) are ordinary labels.  Returns true and fills *out (may be
 * NULL) on a match.  No allocation. */
bool catalog_match_host(const catalog *cat, const char *host, size_t len, catalog_match *out);

/* ip_v is 4 or 6; addr holds 4 or 16 bytes in network order (IPv4 in the
 * first 4 bytes of a 16-byte buffer is fine).  Longest prefix wins. */
bool catalog_match_ip(const catalog *cat, int ip_v, const uint8_t *addr, catalog_match *out);

size_t catalog_count(const catalog *cat);        /* host patterns */
size_t catalog_count_ranges(const catalog *cat); /* IP ranges */

/* Returns the kind's name ("api", "consumer", "cloud", "gateway"). */
const char *catalog_kind_name(catalog_kind kind);

/* Visits every host pattern in load order (an overridden pattern keeps its
 * first position).  Stops early when fn returns non-zero and returns that. */
int catalog_foreach(const catalog *cat, int (*fn)(const catalog_match *m, void *ud), void *ud);

/* Writes the host patterns as an nDPI 4.2 custom-protocols file, one
 * `host:"NAME"@AI_Provider` line per pattern.  Plain patterns are written as
 * is; "*.x" is written as "x" (nDPI cannot say "subdomains only", so the apex
 * is included) unless "x" itself is in the catalog; patterns with any other
 * '*' cannot be expressed and are listed in a comment instead.  Protocol names
 * get an "AI_" prefix (so "Google" does not merge into nDPI's own Google
 * protocol) and every run of characters outside [A-Za-z0-9] becomes one '_'.
 * Returns 0, or -1 on a write error. */
int catalog_write_ndpi_protos(const catalog *cat, FILE *out);

#endif /* EGRET_CATALOG_H */
