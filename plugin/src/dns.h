/*
 * dns.h -- DNS message parsing (RFC 1035, AAAA RFC 3596) for answers.
 *
 * Parses one DNS message from a UDP payload (or a TCP payload after the
 * 2-byte length) into a fixed-size dns_msg: no allocation.  Names are
 * decompressed with a jump limit, lowercased and written without the
 * trailing dot.  Only the first question and at most DNS_MAX_ANSWERS
 * answer records are kept.
 */
#ifndef EGRET_DNS_H
#define EGRET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX    256
#define DNS_MAX_ANSWERS 16

enum {
    DNS_T_A = 1,
    DNS_T_NS = 2,
    DNS_T_CNAME = 5,
    DNS_T_SOA = 6,
    DNS_T_PTR = 12,
    DNS_T_MX = 15,
    DNS_T_TXT = 16,
    DNS_T_AAAA = 28,
    DNS_T_SRV = 33,
    DNS_T_HTTPS = 65
};

typedef struct dns_rr {
    char name[DNS_NAME_MAX];
    uint16_t type, klass;
    uint32_t ttl;
    /* A: addr[0..4); AAAA: addr[0..16); CNAME/NS/PTR: target */
    uint8_t addr[16];
    char target[DNS_NAME_MAX];
} dns_rr;

typedef struct dns_msg {
    uint16_t id;
    bool response;
    uint8_t opcode, rcode;
    uint16_t flags; /* the header's flags word as sent (EVE "flags", qr/aa/tc/rd/ra) */
    uint16_t qdcount, ancount;
    char qname[DNS_NAME_MAX];
    uint16_t qtype;
    size_t n_answers; /* kept answers (<= DNS_MAX_ANSWERS) */
    dns_rr answers[DNS_MAX_ANSWERS];
} dns_msg;

/* Returns 0 on success, -1 if the message is malformed or truncated
 * (whatever was parsed before the problem is kept in 'm'). */
int dns_parse(const uint8_t *p, size_t len, dns_msg *m);

/* "A", "AAAA", "CNAME"...; numeric types as "TYPE65535" in 'buf'. */
const char *dns_type_name(uint16_t type, char buf[16]);
/* "NOERROR", "NXDOMAIN"... */
const char *dns_rcode_name(uint8_t rcode, char buf[16]);

#endif /* EGRET_DNS_H */
