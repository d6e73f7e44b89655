/*
 * sink_redis.c -- EVE records to Redis (see sink_redis.h).
 *
 * The packet path only copies a record into a byte queue under a mutex
 * (sink_push); this thread swaps the whole queue out, numbers its records
 * (run, seq), and sends them in batches of up to BATCH records per round
 * trip: one EVALSHA carrying every record of the batch (stream), one RPUSH
 * with many values (list) or pipelined PUBLISHes (channel).
 *
 * Order and the spool: once a record could not be sent, it and every later
 * record go to the spool file (a line "RUN SEQ JSON"), and the spool is
 * sent from its read position (kept in a ".pos" file beside it) before any
 * newer record, so Redis sees the records in order; the spool is removed
 * when it is drained.  A new run finds a spool left behind and sends it
 * first.  Stream records carry (run, seq); Redis keeps the last seq of each
 * run of this sensor in a hash, set in the same transaction as the XADDs
 * (first sends) or by the server-side script, which skips anything at or
 * below it (the spool, resends), so a batch resent after a lost reply is
 * not stored twice.  A batch holds one run's consecutive seqs, so the
 * script compares once per batch, not per record; first sends skip Lua
 * altogether (Redis's Lua hashes every byte of every argument: ~1 us for a
 * record).
 */
#include "sink_redis.h"

#include "monotime.h"
#include "redis.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH         1000 /* records per round trip */
#define TIMEOUT_MS    2000 /* connect and each read/write */
#define RETRY_S       1.0  /* reconnect at most this often */
#define SPOOL_CHUNK   (4u << 20)
#define DEFAULT_QUEUE (16u << 20)
#define DEFAULT_SPOOL (1ull << 30)
#define DEFAULT_KEY   "egret:eve"
#define LINGER_MS     20         /* the longest a record waits for its batch */
#define WAKE_BYTES    (1u << 20) /* ... or until this many bytes are queued */

/* KEYS[1] the stream, KEYS[2] the sensor's hash run -> last seq;
 * ARGV[1] MAXLEN (0: none), ARGV[2] the run, ARGV[3] and ARGV[4] the first
 * and last seq of the records ARGV[5..], which are consecutive: the client
 * cuts a batch where the run changes or the seq jumps.  One HGET per batch
 * decides which prefix was already stored (a resend), the rest is appended
 * without any per-record work beyond XADD itself, then one HSET and one
 * XTRIM (the script is atomic: nobody sees the stream above MAXLEN).  Seqs
 * stay below 2^53, exact in Lua's numbers. */
static const char SCRIPT[] =
    "local last = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')\n"
    "local from = 5\n"
    "local first = tonumber(ARGV[3])\n"
    "if last >= first then from = 5 + last - first + 1 end\n"
    "if from > #ARGV then return 0 end\n"
    "local key = KEYS[1]\n"
    "for i = from, #ARGV do redis.call('XADD', key, '*', 'eve', ARGV[i]) end\n"
    "redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])\n"
    "if ARGV[1] ~= '0' then redis.call('XTRIM', key, 'MAXLEN', '~', ARGV[1]) end\n"
    "return #ARGV - from + 1\n";

typedef struct rec {
    const char *p, *run;
    size_t len, runlen;
    uint64_t seq;
    size_t spool_end; /* spool records: the file offset after the line */
} rec;

struct sink {
    sink_cfg cfg;
    rd_url url;
    char *key, *seqkey, *spool_path, *pos_path;
    char run[24];
    char maxlen[24];

    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv_data, cv_space;
    char *q;
    size_t qlen, qcap, qn;
    bool stop, started, stopped, urgent;

    /* the thread's own */
    char *b;
    size_t bcap;
    rec *recs;
    size_t rcap;
    uint64_t seq;
    rd_conn *c;
    bool ever_connected, warned_drop, warned_conn;
    double next_try;
    char sha[64];
    FILE *spool_w;
    uint64_t spool_size, spool_pos;
    const char **argv;
    size_t *lens;
    int *argc;
    char seqtxt[2][24];

    _Atomic uint64_t sent, spooled, spool_pending, dropped, duplicates, reconnects;
    atomic_bool connected;
};

static void add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

