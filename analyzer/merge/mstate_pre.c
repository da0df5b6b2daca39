/* mstate_pre.c - see mstate_pre.h.  One rendering at a time (one report
 * per run), started and taken on the main thread. */
#include "mstate_pre.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "mstate.h"

static struct pre {
    const struct analysis *a;
    pthread_t th;
    char *text;   /* open_memstream()'s */
    size_t len;
    bool running; /* th not yet joined */
} pre;

static void *render(void *arg)
{
    struct pre *p = arg;
    FILE *m = open_memstream(&p->text, &p->len);
    if (!m)
        return NULL;
    struct json w;
    json_init(&w, m, false);
    mstate_write_member(&w, p->a); /* the member's value, alone in m */
    json_flush(&w);
    fclose(m);
    return NULL;
}

bool mstate_pre_start(const struct analysis *a)
{
    if (pre.running)
        return false;
    pre.a = a;
    pre.text = NULL;
    pre.len = 0;
    pre.running = pthread_create(&pre.th, NULL, render, &pre) == 0;
    return pre.running;
}

static void join(void)
{
    if (pre.running)
        pthread_join(pre.th, NULL);
    pre.running = false;
}

bool mstate_pre_write(struct json *j, const struct analysis *a)
{
    if (!pre.running || pre.a != a)
        return false;
    join();
    bool ok = pre.text != NULL;
    if (ok)
        json_raw(j, pre.text, pre.len);
    free(pre.text);
    pre.text = NULL;
    pre.a = NULL;
    return ok;
}

void mstate_pre_end(void)
{
    join();
    free(pre.text);
    pre.text = NULL;
    pre.a = NULL;
}
