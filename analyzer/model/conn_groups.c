/* conn_groups.c - see conn_groups.h.  An open-addressing index of keys
 * (by hash, then bytes) to groups, each group one small allocation; the
 * level caps keep the whole table under cap * 1.5 + 1 groups (about 300
 * bytes each). */
#include "conn_groups.h"

#include <stddef.h>
#include <string.h>

#include <glib.h>

#include "distinct.h"
#include "hash_mix.h"
#include "past_cap.h"

/* One index slot: the key's hash and its group's number + 1 (0: empty). */
struct slot {
    uint32_t hash;
    uint32_t group;
};

/* key_hash()'s multipliers: one for each 32-bit piece of a key. */
enum {
    REST_FROM = offsetof(struct conn_group_key, server_port),
    REST_WORDS = (sizeof(struct conn_group_key) - REST_FROM + 3) / 4,
    ADDR_WORDS = 5, /* the family, then the 16 bytes */
    MUL_CLIENT = 0,
    MUL_SERVER = MUL_CLIENT + ADDR_WORDS,
    MUL_REST = MUL_SERVER + ADDR_WORDS,
    MUL_LEVEL = MUL_REST + REST_WORDS,
    MUL_ZERO, /* m0 */
    MULS
};

struct conn_groups {
    uint32_t cap;
    uint32_t level_cap[CONN_GROUP_LEVELS];
    uint32_t level_groups[CONN_GROUP_LEVELS];
    GPtrArray *groups;     /* struct conn_group*, creation order */
    bool (*admit)(void *data, const struct conn_group_key *k, uint32_t past, uint32_t cap); /* conn_groups_admit_past_cap() */
    void *admit_data;
    struct slot *index;    /* every group but OTHER; linear probing, at most half full */
    uint32_t index_mask, indexed;
    struct conn_group *other; /* the catch-all: its key changes as facts are OR'ed in, so it is not indexed */
    struct conn_groups_stats st;
    uint64_t mul[MULS]; /* key_hash()'s, random */
};

const char *conn_group_level_name(enum conn_group_level l)
{
    static const char *const names[CONN_GROUP_LEVELS] = { "full", "any-client", "any-host", "other" };
    return (unsigned)l < CONN_GROUP_LEVELS ? names[l] : "other";
}

/* A key's hash, keyed by the process's random number (distinct.h): the
 * keys are the capture's and, in smbscope merge, any report's to choose,
 * and with a fixed hash anyone could list keys of one hash, whose probes
 * then walk one run of the index per connection (quadratic).  Multiply-shift
 * over the key's 32-bit pieces: the top half of m0 + sum(m_i * x_i) mod 2^64
 * with random 64-bit m_i, universal (two given keys share a hash with
 * probability about 2^-31, whatever keys were chosen) as long as the m_i are
 * unknown.  A sum, so a connection looked up at several levels (the FULL
 * level at its cap: every new client) takes its pieces once: what follows
 * the addresses (level byte left out), each address (a folded one, all
 * zero, adds nothing), and the level.  Nothing is ever walked in the
 * index's order (groups are kept in creation order), so the output does
 * not depend on the key. */

/* The multipliers of one table, drawn from the process key (splitmix64). */
static void muls_init(uint64_t *m)
{
    uint64_t x = distinct_process_key();
    for (int i = 0; i < MULS; i++) {
        uint64_t z = (x += UINT64_C(0x9E3779B97F4A7C15));
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        m[i] = z ^ (z >> 31);
    }
}

static uint64_t rest_hash(const struct conn_groups *g, const struct conn_group_key *k)
{
    uint32_t w[REST_WORDS] = { 0 };
    memcpy(w, (const uint8_t *)k + REST_FROM, sizeof *k - REST_FROM);
    ((uint8_t *)w)[offsetof(struct conn_group_key, level) - REST_FROM] = 0;
    uint64_t h = g->mul[MUL_ZERO];
    for (size_t i = 0; i < REST_WORDS; i++)
        h += g->mul[MUL_REST + i] * w[i];
    return h;
}

