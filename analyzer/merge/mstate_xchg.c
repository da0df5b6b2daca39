/* mstate_xchg.c - see mstate_xchg.h. */
#include "mstate_xchg.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"
#include "mstate_detail.h"
#include "mstate_ends_ix.h"
#include "mstate_join_nbss.h"
#include "mstate_put.h"
#include "session.h"
#include "smb_tables.h"

#define SHAREFLAG_ENCRYPT_DATA 0x00008000u /* MS-SMB2 2.2.10 */

static bool named(const struct mstate_xchg *m, const struct conn_summary *cs)
{
    return m->first_ts == cs->first_ts && m->client_port == cs->client_port && m->server_port == cs->server_port &&
           !memcmp(&m->client, &cs->client, sizeof m->client) && !memcmp(&m->server, &cs->server, sizeof m->server);
}

static uint64_t rec_word(const struct mstate_xchg *m)
{
    return mstate_ends_word(&m->client, m->client_port, &m->server, m->server_port, m->first_ts);
}

/* The records' places by their names, built at the first look-up after
 * the array changed behind it (its folds only append: followed). */
static struct mstate_ends_ix *index_of(struct analysis *a)
{
    if (!mstate_ends_ix_for(a->xchg_ix, a->edge_xchg, a->edge_xchg->len)) {
        mstate_ends_ix_free(a->xchg_ix);
        a->xchg_ix = mstate_ends_ix_new(a->edge_xchg);
        for (guint i = 0; i < a->edge_xchg->len; i++)
            mstate_ends_ix_put(a->xchg_ix, rec_word(g_ptr_array_index(a->edge_xchg, i)), i);
    }
    return a->xchg_ix;
}

guint mstate_xchg_find_counted(struct analysis *a, const struct conn_summary *cs, uint64_t *compared)
{
    if (!a->edge_xchg || !a->edge_xchg->len)
        return G_MAXUINT;
    struct mstate_ends_ix *ix = index_of(a);
    struct mstate_ends_it it;
    uint64_t w = mstate_ends_word(&cs->client, cs->client_port, &cs->server, cs->server_port, cs->first_ts);
    uint64_t n = 0;
    guint found = G_MAXUINT;
    for (guint i = mstate_ends_ix_first(ix, w, &it); i != G_MAXUINT; i = mstate_ends_ix_next(ix, &it)) {
        n++;
        if (named(g_ptr_array_index(a->edge_xchg, i), cs)) {
            found = i;
            break;
        }
    }
    if (compared)
        *compared += n;
    return found;
}

guint mstate_xchg_find(struct analysis *a, const struct conn_summary *cs) { return mstate_xchg_find_counted(a, cs, NULL); }

void mstate_xchg_put(struct analysis *a, const struct conn_summary *cs, const struct smb_conn_xchg *x)
{
    if (!a->edge_xchg)
        a->edge_xchg = g_ptr_array_new_with_free_func(g_free);
    if (a->edge_xchg->len >= 16 * ANALYSIS_MAX_EDGES)
        return; /* merge's own bound (mstate_fold_edges): such exchanges stay unjoined */
    struct mstate_xchg *m = g_new0(struct mstate_xchg, 1);
    m->client = cs->client;
    m->server = cs->server;
    m->client_port = cs->client_port;
    m->server_port = cs->server_port;
    m->first_ts = cs->first_ts;
    m->x = *x;
    g_ptr_array_add(a->edge_xchg, m);
    if (mstate_ends_ix_for(a->xchg_ix, a->edge_xchg, a->edge_xchg->len - 1)) /* else built again at its use */
        mstate_ends_ix_put(a->xchg_ix, rec_word(m), a->edge_xchg->len - 1);
}

void mstate_xchg_rename(struct analysis *a, guint x, int64_t first_ts, uint16_t client_port, uint16_t server_port)
{
    struct mstate_xchg *m = g_ptr_array_index(a->edge_xchg, x);
    bool kept = mstate_ends_ix_for(a->xchg_ix, a->edge_xchg, a->edge_xchg->len);
    if (kept)
        mstate_ends_ix_del(a->xchg_ix, rec_word(m), x);
    m->first_ts = first_ts;
    m->client_port = client_port;
    m->server_port = server_port;
    if (kept)
        mstate_ends_ix_put(a->xchg_ix, rec_word(m), x);
}

