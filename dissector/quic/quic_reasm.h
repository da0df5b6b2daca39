/* quic_reasm.h - bounded reassembly of a QUIC byte stream by offset.
 *
 * Used for CRYPTO frames (a ClientHello with large key shares spans several
 * Initial packets, out of order, duplicated) and for STREAM frames when keys
 * are known.  The window is QUIC_REASM_CAP bytes from base: bytes past it
 * are dropped and `capped` says so; a bitmap remembers which bytes arrived.
 * Its storage is allocated on demand, sized by what arrives (a ClientHello
 * of a kilobyte takes 2 KiB, not the whole window), and released as soon as
 * the window holds no byte again (the hello was consumed): a connection
 * waiting for its peer holds none. */
#ifndef SMBSCOPE_QUIC_REASM_H
#define SMBSCOPE_QUIC_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUIC_REASM_CAP 8192u
#define QUIC_REASM_MIN 1024u /* the smallest storage: window bytes, a power of two */

struct quic_reasm {
    uint64_t base;        /* stream offset of data[0] */
    uint32_t contiguous;  /* bytes of data[] received without a gap from base */
    bool capped;          /* data beyond base + QUIC_REASM_CAP was dropped */
    uint32_t duplicates;  /* fragments that brought no new byte */
    uint32_t touched;     /* no bitmap bit at or past this window byte is set */
    uint32_t size;        /* window bytes data[] holds (0: no storage) */
    uint8_t *data;        /* size bytes, then have: one allocation */
    uint8_t *have;        /* size / 8 bytes */
};

/* The initialiser: an empty window at base, no storage. */
void quic_reasm_init(struct quic_reasm *r, uint64_t base);
/* An initialised one emptied, at base (its storage released). */
void quic_reasm_reset(struct quic_reasm *r, uint64_t base);
/* Its storage released (the end of its use; reset or add may follow). */
void quic_reasm_release(struct quic_reasm *r);
/* Bytes of storage it holds now. */
size_t quic_reasm_storage(const struct quic_reasm *r);
/* Some byte past a hole is held (what an in-order fast path must not skip). */
static inline bool quic_reasm_pending(const struct quic_reasm *r) { return r->touched != 0; }
/* Add bytes at stream offset off; returns the new contiguous length. */
uint32_t quic_reasm_add(struct quic_reasm *r, uint64_t off, const uint8_t *data, size_t len);
/* Drop n contiguous bytes from the front (they were consumed). */
void quic_reasm_consume(struct quic_reasm *r, uint32_t n);
/* Nothing contiguous but bytes further on (what was missing will not come:
 * the connection ends): move to them; returns the hole's length (0: none). */
uint32_t quic_reasm_skip_hole(struct quic_reasm *r);

#endif
