/* mstate_xchg.h - SMB exchanges cut by a capture's edge (the session
 * model's side: analyzer/model/session_xchg.h) in the merge state, and
 * their joining: when two parts of one connection are joined
 * (mstate_edges.h), a SESSION_SETUP whose request the early part saw and
 * whose response the late part saw settles as the run over both captures
 * settles it (who logged on, with what: the connection's auth, its NTLM
 * sessions and finding, its connections[] entry), and a TREE_CONNECT so
 * split is answered. */
#ifndef SMBSCOPE_MSTATE_XCHG_H
#define SMBSCOPE_MSTATE_XCHG_H

#include <json-glib/json-glib.h>

#include "analysis.h"
#include "conn_summary.h"
#include "jget.h"
#include "json.h"
#include "session_xchg.h"

struct smb_conn;

/* One connection's exchanges under the name its record has (a->edge_xchg). */
struct mstate_xchg {
    struct ip_addr client, server;
    uint16_t client_port, server_port;
    int64_t first_ts;
    struct smb_conn_xchg x;
};
/* The index in a->edge_xchg of cs's exchanges (G_MAXUINT: none): the
 * first of that name in the array's order; a copy of x added under cs's
 * name.  Records are named, renamed and removed only here: an index of
 * their names (mstate_ends_ix.h) follows them, so that a look-up per edge
 * is no walk of every part's exchanges (a capture cut inside many open SMB
 * exchanges made the joins quadratic). */
guint mstate_xchg_find(struct analysis *a, const struct conn_summary *cs);
/* The same, adding to *compared the records it compared with cs (unit
 * test xchg_ix: a look-up compares the records of its name, not all). */
guint mstate_xchg_find_counted(struct analysis *a, const struct conn_summary *cs, uint64_t *compared);
void mstate_xchg_put(struct analysis *a, const struct conn_summary *cs, const struct smb_conn_xchg *x);
/* Record x's name becomes first_ts and these ports. */
void mstate_xchg_rename(struct analysis *a, guint x, int64_t first_ts, uint16_t client_port, uint16_t server_port);
/* Record x removed, the last record moved into its place. */
void mstate_xchg_remove(struct analysis *a, guint x);
/* The index's memory back (the joins are done; rebuilt if used again). */
void mstate_xchg_ix_done(struct analysis *a);

/* A closed edge connection's exchanges (when it has any) kept for the
 * merge state: cs is its record in a->edges. */
void mstate_xchg_keep(struct analysis *a, const struct conn_summary *cs, const struct smb_conn *s);
void mstate_xchg_free(struct analysis *a);

/* The state's "edge_xchg" member, and its reading back. */
void mstate_build_xchg(struct json *b, const struct analysis *a);
void mstate_fold_xchg(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);

/* Before early and late are joined: late's record (and connections[]
 * entries of both) corrected with what early was in the middle of; the
 * joined connection's exchanges kept under early's name.  early itself
 * takes in the SMB Direct messages the cut divided (mstate_join_smbd.h). */
void mstate_xchg_join(struct analysis *a, struct conn_summary *early, struct conn_summary *late);
/* Its exchanges part alone: early's and late's (mstate_join_smbd.h: a
 * part between them that only merge made). */
void mstate_xchg_join_exchanges(struct analysis *a, const struct conn_summary *early, struct conn_summary *late);

#endif
