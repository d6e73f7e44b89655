/*
 * decode.c -- link, network and transport decoding into a dec_pkt view.
 *
 * One pass, no allocation, every byte read through cursor.h.  Layers:
 *   link table (linktype -> link decoder) -> ethertype chain (VLAN x4,
 *   PPPoE session, MPLS) -> IPv4 / IPv6 (+ extension headers) -> TCP, UDP,
 *   ICMP, ICMPv6, or "other" (ports 0).
 * Fatal problems return false with p->event naming the reason; non-fatal
 * ones (bad options, first fragment) only set p->event.  See decode.h.
 */
#include "decode.h"

#include <string.h>

#include "cursor.h"

/* Ethertypes. */
#define ET_IPV4       0x0800
#define ET_ARP        0x0806
#define ET_VLAN       0x8100 /* 802.1Q */
#define ET_QINQ       0x88a8 /* 802.1ad */
#define ET_QINQ_OLD   0x9100 /* pre-standard QinQ */
#define ET_IPV6       0x86dd
#define ET_PPPOE_DISC 0x8863
#define ET_PPPOE_SESS 0x8864
#define ET_MPLS_UC    0x8847
#define ET_MPLS_MC    0x8848

/* IP protocol numbers. */
#define IPP_HOPOPTS  0
#define IPP_ICMP     1
#define IPP_TCP      6
#define IPP_UDP      17
#define IPP_ROUTING  43
#define IPP_FRAGMENT 44
#define IPP_ESP      50
#define IPP_AH       51
#define IPP_ICMPV6   58
#define IPP_NONE     59
#define IPP_DSTOPTS  60

#define VLAN_DEPTH_MAX 4   /* tags decoded; one more is EV_VLAN_TOO_DEEP */
#define MPLS_DEPTH_MAX 8   /* labels decoded; one more is EV_MPLS_TOO_DEEP */
#define IPV6_EXT_MAX   8   /* extension headers walked; one more is too many */
#define ARPHRD_NETLINK 824 /* SLL: 'protocol' is a netlink family, not an ethertype */

/* ==== events ==== */

static const char *const event_names[EV__COUNT] = {
#define DEC_X(n, s) s,
    DEC_EVENT_MAP(DEC_X)
#undef DEC_X
};

const char *dec_event_name(dec_event ev)
{
    if ((unsigned)ev >= EV__COUNT) return "unknown";
    return event_names[ev];
}

/* A fatal problem: recorded (overriding any non-fatal one) and returned. */
static bool fail(dec_pkt *p, dec_event ev)
{
    p->event = ev;
    return false;
}

/* A non-fatal problem: recorded only if nothing was recorded before. */
static void note(dec_pkt *p, dec_event ev)
{
    if (p->event == EV_NONE) p->event = ev;
}

static void set_payload(dec_pkt *p, const uint8_t *pl, size_t cap, size_t wire)
{
    p->payload = pl;
    p->payload_len = (uint32_t)cap;
    p->payload_wire = (uint32_t)wire;
}

/*
 * Walks the kind-length-value option area shared by IPv4 (RFC 791 3.1) and
 * TCP (RFC 9293 3.1): kind 0 ends the list, kind 1 is a one-byte no-op, any
 * other kind is followed by a length byte that counts kind and length too
 * (so >= 2) and must fit in the area.  Returns false when malformed.
 */
/* Walks IPv4 or TCP options (the same TLV layout); false when one is
 * malformed.  For TCP (wscale not NULL) *wscale gets the window scale
 * option's shift (RFC 7323 2.3: capped at 14) when present. */
static bool opts_ok(const uint8_t *o, size_t n, uint8_t *wscale)
{
    cur c = cur_make(o, n);
    while (cur_left(&c) > 0) {
        uint8_t kind = cur_u8(&c);
        if (kind == 0) return true;
        if (kind == 1) continue;
        uint8_t len = cur_u8(&c);
        if (c.trunc || len < 2) return false;
        if (wscale && kind == 3 && len == 3 && cur_left(&c) >= 1) {
            uint8_t shift = cur_u8(&c);
            *wscale = shift > 14 ? 14 : shift;
            continue;
        }
        cur_skip(&c, (size_t)len - 2);
        if (c.trunc) return false;
    }
    return true;
}

/* ==== transport ==== */

