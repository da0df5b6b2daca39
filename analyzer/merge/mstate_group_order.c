/* mstate_group_order.c - smbscope merge: groups admitted in one run's order
 * (see mstate_group_order.h for why). */
#include "mstate_group_order.h"

#include <glib.h>
#include <string.h>

#include "distinct.h"

struct first_met {
    int64_t run_first_ts; /* the run's first packet */
    uint32_t index;       /* the group's place in that run's list */
};

struct mstate_group_order {
    GHashTable *met; /* struct conn_group_key (bytes) -> struct first_met */
};

/* Keys are zero-filled then set (conn_groups.h): hashed and compared as
 * bytes.  The keys are the reports' (anyone's to choose), so the hash is
 * keyed by the process's random number (distinct.h): a sum of the key's
 * words times odd numbers drawn from it, its top bits (multilinear
 * hashing), not a fixed function whose collisions could be listed. */
static guint key_hash(gconstpointer p)
{
    static const size_t words = (sizeof(struct conn_group_key) + 7) / 8;
    uint64_t buf[(sizeof(struct conn_group_key) + 7) / 8] = { 0 };
    memcpy(buf, p, sizeof(struct conn_group_key));
    uint64_t seed = distinct_process_key(), h = seed;
    for (size_t i = 0; i < words; i++) {
        seed = seed * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407); /* the next multiplier */
        h += buf[i] * (seed | 1);
    }
    return (guint)(h >> 32);
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(struct conn_group_key)) == 0;
}

void mstate_group_order_begin(struct analysis *a)
{
    uint64_t cap = a->cfg->max_conn_groups ? a->cfg->max_conn_groups : CONN_GROUPS_DEFAULT_CAP;
    uint64_t wide = cap * MSTATE_GROUPS_WIDE;
    conn_groups_free(a->groups);
    a->groups = conn_groups_new(wide > UINT32_MAX ? UINT32_MAX : (uint32_t)wide);
    a->group_order = g_new0(struct mstate_group_order, 1);
    a->group_order->met = g_hash_table_new_full(key_hash, key_equal, g_free, g_free);
}

static bool earlier(const struct first_met *x, const struct first_met *y)
{
    return x->run_first_ts != y->run_first_ts ? x->run_first_ts < y->run_first_ts : x->index < y->index;
}

void mstate_group_order_note(struct analysis *a, const struct conn_group_key *k, int64_t run_first_ts,
                             uint32_t index)
{
    if (!a->group_order)
        return;
    struct first_met m = { run_first_ts, index };
    struct first_met *old = g_hash_table_lookup(a->group_order->met, k);
    if (!old)
        g_hash_table_insert(a->group_order->met, g_memdup2(k, sizeof *k), g_memdup2(&m, sizeof m));
    else if (earlier(&m, old))
        *old = m;
}

struct ranked {
    struct first_met met;
    bool noted; /* false: not a run's group as read (raised past the wide cap) */
    uint32_t at; /* its place in the wide table */
};

/* Noted groups first, where one run meets them first; then the others in
 * the wide table's order; ties (runs with one first packet) by key, so that
 * the order of the reports shows nowhere. */
static gint by_first_met(gconstpointer pa, gconstpointer pb, gpointer groups)
{
    const struct ranked *x = pa, *y = pb;
    if (x->noted != y->noted)
        return x->noted ? -1 : 1;
    if (x->noted) {
        if (earlier(&x->met, &y->met))
            return -1;
        if (earlier(&y->met, &x->met))
            return 1;
        int k = memcmp(&conn_groups_at(groups, x->at)->key, &conn_groups_at(groups, y->at)->key,
                       sizeof(struct conn_group_key));
        if (k)
            return k;
    }
    return (x->at > y->at) - (x->at < y->at);
}

void mstate_group_order_free(struct analysis *a)
{
    if (!a->group_order)
        return;
    g_hash_table_destroy(a->group_order->met);
    g_free(a->group_order);
    a->group_order = NULL;
}

void mstate_group_order_end(struct analysis *a)
{
    if (!a->group_order)
        return;
    struct conn_groups *wide = a->groups;
    uint32_t n = conn_groups_count(wide);
    struct ranked *r = g_new(struct ranked, n ? n : 1);
    for (uint32_t i = 0; i < n; i++) {
        const struct first_met *m = g_hash_table_lookup(a->group_order->met, &conn_groups_at(wide, i)->key);
        r[i] = (struct ranked){ .met = m ? *m : (struct first_met){ 0, 0 }, .noted = m != NULL, .at = i };
    }
    g_qsort_with_data(r, (gint)n, sizeof *r, by_first_met, wide);
    struct conn_groups *g = conn_groups_new(a->cfg->max_conn_groups);
    for (uint32_t i = 0; i < n; i++)
        conn_groups_add_group(g, conn_groups_at(wide, r[i].at));
    if (conn_groups_level_full(wide, CONN_GROUP_FULL)) {
        /* the wide table folded in the reports' order: say where */
        struct conn_groups_stats st = conn_groups_stats(wide);
        for (int l = CONN_GROUP_ANY_CLIENT; l < CONN_GROUP_LEVELS; l++)
            a->state_folded.conn_groups += st.folded[l];
    }
    g_free(r);
    conn_groups_free(wide);
    a->groups = g;
    mstate_group_order_free(a);
}
