/* packet_decode() on every truncation of a set of frames, on random and
 * mutated bytes (ASan sees any overread: each decode gets a private copy of
 * exactly the bytes given), and IPv4/IPv6 fragment reassembly.  Frames come
 * from packet_build.c. */
#include <glib.h>
#include <pcap/dlt.h>
#include <string.h>

#include "packet_build.h"
#include "packet_priv.h"

struct trunc_case {
    const char *name;
    int dlt;
    GByteArray *(*build)(void);
    size_t l4_fixed_end; /* prefixes shorter than this must be "truncated" */
};

static GByteArray *b_eth_v4(void) { return eth(0x0800, tcp_v4_packet()); }
static GByteArray *b_eth_v6(void) { return eth(0x86DD, tcp_v6_packet()); }
static GByteArray *b_vlan2(void)
{
    GByteArray *f = g_byte_array_new();
    static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2 };
    putn(f, macs, 12);
    put16(f, 0x88A8); put16(f, 10); put16(f, 0x8100); put16(f, 20); put16(f, 0x0800);
    return cat(f, ipv4(17, A4, B4, 12, udp_dgram(138, 138, "DGM", 3)));
}
static GByteArray *b_sll_v4(void) { return sll(0x0800, tcp_v4_packet()); }
static GByteArray *b_sll2_v6(void) { return sll2(0x86DD, tcp_v6_packet()); }
static GByteArray *b_null_v6(void) { return null_hdr(30, true, tcp_v6_packet()); }
static GByteArray *b_raw_icmp(void)
{
    GByteArray *orig = ipv4(17, B4, A4, 0, udp_dgram(51000, 137, "0123456789", 10));
    GByteArray *icmp = g_byte_array_new();
    put8(icmp, 3); put8(icmp, 3); put16(icmp, 0); put32(icmp, 0);
    putn(icmp, orig->data, 28);
    g_byte_array_unref(orig);
    return ipv4(1, A4, B4, 0, icmp);
}
static GByteArray *b_v6_ext(void)
{
    GByteArray *ext = g_byte_array_new();
    put8(ext, 51); put8(ext, 0); putz(ext, 6);
    put8(ext, 17); put8(ext, 2); putz(ext, 14);
    ext = cat(ext, udp_dgram(137, 137, "Q", 1));
    return ipv6(0, A6, B6, ext);
}

static void test_truncation_every_length(void)
{
    const struct trunc_case cases[] = {
        { "ethernet ipv4 tcp", DLT_EN10MB, b_eth_v4, 14 + 20 + 20 },
        { "ethernet ipv6 tcp", DLT_EN10MB, b_eth_v6, 14 + 40 + 20 },
        { "qinq ipv4-options udp", DLT_EN10MB, b_vlan2, 14 + 8 + 32 + 8 },
        { "sll ipv4 tcp", DLT_LINUX_SLL, b_sll_v4, 16 + 20 + 20 },
        { "sll2 ipv6 tcp", DLT_LINUX_SLL2, b_sll2_v6, 20 + 40 + 20 },
        { "null ipv6 tcp", DLT_NULL, b_null_v6, 4 + 40 + 20 },
        { "raw icmp unreachable", DLT_RAW, b_raw_icmp, 20 + 8 + 20 },
        { "raw ipv6 ext udp", DLT_RAW, b_v6_ext, 40 + 8 + 16 + 8 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GByteArray *f = cases[i].build();
        for (size_t len = 0; len <= f->len; len++) {
            struct decoded d = decode_n(cases[i].dlt, f->data, len, f->len, NULL);
            g_assert_cmpint(d.st, >=, PKT_OK);
            g_assert_cmpint(d.st, <, PKT_STATUS_COUNT);
            enum packet_status want = len < cases[i].l4_fixed_end ? PKT_TRUNCATED : PKT_OK;
            if (d.st != want)
                g_error("%s: prefix of %zu bytes: got %s, want %s", cases[i].name, len, packet_status_name(d.st),
                        packet_status_name(want));
            if (d.st == PKT_OK)
                g_assert_cmpuint(d.pkt.payload_len, <=, d.pkt.payload_wire_len);
        }
        g_byte_array_unref(f);
    }
}

/* Every prefix of every byte pattern we can think of must return a status:
 * a quick sweep of random bytes under every link type. */
static void test_random_bytes(void)
{
    static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP, DLT_RAW, DLT_IPV4, DLT_IPV6 };
    GRand *r = g_rand_new_with_seed(1234);
    struct ipfrag_table *frags = ipfrag_new(NULL);
    uint8_t buf[200];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)g_rand_int_range(r, 0, sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)g_rand_int(r);
        /* bias towards plausible headers so deeper layers are reached */
        int dlt = dlts[iter % G_N_ELEMENTS(dlts)];
        if (n > 20 && (dlt == DLT_RAW || dlt == DLT_IPV4))
            buf[0] = (uint8_t)((iter & 1) ? 0x45 : 0x60);
        if (n > 14 && dlt == DLT_EN10MB) {
            buf[12] = (iter & 1) ? 0x08 : 0x86;
            buf[13] = (iter & 1) ? 0x00 : 0xDD;
            buf[14] = (iter & 1) ? 0x45 : 0x60;
        }
        struct decoded d = decode_n(dlt, buf, n, (uint32_t)n, frags);
        g_assert_cmpint(d.st, <, PKT_STATUS_COUNT);
    }
    ipfrag_free(frags);
    g_rand_free(r);
}

