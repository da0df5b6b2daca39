/* smb2.c - SMB2/3 headers, compound chains and the connection-setup bodies
 * (MS-SMB2 2.2.1-2.2.10, 2.2.41, 2.2.42). */
#include "smb2.h"

#include <stddef.h>
#include <string.h>

#include "dialect.h"
#include "gss_memo.h"
#include "utf16.h"

#define STATUS_MORE_PROCESSING_REQUIRED 0xC0000016u

enum {
    SMB2_FLAG_RESPONSE = 0x00000001,
    SMB2_FLAG_ASYNC = 0x00000002,
    SMB2_FLAG_RELATED = 0x00000004,
    SMB2_FLAG_SIGNED = 0x00000008,
    SMB2_CMD_NEGOTIATE = 0x0000,
    SMB2_CMD_SESSION_SETUP = 0x0001,
    SMB2_CMD_TREE_CONNECT = 0x0003,

    SMB2_ERROR_BODY_SIZE = 9,
};

/* A PDU being decoded: window from its header, plus the bytes the transport
 * announced for it (which may exceed what is available). */
struct pdu {
    struct wire w;          /* available bytes of this PDU, from the header */
    uint32_t declared;      /* bytes this PDU should have */
    size_t base;            /* offset of the header in msg */
    const struct smb_run *run;
};

static void anomaly(const struct pdu *p, enum smb_anomaly_kind k, size_t rel, const char *why)
{
    smb_anomaly_emit(p->run, k, p->base + rel, why);
}

static bool all_zero(const uint8_t *q, size_t n)
{
    struct wire w = wire_make(q, n);
    while (wire_left(&w))
        if (wire_u8(&w))
            return false;
    return true;
}

/* Resolve an (offset, length) pair measured from the header.  Out of the
 * declared PDU: anomaly, empty view.  Past the available bytes: the
 * available prefix (the caller's decoders report the truncation). */
static struct smb_bytes take_buffer(const struct pdu *p, uint32_t off, uint32_t len, size_t min_off,
                                    const char *what)
{
    struct smb_bytes b = { NULL, 0 };
    if (len == 0)
        return b;
    if (off < min_off || (uint64_t)off + len > p->declared) {
        anomaly(p, SMB_ANOM_BAD_OFFSET, off, what);
        return b;
    }
    size_t have = p->w.len;
    if (off >= have) {
        anomaly(p, SMB_ANOM_TRUNCATED, off, "buffer beyond the available bytes");
        return b;
    }
    size_t n = len <= have - off ? len : have - off;
    struct wire v = wire_window(&p->w, off, n);
    b.p = v.p;
    b.len = v.len;
    return b;
}

static void decode_contexts(const struct pdu *p, uint32_t off, uint16_t count, size_t min_off,
                            struct smb2_neg_ctx_list *out)
{
    smb2_ctx_decode(&p->w, p->declared, off, count, min_off, out);
    if (out->status != SMB2_CTX_OK && out->status != SMB2_CTX_ABSENT)
        anomaly(p, SMB_ANOM_CONTEXTS, off, out->reason ? out->reason : "no negotiate contexts in a 3.1.1 negotiate");
}

static void auth_check(const struct pdu *p, uint32_t off, const struct smb_auth *a)
{
    if (a->status != GSS_OK)
        anomaly(p, SMB_ANOM_AUTH, off, a->reason);
}

static uint64_t load_u64le(const uint8_t *q) { return load_u32le(q) | (uint64_t)load_u32le(q + 4) << 32; }

/* The fixed parts of a NEGOTIATE are read by pointer after one bounds
 * check (field-by-field cursor reads were about 150 instructions a
 * message on every connection); a part cut short is reported as before. */
