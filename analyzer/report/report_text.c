/* report_text.c - the report for people: verdict first, then the NetBIOS
 * ledger, the SMB connections table, per-connection detail in the spirit of
 * ONTAP's `vserver cifs session show -instance`, and a dialect histogram.
 * Every wire string goes through fmt_escaped(): nothing from a capture can
 * move the cursor or recolour a terminal. */
#include "report_text.h"

#include <string.h>

#include "dialect.h"
#include "fmt.h"
#include "report_rdma.h"
#include "quic_crypto.h"
#include "quic_facts.h"
#include "smb_tables.h"

#define NETBIOS_ROWS_SHOWN 100

void text_heading(struct text *t, const char *title)
{
    fprintf(t->out, t->color ? "\n\033[1m%s\033[0m\n" : "\n%s\n", title);
}

static void wstr_out(FILE *out, const struct wstr *w, const char *empty)
{
    if (w->p && w->len)
        fmt_escaped(out, w->p, w->len);
    else
        fputs(empty, out);
}

static char *endpoint(const struct ip_addr *a, uint16_t port)
{
    char buf[FMT_ENDPOINT_LEN];
    return g_strdup(fmt_endpoint(a, port, buf));
}

/* ---- NetBIOS --------------------------------------------------------- */

static void netbios_section(struct text *t, const struct analysis *a)
{
    FILE *out = t->out;
    guint n = nb_ledger_count(a->ledger);
    text_heading(t, "NetBIOS");
    const struct nb_overflow *o = nb_ledger_overflow(a->ledger);
    if (o->packets)
        fprintf(out, "  %" G_GUINT64_FORMAT " more packets in flows beyond the first %u (counted, not listed)\n",
                o->packets, nb_ledger_max_rows(a->ledger));
    const struct nb_non_ip *ni = nb_ledger_non_ip_counts(a->ledger);
    if (ni->netbeui || ni->nbipx)
        fprintf(out, "  NetBIOS without IP: %" G_GUINT64_FORMAT " NetBEUI frames (LLC SAP 0xF0), %" G_GUINT64_FORMAT
                     " NetBIOS-over-IPX frames (socket 0x0455)\n", ni->netbeui, ni->nbipx);
    if (n == 0 && !ni->netbeui && !ni->nbipx && !o->packets) {
        fputs("  no NetBIOS traffic or attempts (UDP 137/138, TCP/UDP 139)\n", out);
        return;
    }
    guint shown = n < NETBIOS_ROWS_SHOWN ? n : NETBIOS_ROWS_SHOWN;
    int cw = 6, sw = 6;
    for (guint i = 0; i < shown; i++) {
        const struct nb_flow *f = nb_ledger_row(a->ledger, i);
        char *c = endpoint(&f->client, f->client_port), *s = endpoint(&f->server, f->server_port);
        cw = (int)strlen(c) > cw ? (int)strlen(c) : cw;
        sw = (int)strlen(s) > sw ? (int)strlen(s) : sw;
        g_free(c);
        g_free(s);
    }
    fprintf(out, "  %-5s %-5s %-*s %-*s %-11s %5s  %s\n", "PROTO", "SVC", cw, "CLIENT", sw, "SERVER", "STATE", "PKTS",
            "NAMES");
    for (guint i = 0; i < shown; i++) {
        const struct nb_flow *f = nb_ledger_row(a->ledger, i);
        char *c = endpoint(&f->client, f->client_port), *s = endpoint(&f->server, f->server_port);
        fprintf(out, "  %-5s %-5s %-*s %-*s %-11s %5" G_GUINT64_FORMAT "  ", f->proto == 6 ? "tcp" : "udp",
                nb_service_name(f->service), cw, c, sw, s, nb_state_name(nb_flow_state(f)), f->packets);
        for (guint k = 0; f->names && k < f->names->len; k++) {
            const char *name = g_ptr_array_index(f->names, k);
            if (k)
                fputc(' ', out);
            fmt_escaped(out, (const uint8_t *)name, strlen(name));
        }
        if (f->names_dropped)
            fprintf(out, " (+%u)", f->names_dropped);
        fputc('\n', out);
        g_free(c);
        g_free(s);
    }
    if (n > shown)
        fprintf(out, "  ... and %u more flows (--format json: netbios.flows[])\n", n - shown);
}

/* ---- SMB connections ------------------------------------------------- */

static const char *auth_text(const struct smb_conn *s)
{
    for (guint i = 0; i < s->sessions->len; i++) {
        const struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, i);
        if (!r->established)
            continue;
        if (r->anonymous)
            return "anonymous";
        if (r->guest)
            return "guest";
        if (r->mech != AUTH_MECH_NONE)
            return auth_mech_name(r->mech);
    }
    return "-";
}

