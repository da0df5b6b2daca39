/* mstate_xchg_find() (analyzer/merge/mstate_xchg.h): the SMB exchanges cut
 * by an edge, looked up by a connection's name through an index.
 *
 * /xchg_ix/walk: random records over few names (the same ends in both
 * orders, v4 and v6 of one byte string, a few first packets, so that many
 * records share a name or their ends) go through random appends, renames
 * (first packet and ports, as the joins rename them), removals by moving
 * the last record and look-ups, the index built at a look-up and followed
 * after; every look-up is checked against a walk of the whole array, the
 * record merge's joins took before the index (the first of the name).
 *
 * /xchg_ix/compared: 20,000 records of distinct names (one edge's
 * exchanges each, as many parts cut inside open exchanges leave them),
 * each looked up and then removed as mstate_xchg_join_exchanges() does:
 * the look-ups compare about one record each (a walk compared half the
 * array each: 10^8 here). */
#include <glib.h>
#include <string.h>

#include "analysis.h"
#include "distinct.h"
#include "mstate_xchg.h"

static struct conn_summary random_name(GRand *g)
{
    struct conn_summary cs;
    memset(&cs, 0, sizeof cs);
    int a = g_rand_int_range(g, 0, 3), b = g_rand_int_range(g, 0, 3);
    cs.client.family = a == 2 ? 6 : 4;
    cs.client.bytes[0] = 10;
    cs.client.bytes[3] = (uint8_t)(a == 2 ? 1 : a);
    cs.server.family = b == 2 ? 6 : 4;
    cs.server.bytes[0] = 10;
    cs.server.bytes[3] = (uint8_t)(b == 2 ? 1 : b);
    cs.client_port = (uint16_t)(445 + g_rand_int_range(g, 0, 2));
    cs.server_port = (uint16_t)(445 + g_rand_int_range(g, 0, 2));
    cs.first_ts = g_rand_int_range(g, 0, 3);
    return cs;
}

/* The first record of cs's name, by a walk (mstate_xchg.c before the index). */
static guint walk_find(const struct analysis *a, const struct conn_summary *cs)
{
    for (guint i = 0; a->edge_xchg && i < a->edge_xchg->len; i++) {
        const struct mstate_xchg *m = g_ptr_array_index(a->edge_xchg, i);
        if (m->first_ts == cs->first_ts && m->client_port == cs->client_port && m->server_port == cs->server_port &&
            !memcmp(&m->client, &cs->client, sizeof m->client) && !memcmp(&m->server, &cs->server, sizeof m->server))
            return i;
    }
    return G_MAXUINT;
}

static void test_walk(void)
{
    GRand *g = g_rand_new_with_seed(13);
    struct smb_conn_xchg x;
    uint64_t looked = 0, found = 0;
    for (int round = 0; round < 200; round++) {
        struct analysis a;
        memset(&a, 0, sizeof a);
        int n = g_rand_int_range(g, 0, 60);
        for (int i = 0; i < n; i++) {
            struct conn_summary cs = random_name(g);
            memset(&x, 0, sizeof x);
            x.session_id = (uint64_t)i; /* which record a look-up gave */
            mstate_xchg_put(&a, &cs, &x);
        }
        for (int op = 0; op < 400; op++) {
            guint len = a.edge_xchg ? a.edge_xchg->len : 0;
            int what = g_rand_int_range(g, 0, 10);
            if (what < 5) {
                struct conn_summary cs = random_name(g);
                guint want = walk_find(&a, &cs), got = mstate_xchg_find(&a, &cs);
                g_assert_cmpuint(got, ==, want);
                looked++;
                found += got != G_MAXUINT;
            } else if (what < 7 && len) {
                guint i = (guint)g_rand_int_range(g, 0, (gint32)len);
                struct conn_summary to = random_name(g);
                const struct mstate_xchg *m = g_ptr_array_index(a.edge_xchg, i);
                bool ports = g_rand_boolean(g); /* the RoCEv2 rename: ports too */
                mstate_xchg_rename(&a, i, to.first_ts, ports ? to.client_port : m->client_port,
                                   ports ? to.server_port : m->server_port);
            } else if (what < 8 && len) {
                mstate_xchg_remove(&a, (guint)g_rand_int_range(g, 0, (gint32)len));
            } else {
                struct conn_summary cs = random_name(g);
                memset(&x, 0, sizeof x);
                x.session_id = 1000u + (uint64_t)op;
                mstate_xchg_put(&a, &cs, &x);
            }
        }
        mstate_xchg_free(&a);
    }
    g_assert_cmpuint(found, >, looked / 4); /* the names were found, not only missed */
    g_rand_free(g);
}

static struct conn_summary nth_name(guint i)
{
    struct conn_summary cs;
    memset(&cs, 0, sizeof cs);
    cs.client.family = 4;
    cs.client.bytes[0] = 10;
    cs.client.bytes[1] = (uint8_t)(i >> 8);
    cs.client.bytes[2] = (uint8_t)i;
    cs.client.bytes[3] = 1;
    cs.server.family = 4;
    cs.server.bytes[0] = 10;
    cs.server.bytes[3] = 2;
    cs.client_port = (uint16_t)(32768 + i % 1000);
    cs.server_port = 445;
    cs.first_ts = 1700000000000000 + (int64_t)i;
    return cs;
}

static void test_compared(void)
{
    enum { N = 20000 };
    struct analysis a;
    memset(&a, 0, sizeof a);
    struct smb_conn_xchg x;
    memset(&x, 0, sizeof x);
    for (guint i = 0; i < N; i++) {
        struct conn_summary cs = nth_name(i);
        mstate_xchg_put(&a, &cs, &x);
    }
    uint64_t compared = 0;
    for (guint i = 0; i < N; i++) {
        struct conn_summary cs = nth_name((i * 7919u) % N);
        guint k = mstate_xchg_find_counted(&a, &cs, &compared);
        g_assert_cmpuint(k, !=, G_MAXUINT);
        mstate_xchg_remove(&a, k);
        g_assert_cmpuint(mstate_xchg_find(&a, &cs), ==, G_MAXUINT);
    }
    g_assert_cmpuint(a.edge_xchg->len, ==, 0);
    g_assert_cmpuint(compared, <=, 2u * N);
    mstate_xchg_free(&a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    distinct_process_key_set(0x5eed5eed5eed5eedull); /* one answer every run (the answer never depends on it) */
    g_test_add_func("/xchg_ix/walk", test_walk);
    g_test_add_func("/xchg_ix/compared", test_compared);
    return g_test_run();
}
