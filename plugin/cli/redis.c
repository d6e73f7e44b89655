/*
 * redis.c -- the CLI's Redis client (see redis.h): the only user of
 * hiredis.  The URL is parsed here because hiredis 0.14 has none.
 */
#include "redis.h"

#include <hiredis/hiredis.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define RD_IOV    1024 /* iovecs per sendmsg (Linux's IOV_MAX) */
#define RD_INLINE 64   /* rd_send copies arguments up to this long */

struct rd_conn {
    redisContext *ctx;
    char *hdr; /* rd_send's "$LEN" headers */
    size_t hcap;
    struct iovec *iov;
    size_t iovcap;
};

/* %XX escapes in the user and password (a password may hold '@' or ':') */
static bool unescape(const char *s, size_t n, char *out, size_t out_size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
                !isxdigit((unsigned char)s[i + 2]))
                return false;
            char hex[3] = {s[i + 1], s[i + 2], 0};
            ch = (char)strtol(hex, NULL, 16);
            i += 2;
        }
        if (o + 1 >= out_size) return false;
        out[o++] = ch;
    }
    out[o] = '\0';
    return true;
}

bool rd_url_parse(const char *url, rd_url *u, char *err, size_t err_size)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (!url) url = "";
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = url + 7;
        if (p[0] != '/' || strlen(p) >= sizeof(u->host)) {
            snprintf(err, err_size, "'%s': expected unix:///absolute/path/to.sock", url);
            return false;
        }
        u->is_unix = true;
        snprintf(u->host, sizeof(u->host), "%s", p);
        return true;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        snprintf(err, err_size,
                 "'%s': expected redis://[user:password@]host[:port][/db] or unix:///path", url);
        return false;
    }
    const char *p = url + 8;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *uend = colon ? colon : at;
        if (!unescape(p, (size_t)(uend - p), u->user, sizeof(u->user)) ||
            (colon && !unescape(colon + 1, (size_t)(at - colon - 1), u->pass, sizeof(u->pass)))) {
            snprintf(err, err_size, "'%s': bad or too long user or password", url);
            return false;
        }
        if (!colon) { /* redis://password@host, as redis-cli -u takes it */
            snprintf(u->pass, sizeof(u->pass), "%s", u->user);
            u->user[0] = '\0';
        }
        p = at + 1;
    }
    const char *hend;
    if (*p == '[') { /* [IPv6] */
        hend = strchr(p, ']');
        if (!hend) goto bad;
        if ((size_t)(hend - p - 1) >= sizeof(u->host)) goto bad;
        memcpy(u->host, p + 1, (size_t)(hend - p - 1));
        u->host[hend - p - 1] = '\0';
        hend++;
    } else {
        hend = p + strcspn(p, ":/");
        if ((size_t)(hend - p) >= sizeof(u->host)) goto bad;
        memcpy(u->host, p, (size_t)(hend - p));
        u->host[hend - p] = '\0';
    }
    if (!u->host[0]) goto bad;
    p = hend;
    if (*p == ':') {
        char *end;
        errno = 0;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || errno || port < 1 || port > 65535 || (*end && *end != '/')) goto bad;
        u->port = (int)port;
        p = end;
    }
    if (*p == '/') {
        if (p[1]) {
            char *end;
            errno = 0;
            long db = strtol(p + 1, &end, 10);
            if (p[1] < '0' || p[1] > '9' || errno || *end || db < 0 || db > 65535) goto bad;
            u->db = (int)db;
        }
        p += strlen(p);
    }
    if (*p) goto bad;
    return true;
bad:
    snprintf(err, err_size, "'%s': expected redis://[user:password@]host[:port][/db]", url);
    return false;
}

static void ctx_err(redisContext *ctx, char *err, size_t err_size)
{
    snprintf(err, err_size, "%s", ctx && ctx->errstr[0] ? ctx->errstr : "connection failed");
}

static void fill(rd_reply *r, const redisReply *x)
{
    memset(r, 0, sizeof(*r));
    switch (x->type) {
    case REDIS_REPLY_INTEGER:
        r->kind = RD_INT;
        r->num = x->integer;
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        r->kind = x->type == REDIS_REPLY_STRING   ? RD_STR
                  : x->type == REDIS_REPLY_STATUS ? RD_STATUS
                                                  : RD_ERR;
        snprintf(r->str, sizeof(r->str), "%.*s", (int)x->len, x->str);
        break;
    case REDIS_REPLY_ARRAY:
        r->kind = RD_ARRAY;
        r->num = (long long)x->elements;
        break;
    default:
        r->kind = RD_NIL;
    }
}

