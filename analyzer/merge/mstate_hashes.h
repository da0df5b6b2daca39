/* mstate_hashes.h - a distinct set's hashes past MSTATE_EXACT_CAP, carried
 * (the "exact_more" member of a set written as registers).
 *
 * A merge state writes a distinct set (distinct.h) of up to
 * MSTATE_EXACT_CAP hashes as their list, and a larger one as its
 * HyperLogLog registers and its count: merge then unites registers and
 * estimates.  One run counts exactly up to DISTINCT_DEFAULT_CAP, so the
 * merge of a run's own report of 4,800 UDP conversations said 4,863,
 * labelled an estimate.  A set the writer still holds whole (not sealed,
 * not estimating) now also carries every hash in one stream beside its
 * registers:
 *
 *   {"hll": HEX, "counted": N, "exact_more": {"n": N, "zlib": BASE64}}
 *
 * the N hashes sorted, each as its difference from the one before (the
 * first from 0) split in two: the high part a LEB128 varint, then the low
 * mstate_hashes_low_bytes(N) bytes big-endian (about 64 - log2 N bits of
 * a difference are noise: 7 bytes a hash at 4,800, 6 at 1,000,000).
 * Stored, not deflated (mstate_zrec.h; random bits do not shrink).
 *
 * An older smbscope reads the registers and ignores exact_more: the
 * estimate it always made, labelled so, and the set counted among the
 * state's folded ones (the writer still counts it there, as pairs_more's
 * SYN pairs; a reader that takes exact_more takes it back out). */
#ifndef SMBSCOPE_MSTATE_HASHES_H
#define SMBSCOPE_MSTATE_HASHES_H

#include <stdint.h>

#include "distinct.h"
#include "jget.h"
#include "json.h"

/* The low bytes of each difference in a stream of n hashes. */
unsigned mstate_hashes_low_bytes(uint64_t n);

/* exact_more of d (member of the object being written) when d holds its
 * hashes (neither sealed nor estimating) and more than MSTATE_EXACT_CAP
 * of them; nothing otherwise. */
void mstate_put_hashes_more(struct json *b, const struct distinct *d);

/* exact_more of o (the set's object at p), when there: its hashes added
 * to d (the registers then need no union: the hashes give them) and their
 * number returned; 0 when o has none (the caller unites the registers).
 * Refused (g failed) past DISTINCT_DEFAULT_CAP hashes, when its n is not
 * o's "counted", and when the stream is not n strictly increasing hashes. */
uint64_t mstate_get_hashes_more(struct jget *g, const struct jpath *p, JsonObject *o, struct distinct *d);

#endif
