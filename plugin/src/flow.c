/*
 * flow.c -- bidirectional flow table: hashing, orientation, per-direction
 * accounting, TCP state, idle timeouts, eviction and slab memory.
 *
 * Owns every flow and its ext area.  Layout of one flow slot:
 *
 *   [ struct flow | pad to 16 | ext_size bytes | pad to 16 ]
 *
 * Slots come from slabs of up to FLOW_SLAB flows, never more than
 * max_flows in total; ended flows go to a free list.  Lookup is a chained
 * hash over a power-of-two bucket array.  Each flow also sits on one LRU
 * list per timeout class (FLOW_TC_*), ordered by the table clock at its
 * last packet, so expiry and eviction only look at list heads.
 *
 * Sequence accounting (TCP, per direction).  seq_bytes exists so that
 * capture loss cannot hide an upload; it must never invent one.  seq_high
 * is the frontier, the highest payload sequence end seen.  A payload
 * segment's bytes beyond the frontier are seen and credited.  When it
 * starts beyond the frontier, the bytes skipped are credited at once when
 * the peer allowed them to be sent: the segment ends within the peer's
 * highest ACK plus the window it advertised with it (scaled when both SYNs
 * were seen, else taken unscaled, a lower bound).  Otherwise they become a
 * hole: credited when a later segment fills them (reordering,
 * retransmission of what the capture lost) or, since the receiver cannot
 * acknowledge what was never sent, when the peer's ACK covers them.  A
 * hole larger than the window bound is implausible (a jumped ISN, a bogus
 * far-ahead segment): it is counted (seq_implausible) and only filling
 * credits it.  The window bound is the largest window the peer advertised,
 * scaled, but at least FLOW_SEQ_FIXED_BOUND; it is FLOW_SEQ_FIXED_BOUND
 * when the scale is unknown (pickup midstream).  When the peer has acknowledged nothing yet (one
 * direction captured), a hole within the bound is credited at once.  At most FLOW_SEQ_HOLES holes
 * are kept; when full, the newest merges into the highest (seq_holes_merged), which then only an
 * ACK credits.  A bare FIN is a zero-length segment at the stream's end: the bytes before it that
 * the capture lost (tail loss) are a jump like any other, and the ACK of
 * the FIN credits no hole beyond it.  A RST, whose sequence number may be
 * anything, credits nothing.  Segments before the first one seen
 * (reordering at pickup) are not counted.  Serial arithmetic throughout,
 * so a flow wrapping 2^32 is counted exactly.
 *
 * Port reuse (as Suricata's stream engine): a SYN (without ACK) on a TCP
 * flow that has closed (FIN or RST seen), or whose sequence number lies
 * outside the old connection's span by more than the window bound, is a
 * new connection.  The old flow ends ("tcp_reuse") and a new one starts
 * with fresh counters and orientation.  A retransmitted SYN (the same
 * ISN) is not a reuse.
 */
#include "flow.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_FLOWS 65536u
#define MIN_BUCKETS       1024u
#define MAX_BUCKETS       (1u << 20)
#define ID_MASK           ((UINT64_C(1) << 53) - 1)
#define HASH_SEED         UINT64_C(0x9e3779b97f4a7c15)
#define SLOT_ALIGN        16u

struct flow_table {
    flow_config cfg;
    flow **buckets;
    uint32_t mask;
    uint32_t max_mask; /* the table grows up to this (max_flows / 2 buckets) */
    flow *head[FLOW_TC__COUNT], *tail[FLOW_TC__COUNT];
    flow *free_list; /* chained through hnext */
    unsigned char **slabs;
    size_t nslabs, slabs_cap;
    size_t ext_off, stride;
    uint64_t capacity; /* slots allocated in slabs */
    uint64_t now;      /* highest packet time seen (monotonic LRU clock) */
    flow_counters c;
};

/* ---- key and hash ---------------------------------------------------- */

/* Normalised key: endpoint 'lo' sorts before 'hi' (address, then port). */
typedef struct flow_key {
    uint8_t ip_v, proto;
    uint32_t vlan; /* outer | inner << 16 */
    uint8_t lo[16], hi[16];
    uint16_t plo, phi;
} flow_key;

