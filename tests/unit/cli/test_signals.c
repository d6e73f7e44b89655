/*
 * test_signals.c -- the CLI's signal handlers (signals.c): SIGHUP asks for
 * a reload, SIGINT and SIGTERM stop, SIGPIPE is ignored, and a stop
 * breaks the source being watched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "signals.h"

static void test_flags(void **state)
{
    (void)state;
    signals_install();
    assert_int_equal(sig_reload, 0);
    raise(SIGHUP);
    assert_int_equal(sig_reload, 1);
    assert_int_equal(sig_stop, 0);
    raise(SIGPIPE); /* ignored: the process goes on */
    raise(SIGTERM);
    assert_int_equal(sig_stop, 1);
    sig_stop = 0;
    raise(SIGINT);
    assert_int_equal(sig_stop, 1);
    sig_stop = 0;
    sig_reload = 0;
}

/* A stop interrupts the watched source: its next read is CAP_EBREAK. */
static void test_stop_breaks_source(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    FILE *w = fdopen(fds[1], "w");
    assert_non_null(w);
    /* a classic pcap header, so that the source opens; no packet follows */
    static const uint8_t hdr[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
                                    0,    0,    0,    0,    0, 0, 4, 0, 1, 0, 0, 0};
    assert_int_equal(fwrite(hdr, 1, sizeof(hdr), w), sizeof(hdr));
    fflush(w);
    char path[64], err[CAP_ERRBUF_SIZE];
    snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
    cap_source *s;
    assert_int_equal(cap_open_file(path, NULL, &s, err), CAP_OK);
    signals_install();
    signals_watch(s);
    raise(SIGTERM);
    cap_packet pkt;
    assert_int_equal(cap_next(s, &pkt), CAP_EBREAK);
    signals_watch(NULL);
    cap_close(s);
    fclose(w);
    close(fds[0]);
    sig_stop = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_stop_breaks_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
