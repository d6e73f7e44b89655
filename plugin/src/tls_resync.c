/*
 * tls_resync.c -- gaps in passive TLS decryption: a gap that ends inside
 * a record skips it with its boundary known; one that loses a boundary
 * leaves the direction unsynced, and the scan tries plausible record
 * headers with the candidate sequence numbers (and TLS 1.3's next secret)
 * until one verifies.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "tls_int.h"

/* ==== record sizes ==== */

static size_t min_record(const tlsdec_session *s)
{
    if (s->tls13) return REC_HDR + 1 + TAG_LEN;
    return REC_HDR + (s->si && s->si->ivlen == 4 ? 8 : 0) + TAG_LEN;
}

static size_t max_fragment(const tlsdec_session *s)
{
    return s->tls13 ? MAX_FRAG13 : MAX_FRAG12;
}

/* ==== resynchronisation after a gap ==== */

static bool plausible(const tlsdec_session *s, const uint8_t *h)
{
    size_t len = (size_t)h[3] << 8 | h[4];
    return h[0] == CT_APPDATA && h[1] == 3 && h[2] == 3 && len + REC_HDR >= min_record(s) &&
           len <= max_fragment(s);
}

/* Tries the candidate sequence numbers (and TLS 1.3's next secret) on a
 * plausible record at stream offset f.  On success the direction is
 * synced at that record, which is decrypted and delivered. */
static bool try_resync(tlsdec_session *s, dirst *d, const uint8_t *rec, size_t reclen, uint64_t f)
{
    tlsdec_ctx *c = s->ctx;
    if (!d->keys && !tls_dir_keys(s, d)) {
        tls_stop(s, d); /* no keys to try: nothing to resynchronise with */
        return false;
    }
    uint64_t span = f > d->b_off ? (f - d->b_off) / min_record(s) : 0;
    unsigned trials = c->cfg.seq_trials;
    uint64_t avg = d->records ? d->rec_bytes / d->records : 1024;
    if (avg == 0) avg = 1;
    uint64_t est = f > d->b_off ? (f - d->b_off) / avg : 0;
    if (est > span) est = span;
    uint64_t found = 0;
    int alt = -1; /* 0: current keys, 1: the next secret */
    uint8_t nx[48], nx_iv[12];
    bool have_nx = false;

    /* TLS 1.2 GCM: the explicit nonce is usually the sequence number. */
    if (!s->tls13 && s->si->ivlen == 4 && reclen >= REC_HDR + 8) {
        uint64_t e = 0;
        for (int i = 0; i < 8; i++) e = e << 8 | rec[REC_HDR + i];
        if (e >= d->cand_lo && e - d->cand_lo <= span &&
            tls_open_record(s, d->cc, d->iv, e, rec, reclen, c->out) >= 0) {
            found = e;
            alt = 0;
        }
    }
    if (alt < 0 && s->tls13 && (d->epoch == EP_HS || d->epoch == EP_APP)) {
        uint8_t sec[48];
        size_t n = 0;
        if (d->epoch == EP_HS) {
            n = tls_lookup(s, tls_label_of(s, d, EP_APP), sec);
        } else if (tls_next_secret(s, d->secret, sec)) {
            n = tls_hash_len(s->si);
        }
        if (n == tls_hash_len(s->si) && tls_install13(c, s->si, c->trial, nx_iv, sec, n)) {
            memcpy(nx, sec, n);
            have_nx = true;
        }
        OPENSSL_cleanse(sec, sizeof(sec));
    }
    /* Nearest the estimate first: est, est+1, est-1, est+2, est-2, ... */
    unsigned tried = 0;
    for (uint64_t h = 0; alt < 0 && tried < trials && (h <= est || est + h <= span); h++) {
        for (int below = 0; below < 2 && alt < 0 && tried < trials; below++) {
            if (h == 0 && below) break;
            if (below ? h > est : est + h > span) continue;
            uint64_t k = below ? est - h : est + h;
            uint64_t q = d->cand_lo + k;
            tried++;
            if (tls_open_record(s, d->cc, d->iv, q, rec, reclen, c->out) >= 0) {
                found = q;
                alt = 0;
            } else if (have_nx &&
                       tls_open_record(s, c->trial, nx_iv, k, rec, reclen, c->out) >= 0) {
                /* the next secret, from its first records: k of them were lost */
                found = k;
                alt = 1;
            }
        }
    }
    if (alt < 0) {
        OPENSSL_cleanse(nx, sizeof(nx));
        return false;
    }
    if (alt == 1) {
        if (d->epoch == EP_HS) {
            tls_hs_reset(&d->hs);
            d->epoch = EP_APP;
        }
        tls_install13(c, s->si, d->cc, d->iv, nx, tls_hash_len(s->si));
        memcpy(d->secret, nx, sizeof(nx));
    }
    OPENSSL_cleanse(nx, sizeof(nx));
    /* Lost: the records from lost_seq up to the one found. */
    uint64_t lost = alt == 0 ? found - d->lost_seq : found + 1;
    d->skipped += lost;
    c->st.records_skipped += lost;
    d->resyncs++;
    c->st.resyncs++;
    d->synced = true;
    d->scan_fails = 0;
    tls_hs_reset(&d->hs); /* a handshake message may have been cut */
    /* About this much plaintext was lost. */
    uint64_t bytes = f > d->lost_off ? f - d->lost_off : 0;
    uint64_t ovh = lost * min_record(s); /* TLS 1.3 padding is not known: taken as none */
    tls_deliver(s, d, TLSDEC_GAP, NULL, (size_t)(bytes > ovh ? bytes - ovh : 1));
    d->seq = found;
    tls_protected_record(s, d, rec, reclen);
    return true;
}

