/* session_shares.c - sessions (logons) and shares (tree connects) of a
 * connection: the SESSION_SETUP and TREE_CONNECT handlers of the SMB sink
 * and the encrypted-message counts per session. */
#include "session_priv.h"
#include "session_enc.h"
#include "session_xchg.h"

struct smb_session_rec *session_get(struct smb_conn *s, uint64_t id, bool create)
{
    for (guint i = 0; i < s->sessions->len; i++) {
        struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, i);
        if (r->id == id)
            return r;
    }
    if (!create)
        return NULL;
    if (s->sessions->len >= SESSION_MAX_SESSIONS) {
        s->sessions_dropped++;
        return NULL;
    }
    struct smb_session_rec r;
    memset(&r, 0, sizeof r);
    r.id = id;
    session_enc_unseen_forget(s, id);
    g_array_append_val(session_array(&s->sessions, sizeof r), r);
    return &g_array_index(s->sessions, struct smb_session_rec, s->sessions->len - 1);
}

static struct smb_share_rec *share_new(struct smb_conn *s, const char *path, size_t len)
{
    if (s->shares->len >= SESSION_MAX_SHARES) {
        s->shares_dropped++;
        return NULL;
    }
    struct smb_share_rec r;
    memset(&r, 0, sizeof r);
    wstr_set(&r.path, (const uint8_t *)path, len);
    g_array_append_val(session_array(&s->shares, sizeof r), r);
    return &g_array_index(s->shares, struct smb_share_rec, s->shares->len - 1);
}

static void tree_pending_add(struct smb_conn *s, uint64_t mid)
{
    struct smb_conn_live *p = priv(s)->live;
    if (!p)
        return;
    unsigned i = p->pending_tree_next++ % G_N_ELEMENTS(p->pending_tree);
    p->pending_tree[i].mid = mid;
    p->pending_tree[i].share = (uint16_t)(s->shares->len - 1);
    p->pending_used |= (uint16_t)(1u << i);
}

static struct smb_share_rec *tree_pending_take(struct smb_conn *s, uint64_t mid)
{
    struct smb_conn_live *p = priv(s)->live;
    if (!p)
        return NULL;
    for (unsigned i = 0; p->pending_used && i < G_N_ELEMENTS(p->pending_tree); i++)
        if ((p->pending_used >> i & 1u) && p->pending_tree[i].mid == mid) {
            p->pending_used &= (uint16_t)~(1u << i);
            if (p->pending_tree[i].share < s->shares->len)
                return &g_array_index(s->shares, struct smb_share_rec, p->pending_tree[i].share);
        }
    return NULL;
}

/* Keep what a request-side security blob said until the response settles
 * the session: the mech list of the first blob, the identity of the last. */
static void auth_remember(struct smb_conn *s, const struct smb_auth *a)
{
    if (a->framing == GSS_FRAMING_EMPTY)
        return;
    if (!s->pending_auth) {
        s->pending_auth = g_new(struct smb_auth, 1);
        *s->pending_auth = *a;
        return;
    }
    struct smb_auth *p = s->pending_auth;
    if (a->mech_count && !p->mech_count) {
        memcpy(p->mechs, a->mechs, sizeof p->mechs);
        p->mech_count = a->mech_count;
        p->mech_total = a->mech_total;
    }
    if (a->ntlm.status != NTLMSSP_ABSENT && a->ntlm.msg_type == 3)
        p->ntlm = a->ntlm;
    p->krb5_ap_req |= a->krb5_ap_req;
    if (a->mech != AUTH_MECH_NONE && a->mech != AUTH_MECH_UNKNOWN)
        p->mech = a->mech;
}

/* What a SESSION_SETUP exchange tells about its session's logon. */
static void session_note(struct smb_session_rec *r, const struct smb_auth *a, bool guest, bool null_session,
                         bool encrypt, const struct smb_auth *resp_auth)
{
    r->guest |= guest;
    r->anonymous |= null_session;
    r->encrypt_data |= encrypt;
    if (a) {
        if (a->krb5_ap_req)
            r->mech = AUTH_MECH_KERBEROS;
        else if (a->ntlm.status != NTLMSSP_ABSENT && a->ntlm.msg_type == 3)
            r->mech = AUTH_MECH_NTLM;
        else if (a->mech != AUTH_MECH_NONE)
            r->mech = a->mech;
        if (a->ntlm.msg_type == 3) {
            r->anonymous |= a->ntlm.anonymous;
            if (a->ntlm.user.present)
                wstr_set_text(&r->user, a->ntlm.user.text);
            if (a->ntlm.domain.present)
                wstr_set_text(&r->domain, a->ntlm.domain.text);
            if (a->ntlm.workstation.present)
                wstr_set_text(&r->workstation, a->ntlm.workstation.text);
        }
        for (uint8_t i = 0; i < a->mech_count && r->n_mechs_offered < GSS_MAX_MECHS; i++)
            r->mechs_offered[r->n_mechs_offered++] = a->mechs[i].id;
    }
    if (r->mech == AUTH_MECH_NONE && resp_auth && resp_auth->has_supported_mech)
        r->mech = gss_oid_mech(resp_auth->supported_mech.id);
}

