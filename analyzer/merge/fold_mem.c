/* fold_mem.c - see fold_mem.h.  Each part mirrors the member of the merge
 * state it stands for (mstate_write.c writes it, mstate_read.c and
 * mstate_conns.c fold it). */
#include "fold_mem.h"

#include <string.h>

#include "census.h"
#include "conn_groups.h"
#include "distinct.h"
#include "hosts.h"
#include "ipfrag.h"
#include "mstate_xchg.h"
#include "netbios.h"
#include "quic_table.h"
#include "rdma.h"
#include "mstate_join_hs.h"
#include "mstate_join_quic.h"
#include "mstate_join_syn.h"
#include "smb_hosts.h"

/* An exact set's hashes added, or the registers united (kdistinct). */
static void fold_distinct(struct distinct *dst, const struct distinct *src)
{
    if (distinct_is_estimate(src)) {
        distinct_union_hll(dst, distinct_hll(src));
        return;
    }
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
    dst->iwarp_crc_bad += src->iwarp_crc_bad;
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
    quic_tails_fold_mem(dst, src);
    hs_edges_fold_mem(dst, src);
}

static void fold_census(struct census *dst, const struct census *src)
{
    dst->snaplen_cut += src->snaplen_cut;
    dst->snaplen_cut_smb += src->snaplen_cut_smb;
    if (src->snaplen > dst->snaplen)
        dst->snaplen = src->snaplen;
    dst->pairs_dropped += src->pairs_dropped;
    dst->dns_messages += src->dns_messages;
    dst->dns_keys_dropped += src->dns_keys_dropped;
    fold_distinct(dst->udp_convs, src->udp_convs);
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, src->dns_keys);
    while (g_hash_table_iter_next(&it, &key, NULL))
        census_add_dns_key(dst, key);
}

/* A pair's first SYN (to 139 or 445). */
static int64_t first_syn(const struct census_pair *p)
{
    int64_t t = INT64_MAX;
    if (p->syn139 && p->t139[0] < t)
        t = p->t139[0];
    if (p->syn445 && p->t445[0] < t)
        t = p->t445[0];
    return t;
}

static gint pair_order(gconstpointer pa, gconstpointer pb)
{
    const struct census_pair *a = *(const struct census_pair *const *)pa, *b = *(const struct census_pair *const *)pb;
    int64_t x = first_syn(a), y = first_syn(b);
    if (x != y)
        return x < y ? -1 : 1;
    int c = memcmp(&a->client, &b->client, sizeof a->client);
    return c ? c : memcmp(&a->server, &b->server, sizeof a->server);
}

/* The SYN pairs of every src in order of their first SYN across them all:
 * the capped table tracks the pairs one run would (its first), and counts
 * the SYNs of the rest as that run does. */
static void fold_pairs(struct census *dst, struct analysis *const *src, unsigned n)
{
    GPtrArray *order = g_ptr_array_new();
    for (unsigned k = 0; k < n; k++)
        for (uint32_t s = 0; s < census_pair_slots(src[k]->census); s++) {
            const struct census_pair *p = census_pair_at(src[k]->census, s);
            if (p)
                g_ptr_array_add(order, (gpointer)(uintptr_t)p);
        }
    g_ptr_array_sort(order, pair_order);
    for (guint i = 0; i < order->len; i++)
        census_fold_pair(dst, g_ptr_array_index(order, i));
    g_ptr_array_free(order, TRUE);
}

static void fold_netbios(struct nb_ledger *dst, struct nb_ledger *src)
{
    struct host_table *dh = nb_ledger_hosts_mut(dst), *sh = nb_ledger_hosts_mut(src);
    const struct ip_addr *bc;
    uint32_t nbc = host_table_broadcasts(sh, &bc);
    for (uint32_t i = 0; i < nbc; i++)
        host_table_learn_broadcast(dh, &bc[i]);
    for (uint32_t i = 0; i < host_table_size(sh); i++)
        host_table_fold(dh, host_table_at(sh, i));
    bool est;
    host_table_total(sh, &est);
    if (est)
        fold_distinct(host_table_all(dh), host_table_all(sh));
    for (guint i = 0; i < nb_ledger_count(src); i++) {
        const struct nb_flow *f = nb_ledger_row(src, i);
        bool joined = false;
        nb_ledger_fold_row(dst, f, &joined);
        if (joined)
            host_table_unjoin_nb_flow(dh, &f->client, &f->server);
    }
    fold_distinct(nb_ledger_overflow_set(dst), nb_ledger_overflow_set(src));
    nb_ledger_fold_counts(dst, nb_ledger_overflow(src), nb_ledger_non_ip_counts(src));
}