/* Unsynced input: scan for a plausible header, try it.  Returns the bytes
 * of p consumed. */
size_t tls_scan_input(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n)
{
    if (d->blen == TLSDEC_RECBUF) {
        /* Cannot happen (a waiting candidate never exceeds the buffer), but
         * a full window must not stop the input loop: drop its first byte. */
        memmove(d->buf, d->buf + 1, --d->blen);
    }
    size_t k = TLSDEC_RECBUF - d->blen;
    if (k > n) k = n;
    memcpy(d->buf + d->blen, p, k);
    d->blen += k;
    if (d->blen > d->buf_hw) d->buf_hw = d->blen;
    d->off += k;
    uint64_t base = d->off - d->blen; /* stream offset of buf[0] */
    size_t i = 0;
    while (i + REC_HDR <= d->blen) {
        if (!plausible(s, d->buf + i)) {
            i++;
            continue;
        }
        size_t reclen = REC_HDR + ((size_t)d->buf[i + 3] << 8 | d->buf[i + 4]);
        if (i + reclen > d->blen) break; /* wait for the whole record */
        if (try_resync(s, d, d->buf + i, reclen, base + i)) {
            /* Synced: re-feed what followed the record. */
            size_t rest = d->blen - i - reclen;
            memcpy(s->ctx->tmp, d->buf + i + reclen, rest);
            d->blen = 0;
            d->off -= rest;
            tls_dir_input(s, d, s->ctx->tmp, rest);
            return k;
        }
        if (d->dead) return k;
        if (++d->scan_fails >= SCAN_FAILS) {
            s->ctx->st.resync_failures++;
            tls_stop(s, d);
            return k;
        }
        i++;
    }
    /* Keep the unscanned tail (a header may be cut, or a record incomplete). */
    if (i > 0) {
        memmove(d->buf, d->buf + i, d->blen - i);
        d->blen -= i;
    }
    return k;
}

/* ==== gaps ==== */

/* Loses sync at the record whose boundary is at stream offset b (sequence
 * number bseq), the first lost record having lost_seq and starting at
 * lost_off. */
static void unsync(dirst *d, uint64_t b, uint64_t bseq, uint64_t lost_seq, uint64_t lost_off)
{
    d->synced = false;
    d->b_off = b;
    d->cand_lo = bseq + 1;
    d->lost_seq = lost_seq;
    d->lost_off = lost_off;
    d->blen = 0;
}

void tls_dir_gap(tlsdec_session *s, dirst *d, size_t len)
{
    tlsdec_ctx *c = s->ctx;
    if (len == 0 || d->dead || d->ended) return;
    if (d->holding) {
        if (d->hold_dropped == 0 && d->nhgap < MAX_HGAPS) {
            d->hgap[d->nhgap].at = d->hold_len;
            d->hgap[d->nhgap].len = len;
            d->nhgap++;
        } else {
            tls_hold_drop(s, d, len);
        }
        d->off += len;
        return;
    }
    if (!d->enc) {
        /* Before this direction's protected records: a lost hello or CCS
         * leaves nothing to anchor keys or sequence numbers to. */
        if (!s->have_ch || !s->have_sh || s->unsupported) {
            c->st.resync_failures++;
            tls_stop(s, d);
            return;
        }
        /* After both hellos (TLS 1.2: the rest of a flight and the CCS may
         * be in the gap; TLS 1.3 client: its first protected records): the
         * first protected record found has a sequence number from 0. */
        uint64_t start = d->off - d->blen;
        tls_hs_reset(&d->hs);
        d->enc = true;
        d->seq = 0;
        unsync(d, start, (uint64_t)-1, 0, start);
        d->off += len;
        return;
    }
    if (!d->synced) {
        d->blen = 0; /* the scan window is no longer contiguous */
        d->off += len;
        return;
    }
    if (d->skip) {
        if (len <= d->skip) {
            d->skip -= len;
            d->off += len;
            return;
        }
        /* The known boundary is inside the gap: its record (seq) is lost. */
        uint64_t b = d->off + d->skip;
        unsync(d, b, d->seq, d->seq, b);
        d->skip = 0;
        d->off += len;
        return;
    }
    uint64_t start = d->off - d->blen; /* the current record's first byte */
    if (d->blen >= REC_HDR) {
        size_t total = REC_HDR + ((size_t)d->buf[3] << 8 | d->buf[4]);
        size_t r = total - d->blen; /* bytes of this record still to come */
        /* TLS 1.3's compatibility CCS has no sequence number and no content. */
        bool prot = !s->tls13 || d->buf[0] == CT_APPDATA;
        if (len <= r) {
            /* The gap ends inside this record: the next boundary is known. */
            d->skip = r - len;
            d->blen = 0;
            d->off += len;
            if (!prot) return;
            c->st.records_skipped++;
            d->skipped++;
            d->seq++;
            c->st.resyncs++;
            d->resyncs++;
            size_t lostpt = total > min_record(s) ? total - min_record(s) : 1;
            tls_deliver(s, d, TLSDEC_GAP, NULL, lostpt);
            return;
        }
        /* The next boundary is inside the gap too: that record (seq + 1)
         * is lost with this one (seq). */
        unsync(d, start + total, d->seq + (prot ? 1 : 0), d->seq, start);
        d->off += len;
        return;
    }
    /* At a boundary, or inside a header: the record starting there is lost. */
    unsync(d, start, d->seq, d->seq, start);
    d->off += len;
}
