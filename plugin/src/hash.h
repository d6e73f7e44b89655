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
void hash_sha256(const void *data, size_t len, uint8_t out[32]);

/* Standard base64 with padding; writes a NUL-terminated string.  'out'
 * needs 4 * ((len + 2) / 3) + 1 bytes.  Returns the string length. */
size_t hash_base64(const uint8_t *in, size_t len, char *out);

#endif /* EGRET_HASH_H */
