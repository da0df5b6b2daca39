/* session.c - the session model: frames both directions of a connection,
 * decodes every SMB message and keeps the facts the reports need.
 *
 * Client and server: the sender of the SYN; without one (capture began
 * mid-connection) the sender of a NEGOTIATE request, else of any SMB request,
 * else the side with the higher port (servers listen on the lower one). */
#include "session.h"

#include <string.h>

#include "dialect.h"
#include "flow.h"
#include "nbname.h"
#include "nbss.h"
#include "smb.h"

#define SMB2_CMD_NEGOTIATE 0x0000
#define SMB2_CMD_SESSION_SETUP 0x0001
#define SMB2_CMD_TREE_CONNECT 0x0003
#define SMB1_CMD_NEGOTIATE 0x72
#define SMB1_CMD_SESSION_SETUP_ANDX 0x73
#define SMB1_CMD_TREE_CONNECT_ANDX 0x75
#define SMB2_SESSION_FLAG_IS_GUEST 0x0001
#define SMB2_SESSION_FLAG_IS_NULL 0x0002
#define SMB2_SESSION_FLAG_ENCRYPT_DATA 0x0004
#define SMB2_SHAREFLAG_ENCRYPT_DATA 0x00008000
#define SMB2_CIPHER_AES128_CCM 0x0001
#define STATUS_SUCCESS 0x00000000u

/* Headers the fast path keeps of a message it does not decode further. */
#define SMB2_HEADER_LEN 64
#define SMB1_HEADER_LEN 32
#define TRANSFORM_HEADER_LEN 52
#define COMPRESSION_HEADER_LEN 16

/* Per-direction callback context. */
struct dir_ctx {
    struct smb_conn *s;
    int dir;
};

/* State needed only while the connection is open, freed by
 * smb_conn_close(): closed connections stay in memory until the report,
 * so what they keep is what the report needs. */
struct smb_conn_live {
    struct framer fr[2];
    /* TREE_CONNECT requests waiting for their response: message id -> share */
    struct {
        uint64_t mid;
        uint16_t share;
        bool used;
    } pending_tree[16];
    uint8_t pending_tree_next;
};

struct smb_conn_priv {
    struct smb_conn pub;
    struct dir_ctx dctx[2];
    struct smb_conn_live *live; /* NULL once closed */
    int negotiate_dir;  /* direction of the first NEGOTIATE request, -1 */
    int request_dir;    /* direction of the first SMB request, -1 */
    bool msg_complete;  /* the message being decoded is whole */
    bool ctx_interned;  /* ctx_request/ctx_response are shared (ctx_intern) */
    const struct flow_conn *fc; /* the flow, while open (NULL once closed) */
    uint8_t started;    /* bit per direction: data or a gap was seen */
    uint8_t bad_start;  /* bit per direction: seen from its start, and its first byte is no NBSS type */
    bool not_smb;       /* see smb_conn_not_smb() */
};

static struct smb_conn_priv *priv(struct smb_conn *s) { return (struct smb_conn_priv *)s; }

void wstr_set(struct wstr *w, const uint8_t *p, size_t n)
{
    g_free(w->p);
    if (n > 4096)
        n = 4096;
    w->p = g_malloc(n + 1);
    if (n)
        memcpy(w->p, p, n);
    w->p[n] = '\0';
    w->len = (uint32_t)n;
}

void wstr_free(struct wstr *w)
{
    g_free(w->p);
    w->p = NULL;
    w->len = 0;
}

static void wstr_set_text(struct wstr *w, const char *text) { wstr_set(w, (const uint8_t *)text, strlen(text)); }

static const char *const client_rules[] = {
    [CLIENT_BY_SYN] = "syn",
    [CLIENT_BY_NEGOTIATE] = "negotiate",
    [CLIENT_BY_REQUEST] = "smb-request",
    [CLIENT_BY_PORT] = "port",
};

const char *client_rule_name(enum client_rule r) { return (unsigned)r < G_N_ELEMENTS(client_rules) ? client_rules[r] : "unknown"; }

/* ---- sessions and shares -------------------------------------------- */

static struct smb_session_rec *session_get(struct smb_conn *s, uint64_t id, bool create)
{
    for (guint i = 0; i < s->sessions->len; i++) {
        struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, i);
        if (r->id == id)
            return r;
    }
    if (!create)
        return NULL;
    if (s->sessions->len >= SESSION_MAX_SESSIONS) {
        s->sessions_dropped++;
        return NULL;
    }
    struct smb_session_rec r;
    memset(&r, 0, sizeof r);
    r.id = id;
    g_array_append_val(s->sessions, r);
    return &g_array_index(s->sessions, struct smb_session_rec, s->sessions->len - 1);
}

