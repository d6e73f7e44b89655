/*
 * inspect.c -- reasm -> [tlsdec] -> http or h2 -> content for one TCP flow
 * (see inspect.h).  Owns the reassembly context and the TLS decryption
 * context; per inspected flow, the two reassembly streams, the TLS session
 * (when the flow is TLS and keys are configured), the HTTP/1.x or HTTP/2
 * connection parser and the content detector of the request body being
 * parsed.
 */
#include "inspect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "h2.h"
#include "reasm.h"
#include "tlsdec.h"

#define CONTENT_POOL 64
#define PENDING_MAX  4 /* requests awaiting their response (= http max_pipeline) */

struct inspect_ctx {
    reasm_ctx *reasm;
    tlsdec_ctx *tls;    /* NULL without a key source */
    keylog_table *keys; /* its keys */
    http_limits hlim;
    h2_limits h2lim;
    content_limits clim;
    inspect_callbacks cb;
    void *cb_ud;
    TAILQ_HEAD(, inspect_flow) lru; /* least recently active first */
    /* Content detectors are taken per request body and given back at its
     * end, so only concurrent bodies need one: no allocation per request. */
    content_ctx *pool[CONTENT_POOL];
    unsigned n_pool;
    bool samples;
    uint64_t flows, requests, responses, bodies, http_events;
    uint64_t flows_tls, flows_h2;     /* of them: TLS decrypted, HTTP/2 */
    uint64_t live, max_live, evicted; /* inspected flows now, their cap, ended early */
};

/* Memory of one inspected flow, roughly: the struct, the HTTP transaction
 * ring, line buffers and the reassembly histories (overlap conflicts).  The
 * number of flows inspected at once is capped so that this state stays
 * under INSPECT_STATE_CAP. */
#define INSPECT_STATE_CAP (64u << 20)
#define INSPECT_FLOW_BYTES                                                                         \
    (sizeof(struct inspect_flow) + PENDING_MAX * sizeof(http_txn) + 16384 + 2 * REASM_HIST_BYTES)

/* What a completed request leaves for its response (no sample: evidence
 * takes it at request time). */
typedef struct pending_req {
    const http_txn *t;
    content_result content;
    bool has_content;
    char purpose[32];
    char filename[128];
} pending_req;

struct inspect_flow {
    inspect_ctx *ctx;
    reasm_stream st[2];
    tlsdec_session *tls; /* TLS: decrypts between reassembly and the parser */
    http_conn *http;     /* the parser: HTTP/1.x ... */
    h2_conn *h2;         /* ... or HTTP/2 (decided at the first plaintext byte under TLS) */
    bool ended[2];       /* the parser's directions ended */
    bool upgraded;       /* HTTP/1.1 answered "101" to "Upgrade: h2c": 'up' is stream 1 */
    uint8_t pick[24];    /* INSPECT_ANY: first client bytes, while they match the h2 preface */
    uint8_t pick_len;
    http_txn up;
    content_ctx *content;
    bool in_body;      /* content_begin called for the current request */
    inspect_req cur;   /* request being parsed */
    size_t sample_len; /* raw bytes gathered for the sample */
    char sample_raw[INSPECT_SAMPLE_MAX];
    pending_req pending[PENDING_MAX]; /* completed requests awaiting a response */
    unsigned n_pending;
    void *ud; /* the owner's flow (flow_ud) */
    TAILQ_ENTRY(inspect_flow) lru;
};

/* ==== HTTP callbacks ==== */

static void content_release(inspect_ctx *c, content_ctx *x)
{
    if (!x) return;
    if (c->n_pool < CONTENT_POOL)
        c->pool[c->n_pool++] = x;
    else
        content_free(x);
}

static void body_begin(inspect_flow *f, const char *ctype, const char *filename)
{
    content_hint h = {ctype, filename, NULL};
    inspect_ctx *c = f->ctx;
    if (!f->content) f->content = c->n_pool ? c->pool[--c->n_pool] : content_new(&c->clim);
    if (!f->content) return;
    content_begin(f->content, &h);
    f->in_body = true;
}

