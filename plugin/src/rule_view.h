/*
 * rule_view.h -- what the engine and the Lua rule host exchange: the hooks
 * a rule can subscribe to, the read-only rule_view filled at hook time,
 * the alert a rule raises and the host's configuration.  Plain data, no
 * Lua: rules.h (the host's functions) and rules_int.h (the host's state,
 * shared by its files) both build on it.  The contract behind the hooks
 * is in rules.h.
 */
#ifndef EGRET_RULE_VIEW_H
#define EGRET_RULE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    const char *http_protocol;  /* "HTTP/1.1" or "HTTP/2" */
    bool http_decrypted;        /* the request came out of TLS decryption */
    const char *http_host_alt;  /* a second, different Host ("" none) */
    const char *http_anomalies; /* evasion shapes, comma-separated ("" none; docs/EVASION.md) */
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
/* 0 err, 1 warn, 2 info, RULES_LOG_RULE a rule's egret.log/print line */
typedef void (*rules_log_cb)(void *ud, int level, const char *msg);
#define RULES_LOG_RULE 3 /* = EGRET_LOG_RULE */
/* A runtime fault of a rule's hook call (error, instruction or memory
 * limit): every fault, not only the first one logged. */
typedef void (*rules_fault_cb)(void *ud, uint32_t sid, const char *hook, const char *kind,
                               const char *msg);

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
    /* Added: runtime faults (the rule tooling counts them); NULL = none. */
    rules_fault_cb on_fault;
    void *fault_ud;
    /* Added: the host's fleet-wide window store (egret.h); NULL = none. */
    const struct egret_fleet_store *fleet;
    /* Added: wall-clock budget of one hook call (and of loading a file), in
     * milliseconds, enforced with the instruction budget; default 250. */
    uint32_t time_limit_ms;
    /* Added: alerts one rule may raise in one hook call (default 16) and on
     * one flow (default 256); the rest are counted as alerts_capped. */
    uint32_t max_alerts_per_call, max_alerts_per_flow;
    /* Added: wall-clock budget of all rule calls made while the engine
     * flushes (end of input, or a stop asked by SIGTERM/SIGINT), in
     * milliseconds, default 5000; past it the remaining calls are skipped
     * and counted (flush_skipped), so that rules which each stay within
     * their own budget cannot make a stop take flows x that budget. */
    uint32_t flush_budget_ms;
} rules_config;

#endif /* EGRET_RULE_VIEW_H */
