/*
 * rules_fleet.c -- fleet-wide rule windows: a window declared with
 * {fleet = true} keeps its local window (window.c) and, when the host gave
 * a store (egret.h, egret_fleet_store), also
 *   - the increments of each (key, bucket) since the last sync (pending),
 *     sent by rules_fleet_sync once per tick interval, not per add;
 *   - per key, the fleet's sums at the last sync and the local sums then
 *     (cache): w:get returns fleet + (local now - local then), i.e. the
 *     fleet's total with this sensor's newer increments.  A key read before
 *     its first sync is synced at once (once per key, not per add): that
 *     sync reads back only such keys, not every key the tick re-reads.
 * Buckets are the local window's (packet time / bucket width), so the
 * store sums exactly the buckets the local window would.  When the store
 * is unreachable w:get falls back to the local sums (counted, logged once)
 * and the increments wait, bounded, for the store to return.
 */
#include "rules_int.h"

#include "egret.h"
#include "fnv.h"
#include "rules.h"

#include <stdlib.h>
#include <string.h>

#define PEND_MAX  16384 /* pending increments per window; beyond: counted, not sent */
#define PEND_LOOK 8     /* an add merges into one of the last few pending entries */

typedef struct pend {
    uint32_t koff, klen;
    uint64_t bucket;
    double vals[WINDOW_MAX_FIELDS];
} pend;

typedef struct cent {
    struct cent *next;
    uint64_t gen;        /* the sync that queries it */
    uint64_t touched_us; /* the last add: a key added to within the span is re-read each sync */
    bool valid;
    double total[WINDOW_MAX_FIELDS], local_at[WINDOW_MAX_FIELDS];
    uint32_t n_sensors;
    char sensor[EGRET_FLEET_SENSORS][64];
    double part[EGRET_FLEET_SENSORS];
    uint32_t klen;
    char key[]; /* klen bytes */
} cent;

struct fleet_win {
    pend *pend;
    size_t n_pend;
    char *arena;
    size_t arena_len, arena_cap;
    cent **tab;
    size_t tab_size, n_keys;
    uint64_t gen;
};

struct fleet_win *rules_fleet_win_new(void)
{
    struct fleet_win *fw = calloc(1, sizeof(*fw));
    if (!fw) return NULL;
    fw->tab_size = 1024;
    fw->tab = calloc(fw->tab_size, sizeof(*fw->tab));
    fw->pend = malloc(PEND_MAX * sizeof(*fw->pend));
    if (!fw->tab || !fw->pend) {
        rules_fleet_win_free(fw);
        return NULL;
    }
    return fw;
}

static void cache_clear(struct fleet_win *fw)
{
    for (size_t i = 0; i < fw->tab_size; i++) {
        for (cent *e = fw->tab[i], *nx; e; e = nx) {
            nx = e->next;
            free(e);
        }
        fw->tab[i] = NULL;
    }
    fw->n_keys = 0;
}

void rules_fleet_win_free(struct fleet_win *fw)
{
    if (!fw) return;
    if (fw->tab) cache_clear(fw);
    free(fw->tab);
    free(fw->pend);
    free(fw->arena);
    free(fw);
}

static size_t cache_slot(const struct fleet_win *fw, const char *k, size_t n)
{
    return fnv1a64(FNV1A64_INIT, k, n) & (fw->tab_size - 1);
}

/* Doubles the table when it holds more keys than slots: chains stay short
 * up to window_keys_cap (100,000 by default) instead of ~100 entries long
 * in a fixed 1,024 slots.  Out of memory: the chains just grow. */
static void cache_grow(struct fleet_win *fw)
{
    size_t old_size = fw->tab_size;
    cent **old = fw->tab, **nt = calloc(2 * old_size, sizeof(*nt));
    if (!nt) return;
    fw->tab = nt;
    fw->tab_size = 2 * old_size;
    for (size_t i = 0; i < old_size; i++)
        for (cent *e = old[i], *nx; e; e = nx) {
            nx = e->next;
            size_t b = cache_slot(fw, e->key, e->klen);
            e->next = nt[b];
            nt[b] = e;
        }
    free(old);
}

/* The key's cache entry; 'make': created (invalid) when absent. */
static cent *cache_find(struct rules *r, struct fleet_win *fw, const char *k, size_t n, bool make)
{
    size_t b = cache_slot(fw, k, n);
    for (cent *e = fw->tab[b]; e; e = e->next)
        if (e->klen == n && memcmp(e->key, k, n) == 0) return e;
    if (!make) return NULL;
    if (fw->n_keys >= r->cfg.window_keys_cap) { /* bounded: start over (counted) */
        cache_clear(fw);
        r->fleet_dropped++;
    }
    cent *e = calloc(1, sizeof(*e) + n);
    if (!e) return NULL;
    e->klen = (uint32_t)n;
    memcpy(e->key, k, n);
    e->next = fw->tab[b];
    fw->tab[b] = e;
    if (++fw->n_keys > fw->tab_size) cache_grow(fw);
    return e;
}