/* Ends the detector; keeps the result if it saw more than the kept one.  An
 * empty body (a GET, a 0-byte part) gives no content summary. */
static void body_end(inspect_flow *f, const char *filename)
{
    if (!f->in_body || !f->content) return;
    content_result r;
    content_end(f->content, &r);
    f->in_body = false;
    content_release(f->ctx, f->content);
    f->content = NULL;
    if (r.bytes == 0) return; /* no body: no content summary */
    const content_result *k = &f->cur.content;
    if (!f->cur.has_content || r.messages + r.records + r.embedded_messages >
                                   k->messages + k->records + k->embedded_messages) {
        f->cur.content = r;
        f->cur.has_content = true;
        if (filename) snprintf(f->cur.filename, sizeof(f->cur.filename), "%s", filename);
    }
}

static void on_request_headers(void *ud, const http_txn *t)
{
    inspect_flow *f = ud;
    memset(&f->cur, 0, sizeof(f->cur));
    f->cur.decrypted = f->tls != NULL;
    f->sample_len = 0;
    f->ctx->requests++;
    /* no body (GET...): nothing to detect.  Multipart bodies are inspected
     * per file part (on_part_begin). */
    /* HTTP/2 frames every body: a request without one ends its stream on
     * its HEADERS (declared_len 0 or, without content-length, -1 and no
     * DATA to come: then the detector just sees no bytes) */
    bool body = t->req.declared_len > 0 || (t->req.flags & HTTP_MSG_CHUNKED) ||
                (t->protocol == HTTP_PROTO_2 && t->req.declared_len != 0);
    if (body && !strstr(t->req.content_type, "multipart/"))
        body_begin(f, t->req.content_type, NULL);
}

static void on_body_data(void *ud, const http_txn *t, http_dir dir, const http_part *part,
                         const uint8_t *data, size_t len)
{
    (void)t;
    inspect_flow *f = ud;
    if (dir != HTTP_DIR_REQ || !f->in_body) return;
    (void)part;
    content_feed(f->content, data, len);
    if (f->ctx->samples && f->sample_len < sizeof(f->sample_raw)) {
        size_t n = sizeof(f->sample_raw) - f->sample_len;
        if (n > len) n = len;
        memcpy(f->sample_raw + f->sample_len, data, n);
        f->sample_len += n;
    }
}

/* Body bytes the capture lost (a gap inside a body of known length): the
 * detector goes on in lossy mode from its next line or record. */
static void on_body_gap(void *ud, const http_txn *t, http_dir dir, const http_part *part,
                        uint64_t len)
{
    (void)t, (void)part;
    inspect_flow *f = ud;
    if (dir != HTTP_DIR_REQ || !f->in_body) return;
    content_gap(f->content, len);
}

static void on_part_begin(void *ud, const http_txn *t, http_dir dir, const http_part *part)
{
    (void)t;
    inspect_flow *f = ud;
    if (dir != HTTP_DIR_REQ) return;
    if (part->is_file) body_begin(f, part->content_type, part->filename);
}

static void on_part_end(void *ud, const http_txn *t, http_dir dir, const http_part *part)
{
    (void)t;
    inspect_flow *f = ud;
    if (dir != HTTP_DIR_REQ) return;
    if (part->is_file) {
        body_end(f, part->filename);
    } else if (strcmp(part->name, "purpose") == 0) {
        snprintf(f->cur.purpose, sizeof(f->cur.purpose), "%.*s", (int)part->value_len, part->value);
    }
}

/* The request's anomalies, and whether the client's stream carried
 * conflicting copies of the same bytes (first copy kept: docs/EVASION.md). */
static uint32_t anomalies_of(const inspect_flow *f, const http_txn *t)
{
    return t->anomalies | (f->st[0].overlap_conflicts ? HTTP_ANOM_TCP_OVERLAP : 0);
}

