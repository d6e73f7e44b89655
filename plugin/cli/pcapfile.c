/*
 * pcapfile.c -- egret's reader of classic pcap savefiles (see pcapfile.h).
 *
 * File header (24 bytes, in the writer's byte order):
 *   magic(4) version_major(2) version_minor(2) thiszone(4) sigfigs(4)
 *   snaplen(4) linktype(4)
 * Record header (16 bytes; 24 in Kuznetzov's format, which adds ifindex,
 * protocol, pkt_type and a pad byte):
 *   ts_sec(4) ts_usec_or_nsec(4) caplen(4) len(4)
 */
#include "pcapfile.h"

#include <stdio.h>
#include <string.h>

#define LINKTYPE_RAW 101

static uint32_t get32(const pcapfile *f, const uint8_t *b)
{
    uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return f->swapped ? __builtin_bswap32(v) : v;
}

static uint16_t get16(const pcapfile *f, const uint8_t *b)
{
    uint16_t v = (uint16_t)(b[0] | b[1] << 8);
    return f->swapped ? __builtin_bswap16(v) : v;
}

bool pcapfile_magic(uint32_t m)
{
    uint32_t s = __builtin_bswap32(m);
    return m == PCAP_MAGIC_USEC || m == PCAP_MAGIC_NSEC || m == PCAP_MAGIC_KUZ ||
           s == PCAP_MAGIC_USEC || s == PCAP_MAGIC_NSEC || s == PCAP_MAGIC_KUZ;
}

int pcapfile_open(pcapfile *f, bsrc *src)
{
    size_t got;
    memset(f, 0, sizeof(*f));
    f->src = src;
    const uint8_t *h = bsrc_take(src, PCAP_FILE_HDR, &got);
    if (!h) {
        snprintf(f->err, sizeof(f->err), "truncated dump file; %zu of %u file header bytes", got,
                 PCAP_FILE_HDR);
        return -1;
    }
    uint32_t m = get32(f, h);
    if (!pcapfile_magic(m)) {
        snprintf(f->err, sizeof(f->err), "unknown file format");
        return -1;
    }
    if (m != PCAP_MAGIC_USEC && m != PCAP_MAGIC_NSEC && m != PCAP_MAGIC_KUZ) {
        f->swapped = true;
        m = __builtin_bswap32(m);
    }
    f->nsec = m == PCAP_MAGIC_NSEC;
    f->rec_hdr = m == PCAP_MAGIC_KUZ ? 24 : 16;
    unsigned major = get16(f, h + 4), minor = get16(f, h + 6);
    if (major != 2) {
        snprintf(f->err, sizeof(f->err), "unsupported pcap file version %u.%u", major, minor);
        return -1;
    }
    /* Before 2.3, caplen and len were written the other way round; 2.3
     * files come either way (libpcap's sf-pcap.c: swap when caplen > len). */
    f->len_swap = minor < 3 ? 1 : minor == 3 ? 2 : 0;
    f->snaplen = get32(f, h + 16);
    uint32_t lt = get32(f, h + 20) & 0x03ffffffu;    /* the upper bits carry FCS flags */
    f->linktype = lt == 12 ? LINKTYPE_RAW : (int)lt; /* old Linux tools wrote DLT_RAW's 12 */
    return 0;
}

int pcapfile_next(pcapfile *f, sf_pkt *out)
{
    size_t got;
    uint64_t at = f->src->off;
    const uint8_t *h = bsrc_take(f->src, f->rec_hdr, &got);
    if (!h) {
        if (got == 0 && !f->src->err) return 0;
        if (f->src->err)
            snprintf(f->err, sizeof(f->err), "record at offset %llu: read error: %s",
                     (unsigned long long)at, strerror(f->src->err));
        else
            snprintf(f->err, sizeof(f->err),
                     "truncated dump file; record at offset %llu: %zu of %u header bytes",
                     (unsigned long long)at, got, f->rec_hdr);
        return -1;
    }
    int32_t sec = (int32_t)get32(f, h);
    int32_t frac = (int32_t)get32(f, h + 4);
    uint32_t caplen = get32(f, h + 8), len = get32(f, h + 12);
    if (f->len_swap == 1 || (f->len_swap == 2 && caplen > len)) {
        uint32_t t = caplen;
        caplen = len;
        len = t;
    }
    if (caplen > SF_MAX_CAPLEN) {
        snprintf(f->err, sizeof(f->err),
                 "record at offset %llu: captured length %u, more than the maximum of %u",
                 (unsigned long long)at, caplen, SF_MAX_CAPLEN);
        return -1;
    }
    const uint8_t *data = bsrc_take(f->src, caplen, &got);
    if (!data) {
        if (f->src->err)
            snprintf(f->err, sizeof(f->err), "record at offset %llu: read error: %s",
                     (unsigned long long)at, strerror(f->src->err));
        else
            snprintf(f->err, sizeof(f->err),
                     "truncated dump file; record at offset %llu: %zu of %u captured bytes",
                     (unsigned long long)at, got, caplen);
        return -1;
    }
    if (f->snaplen && caplen > f->snaplen) f->oversize++;
    return pcapfile_record(out, sec, frac, f->nsec, caplen, len, f->linktype, data);
}
