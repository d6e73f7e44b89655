/*
 * capture.c -- the CLI's capture sources: savefiles (pcap, pcapng, stdin)
 * and live interfaces.
 *
 * The only file in the project that includes <pcap.h>.  Live capture is
 * libpcap's.  Savefiles are read by egret's own readers: classic pcap from
 * a read-only mapping (pcapmap.c) or a stream (pcapfile.c), pcapng from a
 * stream (pcapng.c); libpcap only compiles their -f filters
 * (pcap_open_dead + pcap_offline_filter).  libpcap's own file reader cuts
 * records longer than the file's snapshot length to it, and refuses them
 * in pcapng; egret's readers deliver them whole (see cap_take_events).  The file reader of libpcap
 * stays reachable (CAP_READ_LIBPCAP) as the tests' reference.  This file hides pcap's return-code
 * conventions (PCAP_ERROR_BREAK means both "end of file" and "breakloop" for savefiles) behind the
 * CAP_* results of capture.h, scales timestamps to microseconds and reports link types as LINKTYPE_
 * values.
 */
#include "capture.h"

#include <errno.h>
#include <pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytesrc.h"
#include "pcapfile.h"
#include "pcapmap.h"
#include "pcapng.h"

#define LINKTYPE_RAW    101
#define LIVE_TIMEOUT_MS 1000 /* cap_next waits this long for a packet (cap_set_wait) */
#define LIVE_BLOCK_MS   50   /* the kernel hands over a partly filled block after this */
#define CAP_IOBUF_BYTES (1u << 20)

#define CAP_MAX_PROGS 8 /* -f compiled for this many link types per file */

/* A -f program compiled for one link type (pcapng files may mix them). */
typedef struct cap_prog {
    int linktype;
    struct bpf_program prog;
} cap_prog;

struct cap_source {
    pcap_t *p;    /* live, or a file read by libpcap (CAP_READ_LIBPCAP); else NULL */
    int linktype; /* LINKTYPE_ value (pcapng: the first interface's) */
    bool live;
    bool stream;               /* savefile on a pipe, socket or terminal: a read may block */
    int fd;                    /* live: selectable descriptor in non-blocking mode, or -1 */
    int wait_ms;               /* live: the longest wait for a packet */
    volatile sig_atomic_t brk; /* set by cap_breakloop (maybe from a signal handler) */
    char *iobuf;               /* savefile: stdio buffer, freed after the stream's fclose */
    pcapmap *map;              /* savefile read from a mapping, or NULL */
    /* egret's stream readers: one of 'pf' (classic pcap) and 'ng' */
    FILE *fp;    /* the stream (closed by cap_close unless stdin) */
    bool own_fp; /* not stdin */
    bsrc src;    /* over 'fp' */
    pcapfile *pf;
    pcapng *ng;
    char *filter; /* -f for egret's readers, compiled per link type */
    cap_prog progs[CAP_MAX_PROGS];
    int n_progs;
    bool oversize_told; /* cap_take_events has reported the file's oversize records */
    char err[CAP_ERRBUF_SIZE];
};

static void set_err(char err[CAP_ERRBUF_SIZE], const char *msg)
{
    snprintf(err, CAP_ERRBUF_SIZE, "%s", msg && *msg ? msg : "unknown libpcap error");
}

/* Compiles and installs 'filter' on 'p'.  Returns CAP_OK or CAP_EFILTER
 * with a message in 'err'. */
static int apply_filter(pcap_t *p, const char *filter, char err[CAP_ERRBUF_SIZE])
{
    struct bpf_program prog;

    if (!filter) return CAP_OK;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, CAP_ERRBUF_SIZE, "bad filter '%s': %s", filter, pcap_geterr(p));
        return CAP_EFILTER;
    }
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        snprintf(err, CAP_ERRBUF_SIZE, "cannot set filter '%s': %s", filter, pcap_geterr(p));
        return CAP_EFILTER;
    }
    return CAP_OK;
}

/* A DLT_ value as the LINKTYPE_ value the engine takes: DLT_RAW is 12
 * (14 on OpenBSD) while the file format says 101; other DLT_ values equal
 * their LINKTYPE_. */
