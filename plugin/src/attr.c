/*
 * attr.c -- AI-endpoint attribution from names, DNS answers and published
 * ranges (see attr.h for the order of evidence).
 */
#include "attr.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "dnscache.h"

struct attr {
    catalog *cat;
    dnscache *dns;
    uint64_t attributed, by_name, by_dns, by_ip, dns_answers;
};

static bool file_exists(const char *p)
{
    FILE *f = fopen(p, "r");
    if (!f) return false;
    fclose(f);
    return true;
}

/* The LINE of a "FILE:LINE: message" error (the first ":digits:"), 0 if none. */
static long error_line(const char *msg)
{
    for (const char *c = strchr(msg, ':'); c; c = strchr(c + 1, ':')) {
        char *end;
        long v = strtol(c + 1, &end, 10);
        if (end > c + 1 && *end == ':') return v;
    }
    return 0;
}

attr *attr_new(const char *data_dir, const char *const *extra, size_t n_extra, size_t dns_cap,
               char *err, size_t errlen)
{
    attr *a = calloc(1, sizeof(*a));
    if (!a) goto oom;
    a->cat = catalog_new();
    a->dns = dnscache_new(dns_cap);
    if (!a->cat || !a->dns) goto oom;
    if (data_dir) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/ai_endpoints.tsv", data_dir);
        if (!file_exists(path)) {
            snprintf(err, errlen, "%s: AI-endpoint catalog not found", path);
            goto fail;
        }
        if (catalog_load(a->cat, path, err, errlen) != 0) goto fail;
        snprintf(path, sizeof(path), "%s/ai_ip_ranges.tsv", data_dir);
        if (file_exists(path) && catalog_load_ranges(a->cat, path, err, errlen) != 0) goto fail;
    }
    /* A user catalog file holds host rows or range rows (same columns:
     * provider, kind, pattern-or-CIDR, source).  Try hosts first; if that
     * fails, a file of ranges loads as ranges; else report the host error. */
    for (size_t i = 0; i < n_extra; i++) {
        if (catalog_load(a->cat, extra[i], err, errlen) == 0) continue;
        char err2[512];
        if (catalog_load_ranges(a->cat, extra[i], err2, sizeof(err2)) == 0) continue;
        /* Both failed: report the reading that got further into the file. */
        if (error_line(err2) > error_line(err)) snprintf(err, errlen, "%s", err2);
        goto fail;
    }
    return a;
oom:
    snprintf(err, errlen, "attribution: out of memory");
fail:
    attr_free(a);
    return NULL;
}

void attr_free(attr *a)
{
    if (!a) return;
    catalog_free(a->cat);
    dnscache_free(a->dns);
    free(a);
}

void attr_dns_answer(attr *a, int ip_v, const uint8_t *client, const dns_msg *m, uint64_t now_us)
{
    if (!m->response || m->rcode != 0 || m->n_answers == 0) return;
    a->dns_answers++;
    /* Answer order: CNAMEs come before the addresses they lead to. */
    for (size_t i = 0; i < m->n_answers; i++) {
        const dns_rr *rr = &m->answers[i];
        if (rr->type == DNS_T_CNAME && rr->target[0])
            dnscache_add_cname(a->dns, ip_v, client, rr->name, rr->target, rr->ttl, now_us);
        else if (rr->type == DNS_T_A)
            dnscache_add(a->dns, ip_v, client, rr->name, 4, rr->addr, rr->ttl, now_us);
        else if (rr->type == DNS_T_AAAA)
            dnscache_add(a->dns, ip_v, client, rr->name, 6, rr->addr, rr->ttl, now_us);
    }
}

static void fill(attr_result *out, const catalog_match *m, const char *host, const char *method,
                 const char *confidence)
{
    snprintf(out->provider, sizeof(out->provider), "%s", m->provider);
    snprintf(out->kind, sizeof(out->kind), "%s", catalog_kind_name(m->kind));
    snprintf(out->host, sizeof(out->host), "%s", host);
    out->method = method;
    out->confidence = confidence;
}

/* The name of an HTTP Host or HTTP/2 :authority without its port
 * ("api.openai.com:8443", what a client sends to a port other than the
 * scheme's): the catalog knows names.  Its length in name. */
static size_t host_name_len(const char *name, attr_name_src src)
{
    size_t n = strlen(name), i = n;
    if (src != ATTR_NAME_HTTP_HOST) return n;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9') i--;
    if (i > 1 && i < n && name[i - 1] == ':' && !memchr(name, ':', i - 1)) return i - 1;
    return n;
}

bool attr_flow(attr *a, int ip_v, const uint8_t *client, const uint8_t *server, const char *name,
               attr_name_src src, uint64_t now_us, attr_result *out)
{
    static const char *const methods[] = {"", "sni", "quic_sni", "http_host"};
    catalog_match m;
    size_t nl = name ? host_name_len(name, src) : 0;
    if (nl && src != ATTR_NAME_NONE && catalog_match_host(a->cat, name, nl, &m)) {
        char nm[sizeof(out->host)];
        snprintf(nm, sizeof(nm), "%.*s", (int)nl, name);
        fill(out, &m, nm, methods[src], "high");
        a->attributed++, a->by_name++;
        return true;
    }
    char dn[DNSCACHE_NAME_MAX + 1];
    if (dnscache_lookup(a->dns, ip_v, client, ip_v, server, now_us, dn, sizeof(dn)) &&
        catalog_match_host(a->cat, dn, strlen(dn), &m)) {
        fill(out, &m, dn, "dns", "high");
        a->attributed++, a->by_dns++;
        return true;
    }
    if (catalog_match_ip(a->cat, ip_v, server, &m)) {
        fill(out, &m, m.pattern, "ip_range", "medium");
        a->attributed++, a->by_ip++;
        return true;
    }
    return false;
}

bool attr_match_name(const attr *a, const char *name, attr_result *out)
{
    catalog_match m;
    if (!name || !name[0] || !catalog_match_host(a->cat, name, strlen(name), &m)) return false;
    fill(out, &m, name, "dns", "high");
    return true;
}

int attr_write_ndpi_protos(const attr *a, FILE *out)
{
    return catalog_write_ndpi_protos(a->cat, out);
}

void attr_get_stats(const attr *a, attr_stats *out)
{
    memset(out, 0, sizeof(*out));
    dnscache_stats ds;
    dnscache_get_stats(a->dns, &ds);
    out->attributed = a->attributed;
    out->by_name = a->by_name;
    out->by_dns = a->by_dns;
    out->by_ip = a->by_ip;
    out->dns_answers = a->dns_answers;
    out->dns_entries = ds.entries;
    out->dns_capacity = ds.capacity;
    out->dns_evictions = ds.evictions;
    out->dns_expired = ds.expired;
    out->dns_hits = ds.hits;
    out->dns_misses = ds.misses;
    out->patterns = catalog_count(a->cat);
    out->ranges = catalog_count_ranges(a->cat);
}
