/*
 * tls_crypto.c -- the key schedule and record protection of passive TLS
 * decryption: the cipher suites read, the keys of each epoch from the key
 * log, KeyUpdate, and opening one protected record.  All cryptography is
 * OpenSSL 3 EVP: EVP_KDF "HKDF" (HKDF-Expand-Label, RFC 8446 7.1), EVP_KDF
 * "TLS1-PRF" (RFC 5246 6.3 key expansion) and the AEAD ciphers.  libcrypto
 * is the project's one crypto library (hash.c uses it for digests); this
 * file is its AEAD/KDF adapter.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "tls_int.h"

/* ==== cipher suites ==== */

// clang-format off
static const suite_info suites[] = {
    /* id      1.3 aead             key iv sha384 */
    {0x1301, 1, AEAD_AES128GCM, 16, 12, 0}, /* TLS_AES_128_GCM_SHA256 */
    {0x1302, 1, AEAD_AES256GCM, 32, 12, 1}, /* TLS_AES_256_GCM_SHA384 */
    {0x1303, 1, AEAD_CHACHA,    32, 12, 0}, /* TLS_CHACHA20_POLY1305_SHA256 */
    {0xC02F, 0, AEAD_AES128GCM, 16, 4,  0}, /* ECDHE-RSA-AES128-GCM-SHA256 */
    {0xC02B, 0, AEAD_AES128GCM, 16, 4,  0}, /* ECDHE-ECDSA-AES128-GCM-SHA256 */
    {0xC030, 0, AEAD_AES256GCM, 32, 4,  1}, /* ECDHE-RSA-AES256-GCM-SHA384 */
    {0xC02C, 0, AEAD_AES256GCM, 32, 4,  1}, /* ECDHE-ECDSA-AES256-GCM-SHA384 */
    {0x009E, 0, AEAD_AES128GCM, 16, 4,  0}, /* DHE-RSA-AES128-GCM-SHA256 */
    {0x009F, 0, AEAD_AES256GCM, 32, 4,  1}, /* DHE-RSA-AES256-GCM-SHA384 */
    {0x009C, 0, AEAD_AES128GCM, 16, 4,  0}, /* RSA-AES128-GCM-SHA256 */
    {0x009D, 0, AEAD_AES256GCM, 32, 4,  1}, /* RSA-AES256-GCM-SHA384 */
    {0xCCA8, 0, AEAD_CHACHA,    32, 12, 0}, /* ECDHE-RSA-CHACHA20-POLY1305 */
    {0xCCA9, 0, AEAD_CHACHA,    32, 12, 0}, /* ECDHE-ECDSA-CHACHA20-POLY1305 */
    {0xCCAA, 0, AEAD_CHACHA,    32, 12, 0}, /* DHE-RSA-CHACHA20-POLY1305 */
};
const char *const tls_aead_names[AEAD_N] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};
// clang-format on

const suite_info *tls_suite_find(uint16_t id, bool tls13)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (suites[i].id == id && suites[i].tls13 == tls13) return &suites[i];
    return NULL;
}

/* ==== key derivation (EVP_KDF) ==== */

static const char *md_name(const suite_info *si)
{
    return si->sha384 ? "SHA384" : "SHA256";
}

/* HKDF-Expand-Label(secret, label, "", olen), RFC 8446 7.1:
 * info = uint16 olen || uint8 len("tls13 " label) || "tls13 " label || uint8 0 */
static bool expand_label(tlsdec_ctx *c, const suite_info *si, const uint8_t *secret, size_t slen,
                         const char *label, uint8_t *out, size_t olen)
{
    uint8_t info[2 + 1 + 6 + 16 + 1];
    size_t ll = strlen(label);
    if (ll > 16) return false;
    info[0] = (uint8_t)(olen >> 8);
    info[1] = (uint8_t)olen;
    info[2] = (uint8_t)(6 + ll);
    memcpy(info + 3, "tls13 ", 6);
    memcpy(info + 9, label, ll);
    info[9 + ll] = 0;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, 10 + ll),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_end(),
    };
    /* the context's digest was set when it was made (tlsdec_ctx_new) */
    EVP_KDF_CTX *k = c->hk[si->sha384 ? 1 : 0];
    bool ok = EVP_KDF_derive(k, out, olen, p) == 1;
    /* the context keeps a copy of the key it was given: replaced (and the
     * copy wiped by OpenSSL) so that no secret outlives its session here */
    static const uint8_t none[1];
    OSSL_PARAM w[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)none, sizeof(none)),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF_CTX_set_params(k, w);
    return ok;
}

