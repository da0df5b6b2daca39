/* mstate_join_syn.c - see mstate_join_syn.h. */
#include "mstate_join_syn.h"

#include <string.h>

#include "rdma.h"
#include "session.h"

#include "analysis.h"
#include "fmt.h"
#include "mstate_ends_ix.h"
#include "mstate_group_order.h"
#include "mstate_join_fin.h"
#include "mstate_put.h"
#include "mstate_tails.h"

/* One compact array: [addr0, port0, addr1, port1, first_ts, last_ts,
 * packets0, packets1, isn (-1: unknown), established, close_reason,
 * the responder's isn (-1: unknown)]. */
enum { SF_A0, SF_P0, SF_A1, SF_P1, SF_FIRST, SF_LAST, SF_PK0, SF_PK1, SF_ISN, SF_EST, SF_REASON, SF_ISN_RESP, SF_N };

static int64_t idle_of(bool established)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    return established ? lim.idle_established_us : lim.idle_half_open_us;
}

static bool open_at_end(const struct syn_flow *f) { return strcmp(f->close_reason, "end") == 0; }

/* What another report may still continue: open at the end, or begun
 * within the half-open timeout of the first packet (first_ts: the run's). */
static bool keep(const struct syn_flow *f, int64_t first_ts)
{
    return open_at_end(f) || ts_diff(f->first_ts, first_ts) <= idle_of(false);
}

static void append(struct analysis *a, const struct syn_flow *f)
{
    if (!a->syn_flows)
        a->syn_flows = g_array_new(FALSE, TRUE, sizeof(struct syn_flow));
    if (a->syn_flows->len < ANALYSIS_MAX_EDGES) /* past it the count stays as the parts had it */
        g_array_append_val(a->syn_flows, *f);
}

/* What both notes take of a flow. */
static void flow_of(struct syn_flow *f, const struct flow_conn *c, const char *reason)
{
    memset(f, 0, sizeof *f);
    for (int d = 0; d < 2; d++) {
        f->addr[d] = c->addr[d];
        f->port[d] = c->port[d];
        f->packets[d] = c->dir[d].packets;
    }
    f->first_ts = c->first_ts_us;
    f->last_ts = c->last_ts_us;
    f->isn = c->isn[0];
    f->isn_known = c->isn_known[0];
    f->isn_resp = c->isn[1];
    f->isn_resp_known = c->isn_known[1];
    f->established = c->hs == FLOW_HS_ESTABLISHED;
    g_strlcpy(f->close_reason, reason, sizeof f->close_reason);
}

void syn_flow_note(struct analysis *a, const struct flow_conn *c, enum flow_close_reason r)
{
    mstate_close_class_note(a, c); /* every TCP connection without a session closes here */
    if (!a->live_run && c->midstream && !c->dir[0].bytes && !c->dir[1].bytes) /* a tail (analysis.c: note_tail) */
        fin_note(a, c, c->first_ts_us, flow_close_reason_name(r));
    if (a->live_run || c->midstream || c->initiator_guessed || c->dir[0].bytes || c->dir[1].bytes)
        return;
    struct syn_flow f;
    flow_of(&f, c, flow_close_reason_name(r));
    if (keep(&f, a->first_ts))
        append(a, &f);
}

void syn_flow_mpa_note(struct analysis *a, const struct flow_conn *c, const char *reason, const struct smb_conn *s)
{
    const struct smb_direct_info *m = s->smbd;
    if (a->live_run || c->midstream || c->initiator_guessed || !c->isn_known[0] || strcmp(reason, "end") != 0 || !m ||
        !m->mpa_request_seen || m->fpdus)
        return;
    struct syn_flow f;
    flow_of(&f, c, reason); /* its ISN known: tested above */
    for (int d = 0; d < 2; d++) {
        f.sent[d] = c->dir[d].bytes;
        f.mpa_markers[d] = m->mpa_markers[d]; /* by flow direction, as [0] the initiator */
        f.mpa_private_len[d] = m->mpa_private_len[d];
    }
    f.mpa = true;
    f.mpa_request_seen = m->mpa_request_seen;
    f.mpa_reply_seen = m->mpa_reply_seen;
    f.mpa_rejected = m->mpa_rejected;
    f.mpa_crc = m->mpa_crc;
    f.mpa_revision = m->mpa_revision;
    append(a, &f);
}

