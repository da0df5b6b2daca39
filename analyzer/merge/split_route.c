/* split_route.c - see split_route.h.  Every byte is read through wire.h;
 * the link layers are the ones packet_decode() knows (packet.c). */
#include "split_route.h"

#define DLT_RAW_OPENBSD 14
#define LINKTYPE_RAW_FILE 101

/* The two addresses of a datagram, the protocol it carries, and what
 * packet_decode() makes of it. */
struct route_ip {
    const uint8_t *a, *b;
    size_t alen;
    uint8_t proto;
    enum split_tcp tcp;
};

/* An address as one word (IPv6: its halves folded). */
static uint64_t addr_word(const uint8_t *p, size_t len)
{
    if (len == 4)
        return load_u32be(p);
    uint64_t hi = load_u64ne(p), lo = load_u64ne(p + 8);
    return hi ^ (lo << 29 | lo >> 35);
}

static unsigned pair_worker(const struct route_ip *ip, unsigned n)
{
    return split_pair_worker(addr_word(ip->a, ip->alen), addr_word(ip->b, ip->alen), n);
}

/* The IPv4 or IPv6 header at w: its addresses and the protocol of its
 * payload (an IPv6 fragment header's next header in every fragment); w is
 * left at the payload. */
static bool route_ipv4(struct wire *w, struct route_ip *ip, const struct capture_record *rec)
{
    const uint8_t *h = wire_left(w) >= 20 ? w->p + w->off : NULL;
    size_t captured = wire_left(w);
    uint8_t vihl = wire_u8(w);
    wire_skip(w, 8);
    ip->proto = wire_u8(w);
    wire_skip(w, 2);
    ip->a = wire_bytes(w, 4);
    ip->b = wire_bytes(w, 4);
    ip->alen = 4;
    size_t ihl = (size_t)(vihl & 15) * 4;
    if (!h || (vihl >> 4) != 4)
        return false;
    ip->tcp = split_ipv4_tcp(h, captured, rec);
    return ihl >= 20 && wire_skip(w, ihl - 20);
}

/* IPv6: NO when the fixed header names ICMPv6 (decode_icmp() never gives
 * TCP), or UDP not to a tunnel's port; its extension headers are decode's. */
static bool route_ipv6(struct wire *w, struct route_ip *ip)
{
    uint8_t v = wire_u8(w);
    wire_skip(w, 5);
    ip->proto = wire_u8(w);
    ip->tcp = ip->proto == IPPROTO_V6_ICMP ? SPLIT_TCP_NO : SPLIT_TCP_MAYBE;
    wire_skip(w, 1);
    ip->a = wire_bytes(w, 16);
    ip->b = wire_bytes(w, 16);
    ip->alen = 16;
    if (ip->proto == IPPROTO_V_UDP && wire_ok(w) && !split_udp_may_tunnel(w->p + w->off, wire_left(w), true))
        ip->tcp = SPLIT_TCP_NO;
    bool tail = false;
    return wire_ok(w) && (v >> 4) == 6 && pkt_ipv6_ext_skip(w, &ip->proto, &tail);
}

/* An ICMP(v6) destination unreachable quoting a TCP packet: that packet's
 * pair. */
static bool route_icmp(struct wire *w, const struct route_ip *outer, struct route_ip *inner,
                       const struct capture_record *rec)
{
    uint8_t type = wire_u8(w);
    if (!wire_skip(w, 7) || type != (outer->alen == 4 ? ICMP4_UNREACH : ICMP6_UNREACH) || !wire_has(w, 1))
        return false;
    bool ok = outer->alen == 4 ? route_ipv4(w, inner, rec) : route_ipv6(w, inner);
    return ok && inner->proto == IPPROTO_V_TCP;
}

/* The worker of the IP datagram at w; *tcp from its header when it could
 * be read (else left MAYBE). */
static unsigned route_l3(struct wire *w, bool v6, unsigned n, const struct capture_record *rec, enum split_tcp *tcp)
{
    struct route_ip ip = { .tcp = SPLIT_TCP_MAYBE }, inner = { .tcp = SPLIT_TCP_MAYBE };
    bool ok = v6 ? route_ipv6(w, &ip) : route_ipv4(w, &ip, rec);
    *tcp = ip.tcp;
    if (!ok)
        return 0;
    if (ip.proto == IPPROTO_V_TCP)
        return pair_worker(&ip, n);
    if ((ip.proto == IPPROTO_V4_ICMP || ip.proto == IPPROTO_V6_ICMP) && route_icmp(w, &ip, &inner, rec))
        return pair_worker(&inner, n);
    return 0;
}

