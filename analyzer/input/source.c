/* source.c - the decompressed bytes of one input as a sliding window.
 *
 * Three ways to fill it: a read-only map of a regular uncompressed file
 * (the window is the file; nothing is copied), large read()s into an aligned
 * buffer (pipes, stdin), or the decompressor fed from a second buffer of stored
 * bytes.  The stored bytes peeked at open (to recognise a compressed input by
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

#define BUF_INITIAL (4u * 1024u * 1024u)
#define RAW_BUF (1024u * 1024u)
#define BUF_ALIGN 4096u

struct source {
    char name[256];
    int fd;
    bool own_fd, is_stdin;
    int64_t size_hint;

    /* the window: map, or buf */
    const uint8_t *map;
    size_t map_len;
    uint8_t *buf;
    size_t cap;
    const uint8_t *base;    /* map or buf */
    size_t start, end;      /* window [start, end) of base */
    uint64_t pos;           /* stream offset of base[start] */
    bool eof;               /* no more bytes will come */

    /* stored bytes (compressed input) */
    enum source_codec codec;
    struct codec *z;
    uint8_t *raw;
    size_t raw_off, raw_len;
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

static ssize_t read_fd(struct source *s, uint8_t *dst, size_t n)
{
    for (;;) {
        ssize_t r = read(s->fd, dst, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            set_err(s, "read error: %s", strerror(errno));
        return r;
    }
}

/* Refill the stored-bytes buffer; false at the end of input or on error. */
static bool raw_fill(struct source *s)
{
    if (s->raw_off < s->raw_len)
        return true;
    if (s->raw_eof)
        return false;
    s->raw_off = s->raw_len = 0;
    ssize_t r = read_fd(s, s->raw, RAW_BUF);
    if (r <= 0) {
        s->raw_eof = true;
        return false;
    }
    s->raw_len = (size_t)r;
    return true;
}

/* Append decompressed bytes to buf[end..cap). */
static void fill_codec(struct source *s)
{
    size_t made_total = 0;
    while (made_total == 0 && !s->eof) {
        if (!raw_fill(s)) {
            if (!s->err[0] && !codec_at_boundary(s->z))
                set_err(s, "%s stream ends before its end marker (file truncated?)", source_codec_name(s->codec));
            s->eof = true;
            return;
        }
        size_t used, made;
        char why[200];
        bool ok = codec_run(s->z, s->raw + s->raw_off, s->raw_len - s->raw_off, &used, s->buf + s->end,
                            s->cap - s->end, &made, why, sizeof why);
        s->raw_off += used;
        s->raw_pos += used;
        s->end += made;
        made_total += made;
        if (!ok) {
            set_err(s, "%s at compressed byte offset %llu", why, (unsigned long long)s->raw_pos);
            s->eof = true;
            return;
        }
        if (used == 0 && made == 0) {
            set_err(s, "%s decompressor made no progress", source_codec_name(s->codec));
            s->eof = true;
            return;
        }
    }
}

static void fill_plain(struct source *s)
{
    if (s->raw_off < s->raw_len) { /* bytes peeked at open come first */
        size_t n = s->raw_len - s->raw_off;
        if (n > s->cap - s->end)
            n = s->cap - s->end;
        memcpy(s->buf + s->end, s->raw + s->raw_off, n);
        s->raw_off += n;
        s->end += n;
        return;
    }
    ssize_t r = read_fd(s, s->buf + s->end, s->cap - s->end);
    if (r <= 0) {
        s->eof = true;
        return;
    }
    s->end += (size_t)r;
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
    memcpy(nb, s->buf + s->start, s->end - s->start);
    free(s->buf);
    s->buf = nb;
    s->base = nb;
    s->cap = cap;
    s->end -= s->start;
    s->start = 0;
    return true;
}

size_t source_ensure(struct source *s, size_t need)
{
    if (s->end - s->start >= need || s->map)
        return s->end - s->start;
    if (need > SOURCE_MAX_WINDOW)
        need = SOURCE_MAX_WINDOW;
    if (need > s->cap && !grow(s, need))
        return s->end - s->start;
    if (s->cap - s->start < need || s->cap - s->end < 65536) { /* move the partial record to the front */
        memmove(s->buf, s->buf + s->start, s->end - s->start);
        s->end -= s->start;
        s->start = 0;
    }
    while (s->end - s->start < need && !s->eof) {
        if (s->codec != CODEC_NONE)
            fill_codec(s);
        else
            fill_plain(s);
    }
    return s->end - s->start;
}

const uint8_t *source_ptr(const struct source *s) { return s->base + s->start; }
size_t source_avail(const struct source *s) { return s->end - s->start; }

void source_consume(struct source *s, size_t n)
{
    s->start += n;
    s->pos += n;
    if (s->map)
        s->raw_pos = s->pos;
    else if (s->start == s->end)
        s->start = s->end = 0; /* empty: the next fill starts at the front */
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

uint64_t source_pos(const struct source *s) { return s->pos; }
uint64_t source_raw_pos(const struct source *s) { return s->raw_pos; }
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
    codec_free(s->z);
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
    s->base = m;
    s->start = 0;
    s->end = s->map_len;
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
        ssize_t r = read_fd(s, s->raw + s->raw_len, RAW_BUF - s->raw_len);
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
    if (!s || !(s->raw = malloc(RAW_BUF))) {
        snprintf(errbuf, errlen, "%s: out of memory", path);
        free(s);
        return NULL;
    }
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
    } else {
        char why[200];
        s->z = codec_new(s->codec, why, sizeof why);
        if (!s->z) {
            snprintf(errbuf, errlen, "%s: %s", s->name, why);
            source_close(s);
            return NULL;
        }
    }
    void *b = NULL;
    if (posix_memalign(&b, BUF_ALIGN, BUF_INITIAL) != 0) {
        snprintf(errbuf, errlen, "%s: out of memory", s->name);
        source_close(s);
        return NULL;
    }
    s->buf = b;
    s->base = b;
    s->cap = BUF_INITIAL;
    return s;
}
