/*
 * ja3.h -- the JA3 string of a TLS ClientHello (Salesforce's JA3: version,
 * ciphers, extensions, elliptic curves, point formats; GREASE values left
 * out), for the EVE tls record's ja3.string, which nDPI 4.2 does not keep.
 */
#ifndef EGRET_JA3_H
#define EGRET_JA3_H

#include <stddef.h>
#include <stdint.h>

#define JA3_STRING_MAX 1024 /* longer strings are not written (ja3_string returns 0) */

/* 'p' is the start of a client's TCP payload: a TLS handshake record that
 * holds a whole ClientHello.  Writes the JA3 string to 'out' (at least
 * JA3_STRING_MAX bytes) and returns its length; 0 when 'p' is not such a
 * record, the hello is cut short (spread over segments) or too long. */
size_t ja3_string(const uint8_t *p, size_t len, char *out);

/* The JA3 hash: MD5 of the string as 32 lower-case hex digits. */
void ja3_hash(const char *s, size_t len, char out[33]);

#endif /* EGRET_JA3_H */
