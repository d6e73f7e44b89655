/*
 * workers_stats.c -- with several workers, one stats record per interval:
 * the workers' counters merged, each worker's own inside it under
 * stats.threads (as Suricata's per-thread stats), never one record per
 * worker.
 *
 * Every worker's engine writes a stats record at the same ticks (they all
 * see every tick), so the k-th stats record of each worker belongs to the
 * same interval.  The writer (under out_mu) queues each worker's stats
 * records; when every worker has one queued, the first of each are merged
 * and written.  Records still queued at the end (a worker that stopped
 * early) are merged with whatever the others have.
 *
 * The merge walks the records' JSON side by side: the engines write the
 * same keys in the same order, so the texts differ only in values.
 * Numbers are summed, except the ones that describe the configuration or
 * the process rather than traffic (MAX_KEYS: the same in every worker, or
 * the greatest); a differing string keeps the greatest (the timestamp) and
 * true wins over false.  Records whose structure differs are written as
 * they are (it would be a bug; the schema test's merged-stats check sees it).
 */
#include "workers_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* counters that are not summed across workers */
static const char *const MAX_KEYS[] = {
    "uptime",         "rules_reloads", "reloads", "catalog_patterns",
    "catalog_ranges", "build_epoch",   "sid",     "files",
    "loaded",         "load_errors",   NULL};

/* One worker's queued stats records (ws->stats: one per worker). */
struct wk_stats {
    char **rec;
    size_t *len;
    uint64_t *ts;
    size_t head, n, cap;
};

typedef struct tok {
    char kind; /* '{', '}', '[', ']', ':', ',', 's' string, 'n' number, 'l' literal, 0 end */
    const char *p;
    size_t n;
} tok;

static tok next_tok(const char **at, const char *end)
{
    const char *p = *at;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) p++;
    tok t = {0, p, 0};
    if (p >= end) return t;
    const char *s = p;
    if (strchr("{}[]:,", *p)) {
        t.kind = *p++;
    } else if (*p == '"') {
        t.kind = 's';
        for (p++; p < end && *p != '"'; p++)
            if (*p == '\\' && p + 1 < end) p++;
        if (p < end) p++;
    } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
        t.kind = 'n';
        while (p < end && strchr("+-.0123456789eE", *p)) p++;
    } else {
        t.kind = 'l';
        while (p < end && *p >= 'a' && *p <= 'z') p++;
    }
    if (p == s) p++; /* never stall on a byte the JSON writer does not make */
    t.n = (size_t)(p - s);
    *at = p;
    return t;
}

