/* mstate_join_nbss.c - see mstate_join_nbss.h. */
#include "mstate_join_nbss.h"

#include <string.h>

#include "analysis.h"
#include "classify.h"
#include "hosts.h"
#include "jget.h"
#include "mstate_detail.h"
#include "mstate_ends_ix.h"
#include "mstate_join_frame.h"
#include "mstate_join_name.h"
#include "mstate_put.h"
#include "netbios.h"
#include "session.h"

/* [addr0, port0, addr1, port1, first_ts, messages]: the record's client and
 * server as its edge record names them, its first packet, the session
 * messages it framed. */
enum { NF_A0, NF_P0, NF_A1, NF_P1, NF_FIRST, NF_MSGS, NF_N };

struct nbss_edge {
    struct ip_addr addr[2];
    uint16_t port[2];
    int64_t first_ts;
    uint64_t messages;
};

static GArray *recs_of(struct analysis *a)
{
    if (!a->edge_nbss)
        a->edge_nbss = g_array_new(FALSE, TRUE, sizeof(struct nbss_edge));
    return a->edge_nbss;
}

void mstate_nbss_ix_done(struct analysis *a)
{
    mstate_ends_ix_free(a->nbss_ix);
    a->nbss_ix = NULL;
}

void nbss_edges_free(struct analysis *a)
{
    frame_edges_free(a);
    mstate_nbss_ix_done(a);
    if (a->edge_nbss)
        g_array_free(a->edge_nbss, TRUE);
    a->edge_nbss = NULL;
}

/* report_json_conn.c (conn_nbss): the entry's "nbss" is null unless one of
 * these was seen or the connection was classed NBSS. */
static bool shows_nbss(const struct smb_conn *s)
{
    const struct transport_obs *o = &s->obs;
    return o->session_requests || o->positive_responses || o->negative_responses || o->retarget_responses ||
           o->keepalives || s->verdict.cls == TRANSPORT_NBT || s->verdict.cls == TRANSPORT_NBT_NONSTANDARD_PORT;
}

static uint64_t rec_word(const struct nbss_edge *r)
{
    return mstate_ends_word(&r->addr[0], r->port[0], &r->addr[1], r->port[1], 0);
}

static void put(struct analysis *a, const struct ip_addr *c, uint16_t cp, const struct ip_addr *sv, uint16_t sp,
                int64_t first_ts, uint64_t messages)
{
    if (recs_of(a)->len >= 16 * ANALYSIS_MAX_EDGES) /* a bound for merge itself (a run: one per edge) */
        return;
    struct nbss_edge r;
    memset(&r, 0, sizeof r);
    r.addr[0] = *c;
    r.addr[1] = *sv;
    r.port[0] = cp;
    r.port[1] = sp;
    r.first_ts = first_ts;
    r.messages = messages;
    g_array_append_val(a->edge_nbss, r);
    if (mstate_ends_ix_for(a->nbss_ix, a->edge_nbss, a->edge_nbss->len - 1)) /* else built again at its use */
        mstate_ends_ix_put(a->nbss_ix, rec_word(&r), a->edge_nbss->len - 1);
}

void nbss_edge_note(struct analysis *a, const struct conn_summary *cs, const struct smb_conn *s)
{
    frame_edge_note(a, cs, s); /* the framing of the same edges (mstate_join_frame.h) */
    if (cs->carrier != CONN_CARRIER_TCP || shows_nbss(s) || !s->obs.session_messages)
        return;
    put(a, &cs->client, cs->client_port, &cs->server, cs->server_port, cs->first_ts, s->obs.session_messages);
}

/* The name of record i (mstate_name_owned() takes the first of each). */
static struct mstate_name name_at(const GArray *recs, guint i)
{
    const struct nbss_edge *r = &g_array_index(recs, struct nbss_edge, i);
    return mstate_name_of(&r->addr[0], r->port[0], &r->addr[1], r->port[1], r->first_ts);
}

static gint rec_order(gconstpointer pa, gconstpointer pb) { return memcmp(pa, pb, sizeof(struct nbss_edge)); }

void nbss_edges_fold_mem(struct analysis *dst, const struct analysis *src)
{
    frame_edges_fold_mem(dst, src);
    for (guint i = 0; src->edge_nbss && i < src->edge_nbss->len; i++) {
        const struct nbss_edge *r = &g_array_index(src->edge_nbss, struct nbss_edge, i);
        put(dst, &r->addr[0], r->port[0], &r->addr[1], r->port[1], r->first_ts, r->messages);
    }
}

