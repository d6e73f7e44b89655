/*
 * rules_int.h -- the rule host's state and small interface, shared by
 * its files: rules.c (sandbox, limits, loading), rules_config.c
 * (configuration), rules_dispatch.c (calls, faults, counters) and the
 * libraries a rule sees, rules_lib.c (egret.*, alert{}), rules_flow.c (the
 * flow view) and rules_window.c (egret.window).  Not for other modules: it
 * exposes Lua types.  It builds on rule_view.h, not rules.h, so that the
 * host's public header and this one form no include cycle.
 */
#ifndef EGRET_RULES_INT_H
#define EGRET_RULES_INT_H

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <time.h>

#include "json.h"
#include "rule_view.h"
#include "window.h"

#define RULES_HOOK_STEP          100   /* count hook granularity (instructions) */
#define RULES_FLOW_STATE_CAP     65536 /* per-flow state tables per rule file */
#define RULES_KEY_STATE_CAP      16384 /* per-key state tables per rule file */
#define RULES_SUPP_KEY_CAP       16384 /* suppression keys per rule file */
#define RULES_LOG_PER_MIN        20    /* egret.log lines per rule file per minute */
#define RULES_DEFAULT_SUPPRESS_S 600

/* Registry tables of a rule file's lua_State (rules_lib_open creates
 * them; their entries count against the file's memory cap). */
#define REG_FLOWSTATE "egret.flowstate"
#define REG_KEYSTATE  "egret.keystate"
#define REG_KEYEXP    "egret.keyexp"
#define REG_SUPPFLOW  "egret.suppflow"
#define REG_SUPPKEY   "egret.suppkey"
#define REG_SUPPRING  "egret.suppring"
#define REG_GROWTH    "egret.growth"

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
    bool fleet;     /* rule{ fleet = true }: suppression shared through the window store */
    unsigned needs; /* RULE_NEEDS_* prefilters */
    /* counters */
    uint64_t filtered; /* calls skipped by 'needs' */
    uint64_t calls, alerts, suppressed, errors, instr_limit, mem_limit, time_limit, cpu_ns;
    uint64_t alerts_capped; /* alert{} refused by the per-call or per-flow cap */
    uint32_t faults;
    uint32_t call_alerts; /* alerts raised in the current call */
    bool disabled, logged_err, logged_instr, logged_mem, logged_time;
} rule_def;

struct fleet_win; /* rules_fleet.c */

typedef struct rule_window {
    char *name;
    window *w;
    uint32_t n_fields;
    char *fields[WINDOW_MAX_FIELDS];
    struct fleet_win *fleet; /* egret.window(..., {fleet = true}) with a store; else NULL */
} rule_window;

/* One lua_State per rule file; also the allocator's and hook's 'ud'. */
typedef struct rule_file {
    struct rules *owner;
    char *path;
    lua_State *L;
    size_t mem_used, mem_limit, mem_peak;
    uint64_t instr_used, instr_limit;
    uint64_t deadline_ns; /* CPU deadline of the current call or load (monotonic); 0 = none */
    uint32_t ticks;       /* budget checks, to read the clock every few of them */
    bool mem_hit, instr_hit, time_hit, loading, in_call;
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
    size_t supp_head;      /* oldest keyed suppression mark in REG_SUPPRING */
    uint64_t supp_evicted; /* marks forgotten before they expired (table full) */
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
    size_t config_errors; /* unknown or mistyped configuration keys */
    /* fleet-wide windows (rules_fleet.c) */
    bool fleet_down, fleet_warned;
    uint64_t fleet_syncs, fleet_failures, fleet_fallbacks, fleet_claims, fleet_claims_lost,
        fleet_dropped;
    char path_err[300]; /* the first rule path that is missing or holds no rule */
    /* the flush's budget (rules_flush_begin/end); 0 = not flushing */
    uint64_t flush_deadline_ns;
    uint64_t flush_skipped; /* hook dispatches skipped once it was spent */
    bool flush_warned;
};

