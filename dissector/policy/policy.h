/* policy.h - the migration policy and its rules, shared by the command's
 * verdict and the Wireshark plugin's smbscope.violation field.
 *
 * One table describes every rule (a policy violation) and every finding (a
 * fact worth fixing that the policy does not judge): its id, short name,
 * severity, words for people and the remedy per role.  The text report, the
 * JSON report and the plugin all read it (rule_info.c, remedy.c). */
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
    bool require_kerberos; /* every authenticated SMB session uses Kerberos */
    uint32_t race_window_ms; /* a 139 SYN this close to a 445 SYN is a NetBT race (default 1000) */
    /* --allow-transport: SMB may use only these; none listed = every
     * direct-hosted transport on any port (NetBIOS has its own rules). */
    uint8_t n_transports;
    struct policy_transport transports[POLICY_MAX_TRANSPORTS];
};

#define POLICY_DEFAULT_RACE_WINDOW_MS 1000u

/* Parse "direct:445,quic:443", "quic:*" or "quic" (any port), "*" (any
 * transport, any port) into p->transports.  False (errbuf says why) on an
 * unknown class, a bad port or too many entries. */
bool policy_parse_transports(struct policy *p, const char *list, char *errbuf, size_t errlen);
/* The list back as text ("direct:445,quic:*"), for reports; returns buf. */
const char *policy_transports_text(const struct policy *p, char *buf, size_t buflen);

/* The default policy: no NetBIOS traffic or attempts, no SMB1. */
struct policy policy_default(void);

/* Values are stable (bit positions in policy_check_connection()). */
enum policy_rule {
    RULE_NETBIOS = 0,      /* NetBIOS traffic (NBNS, NBDS, NBSS, port 139) */
    RULE_NETBIOS_ATTEMPT,  /* a NetBIOS attempt refused or unanswered */
    RULE_NBSS_TRANSPORT,   /* NBSS session framing on a port other than 139 */
    RULE_SMB1,             /* SMB1 negotiated */
    RULE_MIN_DIALECT,      /* dialect below --min-dialect */
    RULE_SIGNING,          /* --require-signing: neither required nor seen */
    RULE_ENCRYPTION,       /* --require-encryption: no encryption */
    RULE_KERBEROS,         /* --require-kerberos: a session authenticated otherwise */
    RULE_TRANSPORT,        /* --allow-transport: a transport or port not in the list */
    RULE_COUNT
};

/* Findings: not judged by the policy, but named per host with a remedy. */
enum finding_kind {
    FINDING_NETBT_RACE = 0,   /* client opened 139 alongside 445: NetBIOS over TCP/IP enabled */
    FINDING_NBT_ONLY,         /* client used 139 and never 445 to that server */
    FINDING_NETBIOS_ONLY_NAME,/* a name resolved through NBNS only: closing 137 breaks it */
    FINDING_NTLM,             /* an SMB session authenticated with NTLM */
    FINDING_NBT_ABOVE_302,    /* SMB 3.1.1 over NBT: MS-SMB2 2.1 stops at 3.0.2 */
    FINDING_ALT_PORT,         /* SMB on a port other than 139/445 */
    FINDING_KEEPALIVE_ON_DIRECT, /* NBSS keep-alives on a direct-hosted connection */
    FINDING_COUNT
};

enum severity { SEVERITY_INFO = 0, SEVERITY_WARNING, SEVERITY_ERROR };
const char *severity_name(enum severity s); /* "info", "warning", "error" */

/* What to change, per product.  Rows of one table (remedy.c). */
enum remedy_id {
    REMEDY_NONE = 0,
    REMEDY_CLIENT_NETBT_OFF,   /* a client with NetBIOS over TCP/IP on */
    REMEDY_SERVER_NETBT_OFF,   /* a server listening on 137/138/139 */
    REMEDY_NBSS_OFF_PORT,      /* NBSS session framing on 445 / another port */
    REMEDY_SMB1_OFF,
    REMEDY_MIN_DIALECT,
    REMEDY_SIGNING,
    REMEDY_ENCRYPTION,
    REMEDY_KERBEROS,
    REMEDY_DNS_NAME,           /* publish the name in DNS before closing 137 */
    REMEDY_COUNT
};

struct remedy_info {
    const char *id;       /* stable short id, e.g. "client-netbt-off" */
    const char *summary;  /* one line */
    const char *windows;  /* NULL when not applicable */
    const char *samba;
    const char *ontap;    /* NetApp ONTAP / Amazon FSx for ONTAP */
};
const struct remedy_info *remedy_info(enum remedy_id r);

