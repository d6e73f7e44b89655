/*
 * main.c -- the egret command-line host.
 *
 *   egret [options] -r PATH... | -i IFACE
 *
 * Parses options into a cli_opts (options.c), creates one engine or a set
 * of workers (workers.c), feeds it every input in
 * order (files, directories, stdin: flow state carries across files, as in
 * Suricata's directory mode) or a live interface, writes each EVE record as
 * one JSON line, flushes, and prints a summary on stderr.
 *
 * Uses only the public egret.h; libpcap lives behind capture.h.
 * Exit status: 0 ok, 1 input or runtime error, 2 usage or configuration error.
 */
#include "egret.h"
#include "egret_tools.h"
#include "keylogs.h"
#include "capture.h"
#include "conffile.h"
#include "datadir.h"
#include "monotime.h"
#include "options.h"
#include "outfile.h"
#include "report.h"
#include "signals.h"
#include "sink_redis.h"
#include "winstore.h"
#include "summary.h"
#include "tally.h"
#include "workers.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_OK                0
#define EXIT_INPUT             1
#define EXIT_USAGE             2
#define LIVE_STATS_INTERVAL_S  60 /* live default when --stats-interval is not given */
#define PROGRESS_EVERY_S       0.5
#define PROGRESS_CHECK_MASK    1023u /* look at the clock every 1024 packets */
#define CLI_BUFFER_MIB_DEFAULT 32    /* live: kernel ring per capture (see --help) */
#define ALERT_LINE_MAX         2048

/* ==== Run state, output ================================================ */

typedef struct cli_run {
    const cli_opts *o;
    egret_engine *eng;  /* one engine, or NULL when 'wk' runs several */
    egret_keylog *keys; /* TLS secrets every engine reads */
    workers *wk;
    outfile out;    /* EVE */
    outfile alerts; /* --alert-log, fp NULL when off */
    const char *out_name;
    int out_errno;    /* first write error, 0 = none */
    uint64_t written; /* records handed to stdio */
    uint64_t flushed; /* records known to have reached the output (last good flush) */
    tally *found;     /* the summary's tables (NULL with -q) */
    bool live;
    sink *redis;          /* --eve-redis, or NULL */
    winstore *wstore;     /* --window-store, or NULL */
    char sensor[256];     /* the sensor's name (setup_host), "" when records carry none */
    char host_field[300]; /* "host":"NAME", spliced into every record; "" = none */
    size_t host_len;

    double t_start; /* monotonic seconds */
    size_t n_sources, n_failed;
    bool filter_error;
    bool stdin_used;

    /* capture counters (live) */
    bool have_cap_stats;
    uint64_t cap_recv, cap_drop, cap_ifdrop;
    bool fanout; /* live workers read one capture each (kernel fanout) */

    /* progress line (stderr is a TTY and not -q) */
    bool progress;
    bool progress_shown;
    double progress_next;
    const char *cur_name;
    uint64_t pkts, cap_bytes; /* fed by this host */
    /* the file being read: its size (0: unknown, a pipe or live) and the
     * counters and clock when it started, for percentage, rate, time left */
    uint64_t cur_size, cur_pkts0, cur_bytes0;
    double cur_t0;
} cli_run;

static uint64_t now_wall_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void progress_clear(cli_run *r)
{
    if (r->progress_shown) {
        fputs("\r\033[K", stderr);
        r->progress_shown = false;
    }
}

/* The progress line: a TTY only (r->progress).  Of a file: the share of
 * its bytes read (packet bytes plus the 16-byte record headers of pcap:
 * an estimate for pcapng), packets/s and the time left at that pace. */
static void progress_show(cli_run *r, bool force)
{
    if (!r->progress) return;
    double t = now_mono();
    if (!force && t < r->progress_next) return;
    r->progress_next = t + PROGRESS_EVERY_S;
    double dt = t - r->cur_t0;
    uint64_t pk = r->pkts - r->cur_pkts0;
    fprintf(stderr, "\r\033[Kegret: %s: %" PRIu64 " packets, %.1f MB", r->cur_name, r->pkts,
            (double)r->cap_bytes / 1e6);
    if (dt > 0.2) fprintf(stderr, ", %.0f packets/s", (double)pk / dt);
    if (r->cur_size && dt > 0.2) {
        double done = (double)(r->cap_bytes - r->cur_bytes0) + 16.0 * (double)pk;
        double frac = done / (double)r->cur_size;
        if (frac > 0.99) frac = 0.99; /* an estimate: never claim the end early */
        fprintf(stderr, ", %.0f %%", 100.0 * frac);
        if (frac > 0.01) fprintf(stderr, ", %.0f s left", dt * (1.0 - frac) / frac);
    }
    r->progress_shown = true;
}

/* A new input starts: its size (0 when unknown) for the progress line. */
static void progress_start(cli_run *r, const char *path)
{
    struct stat st;
    r->cur_size = path && stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    r->cur_pkts0 = r->pkts;
    r->cur_bytes0 = r->cap_bytes;
    r->cur_t0 = now_mono();
}

/* Reports a failed input ("egret: NAME: MESSAGE") and counts it. */
static void input_error(cli_run *r, const char *name, const char *msg)
{
    progress_clear(r);
    fprintf(stderr, "egret: %s: %s\n", name, msg);
    r->n_failed++;
}

