/*
 * engine.c -- wires the pipeline: decode -> flow table -> classification
 * -> output.  The one file that knows every module (like Lua's linit.c).
 *
 * Owns the engine state (engine.h).  Everything runs on packet time: the
 * capture's timestamps drive timeouts and periodic stats, so a replay
 * gives the same bytes every time.
 */
#include "engine.h"

#include "evidence.h"
#include "mem.h"
#include "rules_test.h"
#include "shard.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_HOME_NET "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7"
#define USEC             1000000ull
#define EVIDENCE_CAP     (256ull << 20) /* bytes of packet copies kept for evidence */

/* ==== config ==== */

static void config_defaults(egret_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->struct_size = sizeof(*cfg);
    cfg->eve_types = EGRET_EVE_DEFAULT;
    cfg->max_flows = 1000000;
    cfg->tcp_timeout_s = 3600;
    cfg->tcp_closed_timeout_s = 30;
    cfg->udp_timeout_s = 120;
    cfg->other_timeout_s = 30;
    cfg->dpi_max_packets = 0; /* ndpiReader 4.2's budgets: 80 TCP, 24 UDP */
    cfg->community_id = 1;
    cfg->ai_to_ndpi = 1;
    cfg->tick_interval_s = 5;
    cfg->tick_bytes = 1u << 20;
}

void egret_config_init_sized(egret_config *cfg, size_t size)
{
    if (!cfg) return;
    egret_config d;
    config_defaults(&d);
    size_t n = size < sizeof(d) ? size : sizeof(d);
    memcpy(cfg, &d, n);
    if (size >= sizeof(uint32_t)) cfg->struct_size = (uint32_t)size;
}

static void errf(char *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, EGRET_ERRBUF_SIZE, fmt, ap);
    va_end(ap);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void logf_(egret_engine *e, int level, const char *fmt, ...)
{
    if (!e->cfg.on_log) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    e->cfg.on_log(level, msg, e->cfg.log_ud);
}

/* Where the shipped data is: $EGRET_DATADIR when set (a build tree, an
 * install moved elsewhere; the CLI sets it for the tree it runs from),
 * else the directory CMake installed it into.  Read once per process.
 * The rules directory is resolved (realpath), so that rule file names in
 * stats and messages are the same however it was reached. */
#define SHIPPED_DIR_MAX (PATH_MAX - 64) /* a file name still fits after it in PATH_MAX */
static pthread_once_t data_dirs_once = PTHREAD_ONCE_INIT;
static char shipped_rules[SHIPPED_DIR_MAX], shipped_data[SHIPPED_DIR_MAX],
    shipped_geo[SHIPPED_DIR_MAX];

static void find_data_dirs(void)
{
    const char *env = getenv("EGRET_DATADIR");
    const char *root = env && env[0] ? env : EGRET_DATADIR;
    char real[PATH_MAX];

    snprintf(shipped_rules, sizeof(shipped_rules), "%s/rules", root);
    if (realpath(shipped_rules, real))
        snprintf(shipped_rules, sizeof(shipped_rules), "%.*s", (int)sizeof(shipped_rules) - 6,
                 real);
    snprintf(shipped_data, sizeof(shipped_data), "%.*s/data", (int)sizeof(shipped_data) - 6,
             shipped_rules);
    snprintf(shipped_geo, sizeof(shipped_geo), "%s/geo", root);
}

static const char *default_data_dir(void)
{
    pthread_once(&data_dirs_once, find_data_dirs);
    return shipped_data;
}

static const char *default_geo_dir(void)
{
    pthread_once(&data_dirs_once, find_data_dirs);
    return shipped_geo;
}

static const char *default_rules_dir(void)
{
    pthread_once(&data_dirs_once, find_data_dirs);
    return shipped_rules;
}

/* ==== output ==== */

static void emit(egret_engine *e, egret_event_type type, uint64_t ts, uint64_t flow_id,
                 int severity)
{
    const char *text = jw_text(&e->out);
    if (!text || !e->cfg.on_event) return;
    egret_event ev = {type, ts, flow_id, severity, text, e->out.len};
    e->records++;
    e->cfg.on_event(&ev, e->cfg.event_ud);
}

/* ==== hosts (summary of outbound bytes per internal client) ==== */

/* Doubles the host table (open addressing) up to ENGINE_HOSTS_CAP slots;
 * false if it cannot. */
static bool hosts_grow(egret_engine *e)
{
    uint32_t ncap = e->hosts_cap * 2;
    if (ncap > ENGINE_HOSTS_CAP) return false;
    host_slot *nt = mem_zalloc(ncap, sizeof(*nt)); /* read first: see mem.h */
    if (!nt) return false;
    for (uint32_t k = 0; k < e->hosts_cap; k++) {
        const host_slot *o = &e->hosts[k];
        if (!o->ip_v) continue;
        uint32_t i = shard_addr_hash(o->ip_v, o->addr) & (ncap - 1);
        while (nt[i].ip_v) i = (i + 1) & (ncap - 1);
        nt[i] = *o;
    }
    free(e->hosts);
    e->hosts = nt;
    e->hosts_cap = ncap;
    return true;
}

static void host_account(egret_engine *e, const flow *f)
{
    if (!e->hosts) return;
    size_t alen = f->ip_v == 6 ? 16 : 4;
    uint32_t mask = e->hosts_cap - 1;
    uint32_t i = shard_addr_hash(f->ip_v, f->cli) & mask;
    for (uint32_t probes = 0; probes < e->hosts_cap; probes++, i = (i + 1) & mask) {
        host_slot *s = &e->hosts[i];
        if (s->ip_v == 0) {
            if (e->hosts_used >= e->hosts_cap * 3 / 4) {
                if (hosts_grow(e)) { /* slots moved: probe again */
                    host_account(e, f);
                    return;
                }
                e->hosts_capped++;
                return;
            }
            s->ip_v = f->ip_v;
            memcpy(s->addr, f->cli, alen);
            e->hosts_used++;
        } else if (s->ip_v != f->ip_v || memcmp(s->addr, f->cli, alen) != 0) {
            continue;
        }
        s->bytes_out += f->dir[FLOW_TOSERVER].bytes;
        s->flows_out++;
        return;
    }
}

