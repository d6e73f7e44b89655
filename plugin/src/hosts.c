/*
 * hosts.c -- outbound totals per internal host (see hosts.h).
 */
#include "hosts.h"

#include "mem.h"
#include "shard.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int hosts_init(hosts *h)
{
    memset(h, 0, sizeof(*h));
    h->cap = HOSTS_MIN;
    h->slot = mem_zalloc(h->cap, sizeof(*h->slot)); /* read first: see mem.h */
    return h->slot ? 0 : -1;
}

void hosts_free(hosts *h)
{
    free(h->slot);
    memset(h, 0, sizeof(*h));
}

/* Doubles the table up to HOSTS_CAP slots; false if it cannot. */
static bool grow(hosts *h)
{
    uint32_t ncap = h->cap * 2;
    if (ncap > HOSTS_CAP) return false;
    host_slot *nt = mem_zalloc(ncap, sizeof(*nt));
    if (!nt) return false;
    for (uint32_t k = 0; k < h->cap; k++) {
        const host_slot *o = &h->slot[k];
        if (!o->ip_v) continue;
        uint32_t i = shard_addr_hash(o->ip_v, o->addr) & (ncap - 1);
        while (nt[i].ip_v) i = (i + 1) & (ncap - 1);
        nt[i] = *o;
    }
    free(h->slot);
    h->slot = nt;
    h->cap = ncap;
    return true;
}

void hosts_account(hosts *h, uint8_t ip_v, const uint8_t *addr, uint64_t bytes_out)
{
    if (!h->slot) return;
    size_t alen = ip_v == 6 ? 16 : 4;
    uint32_t mask = h->cap - 1;
    uint32_t i = shard_addr_hash(ip_v, addr) & mask;
    for (uint32_t probes = 0; probes < h->cap; probes++, i = (i + 1) & mask) {
        host_slot *s = &h->slot[i];
        if (s->ip_v == 0) {
            if (h->used >= h->cap * 3 / 4) {
                if (grow(h)) { /* slots moved: probe again */
                    hosts_account(h, ip_v, addr, bytes_out);
                    return;
                }
                h->capped++;
                return;
            }
            s->ip_v = ip_v;
            memcpy(s->addr, addr, alen);
            h->used++;
        } else if (s->ip_v != ip_v || memcmp(s->addr, addr, alen) != 0) {
            continue;
        }
        s->bytes_out += bytes_out;
        s->flows_out++;
        return;
    }
}

static int by_bytes(const void *a, const void *b)
{
    const host_slot *x = *(const host_slot *const *)a, *y = *(const host_slot *const *)b;
    if (x->bytes_out != y->bytes_out) return x->bytes_out < y->bytes_out ? 1 : -1;
    if (x->ip_v != y->ip_v) return x->ip_v < y->ip_v ? -1 : 1;
    return memcmp(x->addr, y->addr, 16);
}

size_t hosts_top(const hosts *h, const host_slot **out, size_t n)
{
    if (!h->slot || n == 0 || h->used == 0) return 0;
    const host_slot **all = malloc(sizeof(*all) * h->used);
    if (!all) return 0;
    size_t m = 0;
    for (size_t i = 0; i < h->cap; i++)
        if (h->slot[i].ip_v) all[m++] = &h->slot[i];
    qsort(all, m, sizeof(*all), by_bytes);
    size_t k = m < n ? m : n;
    memcpy(out, all, k * sizeof(*out));
    free(all);
    return k;
}
