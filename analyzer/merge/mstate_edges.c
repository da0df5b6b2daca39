/* mstate_edges.c - see mstate_edges.h. */
#include "mstate_edges.h"

#include <string.h>

#include "conn_groups.h"
#include "fmt.h"
#include "mstate_detail.h"
#include "mstate_group_order.h"
#include "mstate_put.h"
#include "mstate_join_roce.h"
#include "mstate_tails.h"
#include "mstate_xchg.h"
#include "smb_hosts.h"

/* An edge connection is one compact array (thousands of them must stay
 * small in the report), its members in this order. */
enum ef {
    EF_CLIENT, EF_SERVER, EF_CLIENT_PORT, EF_SERVER_PORT, EF_FIRST_TS, EF_LAST_TS, EF_FLOW_ID, EF_PACKETS, EF_BYTES,
    EF_GAPS, EF_GAP_BYTES, EF_EVIDENCE, EF_RULES, EF_UNDECIDED, EF_DIALECT, EF_FLAGS, EF_NTLM, EF_TRANSPORT,
    EF_CARRIER, EF_PROTO, EF_SMB_VERSION, EF_SIGNING, EF_AUTH, EF_AUTH_MECH, EF_GAP, EF_FINDINGS, EF_DIALECT_TEXT,
    EF_CLOSE_REASON, EF_COUNT
};

static const char *const ef_names[EF_COUNT] = {
    "client", "server", "client_port", "server_port", "first_ts", "last_ts", "flow_id", "packets", "bytes",
    "gaps", "gap_bytes", "evidence", "rules", "undecided", "dialect", "flags", "ntlm_sessions", "transport",
    "carrier", "proto", "smb_version", "signing", "auth", "auth_mech", "gap", "findings", "dialect_text",
    "close_reason",
};

static void vstr(struct json *b, const char *s)
{
    char *v = g_utf8_make_valid(s, -1);
    json_str(b, v);
    g_free(v);
}

static void summary(struct json *b, const struct conn_summary *cs)
{
    json_begin_array(b);
    vaddr(b, &cs->client);
    vaddr(b, &cs->server);
    vint(b, cs->client_port);
    vint(b, cs->server_port);
    json_int(b, cs->first_ts);
    json_int(b, cs->last_ts);
    const uint64_t nums[] = { cs->flow_id, cs->packets, cs->bytes, cs->gaps, cs->gap_bytes, cs->evidence, cs->rules,
                              cs->undecided, cs->dialect, cs->flags, cs->ntlm_sessions, cs->transport, cs->carrier,
                              cs->proto, cs->smb_version, cs->signing, cs->auth, cs->auth_mech, cs->gap,
                              cs->findings };
    for (size_t i = 0; i < G_N_ELEMENTS(nums); i++)
        vint(b, nums[i]);
    vstr(b, cs->dialect_text);
    vstr(b, cs->close_reason);
    json_end_array(b);
}

void mstate_build_edges(struct json *b, const struct analysis *a)
{
    json_key(b, "edges_unjoinable");
    vint(b, a->edges_unjoinable);
    json_key(b, "edge_fields");
    json_begin_array(b);
    for (int i = 0; i < EF_COUNT; i++)
        json_str(b, ef_names[i]);
    json_end_array(b);
    json_key(b, "edges");
    json_begin_array(b);
    for (guint i = 0; a->edges && i < a->edges->len; i++)
        summary(b, &g_array_index(a->edges, struct conn_summary, i));
    json_end_array(b);
    mstate_put_edge_closes(b, a);
}


static void eaddr(struct jget *g, const struct jpath *p, JsonArray *a, guint i, struct ip_addr *out)
{
    memset(out, 0, sizeof *out);
    JsonNode *n = json_array_get_element(a, i);
    if (g->failed || JSON_NODE_HOLDS_NULL(n))
        return;
    const char *s = jget_elem_str(g, p, a, i, 64);
    if (s && !jget_parse_addr(s, out)) {
        struct jpath ip;
        jpath_index(&ip, p, i);
        jget_fail(g, &ip, "not an IPv4 or IPv6 address");
    }
}

