/* report.h - the two reports: text for people, JSON for machines.  Both
 * read the same analysis and verdict; neither decides anything. */
#ifndef SMBSCOPE_REPORT_H
#define SMBSCOPE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "analysis.h"
#include "verdict.h"

void report_json(FILE *out, const struct analysis *a, const struct verdict *v);
/* color: ANSI emphasis (only on a terminal). */
void report_text(FILE *out, const struct analysis *a, const struct verdict *v, bool color);

/* Connections in report order (first seen, then flow id): a new array of
 * borrowed pointers; free it with g_ptr_array_free(arr, TRUE). */
GPtrArray *report_sorted_conns(const struct analysis *a);

#endif