static struct smb_share_rec *share_new(struct smb_conn *s, const char *path, size_t len)
{
    if (s->shares->len >= SESSION_MAX_SHARES) {
        s->shares_dropped++;
        return NULL;
    }
    struct smb_share_rec r;
    memset(&r, 0, sizeof r);
    wstr_set(&r.path, (const uint8_t *)path, len);
    g_array_append_val(s->shares, r);
    return &g_array_index(s->shares, struct smb_share_rec, s->shares->len - 1);
}

static void tree_pending_add(struct smb_conn *s, uint64_t mid)
{
    struct smb_conn_live *p = priv(s)->live;
    if (!p)
        return;
    unsigned i = p->pending_tree_next++ % G_N_ELEMENTS(p->pending_tree);
    p->pending_tree[i].mid = mid;
    p->pending_tree[i].share = (uint16_t)(s->shares->len - 1);
    p->pending_tree[i].used = true;
}

static struct smb_share_rec *tree_pending_take(struct smb_conn *s, uint64_t mid)
{
    struct smb_conn_live *p = priv(s)->live;
    if (!p)
        return NULL;
    for (unsigned i = 0; i < G_N_ELEMENTS(p->pending_tree); i++)
        if (p->pending_tree[i].used && p->pending_tree[i].mid == mid) {
            p->pending_tree[i].used = false;
            if (p->pending_tree[i].share < s->shares->len)
                return &g_array_index(s->shares, struct smb_share_rec, p->pending_tree[i].share);
        }
    return NULL;
}

/* Keep what a request-side security blob said until the response settles
 * the session: the mech list of the first blob, the identity of the last. */
static void auth_remember(struct smb_conn *s, const struct smb_auth *a)
{
    if (a->framing == GSS_FRAMING_EMPTY)
        return;
    if (!s->pending_auth) {
        s->pending_auth = g_new(struct smb_auth, 1);
        *s->pending_auth = *a;
        return;
    }
    struct smb_auth *p = s->pending_auth;
    if (a->mech_count && !p->mech_count) {
        memcpy(p->mechs, a->mechs, sizeof p->mechs);
        p->mech_count = a->mech_count;
        p->mech_total = a->mech_total;
    }
    if (a->ntlm.status != NTLMSSP_ABSENT && a->ntlm.msg_type == 3)
        p->ntlm = a->ntlm;
    p->krb5_ap_req |= a->krb5_ap_req;
    if (a->mech != AUTH_MECH_NONE && a->mech != AUTH_MECH_UNKNOWN)
        p->mech = a->mech;
}

static void session_settle(struct smb_conn *s, uint64_t id, bool success, bool guest, bool null_session,
                           bool encrypt, const struct smb_auth *resp_auth)
{
    struct smb_session_rec *r = session_get(s, id, success);
    if (!r)
        return;
    struct smb_auth *a = s->pending_auth;
    if (success)
        r->established = true;
    r->guest |= guest;
    r->anonymous |= null_session;
    r->encrypt_data |= encrypt;
    if (a) {
        if (a->krb5_ap_req)
            r->mech = AUTH_MECH_KERBEROS;
        else if (a->ntlm.status != NTLMSSP_ABSENT && a->ntlm.msg_type == 3)
            r->mech = AUTH_MECH_NTLM;
        else if (a->mech != AUTH_MECH_NONE)
            r->mech = a->mech;
        if (a->ntlm.msg_type == 3) {
            r->anonymous |= a->ntlm.anonymous;
            if (a->ntlm.user.present)
                wstr_set_text(&r->user, a->ntlm.user.text);
            if (a->ntlm.domain.present)
                wstr_set_text(&r->domain, a->ntlm.domain.text);
            if (a->ntlm.workstation.present)
                wstr_set_text(&r->workstation, a->ntlm.workstation.text);
        }
        for (uint8_t i = 0; i < a->mech_count && r->n_mechs_offered < GSS_MAX_MECHS; i++)
            r->mechs_offered[r->n_mechs_offered++] = a->mechs[i].id;
    }
    if (r->mech == AUTH_MECH_NONE && resp_auth && resp_auth->has_supported_mech)
        r->mech = gss_oid_mech(resp_auth->supported_mech.id);
    if (success) {
        g_free(s->pending_auth);
        s->pending_auth = NULL;
    }
}

