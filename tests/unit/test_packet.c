/* packet_decode(): link layers, VLAN stacks, IPv4 options, IPv6 extension
 * headers, ICMP unreachable attribution, fragments, and every truncation.
 * Frames are built here byte by byte from the header layouts of the protocol
 * documents (RFC 791, 793, 768, 792, 8200, 4443, IEEE 802.1Q, the libpcap
 * LINKTYPE_* descriptions); expected values are the ones written into them. */
#include <arpa/inet.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pcap/dlt.h>
#include <string.h>

#include "capture.h"
#include "ipfrag.h"
#include "packet.h"

static const uint8_t A4[4] = { 192, 168, 7, 10 };
static const uint8_t B4[4] = { 192, 168, 7, 20 };
static const uint8_t A6[16] = { 0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a };
static const uint8_t B6[16] = { 0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14 };

/* ------------------------------------------------------------ builders */

static void put8(GByteArray *b, unsigned v) { uint8_t x = (uint8_t)v; g_byte_array_append(b, &x, 1); }
static void put16(GByteArray *b, unsigned v) { put8(b, v >> 8); put8(b, v); }
static void put32(GByteArray *b, uint32_t v) { put16(b, v >> 16); put16(b, v & 0xFFFF); }
static void putn(GByteArray *b, const void *p, size_t n) { g_byte_array_append(b, p, (guint)n); }
static void putz(GByteArray *b, size_t n) { for (size_t i = 0; i < n; i++) put8(b, 0); }

static GByteArray *cat(GByteArray *head, GByteArray *tail)
{
    putn(head, tail->data, tail->len);
    g_byte_array_unref(tail);
    return head;
}

static const uint8_t PAYLOAD[] = "\x00\x00\x00\x2f\xfeSMB@ payload bytes";
#define PAYLOAD_LEN (sizeof PAYLOAD - 1)

static GByteArray *tcp_seg(uint16_t sport, uint16_t dport, uint8_t flags, size_t optlen, const void *pl, size_t n)
{
    GByteArray *b = g_byte_array_new();
    put16(b, sport);
    put16(b, dport);
    put32(b, 0x11223344);
    put32(b, 0x55667788);
    put8(b, (unsigned)((20 + optlen) / 4) << 4);
    put8(b, flags);
    put16(b, 29200);
    put32(b, 0);
    for (size_t i = 0; i < optlen; i++)
        put8(b, 1); /* NOP */
    putn(b, pl, n);
    return b;
}

static GByteArray *udp_dgram(uint16_t sport, uint16_t dport, const void *pl, size_t n)
{
    GByteArray *b = g_byte_array_new();
    put16(b, sport);
    put16(b, dport);
    put16(b, (unsigned)(8 + n));
    put16(b, 0);
    putn(b, pl, n);
    return b;
}

