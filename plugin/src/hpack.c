/*
 * hpack.c -- HPACK decoding through libnghttp2's inflater (the only
 * nghttp2 user).  Contract in hpack.h.
 */
#include "hpack.h"

#include <stdlib.h>

#include <nghttp2/nghttp2.h>

struct hpack_dec {
    nghttp2_hd_inflater *inf;
    bool in_block; /* between the first piece of a block and its final one */
    bool failed;
    bool pending;         /* a table size change waits for the end of the block */
    uint32_t pending_max; /* its value */
};

hpack_dec *hpack_dec_new(void)
{
    hpack_dec *h = calloc(1, sizeof(*h));
    if (!h) return NULL;
    if (nghttp2_hd_inflate_new(&h->inf) != 0) {
        free(h);
        return NULL;
    }
    return h;
}

int hpack_dec_set_max_table(hpack_dec *h, uint32_t size)
{
    if (h->failed) return -1;
    if (h->in_block) {
        /* nghttp2 refuses a change inside a block (and the encoder could
         * not have applied it there either) */
        h->pending = true;
        h->pending_max = size;
        return 0;
    }
    if (nghttp2_hd_inflate_change_table_size(h->inf, size) != 0) {
        h->failed = true;
        return -1;
    }
    return 0;
}

int hpack_dec_feed(hpack_dec *h, const uint8_t *p, size_t n, bool final, hpack_field_fn fn,
                   void *ud)
{
    if (h->failed) return -1;
    h->in_block = true;
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        ssize_t rv = nghttp2_hd_inflate_hd2(h->inf, &nv, &flags, p, n, final);
        if (rv < 0 || (size_t)rv > n) {
            h->failed = true;
            return -1;
        }
        if (rv > 0) { /* p is NULL for an empty piece (h2.c: a HEADERS frame without a block) */
            p += rv;
            n -= (size_t)rv;
        }
        if (flags & NGHTTP2_HD_INFLATE_EMIT) fn(ud, nv.name, nv.namelen, nv.value, nv.valuelen);
        if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(h->inf);
            h->in_block = false;
            if (h->pending) {
                h->pending = false;
                return hpack_dec_set_max_table(h, h->pending_max);
            }
            return 0;
        }
        if (!(flags & NGHTTP2_HD_INFLATE_EMIT)) {
            if (n == 0 && !final) return 0; /* the block goes on in the next piece */
            if (n == 0 || rv == 0) {
                /* the final piece ended inside a field, or no progress */
                h->failed = true;
                return -1;
            }
        }
    }
}

void hpack_dec_free(hpack_dec *h)
{
    if (!h) return;
    nghttp2_hd_inflate_del(h->inf);
    free(h);
}
