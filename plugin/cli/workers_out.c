/*
 * workers_out.c -- the workers' single writer: each worker's records in
 * batches, handed to the caller's callback under one mutex.
 */
#include "workers_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_BYTES (64u << 10) /* a worker hands its records over from this size */
#define BATCH_MAX   (1u << 20)  /* and waits for a busy writer from this one */

/* ==== output serialisation ====
 *
 * One writer: the caller's callback runs under out_mu.  Each worker hands
 * its records over in batches, one lock per batch rather than per record,
 * so that workers rarely sleep on the lock.  From BATCH_BYTES a worker hands its batch over
 * whenever the writer is free, and waits for it only from BATCH_MAX.  A batch also goes out when
 * the worker has nothing to do, after an alert or stats record of a live capture (a tailing SIEM
 * sees them at once), and when the worker flushes or ends.  A worker's records keep their order;
 * records of different workers interleave. */

/* Hands the batch to the writer.  'wait' false: only if the writer is free
 * now (the worker goes on and tries again later rather than sleep). */
static void batch_give(worker *w, bool wait)
{
    out_batch *b = &w->out;
    if (b->n == 0) return;
    struct workers *ws = w->owner;
    if (wait)
        pthread_mutex_lock(&ws->out_mu);
    else if (pthread_mutex_trylock(&ws->out_mu) != 0)
        return;
    for (size_t i = 0; i < b->n; i++) {
        egret_event ev = b->ev[i].ev;
        ev.json = b->buf + b->ev[i].off;
        if (!wk_stats_take(ws, w, &ev)) ws->user_cb(&ev, ws->user_ud);
    }
    pthread_mutex_unlock(&ws->out_mu);
    b->n = 0;
    b->len = 0;
}

void wk_batch_flush(worker *w)
{
    batch_give(w, true);
}

static bool batch_reserve(out_batch *b, size_t bytes)
{
    if (b->n == b->cap_ev) {
        size_t cap = b->cap_ev ? b->cap_ev * 2 : 256;
        struct batch_ev *ne = realloc(b->ev, cap * sizeof(*ne));
        if (!ne) return false;
        b->ev = ne;
        b->cap_ev = cap;
    }
    if (b->len + bytes > b->cap) {
        size_t cap = b->cap ? b->cap : BATCH_BYTES * 2;
        while (cap < b->len + bytes) cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (!nb) return false;
        b->buf = nb;
        b->cap = cap;
    }
    return true;
}

void wk_on_event_batched(const egret_event *ev, void *ud)
{
    worker *w = ud;
    struct workers *ws = w->owner;
    out_batch *b = &w->out;
    if (!batch_reserve(b, ev->json_len + 1)) { /* out of memory: hand it over alone */
        wk_batch_flush(w);
        pthread_mutex_lock(&ws->out_mu);
        if (!wk_stats_take(ws, w, ev)) ws->user_cb(ev, ws->user_ud);
        pthread_mutex_unlock(&ws->out_mu);
        return;
    }
    memcpy(b->buf + b->len, ev->json, ev->json_len);
    b->buf[b->len + ev->json_len] = '\0';
    b->ev[b->n].ev = *ev;
    b->ev[b->n].off = b->len;
    b->n++;
    b->len += ev->json_len + 1;
    if ((ev->type == EGRET_EV_ALERT || ev->type == EGRET_EV_STATS) &&
        atomic_load_explicit(&ws->live, memory_order_relaxed))
        wk_batch_flush(w);
    else if (b->len >= BATCH_BYTES)
        batch_give(w, b->len >= BATCH_MAX); /* busy writer: keep going, up to BATCH_MAX */
}