static GByteArray *ipv4_hdr_only(uint8_t proto, const uint8_t *src, const uint8_t *dst, size_t optlen,
                                 size_t payload_len, uint16_t id, uint16_t frag)
{
    GByteArray *b = g_byte_array_new();
    put8(b, 0x40 | (unsigned)((20 + optlen) / 4));
    put8(b, 0);
    put16(b, (unsigned)(20 + optlen + payload_len));
    put16(b, id);
    put16(b, frag);
    put8(b, 64);
    put8(b, proto);
    put16(b, 0);
    putn(b, src, 4);
    putn(b, dst, 4);
    for (size_t i = 0; i < optlen; i++)
        put8(b, i + 1 == optlen ? 0 : 1); /* NOPs then end-of-options */
    uint32_t sum = 0;
    for (size_t i = 0; i < b->len; i += 2)
        sum += (uint32_t)(b->data[i] << 8 | b->data[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    b->data[10] = (uint8_t)(~sum >> 8);
    b->data[11] = (uint8_t)~sum;
    return b;
}

static GByteArray *ipv4(uint8_t proto, const uint8_t *src, const uint8_t *dst, size_t optlen, GByteArray *l4)
{
    return cat(ipv4_hdr_only(proto, src, dst, optlen, l4->len, 0x1234, 0x4000), l4);
}

static GByteArray *ipv6_hdr_only(uint8_t nh, const uint8_t *src, const uint8_t *dst, size_t plen)
{
    GByteArray *b = g_byte_array_new();
    put32(b, 0x60000000);
    put16(b, (unsigned)plen);
    put8(b, nh);
    put8(b, 64);
    putn(b, src, 16);
    putn(b, dst, 16);
    return b;
}

static GByteArray *ipv6(uint8_t nh, const uint8_t *src, const uint8_t *dst, GByteArray *rest)
{
    return cat(ipv6_hdr_only(nh, src, dst, rest->len), rest);
}

static GByteArray *eth(uint16_t type, GByteArray *inner)
{
    GByteArray *b = g_byte_array_new();
    static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2 };
    putn(b, macs, 12);
    put16(b, type);
    return cat(b, inner);
}

struct decoded {
    enum packet_status st;
    struct packet pkt;
};

/* Decode a private copy of exactly len bytes so ASan sees any overread. */
static struct decoded decode_n(int dlt, const uint8_t *bytes, size_t len, uint32_t wirelen, struct ipfrag_table *frags)
{
    uint8_t *copy = g_malloc(len ? len : 1);
    if (len)
        memcpy(copy, bytes, len);
    struct capture_record rec = { .ts_us = 1700000000000000, .caplen = (uint32_t)len, .wirelen = wirelen,
                                  .data = copy, .frame = 7 };
    struct decoded d;
    d.st = packet_decode(dlt, &rec, frags, &d.pkt);
    /* payload must lie inside the record (or the reassembly buffer) */
    if (d.pkt.payload_len && !d.pkt.ip_reassembled) {
        uintptr_t p = (uintptr_t)d.pkt.payload, base = (uintptr_t)copy;
        g_assert_true(p >= base && p + d.pkt.payload_len <= base + len);
    }
    /* keep payload bytes comparable after freeing: tests compare right away */
    static uint8_t keep[2048];
    if (d.pkt.payload_len && d.pkt.payload_len <= sizeof keep && !d.pkt.ip_reassembled) {
        memcpy(keep, d.pkt.payload, d.pkt.payload_len);
        d.pkt.payload = keep;
    }
    g_free(copy);
    return d;
}

static struct decoded decode(int dlt, GByteArray *frame)
{
    return decode_n(dlt, frame->data, frame->len, frame->len, NULL);
}

static void assert_addr(const struct ip_addr *a, int family, const uint8_t *bytes)
{
    g_assert_cmpint(a->family, ==, family);
    g_assert_cmpmem(a->bytes, family == 4 ? 4 : 16, bytes, family == 4 ? 4 : 16);
}

static void assert_tcp_v4(const struct decoded *d)
{
    g_assert_cmpstr(packet_status_name(d->st), ==, "ok");
    assert_addr(&d->pkt.src, 4, A4);
    assert_addr(&d->pkt.dst, 4, B4);
    g_assert_cmpint(d->pkt.l4, ==, L4_TCP);
    g_assert_cmpint(d->pkt.ip_proto, ==, 6);
    g_assert_cmpuint(d->pkt.sport, ==, 49152);
    g_assert_cmpuint(d->pkt.dport, ==, 445);
    g_assert_cmphex(d->pkt.seq, ==, 0x11223344);
    g_assert_cmphex(d->pkt.ack, ==, 0x55667788);
    g_assert_cmphex(d->pkt.tcp_flags, ==, TCP_PSH | TCP_ACK);
    g_assert_cmpuint(d->pkt.window, ==, 29200);
    g_assert_cmpuint(d->pkt.payload_len, ==, PAYLOAD_LEN);
    g_assert_cmpuint(d->pkt.payload_wire_len, ==, PAYLOAD_LEN);
    g_assert_cmpmem(d->pkt.payload, d->pkt.payload_len, PAYLOAD, PAYLOAD_LEN);
    g_assert_cmpuint(d->pkt.frame, ==, 7);
    g_assert_cmpint(d->pkt.ts_us, ==, 1700000000000000);
}

static GByteArray *tcp_v4_packet(void)
{
    return ipv4(6, A4, B4, 0, tcp_seg(49152, 445, TCP_PSH | TCP_ACK, 0, PAYLOAD, PAYLOAD_LEN));
}

static GByteArray *tcp_v6_packet(void)
{
    return ipv6(6, A6, B6, tcp_seg(49152, 445, TCP_PSH | TCP_ACK, 12, PAYLOAD, PAYLOAD_LEN));
}

static void assert_tcp_v6(const struct decoded *d)
{
    g_assert_cmpint(d->st, ==, PKT_OK);
    assert_addr(&d->pkt.src, 6, A6);
    assert_addr(&d->pkt.dst, 6, B6);
    g_assert_cmpint(d->pkt.l4, ==, L4_TCP);
    g_assert_cmpuint(d->pkt.dport, ==, 445);
    g_assert_cmpuint(d->pkt.payload_len, ==, PAYLOAD_LEN);
    g_assert_cmpmem(d->pkt.payload, d->pkt.payload_len, PAYLOAD, PAYLOAD_LEN);
}

/* ------------------------------------------------------------ link types */

static void test_ethernet(void)
{
    GByteArray *f = eth(0x0800, tcp_v4_packet());
    struct decoded d = decode(DLT_EN10MB, f);
    assert_tcp_v4(&d);
    g_assert_cmphex(d.pkt.link_proto, ==, 0x0800);
    g_assert_cmpuint(d.pkt.vlan_depth, ==, 0);
    g_assert_cmpuint(d.pkt.ip_ttl, ==, 64);
    g_byte_array_unref(f);

    f = eth(0x86DD, tcp_v6_packet());
    d = decode(DLT_EN10MB, f);
    assert_tcp_v6(&d);
    g_byte_array_unref(f);
}

/* A short UDP datagram padded to the 60-byte Ethernet minimum: the pad is
 * not payload (IP total length and UDP length say so). */
static void test_ethernet_padding(void)
{
    GByteArray *f = eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(137, 137, "ab", 2)));
    putz(f, 60 - f->len);
    struct decoded d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpint(d.pkt.l4, ==, L4_UDP);
    g_assert_cmpuint(d.pkt.payload_len, ==, 2);
    g_assert_cmpuint(d.pkt.payload_wire_len, ==, 2);
    g_byte_array_unref(f);
}

static void test_vlan_stacks(void)
{
    static const uint16_t tpids[] = { 0x88A8, 0x8100, 0x9100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100 };
    for (unsigned depth = 1; depth <= 9; depth++) {
        GByteArray *f = g_byte_array_new();
        static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2 };
        putn(f, macs, 12);
        for (unsigned i = 0; i < depth; i++) {
            put16(f, i < G_N_ELEMENTS(tpids) ? tpids[i] : 0x8100);
            put16(f, 0x2000 | (100 + i)); /* PCP 1, VLAN 100+i */
        }
        put16(f, 0x0800);
        f = cat(f, tcp_v4_packet());
        struct decoded d = decode(DLT_EN10MB, f);
        if (depth <= 8) {
            assert_tcp_v4(&d);
            g_assert_cmpuint(d.pkt.vlan_depth, ==, depth);
            g_assert_cmpuint(d.pkt.vlan_id, ==, 100);
        } else {
            g_assert_cmpint(d.st, ==, PKT_MALFORMED);
        }
        g_byte_array_unref(f);
    }
}