static void on_request_complete(void *ud, const http_txn *t)
{
    inspect_flow *f = ud;
    body_end(f, NULL);
    f->cur.t = t;
    f->cur.anomalies = anomalies_of(f, t);
    if (f->cur.has_content) f->ctx->bodies++;
    if (f->ctx->samples && f->sample_len)
        content_redact(f->sample_raw, f->sample_len, f->cur.sample, sizeof(f->cur.sample));
    if (f->ctx->cb.on_request) f->ctx->cb.on_request(f->ctx->cb_ud, f->ud, &f->cur);
    if (f->n_pending < PENDING_MAX) {
        pending_req *q = &f->pending[f->n_pending++];
        q->t = t;
        q->content = f->cur.content;
        q->has_content = f->cur.has_content;
        memcpy(q->purpose, f->cur.purpose, sizeof(q->purpose));
        memcpy(q->filename, f->cur.filename, sizeof(q->filename));
    }
}

static void on_response_complete(void *ud, const http_txn *t)
{
    inspect_flow *f = ud;
    /* also called for requests that got no response (flow end) */
    if (!(t->flags & HTTP_TXN_NO_RESPONSE)) f->ctx->responses++;
    if (f->http && !f->h2 && t->status == 101 && strcmp(t->upgrade, "h2c") == 0) {
        f->up = *t; /* parser_feed starts HTTP/2 with it */
        f->upgraded = true;
    }
    inspect_req r;
    memset(&r, 0, sizeof(r));
    /* pair with the pending request of this transaction */
    for (unsigned i = 0; i < f->n_pending; i++) {
        if (f->pending[i].t == t) {
            r.content = f->pending[i].content;
            r.has_content = f->pending[i].has_content;
            memcpy(r.purpose, f->pending[i].purpose, sizeof(r.purpose));
            memcpy(r.filename, f->pending[i].filename, sizeof(r.filename));
            memmove(&f->pending[i], &f->pending[i + 1],
                    (f->n_pending - i - 1) * sizeof(f->pending[0]));
            f->n_pending--;
            break;
        }
    }
    r.t = t;
    r.anomalies = anomalies_of(f, t);
    r.decrypted = f->tls != NULL;
    if (f->ctx->cb.on_txn_done) f->ctx->cb.on_txn_done(f->ctx->cb_ud, f->ud, &r);
}

static void on_event(void *ud, const http_txn *t, http_dir dir, http_event ev)
{
    (void)t, (void)dir, (void)ev;
    inspect_flow *f = ud;
    f->ctx->http_events++;
}

/* ==== reassembly -> [TLS] -> HTTP/1.x or HTTP/2 ==== */

static const http_callbacks HCB = {
    .on_request_headers = on_request_headers,
    .on_body_data = on_body_data,
    .on_body_gap = on_body_gap,
    .on_part_begin = on_part_begin,
    .on_part_end = on_part_end,
    .on_request_complete = on_request_complete,
    .on_response_complete = on_response_complete,
    .on_event = on_event,
};

/* The parser for a decrypted stream: HTTP/2 when the server chose "h2" or
 * the client starts with the preface, else HTTP/1.x.  false when it
 * cannot be allocated (the flow's plaintext is then dropped). */
static bool parser_pick(inspect_flow *f, http_dir dir, const uint8_t *data, size_t len)
{
    if (f->http || f->h2) return true;
    const char *alpn = f->tls ? tlsdec_alpn(f->tls) : NULL;
    bool h2 = (alpn && strcmp(alpn, "h2") == 0) ||
              (dir == HTTP_DIR_REQ && h2_looks_like_preface(data, len));
    if (h2) {
        f->h2 = h2_conn_new(&f->ctx->h2lim, &HCB, f);
        if (f->h2) f->ctx->flows_h2++;
        return f->h2 != NULL;
    }
    f->http = http_conn_new(&f->ctx->hlim, &HCB, f);
    return f->http != NULL;
}

static void parser_feed_picked(inspect_flow *f, http_dir dir, const uint8_t *data, size_t len);

