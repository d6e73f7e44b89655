/*
 * attr.h -- AI-endpoint attribution: which provider a flow talks to, how
 * egret knows, and how sure it is.
 *
 * Evidence, strongest first:
 *   1. the name the client sent: TLS SNI ("sni"), QUIC SNI ("quic_sni"),
 *      HTTP Host ("http_host") matching the catalog -> confidence high;
 *   2. a catalog name this client resolved to the server's address, seen in
 *      DNS answers (CNAME chains followed back to the queried name) ->
 *      "dns", high.  This also wins over a sent name that is not in the
 *      catalog (an ECH outer SNI, a generic CDN name);
 *   3. a published provider IP range -> "ip_range", medium.
 * Owns the catalog and the per-client DNS cache.
 */
#ifndef EGRET_ATTR_H
#define EGRET_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dns.h"

typedef struct attr attr;

/* Where a flow's hostname came from. */
typedef enum {
    ATTR_NAME_NONE,
    ATTR_NAME_SNI,
    ATTR_NAME_QUIC_SNI,
    ATTR_NAME_HTTP_HOST
} attr_name_src;

typedef struct attr_result {
    char provider[48];
    char kind[12];          /* "api", "consumer", "cloud", "gateway" */
    char host[256];         /* the matched name (or the CIDR for ip_range) */
    const char *method;     /* "sni", "quic_sni", "http_host", "dns", "ip_range" */
    const char *confidence; /* "high", "medium" */
} attr_result;

typedef struct attr_stats {
    uint64_t attributed, by_name, by_dns, by_ip;
    uint64_t dns_answers; /* DNS responses fed */
    uint64_t dns_entries, dns_capacity, dns_evictions, dns_expired, dns_hits, dns_misses;
    size_t patterns, ranges;
} attr_stats;

/* Loads 'data_dir'/ai_endpoints.tsv and ai_ip_ranges.tsv (when data_dir is
 * non-NULL), then each extra catalog file in order (later entries add or
 * override).  dns_cap: DNS cache entries (0 = default).  Returns NULL with
 * "FILE:LINE: message" in err on a malformed file. */
attr *attr_new(const char *data_dir, const char *const *extra, size_t n_extra, size_t dns_cap,
               char *err, size_t errlen);
void attr_free(attr *a);

/* Remembers the answers of a DNS response sent to 'client'. */
void attr_dns_answer(attr *a, int ip_v, const uint8_t *client, const dns_msg *m, uint64_t now_us);

/* Attributes a flow.  'name' (may be NULL/empty) is what the client sent,
 * 'src' where it came from.  Returns true and fills *out when attributed. */
bool attr_flow(attr *a, int ip_v, const uint8_t *client, const uint8_t *server, const char *name,
               attr_name_src src, uint64_t now_us, attr_result *out);

/* Catalog match of a bare name (e.g. a DNS query): method "dns". */
bool attr_match_name(const attr *a, const char *name, attr_result *out);

/* Writes the catalog's host patterns as an nDPI custom protocols file. */
int attr_write_ndpi_protos(const attr *a, FILE *out);

void attr_get_stats(const attr *a, attr_stats *out);

#endif /* EGRET_ATTR_H */
