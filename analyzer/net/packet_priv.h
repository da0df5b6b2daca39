/* packet_priv.h - what the three layers of packet_decode() share: the
 * link layer (packet.c), IP (packet_ip.c) and the transports inside IP
 * (packet_l4.c), which call each other for tunnels. */
#ifndef SMBSCOPE_PACKET_PRIV_H
#define SMBSCOPE_PACKET_PRIV_H

#include <string.h>

#include "packet.h"
#include "wire.h"

struct ipfrag_table;

#define MAX_VLAN_DEPTH 8   /* stacked 802.1Q/802.1ad tags we follow before giving up */
/* Tunnels (GRE, ERSPAN, IP in IP, VXLAN, Geneve, an MPLS pseudowire) inside
 * each other at most: the innermost packet is analysed; a deeper one is a
 * decode loss (malformed), never silently another protocol. */
#define MAX_TUNNEL_DEPTH 4
#define MAX_IPV6_EXT 16    /* IPv6 extension headers we follow before giving up */

enum {
    ETH_IPV4 = 0x0800,
    ETH_ARP = 0x0806,
    ETH_VLAN = 0x8100,
    ETH_IPX = 0x8137,
    ETH_IPV6 = 0x86DD,
    ETH_QINQ = 0x88A8,
    ETH_QINQ_OLD = 0x9100,
    ETH_MPLS = 0x8847,
    ETH_MPLS_MC = 0x8848,
    ETH_PPPOE_SESSION = 0x8864,
    ETH_MAX_LENGTH = 1500,   /* values up to here are 802.3 lengths: an LLC header follows */
    SLL_PROTO_8023 = 0x0001, /* Linux cooked: Novell "raw 802.3" (IPX) */
    SLL_PROTO_8022 = 0x0004, /* Linux cooked: 802.2 LLC frame */
};

enum {
    IPPROTO_V6_HOPOPTS = 0,
    IPPROTO_V4_ICMP = 1,
    IPPROTO_V_IPIP = 4,
    IPPROTO_V_TCP = 6,
    IPPROTO_V_UDP = 17,
    IPPROTO_V_IPV6 = 41,
    IPPROTO_V6_ROUTING = 43,
    IPPROTO_V6_FRAGMENT = 44,
    IPPROTO_V_GRE = 47,
    IPPROTO_V_ESP = 50,
    IPPROTO_V_AH = 51,
    IPPROTO_V_MPLS = 137, /* MPLS in IP (RFC 4023) */
    IPPROTO_V_ETHERIP = 97,   /* RFC 3378: a 2-octet header, then an Ethernet frame */
    IPPROTO_V_IPCOMP = 108,   /* RFC 3173: IP payload compression */
    IPPROTO_V_ETHERNET = 143, /* RFC 8986: an Ethernet frame (SRv6 L2 services) */
    IPPROTO_V6_ICMP = 58,
    IPPROTO_V6_NONE = 59,
    IPPROTO_V6_DSTOPTS = 60,
    IPPROTO_V_SCTP = 132,
    ICMP4_UNREACH = 3,
    ICMP6_UNREACH = 1,
};

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

#define VXLAN_PORT 4789     /* RFC 7348; what cloud traffic mirroring (AWS VPC, Azure vTAP) delivers */
#define VXLAN_GPE_PORT 4790 /* draft-ietf-nvo3-vxlan-gpe: a next-protocol field */
#define GENEVE_PORT 6081    /* RFC 8926 */
#define MPLS_UDP_PORT 6635  /* RFC 7510 */
#define GTPU_PORT 2152      /* 3GPP TS 29.281 */
#define TEREDO_PORT 3544    /* RFC 4380 */
#define L2TP_PORT 1701      /* RFC 2661 */
#define NATT_PORT 4500      /* RFC 3948: IPsec ESP in UDP (NAT traversal), either direction */

/* A UDP port whose datagrams carry a packet (decode_udp,
 * packet_udp_tunnel.c): as tshark's dissectors registered on udp.port, the
 * source port or the destination (pkt_udp_carrier() says which). */
