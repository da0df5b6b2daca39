/* smb1.c - SMB1 header, AndX walk, NEGOTIATE / SESSION_SETUP_ANDX /
 * TREE_CONNECT_ANDX (MS-CIFS 2.2.4.52, 2.2.4.53, 2.2.4.55; MS-SMB 2.2.4). */
#include "smb1.h"

#include <string.h>

#include "utf16.h"

#define SMB1_CAP_EXTENDED_SECURITY 0x80000000u
#define SMB1_CAP_UNICODE 0x00000004u

enum {
    SMB1_NEGOTIATE = 0x72,
    SMB1_SESSION_SETUP_ANDX = 0x73,
    SMB1_TREE_CONNECT_ANDX = 0x75,
    SMB1_NO_ANDX = 0xFF,
    SMB1_FLAGS_REPLY = 0x80,
    SMB1_FLAGS2_UNICODE = 0x8000,
    SMB1_FLAGS2_EXTENDED_SECURITY = 0x0800,

};

/* Commands whose first two words are AndXCommand/AndXReserved/AndXOffset. */
static const uint8_t andx_commands[] = { 0x24, 0x2D, 0x2E, 0x2F, 0x73, 0x74, 0x75, 0xA2 };

static bool is_andx(uint8_t cmd)
{
    for (size_t i = 0; i < sizeof andx_commands; i++)
        if (andx_commands[i] == cmd)
            return true;
    return false;
}

/* One command block: the words and bytes of the parameter / data blocks. */
struct block {
    const struct wire *msg;    /* whole message (offsets are from the header) */
    size_t words_off;          /* offset of the first word */
    struct wire words;
    size_t bytes_off;          /* offset of the first data byte */
    struct wire bytes;
    const struct smb_run *run;
};

/* Read a NUL-terminated string from the data block.  Unicode strings are
 * 2-byte aligned relative to the SMB header (MS-CIFS 2.2.3.3) except where a
 * structure says otherwise (align false). */
static void read_string_at(struct block *b, bool unicode, bool align, char *dst, size_t dst_size,
                           bool *truncated, bool *present)
{
    struct wire *w = &b->bytes;
    if (unicode && align && ((b->bytes_off + w->off) & 1))
        wire_skip(w, 1);
    if (wire_left(w) == 0) {
        dst[0] = '\0';
        return;
    }
    size_t start = w->off;
    size_t n = 0;
    bool terminated = false;
    while (wire_left(w) >= (unicode ? 2u : 1u)) {
        uint16_t c = unicode ? wire_u16le(w) : wire_u8(w);
        if (c == 0) {
            terminated = true;
            break;
        }
        n += unicode ? 2 : 1;
    }
    if (!terminated)
        wire_skip(w, wire_left(w)); /* unterminated: take the rest */
    struct wire s = wire_window(w, start, n);
    if (present)
        *present = true;
    if (unicode)
        utf16le_to_utf8(s.p, s.len, false, dst, dst_size, truncated);
    else
        oem_to_utf8(s.p, s.len, false, dst, dst_size, truncated);
}

static void read_string(struct block *b, bool unicode, char *dst, size_t dst_size, bool *truncated, bool *present)
{
    read_string_at(b, unicode, true, dst, dst_size, truncated, present);
}

static void read_text(struct block *b, bool unicode, struct smb_text *t)
{
    read_string_at(b, unicode, true, t->text, sizeof t->text, &t->truncated, &t->present);
}

static void anomaly(const struct block *b, enum smb_anomaly_kind k, size_t off, const char *why)
{
    smb_anomaly_emit(b->run, k, off, why);
}

/* The security blob at the start of the data block (extended security),
 * decoded; a blob longer than the block or malformed is an anomaly. */
static struct smb_bytes take_blob(struct block *b, uint16_t len, struct smb_auth *auth)
{
    struct smb_bytes r = { NULL, 0 };
    size_t n = len;
    bool short_blob = false;
    if (n > wire_left(&b->bytes)) {
        n = wire_left(&b->bytes);
        short_blob = true;
    }
    r.p = wire_bytes(&b->bytes, n);
    r.len = r.p ? n : 0;
    gss_decode(r.p, r.len, auth);
    if (short_blob)
        anomaly(b, SMB_ANOM_TRUNCATED, b->bytes_off, "SMB1 security blob longer than the data block");
    else if (auth->status != GSS_OK)
        anomaly(b, SMB_ANOM_AUTH, b->bytes_off, auth->reason);
    return r;
}

