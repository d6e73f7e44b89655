/*
 * dnscache.h -- per-client memory of DNS answers, for attributing flows that
 * carry no name (no SNI, ECH outer name, plain IP).
 *
 * Remembers "client C resolved NAME to address A" and answers "which name did
 * C last resolve to A?".  CNAME chains map back to the name the client asked
 * for: query api.openai.com -> CNAME edge.example.net -> A 198.51.100.10 gives
 * lookup(C, 198.51.100.10) = "api.openai.com".  Keys include the client, so
 * one host's lookups never attribute another host's flows.
 *
 * Lifetimes: a record lives for its TTL clamped to [DNSCACHE_TTL_MIN_S,
 * DNSCACHE_TTL_MAX_S].  The floor keeps a mapping alive for connections that
 * start a little after a very short (0-20 s CDN) TTL, as stub resolvers and
 * browsers reuse answers past it; the ceiling bounds how long a stale mapping
 * can mis-attribute an address the CDN has since given to someone else.
 *
 * Bounds: one preallocated slab of 'max_entries' records (addresses and CNAMEs
 * together), a fixed bucket array and an age list.  When full, the oldest
 * (least recently added or refreshed) record is evicted.  No allocation after
 * dnscache_new(); time is packet time in microseconds.
 */
#ifndef EGRET_DNSCACHE_H
#define EGRET_DNSCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSCACHE_TTL_MIN_S       30u
#define DNSCACHE_TTL_MAX_S       86400u
#define DNSCACHE_DEFAULT_ENTRIES 8192u
#define DNSCACHE_NAME_MAX        253u /* names are stored lowercase, no trailing dot */
#define DNSCACHE_CHAIN_MAX       8u   /* CNAME hops followed back to the query name */

typedef struct dnscache dnscache;

typedef struct dnscache_stats {
    uint64_t entries;   /* records held now (addresses + CNAMEs) */
    uint64_t capacity;  /* max_entries */
    uint64_t inserts;   /* successful adds, refreshes included */
    uint64_t evictions; /* live records dropped because the cache was full */
    uint64_t expired;   /* records dropped after their TTL */
    uint64_t hits;      /* lookups that returned a name */
    uint64_t misses;    /* lookups that did not */
    uint64_t rejected;  /* adds refused: bad name, bad address family */
} dnscache_stats;

/* max_entries 0 means DNSCACHE_DEFAULT_ENTRIES.  Each record takes about
 * 600 bytes.  Returns NULL when out of memory. */
dnscache *dnscache_new(size_t max_entries);
void dnscache_free(dnscache *dc); /* accepts NULL */

/* Records that the client (client_v 4 or 6, address in network order, 4 or
 * 16 bytes) received an A/AAAA answer 'answer' for 'name'.  If 'name' is the
 * target of a CNAME this client was given, the stored name is the one at the
 * start of the chain, so add the CNAMEs of an answer section first (the order
 * they appear in).  A repeated (client, answer) replaces the name and TTL.
 * 'name' is a NUL-terminated presentation name; a trailing dot is dropped and
 * it is lowercased.  Returns 0, or -1 (counted in 'rejected') for a name that
 * is empty, over 253 characters, has an empty label or bytes outside '!'..'~',
 * or an ip version other than 4/6. */
int dnscache_add(dnscache *dc, int client_v, const uint8_t *client, const char *name, int answer_v,
                 const uint8_t *answer, uint32_t ttl_s, uint64_t now_us);

/* Records "alias is a CNAME for target" as seen by the client.  Returns 0 or
 * -1 as dnscache_add. */
int dnscache_add_cname(dnscache *dc, int client_v, const uint8_t *client, const char *alias,
                       const char *target, uint32_t ttl_s, uint64_t now_us);

/* Which name did this client resolve to server_addr?  On a hit copies the name
 * (NUL-terminated, truncated to name_len - 1) and returns true.  An expired
 * record is dropped and counts as a miss.  No allocation. */
bool dnscache_lookup(dnscache *dc, int client_v, const uint8_t *client, int server_v,
                     const uint8_t *server, uint64_t now_us, char *name_out, size_t name_len);

/* Drops every expired record (O(max_entries); for an occasional timer tick).
 * Returns how many were dropped. */
size_t dnscache_expire(dnscache *dc, uint64_t now_us);

void dnscache_get_stats(const dnscache *dc, dnscache_stats *out);

#endif /* EGRET_DNSCACHE_H */
