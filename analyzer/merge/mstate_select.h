/* mstate_select.h - the first k of n records under a total order, without
 * sorting all n: the merge state keeps the first few thousand of tens of
 * thousands of hosts or SYN pairs, and a full sort of them was most of the
 * state's own cost on a capture of many clients. */
#ifndef SMBSCOPE_MSTATE_SELECT_H
#define SMBSCOPE_MSTATE_SELECT_H

#include <stddef.h>

/* Reorders base[0..n) (elements of size bytes) so that
 * base[0..k) holds the k first under cmp, in no particular order, and
 * base[k..n) the rest.  cmp must be a total order (no two elements equal):
 * the set kept is then the one a full sort would keep. */
void mstate_select(void *base, size_t n, size_t size, size_t k, int (*cmp)(const void *, const void *));

#endif
