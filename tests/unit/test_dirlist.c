/*
 * test_dirlist.c -- dirlist.h: a directory's entries, filtered, in
 * byte-wise order whatever the locale; a missing directory is -1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirlist.h"
#include "tmpdir.h"

static char dir[64];

static const char *const names[] = {"b.lua", "B.lua", "a.lua", "_z.lua", "a.txt", "10-x.lua"};

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(test_tmpname(dir, sizeof(dir), "egret-dirlist"))) return -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        FILE *f = fopen(p, "w");
        if (!f) return -1;
        fclose(f);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    return rmdir(dir);
}

static int lua_only(const struct dirent *de)
{
    size_t n = strlen(de->d_name);
    return n > 4 && strcmp(de->d_name + n - 4, ".lua") == 0;
}

static void test_sorted_bytewise(void **state)
{
    (void)state;
    /* where en_US is installed, alphasort would put "a.lua" before "B.lua" */
    setlocale(LC_COLLATE, "en_US.UTF-8");
    struct dirent **list;
    int n = dirlist_scan(dir, lua_only, &list);
    assert_int_equal(n, 5);
    static const char *const want[] = {"10-x.lua", "B.lua", "_z.lua", "a.lua", "b.lua"};
    for (int i = 0; i < n; i++) assert_string_equal(list[i]->d_name, want[i]);
    dirlist_free(list, n);
    setlocale(LC_ALL, "C");
}

static void test_missing(void **state)
{
    (void)state;
    struct dirent **list;
    errno = 0;
    assert_int_equal(dirlist_scan("/nonexistent/egret", NULL, &list), -1);
    assert_int_equal(errno, ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_bytewise),
        cmocka_unit_test(test_missing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
