/* session.h - the session model: what one TCP connection carrying SMB
 * showed, both directions framed (dissector/transport/framer.h), every message decoded
 * (dissector/smb/smb.h), and the facts kept for the reports and the verdict. */
#ifndef SMBSCOPE_SESSION_H
#define SMBSCOPE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "classify.h"
#include "framer.h"
#include "gss.h"
#include "packet.h"
#include "smb2_ctx.h"

struct flow_conn;
struct smb_conn_quic;
struct smb_conn_xchg;
struct smb_enc_unseen;
struct smb_direct_info;

/* A wire string kept as bytes (escaped only when shown). */
struct wstr {
    uint8_t *p;
    uint32_t len;
};

#define SESSION_MAX_SMB1_DIALECTS 32
#define SESSION_MAX_DIALECTS 64
#define SESSION_MAX_SESSIONS 32
#define SESSION_MAX_SHARES 64
#define SESSION_MAX_NEG_CODES 8

struct smb_session_rec {
    uint64_t id;
    enum auth_mech mech;      /* what the blobs carried */
    bool anonymous;           /* NTLM anonymous or SMB2 IS_NULL */
    bool guest;               /* SMB2 IS_GUEST / SMB1 action guest bit */
    bool encrypt_data;        /* SMB2 session flag ENCRYPT_DATA */
    bool established;         /* a successful SESSION_SETUP response */
    uint32_t status;          /* of the final SESSION_SETUP response: 0, or why the logon failed
                                 (a record that is not established names who tried) */
    bool signed_seen;
    uint64_t encrypted_pdus;  /* transform headers naming this session */
    struct wstr user, domain, workstation;
    enum gss_oid_id mechs_offered[GSS_MAX_MECHS];
    uint8_t n_mechs_offered;
};

struct smb_share_rec {
    uint32_t tree_id;
    struct wstr path;
    bool answered;            /* a TREE_CONNECT response was matched */
    uint32_t status;          /* of the response */
    uint8_t share_type;       /* SMB2: 1 disk, 2 pipe, 3 print */
    uint32_t share_flags;
    bool encrypt_data;        /* SMB2_SHAREFLAG_ENCRYPT_DATA */
    struct wstr service;      /* SMB1 service string */
};

/* Which rule named the client (the report says which). */
enum client_rule {
    CLIENT_BY_SYN = 0,    /* the TCP handshake */
    CLIENT_BY_NEGOTIATE,  /* the sender of the first NEGOTIATE request */
    CLIENT_BY_REQUEST,    /* the sender of the first SMB request */
    CLIENT_BY_PORT,       /* the higher port */
    CLIENT_BY_TRANSPORT,  /* a transport without a TCP flow named it (smb_conn_new_endpoints) */
};
const char *client_rule_name(enum client_rule r);

struct smb_conn {
    /* identity, as the flow table saw it: index 0 = initiator */
    struct ip_addr addr[2];
    uint16_t port[2];
    int client;                 /* 0 or 1: which side is the client */
    enum client_rule client_rule;
    uint64_t flow_id;
    int64_t first_ts, last_ts;
    uint64_t bytes[2], packets[2];  /* per flow direction */
    uint64_t gaps, gap_bytes, overlap_conflicts, retransmissions;
    bool midstream;
    bool handshake_seen;
    const char *close_reason;

    /* transport */
    struct transport_obs obs;
    struct transport_verdict verdict;
    struct smb_direct_info *smbd; /* SMB Direct (iWARP, RoCEv2) facts; NULL for SMB over TCP */
    struct framer *fr;          /* [2] while the connection is open; NULL once closed */
    uint64_t framer_anomalies, resyncs, skipped_bytes;
    /* per flow direction at close (smbscope merge, mstate_join_frame.h):
     * bytes left of the message the stream ended inside (UINT64_MAX: not
     * known), bytes skipped before its first header (UINT64_MAX: none
     * found), bytes framed */
    uint64_t frame_left[2], frame_lead[2], frame_bytes[2];
    struct wstr called_name, calling_name; /* rendered NetBIOS names */
    uint8_t neg_codes[SESSION_MAX_NEG_CODES];
    uint8_t n_neg_codes;
    int first_msg_dir[2];       /* direction of the first SMB request/response seen (-1) */

    /* SMB1 negotiate */
    GArray *smb1_dialects;       /* struct wstr, wire order, at most SESSION_MAX_SMB1_DIALECTS */
    uint16_t smb1_dialects_total;
    bool smb1_negotiate_seen, smb1_response_seen;
    int smb1_chosen;            /* index into smb1_dialects, -1 none / 0xFFFF refused */
    uint16_t smb1_security_mode;
    uint32_t smb1_capabilities;
    bool smb1_seen;             /* any SMB1 message */

