/* hosts.c - records in one array (first-seen order) indexed by an
 * open-addressing table of record numbers; total count by distinct.c. */
#include "hosts.h"

#include <stdlib.h>
#include <string.h>

#include "distinct.h"

#define MAX_LEARNED_BROADCASTS 256

struct host_table {
    struct host_rec *recs;
    uint32_t n, alloc, cap;
    uint32_t *index; /* record number + 1 (num_mask's bits), and above them the tag; 0 = empty */
    uint32_t nindex;
    /* The index slot's bits that hold the record number + 1: as few as the
     * table's records need (cap, or three caps past it), the others the
     * top bits of the address's index hash, so that a probe reads only
     * the records whose tag is the address's: in a table of 50,000 hosts
     * each record passed on the way (one in three looks-up, more for a
     * new host) was a cache miss.  All bits (no tag) once more records
     * come, which the caps do not let happen. */
    uint32_t num_mask;
    struct distinct *all;
    struct ip_addr bcast[MAX_LEARNED_BROADCASTS];
    uint32_t nbcast;
    bool overflowed;
    bool folded_estimate; /* smbscope merge: another run's addresses past a cap, as an estimate */
    uint32_t generation;  /* changes when records move to other numbers (sort) */
};

static uint64_t addr_hash(const struct ip_addr *a) { return distinct_hash(a, sizeof *a); }

/* The index's own hash: two word multiplies instead of addr_hash()'s byte
 * loop (hosts are looked up twice per SMB connection).  addr_hash() still
 * feeds the estimator, whose registers a merge state carries. */
static uint32_t index_hash(const struct ip_addr *a)
{
    uint64_t lo, hi;
    memcpy(&lo, a->bytes, 8);
    memcpy(&hi, a->bytes + 8, 8);
    uint64_t h = (lo ^ a->family) * UINT64_C(0x9E3779B97F4A7C15) ^ hi * UINT64_C(0xC2B2AE3D27D4EB4F);
    h ^= h >> 29;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    return (uint32_t)(h >> 32);
}

static bool addr_eq(const struct ip_addr *a, const struct ip_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

struct host_table *host_table_new(uint32_t cap)
{
    struct host_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cap = cap ? cap : HOST_DEFAULT_CAP;
    uint64_t most = 3 * (uint64_t)t->cap + 1; /* record number + 1, past the cap too */
    t->num_mask = 1;
    while (t->num_mask < most && t->num_mask != UINT32_MAX)
        t->num_mask = t->num_mask << 1 | 1;
    t->all = distinct_new_estimator(); /* the records count exactly; the estimate is for past the cap */
    if (!t->all) {
        free(t);
        return NULL;
    }
    return t;
}

void host_table_free(struct host_table *t)
{
    if (!t)
        return;
    free(t->recs);
    free(t->index);
    distinct_free(t->all);
    free(t);
}

/* The slot of address a (hash: index_hash(a)): its record's, or the
 * empty one where it would go. */
static uint32_t *slot_h(const struct host_table *t, const struct ip_addr *a, uint32_t hash)
{
    uint32_t mask = t->nindex - 1, tag = hash & ~t->num_mask;
    for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
        uint32_t v = t->index[i];
        if (!v || ((v & ~t->num_mask) == tag && addr_eq(&t->recs[(v & t->num_mask) - 1].addr, a)))
            return &t->index[i];
    }
}

static uint32_t *slot(const struct host_table *t, const struct ip_addr *a) { return slot_h(t, a, index_hash(a)); }

/* Record number `number` (0-based) put in the index. */
static void index_put(struct host_table *t, uint32_t number)
{
    const struct ip_addr *a = &t->recs[number].addr;
    uint32_t h = index_hash(a);
    *slot_h(t, a, h) = (h & ~t->num_mask) | (number + 1);
}

/* Every record indexed again (the index cleared before). */
static void index_all(struct host_table *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        index_put(t, i);
}

