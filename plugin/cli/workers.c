/*
 * workers.c -- N worker threads over one shared walk of the input, and the
 * single serialised writer (see workers.h).
 *
 * There is no capture thread.  The input (savefiles, standard input or a
 * live interface) is read in chunks of up to CHUNK_PKTS packets.  A chunk
 * lists every packet of its stretch of input with the worker it belongs to
 * (egret_engine_shard: everything one internal host does goes to one
 * worker) and the time ticks in between; every worker goes through every
 * chunk in order, feeds its own packets and applies every tick.  So each
 * worker sees the packets and the ticks one engine would, in the same
 * order, and nothing but its shard; per-host state needs no lock.
 *
 * The worker that first needs a chunk that is not built yet builds it (one
 * at a time, under build_mu), and the worker ahead keeps CHUNK_AHEAD chunks
 * built: reading and sharding fall to whichever worker is ahead, so the
 * shares even out.  Chunks live in a bounded ring of CHUNK_SLOTS slots; a
 * slot is reused once every worker is past it.  Packets of a mapped file
 * are referred to in place (the source gives pages back only behind the
 * slowest worker, cap_keep_from); packets read from a stream (pcapng,
 * standard input, live) are copied into the slot, up to CHUNK_COPY bytes a
 * chunk.  Nothing is dropped here: a full ring makes the worker ahead wait.
 * A live capture then buffers in the kernel's ring (-B), and what the
 * kernel drops when that is full is counted in the capture counters.  A
 * pipe is read by worker 0 alone: a read there may wait for ever, and only
 * the caller's thread gets the stop signal that breaks it.  After a stop,
 * every worker still runs the chunks already built.
 *
 * Time: every whole second of packet time is a tick before the packet that
 * crosses it (so N engines end idle flows at the same points as one).  A
 * live capture also ticks on wall-clock time, at every idle read timeout
 * and at least once a second, with the capture counters for worker 0.
 *
 * Live on Linux, kernel fanout replaces all of this (see "kernel fanout"
 * below): each worker reads a capture of its own.
 *
 * The caller's thread is worker 0.  It opens each input and hands it over
 * with workers_run, which returns once worker 0 is past the input's last
 * chunk.  State changes that a waiting worker may need (a chunk built, a
 * slot freed, an input handed over, the end of input, a stop) bump 'gen';
 * a worker that can do nothing hands its records to the writer and sleeps
 * until gen moves, or 100 ms pass (a stop signal cannot wake it).
 */
#include "workers.h"

#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_BYTES (64u << 10) /* a worker hands its records over from this size */
#define BATCH_MAX   (1u << 20)  /* and waits for a busy writer from this one */

#define CHUNK_PKTS      256u         /* packets a chunk holds at most */
#define CHUNK_SLOTS     64u          /* chunks in the ring */
#define CHUNK_COPY      (256u << 10) /* copied packet bytes that end a chunk */
#define CHUNK_AHEAD     4u           /* chunks the worker ahead keeps built */
#define MAX_WORKERS     256
#define PENT_TICK       UINT32_MAX       /* pent.caplen of a tick: advance the engine to ts */
#define PENT_STATS      (UINT32_MAX - 1) /* of the capture counters (worker 0's part) */
#define PENT_LINKTYPE   (UINT32_MAX - 2) /* packets from here on have link type pent.len */
#define PENT_FILEEV     (UINT32_MAX - 3) /* file events pent.len (worker 0's part) */
#define PREFETCH_AHEAD  2u               /* a worker's packets whose headers it prefetches */
#define WALL_TICK_US    1000000u
#define LIVE_BATCH      16  /* live packets read per call (bounds a chunk's copy) */
#define FAN_BATCH       64  /* fanout: packets read per call */
#define FAN_WAIT_MS     100 /* fanout: longest wait for a packet (a stop is seen this fast) */
#define FAN_CHECK_EVERY 16  /* fanout: packets checked against the C shard, one in this many */

/* Packet time as the workers see it: the tick (usec) due before a packet
 * at 'ts', or 0. */
struct pkt_clock {
    uint64_t last_sec; /* last whole second ticked */
    uint64_t next;     /* (last_sec + 1) s in usec: packets before it tick nothing */
    uint64_t max_ts;   /* latest packet time */
};

