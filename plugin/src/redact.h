/*
 * redact.h -- evidence redaction (redact.c): personal identifiers taken out
 * of a text sample before it is kept, and the e-mail address matcher that
 * the content detector shares for its identifier sets.
 */
#ifndef EGRET_REDACT_H
#define EGRET_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Evidence redaction: decodes in[0..n) (JSON escapes, URL %XX; the first
 * 4096 bytes) and copies it to out, replacing e-mail addresses (plain,
 * quoted local parts, address literals, internationalised) with "[email]",
 * payment-card numbers (13-19 digits, grouped or not, Luhn-valid) with
 * "[card]", phone numbers (7-15 digits with separators or a leading '+',
 * not dates like 2024-01-31 or dotted quads) with "[phone]", and other
 * digit runs of length >= 6 (a grouped 13-19 digit run too) with "[num]".
 * Control characters become '?'.  Output is truncated to cap-1
 * bytes (never mid-tag) and NUL-terminated when cap > 0.  Returns the
 * length written.  (Named content_redact for its callers, which know it
 * through content.h.) */
size_t content_redact(const char *in, size_t n, char *out, size_t cap);

/* If s[at] == '@' is the middle of an e-mail address, sets [*b, *e) and
 * returns true. */
bool redact_email_at(const uint8_t *s, size_t n, size_t at, size_t *b, size_t *e);

#endif /* EGRET_REDACT_H */
