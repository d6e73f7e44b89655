/*
 * pcapng.h -- egret's own pcapng reader: parses blocks from a byte source
 * (bytesrc.h) and hands out packets.  It knows no libpcap; capture.c wires
 * it to the CLI.
 *
 * Blocks (draft-ietf-opsawg-pcapng):
 *   Section Header (0x0A0D0D0A)  either byte order; several sections per
 *                                file, each with its own interfaces
 *   Interface Description (1)    link type, snaplen, if_tsresol (powers of
 *                                10 and of 2), if_tsoffset
 *   Enhanced Packet (6), Simple Packet (3), Obsolete Packet (2)
 *   Decryption Secrets (0x0A)    kept (bounded) for the host, never logged
 *   anything else                skipped
 *
 * Every interface keeps its own link type: one file may mix them.  A
 * packet longer than its interface's snaplen is read whole (libpcap
 * refuses it and stops reading the file), up to SF_MAX_CAPLEN, and counted
 * in pcapng_oversize.  Block lengths under 12, not a multiple of 4, over
 * PCAPNG_MAX_BLOCK, or a trailing length that differs from the leading
 * one, end the file with an error naming the block's offset; the packets
 * before it have been handed out.
 */
#ifndef EGRET_PCAPNG_H
#define EGRET_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytesrc.h"

#define PCAPNG_SHB_TYPE    0x0A0D0D0Au
#define PCAPNG_MAX_BLOCK   (16u << 20) /* longest block accepted */
#define PCAPNG_MAX_IFACES  65536u      /* interfaces per section */
#define PCAPNG_MAX_SECRETS (1u << 20)  /* Decryption Secrets bytes kept, all blocks */

typedef struct pcapng pcapng;

/* A Decryption Secrets Block's content, as the file holds it.  Key
 * material: hand it to what needs it, never to output or logs. */
typedef struct pcapng_secrets {
    uint32_t type; /* secrets type, e.g. 0x544c534b TLS key log */
    uint32_t len;
    const uint8_t *data;
} pcapng_secrets;

/* Called for each Decryption Secrets Block as it is read (also for those
 * not kept because PCAPNG_MAX_SECRETS is reached); 's' is borrowed for the
 * call. */
typedef void (*pcapng_secrets_fn)(void *ud, const pcapng_secrets *s);

/* Whether the file's first four bytes (as a little-endian word) start a
 * pcapng file. */
bool pcapng_magic(uint32_t magic_le);

/* Reads the Section Header Block and the blocks up to the first interface
 * from 'src' (borrowed; it must outlive the reader).  Returns the reader,
 * or NULL with a message in 'err'. */
pcapng *pcapng_open(bsrc *src, char *err, size_t errlen);

/* The next packet: 1 and *out filled, 0 at the end of the file, -1 with a
 * message in pcapng_err.  Timestamps are in microseconds (truncated, as
 * libpcap scales them), after the interface's if_tsoffset. */
int pcapng_next(pcapng *r, sf_pkt *out);

const char *pcapng_err(const pcapng *r);

/* The link type of the first interface of the first section. */
int pcapng_linktype(const pcapng *r);

/* Packets longer than their interface's snaplen read so far. */
uint64_t pcapng_oversize(const pcapng *r);

/* Decryption Secrets: sets the hook (NULL: none), the blocks kept so far,
 * the i-th one kept (false past the last), and the blocks not kept
 * because of PCAPNG_MAX_SECRETS. */
void pcapng_set_secrets_hook(pcapng *r, pcapng_secrets_fn fn, void *ud);
size_t pcapng_secrets_count(const pcapng *r);
bool pcapng_secrets_get(const pcapng *r, size_t i, pcapng_secrets *out);
uint64_t pcapng_secrets_dropped(const pcapng *r);

/* Frees the reader; the secrets it kept are wiped first.  Accepts NULL. */
void pcapng_free(pcapng *r);

#endif /* EGRET_PCAPNG_H */