/* "syn_flow_payloads": [index into syn_flows, sent0, sent1, request_seen,
 * reply_seen, rejected, revision, crc, markers0, markers1, private0,
 * private1] of the flows an MPA startup was the payload of ([0] the
 * initiator's; 0/1 for the flags). */
enum { PF_INDEX, PF_SENT0, PF_SENT1, PF_REQ, PF_REP, PF_REJ, PF_REV, PF_CRC, PF_MK0, PF_MK1, PF_PR0, PF_PR1, PF_N };

static void build_payloads(struct json *b, const struct analysis *a)
{
    json_key(b, "syn_flow_payloads");
    json_begin_array(b);
    for (guint i = 0; a->syn_flows && i < a->syn_flows->len; i++) {
        const struct syn_flow *f = &g_array_index(a->syn_flows, struct syn_flow, i);
        if (!f->mpa)
            continue;
        json_begin_array(b);
        vint(b, i);
        vint(b, f->sent[0]);
        vint(b, f->sent[1]);
        const uint64_t v[] = { f->mpa_request_seen, f->mpa_reply_seen, f->mpa_rejected, f->mpa_revision, f->mpa_crc,
                               f->mpa_markers[0], f->mpa_markers[1], f->mpa_private_len[0], f->mpa_private_len[1] };
        for (size_t k = 0; k < G_N_ELEMENTS(v); k++)
            vint(b, v[k]);
        json_end_array(b);
    }
    json_end_array(b);
}

static void fold_payloads(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint base)
{
    struct jpath ap, ip;
    jpath_key(&ap, p, "syn_flow_payloads");
    JsonArray *arr = jget_arr(g, p, st, "syn_flow_payloads", ANALYSIS_MAX_EDGES);
    guint written = jget_member_len(st, "syn_flows");
    int64_t prev = -1;
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != PF_N) {
            jget_fail(g, &ip, "not [index, sent, sent, request_seen, reply_seen, rejected, revision, crc, markers, "
                              "markers, private_len, private_len]");
            return;
        }
        uint64_t at = jget_elem_u64(g, &ip, e, PF_INDEX, ANALYSIS_MAX_EDGES);
        struct syn_flow m;
        memset(&m, 0, sizeof m);
        m.sent[0] = jget_elem_u64(g, &ip, e, PF_SENT0, INT64_MAX);
        m.sent[1] = jget_elem_u64(g, &ip, e, PF_SENT1, INT64_MAX);
        m.mpa_request_seen = jget_elem_u64(g, &ip, e, PF_REQ, 1);
        m.mpa_reply_seen = jget_elem_u64(g, &ip, e, PF_REP, 1);
        m.mpa_rejected = jget_elem_u64(g, &ip, e, PF_REJ, 1);
        m.mpa_revision = (uint8_t)jget_elem_u64(g, &ip, e, PF_REV, 255);
        m.mpa_crc = jget_elem_u64(g, &ip, e, PF_CRC, 1);
        m.mpa_markers[0] = jget_elem_u64(g, &ip, e, PF_MK0, 1);
        m.mpa_markers[1] = jget_elem_u64(g, &ip, e, PF_MK1, 1);
        m.mpa_private_len[0] = (uint16_t)jget_elem_u64(g, &ip, e, PF_PR0, 65535);
        m.mpa_private_len[1] = (uint16_t)jget_elem_u64(g, &ip, e, PF_PR1, 65535);
        if (g->failed)
            return;
        if (!jget_later_index(at, &prev, written)) {
            jget_fail(g, &ip, "not the index of a later syn_flows record");
            return;
        }
        if (base + at >= a->syn_flows->len)
            continue; /* past merge's own bound */
        struct syn_flow *f = &g_array_index(a->syn_flows, struct syn_flow, base + at);
        f->mpa = true;
        memcpy(f->sent, m.sent, sizeof f->sent);
        f->mpa_request_seen = m.mpa_request_seen;
        f->mpa_reply_seen = m.mpa_reply_seen;
        f->mpa_rejected = m.mpa_rejected;
        f->mpa_revision = m.mpa_revision;
        f->mpa_crc = m.mpa_crc;
        memcpy(f->mpa_markers, m.mpa_markers, sizeof f->mpa_markers);
        memcpy(f->mpa_private_len, m.mpa_private_len, sizeof f->mpa_private_len);
    }
}

