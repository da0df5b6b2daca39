/* split.h - --jobs N over one capture file: the main thread reads its
 * records and hands each, by flow hash (split_route.h), to one of N
 * worker threads, each a whole analysis of its share; bounded queues of
 * batches (SPLIT_QUEUE_BATCHES per worker) keep memory bounded whatever
 * the file's size.  At the end the workers' analyses are folded in memory
 * (fold_mem.h) and reported as `smbscope merge` reports: one verdict, the
 * answer of one analysis of the file.
 *
 * Each worker has the caps of a whole run (--max-connections, the
 * reassembly totals, --max-netbios-flows, the lingering closed
 * connections): a cap a run would not hit is not hit in a worker either,
 * so the answer is the same; what hits a cap is counted in each worker
 * and added.  The connections kept for detail are the first to close, in
 * the order of the packets that closed them, as one run keeps them. */
#ifndef SMBSCOPE_SPLIT_H
#define SMBSCOPE_SPLIT_H

#include <stdbool.h>

#include "options.h"

#define SPLIT_QUEUE_BATCHES 4
#define SPLIT_BATCH_RECORDS 256
#define SPLIT_BATCH_BYTES (256u << 10)

/* --jobs > 1, one capture file (not standard input), nothing that needs
 * one ordered analysis (jobs_conflict()) and no capture filter. */
bool split_applies(const struct config *cfg);
/* The run; the exit status. */
int split_main(const struct config *cfg);

#endif
