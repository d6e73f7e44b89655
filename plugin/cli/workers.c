/*
 * workers.c -- worker threads, per-worker bounded queues and the single
 * serialised writer (see workers.h).
 *
 * Queue: one single-producer single-consumer byte ring per worker, with
 * C11 atomics and no lock on the packet path.  Records are a header plus
 * the packet bytes, padded to 8 bytes; a record never wraps (a WRAP marker,
 * or less than a header's room, sends the reader back to offset 0).  'head'
 * (bytes published) is written only by the capture thread, 'tail' (bytes
 * released) only by the worker; both only grow.  The worker releases space
 * every RELEASE_BYTES and at the end of each batch.  A side finds nothing
 * to do only at a full or empty ring; it then sleeps on a condition
 * variable after announcing it in a flag, and the other side, having
 * published its counter, takes the mutex only when the flag is set.  Both
 * stores and both loads are sequentially consistent, so one of the two
 * always sees the other (no lost wake-up).
 */
#include "workers.h"

#include "capture.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_BYTES   (16u << 20) /* per worker */
#define RELEASE_BYTES (1u << 20)  /* the worker gives space back at least this often */
#define BATCH_BYTES   (64u << 10) /* a worker hands its records over from this size */
#define BATCH_MAX     (1u << 20)  /* and waits for a busy writer from this one */

enum { REC_PACKET, REC_ADVANCE, REC_FLUSH, REC_RELOAD, REC_CAPSTATS, REC_WRAP, REC_STOP };

typedef struct rec {
    uint32_t kind;
    int32_t linktype;
    uint32_t caplen, len;
    uint64_t ts;
    uint64_t a, b, c; /* REC_CAPSTATS */
} rec;

#define REC_SPACE(caplen) ((sizeof(rec) + (size_t)(caplen) + 7u) & ~(size_t)7u)

/* Packet time as the workers see it.  Every worker gets a time tick at each
 * whole second of packet time, before the packet that crosses it: engines
 * end idle flows only at these boundaries, so N workers end the same flows
 * at the same points as one engine would. */
struct pkt_clock {
    uint64_t last_sec; /* last whole second ticked */
    uint64_t max_ts;   /* latest packet time */
};

/* Notes packet time 'ts'; returns the tick (usec) due before this packet,
 * or 0. */
static uint64_t clock_step(struct pkt_clock *c, uint64_t ts)
{
    uint64_t sec = ts / 1000000u, tick = 0;
    if (sec > c->last_sec) {
        c->last_sec = sec;
        tick = sec * 1000000u;
    }
    if (ts > c->max_ts) c->max_ts = ts;
    return tick;
}

/* Records a worker has made and not yet handed to the single writer. */
typedef struct out_batch {
    char *buf; /* the records' JSON, one after another */
    size_t len, cap;
    struct batch_ev {
        egret_event ev;
        size_t off; /* of its JSON in buf */
    } * ev;
    size_t n, cap_ev;
} out_batch;

typedef struct worker {
    struct workers *owner;
    int id;
    egret_engine *eng;
    pthread_t thread;
    bool started;
    int init_rc; /* the worker's egret_engine_new result */
    char init_err[EGRET_ERRBUF_SIZE];
    uint8_t *ring;
    alignas(64) _Atomic size_t head; /* bytes published: capture thread only */
    size_t head_local;               /* the capture thread's copy */
    alignas(64) _Atomic size_t tail; /* bytes released: worker only */
    alignas(64) _Atomic bool reader_waiting, writer_waiting;
    _Atomic uint64_t drops;
    pthread_mutex_t mu; /* only for sleeping and waking */
    pthread_cond_t can_read, can_write, idle, ready;
    bool is_ready;
    /* replay readers */
    _Atomic bool reload_req; /* SIGHUP: reload before the next packet */
    struct pkt_clock clock;  /* replay: this worker's packet time */
    out_batch out;           /* records waiting for the writer */
} worker;

struct workers {
    int n;
    bool lossy;
    worker *w;
    egret_config cfg; /* each worker creates its engine from it */
    egret_event_cb user_cb;
    void *user_ud;
    pthread_mutex_t out_mu; /* the single writer */
    struct pkt_clock clock; /* queue mode: packet time broadcast to all */
    /* replay readers (see workers_new_replay) */
    bool replay, joined;
    const char *filter;
    const volatile sig_atomic_t *stop; /* the caller's stop flag */
    _Atomic bool abort;                /* workers_free before the end */
    pthread_mutex_t files_mu;
    pthread_cond_t files_cv;
    char **files; /* opened by the caller, in order */
    size_t n_files, cap_files;
    bool files_done;
};

