/*
 * egret.h -- the egret plugin ABI: what a host needs to embed the engine.
 * Tooling (rule checks and tests, top hosts, the BPF shard program) is in
 * egret_tools.h.
 *
 * egret is a passive inspector that flags bulk transfers of message content
 * to third-party AI endpoints.  A host (the egret CLI, a test host, or any
 * other program) creates an engine from a config, feeds it packets with
 * their capture timestamps, advances time, flushes at end of input and frees
 * it.  Results come back through one callback as ready-made EVE JSON lines
 * plus a small typed header.
 *
 * Nothing from libpcap, nDPI, Lua or libmaxminddb appears here.  Link types
 * are the numeric LINKTYPE_/DLT_ values of the pcap file format.
 *
 * Threading: an engine is single-threaded; two engines may live in one
 * process (there is no global state).
 */
#ifndef EGRET_H
#define EGRET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EGRET_BUILDING) && defined(__GNUC__)
#define EGRET_API __attribute__((visibility("default")))
#else
#define EGRET_API
#endif

/* EGRET_VERSION_MAJOR/MINOR/PATCH: CMake writes them from the project's
 * version (CMakeLists.txt, the one place it is kept). */
#include "egret_version.h"
#define EGRET_VERSION_NUM                                                                          \
    (EGRET_VERSION_MAJOR * 10000 + EGRET_VERSION_MINOR * 100 + EGRET_VERSION_PATCH)

#define EGRET_ERRBUF_SIZE 512

typedef struct egret_engine egret_engine;
typedef struct egret_keylog egret_keylog; /* TLS key log (see below) */

/* Error codes: 0 is success, negative values are errors.  One list builds
 * both the enum and egret_strerror() (libuv style). */
#define EGRET_ERRNO_MAP(XX)                                                                        \
    XX(EINVAL, -1, "invalid argument")                                                             \
    XX(ENOMEM, -2, "out of memory")                                                                \
    XX(EIO, -3, "i/o error")                                                                       \
    XX(ECONFIG, -4, "bad configuration")                                                           \
    XX(ELINKTYPE, -5, "unsupported link type")                                                     \
    XX(EVERSION, -6, "ABI version mismatch")                                                       \
    XX(EDPI, -7, "classifier initialisation failed")                                               \
    XX(ERULES, -8, "rule error")

typedef enum {
    EGRET_OK = 0,
#define EGRET_XX(name, val, msg) EGRET_##name = val,
    EGRET_ERRNO_MAP(EGRET_XX)
#undef EGRET_XX
} egret_err;

/* Event record types; also the bits of egret_config.eve_types. */
typedef enum {
    EGRET_EV_ALERT = 1u << 0,
    EGRET_EV_FLOW = 1u << 1,
    EGRET_EV_STATS = 1u << 2,
    EGRET_EV_DNS = 1u << 3,
    EGRET_EV_TLS = 1u << 4,
    EGRET_EV_HTTP = 1u << 5,
} egret_event_type;

#define EGRET_EVE_DEFAULT (EGRET_EV_ALERT | EGRET_EV_FLOW)

/* One output record.  Borrowed: every pointer is valid only until the
 * callback returns; copy what you keep.  'json' is one EVE JSON object
 * without a trailing newline and is NUL-terminated. */
typedef struct egret_event {
    egret_event_type type;
    uint64_t ts_usec; /* packet time of the record (microseconds, UTC) */
    uint64_t flow_id; /* 0 when the record is not about a flow */
    int severity;     /* alerts: 1 high .. 3 low; else 0 */
    const char *json;
    size_t json_len;
} egret_event;

typedef void (*egret_event_cb)(const egret_event *ev, void *ud);

/* Diagnostics (rule errors, warnings about missing databases...).  'level'
 * is 0 error, 1 warning, 2 info, 3 a rule's own line (egret.log/print,
 * rate-limited, prefixed with the rule's sid and name: show it at the
 * default verbosity).  Never carries packet payload. */
#define EGRET_LOG_ERROR   0
#define EGRET_LOG_WARNING 1
#define EGRET_LOG_INFO    2
#define EGRET_LOG_RULE    3
typedef void (*egret_log_cb)(int level, const char *msg, void *ud);

