/*
 * engine_state.h -- the engine's internal state (struct egret_engine),
 * shared by the pipeline (engine.c) and the rules side (hooks.c), and the
 * services both use (engine_state.c).  Not part of the ABI.
 */
#ifndef EGRET_ENGINE_STATE_H
#define EGRET_ENGINE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "attr.h"
#include "decode.h"
#include "dpi.h"
#include "counters.h"
#include "egret.h"
#include "egret_tools.h"
#include "eve.h"
#include "fext.h"
#include "flow.h"
#include "geo.h"
#include "hosts.h"
#include "inspect.h"
#include "json.h"
#include "netset.h"
#include "rules.h"

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
    flow *cur_flow;            /* flow of the hook being dispatched (for alerts) */
    const geo_result *cur_geo; /* ... and its destination's geo (NULL: none) */
    /* The rule test kit's alert collector (capture tests; see
     * egret_rules_test): called with the view and alert before the EVE
     * record is built.  NULL in normal runs. */
    rules_alert_cb alert_tap;
    void *alert_tap_ud;
    char load_err[256];            /* first rule load error of the last (re)load */
    uint64_t ev_ts;                /* time of the event being processed: the packet's, the
                                      expiry boundary's, or 'now' at flush */
    uint64_t expire_sec;           /* last whole second of packet time expired at */
    uint64_t fleet_tick;           /* tick interval of the last fleet-window sync */
    flow *dirty_head, *dirty_tail; /* flows with traffic on_tick has not seen */
    inspect_ctx *inspect;          /* NULL with no_inspect */
    size_t early_held;             /* flows holding server bytes (engine.c early_*) */
    char *evidence_dir;
    char geo_city_path[512], geo_asn_path[512];
    bool geo_test; /* opened from the bundled test databases */
    flow_table *flows;
    dpi_ctx *dpi;
    eve_out out;                      /* the record being built (reused) */
    char in_file[1024], in_iface[64]; /* egret_engine_set_input: out.pcap_filename, .in_iface */
    uint64_t now;                     /* latest packet time seen (us) */
    uint64_t first_ts;
    uint64_t started_s; /* CLOCK_MONOTONIC at creation: stats.uptime is wall clock */
    uint64_t next_stats;
    bool seen_packet;
    engine_counters c; /* see counters.h; the modules keep their own */
    uint64_t dec_events[EV__COUNT];
    hosts hosts; /* outbound totals per internal client (summary) */
};

/* engine_state.c: services for engine.c and hooks.c. */
void engine_emit(egret_engine *e, egret_event_type type, uint64_t ts, uint64_t flow_id,
                 int severity);
void engine_log(egret_engine *e, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const geo_result *engine_dest_geo(egret_engine *e, const flow *f, const fext *x, geo_result *buf);

#endif /* EGRET_ENGINE_STATE_H */
