/*
 * rules_int.h -- state shared by rules.c (host: sandbox, loading,
 * dispatch, limits) and rules_lib.c (the egret.* library, the flow view,
 * alert and windows).  Not for other modules: it exposes Lua types.
 */
#ifndef EGRET_RULES_INT_H
#define EGRET_RULES_INT_H

#include <lauxlib.h>
#include <lua.h>

#include "rules.h"
#include "window.h"

#define RULES_HOOK_STEP          100   /* count hook granularity (instructions) */
#define RULES_FLOW_STATE_CAP     65536 /* per-flow state tables per rule file */
#define RULES_KEY_STATE_CAP      16384 /* per-key state tables per rule file */
#define RULES_SUPP_KEY_CAP       16384 /* suppression keys per rule file */
#define RULES_LOG_PER_MIN        20    /* egret.log lines per rule file per minute */
#define RULES_DEFAULT_SUPPRESS_S 600

struct rule_file;

#define RULE_NEEDS_AI           1u
#define RULE_NEEDS_INTERNAL_SRC 2u

typedef struct rule_def {
    uint32_t sid, rev;
    int severity;
    char *name, *category;
    struct rule_file *file;
    int line;
    int ref_table;
    int ref_hook[RH__COUNT]; /* LUA_NOREF: not subscribed */
    double suppress_s;
    unsigned needs; /* RULE_NEEDS_* prefilters */
    /* counters */
    uint64_t filtered; /* calls skipped by 'needs' */
    uint64_t calls, alerts, suppressed, errors, instr_limit, mem_limit, cpu_ns;
    uint32_t faults;
    bool disabled, logged_err, logged_instr, logged_mem;
} rule_def;

typedef struct rule_window {
    char *name;
    window *w;
    uint32_t n_fields;
    char *fields[WINDOW_MAX_FIELDS];
} rule_window;

/* One lua_State per rule file; also the allocator's and hook's 'ud'. */
typedef struct rule_file {
    struct rules *owner;
    char *path;
    lua_State *L;
    size_t mem_used, mem_limit, mem_peak;
    uint64_t instr_used, instr_limit;
    bool mem_hit, instr_hit, loading, in_call;
    /* the current call */
    rule_def *cur_rule;
    const rule_view *cur_view;
    rule_hook cur_hook;
    uint64_t now_us, call_gen;
    /* rules declared by this file */
    rule_def **defs;
    size_t n_defs;
    rule_window *wins;
    size_t n_wins;
    size_t n_flow_states, n_growth_states, n_key_states, n_supp_keys;
    uint64_t log_t0, log_n, log_dropped;
} rule_file;

struct rules {
    rules_config cfg;
    rule_file **files;
    size_t n_files;
    rule_def **defs; /* every loaded rule, load order */
    size_t n_defs;
    rule_def **by_hook[RH__COUNT];
    size_t n_by_hook[RH__COUNT];
    rule_file cfgf; /* the config state (data only) */
    jw why;
    size_t load_errors;
};

/* rules.c */
rule_file *rules_ctx(lua_State *L);
void rules_logf(struct rules *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Pushes a deep copy of config value 'key' (dotted) onto L, or nothing and
 * returns false when absent.  [-0, +(0|1), m] */
bool rules_config_push(struct rules *r, lua_State *L, const char *key);

/* rules_lib.c */
/* Opens the egret library into the sandbox (global 'egret', 'alert'). [-0, +0, m] */
void rules_lib_open(lua_State *L);
/* Pushes a new flow view for the current call.  [-0, +1, m] */
void rules_lib_push_flow(lua_State *L);
/* Per-flow state/suppression cleanup for one flow in one file. [-0, +0, -] */
void rules_lib_flow_forget(rule_file *f, uint64_t flow_id);
void rules_lib_free_windows(rule_file *f);

#endif /* EGRET_RULES_INT_H */
