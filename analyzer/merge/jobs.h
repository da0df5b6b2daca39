/* jobs.h - --jobs N: several inputs analysed at once, one analysis per
 * input in N threads, folded together in memory as `smbscope merge` folds
 * reports (fold_mem.h, merge.h), then one verdict and one report; one
 * input is split across N threads by flow hash (split.h). */
#ifndef SMBSCOPE_JOBS_H
#define SMBSCOPE_JOBS_H

#include <stdbool.h>

#include "analysis.h"
#include "options.h"

#define JOBS_MAX 64

/* Peak RSS stays within one run's bound whatever N (issue 13): the
 * analyses alive at once share the caps of one run.  out: cfg with a
 * share of n of what only a flood fills (tracked connections, reassembly
 * bytes) and twice a share of the closed connections that linger for late
 * packets (a share lets them go no earlier than one run does: fewer of
 * them closed meanwhile).  What a many-connection capture fills in the
 * normal course and keeps first seen (SYN pairs, SMB hosts) is split.c's
 * (one file: twice a share; several: whole, packed before the fold). */
void jobs_share_caps(struct config *out, const struct config *cfg, unsigned n);
uint64_t jobs_share(uint64_t whole, unsigned n); /* whole / n, rounded up */
/* A finished analysis to be folded: its groups and SMB hosts with the
 * edge connections added (analysis_fold_edges(), a report's) freed; the
 * fold takes the tables without them and merge_finish() adds the edges
 * once joined. */
void jobs_drop_edge_tables(struct analysis *a);

/* --jobs > 1 and more than one capture file, or one that split.h splits. */
bool jobs_applies(const struct config *cfg);
/* The option that needs one ordered analysis (refused with --jobs), or NULL. */
const char *jobs_conflict(const struct config *cfg);
/* The run; the exit status, or -1 when one input cannot be split after
 * all (it cannot be opened, or its link type is not one smbscope reads):
 * the caller runs one analysis, which says why. */
int jobs_main(const struct config *cfg);

#endif
