/* mstate_group_order.c - smbscope merge: groups admitted in one run's order
 * (see mstate_group_order.h for why). */
#include "mstate_group_order.h"
#include "mstate_groups_past.h"

#include <glib.h>
#include <string.h>

#include "distinct.h"
#include "flow.h"
#include "jget.h"
#include "mstate_cut.h"
#include "smb_hosts.h"
#include "json.h"

/* Where one run over the captures meets a key first: the earliest run
 * that has it (its first packet), and there the smallest number of a close
 * that made it (at: as the run numbered it; lru: a close at its end by
 * last packet) and the first packet of the earliest made at its end. */
struct first_met {
    int64_t run_first_ts;
    int64_t at, lru, end_first_ts;
    bool before_end; /* one closed before the run's end */
    bool gone;       /* its group gave way to its one connection (mstate_group_order_unfold()) */
};

/* A run: its closes at its end (numbers from `from` on) and their rank by
 * last packet; its last packet and the connections it closed. */
struct run_ends {
    int64_t from;
    uint32_t *ranks;
    guint n;
    int64_t last_ts;
    uint64_t conns;
    bool popped; /* mstate_group_order_end(): the run over them all ends its lingering ones before its end */
    /* "end_close_lingers", "fin_closes", "end_lingers" (has_fin: all read):
     * the closes at its end that lingered (by place), how many of its
     * connections entered the closed list and were in it at its end */
    bool has_fin;
    bool *linger;
    uint64_t fin_closes, lingers;
    bool *popped_rank; /* by rank: the oldest lingering ones the run over them all ends before its end */
    /* merge's joins (mstate_group_order_tail_joined()), by place: a close at its
     * end that lingered and whose connection a later part touched (MOVED_OUT:
     * the run over them all moved it to its closed list's tail there), and
     * a tail closed at its end that touched one an earlier part left
     * lingering (MOVED_IN: the connection's place in that list now; origin:
     * the run it entered the list in) */
    GHashTable *moved; /* place + 1 -> struct moved (as many as the joins that moved one: not a place each) */
};

struct moved {
    uint8_t how;    /* MOVED_OUT, MOVED_IN */
    int64_t origin; /* MOVED_IN: the run it entered the list in (INT64_MIN: none counted it) */
};

enum { MOVED_OUT = 1, MOVED_IN = 2 };

/* A connection lingering in the closed list at one run's end touched by
 * a later run's tail: where it came from and went (a chain of tails is
 * one move per tail). */
struct linger_move {
    int64_t origin, to_run;
    int64_t to_place; /* -1: the tail closed before its run's end (out of the list there) */
};

