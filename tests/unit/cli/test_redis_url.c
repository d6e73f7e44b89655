/*
 * test_redis_url.c -- rd_url_parse (redis.c): the URL forms --eve-redis
 * and --window-store take, and the ones they refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

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
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