static uint64_t clock_step(struct pkt_clock *c, uint64_t ts)
{
    uint64_t tick = 0;
    if (ts >= c->next) { /* a later whole second: one division per second, not per packet */
        c->last_sec = ts / 1000000u;
        c->next = (c->last_sec + 1) * 1000000u;
        tick = c->last_sec * 1000000u;
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
    pthread_mutex_t mu; /* the flags below */
    pthread_cond_t cv;
    bool is_ready;                     /* engine made (or failed) */
    bool finished;                     /* past the end of input and flushed */
    bool release;                      /* free the engine and end */
    _Atomic bool reload_req;           /* SIGHUP: reload before the next chunk */
    alignas(64) _Atomic uint64_t done; /* chunks this worker is past */
    out_batch out;                     /* records waiting for the writer */
    /* kernel fanout (workers_run_fanout) */
    _Atomic bool fan_out;        /* no longer reads its capture */
    _Atomic uint64_t fan_max;    /* latest packet time it has seen */
    _Atomic uint64_t cap_st[3];  /* its capture's counters, at its last tick */
    uint64_t checked, misplaced; /* fanout: packets checked against egret_engine_shard; off it */
    int fan_status;              /* CAP_EBREAK, or CAP_ERROR with fan_err */
    char fan_err[CAP_ERRBUF_SIZE];
} worker;

/* One input handed over with workers_run. */
struct rsrc {
    cap_source *cap;     /* NULL once closed */
    int linktype;        /* under build_mu: of the last packet read (pcapng mixes them) */
    bool copy;           /* libpcap's buffer: packets are copied */
    bool live;           /* wall-clock ticks, capture counters */
    bool main_only;      /* a read may block: only worker 0 reads (a stop signal reaches it) */
    bool keep;           /* the caller closes it (live, or a pipe) */
    bool ended;          /* under build_mu: its last chunk is built */
    int status;          /* CAP_EOF or CAP_ERROR, set with 'ended' */
    uint64_t last_wall;  /* live, under build_mu: the last wall-clock tick */
    uint64_t last_ts;    /* live, under build_mu: the latest packet time */
    _Atomic int refs;    /* workers not yet past its last chunk */
    _Atomic bool closed; /* all are: the caller may free it */
    char err[CAP_ERRBUF_SIZE];
    struct rsrc *next; /* inputs handed over and not yet freed (caller's thread) */
};

typedef struct pent {
    uint64_t off;    /* the packet's address, or its offset in the slot's copy */
    uint64_t ts;     /* packet time, or the tick */
    uint32_t caplen; /* or PENT_TICK, PENT_STATS, PENT_LINKTYPE, PENT_FILEEV */
    uint32_t len;
} pent;

/* One worker's part of a chunk: its packets and every tick, in order (a
 * worker reads only its own entries, one after another). */
typedef struct part {
    pent *e;
    uint32_t n, cap;
} part;

struct chunk {
    struct rsrc *src;
    bool last;            /* the input's last chunk */
    int linktype;         /* of its first packet (PENT_LINKTYPE entries change it) */
    uint32_t pkts;        /* packets in the chunk */
    uint64_t bytes;       /* their captured bytes */
    uint64_t stats[3];    /* PENT_STATS: received, dropped, dropped by the interface */
    const uint8_t *first; /* mapped: the first packet's bytes (release mark) */
    uint8_t *copy;        /* copied packets (src->copy) */
    size_t copy_len, copy_cap;
    part *parts; /* one per worker */
};

struct workers {
    int n;
    worker *w;
    egret_config cfg; /* each worker creates its engine from it */
    egret_event_cb user_cb;
    void *user_ud;
    pthread_mutex_t out_mu;             /* the single writer */
    const volatile sig_atomic_t *stop;  /* the caller's stop flag */
    bool joined;                        /* caller's thread */
    _Atomic bool live;                  /* alerts and stats go out at once */
    _Atomic bool abort;                 /* workers_free before the end */
    _Atomic bool halt;                  /* the caller stopped reading */
    struct chunk *chunks;               /* CHUNK_SLOTS */
    pthread_mutex_t build_mu;           /* one builder at a time; guards the next three */
    struct pkt_clock clock;             /* packet time of everything read */
    struct rsrc *cur;                   /* the input being read */
    bool input_done;                    /* no input will follow */
    alignas(64) _Atomic uint64_t built; /* chunks published */
    _Atomic uintptr_t walk_at;          /* mapped or live: where the next chunk starts, or 0 */
    _Atomic size_t walk_span;           /* and the bytes the last one spanned */
    struct rsrc *srcs;                  /* caller's thread */
    cap_source **fan_srcs;              /* fanout: worker i reads fan_srcs[i] */
    _Atomic bool fan;                   /* fan_srcs is set */
    alignas(64) _Atomic uint64_t gen;   /* bumped at every change a worker may wait for */
    _Atomic int sleepers;
    pthread_mutex_t wait_mu;
    pthread_cond_t wait_cv;
    cpu_set_t cpus; /* the process's CPUs (workers start on one, then widen to all) */
    bool cpus_ok;
};

/* ==== output serialisation ====
 *
 * One writer: the caller's callback runs under out_mu.  Each worker hands
 * its records over in batches, one lock per batch rather than per record
 * (per record, the two threads of a 2-worker replay slept on the lock some
 * 300 times).  From BATCH_BYTES a worker hands its batch over whenever the
 * writer is free, and waits for it only from BATCH_MAX.  A batch also goes
 * out when the worker has nothing to do, after an alert or stats record of
 * a live capture (a tailing SIEM sees them at once), and when the worker
 * flushes or ends.  A worker's records keep their order; records of
 * different workers interleave. */

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
    if ((ev->type == EGRET_EV_ALERT || ev->type == EGRET_EV_STATS) &&
        atomic_load_explicit(&ws->live, memory_order_relaxed))
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

static void worker_reload(worker *w)
{
    char err[EGRET_ERRBUF_SIZE] = "";
    if (egret_engine_reload(w->eng, err) != EGRET_OK && err[0])
        fprintf(stderr, "egret: worker %d: warning: %s\n", w->id, err);
}

/* ==== waiting ==== */

static bool stopped(const struct workers *ws)
{
    return atomic_load_explicit(&ws->abort, memory_order_relaxed) ||
           atomic_load_explicit(&ws->halt, memory_order_relaxed) || *ws->stop;
}

static void bump(struct workers *ws)
{
    atomic_fetch_add(&ws->gen, 1);
    if (atomic_load(&ws->sleepers) == 0) return;
    pthread_mutex_lock(&ws->wait_mu);
    pthread_cond_broadcast(&ws->wait_cv);
    pthread_mutex_unlock(&ws->wait_mu);
}

/* Sleeps until 'gen' differs from 'seen' (or 100 ms pass).  Both sides
 * use sequentially consistent operations on gen and sleepers, so either
 * the sleeper sees the new gen or the bumper sees the sleeper. */
static void wait_gen(struct workers *ws, uint64_t seen)
{
    pthread_mutex_lock(&ws->wait_mu);
    atomic_fetch_add(&ws->sleepers, 1);
    if (atomic_load(&ws->gen) == seen && !stopped(ws)) {
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
static uint64_t min_done(const struct workers *ws)
{
    uint64_t low = UINT64_MAX;
    for (int i = 0; i < ws->n; i++) {
        uint64_t d = atomic_load_explicit(&ws->w[i].done, memory_order_acquire);
        if (d < low) low = d;
    }
    return low;
}

/* ==== building chunks ==== */

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

static uint64_t wall_usec(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
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
    uint64_t now = wall_usec();
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
    uint64_t tick = clock_step(&ws->clock, pkt->ts_usec);
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
    uint64_t low = min_done(ws);
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
    bump(ws);
    return true;
}

/* The next chunk for worker w, built by w if no one has; NULL at the end
 * of input, or on a stop once the chunks already built are done (what was
 * read before the stop is processed by every worker), or at once when the
 * workers are being freed. */
static struct chunk *chunk_next(struct workers *ws, worker *w)
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
            if (b - c < CHUNK_AHEAD && !stopped(ws) && pthread_mutex_trylock(&ws->build_mu) == 0) {
                if (atomic_load_explicit(&ws->built, memory_order_relaxed) - c < CHUNK_AHEAD)
                    (void)chunk_build(ws, w, false); /* a live capture: what is buffered */
                pthread_mutex_unlock(&ws->build_mu);
            }
            return &ws->chunks[c % CHUNK_SLOTS];
        }
        if (stopped(ws)) return NULL;
        if (pthread_mutex_trylock(&ws->build_mu) == 0) {
            bool built = c < atomic_load_explicit(&ws->built, memory_order_relaxed) ||
                         chunk_build(ws, w, true);
            bool end = !built && ws->input_done && (!ws->cur || ws->cur->ended);
            pthread_mutex_unlock(&ws->build_mu);
            if (built) continue;
            if (end) return NULL;
            batch_flush(w);        /* nothing to do: records go out now */
            wait_gen(ws, seen);    /* no input yet, or the ring is full */
        } else if (++spins < 64) { /* another worker is building: soon done */
            sched_yield();
        } else {
            spins = 0;
            batch_flush(w);
            wait_gen(ws, seen);
        }
    }
}