bool sink_mode_parse(const char *name, sink_mode *m)
{
    if (strcmp(name, "stream") == 0)
        *m = SINK_STREAM;
    else if (strcmp(name, "list") == 0)
        *m = SINK_LIST;
    else if (strcmp(name, "channel") == 0)
        *m = SINK_CHANNEL;
    else
        return false;
    return true;
}

/* ==== Connection ====================================================== */

static void disconnect(sink *s, const char *why)
{
    rd_close(s->c);
    s->c = NULL;
    atomic_store(&s->connected, false);
    s->next_try = now_mono() + RETRY_S;
    if (!s->warned_conn) {
        s->warned_conn = true;
        fprintf(stderr, "egret: warning: redis: %s%s\n", why,
                s->cfg.spool_dir || s->cfg.mode == SINK_CHANNEL
                    ? "; retrying"
                    : "; retrying (records that cannot be sent are dropped without --redis-spool)");
    }
}

static bool ensure_conn(sink *s, bool force)
{
    if (s->c) return true;
    if (!force && now_mono() < s->next_try) return false;
    char err[256];
    s->c = rd_connect(&s->url, TIMEOUT_MS, err, sizeof(err));
    if (!s->c) {
        disconnect(s, err);
        return false;
    }
    if (s->cfg.mode == SINK_STREAM) { /* the script cache does not survive a restart */
        if (rd_script_load(s->c, SCRIPT, s->sha, sizeof(s->sha), err, sizeof(err)) != 0) {
            disconnect(s, err);
            return false;
        }
        /* fresh batches go through MULTI/EXEC, where a wrong key type would
         * fail the XADDs but not the HSET of their seq: refuse it here */
        rd_reply r;
        const char *targv[] = {"TYPE", s->key};
        /* a failed command leaves 'r' unfilled: its reason is in 'err' */
        int rc = rd_command(s->c, &r, err, sizeof(err), 2, targv);
        if (rc != 0 || r.kind == RD_ERR) {
            disconnect(s, rc != 0 ? err : r.str);
            return false;
        }
        if (strcmp(r.str, "none") != 0 && strcmp(r.str, "stream") != 0) {
            char why[300];
            snprintf(why, sizeof(why), "key %.100s holds a %.50s, not a stream", s->key, r.str);
            disconnect(s, why);
            return false;
        }
    }
    if (s->ever_connected) add(&s->reconnects, 1);
    s->ever_connected = true;
    atomic_store(&s->connected, true);
    return true;
}

/* ==== Sending ========================================================= */

static bool grow_args(sink *s)
{
    size_t need = 5 * BATCH + 16; /* MULTI, 5 per XADD, HSET, XTRIM, EXEC */
    if (s->argv) return true;
    s->argv = malloc(need * sizeof(*s->argv));
    s->lens = malloc(need * sizeof(*s->lens));
    s->argc = malloc((BATCH + 4) * sizeof(*s->argc));
    return s->argv && s->lens && s->argc;
}

/* Appends one argument to the command being built. */
static void arg(sink *s, size_t *na, const char *p, size_t len)
{
    s->argv[*na] = p;
    s->lens[*na] = len;
    (*na)++;
}

/* Builds the commands for k stream records r[0..k) (one run, consecutive
 * seqs); each command gets one reply.  'fresh': records never
 * sent before (no earlier attempt can have stored them): MULTI, plain
 * XADDs, the HSET of the batch's last seq (and XTRIM), EXEC -- atomic, so
 * the seq hash says exactly what the stream holds, and Redis does no Lua
 * work per record.  Otherwise (a spool, a resend after a lost reply): the
 * script, which skips what that hash says is stored. */
