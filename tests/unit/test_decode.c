/*
 * test_decode.c -- unit tests for the packet decoder (decode.c).
 *
 * Frames are built from a table of layer lists (build()), decoded, and the
 * dec_pkt compared with the row's expectations.  Every frame is also decoded
 * at every truncated length from a buffer that ends right at a PROT_NONE
 * guard page (picohttpparser style), and a fixed-seed xorshift loop feeds
 * mutated and random frames for every link type.  Then every frame of the
 * project's captures (pcaps/, or $EGRET_PCAP_DIR) and, when present, one of
 * nDPI's (../shared/pcaps, or $EGRET_SHARED_PCAPS).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "decode.h"

/* ==== frame builder ==== */

enum {
    L_END,
    L_ETH,    /* a = ethertype */
    L_VLAN,   /* a = vid, b = next ethertype */
    L_PPPOE,  /* a = PPP protocol, b = code */
    L_MPLS,   /* a = label, b = bottom of stack */
    L_SLL,    /* a = protocol, b = ARPHRD type */
    L_SLL2,   /* a = protocol, b = ARPHRD type */
    L_NULL,   /* a = family, b = 1 for big-endian */
    L_ARP,    /* 28-byte ARP request */
    L_IPV4,   /* a = proto, b = option bytes, c = flags|offset, d = IHL override,
                 e = total length override, f = 1: bad options / version override */
    L_IPV6,   /* a = next header, b = payload length override, c = 1: use b */
    L_V6EXT,  /* a = next header, b = length (8-byte units beyond the first 8) */
    L_V6FRAG, /* a = next header, b = offset (8-byte units), c = M */
    L_V6AH,   /* a = next header, b = length (4-byte units minus 2) */
    L_TCP,    /* a = sport, b = dport, c = flags, d = option bytes, e = doff override,
                 f = 1: bad options */
    L_UDP,    /* a = sport, b = dport, c = length override */
    L_ICMP,   /* a = type, b = code (8-byte header) */
    L_ICMP6,  /* a = type, b = code (4-byte header) */
    L_DATA,   /* a = byte count (pattern) */
    L_BYTES,  /* a = byte value, b = count */
    L_PAD,    /* a = byte count, after the IP length (Ethernet padding) */
};

typedef struct {
    uint8_t kind;
    uint32_t a, b, c, d, e, f;
} layer;

#define MAX_LAYERS 16
#define FRAME_MAX  1024

static const uint8_t SRC4[4] = {10, 0, 0, 1}, DST4[4] = {192, 0, 2, 7};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
#define SEQ 0x01020304u
#define ACK 0x0a0b0c0du

typedef struct {
    uint8_t b[FRAME_MAX];
    size_t n;
} fbuf;

static void put8(fbuf *f, uint32_t v)
{
    assert_true(f->n < FRAME_MAX);
    f->b[f->n++] = (uint8_t)v;
}

static void put16(fbuf *f, uint32_t v)
{
    put8(f, v >> 8);
    put8(f, v);
}

static void put32(fbuf *f, uint32_t v)
{
    put16(f, v >> 16);
    put16(f, v);
}

static void putn(fbuf *f, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) put8(f, s[i]);
}

static void set16(fbuf *f, size_t at, uint32_t v)
{
    f->b[at] = (uint8_t)(v >> 8);
    f->b[at + 1] = (uint8_t)v;
}

/* Option bytes: NOPs then a well-formed (or, if bad, overlong) option. */
static void put_opts(fbuf *f, uint32_t n, bool bad)
{
    if (n == 0) return;
    if (bad) {
        put8(f, 7);    /* kind */
        put8(f, 0xff); /* length far past the area */
        for (uint32_t i = 2; i < n; i++) put8(f, 0);
        return;
    }
    for (uint32_t i = 0; i + 4 < n; i++) put8(f, 1);
    put8(f, 0x44); /* timestamp-ish option, length 4 */
    put8(f, 4);
    put16(f, 0x1234);
}

/* Builds the frame; lengths (IPv4 total, IPv6 payload, UDP, PPPoE) cover
 * everything up to the first L_PAD unless overridden. */
