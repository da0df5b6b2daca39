/* mstate_group_order.h - smbscope merge: connection groups admitted in the
 * order one run over the captures would admit them, whatever the order of
 * the reports.
 *
 * A table of groups is capped (conn_groups.h): the first `cap` combinations
 * to close keep both addresses, later ones fold into coarser levels.  Which
 * combinations are first depends on the order they arrive.  Folding the
 * reports straight into a capped table made that the order of the reports
 * on the command line: a capture cut in two whose parts held 1,124 groups
 * together (cap 1,024) gave other groups for `merge p1 p0` than for
 * `merge p0 p1`.  So merge folds every run's groups into a wide table first
 * (MSTATE_GROUPS_WIDE times the cap), noting for each combination where one
 * run over the captures meets it first: the earliest run by first packet,
 * and its place in that run's groups (a run lists them in the order they
 * were made); then it adds them to the capped table in that order.  The
 * edges merge joins are added after, as before.  Past the wide table's cap
 * the order of the reports decides again; stats.merged.state_folded
 * names `connection_groups` then.
 *
 * "Where one run meets them" is where its connection closes, which is
 * not where a run of one part put it when the connection was open, or
 * lingering after its FINs, at that part's end: the run over the parts
 * together closes it in a later part.  So a run numbers its closes
 * (close_seq): each group carries the number of the close that made it
 * ("group_closes", beside "groups"), each edge connection the number of
 * its own close ("edge_closes", beside "edges").  Closes at the end of a
 * run (flow.h: every connection still in the table, in the order it was
 * opened) are numbered after every other, in the order of their last
 * packet: the connections lingering after their FINs there are the ones
 * the run over more parts ends next, oldest first (flow.c: past
 * max_closed, or past the linger), before any close of the next part's
 * own.  Merge notes a joined connection under its whole key at the close
 * of its last part (its run, that close's number), as the run over the
 * parts admits it when it closes.  A run also counts the connections that
 * entered the flow table's closed list ("fin_closes": a FIN each way or a
 * RST, SMB or not), those in it at its end ("end_lingers") and which of its
 * closes at the end were among them ("end_close_lingers"): when later runs
 * put fewer than max_closed there, the run over them all ends only the
 * oldest (lingers + later - max_closed) of them before its end, by last
 * packet (an older smbscope ignores the three: the whole run's rule, its
 * SMB connections counted).  A connection lingering at a part's end
 * that takes a late ACK in the next part (a tail merge joins), or whose
 * FINs fell one in each part, lingers in the list as that part's, by the
 * tail's last packet (mstate_group_order_tail_joined(); the estimate is
 * made after the joins).  What is not followed: a tail closed before its
 * part's end ahead of closes it came after (its close keeps its run's
 * number), and closes no list orders (idle after two hours,
 * a reused port, a full table) interleaved with lingering ones of an
 * earlier part; merged states and those of --jobs over several inputs
 * carry no numbers (their groups are noted in first-seen order, as
 * before; one file's threads number theirs as one run: split_closes.h). */
#ifndef SMBSCOPE_MSTATE_GROUP_ORDER_H
#define SMBSCOPE_MSTATE_GROUP_ORDER_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "analysis.h"
#include "conn_groups.h"
#include "flow.h"
#include "mstate_cut.h"

#define MSTATE_GROUPS_WIDE 16u

struct flow_conn;
struct json;
struct jget;
struct jpath;

/* A run (not live, not merge): cs's close numbered (c: its flow, NULL
 * when not TCP); a close that made group `index`, noted; after the last
 * close, the closes at the end ranked by last packet. */
void mstate_close_number(struct analysis *a, struct conn_summary *cs, const struct flow_conn *c);
/* The same for a flow that is not an SMB connection (a tail, mstate_tails.h,
 * a->tails[tail]; G_MAXUINT: none): its number (0: not numbered). */
int64_t mstate_close_next(struct analysis *a, const struct flow_conn *c, int64_t last_ts, guint tail);
/* flow.c, class_of(): a connection that saw a FIN each way or a RST is in
 * the closed list, whose oldest ends when more than max_closed are in it. */
static inline bool mstate_close_lingers(const struct flow_conn *c)
{
    return c && (c->rst_seen || (c->fin[0] && c->fin[1]));
}
/* A run's TCP connection c closes (every one: SMB or not): counted when
 * it was in the closed list, and at the end (the state's "fin_closes" and
 * "end_lingers").  Inline: every connection's close passes here. */
static inline void mstate_close_class_note(struct analysis *a, const struct flow_conn *c)
{
    if (a->live_run || a->merged_parts || !mstate_close_lingers(c))
        return;
    a->fin_closes++;
    a->end_lingers += a->finishing;
}
void mstate_close_made_group(struct analysis *a, const struct conn_summary *cs, uint32_t index);
/* --jobs over one file (split_closes.h): the next close of one run's order
 * noted as mstate_close_next() notes it (at_end: one the run made at its
 * end; tail: its index in a->tails, G_MAXUINT: none; linger: it was in the
 * closed list); mstate_close_rank() after the last. */
void mstate_close_replay(struct analysis *a, bool at_end, int64_t last_ts, uint64_t last_frame, guint tail,
                         bool linger);
void mstate_close_rank(struct analysis *a);
/* The state's "group_closes" (groups: the table written, order: the
 * written order of its groups), "end_closes_from" and "end_close_ranks",
 * and "edge_closes"; absent when not known. */
