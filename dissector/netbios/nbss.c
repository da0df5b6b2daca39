/* nbss.c - RFC 1002 4.3 control messages. */
#include "nbss.h"

#include <string.h>

#include "wire.h"

/* Body length each control type must carry (RFC 1002 4.3.2 - 4.3.7). */
static const struct {
    uint8_t type;
    int length; /* -1: variable (two names) */
} control_lengths[] = {
    { NBSS_SESSION_REQUEST, -1 },
    { NBSS_POSITIVE_RESPONSE, 0 },
    { NBSS_NEGATIVE_RESPONSE, 1 },
    { NBSS_RETARGET_RESPONSE, 6 },
    { NBSS_KEEPALIVE, 0 },
};

int nbss_control_fixed_length(uint8_t type)
{
    for (size_t i = 0; i < sizeof control_lengths / sizeof control_lengths[0]; i++)
        if (control_lengths[i].type == type)
            return control_lengths[i].length;
    return -1;
}

static bool is_control(uint8_t type)
{
    return type >= NBSS_SESSION_REQUEST && type <= NBSS_KEEPALIVE;
}

/* Keep the first problem found; later ones are usually its consequence. */
static void note(struct nbss_control *out, enum nbss_status st)
{
    if (out->status == NBSS_OK)
        out->status = st;
}

enum nbss_status nbss_control_decode_parts(uint8_t type, uint8_t flags, uint32_t length,
                                           const uint8_t *body, size_t body_len,
                                           struct nbss_control *out)
{
    memset(out, 0, sizeof *out);
    /* NBNAME_OK is 0: names are "not decoded" until a session request is. */
    out->called_status = out->calling_status = NBNAME_TRUNCATED;
    out->type = type;
    out->flags = flags;
    out->length = length;
    if (!is_control(type)) {
        out->status = NBSS_NOT_CONTROL;
        return out->status;
    }
    if (flags & 0xfe)
        note(out, NBSS_RESERVED_FLAGS);
    if (body_len > length)
        body_len = length;
    struct wire w = wire_make(body, body_len);
    int fixed = nbss_control_fixed_length(type);
    if (fixed >= 0 && length != (uint32_t)fixed)
        note(out, NBSS_BAD_LENGTH);

    switch (type) {
    case NBSS_SESSION_REQUEST: {
        out->called_status = nbname_decode(&w, false, &out->called);
        out->calling_status = nbname_decode(&w, false, &out->calling);
        bool trunc = out->called_status == NBNAME_TRUNCATED || out->calling_status == NBNAME_TRUNCATED;
        if (trunc && body_len < length)
            note(out, NBSS_TRUNCATED);
        else if (trunc)
            note(out, NBSS_BAD_LENGTH); /* the names run past the stated length */
        else if (out->called_status != NBNAME_OK || out->calling_status != NBNAME_OK)
            note(out, NBSS_BAD_NAME);
        else if (wire_left(&w) != 0 || w.off != length)
            note(out, NBSS_BAD_LENGTH); /* bytes after the calling name */
        break;
    }
    case NBSS_NEGATIVE_RESPONSE:
        out->error_code = wire_u8(&w);
        break;
    case NBSS_RETARGET_RESPONSE:
        out->retarget_ipv4 = wire_u32be(&w);
        out->retarget_port = wire_u16be(&w);
        break;
    default:
        break;
    }
    if (body_len < length)
        note(out, NBSS_TRUNCATED);
    else if (!wire_ok(&w))
        note(out, NBSS_BAD_LENGTH);
    return out->status;
}

enum nbss_status nbss_control_decode(const uint8_t *msg, size_t len, struct nbss_control *out)
{
    struct wire w = wire_make(msg, len);
    uint8_t type = wire_u8(&w);
    uint8_t flags = wire_u8(&w);
    uint16_t len16 = wire_u16be(&w);
    if (!wire_ok(&w)) {
        memset(out, 0, sizeof *out);
        out->called_status = out->calling_status = NBNAME_TRUNCATED;
        out->type = type;
        out->status = NBSS_TRUNCATED;
        return out->status;
    }
    uint32_t length = ((uint32_t)(flags & 0x01) << 16) | len16;
    size_t body_len = wire_left(&w);
    const uint8_t *body = wire_bytes(&w, body_len);
    return nbss_control_decode_parts(type, flags, length, body, body_len, out);
}

static const struct {
    uint8_t code;
    const char *text;
} errors[] = {
    { 0x80, "not listening on called name" },
    { 0x81, "not listening for calling name" },
    { 0x82, "called name not present" },
    { 0x83, "called name present, but insufficient resources" },
    { 0x8f, "unspecified error" },
};

const char *nbss_error_text(uint8_t code)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == code)
            return errors[i].text;
    return NULL;
}

static const char *const status_texts[NBSS_STATUS_COUNT] = {
    [NBSS_OK] = "ok",
    [NBSS_BAD_LENGTH] = "length does not match the message type",
    [NBSS_TRUNCATED] = "message truncated",
    [NBSS_BAD_NAME] = "malformed NetBIOS name",
    [NBSS_RESERVED_FLAGS] = "reserved flag bits set",
    [NBSS_NOT_CONTROL] = "not a control message",
};

const char *nbss_status_text(enum nbss_status st)
{
    return (unsigned)st < NBSS_STATUS_COUNT ? status_texts[st] : "unknown";
}
