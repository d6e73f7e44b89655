/*
 * hooks.c -- the engine's side of the rules: builds the read-only rule
 * view of a flow, dispatches the hooks (on_tls, on_classified, on_tick,
 * on_flow_end, on_dns, on_http), schedules on_tick (the list of flows with
 * traffic on_tick has not seen), loads rule sets with the engine's
 * callbacks and turns rule alerts into alert records and evidence.
 */
#include "hooks.h"

#include "engine_state.h"
#include "evidence.h"
#include "paths.h"

#include <stdio.h>
#include <string.h>

#define USEC 1000000ull

const char *hooks_risk_name(void *ud, int bit)
{
    (void)ud;
    return dpi_risk_name(bit);
}

static void on_rule_alert(void *ud, const rule_view *v, const rule_alert *a)
{
    egret_engine *e = ud;
    if (e->alert_tap) e->alert_tap(e->alert_tap_ud, v, a);
    flow *f = e->cur_flow;
    if (!f) return;
    fext *x = flow_ext(f);
    x->alerted = true;
    e->c.alerts++;
    if (!(e->cfg.eve_types & EGRET_EV_ALERT) && !e->evidence_dir) return;
    eve_alert(&e->out, f, x, e->cur_geo, a, e->ev_ts);
    if (e->evidence_dir) {
        char err[512];
        size_t len;
        const char *j = eve_text(&e->out, &len);
        if (!j)
            engine_log(e, 1, "evidence: alert %u not written (out of memory)", a->sid);
        else if (evidence_write(e->evidence_dir, f->id, a->sid, j, len, x->evid, err,
                                sizeof(err)) != 0)
            engine_log(e, 1, "%s", err);
        else
            e->c.evidence_written++;
    }
    if (e->cfg.eve_types & EGRET_EV_ALERT)
        engine_emit(e, EGRET_EV_ALERT, e->ev_ts, f->id, a->severity);
}

/* Rule diagnostics go to the host's log; the first error of a (re)load
 * is also kept for the reload failure message. */
static void on_rule_log(void *ud, int level, const char *msg)
{
    egret_engine *e = ud;
    if (level == 0 && !e->load_err[0]) snprintf(e->load_err, sizeof(e->load_err), "%s", msg);
    engine_log(e, level, "%s", msg);
}

/* Fills the read-only view rules get.  Strings point into the flow, the
 * engine or 'g' (the destination's geo, looked up once by the caller and
 * kept alive for the dispatch; NULL for none). */
static void build_view(const flow *f, const fext *x, rule_view *v, const geo_result *g)
{
    memset(v, 0, sizeof(*v));
    const flow_dir *ts = &f->dir[FLOW_TOSERVER], *tc = &f->dir[FLOW_TOCLIENT];
    const dpi_info *i = &x->info;
    v->flow_id = f->id;
    v->ip_v = f->ip_v;
    eve_addr(f->ip_v, f->cli, v->src_ip);
    eve_addr(f->ip_v, f->srv, v->dest_ip);
    v->src_port = f->cport;
    v->dest_port = f->sport;
    v->proto = eve_proto_name(f->proto);
    v->src_internal = x->cli_internal;
    v->dest_internal = x->srv_internal;
    v->direction = eve_egret_direction(x); /* as the EVE records' egret_direction */
    v->app_proto = i->app_proto[0] ? i->app_proto : "failed";
    v->ndpi_proto = i->proto;
    v->category = i->category;
    bool tls = strcmp(i->app_proto, "tls") == 0 || strcmp(i->app_proto, "quic") == 0;
    v->hostname = i->hostname[0] ? i->hostname : x->has_ai ? x->ai.host : "";
    v->sni = tls ? i->hostname : "";
    v->risk = i->risk;
    v->pkts_toserver = ts->pkts;
    v->pkts_toclient = tc->pkts;
    v->bytes_toserver = ts->bytes;
    v->bytes_toclient = tc->bytes;
    v->payload_toserver = ts->payload_bytes;
    v->payload_toclient = tc->payload_bytes;
    v->seq_bytes_toserver = ts->seq_bytes;
    v->seq_bytes_toclient = tc->seq_bytes;
    v->exchanges = f->exchanges;
    v->start_us = f->first_ts;
    v->last_us = f->last_ts;
    if (x->has_ai) {
        v->has_ai = true;
        v->ai_provider = x->ai.provider;
        v->ai_kind = x->ai.kind;
        v->ai_host = x->ai.host;
        v->ai_method = x->ai.method;
        v->ai_confidence = x->ai.confidence;
    }
    if (g) {
        v->has_geo = true;
        v->geo_country_iso = g->country_iso;
        v->geo_country = g->country;
        v->geo_city = g->city;
        v->geo_as_org = g->as_org;
        v->geo_asn = g->asn;
    }
    v->tls_version = i->tls_version;
    v->tls_alpn = i->alpn;
    v->ja3 = i->ja3;
    v->dns_rrname = v->dns_rrtype = v->dns_rcode = "";
    v->http_method = v->http_host = v->http_uri = v->http_user_agent = v->http_content_type = "";
    v->http_status = -1;
    v->content_shape = "";
    v->content_fingerprint = "";
    v->content_inner_shape = "";
    v->content_purpose = "";
    v->content_messages = v->content_chars = v->content_senders = v->content_records = -1;
    v->content_embedded_messages = v->content_embedded_senders = -1;
    v->content_gaps = v->content_gap_bytes = -1;
}