static void conn_table(struct text *t, GPtrArray *conns, uint64_t omitted)
{
    FILE *out = t->out;
    text_heading(t, "SMB connections");
    if (conns->len == 0) {
        fputs(omitted ? "  none listed one per line (--connections)\n" : "  none\n", out);
        return;
    }
    /* Columns as wide as their widest cell: IPv4 rows fit 80 columns. */
    GPtrArray *pairs = g_ptr_array_new_with_free_func(g_free);
    int pw = 16, tw = 9, dw = 7;
    for (guint i = 0; i < conns->len; i++) {
        const struct smb_conn *s = g_ptr_array_index(conns, i);
        char *c = endpoint(smb_conn_client(s), smb_conn_client_port(s));
        char *sv = endpoint(smb_conn_server(s), smb_conn_server_port(s));
        char *pair = g_strdup_printf("%s -> %s", c, sv);
        g_free(c);
        g_free(sv);
        g_ptr_array_add(pairs, pair);
        int l = (int)strlen(pair);
        pw = l > pw ? l : pw;
        l = (int)strlen(transport_class_name(s->verdict.cls));
        tw = l > tw ? l : tw;
        char dbuf[64], esc[64];
        const char *d = smb_conn_dialect_text(s, dbuf, sizeof dbuf);
        l = d ? (int)strlen(fmt_escaped_buf((const uint8_t *)d, strlen(d), esc, sizeof esc)) : 1;
        dw = l > dw ? l : dw;
    }
    fprintf(out, "  %-2s %-*s %-*s %-*s %-8s %-3s %s\n", "#", pw, "CLIENT -> SERVER", tw, "TRANSPORT", dw, "DIALECT",
            "SIGNING", "ENC", "AUTH");
    for (guint i = 0; i < conns->len; i++) {
        const struct smb_conn *s = g_ptr_array_index(conns, i);
        char dbuf[64], esc[64];
        const char *d = smb_conn_dialect_text(s, dbuf, sizeof dbuf);
        if (d)
            fmt_escaped_buf((const uint8_t *)d, strlen(d), esc, sizeof esc);
        const char *sign = smb_conn_signing_mode(s);
        fprintf(out, "  %-2u %-*s %-*s %-*s %-8s %-3s %s\n", i + 1, pw, (const char *)g_ptr_array_index(pairs, i), tw,
                transport_class_name(s->verdict.cls), dw, d ? esc : "?", sign ? sign : "?",
                smb_conn_encrypted(s) ? "yes" : "no", auth_text(s));
    }
    g_ptr_array_free(pairs, TRUE);
}


static void detail_user(FILE *out, const struct smb_conn *s)
{
    bool any = false;
    for (guint i = 0; i < s->sessions->len; i++) {
        const struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, i);
        if (!r->user.len && !r->domain.len)
            continue;
        if (any)
            fputs(", ", out);
        if (r->domain.len) {
            fmt_escaped(out, r->domain.p, r->domain.len);
            fputc('\\', out);
        }
        wstr_out(out, &r->user, "");
        if (r->workstation.len) {
            fputs(" (workstation ", out);
            fmt_escaped(out, r->workstation.p, r->workstation.len);
            fputc(')', out);
        }
        if (!r->established) {
            char buf[16];
            fprintf(out, " (logon failed: %s)", smb_enum_name(&nt_status_table, r->status, buf, sizeof buf));
        }
        any = true;
    }
    fputs(any ? "\n" : "-\n", out);
}

#define LABEL_WIDTH 24
#define DETAIL_WIDTH 80

static void field(FILE *out, const char *name) { fprintf(out, "    %-*s ", LABEL_WIDTH, name); }
static void continuation(FILE *out) { fprintf(out, "\n    %-*s ", LABEL_WIDTH, ""); }

/* One context per line; an id list that would pass 80 columns wraps after a
 * comma. */
static void detail_contexts(FILE *out, const struct smb2_neg_ctx_list *l)
{
    if (!l) {
        fputs("-\n", out);
        return;
    }
    const int room = DETAIL_WIDTH - 4 - LABEL_WIDTH - 1;
    for (uint8_t i = 0; i < l->stored; i++) {
        const struct smb2_neg_ctx *c = &l->items[i];
        char buf[64];
        if (i)
            continuation(out);
        const char *name = smb_enum_name(&smb2_negctx_type_table, c->type, buf, sizeof buf);
        int col = (int)strlen(name);
        fputs(name, out);
        const struct smb2_negctx_ids *ids = smb2_negctx_ids_lookup(c->type);
        if (!ids || !c->ids_stored)
            continue;
        fputc('(', out);
        col++;
        for (uint8_t k = 0; k < c->ids_stored; k++) {
            const char *id = smb_enum_name(ids->table, c->ids[k], buf, sizeof buf);
            int w = (int)strlen(id) + 1;
            if (k && col + w > room) {
                continuation(out);
                fputs("  ", out);
                col = 2;
            }
            fprintf(out, "%s%s", id, k + 1 < c->ids_stored ? "," : ")");
            col += w;
        }
    }
    if (l->status != SMB2_CTX_OK && l->reason)
        fprintf(out, " [%s]", l->reason);
    fputc('\n', out);
}

