/*
 * fuzz_content.c -- the content detector (content_feed, content_gap) on one
 * body.  The first byte chooses the hint (Content-Type, filename, API
 * shape) from a table; the rest is a run of data and gap events
 * (fuzz_stream.h; the direction bit is ignored).
 */
#include <stdint.h>

#include "content.h"
#include "fuzz_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const content_hint hints[] = {
    {NULL, NULL, NULL},
    {"application/json", NULL, NULL},
    {"application/jsonl", NULL, NULL},
    {"application/x-ndjson", "batch.ndjson", NULL},
    {"application/x-www-form-urlencoded", NULL, NULL},
    {"text/plain", "chat.txt", NULL},
    {"application/json", NULL, "anthropic-messages"},
    {"application/json", NULL, "openai-responses"},
    {"application/json", NULL, "openai-chat"},
    {"application/jsonl", "requests.jsonl", "anthropic-batch"},
    {"message/rfc822", "mail.eml", NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static content_ctx *c;
    if (!c) {
        content_limits lim;
        content_limits_default(&lim);
        c = content_new(&lim);
        if (!c) return 0;
    }
    if (size < 1) return 0;
    const content_hint *h = &hints[data[0] % (sizeof hints / sizeof hints[0])];
    data++;
    size--;
    if (content_begin(c, h) != 0) return 0;
    fz_event ev;
    while (fz_next(&data, &size, &ev)) {
        if (ev.gap)
            content_gap(c, ev.len);
        else
            content_feed(c, ev.data, ev.len);
    }
    content_result r;
    content_end(c, &r); /* the ctx is ready for the next body */
    return 0;
}
