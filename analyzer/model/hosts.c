/* hosts.c - records in one array (first-seen order) indexed by an
 * open-addressing table of record numbers; total count by distinct.c. */
#include "hosts.h"

#include <stdlib.h>
#include <string.h>

#include "distinct.h"
#include "past_cap.h"

#define MAX_LEARNED_BROADCASTS 256

/* One family's part of the compact set: open addressing, keys of `width`
 * bytes beside a bits byte (0 = empty slot). */
struct compact {
    uint8_t *keys, *bits;
    uint32_t nslots, n, width;
    uint64_t key; /* distinct_process_key(), kept here: the hash asked for it per address */
};

struct host_table {
    struct host_rec *recs;
    uint32_t n, alloc, cap;
    uint32_t *index; /* record number + 1 (num_mask's bits), and above them the tag; 0 = empty */
    uint32_t nindex;
    /* The index slot's bits that hold the record number + 1: as few as the
     * table's records need (cap, or PAST_CAP_CAPS caps past it), the others the
     * top bits of the address's index hash, so that a probe reads only
     * the records whose tag is the address's: in a table of 50,000 hosts
     * each record passed on the way (one in three looks-up, more for a
     * new host) was a cache miss.  All bits (no tag) once more records
     * come, which the caps do not let happen. */
    uint32_t num_mask;
    uint64_t key;         /* distinct_process_key(): the index's hash is keyed by it */
    struct distinct *all;
    struct ip_addr bcast[MAX_LEARNED_BROADCASTS];
    uint32_t nbcast;
    bool overflowed;
    bool folded_estimate; /* smbscope merge: another run's addresses past a cap, as an estimate */
    uint32_t generation;  /* changes when records move to other numbers (sort) */
    bool compact_on;      /* host_table_new_compact(): past the cap, c4 and c6 */
    struct compact c4, c6;
};

static uint64_t addr_hash(const struct ip_addr *a) { return distinct_hash(a, sizeof *a); }

/* The index's own hash: two word multiplies instead of addr_hash()'s byte
 * loop (hosts are looked up twice per SMB connection).  addr_hash() still
 * feeds the estimator, whose registers a merge state carries. */
static uint32_t words_hash(uint64_t lo, uint64_t hi)
{
    uint64_t h = lo * UINT64_C(0x9E3779B97F4A7C15) ^ hi * UINT64_C(0xC2B2AE3D27D4EB4F);
    h ^= h >> 29;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    return (uint32_t)(h >> 32);
}

/* Keyed by the process's random number, as the compact set's: the
 * addresses are the capture's (or a merged report's), and with a fixed
 * mix anyone could list addresses whose hashes share the index's low bits
 * and make every look-up walk one run of slots; the index is never walked
 * in its slots' order, so nothing written depends on the key. */
