/* hostview.h - hosts ranked for "who to fix first": every address that spoke
 * or tried NetBIOS or SMB, its roles, what it did, the rules and findings it
 * must fix (the remedy comes from the one table, policy.h).  Targets of
 * refused or ignored attempts are listed as targets, not speakers;
 * broadcast and multicast addresses are not hosts. */
#ifndef SMBSCOPE_HOSTVIEW_H
#define SMBSCOPE_HOSTVIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "verdict.h"

enum host_role {
    ROLE_NB_CLIENT = 1u << 0,
    ROLE_NB_SERVER = 1u << 1,
    ROLE_NB_TARGET = 1u << 2,     /* sent NetBIOS, never answered it (refused or ignored) */
    ROLE_BROADCASTER = 1u << 3,
    ROLE_SMB_CLIENT = 1u << 4,
    ROLE_SMB_SERVER = 1u << 5,
};
#define HOST_ROLE_COUNT 6
/* "netbios-client", "netbios-server", "target", "broadcaster", "smb-client", "smb-server" */
const char *host_role_name(unsigned bit_index);

struct host_view {
    struct ip_addr addr;
    uint32_t roles;
    uint32_t nb_flows, nb_flows_served;
    uint64_t nb_packets_sent;
    uint32_t smb_client_conns, smb_server_conns;
    uint32_t rules;        /* bits of enum policy_rule it must fix */
    uint32_t findings;     /* bits of enum finding_kind it must fix */
    uint32_t violations;   /* violations it is named in (incl. NetBIOS flows not itemised) */
    uint32_t finding_count;
    uint32_t ntlm_sessions;      /* SMB sessions authenticated with NTLM it took part in */
    uint32_t names_index;        /* 1 + index into host_views.names, 0 = none */
    int64_t first_seen, last_seen;
};

struct host_views {
    struct host_view *v;   /* ranked: most to fix first; the first 10,000 only */
    uint32_t n;
    uint32_t ranked;       /* hosts ranked (broadcast addresses left out): n unless capped */
    uint64_t to_fix;       /* hosts with a rule or finding to fix (all, listed or not) */
    uint64_t rule_hosts[RULE_COUNT], finding_hosts[FINDING_COUNT];
    uint64_t total;        /* distinct NetBIOS addresses (ledger, broadcasts included) + SMB-only hosts */
    bool total_estimate;   /* past the exact cap */
    uint64_t spoke_netbios;/* hosts that spoke (not only targets) */
    /* Counts that rest on NetBIOS rows a merge state (or --jobs' fold)
     * left out past its cap: estimates (bits of enum policy_rule and
     * finding_kind; to_fix), labelled so in the reports */
    uint32_t rules_estimated, findings_estimated;
    bool to_fix_estimate;
    GPtrArray *names;      /* GPtrArray* per host with names: the names it resolved
                              through NBNS only (borrowed from the verdict's findings) */
};

/* Names a host resolved through NBNS only (NULL when none). */
const GPtrArray *host_view_nbns_only_names(const struct host_views *hv, const struct host_view *h);

void host_views_build(struct host_views *hv, const struct analysis *a, const struct verdict *v);
void host_views_free(struct host_views *hv);
/* Hosts that must fix a rule / a finding. */
uint64_t host_views_count_rule(const struct host_views *hv, enum policy_rule r);
uint64_t host_views_count_finding(const struct host_views *hv, enum finding_kind k);
/* The role whose remedy applies to this host for a rule or finding. */
enum remedy_id host_view_remedy(const struct host_view *h, const struct rule_info *ri);
/* Whether that role is the server's (a host that only served); else the
 * client's. */
bool host_view_remedy_for_server(const struct host_view *h);

#endif