/* A response to SESSION_SETUP: success establishes the session; a final
 * failure (anything but MORE_PROCESSING_REQUIRED) leaves a record that is no
 * logon (established false, the status kept) but names who tried, as tshark
 * shows the NTLMSSP AUTHENTICATE of a refused logon.  A failed re-
 * authentication of an established session changes nothing. */
static void session_settle(struct smb_conn *s, uint64_t id, uint32_t status, bool guest, bool null_session,
                           bool encrypt, const struct smb_auth *resp_auth)
{
    bool success = status == STATUS_SUCCESS;
    bool final = success || status != STATUS_MORE_PROCESSING_REQUIRED;
    struct smb_session_rec *r = session_get(s, id, final);
    if (r && !success && final && r->established)
        r = NULL;
    struct smb_auth *a = s->pending_auth;
    if (r) {
        if (success)
            r->established = true;
        if (final)
            r->status = status;
        session_note(r, a, guest, null_session, encrypt, resp_auth);
    }
    if (final) {
        session_xchg_settle(s, id, r != NULL, r ? (int)(r - &g_array_index(s->sessions, struct smb_session_rec, 0)) : -1);
        g_free(s->pending_auth);
        s->pending_auth = NULL;
    }
}

void on_smb1_session_setup_request(void *ctx, const struct smb1_header_info *h, const struct smb1_session_setup_request *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    if (r->extended_security) {
        auth_remember(s, &r->auth);
        return;
    }
    /* Pre-extended-security logon: LM/NTLM challenge-response with the
     * account in clear (MS-CIFS 2.2.4.53.1). */
    struct smb_auth a;
    memset(&a, 0, sizeof a);
    a.framing = GSS_FRAMING_NTLMSSP;
    a.mech = AUTH_MECH_NTLM;
    a.ntlm.status = NTLMSSP_OK;
    a.ntlm.msg_type = 3;
    /* An empty account is no account: the null session of MS-CIFS 3.2.4.2.4 (MS-NLMP 3.2.5.1.2: empty
     * user, empty or one-byte LM response, empty NT response). */
    a.ntlm.anonymous = (!r->account.present || !r->account.text[0]) && r->ansi_password_len <= 1 &&
                       r->unicode_password_len == 0;
    if (r->account.present) {
        a.ntlm.user.present = true;
        g_strlcpy(a.ntlm.user.text, r->account.text, sizeof a.ntlm.user.text);
    }
    if (r->domain.present) {
        a.ntlm.domain.present = true;
        g_strlcpy(a.ntlm.domain.text, r->domain.text, sizeof a.ntlm.domain.text);
    }
    auth_remember(s, &a);
}

void on_smb1_session_setup_response(void *ctx, const struct smb1_header_info *h, const struct smb1_session_setup_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    session_settle(s, h->uid, h->status, r->guest, false, false, &r->auth);
}

void on_smb1_tree_connect_request(void *ctx, const struct smb1_header_info *h, const struct smb1_tree_connect_request *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    struct smb_share_rec *sh = share_new(s, r->path, strlen(r->path));
    if (!sh)
        return;
    wstr_set_text(&sh->service, r->service);
    tree_pending_add(s, h->mid);
}

void on_smb1_tree_connect_response(void *ctx, const struct smb1_header_info *h, const struct smb1_tree_connect_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    struct smb_share_rec *sh = tree_pending_take(s, h->mid);
    if (!sh) {
        session_xchg_tree_answer(s, h->mid, h->status, h->tid, 0, 0, r->service);
        return;
    }
    sh->answered = true;
    sh->status = h->status;
    sh->tree_id = h->tid;
    if (r->service[0])
        wstr_set_text(&sh->service, r->service);
}
void on_smb2_session_setup_request(void *ctx, const struct smb2_header_info *h, const struct smb2_session_setup_request *r)
{
    auth_remember(((struct dir_ctx *)ctx)->s, &r->auth);
}

void on_smb2_session_setup_response(void *ctx, const struct smb2_header_info *h, const struct smb2_session_setup_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    session_settle(s, h->session_id, h->status, r->session_flags & SMB2_SESSION_FLAG_IS_GUEST,
                   r->session_flags & SMB2_SESSION_FLAG_IS_NULL, r->session_flags & SMB2_SESSION_FLAG_ENCRYPT_DATA,
                   &r->auth);
}

void on_smb2_tree_connect_request(void *ctx, const struct smb2_header_info *h, const struct smb2_tree_connect_request *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    if (share_new(s, r->path, strlen(r->path)))
        tree_pending_add(s, h->message_id);
}

void on_smb2_tree_connect_response(void *ctx, const struct smb2_header_info *h, const struct smb2_tree_connect_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    struct smb_share_rec *sh = tree_pending_take(s, h->message_id);
    if (!sh) {
        session_xchg_tree_answer(s, h->message_id, h->status, h->tree_id, r->share_type, r->share_flags, NULL);
        return;
    }
    sh->answered = true;
    sh->status = h->status;
    sh->tree_id = h->tree_id;
    sh->share_type = r->share_type;
    sh->share_flags = r->share_flags;
    sh->encrypt_data = r->share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA;
}

void on_encrypted(void *ctx, const struct smb_transform_info *t)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    s->encrypted_pdus++;
    struct smb_session_rec *r = session_get(s, t->session_id, false);
    if (r)
        r->encrypted_pdus++;
    else
        session_enc_unseen_note(s, t->session_id, 1, false);
}
