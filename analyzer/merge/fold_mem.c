/* fold_mem.c - see fold_mem.h.  Each part mirrors the member of the merge
 * state it stands for (mstate_write.c writes it, mstate_read.c and
 * mstate_conns.c fold it). */
#include "fold_mem.h"

#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "conn_groups.h"
#include "distinct.h"
#include "hosts.h"
#include "ipfrag.h"
#include "mstate_frags.h"
#include "jobs.h"
#include "mstate.h"
#include "mstate_xchg.h"
#include "netbios.h"
#include "quic_table.h"
#include "rdma.h"
#include "mstate_join_hs.h"
#include "mstate_join_quic.h"
#include "mstate_groups_past.h"
#include "mstate_join_syn.h"
#include "mstate_syn_starts.h"
#include "smb_hosts.h"
#include "past_cap.h"

/* An exact set's hashes added, or the registers united (kdistinct). */
static void fold_distinct(struct distinct *dst, const struct distinct *src)
{
    if (distinct_is_estimate(src)) {
        distinct_union_hll(dst, distinct_hll(src));
        return;
    }
    distinct_reserve(dst, distinct_count(src)); /* one growth for both, not doublings beside src's */
    uint32_t n;
    const uint64_t *slots = distinct_slots(src, &n);
    for (uint32_t i = 0; slots && i < n; i++)
        if (slots[i])
            distinct_add(dst, slots[i]);
}

static void fold_run(struct analysis *dst, struct analysis *src)
{
    for (guint i = 0; i < src->inputs->len; i++)
        g_ptr_array_add(dst->inputs, g_ptr_array_index(src->inputs, i));
    g_ptr_array_set_free_func(src->inputs, NULL); /* dst's now */
    g_ptr_array_set_size(src->inputs, 0);
    dst->packets += src->packets;
    if (src->first_ts < dst->first_ts)
        dst->first_ts = src->first_ts;
    if (src->last_ts > dst->last_ts)
        dst->last_ts = src->last_ts;
    dst->input_error |= src->input_error;
    dst->filtered_out += src->filtered_out;
    struct flow_stats fs = flow_table_stats(src->flows);
    if (dst->part_clocks) /* runs folded one after another: mstate_clocks_finish() counts their jumps */
        fs.time_jumps = 0;
    flow_table_fold_stats(dst->flows, &fs);
    ipfrag_fold_stats(dst->frags, ipfrag_stats(src->frags));
    struct quic_table_stats q = quic_table_stats(src->quic);
    quic_table_fold_stats(dst->quic, &q);
    roce_table_fold_counts(dst->roce, roce_table_dropped(src->roce), roce_table_not_decoded(src->roce),
                           roce_table_icrc_bad(src->roce));
    roce_table_fold_over_budget(dst->roce, roce_table_over_budget(src->roce));
    dst->iwarp_crc_bad += src->iwarp_crc_bad;
    esp_peers_fold(&dst->esp_peers, &src->esp_peers);
    rdma_iwarp_fold_over_budget(dst->session_cfg.pool, rdma_iwarp_over_budget(src->session_cfg.pool));
    /* connections seen from their middle with no payload: merge joins them to
     * another part's open connection (mstate_tails.h), as many as a run keeps */
    for (guint i = 0; src->tails && i < src->tails->len; i++) {
        if (!dst->tails)
            dst->tails = g_array_new(FALSE, TRUE, sizeof(struct analysis_tail));
        if (dst->tails->len >= ANALYSIS_MAX_EDGES)
            break;
        g_array_append_val(dst->tails, g_array_index(src->tails, struct analysis_tail, i));
    }
    syn_flows_fold_mem(dst, src);
    syn_starts_fold_mem(dst, src);
    quic_tails_fold_mem(dst, src);
    hs_edges_fold_mem(dst, src);
    mstate_frags_fold_mem(dst, src); /* IP datagrams held incomplete (mstate_frags.h) */
}

