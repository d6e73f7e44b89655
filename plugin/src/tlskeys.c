/*
 * tlskeys.c -- the public TLS key log (egret_keylog, egret.h): one key
 * table that every engine of a process reads (keylog.h's table takes a
 * read lock per lookup), the key-log files it follows and the text given
 * to it (pcapng Decryption Secrets Blocks).  The host calls the
 * egret_keylog_* functions from one thread; engines only read the table.
 */
#include "egret.h"

#include "keylog.h"
#include "tlskeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILES 16

/* keylog_bad_fn carries no source: one context per source. */
typedef struct bad_ctx {
    egret_keylog *k;
    const char *source;
} bad_ctx;

struct egret_keylog {
    keylog_table *table;
    egret_keylog_bad_cb bad;
    void *ud;
    keylog_file file[MAX_FILES];
    bad_ctx fctx[MAX_FILES];
    size_t n_files;
    uint64_t text_secrets, text_malformed;
};

static void bad_line(void *ud, uint64_t line, const char *reason)
{
    const bad_ctx *b = ud;
    if (b->k->bad) b->k->bad(b->k->ud, b->source, line, reason);
}

egret_keylog *egret_keylog_new(size_t capacity, egret_keylog_bad_cb bad, void *ud)
{
    egret_keylog *k = calloc(1, sizeof(*k));
    if (!k) return NULL;
    k->table = keylog_table_new(capacity);
    if (!k->table) {
        free(k);
        return NULL;
    }
    k->bad = bad;
    k->ud = ud;
    return k;
}

int egret_keylog_follow(egret_keylog *k, const char *path, char err[EGRET_ERRBUF_SIZE])
{
    if (!k || !path) return EGRET_EINVAL;
    if (k->n_files == MAX_FILES) {
        if (err) snprintf(err, EGRET_ERRBUF_SIZE, "%s: at most %d key log files", path, MAX_FILES);
        return EGRET_ECONFIG;
    }
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) { /* absent: followed until it appears */
        if (err)
            snprintf(err, EGRET_ERRBUF_SIZE,
                     "%s: not a regular file (a key log is followed as a file)", path);
        return EGRET_ECONFIG;
    }
    size_t i = k->n_files;
    k->fctx[i] = (bad_ctx){k, NULL};
    if (keylog_file_open(&k->file[i], path, k->table, bad_line, &k->fctx[i]) != 0) {
        if (err) snprintf(err, EGRET_ERRBUF_SIZE, "%s: out of memory", path);
        return EGRET_ENOMEM;
    }
    k->fctx[i].source = k->file[i].path;
    k->n_files++;
    keylog_table_expect(k->table);    /* keys will come: TLS flows are held for them */
    keylog_file_poll(&k->file[i], 0); /* what the file holds now */
    return EGRET_OK;
}

long egret_keylog_poll(egret_keylog *k)
{
    if (!k) return 0;
    long total = 0;
    for (size_t i = 0; i < k->n_files; i++) {
        long n = keylog_file_poll(&k->file[i], 1u << 20);
        if (n > 0) total += n;
    }
    return total;
}

void egret_keylog_reread(egret_keylog *k)
{
    if (!k) return;
    for (size_t i = 0; i < k->n_files; i++) keylog_file_reread(&k->file[i]);
    egret_keylog_poll(k);
}

size_t egret_keylog_add(egret_keylog *k, const char *source, const void *text, size_t len)
{
    if (!k || !text) return 0;
    bad_ctx b = {k, source ? source : "key log text"};
    uint64_t bad = 0;
    size_t n = keylog_parse_buffer(k->table, text, len, bad_line, &b, &bad);
    k->text_secrets += n;
    k->text_malformed += bad;
    return n;
}

void egret_keylog_stats_sized(const egret_keylog *k, egret_keylog_stats *out, size_t size)
{
    if (!out || size < sizeof(uint32_t)) return;
    egret_keylog_stats s;
    memset(&s, 0, sizeof(s));
    if (k) {
        keylog_table_stats ts;
        keylog_table_get_stats(k->table, &ts);
        s.entries = ts.entries;
        s.evicted = ts.evictions;
        s.lookups = ts.lookups;
        s.hits = ts.hits;
        s.secrets = k->text_secrets;
        s.malformed = k->text_malformed;
        for (size_t i = 0; i < k->n_files; i++) {
            const keylog_reader *r = &k->file[i].rd;
            s.lines += r->lines;
            s.secrets += r->stored;
            s.ignored += r->ignored;
            s.malformed += r->malformed;
            s.reopens += k->file[i].reopens;
        }
    }
    size_t n = size < sizeof(s) ? size : sizeof(s);
    s.struct_size = (uint32_t)n;
    memcpy(out, &s, n);
}

void egret_keylog_free(egret_keylog *k)
{
    if (!k) return;
    for (size_t i = 0; i < k->n_files; i++) keylog_file_close(&k->file[i]);
    keylog_table_free(k->table);
    free(k);
}

keylog_table *tlskeys_table(egret_keylog *k)
{
    return k ? k->table : NULL;
}
