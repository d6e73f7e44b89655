/*
 * options.c -- the egret command line's options.
 *
 * One table, OPTDEFS, describes every option: its names, its argument,
 * where the value goes in cli_opts and the --help text.  The same table
 * builds getopt_long's lists, stores and checks values, and prints --help,
 * so adding an option is adding a row.
 */
#include "options.h"

#include "egret.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define USAGE_LINE_MORE                                                                            \
    "       egret --check-rules [-R RULES] [-c CONFIG] [--set K=V]\n"                              \
    "       egret test PATH [-R RULES] [-c CONFIG] [--set K=V]\n"                                  \
    "       egret report [-o FILE] EVE-FILE|CAPTURE... [-- OPTIONS]"
#define LONG_ONLY_BASE 256 /* getopt value of a long-only option: this + its row */

/* ==== The table ======================================================= */

/* What a row does with its argument. */
typedef enum {
    ARG_FLAG,    /* no argument: the bool field becomes true */
    ARG_STRING,  /* the const char * field takes the argument */
    ARG_LIST,    /* the argument is appended to the cli_list field */
    ARG_NUMBER,  /* a decimal integer in [min, max] into a 32- or 64-bit field */
    ARG_CALL,    /* 'call' checks and stores the argument */
    ARG_HELP,    /* --help */
    ARG_VERSION, /* --version */
} arg_kind;

typedef bool (*opt_call)(cli_opts *o, const char *arg, char *err, size_t err_size);

/* Columns:
 *   shortname  the short option's letter, 0 when there is none
 *   name       the long option
 *   arg        the argument's name in --help; NULL when it takes none
 *   kind       arg_kind
 *   field      offsetof(cli_opts, field) and its size (FLAG, STRING, LIST,
 *              NUMBER)
 *   min, max   the bounds of a NUMBER
 *   expected   what a NUMBER should be, for "OPTION: expected EXPECTED, got
 *              'ARG'" (OPTION: the short form when there is one)
 *   call       the handler of a CALL row
 *   help       --help text; '\n' starts a new line in the help column */
typedef struct optdef {
    char shortname;
    const char *name;
    const char *arg;
    arg_kind kind;
    size_t field, field_size;
    uint64_t min, max;
    const char *expected;
    opt_call call;
    const char *help;
} optdef;

/* One macro per kind keeps each row to the columns it uses. */
// clang-format off
#define FIELD(f)                         offsetof(cli_opts, f), sizeof(((cli_opts *)0)->f)
#define FLAG(s, n, f, h)                 {s, n, NULL, ARG_FLAG, FIELD(f), 0, 0, NULL, NULL, h}
#define STRING(s, n, a, f, h)            {s, n, a, ARG_STRING, FIELD(f), 0, 0, NULL, NULL, h}
#define LIST(s, n, a, f, h)              {s, n, a, ARG_LIST, FIELD(f), 0, 0, NULL, NULL, h}
#define NUMBER(s, n, a, f, lo, hi, x, h) {s, n, a, ARG_NUMBER, FIELD(f), lo, hi, x, NULL, h}
#define CALL(s, n, a, fn, h)             {s, n, a, ARG_CALL, 0, 0, 0, 0, NULL, fn, h}
#define ACTION(s, n, k, h)               {s, n, NULL, k, 0, 0, 0, 0, NULL, NULL, h}
// clang-format on

static bool set_iface(cli_opts *o, const char *arg, char *err, size_t err_size);
static bool set_eve(cli_opts *o, const char *arg, char *err, size_t err_size);
static bool set_stats_interval(cli_opts *o, const char *arg, char *err, size_t err_size);
static bool add_set(cli_opts *o, const char *arg, char *err, size_t err_size);
static bool set_redis_mode(cli_opts *o, const char *arg, char *err, size_t err_size);

