/* distinct.c - exact set of 64-bit hashes (open addressing) up to a cap,
 * HyperLogLog (2^14 registers, ~0.8 % standard error) fed from the start so
 * the estimate is ready when the cap is passed. */
#include "distinct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#define HLL_BITS 14
#define HLL_REGS (1u << HLL_BITS)
_Static_assert(HLL_REGS == DISTINCT_HLL_REGS, "distinct.h exports the register count");

struct distinct {
    uint64_t *slots;   /* 0 = empty; a hash of 0 is stored as 1 */
    uint64_t mul;      /* slot_of()'s multiplier */
    uint32_t nslots, used, cap;
    bool estimating;
    uint8_t hll[HLL_REGS];
};

#define FNV_PRIME 1099511628211ull
#define FNV_STEP(h, x) ((h) = ((h) ^ (uint8_t)(x)) * FNV_PRIME)

/* FNV-1a over the bytes, then a finaliser.  The values are part of merge
 * states and decide report order (census slots), so the function never
 * changes; the loop is unrolled by eight (no loop test between steps: three
 * instructions a byte instead of six, on the 20- to 40-byte keys hashed
 * per connection), with the same result. */
uint64_t distinct_hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        FNV_STEP(h, b[i]);
        FNV_STEP(h, b[i + 1]);
        FNV_STEP(h, b[i + 2]);
        FNV_STEP(h, b[i + 3]);
        FNV_STEP(h, b[i + 4]);
        FNV_STEP(h, b[i + 5]);
        FNV_STEP(h, b[i + 6]);
        FNV_STEP(h, b[i + 7]);
    }
    for (; i < n; i++)
        FNV_STEP(h, b[i]);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* Odd, random, one per process (sets of the same hashes added in the same
 * order have the same slots: tests compare them). */
static uint64_t process_mul(void)
{
    static gsize once = 0;
    static uint64_t mul;
    if (g_once_init_enter(&once)) {
        mul = ((uint64_t)g_random_int() << 32 | g_random_int()) | 1;
        g_once_init_leave(&once, 1);
    }
    return mul;
}

struct distinct *distinct_new(uint32_t exact_cap)
{
    struct distinct *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->cap = exact_cap ? exact_cap : DISTINCT_DEFAULT_CAP;
    d->mul = process_mul();
    return d;
}

void distinct_free(struct distinct *d)
{
    if (!d)
        return;
    free(d->slots);
    free(d);
}

static void hll_add(struct distinct *d, uint64_t h)
{
    uint32_t idx = (uint32_t)(h >> (64 - HLL_BITS));
    uint64_t rest = h << HLL_BITS;
    uint8_t rank = 1;
    while (rank <= 64 - HLL_BITS && !(rest & (1ull << 63))) {
        rank++;
        rest <<= 1;
    }
    if (rank > d->hll[idx])
        d->hll[idx] = rank;
}

/* A hash's first slot: the top bits of its product with the set's random
 * odd multiplier (multiply-shift, a universal family), not its low bits.
 * The hashes a merge reads are the reports' ("exact": [...]), anyone's to
 * choose: 64 reports of 4,096 hashes with the same low 24 bits made one run
 * of slots that every insert walked (38 s, the square of their number).
 * The multiplier is drawn once per process, unknown to the reports.
 * The sets are written sorted, so the slots' order shows nowhere. */
static uint32_t slot_of(uint64_t mul, uint64_t h, uint32_t nslots)
{
    return (uint32_t)((h * mul) >> (64 - __builtin_ctz(nslots)));
}

static bool insert(uint64_t *slots, uint32_t nslots, uint64_t mul, uint64_t h)
{
    uint32_t mask = nslots - 1;
    for (uint32_t i = slot_of(mul, h, nslots);; i = (i + 1) & mask) {
        if (slots[i] == h)
            return false;
        if (!slots[i]) {
            slots[i] = h;
            return true;
        }
    }
}

