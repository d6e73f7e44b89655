/*
 * window.c -- keyed sliding-window counters (see window.h).
 *
 * Each entry is one allocation: header, then n_buckets epochs (bucket
 * index + 1; 0 = empty), then n_buckets * n_fields sums, then the key.
 * A bucket whose epoch is not within the last n_buckets indices is stale
 * and is zeroed when reused.  The hash table doubles when the load
 * passes 1; the LRU list has the most recently updated entry at the head.
 */
#include "window.h"
#include "fnv.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

typedef struct went {
    struct went *hnext;    /* hash chain */
    TAILQ_ENTRY(went) lru; /* LRU list, head = most recent */
    uint64_t last_us;
    uint32_t hash;
    uint32_t klen;
    uint64_t data[]; /* epochs[nb], sums[nb * nf] (doubles), key bytes */
} went;

struct window {
    uint64_t span_us, width_us, now_max;
    uint32_t nb, nf;
    size_t cap;
    went **tab;
    size_t tab_size; /* power of two */
    TAILQ_HEAD(went_list, went) lru;
    window_stats st;
};

static uint32_t hash_key(const void *key, size_t n)
{
    return fnv1a32(FNV1A32_INIT, key, n);
}

static uint64_t *ent_epochs(went *e)
{
    return e->data;
}

static double *ent_sums(const window *w, went *e)
{
    return (double *)(void *)(e->data + w->nb);
}

static char *ent_key(const window *w, went *e)
{
    return (char *)(e->data + w->nb + (size_t)w->nb * w->nf);
}

window *window_new(uint64_t span_us, uint32_t n_buckets, uint32_t n_fields, size_t cap)
{
    if (n_buckets < 1 || n_buckets > WINDOW_MAX_BUCKETS || n_fields < 1 ||
        n_fields > WINDOW_MAX_FIELDS || span_us < n_buckets || cap < 1)
        return NULL;
    window *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->span_us = span_us;
    w->width_us = span_us / n_buckets;
    w->nb = n_buckets;
    w->nf = n_fields;
    w->cap = cap;
    w->tab_size = 64;
    w->tab = calloc(w->tab_size, sizeof(*w->tab));
    if (!w->tab) {
        free(w);
        return NULL;
    }
    TAILQ_INIT(&w->lru);
    return w;
}

void window_free(window *w)
{
    if (!w) return;
    went *e;
    while ((e = TAILQ_FIRST(&w->lru))) {
        TAILQ_REMOVE(&w->lru, e, lru);
        free(e);
    }
    free(w->tab);
    free(w);
}

static went **find_slot(window *w, const void *key, size_t klen, uint32_t h)
{
    went **pp = &w->tab[h & (w->tab_size - 1)];
    for (; *pp; pp = &(*pp)->hnext)
        if ((*pp)->hash == h && (*pp)->klen == klen && memcmp(ent_key(w, *pp), key, klen) == 0)
            return pp;
    return pp;
}

static went *lru_oldest(window *w)
{
    return TAILQ_LAST(&w->lru, went_list);
}

/* Unlinks e from the table and the list and frees it. */
static void drop(window *w, went *e)
{
    went **pp = &w->tab[e->hash & (w->tab_size - 1)];
    while (*pp != e) pp = &(*pp)->hnext;
    *pp = e->hnext;
    TAILQ_REMOVE(&w->lru, e, lru);
    free(e);
    w->st.keys--;
}

static void grow(window *w)
{
    size_t nsize = w->tab_size * 2;
    went **nt = calloc(nsize, sizeof(*nt));
    if (!nt) return; /* keep the longer chains */
    for (size_t i = 0; i < w->tab_size; i++) {
        went *e = w->tab[i];
        while (e) {
            went *n = e->hnext;
            e->hnext = nt[e->hash & (nsize - 1)];
            nt[e->hash & (nsize - 1)] = e;
            e = n;
        }
    }
    free(w->tab);
    w->tab = nt;
    w->tab_size = nsize;
}

static uint64_t clamp_now(window *w, uint64_t now_us)
{
    if (now_us < w->now_max) return w->now_max;
    w->now_max = now_us;
    return now_us;
}

static bool expired(const window *w, const went *e, uint64_t now_us)
{
    /* The newest bucket of e fell out of (now - span, now]. */
    uint64_t idx_now = now_us / w->width_us;
    uint64_t idx_last = e->last_us / w->width_us;
    return idx_now >= idx_last + w->nb;
}

void window_expire(window *w, uint64_t now_us)
{
    now_us = clamp_now(w, now_us);
    went *e;
    while ((e = lru_oldest(w)) && expired(w, e, now_us)) {
        drop(w, e);
        w->st.expired++;
    }
}

