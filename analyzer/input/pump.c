/* pump.c - decompression (or plain reads) on its own thread, into a ring of
 * chunks.
 *
 * The producer fills chunk after chunk with decompressed bytes -- or, for an
 * uncompressed input (no codec), with read()s straight into the chunk, so that
 * the system calls and the kernel's copy overlap the analysis -- and the
 * consumer takes them in order.  A chunk is either the producer's (empty) or the
 * consumer's (ready); one mutex and two condition variables hand them over.
 * The end of the stream (clean or not) is a ready chunk with the done flag. */
#include "pump.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NCHUNK 4
#define CHUNK (1024u * 1024u)
/* Plain reads: smaller chunks (reads of 128 KiB to 1 MiB measured the same,
 * tests/bench/RESULTS.md), so that the ring costs no more memory than the
 * 1 MiB window it replaces. */
#define CHUNK_PLAIN (256u * 1024u)
/* How long a wait for the other side may last before a stop request (the
 * thread: pump_free; the reader: source_interrupted()) is looked at. */
#define WAIT_MS 100

struct chunk {
    uint8_t *buf;
    size_t len;
    bool ready;
};

struct pump {
    /* the producer's */
    int fd;
    uint8_t *raw;
    size_t raw_cap, raw_off, raw_len;
    bool raw_eof;
    struct codec *z;        /* NULL: plain reads */
    enum source_codec codec;
    size_t chunk_size;
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t filled, emptied;
    struct chunk ring[NCHUNK];
    bool done;              /* no chunk after the ready ones */
    bool stop;              /* the consumer is gone (also read by the producer without mu, atomically) */
    bool interrupted;       /* the stop signal ended the stream (no error) */
    uint64_t raw_pos;
    char err[256];
    /* the consumer's */
    bool threaded;
    pthread_t th;
    bool borrowed;          /* ring[cons] is lent out (pump_borrow) */
    unsigned cons;          /* chunk being read */
    size_t cons_off;
    unsigned prod;          /* next chunk to fill (producer) */
    bool finished;          /* direct mode: the stream has ended */
};

