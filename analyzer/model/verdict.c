/* verdict.c - violations, structured, in order of first appearance; then
 * what could not be decided (verdict_unknowns.c), findings
 * (verdict_findings.c), and the outcome. */
#include "verdict.h"

#include <stdio.h>
#include <string.h>

#include "dialect.h"
#include "fmt.h"

const char *outcome_name(enum outcome o)
{
    static const char *const names[] = { "pass", "fail", "error", "inconclusive" };
    return (unsigned)o < G_N_ELEMENTS(names) ? names[o] : "error";
}

int outcome_exit_code(enum outcome o)
{
    static const int codes[] = { 0, 1, 2, 3 };
    return (unsigned)o < G_N_ELEMENTS(codes) ? codes[o] : 2;
}

struct policy_conn_facts verdict_conn_facts(const struct smb_conn *s)
{
    /* the padding too is zero: conn_summary.c compares facts byte for byte
     * (an initializer leaves padding indeterminate: valgrind said so) */
    struct policy_conn_facts f;
    memset(&f, 0, sizeof f);
    f.transport = s->verdict.cls;
    f.server_port = smb_conn_server_port(s);
    f.smb_version = smb_conn_smb_version(s);
    f.dialect = s->smb2_response_seen ? s->dialect : 0;
    f.signing_required = smb_conn_signing_required(s);
    f.signed_seen = s->signed_pdus > 0;
    f.encrypted = smb_conn_encrypted(s);
    f.negotiate_seen = s->smb2_response_seen || s->smb1_response_seen;
    f.smb_seen = s->smb1_seen || s->smb2_seen;
    f.messages_seen = s->obs.smb_messages > 0;
    f.content_lost = s->gaps > 0;
    f.start_seen = s->handshake_seen && !s->midstream;
    bool known = false;
    for (guint i = 0; i < s->sessions->len; i++) {
        const struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, i);
        if (!r->established)
            continue; /* a failed logon authenticated nothing (MS-SMB2 3.3.5.5) */
        if (r->anonymous || r->guest)
            f.sessions_other++;
        else if (r->mech == AUTH_MECH_KERBEROS)
            f.sessions_kerberos++;
        else if (r->mech == AUTH_MECH_NTLM)
            f.sessions_ntlm++;
        else if (r->mech != AUTH_MECH_NONE)
            f.sessions_other++;
        known |= r->mech != AUTH_MECH_NONE || r->anonymous || r->guest;
    }
    f.auth_unseen = !known && (!f.start_seen || f.content_lost);
    return f;
}

struct violation *verdict_add(GArray *arr, bool is_rule, int kind, int64_t first_seen, char *detail)
{
    struct violation x;
    memset(&x, 0, sizeof x);
    x.is_rule = is_rule;
    x.kind = kind;
    x.rule = is_rule ? (enum policy_rule)kind : RULE_COUNT;
    x.first_seen = x.last_seen = first_seen;
    x.flows = 1;
    x.detail = detail;
    g_array_append_val(arr, x);
    return &g_array_index(arr, struct violation, arr->len - 1);
}

void verdict_add_unknown(struct verdict *v, const char *reason, uint32_t rules, uint64_t count, char *detail,
                         const char *how)
{
    struct unknown u = { reason, rules, count, detail, how };
    g_array_append_val(v->unknowns, u);
    v->rules_undecided |= rules;
}

static gint by_time(gconstpointer a, gconstpointer b)
{
    const struct violation *x = a, *y = b;
    return (x->first_seen > y->first_seen) - (x->first_seen < y->first_seen);
}