/* ==== output serialisation ====
 *
 * One writer: the caller's callback runs under out_mu.  Each worker hands
 * its records over in batches, one lock per batch rather than per record
 * (per record, the two threads of a 2-worker replay slept on the lock some
 * 300 times).  From BATCH_BYTES a worker hands its batch over whenever the
 * writer is free, and waits for it only from BATCH_MAX.  A batch also goes
 * out when the worker runs out of queued packets, after an alert or stats
 * record outside replay (a tailing SIEM sees them at once), and when the
 * worker flushes or ends.  A worker's records keep their order; records of
 * different workers interleave as before. */

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
        ws->user_cb(&ev, ws->user_ud);
    }
    pthread_mutex_unlock(&ws->out_mu);
    b->n = 0;
    b->len = 0;
}

static void batch_flush(worker *w)
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

static void on_event_batched(const egret_event *ev, void *ud)
{
    worker *w = ud;
    struct workers *ws = w->owner;
    out_batch *b = &w->out;
    if (!batch_reserve(b, ev->json_len + 1)) { /* out of memory: hand it over alone */
        batch_flush(w);
        pthread_mutex_lock(&ws->out_mu);
        ws->user_cb(ev, ws->user_ud);
        pthread_mutex_unlock(&ws->out_mu);
        return;
    }
    memcpy(b->buf + b->len, ev->json, ev->json_len);
    b->buf[b->len + ev->json_len] = '\0';
    b->ev[b->n].ev = *ev;
    b->ev[b->n].off = b->len;
    b->n++;
    b->len += ev->json_len + 1;
    if (!ws->replay && (ev->type == EGRET_EV_ALERT || ev->type == EGRET_EV_STATS))
        batch_flush(w);
    else if (b->len >= BATCH_BYTES)
        batch_give(w, b->len >= BATCH_MAX); /* busy writer: keep going, up to BATCH_MAX */
}

/* egret_engine_new with worker 'w' as the receiver of its records. */
static int worker_engine_new(worker *w)
{
    egret_config cfg = w->owner->cfg;
    cfg.event_ud = w;
    return egret_engine_new(&cfg, &w->eng, w->init_err);
}

/* ==== queue ==== */

static void wake(worker *w, _Atomic bool *flag, pthread_cond_t *cv)
{
    if (!atomic_load(flag)) return;
    pthread_mutex_lock(&w->mu);
    pthread_cond_signal(cv);
    pthread_mutex_unlock(&w->mu);
}

/* Capture thread: appends one record.  A full ring drops it (lossy) or
 * waits for the worker. */