void mstate_build_syn_flows(struct json *b, const struct analysis *a)
{
    json_key(b, "syn_flows");
    json_begin_array(b);
    for (guint i = 0; a->syn_flows && i < a->syn_flows->len; i++) {
        const struct syn_flow *f = &g_array_index(a->syn_flows, struct syn_flow, i);
        json_begin_array(b);
        put_ends(b, f->addr, f->port);
        json_int(b, f->first_ts);
        json_int(b, f->last_ts);
        for (int d = 0; d < 2; d++)
            vint(b, f->packets[d]);
        json_int(b, f->isn_known ? (gint64)f->isn : -1);
        json_bool(b, f->established);
        json_str(b, f->close_reason);
        json_int(b, f->isn_resp_known ? (gint64)f->isn_resp : -1);
        json_end_array(b);
    }
    json_end_array(b);
    build_payloads(b, a);
}

static uint64_t in_range(struct jget *g, const struct jpath *p, JsonArray *e, guint i, int64_t lo, uint64_t max)
{
    int64_t v = jget_elem_i64(g, p, e, i);
    if (!g->failed && (v < lo || (v >= 0 && (uint64_t)v > max)))
        jget_fail(g, p, "a port, count or ISN out of range");
    return g->failed ? 0 : (uint64_t)v;
}

static void read_one(struct jget *g, const struct jpath *ip, JsonArray *e, struct syn_flow *f)
{
    memset(f, 0, sizeof *f);
    if (!e || json_array_get_length(e) != SF_N) {
        jget_fail(g, ip, "not [addr, port, addr, port, first_ts, last_ts, packets, packets, isn, established, "
                         "close_reason, isn]");
        return;
    }
    for (int d = 0; d < 2; d++) {
        const char *s = jget_elem_str(g, ip, e, d ? SF_A1 : SF_A0, 64);
        if (s && !jget_parse_addr(s, &f->addr[d]))
            jget_fail(g, ip, "not an address");
        f->port[d] = (uint16_t)in_range(g, ip, e, d ? SF_P1 : SF_P0, 0, 65535);
        f->packets[d] = in_range(g, ip, e, d ? SF_PK1 : SF_PK0, 0, INT64_MAX);
    }
    f->first_ts = jget_elem_ts(g, ip, e, SF_FIRST);
    f->last_ts = jget_elem_ts(g, ip, e, SF_LAST);
    int64_t isn = (int64_t)in_range(g, ip, e, SF_ISN, -1, UINT32_MAX);
    f->isn_known = isn >= 0;
    f->isn = f->isn_known ? (uint32_t)isn : 0;
    JsonNode *est = json_array_get_element(e, SF_EST);
    if (!g->failed && (!JSON_NODE_HOLDS_VALUE(est) || json_node_get_value_type(est) != G_TYPE_BOOLEAN))
        jget_fail(g, ip, "established: not a boolean");
    f->established = !g->failed && json_node_get_boolean(est);
    int64_t isn_resp = (int64_t)in_range(g, ip, e, SF_ISN_RESP, -1, UINT32_MAX);
    f->isn_resp_known = isn_resp >= 0;
    f->isn_resp = f->isn_resp_known ? (uint32_t)isn_resp : 0;
    const char *r = jget_elem_str(g, ip, e, SF_REASON, sizeof f->close_reason - 1);
    if (r)
        g_strlcpy(f->close_reason, r, sizeof f->close_reason);
}