/* Runs hook h; an alert it raises is written for f with geo g (the
 * view's), not looked up again. */
static void dispatch(egret_engine *e, flow *f, rule_hook h, const rule_view *v, const geo_result *g)
{
    e->cur_flow = f;
    e->cur_geo = g;
    ((fext *)flow_ext(f))->ruled = true;
    rules_dispatch(e->rules, h, v, e->ev_ts);
    e->cur_flow = NULL;
    e->cur_geo = NULL;
}

/* Sets the tick deltas: traffic since the flow's previous tick. */
static void tick_deltas(const flow *f, fext *x, rule_view *v, uint64_t now)
{
    v->d_bytes_toserver = f->dir[FLOW_TOSERVER].bytes - x->tick_bytes_ts;
    v->d_bytes_toclient = f->dir[FLOW_TOCLIENT].bytes - x->tick_bytes_tc;
    v->d_payload_toserver = f->dir[FLOW_TOSERVER].payload_bytes - x->tick_payload_ts;
    v->d_exchanges = f->exchanges - x->tick_exchanges;
    v->d_us = now - x->tick_ts;
    x->tick_ts = now;
    x->tick_bytes_ts = f->dir[FLOW_TOSERVER].bytes;
    x->tick_bytes_tc = f->dir[FLOW_TOCLIENT].bytes;
    x->tick_payload_ts = f->dir[FLOW_TOSERVER].payload_bytes;
    x->tick_exchanges = f->exchanges;
}

/* on_tls (TLS/QUIC client hello seen) then on_classified, once per flow. */
void hooks_classified(egret_engine *e, flow *f, fext *x)
{
    if (x->classified_sent) return;
    x->classified_sent = true;
    x->tick_ts = e->ev_ts;
    if (!e->rules) return;
    rule_view v;
    geo_result gb;
    bool tls = (strcmp(x->info.app_proto, "tls") == 0 || strcmp(x->info.app_proto, "quic") == 0) &&
               (x->info.hostname[0] || x->info.ja3[0]);
    bool want_tls =
        tls && rules_wants_flow(e->rules, RH_TLS_CLIENT_HELLO, x->has_ai, x->cli_internal);
    bool want_cls = rules_wants_flow(e->rules, RH_FLOW_CLASSIFIED, x->has_ai, x->cli_internal);
    if (!want_tls && !want_cls) return;
    const geo_result *g = engine_dest_geo(e, f, x, &gb);
    build_view(f, x, &v, g);
    if (want_tls) dispatch(e, f, RH_TLS_CLIENT_HELLO, &v, g);
    if (want_cls) dispatch(e, f, RH_FLOW_CLASSIFIED, &v, g);
}

static void dirty_remove(egret_engine *e, flow *f, fext *x)
{
    if (!x->dirty) return;
    fext *p = x->dprev ? flow_ext(x->dprev) : NULL, *n = x->dnext ? flow_ext(x->dnext) : NULL;
    if (p)
        p->dnext = x->dnext;
    else
        e->dirty_head = x->dnext;
    if (n)
        n->dprev = x->dprev;
    else
        e->dirty_tail = x->dprev;
    x->dprev = x->dnext = NULL;
    x->dirty = false;
    (void)f;
}

