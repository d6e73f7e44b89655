/*
 * report.c -- `egret report`: the HTML report (see report.h).
 *
 * Aggregates EVE records as they stream by into fixed tables: uploads to
 * AI providers per internal host on a timeline of RP_BUCKETS buckets whose
 * width doubles (neighbours merged) whenever a record falls past the end,
 * so months of EVE take the same memory as a minute; bytes by provider,
 * country and ASN; the first RP_ALERTS alerts with their 'why' and the
 * flows they link to; content summaries by shape.  What does not fit is
 * counted and the page says so.  The page has inline CSS and SVG only: a
 * Content-Security-Policy forbids every fetch and every script.
 */
#include "report.h"

#include "hbytes.h"
#include "jscan.h"
#include "tally.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define RP_BUCKETS  96
#define RP_HOSTS    64   /* hosts with their own timeline series */
#define RP_SERIES   6    /* series drawn (the biggest), the rest as "other" */
#define RP_KEYS     256  /* providers, countries, ASNs each */
#define RP_BARS     10   /* bars per chart */
#define RP_ALERTS   1000 /* alerts shown in the table */
#define RP_FLOWS    1000 /* alerted flows kept for the links */
#define RP_SHAPES   64
#define RP_WHY      480
#define RP_LINE_MAX (4u << 20) /* longer EVE lines are skipped, counted */

typedef struct rp_host {
    char addr[48];
    uint64_t up, flows, alerts;
    uint64_t series[RP_BUCKETS];
} rp_host;

typedef struct rp_key {
    char key[72];
    uint64_t bytes, flows;
} rp_key;

typedef struct rp_keys {
    rp_key v[RP_KEYS];
    size_t n;
    uint64_t over;
} rp_keys;

typedef struct rp_alert {
    uint64_t flow_id, sid;
    int sev;
    char ts[40], sig[112], src[72], dst[72], provider[40], country[8], why[RP_WHY];
} rp_alert;

typedef struct rp_flow {
    uint64_t id;
    bool seen;
    char start[40], end[40], app[24], host[72];
    uint64_t up, down, pkts;
} rp_flow;

typedef struct rp_shape {
    char shape[48];
    uint64_t requests, messages, bytes, lossy;
} rp_shape;

struct report {
    uint64_t records, skipped, flows, flows_out, flows_ai, up_ai, http_ai;
    uint64_t alerts, by_sev[4];
    bool geo_test;
    bool have_t0;
    int64_t t0, t_last;
    uint64_t width; /* seconds per bucket */
    rp_host hosts[RP_HOSTS];
    size_t n_hosts;
    rp_host other; /* hosts past the table */
    rp_keys providers, countries, asns;
    rp_alert alert[RP_ALERTS];
    size_t n_alert;
    rp_flow flow[RP_FLOWS];
    size_t n_flow;
    rp_shape shapes[RP_SHAPES];
    size_t n_shapes;
    uint64_t shapes_over;
};

report *report_new(void)
{
    report *rp = calloc(1, sizeof(*rp));
    if (rp) {
        rp->width = 1;
        snprintf(rp->other.addr, sizeof(rp->other.addr), "other hosts");
    }
    return rp;
}