static uint64_t addr_hash(const uint64_t *m, const struct ip_addr *a)
{
    uint32_t w[4];
    memcpy(w, a->bytes, sizeof w);
    if (a->family == 4) /* bytes 4-15 are zero (packet.h): their terms are */
        return m[0] * 4 + m[1] * w[0];
    return m[0] * a->family + m[1] * w[0] + m[2] * w[1] + m[3] * w[2] + m[4] * w[3];
}

static uint32_t key_hash(const struct conn_groups *g, const struct conn_group_key *k, uint64_t rest)
{
    uint64_t h = rest + addr_hash(g->mul + MUL_CLIENT, &k->client) + addr_hash(g->mul + MUL_SERVER, &k->server) +
                 g->mul[MUL_LEVEL] * (uint64_t)(k->level + 1);
    return (uint32_t)(hash_spread(h) >> 32); /* hash_mix.h: not the sum's own top half */
}

static void index_put(struct conn_groups *g, uint32_t hash, uint32_t group)
{
    uint32_t i = hash & g->index_mask;
    while (g->index[i].group)
        i = (i + 1) & g->index_mask;
    g->index[i] = (struct slot){ hash, group + 1 };
}

/* Twice the slots when half full (rehash from the stored hashes). */
static void index_grow(struct conn_groups *g)
{
    struct slot *old = g->index;
    uint32_t n = g->index_mask + 1;
    g->index = g_new0(struct slot, (gsize)n * 2);
    g->index_mask = n * 2 - 1;
    for (uint32_t i = 0; i < n; i++)
        if (old[i].group)
            index_put(g, old[i].hash, old[i].group - 1);
    g_free(old);
}

static struct conn_group *index_find(const struct conn_groups *g, const struct conn_group_key *k, uint32_t hash)
{
    for (uint32_t i = hash & g->index_mask; g->index[i].group; i = (i + 1) & g->index_mask) {
        if (g->index[i].hash != hash)
            continue;
        struct conn_group *grp = g_ptr_array_index(g->groups, g->index[i].group - 1);
        if (memcmp(&grp->key, k, sizeof *k) == 0)
            return grp;
    }
    return NULL;
}

struct conn_groups *conn_groups_new(uint32_t cap)
{
    struct conn_groups *g = g_new0(struct conn_groups, 1);
    g->cap = cap ? cap : CONN_GROUPS_DEFAULT_CAP;
    g->level_cap[CONN_GROUP_FULL] = g->cap;
    g->level_cap[CONN_GROUP_ANY_CLIENT] = g->cap / 4 ? g->cap / 4 : 1;
    g->level_cap[CONN_GROUP_ANY_HOST] = g->cap / 4 ? g->cap / 4 : 1;
    g->level_cap[CONN_GROUP_OTHER] = 1;
    g->groups = g_ptr_array_new_with_free_func(g_free);
    g->index_mask = 63;
    g->index = g_new0(struct slot, g->index_mask + 1);
    g->st.cap = g->cap;
    muls_init(g->mul);
    return g;
}

struct conn_groups *conn_groups_new_levels(uint32_t cap, uint32_t any_client_cap, uint32_t any_host_cap)
{
    struct conn_groups *g = conn_groups_new(cap ? cap : 1);
    g->level_cap[CONN_GROUP_FULL] = cap; /* 0: none, every connection by server or coarser */
    if (any_client_cap)
        g->level_cap[CONN_GROUP_ANY_CLIENT] = any_client_cap;
    if (any_host_cap)
        g->level_cap[CONN_GROUP_ANY_HOST] = any_host_cap;
    return g;
}

uint64_t conn_groups_level_conns(const struct conn_groups *g, enum conn_group_level l)
{
    return (unsigned)l < CONN_GROUP_LEVELS ? g->st.folded[l] : 0;
}

void conn_groups_free(struct conn_groups *g)
{
    if (!g)
        return;
    g_free(g->index);
    g_ptr_array_free(g->groups, TRUE);
    g_free(g);
}

