/*
 * eve.c -- builds Suricata-EVE-compatible records (flow, tls, dns, http,
 * alert, stats) from what the caller hands it (eve.h).
 *
 * Field names follow Suricata's EVE schema (etc/schema.json): flow
 * records carry timestamp, flow_id, community_id, event_type, src/dest
 * ip and port, proto, app_proto and a flow{} object; egret adds
 * direction, payload/sequence byte counts, exchanges and an ndpi{} block.
 * Key order is fixed, so output is deterministic.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "eve.h"

#include "community_id.h"
#include "ja3.h"

/* Formats packet time.  The date part is cached per second (gmtime and
 * strftime are slow and records mostly share recent seconds). */
void eve_time(eve_out *o, uint64_t ts_us, char out[40])
{
    time_t s = (time_t)(ts_us / 1000000u);
    if (!o->tc_valid || s != o->tc_s) {
        struct tm tm;
        gmtime_r(&s, &tm);
        strftime(o->tc, sizeof(o->tc), "%Y-%m-%dT%H:%M:%S", &tm);
        o->tc_s = s;
        o->tc_valid = true;
    }
    const char *cached = o->tc;
    unsigned us = (unsigned)(ts_us % 1000000u);
    memcpy(out, cached, 19);
    out[19] = '.';
    for (int i = 25; i >= 20; i--, us /= 10) out[i] = (char)('0' + us % 10);
    memcpy(out + 26, "+0000", 6);
}

void eve_out_init(eve_out *o, bool community_id, uint16_t seed)
{
    memset(o, 0, sizeof(*o));
    jw_init(&o->w);
    o->community_id = community_id;
    o->community_id_seed = seed;
}

void eve_out_free(eve_out *o)
{
    jw_free(&o->w);
}

const char *eve_text(const eve_out *o, size_t *len)
{
    const char *t = jw_text(&o->w);
    if (len) *len = t ? o->w.len : 0;
    return t;
}

static void put_time(eve_out *o, const char *key, uint64_t ts)
{
    jw *w = &o->w;
    char b[40];
    eve_time(o, ts, b);
    jw_str(w, key, b);
}

const char *eve_proto_name(uint8_t proto)
{
    switch (proto) {
    case 6:
        return "TCP";
    case 17:
        return "UDP";
    case 1:
        return "ICMP";
    case 58:
        return "IPv6-ICMP";
    case 132:
        return "SCTP";
    case 47:
        return "GRE";
    case 50:
        return "ESP";
    case 51:
        return "AH";
    default:
        return NULL;
    }
}

/* Suricata prints unnamed protocols as their number. */
static const char *proto_name(uint8_t proto, char buf[8])
{
    const char *n = eve_proto_name(proto);
    if (n) return n;
    snprintf(buf, 8, "%u", proto);
    return buf;
}

/* IPv4 by hand (inet_ntop formats through sprintf: 6% of the pipeline);
 * IPv6 through inet_ntop for the RFC 5952 form. */
void eve_addr(int ip_v, const uint8_t *a, char out[46])
{
    if (ip_v == 6) {
        inet_ntop(AF_INET6, a, out, 46);
        return;
    }
    char *p = out;
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (v >= 100) *p++ = (char)('0' + v / 100);
        if (v >= 10) *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = i < 3 ? '.' : '\0';
    }
}

static void put_addr(jw *w, const char *key, int ip_v, const uint8_t *a)
{
    char b[46];
    eve_addr(ip_v, a, b);
    jw_str(w, key, b);
}

/* "ai" (when attributed) and "dest_geo" (external destinations, fields
 * present only when known). */
static void put_ai_geo(eve_out *o, const fext *x, const geo_result *g)
{
    jw *w = &o->w;
    if (x->has_ai) {
        jw_obj_open(w, "ai");
        jw_str(w, "provider", x->ai.provider);
        jw_str(w, "kind", x->ai.kind);
        jw_str(w, "host", x->ai.host);
        jw_str(w, "method", x->ai.method);
        jw_str(w, "confidence", x->ai.confidence);
        jw_obj_close(w);
    }
    if (!g) return;
    jw_obj_open(w, "dest_geo");
    if (g->flags & GEO_HAS_COUNTRY) {
        jw_str(w, "country_iso", g->country_iso);
        if (g->country[0]) jw_str(w, "country", g->country);
    }
    if (g->flags & GEO_HAS_CITY) jw_str(w, "city", g->city);
    if (g->flags & GEO_HAS_ASN) {
        jw_u64(w, "asn", g->asn);
        if (g->as_org[0]) jw_str(w, "as_org", g->as_org);
    }
    jw_obj_close(w);
}

