/* ipfrag: in order, reverse, overlapping (first copy wins), duplicates,
 * missing piece (timeout), caps (datagrams, bytes per datagram, total bytes),
 * malformed pieces, IPv6 keys.  Offsets follow RFC 791/8200 (8-byte units). */
#include <glib.h>
#include <string.h>

#include "ipfrag.h"

static struct ipfrag_key key4(uint32_t id)
{
    struct ipfrag_key k;
    memset(&k, 0, sizeof k);
    k.src.family = k.dst.family = 4;
    k.src.bytes[0] = 10; k.src.bytes[3] = 1;
    k.dst.bytes[0] = 10; k.dst.bytes[3] = 2;
    k.id = id;
    k.proto = 17;
    return k;
}

static struct ipfrag_key key6(uint32_t id)
{
    struct ipfrag_key k;
    memset(&k, 0, sizeof k);
    k.src.family = k.dst.family = 6;
    k.src.bytes[0] = 0xfd; k.src.bytes[15] = 1;
    k.dst.bytes[0] = 0xfd; k.dst.bytes[15] = 2;
    k.id = id;
    return k;
}

static uint8_t data[4096];

static void fill(void)
{
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 31 + 7);
}

struct result {
    enum ipfrag_result r;
    const uint8_t *out;
    uint32_t len;
    uint8_t proto;
};

static struct result add(struct ipfrag_table *t, const struct ipfrag_key *k, int64_t ts, const uint8_t *src,
                         uint32_t off, uint32_t len, bool more)
{
    struct ipfrag_piece p = { .offset = off, .more = more, .data = src + off, .len = len, .next_proto = 17 };
    struct result res = { 0 };
    res.r = ipfrag_add(t, k, ts, &p, &res.out, &res.len, &res.proto);
    return res;
}

static void assert_complete(struct result r, uint32_t len)
{
    g_assert_cmpint(r.r, ==, IPFRAG_COMPLETE);
    g_assert_cmpuint(r.len, ==, len);
    g_assert_cmpuint(r.proto, ==, 17);
    g_assert_cmpmem(r.out, r.len, data, len);
}

static void test_in_order(void)
{
    fill();
    struct ipfrag_table *t = ipfrag_new(NULL);
    struct ipfrag_key k = key4(1);
    g_assert_cmpint(add(t, &k, 0, data, 0, 1480, true).r, ==, IPFRAG_HELD);
    g_assert_cmpint(add(t, &k, 1, data, 1480, 1480, true).r, ==, IPFRAG_HELD);
    g_assert_cmpuint(ipfrag_stats(t)->active, ==, 1);
    assert_complete(add(t, &k, 2, data, 2960, 1001, false), 3961);
    g_assert_cmpuint(ipfrag_stats(t)->active, ==, 0);
    g_assert_cmpuint(ipfrag_stats(t)->reassembled, ==, 1);
    g_assert_cmpuint(ipfrag_stats(t)->fragments, ==, 3);
    ipfrag_free(t);
}

static void test_reverse_order(void)
{
    fill();
    struct ipfrag_table *t = ipfrag_new(NULL);
    struct ipfrag_key k = key4(2);
    g_assert_cmpint(add(t, &k, 0, data, 2400, 3, false).r, ==, IPFRAG_HELD);
    for (int32_t off = 1600; off > 0; off -= 800)
        g_assert_cmpint(add(t, &k, 0, data, (uint32_t)off, 800, true).r, ==, IPFRAG_HELD);
    assert_complete(add(t, &k, 0, data, 0, 800, true), 2403);
    ipfrag_free(t);
}

/* Overlaps keep what arrived first: the second copy carries other bytes and
 * must not show in the result. */
