/* census.h - facts about the whole capture that no one connection holds:
 * UDP conversations, snaplen cuts, and the TCP SYNs to 139 and 445 per
 * client and server (a client racing 139 against 445 has NetBIOS over
 * TCP/IP enabled: Microsoft, "Direct hosting of SMB over TCP/IP").
 * Fed every decoded packet; bounded memory. */
#ifndef SMBSCOPE_CENSUS_H
#define SMBSCOPE_CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "packet.h"

struct dns_msg;
struct census_conv_cache;

#define CENSUS_SYN_TIMES 4
#define CENSUS_MAX_PAIRS 32768u
#define CENSUS_PAIR_MULS 11

/* A slot of the pair table: tag 0 = empty, else the low 31 bits of its
 * hash and the top bit (probes read these, not the entries); entry: index
 * into pairs. */
struct census_pair_slot {
    uint32_t tag, entry;
};

/* SYNs from one client to one server on 139 and 445. */
struct census_pair {
    struct ip_addr client, server;
    uint32_t syn139, syn445;            /* SYNs seen (retransmissions included) */
    int64_t t139[CENSUS_SYN_TIMES];     /* first CENSUS_SYN_TIMES of each */
    int64_t t445[CENSUS_SYN_TIMES];
    uint16_t port139;                   /* client port of the first SYN to 139 */
};

struct census {
    struct distinct *udp_convs;
    struct census_conv_cache *recent; /* UDP conversations added lately (census.c) */
    uint64_t snaplen_cut;        /* packets captured shorter than on the wire */
    uint64_t snaplen_cut_smb;    /* of which TCP 139/445 or UDP 137-139 */
    uint32_t snaplen;            /* largest captured length of a cut packet */
    /* Open addressing on (client, server): a slot is 8 bytes (tag and
     * entry), the 120-byte pairs sit packed in the order they came, so a
     * table at its cap holds 4.4 MB instead of two slots of 124 bytes a pair
     * (8.1 MB: with --jobs, one table per thread and the fold's). */
    struct census_pair_slot *pair_slots;
    struct census_pair *pairs;   /* pairs_used of them (room for pairs_room) */
    uint32_t npairs, pairs_used; /* slots, pairs */
    uint32_t pairs_room;
    uint32_t max_pairs;          /* 0 = CENSUS_MAX_PAIRS; --jobs gives each thread a share */
    uint64_t pairs_dropped;      /* SYNs of pairs past the cap */
    /* --jobs over several inputs (analyzer/merge/jobs.c): asked, once the
     * table is full, whether a pair it does not hold is admitted past the
     * cap (past: how many were; at most two more tables' worth).  NULL:
     * dropped. */
    bool (*admit_past_cap)(void *data, const struct ip_addr *client, const struct ip_addr *server, uint32_t past,
                           uint32_t cap);
    /* ... and, before that, whether a pair it does not hold may have an
     * entry at all (NULL: yes; no: dropped as past the cap). */
    bool (*keep_pair)(void *data, const struct ip_addr *client, const struct ip_addr *server);
    void *admit_data;
    struct census_pair_order *order;     /* census_pair_at()'s (census.c) */
    uint64_t pair_mul[CENSUS_PAIR_MULS]; /* the pair hash's, random (census.c) */
    uint64_t pair_mul4;                  /* ... and its constant for two plain IPv4 addresses */
    /* Names resolved by DNS (UDP 53), LLMNR (UDP 5355) or mDNS (UDP 5353),
     * as NetBIOS would key them (dns_netbios_key()). */
    GHashTable *dns_keys;        /* char* -> NULL, at most CENSUS_MAX_DNS_KEYS */
    uint64_t dns_messages, dns_keys_dropped;
    struct dns_msg *dns;         /* decode scratch */
};

#define CENSUS_MAX_DNS_KEYS 65536u

/* Whether a name (any case) was seen in DNS, LLMNR or mDNS, keyed as
 * NetBIOS would (first label, 15 characters). */
bool census_dns_has(const struct census *c, const char *netbios_name);

struct census *census_new(void);
void census_free(struct census *c);
void census_packet(struct census *c, const struct packet *p);
/* The hash a pair's slot is found by (32 bits), keyed by the process's
 * random number (census.c): nothing written depends on it. */
uint64_t census_pair_hash(const struct census *c, const struct ip_addr *client, const struct ip_addr *server);
/* The longest probe of the pair table: how far a pair's slot is from where
 * its hash starts (tests: crafted addresses stay spread). */
uint32_t census_pair_longest_probe(const struct census *c);
/* census_packet_early()'s fetch: the pair hash of a SYN to 139 or 445
 * (0 for any other packet), its first slot fetched. */
uint64_t census_pair_prefetch(const struct census *c, const struct packet *p);
/* census_packet() for the caller of every packet, in two halves: most
 * packets are TCP, captured whole and not a SYN to 139 or 445, and
 * census_packet() does nothing with them; census_packet_early() answers
 * for them before its call and the frame GCC builds for its whole body
 * (30 instructions a packet), says whether census_packet() has work for
 * the packet, and for a SYN to 139 or 445 keeps its pair's hash in *h and
 * fetches the slot the pair's probe starts at (a table of up to hundreds
 * of thousands of pairs: from far caches, while the caller works);
 * census_packet_late() then does census_packet()'s work.  Nothing may use
 * the census in between. */
static inline bool census_packet_early(const struct census *c, const struct packet *p, uint64_t *h)
{
    if (p->caplen >= p->wirelen && p->l4 == L4_TCP &&
        ((p->tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN || (p->dport != 139 && p->dport != 445)))
        return false;
    *h = census_pair_prefetch(c, p);
    return true;
}
void census_packet_late(struct census *c, const struct packet *p, uint64_t h);
uint64_t census_udp_conversations(const struct census *c, bool *estimate);

/* The pairs by first SYN, then client, then server: census_pair_at(c, i)
 * for i below census_pair_slots(c), NULL past the last.  Not the slots'
 * order, which follows the keyed hash: what callers write in this order
 * (ties of findings' times, merge states) must not change from one process
 * to the next, nor with the order the pairs came in. */
uint32_t census_pair_slots(const struct census *c);
const struct census_pair *census_pair_at(const struct census *c, uint32_t i);
/* The order census_pair_at() reads, built now: it is built on first use,
 * and two threads reading a finished census (the verdict, the merge
 * state's render) must not both build it. */
void census_pair_order_build(const struct census *c);

/* Bytes the pair table holds (slots and entries). */
size_t census_pair_table_bytes(const struct census *c);

/* --jobs: the pairs in census_pair_at()'s order packed into a new array (*n of them,
 * g_free() it) and the table emptied (the fold then holds a pair in its
 * own bytes, not in two slots); the census keeps its counters. */
struct census_pair *census_take_pairs(struct census *c, uint32_t *n);

/* Whether the table holds the pair (client, server). */
bool census_has_pair(const struct census *c, const struct ip_addr *client, const struct ip_addr *server);

/* The smallest |t139 - t445| of a pair (INT64_MAX when one side has no SYN). */
int64_t census_pair_closest(const struct census_pair *p);

/* smbscope merge: another run's pair folded in (SYN counts added, the
 * earliest CENSUS_SYN_TIMES times of each kept); a DNS key added. */
void census_fold_pair(struct census *c, const struct census_pair *p);
void census_add_dns_key(struct census *c, const char *key);

/* The order census_pair_at() lists pairs in: first SYN (to 139 or 445),
 * then client, then server; the --jobs fold sorts by it too. */
int census_pair_cmp(const struct census_pair *a, const struct census_pair *b);

#endif