int rd_reply_next(rd_conn *c, rd_reply *r, char *err, size_t err_size)
{
    void *x = NULL;
    if (redisGetReply(c->ctx, &x) != REDIS_OK || !x) {
        ctx_err(c->ctx, err, err_size);
        if (x) freeReplyObject(x);
        return -1;
    }
    fill(r, x);
    freeReplyObject(x);
    return 0;
}

static void flatten(const redisReply *x, void (*each)(void *, size_t, const char *, size_t),
                    void *ud, size_t *i)
{
    char num[32];
    if (x->type == REDIS_REPLY_ARRAY) {
        for (size_t k = 0; k < x->elements; k++) flatten(x->element[k], each, ud, i);
    } else if (x->type == REDIS_REPLY_INTEGER) {
        int n = snprintf(num, sizeof(num), "%lld", x->integer);
        each(ud, (*i)++, num, (size_t)n);
    } else if (x->type == REDIS_REPLY_STRING || x->type == REDIS_REPLY_STATUS) {
        each(ud, (*i)++, x->str, x->len);
    } else {
        each(ud, (*i)++, "", 0);
    }
}

int rd_reply_each(rd_conn *c, void (*each)(void *ud, size_t i, const char *s, size_t n), void *ud,
                  char *err, size_t err_size)
{
    redisReply *x = NULL;
    if (redisGetReply(c->ctx, (void **)&x) != REDIS_OK || !x) {
        ctx_err(c->ctx, err, err_size);
        if (x) freeReplyObject(x);
        return -1;
    }
    int rc = 0;
    if (x->type == REDIS_REPLY_ERROR) {
        snprintf(err, err_size, "%.*s", (int)x->len, x->str);
        rc = 1;
    } else {
        size_t i = 0;
        flatten(x, each, ud, &i);
    }
    freeReplyObject(x);
    return rc;
}

int rd_append(rd_conn *c, int argc, const char **argv, const size_t *lens)
{
    return redisAppendCommandArgv(c->ctx, argc, argv, lens) == REDIS_OK ? 0 : -1;
}

/* Writes all of iov[0..n) (a blocking socket: partial writes go on where
 * they stopped; SO_SNDTIMEO, set by redisSetTimeout, bounds each wait;
 * MSG_NOSIGNAL: a closed connection is an error, not a SIGPIPE). */