static size_t build(const layer *ls, uint8_t *out)
{
    fbuf f = {.n = 0};
    struct {
        uint8_t kind;
        size_t at;
        const layer *l;
    } fix[MAX_LAYERS];
    size_t nfix = 0, end = 0;
    bool padded = false;
    for (const layer *l = ls; l->kind != L_END; l++) {
        switch (l->kind) {
        case L_ETH:
            for (int i = 0; i < 12; i++) put8(&f, 0x02 + i);
            put16(&f, l->a);
            break;
        case L_VLAN:
            put16(&f, 0x2000 | l->a); /* PCP 1 */
            put16(&f, l->b);
            break;
        case L_PPPOE:
            fix[nfix].kind = L_PPPOE, fix[nfix].at = f.n, fix[nfix++].l = l;
            put8(&f, 0x11);
            put8(&f, l->b);
            put16(&f, 0x1234);
            put16(&f, 0);
            put16(&f, l->a);
            break;
        case L_MPLS:
            put32(&f, (l->a << 12) | (l->b ? 0x100 : 0) | 64);
            break;
        case L_SLL:
            put16(&f, 0);
            put16(&f, l->b ? l->b : 1);
            put16(&f, 6);
            for (int i = 0; i < 8; i++) put8(&f, i < 6 ? 0x10 + i : 0);
            put16(&f, l->a);
            break;
        case L_SLL2:
            put16(&f, l->a);
            put16(&f, 0);
            put32(&f, 3);
            put16(&f, l->b ? l->b : 1);
            put8(&f, 0);
            put8(&f, 6);
            for (int i = 0; i < 8; i++) put8(&f, i < 6 ? 0x10 + i : 0);
            break;
        case L_NULL:
            if (l->b)
                put32(&f, l->a);
            else
                put8(&f, l->a), put8(&f, l->a >> 8), put8(&f, 0), put8(&f, 0);
            break;
        case L_ARP:
            put16(&f, 1), put16(&f, 0x0800), put8(&f, 6), put8(&f, 4), put16(&f, 1);
            for (int i = 0; i < 6; i++) put8(&f, 0x02);
            putn(&f, SRC4, 4);
            for (int i = 0; i < 6; i++) put8(&f, 0);
            putn(&f, DST4, 4);
            break;
        case L_IPV4: {
            uint32_t ihl = l->d ? l->d : 5 + l->b / 4;
            fix[nfix].kind = L_IPV4, fix[nfix].at = f.n, fix[nfix++].l = l;
            put8(&f, ((l->f > 1 ? l->f : 4) << 4) | ihl);
            put8(&f, 0);
            put16(&f, 0); /* total length, patched */
            put16(&f, 0xbeef);
            put16(&f, l->c);
            put8(&f, 64);
            put8(&f, l->a);
            put16(&f, 0);
            putn(&f, SRC4, 4);
            putn(&f, DST4, 4);
            put_opts(&f, l->b, l->f == 1);
            break;
        }
        case L_IPV6:
            fix[nfix].kind = L_IPV6, fix[nfix].at = f.n, fix[nfix++].l = l;
            put32(&f, 0x60012345);
            put16(&f, 0);
            put8(&f, l->a);
            put8(&f, 64);
            putn(&f, SRC6, 16);
            putn(&f, DST6, 16);
            break;
        case L_V6EXT:
            put8(&f, l->a);
            put8(&f, l->b);
            put8(&f, 1), put8(&f, 4); /* PadN */
            for (uint32_t i = 4; i < (l->b + 1) * 8; i++) put8(&f, 0);
            break;
        case L_V6FRAG:
            put8(&f, l->a);
            put8(&f, 0);
            put16(&f, (l->b << 3) | (l->c ? 1 : 0));
            put32(&f, 0xcafe);
            break;
        case L_V6AH:
            put8(&f, l->a);
            put8(&f, l->b);
            for (uint32_t i = 2; i < (l->b + 2) * 4; i++) put8(&f, 0x5a);
            break;
        case L_TCP: {
            uint32_t doff = l->e ? l->e : 5 + l->d / 4;
            put16(&f, l->a);
            put16(&f, l->b);
            put32(&f, SEQ);
            put32(&f, ACK);
            put8(&f, doff << 4);
            put8(&f, l->c);
            put16(&f, 65535);
            put16(&f, 0);
            put16(&f, 0);
            put_opts(&f, l->d, l->f == 1);
            break;
        }
        case L_UDP:
            fix[nfix].kind = L_UDP, fix[nfix].at = f.n, fix[nfix++].l = l;
            put16(&f, l->a);
            put16(&f, l->b);
            put16(&f, 0);
            put16(&f, 0);
            break;
        case L_ICMP:
            put8(&f, l->a), put8(&f, l->b), put16(&f, 0), put32(&f, 0x00010002);
            break;
        case L_ICMP6:
            put8(&f, l->a), put8(&f, l->b), put16(&f, 0);
            break;
        case L_DATA:
            for (uint32_t i = 0; i < l->a; i++) put8(&f, 0x30 + i % 64);
            break;
        case L_BYTES:
            for (uint32_t i = 0; i < l->b; i++) put8(&f, l->a);
            break;
        case L_PAD:
            if (!padded) end = f.n;
            padded = true;
            for (uint32_t i = 0; i < l->a; i++) put8(&f, 0);
            break;
        default:
            fail_msg("bad layer kind %u", l->kind);
        }
    }
    if (!padded) end = f.n;
    for (size_t i = 0; i < nfix; i++) {
        const layer *l = fix[i].l;
        size_t at = fix[i].at;
        switch (fix[i].kind) {
        case L_PPPOE:
            set16(&f, at + 4, (uint32_t)(end - at - 6));
            break;
        case L_IPV4:
            set16(&f, at + 2, l->e ? l->e : (uint32_t)(end - at));
            break;
        case L_IPV6:
            set16(&f, at + 4, l->c ? l->b : (uint32_t)(end - at - 40));
            break;
        case L_UDP:
            set16(&f, at + 4, l->c ? l->c : (uint32_t)(end - at));
            break;
        }
    }
    memcpy(out, f.b, f.n);
    return f.n;
}

/* ==== the table ==== */

typedef struct {
    const char *name;
    int link;
    layer l[MAX_LAYERS];
    bool ok;
    dec_event ev;
    uint8_t ipv, proto;
    uint16_t sp, dp;
    uint32_t plen;
    uint8_t vlan_n;
    uint16_t vlan0, vlan1;
    bool frag, frag_first;
    uint8_t flags;
    bool jumbo; /* wire length = captured length */
} row;

#define ETH(t)                                                                                     \
    {                                                                                              \
        L_ETH, .a = (t)                                                                            \
    }
#define VLAN(v, t)                                                                                 \
    {                                                                                              \
        L_VLAN, .a = (v), .b = (t)                                                                 \
    }
#define IP4(p)                                                                                     \
    {                                                                                              \
        L_IPV4, .a = (p)                                                                           \
    }
#define IP6(p)                                                                                     \
    {                                                                                              \
        L_IPV6, .a = (p)                                                                           \
    }
#define TCP(s, d, fl)                                                                              \
    {                                                                                              \
        L_TCP, .a = (s), .b = (d), .c = (fl)                                                       \
    }
#define UDP(s, d)                                                                                  \
    {                                                                                              \
        L_UDP, .a = (s), .b = (d)                                                                  \
    }
#define DATA(n)                                                                                    \
    {                                                                                              \
        L_DATA, .a = (n)                                                                           \
    }
#define LEND                                                                                       \
    {                                                                                              \
        L_END                                                                                      \
    }

