/* mstate_select.c - quickselect; see mstate_select.h. */
#include "mstate_select.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SELECT_SMALL 16 /* a range this small is sorted */

static void swap(char *a, char *b, size_t size)
{
    char t[64];
    while (size) {
        size_t n = size < sizeof t ? size : sizeof t;
        memcpy(t, a, n);
        memcpy(a, b, n);
        memcpy(b, t, n);
        a += n;
        b += n;
        size -= n;
    }
}

/* The median of three elements at pseudo-random places of [lo, hi) moved to
 * its front, as the pivot.  Fixed places (first, middle, last) went wrong
 * on real input: the order a partition leaves behind made the median of
 * them the range's largest element round after round (20,100 host views,
 * k = 10,000: the budget ran out and the rest was sorted).  The places come
 * from a fixed sequence: the same input, the same work. */
static void pivot_to_front(char *b, size_t lo, size_t hi, size_t size, uint64_t *rng,
                           int (*cmp)(const void *, const void *))
{
    size_t at[3];
    for (int i = 0; i < 3; i++) {
        *rng ^= *rng << 13; /* xorshift64 */
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        at[i] = lo + (size_t)(*rng % (hi - lo));
    }
    char *x = b + at[0] * size, *y = b + at[1] * size, *z = b + at[2] * size;
    char *m = cmp(x, y) < 0 ? (cmp(y, z) < 0 ? y : cmp(x, z) < 0 ? z : x)
                            : (cmp(x, z) < 0 ? x : cmp(y, z) < 0 ? z : y);
    if (m != b + lo * size)
        swap(m, b + lo * size, size);
}

void mstate_select(void *base, size_t n, size_t size, size_t k, int (*cmp)(const void *, const void *))
{
    if (k >= n || size == 0)
        return; /* every element is among the first k */
    char *b = base;
    size_t lo = 0, hi = n; /* [0, lo) come before [lo, hi), which come before [hi, n) */
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    /* about 2 log2(n) rounds: more means bad pivots (an adversarial
     * order), and the rest is sorted instead (n log n at worst) */
    unsigned budget = 2;
    for (size_t m = n; m; m >>= 1)
        budget += 2;
    while (hi - lo > SELECT_SMALL && lo < k && k < hi) {
        if (budget-- == 0)
            break;
        pivot_to_front(b, lo, hi, size, &rng, cmp);
        /* Hoare's partition (a swap per pair out of place, not one per
         * element before the pivot); the pivot at lo stops the downward
         * scan, the range's end the upward one */
        char *p = b + lo * size;
        size_t i = lo, j = hi;
        for (;;) {
            do
                i++;
            while (i < hi && cmp(b + i * size, p) < 0);
            do
                j--;
            while (cmp(b + j * size, p) > 0);
            if (i >= j)
                break;
            swap(b + i * size, b + j * size, size);
        }
        size_t at = j; /* [lo + 1, j] before the pivot, (j, hi) after: its place in order */
        if (at != lo)
            swap(p, b + at * size, size);
        if (k <= at)
            hi = at;
        else
            lo = at + 1;
    }
    if (lo < k && k < hi)
        qsort(b + lo * size, hi - lo, size, cmp);
}
