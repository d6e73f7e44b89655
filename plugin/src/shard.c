/*
 * shard.c -- the worker a packet belongs to, in C and as classic BPF.
 *
 * shard_packet decodes the packet and hashes its enterprise-side address,
 * so everything one internal host does lands on one worker (see
 * egret_engine_shard in egret.h).  shard_bpf writes the same function as
 * a classic BPF program for Linux's PACKET_FANOUT_CBPF: the kernel then
 * hands each packet straight to its worker's capture ring, and no thread
 * reads or copies packets for another (Suricata's AF_PACKET "cluster"
 * modes do the same with the kernel's flow hash, which does not keep a
 * host's flows together).
 *
 * The program sees the packet as the kernel holds it: the ethertype in
 * skb->protocol (SKF_AD_PROTOCOL) and loads relative to the network header
 * (SKF_NET_OFF), whatever the link layer.  A first VLAN tag is out of the
 * frame by then (the kernel moves it to skb metadata before the taps run);
 * a second one is left at the network header, and the program steps over
 * it.  PPPoE sessions, MPLS label stacks and IPv6 extension headers are
 * walked as decode.c walks them, from the same description (layers.h).
 * Classic BPF has two registers, 16 scratch words and only forward jumps,
 * so the program first loads what it needs (addresses, protocol, ports)
 * into scratch words, then decides from them.  Branches jump over the next
 * instruction (8-bit offsets) to a "ja" with a 32-bit offset, so any
 * program length up to the kernel's 4096 instructions assembles.
 *
 * Where the two may disagree (the program returns 0 if a load runs past
 * the packet; it steps over one tag left in the frame, decode.c over up to
 * four): malformed or truncated headers, which decode events count anyway,
 * and three or more VLAN tags.  test_shard lists the cases it checks.
 */
#include "shard.h"

#include "decode.h"
#include "flow.h"
#include "layers.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ==== the shard in C ==== */

#define HASH_SEED 0x9e3779b9U
#define HASH_MUL  0x9e3779b1U /* odd: one multiply per address word */
#define MIX_1     0x7feb352dU
#define MIX_2     0x846ca68bU
#define PAIR_MUL  31u

static uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= MIX_1;
    h ^= h >> 15;
    h *= MIX_2;
    h ^= h >> 16;
    return h;
}

