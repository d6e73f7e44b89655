/*
 * fuzz_reasm.c -- TCP reassembly (reasm_push, reasm_ack) of one direction
 * with arbitrary sequence numbers.  The first byte chooses the context's
 * limits (memory cap, depth, out-of-order bounds); then segments follow,
 * each a flags byte, a 32-bit big-endian sequence number and a 16-bit
 * length.  Flags 0x80 make the record an acknowledgement of 'seq' instead
 * (no payload); the low bits are REASM_FIN/SYN/RST.  The delivered bytes
 * are checked: in order, and never beyond what was pushed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct out {
    uint64_t bytes, pushed;
    int ended;
} out;

static volatile uint8_t sink;

static void deliver(void *ud, reasm_event ev, const uint8_t *data, size_t len)
{
    out *o = ud;
    if (o->ended) abort(); /* REASM_END is the last call */
    if (ev == REASM_DATA) {
        uint8_t x = 0;
        for (size_t i = 0; i < len; i++) x ^= data[i];
        sink = x;
        o->bytes += len;
        if (o->bytes > o->pushed) abort();
    } else if (ev == REASM_END) {
        o->ended = 1;
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    reasm_ctx *ctx = reasm_ctx_new(mode & 1 ? 4096 : 1u << 20, mode & 2 ? 2048 : 0);
    if (!ctx) return 0;
    if (mode & 4) reasm_ctx_set_ooo_limit(ctx, 1024, 4);
    reasm_stream s;
    reasm_stream_init(&s);
    out o = {0};
    while (size >= 7) {
        uint8_t flags = data[0];
        uint32_t seq = be32(data + 1);
        size_t len = (size_t)data[5] << 8 | data[6];
        data += 7;
        size -= 7;
        if (flags & 0x80) {
            reasm_ack(ctx, &s, seq, deliver, &o);
            continue;
        }
        if (len > size) len = size;
        o.pushed += len;
        reasm_push(ctx, &s, seq, flags & 7u, len ? data : NULL, len, deliver, &o);
        data += len;
        size -= len;
    }
    reasm_stream_close(ctx, &s, deliver, &o);
    reasm_stream_free(ctx, &s);
    reasm_ctx_free(ctx);
    return 0;
}
