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
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    bool finished; /* replay: past the last chunk and flushed (under mu) */
    bool release;  /* replay: free the engine and end (under mu) */
    /* replay */
    _Atomic bool reload_req;           /* SIGHUP: reload before the next packet */
    alignas(64) _Atomic uint64_t done; /* chunks this worker is past */
    out_batch out;                     /* records waiting for the writer */
} worker;

struct chunk;
struct rsrc;

struct workers {
    int n;
    bool lossy;
    worker *w;
    egret_config cfg; /* each worker creates its engine from it */
    egret_event_cb user_cb;
    void *user_ud;
    pthread_mutex_t out_mu; /* the single writer */
    struct pkt_clock clock; /* packet time: queue mode's broadcast, replay's chunks (build_mu) */
    /* replay (see "replay: one walk of the files") */
    bool replay, joined;
    const volatile sig_atomic_t *stop;  /* the caller's stop flag */
    _Atomic bool abort;                 /* workers_free before the end */
    _Atomic bool halt;                  /* the caller stopped reading */
    struct chunk *chunks;               /* CHUNK_SLOTS */
    pthread_mutex_t build_mu;           /* one builder at a time; guards the next three */
    struct rsrc *cur;                   /* the file being walked */
    bool input_done;                    /* no file will follow */
    alignas(64) _Atomic uint64_t built; /* chunks published */
    struct rsrc *srcs;                  /* every file handed over (caller's thread) */
    alignas(64) _Atomic uint64_t gen;   /* bumped at every change a worker may wait for */
    _Atomic int sleepers;
    pthread_mutex_t wait_mu;
    pthread_cond_t wait_cv;
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
    egret_engine_free(w->eng); /* REC_STOP comes from workers_free only */
    w->eng = NULL;
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

/* ==== replay: one walk of the files, shared by the workers ====
 *
 * Savefiles are walked once, in chunks of up to CHUNK_PKTS packets.  A
 * chunk lists every packet of its stretch of the file with the worker it
 * belongs to (egret_engine_shard), and the whole-second time ticks in
 * between; every worker goes through every chunk in order, feeds its own
 * packets and applies every tick.  So each worker sees the packets and
 * the ticks one engine would, in the same order, and nothing but its
 * shard.
 *
 * There is no walker thread: the worker that first needs a chunk that is
 * not built yet builds it (one at a time, under build_mu), so the walk
 * and the sharding fall to whichever worker is ahead and the shares even
 * out.  Chunks live in a ring of CHUNK_SLOTS slots; a slot is reused once
 * every worker is past it, so the leader is at most CHUNK_SLOTS chunks
 * ahead of the slowest worker.  Packets of a mapped file are referred to
 * in place (the source gives pages back only behind the slowest worker,
 * cap_keep_from); packets that libpcap reads (pcapng, ...) are copied into
 * the slot, up to CHUNK_COPY bytes a chunk.
 *
 * The caller (worker 0) opens each file and hands it over with
 * workers_replay_file, which returns once worker 0 is past the file's last
 * chunk; the last worker past it closes it.  State changes that a waiting
 * worker may need (a chunk built, a slot freed, a file handed over, the
 * end of input, a stop) bump 'gen'; a worker that can do nothing sleeps
 * until gen moves (or 100 ms pass: a stop signal cannot wake it). */

#define CHUNK_PKTS  256u
#define CHUNK_SLOTS 64u
#define CHUNK_COPY  (256u << 10)
#define CHUNK_AHEAD 4u
#define OWNER_TICK  0xffu

struct rsrc {
    cap_source *cap; /* NULL once closed */
    int linktype;
    bool copy;  /* libpcap's buffer: packets are copied */
    bool ended; /* under build_mu: its last chunk is built */
    int status; /* CAP_EOF or CAP_ERROR, set with 'ended' */
    char err[CAP_ERRBUF_SIZE];
    _Atomic int refs;    /* workers not yet past its last chunk */
    _Atomic bool closed; /* by the last of them: the caller may free it */
    struct rsrc *next;   /* sources handed over and not yet freed (caller's thread) */
};

typedef struct pent {
    uint64_t off; /* the packet's address, or its offset in the slot's copy */
    uint64_t ts;  /* packet time, or the tick */
    uint32_t caplen, len;
} pent;

struct chunk {
    struct rsrc *src;
    bool last;            /* the source's last chunk */
    uint32_t n;           /* entries: packets and ticks */
    uint32_t pkts;        /* packets among them */
    uint64_t bytes;       /* their captured bytes */
    const uint8_t *first; /* mapped: the first packet's bytes (release mark) */
    uint8_t *copy;        /* copied packets (src->copy) */
    size_t copy_len, copy_cap;
    uint8_t own[2 * CHUNK_PKTS]; /* worker of each entry, OWNER_TICK for a tick */
    pent e[2 * CHUNK_PKTS];
};

static void replay_reload(worker *w)
{
    char err[EGRET_ERRBUF_SIZE] = "";
    if (egret_engine_reload(w->eng, err) != EGRET_OK && err[0])
        fprintf(stderr, "egret: worker %d: warning: %s\n", w->id, err);
}

static bool replay_stopped(const struct workers *ws)
{
    return atomic_load_explicit(&ws->abort, memory_order_relaxed) ||
           atomic_load_explicit(&ws->halt, memory_order_relaxed) || *ws->stop;
}

static void replay_bump(struct workers *ws)
{
    atomic_fetch_add(&ws->gen, 1);
    if (atomic_load(&ws->sleepers) == 0) return;
    pthread_mutex_lock(&ws->wait_mu);
    pthread_cond_broadcast(&ws->wait_cv);
    pthread_mutex_unlock(&ws->wait_mu);
}

/* Sleeps until 'gen' differs from 'seen' (or 100 ms pass). */
static void replay_wait(struct workers *ws, uint64_t seen)
{
    pthread_mutex_lock(&ws->wait_mu);
    atomic_fetch_add(&ws->sleepers, 1);
    if (atomic_load(&ws->gen) == seen && !replay_stopped(ws)) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 100000000L;
        if (t.tv_nsec >= 1000000000L) t.tv_sec++, t.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&ws->wait_cv, &ws->wait_mu, &t);
    }
    atomic_fetch_sub(&ws->sleepers, 1);
    pthread_mutex_unlock(&ws->wait_mu);
}