static void emit_finding_text(const char *text, void *arg)
{
    FILE *out = arg;
    fprintf(out, "    %-*s %s\n", LABEL_WIDTH, "Finding", text);
}

/* SMB over QUIC: what the QUIC handshake showed. */
static void detail_quic(FILE *out, const struct smb_conn *s)
{
    const struct smb_conn_quic *q = s->quic;
    if (!q)
        return;
    field(out, "QUIC");
    const char *suite = quic_suite_name(q->cipher);
    fprintf(out, "version %s, %s%s%s, cipher %s\n", quic_version_name(q->version) ? quic_version_name(q->version) : "?",
            q->retry ? "Retry, " : "", q->handshake_completed ? "handshake completed" : "handshake not seen",
            q->zero_rtt ? ", 0-RTT" : "", suite ? suite : "unknown");
    field(out, "SNI");
    if (q->sni[0])
        fmt_escaped(out, (const uint8_t *)q->sni, strlen(q->sni));
    else
        fputs("-", out);
    fputc('\n', out);
    field(out, "ALPN Offered");
    for (unsigned i = 0; i < q->alpn_count; i++) {
        fputs(i ? ", " : "", out);
        fmt_escaped(out, (const uint8_t *)q->alpn[i], strlen(q->alpn[i]) > 40 ? 40 : strlen(q->alpn[i]));
        if (strlen(q->alpn[i]) > 40)
            fputs("...", out);
    }
    fputs(q->alpn_truncated ? ", ...\n" : "\n", out);
    field(out, "QUIC Decryption");
    fputs(q->decrypted ? "1-RTT decrypted with the key log\n" : "Initial packets only (no key log for it)\n", out);
}