static void estr(struct jget *g, const struct jpath *p, JsonArray *a, guint i, char *out, size_t outlen)
{
    const char *s = jget_elem_str(g, p, a, i, outlen - 1);
    if (s)
        memcpy(out, s, strlen(s) + 1);
}

static void read_summary(struct jget *g, const struct jpath *ip, JsonArray *a, struct conn_summary *cs)
{
    memset(cs, 0, sizeof *cs);
    if (!a || json_array_get_length(a) != EF_COUNT) {
        jget_fail(g, ip, "not an edge connection of edge_fields' members");
        return;
    }
    eaddr(g, ip, a, EF_CLIENT, &cs->client);
    eaddr(g, ip, a, EF_SERVER, &cs->server);
    cs->client_port = (uint16_t)jget_elem_u64(g, ip, a, EF_CLIENT_PORT, 65535);
    cs->server_port = (uint16_t)jget_elem_u64(g, ip, a, EF_SERVER_PORT, 65535);
    cs->first_ts = jget_elem_ts(g, ip, a, EF_FIRST_TS);
    cs->last_ts = jget_elem_ts(g, ip, a, EF_LAST_TS);
    cs->flow_id = jget_elem_u64(g, ip, a, EF_FLOW_ID, INT64_MAX);
    cs->packets = jget_elem_u64(g, ip, a, EF_PACKETS, INT64_MAX);
    cs->bytes = jget_elem_u64(g, ip, a, EF_BYTES, INT64_MAX);
    cs->gaps = jget_elem_u64(g, ip, a, EF_GAPS, INT64_MAX);
    cs->gap_bytes = jget_elem_u64(g, ip, a, EF_GAP_BYTES, INT64_MAX);
    cs->evidence = (uint32_t)jget_elem_u64(g, ip, a, EF_EVIDENCE, UINT32_MAX);
    cs->rules = (uint32_t)jget_elem_u64(g, ip, a, EF_RULES, UINT32_MAX);
    cs->undecided = (uint32_t)jget_elem_u64(g, ip, a, EF_UNDECIDED, UINT32_MAX);
    cs->dialect = (uint16_t)jget_elem_u64(g, ip, a, EF_DIALECT, 65535);
    cs->flags = (uint16_t)jget_elem_u64(g, ip, a, EF_FLAGS, 65535);
    cs->ntlm_sessions = (uint16_t)jget_elem_u64(g, ip, a, EF_NTLM, 65535);
    cs->transport = (uint8_t)jget_elem_u64(g, ip, a, EF_TRANSPORT, 255);
    cs->carrier = (uint8_t)jget_elem_u64(g, ip, a, EF_CARRIER, CONN_CARRIER_COUNT - 1);
    cs->proto = (uint8_t)jget_elem_u64(g, ip, a, EF_PROTO, 255);
    cs->smb_version = (uint8_t)jget_elem_u64(g, ip, a, EF_SMB_VERSION, 3);
    cs->signing = (uint8_t)jget_elem_u64(g, ip, a, EF_SIGNING, CONN_SIGNING_REQUIRED);
    cs->auth = (uint8_t)jget_elem_u64(g, ip, a, EF_AUTH, CONN_AUTH_COUNT - 1);
    cs->auth_mech = (uint8_t)jget_elem_u64(g, ip, a, EF_AUTH_MECH, 255);
    cs->gap = (uint8_t)jget_elem_u64(g, ip, a, EF_GAP, CONN_GAP_COUNT - 1);
    cs->findings = (uint8_t)jget_elem_u64(g, ip, a, EF_FINDINGS, 255);
    estr(g, ip, a, EF_DIALECT_TEXT, cs->dialect_text, sizeof cs->dialect_text);
    estr(g, ip, a, EF_CLOSE_REASON, cs->close_reason, sizeof cs->close_reason);
}