static void negotiate_request(struct block *b, const struct smb1_header_info *h)
{
    struct smb1_negotiate_request r;
    memset(&r, 0, sizeof r);
    struct wire *w = &b->bytes;
    while (wire_left(w)) {
        uint8_t fmt = wire_u8(w);
        if (fmt != 0x02) { /* BufferFormat "dialect string" */
            anomaly(b, SMB_ANOM_BAD_STRUCTURE, b->bytes_off + w->off - 1, "SMB1 dialect without buffer format 0x02");
            break;
        }
        size_t start = w->off, n = 0;
        bool terminated = false;
        while (wire_left(w)) {
            if (wire_u8(w) == 0) {
                terminated = true;
                break;
            }
            n++;
        }
        if (!terminated)
            r.truncated = true;
        struct wire s = wire_window(w, start, n);
        if (r.count < SMB1_MAX_DIALECTS) {
            r.dialects[r.count].p = s.p;
            r.dialects[r.count].len = s.len;
            r.count++;
        } else if (r.extra < UINT16_MAX) {
            r.extra++;
        }
    }
    if (b->run->sink->smb1_negotiate_request)
        b->run->sink->smb1_negotiate_request(b->run->ctx, h, &r);
}

static void negotiate_response(struct block *b, const struct smb1_header_info *h)
{
    struct smb1_negotiate_response r;
    memset(&r, 0, sizeof r);
    struct wire *w = &b->words;
    r.word_count = (uint8_t)(w->len / 2);
    r.dialect_index = wire_u16le(w);
    if (r.word_count == 17) {
        r.security_mode = wire_u8(w);
        r.max_mpx = wire_u16le(w);
        (void)wire_u16le(w); /* MaxNumberVcs */
        r.max_buffer = wire_u32le(w);
        (void)wire_u32le(w); /* MaxRawSize */
        (void)wire_u32le(w); /* SessionKey */
        r.capabilities = wire_u32le(w);
        (void)wire_u64le(w); /* SystemTime */
        (void)wire_u16le(w); /* ServerTimeZone */
        r.challenge_length = wire_u8(w);
        r.extended_security = r.capabilities & SMB1_CAP_EXTENDED_SECURITY;
        if (r.extended_security) {
            const uint8_t *g = wire_bytes(&b->bytes, 16);
            if (g) {
                r.has_server_guid = true;
                memcpy(r.server_guid, g, 16);
                size_t n = wire_left(&b->bytes);
                r.security_blob.p = wire_bytes(&b->bytes, n);
                r.security_blob.len = r.security_blob.p ? n : 0;
            } else {
                anomaly(b, SMB_ANOM_TRUNCATED, b->bytes_off, "SMB1 NEGOTIATE response without server GUID");
            }
            gss_decode(r.security_blob.p, r.security_blob.len, &r.auth);
            if (r.auth.status != GSS_OK)
                anomaly(b, SMB_ANOM_AUTH, b->bytes_off + 16, r.auth.reason);
        } else if (wire_skip(&b->bytes, r.challenge_length)) {
            /* MS-CIFS 2.2.4.52.2: Challenge, DomainName, ServerName (MS-SMB).
             * Windows does not pad these Unicode strings after the challenge,
             * and Samba sends them in Unicode when CAP_UNICODE is set even
             * with SMB_FLAGS2_UNICODE clear (tshark reads them the same way). */
            bool uni = h->unicode || (r.capabilities & SMB1_CAP_UNICODE);
            read_string_at(b, uni, false, r.domain.text, sizeof r.domain.text, &r.domain.truncated,
                           &r.domain.present);
            read_string_at(b, uni, false, r.server.text, sizeof r.server.text, &r.server.truncated,
                           &r.server.present);
        }
    } else if (r.word_count == 13) {
        r.security_mode = wire_u16le(w);
        r.max_buffer = wire_u16le(w);
        r.max_mpx = wire_u16le(w);
    } else if (r.word_count != 1) {
        anomaly(b, SMB_ANOM_BAD_STRUCTURE, b->words_off - 1, "SMB1 NEGOTIATE response word count not 1, 13 or 17");
    }
    if (b->run->sink->smb1_negotiate_response)
        b->run->sink->smb1_negotiate_response(b->run->ctx, h, &r);
}