static int cap_linktype_dlt(int dlt)
{
    return dlt == DLT_RAW ? LINKTYPE_RAW : dlt;
}

/* ... and back, for pcap_open_dead. */
static int dlt_of(int linktype)
{
    return linktype == LINKTYPE_RAW ? DLT_RAW : linktype;
}

static int wrap(pcap_t *p, bool live, cap_source **out, char err[CAP_ERRBUF_SIZE])
{
    cap_source *s = calloc(1, sizeof(*s));
    if (!s) {
        set_err(err, "out of memory");
        return CAP_ERROR;
    }
    s->p = p;
    s->linktype = p ? cap_linktype_dlt(pcap_datalink(p)) : -1;
    s->live = live;
    s->fd = -1;
    s->wait_ms = LIVE_TIMEOUT_MS;
    *out = s;
    return CAP_OK;
}

/* The -f program for 'linktype', compiled on first use; NULL (with the
 * message in s->err) when the filter does not compile for it. */
static const struct bpf_program *prog_for(cap_source *s, int linktype)
{
    for (int i = 0; i < s->n_progs; i++)
        if (s->progs[i].linktype == linktype) return &s->progs[i].prog;
    if (s->n_progs == CAP_MAX_PROGS) {
        snprintf(s->err, sizeof(s->err), "filter: more than %d link types in one file",
                 CAP_MAX_PROGS);
        return NULL;
    }
    pcap_t *d = pcap_open_dead(dlt_of(linktype), (int)SF_MAX_CAPLEN);
    if (!d) {
        set_err(s->err, "out of memory");
        return NULL;
    }
    cap_prog *cp = &s->progs[s->n_progs];
    if (pcap_compile(d, &cp->prog, s->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(s->err, sizeof(s->err), "bad filter '%s' for link type %d: %s", s->filter,
                 linktype, pcap_geterr(d));
        pcap_close(d);
        return NULL;
    }
    pcap_close(d);
    cp->linktype = linktype;
    s->n_progs++;
    return &cp->prog;
}

/* Opens the stream reader that the file's first bytes call for. */
static int open_stream(cap_source *s, char err[CAP_ERRBUF_SIZE])
{
    size_t got;
    bsrc_init_file(&s->src, s->fp);
    const uint8_t *m = bsrc_peek(&s->src, 4, &got);
    if (!m) {
        if (s->src.err)
            set_err(err, strerror(s->src.err));
        else
            snprintf(err, CAP_ERRBUF_SIZE, "truncated dump file; %zu of 4 file magic bytes", got);
        return CAP_ERROR;
    }
    uint32_t magic =
        (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
    if (pcapng_magic(magic)) {
        s->ng = pcapng_open(&s->src, err, CAP_ERRBUF_SIZE);
        if (!s->ng) return CAP_ERROR;
        s->linktype = pcapng_linktype(s->ng);
        return CAP_OK;
    }
    if (!pcapfile_magic(magic)) {
        set_err(err, "unknown file format");
        return CAP_ERROR;
    }
    s->pf = calloc(1, sizeof(*s->pf));
    if (!s->pf) {
        set_err(err, "out of memory");
        return CAP_ERROR;
    }
    if (pcapfile_open(s->pf, &s->src) != 0) {
        set_err(err, s->pf->err);
        return CAP_ERROR;
    }
    s->linktype = s->pf->linktype;
    return CAP_OK;
}

/* The reference reader: libpcap's own, from 'fp' (which it then owns). */
static int open_libpcap(FILE *fp, bool is_stdin, char *iobuf, const char *filter, cap_source **out,
                        char err[CAP_ERRBUF_SIZE])
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, pcap_err);
    if (!p) { /* pcap did not take 'fp' */
        if (!is_stdin) fclose(fp);
        free(iobuf);
        set_err(err, pcap_err);
        return CAP_ERROR;
    }
    int rc = apply_filter(p, filter, err);
    if (rc == CAP_OK) rc = wrap(p, false, out, err);
    if (rc != CAP_OK) {
        pcap_close(p); /* also closes 'fp' */
        free(iobuf);
        return rc;
    }
    struct stat st;
    (*out)->iobuf = iobuf;
    (*out)->stream = fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode);
    return CAP_OK;
}

