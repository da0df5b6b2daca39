/* mstate_conns.c - see mstate_conns.h. */
#include "mstate_conns.h"
#include "mstate_detail.h"

#include <stdio.h>
#include <string.h>

#include "conn_groups.h"
#include "fmt.h"
#include "json.h"
#include "report.h"
#include "report_json.h"
#include "mstate.h"
#include "mstate_canon.h"
#include "mstate_cut.h"
#include "mstate_edges.h"
#include "mstate_group_order.h"
#include "mstate_groups_past.h"
#include "mstate_half_open.h"
#include "mstate_syn_starts.h"
#include "mstate_join_hs.h"
#include "mstate_join_quic.h"
#include "mstate_join_syn.h"
#include "mstate_put.h"
#include "mstate_select.h"
#include "mstate_tails.h"
#include "mstate_xchg.h"
#include "smb_hosts.h"

#define MAX_GROUPS (1u << 20)
#define MAX_SMB_HOSTS (1u << 20)
#define MAX_DETAIL (1u << 22)

static const char *const smb_host_fields[] = { "addr", "first_seen", "last_seen", "client_conns", "server_conns",
                                               "violations", "finding_count", "ntlm_sessions", "rules", "findings" };

/* A node (the reader compares it with the report's own); the writer
 * streams it through mstate_put_node(). */
static void pint(JsonBuilder *b, const char *k, uint64_t v)
{
    json_builder_set_member_name(b, k);
    json_builder_add_int_value(b, (gint64)v);
}

