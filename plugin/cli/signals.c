/*
 * signals.c -- the CLI's signal handlers (see signals.h).
 */
#include "signals.h"

#include <string.h>

volatile sig_atomic_t sig_stop;
volatile sig_atomic_t sig_reload;
static cap_source *volatile watched;

static void on_stop(int sig)
{
    (void)sig;
    sig_stop = 1;
    cap_source *s = watched;
    if (s) cap_breakloop(s);
}

static void on_hup(int sig)
{
    (void)sig;
    sig_reload = 1;
}

void signals_watch(cap_source *s)
{
    watched = s;
}

void signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_hup;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked read returns promptly */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}