void conn_group_key_of(struct conn_group_key *k, const struct conn_summary *cs, enum conn_group_level level)
{
    memset(k, 0, sizeof *k);
    k->level = (uint8_t)level;
    if (level == CONN_GROUP_OTHER)
        return; /* the catch-all: facts are OR'ed into it (fold_other) */
    if (level == CONN_GROUP_FULL)
        k->client = cs->client;
    if (level != CONN_GROUP_ANY_HOST)
        k->server = cs->server;
    k->server_port = cs->server_port; /* the policy's --allow-transport reads it */
    k->dialect = cs->dialect;
    k->flags = cs->flags;
    k->transport = cs->transport;
    k->carrier = cs->carrier;
    k->proto = cs->proto;
    k->smb_version = cs->smb_version;
    k->signing = cs->signing;
    k->auth = cs->auth;
    k->auth_mech = cs->auth_mech;
    k->gap = cs->undecided ? cs->gap : 0;
    k->findings = cs->findings;
    k->evidence = cs->evidence;
    k->rules = cs->rules;
    k->undecided = cs->undecided;
    memcpy(k->dialect_text, cs->dialect_text, sizeof k->dialect_text);
    k->dialect_text[sizeof k->dialect_text - 1] = '\0';
}

struct policy_conn_facts conn_group_facts(const struct conn_group_key *k)
{
    struct conn_summary cs;
    memset(&cs, 0, sizeof cs);
    cs.transport = k->transport;
    cs.server_port = k->server_port;
    cs.smb_version = k->smb_version;
    cs.dialect = k->dialect;
    cs.flags = k->flags;
    return conn_summary_facts(&cs);
}

static uint32_t enabled_rules(const struct policy *p)
{
    uint32_t bits = 0;
    for (unsigned r = 0; r < RULE_COUNT; r++)
        if (policy_rule_enabled(p, (enum policy_rule)r))
            bits |= 1u << r;
    return bits;
}

uint32_t conn_group_rules(const struct conn_group_key *k, const struct policy *p)
{
    if (k->level == CONN_GROUP_OTHER)
        return k->rules & enabled_rules(p);
    struct policy_conn_facts f = conn_group_facts(k);
    return policy_check_connection(p, &f);
}

uint32_t conn_group_undecided(const struct conn_group_key *k, const struct policy *p)
{
    if (k->level == CONN_GROUP_OTHER)
        return k->undecided & enabled_rules(p);
    struct policy_conn_facts f = conn_group_facts(k);
    return policy_undecided_connection(p, &f);
}

/* The catch-all keeps what the verdict must not lose: every rule broken,
 * undecided or finding seen by any connection folded into it. */
static void fold_other(struct conn_group *grp, const struct conn_group_key *k)
{
    grp->key.flags |= k->flags;
    grp->key.rules |= k->rules;
    grp->key.undecided |= k->undecided;
    grp->key.findings |= k->findings;
    grp->key.evidence |= k->evidence;
    if (!grp->key.transport)
        grp->key.transport = k->transport;
}

static void add_example(struct conn_group *grp, const struct conn_group_example *e)
{
    int n = grp->n_examples;
    int at = n;
    while (at > 0 && grp->examples[at - 1].first_ts > e->first_ts)
        at--;
    if (at >= CONN_GROUP_EXAMPLES)
        return;
    int last = n < CONN_GROUP_EXAMPLES ? n : CONN_GROUP_EXAMPLES - 1;
    memmove(&grp->examples[at + 1], &grp->examples[at], (size_t)(last - at) * sizeof *e);
    grp->examples[at] = *e;
    if (n < CONN_GROUP_EXAMPLES)
        grp->n_examples++;
}

/* Below the full level, admit() also keeps apart the next two full caps'
 * worth of new keys whatever they are (the stream a lower level is fed is
 * not one run's: analyzer/merge/jobs.c group_past_cap()), past its own cap
 * and the one the fold's keys may take. */
#define LOWER_OWN_CAPS 2u
#define LOWER_FULL_CAPS 2u