/*
 * TCP (RFC 9293 3.1):
 *  |          Source Port          |       Destination Port        |
 *  |                        Sequence Number                        |
 *  |                    Acknowledgment Number                      |
 *  |  Data |       |C|E|U|A|P|R|S|F|                               |
 *  | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 *  |           Checksum            |         Urgent Pointer        |
 *  |                    Options                    |    Padding    |
 * 'cap' bytes are captured at 'l4', 'wire' (>= cap) per the IP length.
 */
static bool dec_tcp(dec_pkt *p, const uint8_t *l4, size_t cap, size_t wire)
{
    cur c = cur_make(l4, cap);
    uint16_t sport = cur_be16(&c), dport = cur_be16(&c);
    uint32_t seq = cur_be32(&c), ack = cur_be32(&c);
    uint8_t off = cur_u8(&c), flags = cur_u8(&c);
    uint16_t win = cur_be16(&c);
    cur_skip(&c, 4); /* checksum, urgent pointer */
    if (c.trunc) return fail(p, EV_TCP_TRUNC);
    size_t hlen = (size_t)(off >> 4) * 4;
    if (hlen < 20 || hlen > wire) return fail(p, EV_TCP_BAD_HLEN);
    if (hlen > cap) return fail(p, EV_TCP_TRUNC);
    p->tcp_wscale = DEC_WSCALE_NONE;
    if (!opts_ok(l4 + 20, hlen - 20, &p->tcp_wscale)) note(p, EV_TCP_OPT_BAD);
    p->sport = sport;
    p->dport = dport;
    p->seq = seq;
    p->ack = ack;
    p->tcp_flags = flags;
    p->tcp_win = win;
    set_payload(p, l4 + hlen, cap - hlen, wire - hlen);
    return true;
}

/*
 * UDP (RFC 768):
 *  |          Source Port          |       Destination Port        |
 *  |            Length             |           Checksum            |
 * The length must be 8..IP payload; a shorter one clips the payload.  When
 * the IP length does not bound the datagram ('exact' false: a fragment,
 * whose UDP length covers the whole datagram, or an IPv6 jumbogram, whose
 * UDP length may be 0 per RFC 2675) only a length of 1..7 is rejected.
 */
static bool dec_udp(dec_pkt *p, const uint8_t *l4, size_t cap, size_t wire, bool exact)
{
    cur c = cur_make(l4, cap);
    uint16_t sport = cur_be16(&c), dport = cur_be16(&c), ulen = cur_be16(&c);
    cur_skip(&c, 2); /* checksum */
    if (c.trunc) return fail(p, EV_UDP_TRUNC);
    if (exact) {
        if (ulen < 8 || ulen > wire) return fail(p, EV_UDP_BAD_LEN);
        wire = ulen;
        if (cap > wire) cap = wire;
    } else if (ulen < 8 && (ulen != 0 || p->frag)) {
        return fail(p, EV_UDP_BAD_LEN);
    }
    p->sport = sport;
    p->dport = dport;
    set_payload(p, l4 + 8, cap - 8, wire - 8);
    return true;
}

/*
 * ICMP (RFC 792): type, code, checksum, 4 bytes of rest-of-header; payload
 * after 8 bytes.  ICMPv6 (RFC 4443 2.1): type, code, checksum; message body
 * after 4 bytes.  Type goes to sport, code to dport.
 */
static bool dec_icmp(dec_pkt *p, const uint8_t *l4, size_t cap, size_t wire)
{
    size_t hlen = p->proto == IPP_ICMP ? 8 : 4;
    cur c = cur_make(l4, cap);
    uint8_t type = cur_u8(&c), code = cur_u8(&c);
    cur_skip(&c, hlen - 2);
    if (c.trunc) return fail(p, EV_ICMP_TRUNC);
    p->sport = type;
    p->dport = code;
    set_payload(p, l4 + hlen, cap - hlen, wire - hlen);
    return true;
}

/* Dispatches on p->proto.  Protocols without ports (GRE, SCTP, ESP, ...)
 * are flowable by address pair + protocol: ports 0, payload = the rest.
 * 'jumbo': 'wire' is only the captured size (IPv6 payload length 0). */
static bool dec_l4(dec_pkt *p, const uint8_t *l4, size_t cap, size_t wire, bool jumbo)
{
    switch (p->proto) {
    case IPP_TCP:
        return dec_tcp(p, l4, cap, wire);
    case IPP_UDP:
        return dec_udp(p, l4, cap, wire, !p->frag && !jumbo);
    case IPP_ICMP:
    case IPP_ICMPV6:
        return dec_icmp(p, l4, cap, wire);
    default:
        set_payload(p, l4, cap, wire);
        return true;
    }
}