static void test_not_ip(void)
{
    /* ARP request */
    GByteArray *arp = g_byte_array_new();
    put16(arp, 1); put16(arp, 0x0800); put8(arp, 6); put8(arp, 4); put16(arp, 1);
    putz(arp, 20);
    GByteArray *f = eth(0x0806, arp);
    struct decoded d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_NOT_IP);
    g_assert_cmphex(d.pkt.link_proto, ==, 0x0806);
    g_byte_array_unref(f);

    /* Ethernet II IPX */
    GByteArray *ipx = g_byte_array_new();
    put16(ipx, 0xFFFF); putz(ipx, 28);
    f = eth(0x8137, ipx);
    d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_NOT_IP);
    g_assert_cmphex(d.pkt.link_proto, ==, 0x8137);
    g_byte_array_unref(f);

    /* 802.3 + LLC to the NetBIOS SAP (NetBEUI) */
    GByteArray *llc = g_byte_array_new();
    put8(llc, 0xF0); put8(llc, 0xF0); put8(llc, 0x03); putz(llc, 40);
    f = eth((uint16_t)llc->len, llc);
    d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_NOT_IP);
    g_assert_true(d.pkt.llc);
    g_assert_cmphex(d.pkt.llc_dsap, ==, 0xF0);
    g_byte_array_unref(f);

    /* 802.3 raw IPX (Novell): no LLC, checksum 0xFFFF */
    GByteArray *raw = g_byte_array_new();
    put16(raw, 0xFFFF); putz(raw, 30);
    f = eth((uint16_t)raw->len, raw);
    d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_NOT_IP);
    g_assert_cmphex(d.pkt.link_proto, ==, 0x8137);
    g_byte_array_unref(f);

    /* 802.3 + LLC/SNAP carrying IPv4: is IP */
    GByteArray *snap = g_byte_array_new();
    put8(snap, 0xAA); put8(snap, 0xAA); put8(snap, 0x03); put8(snap, 0); put8(snap, 0); put8(snap, 0);
    put16(snap, 0x0800);
    snap = cat(snap, tcp_v4_packet());
    f = eth((uint16_t)snap->len, snap);
    d = decode(DLT_EN10MB, f);
    assert_tcp_v4(&d);
    g_byte_array_unref(f);
}

static GByteArray *sll(uint16_t proto, GByteArray *inner)
{
    GByteArray *b = g_byte_array_new();
    put16(b, 0);      /* sent to us */
    put16(b, 1);      /* ARPHRD_ETHER */
    put16(b, 6);
    static const uint8_t mac[8] = { 0x02, 0, 0, 0, 0, 1, 0, 0 };
    putn(b, mac, 8);
    put16(b, proto);
    return cat(b, inner);
}

static GByteArray *sll2(uint16_t proto, GByteArray *inner)
{
    GByteArray *b = g_byte_array_new();
    put16(b, proto);
    put16(b, 0);      /* reserved */
    put32(b, 3);      /* ifindex */
    put16(b, 1);      /* ARPHRD_ETHER */
    put8(b, 4);       /* outgoing */
    put8(b, 6);
    static const uint8_t mac[8] = { 0x02, 0, 0, 0, 0, 1, 0, 0 };
    putn(b, mac, 8);
    return cat(b, inner);
}

/* GRE (RFC 2784/2890) and WCCP redirection (GRE type 0x883E with a 4-byte
 * redirect header, as in tcpdump's wccp_redirect_gre trace): the packet
 * inside is the one analysed.  Outer addresses are 10.9.9.1 -> 10.9.9.2. */
static GByteArray *gre(uint16_t flags, uint16_t type, size_t extra, GByteArray *inner)
{
    static const uint8_t o1[4] = { 10, 9, 9, 1 }, o2[4] = { 10, 9, 9, 2 };
    GByteArray *g = g_byte_array_new();
    put16(g, flags);
    put16(g, type);
    putz(g, extra);
    return ipv4(47, o1, o2, 0, cat(g, inner));
}

static void test_gre(void)
{
    struct decoded d;
    GByteArray *f = eth(0x0800, gre(0x0000, 0x0800, 0, tcp_v4_packet()));
    d = decode(DLT_EN10MB, f);
    assert_tcp_v4(&d);
    g_assert_cmpuint(d.pkt.tunnel_depth, ==, 1);
    g_byte_array_unref(f);

    /* key and sequence present (K, S), IPv6 inside */
    f = eth(0x0800, gre(0x3000, 0x86DD, 8, tcp_v6_packet()));
    d = decode(DLT_EN10MB, f);
    assert_tcp_v6(&d);
    g_byte_array_unref(f);

    /* WCCP: redirect header, then IPv4 */
    f = eth(0x0800, gre(0x0000, 0x883E, 4, tcp_v4_packet()));
    d = decode(DLT_EN10MB, f);
    assert_tcp_v4(&d);
    g_byte_array_unref(f);

    /* PPTP's enhanced GRE (version 1) is not followed */
    f = eth(0x0800, gre(0x0001, 0x880B, 8, tcp_v4_packet()));
    d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpint(d.pkt.l4, ==, L4_OTHER);
    g_assert_cmpuint(d.pkt.ip_proto, ==, 47);
    g_byte_array_unref(f);

    /* GRE in GRE in GRE: the third layer is not opened (bounded) */
    f = eth(0x0800, gre(0, 0x0800, 0, gre(0, 0x0800, 0, gre(0, 0x0800, 0, tcp_v4_packet()))));
    d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.pkt.l4, ==, L4_OTHER);
    g_assert_cmpuint(d.pkt.tunnel_depth, ==, 2);
    g_byte_array_unref(f);

    /* every truncation of a WCCP frame: a status, never a crash */
    f = eth(0x0800, gre(0x0000, 0x883E, 4, tcp_v4_packet()));
    for (size_t n = 0; n < f->len; n++)
        (void)decode_n(DLT_EN10MB, f->data, n, (uint32_t)f->len, NULL);
    g_byte_array_unref(f);
}

/* IPX (Ethernet II 0x8137 and Novell raw 802.3): not IP, but its sockets
 * are read so NetBIOS over IPX (socket 0x0455) can be counted. */