/* Worker w's part of chunk k. */
static void chunk_run(worker *w, const struct chunk *k)
{
    const struct rsrc *s = k->src;
    const uint8_t *copy = s->copy ? k->copy : NULL;
    const part *p = &k->parts[w->id];
    int linktype = k->linktype;
    if (atomic_load_explicit(&w->reload_req, memory_order_relaxed) &&
        atomic_exchange(&w->reload_req, false))
        worker_reload(w);
    /* The worker ahead builds the next chunk when it is done with this
     * one.  Reading a mapped file's next stretch, or a live capture's next
     * packets in the kernel's ring, is a chain of dependent loads (each
     * record's length gives the next one's place), cache misses in a row;
     * so while it runs its own packets, it pulls the stretch in, a few
     * lines per packet, and the walk then finds it in cache.  The stretch
     * is guessed from the last chunk's size (across a ring's end the guess
     * is wasted, not wrong: a prefetch never faults). */
    uintptr_t pf = 0, pf_end = 0, pf_step = 0; /* addresses: prefetch never faults */
    struct workers *ws = w->owner;
    uint64_t c = atomic_load_explicit(&w->done, memory_order_relaxed);
    if (atomic_load_explicit(&ws->built, memory_order_relaxed) - c <= CHUNK_AHEAD) {
        pf = atomic_load_explicit(&ws->walk_at, memory_order_relaxed);
        size_t span = atomic_load_explicit(&ws->walk_span, memory_order_relaxed);
        if (pf && span) {
            pf_end = pf + span;
            pf_step = (span / 64 / (p->n ? p->n : 1) + 1) * 64;
        }
    }
    for (uint32_t i = 0; i < p->n; i++) {
        const pent *e = &p->e[i];
        if (e->caplen == PENT_TICK) {
            egret_engine_advance(w->eng, e->ts);
        } else if (e->caplen == PENT_STATS) {
            egret_engine_set_capture_stats(w->eng, k->stats[0], k->stats[1], k->stats[2]);
        } else if (e->caplen == PENT_LINKTYPE) {
            linktype = (int)e->len;
        } else if (e->caplen == PENT_FILEEV) {
            if (e->len & CAP_EV_OVERSIZE)
                egret_engine_file_event(w->eng, EGRET_FILE_EV_RECORD_OVER_SNAPLEN);
        } else {
            if (i + PREFETCH_AHEAD < p->n) { /* the headers of a packet to come */
                const pent *f = &p->e[i + PREFETCH_AHEAD];
                __builtin_prefetch(copy ? copy + f->off : (const uint8_t *)(uintptr_t)f->off);
            }
            for (uintptr_t q = pf + pf_step; pf < pf_end && pf < q; pf += 64)
                __builtin_prefetch((const void *)pf);
            const uint8_t *data = copy ? copy + e->off : (const uint8_t *)(uintptr_t)e->off;
            egret_engine_feed(w->eng, e->ts, linktype, e->caplen, e->len, data);
        }
    }
}

