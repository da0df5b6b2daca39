/* mstate_ends_ix.c - see mstate_ends_ix.h.
 *
 * A chained hash table of compact entries (16 bytes a record and 4 a
 * bucket: merge keeps the index of every edge's NetBIOS record and tail
 * through its joins, and a GArray per word cost ten times that).  Each
 * bucket's chain is kept in ascending slot order, so a word's slots come
 * in the array's order. */
#include "mstate_ends_ix.h"

#include <string.h>

#include "distinct.h"
#include "hash_mix.h"

struct ends_ent {
    uint64_t w;
    guint slot;
    guint next; /* the next entry of the bucket + 1, 0: the last */
};

struct mstate_ends_ix {
    const void *arr;
    guint len;        /* the array's length as the index knows it */
    GArray *ents;     /* struct ends_ent */
    guint free_head;  /* a deleted entry to use again + 1 (chained by next), 0: none */
    guint *heads;     /* per bucket, its first entry + 1 */
    guint n_buckets;  /* a power of two */
    guint count;      /* entries in the table */
    guint *fen;       /* Fenwick tree of removed slots (1-based), NULL until one */
    guint fen_n;
};

/* Keyed by the process's random number (distinct.h): a report's forged
 * ends cannot be chosen to share words or buckets and lengthen each
 * look-up's walk.  The answer never depends on the key (each record is
 * checked whole by the caller). */
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

static struct ends_ent *ent(const struct mstate_ends_ix *ix, guint id1) { return &g_array_index(ix->ents, struct ends_ent, id1 - 1); }

static guint bucket(const struct mstate_ends_ix *ix, uint64_t w) { return (guint)(w >> 32) & (ix->n_buckets - 1); }

/* Entry id1 into its bucket's chain, by slot. */
static void link_in(struct mstate_ends_ix *ix, guint id1)
{
    struct ends_ent *e = ent(ix, id1);
    guint *at = &ix->heads[bucket(ix, e->w)];
    while (*at && ent(ix, *at)->slot < e->slot)
        at = &ent(ix, *at)->next;
    e->next = *at;
    *at = id1;
}

static void grow(struct mstate_ends_ix *ix)
{
    guint n = ix->n_buckets ? 2 * ix->n_buckets : 64;
    g_free(ix->heads);
    ix->heads = g_new0(guint, n);
    ix->n_buckets = n;
    /* every live entry linked again: the chains' order is by slot, so the
     * order they are linked in does not matter */
    bool *dead = g_new0(bool, ix->ents->len + 1);
    for (guint f = ix->free_head; f; f = ent(ix, f)->next)
        dead[f] = true;
    for (guint id1 = 1; id1 <= ix->ents->len; id1++)
        if (!dead[id1])
            link_in(ix, id1);
    g_free(dead);
}

struct mstate_ends_ix *mstate_ends_ix_new(const void *arr)
{
    struct mstate_ends_ix *ix = g_new0(struct mstate_ends_ix, 1);
    ix->arr = arr;
    ix->ents = g_array_new(FALSE, FALSE, sizeof(struct ends_ent));
    grow(ix);
    return ix;
}

void mstate_ends_ix_free(struct mstate_ends_ix *ix)
{
    if (!ix)
        return;
    g_array_free(ix->ents, TRUE);
    g_free(ix->heads);
    g_free(ix->fen);
    g_free(ix);
}

bool mstate_ends_ix_for(const struct mstate_ends_ix *ix, const void *arr, guint len)
{
    return ix && ix->arr == arr && ix->len == len;
}

void mstate_ends_ix_put(struct mstate_ends_ix *ix, uint64_t w, guint slot)
{
    if (ix->count >= ix->n_buckets) /* at most one entry a bucket on average */
        grow(ix);
    guint id1 = ix->free_head;
    if (id1) {
        ix->free_head = ent(ix, id1)->next;
    } else {
        struct ends_ent z = { 0, 0, 0 };
        g_array_append_val(ix->ents, z);
        id1 = ix->ents->len;
    }
    struct ends_ent *e = ent(ix, id1);
    e->w = w;
    e->slot = slot;
    link_in(ix, id1);
    ix->count++;
    if (slot >= ix->len)
        ix->len = slot + 1;
}

void mstate_ends_ix_del(struct mstate_ends_ix *ix, uint64_t w, guint slot)
{
    for (guint *at = &ix->heads[bucket(ix, w)]; *at; at = &ent(ix, *at)->next) {
        struct ends_ent *e = ent(ix, *at);
        if (e->w == w && e->slot == slot) {
            guint id1 = *at;
            *at = e->next;
            e->next = ix->free_head;
            ix->free_head = id1;
            ix->count--;
            return;
        }
    }
}

/* From entry id1 on: the first of word it->w. */
static guint walk(const struct mstate_ends_ix *ix, guint id1, struct mstate_ends_it *it)
{
    for (; id1; id1 = ent(ix, id1)->next) {
        const struct ends_ent *e = ent(ix, id1);
        if (e->w == it->w) {
            it->at = e->next;
            return e->slot;
        }
    }
    it->at = 0;
    return G_MAXUINT;
}

guint mstate_ends_ix_first(const struct mstate_ends_ix *ix, uint64_t w, struct mstate_ends_it *it)
{
    it->w = w;
    return walk(ix, ix->heads[bucket(ix, w)], it);
}

guint mstate_ends_ix_next(const struct mstate_ends_ix *ix, struct mstate_ends_it *it) { return walk(ix, it->at, it); }

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