JsonNode *mstate_policy_node(const struct policy *p)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    pint(b, "allow_netbios", p->allow_netbios);
    pint(b, "allow_smb1", p->allow_smb1);
    pint(b, "require_signing", p->require_signing);
    pint(b, "require_encryption", p->require_encryption);
    pint(b, "require_kerberos", p->require_kerberos);
    pint(b, "min_dialect", p->min_dialect);
    pint(b, "race_window_ms", p->race_window_ms);
    char buf[256];
    json_builder_set_member_name(b, "allow_transport");
    json_builder_add_string_value(b, p->n_transports ? policy_transports_text(p, buf, sizeof buf) : "");
    json_builder_end_object(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

/* mstate_policy_node() written as mstate_put_node() writes it (the same
 * bytes), without the tree: an analysis calls no json-glib function, so it
 * does not load the library (analyzer/json_lazy.c). */
static void put_policy(struct json *b, const struct policy *p)
{
    json_begin_object(b);
    json_kint(b, "allow_netbios", (gint64)p->allow_netbios);
    json_kint(b, "allow_smb1", (gint64)p->allow_smb1);
    json_kint(b, "require_signing", (gint64)p->require_signing);
    json_kint(b, "require_encryption", (gint64)p->require_encryption);
    json_kint(b, "require_kerberos", (gint64)p->require_kerberos);
    json_kint(b, "min_dialect", (gint64)p->min_dialect);
    json_kint(b, "race_window_ms", (gint64)p->race_window_ms);
    char buf[256];
    json_key(b, "allow_transport");
    json_str(b, p->n_transports ? policy_transports_text(p, buf, sizeof buf) : "");
    json_end_object(b);
}

/* A group is one compact array of group_fields' members (a thousand
 * groups must stay small in the report); an example is an array of
 * example_fields', its client or server null when it is the group's. */
enum gf {
    GF_CLIENT, GF_SERVER, GF_SERVER_PORT, GF_DIALECT, GF_FLAGS, GF_LEVEL, GF_TRANSPORT, GF_CARRIER, GF_PROTO,
    GF_SMB_VERSION, GF_SIGNING, GF_AUTH, GF_AUTH_MECH, GF_GAP, GF_FINDINGS, GF_EVIDENCE, GF_RULES, GF_UNDECIDED,
    GF_DIALECT_TEXT, GF_COUNT_, GF_PACKETS, GF_BYTES, GF_GAPS, GF_GAP_BYTES, GF_NTLM, GF_START_SEEN, GF_FIRST_TS,
    GF_LAST_TS, GF_LAST_START_TS, GF_EXAMPLES, GF_N
};
static const char *const group_fields[GF_N] = {
    "client", "server", "server_port", "dialect", "flags", "level", "transport", "carrier", "proto",
    "smb_version", "signing", "auth", "auth_mech", "gap", "findings", "evidence", "rules", "undecided",
    "dialect_text", "count", "packets", "bytes", "gaps", "gap_bytes", "ntlm_sessions", "start_seen", "first_ts",
    "last_ts", "last_start_ts", "examples",
};
enum xf { XF_CLIENT, XF_SERVER, XF_CLIENT_PORT, XF_SERVER_PORT, XF_NTLM, XF_FIRST_TS, XF_LAST_TS, XF_PACKETS, XF_N };
static const char *const example_fields[XF_N] = { "client", "server", "client_port", "server_port",
                                                  "ntlm_sessions", "first_ts", "last_ts", "packets" };


/* An address element, null when it is the same as `same` too. */
static void vaddr_unless(struct json *b, const struct ip_addr *a, const struct ip_addr *same)
{
    if (same && same->family == a->family && memcmp(same->bytes, a->bytes, sizeof a->bytes) == 0)
        json_null(b);
    else
        vaddr(b, a);
}

static void group(struct json *b, const struct conn_group *g)
{
    const struct conn_group_key *k = &g->key;
    json_begin_array(b);
    vaddr(b, &k->client);
    vaddr(b, &k->server);
    const uint64_t key[] = { k->server_port, k->dialect,   k->flags, k->level, k->transport, k->carrier,
                             k->proto,       k->smb_version, k->signing, k->auth, k->auth_mech, k->gap,
                             k->findings,    k->evidence,  k->rules, k->undecided };
    for (size_t i = 0; i < G_N_ELEMENTS(key); i++)
        vint(b, key[i]);
    char *dt = g_utf8_make_valid(k->dialect_text, -1);
    json_str(b, dt);
    g_free(dt);
    const uint64_t counts[] = { g->count, g->packets, g->bytes, g->gaps, g->gap_bytes, g->ntlm_sessions,
                                g->start_seen };
    for (size_t i = 0; i < G_N_ELEMENTS(counts); i++)
        vint(b, counts[i]);
    json_int(b, g->first_ts);
    json_int(b, g->last_ts);
    json_int(b, g->last_start_ts);
    json_begin_array(b);
    for (uint8_t i = 0; i < g->n_examples && i < CONN_GROUP_EXAMPLES; i++) {
        const struct conn_group_example *e = &g->examples[i];
        json_begin_array(b);
        vaddr_unless(b, &e->client, &k->client);
        vaddr_unless(b, &e->server, &k->server);
        vint(b, e->client_port);
        vint(b, e->server_port);
        vint(b, e->ntlm_sessions);
        json_int(b, e->first_ts);
        json_int(b, e->last_ts);
        vint(b, e->packets);
        json_end_array(b);
    }
    json_end_array(b);
    json_end_array(b);
}

static void names(struct json *b, const char *k, const char *const *v, size_t n)
{
    json_key(b, k);
    json_begin_array(b);
    for (size_t i = 0; i < n; i++)
        json_str(b, v[i]);
    json_end_array(b);
}


/* Hosts ranked as the hosts view ranks them (hostview.c: what they broke
 * first, then how much they connected), ties by first seen and address:
 * the records a capped state keeps are the ones a report lists first. */
struct ranked {
    uint32_t violations, rule_count, finding_count, i; /* the rank's keys, taken once per host */
    uint64_t conns;
    int64_t first;
    const struct host_rec *r;
    const struct smb_host *x;
};

static int host_rank(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    if (a->violations != b->violations)
        return a->violations > b->violations ? -1 : 1;
    if (a->rule_count != b->rule_count)
        return a->rule_count > b->rule_count ? -1 : 1;
    if (a->finding_count != b->finding_count)
        return a->finding_count > b->finding_count ? -1 : 1;
    if (a->conns != b->conns)
        return a->conns > b->conns ? -1 : 1;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static int by_index(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    return (a->i > b->i) - (a->i < b->i);
}

/* one compact array per host (smb_host_fields) */
static void smb_host_rec(struct json *b, const struct host_rec *r, const struct smb_host *x)
{
    char buf[FMT_ADDR_LEN];
    json_begin_array(b);
    json_str(b, fmt_addr(&r->addr, buf));
    json_int(b, r->first_seen);
    json_int(b, r->last_seen);
    const uint32_t v[] = { x->client_conns, x->server_conns, x->violations, x->finding_count, x->ntlm_sessions,
                           x->rules, x->findings };
    for (size_t k = 0; k < G_N_ELEMENTS(v); k++)
        json_int(b, v[k]);
    json_end_array(b);
}

/* The SMB hosts, at most MSTATE_SMB_HOSTS_CAP records; the hosts past it
 * folded: how many, their connection ends (merge counts them as ends
 * without a record), and the HyperLogLog of every address (merge's host
 * total is then an estimate, labelled so). */
static void smb_hosts_state(struct json *b, const struct smb_hosts *hosts, uint64_t a_folded)
{
    uint32_t n = smb_hosts_size(hosts), kept = 0;
    struct ranked *v = g_new(struct ranked, n ? n : 1);
    for (uint32_t i = 0; i < n; i++) {
        const struct host_rec *r;
        const struct smb_host *x = smb_hosts_at(hosts, i, &r);
        if (r && x)
            v[kept++] = (struct ranked){ x->violations, (uint32_t)__builtin_popcount(x->rules), x->finding_count, i,
                                         (uint64_t)x->client_conns + x->server_conns, r->first_seen, r, x };
    }
    uint64_t folded = 0, folded_ends = 0;
    if (kept > MSTATE_SMB_HOSTS_CAP) {
        mstate_select(v, kept, sizeof *v, MSTATE_SMB_HOSTS_CAP, host_rank); /* the first CAP, unordered */
        for (uint32_t i = MSTATE_SMB_HOSTS_CAP; i < kept; i++)
            folded_ends += (uint64_t)v[i].x->client_conns + v[i].x->server_conns;
        folded = kept - MSTATE_SMB_HOSTS_CAP;
        kept = MSTATE_SMB_HOSTS_CAP;
        qsort(v, kept, sizeof *v, by_index); /* first-seen order, as the table has them */
    }
    bool est;
    smb_hosts_total(hosts, &est);
    json_key(b, "smb_hosts");
    json_begin_object(b);
    kint(b, "unrecorded", smb_hosts_unrecorded(hosts));
    kint(b, "cap", MSTATE_SMB_HOSTS_CAP);
    kint(b, "folded", folded + a_folded);
    kint(b, "folded_ends", folded_ends);
    names(b, "fields", smb_host_fields, G_N_ELEMENTS(smb_host_fields));
    json_key(b, "records");
    json_begin_array(b);
    for (uint32_t i = 0; i < kept; i++)
        smb_host_rec(b, v[i].r, v[i].x);
    json_end_array(b);
    if (folded || est) /* the table's estimator holds every address it was given */
        mstate_put_distinct(b, "all", smb_hosts_addresses(hosts), 0);
    json_end_object(b);
    g_free(v);
}

void mstate_build_conns(struct json *b, const struct analysis *a)
{
    json_key(b, "policy");
    put_policy(b, &a->cfg->policy);
    names(b, "group_fields", group_fields, GF_N);
    names(b, "example_fields", example_fields, XF_N);
    json_key(b, "groups");
    json_begin_array(b);
    /* without the edge connections: those travel apart (mstate_edges.h) */
    struct conn_groups *groups = a->core_groups ? a->core_groups : a->groups;
    const struct smb_hosts *hosts = a->core_hosts ? a->core_hosts : a->smb_hosts;
    GArray *order = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (uint32_t i = 0; i < conn_groups_count(groups); i++)
        g_array_append_val(order, i);
    g_array_sort_with_data(order, mstate_group_first_seen_cmp, groups);
    for (guint i = 0; i < order->len; i++)
        group(b, conn_groups_at(groups, g_array_index(order, uint32_t, i)));
    json_end_array(b);
    mstate_put_group_closes(b, a, groups, order);
    g_array_free(order, TRUE);
    groups_past_build(b, a, group); /* past the cap: what the groups folded, finer */
    smb_hosts_state(b, hosts, a->state_folded.smb_hosts);
    kint(b, "conns_detailed", a->conns->len + (a->conn_detail_json ? a->conn_detail_json->len : 0));
    kint(b, "conns_omitted", a->conns_omitted);
    kint(b, "edges_joined", a->edges_joined);
    mstate_build_edges(b, a);
    mstate_build_edge_half_open(b, a);
    mstate_build_edge_isns(b, a);
    mstate_build_tails(b, a);
    mstate_build_syn_flows(b, a);
    mstate_build_syn_starts(b, a);
    mstate_build_quic_tails(b, a);
    mstate_build_edge_seqs(b, a);
    mstate_build_xchg(b, a);
}

/* An address element; null: the one given (family 0 when none). */
static void eaddr(struct jget *g, const struct jpath *p, JsonArray *a, guint i, const struct ip_addr *dflt,
                  struct ip_addr *out)
{
    memset(out, 0, sizeof *out);
    JsonNode *n = g->failed ? NULL : json_array_get_element(a, i);
    if (!n || JSON_NODE_HOLDS_NULL(n)) {
        if (dflt)
            *out = *dflt;
        return;
    }
    const char *s = jget_elem_str(g, p, a, i, 64);
    if (s && !jget_parse_addr(s, out)) {
        struct jpath ip;
        jpath_index(&ip, p, i);
        jget_fail(g, &ip, "not an IPv4 or IPv6 address");
    }
}

static void read_example(struct jget *g, const struct jpath *ep, JsonArray *x, const struct conn_group_key *k,
                         struct conn_group_example *e)
{
    memset(e, 0, sizeof *e);
    if (!x || json_array_get_length(x) != XF_N) {
        jget_fail(g, ep, "not an example of example_fields' members");
        return;
    }
    eaddr(g, ep, x, XF_CLIENT, &k->client, &e->client);
    eaddr(g, ep, x, XF_SERVER, &k->server, &e->server);
    e->client_port = (uint16_t)jget_elem_u64(g, ep, x, XF_CLIENT_PORT, 65535);
    e->server_port = (uint16_t)jget_elem_u64(g, ep, x, XF_SERVER_PORT, 65535);
    e->ntlm_sessions = (uint16_t)jget_elem_u64(g, ep, x, XF_NTLM, 65535);
    e->first_ts = jget_elem_ts(g, ep, x, XF_FIRST_TS);
    e->last_ts = jget_elem_ts(g, ep, x, XF_LAST_TS);
    e->packets = jget_elem_u64(g, ep, x, XF_PACKETS, INT64_MAX);
}

static void read_group(struct jget *g, const struct jpath *ip, JsonArray *o, struct conn_group *grp)
{
    memset(grp, 0, sizeof *grp);
    struct conn_group_key *k = &grp->key;
    if (!o || json_array_get_length(o) != GF_N) {
        jget_fail(g, ip, "not a group of group_fields' members");
        return;
    }
    eaddr(g, ip, o, GF_CLIENT, NULL, &k->client);
    eaddr(g, ip, o, GF_SERVER, NULL, &k->server);
    k->server_port = (uint16_t)jget_elem_u64(g, ip, o, GF_SERVER_PORT, 65535);
    k->dialect = (uint16_t)jget_elem_u64(g, ip, o, GF_DIALECT, 65535);
    k->flags = (uint16_t)jget_elem_u64(g, ip, o, GF_FLAGS, 65535);
    k->level = (uint8_t)jget_elem_u64(g, ip, o, GF_LEVEL, CONN_GROUP_LEVELS - 1);
    k->transport = (uint8_t)jget_elem_u64(g, ip, o, GF_TRANSPORT, 255);
    k->carrier = (uint8_t)jget_elem_u64(g, ip, o, GF_CARRIER, CONN_CARRIER_COUNT - 1);
    k->proto = (uint8_t)jget_elem_u64(g, ip, o, GF_PROTO, 255);
    k->smb_version = (uint8_t)jget_elem_u64(g, ip, o, GF_SMB_VERSION, 3);
    k->signing = (uint8_t)jget_elem_u64(g, ip, o, GF_SIGNING, CONN_SIGNING_REQUIRED);
    k->auth = (uint8_t)jget_elem_u64(g, ip, o, GF_AUTH, CONN_AUTH_COUNT - 1);
    k->auth_mech = (uint8_t)jget_elem_u64(g, ip, o, GF_AUTH_MECH, 255);
    k->gap = (uint8_t)jget_elem_u64(g, ip, o, GF_GAP, CONN_GAP_COUNT - 1);
    k->findings = (uint8_t)jget_elem_u64(g, ip, o, GF_FINDINGS, 255);
    k->evidence = (uint32_t)jget_elem_u64(g, ip, o, GF_EVIDENCE, UINT32_MAX);
    k->rules = (uint32_t)jget_elem_u64(g, ip, o, GF_RULES, UINT32_MAX);
    k->undecided = (uint32_t)jget_elem_u64(g, ip, o, GF_UNDECIDED, UINT32_MAX);
    const char *dt = jget_elem_str(g, ip, o, GF_DIALECT_TEXT, CONN_DIALECT_TEXT_LEN - 1);
    if (dt)
        memcpy(k->dialect_text, dt, strlen(dt));
    grp->count = jget_elem_u64(g, ip, o, GF_COUNT_, INT64_MAX);
    if (!g->failed && grp->count == 0)
        jget_fail(g, ip, "a group of no connection");
    grp->packets = jget_elem_u64(g, ip, o, GF_PACKETS, INT64_MAX);
    grp->bytes = jget_elem_u64(g, ip, o, GF_BYTES, INT64_MAX);
    grp->gaps = jget_elem_u64(g, ip, o, GF_GAPS, INT64_MAX);
    grp->gap_bytes = jget_elem_u64(g, ip, o, GF_GAP_BYTES, INT64_MAX);
    grp->ntlm_sessions = jget_elem_u64(g, ip, o, GF_NTLM, INT64_MAX);
    grp->start_seen = jget_elem_u64(g, ip, o, GF_START_SEEN, grp->count);
    grp->first_ts = jget_elem_ts(g, ip, o, GF_FIRST_TS);
    grp->last_ts = jget_elem_ts(g, ip, o, GF_LAST_TS);
    grp->last_start_ts = jget_elem_ts(g, ip, o, GF_LAST_START_TS);
    struct jpath xp, ep;
    jpath_index(&xp, ip, GF_EXAMPLES);
    JsonArray *ex = g->failed ? NULL : jget_node_arr(json_array_get_element(o, GF_EXAMPLES));
    if (!g->failed && (!ex || json_array_get_length(ex) > CONN_GROUP_EXAMPLES))
        jget_fail(g, &xp, "not an array of at most 3 examples");
    for (guint i = 0; ex && !g->failed && i < json_array_get_length(ex); i++) {
        jpath_index(&ep, &xp, i);
        read_example(g, &ep, jget_node_arr(json_array_get_element(ex, i)), k, &grp->examples[i]);
        grp->n_examples = (uint8_t)(i + 1);
    }
}

/* A state's group rows (or SMB host records): the array of its tree, or
 * its text cut out of the state (mstate_cut.h) read a row at a time (a
 * forged state of 65,536 rows took 360 MB as one tree).  The next row,
 * NULL when it is no array (or g failed). */
static JsonArray *rows_next(struct mstate_arr *r, struct jget *g, const struct jpath *ip)
{
    return jget_node_arr(mstate_arr_next(r, g, ip));
}

/* A state's groups (its rows, their close numbers in closes) into the
 * wide table, each noted where the run made it; lower: rows without a
 * server (any-host, other) skipped (their connections added there), else
 * NULL. */
static uint64_t fold_rows(struct jget *g, const struct jpath *ap, struct analysis *a, struct mstate_arr *rows,
                          struct mstate_arr *closes, int64_t run_first_ts, uint64_t *lower, bool past_rows)
{
    uint64_t conns = 0;
    struct jpath ip;
    for (guint i = 0; !g->failed && i < rows->n; i++) {
        jpath_index(&ip, ap, i);
        struct conn_group grp;
        read_group(g, &ip, rows_next(rows, g, &ip), &grp);
        int64_t at = closes ? mstate_arr_peek_i64(closes) : i; /* read in order: every row's */
        if (g->failed)
            break;
        if (lower && grp.key.level > CONN_GROUP_ANY_CLIENT) {
            *lower += grp.count;
            continue;
        }
        conns += grp.count;
        if (!lower && past_rows) /* groups_past's: where the state's rows of syn_starts are (mstate_groups_past.h) */
            groups_past_row_read(a, &grp.key);
        conn_groups_add_group(a->groups, &grp);
        /* noted only where the wide table holds it: as many notes as groups */
        if (a->group_order && conn_groups_has(a->groups, &grp.key))
            mstate_group_order_note(a, &grp.key, run_first_ts, at, grp.first_ts);
    }
    return conns;
}

/* state.groups_past (mstate_groups_past.h): the connections the state's
 * groups hold without a server (lower), by server. */
static uint64_t fold_past(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st,
                          int64_t run_first_ts, uint64_t lower, const struct mstate_cut *cut)
{
    struct jpath pp, ap;
    jpath_key(&pp, p, "groups_past");
    JsonObject *o = jget_obj(g, p, st, "groups_past");
    jpath_key(&ap, &pp, "groups");
    struct mstate_arr rows, closes;
    bool have = mstate_arr_open(&rows, g, &pp, o, "groups", MAX_GROUPS, cut, MSTATE_CUT_PAST_GROUPS);
    bool numbered = mstate_arr_peek(&closes, o, "closes", cut, MSTATE_CUT_PAST_CLOSES);
    guint n = rows.n;
    uint64_t conns = have ? fold_rows(g, &ap, a, &rows, numbered ? &closes : NULL, run_first_ts, NULL, true) : 0;
    mstate_arr_close(&rows);
    mstate_arr_close(&closes);
    if (have)
        mstate_closes_check_cut(g, &pp, o, "closes", n, cut, MSTATE_CUT_PAST_CLOSES);
    if (!g->failed && conns != lower)
        jget_fail(g, &ap, "not the connections the state's groups hold without a server");
    if (!g->failed)
        groups_past_fold_keys(g, &pp, a, o);
    return conns;
}

static void fold_groups(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st,
                        const struct mstate_cut *cut)
{
    struct jpath ap;
    jget_names(g, p, st, "group_fields", group_fields, GF_N);
    jget_names(g, p, st, "example_fields", example_fields, XF_N);
    jpath_key(&ap, p, "groups");
    struct mstate_arr rows, closes;
    bool have = mstate_arr_open(&rows, g, p, st, "groups", MAX_GROUPS, cut, MSTATE_CUT_GROUPS);
    struct jpath rp;
    jpath_key(&rp, p, "run");
    int64_t run_first_ts = a->group_order ? jget_ts_or_none(g, &rp, jget_obj(g, p, st, "run"), "first_ts") : 0;
    mstate_group_order_run(a, g, p, st, run_first_ts, cut);
    bool numbered = mstate_arr_peek(&closes, st, "group_closes", cut, MSTATE_CUT_GROUP_CLOSES);
    /* with groups_past, the groups without a server are read from it */
    bool past = json_object_has_member(st, "groups_past");
    uint64_t lower = 0;
    guint n = rows.n;
    uint64_t conns = have ? fold_rows(g, &ap, a, &rows, numbered ? &closes : NULL, run_first_ts, past ? &lower : NULL, false) : 0;
    mstate_arr_close(&rows);
    mstate_arr_close(&closes);
    if (have)
        mstate_closes_check_cut(g, p, st, "group_closes", n, cut, MSTATE_CUT_GROUP_CLOSES);
    if (past && !g->failed)
        conns += fold_past(g, p, a, st, run_first_ts, lower, cut);
    JsonArray *edges = mstate_closes_peek(st, "edges");
    mstate_group_order_run_conns(a, run_first_ts, conns + (edges ? json_array_get_length(edges) : 0));
}

static void fold_smb_hosts(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st,
                           const struct mstate_cut *cut)
{
    struct jpath hp, ap, ip;
    JsonObject *o = jget_obj(g, p, st, "smb_hosts");
    jpath_key(&hp, p, "smb_hosts");
    smb_hosts_fold_unrecorded(a->smb_hosts, jget_u64(g, &hp, o, "unrecorded", INT64_MAX));
    uint64_t cap = jget_u64(g, &hp, o, "cap", MAX_SMB_HOSTS);
    uint64_t folded = jget_u64(g, &hp, o, "folded", INT64_MAX);
    a->state_folded.smb_hosts += folded;
    /* the folded hosts' connection ends have no record here either */
    smb_hosts_fold_unrecorded(a->smb_hosts, jget_u64(g, &hp, o, "folded_ends", INT64_MAX));
    struct mstate_arr recs;
    bool have = mstate_arr_open(&recs, g, &hp, o, "records", (guint)cap, cut, MSTATE_CUT_SMB_HOSTS);
    jpath_key(&ap, &hp, "records");
    jget_names(g, &hp, o, "fields", smb_host_fields, G_N_ELEMENTS(smb_host_fields));
    if (!g->failed && (folded || json_object_has_member(o, "all"))) {
        struct jpath allp;
        jpath_key(&allp, &hp, "all");
        uint8_t *regs = g_malloc(DISTINCT_HLL_REGS);
        if (mstate_get_hll(g, &allp, jget_obj(g, &hp, o, "all"), regs))
            smb_hosts_fold_estimate(a->smb_hosts, regs);
        g_free(regs);
    }
    for (guint i = 0; have && !g->failed && i < recs.n; i++) {
        jpath_index(&ip, &ap, i);
        JsonArray *r = rows_next(&recs, g, &ip);
        if (!r || json_array_get_length(r) != G_N_ELEMENTS(smb_host_fields)) {
            jget_fail(g, &ip, "not a host of fields' members");
            break;
        }
        struct host_rec rec;
        struct smb_host x;
        memset(&rec, 0, sizeof rec);
        memset(&x, 0, sizeof x);
        const char *s = jget_elem_str(g, &ip, r, 0, 64);
        if (s && !jget_parse_addr(s, &rec.addr))
            jget_fail(g, &ip, "not an address");
        rec.first_seen = jget_elem_ts(g, &ip, r, 1);
        rec.last_seen = jget_elem_ts(g, &ip, r, 2);
        uint32_t *v[] = { &x.client_conns, &x.server_conns, &x.violations, &x.finding_count, &x.ntlm_sessions,
                          &x.rules, &x.findings };
        for (size_t k = 0; k < G_N_ELEMENTS(v); k++) {
            int64_t val = jget_elem_i64(g, &ip, r, (guint)(3 + k));
            if (val < 0 || val > UINT32_MAX)
                jget_fail(g, &ip, "a count out of range");
            *v[k] = (uint32_t)val;
        }
        if (!g->failed && !syn_starts_host_fold(a, &rec, &x))
            smb_hosts_fold(a->smb_hosts, &rec, &x);
    }
    mstate_arr_close(&recs);
}

void mstate_fold_conns(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, JsonNode *detail,
                       const struct mstate_cut *cut)
{
    struct jpath kp;
    jpath_key(&kp, p, "policy");
    JsonObject *po = jget_obj(g, p, st, "policy");
    if (po) {
        JsonNode *mine = mstate_policy_node(&a->cfg->policy);
        if (!json_node_equal(mine, json_object_get_member(st, "policy")))
            jget_fail(g, &kp, "the report was judged under another policy: give merge the policy options the "
                      "runs had");
        json_node_unref(mine);
    }
    fold_groups(g, p, a, st, cut);
    mstate_fold_syn_starts(g, p, a, st); /* before the hosts: some folded without a row's start */
    fold_smb_hosts(g, p, a, st, cut);
    syn_starts_hosts_done(a);
    a->edges_joined += jget_u64(g, p, st, "edges_joined", INT64_MAX);
    guint edges_from = a->edges->len;
    mstate_fold_edges(g, p, a, st);
    JsonArray *state_edges = mstate_closes_peek(st, "edges");
    mstate_fold_edge_half_open(g, p, a, st, edges_from, state_edges ? json_array_get_length(state_edges) : 0);
    mstate_fold_edge_isns(g, p, a, st, edges_from, state_edges ? json_array_get_length(state_edges) : 0);
    mstate_fold_tails(g, p, a, st);
    mstate_fold_syn_flows(g, p, a, st);
    mstate_fold_quic_tails(g, p, a, st);
    mstate_fold_edge_seqs(g, p, a, st);
    mstate_fold_xchg(g, p, a, st);
    uint64_t detailed = jget_u64(g, p, st, "conns_detailed", MAX_DETAIL);
    a->conns_omitted += jget_u64(g, p, st, "conns_omitted", INT64_MAX);
    if (!detail) /* --jobs: the detail travels as the connections themselves (jobs.c) */
        return;
    guint n = JSON_NODE_HOLDS_ARRAY(detail) ? json_array_get_length(json_node_get_array(detail)) : 0;
    if (!g->failed && n != detailed)
        jget_fail(g, p, "conns_detailed is not the number of connections[] entries");
    if (g->failed)
        return;
    if (!a->conn_detail_json)
        a->conn_detail_json = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    for (guint i = 0; i < n; i++) {
        JsonNode *e = json_array_get_element(json_node_get_array(detail), i);
        const char *why = JSON_NODE_HOLDS_OBJECT(e) ? mstate_detail_entry_check(e) : "connections[]: an entry that is not an object";
        if (why) {
            struct jpath cp;
            jpath_index(&cp, NULL, i);
            jget_fail(g, &cp, why);
            return;
        }
        g_ptr_array_add(a->conn_detail_json, json_node_copy(e));
    }
}