void mstate_edge_put(struct json *b, const struct conn_summary *cs) { summary(b, cs); }

void mstate_edge_read(struct jget *g, const struct jpath *ip, JsonArray *a, struct conn_summary *cs)
{
    read_summary(g, ip, a, cs);
}

void mstate_fold_edges(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    struct jpath ap, ip;
    a->edges_unjoinable += jget_u64(g, p, st, "edges_unjoinable", INT64_MAX);
    JsonArray *names = jget_arr(g, p, st, "edge_fields", EF_COUNT);
    jpath_key(&ap, p, "edge_fields");
    bool same = names && json_array_get_length(names) == EF_COUNT;
    for (guint i = 0; same && i < EF_COUNT; i++) {
        const char *n = jget_elem_str(g, &ap, names, i, 32);
        same = n && strcmp(n, ef_names[i]) == 0;
    }
    if (!same && !g->failed)
        jget_fail(g, &ap, "not the members this smbscope writes");
    jpath_key(&ap, p, "edges");
    JsonArray *arr = jget_arr(g, p, st, "edges", ANALYSIS_MAX_EDGES);
    JsonArray *closes = mstate_closes_peek(st, "edge_closes");
    struct jpath rp;
    jpath_key(&rp, p, "run");
    int64_t run_first_ts = closes ? jget_ts_or_none(g, &rp, jget_obj(g, p, st, "run"), "first_ts") : 0;
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        struct conn_summary cs;
        read_summary(g, &ip, jget_node_arr(n), &cs);
        if (closes && !g->failed) { /* where the run over the parts would close it (mstate_group_order.h) */
            cs.order_run = run_first_ts;
            cs.order_at = mstate_close_at(closes, i);
        }
        if (g->failed)
            return;
        if (a->edges->len < 16 * ANALYSIS_MAX_EDGES) {
            g_array_append_val(a->edges, cs);
        } else { /* a bound for merge itself: no longer joinable */
            a->edges_unjoinable++;
            conn_groups_add(a->groups, &cs);
            smb_hosts_add(a->smb_hosts, &cs);
        }
    }
    if (arr)
        mstate_closes_check(g, p, st, "edge_closes", json_array_get_length(arr));
    /* the edges of this state are the last arr's length of a->edges (a bound
     * for merge itself aside: then no longer joinable, nothing to mark) */
    JsonArray *acked = closes && !g->failed ? jget_arr(g, p, st, "edge_fins_acked", ANALYSIS_MAX_EDGES) : NULL;
    guint n = arr ? json_array_get_length(arr) : 0, base = a->edges->len >= n ? a->edges->len - n : 0;
    struct jpath kp;
    jpath_key(&kp, p, "edge_fins_acked");
    for (guint i = 0; acked && !g->failed && i < json_array_get_length(acked); i++) {
        uint64_t at = jget_elem_u64(g, &kp, acked, i, n ? n - 1 : 0);
        if (!g->failed && !n)
            jget_fail(g, &kp, "names an edge of a state without edges");
        if (!g->failed && base + at < a->edges->len && a->edges->len - base == n)
            g_array_index(a->edges, struct conn_summary, base + at).fins_acked = true;
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

/* RoCEv2 (carrier UDP): rdma_roce.c knows a connection by its addresses
 * and queue pairs; its ports are the first sender's source port and 4791,
 * so a part that first saw the other side names other ports: not compared. */
static struct ends ends_of(const struct conn_summary *cs)
{
    bool roce = cs->carrier == CONN_CARRIER_UDP;
    uint16_t cp = roce ? 0 : cs->client_port, sp = roce ? 0 : cs->server_port;
    bool swap = end_cmp(&cs->client, cp, &cs->server, sp) > 0;
    struct ends e = { swap ? &cs->server : &cs->client, swap ? &cs->client : &cs->server, swap ? sp : cp,
                      swap ? cp : sp };
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
    bool open = strcmp(early->close_reason, "end") == 0 ||
                (early->carrier == CONN_CARRIER_UDP && strcmp(early->close_reason, "end of capture") == 0); /* RoCEv2 */
    return same_ends(early, late) && open &&
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
    uint32_t lev = late->evidence & ~(uint32_t)EV_NO_TCP_HANDSHAKE;
    if (j.transport == TRANSPORT_DIRECT && (lev & EV_NBSS_KEEPALIVE)) { /* classify.c: keep-alives on direct */
        lev = (lev & ~(uint32_t)EV_NBSS_KEEPALIVE) | EV_KEEPALIVE_ON_DIRECT;
        j.findings |= 1u << FINDING_KEEPALIVE_ON_DIRECT;
    }
    j.evidence |= lev;
    if (j.transport == TRANSPORT_UNKNOWN_START)
        j.transport = late->transport;
    /* A NEGOTIATE answered in the late part is the connection's last one
     * (a multi-protocol negotiate: SMB1, then SMB2), its signing required
     * when either side asked. */
    if (late->dialect || (!j.dialect && !j.dialect_text[0])) { /* an SMB1 dialect is text only */
        j.dialect = late->dialect;
        memcpy(j.dialect_text, late->dialect_text, sizeof j.dialect_text);
    }
    if (late->smb_version && (late->dialect || !j.smb_version))
        j.smb_version = late->smb_version;
    if (late->signing && (late->dialect || j.signing == CONN_SIGNING_UNKNOWN))
        j.signing = (j.flags & CONN_F_SIGNING_REQUIRED) ? CONN_SIGNING_REQUIRED : late->signing;
    if (j.auth == CONN_AUTH_NONE) {
        j.auth = late->auth;
        j.auth_mech = late->auth_mech;
    }
    j.ntlm_sessions = (uint16_t)(j.ntlm_sessions + late->ntlm_sessions < j.ntlm_sessions ? UINT16_MAX
                                                                                         : j.ntlm_sessions + late->ntlm_sessions);
    j.findings |= late->findings;
    memcpy(j.close_reason, late->close_reason, sizeof j.close_reason);
    j.fins_acked = late->fins_acked;
    /* still half-open when the late part heard nothing of the client */
    j.half_open = late->half_open || (early->half_open && late->client_silent);
    j.client_silent = early->client_silent && late->client_silent;
    struct policy_conn_facts f = conn_summary_facts(&j);
    j.rules = policy_check_connection(p, &f);
    j.undecided = policy_undecided_connection(p, &f);
    j.gap = (uint8_t)conn_summary_gap(&f);
    *out = j;
}

/* A TCP connection open at its capture's end that no later capture
 * continued, when a capture read after it (inputs go in order of their
 * first packet) starts past its idle timeout: the run over them all closes
 * it as idle (flow.h), so merge does too. */
static void idle_if_later(struct analysis *a, struct conn_summary *cs)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    if (cs->carrier != CONN_CARRIER_TCP || strcmp(cs->close_reason, "end") != 0)
        return;
    /* one left half-open goes idle sooner (mstate_half_open.h) */
    int64_t idle = cs->half_open ? lim.idle_half_open_us : lim.idle_established_us;
    bool later = false;
    for (guint i = 0; !later && i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        later = in->packets && in->first_ts > cs->first_ts && ts_diff(in->first_ts, cs->last_ts) > idle;
        /* a half-open one the late part took for established (seen from its
         * middle): any packet past its timeout, in the part it ends in too */
        later |= cs->half_open && in->packets && ts_diff(in->last_ts, cs->last_ts) > idle;
    }
    if (!later)
        return;
    g_strlcpy(cs->close_reason, "idle", sizeof cs->close_reason);
    mstate_detail_set_end(a, cs, "idle");
}

