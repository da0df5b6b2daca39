/* quic_paths.h - QUIC connections by path (both endpoints), for the QUIC table.
 *
 * Every UDP datagram is looked up here, QUIC or not, so the index is its own
 * open-addressing table: a slot holds the key's hash and the entry, and a
 * look-up touches one slot and, on a hash match, the entry's key.  (glib's
 * table kept hashes, keys and values in three arrays and called back through
 * two function pointers: several cache lines per datagram.) */
#ifndef SMBSCOPE_QUIC_PATHS_H
#define SMBSCOPE_QUIC_PATHS_H

#include <stdbool.h>
#include <stdint.h>

#include "packet.h"

/* Both directions of a path: the lower endpoint first (quic_path_canon). */
struct quic_path {
    struct ip_addr a, b;
    uint16_t pa, pb;
};

struct quic_path_slot {
    uint32_t hash;
    const struct quic_path *key; /* NULL = empty; owned by the entry */
    void *value;
};

struct quic_paths {
    struct quic_path_slot *slots;
    uint32_t n, used; /* n: a power of two, or 0 */
};

struct quic_path quic_path_canon(const struct ip_addr *x, uint16_t px, const struct ip_addr *y, uint16_t py);
/* The same key into *out; true when (x, px) is its first endpoint (a). */
bool quic_path_canon_side(const struct ip_addr *x, uint16_t px, const struct ip_addr *y, uint16_t py,
    struct quic_path *out);
uint32_t quic_path_hash(const struct quic_path *u);

/* The entry whose key equals *u (hash = quic_path_hash(u)), or NULL. */
void *quic_paths_find(const struct quic_paths *t, const struct quic_path *u, uint32_t hash);
/* Add an entry under a key not in the index (the key must live as long as
 * the entry is in it).  False when out of memory. */
bool quic_paths_add(struct quic_paths *t, const struct quic_path *key, void *value);
/* Remove the entry under key, if any. */
void quic_paths_remove(struct quic_paths *t, const struct quic_path *key);
uint32_t quic_paths_size(const struct quic_paths *t);
void quic_paths_free(struct quic_paths *t);

#endif
