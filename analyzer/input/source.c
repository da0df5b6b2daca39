/* source.c - the decompressed bytes of one input as a sliding window.
 *
 * Three ways to fill it: a read-only map of a regular uncompressed file
 * (the window is the file; nothing is copied), large read()s, or the
 * decompressor fed from a second buffer of stored bytes.  The decompressor
 * (and the reads, with SMBSCOPE_READ_THREAD=1) run on a thread of their own
 * (pump.c) whose chunks the window borrows in place; without the thread,
 * reads go into an aligned buffer.  The stored bytes peeked at open (to recognise a compressed input by
 * its magic) stay in that buffer, so stdin needs no seeking. */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decompress.h"
#include "pump.h"

#define BUF_INITIAL (1024u * 1024u)
#define BUF_COMPRESSED (4u * 1024u * 1024u)
#define RAW_BUF (1024u * 1024u)
#define PEEK_BUF (64u * 1024u) /* what open reads to recognise the input */
#define BUF_ALIGN 4096u

struct source {
    struct source_window w; /* first: source.h's inline calls read it */
    char name[256];
    int fd;
    bool own_fd, is_stdin;
    int64_t size_hint;

    /* the window: map, or buf */
    const uint8_t *map;
    size_t map_len;
    uint8_t *buf;
    size_t cap;
    bool eof;               /* no more bytes will come */

    /* stored bytes (compressed input: the pump's once it runs) */
    enum source_codec codec;
    struct pump *pump;
    /* decompressed on the pump's thread: the window is the chunk it lent
     * (no copy), or buf while a record spans two chunks */
    bool borrow;
    const uint8_t *chunk;
    size_t chunk_len, chunk_off; /* chunk[chunk_off..) not yet in the window */
    bool in_chunk;               /* base == chunk */
    uint8_t *raw;
    size_t raw_cap, raw_off, raw_len;
    bool raw_eof;
    uint64_t raw_pos;       /* stored bytes read from fd (uncompressed) or fed (compressed) */

    char err[SOURCE_ERRBUF_SIZE];
};

static void set_err(struct source *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct source *s, const char *fmt, ...)
{
    if (s->err[0])
        return; /* the first cause is the one that matters */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
}

static const volatile sig_atomic_t *interrupt_flag;

void source_set_interrupt(const volatile sig_atomic_t *flag) { interrupt_flag = flag; }
bool source_interrupted(void) { return interrupt_flag && *interrupt_flag; }

/* A read the stop signal interrupted ends the input (0), without an error. */
static ssize_t read_fd(struct source *s, uint8_t *dst, size_t n)
{
    for (;;) {
        ssize_t r = read(s->fd, dst, n);
        if (r < 0 && errno == EINTR) {
            if (source_interrupted())
                return 0;
            continue;
        }
        if (r < 0)
            set_err(s, "read error: %s", strerror(errno));
        return r;
    }
}

/* Append the pump's bytes (decompressed, or read in the caller) to buf[end..cap). */
static void fill_codec(struct source *s)
{
    size_t n = pump_read(s->pump, s->buf + s->w.end, s->cap - s->w.end);
    s->w.end += n;
    if (n == 0) {
        s->eof = true;
        if (pump_error(s->pump)[0])
            set_err(s, "%s", pump_error(s->pump));
    }
}

static void fill_plain(struct source *s)
{
    if (s->raw_off < s->raw_len) { /* bytes peeked at open come first */
        size_t n = s->raw_len - s->raw_off;
        if (n > s->cap - s->w.end)
            n = s->cap - s->w.end;
        memcpy(s->buf + s->w.end, s->raw + s->raw_off, n);
        s->raw_off += n;
        s->w.end += n;
        return;
    }
    ssize_t r = read_fd(s, s->buf + s->w.end, s->cap - s->w.end);
    if (r <= 0) {
        s->eof = true;
        return;
    }
    s->w.end += (size_t)r;
    s->raw_pos += (uint64_t)r;
}

static bool grow(struct source *s, size_t need)
{
    size_t cap = s->cap;
    while (cap < need)
        cap *= 2;
    if (cap > SOURCE_MAX_WINDOW)
        cap = SOURCE_MAX_WINDOW;
    void *nb = NULL;
    if (posix_memalign(&nb, BUF_ALIGN, cap) != 0) {
        set_err(s, "out of memory for a %zu-byte record", need);
        return false;
    }
    memcpy(nb, s->buf + s->w.start, s->w.end - s->w.start);
    free(s->buf);
    s->buf = nb;
    s->w.base = nb;
    s->cap = cap;
    s->w.end -= s->w.start;
    s->w.start = 0;
    return true;
}

