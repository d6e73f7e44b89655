/*
 * workers_chunks.c -- reading the input into chunks: every packet listed
 * in the part of the worker whose shard it is, with the ticks in between
 * in every part (see workers.c for the design).
 */
#include "keylogs.h"
#include "workers_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_BATCH 16 /* live packets read per call (bounds a chunk's copy) */

/* ==== building chunks ==== */

/* Appends the copy of a packet libpcap handed out; its offset in the
 * slot's copy, or UINT64_MAX when out of memory. */
static uint64_t chunk_copy(struct chunk *k, const uint8_t *data, uint32_t caplen)
{
    /* A zero-length record may come with no data and no buffer yet:
     * memcpy from NULL is undefined even for 0 bytes (UBSan says so). */
    if (caplen == 0) return k->copy_len;
    if (k->copy_len + caplen > k->copy_cap) {
        size_t cap = k->copy_cap ? k->copy_cap : CHUNK_COPY + CAP_SNAPLEN;
        while (cap < k->copy_len + caplen) cap *= 2;
        uint8_t *nb = realloc(k->copy, cap);
        if (!nb) return UINT64_MAX;
        k->copy = nb;
        k->copy_cap = cap;
    }
    memcpy(k->copy + k->copy_len, data, caplen);
    k->copy_len += caplen;
    return k->copy_len - caplen;
}

/* Appends an entry to a worker's part of a chunk; false when out of
 * memory.  A part keeps its room from chunk to chunk. */
static bool part_push(part *p, pent e)
{
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? 2 * p->cap : 64;
        pent *ne = realloc(p->e, (size_t)cap * sizeof(*ne));
        if (!ne) return false;
        p->e = ne;
        p->cap = cap;
    }
    p->e[p->n++] = e;
    return true;
}

/* A tick for every worker. */
static bool tick_all(struct workers *ws, struct chunk *k, uint64_t ts)
{
    for (int i = 0; i < ws->n; i++)
        if (!part_push(&k->parts[i], (pent){0, ts, PENT_TICK, 0})) return false;
    return true;
}

/* Live: a wall-clock tick (never behind the latest packet), with the
 * capture counters before it, at every idle timeout ('idle') and at least
 * once a second. */
static bool live_tick(struct workers *ws, struct rsrc *s, struct chunk *k, bool idle)
{
    uint64_t now = wk_wall_usec();
    if (!idle && now - s->last_wall < WALL_TICK_US && now >= s->last_wall) return true;
    s->last_wall = now;
    uint64_t *st = k->stats;
    if (cap_stats(s->cap, &st[0], &st[1], &st[2]) == 0 &&
        !part_push(&k->parts[0], (pent){0, 0, PENT_STATS, 0}))
        return false;
    return tick_all(ws, k, now > s->last_ts ? now : s->last_ts);
}

/* A chunk being built: chunk_add's state. */
struct build {
    struct workers *ws;
    worker *w;
    struct rsrc *s;
    struct chunk *k;
    const uint8_t *first, *last_end; /* the packets' span (see chunk_run) */
    bool oom;
};

/* Appends one packet to the chunk being built (a cap_handler). */
static void chunk_add(void *ud, const cap_packet *pkt)
{
    struct build *b = ud;
    struct workers *ws = b->ws;
    struct rsrc *s = b->s;
    struct chunk *k = b->k;
    if (b->oom) return;
    uint64_t tick = wk_clock_step(&ws->clock, pkt->ts_usec);
    uint64_t off = (uintptr_t)pkt->data;
    if (s->copy) off = chunk_copy(k, pkt->data, pkt->caplen);
    if (pkt->linktype != s->linktype) { /* pcapng: another interface's type, for every worker */
        for (int i = 0; i < ws->n && !b->oom; i++)
            if (!part_push(&k->parts[i], (pent){0, 0, PENT_LINKTYPE, (uint32_t)pkt->linktype}))
                b->oom = true;
        s->linktype = pkt->linktype;
        if (b->oom) return;
    }
    uint32_t own =
        egret_engine_shard(b->w->eng, pkt->linktype, pkt->data, pkt->caplen) % (uint32_t)ws->n;
    if (off == UINT64_MAX || (tick && !tick_all(ws, k, tick)) ||
        !part_push(&k->parts[own], (pent){off, pkt->ts_usec, pkt->caplen, pkt->len})) {
        b->oom = true;
        return;
    }
    if (!b->first) b->first = pkt->data;
    if (!s->copy) k->first = b->first;
    b->last_end = pkt->data + pkt->caplen;
    if (pkt->ts_usec > s->last_ts) s->last_ts = pkt->ts_usec;
    k->pkts++;
    k->bytes += pkt->caplen;
}

/* Reads packets into the chunk until it is full, the input ends or -- a
 * live capture -- nothing more is buffered.  Returns false, with nothing
 * read, when a live capture has nothing buffered and 'may_wait' is false;
 * sets *idle when a live capture's wait timed out. */
