/* policy.c - the verdict rules.  Each connection rule is one table row so the
 * command and the plugin apply exactly the same policy. */
#include "policy.h"

#include "dialect.h"

struct policy policy_default(void)
{
    struct policy p = { false, false, false, false, 0 };
    return p;
}

static bool v_nbss(const struct policy *p, const struct policy_conn_facts *f)
{
    /* NBSS on 139 is reported through the NetBIOS ledger (port rule); this
     * rule catches NBSS framing that hides on another port. */
    return !p->allow_netbios && f->transport == TRANSPORT_NBT_NONSTANDARD_PORT;
}

static bool v_smb1(const struct policy *p, const struct policy_conn_facts *f)
{
    return !p->allow_smb1 && f->smb_version == 1;
}

static bool v_min_dialect(const struct policy *p, const struct policy_conn_facts *f)
{
    if (!p->min_dialect)
        return false;
    if (f->smb_version == 1)
        return true;
    if (!f->dialect || f->dialect == SMB2_DIALECT_WILDCARD)
        return false; /* not known: nothing to hold against it */
    return smb2_dialect_rank(f->dialect) < smb2_dialect_rank(p->min_dialect);
}

static bool v_signing(const struct policy *p, const struct policy_conn_facts *f)
{
    /* Encryption (AEAD) protects integrity too, as MS-SMB2 3.2.4.1.1 says. */
    return p->require_signing && f->smb_version && !f->signing_required && !f->signed_seen && !f->encrypted;
}

static bool v_encryption(const struct policy *p, const struct policy_conn_facts *f)
{
    return p->require_encryption && f->smb_version && !f->encrypted;
}

static const struct {
    enum policy_rule rule;
    const char *name;
    const char *description;
    bool (*violated)(const struct policy *, const struct policy_conn_facts *);
} rules[RULE_COUNT] = {
    { RULE_NETBIOS, "netbios", "NetBIOS traffic (UDP 137/138, TCP/UDP 139)", NULL },
    { RULE_NETBIOS_ATTEMPT, "netbios-attempt", "NetBIOS attempt, refused or unanswered", NULL },
    { RULE_NBSS_TRANSPORT, "nbss-transport", "NBSS session framing on a port other than 139", v_nbss },
    { RULE_SMB1, "smb1", "SMB1 negotiated", v_smb1 },
    { RULE_MIN_DIALECT, "min-dialect", "dialect below the required minimum", v_min_dialect },
    { RULE_SIGNING, "signing", "signing neither required nor seen", v_signing },
    { RULE_ENCRYPTION, "encryption", "SMB encryption not in use", v_encryption },
};

const char *policy_rule_name(enum policy_rule rule)
{
    return (unsigned)rule < RULE_COUNT ? rules[rule].name : "unknown";
}

const char *policy_rule_description(enum policy_rule rule)
{
    return (unsigned)rule < RULE_COUNT ? rules[rule].description : "unknown rule";
}

uint32_t policy_check_connection(const struct policy *p, const struct policy_conn_facts *f)
{
    uint32_t bits = 0;
    for (unsigned i = 0; i < RULE_COUNT; i++)
        if (rules[i].violated && rules[i].violated(p, f))
            bits |= 1u << i;
    return bits;
}

enum policy_rule policy_check_netbios(const struct policy *p, bool attempt)
{
    if (p->allow_netbios)
        return RULE_COUNT;
    return attempt ? RULE_NETBIOS_ATTEMPT : RULE_NETBIOS;
}