/* cs, joined or not, among the edges a report keeps (out), or into the
 * groups past them. */
static void place_edge(struct analysis *a, GArray *out, struct conn_summary *cs, int64_t end)
{
    /* lingering after its FINs at the end of them all, unless its last
     * part's run ended it before its end (past max_closed in its closed
     * list: the run over them all, its list fuller, ended it no later) */
    bool lingers = mstate_tail_lingers(end, cs) && !mstate_group_order_closed_early(a, cs);
    if ((analysis_is_edge(cs) || lingers) && out->len < ANALYSIS_MAX_EDGES) {
        g_array_append_val(out, *cs);
    } else {
        a->edges_unjoinable += analysis_is_edge(cs); /* a merged report holds as many as a run's */
        conn_groups_add(a->groups, cs);
        mstate_group_order_note_conn(a, cs); /* where the run over the parts closes it */
        smb_hosts_add(a->smb_hosts, cs);
    }
}

/* a->edges_close_order: by order_at, one run's rank of each close (a
 * joined one: its last part's). */
static gint by_close(gconstpointer pa, gconstpointer pb)
{
    const struct conn_summary *a = pa, *b = pb;
    return (a->order_at > b->order_at) - (a->order_at < b->order_at);
}

/* Where the run over several parts closes an edge merge keeps (one still
 * open, or lingering after its FINs, at the end of its last part; or one
 * first seen mid-stream): at the end of them all (flow.c
 * flow_table_finish(): every connection left, in the order it was opened,
 * its first packet in the earliest part that saw it), or, one closed
 * before its last part's end (a mid-stream one a FIN or a timeout
 * ended), at that close (its run, and the number the run gave it). */
