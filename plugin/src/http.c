/*
 * http.c -- streaming HTTP/1.x parser (RFC 9112): start lines, bounded
 * header blocks, Content-Length / chunked framing and pipelining; bodies
 * are decoded (gzip / deflate, multipart) by body.c, shared with h2.c.
 * Contracts in http.h.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "body.h"

/* Internal txn flag: the response finished while the request was still
 * streaming; on_response_complete follows on_request_complete. */
#define TXN_DEFER_RESP 0x80000000u

enum pstate {
    S_LINE0,      /* waiting for a start line */
    S_HEADERS,    /* header block */
    S_BODY_CL,    /* Content-Length body, 'remaining' left */
    S_CHUNK_SIZE, /* chunk-size line */
    S_CHUNK_DATA, /* chunk data, 'remaining' left */
    S_CHUNK_CRLF, /* the CRLF after chunk data */
    S_TRAILERS,   /* trailer block after the last chunk */
    S_BODY_EOF,   /* body until the connection ends */
    S_STOPPED,    /* malformed or desynchronised: ignore the rest */
    S_TUNNEL,     /* 101 / CONNECT: not HTTP any more */
    S_RESYNC,     /* after a gap: skipping lines until one looks like a start line */
};

typedef struct dstate {
    int st; /* enum pstate */
    char *line;
    size_t line_len;
    size_t hdr_bytes;
    unsigned hdr_count;
    uint64_t remaining;
    http_txn *t;       /* message in progress (NULL in S_LINE0) */
    bool announced;    /* headers callback done */
    bool discard;      /* S_RESYNC: dropping the rest of a line */
    bool overlong;     /* dropping the rest of an over-long header line (its start is kept) */
    unsigned limit_ev; /* header-limit events raised for this message (bit per event) */
    bool host_hdr;     /* a Host field was seen */
    bool host_uri;     /* t->host came from an absolute URI */
    /* framing facts from the header block */
    int64_t cl;
    bool cl_bad, te_present, te_chunked, te_bad;
    char boundary[72];
    body_dec body; /* decoding (enc, skip, zlib, multipart) */
} dstate;

struct http_conn {
    http_limits lim;
    http_callbacks cb;
    void *ud;
    body_env env; /* the body decoders report through cb, ud, st.events */
    dstate d[2];
    http_txn *ring; /* requests awaiting a response, oldest at head */
    unsigned head, count;
    http_txn spare;  /* request beyond the ring */
    http_txn orphan; /* response without a request */
    uint64_t next_id;
    bool ended[2];
    http_conn_stats st;
};

static const char *const event_names[] = {
#define HTTP_EV_STR(name, str) str,
    HTTP_EVENTS(HTTP_EV_STR)
#undef HTTP_EV_STR
};

const char *http_event_name(http_event ev)
{
    return (unsigned)ev < HTTP_EV__COUNT ? event_names[ev] : "?";
}

static const char *const anomaly_names[] = {
#define HTTP_ANOM_STR(name, str) str,
    HTTP_ANOMALIES(HTTP_ANOM_STR)
#undef HTTP_ANOM_STR
};

const char *http_anomaly_name(unsigned i)
{
    return i < HTTP_ANOM__COUNT ? anomaly_names[i] : "?";
}

char *http_anomaly_names(uint32_t anomalies, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap) buf[0] = 0;
    for (unsigned i = 0; i < HTTP_ANOM__COUNT; i++) {
        if (!(anomalies & (1u << i))) continue;
        int w = snprintf(buf + n, cap - n, "%s%s", n ? "," : "", anomaly_names[i]);
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
    }
    return buf;
}

void http_host_normalize(const char *v, size_t n, char *out, size_t cap)
{
    ascii_trim(&v, &n);
    if (n && v[0] == '[') { /* IPv6 literal: up to the bracket */
        const char *rb = memchr(v, ']', n);
        if (rb) n = (size_t)(rb - v) + 1;
    } else {
        /* ":port" (digits, possibly none): servers route on the name alone */
        size_t i = n;
        while (i > 0 && v[i - 1] >= '0' && v[i - 1] <= '9') i--;
        if (i > 0 && v[i - 1] == ':') n = i - 1;
    }
    while (n && v[n - 1] == '.') n--; /* "api.openai.com." is the same name */
    ascii_copy_trunc(out, cap, v, n);
    for (char *q = out; *q; q++) *q = (char)ascii_lower((unsigned char)*q);
}

