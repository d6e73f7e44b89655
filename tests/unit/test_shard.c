/*
 * test_shard.c -- unit tests for shard.c: the shard as a classic BPF
 * program (shard_bpf) agrees with the shard in C (shard_packet).
 *
 * A small cBPF interpreter runs the program the way Linux runs a
 * PACKET_FANOUT_CBPF program: it checks the program as bpf_check_classic
 * would, gives skb->protocol for SKF_AD_PROTOCOL, makes SKF_NET_OFF loads
 * relative to the network header and returns 0 when a load runs past the
 * packet.  The kernel's view of a frame (its ethertype and where the
 * network header is, a first VLAN tag taken out of the frame) is built
 * from the captured bytes as the kernel builds it on receive.  Then every
 * frame of the project's captures (and of ../shared/pcaps, or
 * $EGRET_SHARED_PCAPS, when present) and 30,000 generated ones (VLAN tags,
 * PPPoE, MPLS, IPv4 options and fragments, IPv6 extension header chains,
 * every internal/external mix, equal ports and addresses) go through both,
 * for several home nets and worker counts.
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

#include "decode.h"
#include "egret.h"
#include "egret_tools.h"
#include "netset.h"
#include "shard.h"

/* ==== a classic BPF interpreter (Linux semantics) ==== */

typedef struct kview {
    const uint8_t *pkt;
    uint32_t len;   /* captured bytes */
    uint32_t net;   /* network header offset */
    uint16_t proto; /* skb->protocol, host order */
} kview;

/* bpf_check_classic's checks that matter here: known opcodes, scratch
 * words in range, jumps inside the program, a return at the end. */
static bool bpf_valid(const egret_bpf_insn *p, int n)
{
    if (n <= 0 || n > EGRET_SHARD_BPF_MAX) return false;
    for (int i = 0; i < n; i++) {
        uint16_t c = p[i].code;
        switch (c & 0x07) {
        case 0x00: /* LD */
        case 0x01: /* LDX */
            if ((c & 0xe0) == 0x60 && p[i].k >= 16) return false;
            break;
        case 0x02: /* ST */
        case 0x03: /* STX */
            if (p[i].k >= 16) return false;
            break;
        case 0x04: /* ALU */
            if ((c & 0xf0) == 0x30 || (c & 0xf0) == 0x90)
                if ((c & 0x08) == 0 && p[i].k == 0) return false; /* division by 0 */
            break;
        case 0x05: /* JMP */
            if ((c & 0xf0) == 0x00) {
                if ((uint64_t)i + 1 + p[i].k >= (uint64_t)n) return false;
            } else if (i + 1 + p[i].jt >= n || i + 1 + p[i].jf >= n) {
                return false;
            }
            break;
        case 0x06: /* RET */
        case 0x07: /* MISC */
            break;
        }
    }
    return (p[n - 1].code & 0x07) == 0x06;
}

/* Loads 'size' bytes at 'off' (negative: Linux's special offsets). */
static bool load(const kview *v, int64_t off, int size, uint32_t *out)
{
    if (off == SHARD_SKF_AD_PROTOCOL && size == 4) {
        *out = v->proto;
        return true;
    }
    int64_t at;
    if (off >= SHARD_SKF_NET_OFF && off < 0)
        at = (int64_t)v->net + (off - SHARD_SKF_NET_OFF);
    else if (off >= 0)
        at = off; /* relative to skb->data: not used by the shard program */
    else
        return false;
    if (at < 0 || at + size > (int64_t)v->len) return false;
    uint32_t r = 0;
    for (int i = 0; i < size; i++) r = r << 8 | v->pkt[at + i];
    *out = r;
    return true;
}

