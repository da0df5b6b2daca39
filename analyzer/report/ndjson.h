/* ndjson.h - events as they happen, one JSON object per line, with Elastic
 * Common Schema names as flat dotted keys ("source.ip", "event.kind") and
 * smbscope's own under "smb.*", "netbios.*" and "smbscope.*".
 *
 * The key list in README.md ("ndjson events") is a contract for the
 * databases that load these lines: a key keeps its type (string, number,
 * boolean, array of strings), an unknown value is left out, never null. */
#ifndef SMBSCOPE_NDJSON_H
#define SMBSCOPE_NDJSON_H

#include <stdbool.h>
#include <stdio.h>

#include "analysis.h"
#include "verdict.h"

struct ndjson;

/* flush_each: fflush after every line (live capture: a reader sees each
 * event when it happens). */
struct ndjson *ndjson_new(FILE *out, const char *observer_name, bool flush_each);
void ndjson_free(struct ndjson *n);

/* Point the analysis' event hooks at this writer: smb-connection,
 * smb-connection-end (with its findings), netbios-flow. */
void ndjson_attach(struct ndjson *n, struct analysis_events *ev);

/* End of a run or of a --report-every interval: netbios-flow-end for every
 * NetBIOS flow, one line per violation, then the summary.  scope is "run"
 * or "interval"; for an interval, run_v is the verdict of the run so far
 * (NULL otherwise). */
void ndjson_report(struct ndjson *n, const struct analysis *a, const struct verdict *v, const char *scope,
                   const struct verdict *run_v);

/* Write errors so far. */
bool ndjson_failed(const struct ndjson *n);

#endif