static void netbios_rows(struct verdict *v, const struct analysis *a, const struct policy *p)
{
    for (guint i = 0; i < nb_ledger_count(a->ledger); i++) {
        const struct nb_flow *f = nb_ledger_row(a->ledger, i);
        enum nb_state st = nb_flow_state(f);
        enum policy_rule r = policy_check_netbios_flow(p, nb_state_is_attempt(st), f->nbss_elsewhere);
        if (r == RULE_COUNT)
            continue;
        char c[FMT_ENDPOINT_LEN], sv[FMT_ENDPOINT_LEN];
        struct violation *x = verdict_add(
            v->violations, true, r, f->first_seen,
            g_strdup_printf("%s %s -> %s/%s %s, %" G_GUINT64_FORMAT " packet%s", nb_service_name(f->service),
                            fmt_endpoint(&f->client, f->client_port, c), fmt_endpoint(&f->server, f->server_port, sv),
                            f->proto == 6 ? "tcp" : "udp", nb_state_name(st), f->packets, f->packets == 1 ? "" : "s"));
        x->client = f->client;
        x->server = f->server;
        x->client_port = f->client_port;
        x->server_port = f->server_port;
        x->proto = f->proto;
        x->service = nb_service_name(f->service);
        x->state = nb_state_name(st);
        x->packets = f->packets;
        x->last_seen = f->last_seen;
        x->evidence = g_strdup(f->proto == 6 ? (f->synack || f->server_spoke ? "TCP handshake or server data"
                                                : f->rst_from_server ? "SYN answered by RST"
                                                : f->icmp_refused ? "ICMP unreachable" : "SYN with nothing back")
                                             : f->icmp_refused ? "ICMP unreachable"
                                             : f->queries && st == NB_STATE_NO_ANSWER ? "name queries with no answer"
                                                                                      : "datagrams to a NetBIOS port");
    }
}

static void netbios_aggregates(struct verdict *v, const struct analysis *a, const struct policy *p)
{
    if (policy_check_netbios(p, false) == RULE_COUNT)
        return;
    const struct nb_overflow *o = nb_ledger_overflow(a->ledger);
    if (o->packets) {
        uint64_t flows = nb_ledger_overflow_flows(a->ledger);
        struct violation *x = verdict_add(
            v->violations, true, RULE_NETBIOS, o->first_seen,
            g_strdup_printf("%" G_GUINT64_FORMAT " NetBIOS packets in %" G_GUINT64_FORMAT " flows beyond the ledger's "
                            "%u itemised flows (nbns %" G_GUINT64_FORMAT ", nbdgm %" G_GUINT64_FORMAT ", nbss %"
                            G_GUINT64_FORMAT ")", o->packets, flows, nb_ledger_max_rows(a->ledger),
                            o->by_service[NB_SERVICE_NBNS], o->by_service[NB_SERVICE_NBDGM],
                            o->by_service[NB_SERVICE_NBSS]));
        x->flows = flows;
        x->packets = o->packets;
        x->last_seen = o->last_seen;
        x->service = "netbios";
        x->state = "not-itemised";
        x->evidence = g_strdup("packets to or from UDP 137/138, TCP/UDP 139");
    }
    const struct nb_non_ip *n = nb_ledger_non_ip_counts(a->ledger);
    if (n->netbeui || n->nbipx) {
        struct violation *x = verdict_add(
            v->violations, true, RULE_NETBIOS, n->first_seen,
            g_strdup_printf("NetBIOS without IP: %" G_GUINT64_FORMAT " frames over NetBEUI (802.2 LLC SAP 0xF0), %"
                            G_GUINT64_FORMAT " over IPX (socket 0x0455)", n->netbeui, n->nbipx));
        x->packets = n->netbeui + n->nbipx;
        x->last_seen = n->last_seen;
        x->service = n->netbeui ? "netbeui" : "nbipx";
        x->evidence = g_strdup("LLC SAP 0xF0/0xF1 or IPX socket 0x0455 frames");
    }
}

/* "10.0.0.1:50000 -> 10.0.0.2:445" for a group of one connection, else
 * "10.0.0.1 -> 10.0.0.2:445, 12 connections" (clients folded past the
 * group cap: "clients not itemised"); into buf. */
