/* distinct.c - exact set of 64-bit hashes (open addressing) up to a cap,
 * HyperLogLog (2^14 registers, ~0.8 % standard error) fed from the start so
 * the estimate is ready when the cap is passed. */
#include "distinct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "hash_mix.h"

#define HLL_BITS 14
#define HLL_REGS (1u << HLL_BITS)
_Static_assert(HLL_REGS == DISTINCT_HLL_REGS, "distinct.h exports the register count");

struct distinct {
    uint64_t *slots;   /* 0 = empty; a hash of 0 is stored as 1 */
    uint64_t mul;      /* home()'s multiplier */
    uint32_t nslots, used, cap;
    uint32_t apart; /* distinct_fold_disjoint(): hashes counted, none in the slots */
    bool estimating;
    bool sealed; /* distinct_seal(): counted exactly, the slots given back */
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
    return hash_spread(h);
}

/* Odd, random, one per process (sets of the same hashes added in the same
 * order have the same slots: tests compare them). */
static uint64_t process_key;

uint64_t distinct_process_key(void)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        process_key = ((uint64_t)g_random_int() << 32 | g_random_int()) | 1;
        g_once_init_leave(&once, 1);
    }
    return process_key;
}

void distinct_process_key_set(uint64_t key)
{
    (void)distinct_process_key();
    process_key = key | 1;
}