static void test_ipx_sockets(void)
{
    GByteArray *ipx = g_byte_array_new();
    put16(ipx, 0xFFFF); /* checksum */
    put16(ipx, 30 + 4); /* length */
    put8(ipx, 0);       /* transport control */
    put8(ipx, 4);       /* packet type: PEP */
    putz(ipx, 10);      /* destination network, node */
    put16(ipx, 0x0455); /* destination socket: NetBIOS */
    putz(ipx, 10);      /* source network, node */
    put16(ipx, 0x4003); /* source socket */
    putz(ipx, 4);
    GByteArray *f = eth(0x8137, ipx);
    struct decoded d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_NOT_IP);
    g_assert_true(d.pkt.ipx);
    g_assert_cmphex(d.pkt.ipx_dst_socket, ==, 0x0455);
    g_assert_cmphex(d.pkt.ipx_src_socket, ==, 0x4003);
    /* cut inside the header: still not IP, sockets not invented */
    for (size_t n = 14; n < f->len; n++) {
        d = decode_n(DLT_EN10MB, f->data, n, (uint32_t)f->len, NULL);
        g_assert_cmpint(d.st, ==, PKT_NOT_IP);
        if (n < 14 + 18)
            g_assert_cmphex(d.pkt.ipx_dst_socket, ==, 0);
    }
    g_byte_array_unref(f);
}

static void test_linux_cooked(void)
{
    GByteArray *f = sll(0x0800, tcp_v4_packet());
    struct decoded d = decode(DLT_LINUX_SLL, f);
    assert_tcp_v4(&d);
    g_byte_array_unref(f);
    f = sll(0x86DD, tcp_v6_packet());
    d = decode(DLT_LINUX_SLL, f);
    assert_tcp_v6(&d);
    g_byte_array_unref(f);
    f = sll2(0x0800, tcp_v4_packet());
    d = decode(DLT_LINUX_SLL2, f);
    assert_tcp_v4(&d);
    g_byte_array_unref(f);
    f = sll2(0x86DD, tcp_v6_packet());
    d = decode(DLT_LINUX_SLL2, f);
    assert_tcp_v6(&d);
    g_byte_array_unref(f);

    /* cooked 802.2 LLC and Novell raw 802.3 are not IP */
    GByteArray *llc = g_byte_array_new();
    put8(llc, 0xF0); put8(llc, 0xF0); put8(llc, 0x03); putz(llc, 10);
    f = sll2(0x0004, llc);
    d = decode(DLT_LINUX_SLL2, f);
    g_assert_cmpint(d.st, ==, PKT_NOT_IP);
    g_assert_cmphex(d.pkt.llc_dsap, ==, 0xF0);
    g_byte_array_unref(f);
    GByteArray *ipx = g_byte_array_new();
    put16(ipx, 0xFFFF); putz(ipx, 28);
    f = sll(0x0001, ipx);
    d = decode(DLT_LINUX_SLL, f);
    g_assert_cmpint(d.st, ==, PKT_NOT_IP);
    g_assert_cmphex(d.pkt.link_proto, ==, 0x8137);
    g_byte_array_unref(f);
}

static GByteArray *null_hdr(uint32_t family, bool little, GByteArray *inner)
{
    GByteArray *b = g_byte_array_new();
    if (little) {
        put8(b, family); put8(b, family >> 8); put8(b, family >> 16); put8(b, family >> 24);
    } else {
        put32(b, family);
    }
    return cat(b, inner);
}

static void test_loopback(void)
{
    static const int dlts[] = { DLT_NULL, DLT_LOOP };
    for (size_t i = 0; i < G_N_ELEMENTS(dlts); i++) {
        for (int little = 0; little < 2; little++) {
            GByteArray *f = null_hdr(2, little, tcp_v4_packet());
            struct decoded d = decode(dlts[i], f);
            assert_tcp_v4(&d);
            g_byte_array_unref(f);
            static const uint32_t v6fams[] = { 24, 28, 30 };
            for (size_t j = 0; j < G_N_ELEMENTS(v6fams); j++) {
                f = null_hdr(v6fams[j], little, tcp_v6_packet());
                d = decode(dlts[i], f);
                assert_tcp_v6(&d);
                g_byte_array_unref(f);
            }
            /* AF_IPX (23 on the BSDs) is not IP */
            f = null_hdr(23, little, tcp_v4_packet());
            d = decode(dlts[i], f);
            g_assert_cmpint(d.st, ==, PKT_NOT_IP);
            g_byte_array_unref(f);
        }
    }
}

static void test_raw_ip(void)
{
    static const int raw_dlts[] = { DLT_RAW, 101 };
    for (size_t i = 0; i < G_N_ELEMENTS(raw_dlts); i++) {
        g_assert_true(packet_linktype_supported(raw_dlts[i]));
        GByteArray *f = tcp_v4_packet();
        struct decoded d = decode(raw_dlts[i], f);
        assert_tcp_v4(&d);
        g_byte_array_unref(f);
        f = tcp_v6_packet();
        d = decode(raw_dlts[i], f);
        assert_tcp_v6(&d);
        g_byte_array_unref(f);
    }
    GByteArray *f = tcp_v4_packet();
    struct decoded d = decode(DLT_IPV4, f);
    assert_tcp_v4(&d);
    d = decode(DLT_IPV6, f); /* IPv4 bytes under LINKTYPE_IPV6 */
    g_assert_cmpint(d.st, ==, PKT_MALFORMED);
    g_byte_array_unref(f);
    f = tcp_v6_packet();
    d = decode(DLT_IPV6, f);
    assert_tcp_v6(&d);
    g_byte_array_unref(f);
}

static void test_unsupported_link(void)
{
    g_assert_false(packet_linktype_supported(DLT_IEEE802_11_RADIO));
    g_assert_false(packet_linktype_supported(DLT_PPP));
    GByteArray *f = tcp_v4_packet();
    struct decoded d = decode(DLT_IEEE802_11_RADIO, f);
    g_assert_cmpint(d.st, ==, PKT_UNSUPPORTED_LINK);
    g_assert_cmpstr(packet_status_name(d.st), ==, "unsupported-link");
    g_byte_array_unref(f);
}

/* ------------------------------------------------------------ IP layer */

