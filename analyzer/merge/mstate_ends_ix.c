/* mstate_ends_ix.c - see mstate_ends_ix.h. */
#include "mstate_ends_ix.h"

#include <string.h>

#include "distinct.h"
#include "hash_mix.h"

struct mstate_ends_ix {
    const void *arr;
    guint len;         /* the array's length as the index knows it */
    GHashTable *slots; /* word -> GArray of guint slots, ascending */
    guint *fen;        /* Fenwick tree of removed slots (1-based), NULL until one */
    guint fen_n;
};

/* Keyed by the process's random number (distinct.h): a report's forged
 * ends cannot be chosen to share words and lengthen each look-up's walk.
 * The answer never depends on the key (each record is checked whole). */
static uint64_t mult(unsigned i) { return hash_spread(distinct_process_key() + 0x9e3779b97f4a7c15ull * (i + 1)) | 1; }

static uint64_t end_hash(const struct ip_addr *x, uint16_t p)
{
    uint64_t w0, w1;
    memcpy(&w0, x->bytes, 8);
    memcpy(&w1, x->bytes + 8, 8);
    uint64_t w2 = (uint64_t)x->family | (uint64_t)p << 8;
    return hash_spread(mult(0) * w0 + mult(1) * w1 + mult(2) * w2);
}

uint64_t mstate_ends_word(const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp, int64_t at)
{
    return hash_spread(end_hash(x, xp) + end_hash(y, yp) + mult(3) * (uint64_t)at);
}

struct mstate_ends_ix *mstate_ends_ix_new(const void *arr)
{
    struct mstate_ends_ix *ix = g_new0(struct mstate_ends_ix, 1);
    ix->arr = arr;
    ix->slots = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)g_array_unref);
    return ix;
}

void mstate_ends_ix_free(struct mstate_ends_ix *ix)
{
    if (!ix)
        return;
    g_hash_table_destroy(ix->slots);
    g_free(ix->fen);
    g_free(ix);
}

bool mstate_ends_ix_for(const struct mstate_ends_ix *ix, const void *arr, guint len)
{
    return ix && ix->arr == arr && ix->len == len;
}

void mstate_ends_ix_put(struct mstate_ends_ix *ix, uint64_t w, guint slot)
{
    gpointer k = GSIZE_TO_POINTER((gsize)w);
    GArray *s = g_hash_table_lookup(ix->slots, k);
    if (!s) {
        s = g_array_sized_new(FALSE, FALSE, sizeof(guint), 1);
        g_hash_table_insert(ix->slots, k, s);
    }
    guint at = s->len; /* nearly always appended: slots are put in order */
    while (at > 0 && g_array_index(s, guint, at - 1) > slot)
        at--;
    g_array_insert_val(s, at, slot);
    if (slot >= ix->len)
        ix->len = slot + 1;
}

void mstate_ends_ix_del(struct mstate_ends_ix *ix, uint64_t w, guint slot)
{
    GArray *s = g_hash_table_lookup(ix->slots, GSIZE_TO_POINTER((gsize)w));
    for (guint i = 0; s && i < s->len; i++)
        if (g_array_index(s, guint, i) == slot) {
            g_array_remove_index(s, i);
            return;
        }
}

const GArray *mstate_ends_ix_get(const struct mstate_ends_ix *ix, uint64_t w)
{
    return g_hash_table_lookup(ix->slots, GSIZE_TO_POINTER((gsize)w));
}

void mstate_ends_ix_removed(struct mstate_ends_ix *ix, uint64_t w, guint slot)
{
    mstate_ends_ix_del(ix, w, slot);
    if (!ix->fen) { /* the slots the array had when its first record went */
        ix->fen_n = ix->len;
        ix->fen = g_new0(guint, ix->fen_n + 1);
    }
    for (guint i = slot + 1; i <= ix->fen_n; i += i & -i)
        ix->fen[i]++;
    ix->len--;
}

guint mstate_ends_ix_place(const struct mstate_ends_ix *ix, guint slot)
{
    guint before = 0; /* slots removed below this one */
    for (guint i = slot < ix->fen_n ? slot : ix->fen_n; ix->fen && i > 0; i -= i & -i)
        before += ix->fen[i];
    return slot - before;
}

void mstate_ends_ix_removed_fast(struct mstate_ends_ix *ix, uint64_t w, guint slot, uint64_t last_w)
{
    guint last = ix->len - 1;
    mstate_ends_ix_del(ix, w, slot);
    if (slot != last) {
        mstate_ends_ix_del(ix, last_w, last);
        mstate_ends_ix_put(ix, last_w, slot);
    }
    ix->len = last;
}
