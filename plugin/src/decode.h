/*
 * decode.h -- link, network and transport layer decoding into a packet view.
 *
 * dec_packet() fills a dec_pkt that points into the caller's bytes
 * (borrowed: valid only while those bytes are).  Malformed input is not an
 * error: the first problem found is recorded as a named decode event and
 * the packet is reported as not flowable.  Supported: Ethernet, 802.1Q /
 * 802.1ad (QinQ) VLAN, PPPoE session, MPLS, Linux SLL and SLL2, raw IP,
 * BSD null/loopback; IPv4 (options, fragments), IPv6 (extension headers),
 * TCP, UDP, ICMP, ICMPv6.  layers.h lists the link types, ethertypes and
 * extension headers, for this decoder and the shard's BPF program alike.
 */
#ifndef EGRET_DECODE_H
#define EGRET_DECODE_H

#include <stdbool.h>
#include <stdint.h>

/* Link types (pcap LINKTYPE_ values). */
#define DEC_LINK_NULL     0
#define DEC_LINK_ETHERNET 1
#define DEC_LINK_RAW      101 /* LINKTYPE_RAW; DLT_RAW 12/14 are accepted too */
#define DEC_LINK_LOOP     108
#define DEC_LINK_SLL      113
#define DEC_LINK_IPV4     228
#define DEC_LINK_IPV6     229
#define DEC_LINK_SLL2     276

/* Decode events: X(name, "eve.name").  Order is ABI for stats only by name.
 * The names are Suricata's (stats.decoder.event.<layer>.<event>) where
 * Suricata has the same event; egret-only ones (link.*, *.fragment,
 * mpls.too_many_labels, ipv6.exthdr_*, icmp.*, ipraw.pkt_too_small,
 * pcap.*) are declared in docs/eve-schema.json.
 * EV_PCAP_OVER_SNAPLEN is not found by the decoder but reported by the
 * host about a capture file (egret_engine_file_event): once per file whose
 * records are longer than its snapshot length (read whole). */
#define DEC_EVENT_MAP(X)                                                                           \
    X(NONE, "none")                                                                                \
    X(LINKTYPE_UNSUPPORTED, "decoder.event.link.unsupported_type")                                 \
    X(ETH_TRUNC, "decoder.event.ethernet.pkt_too_small")                                           \
    X(VLAN_TRUNC, "decoder.event.vlan.header_too_small")                                           \
    X(VLAN_TOO_DEEP, "decoder.event.vlan.too_many_layers")                                         \
    X(PPPOE_TRUNC, "decoder.event.pppoe.pkt_too_small")                                            \
    X(PPPOE_BAD_PROTO, "decoder.event.pppoe.wrong_code")                                           \
    X(MPLS_TRUNC, "decoder.event.mpls.header_too_small")                                           \
    X(MPLS_TOO_DEEP, "decoder.event.mpls.too_many_labels")                                         \
    X(SLL_TRUNC, "decoder.event.sll.pkt_too_small")                                                \
    X(NULL_TRUNC, "decoder.event.ltnull.pkt_too_small")                                            \
    X(NULL_BAD_FAMILY, "decoder.event.ltnull.unsupported_type")                                    \
    X(IPV4_TRUNC, "decoder.event.ipv4.trunc_pkt")                                                  \
    X(IPV4_BAD_VERSION, "decoder.event.ipv4.wrong_ip_version")                                     \
    X(IPV4_BAD_IHL, "decoder.event.ipv4.hlen_too_small")                                           \
    X(IPV4_BAD_LEN, "decoder.event.ipv4.iplen_smaller_than_hlen")                                  \
    X(IPV4_OPT_BAD, "decoder.event.ipv4.opt_invalid")                                              \
    X(IPV4_FRAG, "decoder.event.ipv4.fragment")                                                    \
    X(IPV6_TRUNC, "decoder.event.ipv6.trunc_pkt")                                                  \
    X(IPV6_BAD_VERSION, "decoder.event.ipv6.wrong_ip_version")                                     \
    X(IPV6_EXTHDR_BAD, "decoder.event.ipv6.exthdr_invalid")                                        \
    X(IPV6_EXTHDR_TOO_MANY, "decoder.event.ipv6.exthdr_too_many")                                  \
    X(IPV6_FRAG, "decoder.event.ipv6.fragment")                                                    \
    X(TCP_TRUNC, "decoder.event.tcp.pkt_too_small")                                                \
    X(TCP_BAD_HLEN, "decoder.event.tcp.hlen_too_small")                                            \
    X(TCP_OPT_BAD, "decoder.event.tcp.invalid_optlen")                                             \
    X(UDP_TRUNC, "decoder.event.udp.pkt_too_small")                                                \
    X(UDP_BAD_LEN, "decoder.event.udp.len_invalid")                                                \
    X(ICMP_TRUNC, "decoder.event.icmp.pkt_too_small")                                              \
    X(NOT_IP, "decoder.event.link.not_ip")                                                         \
    X(IPRAW_TRUNC, "decoder.event.ipraw.pkt_too_small")                                            \
    X(IPRAW_BAD_VERSION, "decoder.event.ipraw.invalid_ip_version")                                 \
    X(PCAP_OVER_SNAPLEN, "decoder.event.pcap.record_over_snaplen")