/* The next lent chunk; false at the end of the stream. */
static bool next_chunk(struct source *s)
{
    s->chunk = pump_borrow(s->pump, &s->chunk_len);
    s->chunk_off = 0;
    if (s->chunk && s->chunk_len)
        return true;
    s->chunk = NULL;
    s->chunk_len = 0;
    s->eof = true;
    if (pump_error(s->pump)[0])
        set_err(s, "%s", pump_error(s->pump));
    return false;
}

/* Borrowed mode: the window in place in a chunk while a record lies in it;
 * a record across chunks is gathered in buf (the tail of one chunk, then
 * just the bytes it needs of the next), and the window goes back in place
 * once buf is used up. */
static size_t ensure_borrowed(struct source *s, size_t need)
{
    if (s->w.start == s->w.end && !s->eof) {
        if (s->chunk_off == s->chunk_len && !next_chunk(s))
            return 0;
        s->w.base = s->chunk; /* in place from where buf left it */
        s->w.start = s->chunk_off;
        s->w.end = s->chunk_len;
        s->chunk_off = s->chunk_len;
        s->in_chunk = true;
        if (s->w.end - s->w.start >= need)
            return s->w.end - s->w.start;
    }
    size_t have = s->w.end - s->w.start;
    if (need > s->cap) {
        if (!s->in_chunk) { /* the window is in buf: keep it */
            if (!grow(s, need))
                return have;
        } else { /* buf holds nothing of the window: a larger one will do */
            void *nb = NULL;
            size_t cap = s->cap;
            while (cap < need)
                cap *= 2;
            if (cap > SOURCE_MAX_WINDOW)
                cap = SOURCE_MAX_WINDOW;
            if (posix_memalign(&nb, BUF_ALIGN, cap) != 0) {
                set_err(s, "out of memory for a %zu-byte record", need);
                return have;
            }
            free(s->buf);
            s->buf = nb;
            s->cap = cap;
        }
    }
    /* gather: what is left of the window to the front of buf, then more */
    memmove(s->buf, s->w.base + s->w.start, have);
    s->w.base = s->buf;
    s->w.start = 0;
    s->w.end = have;
    s->in_chunk = false;
    while (s->w.end < need && !s->eof) {
        if (s->chunk_off == s->chunk_len && !next_chunk(s))
            break;
        size_t take = s->chunk_len - s->chunk_off;
        if (take > need - s->w.end)
            take = need - s->w.end;
        memcpy(s->buf + s->w.end, s->chunk + s->chunk_off, take);
        s->w.end += take;
        s->chunk_off += take;
    }
    return s->w.end;
}

size_t source_ensure(struct source *s, size_t need)
{
    if (s->w.end - s->w.start >= need || s->map)
        return s->w.end - s->w.start;
    if (s->borrow)
        return ensure_borrowed(s, need > SOURCE_MAX_WINDOW ? SOURCE_MAX_WINDOW : need);
    if (s->w.start == s->w.end)
        s->w.start = s->w.end = 0; /* empty: the next fill starts at the front */
    if (need > SOURCE_MAX_WINDOW)
        need = SOURCE_MAX_WINDOW;
    if (need > s->cap && !grow(s, need))
        return s->w.end - s->w.start;
    /* move the partial record to the front when the rest is short: a
     * decompressor writes whole blocks (zstd: 128 KiB) in place only when
     * they fit, and reads are better large */
    if (s->cap - s->w.start < need || s->cap - s->w.end < s->cap / 4) {
        memmove(s->buf, s->buf + s->w.start, s->w.end - s->w.start);
        s->w.end -= s->w.start;
        s->w.start = 0;
    }
    while (s->w.end - s->w.start < need && !s->eof) {
        if (s->pump)
            fill_codec(s);
        else
            fill_plain(s);
    }
    return s->w.end - s->w.start;
}


size_t source_read(struct source *s, uint8_t *dst, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t have = source_ensure(s, 1);
        if (have == 0)
            break;
        size_t take = have < n - got ? have : n - got;
        memcpy(dst + got, source_ptr(s), take);
        source_consume(s, take);
        got += take;
    }
    return got;
}

uint64_t source_raw_pos(const struct source *s)
{
    if (s->map)
        return s->w.pos; /* stored = decompressed, and stepped over */
    return s->pump ? pump_raw_pos(s->pump) : s->raw_pos;
}
int64_t source_size_hint(const struct source *s) { return s->size_hint; }
const char *source_error(const struct source *s) { return s->err; }
enum source_codec source_codec(const struct source *s) { return s->codec; }
bool source_is_mapped(const struct source *s) { return s->map != NULL; }
bool source_is_stdin(const struct source *s) { return s->is_stdin; }
const char *source_name(const struct source *s) { return s->name; }

void source_close(struct source *s)
{
    if (!s)
        return;
    if (s->map)
        munmap((void *)(uintptr_t)s->map, s->map_len);
    pump_free(s->pump);
    if (s->own_fd && s->fd >= 0)
        close(s->fd);
    free(s->buf);
    free(s->raw);
    free(s);
}

