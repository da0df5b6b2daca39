/* split_route.h - which worker of a flow-hash split (split.h) analyses a
 * record, and whether the record is a TCP packet for the other workers'
 * clocks: a look at the link and IP headers only, no reassembly.
 *
 * TCP goes by the unordered pair of its IP addresses, so every packet of
 * a connection (both directions, every IP fragment: IPv4 and the IPv6
 * fragment header name the protocol in each fragment) and every
 * connection between two hosts (the SYNs to 139 and 445 the NetBT race
 * check pairs) meet in one worker.  An ICMP destination-unreachable that
 * quotes a TCP packet goes with that packet's pair (it marks its flow
 * refused).  A packet inside a tunnel (MPLS, PPPoE, GRE, IP in IP, AH,
 * VXLAN, Geneve) goes by its innermost pair when that is TCP: decoded as
 * one run decodes it, since the analysis keys on the inner addresses and a
 * connection may be tunnelled one way only.  Everything else goes to
 * worker 0: UDP (an NBNS query is broadcast and answered from another
 * address pair; QUIC connections migrate between addresses), other IP
 * protocols and ICMP, frames that are not IP, link types the router does
 * not parse, and what is too short to tell. */
#ifndef SMBSCOPE_SPLIT_ROUTE_H
#define SMBSCOPE_SPLIT_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pcap/dlt.h>

#include "capture.h"
#include "packet_priv.h"

#define SPLIT_IPPROTO_GRE 47 /* packet_l4.c: its inner packet may be TCP */

/* IP protocols packet_l4.c opens to a packet inside, which may be TCP:
 * GRE, IPv4 and IPv6 in IP, AH over IPv4 (its payload is plain). */
static inline bool split_tunnel_proto(uint8_t proto)
{
    return proto == SPLIT_IPPROTO_GRE || proto == IPPROTO_V_IPIP || proto == IPPROTO_V_IPV6 || proto == IPPROTO_V_AH ||
           proto == IPPROTO_V_ESP /* NULL-encrypted ESP is opened (packet_esp.c) */ || proto == IPPROTO_V_MPLS ||
           proto == IPPROTO_V_ETHERIP || proto == IPPROTO_V_ETHERNET;
}

/* A UDP header with a port of VXLAN, VXLAN-GPE, Geneve or ESP in UDP, or one
 * not captured or not in this fragment: decode_udp() may open a frame or
 * an ESP packet that carries TCP. */
static inline bool split_udp_may_tunnel(const uint8_t *udp, size_t captured, bool first_fragment)
{
    return !first_fragment || captured < 4 || pkt_udp_opens(load_u16be(udp), load_u16be(udp + 2));
}

/* 802.11 (bare, radiotap, PPI): an A-MSDU's subframes may be of several
 * connections and a fragment's connection is known only once its MSDU is
 * whole, neither one thread's (packet_link.c): the split gives such a file
 * up, whichever of a pcapng's interfaces is 802.11 (review: an Ethernet
 * interface first, 802.11 second, and --jobs 2 made two connections of
 * one, with stream gaps). */
static inline bool split_link_unsplittable(int dlt) { return dlt == 105 || dlt == 127 || dlt == 192; }

/* Whether packet_decode() makes a TCP packet of the record (PKT_OK,
 * L4_TCP: what one run gives its flow table).  YES and NO are certain,
 * read off the headers where packet_decode() has no other way to go (an
 * IPv4 header whose lengths all hold, or an IP protocol that is neither
 * TCP nor GRE); MAYBE: decode it to know. */
enum split_tcp { SPLIT_TCP_NO, SPLIT_TCP_YES, SPLIT_TCP_MAYBE };

/* The worker (0 .. n-1) for a record; n >= 1.  *tcp as above.  Inline
 * below for Ethernet, IPv4 and TCP (nearly every record of a capture of
 * IPv4 traffic: the route runs once per record, 99 instructions a record
 * as a call, about 74 inline), split_route_any() for the rest (the same
 * answers for every record: test_split_route). */
