/* mstate_pre.h - the merge_state member of a report rendered on a thread
 * of its own while the rest of the report is written.
 *
 * After --jobs' workers on one file, the fold and the report run on one
 * thread and the other core idles; the merge state is the largest part
 * of that report (40 % of it at 170,000 connections) and depends on the
 * finished analysis alone, so it is rendered into memory beside the rest
 * and copied into the report where mstate_write_member() would have
 * written it: the same bytes.  Both threads only read the analysis. */
#ifndef SMBSCOPE_MSTATE_PRE_H
#define SMBSCOPE_MSTATE_PRE_H

#include <stdbool.h>

#include "analysis.h"
#include "json.h"

/* Start rendering a's merge state (a must not change until
 * mstate_pre_end()); false: not started (the report renders it in line). */
bool mstate_pre_start(const struct analysis *a);
/* The report's part (report_json.c): when a rendering of a was started,
 * wait for it, write it as the value of the member whose key j just
 * wrote, and return true; false: none, write it in line. */
bool mstate_pre_write(struct json *j, const struct analysis *a);
/* Wait for a rendering nobody wrote (an error before the report) and
 * free it. */
void mstate_pre_end(void);

#endif
