/*
 * community_id.c -- Community ID v1 (corelight community-id-spec).
 *
 * hash input: seed (2, big endian) | src addr | dst addr | proto (1) |
 * pad (1, zero) | src port (2) | dst port (2), with the endpoints ordered
 * so that both directions give the same value; the value is
 * "1:" + base64(sha1(input)).  For ICMP and ICMPv6 the "ports" are the type
 * and the type of its counterpart (echo <-> reply ...); a type without a
 * counterpart is one-way (type, code) and not reordered.
 */
#include "community_id.h"

#include <string.h>

#include "hash.h"

static int icmp_counterpart(int v6, uint16_t type)
{
    /* clang-format off */
    static const uint8_t v4[][2] = {{8, 0}, {0, 8}, {13, 14}, {14, 13}, {15, 16}, {16, 15},
                                    {10, 9}, {9, 10}, {17, 18}, {18, 17}};
    static const uint8_t v6map[][2] = {{128, 129}, {129, 128}, {130, 131}, {131, 130},
                                       {133, 134}, {134, 133}, {135, 136}, {136, 135},
                                       {139, 140}, {140, 139}, {144, 145}, {145, 144}};
    /* clang-format on */
    const uint8_t(*m)[2] = v6 ? v6map : v4;
    size_t n = v6 ? sizeof(v6map) / sizeof(v6map[0]) : sizeof(v4) / sizeof(v4[0]);
    for (size_t i = 0; i < n; i++)
        if (m[i][0] == type) return m[i][1];
    return -1;
}

void community_id_v1(uint16_t seed, int ip_v, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                     uint16_t sport, uint16_t dport, char out[COMMUNITY_ID_LEN])
{
    size_t alen = ip_v == 6 ? 16 : 4;
    bool one_way = false;
    bool has_ports = proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;

    if (proto == 1 || proto == 58) {
        int cp = icmp_counterpart(proto == 58, sport);
        if (cp >= 0)
            dport = (uint16_t)cp;
        else
            one_way = true;
    }
    int c = memcmp(src, dst, alen);
    if (!one_way && (c > 0 || (c == 0 && sport > dport))) {
        const uint8_t *t = src;
        src = dst;
        dst = t;
        uint16_t tp = sport;
        sport = dport;
        dport = tp;
    }
    uint8_t buf[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    buf[n++] = (uint8_t)(seed >> 8);
    buf[n++] = (uint8_t)seed;
    memcpy(buf + n, src, alen);
    n += alen;
    memcpy(buf + n, dst, alen);
    n += alen;
    buf[n++] = proto;
    buf[n++] = 0;
    if (has_ports) {
        buf[n++] = (uint8_t)(sport >> 8);
        buf[n++] = (uint8_t)sport;
        buf[n++] = (uint8_t)(dport >> 8);
        buf[n++] = (uint8_t)dport;
    }
    uint8_t digest[20];
    hash_sha1(buf, n, digest);
    out[0] = '1';
    out[1] = ':';
    hash_base64(digest, sizeof(digest), out + 2);
}