static void stream_cmds(sink *s, const rec *r, size_t k, bool fresh, int *ncmd, size_t *na)
{
    size_t klen = strlen(s->key), slen = strlen(s->seqkey), mlen = strlen(s->maxlen);
    bool trim = strcmp(s->maxlen, "0") != 0;
    char *first = s->seqtxt[0], *last = s->seqtxt[1];
    size_t ll = (size_t)snprintf(last, sizeof(s->seqtxt[1]), "%" PRIu64, r[0].seq + k - 1);
    if (!fresh) {
        size_t fl = (size_t)snprintf(first, sizeof(s->seqtxt[0]), "%" PRIu64, r[0].seq);
        arg(s, na, "EVALSHA", 7);
        arg(s, na, s->sha, strlen(s->sha));
        arg(s, na, "2", 1);
        arg(s, na, s->key, klen);
        arg(s, na, s->seqkey, slen);
        arg(s, na, s->maxlen, mlen);
        arg(s, na, r[0].run, r[0].runlen);
        arg(s, na, first, fl);
        arg(s, na, last, ll);
        for (size_t i = 0; i < k; i++) arg(s, na, r[i].p, r[i].len);
        s->argc[(*ncmd)++] = (int)*na;
        return;
    }
    arg(s, na, "MULTI", 5);
    s->argc[(*ncmd)++] = 1;
    for (size_t i = 0; i < k; i++) {
        arg(s, na, "XADD", 4);
        arg(s, na, s->key, klen);
        arg(s, na, "*", 1);
        arg(s, na, "eve", 3);
        arg(s, na, r[i].p, r[i].len);
        s->argc[(*ncmd)++] = 5;
    }
    arg(s, na, "HSET", 4);
    arg(s, na, s->seqkey, slen);
    arg(s, na, r[0].run, r[0].runlen);
    arg(s, na, last, ll);
    s->argc[(*ncmd)++] = 4;
    if (trim) {
        arg(s, na, "XTRIM", 5);
        arg(s, na, s->key, klen);
        arg(s, na, "MAXLEN", 6);
        arg(s, na, "~", 1);
        arg(s, na, s->maxlen, mlen);
        s->argc[(*ncmd)++] = 5;
    }
    arg(s, na, "EXEC", 4);
    s->argc[(*ncmd)++] = 1; /* replies: +OK, +QUEUED each, EXEC's array */
}

/* Sends recs[0..n) in batches; returns how many were acknowledged (the
 * rest stays to be spooled).  A failure closes the connection.  'fresh':
 * the records were never sent before (see stream_cmds). */
static size_t send_recs(sink *s, const rec *r, size_t n, bool fresh)
{
    char err[256];
    size_t done = 0;
    if (!grow_args(s)) return 0;
    while (done < n) {
        size_t k = n - done < BATCH ? n - done : BATCH, na = 0;
        int ncmd = 0; /* commands built, one reply each */
        if (s->cfg.mode == SINK_STREAM) {
            /* a batch holds one run's consecutive seqs: the script compares once */
            const rec *x0 = &r[done];
            for (size_t i = 1; i < k; i++) {
                const rec *x = &r[done + i];
                if (x->seq != x0->seq + i || x->runlen != x0->runlen ||
                    (x->run != x0->run && memcmp(x->run, x0->run, x->runlen) != 0)) {
                    k = i;
                    break;
                }
            }
            stream_cmds(s, x0, k, fresh, &ncmd, &na);
        } else if (s->cfg.mode == SINK_LIST) {
            arg(s, &na, "RPUSH", 5);
            arg(s, &na, s->key, strlen(s->key));
            for (size_t i = 0; i < k; i++) arg(s, &na, r[done + i].p, r[done + i].len);
            s->argc[ncmd++] = (int)na;
        } else {
            for (size_t i = 0; i < k; i++) {
                arg(s, &na, "PUBLISH", 7);
                arg(s, &na, s->key, strlen(s->key));
                arg(s, &na, r[done + i].p, r[done + i].len);
                s->argc[ncmd++] = 3;
            }
        }
        if (rd_send(s->c, ncmd, s->argc, s->argv, s->lens, err, sizeof(err)) != 0) {
            disconnect(s, err);
            return done;
        }
        uint64_t stored = k;
        if (s->cfg.mode == SINK_STREAM && !fresh) { /* the script's count */
            rd_reply rep;
            if (rd_reply_next(s->c, &rep, err, sizeof(err)) != 0) {
                disconnect(s, err);
                return done;
            }
            if (rep.kind == RD_ERR) {
                /* NOSCRIPT (a flushed cache) or a wrong key type: the
                 * connection is dropped and the batch retried later */
                disconnect(s, rep.str);
                return done;
            }
            stored = (uint64_t)rep.num;
        } else {
            int rc = rd_reply_skip(s->c, (size_t)ncmd, err, sizeof(err));
            if (rc != 0) { /* a wrong key type, ...: retried later */
                disconnect(s, err);
                return done;
            }
        }
        add(&s->sent, stored);
        add(&s->duplicates, k - stored);
        done += k;
    }
    return done;
}

/* Room in s->recs for record n (the spool's and the queue's batches);
 * false when out of memory. */
