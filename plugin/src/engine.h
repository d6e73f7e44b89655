/*
 * engine.h -- the engine's internal state, shared by engine.c (wiring the
 * pipeline) and eve.c (building EVE records).  Not part of the ABI.
 */
#ifndef EGRET_ENGINE_H
#define EGRET_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "attr.h"
#include "decode.h"
#include "dpi.h"
#include "egret.h"
#include "flow.h"
#include "geo.h"
#include "inspect.h"
#include "json.h"
#include "netset.h"
#include "rules.h"

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
    inspect_flow *insp;         /* clear-text HTTP inspection, or NULL */
    struct evidence_buf *evid;  /* first packets + last body sample (--evidence) */
    struct flow *dprev, *dnext; /* that list (packet order) */
    dpi_info info;
    attr_result ai;
} fext;

/* Outbound totals per internal host (for the summary). */
typedef struct host_slot {
    uint8_t ip_v;
    uint8_t addr[16];
    uint64_t bytes_out, flows_out;
} host_slot;

#define ENGINE_HOSTS_CAP 65536 /* power of two: the host table's largest size */
#define ENGINE_HOSTS_MIN 1024  /* and its first */

struct egret_engine {
    egret_config cfg;
    char *home_net; /* owned copies of config strings */
    char *ndpi_protos_file;
    char *ndpi_categories_file;
    char *data_dir, *geo_dir, *geoip_db, *asn_db;
    char **ai_catalog_files;
    char ndpi_ai_protos[64]; /* temporary nDPI protocols file made from the catalog */
    netset *home;
    attr *attr;
    geo *geo;          /* NULL when GeoIP is off or no database could be opened */
    rules *rules;      /* NULL with --no-rules */
    rules_config rcfg; /* as used for (re)loading */
    char **rule_paths, **rule_sets;
    size_t n_rule_paths, n_rule_sets;
    char *rules_config_file;
    const char *default_rule_path[1];
    flow *cur_flow; /* flow of the hook being dispatched (for alerts) */
    /* The rule test kit's alert collector (capture tests; see
     * egret_rules_test): called with the view and alert before the EVE
     * record is built.  NULL in normal runs. */
    rules_alert_cb alert_tap;
    void *alert_tap_ud;
    char load_err[256]; /* first rule load error of the last (re)load */
    uint64_t alerts, rules_reloads;
    uint64_t ev_ts;                /* time of the event being processed: the packet's, the
                                      expiry boundary's, or 'now' at flush */
    uint64_t expire_sec;           /* last whole second of packet time expired at */
    flow *dirty_head, *dirty_tail; /* flows with traffic on_tick has not seen */
    inspect_ctx *inspect;          /* NULL with no_inspect */
    uint64_t insp_skipped;         /* HTTP flows not inspected: nothing consumes it */
    char *evidence_dir;
    uint64_t evidence_bytes, evidence_capped, evidence_written;
    uint64_t http_records;
    int64_t time_cache_s; /* eve_time: date part of the last second formatted */
    char time_cache[24];
    bool time_cache_valid;
    char geo_city_path[512], geo_asn_path[512];
    flow_table *flows;
    dpi_ctx *dpi;
    jw out;       /* reused output buffer */
    uint64_t now; /* latest packet time seen (us) */
    uint64_t first_ts;
    uint64_t next_stats;
    bool seen_packet;
    /* counters */
    uint64_t packets, bytes, invalid, records;
    uint64_t dec_events[EV__COUNT];
    uint64_t kernel_packets, kernel_drops, kernel_ifdrops;
    uint64_t dpi_classified, dpi_giveups;
    uint64_t hosts_capped;
    uint64_t dns_parsed, dns_malformed;
    host_slot *hosts; /* open addressing, hosts_cap slots */
    uint32_t hosts_cap;
    uint32_t hosts_used;
};

/* eve.c: record builders; each resets e->out and leaves one JSON object. */
void eve_flow(egret_engine *e, const flow *f, const fext *x, flow_end_reason why);
void eve_tls(egret_engine *e, const flow *f, const fext *x, uint64_t ts);
void eve_dns(egret_engine *e, const flow *f, const fext *x, const dns_msg *m, uint64_t ts,
             bool to_server);
void eve_stats(egret_engine *e);
void eve_alert(egret_engine *e, const flow *f, const fext *x, const rule_alert *a, uint64_t ts);
void eve_http(egret_engine *e, const flow *f, const fext *x, const inspect_req *r, uint64_t ts);
/* Address text: dotted quad or RFC 5952 IPv6. */
void eve_addr(int ip_v, const uint8_t *a, char out[46]);
/* "TCP", "UDP", "ICMP", "IPv6-ICMP"...; NULL for an unnamed protocol. */
const char *eve_proto_name(uint8_t proto);
/* "2025-03-01T10:00:00.000000+0000" */
void eve_time(egret_engine *e, uint64_t ts_us, char out[40]);

#endif /* EGRET_ENGINE_H */
