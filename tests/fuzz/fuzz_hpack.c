/*
 * fuzz_hpack.c -- the HPACK decoder (hpack_dec_feed) on header blocks of
 * one direction.  The input is a run of blocks, each a control byte and a
 * 16-bit big-endian length (fuzz_stream.h): the direction bit splits the
 * block into two feeds at its middle; a "gap" event is instead a
 * SETTINGS_HEADER_TABLE_SIZE of 'len' announced between blocks.
 */
#include <stdint.h>

#include "fuzz_stream.h"
#include "hpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void on_field(void *ud, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen)
{
    (void)ud;
    uint8_t x = 0;
    for (size_t i = 0; i < nlen; i++) x ^= name[i];
    for (size_t i = 0; i < vlen; i++) x ^= value[i];
    sink = x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hpack_dec *h = hpack_dec_new();
    if (!h) return 0;
    fz_event ev;
    while (fz_next(&data, &size, &ev)) {
        if (ev.gap) {
            if (hpack_dec_set_max_table(h, (uint32_t)ev.len) != 0) break;
            continue;
        }
        if (ev.len == 0) ev.data = NULL; /* as h2.c passes an empty block */
        size_t half = ev.dir ? ev.len / 2 : 0;
        if (half && hpack_dec_feed(h, ev.data, half, false, on_field, NULL) != 0) break;
        const uint8_t *rest = half ? ev.data + half : ev.data;
        if (hpack_dec_feed(h, rest, ev.len - half, true, on_field, NULL) != 0) break;
    }
    hpack_dec_free(h);
    return 0;
}
