/* hostview.c - see hostview.h.  Memory: one small accumulator per host of
 * the NetBIOS ledger's host table (indexed like it, no second hash of a
 * million addresses), a hash only for hosts seen in SMB connections alone,
 * one index array to rank them, and full views only for the hosts listed. */
#include "hostview.h"

#include <stdlib.h>
#include <string.h>

#include "hosts.h"
#include "mstate_select.h"
#include "smb_hosts.h"

#define VIEWS_LISTED 10000 /* views materialised: the JSON listing's cap */

const char *host_role_name(unsigned i)
{
    static const char *const names[HOST_ROLE_COUNT] = { "netbios-client", "netbios-server", "target",
                                                        "broadcaster",    "smb-client",     "smb-server" };
    return i < HOST_ROLE_COUNT ? names[i] : "unknown";
}

/* What the verdict and the connections add to a host. */
struct acc {
    uint32_t rules, findings, violations, finding_count, ntlm_sessions, names_index;
    uint32_t smb_client_conns, smb_server_conns;
    uint8_t roles;
};

struct extra { /* a host seen only in SMB connections, or counted past the ledger's records */
    struct ip_addr addr;
    int64_t first_seen, last_seen;
    bool compact; /* in the ledger's compact set (hosts.h): counted, not ranked */
};

struct build {
    const struct host_table *ht;
    uint32_t nled;          /* ledger hosts: accumulators [0, nled) */
    struct acc *acc;        /* nled + extras->len */
    uint32_t acc_alloc;
    GArray *extras;         /* struct extra, accumulator nled + i */
    const struct smb_hosts *smb; /* the SMB hosts, and the accumulator of each (-1 none) */
    int64_t *smb_acc;
    GHashTable *extra_index;/* struct ip_addr* (in extras? no: own copies) -> i + 1 */
    GPtrArray *extra_keys;
    GPtrArray *names;       /* GPtrArray* of const char*, per host with names */
    uint8_t *backed;        /* a bit per compact slot: that host has an extra */
    uint32_t nbacked;       /* extras of compact hosts */
};

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

/* The roles and rules of a host the ledger counted past its records
 * (hosts.h compact bits), as from_ledger() makes them of a record. */
static void acc_from_bits(struct acc *h, unsigned bits)
{
    h->roles |= (bits & HOST_NB_CLIENT ? ROLE_NB_CLIENT : 0) | (bits & HOST_NB_SERVER ? ROLE_NB_SERVER : 0) |
                (bits & HOST_NB_BROADCASTER ? ROLE_BROADCASTER : 0);
    if ((bits & HOST_NB_TARGET) && !(bits & HOST_NB_SERVER))
        h->roles |= ROLE_NB_TARGET;
    if (bits & HOST_C_UNLISTED) {
        h->rules |= 1u << RULE_NETBIOS;
        h->violations++;
    }
}

/* A host of no table yet: its accumulator (zeroed) and record; a host of
 * the ledger's compact set (its slot cs, -1: none; found by the caller, who
 * asked already or must) starts from its bits. */
static int64_t new_extra_at(struct build *b, const struct ip_addr *a, int64_t ts, int64_t cs, unsigned bits)
{
    if (b->nled + b->extras->len + 1 > b->acc_alloc) {
        b->acc_alloc = b->acc_alloc * 2 + 64;
        b->acc = g_realloc_n(b->acc, b->acc_alloc, sizeof *b->acc);
    }
    memset(&b->acc[b->nled + b->extras->len], 0, sizeof *b->acc);
    guint at = b->extras->len;
    g_array_set_size(b->extras, at + 1); /* one store in place, not a copy through append */
    g_array_index(b->extras, struct extra, at) = (struct extra){ *a, ts, ts, false };
    if (cs >= 0) {
        g_array_index(b->extras, struct extra, at).compact = true;
        b->backed[cs >> 3] |= (uint8_t)(1u << (cs & 7));
        b->nbacked++;
        acc_from_bits(&b->acc[b->nled + at], bits);
    }
    return b->nled + b->extras->len - 1;
}

static int64_t new_extra(struct build *b, const struct ip_addr *a, int64_t ts)
{
    unsigned bits = 0;
    int64_t cs = b->backed ? host_table_compact_find(b->ht, a, &bits) : -1;
    return new_extra_at(b, a, ts, cs, bits);
}