static void test_overlap_first_wins(void)
{
    fill();
    uint8_t liar[4096];
    memset(liar, 0xEE, sizeof liar);
    struct ipfrag_table *t = ipfrag_new(NULL);
    struct ipfrag_key k = key4(3);
    g_assert_cmpint(add(t, &k, 0, data, 0, 800, true).r, ==, IPFRAG_HELD);
    /* overlaps [400, 800) already held and adds [800, 1200) */
    g_assert_cmpint(add(t, &k, 0, liar, 400, 800, true).r, ==, IPFRAG_HELD);
    g_assert_cmpuint(ipfrag_stats(t)->overlaps, ==, 1);
    /* the genuine bytes for [800,1200) come later and lose */
    g_assert_cmpint(add(t, &k, 0, data, 800, 400, true).r, ==, IPFRAG_HELD);
    g_assert_cmpuint(ipfrag_stats(t)->duplicates, ==, 1);
    struct result r = add(t, &k, 0, data, 1200, 100, false);
    g_assert_cmpint(r.r, ==, IPFRAG_COMPLETE);
    g_assert_cmpuint(r.len, ==, 1300);
    g_assert_cmpmem(r.out, 800, data, 800);
    for (uint32_t i = 800; i < 1200; i++)
        g_assert_cmphex(r.out[i], ==, 0xEE);
    g_assert_cmpmem(r.out + 1200, 100, data + 1200, 100);
    ipfrag_free(t);
}

static void test_duplicate(void)
{
    fill();
    struct ipfrag_table *t = ipfrag_new(NULL);
    struct ipfrag_key k = key4(4);
    g_assert_cmpint(add(t, &k, 0, data, 0, 1000, true).r, ==, IPFRAG_HELD);
    g_assert_cmpint(add(t, &k, 0, data, 0, 1000, true).r, ==, IPFRAG_HELD);
    g_assert_cmpuint(ipfrag_stats(t)->duplicates, ==, 1);
    assert_complete(add(t, &k, 0, data, 1000, 24, false), 1024);
    /* the same last fragment again starts a new, incomplete datagram */
    g_assert_cmpint(add(t, &k, 0, data, 1000, 24, false).r, ==, IPFRAG_HELD);
    ipfrag_free(t);
}

static void test_missing_piece_times_out(void)
{
    fill();
    struct ipfrag_config cfg;
    ipfrag_config_default(&cfg);
    g_assert_cmpint(cfg.timeout_us, ==, 30 * G_USEC_PER_SEC);
    struct ipfrag_table *t = ipfrag_new(&cfg);
    struct ipfrag_key k = key4(5), other = key4(6);
    int64_t t0 = INT64_C(1700000000) * G_USEC_PER_SEC;
    g_assert_cmpint(add(t, &k, t0, data, 0, 800, true).r, ==, IPFRAG_HELD);
    g_assert_cmpint(add(t, &k, t0 + 1, data, 1600, 8, false).r, ==, IPFRAG_HELD);
    /* within the timeout nothing expires */
    g_assert_cmpint(add(t, &other, t0 + 29 * G_USEC_PER_SEC, data, 0, 8, true).r, ==, IPFRAG_HELD);
    g_assert_cmpuint(ipfrag_stats(t)->timed_out, ==, 0);
    /* past it, the datagram missing [800,1600) is dropped; the piece that
     * arrives late starts a new datagram */
    g_assert_cmpint(add(t, &k, t0 + 31 * G_USEC_PER_SEC, data, 800, 800, true).r, ==, IPFRAG_HELD);
    g_assert_cmpuint(ipfrag_stats(t)->timed_out, ==, 1);
    g_assert_cmpuint(ipfrag_stats(t)->active, ==, 2);
    ipfrag_expire(t, INT64_MAX);
    g_assert_cmpuint(ipfrag_stats(t)->timed_out, ==, 3);
    g_assert_cmpuint(ipfrag_stats(t)->active, ==, 0);
    ipfrag_free(t);
}

