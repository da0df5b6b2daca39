/* The QUIC table's path index (analyzer/model/quic_paths.c) against a plain
 * list: random adds, finds and removes, on keys chosen so that many share a
 * home slot (removal must shift the rest of a probe run back, or a later
 * look-up stops at the hole); its port filter against counts per port. */
#include <glib.h>
#include <string.h>

#include "quic_paths.h"

enum { KEYS = 3000 };

static struct quic_path key_of(unsigned i)
{
    struct ip_addr a = { 4, { 10, 9, (uint8_t)(i >> 8), (uint8_t)i } }, b = { 4, { 192, 0, 2, 1 } };
    if (i % 5 == 0) { /* some IPv6 */
        a.family = 6;
        memset(a.bytes, 0, 16);
        a.bytes[0] = 0xfd;
        a.bytes[15] = (uint8_t)i;
        a.bytes[14] = (uint8_t)(i >> 8);
        b.family = 6;
        memset(b.bytes, 0, 16);
        b.bytes[0] = 0xfd;
        b.bytes[15] = 1;
    }
    return quic_path_canon(&a, (uint16_t)(40000 + i % 7), &b, 443);
}

static void test_canon(void)
{
    struct quic_paths t = { .key = 0x9e3779b97f4a7c15u };
    struct ip_addr a = { 4, { 10, 0, 0, 2 } }, b = { 4, { 10, 0, 0, 1 } };
    struct quic_path x = quic_path_canon(&a, 5000, &b, 443), y = quic_path_canon(&b, 443, &a, 5000);
    g_assert_cmpmem(&x, sizeof x, &y, sizeof y);
    g_assert_cmpuint(quic_path_hash(&t, &x), ==, quic_path_hash(&t, &y));
    g_assert_cmpuint(x.a.bytes[3], ==, 1);
    /* the same address both sides: the port orders */
    struct quic_path s1 = quic_path_canon(&a, 9, &a, 7), s2 = quic_path_canon(&a, 7, &a, 9);
    g_assert_cmpmem(&s1, sizeof s1, &s2, sizeof s2);
    g_assert_cmpuint(s1.pa, ==, 7);
}

static void test_random_ops(void)
{
    static struct quic_path keys[KEYS];
    static bool in[KEYS];
    for (unsigned i = 0; i < KEYS; i++)
        keys[i] = key_of(i);
    struct quic_paths t = { 0 };
    GRand *r = g_rand_new_with_seed(11);
    unsigned present = 0;
    for (unsigned step = 0; step < 200000; step++) {
        unsigned i = (unsigned)g_rand_int_range(r, 0, KEYS);
        unsigned op = (unsigned)g_rand_int_range(r, 0, 3);
        void *want = in[i] ? &keys[i] : NULL;
        g_assert_true(quic_paths_find(&t, &keys[i], quic_path_hash(&t, &keys[i])) == want);
        if (op == 0 && !in[i]) {
            g_assert_true(quic_paths_add(&t, &keys[i], &keys[i]));
            in[i] = true;
            present++;
        } else if (op == 1 && in[i]) {
            quic_paths_remove(&t, &keys[i]);
            in[i] = false;
            present--;
        } else if (op == 2) {
            struct quic_path other = keys[i];
            other.pb ^= 1; /* never added */
            g_assert_null(quic_paths_find(&t, &other, quic_path_hash(&t, &other)));
            quic_paths_remove(&t, &other); /* not there: changes nothing */
        }
        g_assert_cmpuint(quic_paths_size(&t), ==, present);
        if (step % 20000 == 0) /* every key where it should be */
            for (unsigned k = 0; k < KEYS; k++)
                g_assert_true(quic_paths_find(&t, &keys[k], quic_path_hash(&t, &keys[k])) == (in[k] ? &keys[k] : NULL));
    }
    g_rand_free(r);
    quic_paths_free(&t);
}

/* Every entry in one probe run: removing from the middle must keep the
 * entries after it reachable, across the end of the slot array too. */
