/*
 * community_id.h -- Community ID flow hashing, version 1.
 *
 * Spec: https://github.com/corelight/community-id-spec (the same value
 * Suricata and Zeek log as community_id).  Addresses as in dec_pkt (IPv4
 * in the first 4 bytes of 16).
 */
#ifndef EGRET_COMMUNITY_ID_H
#define EGRET_COMMUNITY_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMMUNITY_ID_LEN 32 /* "1:" + 28 base64 chars + NUL fits */

/* For ICMP/ICMPv6, 'sport' is the type and 'dport' the code, as decoded;
 * the spec's type mapping is applied here.  Writes "1:<base64>". */
void community_id_v1(uint16_t seed, int ip_v, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                     uint16_t sport, uint16_t dport, char out[COMMUNITY_ID_LEN]);

#endif /* EGRET_COMMUNITY_ID_H */
