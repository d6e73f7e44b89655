/*
 * egret_tools.h -- tooling beside the engine ABI (egret.h): what the
 * egret command and other tools use, and an embedding host does not need.
 * Rule checking and the rule-author test kit, the per-host summary ("top
 * talkers"), and the kernel-fanout shard program.
 */
#ifndef EGRET_TOOLS_H
#define EGRET_TOOLS_H

#include <stdio.h>

#include "egret.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per-internal-host outbound totals (for "top talkers"). */
typedef struct egret_host_stat {
    uint32_t struct_size; /* set by egret_engine_top_hosts: the size it filled */
    char addr[48];
    uint64_t bytes_out, flows_out;
} egret_host_stat;

/* Fills up to 'n' entries, largest outbound byte count first; returns the
 * number filled. */
EGRET_API size_t egret_engine_top_hosts_sized(const egret_engine *e, egret_host_stat *out, size_t n,
                                              size_t size);
#define egret_engine_top_hosts(e, out, n)                                                          \
    egret_engine_top_hosts_sized((e), (out), (n), sizeof(*(out)))

/* The GeoIP and ASN database files the engine opened (NULL when none),
 * for a host's summary; returns 1 when they are the bundled TEST
 * databases (made-up countries), 0 otherwise.  The strings live as long
 * as the engine. */
EGRET_API int egret_engine_geo_dbs(const egret_engine *e, const char **geoip_db,
                                   const char **asn_db);

/* Loads and validates the rules named by 'cfg' (rule_paths, config,
 * sets) without creating an engine; prints each problem with file:line to
 * 'report'.  Returns the number of errors (0: all good). */
EGRET_API int egret_rules_check(const egret_config *cfg, FILE *report);

/* One host setting of the configuration file (a key under one of the
 * host's sections: capture, outputs, home_net, geo, ai, ndpi, inspection,
 * tls, engine, redis, service).  Strings are borrowed for the callback. */
typedef enum {
    EGRET_CONF_STRING,
    EGRET_CONF_NUMBER,  /* 'text' is the number in decimal */
    EGRET_CONF_BOOLEAN, /* 'text' is "true" or "false" */
    EGRET_CONF_LIST,    /* 'items' hold the elements as text (strings, numbers) */
    EGRET_CONF_TABLE,   /* anything else (a table that is not a list of scalars) */
} egret_conf_type;

typedef struct egret_conf_value {
    const char *key;  /* dotted: "capture.interface", "outputs.eve.file" */
    const char *file; /* the configuration file */
    int line;         /* where the key is written; 0 when it came from --set */
    egret_conf_type type;
    const char *text; /* STRING, NUMBER, BOOLEAN */
    const char *const *items;
    size_t n_items;
} egret_conf_value;

/* Returns 0 to go on, nonzero to stop the walk (its value is returned). */
typedef int (*egret_conf_fn)(const egret_conf_value *v, void *ud);

/* Evaluates the configuration file 'path' (a Lua data file) with the
 * --set overrides 'sets', and calls 'fn' for every host setting in it, in
 * key order.  Rule settings are not visited (the engine checks them
 * against the rules that read them).  Returns 0; or -1 with
 * "FILE:LINE: message" in 'err' when the file cannot be read or
 * evaluated; or what 'fn' returned to stop. */
EGRET_API int egret_config_file_read(const char *path, const char *const *sets, size_t n_sets,
                                     egret_conf_fn fn, void *ud, char *err, size_t errlen);

/* Packet replay for the test kit's capture tests.  libegret reads no
 * capture files (the host owns packet I/O), so the host opens 'path'
 * (pcap/pcapng), feeds every packet to 'e' with egret_engine_feed() and
 * returns 0; or returns a negative EGRET_E* code with a message in 'err'
 * ('errlen' bytes).  It must not flush or free 'e'. */
typedef int (*egret_replay_fn)(egret_engine *e, const char *path, char *err, size_t errlen,
                               void *ud);

/* The rule-author test kit: runs the *_test.lua files at 'path' (a file or
 * a directory) against the rules named by 'cfg' (NULL paths: the shipped
 * rules), printing PASS/FAIL per test with a diff to 'out'.  Returns the
 * number of failed tests.  Tests with synthetic events run inside the
 * library.  A test naming a capture (pcap = "file") runs an engine built
 * from 'cfg' (home_net, data_dir, catalogs, GeoIP, limits) with the
 * test's rules, config and sets; 'replay' feeds it the file, the kit
 * flushes it and compares the alerts the rules raised with the test's
 * expectations.  'replay' NULL: capture tests fail with a message. */
EGRET_API int egret_rules_test(const egret_config *cfg, const char *path, FILE *out,
                               egret_replay_fn replay, void *replay_ud);

/* One classic BPF instruction, laid out as Linux's struct sock_filter and
 * libpcap's struct bpf_insn. */
typedef struct egret_bpf_insn {
    uint16_t code;
    uint8_t jt, jf;
    uint32_t k;
} egret_bpf_insn;

#define EGRET_SHARD_BPF_MAX 4096 /* Linux's BPF_MAXINSNS */

/* egret_engine_shard(e, ...) % n as a classic BPF program for Linux's
 * PACKET_FANOUT_CBPF, so the kernel hands each packet straight to its
 * worker's capture socket (the n sockets joined in worker order).  The
 * program reads the packet as the kernel holds it: the ethertype from
 * skb->protocol (SKF_AD_PROTOCOL), loads relative to the network header
 * (SKF_NET_OFF), a first VLAN tag already out of the frame; a second tag,
 * PPPoE sessions, MPLS label stacks and IPv6 extension headers are walked
 * as egret's decoder walks them.  It agrees with egret_engine_shard on every IPv4 and
 * IPv6 packet except malformed or truncated ones (which decode events
 * count); a load past the packet's end returns 0.  Writes at most 'cap'
 * instructions to 'prog'; returns how many, or -1 when n is 0 or the
 * program does not fit (the home net's prefixes make it longer: 4,096
 * instructions hold about 330 IPv4 or 200 IPv6 prefixes). */
EGRET_API int egret_engine_shard_bpf(const egret_engine *e, uint32_t n, egret_bpf_insn *prog,
                                     size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* EGRET_TOOLS_H */
