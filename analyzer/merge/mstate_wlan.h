/* mstate_wlan.h - an 802.11 MSDU completed in one part and the retry of
 * its last fragment in the next, carried in the merge state and taken back
 * by merge (issue 13, review R5).
 *
 * A capture cut between an MSDU's last fragment and that fragment sent
 * again with the Retry bit (its ACK lost) leaves the retry alone at the
 * start of the later part: no MSDU of its key open, an empty done-ring, so
 * the part counts a lost MSDU (fragment_datagrams_lost, dropped_malformed)
 * where the run over both parts, its done-ring holding the MSDU, counts a
 * duplicate fragment.  The later part alone cannot know, the earlier part
 * alone neither; so each run's state carries what wlan_defrag.h keeps for
 * this (both sides, a few records each):
 *
 *   "wlan_frags": {"done": [[ADDRS, seq, last, ts], ...],
 *                  "open": [[ADDRS, seq], ...],
 *                  "retries": [[ADDRS, seq, frag, ts, done], ...]}
 *
 * ADDRS the receiver's and transmitter's addresses (24 hex digits), seq
 * the sequence number; done: the run's done-ring, oldest first (the last
 * WLAN_DEFRAG_SLOTS MSDUs it completed: last, the last fragment's number,
 * ts when); open: the MSDUs open at its end; retries: the lone retried
 * last fragments it counted lost while it had completed fewer than
 * WLAN_DEFRAG_SLOTS MSDUs (done: how many), each at most WLAN_DEFRAG_SLOTS.
 * Written only when one of them is not empty (a capture without 802.11
 * fragments writes nothing more).
 *
 * merge walks the runs in the order of their first packet and keeps the
 * ring the run over them would have (the last WLAN_DEFRAG_SLOTS of the
 * runs' rings in turn): a run's retry is a duplicate when an MSDU of the
 * earlier runs still in that ring after the retry's own run had completed
 * `done` more (the last WLAN_DEFRAG_SLOTS - done) has its key, its last
 * fragment's number and completed at most the reassembly timeout before
 * it, as wlan_defrag.c's done_repeat() decides; its loss is then taken
 * back (dropped_malformed one less, duplicates one more).  An MSDU of the
 * ring whose key a later run (or its own) held open at its end is not
 * matched (the run over them would have found that MSDU open instead: the
 * parts' counts stay).  Past the bounds, a merge written folded (past
 * mstate_leaves.h's caps: it writes none) and an older smbscope's states
 * (none): the losses stay as the parts counted them. */
#ifndef SMBSCOPE_MSTATE_WLAN_H
#define SMBSCOPE_MSTATE_WLAN_H

#include <json-glib/json-glib.h>

#include "analysis.h"
#include "jget.h"
#include "json.h"

/* state.wlan_frags of a run (its 802.11 defragmenter); nothing when there
 * is none, and nothing from a merge.  A --jobs run reads 802.11 in one
 * run (split_feed.c gives the split up at its first 802.11 record): no
 * thread holds a defragmenter to carry. */
void mstate_put_wlan(struct json *b, const struct analysis *a);

/* state.wlan_frags of st, when there, kept for mstate_wlan_join(). */
void mstate_fold_wlan(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);

/* After every report is folded: the retries the run over the parts counts
 * as duplicates, their losses taken back. */
void mstate_wlan_join(struct analysis *a);

void mstate_wlan_free(struct analysis *a);

#endif