struct mstate_group_order {
    GHashTable *met;  /* struct conn_group_key (bytes) -> struct first_met */
    GHashTable *ends; /* run first packet (int64_t) -> struct run_ends */
    int64_t last_run; /* the latest run's first packet: its end is the end of them all */
    bool have_run;
    GArray *moves;    /* struct linger_move */
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

/* Run times are the reports' too: the same keyed multiply. */
static guint run_hash(gconstpointer p)
{
    uint64_t v = (uint64_t)*(const int64_t *)p;
    return (guint)(((v ^ distinct_process_key()) * (distinct_process_key() | 1)) >> 32);
}

static gboolean run_equal(gconstpointer a, gconstpointer b) { return *(const int64_t *)a == *(const int64_t *)b; }

static void run_ends_free(gpointer p)
{
    struct run_ends *e = p;
    g_free(e->ranks);
    g_free(e->linger);
    g_free(e->popped_rank);
    if (e->moved)
        g_hash_table_destroy(e->moved);
    g_free(e);
}

void mstate_group_order_begin(struct analysis *a)
{
    uint64_t cap = a->cfg->max_conn_groups ? a->cfg->max_conn_groups : CONN_GROUPS_DEFAULT_CAP;
    uint64_t wide = cap * MSTATE_GROUPS_WIDE;
    conn_groups_free(a->groups);
    a->groups = conn_groups_new(wide > UINT32_MAX ? UINT32_MAX : (uint32_t)wide);
    a->group_order = g_new0(struct mstate_group_order, 1);
    a->group_order->met = g_hash_table_new_full(key_hash, key_equal, g_free, g_free);
    a->group_order->ends = g_hash_table_new_full(run_hash, run_equal, g_free, run_ends_free);
}

/* Close k of run r as a run over more parts orders it. */
static int64_t lru_of(const struct mstate_group_order *o, int64_t r, int64_t k)
{
    const struct run_ends *e = g_hash_table_lookup(o->ends, &r);
    if (!e || k < e->from || (uint64_t)(k - e->from) / 2 >= e->n)
        return k; /* a close before the end, or placed by its last packet (odd) */
    return e->from + 2 * (int64_t)e->ranks[(k - e->from) / 2];
}

void mstate_group_order_run(struct analysis *a, struct jget *g, const struct jpath *p, JsonObject *st,
                            int64_t run_first_ts, const struct mstate_cut *cut)
{
    struct mstate_group_order *o = a->group_order;
    if (!o || g->failed || g_hash_table_contains(o->ends, &run_first_ts)) /* two runs of one first packet: the first */
        return;
    if (!o->have_run || run_first_ts > o->last_run)
        o->last_run = run_first_ts;
    o->have_run = true;
    struct jpath ap, rp;
    jpath_key(&ap, p, "end_close_ranks");
    jpath_key(&rp, p, "run");
    struct run_ends *e = g_new0(struct run_ends, 1);
    e->last_ts = jget_ts_or_none(g, &rp, jget_obj(g, p, st, "run"), "last_ts");
    g_hash_table_insert(o->ends, g_memdup2(&run_first_ts, sizeof run_first_ts), e);
    if (json_object_has_member(st, "fin_closes")) { /* absent: written before they were counted */
        e->fin_closes = jget_u64(g, p, st, "fin_closes", INT64_MAX);
        e->lingers = jget_u64(g, p, st, "end_lingers", INT64_MAX);
        if (!g->failed && e->lingers > e->fin_closes)
            jget_fail(g, p, "end_lingers: more than fin_closes");
        e->has_fin = !g->failed;
    }
    if (!json_object_has_member(st, "end_close_ranks"))
        return; /* written before closes were numbered, or nothing closed at its end */
    int64_t from = jget_i64(g, p, st, "end_closes_from");
    /* a value at a time from the state's text (mstate_cut.h) */
    struct mstate_arr arr;
    bool have = mstate_arr_open(&arr, g, p, st, "end_close_ranks", MSTATE_END_CLOSES_MAX, cut, MSTATE_CUT_END_RANKS);
    if (!g->failed && (from < 1 || from > MSTATE_CLOSE_MAX))
        jget_fail(g, p, "end_closes_from: not a close number");
    guint n = have && !g->failed ? arr.n : 0;
    e->ranks = g_new(uint32_t, n ? n : 1);
    for (guint i = 0; i < n && !g->failed; i++) {
        int64_t r = mstate_arr_i64(&arr, g, &ap);
        if (!g->failed && (r < 0 || r >= (int64_t)n))
            jget_fail(g, &ap, "a rank past the closes at the end");
        e->ranks[i] = (uint32_t)r;
    }
    mstate_arr_close(&arr);
    e->from = from;
    e->n = g->failed ? 0 : n;
    if (g->failed || !json_object_has_member(st, "end_close_lingers")) {
        e->has_fin = false; /* written before they were counted: the whole run's rule (runs_popped) */
        return;
    }
    struct jpath lp;
    jpath_key(&lp, p, "end_close_lingers");
    struct mstate_arr la;
    have = mstate_arr_open(&la, g, p, st, "end_close_lingers", MSTATE_END_CLOSES_MAX, cut, MSTATE_CUT_END_LINGERS);
    e->linger = g_new0(bool, n ? n : 1);
    int64_t prev = -1;
    for (guint i = 0; have && !g->failed && i < la.n; i++) {
        uint64_t at = mstate_arr_u64(&la, g, &lp, MSTATE_END_CLOSES_MAX);
        if (!g->failed && !jget_later_index(at, &prev, n))
            jget_fail(g, &lp, "not the place of a later close at the end");
        if (!g->failed)
            e->linger[at] = true;
    }
    if (have && !g->failed && la.n > e->lingers)
        jget_fail(g, &lp, "more than end_lingers");
    mstate_arr_close(&la);
}

void mstate_group_order_run_conns(struct analysis *a, int64_t run_first_ts, uint64_t conns)
{
    struct run_ends *e = a->group_order ? g_hash_table_lookup(a->group_order->ends, &run_first_ts) : NULL;
    if (e)
        e->conns += conns;
}

/* Whether the run over them all ends a run's connections lingering at its
 * end before its own end (flow.c: a minute after their last packet, or
 * past max_closed connections closed after them: here the connections the
 * later runs closed), oldest first; else it closes them at its end, in
 * the order it opened them, the run's own order.
 *
 * The closed list is in the order of last packets (flow.c: each packet
 * moves its connection to the tail), so a connection lingering at a run's
 * end whose late ACK a later run holds (a tail merge joined to it) is,
 * for the run over them all, that later run's, at the tail's place: it
 * leaves its first run's lingering ones (MOVED_OUT) and joins the later
 * run's (MOVED_IN), and it is newer than every connection of the runs
 * between; so is one whose FIN each way only the join shows (one FIN in
 * each part: it entered the list in the later run, which did not count
 * it).  A connection x of run i ends early when max_closed newer ones
 * entered the list after it: its run's lingering ones after it, and
 * every connection later runs put there (fin_closes), each once. */
struct run_at {
    int64_t first_ts;
    struct run_ends *e;
};

static gint by_run(gconstpointer pa, gconstpointer pb)
{
    const struct run_at *x = pa, *y = pb;
    return (x->first_ts > y->first_ts) - (x->first_ts < y->first_ts);
}

static guint run_index(const GArray *runs, int64_t first_ts)
{
    guint lo = 0, hi = runs->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(runs, struct run_at, mid).first_ts < first_ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint64_t sat_add(uint64_t x, int64_t d)
{
    if (d < 0)
        return (uint64_t)-d > x ? 0 : x - (uint64_t)-d;
    return x + (uint64_t)d < x ? UINT64_MAX : x + (uint64_t)d;
}

/* Run e's lingering connections at its end as the run over them all has
 * them: its own not moved out, the ones moved in (placed by their tail's
 * rank).  Whether place i is one. */
static uint8_t moved_how(const struct run_ends *e, guint i)
{
    const struct moved *m = e->moved ? g_hash_table_lookup(e->moved, GUINT_TO_POINTER(i + 1)) : NULL;
    return m ? m->how : 0;
}

static bool lingers_at(const struct run_ends *e, guint i)
{
    uint8_t m = moved_how(e, i);
    return !(m & MOVED_OUT) && ((e->linger && e->linger[i]) || (m & MOVED_IN));
}

static void runs_popped(struct mstate_group_order *o)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    GArray *runs = g_array_new(FALSE, FALSE, sizeof(struct run_at));
    int64_t end = INT64_MIN;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, o->ends);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct run_at r = { *(const int64_t *)k, v };
        g_array_append_val(runs, r);
        end = r.e->last_ts > end ? r.e->last_ts : end;
    }
    g_array_sort(runs, by_run);
    guint n = runs->len;
    /* later[i]: the connections runs after i put in the closed list (SMB
     * connections only for a run that did not count them), then the moves
     * (diff: each a range of runs) */
    uint64_t *later = g_new0(uint64_t, n + 1);
    int64_t *diff = g_new0(int64_t, n + 1);
    for (guint i = n; i-- > 0;) {
        const struct run_ends *x = g_array_index(runs, struct run_at, i).e;
        uint64_t add = x->has_fin ? x->fin_closes : x->conns;
        later[i] = later[i + 1] + add < later[i + 1] ? UINT64_MAX : later[i + 1] + add; /* a forged state's counts: held */
    }
    for (guint m = 0; o->moves && m < o->moves->len; m++) {
        const struct linger_move *mv = &g_array_index(o->moves, struct linger_move, m);
        guint to = run_index(runs, mv->to_run), from = mv->origin == INT64_MIN ? 0 : run_index(runs, mv->origin);
        if (to >= n || from >= to)
            continue;
        const struct run_ends *te = g_array_index(runs, struct run_at, to).e;
        bool flagged = mv->to_place >= 0 && te->linger && te->linger[mv->to_place];
        bool final = mv->to_place < 0 || !(moved_how(te, (guint)mv->to_place) & MOVED_OUT);
        if (flagged) { /* its tail's run counted it in fin_closes: not a connection more */
            diff[0]--;
            diff[to]++;
        }
        if (final) { /* newer than every connection of the runs from its first to its last */
            diff[from]++;
            diff[to]--;
        }
    }
    int64_t adj = 0;
    for (guint i = 0; i < n; i++) {
        int64_t r = g_array_index(runs, struct run_at, i).first_ts;
        struct run_ends *e = g_array_index(runs, struct run_at, i).e;
        adj += diff[i];
        uint64_t after = sat_add(later[i + 1], adj);
        /* its lingering ones as the run over them all has them */
        uint64_t lingers = e->lingers;
        GHashTableIter mi;
        gpointer mk, mval;
        if (e->moved)
            g_hash_table_iter_init(&mi, e->moved);
        while (e->moved && g_hash_table_iter_next(&mi, &mk, &mval)) {
            guint p = GPOINTER_TO_UINT(mk) - 1;
            uint8_t how = ((const struct moved *)mval)->how;
            bool own = e->linger && e->linger[p];
            if (own && (how & MOVED_OUT))
                lingers -= lingers > 0;
            else if (!own && how == MOVED_IN)
                lingers = sat_add(lingers, 1);
        }
        e->popped = r != o->last_run && (ts_diff(end, e->last_ts) > lim.idle_closed_us || after >= lim.max_closed);
        if (e->popped || r == o->last_run || !e->has_fin || lingers + after <= lim.max_closed)
            continue;
        /* fewer than max_closed later: the run over them all ends the
         * oldest lingers + after - max_closed of those lingering at its end
         * (flow.c, trim_closed: the list's head first, here the oldest last
         * packet), the others at the end of them all */
        uint64_t pops = lingers + after - lim.max_closed;
        uint32_t *place_of = g_new0(uint32_t, e->n ? e->n : 1); /* a forged state's ranks need not be a
                                                                    permutation: every entry a place */
        for (guint i2 = 0; i2 < e->n; i2++)
            place_of[e->ranks[i2]] = i2;
        e->popped_rank = g_new0(bool, e->n ? e->n : 1);
        for (guint rank = 0; rank < e->n && pops; rank++)
            if (lingers_at(e, place_of[rank])) {
                e->popped_rank[rank] = true;
                pops--;
            }
        g_free(place_of);
    }
    g_free(later);
    g_free(diff);
    g_array_free(runs, TRUE);
}

