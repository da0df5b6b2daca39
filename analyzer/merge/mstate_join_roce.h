/* mstate_join_roce.h - RoCEv2 queue-pair pairs a part could not tell SMB
 * from, joined to the SMB Direct connection of another part they continue.
 * rdma_roce.c makes a pair an SMB connection at its first whole SEND
 * message; a part of a capture that holds only a pair's ACKs (a cut after
 * the last SEND: the responder's ACK of it follows), or only RDMA Writes
 * and Reads, has none, so its run reports nothing of those packets, while
 * the run over both parts counts them in the connection (packets, bytes,
 * ACKs, last seen).  A run keeps such pairs still open at its end
 * ("roce_tails" in the state: struct roce_tail, at most ROCE_TAILS_MAX);
 * merge joins each to the RoCEv2 connection open at its part's end that it
 * follows (the same two addresses, its queue pairs not others, after the
 * connection's last packet and before its next part). */
#ifndef SMBSCOPE_MSTATE_JOIN_ROCE_H
#define SMBSCOPE_MSTATE_JOIN_ROCE_H

#include <stdbool.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "jget.h"
#include "json.h"

struct analysis;
struct conn_summary;

/* "roce_tails": absent when none (an older smbscope ignores the member:
 * those packets stay uncounted there, as before). */
void mstate_build_roce_tails(struct json *b, const struct analysis *a);
void mstate_fold_roce_tails(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);
/* --jobs: src's tails into dst's. */
void mstate_roce_tails_fold_mem(struct analysis *dst, const struct analysis *src);

/* The queue pair numbers a part of cur's chain (its parts, mstate_edges.c)
 * saw: chain[0] of the packets sent to cur's client, chain[1] to its
 * server, each set from part where still 0.  A tail joins the chain only
 * when it contradicts none of them, also of a part after the one it
 * would join (review F10: a stray packet from the server to another queue
 * pair of the client's host, before a part holding only the client's SMBD
 * negotiate request, was joined to it; the run over the parts keeps it
 * apart, roce_join_evidence() in dissector/rdma/roce_pair.c). */
void mstate_roce_chain_qps(struct analysis *a, const struct conn_summary *cur, const struct conn_summary *part,
                           uint32_t chain[2]);

/* cur: a RoCEv2 connection open at its part's end; the tails that follow
 * it and begin before `before` (the first packet of its next part;
 * INT64_MAX: none) join it, one after the other, and are used up. */
bool mstate_join_roce_tails(struct analysis *a, struct conn_summary *cur, int64_t before, const uint32_t chain[2]);

/* cur: a RoCEv2 connection at the start of a chain of parts (its first
 * part's, mstate_edges.c), not continuing another; the tails of its hosts
 * and queue pairs that end before it begins (a part holding only a pair's
 * ACKs, Writes, Reads or SEND pieces before the part with its first whole
 * message, which the run over both parts counts from the tail's first
 * packet) join it, the latest first, and are used up: its first packet
 * time, packets and bytes each way, RoCEv2 counts, a SEND the tail began
 * and cur ended (mstate_join_frame.h), and the client's port when only the
 * tail saw it.  True when one did. */
bool mstate_join_roce_lead(struct analysis *a, struct conn_summary *cur, const uint32_t chain[2]);

/* cur, a RoCEv2 connection whose part saw none of its client's packets
 * (client port 0: rdma_roce.c names it by the client's UDP source port),
 * continued by late, which saw them: renamed by late's client port, as the
 * run over both parts names it. */
void mstate_join_roce_port(struct analysis *a, struct conn_summary *cur, const struct conn_summary *late);

#endif
