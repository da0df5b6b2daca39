/* report_text_verdict.c - the top of the text report: the verdict grouped
 * by rule (at most VERDICT_MAX_LINES lines whatever the capture), what could
 * not be decided and how to get it, the evidence block, and the hosts to fix
 * first with their remedies (one table: dissector/policy/remedy.c). */
#include "report_text.h"

#include <string.h>

#include "dialect.h"
#include "evidence.h"
#include "fmt.h"

#define VERDICT_MAX_LINES 40
#define HOSTS_SHOWN 10

static void policy_line(FILE *out, const struct policy *p)
{
    char d[12];
    fprintf(out, "policy: %s, %s", p->allow_netbios ? "NetBIOS allowed" : "no NetBIOS",
            p->allow_smb1 ? "SMB1 allowed" : "no SMB1");
    if (p->min_dialect)
        fprintf(out, ", dialect >= %s", smb2_dialect_name(p->min_dialect, d, sizeof d));
    if (p->require_signing)
        fputs(", signing required", out);
    if (p->require_encryption)
        fputs(", encryption required", out);
    if (p->require_kerberos)
        fputs(", Kerberos required", out);
    if (p->n_transports) {
        char tb[256];
        fprintf(out, ", transports %s", policy_transports_text(p, tb, sizeof tb));
    }
    fputc('\n', out);
}

static void escaped_line(FILE *out, const char *prefix, const char *text)
{
    fputs(prefix, out);
    fmt_escaped(out, (const uint8_t *)text, strlen(text));
    fputc('\n', out);
}

/* Per rule: how many violations, flows, packets, hosts; first and last seen. */
struct rule_sum {
    uint32_t count;
    uint64_t flows, packets;
    int64_t first, last;
};

static void sum_rules(const GArray *arr, struct rule_sum *sums, unsigned n)
{
    memset(sums, 0, n * sizeof *sums);
    for (guint i = 0; i < arr->len; i++) {
        const struct violation *x = &g_array_index(arr, struct violation, i);
        if ((unsigned)x->kind >= n)
            continue;
        struct rule_sum *r = &sums[x->kind];
        if (!r->count || x->first_seen < r->first)
            r->first = x->first_seen;
        if (!r->count || x->last_seen > r->last)
            r->last = x->last_seen;
        r->count++;
        r->flows += x->flows;
        r->packets += x->packets;
    }
}

static const char *word(enum outcome o)
{
    static const char *const words[] = { "PASS", "FAIL", "ERROR", "INCONCLUSIVE" };
    return words[o];
}