/* The place of close `at` among run e's closes at its end, or -1. */
static int64_t end_place(const struct run_ends *e, int64_t at)
{
    if (!e || !e->n || at < e->from || (at - e->from) % 2 || (uint64_t)(at - e->from) / 2 >= e->n)
        return -1;
    return (at - e->from) / 2;
}

/* Place p of run e's closes at its end, for its moves. */
static struct moved *moved_at(struct run_ends *e, guint p)
{
    if (!e->moved)
        e->moved = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    struct moved *m = g_hash_table_lookup(e->moved, GUINT_TO_POINTER(p + 1));
    if (!m) {
        m = g_new0(struct moved, 1);
        g_hash_table_insert(e->moved, GUINT_TO_POINTER(p + 1), m);
    }
    return m;
}

void mstate_group_order_tail_joined(struct analysis *a, bool was_lingering, int64_t from_run, int64_t from_at,
                                    int64_t to_run, int64_t to_at)
{
    struct mstate_group_order *o = a->group_order;
    if (!o || to_at <= 0 || to_run <= from_run)
        return;
    struct run_ends *fe = g_hash_table_lookup(o->ends, &from_run), *te = g_hash_table_lookup(o->ends, &to_run);
    if (!fe || !fe->has_fin || !te || !te->has_fin) /* runs that did not count: the whole run's rule */
        return;
    int64_t fp = end_place(fe, from_at), tp = end_place(te, to_at);
    struct linger_move mv = { INT64_MIN, to_run, tp }; /* entered the list here, where its run saw no FIN each way */
    if (was_lingering) {
        if (fp < 0)
            return; /* not lingering at its run's end */
        struct moved *m = moved_at(fe, (guint)fp);
        mv.origin = (m->how & MOVED_IN) ? m->origin : from_run;
        m->how |= MOVED_OUT;
    } else if (tp < 0 || (te->linger && te->linger[tp])) {
        return; /* ended before its run's end, or its run counted it lingering */
    }
    if (tp >= 0) {
        struct moved *m = moved_at(te, (guint)tp);
        m->how |= MOVED_IN;
        m->origin = mv.origin;
    }
    if (!o->moves)
        o->moves = g_array_new(FALSE, FALSE, sizeof(struct linger_move));
    g_array_append_val(o->moves, mv);
}