/* Worker w is past chunk k: the last worker past a file closes it (the
 * caller closes a live capture). */
static void chunk_done(struct workers *ws, worker *w, const struct chunk *k)
{
    struct rsrc *s = k->src;
    if (k->last && atomic_fetch_sub(&s->refs, 1) == 1) {
        if (!s->keep) {
            cap_close(s->cap);
            s->cap = NULL;
        }
        atomic_store_explicit(&s->closed, true, memory_order_release);
    }
    atomic_fetch_add_explicit(&w->done, 1, memory_order_release);
    bump(ws);
}

/* The time every engine ends its flows at, at the end of input. */
static uint64_t max_ts(struct workers *ws)
{
    pthread_mutex_lock(&ws->build_mu);
    uint64_t t = ws->clock.max_ts;
    pthread_mutex_unlock(&ws->build_mu);
    for (int i = 0; i < ws->n; i++) {
        uint64_t f = atomic_load_explicit(&ws->w[i].fan_max, memory_order_relaxed);
        if (f > t) t = f;
    }
    return t;
}

/* ==== kernel fanout ====
 *
 * Live, on Linux: each worker reads its own capture socket, and the kernel
 * hands every packet to the socket of its worker (cap_open_fanout runs
 * egret_engine_shard_bpf's program).  No chunks, no copies, no packet
 * crosses a core.  Each worker keeps its own packet clock (a tick before
 * the packet that crosses a whole second) and ticks on wall-clock time at
 * least once a second, with its capture's counters; worker 0's engine gets
 * the sum of all of them.  One packet in FAN_CHECK_EVERY is also checked
 * against egret_engine_shard (every one cost 4 % of a worker's time): one
 * the kernel placed elsewhere (test_shard lists the malformed frames where
 * the program and the C shard part ways) is still processed here, and
 * counted (workers_misplaced). */