int cap_open_file(const char *path, const char *filter, cap_source **out, char err[CAP_ERRBUF_SIZE])
{
    return cap_open_file_ex(path, filter, CAP_READ_AUTO, out, err);
}

int cap_open_file_ex(const char *path, const char *filter, int reader, cap_source **out,
                     char err[CAP_ERRBUF_SIZE])
{
    bool is_stdin = strcmp(path, "-") == 0;

    *out = NULL;
    /* Open the stream ourselves so an open failure reads "No such file or
     * directory" rather than pcap's "PATH: No such file or directory". */
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (!fp) {
        set_err(err, strerror(errno));
        return CAP_ERROR;
    }
    /* Records are read with an fread or two each; stdio's default buffer
     * (st_blksize, 4 KiB) made that one read(2) per few packets.  glibc
     * ignores setvbuf's size without a caller buffer, so we own one.
     * stdin, which cap_close does not fclose, gets a static one: it is
     * read once per run (the CLI refuses a second "-"), and setvbuf comes
     * before any read from it. */
    char *iobuf = is_stdin ? NULL : malloc(CAP_IOBUF_BYTES);
    if (iobuf) setvbuf(fp, iobuf, _IOFBF, CAP_IOBUF_BYTES);
    static bool stdin_buffered;
    if (is_stdin && !stdin_buffered) {
        static char stdin_buf[CAP_IOBUF_BYTES];
        stdin_buffered = true;
        setvbuf(stdin, stdin_buf, _IOFBF, sizeof(stdin_buf));
    }
    if (reader == CAP_READ_LIBPCAP) return open_libpcap(fp, is_stdin, iobuf, filter, out, err);

    cap_source *s = calloc(1, sizeof(*s));
    if (!s || (filter && !(s->filter = strdup(filter)))) {
        free(s);
        if (!is_stdin) fclose(fp);
        free(iobuf);
        set_err(err, "out of memory");
        return CAP_ERROR;
    }
    s->fd = -1;
    s->wait_ms = LIVE_TIMEOUT_MS;
    s->fp = fp;
    s->own_fp = !is_stdin;
    s->iobuf = iobuf;
    struct stat st;
    int fd = fileno(fp);
    bool reg = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    s->stream = !reg;
    /* at offset 0 the capture starts the file (standard input may start
     * elsewhere); nothing has been read through stdio yet */
    if (reader == CAP_READ_AUTO && reg && lseek(fd, 0, SEEK_CUR) == 0)
        s->map = pcapmap_open(fd, &st);
    int rc = CAP_OK;
    if (s->map)
        s->linktype = pcapmap_linktype(s->map);
    else
        rc = open_stream(s, err);
    if (rc == CAP_OK && s->filter && !prog_for(s, s->linktype)) {
        set_err(err, s->err);
        rc = CAP_EFILTER;
    }
    if (rc != CAP_OK) {
        cap_close(s);
        return rc;
    }
    *out = s;
    return CAP_OK;
}

bool cap_mapped(const cap_source *s)
{
    return s->map != NULL;
}

bool cap_may_block(const cap_source *s)
{
    return s->live || s->stream;
}

void cap_release_manual(cap_source *s)
{
    if (s->map) pcapmap_manual(s->map);
}

void cap_keep_from(cap_source *s, const uint8_t *p)
{
    if (s->map) pcapmap_keep_from(s->map, p);
}