void mstate_fold_syn_flows(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    if (!json_object_has_member(st, "syn_flows"))
        return; /* a report of this format written before they were carried: nothing to join */
    struct jpath ap, ip;
    jpath_key(&ap, p, "syn_flows");
    guint base = a->syn_flows ? a->syn_flows->len : 0;
    JsonArray *arr = jget_arr(g, p, st, "syn_flows", ANALYSIS_MAX_EDGES);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        struct syn_flow f;
        read_one(g, &ip, jget_node_arr(n), &f);
        if (g->failed)
            return;
        if (!a->syn_flows)
            a->syn_flows = g_array_new(FALSE, TRUE, sizeof(struct syn_flow));
        if (a->syn_flows->len < 16 * ANALYSIS_MAX_EDGES) /* a bound for merge itself */
            g_array_append_val(a->syn_flows, f);
    }
    if (!g->failed && json_object_has_member(st, "syn_flow_payloads")) /* absent: written before they were carried */
        fold_payloads(g, p, a, st, base);
}

void syn_flows_fold_mem(struct analysis *dst, const struct analysis *src)
{
    for (guint i = 0; src->syn_flows && i < src->syn_flows->len; i++)
        append(dst, &g_array_index(src->syn_flows, struct syn_flow, i));
}

/* ---- joining ------------------------------------------------------------ */

static int addr_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->bytes, b->bytes, sizeof a->bytes);
}

static bool same_end(const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp)
{
    return !addr_cmp(x, y) && xp == yp;
}

static gint flow_order(gconstpointer pa, gconstpointer pb)
{
    const struct syn_flow *a = pa, *b = pb;
    for (int d = 0; d < 2; d++) {
        int c = addr_cmp(&a->addr[d], &b->addr[d]);
        if (c)
            return c;
        if (a->port[d] != b->port[d])
            return a->port[d] < b->port[d] ? -1 : 1;
    }
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    return memcmp(a, b, sizeof *a); /* zero-filled: comparable as bytes */
}

/* late begins again what early left open (flow.c, starts_new_conn): the
 * same initiator and ends, a SYN of the same ISN, before early went idle. */
static bool continues(const struct syn_flow *early, const struct syn_flow *late)
{
    if (!open_at_end(early) || late->first_ts < early->last_ts ||
        late->first_ts - early->last_ts > idle_of(early->established))
        return false;
    for (int d = 0; d < 2; d++)
        if (!same_end(&early->addr[d], early->port[d], &late->addr[d], late->port[d]))
            return false;
    return !(early->isn_known && late->isn_known && early->isn != late->isn);
}

static void join(struct analysis *a, struct syn_flow *early, uint64_t pk0, uint64_t pk1, int64_t last_ts,
                 const char *reason)
{
    early->packets[0] += pk0;
    early->packets[1] += pk1;
    early->last_ts = last_ts;
    g_strlcpy(early->close_reason, reason, sizeof early->close_reason);
    flow_table_unjoin(a->flows, 1); /* the later part's run counted it as a TCP connection of its own */
    a->edges_joined++;
}

/* Tail i of a->tails (rev: its addr[0] is cur's responder) joined to cur:
 * its packets, its end, and the responder's ISN when it began with the
 * SYN-ACK (analysis.h: isn_resp). */
static void join_tail_at(struct analysis *a, struct syn_flow *cur, guint i, bool rev)
{
    const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
    if (!rev && t->isn_resp_known && !cur->isn_resp_known) {
        cur->isn_resp = t->isn_resp;
        cur->isn_resp_known = true;
    }
    uint64_t pk0 = t->packets[rev ? 1 : 0], pk1 = t->packets[rev ? 0 : 1];
    /* flow.c, update_state: an ACK either way after the SYN (none of a
     * tail's is a SYN of the initiator), but the SYN-ACK itself */
    cur->established |= pk0 > 0 || pk1 > (uint64_t)(!rev && t->isn_resp_known);
    join(a, cur, pk0, pk1, t->last_ts, t->close_reason);
}

/* A tail (packets without payload seen from the middle, mstate_tails.h)
 * that ends what cur left open: the earliest of its ends after it. */
