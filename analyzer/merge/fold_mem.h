/* fold_mem.h - one finished analysis folded into another in memory, as
 * mstate_fold() folds a merge state read from JSON (mstate.h), for --jobs:
 * the same component fold functions, none of the JSON (building and
 * parsing the state cost more than the analysis it parallelised).
 *
 * What the state carries is what is folded: the inputs, the run, flow,
 * fragment, QUIC and RoCE counters, the census, the NetBIOS ledger and its
 * hosts, the connection groups and SMB hosts without the edge connections,
 * the edge connections themselves (merge_finish() joins them), and the
 * connections kept for detail (moved, not copied).  A change to what the
 * merge state carries belongs here too; test jobs checks both paths
 * against one analysis. */
#ifndef SMBSCOPE_FOLD_MEM_H
#define SMBSCOPE_FOLD_MEM_H

#include "analysis.h"

/* src (finished: analysis_finish()) into dst (analysis_init() with the same
 * configuration).  src's inputs and kept connections move to dst; free src
 * afterwards as usual. */
void fold_mem(struct analysis *dst, struct analysis *src);
/* One analysis' groups, SYN pairs and SMB hosts sorted in the order they
 * are folded in (first seen): built by fold_mem_order() on the thread that
 * made the analysis (the sorting then runs in parallel), merged by
 * fold_mem_many(). */
struct fold_order;
struct fold_order *fold_mem_order(struct analysis *src); /* takes src's SYN pairs (census_take_pairs()) */
void fold_order_free(struct fold_order *o);
/* One analysis folded after another (--jobs over several inputs): its
 * groups in the order it made them (as its connections closed: the order
 * one run over the inputs makes them in), not by first seen. */
void fold_order_as_made(struct fold_order *o);
/* One file's threads (split.c): its groups in the order of keys (n, one
 * per group, key_size bytes each, in the table's order; kept until the fold),
 * by cmp, the same for every order folded together: when one run would
 * have made each (as its first connection closed), not first seen. */
void fold_order_groups_by(struct fold_order *o, const void *keys, guint n, size_t key_size, GCompareFunc cmp);
/* One file's threads, their closes numbered as one run's (split_closes.h):
 * the close of each group (n, one per group, in the table's order; taken,
 * g_free()d with o), so that the fold's table has each group's close
 * (a->group_close) as one run's has it. */
void fold_order_group_closes(struct fold_order *o, int64_t *closes, guint n);
/* Several at once (n <= JOBS_MAX): their groups, SYN pairs and SMB hosts
 * go into dst's capped tables in first-seen order across them all, so that
 * a cap keeps what one run over their packets together keeps (for groups
 * as closely as order can: a run makes them as connections close).  order:
 * fold_mem_order() of each src, or NULL to make them here.  With n > 1 the
 * groups and SMB hosts are folded on a second thread meanwhile.  disjoint:
 * the srcs are one file's threads, each flow in one of them (split.h). */
void fold_mem_many(struct analysis *dst, struct analysis *const *src, struct fold_order *const *order, unsigned n,
                   bool disjoint);
/* One run, or the fold of one file's parts (each flow in one of them),
 * before its verdict: the large exact set of the NetBIOS flows past the
 * ledger's rows, when the merge state will not carry its hashes (more
 * rows than it carries: --max-netbios-flows past 16,384), keeps its count
 * and registers, all the report and the merge state read of it, and gives
 * back its slots (distinct_seal(); 1,000,000 NBNS clients: 12 MiB at the
 * report's peak).  Not the UDP conversations': the merge state carries
 * their hashes (exact_more, mstate_hashes.h).
 * Not after --jobs over several inputs, where a flow can be a row and in
 * the overflow both (the merge state's count then needs the set). */
void fold_mem_seal_sets(struct analysis *a);

/* --jobs over several inputs, before src (a later input) is folded into
 * dst (the earlier ones, folded): where src's own first-seen table (SMB
 * hosts, NetBIOS hosts and rows) filled while dst's already held records,
 * the fold may not be one run's answer there (a record of dst that came
 * back after src's table was full was counted past src's cap): dst's
 * state_folded says so, as a merge says where its reports' states were
 * folded.  SYN pairs and connection groups need no mark: src admitted
 * dst's keys past its caps (jobs.c). */
void fold_mem_mark_caps(struct analysis *dst, const struct analysis *src);

#endif
