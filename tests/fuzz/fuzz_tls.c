/*
 * fuzz_tls.c -- TLS records and decryption (tlsdec_feed, tlsdec_gap) with
 * the fixed key log of fuzz_keys.h: the seeds are the TCP streams of the
 * captures those keys belong to, so mutations reach the handshake parser,
 * the key schedule, record decryption and the resync after gaps.  The
 * input is a run of direction and gap events (fuzz_stream.h).
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_keys.h"
#include "fuzz_stream.h"
#include "tlsdec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void on_out(void *ud, int dir, tlsdec_event ev, const uint8_t *data, size_t len)
{
    (void)ud;
    (void)dir;
    uint8_t x = 0;
    if (ev == TLSDEC_DATA)
        for (size_t i = 0; i < len; i++) x ^= data[i];
    sink = x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static keylog_table *keys;
    static tlsdec_ctx *ctx;
    if (!ctx) {
        keys = keylog_table_new(16);
        if (!keys) abort();
        keylog_parse_buffer(keys, fz_keylog, sizeof fz_keylog - 1, NULL, NULL, NULL);
        tlsdec_config cfg = {.keys = keys};
        ctx = tlsdec_ctx_new(&cfg);
        if (!ctx) abort();
    }
    tlsdec_session *s = tlsdec_session_new(ctx, on_out, NULL);
    if (!s) return 0;
    fz_event ev;
    while (fz_next(&data, &size, &ev)) {
        if (ev.gap)
            tlsdec_gap(s, ev.dir, ev.len);
        else
            tlsdec_feed(s, ev.dir, ev.data, ev.len);
    }
    tlsdec_info info;
    tlsdec_get_info(s, &info);
    tlsdec_end(s, 0);
    tlsdec_end(s, 1);
    tlsdec_session_free(s);
    return 0;
}
