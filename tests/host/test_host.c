/*
 * test_host.c -- a second, minimal host for libegret: proves the plugin is
 * embeddable through egret.h alone (linked against the shared library).
 *
 * 1. Feeds hand-built packets (a UDP exchange and a TCP handshake) through
 *    the ABI and checks the flow records that come back.
 * 2. Runs two engines side by side in one process over every pcap in the
 *    directory given as argv[1] (if any) and checks that both produce the
 *    same bytes (no shared global state, deterministic output).
 * Prints "N passed, N failed".
 */
#include <dirent.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egret.h"
#include "egret_tools.h"

#include "check.h"

typedef struct sink {
    char *buf;
    size_t len, cap;
    int flows, stats;
} sink;

static void on_event(const egret_event *ev, void *ud)
{
    sink *s = ud;
    if (ev->type == EGRET_EV_FLOW) s->flows++;
    if (ev->type == EGRET_EV_STATS) s->stats++;
    if (s->len + ev->json_len + 2 > s->cap) {
        size_t ncap = (s->cap ? s->cap * 2 : 4096) + ev->json_len;
        s->buf = realloc(s->buf, ncap);
        if (!s->buf) abort();
        s->cap = ncap;
    }
    memcpy(s->buf + s->len, ev->json, ev->json_len);
    s->len += ev->json_len;
    s->buf[s->len++] = '\n';
    s->buf[s->len] = '\0';
}

static egret_engine *make_engine(sink *s, uint32_t types)
{
    egret_config cfg;
    egret_config_init(&cfg);
    cfg.eve_types = types;
    cfg.on_event = on_event;
    cfg.event_ud = s;
    egret_engine *e = NULL;
    char err[EGRET_ERRBUF_SIZE];
    int rc = egret_engine_new(&cfg, &e, err);
    CHECK(rc == EGRET_OK, "egret_engine_new: %s (%s)", egret_strerror(rc), err);
    return e;
}

/* Raw IPv4 (LINKTYPE_RAW 101) packet with a UDP or TCP header. */
static size_t build_ipv4(uint8_t *b, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
                         uint16_t sport, uint16_t dport, uint8_t flags, size_t payload)
{
    size_t l4 = proto == 6 ? 20 : 8;
    size_t total = 20 + l4 + payload;
    memset(b, 0, total);
    b[0] = 0x45;
    b[2] = (uint8_t)(total >> 8);
    b[3] = (uint8_t)total;
    b[8] = 64;
    b[9] = proto;
    memcpy(b + 12, src, 4);
    memcpy(b + 16, dst, 4);
    uint8_t *t = b + 20;
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8);
    t[3] = (uint8_t)dport;
    if (proto == 17) {
        t[4] = (uint8_t)((8 + payload) >> 8);
        t[5] = (uint8_t)(8 + payload);
    } else {
        t[4] = 0, t[5] = 0, t[6] = 0x10, t[7] = 0; /* seq */
        t[12] = 0x50;
        t[13] = flags;
    }
    for (size_t i = 0; i < payload; i++) b[20 + l4 + i] = (uint8_t)('a' + i % 26);
    return total;
}

