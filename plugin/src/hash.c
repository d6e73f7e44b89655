/*
 * hash.c -- libcrypto adapter: SHA-1 (Community ID), SHA-256 (content
 * fingerprints) and base64.  Only this file includes OpenSSL headers.
 */
#include "hash.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

void hash_sha1(const void *data, size_t len, uint8_t out[20])
{
    SHA1(data, len, out);
}

void hash_sha256(const void *data, size_t len, uint8_t out[32])
{
    SHA256(data, len, out);
}

size_t hash_base64(const uint8_t *in, size_t len, char *out)
{
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}