static bool join_tail(struct analysis *a, struct syn_flow *cur)
{
    if (!a->tails || !open_at_end(cur))
        return false;
    guint best = G_MAXUINT, best_slot = 0;
    bool best_rev = false;
    /* only the tails of cur's ends, in the array's order (mstate_tails.h) */
    struct mstate_ends_it it;
    for (guint slot = mstate_tails_first(a, &cur->addr[0], cur->port[0], &cur->addr[1], cur->port[1], &it);
         slot != G_MAXUINT; slot = mstate_tails_next(a, &it)) {
        guint i = mstate_tail_place(a, slot);
        const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
        bool fwd = same_end(&t->addr[0], t->port[0], &cur->addr[0], cur->port[0]) &&
                   same_end(&t->addr[1], t->port[1], &cur->addr[1], cur->port[1]);
        bool rev = same_end(&t->addr[1], t->port[1], &cur->addr[0], cur->port[0]) &&
                   same_end(&t->addr[0], t->port[0], &cur->addr[1], cur->port[1]);
        if ((!fwd && !rev) || t->data || /* a message's middle follows a message's start, not a handshake */
            t->first_ts < cur->last_ts || t->first_ts - cur->last_ts > idle_of(cur->established))
            continue;
        if (best == G_MAXUINT || t->first_ts < g_array_index(a->tails, struct analysis_tail, best).first_ts) {
            best = i;
            best_slot = slot;
            best_rev = !fwd;
        }
    }
    if (best == G_MAXUINT)
        return false;
    join_tail_at(a, cur, best, best_rev);
    mstate_tail_remove(a, best_slot);
    return true;
}

void mstate_join_syn_flows(struct analysis *a)
{
    GArray *in = a->syn_flows;
    if (!in || !in->len)
        return;
    g_array_sort(in, flow_order);
    GArray *out = g_array_new(FALSE, TRUE, sizeof(struct syn_flow));
    struct syn_flow cur = g_array_index(in, struct syn_flow, 0);
    for (guint i = 1; i <= in->len; i++) {
        const struct syn_flow *next = i < in->len ? &g_array_index(in, struct syn_flow, i) : NULL;
        if (next && continues(&cur, next)) {
            join(a, &cur, next->packets[0], next->packets[1], next->last_ts, next->close_reason);
            cur.established |= next->established;
            if (!cur.isn_resp_known && next->isn_resp_known) { /* the SYN-ACK came after the SYN again */
                cur.isn_resp = next->isn_resp;
                cur.isn_resp_known = true;
            }
            continue;
        }
        while (join_tail(a, &cur)) /* one part of ACKs, the next the FINs, ... */
            ;
        if (keep(&cur, a->first_ts) && out->len < ANALYSIS_MAX_EDGES)
            g_array_append_val(out, cur);
        if (next)
            cur = *next;
    }
    g_array_free(in, TRUE);
    a->syn_flows = out;
}

void mstate_join_syn_repeats(struct analysis *a)
{
    GArray *in = a->syn_flows;
    if (!in || in->len < 2)
        return;
    g_array_sort(in, flow_order);
    guint w = 0;
    for (guint i = 1; i < in->len; i++) {
        struct syn_flow *cur = &g_array_index(in, struct syn_flow, w);
        const struct syn_flow *next = &g_array_index(in, struct syn_flow, i);
        /* only a later part that began with the SYN again: the other
         * continuations (ACKs, the SYN-ACK alone) are the tails' and the
         * handshake joins' (mstate_join_hs.h) */
        if (continues(cur, next) && next->isn_known && !next->mpa && !cur->mpa) {
            join(a, cur, next->packets[0], next->packets[1], next->last_ts, next->close_reason);
            cur->established |= next->established;
            if (!cur->isn_resp_known && next->isn_resp_known) {
                cur->isn_resp = next->isn_resp;
                cur->isn_resp_known = true;
            }
            continue;
        }
        g_array_index(in, struct syn_flow, ++w) = *next;
    }
    g_array_set_size(in, w + 1);
}

/* ---- heads: a handshake over several parts ------------------------------ */

/* A record of a connection's ends (both orders alike) at a time: a tail
 * (HE_TAIL) a syn flow may take, or what stops it taking more (the record
 * of a part that began again: an SMB edge, a data tail, another syn flow). */
enum { HE_STOP, HE_TAIL };
struct head_ev {
    struct ip_addr lo, hi;
    uint16_t lo_port, hi_port;
    int64_t first_ts;
    guint kind, index;
};

