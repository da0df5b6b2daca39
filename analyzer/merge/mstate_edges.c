/* mstate_edges.c - see mstate_edges.h. */
#include "mstate_edges.h"

#include <string.h>

#include "conn_groups.h"
#include "fmt.h"
#include "mstate_detail.h"
#include "smb_hosts.h"

static void kint(JsonBuilder *b, const char *k, uint64_t v)
{
    json_builder_set_member_name(b, k);
    json_builder_add_int_value(b, v > INT64_MAX ? INT64_MAX : (gint64)v);
}

static void kts(JsonBuilder *b, const char *k, int64_t v)
{
    json_builder_set_member_name(b, k);
    json_builder_add_int_value(b, v);
}

static void kstr(JsonBuilder *b, const char *k, const char *s)
{
    char *v = g_utf8_make_valid(s, -1);
    json_builder_set_member_name(b, k);
    json_builder_add_string_value(b, v);
    g_free(v);
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

static void summary(JsonBuilder *b, const struct conn_summary *cs)
{
    json_builder_begin_object(b);
    kaddr(b, "client", &cs->client);
    kaddr(b, "server", &cs->server);
    kint(b, "client_port", cs->client_port);
    kint(b, "server_port", cs->server_port);
    kts(b, "first_ts", cs->first_ts);
    kts(b, "last_ts", cs->last_ts);
    kint(b, "flow_id", cs->flow_id);
    kint(b, "packets", cs->packets);
    kint(b, "bytes", cs->bytes);
    kint(b, "gaps", cs->gaps);
    kint(b, "gap_bytes", cs->gap_bytes);
    kint(b, "evidence", cs->evidence);
    kint(b, "rules", cs->rules);
    kint(b, "undecided", cs->undecided);
    kint(b, "dialect", cs->dialect);
    kint(b, "flags", cs->flags);
    kint(b, "ntlm_sessions", cs->ntlm_sessions);
    kint(b, "transport", cs->transport);
    kint(b, "carrier", cs->carrier);
    kint(b, "proto", cs->proto);
    kint(b, "smb_version", cs->smb_version);
    kint(b, "signing", cs->signing);
    kint(b, "auth", cs->auth);
    kint(b, "auth_mech", cs->auth_mech);
    kint(b, "gap", cs->gap);
    kint(b, "findings", cs->findings);
    kstr(b, "dialect_text", cs->dialect_text);
    kstr(b, "close_reason", cs->close_reason);
    json_builder_end_object(b);
}

void mstate_build_edges(JsonBuilder *b, const struct analysis *a)
{
    json_builder_set_member_name(b, "edges");
    json_builder_begin_array(b);
    for (guint i = 0; a->edges && i < a->edges->len; i++)
        summary(b, &g_array_index(a->edges, struct conn_summary, i));
    json_builder_end_array(b);
}

static void read_summary(struct jget *g, const struct jpath *ip, JsonObject *o, struct conn_summary *cs)
{
    memset(cs, 0, sizeof *cs);
    jget_addr(g, ip, o, "client", true, &cs->client);
    jget_addr(g, ip, o, "server", true, &cs->server);
    cs->client_port = (uint16_t)jget_u64(g, ip, o, "client_port", 65535);
    cs->server_port = (uint16_t)jget_u64(g, ip, o, "server_port", 65535);
    cs->first_ts = jget_i64(g, ip, o, "first_ts");
    cs->last_ts = jget_i64(g, ip, o, "last_ts");
    cs->flow_id = jget_u64(g, ip, o, "flow_id", INT64_MAX);
    cs->packets = jget_u64(g, ip, o, "packets", INT64_MAX);
    cs->bytes = jget_u64(g, ip, o, "bytes", INT64_MAX);
    cs->gaps = jget_u64(g, ip, o, "gaps", INT64_MAX);
    cs->gap_bytes = jget_u64(g, ip, o, "gap_bytes", INT64_MAX);
    cs->evidence = (uint32_t)jget_u64(g, ip, o, "evidence", UINT32_MAX);
    cs->rules = (uint32_t)jget_u64(g, ip, o, "rules", UINT32_MAX);
    cs->undecided = (uint32_t)jget_u64(g, ip, o, "undecided", UINT32_MAX);
    cs->dialect = (uint16_t)jget_u64(g, ip, o, "dialect", 65535);
    cs->flags = (uint16_t)jget_u64(g, ip, o, "flags", 65535);
    cs->ntlm_sessions = (uint16_t)jget_u64(g, ip, o, "ntlm_sessions", 65535);
    cs->transport = (uint8_t)jget_u64(g, ip, o, "transport", 255);
    cs->carrier = (uint8_t)jget_u64(g, ip, o, "carrier", CONN_CARRIER_COUNT - 1);
    cs->proto = (uint8_t)jget_u64(g, ip, o, "proto", 255);
    cs->smb_version = (uint8_t)jget_u64(g, ip, o, "smb_version", 3);
    cs->signing = (uint8_t)jget_u64(g, ip, o, "signing", CONN_SIGNING_REQUIRED);
    cs->auth = (uint8_t)jget_u64(g, ip, o, "auth", CONN_AUTH_COUNT - 1);
    cs->auth_mech = (uint8_t)jget_u64(g, ip, o, "auth_mech", 255);
    cs->gap = (uint8_t)jget_u64(g, ip, o, "gap", CONN_GAP_COUNT - 1);
    cs->findings = (uint8_t)jget_u64(g, ip, o, "findings", 255);
    const char *dt = jget_str(g, ip, o, "dialect_text", CONN_DIALECT_TEXT_LEN - 1, false);
    if (dt)
        memcpy(cs->dialect_text, dt, strlen(dt));
    const char *cr = jget_str(g, ip, o, "close_reason", CONN_REASON_LEN - 1, false);
    if (cr)
        memcpy(cs->close_reason, cr, strlen(cr));
}

void mstate_fold_edges(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    struct jpath ap, ip;
    jpath_key(&ap, p, "edges");
    JsonArray *arr = jget_arr(g, p, st, "edges", ANALYSIS_MAX_EDGES);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        struct conn_summary cs;
        read_summary(g, &ip, jget_object(g, &ip, json_array_get_element(arr, i)), &cs);
        if (g->failed)
            return;
        if (a->edges->len < 16 * ANALYSIS_MAX_EDGES) {
            g_array_append_val(a->edges, cs);
        } else { /* a bound for merge itself: no longer joinable */
            conn_groups_add(a->groups, &cs);
            smb_hosts_add(a->smb_hosts, &cs);
        }
    }
}