/* A clear-text stream of unknown kind (INSPECT_ANY): the client's first
 * bytes are gathered while they could still be the HTTP/2 preface (a
 * client sending tiny segments), then the parser is picked on them. */
static void parser_feed(inspect_flow *f, http_dir dir, const uint8_t *data, size_t len)
{
    if (f->http || f->h2 || f->tls || dir != HTTP_DIR_REQ ||
        (f->pick_len == 0 && len >= sizeof(f->pick))) {
        parser_feed_picked(f, dir, data, len);
        return;
    }
    size_t k = sizeof(f->pick) - f->pick_len;
    if (k > len) k = len;
    memcpy(f->pick + f->pick_len, data, k);
    size_t have = f->pick_len + k;
    if (have < sizeof(f->pick) && h2_looks_like_preface(f->pick, have)) {
        f->pick_len = (uint8_t)have;
        return;
    }
    f->pick_len = 0;
    uint8_t buf[sizeof(f->pick)];
    memcpy(buf, f->pick, have);
    parser_feed_picked(f, dir, buf, have);
    if (len > k) parser_feed_picked(f, dir, data + k, len - k);
}

static void parser_feed_picked(inspect_flow *f, http_dir dir, const uint8_t *data, size_t len)
{
    if (!parser_pick(f, dir, data, len)) return;
    if (f->h2) {
        h2_conn_feed(f->h2, dir, data, len);
        return;
    }
    uint64_t before = http_conn_stats_get(f->http)->ignored_bytes[dir];
    http_conn_feed(f->http, dir, data, len);
    if (!f->upgraded) return;
    /* Upgrade: h2c -- HTTP/1.1 stopped after the 101's header block, and
     * what it ignored of this piece is HTTP/2 already; the upgrade request
     * becomes stream 1 */
    f->upgraded = false;
    size_t rest = (size_t)(http_conn_stats_get(f->http)->ignored_bytes[dir] - before);
    f->h2 = h2_conn_new_upgraded(&f->ctx->h2lim, &HCB, f, &f->up);
    if (!f->h2) return;
    f->ctx->flows_h2++;
    if (rest && rest <= len) h2_conn_feed(f->h2, dir, data + len - rest, rest);
}

static void parser_gap(inspect_flow *f, http_dir dir, uint64_t len)
{
    if (f->h2)
        h2_conn_gap(f->h2, dir, len);
    else if (f->http)
        http_conn_gap(f->http, dir, len);
}

static void parser_end(inspect_flow *f, http_dir dir)
{
    if (f->pick_len && dir == HTTP_DIR_REQ) { /* a short stream: pick on what came */
        uint8_t buf[sizeof(f->pick)];
        size_t n = f->pick_len;
        memcpy(buf, f->pick, n);
        f->pick_len = 0;
        parser_feed_picked(f, dir, buf, n);
    }
    if (f->ended[dir]) return;
    f->ended[dir] = true;
    if (f->h2)
        h2_conn_end(f->h2, dir);
    else if (f->http)
        http_conn_end(f->http, dir);
}

/* Decrypted application data (only what authenticated) and its gaps. */
static void tls_deliver(void *ud, int dir, tlsdec_event ev, const uint8_t *data, size_t len)
{
    inspect_flow *f = ud;
    http_dir d = dir == 0 ? HTTP_DIR_REQ : HTTP_DIR_RESP;
    switch (ev) {
    case TLSDEC_DATA:
        parser_feed(f, d, data, len);
        break;
    case TLSDEC_GAP:
        parser_gap(f, d, len);
        break;
    case TLSDEC_END:
        parser_end(f, d);
        break;
    }
}

static void deliver(void *ud, reasm_event ev, const uint8_t *data, size_t len, http_dir dir)
{
    inspect_flow *f = ud;
    int d = dir == HTTP_DIR_REQ ? 0 : 1;
    switch (ev) {
    case REASM_DATA:
        if (f->tls)
            tlsdec_feed(f->tls, d, data, len);
        else
            parser_feed(f, dir, data, len);
        break;
    case REASM_GAP:
        if (f->tls)
            tlsdec_gap(f->tls, d, len);
        else
            parser_gap(f, dir, len);
        break;
    case REASM_DEPTH:
    case REASM_END:
        if (f->tls)
            tlsdec_end(f->tls, d);
        else
            parser_end(f, dir);
        break;
    }
}

