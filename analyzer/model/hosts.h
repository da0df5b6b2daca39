/* hosts.h - every address that spoke or tried NetBIOS, counted exactly up to
 * a cap within bounded memory (then estimated: distinct.h), one small record
 * each.  Broadcast and multicast destinations are not hosts (host_is_broadcast). */
#ifndef SMBSCOPE_HOSTS_H
#define SMBSCOPE_HOSTS_H

#include <stdbool.h>
#include <stdint.h>

#include "packet.h"

struct distinct;

enum host_nb_role {
    HOST_NB_CLIENT = 1u << 0,      /* sent NetBIOS to a server (unicast) */
    HOST_NB_SERVER = 1u << 1,      /* answered NetBIOS (spoke as a server) */
    HOST_NB_TARGET = 1u << 2,      /* was sent NetBIOS (it may have refused or ignored it) */
    HOST_NB_BROADCASTER = 1u << 3, /* sent NetBIOS to a broadcast or multicast address */
};

struct host_rec {
    struct ip_addr addr;
    uint8_t nb_roles;          /* enum host_nb_role bits */
    uint8_t services_sent;     /* bit per enum nb_service it sent as client or server */
    uint8_t refused;           /* it answered attempts with RST or ICMP unreachable */
    uint32_t nb_flows;         /* NetBIOS flows it opened (as client or broadcaster) */
    uint32_t nb_flows_served;  /* NetBIOS flows addressed to it */
    uint32_t nb_flows_unlisted;/* of nb_flows: beyond the ledger's itemised rows */
    uint64_t nb_packets_sent;
    int64_t first_seen, last_seen;
};

struct host_table;

#define HOST_DEFAULT_CAP (1u << 20) /* records; beyond, hosts are counted by estimate */

struct host_table *host_table_new(uint32_t cap); /* 0 = HOST_DEFAULT_CAP */

/* A table whose addresses past its records' cap are kept in a compact
 * exact set (an address and the bits below, 5 bytes a slot for IPv4, 17
 * for IPv6, instead of a 64-byte record): the hosts' counts by role and
 * rule stay exact (hostview.h), only the records (per-host counts, times,
 * the listing) are capped.  Past HOST_COMPACT_CAP addresses in the set,
 * the total is estimated as without one. */
#define HOST_COMPACT_CAP (1u << 21)
/* Of them IPv6 at most this many: an IPv6 slot is 17 bytes, and 2^21 of
 * them, with the table a growth leaves beside the new one, took 116 MiB
 * (the promise is 64).  262,144 IPv6 addresses hold about 6 MiB; it is
 * also what a merge state carries of them (mstate.h). */
#define HOST_COMPACT_V6_CAP (1u << 18)
enum host_compact_bit {
    /* the low four bits: enum host_nb_role */
    HOST_C_UNLISTED = 1u << 4, /* opened a NetBIOS flow past the ledger's rows (nb_flows_unlisted > 0) */
    HOST_C_REFUSED = 1u << 5,  /* answered an attempt with RST or ICMP unreachable */
    HOST_C_PRESENT = 1u << 7,  /* set in every entry */
};
struct host_table *host_table_new_compact(uint32_t cap);
/* bits (host_nb_role and HOST_C_*) or'ed into an address counted past the
 * records' cap; false when it has no entry there (a record, or none). */
bool host_table_compact_or(struct host_table *t, const struct ip_addr *a, unsigned bits);
/* Addresses in the compact set; its slots (empty ones included), each
 * read by host_table_compact_at() (false: empty); the slot of an address
 * (-1: none) and its bits. */
uint32_t host_table_compact_count(const struct host_table *t);
uint32_t host_table_compact_slots(const struct host_table *t);
bool host_table_compact_at(const struct host_table *t, uint32_t slot, struct ip_addr *a, unsigned *bits);
int64_t host_table_compact_find(const struct host_table *t, const struct ip_addr *a, unsigned *bits);
/* The compact set's entries counted by their bits (tally[bits]), but
 * those whose slot is set in the bitmap skip (NULL: none; slots as
 * host_table_compact_at() numbers them) and broadcast addresses
 * (host_is_broadcast(), counted in *broadcasts): what the counts by role
 * need, one pass over the bits. */
void host_table_compact_tally(const struct host_table *t, const uint8_t *skip, uint64_t tally[256],
                              uint64_t *broadcasts);
/* The bits a record stands for in the compact set. */
unsigned host_rec_compact_bits(const struct host_rec *r);
/* --jobs: src's compact set into t (records of t or'ed; other addresses
 * into t's set, where one run would count them), src's set emptied (its
 * memory given back: the fold reads it no more).  Returns the addresses
 * whose record one run would hold with counts src did not keep: those t
 * has a record of, and those t had room for. */
