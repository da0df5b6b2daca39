/* auth.c - what a connection's logons authenticated with.
 *
 * The security blob is the one thing the plugin decodes itself, with
 * libsmbscope's GSS/SPNEGO/NTLMSSP reader (gss_decode()), the command's own:
 * Wireshark cannot decode a SPNEGO response whose request was not captured,
 * and it does not say whether an NTLM logon was anonymous (MS-NLMP
 * 3.2.5.1.2).  The settlement follows the command's session table: request
 * blobs are remembered; a successful SESSION_SETUP response turns them into
 * an established session (a Kerberos AP-REQ makes it Kerberos, an NTLM
 * AUTHENTICATE message NTLM, else the mechanism carried, else the
 * response's supportedMech); a failed one establishes nothing. */
#include "auth.h"

#include <string.h>

#include "fields.h"
#include "gss.h"

/* The blob fields of this frame, decoded one after the other into `out`
 * (at most one SESSION_SETUP per frame carries one). */
static bool decode_blob(proto_tree *tree, enum wf f, struct smb_auth *out)
{
    GPtrArray *a = wf_all(tree, f);
    if (!a)
        return false;
    const field_info *fi = (const field_info *)g_ptr_array_index(a, 0);
    if (!fi->ds_tvb || fi->length <= 0 || tvb_captured_length_remaining(fi->ds_tvb, fi->start) < fi->length)
        return false;
    gss_decode(tvb_get_ptr(fi->ds_tvb, fi->start, fi->length), (size_t)fi->length, out);
    return true;
}

static void remember(struct smbscope_conv *c, const struct smb_auth *a)
{
    if (a->framing == GSS_FRAMING_EMPTY)
        return;
    c->pending_krb |= a->krb5_ap_req;
    if (a->ntlm.status != NTLMSSP_ABSENT && a->ntlm.msg_type == 3) {
        c->pending_ntlm = true;
        c->pending_anonymous = a->ntlm.anonymous;
    }
    if (a->mech != AUTH_MECH_NONE && a->mech != AUTH_MECH_UNKNOWN)
        c->pending_mech = (guint8)a->mech;
}

void smbscope_auth_request(struct smbscope_conv *c, proto_tree *tree, bool smb2)
{
    struct smb_auth a;
    memset(&a, 0, sizeof a);
    if (decode_blob(tree, smb2 ? WF_SMB2_SECURITY_BLOB : WF_SMB_SECURITY_BLOB, &a)) {
        remember(c, &a);
        return;
    }
    if (smb2 || !wf_count(tree, WF_SMB_ANSI_PWLEN))
        return;
    /* SMB1 without extended security: LM/NTLM challenge-response with the
     * account in clear (MS-CIFS 2.2.4.53.1). */
    guint64 ansi = 0, unicode = 0;
    wf_first_uint(tree, WF_SMB_ANSI_PWLEN, &ansi);
    wf_first_uint(tree, WF_SMB_UNICODE_PWLEN, &unicode);
    GPtrArray *acct = wf_all(tree, WF_SMB_ACCOUNT);
    bool no_account = !acct || !*wf_string((const field_info *)g_ptr_array_index(acct, 0));
    c->pending_ntlm = true;
    c->pending_anonymous = no_account && ansi <= 1 && unicode == 0;
    c->pending_mech = AUTH_MECH_NTLM;
}

void smbscope_auth_settle(struct smbscope_conv *c, proto_tree *tree, bool smb2, bool null_session, bool guest)
{
    struct smb_auth resp;
    memset(&resp, 0, sizeof resp);
    bool have_resp = decode_blob(tree, smb2 ? WF_SMB2_SECURITY_BLOB : WF_SMB_SECURITY_BLOB, &resp);
    enum auth_mech mech = AUTH_MECH_NONE;
    if (c->pending_krb)
        mech = AUTH_MECH_KERBEROS;
    else if (c->pending_ntlm)
        mech = AUTH_MECH_NTLM;
    else if (c->pending_mech)
        mech = (enum auth_mech)c->pending_mech;
    if (mech == AUTH_MECH_NONE && have_resp && resp.has_supported_mech)
        mech = gss_oid_mech(resp.supported_mech.id);
    bool anonymous = null_session || (c->pending_ntlm && c->pending_anonymous);
    c->auth_null |= anonymous;
    c->auth_guest |= guest;
    /* The first session that says anything names the connection's
     * authentication, as the command's text report does. */
    if (!c->auth_word && (anonymous || guest || mech != AUTH_MECH_NONE))
        c->auth_word = anonymous ? "anonymous" : guest ? "guest" : auth_mech_name(mech);
    if (anonymous || guest)
        c->sessions_other++;
    else if (mech == AUTH_MECH_KERBEROS)
        c->sessions_kerberos++;
    else if (mech == AUTH_MECH_NTLM)
        c->sessions_ntlm++;
    else if (mech != AUTH_MECH_NONE)
        c->sessions_other++;
    c->pending_krb = c->pending_ntlm = c->pending_anonymous = false;
    c->pending_mech = 0;
}