static uint32_t be32_at(const uint8_t *a)
{
    return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

/* Word by word (big-endian, as a classic BPF word load reads them), then
 * mixed: one multiply per word, where hashing byte by byte would chain
 * four dependent multiplies per IPv4 address. */
uint32_t shard_addr_hash(int ip_v, const uint8_t *a)
{
    uint32_t h = HASH_SEED;
    for (int i = 0; i < (ip_v == 6 ? 16 : 4); i += 4) h = (h ^ be32_at(a + i)) * HASH_MUL;
    return mix32(h);
}

uint32_t shard_packet(const netset *home, int linktype, const uint8_t *bytes, uint32_t caplen)
{
    if (!bytes) return 0;
    dec_shard k;
    dec_pkt p;
    if (!dec_shard_fast(linktype, bytes, caplen, &k)) { /* the full decoder: same fields */
        if (!dec_packet(&p, linktype, bytes, caplen) && p.ip_v == 0) return 0;
        k = (dec_shard){p.ip_v, p.proto, p.sport, p.dport, p.src, p.dst};
    }
    /* Both directions of a flow must land alike, so ports count only where
     * the flow table keys on them (an ICMP echo and its reply differ in
     * type but are one flow). */
    bool ports = flow_has_ports(k.proto);
    uint16_t sp = ports ? k.sport : 0, dp = ports ? k.dport : 0;
    bool si = netset_lookup(home, k.ip_v, k.src, NULL);
    bool di = netset_lookup(home, k.ip_v, k.dst, NULL);
    if (si != di) return shard_addr_hash(k.ip_v, si ? k.src : k.dst); /* the internal side */
    uint32_t hs = shard_addr_hash(k.ip_v, k.src), hd = shard_addr_hash(k.ip_v, k.dst);
    if (si) /* both internal: the client's side, the higher port, or the lower hash */
        return sp != dp ? (sp > dp ? hs : hd) : (hs < hd ? hs : hd);
    /* symmetric: both directions hash alike */
    uint32_t a = hs ^ sp, b = hd ^ dp;
    return mix32((a < b ? a : b) * PAIR_MUL + (a < b ? b : a) + k.proto);
}

/* ==== the shard as classic BPF ==== */

/* Opcodes (linux/bpf_common.h; the values are the same everywhere). */
enum {
    LD = 0x00,
    LDX = 0x01,
    ST = 0x02,
    ALU = 0x04,
    JMP = 0x05,
    RET = 0x06,
    MISC = 0x07,
    W = 0x00,
    H = 0x08,
    B = 0x10,
    IMM = 0x00,
    ABS = 0x20,
    IND = 0x40,
    MEM = 0x60,
    ADD = 0x00,
    MUL = 0x20,
    OR = 0x40,
    AND = 0x50,
    LSH = 0x60,
    RSH = 0x70,
    MOD = 0x90,
    XOR = 0xa0,
    JA = 0x00,
    JEQ = 0x10,
    JGT = 0x20,
    JGE = 0x30,
    JSET = 0x40,
    K = 0x00,
    X = 0x08,
    RA = 0x10, /* BPF_RET | BPF_A */
    TAX = 0x00,
    TXA = 0x80,
};

/* Scratch words. */
enum {
    M_S0 = 0,    /* source address, 1 or 4 big-endian words (M_S0..M_S0+3) */
    M_D0 = 4,    /* destination address */
    M_PORTS = 8, /* source port << 16 | destination port, or 0 */
    M_PROTO = 9,
    M_H = 10,     /* hash being built */
    M_HS = 11,    /* hash of the source address */
    M_HD = 12,    /* of the destination */
    M_FLAGS = 13, /* 1: source internal, 2: destination internal */
    M_T = 14,     /* temporary */
    M_NH = 15,    /* IPv6: next header */
};

#define NET(off) ((uint32_t)(SHARD_SKF_NET_OFF + (off)))

/* A program being assembled.  Labels are placed once; "ja" to a label is
 * fixed up at the end (forward only). */
typedef struct bpfasm {
    egret_bpf_insn *p;
    size_t n, cap;
    bool full;
    size_t *at; /* per label: its instruction, SIZE_MAX until placed */
    int nlabels, caplabels;
    struct fix {
        size_t insn;
        int label;
    } * fix;
    size_t nfix, capfix;
} bpfasm;

static void op(bpfasm *a, uint16_t code, uint32_t k)
{
    if (a->n == a->cap) {
        a->full = true;
        return;
    }
    a->p[a->n++] = (egret_bpf_insn){code, 0, 0, k};
}

static int label(bpfasm *a)
{
    if (a->nlabels == a->caplabels) {
        int cap = a->caplabels ? 2 * a->caplabels : 256;
        size_t *na = realloc(a->at, (size_t)cap * sizeof(*na));
        if (!na) {
            a->full = true;
            return 0;
        }
        a->at = na;
        a->caplabels = cap;
    }
    a->at[a->nlabels] = SIZE_MAX;
    return a->nlabels++;
}

static void place(bpfasm *a, int l)
{
    if (l < a->nlabels) a->at[l] = a->n; /* else label() failed: a->full is set */
}

static void ja(bpfasm *a, int l)
{
    if (a->nfix == a->capfix) {
        size_t cap = a->capfix ? 2 * a->capfix : 64;
        struct fix *nf = realloc(a->fix, cap * sizeof(*nf));
        if (!nf) {
            a->full = true;
            return;
        }
        a->fix = nf;
        a->capfix = cap;
    }
    a->fix[a->nfix++] = (struct fix){a->n, l};
    op(a, JMP | JA, 0);
}

/* Jumps to l when "A <cmp> k" (or X: cmp | X) holds, else goes on. */
static void jif(bpfasm *a, uint16_t cmp, uint32_t k, int l)
{
    op(a, JMP | cmp, k); /* jt 0: the ja; jf 1: past it */
    if (a->n && !a->full) a->p[a->n - 1].jf = 1;
    ja(a, l);
}

/* Jumps to l when "A <cmp> k" does not hold. */
static void jifnot(bpfasm *a, uint16_t cmp, uint32_t k, int l)
{
    op(a, JMP | cmp, k);
    if (a->n && !a->full) a->p[a->n - 1].jt = 1;
    ja(a, l);
}

/* A = mix32(A). */
static void emit_mix(bpfasm *a)
{
    static const struct {
        uint32_t shift, mul;
    } steps[] = {{16, MIX_1}, {15, MIX_2}, {16, 0}};
    for (int i = 0; i < 3; i++) {
        op(a, MISC | TAX, 0);
        op(a, ALU | RSH | K, steps[i].shift);
        op(a, ALU | XOR | X, 0);
        if (steps[i].mul) op(a, ALU | MUL | K, steps[i].mul);
    }
}

/* M[dst] = shard_addr_hash of the address in words M[w0..w0+words). */
static void emit_addr_hash(bpfasm *a, int w0, int words, int dst)
{
    for (int i = 0; i < words; i++) {
        op(a, LD | MEM, (uint32_t)(w0 + i));
        if (i == 0) {
            op(a, ALU | XOR | K, HASH_SEED);
        } else {
            op(a, MISC | TAX, 0);
            op(a, LD | MEM, M_H);
            op(a, ALU | XOR | X, 0);
        }
        op(a, ALU | MUL | K, HASH_MUL);
        op(a, ST, M_H);
    }
    emit_mix(a);
    op(a, ST, (uint32_t)dst);
}

/* Jumps to 'yes' when the address in M[w0..] lies in one of the ip_v
 * prefixes. */
static void emit_member(bpfasm *a, const netset_prefix *pf, size_t npf, int ip_v, int w0, int yes)
{
    for (size_t i = 0; i < npf; i++) {
        if (pf[i].ip_v != ip_v) continue;
        int next = label(a);
        for (unsigned w = 0; w * 32 < pf[i].len; w++) {
            unsigned bits = pf[i].len - w * 32 > 32 ? 32 : pf[i].len - w * 32;
            uint32_t mask = bits == 32 ? UINT32_MAX : ~(UINT32_MAX >> bits);
            op(a, LD | MEM, (uint32_t)w0 + w);
            if (mask != UINT32_MAX) op(a, ALU | AND | K, mask);
            jifnot(a, JEQ | K, be32_at(pf[i].addr + 4 * w) & mask, next);
        }
        ja(a, yes);
        place(a, next);
    }
}

/* From the scratch words to the decision's inputs, for one family:
 * M_FLAGS, M_HS, M_HD; then on to 'decide'. */
static void emit_family(bpfasm *a, const netset_prefix *pf, size_t npf, int ip_v, int decide)
{
    int words = ip_v == 6 ? 4 : 1;
    int si = label(a), si_done = label(a), di = label(a), di_done = label(a);
    op(a, LD | IMM, 0);
    op(a, ST, M_FLAGS);
    emit_member(a, pf, npf, ip_v, M_S0, si);
    ja(a, si_done);
    place(a, si);
    op(a, LD | IMM, 1);
    op(a, ST, M_FLAGS);
    place(a, si_done);
    emit_member(a, pf, npf, ip_v, M_D0, di);
    ja(a, di_done);
    place(a, di);
    op(a, LD | MEM, M_FLAGS);
    op(a, ALU | OR | K, 2);
    op(a, ST, M_FLAGS);
    place(a, di_done);
    emit_addr_hash(a, M_S0, words, M_HS);
    emit_addr_hash(a, M_D0, words, M_HD);
    ja(a, decide);
}

/* Stores the transport ports (the word at X + NET) when M_PROTO is TCP or
 * UDP, the protocols whose ports dec_shard_fast and dec_packet read. */
static void emit_ports(bpfasm *a, int done)
{
    int load = label(a);
    op(a, LD | MEM, M_PROTO);
    jif(a, JEQ | K, 6, load);
    jifnot(a, JEQ | K, 17, done);
    place(a, load);
    op(a, LD | W | IND, NET(0));
    op(a, ST, M_PORTS);
}

/* Jumps to l when M_NH is an IPv6 extension header dec_packet walks
 * (lay_v6exts). */
static void jif_ext(bpfasm *a, int l)
{
    op(a, LD | MEM, M_NH);
    for (size_t i = 0; i < LAY__V6EXTS; i++) jif(a, JEQ | K, lay_v6exts[i].nh, l);
}

/* Jumps to v4 or v6 for the rows of 'map' that name IPv4 or IPv6 (A holds
 * the number); the others fall through. */
static void jif_ip(bpfasm *a, const lay_map *map, size_t n, int v4, int v6)
{
    for (size_t i = 0; i < n; i++)
        if (map[i].kind == LAY_IPV4 || map[i].kind == LAY_IPV6)
            jif(a, JEQ | K, map[i].id, map[i].kind == LAY_IPV4 ? v4 : v6);
}

/* With the ethertype in A and the header it names at NET(base): sets X to
 * the IP header's offset and jumps to v4 or v6, as decode.c's
 * dec_ethertype goes through PPPoE sessions and MPLS label stacks; to
 * 'tag' for a VLAN tag (-1: no more tags), else to ret0.  The ethertypes,
 * lengths and offsets are layers.h's. */
static void emit_dispatch(bpfasm *a, uint32_t base, int v4, int v6, int ret0, int tag)
{
    int ip4 = label(a), ip6 = label(a), pppoe = label(a), mpls = label(a), ver = label(a);
    int to[LAY__KINDS];
    for (int k = 0; k < LAY__KINDS; k++) to[k] = -1;
    to[LAY_IPV4] = ip4, to[LAY_IPV6] = ip6, to[LAY_PPPOE] = pppoe, to[LAY_MPLS] = mpls;
    to[LAY_VLAN] = tag;
    for (size_t i = 0; i < sizeof(lay_ethertypes) / sizeof(lay_ethertypes[0]); i++)
        if (to[lay_ethertypes[i].kind] >= 0)
            jif(a, JEQ | K, lay_ethertypes[i].id, to[lay_ethertypes[i].kind]);
    ja(a, ret0);
    place(a, ip4);
    op(a, LDX | IMM, base);
    ja(a, v4);
    place(a, ip6);
    op(a, LDX | IMM, base);
    ja(a, v6);
    /* PPPoE session: ver|type, code, ..., then the PPP protocol */
    const lay_encap *pe = &lay_encaps[LAY_PPPOE];
    place(a, pppoe);
    op(a, LD | B | ABS, NET(base));
    jifnot(a, JEQ | K, LAY_PPPOE_VERTYPE, ret0);
    op(a, LD | B | ABS, NET(base + 1));
    jifnot(a, JEQ | K, LAY_PPPOE_SESSION, ret0);
    op(a, LDX | IMM, base + pe->hdr_len);
    op(a, LD | H | ABS, NET(base + pe->next_off));
    jif_ip(a, lay_ppp_protos, sizeof(lay_ppp_protos) / sizeof(lay_ppp_protos[0]), v4, v6);
    ja(a, ret0);
    /* MPLS: labels up to the bottom of the stack, then the IP version */
    const lay_encap *me = &lay_encaps[LAY_MPLS];
    place(a, mpls);
    for (uint32_t i = 0; i < me->max; i++) {
        int more = label(a);
        op(a, LD | B | ABS, NET(base + me->hdr_len * i + LAY_MPLS_BOS_OFF));
        jifnot(a, JSET | K, LAY_MPLS_BOS, more);
        op(a, LDX | IMM, base + me->hdr_len * (i + 1));
        ja(a, ver);
        place(a, more);
    }
    ja(a, ret0);
    place(a, ver);
    op(a, LD | B | IND, NET(0));
    op(a, ALU | RSH | K, 4);
    jif(a, JEQ | K, 4, v4);
    jif(a, JEQ | K, 6, v6);
    ja(a, ret0);
}

/* A = the length of the extension header at X (not a fragment header),
 * then on to 'adv': headers in a format of their own (AH) are tested for
 * one by one; the rest have the uniform format (RFC 6564). */
static void emit_ext_len(bpfasm *a, int adv)
{
    for (size_t i = 0; i < LAY__V6EXTS; i++) {
        const lay_v6ext *x = &lay_v6exts[i];
        if (x->fixed || (x->bias == LAY_V6EXT_UNIFORM_BIAS && x->shift == LAY_V6EXT_UNIFORM_SHIFT))
            continue;
        int other = label(a);
        jifnot(a, JEQ | K, x->nh, other);
        op(a, LD | B | IND, NET(1)); /* (len + bias) << shift */
        op(a, ALU | ADD | K, x->bias);
        op(a, ALU | LSH | K, x->shift);
        ja(a, adv);
        place(a, other);
    }
    op(a, LD | B | IND, NET(1)); /* (len + 1) * 8 */
    op(a, ALU | ADD | K, LAY_V6EXT_UNIFORM_BIAS);
    op(a, ALU | LSH | K, LAY_V6EXT_UNIFORM_SHIFT);
}

static void emit_program(bpfasm *a, const netset_prefix *pf, size_t npf, uint32_t n)
{
    int ret0 = label(a), v4 = label(a), v6 = label(a), tag = label(a), decide = label(a);

    /* the ethertype, and where the IP header is (X) */
    const lay_encap *te = &lay_encaps[LAY_VLAN];
    op(a, LD | W | ABS, (uint32_t)SHARD_SKF_AD_PROTOCOL);
    emit_dispatch(a, 0, v4, v6, ret0, tag);
    place(a, tag); /* a second tag: TCI, then the inner ethertype */
    op(a, LD | H | ABS, NET(te->next_off));
    emit_dispatch(a, te->hdr_len, v4, v6, ret0, -1);
    /* IPv4: version, header length and total length as dec_packet checks
     * them before it knows the addresses (else it returns 0) */
    place(a, v4);
    int v4_have = label(a), tot_ok = label(a);
    op(a, MISC | TXA, 0);
    op(a, ST, M_NH); /* the base; X is needed for comparisons below */
    op(a, LD | B | IND, NET(0));
    op(a, ALU | RSH | K, 4);
    jifnot(a, JEQ | K, 4, ret0);
    op(a, LD | B | IND, NET(0));
    op(a, ALU | AND | K, 0x0f);
    jifnot(a, JGT | K, 4, ret0);
    op(a, ALU | LSH | K, 2);
    op(a, ST, M_T); /* header length */
    op(a, LD | H | IND, NET(LAY_IP4_TOTLEN));
    op(a, ST, M_H); /* total length */
    op(a, LD | W | IND, NET(LAY_IP4_SRC));
    op(a, ST, M_S0);
    op(a, LD | W | IND, NET(LAY_IP4_DST));
    op(a, ST, M_D0);
    op(a, LD | B | IND, NET(LAY_IP4_PROTO));
    op(a, ST, M_PROTO);
    op(a, LD | H | IND, NET(LAY_IP4_FRAG));
    op(a, ST, M_HS); /* flags and fragment offset */
    op(a, LD | IMM, 0);
    op(a, ST, M_PORTS);
    op(a, LD | MEM, M_T);
    op(a, MISC | TAX, 0);
    op(a, LD | MEM, M_H);
    jif(a, JGE | X, 0, tot_ok);
    op(a, RET | K, 0);
    place(a, tot_ok);
    /* a fragment with an offset has no ports (the first one has them) */
    op(a, LD | MEM, M_HS);
    jif(a, JSET | K, LAY_IP4_OFFSET, v4_have);
    op(a, LD | MEM, M_NH); /* X = base + header length */
    op(a, ALU | ADD | X, 0);
    op(a, MISC | TAX, 0);
    emit_ports(a, v4_have);
    place(a, v4_have);
    emit_family(a, pf, npf, 4, decide);

    /* IPv6 */
    place(a, v6);
    int v6_have = label(a), v6_l4 = label(a), too_many = label(a);
    op(a, LD | B | IND, NET(0));
    op(a, ALU | RSH | K, 4);
    jifnot(a, JEQ | K, 6, ret0);
    for (uint32_t w = 0; w < 4; w++) {
        op(a, LD | W | IND, NET(LAY_IP6_SRC + 4 * w));
        op(a, ST, M_S0 + w);
        op(a, LD | W | IND, NET(LAY_IP6_DST + 4 * w));
        op(a, ST, M_D0 + w);
    }
    op(a, LD | IMM, 0);
    op(a, ST, M_PORTS);
    op(a, LD | B | IND, NET(LAY_IP6_NEXT));
    op(a, ST, M_NH);
    op(a, MISC | TXA, 0);
    op(a, ALU | ADD | K, LAY_IP6_HDR);
    op(a, MISC | TAX, 0); /* X: the header after the fixed one */
    for (int step = 0; step < LAY_V6EXT_MAX; step++) {
        int ext = label(a), nofrag = label(a), adv = label(a), frag8 = label(a);
        jif_ext(a, ext);
        ja(a, v6_l4);
        place(a, ext);
        jifnot(a, JEQ | K, LAY_IPP_FRAGMENT, nofrag);
        /* fragment: fixed length; one with an offset ends the walk, no ports */
        op(a, LD | H | IND, NET(LAY_V6FRAG_FO));
        jifnot(a, JSET | K, LAY_V6FRAG_NOT_ATOMIC, frag8); /* atomic: a whole datagram */
        op(a, ALU | RSH | K, 3);
        jif(a, JEQ | K, 0, frag8); /* the first fragment: walk on */
        op(a, LD | B | IND, NET(0));
        op(a, ST, M_PROTO);
        ja(a, v6_have);
        place(a, frag8);
        op(a, LD | IMM, lay_v6exts[LAY_V6EXT_FRAGMENT].fixed);
        ja(a, adv);
        place(a, nofrag);
        emit_ext_len(a, adv);
        place(a, adv);
        op(a, ST, M_T);
        op(a, LD | B | IND, NET(0));
        op(a, ST, M_NH);
        op(a, LD | MEM, M_T);
        op(a, ALU | ADD | X, 0);
        op(a, MISC | TAX, 0);
    }
    jif_ext(a, too_many);
    ja(a, v6_l4);
    place(a, too_many); /* dec_packet gives up: no protocol, no ports */
    op(a, LD | IMM, 0);
    op(a, ST, M_PROTO);
    ja(a, v6_have);
    place(a, v6_l4);
    op(a, LD | MEM, M_NH);
    op(a, ST, M_PROTO);
    emit_ports(a, v6_have);
    place(a, v6_have);
    emit_family(a, pf, npf, 6, decide);

    /* the decision, as shard_packet makes it */
    int hs = label(a), hd = label(a), both = label(a), eq = label(a), agt = label(a),
        addp = label(a), mod = label(a);
    place(a, decide);
    op(a, LD | MEM, M_FLAGS);
    jif(a, JEQ | K, 1, hs);
    jif(a, JEQ | K, 2, hd);
    jif(a, JEQ | K, 3, both);
    /* neither internal: a = hs ^ sport, b = hd ^ dport */
    op(a, LD | MEM, M_PORTS);
    op(a, ALU | RSH | K, 16);
    op(a, MISC | TAX, 0);
    op(a, LD | MEM, M_HS);
    op(a, ALU | XOR | X, 0);
    op(a, ST, M_T);
    op(a, LD | MEM, M_PORTS);
    op(a, ALU | AND | K, 0xffff);
    op(a, MISC | TAX, 0);
    op(a, LD | MEM, M_HD);
    op(a, ALU | XOR | X, 0);
    op(a, MISC | TAX, 0); /* X = b */
    op(a, LD | MEM, M_T); /* A = a */
    jif(a, JGT | X, 0, agt);
    op(a, ALU | MUL | K, PAIR_MUL); /* a <= b: a * 31 + b */
    op(a, ALU | ADD | X, 0);
    ja(a, addp);
    place(a, agt); /* b * 31 + a */
    op(a, MISC | TXA, 0);
    op(a, ALU | MUL | K, PAIR_MUL);
    op(a, ST, M_H);
    op(a, LD | MEM, M_T);
    op(a, MISC | TAX, 0);
    op(a, LD | MEM, M_H);
    op(a, ALU | ADD | X, 0);
    place(a, addp);
    op(a, ST, M_H);
    op(a, LD | MEM, M_PROTO);
    op(a, MISC | TAX, 0);
    op(a, LD | MEM, M_H);
    op(a, ALU | ADD | X, 0);
    emit_mix(a);
    ja(a, mod);
    /* both internal: the higher port's side, or the lower hash */
    place(a, both);
    op(a, LD | MEM, M_PORTS);
    op(a, ALU | RSH | K, 16);
    op(a, ST, M_T);
    op(a, LD | MEM, M_PORTS);
    op(a, ALU | AND | K, 0xffff);
    op(a, MISC | TAX, 0);
    op(a, LD | MEM, M_T);
    jif(a, JEQ | X, 0, eq);
    jif(a, JGT | X, 0, hs);
    ja(a, hd);
    place(a, eq);
    op(a, LD | MEM, M_HD);
    op(a, MISC | TAX, 0);
    op(a, LD | MEM, M_HS);
    jif(a, JGT | X, 0, hd);
    ja(a, hs);
    place(a, hs);
    op(a, LD | MEM, M_HS);
    ja(a, mod);
    place(a, hd);
    op(a, LD | MEM, M_HD);
    place(a, mod);
    op(a, ALU | MOD | K, n);
    op(a, RET | RA, 0);
    place(a, ret0);
    op(a, RET | K, 0);
}

int shard_bpf(const netset *home, uint32_t n, egret_bpf_insn *prog, size_t cap)
{
    if (!home || !prog || n == 0) return -1;
    size_t npf = netset_prefixes(home, NULL, 0);
    netset_prefix *pf = calloc(npf ? npf : 1, sizeof(*pf));
    if (!pf) return -1;
    netset_prefixes(home, pf, npf);
    bpfasm a = {.p = prog, .cap = cap};
    emit_program(&a, pf, npf, n);
    free(pf);
    for (size_t i = 0; !a.full && i < a.nfix; i++) {
        size_t to = a.at[a.fix[i].label];
        if (to == SIZE_MAX || to <= a.fix[i].insn) {
            a.full = true; /* not placed, or backwards: a bug, not a long program */
            break;
        }
        a.p[a.fix[i].insn].k = (uint32_t)(to - a.fix[i].insn - 1);
    }
    free(a.fix);
    free(a.at);
    return a.full ? -1 : (int)a.n;
}