static void note_write_error(cli_run *r)
{
    if (!r->out_errno) r->out_errno = errno ? errno : EIO;
}

static void flush_out(cli_run *r)
{
    errno = 0;
    if (fflush(r->out.fp) != 0)
        note_write_error(r);
    else if (!r->out_errno)
        r->flushed = r->written;
    if (r->alerts.fp && fflush(r->alerts.fp) != 0) note_write_error(r);
}

/* The alert log's line for one alert record. */
static void write_alert_line(cli_run *r, const egret_event *ev)
{
    char line[ALERT_LINE_MAX];
    size_t n = tally_alert_line(ev->json, ev->json_len, line, sizeof(line));
    errno = 0;
    if (n && fwrite(line, 1, n, r->alerts.fp) != n) note_write_error(r);
}

/* The record as pieces: the host field spliced in after the timestamp
 * (or the opening brace), the Redis sink's counters into a stats record's
 * "stats" object.  Returns the number of pieces. */
#define TS_PREFIX    "{\"timestamp\":\""
#define TS_FIELD_END 47 /* {"timestamp":"2025-03-01T10:00:00.000000+0000", */
static int record_pieces(cli_run *r, const egret_event *ev, sink_piece pc[5], char *stats,
                         size_t stats_size)
{
    const char *j = ev->json;
    size_t len = ev->json_len, at = 0;
    int n = 0;
    if (r->host_len && len > 2) {
        at = len > TS_FIELD_END && memcmp(j, TS_PREFIX, sizeof(TS_PREFIX) - 1) == 0 &&
                     j[TS_FIELD_END - 2] == '"' && j[TS_FIELD_END - 1] == ','
                 ? TS_FIELD_END
                 : 1;
        pc[n++] = (sink_piece){j, at};
        pc[n++] = (sink_piece){r->host_field, r->host_len};
    }
    if (r->redis && ev->type == EGRET_EV_STATS && len >= at + 2 && j[len - 1] == '}' &&
        j[len - 2] == '}') {
        sink_counters c;
        sink_get_counters(r->redis, &c);
        int sn =
            snprintf(stats, stats_size,
                     ",\"eve_redis\":{\"sent\":%" PRIu64 ",\"queued\":%" PRIu64
                     ",\"spooled\":%" PRIu64 ",\"spool_pending\":%" PRIu64 ",\"dropped\":%" PRIu64
                     ",\"duplicates\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"connected\":%s}",
                     c.sent, c.queued, c.spooled, c.spool_pending, c.dropped, c.duplicates,
                     c.reconnects, c.connected ? "true" : "false");
        pc[n++] = (sink_piece){j + at, len - 2 - at};
        pc[n++] = (sink_piece){stats, (size_t)sn};
        pc[n++] = (sink_piece){j + len - 2, 2};
    } else {
        pc[n++] = (sink_piece){j + at, len - at};
    }
    return n;
}

/* egret_event_cb: one record -> one line (and to Redis).  After a write
 * error records are dropped (the run stops at the next packet). */
static void on_event(const egret_event *ev, void *ud)
{
    cli_run *r = ud;
    sink_piece pc[5];
    char stats[512];
    int n = 1;

    if (r->host_len || r->redis)
        n = record_pieces(r, ev, pc, stats, sizeof(stats));
    else
        pc[0] = (sink_piece){ev->json, ev->json_len};
    if (r->redis)
        sink_push(r->redis, pc, n,
                  r->live && (ev->type == EGRET_EV_ALERT || ev->type == EGRET_EV_STATS));
    if (r->out_errno || !r->out.fp) return;
    errno = 0;
    for (int i = 0; i < n; i++) {
        if (fwrite(pc[i].p, 1, pc[i].n, r->out.fp) != pc[i].n) {
            note_write_error(r);
            return;
        }
    }
    if (putc('\n', r->out.fp) == EOF) {
        note_write_error(r);
        return;
    }
    r->written++;
    if (ev->type == EGRET_EV_ALERT && r->alerts.fp) write_alert_line(r, ev);
    if (r->found &&
        (ev->type == EGRET_EV_ALERT || ev->type == EGRET_EV_FLOW || ev->type == EGRET_EV_HTTP))
        tally_add(r->found, ev->json, ev->json_len);
    /* live: make stats and alerts visible to a tailing reader at once */
    if (r->live && (ev->type == EGRET_EV_STATS || ev->type == EGRET_EV_ALERT)) flush_out(r);
}

/* egret_log_cb: 0 error, 1 warning, 2 info. */
static void on_log(int level, const char *msg, void *ud)
{
    cli_run *r = ud;

    if (level == EGRET_LOG_INFO && !r->o->verbose) return;
    if ((level == EGRET_LOG_WARNING || level == EGRET_LOG_RULE) && r->o->quiet) return;
    progress_clear(r);
    fprintf(stderr, "egret: %s%s\n", level == 0 ? "error: " : level == 1 ? "warning: " : "", msg);
}

/* ==== One engine or several workers ==================================== */

static void eng_capture_stats(cli_run *r)
{
    if (r->wk)
        workers_set_capture_stats(r->wk, r->cap_recv, r->cap_drop, r->cap_ifdrop);
    else
        egret_engine_set_capture_stats(r->eng, r->cap_recv, r->cap_drop, r->cap_ifdrop);
}