/* TLS 1.2 key_block = PRF(master, "key expansion", server_random || client_random). */
static bool key_block(tlsdec_ctx *c, const tlsdec_session *s, const uint8_t *master, uint8_t *out,
                      size_t olen)
{
    uint8_t seed[13 + 64];
    memcpy(seed, "key expansion", 13);
    memcpy(seed + 13, s->server_random, 32);
    memcpy(seed + 45, s->client_random, 32);
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md_name(s->si), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)master, 48),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed)),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF_CTX *k = EVP_KDF_CTX_new(c->prf);
    bool ok = k && EVP_KDF_derive(k, out, olen, p) == 1;
    EVP_KDF_CTX_free(k);
    return ok;
}

/* Puts key into cc (the suite's AEAD, 12-byte nonces). */
static bool cipher_key(tlsdec_ctx *c, const suite_info *si, EVP_CIPHER_CTX *cc, const uint8_t *key)
{
    /* A direction's next epoch (handshake -> application, KeyUpdate) keeps
     * the cipher: only the key changes, without setting the cipher up
     * again (a third of a short session's key-schedule time). */
    if (EVP_CIPHER_CTX_get0_cipher(cc) != c->cipher[si->aead] &&
        (EVP_DecryptInit_ex(cc, c->cipher[si->aead], NULL, NULL, NULL) != 1 ||
         EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1))
        return false;
    return EVP_DecryptInit_ex(cc, NULL, NULL, key, NULL) == 1;
}

/* TLS 1.3: key and IV of a traffic secret into (cc, iv). */
bool tls_install13(tlsdec_ctx *c, const suite_info *si, EVP_CIPHER_CTX *cc, uint8_t iv[12],
                   const uint8_t *secret, size_t slen)
{
    uint8_t key[32];
    bool ok = expand_label(c, si, secret, slen, "key", key, si->keylen) &&
              expand_label(c, si, secret, slen, "iv", iv, 12) && cipher_key(c, si, cc, key);
    OPENSSL_cleanse(key, sizeof(key));
    return ok;
}

size_t tls_hash_len(const suite_info *si)
{
    return si->sha384 ? 48 : 32;
}

size_t tls_lookup(tlsdec_session *s, keylog_label l, uint8_t *out)
{
    tlsdec_ctx *c = s->ctx;
    if (c->cfg.key_fn) return c->cfg.key_fn(c->cfg.key_ud, s->client_random, l, out, 48);
    if (c->cfg.keys) return keylog_table_get(c->cfg.keys, s->client_random, l, out, 48);
    return 0;
}

keylog_label tls_label_of(const tlsdec_session *s, const dirst *d, int epoch)
{
    bool client = d->dir == s->client_dir;
    switch (epoch) {
    case EP_EARLY:
        return KEYLOG_CLIENT_EARLY;
    case EP_HS:
        return client ? KEYLOG_CLIENT_HANDSHAKE : KEYLOG_SERVER_HANDSHAKE;
    case EP_APP:
        return client ? KEYLOG_CLIENT_TRAFFIC_0 : KEYLOG_SERVER_TRAFFIC_0;
    default:
        return KEYLOG_CLIENT_RANDOM;
    }
}

/* Installs the keys of d's current epoch from the key log.  True when the
 * direction can decrypt. */
bool tls_dir_keys(tlsdec_session *s, dirst *d)
{
    tlsdec_ctx *c = s->ctx;
    if (d->keys) return true;
    if (!s->have_ch || !s->have_sh || s->unsupported || d->epoch == EP_NONE) return false;
    if (!d->cc && !(d->cc = EVP_CIPHER_CTX_new())) return false;
    uint8_t sec[48];
    size_t n = tls_lookup(s, tls_label_of(s, d, d->epoch), sec);
    bool ok = false;
    if (n && d->epoch == EP_12) {
        if (n == 48) {
            /* client key, server key, client IV, server IV (no MAC keys: AEAD) */
            const suite_info *si = s->si;
            uint8_t kb[2 * 32 + 2 * 12];
            size_t kl = si->keylen, il = si->ivlen;
            bool client = d->dir == s->client_dir;
            if (key_block(c, s, sec, kb, 2 * kl + 2 * il)) {
                memcpy(d->iv, kb + 2 * kl + (client ? 0 : il), il);
                ok = cipher_key(c, si, d->cc, kb + (client ? 0 : kl));
            }
            OPENSSL_cleanse(kb, sizeof(kb));
        }
    } else if (n) {
        if (n == tls_hash_len(s->si)) {
            ok = tls_install13(c, s->si, d->cc, d->iv, sec, n);
            memcpy(d->secret, sec, n);
        }
    }
    OPENSSL_cleanse(sec, sizeof(sec));
    if (!ok) return false;
    d->keys = true;
    d->ever_keys = true;
    if (!s->ever_keys) {
        s->ever_keys = true;
        c->st.sessions_with_keys++;
    }
    return true;
}