static bool is_max_key(const tok *key)
{
    for (int i = 0; MAX_KEYS[i]; i++) {
        size_t n = strlen(MAX_KEYS[i]);
        if (key->n == n + 2 && memcmp(key->p + 1, MAX_KEYS[i], n) == 0) return true;
    }
    return false;
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Merges n records (n >= 1) into 'out' and appends stats.threads; false
 * when their structure differs. */
static bool merge(char *const *rec, const size_t *len, const int *ids, int n, sbuf *out)
{
    const char *at[64], *end[64];
    if (n > 64) return false;
    for (int i = 0; i < n; i++) at[i] = rec[i], end[i] = rec[i] + len[i];
    tok key = {0, NULL, 0}, prev = {0, NULL, 0};
    int depth = 0;
    const char *stats_at[64];
    for (;;) {
        tok t[64];
        for (int i = 0; i < n; i++) t[i] = next_tok(&at[i], end[i]);
        if (t[0].kind == 0) break;
        for (int i = 1; i < n; i++) {
            bool same_kind = t[i].kind == t[0].kind;
            if (!same_kind) return false;
        }
        if (t[0].kind == ':' && prev.kind == 's') key = prev;
        /* the record's closing brace: stats.threads goes before it */
        if (t[0].kind == '}' && depth == 2) {
            put(out, ",\"threads\":{", 12);
            for (int i = 0; i < n; i++) {
                char name[24];
                int k = snprintf(name, sizeof(name), "%s\"W#%02d\":", i ? "," : "", ids[i] + 1);
                put(out, name, (size_t)k);
                put(out, stats_at[i], (size_t)(t[i].p - stats_at[i]) + 1);
            }
            put(out, "}", 1);
        }
        if (t[0].kind == '{' || t[0].kind == '[') depth++;
        if (t[0].kind == '}' || t[0].kind == ']') depth--;
        if (t[0].kind == '{' && depth == 2)
            for (int i = 0; i < n; i++) stats_at[i] = t[i].p;
        if (t[0].kind == 'n') {
            bool max = is_max_key(&key);
            unsigned long long v = 0;
            bool integral = true;
            for (int i = 0; i < n; i++) {
                if (memchr(t[i].p, '.', t[i].n) || memchr(t[i].p, '-', t[i].n)) integral = false;
                unsigned long long x = strtoull(t[i].p, NULL, 10);
                v = max ? (x > v ? x : v) : v + x;
            }
            if (integral) {
                char nb[24];
                int k = snprintf(nb, sizeof(nb), "%llu", v);
                put(out, nb, (size_t)k);
            } else {
                put(out, t[0].p, t[0].n);
            }
        } else if (t[0].kind == 's' || t[0].kind == 'l') {
            int pick = 0;
            for (int i = 1; i < n; i++) {
                size_t m = t[i].n < t[pick].n ? t[i].n : t[pick].n;
                int c = memcmp(t[i].p, t[pick].p, m);
                if (c > 0 || (c == 0 && t[i].n > t[pick].n)) pick = i; /* "true" > "false" */
            }
            put(out, t[pick].p, t[pick].n);
        } else {
            put(out, t[0].p, t[0].n);
        }
        prev = t[0];
    }
    return !out->oom;
}

/* stats.capture.kernel_drop_pct is written only by an engine that has
 * capture counters (worker 0), so it would make the records' keys differ;
 * it is taken out before the merge and worked out again from the merged
 * counters, as eve.c does (share of kernel_packets, rounded to 0.01). */
static const char DROP_PCT[] = ",\"kernel_drop_pct\":";

static void strip_drop_pct(char *rec, size_t *len)
{
    char *k = strstr(rec, DROP_PCT);
    if (!k) return;
    char *v = k + sizeof(DROP_PCT) - 1;
    while (*v && strchr("+-.0123456789eE", *v)) v++;
    memmove(k, v, (size_t)(rec + *len - v) + 1);
    *len -= (size_t)(v - k);
}

static unsigned long long counter_in(const char *s, const char *key)
{
    const char *k = strstr(s, key);
    return k ? strtoull(k + strlen(key), NULL, 10) : 0;
}

static void add_drop_pct(sbuf *b)
{
    if (b->oom || !b->p) return;
    unsigned long long pk = counter_in(b->p, "\"kernel_packets\":");
    unsigned long long dr = counter_in(b->p, "\"kernel_drops\":");
    const char *at = strstr(b->p, "\"kernel_ifdrops\":");
    if (!pk || !at) return;
    at += strlen("\"kernel_ifdrops\":");
    while (*at >= '0' && *at <= '9') at++;
    char ins[48];
    double pct = (double)(unsigned long long)(10000.0 * (double)dr / (double)pk + 0.5) / 100.0;
    int n = snprintf(ins, sizeof(ins), "%s%.10g", DROP_PCT, pct);
    size_t off = (size_t)(at - b->p);
    put(b, ins, (size_t)n); /* grows the buffer; then moved into place */
    if (b->oom) return;
    memmove(b->p + off + (size_t)n, b->p + off, b->len - (size_t)n - off);
    memcpy(b->p + off, ins, (size_t)n);
}

static bool q_push(struct wk_stats *q, const char *json, size_t len, uint64_t ts)
{
    if (q->head + q->n == q->cap) {
        if (q->head) { /* slide down */
            memmove(q->rec, q->rec + q->head, q->n * sizeof(*q->rec));
            memmove(q->len, q->len + q->head, q->n * sizeof(*q->len));
            memmove(q->ts, q->ts + q->head, q->n * sizeof(*q->ts));
            q->head = 0;
        } else {
            size_t cap = q->cap ? q->cap * 2 : 4;
            char **nr = realloc(q->rec, cap * sizeof(*nr));
            if (!nr) return false;
            q->rec = nr;
            size_t *nl = realloc(q->len, cap * sizeof(*nl));
            if (!nl) return false;
            q->len = nl;
            uint64_t *nt = realloc(q->ts, cap * sizeof(*nt));
            if (!nt) return false;
            q->ts = nt;
            q->cap = cap;
        }
    }
    char *c = malloc(len + 1);
    if (!c) return false;
    memcpy(c, json, len);
    c[len] = '\0';
    q->rec[q->head + q->n] = c;
    q->len[q->head + q->n] = len;
    q->ts[q->head + q->n] = ts;
    q->n++;
    return true;
}

/* Writes one merged record from the first queued record of every worker
 * that has one. */
static void emit_round(struct workers *ws)
{
    char *rec[64];
    size_t len[64];
    int ids[64], n = 0;
    uint64_t ts = 0;
    for (int i = 0; i < ws->n && n < 64; i++) {
        struct wk_stats *q = &ws->stats[i];
        if (!q->n) continue;
        rec[n] = q->rec[q->head];
        len[n] = q->len[q->head];
        if (q->ts[q->head] > ts) ts = q->ts[q->head];
        ids[n++] = i;
        q->head++;
        q->n--;
        if (!q->n) q->head = 0;
    }
    if (!n) return;
    sbuf b = {0};
    egret_event ev = {.type = EGRET_EV_STATS};
    for (int i = 0; i < n; i++) strip_drop_pct(rec[i], &len[i]);
    if (merge(rec, len, ids, n, &b)) {
        add_drop_pct(&b);
        ev.json = b.p;
        ev.json_len = b.len;
        ev.ts_usec = ts;
        ws->user_cb(&ev, ws->user_ud);
    } else {
        for (int i = 0; i < n; i++) {
            ev.json = rec[i];
            ev.json_len = len[i];
            ws->user_cb(&ev, ws->user_ud);
        }
    }
    free(b.p);
    for (int i = 0; i < n; i++) free(rec[i]);
}

bool wk_stats_take(struct workers *ws, const worker *w, const egret_event *ev)
{
    if (ws->n < 2 || ws->n > 64 || ev->type != EGRET_EV_STATS) return false;
    if (!ws->stats) ws->stats = calloc((size_t)ws->n, sizeof(*ws->stats));
    if (!ws->stats) return false;
    struct wk_stats *q = &ws->stats[w->id];
    if (!q_push(q, ev->json, ev->json_len, ev->ts_usec)) return false;
    /* A worker that runs ahead does not make the queue grow without bound:
     * the round goes out partial.  Live, each worker ticks on its own clock
     * and a record is due at once; replaying, a worker hands its records
     * over in batches of up to 1 MiB (some hundred stats records) and the
     * chunk ring bounds how far it runs ahead. */
    size_t cap = atomic_load_explicit(&ws->live, memory_order_relaxed) ? 8 : 4096;
    if (q->n > cap) emit_round(ws);
    for (;;) {
        for (int i = 0; i < ws->n; i++)
            if (!ws->stats[i].n) return true;
        emit_round(ws);
    }
}

void wk_stats_flush(struct workers *ws)
{
    if (!ws->stats) return;
    for (;;) {
        bool any = false;
        for (int i = 0; i < ws->n; i++) any |= ws->stats[i].n > 0;
        if (!any) break;
        emit_round(ws);
    }
    for (int i = 0; i < ws->n; i++) {
        free(ws->stats[i].rec);
        free(ws->stats[i].len);
        free(ws->stats[i].ts);
    }
    free(ws->stats);
    ws->stats = NULL;
}
