/* mstate_join_quic.h - QUIC connections cut by a capture's edge.  A QUIC
 * connection is known by its client's first Initial: a capture cut after
 * it (editcap -c/-i) leaves the next capture datagrams of the connection
 * it cannot place (short headers, Handshake packets: no Initial to start
 * from).  The run over both captures counts them in the connection
 * (packets, bytes each way, last packet, stats.quic.datagrams).  A run
 * keeps such datagrams per UDP 4-tuple ("QUIC tails": fixed bit set, not
 * taken by any connection, within the QUIC idle timeout of its first
 * packet, at most ANALYSIS_MAX_EDGES tuples); merge adds them to the QUIC
 * connection an earlier capture left open on the same ends. */
#ifndef SMBSCOPE_MSTATE_JOIN_QUIC_H
#define SMBSCOPE_MSTATE_JOIN_QUIC_H

#include <stdint.h>

#include <json-glib/json-glib.h>

#include "jget.h"
#include "json.h"
#include "packet.h"

struct analysis;

#define QUIC_TAIL_IDLE_US (120 * 1000000LL) /* quic_table.c's idle timeout */

struct quic_tail {
    struct ip_addr addr[2]; /* [0] the sender of the first datagram seen */
    uint16_t port[2];
    int64_t first_ts, last_ts;
    uint64_t packets[2], bytes[2]; /* sent by addr[0], by addr[1]; bytes: UDP payload on the wire */
    /* A QUIC connection of the run's own begun by a client Initial without
     * its ClientHello (quic_table.h: decided), open at the end ("quic_heads"
     * in the state, [0] the client): a capture cut after a connection's first
     * flight.  Its run counted it as a connection and its datagrams as QUIC:
     * joined, it is one connection less. */
    bool head;
    /* A head whose ClientHello was read (a client's new one after a Retry
     * the earlier capture's connection got; not SMB: "quic_starts" in the
     * state, the arrays of quic_heads): joined, one other connection less. */
    bool decided;
    /* What the run over both captures learns from a tail's datagrams in the
     * connection it joins ("quic_tail_facts" in the state, by index into
     * quic_tails): a server's Retry (connections[].quic.retry), 0-RTT
     * packets, Handshake packets sent by addr[0] (bit 0) or addr[1] (bit 1)
     * (the server's: quic.handshake_completed), and the Initials this run
     * counted as not decrypting (stats.quic.undecryptable_initials: the
     * server's, whose keys were the earlier capture's). */
    bool retry;
    uint8_t handshake_sides;
    uint32_t zero_rtt, failed_initials;
    /* Its first datagram that did not decrypt as a client Initial, kept
     * (mstate_join_quic_hello.h): index + 1 in the analysis's list, 0 none. */
    uint32_t initial;
    /* A head's handshake so far ("quic_head_facts" in the state, by index
     * into quic_heads): the ServerHello's suite, a server Handshake packet,
     * the start of a ClientHello its run could not complete (the rest in
     * the next capture: the run over both reads one more). */
    uint16_t cipher;
    bool server_handshake, hello_pending;
};

/* quic_table_packet() for a run: a datagram no QUIC connection took noted
 * as a tail when it may belong to one an earlier capture holds. */
void quic_tail_packet(struct analysis *a, const struct packet *p);
void quic_tails_free(struct analysis *a);
/* At the capture's end, before the QUIC table closes them: the QUIC
 * connections still open that are not SMB ("quic_open" in the state: a
 * later capture's tails that follow one are its datagrams). */
void quic_open_note(struct analysis *a);
/* --jobs: src's tails into dst's (as many as a run keeps). */
void quic_tails_fold_mem(struct analysis *dst, const struct analysis *src);

void mstate_build_quic_tails(struct json *b, const struct analysis *a);
void mstate_fold_quic_tails(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);

/* After the SMB edges are joined (merge_finish): the earliest tail after a
 * QUIC connection left open at its capture's end (within the idle timeout)
 * joins it (its summary, connections[] entry, the QUIC datagram count),
 * then the next tail of the 4-tuple within the idle timeout of that one,
 * and so on, each a join (tails are kept one per part: the same count
 * whatever reports were merged first).  What may still join another
 * report's stays in the state. */
void mstate_join_quic(struct analysis *a);

#endif