/* Copies 's' into 'dst' cut to fit (a label, not data to keep whole). */
static void copy(char *dst, size_t size, const char *s)
{
    size_t n = strnlen(s, size - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

void report_free(report *rp)
{
    free(rp);
}

/* ==== Aggregation ===================================================== */

/* "2026-11-29T15:06:08.140387+0000" -> seconds since the epoch (UTC, as
 * egret writes it); -1 when unreadable. */
static int64_t parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static void merge_series(uint64_t *s)
{
    for (size_t i = 0; i < RP_BUCKETS / 2; i++) s[i] = s[2 * i] + s[2 * i + 1];
    memset(s + RP_BUCKETS / 2, 0, RP_BUCKETS / 2 * sizeof(*s));
}

/* Adds 'bytes' at time 't' to the host's series; widens the buckets
 * until 't' fits.  A record older than the first one seen goes to the
 * first bucket (flow records come at their flow's end, roughly ordered). */
static void timeline_add(report *rp, rp_host *h, int64_t t, uint64_t bytes)
{
    if (t < 0) return;
    if (!rp->have_t0) {
        rp->have_t0 = true;
        rp->t0 = t;
    }
    if (t < rp->t0) t = rp->t0;
    while ((uint64_t)(t - rp->t0) >= RP_BUCKETS * rp->width) {
        for (size_t i = 0; i < rp->n_hosts; i++) merge_series(rp->hosts[i].series);
        merge_series(rp->other.series);
        rp->width *= 2;
    }
    if (t > rp->t_last) rp->t_last = t;
    h->series[(uint64_t)(t - rp->t0) / rp->width] += bytes;
}

static rp_host *host_of(report *rp, const char *addr)
{
    for (size_t i = 0; i < rp->n_hosts; i++)
        if (strcmp(rp->hosts[i].addr, addr) == 0) return &rp->hosts[i];
    if (rp->n_hosts == RP_HOSTS) return &rp->other;
    rp_host *h = &rp->hosts[rp->n_hosts++];
    copy(h->addr, sizeof(h->addr), addr);
    return h;
}

static void key_add(rp_keys *k, const char *key, uint64_t bytes)
{
    for (size_t i = 0; i < k->n; i++) {
        if (strcmp(k->v[i].key, key) == 0) {
            k->v[i].bytes += bytes;
            k->v[i].flows++;
            return;
        }
    }
    if (k->n == RP_KEYS) {
        k->over++;
        return;
    }
    copy(k->v[k->n].key, sizeof(k->v[k->n].key), key);
    k->v[k->n].bytes = bytes;
    k->v[k->n].flows = 1;
    k->n++;
}

/* why's scalars as "k=v" pairs, numbers first (as the alert log). */
static void why_text(js_val why, char *out, size_t size)
{
    size_t o = 0;
    char k[64], v[96];
    js_val m;
    out[0] = '\0';
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; js_member(why, i, k, sizeof(k), &m); i++) {
            bool num = m.type == JS_NUMBER;
            if (pass == 0 ? !num : (num || m.type == JS_OBJECT || m.type == JS_ARRAY)) continue;
            js_str(m, v, 64);
            int n = snprintf(out + o, size - o, "%s%s=%s", o ? " " : "", k, v);
            if (n < 0 || (size_t)n >= size - o) return;
            o += (size_t)n;
        }
    }
}

static void add_alert(report *rp, js_val r)
{
    js_val a = js_get(r, "alert");
    int sev = (int)js_u64(js_get(a, "severity"));
    char src[48];
    rp->alerts++;
    rp->by_sev[sev >= 1 && sev <= 3 ? sev : 0]++;
    js_str(js_get(r, "src_ip"), src, sizeof(src));
    if (tally_outbound(r)) host_of(rp, src)->alerts++;
    if (rp->n_alert == RP_ALERTS) return;
    rp_alert *x = &rp->alert[rp->n_alert++];
    x->flow_id = js_u64(js_get(r, "flow_id"));
    x->sid = js_u64(js_get(a, "signature_id"));
    x->sev = sev;
    js_str(js_get(r, "timestamp"), x->ts, sizeof(x->ts));
    js_str(js_get(a, "signature"), x->sig, sizeof(x->sig));
    char ip[48], port[8]; /* an address and a port fit x->src / x->dst (64) */
    snprintf(x->src, sizeof(x->src), "%s:%s", src, js_str(js_get(r, "src_port"), port, 8));
    js_str(js_get(r, "dest_ip"), ip, sizeof(ip));
    snprintf(x->dst, sizeof(x->dst), "%s:%s", ip, js_str(js_get(r, "dest_port"), port, 8));
    js_str(js_get(r, "ai.provider"), x->provider, sizeof(x->provider));
    js_str(js_get(r, "dest_geo.country_iso"), x->country, sizeof(x->country));
    why_text(js_get(a, "why"), x->why, sizeof(x->why));
    /* keep the flow's place for its record, which comes at its end */
    if (x->flow_id && rp->n_flow < RP_FLOWS) {
        for (size_t i = 0; i < rp->n_flow; i++)
            if (rp->flow[i].id == x->flow_id) return;
        rp->flow[rp->n_flow++].id = x->flow_id;
    }
}

