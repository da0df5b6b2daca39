/* smb.h - the SMB message decoder's entry point and the facts it reports.
 *
 * smb_decode_message() takes one SMB message as framed by the transport (the
 * bytes after the 4-byte NBSS / direct-TCP header) and reports what it finds
 * through a sink of optional callbacks, one per fact, each getting a small
 * plain struct that lives on the decoder's stack for the duration of the
 * call (copy what you keep).  Pointers in those structs point into msg.
 *
 * Nothing is allocated, nothing printed; malformed input is reported through
 * the anomaly callback and decoding goes on where it safely can.
 */
#ifndef SMBSCOPE_SMB_H
#define SMBSCOPE_SMB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gss.h"
#include "smb2_ctx.h"

struct gss_memo;

#define SMB_MAX_COMPOUND 32          /* SMB2 PDUs walked in one compound chain */
#define SMB_MAX_ANDX 8               /* SMB1 AndX commands walked per message */
#define SMB1_MAX_DIALECTS 32         /* SMB1 dialect strings stored */
#define SMB2_MAX_DIALECTS 64         /* SMB2 dialect codes stored */
#define SMB_PATH_MAX 512             /* UTF-8 bytes incl. NUL */
#define SMB_NAME_MAX 128             /* UTF-8 bytes incl. NUL */

/* A length-delimited view into msg (not NUL-terminated). */
struct smb_bytes {
    const uint8_t *p;
    size_t len;
};

/* A wire string converted to UTF-8. */
struct smb_text {
    char text[SMB_NAME_MAX];
    bool present;
    bool truncated;
};

/* ---- SMB1 (MS-CIFS 2.2.3.1) ------------------------------------------ */

struct smb1_header_info {
    uint32_t offset;        /* of the header in msg */
    uint8_t command;        /* for AndX followers: the chained command */
    uint32_t status;        /* NT status (or DOS class/code packed as on the wire) */
    uint8_t flags;
    uint16_t flags2;
    uint16_t pid_high, tid, pid, uid, mid;
    bool response;          /* flags & SMB_FLAGS_REPLY */
    bool unicode;           /* flags2 & SMB_FLAGS2_UNICODE */
    bool signature_nonzero;
    bool andx;              /* decoded as an AndX follower of the first command */
    uint8_t word_count;
    uint16_t byte_count;
};

struct smb1_negotiate_request {
    uint16_t count;                           /* dialect strings stored */
    uint16_t extra;                           /* strings beyond SMB1_MAX_DIALECTS */
    struct smb_bytes dialects[SMB1_MAX_DIALECTS]; /* without 0x02 and NUL */
    bool truncated;                           /* last string had no NUL */
};

struct smb1_negotiate_response {
    uint8_t word_count;        /* 1 core, 13 LANMAN, 17 NT LM 0.12 */
    uint16_t dialect_index;    /* 0xFFFF: none acceptable */
    uint16_t security_mode;    /* u8 for NT LM 0.12, u16 for LANMAN */
    uint32_t capabilities;     /* word count 17 only */
    uint32_t max_buffer;
    uint16_t max_mpx;
    bool extended_security;    /* CAP_EXTENDED_SECURITY */
    bool has_server_guid;
    uint8_t server_guid[16];
    struct smb_bytes security_blob;
    struct smb_auth auth;      /* decoded security blob (extended security) */
    uint8_t challenge_length;  /* word count 17 without extended security */
    struct smb_text domain, server; /* word count 17 without extended security */
};

struct smb1_session_setup_request {
    uint8_t word_count;        /* 12 extended security, 13 NT LM, 10 LANMAN */
    bool extended_security;
    uint16_t max_buffer, max_mpx, vc_number;
    uint32_t session_key;
    uint32_t capabilities;     /* word count 12/13 */
    uint16_t ansi_password_len, unicode_password_len;
    struct smb_bytes security_blob;
    struct smb_auth auth;
    struct smb_text account, domain, native_os, native_lanman;
};

struct smb1_session_setup_response {
    uint8_t word_count;        /* 4 extended security, 3 otherwise */
    uint16_t action;           /* bit 0: logged on as guest */
    bool guest;
    struct smb_bytes security_blob;
    struct smb_auth auth;
    struct smb_text native_os, native_lanman, domain;
};

struct smb1_tree_connect_request {
    uint16_t flags;
    uint16_t password_len;
    char path[SMB_PATH_MAX];
    bool path_truncated;
    char service[32];          /* "?????", "A:", "IPC", "LPT1:", "COMM" */
    bool service_truncated;
};