/* egret's own orientation of a flow, from the home networks: the values
 * rules/README.md lists (rules see the same string). */
const char *eve_egret_direction(const fext *x)
{
    if (x->cli_internal) return x->srv_internal ? "internal" : "outbound";
    return x->srv_internal ? "inbound" : "external";
}

void eve_put_flow_tail(eve_out *o, const flow *f, const fext *x)
{
    jw *w = &o->w;
    jw_str(w, "egret_direction", eve_egret_direction(x));
    if (o->community_id) {
        char cid[COMMUNITY_ID_LEN];
        community_id_v1(o->community_id_seed, f->ip_v, f->cli, f->srv, f->proto, f->cport, f->sport,
                        cid);
        jw_str(w, "community_id", cid);
    }
    if (o->pcap_filename) jw_str(w, "pcap_filename", o->pcap_filename);
}

/* Writes the common header of a flow-bearing record. */
static void put_flow_header_as(eve_out *o, const flow *f, const fext *x, const geo_result *g,
                               uint64_t ts, const char *event_type, const char *app_proto)
{
    jw *w = &o->w;
    char pb[8];
    bool icmp = f->proto == 1 || f->proto == 58;
    put_time(o, "timestamp", ts);
    jw_u64(w, "flow_id", f->id);
    if (o->in_iface) jw_str(w, "in_iface", o->in_iface);
    jw_str(w, "event_type", event_type);
    if (f->vlan_n) {
        jw_arr_open(w, "vlan");
        jw_u64(w, NULL, f->vlan & 0xffff);
        if (f->vlan_n > 1) jw_u64(w, NULL, f->vlan >> 16);
        jw_arr_close(w);
    }
    put_addr(w, "src_ip", f->ip_v, f->cli);
    if (!icmp) jw_u64(w, "src_port", f->cport);
    put_addr(w, "dest_ip", f->ip_v, f->srv);
    if (!icmp) jw_u64(w, "dest_port", f->sport);
    jw_str(w, "proto", proto_name(f->proto, pb));
    jw_u64(w, "ip_v", f->ip_v);
    if (icmp) {
        jw_u64(w, "icmp_type", f->cport);
        jw_u64(w, "icmp_code", f->sport);
    }
    jw_str(w, "app_proto",
           app_proto              ? app_proto
           : x->info.app_proto[0] ? x->info.app_proto
                                  : "failed");
    eve_put_flow_tail(o, f, x);
    put_ai_geo(o, x, g);
}

static void put_flow_header(eve_out *o, const flow *f, const fext *x, const geo_result *g,
                            uint64_t ts, const char *event_type)
{
    put_flow_header_as(o, f, x, g, ts, event_type, NULL);
}

static void put_alpns(jw *w, const char *key, const char *list)
{
    jw_arr_open(w, key);
    const char *s = list;
    while (*s) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        if (n) jw_strn(w, NULL, s, n);
        if (!c) break;
        s = c + 1;
    }
    jw_arr_close(w);
}

/* The "tls" (or "quic") object: sni, version, ja3{hash}, client_alpns,
 * and the server's certificate and ja3s when known ('srv' NULL: none). */