/* clang-format off */
static const row rows[] = {
    /* --- Ethernet, IPv4 --- */
    {"eth ipv4 tcp opts", DEC_LINK_ETHERNET,
     {ETH(0x0800), IP4(6), {L_TCP, .a = 40000, .b = 443, .c = TH_ACK | TH_PUSH, .d = 12}, DATA(10), LEND},
     .ok = true, .ipv = 4, .proto = 6, .sp = 40000, .dp = 443, .plen = 10, .flags = TH_ACK | TH_PUSH},
    {"eth ipv4 syn", DEC_LINK_ETHERNET, {ETH(0x0800), IP4(6), {L_TCP, .a = 1, .b = 2, .c = TH_SYN, .d = 20}, LEND},
     .ok = true, .ipv = 4, .proto = 6, .sp = 1, .dp = 2, .plen = 0, .flags = TH_SYN},
    {"eth ipv4 opts udp", DEC_LINK_ETHERNET,
     {ETH(0x0800), {L_IPV4, .a = 17, .b = 8}, UDP(5353, 53), DATA(20), LEND},
     .ok = true, .ipv = 4, .proto = 17, .sp = 5353, .dp = 53, .plen = 20},
    {"eth ipv4 40 option bytes", DEC_LINK_ETHERNET,
     {ETH(0x0800), {L_IPV4, .a = 17, .b = 40}, UDP(1, 2), DATA(3), LEND},
     .ok = true, .ipv = 4, .proto = 17, .sp = 1, .dp = 2, .plen = 3},
    {"eth ipv4 bad options", DEC_LINK_ETHERNET,
     {ETH(0x0800), {L_IPV4, .a = 17, .b = 8, .f = 1}, UDP(7, 9), DATA(5), LEND},
     .ok = true, .ev = EV_IPV4_OPT_BAD, .ipv = 4, .proto = 17, .sp = 7, .dp = 9, .plen = 5},
    {"eth ipv4 udp padding", DEC_LINK_ETHERNET,
     {ETH(0x0800), IP4(17), UDP(1000, 2000), DATA(4), {L_PAD, .a = 14}, LEND},
     .ok = true, .ipv = 4, .proto = 17, .sp = 1000, .dp = 2000, .plen = 4},
    {"eth ipv4 udp", DEC_LINK_ETHERNET, {ETH(0x0800), IP4(17), UDP(53, 33333), DATA(30), LEND},
     .ok = true, .ipv = 4, .proto = 17, .sp = 53, .dp = 33333, .plen = 30},
    {"eth ipv4 udp len < ip payload", DEC_LINK_ETHERNET,
     {ETH(0x0800), IP4(17), {L_UDP, .a = 1, .b = 2, .c = 18}, DATA(20), LEND},
     .ok = true, .ipv = 4, .proto = 17, .sp = 1, .dp = 2, .plen = 10},
    {"eth ipv4 icmp echo", DEC_LINK_ETHERNET, {ETH(0x0800), IP4(1), {L_ICMP, .a = 8}, DATA(16), LEND},
     .ok = true, .ipv = 4, .proto = 1, .sp = 8, .dp = 0, .plen = 16},
    {"eth ipv4 icmp unreach", DEC_LINK_ETHERNET, {ETH(0x0800), IP4(1), {L_ICMP, .a = 3, .b = 3}, DATA(28), LEND},
     .ok = true, .ipv = 4, .proto = 1, .sp = 3, .dp = 3, .plen = 28},
    {"eth ipv4 gre", DEC_LINK_ETHERNET, {ETH(0x0800), IP4(47), DATA(12), LEND},
     .ok = true, .ipv = 4, .proto = 47, .plen = 12},
    {"ipv4 first fragment", DEC_LINK_ETHERNET,
     {ETH(0x0800), {L_IPV4, .a = 6, .c = 0x2000}, TCP(5555, 80, TH_ACK), DATA(24), LEND},
     .ok = true, .ev = EV_IPV4_FRAG, .ipv = 4, .proto = 6, .sp = 5555, .dp = 80, .plen = 24,
     .frag = true, .frag_first = true, .flags = TH_ACK},
    {"ipv4 first fragment udp len covers datagram", DEC_LINK_ETHERNET,
     {ETH(0x0800), {L_IPV4, .a = 17, .c = 0x2000}, {L_UDP, .a = 4, .b = 5, .c = 3000}, DATA(20), LEND},
     .ok = true, .ev = EV_IPV4_FRAG, .ipv = 4, .proto = 17, .sp = 4, .dp = 5, .plen = 20,
     .frag = true, .frag_first = true},
    {"ipv4 middle fragment", DEC_LINK_ETHERNET,
     {ETH(0x0800), {L_IPV4, .a = 17, .c = 0x2010}, DATA(32), LEND},
     .ok = false, .ev = EV_IPV4_FRAG, .ipv = 4, .proto = 17, .frag = true},
    {"ipv4 last fragment", DEC_LINK_ETHERNET,
     {ETH(0x0800), {L_IPV4, .a = 6, .c = 0x00b9}, DATA(20), LEND},
     .ok = false, .ev = EV_IPV4_FRAG, .ipv = 4, .proto = 6, .frag = true},
    {"ipv4 DF is not a fragment", DEC_LINK_ETHERNET,
     {ETH(0x0800), {L_IPV4, .a = 17, .c = 0x4000}, UDP(8, 9), DATA(1), LEND},
     .ok = true, .ipv = 4, .proto = 17, .sp = 8, .dp = 9, .plen = 1},
    {"ipv4 bad ihl", DEC_LINK_ETHERNET, {ETH(0x0800), {L_IPV4, .a = 6, .d = 4}, TCP(1, 2, 0), LEND},
     .ok = false, .ev = EV_IPV4_BAD_IHL},
    {"ipv4 total < hlen", DEC_LINK_ETHERNET, {ETH(0x0800), {L_IPV4, .a = 6, .e = 19}, TCP(1, 2, 0), LEND},
     .ok = false, .ev = EV_IPV4_BAD_LEN},
    {"ipv4 wrong version", DEC_LINK_ETHERNET, {ETH(0x0800), {L_IPV4, .a = 6, .f = 6}, TCP(1, 2, 0), LEND},
     .ok = false, .ev = EV_IPV4_BAD_VERSION},
    {"tcp data offset 4", DEC_LINK_ETHERNET, {ETH(0x0800), IP4(6), {L_TCP, .a = 1, .b = 2, .e = 4}, DATA(8), LEND},
     .ok = false, .ev = EV_TCP_BAD_HLEN, .ipv = 4, .proto = 6},
    {"tcp data offset past ip length", DEC_LINK_ETHERNET,
     {ETH(0x0800), IP4(6), {L_TCP, .a = 1, .b = 2, .e = 15}, DATA(8), LEND},
     .ok = false, .ev = EV_TCP_BAD_HLEN, .ipv = 4, .proto = 6},
    {"tcp bad options", DEC_LINK_ETHERNET,
     {ETH(0x0800), IP4(6), {L_TCP, .a = 9, .b = 10, .c = TH_FIN | TH_ACK, .d = 8, .f = 1}, DATA(2), LEND},
     .ok = true, .ev = EV_TCP_OPT_BAD, .ipv = 4, .proto = 6, .sp = 9, .dp = 10, .plen = 2,
     .flags = TH_FIN | TH_ACK},
    {"udp length 7", DEC_LINK_ETHERNET, {ETH(0x0800), IP4(17), {L_UDP, .a = 1, .b = 2, .c = 7}, DATA(4), LEND},
     .ok = false, .ev = EV_UDP_BAD_LEN, .ipv = 4, .proto = 17},
    {"udp length > ip payload", DEC_LINK_ETHERNET,
     {ETH(0x0800), IP4(17), {L_UDP, .a = 1, .b = 2, .c = 200}, DATA(4), LEND},
     .ok = false, .ev = EV_UDP_BAD_LEN, .ipv = 4, .proto = 17},
    /* --- non-IP --- */
    {"arp", DEC_LINK_ETHERNET, {ETH(0x0806), {L_ARP, .a = 0}, LEND}, .ok = false, .ev = EV_NOT_IP},
    {"802.3 llc", DEC_LINK_ETHERNET, {ETH(0x0026), DATA(38), LEND}, .ok = false, .ev = EV_NOT_IP},
    {"pppoe discovery", DEC_LINK_ETHERNET, {ETH(0x8863), DATA(20), LEND}, .ok = false, .ev = EV_NOT_IP},
    {"pppoe lcp", DEC_LINK_ETHERNET, {ETH(0x8864), {L_PPPOE, .a = 0xc021}, DATA(10), LEND},
     .ok = false, .ev = EV_NOT_IP},
    {"pppoe bad code", DEC_LINK_ETHERNET, {ETH(0x8864), {L_PPPOE, .a = 0x0021, .b = 9}, IP4(17), UDP(1, 2), LEND},
     .ok = false, .ev = EV_PPPOE_BAD_PROTO},
    {"unknown link type", 9999, {ETH(0x0800), IP4(17), UDP(1, 2), LEND},
     .ok = false, .ev = EV_LINKTYPE_UNSUPPORTED},
    /* --- VLAN, PPPoE, MPLS --- */
    {"vlan ipv4 tcp", DEC_LINK_ETHERNET, {ETH(0x8100), VLAN(100, 0x0800), IP4(6), TCP(3333, 8080, TH_ACK), DATA(7), LEND},
     .ok = true, .ipv = 4, .proto = 6, .sp = 3333, .dp = 8080, .plen = 7, .vlan_n = 1, .vlan0 = 100, .flags = TH_ACK},
    {"qinq ipv4 udp", DEC_LINK_ETHERNET,
     {ETH(0x88a8), VLAN(10, 0x8100), VLAN(20, 0x0800), IP4(17), UDP(1, 2), DATA(9), LEND},
     .ok = true, .ipv = 4, .proto = 17, .sp = 1, .dp = 2, .plen = 9, .vlan_n = 2, .vlan0 = 10, .vlan1 = 20},
    {"4 tags (0x9100) ipv6", DEC_LINK_ETHERNET,
     {ETH(0x9100), VLAN(1, 0x8100), VLAN(2, 0x8100), VLAN(3, 0x8100), VLAN(4095, 0x86dd), IP6(17), UDP(1, 2), DATA(3), LEND},
     .ok = true, .ipv = 6, .proto = 17, .sp = 1, .dp = 2, .plen = 3, .vlan_n = 2, .vlan0 = 1, .vlan1 = 2},
    {"5 tags too deep", DEC_LINK_ETHERNET,
     {ETH(0x8100), VLAN(1, 0x8100), VLAN(2, 0x8100), VLAN(3, 0x8100), VLAN(4, 0x8100), VLAN(5, 0x0800), IP4(17), UDP(1, 2), LEND},
     .ok = false, .ev = EV_VLAN_TOO_DEEP, .vlan_n = 2, .vlan0 = 1, .vlan1 = 2},
    {"qinq pppoe ipv4 dns", DEC_LINK_ETHERNET,
     {ETH(0x8100), VLAN(100, 0x8100), VLAN(200, 0x8864), {L_PPPOE, .a = 0x0021}, IP4(17), UDP(40001, 53), DATA(31), LEND},
     .ok = true, .ipv = 4, .proto = 17, .sp = 40001, .dp = 53, .plen = 31, .vlan_n = 2, .vlan0 = 100, .vlan1 = 200},
    {"pppoe ipv6 tcp", DEC_LINK_ETHERNET,
     {ETH(0x8864), {L_PPPOE, .a = 0x0057}, IP6(6), TCP(5, 6, TH_SYN), LEND},
     .ok = true, .ipv = 6, .proto = 6, .sp = 5, .dp = 6, .plen = 0, .flags = TH_SYN},
    {"mpls 2 labels ipv4 tcp", DEC_LINK_ETHERNET,
     {ETH(0x8847), {L_MPLS, .a = 100}, {L_MPLS, .a = 200, .b = 1}, IP4(6), TCP(7, 8, TH_RST), DATA(1), LEND},
     .ok = true, .ipv = 4, .proto = 6, .sp = 7, .dp = 8, .plen = 1, .flags = TH_RST},
    {"mpls multicast ipv6 udp", DEC_LINK_ETHERNET,
     {ETH(0x8848), {L_MPLS, .a = 3, .b = 1}, IP6(17), UDP(9, 10), DATA(2), LEND},
     .ok = true, .ipv = 6, .proto = 17, .sp = 9, .dp = 10, .plen = 2},
    {"mpls 9 labels", DEC_LINK_ETHERNET,
     {ETH(0x8847), {L_MPLS, .a = 0}, {L_MPLS, .a = 0}, {L_MPLS, .a = 0}, {L_MPLS, .a = 0}, {L_MPLS, .a = 0}, {L_MPLS, .a = 0}, {L_MPLS, .a = 0}, {L_MPLS, .a = 0}, {L_MPLS, .b = 1}, IP4(17), UDP(1, 2), LEND},
     .ok = false, .ev = EV_MPLS_TOO_DEEP},
    {"mpls pseudowire", DEC_LINK_ETHERNET, {ETH(0x8847), {L_MPLS, .a = 5, .b = 1}, {L_BYTES, .a = 0, .b = 30}, LEND},
     .ok = false, .ev = EV_NOT_IP},
    /* --- Linux cooked --- */
    {"sll ipv4 udp", DEC_LINK_SLL, {{L_SLL, .a = 0x0800}, IP4(17), UDP(443, 50000), DATA(40), LEND},
     .ok = true, .ipv = 4, .proto = 17, .sp = 443, .dp = 50000, .plen = 40},
    {"sll vlan ipv6 tcp", DEC_LINK_SLL, {{L_SLL, .a = 0x8100}, VLAN(7, 0x86dd), IP6(6), TCP(1, 2, TH_ACK), DATA(5), LEND},
     .ok = true, .ipv = 6, .proto = 6, .sp = 1, .dp = 2, .plen = 5, .vlan_n = 1, .vlan0 = 7, .flags = TH_ACK},
    {"sll netlink", DEC_LINK_SLL, {{L_SLL, .a = 0, .b = 824}, DATA(20), LEND}, .ok = false, .ev = EV_NOT_IP},
    {"sll2 ipv6 tcp", DEC_LINK_SLL2, {{L_SLL2, .a = 0x86dd}, IP6(6), TCP(8443, 1025, TH_ACK | TH_PUSH), DATA(11), LEND},
     .ok = true, .ipv = 6, .proto = 6, .sp = 8443, .dp = 1025, .plen = 11, .flags = TH_ACK | TH_PUSH},
    {"sll2 arp", DEC_LINK_SLL2, {{L_SLL2, .a = 0x0806}, {L_ARP, .a = 0}, LEND}, .ok = false, .ev = EV_NOT_IP},
    /* --- raw, null, loop --- */
    {"raw ipv4 tcp", DEC_LINK_RAW, {IP4(6), TCP(1, 2, TH_SYN | TH_ACK), LEND},
     .ok = true, .ipv = 4, .proto = 6, .sp = 1, .dp = 2, .plen = 0, .flags = TH_SYN | TH_ACK},
    {"raw ipv6 udp", DEC_LINK_RAW, {IP6(17), UDP(3, 4), DATA(6), LEND},
     .ok = true, .ipv = 6, .proto = 17, .sp = 3, .dp = 4, .plen = 6},
    {"raw bad version", DEC_LINK_RAW, {{L_BYTES, .a = 0x55, .b = 40}, LEND}, .ok = false, .ev = EV_IPRAW_BAD_VERSION},
    {"dlt 12 ipv4", 12, {IP4(17), UDP(3, 4), DATA(1), LEND},
     .ok = true, .ipv = 4, .proto = 17, .sp = 3, .dp = 4, .plen = 1},
    {"dlt 14 ipv6", 14, {IP6(17), UDP(3, 4), DATA(1), LEND},
     .ok = true, .ipv = 6, .proto = 17, .sp = 3, .dp = 4, .plen = 1},
    {"linktype ipv4", DEC_LINK_IPV4, {IP4(1), {L_ICMP, .a = 0}, DATA(4), LEND},
     .ok = true, .ipv = 4, .proto = 1, .plen = 4},
    {"linktype ipv4 given ipv6", DEC_LINK_IPV4, {IP6(17), UDP(3, 4), LEND}, .ok = false, .ev = EV_IPV4_BAD_VERSION},
    {"linktype ipv6 icmpv6", DEC_LINK_IPV6, {IP6(58), {L_ICMP6, .a = 128}, DATA(12), LEND},
     .ok = true, .ipv = 6, .proto = 58, .sp = 128, .plen = 12},
    {"null le ipv4", DEC_LINK_NULL, {{L_NULL, .a = 2}, IP4(17), UDP(1, 2), DATA(3), LEND},
     .ok = true, .ipv = 4, .proto = 17, .sp = 1, .dp = 2, .plen = 3},
    {"null be ipv4", DEC_LINK_NULL, {{L_NULL, .a = 2, .b = 1}, IP4(6), TCP(1, 2, TH_ACK), LEND},
     .ok = true, .ipv = 4, .proto = 6, .sp = 1, .dp = 2, .plen = 0, .flags = TH_ACK},
    {"null le ipv6 (linux 10)", DEC_LINK_NULL, {{L_NULL, .a = 10}, IP6(17), UDP(1, 2), LEND},
     .ok = true, .ipv = 6, .proto = 17, .sp = 1, .dp = 2, .plen = 0},
    {"null be ipv6 (macos 30)", DEC_LINK_NULL, {{L_NULL, .a = 30, .b = 1}, IP6(17), UDP(1, 2), LEND},
     .ok = true, .ipv = 6, .proto = 17, .sp = 1, .dp = 2, .plen = 0},
    {"loop be ipv6 (freebsd 28)", DEC_LINK_LOOP, {{L_NULL, .a = 28, .b = 1}, IP6(6), TCP(1, 2, 0), LEND},
     .ok = true, .ipv = 6, .proto = 6, .sp = 1, .dp = 2, .plen = 0},
    {"null unknown family", DEC_LINK_NULL, {{L_NULL, .a = 7}, IP4(17), UDP(1, 2), LEND},
     .ok = false, .ev = EV_NULL_BAD_FAMILY},
    /* --- IPv6 extension headers --- */
    {"ipv6 hop + dst + frag(first) udp", DEC_LINK_ETHERNET,
     {ETH(0x86dd), IP6(0), {L_V6EXT, .a = 60}, {L_V6EXT, .a = 44, .b = 1}, {L_V6FRAG, .a = 17, .c = 1}, UDP(500, 4500), DATA(30), LEND},
     .ok = true, .ev = EV_IPV6_FRAG, .ipv = 6, .proto = 17, .sp = 500, .dp = 4500, .plen = 30,
     .frag = true, .frag_first = true},
    {"ipv6 hop + frag(non-first)", DEC_LINK_ETHERNET,
     {ETH(0x86dd), IP6(0), {L_V6EXT, .a = 44}, {L_V6FRAG, .a = 17, .b = 100}, DATA(40), LEND},
     .ok = false, .ev = EV_IPV6_FRAG, .ipv = 6, .proto = 17, .frag = true},
    {"ipv6 atomic fragment", DEC_LINK_ETHERNET,
     {ETH(0x86dd), IP6(44), {L_V6FRAG, .a = 6}, TCP(1, 2, TH_ACK), DATA(3), LEND},
     .ok = true, .ipv = 6, .proto = 6, .sp = 1, .dp = 2, .plen = 3, .flags = TH_ACK},
    {"ipv6 routing + ah + tcp", DEC_LINK_ETHERNET,
     {ETH(0x86dd), IP6(43), {L_V6EXT, .a = 51, .b = 2}, {L_V6AH, .a = 6, .b = 4}, TCP(22, 60000, TH_ACK), DATA(9), LEND},
     .ok = true, .ipv = 6, .proto = 6, .sp = 22, .dp = 60000, .plen = 9, .flags = TH_ACK},
    {"ipv6 hop-by-hop not first", DEC_LINK_ETHERNET,
     {ETH(0x86dd), IP6(60), {L_V6EXT, .a = 0}, {L_V6EXT, .a = 17}, UDP(1, 2), LEND},
     .ok = true, .ev = EV_IPV6_EXTHDR_BAD, .ipv = 6, .proto = 17, .sp = 1, .dp = 2, .plen = 0},
    {"ipv6 esp", DEC_LINK_ETHERNET, {ETH(0x86dd), IP6(50), DATA(40), LEND},
     .ok = true, .ipv = 6, .proto = 50, .plen = 40},
    {"ipv6 no next header", DEC_LINK_ETHERNET, {ETH(0x86dd), IP6(60), {L_V6EXT, .a = 59}, LEND},
     .ok = true, .ipv = 6, .proto = 59, .plen = 0},
    {"ipv6 9 extension headers", DEC_LINK_ETHERNET,
     {ETH(0x86dd), IP6(60), {L_V6EXT, .a = 60}, {L_V6EXT, .a = 60}, {L_V6EXT, .a = 60}, {L_V6EXT, .a = 60},
      {L_V6EXT, .a = 60}, {L_V6EXT, .a = 60}, {L_V6EXT, .a = 60}, {L_V6EXT, .a = 60}, {L_V6EXT, .a = 17}, UDP(1, 2), LEND},
     .ok = false, .ev = EV_IPV6_EXTHDR_TOO_MANY},
    {"ipv6 exthdr past payload length", DEC_LINK_ETHERNET,
     {ETH(0x86dd), {L_IPV6, .a = 60, .b = 8, .c = 1}, {L_V6EXT, .a = 17, .b = 3}, UDP(1, 2), LEND},
     .ok = false, .ev = EV_IPV6_EXTHDR_BAD},
    {"ipv6 jumbo (payload length 0)", DEC_LINK_ETHERNET,
     {ETH(0x86dd), {L_IPV6, .a = 17, .b = 0, .c = 1}, UDP(1, 2), DATA(12), LEND},
     .ok = true, .ipv = 6, .proto = 17, .sp = 1, .dp = 2, .plen = 12, .jumbo = true},
    {"ipv6 jumbo udp length 0", DEC_LINK_ETHERNET,
     {ETH(0x86dd), {L_IPV6, .a = 17, .b = 0, .c = 1}, {L_UDP, .a = 1, .b = 2, .c = 0x10000 /* low 16 bits: 0 */}, DATA(12), LEND},
     .ok = true, .ipv = 6, .proto = 17, .sp = 1, .dp = 2, .plen = 12, .jumbo = true},
    {"ipv6 udp padding", DEC_LINK_ETHERNET, {ETH(0x86dd), IP6(17), UDP(1, 2), DATA(2), {L_PAD, .a = 8}, LEND},
     .ok = true, .ipv = 6, .proto = 17, .sp = 1, .dp = 2, .plen = 2},
};
/* clang-format on */

