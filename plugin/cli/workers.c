/*
 * workers.c -- worker threads, per-worker bounded queues and the single
 * serialised writer (see workers.h).
 *
 * Queue: one byte ring per worker.  Records are a header plus the packet
 * bytes, padded to 8 bytes; a record never wraps (a WRAP marker sends the
 * reader back to offset 0).  The writer appends under the queue mutex and
 * signals only a sleeping reader; the reader takes everything published
 * in one lock round, processes it unlocked and releases the space in one
 * more -- so the lock is taken per batch, not per packet.
 */
#include "workers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_BYTES (16u << 20) /* per worker */

enum { REC_PACKET, REC_ADVANCE, REC_FLUSH, REC_RELOAD, REC_CAPSTATS, REC_WRAP, REC_STOP };

typedef struct rec {
    uint32_t kind;
    int32_t linktype;
    uint32_t caplen, len;
    uint64_t ts;
    uint64_t a, b, c; /* REC_CAPSTATS */
} rec;

#define REC_SPACE(caplen) ((sizeof(rec) + (size_t)(caplen) + 7u) & ~(size_t)7u)

typedef struct worker {
    struct workers *owner;
    int id;
    egret_engine *eng;
    pthread_t thread;
    bool started;
    /* queue */
    pthread_mutex_t mu;
    pthread_cond_t can_read, can_write, idle;
    uint8_t *ring;
    size_t head, tail; /* write offset, read offset (bytes) */
    size_t used;       /* bytes in the ring */
    bool reader_waiting, writer_waiting, busy;
    uint64_t drops;
} worker;

struct workers {
    int n;
    bool lossy;
    worker *w;
    egret_event_cb user_cb;
    void *user_ud;
    pthread_mutex_t out_mu; /* the single writer */
    uint64_t last_sec;      /* last whole second of packet time broadcast */
    uint64_t max_ts;        /* latest packet time fed */
};

/* ==== output serialisation ==== */

static void on_event_locked(const egret_event *ev, void *ud)
{
    struct workers *ws = ud;
    pthread_mutex_lock(&ws->out_mu);
    ws->user_cb(ev, ws->user_ud);
    pthread_mutex_unlock(&ws->out_mu);
}

/* ==== queue ==== */

/* Reserves space for a record of 'need' bytes; returns its offset or
 * SIZE_MAX when full and lossy.  Called with the mutex held. */
static size_t reserve(worker *w, size_t need, bool lossy)
{
    for (;;) {
        size_t off = w->head;
        size_t to_end = QUEUE_BYTES - off;
        size_t want = need;
        bool wrap = false;
        if (to_end < need) { /* needs a wrap marker, then space at 0 */
            want = to_end + need;
            wrap = true;
        }
        if (QUEUE_BYTES - w->used >= want) {
            if (wrap) {
                if (to_end >= sizeof(rec)) {
                    rec *m = (rec *)(void *)(w->ring + off);
                    m->kind = REC_WRAP;
                }
                w->used += to_end;
                off = 0;
            }
            w->head = off + need;
            if (w->head == QUEUE_BYTES) w->head = 0;
            w->used += need;
            return off;
        }
        if (lossy) return SIZE_MAX;
        w->writer_waiting = true;
        pthread_cond_wait(&w->can_write, &w->mu);
        w->writer_waiting = false;
    }
}

static void push(worker *w, const rec *r, const uint8_t *data, bool lossy)
{
    size_t need = REC_SPACE(r->kind == REC_PACKET ? r->caplen : 0);
    pthread_mutex_lock(&w->mu);
    size_t off = reserve(w, need, lossy);
    if (off == SIZE_MAX) {
        w->drops++;
        pthread_mutex_unlock(&w->mu);
        return;
    }
    /* The space is ours (the reader stops at 'head' as published below),
     * but copying under the lock keeps the publication simple. */
    memcpy(w->ring + off, r, sizeof(*r));
    if (r->kind == REC_PACKET && r->caplen) memcpy(w->ring + off + sizeof(rec), data, r->caplen);
    if (w->reader_waiting) pthread_cond_signal(&w->can_read);
    pthread_mutex_unlock(&w->mu);
}