static uint32_t bpf_run(const egret_bpf_insn *p, int n, const kview *v)
{
    uint32_t A = 0, X = 0, M[16] = {0};
    for (int pc = 0; pc < n; pc++) {
        const egret_bpf_insn *i = &p[pc];
        uint32_t k = i->k, src = (i->code & 0x08) ? X : k, t;
        int size = (i->code & 0x18) == 0x00 ? 4 : (i->code & 0x18) == 0x08 ? 2 : 1;
        switch (i->code & 0x07) {
        case 0x00: /* LD */
            switch (i->code & 0xe0) {
            case 0x00:
                A = k;
                break;
            case 0x20:
                if (!load(v, (int32_t)k, size, &A)) return 0;
                break;
            case 0x40:
                if (!load(v, (int64_t)(int32_t)k + X, size, &A)) return 0;
                break;
            case 0x60:
                A = M[k];
                break;
            default:
                fail_msg("pc %d: LD mode %#x", pc, i->code);
            }
            break;
        case 0x01: /* LDX */
            switch (i->code & 0xe0) {
            case 0x00:
                X = k;
                break;
            case 0x60:
                X = M[k];
                break;
            case 0xa0: /* MSH */
                if (!load(v, (int32_t)k, 1, &t)) return 0;
                X = (t & 0xf) << 2;
                break;
            default:
                fail_msg("pc %d: LDX mode %#x", pc, i->code);
            }
            break;
        case 0x02:
            M[k] = A;
            break;
        case 0x03:
            M[k] = X;
            break;
        case 0x04: /* ALU */
            switch (i->code & 0xf0) {
            case 0x00:
                A += src;
                break;
            case 0x10:
                A -= src;
                break;
            case 0x20:
                A *= src;
                break;
            case 0x30:
                if (!src) return 0;
                A /= src;
                break;
            case 0x40:
                A |= src;
                break;
            case 0x50:
                A &= src;
                break;
            case 0x60:
                A = src >= 32 ? 0 : A << src;
                break;
            case 0x70:
                A = src >= 32 ? 0 : A >> src;
                break;
            case 0x80:
                A = -A;
                break;
            case 0x90:
                if (!src) return 0;
                A %= src;
                break;
            case 0xa0:
                A ^= src;
                break;
            default:
                fail_msg("pc %d: ALU op %#x", pc, i->code);
            }
            break;
        case 0x05: /* JMP */
            switch (i->code & 0xf0) {
            case 0x00:
                pc += (int)k;
                break;
            case 0x10:
                pc += A == src ? i->jt : i->jf;
                break;
            case 0x20:
                pc += A > src ? i->jt : i->jf;
                break;
            case 0x30:
                pc += A >= src ? i->jt : i->jf;
                break;
            case 0x40:
                pc += (A & src) ? i->jt : i->jf;
                break;
            default:
                fail_msg("pc %d: JMP op %#x", pc, i->code);
            }
            break;
        case 0x06:
            return (i->code & 0x18) == 0x10 ? A : k;
        case 0x07: /* MISC */
            if (i->code & 0x80)
                A = X;
            else
                X = A;
            break;
        }
    }
    fail_msg("ran off the program's end");
    return 0;
}

/* The kernel's view of a captured frame: false for link types the fanout
 * tests do not model. */
static bool kernel_view(int link, const uint8_t *b, uint32_t len, kview *v)
{
    *v = (kview){b, len, 0, 0};
    if (link == DEC_LINK_ETHERNET) {
        if (len < 14) return false;
        v->proto = (uint16_t)(b[12] << 8 | b[13]);
        v->net = 14;
        if (v->proto == 0x8100 || v->proto == 0x88a8 || v->proto == 0x9100) {
            if (len < 18) return false; /* the kernel drops a short tagged frame */
            v->proto = (uint16_t)(b[16] << 8 | b[17]);
            v->net = 18;
        }
        return true;
    }
    if (link == DEC_LINK_RAW || link == 12 || link == 14) {
        if (len < 1) return false;
        v->proto = (b[0] >> 4) == 4 ? 0x0800 : (b[0] >> 4) == 6 ? 0x86dd : 0;
        return true;
    }
    if (link == DEC_LINK_SLL) {
        if (len < 16) return false;
        v->proto = (uint16_t)(b[14] << 8 | b[15]);
        v->net = 16;
        return true;
    }
    return false;
}

/* ==== comparison ==== */

