/*
 * pcapng.c -- egret's pcapng reader (see pcapng.h).
 *
 * Every block:
 *   block type(4) block total length(4) body(...) block total length(4)
 * in the byte order of its section, which the Section Header Block's
 * byte-order magic 0x1A2B3C4D gives.  Bodies read here:
 *   SHB: bom(4) major(2) minor(2) section length(8) options
 *   IDB: linktype(2) reserved(2) snaplen(4) options
 *   EPB: interface(4) ts_high(4) ts_low(4) caplen(4) len(4) data(pad 4) options
 *   SPB: len(4) data(pad 4)                      (interface 0, no timestamp)
 *   OPB: interface(2) drops(2) ts_high(4) ts_low(4) caplen(4) len(4) data options
 *   DSB: secrets type(4) secrets length(4) data(pad 4) options
 * Options: code(2) length(2) value(pad 4), ended by code 0 or the body.
 *
 * A whole block is taken from the source before it is parsed, so every
 * field read below is checked against the block's own length (cur_*), and
 * the block length itself is checked before the take.
 */
#include "pcapng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BT_OPB 0x00000002u
#define BT_IDB 0x00000001u
#define BT_SPB 0x00000003u
#define BT_EPB 0x00000006u
#define BT_DSB 0x0000000Au
#define BOM    0x1A2B3C4Du

#define OPT_IF_TSRESOL  9
#define OPT_IF_TSOFFSET 14

#define LINKTYPE_RAW 101

typedef struct iface {
    int linktype;
    uint32_t snaplen; /* 0: none */
    uint64_t units;   /* timestamp units per second */
    int64_t offset_s; /* if_tsoffset */
} iface;

typedef struct kept {
    uint32_t type, len;
    uint8_t *data;
} kept;

struct pcapng {
    bsrc *src;
    bool swapped; /* this section's byte order is not the host's */
    iface *ifs;   /* this section's interfaces */
    size_t n_ifs, cap_ifs;
    int first_linktype;
    uint64_t oversize;
    pcapng_secrets_fn hook;
    void *hook_ud;
    kept *secrets;
    size_t n_secrets, cap_secrets, secrets_bytes;
    uint64_t secrets_dropped;
    char err[256];
};

/* A bounds-checked cursor over one block body (STYLE.md section 5): a
 * read past the end returns 0 and sets 'trunc'. */
typedef struct cur {
    const uint8_t *p, *end;
    bool swapped, trunc;
} cur;

static uint32_t cur_u32(cur *c)
{
    if (c->end - c->p < 4) {
        c->trunc = true;
        c->p = c->end;
        return 0;
    }
    uint32_t v;
    memcpy(&v, c->p, 4);
    c->p += 4;
    return c->swapped ? __builtin_bswap32(v) : v;
}

static uint16_t cur_u16(cur *c)
{
    if (c->end - c->p < 2) {
        c->trunc = true;
        c->p = c->end;
        return 0;
    }
    uint16_t v;
    memcpy(&v, c->p, 2);
    c->p += 2;
    return c->swapped ? __builtin_bswap16(v) : v;
}

/* Steps over n bytes and returns where they start, or NULL (truncated). */
static const uint8_t *cur_skip(cur *c, size_t n)
{
    if ((size_t)(c->end - c->p) < n) {
        c->trunc = true;
        c->p = c->end;
        return NULL;
    }
    const uint8_t *at = c->p;
    c->p += n;
    return at;
}

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

bool pcapng_magic(uint32_t magic_le)
{
    return magic_le == PCAPNG_SHB_TYPE; /* a palindrome: the same in both orders */
}

static int fail(pcapng *r, uint64_t at, const char *what)
{
    snprintf(r->err, sizeof(r->err), "pcapng block at offset %llu: %s", (unsigned long long)at,
             what);
    return -1;
}

/* Takes the next whole block: its type, and a cursor over its body (the
 * trailing length excluded).  1, 0 at a clean end of file, -1 error. */
