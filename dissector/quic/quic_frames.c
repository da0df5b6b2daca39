/* quic_frames.c - QUIC frame walker; see quic_frames.h. */
#include "quic_frames.h"

#include <string.h>

typedef bool (*frame_parser)(struct wire *w, uint64_t type, const struct quic_frame_sink *s,
    struct quic_frame_stats *st);

static bool p_padding(struct wire *w, uint64_t type, const struct quic_frame_sink *s, struct quic_frame_stats *st)
{
    (void)type, (void)s;
    st->padding++;
    while (wire_left(w) && wire_peek_u8(w, 0) == 0) /* a run of PADDING counts as one */
        wire_skip(w, 1);
    return true;
}

static bool p_ack(struct wire *w, uint64_t type, const struct quic_frame_sink *s, struct quic_frame_stats *st)
{
    (void)s;
    st->ack++;
    quic_varint(w); /* largest acknowledged */
    quic_varint(w); /* delay */
    uint64_t ranges = quic_varint(w);
    quic_varint(w); /* first range */
    for (uint64_t i = 0; i < ranges && wire_ok(w); i++) {
        quic_varint(w);
        quic_varint(w);
    }
    if (type == 0x03) { /* ECN counts */
        quic_varint(w);
        quic_varint(w);
        quic_varint(w);
    }
    return wire_ok(w);
}

static bool p_crypto(struct wire *w, uint64_t type, const struct quic_frame_sink *s, struct quic_frame_stats *st)
{
    (void)type;
    uint64_t off = quic_varint(w), len = quic_varint(w);
    if (!wire_ok(w) || len > wire_left(w))
        return false;
    const uint8_t *data = wire_bytes(w, (size_t)len);
    st->crypto++;
    if (s && s->crypto)
        s->crypto(s->ctx, off, data, (size_t)len);
    return true;
}

static bool p_stream(struct wire *w, uint64_t type, const struct quic_frame_sink *s, struct quic_frame_stats *st)
{
    uint64_t id = quic_varint(w);
    uint64_t off = (type & 0x04) ? quic_varint(w) : 0;
    uint64_t len = (type & 0x02) ? quic_varint(w) : wire_left(w);
    if (!wire_ok(w) || len > wire_left(w))
        return false;
    const uint8_t *data = wire_bytes(w, (size_t)len);
    st->stream++;
    if (s && s->stream)
        s->stream(s->ctx, id, off, data, (size_t)len, (type & 0x01) != 0);
    return true;
}

static bool p_new_token(struct wire *w, uint64_t type, const struct quic_frame_sink *s, struct quic_frame_stats *st)
{
    (void)type, (void)s;
    uint64_t len = quic_varint(w);
    st->other++;
    return wire_ok(w) && len <= wire_left(w) && wire_skip(w, (size_t)len);
}

static bool p_new_cid(struct wire *w, uint64_t type, const struct quic_frame_sink *s, struct quic_frame_stats *st)
{
    (void)type;
    uint64_t seq = quic_varint(w);
    quic_varint(w); /* retire prior to */
    struct quic_cid cid = { 0 };
    cid.len = wire_u8(w);
    if (!wire_ok(w) || cid.len < 1 || cid.len > QUIC_MAX_CID)
        return false;
    const uint8_t *id = wire_bytes(w, cid.len);
    if (!id || !wire_skip(w, 16)) /* stateless reset token */
        return false;
    memcpy(cid.id, id, cid.len);
    st->new_cid++;
    if (s && s->new_cid)
        s->new_cid(s->ctx, seq, &cid);
    return true;
}

static bool p_close(struct wire *w, uint64_t type, const struct quic_frame_sink *s, struct quic_frame_stats *st)
{
    uint64_t code = quic_varint(w);
    if (type == 0x1c)
        quic_varint(w); /* offending frame type */
    uint64_t reason = quic_varint(w);
    if (!wire_ok(w) || reason > wire_left(w) || !wire_skip(w, (size_t)reason))
        return false;
    st->close++;
    if (s && s->close)
        s->close(s->ctx, code, type == 0x1d);
    return true;
}