static uint32_t index_hash(const struct host_table *t, const struct ip_addr *a)
{
    uint64_t lo, hi;
    memcpy(&lo, a->bytes, 8);
    memcpy(&hi, a->bytes + 8, 8);
    return words_hash(lo ^ a->family ^ t->key, hi ^ (t->key >> 7 | t->key << 57));
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
    t->key = distinct_process_key();
    uint64_t most = PAST_CAP_CAPS * (uint64_t)t->cap + 1; /* record number + 1, past the cap too */
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

struct host_table *host_table_new_compact(uint32_t cap)
{
    struct host_table *t = host_table_new(cap);
    if (t) {
        t->compact_on = true;
        t->c4 = (struct compact){ .width = 4, .key = t->key };
        t->c6 = (struct compact){ .width = 16, .key = t->key };
    }
    return t;
}

void host_table_free(struct host_table *t)
{
    if (!t)
        return;
    free(t->c4.keys);
    free(t->c4.bits);
    free(t->c6.keys);
    free(t->c6.bits);
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

static uint32_t *slot(const struct host_table *t, const struct ip_addr *a) { return slot_h(t, a, index_hash(t, a)); }

/* Record number `number` (0-based) put in the index. */
static void index_put(struct host_table *t, uint32_t number)
{
    const struct ip_addr *a = &t->recs[number].addr;
    uint32_t h = index_hash(t, a);
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
    uint32_t h = index_hash(t, a), mask = t->nindex - 1, tag = h & ~t->num_mask;
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

/* ---- the compact set ---------------------------------------------------- */

static struct compact *family_set(struct host_table *t, const struct ip_addr *a)
{
    return a->family == 4 ? &t->c4 : a->family == 6 ? &t->c6 : NULL;
}

static uint32_t compact_hash(const struct compact *c, const uint8_t *k)
{
    uint64_t lo, hi = 0;
    if (c->width == 4) {
        uint32_t v;
        memcpy(&v, k, 4);
        lo = v;
    } else {
        memcpy(&lo, k, 8);
        memcpy(&hi, k + 8, 8);
    }
    /* keyed by the process's random number: the addresses are the capture's,
     * and with a fixed mix anyone could list those whose hashes crowd the
     * table's first slots (30,000 such NBNS sources took 38 s, random ones
     * 0.6 s); the set is counted, never walked in its slots' order */
    uint64_t key = c->key;
    return words_hash(lo ^ key, hi ^ (key >> 7 | key << 57)); /* the index's (index_hash) */
}

/* A key's home slot: the hash scaled to the table, any size. */
static inline uint32_t compact_home(const struct compact *c, uint32_t hash)
{
    return (uint32_t)(((uint64_t)hash * c->nslots) >> 32);
}

/* The slot of key k from slot i (its home) on: its entry, or the empty
 * slot where it goes.  The compare is by width, inline (memcmp of a
 * width only known at run time was a call per slot passed: a third of
 * folding a merge state's two million compact hosts). */
static inline uint32_t compact_slot_from(const struct compact *c, const uint8_t *k, uint32_t i)
{
    if (c->width == 4) {
        uint32_t v, x;
        memcpy(&v, k, 4);
        for (;; i = i + 1 == c->nslots ? 0 : i + 1) {
            if (!c->bits[i])
                return i;
            memcpy(&x, c->keys + (size_t)i * 4, 4);
            if (x == v)
                return i;
        }
    }
    for (;; i = i + 1 == c->nslots ? 0 : i + 1)
        if (!c->bits[i] || memcmp(c->keys + (size_t)i * 16, k, 16) == 0)
            return i;
}

static uint32_t compact_slot(const struct compact *c, const uint8_t *k)
{
    return compact_slot_from(c, k, compact_home(c, compact_hash(c, k)));
}

/* Room for `more` entries: grown by half until they fit at 3/4 full
 * (1,000,000 IPv4 hosts in 1.5 M slots, 7.3 MiB; doubling gave 2 M). */
static bool compact_reserve(struct compact *c, uint32_t more)
{
    uint64_t want = (uint64_t)c->n + more;
    if (want * 4 <= (uint64_t)c->nslots * 3)
        return true;
    struct compact g = { .width = c->width, .nslots = c->nslots ? c->nslots : 1024, .key = c->key };
    while (want * 4 > (uint64_t)g.nslots * 3)
        g.nslots += g.nslots / 2;
    g.keys = malloc((size_t)g.nslots * g.width);
    g.bits = calloc(g.nslots, 1);
    if (!g.keys || !g.bits) {
        free(g.keys);
        free(g.bits);
        return false;
    }
    for (uint32_t i = 0; i < c->nslots; i++)
        if (c->bits[i]) {
            const uint8_t *k = c->keys + (size_t)i * c->width;
            uint32_t j = compact_slot(&g, k);
            memcpy(g.keys + (size_t)j * g.width, k, g.width);
            g.bits[j] = c->bits[i];
        }
    g.n = c->n;
    free(c->keys);
    free(c->bits);
    *c = g;
    return true;
}

static int64_t compact_find(const struct host_table *t, const struct ip_addr *a)
{
    const struct compact *c = a->family == 4 ? &t->c4 : a->family == 6 ? &t->c6 : NULL;
    if (!c || !c->n)
        return -1;
    uint32_t i = compact_slot(c, a->bytes);
    return c->bits[i] ? (int64_t)i : -1;
}

/* An address past the records' cap into the set (counted in `all` by the
 * caller); false when the set is full (it is then estimated). */
static bool compact_add(struct host_table *t, const struct ip_addr *a, unsigned bits)
{
    struct compact *c = family_set(t, a);
    if (!c)
        return false;
    if (c->n) {
        uint32_t i = compact_slot(c, a->bytes);
        if (c->bits[i]) {
            c->bits[i] |= (uint8_t)(bits | HOST_C_PRESENT);
            return true;
        }
    }
    if (t->c4.n + t->c6.n >= HOST_COMPACT_CAP || (c == &t->c6 && c->n >= HOST_COMPACT_V6_CAP) ||
        !compact_reserve(c, 1))
        return false;
    uint32_t i = compact_slot(c, a->bytes);
    memcpy(c->keys + (size_t)i * c->width, a->bytes, c->width);
    c->bits[i] = (uint8_t)(bits | HOST_C_PRESENT);
    c->n++;
    return true;
}

bool host_table_compact_or(struct host_table *t, const struct ip_addr *a, unsigned bits)
{
    struct compact *c = family_set(t, a);
    if (!c || !c->n)
        return false;
    uint32_t i = compact_slot(c, a->bytes);
    if (!c->bits[i])
        return false;
    c->bits[i] |= (uint8_t)bits;
    return true;
}

uint32_t host_table_compact_count(const struct host_table *t) { return t->c4.n + t->c6.n; }
uint32_t host_table_compact_slots(const struct host_table *t) { return t->c4.nslots + t->c6.nslots; }

bool host_table_compact_at(const struct host_table *t, uint32_t slot, struct ip_addr *a, unsigned *bits)
{
    const struct compact *c = slot < t->c4.nslots ? &t->c4 : &t->c6;
    uint32_t i = slot < t->c4.nslots ? slot : slot - t->c4.nslots;
    if (i >= c->nslots || !c->bits[i])
        return false;
    memset(a, 0, sizeof *a);
    a->family = c->width == 4 ? 4 : 6;
    memcpy(a->bytes, c->keys + (size_t)i * c->width, c->width);
    *bits = c->bits[i];
    return true;
}

static int cmp_u32(const void *pa, const void *pb)
{
    uint32_t x = *(const uint32_t *)pa, y = *(const uint32_t *)pb;
    return (x > y) - (x < y);
}

/* A broadcast or multicast address by its range (host_is_broadcast()'s
 * first test) from a key of the set. */
static bool key_in_broadcast_range(const struct compact *c, const uint8_t *k)
{
    if (c->width == 16)
        return k[0] == 0xFF;
    return (k[0] & 0xF0) == 0xE0 || (k[0] == 255 && k[1] == 255 && k[2] == 255 && k[3] == 255);
}

void host_table_compact_tally(const struct host_table *t, const uint8_t *skip, uint64_t tally[256],
                              uint64_t *broadcasts)
{
    memset(tally, 0, 256 * sizeof *tally);
    *broadcasts = 0;
    /* the entries of learned broadcast addresses found by look-up (at
     * most MAX_LEARNED_BROADCASTS), not each entry compared with them all */
    uint32_t learned[MAX_LEARNED_BROADCASTS + 1], nl = 0;
    for (uint32_t i = 0; i < t->nbcast; i++) {
        int64_t s = compact_find(t, &t->bcast[i]);
        if (s >= 0)
            learned[nl++] = (uint32_t)s + (t->bcast[i].family == 6 ? t->c4.nslots : 0);
    }
    qsort(learned, nl, sizeof *learned, cmp_u32);
    learned[nl] = UINT32_MAX;
    const struct compact *sets[2] = { &t->c4, &t->c6 };
    uint32_t at = 0, l = 0;
    for (int f = 0; f < 2; f++) {
        const struct compact *c = sets[f];
        for (uint32_t i = 0; i < c->nslots; i++, at++) {
            uint8_t b = c->bits[i];
            while (learned[l] < at)
                l++;
            if (!b || (skip && (skip[at >> 3] >> (at & 7) & 1u)))
                continue;
            if (learned[l] == at || key_in_broadcast_range(c, c->keys + (size_t)i * c->width))
                (*broadcasts)++;
            else
                tally[b]++;
        }
    }
}

int64_t host_table_compact_find(const struct host_table *t, const struct ip_addr *a, unsigned *bits)
{
    int64_t i = compact_find(t, a);
    if (i < 0)
        return -1;
    const struct compact *c = a->family == 4 ? &t->c4 : &t->c6;
    *bits = c->bits[i];
    return a->family == 4 ? i : i + t->c4.nslots;
}

unsigned host_rec_compact_bits(const struct host_rec *r)
{
    return (r->nb_roles & 15u) | (r->nb_flows_unlisted ? HOST_C_UNLISTED : 0) | (r->refused ? HOST_C_REFUSED : 0);
}

/* Whether any address of src's compact set c has a record in t. */
static bool compact_meets_records(const struct host_table *t, const struct compact *c)
{
    struct ip_addr a = { .family = c->width == 4 ? 4 : 6 };
    for (uint32_t i = 0; t->n && i < c->nslots; i++)
        if (c->bits[i]) {
            memcpy(a.bytes, c->keys + (size_t)i * c->width, c->width);
            if (host_table_find(t, &a))
                return true;
        }
    return false;
}

uint64_t host_table_fold_compact(struct host_table *t, struct host_table *src)
{
    uint64_t lost = 0;
    struct compact *sets[2][2] = { { &t->c4, &src->c4 }, { &t->c6, &src->c6 } };
    for (int f = 0; f < 2; f++) {
        struct compact *d = sets[f][0], *c = sets[f][1];
        /* an empty set takes src's whole (no copy) when none of its
         * addresses has a record here and the cap holds them all */
        if (!c->n || d->n || !t->compact_on || t->c4.n + t->c6.n + c->n > HOST_COMPACT_CAP ||
            compact_meets_records(t, c))
            continue;
        if (t->n < t->cap) /* one run would have recorded some of them (see below) */
            lost += c->n < t->cap - t->n ? c->n : t->cap - t->n;
        struct ip_addr a = { .family = c->width == 4 ? 4 : 6 };
        for (uint32_t i = 0; i < c->nslots; i++)
            if (c->bits[i]) {
                memcpy(a.bytes, c->keys + (size_t)i * c->width, c->width);
                distinct_add(t->all, addr_hash(&a));
            }
        struct compact tmp = *d;
        *d = *c;
        *c = tmp;
    }
    /* the rest copied, into sets sized once for both: src's slots are
     * walked in its hash order, and linear probing in a smaller table of
     * the same hash piles them into one run (400,000 entries: 10 s) */
    uint32_t room = HOST_COMPACT_CAP - (t->c4.n + t->c6.n);
    if (t->compact_on) {
        compact_reserve(&t->c4, src->c4.n < room ? src->c4.n : room);
        compact_reserve(&t->c6, src->c6.n < room ? src->c6.n : room);
    }
    for (uint32_t s = 0; s < host_table_compact_slots(src); s++) {
        struct ip_addr a;
        unsigned bits;
        if (!host_table_compact_at(src, s, &a, &bits))
            continue;
        bits &= ~HOST_C_PRESENT;
        struct host_rec *r = host_table_find(t, &a);
        if (r) { /* a record here: its roles, and a flow not itemised (at least one) */
            r->nb_roles |= (uint8_t)(bits & 15u);
            r->refused |= (bits & HOST_C_REFUSED) != 0;
            if ((bits & HOST_C_UNLISTED) && !r->nb_flows_unlisted)
                r->nb_flows_unlisted = 1;
            lost++;
            continue;
        }
        distinct_add(t->all, addr_hash(&a));
        /* below t's cap one run would have recorded it, with counts src
         * did not keep */
        lost += t->n < t->cap;
        if (!t->compact_on || !compact_add(t, &a, bits))
            t->overflowed = true;
    }
    if (src->overflowed && src->n >= src->cap) { /* src estimated its total: so does t */
        t->overflowed = true;
        t->folded_estimate |= t->n < t->cap;
    }
    /* src's sets are read no more: their memory given back before the
     * next input's fold */
    struct compact *cs[2] = { &src->c4, &src->c6 };
    for (int f = 0; f < 2; f++) {
        free(cs[f]->keys);
        free(cs[f]->bits);
        *cs[f] = (struct compact){ .width = cs[f]->width, .key = cs[f]->key };
    }
    return lost;
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
    /* past the cap, or an address counted in the compact set already
     * (--jobs and merge fold into tables below their cap): it stays there */
    if (t->n >= cap || (t->compact_on && (t->c4.n || t->c6.n) && compact_find(t, a) >= 0) || !grow(t)) {
        /* an address without a record: in the compact set, else from now
         * on the count is an estimate */
        if (!t->compact_on || !compact_add(t, a, 0))
            t->overflowed = true;
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
    uint64_t known = (uint64_t)t->n + t->c4.n + t->c6.n;
    if (estimate)
        *estimate = full;
    if (!full)
        return known;
    uint64_t e = distinct_estimate(t->all);
    return e > known ? e : known;
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
    if (!h) { /* past the cap: what the counts need of it */
        host_table_compact_or(t, &r->addr, host_rec_compact_bits(r));
        return;
    }
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

void host_table_compact_reserve(struct host_table *t, uint8_t family, uint64_t more)
{
    struct compact *c = family == 4 ? &t->c4 : family == 6 ? &t->c6 : NULL;
    if (!c || !t->compact_on)
        return;
    uint64_t room = HOST_COMPACT_CAP - (t->c4.n + t->c6.n);
    if (c == &t->c6 && HOST_COMPACT_V6_CAP - c->n < room)
        room = HOST_COMPACT_V6_CAP - c->n;
    compact_reserve(c, (uint32_t)(more < room ? more : room));
}

/* A compact entry's bits into the record of its address. */
static void or_bits(struct host_rec *h, unsigned bits)
{
    h->nb_roles |= (uint8_t)(bits & 15u);
    if ((bits & HOST_C_REFUSED) && !h->refused)
        h->refused = 1;
    if ((bits & HOST_C_UNLISTED) && !h->nb_flows_unlisted)
        h->nb_flows_unlisted = 1;
}

void host_table_fold_bits(struct host_table *t, const struct ip_addr *a, unsigned bits, int64_t ts)
{
    struct host_rec *h = host_table_find(t, a);
    if (!h && host_table_compact_or(t, a, bits))
        return;
    if (!h)
        h = get(t, a, ts, t->cap); /* a record while there is room, as one run makes them */
    if (!h) {
        host_table_compact_or(t, a, bits);
        return;
    }
    or_bits(h, bits); /* a flow not itemised: at least one (the other run's count is not carried) */
}

/* Entries ahead of the one folded whose slots are fetched: a merge
 * state's hosts land all over a set of megabytes, one cache miss each
 * when taken one after the other. */
#define FOLD_AHEAD 8u

void host_table_fold_bits_many(struct host_table *t, const struct ip_addr *a, const uint8_t *bits, uint32_t n,
                               int64_t ts)
{
    uint32_t i = 0;
    /* while a record may be made, one at a time (which addresses get one
     * is the order's) */
    for (; i < n && (t->n < t->cap || !t->compact_on); i++)
        host_table_fold_bits(t, &a[i], bits[i], ts);
    if (i == n)
        return;
    struct compact *c = family_set(t, &a[i]);
    uint32_t room = HOST_COMPACT_CAP - (t->c4.n + t->c6.n);
    if (c == &t->c6 && HOST_COMPACT_V6_CAP - c->n < room)
        room = HOST_COMPACT_V6_CAP - c->n;
    bool same = c != NULL;
    for (uint32_t k = i; same && k < n; k++)
        same = a[k].family == a[i].family;
    /* Past the records no record is made: each address is a record's
     * (or'ed), an entry's (or'ed) or new (into the set while it has room,
     * counted in `all` either way), as host_table_fold_bits() takes them,
     * with the room made once and the slots fetched ahead (the set does
     * not move: what is added fits the room made). */
    if (!same || !compact_reserve(c, n - i < room ? n - i : room)) {
        for (; i < n; i++)
            host_table_fold_bits(t, &a[i], bits[i], ts);
        return;
    }
    uint32_t home[FOLD_AHEAD];
    for (uint32_t k = i; k < n && k < i + FOLD_AHEAD; k++) {
        home[k % FOLD_AHEAD] = compact_home(c, compact_hash(c, a[k].bytes));
        __builtin_prefetch(&c->bits[home[k % FOLD_AHEAD]]);
    }
    for (; i < n; i++) {
        uint32_t at = home[i % FOLD_AHEAD], ahead = i + FOLD_AHEAD;
        if (ahead < n) {
            uint32_t h = compact_home(c, compact_hash(c, a[ahead].bytes));
            home[ahead % FOLD_AHEAD] = h;
            __builtin_prefetch(&c->bits[h]);
            __builtin_prefetch(c->keys + (size_t)h * c->width);
            if (t->n)
                host_table_warm(t, &a[ahead], 2);
        }
        struct host_rec *r = t->n ? host_table_find(t, &a[i]) : NULL;
        if (r) {
            or_bits(r, bits[i]);
            continue;
        }
        uint32_t s = compact_slot_from(c, a[i].bytes, at);
        if (c->bits[s]) {
            c->bits[s] |= bits[i];
            continue;
        }
        distinct_add(t->all, addr_hash(&a[i]));
        if (!room) {
            t->overflowed = true; /* the set is full: estimated from now on */
            continue;
        }
        memcpy(c->keys + (size_t)s * c->width, a[i].bytes, c->width);
        c->bits[s] = (uint8_t)(bits[i] | HOST_C_PRESENT);
        c->n++;
        room--;
    }
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
