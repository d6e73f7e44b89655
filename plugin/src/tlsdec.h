/*
 * tlsdec.h -- passive TLS decryption of one TCP connection from key-log
 * secrets (RFC 8446 TLS 1.3; RFC 5246 + 5288 + 7905 TLS 1.2 AEAD suites).
 *
 * Input mirrors reasm's deliver model: per direction, the in-order bytes
 * (tlsdec_feed), gap notices for bytes that were not captured (tlsdec_gap)
 * and the end of the stream (tlsdec_end).  Output, through the deliver
 * callback: the decrypted application-data bytes of each direction, a gap
 * notice where plaintext was lost, and the end.  Only bytes whose AEAD tag
 * verified are ever delivered.
 *
 * Engine wiring: in the reasm callback of a flow nDPI calls TLS, map
 * REASM_DATA -> tlsdec_feed, REASM_GAP -> tlsdec_gap, REASM_DEPTH/END ->
 * tlsdec_end; deliver TLSDEC_DATA to http_conn_feed (HTTP/1.x) or the
 * HTTP/2 parser as tlsdec_alpn() says, TLSDEC_GAP to the parser's lossy
 * mode, TLSDEC_END to its end.  When the key log gains lines, call
 * tlsdec_retry on sessions waiting for keys (tlsdec_waiting) -- or let the
 * next feed do it, which it does when the key table's generation changed.
 *
 * What is decrypted:
 *  - TLS 1.3: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
 *    TLS_CHACHA20_POLY1305_SHA256; handshake -> application secrets after
 *    each side's Finished; KeyUpdate in either direction; HelloRetryRequest;
 *    PSK resumption (its secrets are logged like any other); 0-RTT early
 *    data when CLIENT_EARLY_TRAFFIC_SECRET is logged (without it the early
 *    records are skipped and counted).
 *  - TLS 1.2: the AEAD suites ECDHE-RSA/ECDSA, DHE-RSA and RSA with
 *    AES-128-GCM, AES-256-GCM (0xC02F 0xC02B 0xC030 0xC02C 0x009E 0x009F
 *    0x009C 0x009D) and ChaCha20-Poly1305 (0xCCA8 0xCCA9 0xCCAA), full and
 *    abbreviated (resumed) handshakes.
 *  - Not decrypted (the session is counted as 'unsupported' and nothing is
 *    delivered): CBC and other non-AEAD suites, AES-CCM, TLS 1.1 and
 *    older, renegotiation (records after a second handshake fail their tag
 *    and stop that direction), a session whose ClientHello was not captured
 *    (no client random to look up), SSLv2-style hellos.
 *
 * Capture loss: a gap never ends decryption by itself.  If the gap ends
 * inside a record whose header was seen, the next record boundary is known
 * and its sequence number is the next one.  Otherwise the bytes after the
 * gap are scanned for a plausible header (type 23, version 0x0303, a
 * length a protected record can have) and the few sequence numbers the
 * gap's length allows are tried, nearest the estimate (gap bytes / average
 * record size) first, at most tlsdec_config.seq_trials of them (TLS 1.2
 * GCM's explicit nonce, which OpenSSL and most stacks set to the sequence
 * number, is tried first); in TLS 1.3 the direction's next secret (the
 * application secret after a handshake-epoch gap, the KeyUpdate successor
 * after an application-epoch gap) is tried too, so a lost Finished or
 * KeyUpdate is survived.  The AEAD tag confirms the right one; trial
 * failures are not authentication failures.  A gap before a direction's
 * protected records started, or 64 plausible headers in a row that verify
 * with no candidate, stop that direction (counted).  Plaintext lost is
 * announced downstream as TLSDEC_GAP with an estimate of its length.
 *
 * Authentication: a record that fails its tag where the sequence number is
 * known stops decryption of that direction (auth_failures).
 *
 * Keys not known yet (late key-log line): once a direction needs a secret
 * it does not have, its raw bytes (and gap notices) are held, at most
 * hold_max bytes per session and hold_total_max over the context
 * (hold_cap_hits counts sessions that reached either; later bytes are
 * dropped and become a gap, which the resync above may still bridge).  A
 * retry that finds the secret replays the held bytes.  When the bytes
 * dropped exceed hold_max too, the session gives up (sessions_without_keys)
 * and frees what it held.
 *
 * Memory: per session, two record buffers (TLSDEC_RECBUF bytes each,
 * allocated at a direction's first record, freed when it stops or starts
 * holding raw bytes for a key) and one EVP_CIPHER_CTX per direction, reused
 * for every record; the plaintext is written into one per-context scratch
 * buffer.  Nothing is allocated per record.  A context and its sessions
 * belong to one thread (one engine); the key table may be shared between
 * threads (keylog.h).  Create sessions only when a key source is configured:
 * most TLS flows a sensor sees have no key, and each costs a hold.
 *
 * Secrets: copied from the key table only while keys are derived; the
 * current traffic secret and keys are kept (KeyUpdate needs them) and
 * wiped when replaced and when the session is freed.  Nothing here logs.
 */
