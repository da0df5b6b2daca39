/* main.c - smbscope: prove from the wire how SMB is carried.
 * Exit status: 0 policy holds, 1 policy violated, 2 usage or input error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <pcap/pcap.h>
#include <zlib.h>

#include "analysis.h"
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

int main(int argc, char **argv)
{
    struct config cfg;
    char err[1024];
    if (!config_parse(&cfg, &argc, &argv, err, sizeof err)) {
        fprintf(stderr, "smbscope: %s\nTry 'smbscope --help' for more information.\n", err);
        return 2;
    }
    int early = early_exit(&cfg);
    if (early >= 0) {
        config_free(&cfg);
        return early;
    }

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

    struct verdict v;
    verdict_compute(&v, &a, &cfg.policy);
    /* Text unless asked otherwise, like tcpdump and tshark; colour only on a terminal. */
    run_report(&run, &a, &v);

    int status = v.exit_code;
    if (fflush(run.out) != 0 || ferror(run.out)) {
        fprintf(stderr, "smbscope: %s: write error\n", cfg.output ? cfg.output : "standard output");
        status = 2;
    }
    verdict_free(&v);
    analysis_free(&a);
    run_free(&run);
    config_free(&cfg);
    return status;
}
