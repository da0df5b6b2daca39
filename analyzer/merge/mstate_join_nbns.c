/* mstate_join_nbns.c - see mstate_join_nbns.h. */
#include "mstate_join_nbns.h"

#include <string.h>

#include "analysis.h"
#include "mstate_put.h"
#include "netbios.h"

/* [kind, asker, port, id, ts, row_client, row_client_port, row_server,
 * row_server_port]: kind 0 a query still waiting (ts: its row's last
 * packet; the row that asked), 1 a response no query matched (ts: its
 * own; the row it came on). */
enum { XF_KIND, XF_ASKER, XF_PORT, XF_ID, XF_TS, XF_RC, XF_RCP, XF_RS, XF_RSP, XF_N };

struct xid {
    uint8_t kind;
    struct ip_addr asker, row_client, row_server;
    uint16_t port, id, row_client_port, row_server_port;
    int64_t ts;
};

static struct xid of(uint8_t kind, const struct nb_nbns_xid *x)
{
    struct xid r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.asker = x->client;
    r.port = x->port;
    r.id = x->id;
    r.ts = x->ts;
    if (x->row) {
        r.row_client = x->row->client;
        r.row_server = x->row->server;
        r.row_client_port = x->row->client_port;
        r.row_server_port = x->row->server_port;
    }
    return r;
}

static void collect(void *ctx, const struct nb_nbns_xid *x)
{
    struct xid r = of(0, x);
    g_array_append_val((GArray *)ctx, r);
}

/* Every transaction of a's edges: its ledger's waiting queries and
 * unmatched responses, and (a merge) those no report's matched;
 * *folded gets the responses the ledger could not keep. */
static GArray *xids_of(const struct analysis *a, uint64_t *folded)
{
    GArray *all = g_array_new(FALSE, TRUE, sizeof(struct xid));
    nb_ledger_each_pending(a->ledger, collect, all);
    guint n = 0;
    const struct nb_nbns_xid *o = nb_ledger_orphans(a->ledger, &n, folded);
    for (guint i = 0; i < n; i++) {
        struct xid r = of(1, &o[i]);
        g_array_append_val(all, r);
    }
    if (a->nbns_xids)
        g_array_append_vals(all, a->nbns_xids->data, a->nbns_xids->len);
    return all;
}

/* x into a's transactions to join, false past the bound merge holds itself to. */
static bool keep(struct analysis *a, const struct xid *x)
{
    if (!a->nbns_xids)
        a->nbns_xids = g_array_new(FALSE, TRUE, sizeof(struct xid));
    if (a->nbns_xids->len >= 32 * ANALYSIS_MAX_EDGES)
        return false;
    g_array_append_val(a->nbns_xids, *x);
    return true;
}

/* Queries nearest the end first, responses nearest the start first. */
static gint by_edge(gconstpointer pa, gconstpointer pb)
{
    const struct xid *a = pa, *b = pb;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->ts != b->ts)
        return (a->ts < b->ts) == (a->kind == 1) ? -1 : 1;
    return memcmp(a, b, sizeof *a); /* zero-filled: comparable as bytes */
}

static void put_one(struct json *b, const struct xid *x)
{
    json_begin_array(b);
    json_int(b, x->kind);
    vaddr(b, &x->asker);
    json_int(b, x->port);
    json_int(b, x->id);
    json_int(b, x->ts);
    vaddr(b, &x->row_client);
    json_int(b, x->row_client_port);
    vaddr(b, &x->row_server);
    json_int(b, x->row_server_port);
    json_end_array(b);
}

void mstate_build_nbns_xids(struct json *b, const struct analysis *a)
{
    uint64_t folded = 0;
    GArray *all = xids_of(a, &folded);
    g_array_sort(all, by_edge);
    json_key(b, "nbns_xids");
    json_begin_array(b);
    guint kept[2] = { 0, 0 };
    for (guint i = 0; i < all->len; i++) {
        const struct xid *x = &g_array_index(all, struct xid, i);
        if (kept[x->kind]++ < ANALYSIS_MAX_EDGES) /* past it: left unmatched (README: merge) */
            put_one(b, x);
        else
            folded++;
    }
    json_end_array(b);
    g_array_free(all, TRUE);
    kint(b, "nbns_xids_folded", folded + a->state_folded.nbns_xids);
}

static void eaddr(struct jget *g, const struct jpath *p, JsonArray *e, guint i, struct ip_addr *out)
{
    const char *s = jget_elem_str(g, p, e, i, 64);
    if (s && !jget_parse_addr(s, out))
        jget_fail(g, p, "not an address");
}

