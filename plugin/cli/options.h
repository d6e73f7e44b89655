/*
 * options.h -- the egret command line's options: one table that parses
 * argv into a cli_opts and prints --help.
 *
 * Uses only egret.h (for the EVE record type bits) and getopt_long.
 */
#ifndef EGRET_CLI_OPTIONS_H
#define EGRET_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OPTS_USAGE_LINE "Usage: egret [options] -r PATH... | -i IFACE"

/* A repeatable option's values in command-line order (pointers into argv). */
typedef struct cli_list {
    const char **v;
    size_t n, cap;
} cli_list;

#define OPTS_ROWS_MAX 128 /* rows of the options table (checked at start) */

typedef struct cli_opts {
    cli_list inputs;   /* -r PATH */
    const char *iface; /* -i */
    const char *filter;
    const char *out_path; /* NULL or "-" = stdout */
    uint32_t eve_types;
    const char *home_net;
    uint64_t max_flows; /* 0 = engine default */
    uint32_t stats_interval_s;
    bool stats_interval_set;
    bool no_community_id;
    const char *ndpi_protos_file;
    const char *ndpi_categories_file;
    cli_list ai_catalogs; /* --ai-catalog FILE */
    const char *geoip_db, *asn_db, *data_dir;
    bool no_geo, no_ndpi_ai;
    cli_list rule_paths;      /* -R PATH */
    cli_list rule_sets;       /* --set KEY=VALUE */
    const char *rules_config; /* -c FILE */
    bool no_rules, check_rules;
    const char *test_path; /* egret test PATH */
    unsigned workers;      /* --workers N; 0 = default (1 replay, cores live) */
    const char *evidence_dir;
    cli_list tls_keylogs; /* --tls-keylog FILE */
    bool no_inspect;
    uint64_t inspect_depth, reasm_memcap;
    uint32_t tick_interval_s;
    unsigned buffer_mib;   /* 0 = the CLI's default (CLI_BUFFER_MIB_DEFAULT) */
    bool no_fanout;        /* live workers share one capture (no kernel fanout) */
    bool truncate;         /* --truncate: empty the outputs at start */
    const char *alert_log; /* --alert-log FILE */
    const char *pidfile;   /* --pidfile FILE */
    const char *user;      /* --user NAME: drop root after opening the capture */
    bool quiet, verbose;
    /* EVE to Redis (--eve-redis) */
    const char *eve_redis, *redis_key, *redis_mode, *redis_spool, *sensor_name;
    const char *window_store; /* --window-store URL: fleet-wide rule windows */
    uint64_t redis_maxlen, redis_spool_max;
    bool geo_test_ok; /* configuration geo.test_databases: an installed egret may use them */
    /* which rows the command line gave (the configuration file fills the rest) */
    bool given[OPTS_ROWS_MAX];
    char **owned; /* strings copied from the configuration file */
    size_t n_owned, cap_owned;
} cli_opts;

/* What opts_parse found. */
typedef enum {
    OPTS_RUN,     /* 'o' is filled: go on */
    OPTS_HELP,    /* --help: the caller prints opts_usage(stdout) */
    OPTS_VERSION, /* --version: the caller prints the versions */
    OPTS_USAGE,   /* a usage error: the message and usage line are on 'errf' */
} opts_result;

/* Fills 'o' from argv ("egret test PATH [options]" included).  Error
 * messages ("egret: ...") and the usage line go to 'errf'.  The lists in
 * 'o' are allocated here whatever the result: free them with opts_free. */
opts_result opts_parse(int argc, char **argv, cli_opts *o, FILE *errf);

/* Frees what opts_parse allocated; the strings stay argv's. */
void opts_free(cli_opts *o);

/* Applies the value 'arg' of long option 'name' as the configuration file
 * gives it: skipped (returns 0) when the command line gave that option,
 * which overrides the file; 1 when applied; -1 with a message in 'err'
 * when the name is unknown or the value bad.  'arg' is copied. */
int opts_apply_config(cli_opts *o, const char *name, const char *arg, char *err, size_t err_size);

/* After the configuration file: an input is given (-r or -i), and not
 * both.  Prints the usage error and returns false otherwise. */
bool opts_check_input(cli_opts *o, FILE *errf);

/* Prints --help: usage lines, every option of the table, exit status. */
void opts_usage(FILE *fp);

#endif
