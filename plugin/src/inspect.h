/*
 * inspect.h -- content inspection of one TCP flow: reassembly (reasm) ->
 * TLS decryption when keys are known (tlsdec) -> HTTP/1.x (http) or
 * HTTP/2 (h2) -> message-content detector (content).
 *
 * The engine starts inspection for a TCP flow whose first client payload
 * is an HTTP request line (inspect_wants) and then hands every packet of
 * the flow to inspect_packet.  Results come back per HTTP transaction:
 * on_request when a request (headers + body) is complete, with the content
 * summary of its body (or of its largest multipart file part), and
 * on_txn_done when its response is complete (for the EVE http record).
 * Raw content never leaves this module: only the summary (shape, counts,
 * fingerprint) and, when evidence is asked for, a short redacted sample.
 */
#ifndef EGRET_INSPECT_H
#define EGRET_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "content.h"
#include "decode.h"
#include "http.h"
#include "keylog.h"
#include "tlsdec.h"

typedef struct inspect_ctx inspect_ctx;
typedef struct inspect_flow inspect_flow;

#define INSPECT_SAMPLE_MAX 256 /* redacted body sample kept per request (evidence) */

/* What one request carried.  Borrowed for the callback. */
typedef struct inspect_req {
    const http_txn *t;
    content_result content; /* shape "" when no body was inspected */
    bool has_content;
    char purpose[32];   /* multipart "purpose" field (files API: "batch", "fine-tune") */
    char filename[128]; /* multipart file name of the inspected part */
    char sample[INSPECT_SAMPLE_MAX + 1]; /* redacted start of the body; only with samples on */
    bool decrypted;                      /* the request came out of TLS decryption */
    uint32_t anomalies; /* t->anomalies, plus HTTP_ANOM_TCP_OVERLAP from reassembly */
} inspect_req;

/* ctx_ud: given to inspect_new; flow_ud: given to inspect_flow_new. */
typedef struct inspect_callbacks {
    void (*on_request)(void *ctx_ud, void *flow_ud, const inspect_req *r);
    void (*on_txn_done)(void *ctx_ud, void *flow_ud, const inspect_req *r);
    /* The flow's inspection was ended to make room (state cap, least recently
     * active first): its inspect_flow is gone, forget the pointer. */
    void (*on_evict)(void *ctx_ud, void *flow_ud);
} inspect_callbacks;

typedef struct inspect_stats {
    uint64_t flows, requests, responses, bodies, http_events;
    uint64_t flows_live, flows_evicted; /* inspected now; ended early at the state cap */
    uint64_t reasm_bytes_now, reasm_peak, reasm_memcap_drops, reasm_gaps, reasm_depth;
    uint64_t reasm_overlap_conflict; /* stats tcp_overlap_conflict */
    uint64_t flows_tls, flows_h2;    /* inspected flows decrypted from TLS; parsed as HTTP/2 */
    bool has_tls;                    /* a key source is configured: 'tls' holds its counters */
    tlsdec_stats tls;
} inspect_stats;

/* memcap: reassembly bytes for all flows (0 = 64 MiB); depth: bytes per
 * direction inspected (0 = 4 MiB); samples: keep redacted body samples;
 * keys: the TLS key table (NULL: TLS flows are not inspected). */
inspect_ctx *inspect_new(size_t memcap, size_t depth, bool samples, keylog_table *keys,
                         const inspect_callbacks *cb, void *ctx_ud);
void inspect_free(inspect_ctx *c);

/* What a flow's first client payload makes it. */
enum { INSPECT_NONE, INSPECT_HTTP, INSPECT_H2C, INSPECT_TLS, INSPECT_ANY };

/* INSPECT_HTTP when 'payload' starts with an HTTP/1.x request method and a
 * space, INSPECT_H2C with the whole HTTP/2 preface, INSPECT_TLS with a TLS
 * ClientHello when the context has keys; INSPECT_ANY when it is too short
 * to tell (a proper prefix of a method or of the preface: a client sending
 * tiny segments), the parser then being picked from the first in-order
 * bytes (the engine also asks for INSPECT_ANY when the first payload is
 * out of order); else INSPECT_NONE. */
int inspect_wants(const inspect_ctx *c, const uint8_t *payload, size_t len);

/* kind: inspect_wants' answer.  At the state cap the least recently
 * active inspected flow is ended first (on_evict tells its owner).  NULL
 * on out-of-memory. */
inspect_flow *inspect_flow_new(inspect_ctx *c, void *flow_ud, int kind);

/* The flow's direction dir (0 client) started at sequence seq (its ISN+1,
 * the SYN having been seen before inspection began).  Before its first
 * packet is given to inspect_packet. */
void inspect_flow_seq_base(inspect_flow *f, int dir, uint32_t seq);
/* dir: 0 client->server, 1 server->client. */
void inspect_packet(inspect_ctx *c, inspect_flow *f, int dir, const dec_pkt *p);
/* Ends both directions (reporting what was seen), then frees.  NULL ok. */
void inspect_flow_end(inspect_ctx *c, inspect_flow *f);

void inspect_get_stats(const inspect_ctx *c, inspect_stats *out);

#endif /* EGRET_INSPECT_H */
