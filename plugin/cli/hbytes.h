/*
 * hbytes.h -- a byte count for people ("14.3 MB", decimal units), shared
 * by the summary, its tables and the HTML report so they print alike.
 */
#ifndef EGRET_CLI_HBYTES_H
#define EGRET_CLI_HBYTES_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static inline const char *human_bytes(uint64_t b, char *buf, size_t size)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)b;
    size_t u = 0;
    while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%" PRIu64 " B", b);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

#endif /* EGRET_CLI_HBYTES_H */
