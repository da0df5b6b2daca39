/* wire.h - the one bounds-checked cursor over untrusted bytes.
 *
 * Every read of packet bytes in smbscope goes through these functions, in
 * the spirit of tcpdump's GET_*() macros and Wireshark's tvbuffs.  A read past
 * the end never touches memory: it sets w->short_read, returns 0 (or an empty
 * view) and leaves the offset at the end, so a decoder may read a whole
 * structure and check wire_ok() once at the end.
 *
 * Pure C11, header-only so the hot path inlines.
 */
#ifndef SMBSCOPE_WIRE_H
#define SMBSCOPE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wire {
    const uint8_t *p;   /* first byte of the window */
    size_t len;         /* bytes in the window */
    size_t off;         /* next byte to read, 0 <= off <= len */
    bool short_read;    /* a read or skip ran past the end */
};

static inline struct wire wire_make(const uint8_t *p, size_t len)
{
    struct wire w = { p, p ? len : 0, 0, false };
    return w;
}

static inline size_t wire_left(const struct wire *w) { return w->len - w->off; }
static inline bool wire_ok(const struct wire *w) { return !w->short_read; }
static inline bool wire_has(const struct wire *w, size_t n) { return n <= w->len - w->off; }

/* Mark the cursor exhausted: used by every failing read. */
static inline void wire_fail(struct wire *w)
{
    w->short_read = true;
    w->off = w->len;
}

/* Pointer to the next n bytes and advance, or NULL (short read) if fewer remain. */
static inline const uint8_t *wire_bytes(struct wire *w, size_t n)
{
    if (!wire_has(w, n)) {
        wire_fail(w);
        return NULL;
    }
    const uint8_t *q = w->p + w->off;
    w->off += n;
    return q;
}

static inline bool wire_skip(struct wire *w, size_t n) { return wire_bytes(w, n) != NULL; }

/* Move to an absolute offset inside the window (e.g. an SMB2 buffer offset). */
static inline bool wire_seek(struct wire *w, size_t off)
{
    if (off > w->len) {
        wire_fail(w);
        return false;
    }
    w->off = off;
    return true;
}

/* A cursor over the next n bytes; the parent advances past them.  A short
 * parent yields an empty, failed child. */
static inline struct wire wire_sub(struct wire *w, size_t n)
{
    const uint8_t *q = wire_bytes(w, n);
    struct wire c = wire_make(q, q ? n : 0);
    c.short_read = (q == NULL);
    return c;
}

/* A cursor over [off, off+n) of the window without moving w (for SMB2
 * offset/length pairs measured from the header). */
static inline struct wire wire_window(const struct wire *w, size_t off, size_t n)
{
    if (off > w->len || n > w->len - off) {
        struct wire c = wire_make(NULL, 0);
        c.short_read = true;
        return c;
    }
    return wire_make(w->p + off, n);
}

/* Peek without consuming; 0 and no flag change if out of range. */
static inline uint8_t wire_peek_u8(const struct wire *w, size_t rel)
{
    return (rel < w->len - w->off) ? w->p[w->off + rel] : 0;
}

/* Peek a little-endian u16 at rel without consuming; 0 if out of range. */
static inline uint16_t wire_peek_u16le(const struct wire *w, size_t rel)
{
    if (rel > w->len - w->off || 2 > w->len - w->off - rel)
        return 0;
    const uint8_t *q = w->p + w->off + rel;
    return (uint16_t)(q[0] | (q[1] << 8));
}

static inline uint8_t wire_u8(struct wire *w)
{
    const uint8_t *q = wire_bytes(w, 1);
    return q ? q[0] : 0;
}

static inline uint16_t wire_u16le(struct wire *w)
{
    const uint8_t *q = wire_bytes(w, 2);
    return q ? (uint16_t)(q[0] | (q[1] << 8)) : 0;
}

static inline uint16_t wire_u16be(struct wire *w)
{
    const uint8_t *q = wire_bytes(w, 2);
    return q ? (uint16_t)((q[0] << 8) | q[1]) : 0;
}

static inline uint32_t wire_u24be(struct wire *w)
{
    const uint8_t *q = wire_bytes(w, 3);
    return q ? ((uint32_t)q[0] << 16) | ((uint32_t)q[1] << 8) | q[2] : 0;
}

static inline uint32_t wire_u32le(struct wire *w)
{
    const uint8_t *q = wire_bytes(w, 4);
    return q ? (uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16) | ((uint32_t)q[3] << 24) : 0;
}

static inline uint32_t wire_u32be(struct wire *w)
{
    const uint8_t *q = wire_bytes(w, 4);
    return q ? ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3] : 0;
}

static inline uint64_t wire_u64le(struct wire *w)
{
    const uint8_t *q = wire_bytes(w, 8);
    if (!q)
        return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | q[i];
    return v;
}

/* Load helpers for fixed-size views already bounds-checked by the caller
 * (e.g. a header the framer guarantees is complete). */
static inline uint16_t load_u16le(const uint8_t *q) { return (uint16_t)(q[0] | (q[1] << 8)); }
static inline uint16_t load_u16be(const uint8_t *q) { return (uint16_t)((q[0] << 8) | q[1]); }
static inline uint32_t load_u32le(const uint8_t *q)
{
    return (uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16) | ((uint32_t)q[3] << 24);
}
static inline uint32_t load_u32be(const uint8_t *q)
{
    return ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3];
}
/* Eight bytes in host byte order, for word-at-a-time scans that treat all
 * byte lanes alike. */
static inline uint64_t load_u64ne(const uint8_t *q)
{
    uint64_t v;
    memcpy(&v, q, sizeof v);
    return v;
}
/* Eight bytes big-endian: compared as numbers, they order as memcmp()
 * orders the bytes. */
static inline uint64_t load_u64be(const uint8_t *q)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(load_u64ne(q));
#else
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | q[i];
    return v;
#endif
}

#endif
