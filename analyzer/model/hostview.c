/* hostview.c - see hostview.h.  One view per host record of the NetBIOS
 * ledger (exact up to its cap), plus SMB clients and servers; a hash from
 * address to view index joins the connections and the findings in. */
#include "hostview.h"

#include <stdlib.h>
#include <string.h>

#include "hosts.h"

const char *host_role_name(unsigned i)
{
    static const char *const names[HOST_ROLE_COUNT] = { "netbios-client", "netbios-server", "target",
                                                        "broadcaster",    "smb-client",     "smb-server" };
    return i < HOST_ROLE_COUNT ? names[i] : "unknown";
}

static guint addr_hash(gconstpointer p)
{
    const struct ip_addr *a = p;
    guint h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ a->bytes[i]) * 16777619u;
    return h ^ a->family;
}

static gboolean addr_equal(gconstpointer x, gconstpointer y)
{
    const struct ip_addr *a = x, *b = y;
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

struct build {
    GPtrArray *names;  /* GPtrArray* of const char*, per host with names */
    GArray *views;
    GHashTable *index; /* struct ip_addr* (inside a stable copy) -> index + 1 */
    GPtrArray *keys;
    const struct host_table *ht;
};

static struct host_view *view(struct build *b, const struct ip_addr *a, int64_t ts)
{
    if (!a->family || host_is_broadcast(b->ht, a))
        return NULL;
    guint idx = GPOINTER_TO_UINT(g_hash_table_lookup(b->index, a));
    if (idx) {
        struct host_view *h = &g_array_index(b->views, struct host_view, idx - 1);
        if (ts < h->first_seen)
            h->first_seen = ts;
        if (ts > h->last_seen)
            h->last_seen = ts;
        return h;
    }
    struct host_view h;
    memset(&h, 0, sizeof h);
    h.addr = *a;
    h.first_seen = h.last_seen = ts;
    g_array_append_val(b->views, h);
    struct ip_addr *k = g_memdup2(a, sizeof *a);
    g_ptr_array_add(b->keys, k);
    g_hash_table_insert(b->index, k, GUINT_TO_POINTER(b->views->len));
    return &g_array_index(b->views, struct host_view, b->views->len - 1);
}

static void from_ledger(struct build *b)
{
    for (uint32_t i = 0; i < host_table_size(b->ht); i++) {
        const struct host_rec *r = host_table_at(b->ht, i);
        struct host_view *h = view(b, &r->addr, r->first_seen);
        if (!h)
            continue;
        h->last_seen = r->last_seen;
        h->roles |= (r->nb_roles & HOST_NB_CLIENT ? ROLE_NB_CLIENT : 0) | (r->nb_roles & HOST_NB_SERVER ? ROLE_NB_SERVER : 0) |
                    (r->nb_roles & HOST_NB_BROADCASTER ? ROLE_BROADCASTER : 0);
        if ((r->nb_roles & HOST_NB_TARGET) && !(r->nb_roles & HOST_NB_SERVER))
            h->roles |= ROLE_NB_TARGET;
        h->nb_flows = r->nb_flows;
        h->nb_flows_served = r->nb_flows_served;
        h->nb_packets_sent = r->nb_packets_sent;
        if (r->nb_flows_unlisted) {
            /* flows past the ledger's rows: NetBIOS traffic of this host, counted */
            h->rules |= 1u << RULE_NETBIOS;
            h->violations += r->nb_flows_unlisted;
        }
    }
}

static void name(struct build *b, const struct violation *x, bool client, bool server)
{
    struct host_view *h[2] = { client ? view(b, &x->client, x->first_seen) : NULL,
                               server ? view(b, &x->server, x->first_seen) : NULL };
    for (int i = 0; i < 2; i++) {
        if (!h[i])
            continue;
        if (x->is_rule) {
            h[i]->rules |= 1u << x->kind;
            h[i]->violations++;
        } else {
            h[i]->findings |= 1u << x->kind;
            h[i]->finding_count++;
            if (x->kind == FINDING_NTLM)
                h[i]->ntlm_sessions += (uint32_t)x->flows;
            if (x->kind == FINDING_NETBIOS_ONLY_NAME && x->subject && i == 0) {
                if (!h[i]->names_index) {
                    g_ptr_array_add(b->names, g_ptr_array_new());
                    h[i]->names_index = b->names->len;
                }
                g_ptr_array_add(g_ptr_array_index(b->names, h[i]->names_index - 1), x->subject);
            }
        }
    }
}

static gint rank(gconstpointer pa, gconstpointer pb)
{
    const struct host_view *a = pa, *b = pb;
    int ar = __builtin_popcount(a->rules), br = __builtin_popcount(b->rules);
    if (a->violations != b->violations)
        return a->violations > b->violations ? -1 : 1;
    if (ar != br)
        return ar > br ? -1 : 1;
    if (a->finding_count != b->finding_count)
        return a->finding_count > b->finding_count ? -1 : 1;
    uint64_t at = a->nb_flows + a->smb_client_conns, bt = b->nb_flows + b->smb_client_conns;
    if (at != bt)
        return at > bt ? -1 : 1;
    return (a->first_seen > b->first_seen) - (a->first_seen < b->first_seen);
}

void host_views_build(struct host_views *hv, const struct analysis *a, const struct verdict *v)
{
    memset(hv, 0, sizeof *hv);
    struct build b = { g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref),
                       g_array_new(FALSE, FALSE, sizeof(struct host_view)),
                       g_hash_table_new(addr_hash, addr_equal), g_ptr_array_new_with_free_func(g_free),
                       nb_ledger_hosts(a->ledger) };
    from_ledger(&b);
    uint64_t smb_only = 0;
    for (guint i = 0; i < a->conns->len; i++) {
        const struct smb_conn *s = g_ptr_array_index(a->conns, i);
        guint before = b.views->len;
        struct host_view *c = view(&b, smb_conn_client(s), s->first_ts);
        if (c) {
            c->roles |= ROLE_SMB_CLIENT;
            c->smb_client_conns++;
        }
        smb_only += b.views->len - before;
        before = b.views->len;
        struct host_view *sv = view(&b, smb_conn_server(s), s->first_ts);
        if (sv) {
            sv->roles |= ROLE_SMB_SERVER;
            sv->smb_server_conns++;
        }
        smb_only += b.views->len - before;
    }
    for (guint i = 0; i < v->violations->len; i++) {
        const struct violation *x = &g_array_index(v->violations, struct violation, i);
        /* A NetBIOS attempt is the client's to fix: its target refused or
         * ignored it.  Other NetBIOS flows: the server too when it answered
         * NetBIOS; SMB rules: both ends. */
        bool server = x->kind != RULE_NETBIOS_ATTEMPT;
        if (x->kind == RULE_NETBIOS) {
            guint idx = GPOINTER_TO_UINT(g_hash_table_lookup(b.index, &x->server));
            server = idx && (g_array_index(b.views, struct host_view, idx - 1).roles & ROLE_NB_SERVER);
        }
        name(&b, x, true, server);
    }
    for (guint i = 0; i < v->findings->len; i++) {
        const struct violation *x = &g_array_index(v->findings, struct violation, i);
        bool server = x->kind == FINDING_NBT_ONLY || x->kind == FINDING_NBT_ABOVE_302 || x->kind == FINDING_ALT_PORT ||
                      x->kind == FINDING_NTLM;
        name(&b, x, x->kind != FINDING_ALT_PORT, server);
    }
    g_array_sort(b.views, rank);
    hv->names = b.names;
    hv->n = b.views->len;
    hv->v = (struct host_view *)(void *)g_array_free(b.views, FALSE);
    g_hash_table_destroy(b.index);
    g_ptr_array_free(b.keys, TRUE);
    hv->total = host_table_total(b.ht, &hv->total_estimate) + smb_only;
    for (uint32_t i = 0; i < hv->n; i++)
        hv->spoke_netbios += (hv->v[i].roles & (ROLE_NB_CLIENT | ROLE_NB_SERVER | ROLE_BROADCASTER)) != 0;
}