/* Whether the run over them all ends close k of run r (at its end; lru:
 * k is already its place by last packet) before its end. */
static bool end_popped(const struct mstate_group_order *o, int64_t r, int64_t k, bool lru)
{
    const struct run_ends *e = g_hash_table_lookup(o->ends, &r);
    if (!e)
        return false;
    if (e->popped)
        return true;
    if (!e->popped_rank || k < e->from || (k - e->from) % 2 || (uint64_t)(k - e->from) / 2 >= e->n)
        return false;
    guint i = (guint)((k - e->from) / 2);
    return e->popped_rank[lru ? i : e->ranks[i]];
}

void mstate_group_order_closes_at(struct conn_summary *cs, int64_t run, int64_t at)
{
    if (at > 0) {
        cs->order_run = run;
        cs->order_at = at;
    }
}

static bool before_end(const struct mstate_group_order *o, int64_t r, int64_t at)
{
    const struct run_ends *e = g_hash_table_lookup(o->ends, &r);
    return !e || !e->n || at < e->from;
}

/* m where one run over the captures meets k (the earliest of the notes). */
static void met_put(struct mstate_group_order *o, const struct conn_group_key *k, const struct first_met *m)
{
    struct first_met *old = g_hash_table_lookup(o->met, k);
    if (!old) {
        g_hash_table_insert(o->met, g_memdup2(k, sizeof *k), g_memdup2(m, sizeof *m));
    } else if (m->run_first_ts < old->run_first_ts) {
        *old = *m;
    } else if (m->run_first_ts == old->run_first_ts) {
        old->at = m->at < old->at ? m->at : old->at;
        old->lru = m->lru < old->lru ? m->lru : old->lru;
        old->end_first_ts = m->end_first_ts < old->end_first_ts ? m->end_first_ts : old->end_first_ts;
        old->before_end |= m->before_end;
    }
}