/* rules_fleet.c: a fleet window's pending increments and its last sums */
struct fleet_win *rules_fleet_win_new(void);
void rules_fleet_win_free(struct fleet_win *fw);
/* After a local w:add: the increment to send at the next sync. */
void rules_fleet_note_add(struct rules *r, rule_window *rw, const char *k, size_t n,
                          const double *vals, uint64_t now_us);
/* w:get of a fleet window: 'out' holds the local sums; becomes the
 * fleet's when the store answered for the key.  Pushes the sensors' parts
 * table (or nothing) and returns whether it did. */
bool rules_fleet_get(lua_State *L, struct rules *r, rule_window *rw, const char *k, size_t n,
                     uint64_t now_us, double *out);
/* This sensor's name ("" when the store gave none). */
const char *rules_fleet_sensor(const struct rules *r);
/* Shared suppression of a fleet rule's alert: true when another sensor
 * raised it within the period. */
bool rules_fleet_claimed_elsewhere(struct rules *r, rule_def *d, const char *key, uint64_t now_us,
                                   double period_s);

/* rules.c */
/* The rule file whose state L is (the allocator's 'ud'). */
rule_file *rules_ctx(lua_State *L);
/* The count hook: raises "instruction limit exceeded" past instr_limit,
 * "time limit exceeded" past the deadline. */
void rules_count_hook(lua_State *L, lua_Debug *ar);
/* Charges n steps of C work done for the running rule (rules_pattern.c)
 * against the same budget as the hook; raises when it is spent.  A no-op
 * on states that are not a rule file's or while no hook is set. */
void rules_charge(lua_State *L, uint64_t n);
/* Monotonic nanoseconds (vDSO: no system call). */
static inline uint64_t rules_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
/* Arms f's deadline for one call or load (cfg.time_limit_ms) that
 * started at now_ns (rules_now_ns: a caller that reads the clock anyway
 * passes its reading). */
void rules_arm_deadline(rule_file *f, uint64_t now_ns);
/* pcall message handler: a non-string error object is described. */
int rules_msgh(lua_State *L);
void rules_logf(struct rules *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Seconds <-> microseconds for values rules see and give. */
static inline double secs(uint64_t us)
{
    return (double)us / 1e6;
}

static inline uint64_t to_us(double s)
{
    return s <= 0 ? 0 : (uint64_t)llround(s * 1e6);
}

/* rules_config.c */
/* Pushes a deep copy of config value 'key' (dotted) onto L, or nothing and
 * returns false when absent.  [-0, +(0|1), m] */
bool rules_config_push(struct rules *r, lua_State *L, const char *key);
/* Builds the config table in the registry of r->cfgf.L.  Protected:
 * light userdata arg = rules. */
int rules_config_build(lua_State *L);
/* The whole file at 'path' (NUL-terminated, length in *n; the caller
 * frees it), or NULL with the reason in err. */
char *rules_read_file(const char *path, size_t *n, char *err, size_t errlen);

/* rules_lib.c: the egret.* library, alert{}, state and suppression */
/* Opens the egret library into the sandbox (global 'egret', 'alert'), the
 * flow and window metatables and the registry tables. [-0, +0, m] */
void rules_lib_open(lua_State *L);
/* Per-flow state/suppression cleanup for one flow in one file. [-0, +0, -] */
void rules_lib_flow_forget(rule_file *f, uint64_t flow_id);

/* rules_pattern.c: string.find/match/gmatch/gsub on egret's own matcher,
 * every step charged (rules_charge).  Sets them into the table on top. */
void rules_pattern_open(lua_State *L);

/* rules_flow.c: the flow view */
/* Creates the "egret.flow" metatable.  [-0, +0, m] */
void rules_flow_open(lua_State *L);
/* Pushes a new flow view for the current call.  [-0, +1, m] */
void rules_flow_push(lua_State *L);
/* flow:state() and egret.state.flow(flow) -> the per-flow table (Lua-facing). */
int rules_flow_state(lua_State *L);

/* rules_window.c: egret.window */
/* Creates the "egret.window" metatable.  [-0, +0, m] */
void rules_window_open(lua_State *L);
/* egret.window(name, span_s [, opts]) -> window (Lua-facing). */
int rules_window_new(lua_State *L);
void rules_window_free_all(rule_file *f);

#endif /* EGRET_RULES_INT_H */
