/*
 * summary.h -- the end-of-run summary the CLI prints on stderr.
 */
#ifndef EGRET_CLI_SUMMARY_H
#define EGRET_CLI_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "egret.h"
#include "egret_tools.h"
#include "sink_redis.h"
#include "tally.h"

#define SUMMARY_TOP_HOSTS 5
#define SUMMARY_LOSS_HINT 0.1 /* percent of capture loss from which the summary says what to do */

/* What the summary reports; the caller gathers it from the engine or the
 * workers. */
typedef struct summary {
    bool interrupted;
    const char *iface; /* live: the interface; NULL: replay */
    size_t n_sources, n_failed;
    egret_counters counters;
    bool have_cap_stats;
    uint64_t cap_recv, cap_drop, cap_ifdrop;
    unsigned workers;           /* 0: one engine, no workers line */
    const uint64_t *per_worker; /* packets of each worker */
    size_t n_per_worker;
    bool fanout; /* kernel fanout: 'misplaced' of 'checked' */
    uint64_t misplaced, checked;
    uint64_t written;
    bool redis; /* --eve-redis: the sink's counters */
    sink_counters redis_counters;
    const char *out_name;
    /* Added: the output's first write error (0: none) and the records known
     * to have reached it (flushed) before that; then 'written' is not claimed. */
    int out_errno;
    uint64_t flushed;
    double elapsed; /* seconds */
    const egret_host_stat *top;
    size_t n_top;       /* at most SUMMARY_TOP_HOSTS */
    const tally *found; /* alerts and uploads; NULL: not gathered */
    bool geo;           /* GeoIP in use: the paths below (NULL when absent) */
    const char *geoip_db, *asn_db;
    bool geo_test; /* the bundled TEST databases */
} summary;

void summary_print(FILE *fp, const summary *s);

#endif