/* An activated live handle on 'iface' (see cap_open_live), no filter. */
static int live_handle(const char *iface, unsigned buffer_mib, pcap_t **out,
                       char err[CAP_ERRBUF_SIZE])
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";

    *out = NULL;
    pcap_t *p = pcap_create(iface, pcap_err);
    if (!p) {
        set_err(err, pcap_err);
        return CAP_ERROR;
    }
    pcap_set_snaplen(p, CAP_SNAPLEN);
    pcap_set_promisc(p, 1);
    /* Not immediate mode: on Linux that means TPACKET_V2, one ring frame
     * per packet sized for the snapshot length, so a 16 MiB buffer held
     * some 250 packets on loopback and a 20,000 packet/s burst overflowed
     * it (a quarter dropped).  TPACKET_V3 packs packets into blocks, handed
     * over when full or after LIVE_BLOCK_MS: that is the most a packet
     * waits. */
    pcap_set_immediate_mode(p, 0);
    pcap_set_timeout(p, LIVE_BLOCK_MS);
    if (buffer_mib > 0) pcap_set_buffer_size(p, (int)(buffer_mib * 1024u * 1024u));

    int st = pcap_activate(p);
    if (st < 0) {
        /* pcap_geterr carries the detail for PCAP_ERROR and is empty for
         * most other codes; pcap_statustostr names the condition. */
        const char *detail = pcap_geterr(p);
        if (detail && *detail)
            snprintf(err, CAP_ERRBUF_SIZE, "%s (%s)", pcap_statustostr(st), detail);
        else
            set_err(err, pcap_statustostr(st));
        pcap_close(p);
        return CAP_ERROR;
    }
    /* st > 0 is a warning (e.g. promiscuous mode not supported): carry on. */
    *out = p;
    return CAP_OK;
}

/* Wraps an activated live handle.  The read timeout alone does not make
 * pcap_next_ex return when no packet arrives on every platform
 * (pcap_set_timeout(3)).  So where there is a selectable descriptor, read
 * non-blocking and poll it ourselves (up to the source's wait). */
static int live_wrap(pcap_t *p, cap_source **out, char err[CAP_ERRBUF_SIZE])
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    int rc = wrap(p, true, out, err);
    if (rc != CAP_OK) return rc;
    int fd = pcap_get_selectable_fd(p);
    if (fd >= 0 && pcap_setnonblock(p, 1, pcap_err) == 0) (*out)->fd = fd;
    return CAP_OK;
}

int cap_open_live(const char *iface, const char *filter, unsigned buffer_mib, cap_source **out,
                  char err[CAP_ERRBUF_SIZE])
{
    pcap_t *p;
    *out = NULL;
    int rc = live_handle(iface, buffer_mib, &p, err);
    if (rc != CAP_OK) return rc;
    rc = apply_filter(p, filter, err);
    if (rc == CAP_OK) rc = live_wrap(p, out, err);
    if (rc != CAP_OK) pcap_close(p);
    return rc;
}

/* ==== Kernel fanout (Linux) ====
 *
 * n sockets on one interface in one PACKET_FANOUT group of type CBPF: the
 * kernel runs the caller's classic BPF program on each packet once and
 * queues it on socket (result % n) only, each socket with its own ring.
 * The sockets join in order, so socket i is the i-th of the group.  The
 * group id is one the kernel picks (PACKET_FANOUT_FLAG_UNIQUEID), so two
 * egret processes never share a group.
 *
 * Until a socket is in the group it gets every packet, so every ring
 * would start with the same packets.  Each socket first gets a filter
 * that takes nothing, and what its ring already holds is read and thrown
 * away (libpcap filters those blocks again in user space, with the new
 * filter; the block being filled is handed over within LIVE_BLOCK_MS);
 * then the sockets join, the program is set, and only then does each get
 * the caller's filter. */

#if defined(__linux__)
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <time.h>
#endif

#if defined(__linux__) && defined(PACKET_FANOUT_CBPF) && defined(PACKET_FANOUT_FLAG_UNIQUEID) &&   \
    defined(PACKET_FANOUT_DATA)
#define CAP_HAVE_FANOUT 1

static void discard(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    (void)user, (void)h, (void)data;
}

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int fanout_fail(char err[CAP_ERRBUF_SIZE], const char *what)
{
    snprintf(err, CAP_ERRBUF_SIZE, "packet fanout: %s: %s", what, strerror(errno));
    return CAP_ENOFANOUT;
}

