/* merge.h - `smbscope merge REPORT.json...`: the JSON reports of several
 * runs (captures, sensors, time slices) combined into one report and one
 * verdict, as if their captures had been read together.  Each report's
 * merge_state (mstate.h) is verified and folded into one analysis; the
 * verdict and the report then come from the code a normal run uses. */
#ifndef SMBSCOPE_MERGE_H
#define SMBSCOPE_MERGE_H

#include <stdbool.h>

#include "options.h"

/* Largest report merge reads (a report of the largest capture the caps
 * allow stays far below). */
#define MERGE_MAX_REPORT_BYTES (512u << 20)
/* Nesting a report never exceeds (checked before parsing). */
#define MERGE_MAX_DEPTH 64
/* Members of one object a report never exceeds (checked before parsing;
 * smbscope writes at most a few dozen): json-glib's cost is quadratic in
 * the members of an object whose names share a hash (merge.c). */
#define MERGE_MAX_MEMBERS 1024

/* Whether JSON text passes the two checks above before json-glib parses
 * it (err: where it does not): a report's text, a packed leaf's. */
bool merge_json_checked(const char *p, size_t n, char *err, size_t errlen);

/* argv[1] is "merge" (a capture named merge is ./merge or -r merge). */
bool merge_is_command(int argc, char **argv);
/* The command after config_parse(): the exit status. */
int merge_main(const struct config *cfg);

struct analysis;
/* After every state was folded in (mstate_fold): parts of connections
 * joined, edges folded, detail cut to --connections, rows in canonical
 * order.  Then merge_report(): the verdict and the report as a run writes
 * them; the exit status.  (Shared with --jobs, analyzer/merge/jobs.c.) */
void merge_finish(struct analysis *a);
int merge_report(const struct config *cfg, const struct analysis *a);

#endif
