/* packet.c - link layer -> IPv4/IPv6 (+fragments) -> TCP/UDP/ICMP headers;
 * this file holds the link layers and packet_decode(), IP is in
 * packet_ip.c and the transports in packet_l4.c.
 *
 * Every byte is read through dissector/wire.h.  Two windows matter for each
 * layer: what was captured (the cursor) and what the IP header says was sent
 * (a byte count), so a segment cut by the snaplen shows up as
 * payload_len < payload_wire_len instead of vanishing. */
#include "packet_priv.h"

#include <pcap/dlt.h>

#include "capture.h"

#define LINKTYPE_RAW_FILE 101  /* libpcap maps it to DLT_RAW; accept it if handed raw */
#define DLT_RAW_OPENBSD 14
/* LINKTYPE_ values (pcap files; libpcap hands DLT_PPP_SERIAL as 50 and
 * DLT_C_HDLC as 104 on every platform) */
#define LINKTYPE_PPP 9
#define LINKTYPE_PPP_HDLC 50
#define LINKTYPE_C_HDLC 104
#define LINKTYPE_IEEE802_11 105
#define LINKTYPE_RADIOTAP 127
#define LINKTYPE_PPI 192
#define LINKTYPE_NFLOG 239

static const char *const status_names[PKT_STATUS_COUNT] = {
    [PKT_OK] = "ok",
    [PKT_NOT_IP] = "not-ip",
    [PKT_TRUNCATED] = "truncated",
    [PKT_MALFORMED] = "malformed",
    [PKT_FRAG_HELD] = "fragment-held",
    [PKT_FRAG_DROPPED] = "fragment-dropped",
    [PKT_UNSUPPORTED_LINK] = "unsupported-link",
    [PKT_ENCRYPTED_LINK] = "encrypted-link",
    [PKT_ENCRYPTED_ESP] = "encrypted-esp",
};

const char *packet_status_name(enum packet_status st)
{
    return (unsigned)st < PKT_STATUS_COUNT ? status_names[st] : "unknown";
}

/* ------------------------------------------------------------------ link */


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
enum packet_status pkt_decode_llc(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
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
        return pkt_decode_ethertype(pkt, w, type, frags);
    }
    if (dsap == LLC_SAP_IPX)
        return note_ipx(pkt, w);
    return PKT_NOT_IP;
}

/* IPv4 or IPv6 by the version nibble of the packet at w (raw IP, what an
 * MPLS stack ends with); other: the status of any other nibble. */
static enum packet_status ip_by_version(struct packet *pkt, struct wire *w, struct ipfrag_table *frags,
                                        enum packet_status other)
{
    if (!wire_has(w, 1))
        return PKT_TRUNCATED;
    switch (wire_peek_u8(w, 0) >> 4) {
    case 4:
        return pkt_decode_ipv4(pkt, w, frags);
    case 6:
        return pkt_decode_ipv6(pkt, w, frags);
    default:
        return other;
    }
}

#define MPLS_MAX_LABELS 16
#define MPLS_BOTTOM_OF_STACK 0x01 /* in the label entry's third octet */

/* An MPLS label stack (RFC 3032) to its bottom, then what the first nibble
 * says, as tshark's default: 4 IPv4, 6 IPv6, 0 the pseudowire control word
 * (RFC 4385) and an Ethernet frame (RFC 4448), anything else an Ethernet
 * frame without the control word (tshark's heuristic): a payload that is
 * neither stays decoded as far as it goes, never dropped unseen. */
#define ETH_MIN_PAYLOAD 46u /* an 802.3 frame's data padded to it */
#define ETH_FCS 4u

/* Whether an Ethernet frame at `off` of w opens with what it says: an
 * IPv4 or IPv6 EtherType (behind up to one VLAN tag) and the version of the
 * header after it, or an 802.3 length that fits the rest of the payload
 * (with or without an FCS, or padded to the minimum frame) followed by an
 * LLC header (NetBEUI, IPX ...). */
