/* mstate_groups_past.c - see mstate_groups_past.h. */
#include "mstate_groups_past.h"

#include <string.h>

#include "analysis.h"
#include "distinct.h"
#include "jget.h"
#include "json.h"
#include "mstate_group_order.h"

/* One listed combination: its hash and connections. */
struct past_key {
    uint32_t hash, conns;
};

struct groups_past {
    /* a run */
    struct conn_groups *t; /* the connections whose server the capped table dropped, by server (NULL: none) */
    GArray *closes;        /* int64_t: the close that made each of its groups, in creation order */
    struct past_key *slots;/* open addressing by hash (0: empty), at most half full */
    uint32_t mask, used;
    /* both: connections not listed */
    uint64_t unkept;
    /* merge: every state's keys (struct past_key), in the order read */
    GArray *keys;
    /* merge: the keyed hashes of the groups_past rows' keys of the state
     * being folded (8 bytes a row: at most its rows, which a forged state
     * may make a million), sorted when first asked */
    GArray *state_rows;
    bool state_sorted;
    bool sorted; /* keys sorted by hash (groups_past_unfolded()) */
};

/* A combination's hash, the same in every process and build (merge reads
 * what another run wrote): over its members as 32-bit words in a fixed
 * order (not the struct's bytes), a multiply-add per word and splitmix64's
 * finaliser.  Not keyed: a state's author can only make merge count
 * connections it did not have to (a label), never hide one.  Never 0 (an
 * empty slot). */
static inline void mix(uint64_t *h, uint64_t w)
{
    *h ^= w;
    *h *= UINT64_C(0x9E3779B97F4A7C15);
    *h ^= *h >> 29;
}

static inline uint64_t be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return GUINT64_FROM_BE(v);
}

static inline void mix_addr(uint64_t *h, const struct ip_addr *a)
{
    mix(h, a->family);
    mix(h, be64(a->bytes));
    if (a->family != 4) /* bytes 4-15 of an IPv4 address are zero */
        mix(h, be64(a->bytes + 8));
}

/* The members conn_group_key_of() takes of a connection at the full
 * level, in its order, packed in 64-bit words (the same from a key,
 * key_hash, or a summary, summary_hash, without making the key: every
 * connection past the cap passes here). */
static inline uint32_t finish(uint64_t h, const uint32_t *v, const char *text, size_t text_max)
{
    mix(&h, (uint64_t)v[0] << 48 | (uint64_t)v[1] << 32 | (uint64_t)v[2] << 16 | v[3] << 8 | v[4]);
    mix(&h, (uint64_t)v[5] << 48 | (uint64_t)v[6] << 40 | (uint64_t)v[7] << 32 | (uint64_t)v[8] << 24 |
                (uint64_t)v[9] << 16 | (uint64_t)v[10] << 8 | v[11]);
    mix(&h, (uint64_t)v[12] << 32 | v[13]);
    mix(&h, v[14]);
    uint8_t t[32] = { 0 }; /* the key keeps CONN_DIALECT_TEXT_LEN - 1 bytes */
    G_STATIC_ASSERT(CONN_DIALECT_TEXT_LEN <= sizeof t);
    memcpy(t, text, strnlen(text, text_max - 1));
    for (size_t i = 0; i < sizeof t; i += 8)
        mix(&h, be64(t + i));
    h ^= h >> 30;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    h ^= h >> 27;
    h *= UINT64_C(0x94D049BB133111EB);
    h ^= h >> 31;
    uint32_t x = (uint32_t)(h ^ (h >> 32));
    return x ? x : 1;
}

#define HASH_SEED UINT64_C(0x2545F4914F6CDD1D)

static uint32_t key_hash(const struct conn_group_key *k)
{
    uint64_t h = HASH_SEED;
    mix_addr(&h, &k->client);
    mix_addr(&h, &k->server);
    const uint32_t v[] = { k->server_port, k->dialect,   k->flags, k->transport, k->carrier,
                           k->proto,       k->smb_version, k->signing, k->auth,    k->auth_mech,
                           k->gap,         k->findings,  k->evidence, k->rules,  k->undecided };
    return finish(h, v, k->dialect_text, sizeof k->dialect_text);
}

static uint32_t summary_hash(const struct conn_summary *cs)
{
    uint64_t h = HASH_SEED;
    mix_addr(&h, &cs->client);
    mix_addr(&h, &cs->server);
    const uint32_t v[] = { cs->server_port, cs->dialect,     cs->flags,   cs->transport, cs->carrier,
                           cs->proto,       cs->smb_version, cs->signing, cs->auth,      cs->auth_mech,
                           cs->undecided ? cs->gap : 0u,     cs->findings, cs->evidence, cs->rules,
                           cs->undecided };
    return finish(h, v, cs->dialect_text, sizeof cs->dialect_text);
}