/* Accumulator index of an address, creating a host seen in no table; -1 for a
 * broadcast or no address. */
static int64_t lookup(struct build *b, const struct ip_addr *a, int64_t ts, bool create)
{
    if (!a->family || host_is_broadcast(b->ht, a))
        return -1;
    const struct host_rec *r = host_table_find(b->ht, a);
    if (r)
        return r - host_table_at(b->ht, 0);
    int64_t si = b->smb_acc ? smb_hosts_find(b->smb, a) : -1;
    if (si >= 0 && b->smb_acc[si] >= 0) {
        struct extra *e = &g_array_index(b->extras, struct extra, b->smb_acc[si] - b->nled);
        e->first_seen = ts < e->first_seen ? ts : e->first_seen;
        e->last_seen = ts > e->last_seen ? ts : e->last_seen;
        return b->smb_acc[si];
    }
    guint i = GPOINTER_TO_UINT(g_hash_table_lookup(b->extra_index, a));
    if (i) {
        struct extra *e = &g_array_index(b->extras, struct extra, i - 1);
        e->first_seen = ts < e->first_seen ? ts : e->first_seen;
        e->last_seen = ts > e->last_seen ? ts : e->last_seen;
        return b->nled + i - 1;
    }
    unsigned bits = 0;
    int64_t cs = b->backed ? host_table_compact_find(b->ht, a, &bits) : -1; /* once: new_extra_at() takes it */
    if (!create && cs < 0)
        return -1; /* a host counted past the records is one: its roles decide */
    int64_t at = new_extra_at(b, a, ts, cs, bits);
    struct ip_addr *k = g_memdup2(a, sizeof *a);
    g_ptr_array_add(b->extra_keys, k);
    g_hash_table_insert(b->extra_index, k, GUINT_TO_POINTER(b->extras->len));
    return at;
}

static void name(struct build *b, const struct violation *x, bool client, bool server)
{
    if (x->connections) /* about SMB connections: counted per host as they closed (from_conns) */
        return;
    int64_t idx[2] = { client ? lookup(b, &x->client, x->first_seen, true) : -1,
                       server ? lookup(b, &x->server, x->first_seen, true) : -1 };
    for (int i = 0; i < 2; i++) {
        if (idx[i] < 0)
            continue;
        struct acc *h = &b->acc[idx[i]];
        if (x->is_rule) {
            h->rules |= 1u << x->kind;
            h->violations++;
            continue;
        }
        h->findings |= 1u << x->kind;
        h->finding_count++;
        if (x->kind == FINDING_NTLM)
            h->ntlm_sessions += (uint32_t)x->flows;
        if (x->kind == FINDING_NETBIOS_ONLY_NAME && x->subject && i == 0) {
            if (!h->names_index) {
                g_ptr_array_add(b->names, g_ptr_array_new());
                h->names_index = b->names->len;
            }
            g_ptr_array_add(g_ptr_array_index(b->names, h->names_index - 1), x->subject);
        }
    }
}

static void from_ledger(struct build *b)
{
    for (uint32_t i = 0; i < b->nled; i++) {
        const struct host_rec *r = host_table_at(b->ht, i);
        struct acc *h = &b->acc[i];
        h->roles = (r->nb_roles & HOST_NB_CLIENT ? ROLE_NB_CLIENT : 0) | (r->nb_roles & HOST_NB_SERVER ? ROLE_NB_SERVER : 0) |
                   (r->nb_roles & HOST_NB_BROADCASTER ? ROLE_BROADCASTER : 0);
        if ((r->nb_roles & HOST_NB_TARGET) && !(r->nb_roles & HOST_NB_SERVER))
            h->roles |= ROLE_NB_TARGET;
        if (r->nb_flows_unlisted) {
            /* flows past the ledger's rows: NetBIOS traffic of this host, counted */
            h->rules |= 1u << RULE_NETBIOS;
            h->violations += r->nb_flows_unlisted;
        }
    }
}

/* From the SMB hosts accumulated as connections closed (smb_hosts.h):
 * exact per host up to its cap, whatever the report kept. */