/* The authority of an absolute-form target ("http://user@host:port/path"),
 * or false. */
static bool uri_authority(const char *u, size_t n, const char **a, size_t *an)
{
    size_t skip = ascii_iprefix(u, n, "http://") ? 7 : ascii_iprefix(u, n, "https://") ? 8 : 0;
    if (!skip) return false;
    size_t e = skip;
    while (e < n && u[e] != '/' && u[e] != '?' && u[e] != '#') e++;
    size_t st = skip;
    for (size_t k = skip; k < e; k++)
        if (u[k] == '@') st = k + 1; /* userinfo is not the host */
    *a = u + st;
    *an = e - st;
    return true;
}
void http_limits_default(http_limits *l)
{
    l->max_line = 8192;
    l->max_header_bytes = 65536;
    l->max_headers = 128;
    l->max_pipeline = 8;
    l->inflate_max_out = 64u << 20;
    l->inflate_max_ratio = 200;
    l->inflate_ratio_floor = 1u << 20;
}

/* ---- events, txns ---- */

static void event(http_conn *c, http_dir dir, const http_txn *t, http_event ev)
{
    c->st.events[ev]++;
    if (c->cb.on_event) c->cb.on_event(c->ud, t, dir, ev);
}

static http_msg *msg_of(http_txn *t, http_dir dir)
{
    return dir == HTTP_DIR_REQ ? &t->req : &t->resp;
}

static void txn_reset(http_conn *c, http_txn *t)
{
    memset(t, 0, sizeof(*t));
    t->id = ++c->next_id;
    t->req.declared_len = -1;
    t->resp.declared_len = -1;
}

static http_txn *txn_for_request(http_conn *c)
{
    http_txn *t;
    if (c->count < c->lim.max_pipeline) {
        t = &c->ring[(c->head + c->count) % c->lim.max_pipeline];
        c->count++;
        txn_reset(c, t);
    } else {
        t = &c->spare;
        txn_reset(c, t);
        t->flags |= HTTP_TXN_UNPAIRED;
        event(c, HTTP_DIR_REQ, t, HTTP_EV_PIPELINE_OVERFLOW);
    }
    return t;
}

static bool in_ring(const http_conn *c, const http_txn *t)
{
    return t >= c->ring && t < c->ring + c->lim.max_pipeline;
}

static void ring_pop(http_conn *c)
{
    c->head = (c->head + 1) % c->lim.max_pipeline;
    c->count--;
}

static void response_done_cb(http_conn *c, http_txn *t)
{
    c->st.responses++;
    if (c->cb.on_response_complete) c->cb.on_response_complete(c->ud, t);
}

/* Queued requests that will never see a response. */
static void flush_unanswered(http_conn *c)
{
    while (c->count) {
        http_txn *t = &c->ring[c->head];
        if (c->d[HTTP_DIR_RESP].t == t) break; /* being answered */
        if (c->d[HTTP_DIR_REQ].t == t) {       /* request still streaming */
            t->flags |= TXN_DEFER_RESP | HTTP_TXN_NO_RESPONSE;
            ring_pop(c);
            continue;
        }
        t->flags |= HTTP_TXN_NO_RESPONSE;
        ring_pop(c);
        response_done_cb(c, t);
    }
}

/* ---- message lifecycle ---- */

static void msg_reset(dstate *d)
{
    d->t = NULL;
    d->announced = false;
    d->hdr_bytes = 0;
    d->hdr_count = 0;
    d->remaining = 0;
    d->cl = -1;
    d->cl_bad = d->te_present = d->te_chunked = d->te_bad = false;
    d->overlong = d->host_hdr = d->host_uri = false;
    d->limit_ev = 0;
    d->boundary[0] = 0;
    body_reset(&d->body);
}

static void announce(http_conn *c, http_dir dir)
{
    dstate *d = &c->d[dir];
    if (d->announced || !d->t) return;
    d->announced = true;
    if (dir == HTTP_DIR_REQ) {
        if (c->cb.on_request_headers) c->cb.on_request_headers(c->ud, d->t);
    } else if (c->cb.on_response_headers) {
        c->cb.on_response_headers(c->ud, d->t);
    }
}

