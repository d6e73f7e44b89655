/*
 * eve.c -- builds Suricata-EVE-compatible records (flow, stats).
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

#include "community_id.h"
#include "engine.h"

/* Formats packet time.  The date part is cached per second (gmtime and
 * strftime are slow and records mostly share recent seconds). */
void eve_time(egret_engine *e, uint64_t ts_us, char out[40])
{
    time_t s = (time_t)(ts_us / 1000000u);
    if (!e->time_cache_valid || s != e->time_cache_s) {
        struct tm tm;
        gmtime_r(&s, &tm);
        strftime(e->time_cache, sizeof(e->time_cache), "%Y-%m-%dT%H:%M:%S", &tm);
        e->time_cache_s = s;
        e->time_cache_valid = true;
    }
    const char *cached = e->time_cache;
    unsigned us = (unsigned)(ts_us % 1000000u);
    memcpy(out, cached, 19);
    out[19] = '.';
    for (int i = 25; i >= 20; i--, us /= 10) out[i] = (char)('0' + us % 10);
    memcpy(out + 26, "+0000", 6);
}

static void put_time(egret_engine *e, const char *key, uint64_t ts)
{
    jw *w = &e->out;
    char b[40];
    eve_time(e, ts, b);
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
static void put_ai_geo(egret_engine *e, const flow *f, const fext *x)
{
    jw *w = &e->out;
    if (x->has_ai) {
        jw_obj_open(w, "ai");
        jw_str(w, "provider", x->ai.provider);
        jw_str(w, "kind", x->ai.kind);
        jw_str(w, "host", x->ai.host);
        jw_str(w, "method", x->ai.method);
        jw_str(w, "confidence", x->ai.confidence);
        jw_obj_close(w);
    }
    geo_result g;
    if (x->srv_internal || !e->geo || !geo_lookup(e->geo, f->ip_v, f->srv, &g)) return;
    jw_obj_open(w, "dest_geo");
    if (g.flags & GEO_HAS_COUNTRY) {
        jw_str(w, "country_iso", g.country_iso);
        if (g.country[0]) jw_str(w, "country", g.country);
    }
    if (g.flags & GEO_HAS_CITY) jw_str(w, "city", g.city);
    if (g.flags & GEO_HAS_ASN) {
        jw_u64(w, "asn", g.asn);
        if (g.as_org[0]) jw_str(w, "as_org", g.as_org);
    }
    jw_obj_close(w);
}

/* Writes the common header of a flow-bearing record. */
static void put_flow_header(egret_engine *e, const flow *f, const fext *x, uint64_t ts,
                            const char *event_type)
{
    jw *w = &e->out;
    char pb[8];
    bool icmp = f->proto == 1 || f->proto == 58;
    put_time(e, "timestamp", ts);
    jw_u64(w, "flow_id", f->id);
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
    jw_str(w, "app_proto", x->info.app_proto[0] ? x->info.app_proto : "failed");
    if (x->cli_internal && !x->srv_internal) jw_str(w, "direction", "outbound");
    if (e->cfg.community_id) {
        char cid[COMMUNITY_ID_LEN];
        community_id_v1(e->cfg.community_id_seed, f->ip_v, f->cli, f->srv, f->proto, f->cport,
                        f->sport, cid);
        jw_str(w, "community_id", cid);
    }
    put_ai_geo(e, f, x);
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

/* The "tls" (or "quic") object: sni, version, ja3{hash}, client_alpns. */
static void put_tls(jw *w, const dpi_info *i, const char *name)
{
    jw_obj_open(w, name);
    if (i->hostname[0]) jw_str(w, "sni", i->hostname);
    if (i->tls_version[0]) jw_str(w, "version", i->tls_version);
    if (i->ja3[0]) {
        jw_obj_open(w, "ja3");
        jw_str(w, "hash", i->ja3);
        jw_obj_close(w);
    }
    if (i->alpn[0]) put_alpns(w, "client_alpns", i->alpn);
    jw_obj_close(w);
}

static void put_app_blocks(jw *w, const fext *x)
{
    const dpi_info *i = &x->info;
    bool tls = strcmp(i->app_proto, "tls") == 0;
    bool quic = strcmp(i->app_proto, "quic") == 0;
    if ((tls || quic) && (i->hostname[0] || i->tls_version[0] || i->ja3[0] || i->alpn[0]))
        put_tls(w, i, tls ? "tls" : "quic");
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

void eve_flow(egret_engine *e, const flow *f, const fext *x, flow_end_reason why)
{
    jw *w = &e->out;
    jw_reset(w);
    jw_obj_open(w, NULL);
    put_flow_header(e, f, x, f->first_ts, "flow");
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
    put_time(e, "start", f->first_ts);
    put_time(e, "end", f->last_ts);
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
void eve_alert(egret_engine *e, const flow *f, const fext *x, const rule_alert *a, uint64_t ts)
{
    jw *w = &e->out;
    jw_reset(w);
    jw_obj_open(w, NULL);
    put_flow_header(e, f, x, ts, "alert");
    jw_obj_open(w, "alert");
    jw_str(w, "action", "allowed");
    jw_u64(w, "gid", 1);
    jw_u64(w, "signature_id", a->sid);
    jw_u64(w, "rev", a->rev);
    jw_str(w, "signature", a->signature);
    jw_str(w, "category", a->category ? a->category : "");
    jw_u64(w, "severity", (uint64_t)a->severity);
    if (a->rule_file) jw_str(w, "rule", a->rule_file);
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
    put_time(e, "start", f->first_ts);
    jw_obj_close(w);
    jw_obj_close(w);
}

/* Suricata-style http record (hostname, url, http_method, http_user_agent,
 * http_content_type, status, length = response body bytes) plus egret's
 * request body sizes and the content summary -- never the body itself. */
void eve_http(egret_engine *e, const flow *f, const fext *x, const inspect_req *r, uint64_t ts)
{
    jw *w = &e->out;
    const http_txn *t = r->t;
    jw_reset(w);
    jw_obj_open(w, NULL);
    put_flow_header(e, f, x, ts, "http");
    jw_obj_open(w, "http");
    if (t->host[0]) jw_str(w, "hostname", t->host);
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

void eve_tls(egret_engine *e, const flow *f, const fext *x, uint64_t ts)
{
    jw *w = &e->out;
    bool quic = strcmp(x->info.app_proto, "quic") == 0;
    jw_reset(w);
    jw_obj_open(w, NULL);
    put_flow_header(e, f, x, ts, quic ? "quic" : "tls");
    put_tls(w, &x->info, quic ? "quic" : "tls");
    jw_obj_close(w);
}

/* Suricata EVE dns v2: one record per query and per response; src/dest
 * follow the packet (a response comes from the server). */
void eve_dns(egret_engine *e, const flow *f, const fext *x, const dns_msg *m, uint64_t ts,
             bool to_server)
{
    jw *w = &e->out;
    char pb[8], tb[16], rb[16];
    jw_reset(w);
    jw_obj_open(w, NULL);
    put_time(e, "timestamp", ts);
    jw_u64(w, "flow_id", f->id);
    jw_str(w, "event_type", "dns");
    put_addr(w, "src_ip", f->ip_v, to_server ? f->cli : f->srv);
    jw_u64(w, "src_port", to_server ? f->cport : f->sport);
    put_addr(w, "dest_ip", f->ip_v, to_server ? f->srv : f->cli);
    jw_u64(w, "dest_port", to_server ? f->sport : f->cport);
    jw_str(w, "proto", proto_name(f->proto, pb));
    if (x->cli_internal && !x->srv_internal) jw_str(w, "direction", "outbound");
    jw_obj_open(w, "dns");
    jw_u64(w, "version", 2);
    jw_str(w, "type", m->response ? "answer" : "query");
    jw_u64(w, "id", m->id);
    jw_str(w, "rrname", m->qname);
    jw_str(w, "rrtype", dns_type_name(m->qtype, tb));
    if (m->response) {
        jw_str(w, "rcode", dns_rcode_name(m->rcode, rb));
        if (m->n_answers) {
            jw_arr_open(w, "answers");
            for (size_t i = 0; i < m->n_answers; i++) {
                const dns_rr *rr = &m->answers[i];
                jw_obj_open(w, NULL);
                jw_str(w, "rrname", rr->name);
                jw_str(w, "rrtype", dns_type_name(rr->type, tb));
                jw_u64(w, "ttl", rr->ttl);
                if (rr->type == DNS_T_A || rr->type == DNS_T_AAAA)
                    put_addr(w, "rdata", rr->type == DNS_T_A ? 4 : 6, rr->addr);
                else if (rr->target[0])
                    jw_str(w, "rdata", rr->target);
                jw_obj_close(w);
            }
            jw_arr_close(w);
        }
    }
    jw_obj_close(w);
    jw_obj_close(w);
}

/* Decoder counters as nested objects: "decoder.ipv4.truncated" becomes
 * decoder{ipv4{truncated}}.  DEC_EVENT_MAP lists each group contiguously. */
static void put_decoder(egret_engine *e)
{
    jw *w = &e->out;
    jw_obj_open(w, "decoder");
    jw_u64(w, "pkts", e->packets);
    jw_u64(w, "bytes", e->bytes);
    jw_u64(w, "invalid", e->invalid);
    char group[32] = "";
    bool open = false;
    for (int i = 1; i < EV__COUNT; i++) {
        const char *name = dec_event_name((dec_event)i);
        if (strncmp(name, "decoder.", 8) != 0) continue;
        const char *rest = name + 8;
        const char *dot = strchr(rest, '.');
        size_t glen = dot ? (size_t)(dot - rest) : 0;
        if (open && (glen == 0 || strlen(group) != glen || strncmp(group, rest, glen) != 0)) {
            jw_obj_close(w);
            open = false;
        }
        if (glen && !open) {
            if (glen >= sizeof(group)) glen = sizeof(group) - 1;
            memcpy(group, rest, glen);
            group[glen] = '\0';
            jw_obj_open(w, group);
            open = true;
        }
        jw_u64(w, glen ? dot + 1 : rest, e->dec_events[i]);
    }
    if (open) jw_obj_close(w);
    jw_obj_close(w);
}

void eve_stats(egret_engine *e)
{
    jw *w = &e->out;
    flow_counters fc;
    flow_table_counters(e->flows, &fc);
    jw_reset(w);
    jw_obj_open(w, NULL);
    put_time(e, "timestamp", e->now);
    jw_str(w, "event_type", "stats");
    jw_obj_open(w, "stats");
    jw_u64(w, "uptime", e->seen_packet ? (e->now - e->first_ts) / 1000000u : 0);
    jw_obj_open(w, "capture");
    jw_u64(w, "packets", e->packets);
    jw_u64(w, "bytes", e->bytes);
    jw_u64(w, "kernel_packets", e->kernel_packets);
    jw_u64(w, "kernel_drops", e->kernel_drops);
    jw_u64(w, "kernel_ifdrops", e->kernel_ifdrops);
    jw_obj_close(w);
    put_decoder(e);
    jw_obj_open(w, "flow");
    jw_u64(w, "total", fc.created);
    jw_u64(w, "active", fc.active);
    jw_u64(w, "evicted", fc.evicted);
    jw_u64(w, "timeout", fc.timed_out);
    jw_u64(w, "memcap", fc.memcap_hits);
    jw_obj_close(w);
    jw_obj_open(w, "tcp");
    jw_u64(w, "ssn_reused", fc.tcp_reuse);
    jw_u64(w, "seq_implausible", fc.seq_implausible);
    jw_u64(w, "seq_unconfirmed", fc.seq_unconfirmed);
    jw_u64(w, "seq_holes_merged", fc.seq_holes_merged);
    jw_obj_close(w);
    jw_obj_open(w, "dpi");
    jw_u64(w, "classified", e->dpi_classified);
    jw_u64(w, "giveups", e->dpi_giveups);
    jw_str(w, "ndpi_version", dpi_version());
    jw_obj_close(w);
    if (e->attr) {
        attr_stats as;
        attr_get_stats(e->attr, &as);
        jw_obj_open(w, "ai");
        jw_u64(w, "catalog_patterns", as.patterns);
        jw_u64(w, "catalog_ranges", as.ranges);
        jw_u64(w, "attributed", as.attributed);
        jw_u64(w, "by_name", as.by_name);
        jw_u64(w, "by_dns", as.by_dns);
        jw_u64(w, "by_ip_range", as.by_ip);
        jw_obj_open(w, "dns_cache");
        jw_u64(w, "answers", as.dns_answers);
        jw_u64(w, "entries", as.dns_entries);
        jw_u64(w, "capacity", as.dns_capacity);
        jw_u64(w, "evicted", as.dns_evictions);
        jw_u64(w, "expired", as.dns_expired);
        jw_u64(w, "hits", as.dns_hits);
        jw_u64(w, "misses", as.dns_misses);
        jw_obj_close(w);
        jw_obj_close(w);
    }
    if (e->inspect) {
        inspect_stats is;
        inspect_get_stats(e->inspect, &is);
        jw_obj_open(w, "http");
        jw_u64(w, "flows", is.flows);
        jw_u64(w, "flows_active", is.flows_live);
        jw_u64(w, "flows_evicted", is.flows_evicted);
        jw_u64(w, "flows_skipped", e->insp_skipped);
        jw_u64(w, "requests", is.requests);
        jw_u64(w, "responses", is.responses);
        jw_u64(w, "bodies_inspected", is.bodies);
        jw_u64(w, "parser_events", is.http_events);
        jw_obj_close(w);
        jw_obj_open(w, "reassembly");
        jw_u64(w, "memuse", is.reasm_bytes_now);
        jw_u64(w, "memuse_peak", is.reasm_peak);
        jw_u64(w, "memcap_drops", is.reasm_memcap_drops);
        jw_u64(w, "gaps", is.reasm_gaps);
        jw_u64(w, "depth_reached", is.reasm_depth);
        jw_obj_close(w);
    }
    if (e->evidence_dir) {
        jw_obj_open(w, "evidence");
        jw_u64(w, "written", e->evidence_written);
        jw_u64(w, "packet_bytes", e->evidence_bytes);
        jw_u64(w, "flows_capped", e->evidence_capped);
        jw_obj_close(w);
    }
    jw_obj_open(w, "dns");
    jw_u64(w, "parsed", e->dns_parsed);
    jw_u64(w, "malformed", e->dns_malformed);
    jw_obj_close(w);
    jw_obj_open(w, "geo");
    jw_bool(w, "enabled", e->geo != NULL);
    if (e->geo) {
        geo_db_info ci, ai;
        geo_stats gs;
        geo_info(e->geo, &ci, &ai);
        geo_get_stats(e->geo, &gs);
        const geo_db_info *dbs[2] = {&ci, &ai};
        const char *names[2] = {"geoip_db", "asn_db"};
        for (int k = 0; k < 2; k++) {
            if (dbs[k]->kind == GEO_KIND_NONE) continue;
            jw_obj_open(w, names[k]);
            jw_str(w, "type", dbs[k]->type);
            jw_str(w, "path", dbs[k]->path);
            jw_u64(w, "build_epoch", dbs[k]->build_epoch);
            jw_obj_close(w);
        }
        jw_u64(w, "lookups", gs.lookups);
        jw_u64(w, "cache_hits", gs.hits);
        jw_u64(w, "cache_evictions", gs.evictions);
        jw_u64(w, "reloads", gs.reloads);
    }
    jw_obj_close(w);
    jw_obj_open(w, "detect");
    jw_u64(w, "alerts", e->alerts);
    jw_u64(w, "rules_reloads", e->rules_reloads);
    if (e->rules) rules_stats(e->rules, w);
    jw_obj_close(w);
    jw_obj_open(w, "hosts");
    jw_u64(w, "tracked", e->hosts_used);
    jw_u64(w, "capped", e->hosts_capped);
    jw_obj_close(w);
    jw_obj_close(w);
    jw_obj_close(w);
}
