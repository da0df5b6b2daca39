/* mstate_ends_ix (analyzer/merge/mstate_ends_ix.h): an array's records
 * looked up by their ends.  Random arrays of records over few ends (so
 * that many share them, in both orders) go through random look-ups,
 * removals in place, removals by moving the last record, renames and
 * appends; each look-up's first record of a time is checked against a
 * walk of the whole array, the way merge's joins walked it. */
#include <glib.h>
#include <string.h>

#include "distinct.h"
#include "mstate_ends_ix.h"

struct rec {
    struct ip_addr addr[2];
    uint16_t port[2];
    int64_t ts;
};

static bool same_end(const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp)
{
    return x->family == y->family && !memcmp(x->bytes, y->bytes, sizeof x->bytes) && xp == yp;
}

static bool has_ends(const struct rec *r, const struct rec *k)
{
    return (same_end(&r->addr[0], r->port[0], &k->addr[0], k->port[0]) &&
            same_end(&r->addr[1], r->port[1], &k->addr[1], k->port[1])) ||
           (same_end(&r->addr[1], r->port[1], &k->addr[0], k->port[0]) &&
            same_end(&r->addr[0], r->port[0], &k->addr[1], k->port[1]));
}

static uint64_t word_of(const struct rec *r, bool timed)
{
    return mstate_ends_word(&r->addr[0], r->port[0], &r->addr[1], r->port[1], timed ? r->ts : 0);
}

/* A record over 4 addresses (v4 and v6 of the same bytes among them) and 3
 * ports, either order, at one of 5 times. */
static struct rec random_rec(GRand *g)
{
    struct rec r;
    memset(&r, 0, sizeof r);
    for (int d = 0; d < 2; d++) {
        int a = g_rand_int_range(g, 0, 4);
        r.addr[d].family = a == 3 ? 6 : 4;
        r.addr[d].bytes[0] = 10;
        r.addr[d].bytes[3] = (uint8_t)(a == 3 ? 1 : a);
        r.port[d] = (uint16_t)(445 + g_rand_int_range(g, 0, 3));
    }
    r.ts = g_rand_int_range(g, 0, 5);
    return r;
}

/* The first record of k's ends (and time: timed) in the array, by a walk. */
static guint walk_first(const GArray *a, const struct rec *k, bool timed)
{
    for (guint i = 0; i < a->len; i++) {
        const struct rec *r = &g_array_index(a, struct rec, i);
        if (has_ends(r, k) && (!timed || r->ts == k->ts))
            return i;
    }
    return G_MAXUINT;
}

/* The same through the index: slots are places (fast removals, appends). */
static guint ix_first(const struct mstate_ends_ix *ix, const GArray *a, const struct rec *k, bool timed)
{
    struct mstate_ends_it it;
    guint prev = 0;
    for (guint i = mstate_ends_ix_first(ix, word_of(k, timed), &it); i != G_MAXUINT; i = mstate_ends_ix_next(ix, &it)) {
        g_assert_cmpuint(i, <, a->len);
        g_assert_cmpuint(i, >=, prev); /* ascending */
        prev = i;
        const struct rec *r = &g_array_index(a, struct rec, i);
        if (has_ends(r, k) && (!timed || r->ts == k->ts))
            return i;
    }
    return G_MAXUINT;
}

static void test_word(void)
{
    GRand *g = g_rand_new_with_seed(7);
    for (int n = 0; n < 1000; n++) {
        struct rec r = random_rec(g), s = r;
        s.addr[0] = r.addr[1];
        s.addr[1] = r.addr[0];
        s.port[0] = r.port[1];
        s.port[1] = r.port[0];
        g_assert_cmpuint(word_of(&r, false), ==, word_of(&s, false)); /* either order */
        g_assert_cmpuint(word_of(&r, true), ==, word_of(&s, true));
    }
    struct rec v4 = random_rec(g), v6 = v4;
    v4.addr[0].family = 4;
    v6.addr[0].family = 6; /* the same bytes: another end */
    g_assert_cmpuint(word_of(&v4, false), !=, word_of(&v6, false));
    g_rand_free(g);
}

/* Look-ups, removals by moving the last record, renames (a new time, the
 * word keyed by it) and appends, against the walk. */
