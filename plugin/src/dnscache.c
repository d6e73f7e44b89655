/*
 * dnscache.c -- per-client DNS answer memory (contract: dnscache.h).
 *
 * Owns one slab of records, a bucket array of chain heads and an age list.
 * A record is keyed by (type, client, address) for A/AAAA answers or by
 * (type, client, target name) for CNAMEs; its value is the name the client
 * originally asked for.  Indexes are 1-based so that 0 means "none".
 */
#include "dnscache.h"
#include "fnv.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { REC_FREE = 0, REC_ADDR, REC_CNAME };

typedef struct rec {
    uint64_t expires_us;
    uint64_t hash;
    uint32_t hnext;        /* bucket chain, or free list when REC_FREE */
    uint32_t older, newer; /* age list */
    uint8_t type, client_v;
    uint8_t client[16];
    uint8_t addr[17];                   /* REC_ADDR key: version, address */
    char target[DNSCACHE_NAME_MAX + 1]; /* REC_CNAME key */
    char name[DNSCACHE_NAME_MAX + 1];   /* value: the queried name */
} rec;

struct dnscache {
    rec *recs;
    uint32_t *heads;
    size_t cap, nbuckets;
    uint32_t free_head; /* records given back */
    uint32_t hwm;       /* records 1..hwm have been handed out (the rest untouched) */
    uint32_t oldest, newest;
    dnscache_stats st;
};

/* ==== helpers ==== */

static uint64_t key_hash(uint8_t type, int client_v, const uint8_t client[16], const void *key,
                         size_t keylen)
{
    uint8_t hdr[2] = {type, (uint8_t)client_v};
    uint64_t h = fnv1a64(FNV1A64_INIT, hdr, 2);
    h = fnv1a64(h, client, 16);
    h = fnv1a64(h, key, keylen);
    return h ^ (h >> 29);
}

/* Copies a 4- or 16-byte address into a zero-padded 16-byte key. */
static bool addr_key(int v, const uint8_t *in, uint8_t out[16])
{
    if (!in || (v != 4 && v != 6)) return false;
    memset(out, 0, 16);
    memcpy(out, in, v == 4 ? 4 : 16);
    return true;
}

/* An answer address key also carries its version, so 192.0.2.1 and the
 * IPv6 address c000:201:: never meet. */
static bool answer_key(int v, const uint8_t *in, uint8_t out[17])
{
    out[0] = (uint8_t)v;
    return addr_key(v, in, out + 1);
}

/* Lowercases and validates a presentation name into out.  Returns its length
 * or -1. */
static int name_norm(const char *in, char out[DNSCACHE_NAME_MAX + 1])
{
    if (!in) return -1;
    size_t n = strnlen(in, DNSCACHE_NAME_MAX + 2);
    if (n > 0 && in[n - 1] == '.') n--;
    if (n == 0 || n > DNSCACHE_NAME_MAX) return -1;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '.') {
            if (label == 0) return -1;
            label = 0;
        } else {
            if (c < '!' || c > '~') return -1;
            if (++label > 63) return -1;
        }
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        out[i] = (char)c;
    }
    out[n] = '\0';
    return (int)n;
}

static uint64_t expiry(uint32_t ttl_s, uint64_t now_us)
{
    if (ttl_s < DNSCACHE_TTL_MIN_S) ttl_s = DNSCACHE_TTL_MIN_S;
    if (ttl_s > DNSCACHE_TTL_MAX_S) ttl_s = DNSCACHE_TTL_MAX_S;
    return now_us + (uint64_t)ttl_s * 1000000u;
}

/* ==== slab, buckets, age list ==== */

dnscache *dnscache_new(size_t max_entries)
{
    if (max_entries == 0) max_entries = DNSCACHE_DEFAULT_ENTRIES;
    if (max_entries > UINT32_MAX / 2) return NULL;
    dnscache *dc = calloc(1, sizeof *dc);
    if (!dc) return NULL;
    size_t nb = 16;
    while (nb < max_entries) nb <<= 1;
    /* records are handed out in order and written first: pages are only
     * touched as the cache fills */
    dc->recs = calloc(max_entries, sizeof *dc->recs);
    dc->heads = mem_zalloc(nb, sizeof *dc->heads); /* read first: see mem.h */
    if (!dc->recs || !dc->heads) {
        dnscache_free(dc);
        return NULL;
    }
    dc->cap = max_entries;
    dc->nbuckets = nb;
    dc->st.capacity = max_entries;
    return dc;
}