static void conn_detail(struct text *t, guint idx, const struct smb_conn *s)
{
    FILE *out = t->out;
    char *c = endpoint(smb_conn_client(s), smb_conn_client_port(s));
    char *sv = endpoint(smb_conn_server(s), smb_conn_server_port(s));
    char buf[160], ts[FMT_TIME_LEN];
    fprintf(out, t->color ? "\n  \033[1m#%u %s -> %s\033[0m\n" : "\n  #%u %s -> %s\n", idx, c, sv);
    g_free(c);
    g_free(sv);
    field(out, "Client Identified By");
    fprintf(out, "%s\n", client_rule_name(s->client_rule));
    field(out, "First Seen");
    fprintf(out, "%s\n", fmt_time(s->first_ts, ts));
    field(out, "Last Seen");
    fprintf(out, "%s\n", fmt_time(s->last_ts, ts));
    field(out, "Transport");
    fprintf(out, "%s\n", transport_class_description(s->verdict.cls));
    field(out, "Transport Evidence");
    fprintf(out, "%s\n", transport_evidence_text(s->verdict.evidence, buf, sizeof buf));
    report_text_smb_direct(out, s, LABEL_WIDTH);
    detail_quic(out, s);
    field(out, "NetBIOS Name");
    if (s->called_name.len || s->calling_name.len) {
        fputs("called ", out);
        wstr_out(out, &s->called_name, "-");
        fputs(", calling ", out);
        wstr_out(out, &s->calling_name, "-");
        fputc('\n', out);
    } else {
        fputs("-\n", out);
    }
    field(out, "Protocol Version");
    const char *d = smb_conn_dialect_text(s, buf, sizeof buf);
    int ver = smb_conn_smb_version(s);
    if (d) {
        fputs(ver == 1 ? "SMB1 " : "SMB ", out);
        fmt_escaped(out, (const uint8_t *)d, strlen(d));
        fputc('\n', out);
    } else {
        fputs(ver == 1 ? "SMB1 (negotiate not seen)\n" : s->smb2_seen ? "SMB2/3 (negotiate not seen)\n" : "unknown\n", out);
    }
    if (s->smb1_dialects->len) {
        field(out, "SMB1 Dialects Offered");
        for (guint i = 0; i < s->smb1_dialects->len; i++) {
            const struct wstr *w = &g_array_index(s->smb1_dialects, struct wstr, i);
            fputs(i ? ", " : "", out);
            fmt_escaped(out, w->p, w->len);
        }
        fputc('\n', out);
    }
    if (s->dialects_offered->len) {
        field(out, "Dialects Offered");
        for (guint i = 0; i < s->dialects_offered->len; i++) {
            char db[12];
            fprintf(out, "%s%s", i ? " " : "", smb2_dialect_name(g_array_index(s->dialects_offered, uint16_t, i), db, sizeof db));
        }
        fputs(s->dialects_from_smb1 ? " (from the SMB1 negotiate)\n" : "\n", out);
    }
    const char *sign = smb_conn_signing_mode(s);
    field(out, "Is Session Signed");
    fprintf(out, "%s (signing %s, %" G_GUINT64_FORMAT " signed PDUs)\n", s->signed_pdus ? "true" : "false",
            sign ? sign : "unknown", s->signed_pdus);
    field(out, "SMB Encryption Status");
    if (smb_conn_encrypted(s)) {
        fputs(smb_encryption_word(true), out);
        if (s->cipher_known)
            fprintf(out, " (%s)", smb_enum_name(&smb2_cipher_table, s->cipher, buf, sizeof buf));
        fprintf(out, ", %" G_GUINT64_FORMAT " encrypted PDUs\n", s->encrypted_pdus);
    } else {
        fprintf(out, "%s\n", smb_encryption_word(false));
    }
    if (s->smb2_response_seen) {
        field(out, "Large MTU Enabled");
        fprintf(out, "%s (max read %u, write %u)\n", (s->max_read > 65536 || s->max_write > 65536) ? "true" : "false",
                s->max_read, s->max_write);
        field(out, "Server Capabilities");
        fprintf(out, "%s\n", smb_enum_bits(&smb2_capabilities_table, s->server_capabilities, " ", buf, sizeof buf));
    }
    if (s->ctx_request || s->ctx_response) {
        field(out, "Contexts Offered");
        detail_contexts(out, s->ctx_request);
        field(out, "Contexts Chosen");
        detail_contexts(out, s->ctx_response);
    }
    field(out, "Authentication Mechanism");
    fprintf(out, "%s\n", auth_text(s));
    field(out, "Windows User");
    detail_user(out, s);
    field(out, "Active Shares");
    if (!s->shares->len)
        fputs("-", out);
    for (guint i = 0; i < s->shares->len; i++) {
        const struct smb_share_rec *r = &g_array_index(s->shares, struct smb_share_rec, i);
        fputs(i ? ", " : "", out);
        wstr_out(out, &r->path, "?");
        if (r->encrypt_data)
            fputs(" (encrypted)", out);
    }
    fputc('\n', out);
    field(out, "Bytes");
    fprintf(out, "%" G_GUINT64_FORMAT " client->server, %" G_GUINT64_FORMAT " server->client\n", s->bytes[s->client],
            s->bytes[!s->client]);
    field(out, "Stream Anomalies");
    if (!s->gaps && !s->overlap_conflicts && !s->midstream)
        fputs("none", out);
    if (s->gaps)
        fprintf(out, "%" G_GUINT64_FORMAT " gaps (%" G_GUINT64_FORMAT " bytes not captured) ", s->gaps, s->gap_bytes);
    if (s->overlap_conflicts)
        fprintf(out, "%" G_GUINT64_FORMAT " overlap conflicts ", s->overlap_conflicts);
    if (s->midstream)
        fputs("started mid-connection", out);
    fputc('\n', out);
    verdict_conn_findings(s, emit_finding_text, out);
}

/* Connections detailed without -V. */
#define TEXT_DETAIL_MAX 50

void report_text(FILE *out, const struct analysis *a, const struct verdict *v, bool color)
{
    struct text t = { out, color };
    struct host_views hv;
    host_views_build(&hv, a, v);
    text_verdict(&t, a, v, &hv);
    text_evidence(&t, a);
    text_hosts(&t, &hv);
    host_views_free(&hv);

    netbios_section(&t, a);
    GPtrArray *conns = report_sorted_conns(a);
    conn_table(&t, conns, a->conns_omitted);
    if (a->conns_omitted)
        fprintf(out, "  ... %" G_GUINT64_FORMAT " more connections, not listed one per line: every connection is "
                     "counted in the connection groups below (--connections all lists each)\n", a->conns_omitted);
    /* without -V, the first ones: the table above lists every connection */
    guint shown = a->cfg->verbose || conns->len <= TEXT_DETAIL_MAX ? conns->len : TEXT_DETAIL_MAX;
    if (conns->len) {
        text_heading(&t, "Connection details");
        for (guint i = 0; i < shown; i++)
            conn_detail(&t, i + 1, g_ptr_array_index(conns, i));
        if (shown < conns->len)
            fprintf(out, "  ... %u more connections: -V shows every connection's detail\n", conns->len - shown);
    }
    g_ptr_array_free(conns, TRUE);
    if (a->conns_omitted)
        text_groups(&t, a);
    text_per_client(&t, a);
    text_dialect_histogram(&t, a);
}
