/* split_closes.c - see split_closes.h. */
#include "split_closes.h"

#include <string.h>

#include "conn_groups.h"
#include "distinct.h"
#include "mstate_group_order.h"

/* Of two frames (0: not TCP), the order one run's flow table gives them. */
static gint frame_order(const struct close_key *a, const struct close_key *b)
{
    uint64_t fa = a->at_end ? a->first_frame : a->last_frame, fb = b->at_end ? b->first_frame : b->last_frame;
    return (fa > fb) - (fa < fb);
}

gint close_key_order(gconstpointer pa, gconstpointer pb)
{
    const struct close_key *a = pa, *b = pb;
    if (a->at_end != b->at_end)
        return a->at_end ? 1 : -1;
    if (a->when != b->when)
        return a->when < b->when ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    if (a->tie != b->tie)
        return a->tie < b->tie ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    gint f = frame_order(a, b);
    if (f)
        return f;
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    return (a->flow_id > b->flow_id) - (a->flow_id < b->flow_id);
}

struct close_key split_numbered_key(const struct split_numbered *x)
{
    struct close_key k = { x->at_end, x->rank, x->when, x->tie, 0, x->first_ts, 0, x->last_ts, x->linger,
                           x->first_frame, x->last_frame };
    return k;
}

void split_numbered_set_key(struct split_numbered *x, const struct close_key *k)
{
    x->at_end = k->at_end;
    x->rank = k->rank;
    x->when = k->when;
    x->tie = k->tie;
}

void split_radix_sort(struct split_ord *v, guint n)
{
    struct split_ord *tmp = g_new(struct split_ord, n ? n : 1), *src = v, *dst = tmp;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        guint count[256] = { 0 };
        for (guint i = 0; i < n; i++)
            count[(src[i].key >> shift) & 255]++;
        if (n && count[(src[0].key >> shift) & 255] == n)
            continue; /* one value of this byte: the order stands */
        for (guint d = 0, at = 0; d < 256; d++) {
            guint c = count[d];
            count[d] = at;
            at += c;
        }
        for (guint i = 0; i < n; i++)
            dst[count[(src[i].key >> shift) & 255]++] = src[i];
        struct split_ord *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, (size_t)n * sizeof *v);
    g_free(tmp);
}

/* A close of thread k, its place i there. */
struct ref {
    uint32_t k, i;
};

static const struct split_numbered *at(const struct split_thread_closes *t, struct ref r)
{
    return &g_array_index(t[r.k].closes, struct split_numbered, r.i);
}

/* One run's order of two closes as far as their facts tell (0: a tie;
 * one thread's ties are in its own order, which is one run's for them):
 * close_key_order() of their keys, read in place (a sort of many170k's
 * 170,000 closes compares them 3 million times). */
static gint facts_order(const struct split_numbered *x, const struct split_numbered *y, bool one_thread)
{
    if (x->at_end != y->at_end)
        return x->at_end ? 1 : -1;
    if (x->when != y->when)
        return x->when < y->when ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->tie != y->tie)
        return x->tie < y->tie ? -1 : 1;
    if (one_thread && x->rank == RANK_DATAGRAM)
        return 0; /* a UDP table's closes of one time: its own order (close_key.seq) */
    uint64_t fx = x->at_end ? x->first_frame : x->last_frame, fy = y->at_end ? y->first_frame : y->last_frame;
    if (fx != fy)
        return fx < fy ? -1 : 1;
    return (x->first_ts > y->first_ts) - (x->first_ts < y->first_ts);
}

static gint ref_order(gconstpointer pa, gconstpointer pb, gpointer data)
{
    const struct split_thread_closes *t = data;
    struct ref a = *(const struct ref *)pa, b = *(const struct ref *)pb;
    gint c = facts_order(at(t, a), at(t, b), a.k == b.k);
    if (c)
        return c;
    if (a.k != b.k)
        return a.k < b.k ? -1 : 1;
    return (a.i > b.i) - (a.i < b.i);
}