static const char *const HOMES[] = {
    "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7", /* the default */
    "192.0.2.0/25,2001:db8:1::/48,2001:db8:2:3:4::/80,10.1.2.3",
    "0.0.0.0/0,::/0", /* everything internal */
    "203.0.113.7/32", /* no IPv6 */
    /* a long list: 48 prefixes, some of them the generated hosts' */
    "10.9.8.0/24,198.51.100.0/28,192.168.1.16/28,2001:db8:2:3:4::/80,fd00::/9,"
    "2001:db8::77/128,172.31.0.0/16,100.64.0.0/12,"
    "10.20.0.0/16,10.21.0.0/16,10.22.0.0/16,10.23.0.0/16,10.24.0.0/16,10.25.0.0/16,"
    "10.26.0.0/16,10.27.0.0/16,10.28.0.0/16,10.29.0.0/16,10.30.0.0/16,10.31.0.0/16,"
    "10.32.0.0/16,10.33.0.0/16,10.34.0.0/16,10.35.0.0/16,10.36.0.0/16,10.37.0.0/16,"
    "2001:db8:10::/48,2001:db8:11::/48,2001:db8:12::/48,2001:db8:13::/48,2001:db8:14::/48,"
    "2001:db8:15::/48,2001:db8:16::/48,2001:db8:17::/48,2001:db8:18::/48,2001:db8:19::/48,"
    "2001:db8:1a::/48,2001:db8:1b::/48,2001:db8:1c::/48,2001:db8:1d::/48,2001:db8:1e::/48,"
    "2001:db8:1f::/48,2001:db8:20::/48,2001:db8:21::/48,2001:db8:22::/48,2001:db8:23::/48,"
    "2001:db8:24::/48,2001:db8:25::/48",
};
#define NHOMES (sizeof(HOMES) / sizeof(HOMES[0]))
static const uint32_t NS[] = {2, 3, 4, 7};
#define NNS (sizeof(NS) / sizeof(NS[0]))

typedef struct progs {
    netset *home[NHOMES];
    egret_bpf_insn p[NHOMES][NNS][EGRET_SHARD_BPF_MAX];
    int n[NHOMES][NNS];
} progs;

static progs *progs_new(void)
{
    progs *ps = calloc(1, sizeof(*ps));
    assert_non_null(ps);
    for (size_t h = 0; h < NHOMES; h++) {
        ps->home[h] = netset_new();
        char err[128];
        assert_int_equal(netset_add_list(ps->home[h], HOMES[h], 1, err, sizeof(err)), 0);
        for (size_t j = 0; j < NNS; j++) {
            ps->n[h][j] = shard_bpf(ps->home[h], NS[j], ps->p[h][j], EGRET_SHARD_BPF_MAX);
            assert_true(ps->n[h][j] > 0);
            assert_true(bpf_valid(ps->p[h][j], ps->n[h][j]));
        }
    }
    return ps;
}

static void progs_free(progs *ps)
{
    for (size_t h = 0; h < NHOMES; h++) netset_free(ps->home[h]);
    free(ps);
}

typedef struct tally {
    unsigned frames, compared, malformed_diff, cases[4];
} tally;

/* Compares program and C for one frame under every home net and worker
 * count.  Frames dec_packet rejects (other than fragments) may differ;
 * they are counted. */
static void compare(progs *ps, int link, const uint8_t *b, uint32_t len, tally *t, const char *what)
{
    kview v;
    t->frames++;
    if (!kernel_view(link, b, len, &v)) return;
    dec_pkt d;
    bool ok = dec_packet(&d, link, b, len) ||
              (d.frag && (d.event == EV_IPV4_FRAG || d.event == EV_IPV6_FRAG));
    for (size_t h = 0; h < NHOMES; h++) {
        if (ok && h == 0 && d.ip_v) {
            bool si = netset_lookup(ps->home[h], d.ip_v, d.src, NULL);
            bool di = netset_lookup(ps->home[h], d.ip_v, d.dst, NULL);
            t->cases[si * 2 + di]++;
        }
        uint32_t want = shard_packet(ps->home[h], link, b, len);
        for (size_t j = 0; j < NNS; j++) {
            uint32_t got = bpf_run(ps->p[h][j], ps->n[h][j], &v);
            t->compared++;
            if (got == want % NS[j]) continue;
            if (!ok) {
                t->malformed_diff++;
                continue;
            }
            /* SHARD_DUMP=1: the frame in hex, to rebuild the case */
            for (uint32_t q = 0; q < len && getenv("SHARD_DUMP"); q++)
                fprintf(stderr, "%02x%s", b[q], q % 16 == 15 ? "\n" : " ");
            fail_msg("%s: frame %u (%u bytes), home %zu, n %u: program %u, C %u", what, t->frames,
                     len, h, NS[j], got, want % NS[j]);
        }
    }
}

