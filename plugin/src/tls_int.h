/*
 * tls_int.h -- what the files of passive TLS decryption share (private to
 * them; the contract is tlsdec.h): the record and handshake constants, the
 * cipher suite table's row, the context, session and per-direction state,
 * and the steps each file offers the others.
 *
 *   tls_crypto.c     cipher suites, key schedule (HKDF-Expand-Label,
 *                    TLS1-PRF), AEAD record protection (nonce, AAD)
 *   tls_handshake.c  ClientHello, ServerHello, EncryptedExtensions (ALPN),
 *                    Finished / KeyUpdate / EndOfEarlyData boundaries
 *   tls_record.c     record framing, plaintext delivery, holding bytes
 *                    for a late key
 *   tls_resync.c     gaps: skipping a lost record, finding the next one
 *   tls_session.c    the context and session API of tlsdec.h
 *
 * Directions (RFC 8446 5.1, RFC 5246 6.2): the caller numbers them 0 and
 * 1; the direction carrying the ClientHello is the client's.  Each
 * direction goes through:
 *   clear      records in the clear (hellos, CCS), parsed for the handshake;
 *   protected  after TLS 1.2's ChangeCipherSpec, or the first TLS 1.3
 *              application_data record; decrypted with the current epoch's
 *              keys, or held while they are unknown;
 *   unsynced   after a gap that lost a record boundary: scanning;
 *   dead       after an authentication failure (or a hopeless gap).
 */
#ifndef EGRET_TLS_INT_H
#define EGRET_TLS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "keylog.h"
#include "tlsdec.h"

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

enum { AEAD_AES128GCM, AEAD_AES256GCM, AEAD_CHACHA, AEAD_N };

typedef struct suite_info {
    uint16_t id;
    uint8_t tls13; /* 1: a TLS 1.3 suite */
    uint8_t aead;  /* AEAD_* */
    uint8_t keylen;
    uint8_t ivlen;  /* TLS 1.2 fixed IV: 4 (GCM salt) or 12 (ChaCha20) */
    uint8_t sha384; /* the handshake hash / PRF is SHA-384 */
} suite_info;

/* ==== state ==== */

struct tlsdec_ctx {
    tlsdec_config cfg;
    EVP_KDF *hkdf, *prf;
    EVP_KDF_CTX *hk[2]; /* HKDF with SHA-256 [0] / SHA-384 [1] set once */
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
    size_t buf_hw; /* most bytes buf ever held: what release() wipes */
    size_t skip;   /* bytes of a lost record still to skip (boundary known) */
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

/* ==== steps shared between the files ==== */

/* tls_crypto.c */
extern const char *const tls_aead_names[AEAD_N]; /* EVP_CIPHER_fetch names, by AEAD_* */
const suite_info *tls_suite_find(uint16_t id, bool tls13);
bool tls_install13(tlsdec_ctx *c, const suite_info *si, EVP_CIPHER_CTX *cc, uint8_t iv[12],
                   const uint8_t *secret, size_t slen);
size_t tls_hash_len(const suite_info *si);
size_t tls_lookup(tlsdec_session *s, keylog_label l, uint8_t *out);
keylog_label tls_label_of(const tlsdec_session *s, const dirst *d, int epoch);
bool tls_dir_keys(tlsdec_session *s, dirst *d);
void tls_dir_enter(tlsdec_session *s, dirst *d, int epoch);
bool tls_next_secret(tlsdec_session *s, const uint8_t *secret, uint8_t *next);
void tls_dir_keyupdate(tlsdec_session *s, dirst *d);
long tls_open_record(const tlsdec_session *s, EVP_CIPHER_CTX *cc, const uint8_t iv[12],
                     uint64_t seq, const uint8_t *rec, size_t reclen, uint8_t *out);

/* tls_handshake.c */
void tls_hs_reset(hs_scan *h);
void tls_hs_feed(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n);

/* tls_record.c */
void tls_deliver(tlsdec_session *s, dirst *d, tlsdec_event ev, const uint8_t *p, size_t n);
void tls_stop(tlsdec_session *s, dirst *d);
void tls_hold_free(tlsdec_session *s, dirst *d);
void tls_hold_drop(tlsdec_session *s, dirst *d, size_t n);
bool tls_hold_replay(tlsdec_session *s, dirst *d);
void tls_protected_record(tlsdec_session *s, dirst *d, const uint8_t *rec, size_t reclen);
void tls_dir_input(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n);

/* tls_resync.c */
size_t tls_scan_input(tlsdec_session *s, dirst *d, const uint8_t *p, size_t n);
void tls_dir_gap(tlsdec_session *s, dirst *d, size_t len);

#endif