static struct groups_past *run_table(struct analysis *a)
{
    if (a->groups_past)
        return a->groups_past;
    struct groups_past *p = g_new0(struct groups_past, 1);
    p->closes = g_array_new(FALSE, FALSE, sizeof(int64_t));
    a->groups_past = p;
    return p;
}

/* A combination listed (its conns connections counted); false past the cap. */
static bool list_key(struct groups_past *p, uint32_t hash, uint32_t conns)
{
    if (!p->slots) {
        p->mask = 1023;
        p->slots = g_new0(struct past_key, p->mask + 1);
    }
    uint32_t i = hash & p->mask;
    for (; p->slots[i].hash; i = (i + 1) & p->mask)
        if (p->slots[i].hash == hash) {
            p->slots[i].conns = p->slots[i].conns > UINT32_MAX - conns ? UINT32_MAX : p->slots[i].conns + conns;
            return true;
        }
    if (p->used >= GROUPS_PAST_KEYS_CAP)
        return false;
    p->slots[i] = (struct past_key){ hash, conns };
    if (++p->used > (p->mask + 1) / 2) { /* twice the slots, placed again */
        struct past_key *old = p->slots;
        uint32_t n = p->mask + 1;
        p->mask = 2 * n - 1;
        p->slots = g_new0(struct past_key, 2 * (gsize)n);
        for (uint32_t j = 0; j < n; j++) {
            if (!old[j].hash)
                continue;
            uint32_t k = old[j].hash & p->mask;
            while (p->slots[k].hash)
                k = (k + 1) & p->mask;
            p->slots[k] = old[j];
        }
        g_free(old);
    }
    return true;
}

static bool run_lists(const struct analysis *a)
{
    return a->cfg->merge_state && !a->live_run && !a->merged_parts && !a->edges_apart && !a->jobs_threads;
}

uint32_t groups_past_ahead(struct analysis *a, const struct conn_summary *cs)
{
    if (!run_lists(a) || !conn_groups_level_full(a->groups, CONN_GROUP_FULL))
        return 0;
    uint32_t h = summary_hash(cs);
    const struct groups_past *p = a->groups_past;
    if (p && p->slots)
        __builtin_prefetch(&p->slots[h & p->mask]);
    return h;
}

/* conns connections of one combination (hash), the first closed at
 * close, folded by a's groups (cs one, or grp a whole group of them):
 * listed, and kept by server here when their server was dropped
 * (by_server: the connections a's any-client level held before). */
static void note_past(struct analysis *a, uint32_t hash, uint64_t conns, uint64_t by_server, int64_t close,
                      const struct conn_summary *cs, const struct conn_group *grp)
{
    struct groups_past *p = run_table(a);
    if (!list_key(p, hash, conns > UINT32_MAX ? UINT32_MAX : (uint32_t)conns))
        p->unkept += conns;
    if (conn_groups_level_conns(a->groups, CONN_GROUP_ANY_CLIENT) != by_server)
        return; /* by server in the state's groups */
    /* its server dropped: kept by server here */
    if (!p->t) {
        uint32_t cap = a->cfg->max_conn_groups ? a->cfg->max_conn_groups : CONN_GROUPS_DEFAULT_CAP;
        p->t = conn_groups_new_levels(0, cap, cap / 4 ? cap / 4 : 1);
    }
    struct conn_groups *t = p->t;
    uint32_t had = conn_groups_count(t);
    uint64_t kept = conn_groups_level_conns(t, CONN_GROUP_ANY_CLIENT);
    if (cs)
        conn_groups_add(t, cs);
    else
        conn_groups_add_group(t, grp);
    if (conn_groups_count(t) > had && p->closes->len == had)
        g_array_append_val(p->closes, close);
    if (conn_groups_level_conns(t, CONN_GROUP_ANY_CLIENT) == kept)
        p->unkept += conns; /* past this table's servers too */
}

void groups_past_note(struct analysis *a, const struct conn_summary *cs, uint64_t by_server, uint32_t hash)
{
    if (run_lists(a))
        note_past(a, hash ? hash : summary_hash(cs), 1, by_server, cs->order_at, cs, NULL);
}

void groups_past_note_group(struct analysis *a, const struct conn_group *grp, uint64_t by_server, int64_t close)
{
    if (run_lists(a))
        note_past(a, key_hash(&grp->key), grp->count, by_server, close, NULL, grp);
}