/* ---- joining ------------------------------------------------------------ */

/* The two ends of a connection whatever side each part named the client
 * (a part seen from its middle may not know), then time. */
static int end_cmp(const struct ip_addr *a, uint16_t ap, const struct ip_addr *b, uint16_t bp)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    int c = memcmp(a->bytes, b->bytes, sizeof a->bytes);
    return c ? c : (ap > bp) - (ap < bp);
}

struct ends {
    const struct ip_addr *lo, *hi;
    uint16_t lo_port, hi_port;
};

static struct ends ends_of(const struct conn_summary *cs)
{
    bool swap = end_cmp(&cs->client, cs->client_port, &cs->server, cs->server_port) > 0;
    struct ends e = { swap ? &cs->server : &cs->client, swap ? &cs->client : &cs->server,
                      swap ? cs->server_port : cs->client_port, swap ? cs->client_port : cs->server_port };
    return e;
}

static gint edge_order(gconstpointer pa, gconstpointer pb)
{
    const struct conn_summary *a = pa, *b = pb;
    if (a->proto != b->proto)
        return a->proto < b->proto ? -1 : 1;
    struct ends x = ends_of(a), y = ends_of(b);
    int c = end_cmp(x.lo, x.lo_port, y.lo, y.lo_port);
    if (!c)
        c = end_cmp(x.hi, x.hi_port, y.hi, y.hi_port);
    if (c)
        return c;
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    return memcmp(a, b, sizeof *a); /* summaries are zero-filled: comparable as bytes */
}

static bool same_ends(const struct conn_summary *a, const struct conn_summary *b)
{
    if (a->proto != b->proto || a->carrier != b->carrier)
        return false;
    struct ends x = ends_of(a), y = ends_of(b);
    return !end_cmp(x.lo, x.lo_port, y.lo, y.lo_port) && !end_cmp(x.hi, x.hi_port, y.hi, y.hi_port);
}