static void fold_census(struct census *dst, struct census *src)
{
    dst->snaplen_cut += src->snaplen_cut;
    dst->snaplen_cut_smb += src->snaplen_cut_smb;
    if (src->snaplen > dst->snaplen)
        dst->snaplen = src->snaplen;
    dst->pairs_dropped += src->pairs_dropped;
    dst->dns_messages += src->dns_messages;
    dst->dns_keys_dropped += src->dns_keys_dropped;
    if (!distinct_take(dst->udp_convs, src->udp_convs)) /* the first taken whole, not copied beside it */
        fold_distinct(dst->udp_convs, src->udp_convs);
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, src->dns_keys);
    while (g_hash_table_iter_next(&it, &key, NULL))
        census_add_dns_key(dst, key);
}

static gint pair_order(gconstpointer pa, gconstpointer pb)
{
    return census_pair_cmp(pa, pb);
}

/* Returns the hosts whose records lack what src counted of them past its
 * own records (host_table_fold_compact()): marked, as a merge marks them. */
static uint64_t fold_netbios(struct nb_ledger *dst, struct nb_ledger *src, bool disjoint)
{
    struct host_table *dh = nb_ledger_hosts_mut(dst), *sh = nb_ledger_hosts_mut(src);
    const struct ip_addr *bc;
    uint32_t nbc = host_table_broadcasts(sh, &bc);
    for (uint32_t i = 0; i < nbc; i++)
        host_table_learn_broadcast(dh, &bc[i]);
    for (uint32_t i = 0; i < host_table_size(sh); i++)
        host_table_fold(dh, host_table_at(sh, i));
    /* the hosts src counted past its records: counted here too (one run
     * counts them past its records as well, or holds a record of them) */
    uint64_t lost = host_table_fold_compact(dh, sh);
    bool est;
    host_table_total(sh, &est);
    if (est)
        fold_distinct(host_table_all(dh), host_table_all(sh));
    for (guint i = 0; i < nb_ledger_count(src); i++) {
        const struct nb_flow *f = nb_ledger_row(src, i);
        bool joined = false;
        guint rows = nb_ledger_count(dst);
        /* counted in dst's overflow already (--jobs: src took it past its
         * cap, jobs.c): one flow, counted and not itemised */
        bool counted = !nb_ledger_find(dst, f->proto, &f->client, f->client_port, &f->server, f->server_port) &&
                       nb_ledger_overflow_has(dst, f);
        nb_ledger_fold_row(dst, f, &joined);
        if (joined || counted) {
            host_table_unjoin_nb_flow(dh, &f->client, &f->server);
        } else if (nb_ledger_count(dst) == rows) {
            /* past dst's cap: one run counts the flow among its client's
             * flows not itemised (netbios.c note_hosts()), src listed it */
            struct host_rec *c = host_table_find(dh, &f->client);
            if (c)
                c->nb_flows_unlisted++;
            else
                host_table_compact_or(dh, &f->client, HOST_C_UNLISTED);
        }
    }
    /* src's set is read no more: the first one taken whole, the others
     * added and given back (700,000 connections on 139 under --jobs 2: the
     * two workers' sets and the fold's, grown beside them, were the peak) */
    struct distinct *so = nb_ledger_overflow_set(src), *d = nb_ledger_overflow_set(dst);
    if (!distinct_take(d, so)) {
        /* one file's threads: no flow in two of them, so past what a
         * merge state lists the counts add up and the union is not built
         * (700,000 connections on 139: the fold's 1 M slots, 8 MiB, grown
         * beside both workers' sets) */
        if (!disjoint || !distinct_fold_disjoint(d, so, MSTATE_EXACT_CAP))
            fold_distinct(d, so);
        distinct_forget(so);
    }
    nb_ledger_fold_counts(dst, nb_ledger_overflow(src), nb_ledger_non_ip_counts(src));
    return lost;
}

/* The groups without the edge connections (those travel apart). */
static const struct conn_groups *core_groups(const struct analysis *a)
{
    return a->core_groups ? a->core_groups : a->groups;
}

static const struct smb_hosts *core_smb_hosts(const struct analysis *a)
{
    return a->core_hosts ? a->core_hosts : a->smb_hosts;
}

