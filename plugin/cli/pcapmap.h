/*
 * pcapmap.h -- classic pcap savefiles read in place from a read-only
 * mapping: the fast path of capture.c.
 *
 * A regular file in the classic format (2.4), in the host's byte order,
 * is walked in a read-only mapping: packets are handed out in place, with
 * no copy through stdio and none into a reader's buffer, and each replay
 * worker reading the whole file shares the one mapping.  Standard input
 * is mapped too when it is a regular file whose capture starts at offset
 * 0.  Anything else (pcapng, byte-swapped or pre-2.4 files, a pipe, a
 * failed mmap) is read by the stream readers.  Records longer than the
 * file's snapshot length are handed out whole, as the stream reader does
 * (pcapfile.h).  The file is read up to its size at open; one that shrinks
 * while it is replayed is not supported (a mapping would fault).
 */
#ifndef EGRET_PCAPMAP_H
#define EGRET_PCAPMAP_H

#include <stdint.h>
#include <sys/stat.h>

#include "bytesrc.h" /* sf_pkt */

typedef struct pcapmap pcapmap;

/* Maps the file on 'fd' (its capture starting at offset 0) if it is a
 * host-order classic pcap 2.4 file; NULL leaves it to the stream readers.
 * Every reader of one file (dev, inode, size, mtime) shares one mapping. */
pcapmap *pcapmap_open(int fd, const struct stat *st);

/* Leaves the mapping; the last reader unmaps it.  NULL is allowed. */
void pcapmap_close(pcapmap *m);

/* The next record, as pcapfile_next: 1 with *out pointing into the
 * mapping (valid until the next call, or with pcapmap_manual until the
 * caller's mark passes it), 0 at the end of the file, -1 with
 * pcapmap_err. */
int pcapmap_next(pcapmap *m, sf_pkt *out);

/* Pages are given back behind the mark the caller sets with
 * pcapmap_keep_from, not behind the last record read. */
void pcapmap_manual(pcapmap *m);
void pcapmap_keep_from(pcapmap *m, const uint8_t *p);

int pcapmap_linktype(const pcapmap *m);      /* LINKTYPE_ value */
uint64_t pcapmap_oversize(const pcapmap *m); /* records longer than the snaplen */
const char *pcapmap_err(const pcapmap *m);

#endif
