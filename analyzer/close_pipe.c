/* close_pipe.c - closed connections folded on a thread; see close_pipe.h. */
#include "close_pipe.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

/* 1,024 records of some 250 octets: a quarter MiB, bounded whatever the
 * capture.  Handed over 64 at a time; the consumer, once asleep, is woken
 * when 256 wait (or at a drain). */
#define RING 1024u
#define BATCH 64u
#define WAKE_AT 256u

struct close_pipe {
    pthread_mutex_t mu;
    pthread_cond_t work, space, drained;
    /* under mu */
    uint64_t pub;  /* items the consumer may take */
    uint64_t done; /* items folded */
    bool consumer_waiting, producer_waiting, drain_waiting, stop;
    /* the producer's alone */
    uint64_t tail;  /* items pushed */
    uint64_t limit; /* tail may reach it without asking (done seen + RING) */
    close_fold_fn fold;
    void *ctx;
    pthread_t th;
    struct close_item *ring;
};

static unsigned threads_started;

unsigned close_pipe_threads(void) { return __atomic_load_n(&threads_started, __ATOMIC_RELAXED); }

bool close_pipe_wanted(void)
{
    const char *e = g_getenv("SMBSCOPE_CLOSE_THREAD");
    return !e || strcmp(e, "0") != 0;
}

static void *consumer(void *arg)
{
    struct close_pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->pub == p->done && !p->stop) {
            p->consumer_waiting = true;
            pthread_cond_wait(&p->work, &p->mu);
            p->consumer_waiting = false;
        }
        if (p->pub == p->done) /* stopped, all folded */
            break;
        uint64_t from = p->done, end = p->pub;
        pthread_mutex_unlock(&p->mu);
        for (uint64_t i = from; i < end; i++)
            p->fold(p->ctx, &p->ring[i % RING], i + 1 < end ? &p->ring[(i + 1) % RING] : NULL);
        pthread_mutex_lock(&p->mu);
        p->done = end;
        if (p->producer_waiting)
            pthread_cond_signal(&p->space);
        if (p->drain_waiting && p->done == p->pub)
            pthread_cond_signal(&p->drained);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void pipe_free(struct close_pipe *p)
{
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->space);
    pthread_cond_destroy(&p->drained);
    free(p->ring);
    free(p);
}

struct close_pipe *close_pipe_start(close_fold_fn fold, void *ctx)
{
    struct close_pipe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->ring = malloc(RING * sizeof *p->ring);
    if (!p->ring) {
        free(p);
        return NULL;
    }
    p->fold = fold;
    p->ctx = ctx;
    p->limit = RING;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->space, NULL);
    pthread_cond_init(&p->drained, NULL);
    /* signals stay the packet thread's (SIGINT stops the reading there) */
    sigset_t block, old;
    sigfillset(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&p->th, NULL, consumer, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pipe_free(p);
        return NULL;
    }
    __atomic_add_fetch(&threads_started, 1, __ATOMIC_RELAXED);
    return p;
}

/* Under mu: what was pushed is the consumer's (woken when enough waits, or force). */
static void publish_locked(struct close_pipe *p, bool force)
{
    p->pub = p->tail;
    p->limit = p->done + RING;
    if (p->consumer_waiting && p->pub != p->done && (force || p->pub - p->done >= WAKE_AT))
        pthread_cond_signal(&p->work);
}

struct close_item *close_pipe_slot(struct close_pipe *p)
{
    if (G_UNLIKELY(p->tail == p->limit)) {
        pthread_mutex_lock(&p->mu);
        publish_locked(p, true);
        while (p->tail - p->done >= RING) {
            p->producer_waiting = true;
            pthread_cond_wait(&p->space, &p->mu);
            p->producer_waiting = false;
        }
        p->limit = p->done + RING;
        pthread_mutex_unlock(&p->mu);
    }
    return &p->ring[p->tail % RING];
}

void close_pipe_push(struct close_pipe *p)
{
    p->tail++;
    if ((p->tail & (BATCH - 1)) == 0) {
        pthread_mutex_lock(&p->mu);
        publish_locked(p, false);
        pthread_mutex_unlock(&p->mu);
    }
}

void close_pipe_drain(struct close_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    publish_locked(p, true);
    while (p->done != p->pub) {
        p->drain_waiting = true;
        pthread_cond_wait(&p->drained, &p->mu);
        p->drain_waiting = false;
    }
    pthread_mutex_unlock(&p->mu);
}

void close_pipe_stop(struct close_pipe *p)
{
    if (!p)
        return;
    close_pipe_drain(p);
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    pipe_free(p);
}
