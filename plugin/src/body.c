/*
 * body.c -- HTTP body decoding shared by HTTP/1.x and HTTP/2: gzip and
 * deflate with a bomb cap (the only zlib user), and a streaming
 * multipart/form-data splitter (RFC 7578, RFC 2046 5.1.1).  Contracts in
 * body.h and http.h.
 */
#include "body.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "ascii.h"

#define ZBUF_SIZE     16384
#define MP_LINE_MAX   1024
#define MP_STAGE_SIZE 512
#define MP_DELIM_MAX  (4 + 70)

struct body_z {
    z_stream z;
    uint8_t buf[ZBUF_SIZE];
};

enum mpstate { MP_PREAMBLE, MP_AFTER_DELIM, MP_HEADERS, MP_DATA, MP_EPILOGUE };

struct body_mp {
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
};

static http_msg *msg_of(body_dec *b)
{
    return b->dir == HTTP_DIR_REQ ? &b->t->req : &b->t->resp;
}

static void event(body_dec *b, http_event ev)
{
    const body_env *e = b->env;
    e->events[ev]++;
    if (e->cb->on_event) e->cb->on_event(e->ud, b->t, b->dir, ev);
}

void body_reset(body_dec *b)
{
    b->enc = BODY_ENC_NONE;
    b->skip = false;
    b->t = NULL;
    /* z_init, z_done and mp_active are cleared by body_finish.  z_in and
     * z_out are not reset: http.c has always counted the bomb cap over
     * all the messages of a direction, and this extraction keeps its
     * behaviour (h2_stream.c uses a fresh body_dec per stream). */
}

bool body_get_param(const char *v, size_t n, const char *key, char *out, size_t cap)
{
    size_t i = 0, klen = strlen(key);
    /* skip the first segment (media type / disposition type) */
    while (i < n && v[i] != ';') i++;
    while (i < n) {
        i++; /* ';' */
        while (i < n && ascii_is_ows(v[i])) i++;
        size_t ks = i;
        while (i < n && v[i] != '=' && v[i] != ';') i++;
        size_t ke = i;
        while (ke > ks && ascii_is_ows(v[ke - 1])) ke--;
        if (i >= n || v[i] != '=') continue;
        i++;
        while (i < n && ascii_is_ows(v[i])) i++;
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
            while (i < n && v[i] != ';' && !ascii_is_ows(v[i])) {
                if (bl < sizeof(buf)) buf[bl++] = v[i];
                i++;
            }
            while (i < n && v[i] != ';') i++;
        }
        if (ascii_ieq(v + ks, ke - ks, key) && ke - ks == klen) {
            ascii_copy_trunc(out, cap, buf, bl);
            return true;
        }
    }
    return false;
}

void body_pick_coding(body_dec *b, const char *v)
{
    size_t n = strlen(v), i = 0;
    while (i < n) {
        size_t st = i;
        while (i < n && v[i] != ',') i++;
        const char *tok = v + st;
        size_t tl = i - st;
        ascii_trim(&tok, &tl);
        i++;
        if (tl == 0 || ascii_ieq(tok, tl, "identity")) continue;
        int e = BODY_ENC_UNSUPPORTED;
        if (ascii_ieq(tok, tl, "gzip") || ascii_ieq(tok, tl, "x-gzip")) e = BODY_ENC_GZIP;
        if (ascii_ieq(tok, tl, "deflate")) e = BODY_ENC_DEFLATE;
        b->enc = b->enc == BODY_ENC_NONE ? e : BODY_ENC_UNSUPPORTED;
    }
}

/* ---- multipart/form-data ---- */

static void mp_feed(body_dec *b, const uint8_t *p, size_t n);

static bool mp_start(body_dec *b, const char *boundary)
{
    size_t bl = strlen(boundary);
    if (bl == 0 || bl > 70) return false;
    if (!b->mp) b->mp = malloc(sizeof(*b->mp));
    if (!b->mp) return false;
    struct body_mp *m = b->mp;
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
    return true;
}