/* First-seen order, ties by key: the order the state lists groups in (a
 * capped table keeps the first it is given). */
static gint group_order(gconstpointer pa, gconstpointer pb)
{
    const struct conn_group *a = pa, *b = pb;
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    return memcmp(&a->key, &b->key, sizeof a->key);
}

static gint host_order(gconstpointer pa, gconstpointer pb)
{
    const struct host_rec *a = pa, *b = pb;
    if (a->first_seen != b->first_seen)
        return a->first_seen < b->first_seen ? -1 : 1;
    return memcmp(&a->addr, &b->addr, sizeof a->addr);
}

static void fold_conns(struct analysis *dst, struct analysis *src)
{
    smb_hosts_fold_unrecorded(dst->smb_hosts, smb_hosts_unrecorded(core_smb_hosts(src)));
    dst->edges_joined += src->edges_joined;
    dst->edges_unjoinable += src->edges_unjoinable;
    for (guint i = 0; src->edges && i < src->edges->len; i++) {
        const struct conn_summary *cs = &g_array_index(src->edges, struct conn_summary, i);
        if (dst->edges->len < 16 * ANALYSIS_MAX_EDGES) {
            g_array_append_val(dst->edges, *cs);
            guint x = mstate_xchg_find(src, cs);
            if (x != G_MAXUINT)
                mstate_xchg_put(dst, cs, &((const struct mstate_xchg *)g_ptr_array_index(src->edge_xchg, x))->x);
        } else { /* the bound merge has (mstate_fold_edges) */
            dst->edges_unjoinable++;
            conn_groups_add(dst->groups, cs);
            smb_hosts_add(dst->smb_hosts, cs);
        }
    }
    dst->conns_omitted += src->conns_omitted;
    for (guint i = 0; i < src->conns->len; i++)
        g_ptr_array_add(dst->conns, g_ptr_array_index(src->conns, i));
    g_ptr_array_set_free_func(src->conns, NULL); /* dst's now */
    g_ptr_array_set_size(src->conns, 0);
}

/* --- the capped tables, in first-seen order across every src ------------ */

/* What a capped table is folded from: one analysis' entries, each with
 * its index in the table (SMB hosts are folded from it). */
enum fold_table { FT_PAIRS, FT_GROUPS, FT_HOSTS, FT_COUNT };

struct fold_ref {
    const void *e; /* what the table's order compares */
    guint i;
};

struct fold_order {
    const struct analysis *src;
    struct census_pair *pairs; /* src's SYN pairs, taken from its census (census_take_pairs()), sorted */
    guint size[FT_COUNT];   /* slots of each table */
    GArray *refs[FT_COUNT]; /* struct fold_ref in first-seen order (ORDER[t]); NULL: the table is */
    GCompareFunc group_cmp; /* fold_order_groups_by(): refs[FT_GROUPS] point at its keys */
    int64_t *group_closes;  /* fold_order_group_closes(): each group's close, one run's number (owned) */
};

/* The entry at index i of table t of o: what the comparators take. */
static const void *entry(const struct fold_order *o, enum fold_table t, guint i)
{
    const struct analysis *src = o->src;
    const struct host_rec *r = NULL;
    switch (t) {
    case FT_PAIRS:
        return &o->pairs[i];
    case FT_GROUPS:
        return conn_groups_at(core_groups(src), i);
    default: /* a record with its host */
        return smb_hosts_at(core_smb_hosts(src), i, &r) ? r : NULL;
    }
}

static const GCompareFunc ORDER[FT_COUNT] = { pair_order, group_order, host_order };

static gint ref_order(gconstpointer pa, gconstpointer pb, gpointer data)
{
    return (*(GCompareFunc *)data)(((const struct fold_ref *)pa)->e, ((const struct fold_ref *)pb)->e);
}