static bool frame_at(const struct wire *w, size_t off)
{
    if (wire_left(w) < off + 17)
        return false;
    const uint8_t *p = w->p + w->off + off;
    size_t rest = wire_left(w) - off - 14;
    uint16_t type = load_u16be(p + 12);
    if (type <= ETH_MAX_LENGTH)
        return type >= 3 && (rest == type || rest == type + ETH_FCS ||
                             (type < ETH_MIN_PAYLOAD && (rest == ETH_MIN_PAYLOAD || rest == ETH_MIN_PAYLOAD + ETH_FCS)));
    if ((type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) && rest >= 5) {
        type = load_u16be(p + 16);
        p += 4;
    }
    return (type == ETH_IPV4 && p[14] >> 4 == 4) || (type == ETH_IPV6 && p[14] >> 4 == 6);
}

/* A pseudowire payload whose first nibble is 0: a control word, or an
 * Ethernet frame without one whose destination MAC starts with 0 (most
 * vendors' OUIs: 00:50:56, 00:0c:29 ...).  Wireshark tells them by its
 * vendor table and the EtherType; here by the EtherType (or 802.3 length)
 * and what follows it in each reading (review: such a frame was read past
 * a control word that was not there, not IP, and a pseudowire carrying
 * NBNS, then NetBEUI, passed).  Without a control word only when that
 * reading holds and the other does not. */
static bool pw_without_cw(const struct wire *w) { return frame_at(w, 0) && !frame_at(w, 4); }

static enum packet_status decode_mpls(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    for (int i = 0;; i++) {
        if (i == MPLS_MAX_LABELS)
            return PKT_MALFORMED;
        const uint8_t *e = wire_bytes(w, 4);
        if (!e)
            return PKT_TRUNCATED;
        if (e[2] & MPLS_BOTTOM_OF_STACK)
            break;
    }
    if (!wire_has(w, 1))
        return PKT_TRUNCATED;
    unsigned nibble = wire_peek_u8(w, 0) >> 4;
    if (nibble == 4 || nibble == 6)
        return ip_by_version(pkt, w, frags, PKT_MALFORMED);
    if (nibble == 0 && !pw_without_cw(w) && !wire_skip(w, 4))
        return PKT_TRUNCATED;
    if (!pkt_tunnel_enter(pkt))
        return PKT_MALFORMED;
    return pkt_link_ethernet(pkt, w, frags);
}

#define PPPOE_HEADER 6

/* A PPPoE session frame (RFC 2516): version/type, code, session, length,
 * then PPP (packet_link.c). */
static enum packet_status decode_pppoe(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    if (!wire_skip(w, PPPOE_HEADER))
        return PKT_TRUNCATED;
    return pkt_decode_ppp(pkt, w, frags);
}

enum packet_status pkt_decode_ethertype(struct packet *pkt, struct wire *w, uint16_t type, struct ipfrag_table *frags)
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
        return pkt_decode_ipv4(pkt, w, frags);
    case ETH_IPV6:
        return pkt_decode_ipv6(pkt, w, frags);
    case ETH_IPX:
        return note_ipx(pkt, w);
    case ETH_MPLS:
    case ETH_MPLS_MC:
        return decode_mpls(pkt, w, frags);
    case ETH_PPPOE_SESSION:
        return decode_pppoe(pkt, w, frags);
    case PKT_INNER_ETHERNET: /* transparent Ethernet bridging: a frame in a frame (Cisco serial bridging ...) */
        if (!pkt_tunnel_enter(pkt))
            return PKT_MALFORMED;
        return pkt_link_ethernet(pkt, w, frags);
    default:
        if (type <= ETH_MAX_LENGTH) {
            pkt->link_proto = 0;
            return pkt_decode_llc(pkt, w, frags);
        }
        return PKT_NOT_IP;
    }
}

enum packet_status pkt_link_ethernet(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    wire_skip(w, 12); /* destination, source */
    uint16_t type = wire_u16be(w);
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    return pkt_decode_ethertype(pkt, w, type, frags);
}

static enum packet_status sll_protocol(struct packet *pkt, struct wire *w, uint16_t proto,
                                       struct ipfrag_table *frags)
{
    if (proto == SLL_PROTO_8022)
        return pkt_decode_llc(pkt, w, frags);
    if (proto == SLL_PROTO_8023)
        return note_ipx(pkt, w);
    return pkt_decode_ethertype(pkt, w, proto, frags);
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
        return pkt_decode_ipv4(pkt, w, frags);
    case 24:
    case 28:
    case 30:
        return pkt_decode_ipv6(pkt, w, frags);
    default:
        return PKT_NOT_IP;
    }
}

