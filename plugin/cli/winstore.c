/*
 * winstore.c -- fleet-wide rule windows in Redis (see winstore.h).
 *
 * Layout: one hash per (window, key), "egret:win:WINDOW:KEY", with a field
 * "BUCKET:FIELD:SENSOR" per bucket index (packet time / bucket width, as
 * the local window counts), field number and sensor.  One sync is one
 * EVALSHA: HINCRBYFLOAT of every increment, then, per queried key, the
 * sums over the window's buckets and field 1 per sensor.  The key's
 * expiry (twice the span plus an hour of wall time, renewed by every
 * increment) only cleans up: which buckets count is decided by the bucket
 * indexes.  Suppression: "egret:sup:SID:KEY" holds the packet time and
 * sensor of the last alert; a claim within the period of it loses.
 * Engines (workers) share one connection under a mutex; after a failure
 * a new connection is tried at most once a second (the engine uses its
 * local windows meanwhile).
 */
#include "winstore.h"

#include "monotime.h"
#include "redis.h"

#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TIMEOUT_MS 1000
#define RETRY_S    1.0

static const char SYNC_SCRIPT[] =
    "local sensor = ARGV[1]\n"
    "local i = 2\n"
    "local nd = tonumber(ARGV[i]); i = i + 1\n"
    "for d = 1, nd do\n"
    "  local hk = 'egret:win:' .. ARGV[i] .. ':' .. ARGV[i + 1]\n"
    "  local b, ttl, nf = ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])\n"
    "  for f = 1, nf do\n"
    "    if tonumber(ARGV[i + 4 + f]) ~= 0 then\n"
    "      redis.call('HINCRBYFLOAT', hk, b .. ':' .. f .. ':' .. sensor, ARGV[i + 4 + f])\n"
    "    end\n"
    "  end\n"
    "  redis.call('PEXPIRE', hk, ttl)\n"
    "  i = i + 5 + nf\n"
    "end\n"
    "local nq = tonumber(ARGV[i]); i = i + 1\n"
    "local out = {}\n"
    "for q = 1, nq do\n"
    "  local hk = 'egret:win:' .. ARGV[i] .. ':' .. ARGV[i + 1]\n"
    "  local now, nb, nf = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])\n"
    "  i = i + 5\n"
    "  local tot, parts, names = {}, {}, {}\n"
    "  for f = 1, nf do tot[f] = 0 end\n"
    "  local all = redis.call('HGETALL', hk)\n"
    "  for j = 1, #all, 2 do\n"
    "    local b, f, s = string.match(all[j], '^(%d+):(%d+):(.*)$')\n"
    "    b = tonumber(b); f = tonumber(f)\n"
    "    if b and b <= now and b > now - nb and f <= nf then\n"
    "      local v = tonumber(all[j + 1])\n"
    "      tot[f] = tot[f] + v\n"
    "      if f == 1 then\n"
    "        if not parts[s] then names[#names + 1] = s; parts[s] = 0 end\n"
    "        parts[s] = parts[s] + v\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  for f = 1, nf do out[#out + 1] = string.format('%.17g', tot[f]) end\n"
    "  out[#out + 1] = tostring(#names)\n"
    "  for _, s in ipairs(names) do\n"
    "    out[#out + 1] = s\n"
    "    out[#out + 1] = string.format('%.17g', parts[s])\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS[1] the suppression key; ARGV now_us, period_us, sensor, ttl_ms */
static const char CLAIM_SCRIPT[] =
    "local v = redis.call('HMGET', KEYS[1], 't', 's')\n"
    "local now = tonumber(ARGV[1])\n"
    "if v[1] and math.abs(now - tonumber(v[1])) < tonumber(ARGV[2]) then return 0 end\n"
    "redis.call('HSET', KEYS[1], 't', ARGV[1], 's', ARGV[3])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
    "return 1\n";

struct winstore {
    egret_fleet_store st;
    rd_url url;
    char *sensor;
    pthread_mutex_t mu;
    rd_conn *c;
    double next_try;
    char sync_sha[64], claim_sha[64];
};

static void drop_conn(winstore *w)
{
    rd_close(w->c);
    w->c = NULL;
    w->next_try = now_mono() + RETRY_S;
}

static bool load(winstore *w, const char *script, char *sha, size_t sha_size)
{
    char err[256]; /* unused: the engine falls back to its local windows */
    return rd_script_load(w->c, script, sha, sha_size, err, sizeof(err)) == 0;
}