static void mp_emit(body_dec *b, const uint8_t *p, size_t n)
{
    struct body_mp *m = b->mp;
    if (m->st != MP_DATA || !n) return;
    http_part *pt = &m->part;
    pt->bytes += n;
    if (pt->is_file) {
        const body_env *e = b->env;
        if (e->cb->on_body_data) e->cb->on_body_data(e->ud, b->t, b->dir, pt, p, n);
    } else if (pt->value_len + 1 < sizeof(pt->value)) {
        size_t room = sizeof(pt->value) - 1 - pt->value_len;
        size_t k = n < room ? n : room;
        memcpy(pt->value + pt->value_len, p, k);
        pt->value_len += k;
        pt->value[pt->value_len] = 0;
    }
}

static void mp_stage_flush(body_dec *b)
{
    struct body_mp *m = b->mp;
    if (m->stage_len) mp_emit(b, m->stage, m->stage_len);
    m->stage_len = 0;
}

static void mp_part_end(body_dec *b)
{
    struct body_mp *m = b->mp;
    if (!m->in_part) return;
    m->in_part = false;
    const body_env *e = b->env;
    if (e->cb->on_part_end) e->cb->on_part_end(e->ud, b->t, b->dir, &m->part);
}

static void mp_error(body_dec *b)
{
    if (b->mp->error) return;
    b->mp->error = true;
    mp_part_end(b);
    b->mp->st = MP_EPILOGUE;
    msg_of(b)->flags |= HTTP_MSG_DECODE_ERROR;
    event(b, HTTP_EV_MULTIPART_ERROR);
}

static void mp_line(body_dec *b, const char *s, size_t n)
{
    struct body_mp *m = b->mp;
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
        m->part.index = b->dir == HTTP_DIR_REQ ? b->t->parts : 0;
        if (b->dir == HTTP_DIR_REQ) b->t->parts++;
        m->in_part = true;
        m->st = MP_DATA;
        m->k = 0;
        const body_env *e = b->env;
        if (e->cb->on_part_begin) e->cb->on_part_begin(e->ud, b->t, b->dir, &m->part);
        return;
    }
    const char *colon = memchr(s, ':', n);
    if (!colon) return;
    const char *v = colon + 1;
    size_t vn = n - (size_t)(v - s);
    ascii_trim(&v, &vn);
    if (ascii_ieq(s, (size_t)(colon - s), "content-disposition")) {
        body_get_param(v, vn, "name", m->part.name, sizeof(m->part.name));
        if (body_get_param(v, vn, "filename", m->part.filename, sizeof(m->part.filename)))
            m->part.is_file = true;
    } else if (ascii_ieq(s, (size_t)(colon - s), "content-type")) {
        ascii_copy_trunc(m->part.content_type, sizeof(m->part.content_type), v, vn);
    }
}