static enum packet_status link_raw(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    return ip_by_version(pkt, w, frags, PKT_MALFORMED);
}

static enum packet_status link_ipv4(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    return pkt_decode_ipv4(pkt, w, frags);
}

static enum packet_status link_ipv6(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    return pkt_decode_ipv6(pkt, w, frags);
}

typedef enum packet_status (*link_decoder)(struct packet *, struct wire *, struct ipfrag_table *);

static const struct link_entry {
    int dlt;
    link_decoder decode;
} link_table[] = {
    { DLT_EN10MB, pkt_link_ethernet },
    { DLT_LINUX_SLL, link_sll },
    { DLT_LINUX_SLL2, link_sll2 },
    { DLT_NULL, link_null },
    { DLT_LOOP, link_null },
    { DLT_RAW, link_raw },
    { DLT_RAW_OPENBSD, link_raw },
    { LINKTYPE_RAW_FILE, link_raw },
    { DLT_IPV4, link_ipv4 },
    { DLT_IPV6, link_ipv6 },
    /* packet_link.c */
    { LINKTYPE_IEEE802_11, pkt_link_wlan },
    { LINKTYPE_RADIOTAP, pkt_link_radiotap },
    { LINKTYPE_PPI, pkt_link_ppi },
    { LINKTYPE_PPP, pkt_link_ppp },
    { LINKTYPE_PPP_HDLC, pkt_link_ppp },
    { LINKTYPE_C_HDLC, pkt_link_chdlc },
    { LINKTYPE_NFLOG, pkt_link_nflog },
};

static link_decoder link_find(int dlt)
{
    for (size_t i = 0; i < sizeof link_table / sizeof link_table[0]; i++)
        if (link_table[i].dlt == dlt)
            return link_table[i].decode;
    return NULL;
}

enum packet_status pkt_link_by_dlt(int dlt, struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    link_decoder decode = link_find(dlt);
    return decode ? decode(pkt, w, frags) : PKT_UNSUPPORTED_LINK;
}

bool packet_linktype_supported(int dlt)
{
    return link_find(dlt) != NULL;
}

/* The frames nearly every capture is made of, Ethernet II + IPv4 without
 * options nor fragmentation + TCP or UDP with its header captured, in one
 * pass: the layered path (link, IP and transport through wire cursors, each
 * layer checking what the previous one already knows) cost about 320
 * instructions a packet, a sixth of a short connection's analysis (and
 * about 240 a UDP datagram on the 10 %-QUIC bench capture, where a third of
 * the packets are UDP).  out is zeroed with its record's fields set.  Takes
 * the frame only where every check of the layered path passes the same way
 * (the same fields set, test /packet/fast-path-equal); false, with out
 * untouched, for anything else. */