static void test_synthetic(void)
{
    sink s = {0};
    egret_engine *e = make_engine(&s, EGRET_EV_FLOW | EGRET_EV_STATS);
    if (!e) return;
    const uint8_t in[4] = {10, 1, 2, 3}, out[4] = {203, 0, 113, 9};
    uint8_t pkt[256];
    uint64_t t = 1740823200000000ull; /* 2025-03-01T10:00:00Z */
    size_t n = build_ipv4(pkt, in, out, 17, 40000, 9999, 0, 30);
    egret_engine_feed(e, t, 101, (uint32_t)n, (uint32_t)n, pkt);
    n = build_ipv4(pkt, out, in, 17, 9999, 40000, 0, 60);
    egret_engine_feed(e, t + 1000, 101, (uint32_t)n, (uint32_t)n, pkt);
    n = build_ipv4(pkt, in, out, 6, 40001, 443, 0x02, 0);
    egret_engine_feed(e, t + 2000, 101, (uint32_t)n, (uint32_t)n, pkt);
    /* a malformed packet: IPv4 header cut short */
    egret_engine_feed(e, t + 3000, 101, 10, 60, pkt);
    egret_engine_flush(e);

    egret_counters c;
    egret_engine_counters(e, &c);
    CHECK(c.packets == 4, "packets %llu", (unsigned long long)c.packets);
    CHECK(c.flows_total == 2, "flows %llu", (unsigned long long)c.flows_total);
    CHECK(c.decode_events == 1, "decode events %llu", (unsigned long long)c.decode_events);
    CHECK(s.flows == 2, "flow records %d", s.flows);
    CHECK(s.stats == 1, "stats records %d", s.stats);
    CHECK(s.buf &&
              strstr(s.buf, "\"src_ip\":\"10.1.2.3\",\"src_port\":40000,"
                            "\"dest_ip\":\"203.0.113.9\",\"dest_port\":9999,\"proto\":\"UDP\""),
          "UDP flow tuple missing:\n%s", s.buf ? s.buf : "");
    CHECK(s.buf && strstr(s.buf, "\"bytes_toserver\":58,\"bytes_toclient\":88"),
          "UDP byte counts wrong:\n%s", s.buf ? s.buf : "");
    CHECK(s.buf && strstr(s.buf, "\"egret_direction\":\"outbound\""), "no outbound direction");
    CHECK(s.buf && strstr(s.buf, "\"trunc_pkt\":1"), "decode event not in stats");

    /* shard: both directions and every flow of one internal host agree */
    uint8_t q[256];
    size_t n1 = build_ipv4(pkt, in, out, 6, 40001, 443, 0x02, 0);
    uint32_t h1 = egret_engine_shard(e, 101, pkt, (uint32_t)n1);
    size_t n2 = build_ipv4(q, out, in, 6, 443, 40001, 0x12, 0);
    CHECK(h1 != 0 && h1 == egret_engine_shard(e, 101, q, (uint32_t)n2), "shard not symmetric");
    const uint8_t out2[4] = {198, 51, 100, 7};
    n2 = build_ipv4(q, in, out2, 17, 5353, 53, 0, 10);
    CHECK(h1 == egret_engine_shard(e, 101, q, (uint32_t)n2), "shard differs for one host");
    CHECK(egret_engine_shard(e, 101, q, 3) == 0, "undecodable packet shard");

    egret_host_stat top[4];
    size_t k = egret_engine_top_hosts(e, top, 4);
    CHECK(k == 1 && strcmp(top[0].addr, "10.1.2.3") == 0 && top[0].flows_out == 2,
          "top hosts: %zu %s", k, k ? top[0].addr : "");
    egret_engine_free(e);
    free(s.buf);
}

/* The per-host table starts small and grows: 3,000 internal hosts, host i
 * sending i+1 UDP flows' worth of bytes (one flow, payload 10 + i % 1000);
 * the top hosts come back exact after the table has doubled several times. */
