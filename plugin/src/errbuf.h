/*
 * errbuf.h -- filling a caller's error buffer.
 *
 * Setup functions report detail in a caller-supplied char err[errlen]
 * that may be NULL (STYLE.md section 4); this is the one formatter for it.
 */
#ifndef EGRET_ERRBUF_H
#define EGRET_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline int errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats into err[errlen] unless err is NULL or errlen 0.  Returns -1, so
 * a failing function can 'return errbuf_fail(err, errlen, ...)'. */
static inline int errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#endif /* EGRET_ERRBUF_H */