static inline bool pkt_udp_tunnel_port(uint16_t port)
{
    switch (port) {
    case VXLAN_PORT:
    case VXLAN_GPE_PORT:
    case GENEVE_PORT:
    case MPLS_UDP_PORT:
    case GTPU_PORT:
    case TEREDO_PORT:
    case L2TP_PORT:
        return true;
    default:
        return false;
    }
}

/* What a tunnel carries, beside EtherTypes (ETH_IPV4, ETH_IPV6, ETH_MPLS
 * ...): an Ethernet frame (GRE's and Geneve's "transparent Ethernet
 * bridging"), a PPP frame (GRE's PPP type). */
#define PKT_INNER_ETHERNET 0x6558u
#define PKT_INNER_PPP 0x880Bu

/* The packet a UDP tunnel's datagram carries (packet_udp_tunnel.c): w (its
 * captured payload, len octets sent) read past the tunnel's header, what
 * is inside named as above; 0 when the header does not say (or was not
 * captured: w then failed).  *declined: the tunnel is one whose header is
 * checked (GTP-U, Teredo, L2TP) and this datagram's is not its: as tshark's
 * dissector rejecting it, the datagram's other port is tried. */
uint16_t pkt_udp_tunnel_inner(uint16_t port, struct wire *w, size_t len, bool *declined);

/* Follow EtherTypes through VLAN tags and LLC/SNAP to the network layer
 * (packet.c): what an Ethernet header, Geneve or VXLAN-GPE names. */
enum packet_status pkt_decode_ethertype(struct packet *pkt, struct wire *w, uint16_t type, struct ipfrag_table *frags);

/* UDP ports smbscope reads as the datagram itself: NetBIOS (137-139), DNS,
 * mDNS and LLMNR (the census's names).  Not QUIC's 443: tshark's UDP has no
 * dissector on that port (QUIC is one of its heuristics, tried after both
 * ports' tables), so a tunnel on the other port opens the datagram first. */
static inline bool pkt_udp_plain_port(uint16_t port)
{
    return (port >= 137 && port <= 139) || port == 53 || port == 5353 || port == 5355;
}

/* The ports by which decode_udp() may open a datagram (a tunnel's of
 * pkt_udp_tunnel_port() or NAT-T's) into by[], in the order it tries them;
 * their number (0-2).  As tshark's UDP, the lower port first, then the
 * higher: a plain port (above) keeps the datagram as it is and ends the
 * list; a tunnel whose header is checked and does not match (GTP-U,
 * Teredo, L2TP: *declined in pkt_udp_tunnel_inner()) gives way to the
 * next.  Review: a client whose ephemeral port was 4789 sent NBNS to 137,
 * opened as VXLAN: PASS, where tshark and the plugin showed the NBNS query;
 * a VXLAN datagram from port 1701 or 2152 stayed UDP, its NBNS unseen;
 * Teredo, Geneve 1 or VXLAN with a reserved flag to or from 443 (their
 * first octet has QUIC's fixed bit) was kept as QUIC: PASS where tshark
 * opened the tunnel and showed NBSS.  A QUIC endpoint on a tunnel's port
 * would have to use a port below every system's ephemeral range.  MPLS in
 * UDP only by its destination (RFC 7510: the source port is entropy). */
static inline int pkt_udp_carriers(uint16_t sport, uint16_t dport, uint16_t by[2])
{
    uint16_t order[2] = { sport < dport ? sport : dport, sport < dport ? dport : sport };
    int n = 0;
    for (int i = 0; i < 2 && (i == 0 || order[1] != order[0]); i++) {
        uint16_t p = order[i];
        if (pkt_udp_plain_port(p))
            break;
        if ((pkt_udp_tunnel_port(p) && (p != MPLS_UDP_PORT || p == dport)) || p == NATT_PORT)
            by[n++] = p;
    }
    return n;
}

/* Whether decode_udp() may open the datagram: a frame (VXLAN, VXLAN-GPE,
 * Geneve ...), ESP (UDP-encapsulated IPsec).  From its ports alone: as if
 * it were no QUIC. */
static inline bool pkt_udp_opens(uint16_t sport, uint16_t dport)
{
    uint16_t by[2];
    return pkt_udp_carriers(sport, dport, by) != 0;
}

