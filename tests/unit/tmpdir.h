/*
 * tmpdir.h -- scratch names for the unit tests, under $TMPDIR (default
 * /tmp), so that a test run can be kept off a shared /tmp.
 */
#ifndef EGRET_TEST_TMPDIR_H
#define EGRET_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes "$TMPDIR/PREFIX-XXXXXX" to 'buf' for mkdtemp or mkstemp and
 * returns 'buf'; "/tmp" stands in when TMPDIR is unset, empty or too long
 * for 'buf'. */
static inline char *test_tmpname(char *buf, size_t size, const char *prefix)
{
    const char *t = getenv("TMPDIR");
    if (!t || !t[0] || strlen(t) + strlen(prefix) + sizeof("/-XXXXXX") > size) t = "/tmp";
    snprintf(buf, size, "%s/%s-XXXXXX", t, prefix);
    return buf;
}

#endif