/* The chunk every worker is past (none lags behind it). */
static uint64_t replay_min_done(const struct workers *ws)
{
    uint64_t low = UINT64_MAX;
    for (int i = 0; i < ws->n; i++) {
        uint64_t d = atomic_load_explicit(&ws->w[i].done, memory_order_acquire);
        if (d < low) low = d;
    }
    return low;
}

/* Appends the copy of a packet libpcap handed out; its offset in the
 * slot's copy, or UINT64_MAX when out of memory. */
static uint64_t chunk_copy(struct chunk *k, const uint8_t *data, uint32_t caplen)
{
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

/* Under build_mu: walks the next chunk of the current source with worker
 * w's engine (for the shard) and publishes it.  False when there is
 * nothing to build (no source, or the source has ended) or its slot is
 * still in use. */
static bool chunk_build(struct workers *ws, worker *w)
{
    struct rsrc *s = ws->cur;
    uint64_t c = atomic_load_explicit(&ws->built, memory_order_relaxed);
    if (!s || s->ended) return false;
    uint64_t low = replay_min_done(ws);
    if (c - low >= CHUNK_SLOTS) return false;
    if (!s->copy && low < c) { /* pages before the slowest worker's chunk can go */
        const struct chunk *old = &ws->chunks[low % CHUNK_SLOTS];
        if (old->src == s && old->first) cap_keep_from(s->cap, old->first);
    }
    struct chunk *k = &ws->chunks[c % CHUNK_SLOTS];
    k->src = s;
    k->last = false;
    k->n = k->pkts = 0;
    k->bytes = 0;
    k->first = NULL;
    k->copy_len = 0;
    uint32_t nw = (uint32_t)ws->n;
    while (k->pkts < CHUNK_PKTS && k->copy_len < CHUNK_COPY) {
        cap_packet pkt;
        int rc = cap_next(s->cap, &pkt);
        if (rc != CAP_PACKET) {
            s->status = rc == CAP_ERROR ? CAP_ERROR : CAP_EOF;
            if (rc == CAP_ERROR) snprintf(s->err, sizeof(s->err), "%s", cap_geterr(s->cap));
            s->ended = true;
            break;
        }
        uint64_t tick = clock_step(&ws->clock, pkt.ts_usec);
        if (tick) {
            k->own[k->n] = OWNER_TICK;
            k->e[k->n++] = (pent){0, tick, 0, 0};
        }
        uint64_t off = (uintptr_t)pkt.data;
        if (s->copy) {
            off = chunk_copy(k, pkt.data, pkt.caplen);
            if (off == UINT64_MAX) {
                s->status = CAP_ERROR;
                snprintf(s->err, sizeof(s->err), "workers: out of memory");
                s->ended = true;
                break;
            }
        } else if (!k->first) {
            k->first = pkt.data;
        }
        k->own[k->n] =
            (uint8_t)(egret_engine_shard(w->eng, s->linktype, pkt.data, pkt.caplen) % nw);
        k->e[k->n++] = (pent){off, pkt.ts_usec, pkt.caplen, pkt.len};
        k->pkts++;
        k->bytes += pkt.caplen;
    }
    if (s->ended) k->last = true;
    atomic_store_explicit(&ws->built, c + 1, memory_order_release);
    replay_bump(ws);
    return true;
}

/* The next chunk for worker w, built by w if no one has; NULL at the end
 * of input or on a stop. */
static struct chunk *chunk_next(struct workers *ws, worker *w)
{
    uint64_t c = atomic_load_explicit(&w->done, memory_order_relaxed);
    unsigned spins = 0;
    for (;;) {
        uint64_t seen = atomic_load(&ws->gen);
        uint64_t b = atomic_load_explicit(&ws->built, memory_order_acquire);
        if (c < b) { /* the worker ahead keeps CHUNK_AHEAD chunks built */
            if (b - c < CHUNK_AHEAD && pthread_mutex_trylock(&ws->build_mu) == 0) {
                if (atomic_load_explicit(&ws->built, memory_order_relaxed) - c < CHUNK_AHEAD &&
                    !replay_stopped(ws))
                    (void)chunk_build(ws, w);
                pthread_mutex_unlock(&ws->build_mu);
            }
            return &ws->chunks[c % CHUNK_SLOTS];
        }
        if (replay_stopped(ws)) return NULL;
        if (pthread_mutex_trylock(&ws->build_mu) == 0) {
            bool built =
                c < atomic_load_explicit(&ws->built, memory_order_relaxed) || chunk_build(ws, w);
            bool end = !built && ws->input_done && (!ws->cur || ws->cur->ended);
            pthread_mutex_unlock(&ws->build_mu);
            if (built) continue;
            if (end) return NULL;
            replay_wait(ws, seen); /* no file yet, or the ring is full */
        } else if (++spins < 64) { /* another worker is building: soon done */
            sched_yield();
        } else {
            spins = 0;
            replay_wait(ws, seen);
        }
    }
}

/* Worker w's share of chunk k. */
static void chunk_run(worker *w, const struct chunk *k)
{
    const struct rsrc *s = k->src;
    const uint8_t *copy = s->copy ? k->copy : NULL;
    uint8_t me = (uint8_t)w->id;
    for (uint32_t i = 0; i < k->n; i++) {
        uint8_t o = k->own[i];
        if (o == me) {
            const pent *e = &k->e[i];
            if (atomic_load_explicit(&w->reload_req, memory_order_relaxed) &&
                atomic_exchange(&w->reload_req, false))
                replay_reload(w);
            const uint8_t *data = copy ? copy + e->off : (const uint8_t *)(uintptr_t)e->off;
            egret_engine_feed(w->eng, e->ts, s->linktype, e->caplen, e->len, data);
        } else if (o == OWNER_TICK) {
            egret_engine_advance(w->eng, k->e[i].ts);
        }
    }
}

/* Worker w is past chunk k: the last worker past a file closes it. */
static void chunk_done(struct workers *ws, worker *w, const struct chunk *k)
{
    if (k->last && atomic_fetch_sub(&k->src->refs, 1) == 1) {
        cap_close(k->src->cap);
        k->src->cap = NULL;
        atomic_store_explicit(&k->src->closed, true, memory_order_release);
    }
    atomic_fetch_add_explicit(&w->done, 1, memory_order_release);
    replay_bump(ws);
}

/* The time every engine ends its flows at, at the end of input. */
static uint64_t replay_max_ts(struct workers *ws)
{
    pthread_mutex_lock(&ws->build_mu);
    uint64_t t = ws->clock.max_ts;
    pthread_mutex_unlock(&ws->build_mu);
    return t;
}

/* Workers 1..n-1 in replay: every chunk, until the end of input. */
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
    if (w->init_rc != EGRET_OK) {
        atomic_store(&w->done, UINT64_MAX / 2); /* holds no slot */
        return NULL;
    }
    const struct chunk *k;
    while ((k = chunk_next(ws, w))) {
        chunk_run(w, k);
        chunk_done(ws, w, k);
    }
    atomic_store(&w->done, UINT64_MAX / 2); /* holds no slot any more */
    replay_bump(ws);
    if (!atomic_load(&ws->abort)) {
        uint64_t t = replay_max_ts(ws);
        if (t) egret_engine_advance(w->eng, t);
        egret_engine_flush(w->eng);
    }
    batch_flush(w);
    /* The engine stays for the caller's counters until workers_free; then
     * each worker frees its own, in parallel. */
    pthread_mutex_lock(&w->mu);
    w->finished = true;
    pthread_cond_broadcast(&w->idle);
    while (!w->release) pthread_cond_wait(&w->can_read, &w->mu);
    pthread_mutex_unlock(&w->mu);
    egret_engine_free(w->eng);
    w->eng = NULL;
    return NULL;
}

