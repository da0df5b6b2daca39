/* test_census.c - the census's cache of recent UDP conversations changes
 * no count: the same datagrams through a census with the cache and one
 * without give the same exact set of conversation hashes (what merge
 * states carry) and the same HyperLogLog registers, in exact and in
 * estimating mode. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "distinct.h"

/* A pool of conversations: IPv4 and IPv6, some sharing addresses and
 * differing only by a port, some with equal addresses on both sides. */
struct conv {
    struct ip_addr a, b;
    uint16_t pa, pb;
};

static void make_pool(GRand *r, struct conv *pool, size_t n, bool near)
{
    for (size_t i = 0; i < n; i++) {
        struct conv *c = &pool[i];
        memset(c, 0, sizeof *c);
        uint8_t fam = g_rand_int_range(r, 0, 4) ? 4 : 6;
        c->a.family = c->b.family = fam;
        size_t len = fam == 4 ? 4 : 16;
        for (size_t k = 0; k < len; k++) {
            c->a.bytes[k] = (uint8_t)g_rand_int_range(r, 0, 4); /* few values: near-identical keys */
            c->b.bytes[k] = (uint8_t)g_rand_int_range(r, 0, 4);
        }
        if (i % 17 == 0)
            c->b = c->a;
        c->pa = (uint16_t)g_rand_int_range(r, 1, 8);
        c->pb = i % 5 == 0 ? c->pa : (uint16_t)g_rand_int_range(r, 1, 65536);
        if (near) { /* keys that differ in one field only share cache slots too */
            memset(&c->a, 0, sizeof c->a);
            c->a.family = c->b.family = 4;
            c->a.bytes[0] = 10;
            memset(c->b.bytes, 0, sizeof c->b.bytes);
            c->b.bytes[0] = 11;
            c->b.bytes[2] = (uint8_t)(i >> 8);
            c->b.bytes[3] = (uint8_t)i;
            c->pa = 53;
            c->pb = i % 3 ? 4000 : (uint16_t)(4000 + i);
        }
    }
}

static void feed(struct census *with, struct census *without, const struct conv *c, bool reverse)
{
    struct packet p;
    memset(&p, 0, sizeof p);
    p.l4 = L4_UDP;
    p.src = reverse ? c->b : c->a;
    p.dst = reverse ? c->a : c->b;
    p.sport = reverse ? c->pb : c->pa;
    p.dport = reverse ? c->pa : c->pb;
    p.caplen = p.wirelen = 100;
    census_packet(with, &p);
    census_packet(without, &p);
}

static void assert_same(const struct census *x, const struct census *y)
{
    bool ex = false, ey = false;
    g_assert_cmpuint(census_udp_conversations(x, &ex), ==, census_udp_conversations(y, &ey));
    g_assert_cmpint(ex, ==, ey);
    uint32_t nx = 0, ny = 0;
    const uint64_t *sx = distinct_slots(x->udp_convs, &nx), *sy = distinct_slots(y->udp_convs, &ny);
    g_assert_cmpuint(nx, ==, ny);
    if (nx)
        g_assert_cmpmem(sx, nx * sizeof *sx, sy, ny * sizeof *sy);
    g_assert_cmpmem(distinct_hll(x->udp_convs), DISTINCT_HLL_REGS, distinct_hll(y->udp_convs), DISTINCT_HLL_REGS);
}

static void run(uint32_t exact_cap, guint32 seed, bool near)
{
    struct census *with = census_new(), *without = census_new();
    g_assert_nonnull(with);
    g_assert_nonnull(without);
    g_assert_nonnull(with->recent);
    free(without->recent); /* the reference: every datagram hashed and added */
    without->recent = NULL;
    if (exact_cap) {
        distinct_free(with->udp_convs);
        distinct_free(without->udp_convs);
        with->udp_convs = distinct_new(exact_cap);
        without->udp_convs = distinct_new(exact_cap);
    }
    GRand *r = g_rand_new_with_seed(seed);
    enum { POOL = 6000 }; /* several times the cache: slots are shared and replaced */
    struct conv *pool = g_new(struct conv, POOL);
    make_pool(r, pool, POOL, near);
    for (int i = 0; i < 60000; i++) {
        /* mostly a recent conversation (the cache's case), sometimes any */
        int k = g_rand_int_range(r, 0, 4) ? (i / 10) % POOL : g_rand_int_range(r, 0, POOL);
        feed(with, without, &pool[k], g_rand_boolean(r));
        if (i % 4999 == 0)
            assert_same(with, without);
    }
    assert_same(with, without);
    g_assert_cmpuint(census_udp_conversations(without, NULL), >, 1000);
    g_free(pool);
    g_rand_free(r);
    census_free(with);
    census_free(without);
}

