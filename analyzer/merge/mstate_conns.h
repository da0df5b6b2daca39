/* mstate_conns.h - the SMB connections' part of the merge state: the
 * policy the run judged them under (their groups hold rule bits), the
 * connection groups, the SMB hosts, and how many connections were
 * detailed; the detailed entries themselves are the report's own
 * connections[] (covered by the digest, carried verbatim). */
#ifndef SMBSCOPE_MSTATE_CONNS_H
#define SMBSCOPE_MSTATE_CONNS_H

#include <stdbool.h>

#include <json-glib/json-glib.h>

#include "analysis.h"
#include "jget.h"
#include "json.h"
#include "mstate_cut.h"

void mstate_build_conns(struct json *b, const struct analysis *a);
/* The policy as the state holds it. */
JsonNode *mstate_policy_node(const struct policy *p);

/* Fold the groups and hosts; the report's connections[] entries (detail)
 * join a->conn_detail_json.  detail NULL: the caller moves the kept
 * connections into a->conns itself (--jobs). */
/* cut: the state's group rows cut out of its tree (mstate_cut.h), or NULL. */
void mstate_fold_conns(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, JsonNode *detail,
                       const struct mstate_cut *cut);

#endif
