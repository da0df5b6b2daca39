/* mstate_xchg_join.c - mstate_xchg_join(): see mstate_xchg.h.  What the
 * session model does with a request's blob when its response comes
 * (session_shares.c: auth_remember(), session_note()) done again with the
 * blob the early part kept and the response the late part settled. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mstate_detail.h"
#include "jget.h"
#include "mstate_join_fin.h"
#include "mstate_join_nbss.h"
#include "mstate_join_rdma.h"
#include "mstate_join_smbd.h"
#include "mstate_xchg.h"
#include "mstate_xchg_conn.h"
#include "policy.h"
#include "smb_tables.h"

#define SHAREFLAG_ENCRYPT_DATA 0x00008000u /* MS-SMB2 2.2.10 */

/* auth_remember() of the blobs of both parts: the first blob's mech list,
 * the last AUTHENTICATE's identity. */
static struct xchg_auth combine(const struct xchg_auth *early, const struct xchg_auth *late)
{
    if (!early->have)
        return *late;
    struct xchg_auth c = *early;
    if (!late->have)
        return c;
    if (late->n_mechs && !c.n_mechs) {
        memcpy(c.mechs, late->mechs, sizeof c.mechs);
        c.n_mechs = late->n_mechs;
    }
    if (late->ntlm3) {
        c.ntlm3 = true;
        c.anonymous = late->anonymous;
        c.user = late->user;
        c.domain = late->domain;
        c.workstation = late->workstation;
    }
    c.krb5_ap_req |= late->krb5_ap_req;
    if (late->mech != AUTH_MECH_NONE && late->mech != AUTH_MECH_UNKNOWN)
        c.mech = late->mech;
    return c;
}

/* session_note()'s mechanism and anonymous flag of a blob, over what the
 * session record already has. */
static void note(struct xchg_session *r, const struct xchg_auth *c)
{
    if (c->krb5_ap_req)
        r->mech = AUTH_MECH_KERBEROS;
    else if (c->ntlm3)
        r->mech = AUTH_MECH_NTLM;
    else if (c->mech != AUTH_MECH_NONE)
        r->mech = c->mech;
    if (c->ntlm3)
        r->anonymous |= c->anonymous;
}

/* The record's facts of its sessions again (conn_summary.c: auth_of(),
 * verdict.c: verdict_conn_facts(), conn_summary_findings()). */
static void judge_sessions(struct conn_summary *cs, const struct smb_conn_xchg *x)
{
    uint8_t auth = CONN_AUTH_NONE, mech = AUTH_MECH_NONE;
    bool kerberos = false, ntlm = false, other = false, known = false;
    uint32_t ntlm_count = 0;
    for (uint8_t i = 0; i < x->n_sessions; i++) {
        const struct xchg_session *r = &x->sessions[i];
        if (!r->established)
            continue;
        if (auth == CONN_AUTH_NONE && (r->anonymous || r->guest)) {
            auth = r->anonymous ? CONN_AUTH_ANONYMOUS : CONN_AUTH_GUEST;
        } else if (auth == CONN_AUTH_NONE && r->mech != AUTH_MECH_NONE) {
            auth = r->mech == AUTH_MECH_KERBEROS ? CONN_AUTH_KERBEROS
                   : r->mech == AUTH_MECH_NTLM   ? CONN_AUTH_NTLM
                                                 : CONN_AUTH_OTHER;
            mech = r->mech;
        }
        if (r->anonymous || r->guest)
            other = true;
        else if (r->mech == AUTH_MECH_KERBEROS)
            kerberos = true;
        else if (r->mech == AUTH_MECH_NTLM)
            ntlm = true;
        else if (r->mech != AUTH_MECH_NONE)
            other = true;
        known |= r->mech != AUTH_MECH_NONE || r->anonymous || r->guest;
        ntlm_count += r->mech == AUTH_MECH_NTLM && !r->anonymous;
    }
    cs->auth = auth;
    cs->auth_mech = mech;
    cs->flags &= (uint16_t)~(CONN_F_KERBEROS | CONN_F_NTLM | CONN_F_OTHER_AUTH | CONN_F_AUTH_UNSEEN);
    cs->flags |= (kerberos ? CONN_F_KERBEROS : 0) | (ntlm ? CONN_F_NTLM : 0) | (other ? CONN_F_OTHER_AUTH : 0);
    if (!known && (!(cs->flags & CONN_F_START_SEEN) || (cs->flags & CONN_F_CONTENT_LOST)))
        cs->flags |= CONN_F_AUTH_UNSEEN;
    cs->ntlm_sessions = ntlm_count > UINT16_MAX ? UINT16_MAX : (uint16_t)ntlm_count;
    cs->findings = (uint8_t)((cs->findings & ~(1u << FINDING_NTLM)) | (ntlm_count ? 1u << FINDING_NTLM : 0));
}