struct fan {
    struct workers *ws;
    worker *w;
    int linktype;
    struct pkt_clock clock;
    uint64_t pkts, bytes;
    uint64_t seen, checked, misplaced; /* packets; those checked; off their shard */
};

static void fan_feed(void *ud, const cap_packet *pkt)
{
    struct fan *f = ud;
    egret_engine *e = f->w->eng;
    uint64_t tick = clock_step(&f->clock, pkt->ts_usec);
    if (tick) egret_engine_advance(e, tick);
    if (f->seen++ % FAN_CHECK_EVERY == 0) {
        f->checked++;
        if (egret_engine_shard(e, f->linktype, pkt->data, pkt->caplen) % (uint32_t)f->ws->n !=
            (uint32_t)f->w->id)
            f->misplaced++;
    }
    egret_engine_feed(e, pkt->ts_usec, f->linktype, pkt->caplen, pkt->len, pkt->data);
    f->pkts++;
    f->bytes += pkt->caplen;
}

/* Worker w reads its capture until a stop or an error.  'each' (worker 0)
 * as in workers_run. */
static void fan_loop(struct workers *ws, worker *w, bool (*each)(void *, uint64_t, uint64_t),
                     void *ud)
{
    cap_source *s = ws->fan_srcs[w->id];
    struct fan f = {.ws = ws, .w = w, .linktype = cap_linktype(s)};
    uint64_t last_wall = wall_usec();
    w->fan_status = CAP_EBREAK;
    cap_set_wait(s, FAN_WAIT_MS);
    while (!stopped(ws)) {
        if (atomic_load_explicit(&w->reload_req, memory_order_relaxed) &&
            atomic_exchange(&w->reload_req, false))
            worker_reload(w);
        int rc = cap_dispatch(s, FAN_BATCH, true, fan_feed, &f);
        if (rc == CAP_ERROR) {
            w->fan_status = CAP_ERROR;
            snprintf(w->fan_err, sizeof(w->fan_err), "%s", cap_geterr(s));
            break;
        }
        if (rc == CAP_EBREAK) break;
        atomic_store_explicit(&w->fan_max, f.clock.max_ts, memory_order_relaxed);
        uint64_t now = wall_usec();
        if (now - last_wall >= WALL_TICK_US || now < last_wall) {
            last_wall = now;
            uint64_t st[3];
            if (cap_stats(s, &st[0], &st[1], &st[2]) == 0)
                for (int j = 0; j < 3; j++) atomic_store(&w->cap_st[j], st[j]);
            if (w->id == 0) {
                uint64_t sum[3] = {0, 0, 0};
                for (int i = 0; i < ws->n; i++)
                    for (int j = 0; j < 3; j++) sum[j] += atomic_load(&ws->w[i].cap_st[j]);
                egret_engine_set_capture_stats(w->eng, sum[0], sum[1], sum[2]);
            }
            egret_engine_advance(w->eng, now > f.clock.max_ts ? now : f.clock.max_ts);
        }
        if (each && !each(ud, f.pkts, f.bytes)) break;
        f.pkts = f.bytes = 0;
        if (rc == CAP_TIMEOUT) batch_flush(w); /* idle: records go out now */
    }
    w->checked = f.checked;
    w->misplaced = f.misplaced;
    /* one worker out (stop, error, or the caller's 'each'): all out */
    atomic_store(&ws->halt, true);
    bump(ws);
}

/* ==== threads ==== */

/* glibc gives each worker thread a malloc arena of its own, and grows it
 * by what each allocation needs: one mprotect per page of new high water.
 * That was 2,600 mprotect calls in a 2-worker replay (most while the
 * engine was made), each taking the address-space lock that the other
 * worker's page faults also need.  Blocks just under the mmap threshold,
 * allocated and freed at the thread's start, raise the high water in 128
 * KiB steps instead; the freed pages go back (glibc trims the arena with
 * MADV_DONTNEED), only the mapping's permission stays.  Not with
 * AddressSanitizer (its own allocator). */
#define ARENA_STEP  (128u * 1024u - 4096u) /* below glibc's default mmap threshold */
#define ARENA_STEPS 384                    /* about 48 MiB */

static void arena_pregrow(void)
{
#if !defined(__SANITIZE_ADDRESS__)
    void *blk[ARENA_STEPS];
    int n = 0;
    while (n < ARENA_STEPS && (blk[n] = malloc(ARENA_STEP)) != NULL) n++;
    for (int i = 0; i < n; i++) free(blk[i]); /* the last one joins the top: one trim */
#endif
}

/* Workers 1..n-1: every chunk until the end of input, then the end of
 * their flows; the engine stays for the caller's counters until
 * workers_free, and then each worker frees its own, in parallel. */