static void eng_flush(cli_run *r)
{
    if (r->wk)
        workers_flush(r->wk);
    else
        egret_engine_flush(r->eng);
}

static void eng_counters(cli_run *r, egret_counters *c)
{
    if (r->wk)
        workers_counters(r->wk, c);
    else
        egret_engine_counters(r->eng, c);
}

static size_t eng_top_hosts(cli_run *r, egret_host_stat *top, size_t n)
{
    return r->wk ? workers_top_hosts(r->wk, top, n) : egret_engine_top_hosts(r->eng, top, n);
}

static void eng_free(cli_run *r)
{
    workers_free(r->wk);
    egret_engine_free(r->eng);
    r->wk = NULL;
    r->eng = NULL;
}

/* SIGHUP, first part: the output files are closed and opened again by
 * name (logrotate renamed them), under the workers' writer lock so that
 * no record is between the two. */
static void reopen_outputs(cli_run *r)
{
    char err[512];
    if (r->wk) workers_output_lock(r->wk);
    /* each on its own: a failure with one still moves the other */
    if (outfile_reopen(&r->out, err, sizeof(err)) != 0)
        fprintf(stderr, "egret: warning: %s\n", err);
    if (outfile_reopen(&r->alerts, err, sizeof(err)) != 0)
        fprintf(stderr, "egret: warning: %s\n", err);
    if (r->wk) workers_output_unlock(r->wk);
}

/* SIGHUP: reopen the outputs, reload what the engine can reload; a
 * failure keeps the old data. */
static void reload(cli_run *r)
{
    char err[EGRET_ERRBUF_SIZE] = "";
    sig_reload = 0;
    progress_clear(r);
    reopen_outputs(r);
    egret_keylog_reread(r->keys);
    if (r->wk) {
        workers_reload(r->wk); /* each worker reports its own failure */
        if (!r->o->quiet) fprintf(stderr, "egret: reload requested (SIGHUP)\n");
        return;
    }
    if (egret_engine_reload(r->eng, err) != EGRET_OK)
        fprintf(stderr, "egret: warning: %s\n", err);
    else if (!r->o->quiet)
        fprintf(stderr, "egret: reloaded (SIGHUP)\n");
}

/* ==== Inputs ========================================================== */

/* One engine: feeds every packet of 's' to it until end of file, error,
 * stop signal or write error.  Returns false when the source failed
 * (reported).  Several workers read through workers_run instead. */
struct pump {
    cli_run *r;
    uint64_t rejected, last_ts;
};

/* One packet to the engine (a cap_handler). */
static void pump_one(void *ud, const cap_packet *pkt)
{
    struct pump *p = ud;
    cli_run *r = p->r;
    if (egret_engine_feed(r->eng, pkt->ts_usec, pkt->linktype, pkt->caplen, pkt->len, pkt->data) !=
        EGRET_OK)
        p->rejected++;
    if (pkt->ts_usec > p->last_ts) p->last_ts = pkt->ts_usec;
    r->pkts++;
    r->cap_bytes += pkt->caplen;
}

static bool pump(cli_run *r, cap_source *s, const char *name)
{
    struct pump p = {r, 0, 0};
    uint64_t last_tick = now_wall_usec();
    size_t secrets_used = 0;
    cap_packet pkt;
    bool ok = true;

    r->cur_name = name;
    signals_watch(s);
    progress_show(r, true);
    while (!sig_stop && !r->out_errno) {
        /* live: packets in place in the kernel's ring, a few at a time */
        int rc = r->live ? cap_dispatch(s, 64, true, pump_one, &p) : cap_next(s, &pkt);
        if (!r->live && cap_take_events(s) & CAP_EV_OVERSIZE) /* once per file */
            egret_engine_file_event(r->eng, EGRET_FILE_EV_RECORD_OVER_SNAPLEN);
        /* pcapng secrets blocks, looked for every 64 packets: a session
         * whose keys come a few packets late is held and then decrypted */
        if (!r->live && (r->pkts & 63) == 0) keylogs_take_secrets(r->keys, s, &secrets_used, name);
        if (rc == CAP_PACKET && !r->live) {
            pump_one(&p, &pkt);
            if (sig_reload) reload(r);
            if ((r->pkts & PROGRESS_CHECK_MASK) == 0) progress_show(r, false);
        } else if (rc > 0) { /* live: rc packets */
            if (sig_reload) reload(r);
        } else if (rc == CAP_EOF || rc == CAP_EBREAK) {
            break;
        } else if (rc == CAP_ERROR) {
            input_error(r, name, cap_geterr(s));
            ok = false;
            break;
        }
        /* rc == CAP_TIMEOUT (live) falls through to the tick */
        if (sig_reload) reload(r);
        if (r->live) {
            uint64_t now = now_wall_usec();
            /* tick on every idle timeout, and at least once a second under load */
            if (rc == CAP_TIMEOUT || now - last_tick >= 1000000u || now < last_tick) {
                /* wall-clock packet time, never behind the last packet */
                last_tick = now;
                egret_keylog_poll(r->keys); /* clients append keys while they run */
                if (cap_stats(s, &r->cap_recv, &r->cap_drop, &r->cap_ifdrop) == 0) {
                    r->have_cap_stats = true;
                    eng_capture_stats(r);
                }
                egret_engine_advance(r->eng, now > p.last_ts ? now : p.last_ts);
                progress_show(r, false);
            }
        }
    }
    signals_watch(NULL);
    if (p.rejected && !r->o->quiet) {
        progress_clear(r);
        fprintf(stderr, "egret: %s: warning: the engine rejected %" PRIu64 " packets\n", name,
                p.rejected);
    }
    return ok;
}

