/*
 * keylogs.c -- the command's TLS key logs (keylogs.h).
 */
#include "keylogs.h"

#include <inttypes.h>
#include <stdio.h>

#define DSB_TLS_KEYLOG 0x544c534bu /* "TLSK": an NSS key log */
#define SMALL_CAPACITY 1024        /* sessions, when only pcapng secrets feed it */

static void bad_line(void *ud, const char *source, uint64_t line, const char *reason)
{
    const int *quiet = ud;
    if (!*quiet)
        fprintf(stderr, "egret: %s:%" PRIu64 ": key log line ignored: %s\n", source, line, reason);
}

egret_keylog *keylogs_open(const char *const *files, size_t n, int quiet)
{
    static int q;
    q = quiet;
    egret_keylog *k = egret_keylog_new(n ? 0 : SMALL_CAPACITY, bad_line, &q);
    if (!k) {
        fprintf(stderr, "egret: out of memory for the TLS key log\n");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char err[EGRET_ERRBUF_SIZE] = "";
        if (egret_keylog_follow(k, files[i], err) != EGRET_OK) {
            fprintf(stderr, "egret: --tls-keylog %s\n", err);
            egret_keylog_free(k);
            return NULL;
        }
    }
    return k;
}

void keylogs_take_secrets(egret_keylog *k, cap_source *s, size_t *used, const char *name)
{
    if (!k || !s) return;
    size_t n = cap_secrets_count(s);
    for (; *used < n; (*used)++) {
        pcapng_secrets sec;
        if (cap_secrets_get(s, *used, &sec) && sec.type == DSB_TLS_KEYLOG)
            egret_keylog_add(k, name, sec.data, sec.len);
    }
}