/* One connection in two parts: the first was open at its capture's end,
 * the second was first seen mid-stream, not before the first's last packet. */
static bool continues(const struct conn_summary *early, const struct conn_summary *late)
{
    return same_ends(early, late) && strcmp(early->close_reason, "end") == 0 &&
           !(late->flags & CONN_F_START_SEEN) && late->first_ts >= early->last_ts;
}

/* Facts a later part can add (something seen is seen); what only the
 * start shows (negotiation, the handshake) comes from the early part. */
#define SEEN_FLAGS (CONN_F_SIGNED_SEEN | CONN_F_ENCRYPTED | CONN_F_SMB_SEEN | CONN_F_MESSAGES_SEEN | \
                    CONN_F_KERBEROS | CONN_F_NTLM | CONN_F_OTHER_AUTH)

void mstate_join_parts(struct conn_summary *out, const struct conn_summary *early, const struct conn_summary *late,
                       const struct policy *p)
{
    struct conn_summary j = *early;
    j.last_ts = late->last_ts;
    j.packets += late->packets;
    j.bytes += late->bytes;
    j.gaps += late->gaps;
    j.gap_bytes += late->gap_bytes;
    j.flags |= late->flags & SEEN_FLAGS;
    j.flags |= late->flags & (CONN_F_NEGOTIATE_SEEN | CONN_F_SIGNING_REQUIRED | CONN_F_CONTENT_LOST);
    if (j.flags & (CONN_F_KERBEROS | CONN_F_NTLM | CONN_F_OTHER_AUTH) || !(late->flags & CONN_F_AUTH_UNSEEN))
        j.flags &= (uint16_t)~CONN_F_AUTH_UNSEEN;
    /* The late part was named from its middle: the early part's evidence
     * of how it started stands, and what framing the late part saw adds. */
    j.evidence |= late->evidence & ~(uint32_t)EV_NO_TCP_HANDSHAKE;
    if (j.transport == TRANSPORT_UNKNOWN_START)
        j.transport = late->transport;
    if (!j.dialect) {
        j.dialect = late->dialect;
        memcpy(j.dialect_text, late->dialect_text, sizeof j.dialect_text);
    }
    if (!j.smb_version)
        j.smb_version = late->smb_version;
    if (j.signing == CONN_SIGNING_UNKNOWN)
        j.signing = late->signing;
    if (j.auth == CONN_AUTH_NONE) {
        j.auth = late->auth;
        j.auth_mech = late->auth_mech;
    }
    j.ntlm_sessions = (uint16_t)(j.ntlm_sessions + late->ntlm_sessions < j.ntlm_sessions ? UINT16_MAX
                                                                                         : j.ntlm_sessions + late->ntlm_sessions);
    j.findings |= late->findings;
    memcpy(j.close_reason, late->close_reason, sizeof j.close_reason);
    struct policy_conn_facts f = conn_summary_facts(&j);
    j.rules = policy_check_connection(p, &f);
    j.undecided = policy_undecided_connection(p, &f);
    j.gap = (uint8_t)conn_summary_gap(&f);
    *out = j;
}

void mstate_join_edges(struct analysis *a)
{
    GArray *in = a->edges;
    if (!in || !in->len)
        return;
    g_array_sort(in, edge_order);
    GArray *out = g_array_new(FALSE, FALSE, sizeof(struct conn_summary));
    struct conn_summary cur = g_array_index(in, struct conn_summary, 0);
    for (guint i = 1; i <= in->len; i++) {
        const struct conn_summary *next = i < in->len ? &g_array_index(in, struct conn_summary, i) : NULL;
        if (next && continues(&cur, next)) {
            struct conn_summary j;
            mstate_join_parts(&j, &cur, next, &a->cfg->policy);
            mstate_detail_join(a, &cur, next, &j);
            cur = j;
            a->edges_joined++;
            if (cur.carrier == CONN_CARRIER_TCP)
                flow_table_unjoin(a->flows, 1);
            continue;
        }
        if (analysis_is_edge(&cur)) {
            g_array_append_val(out, cur);
        } else {
            conn_groups_add(a->groups, &cur);
            smb_hosts_add(a->smb_hosts, &cur);
        }
        if (next)
            cur = *next;
    }
    g_array_free(in, TRUE);
    a->edges = out;
}
