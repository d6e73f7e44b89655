/* bench_floor.c -- the benchmark floor: a bare libpcap read loop.
 *
 * Reads every packet of a capture with pcap_next_ex and touches nothing but
 * the header, so its time is what any pcap-based tool pays before doing work.
 * Prints "packets bytes" (bytes = sum of original wire lengths) on stdout.
 * Built and run by scripts/bench:  cc -O2 -o bench_floor bench_floor.c -lpcap
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "bench_floor: %s\n", err);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t pkts = 0, bytes = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        pkts++;
        bytes += h->len;
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "bench_floor: %s\n", pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    pcap_close(p);
    printf("%llu %llu\n", (unsigned long long)pkts, (unsigned long long)bytes);
    return 0;
}