typedef enum {
#define DEC_X(n, s) EV_##n,
    DEC_EVENT_MAP(DEC_X)
#undef DEC_X
        EV__COUNT
} dec_event;

#define DEC_MAX_VLAN 2 /* outer, inner recorded; deeper stacks are decoded (layers.h) */

typedef struct dec_pkt {
    /* link */
    uint16_t vlan[DEC_MAX_VLAN]; /* VLAN ids, outermost first */
    uint8_t vlan_n;              /* ids recorded in vlan[] (<= DEC_MAX_VLAN) */
    /* network */
    uint8_t ip_v;      /* 4 or 6; 0 when not IP */
    const uint8_t *l3; /* start of the IP header */
    uint32_t l3_len;   /* captured bytes from l3, clipped to the IP total length */
    uint32_t ip_len;   /* IP total length from the header (wire) */
    uint8_t src[16];   /* IPv4 uses the first 4 bytes, rest zero */
    uint8_t dst[16];
    uint8_t proto;   /* transport protocol (after IPv6 extension headers) */
    bool frag;       /* part of a fragmented datagram */
    bool frag_first; /* ...and it is the first fragment (offset 0) */
    /* transport */
    uint16_t sport, dport; /* ICMP: sport = type, dport = code */
    uint8_t tcp_flags;     /* TH_* bits */
    uint32_t seq, ack;
    uint16_t tcp_win;       /* advertised window, unscaled */
    uint8_t tcp_wscale;     /* window scale option's shift, DEC_WSCALE_NONE if absent */
    const uint8_t *payload; /* transport payload (captured part) */
    uint32_t payload_len;   /* captured payload bytes */
    uint32_t payload_wire;  /* payload bytes according to the IP length */
    dec_event event;        /* first problem found, EV_NONE if clean */
} dec_pkt;

#define DEC_WSCALE_NONE 0xff

#define TH_FIN  0x01
#define TH_SYN  0x02
#define TH_RST  0x04
#define TH_PUSH 0x08
#define TH_ACK  0x10
#define TH_URG  0x20

/* Decodes one frame of pcap link type 'linktype' ('caplen' captured bytes;
 * NULL bytes count as empty).  Zeroes *p first; p's pointers borrow 'bytes'
 * and never point past bytes + caplen.
 *
 * Returns true when the packet has an IP header and a transport header good
 * enough to be put in a flow; false otherwise, with p->event naming why
 * (EV_NOT_IP for non-IP frames such as ARP, a *_TRUNC event for a header
 * cut short by the capture, EV_LINKTYPE_UNSUPPORTED, ...).
 *
 * p->event on true: EV_NONE, or a non-fatal problem (EV_IPV4_OPT_BAD,
 * EV_TCP_OPT_BAD, EV_IPV6_EXTHDR_BAD: the first one found), or the fragment
 * event below, which takes precedence over the option events.  On false the
 * fatal reason overrides any non-fatal one.
 *
 * Fragments (IPv4 MF or offset != 0; IPv6 fragment header with M or
 * offset != 0) set p->frag:
 *  - first fragment (offset 0): p->frag_first, the transport header is
 *    decoded (ports, flags) from this fragment and true is returned with
 *    p->event = EV_IPV4_FRAG / EV_IPV6_FRAG (false with the transport's
 *    *_TRUNC event if the header is not in it).  The UDP length is then only
 *    checked against 8, since it covers the whole datagram.
 *  - other fragments: false with EV_IPV4_FRAG / EV_IPV6_FRAG; addresses and
 *    proto are set, ports are 0, payload is the fragment's data.
 *
 * Other protocols (GRE, SCTP, ESP, IPv6 no-next-header, ...): true, ports
 * 0, payload = everything after the IP (extension) headers.
 * ICMP: 8-byte header, ICMPv6: 4-byte header before the payload.
 * Lengths: l3_len and payload_len count captured bytes clipped to the IP
 * length (Ethernet padding excluded) and, for UDP, to the UDP length;
 * ip_len/payload_wire come from the headers (IPv6 payload length 0 is taken
 * as a jumbogram filling the capture). */
bool dec_packet(dec_pkt *p, int linktype, const uint8_t *bytes, uint32_t caplen);

/* What sharding needs of a packet: addresses, protocol and ports, pointing
 * into the packet (4 or 16 bytes).  Ports are those dec_packet would set
 * (0 for protocols without them or where it does not get that far). */
typedef struct dec_shard {
    int ip_v;
    uint8_t proto;
    uint16_t sport, dport;
    const uint8_t *src, *dst;
} dec_shard;

/* A fast path for the common frames (the link types layers.h marks fast:
 * Ethernet with up to two VLAN tags, raw IP; IPv4 not fragmented; IPv6
 * without extension headers; TCP and UDP headers that dec_packet would
 * accept): fills *k exactly as dec_packet would fill those fields and
 * returns true.  Returns false for everything else; the caller then uses
 * dec_packet. */
bool dec_shard_fast(int linktype, const uint8_t *bytes, uint32_t caplen, dec_shard *k);

/* "decoder.event.ipv4.trunc_pkt" etc.; never NULL. */
const char *dec_event_name(dec_event ev);

/* True for the events that mean "the captured bytes ended inside a
 * header" (Suricata names them pkt_too_small, trunc_pkt, ...). */
bool dec_event_truncated(dec_event ev);

#endif /* EGRET_DECODE_H */