/* workers_run's 'each': after every chunk of packets. */
static bool workers_each(void *ud, uint64_t pkts, uint64_t bytes)
{
    cli_run *r = ud;
    bool check = (r->pkts & ~(uint64_t)PROGRESS_CHECK_MASK) !=
                 ((r->pkts + pkts) & ~(uint64_t)PROGRESS_CHECK_MASK);
    r->pkts += pkts;
    r->cap_bytes += bytes;
    if (r->live) egret_keylog_poll(r->keys);
    if (sig_reload) reload(r);
    if (check && !r->live) progress_show(r, false);
    return !sig_stop && !r->out_errno;
}

/* Reads one savefile ("-" = stdin). */
static void run_file(cli_run *r, const char *path)
{
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    const char *file = is_stdin ? NULL : path; /* its name for the records and its size */
    char err[CAP_ERRBUF_SIZE];
    cap_source *s;

    r->n_sources++;
    if (is_stdin) {
        if (r->stdin_used) {
            input_error(r, name, "standard input can be read only once");
            return;
        }
        r->stdin_used = true;
    }
    progress_start(r, file);
    int rc = cap_open_file(path, r->o->filter, &s, err);
    if (rc != CAP_OK) {
        input_error(r, name, err);
        if (rc == CAP_EFILTER) r->filter_error = true;
        return;
    }
    if (r->wk) { /* the workers read it together (and close it unless it is a pipe) */
        bool keep = cap_may_block(s);
        r->cur_name = name;
        workers_set_input(r->wk, file, NULL);
        progress_show(r, true);
        if (keep) signals_watch(s); /* a stop signal breaks a read that waits */
        if (workers_run(r->wk, s, false, workers_each, r, err) == CAP_ERROR)
            input_error(r, name, err);
        signals_watch(NULL);
        if (keep) cap_close(s);
        return;
    }
    egret_engine_set_input(r->eng, file, NULL);
    pump(r, s, name);
    cap_close(s);
}

/* Directory mode reads every regular file except hidden ones and the
 * documentation / expectation files that capture directories carry
 * (README.md, MANIFEST.md, *.json expectations...). */
static int visible(const struct dirent *d)
{
    static const char *const skip[] = {".md",  ".txt", ".json", ".jsonl", ".csv",
                                       ".tsv", ".sh",  ".py",   ".lua",   ".out"};
    if (d->d_name[0] == '.') return 0;
    size_t n = strlen(d->d_name);
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
        size_t k = strlen(skip[i]);
        if (n > k && strcasecmp(d->d_name + n - k, skip[i]) == 0) return 0;
    }
    return 1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Reads the regular, non-hidden files of 'dir' in byte-wise name order. */
static void run_dir(cli_run *r, const char *dir)
{
    struct dirent **list;
    int n = scandir(dir, &list, visible, by_name);

    if (n < 0) {
        r->n_sources++;
        input_error(r, dir, strerror(errno));
        return;
    }
    size_t files = 0;
    for (int i = 0; i < n; i++) {
        if (!sig_stop && !r->out_errno && !r->filter_error) {
            size_t len = strlen(dir) + strlen(list[i]->d_name) + 2;
            char *path = malloc(len);
            struct stat st;
            if (!path) {
                r->n_sources++;
                input_error(r, dir, "out of memory");
            } else {
                bool slash = dir[0] && dir[strlen(dir) - 1] == '/';
                snprintf(path, len, "%s%s%s", dir, slash ? "" : "/", list[i]->d_name);
                if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                    files++;
                    run_file(r, path);
                }
                free(path);
            }
        }
        free(list[i]);
    }
    free(list);
    if (files == 0 && !r->o->quiet) {
        progress_clear(r);
        fprintf(stderr, "egret: %s: warning: no files to read\n", dir);
    }
}

static void run_offline(cli_run *r)
{
    for (size_t i = 0; i < r->o->inputs.n; i++) {
        const char *path = r->o->inputs.v[i];
        struct stat st;

        if (sig_stop || r->out_errno || r->filter_error) break;
        if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            run_dir(r, path);
        else
            run_file(r, path); /* reports a missing file with its errno */
    }
}

/* --user: once the capture is open, the rest of the run needs no root. */
static int drop_privileges(cli_run *r)
{
    char err[512];
    if (!r->o->user) return 0;
    if (privs_drop(err, sizeof(err)) != 0) {
        fprintf(stderr, "egret: %s\n", err);
        return -1;
    }
    if (r->o->verbose) fprintf(stderr, "egret: running as user %s\n", r->o->user);
    return 0;
}

/* Live with several workers and kernel fanout: one capture per worker.
 * Returns an exit status as run_live, or -1 when fanout is not available
 * (the caller falls back to one shared capture, with a warning). */
