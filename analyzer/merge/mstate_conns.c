/* mstate_conns.c - see mstate_conns.h. */
#include "mstate_conns.h"

#include <stdio.h>
#include <string.h>

#include "conn_groups.h"
#include "fmt.h"
#include "json.h"
#include "report.h"
#include "report_json.h"
#include "mstate_edges.h"
#include "smb_hosts.h"

#define MAX_GROUPS (1u << 20)
#define MAX_SMB_HOSTS (1u << 20)
#define MAX_DETAIL (1u << 22)

static void kint(JsonBuilder *b, const char *k, uint64_t v)
{
    json_builder_set_member_name(b, k);
    json_builder_add_int_value(b, v > INT64_MAX ? INT64_MAX : (gint64)v);
}

static void kaddr(JsonBuilder *b, const char *k, const struct ip_addr *a)
{
    char buf[FMT_ADDR_LEN];
    json_builder_set_member_name(b, k);
    if (a->family)
        json_builder_add_string_value(b, fmt_addr(a, buf));
    else
        json_builder_add_null_value(b);
}

static const char *const smb_host_fields[] = { "addr", "first_seen", "last_seen", "client_conns", "server_conns",
                                               "violations", "finding_count", "ntlm_sessions", "rules", "findings" };

JsonNode *mstate_policy_node(const struct policy *p)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    kint(b, "allow_netbios", p->allow_netbios);
    kint(b, "allow_smb1", p->allow_smb1);
    kint(b, "require_signing", p->require_signing);
    kint(b, "require_encryption", p->require_encryption);
    kint(b, "require_kerberos", p->require_kerberos);
    kint(b, "min_dialect", p->min_dialect);
    kint(b, "race_window_ms", p->race_window_ms);
    char buf[256];
    json_builder_set_member_name(b, "allow_transport");
    json_builder_add_string_value(b, p->n_transports ? policy_transports_text(p, buf, sizeof buf) : "");
    json_builder_end_object(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static void group(JsonBuilder *b, const struct conn_group *g)
{
    const struct conn_group_key *k = &g->key;
    json_builder_begin_object(b);
    kaddr(b, "client", &k->client);
    kaddr(b, "server", &k->server);
    kint(b, "server_port", k->server_port);
    kint(b, "dialect", k->dialect);
    kint(b, "flags", k->flags);
    kint(b, "level", k->level);
    kint(b, "transport", k->transport);
    kint(b, "carrier", k->carrier);
    kint(b, "proto", k->proto);
    kint(b, "smb_version", k->smb_version);
    kint(b, "signing", k->signing);
    kint(b, "auth", k->auth);
    kint(b, "auth_mech", k->auth_mech);
    kint(b, "gap", k->gap);
    kint(b, "findings", k->findings);
    kint(b, "evidence", k->evidence);
    kint(b, "rules", k->rules);
    kint(b, "undecided", k->undecided);
    char *dt = g_utf8_make_valid(k->dialect_text, -1);
    json_builder_set_member_name(b, "dialect_text");
    json_builder_add_string_value(b, dt);
    g_free(dt);
    kint(b, "count", g->count);
    kint(b, "packets", g->packets);
    kint(b, "bytes", g->bytes);
    kint(b, "gaps", g->gaps);
    kint(b, "gap_bytes", g->gap_bytes);
    kint(b, "ntlm_sessions", g->ntlm_sessions);
    kint(b, "start_seen", g->start_seen);
    json_builder_set_member_name(b, "first_ts");
    json_builder_add_int_value(b, g->first_ts);
    json_builder_set_member_name(b, "last_ts");
    json_builder_add_int_value(b, g->last_ts);
    json_builder_set_member_name(b, "last_start_ts");
    json_builder_add_int_value(b, g->last_start_ts);
    json_builder_set_member_name(b, "examples");
    json_builder_begin_array(b);
    for (uint8_t i = 0; i < g->n_examples && i < CONN_GROUP_EXAMPLES; i++) {
        const struct conn_group_example *e = &g->examples[i];
        json_builder_begin_object(b);
        kaddr(b, "client", &e->client);
        kaddr(b, "server", &e->server);
        kint(b, "client_port", e->client_port);
        kint(b, "server_port", e->server_port);
        kint(b, "ntlm_sessions", e->ntlm_sessions);
        json_builder_set_member_name(b, "first_ts");
        json_builder_add_int_value(b, e->first_ts);
        json_builder_set_member_name(b, "last_ts");
        json_builder_add_int_value(b, e->last_ts);
        kint(b, "packets", e->packets);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

/* Groups in first-seen order, ties by key: the same groups give the same
 * state whatever order they were created in. */
static gint group_order(gconstpointer pa, gconstpointer pb, gpointer groups)
{
    const struct conn_group *a = conn_groups_at(groups, *(const uint32_t *)pa);
    const struct conn_group *b = conn_groups_at(groups, *(const uint32_t *)pb);
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    return memcmp(&a->key, &b->key, sizeof a->key);
}

void mstate_build_conns(JsonBuilder *b, const struct analysis *a)
{
    json_builder_set_member_name(b, "policy");
    json_builder_add_value(b, mstate_policy_node(&a->cfg->policy));
    json_builder_set_member_name(b, "groups");
    json_builder_begin_array(b);
    /* without the edge connections: those travel apart (mstate_edges.h) */
    struct conn_groups *groups = a->core_groups ? a->core_groups : a->groups;
    const struct smb_hosts *hosts = a->core_hosts ? a->core_hosts : a->smb_hosts;
    GArray *order = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (uint32_t i = 0; i < conn_groups_count(groups); i++)
        g_array_append_val(order, i);
    g_array_sort_with_data(order, group_order, groups);
    for (guint i = 0; i < order->len; i++)
        group(b, conn_groups_at(groups, g_array_index(order, uint32_t, i)));
    g_array_free(order, TRUE);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "smb_hosts");
    json_builder_begin_object(b);
    kint(b, "unrecorded", smb_hosts_unrecorded(hosts));
    json_builder_set_member_name(b, "fields");
    json_builder_begin_array(b);
    for (size_t i = 0; i < G_N_ELEMENTS(smb_host_fields); i++)
        json_builder_add_string_value(b, smb_host_fields[i]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "records");
    json_builder_begin_array(b);
    for (uint32_t i = 0; i < smb_hosts_size(hosts); i++) {
        const struct host_rec *r;
        const struct smb_host *x = smb_hosts_at(hosts, i, &r);
        if (!r || !x)
            continue;
        /* one compact array per host (SMB_HOST_FIELDS): tens of thousands fit */
        char buf[FMT_ADDR_LEN];
        json_builder_begin_array(b);
        json_builder_add_string_value(b, fmt_addr(&r->addr, buf));
        json_builder_add_int_value(b, r->first_seen);
        json_builder_add_int_value(b, r->last_seen);
        const uint32_t v[] = { x->client_conns, x->server_conns, x->violations, x->finding_count, x->ntlm_sessions,
                               x->rules, x->findings };
        for (size_t k = 0; k < G_N_ELEMENTS(v); k++)
            json_builder_add_int_value(b, v[k]);
        json_builder_end_array(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    kint(b, "conns_detailed", a->conns->len + (a->conn_detail_json ? a->conn_detail_json->len : 0));
    kint(b, "conns_omitted", a->conns_omitted);
    kint(b, "edges_joined", a->edges_joined);
    mstate_build_edges(b, a);
}

JsonNode *mstate_detail_node(const struct analysis *a)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return NULL;
    struct json jj;
    json_init(&jj, mem, false);
    report_json_connections(&jj, a);
    json_flush(&jj);
    fclose(mem);
    JsonParser *p = json_parser_new_immutable();
    JsonNode *n = NULL;
    if (json_parser_load_from_data(p, buf, (gssize)len, NULL))
        n = json_node_copy(json_parser_get_root(p));
    g_object_unref(p);
    free(buf);
    return n;
}

static void read_example(struct jget *g, const struct jpath *ep, JsonObject *o, struct conn_group_example *e)
{
    memset(e, 0, sizeof *e);
    jget_addr(g, ep, o, "client", true, &e->client);
    jget_addr(g, ep, o, "server", true, &e->server);
    e->client_port = (uint16_t)jget_u64(g, ep, o, "client_port", 65535);
    e->server_port = (uint16_t)jget_u64(g, ep, o, "server_port", 65535);
    e->ntlm_sessions = (uint16_t)jget_u64(g, ep, o, "ntlm_sessions", 65535);
    e->first_ts = jget_i64(g, ep, o, "first_ts");
    e->last_ts = jget_i64(g, ep, o, "last_ts");
    e->packets = jget_u64(g, ep, o, "packets", INT64_MAX);
}

static void read_group(struct jget *g, const struct jpath *ip, JsonObject *o, struct conn_group *grp)
{
    memset(grp, 0, sizeof *grp);
    struct conn_group_key *k = &grp->key;
    jget_addr(g, ip, o, "client", true, &k->client);
    jget_addr(g, ip, o, "server", true, &k->server);
    k->server_port = (uint16_t)jget_u64(g, ip, o, "server_port", 65535);
    k->dialect = (uint16_t)jget_u64(g, ip, o, "dialect", 65535);
    k->flags = (uint16_t)jget_u64(g, ip, o, "flags", 65535);
    k->level = (uint8_t)jget_u64(g, ip, o, "level", CONN_GROUP_LEVELS - 1);
    k->transport = (uint8_t)jget_u64(g, ip, o, "transport", 255);
    k->carrier = (uint8_t)jget_u64(g, ip, o, "carrier", CONN_CARRIER_COUNT - 1);
    k->proto = (uint8_t)jget_u64(g, ip, o, "proto", 255);
    k->smb_version = (uint8_t)jget_u64(g, ip, o, "smb_version", 3);
    k->signing = (uint8_t)jget_u64(g, ip, o, "signing", CONN_SIGNING_REQUIRED);
    k->auth = (uint8_t)jget_u64(g, ip, o, "auth", CONN_AUTH_COUNT - 1);
    k->auth_mech = (uint8_t)jget_u64(g, ip, o, "auth_mech", 255);
    k->gap = (uint8_t)jget_u64(g, ip, o, "gap", CONN_GAP_COUNT - 1);
    k->findings = (uint8_t)jget_u64(g, ip, o, "findings", 255);
    k->evidence = (uint32_t)jget_u64(g, ip, o, "evidence", UINT32_MAX);
    k->rules = (uint32_t)jget_u64(g, ip, o, "rules", UINT32_MAX);
    k->undecided = (uint32_t)jget_u64(g, ip, o, "undecided", UINT32_MAX);
    const char *dt = jget_str(g, ip, o, "dialect_text", CONN_DIALECT_TEXT_LEN - 1, false);
    if (dt)
        memcpy(k->dialect_text, dt, strlen(dt));
    grp->count = jget_u64(g, ip, o, "count", INT64_MAX);
    if (!g->failed && grp->count == 0)
        jget_fail(g, ip, "a group of no connection");
    grp->packets = jget_u64(g, ip, o, "packets", INT64_MAX);
    grp->bytes = jget_u64(g, ip, o, "bytes", INT64_MAX);
    grp->gaps = jget_u64(g, ip, o, "gaps", INT64_MAX);
    grp->gap_bytes = jget_u64(g, ip, o, "gap_bytes", INT64_MAX);
    grp->ntlm_sessions = jget_u64(g, ip, o, "ntlm_sessions", INT64_MAX);
    grp->start_seen = jget_u64(g, ip, o, "start_seen", grp->count);
    grp->first_ts = jget_i64(g, ip, o, "first_ts");
    grp->last_ts = jget_i64(g, ip, o, "last_ts");
    grp->last_start_ts = jget_i64(g, ip, o, "last_start_ts");
    struct jpath xp, ep;
    jpath_key(&xp, ip, "examples");
    JsonArray *ex = jget_arr(g, ip, o, "examples", CONN_GROUP_EXAMPLES);
    for (guint i = 0; ex && !g->failed && i < json_array_get_length(ex); i++) {
        jpath_index(&ep, &xp, i);
        read_example(g, &ep, jget_object(g, &ep, json_array_get_element(ex, i)), &grp->examples[i]);
        grp->n_examples = (uint8_t)(i + 1);
    }
}

static void fold_groups(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    struct jpath ap, ip;
    jpath_key(&ap, p, "groups");
    JsonArray *arr = jget_arr(g, p, st, "groups", MAX_GROUPS);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        struct conn_group grp;
        read_group(g, &ip, jget_object(g, &ip, json_array_get_element(arr, i)), &grp);
        if (!g->failed)
            conn_groups_add_group(a->groups, &grp);
    }
}

static void fold_smb_hosts(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    struct jpath hp, ap, ip;
    JsonObject *o = jget_obj(g, p, st, "smb_hosts");
    jpath_key(&hp, p, "smb_hosts");
    smb_hosts_fold_unrecorded(a->smb_hosts, jget_u64(g, &hp, o, "unrecorded", INT64_MAX));
    JsonArray *arr = jget_arr(g, &hp, o, "records", MAX_SMB_HOSTS);
    jpath_key(&ap, &hp, "records");
    JsonArray *fields = jget_arr(g, &hp, o, "fields", G_N_ELEMENTS(smb_host_fields));
    struct jpath fp;
    jpath_key(&fp, &hp, "fields");
    bool same = fields && json_array_get_length(fields) == G_N_ELEMENTS(smb_host_fields);
    for (guint i = 0; same && i < G_N_ELEMENTS(smb_host_fields); i++) {
        const char *n = jget_elem_str(g, &fp, fields, i, 32);
        same = n && strcmp(n, smb_host_fields[i]) == 0;
    }
    if (!same && !g->failed)
        jget_fail(g, &fp, "not the members this smbscope writes");
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *r = JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
        if (!r || json_array_get_length(r) != G_N_ELEMENTS(smb_host_fields)) {
            jget_fail(g, &ip, "not a host of fields' members");
            return;
        }
        struct host_rec rec;
        struct smb_host x;
        memset(&rec, 0, sizeof rec);
        memset(&x, 0, sizeof x);
        const char *s = jget_elem_str(g, &ip, r, 0, 64);
        if (s && !jget_parse_addr(s, &rec.addr))
            jget_fail(g, &ip, "not an address");
        rec.first_seen = jget_elem_i64(g, &ip, r, 1);
        rec.last_seen = jget_elem_i64(g, &ip, r, 2);
        uint32_t *v[] = { &x.client_conns, &x.server_conns, &x.violations, &x.finding_count, &x.ntlm_sessions,
                          &x.rules, &x.findings };
        for (size_t k = 0; k < G_N_ELEMENTS(v); k++) {
            int64_t val = jget_elem_i64(g, &ip, r, (guint)(3 + k));
            if (val < 0 || val > UINT32_MAX)
                jget_fail(g, &ip, "a count out of range");
            *v[k] = (uint32_t)val;
        }
        if (!g->failed)
            smb_hosts_fold(a->smb_hosts, &rec, &x);
    }
}

void mstate_fold_conns(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, JsonNode *detail)
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
    fold_groups(g, p, a, st);
    fold_smb_hosts(g, p, a, st);
    a->edges_joined += jget_u64(g, p, st, "edges_joined", INT64_MAX);
    mstate_fold_edges(g, p, a, st);
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
        if (!JSON_NODE_HOLDS_OBJECT(e)) {
            struct jpath cp;
            jpath_index(&cp, NULL, i);
            jget_fail(g, &cp, "connections[]: an entry that is not an object");
            return;
        }
        g_ptr_array_add(a->conn_detail_json, json_node_copy(e));
    }
}
