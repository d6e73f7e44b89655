/*
 * mem.h -- zeroed allocations whose pages are written at once.
 *
 * calloc leaves fresh pages (new heap or mmap) untouched.  The first read
 * of such a page maps the kernel's shared zero page; the first write then
 * takes a copy-on-write fault, and with several worker threads that fault
 * sends a TLB shoot-down IPI to every CPU running one of them (perf: 6 % of
 * a 2-worker replay).  Writing the zeros at allocation maps each page once,
 * writable.  explicit_bzero, not memset: compilers turn malloc + memset into
 * calloc.  Use for tables that are read before written (hash buckets) and
 * for per-flow state that libraries read first (nDPI).
 */
#ifndef EGRET_MEM_H
#define EGRET_MEM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void *mem_zalloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    void *p = malloc(bytes > 0 ? bytes : 1);
    if (p) explicit_bzero(p, bytes);
    return p;
}

#endif /* EGRET_MEM_H */
