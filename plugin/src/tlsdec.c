/*
 * tlsdec.c -- passive TLS decryption of one TCP connection (tlsdec.h has
 * the contract and the list of what is and is not decrypted).
 *
 * Owns: per session, the record framing state, the handshake-message
 * scanner, the keys and one EVP_CIPHER_CTX per direction, the bytes held
 * for a late key.  All cryptography is OpenSSL 3 EVP: EVP_KDF "HKDF"
 * (HKDF-Expand-Label, RFC 8446 7.1), EVP_KDF "TLS1-PRF" (RFC 5246 6.3 key
 * expansion) and the AEAD ciphers.  libcrypto is the project's one crypto
 * library (hash.c uses it for digests); this file is its AEAD/KDF adapter.
 *
 * TLS record (RFC 8446 5.1, RFC 5246 6.2):
 *
 *     0      1      2      3      4      5 ...
 *   +------+------+------+------+------+---------------------+
 *   | type | version     | length      | fragment (length)   |
 *   +------+------+------+------+------+---------------------+
 *
 * Handshake message (RFC 8446 4): type (1) | length (3) | body.
 *
 * Directions: the caller numbers them 0 and 1; the direction carrying the
 * ClientHello is the client's.  Each direction goes through:
 *   clear      records in the clear (hellos, CCS), parsed for the handshake;
 *   protected  after TLS 1.2's ChangeCipherSpec, or the first TLS 1.3
 *              application_data record; decrypted with the current epoch's
 *              keys, or held while they are unknown;
 *   unsynced   after a gap that lost a record boundary: scanning;
 *   dead       after an authentication failure (or a hopeless gap).
 */
#include "tlsdec.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "cursor.h"

#define REC_HDR    5
#define TAG_LEN    16
#define MAX_FRAG13 (16384 + 256)  /* TLSCiphertext.length limit, RFC 8446 5.2 */
#define MAX_FRAG12 (16384 + 2048) /* RFC 5246 6.2.3 */
#define HS_CAP_MAX 16384          /* handshake bodies we keep to parse (hellos, EE) */
#define MAX_HGAPS  8              /* gap notices remembered while holding */
#define SCAN_FAILS 64             /* plausible headers that verify with nothing: give up */
#define ALPN_MAX   32

enum { CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APPDATA = 23 };
enum { HS_CH = 1, HS_SH = 2, HS_EOED = 5, HS_EE = 8, HS_FINISHED = 20, HS_KEYUPDATE = 24 };

/* Key epochs of a direction.  TLS 1.2 has one (E12); TLS 1.3 moves
 * EARLY -> HS -> APP, and APP -> APP at each KeyUpdate. */
enum { EP_NONE, EP_EARLY, EP_HS, EP_APP, EP_12 };

/* ==== cipher suites ==== */

enum { AEAD_AES128GCM, AEAD_AES256GCM, AEAD_CHACHA, AEAD_N };

typedef struct suite_info {
    uint16_t id;
    uint8_t tls13; /* 1: a TLS 1.3 suite */
    uint8_t aead;  /* AEAD_* */
    uint8_t keylen;
    uint8_t ivlen;  /* TLS 1.2 fixed IV: 4 (GCM salt) or 12 (ChaCha20) */
    uint8_t sha384; /* the handshake hash / PRF is SHA-384 */
} suite_info;

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
static const char *const aead_names[AEAD_N] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};
// clang-format on

static const suite_info *suite_find(uint16_t id, bool tls13)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (suites[i].id == id && suites[i].tls13 == tls13) return &suites[i];
    return NULL;
}

/* SHA-256("HelloRetryRequest"): the ServerHello.random of an HRR (RFC 8446 4.1.3). */
static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

/* ==== state ==== */

struct tlsdec_ctx {
    tlsdec_config cfg;
    EVP_KDF *hkdf, *prf;
    EVP_CIPHER *cipher[AEAD_N];
    EVP_CIPHER_CTX *trial; /* resync trials with a direction's next secret */
    uint8_t *out;          /* plaintext scratch (TLSDEC_RECBUF) */
    uint8_t *tmp;          /* bytes after a resynchronised record, re-fed */
    tlsdec_stats st;
};

