/* packet.h - one captured packet decoded down to its transport header.
 *
 * Filled by packet_decode() (analyzer/net/packet.c) from link-layer bytes; read by
 * the flow table (TCP), the NetBIOS ledger (UDP, ICMP) and the reports.  All
 * pointers point into the capture buffer (or the IP reassembly buffer) and are
 * valid only until the next packet is read. */
#ifndef SMBSCOPE_PACKET_H
#define SMBSCOPE_PACKET_H

#include <stdbool.h>
#include <stdint.h>

struct ip_addr {
    uint8_t family; /* 4 or 6; 0 = none */
    uint8_t bytes[16]; /* IPv4 in bytes[0..3], the rest zero */
};

enum {
    TCP_FIN = 0x01,
    TCP_SYN = 0x02,
    TCP_RST = 0x04,
    TCP_PSH = 0x08,
    TCP_ACK = 0x10,
    TCP_URG = 0x20,
};

enum l4_proto {
    L4_NONE = 0,
    L4_TCP,
    L4_UDP,
    L4_ICMP_UNREACH, /* ICMP(v6) destination unreachable carrying an embedded header */
    L4_OTHER,        /* another IP protocol or ICMP type: counted, not analysed */
};

/* The transport header embedded in an ICMP/ICMPv6 destination-unreachable. */
struct icmp_embedded {
    uint8_t type, code;       /* ICMP type/code (v4 or v6 numbering, see family) */
    uint8_t proto;            /* embedded IP protocol number (6 TCP, 17 UDP) */
    struct ip_addr src, dst;  /* of the embedded (original) packet */
    uint16_t sport, dport;
    bool has_ports;           /* the quoted bytes reached the ports (TCP/UDP/SCTP) */
};

/* What packet_decode() made of a frame.  Never fatal: the caller counts. */
enum packet_status {
    PKT_OK = 0,        /* IP (and the transport header, when there is one) decoded */
    PKT_NOT_IP,        /* ARP, IPX, LLC/NetBEUI, ...: see link_proto */
    PKT_TRUNCATED,     /* the capture ends inside a link, IP or transport header */
    PKT_MALFORMED,     /* a header field is impossible (IHL < 5, bad lengths, ...) */
    PKT_FRAG_HELD,     /* an IP fragment kept for reassembly (or no table given) */
    PKT_FRAG_DROPPED,  /* an IP fragment dropped by the reassembly caps: see ipfrag_stats */
    PKT_UNSUPPORTED_LINK,
    PKT_ENCRYPTED_LINK, /* a protected (encrypted) 802.11 data frame: no keys, its payload unread */
    PKT_ENCRYPTED_ESP,  /* IPsec ESP that the NULL-encryption heuristic does not open (packet_esp.c) */
    PKT_STATUS_COUNT
};

struct packet {
    int64_t ts_us;           /* capture timestamp, microseconds since the epoch */
    uint64_t frame;          /* 1-based frame number within its input */
    uint32_t caplen, wirelen;

    struct ip_addr src, dst;
    uint8_t ip_proto;        /* IP protocol number */
    enum l4_proto l4;
    uint16_t sport, dport;

    /* TCP */
    uint32_t seq, ack;
    uint8_t tcp_flags;
    uint16_t window;

    /* TCP/UDP payload as captured.  For ICMP and L4_OTHER: the whole IP
     * payload (the transport message itself).  After reassembly it points
     * into the ipfrag table, valid until the next packet_decode(). */
    const uint8_t *payload;
    uint32_t payload_len;      /* bytes present in the capture */
    uint32_t payload_wire_len; /* bytes the IP header says were sent (>= payload_len;
                                  more when the snaplen cut the packet) */

    struct icmp_embedded icmp; /* when l4 == L4_ICMP_UNREACH */

    /* Link and IP details (for counters and anomaly reports). */
    uint16_t link_proto;       /* EtherType (or SLL protocol) after VLAN tags; 0 for raw IP / loopback */
    bool llc;                  /* an 802.2 LLC frame (not SNAP): see llc_dsap (0xF0 NetBEUI, 0xE0 IPX) */
    bool ipx;                  /* an IPX packet (Ethernet II, raw 802.3, LLC or Linux cooked) */
    uint16_t ipx_src_socket, ipx_dst_socket; /* when ipx and the header was captured (0x0455: NetBIOS) */
    uint8_t llc_dsap;
    uint8_t vlan_depth;        /* 802.1Q/802.1ad tags seen */
    uint8_t tunnel_depth;      /* tunnel layers decapsulated (addresses are the innermost) */
    uint16_t vlan_id;          /* outermost VLAN ID when vlan_depth > 0 */
    uint8_t ip_ttl;            /* TTL / hop limit */
    bool ip_fragment;          /* the frame is an IP fragment (whatever became of it) */
    bool ip_reassembled;       /* payload comes from reassembled fragments */
    bool ip_len_clamped;       /* IP length claimed more than the frame had on the wire: cut to the frame */
    /* The innermost IP header and what was captured of its datagram (up to
     * the IP length), for checks that cover the IP header (the RoCEv2
     * ICRC); NULL after fragment reassembly. */
    const uint8_t *ip_header;
    uint32_t ip_header_len;
    /* An 802.11 A-MSDU of several subframes, one packet each: where the
     * next subframe starts in the record (packet_decode_next()), 0 when
     * this packet was the frame's last; link_mesh: how its subframes are
     * laid out (packet_link.c: an 802.11s mesh A-MSDU's carry a Mesh
     * Control each); link_reasm: the A-MSDU was put together from 802.11
     * fragments, link_next is in that MSDU (wlan_defrag_last()), not in
     * the record.  In the struct's tail padding. */
    uint32_t link_next : 29;
    uint32_t link_reasm : 1;
    uint32_t link_mesh : 2;
};

/* Decode a captured frame of link type dlt (a pcap_datalink() value) into out.
 * frags may be NULL (fragments are then reported as PKT_FRAG_HELD).  Fields
 * are filled as far as decoding got, so a truncated TCP header still gives
 * addresses.  Allocation-free.
 *
 * Snaplen cuts: a TCP header whose fixed 20 bytes were captured but whose
 * options were cut is PKT_OK with payload_len 0; a fragment cut by the
 * snaplen is PKT_TRUNCATED (it could never complete a datagram).  A short
 * read inside the IP length but past the capture is PKT_TRUNCATED; a header
 * that does not fit the IP length is PKT_MALFORMED. */
struct capture_record;
struct ipfrag_table;
enum packet_status packet_decode(int dlt, const struct capture_record *rec, struct ipfrag_table *frags,
                                 struct packet *out);

/* The next packet of a frame that holds several (out->link_next != 0 after
 * packet_decode() or this call: the subframes of an 802.11 A-MSDU, as
 * tshark dissects each one); out is filled as by packet_decode(). */
enum packet_status packet_decode_next(const struct capture_record *rec, struct ipfrag_table *frags,
                                      struct packet *out);

/* Whether packet_decode() knows link type dlt. */
bool packet_linktype_supported(int dlt);

/* Short stable name of a status ("ok", "not-ip", "truncated", ...). */
const char *packet_status_name(enum packet_status st);

#endif