void mstate_group_order_note(struct analysis *a, const struct conn_group_key *k, int64_t run_first_ts,
                             int64_t at, int64_t first_ts)
{
    struct mstate_group_order *o = a->group_order;
    if (!o)
        return;
    bool early = before_end(o, run_first_ts, at);
    struct first_met m = { run_first_ts, at, lru_of(o, run_first_ts, at), early ? INT64_MAX : first_ts, early, false };
    met_put(o, k, &m);
}

void mstate_group_order_restart(struct analysis *a, const struct conn_group_key *k, int64_t run, int64_t first_ts)
{
    struct first_met *m = a->group_order ? g_hash_table_lookup(a->group_order->met, k) : NULL;
    /* met first in that run, only at its end: every connection of k it
     * closed, this one among them, closed at its end */
    if (m && m->run_first_ts == run && !m->before_end && first_ts < m->end_first_ts)
        m->end_first_ts = first_ts;
}

bool mstate_group_order_unfold(struct analysis *a, const struct conn_group_key *k, const struct conn_summary *cs)
{
    struct mstate_group_order *o = a->group_order;
    if (!o)
        return false;
    const struct conn_group *grp = conn_groups_find(a->groups, k);
    struct first_met *m = g_hash_table_lookup(o->met, k);
    if (!grp || grp->count != 1 || !m || m->gone) {
        a->state_folded.conn_groups++;
        return false;
    }
    m->gone = true;
    groups_past_unfolded(a, cs); /* no more a connection its run folded (groups_past_misplaced()) */
    struct first_met at = *m;
    at.gone = false;
    if (!at.before_end)
        at.end_first_ts = cs->first_ts; /* closed at its run's end: there by first packet */
    conn_groups_add(a->groups, cs);
    struct conn_group_key full;
    conn_group_key_of(&full, cs, CONN_GROUP_FULL);
    if (!conn_groups_has(a->groups, &full)) /* the wide table full: its order is the reports' (labelled) */
        return true;
    met_put(o, &full, &at);
    return true;
}

void mstate_group_order_note_conn(struct analysis *a, const struct conn_summary *cs)
{
    if (!a->group_order || cs->order_at <= 0)
        return;
    struct conn_group_key k;
    conn_group_key_of(&k, cs, CONN_GROUP_FULL);
    if (conn_groups_has(a->groups, &k)) /* as many notes as the wide table's groups */
        mstate_group_order_note(a, &k, cs->order_run, cs->order_at, cs->first_ts);
}

/* What the capped table is filled from, in order: a group of the wide
 * table, or a connection kept an edge only because it lingered after its
 * FINs within a minute of the inputs' end, of a run before the last (the
 * run over them all ended it there: flow.c, past max_closed). */
struct ranked {
    int phase;     /* 0: closed before the end of them all (run, at); 1: at that end (at: first packet);
                      2: not noted (raised past the wide cap), in the wide table's order */
    int64_t run, at;
    const struct conn_group *grp; /* NULL: cs */
    const struct conn_summary *cs;
    uint32_t i;  /* its place in the wide table or among the edges */
};

/* Ties (runs with one first packet, connections of one first packet) by
 * key, so that the order of the reports shows nowhere. */
static gint by_first_met(gconstpointer pa, gconstpointer pb)
{
    const struct ranked *x = pa, *y = pb;
    if (x->phase != y->phase)
        return x->phase < y->phase ? -1 : 1;
    if (x->phase < 2) {
        if (x->run != y->run)
            return x->run < y->run ? -1 : 1;
        if (x->at != y->at)
            return x->at < y->at ? -1 : 1;
        if (!x->grp != !y->grp)
            return x->grp ? -1 : 1;
        int k = x->grp ? memcmp(&x->grp->key, &y->grp->key, sizeof(struct conn_group_key))
                       : memcmp(x->cs, y->cs, sizeof *x->cs);
        if (k)
            return k;
    }
    return (x->i > y->i) - (x->i < y->i);
}

/* Where one run over them all closes what a key's notes say: a close
 * before a run's end where that run made it; one at a run's end that run
 * over them all ends before its own end (popped: oldest first, as the run
 * ranked them by last packet); else at that end, where it closes every
 * connection left in the order it opened them (by first packet). */
static struct ranked place(const struct mstate_group_order *o, const struct first_met *m)
{
    struct ranked x = { 2, 0, 0, NULL, NULL, 0 };
    if (!m)
        return x;
    if (m->before_end)
        return (struct ranked){ 0, m->run_first_ts, m->at, NULL, NULL, 0 };
    if (end_popped(o, m->run_first_ts, m->lru, true))
        return (struct ranked){ 0, m->run_first_ts, m->lru, NULL, NULL, 0 };
    return (struct ranked){ 1, 0, m->end_first_ts, NULL, NULL, 0 };
}

