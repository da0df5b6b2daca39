/* run.h - the command's run around the analysis: interfaces opened before
 * privileges are dropped, files or interfaces read until their end, a stop
 * condition or a signal, reports per interval and at the end in the chosen
 * format.  main.c strings these together. */
#ifndef SMBSCOPE_RUN_H
#define SMBSCOPE_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "analysis.h"
#include "options.h"
#include "verdict.h"

struct live;
struct ndjson;

struct run {
    const struct config *cfg;
    struct live *live;        /* -i: the open interfaces */
    FILE *out;                /* the report */
    bool to_tty;
    struct ndjson *ndjson;    /* --format ndjson */
    int intervals;            /* --report-every reports written */
};

/* -D: list interfaces on standard output; the exit status. */
int run_list_interfaces(void);

/* Open the interfaces (-i) and drop privileges (-Z): before the report or
 * the -w file is opened, as tcpdump does.  false and errbuf on failure. */
bool run_prepare(struct run *r, const struct config *cfg, char *errbuf, size_t errlen);

/* Hook the ndjson writer and the -w file to a fresh analysis. */
bool run_attach(struct run *r, struct analysis *a, char *errbuf, size_t errlen);

/* Read every file, or capture until a stop condition or SIGINT/SIGTERM
 * (then the interfaces' counters go into the inputs). */
void run_inputs(struct run *r, struct analysis *a);

/* The final report in the configured format. */
void run_report(struct run *r, const struct analysis *a, const struct verdict *v);
/* Whether run_report() writes the JSON report (report_json()). */
bool run_report_json(const struct run *r);

void run_free(struct run *r);

#endif
