/*
 * rules_test.h -- the synthetic rule test kit (`egret test PATH`).
 *
 * A test file is Lua (text only; base, string, table and math; no io/os)
 * returning one test or a list of tests:
 *
 *   { name = "...", rules = "path" | {...} | nil (default rules dir),
 *     config = { ... }, sets = { "a.b=1" },
 *     sids = { 9000001 } | nil (all), severities = { 1, 2 } | nil (all),
 *     load_errors = 0,
 *     events = { { hook = "on_flow_end", at = seconds, flow = {...},
 *                  forget = true|nil }, ... },
 *     expect = { { sid =, severity =, src_ip =, dest_ip =, key =, count = 1,
 *                  why = { field = value | { ge=, gt=, le=, lt=, eq= } } }, ... } }
 *
 * Only alerts passing the sids/severities filters count; `expect` must
 * match them exactly (each entry `count` times; anything else is an
 * unexpected alert): expect = {} means no alert passes the filters.
 * Relative `rules` paths are resolved against the test file's directory.
 * See rules/README.md ("Testing rules") for the flow fields.
 */
#ifndef EGRET_RULES_TEST_H
#define EGRET_RULES_TEST_H

#include <stdio.h>

/* Runs 'path' (a *_test.lua file, or a directory: its *_test.lua files in
 * name order) against 'default_rules' (NULL: the shipped rules/).  Prints
 * "PASS name" / "FAIL name" with an expected-vs-got diff, then a summary
 * line "rules tests: N run, P passed, F failed".  Returns the number of
 * failed tests (a file that does not load counts as one). */
int rules_test_run(const char *path, FILE *out, const char *default_rules);

#endif /* EGRET_RULES_TEST_H */
