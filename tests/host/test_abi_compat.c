/*
 * test_abi_compat.c -- a host built against egret 0.1's header layout
 * still works with this library.  OLD_CONFIG below is a copy of egret
 * 0.1's egret_config, as an old host compiled it; new fields are only ever
 * appended, so the library must accept the old, smaller struct_size and
 * default what it does not cover.  Also: sizes below 0.1's or above the
 * library's are refused with EGRET_EVERSION, and the counters are written
 * only as far as the caller's (smaller) struct reaches.
 * Prints "N passed, N failed".
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egret.h"

static int passed, failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* egret 0.1's egret_config, field for field. */
typedef struct old_config {
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
    const char *rules_config_file; /* -c FILE; NULL = the shipped rules/egret.conf.lua
                                      when rule_paths is NULL */
    const char *const *rule_sets;  /* --set key=value overrides */
    size_t n_rule_sets;
    uint64_t rules_mem_limit;   /* bytes per rule file's Lua state; 0 = 8 MiB */
    uint64_t rules_instr_limit; /* instructions per hook call; 0 = 1,000,000 */
    uint32_t tick_interval_s;   /* on_tick per flow every N s of packet time (default 5) */
    uint64_t tick_bytes;        /* ... or every N bytes of new traffic (default 1 MiB) */
    /* clear-text inspection (TCP reassembly, HTTP/1.x, message content) */
    uint64_t inspect_depth;   /* bytes per direction inspected; 0 = 4 MiB */
    uint64_t reasm_memcap;    /* reassembly buffer cap, all flows; 0 = 64 MiB */
    int no_inspect;           /* no reassembly/HTTP inspection */
    const char *evidence_dir; /* per-alert evidence files (alert JSON, pcap slice of the
                                 flow's first packets, redacted body sample); NULL = off */
    egret_event_cb on_event;
    void *event_ud;
    egret_log_cb on_log;
    void *log_ud;
} old_config;

/* egret 0.1's egret_counters had no struct_size; a host that knows the
 * first three counters only (a smaller struct) must get exactly those. */
typedef struct small_counters {
    uint32_t struct_size;
    uint64_t packets, bytes, decode_events;
    uint64_t guard;
} small_counters;

static int flows;

static void on_event(const egret_event *ev, void *ud)
{
    (void)ud;
    if (ev->type == EGRET_EV_FLOW && strstr(ev->json, "\"event_type\":\"flow\"")) flows++;
}

/* A UDP datagram each way between 10.0.0.1:5000 and 192.0.2.1:53. */
static void feed_udp(egret_engine *e)
{
    static const unsigned char q[] = {0x45, 0,    0,  30, 0, 1,  0,   0, 64,  17,
                                      0,    0,    10, 0,  0, 1,  192, 0, 2,   1,    /* IPv4 */
                                      0x13, 0x88, 0,  53, 0, 10, 0,   0, 'h', 'i'}; /* UDP */
    unsigned char r[sizeof q];
    memcpy(r, q, sizeof q);
    memcpy(r + 12, q + 16, 4);
    memcpy(r + 16, q + 12, 4);
    r[20] = q[22], r[21] = q[23], r[22] = q[20], r[23] = q[21];
    egret_engine_feed(e, 1000000, 101, sizeof q, sizeof q, q);
    egret_engine_feed(e, 1000500, 101, sizeof r, sizeof r, r);
}

int main(void)
{
    char err[EGRET_ERRBUF_SIZE];
    egret_engine *e = NULL;

    /* 1. the old struct, initialised and used as an old host does */
    old_config oc;
    egret_config_init_sized((egret_config *)&oc, sizeof(oc));
    CHECK(oc.struct_size == sizeof(oc), "struct_size %u", oc.struct_size);
    CHECK(oc.max_flows == 1000000 && oc.community_id == 1, "defaults not written");
    oc.no_rules = 1;
    oc.no_geo = 1;
    oc.eve_types = EGRET_EV_FLOW;
    oc.on_event = on_event;
    int rc = egret_engine_new((const egret_config *)&oc, &e, err);
    CHECK(rc == EGRET_OK && e, "old layout refused: %d %s", rc, err);
    if (e) {
        feed_udp(e);
        egret_engine_flush(e);
        CHECK(flows == 1, "flows %d", flows);
        small_counters sc;
        memset(&sc, 0xab, sizeof(sc));
        egret_engine_counters_sized(e, (egret_counters *)&sc, offsetof(small_counters, guard));
        CHECK(sc.struct_size == offsetof(small_counters, guard), "counters size %u",
              sc.struct_size);
        CHECK(sc.packets == 2 && sc.bytes == 60, "counters %llu %llu",
              (unsigned long long)sc.packets, (unsigned long long)sc.bytes);
        CHECK(sc.guard == 0xababababababababull, "counters written past the caller's struct");
        egret_engine_free(e);
        e = NULL;
    }

    /* 2. a struct smaller than 0.1's, and one larger than this library's */
    unsigned char big[sizeof(egret_config) + 64];
    memset(big, 0, sizeof big);
    egret_config_init_sized((egret_config *)big, sizeof big);
    ((egret_config *)big)->no_rules = 1;
    rc = egret_engine_new((const egret_config *)big, &e, err);
    CHECK(rc == EGRET_EVERSION && !e, "a larger struct: %d", rc);
    CHECK(strstr(err, "egret_config size") != NULL, "message: %s", err);
    oc.struct_size = 16;
    rc = egret_engine_new((const egret_config *)&oc, &e, err);
    CHECK(rc == EGRET_EVERSION && !e, "a truncated struct: %d", rc);

    /* 3. the version comes from one place and agrees with itself */
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", EGRET_VERSION_MAJOR, EGRET_VERSION_MINOR,
             EGRET_VERSION_PATCH);
    CHECK(strcmp(egret_version(), want) == 0, "version %s vs header %s", egret_version(), want);
    CHECK(egret_version_num() == EGRET_VERSION_NUM, "version_num");

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
