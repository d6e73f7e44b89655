/*
 * tls_session.c -- passive TLS decryption of one TCP connection: the
 * context and session API of tlsdec.h (the contract, and the list of what
 * is and is not decrypted).  The work is done by the files tls_int.h
 * lists.
 *
 * Owns: per session, the record framing state, the handshake-message
 * scanner, the keys and one EVP_CIPHER_CTX per direction, the bytes held
 * for a late key.
 */
#include "tlsdec.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "tls_int.h"

/* ==== the API ==== */

tlsdec_ctx *tlsdec_ctx_new(const tlsdec_config *cfg)
{
    tlsdec_ctx *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    if (cfg) c->cfg = *cfg;
    if (!c->cfg.hold_max) c->cfg.hold_max = TLSDEC_DEFAULT_HOLD;
    if (!c->cfg.seq_trials) c->cfg.seq_trials = TLSDEC_DEFAULT_TRIALS;
    if (!c->cfg.hold_total_max) c->cfg.hold_total_max = TLSDEC_DEFAULT_HOLD_TOTAL;
    c->hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    c->prf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    bool ok = c->hkdf && c->prf;
    for (int i = 0; i < 2 && ok; i++) {
        /* the digest is set once: fetched per derivation, it was most of
         * a short session's key-schedule time */
        OSSL_PARAM p[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                             (char *)(i ? "SHA384" : "SHA256"), 0),
            OSSL_PARAM_construct_end(),
        };
        ok = (c->hk[i] = EVP_KDF_CTX_new(c->hkdf)) != NULL &&
             EVP_KDF_CTX_set_params(c->hk[i], p) == 1;
    }
    for (int i = 0; i < AEAD_N; i++)
        ok = ok && (c->cipher[i] = EVP_CIPHER_fetch(NULL, tls_aead_names[i], NULL)) != NULL;
    c->trial = EVP_CIPHER_CTX_new();
    c->out = malloc(TLSDEC_RECBUF);
    c->tmp = malloc(TLSDEC_RECBUF);
    if (!ok || !c->trial || !c->out || !c->tmp) {
        tlsdec_ctx_free(c);
        return NULL;
    }
    return c;
}

void tlsdec_ctx_free(tlsdec_ctx *c)
{
    if (!c) return;
    for (int i = 0; i < 2; i++) EVP_KDF_CTX_free(c->hk[i]);
    EVP_KDF_free(c->hkdf);
    EVP_KDF_free(c->prf);
    for (int i = 0; i < AEAD_N; i++) EVP_CIPHER_free(c->cipher[i]);
    EVP_CIPHER_CTX_free(c->trial);
    if (c->out) OPENSSL_cleanse(c->out, TLSDEC_RECBUF);
    if (c->tmp) OPENSSL_cleanse(c->tmp, TLSDEC_RECBUF);
    free(c->out);
    free(c->tmp);
    free(c);
}

void tlsdec_ctx_stats(const tlsdec_ctx *c, tlsdec_stats *out)
{
    *out = c->st;
}

/* A stopped direction, or one holding raw bytes for its key, needs no
 * record buffer (most TLS flows a sensor sees have no key: they should not
 * keep 2 x TLSDEC_RECBUF).  Freed here, at the API boundary, because tls_stop()
 * and hold_start() can run while the buffer is being read. */
static void release(dirst *d)
{
    if ((d->dead || (d->holding && d->blen == 0)) && d->buf) {
        /* only the bytes it held: a short session used a few hundred of
         * its TLSDEC_RECBUF, and wiping all of it (twice per session) was
         * a tenth of the time on many short sessions */
        OPENSSL_cleanse(d->buf, d->buf_hw);
        free(d->buf);
        d->buf = NULL;
        d->buf_hw = 0;
    }
}

