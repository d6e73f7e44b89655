/*
 * netset.c -- IPv4/IPv6 prefix sets with longest-prefix match.
 *
 * One binary trie per family, stored as an array of nodes linked by index
 * (node 0 is the IPv4 root, node 1 the IPv6 root, 0 as a child means
 * none).  A prefix of length L is the node reached by its first L bits.
 * Adding grows the array (setup time only); lookup walks at most 32 or
 * 128 nodes and never allocates.  Parsing uses inet_pton, so only the
 * standard text forms are accepted (no "10/8" shorthand).
 */
#include "netset.h"
#include "errbuf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT4    0u
#define ROOT6    1u
#define MAX_ITEM 64 /* longest accepted item text: IPv6 (45) + "/128" fits */

typedef struct ns_node {
    uint32_t child[2];
    int value;
    bool has;
} ns_node;

/* Few IPv4 prefixes (a --home-net) are also kept as a list, longest
 * first: a lookup compares a handful of masked words instead of walking
 * up to 32 trie nodes (it runs for both addresses of every packet). */
#define FAST4_MAX 16

typedef struct fast4 {
    uint32_t net, mask; /* host byte order */
    unsigned len;
    int value;
} fast4;

struct netset {
    ns_node *nodes;
    uint32_t n, cap;
    size_t count;
    fast4 v4[FAST4_MAX];
    int n4; /* prefixes in v4, or -1: too many, the trie alone answers */
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Trims [*s, *s + *n) in place. */
static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) (*s)++, (*n)--;
    while (*n && is_space((*s)[*n - 1])) (*n)--;
}

netset_perr netset_parse(const char *s, size_t n, netset_prefix *out, bool *host_bits)
{
    char buf[MAX_ITEM];
    memset(out, 0, sizeof(*out));
    if (host_bits) *host_bits = false;
    if (n == 0) return NETSET_EMPTY;
    if (n >= sizeof(buf)) return NETSET_TOO_LONG;
    memcpy(buf, s, n);
    buf[n] = '\0';

    char *slash = strchr(buf, '/');
    if (slash) *slash = '\0';
    if (buf[0] == '\0') return NETSET_NO_ADDR;
    bool v6 = strchr(buf, ':') != NULL;
    out->ip_v = v6 ? 6 : 4;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, out->addr) != 1) return NETSET_BAD_ADDR;
    unsigned max = v6 ? 128 : 32;
    out->len = max;
    if (slash) {
        const char *d = slash + 1;
        size_t nd = strlen(d);
        if (nd == 0 || nd > 3 || strspn(d, "0123456789") != nd) return NETSET_BAD_LEN;
        out->len = (unsigned)atoi(d);
        if (out->len > max) return NETSET_LONG_LEN;
    }
    /* clear the host bits, noting whether there were any */
    uint8_t set = 0;
    for (unsigned i = 0; i < 16; i++) {
        unsigned lo = i * 8;
        uint8_t keep = out->len <= lo      ? 0
                       : out->len < lo + 8 ? (uint8_t)(0xff00u >> (out->len - lo))
                                           : 0xff;
        set |= out->addr[i] & (uint8_t)~keep;
        out->addr[i] &= keep;
    }
    if (host_bits) *host_bits = set != 0;
    return NETSET_OK;
}

/* Parses one trimmed item of n bytes into netset's own messages. */
static int parse_prefix(const char *s, size_t n, netset_prefix *out, char *err, size_t errlen)
{
    int q = n > 40 ? 40 : (int)n; /* quote at most 40 chars in messages */
    switch (netset_parse(s, n, out, NULL)) {
    case NETSET_OK:
        return 0;
    case NETSET_EMPTY:
        return errbuf_fail(err, errlen, "bad CIDR '': empty");
    case NETSET_TOO_LONG:
        return errbuf_fail(err, errlen, "bad CIDR '%.*s...': too long", q, s);
    case NETSET_NO_ADDR:
        return errbuf_fail(err, errlen, "bad CIDR '%.*s': missing address", q, s);
    case NETSET_BAD_ADDR:
        return errbuf_fail(err, errlen, "bad CIDR '%.*s': not an IPv%d address", q, s, out->ip_v);
    case NETSET_BAD_LEN: {
        const char *d = (const char *)memchr(s, '/', n) + 1;
        return errbuf_fail(err, errlen, "bad CIDR '%.*s': prefix length '%.*s' is not a number", q,
                           s, (int)(n - (size_t)(d - s)), d);
    }
    case NETSET_LONG_LEN:
        return errbuf_fail(err, errlen, "bad CIDR '%.*s': prefix length %u > %u", q, s, out->len,
                           out->ip_v == 6 ? 128 : 32);
    }
    return errbuf_fail(err, errlen, "bad CIDR '%.*s'", q, s);
}

static uint32_t node_new(netset *s)
{
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 64;
        ns_node *nn = realloc(s->nodes, cap * sizeof(*nn));
        if (!nn) return 0;
        s->nodes = nn;
        s->cap = cap;
    }
    memset(&s->nodes[s->n], 0, sizeof(s->nodes[0]));
    return s->n++;
}

