/* mstate_edges.h - connections at a capture's edge (analysis.h: open at
 * its end, or first seen mid-stream) in the merge state, and their joining:
 * the part of a connection a capture left open at its end and the part
 * the next capture saw from its middle are one connection of the captures
 * read together. */
#ifndef SMBSCOPE_MSTATE_EDGES_H
#define SMBSCOPE_MSTATE_EDGES_H

#include <json-glib/json-glib.h>

#include "analysis.h"
#include "conn_summary.h"
#include "jget.h"
#include "json.h"

void mstate_build_edges(struct json *b, const struct analysis *a);
void mstate_fold_edges(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);

/* One connection as a row of edge_fields' members (edges[]' rows), and
 * back (mstate_syn_starts.h keeps its rows so). */
void mstate_edge_put(struct json *b, const struct conn_summary *cs);
void mstate_edge_read(struct jget *g, const struct jpath *ip, JsonArray *a, struct conn_summary *cs);

/* Join the edges of all reports (a->edges): chains of parts of one
 * connection become one; what is complete goes to the groups and SMB
 * hosts, what is still at an edge stays in a->edges. */
void mstate_join_edges(struct analysis *a);

/* The connection of two parts: `early` open at its capture's end, `late`
 * first seen mid-stream after it (policy: to judge the whole again). */
void mstate_join_parts(struct conn_summary *out, const struct conn_summary *early, const struct conn_summary *late,
                       const struct policy *p);

#endif
