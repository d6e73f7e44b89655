/*
 * fcheck.h -- how every file egret loads whole is opened: a regular file
 * (not /dev/zero, a FIFO or a directory, which would make a loader grow
 * without end or block) no larger than the loader's cap.  The file is
 * opened without blocking first, so that a FIFO is refused instead of
 * waiting forever for a writer.  Header-only: the loaders live in several
 * modules.
 */
#ifndef EGRET_FCHECK_H
#define EGRET_FCHECK_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FCHECK_RULES_MAX   ((size_t)8 << 20)  /* a rule file or configuration */
#define FCHECK_CATALOG_MAX ((size_t)16 << 20) /* an AI catalog TSV */
#define FCHECK_NDPI_MAX    ((size_t)16 << 20) /* an nDPI protocols/categories file */

/* 0 when fd (opened from path) is a regular file of at most max bytes;
 * else -1 with "PATH: why" in err. */
static inline int fcheck_fd(int fd, const char *path, size_t max, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, expected a file", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        return -1;
    }
    if ((unsigned long long)st.st_size > (unsigned long long)max) {
        snprintf(err, errlen, "%s: too large (%lld bytes; at most %zu)", path,
                 (long long)st.st_size, max);
        return -1;
    }
    return 0;
}

/* path opened for reading ("r") when it is a regular file of at most max
 * bytes; else NULL with "PATH: why" in err. */
static inline FILE *fcheck_fopen(const char *path, size_t max, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    FILE *fp = NULL;
    if (fcheck_fd(fd, path, max, err, errlen) == 0) {
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0) fp = fdopen(fd, "r");
        if (!fp) snprintf(err, errlen, "%s: %s", path, strerror(errno));
    }
    if (!fp) close(fd);
    return fp;
}

#endif /* EGRET_FCHECK_H */