static void push(worker *w, const rec *r, const uint8_t *data, bool lossy)
{
    size_t need = REC_SPACE(r->kind == REC_PACKET ? r->caplen : 0);
    size_t head = w->head_local;
    size_t off = head % QUEUE_BYTES, to_end = QUEUE_BYTES - off;
    size_t want = to_end < need ? to_end + need : need;
    if (head + want - atomic_load_explicit(&w->tail, memory_order_acquire) > QUEUE_BYTES) {
        if (lossy) {
            atomic_fetch_add_explicit(&w->drops, 1, memory_order_relaxed);
            return;
        }
        pthread_mutex_lock(&w->mu);
        atomic_store(&w->writer_waiting, true);
        while (head + want - atomic_load(&w->tail) > QUEUE_BYTES)
            pthread_cond_wait(&w->can_write, &w->mu);
        atomic_store(&w->writer_waiting, false);
        pthread_mutex_unlock(&w->mu);
    }
    if (to_end < need) { /* the record goes to offset 0 */
        if (to_end >= sizeof(rec)) ((rec *)(void *)(w->ring + off))->kind = REC_WRAP;
        head += to_end;
        off = 0;
    }
    memcpy(w->ring + off, r, sizeof(*r));
    if (r->kind == REC_PACKET && r->caplen) memcpy(w->ring + off + sizeof(rec), data, r->caplen);
    w->head_local = head + need;
    atomic_store(&w->head, w->head_local);
    wake(w, &w->reader_waiting, &w->can_read);
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

static void release(worker *w, size_t tail)
{
    atomic_store(&w->tail, tail);
    wake(w, &w->writer_waiting, &w->can_write);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    /* Engines start in their own threads, in parallel (nDPI and Lua set-up
     * is most of a short run). */
    char name[16];
    snprintf(name, sizeof(name), "egret-w%d", w->id);
    pthread_setname_np(pthread_self(), name);
    w->init_rc = worker_engine_new(w);
    pthread_mutex_lock(&w->mu);
    w->is_ready = true;
    pthread_cond_broadcast(&w->ready);
    pthread_mutex_unlock(&w->mu);
    if (w->init_rc != EGRET_OK) return NULL;

    size_t tail = atomic_load(&w->tail);
    bool stop = false;
    while (!stop) {
        size_t head = atomic_load(&w->head);
        if (head == tail) { /* empty: hand records over, tell drain(), then sleep */
            batch_flush(w);
            pthread_mutex_lock(&w->mu);
            pthread_cond_broadcast(&w->idle);
            atomic_store(&w->reader_waiting, true);
            while (atomic_load(&w->head) == tail) pthread_cond_wait(&w->can_read, &w->mu);
            atomic_store(&w->reader_waiting, false);
            pthread_mutex_unlock(&w->mu);
            continue;
        }
        size_t released = tail;
        while (tail != head && !stop) {
            size_t off = tail % QUEUE_BYTES;
            if (QUEUE_BYTES - off < sizeof(rec) ||
                ((rec *)(void *)(w->ring + off))->kind == REC_WRAP) {
                tail += QUEUE_BYTES - off;
                continue;
            }
            const rec *r = (const rec *)(void *)(w->ring + off);
            size_t sz = REC_SPACE(r->kind == REC_PACKET ? r->caplen : 0);
            if (r->kind == REC_STOP)
                stop = true;
            else
                run_rec(w, r, w->ring + off + sizeof(rec));
            tail += sz;
            if (tail - released >= RELEASE_BYTES) {
                release(w, tail);
                released = tail;
            }
        }
        release(w, tail);
    }
    batch_flush(w);
    pthread_mutex_lock(&w->mu);
    pthread_cond_broadcast(&w->idle);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Waits until the worker has processed everything queued. */
static void replay_join(struct workers *ws);

static void drain(worker *w)
{
    if (w->owner->replay) {
        replay_join(w->owner);
        return;
    }
    pthread_mutex_lock(&w->mu);
    while (atomic_load(&w->tail) != w->head_local) pthread_cond_wait(&w->idle, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

/* ==== replay: every worker reads the files ==== */

/* One packet as worker 'w' sees it in replay: every whole second of packet
 * time advances its engine (as the queue mode's broadcast ticks do), and
 * only its own shard is fed. */
static void replay_packet(struct workers *ws, worker *w, uint64_t ts, int lt, uint32_t caplen,
                          uint32_t len, const uint8_t *data)
{
    uint64_t tick = clock_step(&w->clock, ts);
    if (tick) egret_engine_advance(w->eng, tick);
    if (egret_engine_shard(w->eng, lt, data, caplen) % (uint32_t)ws->n != (uint32_t)w->id) return;
    egret_engine_feed(w->eng, ts, lt, caplen, len, data);
}

static void replay_reload(worker *w)
{
    char err[EGRET_ERRBUF_SIZE] = "";
    if (egret_engine_reload(w->eng, err) != EGRET_OK && err[0])
        fprintf(stderr, "egret: worker %d: warning: %s\n", w->id, err);
}

static bool replay_stopped(const struct workers *ws)
{
    return atomic_load_explicit(&ws->abort, memory_order_relaxed) || *ws->stop;
}

/* The k-th file the caller opened; NULL once it has no more. */
static const char *replay_next_file(struct workers *ws, size_t k)
{
    pthread_mutex_lock(&ws->files_mu);
    while (k >= ws->n_files && !ws->files_done) pthread_cond_wait(&ws->files_cv, &ws->files_mu);
    const char *path = k < ws->n_files ? ws->files[k] : NULL;
    pthread_mutex_unlock(&ws->files_mu);
    return path;
}

/* Worker 1..n-1 in replay: reads every file after the caller has opened
 * it, with the same filter, so it sees the same packets in the same order
 * and keeps its shard.  Open and read errors are the caller's to report. */
static void *reader_main(void *arg)
{
    worker *w = arg;
    struct workers *ws = w->owner;
    char name[16];
    snprintf(name, sizeof(name), "egret-r%d", w->id);
    pthread_setname_np(pthread_self(), name);
    w->init_rc = worker_engine_new(w);
    pthread_mutex_lock(&w->mu);
    w->is_ready = true;
    pthread_cond_broadcast(&w->ready);
    pthread_mutex_unlock(&w->mu);
    if (w->init_rc != EGRET_OK) return NULL;

    const char *path;
    for (size_t k = 0; !replay_stopped(ws) && (path = replay_next_file(ws, k)); k++) {
        char err[CAP_ERRBUF_SIZE];
        cap_source *src;
        if (cap_open_file(path, ws->filter, &src, err) != CAP_OK) continue;
        int lt = cap_linktype(src);
        cap_packet pkt;
        while (!replay_stopped(ws) && cap_next(src, &pkt) == CAP_PACKET) {
            if (atomic_exchange(&w->reload_req, false)) replay_reload(w);
            replay_packet(ws, w, pkt.ts_usec, lt, pkt.caplen, pkt.len, pkt.data);
        }
        cap_close(src);
    }
    if (!atomic_load(&ws->abort)) {
        if (w->clock.max_ts) egret_engine_advance(w->eng, w->clock.max_ts);
        egret_engine_flush(w->eng);
    }
    batch_flush(w);
    return NULL;
}

static void replay_join(struct workers *ws)
{
    if (ws->joined) return;
    ws->joined = true;
    pthread_mutex_lock(&ws->files_mu);
    ws->files_done = true;
    pthread_cond_broadcast(&ws->files_cv);
    pthread_mutex_unlock(&ws->files_mu);
    for (int i = 1; i < ws->n; i++)
        if (ws->w[i].started) pthread_join(ws->w[i].thread, NULL);
}

/* ==== public ==== */

static struct workers *create(int n, const egret_config *cfg, bool lossy, bool replay,
                              const char *filter, const volatile sig_atomic_t *stop,
                              char err[EGRET_ERRBUF_SIZE])
{
    struct workers *ws = calloc(1, sizeof(*ws));
    if (!ws || n < 1) {
        snprintf(err, EGRET_ERRBUF_SIZE, "workers: %s", ws ? "need at least one" : "out of memory");
        free(ws);
        return NULL;
    }
    ws->n = n;
    ws->lossy = lossy;
    ws->replay = replay;
    ws->filter = filter;
    ws->stop = stop;
    ws->user_cb = cfg->on_event;
    ws->user_ud = cfg->event_ud;
    pthread_mutex_init(&ws->out_mu, NULL);
    pthread_mutex_init(&ws->files_mu, NULL);
    pthread_cond_init(&ws->files_cv, NULL);
    ws->w = calloc((size_t)n, sizeof(worker));
    if (!ws->w) {
        snprintf(err, EGRET_ERRBUF_SIZE, "workers: out of memory");
        workers_free(ws);
        return NULL;
    }
    ws->cfg = *cfg;
    ws->cfg.on_event = on_event_batched; /* event_ud: the worker, see worker_engine_new */
    for (int i = 0; i < n; i++) {
        worker *w = &ws->w[i];
        w->owner = ws;
        w->id = i;
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->can_read, NULL);
        pthread_cond_init(&w->can_write, NULL);
        pthread_cond_init(&w->idle, NULL);
        pthread_cond_init(&w->ready, NULL);
        if (replay && i == 0) continue; /* the caller's thread: engine made below */
        if (!replay && !(w->ring = malloc(QUEUE_BYTES))) {
            snprintf(err, EGRET_ERRBUF_SIZE, "workers: out of memory");
            workers_free(ws);
            return NULL;
        }
        if (pthread_create(&w->thread, NULL, replay ? reader_main : worker_main, w) != 0) {
            snprintf(err, EGRET_ERRBUF_SIZE, "workers: cannot start thread %d", i);
            workers_free(ws);
            return NULL;
        }
        w->started = true;
    }
    int failed = -1;
    if (replay) { /* worker 0's engine, while the readers make theirs */
        worker *w = &ws->w[0];
        w->init_rc = worker_engine_new(w);
        w->is_ready = true;
        if (w->init_rc != EGRET_OK) failed = 0;
    }
    for (int i = 0; i < n; i++) { /* every engine is up before any packet */
        worker *w = &ws->w[i];
        pthread_mutex_lock(&w->mu);
        while (!w->is_ready) pthread_cond_wait(&w->ready, &w->mu);
        pthread_mutex_unlock(&w->mu);
        if (w->init_rc != EGRET_OK && failed < 0) failed = i;
    }
    if (failed >= 0) {
        snprintf(err, EGRET_ERRBUF_SIZE, "%s", ws->w[failed].init_err);
        workers_free(ws);
        return NULL;
    }
    return ws;
}

workers *workers_new(int n, const egret_config *cfg, bool lossy, char err[EGRET_ERRBUF_SIZE])
{
    return create(n, cfg, lossy, false, NULL, NULL, err);
}

workers *workers_new_replay(int n, const egret_config *cfg, const char *filter,
                            const volatile sig_atomic_t *stop, char err[EGRET_ERRBUF_SIZE])
{
    return create(n, cfg, false, true, filter, stop, err);
}

void workers_file(workers *ws, const char *path)
{
    if (!ws->replay || ws->n < 2) return;
    pthread_mutex_lock(&ws->files_mu);
    if (ws->n_files == ws->cap_files) {
        size_t cap = ws->cap_files ? 2 * ws->cap_files : 16;
        char **f = realloc(ws->files, cap * sizeof(*f));
        if (f) ws->files = f, ws->cap_files = cap;
    }
    char *copy = ws->n_files < ws->cap_files ? strdup(path) : NULL;
    if (copy) {
        ws->files[ws->n_files++] = copy;
        pthread_cond_broadcast(&ws->files_cv);
    } else { /* cannot follow: the readers stop here, the caller goes on */
        atomic_store(&ws->abort, true);
        fprintf(stderr, "egret: workers: out of memory; output is incomplete\n");
    }
    pthread_mutex_unlock(&ws->files_mu);
}

void workers_feed(workers *ws, uint64_t ts_usec, int linktype, uint32_t caplen, uint32_t len,
                  const uint8_t *data)
{
    if (ws->replay) {
        worker *w0 = &ws->w[0];
        if (atomic_exchange(&w0->reload_req, false)) replay_reload(w0);
        replay_packet(ws, w0, ts_usec, linktype, caplen, len, data);
        return;
    }
    uint64_t tick = clock_step(&ws->clock, ts_usec);
    if (tick) workers_advance(ws, tick);
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
    if (ws->replay) { /* the readers keep their own time */
        egret_engine_advance(ws->w[0].eng, ts_usec);
        return;
    }
    rec r = {REC_ADVANCE, 0, 0, 0, ts_usec, 0, 0, 0};
    broadcast(ws, &r);
}

void workers_set_capture_stats(workers *ws, uint64_t recv, uint64_t drop, uint64_t ifdrop)
{
    if (ws->replay) {
        egret_engine_set_capture_stats(ws->w[0].eng, recv, drop, ifdrop);
        return;
    }
    rec r = {REC_CAPSTATS, 0, 0, 0, 0, recv, drop, ifdrop};
    push(&ws->w[0], &r, NULL, false);
}

void workers_reload(workers *ws)
{
    if (ws->replay) { /* before each one's next packet */
        for (int i = 0; i < ws->n; i++) atomic_store(&ws->w[i].reload_req, true);
        return;
    }
    rec r = {REC_RELOAD, 0, 0, 0, 0, 0, 0, 0};
    broadcast(ws, &r);
}

void workers_flush(workers *ws)
{
    if (ws->replay) {
        worker *w0 = &ws->w[0];
        if (w0->clock.max_ts) egret_engine_advance(w0->eng, w0->clock.max_ts);
        egret_engine_flush(w0->eng);
        batch_flush(w0);
        replay_join(ws); /* each reader ends its files, then flushes */
        return;
    }
    /* every engine ends its flows at the same 'now' as one engine would */
    if (ws->clock.max_ts) workers_advance(ws, ws->clock.max_ts);
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
        drops += atomic_load_explicit(&ws->w[i].drops, memory_order_relaxed);
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
    if (ws->replay) {
        atomic_store(&ws->abort, true);
        replay_join(ws);
    }
    rec stop = {REC_STOP, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; ws->w && i < ws->n; i++) {
        worker *w = &ws->w[i];
        if (w->started) {
            /* a worker whose engine failed has already returned */
            if (!ws->replay && w->init_rc == EGRET_OK) push(w, &stop, NULL, false);
            if (!ws->replay) pthread_join(w->thread, NULL);
        }
        batch_flush(w); /* records already made are written, even on abort */
        free(w->out.buf);
        free(w->out.ev);
        egret_engine_free(w->eng);
        free(w->ring);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->can_read);
        pthread_cond_destroy(&w->can_write);
        pthread_cond_destroy(&w->idle);
        pthread_cond_destroy(&w->ready);
    }
    for (size_t i = 0; i < ws->n_files; i++) free(ws->files[i]);
    free(ws->files);
    free(ws->w);
    pthread_mutex_destroy(&ws->out_mu);
    pthread_mutex_destroy(&ws->files_mu);
    pthread_cond_destroy(&ws->files_cv);
    free(ws);
}
