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
 * names `connection_groups` then. */
#ifndef SMBSCOPE_MSTATE_GROUP_ORDER_H
#define SMBSCOPE_MSTATE_GROUP_ORDER_H

#include <stdint.h>

#include "analysis.h"
#include "conn_groups.h"

#define MSTATE_GROUPS_WIDE 16u

/* Before any report is folded: a->groups becomes the wide table. */
void mstate_group_order_begin(struct analysis *a);
/* A run's group the wide table holds, its index in the run's list, the
 * run's first packet (the notes are at most the wide table's groups). */
void mstate_group_order_note(struct analysis *a, const struct conn_group_key *k, int64_t run_first_ts,
                             uint32_t index);
/* After every report, before the edges are joined: a->groups capped again,
 * filled in the order noted (the notes freed). */
void mstate_group_order_end(struct analysis *a);
/* The notes freed without that (a report refused). */
void mstate_group_order_free(struct analysis *a);

#endif
