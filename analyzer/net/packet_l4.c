/* packet_l4.c - the transport inside IP: TCP, UDP, ICMP(v6) destination
 * unreachable with its quoted header, and GRE (whose inner packet goes back
 * to the link or IP layer). */
#include "packet_priv.h"

static void set_payload(struct packet *pkt, struct wire *w, uint32_t wire_len)
{
    pkt->payload_wire_len = wire_len;
    pkt->payload_len = min_u32((uint32_t)wire_left(w), wire_len);
    pkt->payload = pkt->payload_len ? wire_bytes(w, pkt->payload_len) : NULL;
}

static enum packet_status decode_tcp(struct packet *pkt, struct l4_in *in)
{
    struct wire *w = &in->w;
    pkt->l4 = L4_TCP;
    uint8_t off_byte;
    /* The fixed header under one bounds check when captured whole; field
     * by field (as far as it goes) when cut. */
    const uint8_t *h = wire_left(w) >= 20 ? wire_bytes(w, 20) : NULL;
    if (h) {
        pkt->sport = load_u16be(h);
        pkt->dport = load_u16be(h + 2);
        pkt->seq = load_u32be(h + 4);
        pkt->ack = load_u32be(h + 8);
        off_byte = h[12];
        pkt->tcp_flags = h[13];
        pkt->window = load_u16be(h + 14);
    } else {
        pkt->sport = wire_u16be(w);
        pkt->dport = wire_u16be(w);
        pkt->seq = wire_u32be(w);
        pkt->ack = wire_u32be(w);
        off_byte = wire_u8(w);
        pkt->tcp_flags = wire_u8(w);
        pkt->window = wire_u16be(w);
        wire_skip(w, 4); /* checksum, urgent pointer */
        if (!wire_ok(w))
            return in->short_st;
    }
    uint32_t hdr_len = (uint32_t)(off_byte >> 4) * 4;
    if (hdr_len < 20 || hdr_len > in->wire_len)
        return PKT_MALFORMED;
    /* Options cut by the snaplen: the fixed header is enough for flow
     * tracking, so report what we have with an empty captured payload. */
    if (!wire_skip(w, hdr_len - 20)) {
        pkt->payload_wire_len = in->wire_len - hdr_len;
        return PKT_OK;
    }
    set_payload(pkt, w, in->wire_len - hdr_len);
    return PKT_OK;
}

/* The packet a tunnel carries (inner: packet_priv.h PKT_INNER_* or an
 * EtherType), w at its start: one tunnel layer more. */
static enum packet_status decode_inner(struct packet *pkt, struct wire *w, uint16_t inner, struct ipfrag_table *frags)
{
    if (!pkt_tunnel_enter(pkt))
        return PKT_MALFORMED;
    pkt->l4 = L4_NONE;
    pkt->sport = pkt->dport = 0;
    pkt->payload = NULL;
    pkt->payload_len = pkt->payload_wire_len = 0;
    if (inner == PKT_INNER_ETHERNET)
        return pkt_link_ethernet(pkt, w, frags);
    if (inner == PKT_INNER_PPP) { /* its address and control fields, unless compressed away (RFC 1662) */
        if (wire_has(w, 2) && wire_peek_u8(w, 0) == 0xFF && wire_peek_u8(w, 1) == 0x03)
            wire_skip(w, 2);
        return pkt_decode_ppp(pkt, w, frags);
    }
    return pkt_decode_ethertype(pkt, w, inner, frags);
}

/* The packet a UDP tunnel carries is the packet analysed (packet_udp_tunnel.c);
 * a datagram whose tunnel header does not say what it carries stays the UDP
 * it is, one whose header the capture cut is truncated. */
/* The datagram opened by the tunnel of its port; false (*st untouched)
 * when that tunnel declined it and the other port is to be tried. */
