/*
 * tls_record.c -- the record layer of passive TLS decryption: framing a
 * synced direction's bytes into records, decrypting protected ones at the
 * known sequence number, delivering plaintext (application data out,
 * handshake bytes to tls_handshake.c), and holding the bytes of a
 * direction whose key is not known yet.
 *
 * TLS record (RFC 8446 5.1, RFC 5246 6.2):
 *
 *     0      1      2      3      4      5 ...
 *   +------+------+------+------+------+---------------------+
 *   | type | version     | length      | fragment (length)   |
 *   +------+------+------+------+------+---------------------+
 */
#include <stdlib.h>
#include <string.h>

#include "tls_int.h"

/* ==== output ==== */

void tls_deliver(tlsdec_session *s, dirst *d, tlsdec_event ev, const uint8_t *p, size_t n)
{
    if (s->cb) s->cb(s->ud, d->dir, ev, p, n);
}

/* A verified record's plaintext: application data goes out, handshake
 * bytes drive the key schedule. */
static void plaintext(tlsdec_session *s, dirst *d, uint8_t outer, uint8_t *pt, size_t n)
{
    uint8_t type = outer;
    if (s->tls13) {
        while (n && pt[n - 1] == 0) n--; /* padding */
        if (n == 0) return;              /* no content type: ignore */
        type = pt[--n];
    }
    d->hs.finished = d->hs.keyupdate = d->hs.eoed = false;
    if (type == CT_APPDATA) {
        s->ctx->st.bytes_decrypted += n;
        if (n) tls_deliver(s, d, TLSDEC_DATA, pt, n);
    } else if (type == CT_HANDSHAKE) {
        tls_hs_feed(s, d, pt, n);
    }
    if (!s->tls13) return;
    /* Key changes take effect at the next record (RFC 8446 5.1). */
    if (d->epoch == EP_EARLY && d->hs.eoed) {
        tls_hs_reset(&d->hs);
        tls_dir_enter(s, d, EP_HS);
    } else if (d->epoch == EP_HS && d->hs.finished) {
        tls_hs_reset(&d->hs);
        tls_dir_enter(s, d, EP_APP);
    } else if (d->epoch == EP_APP && d->hs.keyupdate) {
        tls_dir_keyupdate(s, d);
    }
}

void tls_stop(tlsdec_session *s, dirst *d)
{
    d->dead = true;
    d->failed = true;
    d->blen = 0;
}

/* ==== holding bytes for a late key ==== */

void tls_hold_free(tlsdec_session *s, dirst *d)
{
    s->held -= d->hold_len;
    s->ctx->st.bytes_held -= d->hold_len;
    free(d->hold);
    d->hold = NULL;
    d->hold_len = d->hold_size = d->hold_dropped = 0;
    d->nhgap = 0;
    d->holding = false;
}

static void give_up(tlsdec_session *s)
{
    for (int i = 0; i < 2; i++) {
        if (s->d[i].holding) {
            tls_hold_free(s, &s->d[i]);
            tls_stop(s, &s->d[i]);
        }
    }
    if (!s->gave_up && !s->ever_keys) s->ctx->st.sessions_without_keys++;
    s->gave_up = true;
}

/* Bytes that did not fit: they become a gap when the hold is replayed. */
void tls_hold_drop(tlsdec_session *s, dirst *d, size_t n)
{
    tlsdec_ctx *c = s->ctx;
    if (!s->cap_hit) c->st.hold_cap_hits++;
    s->cap_hit = true;
    d->hold_dropped += n;
    if (d->hold_dropped > c->cfg.hold_max) give_up(s);
}

static void hold_append(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n)
{
    tlsdec_ctx *c = s->ctx;
    if (n == 0) return;
    if (d->hold_dropped || s->held + n > c->cfg.hold_max ||
        c->st.bytes_held + n > c->cfg.hold_total_max)
        return tls_hold_drop(s, d, n);
    if (d->hold_len + n > d->hold_size) {
        size_t sz = d->hold_size ? d->hold_size : 4096;
        while (sz < d->hold_len + n) sz *= 2;
        uint8_t *nb = realloc(d->hold, sz);
        if (!nb) return tls_hold_drop(s, d, n);
        d->hold = nb;
        d->hold_size = sz;
    }
    memcpy(d->hold + d->hold_len, p, n);
    d->hold_len += n;
    s->held += n;
    c->st.bytes_held += n;
}

/* Starts holding at a record boundary: rec is the record that needs the
 * missing key. */
static void hold_start(tlsdec_session *s, dirst *d, const uint8_t *rec, size_t reclen)
{
    if (s->gave_up) {
        tls_stop(s, d); /* no more waiting for this session's keys */
        return;
    }
    d->holding = true;
    d->gen = s->ctx->cfg.keys ? keylog_table_generation(s->ctx->cfg.keys) : 0;
    hold_append(s, d, rec, reclen);
}

/* Replays what d held once its keys are known. */
bool tls_hold_replay(tlsdec_session *s, dirst *d)
{
    if (!d->holding || !tls_dir_keys(s, d)) return false;
    uint8_t *h = d->hold;
    size_t len = d->hold_len, dropped = d->hold_dropped;
    int ng = d->nhgap;
    struct {
        size_t at, len;
    } g[MAX_HGAPS];
    memcpy(g, d->hgap, sizeof(g));
    s->held -= len;
    s->ctx->st.bytes_held -= len;
    d->hold = NULL;
    d->hold_len = d->hold_size = d->hold_dropped = 0;
    d->nhgap = 0;
    d->holding = false;
    s->ctx->st.late_keys++;
    size_t at = 0;
    for (int i = 0; i <= ng; i++) {
        size_t end = i < ng ? g[i].at : len;
        if (end > at) tls_dir_input(s, d, h + at, end - at);
        at = end;
        if (i < ng) tls_dir_gap(s, d, g[i].len);
    }
    if (dropped) tls_dir_gap(s, d, dropped);
    free(h);
    return true;
}