/* ---- SMB sink -------------------------------------------------------- */

static void note_request(struct smb_conn *s, int dir, bool response)
{
    struct smb_conn_priv *p = priv(s);
    if (!response && p->request_dir < 0)
        p->request_dir = dir;
    if (response && p->request_dir < 0)
        p->request_dir = !dir;
}

static void on_smb1_header(void *ctx, const struct smb1_header_info *h)
{
    struct dir_ctx *d = ctx;
    d->s->smb1_seen = true;
    if (!h->andx)
        note_request(d->s, d->dir, h->response);
    if (h->signature_nonzero && (h->flags2 & 0x0004))
        d->s->signed_pdus++;
}

static void on_smb1_negotiate_request(void *ctx, const struct smb1_header_info *h, const struct smb1_negotiate_request *r)
{
    struct dir_ctx *d = ctx;
    struct smb_conn *s = d->s;
    if (priv(s)->negotiate_dir < 0)
        priv(s)->negotiate_dir = d->dir;
    if (s->smb1_negotiate_seen)
        return;
    s->smb1_negotiate_seen = true;
    s->smb1_dialects_total = (uint16_t)(r->count + r->extra);
    for (uint16_t i = 0; i < r->count && s->smb1_dialects->len < SESSION_MAX_SMB1_DIALECTS; i++) {
        struct wstr w = { NULL, 0 };
        wstr_set(&w, r->dialects[i].p, r->dialects[i].len);
        g_array_append_val(s->smb1_dialects, w);
        uint16_t code = smb1_dialect_smb2_code(r->dialects[i].p, r->dialects[i].len);
        if (code && (s->dialects_from_smb1 || s->dialects_offered->len == 0)) {
            s->dialects_from_smb1 = true;
            g_array_append_val(s->dialects_offered, code);
            s->dialects_total++;
        }
    }
}

static void on_smb1_negotiate_response(void *ctx, const struct smb1_header_info *h, const struct smb1_negotiate_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    s->smb1_response_seen = true;
    s->smb1_chosen = r->dialect_index;
    s->smb1_security_mode = r->security_mode;
    s->smb1_capabilities = r->capabilities;
}

static void on_smb1_session_setup_request(void *ctx, const struct smb1_header_info *h, const struct smb1_session_setup_request *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    if (r->extended_security) {
        auth_remember(s, &r->auth);
        return;
    }
    /* Pre-extended-security logon: LM/NTLM challenge-response with the
     * account in clear (MS-CIFS 2.2.4.53.1). */
    struct smb_auth a;
    memset(&a, 0, sizeof a);
    a.framing = GSS_FRAMING_NTLMSSP;
    a.mech = AUTH_MECH_NTLM;
    a.ntlm.status = NTLMSSP_OK;
    a.ntlm.msg_type = 3;
    a.ntlm.anonymous = !r->account.present && r->ansi_password_len <= 1 && r->unicode_password_len == 0;
    if (r->account.present) {
        a.ntlm.user.present = true;
        g_strlcpy(a.ntlm.user.text, r->account.text, sizeof a.ntlm.user.text);
    }
    if (r->domain.present) {
        a.ntlm.domain.present = true;
        g_strlcpy(a.ntlm.domain.text, r->domain.text, sizeof a.ntlm.domain.text);
    }
    auth_remember(s, &a);
}

static void on_smb1_session_setup_response(void *ctx, const struct smb1_header_info *h, const struct smb1_session_setup_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    bool success = h->status == STATUS_SUCCESS;
    session_settle(s, h->uid, success, r->guest, false, false, &r->auth);
}

static void on_smb1_tree_connect_request(void *ctx, const struct smb1_header_info *h, const struct smb1_tree_connect_request *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    struct smb_share_rec *sh = share_new(s, r->path, strlen(r->path));
    if (!sh)
        return;
    wstr_set_text(&sh->service, r->service);
    tree_pending_add(s, h->mid);
}

static void on_smb1_tree_connect_response(void *ctx, const struct smb1_header_info *h, const struct smb1_tree_connect_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    struct smb_share_rec *sh = tree_pending_take(s, h->mid);
    if (!sh)
        return;
    sh->answered = true;
    sh->status = h->status;
    sh->tree_id = h->tid;
    if (r->service[0])
        wstr_set_text(&sh->service, r->service);
}