static void test_cache_exact(void) { run(0, 7, false); }
static void test_cache_near(void) { run(0, 5, true); }
static void test_cache_estimating(void) { run(500, 11, false); } /* past the cap: HyperLogLog only */

/* The SYN pairs a model table holds (linear probing, growing at half full
 * from 256 slots: the census's slot count too), each listed by
 * census_pair_at() in the order it came (reports and merge states list
 * pairs in that order, whatever the keyed hash), also with
 * near-identical addresses and past the cap. */
struct model_pair {
    bool taken;
    struct ip_addr c, s;
    uint32_t syns, at; /* at: the how-manieth pair it came */
};

static uint64_t model_hash(const struct ip_addr *c, const struct ip_addr *s)
{
    struct ip_addr k[2];
    memset(k, 0, sizeof k);
    k[0] = *c;
    k[1] = *s;
    return distinct_hash(k, sizeof k);
}

static uint32_t model_slot(const struct model_pair *m, uint32_t n, const struct ip_addr *c, const struct ip_addr *s)
{
    for (uint32_t i = (uint32_t)model_hash(c, s) & (n - 1);; i = (i + 1) & (n - 1))
        if (!m[i].taken || (!memcmp(&m[i].c, c, sizeof *c) && !memcmp(&m[i].s, s, sizeof *s)))
            return i;
}

static void test_pair_slots(void)
{
    enum { PAIRS = CENSUS_MAX_PAIRS + 3000 };
    struct census *c = census_new();
    uint32_t n = 256, used = 0;
    struct model_pair *m = g_new0(struct model_pair, n);
    GRand *r = g_rand_new_with_seed(3);
    uint64_t dropped = 0;
    for (unsigned i = 0; i < 3 * PAIRS; i++) {
        unsigned id = i < PAIRS ? i : (unsigned)g_rand_int_range(r, 0, PAIRS);
        struct ip_addr cl = { 4, { 10, (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id } };
        struct ip_addr sv = { 4, { 10, 200, 0, (uint8_t)(id % 3) } };
        if (id % 11 == 0) { /* IPv6, differing in one byte only */
            memset(&cl, 0, sizeof cl);
            cl.family = 6;
            cl.bytes[0] = 0xfd;
            cl.bytes[13] = (uint8_t)(id >> 16);
            cl.bytes[14] = (uint8_t)(id >> 8);
            cl.bytes[15] = (uint8_t)id;
            sv = cl;
            sv.bytes[1] = 1;
        }
        struct packet p;
        memset(&p, 0, sizeof p);
        p.l4 = L4_TCP;
        p.src = cl;
        p.dst = sv;
        p.sport = 50000;
        p.dport = 445;
        p.tcp_flags = TCP_SYN;
        p.ts_us = i;
        census_packet(c, &p);
        uint32_t k = model_slot(m, n, &cl, &sv);
        if (!m[k].taken) {
            if (used >= CENSUS_MAX_PAIRS) {
                dropped++;
                continue;
            }
            if ((used + 1) * 2 > n) {
                struct model_pair *g = g_new0(struct model_pair, 2 * n);
                for (uint32_t j = 0; j < n; j++)
                    if (m[j].taken)
                        g[model_slot(g, 2 * n, &m[j].c, &m[j].s)] = m[j];
                g_free(m);
                m = g;
                n *= 2;
                k = model_slot(m, n, &cl, &sv);
            }
            m[k] = (struct model_pair){ true, cl, sv, 0, used };
            used++;
        }
        m[k].syns++;
    }
    g_assert_cmpuint(census_pair_slots(c), ==, n);
    g_assert_cmpuint(c->pairs_dropped, ==, dropped);
    g_assert_cmpuint(dropped, >, 0);
    for (uint32_t j = 0; j < n; j++) {
        if (!m[j].taken)
            continue;
        const struct census_pair *e = census_pair_at(c, m[j].at); /* in the order they came */
        g_assert_nonnull(e);
        g_assert_cmpmem(&e->client, sizeof e->client, &m[j].c, sizeof m[j].c);
        g_assert_cmpmem(&e->server, sizeof e->server, &m[j].s, sizeof m[j].s);
        g_assert_cmpuint(e->syn445, ==, m[j].syns);
        g_assert_true(census_has_pair(c, &m[j].c, &m[j].s));
    }
    g_assert_null(census_pair_at(c, used));
    /* at its cap the table holds the pairs packed and an 8-byte slot for
     * each of twice as many (4.4 MB; two 124-byte slots a pair were 8.1 MB:
     * one table per --jobs thread) */
    g_assert_cmpuint(census_pair_table_bytes(c), <=,
                     CENSUS_MAX_PAIRS * sizeof(struct census_pair) + 2u * CENSUS_MAX_PAIRS * sizeof(struct census_pair_slot));
    g_rand_free(r);
    g_free(m);
    census_free(c);
}


/* distinct_hash() takes its bytes a word at a time; its values are in merge
 * states, so they must stay those of the
 * byte-wise FNV-1a and finaliser it always was: every length to 80, every
 * alignment, random bytes, and one value written down. */
static uint64_t fnv_bytewise(const uint8_t *b, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static void test_hash_bytewise(void)
{
    uint8_t buf[96];
    GRand *r = g_rand_new_with_seed(5);
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)g_rand_int(r);
        for (size_t off = 0; off < 8; off++)
            for (size_t n = 0; n + off <= 88; n++)
                g_assert_cmphex(distinct_hash(buf + off, n), ==, fnv_bytewise(buf + off, n));
    }
    g_rand_free(r);
    g_assert_cmphex(distinct_hash("", 0), ==, fnv_bytewise((const uint8_t *)"", 0));
    g_assert_cmphex(distinct_hash("smbscope census key", 19), ==, UINT64_C(0x0539cc681c916d8d));
}