void groups_past_free(struct analysis *a)
{
    struct groups_past *p = a->groups_past;
    if (!p)
        return;
    conn_groups_free(p->t);
    if (p->closes)
        g_array_free(p->closes, TRUE);
    if (p->keys)
        g_array_free(p->keys, TRUE);
    if (p->state_rows)
        g_array_free(p->state_rows, TRUE);
    g_free(p->slots);
    g_free(p);
    a->groups_past = NULL;
}

static gint by_hash(gconstpointer pa, gconstpointer pb)
{
    const struct past_key *x = pa, *y = pb;
    return (x->hash > y->hash) - (x->hash < y->hash);
}

void groups_past_build(struct json *b, const struct analysis *a,
                       void (*put_row)(struct json *b, const struct conn_group *grp))
{
    const struct groups_past *p = a->groups_past;
    if (!p || a->merged_parts || (a->jobs_threads && !a->closes_one_run))
        return;
    uint32_t n = p->t ? conn_groups_count(p->t) : 0;
    GArray *order = g_array_sized_new(FALSE, FALSE, sizeof(uint32_t), n);
    for (uint32_t i = 0; i < n; i++)
        g_array_append_val(order, i);
    g_array_sort_with_data(order, mstate_group_first_seen_cmp, p->t);
    json_key(b, "groups_past");
    json_begin_object(b);
    json_key(b, "groups");
    json_begin_array(b);
    for (guint i = 0; i < order->len; i++)
        put_row(b, conn_groups_at(p->t, g_array_index(order, uint32_t, i)));
    json_end_array(b);
    if (p->closes->len == n && mstate_closes_numbered(a)) {
        json_key(b, "closes");
        json_begin_array(b);
        for (guint i = 0; i < order->len; i++)
            json_int(b, g_array_index(p->closes, int64_t, g_array_index(order, uint32_t, i)));
        json_end_array(b);
    }
    g_array_free(order, TRUE);
    /* the listed combinations: each its hash, 4 bytes big-endian, and its
     * connections, a LEB128 number (one byte below 128); in the table's
     * order (merge sorts them) */
    guchar *raw = g_malloc(9 * (gsize)p->used + 1);
    gsize len = 0;
    for (uint32_t i = 0; p->slots && i <= p->mask; i++) {
        const struct past_key *k = &p->slots[i];
        if (!k->hash)
            continue;
        for (int j = 0; j < 4; j++)
            raw[len++] = (guchar)(k->hash >> (24 - 8 * j));
        uint32_t c = k->conns;
        do {
            raw[len++] = (guchar)((c & 0x7f) | (c >= 0x80 ? 0x80 : 0));
            c >>= 7;
        } while (c);
    }
    json_key(b, "keys");
    json_begin_object(b);
    json_kuint(b, "n", p->used);
    gchar *text = g_base64_encode(raw, len);
    json_kstr(b, "b64", text);
    g_free(text);
    g_free(raw);
    json_end_object(b);
    json_kuint(b, "unkept", p->unkept);
    json_end_object(b);
}

void groups_past_fold_keys(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *o)
{
    struct jpath kp;
    jpath_key(&kp, p, "keys");
    JsonObject *ko = jget_obj(g, p, o, "keys");
    uint64_t n = jget_u64(g, &kp, ko, "n", GROUPS_PAST_KEYS_CAP);
    const char *text = jget_str(g, &kp, ko, "b64", 4 * ((9 * GROUPS_PAST_KEYS_CAP + 2) / 3), false);
    uint64_t unkept = jget_u64(g, p, o, "unkept", INT64_MAX);
    if (g->failed)
        return;
    gsize len = 0;
    guchar *raw = g_base64_decode(text, &len);
    if (!a->groups_past)
        a->groups_past = g_new0(struct groups_past, 1);
    struct groups_past *m = a->groups_past;
    if (!m->keys)
        m->keys = g_array_new(FALSE, FALSE, sizeof(struct past_key));
    GArray *got = g_array_sized_new(FALSE, FALSE, sizeof(struct past_key), (guint)n);
    uint64_t listed = 0;
    gsize at = 0;
    for (uint64_t i = 0; i < n && !g->failed; i++) {
        struct past_key k = { 0, 0 };
        for (int j = 0; j < 4 && at < len; j++)
            k.hash = k.hash << 8 | raw[at++];
        uint64_t c = 0;
        for (int shift = 0; at < len && shift < 35; shift += 7) {
            c |= (uint64_t)(raw[at] & 0x7f) << shift;
            if (!(raw[at++] & 0x80))
                break;
        }
        if (!k.hash || !c || c > UINT32_MAX || (at && raw[at - 1] & 0x80))
            jget_fail(g, &kp, "b64: not n hashes, each of connections");
        k.conns = (uint32_t)c;
        listed += k.conns;
        g_array_append_val(got, k);
    }
    if (!g->failed && at != len)
        jget_fail(g, &kp, "b64: more than n hashes");
    g_free(raw);
    if (!g->failed) {
        if (m->keys->len + got->len <= GROUPS_PAST_MERGE_KEYS)
            g_array_append_vals(m->keys, got->data, got->len);
        else /* merge's own bound: not listed, counted */
            unkept += listed;
        m->unkept = m->unkept + unkept < m->unkept ? UINT64_MAX : m->unkept + unkept;
    }
    g_array_free(got, TRUE);
}

