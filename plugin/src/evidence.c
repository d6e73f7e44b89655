/*
 * evidence.c -- evidence buffers and files (see evidence.h).  The pcap
 * file is written in the classic format (a 24-byte header and 16-byte
 * record headers, host byte order, magic 0xa1b2c3d4): a dozen lines of
 * code, so libpcap stays the CLI's business.
 */
#include "evidence.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ev_pkt {
    uint64_t ts;
    uint32_t caplen, len;
    uint8_t data[EVIDENCE_SNAPLEN];
} ev_pkt;

struct evidence_buf {
    int linktype;
    unsigned n;
    bool pcap_written;
    ev_pkt pkts[EVIDENCE_PACKETS];
    char sample[512];
};

evidence_buf *evidence_new(void)
{
    evidence_buf *b = calloc(1, sizeof(*b));
    if (b) b->linktype = -1;
    return b;
}

void evidence_free(evidence_buf *b)
{
    free(b);
}

size_t evidence_add_packet(evidence_buf *b, uint64_t ts_usec, int linktype, const uint8_t *data,
                           uint32_t caplen, uint32_t len)
{
    if (!b || b->n >= EVIDENCE_PACKETS) return 0;
    if (b->linktype < 0) b->linktype = linktype;
    if (linktype != b->linktype) return 0;
    ev_pkt *p = &b->pkts[b->n++];
    p->ts = ts_usec;
    p->caplen = caplen < EVIDENCE_SNAPLEN ? caplen : EVIDENCE_SNAPLEN;
    p->len = len;
    if (p->caplen) memcpy(p->data, data, p->caplen); /* data may be NULL for 0 bytes */
    return p->caplen;
}

void evidence_set_sample(evidence_buf *b, const char *sample)
{
    if (b) snprintf(b->sample, sizeof(b->sample), "%s", sample ? sample : "");
}

static FILE *open_in(const char *dir, const char *name, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp) snprintf(err, errlen, "evidence: %s: %s", path, strerror(errno));
    return fp;
}

static int write_pcap(FILE *fp, const evidence_buf *b)
{
    struct {
        uint32_t magic;
        uint16_t major, minor;
        int32_t thiszone;
        uint32_t sigfigs, snaplen, linktype;
    } h = {
        0xa1b2c3d4u, 2, 4, 0, 0, EVIDENCE_SNAPLEN, (uint32_t)(b->linktype < 0 ? 1 : b->linktype)};
    if (fwrite(&h, sizeof(h), 1, fp) != 1) return -1;
    for (unsigned i = 0; i < b->n; i++) {
        const ev_pkt *p = &b->pkts[i];
        uint32_t r[4] = {(uint32_t)(p->ts / 1000000u), (uint32_t)(p->ts % 1000000u), p->caplen,
                         p->len};
        if (fwrite(r, sizeof(r), 1, fp) != 1 || fwrite(p->data, 1, p->caplen, fp) != p->caplen)
            return -1;
    }
    return 0;
}

int evidence_write(const char *dir, uint64_t flow_id, uint32_t sid, const char *alert_json,
                   size_t alert_len, evidence_buf *b, char *err, size_t errlen)
{
    char name[96];
    snprintf(name, sizeof(name), "%llu-%u.json", (unsigned long long)flow_id, sid);
    FILE *fp = open_in(dir, name, err, errlen);
    if (!fp) return -1;
    int bad = fwrite(alert_json, 1, alert_len, fp) != alert_len || fputc('\n', fp) == EOF;
    if (fclose(fp) != 0 || bad) {
        snprintf(err, errlen, "evidence: %s/%s: write error", dir, name);
        return -1;
    }
    if (!b) return 0;
    if (!b->pcap_written && b->n) {
        snprintf(name, sizeof(name), "%llu.pcap", (unsigned long long)flow_id);
        fp = open_in(dir, name, err, errlen);
        if (!fp) return -1;
        bad = write_pcap(fp, b) != 0;
        if (fclose(fp) != 0 || bad) {
            snprintf(err, errlen, "evidence: %s/%s: write error", dir, name);
            return -1;
        }
        b->pcap_written = true;
    }
    if (b->sample[0]) {
        snprintf(name, sizeof(name), "%llu-%u.txt", (unsigned long long)flow_id, sid);
        fp = open_in(dir, name, err, errlen);
        if (!fp) return -1;
        bad = fputs(b->sample, fp) == EOF || fputc('\n', fp) == EOF;
        if (fclose(fp) != 0 || bad) {
            snprintf(err, errlen, "evidence: %s/%s: write error", dir, name);
            return -1;
        }
    }
    return 0;
}
