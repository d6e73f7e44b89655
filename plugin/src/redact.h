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

/* Evidence redaction: copies in[0..n) to out, replacing e-mail addresses
 * with "[email]", phone numbers (7-15 digits with separators or a leading
 * '+', not dates like 2024-01-31 or dotted quads) with "[phone]", and other
 * digit runs of length >= 6 with "[num]".  Output is truncated to cap-1
 * bytes (never mid-tag) and NUL-terminated when cap > 0.  Returns the
 * length written.  (Named content_redact for its callers, which know it
 * through content.h.) */
size_t content_redact(const char *in, size_t n, char *out, size_t cap);

/* If s[at] == '@' is the middle of an e-mail address, sets [*b, *e) and
 * returns true. */
bool redact_email_at(const uint8_t *s, size_t n, size_t at, size_t *b, size_t *e);

#endif /* EGRET_REDACT_H */
