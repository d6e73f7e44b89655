/*
 * pcapfile.h -- egret's own reader of classic pcap savefiles, from a byte
 * source (bytesrc.h): both byte orders, microsecond and nanosecond files,
 * the 2.3-and-older swapped length fields and Kuznetzov's modified format.
 *
 * Unlike libpcap, a record longer than the file header's snapshot length
 * (some tools write 65535 there and 65549-byte loopback records) is read
 * whole, up to SF_MAX_CAPLEN, and counted in 'oversize': libpcap cuts such
 * records to the snapshot length, and reassembly would then see gaps in a
 * capture that has none.  A record beyond SF_MAX_CAPLEN or beyond the
 * end of the file is an error naming the record's offset; the records
 * before it have been handed out.
 *
 * The mapped fast path (pcapmap.c) walks host-order files itself; this
 * reader serves everything else (byte-swapped files, pipes, standard
 * input, files that cannot be mapped).
 */
#ifndef EGRET_PCAPFILE_H
#define EGRET_PCAPFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "bytesrc.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du
#define PCAP_MAGIC_KUZ  0xa1b2cd34u /* Alexey Kuznetzov's patched format: 24-byte records */
#define PCAP_FILE_HDR   24u

typedef struct pcapfile {
    bsrc *src; /* borrowed */
    bool swapped, nsec;
    uint32_t rec_hdr;  /* 16, or 24 in the modified format */
    int len_swap;      /* 0 never, 1 always (before 2.3), 2 when caplen > len (2.3) */
    uint32_t snaplen;  /* the header's; 0 means none was recorded */
    int linktype;      /* LINKTYPE_ value */
    uint64_t oversize; /* records longer than 'snaplen' read so far */
    char err[256];
} pcapfile;

/* Fills 'out' from one classic pcap record (both readers of the format):
 * 'frac' is in microseconds, or nanoseconds when 'nsec' (scaled down as
 * libpcap does); a time before the epoch becomes 0.  Returns 1, as
 * pcapfile_next does for a packet. */
static inline int pcapfile_record(sf_pkt *out, int32_t sec, int32_t frac, bool nsec,
                                  uint32_t caplen, uint32_t len, int linktype, const uint8_t *data)
{
    if (nsec) frac /= 1000;
    out->ts_usec = sec < 0 ? 0 : (uint64_t)sec * 1000000u + (uint64_t)(frac < 0 ? 0 : frac);
    out->caplen = caplen;
    out->len = len;
    out->linktype = linktype;
    out->data = data;
    return 1;
}

/* Whether 'magic' (the file's first four bytes as a little-endian word,
 * either byte order of the file) starts a classic pcap file. */
bool pcapfile_magic(uint32_t magic_le);

/* Reads and checks the 24-byte file header from 'src'.  Returns 0, or -1
 * with a message in f->err. */
int pcapfile_open(pcapfile *f, bsrc *src);

/* The next record: 1 and *out filled, 0 at the end of the file, -1 with a
 * message in f->err. */
int pcapfile_next(pcapfile *f, sf_pkt *out);

#endif /* EGRET_PCAPFILE_H */
