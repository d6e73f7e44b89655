/*
 * dirlist.h -- the entries of a directory in byte-wise name order.
 *
 * scandir with a strcmp order rather than alphasort: alphasort collates
 * with the locale, and the order rule files load (or rule tests run) in
 * must not change with the locale of the program that embeds the engine.
 */
#ifndef EGRET_DIRLIST_H
#define EGRET_DIRLIST_H

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static inline int dirlist_byname(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* The entries of 'dir' that 'keep' accepts (all with NULL), sorted; as
 * scandir: returns how many, or -1 with errno set.  Free with
 * dirlist_free. */
static inline int dirlist_scan(const char *dir, int (*keep)(const struct dirent *),
                               struct dirent ***list)
{
    return scandir(dir, list, keep, dirlist_byname);
}

static inline void dirlist_free(struct dirent **list, int n)
{
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
}

#endif /* EGRET_DIRLIST_H */
