/*
 * eve_dns.c -- the EVE dns record in Suricata 8's default format (dns
 * version 3), written straight from the DNS message bytes.
 *
 * dns.c parses for attribution: lowercased names, the first question, a
 * bounded number of answers.  A Suricata pipeline expects more: names as
 * sent (case kept), every question, the answer, authority and additional
 * sections, TXT/SOA/SRV/SSHFP/MX data and the answers grouped by type.  So
 * this writer walks the message a second time and writes each record as it
 * reads it: nothing is stored, nothing allocated (the JSON buffer is the
 * record's).  A section that runs past the message ends the record's
 * sections early; what was read stays (Suricata logs what it parsed).
 */
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "dns.h"
#include "eve.h"

#define DNS_JUMPS   16   /* compression pointers followed per name */
#define NAME_OUT    1024 /* escaped text of one name */
#define MAX_RRS     256  /* records written per section (the rest are counted only) */
#define MAX_GROUPED 32   /* answers looked at for "grouped" */

/* Appends 'n' bytes at out[o] as Suricata writes names and TXT strings:
 * printable ASCII kept, other bytes \xNN; what does not fit in 'outlen' is
 * dropped.  Returns the new length (out stays terminated). */
static size_t put_escaped(char *out, size_t o, size_t outlen, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch >= 0x20 && ch < 0x7f) {
            if (o + 1 < outlen) out[o++] = (char)ch;
        } else if (o + 5 < outlen) {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
        }
    }
    out[o] = '\0';
    return o;
}

/* One name at 'c', as Suricata writes it: labels joined by '.', bytes
 * outside printable ASCII as \xNN, "<root>" for the root.  false when the
 * name runs past the message or loops. */
static bool read_name(const uint8_t *msg, size_t len, cur *c, char *out, size_t outlen)
{
    size_t o = 0, pos = (size_t)(c->p - msg);
    bool jumped = false;
    int jumps = 0;
    out[0] = '\0';
    for (;;) {
        if (pos >= len) return false;
        uint8_t l = msg[pos];
        if ((l & 0xc0) == 0xc0) {
            if (pos + 1 >= len || ++jumps > DNS_JUMPS) return false;
            if (!jumped) c->p = msg + pos + 2;
            jumped = true;
            pos = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
            continue;
        }
        if (l & 0xc0) return false;
        pos++;
        if (l == 0) break;
        if (pos + l > len) return false;
        if (o && o + 1 < outlen) out[o++] = '.';
        o = put_escaped(out, o, outlen, msg + pos, l);
        pos += l;
    }
    if (!jumped) c->p = msg + pos;
    if (o == 0) snprintf(out, outlen, "<root>");
    return true;
}

/* rrtype names as Suricata writes them; others as the number. */
static const char *type_name(uint16_t t, char buf[16])
{
    static const struct {
        uint16_t t;
        const char *n;
    } names[] = {{1, "A"},      {2, "NS"},     {5, "CNAME"},  {6, "SOA"},     {10, "NULL"},
                 {12, "PTR"},   {13, "HINFO"}, {15, "MX"},    {16, "TXT"},    {28, "AAAA"},
                 {33, "SRV"},   {35, "NAPTR"}, {39, "DNAME"}, {41, "OPT"},    {43, "DS"},
                 {44, "SSHFP"}, {46, "RRSIG"}, {47, "NSEC"},  {48, "DNSKEY"}, {50, "NSEC3"},
                 {64, "SVCB"},  {65, "HTTPS"}, {99, "SPF"},   {249, "TKEY"},  {250, "TSIG"},
                 {251, "IXFR"}, {252, "AXFR"}, {255, "ANY"},  {257, "CAA"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].t == t) return names[i].n;
    snprintf(buf, 16, "%u", t);
    return buf;
}

/* dns.c's names; an unnamed rcode as the bare number, as Suricata. */
static const char *rcode_name(uint8_t rcode, char buf[16])
{
    const char *n = dns_rcode_name(rcode, buf);
    if (n == buf) snprintf(buf, 16, "%u", rcode);
    return n;
}

/* TXT: the n-th character-string (Suricata writes each as its own
 * answer), printable bytes kept, others \xNN.  false past the last. */
static bool txt_nth(const uint8_t *p, size_t n, size_t nth, char *out, size_t outlen)
{
    size_t i = 0;
    for (size_t k = 0; i < n; k++) {
        size_t l = p[i++];
        if (l > n - i) l = n - i;
        if (k == nth) {
            put_escaped(out, 0, outlen, p + i, l);
            return true;
        }
        i += l;
    }
    return false;
}

typedef struct rr_view {
    char name[NAME_OUT];
    uint16_t type;
    uint32_t ttl;
    const uint8_t *rdata;
    uint16_t rdlen;
    size_t txt; /* TXT: which character-string */
} rr_view;

static bool read_rr(const uint8_t *msg, size_t len, cur *c, rr_view *r)
{
    if (!read_name(msg, len, c, r->name, sizeof(r->name))) return false;
    r->type = cur_be16(c);
    cur_skip(c, 2);
    r->ttl = cur_be32(c);
    r->rdlen = cur_be16(c);
    if (c->trunc || cur_left(c) < r->rdlen) return false;
    r->rdata = c->p;
    r->txt = 0;
    c->p += r->rdlen;
    return true;
}