static void test_collisions(void)
{
    struct quic_paths t = { 0 };
    static struct quic_path keys[KEYS];
    unsigned n = 0;
    /* 64 slots before the first growth: keys whose hash falls on the last
     * slots, so runs wrap around to slot 0 */
    for (unsigned i = 0; n < 20 && i < 200000; i++) {
        struct quic_path k = key_of(i % KEYS);
        k.pa = (uint16_t)i;
        if ((quic_path_hash(&t, &k) & 63) >= 60)
            keys[n++] = k;
    }
    g_assert_cmpuint(n, ==, 20);
    /* each key removed from a full table in turn, then every third */
    for (unsigned gone = 0; gone < n; gone++) {
        for (unsigned i = 0; i < n; i++)
            g_assert_true(quic_paths_add(&t, &keys[i], &keys[i]));
        quic_paths_remove(&t, &keys[gone]);
        for (unsigned i = 0; i < n; i++)
            g_assert_true(quic_paths_find(&t, &keys[i], quic_path_hash(&t, &keys[i])) == (i == gone ? NULL : &keys[i]));
        for (unsigned i = 0; i < n; i++)
            quic_paths_remove(&t, &keys[i]);
        g_assert_cmpuint(quic_paths_size(&t), ==, 0);
    }
    for (unsigned i = 0; i < n; i++)
        g_assert_true(quic_paths_add(&t, &keys[i], &keys[i]));
    for (unsigned gone = 0; gone < n; gone += 3) {
        quic_paths_remove(&t, &keys[gone]);
        for (unsigned i = 0; i < n; i++) {
            bool removed = i <= gone && i % 3 == 0;
            g_assert_true(quic_paths_find(&t, &keys[i], quic_path_hash(&t, &keys[i])) == (removed ? NULL : &keys[i]));
        }
    }
    quic_paths_free(&t);
}

/* The port filter against a count per port kept here: a port's bit is set
 * exactly while some present path has an endpoint on it (paths on the same
 * port twice, ports shared by many paths, removals of keys not there). */
static void test_port_filter(void)
{
    enum { N = 2000 };
    static struct quic_path keys[N];
    static bool in[N];
    static unsigned count[QUIC_PORTS];
    for (unsigned i = 0; i < N; i++) {
        struct ip_addr a = { 4, { 10, 7, (uint8_t)(i >> 8), (uint8_t)i } }, b = { 4, { 192, 0, 2, 9 } };
        uint16_t pa = (uint16_t)(1024 + (i * 7919u) % 300), pb = i % 3 == 0 ? 443 : i % 3 == 1 ? 8443 : pa;
        keys[i] = quic_path_canon(&a, pa, &b, pb);
    }
    struct quic_paths t = { 0 };
    g_assert_false(quic_paths_may_hold(&t, 443, 1024)); /* empty: nothing allocated yet */
    GRand *r = g_rand_new_with_seed(23);
    for (unsigned step = 0; step < 60000; step++) {
        unsigned i = (unsigned)g_rand_int_range(r, 0, N);
        if (!in[i] && g_rand_boolean(r)) {
            g_assert_true(quic_paths_add(&t, &keys[i], &keys[i]));
            count[keys[i].pa]++;
            count[keys[i].pb]++;
            in[i] = true;
        } else if (in[i]) {
            quic_paths_remove(&t, &keys[i]);
            count[keys[i].pa]--;
            count[keys[i].pb]--;
            in[i] = false;
        }
        struct quic_path other = keys[i];
        other.a.bytes[0] = 11; /* never added */
        quic_paths_remove(&t, &other);
        for (unsigned k = 0; k < 8; k++) {
            uint16_t p = (uint16_t)g_rand_int_range(r, 1000, 1400), q = k & 1 ? 443 : (uint16_t)g_rand_int_range(r, 1000, 1400);
            g_assert_cmpint(quic_paths_may_hold(&t, p, q), ==, count[p] > 0 && count[q] > 0);
        }
        if (in[i])
            g_assert_true(quic_paths_may_hold(&t, keys[i].pa, keys[i].pb));
    }
    for (unsigned i = 0; i < N; i++)
        if (in[i])
            quic_paths_remove(&t, &keys[i]);
    for (unsigned i = 0; i < N; i++)
        g_assert_false(quic_paths_may_hold(&t, keys[i].pa, keys[i].pb));
    g_rand_free(r);
    quic_paths_free(&t);
}

/* A datagram's look-up by its two endpoints (no key built) answers what
 * quic_paths_find() of the canonical key does, the side included: either
 * order, the same address on both ends (the port decides), IPv4 against
 * IPv6, and addresses that differ only in a high bit or a late byte (the
 * order is memcmp's: unsigned, first byte first). */
