/* mstate_xchg_conn.c - see mstate_xchg_conn.h.  What mstate_xchg_join.c's
 * patch_session() and answer_share() write into a connections[] entry,
 * set in the session record the report is written from. */
#include "mstate_xchg_conn.h"

#include <string.h>

#include "session_priv.h"

#define SHAREFLAG_ENCRYPT_DATA 0x00008000u /* MS-SMB2 2.2.10 */

static void set_name(struct wstr *w, const struct ntlmssp_name *n)
{
    if (n->present)
        wstr_set_text(w, n->text);
}

void mstate_xchg_conn_session(struct smb_conn *s, const struct smb_conn_xchg *lx, const struct xchg_auth *early,
                              const struct xchg_auth *c, const struct xchg_session *r)
{
    struct smb_session_rec *rec = s ? session_get(s, lx->session_id, false) : NULL;
    if (!rec)
        return;
    rec->mech = (enum auth_mech)r->mech;
    rec->anonymous = r->anonymous;
    if (c->ntlm3 && !lx->before.ntlm3) { /* the identity is the early part's */
        set_name(&rec->user, &c->user);
        set_name(&rec->domain, &c->domain);
        set_name(&rec->workstation, &c->workstation);
    }
    if (!early->n_mechs)
        return;
    /* the record's list began with the late blob's mechs; the first blob's are the early part's */
    enum gss_oid_id mechs[GSS_MAX_MECHS];
    uint8_t n = 0;
    for (uint8_t i = 0; i < early->n_mechs && n < GSS_MAX_MECHS; i++)
        mechs[n++] = (enum gss_oid_id)early->mechs[i];
    for (uint8_t i = lx->before.n_mechs; i < rec->n_mechs_offered && n < GSS_MAX_MECHS; i++)
        mechs[n++] = rec->mechs_offered[i];
    memcpy(rec->mechs_offered, mechs, n * sizeof mechs[0]);
    rec->n_mechs_offered = n;
}

void mstate_xchg_conn_share(struct smb_conn *s, const uint8_t *p, uint16_t plen, uint32_t status, uint8_t type,
                            uint32_t flags, const char *service)
{
    for (guint i = 0; s && i < s->shares->len; i++) {
        struct smb_share_rec *r = &g_array_index(s->shares, struct smb_share_rec, i);
        if (r->answered || r->path.len != plen || (plen && memcmp(r->path.p, p, plen) != 0))
            continue;
        r->answered = true;
        r->status = status;
        r->share_type = type;
        r->share_flags = flags;
        r->encrypt_data = (flags & SHAREFLAG_ENCRYPT_DATA) != 0;
        if (service[0])
            wstr_set_text(&r->service, service);
        return;
    }
}