bool pkt_fast_eth_ipv4(const struct capture_record *rec, struct packet *out)
{
    const uint8_t *f = rec->data;
    uint32_t caplen = rec->caplen;
    /* EtherType 0x0800, version 4 with a 20-byte header, protocol TCP or UDP;
     * 8 bytes past the IP header at least (a UDP header) */
    if (!f || caplen < 14 + 20 + 8 || load_u16be(f + 12) != ETH_IPV4 || f[14] != 0x45)
        return false;
    const uint8_t *h = f + 14;
    uint8_t proto = h[9];
    if ((proto != IPPROTO_V_TCP && proto != IPPROTO_V_UDP) || (load_u16be(h + 6) & 0x3FFF)) /* or a fragment */
        return false;
    if (proto == IPPROTO_V_UDP && pkt_udp_opens(load_u16be(h + 20), load_u16be(h + 20 + 2)))
        return false; /* VXLAN, VXLAN-GPE, Geneve or ESP in UDP: the layered path opens it (its ports are in the 42 octets) */
    uint32_t captured = caplen - 14;
    uint32_t total = load_u16be(h + 2);
    if (total == 0) /* TSO on the sender: the frame is the truth (packet_ip.c) */
        total = captured > 0xFFFF ? 0xFFFF : captured;
    uint64_t on_wire = (uint64_t)captured + (rec->wirelen > caplen ? rec->wirelen - caplen : 0);
    bool clamped = total > on_wire;
    if (clamped)
        total = (uint32_t)on_wire;
    const uint8_t *t = h + 20;
    uint32_t ip_payload = total < 20 ? 0 : total - 20;         /* transport bytes sent */
    uint32_t in_ip = min_u32(captured - 20, ip_payload);       /* of which captured */
    uint32_t hdr;                                              /* transport header length */
    uint32_t sent;                                             /* its payload's bytes sent */
    if (proto == IPPROTO_V_TCP) {
        if (total < 20 + 20 || in_ip < 20) /* no room for the TCP header, or it was cut: the layered path says which */
            return false;
        hdr = (uint32_t)(t[12] >> 4) * 4;
        if (hdr < 20 || hdr > in_ip) /* malformed, or options cut by the snaplen */
            return false;
        sent = ip_payload - hdr;
    } else {
        if (in_ip < 8) /* header cut, or no room for it: the layered path says which */
            return false;
        hdr = 8;
        /* the UDP length trims link padding when consistent (packet_l4.c) */
        uint32_t ulen = load_u16be(t + 4);
        sent = ulen >= 8 && ulen <= ip_payload ? ulen - 8 : ip_payload - 8;
    }
    out->src.family = 4;
    memcpy(out->src.bytes, h + 12, 4);
    out->dst.family = 4;
    memcpy(out->dst.bytes, h + 16, 4);
    out->link_proto = ETH_IPV4;
    out->ip_ttl = h[8];
    out->ip_proto = proto;
    out->ip_len_clamped = clamped;
    out->ip_header = h;
    out->ip_header_len = min_u32(captured, total);
    out->sport = load_u16be(t);
    out->dport = load_u16be(t + 2);
    if (proto == IPPROTO_V_TCP) {
        out->l4 = L4_TCP;
        out->seq = load_u32be(t + 4);
        out->ack = load_u32be(t + 8);
        out->tcp_flags = t[13];
        out->window = load_u16be(t + 14);
    } else {
        out->l4 = L4_UDP;
    }
    out->payload_wire_len = sent;
    out->payload_len = min_u32(in_ip - hdr, sent);
    out->payload = out->payload_len ? t + hdr : NULL;
    return true;
}

/* Every packet starts cleared.  Copied from a zero object rather than
 * memset: GCC makes the 176-byte memset a `rep stos`, whose start-up was
 * 70 % of packet_decode's own time in `perf` (3 % of the bench gigabyte
 * with QUIC), where the copy is a few vector loads and stores of a line
 * that stays in L1.  Padding included (static storage is all zero), so a
 * packet compares byte for byte (test /packet/fast-path-equal). */
static const struct packet packet_zero;

static void record_fields(const struct capture_record *rec, struct packet *out)
{
    memcpy(out, &packet_zero, sizeof *out);
    out->ts_us = rec->ts_us;
    out->frame = rec->frame;
    out->caplen = rec->caplen;
    out->wirelen = rec->wirelen;
}

enum packet_status pkt_decode_layers(int dlt, const struct capture_record *rec, struct ipfrag_table *frags,
                                     struct packet *out)
{
    record_fields(rec, out);
    link_decoder decode = link_find(dlt);
    if (!decode)
        return PKT_UNSUPPORTED_LINK;
    struct wire w = wire_make(rec->data, rec->caplen);
    return decode(out, &w, frags);
}

enum packet_status packet_decode_next(const struct capture_record *rec, struct ipfrag_table *frags,
                                      struct packet *out)
{
    uint32_t at = out->link_next, mesh = out->link_mesh;
    bool reasm = out->link_reasm;
    record_fields(rec, out);
    out->link_mesh = mesh & 3u;
    if (reasm)
        return pkt_link_amsdu_reasm_next(out, at, frags);
    struct wire w = wire_make(rec->data, rec->caplen);
    if (!at || !wire_skip(&w, at))
        return PKT_TRUNCATED;
    return pkt_link_amsdu_next(out, &w, frags);
}

enum packet_status packet_decode(int dlt, const struct capture_record *rec, struct ipfrag_table *frags,
                                 struct packet *out)
{
    if (dlt == DLT_EN10MB) {
        record_fields(rec, out);
        if (pkt_fast_eth_ipv4(rec, out))
            return PKT_OK;
        struct wire w = wire_make(rec->data, rec->caplen);
        return pkt_link_ethernet(out, &w, frags);
    }
    return pkt_decode_layers(dlt, rec, frags, out);
}