/* ---- Fleet-wide rule windows (added in 0.3) ----
 *
 * A rule window declared fleet-wide (egret.window(name, span, {fleet =
 * true})) adds its local increments to a store the host provides and
 * reads back the fleet's sums; thresholds apply to those.  The engine
 * calls sync() once per tick interval of packet time, at a flush, and
 * when a key never synced is first read (then asking only for such keys),
 * with the increments since the last call, bucket by bucket, and the
 * (window, key) pairs whose sums it wants; claim() decides which
 * sensor raises an alert of a fleet rule (rule{ fleet = true }) when
 * several cross together.  Both return -1 when the store is unreachable:
 * the engine then uses its local windows and suppression (counted, and
 * logged once) and keeps the increments to send when the store is back.
 * Several engines (workers) may call at once. */
#define EGRET_FLEET_FIELDS  8
#define EGRET_FLEET_SENSORS 8
typedef struct egret_fleet_delta {
    const char *window; /* the window's name */
    const char *key;
    size_t key_len;
    uint64_t bucket;  /* bucket index: packet time / bucket width */
    uint64_t span_us; /* the window's span (a store may expire older buckets) */
    uint32_t n_fields;
    double vals[EGRET_FLEET_FIELDS];
} egret_fleet_delta;

typedef struct egret_fleet_query {
    const char *window;
    const char *key;
    size_t key_len;
    uint64_t bucket_now; /* the window is buckets (bucket_now - n_buckets, bucket_now] */
    uint32_t n_buckets, n_fields;
    /* filled by sync(): the fleet's sums, and field 0 per sensor */
    double total[EGRET_FLEET_FIELDS];
    uint32_t n_sensors;
    char sensor[EGRET_FLEET_SENSORS][64];
    double part[EGRET_FLEET_SENSORS];
} egret_fleet_query;

typedef struct egret_fleet_store {
    int (*sync)(void *ud, const egret_fleet_delta *d, size_t n_deltas, egret_fleet_query *q,
                size_t n_queries);
    /* 1: this sensor raises (sid, key) at packet time now_us; 0: another
     * sensor raised it less than period_us of packet time away */
    int (*claim)(void *ud, uint32_t sid, const char *key, size_t key_len, uint64_t now_us,
                 uint64_t period_us);
    void *ud;
    const char *sensor; /* this sensor's name */
} egret_fleet_store;

/* Engine configuration.  Initialise with egret_config_init() and then set
 * what you need; strings are copied by egret_engine_new().  The struct
 * only ever grows at its end: a host built against an older egret.h passes
 * its smaller struct_size and the library defaults the newer fields. */
typedef struct egret_config {
    uint32_t struct_size;   /* set by egret_config_init: the caller's sizeof(egret_config) */
    uint32_t eve_types;     /* EGRET_EV_* bits; default EGRET_EVE_DEFAULT */
    const char *home_net;   /* "CIDR[,CIDR...]"; NULL = RFC 1918 + fc00::/7 + 100.64/10 */
    uint64_t max_flows;     /* flow table cap; default 1,000,000 */
    uint32_t tcp_timeout_s; /* idle timeouts; defaults 3600 / 30 / 120 / 30 s */
    uint32_t tcp_closed_timeout_s;
    uint32_t udp_timeout_s;
    uint32_t other_timeout_s;
    uint32_t dpi_max_packets;  /* give up classifying after this many; 0 = ndpiReader's
                                  defaults (80 TCP, 24 UDP) */
    uint32_t stats_interval_s; /* stats record every N s of packet time; 0 = end only */
    int community_id;          /* emit community_id (default 1) */
    uint16_t community_id_seed;
    const char *ndpi_protos_file; /* extra nDPI custom protocols file, or NULL */
    const char *ndpi_categories_file;
    /* AI-endpoint attribution */
    const char *data_dir;                /* directory with ai_endpoints.tsv, ai_ip_ranges.tsv;
                                            NULL = the shipped rules/data */
    const char *const *ai_catalog_files; /* extra catalog files (add or override) */
    size_t n_ai_catalog_files;
    int ai_to_ndpi;             /* feed the catalog to nDPI as custom protocols (default 1) */
    uint32_t dns_cache_entries; /* per-client DNS answer memory; 0 = 8192 */
    /* GeoIP / ASN (libmaxminddb).  NULL paths: look in /usr/share/GeoIP and
     * /var/lib/GeoIP, else use the shipped test databases in geo_dir. */
    const char *geoip_db; /* GeoLite2-City or -Country layout */
    const char *asn_db;   /* GeoLite2-ASN layout */
    const char *geo_dir;  /* shipped test databases; NULL = built-in default */
    int no_geo;           /* disable GeoIP entirely */
    /* Lua rules */
    const char *const *rule_paths; /* rule files or directories; NULL = the shipped rules/ */
    size_t n_rule_paths;
    int no_rules;                  /* run without rules */
    const char *rules_config_file; /* rule configuration file (Lua); NULL = the shipped
                                      rules/egret.conf.lua
                                      when rule_paths is NULL */
    const char *const *rule_sets;  /* "key=value" overrides of configuration keys */
    size_t n_rule_sets;
    uint64_t rules_mem_limit;   /* bytes per rule file's Lua state; 0 = 8 MiB */
    uint64_t rules_instr_limit; /* instructions per hook call; 0 = 1,000,000 */
    uint32_t tick_interval_s;   /* on_tick per flow every N s of packet time (default 5) */
    uint64_t tick_bytes;        /* ... or every N bytes of new traffic (default 1 MiB) */
    /* clear-text inspection (TCP reassembly, HTTP/1.x, message content) */
    uint64_t inspect_depth;   /* bytes per direction inspected; 0 = 4 MiB */
    uint64_t reasm_memcap;    /* reassembly buffer cap, all flows; 0 = 64 MiB */
    int no_inspect;           /* no reassembly/HTTP inspection */
    const char *evidence_dir; /* per-alert evidence files (alert JSON, redacted body
                                 sample; the pcap slice only with evidence_pcap); NULL = off */
    egret_event_cb on_event;
    void *event_ud;
    egret_log_cb on_log;
    void *log_ud;
    /* -- added in 0.2 -- */
    egret_keylog *tls_keylog; /* TLS secrets (egret_keylog_new); NULL = TLS flows are not
                                 decrypted.  One key log may serve many engines. */
    /* -- added in 0.3 -- */
    const egret_fleet_store *fleet_store; /* fleet-wide windows; NULL = local only */
    int evidence_pcap; /* with evidence_dir: also a pcap slice of each alerting flow's first
                          packets -- whole payloads, message bodies included; default 0 */
} egret_config;