bool flow_has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132; /* TCP, UDP, SCTP */
}

static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    return k;
}

static uint64_t load_le64(const uint8_t *b)
{
    uint64_t v;
    memcpy(&v, b, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Endian-independent: ids must be the same on every machine. */
static uint64_t key_hash(const flow_key *k)
{
    uint64_t h = HASH_SEED;
    uint64_t w0 = (uint64_t)k->ip_v | (uint64_t)k->proto << 8 |
                  (uint64_t)((k->vlan ^ (k->vlan >> 16)) & 0xffff) << 16 | (uint64_t)k->plo << 32 |
                  (uint64_t)k->phi << 48;
    h = fmix64(h ^ w0);
    for (int i = 0; i < 16; i += 8) {
        h = fmix64(h ^ load_le64(k->lo + i)) + UINT64_C(0x632be59bd9b4e019);
        h = fmix64(h ^ load_le64(k->hi + i)) + UINT64_C(0x8cb92ba72f3d8dd7);
    }
    return h;
}

static void make_key(flow_key *k, const dec_pkt *p)
{
    size_t alen = p->ip_v == 4 ? 4 : 16;
    uint16_t sp = flow_has_ports(p->proto) ? p->sport : 0;
    uint16_t dp = flow_has_ports(p->proto) ? p->dport : 0;
    memset(k, 0, sizeof(*k));
    k->ip_v = p->ip_v;
    k->proto = p->proto;
    k->vlan = (p->vlan_n > 0 ? p->vlan[0] : 0u) | (p->vlan_n > 1 ? (uint32_t)p->vlan[1] << 16 : 0u);
    int c = alen == 4 ? memcmp(p->src, p->dst, 4) : memcmp(p->src, p->dst, 16);
    if (c < 0 || (c == 0 && sp <= dp)) {
        memcpy(k->lo, p->src, alen);
        memcpy(k->hi, p->dst, alen);
        k->plo = sp;
        k->phi = dp;
    } else {
        memcpy(k->lo, p->dst, alen);
        memcpy(k->hi, p->src, alen);
        k->plo = dp;
        k->phi = sp;
    }
}

/* Fixed-size compares, so the compiler inlines them (this is per packet). */
static inline bool addr_eq(const uint8_t *a, const uint8_t *b, bool v4)
{
    return v4 ? memcmp(a, b, 4) == 0 : memcmp(a, b, 16) == 0;
}

/* Returns FLOW_TOSERVER / FLOW_TOCLIENT when p belongs to f, else -1. */
static int flow_match(const flow *f, const dec_pkt *p, uint32_t vlan)
{
    if (f->ip_v != p->ip_v || f->proto != p->proto || f->vlan != vlan) return -1;
    bool v4 = p->ip_v == 4;
    bool ports = flow_has_ports(p->proto);
    if (addr_eq(f->cli, p->src, v4) && addr_eq(f->srv, p->dst, v4) &&
        (!ports || (f->cport == p->sport && f->sport == p->dport)))
        return FLOW_TOSERVER;
    if (addr_eq(f->cli, p->dst, v4) && addr_eq(f->srv, p->src, v4) &&
        (!ports || (f->cport == p->dport && f->sport == p->sport)))
        return FLOW_TOCLIENT;
    return -1;
}

/* ---- LRU lists ------------------------------------------------------- */

static void lru_unlink(flow_table *t, flow *f)
{
    if (f->lprev)
        f->lprev->lnext = f->lnext;
    else
        t->head[f->tclass] = f->lnext;
    if (f->lnext)
        f->lnext->lprev = f->lprev;
    else
        t->tail[f->tclass] = f->lprev;
    f->lprev = f->lnext = NULL;
}

static void lru_append(flow_table *t, flow *f)
{
    f->lnext = NULL;
    f->lprev = t->tail[f->tclass];
    if (f->lprev)
        f->lprev->lnext = f;
    else
        t->head[f->tclass] = f;
    t->tail[f->tclass] = f;
}

/* ---- slots ----------------------------------------------------------- */

static size_t round_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

static bool grow_slab(flow_table *t)
{
    uint64_t left = t->cfg.max_flows - t->capacity;
    size_t n = left < FLOW_SLAB ? (size_t)left : FLOW_SLAB;
    if (n == 0) return false;
    if (t->nslabs == t->slabs_cap) {
        size_t cap = t->slabs_cap ? t->slabs_cap * 2 : 16;
        unsigned char **ns = realloc(t->slabs, cap * sizeof(*ns));
        if (!ns) return false;
        t->slabs = ns;
        t->slabs_cap = cap;
    }
    unsigned char *slab = aligned_alloc(SLOT_ALIGN, n * t->stride);
    if (!slab) return false;
    t->slabs[t->nslabs++] = slab;
    t->capacity += n;
    /* push in reverse so slots are handed out in address order */
    for (size_t i = n; i-- > 0;) {
        flow *f = (flow *)(void *)(slab + i * t->stride);
        f->hnext = t->free_list;
        t->free_list = f;
    }
    return true;
}

static flow *slot_get(flow_table *t)
{
    if (!t->free_list && !grow_slab(t)) return NULL;
    flow *f = t->free_list;
    t->free_list = f->hnext;
    memset(f, 0, t->stride);
    return f;
}

/* ---- ending flows ---------------------------------------------------- */

static void hash_unlink(flow_table *t, flow *f)
{
    flow **pp = &t->buckets[f->hash & t->mask];
    while (*pp && *pp != f) pp = &(*pp)->hnext;
    if (*pp) *pp = f->hnext;
    f->hnext = NULL;
}

/* Unlinks f, calls on_end once, then returns the slot to the free list. */
static void flow_end(flow_table *t, flow *f, flow_end_reason why)
{
    hash_unlink(t, f);
    lru_unlink(t, f);
    t->c.active--;
    if (why == FLOW_END_TIMEOUT) t->c.timed_out++;
    if (why == FLOW_END_EVICTED) t->c.evicted++;
    for (int d = 0; d < 2; d++)
        for (unsigned i = 0; i < f->dir[d].n_holes; i++)
            if (f->dir[d].hole[i].ack_credit) t->c.seq_unconfirmed++;
    if (t->cfg.on_end) t->cfg.on_end(f, why, t->cfg.ud);
    f->hnext = t->free_list;
    t->free_list = f;
}

/* The class head with the oldest LRU time (ties: lower class), or NULL. */
static flow *oldest_head(const flow_table *t)
{
    flow *best = NULL;
    for (int c = 0; c < FLOW_TC__COUNT; c++) {
        flow *h = t->head[c];
        if (h && (!best || h->lru_ts < best->lru_ts)) best = h;
    }
    return best;
}

void flow_expire(flow_table *t, uint64_t ts)
{
    if (!t) return;
    /* Expire in deadline order across the class lists, so the sequence of
     * on_end calls follows time, not class numbering. */
    for (;;) {
        flow *best = NULL;
        uint64_t best_dl = 0;
        for (int c = 0; c < FLOW_TC__COUNT; c++) {
            flow *h = t->head[c];
            if (!h) continue;
            uint64_t dl = h->lru_ts + t->cfg.timeout_us[c];
            if (dl < ts && (!best || dl < best_dl)) {
                best = h;
                best_dl = dl;
            }
        }
        if (!best) return;
        flow_end(t, best, FLOW_END_TIMEOUT);
    }
}

static int cmp_flush(const void *a, const void *b)
{
    const flow *x = *(const flow *const *)a, *y = *(const flow *const *)b;
    if (x->first_ts != y->first_ts) return x->first_ts < y->first_ts ? -1 : 1;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return 0;
}

void flow_flush(flow_table *t)
{
    if (!t || t->c.active == 0) return;
    size_t n = (size_t)t->c.active, k = 0;
    flow **v = malloc(n * sizeof(*v));
    if (!v) {
        /* Out of memory: still deterministic, in class then LRU order. */
        for (int c = 0; c < FLOW_TC__COUNT; c++)
            while (t->head[c]) flow_end(t, t->head[c], FLOW_END_SHUTDOWN);
        return;
    }
    for (int c = 0; c < FLOW_TC__COUNT; c++)
        for (flow *f = t->head[c]; f; f = f->lnext) v[k++] = f;
    qsort(v, k, sizeof(*v), cmp_flush);
    for (size_t i = 0; i < k; i++) flow_end(t, v[i], FLOW_END_SHUTDOWN);
    free(v);
}

/* ---- table lifetime -------------------------------------------------- */

flow_table *flow_table_new(const flow_config *cfg)
{
    static const uint32_t def_timeout_s[FLOW_TC__COUNT] = {600, 60, 300, 300};
    flow_table *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    if (cfg) t->cfg = *cfg;
    if (t->cfg.max_flows == 0) t->cfg.max_flows = DEFAULT_MAX_FLOWS;
    for (int c = 0; c < FLOW_TC__COUNT; c++)
        if (t->cfg.timeout_us[c] == 0) t->cfg.timeout_us[c] = (uint64_t)def_timeout_s[c] * 1000000u;
    /* Buckets start at MIN_BUCKETS and double as flows arrive (grow_buckets),
     * up to max_flows / 2: memory follows the flows seen, not the cap. */
    uint64_t want = t->cfg.max_flows / 2;
    uint32_t max_nb = MIN_BUCKETS;
    while (max_nb < want && max_nb < MAX_BUCKETS) max_nb <<= 1;
    t->max_mask = max_nb - 1;
    uint32_t nb = MIN_BUCKETS;
    t->mask = nb - 1;
    /* lookups read buckets before inserts write them: see mem.h */
    t->buckets = mem_zalloc(nb, sizeof(*t->buckets));
    t->ext_off = round_up(sizeof(flow), SLOT_ALIGN);
    t->stride = round_up(t->ext_off + t->cfg.ext_size, SLOT_ALIGN);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    return t;
}

void flow_table_free(flow_table *t)
{
    if (!t) return;
    flow_flush(t);
    for (size_t i = 0; i < t->nslabs; i++) free(t->slabs[i]);
    free(t->slabs);
    free(t->buckets);
    free(t);
}

/* Doubles the bucket array once flows outnumber buckets (until the
 * max_flows / 2 of a fixed table).  On allocation failure the chains just
 * get longer. */
static void grow_buckets(flow_table *t)
{
    uint32_t nb = (t->mask + 1) * 2;
    flow **nbk = mem_zalloc(nb, sizeof(*nbk));
    if (!nbk) return;
    for (uint32_t i = 0; i <= t->mask; i++) {
        flow *f = t->buckets[i];
        while (f) {
            flow *next = f->hnext;
            flow **b = &nbk[f->hash & (nb - 1)];
            f->hnext = *b;
            *b = f;
            f = next;
        }
    }
    free(t->buckets);
    t->buckets = nbk;
    t->mask = nb - 1;
    t->c.bucket_grows++;
}

/* ---- per-packet ------------------------------------------------------ */

static flow *flow_create(flow_table *t, const dec_pkt *p, uint64_t ts, uint64_t h, uint32_t vlan)
{
    flow *f = NULL;
    if (t->c.active >= t->cfg.max_flows) {
        t->c.memcap_hits++;
        flow_end(t, oldest_head(t), FLOW_END_EVICTED);
    }
    f = slot_get(t);
    if (!f && t->c.active > 0) {
        /* slab allocation failed below the cap: recycle the oldest flow */
        t->c.memcap_hits++;
        flow_end(t, oldest_head(t), FLOW_END_EVICTED);
        f = slot_get(t);
    }
    if (!f) return NULL;

    size_t alen = p->ip_v == 4 ? 4 : 16;
    f->ip_v = p->ip_v;
    f->proto = p->proto;
    f->vlan = vlan;
    f->vlan_n = p->vlan_n;
    /* Orientation: a lone SYN+ACK means we missed the SYN, and its sender is
     * the server.  Otherwise the sender of the first packet is the client. */
    bool swap = p->proto == 6 && (p->tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK);
    memcpy(f->cli, swap ? p->dst : p->src, alen);
    memcpy(f->srv, swap ? p->src : p->dst, alen);
    f->cport = swap ? p->dport : p->sport;
    f->sport = swap ? p->sport : p->dport;
    f->first_ts = f->last_ts = ts;
    f->last_data_dir = 0xff;
    f->state = FLOW_STATE_NEW;
    f->tclass = p->proto == 6 ? FLOW_TC_TCP : p->proto == 17 ? FLOW_TC_UDP : FLOW_TC_OTHER;
    f->hash = (uint32_t)h;
    uint64_t id = fmix64(h ^ fmix64(ts + HASH_SEED)) & ID_MASK;
    f->id = id ? id : 1;

    if (t->c.active >= (uint64_t)t->mask + 1 && t->mask < t->max_mask) grow_buckets(t);
    flow **b = &t->buckets[f->hash & t->mask];
    f->hnext = *b;
    *b = f;
    f->lru_ts = t->now;
    lru_append(t, f);
    t->c.created++;
    t->c.active++;
    return f;
}

static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

/* The window scale shift of side d's windows: its SYN's option, once both
 * SYNs carried one (RFC 7323 2.2); 0 otherwise (unknown: taken unscaled). */
static unsigned win_shift(const flow *f, const flow_dir *d)
{
    const flow_dir *a = &f->dir[0], *b = &f->dir[1];
    return a->syn && b->syn && a->wscale != DEC_WSCALE_NONE && b->wscale != DEC_WSCALE_NONE
               ? d->wscale
               : 0;
}

/* The largest jump of 'd's sequence numbers that the peer's advertised
 * window explains.  Windows are kept as sent and scaled here, off the
 * per-packet path. */
static uint32_t seq_bound(const flow *f, int d)
{
    const flow_dir *peer = &f->dir[!d];
    bool scaled = f->dir[0].syn && f->dir[1].syn;
    if (!scaled) return FLOW_SEQ_FIXED_BOUND;
    uint64_t w = (uint64_t)peer->win_max << win_shift(f, peer);
    if (w < peer->syn_win) w = peer->syn_win; /* a SYN's window is never scaled */
    return w > FLOW_SEQ_FIXED_BOUND ? (uint32_t)(w > UINT32_MAX ? UINT32_MAX : w)
                                    : FLOW_SEQ_FIXED_BOUND;
}

static void hole_remove(flow_dir *d, unsigned i)
{
    d->hole[i] = d->hole[--d->n_holes];
}

static void hole_add(flow_table *t, flow_dir *d, uint32_t lo, uint32_t hi, bool ack_credit)
{
    if (d->n_holes < FLOW_SEQ_HOLES) {
        d->hole[d->n_holes++] = (flow_seq_hole){lo, hi, 0, ack_credit};
        return;
    }
    /* Full (heavy loss before the peer's ACKs arrive): the highest hole
     * absorbs the new one.  The bytes between them were seen and credited
     * already; 'seen' remembers how many, so that an ACK credits only the
     * missing ones.  Filling no longer credits a merged hole: which of its
     * bytes a segment repeats is not known any more. */
    unsigned top = 0;
    for (unsigned i = 1; i < d->n_holes; i++)
        if (seq_diff(d->hole[i].hi, d->hole[top].hi) > 0) top = i;
    flow_seq_hole *h = &d->hole[top];
    h->seen += (uint32_t)(lo - h->hi);
    h->hi = hi;
    h->ack_credit = h->ack_credit && ack_credit;
    t->c.seq_holes_merged++;
}

/* Credits the part of [s, e) that lies in holes (bytes seen at last);
 * true if any did. */
static bool seq_fill(flow_table *t, flow *f, int dn, uint32_t s, uint32_t e)
{
    flow_dir *d = &f->dir[dn];
    bool any = false;
    for (unsigned i = 0; i < d->n_holes;) {
        flow_seq_hole *h = &d->hole[i];
        uint32_t lo = seq_diff(s, h->lo) > 0 ? s : h->lo;
        uint32_t hi = seq_diff(e, h->hi) < 0 ? e : h->hi;
        if (seq_diff(hi, lo) <= 0 || h->seen) {
            i++;
            continue;
        }
        any = true;
        d->seq_bytes += (uint32_t)(hi - lo);
        if (lo == h->lo && hi == h->hi) {
            hole_remove(d, i);
            continue;
        }
        if (lo == h->lo) {
            h->lo = hi;
        } else if (hi == h->hi) {
            h->hi = lo;
        } else {
            /* filled in the middle: two holes; the left one is a gap of
             * its own, plausible if within the bound */
            flow_seq_hole right = {hi, h->hi, 0, h->ack_credit};
            h->hi = lo;
            h->ack_credit = (uint32_t)(h->hi - h->lo) <= seq_bound(f, dn);
            if (d->n_holes < FLOW_SEQ_HOLES) {
                d->hole[d->n_holes++] = right;
            } else if ((uint32_t)(right.hi - right.lo) > (uint32_t)(h->hi - h->lo)) {
                *h = right; /* no room: keep the larger piece */
                t->c.seq_unconfirmed++;
            } else {
                t->c.seq_unconfirmed++;
            }
        }
        i++;
    }
    return any;
}

/* The peer acknowledged 'd's data up to 'ack': plausible holes below it
 * were sent and only the capture lost them. */
static void seq_acked(flow *f, int dn, uint32_t ack)
{
    flow_dir *d = &f->dir[dn];
    if (!d->seq_init || d->n_holes == 0) return;
    if (d->fin_at && seq_diff(ack, d->fin_seq) > 0) ack = d->fin_seq; /* the FIN's own number */
    /* an ACK far beyond anything sent proves nothing */
    if (seq_diff(ack, d->seq_high) > 0 && (uint32_t)(ack - d->seq_high) > seq_bound(f, dn)) return;
    for (unsigned i = 0; i < d->n_holes;) {
        flow_seq_hole *h = &d->hole[i];
        if (!h->ack_credit || seq_diff(ack, h->lo) <= 0) {
            i++;
            continue;
        }
        /* A merged hole's seen bytes are taken to come first: a partial
         * ACK may credit late, never twice. */
        uint32_t upto = seq_diff(ack, h->hi) >= 0 ? h->hi : ack;
        uint32_t n = upto - h->lo, skip = n < h->seen ? n : h->seen;
        d->seq_bytes += n - skip;
        h->seen -= skip;
        h->lo = upto;
        if (h->lo == h->hi)
            hole_remove(d, i);
        else
            i++;
    }
}

/* Sequence progress for one TCP segment of direction dn; returns true when
 * it carried sequence space this direction had not sent before (beyond the
 * frontier, or filling a hole). */
static bool tcp_seq(flow_table *t, flow *f, int dn, const dec_pkt *p)
{
    flow_dir *d = &f->dir[dn];
    uint8_t fl = p->tcp_flags;
    uint32_t syn = (fl & TH_SYN) ? 1 : 0;
    if (fl & TH_RST) return false; /* its sequence number may be anything */
    if (syn) {
        d->syn = true;
        d->wscale = p->tcp_wscale;
        if (p->tcp_win > d->syn_win) d->syn_win = p->tcp_win;
    } else if (p->tcp_win > d->win_max) {
        d->win_max = p->tcp_win;
    }
    if (fl & TH_ACK) {
        if (!d->acked || seq_diff(p->ack, d->ack_high) >= 0) {
            d->ack_high = p->ack;
            d->win_last = p->tcp_win;
            d->win_last_syn = syn != 0;
        }
        d->acked = true;
        if (f->dir[!dn].n_holes) seq_acked(f, !dn, p->ack);
    }
    if (!d->seq_init) {
        d->seq_base = p->seq + syn;
        d->seq_high = d->seq_base;
        d->seq_init = true;
    }
    uint32_t s = p->seq + syn, e = s + p->payload_wire;
    if ((fl & TH_FIN) && !d->fin_at && seq_diff(e, d->seq_base) >= 0 &&
        seq_diff(e, d->seq_high) <= (int32_t)seq_bound(f, dn)) {
        d->fin_at = true; /* the stream ends here: no hole beyond it will be acknowledged */
        d->fin_seq = e;
    }
    /* A bare FIN marks where the stream ends: bytes before it that the
     * capture lost are a jump like any other (below). */
    bool bare_fin = p->payload_wire == 0 && (fl & TH_FIN) && !syn;
    if (p->payload_wire == 0 && !(bare_fin && seq_diff(s, d->seq_high) > 0)) return false;
    if (seq_diff(e, d->seq_high) <= 0) return seq_fill(t, f, dn, s, e);
    if (seq_diff(s, d->seq_high) < 0) seq_fill(t, f, dn, s, d->seq_high); /* straddles it */
    if (seq_diff(s, d->seq_high) > 0) {
        const flow_dir *peer = &f->dir[!dn];
        uint32_t gap = s - d->seq_high;
        if (gap > seq_bound(f, dn)) {
            t->c.seq_implausible++;
            hole_add(t, d, d->seq_high, s, false);
        } else if (!peer->acked) {
            d->seq_bytes += gap; /* nothing will acknowledge it: the bound decides */
        } else if (seq_diff(e, peer->ack_high + (peer->win_last_syn ? peer->win_last
                                                                    : peer->win_last << win_shift(
                                                                          f, peer))) <= 0) {
            d->seq_bytes += gap; /* the peer's last ACK and window allowed it to be sent */
        } else {
            hole_add(t, d, d->seq_high, s, true);
        }
        d->seq_bytes += p->payload_wire;
    } else {
        d->seq_bytes += (uint32_t)(e - d->seq_high);
    }
    d->seq_high = e;
    return !bare_fin;
}

/* Whether a SYN starts a new connection on f's 5-tuple (see the header). */
static bool tcp_reuse(const flow *f, const dec_pkt *p, int dn)
{
    if ((p->tcp_flags & (TH_SYN | TH_ACK | TH_RST)) != TH_SYN) return false;
    const flow_dir *d = &f->dir[dn];
    if (d->syn && d->seq_init && p->seq + 1 == d->seq_base) return false; /* retransmission */
    if (f->state == FLOW_STATE_CLOSED || f->dir[0].fin || f->dir[1].fin) return true;
    if (!d->seq_init) return dn == FLOW_TOCLIENT; /* the server side opens a connection */
    uint64_t bound = seq_bound(f, dn);
    uint64_t span = (uint32_t)(d->seq_high - d->seq_base);
    uint32_t rel = p->seq + 1 - d->seq_base; /* distance from the old span's start */
    return (uint64_t)(uint32_t)(rel + (uint32_t)bound) > span + 2 * bound;
}

static void set_class(flow_table *t, flow *f, uint8_t tc)
{
    if (f->tclass == tc) return;
    lru_unlink(t, f);
    f->tclass = tc;
    lru_append(t, f);
}

/* Exchanges: a client data burst that follows server data starts one.  For
 * TCP a burst counts only once it carries FLOW_REQ_MIN bytes and does not
 * open with a TLS handshake, change-cipher-spec or alert record: TLS and
 * HTTP/2 set-up (ClientHello, Finished, SETTINGS/WINDOW_UPDATE acks)
 * otherwise made one API call on a new connection look like five. */
static void count_exchange(flow *f, const dec_pkt *p, int d)
{
    if (d == FLOW_TOSERVER && f->last_data_dir != FLOW_TOSERVER) {
        f->burst_bytes = 0;
        uint8_t b0 = p->payload && p->payload_len ? p->payload[0] : 0;
        f->burst = (p->proto == 6 && (b0 == 0x14 || b0 == 0x15 || b0 == 0x16)) ? FLOW_BURST_SKIP
                                                                               : FLOW_BURST_PENDING;
    }
    if (d == FLOW_TOSERVER && f->burst == FLOW_BURST_PENDING) {
        f->burst_bytes += p->payload_wire;
        if (p->proto != 6 || f->burst_bytes >= FLOW_REQ_MIN) {
            f->exchanges++;
            f->burst = FLOW_BURST_COUNTED;
        }
    }
    f->last_data_dir = (uint8_t)d;
}

flow *flow_packet(flow_table *t, const dec_pkt *p, uint64_t ts, uint32_t wire_len, int *dir,
                  bool *created)
{
    if (created) *created = false;
    if (!t || !p || (p->ip_v != 4 && p->ip_v != 6)) return NULL;
    if (ts > t->now) t->now = ts;
    if (!t->cfg.manual_expiry) flow_expire(t, ts);

    flow_key k;
    make_key(&k, p);
    uint64_t h = key_hash(&k);
    int d = -1;
    flow *f = t->buckets[(uint32_t)h & t->mask];
    for (; f; f = f->hnext)
        if (f->hash == (uint32_t)h && (d = flow_match(f, p, k.vlan)) >= 0) break;
    if (f && p->proto == 6 && tcp_reuse(f, p, d)) {
        t->c.tcp_reuse++;
        flow_end(t, f, FLOW_END_REUSE);
        f = NULL;
    }
    if (!f) {
        f = flow_create(t, p, ts, h, k.vlan);
        if (!f) return NULL;
        if (created) *created = true;
        d = flow_match(f, p, k.vlan);
    }
    if (dir) *dir = d;

    if (ts > f->last_ts) f->last_ts = ts;
    f->lru_ts = t->now;
    if (t->tail[f->tclass] != f) { /* runs of one flow's packets: already last */
        lru_unlink(t, f);
        lru_append(t, f);
    }

    flow_dir *fd = &f->dir[d];
    fd->pkts++;
    fd->bytes += wire_len;
    fd->payload_bytes += p->payload_len;

    bool data = p->payload_wire > 0;
    if (p->proto == 6) {
        uint8_t fl = p->tcp_flags;
        if (d == FLOW_TOSERVER)
            f->tcp_flags_ts |= fl;
        else
            f->tcp_flags_tc |= fl;
        /* keep-alive probes and retransmissions carry no new data */
        bool fresh = tcp_seq(t, f, d, p);
        data = data && fresh;
        if (fl & TH_FIN) fd->fin = true;
        if (fl & TH_RST) fd->rst = true;
        if (f->state != FLOW_STATE_CLOSED) {
            if (fd->rst || (f->dir[0].fin && f->dir[1].fin)) {
                f->state = FLOW_STATE_CLOSED;
                set_class(t, f, FLOW_TC_TCP_CLOSED);
            } else if (d == FLOW_TOCLIENT) {
                f->state = FLOW_STATE_ESTABLISHED;
            }
        }
    } else if (f->state == FLOW_STATE_NEW && f->dir[0].pkts && f->dir[1].pkts) {
        f->state = FLOW_STATE_ESTABLISHED;
    }

    if (data) count_exchange(f, p, d);
    return f;
}

/* ---- queries --------------------------------------------------------- */

void *flow_ext(flow *f)
{
    return (unsigned char *)f + round_up(sizeof(flow), SLOT_ALIGN);
}

void flow_table_counters(const flow_table *t, flow_counters *out)
{
    if (!out) return;
    if (!t) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = t->c;
    out->buckets = (uint64_t)t->mask + 1;
}

void flow_foreach(flow_table *t, void (*fn)(flow *f, void *ud), void *ud)
{
    if (!t || !fn) return;
    for (int c = 0; c < FLOW_TC__COUNT; c++)
        for (flow *f = t->head[c]; f; f = f->lnext) fn(f, ud);
}

const char *flow_state_name(flow_state s)
{
    switch (s) {
    case FLOW_STATE_NEW:
        return "new";
    case FLOW_STATE_ESTABLISHED:
        return "established";
    case FLOW_STATE_CLOSED:
        return "closed";
    }
    return "unknown";
}

const char *flow_reason_name(flow_end_reason r)
{
    switch (r) {
    case FLOW_END_TIMEOUT:
        return "timeout";
    case FLOW_END_EVICTED:
        return "forced";
    case FLOW_END_SHUTDOWN:
        return "shutdown";
    case FLOW_END_REUSE:
        return "tcp_reuse";
    }
    return "unknown";
}