/* Map a regular file whole; false leaves the buffered path to do the work. */
static bool try_map(struct source *s)
{
    if (s->size_hint <= 0 || (uint64_t)s->size_hint > SIZE_MAX)
        return false;
    void *m = mmap(NULL, (size_t)s->size_hint, PROT_READ, MAP_PRIVATE, s->fd, 0);
    if (m == MAP_FAILED)
        return false;
    /* sequential: the kernel reads ahead and drops pages behind */
    madvise(m, (size_t)s->size_hint, MADV_SEQUENTIAL | MADV_WILLNEED);
    s->map = m;
    s->map_len = (size_t)s->size_hint;
    s->w.base = m;
    s->w.start = 0;
    s->w.end = s->map_len;
    s->eof = true;
    s->raw_off = s->raw_len = 0; /* the peeked bytes are in the map too */
    return true;
}

/* Open the descriptor and peek at the first stored bytes. */
static bool open_fd(struct source *s, const char *path, char *errbuf, size_t errlen)
{
    if (s->is_stdin) {
        s->fd = STDIN_FILENO;
    } else {
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
            snprintf(errbuf, errlen, "%s: %s", s->name, strerror(errno));
            return false;
        }
        s->own_fd = true;
    }
    struct stat st;
    if (fstat(s->fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(errbuf, errlen, "%s: is a directory", s->name);
            return false;
        }
        if (S_ISREG(st.st_mode))
            s->size_hint = (int64_t)st.st_size;
    }
    while (s->raw_len < 4 && !s->raw_eof) {
        ssize_t r = read_fd(s, s->raw + s->raw_len, s->raw_cap - s->raw_len);
        if (r < 0) {
            snprintf(errbuf, errlen, "%s: %s", s->name, s->err);
            return false;
        }
        if (r == 0)
            s->raw_eof = true;
        s->raw_len += (size_t)r;
    }
    if (s->raw_len == 0) {
        snprintf(errbuf, errlen, "%s: empty input, not a capture file", s->name);
        return false;
    }
    return true;
}

struct source *source_open(const char *path, bool mmap_ok, char *errbuf, size_t errlen)
{
    struct source *s = calloc(1, sizeof *s);
    if (!s || !(s->raw = malloc(PEEK_BUF))) {
        snprintf(errbuf, errlen, "%s: out of memory", path);
        free(s);
        return NULL;
    }
    s->raw_cap = PEEK_BUF;
    s->fd = -1;
    s->size_hint = -1;
    s->is_stdin = strcmp(path, "-") == 0;
    snprintf(s->name, sizeof s->name, "%s", s->is_stdin ? "<stdin>" : path);
    if (!open_fd(s, path, errbuf, errlen)) {
        source_close(s);
        return NULL;
    }
    s->codec = codec_sniff(s->raw, s->raw_len);
    if (s->codec == CODEC_NONE) {
        s->raw_pos = s->raw_len; /* counted as they were read */
        if (mmap_ok && try_map(s))
            return s;
        /* reads on a thread of their own when it starts, else in the caller */
        s->pump = pump_read_thread_wanted() ? pump_start(s->fd, s->raw, s->raw_cap, s->raw_len, NULL, CODEC_NONE)
                                           : NULL;
        if (s->pump) {
            s->raw = NULL; /* the pump's now */
            s->raw_len = 0;
            s->borrow = pump_threaded(s->pump); /* else pump_read() reads in the caller */
        }
    } else {
        char why[200];
        struct codec *z = codec_new(s->codec, why, sizeof why);
        uint8_t *big = z ? realloc(s->raw, RAW_BUF) : NULL; /* compressed reads in large chunks */
        if (big)
            s->raw = big;
        s->pump = big ? pump_start(s->fd, s->raw, RAW_BUF, s->raw_len, z, s->codec) : NULL;
        if (!s->pump) {
            if (z)
                snprintf(why, sizeof why, "out of memory");
            codec_free(z);
            snprintf(errbuf, errlen, "%s: %s", s->name, why);
            source_close(s);
            return NULL;
        }
        s->raw = NULL; /* the pump's now */
        s->borrow = pump_threaded(s->pump);
        s->raw_len = 0;
    }
    /* a small file needs no large window (nor its allocation) */
    size_t cap = s->codec == CODEC_NONE ? BUF_INITIAL : BUF_COMPRESSED;
    if (s->codec == CODEC_NONE && s->size_hint >= 0 && (uint64_t)s->size_hint < BUF_INITIAL)
        cap = ((size_t)s->size_hint + BUF_ALIGN) & ~(size_t)(BUF_ALIGN - 1);
    void *b = NULL;
    if (posix_memalign(&b, BUF_ALIGN, cap) != 0) {
        snprintf(errbuf, errlen, "%s: out of memory", s->name);
        source_close(s);
        return NULL;
    }
    s->buf = b;
    s->w.base = b;
    s->cap = cap;
    return s;
}