#define NROWS (sizeof rows / sizeof rows[0])

/* ==== guard page ==== */

typedef struct {
    uint8_t *base;
    size_t page;
} guard;

static int guard_setup(void **state)
{
    static guard g;
    g.page = (size_t)sysconf(_SC_PAGESIZE);
    void *m = mmap(NULL, 2 * g.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return -1;
    g.base = m;
    if (mprotect(g.base + g.page, g.page, PROT_NONE) != 0) return -1;
    *state = &g;
    return 0;
}

static int guard_teardown(void **state)
{
    guard *g = *state;
    munmap(g->base, 2 * g->page);
    return 0;
}

/* Copies n bytes so that they end right at the guard page. */
static const uint8_t *at_guard(guard *g, const uint8_t *b, size_t n)
{
    assert_true(n <= g->page);
    uint8_t *d = g->base + g->page - n;
    if (n) memcpy(d, b, n);
    return d;
}

/* Invariants that hold for every decode result. */
static void check_bounds(const dec_pkt *p, bool ok, const uint8_t *b, size_t n)
{
    const uint8_t *end = b + n;
    assert_non_null(dec_event_name(p->event));
    assert_true((unsigned)p->event < EV__COUNT);
    if (p->l3) {
        assert_true(p->l3 >= b && p->l3 <= end);
        assert_true(p->l3_len <= (size_t)(end - p->l3));
        assert_true(p->l3_len <= p->ip_len);
    }
    if (p->payload) {
        assert_true(p->payload >= b && p->payload <= end);
        assert_true(p->payload_len <= (size_t)(end - p->payload));
        assert_true(p->payload_len <= p->payload_wire);
        assert_non_null(p->l3);
        assert_true(p->payload >= p->l3 && p->payload + p->payload_len <= p->l3 + p->l3_len);
    } else {
        assert_int_equal(p->payload_len, 0);
    }
    assert_true(p->vlan_n <= DEC_MAX_VLAN);
    if (ok) {
        assert_true(p->ip_v == 4 || p->ip_v == 6);
        assert_non_null(p->l3);
        assert_true(p->event == EV_NONE || p->event == EV_IPV4_OPT_BAD ||
                    p->event == EV_TCP_OPT_BAD || p->event == EV_IPV6_EXTHDR_BAD ||
                    p->event == EV_IPV4_FRAG || p->event == EV_IPV6_FRAG);
    } else {
        assert_int_not_equal(p->event, EV_NONE);
    }
}

/* ==== tests ==== */

/* dec_shard_fast, where it answers, must agree with dec_packet on what
 * sharding reads: address family, addresses, protocol and, for protocols
 * with ports, the ports.  Called on every frame the tests below decode. */
static unsigned shard_checked, shard_fast;

static void check_shard(int link, const uint8_t *b, size_t n)
{
    dec_shard k;
    shard_checked++;
    if (!dec_shard_fast(link, b, (uint32_t)n, &k)) return;
    shard_fast++;
    dec_pkt p;
    bool ok = dec_packet(&p, link, b, (uint32_t)n);
    assert_true(ok || p.ip_v != 0);
    assert_int_equal(k.ip_v, p.ip_v);
    assert_int_equal(k.proto, p.proto);
    size_t al = k.ip_v == 4 ? 4 : 16;
    assert_memory_equal(k.src, p.src, al);
    assert_memory_equal(k.dst, p.dst, al);
    if (k.proto == 6 || k.proto == 17 || k.proto == 132) {
        assert_int_equal(k.sport, p.sport);
        assert_int_equal(k.dport, p.dport);
    }
}

static void test_table(void **state)
{
    guard *g = *state;
    uint8_t frame[FRAME_MAX];
    for (size_t i = 0; i < NROWS; i++) {
        const row *r = &rows[i];
        size_t n = build(r->l, frame);
        const uint8_t *b = at_guard(g, frame, n);
        dec_pkt p;
        memset(&p, 0xa5, sizeof p); /* decoder must clear stale state */
        bool ok = dec_packet(&p, r->link, b, (uint32_t)n);
        check_shard(r->link, b, n);
        print_message("  %-44s -> %d %s\n", r->name, ok, dec_event_name(p.event));
        assert_int_equal(ok, r->ok);
        assert_string_equal(dec_event_name(p.event), dec_event_name(r->ev));
        check_bounds(&p, ok, b, n);
        assert_int_equal(p.vlan_n, r->vlan_n);
        if (r->vlan_n > 0) assert_int_equal(p.vlan[0], r->vlan0);
        if (r->vlan_n > 1) assert_int_equal(p.vlan[1], r->vlan1);
        assert_int_equal(p.frag, r->frag);
        assert_int_equal(p.frag_first, r->frag_first);
        if (r->ipv) {
            assert_int_equal(p.ip_v, r->ipv);
            assert_int_equal(p.proto, r->proto);
            if (r->ipv == 4) {
                assert_memory_equal(p.src, SRC4, 4);
                assert_memory_equal(p.dst, DST4, 4);
                static const uint8_t zero[12];
                assert_memory_equal(p.src + 4, zero, 12);
            } else {
                assert_memory_equal(p.src, SRC6, 16);
                assert_memory_equal(p.dst, DST6, 16);
            }
        }
        if (ok) {
            assert_int_equal(p.sport, r->sp);
            assert_int_equal(p.dport, r->dp);
            assert_int_equal(p.payload_len, r->plen);
            assert_int_equal(p.payload_wire, r->plen); /* frames are fully captured */
            assert_int_equal(p.tcp_flags, r->flags);
            if (p.proto == 6) {
                assert_int_equal(p.seq, SEQ);
                assert_int_equal(p.ack, ACK);
            }
            /* the payload is the tail of the frame (before any padding) */
            if (p.payload_len) assert_int_equal(p.payload[0], 0x30);
        } else if (!r->frag) {
            assert_int_equal(p.sport, 0);
            assert_int_equal(p.dport, 0);
        }
    }
}

/* Every truncated prefix of every frame, ending at the guard page. */
static void test_truncation(void **state)
{
    guard *g = *state;
    uint8_t frame[FRAME_MAX];
    unsigned checked = 0;
    for (size_t i = 0; i < NROWS; i++) {
        const row *r = &rows[i];
        size_t n = build(r->l, frame);
        dec_pkt full;
        bool full_ok = dec_packet(&full, r->link, frame, (uint32_t)n);
        size_t pl_off = full_ok ? (size_t)(full.payload - frame) : 0;
        for (size_t len = 0; len < n; len++) {
            const uint8_t *b = at_guard(g, frame, len);
            dec_pkt p;
            bool ok = dec_packet(&p, r->link, b, (uint32_t)len);
            check_bounds(&p, ok, b, len);
            check_shard(r->link, b, len);
            checked++;
            if (!r->ok) continue;
            if (ok) {
                /* all headers were captured: same answer, shorter payload */
                assert_true(len >= pl_off);
                assert_ptr_equal(p.payload, b + pl_off);
                assert_int_equal(p.payload_len,
                                 full.payload_len < len - pl_off ? full.payload_len : len - pl_off);
                if (!r->jumbo) assert_int_equal(p.payload_wire, full.payload_wire);
                assert_int_equal(p.sport, full.sport);
                assert_int_equal(p.dport, full.dport);
                assert_int_equal(p.proto, full.proto);
                assert_int_equal(p.event, full.event);
            } else if (!dec_event_truncated(p.event)) {
                fail_msg("%s: prefix %zu: %s", r->name, len, dec_event_name(p.event));
            }
        }
    }
    print_message("  %u truncated prefixes\n", checked);
    assert_true(checked > 4000); /* every row's prefixes, not an empty loop */
}

typedef struct {
    uint64_t s;
} rng;

static uint64_t xorshift(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

/* Same link family: 0/108 are null, 12/14/101/228/229 raw IP. */
static int link_family(int l)
{
    switch (l) {
    case DEC_LINK_LOOP:
        return DEC_LINK_NULL;
    case 12:
    case 14:
    case DEC_LINK_IPV4:
    case DEC_LINK_IPV6:
        return DEC_LINK_RAW;
    default:
        return l;
    }
}

static void test_fuzz(void **state)
{
    guard *g = *state;
    static const int links[] = {DEC_LINK_NULL, DEC_LINK_ETHERNET, 12,           14,
                                DEC_LINK_RAW,  DEC_LINK_LOOP,     DEC_LINK_SLL, DEC_LINK_IPV4,
                                DEC_LINK_IPV6, DEC_LINK_SLL2,     9999};
    static const uint8_t interesting[] = {0x00, 0x01, 0x02, 0x06, 0x08, 0x11, 0x21,
                                          0x2c, 0x3a, 0x3b, 0x3c, 0x45, 0x4f, 0x60,
                                          0x81, 0x86, 0x88, 0xdd, 0xff};
    static uint8_t seeds[NROWS][FRAME_MAX];
    static size_t seed_len[NROWS];
    for (size_t i = 0; i < NROWS; i++) seed_len[i] = build(rows[i].l, seeds[i]);

    rng r = {0x9e3779b97f4a7c15ull};
    unsigned trues = 0, total = 0;
    for (size_t li = 0; li < sizeof links / sizeof links[0]; li++) {
        int link = links[li];
        size_t same[NROWS], nsame = 0;
        for (size_t i = 0; i < NROWS; i++)
            if (link_family(rows[i].link) == link_family(link)) same[nsame++] = i;
        for (int it = 0; it < 20000; it++) {
            uint8_t f[FRAME_MAX];
            size_t n;
            uint64_t x = xorshift(&r);
            if (nsame == 0 || x % 4 == 0) { /* random bytes, biased */
                n = xorshift(&r) % 160;
                for (size_t k = 0; k < n; k++) {
                    uint64_t y = xorshift(&r);
                    f[k] =
                        (y & 3) ? interesting[(y >> 8) % sizeof interesting] : (uint8_t)(y >> 16);
                }
            } else { /* a table frame with a few bytes changed, maybe cut */
                size_t s = same[(x >> 8) % nsame];
                n = seed_len[s];
                memcpy(f, seeds[s], n);
                unsigned flips = 1 + (unsigned)(xorshift(&r) % 4);
                for (unsigned k = 0; k < flips && n; k++) {
                    uint64_t y = xorshift(&r);
                    f[y % n] = (y >> 32) & 1 ? interesting[(y >> 40) % sizeof interesting]
                                             : (uint8_t)(y >> 48);
                }
                if (xorshift(&r) % 3 == 0 && n) n = xorshift(&r) % n;
            }
            const uint8_t *b = at_guard(g, f, n);
            dec_pkt p;
            bool ok = dec_packet(&p, link, b, (uint32_t)n);
            check_bounds(&p, ok, b, n);
            check_shard(link, b, n);
            trues += ok;
            total++;
        }
    }
    print_message("  %u fuzz frames, %u flowable\n", total, trues);
    assert_true(trues > total / 10); /* the mutations do reach the transport layer */
}

static void test_event_names(void **state)
{
    (void)state;
    assert_string_equal(dec_event_name(EV_NONE), "none");
    assert_string_equal(dec_event_name(EV_IPV4_TRUNC), "decoder.event.ipv4.trunc_pkt");
    assert_string_equal(dec_event_name(EV_NOT_IP), "decoder.event.link.not_ip");
    assert_string_equal(dec_event_name(EV__COUNT), "unknown");
    assert_string_equal(dec_event_name((dec_event)-1), "unknown");
    for (int e = 0; e < EV__COUNT; e++) {
        const char *s = dec_event_name((dec_event)e);
        assert_true(e == EV_NONE || strncmp(s, "decoder.", 8) == 0);
        for (int k = 0; k < e; k++) assert_string_not_equal(s, dec_event_name((dec_event)k));
    }
}

/* The TCP window and the window scale option (RFC 7323): the shift is
 * capped at 14; an IPv4 option of the same kind (3, loose source route) is
 * not mistaken for it. */
static void test_tcp_window_scale(void **state)
{
    (void)state;
    static const uint8_t tmpl[] = {
        0x45, 0,    0,    52,   0,    1,    0,    0,    64, 6, 0, 0,
        10,   0,    0,    1,    203,  0,    113,  9,                 /* IPv4 */
        0x9c, 0x40, 0x01, 0xbb, 0,    0,    0x03, 0xe8, 0,  0, 0, 0, /* ports, seq, ack */
        0x80, 0x02, 0xfa, 0xf0, 0,    0,    0,    0,                 /* doff 8, SYN, win */
        0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x07,              /* MSS, NOP, WS 7 */
        0x01, 0x01, 0x01, 0x00};                                     /* NOPs, EOL */
    uint8_t b[sizeof tmpl];
    memcpy(b, tmpl, sizeof b);
    dec_pkt p;
    assert_true(dec_packet(&p, DEC_LINK_RAW, b, sizeof b));
    assert_int_equal(p.tcp_win, 64240);
    assert_int_equal(p.tcp_wscale, 7);
    assert_int_equal(p.seq, 1000);
    b[47] = 20; /* shift too large */
    assert_true(dec_packet(&p, DEC_LINK_RAW, b, sizeof b));
    assert_int_equal(p.tcp_wscale, 14);
    b[45] = 0x01; /* no window scale option: NOP NOP NOP 07 -> malformed tail */
    b[46] = 0x01;
    b[47] = 0x01;
    assert_true(dec_packet(&p, DEC_LINK_RAW, b, sizeof b));
    assert_int_equal(p.tcp_wscale, DEC_WSCALE_NONE);
}

static void test_null_and_empty(void **state)
{
    (void)state;
    dec_pkt p;
    assert_false(dec_packet(&p, DEC_LINK_ETHERNET, NULL, 0));
    assert_int_equal(p.event, EV_ETH_TRUNC);
    assert_false(dec_packet(&p, DEC_LINK_ETHERNET, NULL, 100)); /* NULL counts as empty */
    assert_int_equal(p.event, EV_ETH_TRUNC);
    assert_false(dec_packet(&p, DEC_LINK_RAW, NULL, 0));
    assert_int_equal(p.event, EV_IPRAW_TRUNC);
    assert_false(dec_packet(&p, DEC_LINK_SLL2, NULL, 0));
    assert_int_equal(p.event, EV_SLL_TRUNC);
    assert_false(dec_packet(&p, DEC_LINK_NULL, NULL, 0));
    assert_int_equal(p.event, EV_NULL_TRUNC);
}

/* ==== real capture (classic pcap) ==== */

static uint32_t rd32(const uint8_t *b, bool swap)
{
    uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return swap ? (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24) : v;
}

/* Decodes every record of a classic pcap file; counts IPv6 and flowable. */
static int pcap_decode(const char *path, unsigned *pkts, unsigned *ok6, unsigned *ok)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    uint8_t gh[24], rh[16];
    static uint8_t buf[262144];
    if (fread(gh, 1, 24, fp) != 24) goto bad;
    uint32_t magic = rd32(gh, false);
    bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    if (!swap && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) goto bad;
    int link = (int)(rd32(gh + 20, swap) & 0x0fffffff);
    *pkts = *ok6 = *ok = 0;
    while (fread(rh, 1, 16, fp) == 16) {
        uint32_t incl = rd32(rh + 8, swap);
        if (incl > sizeof buf || fread(buf, 1, incl, fp) != incl) goto bad;
        dec_pkt p;
        bool r = dec_packet(&p, link, buf, incl);
        check_bounds(&p, r, buf, incl);
        check_shard(link, buf, incl);
        (*pkts)++;
        *ok += r;
        *ok6 += r && p.ip_v == 6;
    }
    fclose(fp);
    return 0;
bad:
    fclose(fp);
    return -2;
}

/* Where the captures are: $EGRET_PCAP_DIR, else pcaps/ in the source tree;
 * the nDPI project's captures in $EGRET_SHARED_PCAPS, else ../shared/pcaps
 * next to the source tree (absent in a git worktree elsewhere). */
static const char *pcap_dir(void)
{
    const char *d = getenv("EGRET_PCAP_DIR");
    return d && *d ? d : EGRET_SRCDIR "/pcaps";
}

static const char *shared_pcap_dir(void)
{
    const char *d = getenv("EGRET_SHARED_PCAPS");
    return d && *d ? d : EGRET_SRCDIR "/../shared/pcaps";
}

/* Every classic pcap of the project's captures decodes without tripping
 * check_bounds and mostly into flows; and nDPI's http_ipv6.pcap, when
 * ../shared/pcaps is there, decodes into 193 IPv6 flow packets. */
static void test_real_pcap(void **state)
{
    (void)state;
    const char *dir = pcap_dir();
    DIR *d = opendir(dir);
    if (!d) fail_msg("%s: cannot open the project's captures (set EGRET_PCAP_DIR)", dir);
    unsigned files = 0, all = 0, all_ok = 0, all_ok6 = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".pcap") != 0) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unsigned pkts, ok6, ok;
        int rc = pcap_decode(path, &pkts, &ok6, &ok);
        if (rc != 0) fail_msg("%s: not a readable classic pcap (%d)", path, rc);
        if (pkts == 0) fail_msg("%s: no packets", path);
        files++;
        all += pkts;
        all_ok += ok;
        all_ok6 += ok6;
    }
    closedir(d);
    print_message("  %s: %u captures, %u packets, %u flowable, %u IPv6\n", dir, files, all, all_ok,
                  all_ok6);
    assert_true(files >= 20);
    assert_true(all > 3000);
    assert_true(all_ok > all * 9 / 10); /* real traffic decodes */
    assert_true(all_ok6 > 0);

    char path[1024];
    snprintf(path, sizeof path, "%s/http_ipv6.pcap", shared_pcap_dir());
    unsigned pkts, ok6, ok;
    int rc = pcap_decode(path, &pkts, &ok6, &ok);
    if (rc == -1) {
        print_message("  NOTE: %s not found: nDPI's http_ipv6.pcap is NOT checked "
                      "(set EGRET_SHARED_PCAPS)\n",
                      path);
        return;
    }
    assert_int_equal(rc, 0);
    print_message("  http_ipv6.pcap: %u packets, %u flowable, %u IPv6\n", pkts, ok, ok6);
    assert_int_equal(pkts, 193);
    assert_int_equal(ok, pkts);
    assert_int_equal(ok6, pkts);
}

