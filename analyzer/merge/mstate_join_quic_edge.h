/* mstate_join_quic_edge.h - an SMB-over-QUIC connection whose first flight
 * a capture's edge cut: the early capture holds the client's first Initial
 * (its ClientHello), the later one the server's Retry and the client's new
 * Initial with its new ClientHello, from which the later run starts a
 * connection of its own.  The run over both finds that Initial by its UDP
 * 4-tuple in the connection already open (quic_table.c): one connection,
 * which saw the Retry and two ClientHellos, its later facts (the
 * ServerHello's suite, the SMB it carried) the later part's.  Merge joins
 * a QUIC SMB edge to the one of the same ends an earlier capture left open
 * when it follows within the idle timeout. */
#ifndef SMBSCOPE_MSTATE_JOIN_QUIC_EDGE_H
#define SMBSCOPE_MSTATE_JOIN_QUIC_EDGE_H

#include <stdbool.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "conn_summary.h"

struct analysis;
struct smb_conn_quic;

/* Both QUIC, of the same ends (the same client). */
bool quic_edge_same(const struct conn_summary *cs, const struct conn_summary *late);
/* late (an edge of a->edges: a QUIC SMB connection begun by a ClientHello)
 * continues cs (open at its capture's end): same ends, and it follows. */
bool quic_edge_continues(const struct conn_summary *cs, const struct conn_summary *late);
/* late joined into cs (its summary, connections[] entry or --jobs'
 * session, the QUIC counters: one connection less). */
void quic_edge_join(struct analysis *a, struct conn_summary *cs, const struct conn_summary *late);

/* What a tail joined to cs showed (a server's Retry, 0-RTT packets, the
 * server's Handshake packets): the run over both saw it in cs's connection
 * (connections[].quic: retry, zero_rtt_packets, handshake_completed). */
void quic_edge_tail_facts(struct analysis *a, const struct conn_summary *cs, bool retry, uint32_t zero_rtt,
                          bool server_handshake);

/* The QUIC facts of two parts of one connection (the entries' "quic"
 * objects; the sessions' in --jobs) made the run's over both: after a
 * Retry the later ClientHello is the connection's (quic_session.c: the
 * client's CRYPTO stream restarts), else the first stands. */
void quic_edge_join_entry(JsonObject *early, JsonObject *late);
void quic_edge_join_facts(struct smb_conn_quic *early, const struct smb_conn_quic *late);

#endif
