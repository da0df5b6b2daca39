/* mstate_write_async.c - the merge state rendered on the second core while
 * the report is written (mstate.h).
 *
 * After the last packet a run is serial: the report, then the state, on one
 * thread, while the reader thread's core has nothing left to do.  The state
 * reads the finished analysis and nothing the report writes, so it is
 * rendered into memory on a thread of its own from the report's start and
 * written out where the report reaches its member: the same bytes in the
 * same place.  Both threads only read the analysis.  Not threaded (rendered
 * in place, as before): a merged analysis's detail connections are
 * json-glib nodes both would walk (their reference counts are not ours to
 * share), a thread that cannot be started, a state that did not fit in
 * memory (rendered again onto the stream, where a failure is the stream's),
 * and SMBSCOPE_STATE_THREAD=0 (for comparisons). */
#include "mstate.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mstate_render {
    const struct analysis *a;
    pthread_t thread;
    bool threaded; /* a thread renders into text */
    bool ok;       /* text holds the whole member value */
    char *text;
    size_t len;
};

static unsigned threads_started;

unsigned mstate_render_threads(void) { return __atomic_load_n(&threads_started, __ATOMIC_RELAXED); }

static void *render(void *p)
{
    struct mstate_render *r = p;
    FILE *m = open_memstream(&r->text, &r->len);
    if (!m)
        return NULL;
    bool ok = mstate_write_state(m, r->a);
    /* a full memory stream fails its writes: the text is then not used */
    ok = !ferror(m) && ok;
    if (fclose(m) != 0)
        ok = false;
    r->ok = ok;
    return NULL;
}

static bool thread_wanted(const struct analysis *a)
{
    const char *e = getenv("SMBSCOPE_STATE_THREAD");
    if (e && strcmp(e, "0") == 0)
        return false;
    return !a->conn_detail_json;
}

struct mstate_render *mstate_render_start(const struct analysis *a)
{
    struct mstate_render *r = g_new0(struct mstate_render, 1);
    r->a = a;
    if (thread_wanted(a) && pthread_create(&r->thread, NULL, render, r) == 0) {
        r->threaded = true;
        __atomic_add_fetch(&threads_started, 1, __ATOMIC_RELAXED);
    }
    return r;
}

void mstate_render_put(struct mstate_render *r, struct json *j)
{
    if (r->threaded)
        pthread_join(r->thread, NULL);
    if (r->ok) {
        json_flush(j); /* the key before us is out */
        fwrite(r->text, 1, r->len, j->out); /* a failure is the stream's: reported at its end */
        json_raw(j, "", 0); /* the member's value is out */
    } else {
        mstate_write_member(j, r->a);
    }
    free(r->text);
    g_free(r);
}
