/*
 * fnv.h -- FNV-1a, the one hash of byte strings for in-memory tables.
 *
 * 64-bit FNV-1a (and its 32-bit form for compact tables): cheap, no
 * setup, good enough spread for open addressing once the caller folds the
 * high bits down.  Not for anything an attacker must not predict, and not
 * for shard hashing (shard.c mixes words so the BPF program can mirror it).
 * A hash can be extended: pass the result of one call as 'h' to the next.
 */
#ifndef EGRET_FNV_H
#define EGRET_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_INIT  0xcbf29ce484222325ULL /* offset basis */
#define FNV1A64_PRIME 0x100000001b3ULL
#define FNV1A32_INIT  2166136261u
#define FNV1A32_PRIME 16777619u

static inline uint64_t fnv1a64_byte(uint64_t h, uint8_t c)
{
    return (h ^ c) * FNV1A64_PRIME;
}

/* Extends h over p[0..n). */
static inline uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = fnv1a64_byte(h, b[i]);
    return h;
}

static inline uint32_t fnv1a32(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * FNV1A32_PRIME;
    return h;
}

#endif /* EGRET_FNV_H */