static void dirty_add(egret_engine *e, flow *f, fext *x)
{
    if (x->dirty) return;
    x->dirty = true;
    x->dnext = NULL;
    x->dprev = e->dirty_tail;
    if (e->dirty_tail)
        ((fext *)flow_ext(e->dirty_tail))->dnext = f;
    else
        e->dirty_head = f;
    e->dirty_tail = f;
}

/* on_tick when the flow has new traffic and the interval or the byte
 * budget has passed since its last tick; 'force' (FIN/RST seen) ticks on
 * any new traffic, so a closing upload is judged at once, not when the
 * closed flow times out. */
void hooks_tick(egret_engine *e, flow *f, fext *x, bool force)
{
    if (!e->rules || !x->classified_sent ||
        !rules_wants_flow(e->rules, RH_TICK, x->has_ai, x->cli_internal))
        return;
    uint64_t grown = f->dir[FLOW_TOSERVER].bytes + f->dir[FLOW_TOCLIENT].bytes - x->tick_bytes_ts -
                     x->tick_bytes_tc;
    if (grown == 0) return;
    if (!force && e->ev_ts - x->tick_ts < (uint64_t)e->cfg.tick_interval_s * USEC &&
        grown < e->cfg.tick_bytes) {
        dirty_add(e, f, x); /* the periodic sweep will look at it */
        return;
    }
    dirty_remove(e, f, x);
    rule_view v;
    geo_result gb;
    const geo_result *g = engine_dest_geo(e, f, x, &gb);
    build_view(f, x, &v, g);
    tick_deltas(f, x, &v, e->ev_ts);
    dispatch(e, f, RH_TICK, &v, g);
}

void hooks_flow_end(egret_engine *e, flow *f, fext *x, const geo_result *g)
{
    dirty_remove(e, f, x);
    hooks_classified(e, f, x);
    if (!e->rules) return;
    if (rules_wants_flow(e->rules, RH_FLOW_END, x->has_ai, x->cli_internal)) {
        rule_view v;
        build_view(f, x, &v, g);
        tick_deltas(f, x, &v, e->ev_ts);
        dispatch(e, f, RH_FLOW_END, &v, g);
    }
    /* per-flow rule state and suppression exist only for flows a hook saw */
    if (x->ruled) rules_flow_forget(e->rules, f->id);
}

void hooks_dns(egret_engine *e, flow *f, fext *x, const dns_msg *m)
{
    if (!e->rules || !m->response || !rules_wants(e->rules, RH_DNS_ANSWER)) return;
    rule_view v;
    geo_result gb;
    char tb[16], rb[16];
    char addrs[RULE_DNS_MAX_ANSWERS][DNS_NAME_MAX];
    const geo_result *g = engine_dest_geo(e, f, x, &gb);
    build_view(f, x, &v, g);
    v.dns_rrname = m->qname;
    v.dns_rrtype = dns_type_name(m->qtype, tb);
    v.dns_rcode = dns_rcode_name(m->rcode, rb);
    for (size_t k = 0; k < m->n_answers && v.dns_n_answers < RULE_DNS_MAX_ANSWERS; k++) {
        const dns_rr *rr = &m->answers[k];
        char *out = addrs[v.dns_n_answers];
        if (rr->type == DNS_T_A || rr->type == DNS_T_AAAA)
            eve_addr(rr->type == DNS_T_A ? 4 : 6, rr->addr, out);
        else if (rr->target[0])
            snprintf(out, DNS_NAME_MAX, "%s", rr->target);
        else
            continue;
        v.dns_answers[v.dns_n_answers++] = out;
    }
    /* The name asked for, if it is an AI endpoint. */
    attr_result ar;
    if (e->attr && attr_match_name(e->attr, m->qname, &ar)) {
        v.has_ai = true;
        v.ai_provider = ar.provider;
        v.ai_kind = ar.kind;
        v.ai_host = ar.host;
        v.ai_method = ar.method;
        v.ai_confidence = ar.confidence;
    }
    dispatch(e, f, RH_DNS_ANSWER, &v, g);
}