// clang-format off
static const optdef OPTDEFS[] = {
    LIST('r', "read", "PATH", inputs, "read a pcap/pcapng file, a directory of them (name order,\nnot recursive; hidden files and *.md/.txt/.json/.jsonl/\n.csv/.tsv/.sh/.py/.lua/.out files skipped) or - for stdin;\nrepeatable: all inputs feed one engine in order"),
    CALL('i', "interface", "IFACE", set_iface, "capture live on IFACE (stop with SIGINT/SIGTERM)"),
    STRING('f', "filter", "BPF", filter, "only process packets matching the BPF expression"),
    STRING('o', "output", "FILE", out_path, "write EVE JSON lines to FILE (- or default: stdout)"),
    CALL(0, "eve", "TYPES", set_eve, "record types, comma separated: alert,flow,stats,dns,\ntls,http (default alert,flow)"),
    STRING(0, "home-net", "CIDRS", home_net, "internal networks, CIDR[,CIDR...] (default RFC 1918,\nfc00::/7, 100.64.0.0/10)"),
    NUMBER(0, "max-flows", "N", max_flows, 1, UINT64_MAX, "a positive integer", "flow table cap (default 1000000)"),
    CALL(0, "stats-interval", "S", set_stats_interval, "stats record every S seconds of packet time; 0 = at the\nend only (live default 60, replay: engine default)"),
    FLAG(0, "no-community-id", no_community_id, "do not emit community_id"),
    STRING(0, "ndpi-protos", "FILE", ndpi_protos_file, "extra nDPI custom protocols file"),
    STRING(0, "ndpi-categories", "FILE", ndpi_categories_file, "extra nDPI categories file"),
    LIST(0, "ai-catalog", "FILE", ai_catalogs, "extra AI-endpoint catalog (TSV: provider, kind, host\npattern or CIDR, source); adds or overrides entries;\nrepeatable"),
    STRING(0, "data-dir", "DIR", data_dir, "directory of the AI catalog (default: the shipped\nrules/data)"),
    FLAG(0, "no-ndpi-ai", no_ndpi_ai, "do not feed the AI catalog to nDPI as custom protocols"),
    STRING(0, "geoip-db", "FILE", geoip_db, "GeoIP database, GeoLite2-City or -Country layout (default:\n/usr/share/GeoIP, /var/lib/GeoIP, else the shipped test db)"),
    STRING(0, "asn-db", "FILE", asn_db, "ASN database, GeoLite2-ASN layout"),
    FLAG(0, "no-geo", no_geo, "no GeoIP/ASN tagging"),
    LIST('R', "rules", "PATH", rule_paths, "Lua rule file or directory (default: the shipped rules/);\nrepeatable"),
    STRING('c', "config", "FILE", rules_config, "rules configuration, a Lua data file (default with the\nshipped rules: rules/egret.conf.lua)"),
    CALL(0, "set", "KEY=VAL", add_set, "override one configuration value, e.g.\n--set bulk_upload.min_bytes=5e6; repeatable"),
    FLAG(0, "no-rules", no_rules, "run without rules (no alerts)"),
    FLAG(0, "check-rules", check_rules, "load and validate the rules, print problems with\nfile:line, exit 1 on error (no input needed)"),
    NUMBER(0, "tick-interval", "S", tick_interval_s, 1, 86400, "seconds (1-86400)", "call rules' on_tick per flow every S seconds (default 5)"),
    NUMBER(0, "workers", "N", workers, 1, 64, "1-64", "worker threads, each with its own engine; packets are\nsharded by the internal host (default 1 for replay,\nthe number of cores live)"),
    STRING(0, "evidence", "DIR", evidence_dir, "per-alert evidence: alert JSON, a pcap slice of the\nflow's first packets and a redacted body sample (e-mail\naddresses, phone numbers, digit runs masked); off by default"),
    LIST(0, "tls-keylog", "FILE", tls_keylogs, "TLS key log (NSS SSLKEYLOGFILE format) to decrypt TLS\nflows and inspect their HTTP/1.x and HTTP/2 requests;\nfollowed as it grows (SIGHUP re-reads it); repeatable.\npcapng secrets blocks are used without it"),
    FLAG(0, "no-inspect", no_inspect, "no TCP reassembly / clear-text HTTP content inspection"),
    NUMBER(0, "inspect-depth", "BYTES", inspect_depth, 1024, UINT64_MAX, "bytes (>= 1024)", "bytes per direction inspected in a flow (default 4 MiB)"),
    NUMBER(0, "reasm-memcap", "BYTES", reasm_memcap, 1024, UINT64_MAX, "bytes (>= 1024)", "reassembly buffer cap for all flows (default 64 MiB)"),
    NUMBER('B', "buffer-size", "MiB", buffer_mib, 1, 2047, "MiB between 1 and 2047", "live capture kernel buffer size (per worker with\nkernel fanout; default 32 MiB: bursts of a few\nhundred ms at 1 Gbit/s)"),
    FLAG(0, "no-fanout", no_fanout, "live with several workers: one capture whose packets\nthe workers share, instead of one per worker that the\nkernel fills (Linux packet fanout, the default)"),
    /* service: outputs, pid file, user (issue 18) */
    FLAG(0, "truncate", truncate, "empty the output files at start (default: append to\nthem; SIGHUP reopens them, the logrotate way)"),
    STRING(0, "alert-log", "FILE", alert_log, "also write one line per alert for people (fast.log-like:\ntime, sid, signature, severity, addresses, provider,\ncountry, the numbers of 'why')"),
    STRING(0, "pidfile", "FILE", pidfile, "write the process id to FILE; removed at exit"),
    STRING(0, "user", "NAME", user, "switch to user NAME once the capture is open (started\nas root); a service unit with capabilities needs no root"),
    STRING(0, "eve-redis", "URL", eve_redis, "also send every EVE record to Redis:\nredis://[user:password@]host[:port][/db] or\nunix:///path/to.sock (no TLS: tunnel it, see README)"),
    STRING(0, "redis-key", "KEY", redis_key, "the stream, list or channel name (default egret:eve)"),
    CALL(0, "redis-mode", "MODE", set_redis_mode, "stream (XADD, exactly once), list (RPUSH, at least\nonce) or channel (PUBLISH, best effort); default stream"),
    NUMBER(0, "redis-maxlen", "N", redis_maxlen, 0, UINT64_MAX, "a number of records", "stream mode: XADD MAXLEN ~ N (default 1000000; 0 = no\ntrimming)"),
    STRING(0, "redis-spool", "DIR", redis_spool, "records Redis cannot take go to a spool file in DIR and\nare sent in order when it is back (also by a later run);\nwithout it they are dropped (counted)"),
    NUMBER(0, "redis-spool-max", "BYTES", redis_spool_max, 1024, UINT64_MAX, "bytes (>= 1024)", "spool size cap; beyond it records are dropped (counted)\n(default 1 GiB)"),
    STRING(0, "sensor-name", "NAME", sensor_name, "the sensor's name, in every record's host field (default\nthe host name; added with --eve-redis, --window-store or\nthis option)"),
    STRING(0, "window-store", "URL", window_store, "share the fleet-wide rule windows and suppression of\nseveral sensors through Redis (URL as --eve-redis)"),
    FLAG('q', "quiet", quiet, "no progress line, summary or warnings on stderr"),
    FLAG('v', "verbose", verbose, "also print the engine's informational messages"),
    ACTION('h', "help", ARG_HELP, "show this help and exit"),
    ACTION('V', "version", ARG_VERSION, "show egret and libpcap versions and exit"),
};
// clang-format on

