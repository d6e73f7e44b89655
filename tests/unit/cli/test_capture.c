/*
 * test_capture.c -- the CLI's savefile readers: the mapped reader of
 * classic pcap files (capture.c) must yield exactly what libpcap's stream
 * reader yields -- packets, timestamps, lengths, filter results and, for
 * damaged files, the same packets before the same error message.
 *
 * Files: every capture in pcaps/ as shipped, plus files written here
 * (nanosecond timestamps, records longer than the snapshot length or than
 * libpcap's maximum, byte-swapped and pcapng headers, truncations at every
 * kind of boundary).  Also: pages given back behind a caller's mark
 * (cap_release_manual / cap_keep_from), and standard input from a file
 * (mapped) or a pipe (a source whose reads may block).  And the errors of
 * cap_open_fanout (Linux packet fanout).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"

static char tmpdir[] = "/tmp/egret-test-capture.XXXXXX";

/* Reads 'path' with both readers in lockstep; returns the packets read.
 * 'mapped' is whether the mapped reader is expected to take the file.
 * 'want_err' is whether the file ends in an error rather than EOF. */
static size_t compare(const char *path, const char *filter, bool mapped, bool want_err)
{
    char e1[CAP_ERRBUF_SIZE], e2[CAP_ERRBUF_SIZE];
    cap_source *a, *b;
    assert_int_equal(cap_open_file_ex(path, filter, true, &a, e1), CAP_OK);
    assert_int_equal(cap_open_file_ex(path, filter, false, &b, e2), CAP_OK);
    assert_int_equal(cap_mapped(a), mapped);
    assert_false(cap_mapped(b));
    assert_int_equal(cap_linktype(a), cap_linktype(b));
    size_t n = 0;
    for (;;) {
        cap_packet pa, pb;
        int ra = cap_next(a, &pa), rb = cap_next(b, &pb);
        assert_int_equal(ra, rb);
        if (ra != CAP_PACKET) {
            assert_int_equal(ra, want_err ? CAP_ERROR : CAP_EOF);
            if (want_err) assert_string_equal(cap_geterr(a), cap_geterr(b));
            break;
        }
        assert_true(pa.ts_usec == pb.ts_usec);
        assert_int_equal(pa.caplen, pb.caplen);
        assert_int_equal(pa.len, pb.len);
        assert_memory_equal(pa.data, pb.data, pa.caplen);
        n++;
    }
    cap_close(a);
    cap_close(b);
    return n;
}

static void test_shipped_captures(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/pcaps", EGRET_SRCDIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    size_t files = 0, pkts = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".pcap") != 0) continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        pkts += compare(path, NULL, true, false);
        pkts += compare(path, "tcp or (udp and port 53)", true, false);
        files++;
    }
    closedir(d);
    assert_true(files >= 20);
    assert_true(pkts > 1000);
}

/* ---- files written here ---- */

static void put32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

static size_t file_hdr(uint8_t *p, uint32_t magic, uint32_t snaplen)
{
    put32le(p, magic);
    p[4] = 2, p[5] = 0, p[6] = 4, p[7] = 0;
    memset(p + 8, 0, 8);
    put32le(p + 16, snaplen);
    put32le(p + 20, 1); /* Ethernet */
    return 24;
}

/* A record with an Ethernet/IPv4/UDP-ish body of 'caplen' bytes. */
static size_t record(uint8_t *p, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t len)
{
    put32le(p, sec);
    put32le(p + 4, frac);
    put32le(p + 8, caplen);
    put32le(p + 12, len);
    for (uint32_t i = 0; i < caplen; i++) p[16 + i] = (uint8_t)(i * 7 + caplen);
    if (caplen >= 14) p[16 + 12] = 0x08, p[16 + 13] = 0x00;
    return 16 + caplen;
}

static char *write_file(const char *name, const uint8_t *b, size_t n)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    return path;
}

static void test_nanoseconds(void **state)
{
    (void)state;
    static uint8_t b[4096];
    size_t n = file_hdr(b, 0xa1b23c4d, 65535);
    n += record(b + n, 1700000000, 999999999, 60, 60);
    n += record(b + n, 1700000001, 1500, 80, 1514);
    n += record(b + n, 0x80000001u, 5, 60, 60); /* negative seconds as int32 */
    assert_int_equal(compare(write_file("nsec.pcap", b, n), NULL, true, false), 3);
}

