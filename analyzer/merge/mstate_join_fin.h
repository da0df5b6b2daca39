/* mstate_join_fin.h - a TCP connection whose FIN exchange was cut between
 * parts: one part saw one side's FIN, the next the other's (with the last
 * ACK: a tail, mstate_tails.h, or the rest of the connection).  Each part
 * closed it as open at its end ("end"); the run over both saw a FIN each
 * way and closes it "fin" (flow.c: natural_reason).  A run keeps, for each
 * TCP edge connection and each tail that saw a FIN, which side sent one
 * ("edge_fins", at most one record per edge and per tail); merge unites
 * them when it joins parts, and a connection with a FIN each way ends
 * "fin" (stream.end too). */
#ifndef SMBSCOPE_MSTATE_JOIN_FIN_H
#define SMBSCOPE_MSTATE_JOIN_FIN_H

#include <json-glib/json-glib.h>

#include "conn_summary.h"
#include "flow.h"
#include "jget.h"
#include "json.h"

struct analysis;

/* A closed TCP connection c (an edge, or a tail: first_ts is its record's
 * first packet) noted when it saw a FIN and was open at its capture's end. */
void fin_note(struct analysis *a, const struct flow_conn *c, int64_t first_ts, const char *close_reason);
void fin_recs_free(struct analysis *a);

/* A connection closed at its capture's end while it lingered after a FIN
 * each way (flow.h: late ACKs), one of them not acknowledged: the next
 * capture may hold that last ACK (mstate_tails.h joins it).  Whether the
 * run keeps it as an edge (true; at most FIN_LINGER_CAP, the rest counted
 * in state_folded.fin_lingers: "edge_lingers_folded" in the state).  The
 * flow table lets at most max_closed connections linger at once (1,024 by
 * default), and of those only the ones whose exchange the end cut. */
#define FIN_LINGER_CAP 1024u
bool fin_linger_note(struct analysis *a, const struct conn_summary *cs, const struct flow_conn *c);
/* What of that a summary shows, and merge tests again: a TCP connection
 * seen from its start that ended "fin". */
bool fin_linger_summary(const struct conn_summary *cs);
void fin_recs_fold_mem(struct analysis *dst, const struct analysis *src);

void mstate_build_edge_fins(struct json *b, const struct analysis *a);
void mstate_fold_edge_fins(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);

/* The FINs of early and of the part joined to it (late: an edge record or
 * a tail, named by its ends and first packet) united under early's name;
 * true when the connection has now seen a FIN each way. */
bool mstate_join_fins(struct analysis *a, const struct conn_summary *early, const struct ip_addr *late_client,
                      uint16_t late_client_port, const struct ip_addr *late_server, uint16_t late_server_port,
                      int64_t late_first_ts);

/* cs now begins at first (mstate_join_hs.c): its record goes by it. */
void mstate_fins_rename(struct analysis *a, const struct conn_summary *cs, int64_t first);

#endif
