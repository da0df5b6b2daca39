/* mstate_zrec.h - members of the merge state that carry many fixed-layout
 * records: {"n": N, "zlib": BASE64}, a deflate stream of the records in
 * binary, big-endian, written as base64 as it is made and read back a
 * window at a time.  Parsing thousands of records as JSON trees cost about
 * 100,000 instructions a record (mstate_nb.c's rows_more was the first). */
#ifndef SMBSCOPE_MSTATE_ZREC_H
#define SMBSCOPE_MSTATE_ZREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <zlib.h>

#include "jget.h"
#include "json.h"

static inline void mstate_put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static inline uint64_t mstate_get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* LEB128 varints (7 bits a byte, low first): put returns the byte after
 * it; get reads the one at p (len bytes there) into *v: its size, 0 when
 * more bytes are needed, -1 when longer than 10 bytes. */
static inline uint8_t *zrec_put_varint(uint8_t *q, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        *q++ = (uint8_t)(v | 0x80);
    *q++ = (uint8_t)v;
    return q;
}

static inline int zrec_get_varint(const uint8_t *p, size_t len, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 10; i++) {
        if ((size_t)i >= len)
            return 0;
        *v |= (uint64_t)(p[i] & 0x7F) << (7 * i);
        if (!(p[i] & 0x80))
            return i + 1;
    }
    return -1;
}

/* The writer: begin (member k, n records), bytes as they come, end. */
struct zput {
    struct json *b;
    z_stream zs;
    gint state, save;
    uint8_t buf[5 * 4096];
    size_t used;
};

void zput_begin(struct zput *z, struct json *b, const char *k, uint64_t n, int level);
void zput_bytes(struct zput *z, const uint8_t *p, size_t n);
void zput_end(struct zput *z, struct json *b);

/* Whether b64 is base64 as the writer puts it (g_base64_decode() skips
 * what is not base64: a forged stream would otherwise be read anyway);
 * the reason in g when not. */
bool zrec_b64_ok(struct jget *g, const struct jpath *p, const char *b64);

/* One record at p (len bytes there) taken by the reader: its size, 0 when
 * more bytes are needed, -1 (the reason in g) when it is not one smbscope
 * writes.  ip: its index. */
typedef int64_t (*zrec_take)(void *ctx, struct jget *g, const struct jpath *ip, const uint8_t *p, size_t len);

/* The n records of a stream, inflated window bytes at a time (more than a
 * record at most) and handed to take in turn; refused as "not a zlib
 * stream of n <what>" when it holds more or fewer, or is not one. */
void zread_records(struct jget *g, const struct jpath *mp, const char *b64, uint64_t n, size_t window, zrec_take take,
                   void *ctx, const char *what);

#endif
