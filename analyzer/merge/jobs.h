/* jobs.h - --jobs N: several inputs analysed at once, one analysis per
 * input in N threads, folded together in memory as `smbscope merge` folds
 * reports (fold_mem.h, merge.h), then one verdict and one report; one
 * input is split across N threads by flow hash (split.h). */
#ifndef SMBSCOPE_JOBS_H
#define SMBSCOPE_JOBS_H

#include <stdbool.h>

#include "options.h"

#define JOBS_MAX 64

/* --jobs > 1 and more than one capture file, or one that split.h splits. */
bool jobs_applies(const struct config *cfg);
/* The option that needs one ordered analysis (refused with --jobs), or NULL. */
const char *jobs_conflict(const struct config *cfg);
/* The run; the exit status, or -1 when one input cannot be split after
 * all (it cannot be opened, or its link type is not one smbscope reads):
 * the caller runs one analysis, which says why. */
int jobs_main(const struct config *cfg);

#endif
