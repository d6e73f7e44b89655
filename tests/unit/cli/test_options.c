/*
 * test_options.c -- the CLI's option table (options.c): values land in
 * their cli_opts fields, numbers are checked against their bounds with
 * the messages tests/cli/test_cli.sh expects, repeatable options keep
 * their order, and --help lists every option the parser accepts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egret.h"
#include "options.h"

/* Parses a NULL-terminated argument list (argv[0] is added); the error
 * stream's text goes to 'msg' (may be NULL). */
static opts_result vparse(cli_opts *o, char *msg, size_t msg_size, va_list ap)
{
    static char prog[] = "egret";
    char *argv[32] = {prog};
    int argc = 1;
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;) argv[argc++] = a;

    char *buf = NULL;
    size_t len = 0;
    FILE *errf = open_memstream(&buf, &len);
    assert_non_null(errf);
    opts_result r = opts_parse(argc, argv, o, errf);
    fclose(errf);
    if (msg) snprintf(msg, msg_size, "%s", buf ? buf : "");
    free(buf);
    return r;
}

static opts_result parse(cli_opts *o, char *msg, size_t msg_size, ...)
{
    va_list ap;
    va_start(ap, msg_size);
    opts_result r = vparse(o, msg, msg_size, ap);
    va_end(ap);
    return r;
}

/* The arguments after 'want' parse, but name no input (or two kinds):
 * opts_check_input refuses them with a message containing 'want'. */
static void expect_input_error(const char *want, ...)
{
    cli_opts o;
    char msg[512];
    va_list ap;
    va_start(ap, want);
    opts_result r = vparse(&o, msg, sizeof(msg), ap);
    va_end(ap);
    assert_int_equal(r, OPTS_RUN);
    FILE *f = fmemopen(msg, sizeof(msg), "w");
    assert_non_null(f);
    assert_false(opts_check_input(&o, f));
    fclose(f);
    if (!strstr(msg, want)) fail_msg("'%s' not in '%s'", want, msg);
    opts_free(&o);
}

/* The arguments after 'want' (NULL-terminated) are a usage error whose
 * message contains 'want'. */
static void expect_usage(const char *want, ...)
{
    cli_opts o;
    char msg[512];
    va_list ap;
    va_start(ap, want);
    opts_result r = vparse(&o, msg, sizeof(msg), ap);
    va_end(ap);
    assert_int_equal(r, OPTS_USAGE);
    if (!strstr(msg, want)) fail_msg("'%s' not in '%s'", want, msg);
    opts_free(&o);
}

static void test_values(void **state)
{
    (void)state;
    cli_opts o;
    assert_int_equal(parse(&o, NULL, 0, "-r", "a.pcap", "--read", "b.pcap", "-f", "tcp", "-o",
                           "x.json", "--max-flows", "7", "--workers", "3", "-B", "2047",
                           "--inspect-depth", "1024", "--no-geo", "-q", "--set", "k=v", "-R", "r1",
                           "-R", "r2", "--stats-interval", "0", "--eve", "alert,dns", NULL),
                     OPTS_RUN);
    assert_int_equal(o.inputs.n, 2);
    assert_string_equal(o.inputs.v[0], "a.pcap");
    assert_string_equal(o.inputs.v[1], "b.pcap");
    assert_string_equal(o.filter, "tcp");
    assert_string_equal(o.out_path, "x.json");
    assert_int_equal(o.max_flows, 7);
    assert_int_equal(o.workers, 3);
    assert_int_equal(o.buffer_mib, 2047);
    assert_int_equal(o.inspect_depth, 1024);
    assert_int_equal(o.reasm_memcap, 0);
    assert_true(o.no_geo);
    assert_true(o.quiet);
    assert_false(o.verbose);
    assert_int_equal(o.rule_sets.n, 1);
    assert_string_equal(o.rule_sets.v[0], "k=v");
    assert_int_equal(o.rule_paths.n, 2);
    assert_string_equal(o.rule_paths.v[1], "r2");
    assert_true(o.stats_interval_set);
    assert_int_equal(o.stats_interval_s, 0);
    assert_int_equal(o.eve_types, EGRET_EV_ALERT | EGRET_EV_DNS);
    opts_free(&o);

    assert_int_equal(parse(&o, NULL, 0, "-i", "eth0", NULL), OPTS_RUN);
    assert_string_equal(o.iface, "eth0");
    assert_int_equal(o.eve_types, EGRET_EVE_DEFAULT);
    assert_false(o.stats_interval_set);
    opts_free(&o);
}

