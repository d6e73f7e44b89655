/*
 * fuzz_http_cb.h -- callbacks for the HTTP/1 and HTTP/2 targets that read
 * every byte handed to them, so that a pointer or length out of bounds is
 * a sanitizer report rather than silence.
 */
#ifndef EGRET_FUZZ_HTTP_CB_H
#define EGRET_FUZZ_HTTP_CB_H

#include <stddef.h>
#include <stdint.h>

#include "http_txn.h"

static volatile uint8_t fz_sink;

static inline void fz_touch(const uint8_t *p, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++) x ^= p[i];
    fz_sink = x;
}

static void fz_on_body(void *ud, const http_txn *t, http_dir dir, const http_part *part,
                       const uint8_t *data, size_t len)
{
    (void)ud;
    (void)t;
    (void)dir;
    (void)part;
    fz_touch(data, len);
}

static const http_callbacks fz_http_cb = {.on_body_data = fz_on_body};

#endif /* EGRET_FUZZ_HTTP_CB_H */
