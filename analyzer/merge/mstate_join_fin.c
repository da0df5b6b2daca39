/* mstate_join_fin.c - see mstate_join_fin.h. */
#include "mstate_join_fin.h"

#include <string.h>

#include "analysis.h"
#include "mstate_join_name.h"
#include "mstate_put.h"

/* [addr0, port0, addr1, port1, first_ts, fin0, fin1]: the flow's sides, the
 * record's first packet, whether each side sent a FIN. */
enum { FF_A0, FF_P0, FF_A1, FF_P1, FF_FIRST, FF_FIN0, FF_FIN1, FF_N };

struct fin_rec {
    struct ip_addr addr[2];
    uint16_t port[2];
    int64_t first_ts;
    bool fin[2];
    /* merge's index (below): taken by a join; the next record of the same name + 1 */
    bool used;
    uint32_t next;
};

/* The records (a run's, or all the reports' in merge), and in merge, once
 * a join has looked one up, their index by name: the first record of each
 * name + 1, the others chained through next.  A join marks what it takes
 * used (written no more): every look-up and the state's "owned" test are
 * then a hash look-up, not a scan of every record (16 x 4,096 in merge). */
struct fin_recs {
    GArray *recs; /* struct fin_rec */
    GHashTable *by;
    guint n_used;     /* records of recs a join marked used */
    uint32_t lingers; /* a run: lingering connections kept as edges (fin_linger_note) */
};

static struct fin_recs *recs_of(struct analysis *a)
{
    if (!a->edge_fins) {
        a->edge_fins = g_new0(struct fin_recs, 1);
        a->edge_fins->recs = g_array_new(FALSE, TRUE, sizeof(struct fin_rec));
    }
    return a->edge_fins;
}

void fin_recs_free(struct analysis *a)
{
    if (!a->edge_fins)
        return;
    g_array_free(a->edge_fins->recs, TRUE);
    if (a->edge_fins->by)
        g_hash_table_destroy(a->edge_fins->by);
    g_free(a->edge_fins);
    a->edge_fins = NULL;
}

static struct mstate_name rec_key(const struct fin_rec *r)
{
    return mstate_name_of(&r->addr[0], r->port[0], &r->addr[1], r->port[1], r->first_ts);
}

/* Record i into the index, at the end of its name's chain (the order the
 * records came in: the first of a name is the one a join takes). */
static void index_one(struct fin_recs *fr, guint i)
{
    struct mstate_name k = rec_key(&g_array_index(fr->recs, struct fin_rec, i));
    guint at = GPOINTER_TO_UINT(g_hash_table_lookup(fr->by, &k));
    if (!at) {
        g_hash_table_insert(fr->by, g_memdup2(&k, sizeof k), GUINT_TO_POINTER(i + 1));
        return;
    }
    struct fin_rec *r = &g_array_index(fr->recs, struct fin_rec, at - 1);
    while (r->next)
        r = &g_array_index(fr->recs, struct fin_rec, r->next - 1);
    r->next = i + 1;
}

/* The records joins took dropped (at merge's bound), the index rebuilt. */
static void compact(struct fin_recs *fr)
{
    guint w = 0;
    for (guint i = 0; i < fr->recs->len; i++) {
        struct fin_rec *r = &g_array_index(fr->recs, struct fin_rec, i);
        if (r->used)
            continue;
        r->next = 0;
        if (w != i)
            memcpy(&g_array_index(fr->recs, struct fin_rec, w), r, sizeof *r);
        w++;
    }
    g_array_set_size(fr->recs, w);
    fr->n_used = 0;
    g_hash_table_remove_all(fr->by);
    for (guint i = 0; i < w; i++)
        index_one(fr, i);
}

/* Edges and tails each at most ANALYSIS_MAX_EDGES in a run; merge bounds itself. */
static void put(struct analysis *a, const struct fin_rec *r)
{
    struct fin_recs *fr = recs_of(a);
    /* At the bound the records joins took make room, and are dropped only
     * once they are half the array: a compact() at every put once full made
     * each rename a pass over all 65,536 records (merge of 64 parts cut
     * inside open connections: minutes).  The records not used decide as
     * before, in the same order (a name's chain is in array order). */
    const guint bound = 16 * ANALYSIS_MAX_EDGES;
    if (fr->by && fr->recs->len >= bound && fr->n_used >= fr->recs->len / 2)
        compact(fr);
    if (fr->recs->len - fr->n_used >= bound)
        return;
    struct fin_rec c;
    memcpy(&c, r, sizeof c); /* padding too: sorted as bytes */
    c.used = false;
    c.next = 0;
    g_array_append_val(fr->recs, c);
    if (fr->by)
        index_one(fr, fr->recs->len - 1);
}

