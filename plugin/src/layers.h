/*
 * layers.h -- the headers between a captured frame and its transport
 * header, described once for the three packet walkers: dec_packet and
 * dec_shard_fast (decode.c) and the classic BPF shard program (shard.c).
 *
 * Why one description and not one walker: the three walk under different
 * constraints.  dec_packet records which header was cut short or malformed
 * (decode events); dec_shard_fast must stay a few loads for the common
 * frame; the BPF program is generated code that sees the frame as the
 * kernel holds it (from the network header, a first VLAN tag already taken
 * out) and can only jump forward.  A single walker would slow the fast path
 * or bend the decoder around the BPF machine.  What must not drift apart
 * is what they walk: which link types, ethertypes, PPP protocols and IPv6
 * extension headers there are, how long each header is, where its
 * next-protocol field sits and how deep a stack may go.  That is here, and
 * each walker reads it.  A new link type, ethertype or extension header of
 * a kind below is one row; a new kind of layer (a tunnel, say) is a new
 * lay_kind and a case in each walker.  test_decode checks the fast path
 * against dec_packet on every frame it builds; test_shard checks the BPF
 * program against the C shard.
 *
 * The lists are X-macros so that each becomes both a table (the BPF
 * emitter walks its rows) and a switch or constant row for the decoders:
 * on the packet path a lookup compiles to a few compares against constants
 * and a row's columns to immediates, as the hand-written walkers had them.
 */
#ifndef EGRET_LAYERS_H
#define EGRET_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* The kind of the next header. */
typedef enum {
    LAY_NOT_IP,     /* nothing egret decodes (ARP, PPPoE discovery, LCP, ...) */
    LAY_IPV4,       /* RFC 791 */
    LAY_IPV6,       /* RFC 8200 */
    LAY_IP_VERSION, /* IPv4 or IPv6: the version nibble says which */
    LAY_VLAN,       /* an 802.1Q / 802.1ad tag, then an ethertype */
    LAY_PPPOE,      /* a PPPoE session header (RFC 2516), then a PPP protocol */
    LAY_MPLS,       /* MPLS label stack entries (RFC 3032), then IP by version */
    LAY__KINDS
} lay_kind;

/* ==== link layers ==== */

/* How a link header names what follows it. */
typedef enum {
    LAY_BY_ETHERTYPE, /* a big-endian ethertype at proto_off */
    LAY_BY_FAMILY,    /* a BSD address family, in either byte order, at proto_off */
    LAY_FIXED,        /* always 'next' */
} lay_how;

/*
 * One pcap link type:
 *   linktype    pcap LINKTYPE_ value
 *   hdr_len     bytes of link header before the next one
 *   proto_off   where the next-protocol field sits (BY_ETHERTYPE, BY_FAMILY)
 *   hatype_off  Linux cooked headers: the ARPHRD type (a netlink frame is not
 *               IP whatever its protocol field says); -1 for none
 *   how, next   how the next header is named; next for LAY_FIXED
 *   fast        dec_shard_fast takes this link type (else dec_packet does)
 *   trunc, bad  the decode events for a header cut short, and for a family
 *               or IP version nibble that names nothing egret decodes
 */
typedef struct lay_link {
    int linktype;
    uint8_t hdr_len, proto_off;
    int8_t hatype_off;
    uint8_t how;  /* lay_how */
    uint8_t next; /* lay_kind */
    bool fast;
    dec_event trunc, bad;
} lay_link;

#define LAY_ARPHRD_NETLINK 824

/*
 * X(name, linktype, hdr_len, proto_off, hatype_off, how, next, fast,
 *   trunc, bad), most frequent first:
 *
 * Ethernet II (IEEE 802.3): dst (6), src (6), ethertype (2).
 * Linux cooked v1 (LINKTYPE_LINUX_SLL): packet type (2), ARPHRD type (2),
 *   address length (2), address (8), protocol (2).
 * Linux cooked v2 (LINKTYPE_LINUX_SLL2): protocol (2), reserved (2),
 *   interface index (4), ARPHRD type (2), packet type (1), address length
 *   (1), address (8).
 * BSD null / loopback: a 4-byte address family, in the capturing host's
 *   byte order for NULL (network order for LOOP).
 * Raw IP (101; DLT_RAW is 12 on most systems, 14 on OpenBSD), and the
 *   IPv4-only and IPv6-only link types.
 */