static bool p_datagram(struct wire *w, uint64_t type, const struct quic_frame_sink *s, struct quic_frame_stats *st)
{
    (void)s;
    uint64_t len = (type & 1) ? quic_varint(w) : wire_left(w);
    st->other++;
    return wire_ok(w) && len <= wire_left(w) && wire_skip(w, (size_t)len);
}

/* Frames that are only varints (and fixed bytes) after the type. */
static const struct frame_row {
    uint64_t lo, hi;
    const char *name;
    frame_parser parse; /* NULL: `varints` varints then `fixed` bytes */
    uint8_t varints, fixed;
} frames[] = {
    { 0x00, 0x00, "PADDING", p_padding, 0, 0 },
    { 0x01, 0x01, "PING", NULL, 0, 0 },
    { 0x02, 0x03, "ACK", p_ack, 0, 0 },
    { 0x04, 0x04, "RESET_STREAM", NULL, 3, 0 },
    { 0x05, 0x05, "STOP_SENDING", NULL, 2, 0 },
    { 0x06, 0x06, "CRYPTO", p_crypto, 0, 0 },
    { 0x07, 0x07, "NEW_TOKEN", p_new_token, 0, 0 },
    { 0x08, 0x0f, "STREAM", p_stream, 0, 0 },
    { 0x10, 0x10, "MAX_DATA", NULL, 1, 0 },
    { 0x11, 0x11, "MAX_STREAM_DATA", NULL, 2, 0 },
    { 0x12, 0x13, "MAX_STREAMS", NULL, 1, 0 },
    { 0x14, 0x14, "DATA_BLOCKED", NULL, 1, 0 },
    { 0x15, 0x15, "STREAM_DATA_BLOCKED", NULL, 2, 0 },
    { 0x16, 0x17, "STREAMS_BLOCKED", NULL, 1, 0 },
    { 0x18, 0x18, "NEW_CONNECTION_ID", p_new_cid, 0, 0 },
    { 0x19, 0x19, "RETIRE_CONNECTION_ID", NULL, 1, 0 },
    { 0x1a, 0x1b, "PATH_CHALLENGE", NULL, 0, 8 },
    { 0x1c, 0x1d, "CONNECTION_CLOSE", p_close, 0, 0 },
    { 0x1e, 0x1e, "HANDSHAKE_DONE", NULL, 0, 0 },
    { 0x30, 0x31, "DATAGRAM", p_datagram, 0, 0 }, /* RFC 9221 */
};

static const struct frame_row *frame_row(uint64_t type)
{
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++)
        if (type >= frames[i].lo && type <= frames[i].hi)
            return &frames[i];
    return NULL;
}

const char *quic_frame_name(uint64_t type)
{
    const struct frame_row *r = frame_row(type);
    return r ? r->name : NULL;
}

bool quic_frames_walk(const uint8_t *payload, size_t len, const struct quic_frame_sink *sink,
    struct quic_frame_stats *st)
{
    struct wire w = wire_make(payload, len);
    while (wire_left(&w)) {
        uint64_t type = quic_varint(&w);
        const struct frame_row *r = wire_ok(&w) ? frame_row(type) : NULL;
        if (!r) {
            st->malformed = true;
            return false;
        }
        st->frames++;
        bool ok;
        if (r->parse) {
            ok = r->parse(&w, type, sink, st);
        } else {
            for (unsigned i = 0; i < r->varints; i++)
                quic_varint(&w);
            wire_skip(&w, r->fixed);
            ok = wire_ok(&w);
            if (type == 0x01)
                st->ping++;
            else if (type == 0x1e)
                st->handshake_done++;
            else
                st->other++;
        }
        if (!ok || !wire_ok(&w)) {
            st->malformed = true;
            return false;
        }
    }
    return true;
}
