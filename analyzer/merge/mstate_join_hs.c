/* mstate_join_hs.c - see mstate_join_hs.h. */
#include "mstate_join_hs.h"

#include <string.h>

#include "analysis.h"
#include "classify.h"
#include "fmt.h"
#include "jget.h"
#include "mstate_detail.h"
#include "mstate_ends_ix.h"
#include "mstate_join_fin.h"
#include "mstate_join_frame.h"
#include "mstate_join_name.h"
#include "rdma.h"
#include "mstate_join_nbns.h"
#include "mstate_join_nbss.h"
#include "mstate_join_syn.h"
#include "mstate_put.h"
#include "mstate_xchg.h"
#include "session.h"
#include "verdict.h"

/* [addr0, port0, addr1, port1, first_ts, seq0, seq1, syn0, syn1]: the
 * flow's sides, the connection's first packet, the sequence number of the
 * first byte each side sent (-1: none), and whether that side's stream
 * began at its own SYN or SYN-ACK in this part (1) or mid-stream (0). */
enum { HF_A0, HF_P0, HF_A1, HF_P1, HF_FIRST, HF_SEQ0, HF_SEQ1, HF_SYN0, HF_SYN1, HF_N };

struct hs_edge {
    struct ip_addr addr[2];
    uint16_t port[2];
    int64_t first_ts;
    int64_t seq[2];
    bool from_syn[2];
};

static GArray *seqs_of(struct analysis *a)
{
    if (!a->edge_seqs)
        a->edge_seqs = g_array_new(FALSE, TRUE, sizeof(struct hs_edge));
    return a->edge_seqs;
}

void hs_edges_free(struct analysis *a)
{
    if (a->edge_seqs)
        g_array_free(a->edge_seqs, TRUE);
    a->edge_seqs = NULL;
    fin_recs_free(a);
    nbns_xids_free(a);
}

void hs_edge_note(struct analysis *a, const struct conn_summary *cs, const struct flow_conn *c)
{
    frame_edge_seqs(a, cs, c); /* where its streams ended or began (mstate_join_frame.h) */
    fin_note(a, c, cs->first_ts, cs->close_reason);
    if (!c || (cs->flags & CONN_F_START_SEEN) || cs->carrier != CONN_CARRIER_TCP || seqs_of(a)->len >= ANALYSIS_MAX_EDGES)
        return;
    struct hs_edge h;
    memset(&h, 0, sizeof h);
    for (int d = 0; d < 2; d++) {
        h.addr[d] = c->addr[d];
        h.port[d] = c->port[d];
        h.seq[d] = c->stream[d].started ? (int64_t)c->stream[d].base : -1;
        h.from_syn[d] = c->stream[d].started && !c->stream[d].midstream;
    }
    h.first_ts = cs->first_ts;
    g_array_append_val(a->edge_seqs, h);
}

void hs_edges_fold_mem(struct analysis *dst, const struct analysis *src)
{
    for (guint i = 0; src->edge_seqs && i < src->edge_seqs->len && seqs_of(dst)->len < ANALYSIS_MAX_EDGES; i++)
        g_array_append_val(dst->edge_seqs, g_array_index(src->edge_seqs, struct hs_edge, i));
    fin_recs_fold_mem(dst, src);
    nbss_edges_fold_mem(dst, src);
    nbns_xids_fold_mem(dst, src);
}

/* The name of record i (mstate_name_owned() takes the first of each). */
static struct mstate_name name_at(const GArray *recs, guint i)
{
    const struct hs_edge *r = &g_array_index(recs, struct hs_edge, i);
    return mstate_name_of(&r->addr[0], r->port[0], &r->addr[1], r->port[1], r->first_ts);
}

static gint seq_order(gconstpointer pa, gconstpointer pb) { return memcmp(pa, pb, sizeof(struct hs_edge)); }