static int run_fanout(cli_run *r)
{
    char err[CAP_ERRBUF_SIZE] = "";
    workers_set_input(r->wk, NULL, r->o->iface);
    unsigned n = r->o->workers;
    egret_bpf_insn *prog = calloc(EGRET_SHARD_BPF_MAX, sizeof(*prog));
    cap_source **srcs = calloc(n, sizeof(*srcs));
    int np = prog && srcs ? workers_shard_bpf(r->wk, prog, EGRET_SHARD_BPF_MAX) : -1;
    int rc = CAP_ENOFANOUT;
    if (np > 0)
        rc = cap_open_fanout(r->o->iface, r->o->filter, r->o->buffer_mib, (int)n, prog, (size_t)np,
                             srcs, err);
    else
        snprintf(err, sizeof(err), "%s",
                 prog && srcs ? "the home net makes the shard program "
                                "too long for the kernel"
                              : "out of memory");
    free(prog);
    if (rc == CAP_OK && drop_privileges(r) != 0) {
        for (unsigned i = 0; i < n; i++) cap_close(srcs[i]);
        free(srcs);
        r->n_failed = 1;
        return EXIT_INPUT;
    }
    if (rc != CAP_OK) {
        free(srcs);
        if (rc == CAP_EFILTER || rc == CAP_ERROR) { /* as run_live reports them */
            fprintf(stderr, "egret: %s: %s\n", r->o->iface, err);
            if (rc == CAP_EFILTER) return EXIT_USAGE;
            r->n_failed = 1;
            return EXIT_INPUT;
        }
        if (!r->o->quiet)
            fprintf(stderr, "egret: %s: warning: %s; the workers share one capture instead\n",
                    r->o->iface, err);
        return -1;
    }
    r->fanout = true;
    if (!r->o->quiet)
        fprintf(stderr,
                "egret: listening on %s, link-type %d, snaplen %d, %u workers with kernel "
                "fanout\n",
                r->o->iface, cap_linktype(srcs[0]), CAP_SNAPLEN, n);
    r->cur_name = r->o->iface;
    signals_watch(srcs[0]); /* worker 0 (this thread) gets the stop signal */
    bool ok = workers_run_fanout(r->wk, srcs, workers_each, r, err) != CAP_ERROR;
    if (!ok) input_error(r, r->o->iface, err);
    signals_watch(NULL);
    r->cap_recv = r->cap_drop = r->cap_ifdrop = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t st[3];
        if (cap_stats(srcs[i], &st[0], &st[1], &st[2]) == 0) {
            r->have_cap_stats = true;
            r->cap_recv += st[0];
            r->cap_drop += st[1];
            r->cap_ifdrop += st[2];
        }
        cap_close(srcs[i]);
    }
    free(srcs);
    if (r->have_cap_stats) eng_capture_stats(r);
    return ok ? EXIT_OK : EXIT_INPUT;
}

/* Returns an exit status: EXIT_OK, EXIT_INPUT (open failed or read error)
 * or EXIT_USAGE (bad filter). */
static int run_live(cli_run *r)
{
    char err[CAP_ERRBUF_SIZE];
    cap_source *s;

    r->n_sources = 1;
    progress_start(r, NULL);
    if (r->wk && !r->o->no_fanout) {
        int st = run_fanout(r);
        if (st >= 0) return st;
    }
    int rc = cap_open_live(r->o->iface, r->o->filter, r->o->buffer_mib, &s, err);
    if (rc != CAP_OK) {
        fprintf(stderr, "egret: %s: %s\n", r->o->iface, err);
        if (rc == CAP_EFILTER) return EXIT_USAGE;
        r->n_failed = 1;
        return EXIT_INPUT;
    }
    if (drop_privileges(r) != 0) {
        cap_close(s);
        r->n_failed = 1;
        return EXIT_INPUT;
    }
    if (!r->o->quiet)
        fprintf(stderr, "egret: listening on %s, link-type %d, snaplen %d\n", r->o->iface,
                cap_linktype(s), CAP_SNAPLEN);
    bool ok = true;
    if (r->wk) {
        r->cur_name = r->o->iface;
        workers_set_input(r->wk, NULL, r->o->iface);
        signals_watch(s);
        if (workers_run(r->wk, s, true, workers_each, r, err) == CAP_ERROR) {
            input_error(r, r->o->iface, err);
            ok = false;
        }
        signals_watch(NULL);
    } else {
        egret_engine_set_input(r->eng, NULL, r->o->iface);
        ok = pump(r, s, r->o->iface);
    }
    if (cap_stats(s, &r->cap_recv, &r->cap_drop, &r->cap_ifdrop) == 0) {
        r->have_cap_stats = true;
        eng_capture_stats(r);
    }
    cap_close(s);
    if (!ok) return EXIT_INPUT;
    return EXIT_OK;
}

/* ==== Summary ========================================================= */

