/*
 * tally.h -- what the run found, gathered from its own EVE records for
 * the end-of-run summary: alerts by severity and by rule, and per internal
 * host and AI provider the upload bytes, requests, messages counted and
 * destination countries.  Fixed-size tables (no allocation per record);
 * rows past the cap are counted, not kept.  Also the alert log's line.
 */
#ifndef EGRET_CLI_TALLY_H
#define EGRET_CLI_TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jscan.h"

#define TALLY_RULES     64
#define TALLY_PAIRS     256
#define TALLY_COUNTRIES 6
#define TALLY_SHOWN     20 /* host x provider rows printed */

typedef struct tally_rule {
    uint64_t sid, alerts;
    int severity;
    char signature[96];
} tally_rule;

typedef struct tally_pair {
    char host[48], provider[40];
    uint64_t bytes_up, flows, requests, messages;
    bool lossy; /* a content summary saw capture gaps: counts are lower bounds */
    char countries[TALLY_COUNTRIES][3];
    int n_countries;
} tally_pair;

typedef struct tally {
    uint64_t alerts, by_severity[4]; /* [0]: other than 1..3 */
    tally_rule rules[TALLY_RULES];
    size_t n_rules;
    uint64_t rules_over; /* alerts of rules past the cap */
    tally_pair pairs[TALLY_PAIRS];
    size_t n_pairs;
    uint64_t pairs_over;
    bool saw_flows, saw_http; /* which record types fed the table */
} tally;

/* Is the record of an internal client talking to an external server?
 * egret_direction, or the old "direction" of EVE written before issue 17.
 * (egret report reads it the same way.) */
bool tally_outbound(js_val r);

/* One EVE record (alert, flow or http; others are ignored). */
void tally_add(tally *t, const char *json, size_t len);

/* The summary's sections: alerts, then the host x provider table. */
void tally_print(FILE *fp, const tally *t);

/* The alert log's line for an alert record, fast.log-like, '\n' ended:
 *   TIME [**] [gid:sid:rev] SIGNATURE [**] [Category] [Severity: N] {PROTO}
 *   SRC:PORT -> DEST:PORT [provider HOST] [COUNTRY ASN] why: k=v ...
 * Returns its length, 0 when 'json' is not an alert. */
size_t tally_alert_line(const char *json, size_t len, char *out, size_t size);

#endif