static uint32_t be32(const uint8_t *a)
{
    return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

/* Mirrors an IPv4 insert in the list (same prefix: new value). */
static void fast4_insert(netset *s, const netset_prefix *p, int value)
{
    if (s->n4 < 0) return;
    uint32_t mask = p->len ? ~(uint32_t)0 << (32 - p->len) : 0, net = be32(p->addr) & mask;
    for (int i = 0; i < s->n4; i++)
        if (s->v4[i].len == p->len && s->v4[i].net == net) {
            s->v4[i].value = value;
            return;
        }
    if (s->n4 == FAST4_MAX) {
        s->n4 = -1;
        return;
    }
    int i = s->n4++;
    for (; i > 0 && s->v4[i - 1].len < p->len; i--) s->v4[i] = s->v4[i - 1];
    s->v4[i] = (fast4){net, mask, p->len, value};
}

static int insert(netset *s, const netset_prefix *p, int value, char *err, size_t errlen)
{
    uint32_t cur = p->ip_v == 4 ? ROOT4 : ROOT6;
    for (unsigned i = 0; i < p->len; i++) {
        unsigned bit = (p->addr[i / 8] >> (7 - i % 8)) & 1;
        uint32_t next = s->nodes[cur].child[bit];
        if (!next) {
            next = node_new(s); /* may move s->nodes */
            if (!next) return errbuf_fail(err, errlen, "out of memory");
            s->nodes[cur].child[bit] = next;
        }
        cur = next;
    }
    if (!s->nodes[cur].has) s->count++;
    s->nodes[cur].has = true;
    s->nodes[cur].value = value;
    if (p->ip_v == 4) fast4_insert(s, p, value);
    return 0;
}

netset *netset_new(void)
{
    netset *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    if (node_new(s) != ROOT4 || node_new(s) != ROOT6) {
        netset_free(s);
        return NULL;
    }
    return s;
}

void netset_free(netset *s)
{
    if (!s) return;
    free(s->nodes);
    free(s);
}

int netset_add(netset *s, const char *cidr, int value, char *err, size_t errlen)
{
    if (!s || !cidr) return errbuf_fail(err, errlen, "bad CIDR: NULL");
    const char *p = cidr;
    size_t n = strlen(cidr);
    trim(&p, &n);
    netset_prefix pf;
    if (parse_prefix(p, n, &pf, err, errlen) < 0) return -1;
    return insert(s, &pf, value, err, errlen);
}

int netset_add_prefix(netset *s, const netset_prefix *p, char *err, size_t errlen)
{
    if (!s || !p || (p->ip_v != 4 && p->ip_v != 6) || p->len > (p->ip_v == 4 ? 32u : 128u))
        return errbuf_fail(err, errlen, "bad prefix");
    return insert(s, p, p->value, err, errlen);
}

/* Calls parse (and insert when 'add') for every item; stops at the first
 * error.  Item numbers in messages count from 1. */
static int walk_list(netset *s, const char *list, int value, bool add, char *err, size_t errlen)
{
    const char *p = list;
    for (unsigned item = 1;; item++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *it = p;
        trim(&it, &n);
        if (n == 0) return errbuf_fail(err, errlen, "bad list '%s': item %u is empty", list, item);
        netset_prefix pf;
        if (parse_prefix(it, n, &pf, err, errlen) < 0) return -1;
        if (add && insert(s, &pf, value, err, errlen) < 0) return -1;
        if (!comma) return 0;
        p = comma + 1;
    }
}

int netset_add_list(netset *s, const char *list, int value, char *err, size_t errlen)
{
    if (!s || !list) return errbuf_fail(err, errlen, "bad list: NULL");
    /* validate everything first so a bad item leaves the set unchanged */
    if (walk_list(s, list, value, false, err, errlen) < 0) return -1;
    return walk_list(s, list, value, true, err, errlen);
}

bool netset_lookup(const netset *s, int ip_v, const uint8_t *addr, int *value)
{
    if (!s || !addr || (ip_v != 4 && ip_v != 6)) return false;
    if (ip_v == 4 && s->n4 >= 0) {
        uint32_t a = be32(addr);
        for (int i = 0; i < s->n4; i++)
            if ((a & s->v4[i].mask) == s->v4[i].net) {
                if (value) *value = s->v4[i].value;
                return true;
            }
        return false;
    }
    unsigned bits = ip_v == 4 ? 32 : 128;
    uint32_t cur = ip_v == 4 ? ROOT4 : ROOT6;
    const ns_node *best = s->nodes[cur].has ? &s->nodes[cur] : NULL;
    for (unsigned i = 0; i < bits; i++) {
        unsigned bit = (addr[i / 8] >> (7 - i % 8)) & 1;
        cur = s->nodes[cur].child[bit];
        if (!cur) break;
        if (s->nodes[cur].has) best = &s->nodes[cur];
    }
    if (!best) return false;
    if (value) *value = best->value;
    return true;
}

size_t netset_count(const netset *s)
{
    return s ? s->count : 0;
}

/* Depth-first from node 'cur' at depth 'len' (the bits so far in *pf). */
static void collect(const netset *s, uint32_t cur, netset_prefix *pf, netset_prefix *out,
                    size_t cap, size_t *n)
{
    const ns_node *nd = &s->nodes[cur];
    if (nd->has) {
        if (*n < cap) {
            out[*n] = *pf;
            out[*n].value = nd->value;
        }
        (*n)++;
    }
    unsigned len = pf->len, max = pf->ip_v == 4 ? 32 : 128;
    for (unsigned bit = 0; bit < 2 && len < max; bit++) {
        if (!nd->child[bit]) continue;
        uint8_t *b = &pf->addr[len / 8], m = (uint8_t)(0x80u >> (len % 8));
        *b = bit ? (uint8_t)(*b | m) : (uint8_t)(*b & ~m);
        pf->len = len + 1;
        collect(s, nd->child[bit], pf, out, cap, n);
        *b = (uint8_t)(*b & ~m);
        pf->len = len;
    }
}

size_t netset_prefixes(const netset *s, netset_prefix *out, size_t cap)
{
    size_t n = 0;
    if (!s) return 0;
    for (int v = 4; v <= 6; v += 2) {
        netset_prefix pf = {.ip_v = v};
        collect(s, v == 4 ? ROOT4 : ROOT6, &pf, out, cap, &n);
    }
    return n;
}
