/*
 * test_redis_url.c -- rd_url_parse (redis.c): the URL forms --eve-redis
 * and --window-store take, and the ones they refuse; rd_send and
 * rd_reply_skip against a fake server (a child process on a unix socket in
 * a temporary directory) that checks the exact bytes and answers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redis.h"

static void test_good(void **state)
{
    (void)state;
    rd_url u;
    char err[256];
    assert_true(rd_url_parse("redis://localhost", &u, err, sizeof(err)));
    assert_false(u.is_unix);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.pass, "");

    assert_true(rd_url_parse("redis://10.0.0.5:6380/3", &u, err, sizeof(err)));
    assert_string_equal(u.host, "10.0.0.5");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 3);

    assert_true(rd_url_parse("redis://egret:s%40cret@[::1]:7000/", &u, err, sizeof(err)));
    assert_string_equal(u.user, "egret");
    assert_string_equal(u.pass, "s@cret");
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);

    assert_true(rd_url_parse("redis://onlypass@h", &u, err, sizeof(err)));
    assert_string_equal(u.user, "");
    assert_string_equal(u.pass, "onlypass");

    assert_true(rd_url_parse("unix:///run/redis/redis.sock", &u, err, sizeof(err)));
    assert_true(u.is_unix);
    assert_string_equal(u.host, "/run/redis/redis.sock");
}

static void test_bad(void **state)
{
    (void)state;
    rd_url u;
    char err[256];
    const char *bad[] = {"",
                         "localhost",
                         "http://h",
                         "redis://",
                         "redis://h:0",
                         "redis://h:70000",
                         "redis://h:port",
                         "redis://h/x",
                         "redis://h/1/2",
                         "redis://[::1",
                         "redis://u:%zz@h",
                         "unix://relative.sock",
                         "rediss://h"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_false(rd_url_parse(bad[i], &u, err, sizeof(err)));
        assert_non_null(strstr(err, "expected") ? err : strstr(err, "bad"));
        /* the message names the value refused */
        char named[64];
        snprintf(named, sizeof(named), "'%s': ", bad[i]);
        assert_memory_equal(err, named, strlen(named));
    }
}

/* The fake server: accepts one connection, reads exactly 'want_len' bytes,
 * exits 3 when they differ from 'want', else writes 'reply' and waits for
 * the client to close. */
static void serve(int ls, const char *want, size_t want_len, const char *reply)
{
    int fd = accept(ls, NULL, NULL);
    if (fd < 0) _exit(1);
    char *got = malloc(want_len);
    size_t n = 0;
    while (got && n < want_len) {
        ssize_t r = read(fd, got + n, want_len - n);
        if (r <= 0) _exit(2);
        n += (size_t)r;
    }
    if (!got || memcmp(got, want, want_len) != 0) _exit(3);
    if (write(fd, reply, strlen(reply)) != (ssize_t)strlen(reply)) _exit(4);
    char c;
    while (read(fd, &c, 1) > 0) {
    }
    _exit(0);
}

static void test_send_and_skip(void **state)
{
    (void)state;
    char dir[] = "/tmp/egret-test-redis-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/s.sock", dir);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(ls, 1), 0);

    /* two commands: RPUSH with 600 arguments of 100 bytes (more iovecs than
     * one sendmsg takes) and one of 1 MiB (partial writes), then PING */
    enum { N = 600, SMALL = 100, BIG = 1 << 20 };
    const char **argv = calloc(N + 4, sizeof(*argv));
    size_t *lens = calloc(N + 4, sizeof(*lens));
    char *small = malloc((size_t)N * SMALL), *big = malloc(BIG);
    char *want = malloc((size_t)N * (SMALL + 16) + BIG + 256);
    assert_true(argv && lens && small && big && want);
    size_t w = 0, na = 0;
    argv[na] = "RPUSH";
    lens[na++] = 5;
    argv[na] = "k";
    lens[na++] = 1;
    w += (size_t)sprintf(want + w, "*%d\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n", N + 3);
    for (int i = 0; i < N; i++) {
        memset(small + (size_t)i * SMALL, 'a' + i % 26, SMALL);
        argv[na] = small + (size_t)i * SMALL;
        lens[na++] = SMALL;
        w += (size_t)sprintf(want + w, "$%d\r\n", SMALL);
        memcpy(want + w, small + (size_t)i * SMALL, SMALL);
        w += SMALL;
        memcpy(want + w, "\r\n", 2);
        w += 2;
    }
    memset(big, 'z', BIG);
    argv[na] = big;
    lens[na++] = BIG;
    w += (size_t)sprintf(want + w, "$%d\r\n", BIG);
    memcpy(want + w, big, BIG);
    w += BIG;
    w += (size_t)sprintf(want + w, "\r\n*1\r\n$4\r\nPING\r\n");
    argv[na] = "PING";
    lens[na++] = 4;
    int argc[2] = {N + 3, 1};

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        serve(ls, want, w, "+OK\r\n*3\r\n$2\r\nid\r\n-ERR wrong\r\n:1\r\n+QUEUED\r\n+PONG\r\n");
    close(ls);
    rd_url u;
    char err[256], url[96];
    snprintf(url, sizeof(url), "unix://%s", path);
    assert_true(rd_url_parse(url, &u, err, sizeof(err)));
    rd_conn *c = rd_connect(&u, 5000, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(rd_send(c, 2, argc, argv, lens, err, sizeof(err)), 0);
    /* +OK, an array holding an error, +QUEUED: the array's error is found */
    assert_int_equal(rd_reply_skip(c, 3, err, sizeof(err)), 1);
    assert_string_equal(err, "ERR wrong");
    /* the reader builds replies again afterwards */
    rd_reply r;
    assert_int_equal(rd_reply_next(c, &r, err, sizeof(err)), 0);
    assert_int_equal(r.kind, RD_STATUS);
    assert_string_equal(r.str, "PONG");
    rd_close(c);
    int st = -1;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0); /* 3: the bytes on the wire differed */
    unlink(path);
    rmdir(dir);
    free(argv);
    free(lens);
    free(small);
    free(big);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_send_and_skip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