static void print_summary(cli_run *r, double elapsed)
{
    egret_host_stat top[SUMMARY_TOP_HOSTS];
    uint64_t per[64];
    summary sm = {.interrupted = sig_stop != 0,
                  .iface = r->live ? r->o->iface : NULL,
                  .n_sources = r->n_sources,
                  .n_failed = r->n_failed,
                  .have_cap_stats = r->have_cap_stats,
                  .cap_recv = r->cap_recv,
                  .cap_drop = r->cap_drop,
                  .cap_ifdrop = r->cap_ifdrop,
                  .written = r->written,
                  .redis = r->redis != NULL,
                  .out_name = r->out_name,
                  .out_errno = r->out_errno,
                  .flushed = r->flushed,
                  .elapsed = elapsed,
                  .top = top};

    progress_clear(r);
    if (r->redis) sink_get_counters(r->redis, &sm.redis_counters);
    eng_counters(r, &sm.counters);
    if (r->wk) {
        sm.workers = r->o->workers;
        sm.per_worker = per;
        sm.n_per_worker = workers_packets(r->wk, per, 64);
        sm.fanout = r->fanout;
        if (r->fanout) sm.misplaced = workers_misplaced(r->wk, &sm.checked);
    }
    sm.n_top = eng_top_hosts(r, top, SUMMARY_TOP_HOSTS);
    sm.found = r->found;
    const egret_engine *e0 = r->wk ? workers_engine0(r->wk) : r->eng;
    sm.geo_test = egret_engine_geo_dbs(e0, &sm.geoip_db, &sm.asn_db) == 1;
    sm.geo = sm.geoip_db || sm.asn_db;
    summary_print(stderr, &sm);
}

/* ==== main ============================================================ */

/* The EVE output and the alert log: appended to unless --truncate. */
static int open_output(cli_run *r)
{
    char err[512];
    if (outfile_open(&r->out, r->o->out_path, r->o->truncate, err, sizeof(err)) != 0) {
        fprintf(stderr, "egret: %s\n", err);
        return -1;
    }
    r->out_name = r->out.name;
    if (r->o->alert_log &&
        outfile_open(&r->alerts, r->o->alert_log, r->o->truncate, err, sizeof(err)) != 0) {
        fprintf(stderr, "egret: %s\n", err);
        outfile_close(&r->out);
        return -1;
    }
    if (r->out.repaired && !r->o->quiet)
        fprintf(stderr, "egret: %s: warning: its last line was cut (a crash?): ended it\n",
                r->out.name);
    return 0;
}

/* Flushes and closes the outputs; notes a write error. */
static void close_output(cli_run *r)
{
    if (r->out.fp) flush_out(r); /* 'flushed' for the summary */
    if (outfile_close(&r->out) != 0) note_write_error(r);
    if (outfile_close(&r->alerts) != 0) note_write_error(r);
}

/* What the run and the rule tools configure alike: the rules, and the
 * catalog and GeoIP that capture tests' engines use too. */
static void fill_common_config(const cli_opts *o, egret_config *cfg)
{
    cfg->rule_paths = o->rule_paths.v;
    cfg->n_rule_paths = o->rule_paths.n;
    cfg->rules_config_file = o->rules_config;
    cfg->rule_sets = o->rule_sets.v;
    cfg->n_rule_sets = o->rule_sets.n;
    cfg->no_rules = o->no_rules;
    if (o->tick_interval_s) cfg->tick_interval_s = o->tick_interval_s;
    cfg->home_net = o->home_net;
    cfg->ai_catalog_files = o->ai_catalogs.v;
    cfg->n_ai_catalog_files = o->ai_catalogs.n;
    cfg->data_dir = o->data_dir;
    cfg->ai_to_ndpi = !o->no_ndpi_ai;
    cfg->geoip_db = o->geoip_db;
    cfg->asn_db = o->asn_db;
    cfg->no_geo = o->no_geo;
    /* An installed egret never falls back to the bundled test GeoIP
     * databases unless the configuration asks (geo.test_databases). */
    if (datadir_installed() && !o->geo_test_ok) cfg->geo_dir = "";
}

/* egret_replay_fn for `egret test`: feeds every packet of a capture file
 * to the kit's engine (libegret itself reads no capture files). */
static int replay_file(egret_engine *e, const char *path, char *err, size_t errlen, void *ud)
{
    char cerr[CAP_ERRBUF_SIZE];
    cap_source *s;
    cap_packet pkt;
    (void)ud;
    if (cap_open_file(path, NULL, &s, cerr) != CAP_OK) {
        snprintf(err, errlen, "%s: %s", path, cerr);
        return EGRET_EIO;
    }
    int rc;
    while ((rc = cap_next(s, &pkt)) == CAP_PACKET) {
        if (cap_take_events(s) & CAP_EV_OVERSIZE)
            egret_engine_file_event(e, EGRET_FILE_EV_RECORD_OVER_SNAPLEN);
        egret_engine_feed(e, pkt.ts_usec, pkt.linktype, pkt.caplen, pkt.len, pkt.data);
    }
    if (rc == CAP_ERROR) {
        snprintf(err, errlen, "%s: %s", path, cap_geterr(s));
        cap_close(s);
        return EGRET_EIO;
    }
    cap_close(s);
    return EGRET_OK;
}

/* --check-rules, or `egret test PATH`: returns the exit status. */
static int run_rules_tool(const cli_opts *o)
{
    egret_config cfg;
    egret_config_init(&cfg);
    fill_common_config(o, &cfg);
    int bad = o->test_path ? egret_rules_test(&cfg, o->test_path, stdout, replay_file, NULL)
                           : egret_rules_check(&cfg, stderr);
    if (o->check_rules && !o->test_path && bad == 0 && !o->quiet)
        fprintf(stderr, "egret: rules OK\n");
    return bad ? EXIT_INPUT : EXIT_OK;
}

