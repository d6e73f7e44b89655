/*
 * eve.h -- builds Suricata-EVE-compatible records.  Each builder resets
 * the output buffer and leaves one JSON object in it (eve_text).  Builders
 * format what they are given: a flow, its engine state, the destination's
 * geo result (looked up once by the caller, NULL for none), or a stats
 * snapshot; they read no engine state.
 */
#ifndef EGRET_EVE_H
#define EGRET_EVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "counters.h"
#include "decode.h"
#include "dns.h"
#include "egret.h"
#include "fext.h"
#include "flow.h"
#include "geo.h"
#include "inspect.h"
#include "json.h"
#include "rules.h"

/* The output buffer, the Community ID setting and the time cache. */
typedef struct eve_out {
    jw w;
    bool community_id;
    uint16_t community_id_seed;
    int64_t tc_s;                         /* eve_time: the second whose date part tc holds */
    const char *pcap_filename, *in_iface; /* written on flow records when set */
    char tc[24];
    bool tc_valid;
} eve_out;

void eve_out_init(eve_out *o, bool community_id, uint16_t seed);
void eve_out_free(eve_out *o);
/* The record just built (NUL-terminated), NULL after an allocation failure. */
const char *eve_text(const eve_out *o, size_t *len);

/* What a stats record reports: the engine's counters and its modules'
 * (taken by the caller at the record's time). */
typedef struct eve_snapshot {
    uint64_t now_us, uptime_s;
    const engine_counters *c;
    const uint64_t *dec_events; /* EV__COUNT */
    flow_counters flow;
    bool has_attr, has_inspect, evidence, has_geo;
    bool geo_test; /* the bundled test GeoIP/ASN databases are in use */
    attr_stats attr;
    inspect_stats insp;
    geo_db_info geo_city, geo_asn;
    geo_stats geo;
    const rules *rules; /* NULL without rules */
    bool has_keylog;
    egret_keylog_stats keylog;
    uint64_t hosts_tracked, hosts_capped;
} eve_snapshot;

void eve_flow(eve_out *o, const flow *f, const fext *x, const geo_result *g, flow_end_reason why);
/* 'srv': the server side (dpi_tls_server_info), NULL when unknown. */
void eve_tls(eve_out *o, const flow *f, const fext *x, const geo_result *g,
             const dpi_tls_server *srv, uint64_t ts);
/* Suricata dns version 3 from the message bytes 'msg' (the UDP payload);
 * 'm' is dns_parse's view of the same message (eve_dns.c). */
void eve_dns(eve_out *o, const flow *f, const fext *x, const dns_msg *m, const uint8_t *msg,
             size_t len, uint64_t ts, bool to_server);
void eve_alert(eve_out *o, const flow *f, const fext *x, const geo_result *g, const rule_alert *a,
               uint64_t ts);
void eve_http(eve_out *o, const flow *f, const fext *x, const geo_result *g, const inspect_req *r,
              uint64_t ts);
void eve_stats(eve_out *o, const eve_snapshot *s);

/* Address text: dotted quad or RFC 5952 IPv6. */
void eve_addr(int ip_v, const uint8_t *a, char out[46]);
/* "TCP", "UDP", "ICMP", "IPv6-ICMP"...; NULL for an unnamed protocol. */
const char *eve_proto_name(uint8_t proto);

/* "outbound", "inbound", "internal" or "external" (egret_direction). */
const char *eve_egret_direction(const fext *x);
/* Adds what ends every flow-bearing record's header to the record being
 * built: egret_direction, community_id (when the output asks for it;
 * client -> server, the hash is symmetric) and pcap_filename (when set). */
void eve_put_flow_tail(eve_out *o, const flow *f, const fext *x);
/* "2025-03-01T10:00:00.000000+0000" */
void eve_time(eve_out *o, uint64_t ts_us, char out[40]);

#endif /* EGRET_EVE_H */
