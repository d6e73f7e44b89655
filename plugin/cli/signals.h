/*
 * signals.h -- the CLI's signal state: SIGINT/SIGTERM stop the run,
 * SIGHUP asks for a reload, SIGPIPE is ignored (write errors are reported
 * through fwrite's result).
 */
#ifndef EGRET_CLI_SIGNALS_H
#define EGRET_CLI_SIGNALS_H

#include <signal.h>

#include "capture.h"

/* Set by the handlers, read by the run loops; the CLI's only mutable
 * file-scope state, because a handler cannot be given a context pointer. */
extern volatile sig_atomic_t sig_stop;   /* SIGINT or SIGTERM: stop reading */
extern volatile sig_atomic_t sig_reload; /* SIGHUP: reload GeoIP databases and rules */

/* Installs the handlers.  A blocked read is not restarted after SIGINT or
 * SIGTERM, so it returns promptly. */
void signals_install(void);

/* The source a stop signal interrupts (cap_breakloop), or NULL between
 * sources. */
void signals_watch(cap_source *s);

#endif