/* No file will follow: the other workers end their flows as soon as they
 * are past the last chunk. */
static void replay_end_input(struct workers *ws)
{
    pthread_mutex_lock(&ws->build_mu);
    ws->input_done = true;
    pthread_mutex_unlock(&ws->build_mu);
    replay_bump(ws);
}

/* Waits until every other worker is past the end of input and flushed. */
static void replay_join(struct workers *ws)
{
    if (ws->joined) return;
    ws->joined = true;
    replay_end_input(ws);
    for (int i = 1; ws->w && i < ws->n; i++) {
        worker *w = &ws->w[i];
        if (!w->started) continue;
        pthread_mutex_lock(&w->mu);
        while (!w->finished && w->init_rc == EGRET_OK) pthread_cond_wait(&w->idle, &w->mu);
        pthread_mutex_unlock(&w->mu);
    }
}

/* ==== public ==== */

static struct workers *create(int n, const egret_config *cfg, bool lossy, bool replay,
                              const volatile sig_atomic_t *stop, char err[EGRET_ERRBUF_SIZE])
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
    ws->stop = stop;
    ws->user_cb = cfg->on_event;
    ws->user_ud = cfg->event_ud;
    pthread_mutex_init(&ws->out_mu, NULL);
    pthread_mutex_init(&ws->build_mu, NULL);
    pthread_mutex_init(&ws->wait_mu, NULL);
    pthread_cond_init(&ws->wait_cv, NULL);
    ws->w = calloc((size_t)n, sizeof(worker));
    if (replay && ws->w) ws->chunks = calloc(CHUNK_SLOTS, sizeof(struct chunk));
    if (!ws->w || (replay && !ws->chunks)) {
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
        /* Signals go to the caller's thread (a blocked read there returns
         * EINTR), not to a worker: the threads start with all blocked. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int prc = pthread_create(&w->thread, NULL, replay ? reader_main : worker_main, w);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (prc != 0) {
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
    return create(n, cfg, lossy, false, NULL, err);
}

workers *workers_new_replay(int n, const egret_config *cfg, const volatile sig_atomic_t *stop,
                            char err[EGRET_ERRBUF_SIZE])
{
    return create(n, cfg, false, true, stop, err);
}

int workers_replay_file(workers *ws, cap_source *src, bool (*each)(void *, uint64_t, uint64_t),
                        void *ud, char err[CAP_ERRBUF_SIZE])
{
    struct rsrc *s = calloc(1, sizeof(*s));
    if (!s) {
        cap_close(src);
        snprintf(err, CAP_ERRBUF_SIZE, "out of memory");
        return CAP_ERROR;
    }
    s->cap = src;
    s->linktype = cap_linktype(src);
    s->copy = !cap_mapped(src);
    cap_release_manual(src); /* pages stay until the slowest worker is past them */
    atomic_init(&s->refs, ws->n);
    s->next = ws->srcs;
    ws->srcs = s;
    pthread_mutex_lock(&ws->build_mu);
    ws->cur = s;
    pthread_mutex_unlock(&ws->build_mu);
    replay_bump(ws);
    /* Files every worker is done with (not 'cur' any more, no chunk of
     * theirs left to run). */
    for (struct rsrc **pp = &s->next; *pp;) {
        struct rsrc *d = *pp;
        if (atomic_load_explicit(&d->closed, memory_order_acquire)) {
            *pp = d->next;
            free(d);
        } else {
            pp = &d->next;
        }
    }

    worker *w0 = &ws->w[0];
    int status = CAP_EBREAK;
    const struct chunk *k;
    while ((k = chunk_next(ws, w0))) {
        chunk_run(w0, k);
        bool last = k->last && k->src == s;
        uint32_t pkts = k->pkts;
        uint64_t bytes = k->bytes;
        if (last) { /* written before the chunk was published */
            status = s->status;
            snprintf(err, CAP_ERRBUF_SIZE, "%s", s->err);
        }
        chunk_done(ws, w0, k);
        if (!each(ud, pkts, bytes)) {
            atomic_store(&ws->halt, true);
            replay_bump(ws);
            return CAP_EBREAK;
        }
        if (last) return status;
    }
    return status; /* stopped */
}

