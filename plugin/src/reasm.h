/*
 * reasm.h -- per-direction TCP stream reassembly (the only module that
 * copies payload).
 *
 * One reasm_ctx per engine holds the limits and the global counters; one
 * reasm_stream per flow direction (embedded in the flow, caller storage)
 * holds the sequence state and the out-of-order segment list.  The engine
 * pushes every TCP segment of a direction with reasm_push(); the module
 * calls the deliver callback with in-order bytes, gap notices and the end of
 * the stream.
 *
 * Engine wiring: for each TCP segment of direction d,
 *   reasm_push(ctx, &flow->rs[d], seq, tcp_flags, payload, len, cb, ud);
 *   if the segment carries ACK: reasm_ack(ctx, &flow->rs[!d], ack, cb, ud');
 * at flow end or idle timeout reasm_stream_close() on both directions
 * (delivers what is queued, then REASM_END); in the flow destructor
 * reasm_stream_free().  cb maps REASM_DATA -> http_conn_feed, REASM_GAP ->
 * http_conn_gap, REASM_DEPTH and REASM_END -> http_conn_end.
 *
 * Policy (documented, tested in tests/unit/test_reasm.c):
 *  - Sequence numbers are compared modulo 2^32 (RFC 1982 style), so streams
 *    crossing 2^32 reassemble normally.
 *  - Base: a SYN sets the base to ISN+1.  Without a SYN (midstream pickup)
 *    the first segment seen sets the base to its sequence number.
 *  - In-order data is delivered straight from the caller's packet buffer,
 *    without copying or allocating.  Only out-of-order segments are copied
 *    (one malloc per stored piece).
 *  - Overlaps: first wins (the bytes seen first are kept, like Linux/BSD for
 *    already-queued data).  Bytes at or before the delivery point are
 *    retransmissions and dropped; a segment partly before it is trimmed.  An
 *    out-of-order segment overlapping queued ones only fills the holes; if
 *    the overlapping bytes differ, overlap_diff is counted (evasion signal).
 *    A bounded history (the last REASM_HIST_BYTES delivered bytes of each
 *    stream) lets a retransmission of already delivered bytes be compared
 *    too: differing bytes, queued or retransmitted, count overlap_conflict
 *    (stream and ctx; stats tcp_overlap_conflict) -- the first copy is
 *    still the one delivered (docs/EVASION.md).  A decrypted TLS direction
 *    stops adding to its history once its keys are found
 *    (reasm_stream_no_history: the AEAD tag guards those bytes).
 *  - Gaps (capture loss) never stall the stream.  The hole is skipped and a
 *    REASM_GAP notice (len = bytes skipped) is delivered before the next
 *    data when: the queued out-of-order data exceeds the per-stream limit
 *    (bytes or segments), the memcap would be exceeded by queueing, the peer
 *    acknowledged bytes we never saw (reasm_ack), a RST arrives, or the
 *    stream is closed (flow end / timeout: reasm_stream_close).  A FIN alone
 *    does not skip a hole (the missing retransmission usually follows the
 *    FIN); the peer's ACK of the FIN, or the close, does.
 *  - FIN: when the delivery point reaches the FIN's sequence, REASM_END is
 *    delivered (once).  RST: queued data is flushed (with gaps), then
 *    REASM_END.  After REASM_END the stream ignores further segments.
 *  - Depth: at most 'depth' data bytes per stream are delivered (0 = no
 *    limit); the segment crossing the limit is cut, REASM_DEPTH is
 *    delivered once, queued data is freed and later bytes are only counted.
 *  - Memcap: bytes queued across all streams of the ctx (payload plus a
 *    fixed per-segment overhead) never exceed 'memcap'.  A segment that
 *    does not fit is not queued (memcap_drops); instead the stream skips its
 *    hole(s) and delivers queued data and that segment directly, so memory
 *    pressure costs inspection fidelity, not liveness.
 */
#ifndef EGRET_REASM_H
#define EGRET_REASM_H

#include <stddef.h>
#include <stdint.h>

/* Segment flags for reasm_push: the TCP header bits (decode.h TH_*), so the
 * engine can pass pkt->tcp_flags unchanged.  Other bits are ignored. */