static void put_tls(jw *w, const dpi_info *i, const char *name, bool decrypted,
                    const dpi_tls_server *srv, const char *ja3_str)
{
    jw_obj_open(w, name);
    if (i->hostname[0]) jw_str(w, "sni", i->hostname);
    if (i->tls_version[0]) jw_str(w, "version", i->tls_version);
    if (ja3_str) { /* egret's own, from the ClientHello: hash and string agree */
        char h[33];
        ja3_hash(ja3_str, strlen(ja3_str), h);
        jw_obj_open(w, "ja3");
        jw_str(w, "hash", h);
        jw_str(w, "string", ja3_str);
        jw_obj_close(w);
    } else if (i->ja3[0]) {
        jw_obj_open(w, "ja3");
        jw_str(w, "hash", i->ja3);
        jw_obj_close(w);
    }
    if (i->alpn[0]) put_alpns(w, "client_alpns", i->alpn);
    if (srv && strcmp(name, "tls") == 0) {
        if (srv->subject[0]) jw_str(w, "subject", srv->subject);
        if (srv->issuerdn[0]) jw_str(w, "issuerdn", srv->issuerdn);
        if (srv->fingerprint[0]) jw_str(w, "fingerprint", srv->fingerprint);
        if (srv->notbefore[0]) jw_str(w, "notbefore", srv->notbefore);
        if (srv->notafter[0]) jw_str(w, "notafter", srv->notafter);
        if (srv->ja3s[0]) {
            jw_obj_open(w, "ja3s");
            jw_str(w, "hash", srv->ja3s);
            jw_obj_close(w);
        }
    }
    if (decrypted) jw_bool(w, "decrypted", true);
    jw_obj_close(w);
}

static void put_app_blocks(jw *w, const fext *x)
{
    const dpi_info *i = &x->info;
    bool tls = strcmp(i->app_proto, "tls") == 0;
    bool quic = strcmp(i->app_proto, "quic") == 0;
    if ((tls || quic) && (i->hostname[0] || i->tls_version[0] || i->ja3[0] || i->alpn[0]))
        put_tls(w, i, tls ? "tls" : "quic", x->decrypted, NULL, NULL);
    jw_obj_open(w, "ndpi");
    jw_str(w, "proto", i->proto[0] ? i->proto : "Unknown");
    if (i->category[0]) jw_str(w, "category", i->category);
    if (i->hostname[0]) jw_str(w, "hostname", i->hostname);
    jw_str(w, "confidence", i->detected ? "dpi" : i->guessed ? "guessed" : "unknown");
    if (i->risk) {
        jw_arr_open(w, "flow_risk");
        for (int b = 0; b < 64; b++) {
            if (!(i->risk & (1ull << b))) continue;
            const char *name = dpi_risk_name(b);
            if (name) jw_str(w, NULL, name);
        }
        jw_arr_close(w);
    }
    jw_obj_close(w);
}

void eve_flow(eve_out *o, const flow *f, const fext *x, const geo_result *g, flow_end_reason why)
{
    jw *w = &o->w;
    jw_reset(w);
    jw_obj_open(w, NULL);
    put_flow_header(o, f, x, g, f->first_ts, "flow");
    const flow_dir *ts = &f->dir[FLOW_TOSERVER], *tc = &f->dir[FLOW_TOCLIENT];
    jw_obj_open(w, "flow");
    jw_u64(w, "pkts_toserver", ts->pkts);
    jw_u64(w, "pkts_toclient", tc->pkts);
    jw_u64(w, "bytes_toserver", ts->bytes);
    jw_u64(w, "bytes_toclient", tc->bytes);
    jw_u64(w, "payload_bytes_toserver", ts->payload_bytes);
    jw_u64(w, "payload_bytes_toclient", tc->payload_bytes);
    if (f->proto == 6) {
        jw_u64(w, "seq_bytes_toserver", ts->seq_bytes);
        jw_u64(w, "seq_bytes_toclient", tc->seq_bytes);
    }
    jw_u64(w, "exchanges", f->exchanges);
    put_time(o, "start", f->first_ts);
    put_time(o, "end", f->last_ts);
    jw_u64(w, "age", (f->last_ts - f->first_ts) / 1000000u);
    jw_str(w, "state", flow_state_name(f->state));
    jw_str(w, "reason", flow_reason_name(why));
    jw_bool(w, "alerted", x->alerted);
    jw_obj_close(w);
    put_app_blocks(w, x);
    jw_obj_close(w);
}

/* Suricata-style alert: the flow's header (src = client), the alert
 * block with the rule's machine-readable 'why', and the flow's counters
 * at alert time. */