static bool closes_at_end(const struct conn_summary *cs, int64_t end)
{
    return strcmp(cs->close_reason, "end") == 0 || strcmp(cs->close_reason, "end of capture") == 0 ||
           mstate_tail_lingers(end, cs);
}

struct joint_close {
    bool at_end;
    int64_t run, at; /* at_end: 0 and the first packet */
};

static struct joint_close joint_close_of(const struct conn_summary *cs, int64_t end)
{
    if (closes_at_end(cs, end))
        return (struct joint_close){ true, 0, cs->first_ts };
    return (struct joint_close){ false, cs->order_run, cs->order_at };
}

struct kept_edge {
    struct joint_close c;
    guint i; /* its place in the array sorted by edge_order: ties by ends, so no report's order shows */
};

static gint by_joint_close(gconstpointer pa, gconstpointer pb)
{
    const struct kept_edge *x = pa, *y = pb;
    if (x->c.at_end != y->c.at_end)
        return x->c.at_end ? 1 : -1;
    if (x->c.run != y->c.run)
        return x->c.run < y->c.run ? -1 : 1;
    if (x->c.at != y->c.at)
        return x->c.at < y->c.at ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* out (the edges kept, in the order of their ends) in the order the run
 * over the parts closes them: analysis_fold_edges() adds them to the
 * groups in that order, as that run does, and which groups a capped table
 * makes for them depends on it. */
static void joint_close_order(GArray *out, int64_t end)
{
    if (out->len < 2)
        return;
    GArray *k = g_array_sized_new(FALSE, FALSE, sizeof(struct kept_edge), out->len);
    for (guint i = 0; i < out->len; i++) {
        struct kept_edge e = { joint_close_of(&g_array_index(out, struct conn_summary, i), end), i };
        g_array_append_val(k, e);
    }
    g_array_sort(k, by_joint_close);
    GArray *sorted = g_array_sized_new(FALSE, FALSE, sizeof(struct conn_summary), out->len);
    for (guint i = 0; i < k->len; i++)
        g_array_append_val(sorted, g_array_index(out, struct conn_summary, g_array_index(k, struct kept_edge, i).i));
    memcpy(out->data, sorted->data, (size_t)out->len * sizeof(struct conn_summary));
    g_array_free(sorted, TRUE);
    g_array_free(k, TRUE);
}

/* The RoCEv2 queue pairs of the chain of parts that begins at in[at]
 * (mstate_join_roce.h): its parts as the loop below joins them, each
 * continuing the one before. */
static void chain_qps(struct analysis *a, const GArray *in, guint at, uint32_t chain[2])
{
    const struct conn_summary *first = &g_array_index(in, struct conn_summary, at);
    chain[0] = chain[1] = 0;
    if (first->carrier != CONN_CARRIER_UDP || !a->roce)
        return;
    for (guint i = at; i < in->len; i++) {
        const struct conn_summary *p = &g_array_index(in, struct conn_summary, i);
        if (i > at && !continues(&g_array_index(in, struct conn_summary, i - 1), p))
            break;
        mstate_roce_chain_qps(a, first, p, chain);
    }
}

void mstate_join_edges(struct analysis *a)
{
    GArray *in = a->edges;
    if (!in || !in->len)
        return;
    /* Joined in the order of their ends (a connection's parts side by
     * side); a run adds the edges it keeps to its groups last, in the
     * order it closed them, and which groups a capped table keeps depends
     * on that order: one file under --jobs gives it back (nbmix's 2,400
     * connections open at the end, 1,024 groups: in the order of their
     * addresses they made other groups, 1,027 for one run's 1,028). */
    bool in_order = a->edges_close_order;
    GArray *done = in_order ? g_array_sized_new(FALSE, FALSE, sizeof(struct conn_summary), in->len) : NULL;
    g_array_sort(in, edge_order);
    GArray *out = g_array_new(FALSE, FALSE, sizeof(struct conn_summary));
    int64_t end = mstate_inputs_end(a);
    struct conn_summary cur = g_array_index(in, struct conn_summary, 0);
    uint32_t chain[2];
    chain_qps(a, in, 0, chain);
    mstate_join_roce_lead(a, &cur, chain); /* a part before it of only its pair's ACKs */
    for (guint i = 1; i <= in->len; i++) {
        const struct conn_summary *next = i < in->len ? &g_array_index(in, struct conn_summary, i) : NULL;
        if (next && continues(&cur, next)) {
            /* a part between them holding no header (ACKs only, or a message's middle) is cur's first */
            mstate_join_tail_before(a, &cur, next->first_ts);
            mstate_join_roce_tails(a, &cur, next->first_ts, chain); /* a part of only ACKs of its queue pairs */
            mstate_join_roce_port(a, &cur, next); /* RoCEv2: the client's port only the late part saw */
            struct conn_summary j, late = *next;
            mstate_xchg_join(a, &cur, &late); /* an exchange cut between them, settled */
            mstate_join_parts(&j, &cur, &late, &a->cfg->policy);
            mstate_detail_join(a, &cur, next, &j);
            cur = j;
            mstate_group_order_closes_at(&cur, next->order_run, next->order_at); /* where its last part closes it */
            a->edges_joined++;
            if (cur.carrier == CONN_CARRIER_TCP)
                flow_table_unjoin(a->flows, 1);
            continue;
        }
        mstate_join_tail(a, &cur);
        mstate_join_roce_tails(a, &cur, INT64_MAX, chain);
        idle_if_later(a, &cur);
        if (in_order)
            g_array_append_val(done, cur);
        else
            place_edge(a, out, &cur, end);
        if (next) {
            cur = *next;
            chain_qps(a, in, i, chain);
            mstate_join_roce_lead(a, &cur, chain);
        }
    }
    g_array_free(in, TRUE);
    if (in_order) { /* one run's order again: the edges it kept are its first, added to the groups last */
        g_array_sort(done, by_close);
        for (guint i = 0; i < done->len; i++)
            place_edge(a, out, &g_array_index(done, struct conn_summary, i), end);
        g_array_free(done, TRUE);
    } else {
        joint_close_order(out, end);
    }
    a->edges = out;
}