static bool ensure(winstore *w)
{
    if (w->c) return true;
    if (now_mono() < w->next_try) return false;
    char err[256];
    w->c = rd_connect(&w->url, TIMEOUT_MS, err, sizeof(err));
    if (!w->c || !load(w, SYNC_SCRIPT, w->sync_sha, sizeof(w->sync_sha)) ||
        !load(w, CLAIM_SCRIPT, w->claim_sha, sizeof(w->claim_sha))) {
        drop_conn(w);
        return false;
    }
    return true;
}

/* Numbers as text for the arguments: one buffer, offsets fixed up later. */
typedef struct args {
    const char **v;
    size_t *len;
    size_t n, cap;
    char *txt;
    size_t tlen, tcap;
    size_t *toff; /* v[i] is txt + toff[i] when toff[i] != SIZE_MAX */
} args;

static bool arg_grow(args *a)
{
    if (a->n < a->cap) return true;
    size_t nc = a->cap ? 2 * a->cap : 256;
    const char **nv = realloc(a->v, nc * sizeof(*nv));
    if (nv) a->v = nv;
    size_t *nl = realloc(a->len, nc * sizeof(*nl));
    if (nl) a->len = nl;
    size_t *no = realloc(a->toff, nc * sizeof(*no));
    if (no) a->toff = no;
    if (!nv || !nl || !no) return false;
    a->cap = nc;
    return true;
}

static bool arg_str(args *a, const char *s, size_t n)
{
    if (!arg_grow(a)) return false;
    a->v[a->n] = s;
    a->len[a->n] = n;
    a->toff[a->n++] = SIZE_MAX;
    return true;
}

static bool arg_fmt(args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool arg_fmt(args *a, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || !arg_grow(a)) return false;
    if (a->tlen + (size_t)n > a->tcap) {
        size_t nc = a->tcap ? 2 * a->tcap : 4096;
        while (nc < a->tlen + (size_t)n) nc *= 2;
        char *nt = realloc(a->txt, nc);
        if (!nt) return false;
        a->txt = nt;
        a->tcap = nc;
    }
    memcpy(a->txt + a->tlen, tmp, (size_t)n);
    a->toff[a->n] = a->tlen;
    a->len[a->n++] = (size_t)n;
    a->tlen += (size_t)n;
    return true;
}

static void args_free(args *a)
{
    free(a->v);
    free(a->len);
    free(a->txt);
    free(a->toff);
}

/* Reading the sync reply back into the queries. */
typedef struct reader {
    egret_fleet_query *q;
    size_t nq, qi;
    uint32_t pos; /* position inside the current query's part */
    uint32_t ns;
    bool bad;
} reader;

static void on_item(void *ud, size_t i, const char *s, size_t n)
{
    reader *r = ud;
    (void)i;
    char t[128];
    snprintf(t, sizeof(t), "%.*s", (int)(n < sizeof(t) ? n : sizeof(t) - 1), s);
    if (r->qi >= r->nq) {
        r->bad = true;
        return;
    }
    egret_fleet_query *q = &r->q[r->qi];
    uint32_t nf = q->n_fields;
    if (r->pos < nf) {
        q->total[r->pos] = strtod(t, NULL);
    } else if (r->pos == nf) {
        r->ns = (uint32_t)strtoul(t, NULL, 10);
    } else {
        uint32_t k = (r->pos - nf - 1) / 2;
        if (k < EGRET_FLEET_SENSORS) {
            if ((r->pos - nf - 1) % 2 == 0)
                snprintf(q->sensor[k], sizeof(q->sensor[k]), "%.63s", t);
            else {
                q->part[k] = strtod(t, NULL);
                q->n_sensors = k + 1;
            }
        }
    }
    r->pos++;
    if (r->pos >= nf + 1 && r->pos == nf + 1 + 2 * r->ns) {
        r->qi++;
        r->pos = 0;
        r->ns = 0;
    }
}

