/*
 * conffile.c -- the configuration file's host settings, applied to the
 * command line's options (see conffile.h).
 *
 * One table, SETTINGS, maps each key of the host sections to the long
 * option it stands for, so a setting behaves exactly as its option (same
 * checks, same messages) and the command line overrides the file.  The
 * rules' keys in the same file are checked by the engine against what the
 * loaded rules declare; libegret evaluates the file (a Lua data file) and
 * hands the host its sections (egret_config_file_read).
 */
#include "conffile.h"

#include "egret_tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef EGRET_BIN_TO_SYSCONFDIR
#define EGRET_BIN_TO_SYSCONFDIR "../etc"
#endif

/* How a setting's value becomes its option's argument(s). */
typedef enum {
    S_VALUE, /* a string or number: the argument */
    S_LIST,  /* a list (or one string): the option once per element */
    S_JOIN,  /* a list (or one string): one argument, elements joined by ',' */
    S_FLAG,  /* true: the flag; false: nothing */
    S_NOT,   /* false: the flag (a negative option, e.g. fanout = false -> --no-fanout) */
    S_GEOTEST,
} setting_kind;

typedef struct setting {
    const char *key, *option;
    setting_kind kind;
} setting;

/* The reference table in README.md ("Configuration file") lists these. */
static const setting SETTINGS[] = {
    {"capture.interface", "interface", S_VALUE},
    {"capture.filter", "filter", S_VALUE},
    {"capture.buffer_mib", "buffer-size", S_VALUE},
    {"capture.workers", "workers", S_VALUE},
    {"capture.fanout", "no-fanout", S_NOT},
    {"outputs.eve.file", "output", S_VALUE},
    {"outputs.eve.types", "eve", S_JOIN},
    {"outputs.eve.community_id", "no-community-id", S_NOT},
    {"outputs.stats_interval_s", "stats-interval", S_VALUE},
    {"outputs.evidence_dir", "evidence", S_VALUE},
    {"outputs.truncate", "truncate", S_FLAG},
    {"outputs.alert_log", "alert-log", S_VALUE},
    {"service.pidfile", "pidfile", S_VALUE},
    {"service.user", "user", S_VALUE},
    {"outputs.sensor_name", "sensor-name", S_VALUE},
    {"redis.eve.url", "eve-redis", S_VALUE},
    {"redis.eve.key", "redis-key", S_VALUE},
    {"redis.eve.mode", "redis-mode", S_VALUE},
    {"redis.eve.maxlen", "redis-maxlen", S_VALUE},
    {"redis.eve.spool_dir", "redis-spool", S_VALUE},
    {"redis.eve.spool_max", "redis-spool-max", S_VALUE},
    {"redis.window_store", "window-store", S_VALUE},
    {"home_net", "home-net", S_JOIN},
    {"geo.geoip_db", "geoip-db", S_VALUE},
    {"geo.asn_db", "asn-db", S_VALUE},
    {"geo.enabled", "no-geo", S_NOT},
    {"geo.test_databases", NULL, S_GEOTEST},
    {"ai.catalogs", "ai-catalog", S_LIST},
    {"ai.data_dir", "data-dir", S_VALUE},
    {"ai.ndpi", "no-ndpi-ai", S_NOT},
    {"ndpi.protos", "ndpi-protos", S_VALUE},
    {"ndpi.categories", "ndpi-categories", S_VALUE},
    {"inspection.enabled", "no-inspect", S_NOT},
    {"inspection.depth", "inspect-depth", S_VALUE},
    {"inspection.reasm_memcap", "reasm-memcap", S_VALUE},
    {"tls.keylogs", "tls-keylog", S_LIST},
    {"engine.max_flows", "max-flows", S_VALUE},
    {"engine.tick_interval_s", "tick-interval", S_VALUE},
    {"engine.rule_paths", "rules", S_LIST},
};

#define N_SETTINGS (sizeof(SETTINGS) / sizeof(SETTINGS[0]))

typedef struct apply_ctx {
    cli_opts *o;
    char *err;
    size_t errlen;
} apply_ctx;

static const char *type_name(egret_conf_type t)
{
    switch (t) {
    case EGRET_CONF_STRING:
        return "a string";
    case EGRET_CONF_NUMBER:
        return "a number";
    case EGRET_CONF_BOOLEAN:
        return "a boolean";
    case EGRET_CONF_LIST:
        return "a list";
    case EGRET_CONF_TABLE:
        break;
    }
    return "a table";
}

