/*
 * dns.c -- bounds-checked DNS message parser (see dns.h).
 *
 *  0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * |QR|  Opcode   |AA|TC|RD|RA|   Z    |   RCODE   |
 * |          QDCOUNT / ANCOUNT / NSCOUNT / ARCOUNT |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+    RFC 1035 4.1.1
 *
 * Names (RFC 1035 4.1.4) may use compression pointers; a pointer may only
 * point backwards and at most 32 jumps are followed, so hostile loops end.
 */
#include "dns.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"

/* Reads a (possibly compressed) name starting at c->p within msg[0..len).
 * Advances c past the name as stored at that position.  Returns 0 or -1. */
static int read_name(const uint8_t *msg, size_t len, cur *c, char out[DNS_NAME_MAX])
{
    size_t o = 0;
    size_t pos = (size_t)(c->p - msg);
    bool jumped = false;
    int jumps = 0;
    out[0] = '\0';
    for (;;) {
        if (pos >= len) return -1;
        uint8_t l = msg[pos];
        if (l == 0) {
            pos++;
            break;
        }
        if ((l & 0xc0) == 0xc0) {
            if (pos + 1 >= len) return -1;
            size_t ptr = ((size_t)(l & 0x3f) << 8) | msg[pos + 1];
            if (!jumped) c->p = msg + pos + 2;
            jumped = true;
            if (ptr >= pos || ++jumps > 32) return -1;
            pos = ptr;
            continue;
        }
        if (l & 0xc0) return -1; /* extended label types are not supported */
        if (pos + 1 + l > len) return -1;
        if (o + l + 2 > DNS_NAME_MAX) return -1;
        if (o) out[o++] = '.';
        for (size_t i = 0; i < l; i++) out[o++] = (char)tolower(msg[pos + 1 + i]);
        out[o] = '\0';
        pos += 1 + (size_t)l;
    }
    if (!jumped) c->p = msg + pos;
    if (c->p > c->end) return -1;
    return 0;
}

int dns_parse(const uint8_t *p, size_t len, dns_msg *m)
{
    memset(m, 0, offsetof(dns_msg, answers));
    cur c = cur_make(p, len);
    m->id = cur_be16(&c);
    uint16_t flags = cur_be16(&c);
    m->qdcount = cur_be16(&c);
    m->ancount = cur_be16(&c);
    cur_skip(&c, 4); /* NSCOUNT, ARCOUNT */
    if (c.trunc) return -1;
    m->flags = flags;
    m->response = (flags & 0x8000) != 0;
    m->opcode = (uint8_t)((flags >> 11) & 0xf);
    m->rcode = (uint8_t)(flags & 0xf);
    for (uint16_t i = 0; i < m->qdcount; i++) {
        char name[DNS_NAME_MAX];
        if (read_name(p, len, &c, name) != 0) return -1;
        uint16_t qtype = cur_be16(&c);
        cur_skip(&c, 2);
        if (c.trunc) return -1;
        if (i == 0) {
            memcpy(m->qname, name, sizeof(name));
            m->qtype = qtype;
        }
    }
    for (uint16_t i = 0; i < m->ancount; i++) {
        dns_rr tmp;
        dns_rr *rr = m->n_answers < DNS_MAX_ANSWERS ? &m->answers[m->n_answers] : &tmp;
        if (read_name(p, len, &c, rr->name) != 0) return -1;
        rr->type = cur_be16(&c);
        rr->klass = cur_be16(&c);
        rr->ttl = cur_be32(&c);
        uint16_t rdlen = cur_be16(&c);
        if (c.trunc || cur_left(&c) < rdlen) return -1;
        const uint8_t *rdata = c.p;
        memset(rr->addr, 0, sizeof(rr->addr));
        rr->target[0] = '\0';
        if (rr->type == DNS_T_A && rdlen == 4) {
            memcpy(rr->addr, rdata, 4);
        } else if (rr->type == DNS_T_AAAA && rdlen == 16) {
            memcpy(rr->addr, rdata, 16);
        } else if (rr->type == DNS_T_CNAME || rr->type == DNS_T_NS || rr->type == DNS_T_PTR) {
            cur rc = cur_make(rdata, rdlen);
            if (read_name(p, (size_t)(rdata - p) + rdlen, &rc, rr->target) != 0) return -1;
        } else if (rr->type == DNS_T_A || rr->type == DNS_T_AAAA) {
            return -1; /* wrong rdata length */
        }
        c.p += rdlen;
        if (rr != &tmp) m->n_answers++;
    }
    return 0;
}

const char *dns_type_name(uint16_t type, char buf[16])
{
    switch (type) {
    case DNS_T_A:
        return "A";
    case DNS_T_NS:
        return "NS";
    case DNS_T_CNAME:
        return "CNAME";
    case DNS_T_SOA:
        return "SOA";
    case DNS_T_PTR:
        return "PTR";
    case DNS_T_MX:
        return "MX";
    case DNS_T_TXT:
        return "TXT";
    case DNS_T_AAAA:
        return "AAAA";
    case DNS_T_SRV:
        return "SRV";
    case DNS_T_HTTPS:
        return "HTTPS";
    default:
        snprintf(buf, 16, "TYPE%u", type);
        return buf;
    }
}

const char *dns_rcode_name(uint8_t rcode, char buf[16])
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH", "NOTZONE"};
    if (rcode < sizeof(names) / sizeof(names[0])) return names[rcode];
    snprintf(buf, 16, "RCODE%u", rcode);
    return buf;
}