/* The first key of hash >= h in sorted keys. */
static guint keys_from(const GArray *keys, uint32_t h)
{
    guint lo = 0, hi = keys->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(keys, struct past_key, mid).hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void groups_past_unfolded(struct analysis *a, const struct conn_summary *cs)
{
    struct groups_past *m = a->groups_past;
    if (!m || !m->keys || !m->keys->len)
        return;
    if (!m->sorted) { /* every state's keys are read: sorted once */
        g_array_sort(m->keys, by_hash);
        m->sorted = true;
    }
    uint32_t h = summary_hash(cs);
    for (guint i = keys_from(m->keys, h); i < m->keys->len && g_array_index(m->keys, struct past_key, i).hash == h; i++)
        if (g_array_index(m->keys, struct past_key, i).conns) {
            g_array_index(m->keys, struct past_key, i).conns--;
            return;
        }
}

uint64_t groups_past_misplaced(struct analysis *a, const struct conn_groups *capped)
{
    struct groups_past *m = a->groups_past;
    if (!m)
        return 0;
    uint64_t n = m->unkept;
    if (m->keys && m->keys->len) {
        g_array_sort(m->keys, by_hash);
        for (uint32_t i = 0; i < conn_groups_count(capped); i++) {
            const struct conn_group *grp = conn_groups_at(capped, i);
            if (grp->key.level != CONN_GROUP_FULL)
                continue;
            uint32_t h = key_hash(&grp->key);
            for (guint lo = keys_from(m->keys, h); lo < m->keys->len && g_array_index(m->keys, struct past_key, lo).hash == h; lo++)
                n += g_array_index(m->keys, struct past_key, lo).conns;
        }
    }
    return n;
}

/* A key as a 64-bit hash keyed by the process's random number
 * (distinct.h): the keys are the report's. */
static uint64_t row_key_hash(const struct conn_group_key *k) { return distinct_hash(k, sizeof *k); }

static gint by_u64(gconstpointer pa, gconstpointer pb)
{
    uint64_t x = *(const uint64_t *)pa, y = *(const uint64_t *)pb;
    return (x > y) - (x < y);
}

void groups_past_row_read(struct analysis *a, const struct conn_group_key *k)
{
    if (!a->groups_past)
        a->groups_past = g_new0(struct groups_past, 1);
    struct groups_past *m = a->groups_past;
    if (!m->state_rows)
        m->state_rows = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint64_t h = row_key_hash(k);
    g_array_append_val(m->state_rows, h);
    m->state_sorted = false;
}

static bool state_has(struct groups_past *m, const struct conn_summary *cs, enum conn_group_level l)
{
    if (!m->state_sorted) {
        g_array_sort(m->state_rows, by_u64);
        m->state_sorted = true;
    }
    struct conn_group_key k;
    conn_group_key_of(&k, cs, l);
    uint64_t h = row_key_hash(&k);
    guint lo = 0, hi = m->state_rows->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(m->state_rows, uint64_t, mid) < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->state_rows->len && g_array_index(m->state_rows, uint64_t, lo) == h;
}

uint8_t groups_past_level(struct analysis *a, const struct conn_summary *cs, uint8_t level)
{
    struct groups_past *m = a->groups_past;
    if (level <= CONN_GROUP_ANY_CLIENT || !m || !m->state_rows || !m->state_rows->len)
        return level; /* the state's own groups hold it */
    if (state_has(m, cs, CONN_GROUP_ANY_CLIENT))
        return CONN_GROUP_ANY_CLIENT;
    return state_has(m, cs, CONN_GROUP_ANY_HOST) ? CONN_GROUP_ANY_HOST : CONN_GROUP_OTHER;
}

void groups_past_state_done(struct analysis *a)
{
    if (a->groups_past && a->groups_past->state_rows)
        g_array_set_size(a->groups_past->state_rows, 0);
}
