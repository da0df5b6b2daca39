/* quic_frames.h - walk the frames of a decrypted QUIC packet (RFC 9000 19).
 *
 * Frame layouts are one table (type range, name, how many varints follow,
 * or a parser for the frames that carry data); what a caller cares about is
 * handed to a sink. Pure C11, reads via wire.h. */
#ifndef SMBSCOPE_QUIC_FRAMES_H
#define SMBSCOPE_QUIC_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quic_wire.h"

struct quic_frame_sink {
    void *ctx;
    void (*crypto)(void *ctx, uint64_t offset, const uint8_t *data, size_t len);
    void (*stream)(void *ctx, uint64_t stream_id, uint64_t offset, const uint8_t *data, size_t len, bool fin);
    void (*new_cid)(void *ctx, uint64_t seq, const struct quic_cid *cid);
    void (*close)(void *ctx, uint64_t error_code, bool application);
};

struct quic_frame_stats {
    uint32_t frames;
    uint32_t padding, ping, ack, crypto, stream, new_cid, close, handshake_done, other;
    bool malformed; /* a frame ran past the packet or had an unknown type */
};

/* Walk all frames of payload[0..len); stats are added to.  Returns false on
 * a malformed frame (frames before it were delivered). */
bool quic_frames_walk(const uint8_t *payload, size_t len, const struct quic_frame_sink *sink,
    struct quic_frame_stats *stats);

/* "PADDING", "CRYPTO", "STREAM", ... or NULL for an unknown type. */
const char *quic_frame_name(uint64_t type);

#endif