/* Clients forged to share one slot under the fixed hash census.c had
 * (distinct_hash() of the two addresses: FNV-1a and a finaliser): every
 * one of N's low 11 bits equal, the bits a table of N pairs (2,048 slots)
 * starts its probe from, so a crafted capture made every SYN walk one run
 * of the table (quadratic).  Keyed by the process's random number, the
 * same clients spread: the longest probe stays short, every pair is found
 * and counted once. */
static uint64_t old_pair_hash(const struct ip_addr *c, const struct ip_addr *s)
{
    struct ip_addr k[2];
    memset(k, 0, sizeof k);
    k[0] = *c;
    k[1] = *s;
    return distinct_hash(k, sizeof k);
}

/* The longest probe of the pair table after the forged clients, under the
 * given process key (every pair still found and counted once). */
static uint32_t forged_longest(uint64_t key, const struct ip_addr *cl, uint32_t n, const struct ip_addr *sv)
{
    distinct_process_key_set(key);
    struct census *c = census_new();
    for (int round = 0; round < 2; round++)
        for (uint32_t i = 0; i < n; i++) {
            struct packet p;
            memset(&p, 0, sizeof p);
            p.l4 = L4_TCP;
            p.src = cl[i];
            p.dst = *sv;
            p.sport = 50000;
            p.dport = 445;
            p.tcp_flags = TCP_SYN;
            p.ts_us = round * n + i;
            census_packet(c, &p);
        }
    g_assert_cmpuint(c->pairs_used, ==, n);
    for (uint32_t i = 0; i < n; i++) {
        const struct census_pair *e = census_pair_at(c, i); /* in the order they came */
        g_assert_nonnull(e);
        g_assert_cmpmem(&e->client, sizeof e->client, &cl[i], sizeof cl[i]);
        g_assert_cmpuint(e->syn445, ==, 2);
        g_assert_true(census_has_pair(c, &cl[i], sv));
    }
    g_assert_null(census_pair_at(c, n));
    g_assert_cmpuint(census_pair_slots(c), ==, 2048); /* N pairs at half full */
    uint32_t longest = census_pair_longest_probe(c);
    census_free(c);
    return longest;
}

/* One slot: N - 1; spread over 2,048 slots at half full: tens.  Under a
 * fixed spread of process keys, not the process's own random one: a bound
 * on a random quantity is a test whose answer can change from run to run
 * (test_conn_groups.c's longest probe failed CI that way). */
