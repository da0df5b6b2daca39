/* policy.h - the migration policy and its rules, shared by the command's
 * verdict and the Wireshark plugin's smbscope.violation field. */
#ifndef SMBSCOPE_POLICY_H
#define SMBSCOPE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "classify.h"

/* One --allow-transport entry: a transport class on one port or any port. */
struct policy_transport {
    enum transport_class cls;
    uint16_t port;      /* 0 = any port */
};

#define POLICY_MAX_TRANSPORTS 16

struct policy {
    bool allow_netbios;
    bool allow_smb1;
    bool require_signing;
    bool require_encryption;
    uint16_t min_dialect; /* SMB2 dialect code; 0 = no minimum */
    /* --allow-transport: SMB may use only these; none listed = every
     * direct-hosted transport on any port (NetBIOS has its own rules). */
    uint8_t n_transports;
    struct policy_transport transports[POLICY_MAX_TRANSPORTS];
};

/* Parse "direct:445,quic:443", "quic:*" or "quic" (any port), "*" (any
 * transport, any port) into p->transports.  False (errbuf says why) on an
 * unknown class, a bad port or too many entries. */
bool policy_parse_transports(struct policy *p, const char *list, char *errbuf, size_t errlen);
/* The list back as text ("direct:445,quic:*"), for reports; returns buf. */
const char *policy_transports_text(const struct policy *p, char *buf, size_t buflen);

/* The default policy: no NetBIOS traffic or attempts, no SMB1. */
struct policy policy_default(void);

enum policy_rule {
    RULE_NETBIOS = 0,      /* NetBIOS traffic (NBNS, NBDS, NBSS, port 139) */
    RULE_NETBIOS_ATTEMPT,  /* a NetBIOS attempt refused or unanswered */
    RULE_NBSS_TRANSPORT,   /* NBSS session framing on a port other than 139 */
    RULE_SMB1,             /* SMB1 negotiated */
    RULE_MIN_DIALECT,      /* dialect below --min-dialect */
    RULE_SIGNING,          /* --require-signing: neither required nor seen */
    RULE_ENCRYPTION,       /* --require-encryption: no encryption */
    RULE_TRANSPORT,        /* --allow-transport: a transport or port not in the list */
    RULE_COUNT
};

/* "netbios", "netbios-attempt", "nbss-transport", "smb1", "min-dialect",
 * "signing", "encryption", "transport". */
const char *policy_rule_name(enum policy_rule rule);
/* A sentence for people. */
const char *policy_rule_description(enum policy_rule rule);

/* What the policy needs to know of one SMB connection. */
struct policy_conn_facts {
    enum transport_class transport;
    uint16_t server_port;     /* for --allow-transport; 0 unknown */
    int smb_version;          /* 0 unknown, 1, 2 or 3 */
    uint16_t dialect;         /* chosen SMB2/3 dialect, 0 when none or SMB1 */
    bool signing_required;    /* either side's security mode said "required" */
    bool signed_seen;         /* a signed PDU was seen */
    bool encrypted;           /* transform headers seen, or encryption negotiated for a session/share */
};

/* Bit (1u << rule) for every rule the connection breaks. */
uint32_t policy_check_connection(const struct policy *p, const struct policy_conn_facts *f);

/* A NetBIOS flow: `attempt` is true when it was refused or unanswered.
 * Returns RULE_COUNT when allowed, otherwise the rule it breaks. */
enum policy_rule policy_check_netbios(const struct policy *p, bool attempt);

#endif
