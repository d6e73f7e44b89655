/*
 * workers_int.h -- what the files of the workers share (workers.c, the
 * threads and chunk running; workers_chunks.c, building chunks;
 * workers_out.c, the single writer; workers_fanout.c, kernel fanout).
 * Not for the rest of the CLI, which uses workers.h.
 */
#ifndef EGRET_CLI_WORKERS_INT_H
#define EGRET_CLI_WORKERS_INT_H

#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "capture.h"
#include "egret.h"
#include "egret_tools.h"

#define CHUNK_PKTS     256u         /* packets a chunk holds at most */
#define CHUNK_SLOTS    64u          /* chunks in the ring */
#define CHUNK_COPY     (256u << 10) /* copied packet bytes that end a chunk */
#define CHUNK_AHEAD    4u           /* chunks the worker ahead keeps built */
#define MAX_WORKERS    256
#define PENT_TICK      UINT32_MAX       /* pent.caplen of a tick: advance the engine to ts */
#define PENT_STATS     (UINT32_MAX - 1) /* of the capture counters (worker 0's part) */
#define PENT_LINKTYPE  (UINT32_MAX - 2) /* packets from here on have link type pent.len */
#define PENT_FILEEV    (UINT32_MAX - 3) /* file events pent.len (worker 0's part) */
#define PREFETCH_AHEAD 2u               /* a worker's packets whose headers it prefetches */
#define WALL_TICK_US   1000000u

/* Packet time as the workers see it: the tick (usec) due before a packet
 * at 'ts', or 0. */
struct pkt_clock {
    uint64_t last_sec; /* last whole second ticked */
    uint64_t next;     /* (last_sec + 1) s in usec: packets before it tick nothing */
    uint64_t max_ts;   /* latest packet time */
};

static inline uint64_t wk_clock_step(struct pkt_clock *c, uint64_t ts)
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

static inline uint64_t wk_wall_usec(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
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
    const struct rsrc *named;          /* the input its engine was last told of */
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
    size_t secrets_used; /* under build_mu: pcapng secrets blocks passed to the key log */
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
    struct rsrc *next;                /* inputs handed over and not yet freed (caller's thread) */
    char in_file[1024], in_iface[64]; /* workers_set_input's, for the engines */
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
    struct wk_stats *stats;           /* under out_mu: per worker, stats records to merge */
    char in_file[1024], in_iface[64]; /* caller's thread: workers_set_input, for the next input */
};

/* ==== workers.c ==== */

bool wk_stopped(const struct workers *ws);
void wk_bump(struct workers *ws);
void wk_wait_gen(struct workers *ws, uint64_t seen);
uint64_t wk_min_done(const struct workers *ws);
void wk_worker_reload(worker *w);

/* ==== workers_out.c ==== */

void wk_batch_flush(worker *w);
void wk_on_event_batched(const egret_event *ev, void *ud);

/* ==== workers_stats.c ==== */

/* Under out_mu: queues a worker's stats record for the merged one (true),
 * or false when it is to be written as it is (one worker, not stats). */
bool wk_stats_take(struct workers *ws, const worker *w, const egret_event *ev);
/* Under out_mu, at the end: writes what is still queued, frees the queues. */
void wk_stats_flush(struct workers *ws);

/* ==== workers_chunks.c ==== */

struct chunk *wk_chunk_next(struct workers *ws, worker *w);

/* ==== workers_fanout.c ==== */

void wk_fan_loop(struct workers *ws, worker *w, bool (*each)(void *, uint64_t, uint64_t), void *ud);

#endif