void mstate_put_group_closes(struct json *b, const struct analysis *a, const struct conn_groups *groups,
                             const GArray *order);
void mstate_put_edge_closes(struct json *b, const struct analysis *a);
/* Whether a's closes are one run's numbers (not merge's, not those of --jobs
 * over several inputs; --jobs over one file: split_closes.h). */
bool mstate_closes_numbered(const struct analysis *a);
/* A state's "group_closes" or "edge_closes": the array (no check), its
 * element i (0: none), and after the array beside it was read (n
 * elements), the check that fails g when it is not n numbers >= 1. */
JsonArray *mstate_closes_peek(JsonObject *st, const char *k);
int64_t mstate_close_at(JsonArray *closes, guint i);
void mstate_closes_check(struct jget *g, const struct jpath *p, JsonObject *st, const char *k, guint n);
/* The same for an array that may be cut from the state's text (mstate_cut.h): read a value at a time. */
void mstate_closes_check_cut(struct jget *g, const struct jpath *p, JsonObject *st, const char *k, guint n,
                             const struct mstate_cut *cut, enum mstate_cut_at at);
#define MSTATE_END_CLOSES_MAX (1u << 22)
/* A state's run (its first packet) and how it ranks the closes at its end
 * (end_close_ranks and end_close_lingers read a value at a time from cut,
 * mstate_cut.h, when they were cut; NULL: the tree's). */
void mstate_group_order_run(struct analysis *a, struct jget *g, const struct jpath *p, JsonObject *st,
                            int64_t run_first_ts, const struct mstate_cut *cut);
/* The connections that run closed (its groups' and its edges). */
void mstate_group_order_run_conns(struct analysis *a, int64_t run_first_ts, uint64_t conns);
/* A tail of run to_run (closed there at to_at) joined to a connection
 * whose last part was run from_run (its close numbered from_at there):
 * when it lingered after its FINs at that run's end (was_lingering), or
 * the join shows its FIN each way, it lingers in the closed list of the
 * run over them all as to_run's connection, by the tail's last packet
 * (which ones that run ends before its end: mstate_group_order_end()). */
void mstate_group_order_tail_joined(struct analysis *a, bool was_lingering, int64_t from_run, int64_t from_at,
                                    int64_t to_run, int64_t to_at);
/* cs, joined to a later part that ends it at close `at` of run `run`
 * (0: not numbered): it closes there. */
void mstate_group_order_closes_at(struct conn_summary *cs, int64_t run, int64_t at);
/* Whether cs's last part closed it before that run's end (its close
 * numbered there): lingering after its FINs or not, the run over them all
 * has ended it by then (its closed list only fuller). */
bool mstate_group_order_closed_early(const struct analysis *a, const struct conn_summary *cs);
/* A connection merge adds to the groups (a joined one): its whole key
 * noted at its close (cs->order_run/order_at; nothing when not known). */
void mstate_group_order_note_conn(struct analysis *a, const struct conn_summary *cs);

/* A connection of key k (the wide table's) that run `run` closed began at
 * first_ts, before the start its group was noted with (a SYN sent again
 * across a cut, mstate_syn_starts.h): when that run made k's group at its
 * end, the run over them all closes it there by first packet, earlier. */
void mstate_group_order_restart(struct analysis *a, const struct conn_group_key *k, int64_t run, int64_t first_ts);

/* A joined connection cs (its facts whole, its first packet the joined
 * one) its run folded into the wide table's group of key k (not at the
 * full level): when that group is cs alone (a close merge knows the place
 * of: the group's), the group gives way to cs at the full level, noted
 * where the group was, so the capped table gives it the level the run
 * over the parts gives it at its close; true then.  Else false, and cs is
 * counted in stats.merged.state_folded.connection_groups (its level is its
 * run's: the group's other connections cannot be told apart). */
bool mstate_group_order_unfold(struct analysis *a, const struct conn_group_key *k, const struct conn_summary *cs);

/* Before any report is folded: a->groups becomes the wide table. */
void mstate_group_order_begin(struct analysis *a);
/* A run's group the wide table holds, the number of the close that made
 * it (or its index in the run's list), the run's first packet (the notes
 * are at most the wide table's groups). */
void mstate_group_order_note(struct analysis *a, const struct conn_group_key *k, int64_t run_first_ts,
                             int64_t at, int64_t first_ts);
/* After every report and every join: a->groups capped again, filled in
 * the order noted (the notes freed); the edges kept only because they
 * lingered after their FINs at the end of a run before the last are put
 * in their place too (then a->core_groups and core_hosts are set, as
 * analysis_fold_edges() sets them, and every edge is in). */
void mstate_group_order_end(struct analysis *a);
/* The notes freed without that (a report refused). */
void mstate_group_order_free(struct analysis *a);

/* The largest close number a state may carry: a run numbers its closes
 * one by one (twice over: odd ones placed by their last packet), far
 * below this, and merge adds twice a rank to one without overflowing. */
#define MSTATE_CLOSE_MAX ((int64_t)1 << 62)

/* g_array_sort_with_data() order of group indexes into groups (a struct
 * conn_groups *): first seen, ties by key.  The same groups give the same
 * state whatever order they were created in, and a merged report lists
 * lines of one time in the order their groups were made, whatever the
 * order the reports were folded in. */
gint mstate_group_first_seen_cmp(gconstpointer pa, gconstpointer pb, gpointer groups);

#endif