static void on_smb2_header(void *ctx, const struct smb2_header_info *h)
{
    struct dir_ctx *d = ctx;
    struct smb_conn *s = d->s;
    s->smb2_seen = true;
    if (h->index == 0)
        note_request(s, d->dir, h->response);
    /* The SIGNED flag, as tshark counts it: a snaplen-cut header may not
     * hold the signature itself. */
    if (h->is_signed) {
        s->signed_pdus++;
        struct smb_session_rec *r = session_get(s, h->session_id, false);
        if (r)
            r->signed_seen = true;
    }
}

static void on_smb2_negotiate_request(void *ctx, const struct smb2_header_info *h, const struct smb2_negotiate_request *r)
{
    struct dir_ctx *d = ctx;
    struct smb_conn *s = d->s;
    if (priv(s)->negotiate_dir < 0)
        priv(s)->negotiate_dir = d->dir;
    if (s->smb2_request_seen)
        return;
    s->smb2_request_seen = true;
    /* The first SMB2 NEGOTIATE request's list replaces an SMB1 "SMB 2.xxx" offer. */
    g_array_set_size(s->dialects_offered, 0);
    s->dialects_from_smb1 = false;
    s->dialects_total = r->dialect_count;
    for (uint16_t i = 0; i < r->dialects_stored && s->dialects_offered->len < SESSION_MAX_DIALECTS; i++)
        g_array_append_val(s->dialects_offered, r->dialects[i]);
    s->client_security_mode = r->security_mode;
    s->client_capabilities = r->capabilities;
    memcpy(s->client_guid, r->client_guid, 16);
    if (r->contexts.status != SMB2_CTX_ABSENT) {
        s->ctx_request = g_new0(struct smb2_neg_ctx_list, 1);
        memcpy(s->ctx_request, &r->contexts, sizeof r->contexts);
    }
}

static void on_smb2_negotiate_response(void *ctx, const struct smb2_header_info *h, const struct smb2_negotiate_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    if (h->status != STATUS_SUCCESS)
        return;
    s->smb2_response_seen = true;
    s->dialect = r->dialect; /* the last response wins: 0x02FF, then the real one */
    s->server_security_mode = r->security_mode;
    s->server_capabilities = r->capabilities;
    memcpy(s->server_guid, r->server_guid, 16);
    s->max_read = r->max_read;
    s->max_write = r->max_write;
    s->max_transact = r->max_transact;
    if (r->contexts.status != SMB2_CTX_ABSENT) {
        if (!s->ctx_response)
            s->ctx_response = g_new0(struct smb2_neg_ctx_list, 1);
        memcpy(s->ctx_response, &r->contexts, sizeof r->contexts);
        const struct smb2_neg_ctx *enc = smb2_ctx_find(&r->contexts, SMB2_CTX_ENCRYPTION);
        if (enc && enc->ids_stored) {
            s->cipher = enc->ids[0];
            s->cipher_known = true;
        }
    }
}

static void on_smb2_session_setup_request(void *ctx, const struct smb2_header_info *h, const struct smb2_session_setup_request *r)
{
    auth_remember(((struct dir_ctx *)ctx)->s, &r->auth);
}

static void on_smb2_session_setup_response(void *ctx, const struct smb2_header_info *h, const struct smb2_session_setup_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    bool success = h->status == STATUS_SUCCESS;
    if (!success && !r->more_processing)
        return;
    session_settle(s, h->session_id, success, r->session_flags & SMB2_SESSION_FLAG_IS_GUEST,
                   r->session_flags & SMB2_SESSION_FLAG_IS_NULL, r->session_flags & SMB2_SESSION_FLAG_ENCRYPT_DATA,
                   &r->auth);
}

static void on_smb2_tree_connect_request(void *ctx, const struct smb2_header_info *h, const struct smb2_tree_connect_request *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    if (share_new(s, r->path, strlen(r->path)))
        tree_pending_add(s, h->message_id);
}

static void on_smb2_tree_connect_response(void *ctx, const struct smb2_header_info *h, const struct smb2_tree_connect_response *r)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    struct smb_share_rec *sh = tree_pending_take(s, h->message_id);
    if (!sh)
        return;
    sh->answered = true;
    sh->status = h->status;
    sh->tree_id = h->tree_id;
    sh->share_type = r->share_type;
    sh->share_flags = r->share_flags;
    sh->encrypt_data = r->share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA;
}

static void on_encrypted(void *ctx, const struct smb_transform_info *t)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    s->encrypted_pdus++;
    struct smb_session_rec *r = session_get(s, t->session_id, false);
    if (r)
        r->encrypted_pdus++;
}