#define REASM_FIN 0x01u
#define REASM_SYN 0x02u
#define REASM_RST 0x04u

/* What a deliver callback receives. */
typedef enum reasm_event {
    REASM_DATA,  /* data/len: in-order bytes (borrowed; valid during the call only) */
    REASM_GAP,   /* data NULL, len = bytes skipped (a hole that will not fill) */
    REASM_DEPTH, /* data NULL, len 0: depth reached; no more data from this stream */
    REASM_END,   /* data NULL, len 0: stream ended (FIN reached, RST or close); last call */
} reasm_event;

typedef void (*reasm_deliver_fn)(void *ud, reasm_event ev, const uint8_t *data, size_t len);

typedef struct reasm_ctx reasm_ctx;
typedef struct reasm_seg reasm_seg; /* private: an out-of-order piece */

/* Per-direction state.  Caller storage (embed it in the flow); zero it
 * with reasm_stream_init.  Fields are read-only for callers; the counters
 * are per-stream copies of the ctx counters (for flow records). */
typedef struct reasm_stream {
    uint32_t next_seq;    /* next expected sequence number (delivery point) */
    uint32_t fin_seq;     /* sequence of the FIN, valid if REASM_ST_FIN */
    uint32_t flags;       /* REASM_ST_* */
    uint32_t ooo_segs;    /* out-of-order pieces queued */
    size_t ooo_bytes;     /* bytes queued (payload + overhead) */
    reasm_seg *ooo;       /* queued pieces, sorted by seq, non-overlapping */
    uint64_t delivered;   /* data bytes delivered (counts against depth) */
    uint64_t gaps;        /* gap notices delivered */
    uint64_t gap_bytes;   /* bytes skipped in gaps */
    uint64_t overlaps;    /* segments with bytes overlapping earlier data */
    uint64_t depth_bytes; /* bytes not delivered because of depth */
    /* The last REASM_HIST_BYTES delivered bytes (allocated at the first
     * delivery, freed at the end): a retransmission of delivered bytes is
     * compared with them (overlap_conflicts). */
    uint8_t *hist;
    uint32_t hist_end;          /* sequence just past the newest byte in hist */
    uint32_t hist_fill;         /* valid bytes before hist_end */
    uint64_t overlap_conflicts; /* overlaps whose bytes differed from the kept copy */
} reasm_stream;

#define REASM_HIST_BYTES 2048u

#define REASM_ST_STARTED   0x01u /* base sequence known */
#define REASM_ST_MIDSTREAM 0x02u /* base from the first segment, no SYN seen */
#define REASM_ST_FIN       0x04u /* FIN seen (fin_seq valid) */
#define REASM_ST_RST       0x08u /* RST seen */
#define REASM_ST_DEPTH     0x10u /* depth reached */
#define REASM_ST_ENDED     0x20u /* REASM_END delivered */
#define REASM_ST_NOHIST    0x40u /* later deliveries not kept in hist (reasm_stream_no_history) */

/* Global counters (reasm_ctx_stats). */
typedef struct reasm_stats {
    uint64_t bytes_buffered;   /* queued now (payload + per-segment overhead) */
    uint64_t bytes_peak;       /* high-water mark of bytes_buffered */
    uint64_t segs_buffered;    /* pieces queued now */
    uint64_t bytes_delivered;  /* data bytes delivered to callbacks */
    uint64_t memcap_drops;     /* segments not queued because of the memcap */
    uint64_t gaps;             /* gap notices delivered */
    uint64_t gap_bytes;        /* bytes skipped */
    uint64_t overlaps;         /* segments overlapping already seen data */
    uint64_t overlap_diff;     /* of those, queued overlaps whose bytes differed */
    uint64_t overlap_conflict; /* overlaps (queued or retransmitted within the history)
                                  whose bytes differed from the kept copy */
    uint64_t retransmits;      /* segments entirely at or before the delivery point */
    uint64_t depth_reached;    /* streams that reached depth */
    uint64_t depth_bytes;      /* bytes not delivered because of depth */
    uint64_t ooo_limit_skips;  /* holes skipped because the per-stream queue was full */
} reasm_stats;

/* Defaults (bytes).  The per-stream queue limit defaults to
 * REASM_DEFAULT_OOO_BYTES and REASM_DEFAULT_OOO_SEGS pieces. */