static unsigned route_ethertype(struct wire *w, uint16_t type, unsigned n, const struct capture_record *rec,
                                enum split_tcp *tcp)
{
    for (int depth = 0; (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) && depth < MAX_VLAN_DEPTH;
         depth++) {
        wire_skip(w, 2);
        type = wire_u16be(w);
    }
    if (!wire_ok(w))
        return 0;
    return type == ETH_IPV4 ? route_l3(w, false, n, rec, tcp) : type == ETH_IPV6 ? route_l3(w, true, n, rec, tcp) : 0;
}

static uint64_t ip_word(const struct ip_addr *a) { return addr_word(a->bytes, a->family == 6 ? 16 : 4); }

/* A record the header look sent to worker 0 without knowing it is not TCP
 * (a tunnel: MPLS, PPPoE, GRE, IP in IP, AH, VXLAN, Geneve; or headers it
 * does not read): decoded as one run decodes it, it goes by its innermost
 * pair when that is TCP (or a fragment of a TCP datagram, or an ICMP error
 * quoting TCP), as the same connection's packets outside the tunnel do
 * (without a tunnel that is the pair the header look would have used).
 * Review: with one direction of a connection labelled (MPLS
 * penultimate-hop popping, an asymmetric tunnel) --jobs 2 made two
 * half-connections of it.  A tunnel inside IP fragments is not opened
 * here: its datagram is worker 0's to reassemble (where TCP comes out of
 * one, the split gives up: split.c note_caps()). */
static unsigned route_decoded(const struct capture_record *rec, unsigned n)
{
    struct packet pkt;
    enum packet_status st = packet_decode(rec->dlt, rec, NULL, &pkt);
    if ((st == PKT_OK && pkt.l4 == L4_TCP) || (st == PKT_FRAG_HELD && pkt.ip_proto == IPPROTO_V_TCP))
        return split_pair_worker(ip_word(&pkt.src), ip_word(&pkt.dst), n);
    if (st == PKT_OK && pkt.l4 == L4_ICMP_UNREACH && pkt.icmp.proto == IPPROTO_V_TCP &&
        pkt.icmp.src.family == pkt.icmp.dst.family)
        return split_pair_worker(ip_word(&pkt.icmp.src), ip_word(&pkt.icmp.dst), n);
    return 0;
}

static unsigned route_headers(const struct capture_record *rec, unsigned n, enum split_tcp *tcp);

unsigned split_route_any(const struct capture_record *rec, unsigned n, enum split_tcp *tcp)
{
    unsigned worker = route_headers(rec, n, tcp);
    return worker == 0 && *tcp == SPLIT_TCP_MAYBE && n > 1 ? route_decoded(rec, n) : worker;
}

static unsigned route_headers(const struct capture_record *rec, unsigned n, enum split_tcp *tcp)
{
    unsigned worker;
    *tcp = SPLIT_TCP_MAYBE;
    struct wire w = wire_make(rec->data, rec->caplen);
    switch (rec->dlt) {
    case DLT_EN10MB:
        wire_skip(&w, 12);
        return route_ethertype(&w, wire_u16be(&w), n, rec, tcp);
    case DLT_LINUX_SLL:
        wire_skip(&w, 14);
        return route_ethertype(&w, wire_u16be(&w), n, rec, tcp);
    case DLT_LINUX_SLL2: {
        uint16_t proto = wire_u16be(&w);
        wire_skip(&w, 18);
        return route_ethertype(&w, proto, n, rec, tcp);
    }
    case DLT_NULL:
    case DLT_LOOP: {
        uint32_t fam = wire_u32be(&w);
        if ((fam & 0xFFFF0000u) != 0)
            fam = ((fam & 0xFF) << 24) | ((fam & 0xFF00) << 8) | ((fam >> 8) & 0xFF00) | (fam >> 24);
        return !wire_ok(&w) ? 0
               : fam == 2   ? route_l3(&w, false, n, rec, tcp)
               : fam == 24 || fam == 28 || fam == 30 ? route_l3(&w, true, n, rec, tcp)
                                                     : 0;
    }
    case DLT_RAW:
    case DLT_RAW_OPENBSD:
    case LINKTYPE_RAW_FILE:
    case DLT_IPV4:
    case DLT_IPV6: {
        if (!wire_has(&w, 1))
            return 0;
        unsigned v = wire_peek_u8(&w, 0) >> 4;
        worker = v == 4 ? route_l3(&w, false, n, rec, tcp) : v == 6 ? route_l3(&w, true, n, rec, tcp) : 0;
        if ((rec->dlt == DLT_IPV4 && v != 4) || (rec->dlt == DLT_IPV6 && v != 6))
            *tcp = SPLIT_TCP_MAYBE; /* decoded as the link type says, not as the version does */
        return worker;
    }
    default:
        return 0;
    }
}