static void test_lookup_by_ends(void)
{
    enum { N = 400 };
    static struct ip_addr addrs[N];
    static uint16_t ports[N];
    static struct quic_path keys[N];
    GRand *r = g_rand_new_with_seed(77);
    for (unsigned i = 0; i < N; i++) {
        struct ip_addr *a = &addrs[i];
        memset(a, 0, sizeof *a);
        a->family = i % 3 == 0 ? 6 : 4;
        unsigned n = a->family == 4 ? 4 : 16;
        for (unsigned k = 0; k < n; k++) /* few distinct bytes: many ties on the first word */
            a->bytes[k] = (uint8_t)(g_rand_boolean(r) ? 0x7F : 0x80 + g_rand_int_range(r, 0, 2));
        ports[i] = (uint16_t)g_rand_int_range(r, 442, 445);
    }
    struct quic_paths t = { .key = 0xc2b2ae3d27d4eb4fu }; /* keyed, as the quic table's */
    bool x_is_a = false;
    g_assert_null(quic_paths_lookup(&t, &addrs[0], 1, &addrs[1], 2, &x_is_a)); /* empty */
    for (unsigned i = 0; i + 1 < N; i += 2) {
        keys[i] = quic_path_canon(&addrs[i], ports[i], &addrs[i + 1], ports[i + 1]);
        if (!quic_paths_find(&t, &keys[i], quic_path_hash(&t, &keys[i])))
            g_assert_true(quic_paths_add(&t, &keys[i], &keys[i]));
    }
    unsigned hits = 0, a_first = 0, b_first = 0;
    for (unsigned step = 0; step < 200000; step++) {
        unsigned i = (unsigned)g_rand_int_range(r, 0, N), j = (unsigned)g_rand_int_range(r, 0, N);
        uint16_t pi = g_rand_boolean(r) ? ports[i] : ports[j], pj = ports[j];
        struct quic_path k;
        bool side = quic_path_canon_side(&addrs[i], pi, &addrs[j], pj, &k);
        /* the order as written down: family, memcmp of the bytes, port */
        int c = addrs[i].family != addrs[j].family ? (addrs[i].family < addrs[j].family ? -1 : 1)
                                                   : memcmp(addrs[i].bytes, addrs[j].bytes, 16);
        g_assert_cmpint(side, ==, c < 0 || (c == 0 && pi <= pj));
        void *want = quic_paths_find(&t, &k, quic_path_hash(&t, &k));
        void *got = quic_paths_lookup(&t, &addrs[i], pi, &addrs[j], pj, &x_is_a);
        g_assert_true(got == want);
        g_assert_cmpint(x_is_a, ==, side);
        hits += want != NULL;
        a_first += side;
        b_first += !side;
    }
    for (unsigned i = 0; i + 1 < N; i += 2) { /* every path from both ends */
        g_assert_nonnull(quic_paths_lookup(&t, &addrs[i], ports[i], &addrs[i + 1], ports[i + 1], &x_is_a));
        g_assert_nonnull(quic_paths_lookup(&t, &addrs[i + 1], ports[i + 1], &addrs[i], ports[i], &x_is_a));
    }
    g_assert_cmpuint(hits, >, 1000);
    g_assert_cmpuint(a_first, >, 1000);
    g_assert_cmpuint(b_first, >, 1000);
    quic_paths_free(&t);
    g_rand_free(r);
}

/* The key moves every path's slot: the same paths under two keys sit in
 * different slots (a capture cannot pick paths that crowd one probe run
 * without knowing the process's key), and both tables find all of them. */
static void test_keyed(void)
{
    enum { N = 200 };
    static struct quic_path keys[N];
    struct quic_paths t[3] = { { .key = 0 }, { .key = 0x9e3779b97f4a7c15u }, { .key = 0x9e3779b97f4a7c17u } };
    for (unsigned i = 0; i < N; i++)
        keys[i] = key_of(i * 13);
    for (int k = 0; k < 3; k++)
        for (unsigned i = 0; i < N; i++)
            g_assert_true(quic_paths_add(&t[k], &keys[i], &keys[i]));
    for (int k = 0; k < 3; k++) {
        g_assert_cmpuint(t[k].n, ==, t[0].n);
        for (unsigned i = 0; i < N; i++) {
            bool x_is_a;
            g_assert_true(quic_paths_lookup(&t[k], &keys[i].a, keys[i].pa, &keys[i].b, keys[i].pb, &x_is_a) ==
                          &keys[i]);
        }
        for (int o = 0; o < k; o++) {
            unsigned moved = 0;
            for (uint32_t s = 0; s < t[k].n; s++)
                moved += t[k].slots[s].key != t[o].slots[s].key;
            g_assert_cmpuint(moved, >, N / 2);
            g_assert_cmpuint(quic_path_hash(&t[k], &keys[0]), !=, quic_path_hash(&t[o], &keys[0]));
        }
    }
    for (int k = 0; k < 3; k++)
        quic_paths_free(&t[k]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/quic-paths/canon", test_canon);
    g_test_add_func("/quic-paths/keyed", test_keyed);
    g_test_add_func("/quic-paths/random", test_random_ops);
    g_test_add_func("/quic-paths/collisions", test_collisions);
    g_test_add_func("/quic-paths/lookup-by-ends", test_lookup_by_ends);
    g_test_add_func("/quic-paths/port-filter", test_port_filter);
    return g_test_run();
}