/* ==== captures ==== */

static uint32_t rd32(const uint8_t *b, bool swap)
{
    uint32_t x = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return swap ? (x >> 24) | ((x >> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24) : x;
}

/* Every frame of a classic pcap file; false if it is not one. */
static bool pcap_compare(progs *ps, const char *path, tally *t)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return false;
    uint8_t gh[24], rh[16];
    static uint8_t buf[262144];
    bool ok = fread(gh, 1, 24, fp) == 24;
    uint32_t magic = ok ? rd32(gh, false) : 0;
    bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    if (!swap && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) ok = false;
    int link = ok ? (int)(rd32(gh + 20, swap) & 0x0fffffff) : 0;
    while (ok && fread(rh, 1, 16, fp) == 16) {
        uint32_t incl = rd32(rh + 8, swap);
        if (incl > sizeof buf || fread(buf, 1, incl, fp) != incl) break;
        compare(ps, link, buf, incl, t, path);
    }
    fclose(fp);
    return ok;
}

static unsigned dir_compare(progs *ps, const char *dir, tally *t)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    unsigned files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 5, ".pcap") != 0) continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        files += pcap_compare(ps, path, t);
    }
    closedir(d);
    return files;
}

/* The project's captures: $EGRET_PCAP_DIR, else pcaps/ in the source
 * tree; nDPI's: $EGRET_SHARED_PCAPS, else ../shared/pcaps next to it. */
static const char *env_or(const char *name, const char *dflt)
{
    const char *d = getenv(name);
    return d && *d ? d : dflt;
}

static void test_captures(void **state)
{
    (void)state;
    progs *ps = progs_new();
    tally t = {0};
    unsigned files = dir_compare(ps, env_or("EGRET_PCAP_DIR", EGRET_SRCDIR "/pcaps"), &t);
    unsigned own = t.frames, own_compared = t.compared;
    const char *shared_dir = env_or("EGRET_SHARED_PCAPS", EGRET_SRCDIR "/../shared/pcaps");
    unsigned shared = dir_compare(ps, shared_dir, &t);
    if (shared == 0)
        print_message("  NOTE: no captures in %s: nDPI's captures are NOT compared "
                      "(set EGRET_SHARED_PCAPS)\n",
                      shared_dir);
    print_message("  %u project captures (%u frames), %u shared captures (%u frames): %u "
                  "comparisons, %u differ on malformed frames; cases %u/%u/%u/%u\n",
                  files, own, shared, t.frames - own, t.compared, t.malformed_diff, t.cases[0],
                  t.cases[1], t.cases[2], t.cases[3]);
    assert_true(files >= 20);
    assert_true(own > 3000);
    assert_true(own_compared > own * NHOMES * NNS / 2); /* most frames are in the kernel's view */
    assert_true(t.malformed_diff * 100 < t.compared);   /* the odd broken frame, no more */
    progs_free(ps);
}

/* ==== generated frames ==== */

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t rnd(rng *r, uint32_t n)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s % n);
}

typedef struct fb {
    uint8_t b[2048];
    size_t n;
} fb;

static void p8(fb *f, uint32_t v)
{
    f->b[f->n++] = (uint8_t)v;
}

static void p16(fb *f, uint32_t v)
{
    p8(f, v >> 8);
    p8(f, v);
}

static void pn(fb *f, const uint8_t *s, size_t n)
{
    memcpy(f->b + f->n, s, n);
    f->n += n;
}

/* Addresses: a few of each kind, so hosts repeat and both sides can be
 * equal. */
static void pick4(rng *r, uint8_t a[4])
{
    static const uint8_t pool[][4] = {{10, 1, 2, 3},    {10, 9, 8, 7},    {192, 168, 1, 20},
                                      {192, 0, 2, 5},   {192, 0, 2, 200}, {198, 51, 100, 9},
                                      {203, 0, 113, 7}, {100, 64, 0, 1},  {172, 31, 255, 255}};
    memcpy(a, pool[rnd(r, sizeof(pool) / sizeof(pool[0]))], 4);
}

