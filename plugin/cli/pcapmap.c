/*
 * pcapmap.c -- classic pcap savefiles read in place from a read-only
 * mapping (see pcapmap.h).
 */
#include "pcapmap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bytesrc.h"
#include "pcapfile.h"

#define LINKTYPE_RAW 101

/* One mapping of a file is shared by every source reading it (replay
 * workers each read the whole file): pages are faulted in once, by
 * whichever reader comes first, and given back behind the slowest. */
#define MAP_READERS 64

typedef struct file_map {
    dev_t dev;
    ino_t ino;
    off_t fsize;
    struct timespec mtime;
    const uint8_t *base;
    size_t size;
    int refs;                       /* under map_lock */
    size_t released;                /* under map_lock */
    size_t populated;               /* under map_lock: page tables filled up to here */
    _Atomic size_t at[MAP_READERS]; /* each reader's offset; SIZE_MAX: slot free or done */
    struct file_map *next;
} file_map;

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static file_map *maps; /* under map_lock */

/* One source's reader on a shared mapping. */
struct pcapmap {
    file_map *fm;
    int slot;            /* in fm->at */
    const uint8_t *base; /* the whole file (fm->base) */
    size_t size, off;    /* bytes mapped; next record header */
    size_t page;         /* the system's page size */
    size_t noted;        /* off when fm->at[slot] was last set */
    bool manual;         /* fm->at[slot] is set by pcapmap_keep_from, not by the walk */
    bool nsec;           /* timestamps in nanoseconds */
    uint32_t snaplen;    /* the file header's; 0: none recorded */
    int linktype;        /* LINKTYPE_ value */
    uint64_t oversize;   /* records longer than 'snaplen' read so far */
    char err[256];
};

#define PCAP_REC_HDR 16u
#define MAP_RELEASE  (8u << 20) /* pages read are unmapped in steps of this */

static uint32_t rd32(const uint8_t *b)
{
    uint32_t v;
    memcpy(&v, b, 4); /* the file is in host byte order (not swapped) */
    return v;
}

/* Attaches m to the shared mapping of the file (dev, inode, size and mtime
 * as fstat gives them), creating it if needed.  False: no mapping. */
static bool map_attach(pcapmap *m, int fd, const struct stat *st)
{
    pthread_mutex_lock(&map_lock);
    file_map *fm = maps;
    while (fm &&
           !(fm->dev == st->st_dev && fm->ino == st->st_ino && fm->fsize == st->st_size &&
             fm->mtime.tv_sec == st->st_mtim.tv_sec && fm->mtime.tv_nsec == st->st_mtim.tv_nsec))
        fm = fm->next;
    if (!fm) {
        fm = calloc(1, sizeof(*fm));
        void *base =
            fm ? mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
        if (base == MAP_FAILED) {
            free(fm);
            pthread_mutex_unlock(&map_lock);
            return false;
        }
        (void)madvise(base, (size_t)st->st_size, MADV_SEQUENTIAL);
        fm->dev = st->st_dev;
        fm->ino = st->st_ino;
        fm->fsize = st->st_size;
        fm->mtime = st->st_mtim;
        fm->base = base;
        fm->size = (size_t)st->st_size;
        for (int i = 0; i < MAP_READERS; i++) atomic_init(&fm->at[i], SIZE_MAX);
        fm->next = maps;
        maps = fm;
    }
    int slot = 0;
    while (slot < MAP_READERS && atomic_load(&fm->at[slot]) != SIZE_MAX) slot++;
    if (slot == MAP_READERS) { /* too many readers: the stream reader reads for this one */
        pthread_mutex_unlock(&map_lock);
        return false;
    }
    /* a late reader re-faults what was given back; it holds release from here */
    atomic_store(&fm->at[slot], (size_t)PCAP_FILE_HDR);
    fm->refs++;
    pthread_mutex_unlock(&map_lock);
    m->fm = fm;
    m->slot = slot;
    m->base = fm->base;
    m->size = fm->size;
    return true;
}

/* Maps the file on 'fd' (its capture starting at offset 0) if it is a
 * host-order classic pcap 2.4 file; NULL leaves it to the stream readers. */
pcapmap *pcapmap_open(int fd, const struct stat *st)
{
    uint8_t hdr[PCAP_FILE_HDR];
    if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size < PCAP_FILE_HDR ||
        (uint64_t)st->st_size > SIZE_MAX)
        return NULL;
    if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) return NULL;
    uint32_t magic = rd32(hdr);
    if (magic != PCAP_MAGIC_USEC && magic != PCAP_MAGIC_NSEC) return NULL; /* pcapng, swapped */
    uint16_t major, minor;
    memcpy(&major, hdr + 4, 2);
    memcpy(&minor, hdr + 6, 2);
    if (major != 2 || minor != 4) return NULL; /* older files: the stream reader's length rules */
    pcapmap *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    if (!map_attach(m, fd, st)) {
        free(m);
        return NULL;
    }
    m->off = PCAP_FILE_HDR;
    long pg = sysconf(_SC_PAGESIZE);
    m->page = pg > 0 ? (size_t)pg : 4096;
    m->nsec = magic == PCAP_MAGIC_NSEC;
    m->snaplen = rd32(hdr + 16);
    uint32_t lt = rd32(hdr + 20) & 0x03ffffffu; /* as pcapfile.c */
    m->linktype = lt == 12 ? LINKTYPE_RAW : (int)lt;
    return m;
}