/* How many groups a level may hold when admit() takes keys past its cap:
 * PAST_CAP_CAPS caps at the full level (past_cap.h); below it (a quarter
 * of its cap each), two of its own caps and two of the full level's. */
static uint32_t past_cap_bound(const struct conn_groups *g, int level)
{
    return level == CONN_GROUP_FULL ? PAST_CAP_CAPS * g->cap
                                    : LOWER_OWN_CAPS * g->level_cap[level] + LOWER_FULL_CAPS * g->cap;
}

/* The group for key k (hash: key_hash of it), created when its level has
 * room; NULL when full. */
static struct conn_group *find_or_make(struct conn_groups *g, const struct conn_group_key *k, uint32_t hash)
{
    struct conn_group *grp = k->level == CONN_GROUP_OTHER ? g->other : index_find(g, k, hash);
    if (grp)
        return grp;
    uint32_t n = g->level_groups[k->level], cap = g->level_cap[k->level];
    if (n >= cap && (!g->admit || k->level == CONN_GROUP_OTHER || n >= past_cap_bound(g, k->level) ||
                     !g->admit(g->admit_data, k, n - cap, cap)))
        return NULL;
    grp = g_new0(struct conn_group, 1);
    grp->key = *k;
    grp->first_ts = INT64_MAX;
    grp->last_ts = INT64_MIN;
    grp->last_start_ts = INT64_MIN;
    g_ptr_array_add(g->groups, grp);
    if (k->level == CONN_GROUP_OTHER) {
        g->other = grp;
    } else {
        if (++g->indexed > (g->index_mask + 1) / 2)
            index_grow(g);
        index_put(g, hash, g->groups->len - 1);
    }
    g->level_groups[k->level]++;
    g->st.groups++;
    return grp;
}

/* A key moved down to a level: what that level folds is dropped (levels
 * only ever go down, so a key folds in place). */
static void fold_key(struct conn_group_key *k, enum conn_group_level level)
{
    if (level == CONN_GROUP_OTHER) {
        memset(k, 0, sizeof *k);
    } else {
        if (level >= CONN_GROUP_ANY_CLIENT)
            memset(&k->client, 0, sizeof k->client);
        if (level >= CONN_GROUP_ANY_HOST)
            memset(&k->server, 0, sizeof k->server);
    }
    k->level = (uint8_t)level;
}

/* The group a key lands in: its own level or the first lower one with
 * room (OTHER always has room for its one group).  rest: rest_hash(base);
 * hash: key_hash(base) at its own level. */
static struct conn_group *place_h(struct conn_groups *g, const struct conn_group_key *base, uint64_t rest,
                                  uint32_t hash, uint32_t hash_by_server)
{
    struct conn_group_key k = *base;
    int own = base->level < CONN_GROUP_LEVELS ? base->level : CONN_GROUP_OTHER;
    for (int level = own;; level++) {
        fold_key(&k, (enum conn_group_level)level);
        uint32_t h = level == CONN_GROUP_OTHER                         ? 0
                     : level == own                                    ? hash
                     : level == CONN_GROUP_ANY_CLIENT && hash_by_server ? hash_by_server
                                                                        : key_hash(g, &k, rest);
        struct conn_group *grp = find_or_make(g, &k, h);
        if (grp) {
            if (level == CONN_GROUP_OTHER)
                fold_other(grp, base);
            return grp;
        }
    }
}

static struct conn_group *place(struct conn_groups *g, const struct conn_group_key *base)
{
    uint64_t rest = rest_hash(g, base);
    struct conn_group_key k = *base;
    int own = base->level < CONN_GROUP_LEVELS ? base->level : CONN_GROUP_OTHER;
    fold_key(&k, (enum conn_group_level)own); /* as place_h() hashes it */
    return place_h(g, base, rest, own == CONN_GROUP_OTHER ? 0 : key_hash(g, &k, rest), 0);
}

