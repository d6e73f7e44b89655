/*
 * http.c -- streaming HTTP/1.x parser (RFC 9112): start lines, bounded
 * header blocks, Content-Length / chunked framing, pipelining, gzip and
 * deflate decoding with a bomb cap (the only zlib user), and a
 * multipart/form-data splitter.  Contracts in http.h.
 */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define ZBUF_SIZE     16384
#define MP_LINE_MAX   1024
#define MP_STAGE_SIZE 512
#define MP_DELIM_MAX  (4 + 70)

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

enum coding { ENC_NONE, ENC_GZIP, ENC_DEFLATE, ENC_UNSUPPORTED };

enum mpstate { MP_PREAMBLE, MP_AFTER_DELIM, MP_HEADERS, MP_DATA, MP_EPILOGUE };

typedef struct mp_parser {
    uint8_t delim[MP_DELIM_MAX]; /* "\r\n--" boundary */
    size_t dlen;
    uint8_t fail[MP_DELIM_MAX]; /* KMP failure function of delim */
    size_t k;                   /* delimiter bytes matched (held back) */
    int st;                     /* enum mpstate */
    char line[MP_LINE_MAX];
    size_t line_len;
    uint8_t stage[MP_STAGE_SIZE]; /* released held-back bytes */
    size_t stage_len;
    bool in_part;
    bool error;
    http_part part;
} mp_parser;

typedef struct dstate {
    int st; /* enum pstate */
    char *line;
    size_t line_len;
    size_t hdr_bytes;
    unsigned hdr_count;
    uint64_t remaining;
    http_txn *t;    /* message in progress (NULL in S_LINE0) */
    bool announced; /* headers callback done */
    bool discard;   /* S_RESYNC: dropping the rest of a line */
    /* framing facts from the header block */
    int64_t cl;
    bool cl_bad, te_present, te_chunked, te_bad;
    char boundary[72];
    /* decoding */
    int enc;
    bool skip; /* deliver no more body bytes for this message */
    bool z_init, z_done;
    z_stream z;
    uint8_t *zbuf;
    uint64_t z_in, z_out;
    mp_parser *mp; /* allocated on first multipart message */
    bool mp_active;
} dstate;

struct http_conn {
    http_limits lim;
    http_callbacks cb;
    void *ud;
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

/* ---- small string helpers (ASCII, locale-free) ---- */

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static bool ieq(const char *a, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m) return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lit[i]) return false;
    return true;
}

static bool iprefix(const char *a, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n < m) return false;
    for (size_t i = 0; i < m; i++)
        if (lower((unsigned char)a[i]) != lit[i]) return false;
    return true;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_ows(**s)) (*s)++, (*n)--;
    while (*n && is_ows((*s)[*n - 1])) (*n)--;
}

/* Copies at most cap-1 bytes and NUL-terminates.  Returns true if cut. */
static bool copy_trunc(char *dst, size_t cap, const char *src, size_t n)
{
    bool cut = n >= cap;
    if (cut) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
    return cut;
}

/* Finds parameter 'key' in "type; a=b; key="v"" and copies its value
 * (unquoted).  Returns true if found. */
