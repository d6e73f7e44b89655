/*
 * hash.c -- libcrypto adapter: SHA-1 (Community ID), SHA-256 (content
 * fingerprints) and base64.  Only this file includes OpenSSL headers.
 */
#include "hash.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

/* SHA1() looks the algorithm up on every call (OpenSSL 3: EVP_Q_digest,
 * 4% of a replay in Community IDs).  The implementation is fetched once
 * and each thread keeps one digest context. */
static EVP_MD *sha1_md;
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha1_key; /* frees a thread's context when it exits */
static bool sha1_key_ok;
static _Thread_local EVP_MD_CTX *sha1_ctx;

static void sha1_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void sha1_fetch(void)
{
    sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
    sha1_key_ok = pthread_key_create(&sha1_key, sha1_ctx_free) == 0;
}

void hash_sha1(const void *data, size_t len, uint8_t out[20])
{
    pthread_once(&sha1_once, sha1_fetch);
    if (!sha1_ctx && sha1_key_ok) {
        sha1_ctx = EVP_MD_CTX_new();
        if (sha1_ctx && pthread_setspecific(sha1_key, sha1_ctx) != 0) {
            EVP_MD_CTX_free(sha1_ctx);
            sha1_ctx = NULL;
        }
    }
    unsigned n = 0;
    if (!sha1_md || !sha1_ctx || EVP_DigestInit_ex2(sha1_ctx, sha1_md, NULL) != 1 ||
        EVP_DigestUpdate(sha1_ctx, data, len) != 1 || EVP_DigestFinal_ex(sha1_ctx, out, &n) != 1)
        SHA1(data, len, out);
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