struct fold_order *fold_mem_order(struct analysis *src)
{
    struct fold_order *o = g_new0(struct fold_order, 1);
    o->src = src;
    uint32_t npairs;
    o->pairs = census_take_pairs(src->census, &npairs);
    qsort(o->pairs, npairs, sizeof *o->pairs, pair_order);
    o->size[FT_PAIRS] = npairs;
    o->size[FT_GROUPS] = conn_groups_count(core_groups(src));
    o->size[FT_HOSTS] = smb_hosts_size(core_smb_hosts(src));
    for (int t = FT_GROUPS; t < FT_COUNT; t++) {
        /* in order already (SMB hosts are, unless the clock stepped back):
         * no list, the table is walked as it is */
        guint n = 0;
        bool sorted = true;
        const void *prev = NULL;
        for (guint i = 0; i < o->size[t]; i++) {
            const void *e = entry(o, t, i);
            if (!e)
                continue;
            sorted = sorted && (!prev || ORDER[t](prev, e) < 0);
            prev = e;
            n++;
        }
        if (sorted)
            continue;
        o->refs[t] = g_array_sized_new(FALSE, FALSE, sizeof(struct fold_ref), n);
        for (guint i = 0; i < o->size[t]; i++) {
            struct fold_ref r = { entry(o, t, i), i };
            if (r.e)
                g_array_append_val(o->refs[t], r);
        }
        GCompareFunc cmp = ORDER[t];
        g_array_sort_with_data(o->refs[t], ref_order, &cmp);
    }
    return o;
}

void fold_order_as_made(struct fold_order *o)
{
    for (int t = FT_GROUPS; t <= FT_HOSTS; t++)
        if (o->refs[t]) { /* next_ref() walks the table as it is */
            g_array_free(o->refs[t], TRUE);
            o->refs[t] = NULL;
        }
}

void fold_order_groups_by(struct fold_order *o, const void *keys, guint n, size_t key_size, GCompareFunc cmp)
{
    if (n != o->size[FT_GROUPS]) /* not a key per group: first seen, as any fold */
        return;
    if (o->refs[FT_GROUPS])
        g_array_free(o->refs[FT_GROUPS], TRUE);
    o->refs[FT_GROUPS] = g_array_sized_new(FALSE, FALSE, sizeof(struct fold_ref), o->size[FT_GROUPS]);
    for (guint i = 0; i < o->size[FT_GROUPS]; i++) {
        struct fold_ref r = { (const char *)keys + (size_t)i * key_size, i };
        g_array_append_val(o->refs[FT_GROUPS], r);
    }
    o->group_cmp = cmp;
    g_array_sort_with_data(o->refs[FT_GROUPS], ref_order, &o->group_cmp);
}

void fold_order_group_closes(struct fold_order *o, int64_t *closes, guint n)
{
    g_free(o->group_closes);
    o->group_closes = n == o->size[FT_GROUPS] ? closes : NULL; /* not one per group: none */
    if (!o->group_closes)
        g_free(closes);
}

void fold_order_free(struct fold_order *o)
{
    if (!o)
        return;
    g_free(o->group_closes);
    for (int t = 0; t < FT_COUNT; t++)
        if (o->refs[t])
            g_array_free(o->refs[t], TRUE);
    g_free(o->pairs);
    g_free(o);
}

/* Table t's entry i of o into dst. */
static void take(struct analysis *dst, const struct fold_order *o, enum fold_table t, guint i)
{
    const struct analysis *src = o->src;
    const struct host_rec *r = NULL;
    switch (t) {
    case FT_PAIRS:
        census_fold_pair(dst->census, &o->pairs[i]);
        break;
    case FT_GROUPS: {
        const struct conn_group *grp = conn_groups_at(core_groups(src), i);
        uint32_t had = conn_groups_count(dst->groups);
        uint64_t full = conn_groups_level_conns(dst->groups, CONN_GROUP_FULL);
        uint64_t by_server = conn_groups_level_conns(dst->groups, CONN_GROUP_ANY_CLIENT);
        bool at_cap = conn_groups_level_full(dst->groups, CONN_GROUP_FULL);
        conn_groups_add_group(dst->groups, grp);
        /* one run past its cap lists what its table folded finer (mstate_groups_past.h):
         * a thread's group at its full level is one combination's connections */
        if (o->group_closes && at_cap && grp->key.level == CONN_GROUP_FULL &&
            conn_groups_level_conns(dst->groups, CONN_GROUP_FULL) == full)
            groups_past_note_group(dst, grp, by_server, o->group_closes[i]);
        if (conn_groups_count(dst->groups) > had && o->group_closes) {
            /* made here by the close that made src's group: one run's (split_closes.h) */
            if (!dst->group_close)
                dst->group_close = g_array_new(FALSE, FALSE, sizeof(int64_t));
            if (dst->group_close->len == had) /* else one made without a number: not aligned, not written */
                g_array_append_val(dst->group_close, o->group_closes[i]);
        }
        break;
    }
    default: {
        const struct smb_host *x = smb_hosts_at(core_smb_hosts(src), i, &r);
        smb_hosts_fold(dst->smb_hosts, r, x);
        break;
    }
    }
}