static void pick6(rng *r, uint8_t a[16])
{
    static const char *const pool[] = {
        "fd00::1",           "fc12:3456::9", "2001:db8:1::5", "2001:db8:2:3:4::1",
        "2001:db8:2:3:5::1", "2001:db8::77", "::1",           "fe80::1"};
    const char *s = pool[rnd(r, sizeof(pool) / sizeof(pool[0]))];
    netset *tmp = netset_new(); /* parse through netset: no inet_pton include games */
    netset_prefix pf;
    assert_int_equal(netset_add(tmp, s, 1, NULL, 0), 0);
    assert_int_equal(netset_prefixes(tmp, &pf, 1), 1);
    memcpy(a, pf.addr, 16);
    netset_free(tmp);
}

static uint16_t pick_port(rng *r)
{
    static const uint16_t pool[] = {53, 443, 80, 1024, 40000, 65535, 0, 443};
    return rnd(r, 3) ? pool[rnd(r, 8)] : (uint16_t)rnd(r, 65536);
}

/* The transport header and a little payload. */
static void put_l4(rng *r, fb *f, uint8_t proto)
{
    size_t pay = rnd(r, 40);
    if (proto == 6) {
        p16(f, pick_port(r));
        p16(f, pick_port(r));
        for (int i = 0; i < 8; i++) p8(f, rnd(r, 256));
        p8(f, 0x50);
        p8(f, 0x18);
        p16(f, 1024);
        p16(f, 0);
        p16(f, 0);
    } else if (proto == 17) {
        p16(f, pick_port(r));
        p16(f, pick_port(r));
        p16(f, 8 + pay);
        p16(f, 0);
    } else if (proto == 132) {
        p16(f, pick_port(r));
        p16(f, pick_port(r));
        for (int i = 0; i < 8; i++) p8(f, rnd(r, 256));
    } else {
        p8(f, 8);
        p8(f, 0);
        p16(f, 0);
        p16(f, rnd(r, 65536));
        p16(f, 1);
    }
    for (size_t i = 0; i < pay; i++) p8(f, rnd(r, 256));
}

static uint8_t pick_proto(rng *r)
{
    static const uint8_t pool[] = {6, 17, 6, 17, 1, 58, 132, 47, 50};
    return pool[rnd(r, sizeof(pool))];
}

static void put_ipv4(rng *r, fb *f)
{
    size_t at = f->n;
    uint32_t opts = rnd(r, 4) == 0 ? rnd(r, 3) * 4 : 0;
    uint8_t proto = pick_proto(r);
    uint32_t frag = 0;
    switch (rnd(r, 8)) {
    case 0:
        frag = 0x2000;
        break; /* first fragment */
    case 1:
        frag = 0x2000 | (1 + rnd(r, 0x1fff));
        break; /* middle */
    case 2:
        frag = 1 + rnd(r, 0x1fff);
        break; /* last */
    case 3:
        frag = 0x4000;
        break; /* don't fragment */
    }
    p8(f, 0x40 | (5 + opts / 4));
    p8(f, 0);
    p16(f, 0); /* total length, below */
    p16(f, rnd(r, 65536));
    p16(f, frag);
    p8(f, 64);
    p8(f, proto);
    p16(f, 0);
    uint8_t a[4];
    pick4(r, a);
    pn(f, a, 4);
    if (rnd(r, 8)) pick4(r, a); /* sometimes both sides are one host */
    pn(f, a, 4);
    for (uint32_t i = 0; i < opts; i++) p8(f, 1); /* NOP options */
    put_l4(r, f, proto);
    size_t tot = f->n - at;
    f->b[at + 2] = (uint8_t)(tot >> 8);
    f->b[at + 3] = (uint8_t)tot;
}