static void on_compressed(void *ctx, const struct smb_compress_info *c)
{
    ((struct dir_ctx *)ctx)->s->compressed_pdus++;
}

static void on_smb_anomaly(void *ctx, const struct smb_anomaly *a)
{
    struct dir_ctx *d = ctx;
    /* A prefix cut on purpose (fast path) is not an anomaly of the traffic. */
    if (priv(d->s)->msg_complete)
        d->s->decode_anomalies++;
}

static const struct smb_sink sink = {
    .smb1_header = on_smb1_header,
    .smb1_negotiate_request = on_smb1_negotiate_request,
    .smb1_negotiate_response = on_smb1_negotiate_response,
    .smb1_session_setup_request = on_smb1_session_setup_request,
    .smb1_session_setup_response = on_smb1_session_setup_response,
    .smb1_tree_connect_request = on_smb1_tree_connect_request,
    .smb1_tree_connect_response = on_smb1_tree_connect_response,
    .smb2_header = on_smb2_header,
    .smb2_negotiate_request = on_smb2_negotiate_request,
    .smb2_negotiate_response = on_smb2_negotiate_response,
    .smb2_session_setup_request = on_smb2_session_setup_request,
    .smb2_session_setup_response = on_smb2_session_setup_response,
    .smb2_tree_connect_request = on_smb2_tree_connect_request,
    .smb2_tree_connect_response = on_smb2_tree_connect_response,
    .encrypted = on_encrypted,
    .compressed = on_compressed,
    .anomaly = on_smb_anomaly,
};

/* ---- framer callbacks ------------------------------------------------ */

static void on_control(void *ctx, uint8_t type, const uint8_t *body, size_t body_len, const struct nbss_control *c)
{
    struct dir_ctx *d = ctx;
    struct smb_conn *s = d->s;
    if (type == NBSS_SESSION_REQUEST && c->status == NBSS_OK && !s->called_name.len) {
        char buf[NBNAME_RENDER_MAX];
        if (c->called_status == NBNAME_OK) {
            nbname_render(&c->called, buf, sizeof buf);
            wstr_set_text(&s->called_name, buf);
        }
        if (c->calling_status == NBNAME_OK) {
            nbname_render(&c->calling, buf, sizeof buf);
            wstr_set_text(&s->calling_name, buf);
        }
    } else if (type == NBSS_NEGATIVE_RESPONSE && body_len >= 1 && s->n_neg_codes < SESSION_MAX_NEG_CODES) {
        s->neg_codes[s->n_neg_codes++] = c->error_code;
    }
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* How much of a message the decoders need.  Only NEGOTIATE, SESSION_SETUP
 * and TREE_CONNECT (and compounds, which may hide one) are decoded beyond
 * their header; READ/WRITE payloads, the bulk of SMB bytes, are not kept. */
/* What the fast path keeps of a message whose first `all` bytes could be
 * buffered: all of NEGOTIATE, SESSION_SETUP and TREE_CONNECT (and of
 * compounds, which may hide one), only the header of anything else, where
 * READ/WRITE payloads, the bulk of SMB bytes, live. */
static size_t fast_path_want(const uint8_t *head, size_t head_len, size_t all)
{
    if (head_len < 4)
        return all;
    struct wire w = wire_make(head, head_len);
    uint8_t id = wire_u8(&w);
    if (id == 0xFE && head_len >= 24) {
        struct wire h = wire_window(&w, 12, 12);
        uint16_t cmd = wire_u16le(&h);
        wire_skip(&h, 6);
        uint32_t next = wire_u32le(&h);
        if (cmd == SMB2_CMD_NEGOTIATE || cmd == SMB2_CMD_SESSION_SETUP || cmd == SMB2_CMD_TREE_CONNECT || next)
            return all;
        return min_sz(all, SMB2_HEADER_LEN);
    }
    if (id == 0xFF && head_len >= 5) {
        uint8_t cmd = wire_peek_u8(&w, 3); /* the command byte, offset 4 */
        if (cmd == SMB1_CMD_NEGOTIATE || cmd == SMB1_CMD_SESSION_SETUP_ANDX || cmd == SMB1_CMD_TREE_CONNECT_ANDX)
            return all;
        return min_sz(all, SMB1_HEADER_LEN);
    }
    if (id == 0xFD)
        return min_sz(all, TRANSFORM_HEADER_LEN);
    if (id == 0xFC)
        return min_sz(all, COMPRESSION_HEADER_LEN);
    return min_sz(all, SMB2_HEADER_LEN);
}

static size_t on_want(void *ctx, const uint8_t *head, size_t head_len, uint32_t msg_len)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    size_t all = min_sz(msg_len, s->pdu_cap);
    return s->no_fast_path ? all : fast_path_want(head, head_len, all);
}

