/* part_sketch.h - a bounded sample of the records of a capture part, so that
 * `smbscope merge` can tell two parts that share packets (overlapping cuts
 * of one capture: `editcap -r 1-1000` and `-r 500-1500`) from two parts
 * that do not, where part_id (part_id.h) only tells equal parts.
 *
 * Each record analysed gets a 64-bit hash of what any reader of the file
 * gives (its time in microseconds, wire length, first 64 bytes: link,
 * network and transport headers:
 * capture_head.h's record, shorter) and a level, the hash's leading zero
 * bits (level k: one record in 2^(k+1)).  The sketch keeps, all by hash
 * value, so that two parts holding the same record keep it alike:
 *   - sample: every record of level >= L, L raised (the sample halved)
 *     whenever more than PART_SKETCH_SAMPLE are kept: shared records of a
 *     level that both parts' L reach are in both samples;
 *   - edges: for each level k, the first and the last PART_SKETCH_EDGE
 *     records of that level.  Two cuts of one capture that overlap share
 *     the end of one and the start of the other; at the level where that
 *     overlap holds 1..PART_SKETCH_EDGE records of the level, all of them
 *     are the first of their level in one part and the last in the other:
 *     an overlap of one packet or of a million is caught alike (missed
 *     only when no level holds 1..16 of the shared records: for an overlap
 *     of more than a few records, the product of the levels' chances, far
 *     under one in a million).
 * A part B of consecutive records of a larger part A (a cut of it) is
 * caught exactly when B holds a record A kept (B keeps it too: B's sample
 * level is no higher, a record first or last of its level in A is so in
 * B): A's first and last PART_SKETCH_EDGE records always; a record d
 * records from an end when fewer than PART_SKETCH_EDGE of its level lie
 * between (most of those within about 16 * 2^(level+1)); in the middle only
 * A's sample, one record in 2^L.  So a part of m records in the middle of
 * n is caught with a chance of 1 - (1 - 2^-L)^m, 2^L about n/384: measured
 * on n = 200,000 (L 9, 300 places each) 0.61 for m = 512, 0.88 for 1,024,
 * 0.99 for 2,048; 16 records 1,024 records from an end 0.33-0.38, 64 there
 * 0.81-0.84 (tests/bench/RESULTS.md; tests/e2e/overlap_bound_check.py pins
 * it with part_sketch_model.py).  A bounded sketch cannot do much better:
 * to catch every run of m records of n it must keep at least n/m of them
 * (a run of records without a kept one is not caught), so catching parts
 * much under n/PART_SKETCH_SAMPLE needs a larger sample (bigger reports),
 * not another check; choosing the kept records by a sliding window's
 * minimum hash (winnowing) would make the catch certain from about
 * 2n/PART_SKETCH_SAMPLE, at a window's cost a record.  Not caught either:
 * parts whose records were changed (other times, other link headers:
 * another sensor, a conversion that rounds the times), which are other
 * traffic to merge and count twice (README).
 *
 * Cost per record: the hash (one 64x64->128 multiplication) and two
 * stores; the sample's insertion happens for about
 * PART_SKETCH_SAMPLE * log2(n) records of a part. */
#ifndef SMBSCOPE_PART_SKETCH_H
#define SMBSCOPE_PART_SKETCH_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "capture.h"

#define PART_SKETCH_EDGE 16u   /* first and last records of each level */
#define PART_SKETCH_LEVELS 40u /* levels told apart (the last: 39 and above) */
#define PART_SKETCH_SAMPLE 512u
/* What a sketch holds at most (a state's is refused past it). */
#define PART_SKETCH_MAX (PART_SKETCH_SAMPLE + 2u * PART_SKETCH_EDGE * PART_SKETCH_LEVELS)
#define PART_SKETCH_BYTES 64u /* of a record's data hashed (part_sketch_hash()) */

struct part_sketch {
    uint64_t n[PART_SKETCH_LEVELS]; /* records of each level */
    uint64_t head[PART_SKETCH_LEVELS][PART_SKETCH_EDGE];
    uint64_t tail[PART_SKETCH_LEVELS][PART_SKETCH_EDGE]; /* a ring: record i of a level at i % EDGE */
    uint64_t sample[PART_SKETCH_SAMPLE + 1];
    uint32_t sampled;
    uint32_t level; /* the sample's L */
};