void mstate_build_edge_seqs(struct json *b, const struct analysis *a)
{
    json_key(b, "edge_seqs");
    json_begin_array(b);
    GArray *recs = g_array_new(FALSE, TRUE, sizeof(struct hs_edge)); /* the same state whatever the fold order */
    bool *own = a->merged_parts && a->edge_seqs ? mstate_name_owned(a->edge_seqs, name_at, a->edges) : NULL;
    for (guint i = 0; a->edge_seqs && i < a->edge_seqs->len; i++)
        if (!a->merged_parts || own[i])
            g_array_append_val(recs, g_array_index(a->edge_seqs, struct hs_edge, i));
    g_free(own);
    g_array_sort(recs, seq_order);
    for (guint i = 0; i < recs->len; i++) {
        const struct hs_edge *h = &g_array_index(recs, struct hs_edge, i);
        json_begin_array(b);
        put_ends(b, h->addr, h->port);
        json_int(b, h->first_ts);
        json_int(b, h->seq[0]);
        json_int(b, h->seq[1]);
        json_int(b, h->from_syn[0]);
        json_int(b, h->from_syn[1]);
        json_end_array(b);
    }
    json_end_array(b);
    g_array_free(recs, TRUE);
    mstate_build_edge_fins(b, a);
    mstate_build_nbns_xids(b, a);
}

void mstate_fold_edge_seqs(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    mstate_fold_edge_fins(g, p, a, st);
    mstate_fold_nbns_xids(g, p, a, st);
    if (!json_object_has_member(st, "edge_seqs"))
        return; /* a report of this format written before they were carried */
    struct jpath ap, ip;
    jpath_key(&ap, p, "edge_seqs");
    JsonArray *arr = jget_arr(g, p, st, "edge_seqs", ANALYSIS_MAX_EDGES);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != HF_N) {
            jget_fail(g, &ip, "not [addr, port, addr, port, first_ts, seq, seq, syn, syn]");
            return;
        }
        struct hs_edge h;
        memset(&h, 0, sizeof h);
        jget_elem_ends(g, &ip, e, h.addr, h.port);
        for (int d = 0; d < 2; d++) {
            h.seq[d] = jget_elem_i64(g, &ip, e, d ? HF_SEQ1 : HF_SEQ0);
            h.from_syn[d] = jget_elem_u64(g, &ip, e, d ? HF_SYN1 : HF_SYN0, 1) != 0;
            if (!g->failed && (h.seq[d] < -1 || h.seq[d] > UINT32_MAX))
                jget_fail(g, &ip, "a sequence number out of range");
        }
        h.first_ts = jget_elem_ts(g, &ip, e, HF_FIRST);
        if (g->failed)
            return;
        if (seqs_of(a)->len < 16 * ANALYSIS_MAX_EDGES) /* a bound for merge itself */
            g_array_append_val(a->edge_seqs, h);
    }
}

/* ---- joining ------------------------------------------------------------ */

/* a->edge_seqs' places by their ends and first packet (mstate_ends_ix.h):
 * each edge's look-up walks its own (it walked them all). */
static struct mstate_ends_ix *seqs_index(const struct analysis *a)
{
    struct mstate_ends_ix *ix = mstate_ends_ix_new(a->edge_seqs);
    for (guint i = 0; a->edge_seqs && i < a->edge_seqs->len; i++) {
        const struct hs_edge *h = &g_array_index(a->edge_seqs, struct hs_edge, i);
        mstate_ends_ix_put(ix, mstate_ends_word(&h->addr[0], h->port[0], &h->addr[1], h->port[1], h->first_ts), i);
    }
    return ix;
}

/* The first record of cs's ends and first packet. */
static const struct hs_edge *seqs_for(const struct analysis *a, const struct mstate_ends_ix *ix,
                                      const struct conn_summary *cs)
{
    struct mstate_ends_it it;
    uint64_t w = mstate_ends_word(&cs->client, cs->client_port, &cs->server, cs->server_port, cs->first_ts);
    for (guint k = mstate_ends_ix_first(ix, w, &it); k != G_MAXUINT; k = mstate_ends_ix_next(ix, &it)) {
        const struct hs_edge *h = &g_array_index(a->edge_seqs, struct hs_edge, k);
        if (h->first_ts != cs->first_ts)
            continue;
        if ((mstate_same_end(&h->addr[0], h->port[0], &cs->client, cs->client_port) &&
             mstate_same_end(&h->addr[1], h->port[1], &cs->server, cs->server_port)) ||
            (mstate_same_end(&h->addr[1], h->port[1], &cs->client, cs->client_port) &&
             mstate_same_end(&h->addr[0], h->port[0], &cs->server, cs->server_port)))
            return h;
    }
    return NULL;
}