/* Enters a new epoch (sequence numbers restart) and tries its keys. */
void tls_dir_enter(tlsdec_session *s, dirst *d, int epoch)
{
    d->epoch = (uint8_t)epoch;
    d->seq = 0;
    d->keys = false;
    OPENSSL_cleanse(d->secret, sizeof(d->secret));
    tls_dir_keys(s, d);
}

/* KeyUpdate: secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length). */
bool tls_next_secret(tlsdec_session *s, const uint8_t *secret, uint8_t *next)
{
    return expand_label(s->ctx, s->si, secret, tls_hash_len(s->si), "traffic upd", next,
                        tls_hash_len(s->si));
}

void tls_dir_keyupdate(tlsdec_session *s, dirst *d)
{
    uint8_t nx[48];
    bool ok = tls_next_secret(s, d->secret, nx) &&
              tls_install13(s->ctx, s->si, d->cc, d->iv, nx, tls_hash_len(s->si));
    memcpy(d->secret, nx, sizeof(nx));
    OPENSSL_cleanse(nx, sizeof(nx));
    d->seq = 0;
    if (!ok) d->keys = false;
}

/* ==== AEAD ==== */

/* Opens one protected record (header included) with (cc, iv) at sequence
 * number seq into out.  Returns the plaintext length (TLS 1.3: inner
 * plaintext with its type and padding), or -1 if the tag does not verify. */
long tls_open_record(const tlsdec_session *s, EVP_CIPHER_CTX *cc, const uint8_t iv[12],
                     uint64_t seq, const uint8_t *rec, size_t reclen, uint8_t *out)
{
    const uint8_t *b = rec + REC_HDR;
    size_t body = reclen - REC_HDR;
    uint8_t nonce[12], aad[13];
    size_t aadlen;
    const uint8_t *ct = b;
    size_t ctlen;
    bool xor_seq = true;
    if (s->tls13) {
        if (body < TAG_LEN + 1) return -1;
        ctlen = body - TAG_LEN;
        memcpy(aad, rec, REC_HDR);
        aadlen = REC_HDR;
    } else {
        if (s->si->ivlen == 4) { /* GCM: salt || explicit nonce from the record */
            if (body < 8 + TAG_LEN) return -1;
            memcpy(nonce, iv, 4);
            memcpy(nonce + 4, b, 8);
            ct = b + 8;
            ctlen = body - 8 - TAG_LEN;
            xor_seq = false;
        } else {
            if (body < TAG_LEN) return -1;
            ctlen = body - TAG_LEN;
        }
        for (int i = 0; i < 8; i++) aad[i] = (uint8_t)(seq >> (56 - 8 * i));
        aad[8] = rec[0];
        aad[9] = rec[1];
        aad[10] = rec[2];
        aad[11] = (uint8_t)(ctlen >> 8);
        aad[12] = (uint8_t)ctlen;
        aadlen = 13;
    }
    if (xor_seq) {
        memcpy(nonce, iv, 12);
        for (int i = 0; i < 8; i++) nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
    }
    int n1 = 0, n2 = 0;
    if (EVP_DecryptInit_ex(cc, NULL, NULL, NULL, nonce) != 1 ||
        EVP_DecryptUpdate(cc, NULL, &n1, aad, (int)aadlen) != 1 ||
        EVP_DecryptUpdate(cc, out, &n1, ct, (int)ctlen) != 1 ||
        EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)(ct + ctlen)) != 1 ||
        EVP_DecryptFinal_ex(cc, out + n1, &n2) != 1)
        return -1;
    return (long)n1 + n2;
}
