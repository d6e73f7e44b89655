/*
 * outfile.c -- output files, pid file, dropping privileges (see outfile.h).
 */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Opens the file by name; ends a partial last line so that the first
 * record appended starts a line of its own (readers parse by line). */
static FILE *open_append(const char *path, bool truncate, bool *repaired)
{
    int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
    int fd = open(path, flags, 0640);
    if (fd < 0 && errno == EACCES) /* write-only permission: no repair possible */
        fd = open(path, (flags & ~O_RDWR) | O_WRONLY, 0640);
    if (fd < 0) return NULL;
    struct stat st;
    char last;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
        if (write(fd, "\n", 1) == 1) *repaired = true;
    }
    FILE *fp = fdopen(fd, "a");
    if (!fp) close(fd);
    return fp;
}

/* A terminal keeps its line buffering; files and pipes get a big buffer
 * (glibc ignores setvbuf's size without a caller buffer). */
static void set_buffer(outfile *f)
{
    if (isatty(fileno(f->fp))) return;
    if (!f->buf) f->buf = malloc(OUTFILE_BUFFER_SIZE);
    if (f->buf) setvbuf(f->fp, f->buf, _IOFBF, OUTFILE_BUFFER_SIZE);
}

int outfile_open(outfile *f, const char *path, bool truncate, char *err, size_t err_size)
{
    memset(f, 0, sizeof(*f));
    f->truncate = truncate;
    if (!path || strcmp(path, "-") == 0) {
        f->fp = stdout;
        f->name = "stdout";
        /* stdout outlives us: its buffer must too */
        static char out_buf[OUTFILE_BUFFER_SIZE];
        if (!isatty(STDOUT_FILENO)) setvbuf(stdout, out_buf, _IOFBF, sizeof(out_buf));
        return 0;
    }
    f->path = path;
    f->name = path;
    f->fp = open_append(path, truncate, &f->repaired);
    if (!f->fp) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    set_buffer(f);
    return 0;
}

int outfile_reopen(outfile *f, char *err, size_t err_size)
{
    if (!f->fp || !f->path) return 0;
    /* the old stream's records reach the (renamed) file first, whole:
     * then the file ends on a line end and no repair can split a record */
    if (fflush(f->fp) != 0) {
        snprintf(err, err_size, "%s: write error before reopening: %s", f->path, strerror(errno));
        return -1;
    }
    bool repaired = false;
    FILE *nf = open_append(f->path, false, &repaired);
    if (!nf) {
        snprintf(err, err_size, "%s: cannot reopen: %s (still writing to the old file)", f->path,
                 strerror(errno));
        return -1;
    }
    fclose(f->fp); /* flushed above; its buffer is reused by the new stream */
    f->fp = nf;
    set_buffer(f);
    return 0;
}

int outfile_close(outfile *f)
{
    int rc = 0;
    if (!f->fp) return 0;
    errno = 0;
    if (fflush(f->fp) != 0) rc = -1;
    if (f->fp != stdout) {
        int e = errno;
        if (fclose(f->fp) != 0 && rc == 0)
            rc = -1;
        else if (rc != 0)
            errno = e;
    } else if (ferror(f->fp)) {
        rc = -1;
        if (!errno) errno = EIO;
    }
    f->fp = NULL;
    free(f->buf);
    f->buf = NULL;
    return rc;
}

int pidfile_write(const char *path, char *err, size_t err_size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    char b[32];
    int n = snprintf(b, sizeof(b), "%ld\n", (long)getpid());
    if (fd < 0 || write(fd, b, (size_t)n) != n) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

void pidfile_remove(const char *path)
{
    if (path) unlink(path); /* best effort: after --user it may not be ours to remove */
}

static uid_t drop_uid;
static gid_t drop_gid;
static char drop_name[256];

int privs_lookup(const char *user, char *err, size_t err_size)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, err_size, "--user: no user '%s'%s%s", user, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return -1;
    }
    drop_uid = pw->pw_uid;
    drop_gid = pw->pw_gid;
    snprintf(drop_name, sizeof(drop_name), "%s", user);
    return 0;
}

int privs_drop(char *err, size_t err_size)
{
    if (!drop_name[0]) return 0;
    if (getuid() == drop_uid && geteuid() == drop_uid) return 0; /* already that user */
    if (initgroups(drop_name, drop_gid) != 0 || setgid(drop_gid) != 0 || setuid(drop_uid) != 0) {
        snprintf(err, err_size, "--user %s: cannot switch user: %s", drop_name, strerror(errno));
        return -1;
    }
    if (drop_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, err_size, "--user %s: root privileges could be regained", drop_name);
        return -1;
    }
    return 0;
}
