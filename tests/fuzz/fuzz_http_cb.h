/*
 * fuzz_http_cb.h -- callbacks for the HTTP/1 and HTTP/2 targets that read
 * every byte handed to them, so that a pointer or length out of bounds is
 * a sanitizer report rather than silence, and check that every string of
 * a transaction or part is terminated inside its array.
 */
#ifndef EGRET_FUZZ_HTTP_CB_H
#define EGRET_FUZZ_HTTP_CB_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* The txn's and part's strings end inside their arrays (the EVE writer
 * and the rules take them as C strings). */
#define FZ_TERMINATED(a)                                                                           \
    do {                                                                                           \
        if (!memchr((a), 0, sizeof(a))) abort();                                                   \
    } while (0)

static void fz_check_txn(const http_txn *t)
{
    if (!t) return;
    FZ_TERMINATED(t->method);
    FZ_TERMINATED(t->host);
    FZ_TERMINATED(t->uri);
    FZ_TERMINATED(t->user_agent);
    FZ_TERMINATED(t->req.content_type);
    FZ_TERMINATED(t->req.content_encoding);
    FZ_TERMINATED(t->resp.content_type);
    FZ_TERMINATED(t->resp.content_encoding);
    FZ_TERMINATED(t->scheme);
    FZ_TERMINATED(t->upgrade);
    FZ_TERMINATED(t->h2_settings);
}

static void fz_on_txn(void *ud, const http_txn *t)
{
    (void)ud;
    fz_check_txn(t);
}

static void fz_on_part(void *ud, const http_txn *t, http_dir dir, const http_part *part)
{
    (void)ud;
    (void)dir;
    fz_check_txn(t);
    FZ_TERMINATED(part->name);
    FZ_TERMINATED(part->filename);
    FZ_TERMINATED(part->content_type);
    FZ_TERMINATED(part->value);
    if (part->value_len >= sizeof part->value) abort();
}

static const http_callbacks fz_http_cb = {.on_request_headers = fz_on_txn,
                                          .on_response_headers = fz_on_txn,
                                          .on_body_data = fz_on_body,
                                          .on_part_begin = fz_on_part,
                                          .on_part_end = fz_on_part,
                                          .on_request_complete = fz_on_txn,
                                          .on_response_complete = fz_on_txn};

#endif /* EGRET_FUZZ_HTTP_CB_H */
