/*
 * shard.h -- which worker a packet belongs to (egret_engine_shard), and
 * the same choice as a classic BPF program for the kernel's packet fanout
 * (egret_engine_shard_bpf).
 *
 * One file holds both, so the two cannot drift apart unnoticed:
 * test_shard runs the program in a cBPF interpreter on every test packet
 * and compares.
 */
#ifndef EGRET_SHARD_H
#define EGRET_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "egret.h"
#include "egret_tools.h"
#include "netset.h"

/* The address hash the shard uses (also the engine's host table). */
uint32_t shard_addr_hash(int ip_v, const uint8_t *a);

/* egret_engine_shard for the home net 'home'. */
uint32_t shard_packet(const netset *home, int linktype, const uint8_t *bytes, uint32_t caplen);

/* egret_engine_shard_bpf for the home net 'home'. */
int shard_bpf(const netset *home, uint32_t n, egret_bpf_insn *prog, size_t cap);

/* Linux's offsets for classic BPF loads, as shard_bpf uses them. */
#define SHARD_SKF_AD_PROTOCOL (-0x1000) /* SKF_AD_OFF + SKF_AD_PROTOCOL: skb->protocol */
#define SHARD_SKF_NET_OFF     (-0x100000)

#endif /* EGRET_SHARD_H */
