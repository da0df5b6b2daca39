/* mstate_leaves.h - the merge state of a merged report: the states of the
 * runs it merged ("leaves"), each whole with its connections[], rather than
 * their sum.
 *
 *   "state": {"leaves": [{"bytes": N, "zlib": "BASE64"}, ...]}
 *
 * each leaf packed: the run's {"state": {...}, "connections": [...]} in
 * canonical text (N bytes), zlib-compressed (format 7; format 6 kept them
 * as they are, ten times the size).
 *
 * Why: merging joins what the parts of one connection (or NetBIOS flow,
 * QUIC tail, exchange cut in two) left at their capture's edges, and a
 * join depends on which parts are there: merge(a, c) joins the connection
 * a left open to the rest c saw, and the part b between them, merged
 * later, can no longer go in its middle.  A sum cannot be taken apart
 * again; the runs' states can be folded again.  So merge folds every run's
 * state it is given (a report's own, or each leaf of a merged report's),
 * joins them all at once, and writes the leaves again: merging is
 * associative and order-independent in any grouping of the parts, next to
 * each other in time or not, because every merge is the flat merge of the
 * runs below it.  The leaves are written in one order (their text), so the
 * same runs give the same bytes.
 *
 * The cost is size: a merged state is its runs' states together (each
 * bounded by the caps of mstate.h).  Past MSTATE_LEAVES_CAP runs or
 * MSTATE_LEAVES_BYTES of their text, a merge writes the folded state
 * instead (the form of a run's), which later merges fold as one run:
 * associative only for parts next to each other in time, as before
 * (README, smbscope merge). */
#ifndef SMBSCOPE_MSTATE_LEAVES_H
#define SMBSCOPE_MSTATE_LEAVES_H

#include <stdbool.h>

#include <json-glib/json-glib.h>

#include "analysis.h"
#include "json.h"
#include "mstate.h"

#define MSTATE_LEAVES_CAP 1024u
#define MSTATE_LEAVES_BYTES (64u << 20)

/* Called after each connections[] entry a packed leaf adds to
 * a->conn_detail_json (merge.c: the entries past what the merged report
 * keeps are dropped as they come, not after the whole report). */
typedef void (*mstate_entry_added)(struct analysis *a, void *ctx);

/* Leaf i of a merged report's leaves parsed on its own (merge.c reads a
 * merged report leaf by leaf: one leaf's tree at a time), folded; false and
 * errbuf as mstate_fold() (mstate_read.c).  A packed leaf is read a piece
 * at a time (leaf_split.h): its state, then each connections[] entry, each
 * folded as it comes (added: NULL or called after each entry). */
bool mstate_fold_leaf(struct analysis *a, guint i, JsonNode *leaf, char *text, size_t len,
                      mstate_entry_added added, void *added_ctx, char *errbuf, size_t errlen);
/* mstate_fold() of a run's state whose leaf text is made (taken; NULL: made here). */
bool mstate_fold_text(struct analysis *a, JsonNode *state, JsonNode *detail, char *text, size_t len, char *errbuf,
                      size_t errlen);
/* A run's report given as the text of its merge_state.state (state, slen)
 * and of its connections[] (conns, clen): read a piece at a time as a
 * packed leaf is (leaf_split.h: the state, its group rows a row at a time
 * (mstate_cut.h), then each entry; added as for mstate_fold_leaf()), its
 * digest taken over the pieces' canonical text and compared with digest,
 * its leaf packed as it goes.  1 folded; 0 refused (errbuf); -1 the digest
 * does not match (the report's JSON and shape checked first, its fold's
 * errors after). */
int mstate_fold_run_text(struct analysis *a, const char *state, size_t slen, const char *conns, size_t clen,
                         const char *digest, mstate_entry_added added, void *added_ctx, char *errbuf, size_t errlen);
/* A leaf object packed ({bytes, zlib}); its text inflated a chunk at a
 * time into feed (false and *why when it is not one smbscope writes, past
 * MERGE_MAX_REPORT_BYTES or not a zlib stream of its bytes: found at the
 * end, after feed has seen what came out). */
bool mstate_leaf_is_packed(JsonObject *o);
typedef void (*mstate_leaf_feed)(void *ctx, const char *p, size_t n);
bool mstate_leaf_stream(JsonObject *o, mstate_leaf_feed feed, void *ctx, const char **why);
/* A leaf's text packed as it is written to the stream returned (NULL: no
 * memory), a piece at a time: mstate_packer_close() gives what pack() of
 * the whole text would ({"bytes": N, "zlib": ...}; free(); NULL: failed). */
struct mstate_packer;
FILE *mstate_packer_open(struct mstate_packer **pk);
char *mstate_packer_close(struct mstate_packer *pk, FILE *f, size_t *len);
/* Whether a's leaves are past the caps already (a leaf kept is dropped). */
bool mstate_leaves_full(struct analysis *a);
/* A packed leaf's text kept as it was read (taken). */
void mstate_leaves_keep_packed(struct analysis *a, char *packed, size_t len);
/* Whether a state object is a merged report's leaves. */
bool mstate_is_leaves(JsonObject *st);
/* A run's verified state and its connections[] (NULL: none) kept as a
 * leaf of a (canonical text: what the digest hashes, packed); or that text
 * made already (mstate_leaf_digest(); taken, freed with free()). */
void mstate_leaves_keep(struct analysis *a, JsonNode *state, JsonNode *detail);
void mstate_leaves_keep_text(struct analysis *a, char *text, size_t len);
/* mstate_digest() of a run's state and connections[], and their leaf text
 * (*text, free(); NULL when it could not be made) from one walk of them. */
void mstate_leaf_digest(JsonNode *state, JsonNode *detail, char out[MSTATE_DIGEST_LEN + 1], char **text,
                        size_t *len);
/* The leaves in their one order (after every report is folded). */
void mstate_leaves_sort(struct analysis *a);
/* Whether a's state is written as its leaves (a merge, within the caps). */
bool mstate_leaves_fit(const struct analysis *a);
/* The state object {"leaves": [...]} onto b. */
void mstate_leaves_put(struct json *b, const struct analysis *a);
void mstate_leaves_free(struct analysis *a);

#endif
