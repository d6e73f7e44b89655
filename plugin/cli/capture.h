/*
 * capture.h -- the CLI's capture sources (offline files, stdin, live
 * interfaces).
 *
 * capture.c is the only file in the project that includes <pcap.h>; no pcap
 * type appears here.  A source yields packets with microsecond timestamps
 * and a LINKTYPE_ value ready for egret_engine_feed().  Savefiles are read
 * by egret's own readers (pcapfile.h, pcapng.h), live captures by libpcap.
 */
#ifndef EGRET_CAPTURE_H
#define EGRET_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "egret_tools.h" /* egret_bpf_insn */
#include "pcapng.h"      /* pcapng_secrets */

#define CAP_ERRBUF_SIZE 512
#define CAP_SNAPLEN     262144

typedef struct cap_source cap_source;

/* One packet.  Borrowed: 'data' is valid only until the next cap_next()
 * or cap_close() on the same source. */
typedef struct cap_packet {
    uint64_t ts_usec; /* capture time, microseconds since the epoch (UTC) */
    uint32_t caplen;  /* bytes in 'data' */
    uint32_t len;     /* length on the wire */
    int linktype;     /* LINKTYPE_ value (pcapng: of the packet's own interface) */
    const uint8_t *data;
} cap_packet;

/* Readers for cap_open_file_ex. */
enum {
    CAP_READ_AUTO = 0, /* classic pcap mapped where it can be, else egret's stream readers */
    CAP_READ_STREAM,   /* egret's stream readers, never a mapping */
    CAP_READ_LIBPCAP,  /* libpcap's own file reader: the tests' reference, not egret's */
};

/* File events, as cap_take_events reports them. */
#define CAP_EV_OVERSIZE 1u /* records longer than the file's (or interface's) snaplen */

/* Results of the open functions and of cap_next(). */
enum {
    CAP_PACKET = 1,     /* cap_next: *pkt is filled */
    CAP_OK = 0,         /* open: success */
    CAP_TIMEOUT = 0,    /* cap_next (live): no packet within the timeout */
    CAP_EOF = -1,       /* cap_next: end of file */
    CAP_EBREAK = -2,    /* cap_next: cap_breakloop() was called */
    CAP_ERROR = -3,     /* open / cap_next: i/o or format error, see err / cap_geterr */
    CAP_EFILTER = -4,   /* open: the BPF filter does not compile or cannot be set */
    CAP_ENOFANOUT = -5, /* cap_open_fanout: the interface opens, packet fanout does not */
};

/* Opens a pcap or pcapng savefile for reading; 'path' "-" is stdin (which
 * cap_close does not close).  'filter' is a BPF expression or NULL (for
 * pcapng, compiled for each interface's link type).  Nanosecond and other
 * resolutions are scaled to microseconds.  Records longer than the file's
 * snapshot length are read whole (up to 262144 bytes); a longer record, or
 * one cut by the end of the file, ends it with CAP_ERROR and a message
 * naming its offset.  Returns CAP_OK and sets *out, or CAP_ERROR /
 * CAP_EFILTER with *out NULL and a message in 'err' (without the file
 * name). */
int cap_open_file(const char *path, const char *filter, cap_source **out,
                  char err[CAP_ERRBUF_SIZE]);

/* cap_open_file with a choice of reader (CAP_READ_*): tests compare them. */
int cap_open_file_ex(const char *path, const char *filter, int reader, cap_source **out,
                     char err[CAP_ERRBUF_SIZE]);

/* File-level inconsistencies found so far and not reported yet, as
 * CAP_EV_* bits; each is reported once per source (the host counts it as
 * a decoder event).  Call after cap_next. */
unsigned cap_take_events(cap_source *s);

/* pcapng Decryption Secrets Blocks kept so far (see pcapng.h; at most
 * PCAPNG_MAX_SECRETS bytes), and the i-th one (borrowed until cap_close).
 * Key material: never to output or logs. */
size_t cap_secrets_count(const cap_source *s);
bool cap_secrets_get(const cap_source *s, size_t i, pcapng_secrets *out);

/* Whether packets come from a read-only mapping of a classic pcap file
 * (see capture.c) rather than from a stream. */
bool cap_mapped(const cap_source *s);

/* Whether a read may wait for input without end: a live capture (up to
 * its timeout), or a savefile on a pipe, socket or terminal. */
