/* mstate_select.c - quickselect; see mstate_select.h. */
#include "mstate_select.h"

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

/* The median of the range's first, middle and last elements moved to its
 * front, as the pivot. */
static void pivot_to_front(char *b, size_t lo, size_t hi, size_t size, int (*cmp)(const void *, const void *))
{
    char *x = b + lo * size, *y = b + (lo + (hi - lo) / 2) * size, *z = b + (hi - 1) * size;
    if (cmp(y, x) < 0)
        swap(x, y, size);
    if (cmp(z, y) < 0) {
        swap(y, z, size);
        if (cmp(y, x) < 0)
            swap(x, y, size);
    }
    swap(x, y, size); /* x <= y <= z: the median y to the front */
}

void mstate_select(void *base, size_t n, size_t size, size_t k, int (*cmp)(const void *, const void *))
{
    if (k >= n || size == 0)
        return; /* every element is among the first k */
    char *b = base;
    size_t lo = 0, hi = n; /* [0, lo) come before [lo, hi), which come before [hi, n) */
    /* about 2 log2(n) rounds: more means bad pivots (an adversarial
     * order), and the rest is sorted instead (n log n at worst) */
    unsigned budget = 2;
    for (size_t m = n; m; m >>= 1)
        budget += 2;
    while (hi - lo > SELECT_SMALL && lo < k && k < hi) {
        if (budget-- == 0)
            break;
        pivot_to_front(b, lo, hi, size, cmp);
        char *p = b + lo * size;
        size_t store = lo + 1;
        for (size_t i = lo + 1; i < hi; i++)
            if (cmp(b + i * size, p) < 0) {
                if (i != store)
                    swap(b + i * size, b + store * size, size);
                store++;
            }
        size_t at = store - 1; /* the pivot's place in order */
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