static void add_flow(report *rp, js_val r)
{
    char src[48], prov[40], cc[8], asn[24], org[48], key[72];
    rp->flows++;
    uint64_t id = js_u64(js_get(r, "flow_id"));
    uint64_t up = js_u64(js_get(r, "flow.bytes_toserver"));
    for (size_t i = 0; i < rp->n_flow; i++) {
        rp_flow *f = &rp->flow[i];
        if (f->id != id || f->seen) continue;
        f->seen = true;
        js_str(js_get(r, "flow.start"), f->start, sizeof(f->start));
        js_str(js_get(r, "flow.end"), f->end, sizeof(f->end));
        js_str(js_get(r, "app_proto"), f->app, sizeof(f->app));
        js_str(js_get(r, "ai.host"), f->host, sizeof(f->host));
        f->up = up;
        f->down = js_u64(js_get(r, "flow.bytes_toclient"));
        f->pkts = js_u64(js_get(r, "flow.pkts_toserver")) + js_u64(js_get(r, "flow.pkts_toclient"));
    }
    if (!tally_outbound(r)) return;
    rp->flows_out++;
    if (js_get(r, "ai.provider").type != JS_STRING) return;
    rp->flows_ai++;
    rp->up_ai += up;
    js_str(js_get(r, "ai.provider"), prov, sizeof(prov));
    js_str(js_get(r, "src_ip"), src, sizeof(src));
    rp_host *h = host_of(rp, src);
    h->up += up;
    h->flows++;
    char ts[40];
    js_val start = js_get(r, "flow.start");
    js_str(start.type == JS_STRING ? start : js_get(r, "timestamp"), ts, sizeof(ts));
    timeline_add(rp, h, parse_time(ts), up);
    key_add(&rp->providers, prov, up);
    js_str(js_get(r, "dest_geo.country_iso"), cc, sizeof(cc));
    js_str(js_get(r, "dest_geo.country"), org, sizeof(org));
    copy(key, sizeof(key), cc[0] ? cc : "--");
    strcat(key, " ");
    strncat(key, cc[0] ? org : "(no GeoIP)", sizeof(key) - strlen(key) - 1);
    key_add(&rp->countries, key, up);
    js_str(js_get(r, "dest_geo.asn"), asn, sizeof(asn));
    js_str(js_get(r, "dest_geo.as_org"), org, sizeof(org));
    strcpy(key, "AS");
    strncat(key, asn[0] ? asn : "?", sizeof(key) - strlen(key) - 1);
    strncat(key, " ", sizeof(key) - strlen(key) - 1);
    strncat(key, org, sizeof(key) - strlen(key) - 1);
    key_add(&rp->asns, key, up);
}

static void add_http(report *rp, js_val r)
{
    js_val c = js_get(r, "content");
    if (js_get(r, "ai.provider").type == JS_STRING) rp->http_ai++;
    if (c.type != JS_OBJECT) return;
    char shape[48];
    js_str(js_get(c, "shape"), shape, sizeof(shape));
    rp_shape *x = NULL;
    for (size_t i = 0; i < rp->n_shapes && !x; i++)
        if (strcmp(rp->shapes[i].shape, shape) == 0) x = &rp->shapes[i];
    if (!x && rp->n_shapes < RP_SHAPES) {
        x = &rp->shapes[rp->n_shapes++];
        copy(x->shape, sizeof(x->shape), shape);
    }
    if (!x) {
        rp->shapes_over++;
        return;
    }
    x->requests++;
    x->messages += js_u64(js_get(c, "messages")) + js_u64(js_get(c, "embedded_messages"));
    x->bytes += js_u64(js_get(c, "bytes"));
    if (js_get(c, "lossy").type == JS_TRUE) x->lossy++;
}

void report_add(report *rp, const char *json, size_t len)
{
    js_val r = js_root(json, len);
    char type[16];
    if (r.type != JS_OBJECT) {
        rp->skipped++;
        return;
    }
    rp->records++;
    js_str(js_get(r, "event_type"), type, sizeof(type));
    if (strcmp(type, "alert") == 0)
        add_alert(rp, r);
    else if (strcmp(type, "flow") == 0)
        add_flow(rp, r);
    else if (strcmp(type, "http") == 0)
        add_http(rp, r);
    else if (strcmp(type, "stats") == 0 && js_get(r, "stats.geo.test_databases").type == JS_TRUE)
        rp->geo_test = true;
}

/* ==== HTML ============================================================ */

static void esc(FILE *fp, const char *s)
{
    static const char *const ENT[] = {
        ['<'] = "&lt;", ['>'] = "&gt;", ['&'] = "&amp;", ['"'] = "&quot;", ['\''] = "&#39;"};
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < sizeof(ENT) / sizeof(ENT[0]) && ENT[c])
            fputs(ENT[c], fp);
        else
            fputc(c, fp);
    }
}

