/* split_feed.h - one reader of the file for every thread of a flow-hash
 * split (split.h): the file is read, parsed and routed (split_route.h)
 * once, into batches every thread then walks in file order.
 *
 * Before, each thread read the whole file with a reader of its own (the
 * kernel's copy of every byte, the record parse and the route, N times
 * over).  Now one reader thread fills the batches in order (split_feed.c
 * says why a thread of its own and not the workers in turn); each
 * record's bytes are copied into the batch (they outlive the reader's
 * window) with the worker the route gives it and what the route says of
 * its TCP-ness (the other threads' clock ticks).  A batch's slot is
 * reused once every thread has walked it: a ring of
 * SPLIT_FEED_SLOTS_PER_THREAD slots per thread bounds both the memory
 * (about 0.4 MiB a slot) and how far the reader may run ahead of the
 * slowest worker. */
#ifndef SMBSCOPE_SPLIT_FEED_H
#define SMBSCOPE_SPLIT_FEED_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"

#define SPLIT_FEED_SLOTS_PER_THREAD 4u

/* A batch: n records in file order (their bytes in the feed's slot, their
 * frame numbers the file's), and for each what the route said: the worker
 * that analyses it and its enum split_tcp (the other workers' clock
 * ticks).  The routes are arrays of their own, a byte a record: every
 * worker walks every record and reads them, its own records are handed to
 * the analysis as they are (no copy). */
struct split_batch {
    const struct capture_record *recs;
    const uint8_t *worker;
    const uint8_t *tcp;
    unsigned n;
};

struct split_feed;

/* Over cap (the feed's reader thread reads it from the first
 * split_feed_next() on; it stays the caller's to close after
 * split_feed_free()) for n workers; *stop nonzero ends the reading as end
 * of input (a stop signal).  NULL: out of memory, or no thread. */
struct split_feed *split_feed_new(struct capture *cap, unsigned n, const volatile sig_atomic_t *stop);
/* Worker k's next batch in file order (its previous one handed back);
 * NULL at the end of the input (the reader then out of the capture). */
const struct split_batch *split_feed_next(struct split_feed *f, unsigned k);
/* After every worker saw NULL: capture_next()'s last (0 end, -1 damage,
 * 1 stopped by *stop). */
int split_feed_rc(const struct split_feed *f);
/* Before the first batch: of n records the route sees (the file's first
 * ones), unroutable go to worker 0 by their kind, not their address pair
 * (split_route.h: UDP, other protocols, frames not IP); worker 0 then
 * takes a smaller share of the pairs, so that each worker analyses about
 * 1/N of the records.  Any map of pairs to workers gives one run's answer
 * (every record of an address pair meets in one worker): only the balance
 * depends on it.  Without it, the pairs are shared evenly. */
void split_feed_balance(struct split_feed *f, uint64_t unroutable, uint64_t n);
/* Any worker: stop reading (as *stop does) because the split's answer is
 * given up (split.c: one analysis of the file follows); every worker's
 * next split_feed_next() then ends it, the batches read ahead unwalked. */
void split_feed_abort(struct split_feed *f);
/* Whether the split was given up (split_feed_abort(): by a worker, or by
 * the reader at a record of a link type no split can share out). */
bool split_feed_aborted(struct split_feed *f);
void split_feed_free(struct split_feed *f);

#endif