static bool decode_udp_tunnel(struct packet *pkt, struct l4_in *in, uint16_t port, enum packet_status *st)
{
    struct wire w = wire_make(pkt->payload, pkt->payload_len);
    bool declined = false;
    uint16_t inner = pkt_udp_tunnel_inner(port, &w, pkt->payload_wire_len, &declined);
    if (declined)
        return false;
    if (!inner)
        *st = !wire_ok(&w) && pkt->payload_wire_len > pkt->payload_len ? PKT_TRUNCATED : PKT_OK;
    else
        *st = decode_inner(pkt, &w, inner, in->frags);
    return true;
}

static enum packet_status decode_udp(struct packet *pkt, struct l4_in *in)
{
    struct wire *w = &in->w;
    pkt->l4 = L4_UDP;
    uint16_t ulen;
    const uint8_t *h = wire_left(w) >= 8 ? wire_bytes(w, 8) : NULL;
    if (h) {
        pkt->sport = load_u16be(h);
        pkt->dport = load_u16be(h + 2);
        ulen = load_u16be(h + 4);
    } else {
        pkt->sport = wire_u16be(w);
        pkt->dport = wire_u16be(w);
        ulen = wire_u16be(w);
        wire_skip(w, 2);
        if (!wire_ok(w))
            return in->short_st;
    }
    if (in->wire_len < 8)
        return PKT_MALFORMED;
    /* The UDP length trims link padding when consistent; otherwise (0 in
     * jumbograms, or nonsense) the IP length is what was sent. */
    uint32_t wire_payload = in->wire_len - 8;
    if (ulen >= 8 && ulen <= in->wire_len)
        wire_payload = (uint32_t)ulen - 8;
    set_payload(pkt, w, wire_payload);
    uint16_t by[2];
    int n = pkt_udp_carriers(pkt->sport, pkt->dport, by);
    for (int i = 0; i < n; i++) {
        if (by[i] == NATT_PORT)
            return pkt_decode_udp_esp(pkt, in);
        enum packet_status st;
        if (decode_udp_tunnel(pkt, in, by[i], &st))
            return st;
    }
    return PKT_OK;
}


/* The ports of the quoted transport header: first 4 bytes of TCP/UDP/SCTP. */
static void quoted_ports(struct icmp_embedded *e, struct wire *w)
{
    if (e->proto != IPPROTO_V_TCP && e->proto != IPPROTO_V_UDP && e->proto != IPPROTO_V_SCTP)
        return;
    uint16_t sp = wire_u16be(w);
    uint16_t dp = wire_u16be(w);
    if (wire_ok(w)) {
        e->sport = sp;
        e->dport = dp;
        e->has_ports = true;
    }
}

/* RFC 792: type, code, checksum, 4 unused bytes, then the original IP header
 * and at least 8 bytes of its payload. */
static enum packet_status decode_icmp4_unreach(struct packet *pkt, struct wire *w, enum packet_status short_st)
{
    struct icmp_embedded *e = &pkt->icmp;
    uint8_t vihl = wire_u8(w);
    if (!wire_ok(w))
        return short_st;
    if ((vihl >> 4) != 4 || (vihl & 0x0F) < 5)
        return PKT_MALFORMED;
    wire_skip(w, 5);
    uint16_t frag = wire_u16be(w);
    wire_skip(w, 1);
    e->proto = wire_u8(w);
    wire_skip(w, 2);
    const uint8_t *src = wire_bytes(w, 4);
    const uint8_t *dst = wire_bytes(w, 4);
    if (!wire_ok(w))
        return short_st;
    put_addr(&e->src, 4, src);
    put_addr(&e->dst, 4, dst);
    pkt->l4 = L4_ICMP_UNREACH;
    if (!wire_skip(w, (size_t)(vihl & 0x0F) * 4 - 20))
        return PKT_OK; /* options cut: still attributable by addresses */
    if ((frag & 0x1FFF) == 0)
        quoted_ports(e, w);
    return PKT_OK;
}