bool cap_may_block(const cap_source *s);

/* A mapped source normally gives pages back behind its own reading
 * position.  After cap_release_manual, it gives back only what lies before
 * the last position passed to cap_keep_from: packets handed out stay
 * readable after later cap_next() calls (and from other threads) until the
 * caller moves the mark past them or closes the source.  Both are no-ops
 * on a source that is not mapped.  cap_release_manual is called before the
 * source is read; cap_keep_from only moves the mark forward and may be
 * called from any thread while another one reads. */
void cap_release_manual(cap_source *s);
void cap_keep_from(cap_source *s, const uint8_t *p);

/* Opens a live capture on 'iface': snaplen CAP_SNAPLEN, promiscuous,
 * packets handed over in blocks after at most 50 ms (TPACKET_V3), a 1 s
 * wait in cap_next (CAP_TIMEOUT when idle), kernel buffer 'buffer_mib' MiB
 * (0 = libpcap's default).  Same
 * results as cap_open_file. */
int cap_open_live(const char *iface, const char *filter, unsigned buffer_mib, cap_source **out,
                  char err[CAP_ERRBUF_SIZE]);

/* Opens n live captures of 'iface' (each as cap_open_live, with its own
 * kernel buffer of 'buffer_mib') in one Linux packet fanout group: the
 * kernel runs the classic BPF program 'prog' (egret_engine_shard_bpf) on
 * each packet and queues it on capture out[result % n] only.  Packets that
 * arrived before the group was set up are thrown away (about 120 ms).
 * Returns CAP_OK and fills out[0..n); or, with a message and every out[i]
 * NULL, CAP_ENOFANOUT (not Linux, or the kernel refused the group or the
 * program: cap_open_live may still work), CAP_ERROR (the interface cannot
 * be captured on) or CAP_EFILTER. */
int cap_open_fanout(const char *iface, const char *filter, unsigned buffer_mib, int n,
                    const egret_bpf_insn *prog, size_t n_prog, cap_source **out,
                    char err[CAP_ERRBUF_SIZE]);

/* Checks that 'filter' compiles for Ethernet (an early syntax check before
 * any input is opened).  Returns CAP_OK or CAP_EFILTER with a message. */
int cap_check_filter(const char *filter, char err[CAP_ERRBUF_SIZE]);

/* The source's link type as a LINKTYPE_ value (DLT_RAW is reported as
 * LINKTYPE_RAW 101; other DLT_ values equal their LINKTYPE_).  pcapng:
 * the first interface's; each packet carries its own (cap_packet). */
int cap_linktype(const cap_source *s);

/* Reads the next packet: CAP_PACKET, CAP_TIMEOUT (live only), CAP_EOF
 * (files only), CAP_EBREAK or CAP_ERROR (message from cap_geterr). */
int cap_next(cap_source *s, cap_packet *pkt);

/* Live captures only: hands up to 'max' packets to 'fn', each valid only
 * during its call (they stay in the kernel's ring: no copy, unlike
 * cap_next).  'wait': with nothing buffered, waits up to the timeout.
 * Returns the packets handed (> 0), CAP_TIMEOUT (none), CAP_EBREAK or
 * CAP_ERROR (also for a file: use cap_next). */
typedef void (*cap_handler)(void *ud, const cap_packet *pkt);
int cap_dispatch(cap_source *s, int max, bool wait, cap_handler fn, void *ud);

/* Live: how long cap_next and cap_dispatch wait for a packet (default
 * 1000 ms; ms <= 0 restores it). */
void cap_set_wait(cap_source *s, int ms);

/* Makes a blocked or the next cap_next() return CAP_EBREAK.  Async-signal
 * safe (pcap_breakloop sets a flag and, on Linux, writes an eventfd). */
void cap_breakloop(cap_source *s);

/* Capture counters (live: pcap_stats ps_recv / ps_drop / ps_ifdrop).
 * Returns 0, or -1 when the source has none (files). */
int cap_stats(cap_source *s, uint64_t *received, uint64_t *dropped, uint64_t *ifdropped);

/* The last error message of the source. */
const char *cap_geterr(cap_source *s);

/* Closes the source and its stream.  Accepts NULL. */
void cap_close(cap_source *s);

/* libpcap's version string, for --version. */
const char *cap_lib_version(void);

#endif /* EGRET_CAPTURE_H */
