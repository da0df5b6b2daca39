/* rule_info.c - the words for every rule and finding: one table the text
 * report, the JSON report and the Wireshark plugin share. */
#include "policy.h"

static const struct rule_info rules[RULE_COUNT] = {
    [RULE_NETBIOS] = { "netbios", SEVERITY_ERROR, "NetBIOS traffic (UDP 137/138, TCP/UDP 139)",
                       "Hosts still speak NetBIOS: closing ports 137-139 would break them.",
                       REMEDY_CLIENT_NETBT_OFF, REMEDY_SERVER_NETBT_OFF },
    [RULE_NETBIOS_ATTEMPT] = { "netbios-attempt", SEVERITY_ERROR, "NetBIOS attempt, refused or unanswered",
                               "A client still tries NetBIOS (NetBIOS over TCP/IP is enabled on it) although "
                               "nothing answers.",
                               REMEDY_CLIENT_NETBT_OFF, REMEDY_NONE },
    [RULE_NBSS_TRANSPORT] = { "nbss-transport", SEVERITY_ERROR, "NBSS session framing on a port other than 139",
                              "NetBIOS session service framing hides on a direct-hosting port.",
                              REMEDY_CLIENT_NETBT_OFF, REMEDY_NBSS_OFF_PORT },
    [RULE_SMB1] = { "smb1", SEVERITY_ERROR, "SMB1 negotiated",
                    "SMB1 is deprecated and unsafe (no pre-authentication integrity, no encryption).",
                    REMEDY_SMB1_OFF, REMEDY_SMB1_OFF },
    [RULE_MIN_DIALECT] = { "min-dialect", SEVERITY_ERROR, "dialect below the required minimum",
                           "The connection negotiated an SMB dialect below the policy's minimum.",
                           REMEDY_MIN_DIALECT, REMEDY_MIN_DIALECT },
    [RULE_SIGNING] = { "signing", SEVERITY_ERROR, "signing neither required nor seen",
                       "Unsigned SMB can be tampered with in transit.", REMEDY_SIGNING, REMEDY_SIGNING },
    [RULE_ENCRYPTION] = { "encryption", SEVERITY_ERROR, "SMB encryption not in use",
                          "Unencrypted SMB shows file contents on the wire.", REMEDY_ENCRYPTION, REMEDY_ENCRYPTION },
    [RULE_KERBEROS] = { "kerberos", SEVERITY_ERROR, "SMB session authenticated without Kerberos",
                        "NTLM (or guest/anonymous) logons; Windows 11 24H2 and Server 2025 can block NTLM for SMB.",
                        REMEDY_KERBEROS, REMEDY_KERBEROS },
    [RULE_TRANSPORT] = { "transport", SEVERITY_ERROR, "SMB on a transport or port --allow-transport does not list",
                         "SMB reached the server over a transport or port the migration does not expect (SMB over "
                         "QUIC, an alternative port).",
                         REMEDY_NONE, REMEDY_NONE },
};

static const struct rule_info findings[FINDING_COUNT] = {
    [FINDING_NETBT_RACE] = { "netbt-race", SEVERITY_WARNING, "client raced TCP 139 against 445 (NetBIOS over TCP/IP enabled)",
                             "Windows with NetBIOS over TCP/IP tries 139 and 445 at once and uses whichever answers "
                             "first (\"Direct hosting of SMB over TCP/IP\").",
                             REMEDY_CLIENT_NETBT_OFF, REMEDY_NONE },
    [FINDING_NBT_ONLY] = { "nbt-only", SEVERITY_WARNING, "client used TCP 139 and never 445 to this server",
                           "The client (or the server) only does SMB over NetBIOS: closing 139 cuts it off.",
                           REMEDY_CLIENT_NETBT_OFF, REMEDY_SERVER_NETBT_OFF },
    [FINDING_NETBIOS_ONLY_NAME] = { "netbios-only-name", SEVERITY_WARNING, "name resolved through NetBIOS only",
                                    "No DNS, LLMNR or mDNS query for this name was seen: closing UDP 137 loses it.",
                                    REMEDY_DNS_NAME, REMEDY_DNS_NAME },
    [FINDING_NTLM] = { "ntlm", SEVERITY_WARNING, "SMB session authenticated with NTLM",
                       "Windows 11 24H2 and Server 2025 can block NTLM for SMB.", REMEDY_KERBEROS, REMEDY_KERBEROS },
    [FINDING_NBT_ABOVE_302] = { "nbt-above-3.0.2", SEVERITY_INFO, "NBT above 3.0.2: MS-SMB2 2.1 stops at 3.0.2",
                                "MS-SMB2 2.1 allows the NetBIOS transport only for dialects 2.0.2 to 3.0.2.",
                                REMEDY_CLIENT_NETBT_OFF, REMEDY_SERVER_NETBT_OFF },
    [FINDING_ALT_PORT] = { "alt-port", SEVERITY_INFO, "SMB on an alternative port",
                           "Firewall rules for 445 do not cover it.", REMEDY_NONE, REMEDY_NONE },
    [FINDING_KEEPALIVE_ON_DIRECT] = { "keepalive-on-direct", SEVERITY_INFO,
                                      "NBSS keep-alives (0x85) on a direct-hosted connection",
                                      "Samba's smbd sends them on idle SMB1 sessions even on 445; not NetBIOS "
                                      "transport by themselves.",
                                      REMEDY_NONE, REMEDY_NONE },
};

static const struct rule_info unknown_rule = { "unknown", SEVERITY_INFO, "unknown", "", REMEDY_NONE, REMEDY_NONE };

const struct rule_info *policy_rule_info(enum policy_rule rule)
{
    return (unsigned)rule < RULE_COUNT ? &rules[rule] : &unknown_rule;
}

const struct rule_info *finding_info(enum finding_kind kind)
{
    return (unsigned)kind < FINDING_COUNT ? &findings[kind] : &unknown_rule;
}

const char *policy_rule_name(enum policy_rule rule) { return policy_rule_info(rule)->name; }
const char *policy_rule_description(enum policy_rule rule) { return policy_rule_info(rule)->title; }

const char *severity_name(enum severity s)
{
    static const char *const names[] = { "info", "warning", "error" };
    return (unsigned)s < 3 ? names[s] : "unknown";
}
