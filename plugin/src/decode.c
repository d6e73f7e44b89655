/*
 * decode.c -- link, network and transport decoding into a dec_pkt view,
 * and dec_shard_fast, the few loads sharding needs of a common frame.
 *
 * One pass, no allocation, every byte read through cursor.h.  Layers:
 *   link header (layers.h: LAY_LINKS) -> ethertype chain (VLAN tags,
 *   PPPoE session, MPLS: LAY_ETHERTYPES, lay_encaps) -> IPv4 / IPv6 (+
 *   extension headers: LAY_V6EXT_LIST) -> TCP, UDP, ICMP, ICMPv6, or
 *   "other" (ports 0).
 * Fatal problems return false with p->event naming the reason; non-fatal
 * ones (bad options, first fragment) only set p->event.  See decode.h.
 */
#include "decode.h"

#include <string.h>

#include "cursor.h"
#include "layers.h"

/* Transport protocol numbers. */
#define IPP_ICMP   1
#define IPP_TCP    6
#define IPP_UDP    17
#define IPP_ICMPV6 58

#define ALWAYS_INLINE __attribute__((always_inline))

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

bool dec_event_truncated(dec_event ev)
{
    switch (ev) {
    case EV_ETH_TRUNC:
    case EV_VLAN_TRUNC:
    case EV_PPPOE_TRUNC:
    case EV_MPLS_TRUNC:
    case EV_SLL_TRUNC:
    case EV_NULL_TRUNC:
    case EV_IPV4_TRUNC:
    case EV_IPV6_TRUNC:
    case EV_TCP_TRUNC:
    case EV_UDP_TRUNC:
    case EV_ICMP_TRUNC:
    case EV_IPRAW_TRUNC:
        return true;
    default:
        return false;
    }
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
 * (so >= 2) and must fit in the area.  Returns false when malformed.  For
 * TCP (wscale not NULL) *wscale gets the window scale option's shift (RFC
 * 7323 2.3: capped at 14) when present.
 */
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
    if (hlen < LAY_IP4_HDR) return fail(p, EV_IPV4_BAD_IHL);
    if (tot < hlen) return fail(p, EV_IPV4_BAD_LEN);
    if (cap < hlen) return fail(p, EV_IPV4_TRUNC);
    if (!opts_ok(l3 + LAY_IP4_HDR, hlen - LAY_IP4_HDR, NULL)) note(p, EV_IPV4_OPT_BAD);

    p->ip_v = 4;
    p->l3 = l3;
    p->ip_len = tot;
    if (cap > tot) cap = tot;
    p->l3_len = (uint32_t)cap;
    p->proto = proto;

    const uint8_t *l4 = l3 + hlen;
    size_t l4cap = cap - hlen, l4wire = (size_t)tot - hlen;
    uint16_t fo = ff & LAY_IP4_OFFSET;
    if (fo != 0 || (ff & LAY_IP4_MF)) { /* offset or More Fragments */
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
 * then the extension headers of layers.h (lay_v6exts), up to
 * LAY_V6EXT_MAX; whatever ends the walk is the transport protocol.
 * Payload Length 0 (jumbogram) takes the captured rest.
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

    size_t tot = plen ? LAY_IP6_HDR + (size_t)plen : cap;
    if (cap > tot) cap = tot;
    p->ip_v = 6;
    p->l3 = l3;
    p->ip_len = (uint32_t)tot;
    p->l3_len = (uint32_t)cap;

    size_t off = LAY_IP6_HDR;
    for (unsigned n = 0;; n++) {
        const lay_v6ext *x = lay_v6ext_find(nh);
        if (!x) break;
        if (n == LAY_V6EXT_MAX) return fail(p, EV_IPV6_EXTHDR_TOO_MANY);
        if (nh == LAY_IPP_HOPOPTS && n != 0) note(p, EV_IPV6_EXTHDR_BAD); /* must come first */
        cur h = cur_make(l3 + off, cap - off);
        uint8_t next = cur_u8(&h);
        uint8_t len = cur_u8(&h);
        if (h.trunc) return fail(p, tot - off < 2 ? EV_IPV6_EXTHDR_BAD : EV_IPV6_TRUNC);
        size_t hlen = lay_v6ext_len(x, len);
        if (hlen > tot - off) return fail(p, EV_IPV6_EXTHDR_BAD);
        if (hlen > cap - off) return fail(p, EV_IPV6_TRUNC);
        if (nh == LAY_IPP_FRAGMENT) {
            uint16_t fo = cur_be16(&h);
            if (fo & LAY_V6FRAG_NOT_ATOMIC) { /* offset or M set; an atomic fragment is whole */
                p->frag = true;
                p->frag_first = (fo >> 3) == 0;
                p->event = EV_IPV6_FRAG;
                if (!p->frag_first) {
                    p->proto = next;
                    set_payload(p, l3 + off + hlen, cap - off - hlen, tot - off - hlen);
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

/* ==== encapsulations (layers.h) ==== */

static bool dec_pppoe(dec_pkt *p, cur *c);
static bool dec_mpls(dec_pkt *p, cur *c);

/* Decodes the header of kind 'next' at the cursor, and what follows it.
 * 'trunc' and 'bad' are the layer before's events for an IP version
 * nibble that is cut off or is neither 4 nor 6.  Inlined: most callers
 * pass a constant 'next'. */
static inline ALWAYS_INLINE bool dec_next(dec_pkt *p, cur *c, lay_kind next, dec_event trunc,
                                          dec_event bad)
{
    switch (next) {
    case LAY_IPV4:
        return dec_ipv4(p, c);
    case LAY_IPV6:
        return dec_ipv6(p, c);
    case LAY_IP_VERSION: {
        uint8_t v = cur_peek_u8(c);
        if (c->trunc) return fail(p, trunc);
        if ((v >> 4) == 4) return dec_ipv4(p, c);
        if ((v >> 4) == 6) return dec_ipv6(p, c);
        return fail(p, bad);
    }
    case LAY_PPPOE:
        return dec_pppoe(p, c);
    case LAY_MPLS:
        return dec_mpls(p, c);
    default: /* LAY_VLAN is only ever named by an ethertype: dec_ethertype */
        return fail(p, EV_NOT_IP);
    }
}

/* PPPoE session stage (RFC 2516 4), then the PPP protocol. */
static bool dec_pppoe(dec_pkt *p, cur *c)
{
    const lay_encap *e = &lay_encaps[LAY_PPPOE];
    uint8_t vt = cur_u8_at(c, 0), code = cur_u8_at(c, 1);
    uint16_t proto = cur_be16_at(c, e->next_off);
    cur_skip(c, e->hdr_len);
    if (c->trunc) return fail(p, EV_PPPOE_TRUNC);
    if (vt != LAY_PPPOE_VERTYPE || code != LAY_PPPOE_SESSION) return fail(p, EV_PPPOE_BAD_PROTO);
    return dec_next(p, c, lay_ppp_proto(proto), EV_PPPOE_TRUNC, EV_NOT_IP);
}

/* MPLS label stack entries up to the bottom of the stack; the payload type
 * is not signalled, so it is IP by the version nibble or not IP
 * (pseudowire, ...). */
static bool dec_mpls(dec_pkt *p, cur *c)
{
    const lay_encap *e = &lay_encaps[LAY_MPLS];
    for (unsigned n = 0;; n++) {
        if (n == e->max) return fail(p, EV_MPLS_TOO_DEEP);
        uint8_t bos = cur_u8_at(c, LAY_MPLS_BOS_OFF) & LAY_MPLS_BOS;
        cur_skip(c, e->hdr_len);
        if (c->trunc) return fail(p, EV_MPLS_TRUNC);
        if (bos) break;
    }
    return dec_next(p, c, LAY_IP_VERSION, EV_MPLS_TRUNC, EV_NOT_IP);
}

/* Decodes from an ethertype on: VLAN tags up to lay_encaps[LAY_VLAN].max
 * (the first DEC_MAX_VLAN ids recorded), then what the ethertype names. */
static bool dec_ethertype(dec_pkt *p, cur *c, uint16_t type)
{
    const lay_encap *tag = &lay_encaps[LAY_VLAN];
    lay_kind next;
    for (unsigned tags = 0; (next = lay_ethertype(type)) == LAY_VLAN; tags++) {
        if (tags == tag->max) return fail(p, EV_VLAN_TOO_DEEP);
        uint16_t tci = cur_be16_at(c, 0);
        type = cur_be16_at(c, tag->next_off);
        cur_skip(c, tag->hdr_len);
        if (c->trunc) return fail(p, EV_VLAN_TRUNC);
        if (p->vlan_n < DEC_MAX_VLAN) p->vlan[p->vlan_n++] = tci & LAY_VLAN_VID;
    }
    return dec_next(p, c, next, EV_NOT_IP, EV_NOT_IP);
}

/* ==== link layers (layers.h: LAY_LINKS) ==== */

/* Inlined into each case of dec_packet's switch with a constant row, so
 * the row's columns become immediates. */
static inline ALWAYS_INLINE bool dec_link(dec_pkt *p, cur *c, const lay_link *l)
{
    uint32_t proto = 0;
    uint16_t hatype = 0;
    if (l->how == LAY_BY_ETHERTYPE)
        proto = cur_be16_at(c, l->proto_off);
    else if (l->how == LAY_BY_FAMILY)
        proto = cur_le32_at(c, l->proto_off);
    if (l->hatype_off >= 0) hatype = cur_be16_at(c, (size_t)l->hatype_off);
    cur_skip(c, l->hdr_len);
    if (c->trunc) return fail(p, l->trunc);
    if (hatype == LAY_ARPHRD_NETLINK) return fail(p, EV_NOT_IP);
    switch (l->how) {
    case LAY_BY_ETHERTYPE:
        return dec_ethertype(p, c, (uint16_t)proto);
    case LAY_BY_FAMILY: {
        /* either byte order: the families are small */
        if (proto > 0xffff)
            proto =
                (proto >> 24) | ((proto >> 8) & 0xff00) | ((proto << 8) & 0xff0000) | (proto << 24);
        lay_kind next = lay_family(proto);
        if (next == LAY_NOT_IP) return fail(p, l->bad);
        return dec_next(p, c, next, l->trunc, l->bad);
    }
    default:
        return dec_next(p, c, (lay_kind)l->next, l->trunc, l->bad);
    }
}

bool dec_packet(dec_pkt *p, int linktype, const uint8_t *bytes, uint32_t caplen)
{
    static const uint8_t none[1];
    memset(p, 0, sizeof *p); /* ~120 bytes, no pointers chased: cheap */
    if (bytes == NULL) {
        bytes = none;
        caplen = 0;
    }
    cur c = cur_make(bytes, caplen);
    switch (linktype) {
#define LINK_CASE(name, lt, ...)                                                                   \
    case lt:                                                                                       \
        return dec_link(p, &c, &lay_links[LAY_LINK_##name]);
        LAY_LINKS(LINK_CASE)
#undef LINK_CASE
    default:
        return fail(p, EV_LINKTYPE_UNSUPPORTED);
    }
}

/* ==== sharding fast path ==== */

#define FAST_TAGS 2 /* VLAN tags the fast path steps over; dec_packet takes deeper stacks */

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

/* IPv4 without fragmentation, IPv6 without extension headers or jumbo
 * payload length, checked as dec_ipv4 / dec_ipv6 check them. */
static bool shard_ip(dec_shard *k, const uint8_t *l3, size_t cap)
{
    if (cap < LAY_IP4_HDR) return false;
    if ((l3[0] >> 4) == 4) {
        size_t hlen = (size_t)(l3[0] & 0x0f) * 4;
        uint16_t tot = be16_at(l3 + LAY_IP4_TOTLEN);
        if (hlen < LAY_IP4_HDR || tot < hlen || cap < hlen) return false;
        if (be16_at(l3 + LAY_IP4_FRAG) & (LAY_IP4_MF | LAY_IP4_OFFSET)) return false;
        if (cap > tot) cap = tot;
        k->ip_v = 4;
        k->proto = l3[LAY_IP4_PROTO];
        k->src = l3 + LAY_IP4_SRC;
        k->dst = l3 + LAY_IP4_DST;
        return shard_l4(k, l3 + hlen, cap - hlen, (size_t)tot - hlen);
    }
    if ((l3[0] >> 4) == 6) {
        if (cap < LAY_IP6_HDR) return false;
        uint16_t plen = be16_at(l3 + LAY_IP6_PLEN);
        uint8_t nh = l3[LAY_IP6_NEXT];
        if (plen == 0) return false; /* jumbogram */
        if (lay_v6ext_find(nh)) return false;
        size_t tot = LAY_IP6_HDR + (size_t)plen;
        if (cap > tot) cap = tot;
        k->ip_v = 6;
        k->proto = nh;
        k->src = l3 + LAY_IP6_SRC;
        k->dst = l3 + LAY_IP6_DST;
        return shard_l4(k, l3 + LAY_IP6_HDR, cap - LAY_IP6_HDR, tot - LAY_IP6_HDR);
    }
    return false;
}

/* One link type's fast path, inlined with a constant row (a link type
 * not marked fast becomes "return false"): up to FAST_TAGS VLAN tags,
 * then straight to IP. */
static inline ALWAYS_INLINE bool fast_link(const lay_link *l, const uint8_t *b, uint32_t caplen,
                                           dec_shard *k)
{
    if (!l->fast || caplen < l->hdr_len) return false;
    const uint8_t *h = b + l->hdr_len;
    size_t cap = caplen - l->hdr_len;
    lay_kind next = (lay_kind)l->next;
    if (l->how == LAY_BY_ETHERTYPE) {
        if (l->hatype_off >= 0 && be16_at(b + l->hatype_off) == LAY_ARPHRD_NETLINK) return false;
        const lay_encap *tag = &lay_encaps[LAY_VLAN];
        uint16_t type = be16_at(b + l->proto_off);
        for (unsigned tags = 0; (next = lay_ethertype(type)) == LAY_VLAN; tags++) {
            if (tags == FAST_TAGS || cap < tag->hdr_len) return false;
            type = be16_at(h + tag->next_off);
            h += tag->hdr_len;
            cap -= tag->hdr_len;
        }
    } else if (l->how != LAY_FIXED) {
        return false;
    }
    if (next == LAY_IP_VERSION) return shard_ip(k, h, cap);
    if (next != LAY_IPV4 && next != LAY_IPV6) return false;
    /* the version must be the one named (else dec_packet fails) */
    if (cap < LAY_IP4_HDR || (h[0] >> 4) != (next == LAY_IPV4 ? 4 : 6)) return false;
    return shard_ip(k, h, cap);
}

bool dec_shard_fast(int linktype, const uint8_t *b, uint32_t caplen, dec_shard *k)
{
    if (!b) return false;
    switch (linktype) {
#define LINK_CASE(name, lt, ...)                                                                   \
    case lt:                                                                                       \
        return fast_link(&lay_links[LAY_LINK_##name], b, caplen, k);
        LAY_LINKS(LINK_CASE)
#undef LINK_CASE
    default:
        return false;
    }
}