/* ==== attribution and geo ==== */

/* Attributes the flow once, from 'name' (what the client sent, from 'src'),
 * the client's DNS answers or the server's address. */
static void attribute_as(egret_engine *e, flow *f, fext *x, const char *name, attr_name_src src)
{
    if (x->attributed_done || !e->attr) return;
    x->attributed_done = true;
    if (x->srv_internal || x->has_ai) return; /* external only; HTTP Host may have done it */
    x->has_ai = attr_flow(e->attr, f->ip_v, f->cli, f->srv, name, src, e->ev_ts, &x->ai);
}

static void attribute(egret_engine *e, flow *f, fext *x)
{
    attr_name_src src = ATTR_NAME_NONE;
    if (strcmp(x->info.app_proto, "tls") == 0)
        src = ATTR_NAME_SNI;
    else if (strcmp(x->info.app_proto, "quic") == 0)
        src = ATTR_NAME_QUIC_SNI;
    else if (strcmp(x->info.app_proto, "http") == 0)
        src = ATTR_NAME_HTTP_HOST;
    attribute_as(e, f, x, x->info.hostname, src);
}

/* Opens the GeoIP/ASN databases named in the config, or found in the
 * usual places, or the shipped test ones.  Failure is a warning: records
 * then carry no geo. */
static void geo_setup(egret_engine *e)
{
    if (e->cfg.no_geo) return;
    const char *city = e->geoip_db, *asn = e->asn_db;
    if (!city && !asn) {
        char c[512] = "", a[512] = "";
        geo_find_default(e->geo_dir, c, a, sizeof(c));
        snprintf(e->geo_city_path, sizeof(e->geo_city_path), "%s", c);
        snprintf(e->geo_asn_path, sizeof(e->geo_asn_path), "%s", a);
    } else {
        snprintf(e->geo_city_path, sizeof(e->geo_city_path), "%s", city ? city : "");
        snprintf(e->geo_asn_path, sizeof(e->geo_asn_path), "%s", asn ? asn : "");
    }
    if (!e->geo_city_path[0] && !e->geo_asn_path[0]) {
        logf_(e, 1,
              "warning: no GeoIP/ASN database found (looked in /usr/share/GeoIP, "
              "/var/lib/GeoIP and %s); records carry no dest_geo",
              e->geo_dir);
        return;
    }
    e->geo = geo_new(0);
    if (!e->geo) return;
    char msg[512];
    if (geo_open(e->geo, e->geo_city_path[0] ? e->geo_city_path : NULL,
                 e->geo_asn_path[0] ? e->geo_asn_path : NULL, msg, sizeof(msg)) != 0) {
        logf_(e, 1, "GeoIP disabled: %s; records carry no dest_geo", msg);
        geo_free(e->geo);
        e->geo = NULL;
        return;
    }
    logf_(e, 2, "GeoIP: %s%s%s", e->geo_city_path, e->geo_asn_path[0] ? ", " : "", e->geo_asn_path);
}

/* Writes the catalog as a temporary nDPI protocols file; the path goes
 * into e->ndpi_ai_protos (unlinked after nDPI loaded it). */
static int write_ai_protos(egret_engine *e, char *err)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(e->ndpi_ai_protos, sizeof(e->ndpi_ai_protos), "%s/egret-ndpi-XXXXXX",
             tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    int fd = mkstemp(e->ndpi_ai_protos);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!fp) {
        if (fd >= 0) close(fd);
        errf(err, "cannot create a temporary nDPI protocols file in %s", e->ndpi_ai_protos);
        e->ndpi_ai_protos[0] = '\0';
        return -1;
    }
    int rc = attr_write_ndpi_protos(e->attr, fp);
    if (fclose(fp) != 0 || rc < 0) {
        errf(err, "cannot write the temporary nDPI protocols file");
        return -1;
    }
    return 0;
}

/* ==== rules ==== */

static const char *risk_name_cb(void *ud, int bit)
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
    e->alerts++;
    if (!(e->cfg.eve_types & EGRET_EV_ALERT) && !e->evidence_dir) return;
    eve_alert(e, f, x, a, e->ev_ts);
    if (e->evidence_dir) {
        char err[512];
        const char *j = jw_text(&e->out);
        if (!j)
            logf_(e, 1, "evidence: alert %u not written (out of memory)", a->sid);
        else if (evidence_write(e->evidence_dir, f->id, a->sid, j, e->out.len, x->evid, err,
                                sizeof(err)) != 0)
            logf_(e, 1, "%s", err);
        else
            e->evidence_written++;
    }
    if (e->cfg.eve_types & EGRET_EV_ALERT) emit(e, EGRET_EV_ALERT, e->ev_ts, f->id, a->severity);
}

/* Rule diagnostics go to the host's log; the first error of a (re)load
 * is also kept for the reload failure message. */
static void on_rule_log(void *ud, int level, const char *msg)
{
    egret_engine *e = ud;
    if (level == 0 && !e->load_err[0]) snprintf(e->load_err, sizeof(e->load_err), "%s", msg);
    logf_(e, level, "%s", msg);
}

static const char *direction_name(const fext *x)
{
    if (x->cli_internal) return x->srv_internal ? "internal" : "outbound";
    return x->srv_internal ? "inbound" : "external";
}

/* Fills the read-only view rules get.  Strings point into the flow, the
 * engine or 'g' (which the caller keeps alive for the dispatch). */