void mstate_group_order_free(struct analysis *a)
{
    if (!a->group_order)
        return;
    g_hash_table_destroy(a->group_order->met);
    g_hash_table_destroy(a->group_order->ends);
    if (a->group_order->moves)
        g_array_free(a->group_order->moves, TRUE);
    g_free(a->group_order);
    a->group_order = NULL;
}

bool mstate_group_order_closed_early(const struct analysis *a, const struct conn_summary *cs)
{
    const struct mstate_group_order *o = a->group_order;
    return o && cs->order_at > 0 && g_hash_table_contains(o->ends, &cs->order_run) &&
           before_end(o, cs->order_run, cs->order_at);
}

static bool popped_linger(const struct mstate_group_order *o, const struct conn_summary *cs)
{
    return cs->order_at > 0 && !before_end(o, cs->order_run, cs->order_at) &&
           end_popped(o, cs->order_run, cs->order_at, false) && !analysis_is_edge(cs);
}

void mstate_group_order_end(struct analysis *a)
{
    struct mstate_group_order *o = a->group_order;
    if (!o)
        return;
    runs_popped(o); /* after the joins: the lingering connections later parts touched moved */
    struct conn_groups *wide = a->groups;
    uint32_t n = conn_groups_count(wide);
    GArray *r = g_array_sized_new(FALSE, FALSE, sizeof(struct ranked), n);
    for (uint32_t i = 0; i < n; i++) {
        const struct conn_group *grp = conn_groups_at(wide, i);
        const struct first_met *m = g_hash_table_lookup(o->met, &grp->key);
        if (m && m->gone)
            continue; /* its one connection is in its full group */
        struct ranked x = place(o, m);
        x.grp = grp;
        x.i = i;
        g_array_append_val(r, x);
    }
    uint32_t lingers = 0;
    for (guint i = 0; a->edges && i < a->edges->len; i++) {
        const struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, i);
        if (!popped_linger(o, cs))
            continue;
        struct ranked x = { 0, cs->order_run, lru_of(o, cs->order_run, cs->order_at), NULL, cs, i };
        g_array_append_val(r, x);
        lingers++;
    }
    g_array_sort(r, by_first_met);
    struct conn_groups *core = conn_groups_new(a->cfg->max_conn_groups);
    struct conn_groups *all = lingers ? conn_groups_new(a->cfg->max_conn_groups) : NULL;
    for (guint i = 0; i < r->len; i++) {
        const struct ranked *x = &g_array_index(r, struct ranked, i);
        if (x->grp)
            conn_groups_add_group(core, x->grp);
        if (all && x->grp)
            conn_groups_add_group(all, x->grp);
        else if (all)
            conn_groups_add(all, x->cs);
    }
    /* connections a run folded past what it kept finer (mstate_groups_past.h) */
    a->state_folded.conn_groups += groups_past_misplaced(a, core);
    if (conn_groups_level_full(wide, CONN_GROUP_FULL)) {
        /* the wide table folded in the reports' order: say where */
        struct conn_groups_stats st = conn_groups_stats(wide);
        for (int l = CONN_GROUP_ANY_CLIENT; l < CONN_GROUP_LEVELS; l++)
            a->state_folded.conn_groups += st.folded[l];
    }
    g_array_free(r, TRUE);
    conn_groups_free(wide);
    a->groups = core;
    if (all) {
        /* what analysis_fold_edges() does, those lingering in their place:
         * the groups without the edges kept, then the other edges last */
        a->core_groups = core;
        a->core_hosts = smb_hosts_copy(a->smb_hosts);
        for (guint i = 0; i < a->edges->len; i++) {
            const struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, i);
            if (!popped_linger(o, cs))
                conn_groups_add(all, cs);
            smb_hosts_add(a->smb_hosts, cs);
        }
        a->groups = all;
    }
    mstate_group_order_free(a);
}

/* ---- a run numbers its closes ------------------------------------------ */

/* A close at the end of a run, ranked by its last packet. */
struct finish_close {
    int64_t last_ts;
    uint64_t last_frame, seq;
    guint tail;  /* G_MAXUINT: not a tail */
    bool linger; /* in the flow table's closed list (lingers) */
};

static bool lingers(const struct flow_conn *c) { return mstate_close_lingers(c); }

/* Closes are numbered 2, 4, 6, ...: a tail closed at the end whose last
 * packet came before closes made earlier (an ACK that ends a connection
 * an earlier part left lingering: the run over both moves that connection
 * behind the ones closed before it, flow.c) takes the odd number after the
 * last of them.  For that a run keeps the latest last packet of its first
 * MSTATE_CLOSE_LASTS closes. */
#define MSTATE_CLOSE_LASTS 65536u

/* Close number a->close_seq (its last packet last_ts, of frame
 * last_frame) noted: at the end to be ranked, else its latest last packet
 * kept for the tails ranked at the end. */
