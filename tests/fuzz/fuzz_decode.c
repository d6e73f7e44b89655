/*
 * fuzz_decode.c -- the link/IP/transport decoder (dec_packet) on one frame:
 * the first byte chooses the link type (fuzz_link.h), the rest is the frame.
 * Checks dec_packet's promise that its pointers stay inside the frame.
 */
#include <stdint.h>
#include <stdlib.h>

#include "decode.h"
#include "fuzz_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int lt = fz_link(data[0]);
    const uint8_t *f = data + 1;
    uint32_t n = (uint32_t)(size - 1);
    dec_pkt p;
    if (dec_packet(&p, lt, f, n) && p.payload) {
        if (p.payload < f || p.payload + p.payload_len > f + n) abort();
    }
    dec_shard k;
    (void)dec_shard_fast(lt, f, n, &k);
    (void)dec_event_name(p.event);
    return 0;
}
