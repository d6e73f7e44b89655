/*
 * tally.c -- the run's findings from its EVE records (see tally.h).
 */
#include "tally.h"

#include "hbytes.h"
#include "jscan.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

static void add_alert(tally *t, js_val r)
{
    js_val a = js_get(r, "alert");
    uint64_t sid = js_u64(js_get(a, "signature_id"));
    int sev = (int)js_u64(js_get(a, "severity"));
    t->alerts++;
    t->by_severity[sev >= 1 && sev <= 3 ? sev : 0]++;
    for (size_t i = 0; i < t->n_rules; i++) {
        if (t->rules[i].sid == sid) {
            t->rules[i].alerts++;
            return;
        }
    }
    if (t->n_rules == TALLY_RULES) {
        t->rules_over++;
        return;
    }
    tally_rule *x = &t->rules[t->n_rules++];
    x->sid = sid;
    x->severity = sev;
    x->alerts = 1;
    js_str(js_get(a, "signature"), x->signature, sizeof(x->signature));
}

/* The row of (internal host, provider), created on first use; NULL past
 * the cap.  The internal host is the source of an outbound record. */
static tally_pair *pair_of(tally *t, js_val r)
{
    char host[48], prov[40];
    js_val p = js_get(r, "ai.provider");
    if (p.type != JS_STRING) return NULL;
    js_str(p, prov, sizeof(prov));
    js_str(js_get(r, "src_ip"), host, sizeof(host));
    for (size_t i = 0; i < t->n_pairs; i++)
        if (strcmp(t->pairs[i].host, host) == 0 && strcmp(t->pairs[i].provider, prov) == 0)
            return &t->pairs[i];
    if (t->n_pairs == TALLY_PAIRS) {
        t->pairs_over++;
        return NULL;
    }
    tally_pair *x = &t->pairs[t->n_pairs++];
    memset(x, 0, sizeof(*x));
    memcpy(x->host, host, sizeof(host));
    memcpy(x->provider, prov, sizeof(prov));
    return x;
}

static void add_country(tally_pair *x, js_val r)
{
    char cc[8];
    js_str(js_get(r, "dest_geo.country_iso"), cc, sizeof(cc));
    if (strlen(cc) != 2) return;
    for (int i = 0; i < x->n_countries; i++)
        if (strcmp(x->countries[i], cc) == 0) return;
    if (x->n_countries < TALLY_COUNTRIES) memcpy(x->countries[x->n_countries++], cc, 3);
}

bool tally_outbound(js_val r)
{
    char dir[16];
    js_val v = js_get(r, "egret_direction");
    if (v.type != JS_STRING) v = js_get(r, "direction");
    js_str(v, dir, sizeof(dir));
    return strcmp(dir, "outbound") == 0;
}

/* The (host, provider) row of an outbound record to an AI provider, or
 * NULL.  Most records are not to one: they are skipped without parsing. */
static tally_pair *ai_pair(tally *t, const char *json, size_t len, js_val *r)
{
    if (!memmem(json, len, "\"ai\":{", 6)) return NULL;
    *r = js_root(json, len);
    return r->type == JS_OBJECT && tally_outbound(*r) ? pair_of(t, *r) : NULL;
}

void tally_add(tally *t, const char *json, size_t len)
{
    /* the type from a look at the first members (it comes early); the
     * whole record is parsed only when it is counted */
    js_val r = {JS_OBJECT, json, len};
    char type[16];
    if (len < 2 || json[0] != '{') return;
    js_str(js_get(r, "event_type"), type, sizeof(type));
    if (strcmp(type, "alert") == 0) {
        r = js_root(json, len);
        if (r.type == JS_OBJECT) add_alert(t, r);
    } else if (strcmp(type, "flow") == 0) {
        t->saw_flows = true;
        tally_pair *x = ai_pair(t, json, len, &r);
        if (!x) return;
        x->flows++;
        x->bytes_up += js_u64(js_get(r, "flow.bytes_toserver"));
        x->requests += js_u64(js_get(r, "flow.exchanges"));
        add_country(x, r);
    } else if (strcmp(type, "http") == 0) {
        t->saw_http = true;
        tally_pair *x = ai_pair(t, json, len, &r);
        if (!x) return;
        js_val c = js_get(r, "content");
        /* messages of the request itself and of a pasted export in it */
        x->messages += js_u64(js_get(c, "messages")) + js_u64(js_get(c, "embedded_messages"));
        if (js_get(c, "lossy").type == JS_TRUE) x->lossy = true;
    }
}

