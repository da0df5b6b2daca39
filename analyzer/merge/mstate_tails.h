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
#include "mstate_ends_ix.h"
#include "json.h"

/* A TCP connection seen mid-stream, closed, that was not SMB (s: its
 * session, closed): noted as a data tail when its framer found no header
 * either way (the middle of one message: a part holding only bulk data of
 * a READ or WRITE another part began; "data_tails" in the state, the
 * bytes each way and those framed; only within two minutes of the run's
 * first packet, and at most 3,072 of the tails' 4,096 places).  Merge joins it as a tail: its bytes
 * too, and the message's rest the next part's framing continues
 * (mstate_join_frame.h). */
struct flow_conn;
struct smb_conn;
void mstate_data_tail_note(struct analysis *a, const struct flow_conn *c, const char *reason, const struct smb_conn *s);

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
/* The same for the tails that begin before `before` (the first packet of
 * the next part of cur's connection: the tails between are cur's first). */
bool mstate_join_tail_before(struct analysis *a, struct conn_summary *cur, int64_t before);

/* The tails of the ends x:xp, y:yp (either order), in the array's order:
 * their slots (mstate_ends_ix.h), the first, then each next, G_MAXUINT
 * after the last.  The joins looked for them walking every tail for each
 * edge and syn flow; a->tails is indexed once (again when something else
 * changed it), and a tail taken goes by mstate_tail_remove(), which keeps
 * the index (and ends a walk). */
guint mstate_tails_first(struct analysis *a, const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp,
                         struct mstate_ends_it *it);
guint mstate_tails_next(const struct analysis *a, struct mstate_ends_it *it);
/* The index dropped (merge_finish: after the joins). */
void mstate_tails_ix_done(struct analysis *a);
/* The tail of a slot mstate_tails_of() gave: its place in a->tails. */
guint mstate_tail_place(const struct analysis *a, guint slot);
/* That tail removed from a->tails (the order of the rest kept). */
void mstate_tail_remove(struct analysis *a, guint slot);

/* cs is a connection kept for its linger (fin_linger_note) that still
 * lingered at `end`, the end of the inputs merged so far (their last packet within
 * the linger of its own): a merge keeps it an edge, as a run would, so
 * that a report merged later may join its last ACK. */
bool mstate_tail_lingers(int64_t end, const struct conn_summary *cs);
/* end above: the last packet of a's inputs (INT64_MIN: none), taken once for
 * every edge (the inputs were scanned per edge). */
int64_t mstate_inputs_end(const struct analysis *a);

#endif