/* count connections of which start_seen had CONN_F_START_SEEN, into grp. */
static void account(struct conn_groups *g, struct conn_group *grp, const struct conn_group *add)
{
    grp->count += add->count;
    grp->packets += add->packets;
    grp->bytes += add->bytes;
    grp->gaps += add->gaps;
    grp->gap_bytes += add->gap_bytes;
    grp->ntlm_sessions += add->ntlm_sessions;
    grp->start_seen += add->start_seen;
    if (add->first_ts < grp->first_ts)
        grp->first_ts = add->first_ts;
    if (add->last_ts > grp->last_ts)
        grp->last_ts = add->last_ts;
    if (add->last_start_ts > grp->last_start_ts)
        grp->last_start_ts = add->last_start_ts;
    g->st.connections += add->count;
    g->st.folded[grp->key.level] += add->count;
    g->st.packets += add->packets;
    g->st.bytes += add->bytes;
    g->st.gaps += add->gaps;
    g->st.gap_bytes += add->gap_bytes;
    g->st.start_seen += add->start_seen;
    for (int i = 0; i < add->n_examples && i < CONN_GROUP_EXAMPLES; i++)
        add_example(grp, &add->examples[i]);
}

void conn_groups_admit_past_cap(struct conn_groups *g,
                                bool (*admit)(void *data, const struct conn_group_key *k, uint32_t past, uint32_t cap),
                                void *data)
{
    g->admit = admit;
    g->admit_data = data;
}

bool conn_groups_level_full(const struct conn_groups *g, enum conn_group_level l)
{
    return l < CONN_GROUP_OTHER && g->level_groups[l] >= g->level_cap[l];
}

bool conn_groups_has(const struct conn_groups *g, const struct conn_group_key *k)
{
    if (k->level == CONN_GROUP_OTHER)
        return g->other != NULL;
    return index_find(g, k, key_hash(g, k, rest_hash(g, k))) != NULL;
}

void conn_groups_ahead(const struct conn_groups *g, const struct conn_summary *cs, struct conn_groups_ahead *ah)
{
    conn_group_key_of(&ah->key, cs, CONN_GROUP_FULL);
    ah->rest = rest_hash(g, &ah->key);
    ah->hash = key_hash(g, &ah->key, ah->rest);
    __builtin_prefetch(&g->index[ah->hash & g->index_mask]);
    ah->hash_by_server = 0;
    if (g->level_groups[CONN_GROUP_FULL] >= g->level_cap[CONN_GROUP_FULL]) {
        /* a new key folds by server: that slot too (a group that exists
         * at the full level is found at the first, a new one is not), and
         * its hash kept for the probe */
        struct conn_group_key k = ah->key;
        fold_key(&k, CONN_GROUP_ANY_CLIENT);
        ah->hash_by_server = key_hash(g, &k, ah->rest);
        __builtin_prefetch(&g->index[ah->hash_by_server & g->index_mask]);
    }
}

const struct conn_group *conn_groups_find(const struct conn_groups *g, const struct conn_group_key *k)
{
    if (k->level == CONN_GROUP_OTHER)
        return g->other;
    return index_find(g, k, key_hash(g, k, rest_hash(g, k)));
}

void conn_groups_add_ahead(struct conn_groups *g, const struct conn_summary *cs, const struct conn_groups_ahead *ah)
{
    struct conn_group one;
    memset(&one, 0, sizeof one);
    one.key = ah->key;
    one.count = 1;
    one.packets = cs->packets;
    one.bytes = cs->bytes;
    one.gaps = cs->gaps;
    one.gap_bytes = cs->gap_bytes;
    one.ntlm_sessions = cs->ntlm_sessions;
    one.start_seen = (cs->flags & CONN_F_START_SEEN) != 0;
    one.first_ts = cs->first_ts;
    one.last_ts = cs->last_ts;
    one.last_start_ts = cs->first_ts;
    one.n_examples = 1;
    one.examples[0] = (struct conn_group_example){ cs->client,        cs->server,   cs->client_port, cs->server_port,
                                                   cs->ntlm_sessions, cs->first_ts, cs->last_ts,     cs->packets };
    account(g, place_h(g, &one.key, ah->rest, ah->hash, ah->hash_by_server), &one);
}

