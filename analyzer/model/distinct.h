/* distinct.h - count distinct items (addresses, conversations) exactly up to
 * a cap within bounded memory, then estimate (HyperLogLog, labelled as an
 * estimate).  Items are given as 64-bit hashes (distinct_hash()). */
#ifndef SMBSCOPE_DISTINCT_H
#define SMBSCOPE_DISTINCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISTINCT_DEFAULT_CAP (1u << 20) /* 1,048,576 exact; 12 MiB of slots at most */

struct distinct;

struct distinct *distinct_new(uint32_t exact_cap); /* 0 = DISTINCT_DEFAULT_CAP */
/* Only the estimate (16 KiB), for a caller that counts exactly itself. */
struct distinct *distinct_new_estimator(void);
/* The HyperLogLog estimate, whatever the mode. */
uint64_t distinct_estimate(const struct distinct *d);
void distinct_free(struct distinct *d);
/* true when the item was new (exact mode; false once estimating). */
bool distinct_add(struct distinct *d, uint64_t hash);
uint64_t distinct_count(const struct distinct *d);
bool distinct_is_estimate(const struct distinct *d);
/* Whether a hash was added (false once estimating: it cannot tell). */
bool distinct_has(const struct distinct *d, uint64_t hash);
/* The farthest any hash sits from its home slot (tests: the spread). */
uint32_t distinct_longest_probe(const struct distinct *d);

/* Merging counts of several runs (smbscope merge, analyzer/merge/):
 * the exact set's hashes (NULL, 0 once estimating), and the HyperLogLog
 * registers (DISTINCT_HLL_REGS bytes) to take the union of. */
#define DISTINCT_HLL_REGS (1u << 14)
const uint64_t *distinct_slots(const struct distinct *d, uint32_t *nslots); /* 0 entries are empty */
const uint8_t *distinct_hll(const struct distinct *d);
/* The union with another run's registers; it estimates from now on. */
void distinct_union_hll(struct distinct *d, const uint8_t regs[DISTINCT_HLL_REGS]);

/* --jobs' fold (analyzer/merge/fold_mem.c), whose inputs' sets are not
 * read again once folded.  take: an empty exact set takes another's exact
 * set whole (no copy; src is left empty, its registers united into d);
 * false when d is not empty or either estimates.  reserve: room for `more`
 * hashes at once, up to what the exact cap needs (one growth for the union,
 * not doublings while the inputs' sets are alive).  forget: the exact set's
 * memory given back, the registers kept. */
bool distinct_take(struct distinct *d, struct distinct *src);
/* After the last fold, before the report: a set of more than `above`
 * hashes keeps its exact count and its registers, its slots are given back
 * (a merge state writes such a set as those two; distinct_has() is false
 * from now on, distinct_slots() empty, and the set is not folded again). */
void distinct_seal(struct distinct *d, uint32_t above);
/* src counted into d when the caller knows no hash is in both (one file's
 * flows split among threads: each flow in one): counts added and
 * registers united, src's hashes kept nowhere (distinct_has() does not
 * know them), when the two together hold more than `above` (a merge state
 * writes such a set as its count and registers); false otherwise (fold
 * exactly).  Past d's cap it estimates, as the set of both would. */
bool distinct_fold_disjoint(struct distinct *d, struct distinct *src, uint32_t above);
void distinct_reserve(struct distinct *d, uint64_t more);
void distinct_forget(struct distinct *d);

/* A 64-bit hash of n bytes (FNV-1a then a murmur finaliser: HyperLogLog
 * needs well-mixed high bits). */
uint64_t distinct_hash(const void *p, size_t n);

/* A random odd number drawn once per process: the first slot of a hash
 * in a table whose keys come from hostile input (capture addresses,
 * reports' hashes) is its product with it, so nobody outside the process
 * can choose keys that crowd one run of slots. */
uint64_t distinct_process_key(void);
/* For tests only: the key of the tables made from now on (a key known to
 * have crowded a table, and a spread of others, tried in one process). */
void distinct_process_key_set(uint64_t key);

#endif
