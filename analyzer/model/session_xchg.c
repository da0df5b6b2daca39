/* session_xchg.c - see session_xchg.h. */
#include "session_xchg.h"

#include "flow.h"
#include "session_priv.h"

void xchg_auth_of(struct xchg_auth *out, const struct smb_auth *a)
{
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    out->have = true;
    out->mech = (uint8_t)a->mech;
    out->krb5_ap_req = a->krb5_ap_req;
    out->ntlm3 = a->ntlm.status != NTLMSSP_ABSENT && a->ntlm.msg_type == 3;
    if (out->ntlm3) {
        out->anonymous = a->ntlm.anonymous;
        out->user = a->ntlm.user;
        out->domain = a->ntlm.domain;
        out->workstation = a->ntlm.workstation;
    }
    for (uint8_t i = 0; i < a->mech_count && i < GSS_MAX_MECHS; i++)
        out->mechs[out->n_mechs++] = (uint8_t)a->mechs[i].id;
}

/* Whether the capture missed the connection's start (the flow learns of
 * its SYN after it is made: asked now, as judge_start() does). */
static bool midstream(struct smb_conn *s)
{
    const struct smb_conn_priv *p = priv(s);
    return p->fc ? p->fc->midstream : !p->start_seen;
}

static struct smb_conn_xchg *xchg(struct smb_conn *s)
{
    if (!s->xchg)
        s->xchg = g_new0(struct smb_conn_xchg, 1);
    return s->xchg;
}

void session_xchg_settle(struct smb_conn *s, uint64_t session_id, bool noted, int index)
{
    if ((s->xchg && s->xchg->settled) || !midstream(s))
        return;
    struct smb_conn_xchg *x = xchg(s);
    x->settled = true;
    x->noted = noted && index >= 0 && index < XCHG_MAX_SESSIONS;
    x->settled_index = x->noted ? (uint8_t)index : 0;
    x->session_id = session_id;
    xchg_auth_of(&x->before, s->pending_auth);
}

void session_xchg_tree_answer(struct smb_conn *s, uint64_t mid, uint32_t status, uint32_t tree_id, uint8_t share_type,
                              uint32_t share_flags, const char *service)
{
    if (!midstream(s) || (s->xchg && s->xchg->n_answers >= XCHG_MAX_TREES))
        return;
    struct smb_conn_xchg *x = xchg(s);
    x->answers[x->n_answers].mid = mid;
    x->answers[x->n_answers].status = status;
    x->answers[x->n_answers].tree_id = tree_id;
    x->answers[x->n_answers].share_type = share_type;
    x->answers[x->n_answers].share_flags = share_flags;
    /* kept as text the merge state carries as it is: printable ASCII only */
    bool text = service && strlen(service) < XCHG_SERVICE_MAX;
    for (const char *c = service; text && *c; c++)
        text = *c >= 0x20 && *c < 0x7f;
    g_strlcpy(x->answers[x->n_answers].service, text ? service : "", XCHG_SERVICE_MAX);
    x->n_answers++;
}

static void pending_at_end(struct smb_conn *s)
{
    const struct smb_conn_live *l = priv(s)->live;
    bool trees = false;
    for (unsigned i = 0; l && l->pending_used && i < G_N_ELEMENTS(l->pending_tree); i++)
        trees |= (l->pending_used >> i & 1u) && l->pending_tree[i].share < s->shares->len;
    /* what smb_conn_signing_required() would read of the request once answered */
    bool neg = s->smb2_request_seen && !s->smb2_response_seen && (s->client_security_mode & 0x0002);
    if (!s->pending_auth && !trees && !neg)
        return;
    struct smb_conn_xchg *x = xchg(s);
    xchg_auth_of(&x->pending, s->pending_auth);
    x->neg_signing_required = neg;
    /* oldest first: the ring's order from its next slot */
    for (unsigned k = 0; l && k < G_N_ELEMENTS(l->pending_tree); k++) {
        unsigned i = (l->pending_tree_next + k) % G_N_ELEMENTS(l->pending_tree);
        if (!(l->pending_used >> i & 1u) || l->pending_tree[i].share >= s->shares->len)
            continue;
        const struct smb_share_rec *r = &g_array_index(s->shares, struct smb_share_rec, l->pending_tree[i].share);
        if (r->path.len > XCHG_PATH_MAX || x->n_trees >= XCHG_MAX_TREES)
            continue;
        x->trees[x->n_trees].mid = l->pending_tree[i].mid;
        x->trees[x->n_trees].path_len = (uint16_t)r->path.len;
        if (r->path.len)
            memcpy(x->trees[x->n_trees].path, r->path.p, r->path.len);
        x->n_trees++;
    }
}

void session_xchg_close(struct smb_conn *s, bool at_end)
{
    if (at_end)
        pending_at_end(s);
    struct smb_conn_xchg *x = s->xchg;
    if (!x || !x->settled)
        return;
    x->n_sessions = 0;
    for (guint i = 0; i < s->sessions->len && i < XCHG_MAX_SESSIONS; i++) {
        const struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, i);
        struct xchg_session *o = &x->sessions[x->n_sessions++];
        o->mech = (uint8_t)r->mech;
        o->established = r->established;
        o->anonymous = r->anonymous;
        o->guest = r->guest;
    }
}
