/* esp_peers: the pairs of encrypted ESP named in the report, bounded;
 * folded (--jobs, merge) as one run keeps them. */
#include <glib.h>
#include <string.h>

#include "esp_peers.h"

static struct ip_addr v4(unsigned last)
{
    struct ip_addr a = { .family = 4 };
    a.bytes[0] = 10;
    a.bytes[3] = (uint8_t)last;
    return a;
}

static void note(struct esp_peers *p, unsigned x, unsigned y, int64_t ts)
{
    struct packet pkt = { .ts_us = ts };
    pkt.src = v4(x);
    pkt.dst = v4(y);
    esp_peers_note(p, &pkt);
}

/* Either direction is one pair; past ESP_PEERS_MAX pairs, packets are
 * counted together. */
static void test_bound(void)
{
    struct esp_peers p = { 0 };
    for (unsigned i = 0; i < ESP_PEERS_MAX + 4; i++) {
        note(&p, 1, 100 + i, i);
        note(&p, 100 + i, 1, i); /* the reply */
    }
    g_assert_cmpuint(p.n, ==, ESP_PEERS_MAX);
    g_assert_cmpuint(p.other_packets, ==, 8);
    for (unsigned i = 0; i < ESP_PEERS_MAX; i++) {
        g_assert_cmpuint(p.pairs[i].packets, ==, 2);
        g_assert_cmpuint(p.pairs[i].a.bytes[3], ==, 1); /* the lower address first */
        g_assert_cmpuint(p.pairs[i].b.bytes[3], ==, 100 + i);
    }
}

/* Two parts folded in either order give one run's list: pairs in the
 * order they were first met, the ones past the bound counted together. */
static void test_fold(void)
{
    struct esp_peers whole = { 0 }, first = { 0 }, second = { 0 };
    for (unsigned i = 0; i < 2 * ESP_PEERS_MAX; i++) {
        unsigned peer = 200 - (i % (ESP_PEERS_MAX + 6));
        note(&whole, 1, peer, i);
        note(i < ESP_PEERS_MAX ? &first : &second, 1, peer, i);
    }
    for (int order = 0; order < 2; order++) {
        struct esp_peers a = order ? second : first, b = order ? first : second;
        esp_peers_fold(&a, &b);
        g_assert_cmpuint(a.n, ==, whole.n);
        g_assert_cmpuint(a.other_packets, ==, whole.other_packets);
        for (uint32_t i = 0; i < a.n; i++) {
            g_assert_cmpmem(&a.pairs[i].b, sizeof(struct ip_addr), &whole.pairs[i].b, sizeof(struct ip_addr));
            g_assert_cmpuint(a.pairs[i].packets, ==, whole.pairs[i].packets);
            g_assert_cmpint(a.pairs[i].first_ts, ==, whole.pairs[i].first_ts);
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/esp-peers/bound", test_bound);
    g_test_add_func("/esp-peers/fold", test_fold);
    return g_test_run();
}
