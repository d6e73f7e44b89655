/*
 * flow.h -- bidirectional flow table.
 *
 * Flows are keyed by the normalised 5-tuple plus the outer VLAN id.  The
 * table owns every flow; each flow carries 'ext_size' bytes of zeroed
 * engine-defined state after the struct (flow_ext()).  When a flow ends
 * (idle timeout, eviction because the table is full, or flush) the table
 * calls the 'on_end' callback once, then releases the flow.  Memory comes
 * from slabs and a free list: no malloc per packet, at most one slab
 * allocation per FLOW_SLAB flows.
 *
 * Time is packet time in microseconds.  Idle flows are kept on one LRU
 * list per timeout class, so expiry only ever looks at list heads.
 *
 * Key: (ip_v, proto, outer VLAN id, the two address/port endpoints in a
 * direction-independent order).  Protocols without ports (ICMP, ICMPv6,
 * anything but TCP/UDP/SCTP) are keyed on the addresses only, as Suricata
 * does, so an echo request and its reply share one flow; cport/sport then
 * hold the ICMP type/code of the flow's first packet, for information.
 *
 * Everything is deterministic for the same packet sequence: flow ids, the
 * order of on_end calls on expiry (deadline order), eviction, and flush
 * (oldest first_ts first, then lower id).
 *
 * Callbacks: on_end may read the flow and its ext area and must release
 * whatever the engine keeps there; it must not call back into the table.
 */
#ifndef EGRET_FLOW_H
#define EGRET_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

enum { FLOW_TOSERVER = 0, FLOW_TOCLIENT = 1 };

/* A TCP client burst counts as a request once it carries this many bytes. */
#define FLOW_REQ_MIN 100
enum { FLOW_BURST_NONE, FLOW_BURST_PENDING, FLOW_BURST_COUNTED, FLOW_BURST_SKIP };

#define FLOW_SLAB 4096 /* flows per slab allocation (fewer if max_flows is smaller) */

typedef enum { FLOW_STATE_NEW, FLOW_STATE_ESTABLISHED, FLOW_STATE_CLOSED } flow_state;

typedef enum {
    FLOW_END_TIMEOUT,  /* idle timeout ("timeout") */
    FLOW_END_EVICTED,  /* table full, oldest idle flow evicted ("forced") */
    FLOW_END_SHUTDOWN, /* flush at end of input ("shutdown") */
    FLOW_END_REUSE,    /* a new TCP connection on the same 5-tuple ("tcp_reuse") */
} flow_end_reason;

/* Timeout classes (one LRU list each). */
enum { FLOW_TC_TCP, FLOW_TC_TCP_CLOSED, FLOW_TC_UDP, FLOW_TC_OTHER, FLOW_TC__COUNT };

/* Sequence ranges a direction's frontier skipped over (capture loss, or a
 * jump not yet explained): bytes in them are credited to seq_bytes when a
 * segment fills them or, for a plausible hole, when the peer acknowledges
 * them (see flow.c). */
#define FLOW_SEQ_HOLES 4
typedef struct flow_seq_hole {
    uint32_t lo, hi; /* [lo, hi) in sequence space */
    uint32_t seen;   /* bytes in it seen already (holes merged when the list was full) */
    bool ack_credit; /* the peer's ACK may credit it (no larger than the window bound) */
} flow_seq_hole;

typedef struct flow_dir {
    uint64_t pkts, bytes;   /* captured packets; bytes = wire length of frames */
    uint64_t payload_bytes; /* captured transport payload bytes */
    /* TCP sequence tracking: payload bytes covered by sequence progress that
     * the capture can justify (seen, or lost and then acknowledged), so
     * capture loss does not undercount and a jump does not invent bytes. */
    uint64_t seq_bytes;
    uint32_t seq_base; /* first payload seq (ISN+1 after SYN) */
    uint32_t seq_high; /* frontier: highest payload seq end seen */
    uint32_t win_max;  /* largest window this side advertised after its SYN (as sent) */
    uint32_t fin_seq;  /* sequence number of its FIN (valid when fin_at) */
    uint32_t ack_high; /* highest ACK it sent (valid when acked) */
    uint32_t win_last; /* the window it advertised with ack_high (as sent) */
    uint16_t syn_win;  /* the window of its SYN (never scaled) */
    uint8_t wscale;    /* its SYN's window scale shift, DEC_WSCALE_NONE if absent */
    uint8_t n_holes;
    bool seq_init;
    bool syn;          /* sent a SYN (seq_base - 1 is its ISN) */
    bool acked;        /* sent a segment with ACK: the peer's holes wait for it */
    bool fin_at;       /* fin_seq is known: nothing beyond it was sent */
    bool win_last_syn; /* win_last came with a SYN (never scaled) */
    bool fin, rst;
    flow_seq_hole hole[FLOW_SEQ_HOLES];
} flow_dir;