static bool recs_room(sink *s, size_t n)
{
    if (n < s->rcap) return true;
    size_t nc = s->rcap ? 2 * s->rcap : 4096;
    rec *nr = realloc(s->recs, nc * sizeof(*nr));
    if (!nr) return false;
    s->recs = nr;
    s->rcap = nc;
    return true;
}

/* ==== Spool =========================================================== */

static void save_pos(sink *s)
{
    int fd = open(s->pos_path, O_WRONLY | O_CREAT, 0600);
    if (fd < 0) return;
    char t[24];
    int n = snprintf(t, sizeof(t), "%020" PRIu64 "\n", s->spool_pos);
    if (pwrite(fd, t, (size_t)n, 0) != n) { /* the next run resends: the stream skips them */
    }
    close(fd);
}

static void spool_append(sink *s, const rec *r, size_t n)
{
    if (!s->spool_w) {
        s->spool_w = fopen(s->spool_path, "a");
        if (!s->spool_w) {
            if (!s->warned_drop)
                fprintf(stderr, "egret: warning: redis spool %s: %s; records dropped\n",
                        s->spool_path, strerror(errno));
            s->warned_drop = true;
            add(&s->dropped, n);
            return;
        }
    }
    uint64_t dropped = 0, spooled = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t line = r[i].runlen + 22 + r[i].len + 2;
        if (s->spool_size + line > s->cfg.spool_max) {
            dropped++;
            continue;
        }
        int w = fprintf(s->spool_w, "%.*s %" PRIu64 " %.*s\n", (int)r[i].runlen, r[i].run, r[i].seq,
                        (int)r[i].len, r[i].p);
        if (w < 0) {
            dropped++;
            continue;
        }
        s->spool_size += (uint64_t)w;
        spooled++;
    }
    fflush(s->spool_w);
    if (dropped && !s->warned_drop) {
        s->warned_drop = true;
        fprintf(stderr, "egret: warning: redis spool full (%" PRIu64 " bytes): records dropped\n",
                s->cfg.spool_max);
    }
    add(&s->dropped, dropped);
    add(&s->spooled, spooled);
    add(&s->spool_pending, spooled);
}

/* Parses "RUN SEQ JSON\n" lines of buf[0..len) (file offset 'base'). */
static size_t parse_spool(sink *s, char *buf, size_t len, uint64_t base)
{
    size_t n = 0, off = 0;
    while (off < len) {
        char *nl = memchr(buf + off, '\n', len - off);
        if (!nl) break;
        char *line = buf + off;
        char *sp1 = memchr(line, ' ', (size_t)(nl - line));
        char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1)) : NULL;
        size_t next = (size_t)(nl - buf) + 1;
        if (sp1 && sp2) {
            if (!recs_room(s, n)) break;
            rec *x = &s->recs[n++];
            x->run = line;
            x->runlen = (size_t)(sp1 - line);
            x->seq = strtoull(sp1 + 1, NULL, 10);
            x->p = sp2 + 1;
            x->len = (size_t)(nl - sp2 - 1);
            x->spool_end = base + next;
        }
        off = next;
    }
    return n;
}

/* Sends the spool from its read position while Redis takes it. */
static void spool_drain(sink *s, bool force)
{
    if (s->spool_pos >= s->spool_size || !ensure_conn(s, force)) return;
    int fd = open(s->spool_path, O_RDONLY);
    if (fd < 0) return;
    char *buf = malloc(SPOOL_CHUNK);
    while (buf && s->spool_pos < s->spool_size && s->c) {
        ssize_t got = pread(fd, buf, SPOOL_CHUNK, (off_t)s->spool_pos);
        if (got <= 0) break;
        size_t n = parse_spool(s, buf, (size_t)got, s->spool_pos);
        if (n == 0) { /* a line longer than the chunk, or a torn end: skip it */
            s->spool_pos = s->spool_size;
            break;
        }
        size_t done = send_recs(s, s->recs, n, false);
        if (done > 0) {
            s->spool_pos = s->recs[done - 1].spool_end;
            atomic_fetch_sub(&s->spool_pending, done);
            save_pos(s);
        }
        if (done < n) break;
    }
    free(buf);
    close(fd);
    if (s->spool_pos >= s->spool_size) { /* drained: the spool goes */
        if (s->spool_w) fclose(s->spool_w);
        s->spool_w = NULL;
        unlink(s->spool_path);
        unlink(s->pos_path);
        s->spool_pos = s->spool_size = 0;
        atomic_store(&s->spool_pending, 0);
    }
}