#define N_OPTDEFS (sizeof(OPTDEFS) / sizeof(OPTDEFS[0]))
_Static_assert(N_OPTDEFS <= OPTS_ROWS_MAX, "raise OPTS_ROWS_MAX");

/* EVE record type names for --eve. */
static const struct {
    const char *name;
    uint32_t bit;
} EVE_NAMES[] = {
    {"alert", EGRET_EV_ALERT}, {"flow", EGRET_EV_FLOW}, {"stats", EGRET_EV_STATS},
    {"dns", EGRET_EV_DNS},     {"tls", EGRET_EV_TLS},   {"http", EGRET_EV_HTTP},
};

/* ==== Values ========================================================== */

/* Parses a decimal integer in [min, max].  Rejects signs, blanks and
 * trailing characters. */
static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max) return false;
    *out = v;
    return true;
}

/* Parses "alert,flow,..." into EGRET_EV_* bits; an unknown name is copied
 * to 'bad'. */
static bool parse_eve(const char *s, uint32_t *out, char *bad, size_t bad_size)
{
    uint32_t bits = 0;
    const char *p = s;

    for (;;) {
        size_t n = strcspn(p, ",");
        bool found = false;
        for (size_t i = 0; i < sizeof(EVE_NAMES) / sizeof(EVE_NAMES[0]); i++) {
            if (strlen(EVE_NAMES[i].name) == n && strncmp(p, EVE_NAMES[i].name, n) == 0) {
                bits |= EVE_NAMES[i].bit;
                found = true;
            }
        }
        if (!found) {
            snprintf(bad, bad_size, "%.*s", (int)n, p);
            return false;
        }
        if (p[n] == '\0') break;
        p += n + 1;
    }
    *out = bits;
    return true;
}