void eve_alert(eve_out *o, const flow *f, const fext *x, const geo_result *g, const rule_alert *a,
               uint64_t ts)
{
    jw *w = &o->w;
    jw_reset(w);
    jw_obj_open(w, NULL);
    put_flow_header(o, f, x, g, ts, "alert");
    /* Suricata's: the side the alerting packet went to; egret alerts
     * on flows oriented client to server */
    jw_str(w, "direction", "to_server");
    jw_obj_open(w, "alert");
    jw_str(w, "action", "allowed");
    jw_u64(w, "gid", 1);
    jw_u64(w, "signature_id", a->sid);
    jw_u64(w, "rev", a->rev);
    jw_str(w, "signature", a->signature);
    jw_str(w, "category", a->category ? a->category : "");
    jw_u64(w, "severity", (uint64_t)a->severity);
    /* Suricata's alert.rule is rule text; the file goes in metadata,
     * whose values Suricata writes as arrays of strings */
    if (a->rule_file) {
        jw_obj_open(w, "metadata");
        jw_arr_open(w, "rule_file");
        jw_str(w, NULL, a->rule_file);
        jw_arr_close(w);
        jw_obj_close(w);
    }
    if (a->why_json && a->why_len)
        jw_raw(w, "why", a->why_json, a->why_len);
    else
        jw_raw(w, "why", "{}", 2);
    jw_obj_close(w);
    if (x->info.hostname[0] && (strcmp(x->info.app_proto, "tls") == 0))
        jw_obj_open(w, "tls"), jw_str(w, "sni", x->info.hostname), jw_obj_close(w);
    const flow_dir *fs = &f->dir[FLOW_TOSERVER], *fc = &f->dir[FLOW_TOCLIENT];
    jw_obj_open(w, "flow");
    jw_u64(w, "pkts_toserver", fs->pkts);
    jw_u64(w, "pkts_toclient", fc->pkts);
    jw_u64(w, "bytes_toserver", fs->bytes);
    jw_u64(w, "bytes_toclient", fc->bytes);
    put_time(o, "start", f->first_ts);
    jw_obj_close(w);
    jw_obj_close(w);
}

/* Suricata-style http record (hostname, url, http_method, http_user_agent,
 * http_content_type, status, length = response body bytes) plus egret's
 * request body sizes and the content summary -- never the body itself. */
void eve_http(eve_out *o, const flow *f, const fext *x, const geo_result *g, const inspect_req *r,
              uint64_t ts)
{
    jw *w = &o->w;
    const http_txn *t = r->t;
    jw_reset(w);
    jw_obj_open(w, NULL);
    bool h2 = t->protocol == HTTP_PROTO_2;
    put_flow_header_as(o, f, x, g, ts, "http", h2 ? "http2" : NULL);
    jw_obj_open(w, "http");
    if (t->host[0]) jw_str(w, "hostname", t->host);
    if (t->host_alt[0]) jw_str(w, "hostname_alt", t->host_alt);
    if (r->anomalies) { /* evasion shapes (docs/EVASION.md) */
        jw_arr_open(w, "anomalies");
        for (unsigned i = 0; i < HTTP_ANOM__COUNT; i++)
            if (r->anomalies & (1u << i)) jw_str(w, NULL, http_anomaly_name(i));
        jw_arr_close(w);
    }
    if (t->uri[0]) jw_str(w, "url", t->uri);
    if (t->user_agent[0]) jw_str(w, "http_user_agent", t->user_agent);
    if (t->req.content_type[0]) jw_str(w, "http_content_type", t->req.content_type);
    if (t->method[0]) jw_str(w, "http_method", t->method);
    if (t->status) jw_u64(w, "status", (uint64_t)t->status);
    jw_u64(w, "length", t->resp.body_bytes);
    if (t->req.declared_len >= 0)
        jw_u64(w, "request_content_length", (uint64_t)t->req.declared_len);
    jw_u64(w, "request_body_length", t->req.wire_body_bytes);
    if (t->req.content_encoding[0]) jw_str(w, "request_content_encoding", t->req.content_encoding);
    jw_str(w, "protocol", h2 ? "HTTP/2" : "HTTP/1.1");
    if (r->decrypted) jw_bool(w, "decrypted", true);
    jw_obj_close(w);
    if (r->has_content) {
        const content_result *c = &r->content;
        jw_obj_open(w, "content");
        jw_str(w, "shape", c->shape);
        if (c->inner_shape && c->inner_shape[0]) jw_str(w, "inner_shape", c->inner_shape);
        jw_u64(w, "bytes", c->bytes);
        jw_u64(w, "records", c->records);
        jw_u64(w, "messages", c->messages);
        jw_u64(w, "text_chars", c->text_chars);
        jw_u64(w, "senders", c->senders);
        /* optional, like inner_shape: absent when zero */
        if (c->embedded_messages) {
            jw_u64(w, "embedded_messages", c->embedded_messages);
            jw_u64(w, "embedded_senders", c->embedded_senders);
        }
        if (c->gaps) {
            jw_u64(w, "gaps", c->gaps);
            jw_u64(w, "gap_bytes", c->gap_bytes);
            jw_bool(w, "lossy", true);
        }
        if (c->fingerprint[0]) jw_str(w, "fingerprint", c->fingerprint);
        if (r->purpose[0]) jw_str(w, "purpose", r->purpose);
        if (r->filename[0]) jw_str(w, "filename", r->filename);
        jw_obj_close(w);
    }
    jw_obj_close(w);
}