static void *worker_main(void *arg)
{
    worker *w = arg;
    struct workers *ws = w->owner;
    if (ws->cpus_ok) (void)pthread_setaffinity_np(pthread_self(), sizeof(ws->cpus), &ws->cpus);
    arena_pregrow();
    char name[16];
    snprintf(name, sizeof(name), "egret-w%d", w->id);
    pthread_setname_np(pthread_self(), name);
    w->init_rc = worker_engine_new(w);
    if (w->init_rc != EGRET_OK) atomic_store(&w->done, UINT64_MAX / 2); /* holds no slot */
    pthread_mutex_lock(&w->mu);
    w->is_ready = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->init_rc != EGRET_OK) return NULL;

    const struct chunk *k;
    while ((k = chunk_next(ws, w))) {
        chunk_run(w, k);
        chunk_done(ws, w, k);
    }
    if (atomic_load_explicit(&ws->fan, memory_order_acquire) && !atomic_load(&ws->abort))
        fan_loop(ws, w, NULL, NULL);
    atomic_store(&w->fan_out, true);
    atomic_store(&w->done, UINT64_MAX / 2); /* holds no slot any more */
    bump(ws);
    if (!atomic_load(&ws->abort)) {
        uint64_t t = max_ts(ws);
        if (t) egret_engine_advance(w->eng, t);
        egret_engine_flush(w->eng);
    }
    batch_flush(w);
    pthread_mutex_lock(&w->mu);
    w->finished = true;
    pthread_cond_broadcast(&w->cv);
    while (!w->release) pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    egret_engine_free(w->eng);
    w->eng = NULL;
    return NULL;
}

/* No input will follow: the other workers end their flows as soon as they
 * are past the last chunk. */
static void end_input(struct workers *ws)
{
    pthread_mutex_lock(&ws->build_mu);
    ws->input_done = true;
    pthread_mutex_unlock(&ws->build_mu);
    bump(ws);
}

/* Waits until every other worker is past the end of input and flushed. */
static void join_all(struct workers *ws)
{
    if (ws->joined) return;
    ws->joined = true;
    end_input(ws);
    for (int i = 1; ws->w && i < ws->n; i++) {
        worker *w = &ws->w[i];
        if (!w->started) continue;
        pthread_mutex_lock(&w->mu);
        while (!w->finished && w->init_rc == EGRET_OK) pthread_cond_wait(&w->cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
    }
}

/* Where worker i starts: a CPU of the process's set other than the
 * caller's.  Left to the scheduler, a new thread waited 0.5-4 ms to run
 * (it queued behind its busy parent until a balance moved it) while the
 * caller made worker 0's engine; started on another CPU it runs within
 * 0.1 ms.  The worker then widens its own set again (worker_main). */
static void start_elsewhere(struct workers *ws, pthread_attr_t *attr, int i)
{
    if (!ws->cpus_ok || CPU_COUNT(&ws->cpus) < 2) return;
    int here = sched_getcpu(), seen = 0, want = (i - 1) % (CPU_COUNT(&ws->cpus) - 1);
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &ws->cpus) || c == here) continue;
        if (seen++ < want) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        (void)pthread_attr_setaffinity_np(attr, sizeof(one), &one);
        return;
    }
}

/* ==== public ==== */

