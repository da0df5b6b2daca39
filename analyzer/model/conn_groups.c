/* conn_groups.c - see conn_groups.h.  One hash of keys (bytes) to groups,
 * each group one small allocation; the level caps keep the whole table
 * under cap * 1.5 + 1 groups (about 300 bytes each). */
#include "conn_groups.h"

#include <string.h>

#include <glib.h>


struct conn_groups {
    uint32_t cap;
    uint32_t level_cap[CONN_GROUP_LEVELS];
    uint32_t level_groups[CONN_GROUP_LEVELS];
    GPtrArray *groups;     /* struct conn_group*, creation order */
    GHashTable *index;     /* struct conn_group_key* (the group's own) -> struct conn_group*, but OTHER */
    struct conn_group *other; /* the catch-all: its key changes as facts are OR'ed in, so it is not hashed */
    struct conn_groups_stats st;
};

const char *conn_group_level_name(enum conn_group_level l)
{
    static const char *const names[CONN_GROUP_LEVELS] = { "full", "any-client", "any-host", "other" };
    return (unsigned)l < CONN_GROUP_LEVELS ? names[l] : "other";
}

/* Eight bytes at a time (one call per closed connection: a byte-wise hash
 * of the 100-byte key was 3% of a run of short connections). */
static guint key_hash(gconstpointer p)
{
    const uint8_t *b = p;
    uint64_t h = UINT64_C(0x9E3779B97F4A7C15);
    size_t n = sizeof(struct conn_group_key), i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    h ^= h >> 29;
    return (guint)(h ^ (h >> 32));
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(struct conn_group_key)) == 0;
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
    g->index = g_hash_table_new(key_hash, key_equal);
    g->st.cap = g->cap;
    return g;
}

void conn_groups_free(struct conn_groups *g)
{
    if (!g)
        return;
    g_hash_table_destroy(g->index);
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

/* The group for key k, created when its level has room; NULL when full. */
static struct conn_group *find_or_make(struct conn_groups *g, const struct conn_group_key *k)
{
    struct conn_group *grp = k->level == CONN_GROUP_OTHER ? g->other : g_hash_table_lookup(g->index, k);
    if (grp || g->level_groups[k->level] >= g->level_cap[k->level])
        return grp;
    grp = g_new0(struct conn_group, 1);
    grp->key = *k;
    grp->first_ts = INT64_MAX;
    grp->last_ts = INT64_MIN;
    grp->last_start_ts = INT64_MIN;
    g_ptr_array_add(g->groups, grp);
    if (k->level == CONN_GROUP_OTHER)
        g->other = grp;
    else
        g_hash_table_insert(g->index, &grp->key, grp);
    g->level_groups[k->level]++;
    g->st.groups++;
    return grp;
}

/* A key moved down to a level: what that level folds is dropped. */
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
 * room (OTHER always has room for its one group). */
static struct conn_group *place(struct conn_groups *g, const struct conn_group_key *base)
{
    for (int level = base->level < CONN_GROUP_LEVELS ? base->level : CONN_GROUP_OTHER;; level++) {
        struct conn_group_key k = *base;
        fold_key(&k, (enum conn_group_level)level);
        struct conn_group *grp = find_or_make(g, &k);
        if (grp) {
            if (level == CONN_GROUP_OTHER)
                fold_other(grp, base);
            return grp;
        }
    }
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

void conn_groups_add(struct conn_groups *g, const struct conn_summary *cs)
{
    struct conn_group one;
    memset(&one, 0, sizeof one);
    conn_group_key_of(&one.key, cs, CONN_GROUP_FULL);
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
    account(g, place(g, &one.key), &one);
}

void conn_groups_add_group(struct conn_groups *g, const struct conn_group *src)
{
    if (src->count)
        account(g, place(g, &src->key), src);
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
