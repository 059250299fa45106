#ifndef SLUICE_CMALLOCTUNING_SHIM_H
#define SLUICE_CMALLOCTUNING_SHIM_H
#include <malloc.h>

/* Serve allocations up to 8 MiB (a sealed frame is at most ~4 MiB) from the heap instead
   of fresh mmap'd pages, and keep up to 16 MiB of freed heap: each frame sealed by
   swift-crypto allocates its output, and page-faulting that in on every flush halved
   sealing throughput (measured with `sluice-bench seal`).

   Two arenas: glibc makes up to eight per core, one per contending thread, and each keeps
   its own free chunks; under 8 PutRecords writers that held ~10 MiB more (rss.py: VmRSS
   67 -> 57 MiB with two, measured back to back). */
static inline void sluice_tune_malloc(void) {
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
    mallopt(M_ARENA_MAX, 2);
}
#endif
