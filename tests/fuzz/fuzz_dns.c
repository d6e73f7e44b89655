/*
 * fuzz_dns.c -- the DNS message parser (dns_parse) on one UDP payload;
 * the names it returns are read to their terminator.
 */
#include <stdint.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dns_msg m; /* large: DNS_MAX_ANSWERS records */
    (void)dns_parse(data, size, &m);
    size_t n = strlen(m.qname);
    if (m.n_answers > DNS_MAX_ANSWERS) __builtin_trap();
    for (size_t i = 0; i < m.n_answers; i++)
        n += strlen(m.answers[i].name) + strlen(m.answers[i].target);
    char b[16];
    (void)dns_type_name(m.qtype, b);
    (void)dns_rcode_name(m.rcode, b);
    sink = n;
    return 0;
}