/* A cursor 'skip' bytes into r's data, over the message up to the data's
 * end: names in the data are read against the whole message
 * (compression points backwards). */
static cur rdata_cur(const uint8_t *msg, const rr_view *r, size_t skip)
{
    cur c = cur_make(msg, (size_t)(r->rdata - msg) + r->rdlen);
    c.p = r->rdata + skip;
    return c;
}

/* Writes the type's data: "rdata" as text, or Suricata's "soa", "srv",
 * "sshfp" object ('key' NULL: as an array element for "grouped").
 * false when the type has nothing egret writes; w NULL only checks. */
static bool put_rdata(jw *w, const char *key, const uint8_t *msg, size_t len, const rr_view *r)
{
    char buf[NAME_OUT];
    size_t end = (size_t)(r->rdata - msg) + r->rdlen; /* names end with the data */
    switch (r->type) {
    case 1:
    case 28:
        if (r->rdlen != (r->type == 1 ? 4 : 16)) return false;
        if (!w) return true;
        eve_addr(r->type == 1 ? 4 : 6, r->rdata, buf);
        jw_str(w, key ? "rdata" : NULL, buf);
        return true;
    case 2:
    case 5:
    case 12:
    case 39:
    case 15: {
        cur nc = rdata_cur(msg, r, r->type == 15 ? 2 : 0);
        if (r->rdlen < (r->type == 15 ? 3 : 1) || !read_name(msg, end, &nc, buf, sizeof(buf)))
            return false;
        if (w) jw_str(w, key ? "rdata" : NULL, buf);
        return true;
    }
    case 16:
        if (!txt_nth(r->rdata, r->rdlen, r->txt, buf, sizeof(buf))) return false;
        if (w) jw_str(w, key ? "rdata" : NULL, buf);
        return true;
    case 6: {
        char rname[NAME_OUT];
        cur nc = rdata_cur(msg, r, 0);
        if (!read_name(msg, end, &nc, buf, sizeof(buf)) ||
            !read_name(msg, end, &nc, rname, sizeof(rname)) || cur_left(&nc) < 20)
            return false;
        if (!w) return true;
        jw_obj_open(w, key ? "soa" : NULL);
        jw_str(w, "mname", buf);
        jw_str(w, "rname", rname);
        jw_u64(w, "serial", cur_be32(&nc));
        jw_u64(w, "refresh", cur_be32(&nc));
        jw_u64(w, "retry", cur_be32(&nc));
        jw_u64(w, "expire", cur_be32(&nc));
        jw_u64(w, "minimum", cur_be32(&nc));
        jw_obj_close(w);
        return true;
    }
    case 33: {
        if (r->rdlen < 7) return false;
        cur nc = rdata_cur(msg, r, 0); /* then the target's name */
        uint16_t prio = cur_be16(&nc), weight = cur_be16(&nc), port = cur_be16(&nc);
        if (!read_name(msg, end, &nc, buf, sizeof(buf))) return false;
        if (!w) return true;
        jw_obj_open(w, key ? "srv" : NULL);
        jw_u64(w, "priority", prio);
        jw_u64(w, "weight", weight);
        jw_u64(w, "port", port);
        jw_str(w, "name", buf);
        jw_obj_close(w);
        return true;
    }
    case 44: {
        if (r->rdlen < 2) return false;
        if (!w) return true;
        size_t o = 0;
        for (size_t i = 2; i < r->rdlen && o + 4 < sizeof(buf); i++)
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, i > 2 ? ":%02x" : "%02x", r->rdata[i]);
        buf[o] = '\0';
        jw_obj_open(w, key ? "sshfp" : NULL);
        jw_u64(w, "algo", r->rdata[0]);
        jw_u64(w, "type", r->rdata[1]);
        jw_str(w, "fingerprint", buf);
        jw_obj_close(w);
        return true;
    }
    default:
        return false;
    }
}

/* One section as a list of records; returns false if the message ended
 * inside it (the records read so far are written). */
static bool put_section(jw *w, const char *key, const uint8_t *msg, size_t len, cur *c,
                        uint16_t count)
{
    if (!count) return true;
    rr_view r;
    /* an empty list is not valid EVE (minItems 1): open on the first record */
    bool open = false, ok = true;
    for (uint16_t i = 0; i < count; i++) {
        if (!read_rr(msg, len, c, &r)) {
            ok = false;
            break;
        }
        if (r.type == 41) continue; /* EDNS OPT: not a record, Suricata skips it */
        if (i >= MAX_RRS) continue;
        if (!open) jw_arr_open(w, key), open = true;
        char tb[16];
        /* a TXT record: one entry per character-string, as Suricata */
        do {
            jw_obj_open(w, NULL);
            jw_str(w, "rrname", r.name);
            jw_str(w, "rrtype", type_name(r.type, tb));
            jw_u64(w, "ttl", r.ttl);
            put_rdata(w, "rdata", msg, len, &r);
            jw_obj_close(w);
            r.txt++;
        } while (r.type == 16 && r.txt < MAX_RRS && put_rdata(NULL, NULL, msg, len, &r));
    }
    if (open) jw_arr_close(w);
    return ok;
}

