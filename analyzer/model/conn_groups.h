/* conn_groups.h - closed SMB connections folded, as they close, into groups
 * of connections that look the same: same client, server, server port,
 * carrier, transport, dialect, signing, encryption, authentication and
 * policy outcome.  Each group keeps a count, first/last seen, packet and
 * byte sums and up to CONN_GROUP_EXAMPLES example connections (client port
 * and first seen: enough to find them in the capture).
 *
 * Bounded: at most `cap` groups with both addresses (level FULL).  Past it,
 * a new combination folds into a group without its client address (level
 * ANY_CLIENT, at most cap/4 of them), then into one without addresses
 * (level ANY_HOST, at most cap/4), and last into a single catch-all
 * group (level OTHER) whose facts are OR'ed.  Counts stay exact at every
 * level; conn_groups_stats() says how many connections were folded past
 * each cap.  Groups are the report's and the verdict's view of every
 * connection, at any size (verdict.c, hostview.c, evidence.c, report_*).
 *
 * Merging (smbscope merge): conn_groups_merge(dst, src) adds every group of
 * src to dst as if its connections had closed in dst (same caps, examples
 * kept earliest first).  A serialiser walks conn_groups_at(); a deserialiser
 * rebuilds a table with conn_groups_add_group(). */
#ifndef SMBSCOPE_CONN_GROUPS_H
#define SMBSCOPE_CONN_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_summary.h"

#define CONN_GROUP_EXAMPLES 3
#define CONN_GROUPS_DEFAULT_CAP 1024u

enum conn_group_level {
    CONN_GROUP_FULL = 0,   /* client and server known */
    CONN_GROUP_ANY_CLIENT, /* clients folded (client.family == 0) */
    CONN_GROUP_ANY_HOST,   /* client and server folded */
    CONN_GROUP_OTHER,      /* everything past the caps; facts OR'ed */
    CONN_GROUP_LEVELS
};
const char *conn_group_level_name(enum conn_group_level l); /* "full", "any-client", "any-host", "other" */

/* What makes connections "the same"; zero-filled then set, so it can be
 * hashed and compared as bytes. */
struct conn_group_key {
    struct ip_addr client, server; /* family 0: folded */
    uint16_t server_port;          /* 0 at OTHER */
    uint16_t dialect;
    uint16_t flags;                /* enum conn_flag */
    uint8_t level;                 /* enum conn_group_level */
    uint8_t transport, carrier, proto, smb_version, signing, auth, auth_mech, gap, findings;
    uint32_t evidence, rules, undecided;
    char dialect_text[CONN_DIALECT_TEXT_LEN];
};

/* One example connection of a group. */
struct conn_group_example {
    struct ip_addr client;         /* the client address (the key's, or its own when folded) */
    struct ip_addr server;
    uint16_t client_port, server_port;
    uint16_t ntlm_sessions;
    int64_t first_ts, last_ts;
    uint64_t packets;
};

struct conn_group {
    struct conn_group_key key;
    uint64_t count;                /* connections */
    uint64_t packets, bytes;
    uint64_t gaps, gap_bytes;
    uint64_t ntlm_sessions;        /* sum of conn_summary.ntlm_sessions */
    uint64_t start_seen;           /* connections with CONN_F_START_SEEN (OTHER ORs flags) */
    int64_t first_ts, last_ts;
    int64_t last_start_ts;         /* the latest first_ts of its connections */
    uint8_t n_examples;
    struct conn_group_example examples[CONN_GROUP_EXAMPLES]; /* earliest first */
};

struct conn_groups_stats {
    uint64_t connections;          /* all connections added */
    uint64_t groups;               /* groups held (all levels) */
    uint64_t folded[CONN_GROUP_LEVELS]; /* connections per level (FULL: not folded) */
    uint32_t cap;                  /* the FULL level's cap */
    uint64_t packets, bytes;
    uint64_t start_seen;           /* connections with CONN_F_START_SEEN */
    uint64_t gaps, gap_bytes;
};

struct conn_groups;

struct conn_groups *conn_groups_new(uint32_t cap); /* 0 = CONN_GROUPS_DEFAULT_CAP */
/* A table whose levels have caps of their own (cap 0: no full level, the
 * others 0: as conn_groups_new() sets them): smbscope merge's view of a
 * run's connections past its cap (analyzer/merge/mstate_groups_past.h). */
