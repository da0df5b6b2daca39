/* smb2_ctx_ref.c - the NEGOTIATE context walk as it was before the
 * pointer walk of dissector/smb/smb2_ctx.c (a cursor that checks every
 * field), kept as the reference /smb2/context-walk-equal compares the
 * walk with, byte for byte. */
#include "smb2_ctx_ref.h"

#include <string.h>

#include "utf16.h"

static void set_status(struct smb2_neg_ctx_list *out, enum smb2_ctx_status s, const char *why)
{
    if (out->status == SMB2_CTX_OK) {
        out->status = s;
        out->reason = why;
    }
}

/* A u16 count followed by that many u16 ids (encryption, signing, rdma use
 * this with rdma having 4 reserved bytes first; see callers). */
static void take_ids(struct wire *d, uint16_t count, struct smb2_neg_ctx *c)
{
    c->id_count = count;
    for (uint16_t i = 0; i < count; i++) {
        uint16_t id = wire_u16le(d);
        if (!wire_ok(d)) {
            c->malformed = true;
            return;
        }
        if (c->ids_stored < SMB2_CTX_MAX_IDS)
            c->ids[c->ids_stored++] = id;
    }
    if (count == 0)
        c->malformed = true; /* every id list must name at least one value */
}

static void decode_data(struct wire d, struct smb2_neg_ctx *c, struct smb2_neg_ctx_list *out)
{
    switch (c->type) {
    case SMB2_CTX_PREAUTH_INTEGRITY: {
        uint16_t n = wire_u16le(&d);
        c->salt_len = wire_u16le(&d);
        if (!wire_ok(&d)) {
            c->malformed = true;
            break;
        }
        take_ids(&d, n, c);
        if (!wire_has(&d, c->salt_len))
            c->malformed = true;
        break;
    }
    case SMB2_CTX_ENCRYPTION:
    case SMB2_CTX_SIGNING: {
        uint16_t n = wire_u16le(&d);
        if (!wire_ok(&d))
            c->malformed = true;
        else
            take_ids(&d, n, c);
        break;
    }
    case SMB2_CTX_COMPRESSION: {
        uint16_t n = wire_u16le(&d);
        (void)wire_u16le(&d); /* padding */
        c->flags = wire_u32le(&d);
        if (!wire_ok(&d))
            c->malformed = true;
        else
            take_ids(&d, n, c);
        break;
    }
    case SMB2_CTX_RDMA_TRANSFORM: {
        uint16_t n = wire_u16le(&d);
        wire_skip(&d, 2 + 4); /* reserved */
        if (!wire_ok(&d))
            c->malformed = true;
        else
            take_ids(&d, n, c);
        break;
    }
    case SMB2_CTX_TRANSPORT:
        c->flags = wire_u32le(&d);
        if (!wire_ok(&d))
            c->malformed = true;
        break;
    case SMB2_CTX_NETNAME:
        if (!out->has_netname) {
            out->has_netname = true;
            utf16le_to_utf8(d.p, d.len, false, out->netname, sizeof out->netname,
                            &out->netname_truncated);
        }
        break;
    default:
        break; /* unknown: kept as (type, length) */
    }
}

void smb2_ctx_decode_ref(const struct wire *pdu, size_t declared_len, uint32_t offset, uint16_t count,
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
    struct wire w = wire_window(pdu, offset, pdu->len - offset);
    for (uint32_t i = 0; i < count; i++) {
        if (i >= SMB2_CTX_MAX_WALK) {
            set_status(out, SMB2_CTX_COUNT_MISMATCH, "negotiate context count beyond the walk bound");
            break;
        }
        /* contexts after the first start 8-byte aligned (from the header);
         * the last one is not padded, so padding is only skipped when needed */
        if (i > 0) {
            size_t abs = offset + w.off;
            size_t pad = (8 - (abs & 7)) & 7;
            if (!wire_has(&w, pad)) {
                set_status(out, cut ? SMB2_CTX_TRUNCATED : SMB2_CTX_COUNT_MISMATCH,
                           "negotiate context padding cut short");
                break;
            }
            wire_skip(&w, pad);
        }
        if (wire_left(&w) == 0) {
            if (cut)
                set_status(out, SMB2_CTX_TRUNCATED, "negotiate context list cut short");
            else
                set_status(out, SMB2_CTX_COUNT_MISMATCH, "fewer negotiate contexts than the count claims");
            break;
        }
        uint16_t type = wire_u16le(&w);
        uint16_t len = wire_u16le(&w);
        (void)wire_u32le(&w); /* reserved */
        if (!wire_ok(&w)) {
            set_status(out, SMB2_CTX_TRUNCATED, "negotiate context header cut short");
            break;
        }
        out->walked++;
        struct smb2_neg_ctx scratch;
        struct smb2_neg_ctx *c = out->stored < SMB2_CTX_MAX_ITEMS ? &out->items[out->stored++] : &scratch;
        memset(c, 0, sizeof *c);
        c->type = type;
        c->data_len = len;
        if (!wire_has(&w, len)) {
            c->malformed = true;
            set_status(out, SMB2_CTX_TRUNCATED, "negotiate context data cut short");
            break;
        }
        decode_data(wire_sub(&w, len), c, out);
        if (c->malformed)
            set_status(out, SMB2_CTX_MALFORMED, "negotiate context data does not match its type");
    }
}
