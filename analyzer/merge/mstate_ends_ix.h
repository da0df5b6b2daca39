/* mstate_ends_ix.h - an array of merge records looked up by their pair of
 * ends, without a walk of the whole array per look-up.
 *
 * The joins find, for each edge, the record of another array that has the
 * edge's ends (either order) -- a syn flow, a tail, a sequence record, a
 * NetBIOS message count -- and each walked the whole array: with a record
 * of each kind per edge, O(edges^2), which 16 cuts of one capture made
 * most of merge's CPU (RESULTS.md: merge's CPU on many parts).  This index
 * keeps, per word of the ends (mstate_ends_word(): either order alike,
 * keyed by a time too when the caller looks up by one), the records'
 * places in array order; a look-up walks only the places of its word, and
 * the caller still checks each one as its walk did, so the first record
 * it takes is the one the walk took.
 *
 * Places are slots: the record's place when it was put.  An array that
 * removes a record in place (g_array_remove_index) tells the index
 * (mstate_ends_ix_removed()): later records move down one place, and
 * mstate_ends_ix_place() gives a slot's place now.  An array that moves
 * its last record into a removed one's place (g_array_remove_index_fast),
 * or renames a record, deletes and puts it again. */
#ifndef SMBSCOPE_MSTATE_ENDS_IX_H
#define SMBSCOPE_MSTATE_ENDS_IX_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "packet.h"

struct mstate_ends_ix;

/* The word of x:xp and y:yp (either order the same); at: a time the
 * look-up matches exactly, 0 when it matches any. */
uint64_t mstate_ends_word(const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp, int64_t at);

/* An empty index for the array arr (arr and the length its puts and
 * removals leave tell mstate_ends_ix_for() whether it still describes the
 * array: an index the array changed behind is built again). */
struct mstate_ends_ix *mstate_ends_ix_new(const void *arr);
void mstate_ends_ix_free(struct mstate_ends_ix *ix);
/* Whether ix describes arr as it is: the same array, its length as the
 * index's puts and removals left it. */
bool mstate_ends_ix_for(const struct mstate_ends_ix *ix, const void *arr, guint len);

/* Slot `slot` has word w (slots of one word kept in ascending order); a
 * slot past the array's length as known appends to it. */
void mstate_ends_ix_put(struct mstate_ends_ix *ix, uint64_t w, guint slot);
/* Slot `slot` of word w no longer in the index (it stays a slot: no move). */
void mstate_ends_ix_del(struct mstate_ends_ix *ix, uint64_t w, guint slot);
/* The slots of word w in ascending order, G_MAXUINT after the last:
 *   for (guint s = mstate_ends_ix_first(ix, w, &it); s != G_MAXUINT; s = mstate_ends_ix_next(ix, &it))
 * A put, delete or removal ends a walk (the caller's walks look first,
 * then take). */
struct mstate_ends_it {
    uint64_t w;
    guint at; /* the entry after the one given, + 1 (0: none) */
};
guint mstate_ends_ix_first(const struct mstate_ends_ix *ix, uint64_t w, struct mstate_ends_it *it);
guint mstate_ends_ix_next(const struct mstate_ends_ix *ix, struct mstate_ends_it *it);

/* Slot `slot` (of word w) removed from the array in place: deleted, and
 * the slots after it one place lower. */
void mstate_ends_ix_removed(struct mstate_ends_ix *ix, uint64_t w, guint slot);
/* The place in the array of a slot not removed. */
guint mstate_ends_ix_place(const struct mstate_ends_ix *ix, guint slot);
/* Place `slot` (of word w) removed by moving the array's last record,
 * of word last_w, into it (g_array_remove_index_fast): slots are places. */
void mstate_ends_ix_removed_fast(struct mstate_ends_ix *ix, uint64_t w, guint slot, uint64_t last_w);

#endif