/* Ends the current message of 'dir' (complete or truncated), calls the
 * completion callbacks and returns the direction to S_LINE0. */
static void msg_done(http_conn *c, http_dir dir, bool truncated)
{
    dstate *d = &c->d[dir];
    http_txn *t = d->t;
    if (!t) {
        if (d->st != S_STOPPED && d->st != S_TUNNEL && d->st != S_RESYNC) d->st = S_LINE0;
        return;
    }
    http_msg *m = msg_of(t, dir);
    if (truncated) {
        m->flags |= HTTP_MSG_TRUNCATED;
        if (!d->announced) m->flags |= HTTP_MSG_HEADERS_ONLY;
        event(c, dir, t, HTTP_EV_TRUNCATED);
    } else {
        m->flags |= HTTP_MSG_COMPLETE;
    }
    announce(c, dir);
    body_finish(&d->body);
    int next = (d->st == S_STOPPED || d->st == S_TUNNEL || d->st == S_RESYNC) ? d->st : S_LINE0;
    msg_reset(d);
    d->st = next;
    if (dir == HTTP_DIR_REQ) {
        c->st.requests++;
        if (c->cb.on_request_complete) c->cb.on_request_complete(c->ud, t);
        if (t->flags & TXN_DEFER_RESP) {
            t->flags &= ~TXN_DEFER_RESP;
            response_done_cb(c, t);
        } else if (t == &c->spare) {
            response_done_cb(c, t);
        } else if (c->ended[HTTP_DIR_RESP]) {
            flush_unanswered(c);
        }
        return;
    }
    if (in_ring(c, t) && c->count && t == &c->ring[c->head]) {
        ring_pop(c);
        if (c->d[HTTP_DIR_REQ].t == t) { /* early response: report after the request */
            t->flags |= TXN_DEFER_RESP;
            return;
        }
    }
    response_done_cb(c, t);
}

static void stop_dir(http_conn *c, http_dir dir, http_event ev)
{
    dstate *d = &c->d[dir];
    if (d->t) d->t->anomalies |= HTTP_ANOM_MALFORMED;
    event(c, dir, d->t, ev);
    d->st = S_STOPPED;
    c->st.stopped[dir] = true;
    if (d->t) msg_done(c, dir, true);
}

/* ---- start line and headers ---- */

static bool is_tchar(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool parse_version(const char *s, size_t n)
{
    return n == 8 && memcmp(s, "HTTP/1.", 7) == 0 && s[7] >= '0' && s[7] <= '9';
}

static void start_line(http_conn *c, http_dir dir, const char *s, size_t n)
{
    dstate *d = &c->d[dir];
    if (dir == HTTP_DIR_REQ) {
        size_t i = 0;
        while (i < n && is_tchar((unsigned char)s[i])) i++;
        size_t ml = i;
        if (ml == 0 || ml >= sizeof(((http_txn *)0)->method) || i >= n || s[i] != ' ') {
            stop_dir(c, dir, HTTP_EV_BAD_REQUEST_LINE);
            return;
        }
        size_t us = ++i;
        /* The target ends at the last space: a URI with raw spaces (attack
         * tools send them, lenient servers accept them) must not hide the
         * request from inspection; libhtp does the same. */
        size_t last = n;
        while (last > us && s[last - 1] != ' ') last--;
        if (last <= us) {
            stop_dir(c, dir, HTTP_EV_BAD_REQUEST_LINE);
            return;
        }
        i = last - 1;
        for (size_t k = us; k < i; k++)
            if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f) {
                stop_dir(c, dir, HTTP_EV_BAD_REQUEST_LINE);
                return;
            }
        size_t ue = i;
        if (ue == us || !parse_version(s + i + 1, n - i - 1)) {
            stop_dir(c, dir, HTTP_EV_BAD_REQUEST_LINE);
            return;
        }
        http_txn *t = txn_for_request(c);
        ascii_copy_trunc(t->method, sizeof(t->method), s, ml);
        if (ascii_copy_trunc(t->uri, sizeof(t->uri), s + us, ue - us))
            t->flags |= HTTP_TXN_URI_TRUNC;
        const char *a;
        size_t an;
        if (uri_authority(s + us, ue - us, &a, &an)) {
            /* RFC 9112 3.2.2: the target's authority wins over Host */
            t->anomalies |= HTTP_ANOM_ABSOLUTE_URI;
            http_host_normalize(a, an, t->host, sizeof(t->host));
            d->host_uri = t->host[0] != 0;
        }
        d->t = t;
    } else {
        if (n < 12 || !parse_version(s, 8) || s[8] != ' ' || (n > 12 && s[12] != ' ')) {
            stop_dir(c, dir, HTTP_EV_BAD_STATUS_LINE);
            return;
        }
        int status = 0;
        for (int i = 9; i < 12; i++) {
            if (s[i] < '0' || s[i] > '9') {
                stop_dir(c, dir, HTTP_EV_BAD_STATUS_LINE);
                return;
            }
            status = status * 10 + (s[i] - '0');
        }
        http_txn *t;
        if (c->count) {
            t = &c->ring[c->head];
        } else {
            t = &c->orphan;
            txn_reset(c, t);
            c->next_id--; /* orphans do not consume request ids */
            t->id = 0;
            t->flags |= HTTP_TXN_ORPHAN;
            event(c, dir, t, HTTP_EV_UNSOLICITED_RESPONSE);
        }
        t->resp.declared_len = -1;
        t->status = status;
        d->t = t;
    }
    d->st = S_HEADERS;
}