int window_add(window *w, const void *key, size_t klen, const double *vals, uint64_t now_us)
{
    if (klen > WINDOW_MAX_KEY) {
        w->st.refused++;
        return -1;
    }
    now_us = clamp_now(w, now_us);
    uint32_t h = hash_key(key, klen);
    went **pp = find_slot(w, key, klen, h);
    went *e = *pp;
    if (!e) {
        if (w->st.keys >= w->cap) {
            window_expire(w, now_us);
            if (w->st.keys >= w->cap) {
                drop(w, lru_oldest(w));
                w->st.evictions++;
            }
            pp = find_slot(w, key, klen, h); /* the chain may have changed */
        }
        size_t sz = sizeof(went) + sizeof(uint64_t) * (w->nb + (size_t)w->nb * w->nf) + klen;
        e = calloc(1, sz);
        if (!e) {
            w->st.refused++;
            return -1;
        }
        e->hash = h;
        e->klen = (uint32_t)klen;
        memcpy(ent_key(w, e), key, klen);
        *pp = e;
        w->st.keys++;
        TAILQ_INSERT_HEAD(&w->lru, e, lru);
        if (w->st.keys > w->tab_size) grow(w);
    } else if (e != TAILQ_FIRST(&w->lru)) {
        TAILQ_REMOVE(&w->lru, e, lru);
        TAILQ_INSERT_HEAD(&w->lru, e, lru);
    }
    uint64_t idx = now_us / w->width_us;
    uint32_t slot = (uint32_t)(idx % w->nb);
    uint64_t *ep = ent_epochs(e);
    double *sums = ent_sums(w, e) + (size_t)slot * w->nf;
    if (ep[slot] != idx + 1) {
        ep[slot] = idx + 1;
        memset(sums, 0, sizeof(double) * w->nf);
    }
    for (uint32_t f = 0; f < w->nf; f++) sums[f] += vals[f];
    e->last_us = now_us;
    w->st.adds++;
    return 0;
}

static went *lookup(window *w, const void *key, size_t klen)
{
    if (klen > WINDOW_MAX_KEY) return NULL;
    return *find_slot(w, key, klen, hash_key(key, klen));
}

/* True when bucket slot of e holds data inside the window ending at idx_now. */
static bool live_slot(const window *w, went *e, uint32_t slot, uint64_t idx_now)
{
    uint64_t ep = ent_epochs(e)[slot];
    return ep != 0 && ep - 1 <= idx_now && ep - 1 + w->nb > idx_now;
}

bool window_get(window *w, const void *key, size_t klen, uint64_t now_us, double *out,
                window_info *info)
{
    memset(out, 0, sizeof(double) * w->nf);
    if (info) memset(info, 0, sizeof(*info));
    now_us = clamp_now(w, now_us);
    went *e = lookup(w, key, klen);
    if (!e) return false;
    uint64_t idx_now = now_us / w->width_us;
    uint64_t oldest = UINT64_MAX;
    uint32_t active = 0;
    for (uint32_t s = 0; s < w->nb; s++) {
        if (!live_slot(w, e, s, idx_now)) continue;
        const double *sums = ent_sums(w, e) + (size_t)s * w->nf;
        for (uint32_t f = 0; f < w->nf; f++) out[f] += sums[f];
        active++;
        if (ent_epochs(e)[s] - 1 < oldest) oldest = ent_epochs(e)[s] - 1;
    }
    if (info && active) {
        info->first_us = oldest * w->width_us;
        info->last_us = e->last_us;
        info->active_buckets = active;
    }
    return active > 0;
}

size_t window_series(window *w, const void *key, size_t klen, uint64_t now_us, uint32_t field,
                     double *out, size_t n)
{
    now_us = clamp_now(w, now_us);
    went *e = lookup(w, key, klen);
    if (!e || field >= w->nf) return 0;
    uint64_t idx_now = now_us / w->width_us;
    size_t k = 0;
    for (uint32_t i = 0; i < w->nb && k < n; i++) {
        /* oldest first: bucket index idx_now - (nb - 1) + i */
        if (idx_now + 1 + i < w->nb) {
            out[k++] = 0; /* before time zero */
            continue;
        }
        uint64_t idx = idx_now + 1 + i - w->nb;
        uint32_t slot = (uint32_t)(idx % w->nb);
        out[k++] =
            ent_epochs(e)[slot] == idx + 1 ? ent_sums(w, e)[(size_t)slot * w->nf + field] : 0;
    }
    return k;
}

void window_get_stats(const window *w, window_stats *s)
{
    *s = w->st;
}

uint64_t window_span_us(const window *w)
{
    return w->span_us;
}

uint32_t window_n_buckets(const window *w)
{
    return w->nb;
}

uint32_t window_n_fields(const window *w)
{
    return w->nf;
}
