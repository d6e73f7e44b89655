/*
 * rules_dispatch.c -- calling rules: whether a hook has takers
 * (rules_wants*), each subscribed rule of a hook under its limits
 * (instructions, memory, wall-clock time) through lua_pcall with a message
 * handler; faults counted, logged once per kind, and a rule that keeps
 * failing disabled; per-flow cleanup; the per-rule counters (rules_stats,
 * rules_rule_stats).
 */
#include "rules.h"
#include "rules_int.h"

#include <stdio.h>
#include <string.h>

/* ---- dispatch ---- */

static int call_trampoline(lua_State *L)
{
    rule_file *f = rules_ctx(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->cur_rule->ref_hook[f->cur_hook]);
    rules_flow_push(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->cur_rule->ref_table);
    lua_call(L, 2, 0);
    return 0;
}

static void fault(rule_def *d, const char *kind, bool *logged, const char *msg)
{
    struct rules *r = d->file->owner;
    d->faults++;
    if (r->cfg.on_fault) /* the rule tooling reports every fault itself */
        r->cfg.on_fault(r->cfg.fault_ud, d->sid, rules_hook_name(d->file->cur_hook), kind, msg);
    else if (!*logged) {
        *logged = true;
        rules_logf(r, 0, "rule %u (%s) %s: %s", d->sid, d->name, kind, msg);
    }
    if (d->faults >= r->cfg.max_faults && !d->disabled) {
        d->disabled = true;
        rules_logf(r, 1, "rule %u (%s, %s) disabled after %u faults", d->sid, d->name,
                   d->file->path, d->faults);
    }
}

static void call_rule(rule_def *d, rule_hook hook, const rule_view *v, uint64_t now_us)
{
    rule_file *f = d->file;
    lua_State *L = f->L;
    f->in_call = true;
    f->cur_rule = d;
    f->cur_view = v;
    f->cur_hook = hook;
    f->now_us = now_us;
    f->call_gen++;
    f->instr_used = 0;
    f->instr_hit = f->mem_hit = f->time_hit = false;
    d->call_alerts = 0;
    d->calls++;
    /* Time spent inside a rule, on the monotonic clock (vDSO; the thread's
     * CPU clock is a system call and cost as much as the Lua itself).  The
     * engine thread runs nothing else during the call, so this is the
     * rule's CPU time plus any preemption.  The same reading arms the
     * call's deadline: two clock reads per call, not three. */
    uint64_t t0 = rules_now_ns();
    rules_arm_deadline(f, t0);
    lua_settop(L, 0);
    lua_sethook(L, rules_count_hook, LUA_MASKCOUNT, RULES_HOOK_STEP);
    lua_pushcfunction(L, rules_msgh);
    lua_pushcfunction(L, call_trampoline);
    int st = lua_pcall(L, 0, 0, 1);
    lua_sethook(L, NULL, 0, 0);
    f->in_call = false;
    f->cur_view = NULL;
    f->call_gen++; /* invalidates every flow view of this call */
    if (st != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        char buf[600];
        if (f->instr_hit) {
            d->instr_limit++;
            fault(d, "instruction limit", &d->logged_instr, m ? m : "exceeded");
        } else if (f->time_hit) {
            d->time_limit++;
            fault(d, "time limit", &d->logged_time, m ? m : "exceeded");
        } else if (st == LUA_ERRMEM || f->mem_hit) {
            d->mem_limit++;
            snprintf(buf, sizeof(buf), "%s: memory limit exceeded (%zu bytes) in %s", f->path,
                     f->mem_limit, rules_hook_name(hook));
            fault(d, "memory limit", &d->logged_mem, buf);
        } else {
            d->errors++;
            fault(d, "error", &d->logged_err, m ? m : "error");
        }
    }
    lua_settop(L, 0);
    d->cpu_ns += rules_now_ns() - t0;
}

bool rules_wants(const rules *r, rule_hook hook)
{
    if (!r || (unsigned)hook >= RH__COUNT) return false;
    for (size_t i = 0; i < r->n_by_hook[hook]; i++)
        if (!r->by_hook[hook][i]->disabled) return true;
    return false;
}

bool rules_wants_flow(const rules *r, rule_hook hook, bool has_ai, bool src_internal)
{
    if (!r || (unsigned)hook >= RH__COUNT) return false;
    for (size_t i = 0; i < r->n_by_hook[hook]; i++) {
        const rule_def *d = r->by_hook[hook][i];
        if (d->disabled) continue;
        if ((d->needs & RULE_NEEDS_AI) && !has_ai) continue;
        if ((d->needs & RULE_NEEDS_INTERNAL_SRC) && !src_internal) continue;
        return true;
    }
    return false;
}

void rules_flush_begin(rules *r)
{
    if (!r) return;
    r->flush_deadline_ns = rules_now_ns() + (uint64_t)r->cfg.flush_budget_ms * 1000000ull;
}

void rules_flush_end(rules *r)
{
    if (r) r->flush_deadline_ns = 0;
}