void mstate_xchg_remove(struct analysis *a, guint x)
{
    guint last = a->edge_xchg->len - 1;
    if (mstate_ends_ix_for(a->xchg_ix, a->edge_xchg, a->edge_xchg->len))
        mstate_ends_ix_removed_fast(a->xchg_ix, rec_word(g_ptr_array_index(a->edge_xchg, x)), x,
                                    rec_word(g_ptr_array_index(a->edge_xchg, last)));
    g_ptr_array_remove_index_fast(a->edge_xchg, x);
}

void mstate_xchg_ix_done(struct analysis *a)
{
    mstate_ends_ix_free(a->xchg_ix);
    a->xchg_ix = NULL;
}

void mstate_xchg_keep(struct analysis *a, const struct conn_summary *cs, const struct smb_conn *s)
{
    if (s->xchg)
        mstate_xchg_put(a, cs, s->xchg);
    nbss_edge_note(a, cs, s);
}

void mstate_xchg_free(struct analysis *a)
{
    mstate_xchg_ix_done(a);
    if (a->edge_xchg)
        g_ptr_array_free(a->edge_xchg, TRUE);
    a->edge_xchg = NULL;
    nbss_edges_free(a);
}

/* ---- the state member ---------------------------------------------------- */

static void put_name(struct json *b, const char *k, const struct ntlmssp_name *n)
{
    json_key(b, k);
    if (n->present)
        json_str_bytes(b, (const uint8_t *)n->text, strnlen(n->text, sizeof n->text));
    else
        json_null(b);
}

static void put_auth(struct json *b, const char *k, const struct xchg_auth *x)
{
    json_key(b, k);
    if (!x->have) {
        json_null(b);
        return;
    }
    json_begin_object(b);
    json_kuint(b, "mech", x->mech);
    json_kbool(b, "krb5", x->krb5_ap_req);
    json_kbool(b, "ntlm3", x->ntlm3);
    json_kbool(b, "anonymous", x->anonymous);
    put_name(b, "user", &x->user);
    put_name(b, "domain", &x->domain);
    put_name(b, "workstation", &x->workstation);
    json_key(b, "mechs");
    json_begin_array(b);
    for (uint8_t i = 0; i < x->n_mechs; i++)
        json_uint(b, x->mechs[i]);
    json_end_array(b);
    json_end_object(b);
}

static void put_addr(struct json *b, const char *k, const struct ip_addr *a)
{
    json_key(b, k);
    vaddr(b, a);
}

static void put_one(struct json *b, const struct mstate_xchg *m)
{
    const struct smb_conn_xchg *x = &m->x;
    json_begin_object(b);
    put_addr(b, "client", &m->client);
    put_addr(b, "server", &m->server);
    json_kuint(b, "client_port", m->client_port);
    json_kuint(b, "server_port", m->server_port);
    json_kint(b, "first_ts", m->first_ts);
    put_auth(b, "pending", &x->pending);
    json_key(b, "trees"); /* [mid, path] */
    json_begin_array(b);
    for (uint8_t i = 0; i < x->n_trees; i++) {
        json_begin_array(b);
        json_int(b, (int64_t)x->trees[i].mid); /* ids as int64: their bits kept */
        json_str_bytes(b, x->trees[i].path, x->trees[i].path_len);
        json_end_array(b);
    }
    json_end_array(b);
    json_key(b, "settled");
    if (x->settled) {
        json_begin_object(b);
        json_kint(b, "session_id", (int64_t)x->session_id);
        json_kbool(b, "noted", x->noted);
        json_kuint(b, "index", x->settled_index);
        put_auth(b, "before", &x->before);
        json_key(b, "sessions"); /* [mech, established, anonymous, guest] */
        json_begin_array(b);
        for (uint8_t i = 0; i < x->n_sessions; i++) {
            const struct xchg_session *r = &x->sessions[i];
            json_begin_array(b);
            json_uint(b, r->mech);
            json_uint(b, r->established);
            json_uint(b, r->anonymous);
            json_uint(b, r->guest);
            json_end_array(b);
        }
        json_end_array(b);
        json_end_object(b);
    } else {
        json_null(b);
    }
    if (x->neg_signing_required) /* written only when set: an older smbscope ignores it (signing as before) */
        json_kbool(b, "neg_signing_required", true);
    json_key(b, "answers"); /* [mid, status, tree_id, share_type, share_flags(, SMB1 service)] */
    json_begin_array(b);
    for (uint8_t i = 0; i < x->n_answers; i++) {
        json_begin_array(b);
        json_int(b, (int64_t)x->answers[i].mid);
        json_uint(b, x->answers[i].status);
        json_uint(b, x->answers[i].tree_id);
        json_uint(b, x->answers[i].share_type);
        json_uint(b, x->answers[i].share_flags);
        if (x->answers[i].service[0])
            json_str(b, x->answers[i].service);
        json_end_array(b);
    }
    json_end_array(b);
    json_end_object(b);
}