/* A header block over a limit: an event (once per message and kind) and
 * an anomaly, never a reason to stop looking for the fields that matter. */
static void header_limit(http_conn *c, http_dir dir, http_event ev)
{
    dstate *d = &c->d[dir];
    unsigned bit = ev == HTTP_EV_TOO_MANY_HEADERS ? 1u : 2u;
    if (d->t) d->t->anomalies |= HTTP_ANOM_HEADER_LIMIT;
    if (d->limit_ev & bit) return;
    d->limit_ev |= bit;
    event(c, dir, d->t, ev);
}

bool http_host_merge(char *host, size_t cap, char *alt, size_t altcap, const char *h, bool have)
{
    if (!have) {
        snprintf(host, cap, "%s", h);
        return false;
    }
    if (strcmp(h, host) == 0) return false;
    if (!alt[0]) snprintf(alt, altcap, "%s", h);
    return true;
}

/* A Host field: the first one wins (what most servers and proxies route
 * on); a later, different one is kept in host_alt so that attribution can
 * try it too. */
static void host_field(dstate *d, http_txn *t, const char *v, size_t vn)
{
    char h[sizeof(t->host)];
    http_host_normalize(v, vn, h, sizeof(h));
    if (d->host_hdr) t->anomalies |= HTTP_ANOM_HOST_DUPLICATE;
    bool differs = http_host_merge(t->host, sizeof(t->host), t->host_alt, sizeof(t->host_alt), h,
                                   d->host_hdr || d->host_uri);
    if (differs && !d->host_hdr) t->anomalies |= HTTP_ANOM_HOST_MISMATCH;
    d->host_hdr = true;
}