static void set_err(struct pump *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct pump *p, const char *fmt, ...)
{
    if (p->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
}

enum raw_state { RAW_OK, RAW_END, RAW_WAIT };

/* More stored bytes.  RAW_WAIT: none are ready now and the caller already
 * made output, which it hands on rather than wait (a pipe fed slowly shows
 * its packets as they come, not per 1 MiB of output). */
/* Direct mode: the stop signal ended the stream, cleanly. */
static enum raw_state interrupted(struct pump *p)
{
    p->interrupted = true;
    p->raw_eof = true;
    return RAW_END;
}

/* One read() of up to cap bytes into dst (*got), waiting as the thread must:
 * RAW_WAIT when nothing is ready and the caller already has output to hand
 * on (a pipe fed slowly shows its packets as they come). */
static enum raw_state fd_read(struct pump *p, uint8_t *dst, size_t cap, bool made_some, size_t *got)
{
    *got = 0;
    for (;;) {
        /* on the thread (signals blocked there) a read of a slow fifo would
         * keep pump_free() waiting: wait for data in short steps instead */
        if (p->threaded || made_some) {
            struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
            int pr = poll(&pfd, 1, made_some ? 0 : WAIT_MS);
            if (p->threaded && __atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
                p->raw_eof = true; /* nobody reads the rest */
                return RAW_END;
            }
            if (pr == 0 && made_some)
                return RAW_WAIT;
            if (pr < 0 && errno == EINTR && !p->threaded && source_interrupted())
                return interrupted(p);
            if (pr == 0 || (pr < 0 && errno == EINTR))
                continue;
        }
        ssize_t r = read(p->fd, dst, cap);
        if (r < 0 && errno == EINTR) {
            if (source_interrupted()) /* direct mode: the reader's own read was interrupted */
                return interrupted(p);
            continue;
        }
        if (r <= 0) {
            if (r < 0)
                set_err(p, "read error: %s", strerror(errno));
            p->raw_eof = true;
            return RAW_END;
        }
        *got = (size_t)r;
        return RAW_OK;
    }
}

static enum raw_state raw_fill(struct pump *p, bool made_some)
{
    if (p->raw_off < p->raw_len)
        return RAW_OK;
    if (p->raw_eof)
        return RAW_END;
    p->raw_off = p->raw_len = 0;
    return fd_read(p, p->raw, p->raw_cap, made_some, &p->raw_len);
}

/* Plain reads into dst: the bytes peeked at open first, then read()s straight
 * into dst until it is full, the input ends, or (a pipe) nothing more is
 * ready. */
static size_t produce_plain(struct pump *p, uint8_t *dst, size_t n, bool *end)
{
    size_t made = 0;
    *end = false;
    if (p->raw_off < p->raw_len) {
        made = p->raw_len - p->raw_off < n ? p->raw_len - p->raw_off : n;
        memcpy(dst, p->raw + p->raw_off, made);
        p->raw_off += made;
    }
    while (made < n) {
        size_t got = 0;
        enum raw_state rs = p->raw_eof ? RAW_END : fd_read(p, dst + made, n - made, made > 0, &got);
        if (rs == RAW_WAIT)
            break;
        if (rs == RAW_END) {
            *end = true;
            break;
        }
        made += got;
        __atomic_add_fetch(&p->raw_pos, got, __ATOMIC_RELAXED);
    }
    return made;
}

/* Decompress into dst until it is full or the stream ends: the bytes made;
 * *end set at the end of the stream (p->err says if it was not clean).
 * Error strings are written under mu when threaded (the consumer reads them
 * only after seeing done). */
static size_t produce(struct pump *p, uint8_t *dst, size_t n, bool *end)
{
    if (!p->z)
        return produce_plain(p, dst, n, end);
    size_t made = 0;
    *end = false;
    while (made < n) {
        enum raw_state rs = raw_fill(p, made > 0);
        if (rs == RAW_WAIT)
            break;
        if (rs == RAW_END) {
            if (!codec_at_boundary(p->z) && !p->interrupted && !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
                set_err(p, "%s stream ends before its end marker (file truncated?)", source_codec_name(p->codec));
            *end = true;
            break;
        }
        size_t used, out;
        char why[200];
        bool ok = codec_run(p->z, p->raw + p->raw_off, p->raw_len - p->raw_off, &used, dst + made, n - made, &out,
                            why, sizeof why);
        p->raw_off += used;
        made += out;
        __atomic_add_fetch(&p->raw_pos, used, __ATOMIC_RELAXED);
        if (!ok || (used == 0 && out == 0)) {
            if (ok)
                snprintf(why, sizeof why, "%s decompressor made no progress", source_codec_name(p->codec));
            set_err(p, "%s at compressed byte offset %llu", why,
                    (unsigned long long)__atomic_load_n(&p->raw_pos, __ATOMIC_RELAXED));
            *end = true;
            break;
        }
    }
    return made;
}

static void *producer(void *arg)
{
    struct pump *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        struct chunk *c = &p->ring[p->prod];
        while (c->ready && !p->stop)
            pthread_cond_wait(&p->emptied, &p->mu);
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            return NULL;
        bool end;
        size_t n = produce(p, c->buf, p->chunk_size, &end); /* c is ours until marked ready */
        pthread_mutex_lock(&p->mu);
        c->len = n;
        c->ready = true;
        if (end)
            p->done = true;
        pthread_cond_signal(&p->filled);
        pthread_mutex_unlock(&p->mu);
        if (end)
            return NULL;
        p->prod = (p->prod + 1) % NCHUNK;
    }
}

static bool env_off(const char *name)
{
    const char *e = getenv(name);
    return e && strcmp(e, "0") == 0;
}

/* Off unless asked for: on this project's shared 2-core machine the thread
 * cost a third more CPU (the kernel's copy into a chunk the other core
 * had read is twice as dear) and gave wall time only with a core free
 * (tests/bench/RESULTS.md, branch pktpath2). */
bool pump_read_thread_wanted(void)
{
    const char *e = getenv("SMBSCOPE_READ_THREAD");
    return e && strcmp(e, "1") == 0;
}

struct pump *pump_start(int fd, uint8_t *raw, size_t raw_cap, size_t raw_len, struct codec *z,
                        enum source_codec codec)
{
    struct pump *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->fd = fd;
    p->raw = raw;
    p->raw_cap = raw_cap;
    p->raw_len = raw_len;
    p->z = z;
    p->codec = codec;
    p->chunk_size = z ? CHUNK : CHUNK_PLAIN;
    if (!z)
        p->raw_pos = raw_len; /* the peeked bytes were read from fd */
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->filled, NULL);
    pthread_cond_init(&p->emptied, NULL);
    if (z ? env_off("SMBSCOPE_DECOMPRESS_THREAD") : !pump_read_thread_wanted())
        return p;
    for (int i = 0; i < NCHUNK; i++)
        if (!(p->ring[i].buf = malloc(p->chunk_size)))
            return p; /* direct mode: pump_free() frees what was allocated */
    /* the thread inherits a mask without SIGINT/SIGTERM: the signals go to
     * the reading thread, which is the one that must notice them */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    p->threaded = true; /* before the thread reads it */
    if (pthread_create(&p->th, NULL, producer, p) != 0)
        p->threaded = false;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p;
}

