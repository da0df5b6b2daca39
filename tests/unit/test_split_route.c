/* split_route(): what it says a record is for the other threads' clocks
 * (split_route.h: YES and NO are certain) against what packet_decode()
 * makes of it, with no fragment table (a thread's look at another's
 * record) and with one kept across records (one run's: a NO fragment must
 * never complete a TCP datagram).  Frames from packet_build.c, every
 * prefix of each under several link types and captured/wire lengths, then
 * random mutations.  Also: the worker is in range and the same for both
 * directions of a pair, and the inline path (split_route()) answers as the
 * general one (split_route_any()) for every record. */
#include <glib.h>
#include <pcap/dlt.h>
#include <string.h>

#include "packet_build.h"
#include "split_route.h"

struct tally {
    unsigned yes, no, maybe, checked;
    struct ipfrag_table *frags;
};

static bool is_tcp(int dlt, const uint8_t *p, size_t len, uint32_t wirelen, struct ipfrag_table *frags)
{
    struct decoded d = decode_n(dlt, p, len, wirelen, frags);
    return d.st == PKT_OK && d.pkt.l4 == L4_TCP;
}

static void check(struct tally *t, int dlt, const uint8_t *p, size_t len, uint32_t wirelen)
{
    const struct capture_record rec = { 1700000000000000, (uint32_t)len, wirelen, p, 1, dlt };
    enum split_tcp tcp, any_tcp;
    unsigned w = split_route(&rec, 3, &tcp);
    g_assert_cmpuint(w, <, 3);
    /* the inline path (Ethernet, IPv4, TCP) answers as the general one */
    g_assert_cmpuint(split_route_any(&rec, 3, &any_tcp), ==, w);
    g_assert_cmpint(any_tcp, ==, tcp);
    bool alone = is_tcp(dlt, p, len, wirelen, NULL), kept = is_tcp(dlt, p, len, wirelen, t->frags);
    if (tcp == SPLIT_TCP_YES) {
        if (!alone || !kept)
            g_error("split_route YES, packet_decode %d/%d: dlt %d len %zu wirelen %u", alone, kept, dlt, len,
                    wirelen);
        t->yes++;
    } else if (tcp == SPLIT_TCP_NO) {
        if (alone || kept)
            g_error("split_route NO, packet_decode %d/%d: dlt %d len %zu wirelen %u", alone, kept, dlt, len,
                    wirelen);
        t->no++;
    } else {
        t->maybe++;
    }
    t->checked++;
}

static const int DLTS[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP,
                            DLT_RAW,    DLT_IPV4,      DLT_IPV6 };

/* IP packets (no link layer): wrapped per link type below. */
static GPtrArray *ip_packets(void)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    g_ptr_array_add(a, tcp_v4_packet());
    g_ptr_array_add(a, tcp_v6_packet());
    g_ptr_array_add(a, ipv4(6, A4, B4, 12, tcp_seg(49152, 445, 0x18, 12, "opts", 4)));
    g_ptr_array_add(a, ipv4(17, A4, B4, 0, udp_dgram(137, 137, "NBNS", 4)));
    g_ptr_array_add(a, ipv6(17, A6, B6, udp_dgram(443, 50000, "quic", 4)));
    g_ptr_array_add(a, gre(0, 0x0800, 0, tcp_v4_packet()));
    /* tunnels whose inner packet is TCP: IP in IP, 4in6, AH over IPv4, VXLAN
     * over IPv4 and IPv6 (UDP, yet not certainly "not TCP") */
    g_ptr_array_add(a, ipv4(4, A4, B4, 0, tcp_v4_packet()));
    g_ptr_array_add(a, ipv6(4, A6, B6, tcp_v4_packet()));
    GByteArray *ah = g_byte_array_new();
    static const uint8_t ah_hdr[12] = { 6, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1 };
    putn(ah, ah_hdr, sizeof ah_hdr);
    g_ptr_array_add(a, ipv4(51, A4, B4, 0, cat(ah, tcp_seg(49152, 445, 0x18, 0, "ah", 2))));
    for (int v6 = 0; v6 < 2; v6++) {
        GByteArray *vx = g_byte_array_new();
        static const uint8_t vx_hdr[8] = { 0x08, 0, 0, 0, 0, 0, 42, 0 };
        putn(vx, vx_hdr, sizeof vx_hdr);
        vx = cat(vx, eth(0x0800, tcp_v4_packet()));
        GByteArray *u = udp_dgram(50000, 4789, vx->data, vx->len);
        g_byte_array_unref(vx);
        g_ptr_array_add(a, v6 ? ipv6(17, A6, B6, u) : ipv4(17, A4, B4, 0, u));
    }
    g_ptr_array_add(a, ipv4(1, A4, B4, 0, udp_dgram(0x0303, 0, "xxxx", 4)));
    /* both fragments of a TCP datagram and of a UDP one (the table completes them) */
    GByteArray *seg = tcp_seg(49152, 445, 0x18, 0, "0123456789abcdef0123", 20);
    for (int proto = 6; proto <= 17; proto += 11) {
        GByteArray *first = ipv4_hdr_only((uint8_t)proto, A4, B4, 0, 24, 77, 0x2000);
        putn(first, seg->data, 24);
        GByteArray *second = ipv4_hdr_only((uint8_t)proto, A4, B4, 0, seg->len - 24, 77, 3);
        putn(second, seg->data + 24, seg->len - 24);
        g_ptr_array_add(a, first);
        g_ptr_array_add(a, second);
    }
    g_byte_array_unref(seg);
    return a;
}