static void put_ipv6(rng *r, fb *f)
{
    size_t at = f->n;
    uint8_t proto = pick_proto(r);
    unsigned next_at;
    p8(f, 0x60);
    p8(f, 0);
    p16(f, 0);
    p16(f, 0); /* payload length, below */
    next_at = (unsigned)f->n;
    p8(f, proto);
    p8(f, 64);
    uint8_t a[16];
    pick6(r, a);
    pn(f, a, 16);
    if (rnd(r, 8)) pick6(r, a);
    pn(f, a, 16);
    /* an extension header chain: none mostly, up to 9 (one too many) */
    unsigned n = rnd(r, 3) ? 0 : rnd(r, 10);
    for (unsigned i = 0; i < n; i++) {
        static const uint8_t kinds[] = {0, 43, 60, 44, 51};
        uint8_t kind = kinds[rnd(r, 5)];
        f->b[next_at] = kind;
        next_at = (unsigned)f->n;
        p8(f, proto);
        if (kind == 44) {
            p8(f, 0);
            uint32_t fo;
            switch (rnd(r, 4)) {
            case 0:
                fo = 0;
                break; /* atomic */
            case 1:
                fo = 1;
                break; /* first of several */
            case 2:
                fo = (1 + rnd(r, 100)) << 3 | 1;
                break; /* middle */
            default:
                fo = (1 + rnd(r, 100)) << 3;
                break; /* last */
            }
            p16(f, fo);
            p16(f, 0);
            p16(f, rnd(r, 65536));
        } else if (kind == 51) {
            p8(f, 4); /* (4 + 2) * 4 = 24 bytes */
            for (int j = 0; j < 22; j++) p8(f, 0);
        } else {
            uint32_t len = rnd(r, 3);
            p8(f, len);
            for (uint32_t j = 0; j < 6 + 8 * len; j++) p8(f, j == 0 ? 1 : 0); /* PadN */
        }
    }
    put_l4(r, f, proto);
    size_t plen = f->n - at - 40;
    f->b[at + 4] = (uint8_t)(plen >> 8);
    f->b[at + 5] = (uint8_t)plen;
}

/* An Ethernet frame (0, 1 or 2 VLAN tags) or a raw IP packet. */
static int gen_frame(rng *r, fb *f)
{
    f->n = 0;
    bool raw = rnd(r, 6) == 0;
    bool v6 = rnd(r, 2);
    if (!raw) {
        for (int i = 0; i < 12; i++) p8(f, rnd(r, 256));
        unsigned tags = rnd(r, 4) == 0 ? 1 + rnd(r, 2) : 0;
        static const uint16_t tpids[] = {0x8100, 0x88a8, 0x9100};
        for (unsigned i = 0; i < tags; i++) {
            p16(f, tpids[rnd(r, 3)]);
            p16(f, rnd(r, 4096));
        }
        switch (rnd(r, 8)) {
        case 0: /* PPPoE session */
            p16(f, 0x8864);
            p8(f, 0x11);
            p8(f, 0);
            p16(f, rnd(r, 65536));
            p16(f, 0); /* length: not checked */
            p16(f, v6 ? 0x0057 : 0x0021);
            break;
        case 1: { /* an MPLS label stack */
            p16(f, rnd(r, 2) ? 0x8847 : 0x8848);
            unsigned labels = 1 + rnd(r, 3);
            for (unsigned i = 0; i < labels; i++) {
                p16(f, rnd(r, 65536));
                p8(f, i + 1 == labels ? 0x01 : 0x00);
                p8(f, 64);
            }
            break;
        }
        default:
            p16(f, v6 ? 0x86dd : 0x0800);
        }
    }
    if (v6)
        put_ipv6(r, f);
    else
        put_ipv4(r, f);
    return raw ? DEC_LINK_RAW : DEC_LINK_ETHERNET;
}

static void test_generated(void **state)
{
    (void)state;
    progs *ps = progs_new();
    tally t = {0};
    rng r = {0x243f6a8885a308d3ull};
    fb f;
    unsigned frag = 0, ext = 0;
    for (int i = 0; i < 30000; i++) {
        int link = gen_frame(&r, &f);
        dec_pkt d;
        bool ok = dec_packet(&d, link, f.b, (uint32_t)f.n);
        if (!ok && !d.frag && d.event != EV_IPV6_EXTHDR_TOO_MANY)
            fail_msg("generated frame %d does not decode: %s", i, dec_event_name(d.event));
        frag += d.frag;
        ext += d.ip_v == 6 && d.proto != d.l3[6];
        compare(ps, link, f.b, (uint32_t)f.n, &t, "generated");
    }
    print_message("  30000 generated frames: %u comparisons, %u fragments, %u IPv6 with "
                  "extension headers; cases %u/%u/%u/%u\n",
                  t.compared, frag, ext, t.cases[0], t.cases[1], t.cases[2], t.cases[3]);
    assert_int_equal(t.malformed_diff, 0);
    for (int c = 0; c < 4; c++) assert_true(t.cases[c] > 1000); /* every internal/external mix */
    assert_true(frag > 2000);
    assert_true(ext > 1000);
    progs_free(ps);
}