static void from_conns(struct build *b, const struct analysis *a)
{
    /* Each SMB host is one address (no lookup among the others); one not in
     * the ledger becomes a host of its own, found again through smb_acc. */
    uint32_t n = smb_hosts_size(a->smb_hosts);
    b->smb = a->smb_hosts;
    b->smb_acc = g_new(int64_t, n ? n : 1);
    for (uint32_t i = 0; i < n; i++) {
        const struct host_rec *r;
        const struct smb_host *x = smb_hosts_at(a->smb_hosts, i, &r);
        b->smb_acc[i] = -1;
        if (!x || !r->addr.family || host_is_broadcast(b->ht, &r->addr))
            continue;
        const struct host_rec *led = host_table_find(b->ht, &r->addr);
        int64_t h = led ? led - host_table_at(b->ht, 0) : new_extra(b, &r->addr, r->first_seen);
        if (!led) {
            struct extra *e = &g_array_index(b->extras, struct extra, h - b->nled);
            e->last_seen = r->last_seen > e->last_seen ? r->last_seen : e->last_seen;
            b->smb_acc[i] = h;
        }
        struct acc *y = &b->acc[h];
        y->roles |= (x->client_conns ? ROLE_SMB_CLIENT : 0) | (x->server_conns ? ROLE_SMB_SERVER : 0);
        y->smb_client_conns += x->client_conns;
        y->smb_server_conns += x->server_conns;
        y->rules |= x->rules;
        y->findings |= x->findings;
        y->violations += x->violations;
        y->finding_count += x->finding_count;
        y->ntlm_sessions += x->ntlm_sessions;
    }
}

static void from_verdict(struct build *b, const struct verdict *v)
{
    for (guint i = 0; i < v->violations->len; i++) {
        const struct violation *x = &g_array_index(v->violations, struct violation, i);
        /* A NetBIOS attempt is the client's to fix: its target refused or
         * ignored it.  Other NetBIOS flows: the server too when it answered
         * NetBIOS; SMB rules: both ends. */
        bool server = x->kind != RULE_NETBIOS_ATTEMPT;
        if (x->kind == RULE_NETBIOS) {
            int64_t s = lookup(b, &x->server, x->first_seen, false);
            server = s >= 0 && (b->acc[s].roles & ROLE_NB_SERVER);
        }
        name(b, x, true, server);
    }
    for (guint i = 0; i < v->findings->len; i++) {
        const struct violation *x = &g_array_index(v->findings, struct violation, i);
        bool server = x->kind == FINDING_NBT_ONLY || x->kind == FINDING_NBT_ABOVE_302 || x->kind == FINDING_ALT_PORT ||
                      x->kind == FINDING_NTLM;
        name(b, x, x->kind != FINDING_ALT_PORT, server);
    }
}

/* n hosts alike into the counts of hosts by role, rule and finding. */
static void count_hosts(struct host_views *hv, const struct acc *x, uint64_t n)
{
    hv->spoke_netbios += (x->roles & (ROLE_NB_CLIENT | ROLE_NB_SERVER | ROLE_BROADCASTER)) ? n : 0;
    hv->to_fix += (x->rules || x->findings) ? n : 0;
    /* the set bits only: most hosts have none */
    for (uint32_t m = x->rules & (uint32_t)((1ull << RULE_COUNT) - 1u); m; m &= m - 1)
        hv->rule_hosts[__builtin_ctz(m)] += n;
    for (uint32_t m = x->findings & (uint32_t)((1ull << FINDING_COUNT) - 1u); m; m &= m - 1)
        hv->finding_hosts[__builtin_ctz(m)] += n;
}

static void count_host(struct host_views *hv, const struct acc *x) { count_hosts(hv, x, 1); }

static uint64_t flows_of(const struct build *b, uint32_t i)
{
    return (i < b->nled ? host_table_at(b->ht, i)->nb_flows : 0) + b->acc[i].smb_client_conns;
}

static int64_t first_of(const struct build *b, uint32_t i)
{
    return i < b->nled ? host_table_at(b->ht, i)->first_seen
                       : g_array_index(b->extras, struct extra, i - b->nled).first_seen;
}

/* What ranks a host, taken once per host (not once per comparison). */
struct rank_key {
    uint32_t violations, rule_count, finding_count, i;
    uint64_t flows;
    int64_t first;
};

/* Most violations, then most rules, findings and flows, then the earliest;
 * last the accumulator index, so the order is that of a stable sort. */