struct smb1_tree_connect_response {
    uint8_t word_count;        /* 2, 3 or 7 */
    uint16_t optional_support; /* word count >= 3 */
    uint32_t maximal_access;   /* word count 7 */
    char service[32];
    bool service_truncated;
    struct smb_text native_fs;
};

/* ---- SMB2/3 (MS-SMB2 2.2) -------------------------------------------- */

struct smb2_header_info {
    uint32_t offset;           /* of this PDU's header in msg */
    uint16_t index;            /* position in the compound chain, 0-based */
    uint16_t structure_size;   /* 64 */
    uint16_t credit_charge;
    uint32_t status;
    uint16_t command;
    uint16_t credits;          /* request: credits requested; response: granted */
    uint32_t flags;
    uint32_t next_command;
    uint64_t message_id;
    uint64_t async_id;         /* async only */
    uint32_t process_id;       /* sync only */
    uint32_t tree_id;          /* sync only */
    uint64_t session_id;
    bool response, async, related, is_signed;
    bool header_truncated;     /* only the first 20..63 bytes were captured (snaplen):
                                  fields past the available bytes read as 0 */
    bool signature_nonzero;
    bool is_error_response;    /* status is an error and body is the 9-byte ERROR */
    uint32_t pdu_len;          /* this PDU's bytes (to NextCommand or end) */
    bool pdu_truncated;        /* fewer bytes available than pdu_len */
};

struct smb2_negotiate_request {
    uint16_t dialect_count;                /* DialectCount on the wire */
    uint16_t dialects_stored;
    uint16_t dialects[SMB2_MAX_DIALECTS];  /* wire order, raw codes */
    bool dialects_truncated;               /* fewer available than claimed */
    uint16_t security_mode;
    uint32_t capabilities;
    uint8_t client_guid[16];
    bool offers_311;
    struct smb2_neg_ctx_list contexts;     /* ABSENT unless 3.1.1 offered */
};

struct smb2_negotiate_response {
    uint16_t security_mode;
    uint16_t dialect;
    uint8_t server_guid[16];
    uint32_t capabilities;
    uint32_t max_transact, max_read, max_write;
    uint64_t system_time, server_start_time; /* FILETIME */
    struct smb_bytes security_buffer;
    /* the security buffer decoded; valid during the callback only (it may
     * be the sink's memo entry: sink.negotiate_memo) */
    const struct smb_auth *auth;
    struct smb2_neg_ctx_list contexts;     /* ABSENT unless dialect 3.1.1 */
};

struct smb2_session_setup_request {
    uint8_t flags;             /* BINDING */
    uint8_t security_mode;
    uint32_t capabilities;
    uint32_t channel;
    uint64_t previous_session_id;
    struct smb_bytes security_buffer;
    struct smb_auth auth;
};

/* Reported for failures too (status LOGON_FAILURE, ACCESS_DENIED...): then
 * the body is the 9-byte ERROR body and only status is meaningful. */
struct smb2_session_setup_response {
    uint32_t status;           /* copy of the header status */
    uint16_t session_flags;    /* IS_GUEST, IS_NULL, ENCRYPT_DATA */
    bool more_processing;      /* STATUS_MORE_PROCESSING_REQUIRED */
    struct smb_bytes security_buffer;
    struct smb_auth auth;
};

struct smb2_tree_connect_request {
    uint16_t flags;
    char path[SMB_PATH_MAX];   /* UTF-8 of the UNC path */
    bool path_truncated;       /* cut to fit, or the wire path was cut short */
};

struct smb2_tree_connect_response {
    uint8_t share_type;        /* 1 disk, 2 pipe, 3 print */
    uint32_t share_flags;
    uint32_t capabilities;
    uint32_t maximal_access;
};

/* ---- transforms ------------------------------------------------------- */

struct smb_transform_info {   /* 0xFD 'SMB' (MS-SMB2 2.2.41) */
    uint64_t session_id;
    uint32_t original_size;
    uint16_t flags;            /* 3.1.1: 0x0001 ENCRYPTED; 3.0.x: EncryptionAlgorithm 1 = AES-128-CCM */
    bool nonce_nonzero;
};