static void on_message(void *ctx, const uint8_t *msg, size_t avail, uint32_t msg_len, unsigned flags)
{
    struct dir_ctx *d = ctx;
    if (!(flags & FRAMER_MSG_SMB))
        return;
    /* Decoding anomalies count only in messages both paths decode whole, so
     * --no-fast-path gives the same answer (a prefix kept on purpose is not
     * an anomaly of the traffic). */
    size_t all = min_sz(msg_len, d->s->pdu_cap);
    priv(d->s)->msg_complete = (flags & FRAMER_MSG_COMPLETE) && fast_path_want(msg, avail, all) == all;
    smb_decode_message(msg, avail, msg_len, &sink, d);
}

static void on_framer_anomaly(void *ctx, enum framer_anomaly an, uint64_t detail)
{
    struct smb_conn *s = ((struct dir_ctx *)ctx)->s;
    s->framer_anomalies++;
}

static const struct framer_callbacks framer_cb = {
    .control = on_control,
    .want = on_want,
    .message = on_message,
    .anomaly = on_framer_anomaly,
};

/* ---- lifecycle ------------------------------------------------------- */

struct smb_conn *smb_conn_new(const struct session_config *cfg, const struct flow_conn *fc)
{
    struct smb_conn_priv *p = g_new0(struct smb_conn_priv, 1);
    struct smb_conn *s = &p->pub;
    p->negotiate_dir = p->request_dir = -1;
    s->pdu_cap = cfg->pdu_cap ? cfg->pdu_cap : FRAMER_DEFAULT_CAP;
    s->no_fast_path = cfg->no_fast_path;
    s->smb1_chosen = -1;
    s->smb1_dialects = g_array_new(FALSE, FALSE, sizeof(struct wstr));
    s->dialects_offered = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    s->sessions = g_array_new(FALSE, FALSE, sizeof(struct smb_session_rec));
    s->shares = g_array_new(FALSE, FALSE, sizeof(struct smb_share_rec));
    p->fc = fc;
    p->live = g_new0(struct smb_conn_live, 1);
    s->fr = p->live->fr;
    for (int d = 0; d < 2; d++) {
        p->dctx[d].s = s;
        p->dctx[d].dir = d;
        framer_init(&s->fr[d], &framer_cb, &p->dctx[d], &s->obs, fc->midstream);
        framer_set_cap(&s->fr[d], s->pdu_cap);
    }
    return s;
}

static bool carried_smb(const struct transport_obs *o);

/* The first bytes of a direction seen from its start (the flow saw the SYN
 * and no gap came first): a first byte that no NBSS / direct-TCP header can
 * have (RFC 1002 4.3.1 types 0x00, 0x81..0x85) -- a TLS record, an HTTP
 * request -- marks the direction.  When both directions are marked and
 * nothing SMB-like was seen, the connection is not SMB (both modes alike):
 * without this the framer resync-scans every byte of every HTTPS download,
 * slowly, and in gigabytes of such data now and then finds a false header. */
static bool judge_start(struct smb_conn *s, int dir, const uint8_t *p, size_t n)
{
    struct smb_conn_priv *pv = priv(s);
    if (pv->started & (1u << dir))
        return pv->not_smb;
    pv->started |= (uint8_t)(1u << dir);
    if (p && n > 0 && pv->fc && !pv->fc->midstream) {
        struct wire w = wire_make(p, n);
        uint8_t b = wire_u8(&w);
        if (b != 0x00 && (b < NBSS_SESSION_REQUEST || b > NBSS_KEEPALIVE))
            pv->bad_start |= (uint8_t)(1u << dir);
    }
    if (pv->bad_start == 3 && !carried_smb(&s->obs))
        pv->not_smb = true;
    return pv->not_smb;
}

void smb_conn_data(struct smb_conn *s, int dir, const uint8_t *p, size_t n, int64_t ts_us)
{
    if (!s->fr || judge_start(s, dir & 1, p, n))
        return;
    framer_feed(&s->fr[dir & 1], p, n);
}

void smb_conn_gap(struct smb_conn *s, int dir, uint64_t n, int64_t ts_us)
{
    if (!s->fr || judge_start(s, dir & 1, NULL, 0))
        return;
    framer_gap(&s->fr[dir & 1], n);
}