/* Each bad value: exit-2 result and the message test_cli.sh greps for. */
static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *opt, *arg, *msg;
    } cases[] = {
        {"--max-flows", "0", "egret: --max-flows: expected a positive integer, got '0'\n"},
        {"--max-flows", "-1", "egret: --max-flows: expected a positive integer, got '-1'\n"},
        {"--stats-interval", "4294967296",
         "egret: --stats-interval: expected seconds, got '4294967296'\n"},
        {"--tick-interval", "86401",
         "egret: --tick-interval: expected seconds (1-86400), got '86401'\n"},
        {"--inspect-depth", "1023",
         "egret: --inspect-depth: expected bytes (>= 1024), got '1023'\n"},
        {"--reasm-memcap", "1k", "egret: --reasm-memcap: expected bytes (>= 1024), got '1k'\n"},
        {"--workers", "65", "egret: --workers: expected 1-64, got '65'\n"},
        {"-B", "0", "egret: -B: expected MiB between 1 and 2047, got '0'\n"},
        {"--buffer-size", "2048", "egret: -B: expected MiB between 1 and 2047, got '2048'\n"},
        {"--eve", "alert,nope", "egret: --eve: unknown record type 'nope'\n"},
        {"--set", "=v", "egret: --set: expected KEY=VALUE, got '=v'\n"},
        {"--set", "novalue", "egret: --set: expected KEY=VALUE, got 'novalue'\n"},
    };
    char msg[512], want[512];
    cli_opts o;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(&o, msg, sizeof(msg), "-r", "x", cases[i].opt, cases[i].arg, NULL),
                         OPTS_USAGE);
        snprintf(want, sizeof(want), "%s%s\nTry 'egret --help' for more information.\n",
                 cases[i].msg, OPTS_USAGE_LINE);
        assert_string_equal(msg, want);
        opts_free(&o);
    }

    expect_usage("egret: only one -i interface is supported\n", "-i", "a", "-i", "b", NULL);
    expect_input_error("egret: -r and -i cannot be combined\n", "-r", "x", "-i", "a", NULL);
    expect_input_error("egret: no input: give -r PATH or -i IFACE", NULL);
    expect_usage("egret: unknown option '-Z'\n", "-r", "x", "-Z", NULL);
    expect_usage("egret: unknown or malformed option '--no-rules=1'\n", "-r", "x", "--no-rules=1",
                 NULL);
    expect_usage("egret: option '--workers' needs an argument\n", "-r", "x", "--workers", NULL);
    expect_usage("egret: unexpected argument 'extra'\n", "-r", "x", "extra", NULL);
    expect_usage("egret: test: give the test file or directory", "test", NULL);
}

static void test_modes(void **state)
{
    (void)state;
    cli_opts o;
    assert_int_equal(parse(&o, NULL, 0, "test", "t.lua", "-R", "r", NULL), OPTS_RUN);
    assert_string_equal(o.test_path, "t.lua");
    assert_int_equal(o.rule_paths.n, 1);
    opts_free(&o);
    assert_int_equal(parse(&o, NULL, 0, "--check-rules", NULL), OPTS_RUN);
    assert_true(o.check_rules);
    opts_free(&o);
    assert_int_equal(parse(&o, NULL, 0, "-r", "x", "--help", NULL), OPTS_HELP);
    opts_free(&o);
    assert_int_equal(parse(&o, NULL, 0, "-V", NULL), OPTS_VERSION);
    opts_free(&o);
}

/* Every option named in --help is accepted by the parser. */
static void test_help_lists_parsed_options(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    opts_usage(fp);
    fclose(fp);

    /* option rows start with "  -x, --name" or "      --name" */
    size_t seen = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char *p = strstr(line, "--");
        if (!p || p - line != 6 || line[strspn(line, " ")] != '-') continue;
        char name[64], arg[32] = "";
        assert_true(sscanf(p, "%63s %31[A-Za-z=]", name, arg) >= 1);
        seen++;
        if (strcmp(name, "--help") == 0 || strcmp(name, "--version") == 0) continue;
        cli_opts o;
        char msg[512];
        opts_result r = arg[0] ? parse(&o, msg, sizeof(msg), "-i", "x", name, "1", NULL)
                               : parse(&o, msg, sizeof(msg), "-i", "x", name, NULL);
        /* a bad value is fine here; an unknown option is not */
        if (r == OPTS_USAGE) {
            assert_null(strstr(msg, "unknown option"));
            assert_null(strstr(msg, "malformed option"));
        }
        opts_free(&o);
    }
    free(buf);
    assert_int_equal(seen, 47); /* rows of the table (35 + 4 of issue 18 + 8 for Redis) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_help_lists_parsed_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
