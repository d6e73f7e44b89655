/*
 * sink_redis.h -- EVE records to Redis (--eve-redis): a bounded queue the
 * output callback fills, a thread that sends the records in pipelined
 * batches, and an on-disk spool for when Redis is unreachable.
 *
 * Modes (as Suricata's redis output): stream (XADD, exactly once per
 * sensor: a server-side script skips a (run, sequence) it has stored),
 * list (RPUSH, at least once) and channel (PUBLISH, best effort, never
 * spooled).
 */
#ifndef EGRET_CLI_SINK_REDIS_H
#define EGRET_CLI_SINK_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SINK_STREAM, SINK_LIST, SINK_CHANNEL } sink_mode;

typedef struct sink_cfg {
    const char *url;       /* redis://... or unix:///... */
    const char *key;       /* stream, list or channel name; NULL = "egret:eve" */
    const char *sensor;    /* the sensor's name (spool file name, sequence key) */
    const char *spool_dir; /* NULL: records that cannot be sent are dropped (counted) */
    sink_mode mode;
    uint64_t maxlen;      /* stream: MAXLEN ~ N; 0 = no trimming */
    uint64_t spool_max;   /* bytes; 0 = 1 GiB */
    size_t queue_bytes;   /* 0 = 16 MiB */
    bool block_when_full; /* replay: the producer waits for room instead of dropping */
} sink_cfg;

typedef struct sink_counters {
    uint64_t sent;          /* records Redis stored (or was handed, channel) */
    uint64_t queued;        /* records in the memory queue now */
    uint64_t spooled;       /* records written to the spool */
    uint64_t spool_pending; /* records in the spool not yet sent */
    uint64_t dropped;       /* records lost: queue full (live), spool full, no spool */
    uint64_t duplicates;    /* resent stream records the server skipped */
    uint64_t reconnects;    /* connections after the first */
    bool connected;
} sink_counters;

typedef struct sink sink;

/* Checks the configuration (URL, spool directory) and starts the thread;
 * Redis need not be up yet.  NULL with a message in 'err'. */
sink *sink_start(const sink_cfg *cfg, char *err, size_t err_size);

/* A record's piece: the caller splices fields in without copying. */
typedef struct sink_piece {
    const char *p;
    size_t n;
} sink_piece;

/* Hands over one record, the concatenation of n pieces.  Never waits on
 * Redis; with block_when_full it waits for room in the queue.  Records go
 * out in batches (1,000 records, 1 MiB or 20 ms); 'urgent' sends the
 * queue at once (live alerts and stats). */
void sink_push(sink *s, const sink_piece *pc, int n, bool urgent);

void sink_get_counters(sink *s, sink_counters *out);

/* Sends what is queued (to the spool when Redis is away) and stops the
 * thread; the counters stay readable.  A spool that cannot be drained
 * stays for the next run. */
void sink_stop_thread(sink *s);
/* Frees a stopped sink (NULL: nothing). */
void sink_free(sink *s);

/* A mode's name -> mode; false for an unknown name. */
bool sink_mode_parse(const char *name, sink_mode *m);

#endif