/* Valid frames with random bytes changed: reaches the deeper layers that
 * random bytes rarely do.  Only "returns a status, reads nothing outside"
 * is checked (ASan/UBSan builds make the second part bite). */
static void test_mutated_frames(void)
{
    GByteArray *(*const builders[])(void) = { b_eth_v4, b_eth_v6, b_vlan2, b_sll_v4, b_sll2_v6, b_null_v6, b_raw_icmp, b_v6_ext };
    const int dlts[] = { DLT_EN10MB, DLT_EN10MB, DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_RAW, DLT_RAW };
    GRand *r = g_rand_new_with_seed(99);
    struct ipfrag_table *frags = ipfrag_new(NULL);
    for (size_t b = 0; b < G_N_ELEMENTS(builders); b++) {
        GByteArray *f = builders[b]();
        for (int iter = 0; iter < 4000; iter++) {
            GByteArray *m = g_byte_array_new();
            g_byte_array_append(m, f->data, f->len);
            int flips = g_rand_int_range(r, 1, 4);
            for (int k = 0; k < flips; k++)
                m->data[g_rand_int_range(r, 0, (gint32)m->len)] = (uint8_t)g_rand_int(r);
            size_t len = (size_t)g_rand_int_range(r, 0, (gint32)m->len + 1);
            struct decoded d = decode_n(dlts[b], m->data, len, (uint32_t)m->len, frags);
            g_assert_cmpint(d.st, <, PKT_STATUS_COUNT);
            if (d.st == PKT_OK)
                g_assert_cmpuint(d.pkt.payload_len, <=, d.pkt.payload_wire_len);
            g_byte_array_unref(m);
        }
        g_byte_array_unref(f);
    }
    ipfrag_free(frags);
    g_rand_free(r);
}

/* ------------------------------------------ one-pass Ethernet/IPv4/TCP|UDP */

/* packet_decode() on len bytes of f (wirelen on the wire) against the
 * layered decoder alone: same status, same struct byte for byte (both
 * zero it first).  Counts whether the one-pass path took the frame. */
static void fast_against_layers(const uint8_t *f, size_t len, uint32_t wirelen, unsigned *taken, unsigned *declined)
{
    uint8_t *copy = g_malloc(len ? len : 1);
    memcpy(copy, f, len);
    struct capture_record rec = { .ts_us = 1700000000000000, .caplen = (uint32_t)len, .wirelen = wirelen,
                                  .data = copy, .frame = 7, .dlt = DLT_EN10MB };
    struct packet fast, layers, probe;
    enum packet_status sf = packet_decode(DLT_EN10MB, &rec, NULL, &fast);
    enum packet_status sl = pkt_decode_layers(DLT_EN10MB, &rec, NULL, &layers);
    g_assert_cmpint(sf, ==, sl);
    g_assert_cmpmem(&fast, sizeof fast, &layers, sizeof layers);
    memset(&probe, 0, sizeof probe);
    if (pkt_fast_eth_ipv4(&rec, &probe))
        (*taken)++;
    else
        (*declined)++;
    g_free(copy);
}

static GByteArray *set16(GByteArray *f, size_t at, uint16_t v)
{
    f->data[at] = (uint8_t)(v >> 8);
    f->data[at + 1] = (uint8_t)v;
    return f;
}

/* The one-pass path (packet.c) must answer exactly what the layered one
 * does: plain, SYN-only, padded, TCP options, IP options (not taken), IP
 * length 0 (TSO), IP length past the frame (clamped), fragments (not
 * taken), every truncation, a snaplen cut, and mutated header bytes; for
 * UDP too, with UDP lengths that trim padding, exceed the IP length, are
 * 0 or under the header's 8 bytes. */