void mstate_build_xchg(struct json *b, const struct analysis *a)
{
    json_key(b, "edge_xchg");
    json_begin_array(b);
    for (guint i = 0; a->edge_xchg && i < a->edge_xchg->len; i++)
        put_one(b, g_ptr_array_index(a->edge_xchg, i));
    json_end_array(b);
    mstate_build_edge_nbss(b, a);
}

static void get_name(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, struct ntlmssp_name *n)
{
    memset(n, 0, sizeof *n);
    const char *s = jget_str(g, p, o, k, sizeof n->text - 1, true);
    if (!s)
        return;
    n->present = true;
    memcpy(n->text, s, strlen(s) + 1);
}

static void get_auth(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, struct xchg_auth *x)
{
    memset(x, 0, sizeof *x);
    JsonNode *n = o ? json_object_get_member(o, k) : NULL;
    if (g->failed || (n && JSON_NODE_HOLDS_NULL(n)))
        return;
    struct jpath ap;
    jpath_key(&ap, p, k);
    JsonObject *ao = jget_obj(g, p, o, k);
    if (!ao)
        return;
    x->have = true;
    x->mech = (uint8_t)jget_u64(g, &ap, ao, "mech", AUTH_MECH_NEGOEX);
    x->krb5_ap_req = jget_bool(g, &ap, ao, "krb5");
    x->ntlm3 = jget_bool(g, &ap, ao, "ntlm3");
    x->anonymous = jget_bool(g, &ap, ao, "anonymous");
    get_name(g, &ap, ao, "user", &x->user);
    get_name(g, &ap, ao, "domain", &x->domain);
    get_name(g, &ap, ao, "workstation", &x->workstation);
    JsonArray *m = jget_arr(g, &ap, ao, "mechs", GSS_MAX_MECHS);
    struct jpath mp;
    jpath_key(&mp, &ap, "mechs");
    for (guint i = 0; m && !g->failed && i < json_array_get_length(m); i++)
        x->mechs[x->n_mechs++] = (uint8_t)jget_elem_u64(g, &mp, m, i, 255);
}

/* Element i of a compact array as an array of exactly n members. */
static JsonArray *row(struct jget *g, const struct jpath *p, JsonArray *a, guint i, guint n, struct jpath *rp)
{
    jpath_index(rp, p, i);
    JsonNode *e = json_array_get_element(a, i);
    JsonArray *r = jget_node_arr(e);
    if (!r || json_array_get_length(r) != n) {
        jget_fail(g, rp, "not an array of the members this smbscope writes");
        return NULL;
    }
    return r;
}

static void get_settled(struct jget *g, const struct jpath *p, JsonObject *o, struct smb_conn_xchg *x)
{
    JsonNode *n = json_object_get_member(o, "settled");
    if (!n || JSON_NODE_HOLDS_NULL(n))
        return;
    struct jpath sp, lp, rp;
    jpath_key(&sp, p, "settled");
    JsonObject *so = jget_obj(g, p, o, "settled");
    if (!so)
        return;
    x->settled = true;
    x->session_id = (uint64_t)jget_i64(g, &sp, so, "session_id");
    x->noted = jget_bool(g, &sp, so, "noted");
    x->settled_index = (uint8_t)jget_u64(g, &sp, so, "index", XCHG_MAX_SESSIONS - 1);
    get_auth(g, &sp, so, "before", &x->before);
    JsonArray *s = jget_arr(g, &sp, so, "sessions", XCHG_MAX_SESSIONS);
    jpath_key(&lp, &sp, "sessions");
    for (guint i = 0; s && !g->failed && i < json_array_get_length(s); i++) {
        JsonArray *r = row(g, &lp, s, i, 4, &rp);
        if (!r)
            return;
        struct xchg_session *e = &x->sessions[x->n_sessions++];
        e->mech = (uint8_t)jget_elem_u64(g, &rp, r, 0, AUTH_MECH_NEGOEX);
        e->established = jget_elem_u64(g, &rp, r, 1, 1);
        e->anonymous = jget_elem_u64(g, &rp, r, 2, 1);
        e->guest = jget_elem_u64(g, &rp, r, 3, 1);
    }
}

