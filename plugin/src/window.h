/*
 * window.h -- keyed sliding-window counters (native aggregation for rules).
 *
 * A window sums up to WINDOW_MAX_FIELDS numeric fields per key over the
 * last 'span' of packet time.  Each key owns a ring of n_buckets time
 * buckets (bucket width = span / n_buckets), so a sum is exact to one
 * bucket width.  Keys live in a chained hash table with an LRU list; the
 * number of keys is capped: adding a key at the cap first drops expired
 * keys, then evicts the least recently updated one (counted).  Time is
 * packet time and treated as monotonic per window (an older timestamp is
 * read as the newest seen).  No Lua here; rules_window.c wraps it.
 */
#ifndef EGRET_WINDOW_H
#define EGRET_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WINDOW_MAX_FIELDS  8
#define WINDOW_MAX_BUCKETS 3600
#define WINDOW_MAX_KEY     256

typedef struct window window;

typedef struct window_stats {
    uint64_t keys;      /* live keys now */
    uint64_t adds;      /* window_add calls that landed */
    uint64_t evictions; /* live keys dropped because of the cap */
    uint64_t expired;   /* keys dropped because nothing was left in the window */
    uint64_t refused;   /* adds refused (key too long, out of memory) */
} window_stats;

/* Extra facts about one key's window. */
typedef struct window_info {
    uint64_t first_us;       /* start of the oldest non-empty bucket in the window */
    uint64_t last_us;        /* time of the last add */
    uint32_t active_buckets; /* buckets with any add in the window */
} window_info;

/* span_us >= n_buckets; 1 <= n_buckets <= WINDOW_MAX_BUCKETS;
 * 1 <= n_fields <= WINDOW_MAX_FIELDS; cap >= 1.  NULL on bad arguments
 * or allocation failure. */
window *window_new(uint64_t span_us, uint32_t n_buckets, uint32_t n_fields, size_t cap);
void window_free(window *w); /* accepts NULL */

/* Adds vals[0..n_fields) to the key's bucket for now_us.  Allocates only
 * for a new key.  Returns 0, or -1 (key longer than WINDOW_MAX_KEY, or no
 * memory; counted in 'refused'). */
int window_add(window *w, const void *key, size_t klen, const double *vals, uint64_t now_us);

/* Writes the sums over (now - span, now] into out[0..n_fields).  Returns
 * false (out zeroed) when the key is unknown or nothing is in the window.
 * 'info' may be NULL. */
bool window_get(window *w, const void *key, size_t klen, uint64_t now_us, double *out,
                window_info *info);

/* Writes field 'field' of each bucket in the window, oldest first, into
 * out[0..n_buckets).  Returns the number written (0 for an unknown key). */
size_t window_series(window *w, const void *key, size_t klen, uint64_t now_us, uint32_t field,
                     double *out, size_t n);

/* Drops keys with nothing left in the window. */
void window_expire(window *w, uint64_t now_us);

void window_get_stats(const window *w, window_stats *s);
uint64_t window_span_us(const window *w);
uint32_t window_n_buckets(const window *w);
uint32_t window_n_fields(const window *w);

#endif /* EGRET_WINDOW_H */