static void deliver_req(void *ud, reasm_event ev, const uint8_t *data, size_t len)
{
    deliver(ud, ev, data, len, HTTP_DIR_REQ);
}

static void deliver_resp(void *ud, reasm_event ev, const uint8_t *data, size_t len)
{
    deliver(ud, ev, data, len, HTTP_DIR_RESP);
}

static const reasm_deliver_fn deliver_fn[2] = {deliver_req, deliver_resp};

/* ==== public ==== */

inspect_ctx *inspect_new(size_t memcap, size_t depth, bool samples, keylog_table *keys,
                         const inspect_callbacks *cb, void *ctx_ud)
{
    inspect_ctx *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    TAILQ_INIT(&c->lru);
    c->reasm = reasm_ctx_new(memcap ? memcap : 64u << 20, depth ? depth : 4u << 20);
    if (!c->reasm) {
        free(c);
        return NULL;
    }
    if (keys) {
        /* secrets live only as long as their session (forget) */
        tlsdec_config tc = {.keys = keys, .forget = true};
        c->keys = keys;
        c->tls = tlsdec_ctx_new(&tc);
        if (!c->tls) {
            reasm_ctx_free(c->reasm);
            free(c);
            return NULL;
        }
    }
    http_limits_default(&c->hlim);
    h2_limits_default(&c->h2lim);
    c->hlim.max_pipeline = PENDING_MAX; /* deeper pipelines are rare; each slot is ~2 KB */
    content_limits_default(&c->clim);
    if (cb) c->cb = *cb;
    c->cb_ud = ctx_ud;
    c->samples = samples;
    c->max_live = INSPECT_STATE_CAP / INSPECT_FLOW_BYTES;
    return c;
}

void inspect_free(inspect_ctx *c)
{
    if (!c) return;
    while (c->n_pool) content_free(c->pool[--c->n_pool]);
    reasm_ctx_free(c->reasm);
    tlsdec_ctx_free(c->tls);
    free(c);
}

int inspect_wants(const inspect_ctx *c, const uint8_t *p, size_t len)
{
    static const char *const methods[] = {"GET ",     "POST ", "PUT ",     "PATCH ", "DELETE ",
                                          "OPTIONS ", "HEAD ", "CONNECT ", NULL};
    bool maybe = false;
    for (const char *const *m = methods; *m; m++) {
        size_t n = strlen(*m);
        if (len >= n && memcmp(p, *m, n) == 0) return INSPECT_HTTP;
        if (len < n && memcmp(p, *m, len) == 0) maybe = true;
    }
    if (h2_looks_like_preface(p, len)) {
        if (len >= 24) return INSPECT_H2C;
        maybe = true;
    }
    if (maybe) return INSPECT_ANY;
    /* a TLS handshake record opening with a ClientHello, once a key log is
     * followed or has held a key (a sensor without keys reassembles no TLS) */
    if (c->tls && keylog_table_generation(c->keys) != 0 && len >= 6 && p[0] == 0x16 &&
        p[1] == 0x03 && p[5] == 0x01)
        return INSPECT_TLS;
    return INSPECT_NONE;
}

void inspect_flow_seq_base(inspect_flow *f, int dir, uint32_t seq)
{
    reasm_stream_start(&f->st[dir ? 1 : 0], seq);
}