void hooks_rules_config(egret_engine *e)
{
    rules_config *rc = &e->rcfg;
    memset(rc, 0, sizeof(*rc));
    if (e->n_rule_paths) {
        rc->paths = (const char *const *)e->rule_paths;
        rc->n_paths = e->n_rule_paths;
    } else {
        e->default_rule_path[0] = paths_rules_dir();
        rc->paths = e->default_rule_path;
        rc->n_paths = 1;
    }
    rc->config_file = e->rules_config_file;
    rc->sets = (const char *const *)e->rule_sets;
    rc->n_sets = e->n_rule_sets;
    rc->mem_limit = (size_t)e->cfg.rules_mem_limit;
    rc->instr_limit = e->cfg.rules_instr_limit;
    rc->on_alert = on_rule_alert;
    rc->on_log = on_rule_log;
    rc->ud = e;
    rc->risk_name = hooks_risk_name;
    rc->fleet = e->cfg.fleet_store;
}

/* Loads the rule set.  Broken rule files are reported (with file:line)
 * and skipped; *n_errors counts them.  NULL only on a fatal error. */
rules *hooks_load_rules(egret_engine *e, size_t *n_errors, char *msg, size_t msglen)
{
    *n_errors = 0;
    e->load_err[0] = '\0';
    return rules_new(&e->rcfg, n_errors, msg, msglen);
}

/* on_http: a request is complete, with its body's content summary. */
void hooks_http(egret_engine *e, flow *f, fext *x, const inspect_req *r)
{
    if (!e->rules || !rules_wants_flow(e->rules, RH_HTTP_REQUEST, x->has_ai, x->cli_internal))
        return;
    rule_view v;
    geo_result gb;
    const geo_result *g = engine_dest_geo(e, f, x, &gb);
    build_view(f, x, &v, g);
    const http_txn *t = r->t;
    v.http_method = t->method;
    v.http_host = t->host;
    v.http_uri = t->uri;
    v.http_user_agent = t->user_agent;
    v.http_content_type = t->req.content_type;
    v.http_body_len = t->req.body_bytes;
    v.http_status = -1; /* the response has not been seen yet */
    v.http_protocol = t->protocol == HTTP_PROTO_2 ? "HTTP/2" : "HTTP/1.1";
    v.http_decrypted = r->decrypted;
    char anomalies[256];
    v.http_host_alt = t->host_alt;
    v.http_anomalies = http_anomaly_names(r->anomalies, anomalies, sizeof(anomalies));
    if (r->has_content) {
        v.content_shape = r->content.shape;
        v.content_messages = (int64_t)r->content.messages;
        v.content_records = (int64_t)r->content.records;
        v.content_chars = (int64_t)r->content.text_chars;
        v.content_senders = (int64_t)r->content.senders;
        v.content_fingerprint = r->content.fingerprint;
        v.content_inner_shape = r->content.inner_shape;
        v.content_purpose = r->purpose;
        v.content_embedded_messages = (int64_t)r->content.embedded_messages;
        v.content_embedded_senders = (int64_t)r->content.embedded_senders;
        v.content_gaps = (int64_t)r->content.gaps;
        v.content_gap_bytes = (int64_t)r->content.gap_bytes;
    }
    dispatch(e, f, RH_HTTP_REQUEST, &v, g);
}

/* Ticks the flows on the dirty list whose interval has passed (the list
 * holds only flows with traffic on_tick has not seen). */
void hooks_sweep_ticks(egret_engine *e)
{
    flow *f = e->dirty_head;
    while (f) {
        fext *x = flow_ext(f);
        flow *next = x->dnext;
        hooks_tick(e, f, x, false);
        f = next;
    }
}

int hooks_use_rules(egret_engine *e, const rules_config *rc, rules_alert_cb tap, void *tap_ud,
                    size_t *n_errors, char *msg, size_t msglen)
{
    hooks_rules_config(e);
    e->rcfg.paths = rc->paths;
    e->rcfg.n_paths = rc->n_paths;
    e->rcfg.config_file = NULL;
    e->rcfg.config_text = rc->config_text;
    e->rcfg.sets = rc->sets;
    e->rcfg.n_sets = rc->n_sets;
    e->rcfg.on_fault = rc->on_fault;
    e->rcfg.fault_ud = rc->fault_ud;
    rules *r = hooks_load_rules(e, n_errors, msg, msglen);
    if (!r) return -1;
    rules_free(e->rules);
    e->rules = r;
    e->alert_tap = tap;
    e->alert_tap_ud = tap_ud;
    return 0;
}
