/* leaf_split.h - a packed leaf's text cut into the pieces merge parses,
 * as it is inflated (mstate_leaves.h).
 *
 * A leaf's text is {"state":S,"connections":[E1,E2,...]} (mstate_leaves.c
 * writes it in that order, compact).  json-glib's tree costs about 40 bytes
 * per byte of dense JSON and a leaf may claim 256 times its zlib stream, so
 * the text is never parsed whole, nor even kept whole: it is fed a chunk at
 * a time, and each piece (S, then each entry E) is handed on as soon as it
 * ends, its text alone (a piece is buffered only while it is cut across
 * chunks).  So merge holds the text and tree of one piece at a time.
 *
 * The same depth and members bounds as merge_json_checked() are kept over
 * the whole text, with the same offsets, and win over any other error (as
 * the check of the whole text ran before its parse did); then a text that
 * is not JSON or not of this shape; then the pieces' own errors (what the
 * consumer failed on).  An entry may hold at most LEAF_ENTRY_VALUES values,
 * and each member of the state what the reader's caps let it hold, counted
 * before anything is parsed (leaf_split.c): so the tree of a piece is at
 * most what a state or an entry smbscope writes can cost. */
#ifndef SMBSCOPE_LEAF_SPLIT_H
#define SMBSCOPE_LEAF_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merge.h"

enum leaf_piece { LEAF_PIECE_STATE, LEAF_PIECE_ENTRY };

/* What the consumer made of a piece: folded; not JSON (the split reports
 * it); or failed (the consumer holds its own error: later pieces are still
 * handed on, to be checked as JSON, and the split's errors win over it). */
enum leaf_took { LEAF_TOOK, LEAF_NOT_JSON, LEAF_FAILED };

typedef enum leaf_took (*leaf_piece_fn)(void *ctx, enum leaf_piece kind, const char *text, size_t len);

/* Values (containers and the members or elements inside them) an entry of
 * connections[] may hold: the largest one smbscope could write has about
 * 2,400 (report_json_conn.c at every cap: 32 sessions of up to 24 values,
 * 64 shares of 8, 16 negotiate contexts a side of up to 22, 64 + 32
 * dialects, the bits); the samples' largest has 209, a typical one 60-100.
 * json-glib keeps about 90 bytes a value: an entry's tree is at most
 * about 370 KB, and merge keeps a few hundred entries past the joins. */
#define LEAF_ENTRY_VALUES 4096u
/* Values a member of the state may hold when it is none of the large ones
 * (leaf_split.c's table): an edge array of ANALYSIS_MAX_EDGES rows of up to
 * 128 values; the members this smbscope does not write (a later one's, or
 * a forger's: the reader ignores them) share this many in all. */
#define LEAF_STATE_MEMBER_VALUES (4096u * 128u)

struct leaf_split {
    leaf_piece_fn fn;
    void *ctx;
    int phase;
    size_t at;          /* bytes fed so far */
    /* the depth and members scan (merge.c nesting()) */
    bool in_str, escaped;
    int depth;
    bool object[MERGE_MAX_DEPTH + 1];
    uint32_t members[MERGE_MAX_DEPTH + 1];
    /* a key of the leaf object being read */
    char key[16];
    size_t key_len;
    bool key_long;
    /* the piece being read: its depth, values, text held across chunks */
    int piece_depth;
    uint64_t piece_values;
    char *buf;
    size_t buf_len, buf_cap;
    /* the state's members: the key being read, the member's values and
     * bound, the values of members this smbscope does not write */
    bool st_key_next, st_in_key, st_key_long;
    char st_key[32];
    size_t st_key_len;
    uint64_t st_values, st_max, st_unknown;
    bool st_member_unknown;
    bool consumer_failed;
    /* what a text that is not JSON is called (a packed leaf's: its zlib
     * stream's; a run's report fed as a leaf says "not JSON") */
    const char *not_json;
    /* errors, by rank: the depth/members scan's, then shape or JSON's */
    char nest_err[160];
    char shape_err[160];
};

void leaf_split_init(struct leaf_split *s, leaf_piece_fn fn, void *ctx);
void leaf_split_feed(struct leaf_split *s, const char *p, size_t n);
/* After the last byte: 0 the text was whole and every piece taken; 1 the
 * split's error in err; 2 the consumer failed (its error is its own). */
int leaf_split_end(struct leaf_split *s, char *err, size_t errlen);
void leaf_split_free(struct leaf_split *s);

#endif