static void test_ipv4_options(void)
{
    for (size_t optlen = 4; optlen <= 40; optlen += 4) {
        GByteArray *f = eth(0x0800, ipv4(6, A4, B4, optlen, tcp_seg(49152, 445, TCP_PSH | TCP_ACK, 0, PAYLOAD, PAYLOAD_LEN)));
        struct decoded d = decode(DLT_EN10MB, f);
        assert_tcp_v4(&d);
        g_byte_array_unref(f);
    }
    /* TCP options (MSS, SACK-permitted...) are skipped: payload follows */
    GByteArray *f = eth(0x0800, ipv4(6, A4, B4, 8, tcp_seg(49152, 445, TCP_PSH | TCP_ACK, 40, PAYLOAD, PAYLOAD_LEN)));
    struct decoded d = decode(DLT_EN10MB, f);
    assert_tcp_v4(&d);
    g_byte_array_unref(f);
}

static void test_ipv4_malformed(void)
{
    GByteArray *f = tcp_v4_packet();
    f->data[0] = 0x44; /* IHL 4 < 5 */
    struct decoded d = decode(DLT_RAW, f);
    g_assert_cmpint(d.st, ==, PKT_MALFORMED);
    f->data[0] = 0x45;
    f->data[2] = 0; f->data[3] = 12; /* total length < header */
    d = decode(DLT_RAW, f);
    g_assert_cmpint(d.st, ==, PKT_MALFORMED);
    g_byte_array_unref(f);

    f = tcp_v4_packet();
    f->data[20 + 12] = 0x40; /* TCP data offset 4 words < 5 */
    d = decode(DLT_RAW, f);
    g_assert_cmpint(d.st, ==, PKT_MALFORMED);
    g_byte_array_unref(f);

    /* an IP length too short for the TCP header is malformed, not truncated */
    f = tcp_v4_packet();
    f->data[2] = 0; f->data[3] = 30;
    d = decode(DLT_RAW, f);
    g_assert_cmpint(d.st, ==, PKT_MALFORMED);
    g_byte_array_unref(f);
    f = tcp_v6_packet();
    f->data[4] = 0; f->data[5] = 10;
    d = decode(DLT_RAW, f);
    g_assert_cmpint(d.st, ==, PKT_MALFORMED);
    g_byte_array_unref(f);

    /* Total length beyond the frame on the wire: cut to the frame, flagged */
    f = tcp_v4_packet();
    f->data[2] = 0x70; /* 28672 */
    f->data[3] = 0x00;
    d = decode(DLT_RAW, f);
    assert_tcp_v4(&d);
    g_assert_true(d.pkt.ip_len_clamped);
    /* ... but a snaplen cut is not a lie: the wire length covers it */
    d = decode_n(DLT_RAW, f->data, f->len, 28672, NULL);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_false(d.pkt.ip_len_clamped);
    g_assert_cmpuint(d.pkt.payload_wire_len, ==, 28672 - 40);
    g_byte_array_unref(f);

    /* Total length 0 (segmentation offload on the sender): captured bytes rule */
    f = tcp_v4_packet();
    f->data[2] = 0; f->data[3] = 0;
    d = decode(DLT_RAW, f);
    assert_tcp_v4(&d);
    g_byte_array_unref(f);
}