static bool set_iface(cli_opts *o, const char *arg, char *err, size_t err_size)
{
    if (o->iface) {
        snprintf(err, err_size, "only one -i interface is supported");
        return false;
    }
    o->iface = arg;
    return true;
}

static bool set_eve(cli_opts *o, const char *arg, char *err, size_t err_size)
{
    char bad[64];
    if (!parse_eve(arg, &o->eve_types, bad, sizeof(bad))) {
        snprintf(err, err_size, "--eve: unknown record type '%s'", bad);
        return false;
    }
    return true;
}

/* Live replaces an unset interval by its own default, so "given" is kept
 * apart from the value (0 is a valid interval). */
static bool set_stats_interval(cli_opts *o, const char *arg, char *err, size_t err_size)
{
    uint64_t v;
    if (!parse_u64(arg, 0, UINT32_MAX, &v)) {
        snprintf(err, err_size, "--stats-interval: expected seconds, got '%s'", arg);
        return false;
    }
    o->stats_interval_s = (uint32_t)v;
    o->stats_interval_set = true;
    return true;
}

static bool add_set(cli_opts *o, const char *arg, char *err, size_t err_size)
{
    if (!strchr(arg, '=') || arg[0] == '=') {
        snprintf(err, err_size, "--set: expected KEY=VALUE, got '%s'", arg);
        return false;
    }
    o->rule_sets.v[o->rule_sets.n++] = arg;
    return true;
}

static bool set_redis_mode(cli_opts *o, const char *arg, char *err, size_t err_size)
{
    if (strcmp(arg, "stream") != 0 && strcmp(arg, "list") != 0 && strcmp(arg, "channel") != 0) {
        snprintf(err, err_size, "--redis-mode: expected stream, list or channel, got '%s'", arg);
        return false;
    }
    o->redis_mode = arg;
    return true;
}

/* Stores one option's argument as its row says.  Returns false with a
 * message in 'err' on a bad value. */
static bool apply_option(cli_opts *o, const optdef *d, const char *arg, char *err, size_t err_size)
{
    char *field = (char *)o + d->field;
    uint64_t v;

    switch (d->kind) {
    case ARG_FLAG:
        *(bool *)(void *)field = true;
        return true;
    case ARG_STRING:
        *(const char **)(void *)field = arg;
        return true;
    case ARG_LIST: {
        cli_list *l = (cli_list *)(void *)field;
        if (l->n + 1 >= l->cap) { /* the configuration file's lists come on top of argv's */
            size_t nc = l->cap ? 2 * l->cap : 8;
            const char **nv = realloc(l->v, nc * sizeof(*nv));
            if (!nv) {
                snprintf(err, err_size, "out of memory");
                return false;
            }
            l->v = nv;
            l->cap = nc;
        }
        l->v[l->n++] = arg;
        l->v[l->n] = NULL;
        return true;
    }
    case ARG_NUMBER:
        if (!parse_u64(arg, d->min, d->max, &v)) {
            if (d->shortname)
                snprintf(err, err_size, "-%c: expected %s, got '%s'", d->shortname, d->expected,
                         arg);
            else
                snprintf(err, err_size, "--%s: expected %s, got '%s'", d->name, d->expected, arg);
            return false;
        }
        if (d->field_size == sizeof(uint64_t)) {
            memcpy(field, &v, sizeof(v));
        } else {
            uint32_t v32 = (uint32_t)v; /* bounds fit: see the table */
            memcpy(field, &v32, sizeof(v32));
        }
        return true;
    case ARG_CALL:
        return d->call(o, arg, err, err_size);
    case ARG_HELP:
    case ARG_VERSION:
        break;
    }
    snprintf(err, err_size, "internal error: unhandled option --%s", d->name);
    return false;
}