const char *verdict_group_endpoints(const struct conn_group *g, char *buf, size_t len)
{
    char c[FMT_ENDPOINT_LEN], sv[FMT_ENDPOINT_LEN];
    const struct conn_group_example *e = &g->examples[0];
    if (g->count == 1) {
        snprintf(buf, len, "%s -> %s", fmt_endpoint(&e->client, e->client_port, c),
                 fmt_endpoint(&e->server, e->server_port, sv));
        return buf;
    }
    const char *client = g->key.client.family ? fmt_addr(&g->key.client, c) : "clients not itemised";
    const char *server = g->key.server.family ? fmt_endpoint(&g->key.server, g->key.server_port, sv)
                         : g->key.level == CONN_GROUP_OTHER ? "servers not itemised"
                                                            : (snprintf(sv, sizeof sv, "servers not itemised, port %u",
                                                                        g->key.server_port), sv);
    snprintf(buf, len, "%s -> %s, %" G_GUINT64_FORMAT " connections", client, server, g->count);
    return buf;
}

/* The lines a group gets: one per connection while every connection of
 * it is an example (small captures read as they always did), else one for
 * the whole group (its count in flows and connections). */
uint32_t verdict_group_lines(const struct conn_group *g)
{
    return g->count <= g->n_examples ? g->n_examples : 1;
}

/* Line i of a group: its endpoints for the text, and the structured part. */
void verdict_group_line(struct violation *x, const struct conn_group *g, uint32_t i, char *ends, size_t len)
{
    bool single = g->count <= g->n_examples;
    const struct conn_group_example *e = &g->examples[single ? i : 0];
    if (single) {
        char c[FMT_ENDPOINT_LEN], sv[FMT_ENDPOINT_LEN];
        snprintf(ends, len, "%s -> %s", fmt_endpoint(&e->client, e->client_port, c),
                 fmt_endpoint(&e->server, e->server_port, sv));
    } else {
        verdict_group_endpoints(g, ends, len);
    }
    x->client = e->client;
    x->server = e->server;
    x->client_port = e->client_port;
    x->server_port = e->server_port;
    x->proto = g->key.proto; /* SMB over QUIC and RoCEv2 ride on UDP */
    x->service = "smb";
    x->state = transport_class_name((enum transport_class)g->key.transport);
    x->packets = single ? e->packets : g->packets;
    x->flows = x->connections = single ? 1 : g->count;
    x->first_seen = single ? e->first_ts : g->first_ts;
    x->last_seen = single ? e->last_ts : g->last_ts;
}

/* Violations of SMB connections, from their groups (conn_groups.h), so the
 * list stays as short as the variety of the traffic, at any size. */
static void connections(struct verdict *v, const struct analysis *a, const struct policy *p)
{
    for (uint32_t i = 0; i < conn_groups_count(a->groups); i++) {
        const struct conn_group *g = conn_groups_at(a->groups, i);
        uint32_t bits = conn_group_rules(&g->key, p);
        for (unsigned r = 0; r < RULE_COUNT; r++) {
            if (!(bits & (1u << r)))
                continue;
            for (uint32_t line = 0; line < verdict_group_lines(g); line++) {
                char ends[2 * FMT_ENDPOINT_LEN + 64];
                struct violation tmp;
                memset(&tmp, 0, sizeof tmp);
                verdict_group_line(&tmp, g, line, ends, sizeof ends);
                const char *dialect = g->key.dialect_text[0] ? g->key.dialect_text : "unknown";
                struct violation *x = verdict_add(
                    v->violations, true, (int)r, tmp.first_seen,
                    g_strdup_printf("%s: %s (transport %s, dialect %s)", policy_rule_description((enum policy_rule)r),
                                    ends, transport_class_name((enum transport_class)g->key.transport), dialect));
                tmp.is_rule = x->is_rule;
                tmp.kind = x->kind;
                tmp.rule = x->rule;
                tmp.detail = x->detail;
                char ev[160];
                tmp.evidence = g_strdup(r == RULE_NBSS_TRANSPORT ? transport_evidence_text(g->key.evidence, ev, sizeof ev)
                                        : r == RULE_KERBEROS ? "SESSION_SETUP blobs: NTLMSSP, guest or anonymous"
                                        : r == RULE_SIGNING ? "NEGOTIATE security mode without 'required', no signed PDU"
                                        : r == RULE_ENCRYPTION ? "no transform header, no ENCRYPT_DATA flag"
                                                               : "NEGOTIATE response");
                *x = tmp;
            }
        }
    }
}

