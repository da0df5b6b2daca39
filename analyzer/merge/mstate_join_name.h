/* mstate_join_name.h - the name the joins know a connection's records by:
 * its two ends whatever side a record lists first, and its first packet
 * (edges, tails, and the records kept beside them: edge_fins, edge_nbss,
 * edge_seqs).  A hash table of names lets a merge of many reports find a
 * record, or test which records an edge still owns, in one look-up instead
 * of a scan of every record (16 x 4,096 of each in merge). */
#ifndef SMBSCOPE_MSTATE_JOIN_NAME_H
#define SMBSCOPE_MSTATE_JOIN_NAME_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "packet.h"

struct mstate_name {
    struct ip_addr lo, hi;
    uint16_t lo_port, hi_port;
    uint8_t pad[2]; /* zero: no implicit padding, hashed and compared as bytes */
    int64_t first;
};
_Static_assert(sizeof(struct mstate_name) == 2 * sizeof(struct ip_addr) + 6 + sizeof(int64_t),
               "struct mstate_name has no implicit padding");

struct mstate_name mstate_name_of(const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp,
                                  int64_t first);

/* A table of names (keys owned by it), each to a record index. */
GHashTable *mstate_name_table(void);
/* Index i under name k unless k already has one (the first record of a
 * name is the one the linear scans found). */
void mstate_name_add_first(GHashTable *t, const struct mstate_name *k, guint i);
/* The index under k; G_MAXUINT: none. */
guint mstate_name_find(GHashTable *t, const struct mstate_name *k);

/* Which of the records recs an edge of edges (struct conn_summary) still
 * owns (a merge's records of connections it joined or folded are not
 * written again): the first record of each edge's name, by one look-up per
 * edge.  name_at(recs, i) names record i.  A new array of recs->len. */
typedef struct mstate_name (*mstate_name_at)(const GArray *recs, guint i);
bool *mstate_name_owned(const GArray *recs, mstate_name_at name_at, const GArray *edges);

#endif