    /* SMB2/3 negotiate */
    GArray *dialects_offered;    /* uint16_t, wire order, at most SESSION_MAX_DIALECTS */
    uint16_t dialects_total;
    bool dialects_from_smb1;     /* offer taken from an SMB1 "SMB 2.xxx" list */
    bool smb2_request_seen, smb2_response_seen;
    uint16_t dialect;            /* final chosen SMB2 dialect, 0 unknown */
    uint16_t client_security_mode, server_security_mode;
    uint32_t client_capabilities, server_capabilities;
    uint8_t client_guid[16], server_guid[16];
    uint32_t max_read, max_write, max_transact;
    /* NULL until seen.  Defined are the header, items[0, stored) and the
     * netname up to its NUL (with has_netname): the bytes past them are
     * whatever the block held before (every reader stops at stored).
     * Read only: equal lists of connections of one analysis are one block
     * of its session pool (session_ctx_list_set()). */
    struct smb2_neg_ctx_list *ctx_request, *ctx_response;
    bool ctx_pooled;             /* the two lists are ctx_pool's (smb_conn_retain) */
    bool smb2_seen;              /* any SMB2 header */

    /* signing and encryption */
    uint64_t signed_pdus;
    uint64_t encrypted_pdus;
    uint64_t compressed_pdus;
    uint16_t cipher;             /* from the encryption context, or implied */
    bool cipher_known;

    /* sessions and shares */
    GArray *sessions;            /* struct smb_session_rec, at most SESSION_MAX_SESSIONS */
    uint32_t sessions_dropped;
    GArray *shares;              /* struct smb_share_rec, at most SESSION_MAX_SHARES */
    uint32_t shares_dropped;
    struct smb_auth *pending_auth; /* latest request-side blob, until the response */
    struct smb_enc_unseen *enc_unseen; /* TRANSFORM headers of sessions without a record (session_enc.h), NULL mostly */
    struct smb_conn_xchg *xchg;    /* exchanges cut by the capture's edge (session_xchg.h), NULL mostly */
    uint64_t decode_anomalies;

    /* carrier facts of a connection that is not TCP (analyzer/model/quic_facts.h);
     * NULL on TCP; freed with the connection (one plain allocation) */
    struct smb_conn_quic *quic;

    /* decoding state */
    uint32_t pdu_cap;
    bool no_fast_path;

    /* the analysis told its event consumer what the connection is (the
     * analysis's own flag, kept here: one allocation less per connection) */
    bool announced;
};

struct session_pool;

struct session_config {
    uint32_t pdu_cap;      /* 0 = FRAMER_DEFAULT_CAP */
    bool no_fast_path;
    /* Spare session allocations for the connections made with this config,
     * or NULL: one analysis's own (one thread's), made with
     * session_pool_new() and freed after every connection made with it
     * that was not retained (smb_conn_retain) has been freed. */
    struct session_pool *pool;
};

/* A capture of short connections makes and frees two blocks of 600-800
 * bytes per connection (the session and its open-connection state):
 * allocating them zeroed was as costly as the connection's close.  The
 * pool keeps a few freed ones for the next connections. */
struct session_pool *session_pool_new(void);
void session_pool_free(struct session_pool *pool);
/* What the pool's iWARP connections share (rdma.h: their buffers' budget),
 * made on first use when make is true; NULL without a pool. */
struct iwarp_shared;
struct iwarp_shared *session_pool_iwarp(struct session_pool *pool, bool make);
/* ... of the pool a connection was made with (made if needed), NULL without one. */
struct iwarp_shared *session_iwarp(struct smb_conn *s);

/* Where a carrier that keeps its own connection table (QUIC, RoCEv2) hands a
 * closed SMB connection: the analysis owns s from then on. */
typedef void (*smb_conn_closed_fn)(void *ctx, struct smb_conn *s);

/* A TCP connection's session.  fc is the flow itself, read while it is open
 * (whether it saw its SYN is asked when data flows); midstream sets the
 * framing mode the session starts in. */
struct smb_conn *smb_conn_new(const struct session_config *cfg, const struct flow_conn *fc, bool midstream);
/* A connection not backed by a TCP flow (QUIC stream, RDMA connection):
 * addr/port[0] is the side that opened it; client is 0 or 1 when the
 * transport knows which side is the client (else -1: named as for a
 * mid-stream TCP capture); midstream: the capture did not see its start.
 * Close it with smb_conn_close_endpoints(); flow_id stays 0 unless the
 * caller sets it. */
struct smb_conn *smb_conn_new_endpoints(const struct session_config *cfg, const struct ip_addr addr[2],
                                        const uint16_t port[2], int client, bool midstream);