static const char *utc(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

static const char *const COLORS[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                     "#9467bd", "#8c564b", "#7f7f7f"};

/* The indices of the 'n' biggest of 'v' by 'key' (a selection: n is small). */
static size_t top_keys(const rp_keys *k, size_t *idx, size_t n)
{
    bool used[RP_KEYS] = {false};
    size_t m = 0;
    for (; m < n && m < k->n; m++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < k->n; i++)
            if (!used[i] && (best == SIZE_MAX || k->v[i].bytes > k->v[best].bytes)) best = i;
        used[best] = true;
        idx[m] = best;
    }
    return m;
}

/* A horizontal bar chart of the biggest keys. */
static void bar_chart(FILE *fp, const char *id, const char *title, const rp_keys *k)
{
    size_t idx[RP_BARS];
    size_t n = top_keys(k, idx, RP_BARS);
    char hb[32];
    fprintf(fp, "<figure class=\"chart\"><figcaption>%s</figcaption>\n", title);
    if (n == 0) {
        fprintf(fp, "<p class=\"none\">none</p></figure>\n");
        return;
    }
    uint64_t max = k->v[idx[0]].bytes ? k->v[idx[0]].bytes : 1;
    int h = 24 * (int)n + 10;
    fprintf(fp,
            "<svg id=\"%s\" class=\"bars\" role=\"img\" width=\"440\" height=\"%d\" "
            "viewBox=\"0 0 440 %d\" xmlns=\"http://www.w3.org/2000/svg\">\n",
            id, h, h);
    for (size_t i = 0; i < n; i++) {
        const rp_key *x = &k->v[idx[i]];
        double w = 200.0 * (double)x->bytes / (double)max;
        int y = 5 + 24 * (int)i;
        fprintf(fp, "<text x=\"150\" y=\"%d\" text-anchor=\"end\">", y + 15);
        esc(fp, x->key);
        fprintf(fp,
                "</text><rect class=\"bar\" x=\"156\" y=\"%d\" width=\"%.1f\" height=\"18\" "
                "fill=\"%s\"/><text x=\"%.1f\" y=\"%d\">%s</text>\n",
                y, w < 1 ? 1.0 : w, COLORS[0], 160 + w, y + 15,
                human_bytes(x->bytes, hb, sizeof(hb)));
    }
    fprintf(fp, "</svg>");
    if (k->over)
        fprintf(fp, "<p class=\"note\">%" PRIu64 " flows of further keys not drawn</p>", k->over);
    fprintf(fp, "</figure>\n");
}

/* Uploads to AI providers over time: one line per big host, the rest
 * summed as "other hosts". */
