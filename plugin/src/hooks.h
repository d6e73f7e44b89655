/*
 * hooks.h -- the engine's side of the rules (hooks.c): rule views, hook
 * dispatch, on_tick scheduling, rule-set loading; and the seam the rule
 * test kit (kit.c) drives an engine through.
 */
#ifndef EGRET_HOOKS_H
#define EGRET_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "dns.h"
#include "egret.h"
#include "flow.h"
#include "geo.h"
#include "inspect.h"
#include "rules.h"

struct fext;

/* Hooks, called by the pipeline (engine.c) as events happen. */
void hooks_classified(egret_engine *e, flow *f, struct fext *x);
void hooks_tick(egret_engine *e, flow *f, struct fext *x, bool force);
void hooks_flow_end(egret_engine *e, flow *f, struct fext *x, const geo_result *g);
void hooks_dns(egret_engine *e, flow *f, struct fext *x, const dns_msg *m);
void hooks_http(egret_engine *e, flow *f, struct fext *x, const inspect_req *r);
/* on_tick for the flows whose interval passed with traffic not yet seen. */
void hooks_sweep_ticks(egret_engine *e);

/* Fills the engine's rules_config (paths, config, sets, limits, callbacks)
 * from its configuration, then loads a rule set with it: broken files are
 * reported with file:line and skipped (*n_errors); NULL only when fatal. */
void hooks_rules_config(egret_engine *e);
rules *hooks_load_rules(egret_engine *e, size_t *n_errors, char *msg, size_t msglen);

/* nDPI's name of flow-risk bit 'bit' (rules_config.risk_name). */
const char *hooks_risk_name(void *ud, int bit);

/* The test kit's seam: replaces the engine's rules by the set 'rc' names
 * (paths, config_text, sets; the engine's limits and callbacks), and
 * hands every alert to 'tap' before its record is built.  Returns 0, or
 * -1 with a message in 'msg'. */
int hooks_use_rules(egret_engine *e, const rules_config *rc, rules_alert_cb tap, void *tap_ud,
                    size_t *n_errors, char *msg, size_t msglen);

#endif /* EGRET_HOOKS_H */
