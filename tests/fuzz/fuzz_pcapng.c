/*
 * fuzz_pcapng.c -- egret's pcapng reader (plugin/cli/pcapng.c) on a file in
 * memory through its byte source: every packet until the end or an
 * error, the Decryption Secrets Blocks it keeps read back.
 */
#include <stdint.h>

#include "pcapng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void touch(const uint8_t *p, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++) x ^= p[i];
    sink = x;
}

static void on_secrets(void *ud, const pcapng_secrets *s)
{
    (void)ud;
    touch(s->data, s->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bsrc src;
    bsrc_init_mem(&src, data, size);
    char err[256];
    pcapng *r = pcapng_open(&src, err, sizeof err);
    if (r) {
        pcapng_set_secrets_hook(r, on_secrets, NULL);
        sf_pkt p;
        while (pcapng_next(r, &p) == 1) touch(p.data, p.caplen);
        pcapng_secrets s;
        for (size_t i = 0; pcapng_secrets_get(r, i, &s); i++) touch(s.data, s.len);
        pcapng_free(r);
    }
    bsrc_close(&src);
    return 0;
}