void eve_tls(eve_out *o, const flow *f, const fext *x, const geo_result *g,
             const dpi_tls_server *srv, uint64_t ts)
{
    jw *w = &o->w;
    bool quic = strcmp(x->info.app_proto, "quic") == 0;
    jw_reset(w);
    jw_obj_open(w, NULL);
    put_flow_header(o, f, x, g, ts, quic ? "quic" : "tls");
    put_tls(w, &x->info, quic ? "quic" : "tls", x->decrypted, srv, x->ja3_str);
    jw_obj_close(w);
}

/* eve_dns: eve_dns.c */

/* The engine counters of one stats group, in counters.h's order. */
static void put_group(jw *w, const engine_counters *c, int group)
{
#define PUT_COUNTER(f, g, n)                                                                       \
    if ((g) == group) jw_u64(w, n, c->f);
    ENGINE_COUNTERS(PUT_COUNTER)
#undef PUT_COUNTER
}

/* "ipv4.trunc_pkt" for "decoder.event.ipv4.trunc_pkt"; NULL for a name
 * without the prefix or a layer. */
static const char *event_rest(const char *prefix, dec_event ev)
{
    const char *name = dec_event_name(ev);
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || !strchr(name + n, '.')) return NULL;
    return name + n;
}

/* Decoder counters: packets as Suricata counts them, then the decode
 * events as nested objects, "decoder.event.ipv4.trunc_pkt" becoming
 * decoder{event{ipv4{trunc_pkt}}} as in Suricata.  A layer's events need
 * not be contiguous in DEC_EVENT_MAP ("link" is not): each layer is
 * written once, with all its events. */
static void put_decoder(jw *w, const eve_snapshot *s)
{
    static const char prefix[] = "decoder.event.";
    jw_obj_open(w, "decoder");
    jw_u64(w, "pkts", s->c->packets);
    jw_u64(w, "bytes", s->c->bytes);
    jw_u64(w, "invalid", s->c->invalid);
    jw_obj_open(w, "event");
    /* each layer once, in order of first appearance, even when its events
     * are not contiguous in the map */
    for (int i = 1; i < EV__COUNT; i++) {
        const char *rest = event_rest(prefix, (dec_event)i);
        if (!rest) continue;
        size_t glen = (size_t)(strchr(rest, '.') - rest);
        bool seen = false;
        for (int j = 1; j < i && !seen; j++) {
            const char *r2 = event_rest(prefix, (dec_event)j);
            seen = r2 && strncmp(r2, rest, glen + 1) == 0;
        }
        if (seen) continue;
        char group[32];
        if (glen >= sizeof(group)) glen = sizeof(group) - 1;
        memcpy(group, rest, glen);
        group[glen] = '\0';
        jw_obj_open(w, group);
        for (int j = i; j < EV__COUNT; j++) {
            const char *r2 = event_rest(prefix, (dec_event)j);
            if (r2 && strncmp(r2, rest, glen + 1) == 0) jw_u64(w, r2 + glen + 1, s->dec_events[j]);
        }
        jw_obj_close(w);
    }
    jw_obj_close(w);
    jw_obj_close(w);
}