static void build_view(egret_engine *e, const flow *f, const fext *x, rule_view *v, geo_result *g)
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
    v->direction = direction_name(x);
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
    if (!x->srv_internal && e->geo && geo_lookup(e->geo, f->ip_v, f->srv, g)) {
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

static void dispatch(egret_engine *e, flow *f, rule_hook h, const rule_view *v)
{
    e->cur_flow = f;
    ((fext *)flow_ext(f))->ruled = true;
    rules_dispatch(e->rules, h, v, e->ev_ts);
    e->cur_flow = NULL;
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
static void hooks_classified(egret_engine *e, flow *f, fext *x)
{
    if (x->classified_sent) return;
    x->classified_sent = true;
    x->tick_ts = e->ev_ts;
    if (!e->rules) return;
    rule_view v;
    geo_result g;
    bool tls = (strcmp(x->info.app_proto, "tls") == 0 || strcmp(x->info.app_proto, "quic") == 0) &&
               (x->info.hostname[0] || x->info.ja3[0]);
    bool want_tls =
        tls && rules_wants_flow(e->rules, RH_TLS_CLIENT_HELLO, x->has_ai, x->cli_internal);
    bool want_cls = rules_wants_flow(e->rules, RH_FLOW_CLASSIFIED, x->has_ai, x->cli_internal);
    if (!want_tls && !want_cls) return;
    build_view(e, f, x, &v, &g);
    if (want_tls) dispatch(e, f, RH_TLS_CLIENT_HELLO, &v);
    if (want_cls) dispatch(e, f, RH_FLOW_CLASSIFIED, &v);
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
static void hooks_tick(egret_engine *e, flow *f, fext *x, bool force)
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
    geo_result g;
    build_view(e, f, x, &v, &g);
    tick_deltas(f, x, &v, e->ev_ts);
    dispatch(e, f, RH_TICK, &v);
}

static void hooks_flow_end(egret_engine *e, flow *f, fext *x)
{
    hooks_classified(e, f, x);
    if (!e->rules) return;
    if (rules_wants_flow(e->rules, RH_FLOW_END, x->has_ai, x->cli_internal)) {
        rule_view v;
        geo_result g;
        build_view(e, f, x, &v, &g);
        tick_deltas(f, x, &v, e->ev_ts);
        dispatch(e, f, RH_FLOW_END, &v);
    }
    /* per-flow rule state and suppression exist only for flows a hook saw */
    if (x->ruled) rules_flow_forget(e->rules, f->id);
}

static void hooks_dns(egret_engine *e, flow *f, fext *x, const dns_msg *m)
{
    if (!e->rules || !m->response || !rules_wants(e->rules, RH_DNS_ANSWER)) return;
    rule_view v;
    geo_result g;
    char tb[16], rb[16];
    char addrs[RULE_DNS_MAX_ANSWERS][DNS_NAME_MAX];
    build_view(e, f, x, &v, &g);
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
    dispatch(e, f, RH_DNS_ANSWER, &v);
}

static void fill_rules_config(egret_engine *e)
{
    rules_config *rc = &e->rcfg;
    memset(rc, 0, sizeof(*rc));
    if (e->n_rule_paths) {
        rc->paths = (const char *const *)e->rule_paths;
        rc->n_paths = e->n_rule_paths;
    } else {
        e->default_rule_path[0] = default_rules_dir();
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
    rc->risk_name = risk_name_cb;
}

/* Loads the rule set.  Broken rule files are reported (with file:line)
 * and skipped; *n_errors counts them.  NULL only on a fatal error. */
static rules *load_rules(egret_engine *e, size_t *n_errors, char *msg, size_t msglen)
{
    *n_errors = 0;
    e->load_err[0] = '\0';
    return rules_new(&e->rcfg, n_errors, msg, msglen);
}

/* ==== clear-text HTTP inspection ==== */

/* A request is complete: HTTP Host attribution (if nothing better), the
 * on_http hook with the body's content summary. */
static void on_http_request(void *ctx_ud, void *flow_ud, const inspect_req *r)
{
    egret_engine *e = ctx_ud;
    flow *f = flow_ud;
    fext *x = flow_ext(f);
    if (!x->has_ai && !x->srv_internal && e->attr && r->t->host[0])
        x->has_ai = attr_flow(e->attr, f->ip_v, f->cli, f->srv, r->t->host, ATTR_NAME_HTTP_HOST,
                              e->ev_ts, &x->ai);
    if (x->evid && r->sample[0]) evidence_set_sample(x->evid, r->sample);
    if (!e->rules || !rules_wants_flow(e->rules, RH_HTTP_REQUEST, x->has_ai, x->cli_internal))
        return;
    rule_view v;
    geo_result g;
    build_view(e, f, x, &v, &g);
    const http_txn *t = r->t;
    v.http_method = t->method;
    v.http_host = t->host;
    v.http_uri = t->uri;
    v.http_user_agent = t->user_agent;
    v.http_content_type = t->req.content_type;
    v.http_body_len = t->req.body_bytes;
    v.http_status = -1; /* the response has not been seen yet */
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
    dispatch(e, f, RH_HTTP_REQUEST, &v);
}

static void on_http_txn_done(void *ctx_ud, void *flow_ud, const inspect_req *r)
{
    egret_engine *e = ctx_ud;
    flow *f = flow_ud;
    if (!(e->cfg.eve_types & EGRET_EV_HTTP)) return;
    eve_http(e, f, flow_ext(f), r, e->ev_ts);
    e->http_records++;
    emit(e, EGRET_EV_HTTP, e->ev_ts, f->id, 0);
}

static void on_http_evict(void *ctx_ud, void *flow_ud)
{
    (void)ctx_ud;
    fext *x = flow_ext(flow_ud);
    x->insp = NULL; /* stays decided: not inspected again */
}

/* Whether inspecting this HTTP flow feeds anything: http records, evidence
 * samples, or an on_http rule whose needs the flow meets.  Most such rules
 * need an AI-bound flow: when the request's header block is whole in this
 * first segment, nDPI has just read its Host, so attribution is settled
 * here and a flow to any other host is not inspected (counted in
 * http.flows_skipped).  A header block split across segments is inspected:
 * its Host is not known yet. */
static bool inspect_needed(egret_engine *e, flow *f, fext *x, const dec_pkt *p)
{
    if ((e->cfg.eve_types & EGRET_EV_HTTP) || e->evidence_dir) return true;
    if (!e->rules || !rules_wants_flow(e->rules, RH_HTTP_REQUEST, true, x->cli_internal))
        return false;
    if (x->has_ai || rules_wants_flow(e->rules, RH_HTTP_REQUEST, false, x->cli_internal))
        return true;
    if (x->attributed_done) return false;
    if (!memmem(p->payload, p->payload_len, "\r\n\r\n", 4)) return true;
    attribute_as(e, f, x, x->df ? dpi_host(x->df) : x->info.hostname, ATTR_NAME_HTTP_HOST);
    return x->has_ai;
}

static void inspect_pkt(egret_engine *e, flow *f, fext *x, const dec_pkt *p, int dir)
{
    if (!e->inspect || p->proto != 6) return;
    if (!x->insp_decided) {
        if (p->payload_len == 0) return;
        x->insp_decided = true;
        if (dir != FLOW_TOSERVER || !inspect_wants(p->payload, p->payload_len)) return;
        if (!inspect_needed(e, f, x, p)) {
            e->insp_skipped++;
            return;
        }
        x->insp = inspect_flow_new(e->inspect, f);
    }
    if (!x->insp) return;
    inspect_packet(e->inspect, x->insp, dir, p);
}

static void inspect_end(egret_engine *e, flow *f, fext *x)
{
    if (!x->insp) return;
    inspect_flow *i = x->insp;
    x->insp = NULL;
    inspect_flow_end(e->inspect, i);
}

/* ==== flow lifecycle ==== */

static void on_flow_end(flow *f, flow_end_reason why, void *ud)
{
    egret_engine *e = ud;
    fext *x = flow_ext(f);
    if (x->df) {
        dpi_giveup(e->dpi, x->df, &x->info);
        dpi_flow_free(x->df);
        x->df = NULL;
        e->dpi_giveups++;
    }
    inspect_end(e, f, x);
    attribute(e, f, x);
    dirty_remove(e, f, x);
    hooks_flow_end(e, f, x);
    if (x->cli_internal && !x->srv_internal) host_account(e, f);
    if (e->cfg.eve_types & EGRET_EV_FLOW) {
        eve_flow(e, f, x, why);
        emit(e, EGRET_EV_FLOW, f->first_ts, f->id, 0);
    }
    evidence_free(x->evid);
    x->evid = NULL;
}

static void flow_started(egret_engine *e, flow *f)
{
    fext *x = flow_ext(f);
    x->cli_internal = netset_lookup(e->home, f->ip_v, f->cli, NULL);
    x->srv_internal = netset_lookup(e->home, f->ip_v, f->srv, NULL);
    x->df = dpi_flow_new(e->dpi);
    snprintf(x->info.proto, sizeof(x->info.proto), "Unknown");
    snprintf(x->info.app_proto, sizeof(x->info.app_proto), "failed");
}

static void classify(egret_engine *e, flow *f, const dec_pkt *p, uint64_t ts)
{
    fext *x = flow_ext(f);
    if (!x->df) return;
    x->dpi_pkts++;
    uint32_t budget =
        e->cfg.dpi_max_packets ? e->cfg.dpi_max_packets : dpi_default_budget(f->proto);
    if (dpi_process(e->dpi, x->df, p->l3, p->l3_len, ts / 1000, budget, &x->info)) {
        dpi_flow_free(x->df);
        x->df = NULL;
        if (x->info.detected)
            e->dpi_classified++;
        else
            e->dpi_giveups++;
        attribute(e, f, x);
        if ((e->cfg.eve_types & EGRET_EV_TLS) &&
            (x->info.hostname[0] || x->info.ja3[0] || x->info.tls_version[0]) &&
            (strcmp(x->info.app_proto, "tls") == 0 || strcmp(x->info.app_proto, "quic") == 0)) {
            eve_tls(e, f, x, ts);
            emit(e, EGRET_EV_TLS, ts, f->id, 0);
        }
        hooks_classified(e, f, x);
    }
}

/* DNS over UDP: remember answers for attribution; emit dns records. */
static void dns_packet(egret_engine *e, flow *f, const dec_pkt *p, int dir, uint64_t ts)
{
    if (p->proto != 17 || (p->sport != 53 && p->dport != 53) || p->payload_len < 12) return;
    dns_msg m;
    if (dns_parse(p->payload, p->payload_len, &m) != 0) {
        e->dns_malformed++;
        return;
    }
    e->dns_parsed++;
    if (m.response && dir == FLOW_TOCLIENT && e->attr)
        attr_dns_answer(e->attr, f->ip_v, f->cli, &m, ts);
    if (e->cfg.eve_types & EGRET_EV_DNS) {
        eve_dns(e, f, flow_ext(f), &m, ts, dir == FLOW_TOSERVER);
        emit(e, EGRET_EV_DNS, ts, f->id, 0);
    }
    if (dir == FLOW_TOCLIENT) hooks_dns(e, f, flow_ext(f), &m);
}

/* ==== stats ==== */

static void maybe_stats(egret_engine *e)
{
    if (!(e->cfg.eve_types & EGRET_EV_STATS) || e->cfg.stats_interval_s == 0) return;
    if (e->next_stats == 0) {
        e->next_stats = e->now + (uint64_t)e->cfg.stats_interval_s * USEC;
        return;
    }
    if (e->now < e->next_stats) return;
    eve_stats(e);
    emit(e, EGRET_EV_STATS, e->now, 0, 0);
    while (e->next_stats <= e->now) e->next_stats += (uint64_t)e->cfg.stats_interval_s * USEC;
}

/* ==== public API ==== */

int egret_engine_new(const egret_config *cfg, egret_engine **out, char err[EGRET_ERRBUF_SIZE])
{
    if (out) *out = NULL;
    if (!cfg || !out) {
        errf(err, "egret_engine_new: NULL argument");
        return EGRET_EINVAL;
    }
    if (cfg->struct_size != sizeof(egret_config)) {
        errf(err, "egret_config size %u, library expects %zu: rebuild against this egret.h",
             cfg->struct_size, sizeof(egret_config));
        return EGRET_EVERSION;
    }
    egret_engine *e = calloc(1, sizeof(*e));
    if (!e) {
        errf(err, "out of memory");
        return EGRET_ENOMEM;
    }
    e->cfg = *cfg;
    if (e->cfg.max_flows == 0) e->cfg.max_flows = 1000000;
    e->home_net = dup_or_null(cfg->home_net ? cfg->home_net : DEFAULT_HOME_NET);
    e->ndpi_protos_file = dup_or_null(cfg->ndpi_protos_file);
    e->ndpi_categories_file = dup_or_null(cfg->ndpi_categories_file);
    e->cfg.home_net = e->home_net;
    e->cfg.ndpi_protos_file = e->ndpi_protos_file;
    e->cfg.ndpi_categories_file = e->ndpi_categories_file;
    e->data_dir = dup_or_null(cfg->data_dir ? cfg->data_dir : default_data_dir());
    e->geo_dir = dup_or_null(cfg->geo_dir ? cfg->geo_dir : default_geo_dir());
    e->geoip_db = dup_or_null(cfg->geoip_db);
    e->asn_db = dup_or_null(cfg->asn_db);
    e->cfg.data_dir = e->data_dir;
    e->cfg.geo_dir = e->geo_dir;
    e->cfg.geoip_db = e->geoip_db;
    e->cfg.asn_db = e->asn_db;
    if (cfg->n_ai_catalog_files) {
        e->ai_catalog_files = calloc(cfg->n_ai_catalog_files, sizeof(char *));
        for (size_t i = 0; e->ai_catalog_files && i < cfg->n_ai_catalog_files; i++)
            e->ai_catalog_files[i] = dup_or_null(cfg->ai_catalog_files[i]);
    }
    e->cfg.ai_catalog_files = (const char *const *)e->ai_catalog_files;
    if (cfg->n_rule_paths) {
        e->rule_paths = calloc(cfg->n_rule_paths, sizeof(char *));
        for (size_t i = 0; e->rule_paths && i < cfg->n_rule_paths; i++)
            e->rule_paths[i] = dup_or_null(cfg->rule_paths[i]);
        e->n_rule_paths = e->rule_paths ? cfg->n_rule_paths : 0;
    }
    if (cfg->n_rule_sets) {
        e->rule_sets = calloc(cfg->n_rule_sets, sizeof(char *));
        for (size_t i = 0; e->rule_sets && i < cfg->n_rule_sets; i++)
            e->rule_sets[i] = dup_or_null(cfg->rule_sets[i]);
        e->n_rule_sets = e->rule_sets ? cfg->n_rule_sets : 0;
    }
    if (cfg->rules_config_file) {
        e->rules_config_file = dup_or_null(cfg->rules_config_file);
    } else if (!cfg->n_rule_paths) {
        char conf[4096];
        snprintf(conf, sizeof(conf), "%s/egret.conf.lua", default_rules_dir());
        if (access(conf, R_OK) == 0) e->rules_config_file = dup_or_null(conf);
    }
    if (e->cfg.tick_interval_s == 0) e->cfg.tick_interval_s = 5;
    if (e->cfg.tick_bytes == 0) e->cfg.tick_bytes = 1u << 20;
    jw_init(&e->out);

    char msg[256] = "";
    int rc = EGRET_ENOMEM;
    e->home = netset_new();
    e->hosts_cap = ENGINE_HOSTS_MIN; /* doubles up to ENGINE_HOSTS_CAP (hosts_grow) */
    e->hosts = mem_zalloc(e->hosts_cap, sizeof(*e->hosts)); /* read first: see mem.h */
    if (!e->home || !e->home_net || !e->hosts) goto fail_oom;
    if (netset_add_list(e->home, e->home_net, 1, msg, sizeof(msg)) != 0) {
        errf(err, "--home-net: %s", msg);
        rc = EGRET_ECONFIG;
        goto fail;
    }
    e->attr = attr_new(e->data_dir, (const char *const *)e->ai_catalog_files,
                       e->cfg.n_ai_catalog_files, e->cfg.dns_cache_entries, msg, sizeof(msg));
    if (!e->attr) {
        errf(err, "AI catalog: %s", msg);
        rc = EGRET_ECONFIG;
        goto fail;
    }
    const char *protos[2];
    size_t np = 0;
    if (e->cfg.ai_to_ndpi) {
        if (write_ai_protos(e, err) != 0) {
            rc = EGRET_EIO;
            goto fail;
        }
        protos[np++] = e->ndpi_ai_protos;
    }
    if (e->ndpi_protos_file) protos[np++] = e->ndpi_protos_file;
    e->dpi = dpi_new_ex(protos, np, e->ndpi_categories_file, msg, sizeof(msg));
    if (e->ndpi_ai_protos[0]) {
        unlink(e->ndpi_ai_protos);
        e->ndpi_ai_protos[0] = '\0';
    }
    if (!e->dpi) {
        errf(err, "classifier: %s", msg);
        rc = EGRET_EDPI;
        goto fail;
    }
    flow_config fc = {
        .max_flows = e->cfg.max_flows,
        .ext_size = sizeof(fext),
        .manual_expiry = true,
        .on_end = on_flow_end,
        .ud = e,
    };
    fc.timeout_us[FLOW_TC_TCP] = (uint64_t)e->cfg.tcp_timeout_s * USEC;
    fc.timeout_us[FLOW_TC_TCP_CLOSED] = (uint64_t)e->cfg.tcp_closed_timeout_s * USEC;
    fc.timeout_us[FLOW_TC_UDP] = (uint64_t)e->cfg.udp_timeout_s * USEC;
    fc.timeout_us[FLOW_TC_OTHER] = (uint64_t)e->cfg.other_timeout_s * USEC;
    e->flows = flow_table_new(&fc);
    if (!e->flows) goto fail_oom;
    geo_setup(e);
    if (cfg->evidence_dir) {
        e->evidence_dir = dup_or_null(cfg->evidence_dir);
        e->cfg.evidence_dir = e->evidence_dir;
        struct stat st;
        const char *why = NULL;
        if (stat(e->evidence_dir, &st) != 0)
            why = mkdir(e->evidence_dir, 0750) != 0 ? "cannot create the directory" : NULL;
        else if (!S_ISDIR(st.st_mode))
            why = "exists and is not a directory";
        else if (access(e->evidence_dir, W_OK | X_OK) != 0)
            why = "directory is not writable";
        if (why) {
            errf(err, "--evidence %s: %s", e->evidence_dir, why);
            rc = EGRET_ECONFIG;
            goto fail;
        }
    }
    if (!e->cfg.no_inspect) {
        static const inspect_callbacks icb = {on_http_request, on_http_txn_done, on_http_evict};
        e->inspect = inspect_new((size_t)e->cfg.reasm_memcap, (size_t)e->cfg.inspect_depth,
                                 e->evidence_dir != NULL, &icb, e);
        if (!e->inspect) goto fail_oom;
    }
    if (!e->cfg.no_rules) {
        fill_rules_config(e);
        size_t nerr = 0;
        e->rules = load_rules(e, &nerr, msg, sizeof(msg));
        if (!e->rules) {
            errf(err, "rules: %s", msg);
            rc = EGRET_ERULES;
            goto fail;
        }
        if (nerr)
            logf_(e, 1, "%zu rule file(s) failed to load and are disabled; %zu rule(s) active",
                  nerr, rules_count(e->rules));
        else
            logf_(e, 2, "%zu rule(s) loaded", rules_count(e->rules));
    }
    *out = e;
    return EGRET_OK;

fail_oom:
    errf(err, "out of memory");
fail:
    egret_engine_free(e);
    return rc;
}

/* Idle flows end only when packet time crosses a whole second: a replay
 * through one engine and through N workers (which all get a time tick at
 * each second) then ends the same flows at the same points. */
/* Ticks the flows on the dirty list whose interval has passed (the list
 * holds only flows with traffic on_tick has not seen). */
static void sweep_ticks(egret_engine *e)
{
    flow *f = e->dirty_head;
    while (f) {
        fext *x = flow_ext(f);
        flow *next = x->dnext;
        hooks_tick(e, f, x, false);
        f = next;
    }
}

static void expire_to(egret_engine *e, uint64_t t)
{
    uint64_t sec = t / USEC;
    if (sec <= e->expire_sec) return;
    e->expire_sec = sec;
    e->ev_ts = sec * USEC;
    flow_expire(e->flows, e->ev_ts);
    /* Quiet flows with traffic not yet seen by on_tick get their tick here,
     * every tick interval of packet time (live: driven by the timer). */
    if (e->rules && sec % e->cfg.tick_interval_s == 0 && rules_wants(e->rules, RH_TICK))
        sweep_ticks(e);
}

int egret_engine_feed(egret_engine *e, uint64_t ts_usec, int linktype, uint32_t caplen,
                      uint32_t len, const uint8_t *bytes)
{
    if (!e || (!bytes && caplen)) return EGRET_EINVAL;
    expire_to(e, ts_usec);
    e->ev_ts = ts_usec;
    if (!e->seen_packet) {
        e->seen_packet = true;
        e->first_ts = ts_usec;
    }
    if (ts_usec > e->now) e->now = ts_usec;
    e->packets++;
    e->bytes += len;

    dec_pkt p;
    bool ok = dec_packet(&p, linktype, bytes, caplen);
    if (p.event != EV_NONE) {
        e->dec_events[p.event]++;
        if (!ok && p.event != EV_NOT_IP && p.event != EV_IPV4_FRAG && p.event != EV_IPV6_FRAG)
            e->invalid++;
    }
    if (ok) {
        int dir;
        bool created;
        flow *f = flow_packet(e->flows, &p, ts_usec, len, &dir, &created);
        if (f) {
            fext *fx = flow_ext(f);
            if (created) flow_started(e, f);
            if (e->evidence_dir) {
                if (created && e->evidence_bytes < EVIDENCE_CAP)
                    fx->evid = evidence_new();
                else if (created)
                    e->evidence_capped++;
                e->evidence_bytes +=
                    evidence_add_packet(fx->evid, ts_usec, linktype, bytes, caplen, len);
            }
            classify(e, f, &p, ts_usec);
            inspect_pkt(e, f, fx, &p, dir);
            dns_packet(e, f, &p, dir, ts_usec);
            hooks_tick(e, f, flow_ext(f), (p.tcp_flags & (TH_FIN | TH_RST)) != 0);
        }
    }
    maybe_stats(e);
    return EGRET_OK;
}

void egret_engine_advance(egret_engine *e, uint64_t ts_usec)
{
    if (!e) return;
    if (ts_usec > e->now) e->now = ts_usec;
    expire_to(e, ts_usec);
    maybe_stats(e);
}

void egret_engine_flush(egret_engine *e)
{
    if (!e) return;
    expire_to(e, e->now); /* as N workers do when their flush arrives */
    e->ev_ts = e->now;
    flow_flush(e->flows);
    if (e->cfg.eve_types & EGRET_EV_STATS) {
        eve_stats(e);
        emit(e, EGRET_EV_STATS, e->now, 0, 0);
    }
}

void egret_engine_set_capture_stats(egret_engine *e, uint64_t received, uint64_t dropped,
                                    uint64_t ifdropped)
{
    if (!e) return;
    e->kernel_packets = received;
    e->kernel_drops = dropped;
    e->kernel_ifdrops = ifdropped;
}

int egret_engine_file_event(egret_engine *e, int event)
{
    if (!e || event != EGRET_FILE_EV_RECORD_OVER_SNAPLEN) return EGRET_EINVAL;
    e->dec_events[EV_PCAP_OVER_SNAPLEN]++;
    return EGRET_OK;
}

void egret_engine_counters(const egret_engine *e, egret_counters *out)
{
    memset(out, 0, sizeof(*out));
    if (!e) return;
    flow_counters fc;
    flow_table_counters(e->flows, &fc);
    out->packets = e->packets;
    out->bytes = e->bytes;
    for (int i = 1; i < EV__COUNT; i++)
        if (i != EV_NOT_IP && i != EV_IPV4_FRAG && i != EV_IPV6_FRAG && i != EV_PCAP_OVER_SNAPLEN)
            out->decode_events += e->dec_events[i];
    out->fragments = e->dec_events[EV_IPV4_FRAG] + e->dec_events[EV_IPV6_FRAG];
    out->flows_total = fc.created;
    out->flows_active = fc.active;
    out->flows_evicted = fc.evicted;
    out->records = e->records;
}

static int host_cmp(const void *a, const void *b)
{
    const host_slot *x = *(const host_slot *const *)a, *y = *(const host_slot *const *)b;
    if (x->bytes_out != y->bytes_out) return x->bytes_out < y->bytes_out ? 1 : -1;
    if (x->ip_v != y->ip_v) return x->ip_v < y->ip_v ? -1 : 1;
    return memcmp(x->addr, y->addr, 16);
}

size_t egret_engine_top_hosts(const egret_engine *e, egret_host_stat *out, size_t n)
{
    if (!e || !e->hosts || n == 0 || e->hosts_used == 0) return 0;
    const host_slot **all = malloc(sizeof(*all) * e->hosts_used);
    if (!all) return 0;
    size_t m = 0;
    for (size_t i = 0; i < e->hosts_cap; i++)
        if (e->hosts[i].ip_v) all[m++] = &e->hosts[i];
    qsort(all, m, sizeof(*all), host_cmp);
    size_t k = m < n ? m : n;
    for (size_t i = 0; i < k; i++) {
        inet_ntop(all[i]->ip_v == 6 ? AF_INET6 : AF_INET, all[i]->addr, out[i].addr,
                  sizeof(out[i].addr));
        out[i].bytes_out = all[i]->bytes_out;
        out[i].flows_out = all[i]->flows_out;
    }
    free(all);
    return k;
}

int egret_engine_reload(egret_engine *e, char err[EGRET_ERRBUF_SIZE])
{
    if (!e) return EGRET_EINVAL;
    int rc = EGRET_OK;
    if (err) err[0] = '\0';
    if (e->rules) {
        /* Atomic: the new set replaces the old one only if every file loads. */
        char msg[512] = "";
        size_t nerr = 0;
        rules *nr = load_rules(e, &nerr, msg, sizeof(msg));
        if (!nr || nerr) {
            /* the first problem (file:line: message); all of them went to the log */
            if (nr)
                snprintf(msg, sizeof(msg), "%zu error(s); first: %s", nerr,
                         e->load_err[0] ? e->load_err : "(see log)");
            errf(err, "rules reload failed, keeping the old rules (%zu rule(s)): %s",
                 rules_count(e->rules), msg);
            rules_free(nr);
            rc = EGRET_ERULES;
        } else {
            rules_free(e->rules);
            e->rules = nr;
            e->rules_reloads++;
            logf_(e, 2, "rules reloaded: %zu rule(s)", rules_count(nr));
        }
    }
    if (e->cfg.no_geo) return rc;
    if (!e->geo) {
        geo_setup(e);
        return rc;
    }
    char msg[512];
    if (geo_reopen(e->geo, e->geo_city_path[0] ? e->geo_city_path : NULL,
                   e->geo_asn_path[0] ? e->geo_asn_path : NULL, msg, sizeof(msg)) != 0) {
        if (rc == EGRET_OK) errf(err, "GeoIP reload failed, keeping the old databases: %s", msg);
        return EGRET_EIO;
    }
    logf_(e, 2, "GeoIP databases reloaded");
    return rc;
}

/* A throwaway engine-less rules_config for --check-rules / test. */
static int rules_tool_config(const egret_config *cfg, rules_config *rc, const char **def,
                             char *conf, size_t conflen)
{
    memset(rc, 0, sizeof(*rc));
    if (cfg->n_rule_paths) {
        rc->paths = cfg->rule_paths;
        rc->n_paths = cfg->n_rule_paths;
    } else {
        def[0] = default_rules_dir();
        rc->paths = def;
        rc->n_paths = 1;
    }
    rc->config_file = cfg->rules_config_file;
    if (!rc->config_file && !cfg->n_rule_paths) {
        snprintf(conf, conflen, "%s/egret.conf.lua", default_rules_dir());
        if (access(conf, R_OK) == 0) rc->config_file = conf;
    }
    rc->sets = cfg->rule_sets;
    rc->n_sets = cfg->n_rule_sets;
    rc->mem_limit = (size_t)cfg->rules_mem_limit;
    rc->instr_limit = cfg->rules_instr_limit;
    rc->risk_name = risk_name_cb;
    return 0;
}

int egret_rules_check(const egret_config *cfg, FILE *report)
{
    if (!cfg) return 1;
    rules_config rc;
    const char *def[1];
    char conf[4096];
    rules_tool_config(cfg, &rc, def, conf, sizeof(conf));
    return rules_check(&rc, report ? report : stderr);
}

/* ==== the test kit's capture runner ==== */

typedef struct kit_host {
    const egret_config *cfg; /* the host's settings (rules fields ignored) */
    egret_replay_fn replay;
    void *ud;
} kit_host;

static void kit_log(int level, const char *msg, void *ud)
{
    const rules_config *rc = ud;
    if (rc->on_log) rc->on_log(rc->ud, level, msg);
}

/* rules_test_capture_fn: one engine per capture test, running the test's
 * rules (paths, config_text, sets; no config file) with the kit's alert
 * collector as the alert tap.  EVE output is off: the kit compares the
 * rule_view/rule_alert pairs, not JSON. */
static int kit_capture(void *ctx, const rules_test_capture *c, size_t *n_errors, char *err,
                       size_t errlen)
{
    kit_host *h = ctx;
    egret_config cfg = *h->cfg;
    cfg.no_rules = 1; /* loaded below with the test's config */
    cfg.eve_types = 0;
    cfg.on_event = NULL;
    cfg.on_log = kit_log;
    cfg.log_ud = (void *)c->rules;
    if (c->home_net) cfg.home_net = c->home_net;
    if (c->tick_interval_s) cfg.tick_interval_s = c->tick_interval_s;
    if (c->tick_bytes) cfg.tick_bytes = c->tick_bytes;
    if (c->no_geo) cfg.no_geo = 1;
    const char *cats[32];
    size_t nc = 0;
    for (size_t i = 0; i < h->cfg->n_ai_catalog_files && nc < 32; i++)
        cats[nc++] = h->cfg->ai_catalog_files[i];
    for (size_t i = 0; i < c->n_ai_catalog_files && nc < 32; i++)
        cats[nc++] = c->ai_catalog_files[i];
    cfg.ai_catalog_files = nc ? cats : NULL;
    cfg.n_ai_catalog_files = nc;

    egret_engine *e;
    char msg[EGRET_ERRBUF_SIZE] = "";
    if (egret_engine_new(&cfg, &e, msg) != EGRET_OK) {
        snprintf(err, errlen, "engine: %s", msg);
        return -1;
    }
    fill_rules_config(e);
    e->rcfg.paths = c->rules->paths;
    e->rcfg.n_paths = c->rules->n_paths;
    e->rcfg.config_file = NULL;
    e->rcfg.config_text = c->rules->config_text;
    e->rcfg.sets = c->rules->sets;
    e->rcfg.n_sets = c->rules->n_sets;
    e->rules = load_rules(e, n_errors, msg, sizeof(msg));
    if (!e->rules) {
        snprintf(err, errlen, "rules: %s", msg);
        egret_engine_free(e);
        return -1;
    }
    e->alert_tap = c->rules->on_alert;
    e->alert_tap_ud = c->rules->ud;
    msg[0] = '\0';
    int rc = h->replay(e, c->pcap, msg, sizeof(msg), h->ud);
    if (rc == 0) egret_engine_flush(e);
    egret_engine_free(e);
    if (rc != 0) {
        snprintf(err, errlen, "%s", msg[0] ? msg : egret_strerror(rc));
        return -1;
    }
    return 0;
}

int egret_rules_test(const egret_config *cfg, const char *path, FILE *out, egret_replay_fn replay,
                     void *replay_ud)
{
    egret_config dflt;
    if (!cfg) {
        egret_config_init(&dflt);
        cfg = &dflt;
    }
    if (!path) return 1;
    const char *rules_path = cfg->n_rule_paths ? cfg->rule_paths[0] : default_rules_dir();
    kit_host h = {cfg, replay, replay_ud};
    return rules_test_run(path, out ? out : stdout, rules_path, replay ? kit_capture : NULL, &h);
}

uint32_t egret_engine_shard(const egret_engine *e, int linktype, const uint8_t *bytes,
                            uint32_t caplen)
{
    return e ? shard_packet(e->home, linktype, bytes, caplen) : 0;
}

int egret_engine_shard_bpf(const egret_engine *e, uint32_t n, egret_bpf_insn *prog, size_t cap)
{
    return e ? shard_bpf(e->home, n, prog, cap) : -1;
}

void egret_engine_free(egret_engine *e)
{
    if (!e) return;
    /* Release flows without emitting records: free is not flush. */
    e->cfg.on_event = NULL;
    flow_table_free(e->flows);
    dpi_free(e->dpi);
    attr_free(e->attr);
    geo_free(e->geo);
    rules_free(e->rules);
    inspect_free(e->inspect);
    free(e->evidence_dir);
    for (size_t i = 0; i < e->n_rule_paths; i++) free(e->rule_paths[i]);
    free(e->rule_paths);
    for (size_t i = 0; i < e->n_rule_sets; i++) free(e->rule_sets[i]);
    free(e->rule_sets);
    free(e->rules_config_file);
    netset_free(e->home);
    jw_free(&e->out);
    free(e->hosts);
    free(e->home_net);
    free(e->ndpi_protos_file);
    free(e->ndpi_categories_file);
    free(e->data_dir);
    free(e->geo_dir);
    free(e->geoip_db);
    free(e->asn_db);
    for (size_t i = 0; e->ai_catalog_files && i < e->cfg.n_ai_catalog_files; i++)
        free(e->ai_catalog_files[i]);
    free(e->ai_catalog_files);
    free(e);
}