/* A spool an earlier run left: its size, read position, pending records. */
static void spool_resume(sink *s)
{
    struct stat st;
    if (stat(s->spool_path, &st) != 0) return;
    s->spool_size = (uint64_t)st.st_size;
    FILE *f = fopen(s->pos_path, "r");
    if (f) {
        if (fscanf(f, "%" SCNu64, &s->spool_pos) != 1) s->spool_pos = 0;
        fclose(f);
    }
    if (s->spool_pos > s->spool_size) s->spool_pos = 0;
    FILE *d = fopen(s->spool_path, "r");
    if (!d) return;
    if (fseeko(d, (off_t)s->spool_pos, SEEK_SET) == 0) {
        uint64_t lines = 0;
        int ch;
        while ((ch = getc(d)) != EOF) lines += ch == '\n';
        atomic_store(&s->spool_pending, lines);
    }
    fclose(d);
}

/* ==== The thread ====================================================== */

/* What could not be sent: to the spool, or dropped (channel, no spool). */
static void unsent(sink *s, const rec *r, size_t n)
{
    if (n == 0) return;
    if (s->cfg.mode == SINK_CHANNEL || !s->cfg.spool_dir) {
        add(&s->dropped, n);
        return;
    }
    spool_append(s, r, n);
}

/* The queue holds 'count' records, each its length (uint32_t, unaligned)
 * then its bytes: no scan for the record ends. */
static void take_batch(sink *s, size_t len, size_t count)
{
    size_t n = 0, off = 0, runlen = strlen(s->run);
    while (off + sizeof(uint32_t) <= len) {
        if (!recs_room(s, n)) { /* out of memory: what is left is lost, counted */
            add(&s->dropped, count - n);
            break;
        }
        uint32_t l;
        memcpy(&l, s->b + off, sizeof(l));
        rec *x = &s->recs[n++];
        x->p = s->b + off + sizeof(l);
        x->len = l;
        x->run = s->run;
        x->runlen = runlen;
        x->seq = ++s->seq;
        off += sizeof(l) + l;
    }
    if (n == 0) return;
    size_t done = 0;
    /* anything spooled goes first: new records queue behind it */
    if (s->spool_size == 0 && ensure_conn(s, false)) done = send_recs(s, s->recs, n, true);
    unsent(s, s->recs + done, n - done);
}

static void *sink_main(void *arg)
{
    sink *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        /* wait for a batch's worth, an urgent record or LINGER_MS: the
         * producer does not wake this thread per record */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += LINGER_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!s->stop && !s->urgent && s->qn < BATCH && s->qlen < WAKE_BYTES)
            if (pthread_cond_timedwait(&s->cv_data, &s->mu, &ts) == ETIMEDOUT) break;
        s->urgent = false;
        char *t = s->q;
        size_t tcap = s->qcap, len = s->qlen, count = s->qn;
        s->q = s->b;
        s->qcap = s->bcap;
        s->b = t;
        s->bcap = tcap;
        s->qlen = 0;
        s->qn = 0;
        bool stop = s->stop;
        pthread_cond_broadcast(&s->cv_space);
        pthread_mutex_unlock(&s->mu);

        spool_drain(s, false); /* first: new records queue behind the spool */
        take_batch(s, len, count);
        if (stop) {
            pthread_mutex_lock(&s->mu);
            bool empty = s->qlen == 0;
            pthread_mutex_unlock(&s->mu);
            if (empty) break;
        }
    }
    spool_drain(s, true); /* one last try before the spool is left for the next run */
    return NULL;
}

/* ==== The producer's side ============================================= */