void tally_print(FILE *fp, const tally *t)
{
    char hb[32];
    fprintf(fp, "  %-14s %" PRIu64 " (high %" PRIu64 ", medium %" PRIu64 ", low %" PRIu64 ")\n",
            "alerts", t->alerts, t->by_severity[1], t->by_severity[2], t->by_severity[3]);
    if (t->n_rules) {
        fprintf(fp, "  alerts by rule:\n");
        fprintf(fp, "    %7s  %-3s  %-9s  %s\n", "alerts", "sev", "sid", "signature");
        for (size_t i = 0; i < t->n_rules; i++) {
            const tally_rule *x = &t->rules[i];
            fprintf(fp, "    %7" PRIu64 "  %-3d  %-9" PRIu64 "  %s\n", x->alerts, x->severity,
                    x->sid, x->signature);
        }
        if (t->rules_over)
            fprintf(fp, "    %7" PRIu64 "  alerts of further rules (table full)\n", t->rules_over);
    }
    if (!t->saw_flows) {
        fprintf(fp, "  uploads to AI providers: not counted (flow records are off: --eve)\n");
        return;
    }
    if (!t->n_pairs) {
        fprintf(fp, "  uploads to AI providers: none seen\n");
        return;
    }
    fprintf(fp, "  uploads to AI providers (internal host x provider, from flow%s records):\n",
            t->saw_http ? " and http" : "");
    fprintf(fp, "    %-39s %-16s %10s %6s %8s %9s  %s\n", "host", "provider", "uploaded", "flows",
            "requests", "messages", "countries");
    /* the biggest uploads first: a selection over the fixed table */
    bool shown[TALLY_PAIRS] = {false};
    size_t n = t->n_pairs < TALLY_SHOWN ? t->n_pairs : TALLY_SHOWN;
    for (size_t k = 0; k < n; k++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < t->n_pairs; i++)
            if (!shown[i] && (best == SIZE_MAX || t->pairs[i].bytes_up > t->pairs[best].bytes_up))
                best = i;
        shown[best] = true;
        const tally_pair *x = &t->pairs[best];
        char msgs[32], cc[3 * TALLY_COUNTRIES + 1] = "";
        human_bytes(x->bytes_up, hb, sizeof(hb));
        if (t->saw_http)
            snprintf(msgs, sizeof(msgs), "%s%" PRIu64, x->lossy ? ">=" : "", x->messages);
        else
            snprintf(msgs, sizeof(msgs), "-");
        for (int i = 0; i < x->n_countries; i++) {
            if (i) strcat(cc, ",");
            strcat(cc, x->countries[i]);
        }
        fprintf(fp, "    %-39s %-16s %10s %6" PRIu64 " %8" PRIu64 " %9s  %s\n", x->host,
                x->provider, hb, x->flows, x->requests, msgs, cc[0] ? cc : "-");
    }
    if (t->n_pairs > n) fprintf(fp, "    ... and %zu more\n", t->n_pairs - n);
    if (t->pairs_over)
        fprintf(fp, "    (%" PRIu64 " records of further host x provider pairs: table full)\n",
                t->pairs_over);
    if (!t->saw_http) fprintf(fp, "    (messages: add http to --eve to count them)\n");
}

/* Appends printf-style text to out[*o], cut at 'size'. */
__attribute__((format(printf, 4, 5))) static void put(char *out, size_t size, size_t *o,
                                                      const char *fmt, ...)
{
    if (*o + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *o, size - *o, fmt, ap);
    va_end(ap);
    if (n > 0) *o += (size_t)n < size - *o ? (size_t)n : size - *o - 1;
}
#define PUT(...) put(out, size, &o, __VA_ARGS__)

size_t tally_alert_line(const char *json, size_t len, char *out, size_t size)
{
    js_val r = js_root(json, len);
    char b[4][128];
    size_t o = 0;
    if (size < 2) return 0;
    js_val a = js_get(r, "alert");
    if (a.type != JS_OBJECT) return 0;
    PUT("%s  [**] [%s:%s:%s]", js_str(js_get(r, "timestamp"), b[0], sizeof(b[0])),
        js_str(js_get(a, "gid"), b[1], sizeof(b[1])),
        js_str(js_get(a, "signature_id"), b[2], sizeof(b[2])),
        js_str(js_get(a, "rev"), b[3], sizeof(b[3])));
    PUT(" %s", js_str(js_get(a, "signature"), b[0], sizeof(b[0])));
    PUT(" [**]");
    if (js_str(js_get(a, "category"), b[0], sizeof(b[0]))[0]) PUT(" [%s]", b[0]);
    PUT(" [Severity: %s] {%s}", js_str(js_get(a, "severity"), b[1], sizeof(b[1])),
        js_str(js_get(r, "proto"), b[2], sizeof(b[2])));
    bool v6 = js_u64(js_get(r, "ip_v")) == 6;
    PUT(v6 ? " [%s]:%s -> [%s]:%s" : " %s:%s -> %s:%s",
        js_str(js_get(r, "src_ip"), b[0], sizeof(b[0])),
        js_str(js_get(r, "src_port"), b[1], sizeof(b[1])),
        js_str(js_get(r, "dest_ip"), b[2], sizeof(b[2])),
        js_str(js_get(r, "dest_port"), b[3], sizeof(b[3])));
    if (js_get(r, "ai.provider").type == JS_STRING)
        PUT(" [%s %s]", js_str(js_get(r, "ai.provider"), b[0], sizeof(b[0])),
            js_str(js_get(r, "ai.host"), b[1], sizeof(b[1])));
    if (js_get(r, "dest_geo.country_iso").type == JS_STRING)
        PUT(" [%s AS%s]", js_str(js_get(r, "dest_geo.country_iso"), b[0], sizeof(b[0])),
            js_get(r, "dest_geo.asn").type == JS_NUMBER
                ? js_str(js_get(r, "dest_geo.asn"), b[1], sizeof(b[1]))
                : "?");
    /* why: its numbers first (the figures a reader weighs), then the
     * other scalars, strings cut short; nested values are left to EVE */
    js_val why = js_get(a, "why"), v;
    if (why.type == JS_OBJECT) {
        PUT(" why:");
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; js_member(why, i, b[0], sizeof(b[0]), &v); i++) {
                bool num = v.type == JS_NUMBER;
                if (pass == 0 ? !num : (num || v.type == JS_OBJECT || v.type == JS_ARRAY)) continue;
                js_str(v, b[1], 48);
                /* one line per alert: control characters never reach it */
                for (char *p = b[1]; *p; p++)
                    if ((unsigned char)*p < 0x20) *p = ' ';
                PUT(" %s=%s", b[0], b[1]);
            }
        }
    }
    if (o >= size - 1) o = size - 2;
    out[o++] = '\n';
    out[o] = '\0';
    return o;
}