/* The next entry of table t of o in first-seen order (*pos: how far). */
static bool next_ref(const struct fold_order *o, enum fold_table t, guint *pos, struct fold_ref *r)
{
    if (o->refs[t]) {
        if (*pos == o->refs[t]->len)
            return false;
        *r = g_array_index(o->refs[t], struct fold_ref, (*pos)++);
        return true;
    }
    while (*pos < o->size[t]) {
        r->i = (*pos)++;
        if ((r->e = entry(o, t, r->i)))
            return true;
    }
    return false;
}

/* Table t of every order[k] merged into dst in first-seen order; ties in
 * k order (one sort over them all, concatenated).  Each list is freed when
 * done (the fold's peak memory is at its end). */
static void merge_table(struct analysis *dst, struct fold_order *const *order, unsigned n, enum fold_table t)
{
    guint pos[JOBS_MAX] = { 0 };
    struct fold_ref head[JOBS_MAX];
    bool have[JOBS_MAX];
    GCompareFunc cmp = t == FT_GROUPS && n && order[0]->group_cmp ? order[0]->group_cmp : ORDER[t];
    for (unsigned k = 0; k < n; k++)
        have[k] = next_ref(order[k], t, &pos[k], &head[k]);
    for (;;) {
        int best = -1;
        for (unsigned k = 0; k < n; k++)
            if (have[k] && (best < 0 || cmp(head[k].e, head[best].e) < 0))
                best = (int)k;
        if (best < 0)
            break;
        take(dst, order[best], t, head[best].i);
        have[best] = next_ref(order[best], t, &pos[best], &head[best]);
    }
    for (unsigned k = 0; k < n; k++) {
        if (order[k]->refs[t]) {
            g_array_free(order[k]->refs[t], TRUE);
            order[k]->refs[t] = NULL;
        }
        if (t == FT_PAIRS) {
            g_free(order[k]->pairs);
            order[k]->pairs = NULL;
            order[k]->size[t] = 0;
        }
    }
}

struct ordered_fold {
    struct analysis *dst;
    struct fold_order *const *order;
    unsigned n;
};

/* The groups and the SMB hosts (apart from the SYN pairs: dst's tables
 * these touch are their own, so the two may run at once). */
static gpointer fold_groups_hosts(gpointer data)
{
    struct ordered_fold *f = data;
    merge_table(f->dst, f->order, f->n, FT_GROUPS);
    merge_table(f->dst, f->order, f->n, FT_HOSTS);
    return NULL;
}