static void test_lengths(void **state)
{
    (void)state;
    static uint8_t b[1 << 20];
    /* longer than the file's snapshot length: cut to it */
    size_t n = file_hdr(b, 0xa1b2c3d4, 100);
    n += record(b + n, 10, 1, 60, 60);
    n += record(b + n, 10, 2, 150, 1500);
    n += record(b + n, 10, 3, 100, 100);
    assert_int_equal(compare(write_file("snap.pcap", b, n), NULL, true, false), 3);
    /* longer than libpcap's maximum: an error after the good packets */
    n = file_hdr(b, 0xa1b2c3d4, 262144);
    n += record(b + n, 10, 1, 60, 60);
    put32le(b + n, 11), put32le(b + n + 4, 0), put32le(b + n + 8, 300000),
        put32le(b + n + 12, 300000);
    n += 16 + 64;
    assert_int_equal(compare(write_file("huge.pcap", b, n), NULL, true, true), 1);
    n = file_hdr(b, 0xa1b2c3d4, 1000);
    n += record(b + n, 10, 1, 60, 60);
    put32le(b + n, 11), put32le(b + n + 4, 0), put32le(b + n + 8, 300000),
        put32le(b + n + 12, 300000);
    n += 16 + 64;
    assert_int_equal(compare(write_file("huge2.pcap", b, n), NULL, true, true), 1);
}

/* Cut a good file at every kind of place: in a record header, in a body,
 * inside the part beyond the snapshot length, right after a record. */
static void test_truncated(void **state)
{
    (void)state;
    static uint8_t b[4096];
    size_t n = file_hdr(b, 0xa1b2c3d4, 100);
    size_t r1 = n += record(b + n, 20, 1, 70, 70);
    size_t r2 = n += record(b + n, 20, 2, 150, 150); /* cut to 100 when read */
    n += record(b + n, 20, 3, 40, 40);
    const struct {
        size_t cut, pkts;
        bool err;
    } cuts[] = {
        {24, 0, false}, {24 + 5, 0, true},       {r1 - 10, 0, true},
        {r1, 1, false}, {r1 + 16 + 50, 1, true}, {r1 + 16 + 120, 1, true},
        {r2, 2, false}, {r2 + 15, 2, true},      {n - 1, 2, true},
        {n, 3, false},
    };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "cut%zu.pcap", i);
        assert_int_equal(compare(write_file(name, b, cuts[i].cut), NULL, true, cuts[i].err),
                         cuts[i].pkts);
    }
}

/* Files the mapped reader leaves to libpcap. */
static void test_left_to_libpcap(void **state)
{
    (void)state;
    static uint8_t b[4096];
    size_t n = file_hdr(b, 0xa1b2c3d4, 65535);
    n += record(b + n, 30, 1, 60, 60);
    for (size_t i = 0; i < n; i += 4) { /* the whole file byte-swapped */
        uint8_t t0 = b[i], t1 = b[i + 1];
        b[i] = b[i + 3], b[i + 1] = b[i + 2], b[i + 2] = t1, b[i + 3] = t0;
    }
    /* the swap also turned the version halves around: fix them */
    b[4] = 0, b[5] = 2, b[6] = 0, b[7] = 4;
    for (size_t i = 40; i < n; i++) b[i] = (uint8_t)i;
    assert_int_equal(compare(write_file("swapped.pcap", b, n), NULL, false, false), 1);
    char path[4096];
    snprintf(path, sizeof(path), "%s/../shared/pcaps/quic-v2.pcapng", EGRET_SRCDIR);
    if (access(path, R_OK) == 0) assert_true(compare(path, NULL, false, false) > 0);
}

/* A 24 MB classic pcap file of 60-1,460-byte packets; returns its path and
 * sets *pkts and *size.  'bytes' non-NULL: also the file's bytes (the
 * caller frees them). */
static char *write_big(const char *name, uint32_t *pkts, size_t *size, uint8_t **bytes)
{
    size_t cap = 24u << 20;
    uint8_t *b = malloc(cap);
    assert_non_null(b);
    size_t n = file_hdr(b, 0xa1b2c3d4, 65535);
    uint32_t k = 0;
    while (n + 16 + 1500 <= cap)
        n += record(b + n, 40 + k / 1000, k % 1000, 60 + (k * 37) % 1400, 1514), k++;
    char *path = write_file(name, b, n);
    *pkts = k;
    *size = n;
    if (bytes)
        *bytes = b;
    else
        free(b);
    return path;
}