static void test_fast(void)
{
    GRand *g = g_rand_new_with_seed(11);
    for (int round = 0; round < 50; round++) {
        bool timed = round % 2;
        GArray *a = g_array_new(FALSE, FALSE, sizeof(struct rec));
        struct mstate_ends_ix *ix = mstate_ends_ix_new(a);
        for (int i = 0; i < 200; i++) {
            struct rec r = random_rec(g);
            g_array_append_val(a, r);
            mstate_ends_ix_put(ix, word_of(&r, timed), a->len - 1);
        }
        for (int op = 0; op < 2000; op++) {
            g_assert_true(mstate_ends_ix_for(ix, a, a->len));
            struct rec k = random_rec(g);
            guint want = walk_first(a, &k, timed), got = ix_first(ix, a, &k, timed);
            g_assert_cmpuint(got, ==, want);
            int what = g_rand_int_range(g, 0, 4);
            if (want == G_MAXUINT || what == 0) {
                struct rec r = random_rec(g);
                g_array_append_val(a, r);
                mstate_ends_ix_put(ix, word_of(&r, timed), a->len - 1);
            } else if (what == 1 && timed) {
                struct rec *r = &g_array_index(a, struct rec, want);
                mstate_ends_ix_del(ix, word_of(r, timed), want);
                r->ts = g_rand_int_range(g, 0, 5);
                mstate_ends_ix_put(ix, word_of(r, timed), want);
            } else {
                guint last = a->len - 1;
                mstate_ends_ix_removed_fast(ix, word_of(&g_array_index(a, struct rec, want), timed), want,
                                            word_of(&g_array_index(a, struct rec, last), timed));
                g_array_remove_index_fast(a, want);
            }
        }
        g_assert_false(mstate_ends_ix_for(ix, a, a->len + 1)); /* an array changed behind it is told */
        mstate_ends_ix_free(ix);
        g_array_free(a, TRUE);
    }
    g_rand_free(g);
}

/* Removals in place: each slot's place after them, and the first record
 * of a time (the earliest; the first in the array's order of a time), as
 * the tails' join takes it. */
static void test_in_place(void)
{
    GRand *g = g_rand_new_with_seed(13);
    for (int round = 0; round < 50; round++) {
        GArray *a = g_array_new(FALSE, FALSE, sizeof(struct rec));
        GArray *slot_of = g_array_new(FALSE, FALSE, sizeof(guint)); /* the test's own: place -> slot */
        struct mstate_ends_ix *ix = mstate_ends_ix_new(a);
        guint n = (guint)g_rand_int_range(g, 1, 300);
        for (guint i = 0; i < n; i++) {
            struct rec r = random_rec(g);
            g_array_append_val(a, r);
            g_array_append_val(slot_of, i);
            mstate_ends_ix_put(ix, word_of(&r, false), i);
        }
        while (a->len) {
            g_assert_true(mstate_ends_ix_for(ix, a, a->len));
            for (guint p = 0; p < a->len; p++)
                g_assert_cmpuint(mstate_ends_ix_place(ix, g_array_index(slot_of, guint, p)), ==, p);
            struct rec k = random_rec(g);
            guint want = G_MAXUINT;
            for (guint i = 0; i < a->len; i++) {
                const struct rec *r = &g_array_index(a, struct rec, i);
                if (has_ends(r, &k) && (want == G_MAXUINT || r->ts < g_array_index(a, struct rec, want).ts))
                    want = i;
            }
            guint got = G_MAXUINT, got_slot = 0;
            struct mstate_ends_it it;
            for (guint slot = mstate_ends_ix_first(ix, word_of(&k, false), &it); slot != G_MAXUINT;
                 slot = mstate_ends_ix_next(ix, &it)) {
                guint i = mstate_ends_ix_place(ix, slot);
                const struct rec *r = &g_array_index(a, struct rec, i);
                if (has_ends(r, &k) && (got == G_MAXUINT || r->ts < g_array_index(a, struct rec, got).ts)) {
                    got = i;
                    got_slot = slot;
                }
            }
            g_assert_cmpuint(got, ==, want);
            if (got == G_MAXUINT) { /* none of those ends: remove one at random */
                got = (guint)g_rand_int_range(g, 0, (gint32)a->len);
                got_slot = g_array_index(slot_of, guint, got);
            }
            mstate_ends_ix_removed(ix, word_of(&g_array_index(a, struct rec, got), false), got_slot);
            g_array_remove_index(a, got);
            g_array_remove_index(slot_of, got);
        }
        mstate_ends_ix_free(ix);
        g_array_free(slot_of, TRUE);
        g_array_free(a, TRUE);
    }
    g_rand_free(g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    distinct_process_key_set(0x5eed5eed5eed5eedull); /* one answer every run (the answer never depends on it) */
    g_test_add_func("/ends_ix/word", test_word);
    g_test_add_func("/ends_ix/fast", test_fast);
    g_test_add_func("/ends_ix/in_place", test_in_place);
    return g_test_run();
}