static void test_fast_path_equal(void)
{
    GByteArray *frames[] = {
        eth(0x0800, tcp_v4_packet()),
        eth(0x0800, ipv4(6, A4, B4, 0, tcp_seg(445, 49152, 0x12, 12, NULL, 0))),
        eth(0x0800, ipv4(6, A4, B4, 0, tcp_seg(49152, 445, 0x18, 8, PAYLOAD, PAYLOAD_LEN))),
        eth(0x0800, ipv4(6, A4, B4, 4, tcp_seg(49152, 445, 0x18, 0, PAYLOAD, PAYLOAD_LEN))),
        set16(eth(0x0800, tcp_v4_packet()), 14 + 2, 0),
        set16(eth(0x0800, tcp_v4_packet()), 14 + 2, 0xFFFF),
        set16(eth(0x0800, tcp_v4_packet()), 14 + 6, 0x2000),
        set16(eth(0x0800, tcp_v4_packet()), 14 + 6, 0x0001),
        set16(eth(0x0800, tcp_v4_packet()), 14 + 20 + 12, 0x4018), /* data offset 4 words */
        set16(eth(0x0800, tcp_v4_packet()), 14 + 20 + 12, 0xF018), /* data offset past the segment */
        eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(51000, 443, PAYLOAD, PAYLOAD_LEN))),
        eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(137, 137, NULL, 0))),
        eth(0x0800, ipv4(17, A4, B4, 8, udp_dgram(138, 138, "DGM", 3))),
        set16(eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(51000, 443, PAYLOAD, PAYLOAD_LEN))), 14 + 2, 0),
        set16(eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(51000, 443, PAYLOAD, PAYLOAD_LEN))), 14 + 2, 0xFFFF),
        set16(eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(51000, 443, PAYLOAD, PAYLOAD_LEN))), 14 + 6, 0x2000),
        set16(eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(51000, 443, PAYLOAD, PAYLOAD_LEN))), 14 + 20 + 4, 9),
        set16(eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(51000, 443, PAYLOAD, PAYLOAD_LEN))), 14 + 20 + 4, 0),
        set16(eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(51000, 443, PAYLOAD, PAYLOAD_LEN))), 14 + 20 + 4, 7),
        set16(eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(51000, 443, PAYLOAD, PAYLOAD_LEN))), 14 + 20 + 4, 0xFFF0),
    };
    GByteArray *syn = eth(0x0800, ipv4(6, A4, B4, 0, tcp_seg(49152, 445, 0x02, 0, NULL, 0)));
    putz(syn, 60 - syn->len); /* Ethernet padding after a 40-byte datagram */
    GByteArray *dns = eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(53000, 53, "Q", 1)));
    putz(dns, 60 - dns->len); /* padding after a 29-byte datagram: UDP and IP lengths trim it */
    unsigned taken = 0, declined = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(frames); i++)
        for (size_t len = 0; len <= frames[i]->len; len++) {
            fast_against_layers(frames[i]->data, len, frames[i]->len, &taken, &declined);
            fast_against_layers(frames[i]->data, len, frames[i]->len + 100, &taken, &declined);
            fast_against_layers(frames[i]->data, len, (uint32_t)len / 2, &taken, &declined);
        }
    unsigned whole = taken; /* frames and prefixes taken */
    fast_against_layers(syn->data, syn->len, syn->len, &taken, &declined);
    fast_against_layers(dns->data, dns->len, dns->len, &taken, &declined);
    g_assert_cmpuint(taken, ==, whole + 2); /* the padded SYN and datagram are taken */
    g_assert_cmpuint(whole, >=, 12 * 3);  /* each plain frame whole, at least */
    GRand *r = g_rand_new_with_seed(1313);
    for (int iter = 0; iter < 20000; iter++) {
        GByteArray *f = frames[iter % G_N_ELEMENTS(frames)];
        GByteArray *m = g_byte_array_new();
        g_byte_array_append(m, f->data, f->len);
        int flips = g_rand_int_range(r, 1, 4);
        for (int k = 0; k < flips; k++) /* the headers: Ethernet, IPv4, TCP (UDP's and some payload) */
            m->data[g_rand_int_range(r, 12, 14 + 20 + 20)] = (uint8_t)g_rand_int(r);
        size_t len = g_rand_boolean(r) ? m->len : (size_t)g_rand_int_range(r, 0, (gint32)m->len + 1);
        uint32_t wire = g_rand_boolean(r) ? (uint32_t)m->len : (uint32_t)g_rand_int_range(r, 0, 2000);
        fast_against_layers(m->data, len, wire, &taken, &declined);
        g_byte_array_unref(m);
    }
    g_rand_free(r);
    g_assert_cmpuint(taken, >, whole + 3000);
    g_assert_cmpuint(declined, >, 5000);
    for (size_t i = 0; i < G_N_ELEMENTS(frames); i++)
        g_byte_array_unref(frames[i]);
    g_byte_array_unref(syn);
    g_byte_array_unref(dns);
}