/* Joins the n handles into one group and sets the program. */
static int fanout_join(pcap_t **p, int n, const egret_bpf_insn *prog, size_t n_prog,
                       char err[CAP_ERRBUF_SIZE])
{
    int val = (PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_UNIQUEID) << 16; /* id 0: the kernel's */
    if (setsockopt(pcap_fileno(p[0]), SOL_PACKET, PACKET_FANOUT, &val, sizeof(val)) != 0)
        return fanout_fail(err, "cannot create a group");
    socklen_t len = sizeof(val);
    if (getsockopt(pcap_fileno(p[0]), SOL_PACKET, PACKET_FANOUT, &val, &len) != 0)
        return fanout_fail(err, "cannot read the group id");
    int join = (val & 0xffff) | PACKET_FANOUT_CBPF << 16;
    for (int i = 1; i < n; i++)
        if (setsockopt(pcap_fileno(p[i]), SOL_PACKET, PACKET_FANOUT, &join, sizeof(join)) != 0)
            return fanout_fail(err, "cannot join the group");
    struct sock_filter *f = calloc(n_prog, sizeof(*f));
    if (!f) {
        set_err(err, "out of memory");
        return CAP_ERROR;
    }
    for (size_t i = 0; i < n_prog; i++)
        f[i] = (struct sock_filter){prog[i].code, prog[i].jt, prog[i].jf, prog[i].k};
    struct sock_fprog fp = {(unsigned short)n_prog, f};
    int rc = setsockopt(pcap_fileno(p[0]), SOL_PACKET, PACKET_FANOUT_DATA, &fp, sizeof(fp));
    free(f);
    if (rc != 0) return fanout_fail(err, "the kernel refused the shard program");
    return CAP_OK;
}
#endif

int cap_open_fanout(const char *iface, const char *filter, unsigned buffer_mib, int n,
                    const egret_bpf_insn *prog, size_t n_prog, cap_source **out,
                    char err[CAP_ERRBUF_SIZE])
{
    for (int i = 0; i < n; i++) out[i] = NULL;
#ifndef CAP_HAVE_FANOUT
    (void)iface, (void)filter, (void)buffer_mib, (void)prog, (void)n_prog;
    set_err(err, "packet fanout needs Linux");
    return CAP_ENOFANOUT;
#else
    if (n < 1 || n_prog == 0 || n_prog > 0xffff) {
        set_err(err, "packet fanout: bad arguments");
        return CAP_ENOFANOUT;
    }
    pcap_t **p = calloc((size_t)n, sizeof(*p));
    if (!p) {
        set_err(err, "out of memory");
        return CAP_ERROR;
    }
    struct bpf_insn none_insn = {BPF_RET | BPF_K, 0, 0, 0};
    struct bpf_program none = {1, &none_insn};
    char pcap_err[PCAP_ERRBUF_SIZE];
    int rc = CAP_OK;
    for (int i = 0; i < n && rc == CAP_OK; i++) {
        rc = live_handle(iface, buffer_mib, &p[i], err);
        if (rc == CAP_OK && pcap_setfilter(p[i], &none) != 0) {
            snprintf(err, CAP_ERRBUF_SIZE, "packet fanout: %s", pcap_geterr(p[i]));
            rc = CAP_ENOFANOUT;
        }
        if (rc == CAP_OK && pcap_setnonblock(p[i], 1, pcap_err) != 0) {
            snprintf(err, CAP_ERRBUF_SIZE, "packet fanout: %s", pcap_err);
            rc = CAP_ENOFANOUT;
        }
    }
    /* what came in before the filter: every ring has it */
    double until = mono_ms() + 2 * LIVE_BLOCK_MS + 20;
    while (rc == CAP_OK) {
        for (int i = 0; i < n; i++) (void)pcap_dispatch(p[i], -1, discard, NULL);
        if (mono_ms() >= until) break;
        (void)poll(NULL, 0, 10);
    }
    if (rc == CAP_OK) rc = fanout_join(p, n, prog, n_prog, err);
    for (int i = 0; i < n && rc == CAP_OK; i++) {
        rc = apply_filter(p[i], filter ? filter : "", err);
        if (rc == CAP_OK) rc = live_wrap(p[i], &out[i], err);
        if (rc == CAP_OK) p[i] = NULL; /* the source owns it */
    }
    for (int i = 0; i < n && rc != CAP_OK; i++) {
        cap_close(out[i]);
        out[i] = NULL;
    }
    for (int i = 0; i < n; i++)
        if (p[i]) pcap_close(p[i]);
    free(p);
    return rc;
#endif
}

