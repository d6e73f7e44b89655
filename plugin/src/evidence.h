/*
 * evidence.h -- per-alert evidence files (--evidence DIR).
 *
 * For a flow, keeps copies of its first packets (EVIDENCE_PACKETS, each cut
 * to EVIDENCE_SNAPLEN: the handshake and first records) and the redacted
 * sample of its last inspected request body.  On an alert the engine
 * writes, in DIR:
 *   <flow_id>-<sid>.json     the alert record
 *   <flow_id>.pcap           the packet slice (classic pcap, written once)
 *   <flow_id>-<sid>.txt      the redacted body sample, if any
 * Only with --evidence: raw content otherwise never leaves the engine, and
 * even here bodies appear only as a short sample with e-mail addresses,
 * phone numbers and long digit runs masked.
 */
#ifndef EGRET_EVIDENCE_H
#define EGRET_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#define EVIDENCE_PACKETS 12
#define EVIDENCE_SNAPLEN 2048

typedef struct evidence_buf evidence_buf;

evidence_buf *evidence_new(void);
void evidence_free(evidence_buf *b); /* NULL ok */

/* Keeps a copy of a packet while fewer than EVIDENCE_PACKETS are held.
 * Returns the bytes now held for it (0 when full). */
size_t evidence_add_packet(evidence_buf *b, uint64_t ts_usec, int linktype, const uint8_t *data,
                           uint32_t caplen, uint32_t len);

void evidence_set_sample(evidence_buf *b, const char *sample);

/* Writes the files for one alert.  Returns 0, or -1 with a message. */
int evidence_write(const char *dir, uint64_t flow_id, uint32_t sid, const char *alert_json,
                   size_t alert_len, evidence_buf *b, char *err, size_t errlen);

#endif /* EGRET_EVIDENCE_H */
