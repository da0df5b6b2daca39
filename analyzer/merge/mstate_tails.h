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
 * end, last time; its connections[] entry too) and is used up. */
bool mstate_join_tail(struct analysis *a, struct conn_summary *cur);

#endif
