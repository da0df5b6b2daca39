/* quic_paths.c - see quic_paths.h.  Linear probing at most half full;
 * removal shifts the following entries back (no tombstones), so a look-up
 * stops at the first empty slot. */
#include "quic_paths.h"

#include <stdlib.h>
#include <string.h>

#include "hash_mix.h"
#include "wire.h"

/* The addresses a word at a time (a byte-wise hash of 32 bytes was most of
 * the look-up); the table's key goes in first, through every step. */

/* The hash of the path (a, pa)-(b, pb), a the lower endpoint, read from
 * the two addresses where they are: the look-up of a datagram hashes its
 * packet's addresses without building the key (a 40-byte struct copied and
 * read back at other offsets cost more than the hash, in `perf`). */
static uint32_t hash_ends(uint64_t key, const struct ip_addr *a, uint16_t pa, const struct ip_addr *b, uint16_t pb)
{
    uint64_t h = hash_mix64(key ^ load_u64ne(a->bytes) ^ ((uint64_t)a->family << 56));
    h = hash_mix64(h ^ load_u64ne(a->bytes + 8));
    h = hash_mix64(h ^ load_u64ne(b->bytes) ^ ((uint64_t)b->family << 56));
    h = hash_mix64(h ^ load_u64ne(b->bytes + 8) ^ ((uint64_t)pa << 16 | pb));
    return (uint32_t)(h ^ (h >> 32));
}

uint32_t quic_path_hash(const struct quic_paths *t, const struct quic_path *u)
{
    return hash_ends(t->key, &u->a, u->pa, &u->b, u->pb);
}

/* Whether (x, px) sorts before or with (y, py): family, then the address
 * bytes as memcmp() orders them (two big-endian words), then the port. */
static bool first_end(const struct ip_addr *x, uint16_t px, const struct ip_addr *y, uint16_t py)
{
    if (x->family != y->family)
        return x->family < y->family;
    uint64_t x0 = load_u64be(x->bytes), y0 = load_u64be(y->bytes);
    if (x0 != y0)
        return x0 < y0;
    uint64_t x1 = load_u64be(x->bytes + 8), y1 = load_u64be(y->bytes + 8);
    if (x1 != y1)
        return x1 < y1;
    return px <= py;
}

/* The key of both directions of a path: the lower endpoint first, so a
 * datagram either way costs one look-up. */
bool quic_path_canon_side(const struct ip_addr *x, uint16_t px, const struct ip_addr *y, uint16_t py,
    struct quic_path *out)
{
    if (first_end(x, px, y, py)) {
        *out = (struct quic_path){ *x, *y, px, py };
        return true;
    }
    *out = (struct quic_path){ *y, *x, py, px };
    return false;
}

struct quic_path quic_path_canon(const struct ip_addr *x, uint16_t px, const struct ip_addr *y, uint16_t py)
{
    struct quic_path u;
    quic_path_canon_side(x, px, y, py, &u);
    return u;
}

static bool same_addr(const struct ip_addr *x, const struct ip_addr *y)
{
    return x->family == y->family && load_u64ne(x->bytes) == load_u64ne(y->bytes)
        && load_u64ne(x->bytes + 8) == load_u64ne(y->bytes + 8);
}

/* The key k against the path (a, pa)-(b, pb) in canonical order. */
static bool key_is(const struct quic_path *k, const struct ip_addr *a, uint16_t pa, const struct ip_addr *b,
                   uint16_t pb)
{
    return k->pa == pa && k->pb == pb && same_addr(&k->a, a) && same_addr(&k->b, b);
}

static bool path_equal(const struct quic_path *a, const struct quic_path *b)
{
    return key_is(a, &b->a, b->pa, &b->b, b->pb);
}

