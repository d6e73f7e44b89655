/*
 * monotime.h -- monotonic seconds for the CLI's pacing (progress line,
 * elapsed time, Redis reconnect back-off): a wall clock set back or
 * forward must not stall or hurry them.
 */
#ifndef EGRET_CLI_MONOTIME_H
#define EGRET_CLI_MONOTIME_H

#include <time.h>

static inline double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif /* EGRET_CLI_MONOTIME_H */