/* Handshake-message scanner over one direction's handshake bytes. */
typedef struct hs_scan {
    uint8_t hdr[4];
    uint8_t hlen; /* header bytes collected (4: in a body) */
    uint8_t type;
    uint32_t left; /* body bytes still to come */
    uint8_t *cap;  /* body kept for parsing (hellos, EE) */
    size_t cap_len, cap_max;
    bool finished, keyupdate, eoed; /* completed in the current record */
} hs_scan;

typedef struct dirst {
    int dir;
    bool enc;    /* protected records from here on */
    bool synced; /* record boundaries known */
    bool dead;   /* stopped */
    bool ended;
    bool keys; /* the cipher holds the current epoch's key */
    bool ever_keys;
    bool holding;
    bool early_skip; /* 0-RTT offered without its secret: skip until HS verifies */
    uint8_t epoch;
    uint64_t seq;
    uint64_t off; /* stream offset of the next input byte (gaps included) */
    /* framing */
    uint8_t *buf; /* current record (synced) or scan window (unsynced) */
    size_t blen;
    size_t skip; /* bytes of a lost record still to skip (boundary known) */
    /* keys */
    EVP_CIPHER_CTX *cc;
    uint8_t iv[12];
    uint8_t secret[48]; /* current TLS 1.3 traffic secret (KeyUpdate derives from it) */
    /* resync (unsynced): the next record found has a sequence number in
     * [cand_lo, cand_lo + (found_off - b_off) / min_record] */
    uint64_t b_off, cand_lo, lost_seq, lost_off;
    unsigned scan_fails;
    /* hold */
    uint8_t *hold;
    size_t hold_len, hold_size, hold_dropped;
    struct {
        size_t at, len;
    } hgap[MAX_HGAPS];
    int nhgap;
    uint64_t gen; /* key table generation last tried */
    /* counters */
    uint64_t records, rec_bytes, skipped, resyncs;
    bool failed;
    hs_scan hs;
} dirst;

struct tlsdec_session {
    tlsdec_ctx *ctx;
    tlsdec_deliver_fn cb;
    void *ud;
    int client_dir;
    bool have_ch, have_sh, hrr, tls13, early_offered, unsupported, ever_keys, protected_seen;
    bool gave_up, want_retry, cap_hit;
    uint16_t version, suite;
    const suite_info *si;
    uint8_t client_random[32], server_random[32];
    char alpn[ALPN_MAX + 1];
    size_t held; /* bytes held, both directions */
    dirst d[2];
};

static void dir_input(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n);
static void dir_gap(tlsdec_session *s, dirst *d, size_t len);

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
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md_name(si), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, 10 + ll),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF_CTX *k = EVP_KDF_CTX_new(c->hkdf);
    bool ok = k && EVP_KDF_derive(k, out, olen, p) == 1;
    EVP_KDF_CTX_free(k);
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
    return EVP_DecryptInit_ex(cc, c->cipher[si->aead], NULL, NULL, NULL) == 1 &&
           EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1 &&
           EVP_DecryptInit_ex(cc, NULL, NULL, key, NULL) == 1;
}

/* TLS 1.3: key and IV of a traffic secret into (cc, iv). */
static bool install13(tlsdec_ctx *c, const suite_info *si, EVP_CIPHER_CTX *cc, uint8_t iv[12],
                      const uint8_t *secret, size_t slen)
{
    uint8_t key[32];
    bool ok = expand_label(c, si, secret, slen, "key", key, si->keylen) &&
              expand_label(c, si, secret, slen, "iv", iv, 12) && cipher_key(c, si, cc, key);
    OPENSSL_cleanse(key, sizeof(key));
    return ok;
}

static size_t hash_len(const suite_info *si)
{
    return si->sha384 ? 48 : 32;
}

static size_t lookup(tlsdec_session *s, keylog_label l, uint8_t *out)
{
    tlsdec_ctx *c = s->ctx;
    if (c->cfg.key_fn) return c->cfg.key_fn(c->cfg.key_ud, s->client_random, l, out, 48);
    if (c->cfg.keys) return keylog_table_get(c->cfg.keys, s->client_random, l, out, 48);
    return 0;
}