void *quic_paths_lookup(const struct quic_paths *t, const struct ip_addr *x, uint16_t px, const struct ip_addr *y,
                        uint16_t py, bool *x_is_a)
{
    if (!t->used)
        return NULL;
    bool xa = first_end(x, px, y, py);
    *x_is_a = xa;
    const struct ip_addr *a = xa ? x : y, *b = xa ? y : x;
    uint16_t pa = xa ? px : py, pb = xa ? py : px;
    uint32_t hash = hash_ends(t->key, a, pa, b, pb), mask = t->n - 1;
    for (uint32_t i = hash & mask; t->slots[i].key; i = (i + 1) & mask)
        if (t->slots[i].hash == hash && key_is(t->slots[i].key, a, pa, b, pb))
            return t->slots[i].value;
    return NULL;
}

void *quic_paths_find(const struct quic_paths *t, const struct quic_path *u, uint32_t hash)
{
    if (!t->used)
        return NULL;
    uint32_t mask = t->n - 1;
    for (uint32_t i = hash & mask; t->slots[i].key; i = (i + 1) & mask)
        if (t->slots[i].hash == hash && path_equal(t->slots[i].key, u))
            return t->slots[i].value;
    return NULL;
}

static void place(struct quic_path_slot *slots, uint32_t n, struct quic_path_slot s)
{
    uint32_t i = s.hash & (n - 1);
    while (slots[i].key)
        i = (i + 1) & (n - 1);
    slots[i] = s;
}

static void port_add(struct quic_paths *t, uint16_t p)
{
    if (t->port_count[p]++ == 0)
        t->port_bits[p >> 6] |= UINT64_C(1) << (p & 63);
}

static void port_remove(struct quic_paths *t, uint16_t p)
{
    if (--t->port_count[p] == 0)
        t->port_bits[p >> 6] &= ~(UINT64_C(1) << (p & 63));
}

bool quic_paths_add(struct quic_paths *t, const struct quic_path *key, void *value)
{
    if (!t->port_bits) {
        t->port_bits = calloc(QUIC_PORTS / 64, sizeof *t->port_bits);
        t->port_count = calloc(QUIC_PORTS, sizeof *t->port_count);
        if (!t->port_bits || !t->port_count) {
            free(t->port_bits);
            free(t->port_count);
            t->port_bits = NULL;
            t->port_count = NULL;
            return false;
        }
    }
    if ((uint64_t)(t->used + 1) * 2 > t->n) {
        uint32_t n = t->n ? t->n * 2 : 64;
        struct quic_path_slot *s = calloc(n, sizeof *s);
        if (!s)
            return false;
        for (uint32_t i = 0; i < t->n; i++)
            if (t->slots[i].key)
                place(s, n, t->slots[i]);
        free(t->slots);
        t->slots = s;
        t->n = n;
    }
    place(t->slots, t->n, (struct quic_path_slot){ quic_path_hash(t, key), key, value });
    t->used++;
    port_add(t, key->pa);
    port_add(t, key->pb);
    return true;
}

void quic_paths_remove(struct quic_paths *t, const struct quic_path *key)
{
    if (!t->used)
        return;
    uint32_t mask = t->n - 1, hash = quic_path_hash(t, key), i = hash & mask;
    while (t->slots[i].key && !(t->slots[i].hash == hash && path_equal(t->slots[i].key, key)))
        i = (i + 1) & mask;
    if (!t->slots[i].key)
        return;
    port_remove(t, t->slots[i].key->pa);
    port_remove(t, t->slots[i].key->pb);
    /* Shift back every following entry of the run that may sit there: one
     * whose home slot is not cyclically within (hole, j]. */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; t->slots[j].key; j = (j + 1) & mask) {
        uint32_t home = t->slots[j].hash & mask;
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    t->slots[hole] = (struct quic_path_slot){ 0, NULL, NULL };
    t->used--;
}

uint32_t quic_paths_size(const struct quic_paths *t) { return t->used; }

void quic_paths_free(struct quic_paths *t)
{
    free(t->slots);
    free(t->port_bits);
    free(t->port_count);
    memset(t, 0, sizeof *t);
}