// clang-format off
#define LAY_LINKS(X) \
    X(ETHERNET,    DEC_LINK_ETHERNET, 14, 12, -1, LAY_BY_ETHERTYPE, LAY_NOT_IP,     true,  EV_ETH_TRUNC,   EV_NOT_IP) \
    X(SLL,         DEC_LINK_SLL,      16, 14,  2, LAY_BY_ETHERTYPE, LAY_NOT_IP,     false, EV_SLL_TRUNC,   EV_NOT_IP) \
    X(SLL2,        DEC_LINK_SLL2,     20,  0,  8, LAY_BY_ETHERTYPE, LAY_NOT_IP,     false, EV_SLL_TRUNC,   EV_NOT_IP) \
    X(RAW,         DEC_LINK_RAW,       0,  0, -1, LAY_FIXED,        LAY_IP_VERSION, true,  EV_IPRAW_TRUNC, EV_IPRAW_BAD_VERSION) \
    X(BSD_NULL,    DEC_LINK_NULL,      4,  0, -1, LAY_BY_FAMILY,    LAY_NOT_IP,     false, EV_NULL_TRUNC,  EV_NULL_BAD_FAMILY) \
    X(BSD_LOOP,    DEC_LINK_LOOP,      4,  0, -1, LAY_BY_FAMILY,    LAY_NOT_IP,     false, EV_NULL_TRUNC,  EV_NULL_BAD_FAMILY) \
    X(IPV4,        DEC_LINK_IPV4,      0,  0, -1, LAY_FIXED,        LAY_IPV4,       false, EV_IPV4_TRUNC,  EV_IPV4_BAD_VERSION) \
    X(IPV6,        DEC_LINK_IPV6,      0,  0, -1, LAY_FIXED,        LAY_IPV6,       false, EV_IPV6_TRUNC,  EV_IPV6_BAD_VERSION) \
    X(RAW12,       12,                 0,  0, -1, LAY_FIXED,        LAY_IP_VERSION, true,  EV_IPRAW_TRUNC, EV_IPRAW_BAD_VERSION) \
    X(RAW14,       14,                 0,  0, -1, LAY_FIXED,        LAY_IP_VERSION, true,  EV_IPRAW_TRUNC, EV_IPRAW_BAD_VERSION)
// clang-format on

enum {
#define LAY_X(name, ...) LAY_LINK_##name,
    LAY_LINKS(LAY_X)
#undef LAY_X
        LAY__LINKS
};

static const lay_link lay_links[LAY__LINKS] = {
#define LAY_X(name, ...) {__VA_ARGS__},
    LAY_LINKS(LAY_X)
#undef LAY_X
};

/* ==== protocol numbers to kinds ==== */

/*
 * X(id, kind) lists; a number not listed is LAY_NOT_IP.  Each is a lay_map
 * array where the BPF emitter needs one (it tests the rows in list order)
 * and a switch for the decoders.
 */
typedef struct lay_map {
    uint32_t id;
    uint8_t kind; /* lay_kind */
} lay_map;

/* Ethertypes; 802.3 lengths are not IP either. */
// clang-format off
#define LAY_ETHERTYPES(X) \
    X(0x0800, LAY_IPV4)   \
    X(0x86dd, LAY_IPV6)   \
    X(0x8864, LAY_PPPOE)  /* PPPoE session */ \
    X(0x8847, LAY_MPLS)   /* unicast */ \
    X(0x8848, LAY_MPLS)   /* multicast */ \
    X(0x8100, LAY_VLAN)   /* 802.1Q */ \
    X(0x88a8, LAY_VLAN)   /* 802.1ad (QinQ) */ \
    X(0x9100, LAY_VLAN)   /* pre-standard QinQ */ \
    X(0x0806, LAY_NOT_IP) /* ARP */ \
    X(0x8863, LAY_NOT_IP) /* PPPoE discovery */

/* PPP protocols inside a PPPoE session (RFC 1661 2). */
#define LAY_PPP_PROTOS(X) \
    X(0x0021, LAY_IPV4)   \
    X(0x0057, LAY_IPV6)

/* BSD null / loopback address families: AF_INET 2; AF_INET6 10 (Linux),
 * 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS). */
#define LAY_FAMILIES(X) \
    X(2, LAY_IPV4) X(10, LAY_IPV6) X(24, LAY_IPV6) X(28, LAY_IPV6) X(30, LAY_IPV6)
// clang-format on

#define LAY_MAP_ROW(id, kind) {id, kind},
#define LAY_MAP_CASE(id, kind)                                                                     \
    case id:                                                                                       \
        return kind;

static const lay_map lay_ethertypes[] = {LAY_ETHERTYPES(LAY_MAP_ROW)};
static const lay_map lay_ppp_protos[] = {LAY_PPP_PROTOS(LAY_MAP_ROW)};

static inline lay_kind lay_ethertype(uint32_t type)
{
    switch (type) {
        LAY_ETHERTYPES(LAY_MAP_CASE)
    default:
        return LAY_NOT_IP;
    }
}

static inline lay_kind lay_ppp_proto(uint32_t proto)
{
    switch (proto) {
        LAY_PPP_PROTOS(LAY_MAP_CASE)
    default:
        return LAY_NOT_IP;
    }
}

static inline lay_kind lay_family(uint32_t family)
{
    switch (family) {
        LAY_FAMILIES(LAY_MAP_CASE)
    default:
        return LAY_NOT_IP;
    }
}

/* ==== encapsulations between the link header and IP ==== */

