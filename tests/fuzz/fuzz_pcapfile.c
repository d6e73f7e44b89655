/*
 * fuzz_pcapfile.c -- egret's classic pcap reader (plugin/cli/pcapfile.c)
 * on a file in memory through its byte source, every record read until
 * the end or an error; and the same bytes through the mapped-file walker
 * (pcapmap.c), from a memory file, when it takes them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcapfile.h"
#include "pcapmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void touch(const sf_pkt *p)
{
    uint8_t x = 0;
    for (uint32_t i = 0; i < p->caplen; i++) x ^= p->data[i];
    sink = x;
}

static void mapped(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0) return;
    struct stat st;
    if ((size == 0 || write(fd, data, size) == (ssize_t)size) && fstat(fd, &st) == 0) {
        pcapmap *m = pcapmap_open(fd, &st);
        if (m) {
            sf_pkt p;
            while (pcapmap_next(m, &p) == 1) touch(&p);
            pcapmap_close(m);
        }
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bsrc src;
    bsrc_init_mem(&src, data, size);
    pcapfile f;
    if (pcapfile_open(&f, &src) == 0) {
        sf_pkt p;
        while (pcapfile_next(&f, &p) == 1) touch(&p);
    }
    bsrc_close(&src);
    mapped(data, size);
    return 0;
}
