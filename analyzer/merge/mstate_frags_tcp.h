/* mstate_frags_tcp.h - a TCP segment in an IP datagram whose fragments a
 * cut divides, put into its connection by merge (issue 13).
 *
 * mstate_frags.c puts the datagram together from the parts' pieces
 * (state.ip_frags); the run over the parts hands the segment to its
 * connection's reassembly at its last fragment.  Merge holds no packets of
 * that connection, only its parts (edges, mstate_edges.c) and where each
 * part's streams and framing stood at the cut (edge_frames,
 * mstate_join_frame.h).  So the segment is placed exactly when what the
 * run does with it is known from those records alone:
 *
 *   - the datagram was completed between the early part's last packet of
 *     the connection and the late part's first (its fragments came
 *     together at the cut: nothing of the late part went before it);
 *   - the early part was open at its end and its stream in the segment's
 *     direction stopped exactly at the segment's sequence number (in
 *     order: nothing missing before it, no retransmission);
 *   - the early part's framing stood at a message boundary in that
 *     direction, the late part's began at a header (skipped nothing);
 *   - the segment's payload frames alone into whole messages (no rest of
 *     a message left for the late part).
 *
 * Then its messages are decoded by the session model the run uses, in a
 * connection of its own seen from its middle holding that one packet, and
 * joined as a part between the early and the late one (the joins of
 * mstate_join_smbd.h): its packet and bytes, whatever the run reads in it
 * (a NEGOTIATE response's dialect, signing, cipher, a SESSION_SETUP's
 * user...).  The datagram's losses are taken back and it is counted
 * reassembled and decoded, as in the run.
 *
 * Else (out of order, a message the segment begins or ends across the
 * cut, a connection whose early part closed, iWARP), merge cannot know
 * what the run made of those octets: the datagram stays lost as the parts
 * counted it (the verdict inconclusive on it) and the merged report says
 * so: stats.merged.fragment_datagrams_not_placed (a merged report's state
 * carries its runs' states, mstate_leaves.h: a later merge counts it
 * again from them). */
#ifndef SMBSCOPE_MSTATE_FRAGS_TCP_H
#define SMBSCOPE_MSTATE_FRAGS_TCP_H

#include <stdint.h>

#include "analysis.h"
#include "conn_summary.h"
#include "ipfrag.h"
#include "packet.h"

/* A whole datagram carrying TCP (pkt decoded by ipfrag_decode() from buf,
 * which this takes), completed in input in; opens: the parts' open
 * datagrams it ends, fate: how the last part counted its pieces. */
void mstate_frags_tcp_add(struct analysis *a, const struct packet *pkt, enum packet_status st, uint8_t *buf,
                          struct input_info *in, uint32_t opens, enum ipfrag_fate fate);

/* While early and late are joined (mstate_join_frame()): their records'
 * end_seq (early's), left (early's), lead and bytes framed (late's) per
 * direction from early's client, UINT64_MAX unknown; a segment that fits
 * is due. */
void mstate_frags_tcp_edge(struct analysis *a, const struct conn_summary *early, const struct conn_summary *late,
                           const uint64_t end_seq[2], const uint64_t left[2], const uint64_t lead[2],
                           const uint64_t late_bytes[2]);

/* The due segments decoded and joined to early as a part before late. */
void mstate_frags_tcp_join(struct analysis *a, struct conn_summary *early, const struct conn_summary *late);

/* After the joins: the segments not placed counted (a->frag_not_placed)
 * and freed. */
void mstate_frags_tcp_finish(struct analysis *a);
void mstate_frags_tcp_free(struct analysis *a);

#endif