/* Stream bytes of direction dir (0: from addr[0]), NBSS / direct-TCP framed. */
void smb_conn_data(struct smb_conn *s, int dir, const uint8_t *p, size_t n, int64_t ts_us);
void smb_conn_gap(struct smb_conn *s, int dir, uint64_t n, int64_t ts_us);
/* After smb_conn_data(): how many of direction dir's next bytes the
 * session would only count and drop (the rest of a READ/WRITE payload past
 * what is decoded), 0 if any may matter (--no-fast-path: never skipped).
 * A reassembler may keep them from smb_conn_data() and tell their number
 * with smb_conn_passed(), which does with the number what smb_conn_data()
 * would have done with the bytes. */
uint64_t smb_conn_skippable(const struct smb_conn *s, int dir);
void smb_conn_passed(struct smb_conn *s, int dir, uint64_t n);
/* One whole SMB message (from its protocol id on, no 4-byte transport
 * header) of direction dir, as SMB Direct delivers them: decoded exactly
 * as the framer's message callback decodes a framed one (the same fast
 * path, the same cap).  obs.smb_messages counts it; obs.session_messages
 * does not (there was no NBSS header). */
void smb_conn_message(struct smb_conn *s, int dir, const uint8_t *msg, size_t len, int64_t ts_us);
/* How many first octets of an SMB message of len octets whose first
 * head_len (at least min(len, 72)) are head smb_conn_message() decodes:
 * the fast path's want (a NEGOTIATE, SESSION_SETUP, TREE_CONNECT or
 * compound whole up to the --pdu-cap; anything else its header), all up
 * to the cap with --no-fast-path.  smbscope merge: a run keeps that much
 * of an SMB Direct message longer than it keeps whole (rdma.h). */
size_t smb_conn_message_want(const struct smb_conn *s, const uint8_t *head, size_t head_len, size_t len);
/* An SMB message of len octets of which msg holds the first avail, at
 * least smb_conn_message_want(): decoded as smb_conn_message() decodes
 * the whole message (merge: the prefix a run kept, mstate_join_smbd.h). */
void smb_conn_message_prefix(struct smb_conn *s, int dir, const uint8_t *msg, size_t avail, size_t len);
/* True once the connection is clearly not SMB: both directions were seen
 * from their start (the flow saw the SYN, no gap came first) and began with
 * a byte no NBSS/direct-TCP header has, and no SMB or NBSS message was
 * seen.  Its further bytes are not framed (with or without --no-fast-path
 * alike, so the report cannot differ between the two). */
bool smb_conn_not_smb(const struct smb_conn *s);
/* Copy the flow's final facts, classify; true when the connection carried
 * SMB or NBSS and belongs in the report. */
bool smb_conn_close(struct smb_conn *s, const struct flow_conn *fc, const char *reason);
/* smb_conn_close() for a connection of smb_conn_new_endpoints(): the
 * transport's facts given directly (bytes and packets per direction). */
bool smb_conn_close_endpoints(struct smb_conn *s, int64_t first_ts, int64_t last_ts, const uint64_t bytes[2],
                              const uint64_t packets[2], const char *reason);
/* The closed connection s is kept for the report's detail: its negotiate
 * context lists are shared with equal ones of other kept connections
 * (ctx_pool.h).  Connections folded into the groups and freed at once are
 * not pooled: pooling them costs a hash and a compare per list twice. */
void smb_conn_retain(struct smb_conn *s);
void smb_conn_free(struct smb_conn *s);
/* A hint (flow_observer.warm): s closes soon.  ahead 2: its own block is
 * fetched; ahead 1 (that block in cache by then): the blocks it points to
 * that smb_conn_close() reads and that smb_conn_free() pools for the next
 * connections (which write them whole).  Changes nothing. */
void smb_conn_warm(const struct smb_conn *s, int ahead);

/* Report helpers. */
int smb_conn_smb_version(const struct smb_conn *s);       /* 0, 1, 2, 3 */
/* The chosen dialect as text ("3.1.1", or the SMB1 string); NULL unknown. */
const char *smb_conn_dialect_text(const struct smb_conn *s, char *buf, size_t buflen);
/* "required", "enabled", "disabled" or NULL when no negotiate was seen. */
const char *smb_conn_signing_mode(const struct smb_conn *s);
bool smb_conn_encrypted(const struct smb_conn *s);
bool smb_conn_signing_required(const struct smb_conn *s);
const struct ip_addr *smb_conn_client(const struct smb_conn *s);
const struct ip_addr *smb_conn_server(const struct smb_conn *s);
uint16_t smb_conn_client_port(const struct smb_conn *s);
uint16_t smb_conn_server_port(const struct smb_conn *s);

void wstr_set(struct wstr *w, const uint8_t *p, size_t n);
void wstr_free(struct wstr *w);

#endif