static void session_setup_request(struct block *b, const struct smb1_header_info *h)
{
    struct smb1_session_setup_request r;
    memset(&r, 0, sizeof r);
    struct wire *w = &b->words;
    r.word_count = (uint8_t)(w->len / 2);
    wire_skip(w, 4); /* AndX */
    r.max_buffer = wire_u16le(w);
    r.max_mpx = wire_u16le(w);
    r.vc_number = wire_u16le(w);
    r.session_key = wire_u32le(w);
    if (r.word_count == 12) {
        uint16_t blob_len = wire_u16le(w);
        (void)wire_u32le(w);
        r.capabilities = wire_u32le(w);
        r.extended_security = true;
        r.security_blob = take_blob(b, blob_len, &r.auth);
    } else if (r.word_count == 13 || r.word_count == 10) {
        r.ansi_password_len = wire_u16le(w);
        if (r.word_count == 13) {
            r.unicode_password_len = wire_u16le(w);
            (void)wire_u32le(w);
            r.capabilities = wire_u32le(w);
        }
        if (!wire_skip(&b->bytes, (size_t)r.ansi_password_len + r.unicode_password_len)) {
            anomaly(b, SMB_ANOM_TRUNCATED, b->bytes_off, "SMB1 passwords longer than the data block");
        } else {
            read_text(b, h->unicode, &r.account);
            read_text(b, h->unicode, &r.domain);
        }
    } else {
        anomaly(b, SMB_ANOM_BAD_STRUCTURE, b->words_off - 1, "SMB1 SESSION_SETUP_ANDX request word count not 10, 12 or 13");
    }
    if (wire_ok(&b->bytes)) {
        read_text(b, h->unicode, &r.native_os);
        read_text(b, h->unicode, &r.native_lanman);
    }
    if (b->run->sink->smb1_session_setup_request)
        b->run->sink->smb1_session_setup_request(b->run->ctx, h, &r);
}

static void session_setup_response(struct block *b, const struct smb1_header_info *h)
{
    struct smb1_session_setup_response r;
    memset(&r, 0, sizeof r);
    struct wire *w = &b->words;
    r.word_count = (uint8_t)(w->len / 2);
    wire_skip(w, 4);
    r.action = wire_u16le(w);
    r.guest = r.action & 0x0001;
    if (r.word_count == 4) {
        uint16_t blob_len = wire_u16le(w);
        r.security_blob = take_blob(b, blob_len, &r.auth);
    } else if (r.word_count != 3) {
        anomaly(b, SMB_ANOM_BAD_STRUCTURE, b->words_off - 1, "SMB1 SESSION_SETUP_ANDX response word count not 3 or 4");
    }
    if (wire_ok(&b->bytes)) {
        read_text(b, h->unicode, &r.native_os);
        read_text(b, h->unicode, &r.native_lanman);
        read_text(b, h->unicode, &r.domain);
    }
    if (b->run->sink->smb1_session_setup_response)
        b->run->sink->smb1_session_setup_response(b->run->ctx, h, &r);
}

static void tree_connect_request(struct block *b, const struct smb1_header_info *h)
{
    struct smb1_tree_connect_request r;
    memset(&r, 0, sizeof r);
    struct wire *w = &b->words;
    wire_skip(w, 4);
    r.flags = wire_u16le(w);
    r.password_len = wire_u16le(w);
    if (!wire_ok(w)) {
        anomaly(b, SMB_ANOM_BAD_STRUCTURE, b->words_off - 1, "SMB1 TREE_CONNECT_ANDX request word count below 4");
        return;
    }
    if (!wire_skip(&b->bytes, r.password_len)) {
        anomaly(b, SMB_ANOM_TRUNCATED, b->bytes_off, "SMB1 tree password longer than the data block");
    } else {
        read_string(b, h->unicode, r.path, sizeof r.path, &r.path_truncated, NULL);
        read_string(b, false, r.service, sizeof r.service, &r.service_truncated, NULL); /* always OEM */
    }
    if (b->run->sink->smb1_tree_connect_request)
        b->run->sink->smb1_tree_connect_request(b->run->ctx, h, &r);
}