/* Hop-by-hop, destination options, routing and AH in front of UDP. */
static void test_ipv6_ext_headers(void)
{
    GByteArray *ext = g_byte_array_new();
    /* hop-by-hop, 8 bytes: next = destination options */
    put8(ext, 60); put8(ext, 0); put8(ext, 1); put8(ext, 4); putz(ext, 4);
    /* destination options, 16 bytes: next = routing */
    put8(ext, 43); put8(ext, 1); put8(ext, 1); put8(ext, 12); putz(ext, 12);
    /* routing type 4 (segment routing), 24 bytes: next = AH */
    put8(ext, 51); put8(ext, 2); put8(ext, 4); put8(ext, 0); putz(ext, 20);
    /* AH, payload length 4 -> (4+2)*4 = 24 bytes: next = UDP */
    put8(ext, 17); put8(ext, 4); putz(ext, 22);
    ext = cat(ext, udp_dgram(137, 137, "NBNSQUERY", 9));
    GByteArray *f = eth(0x86DD, ipv6(0, A6, B6, ext));
    struct decoded d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpint(d.pkt.l4, ==, L4_UDP);
    g_assert_cmpint(d.pkt.ip_proto, ==, 17);
    g_assert_cmpuint(d.pkt.dport, ==, 137);
    g_assert_cmpuint(d.pkt.payload_len, ==, 9);
    g_assert_cmpmem(d.pkt.payload, 9, "NBNSQUERY", 9);
    g_byte_array_unref(f);

    /* an endless chain of destination options is cut off */
    GByteArray *loop = g_byte_array_new();
    for (int i = 0; i < 40; i++) {
        put8(loop, 60); put8(loop, 0); putz(loop, 6);
    }
    f = ipv6(60, A6, B6, loop);
    d = decode(DLT_RAW, f);
    g_assert_cmpint(d.st, ==, PKT_MALFORMED);
    g_byte_array_unref(f);

    /* no next header */
    GByteArray *none = g_byte_array_new();
    putz(none, 8);
    f = ipv6(59, A6, B6, none);
    d = decode(DLT_RAW, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpint(d.pkt.l4, ==, L4_OTHER);
    g_byte_array_unref(f);

    /* atomic fragment (offset 0, M=0, RFC 6946) is an ordinary packet */
    GByteArray *fr = g_byte_array_new();
    put8(fr, 6); put8(fr, 0); put16(fr, 0); put32(fr, 0xabcdef01);
    fr = cat(fr, tcp_seg(49152, 445, TCP_PSH | TCP_ACK, 0, PAYLOAD, PAYLOAD_LEN));
    f = ipv6(44, A6, B6, fr);
    d = decode(DLT_RAW, f);
    assert_tcp_v6(&d);
    g_assert_false(d.pkt.ip_fragment);
    g_byte_array_unref(f);
}

/* ------------------------------------------------------------ ICMP */

/* Port unreachable for an NBNS query to UDP 137 (RFC 792 type 3 code 3). */
static void test_icmp4_unreach_udp137(void)
{
    GByteArray *orig = ipv4(17, B4, A4, 0, udp_dgram(51000, 137, "0123456789ABCDEFGHIJ", 20));
    GByteArray *icmp = g_byte_array_new();
    put8(icmp, 3); put8(icmp, 3); put16(icmp, 0); put32(icmp, 0);
    putn(icmp, orig->data, 28); /* IP header + 8 bytes, as RFC 792 asks */
    g_byte_array_unref(orig);
    GByteArray *f = eth(0x0800, ipv4(1, A4, B4, 0, icmp));
    struct decoded d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpint(d.pkt.l4, ==, L4_ICMP_UNREACH);
    g_assert_cmpint(d.pkt.ip_proto, ==, 1);
    g_assert_cmpuint(d.pkt.icmp.type, ==, 3);
    g_assert_cmpuint(d.pkt.icmp.code, ==, 3);
    g_assert_cmpuint(d.pkt.icmp.proto, ==, 17);
    assert_addr(&d.pkt.icmp.src, 4, B4);
    assert_addr(&d.pkt.icmp.dst, 4, A4);
    g_assert_true(d.pkt.icmp.has_ports);
    g_assert_cmpuint(d.pkt.icmp.sport, ==, 51000);
    g_assert_cmpuint(d.pkt.icmp.dport, ==, 137);
    g_byte_array_unref(f);
}

/* Host unreachable / administratively prohibited for a SYN to TCP 139, with
 * IP options in the quoted header. */
static void test_icmp4_unreach_tcp139(void)
{
    GByteArray *orig = ipv4(6, B4, A4, 8, tcp_seg(40001, 139, TCP_SYN, 0, NULL, 0));
    GByteArray *icmp = g_byte_array_new();
    put8(icmp, 3); put8(icmp, 13); put16(icmp, 0); put32(icmp, 0);
    putn(icmp, orig->data, orig->len);
    g_byte_array_unref(orig);
    GByteArray *f = eth(0x0800, ipv4(1, A4, B4, 0, icmp));
    struct decoded d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpint(d.pkt.l4, ==, L4_ICMP_UNREACH);
    g_assert_cmpuint(d.pkt.icmp.code, ==, 13);
    g_assert_cmpuint(d.pkt.icmp.proto, ==, 6);
    g_assert_cmpuint(d.pkt.icmp.sport, ==, 40001);
    g_assert_cmpuint(d.pkt.icmp.dport, ==, 139);
    g_byte_array_unref(f);

    /* an echo reply is ICMP but not an unreachable */
    GByteArray *echo = g_byte_array_new();
    put8(echo, 0); put8(echo, 0); putz(echo, 14);
    f = ipv4(1, A4, B4, 0, echo);
    d = decode(DLT_RAW, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpint(d.pkt.l4, ==, L4_OTHER);
    g_byte_array_unref(f);
}

/* RFC 4443 3.1 type 1 code 4 (port unreachable), quoting UDP 137 behind a
 * destination options header; and a TCP 139 SYN. */
static void test_icmp6_unreach(void)
{
    GByteArray *dst = g_byte_array_new();
    put8(dst, 17); put8(dst, 0); putz(dst, 6);
    dst = cat(dst, udp_dgram(51000, 137, "xyz", 3));
    GByteArray *orig = ipv6(60, B6, A6, dst);
    GByteArray *icmp = g_byte_array_new();
    put8(icmp, 1); put8(icmp, 4); put16(icmp, 0); put32(icmp, 0);
    icmp = cat(icmp, orig);
    GByteArray *f = eth(0x86DD, ipv6(58, A6, B6, icmp));
    struct decoded d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpint(d.pkt.l4, ==, L4_ICMP_UNREACH);
    g_assert_cmpint(d.pkt.ip_proto, ==, 58);
    g_assert_cmpuint(d.pkt.icmp.type, ==, 1);
    g_assert_cmpuint(d.pkt.icmp.code, ==, 4);
    g_assert_cmpuint(d.pkt.icmp.proto, ==, 17);
    assert_addr(&d.pkt.icmp.src, 6, B6);
    assert_addr(&d.pkt.icmp.dst, 6, A6);
    g_assert_cmpuint(d.pkt.icmp.sport, ==, 51000);
    g_assert_cmpuint(d.pkt.icmp.dport, ==, 137);
    g_byte_array_unref(f);

    orig = ipv6(6, B6, A6, tcp_seg(40001, 139, TCP_SYN, 0, NULL, 0));
    icmp = g_byte_array_new();
    put8(icmp, 1); put8(icmp, 1); put16(icmp, 0); put32(icmp, 0);
    icmp = cat(icmp, orig);
    f = ipv6(58, A6, B6, icmp);
    d = decode(DLT_IPV6, f);
    g_assert_cmpint(d.pkt.l4, ==, L4_ICMP_UNREACH);
    g_assert_cmpuint(d.pkt.icmp.proto, ==, 6);
    g_assert_cmpuint(d.pkt.icmp.dport, ==, 139);
    g_byte_array_unref(f);
}

/* ------------------------------------------------------------ snaplen, truncation */

static void test_snaplen_cut_payload(void)
{
    GByteArray *f = eth(0x0800, tcp_v4_packet());
    size_t cut = 14 + 20 + 20 + 5;
    struct decoded d = decode_n(DLT_EN10MB, f->data, cut, f->len, NULL);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpuint(d.pkt.caplen, ==, cut);
    g_assert_cmpuint(d.pkt.wirelen, ==, f->len);
    g_assert_cmpuint(d.pkt.payload_len, ==, 5);
    g_assert_cmpuint(d.pkt.payload_wire_len, ==, PAYLOAD_LEN);
    g_byte_array_unref(f);
}

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

/* ------------------------------------------------------------ tshark differential */

/* Public captures (read-only, outside the repository) decoded by us and by
 * tshark: addresses, ports and TCP/UDP lengths must agree.  Skips when the
 * corpus or tshark is absent. */
enum { TS_FRAME, TS_IP_SRC, TS_IP_DST, TS_IP6_SRC, TS_IP6_DST, TS_TCP_SPORT, TS_TCP_DPORT, TS_TCP_LEN, TS_UDP_SPORT,
       TS_UDP_DPORT, TS_TIME, TS_NFIELDS };

static const char *const tshark_fields[TS_NFIELDS] = {
    "frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.len",
    "udp.srcport", "udp.dstport", "frame.time_epoch",
};

/* "1700000000.123456789" -> microseconds, truncating like capture.c does */
static int64_t epoch_to_us(const char *text)
{
    char *end = NULL;
    int64_t sec = g_ascii_strtoll(text, &end, 10);
    int64_t us = 0;
    int digits = 0;
    if (end && *end == '.')
        for (const char *q = end + 1; *q >= '0' && *q <= '9' && digits < 6; q++, digits++)
            us = us * 10 + (*q - '0');
    for (; digits < 6; digits++)
        us *= 10;
    return sec * 1000000 + us;
}

static char *corpus_dir(void)
{
    const char *env = g_getenv("SMBSCOPE_CORPUS");
    if (env)
        return g_strdup(env);
    /* build directories sit at the top of the worktree; the corpus beside it */
    return g_test_build_filename(G_TEST_BUILT, "..", "..", "..", "shared", "corpus", NULL);
}

static void free_strv(gpointer p) { g_strfreev(p); }

static GPtrArray *tshark_rows(const char *path)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    const char *fixed[] = { "tshark", "-n", "-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=/t" };
    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
        g_ptr_array_add(argv, g_strdup(fixed[i]));
    for (int i = 0; i < TS_NFIELDS; i++) {
        g_ptr_array_add(argv, g_strdup("-e"));
        g_ptr_array_add(argv, g_strdup(tshark_fields[i]));
    }
    g_ptr_array_add(argv, NULL);
    char *out = NULL;
    int status = 0;
    GError *err = NULL;
    bool ok = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                           &out, NULL, &status, &err);
    g_ptr_array_unref(argv);
    if (!ok) {
        g_clear_error(&err);
        return NULL;
    }
    GPtrArray *rows = g_ptr_array_new_with_free_func(free_strv);
    char **lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (!**l)
            continue;
        char **cols = g_strsplit(*l, "\t", TS_NFIELDS);
        if (g_strv_length(cols) == TS_NFIELDS)
            g_ptr_array_add(rows, cols);
        else
            g_strfreev(cols);
    }
    g_strfreev(lines);
    g_free(out);
    return rows;
}