/* One more tunnel layer, or false when the packet is already MAX_TUNNEL_DEPTH
 * deep (the caller returns PKT_MALFORMED: a loss, not another protocol). */
static inline bool pkt_tunnel_enter(struct packet *pkt)
{
    if (pkt->tunnel_depth >= MAX_TUNNEL_DEPTH)
        return false;
    pkt->tunnel_depth++;
    return true;
}

static inline void put_addr(struct ip_addr *a, uint8_t family, const uint8_t *bytes)
{
    memset(a, 0, sizeof *a);
    if (!bytes)
        return;
    a->family = family;
    memcpy(a->bytes, bytes, family == 4 ? 4 : 16);
}

static inline uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* packet.c */
enum packet_status pkt_link_ethernet(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
/* An EtherType's packet (through VLAN tags), an 802.2 LLC frame's (SNAP
 * to an EtherType), a frame of link type dlt (PKT_UNSUPPORTED_LINK when
 * not decoded). */
enum packet_status pkt_decode_ethertype(struct packet *pkt, struct wire *w, uint16_t type, struct ipfrag_table *frags);
enum packet_status pkt_decode_llc(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
enum packet_status pkt_link_by_dlt(int dlt, struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
/* packet_link.c: 802.11 (bare, radiotap, PPI), PPP, Cisco HDLC, NFLOG */
enum packet_status pkt_link_wlan(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
/* the A-MSDU subframe at w (w over the whole record, at pkt->link_next) */
enum packet_status pkt_link_amsdu_next(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
/* the A-MSDU subframe at offset at of the MSDU the 802.11 reassembly
 * completed last (pkt->link_reasm) */
enum packet_status pkt_link_amsdu_reasm_next(struct packet *pkt, uint32_t at, struct ipfrag_table *frags);
enum packet_status pkt_link_radiotap(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
enum packet_status pkt_link_ppi(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
enum packet_status pkt_link_ppp(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
enum packet_status pkt_link_chdlc(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
enum packet_status pkt_link_nflog(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
/* PPP's protocol field and its packet (PPP links and PPPoE) */
enum packet_status pkt_decode_ppp(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
struct capture_record;
/* packet_decode() without its one-pass path for Ethernet/IPv4/TCP|UDP (tests
 * compare the two), and that path alone (out prepared as packet_decode()
 * does: zeroed, the record's fields set). */
enum packet_status pkt_decode_layers(int dlt, const struct capture_record *rec, struct ipfrag_table *frags,
                                     struct packet *out);
bool pkt_fast_eth_ipv4(const struct capture_record *rec, struct packet *out);
/* packet_ip.c */
enum packet_status pkt_decode_ipv4(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
/* ... a PPP VJ-uncompressed TCP packet: IPv4 whose protocol octet is a slot */
enum packet_status pkt_decode_ipv4_vj(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
enum packet_status pkt_decode_ipv6(struct packet *pkt, struct wire *w, struct ipfrag_table *frags);
bool pkt_ipv6_ext_skip(struct wire *w, uint8_t *nh, bool *is_fragment_tail);
/* One IPv6 extension header at in->w (hop-by-hop, routing, destination
 * options or AH: *nh) stepped over: *nh its next header, in->wire_len
 * less its length; in->short_st when its bytes run out, PKT_MALFORMED
 * when it is longer than what is left of the payload.  pkt_decode_ipv6()
 * and, after merge puts a datagram together, ipfrag_decode(). */
enum packet_status pkt_ipv6_ext_step(struct l4_in *in, uint8_t *nh);
/* packet_l4.c */
enum packet_status pkt_decode_l4(struct packet *pkt, struct l4_in *in);
/* packet_esp.c: NULL-encrypted ESP opened, else PKT_ENCRYPTED_ESP */
enum packet_status pkt_decode_esp(struct packet *pkt, struct l4_in *in);
/* a UDP datagram to or from port 4500 (pkt's UDP fields set): ESP unless an
 * IKE message (a zero non-ESP marker) or a NAT keep-alive (0xFF) */
enum packet_status pkt_decode_udp_esp(struct packet *pkt, struct l4_in *in);

#endif