static int fail(apply_ctx *c, const egret_conf_value *v, const char *fmt, const char *a)
{
    char msg[384];
    snprintf(msg, sizeof(msg), fmt, a);
    if (v->line)
        snprintf(c->err, c->errlen, "%s:%d: %s: %s", v->file, v->line, v->key, msg);
    else
        snprintf(c->err, c->errlen, "--set %s: %s", v->key, msg);
    return -1;
}

static int apply_one(apply_ctx *c, const egret_conf_value *v, const setting *s, const char *arg)
{
    char err[256] = "";
    if (opts_apply_config(c->o, s->option, arg, err, sizeof(err)) < 0) return fail(c, v, "%s", err);
    return 0;
}

static int on_setting(const egret_conf_value *v, void *ud)
{
    apply_ctx *c = ud;
    const setting *s = NULL;
    for (size_t i = 0; i < N_SETTINGS && !s; i++)
        if (strcmp(SETTINGS[i].key, v->key) == 0) s = &SETTINGS[i];
    if (!s) return fail(c, v, "unknown setting%s (the settings are listed in README.md)", "");
    switch (s->kind) {
    case S_VALUE:
        if (v->type != EGRET_CONF_STRING && v->type != EGRET_CONF_NUMBER)
            return fail(c, v, "expected a string or a number, got %s", type_name(v->type));
        return apply_one(c, v, s, v->text);
    case S_FLAG:
    case S_NOT:
    case S_GEOTEST:
        if (v->type != EGRET_CONF_BOOLEAN)
            return fail(c, v, "expected true or false, got %s", type_name(v->type));
        if (s->kind == S_GEOTEST) {
            c->o->geo_test_ok = strcmp(v->text, "true") == 0;
            return 0;
        }
        if ((strcmp(v->text, "true") == 0) == (s->kind == S_FLAG)) return apply_one(c, v, s, NULL);
        return 0;
    case S_LIST:
    case S_JOIN:
        break;
    }
    if (v->type == EGRET_CONF_STRING) return apply_one(c, v, s, v->text);
    if (v->type != EGRET_CONF_LIST)
        return fail(c, v, "expected a list of strings, got %s", type_name(v->type));
    if (s->kind == S_LIST) {
        for (size_t i = 0; i < v->n_items; i++)
            if (apply_one(c, v, s, v->items[i]) != 0) return -1;
        return 0;
    }
    size_t len = 1;
    for (size_t i = 0; i < v->n_items; i++) len += strlen(v->items[i]) + 1;
    char *joined = malloc(len);
    if (!joined) return fail(c, v, "out of memory%s", "");
    joined[0] = '\0';
    for (size_t i = 0; i < v->n_items; i++) {
        if (i) strcat(joined, ",");
        strcat(joined, v->items[i]);
    }
    int rc = v->n_items ? apply_one(c, v, s, joined) : 0;
    free(joined);
    return rc;
}

/* -c, else the system's file (installed egret only: a build tree must not
 * pick up whatever configuration the machine has), else the shipped
 * default that goes with the shipped rules. */
static const char *find_config(cli_opts *o, bool installed, char *buf, size_t len)
{
    if (o->rules_config) return o->rules_config;
    if (installed) { /* relative to the executable, as its data: a moved prefix works */
        char exe[2048];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
        if (slash) {
            *slash = '\0';
            snprintf(buf, len, "%s/%s/egret/egret.conf.lua", exe, EGRET_BIN_TO_SYSCONFDIR);
            if (access(buf, F_OK) == 0) return o->rules_config = buf;
        }
    }
    if (o->rule_paths.n == 0) {
        const char *root = getenv("EGRET_DATADIR");
        if (root && root[0]) {
            snprintf(buf, len, "%s/rules/egret.conf.lua", root);
            if (access(buf, R_OK) == 0) return buf;
        }
    }
    return NULL;
}

int conffile_apply(cli_opts *o, bool installed, FILE *errf)
{
    static char sysconf[4096]; /* o->rules_config may point here: lives as long as 'o' */
    char err[512] = "";
    const char *path = find_config(o, installed, sysconf, sizeof(sysconf));
    if (!path) return 0;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(errf, "egret: -c %s: %s\n", path,
                access(path, F_OK) != 0 ? "no such file" : "not a regular file");
        return 2;
    }
    apply_ctx c = {o, err, sizeof(err)};
    int rc = egret_config_file_read(path, o->rule_sets.v, o->rule_sets.n, on_setting, &c, err,
                                    sizeof(err));
    if (rc != 0) {
        fprintf(errf, "egret: configuration: %s\n", err[0] ? err : path);
        return 2;
    }
    return 0;
}