static void header_line(http_conn *c, http_dir dir, const char *s, size_t n)
{
    dstate *d = &c->d[dir];
    if (ascii_is_ows(s[0])) return; /* obsolete line folding: ignored */
    /* Past the count limit only the fields that decide attribution and
     * framing are still read. */
    bool over = ++d->hdr_count > c->lim.max_headers;
    if (over) header_limit(c, dir, HTTP_EV_TOO_MANY_HEADERS);
    const char *colon = memchr(s, ':', n);
    if (!colon) return; /* not a field: ignored */
    size_t nl = (size_t)(colon - s);
    const char *v = colon + 1;
    size_t vn = n - nl - 1;
    ascii_trim(&v, &vn);
    http_txn *t = d->t;
    http_msg *m = msg_of(t, dir);
    if (dir == HTTP_DIR_REQ && ascii_ieq(s, nl, "host")) {
        host_field(d, t, v, vn);
    } else if (!over && dir == HTTP_DIR_REQ && ascii_ieq(s, nl, "user-agent")) {
        ascii_copy_trunc(t->user_agent, sizeof(t->user_agent), v, vn);
    } else if (!over && dir == HTTP_DIR_REQ && ascii_ieq(s, nl, "upgrade")) {
        ascii_copy_trunc(t->upgrade, sizeof(t->upgrade), v, vn);
    } else if (!over && dir == HTTP_DIR_REQ && ascii_ieq(s, nl, "http2-settings")) {
        ascii_copy_trunc(t->h2_settings, sizeof(t->h2_settings), v, vn);
    } else if (ascii_ieq(s, nl, "content-type")) {
        ascii_copy_trunc(m->content_type, sizeof(m->content_type), v, vn);
        if (ascii_iprefix(v, vn, "multipart/form-data"))
            body_get_param(v, vn, "boundary", d->boundary, sizeof(d->boundary));
    } else if (ascii_ieq(s, nl, "content-encoding")) {
        ascii_copy_trunc(m->content_encoding, sizeof(m->content_encoding), v, vn);
    } else if (ascii_ieq(s, nl, "content-length")) {
        int64_t val = 0;
        if (vn == 0 || vn > 15) d->cl_bad = true;
        for (size_t i = 0; i < vn && !d->cl_bad; i++) {
            if (v[i] < '0' || v[i] > '9')
                d->cl_bad = true;
            else
                val = val * 10 + (v[i] - '0');
        }
        if (!d->cl_bad && d->cl >= 0 && d->cl != val) d->cl_bad = true;
        if (!d->cl_bad) d->cl = val;
    } else if (ascii_ieq(s, nl, "transfer-encoding")) {
        /* A list of codings; the last must be chunked to frame a request. */
        d->te_present = true;
        size_t i = 0;
        while (i < vn) {
            size_t st = i;
            while (i < vn && v[i] != ',') i++;
            const char *tok = v + st;
            size_t tl = i - st;
            ascii_trim(&tok, &tl);
            i++;
            if (tl == 0) continue;
            if (d->te_chunked) d->te_bad = true; /* chunked must be last */
            if (ascii_ieq(tok, tl, "chunked")) {
                d->te_chunked = true;
                continue;
            }
            t->anomalies |= HTTP_ANOM_TRANSFER_CODING;
            if (ascii_ieq(tok, tl, "gzip") || ascii_ieq(tok, tl, "x-gzip"))
                d->body.enc = d->body.enc == BODY_ENC_NONE ? BODY_ENC_GZIP : BODY_ENC_UNSUPPORTED;
            else if (ascii_ieq(tok, tl, "deflate"))
                d->body.enc =
                    d->body.enc == BODY_ENC_NONE ? BODY_ENC_DEFLATE : BODY_ENC_UNSUPPORTED;
            else if (!ascii_ieq(tok, tl, "identity"))
                d->body.enc = BODY_ENC_UNSUPPORTED;
        }
    }
}

static void body_begin(http_conn *c, http_dir dir)
{
    dstate *d = &c->d[dir];
    body_start(&d->body, &c->env, d->t, dir, d->boundary);
}

static void headers_done(http_conn *c, http_dir dir)
{
    dstate *d = &c->d[dir];
    http_txn *t = d->t;
    http_msg *m = msg_of(t, dir);
    if (d->cl_bad) {
        stop_dir(c, dir, HTTP_EV_BAD_CONTENT_LENGTH);
        return;
    }
    if (d->te_present) m->flags |= d->te_chunked ? HTTP_MSG_CHUNKED : 0;
    m->declared_len = d->cl;
    if (dir == HTTP_DIR_REQ) {
        if (d->te_present && (!d->te_chunked || d->te_bad)) {
            stop_dir(c, dir, HTTP_EV_BAD_TRANSFER_ENCODING);
            return;
        }
        announce(c, dir);
        if (d->te_chunked) {
            body_begin(c, dir);
            d->st = S_CHUNK_SIZE;
        } else if (d->cl > 0) {
            body_begin(c, dir);
            d->st = S_BODY_CL;
            d->remaining = (uint64_t)d->cl;
        } else {
            msg_done(c, dir, false);
        }
        return;
    }
    /* Response. */
    if (t->status >= 100 && t->status < 200 && t->status != 101) {
        /* Interim response: skipped, the final one follows. */
        t->status = 0;
        t->resp.content_type[0] = t->resp.content_encoding[0] = 0;
        msg_reset(d);
        d->st = S_LINE0;
        return;
    }
    announce(c, dir);
    bool connect = strcmp(t->method, "CONNECT") == 0;
    if (t->status == 101 || (connect && t->status >= 200 && t->status < 300)) {
        t->flags |= HTTP_TXN_TUNNEL;
        event(c, dir, t, HTTP_EV_TUNNEL);
        c->d[HTTP_DIR_REQ].st = S_TUNNEL;
        d->st = S_TUNNEL;
        msg_done(c, dir, false);
        return;
    }
    if (strcmp(t->method, "HEAD") == 0 || t->status == 204 || t->status == 304 || t->status < 200) {
        msg_done(c, dir, false);
    } else if (d->te_present && d->te_chunked && !d->te_bad) {
        body_begin(c, dir);
        d->st = S_CHUNK_SIZE;
    } else if (!d->te_present && d->cl >= 0) {
        if (d->cl == 0) {
            msg_done(c, dir, false);
            return;
        }
        body_begin(c, dir);
        d->st = S_BODY_CL;
        d->remaining = (uint64_t)d->cl;
    } else {
        body_begin(c, dir);
        d->st = S_BODY_EOF;
    }
}

