/*
 * test_tls_keys.c -- TLS key logs through the ABI (egret.h only), on the
 * project's own capture pcaps/tls/tls13-aes128gcm.pcap and its key log:
 *
 * 1. keys given before the packets: the request is decrypted (an http
 *    record with "decrypted":true);
 * 2. keys that arrive late: the first half of the packets is fed with an
 *    empty key log, then the key log text is added, then the rest: the
 *    held records are decrypted all the same (stats late_keys);
 * 3. two engines (as two workers) share one key log: each decrypts;
 * 4. a malformed line is reported with its number, never its text, and
 *    the lines around it still count.
 * Prints "N passed, N failed".
 */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egret.h"

static int passed, failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

typedef struct sink {
    int http, decrypted;
    char stats[8192];
} sink;

static void on_event(const egret_event *ev, void *ud)
{
    sink *s = ud;
    if (ev->type == EGRET_EV_HTTP) {
        s->http++;
        if (strstr(ev->json, "\"decrypted\":true")) s->decrypted++;
    }
    if (ev->type == EGRET_EV_STATS) snprintf(s->stats, sizeof(s->stats), "%s", ev->json);
}

static egret_engine *engine(sink *s, egret_keylog *k)
{
    egret_config cfg;
    egret_config_init(&cfg);
    cfg.eve_types = EGRET_EV_HTTP | EGRET_EV_STATS;
    cfg.no_rules = 1;
    cfg.no_geo = 1;
    cfg.on_event = on_event;
    cfg.event_ud = s;
    cfg.tls_keylog = k;
    egret_engine *e = NULL;
    char err[EGRET_ERRBUF_SIZE];
    int rc = egret_engine_new(&cfg, &e, err);
    CHECK(rc == EGRET_OK, "engine: %s", err);
    return e;
}

typedef struct pkt {
    uint64_t ts;
    uint32_t len;
    uint8_t data[2048];
} pkt;

static size_t load(const char *path, pkt *out, size_t cap, int *linktype)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) return 0;
    *linktype = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *d;
    size_t n = 0;
    while (n < cap && pcap_next_ex(p, &h, &d) == 1) {
        if (h->caplen > sizeof(out[n].data)) continue;
        out[n].ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        out[n].len = h->caplen;
        memcpy(out[n].data, d, h->caplen);
        n++;
    }
    pcap_close(p);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[16384];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

static void feed(egret_engine *e, const pkt *v, size_t from, size_t to, int lt)
{
    for (size_t i = from; i < to; i++)
        egret_engine_feed(e, v[i].ts, lt, v[i].len, v[i].len, v[i].data);
}

static int bad_lines;
static uint64_t bad_line_no;

static void on_bad(void *ud, const char *source, uint64_t line, const char *reason)
{
    (void)ud, (void)source, (void)reason;
    bad_lines++;
    bad_line_no = line;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "pcaps/tls";
    char cap[512], keys[512];
    snprintf(cap, sizeof cap, "%s/tls13-aes128gcm.pcap", dir);
    snprintf(keys, sizeof keys, "%s/tls13-aes128gcm.keylog", dir);
    static pkt v[256];
    int lt = 0;
    size_t n = load(cap, v, 256, &lt);
    size_t klen = 0;
    char *text = slurp(keys, &klen);
    CHECK(n > 10 && text && klen > 100, "inputs: %zu packets, key log %zu bytes (%s, %s)", n, klen,
          cap, keys);
    if (n <= 10 || !text) goto out;

    /* 1. keys first */
    {
        sink s = {0};
        egret_keylog *k = egret_keylog_new(0, NULL, NULL);
        CHECK(egret_keylog_add(k, "test", text, klen) >= 4, "secrets stored");
        egret_engine *e = engine(&s, k);
        feed(e, v, 0, n, lt);
        egret_engine_flush(e);
        CHECK(s.http == 1 && s.decrypted == 1, "keys first: http %d decrypted %d", s.http,
              s.decrypted);
        egret_engine_free(e);
        egret_keylog_free(k);
    }
    /* 2. keys late: the key log holds an unrelated key first (TLS
     * inspection starts once a key log has held a key) */
    {
        sink s = {0};
        egret_keylog *k = egret_keylog_new(0, NULL, NULL);
        static const char other[] =
            "CLIENT_RANDOM "
            "0000000000000000000000000000000000000000000000000000000000000001 "
            "000000000000000000000000000000000000000000000000000000000000000000"
            "000000000000000000000000000000\n";
        CHECK(egret_keylog_add(k, "test", other, sizeof other - 1) == 1, "unrelated key stored");
        egret_engine *e = engine(&s, k);
        feed(e, v, 0, n / 2, lt);
        CHECK(s.http == 0, "nothing before the key: %d", s.http);
        egret_keylog_add(k, "test", text, klen);
        feed(e, v, n / 2, n, lt);
        egret_engine_flush(e);
        CHECK(s.http == 1 && s.decrypted == 1, "late keys: http %d decrypted %d", s.http,
              s.decrypted);
        /* both directions waited for their secrets */
        CHECK(strstr(s.stats, "\"late_keys\":2") != NULL, "late_keys not counted: %.300s",
              strstr(s.stats, "tls_decrypt") ? strstr(s.stats, "tls_decrypt") : s.stats);
        egret_engine_free(e);
        egret_keylog_free(k);
    }
    /* 3. two engines, one key log */
    {
        sink s1 = {0}, s2 = {0};
        egret_keylog *k = egret_keylog_new(0, NULL, NULL);
        egret_keylog_add(k, "test", text, klen);
        egret_engine *e1 = engine(&s1, k), *e2 = engine(&s2, k);
        feed(e1, v, 0, n, lt);
        feed(e2, v, 0, n, lt);
        egret_engine_flush(e1);
        egret_engine_flush(e2);
        CHECK(s1.decrypted == 1 && s2.decrypted == 1, "shared key log: %d %d", s1.decrypted,
              s2.decrypted);
        egret_engine_free(e1);
        egret_engine_free(e2);
        egret_keylog_free(k);
    }
    /* 4. a malformed line among good ones */
    {
        egret_keylog *k = egret_keylog_new(0, on_bad, NULL);
        char buf[20000];
        int m =
            snprintf(buf, sizeof buf, "# comment\nCLIENT_RANDOM zz not-hex\n%.*s", (int)klen, text);
        size_t got = egret_keylog_add(k, "test", buf, (size_t)m);
        CHECK(bad_lines == 1 && bad_line_no == 2, "bad lines %d at %llu", bad_lines,
              (unsigned long long)bad_line_no);
        CHECK(got >= 4, "good lines after a bad one: %zu", got);
        egret_keylog_stats st;
        egret_keylog_stats(k, &st);
        CHECK(st.malformed == 1 && st.secrets == got, "stats malformed %llu secrets %llu",
              (unsigned long long)st.malformed, (unsigned long long)st.secrets);
        egret_keylog_free(k);
    }
out:
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
