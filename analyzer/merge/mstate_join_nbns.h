/* mstate_join_nbns.h - an NBNS name query in one capture and its answer
 * in the next (a capture cut between a broadcast query and the answer the
 * server sends from its own address, on another NetBIOS row).  The run
 * over both captures matches them (netbios.c: the query's row counts it
 * answered, so the flow is NetBIOS traffic, not an unanswered attempt).  A
 * run keeps the queries still waiting at its end and the responses no
 * query of its own matched ("nbns_xids": at most ANALYSIS_MAX_EDGES of
 * each, the queries nearest the end, the responses nearest the start);
 * merge matches a response to a query of the same asker, port and
 * transaction id sent before it, and counts the query's row answered. */
#ifndef SMBSCOPE_MSTATE_JOIN_NBNS_H
#define SMBSCOPE_MSTATE_JOIN_NBNS_H

#include <json-glib/json-glib.h>

#include "jget.h"
#include "json.h"

struct analysis;

void mstate_build_nbns_xids(struct json *b, const struct analysis *a);
void mstate_fold_nbns_xids(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);
void nbns_xids_free(struct analysis *a);
/* --jobs: src's waiting queries and unmatched responses (its ledger's, and
 * those it carries) into dst's, for merge_finish() to match. */
void nbns_xids_fold_mem(struct analysis *dst, const struct analysis *src);

/* merge: the query still waiting or the answer unmatched in l, a ledger
 * given only a datagram merge put together (mstate_frags.h: one a cut
 * divided, decoded by merge), for mstate_join_nbns() to match as the
 * states' own. */
struct nb_ledger;
void nbns_xids_take(struct analysis *a, const struct nb_ledger *l);

/* After every report is folded (merge_finish): the matches made. */
void mstate_join_nbns(struct analysis *a);

#endif