/* "grouped": the answers' data by type, each type once in order of first
 * appearance (more walks over the answer section, so at most MAX_GROUPED
 * records: bounded work per message). */
static void put_grouped(jw *w, const uint8_t *msg, size_t len, cur at, uint16_t count)
{
    if (count > MAX_GROUPED) count = MAX_GROUPED;
    bool opened = false;
    cur ci = at;
    for (uint16_t i = 0; i < count; i++) {
        rr_view r, q;
        if (!read_rr(msg, len, &ci, &r)) break;
        bool earlier = false;
        cur cj = at;
        for (uint16_t j = 0; j < i && !earlier; j++) {
            if (!read_rr(msg, len, &cj, &q)) break;
            earlier = q.type == r.type;
        }
        if (earlier) continue;
        char tb[16];
        bool arr = false;
        cj = at;
        for (uint16_t j = 0; j < count; j++) {
            if (!read_rr(msg, len, &cj, &q)) break;
            if (q.type != r.type) continue;
            for (; q.txt < MAX_RRS && put_rdata(NULL, NULL, msg, len, &q); q.txt++) {
                if (!opened) jw_obj_open(w, "grouped"), opened = true;
                if (!arr) jw_arr_open(w, type_name(r.type, tb)), arr = true;
                put_rdata(w, NULL, msg, len, &q);
                if (q.type != 16) break;
            }
        }
        if (arr) jw_arr_close(w);
    }
    if (opened) jw_obj_close(w);
}

void eve_dns(eve_out *o, const flow *f, const fext *x, const dns_msg *m, const uint8_t *msg,
             size_t len, uint64_t ts, bool to_server)
{
    jw *w = &o->w;
    char b[64], tb[16];
    char name[NAME_OUT];
    jw_reset(w);
    jw_obj_open(w, NULL);
    eve_time(o, ts, b);
    jw_str(w, "timestamp", b);
    jw_u64(w, "flow_id", f->id);
    if (o->in_iface) jw_str(w, "in_iface", o->in_iface);
    jw_str(w, "event_type", "dns");
    eve_addr(f->ip_v, to_server ? f->cli : f->srv, b);
    jw_str(w, "src_ip", b);
    jw_u64(w, "src_port", to_server ? f->cport : f->sport);
    eve_addr(f->ip_v, to_server ? f->srv : f->cli, b);
    jw_str(w, "dest_ip", b);
    jw_u64(w, "dest_port", to_server ? f->sport : f->cport);
    const char *pn = eve_proto_name(f->proto);
    jw_str(w, "proto", pn ? pn : "UDP");
    jw_u64(w, "ip_v", f->ip_v);
    eve_put_flow_tail(o, f, x);

    jw_obj_open(w, "dns");
    jw_u64(w, "version", 3);
    jw_str(w, "type", m->response ? "response" : "request");
    jw_u64(w, "tx_id", x->dns_tx);
    jw_u64(w, "id", m->id);
    snprintf(b, sizeof(b), "%x", m->flags);
    jw_str(w, "flags", b);
    static const struct {
        const char *k;
        uint16_t bit;
    } flags[] = {{"qr", 0x8000}, {"aa", 0x0400}, {"tc", 0x0200},
                 {"rd", 0x0100}, {"ra", 0x0080}, {"z", 0x0040}};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (m->flags & flags[i].bit) jw_bool(w, flags[i].k, true);
    jw_u64(w, "opcode", m->opcode);
    jw_str(w, "rcode", rcode_name(m->rcode, tb));

    cur c = cur_make(msg, len);
    cur_skip(&c, 4);
    uint16_t qd = cur_be16(&c), an = cur_be16(&c), ns = cur_be16(&c), ar = cur_be16(&c);
    bool ok = !c.trunc;
    if (ok && qd) {
        bool open = false;
        for (uint16_t i = 0; i < qd; i++) {
            if (!read_name(msg, len, &c, name, sizeof(name))) {
                ok = false;
                break;
            }
            uint16_t qt = cur_be16(&c);
            cur_skip(&c, 2);
            if (c.trunc) {
                ok = false;
                break;
            }
            if (i >= MAX_RRS) continue;
            if (!open) jw_arr_open(w, "queries"), open = true;
            jw_obj_open(w, NULL);
            jw_str(w, "rrname", name);
            jw_str(w, "rrtype", type_name(qt, tb));
            jw_obj_close(w);
        }
        if (open) jw_arr_close(w);
    }
    if (ok && m->response) {
        cur answers = c;
        ok = put_section(w, "answers", msg, len, &c, an);
        put_grouped(w, msg, len, answers, an);
        if (ok) ok = put_section(w, "authorities", msg, len, &c, ns);
        if (ok) put_section(w, "additionals", msg, len, &c, ar);
    }
    jw_obj_close(w);
    jw_obj_close(w);
}