struct conn_groups *conn_groups_new_levels(uint32_t cap, uint32_t any_client_cap, uint32_t any_host_cap);
void conn_groups_free(struct conn_groups *g);
/* Connections added so far that landed at level l (conn_groups_stats().folded[l]). */
uint64_t conn_groups_level_conns(const struct conn_groups *g, enum conn_group_level l);
/* Fold one closed connection in. */
void conn_groups_add(struct conn_groups *g, const struct conn_summary *cs);
/* The same in two steps, so that the index slots it will probe are fetched
 * while the caller does other work: conn_groups_ahead() makes the key and
 * its hash and prefetches the slots (the full level's, and the level a new
 * key folds to when the full one is at its cap), nothing changed;
 * conn_groups_add_ahead() then adds cs as conn_groups_add() does, the
 * table not changed in between. */
struct conn_groups_ahead {
    struct conn_group_key key; /* at CONN_GROUP_FULL */
    uint64_t rest;             /* its hash's terms past the addresses */
    uint32_t hash;             /* its hash */
    uint32_t hash_by_server;   /* the hash of its key folded to CONN_GROUP_ANY_CLIENT (0: not made) */
};
void conn_groups_ahead(const struct conn_groups *g, const struct conn_summary *cs, struct conn_groups_ahead *ah);
void conn_groups_add_ahead(struct conn_groups *g, const struct conn_summary *cs, const struct conn_groups_ahead *ah);
/* Fold a whole group in (deserialising, merging): as if its count
 * connections had been added; the key's level is kept or raised by the caps. */
void conn_groups_add_group(struct conn_groups *g, const struct conn_group *grp);
/* --jobs over several inputs (analyzer/merge/jobs.c): asked, when a level
 * is full, whether a key it does not hold is admitted past the level's cap
 * (past: how many were; at most two more levels' worth at the full level,
 * two of its own and two of the full level's below it; NULL: folded to the
 * next level). */
void conn_groups_admit_past_cap(struct conn_groups *g,
                                bool (*admit)(void *data, const struct conn_group_key *k, uint32_t past, uint32_t cap),
                                void *data);
/* Whether a level (not OTHER) holds as many groups as its cap. */
bool conn_groups_level_full(const struct conn_groups *g, enum conn_group_level l);
/* Whether a key (at its level) has a group. */
bool conn_groups_has(const struct conn_groups *g, const struct conn_group_key *k);
/* The group of a key (at its level), or NULL. */
const struct conn_group *conn_groups_find(const struct conn_groups *g, const struct conn_group_key *k);
/* smbscope merge (analyzer/merge/mstate_syn_starts.h): a connection of the
 * group of key k (at k's level or the first lower one holding a group)
 * began at first_ts with packets more than counted: its example `was`
 * (client, server, ports, first_ts as added) moves to its new start.
 * False when no level holds a group for it. */
bool conn_groups_restart(struct conn_groups *g, const struct conn_group_key *k, const struct conn_group_example *was,
                         int64_t first_ts, uint64_t packets);
/* dst += src. */
void conn_groups_merge(struct conn_groups *dst, const struct conn_groups *src);
/* Groups in creation order; pointers stay valid until the next add. */
uint32_t conn_groups_count(const struct conn_groups *g);
const struct conn_group *conn_groups_at(const struct conn_groups *g, uint32_t i);
/* Group indices ordered for a report: most connections first, then first
 * seen (caller frees with g_free). */
uint32_t *conn_groups_ranked(const struct conn_groups *g);
struct conn_groups_stats conn_groups_stats(const struct conn_groups *g);
/* Tests: the longest probe of the key index, in slots past a key's home
 * (what a look-up of the unluckiest key walks). */
uint32_t conn_groups_index_longest(const struct conn_groups *g);

/* The policy facts of a group's connections (not meaningful at OTHER:
 * use key.rules and key.undecided there). */
struct policy_conn_facts conn_group_facts(const struct conn_group_key *k);
/* Rules broken / left undecided by a group's connections under policy p
 * (OTHER: its OR'ed bits, masked by what p enables). */
uint32_t conn_group_rules(const struct conn_group_key *k, const struct policy *p);
uint32_t conn_group_undecided(const struct conn_group_key *k, const struct policy *p);

/* The key of a connection at a level (exposed for tests and merge). */
void conn_group_key_of(struct conn_group_key *k, const struct conn_summary *cs, enum conn_group_level level);

#endif
