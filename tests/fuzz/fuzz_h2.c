/*
 * fuzz_h2.c -- HTTP/2 (h2_conn_feed, h2_conn_gap): frames, HPACK header
 * blocks, CONTINUATION, SETTINGS, flow of DATA per stream.  The
 * input is a run of direction and gap events (fuzz_stream.h); both
 * directions end with the input.  When the first control byte has bit
 * 0x40 (unused by fuzz_stream.h) the connection is one upgraded from
 * HTTP/1.1 (h2_conn_new_upgraded: stream 1 is the upgrade request, with
 * an HTTP2-Settings payload).
 */
#include <stdint.h>

#include "fuzz_http_cb.h"
#include "fuzz_stream.h"
#include "h2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2_conn *c;
    if (size > 0 && data[0] & 0x40) {
        http_txn req = {.id = 1,
                        .method = "POST",
                        .host = "api.example.com",
                        .uri = "/v1/chat",
                        .upgrade = "h2c",
                        .h2_settings = "AAMAAABkAAQCAAAAAAIAAAAA"};
        req.req.declared_len = -1;
        req.resp.declared_len = -1;
        c = h2_conn_new_upgraded(NULL, &fz_http_cb, NULL, &req);
    } else {
        c = h2_conn_new(NULL, &fz_http_cb, NULL);
    }
    if (!c) return 0;
    fz_event ev;
    while (fz_next(&data, &size, &ev)) {
        http_dir dir = ev.dir ? HTTP_DIR_RESP : HTTP_DIR_REQ;
        if (ev.gap)
            h2_conn_gap(c, dir, ev.len);
        else
            h2_conn_feed(c, dir, ev.data, ev.len);
    }
    h2_conn_end(c, HTTP_DIR_REQ);
    h2_conn_end(c, HTTP_DIR_RESP);
    h2_conn_free(c);
    return 0;
}
