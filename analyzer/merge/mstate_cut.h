/* mstate_cut.h - a run's state parsed without its group rows and its
 * integer arrays, which are read one row or one value at a time.
 *
 * A state's "groups" (and "groups_past"'s "groups") may hold MAX_GROUPS
 * rows of up to 128 values, "smb_hosts"' "records" MAX_SMB_HOSTS of up to
 * 32 (leaf_split.c's bounds, the reader's caps): as
 * one json-glib tree (about 90 bytes a value) a forged state of 65,536
 * rows of 58 zeros, a 64 KB report, took 360 MB, and one at the cap would
 * take gigabytes.  So the state's text is parsed with those arrays cut out
 * (each left as "[]" in the tree), and the fold reads their rows from the
 * text a row at a time (mstate_conns.c): one row's tree at a time.
 *
 * The cut is made only where the text is what smbscope writes there: the
 * member's key as written (no escapes), once, its value an array.  Else the
 * member stays in the tree as before (bounded by leaf_split.c's count of
 * its values) and its reader reads the tree.
 *
 * The state's large integer arrays are cut the same way: "group_closes"
 * (one a group row, up to 1 Mi), "end_close_ranks" (up to 4 Mi) and
 * "end_close_lingers", and groups_past's "closes" (its text may hold as
 * many values as groups_past's rows): as one tree a forged
 * end_close_ranks of 4 Mi zeros, an 8 MB report, took 360 MB, and
 * groups_past.closes of 16 Mi values 1.4 GB.  Read a value at a time
 * (mstate_arr_i64()), their count checked against the reader's cap before
 * any is read.  The state's other integer arrays (edge_closes, tail_closes,
 * ...: at most one an edge or a tail, ANALYSIS_MAX_EDGES) are bounded by
 * leaf_split.c's count before the parse. */
#ifndef SMBSCOPE_MSTATE_CUT_H
#define SMBSCOPE_MSTATE_CUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "json.h"

/* the arrays cut: state.groups, state.groups_past.groups, state.smb_hosts.records;
 * the integers state.group_closes, state.groups_past.closes,
 * state.end_close_ranks, state.end_close_lingers; state.inputs (objects
 * of about 30 values, each up to 19 KB with its overlap sketch) */
enum mstate_cut_at {
    MSTATE_CUT_GROUPS,
    MSTATE_CUT_PAST_GROUPS,
    MSTATE_CUT_SMB_HOSTS,
    MSTATE_CUT_GROUP_CLOSES,
    MSTATE_CUT_PAST_CLOSES,
    MSTATE_CUT_END_RANKS,
    MSTATE_CUT_END_LINGERS,
    MSTATE_CUT_INPUTS,
    MSTATE_CUT_N
};

/* Values a cut row may hold before it is parsed: a group row has 58 (30
 * fields, 3 examples of 8), an SMB host record 11, an input about 30 (22
 * members, its overlap sketch and decode outcomes); any more is no row
 * smbscope writes. */
#define MSTATE_CUT_ROW_VALUES 128u

struct mstate_cut {
    const char *text;                 /* the state's text (the caller's, alive while the cut is read) */
    size_t from[MSTATE_CUT_N];        /* the cut arrays' text [from, to), at their '[' (to 0: not cut) */
    size_t to[MSTATE_CUT_N];
    guint n[MSTATE_CUT_N];            /* their elements */
    bool irregular;                   /* a key written with escapes or twice (mstate_cut_parse() NULL) */
};

/* The state's text [text, text + len) parsed with its group rows cut out
 * (*cut says where they are); NULL when it is not JSON (a row's own text is
 * checked as JSON when it is read), or not as smbscope writes it
 * (cut->irregular). */
JsonParser *mstate_cut_parse(const char *text, size_t len, struct mstate_cut *cut);

/* Whether arr is cut (cut NULL: never). */
bool mstate_cut_has(const struct mstate_cut *cut, enum mstate_cut_at at);

/* The rows of a cut array, one at a time. */
struct mstate_rows {
    const char *p;
    size_t i, to;
    JsonParser *parser; /* the last row's tree, freed as the next is read */
};
void mstate_rows_begin(struct mstate_rows *r, const struct mstate_cut *cut, enum mstate_cut_at at);
/* The next row (owned by r, valid until the next call); NULL with *why
 * when it is not JSON or holds more than MSTATE_CUT_ROW_VALUES values. */
JsonNode *mstate_rows_next(struct mstate_rows *r, const char **why);
void mstate_rows_end(struct mstate_rows *r);

/* A member that may be cut, its elements in order: from the tree (not
 * cut) or from the text (cut).  Elements are read in order, each once. */
struct jget;
struct jpath;
struct mstate_arr {
    JsonArray *tree;          /* not cut */
    struct mstate_rows text;  /* cut */
    bool cut;
    guint n, i;               /* its elements, the next one's index */
};
/* Array k of o (p: o's path), cut as `at` when it is: false when g failed
 * or it is missing, not an array or of more than max elements (jget_arr()'s
 * errors; a cut array's count is checked before any element is read). */
bool mstate_arr_open(struct mstate_arr *r, struct jget *g, const struct jpath *p, JsonObject *o, const char *k,
                     guint max, const struct mstate_cut *cut, enum mstate_cut_at at);
/* The same without an error: false when o has no array k. */
bool mstate_arr_peek(struct mstate_arr *r, JsonObject *o, const char *k, const struct mstate_cut *cut,
                     enum mstate_cut_at at);
/* The next element (its path ip for the error): NULL when there is none,
 * or (g failed) when a cut one is not JSON or holds more than
 * MSTATE_CUT_ROW_VALUES values.  Owned by r until the next call. */
JsonNode *mstate_arr_next(struct mstate_arr *r, struct jget *g, const struct jpath *ip);
/* The next element as jget_elem_i64() / jget_elem_u64() read element i of
 * an array at path ap (an integer, else g fails naming it); a cut one read
 * from its text, without a tree when it is an integer as json.c writes it. */
int64_t mstate_arr_i64(struct mstate_arr *r, struct jget *g, const struct jpath *ap);
uint64_t mstate_arr_u64(struct mstate_arr *r, struct jget *g, const struct jpath *ap, uint64_t max);
/* The next element when it is an integer, else 0 (none left, or another
 * value: no error; mstate_close_at()). */
int64_t mstate_arr_peek_i64(struct mstate_arr *r);
void mstate_arr_close(struct mstate_arr *r);

/* The canonical text of the whole state (mstate_put_node() of the tree the
 * text would have parsed to) onto w: the cut rows put back in their place,
 * each parsed alone; false when a row is not JSON or past
 * MSTATE_CUT_ROW_VALUES (the fold refuses such a row: the text is not made). */
bool mstate_cut_put(struct json *w, JsonNode *state, const struct mstate_cut *cut);

#endif
