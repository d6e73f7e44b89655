/*
 * counters.h -- the engine's own counters.  One list builds the struct the
 * engine increments and the "stats" record's fields (eve_stats walks the
 * same list), so a counter is added in one place.  Counters kept by the
 * modules (flow table, attribution, inspection, GeoIP, rules) come from
 * their own *_stats calls.
 *
 * X(field, group, json name): group is the stats object the field is
 * written in, in list order; STATS_NONE fields are not written.
 */
#ifndef EGRET_COUNTERS_H
#define EGRET_COUNTERS_H

#include <stdint.h>

enum {
    STATS_NONE,
    STATS_CAPTURE,
    STATS_DPI,
    STATS_HTTP,
    STATS_EVIDENCE,
    STATS_DNS,
    STATS_DETECT,
};

// clang-format off
#define ENGINE_COUNTERS(X)                                                     \
    X(packets,          STATS_CAPTURE,  "packets")                             \
    X(bytes,            STATS_CAPTURE,  "bytes")                               \
    X(kernel_packets,   STATS_CAPTURE,  "kernel_packets")                      \
    X(kernel_drops,     STATS_CAPTURE,  "kernel_drops")                        \
    X(kernel_ifdrops,   STATS_CAPTURE,  "kernel_ifdrops")                      \
    X(invalid,          STATS_NONE,     "invalid")  /* decoder.invalid */     \
    X(dpi_classified,   STATS_DPI,      "classified")                          \
    X(dpi_giveups,      STATS_DPI,      "giveups")                             \
    X(insp_skipped,     STATS_HTTP,     "flows_skipped")                       \
    X(insp_early_capped, STATS_HTTP,    "server_first_capped")                 \
    X(evidence_written, STATS_EVIDENCE, "written")                             \
    X(evidence_bytes,   STATS_EVIDENCE, "packet_bytes")                        \
    X(evidence_capped,  STATS_EVIDENCE, "flows_capped")                        \
    X(dns_parsed,       STATS_DNS,      "parsed")                              \
    X(dns_malformed,    STATS_DNS,      "malformed")                           \
    X(alerts,           STATS_DETECT,   "alert")                               \
    X(rules_reloads,    STATS_DETECT,   "rules_reloads")                       \
    X(records,          STATS_NONE,     "records")  /* EVE records emitted */  \
    X(http_records,     STATS_NONE,     "http_records")
// clang-format on

typedef struct engine_counters {
#define COUNTER_FIELD(f, g, n) uint64_t f;
    ENGINE_COUNTERS(COUNTER_FIELD)
#undef COUNTER_FIELD
} engine_counters;

#endif /* EGRET_COUNTERS_H */
