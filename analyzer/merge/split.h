/* split.h - --jobs N over one capture file: N threads (the main thread
 * one of them) walk the file's records, read, parsed and routed by flow
 * hash once for them all (split_feed.h: by a reader thread of its own),
 * and analyse the records that fall to them
 * (split_route.h), a whole analysis of their share.  A record of another
 * thread that decodes as TCP steps this thread's flow table clock
 * (flow_table_tick()), so idle expiry and time jumps are one
 * run's.  At the end the workers' analyses are folded in memory
 * (fold_mem.h) and reported as `smbscope merge` reports: one verdict, the
 * answer of one analysis of the file.
 *
 * The threads share the caps of one run (jobs_share_caps(): what only a
 * flood fills divided, the first-seen tables a many-connection capture
 * fills twice a thread's share): peak RSS stays within one run's bound,
 * and a cap one run does not hit is not hit in a thread either unless the
 * flow hash gives one thread more than its share of a flood.  What hits a
 * cap is counted in each thread and added.  At most SPLIT_MAX_THREADS
 * threads: each costs about a megabyte more than its share (its slots of
 * the feed, its malloc arena): 8 peaked at 60.7 MiB on a gigabyte of bulk
 * SMB with QUIC, 12 at 71.8 MiB on 170,000 connections, 4 at 52-57 MiB on
 * both; stats.jobs says when fewer ran than asked.  The
 * connections kept for detail are the first to close, in the order of the
 * packets that closed them, as one run keeps them. */
#ifndef SMBSCOPE_SPLIT_H
#define SMBSCOPE_SPLIT_H

#include <stdbool.h>

#include "options.h"

#define SPLIT_MAX_THREADS 4u

/* --jobs > 1, one capture file (not standard input), nothing that needs
 * one ordered analysis (jobs_conflict()) and no capture filter.  A
 * compressed file is analysed once all the same (split_main() -1). */
bool split_applies(const struct config *cfg);
/* The run; the exit status, or -1: one analysis instead (a compressed
 * file, or one that cannot be read: that analysis says why). */
int split_main(const struct config *cfg);

#endif