static JsonObject *array_obj(JsonObject *o, const char *k, guint i)
{
    JsonNode *n = o ? json_object_get_member(o, k) : NULL;
    if (!n || !JSON_NODE_HOLDS_ARRAY(n) || i >= json_array_get_length(json_node_get_array(n)))
        return NULL;
    return json_array_get_object_element(json_node_get_array(n), i);
}

static void set_name(JsonObject *o, const char *k, const struct ntlmssp_name *n)
{
    if (n->present)
        json_object_set_string_member(o, k, n->text);
}

/* The late part's connections[] entry of the session settled: as
 * report_json_conn.c writes a session record noted with c. */
static void patch_session(JsonObject *entry, const struct smb_conn_xchg *lx, const struct xchg_auth *early,
                          const struct xchg_auth *c, const struct xchg_session *r)
{
    char id[32];
    snprintf(id, sizeof id, "0x%016" PRIx64, lx->session_id);
    JsonObject *o = NULL;
    for (guint i = 0; !o && array_obj(entry, "sessions", i); i++) {
        JsonObject *e = array_obj(entry, "sessions", i);
        const char *v = json_object_get_string_member_with_default(e, "session_id", "");
        if (strcmp(v, id) == 0)
            o = e;
    }
    if (!o)
        return;
    const char *auth = r->anonymous ? "anonymous" : r->guest ? "guest" : auth_mech_name(r->mech);
    if (r->mech == AUTH_MECH_NONE && !r->anonymous && !r->guest)
        auth = "unknown";
    if (!r->established)
        auth = "failed";
    json_object_set_string_member(o, "auth", auth);
    json_object_set_string_member(o, "mechanism", auth_mech_name(r->mech));
    json_object_set_boolean_member(o, "anonymous", r->anonymous);
    if (c->ntlm3 && !lx->before.ntlm3) { /* the identity is the early part's */
        set_name(o, "user", &c->user);
        set_name(o, "domain", &c->domain);
        set_name(o, "workstation", &c->workstation);
    }
    JsonNode *mn = json_object_get_member(o, "mechs_offered");
    if (!early->n_mechs || !mn || !JSON_NODE_HOLDS_ARRAY(mn))
        return;
    /* the record's list began with the late blob's mechs; the first blob's are the early part's */
    JsonArray *old = json_node_get_array(mn), *nw = json_array_new();
    for (uint8_t i = 0; i < early->n_mechs; i++) {
        const char *name = gss_oid_name((enum gss_oid_id)early->mechs[i]);
        json_array_add_string_element(nw, name ? name : "other");
    }
    for (guint i = lx->before.n_mechs; i < json_array_get_length(old) && json_array_get_length(nw) < GSS_MAX_MECHS; i++)
        json_array_add_element(nw, json_node_copy(json_array_get_element(old, i)));
    json_object_set_array_member(o, "mechs_offered", nw);
}

/* A SESSION_SETUP whose request was in the early part, response in the late. */
static void join_settle(struct analysis *a, const struct smb_conn_xchg *ex, struct smb_conn_xchg *lx,
                        struct conn_summary *late)
{
    if (!lx->settled || !ex->pending.have)
        return;
    struct xchg_auth c = combine(&ex->pending, &lx->before);
    if (!lx->noted || lx->settled_index >= lx->n_sessions)
        return;
    struct xchg_session *r = &lx->sessions[lx->settled_index];
    note(r, &c);
    judge_sessions(late, lx);
    JsonObject *entry = mstate_detail_entry(a, late);
    if (entry)
        patch_session(entry, lx, &ex->pending, &c, r);
    else
        mstate_xchg_conn_session(mstate_detail_conn(a, late), lx, &ex->pending, &c, r);
}

/* The early part's share of path p waiting for an answer, as
 * report_json_conn.c writes an answered one. */
