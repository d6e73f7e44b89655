/*
 * check.h -- the test hosts' one assertion: counts passes and failures
 * and reports a failure with file:line; main prints "N passed, N failed".
 */
#ifndef EGRET_TEST_CHECK_H
#define EGRET_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#endif /* EGRET_TEST_CHECK_H */