static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)(n > RD_IOV ? RD_IOV : n)};
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* "<tag><n>\r\n" at p (printf's machinery costs more than the copy it saves) */
static size_t put_len(char *p, char tag, size_t n)
{
    char t[24];
    size_t k = 0;
    do {
        t[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    p[0] = tag;
    for (size_t i = 0; i < k; i++) p[1 + i] = t[k - 1 - i];
    p[k + 1] = '\r';
    p[k + 2] = '\n';
    return k + 3;
}

int rd_send(rd_conn *c, int ncmd, const int *argc, const char **argv, const size_t *lens, char *err,
            size_t err_size)
{
    /* hiredis would format each command into a buffer and copy that into
     * its output buffer: two copies of every record.  Here large arguments
     * go from where they are straight to the socket; the RESP framing and
     * the small arguments (up to RD_INLINE bytes) are written into one
     * scratch buffer, so a command costs one or two iovecs. */
    size_t need = 0, nv = 1, na = 0;
    for (int k = 0; k < ncmd; k++) {
        need += 16;
        for (int i = 0; i < argc[k]; i++, na++) {
            need += 26 + (lens[na] <= RD_INLINE ? lens[na] : 0);
            nv += lens[na] <= RD_INLINE ? 0 : 2;
        }
    }
    if (c->hcap < need) {
        char *h = realloc(c->hdr, need);
        if (!h) goto oom;
        c->hdr = h;
        c->hcap = need;
    }
    if (c->iovcap < nv) {
        struct iovec *v = realloc(c->iov, nv * sizeof(*v));
        if (!v) goto oom;
        c->iov = v;
        c->iovcap = nv;
    }
    char *h = c->hdr, *p = h; /* p: the end of the header run starting at h */
    int n = 0;
    na = 0;
    for (int k = 0; k < ncmd; k++) {
        p += put_len(p, '*', (size_t)argc[k]);
        for (int i = 0; i < argc[k]; i++, na++) {
            p += put_len(p, '$', lens[na]);
            if (lens[na] <= RD_INLINE) {
                memcpy(p, argv[na], lens[na]);
                p += lens[na];
            } else {
                c->iov[n++] = (struct iovec){h, (size_t)(p - h)};
                c->iov[n++] = (struct iovec){(void *)argv[na], lens[na]};
                h = p;
            }
            memcpy(p, "\r\n", 2);
            p += 2;
        }
    }
    c->iov[n++] = (struct iovec){h, (size_t)(p - h)};
    if (write_all(c->ctx->fd, c->iov, n) != 0) {
        snprintf(err, err_size, "write: %s", strerror(errno));
        return -1;
    }
    return 0;
oom:
    snprintf(err, err_size, "out of memory");
    return -1;
}

/* rd_reply_skip's reader functions: replies are parsed but not built (a
 * batch's MULTI/EXEC has a reply per record), only errors are kept. */
typedef struct skip_state {
    int errors;
    char *err;
    size_t err_size;
} skip_state;

static char skip_obj; /* what the reader gets instead of a reply object */

static void *skip_string(const redisReadTask *t, char *str, size_t len)
{
    skip_state *st = t->privdata;
    if (t->type == REDIS_REPLY_ERROR && st->errors++ == 0)
        snprintf(st->err, st->err_size, "%.*s", (int)len, str);
    return &skip_obj;
}

static void *skip_array(const redisReadTask *t, int elements)
{
    (void)t;
    (void)elements;
    return &skip_obj;
}

static void *skip_integer(const redisReadTask *t, long long v)
{
    (void)t;
    (void)v;
    return &skip_obj;
}

static void *skip_nil(const redisReadTask *t)
{
    (void)t;
    return &skip_obj;
}

static void skip_free(void *obj)
{
    (void)obj;
}

static redisReplyObjectFunctions skip_fn = {skip_string, skip_array, skip_integer, skip_nil,
                                            skip_free};

int rd_reply_skip(rd_conn *c, size_t n, char *err, size_t err_size)
{
    redisReader *r = c->ctx->reader;
    redisReplyObjectFunctions *fn = r->fn;
    void *priv = r->privdata;
    skip_state st = {0, err, err_size};
    r->fn = &skip_fn;
    r->privdata = &st;
    for (size_t i = 0; i < n; i++) {
        void *x = NULL;
        if (redisGetReply(c->ctx, &x) != REDIS_OK || !x) {
            /* the reader may hold a part of a reply made of skip_obj: it
             * keeps skip_fn to free it (the connection is closed next) */
            r->privdata = NULL;
            ctx_err(c->ctx, err, err_size);
            return -1;
        }
    }
    r->fn = fn;
    r->privdata = priv;
    return st.errors ? 1 : 0;
}

int rd_command(rd_conn *c, rd_reply *r, char *err, size_t err_size, int argc, const char **argv)
{
    size_t lens[16];
    if (argc > 16) return -1;
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    if (rd_append(c, argc, argv, lens) != 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return rd_reply_next(c, r, err, err_size);
}

int rd_script_load(rd_conn *c, const char *script, char *sha, size_t sha_size, char *err,
                   size_t err_size)
{
    rd_reply r;
    const char *argv[] = {"SCRIPT", "LOAD", script};
    if (rd_command(c, &r, err, err_size, 3, argv) != 0) return -1;
    if (r.kind != RD_STR) {
        snprintf(err, err_size, "%s", r.kind == RD_ERR ? r.str : "SCRIPT LOAD: unexpected reply");
        return -1;
    }
    snprintf(sha, sha_size, "%.63s", r.str);
    return 0;
}

rd_conn *rd_connect(const rd_url *u, int timeout_ms, char *err, size_t err_size)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *ctx = u->is_unix ? redisConnectUnixWithTimeout(u->host, tv)
                                   : redisConnectWithTimeout(u->host, u->port, tv);
    if (!ctx || ctx->err) {
        ctx_err(ctx, err, err_size);
        if (ctx) redisFree(ctx);
        return NULL;
    }
    if (redisSetTimeout(ctx, tv) != REDIS_OK) {
        ctx_err(ctx, err, err_size);
        redisFree(ctx);
        return NULL;
    }
    rd_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        redisFree(ctx);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    c->ctx = ctx;
    rd_reply r;
    char dbs[16];
    snprintf(dbs, sizeof(dbs), "%d", u->db);
    const char *auth1[] = {"AUTH", u->pass};
    const char *auth2[] = {"AUTH", u->user, u->pass};
    const char *sel[] = {"SELECT", dbs};
    if (u->pass[0] && (u->user[0] ? rd_command(c, &r, err, err_size, 3, auth2)
                                  : rd_command(c, &r, err, err_size, 2, auth1)) != 0)
        goto fail;
    if (u->pass[0] && r.kind == RD_ERR) goto fail_reply;
    if (u->db > 0 && rd_command(c, &r, err, err_size, 2, sel) != 0) goto fail;
    if (u->db > 0 && r.kind == RD_ERR) goto fail_reply;
    return c;
fail_reply:
    snprintf(err, err_size, "%s", r.str);
fail:
    rd_close(c);
    return NULL;
}

void rd_close(rd_conn *c)
{
    if (!c) return;
    redisFree(c->ctx);
    free(c->hdr);
    free(c->iov);
    free(c);
}
