/* split_feed.c - see split_feed.h.
 *
 * A slot holds batch number seq once filled; pending counts the workers
 * that have not walked it yet, and the slot takes batch seq + nslots only
 * when pending is 0.  One reader thread fills the batches in order and
 * the workers wait for them on a condition variable.
 *
 * Before, whichever worker first wanted a batch filled it, under a token.
 * The two workers of --jobs 2 then went in step: the one that finished a
 * batch first filled the next while the other finished walking, then the
 * other waited for that fill, so a batch cost a fill plus a walk instead
 * of half of both, and each wait was a sleep and a wake-up (many170k:
 * 200 waits a thread).  The reader is a third thread on two cores: it
 * runs while a worker waits, and the workers wait only when it is behind
 * (many170k --jobs 2 under SCHED_FIFO, a quiet machine's scheduling:
 * 0.446 -> 0.420 s; on cores busy with other work every wait is still a
 * wait for the scheduler, before as now).  When it finds its slot still
 * held (it is a whole ring ahead of the slowest worker) it waits until
 * half the ring is free, not one slot, and then fills half a ring
 * without waiting again. */
#include "split_feed.h"

#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "split_route.h"

/* The route's shares of the address pairs (split_pair_worker()), each
 * given to a worker by balance(). */
#define SPLIT_SHARES 256u

/* Bytes and records of one batch: 256 KiB keeps the ring small (a batch
 * is about 2,000 records of a short-connection capture: the lock is taken
 * twice per batch and thread); the records bound covers captures of
 * short frames (64 bytes each).  A batch ends once it holds BATCH_BYTES,
 * so its last record may go past: the buffer has room for one of up to
 * BATCH_SLACK more (untouched pages cost no memory), a larger one grows
 * it. */
#define BATCH_BYTES (256u * 1024u)
#define BATCH_SLACK (64u * 1024u)
#define BATCH_ITEMS 4096u

struct slot {
    struct split_batch b;
    struct capture_record *recs;
    uint8_t *worker, *tcp;
    uint8_t *data;
    size_t data_cap;
    uint64_t seq;
    unsigned pending; /* workers yet to walk it; 0: free */
    bool filled;
};

struct split_feed {
    struct capture *cap;
    unsigned n;
    const volatile sig_atomic_t *stop;
    pthread_mutex_t mu; /* pthread's: ThreadSanitizer sees it */
    pthread_cond_t cond; /* a batch filled, or the reader done: the workers wait on it */
    pthread_cond_t room; /* slots handed back, the first batch wanted, or aborted: the reader waits on it */
    pthread_t reader;
    bool reader_started;
    bool go;             /* a worker wants the first batch (the balance is set) */
    bool reader_done;    /* the reader is out of fill() for good */
    struct slot *slots;
    unsigned nslots;
    uint64_t next_fill;  /* the batch to fill next */
    bool ended;          /* the reader is done: batches [0, end_seq) */
    uint64_t end_seq;
    int rc;
    uint64_t *want;      /* per worker: the batch it walks next */
    bool *held;          /* per worker: it walks want - 1 */
    uint64_t frames;     /* records read so far */
    uint64_t released;   /* batches [0, released) handed back by every worker (they are, in order) */
    uint64_t wake_at;    /* the reader waits until released reaches this (0: it does not wait) */
    atomic_bool aborted; /* split_feed_abort() */
    uint8_t share[SPLIT_SHARES]; /* the worker of each of the route's shares */
};

static void balance(struct split_feed *f, uint64_t unroutable, uint64_t n);
static void *reader_main(void *p);