/* RFC 4443 3.1: type, code, checksum, 4 unused bytes, then as much of the
 * original packet as fits. */
static enum packet_status decode_icmp6_unreach(struct packet *pkt, struct wire *w, enum packet_status short_st)
{
    struct icmp_embedded *e = &pkt->icmp;
    uint8_t v = wire_peek_u8(w, 0);
    if (!wire_has(w, 40))
        return short_st;
    if ((v >> 4) != 6)
        return PKT_MALFORMED;
    wire_skip(w, 6);
    uint8_t nh = wire_u8(w);
    wire_skip(w, 1);
    const uint8_t *src = wire_bytes(w, 16);
    const uint8_t *dst = wire_bytes(w, 16);
    put_addr(&e->src, 6, src);
    put_addr(&e->dst, 6, dst);
    pkt->l4 = L4_ICMP_UNREACH;
    bool frag_tail = false;
    if (!pkt_ipv6_ext_skip(w, &nh, &frag_tail)) {
        e->proto = nh;
        return PKT_OK; /* quoted extension headers cut: addresses still attribute it */
    }
    e->proto = nh;
    if (!frag_tail)
        quoted_ports(e, w);
    return PKT_OK;
}

static enum packet_status decode_icmp(struct packet *pkt, struct l4_in *in)
{
    struct wire *w = &in->w;
    pkt->l4 = L4_OTHER;
    pkt->payload_wire_len = in->wire_len;
    pkt->payload_len = min_u32((uint32_t)wire_left(w), in->wire_len);
    pkt->payload = pkt->payload_len ? wire_window(w, w->off, pkt->payload_len).p : NULL;
    uint8_t type = wire_u8(w);
    uint8_t code = wire_u8(w);
    wire_skip(w, 6);
    if (!wire_ok(w))
        return in->short_st;
    if (type != (in->v6 ? ICMP6_UNREACH : ICMP4_UNREACH))
        return PKT_OK;
    pkt->icmp.type = type;
    pkt->icmp.code = code;
    enum packet_status st = in->v6 ? decode_icmp6_unreach(pkt, w, in->short_st) : decode_icmp4_unreach(pkt, w, in->short_st);
    if (pkt->l4 != L4_ICMP_UNREACH)
        memset(&pkt->icmp, 0, sizeof pkt->icmp);
    return st;
}


#define GRE_F_CHECKSUM 0x8000u
#define GRE_F_ROUTING 0x4000u
#define GRE_F_KEY 0x2000u
#define GRE_F_SEQUENCE 0x1000u
#define GRE_VERSION_MASK 0x0007u
#define GRE_WCCP 0x883Eu     /* WCCPv2 redirect: a 4-byte redirect header, then IPv4 */
#define GRE_TEB PKT_INNER_ETHERNET
#define GRE_PPP PKT_INNER_PPP  /* PPTP (RFC 2637): enhanced GRE, version 1 */
#define GRE_V1_ACK 0x0080u   /* enhanced GRE: an acknowledgment number follows */
#define GRE_ERSPAN_2 0x88BEu /* ERSPAN type II (with a sequence number) or I (without) */
#define GRE_ERSPAN_3 0x22EBu /* ERSPAN type III */
#define ERSPAN_2_HEADER 8
#define ERSPAN_3_HEADER 12
#define ERSPAN_3_PLATFORM 8  /* the optional platform subheader, when the O bit is set */
#define ERSPAN_3_O_BIT 0x01  /* in the header's last octet */

/* ERSPAN's header before the mirrored Ethernet frame (type I has none, II 8
 * octets, III 12 and its optional platform subheader); false when cut. */
static bool skip_erspan(struct wire *w, uint16_t type, uint16_t gre_flags)
{
    if (type == GRE_ERSPAN_2)
        return (gre_flags & GRE_F_SEQUENCE) ? wire_skip(w, ERSPAN_2_HEADER) : true;
    const uint8_t *h = wire_bytes(w, ERSPAN_3_HEADER);
    return h && (!(h[ERSPAN_3_HEADER - 1] & ERSPAN_3_O_BIT) || wire_skip(w, ERSPAN_3_PLATFORM));
}

