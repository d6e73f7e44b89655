/*
 * conffile.h -- the configuration file's host settings (capture, outputs,
 * home_net, geo, ai, ndpi, inspection, tls, engine) applied to the command
 * line's options; the command line overrides the file.
 */
#ifndef EGRET_CLI_CONFFILE_H
#define EGRET_CLI_CONFFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "options.h"

/* Finds the configuration file (-c; else, for an installed egret,
 * SYSCONFDIR/egret/egret.conf.lua; else the shipped rules' default when
 * no -R was given), evaluates it with the --set overrides and applies its
 * host settings to 'o' where the command line gave none.  Returns 0, or 2
 * (usage/configuration error) after printing "FILE:LINE: ..." to errf. */
int conffile_apply(cli_opts *o, bool installed, FILE *errf);

#endif