#define REASM_DEFAULT_MEMCAP    (64u * 1024 * 1024)
#define REASM_DEFAULT_DEPTH     (4u * 1024 * 1024)
#define REASM_DEFAULT_OOO_BYTES (1024u * 1024)
#define REASM_DEFAULT_OOO_SEGS  1024u
#define REASM_SEG_OVERHEAD      32u /* bytes charged per queued piece */

/* A new context.  memcap: bound on bytes queued over all streams (0 =
 * REASM_DEFAULT_MEMCAP); depth: data bytes delivered per stream before
 * REASM_DEPTH (0 = unlimited).  Returns NULL on allocation failure. */
reasm_ctx *reasm_ctx_new(size_t memcap, size_t depth);

/* Per-stream out-of-order queue limit (bytes incl. overhead, pieces);
 * 0 keeps the current value. */
void reasm_ctx_set_ooo_limit(reasm_ctx *ctx, size_t bytes, uint32_t segs);

/* Frees the context.  All streams must have been freed or closed first
 * (their queued bytes belong to the ctx accounting).  Accepts NULL. */
void reasm_ctx_free(reasm_ctx *ctx);

/* Copies the global counters into *out. */
void reasm_ctx_stats(const reasm_ctx *ctx, reasm_stats *out);

/* Zeroes a stream (caller storage).  No allocation. */
void reasm_stream_init(reasm_stream *s);

/* A stream whose SYN went by before it was created (inspection decided
 * later): its data starts at 'next_seq' (ISN+1), so that segments that
 * arrived out of order before it are not taken for the start.  Only
 * before the first reasm_push. */
void reasm_stream_start(reasm_stream *s, uint32_t next_seq);

/* Stops adding delivered bytes to the stream's history (what it holds
 * stays and is still compared).  For a stream whose consumer authenticates
 * every byte it inspects from now on (a TLS direction being decrypted): the
 * per-byte copy into the history is then ~7 % of a decrypting run, and a
 * conflicting retransmission cannot change what is inspected.  The first
 * copy is the one decrypted, so a junk-first overlap fails its AEAD tag
 * (the direction stops, auth_failures) instead of counting
 * overlap_conflict; a different later copy that the server would accept
 * must be a valid record under the session's keys, which only the key
 * holder can make -- the client whose key log egret reads, which could as
 * well not log the keys.  Not called from a deliver callback. */
void reasm_stream_no_history(reasm_stream *s);

/* Feeds one TCP segment of this direction: seq = the TCP sequence number,
 * flags = TCP header bits (REASM_SYN/FIN/RST), data/len = the TCP payload
 * (borrowed; may be NULL when len is 0).  Calls cb(ud, ...) zero or more
 * times before returning, in stream order.  Never fails: bad or late input
 * is counted, not reported.  The callback must not call reasm functions on
 * the same stream (it may feed other modules, e.g. http_conn_feed). */
void reasm_push(reasm_ctx *ctx, reasm_stream *s, uint32_t seq, unsigned flags, const uint8_t *data,
                size_t len, reasm_deliver_fn cb, void *ud);

/* Tells the stream that the peer acknowledged everything before 'ack' (the
 * ACK number of a segment in the opposite direction).  If that is beyond
 * the delivery point, the bytes in between were sent but not captured:
 * queued data up to 'ack' is delivered with gaps, and if the FIN was
 * acknowledged the stream ends.  Cheap when nothing is pending; the engine
 * may call it for every segment carrying ACK. */
void reasm_ack(reasm_ctx *ctx, reasm_stream *s, uint32_t ack, reasm_deliver_fn cb, void *ud);

/* Flow end or timeout: skips all holes, delivers queued data (with gaps),
 * then REASM_END if not yet delivered.  Frees the queue.  The stream stays
 * valid (ended) and may be freed or reused after reasm_stream_init. */
void reasm_stream_close(reasm_ctx *ctx, reasm_stream *s, reasm_deliver_fn cb, void *ud);

/* Frees queued data without delivering anything (e.g. flow eviction when
 * nobody listens).  Accepts NULL. */
void reasm_stream_free(reasm_ctx *ctx, reasm_stream *s);

#endif /* EGRET_REASM_H */