struct distinct *distinct_new(uint32_t exact_cap)
{
    struct distinct *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->cap = exact_cap ? exact_cap : DISTINCT_DEFAULT_CAP;
    d->mul = distinct_process_key();
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

/* A hash's home slot: its product with the set's random odd multiplier
 * (multiply-shift, a universal family), through hash_spread() (hash_mix.h:
 * the product's own top bits bunch hashes in arithmetic progression into
 * runs), scaled to the table.
 * Not the hash's own low bits: the hashes a merge reads are the reports'
 * ("exact": [...]), anyone's to choose, and 64 reports of 4,096 hashes with
 * the same low 24 bits made one run of slots that every insert walked (38 s,
 * the square of their number).  The multiplier is drawn once per process,
 * unknown to the reports; the sets are written sorted, so the slots' order
 * shows nowhere.  Scaled rather than masked, any table size works: the table
 * grows by half, and a million hashes take 1.5 M slots, 12 MiB, where
 * doubling gave them 2 M, 16 MiB. */
static inline uint32_t home(uint64_t mul, uint64_t h, uint32_t nslots)
{
    return (uint32_t)(((hash_spread(h * mul) >> 32) * (uint64_t)nslots) >> 32); /* hash_mix.h */
}

static inline uint32_t next(uint32_t i, uint32_t nslots) { return i + 1 == nslots ? 0 : i + 1; }

/* The sizes a table takes: 1024, then half again each time. */
static uint64_t grown(uint64_t n) { return n ? n + n / 2 : 1024; }

static bool insert(uint64_t *slots, uint32_t nslots, uint64_t mul, uint64_t h)
{
    for (uint32_t i = home(mul, h, nslots);; i = next(i, nslots)) {
        if (slots[i] == h)
            return false;
        if (!slots[i]) {
            slots[i] = h;
            return true;
        }
    }
}

/* The set in a table of n slots (false: too many, or no memory). */
static bool resize(struct distinct *d, uint64_t n)
{
    if (n > UINT32_MAX)
        return false;
    uint64_t *s = calloc(n, sizeof *s);
    if (!s)
        return false;
    for (uint32_t i = 0; i < d->nslots; i++)
        if (d->slots[i])
            insert(s, (uint32_t)n, d->mul, d->slots[i]);
    free(d->slots);
    d->slots = s;
    d->nslots = (uint32_t)n;
    return true;
}

uint32_t distinct_longest_probe(const struct distinct *d)
{
    uint32_t longest = 0;
    for (uint32_t i = 0; i < d->nslots; i++)
        if (d->slots[i]) {
            uint32_t h = home(d->mul, d->slots[i], d->nslots), dist = i >= h ? i - h : i + d->nslots - h;
            longest = dist > longest ? dist : longest;
        }
    return longest;
}

static bool grow(struct distinct *d) { return resize(d, grown(d->nslots)); }

static void drop_slots(struct distinct *d)
{
    free(d->slots);
    d->slots = NULL;
    d->nslots = 0;
}

/* The exact set dropped: estimating from here on. */
static void estimate(struct distinct *d)
{
    d->estimating = true;
    drop_slots(d);
}

static void hll_max(uint8_t *to, const uint8_t *from)
{
    for (uint32_t i = 0; i < HLL_REGS; i++)
        if (from[i] > to[i])
            to[i] = from[i];
}

bool distinct_take(struct distinct *d, struct distinct *src)
{
    if (d == src || d->estimating || src->estimating || d->sealed || src->sealed || d->used || d->cap != src->cap)
        return false;
    free(d->slots);
    d->slots = src->slots;
    d->nslots = src->nslots;
    d->used = src->used;
    d->apart = src->apart;
    src->slots = NULL;
    src->nslots = src->used = src->apart = 0;
    hll_max(d->hll, src->hll);
    return true;
}

/* The slots a set of n hashes takes at 3/4 full at most (a size grow() makes). */
static uint64_t slots_for(uint64_t n)
{
    uint64_t s = grown(0);
    while (n * 4 > s * 3)
        s = grown(s);
    return s;
}

void distinct_reserve(struct distinct *d, uint64_t more)
{
    if (d->estimating || d->sealed)
        return;
    uint64_t want = d->used + more;
    if (want > (uint64_t)d->cap + 1)
        want = (uint64_t)d->cap + 1; /* past the cap the set goes: never more than it holds */
    uint64_t n = slots_for(want);
    if (n > d->nslots)
        resize(d, n); /* failing, the set grows a step at a time as before */
}

bool distinct_fold_disjoint(struct distinct *d, struct distinct *src, uint32_t above)
{
    uint64_t total = (uint64_t)d->used + d->apart + src->used + src->apart;
    if (d == src || d->estimating || src->estimating || src->sealed || total <= above)
        return false;
    hll_max(d->hll, src->hll);
    if (total > d->cap) { /* past the cap as the set of both would be: estimating */
        estimate(d);
        return true;
    }
    d->apart += src->used + src->apart;
    return true;
}

void distinct_seal(struct distinct *d, uint32_t above)
{
    if (d->estimating || (uint64_t)d->used + d->apart <= above)
        return;
    drop_slots(d);
    d->sealed = true;
}

void distinct_forget(struct distinct *d)
{
    if (d->estimating)
        return;
    d->cap = d->used + d->apart > 0 ? d->used + d->apart : 1;
    estimate(d);
}

bool distinct_add(struct distinct *d, uint64_t hash)
{
    hll_add(d, hash);
    if (d->estimating || d->sealed)
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
    if ((uint64_t)++d->used + d->apart > d->cap) {
        /* past the cap: drop the exact set, keep estimating */
        estimate(d);
    }
    return true;
}

bool distinct_is_estimate(const struct distinct *d) { return d->estimating; }

bool distinct_has(const struct distinct *d, uint64_t hash)
{
    if (d->estimating || !d->nslots)
        return false;
    uint64_t h = hash ? hash : 1;
    for (uint32_t i = home(d->mul, h, d->nslots); d->slots[i]; i = next(i, d->nslots))
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
        return (uint64_t)d->used + d->apart;
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
    hll_max(d->hll, regs);
    if (!d->estimating) {
        /* what was counted exactly stays a lower bound (distinct_count);
         * the exact cap is not one: a merge unites the registers of sets
         * far smaller than it (a merge state writes a set of a few
         * thousand as its registers) */
        d->cap = d->used + d->apart;
        estimate(d);
    }
}