void dnscache_free(dnscache *dc)
{
    if (!dc) return;
    free(dc->recs);
    free(dc->heads);
    free(dc);
}

static rec *R(dnscache *dc, uint32_t id)
{
    return &dc->recs[id - 1];
}

static void age_unlink(dnscache *dc, uint32_t id)
{
    rec *r = R(dc, id);
    if (r->older)
        R(dc, r->older)->newer = r->newer;
    else
        dc->oldest = r->newer;
    if (r->newer)
        R(dc, r->newer)->older = r->older;
    else
        dc->newest = r->older;
    r->older = r->newer = 0;
}

static void age_append(dnscache *dc, uint32_t id)
{
    rec *r = R(dc, id);
    r->older = dc->newest;
    r->newer = 0;
    if (dc->newest)
        R(dc, dc->newest)->newer = id;
    else
        dc->oldest = id;
    dc->newest = id;
}

/* Unlinks record id from its bucket and the age list; returns it to the free
 * list. */
static void rec_remove(dnscache *dc, uint32_t id)
{
    rec *r = R(dc, id);
    uint32_t *pp = &dc->heads[r->hash & (dc->nbuckets - 1)];
    while (*pp && *pp != id) pp = &R(dc, *pp)->hnext;
    if (*pp) *pp = r->hnext;
    age_unlink(dc, id);
    r->type = REC_FREE;
    r->hnext = dc->free_head;
    dc->free_head = id;
    dc->st.entries--;
}

static bool rec_key_eq(const rec *r, uint8_t type, int client_v, const uint8_t client[16],
                       const uint8_t addr[17], const char *target)
{
    if (r->type != type || r->client_v != client_v || memcmp(r->client, client, 16) != 0)
        return false;
    if (type == REC_ADDR) return memcmp(r->addr, addr, 17) == 0;
    return strcmp(r->target, target) == 0;
}

static uint32_t rec_find(dnscache *dc, uint64_t h, uint8_t type, int client_v,
                         const uint8_t client[16], const uint8_t addr[17], const char *target)
{
    for (uint32_t id = dc->heads[h & (dc->nbuckets - 1)]; id; id = R(dc, id)->hnext) {
        const rec *r = R(dc, id);
        if (r->hash == h && rec_key_eq(r, type, client_v, client, addr, target)) return id;
    }
    return 0;
}

/* Takes a free record: reclaims expired records at the old end first, then
 * evicts the oldest live one. */
static uint32_t rec_alloc(dnscache *dc, uint64_t now_us)
{
    for (int i = 0; i < 4 && dc->oldest && R(dc, dc->oldest)->expires_us <= now_us; i++) {
        rec_remove(dc, dc->oldest);
        dc->st.expired++;
    }
    if (!dc->free_head && dc->hwm < dc->cap) return ++dc->hwm;
    if (!dc->free_head) {
        rec_remove(dc, dc->oldest); /* cap >= 1, so the cache is non-empty here */
        dc->st.evictions++;
    }
    uint32_t id = dc->free_head;
    dc->free_head = R(dc, id)->hnext;
    return id;
}

/* Inserts or refreshes one record.  'addr' (REC_ADDR) or 'target' (REC_CNAME)
 * is the key; 'name' the value. */
static void put(dnscache *dc, uint8_t type, int client_v, const uint8_t client[16],
                const uint8_t addr[17], const char *target, const char *name, uint64_t exp,
                uint64_t now_us)
{
    const void *key = type == REC_ADDR ? (const void *)addr : (const void *)target;
    size_t keylen = type == REC_ADDR ? 17 : strlen(target);
    uint64_t h = key_hash(type, client_v, client, key, keylen);
    uint32_t id = rec_find(dc, h, type, client_v, client, addr, target);
    if (id) {
        age_unlink(dc, id);
    } else {
        id = rec_alloc(dc, now_us);
        rec *r = R(dc, id);
        memset(r, 0, sizeof *r);
        r->type = type;
        r->hash = h;
        r->client_v = (uint8_t)client_v;
        memcpy(r->client, client, 16);
        if (type == REC_ADDR) {
            memcpy(r->addr, addr, 17);
        } else {
            memcpy(r->target, target, keylen + 1);
        }
        uint32_t *head = &dc->heads[h & (dc->nbuckets - 1)];
        r->hnext = *head;
        *head = id;
        dc->st.entries++;
    }
    rec *r = R(dc, id);
    r->expires_us = exp;
    snprintf(r->name, sizeof r->name, "%s", name);
    age_append(dc, id);
    dc->st.inserts++;
}

