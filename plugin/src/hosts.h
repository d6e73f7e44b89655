/*
 * hosts.h -- outbound totals per internal host, for a host program's "top
 * talkers" summary: one open-addressing table keyed by address, grown by
 * doubling from HOSTS_MIN up to HOSTS_CAP slots (then new hosts are
 * counted in 'capped', not tracked).
 */
#ifndef EGRET_HOSTS_H
#define EGRET_HOSTS_H

#include <stddef.h>
#include <stdint.h>

#define HOSTS_CAP 65536 /* power of two: the table's largest size */
#define HOSTS_MIN 1024  /* and its first */

typedef struct host_slot {
    uint8_t ip_v; /* 0: empty */
    uint8_t addr[16];
    uint64_t bytes_out, flows_out;
} host_slot;

typedef struct hosts {
    host_slot *slot;
    uint32_t cap, used;
    uint64_t capped; /* hosts not tracked because the table was full */
} hosts;

/* 0, or -1 when the first table cannot be allocated. */
int hosts_init(hosts *h);
void hosts_free(hosts *h);

/* Adds one ended flow of internal client 'addr' that sent 'bytes_out'. */
void hosts_account(hosts *h, uint8_t ip_v, const uint8_t *addr, uint64_t bytes_out);

/* The n largest by bytes out (ties: address order), as pointers into the
 * table into out[]; returns how many.  Valid until the next account. */
size_t hosts_top(const hosts *h, const host_slot **out, size_t n);

#endif /* EGRET_HOSTS_H */