static GByteArray *wrap(int dlt, const GByteArray *ip)
{
    GByteArray *inner = g_byte_array_new();
    putn(inner, ip->data, ip->len);
    uint16_t type = (ip->data[0] >> 4) == 6 ? 0x86DD : 0x0800;
    switch (dlt) {
    case DLT_EN10MB:
        return eth(type, inner);
    case DLT_LINUX_SLL:
        return sll(type, inner);
    case DLT_LINUX_SLL2:
        return sll2(type, inner);
    case DLT_NULL:
        return null_hdr(type == 0x0800 ? 2 : 30, true, inner);
    case DLT_LOOP:
        return null_hdr(type == 0x0800 ? 2 : 24, false, inner);
    default: /* raw IP; DLT_IPV4 and DLT_IPV6 also get the other version */
        return inner;
    }
}

static void test_every_prefix(void)
{
    struct tally t = { .frags = ipfrag_new(NULL) };
    GPtrArray *ips = ip_packets();
    for (size_t d = 0; d < G_N_ELEMENTS(DLTS); d++)
        for (guint i = 0; i < ips->len; i++) {
            GByteArray *f = wrap(DLTS[d], g_ptr_array_index(ips, i));
            for (size_t len = 0; len <= f->len; len++) {
                check(&t, DLTS[d], f->data, len, (uint32_t)f->len);
                check(&t, DLTS[d], f->data, len, (uint32_t)len);      /* the IP length a lie */
                check(&t, DLTS[d], f->data, len, (uint32_t)len + 9000); /* cut by a snaplen */
            }
            g_byte_array_unref(f);
        }
    g_ptr_array_unref(ips);
    ipfrag_free(t.frags);
    g_assert_cmpuint(t.yes, >, 0);
    g_assert_cmpuint(t.no, >, 0);
    g_test_message("%u checked: %u yes, %u no, %u decoded", t.checked, t.yes, t.no, t.maybe);
}

/* Header bytes changed at random: lengths, versions, protocols, offsets. */
static void test_mutated(void)
{
    struct tally t = { .frags = ipfrag_new(NULL) };
    GPtrArray *ips = ip_packets();
    GRand *r = g_rand_new_with_seed(4242);
    for (int n = 0; n < 60000; n++) {
        int dlt = DLTS[g_rand_int_range(r, 0, G_N_ELEMENTS(DLTS))];
        GByteArray *f = wrap(dlt, g_ptr_array_index(ips, (guint)g_rand_int_range(r, 0, (gint32)ips->len)));
        int flips = g_rand_int_range(r, 1, 4);
        for (int i = 0; i < flips; i++) {
            gint32 span = f->len < 80 ? (gint32)f->len : 80;
            f->data[g_rand_int_range(r, 0, span)] = (uint8_t)g_rand_int(r);
        }
        size_t len = g_rand_boolean(r) ? f->len : (size_t)g_rand_int_range(r, 0, (gint32)f->len + 1);
        uint32_t wirelen = (uint32_t)(g_rand_boolean(r) ? f->len : (size_t)g_rand_int_range(r, 0, 2000));
        check(&t, dlt, f->data, len, wirelen);
        g_byte_array_unref(f);
    }
    g_rand_free(r);
    g_ptr_array_unref(ips);
    ipfrag_free(t.frags);
    g_assert_cmpuint(t.yes, >, 0);
    g_assert_cmpuint(t.no, >, 0);
}

/* Both directions of a pair go to one worker; pairs spread over workers. */
static void test_pair_symmetry(void)
{
    unsigned seen[4] = { 0 };
    for (unsigned host = 1; host < 200; host++) {
        uint8_t a[4] = { 10, 77, 3, (uint8_t)host }, b[4] = { 10, 77, 3, 250 };
        GByteArray *ab = eth(0x0800, ipv4(6, a, b, 0, tcp_seg(49152, 445, 0x02, 0, NULL, 0)));
        GByteArray *ba = eth(0x0800, ipv4(6, b, a, 0, tcp_seg(445, 49152, 0x12, 0, NULL, 0)));
        const struct capture_record r1 = { 0, ab->len, ab->len, ab->data, 1, DLT_EN10MB };
        const struct capture_record r2 = { 0, ba->len, ba->len, ba->data, 2, DLT_EN10MB };
        enum split_tcp t1, t2;
        unsigned w = split_route(&r1, 4, &t1);
        g_assert_cmpuint(w, ==, split_route(&r2, 4, &t2));
        g_assert_cmpint(t1, ==, SPLIT_TCP_YES);
        g_assert_cmpint(t2, ==, SPLIT_TCP_YES);
        seen[w]++;
        g_byte_array_unref(ab);
        g_byte_array_unref(ba);
    }
    for (int k = 0; k < 4; k++)
        g_assert_cmpuint(seen[k], >, 20);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/split-route/every-prefix", test_every_prefix);
    g_test_add_func("/split-route/mutated", test_mutated);
    g_test_add_func("/split-route/pair-symmetry", test_pair_symmetry);
    return g_test_run();
}