static void answer_share(JsonObject *entry, const uint8_t *p, uint16_t plen, uint32_t status, uint8_t type,
                         uint32_t flags, const char *service)
{
    JsonNode *sn = entry ? json_object_get_member(entry, "shares") : NULL;
    if (!sn || !JSON_NODE_HOLDS_ARRAY(sn))
        return;
    JsonArray *arr = json_node_get_array(sn);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *o = json_array_get_object_element(arr, i);
        const char *path = o ? json_object_get_string_member_with_default(o, "path", NULL) : NULL;
        if (!path || strlen(path) != plen || memcmp(path, p, plen) != 0 ||
            json_object_get_boolean_member_with_default(o, "answered", true))
            continue;
        JsonObject *n = json_object_new(); /* rebuilt: the writer's member order */
        json_object_set_member(n, "path", json_node_copy(json_object_get_member(o, "path")));
        if (service[0]) /* session_shares.c: an SMB1 response's service replaces the request's */
            json_object_set_string_member(n, "service", service);
        else if (json_object_has_member(o, "service"))
            json_object_set_member(n, "service", json_node_copy(json_object_get_member(o, "service")));
        char buf[32];
        if (type)
            json_object_set_string_member(n, "type", smb_enum_name(&smb2_share_type_table, type, buf, sizeof buf));
        json_object_set_boolean_member(n, "answered", true);
        snprintf(buf, sizeof buf, "0x%08x", status);
        json_object_set_string_member(n, "status", buf);
        json_object_set_boolean_member(n, "encrypt_data", (flags & SHAREFLAG_ENCRYPT_DATA) != 0);
        JsonNode *node = json_node_alloc();
        json_node_init_object(node, n);
        json_object_unref(n);
        json_array_remove_element(arr, i);
        /* json-glib has no insert: rebuild the array around it */
        JsonArray *out = json_array_new();
        for (guint k = 0; k <= json_array_get_length(arr); k++) {
            if (k == i)
                json_array_add_element(out, node);
            if (k < json_array_get_length(arr))
                json_array_add_element(out, json_node_copy(json_array_get_element(arr, k)));
        }
        json_object_set_array_member(entry, "shares", out);
        if (flags & SHAREFLAG_ENCRYPT_DATA) {
            JsonObject *en = jget_member_obj(entry, "encryption");
            if (en)
                json_object_set_boolean_member(en, "encrypted", true);
        }
        return;
    }
}

/* TREE_CONNECTs the early part asked and the late part answered; the
 * answered ones leave ex, the others stay waiting. */
static void join_trees(struct analysis *a, struct smb_conn_xchg *ex, struct smb_conn_xchg *lx,
                       const struct conn_summary *early, struct conn_summary *late)
{
    JsonObject *entry = mstate_detail_entry(a, early);
    uint8_t kept = 0;
    for (uint8_t i = 0; i < ex->n_trees; i++) {
        bool answered = false;
        for (uint8_t k = 0; !answered && k < lx->n_answers; k++) {
            if (lx->answers[k].mid != ex->trees[i].mid)
                continue;
            answered = true;
            if (entry)
                answer_share(entry, ex->trees[i].path, ex->trees[i].path_len, lx->answers[k].status,
                             lx->answers[k].share_type, lx->answers[k].share_flags, lx->answers[k].service);
            else
                mstate_xchg_conn_share(mstate_detail_conn(a, early), ex->trees[i].path, ex->trees[i].path_len,
                                       lx->answers[k].status, lx->answers[k].share_type, lx->answers[k].share_flags,
                                       lx->answers[k].service);
            if (lx->answers[k].share_flags & SHAREFLAG_ENCRYPT_DATA)
                late->flags |= CONN_F_ENCRYPTED; /* smb_conn_encrypted(): a share that encrypts */
            lx->answers[k].mid = UINT64_MAX; /* used */
        }
        if (!answered)
            ex->trees[kept++] = ex->trees[i];
    }
    ex->n_trees = kept;
}