void text_verdict(struct text *t, const struct analysis *a, const struct verdict *v, const struct host_views *hv)
{
    FILE *out = t->out;
    static const char *const colors[] = { "32", "31", "31", "33" };
    if (t->color)
        fprintf(out, "VERDICT: \033[1;%sm%s\033[0m", colors[v->outcome], word(v->outcome));
    else
        fprintf(out, "VERDICT: %s", word(v->outcome));
    fprintf(out, " (%u violation%s", v->violations->len, v->violations->len == 1 ? "" : "s");
    if (v->unknowns->len)
        fprintf(out, ", %u thing%s not captured", v->unknowns->len, v->unknowns->len == 1 ? "" : "s");
    fputs(")   ", out);
    policy_line(out, &a->cfg->policy);
    int lines = 1;

    struct rule_sum sums[RULE_COUNT];
    sum_rules(v->violations, sums, RULE_COUNT);
    unsigned nrules = 0;
    for (int r = 0; r < RULE_COUNT; r++)
        nrules += sums[r].count > 0;
    unsigned shown_unknowns = v->unknowns->len < 6 ? v->unknowns->len : 6;
    int budget = VERDICT_MAX_LINES - lines - (int)nrules - 2 * (int)shown_unknowns - 2 - 1;
    int examples = nrules ? budget / (int)nrules : 0;
    examples = examples > 3 ? 3 : examples < 0 ? 0 : examples;

    for (int r = 0; r < RULE_COUNT; r++) {
        if (!sums[r].count)
            continue;
        char t0[FMT_TIME_LEN], t1[FMT_TIME_LEN];
        fprintf(out, "  %s: %s%" G_GUINT64_FORMAT " host%s, %" G_GUINT64_FORMAT " flow%s, %" G_GUINT64_FORMAT
                     " packet%s; first %s, last %s\n",
                policy_rule_name((enum policy_rule)r), hv->rules_estimated >> r & 1u ? "about " : "",
                host_views_count_rule(hv, (enum policy_rule)r),
                host_views_count_rule(hv, (enum policy_rule)r) == 1 ? "" : "s", sums[r].flows,
                sums[r].flows == 1 ? "" : "s", sums[r].packets, sums[r].packets == 1 ? "" : "s",
                fmt_time(sums[r].first, t0), fmt_time(sums[r].last, t1));
        lines++;
        int shown = 0;
        for (guint i = 0; i < v->violations->len && shown < examples; i++) {
            const struct violation *x = &g_array_index(v->violations, struct violation, i);
            if (x->kind != r)
                continue;
            escaped_line(out, shown == 0 && sums[r].count > 1 ? "      e.g. " : "      ", x->detail);
            shown++;
            lines++;
        }
        if (sums[r].count > (uint32_t)shown && shown) {
            fprintf(out, "      ... and %u more (see NetBIOS, Connections, or --format json)\n",
                    sums[r].count - (uint32_t)shown);
            lines++;
        }
        if (lines >= VERDICT_MAX_LINES - 2 * (int)shown_unknowns - 2)
            examples = 0;
    }
    for (unsigned i = 0; i < shown_unknowns; i++) {
        const struct unknown *u = &g_array_index(v->unknowns, struct unknown, i);
        fprintf(out, "  NOT CAPTURED (%s): ", u->reason);
        fmt_escaped(out, (const uint8_t *)u->detail, strlen(u->detail));
        fprintf(out, "\n      how: %s\n", u->how);
    }
    if (v->unknowns->len > shown_unknowns)
        fprintf(out, "  ... and %u more things not captured (see --format json: verdict.unknowns)\n",
                v->unknowns->len - shown_unknowns);
    if (v->findings->len) {
        struct rule_sum fs[FINDING_COUNT];
        sum_rules(v->findings, fs, FINDING_COUNT);
        fputs("  findings:", out);
        const char *sep = " ";
        for (int k = 0; k < FINDING_COUNT; k++)
            if (fs[k].count) {
                uint64_t h = host_views_count_finding(hv, (enum finding_kind)k);
                fprintf(out, "%s%s %s%" G_GUINT64_FORMAT " host%s", sep, finding_info((enum finding_kind)k)->name,
                        hv->findings_estimated >> k & 1u ? "about " : "", h, h == 1 ? "" : "s");
                sep = ", ";
            }
        fputs(" (see Who to fix first)\n", out);
    }
}

static void duration(FILE *out, int64_t us)
{
    fprintf(out, "%.3f s", (double)us / 1e6);
}

/* The pairs speaking encrypted ESP (esp_peers.h): " (between A and B: N,
 * ...; N more packets between other pairs)". */
static void esp_peers_text(FILE *out, const struct esp_peers *ep)
{
    char x[FMT_ADDR_LEN], y[FMT_ADDR_LEN];
    for (uint32_t i = 0; i < ep->n; i++)
        fprintf(out, "%s%s and %s: %" G_GUINT64_FORMAT, i ? ", " : " (between ", fmt_addr(&ep->pairs[i].a, x),
                fmt_addr(&ep->pairs[i].b, y), ep->pairs[i].packets);
    if (ep->other_packets)
        fprintf(out, "%s%" G_GUINT64_FORMAT " between other pairs", ep->n ? "; " : " (", ep->other_packets);
    if (ep->n || ep->other_packets)
        fputc(')', out);
}