bool smb_conn_not_smb(const struct smb_conn *s) { return ((const struct smb_conn_priv *)s)->not_smb; }

/* Closed connections are kept for the report, and a day-long capture holds
 * tens of thousands of them; their negotiate context lists (800 bytes each
 * way) are nearly always alike, so identical lists are kept once.  The
 * table only grows (by the number of distinct lists) and lives as long as
 * the process: interned lists are never freed one by one. */
static GHashTable *ctx_intern;

static guint ctx_list_hash(gconstpointer p)
{
    /* over the whole struct, padding included, eight bytes at a time */
    const uint8_t *b = p;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    size_t i = 0;
    for (; i + 8 <= sizeof(struct smb2_neg_ctx_list); i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * UINT64_C(0x100000001b3);
        h ^= h >> 29;
    }
    for (; i < sizeof(struct smb2_neg_ctx_list); i++)
        h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return (guint)(h ^ (h >> 32));
}

/* Byte equality: padding that differs only costs a duplicate, never a
 * wrong answer. */
static gboolean ctx_list_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(struct smb2_neg_ctx_list)) == 0;
}

static struct smb2_neg_ctx_list *ctx_list_intern(struct smb2_neg_ctx_list *l)
{
    if (!l)
        return NULL;
    if (!ctx_intern)
        ctx_intern = g_hash_table_new(ctx_list_hash, ctx_list_equal);
    struct smb2_neg_ctx_list *kept = g_hash_table_lookup(ctx_intern, l);
    if (kept) {
        g_free(l);
        return kept;
    }
    g_hash_table_add(ctx_intern, l);
    return l;
}

static bool carried_smb(const struct transport_obs *o)
{
    return o->session_messages || o->smb_messages || o->session_requests || o->positive_responses ||
           o->negative_responses || o->retarget_responses || o->keepalives;
}

bool smb_conn_close(struct smb_conn *s, const struct flow_conn *fc, const char *reason)
{
    struct smb_conn_priv *p = priv(s);
    for (int d = 0; d < 2; d++) {
        s->addr[d] = fc->addr[d];
        s->port[d] = fc->port[d];
        s->bytes[d] = fc->dir[d].bytes;
        s->packets[d] = fc->dir[d].packets;
        const struct reasm_stats *st = &fc->stream[d].st;
        s->gaps += st->gaps;
        s->gap_bytes += st->gap_bytes;
        s->overlap_conflicts += st->overlap_conflicts;
        s->retransmissions += st->retransmissions;
        if (s->fr) {
            const struct framer_stats *fs = framer_stats(&s->fr[d]);
            s->resyncs += fs->resyncs;
            s->skipped_bytes += fs->skipped_bytes;
            framer_free(&s->fr[d]);
        }
    }
    g_free(p->live);
    p->live = NULL;
    s->fr = NULL;
    p->fc = NULL;
    s->flow_id = fc->id;
    s->first_ts = fc->first_ts_us;
    s->last_ts = fc->last_ts_us;
    s->midstream = fc->midstream;
    s->handshake_seen = fc->hs != FLOW_HS_NONE;
    s->close_reason = reason;

    if (!fc->initiator_guessed) {
        s->client = 0;
        s->client_rule = CLIENT_BY_SYN;
    } else if (p->negotiate_dir >= 0) {
        s->client = p->negotiate_dir;
        s->client_rule = CLIENT_BY_NEGOTIATE;
    } else if (p->request_dir >= 0) {
        s->client = p->request_dir;
        s->client_rule = CLIENT_BY_REQUEST;
    } else {
        s->client = s->port[0] < s->port[1] ? 1 : 0;
        s->client_rule = CLIENT_BY_PORT;
    }
    /* a logon that never completed leaves its request blob: not reported */
    g_free(s->pending_auth);
    s->pending_auth = NULL;
    s->ctx_request = ctx_list_intern(s->ctx_request);
    s->ctx_response = ctx_list_intern(s->ctx_response);
    p->ctx_interned = true;

    s->obs.server_port = s->port[!s->client];
    s->obs.handshake_seen = s->handshake_seen;
    s->verdict = transport_classify(&s->obs);

    /* SMB 3.0/3.0.2 has one cipher, AES-128-CCM (MS-SMB2 3.3.5.4). */
    if (!s->cipher_known && smb_conn_encrypted(s) && (s->dialect == SMB2_DIALECT_300 || s->dialect == SMB2_DIALECT_302)) {
        s->cipher = SMB2_CIPHER_AES128_CCM;
        s->cipher_known = true;
    }
    return carried_smb(&s->obs);
}

