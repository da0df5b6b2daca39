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
    if (out != stdout)
        fclose(out);
    verdict_free(&v);
    analysis_free(&a);
    config_free(&cfg);
    return status;
}
