/* mem_trim.h - freed heap given back to the system between the phases of a
 * run (glibc's malloc_trim), so that the fold's peak does not sit on what the
 * finished analyses freed.
 *
 * Not under AddressSanitizer: its allocator is not glibc's, and a worker
 * thread's malloc_trim() attaches that thread to a glibc arena it never
 * allocated from; glibc then finds the arena's thread count wrong when the
 * thread exits and aborts ("malloc assertion failure in
 * __malloc_arena_thread_freeres"). */
#ifndef SMBSCOPE_MEM_TRIM_H
#define SMBSCOPE_MEM_TRIM_H

#include <stdlib.h> /* __GLIBC__ */
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SMBSCOPE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMBSCOPE_ASAN 1
#endif
#endif

static inline void mem_trim(void)
{
#if defined(__GLIBC__) && !defined(SMBSCOPE_ASAN)
    malloc_trim(0);
#endif
}

/* Large blocks (hash tables at their caps, arrays grown by doubling) mapped
 * and unmapped on their own from now on, not carved out of a thread's arena:
 * by default glibc raises its mmap threshold to the size of each mapped
 * block freed (up to 32 MiB), after which a worker's freed tables stay in its
 * arena, beside the next analysis's (several inputs under --jobs 2: 80 MiB
 * of RSS for 54 MB of heap).  A fixed threshold also stops that raising. */
static inline void mem_map_large(void)
{
#if defined(__GLIBC__) && !defined(SMBSCOPE_ASAN)
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

#endif
