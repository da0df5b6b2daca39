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

/* After every report is folded (merge_finish): the matches made. */
void mstate_join_nbns(struct analysis *a);

#endif
