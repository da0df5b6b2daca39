/* quic_wire.c - QUIC header parsing; see quic_wire.h. */
#include "quic_wire.h"

#include <string.h>

static const struct quic_version_info versions[] = {
    { QUIC_VERSION_1, "1",
      { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
        0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a },
      "quic key", "quic iv", "quic hp", "quic ku",
      { QUIC_PKT_INITIAL, QUIC_PKT_0RTT, QUIC_PKT_HANDSHAKE, QUIC_PKT_RETRY } },
    /* RFC 9369 3.2: v2 renumbers the long header types. */
    { QUIC_VERSION_2, "2",
      { 0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
        0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9 },
      "quicv2 key", "quicv2 iv", "quicv2 hp", "quicv2 ku",
      { QUIC_PKT_RETRY, QUIC_PKT_INITIAL, QUIC_PKT_0RTT, QUIC_PKT_HANDSHAKE } },
};

const struct quic_version_info *quic_version_lookup(uint32_t version)
{
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
        if (versions[i].version == version)
            return &versions[i];
    return NULL;
}

const char *quic_version_name(uint32_t version)
{
    if (version == 0)
        return "negotiation";
    const struct quic_version_info *v = quic_version_lookup(version);
    return v ? v->name : NULL;
}

static const char *const pkt_type_names[QUIC_PKT_TYPE_COUNT] = {
    [QUIC_PKT_INITIAL] = "initial",
    [QUIC_PKT_0RTT] = "0-rtt",
    [QUIC_PKT_HANDSHAKE] = "handshake",
    [QUIC_PKT_RETRY] = "retry",
    [QUIC_PKT_VERSION_NEG] = "version-negotiation",
    [QUIC_PKT_SHORT] = "1-rtt",
    [QUIC_PKT_OTHER_VERSION] = "other",
};

const char *quic_pkt_type_name(enum quic_pkt_type type)
{
    return (unsigned)type < QUIC_PKT_TYPE_COUNT ? pkt_type_names[type] : "other";
}

uint64_t quic_varint(struct wire *w)
{
    uint8_t first = wire_peek_u8(w, 0);
    size_t n = (size_t)1 << (first >> 6);
    const uint8_t *q = wire_bytes(w, n);
    if (!q)
        return 0;
    uint64_t v = q[0] & 0x3f;
    for (size_t i = 1; i < n; i++)
        v = (v << 8) | q[i];
    return v;
}

bool quic_cid_equal(const struct quic_cid *a, const struct quic_cid *b)
{
    return a->len == b->len && memcmp(a->id, b->id, a->len) == 0;
}

static bool read_cid(struct wire *w, struct quic_cid *cid)
{
    uint8_t n = wire_u8(w);
    if (n > QUIC_MAX_CID)
        return false;
    const uint8_t *q = wire_bytes(w, n);
    if (!q)
        return false;
    cid->len = n;
    memcpy(cid->id, q, n);
    return true;
}

/* Initial, 0-RTT and Handshake: [token] length pn payload (RFC 9000 17.2). */
static bool parse_long_body(struct wire *w, struct quic_header *h)
{
    if (h->type == QUIC_PKT_INITIAL) {
        uint64_t tlen = quic_varint(w);
        if (!wire_ok(w) || tlen > wire_left(w))
            return false;
        h->token_off = w->off;
        h->token_len = (size_t)tlen;
        wire_skip(w, (size_t)tlen);
    }
    uint64_t length = quic_varint(w);
    if (!wire_ok(w) || length > wire_left(w) || length < 1)
        return false;
    h->pn_off = w->off;
    h->packet_len = w->off + (size_t)length;
    return true;
}

static bool parse_long(const uint8_t *p, size_t len, struct quic_header *h)
{
    struct wire w = wire_make(p, len);
    uint8_t first = wire_u8(&w);
    h->long_form = true;
    h->version = wire_u32be(&w);
    if (!read_cid(&w, &h->dcid) || !read_cid(&w, &h->scid) || !wire_ok(&w))
        return false;
    if (h->version == 0) { /* RFC 9000 17.2.1: the rest is a version list */
        h->type = QUIC_PKT_VERSION_NEG;
        h->pn_off = w.off;
        h->packet_len = len;
        return (wire_left(&w) % 4) == 0 && wire_left(&w) > 0;
    }
    h->vinfo = quic_version_lookup(h->version);
    if (!h->vinfo) {
        h->type = QUIC_PKT_OTHER_VERSION;
        h->packet_len = len;
        return true;
    }
    if (!(first & 0x40)) /* fixed bit */
        return false;
    h->type = h->vinfo->long_type[(first >> 4) & 3];
    if (h->type == QUIC_PKT_RETRY) { /* token then a 16-byte integrity tag */
        if (wire_left(&w) < 16)
            return false;
        h->token_off = w.off;
        h->token_len = wire_left(&w) - 16;
        h->packet_len = len;
        return true;
    }
    return parse_long_body(&w, h);
}

bool quic_parse_header(const uint8_t *p, size_t len, size_t short_dcid_len, struct quic_header *h)
{
    memset(h, 0, sizeof *h);
    if (!p || len < 1)
        return false;
    if (p[0] & 0x80)
        return parse_long(p, len, h);
    if (!(p[0] & 0x40) || short_dcid_len > QUIC_MAX_CID || len < 1 + short_dcid_len + 1)
        return false;
    h->type = QUIC_PKT_SHORT;
    h->dcid.len = (uint8_t)short_dcid_len;
    memcpy(h->dcid.id, p + 1, short_dcid_len);
    h->pn_off = 1 + short_dcid_len;
    h->packet_len = len; /* a short header packet runs to the datagram's end */
    return true;
}

bool quic_looks_long(const uint8_t *p, size_t len)
{
    if (!p || len < 7 || !(p[0] & 0x80))
        return false;
    uint32_t version = load_u32be(p + 1);
    if (version != 0 && (!(p[0] & 0x40) || !quic_version_lookup(version)))
        return false;
    size_t dl = p[5];
    if (dl > QUIC_MAX_CID || len < 7 + dl)
        return false;
    return p[6 + dl] <= QUIC_MAX_CID;
}

size_t quic_vn_versions(const uint8_t *p, size_t len, const struct quic_header *h, uint32_t *out, size_t max)
{
    if (h->type != QUIC_PKT_VERSION_NEG || h->pn_off > len)
        return 0;
    struct wire w = wire_make(p + h->pn_off, len - h->pn_off);
    size_t n = 0;
    while (wire_left(&w) >= 4) {
        uint32_t v = wire_u32be(&w);
        if (n < max)
            out[n++] = v;
    }
    return n;
}
