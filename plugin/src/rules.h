/*
 * rules.h -- the Lua rule host (sandbox, loading, dispatch, limits) as
 * seen by the engine.
 *
 * rules.c is the only file that includes Lua headers (with rules_lib.c,
 * which registers the egret.* libraries).  The engine hands rules a
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

/* Hooks a rule can subscribe to. X(enum, "lua name") */
#define RULE_HOOK_MAP(X)                                                                           \
    X(RH_FLOW_CLASSIFIED, "on_classified")                                                         \
    X(RH_TLS_CLIENT_HELLO, "on_tls")                                                               \
    X(RH_DNS_ANSWER, "on_dns")                                                                     \
    X(RH_HTTP_REQUEST, "on_http")                                                                  \
    X(RH_TICK, "on_tick")                                                                          \
    X(RH_FLOW_END, "on_flow_end")

typedef enum {
#define RH_X(e, n) e,
    RULE_HOOK_MAP(RH_X)
#undef RH_X
        RH__COUNT
} rule_hook;

#define RULE_DNS_MAX_ANSWERS 16

/* A read-only view of one flow (and the event) handed to rules.  All
 * strings are NUL-terminated and borrowed for the duration of the call;
 * empty string = unknown. */
typedef struct rule_view {
    uint64_t flow_id;
    int ip_v;
    char src_ip[46], dest_ip[46]; /* src = client (the side that opened the flow) */
    uint16_t src_port, dest_port;
    const char *proto; /* "TCP", "UDP", ... */
    bool src_internal, dest_internal;
    const char *direction;  /* "outbound", "inbound", "internal", "external" */
    const char *app_proto;  /* "tls", "http", "dns", "quic", "failed" */
    const char *ndpi_proto; /* "TLS.Google" */
    const char *category;
    const char *hostname; /* best name: SNI, else HTTP Host, else DNS-derived */
    const char *sni;
    uint64_t risk; /* nDPI risk bits */
    /* per-direction counters */
    uint64_t pkts_toserver, pkts_toclient;
    uint64_t bytes_toserver, bytes_toclient;         /* captured (wire) */
    uint64_t payload_toserver, payload_toclient;     /* captured payload */
    uint64_t seq_bytes_toserver, seq_bytes_toclient; /* TCP sequence progress */
    uint32_t exchanges;                              /* estimated request/response exchanges */
    uint64_t start_us, last_us;                      /* packet time */
    /* AI attribution (has_ai false: none) */
    bool has_ai;
    const char *ai_provider, *ai_kind, *ai_host, *ai_method, *ai_confidence;
    /* destination geo (has_geo false: none) */
    bool has_geo;
    const char *geo_country_iso, *geo_country, *geo_city, *geo_as_org;
    uint32_t geo_asn;
    /* RH_TICK: deltas since the previous tick of this flow */
    uint64_t d_bytes_toserver, d_bytes_toclient, d_payload_toserver, d_exchanges, d_us;
    /* RH_TLS_CLIENT_HELLO */
    const char *tls_version, *tls_alpn, *ja3;
    /* RH_DNS_ANSWER */
    const char *dns_rrname, *dns_rrtype, *dns_rcode;
    size_t dns_n_answers;
    const char *dns_answers[RULE_DNS_MAX_ANSWERS]; /* addresses or names */
    /* RH_HTTP_REQUEST */
    const char *http_method, *http_host, *http_uri, *http_user_agent, *http_content_type;
    uint64_t http_body_len;
    int http_status;
    /* content summary (HTTP issue): -1 unknown */
    const char *content_shape;
    int64_t content_messages, content_chars, content_senders;
    const char *content_fingerprint;
    const char *content_inner_shape; /* records' shape inside a batch file */
    const char *content_purpose;     /* multipart "purpose" (files API), "" if none */
    int64_t content_records;         /* JSONL / batch records, -1 unknown */
    /* messages pasted inside message text and their distinct senders; body
     * bytes missing (reassembly gaps): -1 unknown */
    int64_t content_embedded_messages, content_embedded_senders;
    int64_t content_gaps, content_gap_bytes;
} rule_view;

/* One alert raised by a rule; borrowed for the callback. */
typedef struct rule_alert {
    uint32_t sid, rev;
    int severity;          /* 1 high .. 3 low */
    const char *signature; /* rule name */
    const char *category;
    const char *rule_file; /* path of the rule's file as loaded */
    const char *why_json;  /* a JSON object */
    size_t why_len;
    const char *key; /* the rule's suppression key, or NULL (per-flow alert) */
} rule_alert;

typedef void (*rules_alert_cb)(void *ud, const rule_view *v, const rule_alert *a);
typedef void (*rules_log_cb)(void *ud, int level, const char *msg); /* 0 err, 1 warn, 2 info */

typedef struct rules_config {
    const char *const *paths; /* rule files or directories (*.lua, name order) */
    size_t n_paths;
    const char *config_file; /* -c: a Lua config file (data only), or NULL */
    const char *const *sets; /* --set key=value overrides ("a.b=1") */
    size_t n_sets;
    size_t mem_limit;       /* bytes per rule state; default 8 MiB */
    uint64_t instr_limit;   /* instructions per call; default 1,000,000 */
    uint32_t max_faults;    /* disable a rule after this many faults; default 3 */
    size_t window_keys_cap; /* aggregate keys cap; default 100,000 */
    rules_alert_cb on_alert;
    rules_log_cb on_log;
    void *ud;
    /* Added: Lua source of a config table (data only), applied after
     * config_file and before sets (the rule test kit uses it). */
    const char *config_text;
    /* Added: nDPI risk bit -> name for flow:risks(); NULL = names "risk_<bit>". */
    const char *(*risk_name)(void *ud, int bit);
} rules_config;

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

/* Writes per-rule and global counters as members of the current JSON
 * object ("rules": {...}). */
void rules_stats(const rules *r, jw *w);

size_t rules_count(const rules *r);

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
    uint64_t filtered; /* calls skipped by the rule's 'needs' prefilter */
    bool disabled;
} rule_stats;
bool rules_rule_stats(const rules *r, size_t i, rule_stats *out);

/* --check-rules: loads cfg (its callbacks are ignored), prints every
 * problem as "file:line: message" and a summary line to 'report'.
 * Returns the number of errors (0 = all good). */
int rules_check(const rules_config *cfg, FILE *report);

#endif /* EGRET_RULES_H */