/* ==== network ==== */

/*
 * IPv4 (RFC 791 3.1):
 *  |Version|  IHL  |Type of Service|          Total Length         |
 *  |         Identification        |Flags|      Fragment Offset    |
 *  |  Time to Live |    Protocol   |         Header Checksum       |
 *  |                       Source Address                          |
 *  |                    Destination Address                        |
 *  |                    Options                    |    Padding    |
 * Captured bytes are clipped to Total Length (Ethernet padding is not
 * payload).  Fragments: see decode.h.
 */
static bool dec_ipv4(dec_pkt *p, cur *c)
{
    const uint8_t *l3 = c->p;
    size_t cap = cur_left(c);
    uint8_t vihl = cur_u8(c);
    cur_skip(c, 1); /* TOS */
    uint16_t tot = cur_be16(c);
    cur_skip(c, 2); /* identification */
    uint16_t ff = cur_be16(c);
    cur_skip(c, 1); /* TTL */
    uint8_t proto = cur_u8(c);
    cur_skip(c, 2); /* checksum */
    cur_copy(c, p->src, 4);
    cur_copy(c, p->dst, 4);
    if (c->trunc) return fail(p, EV_IPV4_TRUNC);
    if ((vihl >> 4) != 4) return fail(p, EV_IPV4_BAD_VERSION);
    size_t hlen = (size_t)(vihl & 0x0f) * 4;
    if (hlen < 20) return fail(p, EV_IPV4_BAD_IHL);
    if (tot < hlen) return fail(p, EV_IPV4_BAD_LEN);
    if (cap < hlen) return fail(p, EV_IPV4_TRUNC);
    if (!opts_ok(l3 + 20, hlen - 20, NULL)) note(p, EV_IPV4_OPT_BAD);

    p->ip_v = 4;
    p->l3 = l3;
    p->ip_len = tot;
    if (cap > tot) cap = tot;
    p->l3_len = (uint32_t)cap;
    p->proto = proto;

    const uint8_t *l4 = l3 + hlen;
    size_t l4cap = cap - hlen, l4wire = (size_t)tot - hlen;
    uint16_t fo = ff & 0x1fff;
    if (fo != 0 || (ff & 0x2000)) { /* offset or More Fragments */
        p->frag = true;
        p->frag_first = fo == 0;
        p->event = EV_IPV4_FRAG;
        if (fo != 0) {
            set_payload(p, l4, l4cap, l4wire);
            return false;
        }
    }
    return dec_l4(p, l4, l4cap, l4wire, false);
}

/*
 * IPv6 (RFC 8200 3):
 *  |Version| Traffic Class |           Flow Label                  |
 *  |         Payload Length        |  Next Header  |   Hop Limit   |
 *  |                Source Address (16) | Destination Address (16) |
 * then extension headers (RFC 8200 4): hop-by-hop, routing, destination
 * options (next, len in 8-byte units not counting the first 8), fragment
 * (next, reserved, offset<<3 | M, id: 8 bytes), AH (RFC 4302: next, len
 * in 4-byte units minus 2).  ESP, no-next-header and anything else end the
 * walk and are the transport protocol.  Payload Length 0 (jumbogram) takes
 * the captured rest.
 */