/* GRE (RFC 2784, 2890; WCCP redirection, as in tcpdump's wccp_redirect_gre
 * trace; ERSPAN, what a remote SPAN sends a sensor): the packet inside is
 * the one analysed, like tshark's innermost layer.  Version 1 (PPTP) and
 * RFC 1701 routing stay L4_OTHER. */
/* Enhanced GRE (PPTP): key (payload length, call ID), sequence and
 * acknowledgment numbers as flagged, then PPP; false when it is not. */
static bool skip_gre_v1(struct wire *w, uint16_t flags, uint16_t type)
{
    if (type != GRE_PPP || !(flags & GRE_F_KEY) || (flags & (GRE_F_CHECKSUM | GRE_F_ROUTING)))
        return false;
    return wire_skip(w, 4 + ((flags & GRE_F_SEQUENCE) ? 4 : 0) + ((flags & GRE_V1_ACK) ? 4 : 0));
}

static enum packet_status decode_gre(struct packet *pkt, struct l4_in *in)
{
    struct wire w = in->w;
    uint16_t flags = wire_u16be(&w);
    uint16_t type = wire_u16be(&w);
    if (!wire_ok(&w))
        return in->short_st;
    if ((flags & GRE_VERSION_MASK) == 1) {
        if (!skip_gre_v1(&w, flags, type))
            return wire_ok(&w) ? PKT_OK : in->short_st;
        return decode_inner(pkt, &w, GRE_PPP, in->frags);
    }
    if ((flags & GRE_VERSION_MASK) || (flags & GRE_F_ROUTING))
        return PKT_OK;
    size_t options = ((flags & GRE_F_CHECKSUM) ? 4 : 0) + ((flags & GRE_F_KEY) ? 4 : 0) + ((flags & GRE_F_SEQUENCE) ? 4 : 0);
    if (type == GRE_WCCP)
        options += 4;
    if (!wire_skip(&w, options))
        return in->short_st;
    switch (type) {
    case ETH_IPV4:
    case GRE_WCCP:
    case ETH_IPV6:
    case GRE_TEB:
    case GRE_ERSPAN_2:
    case GRE_ERSPAN_3:
        break;
    case ETH_MPLS:
    case ETH_MPLS_MC:
    case GRE_PPP:
        return decode_inner(pkt, &w, type, in->frags);
    default:
        return PKT_OK;
    }
    if (!pkt_tunnel_enter(pkt))
        return PKT_MALFORMED;
    pkt->l4 = L4_NONE;
    if (type == ETH_IPV6)
        return pkt_decode_ipv6(pkt, &w, in->frags);
    if (type == ETH_IPV4 || type == GRE_WCCP)
        return pkt_decode_ipv4(pkt, &w, in->frags);
    if (type != GRE_TEB && !skip_erspan(&w, type, flags))
        return in->short_st;
    return pkt_link_ethernet(pkt, &w, in->frags);
}

/* MPLS inside IP (protocol 137, RFC 4023): a label stack. */
static enum packet_status decode_mpls_in_ip(struct packet *pkt, struct l4_in *in)
{
    struct wire w = wire_window(&in->w, in->w.off, min_u32((uint32_t)wire_left(&in->w), in->wire_len));
    return decode_inner(pkt, &w, ETH_MPLS, in->frags);
}

/* An Ethernet frame inside IP: EtherIP (protocol 97, RFC 3378) after its
 * 2-octet header, SRv6's protocol 143 (RFC 8986) as it is.  Review:
 * NetBIOS inside either passed, exit 0, where tshark opened both.  An
 * EtherIP version other than RFC 3378's 3 is opened too: tshark opens it
 * whatever its version (reread: the NBSS and SMB1 of a version-0 copy
 * passed). */