static void mp_feed(body_dec *b, const uint8_t *p, size_t n)
{
    struct body_mp *m = b->mp;
    size_t i = 0;
    while (i < n) {
        if (m->st == MP_EPILOGUE) return;
        if (m->st == MP_AFTER_DELIM || m->st == MP_HEADERS) {
            const uint8_t *lf = memchr(p + i, '\n', n - i);
            size_t seg = lf ? (size_t)(lf - (p + i)) : n - i;
            if (m->line_len + seg > sizeof(m->line)) {
                mp_error(b);
                return;
            }
            memcpy(m->line + m->line_len, p + i, seg);
            m->line_len += seg;
            i += seg;
            if (lf) {
                i++;
                mp_line(b, m->line, m->line_len);
                m->line_len = 0;
            }
            continue;
        }
        /* MP_PREAMBLE or MP_DATA: search for the delimiter. */
        if (m->k == 0) {
            const uint8_t *cr = memchr(p + i, '\r', n - i);
            size_t stop = cr ? (size_t)(cr - p) : n;
            if (stop > i) {
                mp_stage_flush(b);
                mp_emit(b, p + i, stop - i);
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
            if (m->stage_len == sizeof(m->stage)) mp_stage_flush(b);
            m->stage[m->stage_len++] = j < m->k ? m->delim[j] : ch;
        }
        m->k = kk;
        if (m->k == m->dlen) {
            mp_stage_flush(b);
            mp_part_end(b);
            m->k = 0;
            m->line_len = 0;
            m->st = MP_AFTER_DELIM;
        }
    }
    mp_stage_flush(b);
}

/* A gap inside a multipart body: inside a part's data the part goes on
 * (its consumer hears of the gap) and the delimiter search resumes after
 * it; a gap in part headers loses the part structure. */
static void mp_gap(body_dec *b, uint64_t n)
{
    struct body_mp *m = b->mp;
    if (m->st == MP_EPILOGUE) return;
    if (m->st != MP_DATA && m->st != MP_PREAMBLE) {
        mp_error(b);
        return;
    }
    /* a delimiter prefix held back before the gap was data after all */
    size_t k = m->k;
    m->k = 0;
    mp_stage_flush(b);
    mp_emit(b, m->delim, k);
    if (m->st != MP_DATA) return;
    m->part.bytes += n;
    const body_env *e = b->env;
    if (m->part.is_file && e->cb->on_body_gap) e->cb->on_body_gap(e->ud, b->t, b->dir, &m->part, n);
}

static void mp_finish(body_dec *b)
{
    struct body_mp *m = b->mp;
    bool final = m->st == MP_EPILOGUE || (m->st == MP_AFTER_DELIM && m->line_len >= 2 &&
                                          m->line[0] == '-' && m->line[1] == '-');
    mp_stage_flush(b);
    mp_part_end(b);
    http_msg *mm = msg_of(b);
    if (!final && !m->error && !(mm->flags & (HTTP_MSG_TRUNCATED | HTTP_MSG_GAP | HTTP_MSG_BOMB)) &&
        !b->skip) {
        mm->flags |= HTTP_MSG_DECODE_ERROR;
        event(b, HTTP_EV_MULTIPART_ERROR);
    }
}

/* ---- zlib ---- */

/* Decoded body bytes: to the multipart splitter or the consumer. */
static void body_out(body_dec *b, const uint8_t *p, size_t n)
{
    if (!n) return;
    msg_of(b)->body_bytes += n;
    const body_env *e = b->env;
    if (b->mp_active)
        mp_feed(b, p, n);
    else if (e->cb->on_body_data)
        e->cb->on_body_data(e->ud, b->t, b->dir, NULL, p, n);
}

static void decode_fail(body_dec *b, uint32_t flag, http_event ev)
{
    msg_of(b)->flags |= flag;
    b->skip = true;
    event(b, ev);
}

static void inflate_feed(body_dec *b, const uint8_t *p, size_t n)
{
    const body_env *e = b->env;
    if (b->z_done) return;
    if (!b->z_init) {
        int wbits = 15 + 32; /* gzip or zlib, auto-detected */
        if (b->enc == BODY_ENC_DEFLATE && !((p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7))
            wbits = -15; /* raw deflate (no zlib header) */
        if (!b->z) b->z = malloc(sizeof(*b->z));
        if (b->z) memset(&b->z->z, 0, sizeof(b->z->z));
        if (!b->z || inflateInit2(&b->z->z, wbits) != Z_OK) {
            decode_fail(b, HTTP_MSG_DECODE_ERROR, HTTP_EV_DECOMPRESS_ERROR);
            return;
        }
        b->z_init = true;
    }
    z_stream *z = &b->z->z;
    z->next_in = (Bytef *)(uintptr_t)p;
    z->avail_in = (uInt)n;
    for (;;) {
        uInt in_before = z->avail_in;
        z->next_out = b->z->buf;
        z->avail_out = ZBUF_SIZE;
        int ret = inflate(z, Z_NO_FLUSH);
        b->z_in += in_before - z->avail_in;
        size_t produced = ZBUF_SIZE - z->avail_out;
        bool bomb = false;
        if (b->z_out + produced > e->inflate_max_out) {
            produced = (size_t)(e->inflate_max_out - b->z_out);
            bomb = true;
        }
        uint64_t after = b->z_out + produced;
        if (!bomb && after > e->inflate_ratio_floor && after / e->inflate_max_ratio > b->z_in)
            bomb = true, produced = 0;
        b->z_out += produced;
        body_out(b, b->z->buf, produced);
        if (bomb) {
            decode_fail(b, HTTP_MSG_BOMB, HTTP_EV_BOMB);
            return;
        }
        if (b->skip) return;
        if (ret == Z_STREAM_END) {
            b->z_done = true;
            return;
        }
        if (ret != Z_OK && ret != Z_BUF_ERROR) {
            decode_fail(b, HTTP_MSG_DECODE_ERROR, HTTP_EV_DECOMPRESS_ERROR);
            return;
        }
        if (z->avail_in == 0 && z->avail_out != 0) return;
        if (ret == Z_BUF_ERROR && z->avail_in == 0) return;
    }
}

/* ---- the message body ---- */

void body_start(body_dec *b, const body_env *env, http_txn *t, http_dir dir, const char *boundary)
{
    b->env = env;
    b->t = t;
    b->dir = dir;
    http_msg *m = msg_of(b);
    body_pick_coding(b, m->content_encoding);
    if (b->enc == BODY_ENC_GZIP) m->flags |= HTTP_MSG_GZIP;
    if (b->enc == BODY_ENC_DEFLATE) m->flags |= HTTP_MSG_DEFLATE;
    if (b->enc == BODY_ENC_UNSUPPORTED) {
        m->flags |= HTTP_MSG_UNDECODED;
        b->skip = true;
        event(b, HTTP_EV_UNSUPPORTED_ENCODING);
    }
    if (boundary && boundary[0]) {
        m->flags |= HTTP_MSG_MULTIPART;
        if (mp_start(b, boundary))
            b->mp_active = true;
        else
            event(b, HTTP_EV_MULTIPART_ERROR);
    }
}

void body_wire(body_dec *b, const uint8_t *p, size_t n)
{
    msg_of(b)->wire_body_bytes += n;
    if (b->skip || !n) return;
    if (b->enc == BODY_ENC_GZIP || b->enc == BODY_ENC_DEFLATE)
        inflate_feed(b, p, n);
    else
        body_out(b, p, n);
}

void body_gap(body_dec *b, uint64_t n)
{
    http_msg *m = msg_of(b);
    m->flags |= HTTP_MSG_GAP;
    m->wire_body_bytes += n;
    m->gaps++;
    m->gap_bytes += n;
    event(b, HTTP_EV_GAP);
    if (b->skip) return;
    if (b->enc == BODY_ENC_GZIP || b->enc == BODY_ENC_DEFLATE) {
        b->skip = true;
        return;
    }
    if (b->mp_active) {
        mp_gap(b, n);
        return;
    }
    const body_env *e = b->env;
    if (e->cb->on_body_gap) e->cb->on_body_gap(e->ud, b->t, b->dir, NULL, n);
}

void body_finish(body_dec *b)
{
    if (b->mp_active) mp_finish(b);
    if (b->z_init) inflateEnd(&b->z->z);
    b->z_init = b->z_done = false;
    b->mp_active = false;
}

void body_free(body_dec *b)
{
    if (!b) return;
    if (b->z_init) inflateEnd(&b->z->z);
    b->z_init = false;
    free(b->z);
    free(b->mp);
    b->z = NULL;
    b->mp = NULL;
}