/* The groups without the edge connections (those travel apart). */
static const struct conn_groups *core_groups(const struct analysis *a)
{
    return a->core_groups ? a->core_groups : a->groups;
}

struct group_ref {
    const struct conn_group *g;
};

/* First-seen order, ties by key: the order the state lists groups in (a
 * capped table keeps the first it is given). */
static gint group_order(gconstpointer pa, gconstpointer pb)
{
    const struct conn_group *a = ((const struct group_ref *)pa)->g, *b = ((const struct group_ref *)pb)->g;
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    return memcmp(&a->key, &b->key, sizeof a->key);
}

/* The groups of every src into dst in that order, across them all. */
static void fold_groups(struct analysis *dst, struct analysis *const *src, unsigned n)
{
    GArray *order = g_array_new(FALSE, FALSE, sizeof(struct group_ref));
    for (unsigned k = 0; k < n; k++) {
        const struct conn_groups *groups = core_groups(src[k]);
        for (uint32_t i = 0; i < conn_groups_count(groups); i++) {
            struct group_ref r = { conn_groups_at(groups, i) };
            g_array_append_val(order, r);
        }
    }
    g_array_sort(order, group_order);
    for (guint i = 0; i < order->len; i++)
        conn_groups_add_group(dst->groups, g_array_index(order, struct group_ref, i).g);
    g_array_free(order, TRUE);
}

struct host_ref {
    const struct host_rec *r;
    const struct smb_host *x;
};

static gint host_order(gconstpointer pa, gconstpointer pb)
{
    const struct host_rec *a = ((const struct host_ref *)pa)->r, *b = ((const struct host_ref *)pb)->r;
    if (a->first_seen != b->first_seen)
        return a->first_seen < b->first_seen ? -1 : 1;
    return memcmp(&a->addr, &b->addr, sizeof a->addr);
}

/* The SMB hosts of every src (without the edge connections) in first-seen
 * order across them all: the capped table records the hosts one run would. */
static void fold_smb_hosts(struct analysis *dst, struct analysis *const *src, unsigned n)
{
    GArray *order = g_array_new(FALSE, FALSE, sizeof(struct host_ref));
    for (unsigned k = 0; k < n; k++) {
        const struct smb_hosts *hosts = src[k]->core_hosts ? src[k]->core_hosts : src[k]->smb_hosts;
        for (uint32_t i = 0; i < smb_hosts_size(hosts); i++) {
            struct host_ref h;
            h.x = smb_hosts_at(hosts, i, &h.r);
            if (h.r && h.x)
                g_array_append_val(order, h);
        }
    }
    g_array_sort(order, host_order);
    for (guint i = 0; i < order->len; i++)
        smb_hosts_fold(dst->smb_hosts, g_array_index(order, struct host_ref, i).r,
                       g_array_index(order, struct host_ref, i).x);
    g_array_free(order, TRUE);
}

static void fold_conns(struct analysis *dst, struct analysis *src)
{
    const struct smb_hosts *hosts = src->core_hosts ? src->core_hosts : src->smb_hosts;
    smb_hosts_fold_unrecorded(dst->smb_hosts, smb_hosts_unrecorded(hosts));
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

void fold_mem_many(struct analysis *dst, struct analysis *const *src, unsigned n)
{
    fold_groups(dst, src, n);
    fold_pairs(dst->census, src, n);
    fold_smb_hosts(dst, src, n);
    for (unsigned k = 0; k < n; k++) {
        fold_run(dst, src[k]);
        fold_census(dst->census, src[k]->census);
        fold_netbios(dst->ledger, src[k]->ledger);
        fold_conns(dst, src[k]);
    }
}

void fold_mem(struct analysis *dst, struct analysis *src) { fold_mem_many(dst, &src, 1); }