const GPtrArray *host_view_nbns_only_names(const struct host_views *hv, const struct host_view *h)
{
    return h->names_index && hv->names ? g_ptr_array_index(hv->names, h->names_index - 1) : NULL;
}

void host_views_free(struct host_views *hv)
{
    if (hv->names)
        g_ptr_array_free(hv->names, TRUE);
    g_free(hv->v);
    memset(hv, 0, sizeof *hv);
}

uint64_t host_views_count_rule(const struct host_views *hv, enum policy_rule r)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < hv->n; i++)
        n += (hv->v[i].rules >> r) & 1u;
    return n;
}

uint64_t host_views_count_finding(const struct host_views *hv, enum finding_kind k)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < hv->n; i++)
        n += (hv->v[i].findings >> k) & 1u;
    return n;
}

enum remedy_id host_view_remedy(const struct host_view *h, const struct rule_info *ri)
{
    bool server = (h->roles & (ROLE_NB_SERVER | ROLE_SMB_SERVER)) &&
                  !(h->roles & (ROLE_NB_CLIENT | ROLE_BROADCASTER | ROLE_SMB_CLIENT));
    enum remedy_id r = server ? ri->remedy_server : ri->remedy_client;
    return r != REMEDY_NONE ? r : (server ? ri->remedy_client : ri->remedy_server);
}
