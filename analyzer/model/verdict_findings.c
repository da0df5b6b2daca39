/* verdict_findings.c - facts worth fixing that the policy does not judge:
 * clients racing TCP 139 against 445 (NetBIOS over TCP/IP enabled), clients
 * that only use 139, SMB sessions authenticated with NTLM, and the
 * per-connection notes (3.1.1 over NBT, alternative ports). */
#include "verdict.h"

#include <stdio.h>
#include <string.h>

#include "census.h"
#include "dialect.h"
#include "fmt.h"

/* (client, server) pairs with an SMB connection on 445 (SYN seen or not),
 * as keys of a set: one pass over the connections, not one per pair. */
static char *pair_key(const struct ip_addr *client, const struct ip_addr *server)
{
    char c[FMT_ADDR_LEN], s[FMT_ADDR_LEN];
    return g_strdup_printf("%s>%s", fmt_addr(client, c), fmt_addr(server, s));
}

static GHashTable *pairs_on_445(const struct analysis *a)
{
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < a->conns->len; i++) {
        const struct smb_conn *s = g_ptr_array_index(a->conns, i);
        if (smb_conn_server_port(s) == 445)
            g_hash_table_add(set, pair_key(smb_conn_client(s), smb_conn_server(s)));
    }
    return set;
}

static bool pair_used(GHashTable *on_445, const struct census_pair *e)
{
    char *k = pair_key(&e->client, &e->server);
    bool used = g_hash_table_contains(on_445, k);
    g_free(k);
    return used;
}

static struct violation *pair_finding(struct verdict *v, enum finding_kind k, const struct census_pair *e, int64_t ts,
                                      const char *state, char *detail)
{
    struct violation *x = verdict_add(v->findings, false, k, ts, detail);
    x->client = e->client;
    x->server = e->server;
    x->client_port = e->port139;
    x->server_port = 139;
    x->proto = 6;
    x->service = "nbss";
    x->state = state;
    x->packets = e->syn139 + e->syn445;
    return x;
}

static void races(struct verdict *v, const struct analysis *a)
{
    const struct census *c = a->census;
    GHashTable *on_445 = pairs_on_445(a);
    for (uint32_t i = 0; i < census_pair_slots(c); i++) {
        const struct census_pair *e = census_pair_at(c, i);
        if (!e || !e->syn139)
            continue;
        const struct nb_flow *row = nb_ledger_find(a->ledger, 6, &e->client, e->port139, &e->server, 139);
        const char *state = row ? nb_state_name(nb_flow_state(row)) : "not-itemised";
        char ce[FMT_ADDR_LEN], se[FMT_ADDR_LEN];
        fmt_addr(&e->client, ce);
        fmt_addr(&e->server, se);
        int64_t closest = census_pair_closest(e);
        int64_t t139 = e->t139[0];
        if (e->syn445 && closest <= v->race_window_us) {
            struct violation *x = pair_finding(
                v, FINDING_NETBT_RACE, e, t139 < e->t445[0] ? t139 : e->t445[0], state,
                g_strdup_printf("%s opened TCP 139 %.3f s from a TCP 445 SYN to %s (139 %s; %u SYN%s to 139, %u to 445)",
                                ce, (double)closest / 1e6, se, state, e->syn139, e->syn139 == 1 ? "" : "s", e->syn445));
            x->evidence = g_strdup_printf("SYNs to 139 and 445 of the same server within %.3f s (window %.3f s)",
                                          (double)closest / 1e6, (double)v->race_window_us / 1e6);
            x->last_seen = t139 > e->t445[0] ? t139 : e->t445[0];
        } else if (!e->syn445 && !pair_used(on_445, e)) {
            struct violation *x = pair_finding(
                v, FINDING_NBT_ONLY, e, t139, state,
                g_strdup_printf("%s connected to %s on TCP 139 (%s) and never on 445", ce, se, state));
            x->evidence = g_strdup_printf("%u SYN%s to 139, none to 445", e->syn139, e->syn139 == 1 ? "" : "s");
        }
    }
    g_hash_table_destroy(on_445);
}

