/*
 * fuzz_engine.c -- the whole engine (egret_engine_feed) fed frames: the
 * first byte chooses the link type (fuzz_link.h), then frames follow, each
 * a 16-bit big-endian length and that many bytes, a millisecond apart;
 * the input ends with egret_engine_flush, which ends every flow, so one
 * input cannot leave state for the next.  One engine for the whole run
 * (creating one loads nDPI and the rules), with the shipped rules and
 * data of EGRET_DATADIR (default: the build tree, FUZZ_DATADIR), and the
 * fixed TLS key log of fuzz_keys.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egret.h"
#include "fuzz_keys.h"
#include "fuzz_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static egret_engine *engine;
static uint64_t now = 1700000000000000ull;

static void on_event(const egret_event *ev, void *ud)
{
    (void)ev;
    (void)ud;
}

static egret_engine *make_engine(void)
{
#ifdef FUZZ_DATADIR
    setenv("EGRET_DATADIR", FUZZ_DATADIR, 0); /* the build tree's rules/, unless set */
#endif
    static egret_keylog *keys;
    keys = egret_keylog_new(16, NULL, NULL);
    if (keys) egret_keylog_add(keys, "fuzz", fz_keylog, sizeof fz_keylog - 1);
    egret_config cfg;
    egret_config_init(&cfg);
    cfg.eve_types = 0xffffffffu;
    cfg.on_event = on_event;
    cfg.no_geo = 1;
    cfg.tls_keylog = keys;
    egret_engine *e = NULL;
    char err[EGRET_ERRBUF_SIZE];
    if (egret_engine_new(&cfg, &e, err) == EGRET_OK) return e;
    cfg.no_rules = 1; /* no rules found (EGRET_DATADIR not set) */
    if (egret_engine_new(&cfg, &e, err) == EGRET_OK) return e;
    fprintf(stderr, "fuzz_engine: %s\n", err);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!engine) engine = make_engine();
    if (size < 1) return 0;
    int lt = fz_link(data[0]);
    data++;
    size--;
    while (size >= 2) {
        size_t len = (size_t)data[0] << 8 | data[1];
        data += 2;
        size -= 2;
        if (len > size) len = size;
        /* An exact copy: a read past the frame is a read past a heap block. */
        uint8_t *f = malloc(len ? len : 1);
        if (!f) abort();
        if (len) memcpy(f, data, len);
        egret_engine_feed(engine, now, lt, (uint32_t)len, (uint32_t)len, f);
        free(f);
        data += len;
        size -= len;
        now += 1000;
    }
    egret_engine_flush(engine);
    now += 10000000; /* the next input starts later */
    return 0;
}