/* ==== Parsing ========================================================= */

/* The row getopt_long's return value 'c' names, or NULL. */
static const optdef *find_row(int c)
{
    if (c >= LONG_ONLY_BASE && (size_t)(c - LONG_ONLY_BASE) < N_OPTDEFS)
        return &OPTDEFS[c - LONG_ONLY_BASE];
    for (size_t i = 0; i < N_OPTDEFS; i++)
        if (OPTDEFS[i].shortname && OPTDEFS[i].shortname == c) return &OPTDEFS[i];
    return NULL;
}

static bool alloc_list(cli_list *l, int argc)
{
    l->v = calloc((size_t)argc + 1, sizeof(*l->v));
    l->n = 0;
    l->cap = (size_t)argc + 1;
    return l->v != NULL;
}

void opts_free(cli_opts *o)
{
    free(o->inputs.v);
    free(o->ai_catalogs.v);
    free(o->tls_keylogs.v);
    free(o->rule_paths.v);
    free(o->rule_sets.v);
    for (size_t i = 0; i < o->n_owned; i++) free(o->owned[i]);
    free(o->owned);
}

int opts_apply_config(cli_opts *o, const char *name, const char *arg, char *err, size_t err_size)
{
    for (size_t i = 0; i < N_OPTDEFS; i++) {
        const optdef *d = &OPTDEFS[i];
        if (strcmp(d->name, name) != 0) continue;
        if (o->given[i]) return 0;
        if (o->n_owned == o->cap_owned) {
            size_t nc = o->cap_owned ? 2 * o->cap_owned : 16;
            char **no = realloc(o->owned, nc * sizeof(*no));
            if (!no) break;
            o->owned = no;
            o->cap_owned = nc;
        }
        char *copy = strdup(arg ? arg : "");
        if (!copy) break;
        o->owned[o->n_owned++] = copy;
        return apply_option(o, d, copy, err, err_size) ? 1 : -1;
    }
    if (!err[0]) snprintf(err, err_size, "no option --%s (or out of memory)", name);
    return -1;
}

opts_result opts_parse(int argc, char **argv, cli_opts *o, FILE *errf)
{
    struct option longopts[N_OPTDEFS + 1];
    char shortopts[2 * N_OPTDEFS + 2];
    size_t ns = 0;
    char err[256];

    memset(o, 0, sizeof(*o));
    o->eve_types = EGRET_EVE_DEFAULT;
    o->redis_maxlen = 1000000;
    /* A list holds at most one value per argument. */
    bool lists_ok = alloc_list(&o->inputs, argc);
    lists_ok &= alloc_list(&o->ai_catalogs, argc);
    lists_ok &= alloc_list(&o->tls_keylogs, argc);
    lists_ok &= alloc_list(&o->rule_paths, argc);
    lists_ok &= alloc_list(&o->rule_sets, argc);
    if (!lists_ok) {
        fprintf(errf, "egret: out of memory\n");
        return OPTS_USAGE;
    }

    shortopts[ns++] = ':'; /* report a missing argument as ':' */
    for (size_t i = 0; i < N_OPTDEFS; i++) {
        const optdef *d = &OPTDEFS[i];
        int has_arg = d->arg ? required_argument : no_argument;
        int val = d->shortname ? d->shortname : LONG_ONLY_BASE + (int)i;
        longopts[i] = (struct option){d->name, has_arg, NULL, val};
        if (d->shortname) {
            shortopts[ns++] = d->shortname;
            if (has_arg == required_argument) shortopts[ns++] = ':';
        }
    }
    longopts[N_OPTDEFS] = (struct option){0, 0, 0, 0};
    shortopts[ns] = '\0';

    /* "egret test PATH [options]": the rule-author test kit. */
    if (argc > 1 && strcmp(argv[1], "test") == 0) {
        if (argc < 3 || argv[2][0] == '-') {
            fprintf(errf, "egret: test: give the test file or directory: egret test PATH\n");
            goto usage_error;
        }
        o->test_path = argv[2];
        argv += 2;
        argc -= 2;
    }
    optind = 0; /* glibc: start afresh, so that a process may parse twice */
    opterr = 0; /* messages are ours */
    int c;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        const optdef *d = find_row(c);
        if (c == '?') {
            if (optopt > 0 && optopt < LONG_ONLY_BASE && strncmp(argv[optind - 1], "--", 2) != 0)
                fprintf(errf, "egret: unknown option '-%c'\n", optopt);
            else
                fprintf(errf, "egret: unknown or malformed option '%s'\n", argv[optind - 1]);
            goto usage_error;
        }
        if (c == ':') {
            fprintf(errf, "egret: option '%s' needs an argument\n", argv[optind - 1]);
            goto usage_error;
        }
        if (d && d->kind == ARG_HELP) return OPTS_HELP;
        if (d && d->kind == ARG_VERSION) return OPTS_VERSION;
        if (!d) {
            snprintf(err, sizeof(err), "internal error: unhandled option %d", c);
        } else if (apply_option(o, d, optarg, err, sizeof(err))) {
            o->given[d - OPTDEFS] = true;
            continue;
        }
        fprintf(errf, "egret: %s\n", err);
        goto usage_error;
    }
    if (optind < argc) {
        fprintf(errf, "egret: unexpected argument '%s'\n", argv[optind]);
        goto usage_error;
    }
    return OPTS_RUN;

