/* verdict.c - violations in order of first appearance. */
#include "verdict.h"

#include <stdio.h>
#include <string.h>

#include "dialect.h"
#include "fmt.h"

struct policy_conn_facts verdict_conn_facts(const struct smb_conn *s)
{
    struct policy_conn_facts f = {
        .transport = s->verdict.cls,
        .smb_version = smb_conn_smb_version(s),
        .dialect = s->dialect,
        .signing_required = smb_conn_signing_required(s),
        .signed_seen = s->signed_pdus > 0,
        .encrypted = smb_conn_encrypted(s),
    };
    return f;
}

static void add(struct verdict *v, enum policy_rule rule, int64_t ts, char *detail)
{
    struct violation x = { rule, detail, ts };
    g_array_append_val(v->violations, x);
}

static gint by_time(gconstpointer a, gconstpointer b)
{
    const struct violation *x = a, *y = b;
    return (x->first_seen > y->first_seen) - (x->first_seen < y->first_seen);
}

static char *conn_where(const struct smb_conn *s)
{
    char c[FMT_ADDR_LEN], sv[FMT_ADDR_LEN];
    return g_strdup_printf("%s:%u -> %s:%u", fmt_addr(smb_conn_client(s), c), smb_conn_client_port(s),
                           fmt_addr(smb_conn_server(s), sv), smb_conn_server_port(s));
}

void verdict_compute(struct verdict *v, const struct analysis *a, const struct policy *p)
{
    v->violations = g_array_new(FALSE, FALSE, sizeof(struct violation));
    for (guint i = 0; i < nb_ledger_count(a->ledger); i++) {
        const struct nb_flow *f = nb_ledger_row(a->ledger, i);
        if (f->nbss_elsewhere)
            continue; /* its connection breaks nbss-transport: one violation per flow */
        enum nb_state st = nb_flow_state(f);
        enum policy_rule r = policy_check_netbios(p, nb_state_is_attempt(st));
        if (r == RULE_COUNT)
            continue;
        char c[FMT_ADDR_LEN], sv[FMT_ADDR_LEN];
        add(v, r, f->first_seen,
            g_strdup_printf("%s %s:%u -> %s:%u/%s %s, %" G_GUINT64_FORMAT " packet%s", nb_service_name(f->service),
                            fmt_addr(&f->client, c), f->client_port, fmt_addr(&f->server, sv), f->server_port,
                            f->proto == 6 ? "tcp" : "udp", nb_state_name(st), f->packets, f->packets == 1 ? "" : "s"));
    }
    const struct nb_overflow *o = nb_ledger_overflow(a->ledger);
    if (o->packets && policy_check_netbios(p, false) != RULE_COUNT)
        add(v, RULE_NETBIOS, o->first_seen,
            g_strdup_printf("%" G_GUINT64_FORMAT " NetBIOS packets in flows beyond the ledger's %u itemised flows "
                            "(nbns %" G_GUINT64_FORMAT ", nbdgm %" G_GUINT64_FORMAT ", nbss %" G_GUINT64_FORMAT ")",
                            o->packets, nb_ledger_max_rows(a->ledger), o->by_service[NB_SERVICE_NBNS],
                            o->by_service[NB_SERVICE_NBDGM], o->by_service[NB_SERVICE_NBSS]));
    const struct nb_non_ip *n = nb_ledger_non_ip_counts(a->ledger);
    if ((n->netbeui || n->nbipx) && policy_check_netbios(p, false) != RULE_COUNT)
        add(v, RULE_NETBIOS, n->first_seen,
            g_strdup_printf("NetBIOS without IP: %" G_GUINT64_FORMAT " frames over NetBEUI (802.2 LLC SAP 0xF0), %"
                            G_GUINT64_FORMAT " over IPX (socket 0x0455)", n->netbeui, n->nbipx));
    for (guint i = 0; i < a->conns->len; i++) {
        const struct smb_conn *s = g_ptr_array_index(a->conns, i);
        struct policy_conn_facts facts = verdict_conn_facts(s);
        uint32_t bits = policy_check_connection(p, &facts);
        for (unsigned r = 0; r < RULE_COUNT; r++) {
            if (!(bits & (1u << r)))
                continue;
            char *where = conn_where(s);
            char dbuf[64];
            const char *dialect = smb_conn_dialect_text(s, dbuf, sizeof dbuf);
            char esc[128];
            if (dialect)
                fmt_escaped_buf((const uint8_t *)dialect, strlen(dialect), esc, sizeof esc);
            add(v, (enum policy_rule)r, s->first_ts,
                g_strdup_printf("%s: %s (transport %s, dialect %s)", policy_rule_description((enum policy_rule)r), where,
                                transport_class_name(s->verdict.cls), dialect ? esc : "unknown"));
            g_free(where);
        }
    }
    g_array_sort(v->violations, by_time);
    v->pass = v->violations->len == 0;
    v->exit_code = a->input_error ? 2 : v->pass ? 0 : 1;
}

void verdict_free(struct verdict *v)
{
    if (!v->violations)
        return;
    for (guint i = 0; i < v->violations->len; i++)
        g_free(g_array_index(v->violations, struct violation, i).detail);
    g_array_free(v->violations, TRUE);
    v->violations = NULL;
}

void verdict_conn_findings(const struct smb_conn *s, void (*emit)(const char *text, void *arg), void *arg)
{
    uint16_t port = smb_conn_server_port(s);
    if (s->verdict.cls == TRANSPORT_NBT && s->dialect && smb2_dialect_rank(s->dialect) > smb2_dialect_rank(SMB2_DIALECT_302))
        emit("NBT above 3.0.2: MS-SMB2 2.1 stops at 3.0.2", arg);
    if (s->verdict.cls == TRANSPORT_NBT_NONSTANDARD_PORT)
        emit(port == 445 ? "NBSS session framing on port 445" : "NBSS session framing on an alternative port", arg);
    if (transport_is_alt_port(s->verdict.cls, port) && s->verdict.cls != TRANSPORT_NONE)
        emit("SMB on an alternative port", arg);
    if (s->verdict.evidence & EV_KEEPALIVE_ON_DIRECT)
        emit("NBSS keep-alives (0x85) on a direct-hosted connection", arg);
    if (s->verdict.cls == TRANSPORT_UNKNOWN_START)
        emit("capture began mid-connection: transport setup not seen", arg);
    if (s->gaps)
        emit("stream gaps: some bytes were not captured", arg);
    if (smb_conn_smb_version(s) == 1)
        emit("SMB1 negotiated", arg);
}