void conn_groups_add(struct conn_groups *g, const struct conn_summary *cs)
{
    struct conn_groups_ahead ah;
    conn_group_key_of(&ah.key, cs, CONN_GROUP_FULL);
    ah.rest = rest_hash(g, &ah.key);
    ah.hash = key_hash(g, &ah.key, ah.rest);
    ah.hash_by_server = 0;
    conn_groups_add_ahead(g, cs, &ah);
}

void conn_groups_add_group(struct conn_groups *g, const struct conn_group *src)
{
    if (src->count)
        account(g, place(g, &src->key), src);
}

bool conn_groups_restart(struct conn_groups *g, const struct conn_group_key *base,
                         const struct conn_group_example *was, int64_t first_ts, uint64_t packets)
{
    struct conn_group_key k = *base;
    uint64_t rest = rest_hash(g, base);
    for (int level = base->level < CONN_GROUP_LEVELS ? base->level : CONN_GROUP_OTHER; level <= CONN_GROUP_OTHER;
         level++) {
        fold_key(&k, (enum conn_group_level)level);
        struct conn_group *grp = level == CONN_GROUP_OTHER ? g->other : index_find(g, &k, key_hash(g, &k, rest));
        if (!grp)
            continue;
        grp->packets += packets;
        g->st.packets += packets;
        if (first_ts < grp->first_ts)
            grp->first_ts = first_ts;
        struct conn_group_example e = *was;
        for (int i = 0; i < grp->n_examples; i++) {
            const struct conn_group_example *x = &grp->examples[i];
            if (x->first_ts == was->first_ts && x->client_port == was->client_port &&
                x->server_port == was->server_port && !memcmp(&x->server, &was->server, sizeof x->server)) {
                e = *x; /* its own (a folded level's client is its own too) */
                memmove(&grp->examples[i], &grp->examples[i + 1],
                        (size_t)(grp->n_examples - i - 1) * sizeof grp->examples[0]);
                grp->n_examples--;
                break;
            }
        }
        e.first_ts = first_ts;
        e.packets += packets;
        add_example(grp, &e);
        return true;
    }
    return false;
}

void conn_groups_merge(struct conn_groups *dst, const struct conn_groups *src)
{
    for (guint i = 0; i < src->groups->len; i++)
        conn_groups_add_group(dst, g_ptr_array_index(src->groups, i));
}

uint32_t conn_groups_count(const struct conn_groups *g) { return g->groups->len; }

const struct conn_group *conn_groups_at(const struct conn_groups *g, uint32_t i)
{
    return i < g->groups->len ? g_ptr_array_index(g->groups, i) : NULL;
}

static gint by_rank(gconstpointer pa, gconstpointer pb, gpointer data)
{
    const struct conn_groups *g = data;
    const struct conn_group *a = conn_groups_at(g, *(const uint32_t *)pa);
    const struct conn_group *b = conn_groups_at(g, *(const uint32_t *)pb);
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    /* then by key, not creation order: a merge of reports creates groups
     * in another order than the run over the captures together */
    int k = memcmp(&a->key, &b->key, sizeof a->key);
    if (k)
        return k;
    uint32_t x = *(const uint32_t *)pa, y = *(const uint32_t *)pb;
    return (x > y) - (x < y);
}

uint32_t *conn_groups_ranked(const struct conn_groups *g)
{
    uint32_t n = g->groups->len;
    uint32_t *order = g_new(uint32_t, n ? n : 1);
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    union {
        const struct conn_groups *c;
        gpointer p;
    } u = { .c = g };
    g_qsort_with_data(order, (gint)n, sizeof *order, by_rank, u.p);
    return order;
}

struct conn_groups_stats conn_groups_stats(const struct conn_groups *g) { return g->st; }

uint32_t conn_groups_index_longest(const struct conn_groups *g)
{
    uint32_t longest = 0;
    for (uint32_t i = 0; i <= g->index_mask; i++)
        if (g->index[i].group) {
            uint32_t d = (i - g->index[i].hash) & g->index_mask;
            longest = d > longest ? d : longest;
        }
    return longest;
}
