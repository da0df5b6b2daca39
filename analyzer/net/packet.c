/* packet.c - link layer -> IPv4/IPv6 (+fragments) -> TCP/UDP/ICMP headers.
 *
 * Every byte is read through dissector/wire.h.  Two windows matter for each
 * layer: what was captured (the cursor) and what the IP header says was sent
 * (a byte count), so a segment cut by the snaplen shows up as
 * payload_len < payload_wire_len instead of vanishing. */
#include "packet.h"

#include <pcap/dlt.h>
#include <string.h>

#include "capture.h"
#include "ipfrag.h"
#include "wire.h"

#define MAX_VLAN_DEPTH 8   /* stacked 802.1Q/802.1ad tags we follow before giving up */
#define MAX_TUNNEL_DEPTH 2 /* GRE inside GRE at most: the inner packet is analysed */
#define MAX_IPV6_EXT 16    /* IPv6 extension headers we follow before giving up */
#define LINKTYPE_RAW_FILE 101  /* libpcap maps it to DLT_RAW; accept it if handed raw */
#define DLT_RAW_OPENBSD 14

enum {
    ETH_IPV4 = 0x0800,
    ETH_ARP = 0x0806,
    ETH_VLAN = 0x8100,
    ETH_IPX = 0x8137,
    ETH_IPV6 = 0x86DD,
    ETH_QINQ = 0x88A8,
    ETH_QINQ_OLD = 0x9100,
    ETH_MAX_LENGTH = 1500,   /* values up to here are 802.3 lengths: an LLC header follows */
    SLL_PROTO_8023 = 0x0001, /* Linux cooked: Novell "raw 802.3" (IPX) */
    SLL_PROTO_8022 = 0x0004, /* Linux cooked: 802.2 LLC frame */
};

enum {
    IPPROTO_V6_HOPOPTS = 0,
    IPPROTO_V4_ICMP = 1,
    IPPROTO_V_TCP = 6,
    IPPROTO_V_UDP = 17,
    IPPROTO_V6_ROUTING = 43,
    IPPROTO_V6_FRAGMENT = 44,
    IPPROTO_V_AH = 51,
    IPPROTO_V6_ICMP = 58,
    IPPROTO_V6_NONE = 59,
    IPPROTO_V6_DSTOPTS = 60,
    IPPROTO_V_SCTP = 132,
    ICMP4_UNREACH = 3,
    ICMP6_UNREACH = 1,
};

static const char *const status_names[PKT_STATUS_COUNT] = {
    [PKT_OK] = "ok",
    [PKT_NOT_IP] = "not-ip",
    [PKT_TRUNCATED] = "truncated",
    [PKT_MALFORMED] = "malformed",
    [PKT_FRAG_HELD] = "fragment-held",
    [PKT_FRAG_DROPPED] = "fragment-dropped",
    [PKT_UNSUPPORTED_LINK] = "unsupported-link",
};

const char *packet_status_name(enum packet_status st)
{
    return (unsigned)st < PKT_STATUS_COUNT ? status_names[st] : "unknown";
}

/* ------------------------------------------------------------------ L4 */

struct l4_in {
    uint8_t proto;
    bool v6;
    struct wire w;       /* captured bytes of the IP payload */
    uint32_t wire_len;   /* bytes of IP payload sent */
    /* What running out of w means: the capture was cut (truncated), or the
     * IP length leaves no room for the header (malformed). */
    enum packet_status short_st;
    struct ipfrag_table *frags; /* for an IP packet inside a tunnel */
};