/* One occurrence of a '|'-joined tshark field: the first (outer header, or
 * the ICMP error itself), or the last (the packet inside a GRE tunnel). */
static const char *occurrence(const char *list, bool last, char *buf, size_t len)
{
    const char *start = list;
    if (last) {
        const char *bar = strrchr(list, '|');
        if (bar)
            start = bar + 1;
    }
    size_t n = strcspn(start, "|");
    if (n >= len)
        n = len - 1;
    memcpy(buf, start, n);
    buf[n] = '\0';
    return buf;
}

static void addr_text(const struct ip_addr *a, char *buf, size_t len)
{
    buf[0] = '\0';
    if (a->family == 4 || a->family == 6)
        inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->bytes, buf, (socklen_t)len);
}

static unsigned compare_one_file(const char *path, unsigned *frames_checked)
{
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    if (!cap)
        return 0;
    if (!packet_linktype_supported(capture_linktype(cap))) {
        capture_close(cap);
        return 0;
    }
    GPtrArray *rows = tshark_rows(path);
    if (!rows) {
        capture_close(cap);
        return 0;
    }
    struct ipfrag_table *frags = ipfrag_new(NULL);
    struct capture_record rec;
    unsigned bad = 0;
    guint row = 0;
    while (capture_next(cap, &rec) == 1 && row < rows->len) {
        char **raw = g_ptr_array_index(rows, row++);
        struct packet pkt;
        enum packet_status st = packet_decode(capture_linktype(cap), &rec, frags, &pkt);
        /* one occurrence per field: the innermost IP header after a tunnel */
        char occ[TS_NFIELDS][64];
        char *ts[TS_NFIELDS];
        for (int f = 0; f < TS_NFIELDS; f++) {
            bool inner = pkt.tunnel_depth && (f == TS_IP_SRC || f == TS_IP_DST || f == TS_IP6_SRC || f == TS_IP6_DST);
            occurrence(raw[f], inner, occ[f], sizeof occ[f]);
            ts[f] = occ[f];
        }
        g_assert_cmpuint(g_ascii_strtoull(ts[TS_FRAME], NULL, 10), ==, rec.frame);
        char why[160] = "";
        if (epoch_to_us(ts[TS_TIME]) != rec.ts_us)
            g_snprintf(why, sizeof why, "timestamp %" G_GINT64_FORMAT " us, tshark %s", rec.ts_us, ts[TS_TIME]);
        bool ts_ip = ts[TS_IP_SRC][0] || ts[TS_IP6_SRC][0];
        char src[64], dst[64];
        addr_text(&pkt.src, src, sizeof src);
        addr_text(&pkt.dst, dst, sizeof dst);
        const char *want_src = pkt.src.family == 6 ? ts[TS_IP6_SRC] : ts[TS_IP_SRC];
        const char *want_dst = pkt.src.family == 6 ? ts[TS_IP6_DST] : ts[TS_IP_DST];
        char ports[64];
        if (why[0]) {
            /* reported below */
        } else if (st == PKT_NOT_IP || st == PKT_UNSUPPORTED_LINK) {
            if (ts_ip)
                g_snprintf(why, sizeof why, "%s but tshark sees IP %s%s", packet_status_name(st), ts[TS_IP_SRC], ts[TS_IP6_SRC]);
        } else if (st == PKT_OK || st == PKT_FRAG_HELD) {
            if (!ts_ip)
                g_snprintf(why, sizeof why, "we decode IP %s, tshark does not", src);
            else if (strcmp(src, want_src) || strcmp(dst, want_dst))
                g_snprintf(why, sizeof why, "addresses %s > %s, tshark %s > %s", src, dst, want_src, want_dst);
        }
        if (!why[0] && st == PKT_OK) {
            const char *sp = "", *dp = "";
            uint16_t our_sp = pkt.sport, our_dp = pkt.dport;
            if (pkt.l4 == L4_TCP) {
                sp = ts[TS_TCP_SPORT];
                dp = ts[TS_TCP_DPORT];
                char len[16];
                g_snprintf(len, sizeof len, "%u", pkt.payload_wire_len);
                if (strcmp(len, ts[TS_TCP_LEN]))
                    g_snprintf(why, sizeof why, "tcp.len %s, tshark %s", len, ts[TS_TCP_LEN]);
            } else if (pkt.l4 == L4_UDP) {
                sp = ts[TS_UDP_SPORT];
                dp = ts[TS_UDP_DPORT];
            } else if (pkt.l4 == L4_ICMP_UNREACH && pkt.icmp.has_ports) {
                sp = pkt.icmp.proto == 6 ? ts[TS_TCP_SPORT] : ts[TS_UDP_SPORT];
                dp = pkt.icmp.proto == 6 ? ts[TS_TCP_DPORT] : ts[TS_UDP_DPORT];
                our_sp = pkt.icmp.sport;
                our_dp = pkt.icmp.dport;
            }
            g_snprintf(ports, sizeof ports, "%u", our_sp);
            if (!why[0] && sp[0] && strcmp(ports, sp))
                g_snprintf(why, sizeof why, "source port %s, tshark %s", ports, sp);
            g_snprintf(ports, sizeof ports, "%u", our_dp);
            if (!why[0] && dp[0] && strcmp(ports, dp))
                g_snprintf(why, sizeof why, "destination port %s, tshark %s", ports, dp);
            if (!why[0] && (pkt.l4 == L4_TCP || pkt.l4 == L4_UDP) && !sp[0])
                g_snprintf(why, sizeof why, "we decode %s ports, tshark has none", pkt.l4 == L4_TCP ? "TCP" : "UDP");
        }
        (*frames_checked)++;
        if (why[0]) {
            bad++;
            g_test_message("%s frame %" G_GUINT64_FORMAT " (%s): %s", path, rec.frame, packet_status_name(st), why);
        }
    }
    ipfrag_free(frags);
    g_ptr_array_unref(rows);
    capture_close(cap);
    return bad;
}