int cap_check_filter(const char *filter, char err[CAP_ERRBUF_SIZE])
{
    if (!filter) return CAP_OK;
    pcap_t *p = pcap_open_dead(DLT_EN10MB, CAP_SNAPLEN);
    if (!p) {
        set_err(err, "out of memory");
        return CAP_EFILTER;
    }
    struct bpf_program prog;
    int rc = CAP_OK;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, CAP_ERRBUF_SIZE, "bad filter '%s': %s", filter, pcap_geterr(p));
        rc = CAP_EFILTER;
    } else {
        pcap_freecode(&prog);
    }
    pcap_close(p);
    return rc;
}

int cap_linktype(const cap_source *s)
{
    return s->linktype;
}

/* Whether the -f program for the packet's link type takes it.  An
 * interface whose link type the filter does not compile for ends the file
 * with an error (*rc CAP_ERROR). */
static bool filter_pass(cap_source *s, const cap_packet *pkt, int *rc)
{
    const struct bpf_program *prog = prog_for(s, pkt->linktype);
    if (!prog) {
        *rc = CAP_ERROR;
        return false;
    }
    struct pcap_pkthdr ph = {.caplen = pkt->caplen, .len = pkt->len};
    return pcap_offline_filter(prog, &ph, pkt->data) != 0;
}

/* cap_next on egret's savefile readers. */
static int file_next(cap_source *s, cap_packet *pkt)
{
    for (;;) {
        int rc;
        sf_pkt sp;
        int r = s->map  ? pcapmap_next(s->map, &sp)
                : s->ng ? pcapng_next(s->ng, &sp)
                        : pcapfile_next(s->pf, &sp);
        if (r > 0) {
            *pkt = (cap_packet){sp.ts_usec, sp.caplen, sp.len, sp.linktype, sp.data};
            rc = CAP_PACKET;
        } else if (r == 0) {
            rc = CAP_EOF;
        } else {
            set_err(s->err, s->map ? pcapmap_err(s->map) : s->ng ? pcapng_err(s->ng) : s->pf->err);
            rc = CAP_ERROR;
        }
        if (rc != CAP_PACKET) /* a read that a stop signal broke is a stop, not an error */
            return rc == CAP_ERROR && s->brk ? CAP_EBREAK : rc;
        if (!s->filter || filter_pass(s, pkt, &rc)) return CAP_PACKET;
        if (rc == CAP_ERROR) return rc;
    }
}

unsigned cap_take_events(cap_source *s)
{
    if (s->oversize_told) return 0;
    uint64_t n = s->map  ? pcapmap_oversize(s->map)
                 : s->pf ? s->pf->oversize
                 : s->ng ? pcapng_oversize(s->ng)
                         : 0;
    if (!n) return 0;
    s->oversize_told = true;
    return CAP_EV_OVERSIZE;
}

size_t cap_secrets_count(const cap_source *s)
{
    return s->ng ? pcapng_secrets_count(s->ng) : 0;
}

bool cap_secrets_get(const cap_source *s, size_t i, pcapng_secrets *out)
{
    return s->ng && pcapng_secrets_get(s->ng, i, out);
}