void fin_note(struct analysis *a, const struct flow_conn *c, int64_t first_ts, const char *close_reason)
{
    if (!c || !(c->fin[0] || c->fin[1]) || strcmp(close_reason, "end") != 0 || recs_of(a)->recs->len >= 2 * ANALYSIS_MAX_EDGES)
        return;
    struct fin_rec r;
    memset(&r, 0, sizeof r);
    for (int d = 0; d < 2; d++) {
        r.addr[d] = c->addr[d];
        r.port[d] = c->port[d];
        r.fin[d] = c->fin[d];
    }
    r.first_ts = first_ts;
    put(a, &r);
}

bool fin_linger_summary(const struct conn_summary *cs)
{
    return cs->carrier == CONN_CARRIER_TCP && cs->proto == 6 && (cs->flags & CONN_F_START_SEEN) &&
           strcmp(cs->close_reason, "fin") == 0;
}

bool fin_linger_note(struct analysis *a, const struct conn_summary *cs, const struct flow_conn *c)
{
    if (!c || c->rst_seen || !c->fin[0] || !c->fin[1] || !fin_linger_summary(cs))
        return false; /* not lingering after its FINs; or seen mid-stream: an edge anyway */
    if (c->stream[0].fin_acked && c->stream[1].fin_acked)
        return false; /* what may still come is a retransmission: not kept */
    struct fin_recs *fr = recs_of(a);
    if (fr->lingers >= FIN_LINGER_CAP || a->edges->len >= ANALYSIS_MAX_EDGES) {
        a->state_folded.fin_lingers++;
        return false;
    }
    fr->lingers++;
    return true;
}

void fin_recs_fold_mem(struct analysis *dst, const struct analysis *src)
{
    dst->state_folded.fin_lingers += src->state_folded.fin_lingers;
    for (guint i = 0; src->edge_fins && i < src->edge_fins->recs->len; i++)
        if (!g_array_index(src->edge_fins->recs, struct fin_rec, i).used)
            put(dst, &g_array_index(src->edge_fins->recs, struct fin_rec, i));
}

/* The names of the edges and tails still in the state (a merge's records
 * of connections it joined or folded are not written again). */
static GHashTable *owners(const struct analysis *a)
{
    GHashTable *set = mstate_name_table();
    for (guint i = 0; a->edges && i < a->edges->len; i++) {
        const struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, i);
        struct mstate_name k = mstate_name_of(&cs->client, cs->client_port, &cs->server, cs->server_port, cs->first_ts);
        g_hash_table_add(set, g_memdup2(&k, sizeof k));
    }
    for (guint i = 0; a->tails && i < a->tails->len; i++) {
        const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
        struct mstate_name k = mstate_name_of(&t->addr[0], t->port[0], &t->addr[1], t->port[1], t->first_ts);
        g_hash_table_add(set, g_memdup2(&k, sizeof k));
    }
    return set;
}

static gint rec_order(gconstpointer pa, gconstpointer pb) { return memcmp(pa, pb, sizeof(struct fin_rec)); }

void mstate_build_edge_fins(struct json *b, const struct analysis *a)
{
    json_key(b, "edge_fins");
    json_begin_array(b);
    GArray *recs = g_array_new(FALSE, TRUE, sizeof(struct fin_rec)); /* the same state whatever the fold order */
    GHashTable *own = a->merged_parts ? owners(a) : NULL;
    for (guint i = 0; a->edge_fins && i < a->edge_fins->recs->len; i++) {
        struct fin_rec r;
        memcpy(&r, &g_array_index(a->edge_fins->recs, struct fin_rec, i), sizeof r);
        struct mstate_name k = rec_key(&r);
        if (r.used || (own && !g_hash_table_contains(own, &k)))
            continue;
        r.next = 0; /* sorted by what is written */
        g_array_append_val(recs, r);
    }
    if (own)
        g_hash_table_destroy(own);
    g_array_sort(recs, rec_order);
    for (guint i = 0; i < recs->len; i++) {
        const struct fin_rec *r = &g_array_index(recs, struct fin_rec, i);
        json_begin_array(b);
        put_ends(b, r->addr, r->port);
        json_int(b, r->first_ts);
        json_int(b, r->fin[0]);
        json_int(b, r->fin[1]);
        json_end_array(b);
    }
    json_end_array(b);
    g_array_free(recs, TRUE);
    /* lingering connections past FIN_LINGER_CAP, folded (a report written
     * before they were kept has no such member: none) */
    kint(b, "edge_lingers_folded", a->state_folded.fin_lingers);
}