static keylog_label label_of(const tlsdec_session *s, const dirst *d, int epoch)
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
static bool dir_keys(tlsdec_session *s, dirst *d)
{
    tlsdec_ctx *c = s->ctx;
    if (d->keys) return true;
    if (!s->have_ch || !s->have_sh || s->unsupported || d->epoch == EP_NONE) return false;
    if (!d->cc && !(d->cc = EVP_CIPHER_CTX_new())) return false;
    uint8_t sec[48];
    size_t n = lookup(s, label_of(s, d, d->epoch), sec);
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
        if (n == hash_len(s->si)) {
            ok = install13(c, s->si, d->cc, d->iv, sec, n);
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
static void dir_enter(tlsdec_session *s, dirst *d, int epoch)
{
    d->epoch = (uint8_t)epoch;
    d->seq = 0;
    d->keys = false;
    OPENSSL_cleanse(d->secret, sizeof(d->secret));
    dir_keys(s, d);
}

/* KeyUpdate: secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length). */
static bool next_secret(tlsdec_session *s, const uint8_t *secret, uint8_t *next)
{
    return expand_label(s->ctx, s->si, secret, hash_len(s->si), "traffic upd", next,
                        hash_len(s->si));
}

static void dir_keyupdate(tlsdec_session *s, dirst *d)
{
    uint8_t nx[48];
    bool ok = next_secret(s, d->secret, nx) &&
              install13(s->ctx, s->si, d->cc, d->iv, nx, hash_len(s->si));
    memcpy(d->secret, nx, sizeof(nx));
    OPENSSL_cleanse(nx, sizeof(nx));
    d->seq = 0;
    if (!ok) d->keys = false;
}

/* ==== AEAD ==== */

/* Opens one protected record (header included) with (cc, iv) at sequence
 * number seq into out.  Returns the plaintext length (TLS 1.3: inner
 * plaintext with its type and padding), or -1 if the tag does not verify. */
static long open_record(const tlsdec_session *s, EVP_CIPHER_CTX *cc, const uint8_t iv[12],
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
    s->si = (version == 0x0303 || s->tls13) ? suite_find(suite, s->tls13) : NULL;
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

static void hs_reset(hs_scan *h)
{
    free(h->cap);
    memset(h, 0, sizeof(*h));
}

/* Feeds handshake-protocol bytes (clear or decrypted) of direction d. */
static void hs_feed(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n)
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
                size_t n = lookup(s, KEYLOG_CLIENT_EARLY, tmp);
                OPENSSL_cleanse(tmp, sizeof(tmp));
                if (n)
                    ep = EP_EARLY;
                else
                    d->early_skip = true;
            }
        }
        dir_enter(s, d, ep);
    }
}

/* ==== output ==== */

static void deliver(tlsdec_session *s, dirst *d, tlsdec_event ev, const uint8_t *p, size_t n)
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
        if (n) deliver(s, d, TLSDEC_DATA, pt, n);
    } else if (type == CT_HANDSHAKE) {
        hs_feed(s, d, pt, n);
    }
    if (!s->tls13) return;
    /* Key changes take effect at the next record (RFC 8446 5.1). */
    if (d->epoch == EP_EARLY && d->hs.eoed) {
        hs_reset(&d->hs);
        dir_enter(s, d, EP_HS);
    } else if (d->epoch == EP_HS && d->hs.finished) {
        hs_reset(&d->hs);
        dir_enter(s, d, EP_APP);
    } else if (d->epoch == EP_APP && d->hs.keyupdate) {
        dir_keyupdate(s, d);
    }
}

static void stop(tlsdec_session *s, dirst *d)
{
    d->dead = true;
    d->failed = true;
    d->blen = 0;
}

/* ==== holding bytes for a late key ==== */

static void hold_free(tlsdec_session *s, dirst *d)
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
            hold_free(s, &s->d[i]);
            stop(s, &s->d[i]);
        }
    }
    if (!s->gave_up && !s->ever_keys) s->ctx->st.sessions_without_keys++;
    s->gave_up = true;
}

/* Bytes that did not fit: they become a gap when the hold is replayed. */
static void hold_drop(tlsdec_session *s, dirst *d, size_t n)
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
        return hold_drop(s, d, n);
    if (d->hold_len + n > d->hold_size) {
        size_t sz = d->hold_size ? d->hold_size : 4096;
        while (sz < d->hold_len + n) sz *= 2;
        uint8_t *nb = realloc(d->hold, sz);
        if (!nb) return hold_drop(s, d, n);
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
        stop(s, d); /* no more waiting for this session's keys */
        return;
    }
    d->holding = true;
    d->gen = s->ctx->cfg.keys ? keylog_table_generation(s->ctx->cfg.keys) : 0;
    hold_append(s, d, rec, reclen);
}