static bool chunk_fill(struct build *b, bool may_wait, bool *idle)
{
    struct rsrc *s = b->s;
    struct chunk *k = b->k;
    while (k->pkts < CHUNK_PKTS && k->copy_len < CHUNK_COPY && !b->oom) {
        int rc;
        if (s->live) { /* in place from the kernel's ring, a few at a time (copy bound) */
            int max =
                (int)(CHUNK_PKTS - k->pkts) < LIVE_BATCH ? (int)(CHUNK_PKTS - k->pkts) : LIVE_BATCH;
            rc = cap_dispatch(s->cap, max, false, chunk_add, b);
            if (rc == CAP_TIMEOUT) {
                if (k->pkts) break;          /* publish what there is */
                if (!may_wait) return false; /* nothing read: the slot stays free */
                rc = cap_dispatch(s->cap, max, true, chunk_add, b);
                if (rc == CAP_TIMEOUT) {
                    *idle = true;
                    break;
                }
            }
            if (rc > 0) continue;
        } else {
            cap_packet pkt;
            rc = cap_next(s->cap, &pkt);
            unsigned ev = cap_take_events(s->cap); /* worker 0 counts them, as capture stats */
            if ((k->pkts & 63) == 0)               /* as main.c does */
                keylogs_take_secrets(b->ws->cfg.tls_keylog, s->cap, &s->secrets_used, "pcapng");
            if (ev && !part_push(&k->parts[0], (pent){0, 0, PENT_FILEEV, ev})) b->oom = true;
            if (rc == CAP_PACKET) {
                chunk_add(b, &pkt);
                continue;
            }
        }
        s->status = rc == CAP_ERROR ? CAP_ERROR : CAP_EOF; /* CAP_EBREAK: a stop */
        if (rc == CAP_ERROR) snprintf(s->err, sizeof(s->err), "%s", cap_geterr(s->cap));
        s->ended = true;
        break;
    }
    return true;
}

/* Under build_mu: reads the next chunk of the current input with worker
 * w's engine (for the shard) and publishes it.  False when there is
 * nothing to build (no input, or it has ended), its slot is still in use,
 * or -- 'may_wait' false -- a live capture has nothing buffered. */
static bool chunk_build(struct workers *ws, worker *w, bool may_wait)
{
    struct rsrc *s = ws->cur;
    uint64_t c = atomic_load_explicit(&ws->built, memory_order_relaxed);
    if (!s || s->ended || (s->main_only && w->id != 0)) return false;
    uint64_t low = wk_min_done(ws);
    if (c - low >= CHUNK_SLOTS) return false; /* the slowest worker holds the slot */
    if (!s->copy && low < c) {                /* pages before the slowest worker's chunk can go */
        const struct chunk *old = &ws->chunks[low % CHUNK_SLOTS];
        if (old->src == s && old->first) cap_keep_from(s->cap, old->first);
    }
    struct chunk *k = &ws->chunks[c % CHUNK_SLOTS];
    k->src = s;
    k->last = false;
    k->linktype = s->linktype;
    k->pkts = 0;
    k->bytes = 0;
    for (int i = 0; i < ws->n; i++) k->parts[i].n = 0;
    k->first = NULL;
    k->copy_len = 0;
    struct build b = {ws, w, s, k, NULL, NULL, false};
    bool idle = false;
    if (!chunk_fill(&b, may_wait, &idle)) return false;
    if (s->live && !s->ended && !b.oom && !live_tick(ws, s, k, idle)) b.oom = true;
    if (b.oom) { /* the chunk goes out with what it has; the input ends here */
        s->status = CAP_ERROR;
        snprintf(s->err, sizeof(s->err), "workers: out of memory");
        s->ended = true;
    }
    k->last = s->ended;
    /* see chunk_run; libpcap's stream reader reuses one buffer: no stretch */
    if ((!s->copy || s->live) && b.first && b.last_end > b.first) {
        atomic_store_explicit(&ws->walk_at, (uintptr_t)b.last_end, memory_order_relaxed);
        atomic_store_explicit(&ws->walk_span, (size_t)(b.last_end - b.first), memory_order_relaxed);
    } else {
        atomic_store_explicit(&ws->walk_at, 0, memory_order_relaxed);
    }
    atomic_store_explicit(&ws->built, c + 1, memory_order_release);
    wk_bump(ws);
    return true;
}

/* The next chunk for worker w, built by w if no one has; NULL at the end
 * of input, or on a stop once the chunks already built are done (what was
 * read before the stop is processed by every worker), or at once when the
 * workers are being freed. */
struct chunk *wk_chunk_next(struct workers *ws, worker *w)
{
    uint64_t c = atomic_load_explicit(&w->done, memory_order_relaxed);
    unsigned spins = 0;
    for (;;) {
        if (atomic_load_explicit(&ws->abort, memory_order_relaxed) ||
            atomic_load_explicit(&ws->fan, memory_order_acquire))
            return NULL; /* kernel fanout: each worker reads its own capture */
        uint64_t seen = atomic_load(&ws->gen);
        uint64_t b = atomic_load_explicit(&ws->built, memory_order_acquire);
        if (c < b) { /* the worker ahead keeps CHUNK_AHEAD chunks built */
            if (b - c < CHUNK_AHEAD && !wk_stopped(ws) &&
                pthread_mutex_trylock(&ws->build_mu) == 0) {
                if (atomic_load_explicit(&ws->built, memory_order_relaxed) - c < CHUNK_AHEAD)
                    (void)chunk_build(ws, w, false); /* a live capture: what is buffered */
                pthread_mutex_unlock(&ws->build_mu);
            }
            return &ws->chunks[c % CHUNK_SLOTS];
        }
        if (wk_stopped(ws)) return NULL;
        if (pthread_mutex_trylock(&ws->build_mu) == 0) {
            bool built = c < atomic_load_explicit(&ws->built, memory_order_relaxed) ||
                         chunk_build(ws, w, true);
            bool end = !built && ws->input_done && (!ws->cur || ws->cur->ended);
            pthread_mutex_unlock(&ws->build_mu);
            if (built) continue;
            if (end) return NULL;
            wk_batch_flush(w);     /* nothing to do: records go out now */
            wk_wait_gen(ws, seen); /* no input yet, or the ring is full */
        } else if (++spins < 64) { /* another worker is building: soon done */
            sched_yield();
        } else {
            spins = 0;
            wk_batch_flush(w);
            wk_wait_gen(ws, seen);
        }
    }
}