/* The record's side of x (0 or 1). */
static int side_of(const struct hs_edge *h, const struct ip_addr *x, uint16_t xp)
{
    return mstate_same_end(&h->addr[0], h->port[0], x, xp) ? 0 : 1;
}

/* No byte between the handshake and the late part's first: the initiator
 * began at its ISN + 1 (flow.c also seeds it so from a SYN-ACK), the
 * responder likewise or at the SYN-ACK the late part saw; at least one sent. */
static bool gapless(const struct hs_edge *h, const struct syn_flow *f)
{
    int i = side_of(h, &f->addr[0], f->port[0]), r = 1 - i;
    if (h->seq[i] < 0 && h->seq[r] < 0)
        return false;
    /* an MPA startup the early part held: the late part's bytes follow it */
    bool init_ok = h->seq[i] < 0 || (uint32_t)h->seq[i] == f->isn + 1u + (uint32_t)f->sent[0];
    bool resp_ok = h->seq[r] < 0 || (h->from_syn[r] && !f->sent[1]) ||
                   (f->isn_resp_known && (uint32_t)h->seq[r] == f->isn_resp + 1u + (uint32_t)f->sent[1]);
    return init_ok && resp_ok;
}

static void emit_finding(const char *text, void *arg) { json_array_add_string_element(arg, text); }

/* smb_direct.mpa of an iWARP connection whose startup the early part held
 * (mstate_join_syn.h: its flow's MPA facts): what the startup settled, not
 * what the late part, seen from its middle, inferred; a reply the late part
 * began with (rdma_iwarp.c: recognise()) is the startup's too. */
static void mpa_entry(JsonObject *e, const struct conn_summary *j, const struct syn_flow *f)
{
    JsonObject *m = jget_member_obj(jget_member_obj(e, "smb_direct"), "mpa");
    if (!m)
        return;
    int c = mstate_same_end(&f->addr[0], f->port[0], &j->client, j->client_port) ? 0 : 1; /* the client's flow side */
    const struct {
        const char *k;
        bool v;
    } flags[] = { { "request_seen", f->mpa_request_seen }, { "reply_seen", f->mpa_reply_seen },
                  { "rejected", f->mpa_rejected }, { "crc", f->mpa_crc }, { "midstream", false } };
    for (size_t i = 0; i < G_N_ELEMENTS(flags); i++)
        if (json_object_has_member(m, flags[i].k))
            json_object_set_boolean_member(m, flags[i].k,
                                           flags[i].v || (i + 1 < G_N_ELEMENTS(flags) &&
                                                          json_object_get_boolean_member(m, flags[i].k)));
    /* markers are set at a direction's first FPDU (rdma_iwarp.c): the late part's, or the early part's */
    const char *mk[2] = { "markers_to_server", "markers_to_client" };
    for (int k = 0; k < 2; k++)
        if (f->mpa_markers[k ? 1 - c : c] && json_object_has_member(m, mk[k]))
            json_object_set_boolean_member(m, mk[k], TRUE);
    const struct {
        const char *k;
        uint64_t v;
    } nums[] = { { "revision", f->mpa_revision }, { "client_private_data_len", f->mpa_private_len[c] },
                 { "server_private_data_len", f->mpa_private_len[1 - c] } };
    for (size_t i = 0; i < G_N_ELEMENTS(nums); i++)
        if (json_object_has_member(m, nums[i].k) && nums[i].v) /* 0: that frame was the late part's, or said 0 */
            json_object_set_int_member(m, nums[i].k, (gint64)nums[i].v);
}