/* ------------------------------------------------------------ fragments */

static GByteArray *v4_fragment(const uint8_t *l4, size_t off, size_t n, bool more)
{
    GByteArray *b = ipv4_hdr_only(17, A4, B4, 0, n, 0x7777, (uint16_t)((more ? 0x2000 : 0) | (off / 8)));
    putn(b, l4 + off, n);
    return eth(0x0800, b);
}

static void test_ipv4_fragments(void)
{
    uint8_t big[1500];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    GByteArray *dgram = udp_dgram(138, 138, big, sizeof big);
    struct ipfrag_table *frags = ipfrag_new(NULL);

    GByteArray *f1 = v4_fragment(dgram->data, 0, 600, true);
    GByteArray *f2 = v4_fragment(dgram->data, 600, 600, true);
    GByteArray *f3 = v4_fragment(dgram->data, 1200, dgram->len - 1200, false);
    struct decoded d = decode(DLT_EN10MB, f3);
    g_assert_cmpint(d.st, ==, PKT_FRAG_HELD); /* no table */
    g_assert_true(d.pkt.ip_fragment);

    d = decode_n(DLT_EN10MB, f3->data, f3->len, f3->len, frags);
    g_assert_cmpint(d.st, ==, PKT_FRAG_HELD);
    assert_addr(&d.pkt.src, 4, A4);
    d = decode_n(DLT_EN10MB, f1->data, f1->len, f1->len, frags);
    g_assert_cmpint(d.st, ==, PKT_FRAG_HELD);
    d = decode_n(DLT_EN10MB, f2->data, f2->len, f2->len, frags);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_true(d.pkt.ip_reassembled);
    g_assert_cmpint(d.pkt.l4, ==, L4_UDP);
    g_assert_cmpuint(d.pkt.sport, ==, 138);
    g_assert_cmpuint(d.pkt.payload_len, ==, sizeof big);
    g_assert_cmpuint(d.pkt.payload_wire_len, ==, sizeof big);
    g_assert_cmpmem(d.pkt.payload, d.pkt.payload_len, big, sizeof big);
    g_assert_cmpuint(ipfrag_stats(frags)->reassembled, ==, 1);

    /* a fragment cut by the snaplen can never complete: truncated */
    d = decode_n(DLT_EN10MB, f1->data, f1->len - 10, f1->len, frags);
    g_assert_cmpint(d.st, ==, PKT_TRUNCATED);
    g_assert_true(d.pkt.ip_fragment);

    g_byte_array_unref(f1);
    g_byte_array_unref(f2);
    g_byte_array_unref(f3);
    g_byte_array_unref(dgram);
    ipfrag_free(frags);
}

static GByteArray *v6_fragment(const uint8_t *l4, size_t off, size_t n, bool more)
{
    GByteArray *b = ipv6_hdr_only(44, A6, B6, 8 + n);
    put8(b, 17); put8(b, 0); put16(b, (unsigned)(off | (more ? 1 : 0))); put32(b, 0xfeedface);
    putn(b, l4 + off, n);
    return b;
}

static void test_ipv6_fragments(void)
{
    uint8_t big[3000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 13 + 1);
    GByteArray *dgram = udp_dgram(137, 137, big, sizeof big);
    struct ipfrag_table *frags = ipfrag_new(NULL);
    struct decoded d;
    for (size_t off = 0; off < dgram->len; off += 1232) {
        size_t n = MIN(1232, dgram->len - off);
        GByteArray *f = v6_fragment(dgram->data, off, n, off + n < dgram->len);
        d = decode_n(DLT_RAW, f->data, f->len, f->len, frags);
        g_byte_array_unref(f);
        if (off + n < dgram->len)
            g_assert_cmpint(d.st, ==, PKT_FRAG_HELD);
    }
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_true(d.pkt.ip_reassembled);
    g_assert_cmpint(d.pkt.l4, ==, L4_UDP);
    g_assert_cmpuint(d.pkt.dport, ==, 137);
    g_assert_cmpuint(d.pkt.payload_len, ==, sizeof big);
    g_assert_cmpmem(d.pkt.payload, d.pkt.payload_len, big, sizeof big);
    g_byte_array_unref(dgram);
    ipfrag_free(frags);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/packet/truncation-every-length", test_truncation_every_length);
    g_test_add_func("/packet/random-bytes", test_random_bytes);
    g_test_add_func("/packet/mutated-frames", test_mutated_frames);
    g_test_add_func("/packet/fast-path-equal", test_fast_path_equal);
    g_test_add_func("/packet/ipv4-fragments", test_ipv4_fragments);
    g_test_add_func("/packet/ipv6-fragments", test_ipv6_fragments);
    return g_test_run();
}