/* stats.ai: the catalog, attribution and the DNS answer cache. */
static void put_ai_stats(jw *w, const eve_snapshot *s)
{
    if (s->has_attr) {
        const attr_stats *as = &s->attr;
        jw_obj_open(w, "ai");
        jw_u64(w, "catalog_patterns", as->patterns);
        jw_u64(w, "catalog_ranges", as->ranges);
        jw_u64(w, "attributed", as->attributed);
        jw_u64(w, "by_name", as->by_name);
        jw_u64(w, "by_dns", as->by_dns);
        jw_u64(w, "by_ip_range", as->by_ip);
        jw_obj_open(w, "dns_cache");
        jw_u64(w, "answers", as->dns_answers);
        jw_u64(w, "entries", as->dns_entries);
        jw_u64(w, "capacity", as->dns_capacity);
        jw_u64(w, "evicted", as->dns_evictions);
        jw_u64(w, "expired", as->dns_expired);
        jw_u64(w, "hits", as->dns_hits);
        jw_u64(w, "misses", as->dns_misses);
        jw_obj_close(w);
        jw_obj_close(w);
    }
}

/* stats.http, .reassembly and .tls_decrypt: inspection. */
static void put_inspect_stats(jw *w, const eve_snapshot *s)
{
    if (s->has_inspect) {
        const inspect_stats *is = &s->insp;
        jw_obj_open(w, "http");
        jw_u64(w, "flows", is->flows);
        jw_u64(w, "flows_active", is->flows_live);
        jw_u64(w, "flows_evicted", is->flows_evicted);
        put_group(w, s->c, STATS_HTTP);
        jw_u64(w, "requests", is->requests);
        jw_u64(w, "responses", is->responses);
        jw_u64(w, "bodies_inspected", is->bodies);
        jw_u64(w, "parser_events", is->http_events);
        jw_u64(w, "http2_flows", is->flows_h2);
        jw_obj_close(w);
        jw_obj_open(w, "reassembly");
        jw_u64(w, "memuse", is->reasm_bytes_now);
        jw_u64(w, "memuse_peak", is->reasm_peak);
        jw_u64(w, "memcap_drops", is->reasm_memcap_drops);
        jw_u64(w, "gaps", is->reasm_gaps);
        jw_u64(w, "depth_reached", is->reasm_depth);
        jw_u64(w, "tcp_overlap_conflict", is->reasm_overlap_conflict);
        jw_obj_close(w);
        if (is->has_tls) {
            const tlsdec_stats *t = &is->tls;
            jw_obj_open(w, "tls_decrypt");
            jw_u64(w, "flows", is->flows_tls);
            jw_u64(w, "sessions_with_keys", t->sessions_with_keys);
            jw_u64(w, "sessions_without_keys", t->sessions_without_keys);
            jw_u64(w, "sessions_unsupported", t->sessions_unsupported);
            jw_u64(w, "late_keys", t->late_keys);
            jw_u64(w, "records_decrypted", t->records_decrypted);
            jw_u64(w, "bytes_decrypted", t->bytes_decrypted);
            jw_u64(w, "auth_failures", t->auth_failures);
            jw_u64(w, "gaps", t->gaps);
            jw_u64(w, "resyncs", t->resyncs);
            jw_u64(w, "resync_failures", t->resync_failures);
            jw_u64(w, "records_skipped", t->records_skipped);
            jw_u64(w, "bytes_held", t->bytes_held);
            jw_u64(w, "hold_cap_hits", t->hold_cap_hits);
            if (s->has_keylog) {
                jw_u64(w, "keylog_lines", s->keylog.lines);
                jw_u64(w, "keylog_secrets", s->keylog.secrets);
                jw_u64(w, "keylog_malformed", s->keylog.malformed);
                jw_u64(w, "keylog_sessions", s->keylog.entries);
                jw_u64(w, "keylog_evicted", s->keylog.evicted);
            }
            jw_obj_close(w);
        }
    }
}