static void conn_notes(struct verdict *v, const struct analysis *a)
{
    for (guint i = 0; i < a->conns->len; i++) {
        const struct smb_conn *s = g_ptr_array_index(a->conns, i);
        char ce[FMT_ENDPOINT_LEN], se[FMT_ENDPOINT_LEN];
        fmt_endpoint(smb_conn_client(s), smb_conn_client_port(s), ce);
        fmt_endpoint(smb_conn_server(s), smb_conn_server_port(s), se);
        uint32_t ntlm = 0;
        for (guint k = 0; k < s->sessions->len; k++) {
            const struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, k);
            ntlm += r->mech == AUTH_MECH_NTLM && !r->anonymous;
        }
        enum finding_kind kinds[4];
        int n = 0;
        if (ntlm)
            kinds[n++] = FINDING_NTLM;
        if (s->verdict.cls == TRANSPORT_NBT && s->dialect &&
            smb2_dialect_rank(s->dialect) > smb2_dialect_rank(SMB2_DIALECT_302))
            kinds[n++] = FINDING_NBT_ABOVE_302;
        uint16_t port = smb_conn_server_port(s);
        /* EV_ALT_PORT: not the carrier's standard port (TCP 139/445, QUIC 443). */
        if ((s->verdict.evidence & EV_ALT_PORT) && s->verdict.cls != TRANSPORT_NONE)
            kinds[n++] = FINDING_ALT_PORT;
        if (s->verdict.evidence & EV_KEEPALIVE_ON_DIRECT)
            kinds[n++] = FINDING_KEEPALIVE_ON_DIRECT;
        for (int k = 0; k < n; k++) {
            struct violation *x = verdict_add(
                v->findings, false, kinds[k], s->first_ts,
                kinds[k] == FINDING_NTLM
                    ? g_strdup_printf("%s -> %s: %u SMB session%s authenticated with NTLM", ce, se, ntlm, ntlm == 1 ? "" : "s")
                    : g_strdup_printf("%s -> %s: %s", ce, se, finding_info(kinds[k])->title));
            x->client = *smb_conn_client(s);
            x->server = *smb_conn_server(s);
            x->client_port = smb_conn_client_port(s);
            x->server_port = port;
            x->proto = s->quic ? 17 : 6; /* SMB over QUIC rides on UDP */
            x->service = "smb";
            x->state = transport_class_name(s->verdict.cls);
            x->packets = s->packets[0] + s->packets[1];
            x->flows = kinds[k] == FINDING_NTLM ? ntlm : 1;
            x->last_seen = s->last_ts;
            x->evidence = g_strdup(kinds[k] == FINDING_NTLM ? "SESSION_SETUP with an NTLMSSP token" : "connection facts");
        }
    }
}

/* The name part of a rendered NetBIOS name "NAME<20>" (trailing blanks
 * dropped); false for names no client resolves to reach a server: other
 * types than <00>/<20>, the "*" wildcard, an IP address string. */
static bool resolvable(const char *rendered, char *out, size_t outlen)
{
    const char *lt = strrchr(rendered, '<');
    if (!lt || (strcmp(lt, "<00>") != 0 && strcmp(lt, "<20>") != 0))
        return false;
    size_t n = (size_t)(lt - rendered);
    while (n && rendered[n - 1] == ' ')
        n--;
    if (!n || n >= outlen || rendered[0] == '*' || strspn(rendered, "0123456789.") >= n)
        return false;
    memcpy(out, rendered, n);
    out[n] = '\0';
    return true;
}

/* Names a client asked NBNS for and that no DNS, LLMNR or mDNS message of
 * the capture carried: closing UDP 137 loses them. */
static void netbios_only_names(struct verdict *v, const struct analysis *a)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < nb_ledger_count(a->ledger); i++) {
        const struct nb_flow *f = nb_ledger_row(a->ledger, i);
        if (f->service != NB_SERVICE_NBNS || !f->queries || !f->names)
            continue;
        for (guint k = 0; k < f->names->len; k++) {
            char name[64], ce[FMT_ADDR_LEN];
            if (!resolvable(g_ptr_array_index(f->names, k), name, sizeof name) || census_dns_has(a->census, name))
                continue;
            char *key = g_strdup_printf("%s/%s", fmt_addr(&f->client, ce), name);
            if (g_hash_table_contains(seen, key)) {
                g_free(key);
                continue;
            }
            g_hash_table_add(seen, key);
            struct violation *x = verdict_add(
                v->findings, false, FINDING_NETBIOS_ONLY_NAME, f->first_seen,
                g_strdup_printf("%s resolved %s through NBNS only (no DNS, LLMNR or mDNS message for it in the capture)",
                                ce, name));
            x->client = f->client;
            x->server = f->server;
            x->client_port = f->client_port;
            x->server_port = f->server_port;
            x->subject = g_strdup(name);
            x->proto = 17;
            x->service = "nbns";
            x->state = nb_state_name(nb_flow_state(f));
            x->packets = f->packets;
            x->last_seen = f->last_seen;
            x->evidence = g_strdup_printf("NBNS name query for %s; first DNS labels compared case-insensitively, cut to "
                                          "15 characters (%" G_GUINT64_FORMAT " DNS/LLMNR/mDNS messages seen)",
                                          (const char *)g_ptr_array_index(f->names, k), a->census->dns_messages);
        }
    }
    g_hash_table_destroy(seen);
}

void verdict_findings(struct verdict *v, const struct analysis *a, const struct policy *p)
{
    races(v, a);
    netbios_only_names(v, a);
    conn_notes(v, a);
    (void)p;
}