static int next_block(pcapng *r, uint32_t *type, cur *body, uint64_t *at)
{
    size_t got;
    *at = r->src->off;
    const uint8_t *h = bsrc_peek(r->src, 8, &got);
    if (!h) {
        if (got == 0 && !r->src->err) return 0;
        (void)bsrc_take(r->src, got, &got);
        return fail(r, *at, r->src->err ? "read error" : "truncated block header");
    }
    uint32_t t, len;
    memcpy(&t, h, 4);
    if (t == PCAPNG_SHB_TYPE) { /* a new section: its byte order from the magic */
        h = bsrc_peek(r->src, 12, &got);
        if (!h) {
            (void)bsrc_take(r->src, got, &got);
            return fail(r, *at, "truncated section header");
        }
        uint32_t bom;
        memcpy(&bom, h + 8, 4);
        if (bom == BOM)
            r->swapped = false;
        else if (bom == __builtin_bswap32(BOM))
            r->swapped = true;
        else
            return fail(r, *at, "section header with a bad byte-order magic");
    }
    memcpy(&len, h + 4, 4);
    if (r->swapped) {
        t = __builtin_bswap32(t);
        len = __builtin_bswap32(len);
    }
    char msg[96];
    if (len < 12 || len % 4 != 0 || len > PCAPNG_MAX_BLOCK) {
        snprintf(msg, sizeof(msg), "bad block length %u (type 0x%08x)", len, t);
        return fail(r, *at, msg);
    }
    const uint8_t *b = bsrc_take(r->src, len, &got);
    if (!b) {
        snprintf(msg, sizeof(msg), "truncated block (type 0x%08x): %zu of %u bytes", t, got, len);
        return fail(r, *at, r->src->err ? "read error" : msg);
    }
    uint32_t trail;
    memcpy(&trail, b + len - 4, 4);
    if (r->swapped) trail = __builtin_bswap32(trail);
    if (trail != len) {
        snprintf(msg, sizeof(msg), "trailing block length %u differs from %u (type 0x%08x)", trail,
                 len, t);
        return fail(r, *at, msg);
    }
    *type = t;
    *body = (cur){b + 8, b + len - 4, r->swapped, false};
    return 1;
}

static int section(pcapng *r, cur *c, uint64_t at)
{
    (void)cur_u32(c); /* byte-order magic, checked in next_block */
    uint16_t major = cur_u16(c);
    (void)cur_u16(c);     /* minor */
    (void)cur_skip(c, 8); /* section length: not needed to walk the blocks */
    if (c->trunc) return fail(r, at, "truncated section header");
    if (major != 1) return fail(r, at, "unsupported pcapng major version");
    r->n_ifs = 0; /* interfaces belong to their section */
    return 0;
}

static int interface(pcapng *r, cur *c, uint64_t at)
{
    iface f = {.units = 1000000u};
    f.linktype = cur_u16(c);
    (void)cur_u16(c); /* reserved */
    f.snaplen = cur_u32(c);
    if (c->trunc) return fail(r, at, "truncated interface description");
    if (f.linktype == 12) f.linktype = LINKTYPE_RAW; /* as pcapfile.c */
    while (c->end - c->p >= 4) {
        uint16_t code = cur_u16(c), olen = cur_u16(c);
        const uint8_t *v = cur_skip(c, olen);
        if (c->trunc) return fail(r, at, "interface option runs past its block");
        (void)cur_skip(c, pad4(olen) - olen);
        c->trunc = false; /* the last option's padding may be missing */
        if (code == 0) break;
        if (code == OPT_IF_TSRESOL && olen >= 1) {
            unsigned e = v[0] & 0x7f;
            if (v[0] & 0x80) { /* 2^-e seconds */
                if (e > 63) return fail(r, at, "if_tsresol out of range");
                f.units = (uint64_t)1 << e;
            } else { /* 10^-e seconds */
                if (e > 19) return fail(r, at, "if_tsresol out of range");
                f.units = 1;
                for (unsigned i = 0; i < e; i++) f.units *= 10;
            }
        } else if (code == OPT_IF_TSOFFSET && olen >= 8) {
            cur o = {v, v + 8, r->swapped, false};
            uint64_t lo = cur_u32(&o), hi = cur_u32(&o);
            /* written as one 64-bit integer in the section's byte order */
            f.offset_s = (int64_t)(r->swapped ? (lo << 32 | hi) : (hi << 32 | lo));
        }
    }
    if (r->n_ifs == PCAPNG_MAX_IFACES) return fail(r, at, "too many interfaces in one section");
    if (r->n_ifs == r->cap_ifs) {
        size_t cap = r->cap_ifs ? r->cap_ifs * 2 : 4;
        iface *n = realloc(r->ifs, cap * sizeof(*n));
        if (!n) return fail(r, at, "out of memory");
        r->ifs = n;
        r->cap_ifs = cap;
    }
    r->ifs[r->n_ifs++] = f;
    if (r->first_linktype < 0) r->first_linktype = f.linktype;
    return 0;
}