static void negotiate_request(const struct pdu *p, const struct smb2_header_info *h, struct wire *b)
{
    struct smb2_negotiate_request r;
    /* the context list (800 bytes) is cleared where it is filled */
    memset(&r, 0, offsetof(struct smb2_negotiate_request, contexts));
    const uint8_t *q = wire_bytes(b, 36);
    if (!q) {
        anomaly(p, SMB_ANOM_TRUNCATED, SMB2_HEADER_LEN, "NEGOTIATE request cut short");
        return;
    }
    /* StructureSize 36 at 0, reserved at 6 and 34 */
    r.dialect_count = load_u16le(q + 2);
    r.security_mode = load_u16le(q + 4);
    r.capabilities = load_u32le(q + 8);
    memcpy(r.client_guid, q + 12, 16);
    uint32_t ctx_off = load_u32le(q + 28);
    uint16_t ctx_count = load_u16le(q + 32);
    size_t have = wire_left(b) / 2;
    const uint8_t *d = b->p + b->off;
    uint32_t n = r.dialect_count < have ? r.dialect_count : (uint32_t)have;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t v = load_u16le(d + 2 * i);
        if (v == SMB2_DIALECT_311)
            r.offers_311 = true;
        if (r.dialects_stored < SMB2_MAX_DIALECTS)
            r.dialects[r.dialects_stored++] = v;
    }
    if (n < r.dialect_count) {
        r.dialects_truncated = true;
        anomaly(p, SMB_ANOM_TRUNCATED, SMB2_HEADER_LEN + 36, "fewer dialects than DialectCount");
    }
    if (r.dialect_count == 0)
        anomaly(p, SMB_ANOM_BAD_STRUCTURE, SMB2_HEADER_LEN + 2, "NEGOTIATE request with no dialect");
    /* the 8 bytes are ClientStartTime unless 3.1.1 is offered */
    if (r.offers_311) {
        decode_contexts(p, ctx_off, ctx_count, SMB2_HEADER_LEN + 36 + 2u * r.dialect_count, &r.contexts);
    } else {
        memset(&r.contexts, 0, sizeof r.contexts);
        r.contexts.offset = ctx_off; /* raw wire fields, kept for display */
        r.contexts.count = ctx_count;
    }
    if (p->run->sink->smb2_negotiate_request)
        p->run->sink->smb2_negotiate_request(p->run->ctx, h, &r);
}

static void negotiate_response(const struct pdu *p, const struct smb2_header_info *h, struct wire *b)
{
    struct smb2_negotiate_response r;
    /* auth (set below) and the context list (800 bytes) are filled where
     * they are decoded: clearing the whole struct was a third of the decode */
    memset(&r, 0, offsetof(struct smb2_negotiate_response, auth));
    const uint8_t *q = wire_bytes(b, 64);
    if (!q) {
        anomaly(p, SMB_ANOM_TRUNCATED, SMB2_HEADER_LEN, "NEGOTIATE response cut short");
        return;
    }
    /* StructureSize 65 at 0 */
    r.security_mode = load_u16le(q + 2);
    r.dialect = load_u16le(q + 4);
    uint16_t ctx_count = load_u16le(q + 6);
    memcpy(r.server_guid, q + 8, 16);
    r.capabilities = load_u32le(q + 24);
    r.max_transact = load_u32le(q + 28);
    r.max_read = load_u32le(q + 32);
    r.max_write = load_u32le(q + 36);
    r.system_time = load_u64le(q + 40);
    r.server_start_time = load_u64le(q + 48);
    uint16_t sec_off = load_u16le(q + 56);
    uint16_t sec_len = load_u16le(q + 58);
    uint32_t ctx_off = load_u32le(q + 60);
    r.security_buffer = take_buffer(p, sec_off, sec_len, SMB2_HEADER_LEN + 64,
                                    "NEGOTIATE security buffer outside the PDU");
    struct gss_memo *memo = p->run->sink->negotiate_memo ? p->run->sink->negotiate_memo(p->run->ctx) : NULL;
    struct smb_auth scratch;
    r.auth = gss_decode_memo(memo, r.security_buffer.p, r.security_buffer.len, &scratch);
    auth_check(p, sec_off, r.auth);
    if (r.dialect == SMB2_DIALECT_311) {
        decode_contexts(p, ctx_off, ctx_count, SMB2_HEADER_LEN + 64, &r.contexts);
    } else {
        memset(&r.contexts, 0, sizeof r.contexts);
        r.contexts.offset = ctx_off; /* reserved fields before 3.1.1 */
        r.contexts.count = ctx_count;
    }
    if (p->run->sink->smb2_negotiate_response)
        p->run->sink->smb2_negotiate_response(p->run->ctx, h, &r);
}