static void ev_ends(struct head_ev *e, const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp)
{
    int c = addr_cmp(x, y);
    bool swap = c > 0 || (!c && xp > yp);
    memset(e, 0, sizeof *e); /* compared as bytes below */
    e->lo = swap ? *y : *x;
    e->hi = swap ? *x : *y;
    e->lo_port = swap ? yp : xp;
    e->hi_port = swap ? xp : yp;
}

static int ends_cmp(const struct head_ev *a, const struct head_ev *b)
{
    int c = addr_cmp(&a->lo, &b->lo);
    if (!c)
        c = (a->lo_port > b->lo_port) - (a->lo_port < b->lo_port);
    if (!c)
        c = addr_cmp(&a->hi, &b->hi);
    if (!c)
        c = (a->hi_port > b->hi_port) - (a->hi_port < b->hi_port);
    return c;
}

static gint ev_order(gconstpointer pa, gconstpointer pb)
{
    const struct head_ev *a = pa, *b = pb;
    int c = ends_cmp(a, b);
    if (c)
        return c;
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1; /* at one time a stop first: nothing taken past it */
    return (a->index > b->index) - (a->index < b->index);
}

static void ev_add(GArray *evs, const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp,
                   int64_t first_ts, guint kind, guint index)
{
    struct head_ev e;
    ev_ends(&e, x, xp, y, yp);
    e.first_ts = first_ts;
    e.kind = kind;
    e.index = index;
    g_array_append_val(evs, e);
}

void mstate_join_syn_heads(struct analysis *a)
{
    if (!a->syn_flows || !a->syn_flows->len || !a->tails || !a->tails->len)
        return;
    GArray *evs = g_array_new(FALSE, FALSE, sizeof(struct head_ev));
    for (guint i = 0; i < a->tails->len; i++) {
        const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
        ev_add(evs, &t->addr[0], t->port[0], &t->addr[1], t->port[1], t->first_ts, t->data ? HE_STOP : HE_TAIL, i);
    }
    for (guint i = 0; a->edges && i < a->edges->len; i++) {
        const struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, i);
        if (cs->carrier == CONN_CARRIER_TCP)
            ev_add(evs, &cs->client, cs->client_port, &cs->server, cs->server_port, cs->first_ts, HE_STOP, i);
    }
    guint flows = evs->len;
    for (guint i = 0; i < a->syn_flows->len; i++) {
        const struct syn_flow *f = &g_array_index(a->syn_flows, struct syn_flow, i);
        ev_add(evs, &f->addr[0], f->port[0], &f->addr[1], f->port[1], f->first_ts, HE_STOP, flows + i);
    }
    g_array_sort(evs, ev_order);
    bool *used = g_new0(bool, a->tails->len);
    for (guint i = 0; i < a->syn_flows->len; i++) {
        struct syn_flow *f = &g_array_index(a->syn_flows, struct syn_flow, i);
        if (!open_at_end(f))
            continue;
        struct head_ev key;
        ev_ends(&key, &f->addr[0], f->port[0], &f->addr[1], f->port[1]);
        key.first_ts = f->last_ts;
        /* the first record of f's ends not before its last packet */
        guint lo = 0, hi = evs->len;
        while (lo < hi) {
            guint mid = lo + (hi - lo) / 2;
            const struct head_ev *e = &g_array_index(evs, struct head_ev, mid);
            int c = ends_cmp(e, &key);
            if (c < 0 || (!c && e->first_ts < key.first_ts))
                lo = mid + 1;
            else
                hi = mid;
        }
        for (guint k = lo; k < evs->len && open_at_end(f); k++) {
            const struct head_ev *e = &g_array_index(evs, struct head_ev, k);
            if (ends_cmp(e, &key))
                break;
            if (e->kind == HE_STOP && e->index == flows + i)
                continue; /* f itself (one packet: its first is its last) */
            if (e->kind == HE_STOP || used[e->index])
                break;
            const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, e->index);
            if (ts_diff(t->first_ts, f->last_ts) > idle_of(f->established))
                break; /* f went idle before: the run over the parts opened another connection */
            join_tail_at(a, f, e->index, !same_end(&t->addr[0], t->port[0], &f->addr[0], f->port[0]));
            used[e->index] = true;
        }
    }
    guint w = 0;
    for (guint i = 0; i < a->tails->len; i++)
        if (!used[i])
            g_array_index(a->tails, struct analysis_tail, w++) = g_array_index(a->tails, struct analysis_tail, i);
    g_array_set_size(a->tails, w);
    g_free(used);
    g_array_free(evs, TRUE);
}