static void test_datagram_cap(void)
{
    fill();
    struct ipfrag_config cfg;
    ipfrag_config_default(&cfg);
    cfg.max_datagrams = 4;
    struct ipfrag_table *t = ipfrag_new(&cfg);
    for (uint32_t id = 0; id < 6; id++) {
        struct ipfrag_key k = key4(100 + id);
        g_assert_cmpint(add(t, &k, id, data, 0, 8, true).r, ==, IPFRAG_HELD);
    }
    g_assert_cmpuint(ipfrag_stats(t)->active, ==, 4);
    g_assert_cmpuint(ipfrag_stats(t)->evicted, ==, 2);
    /* the two oldest (100, 101) were evicted; 105 still completes */
    struct ipfrag_key k5 = key4(105);
    assert_complete(add(t, &k5, 10, data, 8, 8, false), 16);
    struct ipfrag_key k0 = key4(100);
    g_assert_cmpint(add(t, &k0, 11, data, 8, 8, false).r, ==, IPFRAG_HELD);
    ipfrag_free(t);
}

static void test_byte_caps(void)
{
    fill();
    struct ipfrag_config cfg;
    ipfrag_config_default(&cfg);
    cfg.max_datagram_bytes = 2048;
    cfg.max_total_bytes = 5000;
    struct ipfrag_table *t = ipfrag_new(&cfg);
    struct ipfrag_key k = key4(7);
    g_assert_cmpint(add(t, &k, 0, data, 0, 1024, true).r, ==, IPFRAG_HELD);
    /* ends past 2048: the datagram is dropped and counted */
    g_assert_cmpint(add(t, &k, 0, data, 1024, 1032, true).r, ==, IPFRAG_DROPPED);
    g_assert_cmpuint(ipfrag_stats(t)->dropped_too_big, ==, 1);
    g_assert_cmpuint(ipfrag_stats(t)->active, ==, 0);

    /* total memory: three datagrams of 2048 need 6144 > 5000 */
    struct ipfrag_key a = key4(8), b = key4(9), c = key4(10);
    g_assert_cmpint(add(t, &a, 0, data, 1024, 1024, true).r, ==, IPFRAG_HELD);
    g_assert_cmpint(add(t, &b, 0, data, 1024, 1024, true).r, ==, IPFRAG_HELD);
    g_assert_cmpint(add(t, &c, 0, data, 1024, 1024, true).r, ==, IPFRAG_DROPPED);
    g_assert_cmpuint(ipfrag_stats(t)->dropped_memory, ==, 1);
    g_assert_cmpuint(ipfrag_stats(t)->bytes_allocated, <=, 5000);
    /* a completes; its memory is reused, not reallocated beyond the cap */
    g_assert_cmpint(add(t, &a, 0, data, 0, 1024, true).r, ==, IPFRAG_HELD);
    assert_complete(add(t, &a, 0, data, 2048, 0, false), 2048);
    ipfrag_free(t);
}

static void test_malformed(void)
{
    fill();
    struct ipfrag_table *t = ipfrag_new(NULL);
    struct ipfrag_key k = key4(11);
    /* a non-last fragment whose length is not a multiple of 8 */
    g_assert_cmpint(add(t, &k, 0, data, 0, 1001, true).r, ==, IPFRAG_DROPPED);
    /* two different ends */
    g_assert_cmpint(add(t, &k, 0, data, 800, 100, false).r, ==, IPFRAG_HELD);
    g_assert_cmpint(add(t, &k, 0, data, 800, 200, false).r, ==, IPFRAG_DROPPED);
    /* data past the end announced by the last fragment */
    g_assert_cmpint(add(t, &k, 0, data, 800, 100, false).r, ==, IPFRAG_HELD);
    g_assert_cmpint(add(t, &k, 0, data, 800, 160, true).r, ==, IPFRAG_DROPPED);
    g_assert_cmpuint(ipfrag_stats(t)->dropped_malformed, ==, 3);
    g_assert_cmpuint(ipfrag_stats(t)->active, ==, 0);
    ipfrag_free(t);
}

