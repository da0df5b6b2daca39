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
 * refused).  Everything else goes to worker 0: UDP (an NBNS query is
 * broadcast and answered from another address pair; QUIC connections
 * migrate between addresses), GRE (the inner addresses are what the
 * analysis keys on), other IP protocols and ICMP, frames that are not IP,
 * link types the router does not parse, and what is too short to tell. */
#ifndef SMBSCOPE_SPLIT_ROUTE_H
#define SMBSCOPE_SPLIT_ROUTE_H

#include <stdint.h>

#include "capture.h"

/* Whether packet_decode() makes a TCP packet of the record (PKT_OK,
 * L4_TCP: what one run gives its flow table).  YES and NO are certain,
 * read off the headers where packet_decode() has no other way to go (an
 * IPv4 header whose lengths all hold, or an IP protocol that is neither
 * TCP nor GRE); MAYBE: decode it to know. */
enum split_tcp { SPLIT_TCP_NO, SPLIT_TCP_YES, SPLIT_TCP_MAYBE };

/* The worker (0 .. n-1) for a record; n >= 1.  *tcp as above. */
unsigned split_route(const struct capture_record *rec, unsigned n, enum split_tcp *tcp);

#endif