workers *workers_new(int n, const egret_config *cfg, const volatile sig_atomic_t *stop,
                     char err[EGRET_ERRBUF_SIZE])
{
    struct workers *ws = calloc(1, sizeof(*ws));
    if (!ws || n < 1 || n > MAX_WORKERS) {
        snprintf(err, EGRET_ERRBUF_SIZE, "workers: %s",
                 ws ? "need 1 to 256 workers" : "out of memory");
        free(ws);
        return NULL;
    }
    ws->n = n;
    ws->stop = stop;
    ws->user_cb = cfg->on_event;
    ws->user_ud = cfg->event_ud;
    pthread_mutex_init(&ws->out_mu, NULL);
    pthread_mutex_init(&ws->build_mu, NULL);
    pthread_mutex_init(&ws->wait_mu, NULL);
    pthread_cond_init(&ws->wait_cv, NULL);
    ws->w = calloc((size_t)n, sizeof(worker));
    ws->chunks = ws->w ? calloc(CHUNK_SLOTS, sizeof(struct chunk)) : NULL;
    bool parts = ws->chunks != NULL;
    for (unsigned i = 0; parts && i < CHUNK_SLOTS; i++)
        parts = (ws->chunks[i].parts = calloc((size_t)n, sizeof(part))) != NULL;
    if (!parts) {
        snprintf(err, EGRET_ERRBUF_SIZE, "workers: out of memory");
        workers_free(ws);
        return NULL;
    }
    ws->cfg = *cfg;
    ws->cfg.on_event = on_event_batched; /* event_ud: the worker, see worker_engine_new */
    ws->cpus_ok = sched_getaffinity(0, sizeof(ws->cpus), &ws->cpus) == 0;
    for (int i = 0; i < n; i++) {
        worker *w = &ws->w[i];
        w->owner = ws;
        w->id = i;
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
    }
    for (int i = 1; i < n; i++) {
        worker *w = &ws->w[i];
        /* Signals go to the caller's thread (a blocked read there returns
         * EINTR), not to a worker: the threads start with all blocked. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pthread_attr_t attr;
        bool attr_ok = pthread_attr_init(&attr) == 0;
        if (attr_ok) start_elsewhere(ws, &attr, i);
        int rc = pthread_create(&w->thread, attr_ok ? &attr : NULL, worker_main, w);
        if (attr_ok) pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
            snprintf(err, EGRET_ERRBUF_SIZE, "workers: cannot start thread %d", i);
            workers_free(ws);
            return NULL;
        }
        w->started = true;
    }
    /* worker 0's engine, while the others make theirs */
    int failed = -1;
    worker *w0 = &ws->w[0];
    w0->init_rc = worker_engine_new(w0);
    w0->is_ready = true;
    if (w0->init_rc != EGRET_OK) {
        atomic_store(&w0->done, UINT64_MAX / 2);
        failed = 0;
    }
    for (int i = 1; i < n; i++) { /* every engine is up before any packet */
        worker *w = &ws->w[i];
        pthread_mutex_lock(&w->mu);
        while (!w->is_ready) pthread_cond_wait(&w->cv, &w->mu);
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

int workers_run(workers *ws, cap_source *src, bool live, bool (*each)(void *, uint64_t, uint64_t),
                void *ud, char err[CAP_ERRBUF_SIZE])
{
    err[0] = '\0';
    struct rsrc *s = calloc(1, sizeof(*s));
    if (!s) {
        if (!live) cap_close(src);
        snprintf(err, CAP_ERRBUF_SIZE, "out of memory");
        return CAP_ERROR;
    }
    s->cap = src;
    s->linktype = cap_linktype(src);
    s->copy = !cap_mapped(src);
    s->live = live;
    /* A read from a pipe can wait for its writer for ever, and a stop
     * signal reaches only the caller's thread: worker 0 alone reads it, and
     * the caller closes it (its signal handler may still hold it). */
    s->main_only = !live && cap_may_block(src);
    s->keep = live || s->main_only;
    s->last_wall = wall_usec();
    cap_release_manual(src); /* pages stay until the slowest worker is past them */
    atomic_init(&s->refs, ws->n);
    s->next = ws->srcs;
    ws->srcs = s;
    if (live) atomic_store(&ws->live, true);
    pthread_mutex_lock(&ws->build_mu);
    ws->cur = s;
    pthread_mutex_unlock(&ws->build_mu);
    bump(ws);
    /* Inputs every worker is done with (not 'cur' any more, no chunk of
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
    int status = CAP_EBREAK; /* stopped */
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
        if (!each(ud, pkts, bytes) && !atomic_load(&ws->halt)) {
            atomic_store(&ws->halt, true); /* no more reading; the chunks built are run */
            bump(ws);
        }
        if (last) break;
    }
    /* No worker reads the input any more: the caller may close a live one. */
    pthread_mutex_lock(&ws->build_mu);
    s->ended = true;
    pthread_mutex_unlock(&ws->build_mu);
    return status;
}

int workers_run_fanout(workers *ws, cap_source **srcs, bool (*each)(void *, uint64_t, uint64_t),
                       void *ud, char err[CAP_ERRBUF_SIZE])
{
    err[0] = '\0';
    atomic_store(&ws->live, true);
    ws->fan_srcs = srcs;
    atomic_store_explicit(&ws->fan, true, memory_order_release);
    bump(ws);
    worker *w0 = &ws->w[0];
    fan_loop(ws, w0, each, ud);
    for (;;) { /* until no worker reads its capture: the caller closes them */
        uint64_t seen = atomic_load(&ws->gen);
        bool out = true;
        for (int i = 1; i < ws->n; i++) {
            worker *w = &ws->w[i];
            if (w->started && w->init_rc == EGRET_OK && !atomic_load(&w->fan_out)) out = false;
        }
        if (out) break;
        wait_gen(ws, seen);
    }
    for (int i = 0; i < ws->n; i++)
        if (ws->w[i].fan_status == CAP_ERROR) {
            snprintf(err, CAP_ERRBUF_SIZE, "%s", ws->w[i].fan_err);
            return CAP_ERROR;
        }
    return CAP_EBREAK;
}

int workers_shard_bpf(workers *ws, egret_bpf_insn *prog, size_t cap)
{
    return egret_engine_shard_bpf(ws->w[0].eng, (uint32_t)ws->n, prog, cap);
}

uint64_t workers_misplaced(workers *ws, uint64_t *checked)
{
    join_all(ws);
    uint64_t m = 0;
    *checked = 0;
    for (int i = 0; i < ws->n; i++) {
        m += ws->w[i].misplaced;
        *checked += ws->w[i].checked;
    }
    return m;
}

void workers_set_capture_stats(workers *ws, uint64_t recv, uint64_t drop, uint64_t ifdrop)
{
    egret_engine_set_capture_stats(ws->w[0].eng, recv, drop, ifdrop);
}

void workers_reload(workers *ws)
{
    for (int i = 0; i < ws->n; i++) atomic_store(&ws->w[i].reload_req, true);
}

void workers_flush(workers *ws)
{
    worker *w0 = &ws->w[0];
    end_input(ws); /* the others end their flows while worker 0 does */
    uint64_t t = max_ts(ws);
    if (t) egret_engine_advance(w0->eng, t);
    egret_engine_flush(w0->eng);
    batch_flush(w0);
    join_all(ws);
}

size_t workers_packets(workers *ws, uint64_t *out, size_t n)
{
    join_all(ws);
    size_t k = 0;
    for (int i = 0; i < ws->n && k < n; i++) {
        egret_counters c;
        egret_engine_counters(ws->w[i].eng, &c);
        out[k++] = c.packets;
    }
    return k;
}

void workers_counters(workers *ws, egret_counters *out)
{
    join_all(ws);
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < ws->n; i++) {
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
    }
}

static int host_cmp(const void *a, const void *b)
{
    const egret_host_stat *x = a, *y = b;
    if (x->bytes_out != y->bytes_out) return x->bytes_out < y->bytes_out ? 1 : -1;
    return strcmp(x->addr, y->addr);
}

size_t workers_top_hosts(workers *ws, egret_host_stat *out, size_t n)
{
    join_all(ws);
    /* A host lives on one worker, so per-worker tops merge by sorting. */
    size_t cap = n * (size_t)ws->n, m = 0;
    egret_host_stat *all = calloc(cap ? cap : 1, sizeof(*all));
    if (!all) return 0;
    for (int i = 0; i < ws->n; i++) m += egret_engine_top_hosts(ws->w[i].eng, all + m, n);
    qsort(all, m, sizeof(*all), host_cmp);
    size_t k = m < n ? m : n;
    memcpy(out, all, k * sizeof(*out));
    free(all);
    return k;
}

void workers_free(workers *ws)
{
    if (!ws) return;
    atomic_store(&ws->abort, true);
    join_all(ws);
    /* Every worker frees its own engine, in parallel, and ends. */
    for (int i = 1; ws->w && i < ws->n; i++) {
        worker *w = &ws->w[i];
        if (!w->started || w->init_rc != EGRET_OK) continue; /* failed: already returned */
        pthread_mutex_lock(&w->mu);
        w->release = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    if (ws->w) {
        batch_flush(&ws->w[0]); /* records already made are written, even on abort */
        egret_engine_free(ws->w[0].eng);
        ws->w[0].eng = NULL;
    }
    for (int i = 0; ws->w && i < ws->n; i++) {
        worker *w = &ws->w[i];
        if (w->started) pthread_join(w->thread, NULL);
        batch_flush(w);
        free(w->out.buf);
        free(w->out.ev);
        egret_engine_free(w->eng);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
    }
    while (ws->srcs) { /* files a stop left open (live ones are the caller's) */
        struct rsrc *s = ws->srcs;
        ws->srcs = s->next;
        if (!s->keep) cap_close(s->cap);
        free(s);
    }
    for (unsigned i = 0; ws->chunks && i < CHUNK_SLOTS; i++) {
        struct chunk *k = &ws->chunks[i];
        for (int j = 0; k->parts && j < ws->n; j++) free(k->parts[j].e);
        free(k->parts);
        free(k->copy);
    }
    free(ws->chunks);
    free(ws->w);
    pthread_mutex_destroy(&ws->out_mu);
    pthread_mutex_destroy(&ws->build_mu);
    pthread_mutex_destroy(&ws->wait_mu);
    pthread_cond_destroy(&ws->wait_cv);
    free(ws);
}
