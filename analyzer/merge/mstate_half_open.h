/* mstate_half_open.h - SMB connections a run ended while half-open.
 *
 * A connection whose handshake never finished (flow.c: the client's SYN,
 * the server's SYN-ACK, no ACK of the client: a capture that lost the
 * client's side, or a one-sided tap) closes after the half-open timeout
 * (120 s), not the established one (two hours).  A run that ends with it
 * open keeps it as an edge ("end"); when the next capture merge is given
 * begins more than 120 s after its last packet, the run over both closes
 * it there as "idle", with every other close that its first packet
 * triggers, before that capture's own.  So the run marks its half-open
 * edges (state "edge_half_open": their places in "edges", written only when
 * there is one) and merge closes them as idle past that timeout
 * (mstate_edges.c, idle_if_later), as it did past the established one.
 * Additive: an older smbscope ignores the member and keeps them open. */
#ifndef SMBSCOPE_MSTATE_HALF_OPEN_H
#define SMBSCOPE_MSTATE_HALF_OPEN_H

#include <json-glib/json-glib.h>

#include "analysis.h"
#include "conn_summary.h"
#include "flow.h"
#include "jget.h"
#include "json.h"

/* A run: cs, closed with its flow c, is kept as an edge. */
void half_open_note(struct analysis *a, struct conn_summary *cs, const struct flow_conn *c);

void mstate_build_edge_half_open(struct json *b, const struct analysis *a);
/* After mstate_fold_edges(): the state's edges are a->edges from base on
 * (n of them, unless merge's own bound folded some: then nothing marked). */
void mstate_fold_edge_half_open(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint base,
                                guint n);

#endif