static void test_ipv6_keys(void)
{
    fill();
    struct ipfrag_table *t = ipfrag_new(NULL);
    struct ipfrag_key a = key6(0xdeadbeef), b = key6(0xdeadbef0), v4 = key4(0xbeef);
    g_assert_cmpint(add(t, &a, 0, data, 0, 1232, true).r, ==, IPFRAG_HELD);
    g_assert_cmpint(add(t, &b, 0, data, 0, 1232, true).r, ==, IPFRAG_HELD);
    g_assert_cmpint(add(t, &v4, 0, data, 0, 1232, true).r, ==, IPFRAG_HELD);
    g_assert_cmpuint(ipfrag_stats(t)->active, ==, 3);
    assert_complete(add(t, &a, 0, data, 1232, 1000, false), 2232);
    assert_complete(add(t, &b, 0, data, 1232, 8, false), 1240);
    g_assert_cmpuint(ipfrag_stats(t)->active, ==, 1);
    ipfrag_free(t);
}

/* Many datagrams through a small table: memory stays bounded and warm. */
static void test_churn_bounded(void)
{
    fill();
    struct ipfrag_config cfg;
    ipfrag_config_default(&cfg);
    cfg.max_datagrams = 8;
    cfg.max_total_bytes = 64 * 1024;
    struct ipfrag_table *t = ipfrag_new(&cfg);
    for (uint32_t id = 0; id < 5000; id++) {
        struct ipfrag_key k = key4(id);
        add(t, &k, id, data, 0, 2048, true);
        if (id % 3)
            assert_complete(add(t, &k, id, data, 2048, 2000, false), 4048);
        g_assert_cmpuint(ipfrag_stats(t)->bytes_allocated, <=, cfg.max_total_bytes);
    }
    g_assert_cmpuint(ipfrag_stats(t)->active, <=, 8);
    ipfrag_free(t);
}

/* What the merge state carries (ipfrag.h: datagrams a cut divides): the
 * open datagrams at the end, with their held units, ends and times; and
 * copies of those dropped incomplete that began within the timeout of the
 * table's first fragment, none of the later ones. */
static void test_held_open_and_heads(void)
{
    fill();
    struct ipfrag_table *t = ipfrag_new(NULL);
    int64_t t0 = INT64_C(1700000000) * G_USEC_PER_SEC;
    struct ipfrag_key early = key4(20), late = key4(21), open = key6(22);
    g_assert_cmpint(add(t, &early, t0, data, 800, 8, false).r, ==, IPFRAG_HELD); /* its end only */
    g_assert_cmpint(add(t, &late, t0 + 31 * G_USEC_PER_SEC, data, 0, 16, true).r, ==, IPFRAG_HELD);
    /* late's 31 s expire early (first fragment at the table's start: kept) */
    g_assert_cmpint(add(t, &open, t0 + 62 * G_USEC_PER_SEC, data, 0, 24, true).r, ==, IPFRAG_HELD);
    g_assert_cmpint(add(t, &open, t0 + 62 * G_USEC_PER_SEC + 5, data, 40, 8, true).r, ==, IPFRAG_HELD);
    /* open's 62 s expire late (it began 31 s after the first fragment: not kept) */
    g_assert_cmpuint(ipfrag_stats(t)->timed_out, ==, 2);
    size_t pos = 0;
    struct ipfrag_held h;
    g_assert_true(ipfrag_held_next(t, &pos, &h));
    g_assert_cmpint(h.fate, ==, IPFRAG_OPEN);
    g_assert_cmpuint(h.key.id, ==, 22);
    g_assert_cmpint(h.first_ts, ==, t0 + 62 * G_USEC_PER_SEC);
    g_assert_cmpint(h.last_ts, ==, t0 + 62 * G_USEC_PER_SEC + 5);
    g_assert_true(h.have_first && !h.have_total);
    g_assert_cmpuint(h.extent, ==, 48);
    for (uint32_t u = 0; u < 6; u++)
        g_assert_cmpint(ipfrag_unit_held(h.bits, u), ==, u != 3 && u != 4);
    g_assert_cmpmem(h.buf, 24, data, 24);
    g_assert_cmpmem(h.buf + 40, 8, data + 40, 8);
    g_assert_true(ipfrag_held_next(t, &pos, &h));
    g_assert_cmpint(h.fate, ==, IPFRAG_TIMED_OUT);
    g_assert_cmpuint(h.key.id, ==, 20);
    g_assert_true(!h.have_first && h.have_total && h.total == 808 && h.extent == 808);
    g_assert_true(ipfrag_unit_held(h.bits, 100) && !ipfrag_unit_held(h.bits, 99));
    g_assert_cmpmem(h.buf + 800, 8, data + 800, 8);
    g_assert_false(ipfrag_held_next(t, &pos, &h)); /* late: not kept */
    /* merge takes the losses back */
    ipfrag_unlose(t, IPFRAG_TIMED_OUT);
    ipfrag_unlose(t, IPFRAG_OPEN);
    ipfrag_count_reassembled(t);
    g_assert_cmpuint(ipfrag_stats(t)->timed_out, ==, 1);
    g_assert_cmpuint(ipfrag_stats(t)->active, ==, 0);
    g_assert_cmpuint(ipfrag_stats(t)->reassembled, ==, 1);
    ipfrag_unlose(t, IPFRAG_OPEN); /* not below 0 */
    g_assert_cmpuint(ipfrag_stats(t)->active, ==, 0);
    ipfrag_free(t);
}

