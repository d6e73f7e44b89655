/*
 * redis.h -- the CLI's Redis client: URL parsing, a connection, pipelined
 * commands and their replies.  redis.c is the only file that includes
 * hiredis (Debian's libhiredis 0.14: no TLS, no URL parser).
 */
#ifndef EGRET_CLI_REDIS_H
#define EGRET_CLI_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* redis://[user:password@]host[:port][/db] or unix:///path/to.sock */
typedef struct rd_url {
    bool is_unix;
    char host[256]; /* TCP host, or the socket's path */
    int port;       /* 6379 by default */
    char user[128], pass[256];
    int db; /* SELECT db when > 0 */
} rd_url;

/* Parses 'url'; false with a message in 'err' ("expected ...") otherwise. */
bool rd_url_parse(const char *url, rd_url *u, char *err, size_t err_size);

typedef struct rd_conn rd_conn;

/* Connects (timeout_ms for the connection and every later read/write),
 * authenticates and selects the database.  NULL with a message in 'err'. */
rd_conn *rd_connect(const rd_url *u, int timeout_ms, char *err, size_t err_size);
void rd_close(rd_conn *c);

/* Queues one command (argc arguments with their lengths) on the output
 * buffer; nothing is sent before rd_reply.  -1 on an allocation failure. */
int rd_append(rd_conn *c, int argc, const char **argv, const size_t *lens);

/* Writes ncmd commands now (command k has argc[k] of the arguments, in
 * order), long arguments straight from where they are (no copy); nothing
 * may be queued by rd_append before.  Then rd_reply_next or rd_reply_skip
 * read the replies.  -1 with 'err' when the connection failed. */
int rd_send(rd_conn *c, int ncmd, const int *argc, const char **argv, const size_t *lens, char *err,
            size_t err_size);

/* Reads n replies without keeping them: 0, 1 when one of them (or an
 * element of an array reply) is an error (the first one's text in 'err'),
 * -1 when the connection failed. */
int rd_reply_skip(rd_conn *c, size_t n, char *err, size_t err_size);

typedef enum { RD_INT, RD_STR, RD_NIL, RD_ERR, RD_ARRAY, RD_STATUS } rd_kind;
typedef struct rd_reply {
    rd_kind kind;
    long long num;
    char str[256]; /* a string, status or error (cut) */
} rd_reply;

/* Sends what is queued and reads the next reply; -1 when the connection
 * failed (then 'err' says why and the connection is unusable). */
int rd_reply_next(rd_conn *c, rd_reply *r, char *err, size_t err_size);

/* Reads the next reply, an array (nested arrays are flattened) of strings
 * or integers (as text): each(ud, i, s, n) per element.  0, -1 when the
 * connection failed, 1 for an error reply (its text in 'err'). */
int rd_reply_each(rd_conn *c, void (*each)(void *ud, size_t i, const char *s, size_t n), void *ud,
                  char *err, size_t err_size);

/* One command, its reply: rd_append + rd_reply_next. */
int rd_command(rd_conn *c, rd_reply *r, char *err, size_t err_size, int argc, const char **argv);

/* SCRIPT LOAD: the script's SHA1 (hex) into 'sha'.  0, or -1 with the
 * connection's failure or Redis's error reply in 'err'. */
int rd_script_load(rd_conn *c, const char *script, char *sha, size_t sha_size, char *err,
                   size_t err_size);

#endif