/* The connections[] entry of the connection now seen from its start. */
static void entry_from_start(JsonObject *e, const struct conn_summary *j, const struct syn_flow *f)
{
    char buf[256];
    json_object_set_string_member(e, "first_seen", fmt_time(j->first_ts, buf));
    json_object_set_string_member(e, "client_rule", "syn"); /* flow.h: the SYN names the initiator */
    json_object_set_string_member(e, "transport", transport_class_name((enum transport_class)j->transport));
    json_object_set_string_member(e, "transport_evidence", transport_evidence_text(j->evidence, buf, sizeof buf));
    JsonObject *st = jget_member_obj(e, "stream");
    if (st) {
        json_object_set_boolean_member(st, "midstream", FALSE);
        bool fwd = mstate_same_end(&f->addr[0], f->port[0], &j->client, j->client_port);
        mstate_add_int(st, "packets_c2s", f->packets[fwd ? 0 : 1]);
        mstate_add_int(st, "packets_s2c", f->packets[fwd ? 1 : 0]);
        mstate_add_int(st, "bytes_c2s", f->sent[fwd ? 0 : 1]);
        mstate_add_int(st, "bytes_s2c", f->sent[fwd ? 1 : 0]);
    }
    /* A run from the start lists no message of a session without a record
     * (session_enc.h): those left were of sessions no part set up. */
    JsonObject *en = jget_member_obj(e, "encryption");
    if (en) {
        json_object_remove_member(en, "unseen_sessions");
        json_object_remove_member(en, "unseen_sessions_folded_pdus");
    }
    if (f->mpa)
        mpa_entry(e, j, f);
    JsonArray *fa = json_array_new();
    uint64_t gaps = st ? (uint64_t)json_object_get_int_member_with_default(st, "gaps", 0) : j->gaps;
    verdict_conn_findings_of(j->transport, j->evidence, j->dialect, j->server_port, gaps, j->smb_version,
                             emit_finding, fa);
    json_object_set_array_member(e, "findings", fa);
}

/* --jobs keeps the connection itself (struct smb_conn), not its JSON
 * entry: the same facts as entry_from_start(). */
static void conn_from_start(struct analysis *a, const struct conn_summary *before, const struct conn_summary *j,
                            const struct syn_flow *f)
{
    for (guint i = 0; a->conns && i < a->conns->len; i++) {
        struct smb_conn *s = g_ptr_array_index(a->conns, i);
        if (s->first_ts != before->first_ts ||
            !((s->port[0] == before->client_port && s->port[1] == before->server_port) ||
              (s->port[1] == before->client_port && s->port[0] == before->server_port)))
            continue;
        s->first_ts = j->first_ts;
        s->client_rule = CLIENT_BY_SYN;
        s->client = mstate_same_end(&s->addr[0], s->port[0], &f->addr[0], f->port[0]) ? 0 : 1;
        s->verdict.cls = (enum transport_class)j->transport;
        s->verdict.evidence = j->evidence;
        s->midstream = false;
        s->handshake_seen = true;
        g_free(s->enc_unseen); /* as entry_from_start(): a run from the start lists none */
        s->enc_unseen = NULL;
        for (int d = 0; d < 2; d++) {
            s->packets[d] += f->packets[d == s->client ? 0 : 1];
            s->bytes[d] += f->sent[d == s->client ? 0 : 1];
        }
        if (f->mpa && s->smbd) { /* the startup's facts (mpa_entry), by flow direction */
            bool same = mstate_same_end(&s->addr[0], s->port[0], &f->addr[0], f->port[0]);
            struct smb_direct_info *m = s->smbd;
            m->mpa_request_seen |= f->mpa_request_seen; /* the reply: the late part may have begun with it */
            m->mpa_reply_seen |= f->mpa_reply_seen;
            m->mpa_rejected |= f->mpa_rejected;
            m->mpa_crc |= f->mpa_crc;
            m->mpa_revision = f->mpa_revision ? f->mpa_revision : m->mpa_revision;
            m->mpa_midstream = false;
            for (int d = 0; d < 2; d++) {
                m->mpa_markers[d] |= f->mpa_markers[same ? d : 1 - d]; /* set at the first FPDU: either part's */
                if (f->mpa_private_len[same ? d : 1 - d])
                    m->mpa_private_len[d] = f->mpa_private_len[same ? d : 1 - d];
            }
        }
        return;
    }
}

