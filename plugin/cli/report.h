/*
 * report.h -- `egret report`: one self-contained HTML file (inline CSS
 * and SVG charts egret draws itself; no script, no network fetch) from
 * EVE files, streamed, or from captures egret replays for it.
 *
 *   egret report [-o FILE] [--title TEXT] INPUT... [-- EGRET_OPTIONS...]
 *
 * An INPUT starting with '{' is EVE (one JSON record per line, "-" is
 * stdin); anything else is a capture that egret itself replays with
 * --eve alert,flow,http (and the options after "--").  Memory is bounded
 * whatever the input's length: fixed tables with counted overflow.
 */
#ifndef EGRET_CLI_REPORT_H
#define EGRET_CLI_REPORT_H

#include <stddef.h>
#include <stdio.h>

typedef struct report report;

/* A fresh aggregate (NULL when out of memory). */
report *report_new(void);
void report_free(report *rp);

/* One EVE record (one line, no newline needed). */
void report_add(report *rp, const char *json, size_t len);

/* The HTML page. */
void report_write(const report *rp, FILE *fp, const char *title);

/* The subcommand; argv[0] is "report".  Returns the exit status. */
int report_main(int argc, char **argv, const char *self);

#endif