/* Whether f, of the ends x:xp, y:yp, is a better head than best for a
 * connection whose later part began at first_ts: open at its end, its ISN
 * known, not idle by then; the latest of them (the first of a time). */
static bool head_better(const struct syn_flow *f, const struct ip_addr *x, uint16_t xp, const struct ip_addr *y,
                        uint16_t yp, int64_t first_ts, const struct syn_flow *best)
{
    bool fwd = same_end(&f->addr[0], f->port[0], x, xp) && same_end(&f->addr[1], f->port[1], y, yp);
    bool rev = same_end(&f->addr[0], f->port[0], y, yp) && same_end(&f->addr[1], f->port[1], x, xp);
    return (fwd || rev) && open_at_end(f) && f->isn_known && first_ts >= f->last_ts &&
           ts_diff(first_ts, f->last_ts) <= idle_of(f->established) && (!best || f->last_ts > best->last_ts);
}

void syn_flow_used(struct analysis *a, const struct syn_flow *f)
{
    g_array_remove_index(a->syn_flows, (guint)(f - &g_array_index(a->syn_flows, struct syn_flow, 0)));
    flow_table_unjoin(a->flows, 1); /* the late part's run counted the connection too */
    a->edges_joined++;
}

struct syn_flow_heads {
    struct analysis *a;
    struct mstate_ends_ix *ix; /* a->syn_flows' places by their ends */
    bool *used;
    guint n_used;
};

struct syn_flow_heads *syn_flow_heads_new(struct analysis *a)
{
    struct syn_flow_heads *h = g_new0(struct syn_flow_heads, 1);
    h->a = a;
    h->ix = mstate_ends_ix_new(a->syn_flows);
    guint n = a->syn_flows ? a->syn_flows->len : 0;
    for (guint i = 0; i < n; i++) {
        const struct syn_flow *f = &g_array_index(a->syn_flows, struct syn_flow, i);
        mstate_ends_ix_put(h->ix, mstate_ends_word(&f->addr[0], f->port[0], &f->addr[1], f->port[1], 0), i);
    }
    h->used = g_new0(bool, n + 1);
    return h;
}

struct syn_flow *syn_flow_heads_for(struct syn_flow_heads *h, const struct ip_addr *x, uint16_t xp,
                                    const struct ip_addr *y, uint16_t yp, int64_t first_ts)
{
    struct mstate_ends_it it;
    struct syn_flow *best = NULL;
    /* in array order: the first of a time */
    for (guint i = mstate_ends_ix_first(h->ix, mstate_ends_word(x, xp, y, yp, 0), &it); i != G_MAXUINT;
         i = mstate_ends_ix_next(h->ix, &it)) {
        struct syn_flow *f = &g_array_index(h->a->syn_flows, struct syn_flow, i);
        if (!h->used[i] && head_better(f, x, xp, y, yp, first_ts, best))
            best = f;
    }
    return best;
}

void syn_flow_heads_used(struct syn_flow_heads *h, const struct syn_flow *f)
{
    struct analysis *a = h->a;
    h->used[(guint)(f - &g_array_index(a->syn_flows, struct syn_flow, 0))] = true;
    h->n_used++;
    flow_table_unjoin(a->flows, 1); /* as syn_flow_used() */
    a->edges_joined++;
}

void syn_flow_heads_free(struct syn_flow_heads *h)
{
    GArray *f = h->a->syn_flows;
    if (h->n_used) {
        guint w = 0;
        for (guint i = 0; i < f->len; i++)
            if (!h->used[i])
                g_array_index(f, struct syn_flow, w++) = g_array_index(f, struct syn_flow, i);
        g_array_set_size(f, w);
    }
    mstate_ends_ix_free(h->ix);
    g_free(h->used);
    g_free(h);
}