/* The summary of the connection seen from its start (classify.c's rules:
 * a connection classed unknown-start had no other rule to hold). */
static void summary_from_start(struct conn_summary *j, const struct syn_flow *f, const struct policy *p)
{
    j->first_ts = f->first_ts;
    j->packets += f->packets[0] + f->packets[1];
    j->bytes += f->sent[0] + f->sent[1];
    j->flags |= CONN_F_START_SEEN;
    j->evidence &= ~(uint32_t)EV_NO_TCP_HANDSHAKE;
    if (j->transport == TRANSPORT_UNKNOWN_START) {
        j->transport = TRANSPORT_DIRECT;
        j->evidence |= EV_DIRECT_FRAMING;
        if (j->evidence & EV_NBSS_KEEPALIVE)
            j->evidence = (j->evidence & ~(uint32_t)EV_NBSS_KEEPALIVE) | EV_KEEPALIVE_ON_DIRECT;
    }
    /* verdict.c: authentication is unseen from the start only when content was lost */
    bool known = j->flags & (CONN_F_KERBEROS | CONN_F_NTLM | CONN_F_OTHER_AUTH);
    j->flags = (uint16_t)((j->flags & ~CONN_F_AUTH_UNSEEN) |
                          (!known && (j->flags & CONN_F_CONTENT_LOST) ? CONN_F_AUTH_UNSEEN : 0));
    if (j->evidence & EV_KEEPALIVE_ON_DIRECT)
        j->findings |= 1u << FINDING_KEEPALIVE_ON_DIRECT;
    struct policy_conn_facts fc = conn_summary_facts(j);
    j->rules = policy_check_connection(p, &fc);
    j->undecided = policy_undecided_connection(p, &fc);
    j->gap = (uint8_t)conn_summary_gap(&fc);
}

void mstate_join_hs(struct analysis *a)
{
    mstate_join_syn_heads(a); /* a handshake over several parts: one syn flow */
    if (!a->edges || !a->syn_flows)
        return;
    struct mstate_ends_ix *seqs = seqs_index(a); /* edge_seqs: not changed below */
    struct syn_flow_heads *heads = syn_flow_heads_new(a);
    for (guint i = 0; i < a->edges->len; i++) {
        struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, i);
        if (cs->carrier != CONN_CARRIER_TCP || (cs->flags & CONN_F_START_SEEN))
            continue;
        const struct hs_edge *h = seqs_for(a, seqs, cs);
        struct syn_flow *f = h ? syn_flow_heads_for(heads, &cs->client, cs->client_port, &cs->server, cs->server_port,
                                                    cs->first_ts)
                               : NULL;
        if (!f || !gapless(h, f) || !mstate_same_end(&f->addr[0], f->port[0], &cs->client, cs->client_port))
            continue;
        struct conn_summary before = *cs;
        summary_from_start(cs, f, &a->cfg->policy);
        mstate_fins_rename(a, &before, cs->first_ts);
        mstate_nbss_rename(a, &before, cs->first_ts);
        mstate_nbss_row_add(a, cs, f->first_ts, f->first_ts, f->packets[0] + f->packets[1], 0);
        JsonObject *e = mstate_detail_entry(a, &before);
        if (e)
            entry_from_start(e, cs, f);
        else
            conn_from_start(a, &before, cs, f);
        guint x = mstate_xchg_find(a, &before);
        if (x != G_MAXUINT) { /* its exchanges go by the connection's first packet */
            struct mstate_xchg *m = g_ptr_array_index(a->edge_xchg, x);
            mstate_xchg_rename(a, x, cs->first_ts, m->client_port, m->server_port);
            /* seen from its start: no part before it to settle or answer
             * (as mstate_xchg_join() keeps them for one seen from its middle) */
            m->x.settled = false;
            m->x.n_answers = 0;
            if (!m->x.pending.have && !m->x.n_trees && !m->x.neg_signing_required)
                mstate_xchg_remove(a, x);
        }
        syn_flow_heads_used(heads, f);
    }
    syn_flow_heads_free(heads);
    mstate_ends_ix_free(seqs);
}
