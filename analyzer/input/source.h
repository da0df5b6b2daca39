/* source.h - the bytes of one capture input, decompressed, as a sliding window.
 *
 * A compressed input is decompressed on a thread of its own (gzip, zstd, lz4
 * frame, picked from the stored bytes' magic), and an uncompressed one read
 * there when SMBSCOPE_READ_THREAD=1; the window borrows that thread's chunks
 * in place.  Without the thread large reads or the decompressor fill one
 * aligned buffer;
 * a regular file may instead be memory-mapped (SMBSCOPE_READER=mmap: the
 * window is the whole file).  Readers ask for "n contiguous bytes at the current
 * position" and step over what they used; a record across the buffer's end is
 * moved to the front once, never copied per field.
 *
 * Errors (read errors, corrupt or cut compressed data) are values: the window
 * simply ends early and source_error() says why. */
#ifndef SMBSCOPE_SOURCE_H
#define SMBSCOPE_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOURCE_ERRBUF_SIZE 256

/* The largest window a reader may ask for (a pcapng block of libpcap's largest
 * maximum size fits). */
#define SOURCE_MAX_WINDOW (160u * 1024u * 1024u)

enum source_codec { CODEC_NONE, CODEC_GZIP, CODEC_ZSTD, CODEC_LZ4 };

struct source;

/* Open path ("-" = standard input).  NULL and errbuf (naming the input) on
 * failure.  mmap_ok: a regular uncompressed file may be mapped. */
struct source *source_open(const char *path, bool mmap_ok, char *errbuf, size_t errlen);
void source_close(struct source *s);

/* Make at least need bytes available at the current position (need <=
 * SOURCE_MAX_WINDOW); returns the bytes available, fewer than need only at the
 * end of the input or after an error. */
size_t source_ensure(struct source *s, size_t need);
/* The window, first member of struct source: the per-record calls below are
 * inline (out of line they were a good part of a record's cost). */
struct source_window {
    const uint8_t *base;    /* the map or the buffer */
    size_t start, end;      /* window [start, end) of base */
    uint64_t pos;           /* stream offset of base[start] */
};

static inline const struct source_window *source_win(const struct source *s)
{
    return (const struct source_window *)(const void *)s;
}

/* The current position's bytes (source_avail() of them are valid). */
static inline const uint8_t *source_ptr(const struct source *s) { return source_win(s)->base + source_win(s)->start; }
static inline size_t source_avail(const struct source *s) { return source_win(s)->end - source_win(s)->start; }
/* Step over n <= source_avail() bytes. */
static inline void source_consume(struct source *s, size_t n)
{
    struct source_window *w = (struct source_window *)(void *)s;
    w->start += n;
    w->pos += n;
}
/* Copy up to n bytes out and step over them (for libraries that want a read()). */
size_t source_read(struct source *s, uint8_t *dst, size_t n);

/* Decompressed bytes stepped over so far. */
static inline uint64_t source_pos(const struct source *s) { return source_win(s)->pos; }
/* Stored bytes taken from the input so far (compressed when compressed). */
uint64_t source_raw_pos(const struct source *s);
/* Size of the input as stored when known (a regular file), else -1. */
int64_t source_size_hint(const struct source *s);
/* Why the bytes ended early ("" when they did not). */
const char *source_error(const struct source *s);

/* A stop request (SIGINT/SIGTERM while reading files): while *flag is
 * nonzero, a read interrupted by the signal, or the decompressor's thread
 * waited for, ends the bytes cleanly instead of waiting on (a fifo fed
 * slowly).  Process-wide, as signals are; NULL (the default) turns it off. */
void source_set_interrupt(const volatile sig_atomic_t *flag);
bool source_interrupted(void);

enum source_codec source_codec(const struct source *s);
const char *source_codec_name(enum source_codec c); /* "gzip", "zstd", "lz4", "" */
/* Which inflate implementation serves gzip: "isa-l" or "zlib". */
const char *source_inflate_impl(void);
bool source_is_mapped(const struct source *s);
bool source_is_stdin(const struct source *s);
/* "<stdin>" for "-", else the path. */
const char *source_name(const struct source *s);

#endif