static void secrets(pcapng *r, cur *c)
{
    pcapng_secrets s;
    s.type = cur_u32(c);
    s.len = cur_u32(c);
    s.data = cur_skip(c, s.len);
    if (c->trunc) return; /* a damaged secrets block: no secrets, the packets go on */
    if (r->hook) r->hook(r->hook_ud, &s);
    if (r->secrets_bytes + s.len > PCAPNG_MAX_SECRETS) {
        r->secrets_dropped++;
        return;
    }
    if (r->n_secrets == r->cap_secrets) {
        size_t cap = r->cap_secrets ? r->cap_secrets * 2 : 4;
        kept *n = realloc(r->secrets, cap * sizeof(*n));
        if (!n) {
            r->secrets_dropped++;
            return;
        }
        r->secrets = n;
        r->cap_secrets = cap;
    }
    uint8_t *copy = malloc(s.len ? s.len : 1);
    if (!copy) {
        r->secrets_dropped++;
        return;
    }
    memcpy(copy, s.data, s.len);
    r->secrets[r->n_secrets++] = (kept){s.type, s.len, copy};
    r->secrets_bytes += s.len;
}

/* Timestamp 't' in the interface's units, to microseconds since the epoch
 * (0 for earlier times): whole seconds, then the fraction truncated. */
static uint64_t to_usec(const iface *f, uint64_t t)
{
    uint64_t frac = t % f->units;
    uint64_t us = (uint64_t)((unsigned __int128)frac * 1000000u / f->units);
    __int128 s = (__int128)(t / f->units) + f->offset_s;
    if (s < 0) return 0;
    if (s >= (__int128)(UINT64_MAX / 1000000u)) return UINT64_MAX;
    return (uint64_t)s * 1000000u + us;
}

/* Fills *out from a packet block's fields; -1 on a bad interface or
 * length. */
static int packet(pcapng *r, cur *c, uint64_t at, uint32_t ifid, uint64_t ts, bool has_ts,
                  uint32_t caplen, uint32_t len, sf_pkt *out)
{
    if (ifid >= r->n_ifs) return fail(r, at, "packet of an undeclared interface");
    const iface *f = &r->ifs[ifid];
    if (caplen > SF_MAX_CAPLEN) {
        char msg[96];
        snprintf(msg, sizeof(msg), "captured length %u, more than the maximum of %u", caplen,
                 SF_MAX_CAPLEN);
        return fail(r, at, msg);
    }
    const uint8_t *data = cur_skip(c, caplen);
    if (c->trunc) return fail(r, at, "packet data runs past its block");
    if (f->snaplen && caplen > f->snaplen) r->oversize++;
    out->ts_usec = has_ts ? to_usec(f, ts) : 0;
    out->caplen = caplen;
    out->len = len;
    out->linktype = f->linktype;
    out->data = data;
    return 1;
}