static inline unsigned split_route(const struct capture_record *rec, unsigned n, enum split_tcp *tcp);
unsigned split_route_any(const struct capture_record *rec, unsigned n, enum split_tcp *tcp);

/* The same worker for (a, b) and (b, a), a and b an address each as one
 * word (IPv6: its halves folded): the smaller word first, then a
 * multiplicative mix whose high bits pick the worker. */
static inline unsigned split_pair_worker(uint64_t a, uint64_t b, unsigned n)
{
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t h = (lo * UINT64_C(0x9e3779b97f4a7c15) ^ hi) * UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 29;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    return (unsigned)(((h >> 32) * n) >> 32);
}

/* The IPv4 header h (version 4, 20 bytes captured), captured bytes from it
 * to the end of rec, as pkt_decode_ipv4() reads it: YES when it certainly
 * makes a TCP packet of it (a whole unfragmented datagram whose lengths
 * all hold, the TCP header captured), NO when its protocol can never give
 * one (neither TCP nor a tunnel, nor UDP to a tunnel's port; fragments
 * too: a reassembled datagram has their protocol), else MAYBE (cut,
 * clamped, fragmented, a tunnel). */
static inline enum split_tcp split_ipv4_tcp(const uint8_t *h, size_t captured, const struct capture_record *rec)
{
    size_t ihl = (size_t)(h[0] & 15) * 4, total = load_u16be(h + 2);
    if (h[9] == IPPROTO_V_UDP)
        return split_udp_may_tunnel(h + ihl, captured > ihl ? captured - ihl : 0, (load_u16be(h + 6) & 0x1FFF) == 0)
                   ? SPLIT_TCP_MAYBE
                   : SPLIT_TCP_NO;
    if (h[9] != IPPROTO_V_TCP)
        return split_tunnel_proto(h[9]) ? SPLIT_TCP_MAYBE : SPLIT_TCP_NO;
    size_t on_wire = captured + (rec->wirelen > rec->caplen ? rec->wirelen - rec->caplen : 0);
    if ((load_u16be(h + 6) & 0x3FFF) != 0 || ihl < 20 || total > on_wire || total < ihl + 20 || captured < ihl + 20)
        return SPLIT_TCP_MAYBE;
    size_t doff = (size_t)(h[ihl + 12] >> 4) * 4;
    return doff >= 20 && doff <= total - ihl ? SPLIT_TCP_YES : SPLIT_TCP_MAYBE;
}

/* Ethernet II, IPv4 without options, TCP, its header captured (nearly
 * every record of a capture of IPv4 traffic): the same answer as the
 * general path, each header field read once; the rest is
 * split_route_any()'s. */
static inline unsigned split_route(const struct capture_record *rec, unsigned n, enum split_tcp *tcp)
{
    const uint8_t *h = rec->data + 14;
    if (rec->dlt == DLT_EN10MB && rec->caplen >= 14 + 40 && load_u16be(rec->data + 12) == ETH_IPV4 && h[0] == 0x45 &&
        h[9] == IPPROTO_V_TCP) {
        size_t total = load_u16be(h + 2), doff = (size_t)(h[32] >> 4) * 4;
        size_t on_wire = rec->caplen - 14 + (rec->wirelen > rec->caplen ? rec->wirelen - rec->caplen : 0);
        bool whole = (load_u16be(h + 6) & 0x3FFF) == 0 && total <= on_wire && total >= 40;
        *tcp = whole && doff >= 20 && doff <= total - 20 ? SPLIT_TCP_YES : SPLIT_TCP_MAYBE;
        return n > 1 ? split_pair_worker(load_u32be(h + 12), load_u32be(h + 16), n) : 0;
    }
    return split_route_any(rec, n, tcp);
}

#endif
