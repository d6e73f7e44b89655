/*
 * fuzz_eve.c -- the CLI's readers of EVE text (jscan.c): each line of the
 * input through the summary's tally, the alert log's line (small and
 * large buffers) and `egret report`'s aggregate, whose page is then
 * written to /dev/null.  EVE is egret's own output, but `egret report`
 * reads any file it is given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "report.h"
#include "tally.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tally t;
    static FILE *devnull;
    char line[512], big[4096], key[32];
    if (!devnull) devnull = fopen("/dev/null", "w");
    memset(&t, 0, sizeof(t));
    report *rp = report_new();
    if (!rp) return 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        tally_add(&t, p, n);
        tally_alert_line(p, n, line, sizeof(line));
        tally_alert_line(p, n, line, 3);
        report_add(rp, p, n);
        js_val v = js_root(p, n), m;
        js_str(js_get(v, "alert.why"), big, sizeof(big));
        for (size_t i = 0; i < 8 && js_member(v, i, key, sizeof(key), &m); i++) js_num(m);
        p += n + (nl ? 1 : 0);
    }
    if (devnull) {
        tally_print(devnull, &t);
        report_write(rp, devnull, "fuzz");
    }
    report_free(rp);
    return 0;
}