static void chunk_size_line(http_conn *c, http_dir dir, const char *s, size_t n)
{
    dstate *d = &c->d[dir];
    uint64_t v = 0;
    size_t i = 0;
    for (; i < n; i++) {
        int x = ascii_hexval((unsigned char)s[i]);
        if (x < 0) break;
        if (i >= 15) {
            stop_dir(c, dir, HTTP_EV_BAD_CHUNK);
            return;
        }
        v = v * 16 + (uint64_t)x;
    }
    if (i == 0 || (i < n && s[i] != ';' && !ascii_is_ows(s[i]))) {
        stop_dir(c, dir, HTTP_EV_BAD_CHUNK);
        return;
    }
    if (i < n && d->t) d->t->anomalies |= HTTP_ANOM_CHUNK_EXTENSION;
    if (v == 0) {
        d->st = S_TRAILERS;
        d->hdr_count = 0;
        d->hdr_bytes = 0;
    } else {
        d->remaining = v;
        d->st = S_CHUNK_DATA;
    }
}

/* After a gap: does this line look like a start line of 'dir'? */
static bool looks_like_start(http_dir dir, const char *s, size_t n)
{
    if (dir == HTTP_DIR_RESP) return n >= 12 && parse_version(s, 8) && s[8] == ' ';
    size_t i = 0;
    while (i < n && s[i] >= 'A' && s[i] <= 'Z') i++;
    return i >= 3 && i < n && s[i] == ' ' && n > i + 10 && s[n - 9] == ' ' &&
           parse_version(s + n - 8, 8);
}

/* One complete line (CR stripped) in a line-oriented state. */
static void process_line(http_conn *c, http_dir dir, const char *s, size_t n)
{
    dstate *d = &c->d[dir];
    switch (d->st) {
    case S_LINE0:
        if (n) start_line(c, dir, s, n);
        break;
    case S_HEADERS:
        if (n == 0)
            headers_done(c, dir);
        else
            header_line(c, dir, s, n);
        break;
    case S_CHUNK_SIZE:
        chunk_size_line(c, dir, s, n);
        break;
    case S_CHUNK_CRLF:
        if (n)
            stop_dir(c, dir, HTTP_EV_BAD_CHUNK);
        else
            d->st = S_CHUNK_SIZE;
        break;
    case S_RESYNC:
        if (looks_like_start(dir, s, n)) {
            d->st = S_LINE0;
            start_line(c, dir, s, n);
        }
        break;
    case S_TRAILERS:
        if (n == 0)
            msg_done(c, dir, false);
        else if (++d->hdr_count > c->lim.max_headers)
            header_limit(c, dir, HTTP_EV_TOO_MANY_HEADERS);
        break;
    default:
        break;
    }
}