static bool dec_ipv6(dec_pkt *p, cur *c)
{
    const uint8_t *l3 = c->p;
    size_t cap = cur_left(c);
    uint32_t vtf = cur_be32(c);
    uint16_t plen = cur_be16(c);
    uint8_t nh = cur_u8(c);
    cur_skip(c, 1); /* hop limit */
    cur_copy(c, p->src, 16);
    cur_copy(c, p->dst, 16);
    if (c->trunc) return fail(p, EV_IPV6_TRUNC);
    if ((vtf >> 28) != 6) return fail(p, EV_IPV6_BAD_VERSION);

    size_t tot = plen ? 40 + (size_t)plen : cap;
    if (cap > tot) cap = tot;
    p->ip_v = 6;
    p->l3 = l3;
    p->ip_len = (uint32_t)tot;
    p->l3_len = (uint32_t)cap;

    size_t off = 40;
    for (unsigned n = 0;; n++) {
        size_t hlen;
        if (nh != IPP_HOPOPTS && nh != IPP_ROUTING && nh != IPP_DSTOPTS && nh != IPP_FRAGMENT &&
            nh != IPP_AH)
            break;
        if (n == IPV6_EXT_MAX) return fail(p, EV_IPV6_EXTHDR_TOO_MANY);
        if (nh == IPP_HOPOPTS && n != 0) note(p, EV_IPV6_EXTHDR_BAD); /* must come first */
        cur h = cur_make(l3 + off, cap - off);
        uint8_t next = cur_u8(&h);
        uint8_t len = cur_u8(&h);
        if (h.trunc) return fail(p, tot - off < 2 ? EV_IPV6_EXTHDR_BAD : EV_IPV6_TRUNC);
        if (nh == IPP_FRAGMENT)
            hlen = 8;
        else if (nh == IPP_AH)
            hlen = ((size_t)len + 2) * 4;
        else
            hlen = ((size_t)len + 1) * 8;
        if (hlen > tot - off) return fail(p, EV_IPV6_EXTHDR_BAD);
        if (hlen > cap - off) return fail(p, EV_IPV6_TRUNC);
        if (nh == IPP_FRAGMENT) {
            uint16_t fo = cur_be16(&h);
            if (fo & 0xfff9) { /* offset or M set; an atomic fragment is whole */
                p->frag = true;
                p->frag_first = (fo >> 3) == 0;
                p->event = EV_IPV6_FRAG;
                if (!p->frag_first) {
                    p->proto = next;
                    set_payload(p, l3 + off + 8, cap - off - 8, tot - off - 8);
                    return false;
                }
            }
        }
        off += hlen;
        nh = next;
    }
    p->proto = nh;
    return dec_l4(p, l3 + off, cap - off, tot - off, plen == 0);
}

/* ==== ethertype chain ==== */

/*
 * PPPoE session stage (RFC 2516 4): ver|type (0x11), code (0), session id,
 * length; then the PPP protocol (RFC 1661 2): 0x0021 IPv4, 0x0057 IPv6.
 */
static bool dec_pppoe(dec_pkt *p, cur *c)
{
    uint8_t vt = cur_u8(c);
    uint8_t code = cur_u8(c);
    cur_skip(c, 4); /* session id, length */
    uint16_t proto = cur_be16(c);
    if (c->trunc) return fail(p, EV_PPPOE_TRUNC);
    if (vt != 0x11 || code != 0) return fail(p, EV_PPPOE_BAD_PROTO);
    if (proto == 0x0021) return dec_ipv4(p, c);
    if (proto == 0x0057) return dec_ipv6(p, c);
    return fail(p, EV_NOT_IP);
}

/*
 * MPLS label stack entries (RFC 3032 2.1), 4 bytes each:
 *  | Label (20) | TC (3) |S| TTL (8) |
 * until S (bottom of stack).  The payload type is not signalled: guess
 * from the IP version nibble; anything else (pseudowire, ...) is not IP.
 */
static bool dec_mpls(dec_pkt *p, cur *c)
{
    for (unsigned n = 0;; n++) {
        if (n == MPLS_DEPTH_MAX) return fail(p, EV_MPLS_TOO_DEEP);
        uint32_t lse = cur_be32(c);
        if (c->trunc) return fail(p, EV_MPLS_TRUNC);
        if (lse & 0x100) break;
    }
    uint8_t v = cur_peek_u8(c);
    if (c->trunc) return fail(p, EV_MPLS_TRUNC);
    if ((v >> 4) == 4) return dec_ipv4(p, c);
    if ((v >> 4) == 6) return dec_ipv6(p, c);
    return fail(p, EV_NOT_IP);
}

/*
 * Decodes from an ethertype on: VLAN tags (802.1Q, 802.1ad, 0x9100; each
 *  | PCP(3)|DEI|  VID (12)  | next ethertype |
 * ) up to VLAN_DEPTH_MAX, then IPv4, IPv6, PPPoE session or MPLS.  ARP,
 * PPPoE discovery, 802.3 lengths and anything else are not IP.
 */
