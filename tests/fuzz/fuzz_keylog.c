/*
 * fuzz_keylog.c -- the NSS key log parser: the whole input at once
 * (keylog_parse_buffer), then again through the line reader in pieces
 * whose sizes the input's first byte sets, into a small table so that
 * eviction runs too.
 */
#include <stdint.h>
#include <stdlib.h>

#include "keylog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bad(void *ud, uint64_t line, const char *reason)
{
    (void)ud;
    (void)line;
    (void)reason;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t step = (size_t)data[0] + 1;
    keylog_table *t = keylog_table_new(4);
    if (!t) return 0;
    uint64_t malformed = 0;
    keylog_parse_buffer(t, data + 1, size - 1, bad, NULL, &malformed);
    keylog_reader r;
    keylog_reader_init(&r, t, bad, NULL);
    for (size_t at = 1; at < size; at += step)
        keylog_reader_feed(&r, data + at, size - at < step ? size - at : step);
    keylog_reader_finish(&r);
    keylog_reader_close(&r);
    keylog_table_free(t);
    return 0;
}