/* Follows CNAMEs back from 'name' (in place) to the name the client asked
 * for, at most DNSCACHE_CHAIN_MAX hops (a loop stops there). */
static void chain_back(dnscache *dc, int client_v, const uint8_t client[16],
                       char name[DNSCACHE_NAME_MAX + 1], uint64_t now_us)
{
    for (unsigned hop = 0; hop < DNSCACHE_CHAIN_MAX; hop++) {
        uint64_t h = key_hash(REC_CNAME, client_v, client, name, strlen(name));
        uint32_t id = rec_find(dc, h, REC_CNAME, client_v, client, NULL, name);
        if (!id || R(dc, id)->expires_us <= now_us) return;
        if (strcmp(R(dc, id)->name, name) == 0) return;
        memcpy(name, R(dc, id)->name, strlen(R(dc, id)->name) + 1);
    }
}

/* ==== API ==== */

int dnscache_add(dnscache *dc, int client_v, const uint8_t *client, const char *name, int answer_v,
                 const uint8_t *answer, uint32_t ttl_s, uint64_t now_us)
{
    if (!dc) return -1;
    uint8_t ck[16], ak[17];
    char norm[DNSCACHE_NAME_MAX + 1];
    if (!addr_key(client_v, client, ck) || !answer_key(answer_v, answer, ak) ||
        name_norm(name, norm) < 0) {
        dc->st.rejected++;
        return -1;
    }
    chain_back(dc, client_v, ck, norm, now_us);
    put(dc, REC_ADDR, client_v, ck, ak, NULL, norm, expiry(ttl_s, now_us), now_us);
    return 0;
}

int dnscache_add_cname(dnscache *dc, int client_v, const uint8_t *client, const char *alias,
                       const char *target, uint32_t ttl_s, uint64_t now_us)
{
    if (!dc) return -1;
    uint8_t ck[16];
    char a[DNSCACHE_NAME_MAX + 1], t[DNSCACHE_NAME_MAX + 1];
    if (!addr_key(client_v, client, ck) || name_norm(alias, a) < 0 || name_norm(target, t) < 0) {
        dc->st.rejected++;
        return -1;
    }
    if (strcmp(a, t) == 0) return 0;         /* a self-CNAME says nothing */
    chain_back(dc, client_v, ck, a, now_us); /* store the chain's start directly */
    if (strcmp(a, t) == 0) return 0;         /* a loop back to the target */
    put(dc, REC_CNAME, client_v, ck, NULL, t, a, expiry(ttl_s, now_us), now_us);
    return 0;
}

bool dnscache_lookup(dnscache *dc, int client_v, const uint8_t *client, int server_v,
                     const uint8_t *server, uint64_t now_us, char *name_out, size_t name_len)
{
    if (!dc) return false;
    uint8_t ck[16], sk[17];
    if (!addr_key(client_v, client, ck) || !answer_key(server_v, server, sk)) {
        dc->st.misses++;
        return false;
    }
    uint64_t h = key_hash(REC_ADDR, client_v, ck, sk, 17);
    uint32_t id = rec_find(dc, h, REC_ADDR, client_v, ck, sk, NULL);
    if (id && R(dc, id)->expires_us <= now_us) {
        rec_remove(dc, id);
        dc->st.expired++;
        id = 0;
    }
    if (!id) {
        dc->st.misses++;
        return false;
    }
    dc->st.hits++;
    if (name_out && name_len > 0) {
        size_t n = strlen(R(dc, id)->name);
        if (n >= name_len) n = name_len - 1;
        memcpy(name_out, R(dc, id)->name, n);
        name_out[n] = '\0';
    }
    return true;
}

size_t dnscache_expire(dnscache *dc, uint64_t now_us)
{
    size_t n = 0;
    for (size_t i = 0; dc && i < dc->hwm; i++) {
        if (dc->recs[i].type != REC_FREE && dc->recs[i].expires_us <= now_us) {
            rec_remove(dc, (uint32_t)i + 1);
            dc->st.expired++;
            n++;
        }
    }
    return n;
}

void dnscache_get_stats(const dnscache *dc, dnscache_stats *out)
{
    if (!out) return;
    if (!dc) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = dc->st;
}