struct split_feed *split_feed_new(struct capture *cap, unsigned n, const volatile sig_atomic_t *stop)
{
    struct split_feed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->cap = cap;
    f->n = n;
    f->stop = stop;
    f->nslots = n * SPLIT_FEED_SLOTS_PER_THREAD;
    f->slots = calloc(f->nslots, sizeof *f->slots);
    f->want = calloc(n, sizeof *f->want);
    f->held = calloc(n, sizeof *f->held);
    f->rc = 0;
    atomic_init(&f->aborted, false);
    balance(f, 0, 0);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    pthread_cond_init(&f->room, NULL);
    bool ok = f->slots && f->want && f->held;
    for (unsigned i = 0; ok && i < f->nslots; i++) {
        struct slot *s = &f->slots[i];
        s->recs = g_new(struct capture_record, BATCH_ITEMS);
        s->worker = g_new(uint8_t, BATCH_ITEMS);
        s->tcp = g_new(uint8_t, BATCH_ITEMS);
        s->data = g_malloc(BATCH_BYTES + BATCH_SLACK);
        s->data_cap = BATCH_BYTES + BATCH_SLACK;
    }
    if (ok) {
        /* the stop signals go to the workers' threads (the reader reads
         * the flag they set), as for input/pump.c's reader */
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        ok = f->reader_started = pthread_create(&f->reader, NULL, reader_main, f) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (!ok) {
        split_feed_free(f);
        return NULL;
    }
    return f;
}

void split_feed_free(struct split_feed *f)
{
    if (!f)
        return;
    if (f->reader_started) {
        split_feed_abort(f); /* done already, or never asked for a batch */
        pthread_join(f->reader, NULL);
    }
    for (unsigned i = 0; f->slots && i < f->nslots; i++) {
        g_free(f->slots[i].recs);
        g_free(f->slots[i].worker);
        g_free(f->slots[i].tcp);
        g_free(f->slots[i].data);
    }
    free(f->slots);
    free(f->want);
    free(f->held);
    pthread_cond_destroy(&f->cond);
    pthread_cond_destroy(&f->room);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int split_feed_rc(const struct split_feed *f) { return f->rc; }

void split_feed_abort(struct split_feed *f)
{
    pthread_mutex_lock(&f->mu); /* the reader wakes: the slot it waits for may never be handed back */
    atomic_store_explicit(&f->aborted, true, memory_order_relaxed);
    pthread_cond_broadcast(&f->room);
    pthread_mutex_unlock(&f->mu);
}

bool split_feed_aborted(struct split_feed *f) { return atomic_load_explicit(&f->aborted, memory_order_relaxed); }

/* Room for len more bytes at s->data + used (a record larger than what
 * is left of a batch that holds none yet: the slot's buffer grows, the n
 * records before it follow their bytes; out of memory aborts, as GLib's
 * allocations do everywhere in the analysis). */
static void room(struct slot *s, size_t used, size_t len, unsigned n)
{
    if (used + len <= s->data_cap)
        return;
    size_t cap = s->data_cap;
    while (cap < used + len)
        cap *= 2;
    uint8_t *data = g_malloc(cap);
    memcpy(data, s->data, used);
    for (unsigned i = 0; i < n; i++)
        s->recs[i].data = data + (s->recs[i].data - s->data);
    g_free(s->data);
    s->data = data;
    s->data_cap = cap;
}

/* Which worker analyses which share of the address pairs: worker 0 a
 * smaller share as unroutable of n records go to it (split_feed_balance()),
 * the others the rest evenly; share 0 is always worker 0's. */
static void balance(struct split_feed *f, uint64_t unroutable, uint64_t n)
{
    unsigned workers = f->n, first = SPLIT_SHARES / workers;
    if (n && unroutable) {
        double u = (double)unroutable / n, w0 = (1.0 / workers - u) / (1.0 - u);
        first = u >= 1.0 || w0 <= 0.0 ? 1u : (unsigned)(w0 * SPLIT_SHARES + 0.5);
        if (first < 1)
            first = 1;
        if (first > SPLIT_SHARES - (workers - 1))
            first = SPLIT_SHARES - (workers - 1);
    }
    for (unsigned i = 0; i < SPLIT_SHARES; i++)
        f->share[i] = (uint8_t)(i < first ? 0 : 1 + (i - first) * (workers - 1) / (SPLIT_SHARES - first));
}

void split_feed_balance(struct split_feed *f, uint64_t unroutable, uint64_t n) { balance(f, unroutable, n); }

/* Fill s with the next records (the caller holds the token): false at the
 * end of the input (f->rc set), the records before it in s. */
static bool fill(struct split_feed *f, struct slot *s)
{
    size_t used = 0;
    unsigned n = 0;
    bool more = true;
    /* in registers (capture_next() and memcpy() may write anywhere) */
    struct capture *cap = f->cap;
    const volatile sig_atomic_t *stop = f->stop;
    uint64_t frame = f->frames;
    struct capture_record *recs = s->recs;
    uint8_t *worker = s->worker, *tcp = s->tcp;
    uint8_t *data = s->data;
    size_t data_cap = s->data_cap;
    while (n < BATCH_ITEMS && used < BATCH_BYTES) {
        struct capture_record *rec = &recs[n];
        int rc = 1;
        if ((stop && *stop) || atomic_load_explicit(&f->aborted, memory_order_relaxed) ||
            (rc = capture_next(cap, rec)) != 1) {
            f->rc = rc; /* 1: stopped by *stop */
            more = false;
            break;
        }
        if (used + rec->caplen > data_cap) {
            room(s, used, rec->caplen, n);
            data = s->data;
            data_cap = s->data_cap;
        }
        if (split_link_unsplittable(rec->dlt)) { /* a pcapng's later 802.11 interface: the split gives up */
            split_feed_abort(f);
            more = false;
            break;
        }
        enum split_tcp t;
        worker[n] = (uint8_t)split_route(rec, SPLIT_SHARES, &t); /* the share; its worker below */
        tcp[n] = (uint8_t)t;
        memcpy(data + used, rec->data, rec->caplen);
        rec->data = data + used;
        rec->frame = ++frame;
        used += rec->caplen;
        n++;
    }
    f->frames = frame;
    for (unsigned i = 0; i < n; i++)
        worker[i] = f->share[worker[i]];
    s->b.recs = recs;
    s->b.worker = worker;
    s->b.tcp = tcp;
    s->b.n = n;
    return more;
}

/* The reader: batch after batch into the ring, each once its slot is
 * free, until the end of the input, a stop or split_feed_abort(). */
static void *reader_main(void *p)
{
    struct split_feed *f = p;
    pthread_mutex_lock(&f->mu);
    while (!f->go && !atomic_load_explicit(&f->aborted, memory_order_relaxed))
        pthread_cond_wait(&f->room, &f->mu);
    for (;;) {
        uint64_t seq = f->next_fill;
        struct slot *s = &f->slots[seq % f->nslots];
        if (atomic_load_explicit(&f->aborted, memory_order_relaxed)) {
            f->ended = true;
            f->end_seq = seq;
            break;
        }
        if (s->pending && !f->wake_at)
            f->wake_at = seq + 1 - f->nslots + f->nslots / 2; /* batch seq - nslots holds the slot */
        if (s->pending || f->released < f->wake_at) {
            pthread_cond_wait(&f->room, &f->mu);
            continue;
        }
        f->wake_at = 0;
        pthread_mutex_unlock(&f->mu);
        bool more = fill(f, s);
        pthread_mutex_lock(&f->mu);
        s->seq = seq;
        f->next_fill = seq + 1;
        if (s->b.n) {
            s->filled = true;
            s->pending = f->n;
        }
        if (!more) {
            f->ended = true;
            f->end_seq = s->b.n ? seq + 1 : seq;
            break;
        }
        pthread_cond_broadcast(&f->cond);
    }
    f->reader_done = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

const struct split_batch *split_feed_next(struct split_feed *f, unsigned k)
{
    pthread_mutex_lock(&f->mu);
    if (!f->go) {
        f->go = true;
        pthread_cond_broadcast(&f->room);
    }
    if (f->held[k]) { /* hand back the one walked */
        f->held[k] = false;
        struct slot *prev = &f->slots[(f->want[k] - 1) % f->nslots];
        if (--prev->pending == 0) {
            prev->filled = false;
            f->released = f->want[k];
            if (f->wake_at && f->released >= f->wake_at)
                pthread_cond_broadcast(&f->room);
        }
    }
    uint64_t seq = f->want[k];
    struct slot *s = &f->slots[seq % f->nslots];
    /* given up (split_feed_abort()): the batches read ahead are walked no
     * more either, the file is analysed again as one run */
    while (!atomic_load_explicit(&f->aborted, memory_order_relaxed) && !(s->filled && s->seq == seq) &&
           !(f->ended && seq >= f->end_seq))
        pthread_cond_wait(&f->cond, &f->mu);
    if (!atomic_load_explicit(&f->aborted, memory_order_relaxed) && s->filled && s->seq == seq) {
        f->want[k] = seq + 1;
        f->held[k] = true;
        pthread_mutex_unlock(&f->mu);
        return &s->b;
    }
    /* the end: the reader is out of the capture (the caller reads its
     * counters next) */
    while (!f->reader_done)
        pthread_cond_wait(&f->cond, &f->mu);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}
