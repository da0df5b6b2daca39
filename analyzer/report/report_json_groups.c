/* report_json_groups.c - connection_groups[]: every closed SMB connection,
 * folded into groups (conn_groups.h), so the JSON stays as small as the
 * variety of the traffic while connections[] details only the first ones
 * (--connections). */
#include "report_json.h"

#include <string.h>

#include "conn_groups.h"
#include "fmt.h"

static void kaddr_or_null(struct json *j, const char *key, const struct ip_addr *a)
{
    if (a->family) {
        jkaddr(j, key, a);
    } else {
        json_key(j, key);
        json_null(j);
    }
}

static void bit_names(struct json *j, const char *key, uint32_t bits, int count, const char *(*name)(int))
{
    json_key(j, key);
    json_begin_array(j);
    for (int i = 0; i < count; i++)
        if (bits & (1u << i))
            json_str(j, name(i));
    json_end_array(j);
}

static const char *rule_name(int r) { return policy_rule_name((enum policy_rule)r); }
static const char *finding_name(int k) { return finding_info((enum finding_kind)k)->name; }

static void group(struct json *j, const struct conn_group *g, const struct policy *p)
{
    const struct conn_group_key *k = &g->key;
    json_begin_object(j);
    json_kstr(j, "level", conn_group_level_name((enum conn_group_level)k->level));
    json_kuint(j, "connections", g->count);
    kaddr_or_null(j, "client", &k->client);
    kaddr_or_null(j, "server", &k->server);
    json_key(j, "server_port");
    if (k->level == CONN_GROUP_OTHER)
        json_null(j);
    else
        json_uint(j, k->server_port);
    json_kstr(j, "carrier", conn_carrier_name((enum conn_carrier)k->carrier));
    json_kstr(j, "transport", transport_class_name((enum transport_class)k->transport));
    json_key(j, "dialect");
    if (k->dialect_text[0])
        json_str_bytes(j, (const uint8_t *)k->dialect_text, strnlen(k->dialect_text, sizeof k->dialect_text));
    else
        json_null(j);
    json_key(j, "smb_version");
    if (k->smb_version)
        json_uint(j, k->smb_version);
    else
        json_null(j);
    json_kstr(j, "signing", conn_signing_name((enum conn_signing)k->signing));
    json_kbool(j, "signed_seen", (k->flags & CONN_F_SIGNED_SEEN) != 0);
    json_kbool(j, "encrypted", (k->flags & CONN_F_ENCRYPTED) != 0);
    json_kstr(j, "auth", conn_summary_auth_text(k->auth, k->auth_mech));
    json_kbool(j, "start_seen", (k->flags & CONN_F_START_SEEN) != 0);
    uint32_t undecided = conn_group_undecided(k, p);
    bit_names(j, "rules", conn_group_rules(k, p), RULE_COUNT, rule_name);
    bit_names(j, "undecided", undecided, RULE_COUNT, rule_name);
    json_key(j, "unknown");
    if (undecided)
        json_str(j, conn_gap_name((enum conn_gap)k->gap));
    else
        json_null(j);
    bit_names(j, "findings", k->findings, FINDING_COUNT, finding_name);
    json_kuint(j, "ntlm_sessions", g->ntlm_sessions);
    json_kuint(j, "packets", g->packets);
    json_kuint(j, "bytes", g->bytes);
    jktime(j, "first_seen", g->first_ts);
    jktime(j, "last_seen", g->last_ts);
    json_key(j, "examples");
    json_begin_array(j);
    for (int i = 0; i < g->n_examples; i++) {
        const struct conn_group_example *e = &g->examples[i];
        json_begin_object(j);
        jkaddr(j, "client", &e->client);
        json_kuint(j, "client_port", e->client_port);
        jkaddr(j, "server", &e->server);
        json_kuint(j, "server_port", e->server_port);
        jktime(j, "first_seen", e->first_ts);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

void json_connection_groups(struct json *j, const struct analysis *a)
{
    struct conn_groups_stats st = conn_groups_stats(a->groups);
    json_kuint(j, "connections_omitted", a->conns_omitted);
    json_key(j, "connection_groups");
    json_begin_array(j);
    uint32_t *order = conn_groups_ranked(a->groups);
    for (uint32_t i = 0; i < conn_groups_count(a->groups); i++)
        group(j, conn_groups_at(a->groups, order[i]), &a->cfg->policy);
    g_free(order);
    json_end_array(j);
    json_key(j, "connection_groups_summary");
    json_begin_object(j);
    json_kuint(j, "connections", st.connections);
    json_kuint(j, "groups", st.groups);
    json_kuint(j, "cap", st.cap);
    json_kbool(j, "cap_hit", st.folded[CONN_GROUP_ANY_CLIENT] + st.folded[CONN_GROUP_ANY_HOST] +
                                  st.folded[CONN_GROUP_OTHER] > 0);
    json_key(j, "connections_by_level");
    json_begin_object(j);
    for (int l = 0; l < CONN_GROUP_LEVELS; l++)
        json_kuint(j, conn_group_level_name((enum conn_group_level)l), st.folded[l]);
    json_end_object(j);
    json_kuint(j, "connections_detailed", a->conns->len + (a->conn_detail_json ? a->conn_detail_json->len : 0));
    json_end_object(j);
}
