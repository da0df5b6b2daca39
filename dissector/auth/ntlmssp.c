/* ntlmssp.c - NTLMSSP NEGOTIATE / CHALLENGE / AUTHENTICATE (MS-NLMP 2.2.1). */
#include "ntlmssp.h"

#include <string.h>

#include "utf16.h"
#include "wire.h"

static const uint8_t signature[8] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0 };

bool ntlmssp_is(const uint8_t *p, size_t len)
{
    return p && len >= sizeof signature && memcmp(p, signature, sizeof signature) == 0;
}

/* A (Len, MaxLen, BufferOffset) field: offset from the start of the message. */
struct field { uint16_t len; uint32_t off; };

static struct field read_field(struct wire *w)
{
    struct field f;
    f.len = wire_u16le(w);
    (void)wire_u16le(w); /* MaxLen: informational */
    f.off = wire_u32le(w);
    return f;
}

/* Resolve a field to bytes; false (and status TRUNCATED) if it points outside. */
static bool field_bytes(const struct wire *msg, struct field f, struct ntlmssp_info *out,
                        const uint8_t **p)
{
    struct wire v = wire_window(msg, f.off, f.len);
    if (!wire_ok(&v)) {
        out->status = NTLMSSP_TRUNCATED;
        out->reason = "NTLMSSP field points outside the message";
        *p = NULL;
        return false;
    }
    *p = v.p;
    return true;
}

static void take_name(const struct wire *msg, struct field f, bool unicode,
                      struct ntlmssp_info *out, struct ntlmssp_name *name)
{
    const uint8_t *p;
    if (f.len == 0 || !field_bytes(msg, f, out, &p))
        return;
    name->present = true;
    if (unicode)
        utf16le_to_utf8(p, f.len, false, name->text, sizeof name->text, &name->truncated);
    else
        oem_to_utf8(p, f.len, false, name->text, sizeof name->text, &name->truncated);
}

/* Target info AV pairs (MS-NLMP 2.2.2.1): always UTF-16. */
static void take_av_pairs(const uint8_t *p, size_t len, struct ntlmssp_info *out)
{
    struct wire w = wire_make(p, len);
    for (int i = 0; i < 64 && wire_left(&w) >= 4; i++) {
        uint16_t id = wire_u16le(&w);
        uint16_t n = wire_u16le(&w);
        struct wire v = wire_sub(&w, n);
        if (!wire_ok(&v) || id == 0)
            break;
        struct ntlmssp_name *dst = NULL;
        switch (id) {
        case 1: dst = &out->nb_computer; break;
        case 2: dst = &out->nb_domain; break;
        case 3: dst = &out->dns_computer; break;
        case 4: dst = &out->dns_domain; break;
        default: break;
        }
        if (dst && n) {
            dst->present = true;
            utf16le_to_utf8(v.p, n, false, dst->text, sizeof dst->text, &dst->truncated);
        }
    }
}

enum ntlmssp_status ntlmssp_decode(const uint8_t *p, size_t len, struct ntlmssp_info *out)
{
    memset(out, 0, sizeof *out);
    if (!ntlmssp_is(p, len)) {
        out->status = NTLMSSP_ABSENT;
        return out->status;
    }
    struct wire msg = wire_make(p, len);
    struct wire w = msg;
    wire_skip(&w, 8);
    out->status = NTLMSSP_OK;
    out->msg_type = wire_u32le(&w);

    switch (out->msg_type) {
    case 1: /* NEGOTIATE: flags, domain, workstation (OEM, rarely present) */
        out->flags = wire_u32le(&w);
        if (!wire_ok(&w))
            goto short_msg;
        break;
    case 2: { /* CHALLENGE */
        struct field target = read_field(&w);
        out->flags = wire_u32le(&w);
        wire_skip(&w, 8 + 8); /* server challenge, reserved */
        if (!wire_ok(&w))
            goto short_msg;
        take_name(&msg, target, out->flags & NTLMSSP_NEGOTIATE_UNICODE_FLAG, out, &out->target_name);
        struct field info = read_field(&w);
        if (wire_ok(&w) && info.len) {
            const uint8_t *ip;
            if (field_bytes(&msg, info, out, &ip))
                take_av_pairs(ip, info.len, out);
        }
        break;
    }
    case 3: { /* AUTHENTICATE */
        struct field lm = read_field(&w);
        struct field nt = read_field(&w);
        struct field domain = read_field(&w);
        struct field user = read_field(&w);
        struct field ws = read_field(&w);
        (void)read_field(&w); /* encrypted random session key */
        out->flags = wire_u32le(&w);
        if (!wire_ok(&w))
            goto short_msg;
        bool uni = out->flags & NTLMSSP_NEGOTIATE_UNICODE_FLAG;
        out->lm_response_len = lm.len;
        out->nt_response_len = nt.len;
        take_name(&msg, domain, uni, out, &out->domain);
        take_name(&msg, user, uni, out, &out->user);
        take_name(&msg, ws, uni, out, &out->workstation);
        /* MS-NLMP 3.2.5.1.2: anonymous when the user name and NT response are
         * empty and the LM response is empty or a single zero byte. */
        bool lm_empty = lm.len == 0;
        if (lm.len == 1) {
            struct wire lv = wire_window(&msg, lm.off, 1);
            if (wire_u8(&lv) == 0 && wire_ok(&lv))
                lm_empty = true;
        }
        out->anonymous = user.len == 0 && nt.len == 0 && lm_empty;
        break;
    }
    default:
        out->status = NTLMSSP_MALFORMED;
        out->reason = "unknown NTLMSSP message type";
        break;
    }
    return out->status;

short_msg:
    out->status = NTLMSSP_TRUNCATED;
    out->reason = "NTLMSSP message shorter than its fixed part";
    return out->status;
}