static int rank(const void *pa, const void *pb)
{
    const struct rank_key *x = pa, *y = pb;
    if (x->violations != y->violations)
        return x->violations > y->violations ? -1 : 1;
    if (x->rule_count != y->rule_count)
        return x->rule_count > y->rule_count ? -1 : 1;
    if (x->finding_count != y->finding_count)
        return x->finding_count > y->finding_count ? -1 : 1;
    if (x->flows != y->flows)
        return x->flows > y->flows ? -1 : 1;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* The listed hosts in rank order: a merge sort with rank() inlined (qsort's
 * call and copies per comparison were most of sorting 10,000 of them).
 * rank() is a total order: the order of any correct sort. */
static void sort_listed(struct rank_key *v, size_t n)
{
    enum { RUN = 8 };
    if (n < 2)
        return;
    for (size_t lo = 0; lo < n; lo += RUN) { /* runs by insertion */
        size_t hi = lo + RUN < n ? lo + RUN : n;
        for (size_t i = lo + 1; i < hi; i++) {
            struct rank_key x = v[i];
            size_t k = i;
            for (; k > lo && rank(&x, &v[k - 1]) < 0; k--)
                v[k] = v[k - 1];
            v[k] = x;
        }
    }
    struct rank_key *tmp = g_new(struct rank_key, n), *src = v, *dst = tmp;
    for (size_t w = RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi)
                dst[o++] = rank(&src[b], &src[a]) < 0 ? src[b++] : src[a++];
            while (a < mid)
                dst[o++] = src[a++];
            while (b < hi)
                dst[o++] = src[b++];
        }
        struct rank_key *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    g_free(tmp);
}

static void materialise(struct host_view *h, const struct build *b, uint32_t i)
{
    const struct acc *x = &b->acc[i];
    memset(h, 0, sizeof *h);
    if (i < b->nled) {
        const struct host_rec *r = host_table_at(b->ht, i);
        h->addr = r->addr;
        h->nb_flows = r->nb_flows;
        h->nb_flows_served = r->nb_flows_served;
        h->nb_packets_sent = r->nb_packets_sent;
        h->first_seen = r->first_seen;
        h->last_seen = r->last_seen;
    } else {
        const struct extra *e = &g_array_index(b->extras, struct extra, i - b->nled);
        h->addr = e->addr;
        h->first_seen = e->first_seen;
        h->last_seen = e->last_seen;
    }
    h->roles = x->roles;
    h->smb_client_conns = x->smb_client_conns;
    h->smb_server_conns = x->smb_server_conns;
    h->rules = x->rules;
    h->findings = x->findings;
    h->violations = x->violations;
    h->finding_count = x->finding_count;
    h->ntlm_sessions = x->ntlm_sessions;
    h->names_index = x->names_index;
}

