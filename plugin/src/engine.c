/*
 * engine.c -- wires the pipeline: decode -> flow table -> classification
 * -> output.  The one file that knows every module (like Lua's linit.c).
 *
 * Owns the engine state (engine.h).  Everything runs on packet time: the
 * capture's timestamps drive timeouts and periodic stats, so a replay
 * gives the same bytes every time.
 */
#include "engine.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_HOME_NET "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7"
#define USEC             1000000ull

/* ==== config ==== */

void egret_config_init(egret_config *cfg)
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

static uint32_t host_hash(int ip_v, const uint8_t *a)
{
    uint32_t h = 2166136261u ^ (uint32_t)ip_v;
    for (int i = 0; i < (ip_v == 6 ? 16 : 4); i++) h = (h ^ a[i]) * 16777619u;
    return h;
}

static void host_account(egret_engine *e, const flow *f)
{
    if (!e->hosts) return;
    size_t alen = f->ip_v == 6 ? 16 : 4;
    uint32_t mask = ENGINE_HOSTS_CAP - 1;
    uint32_t i = host_hash(f->ip_v, f->cli) & mask;
    for (uint32_t probes = 0; probes < ENGINE_HOSTS_CAP; probes++, i = (i + 1) & mask) {
        host_slot *s = &e->hosts[i];
        if (s->ip_v == 0) {
            if (e->hosts_used >= ENGINE_HOSTS_CAP * 3 / 4) {
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
    if (x->cli_internal && !x->srv_internal) host_account(e, f);
    if (e->cfg.eve_types & EGRET_EV_FLOW) {
        eve_flow(e, f, x, why);
        emit(e, EGRET_EV_FLOW, f->first_ts, f->id, 0);
    }
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
    }
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
    jw_init(&e->out);

    char msg[256] = "";
    int rc = EGRET_ENOMEM;
    e->home = netset_new();
    e->hosts = calloc(ENGINE_HOSTS_CAP, sizeof(*e->hosts));
    if (!e->home || !e->home_net || !e->hosts) goto fail_oom;
    if (netset_add_list(e->home, e->home_net, 1, msg, sizeof(msg)) != 0) {
        errf(err, "--home-net: %s", msg);
        rc = EGRET_ECONFIG;
        goto fail;
    }
    e->dpi = dpi_new(e->ndpi_protos_file, e->ndpi_categories_file, msg, sizeof(msg));
    if (!e->dpi) {
        errf(err, "classifier: %s", msg);
        rc = EGRET_EDPI;
        goto fail;
    }
    flow_config fc = {
        .max_flows = e->cfg.max_flows,
        .ext_size = sizeof(fext),
        .on_end = on_flow_end,
        .ud = e,
    };
    fc.timeout_us[FLOW_TC_TCP] = (uint64_t)e->cfg.tcp_timeout_s * USEC;
    fc.timeout_us[FLOW_TC_TCP_CLOSED] = (uint64_t)e->cfg.tcp_closed_timeout_s * USEC;
    fc.timeout_us[FLOW_TC_UDP] = (uint64_t)e->cfg.udp_timeout_s * USEC;
    fc.timeout_us[FLOW_TC_OTHER] = (uint64_t)e->cfg.other_timeout_s * USEC;
    e->flows = flow_table_new(&fc);
    if (!e->flows) goto fail_oom;
    *out = e;
    return EGRET_OK;

fail_oom:
    errf(err, "out of memory");
fail:
    egret_engine_free(e);
    return rc;
}

int egret_engine_feed(egret_engine *e, uint64_t ts_usec, int linktype, uint32_t caplen,
                      uint32_t len, const uint8_t *bytes)
{
    if (!e || (!bytes && caplen)) return EGRET_EINVAL;
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
        flow *f = flow_packet(e->flows, &p, e->now, len, &dir, &created);
        if (f) {
            if (created) flow_started(e, f);
            classify(e, f, &p, ts_usec);
        }
    } else {
        flow_expire(e->flows, e->now);
    }
    maybe_stats(e);
    return EGRET_OK;
}

void egret_engine_advance(egret_engine *e, uint64_t ts_usec)
{
    if (!e) return;
    if (ts_usec > e->now) e->now = ts_usec;
    flow_expire(e->flows, e->now);
    maybe_stats(e);
}

void egret_engine_flush(egret_engine *e)
{
    if (!e) return;
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

void egret_engine_counters(const egret_engine *e, egret_counters *out)
{
    memset(out, 0, sizeof(*out));
    if (!e) return;
    flow_counters fc;
    flow_table_counters(e->flows, &fc);
    out->packets = e->packets;
    out->bytes = e->bytes;
    for (int i = 1; i < EV__COUNT; i++)
        if (i != EV_NOT_IP && i != EV_IPV4_FRAG && i != EV_IPV6_FRAG)
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
    for (size_t i = 0; i < ENGINE_HOSTS_CAP; i++)
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

void egret_engine_free(egret_engine *e)
{
    if (!e) return;
    /* Release flows without emitting records: free is not flush. */
    e->cfg.on_event = NULL;
    flow_table_free(e->flows);
    dpi_free(e->dpi);
    netset_free(e->home);
    jw_free(&e->out);
    free(e->hosts);
    free(e->home_net);
    free(e->ndpi_protos_file);
    free(e->ndpi_categories_file);
    free(e);
}
