/* packet_decode(): link layers, VLAN stacks, GRE, IPv4 options, IPv6
 * extension headers, ICMP unreachable attribution and a cut payload.
 * Frames come from packet_build.c (built from the protocol documents);
 * expected values are the ones written into them.  Every truncation, random
 * bytes and fragments: test_packet_robust.c; tshark: test_packet_tshark.c. */
#include <glib.h>
#include <pcap/dlt.h>
#include <string.h>

#include "packet_build.h"

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

    /* GRE four deep is opened; a fifth layer is past the bound: a decode
     * loss (malformed), not a packet of another protocol */
    f = eth(0x0800, gre(0, 0x0800, 0, gre(0, 0x0800, 0, gre(0, 0x0800, 0, gre(0, 0x0800, 0, tcp_v4_packet())))));
    d = decode(DLT_EN10MB, f);
    assert_tcp_v4(&d);
    g_assert_cmpuint(d.pkt.tunnel_depth, ==, 4);
    g_byte_array_unref(f);
    f = eth(0x0800, gre(0, 0x0800, 0, gre(0, 0x0800, 0, gre(0, 0x0800, 0, gre(0, 0x0800, 0, gre(0, 0x0800, 0, tcp_v4_packet()))))));
    d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_MALFORMED);
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
    g_assert_false(packet_linktype_supported(DLT_IEEE802_15_4));
    g_assert_false(packet_linktype_supported(DLT_USER0));
    GByteArray *f = tcp_v4_packet();
    struct decoded d = decode(DLT_USER0, f);
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

/* ------------------------------------------------------------ snaplen */

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
    return g_test_run();
}
