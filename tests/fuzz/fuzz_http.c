/*
 * fuzz_http.c -- HTTP/1 (http_conn_feed, http_conn_gap): requests and
 * responses, chunked, multipart and compressed bodies, pipelining.  The
 * input is a run of direction and gap events (fuzz_stream.h); both
 * directions end with the input.
 */
#include <stdint.h>

#include "fuzz_http_cb.h"
#include "fuzz_stream.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_conn *c = http_conn_new(NULL, &fz_http_cb, NULL);
    if (!c) return 0;
    fz_event ev;
    while (fz_next(&data, &size, &ev)) {
        http_dir dir = ev.dir ? HTTP_DIR_RESP : HTTP_DIR_REQ;
        if (ev.gap)
            http_conn_gap(c, dir, ev.len);
        else
            http_conn_feed(c, dir, ev.data, ev.len);
    }
    http_conn_end(c, HTTP_DIR_REQ);
    http_conn_end(c, HTTP_DIR_RESP);
    http_conn_free(c);
    return 0;
}
