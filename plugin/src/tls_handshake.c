/*
 * tls_handshake.c -- the handshake messages passive TLS decryption reads,
 * clear or decrypted: ClientHello (client random, 0-RTT offered),
 * ServerHello (version, suite, HelloRetryRequest, ALPN),
 * EncryptedExtensions (ALPN), and where Finished, KeyUpdate and
 * EndOfEarlyData end, which is where keys change.
 *
 * Handshake message (RFC 8446 4): type (1) | length (3) | body.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cursor.h"
#include "tls_int.h"

/* SHA-256("HelloRetryRequest"): the ServerHello.random of an HRR (RFC 8446 4.1.3). */
static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

/* ==== handshake messages ==== */

static void parse_alpn(tlsdec_session *s, cur *e)
{
    /* ProtocolNameList: uint16 length, then uint8-prefixed names; the
     * server's choice is the single name. */
    cur_be16(e);
    uint8_t n = cur_u8(e);
    if (e->trunc || n == 0 || n > ALPN_MAX || cur_left(e) < n) return;
    memcpy(s->alpn, e->p, n);
    s->alpn[n] = 0;
}

static void parse_ch(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n)
{
    cur c = cur_make(p, n);
    uint8_t random[32];
    cur_skip(&c, 2); /* legacy_version */
    cur_copy(&c, random, 32);
    if (c.trunc) return;
    if (s->have_ch && memcmp(random, s->client_random, 32) != 0) return; /* not ours */
    if (s->client_dir < 0) s->client_dir = d->dir;
    if (s->client_dir != d->dir) return;
    bool second = s->have_ch; /* after a HelloRetryRequest */
    memcpy(s->client_random, random, 32);
    s->have_ch = true;
    cur_skip(&c, cur_u8(&c));   /* legacy_session_id */
    cur_skip(&c, cur_be16(&c)); /* cipher_suites */
    cur_skip(&c, cur_u8(&c));   /* legacy_compression_methods */
    size_t elen = cur_be16(&c);
    if (c.trunc || cur_left(&c) < elen) return;
    cur e = cur_make(c.p, elen);
    while (cur_left(&e) >= 4) {
        uint16_t type = cur_be16(&e), len = cur_be16(&e);
        if (cur_left(&e) < len) break;
        if (type == 42 && !second) s->early_offered = true; /* early_data */
        cur_skip(&e, len);
    }
}

static void set_epochs(tlsdec_session *s);

static void parse_sh(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n)
{
    cur c = cur_make(p, n);
    uint16_t legacy = cur_be16(&c);
    uint8_t random[32];
    cur_copy(&c, random, 32);
    cur_skip(&c, cur_u8(&c));
    uint16_t suite = cur_be16(&c);
    cur_skip(&c, 1);
    if (c.trunc || s->have_sh) return;
    if (s->client_dir < 0) s->client_dir = !d->dir;
    if (s->client_dir == d->dir) return;
    uint16_t version = legacy;
    s->alpn[0] = 0;
    size_t elen = cur_be16(&c);
    if (!c.trunc && cur_left(&c) >= elen) {
        cur e = cur_make(c.p, elen);
        while (cur_left(&e) >= 4) {
            uint16_t type = cur_be16(&e), len = cur_be16(&e);
            if (cur_left(&e) < len) break;
            cur x = cur_make(e.p, len);
            if (type == 43) version = cur_be16(&x); /* supported_versions */
            if (type == 16) parse_alpn(s, &x);
            cur_skip(&e, len);
        }
    }
    s->version = version;
    s->tls13 = version == 0x0304;
    s->suite = suite;
    if (memcmp(random, hrr_random, 32) == 0) {
        s->hrr = true; /* a second ClientHello and the real ServerHello follow */
        return;
    }
    memcpy(s->server_random, random, 32);
    s->have_sh = true;
    s->si = (version == 0x0303 || s->tls13) ? tls_suite_find(suite, s->tls13) : NULL;
    if (!s->si) {
        s->unsupported = true;
        s->ctx->st.sessions_unsupported++;
        s->want_retry = true; /* pump drops what was held */
        return;
    }
    set_epochs(s);
    /* TLS 1.3: the server's next record is protected. */
    if (s->tls13) d->enc = true;
    s->want_retry = true; /* a direction may hold bytes that waited for this */
}