static void timeline_chart(FILE *fp, const report *rp)
{
    const int W = 900, H = 260, L = 70, B = 30, T = 10;
    const int PW = W - L - 10, PH = H - B - T;
    char hb[32], t1[32], t2[32];
    fprintf(fp,
            "<figure class=\"chart wide\"><figcaption>Uploads to AI providers per internal "
            "host over time (bytes to the server, per bucket of the flow's start)</figcaption>\n");
    if (!rp->have_t0) {
        fprintf(fp, "<p class=\"none\">no uploads to AI providers</p></figure>\n");
        return;
    }
    /* the biggest hosts by upload get their own line */
    const rp_host *shown[RP_SERIES + 1];
    bool used[RP_HOSTS] = {false};
    size_t ns = 0;
    static uint64_t rest[RP_BUCKETS];
    memcpy(rest, rp->other.series, sizeof(rest));
    for (; ns < RP_SERIES; ns++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < rp->n_hosts; i++)
            if (!used[i] && rp->hosts[i].up > 0 &&
                (best == SIZE_MAX || rp->hosts[i].up > rp->hosts[best].up))
                best = i;
        if (best == SIZE_MAX) break;
        used[best] = true;
        shown[ns] = &rp->hosts[best];
    }
    bool any_rest = false;
    for (size_t i = 0; i < rp->n_hosts; i++)
        if (!used[i])
            for (size_t b = 0; b < RP_BUCKETS; b++) rest[b] += rp->hosts[i].series[b];
    for (size_t b = 0; b < RP_BUCKETS; b++) any_rest |= rest[b] != 0;
    size_t nb = (size_t)((rp->t_last - rp->t0) / (int64_t)rp->width) + 1; /* buckets in use */
    if (nb < 2) nb = 2;
    uint64_t max = 1;
    for (size_t s = 0; s < ns; s++)
        for (size_t b = 0; b < nb; b++)
            if (shown[s]->series[b] > max) max = shown[s]->series[b];
    for (size_t b = 0; b < nb; b++)
        if (rest[b] > max) max = rest[b];

    fprintf(fp,
            "<svg id=\"chart-timeline\" class=\"timeline\" role=\"img\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">\n",
            W, H + 24 + 16 * (int)(ns + 1), W, H + 24 + 16 * (int)(ns + 1));
    fprintf(fp,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>"
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n",
            L, T, L, T + PH, L, T + PH, L + PW, T + PH);
    fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", L - 4, T + 10,
            human_bytes(max, hb, sizeof(hb)));
    fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", L - 4, T + PH);
    fprintf(fp,
            "<text x=\"%d\" y=\"%d\">%s</text><text x=\"%d\" y=\"%d\" "
            "text-anchor=\"end\">%s UTC</text>\n",
            L, T + PH + 18, utc(rp->t0, t1, sizeof(t1)), L + PW, T + PH + 18,
            utc(rp->t0 + (int64_t)(nb * rp->width), t2, sizeof(t2)));
    for (size_t s = 0; s <= ns; s++) {
        const uint64_t *v = s < ns ? shown[s]->series : rest;
        if (s == ns && !any_rest) break;
        fprintf(
            fp,
            "<polyline class=\"series\" fill=\"none\" stroke-width=\"2\" stroke=\"%s\" points=\"",
            COLORS[s]);
        for (size_t b = 0; b < nb; b++)
            fprintf(fp, "%s%.1f,%.1f", b ? " " : "", L + (double)PW * (double)b / (double)(nb - 1),
                    T + PH - (double)PH * (double)v[b] / (double)max);
        fprintf(fp, "\"/>\n");
        /* a dot on every bucket with uploads: a short burst stays visible */
        for (size_t b = 0; b < nb; b++)
            if (v[b])
                fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>",
                        L + (double)PW * (double)b / (double)(nb - 1),
                        T + PH - (double)PH * (double)v[b] / (double)max, COLORS[s]);
        int ly = H + 18 + 16 * (int)s;
        fprintf(fp,
                "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"4\" fill=\"%s\"/><text x=\"%d\" "
                "y=\"%d\">",
                L, ly - 4, COLORS[s], L + 18, ly);
        esc(fp, s < ns ? shown[s]->addr : "other hosts");
        if (s < ns)
            fprintf(fp, " (%s in %" PRIu64 " flows)", human_bytes(shown[s]->up, hb, sizeof(hb)),
                    shown[s]->flows);
        fprintf(fp, "</text>\n");
    }
    fprintf(fp, "</svg><p class=\"note\">%" PRIu64 " s per bucket</p></figure>\n", rp->width);
}

static void overview(FILE *fp, const report *rp)
{
    char hb[32];
    size_t up_hosts = 0;
    for (size_t i = 0; i < rp->n_hosts; i++) up_hosts += rp->hosts[i].up > 0;
    fprintf(fp, "<section id=\"overview\"><h2>Overview</h2><div class=\"cards\">\n");
#define CARD(v, label) fprintf(fp, "<div class=\"card\"><b>%s</b><span>%s</span></div>\n", v, label)
    char b[8][40];
    snprintf(b[0], 40, "%" PRIu64, rp->flows);
    snprintf(b[1], 40, "%" PRIu64, rp->flows_out);
    snprintf(b[2], 40, "%zu%s", up_hosts, rp->other.up ? "+" : "");
    snprintf(b[3], 40, "%zu", rp->providers.n);
    snprintf(b[4], 40, "%" PRIu64, rp->flows_ai);
    snprintf(b[5], 40, "%" PRIu64, rp->alerts);
    snprintf(b[6], 40, "%" PRIu64 " / %" PRIu64 " / %" PRIu64, rp->by_sev[1], rp->by_sev[2],
             rp->by_sev[3]);
    CARD(b[0], "flows");
    CARD(b[1], "outbound flows");
    CARD(b[2], "internal hosts uploading to AI");
    CARD(b[3], "AI providers");
    CARD(b[4], "flows to AI providers");
    CARD(human_bytes(rp->up_ai, hb, sizeof(hb)), "uploaded to AI providers");
    CARD(b[5], "alerts");
    CARD(b[6], "alerts high / medium / low");
#undef CARD
    fprintf(fp, "</div>\n");
    if (rp->skipped)
        fprintf(fp,
                "<p class=\"note\">%" PRIu64
                " input lines were not JSON records and were skipped.</p>\n",
                rp->skipped);
    fprintf(fp, "</section>\n");
}