void mstate_fold_nbns_xids(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    if (!json_object_has_member(st, "nbns_xids"))
        return; /* a report of this format written before they were carried */
    a->state_folded.nbns_xids += jget_u64(g, p, st, "nbns_xids_folded", INT64_MAX);
    struct jpath ap, ip;
    jpath_key(&ap, p, "nbns_xids");
    JsonArray *arr = jget_arr(g, p, st, "nbns_xids", 2 * ANALYSIS_MAX_EDGES);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != XF_N) {
            jget_fail(g, &ip, "not [kind, asker, port, id, ts, addr, port, addr, port]");
            return;
        }
        struct xid x;
        memset(&x, 0, sizeof x);
        x.kind = (uint8_t)jget_elem_u64(g, &ip, e, XF_KIND, 1);
        eaddr(g, &ip, e, XF_ASKER, &x.asker);
        x.port = (uint16_t)jget_elem_u64(g, &ip, e, XF_PORT, 65535);
        x.id = (uint16_t)jget_elem_u64(g, &ip, e, XF_ID, 65535);
        x.ts = jget_elem_ts(g, &ip, e, XF_TS);
        eaddr(g, &ip, e, XF_RC, &x.row_client);
        x.row_client_port = (uint16_t)jget_elem_u64(g, &ip, e, XF_RCP, 65535);
        eaddr(g, &ip, e, XF_RS, &x.row_server);
        x.row_server_port = (uint16_t)jget_elem_u64(g, &ip, e, XF_RSP, 65535);
        if (g->failed)
            return;
        keep(a, &x);
    }
}

void nbns_xids_fold_mem(struct analysis *dst, const struct analysis *src)
{
    uint64_t dropped = 0;
    GArray *all = xids_of(src, &dropped);
    for (guint i = 0; i < all->len; i++)
        dropped += !keep(dst, &g_array_index(all, struct xid, i));
    dst->state_folded.nbns_xids += dropped + src->state_folded.nbns_xids;
    g_array_free(all, TRUE);
}

void nbns_xids_take(struct analysis *a, const struct nb_ledger *l)
{
    GArray *all = g_array_new(FALSE, TRUE, sizeof(struct xid));
    nb_ledger_each_pending(l, collect, all);
    guint n = 0;
    uint64_t dropped = 0;
    const struct nb_nbns_xid *o = nb_ledger_orphans(l, &n, &dropped);
    for (guint i = 0; i < n; i++) {
        struct xid r = of(1, &o[i]);
        g_array_append_val(all, r);
    }
    for (guint i = 0; i < all->len; i++)
        dropped += !keep(a, &g_array_index(all, struct xid, i));
    a->state_folded.nbns_xids += dropped;
    g_array_free(all, TRUE);
}

void nbns_xids_free(struct analysis *a)
{
    if (a->nbns_xids)
        g_array_free(a->nbns_xids, TRUE);
    a->nbns_xids = NULL;
}

static bool same_xid(const struct xid *q, const struct xid *r)
{
    return q->port == r->port && q->id == r->id && q->asker.family == r->asker.family &&
           memcmp(q->asker.bytes, r->asker.bytes, sizeof q->asker.bytes) == 0;
}

/* Responses in time order, each to the latest query before it of the same
 * asker, port and id (netbios.c keeps one waiting entry per such key). */
static gint by_time(gconstpointer pa, gconstpointer pb)
{
    const struct xid *a = pa, *b = pb;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return memcmp(a, b, sizeof *a);
}

void mstate_join_nbns(struct analysis *a)
{
    GArray *x = a->nbns_xids;
    if (!x || !x->len)
        return;
    g_array_sort(x, by_time);
    bool *used = g_new0(bool, x->len);
    for (guint i = 0; i < x->len; i++) {
        const struct xid *r = &g_array_index(x, struct xid, i);
        if (r->kind != 1)
            continue;
        guint best = G_MAXUINT;
        for (guint k = 0; k < i; k++) { /* earlier in time: by_time order */
            const struct xid *q = &g_array_index(x, struct xid, k);
            if (q->kind == 0 && !used[k] && same_xid(q, r))
                best = k;
        }
        if (best == G_MAXUINT)
            continue;
        const struct xid *q = &g_array_index(x, struct xid, best);
        struct nb_flow *row = nb_ledger_find(a->ledger, 17, &q->row_client, q->row_client_port, &q->row_server,
                                             q->row_server_port);
        if (row)
            row->queries_answered++;
        used[best] = used[i] = true;
    }
    guint w = 0;
    for (guint i = 0; i < x->len; i++)
        if (!used[i])
            g_array_index(x, struct xid, w++) = g_array_index(x, struct xid, i);
    g_array_set_size(x, w);
    g_free(used);
}
