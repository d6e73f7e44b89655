/*
 * fext.h -- the engine's per-flow state (the flow table's ext area): what
 * classification, attribution, inspection, the rule hooks and evidence
 * keep for one flow.  Read by the record builders (eve.c).
 */
#ifndef EGRET_FEXT_H
#define EGRET_FEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "attr.h"
#include "dpi.h"
#include "inspect.h"

struct evidence_buf;
struct flow;
struct early_srv;

/* Per-flow engine state (the flow table's ext area). */
typedef struct fext {
    dpi_flow *df;      /* NULL once classification is done */
    uint32_t dpi_pkts; /* packets given to the classifier */
    bool cli_internal, srv_internal;
    bool attributed_done; /* attribution ran (at classification or flow end) */
    bool has_ai;
    bool alerted;
    bool ruled;           /* some rule hook saw this flow (it may hold rule state) */
    bool classified_sent; /* on_classified dispatched */
    uint64_t tick_ts;     /* packet time of the last on_tick */
    uint64_t tick_bytes_ts, tick_bytes_tc, tick_payload_ts; /* counters at the last tick */
    uint32_t tick_exchanges;
    bool dirty;                 /* on the engine's list of flows with un-ticked traffic */
    bool insp_decided;          /* inspection decided at the first payload */
    bool early_capped;          /* server bytes before the client's: past the hold */
    bool decrypted;             /* a request came out of TLS decryption */
    inspect_flow *insp;         /* clear-text HTTP inspection, or NULL */
    struct early_srv *early;    /* server bytes held until the client speaks (engine.c) */
    struct evidence_buf *evid;  /* first packets + last body sample (--evidence) */
    struct flow *dprev, *dnext; /* that list (packet order) */
    uint32_t dns_tx;            /* DNS messages parsed on the flow so far: the next EVE dns tx_id */
    /* http record timestamps: its request's first packet.  req_start is the
     * first client payload packet since the last complete request; a
     * complete request moves it to req_ts[id % 4] (pipelined requests) */
    uint64_t req_start, req_ts[4];
    /* tls.ja3.string: from the client's first payload when it holds a whole
     * ClientHello (TLS flows, tls records asked for); freed once written */
    char *ja3_str;
    bool ja3_tried;
    dpi_info info;
    attr_result ai;
} fext;

#endif /* EGRET_FEXT_H */