static bool grow(struct distinct *d)
{
    uint32_t n = d->nslots ? d->nslots * 2 : 1024;
    uint64_t *s = calloc(n, sizeof *s);
    if (!s)
        return false;
    for (uint32_t i = 0; i < d->nslots; i++)
        if (d->slots[i])
            insert(s, n, d->mul, d->slots[i]);
    free(d->slots);
    d->slots = s;
    d->nslots = n;
    return true;
}

bool distinct_add(struct distinct *d, uint64_t hash)
{
    hll_add(d, hash);
    if (d->estimating)
        return false;
    uint64_t h = hash ? hash : 1;
    /* at most 3/4 full (linear probing: 2.5 probes a hit, 8.5 a miss):
     * at half, a set just past a power of two took twice its slots (the
     * NetBIOS overflow's 263,616 flows on 280,000 connections: 8 MiB) */
    if ((uint64_t)(d->used + 1) * 4 > (uint64_t)d->nslots * 3 && !grow(d)) {
        d->estimating = true; /* no memory: fall back to the estimate */
        return false;
    }
    if (!insert(d->slots, d->nslots, d->mul, h))
        return false;
    if (++d->used > d->cap) {
        /* past the cap: drop the exact set, keep estimating */
        d->estimating = true;
        free(d->slots);
        d->slots = NULL;
        d->nslots = 0;
    }
    return true;
}

bool distinct_is_estimate(const struct distinct *d) { return d->estimating; }

bool distinct_has(const struct distinct *d, uint64_t hash)
{
    if (d->estimating || !d->nslots)
        return false;
    uint64_t h = hash ? hash : 1;
    uint32_t mask = d->nslots - 1;
    for (uint32_t i = slot_of(d->mul, h, d->nslots); d->slots[i]; i = (i + 1) & mask)
        if (d->slots[i] == h)
            return true;
    return false;
}

struct distinct *distinct_new_estimator(void)
{
    struct distinct *d = distinct_new(1);
    if (d)
        d->estimating = true;
    return d;
}

uint64_t distinct_count(const struct distinct *d)
{
    if (!d->estimating)
        return d->used;
    uint64_t e = distinct_estimate(d);
    return e < d->cap ? d->cap : e; /* never below what was counted exactly */
}

uint64_t distinct_estimate(const struct distinct *d)
{
    /* The raw estimate is good far above 2.5 * HLL_REGS (a run estimates
     * only past the exact cap, >= 2^20 by default); below it, with empty
     * registers left, linear counting (Flajolet et al. 2007, the small-range
     * correction): smbscope merge unites the registers of small sets. */
    double sum = 0;
    uint32_t zeros = 0;
    for (uint32_t i = 0; i < HLL_REGS; i++) {
        sum += 1.0 / (double)(1ull << d->hll[i]);
        zeros += d->hll[i] == 0;
    }
    double m = HLL_REGS, e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (e <= 2.5 * m && zeros)
        e = m * log(m / zeros);
    return (uint64_t)(e + 0.5);
}

const uint64_t *distinct_slots(const struct distinct *d, uint32_t *nslots)
{
    *nslots = d->estimating ? 0 : d->nslots;
    return d->estimating ? NULL : d->slots;
}

const uint8_t *distinct_hll(const struct distinct *d) { return d->hll; }

void distinct_union_hll(struct distinct *d, const uint8_t regs[DISTINCT_HLL_REGS])
{
    for (uint32_t i = 0; i < HLL_REGS; i++)
        if (regs[i] > d->hll[i])
            d->hll[i] = regs[i];
    if (!d->estimating) {
        /* what was counted exactly stays a lower bound (distinct_count);
         * the exact cap is not one: a merge unites the registers of sets
         * far smaller than it (a merge state writes a set of a few
         * thousand as its registers) */
        d->cap = d->used;
        d->estimating = true;
        free(d->slots);
        d->slots = NULL;
        d->nslots = 0;
    }
}