static void get_one(struct jget *g, const struct jpath *p, JsonObject *o, struct analysis *a)
{
    struct conn_summary cs; /* the name only */
    memset(&cs, 0, sizeof cs);
    struct smb_conn_xchg *x = g_new0(struct smb_conn_xchg, 1);
    struct jpath lp, rp;
    jget_addr(g, p, o, "client", true, &cs.client);
    jget_addr(g, p, o, "server", true, &cs.server);
    cs.client_port = (uint16_t)jget_u64(g, p, o, "client_port", 65535);
    cs.server_port = (uint16_t)jget_u64(g, p, o, "server_port", 65535);
    cs.first_ts = jget_ts(g, p, o, "first_ts");
    get_auth(g, p, o, "pending", &x->pending);
    JsonArray *t = jget_arr(g, p, o, "trees", XCHG_MAX_TREES);
    jpath_key(&lp, p, "trees");
    for (guint i = 0; t && !g->failed && i < json_array_get_length(t); i++) {
        JsonArray *r = row(g, &lp, t, i, 2, &rp);
        /* the path as the report's text has it (bytes that are no UTF-8 escaped: longer) */
        const char *path = r ? jget_elem_str(g, &rp, r, 1, 8 * XCHG_PATH_MAX) : NULL;
        if (!path)
            break;
        if (strlen(path) > XCHG_PATH_MAX)
            continue; /* not joined (as a longer path is not kept) */
        x->trees[x->n_trees].mid = (uint64_t)jget_elem_i64(g, &rp, r, 0);
        x->trees[x->n_trees].path_len = (uint16_t)strlen(path);
        memcpy(x->trees[x->n_trees].path, path, strlen(path));
        x->n_trees++;
    }
    if (!g->failed)
        get_settled(g, p, o, x);
    if (!g->failed && json_object_has_member(o, "neg_signing_required"))
        x->neg_signing_required = jget_bool(g, p, o, "neg_signing_required");
    JsonArray *an = jget_arr(g, p, o, "answers", XCHG_MAX_TREES);
    jpath_key(&lp, p, "answers");
    for (guint i = 0; an && !g->failed && i < json_array_get_length(an); i++) {
        JsonNode *e = json_array_get_element(an, i);
        bool svc = e && JSON_NODE_HOLDS_ARRAY(e) && json_array_get_length(json_node_get_array(e)) == 6;
        JsonArray *r = row(g, &lp, an, i, svc ? 6 : 5, &rp);
        if (!r)
            break;
        const char *service = svc ? jget_elem_str(g, &rp, r, 5, XCHG_SERVICE_MAX - 1) : NULL;
        if (service)
            g_strlcpy(x->answers[i].service, service, XCHG_SERVICE_MAX);
        x->answers[i].mid = (uint64_t)jget_elem_i64(g, &rp, r, 0);
        x->answers[i].status = (uint32_t)jget_elem_u64(g, &rp, r, 1, UINT32_MAX);
        x->answers[i].tree_id = (uint32_t)jget_elem_u64(g, &rp, r, 2, UINT32_MAX);
        x->answers[i].share_type = (uint8_t)jget_elem_u64(g, &rp, r, 3, 255);
        x->answers[i].share_flags = (uint32_t)jget_elem_u64(g, &rp, r, 4, UINT32_MAX);
        x->n_answers++;
    }
    if (!g->failed)
        mstate_xchg_put(a, &cs, x);
    g_free(x);
}

void mstate_fold_xchg(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    struct jpath ap, ip;
    JsonArray *arr = jget_arr(g, p, st, "edge_xchg", ANALYSIS_MAX_EDGES);
    jpath_key(&ap, p, "edge_xchg");
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonObject *o = jget_object(g, &ip, json_array_get_element(arr, i));
        if (o)
            get_one(g, &ip, o, a);
    }
    mstate_fold_edge_nbss(g, p, a, st);
}
