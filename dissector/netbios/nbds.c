/* nbds.c - NetBIOS datagram service messages (RFC 1002 4.4). */
#include "nbns.h"

#include <string.h>

#include "wire.h"

static void note(struct nbds_msg *m, enum nbds_status st)
{
    if (m->status == NBDS_OK)
        m->status = st;
}

enum nbds_status nbds_decode(const uint8_t *p, size_t n, struct nbds_msg *m)
{
    memset(m, 0, sizeof *m);
    /* Names not reached (short datagram, or a type without them) must not
     * read as decoded: NBNAME_OK is 0. */
    m->src_status = m->dst_status = NBNAME_TRUNCATED;
    struct wire w = wire_make(p, n);
    m->type = wire_u8(&w);
    m->flags = wire_u8(&w);
    m->dgm_id = wire_u16be(&w);
    m->src_ipv4 = wire_u32be(&w);
    m->src_port = wire_u16be(&w);
    if (!wire_ok(&w)) {
        m->status = NBDS_TRUNCATED;
        return m->status;
    }
    switch (m->type) {
    case NBDS_DIRECT_UNIQUE:
    case NBDS_DIRECT_GROUP:
    case NBDS_BROADCAST: {
        m->dgm_length = wire_u16be(&w);
        m->packet_offset = wire_u16be(&w);
        if (!wire_ok(&w)) {
            note(m, NBDS_TRUNCATED);
            break;
        }
        size_t names_start = w.off;
        m->src_status = nbname_decode(&w, false, &m->src);
        m->dst_status = nbname_decode(&w, false, &m->dst);
        if (!wire_ok(&w)) {
            note(m, NBDS_TRUNCATED);
            break;
        }
        if (m->src_status != NBNAME_OK || m->dst_status != NBNAME_OK)
            note(m, NBDS_BAD_NAME);
        m->user_offset = w.off;
        m->user_len = wire_left(&w);
        /* DGM_LENGTH counts the names and user data (bytes after
         * PACKET_OFFSET). */
        if ((size_t)m->dgm_length != n - names_start)
            note(m, NBDS_BAD_LENGTH);
        break;
    }
    case NBDS_ERROR:
        m->error_code = wire_u8(&w);
        if (!wire_ok(&w))
            note(m, NBDS_TRUNCATED);
        break;
    case NBDS_QUERY_REQUEST:
    case NBDS_POSITIVE_QUERY:
    case NBDS_NEGATIVE_QUERY:
        m->dst_status = nbname_decode(&w, false, &m->dst);
        if (!wire_ok(&w))
            note(m, NBDS_TRUNCATED);
        else if (m->dst_status != NBNAME_OK)
            note(m, NBDS_BAD_NAME);
        break;
    default:
        note(m, NBDS_UNKNOWN_TYPE);
        break;
    }
    return m->status;
}

static const struct {
    uint8_t type;
    const char *name;
} types[] = {
    { NBDS_DIRECT_UNIQUE, "direct unique datagram" },
    { NBDS_DIRECT_GROUP, "direct group datagram" },
    { NBDS_BROADCAST, "broadcast datagram" },
    { NBDS_ERROR, "datagram error" },
    { NBDS_QUERY_REQUEST, "datagram query request" },
    { NBDS_POSITIVE_QUERY, "datagram positive query response" },
    { NBDS_NEGATIVE_QUERY, "datagram negative query response" },
};

const char *nbds_type_name(uint8_t type)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].type == type)
            return types[i].name;
    return NULL;
}

static const struct {
    uint8_t code;
    const char *text;
} errors[] = {
    { 0x82, "destination name not present" },
    { 0x83, "invalid source name format" },
    { 0x84, "invalid destination name format" },
};

const char *nbds_error_text(uint8_t code)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == code)
            return errors[i].text;
    return NULL;
}

static const char *const status_texts[NBDS_STATUS_COUNT] = {
    [NBDS_OK] = "ok",
    [NBDS_TRUNCATED] = "datagram truncated",
    [NBDS_BAD_NAME] = "malformed name",
    [NBDS_UNKNOWN_TYPE] = "unknown datagram type",
    [NBDS_BAD_LENGTH] = "datagram length field disagrees with the bytes present",
};

const char *nbds_status_text(enum nbds_status st)
{
    return (unsigned)st < NBDS_STATUS_COUNT ? status_texts[st] : "unknown";
}
