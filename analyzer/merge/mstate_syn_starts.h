/* mstate_syn_starts.h - the connections a run began early, for merge to
 * join them to what an earlier capture left open.
 *
 * A capture cut between a SYN and its retransmission: the earlier part saw
 * the first SYN (a syn_flow open at its end, mstate_join_syn.h), the later
 * part the whole connection from the retransmitted SYN, closed there and
 * folded into its groups and SMB hosts.  The run over both parts has one
 * connection from the first SYN (flow.c, starts_new_conn: a SYN of the same
 * ISN), one TCP connection, one packet more.  The same cut with a SYN of
 * another ISN, on the 4-tuple of an SMB connection the earlier part left
 * open, ends that connection "reused" in the run over both, not "end".
 *
 * So a run keeps, beside its groups, the connections it closed that began
 * within the half-open timeout (120 s) of its first packet: only those can
 * be the later half of such a cut (the earlier half's last packet is before
 * the run's first, and the run over both joins within the timeout).  At most
 * SYN_STARTS_MAX of them, the earliest by first packet (a heap: past the
 * bound the latest is dropped and the window ends at its first packet,
 * "until"), so the rows are every such connection begun before "until".
 * Each row: the client's ISN (-1: the connection did not begin with the
 * client's SYN), the level its group took in the run, and for each end
 * whether the connection is the latest its SMB host began in the run (its
 * host's last_seen) and then the host's last start without it.
 *
 * A connection the later part still had open at its end is an edge, not a
 * row: the edge carries its client's ISN (conn_summary.syn_isn, state
 * "edge_isns": [place in edges, ISN], for those begun inside the window).
 *
 * Merge (merge_finish): before the edges join, a syn flow open at its end
 * whose next thing (of its ends, within its idle timeout) is an edge begun
 * with its SYN again becomes that edge's start (first packet, packets, the
 * records kept by its first packet renamed, its entry); then an SMB edge
 * open at its end whose 4-tuple the next thing a later part began opens
 * again (a row of a SYN, a syn flow, an edge seen from its start) ends
 * "reused".  After the syn flows join, a syn flow open at its end continued
 * by a row's SYN of its ISN is that row's connection: its group (first seen,
 * packets, the example; the group merge holds it in, groups_past_level(),
 * placed among the closes by its joined start, and one its run folded alone
 * at the full level: mstate_group_order_unfold()), its SMB hosts (first seen; last seen when the row is
 * the host's latest: merge folded the host without it and raises it again
 * with the joined start), its connections[] entry, one TCP connection less.
 * A syn flow a later part's rows end too early to rule out (its "until"
 * within the timeout after it) is counted in stats.merged.state_folded.
 * syn_starts ("folded" in a merged state's member).
 *
 * State members "syn_starts" and "edge_isns" (additive: an older smbscope
 * ignores them and merges as before, the differences above left). */
#ifndef SMBSCOPE_MSTATE_SYN_STARTS_H
#define SMBSCOPE_MSTATE_SYN_STARTS_H

#include <json-glib/json-glib.h>

#include "analysis.h"
#include "conn_summary.h"
#include "flow.h"
#include "hosts.h"
#include "jget.h"
#include "smb_hosts.h"
#include "json.h"

#define SYN_STARTS_MAX 256u
/* The rows a run keeps: the first SYN_STARTS_MAX as JSON, the rest in
 * "rows_more" (mstate_syn_rows.h).  2,048 cover about 2 s of a capture of
 * 500 SMB connections a second (many170k): a SYN's first retransmission
 * (1 s).  Each row costs about 6,000 instructions to write (deflate a
 * third): 4,096 added 5% to a run of `--many 20000`. */
#define SYN_STARTS_KEPT 2048u
/* The rows merge holds of all its states (past them: not joined). */
#define SYN_STARTS_MERGE_MAX (16u * SYN_STARTS_KEPT)

/* A run: cs closed and folded into the groups and SMB hosts; isn:
 * syn_start_isn() of its TCP flow (-1 for other carriers), run_first_ts:
 * a->first_ts at its close (the fold may run on the close thread,
 * analyzer/close_pipe.h, while the packet thread moves it). */
int64_t syn_start_isn(const struct flow_conn *c);
void syn_start_note(struct analysis *a, const struct conn_summary *cs, int64_t isn, int64_t run_first_ts);
void syn_starts_free(struct analysis *a);
/* A run: cs (its flow c) is kept as an edge: the client's ISN when it began
 * with the client's SYN (state "edge_isns": [place in edges, ISN]). */
void syn_start_edge_note(struct conn_summary *cs, const struct flow_conn *c);
void mstate_build_edge_isns(struct json *b, const struct analysis *a);
/* After mstate_fold_edges(): as mstate_fold_edge_half_open(). */
void mstate_fold_edge_isns(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint base,
                           guint n);
void syn_starts_fold_mem(struct analysis *dst, const struct analysis *src);

void mstate_build_syn_starts(struct json *b, const struct analysis *a);
/* Before the state's SMB hosts are folded: its rows, and the hosts whose
 * last start is one of them (syn_starts_host_last()). */
void mstate_fold_syn_starts(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);
/* A host record of the state being folded: its last_seen made the one
 * without the rows' connections; true when merge keeps it to fold later (its
 * only start a row's).  After the state's hosts, syn_starts_hosts_done(). */
bool syn_starts_host_fold(struct analysis *a, struct host_rec *rec, const struct smb_host *x);
void syn_starts_hosts_done(struct analysis *a);

/* merge_finish: before mstate_join_edges (an edge that began with the SYN
 * again made one with the syn flow; then the reuses). */
void mstate_syn_starts_edges(struct analysis *a);
/* merge_finish: after mstate_join_syn_flows (then the rows' hosts raised
 * again; the rows joined dropped, the others carried on). */
void mstate_syn_starts_join(struct analysis *a);

#endif
