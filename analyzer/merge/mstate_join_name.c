/* mstate_join_name.c - see mstate_join_name.h. */
#include "mstate_join_name.h"

#include <string.h>

#include "conn_summary.h"

static int end_cmp(const struct ip_addr *a, uint16_t ap, const struct ip_addr *b, uint16_t bp)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    int c = memcmp(a->bytes, b->bytes, sizeof a->bytes);
    return c ? c : (ap > bp) - (ap < bp);
}

struct mstate_name mstate_name_of(const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp,
                                  int64_t first)
{
    struct mstate_name k;
    memset(&k, 0, sizeof k); /* hashed and compared as bytes */
    bool swap = end_cmp(x, xp, y, yp) > 0;
    k.lo = swap ? *y : *x;
    k.hi = swap ? *x : *y;
    k.lo_port = swap ? yp : xp;
    k.hi_port = swap ? xp : yp;
    k.first = first;
    return k;
}

static guint name_hash(gconstpointer p)
{
    const uint8_t *b = p;
    guint h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < sizeof(struct mstate_name); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean name_equal(gconstpointer a, gconstpointer b) { return memcmp(a, b, sizeof(struct mstate_name)) == 0; }

GHashTable *mstate_name_table(void) { return g_hash_table_new_full(name_hash, name_equal, g_free, NULL); }

void mstate_name_add_first(GHashTable *t, const struct mstate_name *k, guint i)
{
    if (!g_hash_table_contains(t, k))
        g_hash_table_insert(t, g_memdup2(k, sizeof *k), GUINT_TO_POINTER(i + 1));
}

guint mstate_name_find(GHashTable *t, const struct mstate_name *k)
{
    guint v = GPOINTER_TO_UINT(g_hash_table_lookup(t, k));
    return v ? v - 1 : G_MAXUINT;
}

bool *mstate_name_owned(const GArray *recs, mstate_name_at name_at, const GArray *edges)
{
    bool *own = g_new0(bool, recs->len);
    GHashTable *first = mstate_name_table();
    for (guint i = 0; i < recs->len; i++) {
        struct mstate_name k = name_at(recs, i);
        mstate_name_add_first(first, &k, i);
    }
    for (guint i = 0; edges && i < edges->len; i++) {
        const struct conn_summary *cs = &g_array_index(edges, struct conn_summary, i);
        struct mstate_name k = mstate_name_of(&cs->client, cs->client_port, &cs->server, cs->server_port, cs->first_ts);
        guint at = mstate_name_find(first, &k);
        if (at != G_MAXUINT)
            own[at] = true;
    }
    g_hash_table_destroy(first);
    return own;
}
