/*
 * bench_sink.c -- the Redis sink's own rate (scripts/bench): pushes every
 * line of an EVE file through sink_push as fast as it can and waits until
 * Redis has them all; prints "records seconds".  Built by scripts/bench
 * with plugin/cli/sink_redis.c and redis.c.
 *
 *   bench_sink URL KEY MODE EVE_FILE [REPEAT]
 */
#include "monotime.h"
#include "sink_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_sink URL KEY MODE EVE_FILE [REPEAT]\n");
        return 2;
    }
    int repeat = argc > 5 ? atoi(argv[5]) : 1;
    FILE *f = fopen(argv[4], "rb");
    if (!f) {
        perror(argv[4]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) return 1;
    fclose(f);
    sink_cfg c = {
        .url = argv[1], .key = argv[2], .sensor = "bench", .maxlen = 0, .block_when_full = true};
    if (!sink_mode_parse(argv[3], &c.mode)) return 2;
    char err[256];
    sink *s = sink_start(&c, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "bench_sink: %s\n", err);
        return 1;
    }
    unsigned long long recs = 0;
    double t0 = now_mono();
    for (int r = 0; r < repeat; r++) {
        for (char *p = buf, *end = buf + n; p < end;) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            sink_piece pc = {p, len};
            if (len) {
                sink_push(s, &pc, 1, false);
                recs++;
            }
            p += len + 1;
        }
    }
    sink_stop_thread(s);
    double t = now_mono() - t0;
    sink_counters k;
    sink_get_counters(s, &k);
    sink_free(s);
    printf("%llu %.4f %llu %llu\n", recs, t, (unsigned long long)k.sent,
           (unsigned long long)k.dropped);
    return k.sent == recs ? 0 : 1;
}
