/*
 * engine.c -- wires the pipeline: decode -> flow table -> classification
 * -> attribution -> inspection -> rules (hooks.c) -> output (eve.c), and
 * the engine's public API.  The one file that knows every module (like
 * Lua's linit.c).
 *
 * Owns the engine state (engine.h).  Everything runs on packet time: the
 * capture's timestamps drive timeouts and periodic stats, so a replay
 * gives the same bytes every time.
 */
#include "engine_state.h"
#include "evidence.h"
#include "hooks.h"
#include "http.h"
#include "ja3.h"
#include "config.h"
#include "mem.h"
#include "paths.h"
#include "shard.h"
#include "tlskeys.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_HOME_NET "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7"
#define USEC             1000000ull
#define EVIDENCE_CAP     (256ull << 20) /* bytes of packet copies kept for evidence */

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

/* Attributes an external, not yet AI-bound flow from an HTTP name the
 * client sent (a Host, a second Host, an absolute URI's authority); ""
 * does nothing.  Unlike attribute_as, it may be tried again with another
 * name. */
static void attribute_http_name(egret_engine *e, flow *f, fext *x, const char *name)
{
    if (!x->has_ai && !x->srv_internal && e->attr && name[0])
        x->has_ai = attr_flow(e->attr, f->ip_v, f->cli, f->srv, name, ATTR_NAME_HTTP_HOST, e->ev_ts,
                              &x->ai);
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

/* True when 'path' is inside directory 'dir'. */
static bool path_under(const char *path, const char *dir)
{
    size_t n = dir ? strlen(dir) : 0;
    return n && strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* Opens the GeoIP/ASN databases named in the config, or found in the
 * usual places, or the shipped test ones (geo_dir; "" = none), which it
 * says loudly.  A database named explicitly that cannot be opened is a
 * configuration error; otherwise failure is a warning and records carry
 * no geo. */
static int geo_setup(egret_engine *e, char *err)
{
    if (e->cfg.no_geo) return EGRET_OK;
    const char *city = e->geoip_db, *asn = e->asn_db;
    if (!city && !asn) {
        char c[512] = "", a[512] = "";
        geo_find_default(e->geo_dir && e->geo_dir[0] ? e->geo_dir : NULL, c, a, sizeof(c));
        snprintf(e->geo_city_path, sizeof(e->geo_city_path), "%s", c);
        snprintf(e->geo_asn_path, sizeof(e->geo_asn_path), "%s", a);
    } else {
        snprintf(e->geo_city_path, sizeof(e->geo_city_path), "%s", city ? city : "");
        snprintf(e->geo_asn_path, sizeof(e->geo_asn_path), "%s", asn ? asn : "");
    }
    if (!e->geo_city_path[0] && !e->geo_asn_path[0]) {
        engine_log(e, 1,
                   "warning: no GeoIP/ASN database found (looked in /usr/share/GeoIP, "
                   "/var/lib/GeoIP and %s); records carry no dest_geo",
                   e->geo_dir && e->geo_dir[0] ? e->geo_dir : "no test directory");
        return EGRET_OK;
    }
    e->geo = geo_new(0);
    if (!e->geo) return EGRET_OK;
    char msg[512];
    if (geo_open(e->geo, e->geo_city_path[0] ? e->geo_city_path : NULL,
                 e->geo_asn_path[0] ? e->geo_asn_path : NULL, msg, sizeof(msg)) != 0) {
        geo_free(e->geo);
        e->geo = NULL;
        if (city || asn) { /* named explicitly: the operator expects it to work */
            errf(err, "GeoIP: %s", msg);
            return EGRET_ECONFIG;
        }
        engine_log(e, 1, "GeoIP disabled: %s; records carry no dest_geo", msg);
        return EGRET_OK;
    }
    e->geo_test =
        path_under(e->geo_city_path, e->geo_dir) || path_under(e->geo_asn_path, e->geo_dir);
    static atomic_flag warned = ATOMIC_FLAG_INIT; /* once per process, not per worker */
    if (e->geo_test && !city && !asn && !atomic_flag_test_and_set(&warned))
        engine_log(e, 1,
                   "using the bundled TEST GeoIP/ASN databases (%s): their countries and ASNs "
                   "are made up for tests; install GeoLite2 databases (/usr/share/GeoIP) or "
                   "name them with --geoip-db/--asn-db",
                   e->geo_dir);
    engine_log(e, 2, "GeoIP: %s%s%s", e->geo_city_path, e->geo_asn_path[0] ? ", " : "",
               e->geo_asn_path);
    return EGRET_OK;
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

/* ==== clear-text HTTP inspection ==== */

/* A request is complete: HTTP Host attribution (if nothing better), the
 * evidence sample, then the on_http hook. */
static void on_http_request(void *ctx_ud, void *flow_ud, const inspect_req *r)
{
    egret_engine *e = ctx_ud;
    flow *f = flow_ud;
    fext *x = flow_ext(f);
    attribute_http_name(e, f, x, r->t->host);
    /* a second Host (or Host vs absolute URI): a server may route on it */
    attribute_http_name(e, f, x, r->t->host_alt);
    if (x->evid && r->sample[0]) evidence_set_sample(x->evid, r->sample);
    if (r->decrypted) x->decrypted = true;
    x->req_ts[r->t->id % 4] = x->req_start ? x->req_start : e->ev_ts;
    x->req_start = 0;
    hooks_http(e, f, x, r);
}

static void on_http_txn_done(void *ctx_ud, void *flow_ud, const inspect_req *r)
{
    egret_engine *e = ctx_ud;
    flow *f = flow_ud;
    if (!(e->cfg.eve_types & EGRET_EV_HTTP)) return;
    geo_result gb;
    const fext *x = flow_ext(f);
    /* the record's time is its request's first packet, as Suricata's */
    uint64_t ts = x->req_ts[r->t->id % 4] ? x->req_ts[r->t->id % 4] : e->ev_ts;
    eve_http(&e->out, f, x, engine_dest_geo(e, f, x, &gb), r, ts);
    e->c.http_records++;
    engine_emit(e, EGRET_EV_HTTP, ts, f->id, 0);
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
 * first segment, its Host is read here -- by egret's own reading of the
 * head (http_head_host: absolute URI, first Host, a second Host), not
 * nDPI's, so that a head the parser would attribute is never skipped --
 * and a flow to any other host is not inspected (counted in
 * http.flows_skipped).  A header block split across segments is inspected:
 * its Host is not known yet. */
static bool inspect_needed(egret_engine *e, flow *f, fext *x, const dec_pkt *p, int kind)
{
    if ((e->cfg.eve_types & EGRET_EV_HTTP) || e->evidence_dir) return true;
    if (!e->rules || !rules_wants_flow(e->rules, RH_HTTP_REQUEST, true, x->cli_internal))
        return false;
    if (x->has_ai || rules_wants_flow(e->rules, RH_HTTP_REQUEST, false, x->cli_internal))
        return true;
    /* TLS and HTTP/2: the name (SNI, :authority) is settled later;
     * decryption waits for keys the key log may not hold anyway */
    if (kind != INSPECT_HTTP) return !x->srv_internal;
    if (x->attributed_done) return false;
    char host[256], alt[256];
    if (!http_head_host(p->payload, p->payload_len, host, sizeof(host), alt, sizeof(alt)))
        return true;
    attribute_as(e, f, x, host, ATTR_NAME_HTTP_HOST);
    attribute_http_name(e, f, x, alt);
    return x->has_ai;
}

/* Server bytes that came before the client's first byte on a connection
 * whose handshake was seen: a server may speak first (an h2c server's
 * SETTINGS with prior knowledge, RFC 9113 3.4; a banner), and whether the
 * flow is inspected is read from the client's first bytes.  Held, bounded,
 * and given to the inspection once it starts, so the response stream has
 * no hole at its start.  Past the bounds (per flow, and flows holding
 * at once) they are let go
 * (stats.http.server_first_capped) and the response stream starts with a
 * gap; the decision still waits for the client, so a server that talks
 * first cannot keep a request from being inspected. */
#define EARLY_BYTES 4096
#define EARLY_SEGS  8
#define EARLY_FLOWS 4096 /* flows holding at once: ~17 MiB at most */
struct early_srv {
    uint32_t n, used;
    struct {
        uint32_t seq;
        uint16_t len;
        uint8_t flags;
    } seg[EARLY_SEGS];
    uint8_t data[EARLY_BYTES];
};

static void early_drop(egret_engine *e, fext *x)
{
    if (!x->early) return;
    free(x->early);
    x->early = NULL;
    e->early_held--;
}

/* Holds a server segment; false when it does not fit. */
static bool early_hold(egret_engine *e, fext *x, const dec_pkt *p)
{
    if (!x->early) {
        if (e->early_held >= EARLY_FLOWS || !(x->early = malloc(sizeof(*x->early)))) return false;
        e->early_held++;
        x->early->n = x->early->used = 0;
    }
    struct early_srv *h = x->early;
    if (h->n == EARLY_SEGS || p->payload_len > EARLY_BYTES - h->used) return false;
    h->seg[h->n].seq = p->seq;
    h->seg[h->n].len = (uint16_t)p->payload_len;
    h->seg[h->n].flags = p->tcp_flags;
    memcpy(h->data + h->used, p->payload, p->payload_len);
    h->used += p->payload_len;
    h->n++;
    return true;
}

/* The held server segments, to a flow now inspected. */
static void early_replay(egret_engine *e, fext *x, const dec_pkt *p)
{
    struct early_srv *h = x->early;
    dec_pkt q = *p;
    q.ack = 0;
    size_t off = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        q.seq = h->seg[i].seq;
        q.tcp_flags = h->seg[i].flags & (uint8_t)~TH_ACK; /* its ACK was no news */
        q.payload = h->data + off;
        q.payload_len = h->seg[i].len;
        off += h->seg[i].len;
        inspect_packet(e->inspect, x->insp, FLOW_TOCLIENT, &q);
    }
}

static void inspect_pkt(egret_engine *e, flow *f, fext *x, const dec_pkt *p, int dir)
{
    if (!e->inspect || p->proto != 6) return;
    if (!x->insp_decided) {
        if (p->payload_len == 0) return;
        if (dir == FLOW_TOCLIENT && f->dir[FLOW_TOSERVER].syn && f->dir[FLOW_TOCLIENT].syn) {
            /* the client's first bytes decide */
            if (!x->early_capped && !early_hold(e, x, p)) {
                x->early_capped = true;
                e->c.insp_early_capped++;
                early_drop(e, x);
            }
            return;
        }
        x->insp_decided = true;
        int kind = dir == FLOW_TOSERVER ? inspect_wants(e->inspect, p->payload, p->payload_len)
                                        : INSPECT_NONE;
        /* the first payload is not the stream's first bytes (reordered
         * segments): what the stream is shows once reassembly has them */
        const flow_dir *cd = &f->dir[FLOW_TOSERVER];
        if (kind == INSPECT_NONE && dir == FLOW_TOSERVER && cd->syn && p->seq != cd->seq_base)
            kind = INSPECT_ANY;
        if (kind == INSPECT_NONE) {
            early_drop(e, x);
            return;
        }
        if (!inspect_needed(e, f, x, p, kind)) {
            e->c.insp_skipped++;
            early_drop(e, x);
            return;
        }
        x->insp = inspect_flow_new(e->inspect, f, kind);
        for (int d = 0; x->insp && d < 2; d++)
            if (f->dir[d].syn) inspect_flow_seq_base(x->insp, d, f->dir[d].seq_base);
        if (x->insp && x->early) early_replay(e, x, p);
        early_drop(e, x);
    }
    if (!x->insp) return;
    if (dir == FLOW_TOSERVER && p->payload_len && !x->req_start) x->req_start = e->ev_ts;
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
        e->c.dpi_giveups++;
    }
    inspect_end(e, f, x);
    early_drop(e, x);
    attribute(e, f, x);
    geo_result gb;
    const geo_result *g = engine_dest_geo(e, f, x, &gb);
    hooks_flow_end(e, f, x, g);
    if (x->cli_internal && !x->srv_internal)
        hosts_account(&e->hosts, f->ip_v, f->cli, f->dir[FLOW_TOSERVER].bytes);
    if (e->cfg.eve_types & EGRET_EV_FLOW) {
        eve_flow(&e->out, f, x, g, why);
        engine_emit(e, EGRET_EV_FLOW, f->first_ts, f->id, 0);
    }
    evidence_free(x->evid);
    x->evid = NULL;
    free(x->ja3_str);
    x->ja3_str = NULL;
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

/* The JA3 string of the client's first payload, once per TCP flow, while
 * its tls record is still to come (one allocation per TLS flow). */
static void ja3_capture(egret_engine *e, flow *f, fext *x, const dec_pkt *p)
{
    if (x->ja3_tried || !x->df || !p->payload_len || !(e->cfg.eve_types & EGRET_EV_TLS)) return;
    x->ja3_tried = true;
    if (f->proto != 6 || p->payload[0] != 22) return;
    char s[JA3_STRING_MAX];
    size_t n = ja3_string(p->payload, p->payload_len, s);
    if (n) x->ja3_str = strdup(s);
}

static void classify(egret_engine *e, flow *f, const dec_pkt *p, uint64_t ts)
{
    fext *x = flow_ext(f);
    if (!x->df) return;
    x->dpi_pkts++;
    uint32_t budget =
        e->cfg.dpi_max_packets ? e->cfg.dpi_max_packets : dpi_default_budget(f->proto);
    if (dpi_process(e->dpi, x->df, p->l3, p->l3_len, ts / 1000, budget, &x->info)) {
        dpi_tls_server srv; /* read before the nDPI flow goes */
        bool has_srv = (e->cfg.eve_types & EGRET_EV_TLS) && dpi_tls_server_info(x->df, &srv);
        dpi_flow_free(x->df);
        x->df = NULL;
        if (x->info.detected)
            e->c.dpi_classified++;
        else
            e->c.dpi_giveups++;
        attribute(e, f, x);
        if ((e->cfg.eve_types & EGRET_EV_TLS) &&
            (x->info.hostname[0] || x->info.ja3[0] || x->info.tls_version[0] || has_srv) &&
            (strcmp(x->info.app_proto, "tls") == 0 || strcmp(x->info.app_proto, "quic") == 0)) {
            geo_result gb;
            eve_tls(&e->out, f, x, engine_dest_geo(e, f, x, &gb), has_srv ? &srv : NULL, ts);
            engine_emit(e, EGRET_EV_TLS, ts, f->id, 0);
        }
        free(x->ja3_str); /* only the tls record needs it */
        x->ja3_str = NULL;
        hooks_classified(e, f, x);
    }
}

/* DNS over UDP: remember answers for attribution; emit dns records. */
static void dns_packet(egret_engine *e, flow *f, const dec_pkt *p, int dir, uint64_t ts)
{
    if (p->proto != 17 || (p->sport != 53 && p->dport != 53) || p->payload_len < 12) return;
    dns_msg m;
    if (dns_parse(p->payload, p->payload_len, &m) != 0) {
        e->c.dns_malformed++;
        return;
    }
    e->c.dns_parsed++;
    fext *x = flow_ext(f);
    if (m.response && dir == FLOW_TOCLIENT && e->attr)
        attr_dns_answer(e->attr, f->ip_v, f->cli, &m, ts);
    if (e->cfg.eve_types & EGRET_EV_DNS) {
        eve_dns(&e->out, f, x, &m, p->payload, p->payload_len, ts, dir == FLOW_TOSERVER);
        engine_emit(e, EGRET_EV_DNS, ts, f->id, 0);
    }
    if (dir == FLOW_TOCLIENT) hooks_dns(e, f, x, &m);
    x->dns_tx++; /* each message is a transaction, as in Suricata's UDP parser */
}

/* ==== stats ==== */

void egret_engine_set_input(egret_engine *e, const char *pcap_filename, const char *in_iface)
{
    if (!e) return;
    snprintf(e->in_file, sizeof(e->in_file), "%s", pcap_filename ? pcap_filename : "");
    snprintf(e->in_iface, sizeof(e->in_iface), "%s", in_iface ? in_iface : "");
    e->out.pcap_filename = e->in_file[0] ? e->in_file : NULL;
    e->out.in_iface = e->in_iface[0] ? e->in_iface : NULL;
}

static uint64_t mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec;
}

/* A stats record from the engine's counters and its modules'. */
static void stats_record(egret_engine *e)
{
    eve_snapshot s;
    memset(&s, 0, sizeof(s));
    s.now_us = e->now;
    /* Suricata's uptime: wall-clock seconds since start, also when replaying */
    s.uptime_s = mono_s() - e->started_s;
    s.c = &e->c;
    s.dec_events = e->dec_events;
    flow_table_counters(e->flows, &s.flow);
    if (e->attr) {
        s.has_attr = true;
        attr_get_stats(e->attr, &s.attr);
    }
    if (e->inspect) {
        s.has_inspect = true;
        inspect_get_stats(e->inspect, &s.insp);
    }
    s.evidence = e->evidence_dir != NULL;
    if (e->geo) {
        s.has_geo = true;
        s.geo_test = e->geo_test;
        geo_info(e->geo, &s.geo_city, &s.geo_asn);
        geo_get_stats(e->geo, &s.geo);
    }
    s.rules = e->rules;
    if (e->cfg.tls_keylog) {
        s.has_keylog = true;
        egret_keylog_stats(e->cfg.tls_keylog, &s.keylog);
    }
    s.hosts_tracked = e->hosts.used;
    s.hosts_capped = e->hosts.capped;
    eve_stats(&e->out, &s);
    engine_emit(e, EGRET_EV_STATS, e->now, 0, 0);
}

static void maybe_stats(egret_engine *e)
{
    if (!(e->cfg.eve_types & EGRET_EV_STATS) || e->cfg.stats_interval_s == 0) return;
    if (e->next_stats == 0) {
        e->next_stats = e->now + (uint64_t)e->cfg.stats_interval_s * USEC;
        return;
    }
    if (e->now < e->next_stats) return;
    stats_record(e);
    while (e->next_stats <= e->now) e->next_stats += (uint64_t)e->cfg.stats_interval_s * USEC;
}

/* ==== public API ==== */

/* Copies list[0..n) (strings included); NULL when n is 0 or memory ran
 * out (the engine then runs as if the list were empty). */
static char **dup_list(const char *const *list, size_t n)
{
    if (!n || !list) return NULL;
    char **v = calloc(n, sizeof(*v));
    for (size_t i = 0; v && i < n; i++) v[i] = dup_or_null(list[i]);
    return v;
}

/* The engine's own copy of the configuration: every string it keeps is
 * duplicated, defaults filled in. */
static void copy_config(egret_engine *e, const egret_config *cfg)
{
    e->cfg = *cfg;
    if (e->cfg.max_flows == 0) e->cfg.max_flows = 1000000;
    e->home_net = dup_or_null(cfg->home_net ? cfg->home_net : DEFAULT_HOME_NET);
    e->ndpi_protos_file = dup_or_null(cfg->ndpi_protos_file);
    e->ndpi_categories_file = dup_or_null(cfg->ndpi_categories_file);
    e->cfg.home_net = e->home_net;
    e->cfg.ndpi_protos_file = e->ndpi_protos_file;
    e->cfg.ndpi_categories_file = e->ndpi_categories_file;
    e->data_dir = dup_or_null(cfg->data_dir ? cfg->data_dir : paths_data_dir());
    e->geo_dir = dup_or_null(cfg->geo_dir ? cfg->geo_dir : paths_geo_dir());
    e->geoip_db = dup_or_null(cfg->geoip_db);
    e->asn_db = dup_or_null(cfg->asn_db);
    e->cfg.data_dir = e->data_dir;
    e->cfg.geo_dir = e->geo_dir;
    e->cfg.geoip_db = e->geoip_db;
    e->cfg.asn_db = e->asn_db;
    e->ai_catalog_files = dup_list(cfg->ai_catalog_files, cfg->n_ai_catalog_files);
    e->cfg.ai_catalog_files = (const char *const *)e->ai_catalog_files;
    if (!e->ai_catalog_files) e->cfg.n_ai_catalog_files = 0;
    e->rule_paths = dup_list(cfg->rule_paths, cfg->n_rule_paths);
    e->n_rule_paths = e->rule_paths ? cfg->n_rule_paths : 0;
    e->rule_sets = dup_list(cfg->rule_sets, cfg->n_rule_sets);
    e->n_rule_sets = e->rule_sets ? cfg->n_rule_sets : 0;
    if (cfg->rules_config_file) {
        e->rules_config_file = dup_or_null(cfg->rules_config_file);
    } else if (!cfg->n_rule_paths) {
        char conf[4096];
        snprintf(conf, sizeof(conf), "%s/egret.conf.lua", paths_rules_dir());
        if (access(conf, R_OK) == 0) e->rules_config_file = dup_or_null(conf);
    }
    if (e->cfg.tick_interval_s == 0) e->cfg.tick_interval_s = 5;
    if (e->cfg.tick_bytes == 0) e->cfg.tick_bytes = 1u << 20;
}

/* The AI catalog and nDPI (fed the catalog as custom protocols). */
static int open_classifier(egret_engine *e, char *err)
{
    char msg[256] = "";
    e->attr = attr_new(e->data_dir, (const char *const *)e->ai_catalog_files,
                       e->cfg.n_ai_catalog_files, e->cfg.dns_cache_entries, msg, sizeof(msg));
    if (!e->attr) {
        errf(err, "AI catalog: %s", msg);
        return EGRET_ECONFIG;
    }
    const char *protos[2];
    size_t np = 0;
    if (e->cfg.ai_to_ndpi) {
        if (write_ai_protos(e, err) != 0) {
            return EGRET_EIO;
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
        return EGRET_EDPI;
    }
    return EGRET_OK;
}

/* --evidence DIR: made if missing; it must be a writable directory. */
static int open_evidence_dir(egret_engine *e, const char *dir, char *err)
{
    e->evidence_dir = dup_or_null(dir);
    e->cfg.evidence_dir = e->evidence_dir;
    struct stat st;
    const char *why = NULL;
    if (stat(e->evidence_dir, &st) != 0)
        why = mkdir(e->evidence_dir, 0750) != 0 ? "cannot create the directory" : NULL;
    else if (!S_ISDIR(st.st_mode))
        why = "exists and is not a directory";
    else if (access(e->evidence_dir, W_OK | X_OK) != 0)
        why = "directory is not writable";
    if (!why) return EGRET_OK;
    errf(err, "--evidence %s: %s", e->evidence_dir, why);
    return EGRET_ECONFIG;
}

/* The rule set named by the configuration; broken files are reported and
 * disabled, the others run. */
static int open_rules(egret_engine *e, char *err)
{
    char msg[256] = "";
    hooks_rules_config(e);
    size_t nerr = 0;
    e->rules = hooks_load_rules(e, &nerr, msg, sizeof(msg));
    if (!e->rules) {
        errf(err, "rules: %s", msg);
        return EGRET_ERULES;
    }
    if (rules_path_error(e->rules)) {
        errf(err, "rules: %s", rules_path_error(e->rules));
        return EGRET_ECONFIG;
    }
    if (rules_config_errors(e->rules)) {
        /* each one was logged as FILE:LINE; the first is the error */
        errf(err, "configuration: %s", e->load_err[0] ? e->load_err : "unknown keys");
        return EGRET_ECONFIG;
    }
    if (nerr)
        engine_log(e, 1, "%zu rule file(s) failed to load and are disabled; %zu rule(s) active",
                   nerr, rules_count(e->rules));
    else
        engine_log(e, 2, "%zu rule(s) loaded", rules_count(e->rules));
    return EGRET_OK;
}

int egret_engine_new(const egret_config *cfg, egret_engine **out, char err[EGRET_ERRBUF_SIZE])
{
    if (out) *out = NULL;
    if (!cfg || !out) {
        errf(err, "egret_engine_new: NULL argument");
        return EGRET_EINVAL;
    }
    /* A host built against an older egret.h passes a smaller struct:
     * the fields it does not have take their defaults. */
    egret_config full;
    if (config_normalize(cfg, &full) != 0) {
        errf(err, "egret_config size %u: this library takes %zu to %zu (egret 0.1 to %s)",
             cfg->struct_size, config_min_size(), sizeof(egret_config), egret_version());
        return EGRET_EVERSION;
    }
    cfg = &full;
    egret_engine *e = calloc(1, sizeof(*e));
    if (!e) {
        errf(err, "out of memory");
        return EGRET_ENOMEM;
    }
    copy_config(e, cfg);
    e->started_s = mono_s();
    eve_out_init(&e->out, e->cfg.community_id != 0, e->cfg.community_id_seed);

    char msg[256] = "";
    int rc = EGRET_ENOMEM;
    e->home = netset_new();
    if (!e->home || !e->home_net || hosts_init(&e->hosts) != 0) goto fail_oom;
    if (netset_add_list(e->home, e->home_net, 1, msg, sizeof(msg)) != 0) {
        errf(err, "--home-net: %s", msg);
        rc = EGRET_ECONFIG;
        goto fail;
    }
    rc = open_classifier(e, err);
    if (rc != EGRET_OK) goto fail;
    rc = EGRET_ENOMEM;
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
    if ((rc = geo_setup(e, err)) != EGRET_OK) goto fail;
    if (cfg->evidence_dir && (rc = open_evidence_dir(e, cfg->evidence_dir, err)) != EGRET_OK)
        goto fail;
    if (cfg->evidence_pcap && !cfg->evidence_dir) {
        errf(err, "--evidence-pcap needs --evidence DIR (the directory the pcap slices go to)");
        rc = EGRET_ECONFIG;
        goto fail;
    }
    rc = EGRET_ENOMEM;
    if (!e->cfg.no_inspect) {
        static const inspect_callbacks icb = {on_http_request, on_http_txn_done, on_http_evict};
        e->inspect =
            inspect_new((size_t)e->cfg.reasm_memcap, (size_t)e->cfg.inspect_depth,
                        e->evidence_dir != NULL, tlskeys_table(e->cfg.tls_keylog), &icb, e);
        if (!e->inspect) goto fail_oom;
    }
    if (!e->cfg.no_rules && (rc = open_rules(e, err)) != EGRET_OK) goto fail;
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
static void expire_to(egret_engine *e, uint64_t t)
{
    uint64_t sec = t / USEC;
    if (sec <= e->expire_sec) return;
    e->expire_sec = sec;
    e->ev_ts = sec * USEC;
    bool tick = e->rules && sec % e->cfg.tick_interval_s == 0;
    /* fleet-wide windows: once per tick interval entered (sparse traffic
     * may skip the tick's own second), before this second's flow ends */
    if (e->rules && sec / e->cfg.tick_interval_s != e->fleet_tick) {
        e->fleet_tick = sec / e->cfg.tick_interval_s;
        rules_fleet_sync(e->rules, e->ev_ts);
    }
    flow_expire(e->flows, e->ev_ts);
    /* Quiet flows with traffic not yet seen by on_tick get their tick here,
     * every tick interval of packet time (live: driven by the timer). */
    if (tick && rules_wants(e->rules, RH_TICK)) hooks_sweep_ticks(e);
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
    e->c.packets++;
    e->c.bytes += len;

    dec_pkt p;
    bool ok = dec_packet(&p, linktype, bytes, caplen);
    if (p.event != EV_NONE) {
        e->dec_events[p.event]++;
        if (!ok && p.event != EV_NOT_IP && p.event != EV_IPV4_FRAG && p.event != EV_IPV6_FRAG)
            e->c.invalid++;
    }
    if (ok) {
        int dir;
        bool created;
        flow *f = flow_packet(e->flows, &p, ts_usec, len, &dir, &created);
        if (f) {
            fext *fx = flow_ext(f);
            if (created) flow_started(e, f);
            if (e->evidence_dir) {
                if (created && e->c.evidence_bytes < EVIDENCE_CAP)
                    fx->evid = evidence_new();
                else if (created)
                    e->c.evidence_capped++;
                if (e->cfg.evidence_pcap) /* packets hold whole bodies: only when asked */
                    e->c.evidence_bytes +=
                        evidence_add_packet(fx->evid, ts_usec, linktype, bytes, caplen, len);
            }
            if (dir == FLOW_TOSERVER) ja3_capture(e, f, fx, &p);
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
    if (e->rules) rules_fleet_sync(e->rules, e->now); /* the fleet's sums before the last ends */
    rules_flush_begin(e->rules);
    flow_flush(e->flows);
    rules_flush_end(e->rules);
    if (e->rules) rules_fleet_sync(e->rules, e->now); /* and this sensor's last increments */
    if (e->cfg.eve_types & EGRET_EV_STATS) stats_record(e);
}

void egret_engine_set_capture_stats(egret_engine *e, uint64_t received, uint64_t dropped,
                                    uint64_t ifdropped)
{
    if (!e) return;
    e->c.kernel_packets = received;
    e->c.kernel_drops = dropped;
    e->c.kernel_ifdrops = ifdropped;
}

int egret_engine_file_event(egret_engine *e, int event)
{
    if (!e || event != EGRET_FILE_EV_RECORD_OVER_SNAPLEN) return EGRET_EINVAL;
    e->dec_events[EV_PCAP_OVER_SNAPLEN]++;
    return EGRET_OK;
}

void egret_engine_counters_sized(const egret_engine *e, egret_counters *out, size_t size)
{
    if (!out || size < sizeof(uint32_t)) return;
    egret_counters c;
    memset(&c, 0, sizeof(c));
    if (e) {
        flow_counters fc;
        flow_table_counters(e->flows, &fc);
        c.packets = e->c.packets;
        c.bytes = e->c.bytes;
        for (int i = 1; i < EV__COUNT; i++)
            if (i != EV_NOT_IP && i != EV_IPV4_FRAG && i != EV_IPV6_FRAG &&
                i != EV_PCAP_OVER_SNAPLEN)
                c.decode_events += e->dec_events[i];
        c.fragments = e->dec_events[EV_IPV4_FRAG] + e->dec_events[EV_IPV6_FRAG];
        c.flows_total = fc.created;
        c.flows_active = fc.active;
        c.flows_evicted = fc.evicted;
        c.records = e->c.records;
    }
    size_t n = size < sizeof(c) ? size : sizeof(c);
    c.struct_size = (uint32_t)n;
    memcpy(out, &c, n);
}

int egret_engine_geo_dbs(const egret_engine *e, const char **geoip_db, const char **asn_db)
{
    bool on = e && e->geo;
    if (geoip_db) *geoip_db = on && e->geo_city_path[0] ? e->geo_city_path : NULL;
    if (asn_db) *asn_db = on && e->geo_asn_path[0] ? e->geo_asn_path : NULL;
    return on && e->geo_test ? 1 : 0;
}

size_t egret_engine_top_hosts_sized(const egret_engine *e, egret_host_stat *out, size_t n,
                                    size_t size)
{
    if (!e || !out || n == 0 || size < sizeof(uint32_t)) return 0;
    const host_slot **top = malloc(n * sizeof(*top));
    if (!top) return 0;
    size_t k = hosts_top(&e->hosts, top, n),
           m = size < sizeof(egret_host_stat) ? size : sizeof(egret_host_stat);
    for (size_t i = 0; i < k; i++) {
        egret_host_stat h;
        memset(&h, 0, sizeof(h));
        h.struct_size = (uint32_t)m;
        inet_ntop(top[i]->ip_v == 6 ? AF_INET6 : AF_INET, top[i]->addr, h.addr, sizeof(h.addr));
        h.bytes_out = top[i]->bytes_out;
        h.flows_out = top[i]->flows_out;
        memcpy((char *)out + i * size, &h, m);
    }
    free(top);
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
        rules *nr = hooks_load_rules(e, &nerr, msg, sizeof(msg));
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
            e->c.rules_reloads++;
            engine_log(e, 2, "rules reloaded: %zu rule(s)", rules_count(nr));
        }
    }
    if (e->cfg.no_geo) return rc;
    if (!e->geo) {
        geo_setup(e, NULL);
        return rc;
    }
    char msg[512];
    if (geo_reopen(e->geo, e->geo_city_path[0] ? e->geo_city_path : NULL,
                   e->geo_asn_path[0] ? e->geo_asn_path : NULL, msg, sizeof(msg)) != 0) {
        if (rc == EGRET_OK) errf(err, "GeoIP reload failed, keeping the old databases: %s", msg);
        return EGRET_EIO;
    }
    engine_log(e, 2, "GeoIP databases reloaded");
    return rc;
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
    eve_out_free(&e->out);
    hosts_free(&e->hosts);
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