struct host_rec *host_table_find(const struct host_table *t, const struct ip_addr *a)
{
    if (!t->nindex)
        return NULL;
    uint32_t *s = slot(t, a);
    return *s ? &t->recs[(*s & t->num_mask) - 1] : NULL;
}

uint32_t host_table_warm(const struct host_table *t, const struct ip_addr *a, int ahead)
{
    if (!t->nindex)
        return 0;
    uint32_t h = index_hash(a), mask = t->nindex - 1, tag = h & ~t->num_mask;
    const uint32_t *s = &t->index[h & mask];
    if (ahead >= 2) {
        __builtin_prefetch(s);
        return 0;
    }
    /* the first slot with the address's tag within a few (the record
     * most likely its own) */
    for (uint32_t k = 0; k < 4; k++) {
        uint32_t v = t->index[(h + k) & mask];
        if (!v)
            return 0;
        if ((v & ~t->num_mask) == tag) {
            __builtin_prefetch(&t->recs[(v & t->num_mask) - 1]);
            return v & t->num_mask;
        }
    }
    return 0;
}

static bool grow(struct host_table *t)
{
    if (t->n == t->alloc) {
        /* doubling up to the cap; past it (host_table_get_past_cap()) a
         * quarter cap at a time: what --jobs takes past a cap is a share of
         * it, and a doubled table at the cap held twice its records */
        uint32_t n = !t->alloc ? 256 : t->alloc >= t->cap ? t->alloc + (t->cap / 4 ? t->cap / 4 : 1) : t->alloc * 2;
        struct host_rec *r = realloc(t->recs, (size_t)n * sizeof *r);
        if (!r)
            return false;
        t->recs = r;
        t->alloc = n;
    }
    bool untag = t->n + 1 >= t->num_mask; /* the next number + 1 would reach the tag's bits */
    if ((uint64_t)(t->n + 1) * 2 > t->nindex || untag) {
        uint32_t n = (uint64_t)(t->n + 1) * 2 > t->nindex ? (t->nindex ? t->nindex * 2 : 512) : t->nindex;
        uint32_t *old = t->index;
        t->index = calloc(n, sizeof *t->index);
        if (!t->index) {
            t->index = old;
            return false;
        }
        free(old);
        t->nindex = n;
        if (untag)
            t->num_mask = UINT32_MAX;
        index_all(t);
    }
    return true;
}

static struct host_rec *seen(struct host_rec *r, int64_t ts)
{
    if (ts < r->first_seen)
        r->first_seen = ts;
    if (ts > r->last_seen)
        r->last_seen = ts;
    return r;
}

uint32_t host_table_number(const struct host_table *t, const struct host_rec *r) { return (uint32_t)(r - t->recs); }
uint32_t host_table_generation(const struct host_table *t) { return t->generation; }
struct host_rec *host_table_touch(struct host_table *t, uint32_t number, int64_t ts)
{
    return number < t->n ? seen(&t->recs[number], ts) : NULL;
}

static struct host_rec *get(struct host_table *t, const struct ip_addr *a, int64_t ts, uint32_t cap)
{
    struct host_rec *r = host_table_find(t, a);
    if (r)
        return seen(r, ts);
    distinct_add(t->all, addr_hash(a));
    if (t->n >= cap || !grow(t)) {
        t->overflowed = true; /* an address without a record: from now on the count is an estimate */
        return NULL;
    }
    r = &t->recs[t->n];
    memset(r, 0, sizeof *r);
    r->addr = *a;
    r->first_seen = r->last_seen = ts;
    t->n++;
    index_put(t, t->n - 1);
    return r;
}

struct host_rec *host_table_get(struct host_table *t, const struct ip_addr *a, int64_t ts)
{
    return get(t, a, ts, t->cap);
}

void host_table_count_only(struct host_table *t, const struct ip_addr *a)
{
    if (host_table_find(t, a))
        return;
    distinct_add(t->all, addr_hash(a));
    t->overflowed = true;
}

