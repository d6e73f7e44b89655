/*
 * rules.h -- the Lua rule host (sandbox, loading, dispatch, limits) as
 * seen by the engine.
 *
 * Lua headers are included by the rules*.c files only (through
 * rules_int.h) and the rule test kit (rules_test*.c).  The types the engine
 * and the host exchange are in rule_view.h.  The engine hands rules a
 * read-only rule_view: plain data filled from the flow at hook time, so
 * rule logic can also be driven by synthetic views (the rule test kit).
 * Rules raise alerts through the on_alert callback; 'why' arrives as
 * ready JSON text.
 */
/*
 * What the engine must do (the contract behind the hooks):
 *   RH_FLOW_CLASSIFIED  once per flow, when classification and AI
 *                       attribution are final (or given up): fill the
 *                       tuple, direction/internal flags, app_proto,
 *                       ndpi_proto, category, hostname/sni, risk, the
 *                       counters so far, ai_* and geo_*.
 *   RH_TLS_CLIENT_HELLO after the ClientHello: + sni, tls_version,
 *                       tls_alpn, ja3.
 *   RH_DNS_ANSWER       per DNS response, on the DNS flow (src = the
 *                       client that asked): dns_*; has_ai/ai_* describe
 *                       the catalog match of dns_rrname.
 *   RH_HTTP_REQUEST     per parsed request: http_*, content_* (-1/NULL
 *                       unknown).
 *   RH_TICK             periodically (packet time, e.g. every 10-60 s)
 *                       for each live flow with new traffic: cumulative
 *                       counters plus d_* deltas since this flow's
 *                       previous tick (d_us = time since it).
 *   RH_FLOW_END         once, with final counters; then call
 *                       rules_flow_forget(flow_id).
 * Always fill flow_id (unique while the flow lives), src/dest (src =
 * client), start_us/last_us, and pass now_us = the event's packet time
 * (monotonic).  Strings may be NULL or "" when unknown.  Check
 * rules_wants() before building a view.  Reload: rules_new() a new set,
 * swap, rules_free() the old one (instances are independent; call each
 * from one thread at a time).
 */
#ifndef EGRET_RULES_H
#define EGRET_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "rule_view.h"

typedef struct rules rules;

/* Loads and validates every rule.  A rule file that fails to load or
 * declares nothing valid is reported through on_log with file:line and
 * skipped (the others load); *n_errors counts them.  Returns NULL only on
 * a fatal setup error (message in err). */
rules *rules_new(const rules_config *cfg, size_t *n_errors, char *err, size_t errlen);
void rules_free(rules *r);

/* True when at least one enabled rule subscribes to 'hook' (so the engine
 * can skip building views nobody reads). */
bool rules_wants(const rules *r, rule_hook hook);

/* Like rules_wants, for one flow: false when every subscribed rule's
 * 'needs' prefilter would skip it (so the engine builds no view). */
bool rules_wants_flow(const rules *r, rule_hook hook, bool has_ai, bool src_internal);

/* Calls every enabled rule subscribed to 'hook'.  'now_us' is packet
 * time (windows and suppression use it). */
void rules_dispatch(rules *r, rule_hook hook, const rule_view *v, uint64_t now_us);

/* Around the engine's flush: from rules_flush_begin on, the dispatches
 * share one wall-clock budget (rules_config.flush_budget_ms); once it is
 * spent they are skipped and counted until rules_flush_end. */
void rules_flush_begin(rules *r);
void rules_flush_end(rules *r);

/* Writes per-rule and global counters as members of the current JSON
 * object ("rules": {...}). */
void rules_stats(const rules *r, jw *w);

/* Fleet-wide windows: sends the increments since the last call and reads
 * back the fleet's sums (the host's store, rules_config.fleet).  The
 * engine calls it once per tick interval of packet time and at a flush. */
void rules_fleet_sync(struct rules *r, uint64_t now_us);

size_t rules_count(const rules *r);

/* Configuration errors (unknown or mistyped keys in config_file, each
 * reported as FILE:LINE); included in rules_new's *n_errors. */
size_t rules_config_errors(const rules *r);
/* The first rule path (cfg.paths) that does not exist, cannot be read or
 * is a directory holding no rule file, as "PATH: why"; NULL if none.
 * Counted in n_errors too; a host treats it as a configuration error. */
const char *rules_path_error(const rules *r);

/* Drops the per-flow rule state of a flow that ended (after RH_FLOW_END). */
void rules_flow_forget(rules *r, uint64_t flow_id);

/* ---- added ---- */

/* Lua hook name of a hook ("on_tick"), or NULL. */
const char *rules_hook_name(rule_hook h);

/* Per-rule counters (index < rules_count). */
typedef struct rule_stats {
    uint32_t sid;
    const char *name, *file;
    uint64_t calls, alerts, suppressed, errors, instr_limit, mem_limit, cpu_us;
    uint64_t filtered;      /* calls skipped by the rule's 'needs' prefilter */
    uint64_t time_limit;    /* calls stopped by the time limit */
    uint64_t alerts_capped; /* alert{} refused by the per-call / per-flow caps */
    bool disabled;
} rule_stats;
bool rules_rule_stats(const rules *r, size_t i, rule_stats *out);

/* --check-rules: loads cfg (its callbacks are ignored), dry-runs every
 * hook on synthetic events, prints every problem (load or runtime) as
 * "file:line: message" and a summary line to 'report'.
 * Returns the number of errors (0 = all good). */
int rules_check(const rules_config *cfg, FILE *report);

/* --check-rules' dry run: calls every hook of the loaded rules on
 * synthetic events (rules_dryrun.c); faults reach cfg.on_fault. */
void rules_dry_run(rules *r);

#endif /* EGRET_RULES_H */