static void close_note(struct analysis *a, bool at_end, int64_t last_ts, uint64_t last_frame, guint tail, bool linger)
{
    if (at_end) {
        if (!a->finish_closes) {
            a->finish_closes = g_array_new(FALSE, FALSE, sizeof(struct finish_close));
            a->end_from = a->close_seq;
        }
        struct finish_close f = { last_ts, last_frame, a->close_seq, tail, linger };
        g_array_append_val(a->finish_closes, f);
    } else {
        if (!a->close_lasts)
            a->close_lasts = g_array_new(FALSE, FALSE, sizeof(int64_t));
        guint n = a->close_lasts->len;
        if (n < MSTATE_CLOSE_LASTS && n + 1 == a->close_seq) { /* the latest so far: a rising sequence */
            int64_t latest = n && g_array_index(a->close_lasts, int64_t, n - 1) > last_ts
                                 ? g_array_index(a->close_lasts, int64_t, n - 1)
                                 : last_ts;
            g_array_append_val(a->close_lasts, latest);
        }
    }
}

int64_t mstate_close_next(struct analysis *a, const struct flow_conn *c, int64_t last_ts, guint tail)
{
    if (a->live_run || a->merged_parts)
        return 0;
    ++a->close_seq;
    if (c)
        last_ts = c->last_ts_us;
    close_note(a, a->finishing, last_ts, c ? c->last_frame : 0, tail, lingers(c));
    return 2 * (int64_t)a->close_seq;
}

void mstate_close_replay(struct analysis *a, bool at_end, int64_t last_ts, uint64_t last_frame, guint tail,
                         bool linger)
{
    ++a->close_seq;
    close_note(a, at_end, last_ts, last_frame, tail, linger);
}

void mstate_close_number(struct analysis *a, struct conn_summary *cs, const struct flow_conn *c)
{
    mstate_close_class_note(a, c);
    cs->order_at = mstate_close_next(a, c, cs->last_ts, G_MAXUINT);
    cs->fins_acked = a->finishing && c && !c->rst_seen && c->fin[0] && c->fin[1] && c->stream[0].fin_acked &&
                     c->stream[1].fin_acked;
}

/* How many of the first closes came before t (their latest last packet
 * at most t); G_MAXUINT when the closes kept do not reach past t. */