/* Every record of the project's captures through check_shard; then the
 * fast path must have answered for most frames of all the tests. */
static void test_shard_fast(void **state)
{
    (void)state;
    static const char *files[] = {
        "testnet-batch-export.pcap", "ai-upload.pcap", "decode-vlan.pcap",
        "decode-qinq.pcap",          "ipv6-tcp.pcap",  "decode-malformed.pcap",
        "decode-raw.pcap",           "icmp.pcap",      "dns-answers.pcap"};
    unsigned total = 0, fast0 = shard_fast;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", pcap_dir(), files[i]);
        unsigned pkts, ok6, ok;
        assert_int_equal(pcap_decode(path, &pkts, &ok6, &ok), 0);
        total += pkts;
    }
    print_message("  shard fast path: %u of %u captured frames, %u of %u in all tests\n",
                  shard_fast - fast0, total, shard_fast, shard_checked);
    assert_true(total > 3000);
    assert_true(shard_fast - fast0 > total * 9 / 10); /* real traffic takes the fast path */
    assert_true(shard_fast > 20000);                  /* and so do many fuzzed frames */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),          cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_fuzz),           cmocka_unit_test(test_event_names),
        cmocka_unit_test(test_null_and_empty), cmocka_unit_test(test_real_pcap),
        cmocka_unit_test(test_shard_fast),     cmocka_unit_test(test_tcp_window_scale),
    };
    return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