static void run_rec(worker *w, const rec *r, const uint8_t *data)
{
    switch (r->kind) {
    case REC_PACKET:
        egret_engine_feed(w->eng, r->ts, r->linktype, r->caplen, r->len, data);
        break;
    case REC_ADVANCE:
        egret_engine_advance(w->eng, r->ts);
        break;
    case REC_FLUSH:
        egret_engine_flush(w->eng);
        break;
    case REC_CAPSTATS:
        egret_engine_set_capture_stats(w->eng, r->a, r->b, r->c);
        break;
    case REC_RELOAD: {
        char err[EGRET_ERRBUF_SIZE] = "";
        if (egret_engine_reload(w->eng, err) != EGRET_OK && err[0])
            fprintf(stderr, "egret: worker %d: warning: %s\n", w->id, err);
        break;
    }
    default:
        break;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    bool stop = false;
    while (!stop) {
        pthread_mutex_lock(&w->mu);
        while (w->used == 0) {
            w->busy = false;
            pthread_cond_broadcast(&w->idle);
            w->reader_waiting = true;
            pthread_cond_wait(&w->can_read, &w->mu);
            w->reader_waiting = false;
        }
        w->busy = true;
        size_t avail = w->used, off = w->tail;
        pthread_mutex_unlock(&w->mu);

        /* Process the published batch without the lock. */
        size_t done = 0;
        while (done < avail && !stop) {
            if (QUEUE_BYTES - off < sizeof(rec) ||
                ((rec *)(void *)(w->ring + off))->kind == REC_WRAP) {
                done += QUEUE_BYTES - off;
                off = 0;
                continue;
            }
            const rec *r = (const rec *)(void *)(w->ring + off);
            size_t sz = REC_SPACE(r->kind == REC_PACKET ? r->caplen : 0);
            if (r->kind == REC_STOP)
                stop = true;
            else
                run_rec(w, r, w->ring + off + sizeof(rec));
            done += sz;
            off += sz;
            if (off == QUEUE_BYTES) off = 0;
        }
        pthread_mutex_lock(&w->mu);
        w->tail = off;
        w->used -= done;
        if (w->writer_waiting) pthread_cond_signal(&w->can_write);
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_lock(&w->mu);
    w->busy = false;
    pthread_cond_broadcast(&w->idle);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Waits until the worker has processed everything queued. */
static void drain(worker *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->used > 0 || w->busy) pthread_cond_wait(&w->idle, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

/* ==== public ==== */

workers *workers_new(int n, const egret_config *cfg, bool lossy, char err[EGRET_ERRBUF_SIZE])
{
    struct workers *ws = calloc(1, sizeof(*ws));
    if (!ws || n < 1) {
        snprintf(err, EGRET_ERRBUF_SIZE, "workers: %s", ws ? "need at least one" : "out of memory");
        free(ws);
        return NULL;
    }
    ws->n = n;
    ws->lossy = lossy;
    ws->user_cb = cfg->on_event;
    ws->user_ud = cfg->event_ud;
    pthread_mutex_init(&ws->out_mu, NULL);
    ws->w = calloc((size_t)n, sizeof(worker));
    if (!ws->w) {
        snprintf(err, EGRET_ERRBUF_SIZE, "workers: out of memory");
        free(ws);
        return NULL;
    }
    egret_config c = *cfg;
    c.on_event = on_event_locked;
    c.event_ud = ws;
    for (int i = 0; i < n; i++) {
        worker *w = &ws->w[i];
        w->owner = ws;
        w->id = i;
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->can_read, NULL);
        pthread_cond_init(&w->can_write, NULL);
        pthread_cond_init(&w->idle, NULL);
        w->ring = malloc(QUEUE_BYTES);
        if (!w->ring) {
            snprintf(err, EGRET_ERRBUF_SIZE, "workers: out of memory");
            workers_free(ws);
            return NULL;
        }
        int rc = egret_engine_new(&c, &w->eng, err);
        if (rc != EGRET_OK) {
            workers_free(ws);
            return NULL;
        }
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(err, EGRET_ERRBUF_SIZE, "workers: cannot start thread %d", i);
            workers_free(ws);
            return NULL;
        }
        w->started = true;
    }
    return ws;
}

void workers_feed(workers *ws, uint64_t ts_usec, int linktype, uint32_t caplen, uint32_t len,
                  const uint8_t *data)
{
    /* Every worker gets a time tick at each whole second of packet time,
     * before the packet that crosses it: engines end idle flows only at
     * these boundaries, so N workers end the same flows at the same points
     * as one engine would. */
    uint64_t sec = ts_usec / 1000000u;
    if (sec > ws->last_sec) {
        ws->last_sec = sec;
        workers_advance(ws, sec * 1000000u);
    }
    if (ts_usec > ws->max_ts) ws->max_ts = ts_usec;
    uint32_t h = egret_engine_shard(ws->w[0].eng, linktype, data, caplen);
    worker *w = &ws->w[h % (uint32_t)ws->n];
    rec r = {REC_PACKET, linktype, caplen, len, ts_usec, 0, 0, 0};
    if (REC_SPACE(caplen) > QUEUE_BYTES / 4) return; /* cannot happen with snaplen 262144 */
    push(w, &r, data, ws->lossy);
}

static void broadcast(workers *ws, const rec *r)
{
    for (int i = 0; i < ws->n; i++) push(&ws->w[i], r, NULL, false);
}

void workers_advance(workers *ws, uint64_t ts_usec)
{
    rec r = {REC_ADVANCE, 0, 0, 0, ts_usec, 0, 0, 0};
    broadcast(ws, &r);
}

void workers_set_capture_stats(workers *ws, uint64_t recv, uint64_t drop, uint64_t ifdrop)
{
    rec r = {REC_CAPSTATS, 0, 0, 0, 0, recv, drop, ifdrop};
    push(&ws->w[0], &r, NULL, false);
}

void workers_reload(workers *ws)
{
    rec r = {REC_RELOAD, 0, 0, 0, 0, 0, 0, 0};
    broadcast(ws, &r);
}

void workers_flush(workers *ws)
{
    /* every engine ends its flows at the same 'now' as one engine would */
    if (ws->max_ts) workers_advance(ws, ws->max_ts);
    rec r = {REC_FLUSH, 0, 0, 0, 0, 0, 0, 0};
    broadcast(ws, &r);
    for (int i = 0; i < ws->n; i++) drain(&ws->w[i]);
}

size_t workers_packets(workers *ws, uint64_t *out, size_t n)
{
    size_t k = 0;
    for (int i = 0; i < ws->n && k < n; i++) {
        drain(&ws->w[i]);
        egret_counters c;
        egret_engine_counters(ws->w[i].eng, &c);
        out[k++] = c.packets;
    }
    return k;
}

void workers_counters(workers *ws, egret_counters *out, uint64_t *queue_drops)
{
    memset(out, 0, sizeof(*out));
    uint64_t drops = 0;
    for (int i = 0; i < ws->n; i++) {
        drain(&ws->w[i]);
        egret_counters c;
        egret_engine_counters(ws->w[i].eng, &c);
        out->packets += c.packets;
        out->bytes += c.bytes;
        out->decode_events += c.decode_events;
        out->flows_total += c.flows_total;
        out->flows_active += c.flows_active;
        out->flows_evicted += c.flows_evicted;
        out->fragments += c.fragments;
        out->records += c.records;
        pthread_mutex_lock(&ws->w[i].mu);
        drops += ws->w[i].drops;
        pthread_mutex_unlock(&ws->w[i].mu);
    }
    if (queue_drops) *queue_drops = drops;
}

static int host_cmp(const void *a, const void *b)
{
    const egret_host_stat *x = a, *y = b;
    if (x->bytes_out != y->bytes_out) return x->bytes_out < y->bytes_out ? 1 : -1;
    return strcmp(x->addr, y->addr);
}

size_t workers_top_hosts(workers *ws, egret_host_stat *out, size_t n)
{
    /* A host lives on one worker, so per-worker tops merge by sorting. */
    size_t cap = n * (size_t)ws->n, m = 0;
    egret_host_stat *all = calloc(cap ? cap : 1, sizeof(*all));
    if (!all) return 0;
    for (int i = 0; i < ws->n; i++) {
        drain(&ws->w[i]);
        m += egret_engine_top_hosts(ws->w[i].eng, all + m, n);
    }
    qsort(all, m, sizeof(*all), host_cmp);
    size_t k = m < n ? m : n;
    memcpy(out, all, k * sizeof(*out));
    free(all);
    return k;
}

void workers_free(workers *ws)
{
    if (!ws) return;
    rec stop = {REC_STOP, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; ws->w && i < ws->n; i++) {
        worker *w = &ws->w[i];
        if (w->started) {
            push(w, &stop, NULL, false);
            pthread_join(w->thread, NULL);
        }
        egret_engine_free(w->eng);
        free(w->ring);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->can_read);
        pthread_cond_destroy(&w->can_write);
        pthread_cond_destroy(&w->idle);
    }
    free(ws->w);
    pthread_mutex_destroy(&ws->out_mu);
    free(ws);
}