static void test_pair_forged_collisions(void)
{
    enum { N = 1000, BITS = 11 }; /* BITS: the low bits of a table of N pairs' 2,048 slots */
    struct ip_addr sv = { 4, { 10, 200, 0, 1 } };
    struct ip_addr *cl = g_new0(struct ip_addr, N);
    uint32_t found = 0;
    for (uint32_t x = 1; found < N; x++) {
        struct ip_addr a = { 4, { 10, (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x } };
        g_assert_cmpuint(x, <, 1u << 24);
        if ((old_pair_hash(&a, &sv) & ((1u << BITS) - 1)) == 0x2A5)
            cl[found++] = a;
    }
    uint32_t worst = 0;
    uint64_t x = UINT64_C(0xF0A6ED);
    for (int i = 0; i < 64; i++) {
        x += UINT64_C(0x9E3779B97F4A7C15);
        worst = MAX(worst, forged_longest(x * UINT64_C(0xBF58476D1CE4E5B9) ^ x >> 29, cl, N, &sv));
    }
    g_test_message("longest probe over 64 keys: %u", worst);
    g_assert_cmpuint(worst, <, 100);
    g_free(cl);
}

/* census_pair_at() lists the pairs by first SYN, then client, then server,
 * whatever order they came in (and whatever the keyed hash put where):
 * the same SYNs fed forwards and backwards (each pair's SYN times kept),
 * with ties of time, give the same list, in that order. */
static void syn_at(struct census *c, uint8_t client, uint8_t server, int64_t ts)
{
    struct packet p;
    memset(&p, 0, sizeof p);
    p.l4 = L4_TCP;
    p.src = (struct ip_addr){ 4, { 10, 1, 0, client } };
    p.dst = (struct ip_addr){ 4, { 10, 2, 0, server } };
    p.sport = 50000;
    p.dport = server & 1 ? 139 : 445;
    p.tcp_flags = TCP_SYN;
    p.ts_us = ts;
    census_packet(c, &p);
}

static void test_pair_order(void)
{
    enum { N = 600 };
    struct census *fwd = census_new(), *back = census_new();
    for (int i = 0; i < N; i++) {
        int j = N - 1 - i;
        syn_at(fwd, (uint8_t)(i % 200), (uint8_t)(i / 200), (i * 7919) % 50); /* times tie, out of order */
        syn_at(back, (uint8_t)(j % 200), (uint8_t)(j / 200), (j * 7919) % 50);
    }
    g_assert_cmpuint(fwd->pairs_used, ==, N);
    const struct census_pair *prev = NULL;
    for (uint32_t i = 0; i < N; i++) {
        const struct census_pair *a = census_pair_at(fwd, i), *b = census_pair_at(back, i);
        g_assert_cmpmem(a, sizeof *a, b, sizeof *b);
        if (prev) {
            int64_t x = prev->syn139 ? prev->t139[0] : prev->t445[0], y = a->syn139 ? a->t139[0] : a->t445[0];
            g_assert_cmpint(x, <=, y);
            int d = memcmp(&prev->client, &a->client, sizeof a->client);
            if (x == y)
                g_assert_true(d < 0 || (d == 0 && memcmp(&prev->server, &a->server, sizeof a->server) < 0));
        }
        prev = a;
    }
    g_assert_null(census_pair_at(fwd, N));
    uint32_t n = 0;
    struct census_pair *taken = census_take_pairs(back, &n);
    g_assert_cmpuint(n, ==, N);
    for (uint32_t i = 0; i < N; i++)
        g_assert_cmpmem(&taken[i], sizeof taken[i], census_pair_at(fwd, i), sizeof taken[i]);
    g_free(taken);
    census_free(fwd);
    census_free(back);
}

/* census_packet_early() (census.h) answers for packets census_packet()
 * does nothing with, and with census_packet_late() splits it around the
 * caller's other work (the SYN pair's hash kept between them): a census
 * fed through them must end equal to one fed through census_packet(), on
 * packets of every kind (TCP flags, SMB and other
 * ports, UDP incl. DNS, ICMP, snaplen cuts). */
static void same_census(const struct census *x, const struct census *y)
{
    g_assert_cmpuint(x->snaplen_cut, ==, y->snaplen_cut);
    g_assert_cmpuint(x->snaplen_cut, >, 0);
    g_assert_cmpuint(x->snaplen_cut_smb, ==, y->snaplen_cut_smb);
    g_assert_cmpuint(x->snaplen, ==, y->snaplen);
    g_assert_cmpuint(x->dns_messages, ==, y->dns_messages);
    g_assert_cmpuint(census_udp_conversations(x, NULL), ==, census_udp_conversations(y, NULL));
    g_assert_cmpuint(x->pairs_used, ==, y->pairs_used);
    g_assert_cmpuint(x->pairs_used, >, 0);
    g_assert_cmpuint(census_pair_slots(x), ==, census_pair_slots(y));
    for (uint32_t k = 0; k < census_pair_slots(x); k++) {
        const struct census_pair *a = census_pair_at(x, k), *b = census_pair_at(y, k);
        g_assert_true((a == NULL) == (b == NULL));
        if (a)
            g_assert_cmpmem(a, sizeof *a, b, sizeof *b);
    }
}

static void test_inline_same(void)
{
    struct census *y = census_new(), *z = census_new();
    GRand *r = g_rand_new_with_seed(4242);
    static const uint16_t ports[] = { 139, 445, 53, 137, 5355, 40000, 1 };
    static const enum l4_proto l4s[] = { L4_TCP, L4_TCP, L4_TCP, L4_UDP, L4_ICMP_UNREACH, L4_OTHER };
    for (int i = 0; i < 20000; i++) {
        struct packet p;
        memset(&p, 0, sizeof p);
        p.l4 = l4s[g_rand_int_range(r, 0, G_N_ELEMENTS(l4s))];
        p.src.family = p.dst.family = 4;
        p.src.bytes[0] = 10;
        p.src.bytes[3] = (uint8_t)g_rand_int_range(r, 0, 50);
        p.dst.bytes[0] = 10;
        p.dst.bytes[3] = (uint8_t)g_rand_int_range(r, 50, 60);
        p.sport = ports[g_rand_int_range(r, 0, G_N_ELEMENTS(ports))];
        p.dport = ports[g_rand_int_range(r, 0, G_N_ELEMENTS(ports))];
        p.tcp_flags = (uint8_t)g_rand_int_range(r, 0, 64);
        p.wirelen = 100;
        p.caplen = g_rand_int_range(r, 0, 8) ? 100 : (uint32_t)g_rand_int_range(r, 40, 100);
        p.ts_us = i;
        census_packet(y, &p);
        uint64_t h = 0;
        if (census_packet_early(z, &p, &h))
            census_packet_late(z, &p, h);
    }
    same_census(z, y);
    g_rand_free(r);
    census_free(y);
    census_free(z);
}

/* Consecutive client addresses to one server (a scan, a generated load):
 * an arithmetic progression, whose home slots under a multiply-shift sum's
 * own top half bunch into runs for some process keys; hash_spread()
 * (hash_mix.h) breaks it up. */
static uint32_t progression_longest(uint64_t key, bool low_octet)
{
    enum { N = 1000 };
    distinct_process_key_set(key);
    struct census *c = census_new();
    struct ip_addr sv = { 4, { 10, 200, 0, 1 } };
    for (uint32_t i = 0; i < N; i++) {
        struct packet p;
        memset(&p, 0, sizeof p);
        p.l4 = L4_TCP;
        p.src = (struct ip_addr){ 4, { 10, 1, 0, 0 } };
        if (low_octet)
            p.src.bytes[2] = (uint8_t)(i >> 8), p.src.bytes[3] = (uint8_t)i;
        else
            p.src.bytes[1] = (uint8_t)(i >> 8), p.src.bytes[0] = (uint8_t)(i + 1);
        p.dst = sv;
        p.sport = 50000;
        p.dport = 445;
        p.tcp_flags = TCP_SYN;
        p.ts_us = i;
        census_packet(c, &p);
    }
    g_assert_cmpuint(c->pairs_used, ==, N);
    uint32_t longest = census_pair_longest_probe(c);
    census_free(c);
    return longest;
}

static void test_pair_progressions(void)
{
    static const struct {
        uint64_t key;
        bool low_octet;
    } crowded[] = { /* 971, 511; 285, 231 under the sum's top half */
                    { UINT64_C(0x2b2b9f79e7656aad), true },
                    { UINT64_C(0x6f083631b53e5e49), true },
                    { UINT64_C(0x277cdb32ae1fea8f), false },
                    { UINT64_C(0x7d9bde701442bd97), false } };
    uint32_t worst = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(crowded); i++)
        worst = MAX(worst, progression_longest(crowded[i].key, crowded[i].low_octet));
    uint64_t x = UINT64_C(0xCE45);
    for (int i = 0; i < 128; i++) {
        x += UINT64_C(0x9E3779B97F4A7C15);
        uint64_t k = x * UINT64_C(0xBF58476D1CE4E5B9) ^ x >> 29;
        worst = MAX(worst, progression_longest(k, true));
        worst = MAX(worst, progression_longest(k, false));
    }
    g_test_message("longest probe over %zu tables: %u", G_N_ELEMENTS(crowded) + 256, worst);
    g_assert_cmpuint(worst, <, 100);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/census/inline-same", test_inline_same);
    g_test_add_func("/census/conv-cache-exact", test_cache_exact);
    g_test_add_func("/census/conv-cache-near-keys", test_cache_near);
    g_test_add_func("/census/conv-cache-estimating", test_cache_estimating);
    g_test_add_func("/census/pair-slots", test_pair_slots);
    g_test_add_func("/census/hash-bytewise", test_hash_bytewise);
    g_test_add_func("/census/pair-forged-collisions", test_pair_forged_collisions);
    g_test_add_func("/census/pair-progressions", test_pair_progressions);
    g_test_add_func("/census/pair-order", test_pair_order);
    return g_test_run();
}
