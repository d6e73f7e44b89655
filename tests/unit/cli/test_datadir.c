/*
 * test_datadir.c -- datadir_init (datadir.c): the user's EGRET_DATADIR is
 * kept; without one, the directory next to the executable that holds
 * rules/ (this test runs from the build tree, which CMake lays out so).
 * The installed layout (bin/../share/egret) is checked by
 * tests/install/test_install.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datadir.h"

static void test_user_value_kept(void **state)
{
    (void)state;
    setenv("EGRET_DATADIR", "/somewhere/else", 1);
    datadir_init();
    assert_string_equal(getenv("EGRET_DATADIR"), "/somewhere/else");
}

static void test_next_to_executable(void **state)
{
    (void)state;
    char exe[PATH_MAX], dir[PATH_MAX], rules[PATH_MAX + 8];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    assert_non_null(realpath(exe, dir));
    snprintf(rules, sizeof(rules), "%s/rules", dir);
    struct stat st;
    if (stat(rules, &st) != 0) skip(); /* not run from a build tree */

    unsetenv("EGRET_DATADIR");
    datadir_init();
    assert_non_null(getenv("EGRET_DATADIR"));
    assert_string_equal(getenv("EGRET_DATADIR"), dir);

    setenv("EGRET_DATADIR", "", 1); /* empty counts as unset */
    datadir_init();
    assert_string_equal(getenv("EGRET_DATADIR"), dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_value_kept),
        cmocka_unit_test(test_next_to_executable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
