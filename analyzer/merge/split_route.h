/* split_route.h - which worker of a flow-hash split (split.h) analyses a
 * record: a look at the link and IP headers only, no reassembly.
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

/* The worker (0 .. n-1) for a record; n >= 1. */
unsigned split_route(const struct capture_record *rec, unsigned n);

#endif
