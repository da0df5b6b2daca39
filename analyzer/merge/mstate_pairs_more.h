/* mstate_pairs_more.h - the census pairs past the state's MSTATE_PAIRS_CAP,
 * carried whole (census.pairs_more).
 *
 * A pair (SYNs from one client to one server on TCP 139 and 445) decides
 * the findings nbt-only and the 139/445 race.  The state lists 2,048 of
 * them as JSON; a run holds up to CENSUS_MAX_PAIRS.  Before, the rest were
 * folded: counted in pairs_folded and their SYNs as not tracked, so the
 * merge of a run's own report of 12,000 NetBIOS clients found nbt-only on
 * 2,048 pairs where the run found 7,200 (and said 5,152 pairs "folded" in
 * stats, nothing in findings_summary).  They now follow as one zlib stream
 * of binary records (mstate_zrec.h), and pairs_folded / pair_syns_folded
 * still count them: a reader that does not know pairs_more folds the state
 * as before; one that does takes them back out of those counts. */
#ifndef SMBSCOPE_MSTATE_PAIRS_MORE_H
#define SMBSCOPE_MSTATE_PAIRS_MORE_H

#include <stdint.h>

#include "census.h"
#include "jget.h"
#include "json.h"

/* census.pairs_more: the n pairs at slots[0..n) of c, in that order. */
void mstate_put_pairs_more(struct json *b, const struct census *c, const uint32_t *slots, uint32_t n);

/* census.pairs_more of o (the census object at cp), when there, folded into
 * c; *pairs and *syns: how many pairs and SYNs it carried (0 without it),
 * to be taken out of pairs_folded and pair_syns_folded. */
void mstate_fold_pairs_more(struct jget *g, const struct jpath *cp, struct census *c, JsonObject *o, uint64_t *pairs,
                            uint64_t *syns);

#endif
