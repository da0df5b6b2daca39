/* mstate_groups_past.h - a run's connections past its connection groups'
 * cap, kept finer for smbscope merge.
 *
 * A run's capped table (conn_groups.h) admits its own first `cap`
 * combinations with both addresses and folds every later one into a
 * group without the client (any-client, cap/4 of them), then without
 * either address (any-host).  One run over several parts fills those
 * levels with the first parts' combinations: a later part's connections
 * it folds by server where the later part's own run, its levels still
 * filling, dropped the server, or keeps with both addresses where that
 * run folded them.  Merge cannot undo a fold, so a run keeps what it
 * needs beside its groups, as state.groups_past {"groups": [...],
 * "closes": [...], "keys": {"n": N, "b64": ...}, "unkept": N}:
 *   - "groups": the connections whose server its capped table dropped
 *     (any-host, other), by server (up to `cap` servers, then cap/4
 *     without addresses), their "closes" numbered as the groups' are
 *     (mstate_group_order.h); merge reads them in place of the state's
 *     groups without a server and admits them in one run's order;
 *   - "keys": every combination its capped table folded, as a 32-bit hash
 *     (mstate_groups_past.c: the same in every build) and its
 *     connections (at most GROUPS_PAST_KEYS_CAP: 4 bytes and a LEB128
 *     count each, base64), so that merge counts the connections whose
 *     combination its own capped full level holds: one run over the parts
 *     met it first in an earlier part and keeps them with both addresses,
 *     where this run folded them (stats.merged.state_folded.
 *     connection_groups: the groups there may differ from that run's);
 *   - "unkept": connections the run could not list (past the cap, or
 *     past this table's servers), counted there too.
 * Following those connections exactly would need every combination a run
 * saw with its counts, times and examples: one per connection at worst,
 * unbounded; a merge whose combinations do not recur across parts (each
 * client once) is exact.  A state without the member (an older smbscope,
 * --jobs, a merged state past its leaves) is read as before; an older
 * smbscope ignores the member and reads the groups as before (its merge
 * differs from the run over the parts there, unlabelled, as it did). */
#ifndef SMBSCOPE_MSTATE_GROUPS_PAST_H
#define SMBSCOPE_MSTATE_GROUPS_PAST_H

#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "conn_groups.h"
#include "conn_summary.h"

struct analysis;
struct json;
struct jget;
struct jpath;

#define GROUPS_PAST_KEYS_CAP 32768u /* hashes a run lists: 512 KiB held, about 220 KB of base64 */
#define GROUPS_PAST_MERGE_KEYS (1u << 21) /* hashes merge holds from all its states (16 MiB) */

/* A run, before cs goes into a->groups: when their full level is at its
 * cap (cs may fold there), cs's hash (never 0), its slot fetched into the
 * cache while the groups place cs (the table is up to 512 KiB: a miss per
 * connection closed past the cap); 0 otherwise. */
uint32_t groups_past_ahead(struct analysis *a, const struct conn_summary *cs);
/* A run: cs was just added to a->groups and folded there (not at the full
 * level); by_server: the connections its any-client level held before;
 * hash: groups_past_ahead()'s (0: computed here). */
void groups_past_note(struct analysis *a, const struct conn_summary *cs, uint64_t by_server, uint32_t hash);
/* --jobs over one file (fold_mem.c): a thread's group of one combination
 * (its full key) just added to a->groups and folded there, as
 * groups_past_note() notes each of its connections (by_server: as there;
 * close: the number, one run's, of the close that made the group). */
void groups_past_note_group(struct analysis *a, const struct conn_group *grp, uint64_t by_server, int64_t close);
void groups_past_free(struct analysis *a);

/* The state member (nothing when the run folded nothing, or is not one
 * run: merge, --jobs); rows written by put_row, first seen first. */
void groups_past_build(struct json *b, const struct analysis *a,
                       void (*put_row)(struct json *b, const struct conn_group *grp));

/* Merge: a state's "keys" and "unkept" (o: its groups_past object). */
void groups_past_fold_keys(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *o);
/* After the capped table is filled: the connections listed under a
 * combination it holds at the full level, and those not listed. */
uint64_t groups_past_misplaced(struct analysis *a, const struct conn_groups *capped);

/* Merge, while one state is folded: a row of its groups_past.groups read
 * (k: its key).  Then groups_past_level() says where merge holds one of
 * that state's connections its run put at `level`: the state's groups
 * without a server are read from groups_past in their place (by server:
 * any-client, or any-host, other past its servers), so a row of
 * state.syn_starts its run folded there is in those (mstate_syn_starts.c
 * restarts the group merge holds it in).  groups_past_state_done() after
 * the state. */
void groups_past_row_read(struct analysis *a, const struct conn_group_key *k);
/* Merge, before groups_past_misplaced(): cs, a connection a run folded,
 * is placed as the run over the parts places it (mstate_group_order_unfold()):
 * taken out of the listed combinations. */
void groups_past_unfolded(struct analysis *a, const struct conn_summary *cs);
uint8_t groups_past_level(struct analysis *a, const struct conn_summary *cs, uint8_t level);
void groups_past_state_done(struct analysis *a);

#endif
