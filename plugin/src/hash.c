/*
 * hash.c -- libcrypto adapter: SHA-1 (Community ID), SHA-256 (content
 * fingerprints) and base64.  Only this file includes OpenSSL headers.
 */
/* Community IDs hash some 40 bytes per flow, where the EVP interface costs
 * about twice the digest itself (provider dispatch on every call: 120 ns
 * against 63 ns measured).  SHA-1 therefore uses libcrypto's low-level
 * functions: deprecated in OpenSSL 3 but still provided (Debian 12 ships
 * 3.0); the warning is silenced for this file only. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "hash.h"

#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

void hash_sha1(const void *data, size_t len, uint8_t out[20])
{
    SHA_CTX c;
    SHA1_Init(&c);
    SHA1_Update(&c, data, len);
    SHA1_Final(out, &c);
}

void hash_md5(const void *data, size_t len, uint8_t out[16])
{
    unsigned n = 16;
    EVP_Digest(data, len, out, &n, EVP_md5(), NULL);
}

void hash_sha256(const void *data, size_t len, uint8_t out[32])
{
    SHA256(data, len, out);
}

/* The opaque incremental state wraps an EVP_MD_CTX. */
struct hash_sha256_ctx {
    EVP_MD_CTX *md;
};

hash_sha256_ctx *hash_sha256_new(void)
{
    hash_sha256_ctx *h = malloc(sizeof(*h));
    if (!h) return NULL;
    h->md = EVP_MD_CTX_new();
    if (!h->md || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->md);
        free(h);
        return NULL;
    }
    return h;
}

void hash_sha256_reset(hash_sha256_ctx *h)
{
    EVP_DigestInit_ex(h->md, EVP_sha256(), NULL);
}

void hash_sha256_update(hash_sha256_ctx *h, const void *data, size_t len)
{
    if (len) EVP_DigestUpdate(h->md, data, len);
}

void hash_sha256_final(hash_sha256_ctx *h, uint8_t out[32])
{
    unsigned int n = 32;
    EVP_DigestFinal_ex(h->md, out, &n);
}

void hash_sha256_free(hash_sha256_ctx *h)
{
    if (!h) return;
    EVP_MD_CTX_free(h->md);
    free(h);
}

void hash_hex(const uint8_t *in, size_t len, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * len] = 0;
}

size_t hash_base64(const uint8_t *in, size_t len, char *out)
{
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}