void text_evidence(struct text *t, const struct analysis *a)
{
    FILE *out = t->out;
    struct evidence e;
    evidence_collect(&e, a);
    text_heading(t, "Evidence");
    fprintf(out, "  inputs           %u read, %u unreadable, %u damaged\n", e.inputs - e.inputs_unreadable,
            e.inputs_unreadable, e.inputs_damaged);
    fprintf(out, "  packets          %" G_GUINT64_FORMAT, e.packets);
    if (e.packets && e.first_ts != INT64_MAX) {
        char t0[FMT_TIME_LEN], t1[FMT_TIME_LEN];
        fprintf(out, ", %s to %s (", fmt_time(e.first_ts, t0), fmt_time(e.last_ts, t1));
        duration(out, e.last_ts - e.first_ts);
        fputc(')', out);
    }
    fputc('\n', out);
    fprintf(out, "  conversations    %" G_GUINT64_FORMAT " TCP connection%s, %s%" G_GUINT64_FORMAT " UDP conversation%s\n",
            e.tcp_connections, e.tcp_connections == 1 ? "" : "s", e.udp_estimate ? "about " : "", e.udp_conversations,
            e.udp_conversations == 1 ? "" : "s");
    fprintf(out, "  SMB connections  %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " seen from their start, %" G_GUINT64_FORMAT
                 " mid-stream)\n", e.smb_connections, e.smb_handshake, e.smb_midstream);
    fprintf(out, "  NetBIOS flows    %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " itemised)", e.netbios_flows,
            e.netbios_itemised);
    if (e.netbios_non_ip_frames)
        fprintf(out, ", %" G_GUINT64_FORMAT " frames without IP", e.netbios_non_ip_frames);
    fputc('\n', out);
    if (!e.smb_connections && !e.netbios_flows && !e.netbios_non_ip_frames && e.packets)
        fputs("                   no SMB and no NetBIOS in this capture\n", out);
    fputs("  decode losses    ", out);
    if (!evidence_decode_losses(&e) && !e.snaplen_cut && !e.stream_gaps)
        fputs("none", out);
    else
        fprintf(out, "%" G_GUINT64_FORMAT " cut inside a header, %" G_GUINT64_FORMAT " malformed, %" G_GUINT64_FORMAT
                     " fragments dropped, %" G_GUINT64_FORMAT " fragmented datagrams lost; %" G_GUINT64_FORMAT
                     " packets cut by the snaplen (%" G_GUINT64_FORMAT " on SMB/NetBIOS ports, to %u bytes); %"
                     G_GUINT64_FORMAT " stream gaps (%" G_GUINT64_FORMAT " bytes)",
                e.status[PKT_TRUNCATED], e.status[PKT_MALFORMED], e.status[PKT_FRAG_DROPPED], e.frag_datagrams_lost,
                e.snaplen_cut, e.snaplen_cut_smb, e.snaplen, e.stream_gaps, e.stream_gap_bytes);
    if (e.status[PKT_UNSUPPORTED_LINK])
        fprintf(out, "; %" G_GUINT64_FORMAT " packets on a link type smbscope does not decode",
                e.status[PKT_UNSUPPORTED_LINK]);
    if (e.status[PKT_ENCRYPTED_LINK])
        fprintf(out, "; %" G_GUINT64_FORMAT " protected 802.11 data frames (no keys)", e.status[PKT_ENCRYPTED_LINK]);
    if (e.status[PKT_ENCRYPTED_ESP]) {
        fprintf(out, "; %" G_GUINT64_FORMAT " encrypted IPsec ESP packets", e.status[PKT_ENCRYPTED_ESP]);
        esp_peers_text(out, &a->esp_peers);
    }
    fputc('\n', out);
    fputs("  caps hit         ", out);
    if (!e.evictions && !e.reassembly_cap_hits && !e.netbios_not_itemised_packets && !e.race_pairs_dropped &&
        !e.quic_evictions && !e.roce_untracked && !e.roce_over_budget && !e.iwarp_over_budget)
        fputs("none", out);
    else
        fprintf(out, "%" G_GUINT64_FORMAT " connections evicted (--max-connections), %" G_GUINT64_FORMAT
                     " reassembly cap hits, %" G_GUINT64_FORMAT " NetBIOS packets beyond %u itemised flows "
                     "(--max-netbios-flows)", e.evictions, e.reassembly_cap_hits, e.netbios_not_itemised_packets,
                e.netbios_flow_cap);
    if (e.quic_evictions) /* only when hit, as in the JSON */
        fprintf(out, ", %" G_GUINT64_FORMAT " QUIC connections evicted (the QUIC table's connections at once or "
                     "bytes of state; %" G_GUINT64_FORMAT " could still have shown SMB evidence)", e.quic_evictions,
                e.quic_evictions_lost);
    if (e.roce_untracked) /* only when hit, as in the JSON */
        fprintf(out, ", %" G_GUINT64_FORMAT " RoCEv2 packets not tracked (the RoCE table full of SMB or undecided "
                     "queue-pair pairs)", e.roce_untracked);
    if (e.roce_over_budget)
        fprintf(out, ", %" G_GUINT64_FORMAT " RoCEv2 messages dropped (reassembly buffers at their 16 MiB)",
                e.roce_over_budget);
    if (e.iwarp_over_budget)
        fprintf(out, ", %" G_GUINT64_FORMAT " iWARP messages dropped (reassembly buffers at their 16 MiB)",
                e.iwarp_over_budget);
    fputc('\n', out);
    if (e.connections_folded || e.smb_hosts_unrecorded)
        fprintf(out, "  folded           %" G_GUINT64_FORMAT " SMB connections counted in groups without their client "
                     "address (past %u groups: --max-connection-groups); %" G_GUINT64_FORMAT " connection ends of "
                     "hosts past the SMB host table (counted, the host total estimated)\n",
                e.connections_folded, e.connection_group_cap, e.smb_hosts_unrecorded);
    if (e.netbios_hosts_unrecorded)
        fprintf(out, "  NetBIOS hosts    %" G_GUINT64_FORMAT " counted past %u host records (in every host count, "
                     "exactly; not ranked or listed)\n", e.netbios_hosts_unrecorded, e.netbios_host_records);
    uint64_t jumps = flow_table_stats(a->flows).time_jumps;
    if (jumps)
        fprintf(out, "  time jumps       %" G_GUINT64_FORMAT " (capture time went back > 1 s or forward > 1 day)\n", jumps);
    if (e.have_drop_stats)
        fprintf(out, "  capture drops    %" G_GUINT64_FORMAT " by libpcap, %" G_GUINT64_FORMAT " by the interface, of %"
                     G_GUINT64_FORMAT " received\n", e.if_dropped, e.if_ifdropped, e.if_received);
    for (guint i = 0; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        if (in->capture_filter) {
            fputs("  capture filter   \"", out);
            fmt_escaped(out, (const uint8_t *)in->capture_filter, strlen(in->capture_filter));
            fputs("\"\n", out);
        }
    }
}

