/*
 * test_capture.c -- the CLI's savefile readers: egret's mapped reader of
 * classic pcap files (capture.c) and its stream readers (pcapfile.c,
 * pcapng.c) must yield exactly what libpcap's file reader yields --
 * packets, timestamps, lengths, filter results and, for damaged files,
 * the same packets before an error -- except where libpcap loses data:
 * records longer than the file's snapshot length, which egret hands out
 * whole and reports once per file (cap_take_events).
 *
 * Files: every capture in pcaps/ as shipped, plus files written here
 * (nanosecond timestamps, both byte orders, records longer than the
 * snapshot length or than libpcap's maximum, truncations at every kind of
 * boundary).  Also: pages given back behind a caller's mark
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
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "../tmpdir.h"

static char tmpdir[64];

/* Reads 'path' with egret's mapped-where-possible and stream readers and,
 * when 'ref', libpcap's, in lockstep; returns the packets read.  'mapped'
 * is whether the mapping is expected to take the file.  'want_err' is
 * whether the file ends in an error rather than EOF: both egret readers
 * give the same message, naming the record's offset 'err_off' (libpcap's
 * wording differs; it must fail at the same packet). */
static size_t compare_ex(const char *path, const char *filter, bool mapped, bool want_err, bool ref,
                         long err_off)
{
    char e1[CAP_ERRBUF_SIZE], e2[CAP_ERRBUF_SIZE], e3[CAP_ERRBUF_SIZE];
    cap_source *a, *b, *c = NULL;
    assert_int_equal(cap_open_file_ex(path, filter, CAP_READ_AUTO, &a, e1), CAP_OK);
    assert_int_equal(cap_open_file_ex(path, filter, CAP_READ_STREAM, &b, e2), CAP_OK);
    if (ref) assert_int_equal(cap_open_file_ex(path, filter, CAP_READ_LIBPCAP, &c, e3), CAP_OK);
    assert_int_equal(cap_mapped(a), mapped);
    assert_false(cap_mapped(b));
    assert_int_equal(cap_linktype(a), cap_linktype(b));
    if (c) assert_int_equal(cap_linktype(a), cap_linktype(c));
    size_t n = 0;
    for (;;) {
        cap_packet pa, pb, pc;
        int ra = cap_next(a, &pa), rb = cap_next(b, &pb);
        assert_int_equal(ra, rb);
        if (c) assert_int_equal(cap_next(c, &pc), ra);
        if (ra != CAP_PACKET) {
            assert_int_equal(ra, want_err ? CAP_ERROR : CAP_EOF);
            if (want_err) {
                assert_string_equal(cap_geterr(a), cap_geterr(b));
                char off[48];
                snprintf(off, sizeof(off), "record at offset %ld:", err_off);
                if (err_off >= 0 && !strstr(cap_geterr(a), off))
                    fail_msg("'%s' does not name '%s'", cap_geterr(a), off);
            }
            break;
        }
        assert_true(pa.ts_usec == pb.ts_usec);
        assert_int_equal(pa.caplen, pb.caplen);
        assert_int_equal(pa.len, pb.len);
        assert_int_equal(pa.linktype, pb.linktype);
        assert_memory_equal(pa.data, pb.data, pa.caplen);
        if (c) {
            assert_true(pa.ts_usec == pc.ts_usec);
            assert_int_equal(pa.caplen, pc.caplen);
            assert_int_equal(pa.len, pc.len);
            assert_int_equal(pa.linktype, pc.linktype);
            assert_memory_equal(pa.data, pc.data, pa.caplen);
            assert_int_equal(cap_take_events(a), 0); /* libpcap agrees: nothing over the snaplen */
        }
        n++;
    }
    cap_close(a);
    cap_close(b);
    cap_close(c);
    return n;
}