#define ETHERIP_HEADER 2
static enum packet_status decode_ethernet_in_ip(struct packet *pkt, struct l4_in *in)
{
    struct wire w = wire_window(&in->w, in->w.off, min_u32((uint32_t)wire_left(&in->w), in->wire_len));
    if (in->proto == IPPROTO_V_ETHERIP && !wire_skip(&w, ETHERIP_HEADER))
        return in->short_st;
    return decode_inner(pkt, &w, PKT_INNER_ETHERNET, in->frags);
}

/* IPv4 or IPv6 inside IP (protocols 4 and 41: RFC 2003, 4213 tunnels, 6in4). */
static enum packet_status decode_ip_in_ip(struct packet *pkt, struct l4_in *in)
{
    if (!pkt_tunnel_enter(pkt))
        return PKT_MALFORMED;
    struct wire w = wire_window(&in->w, in->w.off, min_u32((uint32_t)wire_left(&in->w), in->wire_len));
    pkt->l4 = L4_NONE;
    return in->proto == IPPROTO_V_IPIP ? pkt_decode_ipv4(pkt, &w, in->frags) : pkt_decode_ipv6(pkt, &w, in->frags);
}

/* IPsec AH over IPv4 (RFC 4302: integrity only, what follows is plain; IPv6
 * skips it with its extension headers): its length counts 4-octet words,
 * less 2. */
static enum packet_status skip_ah_v4(struct l4_in *in)
{
    uint8_t next = wire_u8(&in->w);
    uint8_t len = wire_u8(&in->w);
    size_t hdr = ((size_t)len + 2) * 4;
    if (!wire_ok(&in->w) || !wire_skip(&in->w, hdr - 2))
        return in->short_st;
    if (hdr > in->wire_len || next == IPPROTO_V_AH)
        return PKT_MALFORMED;
    in->wire_len -= (uint32_t)hdr;
    in->proto = next;
    return PKT_OK;
}

enum packet_status pkt_decode_l4(struct packet *pkt, struct l4_in *in)
{
    if (in->proto == IPPROTO_V_AH && !in->v6) {
        enum packet_status st = skip_ah_v4(in);
        if (st != PKT_OK)
            return st;
    }
    pkt->ip_proto = in->proto;
    switch (in->proto) {
    case IPPROTO_V_IPIP:
    case IPPROTO_V_IPV6:
        return decode_ip_in_ip(pkt, in);
    case IPPROTO_V_MPLS:
        return decode_mpls_in_ip(pkt, in);
    case IPPROTO_V_ETHERIP:
    case IPPROTO_V_ETHERNET:
        return decode_ethernet_in_ip(pkt, in);
    case IPPROTO_V_IPCOMP:
        /* a compressed IP payload (RFC 3173; under ESP, strongSwan's
         * compress=yes): not inflated here, so a loss -- it may hold
         * NetBIOS (review: it passed as another protocol) */
        return PKT_UNSUPPORTED_LINK;
    case IPPROTO_V_GRE: {
        struct l4_in gre = *in; /* set_payload consumes in->w */
        pkt->l4 = L4_OTHER;
        set_payload(pkt, &in->w, in->wire_len);
        return decode_gre(pkt, &gre);
    }
    case IPPROTO_V_TCP:
        return decode_tcp(pkt, in);
    case IPPROTO_V_ESP:
        return pkt_decode_esp(pkt, in);
    case IPPROTO_V_UDP:
        return decode_udp(pkt, in);
    case IPPROTO_V4_ICMP:
        if (!in->v6)
            return decode_icmp(pkt, in);
        break;
    case IPPROTO_V6_ICMP:
        if (in->v6)
            return decode_icmp(pkt, in);
        break;
    default:
        break;
    }
    pkt->l4 = L4_OTHER;
    set_payload(pkt, &in->w, in->wire_len);
    return PKT_OK;
}