inspect_flow *inspect_flow_new(inspect_ctx *c, void *flow_ud, int kind)
{
    inspect_flow *old;
    while (c->live >= c->max_live && (old = TAILQ_FIRST(&c->lru))) {
        void *old_ud = old->ud;
        c->evicted++;
        inspect_flow_end(c, old);
        if (c->cb.on_evict) c->cb.on_evict(c->cb_ud, old_ud);
    }
    inspect_flow *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->ctx = c;
    bool ok = true;
    if (kind == INSPECT_TLS && c->tls) {
        f->tls = tlsdec_session_new(c->tls, tls_deliver, f);
        ok = f->tls != NULL;
        if (ok) c->flows_tls++;
    } else if (kind == INSPECT_H2C) {
        f->h2 = h2_conn_new(&c->h2lim, &HCB, f);
        ok = f->h2 != NULL;
        if (ok) c->flows_h2++;
    } else if (kind == INSPECT_ANY) {
        /* parser_pick chooses at the first in-order bytes */
    } else {
        f->http = http_conn_new(&c->hlim, &HCB, f);
        ok = f->http != NULL;
    }
    if (!ok) {
        free(f);
        return NULL;
    }
    reasm_stream_init(&f->st[0]);
    reasm_stream_init(&f->st[1]);
    f->ud = flow_ud;
    TAILQ_INSERT_TAIL(&c->lru, f, lru);
    c->flows++;
    c->live++;
    return f;
}

void inspect_packet(inspect_ctx *c, inspect_flow *f, int dir, const dec_pkt *p)
{
    if (!f || p->proto != 6) return;
    if (TAILQ_NEXT(f, lru)) { /* not the most recent yet */
        TAILQ_REMOVE(&c->lru, f, lru);
        TAILQ_INSERT_TAIL(&c->lru, f, lru);
    }
    reasm_push(c->reasm, &f->st[dir], p->seq, p->tcp_flags, p->payload, p->payload_len,
               deliver_fn[dir], f);
    /* a decrypted direction: AEAD guards what is inspected (reasm.h) */
    if (f->tls && !(f->st[dir].flags & REASM_ST_NOHIST) && tlsdec_dir_keyed(f->tls, dir))
        reasm_stream_no_history(&f->st[dir]);
    /* the ACK tells the other stream that a hole before it will not fill */
    if (p->tcp_flags & TH_ACK) reasm_ack(c->reasm, &f->st[!dir], p->ack, deliver_fn[!dir], f);
}

void inspect_flow_end(inspect_ctx *c, inspect_flow *f)
{
    if (!f) return;
    TAILQ_REMOVE(&c->lru, f, lru);
    reasm_stream_close(c->reasm, &f->st[0], deliver_fn[0], f);
    reasm_stream_close(c->reasm, &f->st[1], deliver_fn[1], f);
    if (f->tls) {
        tlsdec_end(f->tls, 0);
        tlsdec_end(f->tls, 1);
    }
    parser_end(f, HTTP_DIR_REQ);
    parser_end(f, HTTP_DIR_RESP);
    reasm_stream_free(c->reasm, &f->st[0]);
    reasm_stream_free(c->reasm, &f->st[1]);
    tlsdec_session_free(f->tls);
    http_conn_free(f->http);
    h2_conn_free(f->h2);
    content_release(c, f->content);
    free(f);
    c->live--;
}

void inspect_get_stats(const inspect_ctx *c, inspect_stats *out)
{
    memset(out, 0, sizeof(*out));
    reasm_stats rs;
    reasm_ctx_stats(c->reasm, &rs);
    out->flows = c->flows;
    out->requests = c->requests;
    out->responses = c->responses;
    out->bodies = c->bodies;
    out->http_events = c->http_events;
    out->flows_live = c->live;
    out->flows_evicted = c->evicted;
    out->flows_tls = c->flows_tls;
    out->flows_h2 = c->flows_h2;
    out->has_tls = c->tls != NULL;
    if (c->tls) tlsdec_ctx_stats(c->tls, &out->tls);
    out->reasm_bytes_now = rs.bytes_buffered;
    out->reasm_peak = rs.bytes_peak;
    out->reasm_memcap_drops = rs.memcap_drops;
    out->reasm_gaps = rs.gaps;
    out->reasm_depth = rs.depth_reached;
    out->reasm_overlap_conflict = rs.overlap_conflict;
}
