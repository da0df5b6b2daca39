/* smb2_ctx.h - SMB 3.1.1 NEGOTIATE contexts (MS-SMB2 2.2.3.1, 2.2.4.1).
 *
 * The list is decoded into a bounded array of plain items.  An empty,
 * truncated or malformed list is reported through status, never fatal. */
#ifndef SMBSCOPE_SMB2_CTX_H
#define SMBSCOPE_SMB2_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define SMB2_CTX_MAX_ITEMS 16  /* contexts stored per list */
#define SMB2_CTX_MAX_IDS 8     /* algorithm ids stored per context */
#define SMB2_CTX_MAX_WALK 64   /* contexts walked before giving up */
#define SMB2_NETNAME_MAX 256   /* UTF-8 bytes incl. NUL */

enum smb2_ctx_type {
    SMB2_CTX_PREAUTH_INTEGRITY = 0x0001,
    SMB2_CTX_ENCRYPTION = 0x0002,
    SMB2_CTX_COMPRESSION = 0x0003,
    SMB2_CTX_NETNAME = 0x0005,
    SMB2_CTX_TRANSPORT = 0x0006,
    SMB2_CTX_RDMA_TRANSFORM = 0x0007,
    SMB2_CTX_SIGNING = 0x0008,
};

enum smb2_ctx_status {
    SMB2_CTX_ABSENT = 0,       /* no list (dialect < 3.1.1, or count and offset 0) */
    SMB2_CTX_OK,
    SMB2_CTX_EMPTY,            /* 3.1.1 but count 0 */
    SMB2_CTX_TRUNCATED,        /* the list runs past the available bytes */
    SMB2_CTX_BAD_OFFSET,       /* offset inside the fixed part, unaligned or past the end */
    SMB2_CTX_COUNT_MISMATCH,   /* fewer contexts than claimed, or a bounded walk */
    SMB2_CTX_MALFORMED,        /* a context's data does not match its type */
};

struct smb2_neg_ctx {
    uint16_t type;          /* enum smb2_ctx_type or any unknown value */
    uint16_t data_len;      /* DataLength from the wire */
    bool malformed;         /* data shorter than the type needs */
    /* preauth (hash ids), encryption (ciphers), compression (algorithms),
     * rdma transform (transform ids), signing (algorithms) */
    uint16_t id_count;      /* count claimed on the wire */
    uint8_t ids_stored;     /* <= SMB2_CTX_MAX_IDS */
    uint16_t ids[SMB2_CTX_MAX_IDS];
    uint16_t salt_len;      /* preauth */
    uint32_t flags;         /* compression flags (CHAINED), transport flags */
};

struct smb2_neg_ctx_list {
    enum smb2_ctx_status status;
    const char *reason;     /* static text when status is not OK/ABSENT/EMPTY */
    uint32_t offset;        /* NegotiateContextOffset (raw field even when ABSENT) */
    uint16_t count;         /* NegotiateContextCount claimed (raw field even when ABSENT) */
    uint16_t walked;        /* contexts whose header was read */
    uint8_t stored;         /* items[] filled */
    struct smb2_neg_ctx items[SMB2_CTX_MAX_ITEMS];
    bool has_netname;
    bool netname_truncated;
    char netname[SMB2_NETNAME_MAX]; /* NETNAME context, UTF-8 */
};

/* The decoded list is read as far as it was written: items[0, stored)
 * and, with has_netname, netname up to its NUL (it is always a string).
 * Items past stored and the netname's bytes past its NUL are not written
 * (smb2_ctx_decode() does not clear the 800 bytes). */

/* Decode count contexts at offset (from the SMB2 header) inside pdu, a window
 * starting at the SMB2 header over the bytes available.  declared_len is the
 * PDU length the transport announced (>= pdu->len): running out of bytes
 * below it is TRUNCATED, at it COUNT_MISMATCH.  min_offset is the end of the
 * fixed part (contexts may not start before it). */
void smb2_ctx_decode(const struct wire *pdu, size_t declared_len, uint32_t offset, uint16_t count,
                     size_t min_offset, struct smb2_neg_ctx_list *out);

/* "absent", "ok", "empty", "truncated", "bad-offset", "count-mismatch", "malformed". */
const char *smb2_ctx_status_name(enum smb2_ctx_status s);

/* The first item of a type, or NULL. */
const struct smb2_neg_ctx *smb2_ctx_find(const struct smb2_neg_ctx_list *l, uint16_t type);

#endif