void fold_mem_many(struct analysis *dst, struct analysis *const *src, struct fold_order *const *order, unsigned n,
                   bool disjoint)
{
    g_assert(n <= JOBS_MAX);
    struct fold_order *own[JOBS_MAX] = { NULL };
    if (!order) {
        for (unsigned k = 0; k < n; k++)
            own[k] = fold_mem_order(src[k]);
        order = own;
    }
    /* Several: groups and SMB hosts on a second thread while this one folds
     * the SYN pairs and the rest; the connections (they add to groups and
     * SMB hosts past the edge bound) after both. */
    struct ordered_fold f = { dst, order, n };
    GThread *th = n > 1 ? g_thread_new("smbscope-fold", fold_groups_hosts, &f) : NULL;
    if (!th)
        fold_groups_hosts(&f);
    merge_table(dst, order, n, FT_PAIRS);
    for (unsigned k = 0; k < n; k++) {
        fold_run(dst, src[k]);
        fold_census(dst->census, src[k]->census);
        dst->state_folded.hosts += fold_netbios(dst->ledger, src[k]->ledger, disjoint);
    }
    if (th)
        g_thread_join(th);
    for (unsigned k = 0; k < n; k++)
        fold_conns(dst, src[k]);
    for (unsigned k = 0; k < n; k++)
        fold_order_free(own[k]);
}

void fold_mem(struct analysis *dst, struct analysis *src) { fold_mem_many(dst, &src, NULL, 1, false); }

void fold_mem_seal_sets(struct analysis *a)
{
    /* the sets the state carries past MSTATE_EXACT_CAP (exact_more) kept,
     * up to MSTATE_HASHES_MORE_CAP; the NetBIOS overflow's only with its
     * rows past the state's carried (netbios.rows_more) */
    distinct_seal(a->census->udp_convs, MSTATE_HASHES_MORE_CAP);
    struct nb_ledger *l = a->ledger;
    distinct_seal(nb_ledger_overflow_set(l),
                  nb_ledger_count(l) > MSTATE_NB_ROWS_CAP + MSTATE_NB_MORE_CAP ? MSTATE_EXACT_CAP : MSTATE_HASHES_MORE_CAP);
}

/* A table of src whose own cap was hit (past: its records past the cap)
 * while dst's table already held records: the keys of dst that came back
 * in src after its table was full were counted past its cap, where one run
 * over both, holding them, counts them in.  The SYN pairs, connection
 * groups and NetBIOS rows are not (within their bounds): src admitted
 * those keys past its cap (jobs.c). */
void fold_mem_mark_caps(struct analysis *dst, const struct analysis *src)
{
    bool est;
    const struct host_table *sh = nb_ledger_hosts(src->ledger);
    uint64_t nb_hosts = host_table_total(sh, &est);
    nb_hosts = est && nb_hosts > host_table_size(sh) ? nb_hosts - host_table_size(sh) : 0;
    /* NetBIOS rows: src took past its cap the flows dst holds (jobs.c),
     * unless it reached its bound, or dst's overflow no longer knows its
     * flows (past distinct.h's exact count) */
    uint64_t nb_rows_past = nb_ledger_overflow_flows(src->ledger);
    struct nb_ledger *sl = src->ledger;
    if (nb_ledger_count(sl) < PAST_CAP_CAPS * (uint64_t)nb_ledger_max_rows(sl) &&
        !distinct_is_estimate(nb_ledger_overflow_set(dst->ledger)))
        nb_rows_past = 0;
    /* SMB hosts: src took past its cap the addresses dst holds (jobs.c),
     * unless it reached its bound */
    const struct smb_hosts *sx = core_smb_hosts(src);
    uint64_t smb = smb_hosts_total(sx, &est); /* past the cap: an estimate of every address */
    smb = !smb_hosts_unrecorded(sx) || smb_hosts_size(sx) < PAST_CAP_CAPS * (uint64_t)smb_hosts_cap(sx) ? 0
          : smb > smb_hosts_size(sx)                                                             ? smb - smb_hosts_size(sx)
                                                                                                 : 1;
    const struct {
        uint64_t past;  /* src's records past its cap */
        bool dst_holds; /* dst's table is not empty */
        uint64_t *mark;
    } t[] = {
        { smb, smb_hosts_size(dst->smb_hosts) > 0, &dst->state_folded.smb_hosts },
        { nb_hosts, host_table_size(nb_ledger_hosts(dst->ledger)) > 0, &dst->state_folded.hosts },
        { nb_rows_past, nb_ledger_count(dst->ledger) > 0, &dst->state_folded.nb_rows },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
        if (t[i].past && t[i].dst_holds)
            *t[i].mark += t[i].past;
}