void mstate_build_edge_nbss(struct json *b, const struct analysis *a)
{
    json_key(b, "edge_nbss");
    json_begin_array(b);
    GArray *recs = g_array_new(FALSE, TRUE, sizeof(struct nbss_edge)); /* the same state whatever the fold order */
    bool *own = a->merged_parts && a->edge_nbss ? mstate_name_owned(a->edge_nbss, name_at, a->edges) : NULL;
    for (guint i = 0; a->edge_nbss && i < a->edge_nbss->len; i++)
        if (!a->merged_parts || own[i])
            g_array_append_val(recs, g_array_index(a->edge_nbss, struct nbss_edge, i));
    g_free(own);
    g_array_sort(recs, rec_order);
    for (guint i = 0; i < recs->len; i++) {
        const struct nbss_edge *r = &g_array_index(recs, struct nbss_edge, i);
        json_begin_array(b);
        put_ends(b, r->addr, r->port);
        json_int(b, r->first_ts);
        vint(b, r->messages);
        json_end_array(b);
    }
    json_end_array(b);
    g_array_free(recs, TRUE);
    mstate_build_edge_frames(b, a);
}

void mstate_fold_edge_nbss(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    mstate_fold_edge_frames(g, p, a, st);
    if (g->failed)
        return;
    if (!json_object_has_member(st, "edge_nbss"))
        return; /* a report of this format written before they were carried */
    struct jpath ap, ip;
    jpath_key(&ap, p, "edge_nbss");
    JsonArray *arr = jget_arr(g, p, st, "edge_nbss", ANALYSIS_MAX_EDGES);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != NF_N) {
            jget_fail(g, &ip, "not [addr, port, addr, port, first_ts, messages]");
            return;
        }
        struct ip_addr addr[2];
        uint16_t port[2];
        jget_elem_ends(g, &ip, e, addr, port);
        int64_t first = jget_elem_ts(g, &ip, e, NF_FIRST);
        uint64_t msgs = jget_elem_u64(g, &ip, e, NF_MSGS, INT64_MAX);
        if (g->failed)
            return;
        put(a, &addr[0], port[0], &addr[1], port[1], first, msgs);
    }
}

/* ---- joining ------------------------------------------------------------ */

/* The records' places by their ends (mstate_ends_ix.h; a rename keeps a
 * record's ends): built once, kept by take(); each edge's look-up walked
 * every record (O(edges x records) on many parts). */
static struct mstate_ends_ix *index_of(struct analysis *a)
{
    if (!mstate_ends_ix_for(a->nbss_ix, a->edge_nbss, a->edge_nbss->len)) {
        mstate_ends_ix_free(a->nbss_ix);
        a->nbss_ix = mstate_ends_ix_new(a->edge_nbss);
        for (guint i = 0; i < a->edge_nbss->len; i++)
            mstate_ends_ix_put(a->nbss_ix, rec_word(&g_array_index(a->edge_nbss, struct nbss_edge, i)), i);
    }
    return a->nbss_ix;
}

/* The record of cs (G_MAXUINT: none): the first in the array's order. */
static guint find(struct analysis *a, const struct conn_summary *cs)
{
    if (!a->edge_nbss)
        return G_MAXUINT;
    struct mstate_ends_ix *ix = index_of(a);
    struct mstate_ends_it it;
    for (guint i = mstate_ends_ix_first(ix, mstate_ends_word(&cs->client, cs->client_port, &cs->server, cs->server_port, 0), &it);
         i != G_MAXUINT; i = mstate_ends_ix_next(ix, &it)) {
        const struct nbss_edge *r = &g_array_index(a->edge_nbss, struct nbss_edge, i);
        if (r->first_ts != cs->first_ts)
            continue;
        if ((mstate_same_end(&r->addr[0], r->port[0], &cs->client, cs->client_port) &&
             mstate_same_end(&r->addr[1], r->port[1], &cs->server, cs->server_port)) ||
            (mstate_same_end(&r->addr[1], r->port[1], &cs->client, cs->client_port) &&
             mstate_same_end(&r->addr[0], r->port[0], &cs->server, cs->server_port)))
            return i;
    }
    return G_MAXUINT;
}

/* Its messages, the record used up. */
static uint64_t take(struct analysis *a, const struct conn_summary *cs)
{
    guint i = find(a, cs);
    if (i == G_MAXUINT)
        return 0;
    uint64_t m = g_array_index(a->edge_nbss, struct nbss_edge, i).messages;
    guint last = a->edge_nbss->len - 1;
    mstate_ends_ix_removed_fast(a->nbss_ix, rec_word(&g_array_index(a->edge_nbss, struct nbss_edge, i)), i,
                                rec_word(&g_array_index(a->edge_nbss, struct nbss_edge, last)));
    g_array_remove_index_fast(a->edge_nbss, i);
    return m;
}

