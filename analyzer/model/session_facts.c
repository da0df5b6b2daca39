/* session_facts.c - the session model's small value helpers: wire strings,
 * client rule names, and the derived facts the reports ask for. */
#include "session_priv.h"

#include "dialect.h"
#include "smb_tables.h"

void wstr_set(struct wstr *w, const uint8_t *p, size_t n)
{
    g_free(w->p);
    if (n > 4096)
        n = 4096;
    w->p = g_malloc(n + 1);
    if (n)
        memcpy(w->p, p, n);
    w->p[n] = '\0';
    w->len = (uint32_t)n;
}

void wstr_free(struct wstr *w)
{
    g_free(w->p);
    w->p = NULL;
    w->len = 0;
}


static const char *const client_rules[] = {
    [CLIENT_BY_SYN] = "syn",
    [CLIENT_BY_NEGOTIATE] = "negotiate",
    [CLIENT_BY_REQUEST] = "smb-request",
    [CLIENT_BY_PORT] = "port",
    [CLIENT_BY_TRANSPORT] = "transport",
};

const char *client_rule_name(enum client_rule r) { return (unsigned)r < G_N_ELEMENTS(client_rules) ? client_rules[r] : "unknown"; }

/* ---- report helpers -------------------------------------------------- */

int smb_conn_smb_version(const struct smb_conn *s)
{
    if (s->smb2_response_seen && s->dialect) {
        const struct smb2_dialect_info *d = smb2_dialect_lookup(s->dialect);
        return d ? d->smb_version : 2;
    }
    if (s->smb1_response_seen && s->smb1_chosen >= 0 && s->smb1_chosen != 0xFFFF)
        return 1;
    /* SMB2 headers without a NEGOTIATE cannot tell 2 from 3: unknown.  An
     * SMB1 header is SMB1 whatever the dialect. */
    if (s->smb1_seen && !s->smb2_seen)
        return 1;
    return 0;
}

const char *smb_conn_dialect_text(const struct smb_conn *s, char *buf, size_t buflen)
{
    if (s->smb2_response_seen && s->dialect)
        return smb2_dialect_name(s->dialect, buf, buflen);
    if (s->smb1_response_seen && s->smb1_chosen >= 0 && (guint)s->smb1_chosen < s->smb1_dialects->len) {
        const struct wstr *w = &g_array_index(s->smb1_dialects, struct wstr, s->smb1_chosen);
        return (const char *)w->p;
    }
    return NULL;
}

bool smb_conn_signing_required(const struct smb_conn *s)
{
    if (smb_conn_smb_version(s) >= 2)
        return (s->server_security_mode | s->client_security_mode) & 0x0002;
    return s->smb1_security_mode & 0x08; /* NEGOTIATE_SECURITY_SIGNATURES_REQUIRED */
}

const char *smb_conn_signing_mode(const struct smb_conn *s)
{
    int v = smb_conn_smb_version(s);
    if (v >= 2)
        return smb_signing_mode_word(s->smb2_response_seen, smb_conn_signing_required(s),
                                     s->server_security_mode & 0x0001);
    if (v == 1) /* NEGOTIATE_SECURITY_SIGNATURES_REQUIRED 0x08, _ENABLED 0x04 */
        return smb_signing_mode_word(s->smb1_response_seen, s->smb1_security_mode & 0x08,
                                     s->smb1_security_mode & 0x04);
    return NULL;
}

bool smb_conn_encrypted(const struct smb_conn *s)
{
    if (s->encrypted_pdus)
        return true;
    for (guint i = 0; i < s->sessions->len; i++)
        if (g_array_index(s->sessions, struct smb_session_rec, i).encrypt_data)
            return true;
    for (guint i = 0; i < s->shares->len; i++)
        if (g_array_index(s->shares, struct smb_share_rec, i).encrypt_data)
            return true;
    return false;
}

const struct ip_addr *smb_conn_client(const struct smb_conn *s) { return &s->addr[s->client]; }
const struct ip_addr *smb_conn_server(const struct smb_conn *s) { return &s->addr[!s->client]; }
uint16_t smb_conn_client_port(const struct smb_conn *s) { return s->port[s->client]; }
uint16_t smb_conn_server_port(const struct smb_conn *s) { return s->port[!s->client]; }
