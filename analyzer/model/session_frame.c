/* session_frame.c - the framer glue of the session model: NBSS control
 * messages, the fast path's choice of what to keep of each message, and
 * the one SMB sink that hands decoded messages to the handlers. */
#include "session_priv.h"

#include "nbname.h"
#include "nbss.h"

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

static struct gss_memo *on_negotiate_memo(void *ctx) { return session_gss_memo(((struct dir_ctx *)ctx)->s); }

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
    .negotiate_memo = on_negotiate_memo,
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

static size_t want_of(const struct smb_conn *s, const uint8_t *head, size_t head_len, uint32_t msg_len)
{
    size_t all = min_sz(msg_len, s->pdu_cap);
    return s->no_fast_path ? all : fast_path_want(head, head_len, all);
}

static size_t on_want(void *ctx, const uint8_t *head, size_t head_len, uint32_t msg_len)
{
    return want_of(((struct dir_ctx *)ctx)->s, head, head_len, msg_len);
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

const struct framer_callbacks session_framer_cb = {
    .control = on_control,
    .want = on_want,
    .message = on_message,
    .anomaly = on_framer_anomaly,
};

size_t smb_conn_message_want(const struct smb_conn *s, const uint8_t *head, size_t head_len, size_t len)
{
    return want_of(s, head, min_sz(head_len, min_sz(len, FRAMER_HEAD)), len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
}

void smb_conn_message_prefix(struct smb_conn *s, int dir, const uint8_t *msg, size_t avail, size_t len)
{
    if (!s->fr || !framer_is_smb_id(msg, avail))
        return;
    struct dir_ctx *d = &priv(s)->dctx[dir & 1];
    uint32_t msg_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    size_t want = on_want(d, msg, min_sz(avail, min_sz(msg_len, FRAMER_HEAD)), msg_len);
    if (avail > want)
        avail = want;
    s->obs.smb_messages++;
    on_message(d, msg, avail, msg_len, FRAMER_MSG_SMB | (avail == msg_len ? FRAMER_MSG_COMPLETE : FRAMER_MSG_PREFIX));
}

void session_whole_message(struct smb_conn *s, int dir, const uint8_t *msg, size_t len)
{
    struct dir_ctx *d = &priv(s)->dctx[dir];
    uint32_t msg_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    if (!framer_is_smb_id(msg, len)) {
        /* what the framer reports of a session message without an SMB id */
        struct wire w = wire_make(msg, len);
        uint64_t first = 0;
        for (size_t i = 0; i < 4 && wire_left(&w); i++)
            first = (first << 8) | wire_u8(&w);
        if (msg_len)
            on_framer_anomaly(d, FRAMER_AN_NOT_SMB, first);
        return;
    }
    s->obs.smb_messages++;
    size_t avail = on_want(d, msg, min_sz(msg_len, FRAMER_HEAD), msg_len);
    if (avail > msg_len)
        avail = msg_len;
    unsigned flags = FRAMER_MSG_SMB | (avail == msg_len ? FRAMER_MSG_COMPLETE : FRAMER_MSG_PREFIX);
    on_message(d, msg, avail, msg_len, flags);
}