/* Consumes bytes of a line-oriented state; returns the new position. */
static const uint8_t *feed_line(http_conn *c, http_dir dir, const uint8_t *p, const uint8_t *end)
{
    dstate *d = &c->d[dir];
    if (!d->line) {
        d->line = malloc(c->lim.max_line);
        if (!d->line) {
            stop_dir(c, dir, HTTP_EV_HEADER_TOO_LONG);
            return end;
        }
    }
    if (d->st == S_LINE0 && d->line_len == 0 && *p != '\r' && *p != '\n' &&
        (dir == HTTP_DIR_REQ ? !is_tchar(*p) : *p != 'H')) {
        /* Not HTTP (e.g. TLS): no need to wait for a line end. */
        stop_dir(c, dir, dir == HTTP_DIR_REQ ? HTTP_EV_BAD_REQUEST_LINE : HTTP_EV_BAD_STATUS_LINE);
        c->st.ignored_bytes[dir] += (size_t)(end - p);
        return end;
    }
    const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
    size_t seg = lf ? (size_t)(lf - p) : (size_t)(end - p);
    bool header_like = d->st == S_LINE0 || d->st == S_HEADERS || d->st == S_TRAILERS;
    if (header_like && (d->st != S_LINE0 || d->line_len || seg)) {
        d->hdr_bytes += seg + (lf ? 1 : 0);
        if (d->hdr_bytes > c->lim.max_header_bytes && d->st != S_LINE0)
            header_limit(c, dir, HTTP_EV_HEADER_TOO_LONG);
    }
    if (d->st == S_RESYNC && (d->discard || d->line_len + seg > c->lim.max_line)) {
        /* the tail of a line cut by the gap, or an overlong line: drop it */
        d->line_len = 0;
        d->discard = !lf;
        return lf ? lf + 1 : end;
    }
    size_t take = d->overlong ? 0 : seg;
    if (take && d->line_len + seg > c->lim.max_line) {
        if (d->st != S_HEADERS && d->st != S_TRAILERS) {
            stop_dir(c, dir, header_like ? HTTP_EV_HEADER_TOO_LONG : HTTP_EV_BAD_CHUNK);
            return end;
        }
        /* An over-long field: its name and the start of its value are
         * kept, the rest is dropped, and the block is read on. */
        take = c->lim.max_line - d->line_len;
        d->overlong = true;
        header_limit(c, dir, HTTP_EV_HEADER_TOO_LONG);
    }
    memcpy(d->line + d->line_len, p, take);
    d->line_len += take;
    if (!lf) return end;
    d->overlong = false;
    size_t n = d->line_len;
    if (n && d->line[n - 1] == '\r') n--;
    d->line_len = 0;
    process_line(c, dir, d->line, n);
    return lf + 1;
}

/* ---- public API ---- */

bool http_head_host(const uint8_t *p, size_t n, char *host, size_t cap, char *alt, size_t altcap)
{
    const char *s = (const char *)p, *end = s + n;
    bool first = true, seen = false, from_uri = false;
    host[0] = alt[0] = 0;
    while (s < end) {
        const char *lf = memchr(s, '\n', (size_t)(end - s));
        if (!lf) break;
        size_t ln = (size_t)(lf - s);
        if (ln && s[ln - 1] == '\r') ln--;
        if (first) { /* the request line: METHOD SP target SP version */
            const char *sp = memchr(s, ' ', ln), *a;
            size_t an;
            if (sp) {
                const char *t = sp + 1, *te = memchr(t, ' ', (size_t)(s + ln - t));
                if (te && uri_authority(t, (size_t)(te - t), &a, &an)) {
                    http_host_normalize(a, an, host, cap);
                    from_uri = host[0] != 0;
                }
            }
            first = false;
        } else if (ln == 0) {
            return true;
        } else {
            const char *colon = memchr(s, ':', ln);
            if (colon && ascii_ieq(s, (size_t)(colon - s), "host")) {
                char h[256];
                http_host_normalize(colon + 1, ln - (size_t)(colon + 1 - s), h, sizeof(h));
                http_host_merge(host, cap, alt, altcap, h, seen || from_uri);
                seen = true;
            }
        }
        s = lf + 1;
    }
    return false;
}

