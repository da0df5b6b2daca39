/* jobs.h - --jobs N: the inputs analysed at once, one analysis per input in
 * N threads, their merge states folded together in-process as `smbscope
 * merge` folds reports (merge.h), then one verdict and one report. */
#ifndef SMBSCOPE_JOBS_H
#define SMBSCOPE_JOBS_H

#include <stdbool.h>

#include "options.h"

#define JOBS_MAX 64

/* --jobs > 1 and more than one capture file. */
bool jobs_applies(const struct config *cfg);
/* The option that needs one ordered analysis (refused with --jobs), or NULL. */
const char *jobs_conflict(const struct config *cfg);
/* The run; the exit status. */
int jobs_main(const struct config *cfg);

#endif