void sink_push(sink *s, const sink_piece *pc, int n, bool urgent)
{
    size_t need = sizeof(uint32_t);
    for (int i = 0; i < n; i++) need += pc[i].n;
    pthread_mutex_lock(&s->mu);
    while (s->qlen + need > s->qcap && s->qlen > 0 && s->cfg.block_when_full)
        pthread_cond_wait(&s->cv_space, &s->mu);
    if (s->qlen + need > s->qcap) { /* live and full, or larger than the queue */
        pthread_mutex_unlock(&s->mu);
        add(&s->dropped, 1);
        return;
    }
    char *p = s->q + s->qlen;
    uint32_t l = (uint32_t)(need - sizeof(l)); /* < the queue's size */
    memcpy(p, &l, sizeof(l));
    p += sizeof(l);
    for (int i = 0; i < n; i++) {
        memcpy(p, pc[i].p, pc[i].n);
        p += pc[i].n;
    }
    s->qlen += need;
    s->qn++;
    bool wake = urgent || s->qn == BATCH || (s->qlen >= WAKE_BYTES && s->qlen - need < WAKE_BYTES);
    s->urgent |= urgent;
    pthread_mutex_unlock(&s->mu);
    if (wake) pthread_cond_signal(&s->cv_data);
}

void sink_get_counters(sink *s, sink_counters *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->mu);
    out->queued = s->qn;
    pthread_mutex_unlock(&s->mu);
    out->sent = atomic_load(&s->sent);
    out->spooled = atomic_load(&s->spooled);
    out->spool_pending = atomic_load(&s->spool_pending);
    out->dropped = atomic_load(&s->dropped);
    out->duplicates = atomic_load(&s->duplicates);
    out->reconnects = atomic_load(&s->reconnects);
    out->connected = atomic_load(&s->connected);
}

static char *join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s%s%s", a, b, c);
    return p;
}

void sink_free(sink *s)
{
    if (!s) return;
    rd_close(s->c);
    if (s->spool_w) fclose(s->spool_w);
    free(s->key);
    free(s->seqkey);
    free(s->spool_path);
    free(s->pos_path);
    free(s->q);
    free(s->b);
    free(s->recs);
    free(s->argv);
    free(s->lens);
    free(s->argc);
    if (s->started) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv_data);
        pthread_cond_destroy(&s->cv_space);
    }
    free(s);
}

sink *sink_start(const sink_cfg *cfg, char *err, size_t err_size)
{
    sink *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    if (!s->cfg.spool_max) s->cfg.spool_max = DEFAULT_SPOOL;
    if (!s->cfg.queue_bytes) s->cfg.queue_bytes = DEFAULT_QUEUE;
    const char *sensor = cfg->sensor && cfg->sensor[0] ? cfg->sensor : "egret";
    if (!rd_url_parse(cfg->url, &s->url, err, err_size)) {
        free(s);
        return NULL;
    }
    if (cfg->spool_dir) {
        struct stat st;
        if (stat(cfg->spool_dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
            access(cfg->spool_dir, W_OK | X_OK) != 0) {
            snprintf(err, err_size, "--redis-spool %s: not a writable directory", cfg->spool_dir);
            free(s);
            return NULL;
        }
    }
    s->key = strdup(cfg->key ? cfg->key : DEFAULT_KEY);
    s->seqkey = join(s->key ? s->key : "", ":seq:", sensor);
    /* DIR/egret-SENSOR.spool: two sensors may share a directory */
    if (cfg->spool_dir) {
        char *base = join(cfg->spool_dir, "/egret-", sensor);
        s->spool_path = base ? join(base, ".spool", "") : NULL;
        free(base);
    } else {
        s->spool_path = strdup("");
    }
    s->pos_path = s->spool_path ? join(s->spool_path, ".pos", "") : NULL;
    s->q = malloc(s->cfg.queue_bytes);
    s->b = malloc(s->cfg.queue_bytes);
    s->qcap = s->bcap = s->cfg.queue_bytes;
    if (!s->key || !s->seqkey || !s->spool_path || !s->pos_path || !s->q || !s->b) {
        snprintf(err, err_size, "out of memory");
        sink_free(s);
        return NULL;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(s->run, sizeof(s->run), "%lld%06ld", (long long)ts.tv_sec, ts.tv_nsec / 1000);
    snprintf(s->maxlen, sizeof(s->maxlen), "%" PRIu64, cfg->maxlen);
    if (cfg->spool_dir) spool_resume(s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv_data, NULL);
    pthread_cond_init(&s->cv_space, NULL);
    s->started = true;
    if (pthread_create(&s->th, NULL, sink_main, s) != 0) {
        snprintf(err, err_size, "cannot start the redis thread");
        s->stopped = true;
        sink_free(s);
        return NULL;
    }
    return s;
}

void sink_stop_thread(sink *s)
{
    if (!s || s->stopped) return;
    s->stopped = true;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv_data);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
}
