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
#include "options.h"
#include "report.h"
#include "verdict.h"

#ifndef SMBSCOPE_VERSION
#define SMBSCOPE_VERSION "unknown"
#endif

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
    char err[512];
    if (!config_parse(&cfg, &argc, &argv, err, sizeof err)) {
        fprintf(stderr, "smbscope: %s\nTry 'smbscope --help' for more information.\n", err);
        return 2;
    }
    if (cfg.show_version) {
        printf("smbscope %s\n%s\nzlib %s\n", SMBSCOPE_VERSION, pcap_lib_version(), zlibVersion());
        config_free(&cfg);
        return 0;
    }
    if (cfg.n_inputs == 0) {
        fprintf(stderr, "smbscope: no capture given (use - for standard input)\nTry 'smbscope --help' for more information.\n");
        config_free(&cfg);
        return 2;
    }

    FILE *out = stdout;
    if (cfg.output) {
        out = fopen(cfg.output, "w");
        if (!out) {
            fprintf(stderr, "smbscope: %s: %s\n", cfg.output, strerror(errno));
            config_free(&cfg);
            return 2;
        }
    }

    struct analysis a;
    if (!analysis_init(&a, &cfg, err, sizeof err)) {
        fprintf(stderr, "smbscope: %s\n", err);
        analysis_free(&a);
        if (out != stdout)
            fclose(out);
        config_free(&cfg);
        return 2;
    }
    for (int i = 0; i < cfg.n_inputs; i++)
        analysis_run_input(&a, cfg.inputs[i]);
    analysis_finish(&a);

    struct verdict v;
    verdict_compute(&v, &a, &cfg.policy);
    bool to_tty = out == stdout && isatty(STDOUT_FILENO);
    /* Text unless asked otherwise, like tcpdump and tshark; colour only on a terminal. */
    if (cfg.format == FORMAT_JSON)
        report_json(out, &a, &v);
    else
        report_text(out, &a, &v, to_tty);

    int status = v.exit_code;
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "smbscope: %s: write error\n", cfg.output ? cfg.output : "standard output");
        status = 2;
    }
#ifdef SMBSCOPE_SELFTEST_BREAK
    if (selftest_break(a.packets) == -1)
        status = 2;
#endif
    if (out != stdout)
        fclose(out);
    verdict_free(&v);
    analysis_free(&a);
    config_free(&cfg);
    return status;
}