static void roles_text(FILE *out, uint32_t roles)
{
    const char *sep = "";
    for (unsigned i = 0; i < HOST_ROLE_COUNT; i++)
        if (roles & (1u << i)) {
            fprintf(out, "%s%s", sep, host_role_name(i));
            sep = ",";
        }
}

void text_hosts(struct text *t, const struct host_views *hv)
{
    FILE *out = t->out;
    text_heading(t, "Who to fix first");
    fprintf(out, "  hosts that spoke or tried NetBIOS or SMB: %s%" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
                 " spoke NetBIOS)\n", hv->total_estimate ? "about " : "", hv->total, hv->spoke_netbios);
    uint32_t remedies = 0, shown = 0;
    for (uint32_t i = 0; i < hv->n && shown < HOSTS_SHOWN; i++) {
        const struct host_view *h = &hv->v[i];
        if (!h->rules && !h->findings)
            break; /* ranked: the rest have nothing to fix */
        char addr[FMT_ADDR_LEN];
        fprintf(out, "  %2u. %-15s ", ++shown, fmt_addr(&h->addr, addr));
        roles_text(out, h->roles);
        fprintf(out, "; NetBIOS: %u flow%s opened, %u addressed to it; SMB: %u as client, %u as server\n", h->nb_flows,
                h->nb_flows == 1 ? "" : "s", h->nb_flows_served, h->smb_client_conns, h->smb_server_conns);
        fputs("      fix:", out);
        const char *sep = " ";
        for (int pass = 0; pass < 2; pass++) {
            unsigned n = pass ? FINDING_COUNT : RULE_COUNT;
            for (unsigned k = 0; k < n; k++) {
                if (!((pass ? h->findings : h->rules) & (1u << k)))
                    continue;
                const struct rule_info *ri = pass ? finding_info((enum finding_kind)k) : policy_rule_info((enum policy_rule)k);
                enum remedy_id rid = host_view_remedy(h, ri);
                fprintf(out, "%s%s -> %s", sep, ri->name, remedy_info(rid)->id);
                remedies |= 1u << rid;
                sep = "; ";
            }
        }
        fputc('\n', out);
        if (h->ntlm_sessions)
            fprintf(out, "      NTLM: %u SMB session%s authenticated with NTLM\n", h->ntlm_sessions,
                    h->ntlm_sessions == 1 ? "" : "s");
        const GPtrArray *names = host_view_nbns_only_names(hv, h);
        if (names) {
            fputs("      names only in NBNS (lost when 137 closes):", out);
            for (guint k = 0; k < names->len && k < 8; k++) {
                fputc(' ', out);
                fmt_escaped(out, (const uint8_t *)g_ptr_array_index(names, k), strlen(g_ptr_array_index(names, k)));
            }
            if (names->len > 8)
                fprintf(out, " (+%u)", names->len - 8);
            fputc('\n', out);
        }
    }
    if (!shown)
        fputs("  none: no host has anything to fix\n", out);
    uint64_t rest = hv->to_fix > shown ? hv->to_fix - shown : 0;
    if (rest)
        fprintf(out, "  ... and %" G_GUINT64_FORMAT " more hosts to fix (--format json: hosts[])\n", rest);
    for (unsigned r = 1; r < REMEDY_COUNT; r++) {
        if (!(remedies & (1u << r)))
            continue;
        const struct remedy_info *ri = remedy_info((enum remedy_id)r);
        fprintf(out, "  remedy %s: %s\n", ri->id, ri->summary);
        if (ri->windows)
            fprintf(out, "      Windows: %s\n", ri->windows);
        if (ri->samba)
            fprintf(out, "      Samba:   %s\n", ri->samba);
        if (ri->ontap)
            fprintf(out, "      ONTAP:   %s\n", ri->ontap);
    }
}