void mstate_fold_edge_fins(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    if (!json_object_has_member(st, "edge_fins"))
        return; /* a report of this format written before they were carried */
    struct jpath ap, ip;
    jpath_key(&ap, p, "edge_fins");
    JsonArray *arr = jget_arr(g, p, st, "edge_fins", 2 * ANALYSIS_MAX_EDGES);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != FF_N) {
            jget_fail(g, &ip, "not [addr, port, addr, port, first_ts, fin, fin]");
            return;
        }
        struct fin_rec r;
        memset(&r, 0, sizeof r);
        jget_elem_ends(g, &ip, e, r.addr, r.port);
        for (int d = 0; d < 2; d++) {
            r.fin[d] = jget_elem_u64(g, &ip, e, d ? FF_FIN1 : FF_FIN0, 1) != 0;
        }
        r.first_ts = jget_elem_ts(g, &ip, e, FF_FIRST);
        if (g->failed)
            return;
        put(a, &r);
    }
    if (json_object_has_member(st, "edge_lingers_folded"))
        a->state_folded.fin_lingers += jget_u64(g, p, st, "edge_lingers_folded", INT64_MAX);
}

/* ---- joining ------------------------------------------------------------ */

/* The FINs of the record named (client, server, first): fin[0] the
 * client's, fin[1] the server's; the record used up. */
static void take(struct analysis *a, const struct ip_addr *c, uint16_t cp, const struct ip_addr *s, uint16_t sp,
                 int64_t first, bool fin[2])
{
    struct fin_recs *fr = a->edge_fins;
    if (!fr)
        return;
    if (!fr->by) { /* the first join: index what every report brought */
        fr->by = mstate_name_table();
        for (guint i = 0; i < fr->recs->len; i++)
            if (!g_array_index(fr->recs, struct fin_rec, i).used)
                index_one(fr, i);
    }
    struct mstate_name k = mstate_name_of(c, cp, s, sp, first);
    guint at = GPOINTER_TO_UINT(g_hash_table_lookup(fr->by, &k));
    struct fin_rec *r = NULL;
    for (; at; at = r->next) {
        r = &g_array_index(fr->recs, struct fin_rec, at - 1);
        if (!r->used)
            break;
    }
    if (!at)
        return;
    int side = mstate_same_end(&r->addr[0], r->port[0], c, cp) ? 0 : 1;
    fin[0] |= r->fin[side];
    fin[1] |= r->fin[1 - side];
    r->used = true;
    fr->n_used++;
}

/* The FINs seen of cs's connection (fin[0] its client's), as the record of
 * the connection first seen at first; nothing when neither side sent one. */
static void put_fins(struct analysis *a, const struct conn_summary *cs, int64_t first, const bool fin[2])
{
    if (!fin[0] && !fin[1])
        return;
    struct fin_rec r;
    memset(&r, 0, sizeof r);
    r.addr[0] = cs->client;
    r.addr[1] = cs->server;
    r.port[0] = cs->client_port;
    r.port[1] = cs->server_port;
    r.first_ts = first;
    r.fin[0] = fin[0];
    r.fin[1] = fin[1];
    put(a, &r);
}

void mstate_fins_rename(struct analysis *a, const struct conn_summary *cs, int64_t first)
{
    bool fin[2] = { false, false };
    take(a, &cs->client, cs->client_port, &cs->server, cs->server_port, cs->first_ts, fin);
    put_fins(a, cs, first, fin);
}

bool mstate_join_fins(struct analysis *a, const struct conn_summary *early, const struct ip_addr *late_client,
                      uint16_t late_client_port, const struct ip_addr *late_server, uint16_t late_server_port,
                      int64_t late_first_ts)
{
    if (early->carrier != CONN_CARRIER_TCP || !a->edge_fins)
        return false;
    bool fin[2] = { false, false }, lf[2] = { false, false };
    take(a, &early->client, early->client_port, &early->server, early->server_port, early->first_ts, fin);
    take(a, late_client, late_client_port, late_server, late_server_port, late_first_ts, lf);
    /* the late part's client may be the other side (named from its middle) */
    bool same = mstate_same_end(late_client, late_client_port, &early->client, early->client_port);
    fin[0] |= same ? lf[0] : lf[1];
    fin[1] |= same ? lf[1] : lf[0];
    if (fin[0] && fin[1])
        return true;
    put_fins(a, early, early->first_ts, fin); /* kept for a part joined later */
    return false;
}