static void test_tshark_corpus(void)
{
    char *dir = corpus_dir();
    char *tshark = g_find_program_in_path("tshark");
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR) || !tshark) {
        g_test_skip("no corpus or no tshark");
        g_free(dir);
        g_free(tshark);
        return;
    }
    unsigned bad = 0, frames = 0, files = 0;
    /* the corpus holds one folder per source repository; loose files count too */
    GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(dirs, g_strdup(dir));
    for (guint i = 0; i < dirs->len; i++) {
        const char *here = g_ptr_array_index(dirs, i);
        GDir *d = g_dir_open(here, 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
            char *path = g_build_filename(here, name, NULL);
            GStatBuf stb;
            if (i == 0 && g_file_test(path, G_FILE_TEST_IS_DIR)) {
                g_ptr_array_add(dirs, path);
                continue;
            }
            /* the two multi-megabyte files add time, not coverage */
            if (g_stat(path, &stb) == 0 && S_ISREG(stb.st_mode) && stb.st_size < 1000000) {
                bad += compare_one_file(path, &frames);
                files++;
            }
            g_free(path);
        }
        if (d)
            g_dir_close(d);
    }
    g_ptr_array_unref(dirs);
    g_test_message("compared %u frames of %u files with tshark: %u differ", frames, files, bad);
    g_assert_cmpuint(frames, >, 0);
    g_assert_cmpuint(bad, ==, 0);
    g_free(dir);
    g_free(tshark);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/packet/ethernet", test_ethernet);
    g_test_add_func("/packet/ethernet-padding", test_ethernet_padding);
    g_test_add_func("/packet/vlan-stacks", test_vlan_stacks);
    g_test_add_func("/packet/gre", test_gre);
    g_test_add_func("/packet/ipx-sockets", test_ipx_sockets);
    g_test_add_func("/packet/not-ip", test_not_ip);
    g_test_add_func("/packet/linux-cooked", test_linux_cooked);
    g_test_add_func("/packet/loopback", test_loopback);
    g_test_add_func("/packet/raw-ip", test_raw_ip);
    g_test_add_func("/packet/unsupported-link", test_unsupported_link);
    g_test_add_func("/packet/ipv4-options", test_ipv4_options);
    g_test_add_func("/packet/ipv4-malformed", test_ipv4_malformed);
    g_test_add_func("/packet/ipv6-ext-headers", test_ipv6_ext_headers);
    g_test_add_func("/packet/icmp4-unreach-udp137", test_icmp4_unreach_udp137);
    g_test_add_func("/packet/icmp4-unreach-tcp139", test_icmp4_unreach_tcp139);
    g_test_add_func("/packet/icmp6-unreach", test_icmp6_unreach);
    g_test_add_func("/packet/snaplen-cut-payload", test_snaplen_cut_payload);
    g_test_add_func("/packet/truncation-every-length", test_truncation_every_length);
    g_test_add_func("/packet/random-bytes", test_random_bytes);
    g_test_add_func("/packet/mutated-frames", test_mutated_frames);
    g_test_add_func("/packet/ipv4-fragments", test_ipv4_fragments);
    g_test_add_func("/packet/ipv6-fragments", test_ipv6_fragments);
    g_test_add_func("/packet/tshark-corpus", test_tshark_corpus);
    return g_test_run();
}
