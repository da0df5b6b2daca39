/* mstate_join_frame.h - the message framing of a TCP connection cut
 * between two parts.  A part that ends inside an SMB message (a bulk
 * WRITE or READ: the cut falls in its body nearly always) leaves the rest
 * of it to the next part, whose framer, seen from the middle, scans for a
 * header and counts the bytes it skipped as a resynchronisation
 * (connections[].stream.framing_anomalies); the run over both parts framed
 * those bytes as the message's rest and counts nothing.  A run keeps, per
 * TCP edge whose framing did not stand at a header at a cut, each
 * direction's bytes left of the message it ended inside and the bytes
 * skipped before its first header ("edge_frames"); when merge joins two
 * parts and the late part skipped exactly what the early part left, the
 * late part's anomaly is not the connection's. */
#ifndef SMBSCOPE_MSTATE_JOIN_FRAME_H
#define SMBSCOPE_MSTATE_JOIN_FRAME_H

#include <json-glib/json-glib.h>

#include "conn_summary.h"
#include "jget.h"
#include "json.h"

struct analysis;
struct smb_conn;

/* A run's edge connection cs (closed; s its connection). */
void frame_edge_note(struct analysis *a, const struct conn_summary *cs, const struct smb_conn *s);
void frame_edges_free(struct analysis *a);
/* The same edge's TCP streams (c: its flow; NULL: not TCP): where each
 * ended, and a gap one began with. */
struct flow_conn;
void frame_edge_seqs(struct analysis *a, const struct conn_summary *cs, const struct flow_conn *c);
/* --jobs: src's records into dst's. */
void frame_edges_fold_mem(struct analysis *dst, const struct analysis *src);

void mstate_build_edge_frames(struct json *b, const struct analysis *a);
void mstate_fold_edge_frames(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);

/* Before early and late are joined (their entries still apart): late's
 * anomalies of the cut taken away, the joined connection's record kept
 * under early's name. */
void mstate_join_frame(struct analysis *a, const struct conn_summary *early, struct conn_summary *late);
/* A message of direction *d (0: from the early part's client) that the
 * join in progress made whole from the pieces its parts kept (an SMBD
 * message a cut divided), taken in the order made: false when none is
 * left; *msg_len its length (longer than msg: msg holds the octets its
 * decoder reads, rdma.h smbd_msg_len).  mstate_join_smbd.h decodes it. */
bool frame_edge_whole_take(struct analysis *a, int *d, GBytes **msg, size_t *msg_len);
/* A RoCEv2 tail (mstate_join_roce.h) joined to cur (fwd: its side 0 is
 * cur's client): its pieces of SENDs taken as the run over both parts takes
 * them after cur's SEND in progress (a rest that ends it: one SEND whole,
 * its SMBD data transfer message taken as join_send() takes a late part's;
 * a middle: the start grows; a start of its own: now the one in progress).
 * The messages made whole are then frame_edge_whole_take()'s. */
struct roce_tail;
void mstate_frame_roce_tail(struct analysis *a, const struct conn_summary *cur, const struct roce_tail *t, bool fwd);
/* A RoCEv2 tail (mstate_join_roce.h) before cur, which now goes by to's
 * name (its first packet time and ports): cur's record renamed, and a SEND
 * the tail began and cur's first packets ended taken as the run over both
 * parts takes the pair's first whole message (a data transfer message with
 * data: one SEND more, its SMBD message, the SMB2 message it ends or
 * begins; then frame_edge_whole_take()'s). */
void mstate_frame_roce_lead(struct analysis *a, const struct conn_summary *cur, const struct conn_summary *to,
                            const struct roce_tail *t, bool fwd);
/* A data tail (mstate_tails.h) joined to cs: its bytes framed each way
 * (from cs's client) were the rest of the message cs ended inside. */
void mstate_frame_tail(struct analysis *a, const struct conn_summary *cs, uint64_t framed_c2s, uint64_t framed_s2c);
/* cs now begins at first (mstate_join_hs.c): its record goes by it. */
void mstate_frame_rename(struct analysis *a, const struct conn_summary *cs, int64_t first);
/* cs now goes by to's first packet time and ports (its addresses the same). */
void mstate_frame_rename_to(struct analysis *a, const struct conn_summary *cs, const struct conn_summary *to);

#endif