void host_views_build(struct host_views *hv, const struct analysis *a, const struct verdict *v)
{
    memset(hv, 0, sizeof *hv);
    struct build b;
    memset(&b, 0, sizeof b);
    b.ht = nb_ledger_hosts(a->ledger);
    b.nled = host_table_size(b.ht);
    /* room for every SMB host as a host of its own (most are, on a capture
     * of many clients): no regrowth while they are added */
    uint32_t nsmb = smb_hosts_size(a->smb_hosts);
    b.acc_alloc = b.nled + nsmb + 64;
    b.acc = g_new0(struct acc, b.acc_alloc);
    b.extras = g_array_sized_new(FALSE, FALSE, sizeof(struct extra), nsmb);
    b.extra_index = g_hash_table_new(addr_hash, addr_equal);
    b.extra_keys = g_ptr_array_new_with_free_func(g_free);
    b.names = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    if (host_table_compact_count(b.ht))
        b.backed = g_new0(uint8_t, host_table_compact_slots(b.ht) / 8 + 1);
    from_ledger(&b);
    from_conns(&b, a);
    from_verdict(&b, v);

    /* Every host ranked (broadcast addresses the ledger learned late are
     * left out), but those counted past the ledger's records: counted
     * alike, not ranked (no per-host counts to rank or list them by). */
    uint32_t total = b.nled + b.extras->len, n = 0, broadcasts = 0;
    struct rank_key *order = g_new(struct rank_key, total ? total : 1);
    for (uint32_t i = 0; i < total; i++) {
        if (i < b.nled && host_is_broadcast(b.ht, &host_table_at(b.ht, i)->addr)) {
            broadcasts++;
            continue;
        }
        const struct acc *x = &b.acc[i];
        if (i < b.nled || !g_array_index(b.extras, struct extra, i - b.nled).compact)
            order[n++] = (struct rank_key){ x->violations, (uint32_t)__builtin_popcount(x->rules), x->finding_count,
                                            i, flows_of(&b, i), first_of(&b, i) };
        count_host(hv, x);
    }
    if (b.backed) {
        /* the others by their bits alone: a tally of them, then each
         * value counted once (a pass over the set's bits, not a copy and
         * a broadcast test of each of two million addresses) */
        uint64_t tally[256], bc = 0;
        host_table_compact_tally(b.ht, b.backed, tally, &bc);
        broadcasts += (uint32_t)bc;
        for (unsigned bits = 0; bits < 256; bits++)
            if (tally[bits]) {
                struct acc x = { 0 };
                acc_from_bits(&x, bits);
                count_hosts(hv, &x, tally[bits]);
            }
    }
    hv->ranked = n;
    hv->n = n < VIEWS_LISTED ? n : VIEWS_LISTED;
    /* only the listed ones in order: the first VIEWS_LISTED chosen in
     * linear time, then sorted (rank is a total order: the same views as a
     * sort of every host, which was most of this function on 170,000 hosts) */
    mstate_select(order, n, sizeof *order, hv->n, rank);
    sort_listed(order, hv->n);
    hv->v = g_new(struct host_view, hv->n ? hv->n : 1);
    for (uint32_t i = 0; i < hv->n; i++)
        materialise(&hv->v[i], &b, order[i].i);
    g_free(order);
    bool est = false;
    /* the ledger's records of addresses learned to be broadcasts are not hosts either */
    uint64_t ledger = host_table_total(b.ht, &est);
    hv->total = (ledger > broadcasts ? ledger - broadcasts : 0) + b.extras->len - b.nbacked;
    bool smb_est = false;
    uint64_t smb_total = smb_hosts_total(a->smb_hosts, &smb_est);
    if (smb_est && smb_total > smb_hosts_size(a->smb_hosts)) /* SMB hosts past its cap: estimated */
        hv->total += smb_total - smb_hosts_size(a->smb_hosts);
    hv->total_estimate = est || smb_est;
    /* NetBIOS rows a merge state (or --jobs' fold of a thread's rows past
     * the cap) left out: their flows were counted as not itemised (the
     * rule netbios of their clients), what the rows themselves give is
     * not known here: whether a flow was an attempt (netbios-attempt, or
     * netbios when the flow joins an answer in another part), the names it
     * resolved (netbios-only-name, against every part's DNS), its server
     * (netbios when it answered).  The counts by those, and to_fix, are
     * estimates: labelled so (README: smbscope merge). */
    if (a->state_folded.nb_rows || nb_ledger_fold_inexact(a->ledger)) {
        hv->rules_estimated = 1u << RULE_NETBIOS | 1u << RULE_NETBIOS_ATTEMPT;
        hv->findings_estimated = 1u << FINDING_NETBIOS_ONLY_NAME;
        hv->to_fix_estimate = true;
    }
    hv->names = b.names;
    g_free(b.acc);
    g_array_free(b.extras, TRUE);
    g_hash_table_destroy(b.extra_index);
    g_ptr_array_free(b.extra_keys, TRUE);
    g_free(b.smb_acc);
    g_free(b.backed);
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
    return (unsigned)r < RULE_COUNT ? hv->rule_hosts[r] : 0;
}

uint64_t host_views_count_finding(const struct host_views *hv, enum finding_kind k)
{
    return (unsigned)k < FINDING_COUNT ? hv->finding_hosts[k] : 0;
}

bool host_view_remedy_for_server(const struct host_view *h)
{
    return (h->roles & (ROLE_NB_SERVER | ROLE_SMB_SERVER)) &&
           !(h->roles & (ROLE_NB_CLIENT | ROLE_BROADCASTER | ROLE_SMB_CLIENT));
}

enum remedy_id host_view_remedy(const struct host_view *h, const struct rule_info *ri)
{
    bool server = host_view_remedy_for_server(h);
    enum remedy_id r = server ? ri->remedy_server : ri->remedy_client;
    return r != REMEDY_NONE ? r : (server ? ri->remedy_client : ri->remedy_server);
}