int cap_next(cap_source *s, cap_packet *pkt)
{
    struct pcap_pkthdr *h;
    const u_char *data;

    if (s->brk) return CAP_EBREAK;
    if (!s->p) return file_next(s, pkt);
    int rc = pcap_next_ex(s->p, &h, &data);
    if (rc == 0 && s->fd >= 0) {
        /* Nothing buffered: wait up to the timeout.  A signal interrupts
         * poll (EINTR); one that lands just before it costs at most the
         * timeout. */
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (s->brk) return CAP_EBREAK;
        (void)poll(&pfd, 1, s->wait_ms); /* timeout, ready or EINTR: read once more */
        if (s->brk) return CAP_EBREAK;
        rc = pcap_next_ex(s->p, &h, &data);
    }
    switch (rc) {
    case 1:
        pkt->ts_usec = h->ts.tv_sec < 0 ? 0
                                        : (uint64_t)h->ts.tv_sec * 1000000u +
                                              (uint64_t)(h->ts.tv_usec < 0 ? 0 : h->ts.tv_usec);
        pkt->caplen = h->caplen;
        pkt->len = h->len;
        pkt->linktype = s->linktype;
        pkt->data = data;
        return CAP_PACKET;
    case 0:
        return CAP_TIMEOUT;
    case PCAP_ERROR_BREAK:
        /* savefiles return it at end of file, live captures after breakloop */
        return s->brk || s->live ? CAP_EBREAK : CAP_EOF;
    default: /* a read that a stop signal broke is a stop, not an error */
        return s->brk ? CAP_EBREAK : CAP_ERROR;
    }
}

struct dispatch_ctx {
    int linktype;
    cap_handler fn;
    void *ud;
};

static void dispatch_one(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    const struct dispatch_ctx *d = (const struct dispatch_ctx *)(void *)user;
    cap_packet pkt = {
        .ts_usec = h->ts.tv_sec < 0 ? 0
                                    : (uint64_t)h->ts.tv_sec * 1000000u +
                                          (uint64_t)(h->ts.tv_usec < 0 ? 0 : h->ts.tv_usec),
        .caplen = h->caplen,
        .len = h->len,
        .linktype = d->linktype,
        .data = data,
    };
    d->fn(d->ud, &pkt);
}

int cap_dispatch(cap_source *s, int max, bool wait, cap_handler fn, void *ud)
{
    if (!s->live) return CAP_ERROR; /* files: cap_next hands out packets without a copy */
    if (s->brk) return CAP_EBREAK;
    /* pcap_next_ex on a Linux ring copies every packet out of it, as the
     * ring's block may go back to the kernel before the next call;
     * pcap_dispatch hands the packet in place, for the callback's time. */
    struct dispatch_ctx d = {s->linktype, fn, ud};
    int rc = pcap_dispatch(s->p, max, dispatch_one, (u_char *)&d);
    if (rc == 0 && s->fd >= 0 && wait) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (s->brk) return CAP_EBREAK;
        (void)poll(&pfd, 1, s->wait_ms); /* timeout, ready or EINTR: read once more */
        if (s->brk) return CAP_EBREAK;
        rc = pcap_dispatch(s->p, max, dispatch_one, (u_char *)&d);
    }
    if (rc > 0) return rc;
    if (rc == 0) return CAP_TIMEOUT;
    if (rc == PCAP_ERROR_BREAK || s->brk) return CAP_EBREAK;
    return CAP_ERROR;
}

void cap_set_wait(cap_source *s, int ms)
{
    s->wait_ms = ms > 0 ? ms : LIVE_TIMEOUT_MS;
}

void cap_breakloop(cap_source *s)
{
    s->brk = 1;
    if (s->p) pcap_breakloop(s->p);
}

int cap_stats(cap_source *s, uint64_t *received, uint64_t *dropped, uint64_t *ifdropped)
{
    struct pcap_stat ps;

    if (!s->live || pcap_stats(s->p, &ps) != 0) return -1;
    *received = ps.ps_recv;
    *dropped = ps.ps_drop;
    *ifdropped = ps.ps_ifdrop;
    return 0;
}

const char *cap_geterr(cap_source *s)
{
    return s->p ? pcap_geterr(s->p) : s->err;
}

void cap_close(cap_source *s)
{
    if (!s) return;
    pcapmap_close(s->map);
    pcapng_free(s->ng);
    free(s->pf);
    bsrc_close(&s->src);
    if (s->fp && s->own_fp) fclose(s->fp);
    for (int i = 0; i < s->n_progs; i++) pcap_freecode(&s->progs[i].prog);
    free(s->filter);
    if (s->p) pcap_close(s->p); /* a libpcap file: also closes its stream */
    free(s->iobuf);
    free(s);
}

const char *cap_lib_version(void)
{
    return pcap_lib_version();
}