static void alert_table(FILE *fp, const report *rp)
{
    static const char *const sev[] = {"?", "high", "medium", "low"};
    fprintf(fp, "<section id=\"alerts-section\"><h2>Alerts</h2>\n");
    if (!rp->n_alert) {
        fprintf(fp, "<p class=\"none\">no alerts</p></section>\n");
        return;
    }
    fprintf(fp, "<table id=\"alerts\"><thead><tr><th>time</th><th>severity</th><th>sid</th>"
                "<th>signature</th><th>source</th><th>destination</th><th>provider</th>"
                "<th>country</th><th>why</th><th>flow</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < rp->n_alert; i++) {
        const rp_alert *a = &rp->alert[i];
        fprintf(fp, "<tr id=\"alert-%zu\" class=\"sev%d\"><td class=\"ts\">", i + 1, a->sev);
        char ts[24]; /* "2026-11-29 15:05:54": the UTC second is enough to read */
        copy(ts, 20, a->ts);
        if (ts[10] == 'T') ts[10] = ' ';
        esc(fp, ts);
        fprintf(fp, "</td><td>%s</td><td>%" PRIu64 "</td><td>",
                sev[a->sev >= 1 && a->sev <= 3 ? a->sev : 0], a->sid);
        esc(fp, a->sig);
        fprintf(fp, "</td><td>");
        esc(fp, a->src);
        fprintf(fp, "</td><td>");
        esc(fp, a->dst);
        fprintf(fp, "</td><td>");
        esc(fp, a->provider[0] ? a->provider : "-");
        fprintf(fp, "</td><td>");
        esc(fp, a->country[0] ? a->country : "-");
        fprintf(fp, "</td><td class=\"why\">");
        esc(fp, a->why);
        if (a->flow_id)
            fprintf(fp, "</td><td><a href=\"#flow-%" PRIu64 "\">%" PRIu64 "</a></td></tr>\n",
                    a->flow_id, a->flow_id);
        else
            fprintf(fp, "</td><td>-</td></tr>\n");
    }
    fprintf(fp, "</tbody></table>\n");
    if (rp->alerts > rp->n_alert)
        fprintf(fp,
                "<p class=\"note\">%" PRIu64 " further alerts not listed (the first %d are)</p>\n",
                rp->alerts - rp->n_alert, RP_ALERTS);
    fprintf(fp, "<h3>Alerted flows</h3><table id=\"flows\"><thead><tr><th>flow</th><th>start</th>"
                "<th>end</th><th>app</th><th>AI host</th><th>up</th><th>down</th><th>packets</th>"
                "</tr></thead><tbody>\n");
    for (size_t i = 0; i < rp->n_flow; i++) {
        const rp_flow *f = &rp->flow[i];
        char h1[32], h2[32];
        fprintf(fp, "<tr id=\"flow-%" PRIu64 "\"><td>%" PRIu64 "</td>", f->id, f->id);
        if (!f->seen) {
            fprintf(fp, "<td colspan=\"7\">(its flow record is not in the input)</td></tr>\n");
            continue;
        }
        fprintf(fp, "<td>");
        esc(fp, f->start);
        fprintf(fp, "</td><td>");
        esc(fp, f->end);
        fprintf(fp, "</td><td>");
        esc(fp, f->app);
        fprintf(fp, "</td><td>");
        esc(fp, f->host[0] ? f->host : "-");
        fprintf(fp, "</td><td>%s</td><td>%s</td><td>%" PRIu64 "</td></tr>\n",
                human_bytes(f->up, h1, sizeof(h1)), human_bytes(f->down, h2, sizeof(h2)), f->pkts);
    }
    fprintf(fp, "</tbody></table></section>\n");
}