static int ws_sync(void *ud, const egret_fleet_delta *d, size_t nd, egret_fleet_query *q, size_t nq)
{
    winstore *w = ud;
    args a = {0};
    int rc = -1;
    bool ok = arg_str(&a, "EVALSHA", 7) && arg_str(&a, w->sync_sha, 0) && arg_str(&a, "0", 1) &&
              arg_str(&a, w->sensor, strlen(w->sensor)) && arg_fmt(&a, "%zu", nd);
    for (size_t i = 0; ok && i < nd; i++) {
        uint64_t ttl_ms = d[i].span_us / 500 + 3600 * 1000; /* twice the span + 1 h */
        ok = arg_str(&a, d[i].window, strlen(d[i].window)) && arg_str(&a, d[i].key, d[i].key_len) &&
             arg_fmt(&a, "%" PRIu64, d[i].bucket) && arg_fmt(&a, "%" PRIu64, ttl_ms) &&
             arg_fmt(&a, "%u", d[i].n_fields);
        for (uint32_t f = 0; ok && f < d[i].n_fields; f++) ok = arg_fmt(&a, "%.17g", d[i].vals[f]);
    }
    ok = ok && arg_fmt(&a, "%zu", nq);
    for (size_t i = 0; ok && i < nq; i++)
        ok = arg_str(&a, q[i].window, strlen(q[i].window)) && arg_str(&a, q[i].key, q[i].key_len) &&
             arg_fmt(&a, "%" PRIu64, q[i].bucket_now) && arg_fmt(&a, "%u", q[i].n_buckets) &&
             arg_fmt(&a, "%u", q[i].n_fields);
    if (!ok) goto out;
    for (size_t i = 0; i < a.n; i++)
        if (a.toff[i] != SIZE_MAX) a.v[i] = a.txt + a.toff[i];
    pthread_mutex_lock(&w->mu);
    if (ensure(w)) {
        a.v[1] = w->sync_sha;
        a.len[1] = strlen(w->sync_sha);
        char err[256];
        reader r = {q, nq, 0, 0, 0, false};
        int x = rd_append(w->c, (int)a.n, a.v, a.len) == 0
                    ? rd_reply_each(w->c, on_item, &r, err, sizeof(err))
                    : -1;
        if (x == 0 && !r.bad && r.qi == nq)
            rc = 0;
        else
            drop_conn(w); /* NOSCRIPT after a restart too: reloaded on reconnect */
    }
    pthread_mutex_unlock(&w->mu);
out:
    args_free(&a);
    return rc;
}

static int ws_claim(void *ud, uint32_t sid, const char *key, size_t key_len, uint64_t now_us,
                    uint64_t period_us)
{
    winstore *w = ud;
    size_t kl = key_len + 40;
    char *k = malloc(kl);
    if (!k) return -1;
    int kn = snprintf(k, kl, "egret:sup:%u:%.*s", sid, (int)key_len, key);
    char now[24], per[24], ttl[24];
    snprintf(now, sizeof(now), "%" PRIu64, now_us);
    snprintf(per, sizeof(per), "%" PRIu64, period_us);
    snprintf(ttl, sizeof(ttl), "%" PRIu64, period_us / 500 + 3600 * 1000);
    int rc = -1;
    pthread_mutex_lock(&w->mu);
    if (ensure(w)) {
        const char *argv[] = {"EVALSHA", w->claim_sha, "1", k, now, per, w->sensor, ttl};
        size_t lens[8];
        for (int i = 0; i < 8; i++) lens[i] = strlen(argv[i]);
        lens[3] = (size_t)kn;
        rd_reply r;
        char err[256];
        if (rd_append(w->c, 8, argv, lens) == 0 && rd_reply_next(w->c, &r, err, sizeof(err)) == 0 &&
            r.kind == RD_INT)
            rc = r.num ? 1 : 0;
        else
            drop_conn(w);
    }
    pthread_mutex_unlock(&w->mu);
    free(k);
    return rc;
}

winstore *winstore_new(const char *url, const char *sensor, char *err, size_t err_size)
{
    winstore *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    if (!rd_url_parse(url, &w->url, err, err_size)) {
        free(w);
        return NULL;
    }
    w->sensor = strdup(sensor && sensor[0] ? sensor : "egret");
    if (!w->sensor) {
        free(w);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    w->st.sync = ws_sync;
    w->st.claim = ws_claim;
    w->st.ud = w;
    w->st.sensor = w->sensor;
    return w;
}

const egret_fleet_store *winstore_store(winstore *w)
{
    return &w->st;
}

void winstore_free(winstore *w)
{
    if (!w) return;
    rd_close(w->c);
    pthread_mutex_destroy(&w->mu);
    free(w->sensor);
    free(w);
}