void verdict_compute(struct verdict *v, const struct analysis *a, const struct policy *p)
{
    memset(v, 0, sizeof *v);
    v->violations = g_array_new(FALSE, FALSE, sizeof(struct violation));
    v->findings = g_array_new(FALSE, FALSE, sizeof(struct violation));
    v->unknowns = g_array_new(FALSE, FALSE, sizeof(struct unknown));
    v->race_window_us = (int64_t)p->race_window_ms * 1000;
    for (unsigned r = 0; r < RULE_COUNT; r++)
        if (policy_rule_enabled(p, (enum policy_rule)r))
            v->rules_enabled |= 1u << r;
    netbios_rows(v, a, p);
    netbios_aggregates(v, a, p);
    connections(v, a, p);
    g_array_sort(v->violations, by_time);
    verdict_unknowns(v, a, p);
    verdict_findings(v, a, p);
    g_array_sort(v->findings, by_time);

    bool readable = false, output_error = a->input_error;
    for (guint i = 0; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        /* opened as a capture, even if damaged later: not an error but a judgement on what it holds */
        readable |= !in->error || in->truncated || in->packets > 0;
        output_error &= !in->error;
    }
    if (!readable || output_error)
        v->outcome = OUTCOME_ERROR;
    else if (v->violations->len)
        v->outcome = OUTCOME_FAIL;
    else if (v->unknowns->len)
        v->outcome = OUTCOME_INCONCLUSIVE;
    else
        v->outcome = OUTCOME_PASS;
    v->pass = v->outcome == OUTCOME_PASS;
    v->exit_code = outcome_exit_code(v->outcome);
}

static void free_violations(GArray *arr)
{
    if (!arr)
        return;
    for (guint i = 0; i < arr->len; i++) {
        g_free(g_array_index(arr, struct violation, i).detail);
        g_free(g_array_index(arr, struct violation, i).evidence);
        g_free(g_array_index(arr, struct violation, i).subject);
    }
    g_array_free(arr, TRUE);
}

void verdict_free(struct verdict *v)
{
    free_violations(v->violations);
    free_violations(v->findings);
    if (v->unknowns) {
        for (guint i = 0; i < v->unknowns->len; i++)
            g_free(g_array_index(v->unknowns, struct unknown, i).detail);
        g_array_free(v->unknowns, TRUE);
    }
    memset(v, 0, sizeof *v);
}

void verdict_conn_findings(const struct smb_conn *s, void (*emit)(const char *text, void *arg), void *arg)
{
    verdict_conn_findings_of(s->verdict.cls, s->verdict.evidence, s->dialect, smb_conn_server_port(s), s->gaps,
                             smb_conn_smb_version(s), emit, arg);
}

void verdict_conn_findings_of(int cls, uint32_t evidence, uint16_t dialect, uint16_t port, uint64_t gaps,
                              int smb_version, void (*emit)(const char *text, void *arg), void *arg)
{
    if (cls == TRANSPORT_NBT && dialect && smb2_dialect_rank(dialect) > smb2_dialect_rank(SMB2_DIALECT_302))
        emit(finding_info(FINDING_NBT_ABOVE_302)->title, arg);
    if (cls == TRANSPORT_NBT_NONSTANDARD_PORT)
        emit(port == 445 ? "NBSS session framing on port 445" : "NBSS session framing on an alternative port", arg);
    /* EV_ALT_PORT: not the carrier's standard port (TCP 139/445, QUIC 443). */
    if ((evidence & EV_ALT_PORT) && cls != TRANSPORT_NONE)
        emit(finding_info(FINDING_ALT_PORT)->title, arg);
    if (evidence & EV_KEEPALIVE_ON_DIRECT)
        emit(finding_info(FINDING_KEEPALIVE_ON_DIRECT)->title, arg);
    if (cls == TRANSPORT_UNKNOWN_START)
        emit("capture began mid-connection: transport setup not seen", arg);
    if (gaps)
        emit("stream gaps: some bytes were not captured", arg);
    if (smb_version == 1)
        emit("SMB1 negotiated", arg);
}