/* The finished sketch of an input: its hashes sorted, each once. */
struct part_overlap {
    uint64_t *hashes; /* g_free */
    uint32_t n;
    uint32_t level; /* the sample's L: a record in 2^L of the part sampled */
};

/* One load (and a swap on a big-endian machine).  Not a loop of byte
 * shifts: gcc fuses those into a load only where it unrolls the loop
 * before its bswap pass, which it did in one run's reader but not where
 * LTO inlined the sketch into capture_next() (--jobs' reader: eight loads,
 * shifts and ors each, 190 instructions a record). */
static inline uint64_t part_sketch_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* The 128-bit product's halves folded (wyhash's "mum"); the same on every
 * machine: reports made on one are merged on another. */
static inline uint64_t part_sketch_mum(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    __extension__ typedef unsigned __int128 u128;
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t ah = a >> 32, al = (uint32_t)a, bh = b >> 32, bl = (uint32_t)b;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    uint64_t lo = (mid << 32) | (uint32_t)ll;
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return lo ^ hi;
#endif
}

uint64_t part_sketch_hash_short(const struct capture_record *rec);

/* A record's identity in sketches (not its part's: part_id.h): its time in
 * microseconds, wire length and first 64 bytes (a record of 32 to 63: its
 * first 32 and its last 32), folded into two words (the even and the odd
 * ones: a difference cancels only against the same one 16 bytes further,
 * never by chance in real headers), mixed by one 64x64->128
 * multiplication: about 20 instructions.  Not its captured length nor its
 * link type: a copy cut to a shorter snap length (editcap -s 64 and more)
 * holds the same packets.  No defence against a capture forged to look like
 * another's records (it can only make merge refuse the two). */
static inline uint64_t part_sketch_hash(const struct capture_record *rec)
{
    if (rec->caplen < PART_SKETCH_BYTES / 2)
        return part_sketch_hash_short(rec);
    const uint8_t *p = rec->data;
    const uint8_t *q = p + (rec->caplen < PART_SKETCH_BYTES ? rec->caplen : PART_SKETCH_BYTES) - PART_SKETCH_BYTES / 2;
    uint64_t even = part_sketch_le64(p) ^ part_sketch_le64(p + 16) ^ part_sketch_le64(q) ^ part_sketch_le64(q + 16);
    uint64_t odd = part_sketch_le64(p + 8) ^ part_sketch_le64(p + 24) ^ part_sketch_le64(q + 8) ^ part_sketch_le64(q + 24);
    return part_sketch_mum(even ^ (uint64_t)rec->ts_us ^ 0xa0761d6478bd642fu, odd ^ rec->wirelen ^ 0xe7037ed1a0b428dbu);
}

static inline unsigned part_sketch_level(uint64_t h)
{
    unsigned k = 0;
    h |= 1; /* 0 counts as 1: level 63, past the last */
#if defined(__GNUC__)
    k = (unsigned)__builtin_clzll(h);
#else
    while (!(h >> (63 - k) & 1))
        k++;
#endif
    return k < PART_SKETCH_LEVELS ? k : PART_SKETCH_LEVELS - 1;
}

void part_sketch_sample(struct part_sketch *s, uint64_t h);

/* One record analysed (s zeroed before the first). */
static inline void part_sketch_add(struct part_sketch *s, const struct capture_record *rec)
{
    uint64_t h = part_sketch_hash(rec);
    unsigned k = part_sketch_level(h);
    uint64_t i = s->n[k]++;
    s->tail[k][i % PART_SKETCH_EDGE] = h;
    if (i < PART_SKETCH_EDGE)
        s->head[k][i] = h;
    if (k >= s->level)
        part_sketch_sample(s, h);
}

/* s's hashes, sorted and each once, into out (out->n 0: no record). */
void part_sketch_finish(const struct part_sketch *s, struct part_overlap *out);
void part_overlap_clear(struct part_overlap *o);

/* The state's form: base64 of the hashes, 8 octets each little-endian. */
char *part_overlap_encode(const struct part_overlap *o);
/* text into out (false: why in err: not what part_overlap_encode() writes,
 * sorted and each once, at most PART_SKETCH_MAX hashes). */
bool part_overlap_decode(const char *text, uint32_t level, struct part_overlap *out, const char **err);

#endif
