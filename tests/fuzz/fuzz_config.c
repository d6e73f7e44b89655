/*
 * fuzz_config.c -- the rules' configuration: Lua config text (data only,
 * as -c files and the test kit's config_text are read) and --set
 * overrides.  The input up to its first NUL byte is the config text; each
 * line after it is one --set "a.b=value".  One trivial rule file (written
 * once to a temporary directory) is loaded with them, so the config is
 * built and copied into a rule state (the directory is removed at exit).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SETS 16

static void on_log(void *ud, int level, const char *msg)
{
    (void)ud;
    (void)level;
    (void)msg;
}

static char dir[64];

static void remove_dir(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/r.lua", dir);
    unlink(p);
    rmdir(dir);
}

static const char *rule_dir(void)
{
    if (dir[0]) return dir;
    snprintf(dir, sizeof dir, "/tmp/egret-fuzz-config-XXXXXX");
    if (!mkdtemp(dir)) abort();
    char p[128];
    snprintf(p, sizeof p, "%s/r.lua", dir);
    FILE *f = fopen(p, "w");
    if (!f) abort();
    fputs("local A = egret.config('a', 1)\nlocal B = egret.config('bulk_upload.min_bytes', 10)\n"
          "local C = egret.config('x.y', {})\n"
          "rule { id = 1, name = 'cfg', severity = 3, on_flow_end = function(flow) end }\n",
          f);
    fclose(f);
    atexit(remove_dir);
    return dir;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    size_t tlen = strlen(buf); /* the config text ends at the first NUL */
    const char *sets[MAX_SETS];
    size_t n_sets = 0;
    if (tlen < size) {
        char *p = buf + tlen + 1;
        while (n_sets < MAX_SETS && p < buf + size) {
            char *nl = memchr(p, '\n', (size_t)(buf + size - p));
            if (nl) *nl = 0;
            sets[n_sets++] = p;
            if (!nl) break;
            p = nl + 1;
        }
    }
    const char *paths[1] = {rule_dir()};
    rules_config cfg = {.paths = paths,
                        .n_paths = 1,
                        .config_text = tlen ? buf : NULL,
                        .sets = sets,
                        .n_sets = n_sets,
                        .mem_limit = 4u << 20,
                        .instr_limit = 200000,
                        .max_faults = 3,
                        .on_log = on_log};
    size_t n_err = 0;
    rules *r = rules_new(&cfg, &n_err, NULL, 0);
    rules_free(r);
    free(buf);
    return 0;
}