#ifndef EGRET_TLSDEC_H
#define EGRET_TLSDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keylog.h"

#define TLSDEC_DEFAULT_HOLD       (256u * 1024)       /* bytes held per session waiting for a key */
#define TLSDEC_DEFAULT_HOLD_TOTAL (64u * 1024 * 1024) /* bytes held, all sessions of a ctx */
#define TLSDEC_DEFAULT_TRIALS     64u /* sequence numbers tried per resync candidate */
#define TLSDEC_RECBUF             (5 + 16384 + 2048) /* the largest TLS 1.2 record */

typedef enum tlsdec_event {
    TLSDEC_DATA, /* data/len: decrypted application data (borrowed, valid during the call) */
    TLSDEC_GAP,  /* data NULL, len: about this many plaintext bytes were lost */
    TLSDEC_END,  /* data NULL, len 0: the direction ended (after tlsdec_end) */
} tlsdec_event;

/* dir is the caller's direction index (0 or 1) given to tlsdec_feed. */
typedef void (*tlsdec_deliver_fn)(void *ud, int dir, tlsdec_event ev, const uint8_t *data,
                                  size_t len);

/* Secret lookup: copies the secret for (client_random, label) into out and
 * returns its length, 0 if unknown. */
typedef size_t (*tlsdec_key_fn)(void *ud, const uint8_t client_random[KEYLOG_CR_LEN],
                                keylog_label label, uint8_t *out, size_t cap);

typedef struct tlsdec_config {
    keylog_table *keys;    /* the shared key table; used when key_fn is NULL */
    tlsdec_key_fn key_fn;  /* or a lookup callback (then every feed of a waiting */
    void *key_ud;          /*   session retries) */
    size_t hold_max;       /* per session; 0 = TLSDEC_DEFAULT_HOLD */
    size_t hold_total_max; /* all sessions of the ctx; 0 = TLSDEC_DEFAULT_HOLD_TOTAL */
    unsigned seq_trials;   /* 0 = TLSDEC_DEFAULT_TRIALS */
    bool forget;           /* tlsdec_session_free removes the session's secrets from */
                           /*   'keys': they live only as long as their session */
} tlsdec_config;

