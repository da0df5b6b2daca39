/* mstate_pre.c - see mstate_pre.h.  One rendering at a time (one report
 * per run), started and taken on the main thread.
 *
 * The rendering thread writes through a stdio cookie into chunks of
 * CHUNK bytes, at most MAX_AHEAD bytes of them waiting: the state of a
 * gigabyte capture is megabytes, and held whole beside the report it
 * took peak RSS up by 4 MiB (1 GiB with 10 % QUIC, --jobs 4: 59 -> 63
 * MiB); bounded, the rendering goes ahead by up to MAX_AHEAD (the whole
 * state of 170,000 connections, 0.76 MB) and the rest is rendered as the
 * report copies it. */
#include "mstate_pre.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mstate.h"

#define CHUNK (64u * 1024u)
#define MAX_AHEAD (1024u * 1024u)

struct chunk {
    struct chunk *next;
    size_t len;
    char bytes[CHUNK];
};

static struct pre {
    const struct analysis *a;
    pthread_t th;
    bool running;     /* th not yet joined */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct chunk *head, *tail; /* written, not yet taken (tail: being filled) */
    size_t waiting;   /* bytes in the list */
    bool done;        /* the rendering wrote its last byte */
    bool failed;      /* it could not start writing (nothing was written) */
    bool abandoned;   /* nobody will take the bytes: drop them */
} pre = { .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static ssize_t put(void *cookie, const char *buf, size_t n)
{
    struct pre *p = cookie;
    size_t left = n;
    pthread_mutex_lock(&p->mu);
    while (left && !p->abandoned) {
        while (p->waiting >= MAX_AHEAD && !p->abandoned)
            pthread_cond_wait(&p->cond, &p->mu);
        if (p->abandoned)
            break;
        struct chunk *c = p->tail;
        if (!c || c->len == CHUNK) {
            c = malloc(sizeof *c);
            if (!c)
                break;
            c->next = NULL;
            c->len = 0;
            if (p->tail)
                p->tail->next = c;
            else
                p->head = c;
            p->tail = c;
        }
        size_t take = CHUNK - c->len < left ? CHUNK - c->len : left;
        memcpy(c->bytes + c->len, buf, take);
        c->len += take;
        p->waiting += take;
        buf += take;
        left -= take;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->mu);
    return left ? -1 : (ssize_t)n;
}

static void *render(void *arg)
{
    struct pre *p = arg;
    cookie_io_functions_t io = { .write = put };
    FILE *m = fopencookie(p, "w", io);
    if (m) {
        setvbuf(m, NULL, _IOFBF, CHUNK);
        struct json w;
        json_init(&w, m, false);
        mstate_write_member(&w, p->a); /* the member's value, alone in m */
        json_flush(&w);
        fclose(m);
    }
    pthread_mutex_lock(&p->mu);
    p->failed = !m;
    p->done = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void drop_chunks(struct pre *p)
{
    while (p->head) {
        struct chunk *c = p->head;
        p->head = c->next;
        free(c);
    }
    p->tail = NULL;
    p->waiting = 0;
}

bool mstate_pre_start(const struct analysis *a)
{
    if (pre.running)
        return false;
    pre.a = a;
    pre.done = pre.failed = pre.abandoned = false;
    pre.running = pthread_create(&pre.th, NULL, render, &pre) == 0;
    return pre.running;
}

static void join(void)
{
    if (pre.running)
        pthread_join(pre.th, NULL);
    pre.running = false;
    drop_chunks(&pre);
    pre.a = NULL;
}

/* The next full chunk (or the last one), NULL at the end (mu held). */
static struct chunk *take(struct pre *p)
{
    for (;;) {
        struct chunk *c = p->head;
        if (c && (c != p->tail || c->len == CHUNK || p->done)) {
            p->head = c->next;
            if (!p->head)
                p->tail = NULL;
            p->waiting -= c->len;
            pthread_cond_broadcast(&p->cond);
            return c;
        }
        if (!c && p->done)
            return NULL;
        pthread_cond_wait(&p->cond, &p->mu);
    }
}

bool mstate_pre_write(struct json *j, const struct analysis *a)
{
    if (!pre.running || pre.a != a)
        return false;
    pthread_mutex_lock(&pre.mu);
    while (!pre.done && !pre.head)
        pthread_cond_wait(&pre.cond, &pre.mu);
    bool failed = pre.failed;
    pthread_mutex_unlock(&pre.mu);
    if (failed) {
        join();
        return false; /* nothing written: in line after all */
    }
    /* as mstate_write_member() writes: the key out, the value straight to
     * the stream, then marked written */
    json_flush(j);
    pthread_mutex_lock(&pre.mu);
    struct chunk *c;
    while ((c = take(&pre))) {
        pthread_mutex_unlock(&pre.mu);
        fwrite(c->bytes, 1, c->len, j->out);
        free(c);
        pthread_mutex_lock(&pre.mu);
    }
    pthread_mutex_unlock(&pre.mu);
    json_raw(j, "", 0);
    join();
    return true;
}

void mstate_pre_end(void)
{
    pthread_mutex_lock(&pre.mu);
    pre.abandoned = true;
    pthread_cond_broadcast(&pre.cond);
    pthread_mutex_unlock(&pre.mu);
    join();
}
