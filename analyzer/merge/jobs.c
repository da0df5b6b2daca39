/* jobs.c - see jobs.h.  Each worker takes the next input, runs a whole
 * analysis over it and keeps only its merge state (mstate.h); the main
 * thread folds the states in input order.  What the analyses share is
 * locked (ctx_pool.c) or set up before the threads start (libgcrypt). */
#include "jobs.h"

#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "merge.h"
#include "mstate.h"
#include "mstate_conns.h"
#include "quic_crypto.h"
#include "session.h"

struct job {
    const char *path;
    JsonNode *state;
    GPtrArray *conns; /* struct smb_conn*: the connections its analysis kept, moved out of it */
    char err[512];  /* set when the analysis could not be set up */
};

struct jobs {
    const struct config *cfg;
    struct job *job;
    gint n, next;
};

bool jobs_applies(const struct config *cfg) { return cfg->jobs > 1 && cfg->n_inputs > 1 && !cfg->n_interfaces; }

/* What needs one analysis to see every packet in order, or writes as it goes. */
static const char *conflict(const struct config *cfg)
{
    return cfg->format == FORMAT_NDJSON ? "-T ndjson"
           : cfg->write_file            ? "-w"
           : cfg->write_streams_dir     ? "--write-streams"
           : cfg->max_packets           ? "-c"
           : cfg->stop_after_us || cfg->stop_filesize ? "-a"
           : cfg->report_every_us       ? "--report-every"
                                        : NULL;
}

static void run_one(const struct config *cfg, struct job *j)
{
    struct analysis a;
    memset(&a, 0, sizeof a);
    if (!analysis_init(&a, cfg, j->err, sizeof j->err)) {
        if (!j->err[0])
            snprintf(j->err, sizeof j->err, "the analysis could not be set up");
        if (a.inputs)
            analysis_free(&a);
        return;
    }
    a.progress = false; /* several at once would overwrite each other's line */
    analysis_run_input(&a, j->path);
    analysis_finish(&a);
    j->state = mstate_build(&a);
    /* The kept connections themselves go to the final analysis: the text
     * report's table and detail need them, not their JSON. */
    j->conns = g_ptr_array_new_with_free_func((GDestroyNotify)smb_conn_free);
    for (guint i = 0; i < a.conns->len; i++)
        g_ptr_array_add(j->conns, g_ptr_array_index(a.conns, i));
    g_ptr_array_set_free_func(a.conns, NULL);
    g_ptr_array_set_size(a.conns, 0);
    analysis_free(&a);
}

static gpointer worker(gpointer data)
{
    struct jobs *js = data;
    for (;;) {
        gint i = g_atomic_int_add(&js->next, 1);
        if (i >= js->n)
            return NULL;
        run_one(js->cfg, &js->job[i]);
    }
}

/* Fold every state into a; false (message printed) on the first failure. */
static bool fold_all(struct analysis *a, struct jobs *js)
{
    char err[1024];
    for (gint i = 0; i < js->n; i++) {
        struct job *j = &js->job[i];
        if (j->err[0] || !j->state) {
            fprintf(stderr, "smbscope: %s\n", j->err[0] ? j->err : "an analysis failed");
            return false;
        }
        if (!mstate_fold(a, j->state, NULL, err, sizeof err)) {
            fprintf(stderr, "smbscope: --jobs: %s: %s\n", j->path, err); /* a bug: the state is our own */
            return false;
        }
        for (guint k = 0; k < j->conns->len; k++)
            g_ptr_array_add(a->conns, g_ptr_array_index(j->conns, k));
        g_ptr_array_set_free_func(j->conns, NULL); /* a owns them now */
        g_ptr_array_set_size(j->conns, 0);
    }
    return true;
}

/* As many kept connections as --connections keeps, first seen first (a
 * run keeps the first to close: the same ones unless more than the limit
 * were kept in all); the rest are counted as omitted. */
static gint first_seen_order(gconstpointer pa, gconstpointer pb)
{
    const struct smb_conn *a = *(const struct smb_conn *const *)pa, *b = *(const struct smb_conn *const *)pb;
    return (a->first_ts > b->first_ts) - (a->first_ts < b->first_ts);
}

static void keep_limit(struct analysis *a)
{
    if (a->cfg->conn_detail == CONN_DETAIL_ALL || a->conns->len <= a->conn_detail_limit)
        return;
    g_ptr_array_sort(a->conns, first_seen_order);
    a->conns_omitted += a->conns->len - a->conn_detail_limit;
    g_ptr_array_set_size(a->conns, (guint)a->conn_detail_limit);
}

int jobs_main(const struct config *cfg)
{
    const char *c = conflict(cfg);
    if (c) {
        fprintf(stderr, "smbscope: --jobs %d cannot be used with %s (one analysis must see every packet in order)\n"
                        "Try 'smbscope --help' for more information.\n", cfg->jobs, c);
        return 2;
    }
    if (!quic_crypto_init()) { /* once, before the threads: libgcrypt's own set-up is not thread-safe */
        fprintf(stderr, "smbscope: libgcrypt could not be initialised (QUIC)\n");
        return 2;
    }
    struct jobs js = { cfg, g_new0(struct job, (gsize)cfg->n_inputs), cfg->n_inputs, 0 };
    for (gint i = 0; i < js.n; i++)
        js.job[i].path = cfg->inputs[i];
    int nthreads = cfg->jobs < cfg->n_inputs ? cfg->jobs : cfg->n_inputs;
    GThread *th[JOBS_MAX];
    for (int t = 0; t < nthreads; t++)
        th[t] = g_thread_new("smbscope-job", worker, &js);
    for (int t = 0; t < nthreads; t++)
        g_thread_join(th[t]);

    int status = 2;
    struct analysis a;
    memset(&a, 0, sizeof a);
    char err[512];
    if (!analysis_init(&a, cfg, err, sizeof err)) {
        fprintf(stderr, "smbscope: %s\n", err);
    } else if (fold_all(&a, &js)) {
        merge_finish(&a);
        keep_limit(&a);
        status = merge_report(cfg, &a);
    }
    if (a.inputs)
        analysis_free(&a);
    for (gint i = 0; i < js.n; i++) {
        if (js.job[i].state)
            json_node_unref(js.job[i].state);
        if (js.job[i].conns) /* not folded (an error before): still ours */
            g_ptr_array_free(js.job[i].conns, TRUE);
    }
    g_free(js.job);
    return status;
}