static size_t compare(const char *path, const char *filter, bool mapped, bool want_err)
{
    return compare_ex(path, filter, mapped, want_err, true, -1);
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
        bool ng = l > 7 && strcmp(de->d_name + l - 7, ".pcapng") == 0;
        if (!ng && (l < 6 || strcmp(de->d_name + l - 5, ".pcap") != 0)) continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        /* libpcap cuts (pcap) or refuses (pcapng) snaplen-oversize's
         * records: test_lengths and test_pcapng check those */
        bool ref = strncmp(de->d_name, "snaplen-oversize", 16) != 0;
        pkts += compare_ex(path, NULL, !ng, false, ref, -1);
        pkts += compare_ex(path, "tcp or (udp and port 53)", !ng, false, ref, -1);
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

/* The file, written little-endian by file_hdr and record, in big-endian
 * byte order: every 32-bit field swapped, the version's two halves too. */
static void to_big_endian(uint8_t *b, size_t n)
{
    size_t off = 24;
    uint32_t caplen = 0;
    for (size_t i = 0; i < 24; i += 4) {
        if (i == 4) continue;
        uint8_t t0 = b[i], t1 = b[i + 1];
        b[i] = b[i + 3], b[i + 1] = b[i + 2], b[i + 2] = t1, b[i + 3] = t0;
    }
    uint8_t v0 = b[4], v2 = b[6];
    b[4] = b[5], b[5] = v0, b[6] = b[7], b[7] = v2;
    while (off + 16 <= n) {
        caplen = (uint32_t)b[off + 8] | (uint32_t)b[off + 9] << 8 | (uint32_t)b[off + 10] << 16 |
                 (uint32_t)b[off + 11] << 24;
        for (size_t i = off; i < off + 16; i += 4) {
            uint8_t t0 = b[i], t1 = b[i + 1];
            b[i] = b[i + 3], b[i + 1] = b[i + 2], b[i + 2] = t1, b[i + 3] = t0;
        }
        off += 16 + caplen;
    }
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

/* libpcap's reader's caplens for 'path'. */
static int read_lens_cut(const char *path, uint32_t *caplens, int *n)
{
    cap_source *s;
    char err[CAP_ERRBUF_SIZE];
    assert_int_equal(cap_open_file_ex(path, NULL, CAP_READ_LIBPCAP, &s, err), CAP_OK);
    cap_packet p;
    int rc;
    *n = 0;
    while ((rc = cap_next(s, &p)) == CAP_PACKET) {
        assert_true(*n < 8);
        caplens[(*n)++] = p.caplen;
    }
    cap_close(s);
    return rc;
}

/* Reads 'path' (reader CAP_READ_*): the packets' caplens into 'caplens'
 * (up to 8), how many times cap_take_events reported the over-snaplen
 * event, and the final result. */
static int read_lens(const char *path, int reader, uint32_t *caplens, int *n, int *events,
                     char err[CAP_ERRBUF_SIZE])
{
    cap_source *s;
    assert_int_equal(cap_open_file_ex(path, NULL, reader, &s, err), CAP_OK);
    cap_packet p;
    int rc;
    *n = *events = 0;
    while ((rc = cap_next(s, &p)) == CAP_PACKET) {
        assert_true(*n < 8);
        caplens[(*n)++] = p.caplen;
        for (uint32_t i = 0; i < p.caplen; i++) /* record()'s bytes, all of them */
            if (p.data[i] != (uint8_t)(i * 7 + p.caplen) && !(p.caplen >= 14 && i >= 12 && i < 14))
                fail_msg("%s: byte %u of a %u-byte packet", path, i, p.caplen);
        *events += cap_take_events(s) == CAP_EV_OVERSIZE;
    }
    *events += cap_take_events(s) != 0;
    snprintf(err, CAP_ERRBUF_SIZE, "%s", rc == CAP_ERROR ? cap_geterr(s) : "");
    cap_close(s);
    return rc;
}

/* Records longer than the file's snapshot length come whole from every
 * egret reader (mapped and stream; both byte orders; micro- and
 * nanosecond files), and the file's inconsistency is reported once,
 * whatever the number of such records.  libpcap's reader cuts them. */
static void test_lengths(void **state)
{
    (void)state;
    static uint8_t b[1 << 20];
    const uint32_t magics[] = {0xa1b2c3d4, 0xa1b23c4d};
    for (int m = 0; m < 2; m++) {
        for (int be = 0; be < 2; be++) {
            size_t n = file_hdr(b, magics[m], 100);
            n += record(b + n, 10, 1, 60, 60);
            n += record(b + n, 10, 2, 150, 1500);
            n += record(b + n, 10, 3, 100, 100);
            n += record(b + n, 10, 4, 65549, 65549); /* as loopback segments under 65535 */
            if (be) to_big_endian(b, n);
            char name[32];
            snprintf(name, sizeof(name), "snap-%d-%d.pcap", m, be);
            char *path = write_file(name, b, n);
            const uint32_t want[] = {60, 150, 100, 65549};
            for (int reader = CAP_READ_AUTO; reader <= CAP_READ_STREAM; reader++) {
                uint32_t lens[8];
                int got, events;
                char err[CAP_ERRBUF_SIZE];
                assert_int_equal(read_lens(path, reader, lens, &got, &events, err), CAP_EOF);
                assert_int_equal(got, 4);
                for (int i = 0; i < 4; i++) assert_int_equal(lens[i], want[i]);
                assert_int_equal(events, 1);
            }
            /* mapped where it can be: host order only */
            cap_source *s;
            char err[CAP_ERRBUF_SIZE];
            assert_int_equal(cap_open_file_ex(path, NULL, CAP_READ_AUTO, &s, err), CAP_OK);
            assert_int_equal(cap_mapped(s), !be);
            cap_close(s);
            /* libpcap's reader, for the record: it cut them to 100 */
            uint32_t lens[8];
            int got, events;
            assert_int_equal(read_lens_cut(path, lens, &got), CAP_EOF);
            assert_int_equal(got, 4);
            assert_int_equal(lens[1], 100);
            assert_int_equal(lens[3], 100);
            (void)events;
        }
    }
    /* a file whose records all fit: no event */
    size_t n = file_hdr(b, 0xa1b2c3d4, 65535);
    n += record(b + n, 10, 1, 60, 60);
    uint32_t lens[8];
    int got, events;
    char err[CAP_ERRBUF_SIZE];
    assert_int_equal(
        read_lens(write_file("fits.pcap", b, n), CAP_READ_AUTO, lens, &got, &events, err), CAP_EOF);
    assert_int_equal(events, 0);
    /* longer than libpcap's maximum: an error after the good packets,
     * naming the record's offset */
    for (int be = 0; be < 2; be++) {
        n = file_hdr(b, 0xa1b2c3d4, 262144);
        n += record(b + n, 10, 1, 60, 60);
        size_t at = n;
        put32le(b + n, 11), put32le(b + n + 4, 0), put32le(b + n + 8, 300000),
            put32le(b + n + 12, 300000);
        n += 16 + 64;
        if (be) to_big_endian(b, at); /* the bad record's header by hand */
        if (be)
            for (size_t i = at; i < at + 16; i += 4) {
                uint8_t t0 = b[i], t1 = b[i + 1];
                b[i] = b[i + 3], b[i + 1] = b[i + 2], b[i + 2] = t1, b[i + 3] = t0;
            }
        char *path = write_file(be ? "huge-be.pcap" : "huge.pcap", b, n);
        assert_int_equal(compare_ex(path, NULL, !be, true, true, (long)at), 1);
        for (int reader = CAP_READ_AUTO; reader <= CAP_READ_STREAM; reader++) {
            assert_int_equal(read_lens(path, reader, lens, &got, &events, err), CAP_ERROR);
            assert_non_null(strstr(err, "more than the maximum of 262144"));
        }
    }
    n = file_hdr(b, 0xa1b2c3d4, 1000);
    n += record(b + n, 10, 1, 60, 60);
    put32le(b + n, 11), put32le(b + n + 4, 0), put32le(b + n + 8, 300000),
        put32le(b + n + 12, 300000);
    n += 16 + 64;
    assert_int_equal(compare_ex(write_file("huge2.pcap", b, n), NULL, true, true, true, 24 + 76),
                     1);
}

/* Cut a good file at every kind of place: in a record header, in a body,
 * inside the part beyond the snapshot length, right after a record.  The
 * error names the record cut short.  With a snapshot length that every
 * record fits, libpcap's reader fails at the same packet. */
static void test_truncated(void **state)
{
    (void)state;
    static uint8_t b[4096];
    for (int fits = 0; fits < 2; fits++) {
        size_t n = file_hdr(b, 0xa1b2c3d4, fits ? 262144 : 100);
        size_t r1 = n += record(b + n, 20, 1, 70, 70);
        size_t r2 = n += record(b + n, 20, 2, 150, 150); /* longer than 100: read whole */
        n += record(b + n, 20, 3, 40, 40);
        const struct {
            size_t cut, pkts;
            bool err;
            long off;
        } cuts[] = {
            {24, 0, false, -1},
            {24 + 5, 0, true, 24},
            {r1 - 10, 0, true, 24},
            {r1, 1, false, -1},
            {r1 + 16 + 50, 1, true, (long)r1},
            {r1 + 16 + 120, 1, true, (long)r1},
            {r2, 2, false, -1},
            {r2 + 15, 2, true, (long)r2},
            {n - 1, 2, true, (long)r2},
            {n, 3, false, -1},
        };
        for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
            char name[32];
            snprintf(name, sizeof(name), "cut%d-%zu.pcap", fits, i);
            assert_int_equal(compare_ex(write_file(name, b, cuts[i].cut), NULL, true, cuts[i].err,
                                        fits, cuts[i].off),
                             cuts[i].pkts);
        }
    }
}

/* Files the mapping leaves to the stream reader: byte-swapped, and
 * pcapng (the nDPI project's, when ../shared/pcaps is there); libpcap's
 * reader agrees on both. */
static void test_stream_only(void **state)
{
    (void)state;
    static uint8_t b[4096];
    size_t n = file_hdr(b, 0xa1b2c3d4, 65535);
    n += record(b + n, 30, 1, 60, 60);
    n += record(b + n, 30, 2, 61, 1500);
    to_big_endian(b, n);
    assert_int_equal(compare(write_file("swapped.pcap", b, n), NULL, false, false), 2);
    assert_int_equal(compare(write_file("swapped-cut.pcap", b, n - 3), NULL, false, true), 1);
    const char *ng[] = {"quic-v2.pcapng", "sites.pcapng", "tls_ech.pcapng"};
    for (size_t i = 0; i < sizeof(ng) / sizeof(ng[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/../shared/pcaps/%s", EGRET_SRCDIR, ng[i]);
        if (access(path, R_OK) == 0) {
            assert_true(compare(path, NULL, false, false) > 0);
            assert_true(compare(path, "tcp or ip6", false, false) > 0);
        } else {
            print_message("  %s missing: not compared\n", path);
        }
    }
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
    assert_int_equal(cap_open_file_ex(path, NULL, CAP_READ_AUTO, &a, e), CAP_OK);
    assert_true(cap_mapped(a));
    for (int i = 0; i < 30000; i++) assert_int_equal(cap_next(a, &pa), CAP_PACKET);
    assert_int_equal(cap_open_file_ex(path, NULL, CAP_READ_AUTO, &c, e), CAP_OK);
    assert_int_equal(cap_open_file_ex(path, NULL, CAP_READ_LIBPCAP, &ref, e), CAP_OK);
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
        assert_int_equal(cap_open_file_ex(path, NULL, CAP_READ_AUTO, &s, e), CAP_OK);
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
    static uint8_t b[1 << 18];
    size_t n = file_hdr(b, 0xa1b2c3d4, 65535);
    /* the third record is longer than the snaplen and than a pipe's buffer */
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t len = i == 2 ? 65549 : 100;
        n += record(b + n, 50 + i, i, len, len);
    }
    to_big_endian(b, n); /* the pipe's reader is the stream reader, either way */
    int saved = dup(0);
    assert_true(saved >= 0);
    char e[CAP_ERRBUF_SIZE];
    cap_source *s;
    cap_packet pkt;

    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* the writer: more than the pipe holds */
        close(pfd[0]);
        _exit(write(pfd[1], b, n) == (ssize_t)n ? 0 : 1);
    }
    close(pfd[1]);
    assert_int_equal(dup2(pfd[0], 0), 0);
    close(pfd[0]);
    assert_int_equal(cap_open_file("-", NULL, &s, e), CAP_OK);
    assert_false(cap_mapped(s));
    assert_true(cap_may_block(s));
    int got = 0, events = 0;
    while (cap_next(s, &pkt) == CAP_PACKET) {
        assert_int_equal(pkt.caplen, got == 2 ? 65549 : 100);
        assert_int_equal(pkt.data[pkt.caplen - 1], (uint8_t)((pkt.caplen - 1) * 7 + pkt.caplen));
        events += cap_take_events(s) != 0;
        got++;
    }
    assert_int_equal(got, 5);
    assert_int_equal(events, 1);
    cap_close(s);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    n = file_hdr(b, 0xa1b2c3d4, 65535);
    for (uint32_t i = 0; i < 5; i++) n += record(b + n, 50 + i, i, 100, 100);
    char *path = write_file("stdin.pcap", b, n);

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
    return mkdtemp(test_tmpname(tmpdir, sizeof(tmpdir), "egret-test-capture")) ? 0 : -1;
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
        cmocka_unit_test(test_truncated),      cmocka_unit_test(test_stream_only),
        cmocka_unit_test(test_shared_mapping), cmocka_unit_test(test_manual_release),
        cmocka_unit_test(test_stdin),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