/* Readers of one file share its mapping and give pages back behind the
 * slowest one: a 24 MB file, one reader 30,000 packets ahead of a second
 * that attaches late, and both in lockstep with libpcap's reader. */
static void test_shared_mapping(void **state)
{
    (void)state;
    uint32_t k;
    size_t n;
    char *path = write_big("big.pcap", &k, &n, NULL);
    char e[CAP_ERRBUF_SIZE];
    cap_source *a, *c, *ref;
    cap_packet pa, pc, pr;
    assert_int_equal(cap_open_file_ex(path, NULL, true, &a, e), CAP_OK);
    assert_true(cap_mapped(a));
    for (int i = 0; i < 30000; i++) assert_int_equal(cap_next(a, &pa), CAP_PACKET);
    assert_int_equal(cap_open_file_ex(path, NULL, true, &c, e), CAP_OK);
    assert_int_equal(cap_open_file_ex(path, NULL, false, &ref, e), CAP_OK);
    assert_true(cap_mapped(c));
    uint32_t got = 0;
    for (;;) {
        int rc = cap_next(c, &pc), rr = cap_next(ref, &pr);
        assert_int_equal(rc, rr);
        if (rc != CAP_PACKET) break;
        assert_int_equal(pc.caplen, pr.caplen);
        assert_true(pc.ts_usec == pr.ts_usec);
        assert_memory_equal(pc.data, pr.data, pc.caplen);
        got++;
        if (a && got % 3 == 0 && cap_next(a, &pa) == CAP_PACKET) /* the first one moves on */
            assert_int_equal(pa.data[0], (uint8_t)(pa.caplen));
        if (got == 20000) { /* and leaves: the mapping stays for the other */
            cap_close(a);
            a = NULL;
        }
    }
    assert_int_equal(got, k);
    cap_close(c);
    cap_close(ref);
}

/* Resident bytes of the mapping that holds 'p' (/proc/self/smaps Rss). */
static size_t mapping_rss(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    bool in = false;
    size_t kib = SIZE_MAX;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        } else if (in && sscanf(line, "Rss: %zu kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    assert_true(kib != SIZE_MAX);
    return kib * 1024;
}

/* cap_release_manual: pages are given back only behind the mark that
 * cap_keep_from sets, and packets handed out earlier stay readable.  Read
 * to the end without a mark, a 24 MB file is all resident; with the mark
 * following the reader, at most a few release steps of it are. */
static void test_manual_release(void **state)
{
    (void)state;
    uint32_t k;
    size_t n;
    uint8_t *b;
    char *path = write_big("manual.pcap", &k, &n, &b);
    for (int follow = 0; follow < 2; follow++) {
        char e[CAP_ERRBUF_SIZE];
        cap_source *s;
        cap_packet pkt;
        assert_int_equal(cap_open_file_ex(path, NULL, true, &s, e), CAP_OK);
        assert_true(cap_mapped(s));
        cap_release_manual(s);
        const uint8_t *first = NULL;
        uint32_t first_len = 0, got = 0;
        while (cap_next(s, &pkt) == CAP_PACKET) {
            if (!first) first = pkt.data, first_len = pkt.caplen;
            if (follow) cap_keep_from(s, pkt.data);
            got++;
        }
        assert_int_equal(got, k);
        assert_false(cap_may_block(s));
        size_t rss = mapping_rss(pkt.data);
        if (follow)
            assert_true(rss < n / 2);
        else
            assert_true(rss > n - (1u << 20));
        /* the first packet is still there (given back or not, the bytes
         * come from the file) */
        assert_memory_equal(first, b + 24 + 16, first_len);
        cap_close(s);
    }
    free(b);
}

/* Standard input: read by libpcap, and a source whose reads may block,
 * when it is a pipe; mapped when it is a regular file whose capture starts
 * at offset 0. */
static void test_stdin(void **state)
{
    (void)state;
    static uint8_t b[4096];
    size_t n = file_hdr(b, 0xa1b2c3d4, 65535);
    for (uint32_t i = 0; i < 5; i++) n += record(b + n, 50 + i, i, 100, 100);
    char *path = write_file("stdin.pcap", b, n);
    int saved = dup(0);
    assert_true(saved >= 0);
    char e[CAP_ERRBUF_SIZE];
    cap_source *s;
    cap_packet pkt;

    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    assert_true(write(pfd[1], b, n) == (ssize_t)n); /* fits in the pipe */
    close(pfd[1]);
    assert_int_equal(dup2(pfd[0], 0), 0);
    close(pfd[0]);
    assert_int_equal(cap_open_file("-", NULL, &s, e), CAP_OK);
    assert_false(cap_mapped(s));
    assert_true(cap_may_block(s));
    int got = 0;
    while (cap_next(s, &pkt) == CAP_PACKET) assert_int_equal(pkt.caplen, 100), got++;
    assert_int_equal(got, 5);
    cap_close(s);

    /* the CLI reads standard input once; here stdin is reused, so drop
     * what stdio holds of the pipe */
    __fpurge(stdin);
    clearerr(stdin);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0 && dup2(fd, 0) == 0);
    close(fd);
    assert_int_equal(cap_open_file("-", NULL, &s, e), CAP_OK);
    assert_true(cap_mapped(s));
    assert_false(cap_may_block(s));
    got = 0;
    while (cap_next(s, &pkt) == CAP_PACKET) assert_int_equal(pkt.caplen, 100), got++;
    assert_int_equal(got, 5);
    cap_close(s);
    assert_int_equal(dup2(saved, 0), 0);
    close(saved);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(tmpdir);
    return 0;
}

