/* report_json_verdict.c - verdict (outcome, structured violations, what was
 * not captured), findings, evidence, hosts. */
#include "report_json.h"

#include <string.h>

#include "evidence.h"
#include "fmt.h"

#define JSON_HOSTS_LISTED 10000 /* hosts[] entries; the rest counted in hosts_summary.not_listed */
/* and at most this many bytes of them: a host's line grows with its names
 * and rules, and the report must stay readable (issue 13: 8 MiB at 170,000
 * connections); the ranking lists the hosts with most to fix first */
#define JSON_HOSTS_BYTES (5u << 19) /* 2.5 MiB */

static void rule_words(struct json *j, const struct rule_info *ri)
{
    json_kstr(j, "severity", severity_name(ri->severity));
    json_kstr(j, "title", ri->title);
}

/* verdict.violations[] and findings[]: at most these many bytes of lines
 * (report_json_items.c), the rest counted in violations_summary and
 * findings_summary: with hosts[] (2.5 MiB), connection_groups[] and the
 * merge state, the report stays under 8 MiB whatever the policy judges. */
#define JSON_VIOLATIONS_BYTES (1u << 20)
#define JSON_FINDINGS_BYTES (1u << 19)

static void rule_bits(struct json *j, const char *key, uint32_t bits)
{
    json_key(j, key);
    json_begin_array(j);
    for (int r = 0; r < RULE_COUNT; r++)
        if (bits & (1u << r))
            json_str(j, policy_rule_name((enum policy_rule)r));
    json_end_array(j);
}