static void tree_connect_response(struct block *b, const struct smb1_header_info *h)
{
    struct smb1_tree_connect_response r;
    memset(&r, 0, sizeof r);
    struct wire *w = &b->words;
    r.word_count = (uint8_t)(w->len / 2);
    wire_skip(w, 4);
    if (r.word_count >= 3)
        r.optional_support = wire_u16le(w);
    if (r.word_count >= 7)
        r.maximal_access = wire_u32le(w);
    read_string(b, false, r.service, sizeof r.service, &r.service_truncated, NULL);
    read_text(b, h->unicode, &r.native_fs);
    if (b->run->sink->smb1_tree_connect_response)
        b->run->sink->smb1_tree_connect_response(b->run->ctx, h, &r);
}

typedef void (*body_fn)(struct block *, const struct smb1_header_info *);

static const struct {
    uint8_t command;
    body_fn request, response;
} bodies[] = {
    { SMB1_NEGOTIATE, negotiate_request, negotiate_response },
    { SMB1_SESSION_SETUP_ANDX, session_setup_request, session_setup_response },
    { SMB1_TREE_CONNECT_ANDX, tree_connect_request, tree_connect_response },
};

void smb1_decode(const struct wire *msg, const struct smb_run *run)
{
    struct wire w = *msg;
    struct smb1_header_info h;
    memset(&h, 0, sizeof h);
    wire_skip(&w, 4);
    h.command = wire_u8(&w);
    h.status = wire_u32le(&w);
    h.flags = wire_u8(&w);
    h.flags2 = wire_u16le(&w);
    h.pid_high = wire_u16le(&w);
    const uint8_t *sig = wire_bytes(&w, 8);
    (void)wire_u16le(&w);
    h.tid = wire_u16le(&w);
    h.pid = wire_u16le(&w);
    h.uid = wire_u16le(&w);
    h.mid = wire_u16le(&w);
    if (!wire_ok(&w)) {
        smb_anomaly_emit(run, SMB_ANOM_TRUNCATED, 0, "SMB1 header cut short");
        return;
    }
    h.response = h.flags & SMB1_FLAGS_REPLY;
    h.unicode = h.flags2 & SMB1_FLAGS2_UNICODE;
    for (int i = 0; i < 8; i++)
        h.signature_nonzero |= sig[i] != 0;

    size_t block_off = SMB1_HEADER_LEN;
    uint8_t command = h.command;
    for (int n = 0;; n++) {
        if (n >= SMB_MAX_ANDX) {
            smb_anomaly_emit(run, SMB_ANOM_ANDX, block_off, "AndX chain longer than the walk bound");
            return;
        }
        struct wire c = wire_window(msg, block_off, msg->len - block_off);
        struct block b;
        b.msg = msg;
        b.run = run;
        h.word_count = wire_u8(&c);
        b.words_off = block_off + 1;
        b.words = wire_sub(&c, 2u * h.word_count);
        h.byte_count = wire_u16le(&c);
        b.bytes_off = b.words_off + 2u * h.word_count + 2;
        bool bytes_short = !wire_has(&c, h.byte_count);
        b.bytes = wire_sub(&c, bytes_short ? wire_left(&c) : h.byte_count);
        h.command = command;
        h.andx = n > 0;
        if (run->sink->smb1_header)
            run->sink->smb1_header(run->ctx, &h);
        if (!wire_ok(&b.words) || (b.bytes_off > msg->len)) {
            smb_anomaly_emit(run, SMB_ANOM_TRUNCATED, block_off, "SMB1 parameter block cut short");
            return;
        }
        if (bytes_short)
            smb_anomaly_emit(run, SMB_ANOM_TRUNCATED, b.bytes_off, "SMB1 data block shorter than ByteCount");
        /* an error reply carries no parameter words; nothing to decode */
        if (h.response && h.word_count == 0)
            return;
        for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
            if (bodies[i].command == command)
                (h.response ? bodies[i].response : bodies[i].request)(&b, &h);
        if (!is_andx(command) || h.word_count < 2)
            return;
        struct wire aw = wire_window(msg, block_off + 1, 4);
        uint8_t next_cmd = wire_u8(&aw);
        (void)wire_u8(&aw);
        uint16_t next_off = wire_u16le(&aw);
        if (next_cmd == SMB1_NO_ANDX)
            return;
        if (next_off <= block_off || next_off >= msg->len) {
            /* zero/backwards offsets would loop; past the end is not captured */
            if (next_off <= block_off || next_off >= run->msg_len)
                smb_anomaly_emit(run, SMB_ANOM_ANDX, block_off, "AndX offset backwards or past the message");
            return;
        }
        command = next_cmd;
        block_off = next_off;
    }
}
