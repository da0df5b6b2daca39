/* mstate_tails.h - connections of packets without payload seen from their
 * middle (analysis.h: tails) in the merge state, and their joining: a
 * capture cut after a connection's last data leaves its ACKs and FINs to
 * the next capture, where they form no SMB connection; the run over both
 * counts them in the SMB connection's packets, its end and TCP count. */
#ifndef SMBSCOPE_MSTATE_TAILS_H
#define SMBSCOPE_MSTATE_TAILS_H

#include <stdbool.h>

#include <json-glib/json-glib.h>

#include "analysis.h"
#include "conn_summary.h"
#include "jget.h"
#include "json.h"

void mstate_build_tails(struct json *b, const struct analysis *a);
void mstate_fold_tails(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);

/* cur: a TCP connection open at its capture's end; the earliest tail of
 * the same ends that starts after its last packet joins it (packets,
 * end, last time; its connections[] entry too) and is used up.  cur may
 * also be a connection that ended "fin" (its capture ended while it
 * lingered after its FINs: the last ACK may be in the next capture,
 * mstate_join_fin.h: fin_linger_note; or one seen mid-stream): every tail
 * within the linger (flow.h: 1 minute after its last packet) joins it, one
 * after the other, as the run over both parts takes their packets. */
bool mstate_join_tail(struct analysis *a, struct conn_summary *cur);

/* cs is a connection kept for its linger (fin_linger_note) that still
 * lingered at the end of the inputs merged so far (their last packet within
 * the linger of its own): a merge keeps it an edge, as a run would, so
 * that a report merged later may join its last ACK. */
bool mstate_tail_lingers(const struct analysis *a, const struct conn_summary *cs);

#endif