bool split_closes_number(struct split_thread_closes *t, unsigned n)
{
    guint total = 0;
    for (unsigned k = 0; k < n; k++)
        total += t[k].closes->len;
    struct ref *all = g_new(struct ref, total ? total : 1);
    guint m = 0;
    for (unsigned k = 0; k < n; k++) {
        t[k].number = g_new0(uint64_t, t[k].closes->len ? t[k].closes->len : 1);
        for (guint i = 0; i < t[k].closes->len; i++)
            all[m++] = (struct ref){ k, i };
    }
    /* by when they closed (radix), then each run of one time by the rest */
    struct split_ord *ord = g_new(struct split_ord, total ? total : 1);
    for (guint j = 0; j < total; j++) {
        const struct split_numbered *x = at(t, all[j]);
        ord[j] = (struct split_ord){ x->at_end ? UINT64_MAX : (uint64_t)x->when ^ (UINT64_C(1) << 63), j };
    }
    split_radix_sort(ord, total);
    struct ref *sorted = g_new(struct ref, total ? total : 1);
    for (guint j = 0; j < total; j++)
        sorted[j] = all[ord[j].ref];
    for (guint j = 0, run; j < total; j = run) {
        for (run = j + 1; run < total && ord[run].key == ord[j].key; run++)
            ;
        if (run - j > 1)
            g_qsort_with_data(sorted + j, (gint)(run - j), sizeof *sorted, ref_order, t);
    }
    g_free(ord);
    g_free(all);
    all = sorted;
    bool ok = true;
    uint64_t g = 0, tails = 0;
    for (guint j = 0; j < total; j++) {
        const struct split_numbered *x = at(t, all[j]);
        /* two threads' closes one run's facts do not tell apart: not its order */
        if (j && all[j - 1].k != all[j].k && !facts_order(at(t, all[j - 1]), x, false))
            ok = false;
        if (x->tail && ++tails > ANALYSIS_MAX_EDGES)
            continue; /* past the tails one run keeps: not numbered (analysis_tail_add()) */
        t[all[j].k].number[all[j].i] = ++g;
    }
    g_free(all);
    for (unsigned k = 0; ok && k < n; k++) {
        struct analysis *a = t[k].a;
        /* its tails: those one run keeps, numbered as it numbers them */
        guint kept = 0, seen = 0;
        for (guint i = 0; i < t[k].closes->len; i++) {
            const struct split_numbered *x = &g_array_index(t[k].closes, struct split_numbered, i);
            if (!x->tail)
                continue;
            if (!a->tails || x->tail - 1 != seen++) {
                ok = false; /* a tail without its close, or out of order */
                break;
            }
            if (!t[k].number[i])
                continue;
            struct analysis_tail tl = g_array_index(a->tails, struct analysis_tail, x->tail - 1);
            tl.order_at = 2 * (int64_t)t[k].number[i];
            g_array_index(a->tails, struct analysis_tail, kept++) = tl;
        }
        if (a->tails && ok) {
            ok = seen == a->tails->len;
            g_array_set_size(a->tails, kept);
        }
        /* its edges: one run's numbers; both FINs acknowledged only at one run's end */
        for (guint i = 0; ok && a->edges && i < a->edges->len; i++) {
            struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, i);
            int64_t s = cs->order_at / 2;
            if (cs->order_at <= 0 || s > (int64_t)t[k].closes->len || t[k].number[s - 1] == 0) {
                ok = false;
                break;
            }
            const struct split_numbered *x = &g_array_index(t[k].closes, struct split_numbered, s - 1);
            /* kept an edge only as it lingered at the thread's end (fin_linger_note()),
             * where one run ended it before its end: one run's groups have it, not its edges */
            if (!analysis_is_edge(cs) && !x->at_end) {
                ok = false;
                break;
            }
            cs->order_at = 2 * (int64_t)t[k].number[s - 1];
            cs->fins_acked &= x->at_end;
        }
    }
    return ok;
}