uint64_t host_table_fold_compact(struct host_table *t, struct host_table *src);
void host_table_free(struct host_table *t);
/* The record of an address (created at first sight, also counted), NULL when
 * the table is full (the address is still counted). */
struct host_rec *host_table_get(struct host_table *t, const struct ip_addr *a, int64_t ts);
/* The same, creating a record up to bound records (past the cap: --jobs
 * over several inputs, analyzer/merge/jobs.c). */
struct host_rec *host_table_get_past_cap(struct host_table *t, const struct ip_addr *a, int64_t ts, uint32_t bound);
/* An address without a record counted, none made (as past the cap). */
void host_table_count_only(struct host_table *t, const struct ip_addr *a);
/* The record if it exists. */
struct host_rec *host_table_find(const struct host_table *t, const struct ip_addr *a);
/* A hint that host_table_get() or _find() of a comes soon: ahead 2 fetches
 * the index slot a hashes to, ahead 1 (that slot in cache by then) the
 * record it names and returns its number + 1 (0: none yet, or not at the
 * home slot).  Changes nothing. */
uint32_t host_table_warm(const struct host_table *t, const struct ip_addr *a, int ahead);
/* A record found before, by its number (host_table_number()): the same as
 * host_table_get() of its address, without the look-up.  Numbers hold until
 * the table is sorted, which changes host_table_generation(). */
uint32_t host_table_number(const struct host_table *t, const struct host_rec *r);
uint32_t host_table_generation(const struct host_table *t);
struct host_rec *host_table_touch(struct host_table *t, uint32_t number, int64_t ts);
/* Distinct addresses seen; *estimate set when past the exact cap. */
uint64_t host_table_total(const struct host_table *t, bool *estimate);
/* Records in first-seen order. */
uint32_t host_table_size(const struct host_table *t);
struct host_rec *host_table_at(const struct host_table *t, uint32_t i);

/* 255.255.255.255, IPv4 multicast 224/4, IPv6 multicast ff00::/8, or an
 * address the traffic showed to be a subnet broadcast (see
 * host_table_learn_broadcast). */
bool host_is_broadcast(const struct host_table *t, const struct ip_addr *a);
/* A NetBIOS broadcast (NBNS B flag, NBDS broadcast/group datagram) was sent
 * to a: it is a broadcast address, not a host. */
void host_table_learn_broadcast(struct host_table *t, const struct ip_addr *a);

/* smbscope merge: another run's record of an address folded in (roles and
 * services united, counts added, times widened); the learned broadcast
 * addresses, to carry them over. */
void host_table_fold(struct host_table *t, const struct host_rec *r);
/* smbscope merge: another run's host past its records (hosts.h compact
 * bits): the bits or'ed into its record or entry, else counted as one run
 * counts a new address (a record while there is room, first seen ts). */
void host_table_fold_bits(struct host_table *t, const struct ip_addr *a, unsigned bits, int64_t ts);
/* The same for n addresses in turn (bits[i] for a[i]): the same table
 * as n calls, at a fraction of their cost once the records are full (one
 * probe an address, the set's room made once, its slots fetched ahead). */
/* Room in the compact set for `more` addresses of a family (as many as
 * its caps leave), made at once: a merge state says how many it brings,
 * and a set grown by half as they come moved each about twice. */
void host_table_compact_reserve(struct host_table *t, uint8_t family, uint64_t more);
void host_table_fold_bits_many(struct host_table *t, const struct ip_addr *a, const uint8_t *bits, uint32_t n,
                               int64_t ts);
/* smbscope merge: a NetBIOS flow two runs both saw (a capture split in its
 * middle) is one flow: the second run's hosts counted it again. */
void host_table_unjoin_nb_flow(struct host_table *t, const struct ip_addr *client, const struct ip_addr *server);
/* Records in first-seen order, ties by address (see nb_ledger_sort_rows). */
void host_table_sort(struct host_table *t);
uint32_t host_table_cap(const struct host_table *t);
uint32_t host_table_broadcasts(const struct host_table *t, const struct ip_addr **addrs);
struct distinct *host_table_all(struct host_table *t); /* every address, for the estimate past the cap */
/* smbscope merge: the HyperLogLog registers (DISTINCT_HLL_REGS bytes) of
 * another run's addresses, some of which have no record here: the total
 * is an estimate from now on. */
void host_table_fold_estimate(struct host_table *t, const uint8_t *regs);

#endif