static void content_table(FILE *fp, const report *rp)
{
    char hb[32];
    fprintf(fp, "<section id=\"content-section\"><h2>Content inspected</h2>\n");
    if (!rp->n_shapes) {
        fprintf(fp, "<p class=\"none\">no inspected request bodies (clear-text or decrypted HTTP; "
                    "EVE http records)</p></section>\n");
        return;
    }
    fprintf(fp, "<table id=\"content\"><thead><tr><th>shape</th><th>requests</th><th>messages</th>"
                "<th>bytes</th><th>with capture gaps</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < rp->n_shapes; i++) {
        const rp_shape *x = &rp->shapes[i];
        fprintf(fp, "<tr><td>");
        esc(fp, x->shape[0] ? x->shape : "(unknown)");
        fprintf(fp,
                "</td><td>%" PRIu64 "</td><td>%s%" PRIu64 "</td><td>%s</td><td>%" PRIu64
                "</td></tr>\n",
                x->requests, x->lossy ? "&ge;" : "", x->messages,
                human_bytes(x->bytes, hb, sizeof(hb)), x->lossy);
    }
    fprintf(fp, "</tbody></table>");
    if (rp->shapes_over)
        fprintf(fp, "<p class=\"note\">%" PRIu64 " requests of further shapes</p>",
                rp->shapes_over);
    fprintf(fp, "</section>\n");
}

void report_write(const report *rp, FILE *fp, const char *title)
{
    fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                "style-src 'unsafe-inline'\">\n<title>");
    esc(fp, title);
    fprintf(
        fp,
        "</title>\n<style>\n"
        "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}\n"
        "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;margin-top:28px}\n"
        ".cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ddd;border-radius:6px;"
        "padding:8px 12px;min-width:140px}.card b{display:block;font-size:20px}.card "
        "span{color:#555}\n"
        ".charts{display:flex;flex-wrap:wrap;gap:20px}figure{margin:0}figcaption{font-weight:600;"
        "margin:8px 0}svg text{font:12px system-ui,sans-serif;fill:#222}\n"
        "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 6px;"
        "text-align:left;vertical-align:top}th{background:#f3f3f3}td.why{font-family:monospace;"
        "font-size:12px;max-width:420px;word-break:break-word}\n"
        "tr.sev1 td:nth-child(2){color:#b00;font-weight:600}tr:target{background:#ffd}\n"
        ".note,.none{color:#666}.banner{background:#fee;border:2px solid #c00;padding:8px;"
        "font-weight:600}\n</style></head><body>\n<h1>");
    esc(fp, title);
    fprintf(fp, "</h1>\n");
    if (rp->geo_test)
        fprintf(fp, "<p class=\"banner\" id=\"test-geo\">These records used egret's bundled TEST "
                    "GeoIP/ASN databases: the countries and ASNs below are made up.</p>\n");
    overview(fp, rp);
    fprintf(fp, "<section id=\"charts\"><h2>Uploads to AI providers</h2>\n");
    timeline_chart(fp, rp);
    fprintf(fp, "<div class=\"charts\">\n");
    bar_chart(fp, "chart-providers", "Bytes uploaded by AI provider", &rp->providers);
    bar_chart(fp, "chart-countries", "Bytes uploaded by destination country", &rp->countries);
    bar_chart(fp, "chart-asns", "Bytes uploaded by destination ASN", &rp->asns);
    fprintf(fp, "</div></section>\n");
    alert_table(fp, rp);
    content_table(fp, rp);
    fprintf(fp,
            "<p class=\"note\">Written by egret report from %" PRIu64
            " EVE records. egret never records payload: what is here are counts, names and "
            "addresses.</p>\n</body></html>\n",
            rp->records);
}

/* ==== The subcommand ================================================== */

/* Feeds every line of 'in' to the report; lines too long are skipped. */
/* Lines of at most RP_LINE_MAX bytes, read into one buffer: a longer line
 * is skipped (counted) without being held, so memory stays bounded
 * whatever the input. */
