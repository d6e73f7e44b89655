/*
 * workers.h -- multi-worker packet processing for the egret CLI.
 *
 * N worker threads each own one egret engine (flow table, nDPI state, Lua
 * state).  There is no capture thread: the input is read once, in chunks
 * that whichever worker is ahead builds, and every worker keeps its shard
 * of each (egret_engine_shard: everything one internal host does lands on
 * one worker, so per-host aggregates and the per-client DNS cache need no
 * locks).  Chunks sit in a bounded ring; a full one makes the worker
 * ahead wait (a live capture then buffers in the kernel, which counts what
 * it drops).  Live on Linux, workers_run_fanout instead gives each worker
 * a capture of its own that the kernel fills with that worker's shard
 * (packet fanout).  Events from all workers go through one callback under
 * a mutex: a single writer serialises the output.
 *
 * Uses egret.h, the CLI's capture.h and pthreads.
 */
#ifndef EGRET_CLI_WORKERS_H
#define EGRET_CLI_WORKERS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "egret.h"
#include "egret_tools.h"

typedef struct workers workers;

/* Creates 'n' engines from 'cfg' (its on_event is wrapped so that calls
 * are serialised) and starts workers 1..n-1 (worker 0 is the caller's
 * thread).  'stop' (the caller's signal flag) stops every worker.
 * Returns NULL with a message in err on failure. */
workers *workers_new(int n, const egret_config *cfg, const volatile sig_atomic_t *stop,
                     char err[EGRET_ERRBUF_SIZE]);

/* Names the input the next workers_run (or the fanout) reads, for the
 * records' pcap_filename / in_iface; NULL for none.  Copied. */
void workers_set_input(workers *w, const char *pcap_filename, const char *in_iface);

/* Reads 'src' with the other workers, worker 0 feeding its shard, until
 * its end, an error or a stop; returns once worker 0 is past the last
 * chunk.  A savefile is closed by the workers.  A live capture ('live':
 * wall-clock ticks with its capture counters) and a savefile whose reads
 * may block (cap_may_block: a pipe; only worker 0 reads it) are the
 * caller's to close after the call.  'each' runs after every
 * chunk with the packets and captured bytes it held (all workers'); false
 * stops the run.  Returns CAP_EOF, CAP_ERROR (message in err) or
 * CAP_EBREAK (stopped). */
int workers_run(workers *w, cap_source *src, bool live, bool (*each)(void *, uint64_t, uint64_t),
                void *ud, char err[CAP_ERRBUF_SIZE]);

/* Live, with kernel fanout: worker i reads srcs[i] (cap_open_fanout with
 * workers_shard_bpf's program, n sources) until a stop or an error; each
 * worker ticks on its own packet time and on wall-clock time.  'each'
 * runs on worker 0 after every read with its packets and bytes; false
 * stops the run.  Returns once no worker reads any more (the caller then
 * closes the sources): CAP_ERROR (message in err) or CAP_EBREAK. */
int workers_run_fanout(workers *w, cap_source **srcs, bool (*each)(void *, uint64_t, uint64_t),
                       void *ud, char err[CAP_ERRBUF_SIZE]);

/* The kernel fanout program for these workers (egret_engine_shard_bpf
 * with their count); -1 if it does not fit in 'cap'. */
int workers_shard_bpf(workers *w, egret_bpf_insn *prog, size_t cap);

/* Fanout: of the packets checked (*checked; one in 16), those the kernel
 * handed to a worker other than egret_engine_shard's (processed where they
 * landed).  After the run. */
uint64_t workers_misplaced(workers *w, uint64_t *checked);

/* Passes the capture counters to worker 0 (stats records); between runs. */
void workers_set_capture_stats(workers *w, uint64_t recv, uint64_t drop, uint64_t ifdrop);

/* Asks every worker to reload (SIGHUP) before its next chunk; errors go
 * to stderr. */
void workers_reload(workers *w);

/* End of input: every engine ends its flows (in parallel). */
void workers_flush(workers *w);

/* Sums of the engines' counters.  After workers_flush. */
void workers_counters(workers *w, egret_counters *out);

/* Packets each worker processed (up to n workers); returns the count. */
size_t workers_packets(workers *w, uint64_t *out, size_t n);

/* Merged top internal hosts, largest first. */
size_t workers_top_hosts(workers *w, egret_host_stat *out, size_t n);

/* The first worker's engine (they share one configuration), for what
 * the summary reads alike from each, such as the databases. */
const egret_engine *workers_engine0(workers *w);

/* Holds the single writer (the caller's event callback) off while the
 * caller swaps its output files (SIGHUP). */
void workers_output_lock(workers *w);
void workers_output_unlock(workers *w);

/* Stops the threads and frees the engines (without flushing).  NULL ok. */
void workers_free(workers *w);

#endif /* EGRET_CLI_WORKERS_H */