/* At most IPFRAG_HEADS_MAX copies kept, whatever drops them. */
static void test_heads_capped(void)
{
    fill();
    struct ipfrag_config cfg;
    ipfrag_config_default(&cfg);
    cfg.max_datagrams = 4;
    struct ipfrag_table *t = ipfrag_new(&cfg);
    int64_t t0 = INT64_C(1700000000) * G_USEC_PER_SEC;
    for (uint32_t id = 0; id < 2 * IPFRAG_HEADS_MAX; id++) {
        struct ipfrag_key k = key4(1000 + id);
        add(t, &k, t0 + id, data, 0, 8, true); /* each evicts the oldest past 4 */
    }
    g_assert_cmpuint(ipfrag_stats(t)->evicted, ==, 2 * IPFRAG_HEADS_MAX - 4);
    size_t pos = 0, open = 0, heads = 0;
    struct ipfrag_held h;
    while (ipfrag_held_next(t, &pos, &h)) {
        if (h.fate == IPFRAG_OPEN) {
            open++;
        } else {
            g_assert_cmpint(h.fate, ==, IPFRAG_EVICTED);
            heads++;
        }
    }
    g_assert_cmpuint(open, ==, 4);
    g_assert_cmpuint(heads, ==, IPFRAG_HEADS_MAX);
    ipfrag_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ipfrag/in-order", test_in_order);
    g_test_add_func("/ipfrag/reverse-order", test_reverse_order);
    g_test_add_func("/ipfrag/overlap-first-wins", test_overlap_first_wins);
    g_test_add_func("/ipfrag/duplicate", test_duplicate);
    g_test_add_func("/ipfrag/missing-piece-timeout", test_missing_piece_times_out);
    g_test_add_func("/ipfrag/datagram-cap", test_datagram_cap);
    g_test_add_func("/ipfrag/byte-caps", test_byte_caps);
    g_test_add_func("/ipfrag/malformed", test_malformed);
    g_test_add_func("/ipfrag/ipv6-keys", test_ipv6_keys);
    g_test_add_func("/ipfrag/churn-bounded", test_churn_bounded);
    g_test_add_func("/ipfrag/held-open-and-heads", test_held_open_and_heads);
    g_test_add_func("/ipfrag/heads-capped", test_heads_capped);
    return g_test_run();
}