/* ==== records ==== */

/* Decrypts a record at the known sequence number. */
void tls_protected_record(tlsdec_session *s, dirst *d, const uint8_t *rec, size_t reclen)
{
    tlsdec_ctx *c = s->ctx;
    if (s->unsupported) {
        tls_stop(s, d);
        return;
    }
    s->protected_seen = true;
    if (!d->keys && !tls_dir_keys(s, d)) {
        hold_start(s, d, rec, reclen);
        return;
    }
    long n = tls_open_record(s, d->cc, d->iv, d->seq, rec, reclen, c->out);
    if (n < 0 && d->epoch == EP_EARLY) {
        /* The client stopped sending early data without EndOfEarlyData
         * (the server rejected it): its handshake keys start here. */
        tls_dir_enter(s, d, EP_HS);
        if (!d->keys) {
            hold_start(s, d, rec, reclen);
            return;
        }
        n = tls_open_record(s, d->cc, d->iv, d->seq, rec, reclen, c->out);
    }
    if (n < 0 && d->early_skip && d->seq == 0) {
        /* 0-RTT data under a secret we lack: skip it, not a failure. */
        d->skipped++;
        c->st.records_skipped++;
        return;
    }
    if (n < 0) {
        c->st.auth_failures++;
        tls_stop(s, d);
        return;
    }
    d->early_skip = false;
    d->seq++;
    d->records++;
    d->rec_bytes += reclen;
    c->st.records_decrypted++;
    plaintext(s, d, rec[0], c->out, (size_t)n);
}

/* One complete record of direction d (synced). */
static void record(tlsdec_session *s, dirst *d, const uint8_t *rec, size_t reclen)
{
    uint8_t type = rec[0];
    const uint8_t *frag = rec + REC_HDR;
    size_t flen = reclen - REC_HDR;
    if (!d->enc) {
        if (type == CT_HANDSHAKE) {
            tls_hs_feed(s, d, frag, flen);
        } else if (type == CT_CCS) {
            /* TLS 1.2: the next record is protected.  TLS 1.3 (or an HRR
             * said so): middlebox compatibility, nothing. */
            if (!s->tls13) {
                d->enc = true;
                d->seq = 0;
            }
        } else if (type == CT_APPDATA) {
            d->enc = true; /* TLS 1.3, or a version not known yet */
            if (!s->have_ch) {
                tls_stop(s, d); /* no ClientHello: nothing to look up */
                return;
            }
            tls_protected_record(s, d, rec, reclen);
        }
        return;
    }
    if (s->unsupported) return;
    if (!s->have_sh) {
        /* Protected, but which version is not known yet (the ServerHello
         * was not fed yet): hold every record until it is. */
        tls_protected_record(s, d, rec, reclen);
        return;
    }
    if (s->tls13) {
        if (type == CT_APPDATA)
            tls_protected_record(s, d, rec, reclen);
        else if (type == CT_HANDSHAKE)
            tls_hs_feed(s, d, frag, flen); /* the ClientHello after an HRR */
        /* CCS (compatibility) and clear alerts carry nothing */
        return;
    }
    tls_protected_record(s, d, rec, reclen); /* TLS 1.2: every type is protected */
}

/* ==== input ==== */

void tls_dir_input(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n)
{
    while (n) {
        if (d->dead || d->ended) return;
        if (d->holding) {
            hold_append(s, d, p, n);
            d->off += n;
            return;
        }
        if (d->skip) {
            size_t k = n < d->skip ? n : d->skip;
            d->skip -= k;
            d->off += k;
            p += k;
            n -= k;
            continue;
        }
        if (!d->buf && !(d->buf = malloc(TLSDEC_RECBUF))) {
            tls_stop(s, d);
            return;
        }
        if (!d->synced) {
            size_t k = tls_scan_input(s, d, p, n);
            p += k;
            n -= k;
            continue;
        }
        size_t need;
        if (d->blen < REC_HDR) {
            need = REC_HDR - d->blen;
        } else {
            need = REC_HDR + ((size_t)d->buf[3] << 8 | d->buf[4]) - d->blen;
        }
        size_t k = n < need ? n : need;
        memcpy(d->buf + d->blen, p, k);
        d->blen += k;
        if (d->blen > d->buf_hw) d->buf_hw = d->blen;
        d->off += k;
        p += k;
        n -= k;
        if (d->blen == REC_HDR) {
            const uint8_t *h = d->buf;
            size_t len = (size_t)h[3] << 8 | h[4];
            if (h[0] < CT_CCS || h[0] > CT_APPDATA || h[1] != 3 || len > MAX_FRAG12) {
                tls_stop(s, d); /* not TLS (or not a version we read) */
                return;
            }
        }
        if (d->blen >= REC_HDR && d->blen == REC_HDR + ((size_t)d->buf[3] << 8 | d->buf[4])) {
            size_t len = d->blen;
            d->blen = 0;
            record(s, d, d->buf, len);
        }
    }
}
