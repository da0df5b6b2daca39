/* quic_reasm.h - bounded reassembly of a QUIC byte stream by offset.
 *
 * Used for CRYPTO frames (a ClientHello with large key shares spans several
 * Initial packets, out of order, duplicated) and for STREAM frames when keys
 * are known.  The buffer is caller-owned and fixed: bytes past the cap are
 * dropped and `capped` says so; a bitmap remembers which bytes arrived. */
#ifndef SMBSCOPE_QUIC_REASM_H
#define SMBSCOPE_QUIC_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUIC_REASM_CAP 8192u

struct quic_reasm {
    uint64_t base;        /* stream offset of data[0] */
    uint32_t contiguous;  /* bytes of data[] received without a gap from base */
    bool capped;          /* data beyond base + QUIC_REASM_CAP was dropped */
    uint32_t duplicates;  /* fragments that brought no new byte */
    uint32_t touched;     /* no bitmap bit at or past this window byte is set */
    uint8_t data[QUIC_REASM_CAP];
    uint8_t have[QUIC_REASM_CAP / 8];
};

/* Also the initialiser: data[] needs no zeroing (only bytes the bitmap
 * marks are ever read), so a caller may allocate without clearing. */
void quic_reasm_reset(struct quic_reasm *r, uint64_t base);
/* Add bytes at stream offset off; returns the new contiguous length. */
uint32_t quic_reasm_add(struct quic_reasm *r, uint64_t off, const uint8_t *data, size_t len);
/* Drop n contiguous bytes from the front (they were consumed). */
void quic_reasm_consume(struct quic_reasm *r, uint32_t n);
/* Nothing contiguous but bytes further on (what was missing will not come:
 * the connection ends): move to them; returns the hole's length (0: none). */
uint32_t quic_reasm_skip_hole(struct quic_reasm *r);

#endif