/* The engines' configuration for a run; 'r' receives events and logs. */
static void fill_run_config(cli_run *r, egret_config *cfg)
{
    const cli_opts *o = r->o;
    egret_config_init(cfg);
    fill_common_config(o, cfg);
    cfg->eve_types = o->eve_types;
    if (o->max_flows) cfg->max_flows = o->max_flows;
    if (o->stats_interval_set)
        cfg->stats_interval_s = o->stats_interval_s;
    else if (r->live)
        cfg->stats_interval_s = LIVE_STATS_INTERVAL_S;
    if (o->no_community_id) cfg->community_id = 0;
    cfg->ndpi_protos_file = o->ndpi_protos_file;
    cfg->ndpi_categories_file = o->ndpi_categories_file;
    cfg->evidence_dir = o->evidence_dir;
    cfg->evidence_pcap = o->evidence_pcap;
    cfg->no_inspect = o->no_inspect;
    cfg->inspect_depth = o->inspect_depth;
    cfg->reasm_memcap = o->reasm_memcap;
    cfg->on_event = on_event;
    cfg->event_ud = r;
    cfg->on_log = on_log;
    cfg->log_ud = r;
    cfg->tls_keylog = r->keys;
    if (r->wstore) cfg->fleet_store = winstore_store(r->wstore);
}

/* One engine, or o->workers of them (0: 1 for replay, the cores live).
 * Returns EXIT_OK, or the exit status after reporting the error. */
static int start_engines(cli_run *r, cli_opts *o, const egret_config *cfg)
{
    char err[EGRET_ERRBUF_SIZE] = "";
    int rc = EGRET_OK;

    if (o->workers == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        o->workers = r->live && nc > 1 ? (unsigned)(nc > 64 ? 64 : nc) : 1;
    }
    if (o->workers > 1) { /* the workers read the input together: no capture thread */
        r->wk = workers_new((int)o->workers, cfg, &sig_stop, err);
        if (!r->wk) rc = err[0] ? EGRET_ECONFIG : EGRET_ENOMEM;
    } else {
        rc = egret_engine_new(cfg, &r->eng, err);
    }
    if (rc == EGRET_OK) return EXIT_OK;
    fprintf(stderr, "egret: %s\n", err[0] ? err : egret_strerror(rc));
    return rc == EGRET_ENOMEM ? EXIT_INPUT : EXIT_USAGE;
}

/* --sensor-name (default the host name) as a JSON member, when records
 * carry it: with --eve-redis, --window-store or --sensor-name (so that
 * plain runs' output stays as it was).  Returns false after reporting a bad name. */
static bool setup_host(cli_run *r)
{
    const cli_opts *o = r->o;
    char name[256] = "";
    if (!o->sensor_name && !o->eve_redis && !o->window_store) return true;
    if (o->sensor_name)
        snprintf(name, sizeof(name), "%s", o->sensor_name);
    else if (gethostname(name, sizeof(name) - 1) != 0 || !name[0])
        snprintf(name, sizeof(name), "egret");
    for (const char *p = name; *p; p++) {
        /* JSON-safe without escaping, and a file name part (the spool) */
        if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\' || *p == '/' ||
            (unsigned char)*p >= 0x7f) {
            fprintf(stderr, "egret: --sensor-name: printable ASCII without quotes, backslashes or "
                            "slashes expected\n");
            return false;
        }
    }
    if (!name[0]) {
        fprintf(stderr, "egret: --sensor-name: empty\n");
        return false;
    }
    snprintf(r->sensor, sizeof(r->sensor), "%s", name);
    r->host_len = (size_t)snprintf(r->host_field, sizeof(r->host_field), "\"host\":\"%s\",", name);
    return true;
}

/* --eve-redis: the sink's thread (Redis may come up later).  Returns false
 * after reporting a bad setting. */
static bool setup_redis(cli_run *r)
{
    const cli_opts *o = r->o;
    char err[512];
    if (o->window_store) {
        r->wstore = winstore_new(o->window_store, r->sensor, err, sizeof(err));
        if (!r->wstore) {
            fprintf(stderr, "egret: --window-store: %s\n", err);
            return false;
        }
    }
    if (!o->eve_redis) return true;
    sink_cfg c = {.url = o->eve_redis,
                  .key = o->redis_key,
                  .sensor = r->sensor,
                  .spool_dir = o->redis_spool,
                  .mode = SINK_STREAM,
                  .maxlen = o->redis_maxlen,
                  .spool_max = o->redis_spool_max,
                  .block_when_full = !r->live};
    if (o->redis_mode) sink_mode_parse(o->redis_mode, &c.mode);
    r->redis = sink_start(&c, err, sizeof(err));
    if (!r->redis) {
        fprintf(stderr, "egret: --eve-redis: %s\n", err);
        return false;
    }
    return true;
}

/* Reads every input, or the interface until a stop; the exit status. */
static int read_inputs(cli_run *r)
{
    if (r->live) return run_live(r);
    run_offline(r);
    if (r->filter_error) return EXIT_USAGE;
    return r->n_failed ? EXIT_INPUT : EXIT_OK;
}