/* Truncated frames: the program may only differ where the C shard sees a
 * malformed frame, and never crashes the interpreter. */
static void test_truncated(void **state)
{
    (void)state;
    progs *ps = progs_new();
    tally t = {0};
    rng r = {0x13198a2e03707344ull};
    fb f;
    for (int i = 0; i < 3000; i++) {
        int link = gen_frame(&r, &f);
        compare(ps, link, f.b, rnd(&r, (uint32_t)f.n + 1), &t, "truncated");
    }
    print_message("  3000 truncated frames: %u comparisons, %u differ\n", t.compared,
                  t.malformed_diff);
    assert_int_equal(t.frames, 3000);
    /* frames cut inside the link header are not in the kernel's view; most
     * are, and each is compared under every home net and worker count */
    assert_true(t.compared > t.frames / 2 * NHOMES * NNS);
    assert_int_equal(t.compared % (NHOMES * NNS), 0);
    progs_free(ps);
}

static void test_limits(void **state)
{
    (void)state;
    netset *home = netset_new();
    assert_int_equal(netset_add_list(home, "10.0.0.0/8", 1, NULL, 0), 0);
    egret_bpf_insn p[EGRET_SHARD_BPF_MAX];
    int n = shard_bpf(home, 2, p, EGRET_SHARD_BPF_MAX);
    assert_true(n > 100);
    print_message("  program: %d instructions for one IPv4 prefix\n", n);
    assert_int_equal(shard_bpf(home, 0, p, EGRET_SHARD_BPF_MAX), -1); /* no workers */
    assert_int_equal(shard_bpf(home, 2, p, (size_t)n - 1), -1);       /* one short */
    assert_int_equal(shard_bpf(home, 2, p, (size_t)n), n);
    /* how many prefixes fit in the kernel's 4,096 instructions */
    char item[64];
    int fit4 = 0, fit6 = 0;
    for (int i = 1; shard_bpf(home, 2, p, EGRET_SHARD_BPF_MAX) > 0; i++, fit4++) {
        snprintf(item, sizeof(item), "10.%d.%d.0/24", i / 256, i % 256);
        assert_int_equal(netset_add(home, item, 1, NULL, 0), 0);
    }
    netset_free(home);
    home = netset_new();
    for (int i = 1; shard_bpf(home, 2, p, EGRET_SHARD_BPF_MAX) > 0; i++, fit6++) {
        snprintf(item, sizeof(item), "2001:db8:%x::/48", i);
        assert_int_equal(netset_add(home, item, 1, NULL, 0), 0);
    }
    print_message("  the kernel's limit: %d IPv4 /24 or %d IPv6 /48 prefixes\n", fit4, fit6);
    assert_true(fit4 > 300);
    assert_true(fit6 > 200);
    netset_free(home);
}

/* The public call answers for the engine's home net. */
static void test_engine_api(void **state)
{
    (void)state;
    egret_config cfg;
    egret_config_init(&cfg);
    cfg.home_net = "192.0.2.0/24";
    cfg.no_geo = 1;
    cfg.no_rules = 1;
    egret_engine *e = NULL;
    char err[EGRET_ERRBUF_SIZE];
    assert_int_equal(egret_engine_new(&cfg, &e, err), EGRET_OK);
    egret_bpf_insn a[EGRET_SHARD_BPF_MAX], b[EGRET_SHARD_BPF_MAX];
    netset *home = netset_new();
    assert_int_equal(netset_add_list(home, "192.0.2.0/24", 1, NULL, 0), 0);
    int n = egret_engine_shard_bpf(e, 3, a, EGRET_SHARD_BPF_MAX);
    assert_true(n > 0); /* a program, not two failures that agree */
    assert_int_equal(n, shard_bpf(home, 3, b, EGRET_SHARD_BPF_MAX));
    assert_memory_equal(a, b, (size_t)n * sizeof(a[0]));
    assert_int_equal(egret_engine_shard_bpf(NULL, 3, a, EGRET_SHARD_BPF_MAX), -1);
    netset_free(home);
    egret_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),     cmocka_unit_test(test_generated),
        cmocka_unit_test(test_truncated),  cmocka_unit_test(test_captures),
        cmocka_unit_test(test_engine_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
