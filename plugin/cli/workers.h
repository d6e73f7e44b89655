/*
 * workers.h -- multi-worker packet processing for the egret CLI.
 *
 * N worker threads each own one egret engine (flow table, nDPI state, Lua
 * state).  The capture thread shards every packet with
 * egret_engine_shard() -- everything one internal host does lands on one
 * worker, so per-host aggregates and the per-client DNS cache need no
 * locks -- and copies it into that worker's bounded queue.  Replay never
 * drops: a full queue makes the reader wait.  Live capture drops when a
 * queue is full and counts it.  Events from all workers go through one
 * callback under a mutex: a single writer serialises the output.
 *
 * Uses egret.h, the CLI's capture.h (replay) and pthreads.
 */
#ifndef EGRET_CLI_WORKERS_H
#define EGRET_CLI_WORKERS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "egret.h"

typedef struct workers workers;

/* Creates 'n' engines from 'cfg' (its on_event is wrapped so that calls
 * are serialised) and starts their threads.  'lossy': drop on a full
 * queue (live) instead of waiting (replay).  Returns NULL with a message in
 * err on failure. */
workers *workers_new(int n, const egret_config *cfg, bool lossy, char err[EGRET_ERRBUF_SIZE]);

/* Replay of savefiles: no queues and no capture thread.  Worker 0 is the
 * caller's thread.  The caller opens each file (errors, progress) and
 * hands it over with workers_replay_file; the files are walked once, in
 * chunks that the worker ahead builds (packets of a mapped file are
 * referred to in place, others copied) and every worker goes through:
 * each keeps its shard and applies the same whole-second ticks as the
 * queue mode.  'stop' (the caller's signal flag) stops every worker. */
workers *workers_new_replay(int n, const egret_config *cfg, const volatile sig_atomic_t *stop,
                            char err[EGRET_ERRBUF_SIZE]);

/* Replay: walks 'src' (which the workers close) with the other workers,
 * worker 0 feeding its shard; returns when worker 0 is past its end.
 * 'each' runs after every chunk with the packets and captured bytes it
 * held (all workers'); false stops the replay.  Returns CAP_EOF, CAP_ERROR
 * (message in err) or CAP_EBREAK (stopped). */
int workers_replay_file(workers *w, cap_source *src, bool (*each)(void *, uint64_t, uint64_t),
                        void *ud, char err[CAP_ERRBUF_SIZE]);

/* Copies one packet to its worker's queue (not in replay). */
void workers_feed(workers *w, uint64_t ts_usec, int linktype, uint32_t caplen, uint32_t len,
                  const uint8_t *data);

/* Moves packet time forward on every worker (live timer / replay gaps). */
void workers_advance(workers *w, uint64_t ts_usec);

/* Passes the capture counters to worker 0 (stats records). */
void workers_set_capture_stats(workers *w, uint64_t recv, uint64_t drop, uint64_t ifdrop);

/* Asks every worker to reload (SIGHUP); errors go to the log callback. */
void workers_reload(workers *w);

/* Drains every queue, flushes every engine (end of input). */
void workers_flush(workers *w);

/* Sums of the engines' counters; queue drops in *queue_drops. */
void workers_counters(workers *w, egret_counters *out, uint64_t *queue_drops);

/* Packets each worker processed (up to n workers); returns the count. */
size_t workers_packets(workers *w, uint64_t *out, size_t n);

/* Merged top internal hosts, largest first. */
size_t workers_top_hosts(workers *w, egret_host_stat *out, size_t n);

/* Stops the threads and frees the engines (without flushing).  NULL ok. */
void workers_free(workers *w);

#endif /* EGRET_CLI_WORKERS_H */