void json_verdict(struct json *j, const struct analysis *a, const struct verdict *v)
{
    (void)a;
    json_key(j, "verdict");
    json_begin_object(j);
    json_kbool(j, "pass", v->pass);
    json_kstr(j, "outcome", outcome_name(v->outcome));
    json_kint(j, "exit_code", v->exit_code);
    rule_bits(j, "rules_judged", v->rules_enabled);
    rule_bits(j, "rules_undecided", v->rules_undecided & v->rules_enabled);
    json_items(j, "violations", "violations_summary", v->violations, true, JSON_VIOLATIONS_BYTES);
    json_key(j, "unknowns");
    json_begin_array(j);
    for (guint i = 0; i < v->unknowns->len; i++) {
        const struct unknown *u = &g_array_index(v->unknowns, struct unknown, i);
        json_begin_object(j);
        json_kstr(j, "reason", u->reason);
        rule_bits(j, "rules", u->rules);
        json_kuint(j, "count", u->count);
        json_key(j, "detail");
        json_str_bytes(j, (const uint8_t *)u->detail, strlen(u->detail));
        json_kstr(j, "how", u->how);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

void json_findings(struct json *j, const struct verdict *v)
{
    json_items(j, "findings", "findings_summary", v->findings, false, JSON_FINDINGS_BYTES);
}

void json_evidence(struct json *j, const struct analysis *a)
{
    struct evidence e;
    evidence_collect(&e, a);
    json_key(j, "evidence");
    json_begin_object(j);
    json_kuint(j, "inputs", e.inputs);
    json_kuint(j, "inputs_unreadable", e.inputs_unreadable);
    json_kuint(j, "inputs_damaged", e.inputs_damaged);
    json_kuint(j, "packets", e.packets);
    jktime(j, "first_seen", e.packets ? e.first_ts : INT64_MAX);
    jktime(j, "last_seen", e.packets ? e.last_ts : INT64_MIN);
    json_kuint(j, "tcp_connections", e.tcp_connections);
    json_kuint(j, "udp_conversations", e.udp_conversations);
    json_kbool(j, "udp_conversations_estimated", e.udp_estimate);
    json_kuint(j, "smb_connections", e.smb_connections);
    json_kuint(j, "smb_connections_handshake", e.smb_handshake);
    json_kuint(j, "smb_connections_midstream", e.smb_midstream);
    json_kuint(j, "netbios_flows", e.netbios_flows);
    json_kuint(j, "netbios_flows_itemised", e.netbios_itemised);
    json_kuint(j, "netbios_non_ip_frames", e.netbios_non_ip_frames);
    json_key(j, "decode_losses");
    json_begin_object(j);
    json_kuint(j, "truncated", e.status[PKT_TRUNCATED]);
    json_kuint(j, "malformed", e.status[PKT_MALFORMED]);
    json_kuint(j, "fragments_dropped", e.status[PKT_FRAG_DROPPED]);
    json_kuint(j, "fragment_datagrams_lost", e.frag_datagrams_lost);
    json_kuint(j, "snaplen_cut", e.snaplen_cut);
    json_kuint(j, "snaplen_cut_smb_netbios", e.snaplen_cut_smb);
    json_kuint(j, "snaplen", e.snaplen);
    json_kuint(j, "stream_gaps", e.stream_gaps);
    json_kuint(j, "stream_gap_bytes", e.stream_gap_bytes);
    if (e.status[PKT_UNSUPPORTED_LINK]) /* only when seen: every other report is the same bytes */
        json_kuint(j, "unsupported_link", e.status[PKT_UNSUPPORTED_LINK]);
    if (e.status[PKT_ENCRYPTED_LINK])
        json_kuint(j, "encrypted_link", e.status[PKT_ENCRYPTED_LINK]);
    if (e.status[PKT_ENCRYPTED_ESP])
        json_kuint(j, "encrypted_esp", e.status[PKT_ENCRYPTED_ESP]);
    const struct esp_peers *ep = &a->esp_peers;
    if (ep->n) { /* who speaks it (esp_peers.h); only when seen, as encrypted_esp */
        json_key(j, "encrypted_esp_peers");
        json_begin_array(j);
        for (uint32_t i = 0; i < ep->n; i++) {
            json_begin_object(j);
            json_key(j, "peers");
            json_begin_array(j);
            jkaddr(j, NULL, &ep->pairs[i].a);
            jkaddr(j, NULL, &ep->pairs[i].b);
            json_end_array(j);
            json_kuint(j, "packets", ep->pairs[i].packets);
            jktime(j, "first_seen", ep->pairs[i].first_ts);
            json_end_object(j);
        }
        json_end_array(j);
        if (ep->other_packets)
            json_kuint(j, "encrypted_esp_other_peers_packets", ep->other_packets);
    }
    json_end_object(j);
    json_key(j, "caps_hit");
    json_begin_object(j);
    json_kuint(j, "connections_evicted", e.evictions);
    json_kuint(j, "reassembly_cap_hits", e.reassembly_cap_hits);
    json_kuint(j, "netbios_packets_not_itemised", e.netbios_not_itemised_packets);
    json_kuint(j, "race_pairs_not_tracked", e.race_pairs_dropped);
    json_kuint(j, "connections_folded", e.connections_folded);
    json_kuint(j, "smb_host_ends_not_itemised", e.smb_hosts_unrecorded);
    if (e.netbios_hosts_unrecorded) /* only when hit: every report before the cap is the same bytes */
        json_kuint(j, "netbios_hosts_not_recorded", e.netbios_hosts_unrecorded);
    if (e.quic_evictions) /* the same: only when hit */
        json_kuint(j, "quic_connections_evicted", e.quic_evictions);
    if (e.roce_untracked) /* the same: only when hit */
        json_kuint(j, "roce_packets_not_tracked", e.roce_untracked);
    if (e.roce_over_budget) /* the same: only when hit */
        json_kuint(j, "roce_messages_over_budget", e.roce_over_budget);
    if (e.iwarp_over_budget) /* the same: only when hit */
        json_kuint(j, "iwarp_messages_over_budget", e.iwarp_over_budget);
    json_end_object(j);
    json_key(j, "capture_drops");
    if (e.have_drop_stats) {
        json_begin_object(j);
        json_kuint(j, "received", e.if_received);
        json_kuint(j, "dropped", e.if_dropped);
        json_kuint(j, "if_dropped", e.if_ifdropped);
        json_end_object(j);
    } else {
        json_null(j);
    }
    json_key(j, "capture_filters");
    json_begin_array(j);
    for (guint i = 0; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        if (in->capture_filter)
            json_str_bytes(j, (const uint8_t *)in->capture_filter, strlen(in->capture_filter));
    }
    json_end_array(j);
    json_end_object(j);
}

/* fix[] objects repeat the rule's words and the whole remedy (about 450
 * bytes a host); at 10,000 hosts with one violation each that was half of
 * the report.  So fix[] keeps them for the first hosts only (the ranking puts
 * the most to fix first); every host has fix_rules[] and fix_role, whose
 * words and remedies are once in the top-level fix_catalog. */
#define JSON_HOSTS_FIX_DETAILED 250

/* The rules, then the findings, a host must fix: fn(ri, is_rule) each. */
static void host_fixes(const struct host_view *h, void (*fn)(struct json *, const struct rule_info *, bool,
                                                              const struct host_view *), struct json *j)
{
    for (unsigned k = 0; k < RULE_COUNT; k++)
        if (h->rules & (1u << k))
            fn(j, policy_rule_info((enum policy_rule)k), true, h);
    for (unsigned k = 0; k < FINDING_COUNT; k++)
        if (h->findings & (1u << k))
            fn(j, finding_info((enum finding_kind)k), false, h);
}

static void fix_object(struct json *j, const struct rule_info *ri, bool is_rule, const struct host_view *h)
{
    json_begin_object(j);
    json_kstr(j, "rule", ri->name);
    json_kbool(j, "violation", is_rule);
    rule_words(j, ri);
    json_remedy(j, "remedy", host_view_remedy(h, ri));
    json_end_object(j);
}

static void fix_name(struct json *j, const struct rule_info *ri, bool is_rule, const struct host_view *h)
{
    (void)is_rule, (void)h;
    json_str(j, ri->name);
}

static void host(struct json *j, const struct host_views *hv, const struct host_view *h, bool fix_detail)
{
    /* One line per host, also in a pretty report: a listing of 10,000
     * hosts indented member by member was a third of the report's bytes
     * (whitespace), and a line per host is what grep and diff want. */
    bool pretty = j->pretty;
    json_begin_object(j);
    j->pretty = false;
    jkaddr(j, "address", &h->addr);
    json_key(j, "roles");
    json_begin_array(j);
    for (unsigned i = 0; i < HOST_ROLE_COUNT; i++)
        if (h->roles & (1u << i))
            json_str(j, host_role_name(i));
    json_end_array(j);
    json_kbool(j, "spoke_netbios", (h->roles & (ROLE_NB_CLIENT | ROLE_NB_SERVER | ROLE_BROADCASTER)) != 0);
    json_kuint(j, "netbios_flows_opened", h->nb_flows);
    json_kuint(j, "netbios_flows_addressed", h->nb_flows_served);
    json_kuint(j, "netbios_packets_sent", h->nb_packets_sent);
    json_kuint(j, "smb_connections_as_client", h->smb_client_conns);
    json_kuint(j, "smb_connections_as_server", h->smb_server_conns);
    jktime(j, "first_seen", h->first_seen);
    jktime(j, "last_seen", h->last_seen);
    json_kuint(j, "violations", h->violations);
    json_kuint(j, "ntlm_sessions", h->ntlm_sessions);
    json_key(j, "netbios_only_names");
    json_begin_array(j);
    const GPtrArray *names = host_view_nbns_only_names(hv, h);
    for (guint i = 0; names && i < names->len; i++)
        json_str_bytes(j, (const uint8_t *)g_ptr_array_index(names, i), strlen(g_ptr_array_index(names, i)));
    json_end_array(j);
    json_key(j, "fix");
    if (fix_detail) {
        json_begin_array(j);
        host_fixes(h, fix_object, j);
        json_end_array(j);
    } else {
        json_null(j);
    }
    json_key(j, "fix_rules");
    json_begin_array(j);
    host_fixes(h, fix_name, j);
    json_end_array(j);
    json_kstr(j, "fix_role", host_view_remedy_for_server(h) ? "server" : "client");
    json_end_object(j);
    j->pretty = pretty;
}

/* fix_catalog: the words and remedies of every rule and finding a listed
 * host must fix, once (remedy_client/remedy_server: the remedy for a host
 * of fix_role client or server), and the remedies the lines of violations[]
 * and findings[] name by id (remedy_used: bits of enum remedy_id). */
static void fix_catalog(struct json *j, uint32_t rules, uint32_t findings, uint32_t remedy_used)
{
    static const struct host_view as_client = { .roles = ROLE_SMB_CLIENT }, as_server = { .roles = ROLE_SMB_SERVER };
    bool used[REMEDY_COUNT] = { false };
    for (unsigned r = REMEDY_NONE + 1; r < REMEDY_COUNT; r++)
        used[r] = (remedy_used >> r) & 1u;
    json_key(j, "fix_catalog");
    json_begin_object(j);
    json_key(j, "rules");
    json_begin_object(j);
    for (unsigned k = 0; k < RULE_COUNT + FINDING_COUNT; k++) {
        bool is_rule = k < RULE_COUNT;
        if (!((is_rule ? rules : findings) & (1u << (is_rule ? k : k - RULE_COUNT))))
            continue;
        const struct rule_info *ri = is_rule ? policy_rule_info((enum policy_rule)k)
                                             : finding_info((enum finding_kind)(k - RULE_COUNT));
        enum remedy_id rc = host_view_remedy(&as_client, ri), rs = host_view_remedy(&as_server, ri);
        used[rc] = used[rs] = true;
        json_key(j, ri->name);
        json_begin_object(j);
        json_kbool(j, "violation", is_rule);
        rule_words(j, ri);
        json_kstr(j, "remedy_client", rc == REMEDY_NONE ? NULL : remedy_info(rc)->id);
        json_kstr(j, "remedy_server", rs == REMEDY_NONE ? NULL : remedy_info(rs)->id);
        json_end_object(j);
    }
    json_end_object(j);
    json_key(j, "remedies");
    json_begin_object(j);
    for (unsigned r = REMEDY_NONE + 1; r < REMEDY_COUNT; r++)
        if (used[r])
            json_remedy(j, remedy_info((enum remedy_id)r)->id, (enum remedy_id)r);
    json_end_object(j);
    json_end_object(j);
}

void json_hosts(struct json *j, const struct host_views *hv, const struct verdict *v)
{
    json_key(j, "hosts");
    json_begin_array(j);
    uint32_t max = hv->n < JSON_HOSTS_LISTED ? hv->n : JSON_HOSTS_LISTED, n = 0;
    uint32_t rules = 0, findings = 0, detailed = 0;
    for (uint64_t start = json_bytes(j); n < max && json_bytes(j) - start < JSON_HOSTS_BYTES; n++) {
        uint32_t i = n;
        bool detail = i < JSON_HOSTS_FIX_DETAILED;
        host(j, hv, &hv->v[i], detail);
        detailed += detail;
        rules |= hv->v[i].rules;
        findings |= hv->v[i].findings;
    }
    json_end_array(j);
    json_key(j, "hosts_summary");
    json_begin_object(j);
    json_kuint(j, "total", hv->total);
    json_kbool(j, "total_estimated", hv->total_estimate);
    json_kuint(j, "spoke_netbios", hv->spoke_netbios);
    json_kuint(j, "listed", n);
    json_kuint(j, "not_listed", hv->total > n ? hv->total - n : 0);
    json_kbool(j, "listing_capped", n < hv->ranked);
    json_kuint(j, "fix_detailed", detailed);
    json_kuint(j, "to_fix", hv->to_fix);
    json_key(j, "fix_hosts"); /* exact, listed or not */
    json_begin_object(j);
    for (unsigned k = 0; k < RULE_COUNT; k++)
        if (hv->rule_hosts[k])
            json_kuint(j, policy_rule_name((enum policy_rule)k), hv->rule_hosts[k]);
    for (unsigned k = 0; k < FINDING_COUNT; k++)
        if (hv->finding_hosts[k])
            json_kuint(j, finding_info((enum finding_kind)k)->name, hv->finding_hosts[k]);
    json_end_object(j);
    /* present only when some are estimates (a merge whose states left
     * NetBIOS rows out): the rules and findings whose host counts are */
    if (hv->to_fix_estimate)
        json_kbool(j, "to_fix_estimated", true);
    if (hv->rules_estimated || hv->findings_estimated) {
        json_key(j, "fix_hosts_estimated");
        json_begin_array(j);
        for (unsigned k = 0; k < RULE_COUNT; k++)
            if (hv->rules_estimated >> k & 1u)
                json_str(j, policy_rule_name((enum policy_rule)k));
        for (unsigned k = 0; k < FINDING_COUNT; k++)
            if (hv->findings_estimated >> k & 1u)
                json_str(j, finding_info((enum finding_kind)k)->name);
        json_end_array(j);
    }
    json_end_object(j);
    fix_catalog(j, rules, findings, json_items_remedies(v->violations) | json_items_remedies(v->findings));
}
