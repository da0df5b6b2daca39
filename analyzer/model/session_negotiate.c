/* session_negotiate.c - SMB1 and SMB2 headers and NEGOTIATE: dialects
 * offered and chosen, security modes, capabilities, negotiate contexts,
 * and which side spoke first (it names the client of a mid-stream capture). */
#include "session_priv.h"
#include "session_enc.h"

#include "dialect.h"

static void note_request(struct smb_conn *s, int dir, bool response)
{
    struct smb_conn_priv *p = priv(s);
    if (!response && p->request_dir < 0)
        p->request_dir = dir;
    if (response && p->request_dir < 0)
        p->request_dir = !dir;
}

void on_smb1_header(void *ctx, const struct smb1_header_info *h)
{
    struct dir_ctx *d = ctx;
    d->s->smb1_seen = true;
    if (!h->andx)
        note_request(d->s, d->dir, h->response);
    if (h->signature_nonzero && (h->flags2 & 0x0004))
        d->s->signed_pdus++;
}

void on_smb1_negotiate_request(void *ctx, const struct smb1_header_info *h, const struct smb1_negotiate_request *r)
{
    struct dir_ctx *d = ctx;
    struct smb_conn *s = d->s;
    if (priv(s)->negotiate_dir < 0)
        priv(s)->negotiate_dir = d->dir;
    if (s->smb1_negotiate_seen)
        return;
    s->smb1_negotiate_seen = true;
    s->smb1_dialects_total = (uint16_t)(r->count + r->extra);
    for (uint16_t i = 0; i < r->count && s->smb1_dialects->len < SESSION_MAX_SMB1_DIALECTS; i++) {
        struct wstr w = { NULL, 0 };
        wstr_set(&w, r->dialects[i].p, r->dialects[i].len);
        g_array_append_val(session_array(&s->smb1_dialects, sizeof(struct wstr)), w);
        uint16_t code = smb1_dialect_smb2_code(r->dialects[i].p, r->dialects[i].len);
        if (code && (s->dialects_from_smb1 || s->dialects_offered->len == 0)) {
            s->dialects_from_smb1 = true;
            g_array_append_val(session_dialects_array(s), code);
            s->dialects_total++;
        }
    }
}

void on_smb1_negotiate_response(void *ctx, const struct smb1_header_info *h, const struct smb1_negotiate_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    s->smb1_response_seen = true;
    s->smb1_chosen = r->dialect_index;
    s->smb1_security_mode = r->security_mode;
    s->smb1_capabilities = r->capabilities;
}

void on_smb2_header(void *ctx, const struct smb2_header_info *h)
{
    struct dir_ctx *d = ctx;
    struct smb_conn *s = d->s;
    s->smb2_seen = true;
    if (h->index == 0)
        note_request(s, d->dir, h->response);
    /* The SIGNED flag, as tshark counts it: a snaplen-cut header may not
     * hold the signature itself. */
    if (h->is_signed) {
        s->signed_pdus++;
        struct smb_session_rec *r = session_get(s, h->session_id, false);
        if (r)
            r->signed_seen = true;
        else
            session_enc_unseen_note(s, h->session_id, 0, true);
    }
}

void on_smb2_negotiate_request(void *ctx, const struct smb2_header_info *h, const struct smb2_negotiate_request *r)
{
    struct dir_ctx *d = ctx;
    struct smb_conn *s = d->s;
    if (priv(s)->negotiate_dir < 0)
        priv(s)->negotiate_dir = d->dir;
    if (s->smb2_request_seen)
        return;
    s->smb2_request_seen = true;
    /* The first SMB2 NEGOTIATE request's list replaces an SMB1 "SMB 2.xxx" offer. */
    s->dialects_from_smb1 = false;
    s->dialects_total = r->dialect_count;
    guint n = r->dialects_stored < SESSION_MAX_DIALECTS ? r->dialects_stored : SESSION_MAX_DIALECTS;
    session_dialects_set(s, r->dialects, n);
    s->client_security_mode = r->security_mode;
    s->client_capabilities = r->capabilities;
    memcpy(s->client_guid, r->client_guid, 16);
    if (r->contexts.status != SMB2_CTX_ABSENT)
        session_ctx_list_set(s, false, &r->contexts);
}

void on_smb2_negotiate_response(void *ctx, const struct smb2_header_info *h, const struct smb2_negotiate_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    if (h->status != STATUS_SUCCESS)
        return;
    s->smb2_response_seen = true;
    s->dialect = r->dialect; /* the last response wins: 0x02FF, then the real one */
    s->server_security_mode = r->security_mode;
    s->server_capabilities = r->capabilities;
    memcpy(s->server_guid, r->server_guid, 16);
    s->max_read = r->max_read;
    s->max_write = r->max_write;
    s->max_transact = r->max_transact;
    if (r->contexts.status != SMB2_CTX_ABSENT) {
        session_ctx_list_set(s, true, &r->contexts);
        const struct smb2_neg_ctx *enc = smb2_ctx_find(&r->contexts, SMB2_CTX_ENCRYPTION);
        if (enc && enc->ids_stored) {
            s->cipher = enc->ids[0];
            s->cipher_known = true;
        }
    }
}