struct host_rec *host_table_get_past_cap(struct host_table *t, const struct ip_addr *a, int64_t ts, uint32_t bound)
{
    return get(t, a, ts, bound > t->cap ? bound : t->cap);
}

uint64_t host_table_total(const struct host_table *t, bool *estimate)
{
    bool full = (t->n >= t->cap && t->overflowed) || t->folded_estimate;
    if (estimate)
        *estimate = full;
    if (!full)
        return t->n;
    uint64_t e = distinct_estimate(t->all);
    return e > t->n ? e : t->n;
}

uint32_t host_table_size(const struct host_table *t) { return t->n; }
struct host_rec *host_table_at(const struct host_table *t, uint32_t i) { return i < t->n ? &t->recs[i] : NULL; }

bool host_is_broadcast(const struct host_table *t, const struct ip_addr *a)
{
    if (a->family == 4 && ((a->bytes[0] & 0xF0) == 0xE0 || (a->bytes[0] == 255 && a->bytes[1] == 255 &&
                                                            a->bytes[2] == 255 && a->bytes[3] == 255)))
        return true;
    if (a->family == 6 && a->bytes[0] == 0xFF)
        return true;
    for (uint32_t i = 0; t && i < t->nbcast; i++)
        if (addr_eq(&t->bcast[i], a))
            return true;
    return false;
}

void host_table_learn_broadcast(struct host_table *t, const struct ip_addr *a)
{
    if (host_is_broadcast(t, a) || t->nbcast >= MAX_LEARNED_BROADCASTS)
        return;
    t->bcast[t->nbcast++] = *a;
}

void host_table_fold(struct host_table *t, const struct host_rec *r)
{
    struct host_rec *h = host_table_get(t, &r->addr, r->first_seen);
    if (!h)
        return;
    if (r->last_seen > h->last_seen)
        h->last_seen = r->last_seen;
    h->nb_roles |= r->nb_roles;
    h->services_sent |= r->services_sent;
    h->refused |= r->refused;
    h->nb_flows += r->nb_flows;
    h->nb_flows_served += r->nb_flows_served;
    h->nb_flows_unlisted += r->nb_flows_unlisted;
    h->nb_packets_sent += r->nb_packets_sent;
}

void host_table_unjoin_nb_flow(struct host_table *t, const struct ip_addr *client, const struct ip_addr *server)
{
    struct host_rec *c = host_table_find(t, client);
    struct host_rec *s = host_is_broadcast(t, server) ? NULL : host_table_find(t, server);
    if (c && c->nb_flows)
        c->nb_flows--;
    if (s && s->nb_flows_served)
        s->nb_flows_served--;
}

void host_table_fold_estimate(struct host_table *t, const uint8_t *regs)
{
    distinct_union_hll(t->all, regs);
    t->folded_estimate = true;
}

uint32_t host_table_broadcasts(const struct host_table *t, const struct ip_addr **addrs)
{
    *addrs = t->bcast;
    return t->nbcast;
}

struct distinct *host_table_all(struct host_table *t) { return t->all; }

static int rec_order(const void *pa, const void *pb)
{
    const struct host_rec *a = pa, *b = pb;
    if (a->first_seen != b->first_seen)
        return a->first_seen < b->first_seen ? -1 : 1;
    if (a->addr.family != b->addr.family)
        return a->addr.family < b->addr.family ? -1 : 1;
    return memcmp(a->addr.bytes, b->addr.bytes, sizeof a->addr.bytes);
}

void host_table_sort(struct host_table *t)
{
    if (!t->n)
        return;
    qsort(t->recs, t->n, sizeof *t->recs, rec_order);
    t->generation++;
    memset(t->index, 0, (size_t)t->nindex * sizeof *t->index);
    index_all(t);
}

uint32_t host_table_cap(const struct host_table *t) { return t->cap; }
