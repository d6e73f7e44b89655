/*
 * outfile.h -- the CLI's output files as a service writes them: appended
 * to unless truncation is asked, a partial last line (a crash mid-write)
 * ended before the first new record, reopened by name on SIGHUP (the
 * logrotate way: rename, signal, the next record goes to a new file).
 * Also the pid file and dropping root after the capture is open.
 */
#ifndef EGRET_CLI_OUTFILE_H
#define EGRET_CLI_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define OUTFILE_BUFFER_SIZE (256u * 1024u)

typedef struct outfile {
    FILE *fp;
    const char *path; /* NULL: stdout */
    const char *name; /* for messages: the path or "stdout" */
    bool truncate;    /* the first open empties the file; a reopen never does */
    bool repaired;    /* the first open ended a partial last line */
    char *buf;        /* the stdio buffer of a file or pipe */
} outfile;

/* Opens 'path' (NULL or "-": stdout) for appending, or emptied when
 * 'truncate'.  Returns 0, or -1 with "PATH: reason" in 'err'. */
int outfile_open(outfile *f, const char *path, bool truncate, char *err, size_t err_size);

/* Flushes, closes and opens the same path again for appending (a file
 * renamed away is left to its new name; a new one is created).  stdout
 * stays.  Returns 0, or -1 with the reason in 'err' (the old stream is
 * kept then, so no record is lost). */
int outfile_reopen(outfile *f, char *err, size_t err_size);

/* Flushes and closes (stdout: flushed only).  Returns 0, or -1 on a
 * write error (errno set). */
int outfile_close(outfile *f);

/* Writes our pid to 'path' (created or replaced).  -1 with 'err' on error. */
int pidfile_write(const char *path, char *err, size_t err_size);
void pidfile_remove(const char *path);

/* Looks 'user' up (before anything is opened, so a typo fails early):
 * 0, or -1 with 'err'.  Then privs_drop() switches to it: groups, gid,
 * uid, and checks root cannot be regained. */
int privs_lookup(const char *user, char *err, size_t err_size);
int privs_drop(char *err, size_t err_size);

#endif
