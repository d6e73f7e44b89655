/*
 * netset.h -- sets of IPv4/IPv6 prefixes with longest-prefix match.
 *
 * The one CIDR implementation: --home-net, the AI catalog's published IP
 * ranges and the rules' egret.ip_in.  Each prefix carries an integer
 * value; lookup returns the value of the longest matching prefix.  A
 * binary trie per family: lookup is O(prefix bits), no allocation.
 */
#ifndef EGRET_NETSET_H
#define EGRET_NETSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct netset netset;

netset *netset_new(void);
void netset_free(netset *s); /* accepts NULL */

/* Adds "a.b.c.d/len", "a.b.c.d", "2001:db8::/32" or "::1" (surrounding
 * blanks ignored; a bare address is a host prefix).  Host bits are masked
 * off.  A later add of the same prefix replaces the value.  Returns 0, or
 * -1 with a message in err (may be NULL), e.g.
 * "bad CIDR '10.0.0.0/33': prefix length 33 > 32". */
int netset_add(netset *s, const char *cidr, int value, char *err, size_t errlen);

/* Adds a comma-separated list (blanks around items allowed; an empty item
 * or an empty list is an error).  All items are checked before any is
 * added, so on a parse error the set is unchanged.  Returns 0 or -1. */
int netset_add_list(netset *s, const char *list, int value, char *err, size_t errlen);

/* ip_v is 4 or 6; addr as in dec_pkt (IPv4 in the first 4 bytes).
 * Returns true and sets *value (may be NULL) on a match. */
bool netset_lookup(const netset *s, int ip_v, const uint8_t *addr, int *value);

size_t netset_count(const netset *s);

/* One prefix of a set, as netset_prefixes lists it. */
typedef struct netset_prefix {
    int ip_v;         /* 4 or 6 */
    uint8_t addr[16]; /* network address, host bits clear (IPv4 in the first 4) */
    unsigned len;     /* prefix length */
    int value;
} netset_prefix;

/* Why CIDR text did not parse (netset_parse). */
typedef enum netset_perr {
    NETSET_OK = 0,
    NETSET_EMPTY,    /* no text */
    NETSET_TOO_LONG, /* longer than any address with a prefix length */
    NETSET_NO_ADDR,  /* nothing before the '/' */
    NETSET_BAD_ADDR, /* not an address of the family tried (out->ip_v: 6 when it has ':') */
    NETSET_BAD_LEN,  /* the prefix length is not 1 to 3 digits */
    NETSET_LONG_LEN, /* the prefix length is over 32 or 128 (out->len holds it) */
} netset_perr;

/* Parses "addr[/len]" in s[0..n), exactly: no blanks, no "10/8" shorthand
 * (inet_pton's forms); a bare address is a host prefix.  On NETSET_OK,
 * *out is the prefix with host bits cleared (value 0), and *host_bits (may
 * be NULL) tells whether the text had any set.  The one CIDR parser: its
 * callers word their own messages from the result. */
netset_perr netset_parse(const char *s, size_t n, netset_prefix *out, bool *host_bits);

/* Adds a parsed prefix with its value p->value (same rules as netset_add). */
int netset_add_prefix(netset *s, const netset_prefix *p, char *err, size_t errlen);

/* Lists the set's prefixes (IPv4 first, each family in address order)
 * into out[0..cap); returns how many there are (more than cap: only cap
 * were written). */
size_t netset_prefixes(const netset *s, netset_prefix *out, size_t cap);

#endif /* EGRET_NETSET_H */