tlsdec_session *tlsdec_session_new(tlsdec_ctx *c, tlsdec_deliver_fn cb, void *ud)
{
    tlsdec_session *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->ctx = c;
    s->cb = cb;
    s->ud = ud;
    s->client_dir = -1;
    for (int i = 0; i < 2; i++) {
        s->d[i].dir = i;
        s->d[i].synced = true;
    }
    c->st.sessions++;
    return s;
}

void tlsdec_session_free(tlsdec_session *s)
{
    if (!s) return;
    if (s->protected_seen && !s->ever_keys && !s->gave_up && !s->unsupported)
        s->ctx->st.sessions_without_keys++;
    if (s->ctx->cfg.forget && s->ctx->cfg.keys && s->have_ch)
        keylog_table_remove(s->ctx->cfg.keys, s->client_random);
    for (int i = 0; i < 2; i++) {
        dirst *d = &s->d[i];
        tls_hold_free(s, d);
        tls_hs_reset(&d->hs);
        EVP_CIPHER_CTX_free(d->cc); /* clears its key schedule */
        d->dead = true;
        release(d); /* wipes the last record's bytes */
    }
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

/* Retries waiting directions when something may have changed. */
static int pump(tlsdec_session *s, bool force)
{
    int got = 0;
    for (int i = 0; i < 2; i++) {
        dirst *d = &s->d[i];
        if (!d->holding) continue;
        if (s->unsupported) { /* held for a ServerHello that ruled decryption out */
            tls_hold_free(s, d);
            tls_stop(s, d);
            continue;
        }
        if (!force && !s->want_retry && s->ctx->cfg.keys &&
            keylog_table_generation(s->ctx->cfg.keys) == d->gen)
            continue;
        d->gen = s->ctx->cfg.keys ? keylog_table_generation(s->ctx->cfg.keys) : 0;
        if (tls_hold_replay(s, d)) got = 1;
    }
    s->want_retry = false;
    return got;
}

void tlsdec_feed(tlsdec_session *s, int dir, const uint8_t *data, size_t len)
{
    if (dir < 0 || dir > 1) return;
    release(&s->d[dir]);
    pump(s, false);
    tls_dir_input(s, &s->d[dir], data, len);
    if (s->want_retry) pump(s, true);
}

void tlsdec_gap(tlsdec_session *s, int dir, size_t len)
{
    if (dir < 0 || dir > 1) return;
    s->ctx->st.gaps++;
    tls_dir_gap(s, &s->d[dir], len);
    if (s->want_retry) pump(s, true);
}

void tlsdec_end(tlsdec_session *s, int dir)
{
    if (dir < 0 || dir > 1 || s->d[dir].ended) return;
    pump(s, true);
    dirst *d = &s->d[dir];
    d->ended = true;
    tls_deliver(s, d, TLSDEC_END, NULL, 0);
}

int tlsdec_retry(tlsdec_session *s)
{
    return pump(s, true);
}

void tlsdec_get_info(const tlsdec_session *s, tlsdec_info *o)
{
    memset(o, 0, sizeof(*o));
    o->client_dir = s->client_dir;
    o->version = s->have_sh ? s->version : 0;
    o->suite = s->suite;
    o->hrr = s->hrr;
    o->supported = s->have_sh && !s->unsupported;
    o->waiting = tlsdec_waiting(s);
    o->alpn = tlsdec_alpn(s);
    for (int i = 0; i < 2; i++) {
        o->keys[i] = s->d[i].ever_keys;
        o->failed[i] = s->d[i].failed;
        o->records[i] = s->d[i].records;
        o->skipped[i] = s->d[i].skipped;
        o->resyncs[i] = s->d[i].resyncs;
    }
}

const char *tlsdec_alpn(const tlsdec_session *s)
{
    return s->alpn[0] ? s->alpn : NULL;
}

bool tlsdec_dir_keyed(const tlsdec_session *s, int dir)
{
    return s->d[dir & 1].ever_keys;
}

bool tlsdec_waiting(const tlsdec_session *s)
{
    return s->d[0].holding || s->d[1].holding;
}