void smb_conn_free(struct smb_conn *s)
{
    if (!s)
        return;
    if (s->fr)
        for (int d = 0; d < 2; d++)
            framer_free(&s->fr[d]);
    g_free(priv(s)->live);
    for (guint i = 0; i < s->smb1_dialects->len; i++)
        wstr_free(&g_array_index(s->smb1_dialects, struct wstr, i));
    for (guint i = 0; i < s->sessions->len; i++) {
        struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, i);
        wstr_free(&r->user);
        wstr_free(&r->domain);
        wstr_free(&r->workstation);
    }
    for (guint i = 0; i < s->shares->len; i++) {
        struct smb_share_rec *r = &g_array_index(s->shares, struct smb_share_rec, i);
        wstr_free(&r->path);
        wstr_free(&r->service);
    }
    g_array_free(s->smb1_dialects, TRUE);
    g_array_free(s->dialects_offered, TRUE);
    g_array_free(s->sessions, TRUE);
    g_array_free(s->shares, TRUE);
    wstr_free(&s->called_name);
    wstr_free(&s->calling_name);
    if (!priv(s)->ctx_interned) {
        g_free(s->ctx_request);
        g_free(s->ctx_response);
    }
    g_free(s->pending_auth);
    g_free(priv(s));
}

/* ---- report helpers -------------------------------------------------- */

int smb_conn_smb_version(const struct smb_conn *s)
{
    if (s->smb2_response_seen && s->dialect) {
        const struct smb2_dialect_info *d = smb2_dialect_lookup(s->dialect);
        return d ? d->smb_version : 2;
    }
    if (s->smb1_response_seen && s->smb1_chosen >= 0 && s->smb1_chosen != 0xFFFF)
        return 1;
    /* SMB2 headers without a NEGOTIATE cannot tell 2 from 3: unknown.  An
     * SMB1 header is SMB1 whatever the dialect. */
    if (s->smb1_seen && !s->smb2_seen)
        return 1;
    return 0;
}

const char *smb_conn_dialect_text(const struct smb_conn *s, char *buf, size_t buflen)
{
    if (s->smb2_response_seen && s->dialect)
        return smb2_dialect_name(s->dialect, buf, buflen);
    if (s->smb1_response_seen && s->smb1_chosen >= 0 && (guint)s->smb1_chosen < s->smb1_dialects->len) {
        const struct wstr *w = &g_array_index(s->smb1_dialects, struct wstr, s->smb1_chosen);
        return (const char *)w->p;
    }
    return NULL;
}

bool smb_conn_signing_required(const struct smb_conn *s)
{
    if (smb_conn_smb_version(s) >= 2)
        return (s->server_security_mode | s->client_security_mode) & 0x0002;
    return s->smb1_security_mode & 0x08; /* NEGOTIATE_SECURITY_SIGNATURES_REQUIRED */
}

const char *smb_conn_signing_mode(const struct smb_conn *s)
{
    int v = smb_conn_smb_version(s);
    if (v >= 2 && s->smb2_response_seen) {
        if (smb_conn_signing_required(s))
            return "required";
        return (s->server_security_mode & 0x0001) ? "enabled" : "disabled";
    }
    if (v == 1 && s->smb1_response_seen) {
        if (s->smb1_security_mode & 0x08)
            return "required";
        return (s->smb1_security_mode & 0x04) ? "enabled" : "disabled";
    }
    return NULL;
}

bool smb_conn_encrypted(const struct smb_conn *s)
{
    if (s->encrypted_pdus)
        return true;
    for (guint i = 0; i < s->sessions->len; i++)
        if (g_array_index(s->sessions, struct smb_session_rec, i).encrypt_data)
            return true;
    for (guint i = 0; i < s->shares->len; i++)
        if (g_array_index(s->shares, struct smb_share_rec, i).encrypt_data)
            return true;
    return false;
}

const struct ip_addr *smb_conn_client(const struct smb_conn *s) { return &s->addr[s->client]; }
const struct ip_addr *smb_conn_server(const struct smb_conn *s) { return &s->addr[!s->client]; }
uint16_t smb_conn_client_port(const struct smb_conn *s) { return s->port[s->client]; }
uint16_t smb_conn_server_port(const struct smb_conn *s) { return s->port[!s->client]; }
