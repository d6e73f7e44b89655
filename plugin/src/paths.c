/*
 * paths.c -- where the engine finds its shipped data (paths.h).
 */
#include "paths.h"

#include <stdbool.h>
#include <unistd.h>

static bool dir_exists(const char *p)
{
    return p && access(p, R_OK | X_OK) == 0;
}

/* The shipped data: the source tree's copy when running from a build
 * tree, else the installed one. */
const char *paths_data_dir(void)
{
    if (dir_exists(EGRET_SRCDIR "/rules/data")) return EGRET_SRCDIR "/rules/data";
    return EGRET_DATADIR "/rules/data";
}

const char *paths_geo_dir(void)
{
#ifdef EGRET_BUILD_GEODIR
    if (dir_exists(EGRET_BUILD_GEODIR)) return EGRET_BUILD_GEODIR;
#endif
    return EGRET_DATADIR "/geo";
}

const char *paths_rules_dir(void)
{
    if (dir_exists(EGRET_SRCDIR "/rules")) return EGRET_SRCDIR "/rules";
    return EGRET_DATADIR "/rules";
}