static bool wait_ready(struct pump *p);

size_t pump_read(struct pump *p, uint8_t *dst, size_t n)
{
    if (!p->threaded) {
        if (p->finished)
            return 0;
        bool end;
        size_t made = produce(p, dst, n, &end);
        p->finished = end;
        return made;
    }
    /* at most the rest of one chunk per call */
    pthread_mutex_lock(&p->mu);
    if (!wait_ready(p)) {
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    /* after done the producer has stopped at the last chunk it filled */
    bool last = p->done && p->prod == p->cons;
    pthread_mutex_unlock(&p->mu);
    struct chunk *c = &p->ring[p->cons];
    size_t got = c->len - p->cons_off;
    if (got > n)
        got = n;
    memcpy(dst, c->buf + p->cons_off, got);
    p->cons_off += got;
    if (p->cons_off == c->len && !last) { /* hand the chunk back */
        pthread_mutex_lock(&p->mu);
        c->ready = false;
        p->cons = (p->cons + 1) % NCHUNK;
        p->cons_off = 0;
        pthread_cond_signal(&p->emptied);
        pthread_mutex_unlock(&p->mu);
    }
    return got;
}

/* Wait for ring[cons] to be ready; false on a stop request (mu held). */
static bool wait_ready(struct pump *p)
{
    while (!p->ring[p->cons].ready) {
        if (source_interrupted()) { /* stop waiting for a slow input */
            p->interrupted = true;
            return false;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += WAIT_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->filled, &p->mu, &until);
    }
    return true;
}

bool pump_threaded(const struct pump *p) { return p->threaded; }

const uint8_t *pump_borrow(struct pump *p, size_t *len)
{
    *len = 0;
    pthread_mutex_lock(&p->mu);
    if (p->borrowed) {
        if (p->done && p->prod == p->cons) { /* that was the last chunk */
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        p->ring[p->cons].ready = false;
        p->cons = (p->cons + 1) % NCHUNK;
        p->borrowed = false;
        pthread_cond_signal(&p->emptied);
    }
    if (!wait_ready(p)) {
        pthread_mutex_unlock(&p->mu);
        return NULL;
    }
    p->borrowed = true;
    struct chunk *c = &p->ring[p->cons];
    pthread_mutex_unlock(&p->mu);
    *len = c->len;
    return c->buf;
}

const char *pump_error(struct pump *p)
{
    if (!p->threaded || p->interrupted)
        return p->interrupted ? "" : p->err;
    pthread_mutex_lock(&p->mu);
    bool done = p->done;
    pthread_mutex_unlock(&p->mu);
    return done ? p->err : "";
}

uint64_t pump_raw_pos(const struct pump *p) { return __atomic_load_n(&p->raw_pos, __ATOMIC_RELAXED); }

void pump_free(struct pump *p)
{
    if (!p)
        return;
    if (p->threaded) {
        pthread_mutex_lock(&p->mu);
        __atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&p->emptied);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->th, NULL);
    }
    for (int i = 0; i < NCHUNK; i++)
        free(p->ring[i].buf);
    pthread_cond_destroy(&p->filled);
    pthread_cond_destroy(&p->emptied);
    pthread_mutex_destroy(&p->mu);
    codec_free(p->z);
    free(p->raw);
    free(p);
}
