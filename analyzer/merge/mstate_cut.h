/* mstate_cut.h - a run's state parsed without its group rows, which are
 * read one row at a time.
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
 * its values) and its reader reads the tree. */
#ifndef SMBSCOPE_MSTATE_CUT_H
#define SMBSCOPE_MSTATE_CUT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-glib/json-glib.h>

#include "json.h"

/* the arrays cut: state.groups, state.groups_past.groups, state.smb_hosts.records */
enum mstate_cut_at { MSTATE_CUT_GROUPS, MSTATE_CUT_PAST_GROUPS, MSTATE_CUT_SMB_HOSTS, MSTATE_CUT_N };

/* Values a cut row may hold before it is parsed: a group row has 58 (30
 * fields, 3 examples of 8), an SMB host record 11; any more is no row
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

/* The canonical text of the whole state (mstate_put_node() of the tree the
 * text would have parsed to) onto w: the cut rows put back in their place,
 * each parsed alone; false when a row is not JSON or past
 * MSTATE_CUT_ROW_VALUES (the fold refuses such a row: the text is not made). */
bool mstate_cut_put(struct json *w, JsonNode *state, const struct mstate_cut *cut);

#endif
