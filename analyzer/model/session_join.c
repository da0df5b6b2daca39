/* session_join.c - see session_join.h.  Member by member as
 * analyzer/merge/mstate_detail.c (merge_into) joins the two JSON entries of
 * `smbscope merge`, so that `--jobs N` over the parts of one capture and
 * the merge of the parts' reports give one answer. */
#include "session_join.h"

#include <string.h>

#include "dialect.h"
#include "rdma.h"
#include "session_enc.h"
#include "session_priv.h"

static void swap_arrays(GArray **a, GArray **b)
{
    GArray *t = *a;
    *a = *b;
    *b = t;
}

static void swap_ctx(struct smb2_neg_ctx_list **a, struct smb2_neg_ctx_list **b)
{
    struct smb2_neg_ctx_list *t = *a;
    *a = *b;
    *b = t;
}

static void swap_wstr(struct wstr *a, struct wstr *b)
{
    struct wstr t = *a;
    *a = *b;
    *b = t;
}

static bool wstr_same(const struct wstr *a, const struct wstr *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* A NEGOTIATE the late part saw is the connection's last: a request there
 * gives the client's side, a response the server's side and the dialect;
 * the early part's members stand for what the late part did not see.  An
 * SMB1 response whose request the early part saw keeps the early part's
 * list: its dialect is an index into it. */
static void join_negotiate(struct smb_conn *e, struct smb_conn *l)
{
    if (l->smb1_dialects->len) {
        swap_arrays(&e->smb1_dialects, &l->smb1_dialects);
        e->smb1_dialects_total = l->smb1_dialects_total;
    }
    e->smb1_negotiate_seen |= l->smb1_negotiate_seen;
    if (l->dialects_offered->len) {
        swap_arrays(&e->dialects_offered, &l->dialects_offered);
        e->dialects_total = l->dialects_total;
        e->dialects_from_smb1 = l->dialects_from_smb1;
    }
    if (l->smb2_request_seen) {
        e->smb2_request_seen = true;
        e->client_security_mode = l->client_security_mode;
        e->client_capabilities = l->client_capabilities;
        memcpy(e->client_guid, l->client_guid, sizeof e->client_guid);
    }
    if (l->ctx_request) /* both retained: pooled lists (smb_conn_retain) */
        swap_ctx(&e->ctx_request, &l->ctx_request);
    if (l->smb1_response_seen) {
        e->smb1_response_seen = true;
        e->smb1_chosen = l->smb1_chosen;
        e->smb1_security_mode = l->smb1_security_mode;
        e->smb1_capabilities = l->smb1_capabilities;
    }
    if (l->smb2_response_seen) {
        e->smb2_response_seen = true;
        e->dialect = l->dialect;
        e->server_security_mode = l->server_security_mode;
        e->server_capabilities = l->server_capabilities;
        memcpy(e->server_guid, l->server_guid, sizeof e->server_guid);
        e->max_read = l->max_read;
        e->max_write = l->max_write;
        e->max_transact = l->max_transact;
        if (l->cipher_known) {
            e->cipher = l->cipher;
            e->cipher_known = true;
        }
    }
    if (l->ctx_response)
        swap_ctx(&e->ctx_response, &l->ctx_response);
    e->smb1_seen |= l->smb1_seen;
    e->smb2_seen |= l->smb2_seen;
}

static void join_obs(struct transport_obs *e, const struct transport_obs *l)
{
    e->session_messages += l->session_messages;
    e->smb_messages += l->smb_messages;
    e->session_requests += l->session_requests;
    e->positive_responses += l->positive_responses;
    e->negative_responses += l->negative_responses;
    e->retarget_responses += l->retarget_responses;
    e->keepalives += l->keepalives;
    if (l->largest_message > e->largest_message)
        e->largest_message = l->largest_message;
    e->length_over_17bit |= l->length_over_17bit;
    e->smbd_negotiates += l->smbd_negotiates;
    e->smbd_data += l->smbd_data;
}

/* A session the late part saw again (same id): its counters added, what it
 * saw united; a new one moved over (its strings with it). */
static void join_sessions(struct smb_conn *e, struct smb_conn *l)
{
    for (guint i = 0; i < l->sessions->len; i++) {
        struct smb_session_rec *r = &g_array_index(l->sessions, struct smb_session_rec, i);
        struct smb_session_rec *m = session_get(e, r->id, false);
        if (m) {
            m->encrypted_pdus += r->encrypted_pdus;
            m->signed_seen |= r->signed_seen;
            m->established |= r->established;
            m->encrypt_data |= r->encrypt_data;
            continue;
        }
        if (e->sessions->len >= SESSION_MAX_SESSIONS) {
            e->sessions_dropped++;
            continue;
        }
        g_array_append_val(session_array(&e->sessions, sizeof *r), *r);
        memset(&r->user, 0, sizeof r->user); /* moved */
        memset(&r->domain, 0, sizeof r->domain);
        memset(&r->workstation, 0, sizeof r->workstation);
    }
    e->sessions_dropped += l->sessions_dropped;
}

static bool same_share(const struct smb_share_rec *a, const struct smb_share_rec *b)
{
    return a->tree_id == b->tree_id && a->answered == b->answered && a->status == b->status &&
           a->share_type == b->share_type && a->share_flags == b->share_flags && a->encrypt_data == b->encrypt_data &&
           wstr_same(&a->path, &b->path) && wstr_same(&a->service, &b->service);
}

/* Shares of the late part the early one does not list, moved over. */
static void join_shares(struct smb_conn *e, struct smb_conn *l)
{
    for (guint i = 0; i < l->shares->len; i++) {
        struct smb_share_rec *r = &g_array_index(l->shares, struct smb_share_rec, i);
        bool have = false;
        for (guint k = 0; !have && k < e->shares->len; k++)
            have = same_share(&g_array_index(e->shares, struct smb_share_rec, k), r);
        if (have)
            continue;
        if (e->shares->len >= SESSION_MAX_SHARES) {
            e->shares_dropped++;
            continue;
        }
        g_array_append_val(session_array(&e->shares, sizeof *r), *r);
        memset(&r->path, 0, sizeof r->path);
        memset(&r->service, 0, sizeof r->service);
    }
    e->shares_dropped += l->shares_dropped;
}

/* SMB Direct counters added (the report's smb_direct members); the start's
 * facts (MPA flags, queue pairs, sizes) are the early part's, a negotiate
 * it did not see the late part's. */
static void join_smbd(struct smb_direct_info *e, const struct smb_direct_info *l)
{
    if (!e || !l)
        return;
    e->fpdus += l->fpdus;
    e->crc_bad += l->crc_bad;
    e->markers += l->markers;
    e->marker_ptr_bad += l->marker_ptr_bad;
    e->desync += l->desync;
    e->resyncs += l->resyncs;
    e->roce_packets += l->roce_packets;
    e->roce_acks += l->roce_acks;
    e->psn_dropped += l->psn_dropped;
    e->psn_duplicates += l->psn_duplicates;
    e->icrc_bad += l->icrc_bad;
    e->icrc_unchecked += l->icrc_unchecked;
    e->sends += l->sends;
    e->send_dropped += l->send_dropped;
    e->rdma_writes += l->rdma_writes;
    e->rdma_write_bytes += l->rdma_write_bytes;
    e->rdma_reads += l->rdma_reads;
    e->smbd_fragmented += l->smbd_fragmented;
    e->smbd_dropped += l->smbd_dropped;
    for (int d = 0; d < 2; d++)
        e->smbd.data_messages[d] += l->smbd.data_messages[d];
    e->smbd.invalid += l->smbd.invalid;
    if (!e->smbd.request_seen && l->smbd.request_seen) {
        e->smbd.request_seen = true;
        e->smbd.request = l->smbd.request;
    }
    if (!e->smbd.response_seen && l->smbd.response_seen) {
        e->smbd.response_seen = true;
        e->smbd.response = l->smbd.response;
    }
}

void smb_conn_join(struct smb_conn *e, struct smb_conn *l)
{
    bool same = memcmp(&e->addr[0], &l->addr[0], sizeof e->addr[0]) == 0 && e->port[0] == l->port[0];
    for (int d = 0; d < 2; d++) {
        e->bytes[d] += l->bytes[same ? d : 1 - d];
        e->packets[d] += l->packets[same ? d : 1 - d];
    }
    e->last_ts = l->last_ts;
    e->close_reason = l->close_reason; /* static names (flow.c) */
    e->gaps += l->gaps;
    e->gap_bytes += l->gap_bytes;
    e->overlap_conflicts += l->overlap_conflicts;
    e->retransmissions += l->retransmissions;
    e->framer_anomalies += l->framer_anomalies;
    e->decode_anomalies += l->decode_anomalies;
    e->signed_pdus += l->signed_pdus;
    e->encrypted_pdus += l->encrypted_pdus;
    e->compressed_pdus += l->compressed_pdus;
    join_obs(&e->obs, &l->obs);
    if (!e->called_name.len && l->called_name.len) {
        swap_wstr(&e->called_name, &l->called_name);
        swap_wstr(&e->calling_name, &l->calling_name);
    }
    for (uint8_t i = 0; i < l->n_neg_codes && e->n_neg_codes < SESSION_MAX_NEG_CODES; i++)
        e->neg_codes[e->n_neg_codes++] = l->neg_codes[i];
    join_negotiate(e, l);
    join_sessions(e, l);
    session_enc_unseen_join(e, l);
    join_smbd(e->smbd, l->smbd);
    for (int d = 0; e->smbd && l->smbd && d < 2; d++) { /* RoCEv2: a queue pair only the late part saw (0: none) */
        int ld = memcmp(&e->addr[d], &l->addr[d], sizeof e->addr[d]) == 0 ? d : 1 - d;
        if (!e->smbd->qpn[d])
            e->smbd->qpn[d] = l->smbd->qpn[ld];
    }
    join_shares(e, l);
    /* SMB 3.0/3.0.2 has one cipher, AES-128-CCM (MS-SMB2 3.3.5.4): as
     * smb_conn_close() says it of a connection seen whole */
    if (!e->cipher_known && smb_conn_encrypted(e) && (e->dialect == SMB2_DIALECT_300 || e->dialect == SMB2_DIALECT_302)) {
        e->cipher = SMB2_CIPHER_AES128_CCM;
        e->cipher_known = true;
    }
}
