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

/* From the connection groups; a server whose 445 clients were folded past
 * the group cap counts as used by every client ("*>server"), so no
 * NBT-only finding is claimed that the folded connections could deny. */
static GHashTable *pairs_on_445(const struct analysis *a)
{
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (uint32_t i = 0; i < conn_groups_count(a->groups); i++) {
        const struct conn_group *g = conn_groups_at(a->groups, i);
        if (g->key.server_port != 445 && g->key.level != CONN_GROUP_OTHER)
            continue;
        if (g->key.level == CONN_GROUP_FULL) {
            g_hash_table_add(set, pair_key(&g->key.client, &g->key.server));
        } else if (g->key.level == CONN_GROUP_ANY_CLIENT) {
            char sv[FMT_ADDR_LEN];
            g_hash_table_add(set, g_strdup_printf("*>%s", fmt_addr(&g->key.server, sv)));
        } else {
            g_hash_table_add(set, g_strdup("*>*"));
        }
    }
    return set;
}

static bool pair_used(GHashTable *on_445, const struct census_pair *e)
{
    char *k = pair_key(&e->client, &e->server);
    bool used = g_hash_table_contains(on_445, k) || g_hash_table_contains(on_445, "*>*");
    g_free(k);
    if (!used) {
        char sv[FMT_ADDR_LEN];
        k = g_strdup_printf("*>%s", fmt_addr(&e->server, sv));
        used = g_hash_table_contains(on_445, k);
        g_free(k);
    }
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

/* Per-connection findings, one per kind and connection group (see
 * verdict.c connections()). */
static void conn_notes(struct verdict *v, const struct analysis *a)
{
    static const enum finding_kind kinds[] = { FINDING_NTLM, FINDING_NBT_ABOVE_302, FINDING_ALT_PORT,
                                               FINDING_KEEPALIVE_ON_DIRECT };
    for (uint32_t i = 0; i < conn_groups_count(a->groups); i++) {
        const struct conn_group *g = conn_groups_at(a->groups, i);
        for (uint32_t line = 0; line < verdict_group_lines(g); line++) {
            for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
                if (!(g->key.findings & (1u << kinds[k])))
                    continue;
                char ends[2 * FMT_ENDPOINT_LEN + 64];
                struct violation tmp;
                memset(&tmp, 0, sizeof tmp);
                verdict_group_line(&tmp, g, line, ends, sizeof ends);
                uint64_t ntlm = tmp.connections == 1 ? g->examples[g->count <= g->n_examples ? line : 0].ntlm_sessions
                                                     : g->ntlm_sessions;
                struct violation *x = verdict_add(
                    v->findings, false, kinds[k], tmp.first_seen,
                    kinds[k] == FINDING_NTLM
                        ? g_strdup_printf("%s: %" G_GUINT64_FORMAT " SMB session%s authenticated with NTLM", ends, ntlm,
                                          ntlm == 1 ? "" : "s")
                        : g_strdup_printf("%s: %s", ends, finding_info(kinds[k])->title));
                tmp.is_rule = false;
                tmp.kind = x->kind;
                tmp.rule = x->rule;
                tmp.detail = x->detail;
                if (kinds[k] == FINDING_NTLM)
                    tmp.flows = ntlm;
                tmp.evidence = g_strdup(kinds[k] == FINDING_NTLM ? "SESSION_SETUP with an NTLMSSP token" : "connection facts");
                *x = tmp;
            }
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