void pcapmap_close(pcapmap *m)
{
    if (!m) return;
    file_map *fm = m->fm;
    pthread_mutex_lock(&map_lock);
    atomic_store(&fm->at[m->slot], SIZE_MAX);
    if (--fm->refs == 0) {
        file_map **pp = &maps;
        while (*pp != fm) pp = &(*pp)->next;
        *pp = fm->next;
        munmap((void *)fm->base, fm->size);
        free(fm);
    }
    pthread_mutex_unlock(&map_lock);
    free(m);
}

/* Pages already read stay mapped, and a mapping's file pages count in the
 * process's RSS: give them back behind the reader, so a replay's resident
 * set does not grow with the file.  Only packets before 'off' are dropped
 * (a packet is borrowed only until the next cap_next). */
static void map_release(pcapmap *m)
{
    if (m->off - m->noted < MAP_RELEASE && m->noted) return;
    file_map *fm = m->fm;
    if (!m->manual) atomic_store(&fm->at[m->slot], m->off);
    m->noted = m->off;
    pthread_mutex_lock(&map_lock);
    /* page tables for the next stretch in one call, not a fault per 64 KiB */
    size_t want = m->off + 2 * MAP_RELEASE;
    if (want > fm->size) want = fm->size;
    if (want > fm->populated) {
        size_t from = fm->populated / m->page * m->page;
        (void)madvise((void *)(fm->base + from), want - from, MADV_POPULATE_READ);
        fm->populated = want;
    }
    size_t low = SIZE_MAX; /* the slowest reader */
    for (int i = 0; i < MAP_READERS; i++) {
        size_t a = atomic_load(&fm->at[i]);
        if (a < low) low = a;
    }
    size_t upto = low / m->page * m->page;
    if (upto > fm->released && upto - fm->released >= MAP_RELEASE) {
        (void)madvise((void *)(fm->base + fm->released), upto - fm->released, MADV_DONTNEED);
        fm->released = upto;
    }
    pthread_mutex_unlock(&map_lock);
}

/* The next record of the mapping: 1, 0 at the end or -1 on an error (the
 * stream reader's checks and wording, pcapfile.c). */
int pcapmap_next(pcapmap *m, sf_pkt *pkt)
{
    map_release(m);
    size_t left = m->size - m->off;
    if (left == 0) return 0;
    if (left < PCAP_REC_HDR) {
        snprintf(m->err, sizeof(m->err),
                 "truncated dump file; record at offset %zu: %zu of %u header bytes", m->off, left,
                 PCAP_REC_HDR);
        return -1;
    }
    const uint8_t *h = m->base + m->off;
    int32_t sec = (int32_t)rd32(h);
    int32_t frac = (int32_t)rd32(h + 4);
    uint32_t caplen = rd32(h + 8), len = rd32(h + 12);
    if (caplen > SF_MAX_CAPLEN) {
        snprintf(m->err, sizeof(m->err),
                 "record at offset %zu: captured length %u, more than the maximum of %u", m->off,
                 caplen, SF_MAX_CAPLEN);
        return -1;
    }
    left -= PCAP_REC_HDR;
    if (left < caplen) {
        snprintf(m->err, sizeof(m->err),
                 "truncated dump file; record at offset %zu: %zu of %u captured bytes", m->off,
                 left, caplen);
        return -1;
    }
    /* longer than the snapshot length: whole, counted (pcapfile.h) */
    if (__builtin_expect(caplen > m->snaplen, 0) && m->snaplen) m->oversize++;
    const uint8_t *data = h + PCAP_REC_HDR;
    m->off += PCAP_REC_HDR + caplen;
    /* the next record's header and first bytes: in cache by the time
     * this packet is processed (the file is walked once, cold) */
    if (m->off + 128 <= m->size) {
        __builtin_prefetch(m->base + m->off);
        __builtin_prefetch(m->base + m->off + 64);
    }
    return pcapfile_record(pkt, sec, frac, m->nsec, caplen, len, m->linktype, data);
}

void pcapmap_manual(pcapmap *m)
{
    m->manual = true;
}

void pcapmap_keep_from(pcapmap *m, const uint8_t *p)
{
    if (!m->manual || p < m->base || p > m->base + m->size) return;
    size_t off = (size_t)(p - m->base);
    _Atomic size_t *at = &m->fm->at[m->slot];
    size_t cur = atomic_load(at);
    while (off > cur && !atomic_compare_exchange_weak(at, &cur, off)) {
    }
}

int pcapmap_linktype(const pcapmap *m)
{
    return m->linktype;
}

uint64_t pcapmap_oversize(const pcapmap *m)
{
    return m->oversize;
}

const char *pcapmap_err(const pcapmap *m)
{
    return m->err;
}
