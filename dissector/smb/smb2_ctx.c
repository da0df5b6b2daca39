/* smb2_ctx.c - NEGOTIATE context list walker (MS-SMB2 2.2.3.1). */
#include "smb2_ctx.h"

#include <string.h>

#include "utf16.h"

static void set_status(struct smb2_neg_ctx_list *out, enum smb2_ctx_status s, const char *why)
{
    if (out->status == SMB2_CTX_OK) {
        out->status = s;
        out->reason = why;
    }
}

/* The walk reads each context's bytes by pointer after one bounds check
 * for what it needs (the header, the data, a type's fixed part, the id
 * list), not through a cursor that checks every field: a NEGOTIATE's two
 * lists were about 400 instructions each on every connection.  What it
 * decodes is what the cursor walk decoded, field for field and on every
 * cut (tests/unit/test_smb2.c: /smb2/context-walk-equal against that walk). */

static uint16_t u16_at(const uint8_t *q) { return (uint16_t)(q[0] | q[1] << 8); }
static uint32_t u32_at(const uint8_t *q) { return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24; }

/* count u16 ids at q, n bytes there: the first SMB2_CTX_MAX_IDS stored;
 * fewer bytes than the count needs, or a count of 0 (every id list must
 * name at least one value), is malformed. */
static void take_ids(const uint8_t *q, size_t n, uint16_t count, struct smb2_neg_ctx *c)
{
    c->id_count = count;
    size_t have = n / 2, take = count < have ? count : have;
    uint8_t k = (uint8_t)(take < SMB2_CTX_MAX_IDS ? take : SMB2_CTX_MAX_IDS);
    for (uint8_t i = 0; i < k; i++)
        c->ids[i] = u16_at(q + 2 * i);
    c->ids_stored = k;
    if (count > have || count == 0)
        c->malformed = true;
}

/* A type's data, n bytes at q.  A fixed part cut short reads the fields
 * that fit and 0 for the others, as the cursor did (salt length and flags
 * are kept). */
static void decode_data(const uint8_t *q, size_t n, struct smb2_neg_ctx *c, struct smb2_neg_ctx_list *out)
{
    switch (c->type) {
    case SMB2_CTX_PREAUTH_INTEGRITY:
        if (n < 4) {
            c->malformed = true;
            break;
        }
        c->salt_len = u16_at(q + 2);
        take_ids(q + 4, n - 4, u16_at(q), c);
        if (!c->malformed && c->salt_len > n - 4 - 2 * (size_t)c->id_count) /* the salt follows the ids */
            c->malformed = true;
        break;
    case SMB2_CTX_ENCRYPTION:
    case SMB2_CTX_SIGNING:
        if (n < 2)
            c->malformed = true;
        else
            take_ids(q + 2, n - 2, u16_at(q), c);
        break;
    case SMB2_CTX_COMPRESSION:
        if (n < 8) {
            c->malformed = true;
            break;
        }
        c->flags = u32_at(q + 4);
        take_ids(q + 8, n - 8, u16_at(q), c);
        break;
    case SMB2_CTX_RDMA_TRANSFORM:
        if (n < 8)
            c->malformed = true;
        else
            take_ids(q + 8, n - 8, u16_at(q), c); /* 2 + 4 reserved bytes before the ids */
        break;
    case SMB2_CTX_TRANSPORT:
        if (n < 4)
            c->malformed = true;
        else
            c->flags = u32_at(q);
        break;
    case SMB2_CTX_NETNAME:
        if (!out->has_netname) {
            out->has_netname = true;
            utf16le_to_utf8(q, n, false, out->netname, sizeof out->netname, &out->netname_truncated);
        }
        break;
    default:
        break; /* unknown: kept as (type, length) */
    }
}