/* EncryptedExtensions (TLS 1.3): the server's ALPN choice. */
static void parse_ee(tlsdec_session *s, const uint8_t *p, size_t n)
{
    cur c = cur_make(p, n);
    size_t elen = cur_be16(&c);
    if (c.trunc || cur_left(&c) < elen) return;
    cur e = cur_make(c.p, elen);
    while (cur_left(&e) >= 4) {
        uint16_t type = cur_be16(&e), len = cur_be16(&e);
        if (cur_left(&e) < len) break;
        cur x = cur_make(e.p, len);
        if (type == 16) parse_alpn(s, &x);
        cur_skip(&e, len);
    }
}

/* A complete handshake message.  Key changes are noted here, at the end of
 * the message (a Finished cut across two records switches keys only after
 * the second). */
static void hs_end_msg(tlsdec_session *s, dirst *d)
{
    hs_scan *h = &d->hs;
    if (h->type == HS_FINISHED) h->finished = true;
    if (h->type == HS_KEYUPDATE) h->keyupdate = true;
    if (h->type == HS_EOED) h->eoed = true;
    if (h->cap) {
        if (h->type == HS_CH) parse_ch(s, d, h->cap, h->cap_len);
        if (h->type == HS_SH) parse_sh(s, d, h->cap, h->cap_len);
        if (h->type == HS_EE && d->dir != s->client_dir) parse_ee(s, h->cap, h->cap_len);
        free(h->cap);
        h->cap = NULL;
    }
    h->hlen = 0;
}

void tls_hs_reset(hs_scan *h)
{
    free(h->cap);
    memset(h, 0, sizeof(*h));
}

/* Feeds handshake-protocol bytes (clear or decrypted) of direction d. */
void tls_hs_feed(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n)
{
    hs_scan *h = &d->hs;
    while (n) {
        if (h->hlen < 4) {
            h->hdr[h->hlen++] = *p++;
            n--;
            if (h->hlen < 4) continue;
            h->type = h->hdr[0];
            h->left = (uint32_t)h->hdr[1] << 16 | (uint32_t)h->hdr[2] << 8 | h->hdr[3];
            if (h->type == HS_CH || h->type == HS_SH || h->type == HS_EE) {
                h->cap_max = h->left < HS_CAP_MAX ? h->left : HS_CAP_MAX;
                h->cap_len = 0;
                h->cap = malloc(h->cap_max ? h->cap_max : 1);
            }
            if (h->left == 0) hs_end_msg(s, d);
            continue;
        }
        size_t k = n < h->left ? n : h->left;
        if (h->cap && h->cap_len < h->cap_max) {
            size_t room = h->cap_max - h->cap_len, m = k < room ? k : room;
            memcpy(h->cap + h->cap_len, p, m);
            h->cap_len += m;
        }
        p += k;
        n -= k;
        h->left -= (uint32_t)k;
        if (h->left == 0) hs_end_msg(s, d);
    }
}

/* Initial epochs once version and suite are known. */
static void set_epochs(tlsdec_session *s)
{
    for (int i = 0; i < 2; i++) {
        dirst *d = &s->d[i];
        int ep = EP_12;
        if (s->tls13) {
            ep = EP_HS;
            if (d->dir == s->client_dir && s->early_offered && !s->hrr) {
                uint8_t tmp[48];
                size_t n = tls_lookup(s, KEYLOG_CLIENT_EARLY, tmp);
                OPENSSL_cleanse(tmp, sizeof(tmp));
                if (n)
                    ep = EP_EARLY;
                else
                    d->early_skip = true;
            }
        }
        tls_dir_enter(s, d, ep);
    }
}