static void put_addr(struct ip_addr *a, uint8_t family, const uint8_t *bytes)
{
    memset(a, 0, sizeof *a);
    if (!bytes)
        return;
    a->family = family;
    memcpy(a->bytes, bytes, family == 4 ? 4 : 16);
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

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
    pkt->sport = wire_u16be(w);
    pkt->dport = wire_u16be(w);
    pkt->seq = wire_u32be(w);
    pkt->ack = wire_u32be(w);
    uint8_t off_byte = wire_u8(w);
    pkt->tcp_flags = wire_u8(w);
    pkt->window = wire_u16be(w);
    wire_skip(w, 4); /* checksum, urgent pointer */
    if (!wire_ok(w))
        return in->short_st;
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

static enum packet_status decode_udp(struct packet *pkt, struct l4_in *in)
{
    struct wire *w = &in->w;
    pkt->l4 = L4_UDP;
    pkt->sport = wire_u16be(w);
    pkt->dport = wire_u16be(w);
    uint16_t ulen = wire_u16be(w);
    wire_skip(w, 2);
    if (!wire_ok(w))
        return in->short_st;
    if (in->wire_len < 8)
        return PKT_MALFORMED;
    /* The UDP length trims link padding when consistent; otherwise (0 in
     * jumbograms, or nonsense) the IP length is what was sent. */
    uint32_t wire_payload = in->wire_len - 8;
    if (ulen >= 8 && ulen <= in->wire_len)
        wire_payload = (uint32_t)ulen - 8;
    set_payload(pkt, w, wire_payload);
    return PKT_OK;
}

static bool ipv6_ext_skip(struct wire *w, uint8_t *nh, bool *is_fragment_tail);

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
    if (!ipv6_ext_skip(w, &nh, &frag_tail)) {
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

static enum packet_status decode_ipv4(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
static enum packet_status decode_ipv6(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
static enum packet_status link_ethernet(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);

#define IPPROTO_V_GRE 47
#define GRE_F_CHECKSUM 0x8000u
#define GRE_F_ROUTING 0x4000u
#define GRE_F_KEY 0x2000u
#define GRE_F_SEQUENCE 0x1000u
#define GRE_VERSION_MASK 0x0007u
#define GRE_WCCP 0x883Eu     /* WCCPv2 redirect: a 4-byte redirect header, then IPv4 */
#define GRE_TEB 0x6558u      /* transparent Ethernet bridging */

/* GRE (RFC 2784, 2890; WCCP redirection, as in tcpdump's wccp_redirect_gre
 * trace): the packet inside is the one analysed, like tshark's innermost
 * layer.  Version 1 (PPTP) and RFC 1701 routing stay L4_OTHER. */
static enum packet_status decode_gre(struct packet *pkt, struct l4_in *in)
{
    struct wire w = in->w;
    uint16_t flags = wire_u16be(&w);
    uint16_t type = wire_u16be(&w);
    if (!wire_ok(&w))
        return in->short_st;
    if ((flags & GRE_VERSION_MASK) || (flags & GRE_F_ROUTING) || pkt->tunnel_depth >= MAX_TUNNEL_DEPTH)
        return PKT_OK;
    size_t options = ((flags & GRE_F_CHECKSUM) ? 4 : 0) + ((flags & GRE_F_KEY) ? 4 : 0) + ((flags & GRE_F_SEQUENCE) ? 4 : 0);
    if (type == GRE_WCCP)
        options += 4;
    if (!wire_skip(&w, options))
        return in->short_st;
    pkt->tunnel_depth++;
    pkt->l4 = L4_NONE;
    switch (type) {
    case ETH_IPV4:
    case GRE_WCCP:
        return decode_ipv4(pkt, &w, in->frags);
    case ETH_IPV6:
        return decode_ipv6(pkt, &w, in->frags);
    case GRE_TEB:
        return link_ethernet(pkt, &w, in->frags);
    default:
        pkt->tunnel_depth--;
        pkt->l4 = L4_OTHER;
        return PKT_OK;
    }
}

static enum packet_status decode_l4(struct packet *pkt, struct l4_in *in)
{
    pkt->ip_proto = in->proto;
    switch (in->proto) {
    case IPPROTO_V_GRE: {
        struct l4_in gre = *in; /* set_payload consumes in->w */
        pkt->l4 = L4_OTHER;
        set_payload(pkt, &in->w, in->wire_len);
        return decode_gre(pkt, &gre);
    }
    case IPPROTO_V_TCP:
        return decode_tcp(pkt, in);
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

/* ------------------------------------------------------------------ IP */

static enum packet_status reassemble(struct packet *pkt, struct ipfrag_table *frags, const struct ipfrag_key *key,
                                     const struct ipfrag_piece *piece, struct l4_in *in)
{
    pkt->ip_fragment = true;
    if (!frags)
        return PKT_FRAG_HELD;
    const uint8_t *data = NULL;
    uint32_t len = 0;
    uint8_t proto = 0;
    switch (ipfrag_add(frags, key, pkt->ts_us, piece, &data, &len, &proto)) {
    case IPFRAG_HELD:
        return PKT_FRAG_HELD;
    case IPFRAG_DROPPED:
        return PKT_FRAG_DROPPED;
    case IPFRAG_COMPLETE:
        break;
    }
    pkt->ip_reassembled = true;
    in->short_st = PKT_MALFORMED; /* the whole datagram is here */
    in->proto = proto;
    in->w = wire_make(data, len);
    in->wire_len = len;
    return PKT_OK;
}

/* Bytes the frame had on the wire beyond what was captured (snaplen). */
static size_t wire_beyond_capture(const struct packet *pkt)
{
    return pkt->wirelen > pkt->caplen ? pkt->wirelen - pkt->caplen : 0;
}

static enum packet_status decode_ipv4(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    size_t captured = wire_left(w);
    uint8_t vihl = wire_u8(w);
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    if ((vihl >> 4) != 4)
        return PKT_MALFORMED;
    uint32_t hdr_len = (uint32_t)(vihl & 0x0F) * 4;
    wire_skip(w, 1); /* DSCP/ECN */
    uint32_t total = wire_u16be(w);
    uint16_t id = wire_u16be(w);
    uint16_t frag = wire_u16be(w);
    pkt->ip_ttl = wire_u8(w);
    uint8_t proto = wire_u8(w);
    wire_skip(w, 2); /* checksum */
    const uint8_t *src = wire_bytes(w, 4);
    const uint8_t *dst = wire_bytes(w, 4);
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    put_addr(&pkt->src, 4, src);
    put_addr(&pkt->dst, 4, dst);
    pkt->ip_proto = proto;
    if (hdr_len < 20)
        return PKT_MALFORMED;
    /* Total length 0 is what TCP segmentation offload leaves in captures
     * taken on the sender: the captured length is then the best truth. */
    if (total == 0)
        total = captured > 0xFFFF ? 0xFFFF : (uint32_t)captured;
    if (total < hdr_len)
        return PKT_MALFORMED;
    /* A total length beyond the frame as it was on the wire is a lie (or a
     * fuzzer); like tshark, believe the frame.  A snaplen cut is not a lie:
     * those bytes were sent. */
    size_t on_wire = captured + wire_beyond_capture(pkt);
    if (total > on_wire) {
        total = (uint32_t)on_wire;
        pkt->ip_len_clamped = true;
        if (total < hdr_len)
            return PKT_MALFORMED;
    }
    if (!wire_skip(w, hdr_len - 20))
        return PKT_TRUNCATED;

    struct l4_in in = { .proto = proto, .v6 = false, .wire_len = total - hdr_len, .frags = frags };
    in.short_st = wire_left(w) < in.wire_len ? PKT_TRUNCATED : PKT_MALFORMED;
    in.w = wire_window(w, w->off, min_u32((uint32_t)wire_left(w), in.wire_len));

    uint32_t offset = (uint32_t)(frag & 0x1FFF) * 8;
    bool more = (frag & 0x2000) != 0;
    if (offset != 0 || more) {
        if (wire_left(&in.w) < in.wire_len) {
            pkt->ip_fragment = true;
            return PKT_TRUNCATED; /* a cut fragment can never complete a datagram */
        }
        struct ipfrag_key key = { .src = pkt->src, .dst = pkt->dst, .id = id, .proto = proto };
        struct ipfrag_piece piece = { .offset = offset, .more = more, .data = in.w.p, .len = in.wire_len,
                                      .next_proto = proto };
        enum packet_status st = reassemble(pkt, frags, &key, &piece, &in);
        if (st != PKT_OK)
            return st;
    }
    return decode_l4(pkt, &in);
}

/* Skip IPv6 extension headers starting with next header *nh; stops at the
 * first header that is not one (the transport), leaving *nh on it.  Used for
 * ICMPv6-quoted packets, where a fragment header is stepped over: a
 * non-first fragment sets *is_fragment_tail.  False when bytes run out. */
static bool ipv6_ext_skip(struct wire *w, uint8_t *nh, bool *is_fragment_tail)
{
    for (int i = 0; i < MAX_IPV6_EXT; i++) {
        switch (*nh) {
        case IPPROTO_V6_HOPOPTS:
        case IPPROTO_V6_ROUTING:
        case IPPROTO_V6_DSTOPTS: {
            uint8_t next = wire_u8(w);
            uint8_t len = wire_u8(w);
            if (!wire_skip(w, (size_t)len * 8 + 6))
                return false;
            *nh = next;
            break;
        }
        case IPPROTO_V_AH: {
            uint8_t next = wire_u8(w);
            uint8_t len = wire_u8(w);
            if (!wire_skip(w, ((size_t)len + 2) * 4 - 2))
                return false;
            *nh = next;
            break;
        }
        case IPPROTO_V6_FRAGMENT: {
            uint8_t next = wire_u8(w);
            wire_skip(w, 1);
            uint16_t offlg = wire_u16be(w);
            wire_skip(w, 4);
            if (!wire_ok(w))
                return false;
            if ((offlg & 0xFFF8) != 0)
                *is_fragment_tail = true;
            *nh = next;
            break;
        }
        default:
            return wire_ok(w);
        }
    }
    return wire_ok(w);
}

static enum packet_status decode_ipv6(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    if (!wire_has(w, 40))
        return wire_left(w) > 0 && (wire_peek_u8(w, 0) >> 4) != 6 ? PKT_MALFORMED : PKT_TRUNCATED;
    uint32_t vtf = wire_u32be(w);
    if ((vtf >> 28) != 6)
        return PKT_MALFORMED;
    uint32_t plen = wire_u16be(w);
    uint8_t nh = wire_u8(w);
    pkt->ip_ttl = wire_u8(w);
    put_addr(&pkt->src, 6, wire_bytes(w, 16));
    put_addr(&pkt->dst, 6, wire_bytes(w, 16));
    pkt->ip_proto = nh;
    /* Payload length 0: a jumbogram (RFC 2675) or offloaded segment; the
     * captured bytes are all we can go by. */
    size_t on_wire = wire_left(w) + wire_beyond_capture(pkt);
    if (plen == 0)
        plen = (uint32_t)(wire_left(w) > UINT32_MAX ? UINT32_MAX : wire_left(w));
    else if (plen > on_wire) {
        plen = (uint32_t)on_wire; /* as for IPv4: the frame on the wire wins */
        pkt->ip_len_clamped = true;
    }

    struct l4_in in = { .v6 = true, .wire_len = plen, .frags = frags };
    in.short_st = wire_left(w) < plen ? PKT_TRUNCATED : PKT_MALFORMED;
    in.w = wire_window(w, w->off, min_u32((uint32_t)wire_left(w), plen));
    bool reassembled = false;

    for (int i = 0;; i++) {
        if (i == MAX_IPV6_EXT)
            return PKT_MALFORMED;
        pkt->ip_proto = nh;
        switch (nh) {
        case IPPROTO_V6_HOPOPTS:
        case IPPROTO_V6_ROUTING:
        case IPPROTO_V6_DSTOPTS:
        case IPPROTO_V_AH: {
            uint8_t next = wire_u8(&in.w);
            uint8_t len = wire_u8(&in.w);
            size_t hdr = nh == IPPROTO_V_AH ? ((size_t)len + 2) * 4 : ((size_t)len + 1) * 8;
            wire_skip(&in.w, hdr - 2);
            if (!wire_ok(&in.w))
                return in.short_st;
            if (hdr > in.wire_len)
                return PKT_MALFORMED;
            in.wire_len -= (uint32_t)hdr;
            nh = next;
            continue;
        }
        case IPPROTO_V6_FRAGMENT: {
            uint8_t next = wire_u8(&in.w);
            wire_skip(&in.w, 1);
            uint16_t offlg = wire_u16be(&in.w);
            uint32_t id = wire_u32be(&in.w);
            if (!wire_ok(&in.w))
                return in.short_st;
            if (in.wire_len < 8 || reassembled)
                return PKT_MALFORMED;
            in.wire_len -= 8;
            nh = next;
            uint32_t offset = offlg & 0xFFF8;
            bool more = (offlg & 1) != 0;
            if (offset == 0 && !more)
                continue; /* atomic fragment (RFC 6946): an ordinary packet */
            if (wire_left(&in.w) < in.wire_len) {
                pkt->ip_fragment = true;
                return PKT_TRUNCATED;
            }
            struct ipfrag_key key = { .src = pkt->src, .dst = pkt->dst, .id = id, .proto = 0 };
            struct ipfrag_piece piece = { .offset = offset, .more = more, .data = wire_window(&in.w, in.w.off, in.wire_len).p,
                                          .len = in.wire_len, .next_proto = next };
            pkt->ip_proto = next;
            enum packet_status st = reassemble(pkt, frags, &key, &piece, &in);
            if (st != PKT_OK)
                return st;
            nh = in.proto;
            reassembled = true;
            continue;
        }
        case IPPROTO_V6_NONE:
            pkt->l4 = L4_OTHER;
            return PKT_OK;
        default:
            break;
        }
        break;
    }
    in.proto = nh;
    return decode_l4(pkt, &in);
}

/* ------------------------------------------------------------------ link */

/* Follow EtherTypes through VLAN tags and LLC/SNAP to the network layer. */
static enum packet_status decode_ethertype(struct packet *pkt, struct wire *w, uint16_t type,
                                           struct ipfrag_table *frags);

#define LLC_SAP_IPX 0xE0

/* An IPX packet (not IP: not analysed further) tells its sockets, so the
 * NetBIOS ledger can count NetBIOS over IPX (socket 0x0455).  IPX header:
 * checksum, length, transport control, type, destination network/node/
 * socket (at 16), source network/node/socket (at 28). */
static enum packet_status note_ipx(struct packet *pkt, const struct wire *w)
{
    pkt->link_proto = ETH_IPX;
    pkt->ipx = true;
    struct wire h = wire_window(w, w->off, wire_left(w));
    if (wire_skip(&h, 16)) {
        pkt->ipx_dst_socket = wire_u16be(&h);
        if (wire_skip(&h, 10))
            pkt->ipx_src_socket = wire_u16be(&h);
    }
    return PKT_NOT_IP;
}

/* 802.2 LLC (after an 802.3 length, or Linux cooked 0x0004): SNAP carries an
 * EtherType on; anything else (NetBEUI 0xF0, IPX 0xE0, STP 0x42) is not IP. */
static enum packet_status decode_llc(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    if (wire_peek_u8(w, 0) == 0xFF && wire_peek_u8(w, 1) == 0xFF && wire_has(w, 2))
        return note_ipx(pkt, w); /* Novell raw 802.3: IPX checksum 0xFFFF, no LLC */
    uint8_t dsap = wire_u8(w);
    uint8_t ssap = wire_u8(w);
    uint8_t ctrl = wire_u8(w);
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    pkt->llc = true;
    pkt->llc_dsap = dsap;
    if (dsap == 0xAA && ssap == 0xAA && ctrl == 0x03) {
        wire_skip(w, 3); /* OUI */
        uint16_t type = wire_u16be(w);
        if (!wire_ok(w))
            return PKT_TRUNCATED;
        return decode_ethertype(pkt, w, type, frags);
    }
    if (dsap == LLC_SAP_IPX)
        return note_ipx(pkt, w);
    return PKT_NOT_IP;
}

static enum packet_status decode_ethertype(struct packet *pkt, struct wire *w, uint16_t type,
                                           struct ipfrag_table *frags)
{
    while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
        if (pkt->vlan_depth == MAX_VLAN_DEPTH)
            return PKT_MALFORMED;
        uint16_t tci = wire_u16be(w);
        type = wire_u16be(w);
        if (!wire_ok(w))
            return PKT_TRUNCATED;
        if (pkt->vlan_depth++ == 0)
            pkt->vlan_id = tci & 0x0FFF;
    }
    pkt->link_proto = type;
    switch (type) {
    case ETH_IPV4:
        return decode_ipv4(pkt, w, frags);
    case ETH_IPV6:
        return decode_ipv6(pkt, w, frags);
    case ETH_IPX:
        return note_ipx(pkt, w);
    default:
        if (type <= ETH_MAX_LENGTH) {
            pkt->link_proto = 0;
            return decode_llc(pkt, w, frags);
        }
        return PKT_NOT_IP;
    }
}

static enum packet_status link_ethernet(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    wire_skip(w, 12); /* destination, source */
    uint16_t type = wire_u16be(w);
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    return decode_ethertype(pkt, w, type, frags);
}

static enum packet_status sll_protocol(struct packet *pkt, struct wire *w, uint16_t proto,
                                       struct ipfrag_table *frags)
{
    if (proto == SLL_PROTO_8022)
        return decode_llc(pkt, w, frags);
    if (proto == SLL_PROTO_8023)
        return note_ipx(pkt, w);
    return decode_ethertype(pkt, w, proto, frags);
}

/* Linux cooked v1: packet type, ARPHRD, address length, 8 address bytes, protocol. */
static enum packet_status link_sll(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    wire_skip(w, 14);
    uint16_t proto = wire_u16be(w);
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    return sll_protocol(pkt, w, proto, frags);
}

/* Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 address bytes. */
static enum packet_status link_sll2(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    uint16_t proto = wire_u16be(w);
    wire_skip(w, 18);
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    return sll_protocol(pkt, w, proto, frags);
}

/* BSD loopback: a 4-byte address family, host order for DLT_NULL (whoever
 * wrote the file) and network order for DLT_LOOP; families are small, so the
 * order shows in which half is zero.  IPv6 is 24 (NetBSD/OpenBSD), 28
 * (FreeBSD) or 30 (macOS). */
static enum packet_status link_null(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    uint32_t fam = wire_u32be(w);
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    if ((fam & 0xFFFF0000u) != 0)
        fam = ((fam & 0xFF) << 24) | ((fam & 0xFF00) << 8) | ((fam >> 8) & 0xFF00) | (fam >> 24);
    switch (fam) {
    case 2:
        return decode_ipv4(pkt, w, frags);
    case 24:
    case 28:
    case 30:
        return decode_ipv6(pkt, w, frags);
    default:
        return PKT_NOT_IP;
    }
}

static enum packet_status link_raw(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    if (!wire_has(w, 1))
        return PKT_TRUNCATED;
    switch (wire_peek_u8(w, 0) >> 4) {
    case 4:
        return decode_ipv4(pkt, w, frags);
    case 6:
        return decode_ipv6(pkt, w, frags);
    default:
        return PKT_MALFORMED;
    }
}

static enum packet_status link_ipv4(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    return decode_ipv4(pkt, w, frags);
}

static enum packet_status link_ipv6(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    return decode_ipv6(pkt, w, frags);
}

typedef enum packet_status (*link_decoder)(struct packet *, struct wire *, struct ipfrag_table *);

static const struct link_entry {
    int dlt;
    link_decoder decode;
} link_table[] = {
    { DLT_EN10MB, link_ethernet },
    { DLT_LINUX_SLL, link_sll },
    { DLT_LINUX_SLL2, link_sll2 },
    { DLT_NULL, link_null },
    { DLT_LOOP, link_null },
    { DLT_RAW, link_raw },
    { DLT_RAW_OPENBSD, link_raw },
    { LINKTYPE_RAW_FILE, link_raw },
    { DLT_IPV4, link_ipv4 },
    { DLT_IPV6, link_ipv6 },
};

static link_decoder link_find(int dlt)
{
    for (size_t i = 0; i < sizeof link_table / sizeof link_table[0]; i++)
        if (link_table[i].dlt == dlt)
            return link_table[i].decode;
    return NULL;
}

bool packet_linktype_supported(int dlt)
{
    return link_find(dlt) != NULL;
}

enum packet_status packet_decode(int dlt, const struct capture_record *rec, struct ipfrag_table *frags,
                                 struct packet *out)
{
    memset(out, 0, sizeof *out);
    out->ts_us = rec->ts_us;
    out->frame = rec->frame;
    out->caplen = rec->caplen;
    out->wirelen = rec->wirelen;
    link_decoder decode = link_find(dlt);
    if (!decode)
        return PKT_UNSUPPORTED_LINK;
    struct wire w = wire_make(rec->data, rec->caplen);
    return decode(out, &w, frags);
}
