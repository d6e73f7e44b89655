/*
 * fuzz_link.h -- the link types the frame targets choose from with their
 * first byte (the decoder's, and one it does not know).
 */
#ifndef EGRET_FUZZ_LINK_H
#define EGRET_FUZZ_LINK_H

#include <stddef.h>
#include <stdint.h>

static const int fz_links[] = {1, 101, 113, 276, 0, 108, 228, 229, 12, 14, 147};
#define FZ_NLINKS (sizeof fz_links / sizeof fz_links[0])

static inline int fz_link(uint8_t b)
{
    return fz_links[b % FZ_NLINKS];
}

#endif /* EGRET_FUZZ_LINK_H */
