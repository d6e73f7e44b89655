/*
 * rules_test.h -- the rule test kit (`egret test PATH`): synthetic events and captures.
 *
 * A test file is Lua (text only; base, string, table and math; no io/os)
 * returning one test or a list of tests:
 *
 *   { name = "...", rules = "path" | {...} | nil (default rules dir),
 *     config = { ... }, sets = { "a.b=1" },
 *     sids = { 9000001 } | nil (all), severities = { 1, 2 } | nil (all),
 *     load_errors = 0,
 *     events = { { hook = "on_flow_end", at = seconds, flow = {...},
 *                  forget = true|nil }, ... },
 *       -- or, instead of events, a capture replayed through the engine:
 *     pcap = "file.pcap", engine = { home_net =, tick_interval =,
 *                                    tick_bytes =, no_geo =, ai_catalog = },
 *     expect = { { sid =, severity =, src_ip =, dest_ip =, provider =, key =,
 *                  count = 1,
 *                  why = { field = value | { ge=, gt=, le=, lt=, eq= } } }, ... } }
 *
 * Only alerts passing the sids/severities filters count; `expect` must
 * match them exactly (each entry `count` times; anything else is an
 * unexpected alert): expect = {} means no alert passes the filters.
 * Relative `rules` paths are resolved against the test file's directory;
 * a relative `pcap` (and ai_catalog) against the test file's directory,
 * else against the working directory.  `sets` may also be
 * a map: { ["bulk_upload.min_bytes"] = 1e6 }.
 * See rules/README.md ("Testing rules") for the flow fields.
 */
#ifndef EGRET_RULES_TEST_H
#define EGRET_RULES_TEST_H

#include <stdint.h>
#include <stdio.h>

#include "rules.h"

/* A capture test (`pcap = "file"`): the kit knows no engine and no
 * packets, so the host replays the capture through a real engine.
 * 'rules' carries the test's rule paths, config_text and sets plus the
 * kit's on_alert / on_log / ud: the runner loads the rules with them
 * (adding its own callbacks), hands every alert to rules->on_alert with
 * the engine's rule_view, and every rule log line to rules->on_log. */
typedef struct rules_test_capture {
    const char *pcap; /* resolved path */
    const rules_config *rules;
    const char *home_net;                /* engine = { home_net = ... }; NULL: the host's */
    uint32_t tick_interval_s;            /* 0: the host's */
    uint64_t tick_bytes;                 /* 0: the host's */
    int no_geo;                          /* 1: run without GeoIP */
    const char *const *ai_catalog_files; /* extra catalogs (resolved), or none */
    size_t n_ai_catalog_files;
} rules_test_capture;

/* Replays c->pcap through an engine running c->rules, then flushes it.
 * Sets *n_errors to the rule load errors.  Returns 0, or -1 with a
 * message in err (the capture or the engine could not be set up). */
typedef int (*rules_test_capture_fn)(void *ctx, const rules_test_capture *c, size_t *n_errors,
                                     char *err, size_t errlen);

/* Runs 'path' (a *_test.lua file, or a directory: its *_test.lua files in
 * name order) against 'default_rules' (NULL: the shipped rules/).  Prints
 * "PASS name" / "FAIL name" with an expected-vs-got diff, then a summary
 * line "rules tests: N run, P passed, F failed".  Capture tests run
 * through 'capture' (NULL: they fail with a message saying so).  Returns
 * the number of failed tests (a file that does not load counts as one). */
int rules_test_run(const char *path, FILE *out, const char *default_rules,
                   rules_test_capture_fn capture, void *capture_ctx);

#endif /* EGRET_RULES_TEST_H */
