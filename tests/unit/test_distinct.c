/* distinct.h: the exact set's sizes and what --jobs' fold and the report
 * do with it (take, reserve, forget, seal, disjoint counts). */
#include <glib.h>
#include <string.h>

#include "distinct.h"

static uint64_t h(uint64_t i) { return distinct_hash(&i, sizeof i); }

static struct distinct *filled(uint64_t from, uint64_t n, uint32_t cap)
{
    struct distinct *d = distinct_new(cap);
    for (uint64_t i = from; i < from + n; i++)
        g_assert_true(distinct_add(d, h(i)));
    return d;
}

/* Grown by half, not doubled: a million hashes in at most 1,513,342 slots
 * (12 MiB; doubling took 2^21, 16 MiB), every one found. */
static void test_sizes(void)
{
    enum { N = 1000000 };
    struct distinct *d = filled(0, N, 0);
    uint32_t n;
    distinct_slots(d, &n);
    g_assert_cmpuint(distinct_count(d), ==, N);
    g_assert_cmpuint(n, <=, 1513342);
    g_assert_cmpuint((uint64_t)N * 4, <=, (uint64_t)n * 3);
    for (uint64_t i = 0; i < N; i++)
        g_assert_true(distinct_has(d, h(i)));
    g_assert_false(distinct_has(d, h(N)));
    g_assert_false(distinct_add(d, h(7)));
    distinct_free(d);
}

static void test_take_reserve_forget(void)
{
    struct distinct *src = filled(0, 5000, 0), *d = distinct_new(0), *e = filled(100000, 10, 0);
    g_assert_true(distinct_take(d, src));
    g_assert_cmpuint(distinct_count(d), ==, 5000);
    g_assert_cmpuint(distinct_count(src), ==, 0);
    g_assert_true(distinct_has(d, h(4999)));
    g_assert_false(distinct_take(d, e)); /* d is not empty */
    /* reserved once: adding what was reserved grows nothing */
    distinct_reserve(d, 20000);
    uint32_t n0, n1;
    distinct_slots(d, &n0);
    for (uint64_t i = 5000; i < 25000; i++)
        distinct_add(d, h(i));
    distinct_slots(d, &n1);
    g_assert_cmpuint(n0, ==, n1);
    g_assert_cmpuint(distinct_count(d), ==, 25000);
    distinct_forget(e);
    g_assert_true(distinct_is_estimate(e));
    g_assert_cmpuint(distinct_count(e), >=, 10);
    distinct_free(src);
    distinct_free(d);
    distinct_free(e);
}

/* Sealed: the exact count and the registers stay, the slots go. */
static void test_seal(void)
{
    struct distinct *small = filled(0, 100, 0), *big = filled(0, 5000, 0), *ref = filled(0, 5000, 0);
    distinct_seal(small, 4096);
    distinct_seal(big, 4096);
    uint32_t n;
    g_assert_nonnull(distinct_slots(small, &n));
    g_assert_true(distinct_has(small, h(3)));
    g_assert_null(distinct_slots(big, &n));
    g_assert_cmpuint(n, ==, 0);
    g_assert_false(distinct_is_estimate(big));
    g_assert_cmpuint(distinct_count(big), ==, 5000);
    g_assert_cmpmem(distinct_hll(big), DISTINCT_HLL_REGS, distinct_hll(ref), DISTINCT_HLL_REGS);
    g_assert_false(distinct_add(big, h(99999))); /* not counted: a sealed set is not added to */
    distinct_free(small);
    distinct_free(big);
    distinct_free(ref);
}

/* Disjoint sets: counts added, registers those of the union; small ones
 * (a merge state lists them) and sets past the cap as one set would. */
static void test_disjoint(void)
{
    struct distinct *a = filled(0, 3000, 0), *b = filled(3000, 3000, 0), *all = filled(0, 6000, 0);
    struct distinct *c = filled(10000, 100, 0), *e = filled(20000, 100, 0);
    g_assert_false(distinct_fold_disjoint(c, e, 4096)); /* 200: folded exactly by the caller */
    g_assert_true(distinct_fold_disjoint(a, b, 4096));
    g_assert_cmpuint(distinct_count(a), ==, 6000);
    g_assert_false(distinct_is_estimate(a));
    g_assert_cmpmem(distinct_hll(a), DISTINCT_HLL_REGS, distinct_hll(all), DISTINCT_HLL_REGS);
    distinct_add(a, h(7000)); /* a new one still counts */
    g_assert_cmpuint(distinct_count(a), ==, 6001);
    distinct_seal(a, 4096);
    g_assert_cmpuint(distinct_count(a), ==, 6001);
    struct distinct *p = filled(0, 80, 100), *q = filled(80, 80, 100), *one = filled(0, 100, 100);
    for (uint64_t i = 100; i < 160; i++)
        distinct_add(one, h(i));
    g_assert_true(distinct_fold_disjoint(p, q, 10));
    g_assert_true(distinct_is_estimate(p) && distinct_is_estimate(one));
    g_assert_cmpuint(distinct_count(p), ==, distinct_count(one));
    struct distinct *sets[] = { a, b, all, c, e, p, q, one };
    for (size_t i = 0; i < G_N_ELEMENTS(sets); i++)
        distinct_free(sets[i]);
}

/* Hashes in arithmetic progression, as a forged report's "exact" sets can
 * give them: a multiply-shift product's own top bits put their homes on a
 * Weyl sequence that bunches into runs for some multipliers; through
 * hash_spread() (hash_mix.h) the longest probe stays short. */
static uint32_t progression_longest(uint64_t key, uint64_t step)
{
    distinct_process_key_set(key);
    struct distinct *d = distinct_new(0);
    for (uint64_t i = 1; i <= 3000; i++)
        g_assert_true(distinct_add(d, i * step));
    uint32_t longest = distinct_longest_probe(d);
    distinct_free(d);
    return longest;
}

static void test_progressions(void)
{
    static const struct {
        uint64_t key, step;
    } crowded[] = { /* 626, 499, 400, 299 under the product's top bits */
                    { UINT64_C(0xa152c42fc00085b3), UINT64_C(1) << 32 },
                    { UINT64_C(0x443a75542aa97ce5), UINT64_C(1) << 32 },
                    { UINT64_C(0xee1f15af4924b123), UINT64_C(1) << 32 },
                    { UINT64_C(0x5ddda763d691dfc9), 3 } };
    uint32_t worst = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(crowded); i++)
        worst = MAX(worst, progression_longest(crowded[i].key, crowded[i].step));
    uint64_t x = UINT64_C(0xD157);
    for (int i = 0; i < 128; i++) {
        x += UINT64_C(0x9E3779B97F4A7C15);
        uint64_t k = x * UINT64_C(0xBF58476D1CE4E5B9) ^ x >> 29;
        worst = MAX(worst, progression_longest(k, 1));
        worst = MAX(worst, progression_longest(k, UINT64_C(1) << 32));
    }
    g_test_message("longest probe over %zu sets: %u", G_N_ELEMENTS(crowded) + 256, worst);
    g_assert_cmpuint(worst, <, 100);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/distinct/sizes", test_sizes);
    g_test_add_func("/distinct/take-reserve-forget", test_take_reserve_forget);
    g_test_add_func("/distinct/seal", test_seal);
    g_test_add_func("/distinct/disjoint", test_disjoint);
    g_test_add_func("/distinct/progressions", test_progressions);
    return g_test_run();
}