static guint closes_before(const struct analysis *a, int64_t t)
{
    const GArray *l = a->close_lasts;
    if (!l || !l->len || (l->len < a->end_from - 1 && g_array_index(l, int64_t, l->len - 1) <= t))
        return G_MAXUINT;
    guint lo = 0, hi = l->len; /* the first whose latest is past t */
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(l, int64_t, mid) <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void mstate_close_made_group(struct analysis *a, const struct conn_summary *cs, uint32_t index)
{
    if (a->live_run || a->merged_parts)
        return;
    if (!a->group_close)
        a->group_close = g_array_new(FALSE, FALSE, sizeof(int64_t));
    if (a->group_close->len == index) /* else made elsewhere too: not aligned, not written */
        g_array_append_val(a->group_close, cs->order_at);
}

static gint by_last_packet(gconstpointer pa, gconstpointer pb)
{
    const struct finish_close *x = pa, *y = pb;
    if (x->last_ts != y->last_ts)
        return x->last_ts < y->last_ts ? -1 : 1;
    if (x->last_frame != y->last_frame)
        return x->last_frame < y->last_frame ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static gint by_place(gconstpointer pa, gconstpointer pb)
{
    uint32_t x = *(const uint32_t *)pa, y = *(const uint32_t *)pb;
    return (x > y) - (x < y);
}

void mstate_close_rank(struct analysis *a)
{
    if (!a->finish_closes)
        return;
    GArray *f = a->finish_closes;
    g_array_sort(f, by_last_packet);
    a->end_ranks = g_array_sized_new(FALSE, FALSE, sizeof(uint32_t), f->len);
    g_array_set_size(a->end_ranks, f->len);
    for (guint r = 0; r < f->len; r++) {
        const struct finish_close *x = &g_array_index(f, struct finish_close, r);
        g_array_index(a->end_ranks, uint32_t, x->seq - a->end_from) = r;
        if (x->linger) {
            if (!a->end_lingering)
                a->end_lingering = g_array_new(FALSE, FALSE, sizeof(uint32_t));
            uint32_t place = (uint32_t)(x->seq - a->end_from);
            g_array_append_val(a->end_lingering, place);
        }
        guint before = x->tail < (a->tails ? a->tails->len : 0) ? closes_before(a, x->last_ts) : G_MAXUINT;
        if (before != G_MAXUINT && before + 1 < a->end_from) /* behind `before` closes, ahead of the others */
            g_array_index(a->tails, struct analysis_tail, x->tail).order_at = 2 * (int64_t)before + 1;
    }
    g_array_free(f, TRUE);
    a->finish_closes = NULL;
    if (a->end_lingering)
        g_array_sort(a->end_lingering, by_place);
    if (a->close_lasts)
        g_array_free(a->close_lasts, TRUE);
    a->close_lasts = NULL;
}

bool mstate_closes_numbered(const struct analysis *a)
{
    /* --jobs over several inputs, merge: several runs' closes; one file's
     * threads' replayed as one run's (split_closes.h) are */
    return a->close_seq && !a->merged_parts && (!a->jobs_threads || a->closes_one_run);
}

void mstate_put_group_closes(struct json *b, const struct analysis *a, const struct conn_groups *groups,
                             const GArray *order)
{
    if (!mstate_closes_numbered(a))
        return;
    if (a->group_close && a->group_close->len == conn_groups_count(groups) && order->len == a->group_close->len) {
        json_key(b, "group_closes");
        json_begin_array(b);
        for (guint i = 0; i < order->len; i++)
            json_int(b, g_array_index(a->group_close, int64_t, g_array_index(order, uint32_t, i)));
        json_end_array(b);
    }
    if (a->end_ranks && a->end_ranks->len) {
        json_key(b, "end_closes_from");
        json_int(b, 2 * (int64_t)a->end_from);
        json_key(b, "end_close_ranks");
        json_begin_array(b);
        for (guint i = 0; i < a->end_ranks->len; i++)
            json_int(b, g_array_index(a->end_ranks, uint32_t, i));
        json_end_array(b);
        /* which of them lingered in the closed list at the end: the run
         * over more parts ends the oldest as later parts close theirs */
        json_key(b, "end_close_lingers");
        json_begin_array(b);
        for (guint i = 0; a->end_lingering && i < a->end_lingering->len; i++)
            json_int(b, g_array_index(a->end_lingering, uint32_t, i));
        json_end_array(b);
    }
    /* how many of its connections entered the closed list, and how many
     * were in it at its end (numbered or not: every TCP connection) */
    json_key(b, "fin_closes");
    json_int(b, (int64_t)a->fin_closes);
    json_key(b, "end_lingers");
    json_int(b, (int64_t)a->end_lingers);
}

void mstate_put_edge_closes(struct json *b, const struct analysis *a)
{
    if (!mstate_closes_numbered(a) || !a->edges)
        return;
    json_key(b, "edge_closes");
    json_begin_array(b);
    for (guint i = 0; i < a->edges->len; i++)
        json_int(b, g_array_index(a->edges, struct conn_summary, i).order_at);
    json_end_array(b);
    json_key(b, "edge_fins_acked"); /* the edges (their places) closed at the end after both FINs were acked */
    json_begin_array(b);
    for (guint i = 0; i < a->edges->len; i++)
        if (g_array_index(a->edges, struct conn_summary, i).fins_acked)
            json_int(b, i);
    json_end_array(b);
}

JsonArray *mstate_closes_peek(JsonObject *st, const char *k)
{
    JsonNode *n = json_object_get_member(st, k);
    return jget_node_arr(n);
}

int64_t mstate_close_at(JsonArray *closes, guint i)
{
    JsonNode *n = closes && i < json_array_get_length(closes) ? json_array_get_element(closes, i) : NULL;
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64 ? json_node_get_int(n) : 0;
}

void mstate_closes_check_cut(struct jget *g, const struct jpath *p, JsonObject *st, const char *k, guint n,
                             const struct mstate_cut *cut, enum mstate_cut_at at)
{
    if (g->failed || !json_object_has_member(st, k))
        return; /* written before closes were numbered, or by --jobs or merge */
    struct jpath ap;
    jpath_key(&ap, p, k);
    struct mstate_arr arr;
    bool have = mstate_arr_open(&arr, g, p, st, k, n, cut, at);
    if (have && arr.n != n)
        jget_fail(g, &ap, "not one number a member of the array beside it");
    for (guint i = 0; have && !g->failed && i < n; i++) {
        int64_t v = mstate_arr_i64(&arr, g, &ap);
        if (!g->failed && (v < 1 || v > MSTATE_CLOSE_MAX))
            jget_fail(g, &ap, "not a close number");
    }
    mstate_arr_close(&arr);
}

void mstate_closes_check(struct jget *g, const struct jpath *p, JsonObject *st, const char *k, guint n)
{
    mstate_closes_check_cut(g, p, st, k, n, NULL, MSTATE_CUT_N);
}

gint mstate_group_first_seen_cmp(gconstpointer pa, gconstpointer pb, gpointer groups)
{
    const struct conn_group *a = conn_groups_at(groups, *(const uint32_t *)pa);
    const struct conn_group *b = conn_groups_at(groups, *(const uint32_t *)pb);
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    return memcmp(&a->key, &b->key, sizeof a->key);
}
