/* session_priv.h - what the files of the session model share and nobody
 * else sees: the private part of struct smb_conn, and the SMB sink handlers
 * (session_negotiate.c, session_shares.c) that session_frame.c wires into
 * one sink table. */
#ifndef SMBSCOPE_SESSION_PRIV_H
#define SMBSCOPE_SESSION_PRIV_H

#include <string.h>

#include "rdma.h"
#include "session.h"
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
#define STATUS_MORE_PROCESSING_REQUIRED 0xC0000016u

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
    /* TREE_CONNECT requests waiting for their response: message id ->
     * share, a ring; bit i of pending_used says pending_tree[i] holds one
     * (a block taken from the pool clears the two words, not the ring's
     * 256 bytes, and the close reads the ring only when a bit is set) */
    uint16_t pending_used;
    uint8_t pending_tree_next;
    struct {
        uint64_t mid;
        uint16_t share;
    } pending_tree[16];
};

struct smb_conn_priv {
    struct smb_conn pub;
    struct dir_ctx dctx[2];
    struct smb_conn_live *live; /* NULL once closed */
    int negotiate_dir;  /* direction of the first NEGOTIATE request, -1 */
    int request_dir;    /* direction of the first SMB request, -1 */
    bool msg_complete;  /* the message being decoded is whole */
    bool start_seen;    /* both directions were seen from their first byte (no TCP flow) */
    const struct flow_conn *fc; /* the TCP flow while it is open (NULL otherwise): whether
                                 * it was seen from its SYN is known only once data flows */
    int known_client;   /* the side the transport named the client, -1 none */
    enum client_rule known_rule; /* how it did */
    uint8_t started;    /* bit per direction: data or a gap was seen */
    uint8_t bad_start;  /* bit per direction: seen from its start, and its first byte is no NBSS type */
    bool not_smb;       /* see smb_conn_not_smb() */
    struct rdma_iwarp *iwarp; /* SMB Direct over iWARP framing (rdma_iwarp.c), NULL otherwise */
    uint8_t iwarp_probe;      /* whether the first data was an MPA request: unknown, no, yes */
    struct session_pool *pool; /* where the blocks go back when freed; NULL once retained */
    uint8_t pool_shared;       /* SHARED_*: members that are the pool's shared blocks (read only) */
};


/* smb_conn_priv.pool_shared: which members point to the session pool's
 * shared blocks (session_ctx_list_set(), session_dialects_set()). */
#define SHARED_CTX_REQUEST 1u
#define SHARED_CTX_RESPONSE 2u
#define SHARED_DIALECTS 4u

static inline struct smb_conn_priv *priv(struct smb_conn *s) { return (struct smb_conn_priv *)s; }

/* The connection's arrays (smb1_dialects, dialects_offered, sessions,
 * shares) are made on their first element: most connections of a busy
 * capture never fill most of them, and making and freeing four arrays was
 * a tenth of a short connection's cost.  Until then each is
 * session_empty_array(): one empty array all connections share, read
 * (len 0) and never written. */
GArray *session_empty_array(void);
static inline GArray *session_array(GArray **a, guint elt_size)
{
    if (*a == session_empty_array())
        *a = g_array_new(FALSE, FALSE, elt_size);
    return *a;
}

/* The connection's NEGOTIATE request (or response) context list becomes
 * one that reads as l (replacing the one it had): the pool's shared list
 * equal to l when there is one or room for one (read only, counted, given
 * back when the connection is freed; a retained connection gets its own
 * copy), else its own copy in a block from the pool (given back when the
 * connection is freed).  Its dialects_offered is made (uint16_t) from the
 * pool too (session.h: struct session_pool). */
void session_ctx_list_set(struct smb_conn *s, bool response, const struct smb2_neg_ctx_list *l);
/* What session_ctx_list_set() copies: the part of a list its readers read
 * (session.h, ctx_request): the header, items[0, stored), the netname's
 * flags and its text up to its NUL.  Most of the 860 bytes are unused
 * items and netname room; writing them into a pooled block that has gone
 * cold since its last connection cost a cache miss a line. */
void session_ctx_list_put(struct smb2_neg_ctx_list *dst, const struct smb2_neg_ctx_list *src);
/* dialects_offered to append to: its own array (made, from the pool's
 * spares, or copied from the shared one it pointed to). */
GArray *session_dialects_array(struct smb_conn *s);
/* dialects_offered becomes the n dialects d (an SMB2 NEGOTIATE request's
 * list, replacing what it held): the pool's shared array of the same
 * dialects when there is one or room for one, as the context lists
 * (session_ctx_list_set()), else its own. */
void session_dialects_set(struct smb_conn *s, const uint16_t *d, guint n);
/* The pool's memo of NEGOTIATE response security blobs (gss_memo.h), NULL
 * without a pool (a connection retained, or made without one). */
struct gss_memo *session_gss_memo(struct smb_conn *s);

static inline void wstr_set_text(struct wstr *w, const char *text) { wstr_set(w, (const uint8_t *)text, strlen(text)); }

/* The framer callbacks of every connection (session_frame.c). */
extern const struct framer_callbacks session_framer_cb;

/* Decode one whole SMB message as the framer would hand it over
 * (session_frame.c). */
void session_whole_message(struct smb_conn *s, int dir, const uint8_t *msg, size_t len);

/* session_shares.c: sessions, logons and shares. */
struct smb_session_rec *session_get(struct smb_conn *s, uint64_t id, bool create);
void on_smb1_session_setup_request(void *ctx, const struct smb1_header_info *h, const struct smb1_session_setup_request *r);
void on_smb1_session_setup_response(void *ctx, const struct smb1_header_info *h, const struct smb1_session_setup_response *r);
void on_smb1_tree_connect_request(void *ctx, const struct smb1_header_info *h, const struct smb1_tree_connect_request *r);
void on_smb1_tree_connect_response(void *ctx, const struct smb1_header_info *h, const struct smb1_tree_connect_response *r);
void on_smb2_session_setup_request(void *ctx, const struct smb2_header_info *h, const struct smb2_session_setup_request *r);
void on_smb2_session_setup_response(void *ctx, const struct smb2_header_info *h, const struct smb2_session_setup_response *r);
void on_smb2_tree_connect_request(void *ctx, const struct smb2_header_info *h, const struct smb2_tree_connect_request *r);
void on_smb2_tree_connect_response(void *ctx, const struct smb2_header_info *h, const struct smb2_tree_connect_response *r);
void on_encrypted(void *ctx, const struct smb_transform_info *t);

/* session_negotiate.c: headers and NEGOTIATE. */
void on_smb1_header(void *ctx, const struct smb1_header_info *h);
void on_smb1_negotiate_request(void *ctx, const struct smb1_header_info *h, const struct smb1_negotiate_request *r);
void on_smb1_negotiate_response(void *ctx, const struct smb1_header_info *h, const struct smb1_negotiate_response *r);
void on_smb2_header(void *ctx, const struct smb2_header_info *h);
void on_smb2_negotiate_request(void *ctx, const struct smb2_header_info *h, const struct smb2_negotiate_request *r);
void on_smb2_negotiate_response(void *ctx, const struct smb2_header_info *h, const struct smb2_negotiate_response *r);

#endif