http_conn *http_conn_new(const http_limits *lim, const http_callbacks *cb, void *ud)
{
    http_conn *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    if (lim)
        c->lim = *lim;
    else
        http_limits_default(&c->lim);
    if (c->lim.max_pipeline == 0) c->lim.max_pipeline = 1;
    if (c->lim.max_line < 64) c->lim.max_line = 64;
    if (c->lim.inflate_max_ratio == 0) c->lim.inflate_max_ratio = 1;
    if (cb) c->cb = *cb;
    c->ud = ud;
    c->env = body_env_make(&c->cb, ud, c->st.events, c->lim.inflate_max_out,
                           c->lim.inflate_max_ratio, c->lim.inflate_ratio_floor);
    c->ring = calloc(c->lim.max_pipeline, sizeof(*c->ring));
    if (!c->ring) {
        free(c);
        return NULL;
    }
    for (int i = 0; i < 2; i++) msg_reset(&c->d[i]);
    return c;
}

void http_conn_feed(http_conn *c, http_dir dir, const uint8_t *data, size_t len)
{
    dstate *d = &c->d[dir];
    const uint8_t *p = data, *end = data + len;
    if (c->ended[dir]) return;
    while (p < end) {
        size_t avail = (size_t)(end - p), n;
        switch (d->st) {
        case S_STOPPED:
        case S_TUNNEL:
            c->st.ignored_bytes[dir] += avail;
            return;
        case S_BODY_CL:
        case S_CHUNK_DATA:
            n = d->remaining < avail ? (size_t)d->remaining : avail;
            body_wire(&d->body, p, n);
            p += n;
            d->remaining -= n;
            if (d->remaining == 0) {
                if (d->st == S_BODY_CL)
                    msg_done(c, dir, false);
                else
                    d->st = S_CHUNK_CRLF;
            }
            break;
        case S_BODY_EOF:
            body_wire(&d->body, p, avail);
            p = end;
            break;
        default:
            p = feed_line(c, dir, p, end);
            break;
        }
    }
}

void http_conn_gap(http_conn *c, http_dir dir, uint64_t len)
{
    dstate *d = &c->d[dir];
    if (c->ended[dir] || d->st == S_STOPPED || d->st == S_TUNNEL || len == 0) return;
    if ((d->st == S_BODY_CL || d->st == S_CHUNK_DATA) && d->remaining > 0) {
        /* the body's length is known: skip exactly the missing bytes */
        uint64_t n = len < d->remaining ? len : d->remaining;
        body_gap(&d->body, n);
        d->remaining -= n;
        len -= n;
        if (d->remaining == 0) {
            if (d->st == S_BODY_CL)
                msg_done(c, dir, false);
            else
                d->st = S_CHUNK_CRLF;
        }
        if (len == 0) return;
        /* the gap runs past the body (or chunk): what follows it is lost */
    }
    if (d->st == S_BODY_EOF) {
        /* unknown length: framing goes on to the end, delivery stops */
        msg_of(d->t, dir)->flags |= HTTP_MSG_GAP;
        msg_of(d->t, dir)->gaps++;
        msg_of(d->t, dir)->gap_bytes += len;
        event(c, dir, d->t, HTTP_EV_GAP);
        d->body.skip = true;
        return;
    }
    /* Framing is lost: report the message so far, then resynchronise on
     * the next whole line that looks like a start line. */
    event(c, dir, d->t, HTTP_EV_GAP);
    if (d->st == S_RESYNC) {
        d->line_len = 0;
        d->discard = true;
        return;
    }
    d->st = S_RESYNC;
    d->line_len = 0;
    d->discard = true; /* the bytes after the gap start mid-line */
    c->st.resyncs[dir]++;
    if (d->t) {
        msg_of(d->t, dir)->flags |= HTTP_MSG_GAP;
        msg_done(c, dir, true);
    }
}

void http_conn_end(http_conn *c, http_dir dir)
{
    dstate *d = &c->d[dir];
    if (c->ended[dir]) return;
    if (d->t) msg_done(c, dir, d->st != S_BODY_EOF);
    c->ended[dir] = true;
    if (dir == HTTP_DIR_RESP) flush_unanswered(c);
}

const http_conn_stats *http_conn_stats_get(const http_conn *c)
{
    return &c->st;
}

void http_conn_free(http_conn *c)
{
    if (!c) return;
    for (int i = 0; i < 2; i++) {
        dstate *d = &c->d[i];
        body_free(&d->body);
        free(d->line);
    }
    free(c->ring);
    free(c);
}