static void feed_lines(report *rp, FILE *in)
{
    char *line = malloc(RP_LINE_MAX + 2);
    if (!line) {
        rp->skipped++;
        return;
    }
    while (fgets(line, RP_LINE_MAX + 2, in)) {
        size_t n = strlen(line);
        if (n > RP_LINE_MAX && line[n - 1] != '\n') {
            int c;
            while ((c = getc(in)) != EOF && c != '\n') {
            }
            rp->skipped++;
            continue;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (n > RP_LINE_MAX) {
            rp->skipped++;
            continue;
        }
        if (n > 0) report_add(rp, line, n);
    }
    free(line);
}

/* Captures: egret (this executable) replays them in one run, as -r does
 * (flow state and rule windows carry across files); its EVE is read from
 * a pipe. */
static int feed_captures(report *rp, const char *self, const char **paths, int n_paths, int n_extra,
                         char **extra)
{
    int pfd[2];
    if (pipe(pfd) != 0) return -1;
    char **args = calloc((size_t)n_extra + 2 * (size_t)n_paths + 12, sizeof(*args));
    if (!args) {
        close(pfd[0]);
        close(pfd[1]);
        errno = ENOMEM;
        return -1;
    }
    size_t k = 0;
    char q[] = "-q", eve[] = "--eve", types[] = "alert,flow,http,stats", si[] = "--stats-interval",
         zero[] = "0", o[] = "-o", dash[] = "-", r[] = "-r";
    args[k++] = (char *)self;
    args[k++] = q;
    args[k++] = eve;
    args[k++] = types;
    args[k++] = si;
    args[k++] = zero;
    for (int i = 0; i < n_extra; i++) args[k++] = extra[i];
    args[k++] = o;
    args[k++] = dash;
    for (int i = 0; i < n_paths; i++) {
        args[k++] = r;
        args[k++] = (char *)paths[i];
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, pfd[0]);
    pid_t pid;
    int rc = posix_spawn(&pid, self, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(args);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        errno = rc;
        return -1;
    }
    FILE *in = fdopen(pfd[0], "r");
    if (in) {
        feed_lines(rp, in);
        fclose(in);
    } else {
        close(pfd[0]);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
    return 0;
}

/* EVE or capture?  EVE starts with '{' (after blanks). */
static bool looks_like_eve(FILE *f)
{
    int c;
    while ((c = getc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t') {
    }
    if (c != EOF) ungetc(c, f);
    return c == '{' || c == EOF;
}

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: egret report [-o FILE] [--title TEXT] INPUT... [-- EGRET_OPTIONS...]\n"
                "  INPUT   an EVE file (JSON lines; - for stdin), or a capture that egret\n"
                "          replays with --eve alert,flow,http,stats and EGRET_OPTIONS\n"
                "  -o FILE the HTML file (default egret-report.html)\n");
}

int report_main(int argc, char **argv, const char *self)
{
    const char *out_path = "egret-report.html", *title = "egret report";
    const char *inputs[256];
    int n_in = 0, i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && i + 1 < argc) {
            out_path = argv[++i];
        } else if (strcmp(argv[i], "--title") == 0 && i + 1 < argc) {
            title = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "egret: report: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (n_in < (int)(sizeof(inputs) / sizeof(inputs[0]))) {
            inputs[n_in++] = argv[i];
        } else {
            fprintf(stderr, "egret: report: at most %zu inputs\n",
                    sizeof(inputs) / sizeof(inputs[0]));
            return 2;
        }
    }
    if (n_in == 0) {
        fprintf(stderr, "egret: report: give an EVE file or a capture\n");
        usage(stderr);
        return 2;
    }
    report *rp = report_new();
    if (!rp) {
        fprintf(stderr, "egret: report: out of memory\n");
        return 1;
    }
    int status = 0, n_caps = 0;
    const char *caps[256];
    for (int k = 0; k < n_in; k++) {
        bool is_stdin = strcmp(inputs[k], "-") == 0;
        FILE *f = is_stdin ? stdin : fopen(inputs[k], "r");
        if (!f) {
            fprintf(stderr, "egret: report: %s: %s\n", inputs[k], strerror(errno));
            status = 1;
            continue;
        }
        if (looks_like_eve(f)) {
            feed_lines(rp, f);
            if (!is_stdin) fclose(f);
            continue;
        }
        if (!is_stdin) fclose(f);
        if (is_stdin) {
            fprintf(stderr, "egret: report: stdin is not EVE (captures: give their path)\n");
            status = 1;
            continue;
        }
        caps[n_caps++] = inputs[k];
    }
    if (n_caps) {
        int rc = feed_captures(rp, self, caps, n_caps, argc - i, argv + i);
        if (rc != 0) {
            fprintf(stderr, "egret: report: replaying the capture(s) failed%s%s\n",
                    rc < 0 ? ": " : "", rc < 0 ? strerror(errno) : "");
            status = 1;
        }
    }
    FILE *out = strcmp(out_path, "-") == 0 ? stdout : fopen(out_path, "w");
    if (!out) {
        fprintf(stderr, "egret: report: %s: %s\n", out_path, strerror(errno));
        report_free(rp);
        return 1;
    }
    report_write(rp, out, title);
    if ((out == stdout ? fflush(out) : fclose(out)) != 0) {
        fprintf(stderr, "egret: report: %s: write error: %s\n", out_path, strerror(errno));
        status = 1;
    }
    report_free(rp);
    return status;
}
