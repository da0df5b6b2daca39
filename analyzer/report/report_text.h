/* report_text.h - parts of the text report, one file per job. */
#ifndef SMBSCOPE_REPORT_TEXT_H
#define SMBSCOPE_REPORT_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "hostview.h"
#include "report.h"

struct text {
    FILE *out;
    bool color;
};

void text_heading(struct text *t, const char *title);
/* report_text_verdict.c */
void text_verdict(struct text *t, const struct analysis *a, const struct verdict *v, const struct host_views *hv);
void text_evidence(struct text *t, const struct analysis *a);
void text_hosts(struct text *t, const struct host_views *hv);
/* report_text_groups.c: from the connection groups (every connection) */
void text_groups(struct text *t, const struct analysis *a);
void text_per_client(struct text *t, const struct analysis *a);
void text_dialect_histogram(struct text *t, const struct analysis *a);

#endif
