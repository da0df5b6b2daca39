/* quic_reasm.c - bounded offset reassembly; see quic_reasm.h. */
#include "quic_reasm.h"

#include <stdlib.h>
#include <string.h>

void quic_reasm_init(struct quic_reasm *r, uint64_t base)
{
    memset(r, 0, sizeof *r);
    r->base = base;
}

void quic_reasm_release(struct quic_reasm *r)
{
    free(r->data);
    r->data = r->have = NULL;
    r->size = 0;
    r->touched = 0;
}

void quic_reasm_reset(struct quic_reasm *r, uint64_t base)
{
    quic_reasm_release(r);
    quic_reasm_init(r, base);
}

size_t quic_reasm_storage(const struct quic_reasm *r) { return r->size ? r->size + r->size / 8 : 0; }

/* Storage for window bytes [0, need): the next power of two from
 * QUIC_REASM_MIN up (need <= QUIC_REASM_CAP), what arrived so far kept.
 * Only data and bits below touched were ever written.  False: no memory
 * (the bytes are dropped as past the cap). */
static bool grow(struct quic_reasm *r, size_t need)
{
    if (need <= r->size)
        return true;
    uint32_t size = r->size ? r->size : QUIC_REASM_MIN;
    while (size < need)
        size *= 2;
    uint8_t *block = malloc(size + size / 8);
    if (!block)
        return false;
    uint8_t *have = block + size;
    size_t bits = (r->touched + 7) / 8;
    if (r->touched) {
        memcpy(block, r->data, r->touched);
        memcpy(have, r->have, bits);
    }
    memset(have + bits, 0, size / 8 - bits); /* data[] needs no clearing: only marked bytes are read */
    free(r->data);
    r->data = block;
    r->have = have;
    r->size = size;
    return true;
}

static bool has(const struct quic_reasm *r, size_t i) { return (r->have[i / 8] >> (i % 8)) & 1; }

/* Window bytes [i, j) from src, each only if it has not arrived yet (the
 * first copy wins).  Whole bitmap bytes are taken eight at a time when all
 * of them are new or all old: a CRYPTO frame is about a kilobyte, and bit by
 * bit was most of the cost of reading a ClientHello. */
static bool fill(struct quic_reasm *r, size_t i, size_t j, const uint8_t *src)
{
    bool fresh = false;
    if (j > r->touched)
        r->touched = (uint32_t)j;
    while (i < j) {
        uint8_t *h = &r->have[i / 8];
        if (i % 64 == 0 && j - i >= 64) {
            /* a bitmap word: 64 bytes all new or all old at once (a
             * ClientHello's kilobyte in 16 steps instead of 128) */
            uint64_t word;
            memcpy(&word, h, sizeof word);
            if (word == 0 || word == UINT64_MAX) {
                if (word == 0) {
                    memcpy(r->data + i, src, 64);
                    memset(h, 0xff, 8);
                    fresh = true;
                }
                i += 64;
                src += 64;
                continue;
            }
        }
        if (i % 8 == 0 && j - i >= 8 && (*h == 0 || *h == 0xff)) {
            if (*h == 0) {
                memcpy(r->data + i, src, 8);
                *h = 0xff;
                fresh = true;
            }
            i += 8;
            src += 8;
            continue;
        }
        if (!((*h >> (i % 8)) & 1)) {
            r->data[i] = *src;
            *h |= (uint8_t)(1u << (i % 8));
            fresh = true;
        }
        i++;
        src++;
    }
    return fresh;
}

/* The end of the run of arrived bytes that starts at i (full bitmap words
 * and bytes skipped whole). */
static uint32_t run_from(const struct quic_reasm *r, uint32_t i)
{
    static const uint8_t all[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    while (i < r->touched) {
        if (i % 64 == 0 && memcmp(&r->have[i / 8], all, 8) == 0)
            i += 64;
        else if (i % 8 == 0 && r->have[i / 8] == 0xff)
            i += 8;
        else if (has(r, i))
            i++;
        else
            break;
    }
    return i;
}

uint32_t quic_reasm_add(struct quic_reasm *r, uint64_t off, const uint8_t *data, size_t len)
{
    if (!data || !len)
        return r->contiguous;
    uint64_t end = off + len;
    if (end < off || end <= r->base) { /* wrapped, or all already consumed */
        r->duplicates++;
        return r->contiguous;
    }
    if (off < r->base) {
        data += r->base - off;
        off = r->base;
    }
    uint64_t limit = r->base + QUIC_REASM_CAP;
    if (end > limit) {
        r->capped = true;
        end = limit;
    }
    if (off < end && !grow(r, (size_t)(end - r->base))) {
        r->capped = true;
        return r->contiguous;
    }
    bool fresh = off < end && fill(r, (size_t)(off - r->base), (size_t)(end - r->base), data);
    if (!fresh && off < end)
        r->duplicates++;
    r->contiguous = run_from(r, r->contiguous);
    return r->contiguous;
}

/* Move the window n bytes on, whatever arrived in them. */
static void shift(struct quic_reasm *r, uint32_t n)
{
    /* Only the part of the window that ever received bytes moves: usually
     * nothing lies beyond what is consumed, and the storage goes (a
     * connection past its hello holds none).  (touched bounds it without
     * scanning the bitmap from its end.) */
    size_t used = r->touched;
    if (used > n) {
        size_t keep = used - n;
        size_t last = (used + 7) / 8;
        memmove(r->data, r->data + n, keep);
        uint8_t bits[QUIC_REASM_CAP / 8] = { 0 };
        for (size_t i = 0; i < keep; i++)
            if (has(r, i + n))
                bits[i / 8] |= (uint8_t)(1u << (i % 8));
        memcpy(r->have, bits, last);
        r->touched = (uint32_t)keep;
    } else {
        quic_reasm_release(r);
    }
    r->base += n;
}

void quic_reasm_consume(struct quic_reasm *r, uint32_t n)
{
    if (n > r->contiguous)
        n = r->contiguous;
    if (!n)
        return;
    shift(r, n);
    r->contiguous -= n;
}

uint32_t quic_reasm_skip_hole(struct quic_reasm *r)
{
    if (r->contiguous)
        return 0;
    uint32_t i = 0;
    while (i < r->touched && !has(r, i))
        i++;
    if (i == 0 || i >= r->touched)
        return 0;
    shift(r, i);
    r->contiguous = run_from(r, r->contiguous);
    return i;
}