void smb2_ctx_decode(const struct wire *pdu, size_t declared_len, uint32_t offset, uint16_t count,
                     size_t min_offset, struct smb2_neg_ctx_list *out)
{
    bool cut = pdu->len < declared_len;
    /* The header only: an item is cleared where it is stored and the
     * netname is a string (smb2_ctx.h); the whole 800 bytes were a fifth
     * of a NEGOTIATE's decode, on every connection. */
    memset(out, 0, offsetof(struct smb2_neg_ctx_list, items));
    out->has_netname = false;
    out->netname_truncated = false;
    out->netname[0] = '\0';
    out->offset = offset;
    out->count = count;
    out->status = SMB2_CTX_OK;
    if (count == 0) {
        out->status = SMB2_CTX_EMPTY;
        return;
    }
    if (offset < min_offset || (offset & 7) != 0) {
        out->status = SMB2_CTX_BAD_OFFSET;
        out->reason = offset < min_offset ? "negotiate context offset inside the fixed part"
                                          : "negotiate context offset not 8-byte aligned";
        return;
    }
    if (offset > declared_len || (offset == declared_len && !cut)) {
        out->status = SMB2_CTX_BAD_OFFSET;
        out->reason = "negotiate context offset at or past the end of the PDU";
        return;
    }
    if (offset >= pdu->len) {
        out->status = SMB2_CTX_TRUNCATED;
        out->reason = "negotiate context list starts past the available bytes";
        return;
    }
    /* [at, end) of the PDU's bytes; offset is 8-byte aligned, so a
     * context's padding is the distance to the next multiple of 8 */
    const uint8_t *base = pdu->p;
    size_t at = offset, end = pdu->len;
    /* walked and stored counted here, written once at the end (out's
     * members were read and written back on every context) */
    uint16_t walked = 0;
    uint8_t stored = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (i >= SMB2_CTX_MAX_WALK) {
            set_status(out, SMB2_CTX_COUNT_MISMATCH, "negotiate context count beyond the walk bound");
            break;
        }
        /* contexts after the first start 8-byte aligned (from the header);
         * the last one is not padded, so padding is only skipped when needed */
        size_t pad = (8 - (at & 7)) & 7;
        if (pad > end - at) {
            set_status(out, cut ? SMB2_CTX_TRUNCATED : SMB2_CTX_COUNT_MISMATCH,
                       "negotiate context padding cut short");
            break;
        }
        at += pad;
        if (at == end) {
            if (cut)
                set_status(out, SMB2_CTX_TRUNCATED, "negotiate context list cut short");
            else
                set_status(out, SMB2_CTX_COUNT_MISMATCH, "fewer negotiate contexts than the count claims");
            break;
        }
        if (end - at < 8) {
            set_status(out, SMB2_CTX_TRUNCATED, "negotiate context header cut short");
            break;
        }
        const uint8_t *h = base + at;
        uint16_t len = u16_at(h + 2);
        at += 8;
        walked++;
        struct smb2_neg_ctx scratch;
        struct smb2_neg_ctx *c = stored < SMB2_CTX_MAX_ITEMS ? &out->items[stored++] : &scratch;
        memset(c, 0, sizeof *c);
        c->type = u16_at(h);
        c->data_len = len;
        if (len > end - at) {
            c->malformed = true;
            set_status(out, SMB2_CTX_TRUNCATED, "negotiate context data cut short");
            break;
        }
        decode_data(base + at, len, c, out);
        at += len;
        if (c->malformed)
            set_status(out, SMB2_CTX_MALFORMED, "negotiate context data does not match its type");
    }
    out->walked = walked;
    out->stored = stored;
}

const struct smb2_neg_ctx *smb2_ctx_find(const struct smb2_neg_ctx_list *l, uint16_t type)
{
    for (unsigned i = 0; i < l->stored; i++)
        if (l->items[i].type == type)
            return &l->items[i];
    return NULL;
}

const char *smb2_ctx_status_name(enum smb2_ctx_status s)
{
    static const char *const names[] = { "absent", "ok", "empty", "truncated", "bad-offset", "count-mismatch",
                                         "malformed" };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}