/* True (counted, said once) when the flush's budget is spent. */
static bool flush_spent(rules *r)
{
    if (!r->flush_deadline_ns || rules_now_ns() <= r->flush_deadline_ns) return false;
    r->flush_skipped++;
    if (!r->flush_warned) {
        r->flush_warned = true;
        rules_logf(r, 1 /* warning */,
                   "rules: the flush's budget (%u ms) is spent: the remaining rule calls at "
                   "the end are skipped (flush_skipped); flow records are still written",
                   r->cfg.flush_budget_ms);
    }
    return true;
}

void rules_dispatch(rules *r, rule_hook hook, const rule_view *v, uint64_t now_us)
{
    if (!r || (unsigned)hook >= RH__COUNT) return;
    if (r->flush_deadline_ns && r->n_by_hook[hook] && flush_spent(r)) return;
    for (size_t i = 0; i < r->n_by_hook[hook]; i++) {
        rule_def *d = r->by_hook[hook][i];
        if (d->disabled) continue;
        if (((d->needs & RULE_NEEDS_AI) && !v->has_ai) ||
            ((d->needs & RULE_NEEDS_INTERNAL_SRC) && !v->src_internal)) {
            d->filtered++;
            continue;
        }
        call_rule(d, hook, v, now_us);
    }
}

void rules_flow_forget(rules *r, uint64_t flow_id)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_files; i++) rules_lib_flow_forget(r->files[i], flow_id);
}

/* ---- stats ---- */

bool rules_rule_stats(const rules *r, size_t i, rule_stats *out)
{
    if (!r || i >= r->n_defs) return false;
    const rule_def *d = r->defs[i];
    *out = (rule_stats){.sid = d->sid,
                        .name = d->name,
                        .file = d->file->path,
                        .calls = d->calls,
                        .alerts = d->alerts,
                        .suppressed = d->suppressed,
                        .errors = d->errors,
                        .instr_limit = d->instr_limit,
                        .mem_limit = d->mem_limit,
                        .time_limit = d->time_limit,
                        .alerts_capped = d->alerts_capped,
                        .cpu_us = d->cpu_ns / 1000,
                        .filtered = d->filtered,
                        .disabled = d->disabled};
    return true;
}

void rules_stats(const rules *r, jw *w)
{
    jw_obj_open(w, "rules");
    if (!r) {
        jw_obj_close(w);
        return;
    }
    jw_u64(w, "files", r->n_files);
    jw_u64(w, "loaded", r->n_defs);
    jw_u64(w, "load_errors", r->load_errors);
    window_stats tot = {0};
    uint64_t mem = 0, log_dropped = 0, supp_evicted = 0;
    for (size_t i = 0; i < r->n_files; i++) {
        const rule_file *f = r->files[i];
        mem += f->mem_used;
        supp_evicted += f->supp_evicted;
        log_dropped += f->log_dropped;
        for (size_t k = 0; k < f->n_wins; k++) {
            window_stats s;
            window_get_stats(f->wins[k].w, &s);
            tot.keys += s.keys;
            tot.adds += s.adds;
            tot.evictions += s.evictions;
            tot.expired += s.expired;
            tot.refused += s.refused;
        }
    }
    jw_u64(w, "memory", mem);
    jw_u64(w, "log_dropped", log_dropped);
    if (r->cfg.fleet) {
        jw_obj_open(w, "fleet");
        jw_u64(w, "syncs", r->fleet_syncs);
        jw_u64(w, "failures", r->fleet_failures);
        jw_u64(w, "fallbacks", r->fleet_fallbacks);
        jw_bool(w, "local", r->fleet_down);
        jw_u64(w, "claims", r->fleet_claims);
        jw_u64(w, "claims_lost", r->fleet_claims_lost);
        jw_u64(w, "dropped", r->fleet_dropped);
        jw_obj_close(w);
    }
    jw_u64(w, "suppress_evicted", supp_evicted);
    jw_u64(w, "flush_skipped", r->flush_skipped);
    jw_obj_open(w, "windows");
    jw_u64(w, "keys", tot.keys);
    jw_u64(w, "adds", tot.adds);
    jw_u64(w, "evictions", tot.evictions);
    jw_u64(w, "expired", tot.expired);
    jw_u64(w, "refused", tot.refused);
    jw_obj_close(w);
    jw_arr_open(w, "per_rule");
    for (size_t i = 0; i < r->n_defs; i++) {
        rule_stats s;
        rules_rule_stats(r, i, &s);
        jw_obj_open(w, NULL);
        jw_u64(w, "sid", s.sid);
        jw_str(w, "file", s.file);
        jw_u64(w, "calls", s.calls);
        jw_u64(w, "filtered", s.filtered);
        jw_u64(w, "alerts", s.alerts);
        jw_u64(w, "suppressed", s.suppressed);
        jw_u64(w, "errors", s.errors);
        jw_u64(w, "instr_limit", s.instr_limit);
        jw_u64(w, "mem_limit", s.mem_limit);
        jw_u64(w, "time_limit", s.time_limit);
        jw_u64(w, "alerts_capped", s.alerts_capped);
        jw_bool(w, "disabled", s.disabled);
        jw_u64(w, "cpu_us", s.cpu_us);
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_obj_close(w);
}