/* stats.geo: the databases and their lookups. */
static void put_geo_stats(jw *w, const eve_snapshot *s)
{
    jw_obj_open(w, "geo");
    jw_bool(w, "enabled", s->has_geo);
    if (s->has_geo) {
        /* every record says so: made-up countries must not reach a report */
        if (s->geo_test) jw_bool(w, "test_databases", true);
        const geo_db_info *dbs[2] = {&s->geo_city, &s->geo_asn};
        const char *names[2] = {"geoip_db", "asn_db"};
        for (int k = 0; k < 2; k++) {
            if (dbs[k]->kind == GEO_KIND_NONE) continue;
            jw_obj_open(w, names[k]);
            jw_str(w, "type", dbs[k]->type);
            jw_str(w, "path", dbs[k]->path);
            jw_u64(w, "build_epoch", dbs[k]->build_epoch);
            jw_obj_close(w);
        }
        jw_u64(w, "lookups", s->geo.lookups);
        jw_u64(w, "cache_hits", s->geo.hits);
        jw_u64(w, "cache_evictions", s->geo.evictions);
        jw_u64(w, "reloads", s->geo.reloads);
    }
    jw_obj_close(w);
}

void eve_stats(eve_out *o, const eve_snapshot *s)
{
    jw *w = &o->w;
    const flow_counters *fc = &s->flow;
    jw_reset(w);
    jw_obj_open(w, NULL);
    put_time(o, "timestamp", s->now_us);
    jw_str(w, "event_type", "stats");
    jw_obj_open(w, "stats");
    jw_u64(w, "uptime", s->uptime_s);
    jw_obj_open(w, "capture");
    put_group(w, s->c, STATS_CAPTURE);
    /* the share of packets the kernel saw but could not hand over (its
     * count includes them), rounded to 0.01 %: what an operator compares
     * with a threshold, not a ratio to work out */
    if (s->c->kernel_packets)
        jw_dbl(
            w, "kernel_drop_pct",
            (double)(uint64_t)(10000.0 * (double)s->c->kernel_drops / (double)s->c->kernel_packets +
                               0.5) /
                100.0);
    jw_obj_close(w);
    put_decoder(w, s);
    jw_obj_open(w, "flow");
    jw_u64(w, "total", fc->created);
    jw_u64(w, "active", fc->active);
    jw_u64(w, "evicted", fc->evicted);
    jw_u64(w, "timeout", fc->timed_out);
    jw_u64(w, "memcap", fc->memcap_hits);
    jw_obj_close(w);
    jw_obj_open(w, "tcp");
    jw_u64(w, "ssn_reused", fc->tcp_reuse);
    jw_u64(w, "seq_implausible", fc->seq_implausible);
    jw_u64(w, "seq_unconfirmed", fc->seq_unconfirmed);
    jw_u64(w, "seq_holes_merged", fc->seq_holes_merged);
    jw_obj_close(w);
    jw_obj_open(w, "dpi");
    put_group(w, s->c, STATS_DPI);
    jw_str(w, "ndpi_version", dpi_version());
    jw_obj_close(w);
    put_ai_stats(w, s);
    put_inspect_stats(w, s);
    if (s->evidence) {
        jw_obj_open(w, "evidence");
        put_group(w, s->c, STATS_EVIDENCE);
        jw_obj_close(w);
    }
    jw_obj_open(w, "dns");
    put_group(w, s->c, STATS_DNS);
    jw_obj_close(w);
    put_geo_stats(w, s);
    jw_obj_open(w, "detect");
    put_group(w, s->c, STATS_DETECT);
    if (s->rules) rules_stats(s->rules, w);
    jw_obj_close(w);
    jw_obj_open(w, "hosts");
    jw_u64(w, "tracked", s->hosts_tracked);
    jw_u64(w, "capped", s->hosts_capped);
    jw_obj_close(w);
    jw_obj_close(w);
    jw_obj_close(w);
}