struct smb_compress_info {    /* 0xFC 'SMB' (MS-SMB2 2.2.42) */
    uint32_t original_size;
    uint16_t algorithm;
    uint16_t flags;
    bool chained;              /* flags & SMB2_COMPRESSION_FLAG_CHAINED */
    uint32_t offset_or_length;
};

struct smb_unknown_info {
    uint8_t protocol_id[4];    /* zero-filled when fewer bytes are available */
    size_t avail;
};

enum smb_anomaly_kind {
    SMB_ANOM_TRUNCATED = 1,    /* message shorter than a structure needs */
    SMB_ANOM_BAD_OFFSET,       /* an offset/length points outside the PDU */
    SMB_ANOM_BAD_STRUCTURE,    /* wrong StructureSize / word count */
    SMB_ANOM_COMPOUND,         /* NextCommand backwards, unaligned, loop, or chain too long */
    SMB_ANOM_CONTEXTS,         /* negotiate context list not OK */
    SMB_ANOM_AUTH,             /* security blob malformed */
    SMB_ANOM_ANDX,             /* SMB1 AndX offset backwards or chain too long */
};

/* "truncated", "bad-offset", "bad-structure", "compound", "contexts", "auth", "andx". */
const char *smb_anomaly_kind_name(enum smb_anomaly_kind k);

struct smb_anomaly {
    enum smb_anomaly_kind kind;
    uint32_t offset;           /* in msg */
    const char *reason;        /* static text */
};

struct smb_sink {
    void (*smb1_header)(void *ctx, const struct smb1_header_info *h);
    void (*smb1_negotiate_request)(void *ctx, const struct smb1_header_info *h, const struct smb1_negotiate_request *r);
    void (*smb1_negotiate_response)(void *ctx, const struct smb1_header_info *h, const struct smb1_negotiate_response *r);
    void (*smb1_session_setup_request)(void *ctx, const struct smb1_header_info *h, const struct smb1_session_setup_request *r);
    void (*smb1_session_setup_response)(void *ctx, const struct smb1_header_info *h, const struct smb1_session_setup_response *r);
    void (*smb1_tree_connect_request)(void *ctx, const struct smb1_header_info *h, const struct smb1_tree_connect_request *r);
    void (*smb1_tree_connect_response)(void *ctx, const struct smb1_header_info *h, const struct smb1_tree_connect_response *r);

    void (*smb2_header)(void *ctx, const struct smb2_header_info *h);
    void (*smb2_negotiate_request)(void *ctx, const struct smb2_header_info *h, const struct smb2_negotiate_request *r);
    void (*smb2_negotiate_response)(void *ctx, const struct smb2_header_info *h, const struct smb2_negotiate_response *r);
    void (*smb2_session_setup_request)(void *ctx, const struct smb2_header_info *h, const struct smb2_session_setup_request *r);
    void (*smb2_session_setup_response)(void *ctx, const struct smb2_header_info *h, const struct smb2_session_setup_response *r);
    void (*smb2_tree_connect_request)(void *ctx, const struct smb2_header_info *h, const struct smb2_tree_connect_request *r);
    void (*smb2_tree_connect_response)(void *ctx, const struct smb2_header_info *h, const struct smb2_tree_connect_response *r);

    void (*encrypted)(void *ctx, const struct smb_transform_info *t);
    void (*compressed)(void *ctx, const struct smb_compress_info *c);
    void (*unknown)(void *ctx, const struct smb_unknown_info *u);
    void (*anomaly)(void *ctx, const struct smb_anomaly *a);

    /* Optional: where the NEGOTIATE response's security blob (the server's
     * NegTokenInit, the same bytes on every connection to a server) is
     * looked up before it is decoded (gss_memo.h); NULL: always decoded. */
    struct gss_memo *(*negotiate_memo)(void *ctx);
};

/* Decode one SMB message.  msg: the bytes after the transport header,
 * starting at the protocol id; avail: bytes present (may be < msg_len when
 * only a prefix was buffered or a capture gap cut it); msg_len: the length
 * the transport header announced.  sink may have any callback NULL. */
void smb_decode_message(const uint8_t *msg, size_t avail, uint32_t msg_len,
                        const struct smb_sink *sink, void *ctx);

/* Internal plumbing shared by smb.c, smb1.c and smb2.c. */
struct smb_run {
    const struct smb_sink *sink;
    void *ctx;
    uint32_t msg_len;
};

void smb_anomaly_emit(const struct smb_run *run, enum smb_anomaly_kind kind, size_t offset, const char *reason);

#endif