static void test_many_hosts(void)
{
    sink s = {0};
    egret_engine *e = make_engine(&s, 0);
    if (!e) return;
    const uint8_t out[4] = {203, 0, 113, 9};
    uint8_t pkt[1200];
    uint64_t t = 1740823200000000ull;
    for (int i = 0; i < 3000; i++) {
        uint8_t in[4] = {10, 7, (uint8_t)(i >> 8), (uint8_t)i};
        size_t n = build_ipv4(pkt, in, out, 17, 40000, 9999, 0, (size_t)(10 + i % 1000));
        egret_engine_feed(e, t + (uint64_t)i, 101, (uint32_t)n, (uint32_t)n, pkt);
    }
    egret_engine_flush(e);
    egret_host_stat top[3];
    size_t k = egret_engine_top_hosts(e, top, 3);
    /* largest payloads: i % 1000 == 999, i.e. hosts 999, 1999, 2999 (ties by address) */
    CHECK(k == 3, "top hosts: %zu", k);
    for (size_t j = 0; j < k; j++) {
        int i = 999 + 1000 * (int)j;
        char want[32];
        snprintf(want, sizeof(want), "10.7.%d.%d", (i >> 8) & 255, i & 255);
        bool found = false;
        for (size_t m = 0; m < k; m++) found |= strcmp(top[m].addr, want) == 0;
        CHECK(found && top[j].flows_out == 1 && top[j].bytes_out == 20 + 8 + 1009,
              "top host %zu: %s %llu bytes (want %s)", j, top[j].addr,
              (unsigned long long)top[j].bytes_out, want);
    }
    egret_counters c;
    egret_engine_counters(e, &c);
    CHECK(c.flows_total == 3000, "flows %llu", (unsigned long long)c.flows_total);
    egret_engine_free(e);
    free(s.buf);
}

/* Random and mutated frames of every link type through the whole engine
 * (decode, flows, nDPI, inspection, rules): nothing may crash (ASan/UBSan
 * build) and the output must stay JSON objects, one per record. */
/* egret_engine_file_event: counted in stats as
 * decoder.pcap.record_over_snaplen, not as a packet's decode event;
 * unknown events and a NULL engine are EGRET_EINVAL. */
static void test_file_event(void)
{
    sink s = {0};
    egret_engine *e = make_engine(&s, EGRET_EV_STATS);
    if (!e) return;
    CHECK(egret_engine_file_event(e, EGRET_FILE_EV_RECORD_OVER_SNAPLEN) == EGRET_OK, "file event");
    CHECK(egret_engine_file_event(e, EGRET_FILE_EV_RECORD_OVER_SNAPLEN) == EGRET_OK, "file event");
    CHECK(egret_engine_file_event(e, 0) == EGRET_EINVAL, "event 0 accepted");
    CHECK(egret_engine_file_event(e, 99) == EGRET_EINVAL, "event 99 accepted");
    CHECK(egret_engine_file_event(NULL, EGRET_FILE_EV_RECORD_OVER_SNAPLEN) == EGRET_EINVAL,
          "NULL engine accepted");
    egret_engine_flush(e);
    CHECK(s.stats == 1, "%d stats records", s.stats);
    CHECK(s.buf && strstr(s.buf, "\"pcap\":{\"record_over_snaplen\":2}"),
          "stats lack decoder.pcap.record_over_snaplen 2");
    egret_counters c;
    egret_engine_counters(e, &c);
    CHECK(c.decode_events == 0, "file events counted as packets' decode events");
    egret_engine_free(e);
    free(s.buf);
}

static void test_garbage(void)
{
    sink s = {0};
    egret_engine *e =
        make_engine(&s, EGRET_EV_FLOW | EGRET_EV_ALERT | EGRET_EV_HTTP | EGRET_EV_DNS);
    if (!e) return;
    static const int links[] = {0, 1, 12, 101, 108, 113, 228, 229, 276};
    uint64_t x = 0x9e3779b97f4a7c15ull, t = 1740823200000000ull;
    uint8_t pkt[600];
    const uint8_t in[4] = {10, 1, 1, 1}, out[4] = {192, 0, 2, 1};
    for (int i = 0; i < 60000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int lt = links[x % (sizeof(links) / sizeof(links[0]))];
        size_t n = 20 + (x >> 8) % 560;
        if (i % 3 == 0) {
            /* a plausible IPv4 header with random transport bytes, raw link */
            n = build_ipv4(pkt, in, out, (x >> 20) & 1 ? 6 : 17, (uint16_t)(x >> 24),
                           (x >> 40) & 1 ? 80 : 53, (uint8_t)(x >> 32), n % 400);
            for (size_t k = 20; k < n; k++) pkt[k] ^= (uint8_t)(x >> (k % 56));
            lt = 101;
        } else {
            for (size_t k = 0; k < n; k++) pkt[k] = (uint8_t)(x >> (k % 56)) ^ (uint8_t)k;
        }
        egret_engine_feed(e, t += 1000, lt, (uint32_t)n, (uint32_t)n, pkt);
    }
    egret_engine_flush(e);
    bool ok = true;
    for (const char *p = s.buf; p && *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl || p[0] != '{' || nl[-1] != '}') ok = false;
        if (!nl) break;
        p = nl + 1;
    }
    CHECK(ok, "garbage run produced a malformed record line");
    egret_counters c;
    egret_engine_counters(e, &c);
    CHECK(c.packets == 60000, "garbage packets counted %llu", (unsigned long long)c.packets);
    egret_engine_free(e);
    free(s.buf);
}