static bool dec_ethertype(dec_pkt *p, cur *c, uint16_t type)
{
    for (unsigned vlans = 0;; vlans++) {
        switch (type) {
        case ET_IPV4:
            return dec_ipv4(p, c);
        case ET_IPV6:
            return dec_ipv6(p, c);
        case ET_VLAN:
        case ET_QINQ:
        case ET_QINQ_OLD: {
            if (vlans == VLAN_DEPTH_MAX) return fail(p, EV_VLAN_TOO_DEEP);
            uint16_t tci = cur_be16(c);
            type = cur_be16(c);
            if (c->trunc) return fail(p, EV_VLAN_TRUNC);
            if (p->vlan_n < DEC_MAX_VLAN) p->vlan[p->vlan_n++] = tci & 0x0fff;
            continue;
        }
        case ET_PPPOE_SESS:
            return dec_pppoe(p, c);
        case ET_MPLS_UC:
        case ET_MPLS_MC:
            return dec_mpls(p, c);
        case ET_ARP:
        case ET_PPPOE_DISC:
        default:
            return fail(p, EV_NOT_IP);
        }
    }
}

/* ==== link layers ==== */

/* Ethernet II (IEEE 802.3): dst (6), src (6), ethertype (2). */
static bool link_eth(dec_pkt *p, cur *c)
{
    cur_skip(c, 12);
    uint16_t type = cur_be16(c);
    if (c->trunc) return fail(p, EV_ETH_TRUNC);
    return dec_ethertype(p, c, type);
}

/*
 * Linux cooked v1 (LINKTYPE_LINUX_SLL): packet type (2), ARPHRD type (2),
 * address length (2), address (8), protocol (2).
 */
static bool link_sll(dec_pkt *p, cur *c)
{
    cur_skip(c, 2);
    uint16_t hatype = cur_be16(c);
    cur_skip(c, 10);
    uint16_t proto = cur_be16(c);
    if (c->trunc) return fail(p, EV_SLL_TRUNC);
    if (hatype == ARPHRD_NETLINK) return fail(p, EV_NOT_IP);
    return dec_ethertype(p, c, proto);
}

/*
 * Linux cooked v2 (LINKTYPE_LINUX_SLL2): protocol (2), reserved (2),
 * interface index (4), ARPHRD type (2), packet type (1), address length
 * (1), address (8).
 */
static bool link_sll2(dec_pkt *p, cur *c)
{
    uint16_t proto = cur_be16(c);
    cur_skip(c, 6);
    uint16_t hatype = cur_be16(c);
    cur_skip(c, 10);
    if (c->trunc) return fail(p, EV_SLL_TRUNC);
    if (hatype == ARPHRD_NETLINK) return fail(p, EV_NOT_IP);
    return dec_ethertype(p, c, proto);
}

/*
 * BSD null / loopback: a 4-byte address family, in the capturing host's
 * byte order for NULL (network order for LOOP); both orders are accepted
 * since the families are small.  AF_INET 2; AF_INET6 10 (Linux), 24
 * (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
 */
static bool link_null(dec_pkt *p, cur *c)
{
    uint32_t fam = cur_le32(c);
    if (c->trunc) return fail(p, EV_NULL_TRUNC);
    if (fam > 0xffff)
        fam = (fam >> 24) | ((fam >> 8) & 0xff00) | ((fam << 8) & 0xff0000) | (fam << 24);
    switch (fam) {
    case 2:
        return dec_ipv4(p, c);
    case 10:
    case 24:
    case 28:
    case 30:
        return dec_ipv6(p, c);
    default:
        return fail(p, EV_NULL_BAD_FAMILY);
    }
}

/* Raw IP: the version nibble says which. */
static bool link_raw(dec_pkt *p, cur *c)
{
    uint8_t v = cur_peek_u8(c);
    if (c->trunc) return fail(p, EV_IPRAW_TRUNC);
    if ((v >> 4) == 4) return dec_ipv4(p, c);
    if ((v >> 4) == 6) return dec_ipv6(p, c);
    return fail(p, EV_IPRAW_BAD_VERSION);
}

static bool link_ipv4(dec_pkt *p, cur *c)
{
    return dec_ipv4(p, c);
}

static bool link_ipv6(dec_pkt *p, cur *c)
{
    return dec_ipv6(p, c);
}

/* Link dispatch: pcap link type -> decoder of that header and what follows.
 * Most frequent first (the lookup is a linear scan). */
typedef bool (*link_fn)(dec_pkt *p, cur *c);
static const struct {
    int linktype;
    link_fn fn;
} link_table[] = {
    // clang-format off
    {DEC_LINK_ETHERNET, link_eth},
    {DEC_LINK_SLL,      link_sll},
    {DEC_LINK_SLL2,     link_sll2},
    {DEC_LINK_RAW,      link_raw},
    {DEC_LINK_NULL,     link_null},
    {DEC_LINK_LOOP,     link_null},
    {DEC_LINK_IPV4,     link_ipv4},
    {DEC_LINK_IPV6,     link_ipv6},
    {12,                link_raw},  /* DLT_RAW on most systems */
    {14,                link_raw},  /* DLT_RAW on OpenBSD */
    // clang-format on
};