void mstate_xchg_join(struct analysis *a, struct conn_summary *early, struct conn_summary *late)
{
    mstate_join_nbss(a, early, late);
    mstate_smbd_join_wholes(a, early, late); /* SMBD messages the cut divided, whole: a part between them */
    mstate_join_roce_names(early, late);
    if (mstate_join_fins(a, early, &late->client, late->client_port, &late->server, late->server_port,
                         late->first_ts) &&
        strcmp(late->close_reason, "end") == 0) { /* a FIN each way: flow.c closes it "fin" */
        g_strlcpy(late->close_reason, "fin", sizeof late->close_reason);
        mstate_detail_set_end(a, late, "fin");
    }
    mstate_xchg_join_exchanges(a, early, late);
}

void mstate_xchg_join_exchanges(struct analysis *a, const struct conn_summary *early, struct conn_summary *late)
{
    guint ei = mstate_xchg_find(a, early), li = mstate_xchg_find(a, late);
    if (ei == G_MAXUINT && li == G_MAXUINT)
        return;
    struct smb_conn_xchg none, lnone;
    memset(&none, 0, sizeof none);
    memset(&lnone, 0, sizeof lnone);
    struct mstate_xchg *em = ei == G_MAXUINT ? NULL : g_ptr_array_index(a->edge_xchg, ei);
    struct mstate_xchg *lm = li == G_MAXUINT ? NULL : g_ptr_array_index(a->edge_xchg, li);
    struct smb_conn_xchg *ex = em ? &em->x : &none, *lx = lm ? &lm->x : &lnone;
    join_settle(a, ex, lx, late);
    join_trees(a, ex, lx, early, late);
    /* early's NEGOTIATE request (the first SMB2 one: the run over both
     * keeps its security mode) answered in late: signing required when
     * either side asked (session_facts.c), as the run over both judges */
    bool answered = late->dialect && late->smb_version >= 2;
    if (ex->neg_signing_required && answered)
        late->flags |= CONN_F_SIGNING_REQUIRED;
    /* The joined connection (named as early) is in the middle of what the
     * late part ended in, and of early's blob when late settled none. */
    struct smb_conn_xchg *j = g_new(struct smb_conn_xchg, 1);
    *j = *ex;
    j->pending = lx->settled ? lx->pending : combine(&ex->pending, &lx->pending);
    /* ... or late's own request still unanswered at its end (late a
     * message merge decoded between two parts: mstate_join_smbd.h) */
    j->neg_signing_required = (ex->neg_signing_required && !answered) || lx->neg_signing_required;
    for (uint8_t i = 0; i < lx->n_trees && j->n_trees < XCHG_MAX_TREES; i++)
        j->trees[j->n_trees++] = lx->trees[i];
    /* Answers no request of early matched may still answer a part before
     * early (when early too was seen from its middle): a merge of the
     * later parts first keeps them, as the merge of all at once uses them. */
    for (uint8_t i = 0; !(early->flags & CONN_F_START_SEEN) && i < lx->n_answers && j->n_answers < XCHG_MAX_TREES; i++)
        if (lx->answers[i].mid != UINT64_MAX)
            j->answers[j->n_answers++] = lx->answers[i];
    if (early->flags & CONN_F_START_SEEN)
        j->n_answers = 0;
    /* Likewise the first SESSION_SETUP late settled, when early settled none
     * and did not see the start: a part before early may hold the first
     * blob (its mechs_offered), which the merge of all at once combines
     * with early's; kept with the request side known so far. */
    if (!(early->flags & CONN_F_START_SEEN) && !ex->settled && lx->settled) {
        j->settled = true;
        j->noted = lx->noted;
        j->session_id = lx->session_id;
        j->settled_index = lx->settled_index;
        j->n_sessions = lx->n_sessions;
        memcpy(j->sessions, lx->sessions, sizeof j->sessions);
        j->before = combine(&ex->pending, &lx->before);
    }
    if (strcmp(late->close_reason, "end") != 0 && /* RoCEv2 open at the end: "end of capture" (rdma_roce.c) */
        !(late->carrier == CONN_CARRIER_UDP && strcmp(late->close_reason, "end of capture") == 0)) {
        j->pending.have = false;
        j->n_trees = 0;
        j->neg_signing_required = false;
    }
    if (lm)
        mstate_xchg_remove(a, li);
    ei = mstate_xchg_find(a, early);
    if (ei != G_MAXUINT)
        mstate_xchg_remove(a, ei);
    if (j->pending.have || j->n_trees || j->settled || j->n_answers || j->neg_signing_required)
        mstate_xchg_put(a, early, j);
    g_free(j);
}
