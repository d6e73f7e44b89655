/*
 * datadir.c -- the shipped data relative to the egret executable (see
 * datadir.h).  Linux: the executable is found through /proc/self/exe.
 */
#include "datadir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef EGRET_BIN_TO_DATADIR
#define EGRET_BIN_TO_DATADIR "../share/egret"
#endif

/* 'root' holds a rules directory: resolved into 'out'. */
static int holds_rules(const char *root, char out[PATH_MAX])
{
    char rules[PATH_MAX + 8];
    struct stat st;
    snprintf(rules, sizeof(rules), "%s/rules", root);
    if (stat(rules, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
    return realpath(root, out) != NULL;
}

static bool installed;

bool datadir_installed(void)
{
    return installed;
}

void datadir_init(void)
{
    const char *env = getenv("EGRET_DATADIR");
    char exe[PATH_MAX], cand[PATH_MAX + sizeof(EGRET_BIN_TO_DATADIR) + 1], root[PATH_MAX];

    if (env && env[0]) return;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    installed = true; /* unless the build tree's layout is found below */
    if (n <= 0) return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = '\0'; /* the executable's directory */

    snprintf(cand, sizeof(cand), "%s/%s", exe, EGRET_BIN_TO_DATADIR);
    if (holds_rules(cand, root)) {
        setenv("EGRET_DATADIR", root, 1);
    } else if (holds_rules(exe, root)) { /* a build tree: its data sits beside the binary */
        installed = false;
        setenv("EGRET_DATADIR", root, 1);
    }
}
