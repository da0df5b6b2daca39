/* The merge state rendered on a thread of its own while the report is
 * written (mstate_write_async.c) must give the report byte for byte as the
 * state written in place gives it (SMBSCOPE_STATE_THREAD=0): every sample,
 * with the default detail and with --connections all, the state's digest
 * included.  The thread must have run for the reports compared (a renderer
 * that silently fell back to the serial path would compare it with itself),
 * and must not run when told not to. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "mstate.h"
#include "options.h"
#include "report.h"
#include "verdict.h"

/* The JSON report of one capture, as `smbscope -T json [extra] -r path`. */
static char *report_of(const char *path, const char *extra, size_t *len)
{
    char *p = g_strdup(path), *x = g_strdup(extra);
    char *args[] = { "smbscope", "-T", "json", "-r", p, x, NULL };
    int argc = extra ? 6 : 5;
    char **argv = args;
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[256];
    g_assert_true(config_parse(&cfg, &argc, &argv, err, sizeof err));
    g_assert_true(cfg.merge_state);
    struct analysis a;
    memset(&a, 0, sizeof a);
    g_assert_true(analysis_init(&a, &cfg, err, sizeof err));
    analysis_run_input(&a, path);
    analysis_finish(&a);
    struct verdict v;
    verdict_compute(&v, &a, &cfg.policy);
    char *text = NULL;
    FILE *m = open_memstream(&text, len);
    g_assert_nonnull(m);
    report_json(m, &a, &v);
    g_assert_cmpint(fclose(m), ==, 0);
    verdict_free(&v);
    analysis_free(&a);
    config_free(&cfg);
    g_free(p);
    g_free(x);
    return text;
}

static void compare(const char *path, const char *extra)
{
    size_t n0 = 0, n1 = 0;
    g_setenv("SMBSCOPE_STATE_THREAD", "0", TRUE);
    unsigned before = mstate_render_threads();
    char *serial = report_of(path, extra, &n0);
    g_assert_cmpuint(mstate_render_threads(), ==, before);
    g_unsetenv("SMBSCOPE_STATE_THREAD");
    char *threaded = report_of(path, extra, &n1);
    g_assert_cmpuint(mstate_render_threads(), ==, before + 1);
    g_assert_nonnull(strstr(serial, "\"merge_state\": {\"format\":"));
    if (n0 != n1 || memcmp(serial, threaded, n0) != 0)
        g_error("%s %s: the threaded state's report differs (%zu and %zu bytes)", path, extra ? extra : "", n0, n1);
    free(serial);
    free(threaded);
}

static void test_samples(void)
{
    const char *dir = g_getenv("SMBSCOPE_SAMPLES");
    g_assert_nonnull(dir);
    GDir *d = g_dir_open(dir, 0, NULL);
    g_assert_nonnull(d);
    const char *name;
    int n = 0;
    while ((name = g_dir_read_name(d))) {
        if (!g_str_has_suffix(name, ".pcap") && !g_str_has_suffix(name, ".pcapng"))
            continue;
        char *path = g_build_filename(dir, name, NULL);
        compare(path, NULL);
        compare(path, "--connections=all");
        g_free(path);
        n++;
    }
    g_dir_close(d);
    g_assert_cmpint(n, >=, 40);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/state_thread/samples", test_samples);
    return g_test_run();
}
