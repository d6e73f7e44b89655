/*
 * summary.c -- formats the end-of-run summary (see summary.h).
 */
#include "summary.h"

#include "hbytes.h"

#include <inttypes.h>
#include <string.h>

void summary_print(FILE *fp, const summary *s)
{
    const egret_counters *c = &s->counters;
    char hb[32];

    fprintf(fp, "egret: summary%s\n", s->interrupted ? " (interrupted)" : "");
    if (s->iface)
        fprintf(fp, "  %-14s %s\n", "interface", s->iface);
    else
        fprintf(fp, "  %-14s %zu read, %zu failed\n", "inputs", s->n_sources - s->n_failed,
                s->n_failed);
    fprintf(fp, "  %-14s %" PRIu64 " (%s) processed\n", "packets", c->packets,
            human_bytes(c->bytes, hb, sizeof(hb)));
    fprintf(fp, "  %-14s %" PRIu64 " total, %" PRIu64 " evicted\n", "flows", c->flows_total,
            c->flows_evicted);
    fprintf(fp, "  %-14s %" PRIu64 "\n", "decode events", c->decode_events);
    if (s->have_cap_stats) {
        /* the kernel's count includes what it dropped (Linux) */
        double pct = s->cap_recv ? 100.0 * (double)s->cap_drop / (double)s->cap_recv : 0.0;
        fprintf(fp,
                "  %-14s %" PRIu64 " packets seen by the kernel, %" PRIu64
                " dropped (%.2f %%), %" PRIu64 " dropped by the interface\n",
                "capture", s->cap_recv, s->cap_drop, pct, s->cap_ifdrop);
        if (pct > SUMMARY_LOSS_HINT)
            fprintf(fp,
                    "  %-14s capture loss above %.1f %%: counts are lower bounds; raise -B "
                    "(MiB per capture)%s\n",
                    "warning", SUMMARY_LOSS_HINT,
                    s->workers ? " or add --workers" : ", add --workers");
    }
    if (s->workers) {
        fprintf(fp, "  %-14s %u; packets per worker:", "workers", s->workers);
        for (size_t i = 0; i < s->n_per_worker; i++) fprintf(fp, " %" PRIu64, s->per_worker[i]);
        fputc('\n', fp);
        if (s->fanout)
            fprintf(fp,
                    "  %-14s kernel; %" PRIu64 " of %" PRIu64
                    " packets checked off their worker's shard\n",
                    "fanout", s->misplaced, s->checked);
    }
    if (s->out_errno)
        fprintf(fp, "  %-14s %" PRIu64 " of %" PRIu64 " known written to %s (write error: %s)\n",
                "records", s->flushed, s->written, s->out_name, strerror(s->out_errno));
    else
        fprintf(fp, "  %-14s %" PRIu64 " written to %s\n", "records", s->written, s->out_name);
    if (s->redis)
        fprintf(fp,
                "  %-14s %" PRIu64 " sent, %" PRIu64 " queued, %" PRIu64 " spooled (%" PRIu64
                " still in the spool), %" PRIu64 " dropped, %" PRIu64
                " duplicates skipped, %" PRIu64 " reconnects\n",
                "redis", s->redis_counters.sent, s->redis_counters.queued,
                s->redis_counters.spooled, s->redis_counters.spool_pending,
                s->redis_counters.dropped, s->redis_counters.duplicates,
                s->redis_counters.reconnects);
    fprintf(fp, "  %-14s %.2f s, %.0f packets/s\n", "elapsed", s->elapsed,
            s->elapsed > 0 ? (double)c->packets / s->elapsed : 0.0);

    if (s->geo)
        fprintf(fp, "  %-14s GeoIP %s, ASN %s\n", "databases", s->geoip_db ? s->geoip_db : "-",
                s->asn_db ? s->asn_db : "-");
    else
        fprintf(fp, "  %-14s no GeoIP (countries and ASNs not tagged)\n", "databases");
    if (s->geo_test)
        fprintf(fp,
                "  %-14s THE BUNDLED TEST GeoIP/ASN DATABASES: countries and ASNs are made "
                "up\n",
                "!! TEST GEO");
    if (s->found) tally_print(fp, s->found);
    if (s->n_top > 0) {
        fprintf(fp, "  top internal hosts by outbound bytes:\n");
        for (size_t i = 0; i < s->n_top && i < SUMMARY_TOP_HOSTS; i++) {
            const egret_host_stat *h = &s->top[i];
            fprintf(fp, "    %-40.*s %10s in %" PRIu64 " flows\n",
                    (int)strnlen(h->addr, sizeof(h->addr)), h->addr,
                    human_bytes(h->bytes_out, hb, sizeof(hb)), h->flows_out);
        }
    }
}
