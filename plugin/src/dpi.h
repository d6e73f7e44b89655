/*
 * dpi.h -- protocol classification (the nDPI adapter's interface).
 *
 * dpi.c is the only file that includes nDPI headers; nothing here exposes
 * nDPI types.  One dpi_ctx per engine; one dpi_flow per flow, created on
 * the flow's first packet and released as soon as classification and
 * metadata extraction are done (or the packet budget ran out), so nDPI is
 * not called again for that flow.
 */
#ifndef EGRET_DPI_H
#define EGRET_DPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dpi_ctx dpi_ctx;
typedef struct dpi_flow dpi_flow;

/* What classification found; plain data, stored in the flow. */
typedef struct dpi_info {
    char proto[48];             /* ndpiReader style "TLS.Google", "DNS", "Unknown" */
    char app_proto[16];         /* Suricata-style app_proto: "tls", "http", "dns", "quic", ...;
                                   "failed" when unknown */
    char category[32];          /* nDPI category name, e.g. "Web" */
    char hostname[256];         /* SNI / HTTP Host / DNS query name, "" if none */
    char alpn[64];              /* client ALPN list as sent, comma separated */
    char ja3[33];               /* JA3 client hash, hex */
    char tls_version[16];       /* "TLSv1.2", "TLSv1.3" ... */
    char confidence[24];        /* nDPI confidence: "DPI", "Match by port", "Unknown" ... */
    uint64_t risk;              /* nDPI risk bitmask (bit n = ndpi_risk_enum n) */
    uint16_t app_id, master_id; /* nDPI protocol ids (0 = Unknown) */
    uint32_t pkts;              /* packets fed to nDPI so far */
    bool detected;              /* classified by DPI (not guessed) */
    bool guessed;               /* protocol from give-up guessing (port/IP) */
    bool done;                  /* classification finished */
} dpi_info;

/* Creates the classifier.  'protos_file' / 'cats_file' are optional nDPI
 * custom protocol / category files (loaded before finalisation).  Returns
 * NULL with a message in err on failure. */
dpi_ctx *dpi_new(const char *protos_file, const char *cats_file, char *err, size_t errlen);
#define DPI_MAX_PROTOS_FILES 8

/* Like dpi_new with several custom protocol files, loaded in order (the
 * engine adds one generated from the AI-endpoint catalog). */
dpi_ctx *dpi_new_ex(const char *const *protos_files, size_t n_protos, const char *cats_file,
                    char *err, size_t errlen);
void dpi_free(dpi_ctx *c);

/* ndpiReader 4.2's per-flow packet budgets (max_num_{tcp,udp}_dissected_pkts).
 * Use them as the default 'pkt_budget' so classification agrees with it. */
#define DPI_BUDGET_TCP 80u
#define DPI_BUDGET_UDP 24u

/* The budget ndpiReader 4.2 applies to a flow of IP protocol 'l4proto':
 * 80 for TCP, 24 for UDP, unlimited (UINT32_MAX) for anything else. */
uint32_t dpi_default_budget(uint8_t l4proto);

/* One allocation per flow (the nDPI flow state lives inside it).  NULL on
 * out-of-memory.  dpi_flow_free(NULL) is a no-op. */
dpi_flow *dpi_flow_new(dpi_ctx *c);
void dpi_flow_free(dpi_flow *f);

/* The server side of a TLS handshake as nDPI saw it (its certificate:
 * TLS 1.2 and earlier; JA3S), in Suricata's EVE formats; "" when absent.
 * Read from the live nDPI flow, so call it before dpi_flow_free; kept out
 * of dpi_info so that flows do not carry it. */
typedef struct dpi_tls_server {
    char subject[256], issuerdn[256];
    char fingerprint[60];             /* SHA-1 of the certificate, "aa:bb:..." */
    char notbefore[20], notafter[20]; /* "2016-06-15T16:00:00" */
    char ja3s[33];
} dpi_tls_server;

/* false when the flow is not TLS/QUIC or nDPI saw nothing of the server. */
bool dpi_tls_server_info(const dpi_flow *f, dpi_tls_server *out);

/* Feeds one packet (from the IP header, 'l3_len' captured bytes).
 * Returns true when the flow is done: 'out' is final and the caller
 * should free the dpi_flow and stop calling.  'out' is written only then
 * (filling it per packet cost ~6% of the pipeline).  'pkt_budget' is the packet count after which
 * to give up (with guessing): like ndpiReader, packet number pkt_budget+1 is still fed to nDPI and
 * then, if nothing was detected, the flow gives up.  Feed every IP packet of the flow in both
 * directions (SYN, pure ACKs included), as ndpiReader does.  Calling again after it returned true
 * only refills 'out'. */
bool dpi_process(dpi_ctx *c, dpi_flow *f, const uint8_t *l3, uint32_t l3_len, uint64_t ts_ms,
                 uint32_t pkt_budget, dpi_info *out);

/* Fills 'out' with what classification knows so far, without finishing
 * (for diagnostics and tests; the engine reads 'out' once done). */
void dpi_peek(dpi_ctx *c, dpi_flow *f, dpi_info *out);

/* The host name nDPI has read so far (HTTP Host, TLS/QUIC SNI), "" if
 * none; valid until the next call on the flow. */
const char *dpi_host(const dpi_flow *f);

/* Gives up on an unfinished flow (e.g. at flow end): guesses and fills out.
 * On a finished flow it only refills 'out'. */
void dpi_giveup(dpi_ctx *c, dpi_flow *f, dpi_info *out);

/* The HTTP URL risk (ndpi_validate_url, as ndpiReader adds it when it
 * prints a flow) is memoised per context by URL: how many lookups hit and
 * missed the memo. */
void dpi_url_memo_counts(const dpi_ctx *c, uint64_t *hits, uint64_t *misses);

/* Name of risk bit n ("Known Protocol on Non Standard Port"...), or NULL. */
const char *dpi_risk_name(int bit);

/* nDPI library version string. */
const char *dpi_version(void);

#endif /* EGRET_DPI_H */