/* Counters for a host's summary (all since engine creation).  Grows only
 * at its end; the library fills what the caller's size covers. */
typedef struct egret_counters {
    uint32_t struct_size; /* set by egret_engine_counters: the size it filled */
    uint64_t packets, bytes;
    uint64_t decode_events; /* malformed / undecodable packets */
    uint64_t flows_total, flows_active, flows_evicted;
    uint64_t fragments;
    uint64_t records; /* EVE records emitted */
} egret_counters;

EGRET_API const char *egret_version(void);
EGRET_API int egret_version_num(void);
EGRET_API const char *egret_strerror(int err);

/* Fills 'cfg' with the defaults.  A macro passes the caller's
 * sizeof(egret_config), so a host built against an older egret.h is never
 * written past its struct. */
EGRET_API void egret_config_init_sized(egret_config *cfg, size_t size);
#define egret_config_init(cfg) egret_config_init_sized((cfg), sizeof(*(cfg)))

/* Creates an engine.  On failure returns a negative EGRET_E* code, sets
 * *out to NULL and writes a message into 'err' (may be NULL). */
EGRET_API int egret_engine_new(const egret_config *cfg, egret_engine **out,
                               char err[EGRET_ERRBUF_SIZE]);

/* Feeds one captured packet.  'bytes' is borrowed for the call only.
 * 'linktype' is a LINKTYPE_ value (1 Ethernet, 0 BSD null, 101 raw,
 * 113 Linux SLL, 276 SLL2, ...).  Malformed packets are not errors: they
 * are counted as decode events.  Returns 0 or EGRET_EINVAL. */
EGRET_API int egret_engine_feed(egret_engine *e, uint64_t ts_usec, int linktype, uint32_t caplen,
                                uint32_t len, const uint8_t *bytes);

/* Moves packet time forward without a packet (live capture timer):
 * expires idle flows and emits periodic stats. */
EGRET_API void egret_engine_advance(egret_engine *e, uint64_t ts_usec);

/* End of input: ends every flow (reason "shutdown") and emits the final
 * stats record.  The engine may be fed again afterwards. */
EGRET_API void egret_engine_flush(egret_engine *e);

/* Capture counters reported by the host (e.g. libpcap's ps_recv/ps_drop);
 * they appear in stats records. */
EGRET_API void egret_engine_set_capture_stats(egret_engine *e, uint64_t received, uint64_t dropped,
                                              uint64_t ifdropped);

/* What the packets come from, for the EVE records' pcap_filename (a
 * capture file being replayed) and in_iface (a live interface); NULL or ""
 * for neither.  Copied; applies to records written from now on. */
