/*
 * hash.h -- cryptographic hashes and base64 (the libcrypto adapter).
 *
 * hash.c is the only file that includes OpenSSL headers.
 */
#ifndef EGRET_HASH_H
#define EGRET_HASH_H

#include <stddef.h>
#include <stdint.h>

void hash_sha1(const void *data, size_t len, uint8_t out[20]);
/* MD5: only for fingerprints defined with it (JA3), never for security. */
void hash_md5(const void *data, size_t len, uint8_t out[16]);
void hash_sha256(const void *data, size_t len, uint8_t out[32]);

/* Incremental SHA-256 for streaming fingerprints.  The state is opaque
 * (no OpenSSL type leaks out of hash.c) and allocated once: reuse it with
 * hash_sha256_reset rather than allocating per message.
 * hash_sha256_new returns NULL on allocation failure; the state is ready to
 * update.  hash_sha256_final writes the digest and leaves the state to be
 * reset before reuse.  hash_sha256_free accepts NULL. */
typedef struct hash_sha256_ctx hash_sha256_ctx;
hash_sha256_ctx *hash_sha256_new(void);
void hash_sha256_reset(hash_sha256_ctx *h);
void hash_sha256_update(hash_sha256_ctx *h, const void *data, size_t len);
void hash_sha256_final(hash_sha256_ctx *h, uint8_t out[32]);
void hash_sha256_free(hash_sha256_ctx *h);

/* Lower-case hex of 'len' bytes; 'out' needs 2 * len + 1 bytes. */
void hash_hex(const uint8_t *in, size_t len, char *out);

/* Standard base64 with padding; writes a NUL-terminated string.  'out'
 * needs 4 * ((len + 2) / 3) + 1 bytes.  Returns the string length. */
size_t hash_base64(const uint8_t *in, size_t len, char *out);

#endif /* EGRET_HASH_H */