void rules_fleet_note_add(struct rules *r, rule_window *rw, const char *k, size_t n,
                          const double *vals, uint64_t now_us)
{
    struct fleet_win *fw = rw->fleet;
    uint64_t width = window_span_us(rw->w) / window_n_buckets(rw->w);
    uint64_t bucket = now_us / width;
    size_t lo = fw->n_pend > PEND_LOOK ? fw->n_pend - PEND_LOOK : 0;
    for (size_t i = fw->n_pend; i-- > lo;) {
        pend *p = &fw->pend[i];
        if (p->bucket == bucket && p->klen == n && memcmp(fw->arena + p->koff, k, n) == 0) {
            for (uint32_t f = 0; f < rw->n_fields; f++) p->vals[f] += vals[f];
            return;
        }
    }
    if (fw->n_pend >= PEND_MAX) {
        r->fleet_dropped++;
        return;
    }
    if (fw->arena_len + n > fw->arena_cap) {
        size_t cap = fw->arena_cap ? fw->arena_cap : 64 * 1024;
        while (cap < fw->arena_len + n) cap *= 2;
        char *na = realloc(fw->arena, cap);
        if (!na) {
            r->fleet_dropped++;
            return;
        }
        fw->arena = na;
        fw->arena_cap = cap;
    }
    pend *p = &fw->pend[fw->n_pend++];
    p->koff = (uint32_t)fw->arena_len;
    p->klen = (uint32_t)n;
    p->bucket = bucket;
    memcpy(p->vals, vals, sizeof(p->vals));
    memcpy(fw->arena + fw->arena_len, k, n);
    fw->arena_len += n;
    cent *e = cache_find(r, fw, k, n, true);
    if (e) {
        e->gen = fw->gen + 1; /* queried at the next sync */
        e->touched_us = now_us;
    }
}

static void fleet_sync(struct rules *r, uint64_t now_us, bool first_reads);

bool rules_fleet_get(lua_State *L, struct rules *r, rule_window *rw, const char *k, size_t n,
                     uint64_t now_us, double *out)
{
    if (r->fleet_down) return false;
    cent *e = cache_find(r, rw->fleet, k, n, false);
    /* A key never synced yet (its first add): one sync now, so that the
     * first read already sees the fleet; afterwards once per tick.  It
     * sends the pending increments but reads back only the keys never
     * synced: the keys the tick re-reads (every key touched within the
     * span) would make each new key cost a read of all of them. */
    if (e && !e->valid) {
        fleet_sync(r, now_us, true);
        e = cache_find(r, rw->fleet, k, n, false);
    }
    if (!e || !e->valid) return false;
    double own = out[0] - e->local_at[0];
    for (uint32_t f = 0; f < rw->n_fields; f++) out[f] = e->total[f] + (out[f] - e->local_at[f]);
    const char *me = rules_fleet_sensor(r);
    lua_createtable(L, 0, (int)e->n_sensors + 1);
    bool mine = false;
    for (uint32_t i = 0; i < e->n_sensors; i++) {
        bool is_me = strcmp(e->sensor[i], me) == 0;
        mine |= is_me;
        lua_pushnumber(L, e->part[i] + (is_me ? own : 0));
        lua_setfield(L, -2, e->sensor[i]);
    }
    if (!mine && own != 0 && me[0]) {
        lua_pushnumber(L, own);
        lua_setfield(L, -2, me);
    }
    return true;
}

const char *rules_fleet_sensor(const struct rules *r)
{
    return r->cfg.fleet && r->cfg.fleet->sensor ? r->cfg.fleet->sensor : "";
}

static void fleet_state(struct rules *r, bool ok)
{
    if (!ok && !r->fleet_down) {
        r->fleet_down = true;
        r->fleet_fallbacks++;
        if (!r->fleet_warned)
            rules_logf(r, 1,
                       "window store unreachable: fleet-wide rule windows use their local "
                       "windows until it answers again");
        r->fleet_warned = true;
    } else if (ok && r->fleet_down) {
        r->fleet_down = false;
        rules_logf(r, 2, "window store answers again: fleet-wide rule windows are shared");
    }
}

/* Read back at this sync: added to since the last one, or within the
 * span (the other sensors' adds move its sum while this one is quiet);
 * 'first_reads': only the keys never synced. */
static bool wanted(const cent *e, const struct fleet_win *fw, uint64_t span, uint64_t now_us,
                   bool first_reads)
{
    if (first_reads) return !e->valid;
    return e->gen > fw->gen || (e->valid && e->touched_us + span > now_us);
}