typedef struct tlsdec_stats {
    uint64_t sessions;              /* sessions created */
    uint64_t sessions_with_keys;    /* sessions that found secrets for a direction */
    uint64_t sessions_without_keys; /* ended or gave up with protected bytes and no secrets */
    uint64_t sessions_unsupported;  /* version or suite we do not decrypt */
    uint64_t late_keys;             /* directions decrypted from held bytes after a retry */
    uint64_t records_decrypted;     /* records whose tag verified */
    uint64_t bytes_decrypted;       /* application-data bytes delivered */
    uint64_t auth_failures;         /* records that failed their tag (direction stopped) */
    uint64_t gaps;                  /* gap notices received */
    uint64_t resyncs;               /* times decryption continued after a gap */
    uint64_t resync_failures;       /* directions stopped by a gap nothing bridged (before */
                                    /*   both hellos, or no plausible record verified) */
    uint64_t records_skipped;       /* records lost to gaps (or unreadable early data); */
                                    /*   a lower bound when a key changed in the gap */
    uint64_t bytes_held;            /* bytes held now, all sessions */
    uint64_t hold_cap_hits;         /* sessions whose held bytes reached hold_max */
} tlsdec_stats;

typedef struct tlsdec_ctx tlsdec_ctx;
typedef struct tlsdec_session tlsdec_session;

/* A context: fetches the ciphers and KDFs once.  cfg is copied.  NULL on
 * failure (allocation, or libcrypto without these algorithms). */
tlsdec_ctx *tlsdec_ctx_new(const tlsdec_config *cfg);

/* All sessions must be freed first.  Accepts NULL. */
void tlsdec_ctx_free(tlsdec_ctx *ctx);

void tlsdec_ctx_stats(const tlsdec_ctx *ctx, tlsdec_stats *out);

/* One TCP connection.  cb receives the output (it must not call tlsdec
 * functions on the same session).  NULL on allocation failure. */
tlsdec_session *tlsdec_session_new(tlsdec_ctx *ctx, tlsdec_deliver_fn cb, void *ud);

/* Wipes the secrets and frees everything.  Accepts NULL. */
void tlsdec_session_free(tlsdec_session *s);

/* In-order bytes of direction dir (0 or 1; either may be the client: the
 * ClientHello tells).  data is borrowed. */
void tlsdec_feed(tlsdec_session *s, int dir, const uint8_t *data, size_t len);

/* len bytes of direction dir were not captured. */
void tlsdec_gap(tlsdec_session *s, int dir, size_t len);

/* Direction dir ended: tries the keys a last time, delivers TLSDEC_END. */
void tlsdec_end(tlsdec_session *s, int dir);

/* Looks the secrets up again for a session holding bytes; replays them
 * when found.  Returns 1 if something was decrypted from held bytes. */
int tlsdec_retry(tlsdec_session *s);

/* Per-session facts for the wiring and for flow records. */
typedef struct tlsdec_info {
    int client_dir;      /* -1 until a ClientHello is seen */
    uint16_t version;    /* 0x0303, 0x0304; 0 until the ServerHello */
    uint16_t suite;      /* the negotiated cipher suite */
    bool hrr;            /* a HelloRetryRequest was seen */
    bool supported;      /* version and suite are decryptable */
    bool keys[2];        /* direction d has found its secrets */
    bool waiting;        /* bytes are held for a secret not yet known */
    bool failed[2];      /* direction d stopped (auth failure, resync failure, gave up) */
    const char *alpn;    /* the server's ALPN choice ("h2", "http/1.1"), or NULL */
    uint64_t records[2]; /* records decrypted per direction */
    uint64_t skipped[2]; /* records lost to gaps per direction */
    uint64_t resyncs[2];
} tlsdec_info;

void tlsdec_get_info(const tlsdec_session *s, tlsdec_info *out);

/* The server's ALPN choice, or NULL (no ALPN, or not decrypted yet: in
 * TLS 1.3 it is inside the encrypted EncryptedExtensions). */
const char *tlsdec_alpn(const tlsdec_session *s);

/* True once direction dir has found its secrets: from then on every byte
 * it delivers downstream comes from a record whose AEAD tag verified (the
 * wiring stops that direction's TCP overlap history, reasm.h). */
bool tlsdec_dir_keyed(const tlsdec_session *s, int dir);

/* True while the session holds bytes waiting for a secret. */
bool tlsdec_waiting(const tlsdec_session *s);

#endif /* EGRET_TLSDEC_H */
