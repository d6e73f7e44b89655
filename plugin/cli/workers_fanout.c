/*
 * workers_fanout.c -- live on Linux: each worker reads a capture of its
 * own that the kernel fills with that worker's shard.
 */
#include "workers_int.h"

#include <stdio.h>

#define FAN_BATCH       64  /* fanout: packets read per call */
#define FAN_WAIT_MS     100 /* fanout: longest wait for a packet (a stop is seen this fast) */
#define FAN_CHECK_EVERY 16  /* fanout: packets checked against the C shard, one in this many */

/* ==== kernel fanout ====
 *
 * Live, on Linux: each worker reads its own capture socket, and the kernel
 * hands every packet to the socket of its worker (cap_open_fanout runs
 * egret_engine_shard_bpf's program).  No chunks, no copies, no packet
 * crosses a core.  Each worker keeps its own packet clock (a tick before
 * the packet that crosses a whole second) and ticks on wall-clock time at
 * least once a second, with its capture's counters; worker 0's engine gets
 * the sum of all of them.  One packet in FAN_CHECK_EVERY is also checked
 * against egret_engine_shard (a sample: checking every packet would cost
 * each worker a share of its time for a diagnostic): one
 * the kernel placed elsewhere (test_shard lists the malformed frames where
 * the program and the C shard part ways) is still processed here, and
 * counted (workers_misplaced). */

struct fan {
    struct workers *ws;
    worker *w;
    int linktype;
    struct pkt_clock clock;
    uint64_t pkts, bytes;
    uint64_t seen, checked, misplaced; /* packets; those checked; off their shard */
};

static void fan_feed(void *ud, const cap_packet *pkt)
{
    struct fan *f = ud;
    egret_engine *e = f->w->eng;
    uint64_t tick = wk_clock_step(&f->clock, pkt->ts_usec);
    if (tick) egret_engine_advance(e, tick);
    if (f->seen++ % FAN_CHECK_EVERY == 0) {
        f->checked++;
        if (egret_engine_shard(e, f->linktype, pkt->data, pkt->caplen) % (uint32_t)f->ws->n !=
            (uint32_t)f->w->id)
            f->misplaced++;
    }
    egret_engine_feed(e, pkt->ts_usec, f->linktype, pkt->caplen, pkt->len, pkt->data);
    f->pkts++;
    f->bytes += pkt->caplen;
}

/* Worker w reads its capture until a stop or an error.  'each' (worker 0)
 * as in workers_run. */
void wk_fan_loop(struct workers *ws, worker *w, bool (*each)(void *, uint64_t, uint64_t), void *ud)
{
    cap_source *s = ws->fan_srcs[w->id];
    struct fan f = {.ws = ws, .w = w, .linktype = cap_linktype(s)};
    uint64_t last_wall = wk_wall_usec();
    egret_engine_set_input(w->eng, NULL, ws->in_iface);
    w->fan_status = CAP_EBREAK;
    cap_set_wait(s, FAN_WAIT_MS);
    while (!wk_stopped(ws)) {
        if (atomic_load_explicit(&w->reload_req, memory_order_relaxed) &&
            atomic_exchange(&w->reload_req, false))
            wk_worker_reload(w);
        int rc = cap_dispatch(s, FAN_BATCH, true, fan_feed, &f);
        if (rc == CAP_ERROR) {
            w->fan_status = CAP_ERROR;
            snprintf(w->fan_err, sizeof(w->fan_err), "%s", cap_geterr(s));
            break;
        }
        if (rc == CAP_EBREAK) break;
        atomic_store_explicit(&w->fan_max, f.clock.max_ts, memory_order_relaxed);
        uint64_t now = wk_wall_usec();
        if (now - last_wall >= WALL_TICK_US || now < last_wall) {
            last_wall = now;
            uint64_t st[3];
            if (cap_stats(s, &st[0], &st[1], &st[2]) == 0)
                for (int j = 0; j < 3; j++) atomic_store(&w->cap_st[j], st[j]);
            if (w->id == 0) {
                uint64_t sum[3] = {0, 0, 0};
                for (int i = 0; i < ws->n; i++)
                    for (int j = 0; j < 3; j++) sum[j] += atomic_load(&ws->w[i].cap_st[j]);
                egret_engine_set_capture_stats(w->eng, sum[0], sum[1], sum[2]);
            }
            egret_engine_advance(w->eng, now > f.clock.max_ts ? now : f.clock.max_ts);
        }
        if (each && !each(ud, f.pkts, f.bytes)) break;
        f.pkts = f.bytes = 0;
        if (rc == CAP_TIMEOUT) wk_batch_flush(w); /* idle: records go out now */
    }
    w->checked = f.checked;
    w->misplaced = f.misplaced;
    /* one worker out (stop, error, or the caller's 'each'): all out */
    atomic_store(&ws->halt, true);
    wk_bump(ws);
}