int64_t *split_closes_groups(const struct split_thread_closes *t, const uint64_t *made, guint n)
{
    int64_t *out = g_new0(int64_t, n ? n : 1);
    for (guint i = 0; i < n; i++)
        out[i] = made[i] && made[i] <= t->closes->len ? 2 * (int64_t)t->number[made[i] - 1] : 0;
    return out;
}

static gint tail_order(gconstpointer pa, gconstpointer pb)
{
    int64_t a = ((const struct analysis_tail *)pa)->order_at, b = ((const struct analysis_tail *)pb)->order_at;
    return (a > b) - (a < b);
}

void split_closes_fold(struct analysis *a, const struct split_thread_closes *t, unsigned n, int64_t end_lingers_moved)
{
    uint64_t total = 0;
    for (unsigned k = 0; k < n; k++)
        for (guint i = 0; i < t[k].closes->len; i++)
            total = t[k].number[i] > total ? t[k].number[i] : total;
    struct ref *by = g_new(struct ref, total ? total : 1);
    for (unsigned k = 0; k < n; k++)
        for (guint i = 0; i < t[k].closes->len; i++)
            if (t[k].number[i])
                by[t[k].number[i] - 1] = (struct ref){ k, i };
    if (a->tails)
        g_array_sort(a->tails, tail_order); /* one run keeps them as they close */
    guint tail = 0;
    for (uint64_t g = 0; g < total; g++) {
        const struct split_numbered *x = at(t, by[g]);
        mstate_close_replay(a, x->at_end, x->last_ts, x->last_frame, x->tail ? tail++ : G_MAXUINT, x->in_closed);
    }
    g_free(by);
    mstate_close_rank(a);
    a->fin_closes = 0;
    int64_t end_lingers = end_lingers_moved;
    for (unsigned k = 0; k < n; k++) {
        a->fin_closes += t[k].a->fin_closes;
        end_lingers += (int64_t)t[k].a->end_lingers;
    }
    a->end_lingers = end_lingers > 0 ? (uint64_t)end_lingers : 0;
    a->closes_one_run = true;
}

/* Group keys are zero-filled then set (conn_groups.h): hashed as bytes,
 * keyed by the process's random number (they are the capture's). */
static guint key_hash(gconstpointer p)
{
    uint64_t w[(sizeof(struct conn_group_key) + 7) / 8] = { 0 };
    memcpy(w, p, sizeof(struct conn_group_key));
    uint64_t h = distinct_process_key();
    for (size_t i = 0; i < G_N_ELEMENTS(w); i++) /* a word at a time: 13 rounds, not 100 */
        h = (h ^ w[i]) * UINT64_C(0x9E3779B97F4A7C15);
    return (guint)(h >> 32 ^ h);
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(struct conn_group_key)) == 0;
}

GHashTable *split_closes_take_groups(struct analysis *a)
{
    if (!a->closes_one_run || !a->group_close || a->group_close->len != conn_groups_count(a->groups))
        return NULL;
    /* copies: merge_finish() may list the groups in a new table */
    GHashTable *h = g_hash_table_new_full(key_hash, key_equal, g_free, g_free);
    for (guint i = 0; i < a->group_close->len; i++)
        g_hash_table_insert(h, g_memdup2(&conn_groups_at(a->groups, i)->key, sizeof(struct conn_group_key)),
                            g_memdup2(&g_array_index(a->group_close, int64_t, i), sizeof(int64_t)));
    return h;
}

void split_closes_put_groups(struct analysis *a, GHashTable *by_key)
{
    if (!by_key)
        return;
    const struct conn_groups *groups = a->core_groups ? a->core_groups : a->groups;
    GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(int64_t), conn_groups_count(groups));
    for (uint32_t i = 0; out && i < conn_groups_count(groups); i++) {
        const int64_t *c = g_hash_table_lookup(by_key, &conn_groups_at(groups, i)->key);
        if (!c) { /* a group the threads' tables did not make: no numbers (as before) */
            g_array_free(out, TRUE);
            out = NULL;
            break;
        }
        g_array_append_val(out, *c);
    }
    g_hash_table_destroy(by_key);
    if (a->group_close)
        g_array_free(a->group_close, TRUE);
    a->group_close = out;
}