/* cap_open_fanout: every failure leaves no source open and says why; as
 * root, a group on loopback forms (the program here sends everything to
 * the first socket), and a bad filter is a filter error. */
static void test_fanout_errors(void **state)
{
    (void)state;
    char err[CAP_ERRBUF_SIZE];
    cap_source *out[3] = {(cap_source *)1, (cap_source *)1, (cap_source *)1};
    egret_bpf_insn all_first = {0x06, 0, 0, 0}; /* ret #0 */
    assert_int_equal(cap_open_fanout("lo", NULL, 1, 0, &all_first, 1, out, err), CAP_ENOFANOUT);
    assert_non_null(strstr(err, "packet fanout"));
    out[0] = (cap_source *)1;
    assert_int_equal(cap_open_fanout("lo", NULL, 1, 2, &all_first, 0, out, err), CAP_ENOFANOUT);
    assert_null(out[0]);
    assert_null(out[1]);
    assert_int_equal(cap_open_fanout("egret-no-such0", NULL, 1, 2, &all_first, 1, out, err),
                     CAP_ERROR);
    assert_null(out[0]);
    assert_null(out[1]);
    assert_true(err[0] != '\0');
    if (geteuid() != 0) {
        print_message("  not root: the loopback group is not tried\n");
        return;
    }
    assert_int_equal(cap_open_fanout("lo", "udp", 1, 3, &all_first, 1, out, err), CAP_OK);
    for (int i = 0; i < 3; i++) {
        assert_non_null(out[i]);
        assert_int_equal(cap_linktype(out[i]), 1);
        uint64_t r, d, i2;
        assert_int_equal(cap_stats(out[i], &r, &d, &i2), 0);
        cap_close(out[i]);
    }
    assert_int_equal(cap_open_fanout("lo", "udp and", 1, 2, &all_first, 1, out, err), CAP_EFILTER);
    assert_null(out[0]);
    assert_null(out[1]);
    assert_non_null(strstr(err, "bad filter"));
    egret_bpf_insn bad = {0xffff, 0, 0, 0}; /* no such opcode: the kernel refuses it */
    assert_int_equal(cap_open_fanout("lo", NULL, 1, 2, &bad, 1, out, err), CAP_ENOFANOUT);
    assert_null(out[0]);
    assert_null(out[1]);
    assert_non_null(strstr(err, "refused"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fanout_errors),  cmocka_unit_test(test_shipped_captures),
        cmocka_unit_test(test_nanoseconds),    cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_truncated),      cmocka_unit_test(test_left_to_libpcap),
        cmocka_unit_test(test_shared_mapping), cmocka_unit_test(test_manual_release),
        cmocka_unit_test(test_stdin),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
