/*
 * paths.c -- where the engine finds its shipped data (paths.h).
 *
 * $EGRET_DATADIR when set (a build tree, an install moved elsewhere; the
 * CLI sets it for the tree it runs from), else the directory CMake
 * installed it into.  Read once per process.  The rules directory is
 * resolved (realpath), so that rule file names in stats and messages are
 * the same however it was reached.
 */
#include "paths.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define SHIPPED_DIR_MAX (PATH_MAX - 64) /* a file name still fits after it in PATH_MAX */

static pthread_once_t data_dirs_once = PTHREAD_ONCE_INIT;
static char shipped_rules[SHIPPED_DIR_MAX], shipped_data[SHIPPED_DIR_MAX],
    shipped_geo[SHIPPED_DIR_MAX];

static void find_data_dirs(void)
{
    const char *env = getenv("EGRET_DATADIR");
    const char *root = env && env[0] ? env : EGRET_DATADIR;
    char real[PATH_MAX];

    snprintf(shipped_rules, sizeof(shipped_rules), "%s/rules", root);
    if (realpath(shipped_rules, real))
        snprintf(shipped_rules, sizeof(shipped_rules), "%.*s", (int)sizeof(shipped_rules) - 6,
                 real);
    snprintf(shipped_data, sizeof(shipped_data), "%.*s/data", (int)sizeof(shipped_data) - 6,
             shipped_rules);
    snprintf(shipped_geo, sizeof(shipped_geo), "%s/geo", root);
}

const char *paths_data_dir(void)
{
    pthread_once(&data_dirs_once, find_data_dirs);
    return shipped_data;
}

const char *paths_geo_dir(void)
{
    pthread_once(&data_dirs_once, find_data_dirs);
    return shipped_geo;
}

const char *paths_rules_dir(void)
{
    pthread_once(&data_dirs_once, find_data_dirs);
    return shipped_rules;
}