EGRET_API void egret_engine_set_input(egret_engine *e, const char *pcap_filename,
                                      const char *in_iface);

EGRET_API void egret_engine_counters_sized(const egret_engine *e, egret_counters *out, size_t size);
#define egret_engine_counters(e, out) egret_engine_counters_sized((e), (out), sizeof(*(out)))

/* Reloads what can change under a running engine (rules and GeoIP/ASN
 * databases) without losing flows: new data is loaded first
 * and swapped in only on success.  Returns 0, or a negative code with a
 * message in 'err' (the old data stays in use). */
EGRET_API int egret_engine_reload(egret_engine *e, char err[EGRET_ERRBUF_SIZE]);

/* Shard key for hosts that run several engines (one per worker thread):
 * decodes the packet and hashes its enterprise-side address (per the
 * engine's home net), so everything one internal host does (its DNS
 * lookups, its flows, its windowed totals) lands on one worker.  When both
 * sides are internal the side with the higher port (the client, usually)
 * decides; when neither is, a symmetric hash of the 5-tuple.  Non-IP or
 * undecodable packets return 0.  Thread-safe: reads only immutable state. */
EGRET_API uint32_t egret_engine_shard(const egret_engine *e, int linktype, const uint8_t *bytes,
                                      uint32_t caplen);

/* Frees the engine without flushing.  Accepts NULL. */
EGRET_API void egret_engine_free(egret_engine *e);

/* ---- TLS key logs (NSS SSLKEYLOGFILE format) ----
 * A key log holds TLS secrets by ClientHello random; engines whose config
 * names it decrypt the TLS flows whose secrets it holds, and inspect them
 * as clear text.  Call these functions from one thread; the engines (one
 * per worker thread, say) only read the keys.  Secrets are never logged or
 * written out; a session's secrets are wiped when its flow ends. */

/* A bad line of a key log: where ('source': the file, or what the host
 * named a text), its number and a fixed reason -- never the line itself. */
typedef void (*egret_keylog_bad_cb)(void *ud, const char *source, uint64_t line,
                                    const char *reason);

/* A key log for 'capacity' sessions (0 = 16,384; the oldest are dropped
 * when full).  NULL on allocation failure. */
EGRET_API egret_keylog *egret_keylog_new(size_t capacity, egret_keylog_bad_cb bad, void *ud);
/* Reads 'path' now and follows it as clients append to it: a missing file
 * is read once it appears; truncation or rotation starts it again. */
EGRET_API int egret_keylog_follow(egret_keylog *k, const char *path, char err[EGRET_ERRBUF_SIZE]);
/* Reads what was appended to the followed files; returns the bytes read. */
EGRET_API long egret_keylog_poll(egret_keylog *k);
/* Reads the followed files again from their beginning (a reload). */
EGRET_API void egret_keylog_reread(egret_keylog *k);
/* Adds key log text, e.g. a pcapng Decryption Secrets Block's; returns the
 * secrets stored. */
EGRET_API size_t egret_keylog_add(egret_keylog *k, const char *source, const void *text,
                                  size_t len);

typedef struct egret_keylog_stats {
    uint32_t struct_size;                        /* set by egret_keylog_stats: the size it filled */
    uint64_t lines, secrets, ignored, malformed; /* key log lines read; by kind */
    uint64_t entries, evicted, reopens;          /* sessions held; dropped; files reopened */
    uint64_t lookups, hits;
} egret_keylog_stats;
EGRET_API void egret_keylog_stats_sized(const egret_keylog *k, egret_keylog_stats *out,
                                        size_t size);
#define egret_keylog_stats(k, out) egret_keylog_stats_sized((k), (out), sizeof(*(out)))
/* After every engine using it is freed.  Accepts NULL. */
EGRET_API void egret_keylog_free(egret_keylog *k);

/* Problems a host finds in a capture file rather than in a packet. */
enum {
    /* A file holds records longer than its (pcapng: the interface's)
     * snapshot length, and the host read them whole.  Reported once per
     * file; stats: decoder.event.pcap.record_over_snaplen. */
    EGRET_FILE_EV_RECORD_OVER_SNAPLEN = 1,
};

/* Counts one file event (EGRET_FILE_EV_*) with the decoder events of
 * stats records.  It is not a packet: egret_counters.decode_events does
 * not include it.  Returns 0 or EGRET_EINVAL (unknown event, NULL e). */
EGRET_API int egret_engine_file_event(egret_engine *e, int event);

#ifdef __cplusplus
}
#endif
#endif /* EGRET_H */