static void session_setup_request(const struct pdu *p, const struct smb2_header_info *h, struct wire *b)
{
    struct smb2_session_setup_request r;
    memset(&r, 0, sizeof r);
    (void)wire_u16le(b); /* StructureSize 25 */
    r.flags = wire_u8(b);
    r.security_mode = wire_u8(b);
    r.capabilities = wire_u32le(b);
    r.channel = wire_u32le(b);
    uint16_t sec_off = wire_u16le(b);
    uint16_t sec_len = wire_u16le(b);
    r.previous_session_id = wire_u64le(b);
    if (!wire_ok(b)) {
        anomaly(p, SMB_ANOM_TRUNCATED, SMB2_HEADER_LEN, "SESSION_SETUP request cut short");
        return;
    }
    r.security_buffer = take_buffer(p, sec_off, sec_len, SMB2_HEADER_LEN + 24,
                                    "SESSION_SETUP security buffer outside the PDU");
    gss_decode(r.security_buffer.p, r.security_buffer.len, &r.auth);
    auth_check(p, sec_off, &r.auth);
    if (p->run->sink->smb2_session_setup_request)
        p->run->sink->smb2_session_setup_request(p->run->ctx, h, &r);
}

static void session_setup_response(const struct pdu *p, const struct smb2_header_info *h, struct wire *b)
{
    struct smb2_session_setup_response r;
    memset(&r, 0, sizeof r);
    r.status = h->status;
    r.more_processing = h->status == STATUS_MORE_PROCESSING_REQUIRED;
    (void)wire_u16le(b); /* StructureSize 9 */
    r.session_flags = wire_u16le(b);
    uint16_t sec_off = wire_u16le(b);
    uint16_t sec_len = wire_u16le(b);
    if (!wire_ok(b)) {
        anomaly(p, SMB_ANOM_TRUNCATED, SMB2_HEADER_LEN, "SESSION_SETUP response cut short");
        return;
    }
    /* an ERROR body (2.2.2) has ByteCount where the buffer fields would be */
    if (!h->is_error_response)
        r.security_buffer = take_buffer(p, sec_off, sec_len, SMB2_HEADER_LEN + 8,
                                        "SESSION_SETUP security buffer outside the PDU");
    gss_decode(r.security_buffer.p, r.security_buffer.len, &r.auth);
    auth_check(p, sec_off, &r.auth);
    if (p->run->sink->smb2_session_setup_response)
        p->run->sink->smb2_session_setup_response(p->run->ctx, h, &r);
}

static void tree_connect_request(const struct pdu *p, const struct smb2_header_info *h, struct wire *b)
{
    struct smb2_tree_connect_request r;
    memset(&r, 0, sizeof r);
    (void)wire_u16le(b); /* StructureSize 9 */
    r.flags = wire_u16le(b);
    uint16_t path_off = wire_u16le(b);
    uint16_t path_len = wire_u16le(b);
    if (!wire_ok(b)) {
        anomaly(p, SMB_ANOM_TRUNCATED, SMB2_HEADER_LEN, "TREE_CONNECT request cut short");
        return;
    }
    struct smb_bytes path = take_buffer(p, path_off, path_len, SMB2_HEADER_LEN + 8,
                                        "TREE_CONNECT path outside the PDU");
    utf16le_to_utf8(path.p, path.len, false, r.path, sizeof r.path, &r.path_truncated);
    if (path.len < path_len)
        r.path_truncated = true;
    if (p->run->sink->smb2_tree_connect_request)
        p->run->sink->smb2_tree_connect_request(p->run->ctx, h, &r);
}

static void tree_connect_response(const struct pdu *p, const struct smb2_header_info *h, struct wire *b)
{
    struct smb2_tree_connect_response r;
    memset(&r, 0, sizeof r);
    (void)wire_u16le(b); /* StructureSize 16 */
    r.share_type = wire_u8(b);
    (void)wire_u8(b);
    r.share_flags = wire_u32le(b);
    r.capabilities = wire_u32le(b);
    r.maximal_access = wire_u32le(b);
    if (!wire_ok(b)) {
        anomaly(p, SMB_ANOM_TRUNCATED, SMB2_HEADER_LEN, "TREE_CONNECT response cut short");
        return;
    }
    if (p->run->sink->smb2_tree_connect_response)
        p->run->sink->smb2_tree_connect_response(p->run->ctx, h, &r);
}

typedef void (*body_fn)(const struct pdu *, const struct smb2_header_info *, struct wire *);

static const struct {
    uint16_t command;
    uint16_t request_size, response_size; /* StructureSize of the bodies */
    body_fn request, response;
} bodies[] = {
    { SMB2_CMD_NEGOTIATE, 36, 65, negotiate_request, negotiate_response },
    { SMB2_CMD_SESSION_SETUP, 25, 9, session_setup_request, session_setup_response },
    { SMB2_CMD_TREE_CONNECT, 9, 16, tree_connect_request, tree_connect_response },
};