/*
 * One header of a kind:
 *   hdr_len   its length (MPLS: one label stack entry)
 *   next_off  where its next-protocol field sits (VLAN: the inner ethertype;
 *             PPPoE: the PPP protocol; MPLS has none)
 *   max       how many in a row are walked; one more is too deep (a PPPoE
 *             session carries PPP, never a second session: 1)
 *
 * VLAN tag:      | PCP (3) | DEI | VID (12) | ethertype (16) |
 * PPPoE session: ver|type (0x11), code (0), session id (2), length (2),
 *                PPP protocol (2)
 * MPLS entry:    | label (20) | TC (3) | S | TTL (8) |, until S (bottom of
 *                stack); the payload is not named: IP by its version nibble
 */
typedef struct lay_encap {
    uint8_t hdr_len, next_off, max;
} lay_encap;

static const lay_encap lay_encaps[LAY__KINDS] = {
    [LAY_VLAN] = {4, 2, 4},
    [LAY_PPPOE] = {8, 6, 1},
    [LAY_MPLS] = {4, 0, 8},
};

#define LAY_VLAN_VID      0x0fff
#define LAY_PPPOE_VERTYPE 0x11 /* byte 0 */
#define LAY_PPPOE_SESSION 0x00 /* byte 1: the code of session data */
#define LAY_MPLS_BOS_OFF  2    /* the byte that holds S */
#define LAY_MPLS_BOS      0x01 /* S in that byte */

/* ==== IP ==== */

/* The fixed headers' fields that the fast path and the BPF program load by
 * offset (dec_packet reads them in order through a cursor). */
#define LAY_IP4_HDR    20 /* without options */
#define LAY_IP4_TOTLEN 2
#define LAY_IP4_FRAG   6 /* flags (3 bits) | fragment offset (13) */
#define LAY_IP4_PROTO  9
#define LAY_IP4_SRC    12
#define LAY_IP4_DST    16
#define LAY_IP4_MF     0x2000
#define LAY_IP4_OFFSET 0x1fff
#define LAY_IP6_HDR    40
#define LAY_IP6_PLEN   4
#define LAY_IP6_NEXT   6
#define LAY_IP6_SRC    8
#define LAY_IP6_DST    24

/* IPv6 extension headers (RFC 8200 4) as protocol numbers. */
#define LAY_IPP_HOPOPTS  0
#define LAY_IPP_ROUTING  43
#define LAY_IPP_FRAGMENT 44
#define LAY_IPP_AH       51
#define LAY_IPP_DSTOPTS  60

/*
 * The extension headers walked to reach the transport header.  Each starts
 * with next header (1) and a length byte (1); its length is 'fixed', or
 * (length byte + bias) << shift.  The uniform format (RFC 6564: 8-byte
 * units not counting the first 8) is bias 1, shift 3; AH (RFC 4302)
 * counts 4-byte units minus 2.  Fragment (RFC 8200 4.5): next, reserved,
 * offset << 3 | M (2), identification (4).  ESP, no-next-header and
 * anything else end the walk and are the transport protocol.  At most
 * LAY_V6EXT_MAX are walked; one more is too many.
 */
typedef struct lay_v6ext {
    uint8_t nh, fixed, bias, shift;
} lay_v6ext;

#define LAY_V6EXT_MAX           8
#define LAY_V6EXT_UNIFORM_BIAS  1
#define LAY_V6EXT_UNIFORM_SHIFT 3
#define LAY_V6FRAG_FO           2      /* where offset << 3 | M sits */
#define LAY_V6FRAG_NOT_ATOMIC   0xfff9 /* offset or M: a fragment, not a whole datagram */

/* X(name, nh, fixed, bias, shift), in protocol-number order (the BPF
 * program tests them in this order). */
// clang-format off
#define LAY_V6EXT_LIST(X) \
    X(HOPOPTS,  LAY_IPP_HOPOPTS,  0, 1, 3) \
    X(ROUTING,  LAY_IPP_ROUTING,  0, 1, 3) \
    X(FRAGMENT, LAY_IPP_FRAGMENT, 8, 0, 0) \
    X(AH,       LAY_IPP_AH,       0, 2, 2) \
    X(DSTOPTS,  LAY_IPP_DSTOPTS,  0, 1, 3)
// clang-format on

enum {
#define LAY_X(name, ...) LAY_V6EXT_##name,
    LAY_V6EXT_LIST(LAY_X)
#undef LAY_X
        LAY__V6EXTS
};

static const lay_v6ext lay_v6exts[LAY__V6EXTS] = {
#define LAY_X(name, ...) {__VA_ARGS__},
    LAY_V6EXT_LIST(LAY_X)
#undef LAY_X
};

/* The row of extension header 'nh', NULL when 'nh' ends the walk. */
static inline const lay_v6ext *lay_v6ext_find(uint8_t nh)
{
    switch (nh) {
#define LAY_X(name, id, ...)                                                                       \
    case id:                                                                                       \
        return &lay_v6exts[LAY_V6EXT_##name];
        LAY_V6EXT_LIST(LAY_X)
#undef LAY_X
    default:
        return NULL;
    }
}

/* Its length from its length byte. */
static inline size_t lay_v6ext_len(const lay_v6ext *x, uint8_t len)
{
    return x->fixed ? x->fixed : ((size_t)len + x->bias) << x->shift;
}

#endif /* EGRET_LAYERS_H */