/* The words for one rule or finding. */
struct rule_info {
    const char *name;        /* stable short name: "netbios", "netbt-race", ... */
    enum severity severity;
    const char *title;       /* a sentence fragment for a line */
    const char *explanation; /* why it matters, one or two sentences */
    enum remedy_id remedy_client, remedy_server; /* by the role of the host that must change */
};
const struct rule_info *policy_rule_info(enum policy_rule rule);
const struct rule_info *finding_info(enum finding_kind kind);

/* "netbios", "netbios-attempt", "nbss-transport", "smb1", "min-dialect",
 * "signing", "encryption", "kerberos", "transport". */
const char *policy_rule_name(enum policy_rule rule);
/* A sentence for people. */
const char *policy_rule_description(enum policy_rule rule);
/* True when the policy judges the rule at all (e.g. RULE_SIGNING only with
 * require_signing). */
bool policy_rule_enabled(const struct policy *p, enum policy_rule rule);

/* What the policy needs to know of one SMB connection.  Zero means "not
 * seen" for every member, so a zeroed struct is a connection about which
 * nothing is known. */
struct policy_conn_facts {
    enum transport_class transport;
    uint16_t server_port;     /* for --allow-transport; 0 unknown */
    int smb_version;          /* 0 unknown, 1, 2 or 3 */
    uint16_t dialect;         /* chosen SMB2/3 dialect, 0 when none or SMB1 */
    bool signing_required;    /* either side's security mode said "required" */
    bool signed_seen;         /* a signed PDU was seen */
    bool encrypted;           /* transform headers seen, or encryption negotiated for a session/share */
    /* For deciding whether the rules can be decided at all: */
    bool negotiate_seen;      /* the server's NEGOTIATE response was decoded */
    bool smb_seen;            /* any SMB header (1, 2, transform, compressed) decoded */
    bool messages_seen;       /* framed messages began with an SMB protocol id */
    bool content_lost;        /* stream gaps: bytes never captured (snaplen, loss, caps) */
    bool start_seen;          /* the TCP handshake was captured */
    uint32_t sessions_kerberos, sessions_ntlm, sessions_other; /* authenticated sessions by mechanism */
    bool auth_unseen;         /* SMB traffic after a logon that was not captured */
};

/* --allow-transport: whether the connection's class and server port are
 * listed (policy_transport.c). */
bool policy_transport_listed(const struct policy *p, const struct policy_conn_facts *f);

/* SMB carried inside encryption the capture did not open (SMB over QUIC
 * without its TLS keys): its dialect, signing, encryption and logon rules
 * are undecided (its ALPN rules out NBSS and SMB1). */
bool policy_content_hidden(const struct policy_conn_facts *f);

/* Bit (1u << rule) for every rule the connection breaks. */
uint32_t policy_check_connection(const struct policy *p, const struct policy_conn_facts *f);
/* Bit (1u << rule) for every enabled rule the facts cannot decide (the
 * answer was not captured), excluding the rules it breaks. */
uint32_t policy_undecided_connection(const struct policy *p, const struct policy_conn_facts *f);

/* A NetBIOS flow: `attempt` is true when it was refused or unanswered.
 * Returns RULE_COUNT when allowed, otherwise the rule it breaks. */
enum policy_rule policy_check_netbios(const struct policy *p, bool attempt);
/* The same for one itemised NetBIOS flow (the command's ledger row, the
 * plugin's flow): a flow that is NBSS session framing on a port other than
 * 139 (nbss_off_139) is judged by its connection's nbss-transport rule
 * instead, never twice. */
enum policy_rule policy_check_netbios_flow(const struct policy *p, bool attempt, bool nbss_off_139);

/* Bits of the rules about SMB content (everything but the NetBIOS port rules). */
#define POLICY_SMB_RULES                                                                                               \
    ((1u << RULE_NBSS_TRANSPORT) | (1u << RULE_SMB1) | (1u << RULE_MIN_DIALECT) | (1u << RULE_SIGNING) |              \
     (1u << RULE_ENCRYPTION) | (1u << RULE_KERBEROS))
#define POLICY_NETBIOS_RULES ((1u << RULE_NETBIOS) | (1u << RULE_NETBIOS_ATTEMPT))
#define POLICY_ALL_RULES ((1u << RULE_COUNT) - 1u)

#endif