int pcapng_next(pcapng *r, sf_pkt *out)
{
    if (r->err[0]) return -1;
    for (;;) {
        uint32_t type;
        cur c;
        uint64_t at;
        int rc = next_block(r, &type, &c, &at);
        if (rc <= 0) return rc;
        switch (type) {
        case PCAPNG_SHB_TYPE:
            if (section(r, &c, at) < 0) return -1;
            break;
        case BT_IDB:
            if (interface(r, &c, at) < 0) return -1;
            break;
        case BT_EPB: {
            uint32_t ifid = cur_u32(&c);
            uint64_t hi = cur_u32(&c), lo = cur_u32(&c);
            uint32_t caplen = cur_u32(&c), len = cur_u32(&c);
            if (c.trunc) return fail(r, at, "truncated enhanced packet block");
            return packet(r, &c, at, ifid, hi << 32 | lo, true, caplen, len, out);
        }
        case BT_OPB: {
            uint32_t ifid = cur_u16(&c);
            (void)cur_u16(&c); /* drops */
            uint64_t hi = cur_u32(&c), lo = cur_u32(&c);
            uint32_t caplen = cur_u32(&c), len = cur_u32(&c);
            if (c.trunc) return fail(r, at, "truncated packet block");
            return packet(r, &c, at, ifid, hi << 32 | lo, true, caplen, len, out);
        }
        case BT_SPB: {
            uint32_t len = cur_u32(&c);
            if (c.trunc) return fail(r, at, "truncated simple packet block");
            /* the data is what the block holds, but not past the wire length */
            size_t room = (size_t)(c.end - c.p);
            uint32_t caplen = len < room ? len : (uint32_t)room;
            /* without the padding, when the writer kept to the snaplen */
            uint32_t snap = r->n_ifs ? r->ifs[0].snaplen : 0;
            if (snap && caplen > snap && pad4(snap) == room) caplen = snap;
            return packet(r, &c, at, 0, 0, false, caplen, len, out);
        }
        case BT_DSB:
            secrets(r, &c);
            break;
        default: /* statistics, name resolution, custom blocks... */
            break;
        }
    }
}

pcapng *pcapng_open(bsrc *src, char *err, size_t errlen)
{
    pcapng *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->src = src;
    r->first_linktype = -1;
    uint32_t type;
    cur c;
    uint64_t at;
    int rc = next_block(r, &type, &c, &at);
    if (rc > 0 && type != PCAPNG_SHB_TYPE) rc = fail(r, at, "the file does not start a section");
    if (rc > 0 && section(r, &c, at) < 0) rc = -1;
    /* up to the first interface, so the source has a link type (packets
     * may not come before it: they would name an undeclared interface) */
    while (rc > 0 && r->first_linktype < 0) {
        rc = next_block(r, &type, &c, &at);
        if (rc <= 0) break;
        if (type == BT_IDB)
            rc = interface(r, &c, at) < 0 ? -1 : 1;
        else if (type == PCAPNG_SHB_TYPE)
            rc = section(r, &c, at) < 0 ? -1 : 1;
        else if (type == BT_DSB)
            secrets(r, &c);
        else if (type == BT_EPB || type == BT_SPB || type == BT_OPB)
            rc = fail(r, at, "packet before any interface description");
    }
    if (rc == 0 && !r->err[0]) fail(r, src->off, "no interface description in the file");
    if (r->err[0]) {
        snprintf(err, errlen, "%s", r->err);
        pcapng_free(r);
        return NULL;
    }
    return r;
}

const char *pcapng_err(const pcapng *r)
{
    return r->err;
}

int pcapng_linktype(const pcapng *r)
{
    return r->first_linktype;
}

uint64_t pcapng_oversize(const pcapng *r)
{
    return r->oversize;
}

void pcapng_set_secrets_hook(pcapng *r, pcapng_secrets_fn fn, void *ud)
{
    r->hook = fn;
    r->hook_ud = ud;
}

size_t pcapng_secrets_count(const pcapng *r)
{
    return r->n_secrets;
}

bool pcapng_secrets_get(const pcapng *r, size_t i, pcapng_secrets *out)
{
    if (i >= r->n_secrets) return false;
    *out = (pcapng_secrets){r->secrets[i].type, r->secrets[i].len, r->secrets[i].data};
    return true;
}

uint64_t pcapng_secrets_dropped(const pcapng *r)
{
    return r->secrets_dropped;
}

void pcapng_free(pcapng *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_secrets; i++) {
        /* key material: not left in freed memory */
        explicit_bzero(r->secrets[i].data, r->secrets[i].len);
        free(r->secrets[i].data);
    }
    free(r->secrets);
    free(r->ifs);
    free(r);
}
