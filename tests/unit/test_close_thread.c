/* Closed connections folded on a thread of their own (close_pipe.h).
 *
 * The pipe: every item pushed is folded once, in push order, with the
 * next one as the hint when it was already pushed; a producer faster than
 * the fold waits on a full ring instead of overwriting it; a drain returns
 * with everything folded and visible; a slot taken and not pushed is the
 * next one's again.
 *
 * The run: every sample's JSON report (with its merge state; default
 * detail, --connections all, and a groups cap of 1 so that connections
 * fold past it into groups_past) from a run whose closes went through the
 * thread is byte for byte the one folded in place
 * (SMBSCOPE_CLOSE_THREAD=0), and the thread did run for it. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis.h"
#include "close_pipe.h"
#include "options.h"
#include "report.h"
#include "verdict.h"

struct seen {
    GArray *ids;   /* flow_id of each item folded */
    GArray *nexts; /* flow_id of its hint, or UINT64_MAX */
    unsigned slow; /* sleep every this many items (0: never) */
};

static void record(void *ctx, const struct close_item *it, const struct close_item *next)
{
    struct seen *s = ctx;
    uint64_t hint = next ? next->cs.flow_id : UINT64_MAX;
    g_array_append_val(s->ids, it->cs.flow_id);
    g_array_append_val(s->nexts, hint);
    if (s->slow && s->ids->len % s->slow == 0) {
        struct timespec t = { 0, 200000 };
        nanosleep(&t, NULL);
    }
}

static void test_pipe(void)
{
    enum { N = 20000, DRAIN_AT = 7000 };
    struct seen s = { g_array_new(FALSE, FALSE, sizeof(uint64_t)), g_array_new(FALSE, FALSE, sizeof(uint64_t)), 97 };
    unsigned before = close_pipe_threads();
    struct close_pipe *p = close_pipe_start(record, &s);
    g_assert_nonnull(p);
    g_assert_cmpuint(close_pipe_threads(), ==, before + 1);
    uint64_t pushed = 0;
    for (uint64_t i = 0; i < N; i++) {
        struct close_item *it = close_pipe_slot(p);
        memset(it, 0, sizeof *it);
        it->cs.flow_id = i;
        if (i % 5 == 3) /* taken, not pushed: given again */
            continue;
        g_assert_true(close_pipe_slot(p) == it);
        close_pipe_push(p);
        pushed++;
        if (i == DRAIN_AT) {
            close_pipe_drain(p);
            g_assert_cmpuint(s.ids->len, ==, pushed); /* read here without a race: TSan says */
        }
    }
    close_pipe_stop(p);
    g_assert_cmpuint(s.ids->len, ==, pushed);
    uint64_t want = 0;
    for (guint k = 0; k < s.ids->len; k++, want++) {
        if (want % 5 == 3)
            want++;
        g_assert_cmpuint(g_array_index(s.ids, uint64_t, k), ==, want);
        uint64_t next = g_array_index(s.nexts, uint64_t, k);
        if (next != UINT64_MAX) /* a hint is the item after it */
            g_assert_cmpuint(next, ==, k + 1 < s.ids->len ? g_array_index(s.ids, uint64_t, k + 1) : UINT64_MAX - 1);
    }
    g_array_free(s.ids, TRUE);
    g_array_free(s.nexts, TRUE);
}

/* The JSON report of one capture, as `smbscope -T json [extra] -r path`;
 * threaded: through the close thread. */
static char *report_of(const char *path, const char *extra, bool threaded, size_t *len)
{
    char *p = g_strdup(path), *x = g_strdup(extra);
    char *args[] = { "smbscope", "-T", "json", "-r", p, x, NULL };
    int argc = extra ? 6 : 5;
    char **argv = args;
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[256];
    g_assert_true(config_parse(&cfg, &argc, &argv, err, sizeof err));
    struct analysis a;
    memset(&a, 0, sizeof a);
    g_assert_true(analysis_init(&a, &cfg, err, sizeof err));
    if (!threaded)
        g_setenv("SMBSCOPE_CLOSE_THREAD", "0", TRUE);
    unsigned before = close_pipe_threads();
    analysis_close_thread(&a);
    g_assert_cmpuint(close_pipe_threads(), ==, before + threaded);
    g_unsetenv("SMBSCOPE_CLOSE_THREAD");
    analysis_run_input(&a, path);
    analysis_finish(&a);
    g_assert_null(a.pipe); /* ended: the tables are this thread's */
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
    char *serial = report_of(path, extra, false, &n0);
    char *threaded = report_of(path, extra, true, &n1);
    g_assert_nonnull(strstr(serial, "\"merge_state\": {\"format\":"));
    if (n0 != n1 || memcmp(serial, threaded, n0) != 0)
        g_error("%s %s: the report of the close thread's run differs (%zu and %zu bytes)", path, extra ? extra : "",
                n0, n1);
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
        compare(path, "--max-connection-groups=1");
        g_free(path);
        n++;
    }
    g_dir_close(d);
    g_assert_cmpint(n, >=, 40);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/close_thread/pipe", test_pipe);
    g_test_add_func("/close_thread/samples", test_samples);
    return g_test_run();
}
