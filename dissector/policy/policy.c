/* policy.c - the verdict rules.  Each connection rule is one table row (a
 * test that it is broken, a test that it cannot be decided) so the command
 * and the plugin apply exactly the same policy. */
#include "policy.h"

#include "dialect.h"

struct policy policy_default(void)
{
    struct policy p = { 0 };
    p.race_window_ms = POLICY_DEFAULT_RACE_WINDOW_MS;
    return p;
}

bool policy_rule_enabled(const struct policy *p, enum policy_rule rule)
{
    switch (rule) {
    case RULE_NETBIOS:
    case RULE_NETBIOS_ATTEMPT:
    case RULE_NBSS_TRANSPORT:
        return !p->allow_netbios;
    case RULE_SMB1:
        return !p->allow_smb1;
    case RULE_MIN_DIALECT:
        return p->min_dialect != 0;
    case RULE_SIGNING:
        return p->require_signing;
    case RULE_ENCRYPTION:
        return p->require_encryption;
    case RULE_KERBEROS:
        return p->require_kerberos;
    case RULE_TRANSPORT:
        return p->n_transports > 0;
    case RULE_COUNT:
        break;
    }
    return false;
}

/* SMB content was decoded at all: otherwise there is nothing SMB to judge
 * (a connection that only carried NBSS control messages). */
static bool has_smb(const struct policy_conn_facts *f)
{
    return f->smb_version || f->smb_seen || f->encrypted || f->messages_seen;
}

bool policy_content_hidden(const struct policy_conn_facts *f)
{
    /* SMB over QUIC whose TLS the capture did not open: ALPN "smb" proves
     * SMB2/3 (MS-SMB2 2.1: no NBSS, no SMB1 over QUIC), but its dialect,
     * signing, encryption and logon are inside the encryption. */
    return f->transport == TRANSPORT_QUIC && !has_smb(f);
}

static bool v_nbss(const struct policy *p, const struct policy_conn_facts *f)
{
    /* NBSS on 139 is reported through the NetBIOS ledger (port rule); this
     * rule catches NBSS framing that hides on another port. */
    return !p->allow_netbios && f->transport == TRANSPORT_NBT_NONSTANDARD_PORT;
}

static bool u_nbss(const struct policy *p, const struct policy_conn_facts *f)
{
    /* A session request before the capture began is invisible: NBSS session
     * messages and direct-hosted framing look alike. */
    return f->transport == TRANSPORT_UNKNOWN_START;
}

static bool v_smb1(const struct policy *p, const struct policy_conn_facts *f)
{
    return !p->allow_smb1 && f->smb_version == 1;
}

static bool u_smb1(const struct policy *p, const struct policy_conn_facts *f)
{
    /* SMB messages went by but no header told which SMB it was (cut by the
     * snaplen, a gap or --pdu-cap). */
    return (f->content_lost || f->messages_seen) && !f->smb_version && !f->smb_seen && !f->encrypted;
}

static bool v_min_dialect(const struct policy *p, const struct policy_conn_facts *f)
{
    if (!p->min_dialect)
        return false;
    if (f->smb_version == 1)
        return true;
    if (!f->dialect || f->dialect == SMB2_DIALECT_WILDCARD)
        return false; /* not known: nothing to hold against it (see u_min_dialect) */
    return smb2_dialect_rank(f->dialect) < smb2_dialect_rank(p->min_dialect);
}

static bool u_min_dialect(const struct policy *p, const struct policy_conn_facts *f)
{
    return (has_smb(f) && f->smb_version != 1 && (!f->dialect || f->dialect == SMB2_DIALECT_WILDCARD)) ||
           policy_content_hidden(f);
}

static bool signs(const struct policy_conn_facts *f)
{
    /* Encryption (AEAD) protects integrity too, as MS-SMB2 3.2.4.1.1 says. */
    return f->signing_required || f->signed_seen || f->encrypted;
}

static bool v_signing(const struct policy *p, const struct policy_conn_facts *f)
{
    /* Only when the negotiate was seen and nothing was lost: a signed PDU
     * could otherwise hide before the capture or in a gap. */
    return p->require_signing && f->smb_version && f->negotiate_seen && !f->content_lost && !signs(f);
}

static bool u_signing(const struct policy *p, const struct policy_conn_facts *f)
{
    return (has_smb(f) || policy_content_hidden(f)) && !signs(f) && !v_signing(p, f);
}

static bool v_encryption(const struct policy *p, const struct policy_conn_facts *f)
{
    return p->require_encryption && f->smb_version && f->negotiate_seen && !f->content_lost && !f->encrypted;
}

static bool u_encryption(const struct policy *p, const struct policy_conn_facts *f)
{
    return (has_smb(f) || policy_content_hidden(f)) && !f->encrypted && !v_encryption(p, f);
}

static bool v_kerberos(const struct policy *p, const struct policy_conn_facts *f)
{
    return p->require_kerberos && (f->sessions_ntlm || f->sessions_other);
}

static bool u_kerberos(const struct policy *p, const struct policy_conn_facts *f)
{
    return (has_smb(f) && !v_kerberos(p, f) && f->auth_unseen) || policy_content_hidden(f);
}

/* The transport and port are known for every connection reported. */
static bool v_transport(const struct policy *p, const struct policy_conn_facts *f)
{
    return p->n_transports && f->transport != TRANSPORT_NONE && !policy_transport_listed(p, f);
}

static const struct {
    bool (*violated)(const struct policy *, const struct policy_conn_facts *);
    bool (*undecided)(const struct policy *, const struct policy_conn_facts *);
} conn_rules[RULE_COUNT] = {
    [RULE_NBSS_TRANSPORT] = { v_nbss, u_nbss },
    [RULE_SMB1] = { v_smb1, u_smb1 },
    [RULE_MIN_DIALECT] = { v_min_dialect, u_min_dialect },
    [RULE_SIGNING] = { v_signing, u_signing },
    [RULE_ENCRYPTION] = { v_encryption, u_encryption },
    [RULE_KERBEROS] = { v_kerberos, u_kerberos },
    [RULE_TRANSPORT] = { v_transport, NULL },
};

uint32_t policy_check_connection(const struct policy *p, const struct policy_conn_facts *f)
{
    uint32_t bits = 0;
    for (unsigned i = 0; i < RULE_COUNT; i++)
        if (conn_rules[i].violated && conn_rules[i].violated(p, f))
            bits |= 1u << i;
    return bits;
}

uint32_t policy_undecided_connection(const struct policy *p, const struct policy_conn_facts *f)
{
    uint32_t broken = policy_check_connection(p, f), bits = 0;
    for (unsigned i = 0; i < RULE_COUNT; i++)
        if (conn_rules[i].undecided && policy_rule_enabled(p, (enum policy_rule)i) && !(broken & (1u << i)) &&
            conn_rules[i].undecided(p, f))
            bits |= 1u << i;
    return bits;
}

enum policy_rule policy_check_netbios(const struct policy *p, bool attempt)
{
    if (p->allow_netbios)
        return RULE_COUNT;
    return attempt ? RULE_NETBIOS_ATTEMPT : RULE_NETBIOS;
}

enum policy_rule policy_check_netbios_flow(const struct policy *p, bool attempt, bool nbss_off_139)
{
    /* NBSS session setup on 445 or 8445 is not traffic on a NetBIOS port
     * (the netbios rule's own words); its connection breaks nbss-transport,
     * and one flow is one violation. */
    if (nbss_off_139)
        return RULE_COUNT;
    return policy_check_netbios(p, attempt);
}