static void run_file(egret_engine *e, const char *path)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!p) return;
    struct pcap_pkthdr *h;
    const u_char *d;
    while (pcap_next_ex(p, &h, &d) == 1)
        egret_engine_feed(e, (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec,
                          pcap_datalink(p), h->caplen, h->len, d);
    pcap_close(p);
}

static void test_two_engines(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("host: no capture directory %s; two-engine check skipped\n", dir);
        return;
    }
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || (strcmp(de->d_name + l - 5, ".pcap") && strcmp(de->d_name + l - 7, ".pcapng")))
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        sink a = {0}, b = {0};
        /* stats carry CPU-time measurements, so only analysis records are
         * compared byte for byte */
        uint32_t types = EGRET_EV_FLOW | EGRET_EV_ALERT | EGRET_EV_DNS | EGRET_EV_TLS;
        egret_engine *ea = make_engine(&a, types);
        egret_engine *eb = make_engine(&b, types);
        if (ea && eb) {
            run_file(ea, path);
            run_file(eb, path);
            egret_engine_flush(ea);
            egret_engine_flush(eb);
            CHECK(a.len > 0 && a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0,
                  "%s: two engines disagree", path);
            files++;
        }
        egret_engine_free(ea);
        egret_engine_free(eb);
        free(a.buf);
        free(b.buf);
    }
    closedir(d);
    printf("host: %d captures replayed through two engines\n", files);
}

int main(int argc, char **argv)
{
    CHECK(egret_version_num() == EGRET_VERSION_NUM, "header/library version mismatch");
    CHECK(strcmp(egret_strerror(EGRET_EINVAL), "invalid argument") == 0, "strerror");
    egret_config cfg;
    egret_config_init(&cfg);
    cfg.struct_size = 8;
    egret_engine *e = (egret_engine *)1;
    CHECK(egret_engine_new(&cfg, &e, NULL) == EGRET_EVERSION && e == NULL, "ABI size check");
    egret_config_init(&cfg);
    cfg.home_net = "10.0.0.0/33";
    char err[EGRET_ERRBUF_SIZE] = "";
    CHECK(egret_engine_new(&cfg, &e, err) == EGRET_ECONFIG && err[0], "bad home-net accepted");
    /* an older host's smaller struct is never written past its size */
    unsigned char old[sizeof(egret_config) + 16];
    memset(old, 0xaa, sizeof(old));
    egret_config_init_sized((egret_config *)(void *)old, 24);
    size_t untouched = 0;
    for (size_t k = 24; k < sizeof(old); k++) untouched += old[k] == 0xaa;
    CHECK(untouched == sizeof(old) - 24, "config_init wrote past the caller's struct");
    CHECK(((egret_config *)(void *)old)->struct_size == 24, "struct_size not the caller's");
    test_synthetic();
    test_many_hosts();
    test_garbage();
    test_file_event();
    if (argc > 1) test_two_engines(argv[1]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
