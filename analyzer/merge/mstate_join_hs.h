/* mstate_join_hs.h - a TCP connection cut right after its handshake: the
 * early part saw the SYN, SYN-ACK (and ACK) and nothing more (a syn_flow,
 * mstate_join_syn.h), the late part every byte from the first but not the
 * handshake (an SMB edge first seen mid-stream).  A run keeps, for each
 * such edge, the sequence number of its first byte each way ("edge_seqs");
 * when they are the early part's ISNs + 1 no byte was missed between the
 * parts, and merge makes the connection one seen from its start: the
 * first packet, the handshake's packets, the transport rule of a
 * connection whose start was seen (unknown-start becomes direct), the
 * client named by the SYN, its findings and policy judged again. */
#ifndef SMBSCOPE_MSTATE_JOIN_HS_H
#define SMBSCOPE_MSTATE_JOIN_HS_H

#include <json-glib/json-glib.h>

#include "conn_summary.h"
#include "flow.h"
#include "jget.h"
#include "json.h"

struct analysis;

/* A run's SMB edge (cs, closed with its flow c): its first bytes noted when
 * it was first seen mid-stream. */
void hs_edge_note(struct analysis *a, const struct conn_summary *cs, const struct flow_conn *c);
void hs_edges_free(struct analysis *a);
void hs_edges_fold_mem(struct analysis *dst, const struct analysis *src);

void mstate_build_edge_seqs(struct json *b, const struct analysis *a);
void mstate_fold_edge_seqs(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);

/* Before the edges are joined (merge_finish). */
void mstate_join_hs(struct analysis *a);

#endif