void rules_fleet_sync(struct rules *r, uint64_t now_us)
{
    fleet_sync(r, now_us, false);
}

static void fleet_sync(struct rules *r, uint64_t now_us, bool first_reads)
{
    const egret_fleet_store *st = r ? r->cfg.fleet : NULL;
    if (!st || !st->sync) return;
    size_t nd = 0, nq = 0;
    for (size_t i = 0; i < r->n_files; i++)
        for (size_t k = 0; k < r->files[i]->n_wins; k++) {
            rule_window *rw = &r->files[i]->wins[k];
            if (!rw->fleet) continue;
            nd += rw->fleet->n_pend;
            uint64_t span = window_span_us(rw->w);
            for (size_t b = 0; b < rw->fleet->tab_size; b++)
                for (cent *e = rw->fleet->tab[b]; e; e = e->next)
                    nq += wanted(e, rw->fleet, span, now_us, first_reads);
        }
    if (nd == 0 && nq == 0) return;
    egret_fleet_delta *d = malloc((nd ? nd : 1) * sizeof(*d));
    egret_fleet_query *q = malloc((nq ? nq : 1) * sizeof(*q));
    cent **qe = malloc((nq ? nq : 1) * sizeof(*qe));
    rule_window **qw = malloc((nq ? nq : 1) * sizeof(*qw));
    if (!d || !q || !qe || !qw) goto out;
    nd = nq = 0;
    for (size_t i = 0; i < r->n_files; i++)
        for (size_t k = 0; k < r->files[i]->n_wins; k++) {
            rule_window *rw = &r->files[i]->wins[k];
            struct fleet_win *fw = rw->fleet;
            if (!fw) continue;
            uint64_t span = window_span_us(rw->w), width = span / window_n_buckets(rw->w);
            for (size_t p = 0; p < fw->n_pend; p++) {
                egret_fleet_delta *x = &d[nd++];
                x->window = rw->name;
                x->key = fw->arena + fw->pend[p].koff;
                x->key_len = fw->pend[p].klen;
                x->bucket = fw->pend[p].bucket;
                x->span_us = span;
                x->n_fields = rw->n_fields;
                memcpy(x->vals, fw->pend[p].vals, sizeof(x->vals));
            }
            for (size_t b = 0; b < fw->tab_size; b++)
                for (cent *e = fw->tab[b]; e; e = e->next) {
                    if (!wanted(e, fw, span, now_us, first_reads)) continue;
                    egret_fleet_query *x = &q[nq];
                    memset(x, 0, sizeof(*x));
                    x->window = rw->name;
                    x->key = e->key;
                    x->key_len = e->klen;
                    x->bucket_now = now_us / width;
                    x->n_buckets = window_n_buckets(rw->w);
                    x->n_fields = rw->n_fields;
                    qe[nq] = e;
                    qw[nq++] = rw;
                }
        }
    r->fleet_syncs++;
    if (st->sync(st->ud, d, nd, q, nq) != 0) {
        r->fleet_failures++;
        fleet_state(r, false); /* the increments wait (bounded) for the store */
        goto out;
    }
    fleet_state(r, true);
    for (size_t i = 0; i < nq; i++) {
        cent *e = qe[i];
        double local[WINDOW_MAX_FIELDS];
        window_get(qw[i]->w, e->key, e->klen, now_us, local, NULL);
        memcpy(e->total, q[i].total, sizeof(e->total));
        memcpy(e->local_at, local, sizeof(e->local_at));
        e->n_sensors = q[i].n_sensors > EGRET_FLEET_SENSORS ? EGRET_FLEET_SENSORS : q[i].n_sensors;
        memcpy(e->sensor, q[i].sensor, sizeof(e->sensor));
        memcpy(e->part, q[i].part, sizeof(e->part));
        e->valid = true;
    }
    for (size_t i = 0; i < r->n_files; i++)
        for (size_t k = 0; k < r->files[i]->n_wins; k++) {
            struct fleet_win *fw = r->files[i]->wins[k].fleet;
            if (!fw) continue;
            fw->n_pend = 0;
            fw->arena_len = 0;
            fw->gen++;
        }
out:
    free(d);
    free(q);
    free(qe);
    free(qw);
}

bool rules_fleet_claimed_elsewhere(struct rules *r, rule_def *d, const char *key, uint64_t now_us,
                                   double period_s)
{
    const egret_fleet_store *st = r->cfg.fleet;
    if (!st || !st->claim || !d->fleet || !key || r->fleet_down) return false;
    r->fleet_claims++;
    int c = st->claim(st->ud, d->sid, key, strlen(key), now_us, to_us(period_s));
    if (c < 0) {
        fleet_state(r, false);
        return false;
    }
    if (c == 0) r->fleet_claims_lost++;
    return c == 0;
}
