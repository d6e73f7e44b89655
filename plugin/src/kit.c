/*
 * kit.c -- rule tooling behind egret_tools.h: --check-rules (load and
 * validate a rule set without an engine) and the rule-author test kit,
 * whose capture tests run an engine through the public API and one seam
 * (hooks_use_rules: the test's rules, an alert tap).
 */
#include "egret_tools.h"

#include "conf_keys.h"
#include "config.h"
#include "hooks.h"
#include "paths.h"
#include "rules.h"
#include "rules_test.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A throwaway engine-less rules_config for --check-rules / test. */
static int rules_tool_config(const egret_config *cfg, rules_config *rc, const char **def,
                             char *conf, size_t conflen)
{
    memset(rc, 0, sizeof(*rc));
    if (cfg->n_rule_paths) {
        rc->paths = cfg->rule_paths;
        rc->n_paths = cfg->n_rule_paths;
    } else {
        def[0] = paths_rules_dir();
        rc->paths = def;
        rc->n_paths = 1;
    }
    rc->config_file = cfg->rules_config_file;
    if (!rc->config_file && !cfg->n_rule_paths) {
        snprintf(conf, conflen, "%s/egret.conf.lua", paths_rules_dir());
        if (access(conf, R_OK) == 0) rc->config_file = conf;
    }
    rc->sets = cfg->rule_sets;
    rc->n_sets = cfg->n_rule_sets;
    rc->mem_limit = (size_t)cfg->rules_mem_limit;
    rc->instr_limit = cfg->rules_instr_limit;
    rc->risk_name = hooks_risk_name;
    return 0;
}

int egret_rules_check(const egret_config *cfg, FILE *report)
{
    egret_config full;
    if (!cfg || config_normalize(cfg, &full) != 0) return 1;
    cfg = &full;
    rules_config rc;
    const char *def[1];
    char conf[4096];
    rules_tool_config(cfg, &rc, def, conf, sizeof(conf));
    return rules_check(&rc, report ? report : stderr);
}

/* ==== the configuration file's host settings ==== */

typedef struct first_error {
    char *err;
    size_t errlen;
} first_error;

static void keep_first_error(void *ud, int level, const char *msg)
{
    first_error *fe = ud;
    if (level == 0 && fe->errlen && !fe->err[0]) snprintf(fe->err, fe->errlen, "%s", msg);
}

int egret_config_file_read(const char *path, const char *const *sets, size_t n_sets,
                           egret_conf_fn fn, void *ud, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    first_error fe = {err, err ? errlen : 0};
    /* a rules host with no rules: it builds (and checks) the configuration */
    rules_config rc = {
        .config_file = path, .sets = sets, .n_sets = n_sets, .on_log = keep_first_error, .ud = &fe};
    size_t nerr = 0;
    char msg[256] = "";
    rules *r = rules_new(&rc, &nerr, msg, sizeof(msg));
    if (!r || nerr) {
        if (!r && err && errlen) snprintf(err, errlen, "%s", msg);
        rules_free(r);
        return -1;
    }
    int rcode = fn ? rules_config_walk_host(r, fn, ud) : 0;
    rules_free(r);
    return rcode;
}

/* ==== the test kit's capture runner ==== */

typedef struct kit_host {
    const egret_config *cfg; /* the host's settings (rules fields ignored) */
    egret_replay_fn replay;
    void *ud;
} kit_host;

static void kit_log(int level, const char *msg, void *ud)
{
    const rules_config *rc = ud;
    if (rc->on_log) rc->on_log(rc->ud, level, msg);
}

/* rules_test_capture_fn: one engine per capture test, running the test's
 * rules (paths, config_text, sets; no config file) with the kit's alert
 * collector as the alert tap.  EVE output is off: the kit compares the
 * rule_view/rule_alert pairs, not JSON. */
static int kit_capture(void *ctx, const rules_test_capture *c, size_t *n_errors, char *err,
                       size_t errlen)
{
    kit_host *h = ctx;
    egret_config cfg = *h->cfg;
    cfg.no_rules = 1; /* loaded below with the test's config */
    cfg.eve_types = 0;
    cfg.on_event = NULL;
    cfg.on_log = kit_log;
    cfg.log_ud = (void *)c->rules;
    if (c->home_net) cfg.home_net = c->home_net;
    if (c->tick_interval_s) cfg.tick_interval_s = c->tick_interval_s;
    if (c->tick_bytes) cfg.tick_bytes = c->tick_bytes;
    if (c->no_geo) cfg.no_geo = 1;
    const char *cats[32];
    size_t nc = 0;
    for (size_t i = 0; i < h->cfg->n_ai_catalog_files && nc < 32; i++)
        cats[nc++] = h->cfg->ai_catalog_files[i];
    for (size_t i = 0; i < c->n_ai_catalog_files && nc < 32; i++)
        cats[nc++] = c->ai_catalog_files[i];
    cfg.ai_catalog_files = nc ? cats : NULL;
    cfg.n_ai_catalog_files = nc;

    egret_engine *e;
    char msg[EGRET_ERRBUF_SIZE] = "";
    if (egret_engine_new(&cfg, &e, msg) != EGRET_OK) {
        snprintf(err, errlen, "engine: %s", msg);
        return -1;
    }
    if (hooks_use_rules(e, c->rules, c->rules->on_alert, c->rules->ud, n_errors, msg,
                        sizeof(msg)) != 0) {
        snprintf(err, errlen, "rules: %s", msg);
        egret_engine_free(e);
        return -1;
    }
    msg[0] = '\0';
    int rc = h->replay(e, c->pcap, msg, sizeof(msg), h->ud);
    if (rc == 0) egret_engine_flush(e);
    egret_engine_free(e);
    if (rc != 0) {
        snprintf(err, errlen, "%s", msg[0] ? msg : egret_strerror(rc));
        return -1;
    }
    return 0;
}

int egret_rules_test(const egret_config *cfg, const char *path, FILE *out, egret_replay_fn replay,
                     void *replay_ud)
{
    egret_config full;
    if (!cfg)
        egret_config_init(&full);
    else if (config_normalize(cfg, &full) != 0)
        return 1;
    cfg = &full;
    if (!path) return 1;
    const char *rules_path = cfg->n_rule_paths ? cfg->rule_paths[0] : paths_rules_dir();
    kit_host h = {cfg, replay, replay_ud};
    return rules_test_run(path, out ? out : stdout, rules_path, replay ? kit_capture : NULL, &h);
}