bool dec_packet(dec_pkt *p, int linktype, const uint8_t *bytes, uint32_t caplen)
{
    static const uint8_t none[1];
    memset(p, 0, sizeof *p); /* ~120 bytes, no pointers chased: cheap */
    if (bytes == NULL) {
        bytes = none;
        caplen = 0;
    }
    cur c = cur_make(bytes, caplen);
    for (size_t i = 0; i < sizeof link_table / sizeof link_table[0]; i++)
        if (link_table[i].linktype == linktype) return link_table[i].fn(p, &c);
    return fail(p, EV_LINKTYPE_UNSUPPORTED);
}

/* ==== sharding fast path ==== */

static uint16_t be16_at(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

/* The transport part of dec_shard_fast: TCP and UDP headers checked as
 * dec_tcp / dec_udp check them ('exact': the IP length bounds the
 * datagram); other protocols have no ports. */
static bool shard_l4(dec_shard *k, const uint8_t *l4, size_t cap, size_t wire)
{
    k->sport = k->dport = 0;
    if (k->proto == IPP_TCP) {
        if (cap < 20) return false;
        size_t hlen = (size_t)(l4[12] >> 4) * 4;
        if (hlen < 20 || hlen > wire || hlen > cap) return false;
    } else if (k->proto == IPP_UDP) {
        if (cap < 8) return false;
        uint16_t ulen = be16_at(l4 + 4);
        if (ulen < 8 || ulen > wire) return false;
    } else {
        return true;
    }
    k->sport = be16_at(l4);
    k->dport = be16_at(l4 + 2);
    return true;
}

static bool shard_ip(dec_shard *k, const uint8_t *l3, size_t cap)
{
    if (cap < 20) return false;
    if ((l3[0] >> 4) == 4) {
        size_t hlen = (size_t)(l3[0] & 0x0f) * 4;
        uint16_t tot = be16_at(l3 + 2);
        if (hlen < 20 || tot < hlen || cap < hlen) return false;
        if (be16_at(l3 + 6) & 0x3fff) return false; /* a fragment */
        if (cap > tot) cap = tot;
        k->ip_v = 4;
        k->proto = l3[9];
        k->src = l3 + 12;
        k->dst = l3 + 16;
        return shard_l4(k, l3 + hlen, cap - hlen, (size_t)tot - hlen);
    }
    if ((l3[0] >> 4) == 6) {
        if (cap < 40) return false;
        uint16_t plen = be16_at(l3 + 4);
        uint8_t nh = l3[6];
        if (plen == 0) return false; /* jumbogram */
        if (nh == IPP_HOPOPTS || nh == IPP_ROUTING || nh == IPP_DSTOPTS || nh == IPP_FRAGMENT ||
            nh == IPP_AH)
            return false;
        size_t tot = 40 + (size_t)plen;
        if (cap > tot) cap = tot;
        k->ip_v = 6;
        k->proto = nh;
        k->src = l3 + 8;
        k->dst = l3 + 24;
        return shard_l4(k, l3 + 40, cap - 40, tot - 40);
    }
    return false;
}

bool dec_shard_fast(int linktype, const uint8_t *b, uint32_t caplen, dec_shard *k)
{
    if (!b) return false;
    if (linktype == DEC_LINK_RAW || linktype == 12 || linktype == 14) return shard_ip(k, b, caplen);
    if (linktype != DEC_LINK_ETHERNET || caplen < 14) return false;
    size_t off = 12;
    uint16_t type = be16_at(b + off);
    for (int tags = 0; type == ET_VLAN || type == ET_QINQ || type == ET_QINQ_OLD; tags++) {
        if (tags == 2 || caplen < off + 6) return false;
        off += 4;
        type = be16_at(b + off);
    }
    off += 2;
    if ((type != ET_IPV4 && type != ET_IPV6) || caplen < off + 20) return false;
    /* the version must match the ethertype (else dec_packet fails) */
    if ((b[off] >> 4) != (type == ET_IPV4 ? 4 : 6)) return false;
    return shard_ip(k, b + off, caplen - off);
}