void mstate_nbss_rename(struct analysis *a, const struct conn_summary *cs, int64_t first)
{
    mstate_frame_rename(a, cs, first);
    guint i = find(a, cs);
    if (i != G_MAXUINT)
        g_array_index(a->edge_nbss, struct nbss_edge, i).first_ts = first;
}

static void add_messages(JsonObject *types, uint64_t m)
{
    if (types && json_object_has_member(types, "message"))
        json_object_set_int_member(types, "message", mstate_sum(json_object_get_int_member(types, "message"), mstate_clamp(m)));
}

void mstate_nbss_row_add(struct analysis *a, const struct conn_summary *cs, int64_t first, int64_t last,
                         uint64_t packets, uint64_t bytes)
{
    if (cs->transport != TRANSPORT_NBT_NONSTANDARD_PORT || cs->carrier != CONN_CARRIER_TCP)
        return;
    struct nb_flow *f = nb_ledger_find(a->ledger, 6, &cs->client, cs->client_port, &cs->server, cs->server_port);
    if (!f)
        return; /* folded into the overflow by a cap: counted there by its own part */
    f->packets += packets;
    f->bytes += bytes;
    f->first_seen = first < f->first_seen ? first : f->first_seen;
    f->last_seen = last > f->last_seen ? last : f->last_seen;
    const struct ip_addr *ends[2] = { &cs->client, &cs->server };
    for (int i = 0; i < 2; i++) {
        struct host_rec *h = host_table_find(nb_ledger_hosts(a->ledger), ends[i]);
        if (!h)
            continue;
        h->first_seen = first < h->first_seen ? first : h->first_seen;
        h->last_seen = last > h->last_seen ? last : h->last_seen;
    }
}

void mstate_join_nbss(struct analysis *a, const struct conn_summary *early, struct conn_summary *late)
{
    mstate_join_frame(a, early, late);
    if (early->carrier != CONN_CARRIER_TCP)
        return;
    if (late->transport != TRANSPORT_NBT_NONSTANDARD_PORT && late->transport != TRANSPORT_NBT) /* no row of its own */
        mstate_nbss_row_add(a, early, late->first_ts, late->last_ts, late->packets, late->bytes);
    uint64_t em = take(a, early), lm = take(a, late);
    if (!em && !lm)
        return;
    JsonObject *ee = mstate_detail_entry(a, early), *le = mstate_detail_entry(a, late);
    JsonObject *en = jget_member_obj(ee, "nbss"), *ln = jget_member_obj(le, "nbss");
    if (ee && le && !en && ln) { /* the early entry shows NBSS as the late one does (its types added later) */
        char *text = json_to_string(json_object_get_member(le, "nbss"), FALSE); /* json_node_copy shares objects */
        JsonNode *copy = json_from_string(text, NULL);
        g_free(text);
        JsonObject *co = jget_node_obj(copy);
        if (!co) {
            if (copy)
                json_node_unref(copy);
            return;
        }
        JsonObject *types = jget_member_obj(co, "types");
        GList *keys = types ? json_object_get_members(types) : NULL;
        for (GList *k = keys; k; k = k->next)
            json_object_set_int_member(types, k->data, strcmp(k->data, "message") == 0 ? (gint64)em : 0);
        g_list_free(keys);
        json_object_set_member(ee, "nbss", copy);
        return;
    }
    if (en) { /* the late part's messages were NBSS's: mstate_detail_join adds the late entry's types */
        add_messages(jget_member_obj(en, "types"), lm);
        return;
    }
    if (!ln) /* neither showed NBSS: the joined connection's messages kept (a later part may) */
        put(a, &early->client, early->client_port, &early->server, early->server_port, early->first_ts, em + lm);
}

void mstate_join_neg_codes(JsonObject *early_nbss, JsonObject *late_nbss)
{
    JsonNode *en = early_nbss ? json_object_get_member(early_nbss, "negative_codes") : NULL;
    JsonNode *ln = late_nbss ? json_object_get_member(late_nbss, "negative_codes") : NULL;
    if (!en || !ln || !JSON_NODE_HOLDS_ARRAY(en) || !JSON_NODE_HOLDS_ARRAY(ln))
        return;
    JsonArray *e = json_node_get_array(en), *l = json_node_get_array(ln);
    for (guint i = 0; i < json_array_get_length(l) && json_array_get_length(e) < SESSION_MAX_NEG_CODES; i++)
        json_array_add_element(e, json_node_copy(json_array_get_element(l, i)));
}
