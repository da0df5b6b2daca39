/* main.c - smbscope: prove from the wire how SMB is carried.
 * Exit status: 0 pass, 1 fail, 2 usage error or no readable input, 3
 * inconclusive (see verdict.h: precedence 2 > 1 > 3 > 0). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <pcap/pcap.h>
#include <zlib.h>

#include "analysis.h"
#include "capture.h"
#include "census.h"
#include "fold_mem.h"
#include "jobs.h"
#include "mem_trim.h"
#include "merge.h"
#include "mstate.h"
#include "options.h"
#include "report.h"
#include "run.h"
#include "verdict.h"

#ifndef SMBSCOPE_VERSION
#define SMBSCOPE_VERSION "unknown"
#endif

/* Before any input: --version, -D, and a command line with nothing to
 * read.  Returns -1 to go on, otherwise the exit status. */
static int early_exit(const struct config *cfg)
{
    if (cfg->show_version) {
        printf("smbscope %s\n%s\nzlib %s\n", SMBSCOPE_VERSION, pcap_lib_version(), zlibVersion());
        return 0;
    }
    if (cfg->list_interfaces)
        return run_list_interfaces();
    if (cfg->n_inputs == 0 && cfg->n_interfaces == 0) {
        fprintf(stderr, "smbscope: no capture given (a file, - for standard input, or -i IFACE)\n"
                        "Try 'smbscope --help' for more information.\n");
        return 2;
    }
    return -1;
}

#ifdef SMBSCOPE_SELFTEST_BREAK
#include <limits.h>
#include <stdlib.h>
/* Test-only (tests/meson.build builds smbscope-break-ub and -oob in sanitized
 * builds): a deliberate bug after the report is written and flushed, on every input, so
 * tests/run.sh's runner self-test can prove that a sanitizer report fails a
 * test even when the output looks right.  1: signed overflow, 2: heap
 * out-of-bounds read.  Never defined in a real build. */
static int selftest_break(uint64_t packets)
{
    volatile int big = INT_MAX;
#if SMBSCOPE_SELFTEST_BREAK == 1
    return big + (int)(packets > 0) + 1;
#else
    size_t n = (size_t)(packets % 8) + 1;
    unsigned char *buf = calloc(n, 1);
    volatile size_t at = n;
    int v = buf ? buf[at] : 0;
    free(buf);
    return v - (big == 0);
#endif
}
#endif

int main(int argc, char **argv)
{
    struct config cfg;
    char err[1024];
    /* smbscope merge REPORT.json...: the same options, reports for captures. */
    bool merge = merge_is_command(argc, argv);
    if (merge) {
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    if (!config_parse(&cfg, &argc, &argv, err, sizeof err)) {
        fprintf(stderr, "smbscope: %s\nTry 'smbscope --help' for more information.\n", err);
        return 2;
    }
    if (merge && !cfg.show_version) {
        int status = merge_main(&cfg);
        config_free(&cfg);
        return status;
    }
    int early = early_exit(&cfg);
    if (early >= 0) {
        config_free(&cfg);
        return early;
    }
    int jobs_status = -1;
    if (jobs_applies(&cfg)) {
        /* every core runs an analysis: each reads its own bytes (a reader
         * thread per analysis measured 65 % more CPU at --jobs 2) */
        capture_set_read_thread(false);
        jobs_status = jobs_main(&cfg);
        capture_set_read_thread(true);
    }
    if (jobs_status >= 0) { /* -1: one analysis after all */
        config_free(&cfg);
        return jobs_status;
    }

    /* Large blocks mapped on their own, as under --jobs (mem_trim.h): the
     * verdict's arrays of lines, grown by doubling at the end of a run,
     * are then moved by mremap instead of copied beside their old block
     * (5 MiB of the peak on 280,000 NetBIOS connections). */
    mem_map_large();
    struct run run;
    struct analysis a;
    memset(&a, 0, sizeof a);
    if (!run_prepare(&run, &cfg, err, sizeof err) || !analysis_init(&a, &cfg, err, sizeof err) ||
        !run_attach(&run, &a, err, sizeof err)) {
        fprintf(stderr, "smbscope: %s\n", err);
        if (a.inputs)
            analysis_free(&a);
        run_free(&run);
        config_free(&cfg);
        return 2;
    }
    run_inputs(&run, &a);
    analysis_finish(&a);
    fold_mem_seal_sets(&a);
    /* The JSON report's merge state reads only the finished analysis and
     * takes longer than the rest of the report: its thread starts now, so
     * the verdict is computed meanwhile too (nothing changes the analysis
     * from here on: the verdict and the report only read it). */
    if (run_report_json(&run) && cfg.merge_state) {
        census_pair_order_build(a.census); /* both threads read it (census.h) */
        a.state_render = mstate_render_start(&a);
    }

    struct verdict v;
    verdict_compute(&v, &a, &cfg.policy);
    /* Text unless asked otherwise, like tcpdump and tshark; colour only on a terminal. */
    run_report(&run, &a, &v);
    a.state_render = NULL; /* report_json() put it */

    int status = v.exit_code;
    if (fflush(run.out) != 0 || ferror(run.out)) {
        fprintf(stderr, "smbscope: %s: write error\n", cfg.output ? cfg.output : "standard output");
        status = 2;
    }
#ifdef SMBSCOPE_SELFTEST_BREAK
    if (selftest_break(a.packets) == -1)
        status = 2;
#endif
    verdict_free(&v);
    analysis_free(&a);
    run_free(&run);
    config_free(&cfg);
    return status;
}
