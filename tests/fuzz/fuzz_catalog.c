/*
 * fuzz_catalog.c -- the AI catalog parser: the input (after its first
 * byte) as an endpoints file (catalog_load) or, when the first byte is
 * odd, an IP ranges file (catalog_load_ranges), read from a memory file;
 * then a few lookups and a walk of what was loaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int each(const catalog_match *m, void *ud)
{
    (void)m;
    (*(size_t *)ud)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int fd = memfd_create("catalog", 0);
    if (fd < 0) return 0;
    if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
        close(fd);
        return 0;
    }
    char path[64], err[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    catalog *cat = catalog_new();
    if (cat) {
        if (data[0] & 1)
            (void)catalog_load_ranges(cat, path, err, sizeof err);
        else
            (void)catalog_load(cat, path, err, sizeof err);
        catalog_match m;
        static const char *const hosts[] = {"api.openai.com", "chat.openai.com", "claude.ai",
                                            "a.b.example.com", ""};
        for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
            (void)catalog_match_host(cat, hosts[i], __builtin_strlen(hosts[i]), &m);
        static const uint8_t v4[4] = {104, 18, 33, 45}, v6[16] = {0x20, 0x01, 0x0d, 0xb8};
        (void)catalog_match_ip(cat, 4, v4, &m);
        (void)catalog_match_ip(cat, 6, v6, &m);
        size_t n = 0;
        (void)catalog_foreach(cat, each, &n);
        catalog_free(cat);
    }
    close(fd);
    return 0;
}
