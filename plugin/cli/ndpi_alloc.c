/*
 * ndpi_alloc.c -- nDPI 4.2's allocation wrappers without its process-wide
 * byte counter, for the egret executable only (libegret does not carry
 * them, so a program embedding the engine keeps nDPI's own).
 *
 * In nDPI 4.2, ndpi_malloc and ndpi_calloc add the size of every
 * allocation to one global counter with a locked add; only
 * ndpi_get_tot_allocated_memory reads it, and egret never calls that.  nDPI
 * allocates about 100,000 times while an engine starts (patricia nodes for
 * its address lists) and 3 to 4 times per flow.  With one engine per worker
 * thread, every core writes that one cache line, which slows engine start
 * and flow setup with several workers.
 *
 * libndpi calls these two through its PLT, so the executable's definitions
 * take their place (ELF symbol interposition); ndpi_realloc, ndpi_strdup and
 * ndpi_flow_malloc call ndpi_malloc.  ndpi_free is nDPI's, which calls free
 * when no allocator hook is set -- and neither egret nor libegret sets one
 * (set_ndpi_malloc would not be honoured here).  The prototypes come from
 * nDPI's header, so a changed signature fails to build.
 */
#include <ndpi_api.h>
#include <stdlib.h>

void *ndpi_malloc(size_t size)
{
    return malloc(size);
}

void *ndpi_calloc(unsigned long count, size_t size)
{
    return calloc(count, size);
}