/* Replays what d held once its keys are known. */
static bool hold_replay(tlsdec_session *s, dirst *d)
{
    if (!d->holding || !dir_keys(s, d)) return false;
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
        if (end > at) dir_input(s, d, h + at, end - at);
        at = end;
        if (i < ng) dir_gap(s, d, g[i].len);
    }
    if (dropped) dir_gap(s, d, dropped);
    free(h);
    return true;
}

/* ==== records ==== */

static size_t min_record(const tlsdec_session *s)
{
    if (s->tls13) return REC_HDR + 1 + TAG_LEN;
    return REC_HDR + (s->si && s->si->ivlen == 4 ? 8 : 0) + TAG_LEN;
}

static size_t max_fragment(const tlsdec_session *s)
{
    return s->tls13 ? MAX_FRAG13 : MAX_FRAG12;
}

/* Decrypts a record at the known sequence number. */
static void protected_record(tlsdec_session *s, dirst *d, const uint8_t *rec, size_t reclen)
{
    tlsdec_ctx *c = s->ctx;
    if (s->unsupported) {
        stop(s, d);
        return;
    }
    s->protected_seen = true;
    if (!d->keys && !dir_keys(s, d)) {
        hold_start(s, d, rec, reclen);
        return;
    }
    long n = open_record(s, d->cc, d->iv, d->seq, rec, reclen, c->out);
    if (n < 0 && d->epoch == EP_EARLY) {
        /* The client stopped sending early data without EndOfEarlyData
         * (the server rejected it): its handshake keys start here. */
        dir_enter(s, d, EP_HS);
        if (!d->keys) {
            hold_start(s, d, rec, reclen);
            return;
        }
        n = open_record(s, d->cc, d->iv, d->seq, rec, reclen, c->out);
    }
    if (n < 0 && d->early_skip && d->seq == 0) {
        /* 0-RTT data under a secret we lack: skip it, not a failure. */
        d->skipped++;
        c->st.records_skipped++;
        return;
    }
    if (n < 0) {
        c->st.auth_failures++;
        stop(s, d);
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
            hs_feed(s, d, frag, flen);
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
                stop(s, d); /* no ClientHello: nothing to look up */
                return;
            }
            protected_record(s, d, rec, reclen);
        }
        return;
    }
    if (s->unsupported) return;
    if (!s->have_sh) {
        /* Protected, but which version is not known yet (the ServerHello
         * was not fed yet): hold every record until it is. */
        protected_record(s, d, rec, reclen);
        return;
    }
    if (s->tls13) {
        if (type == CT_APPDATA)
            protected_record(s, d, rec, reclen);
        else if (type == CT_HANDSHAKE)
            hs_feed(s, d, frag, flen); /* the ClientHello after an HRR */
        /* CCS (compatibility) and clear alerts carry nothing */
        return;
    }
    protected_record(s, d, rec, reclen); /* TLS 1.2: every type is protected */
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
    if (!d->keys && !dir_keys(s, d)) {
        stop(s, d); /* no keys to try: nothing to resynchronise with */
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
            open_record(s, d->cc, d->iv, e, rec, reclen, c->out) >= 0) {
            found = e;
            alt = 0;
        }
    }
    if (alt < 0 && s->tls13 && (d->epoch == EP_HS || d->epoch == EP_APP)) {
        uint8_t sec[48];
        size_t n = 0;
        if (d->epoch == EP_HS) {
            n = lookup(s, label_of(s, d, EP_APP), sec);
        } else if (next_secret(s, d->secret, sec)) {
            n = hash_len(s->si);
        }
        if (n == hash_len(s->si) && install13(c, s->si, c->trial, nx_iv, sec, n)) {
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
            if (open_record(s, d->cc, d->iv, q, rec, reclen, c->out) >= 0) {
                found = q;
                alt = 0;
            } else if (have_nx && open_record(s, c->trial, nx_iv, k, rec, reclen, c->out) >= 0) {
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
            hs_reset(&d->hs);
            d->epoch = EP_APP;
        }
        install13(c, s->si, d->cc, d->iv, nx, hash_len(s->si));
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
    hs_reset(&d->hs); /* a handshake message may have been cut */
    /* About this much plaintext was lost. */
    uint64_t bytes = f > d->lost_off ? f - d->lost_off : 0;
    uint64_t ovh = lost * min_record(s); /* TLS 1.3 padding is not known: taken as none */
    deliver(s, d, TLSDEC_GAP, NULL, (size_t)(bytes > ovh ? bytes - ovh : 1));
    d->seq = found;
    protected_record(s, d, rec, reclen);
    return true;
}

/* Unsynced input: scan for a plausible header, try it.  Returns the bytes
 * of p consumed. */
static size_t scan_input(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n)
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
            dir_input(s, d, s->ctx->tmp, rest);
            return k;
        }
        if (d->dead) return k;
        if (++d->scan_fails >= SCAN_FAILS) {
            s->ctx->st.resync_failures++;
            stop(s, d);
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

/* ==== input ==== */

static void dir_input(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n)
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
            stop(s, d);
            return;
        }
        if (!d->synced) {
            size_t k = scan_input(s, d, p, n);
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
        d->off += k;
        p += k;
        n -= k;
        if (d->blen == REC_HDR) {
            const uint8_t *h = d->buf;
            size_t len = (size_t)h[3] << 8 | h[4];
            if (h[0] < CT_CCS || h[0] > CT_APPDATA || h[1] != 3 || len > MAX_FRAG12) {
                stop(s, d); /* not TLS (or not a version we read) */
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

static void dir_gap(tlsdec_session *s, dirst *d, size_t len)
{
    tlsdec_ctx *c = s->ctx;
    if (len == 0 || d->dead || d->ended) return;
    if (d->holding) {
        if (d->hold_dropped == 0 && d->nhgap < MAX_HGAPS) {
            d->hgap[d->nhgap].at = d->hold_len;
            d->hgap[d->nhgap].len = len;
            d->nhgap++;
        } else {
            hold_drop(s, d, len);
        }
        d->off += len;
        return;
    }
    if (!d->enc) {
        /* Before this direction's protected records: a lost hello or CCS
         * leaves nothing to anchor keys or sequence numbers to. */
        if (!s->have_ch || !s->have_sh || s->unsupported) {
            c->st.resync_failures++;
            stop(s, d);
            return;
        }
        /* After both hellos (TLS 1.2: the rest of a flight and the CCS may
         * be in the gap; TLS 1.3 client: its first protected records): the
         * first protected record found has a sequence number from 0. */
        uint64_t start = d->off - d->blen;
        hs_reset(&d->hs);
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
            deliver(s, d, TLSDEC_GAP, NULL, lostpt);
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
    for (int i = 0; i < AEAD_N; i++)
        ok = ok && (c->cipher[i] = EVP_CIPHER_fetch(NULL, aead_names[i], NULL)) != NULL;
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
 * keep 2 x TLSDEC_RECBUF).  Freed here, at the API boundary, because stop()
 * and hold_start() can run while the buffer is being read. */
static void release(dirst *d)
{
    if ((d->dead || (d->holding && d->blen == 0)) && d->buf) {
        OPENSSL_cleanse(d->buf, TLSDEC_RECBUF);
        free(d->buf);
        d->buf = NULL;
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
        hold_free(s, d);
        hs_reset(&d->hs);
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
            hold_free(s, d);
            stop(s, d);
            continue;
        }
        if (!force && !s->want_retry && s->ctx->cfg.keys &&
            keylog_table_generation(s->ctx->cfg.keys) == d->gen)
            continue;
        d->gen = s->ctx->cfg.keys ? keylog_table_generation(s->ctx->cfg.keys) : 0;
        if (hold_replay(s, d)) got = 1;
    }
    s->want_retry = false;
    return got;
}

void tlsdec_feed(tlsdec_session *s, int dir, const uint8_t *data, size_t len)
{
    if (dir < 0 || dir > 1) return;
    release(&s->d[dir]);
    pump(s, false);
    dir_input(s, &s->d[dir], data, len);
    if (s->want_retry) pump(s, true);
}

void tlsdec_gap(tlsdec_session *s, int dir, size_t len)
{
    if (dir < 0 || dir > 1) return;
    s->ctx->st.gaps++;
    dir_gap(s, &s->d[dir], len);
    if (s->want_retry) pump(s, true);
}

void tlsdec_end(tlsdec_session *s, int dir)
{
    if (dir < 0 || dir > 1 || s->d[dir].ended) return;
    pump(s, true);
    dirst *d = &s->d[dir];
    d->ended = true;
    deliver(s, d, TLSDEC_END, NULL, 0);
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

bool tlsdec_waiting(const tlsdec_session *s)
{
    return s->d[0].holding || s->d[1].holding;
}