static void decode_body(const struct pdu *p, const struct smb2_header_info *h)
{
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        if (bodies[i].command != h->command)
            continue;
        /* a failed SESSION_SETUP is still reported (its status is the
         * authentication result); other commands' error bodies carry nothing */
        if (h->is_error_response && h->command != SMB2_CMD_SESSION_SETUP)
            return;
        struct wire b = wire_window(&p->w, SMB2_HEADER_LEN, p->w.len - SMB2_HEADER_LEN);
        uint16_t want = h->response ? bodies[i].response_size : bodies[i].request_size;
        uint16_t ss = (uint16_t)(wire_peek_u8(&b, 0) | (wire_peek_u8(&b, 1) << 8));
        if (wire_left(&b) >= 2 && ss != want)
            anomaly(p, SMB_ANOM_BAD_STRUCTURE, SMB2_HEADER_LEN, "unexpected body StructureSize");
        (h->response ? bodies[i].response : bodies[i].request)(p, h, &b);
        return;
    }
}

/* Parse the 64-byte header at the start of p->w (caller checked 64 bytes). */

static void header_flags(struct smb2_header_info *h)
{
    h->response = h->flags & SMB2_FLAG_RESPONSE;
    h->async = h->flags & SMB2_FLAG_ASYNC;
    h->related = h->flags & SMB2_FLAG_RELATED;
    h->is_signed = h->flags & SMB2_FLAG_SIGNED;
}

/* A whole header, from one bounds check (two headers per message of a
 * short connection: the field-by-field reads were 400 instructions). */
static void read_full_header(const uint8_t *q, struct smb2_header_info *h)
{
    h->structure_size = load_u16le(q + 4);
    h->credit_charge = load_u16le(q + 6);
    h->status = load_u32le(q + 8);
    h->command = load_u16le(q + 12);
    h->credits = load_u16le(q + 14);
    h->flags = load_u32le(q + 16);
    h->next_command = load_u32le(q + 20);
    h->message_id = load_u64le(q + 24);
    header_flags(h);
    if (h->async) {
        h->async_id = load_u64le(q + 32);
    } else {
        h->process_id = load_u32le(q + 32);
        h->tree_id = load_u32le(q + 36);
    }
    h->session_id = load_u64le(q + 40);
    /* two words, not sixteen byte reads (twice per message) */
    h->signature_nonzero = (load_u64ne(q + 48) | load_u64ne(q + 56)) != 0;
}

static void read_header(struct wire *w, struct smb2_header_info *h)
{
    if (wire_has(w, SMB2_HEADER_LEN)) {
        read_full_header(wire_bytes(w, SMB2_HEADER_LEN), h);
        return;
    }
    wire_skip(w, 4);
    h->structure_size = wire_u16le(w);
    h->credit_charge = wire_u16le(w);
    h->status = wire_u32le(w);
    h->command = wire_u16le(w);
    h->credits = wire_u16le(w);
    h->flags = wire_u32le(w);
    h->next_command = wire_u32le(w);
    h->message_id = wire_u64le(w);
    header_flags(h);
    if (h->async) {
        h->async_id = wire_u64le(w);
    } else {
        h->process_id = wire_u32le(w);
        h->tree_id = wire_u32le(w);
    }
    h->session_id = wire_u64le(w);
    const uint8_t *sig = wire_bytes(w, 16);
    h->signature_nonzero = sig && !all_zero(sig, 16);
}