static bool get_param(const char *v, size_t n, const char *key, char *out, size_t cap)
{
    size_t i = 0, klen = strlen(key);
    /* skip the first segment (media type / disposition type) */
    while (i < n && v[i] != ';') i++;
    while (i < n) {
        i++; /* ';' */
        while (i < n && is_ows(v[i])) i++;
        size_t ks = i;
        while (i < n && v[i] != '=' && v[i] != ';') i++;
        size_t ke = i;
        while (ke > ks && is_ows(v[ke - 1])) ke--;
        if (i >= n || v[i] != '=') continue;
        i++;
        while (i < n && is_ows(v[i])) i++;
        char buf[256];
        size_t bl = 0;
        if (i < n && v[i] == '"') {
            i++;
            while (i < n && v[i] != '"') {
                if (v[i] == '\\' && i + 1 < n) i++;
                if (bl < sizeof(buf)) buf[bl++] = v[i];
                i++;
            }
            if (i < n) i++; /* closing quote */
            while (i < n && v[i] != ';') i++;
        } else {
            while (i < n && v[i] != ';' && !is_ows(v[i])) {
                if (bl < sizeof(buf)) buf[bl++] = v[i];
                i++;
            }
            while (i < n && v[i] != ';') i++;
        }
        if (ieq(v + ks, ke - ks, key) && ke - ks == klen) {
            copy_trunc(out, cap, buf, bl);
            return true;
        }
    }
    return false;
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

/* ---- decoding: zlib, multipart ---- */

static void mp_feed(http_conn *c, http_dir dir, const uint8_t *p, size_t n);
static void mp_finish(http_conn *c, http_dir dir);

/* Decoded body bytes: to the multipart splitter or the consumer. */
static void body_out(http_conn *c, http_dir dir, const uint8_t *p, size_t n)
{
    dstate *d = &c->d[dir];
    if (!n) return;
    msg_of(d->t, dir)->body_bytes += n;
    if (d->mp_active)
        mp_feed(c, dir, p, n);
    else if (c->cb.on_body_data)
        c->cb.on_body_data(c->ud, d->t, dir, NULL, p, n);
}

static void decode_fail(http_conn *c, http_dir dir, uint32_t flag, http_event ev)
{
    dstate *d = &c->d[dir];
    msg_of(d->t, dir)->flags |= flag;
    d->skip = true;
    event(c, dir, d->t, ev);
}

static void inflate_feed(http_conn *c, http_dir dir, const uint8_t *p, size_t n)
{
    dstate *d = &c->d[dir];
    if (d->z_done) return;
    if (!d->z_init) {
        int wbits = 15 + 32; /* gzip or zlib, auto-detected */
        if (d->enc == ENC_DEFLATE && !((p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7))
            wbits = -15; /* raw deflate (no zlib header) */
        memset(&d->z, 0, sizeof(d->z));
        if (!d->zbuf) d->zbuf = malloc(ZBUF_SIZE);
        if (!d->zbuf || inflateInit2(&d->z, wbits) != Z_OK) {
            decode_fail(c, dir, HTTP_MSG_DECODE_ERROR, HTTP_EV_DECOMPRESS_ERROR);
            return;
        }
        d->z_init = true;
    }
    d->z.next_in = (Bytef *)(uintptr_t)p;
    d->z.avail_in = (uInt)n;
    for (;;) {
        uInt in_before = d->z.avail_in;
        d->z.next_out = d->zbuf;
        d->z.avail_out = ZBUF_SIZE;
        int ret = inflate(&d->z, Z_NO_FLUSH);
        d->z_in += in_before - d->z.avail_in;
        size_t produced = ZBUF_SIZE - d->z.avail_out;
        bool bomb = false;
        if (d->z_out + produced > c->lim.inflate_max_out) {
            produced = (size_t)(c->lim.inflate_max_out - d->z_out);
            bomb = true;
        }
        uint64_t after = d->z_out + produced;
        if (!bomb && after > c->lim.inflate_ratio_floor &&
            after / c->lim.inflate_max_ratio > d->z_in)
            bomb = true, produced = 0;
        d->z_out += produced;
        body_out(c, dir, d->zbuf, produced);
        if (bomb) {
            decode_fail(c, dir, HTTP_MSG_BOMB, HTTP_EV_BOMB);
            return;
        }
        if (d->skip) return;
        if (ret == Z_STREAM_END) {
            d->z_done = true;
            return;
        }
        if (ret != Z_OK && ret != Z_BUF_ERROR) {
            decode_fail(c, dir, HTTP_MSG_DECODE_ERROR, HTTP_EV_DECOMPRESS_ERROR);
            return;
        }
        if (d->z.avail_in == 0 && d->z.avail_out != 0) return;
        if (ret == Z_BUF_ERROR && d->z.avail_in == 0) return;
    }
}

/* Body bytes as framed on the wire (after de-chunking). */
static void body_wire(http_conn *c, http_dir dir, const uint8_t *p, size_t n)
{
    dstate *d = &c->d[dir];
    msg_of(d->t, dir)->wire_body_bytes += n;
    if (d->skip || !n) return;
    if (d->enc == ENC_GZIP || d->enc == ENC_DEFLATE)
        inflate_feed(c, dir, p, n);
    else
        body_out(c, dir, p, n);
}

static void mp_gap(http_conn *c, http_dir dir, uint64_t n);

/* 'n' wire bytes of the current body are missing (a reassembly gap inside
 * a body of known length).  Framing goes on.  Uncompressed bodies are
 * still delivered after it, with on_body_gap in between, so a consumer
 * can resume at its next record; a compressed stream cannot be resumed. */
static void body_gap(http_conn *c, http_dir dir, uint64_t n)
{
    dstate *d = &c->d[dir];
    http_msg *m = msg_of(d->t, dir);
    m->flags |= HTTP_MSG_GAP;
    m->wire_body_bytes += n;
    m->gaps++;
    m->gap_bytes += n;
    event(c, dir, d->t, HTTP_EV_GAP);
    if (d->skip) return;
    if (d->enc == ENC_GZIP || d->enc == ENC_DEFLATE) {
        d->skip = true;
        return;
    }
    if (d->mp_active) {
        mp_gap(c, dir, n);
        return;
    }
    if (c->cb.on_body_gap) c->cb.on_body_gap(c->ud, d->t, dir, NULL, n);
}

static void decode_end(http_conn *c, http_dir dir)
{
    dstate *d = &c->d[dir];
    if (d->mp_active) mp_finish(c, dir);
    if (d->z_init) inflateEnd(&d->z);
    d->z_init = d->z_done = false;
    d->mp_active = false;
}

/* -- multipart/form-data (RFC 7578, RFC 2046 5.1.1) -- */

static bool mp_start(http_conn *c, dstate *d, const char *boundary)
{
    size_t bl = strlen(boundary);
    if (bl == 0 || bl > 70) return false;
    if (!d->mp) d->mp = malloc(sizeof(*d->mp));
    if (!d->mp) return false;
    mp_parser *m = d->mp;
    memset(m, 0, sizeof(*m));
    memcpy(m->delim, "\r\n--", 4);
    memcpy(m->delim + 4, boundary, bl);
    m->dlen = 4 + bl;
    m->fail[0] = 0;
    for (size_t i = 1, k = 0; i < m->dlen; i++) {
        while (k > 0 && m->delim[i] != m->delim[k]) k = m->fail[k - 1];
        if (m->delim[i] == m->delim[k]) k++;
        m->fail[i] = (uint8_t)k;
    }
    m->k = 2; /* the body may start with "--boundary" (no CRLF before it) */
    m->st = MP_PREAMBLE;
    (void)c;
    return true;
}

static void mp_emit(http_conn *c, http_dir dir, const uint8_t *p, size_t n)
{
    dstate *d = &c->d[dir];
    mp_parser *m = d->mp;
    if (m->st != MP_DATA || !n) return;
    http_part *pt = &m->part;
    pt->bytes += n;
    if (pt->is_file) {
        if (c->cb.on_body_data) c->cb.on_body_data(c->ud, d->t, dir, pt, p, n);
    } else if (pt->value_len + 1 < sizeof(pt->value)) {
        size_t room = sizeof(pt->value) - 1 - pt->value_len;
        size_t k = n < room ? n : room;
        memcpy(pt->value + pt->value_len, p, k);
        pt->value_len += k;
        pt->value[pt->value_len] = 0;
    }
}

static void mp_stage_flush(http_conn *c, http_dir dir)
{
    mp_parser *m = c->d[dir].mp;
    if (m->stage_len) mp_emit(c, dir, m->stage, m->stage_len);
    m->stage_len = 0;
}

static void mp_part_end(http_conn *c, http_dir dir)
{
    dstate *d = &c->d[dir];
    mp_parser *m = d->mp;
    if (!m->in_part) return;
    m->in_part = false;
    if (c->cb.on_part_end) c->cb.on_part_end(c->ud, d->t, dir, &m->part);
}

static void mp_error(http_conn *c, http_dir dir)
{
    dstate *d = &c->d[dir];
    if (d->mp->error) return;
    d->mp->error = true;
    mp_part_end(c, dir);
    d->mp->st = MP_EPILOGUE;
    msg_of(d->t, dir)->flags |= HTTP_MSG_DECODE_ERROR;
    event(c, dir, d->t, HTTP_EV_MULTIPART_ERROR);
}

static void mp_line(http_conn *c, http_dir dir, const char *s, size_t n)
{
    dstate *d = &c->d[dir];
    mp_parser *m = d->mp;
    if (n && s[n - 1] == '\r') n--;
    if (m->st == MP_AFTER_DELIM) {
        if (n >= 2 && s[0] == '-' && s[1] == '-') {
            m->st = MP_EPILOGUE;
            return;
        }
        memset(&m->part, 0, sizeof(m->part));
        m->st = MP_HEADERS;
        return;
    }
    /* MP_HEADERS */
    if (n == 0) {
        m->part.index = dir == HTTP_DIR_REQ ? d->t->parts : 0;
        if (dir == HTTP_DIR_REQ) d->t->parts++;
        m->in_part = true;
        m->st = MP_DATA;
        m->k = 0;
        if (c->cb.on_part_begin) c->cb.on_part_begin(c->ud, d->t, dir, &m->part);
        return;
    }
    const char *colon = memchr(s, ':', n);
    if (!colon) return;
    const char *v = colon + 1;
    size_t vn = n - (size_t)(v - s);
    trim(&v, &vn);
    if (ieq(s, (size_t)(colon - s), "content-disposition")) {
        get_param(v, vn, "name", m->part.name, sizeof(m->part.name));
        if (get_param(v, vn, "filename", m->part.filename, sizeof(m->part.filename)))
            m->part.is_file = true;
    } else if (ieq(s, (size_t)(colon - s), "content-type")) {
        copy_trunc(m->part.content_type, sizeof(m->part.content_type), v, vn);
    }
}

static void mp_feed(http_conn *c, http_dir dir, const uint8_t *p, size_t n)
{
    mp_parser *m = c->d[dir].mp;
    size_t i = 0;
    while (i < n) {
        if (m->st == MP_EPILOGUE) return;
        if (m->st == MP_AFTER_DELIM || m->st == MP_HEADERS) {
            const uint8_t *lf = memchr(p + i, '\n', n - i);
            size_t seg = lf ? (size_t)(lf - (p + i)) : n - i;
            if (m->line_len + seg > sizeof(m->line)) {
                mp_error(c, dir);
                return;
            }
            memcpy(m->line + m->line_len, p + i, seg);
            m->line_len += seg;
            i += seg;
            if (lf) {
                i++;
                mp_line(c, dir, m->line, m->line_len);
                m->line_len = 0;
            }
            continue;
        }
        /* MP_PREAMBLE or MP_DATA: search for the delimiter. */
        if (m->k == 0) {
            const uint8_t *cr = memchr(p + i, '\r', n - i);
            size_t stop = cr ? (size_t)(cr - p) : n;
            if (stop > i) {
                mp_stage_flush(c, dir);
                mp_emit(c, dir, p + i, stop - i);
                i = stop;
                continue;
            }
        }
        uint8_t ch = p[i++];
        size_t kk = m->k;
        while (kk > 0 && ch != m->delim[kk]) kk = m->fail[kk - 1];
        if (ch == m->delim[kk]) kk++;
        size_t released = m->k + 1 - kk;
        for (size_t j = 0; j < released; j++) {
            if (m->stage_len == sizeof(m->stage)) mp_stage_flush(c, dir);
            m->stage[m->stage_len++] = j < m->k ? m->delim[j] : ch;
        }
        m->k = kk;
        if (m->k == m->dlen) {
            mp_stage_flush(c, dir);
            mp_part_end(c, dir);
            m->k = 0;
            m->line_len = 0;
            m->st = MP_AFTER_DELIM;
        }
    }
    mp_stage_flush(c, dir);
}

/* A gap inside a multipart body: inside a part's data the part goes on
 * (its consumer hears of the gap) and the delimiter search resumes after
 * it; a gap in part headers loses the part structure. */
static void mp_gap(http_conn *c, http_dir dir, uint64_t n)
{
    dstate *d = &c->d[dir];
    mp_parser *m = d->mp;
    if (m->st == MP_EPILOGUE) return;
    if (m->st != MP_DATA && m->st != MP_PREAMBLE) {
        mp_error(c, dir);
        return;
    }
    /* a delimiter prefix held back before the gap was data after all */
    size_t k = m->k;
    m->k = 0;
    mp_stage_flush(c, dir);
    mp_emit(c, dir, m->delim, k);
    if (m->st != MP_DATA) return;
    m->part.bytes += n;
    if (m->part.is_file && c->cb.on_body_gap) c->cb.on_body_gap(c->ud, d->t, dir, &m->part, n);
}

static void mp_finish(http_conn *c, http_dir dir)
{
    dstate *d = &c->d[dir];
    mp_parser *m = d->mp;
    bool final = m->st == MP_EPILOGUE || (m->st == MP_AFTER_DELIM && m->line_len >= 2 &&
                                          m->line[0] == '-' && m->line[1] == '-');
    mp_stage_flush(c, dir);
    mp_part_end(c, dir);
    http_msg *mm = msg_of(d->t, dir);
    if (!final && !m->error && !(mm->flags & (HTTP_MSG_TRUNCATED | HTTP_MSG_GAP | HTTP_MSG_BOMB)) &&
        !d->skip) {
        mm->flags |= HTTP_MSG_DECODE_ERROR;
        event(c, dir, d->t, HTTP_EV_MULTIPART_ERROR);
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
    d->boundary[0] = 0;
    d->enc = ENC_NONE;
    d->skip = false;
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
    decode_end(c, dir);
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
        copy_trunc(t->method, sizeof(t->method), s, ml);
        if (copy_trunc(t->uri, sizeof(t->uri), s + us, ue - us)) t->flags |= HTTP_TXN_URI_TRUNC;
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

static void header_line(http_conn *c, http_dir dir, const char *s, size_t n)
{
    dstate *d = &c->d[dir];
    if (is_ows(s[0])) return; /* obsolete line folding: ignored */
    if (++d->hdr_count > c->lim.max_headers) {
        stop_dir(c, dir, HTTP_EV_TOO_MANY_HEADERS);
        return;
    }
    const char *colon = memchr(s, ':', n);
    if (!colon) return; /* not a field: ignored */
    size_t nl = (size_t)(colon - s);
    const char *v = colon + 1;
    size_t vn = n - nl - 1;
    trim(&v, &vn);
    http_txn *t = d->t;
    http_msg *m = msg_of(t, dir);
    if (dir == HTTP_DIR_REQ && ieq(s, nl, "host")) {
        copy_trunc(t->host, sizeof(t->host), v, vn);
    } else if (dir == HTTP_DIR_REQ && ieq(s, nl, "user-agent")) {
        copy_trunc(t->user_agent, sizeof(t->user_agent), v, vn);
    } else if (ieq(s, nl, "content-type")) {
        copy_trunc(m->content_type, sizeof(m->content_type), v, vn);
        if (iprefix(v, vn, "multipart/form-data"))
            get_param(v, vn, "boundary", d->boundary, sizeof(d->boundary));
    } else if (ieq(s, nl, "content-encoding")) {
        copy_trunc(m->content_encoding, sizeof(m->content_encoding), v, vn);
    } else if (ieq(s, nl, "content-length")) {
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
    } else if (ieq(s, nl, "transfer-encoding")) {
        /* A list of codings; the last must be chunked to frame a request. */
        d->te_present = true;
        size_t i = 0;
        while (i < vn) {
            size_t st = i;
            while (i < vn && v[i] != ',') i++;
            const char *tok = v + st;
            size_t tl = i - st;
            trim(&tok, &tl);
            i++;
            if (tl == 0) continue;
            if (d->te_chunked) d->te_bad = true; /* chunked must be last */
            if (ieq(tok, tl, "chunked"))
                d->te_chunked = true;
            else if (ieq(tok, tl, "gzip") || ieq(tok, tl, "x-gzip"))
                d->enc = d->enc == ENC_NONE ? ENC_GZIP : ENC_UNSUPPORTED;
            else if (ieq(tok, tl, "deflate"))
                d->enc = d->enc == ENC_NONE ? ENC_DEFLATE : ENC_UNSUPPORTED;
            else if (!ieq(tok, tl, "identity"))
                d->enc = ENC_UNSUPPORTED;
        }
    }
}

/* Content-Encoding list -> d->enc (one layer supported). */
static void pick_coding(dstate *d, const char *v)
{
    size_t n = strlen(v), i = 0;
    while (i < n) {
        size_t st = i;
        while (i < n && v[i] != ',') i++;
        const char *tok = v + st;
        size_t tl = i - st;
        trim(&tok, &tl);
        i++;
        if (tl == 0 || ieq(tok, tl, "identity")) continue;
        int e = ENC_UNSUPPORTED;
        if (ieq(tok, tl, "gzip") || ieq(tok, tl, "x-gzip")) e = ENC_GZIP;
        if (ieq(tok, tl, "deflate")) e = ENC_DEFLATE;
        d->enc = d->enc == ENC_NONE ? e : ENC_UNSUPPORTED;
    }
}

static void body_begin(http_conn *c, http_dir dir)
{
    dstate *d = &c->d[dir];
    http_msg *m = msg_of(d->t, dir);
    pick_coding(d, m->content_encoding);
    if (d->enc == ENC_GZIP) m->flags |= HTTP_MSG_GZIP;
    if (d->enc == ENC_DEFLATE) m->flags |= HTTP_MSG_DEFLATE;
    if (d->enc == ENC_UNSUPPORTED) {
        m->flags |= HTTP_MSG_UNDECODED;
        d->skip = true;
        event(c, dir, d->t, HTTP_EV_UNSUPPORTED_ENCODING);
    }
    if (d->boundary[0]) {
        m->flags |= HTTP_MSG_MULTIPART;
        if (mp_start(c, d, d->boundary))
            d->mp_active = true;
        else
            event(c, dir, d->t, HTTP_EV_MULTIPART_ERROR);
    }
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
        int ch = lower((unsigned char)s[i]), x;
        if (ch >= '0' && ch <= '9')
            x = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            x = ch - 'a' + 10;
        else
            break;
        if (i >= 15) {
            stop_dir(c, dir, HTTP_EV_BAD_CHUNK);
            return;
        }
        v = v * 16 + (uint64_t)x;
    }
    if (i == 0 || (i < n && s[i] != ';' && !is_ows(s[i]))) {
        stop_dir(c, dir, HTTP_EV_BAD_CHUNK);
        return;
    }
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
            stop_dir(c, dir, HTTP_EV_TOO_MANY_HEADERS);
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
        if (d->hdr_bytes > c->lim.max_header_bytes) {
            stop_dir(c, dir, HTTP_EV_HEADER_TOO_LONG);
            return end;
        }
    }
    if (d->st == S_RESYNC && (d->discard || d->line_len + seg > c->lim.max_line)) {
        /* the tail of a line cut by the gap, or an overlong line: drop it */
        d->line_len = 0;
        d->discard = !lf;
        return lf ? lf + 1 : end;
    }
    if (d->line_len + seg > c->lim.max_line) {
        stop_dir(c, dir, header_like ? HTTP_EV_HEADER_TOO_LONG : HTTP_EV_BAD_CHUNK);
        return end;
    }
    memcpy(d->line + d->line_len, p, seg);
    d->line_len += seg;
    if (!lf) return end;
    size_t n = d->line_len;
    if (n && d->line[n - 1] == '\r') n--;
    d->line_len = 0;
    process_line(c, dir, d->line, n);
    return lf + 1;
}

/* ---- public API ---- */

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
            body_wire(c, dir, p, n);
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
            body_wire(c, dir, p, avail);
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
        body_gap(c, dir, n);
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
        d->skip = true;
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
        if (d->z_init) inflateEnd(&d->z);
        free(d->zbuf);
        free(d->mp);
        free(d->line);
    }
    free(c->ring);
    free(c);
}