/* Ends the flows seen so far, whatever happened, so that the output is
 * complete and valid; closes it and prints the summary.  Returns the
 * exit status, 'status' unless writing failed. */
static int finish(cli_run *r, int status)
{
    eng_flush(r);
    close_output(r);
    if (r->redis) { /* sends what is queued, or spools it; keeps the counters */
        sink *rs = r->redis;
        sink_counters c;
        sink_stop_thread(rs);
        sink_get_counters(rs, &c);
        if (c.dropped && !r->o->quiet) {
            progress_clear(r);
            fprintf(stderr, "egret: warning: redis: %" PRIu64 " records dropped\n", c.dropped);
        }
    }
    double elapsed = now_mono() - r->t_start;

    if (r->out_errno) {
        progress_clear(r);
        fprintf(stderr, "egret: %s: write error: %s\n", r->out_name, strerror(r->out_errno));
        if (status == EXIT_OK) status = EXIT_INPUT;
    }
    if (!r->o->quiet) print_summary(r, elapsed);
    pidfile_remove(r->o->pidfile);
    progress_clear(r);
    sink_free(r->redis);
    r->redis = NULL;
    return status;
}

int main(int argc, char **argv)
{
    cli_opts o;
    cli_run r;
    egret_config cfg;
    char ferr[CAP_ERRBUF_SIZE];

    /* egret report ...: its own small command line (report.c) */
    if (argc > 1 && strcmp(argv[1], "report") == 0) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
            snprintf(self, sizeof(self), "%s", argv[0]);
        else
            self[n] = '\0';
        return report_main(argc - 1, argv + 1, self);
    }
    opts_result pr = opts_parse(argc, argv, &o, stderr);
    if (pr == OPTS_HELP)
        opts_usage(stdout);
    else if (pr == OPTS_VERSION)
        printf("egret %s\n%s\n", egret_version(), cap_lib_version());
    if (pr != OPTS_RUN) {
        opts_free(&o);
        return pr == OPTS_USAGE ? EXIT_USAGE : EXIT_OK;
    }
    datadir_init(); /* the shipped rules and data: before any engine */
    /* the configuration file's settings where the command line gave none */
    if (conffile_apply(&o, datadir_installed(), stderr) != 0 || !opts_check_input(&o, stderr)) {
        opts_free(&o);
        return EXIT_USAGE;
    }

    if (o.check_rules || o.test_path) {
        int status = run_rules_tool(&o);
        opts_free(&o);
        return status;
    }

    /* A syntax error in the filter is a usage error, before any input. */
    if (cap_check_filter(o.filter, ferr) != CAP_OK) {
        fprintf(stderr, "egret: %s\n", ferr);
        opts_free(&o);
        return EXIT_USAGE;
    }

    char serr[512];
    if (o.user && privs_lookup(o.user, serr, sizeof(serr)) != 0) {
        fprintf(stderr, "egret: %s\n", serr);
        opts_free(&o);
        return EXIT_USAGE;
    }
    if (o.buffer_mib == 0) o.buffer_mib = CLI_BUFFER_MIB_DEFAULT;

    memset(&r, 0, sizeof(r));
    r.o = &o;
    r.live = o.iface != NULL;
    static tally found; /* big fixed tables: not on the stack */
    if (!o.quiet) r.found = &found;
    r.progress = !o.quiet && isatty(STDERR_FILENO);
    r.keys = keylogs_open(o.tls_keylogs.v, o.tls_keylogs.n, o.quiet);
    if (!r.keys) {
        opts_free(&o);
        return EXIT_USAGE;
    }
    if (!setup_host(&r) || !setup_redis(&r)) {
        winstore_free(r.wstore);
        egret_keylog_free(r.keys);
        opts_free(&o);
        return EXIT_USAGE;
    }
    fill_run_config(&r, &cfg);
    int status = start_engines(&r, &o, &cfg);
    if (status == EXIT_OK && open_output(&r) != 0) status = EXIT_INPUT;
    if (status == EXIT_OK && o.pidfile && pidfile_write(o.pidfile, serr, sizeof(serr)) != 0) {
        fprintf(stderr, "egret: %s\n", serr);
        close_output(&r);
        status = EXIT_INPUT;
    }
    /* a replay has no capture to open first: it drops root at once */
    if (status == EXIT_OK && !r.live && drop_privileges(&r) != 0) {
        close_output(&r);
        pidfile_remove(o.pidfile);
        status = EXIT_INPUT;
    }
    if (status != EXIT_OK) { /* the engines, if any, before the key log they read */
        eng_free(&r);
        sink_stop_thread(r.redis);
        sink_free(r.redis);
        winstore_free(r.wstore);
        egret_keylog_free(r.keys);
        opts_free(&o);
        return status;
    }

    signals_install();
    r.t_start = now_mono();
    status = finish(&r, read_inputs(&r));

    /* The process ends here, and the engines' memory goes back with it:
     * freeing it piece by piece (nDPI's address trees, the flow state, one
     * engine per worker, each worker's malloc arena) only delays the exit.
     * Builds with AddressSanitizer still free everything, so their leak
     * check sees every allocation the engines make. */
#if defined(__SANITIZE_ADDRESS__)
    eng_free(&r);
    winstore_free(r.wstore); /* after the engines that use it */
    egret_keylog_free(r.keys);
#endif
    opts_free(&o);
    return status;
}
