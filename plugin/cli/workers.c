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
 * Live on Linux, kernel fanout replaces all of this (workers_fanout.c):
 * each worker reads a capture of its own.  Building chunks is in
 * workers_chunks.c, the single writer in workers_out.c.
 *
 * The caller's thread is worker 0.  It opens each input and hands it over
 * with workers_run, which returns once worker 0 is past the input's last
 * chunk.  State changes that a waiting worker may need (a chunk built, a
 * slot freed, an input handed over, the end of input, a stop) bump 'gen';
 * a worker that can do nothing hands its records to the writer and sleeps
 * until gen moves, or 100 ms pass (a stop signal cannot wake it).
 */
#include "workers.h"
#include "workers_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* egret_engine_new with worker 'w' as the receiver of its records. */
static int worker_engine_new(worker *w)
{
    egret_config cfg = w->owner->cfg;
    cfg.event_ud = w;
    return egret_engine_new(&cfg, &w->eng, w->init_err);
}

void wk_worker_reload(worker *w)
{
    char err[EGRET_ERRBUF_SIZE] = "";
    if (egret_engine_reload(w->eng, err) != EGRET_OK && err[0])
        fprintf(stderr, "egret: worker %d: warning: %s\n", w->id, err);
}

/* ==== waiting ==== */

bool wk_stopped(const struct workers *ws)
{
    return atomic_load_explicit(&ws->abort, memory_order_relaxed) ||
           atomic_load_explicit(&ws->halt, memory_order_relaxed) || *ws->stop;
}

void wk_bump(struct workers *ws)
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
void wk_wait_gen(struct workers *ws, uint64_t seen)
{
    pthread_mutex_lock(&ws->wait_mu);
    atomic_fetch_add(&ws->sleepers, 1);
    if (atomic_load(&ws->gen) == seen && !wk_stopped(ws)) {
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
uint64_t wk_min_done(const struct workers *ws)
{
    uint64_t low = UINT64_MAX;
    for (int i = 0; i < ws->n; i++) {
        uint64_t d = atomic_load_explicit(&ws->w[i].done, memory_order_acquire);
        if (d < low) low = d;
    }
    return low;
}

/* Worker w's part of chunk k. */
static void chunk_run(worker *w, const struct chunk *k)
{
    const struct rsrc *s = k->src;
    const uint8_t *copy = s->copy ? k->copy : NULL;
    const part *p = &k->parts[w->id];
    int linktype = k->linktype;
    if (w->named != s) { /* a new input: its name for the records */
        egret_engine_set_input(w->eng, s->in_file, s->in_iface);
        w->named = s;
    }
    if (atomic_load_explicit(&w->reload_req, memory_order_relaxed) &&
        atomic_exchange(&w->reload_req, false))
        wk_worker_reload(w);
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
    wk_bump(ws);
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

/* ==== threads ==== */

/* glibc gives each worker thread a malloc arena of its own, and grows it
 * by what each allocation needs: one mprotect per page of new high water,
 * thousands while an engine is made, each taking the address-space lock
 * that the other workers' page faults also need.  Blocks just under the
 * mmap threshold,
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
    while ((k = wk_chunk_next(ws, w))) {
        chunk_run(w, k);
        chunk_done(ws, w, k);
    }
    if (atomic_load_explicit(&ws->fan, memory_order_acquire) && !atomic_load(&ws->abort))
        wk_fan_loop(ws, w, NULL, NULL);
    atomic_store(&w->fan_out, true);
    atomic_store(&w->done, UINT64_MAX / 2); /* holds no slot any more */
    wk_bump(ws);
    if (!atomic_load(&ws->abort)) {
        uint64_t t = max_ts(ws);
        if (t) egret_engine_advance(w->eng, t);
        egret_engine_flush(w->eng);
    }
    wk_batch_flush(w);
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
    wk_bump(ws);
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
 * caller's.  Left to the scheduler, a new thread may queue behind its busy
 * parent (making worker 0's engine) until a load balance moves it; started
 * on another CPU it runs at once.  The worker then widens its own set
 * again (worker_main). */
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
    ws->cfg.on_event = wk_on_event_batched; /* event_ud: the worker, see worker_engine_new */
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

void workers_set_input(workers *ws, const char *pcap_filename, const char *in_iface)
{
    snprintf(ws->in_file, sizeof(ws->in_file), "%s", pcap_filename ? pcap_filename : "");
    snprintf(ws->in_iface, sizeof(ws->in_iface), "%s", in_iface ? in_iface : "");
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
    memcpy(s->in_file, ws->in_file, sizeof(s->in_file));
    memcpy(s->in_iface, ws->in_iface, sizeof(s->in_iface));
    s->linktype = cap_linktype(src);
    s->copy = !cap_mapped(src);
    s->live = live;
    /* A read from a pipe can wait for its writer for ever, and a stop
     * signal reaches only the caller's thread: worker 0 alone reads it, and
     * the caller closes it (its signal handler may still hold it). */
    s->main_only = !live && cap_may_block(src);
    s->keep = live || s->main_only;
    s->last_wall = wk_wall_usec();
    cap_release_manual(src); /* pages stay until the slowest worker is past them */
    atomic_init(&s->refs, ws->n);
    s->next = ws->srcs;
    ws->srcs = s;
    if (live) atomic_store(&ws->live, true);
    pthread_mutex_lock(&ws->build_mu);
    ws->cur = s;
    pthread_mutex_unlock(&ws->build_mu);
    wk_bump(ws);
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
    while ((k = wk_chunk_next(ws, w0))) {
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
            wk_bump(ws);
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
    wk_bump(ws);
    worker *w0 = &ws->w[0];
    wk_fan_loop(ws, w0, each, ud);
    for (;;) { /* until no worker reads its capture: the caller closes them */
        uint64_t seen = atomic_load(&ws->gen);
        bool out = true;
        for (int i = 1; i < ws->n; i++) {
            worker *w = &ws->w[i];
            if (w->started && w->init_rc == EGRET_OK && !atomic_load(&w->fan_out)) out = false;
        }
        if (out) break;
        wk_wait_gen(ws, seen);
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
    wk_batch_flush(w0);
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

const egret_engine *workers_engine0(workers *ws)
{
    return ws->w[0].eng;
}

void workers_output_lock(workers *ws)
{
    pthread_mutex_lock(&ws->out_mu);
}

void workers_output_unlock(workers *ws)
{
    pthread_mutex_unlock(&ws->out_mu);
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
        wk_batch_flush(&ws->w[0]); /* records already made are written, even on abort */
        egret_engine_free(ws->w[0].eng);
        ws->w[0].eng = NULL;
    }
    for (int i = 0; ws->w && i < ws->n; i++) {
        worker *w = &ws->w[i];
        if (w->started) pthread_join(w->thread, NULL);
        wk_batch_flush(w);
        free(w->out.buf);
        free(w->out.ev);
        egret_engine_free(w->eng);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
    }
    pthread_mutex_lock(&ws->out_mu);
    wk_stats_flush(ws); /* every worker has handed its records over */
    pthread_mutex_unlock(&ws->out_mu);
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