void workers_feed(workers *ws, uint64_t ts_usec, int linktype, uint32_t caplen, uint32_t len,
                  const uint8_t *data)
{
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
        replay_end_input(ws);
        uint64_t t = replay_max_ts(ws);
        if (t) egret_engine_advance(w0->eng, t);
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
    /* Every worker thread frees its own engine, in parallel, and ends. */
    rec stop = {REC_STOP, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; ws->w && i < ws->n; i++) {
        worker *w = &ws->w[i];
        if (!w->started || w->init_rc != EGRET_OK) continue; /* failed: already returned */
        if (!ws->replay) {
            push(w, &stop, NULL, false);
            continue;
        }
        pthread_mutex_lock(&w->mu);
        w->release = true;
        pthread_cond_broadcast(&w->can_read);
        pthread_mutex_unlock(&w->mu);
    }
    if (ws->replay && ws->w) { /* worker 0 is the caller's thread */
        batch_flush(&ws->w[0]);
        egret_engine_free(ws->w[0].eng);
        ws->w[0].eng = NULL;
    }
    for (int i = 0; ws->w && i < ws->n; i++)
        if (ws->w[i].started) pthread_join(ws->w[i].thread, NULL);
    for (int i = 0; ws->w && i < ws->n; i++) {
        worker *w = &ws->w[i];
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
    while (ws->srcs) { /* files a stop left open */
        struct rsrc *s = ws->srcs;
        ws->srcs = s->next;
        cap_close(s->cap);
        free(s);
    }
    for (unsigned i = 0; ws->chunks && i < CHUNK_SLOTS; i++) free(ws->chunks[i].copy);
    free(ws->chunks);
    free(ws->w);
    pthread_mutex_destroy(&ws->out_mu);
    pthread_mutex_destroy(&ws->build_mu);
    pthread_mutex_destroy(&ws->wait_mu);
    pthread_cond_destroy(&ws->wait_cv);
    free(ws);
}
