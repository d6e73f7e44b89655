/*
 * netset.h -- sets of IPv4/IPv6 prefixes with longest-prefix match.
 *
 * Used for --home-net and (later) published AI IP ranges.  Each prefix
 * carries an integer value; lookup returns the value of the longest
 * matching prefix.  A binary trie per family: lookup is O(prefix bits),
 * no allocation.
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

/* Lists the set's prefixes (IPv4 first, each family in address order)
 * into out[0..cap); returns how many there are (more than cap: only cap
 * were written). */
size_t netset_prefixes(const netset *s, netset_prefix *out, size_t cap);

#endif /* EGRET_NETSET_H */