void smb2_decode(const struct wire *msg, const struct smb_run *run)
{
    size_t off = 0;
    for (uint16_t idx = 0;; idx++) {
        if (idx >= SMB_MAX_COMPOUND) {
            smb_anomaly_emit(run, SMB_ANOM_COMPOUND, off, "compound chain longer than the walk bound");
            return;
        }
        struct wire rest = wire_window(msg, off, msg->len - off);
        if (idx > 0 && !(wire_peek_u8(&rest, 0) == 0xFE && wire_peek_u8(&rest, 1) == 'S'
                         && wire_peek_u8(&rest, 2) == 'M' && wire_peek_u8(&rest, 3) == 'B')) {
            smb_anomaly_emit(run, SMB_ANOM_COMPOUND, off, "NextCommand does not point at an SMB2 header");
            return;
        }
        if (!wire_has(&rest, SMB2_HEADER_LEN)) {
            smb_anomaly_emit(run, SMB_ANOM_TRUNCATED, off, "SMB2 header cut short");
            /* A snaplen-cut header still tells command, status and flags
             * (signed, response) when the first 20 bytes are there. */
            if (wire_has(&rest, SMB2_FLAGS_END) && run->sink->smb2_header) {
                struct smb2_header_info h;
                memset(&h, 0, sizeof h);
                h.offset = (uint32_t)off;
                h.index = idx;
                read_header(&rest, &h);
                h.header_truncated = true;
                h.pdu_truncated = true;
                run->sink->smb2_header(run->ctx, &h);
            }
            return;
        }
        struct smb2_header_info h;
        memset(&h, 0, sizeof h);
        h.offset = (uint32_t)off;
        h.index = idx;
        read_header(&rest, &h);

        uint32_t remaining = run->msg_len > off ? run->msg_len - (uint32_t)off : 0;
        bool chain_ok = true;
        if (h.next_command) {
            if (h.next_command < SMB2_HEADER_LEN) {
                smb_anomaly_emit(run, SMB_ANOM_COMPOUND, off, "NextCommand smaller than an SMB2 header");
                chain_ok = false;
            } else if (h.next_command >= remaining) {
                smb_anomaly_emit(run, SMB_ANOM_COMPOUND, off, "NextCommand past the end of the message");
                chain_ok = false;
            } else if (h.next_command & 7) {
                smb_anomaly_emit(run, SMB_ANOM_COMPOUND, off, "NextCommand not 8-byte aligned");
            }
        }
        h.pdu_len = (h.next_command && chain_ok) ? h.next_command : remaining;
        size_t have = msg->len - off;
        h.pdu_truncated = have < h.pdu_len;
        if (h.structure_size != SMB2_HEADER_LEN)
            smb_anomaly_emit(run, SMB_ANOM_BAD_STRUCTURE, off + 4, "SMB2 header StructureSize is not 64");

        struct pdu p;
        p.w = wire_window(msg, off, have < h.pdu_len ? have : h.pdu_len);
        p.declared = h.pdu_len;
        p.base = off;
        p.run = run;
        /* an error response body (2.2.2) replaces the command's body */
        bool severity_error = (h.status >> 30) == 3;
        uint8_t body_ss = wire_peek_u8(&rest, 0);
        h.is_error_response = h.response && severity_error && body_ss == SMB2_ERROR_BODY_SIZE
                              && !(h.command == SMB2_CMD_SESSION_SETUP && h.status == STATUS_MORE_PROCESSING_REQUIRED);

        if (run->sink->smb2_header)
            run->sink->smb2_header(run->ctx, &h);
        decode_body(&p, &h);

        if (!h.next_command || !chain_ok)
            return;
        off += h.next_command;
        if (off >= msg->len)
            return; /* the rest was not captured; pdu_truncated said so */
    }
}

void smb2_decode_transform(const struct wire *msg, const struct smb_run *run)
{
    struct wire w = *msg;
    struct smb_transform_info t;
    memset(&t, 0, sizeof t);
    wire_skip(&w, 4 + 16);
    const uint8_t *nonce = wire_bytes(&w, 16);
    t.nonce_nonzero = nonce && !all_zero(nonce, 16);
    t.original_size = wire_u32le(&w);
    (void)wire_u16le(&w);
    t.flags = wire_u16le(&w);
    t.session_id = wire_u64le(&w);
    if (!wire_ok(&w)) {
        smb_anomaly_emit(run, SMB_ANOM_TRUNCATED, 0, "SMB2 TRANSFORM header cut short");
        return;
    }
    if (run->sink->encrypted)
        run->sink->encrypted(run->ctx, &t);
}

void smb2_decode_compression(const struct wire *msg, const struct smb_run *run)
{
    struct wire w = *msg;
    struct smb_compress_info c;
    memset(&c, 0, sizeof c);
    wire_skip(&w, 4);
    c.original_size = wire_u32le(&w);
    c.algorithm = wire_u16le(&w);
    c.flags = wire_u16le(&w);
    c.offset_or_length = wire_u32le(&w);
    c.chained = c.flags & 0x0001;
    if (!wire_ok(&w)) {
        smb_anomaly_emit(run, SMB_ANOM_TRUNCATED, 0, "SMB2 COMPRESSION_TRANSFORM header cut short");
        return;
    }
    if (run->sink->compressed)
        run->sink->compressed(run->ctx, &c);
}
