/* mstate_join_nbss.h - NBSS framing of a connection cut between two parts.
 * Session messages of NBSS (type 0x00) and of direct-hosted SMB have the
 * same 4-byte header: a part that saw no other NBSS packet type (the late
 * part of a connection on 445 or another port whose session request the
 * early part saw, or an early part on 445 whose keep-alives the late part
 * saw) frames the connection's messages but its connections[] entry shows
 * no "nbss" object.  A run keeps, for each such edge connection, the
 * number of session messages it framed ("edge_nbss", at most one record
 * per edge); when merge joins two parts and one of them is NBSS, the other
 * part's messages are counted in nbss.types.message, and a connection
 * carrying NBSS on a port other than 139 (its NetBIOS row made by the
 * early part: analysis.c, conn_to_ledger) gets the late part's packets,
 * bytes and last packet on that row and its hosts, as the run over both
 * parts counts them. */
#ifndef SMBSCOPE_MSTATE_JOIN_NBSS_H
#define SMBSCOPE_MSTATE_JOIN_NBSS_H

#include <json-glib/json-glib.h>

#include "conn_summary.h"
#include "jget.h"
#include "json.h"

struct analysis;
struct smb_conn;

/* A run's edge connection cs (closed; s its connection) noted when its
 * entry shows no "nbss" and it framed session messages. */
void nbss_edge_note(struct analysis *a, const struct conn_summary *cs, const struct smb_conn *s);
void nbss_edges_free(struct analysis *a);
/* The records' index by their ends dropped (merge_finish: after the joins;
 * made again if a look-up comes later). */
void mstate_nbss_ix_done(struct analysis *a);
/* --jobs: src's records into dst's. */
void nbss_edges_fold_mem(struct analysis *dst, const struct analysis *src);

void mstate_build_edge_nbss(struct json *b, const struct analysis *a);
void mstate_fold_edge_nbss(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);

/* Before early and late are joined (their connections[] entries still
 * apart): the NBSS counts of the part without "nbss" given to the other,
 * or kept under early's name when neither part showed NBSS. */
void mstate_join_nbss(struct analysis *a, const struct conn_summary *early, struct conn_summary *late);

/* cs carried NBSS on a port other than 139: packets and bytes another part
 * saw of it, from first to last, added to its NetBIOS row and hosts. */
void mstate_nbss_row_add(struct analysis *a, const struct conn_summary *cs, int64_t first, int64_t last,
                         uint64_t packets, uint64_t bytes);

/* cs now begins at first (mstate_join_hs.c): its record goes by it. */
void mstate_nbss_rename(struct analysis *a, const struct conn_summary *cs, int64_t first);

/* connections[].nbss of a joined connection: the negative responses' error
 * codes of the late part after the early part's, as many as a run keeps
 * (session_join.c does the same for --jobs). */
void mstate_join_neg_codes(JsonObject *early_nbss, JsonObject *late_nbss);

#endif