usage_error:
    fprintf(errf, "%s\nTry 'egret --help' for more information.\n", OPTS_USAGE_LINE);
    return OPTS_USAGE;
}

static bool given(const cli_opts *o, const char *name)
{
    for (size_t i = 0; i < N_OPTDEFS; i++)
        if (strcmp(OPTDEFS[i].name, name) == 0) return o->given[i];
    return false;
}

bool opts_check_input(cli_opts *o, FILE *errf)
{
    if (o->test_path || o->check_rules) return true;
    const char *msg = NULL;
    /* -r on the command line replaces the configuration's interface */
    if (o->inputs.n > 0 && o->iface && !given(o, "interface")) o->iface = NULL;
    if (o->inputs.n == 0 && !o->iface)
        msg = "no input: give -r PATH or -i IFACE (or capture.interface in the configuration)";
    else if (o->inputs.n > 0 && o->iface)
        msg = "-r and -i cannot be combined";
    if (!msg) return true;
    fprintf(errf, "egret: %s\n%s\nTry 'egret --help' for more information.\n", msg,
            OPTS_USAGE_LINE);
    return false;
}

/* ==== --help ========================================================== */

void opts_usage(FILE *fp)
{
    fprintf(fp,
            "%s\n\n"
            "Passive inspector: flags bulk transfers of message content to AI endpoints\n"
            "and writes Suricata-style EVE JSON lines.\n\n"
            "'egret test PATH' runs rule tests (*_test.lua files, see rules/README.md).\n\n"
            "Options:\n",
            OPTS_USAGE_LINE "\n" USAGE_LINE_MORE);
    for (size_t i = 0; i < N_OPTDEFS; i++) {
        const optdef *d = &OPTDEFS[i];
        char left[64];
        if (d->shortname)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", d->shortname, d->name, d->arg ? " " : "",
                     d->arg ? d->arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", d->name, d->arg ? " " : "",
                     d->arg ? d->arg : "");
        /* help text lines are separated by '\n' and indented under column 2 */
        fprintf(fp, "  %-28s ", left);
        for (const char *h = d->help; *h; h++) {
            fputc(*h, fp);
            if (*h == '\n') fprintf(fp, "  %-28s ", "");
        }
        fputc('\n', fp);
    }
    fprintf(fp, "\nExit status:\n"
                "  0  success\n"
                "  1  an input could not be read (the others are still processed and\n"
                "     the output stays valid JSON lines), or a runtime/write error\n"
                "  2  usage or configuration error (bad option, bad filter, bad --home-net)\n");
}