typedef struct flow {
    /* key (normalised: see flow.c) */
    uint8_t ip_v, proto;
    uint32_t vlan;  /* outer VLAN id | inner id << 16 (0: untagged) */
    uint8_t vlan_n; /* VLAN tags recorded (0..2) */
    /* orientation: client = the side that opened the flow */
    uint8_t cli[16], srv[16];
    uint16_t cport, sport;
    /* flow_id: hash of the key and first_ts, non-zero, < 2^53 (exact as a
     * JSON number); the same tuple reused later gets a different id */
    uint64_t id;
    uint64_t first_ts, last_ts;
    flow_dir dir[2];    /* FLOW_TOSERVER, FLOW_TOCLIENT */
    uint32_t exchanges; /* client data bursts that follow server data */
    uint8_t last_data_dir;
    uint8_t burst; /* FLOW_BURST_*: state of the current client burst */
    uint32_t burst_bytes; /* payload of the current client burst */ /* 0xff before any payload */
    uint8_t tcp_flags_ts, tcp_flags_tc; /* OR of TCP flags per direction */
    flow_state state;
    uint8_t tclass; /* FLOW_TC_* */
    /* table links (private) */
    struct flow *hnext;
    struct flow *lprev, *lnext;
    uint64_t lru_ts; /* table clock at the last packet (monotonic) */
    uint32_t hash;
} flow;

typedef void (*flow_end_cb)(flow *f, flow_end_reason why, void *ud);

/* Zero fields take defaults: max_flows 65536; timeouts (seconds) TCP 600,
 * TCP_CLOSED 60, UDP 300, OTHER 300. */
typedef struct flow_config {
    uint64_t max_flows;                  /* cap; when full the oldest idle flow is evicted */
    uint64_t timeout_us[FLOW_TC__COUNT]; /* idle timeout per class */
    size_t ext_size;                     /* bytes of engine state per flow */
    bool manual_expiry;                  /* true: flow_packet does not expire; the caller calls
                                            flow_expire (the engine does, on whole seconds of
                                            packet time, so that one engine and N workers end
                                            flows at the same points) */
    flow_end_cb on_end;
    void *ud;
} flow_config;

typedef struct flow_table flow_table;

typedef struct flow_counters {
    uint64_t created, active, evicted, timed_out, memcap_hits;
    uint64_t buckets, bucket_grows; /* hash table size now, times it doubled */
    uint64_t tcp_reuse;             /* flows ended by a new connection on their 5-tuple */
    uint64_t seq_implausible;       /* sequence jumps larger than the window bound: not credited */
    uint64_t seq_unconfirmed;       /* holes never filled nor acknowledged when their flow ended */
    uint64_t seq_holes_merged;      /* holes merged into another (more than FLOW_SEQ_HOLES open) */
} flow_counters;

flow_table *flow_table_new(const flow_config *cfg);

/* Whether ports are part of a flow's key (TCP, UDP, SCTP).  ICMP type and
 * code are not: an echo and its reply are one flow. */
bool flow_has_ports(uint8_t proto);
/* Ends all flows with FLOW_END_SHUTDOWN (calls on_end) and frees.  NULL ok. */
void flow_table_free(flow_table *t);

/* Finds or creates the flow for a decoded packet and accounts the packet
 * (counters, TCP state, sequence progress, exchanges).  Sets *dir to
 * FLOW_TOSERVER / FLOW_TOCLIENT and *created when the flow is new.
 * 'wire_len' is the frame's original length.  Expires idle flows first
 * (packet time 'ts').  'p' must be flowable (dec_packet() returned true,
 * ip_v 4 or 6).  Returns NULL if allocation failed or p is not IP.
 * The returned flow is valid until the next call into the table. */
flow *flow_packet(flow_table *t, const dec_pkt *p, uint64_t ts, uint32_t wire_len, int *dir,
                  bool *created);

/* Expires flows idle for longer than their timeout at time 'ts'. */
void flow_expire(flow_table *t, uint64_t ts);

/* Ends every flow with FLOW_END_SHUTDOWN; the table stays usable. */
void flow_flush(flow_table *t);

void *flow_ext(flow *f);
void flow_table_counters(const flow_table *t, flow_counters *out);

/* Calls fn for every live flow (order unspecified but deterministic).
 * fn must not add or end flows. */
void flow_foreach(flow_table *t, void (*fn)(flow *f, void *ud), void *ud);

const char *flow_state_name(flow_state s);       /* "new", "established", "closed" */
const char *flow_reason_name(flow_end_reason r); /* "timeout", "forced", "shutdown", "tcp_reuse" */

/* Sequence jumps larger than this are not credited when the window that
 * would bound them is unknown (handshake not seen) or the peer's
 * acknowledgements are not seen (one direction captured). */
#define FLOW_SEQ_FIXED_BOUND (1u << 20)

#endif /* EGRET_FLOW_H */
