/*
 * content_limits.h -- the content detector's caps.  A header of their own
 * so that the detector's API (content.h) and its private context
 * (content_int.h, which holds them) both build on them without including
 * each other.
 */
#ifndef EGRET_CONTENT_LIMITS_H
#define EGRET_CONTENT_LIMITS_H

#include <stddef.h>

typedef struct content_limits {
    size_t max_token;     /* longest JSON token (string) parsed (default 4 MiB) */
    unsigned max_depth;   /* JSON nesting (default 64, at most 128) */
    unsigned max_senders; /* identifier hashes kept (default 256) */
} content_limits;

#endif /* EGRET_CONTENT_LIMITS_H */
