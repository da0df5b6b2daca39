/* packet_build.c - frames for the packet_decode() tests, built byte by byte
 * from the header layouts of the protocol documents (RFC 791, 793, 768, 8200,
 * IEEE 802.1Q, the libpcap LINKTYPE_* descriptions), and the decode and
 * assert helpers those tests share. */
#include "packet_build.h"

#include <string.h>

const uint8_t A4[4] = { 192, 168, 7, 10 };
const uint8_t B4[4] = { 192, 168, 7, 20 };
const uint8_t A6[16] = { 0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a };
const uint8_t B6[16] = { 0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14 };

void put8(GByteArray *b, unsigned v) { uint8_t x = (uint8_t)v; g_byte_array_append(b, &x, 1); }
void put16(GByteArray *b, unsigned v) { put8(b, v >> 8); put8(b, v); }
void put32(GByteArray *b, uint32_t v) { put16(b, v >> 16); put16(b, v & 0xFFFF); }
void putn(GByteArray *b, const void *p, size_t n) { g_byte_array_append(b, p, (guint)n); }
void putz(GByteArray *b, size_t n) { for (size_t i = 0; i < n; i++) put8(b, 0); }

GByteArray *cat(GByteArray *head, GByteArray *tail)
{
    putn(head, tail->data, tail->len);
    g_byte_array_unref(tail);
    return head;
}

const uint8_t PAYLOAD[PAYLOAD_LEN + 1] = "\x00\x00\x00\x2f\xfeSMB@ payload bytes";

GByteArray *tcp_seg(uint16_t sport, uint16_t dport, uint8_t flags, size_t optlen, const void *pl, size_t n)
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

GByteArray *udp_dgram(uint16_t sport, uint16_t dport, const void *pl, size_t n)
{
    GByteArray *b = g_byte_array_new();
    put16(b, sport);
    put16(b, dport);
    put16(b, (unsigned)(8 + n));
    put16(b, 0);
    putn(b, pl, n);
    return b;
}

GByteArray *ipv4_hdr_only(uint8_t proto, const uint8_t *src, const uint8_t *dst, size_t optlen,
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

GByteArray *ipv4(uint8_t proto, const uint8_t *src, const uint8_t *dst, size_t optlen, GByteArray *l4)
{
    return cat(ipv4_hdr_only(proto, src, dst, optlen, l4->len, 0x1234, 0x4000), l4);
}

GByteArray *ipv6_hdr_only(uint8_t nh, const uint8_t *src, const uint8_t *dst, size_t plen)
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

GByteArray *ipv6(uint8_t nh, const uint8_t *src, const uint8_t *dst, GByteArray *rest)
{
    return cat(ipv6_hdr_only(nh, src, dst, rest->len), rest);
}

GByteArray *eth(uint16_t type, GByteArray *inner)
{
    GByteArray *b = g_byte_array_new();
    static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2 };
    putn(b, macs, 12);
    put16(b, type);
    return cat(b, inner);
}

/* Decode a private copy of exactly len bytes so ASan sees any overread. */
struct decoded decode_n(int dlt, const uint8_t *bytes, size_t len, uint32_t wirelen, struct ipfrag_table *frags)
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

struct decoded decode(int dlt, GByteArray *frame)
{
    return decode_n(dlt, frame->data, frame->len, frame->len, NULL);
}

void assert_addr(const struct ip_addr *a, int family, const uint8_t *bytes)
{
    g_assert_cmpint(a->family, ==, family);
    g_assert_cmpmem(a->bytes, family == 4 ? 4 : 16, bytes, family == 4 ? 4 : 16);
}

void assert_tcp_v4(const struct decoded *d)
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

GByteArray *tcp_v4_packet(void)
{
    return ipv4(6, A4, B4, 0, tcp_seg(49152, 445, TCP_PSH | TCP_ACK, 0, PAYLOAD, PAYLOAD_LEN));
}

GByteArray *tcp_v6_packet(void)
{
    return ipv6(6, A6, B6, tcp_seg(49152, 445, TCP_PSH | TCP_ACK, 12, PAYLOAD, PAYLOAD_LEN));
}

void assert_tcp_v6(const struct decoded *d)
{
    g_assert_cmpint(d->st, ==, PKT_OK);
    assert_addr(&d->pkt.src, 6, A6);
    assert_addr(&d->pkt.dst, 6, B6);
    g_assert_cmpint(d->pkt.l4, ==, L4_TCP);
    g_assert_cmpuint(d->pkt.dport, ==, 445);
    g_assert_cmpuint(d->pkt.payload_len, ==, PAYLOAD_LEN);
    g_assert_cmpmem(d->pkt.payload, d->pkt.payload_len, PAYLOAD, PAYLOAD_LEN);
}


GByteArray *sll(uint16_t proto, GByteArray *inner)
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

GByteArray *sll2(uint16_t proto, GByteArray *inner)
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
GByteArray *gre(uint16_t flags, uint16_t type, size_t extra, GByteArray *inner)
{
    static const uint8_t o1[4] = { 10, 9, 9, 1 }, o2[4] = { 10, 9, 9, 2 };
    GByteArray *g = g_byte_array_new();
    put16(g, flags);
    put16(g, type);
    putz(g, extra);
    return ipv4(47, o1, o2, 0, cat(g, inner));
}

GByteArray *null_hdr(uint32_t family, bool little, GByteArray *inner)
{
    GByteArray *b = g_byte_array_new();
    if (little) {
        put8(b, family); put8(b, family >> 8); put8(b, family >> 16); put8(b, family >> 24);
    } else {
        put32(b, family);
    }
    return cat(b, inner);
}
