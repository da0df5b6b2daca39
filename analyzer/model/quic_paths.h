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

/* Before the look-up, a filter by port: bit p is set while some path in
 * the index has an endpoint on UDP port p (a count per port keeps it exact
 * through removals).  Most UDP that is not QUIC (DNS to 53, NetBIOS on
 * 137/138, syslog) has a port no QUIC path uses and stops at two bit tests
 * in 8 KB, where the look-up would miss in a slot array of hundreds of KB. */
#define QUIC_PORTS 65536u

struct quic_paths {
    /* Mixed into every hash: the quic table sets the process's random
     * number (distinct_process_key()), so the paths a capture holds cannot be
     * chosen to crowd one probe run (the addresses and ports are the
     * sender's to pick); the slots are never walked for output.  0 in a
     * table left zeroed (tests). */
    uint64_t key;
    struct quic_path_slot *slots;
    uint32_t n, used; /* n: a power of two, or 0 */
    uint64_t *port_bits;  /* QUIC_PORTS bits, NULL until the first add */
    uint32_t *port_count; /* paths per port (a path on one port twice counts twice) */
};

struct quic_path quic_path_canon(const struct ip_addr *x, uint16_t px, const struct ip_addr *y, uint16_t py);
/* The same key into *out; true when (x, px) is its first endpoint (a). */
bool quic_path_canon_side(const struct ip_addr *x, uint16_t px, const struct ip_addr *y, uint16_t py,
    struct quic_path *out);
/* The hash of path *u in table t (keyed by t->key). */
uint32_t quic_path_hash(const struct quic_paths *t, const struct quic_path *u);

/* False when no path in the index has both these ports: then no look-up
 * can find one.  (True says nothing: the look-up decides.) */
static inline bool quic_paths_may_hold(const struct quic_paths *t, uint16_t pa, uint16_t pb)
{
    return t->port_bits && (t->port_bits[pa >> 6] >> (pa & 63) & 1) && (t->port_bits[pb >> 6] >> (pb & 63) & 1);
}

/* The entry of the path between (x, px) and (y, py), either way round, or
 * NULL; *x_is_a tells whether (x, px) is its key's first endpoint (set
 * when the index is not empty).  quic_paths_find() of quic_path_canon()'s
 * key, without building the key (a datagram's look-up). */
void *quic_paths_lookup(const struct quic_paths *t, const struct ip_addr *x, uint16_t px, const struct ip_addr *y,
                        uint16_t py, bool *x_is_a);
/* The entry whose key equals *u (hash = quic_path_hash(t, u)), or NULL. */
void *quic_paths_find(const struct quic_paths *t, const struct quic_path *u, uint32_t hash);
/* Add an entry under a key not in the index (the key must live as long as
 * the entry is in it).  False when out of memory. */
bool quic_paths_add(struct quic_paths *t, const struct quic_path *key, void *value);
/* Remove the entry under key, if any. */
void quic_paths_remove(struct quic_paths *t, const struct quic_path *key);
uint32_t quic_paths_size(const struct quic_paths *t);
void quic_paths_free(struct quic_paths *t);

#endif
