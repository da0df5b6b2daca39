/* framer.h - streaming framer for one direction of an SMB TCP connection.
 *
 * Fed the bytes of ONE TCP direction in whatever pieces reassembly delivers
 * (down to one byte at a time) and told about gaps.  It splits the stream at
 * the 4-byte header shared by NBSS (RFC 1002 4.3.1: type, flags/E bit,
 * length) and MS-SMB2 2.1 direct TCP (0x00 + 24-bit length), hands complete
 * NBSS control messages and wanted prefixes of session messages to
 * callbacks, and resynchronises after a gap or when a capture starts
 * mid-connection by scanning for a plausible header.
 *
 * Memory: a framer is a small fixed struct; it allocates only when a wanted
 * message prefix longer than FRAMER_HEAD spans chunks, into one buffer that
 * grows up to a cap and is freed by framer_reset()/framer_free(). */
#ifndef SMBSCOPE_FRAMER_H
#define SMBSCOPE_FRAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "nbss.h"

#define FRAMER_HEAD 72                    /* bytes shown to want(): SMB2 header + 8 */
#define FRAMER_DEFAULT_CAP (64u * 1024u)  /* largest prefix buffered across chunks */
#define FRAMER_CONTROL_MAX 1024u          /* control message bytes kept for decoding */

enum framer_anomaly {
    FRAMER_AN_CONTROL_LENGTH = 0, /* control message length wrong for its type; detail = type<<24 | length */
    FRAMER_AN_UNKNOWN_TYPE,       /* header type byte not NBSS; detail = the 4 header bytes; resync follows */
    FRAMER_AN_RESYNC,             /* a plausible header found again; detail = bytes skipped */
    FRAMER_AN_GAP_LOST_SYNC,      /* a gap hit where we could not stay aligned; detail = gap bytes */
    FRAMER_AN_MESSAGE_CUT,        /* a gap cut a message we were collecting; detail = message length */
    FRAMER_AN_LENGTH_OVER_17BIT,  /* session message length > 0x1FFFF; detail = length */
    FRAMER_AN_PREFIX_CAPPED,      /* want() asked more than the cap; detail = bytes asked */
    FRAMER_AN_NOT_SMB,            /* session message without an SMB protocol id; detail = first bytes */
    FRAMER_AN_NO_MEMORY,          /* buffer growth failed: prefix delivered shorter; detail = bytes */
    FRAMER_AN_COUNT
};

/* Flags passed to message(). */
enum framer_msg_flag {
    FRAMER_MSG_COMPLETE = 1u << 0, /* avail == msg_len */
    FRAMER_MSG_PREFIX = 1u << 1,   /* the consumer (or the cap) wanted only a prefix */
    FRAMER_MSG_CUT = 1u << 2,      /* a gap cut the message before the wanted bytes arrived */
    FRAMER_MSG_SMB = 1u << 3,      /* payload starts with 0xFF/FE/FD/FC 'SMB' */
};

struct framer_callbacks {
    /* A complete (or length-capped) NBSS control message 0x81..0x85. body
     * excludes the 4-byte header; decoded->status tells whether it was sane. */
    void (*control)(void *ctx, uint8_t type, const uint8_t *body, size_t body_len,
                    const struct nbss_control *decoded);
    /* OPTIONAL.  Called once the first min(msg_len, FRAMER_HEAD) payload
     * bytes of a session message are available; returns how many payload
     * bytes to buffer and pass to message().  NULL: min(msg_len, cap). */
    size_t (*want)(void *ctx, const uint8_t *head, size_t head_len, uint32_t msg_len);
    /* The wanted prefix of a session message's payload (after the 4-byte
     * header).  flags: enum framer_msg_flag.  Pointer valid only during the
     * call (it may point into the caller's chunk: zero copy). */
    void (*message)(void *ctx, const uint8_t *msg, size_t avail, uint32_t msg_len, unsigned flags);
    /* OPTIONAL. Something odd; never fatal. */
    void (*anomaly)(void *ctx, enum framer_anomaly an, uint64_t detail);
};

struct framer_stats {
    uint64_t bytes;          /* bytes fed (gaps excluded) */
    uint64_t gap_bytes;      /* bytes reported missing */
    uint64_t skipped_bytes;  /* bytes discarded while resynchronising */
    uint64_t messages;       /* session messages whose header was read */
    uint64_t controls;       /* control messages whose header was read */
    uint64_t resyncs;        /* times sync was found again after losing it */
    uint64_t anomalies;
    /* The first header found (a scan begins every stream): the bytes
     * skipped before it (smbscope merge: the rest of a message an earlier
     * capture of the connection ended inside). */
    uint64_t lead_skipped;
    bool lead_found;
};

enum framer_state {
    FRAMER_HEADER = 0,   /* collecting a 4-byte header */
    FRAMER_HEADBYTES,    /* collecting the head of a session message for want() */
    FRAMER_BODY,         /* collecting the wanted prefix of a session message */
    FRAMER_CONTROL,      /* collecting a control message body */
    FRAMER_SKIP,         /* discarding the unwanted rest of a message */
    FRAMER_RESYNC,       /* scanning for a plausible header */
};

struct framer {
    struct framer_callbacks cb;
    void *ctx;
    struct transport_obs *obs;  /* shared by both directions; may be NULL */
    size_t cap;
    enum framer_state state;
    uint8_t hdr[4];
    uint8_t hdr_have;
    uint8_t type;
    uint32_t msg_len;           /* payload length from the header */
    uint32_t consumed;          /* payload bytes of this message consumed so far */
    uint32_t target;            /* payload bytes to collect in this state */
    uint32_t skip_left;         /* FRAMER_SKIP: bytes still to discard */
    unsigned msg_flags;
    bool stored_in_buf;         /* collected bytes live in buf (else in head) */
    uint8_t head[FRAMER_HEAD];  /* head (or short control body) spanning chunks */
    uint8_t carry[20];          /* RESYNC: candidate bytes spanning chunks (>= 4+6+8) */
    uint8_t carry_len;
    uint64_t skipped_run;       /* bytes skipped in the current resync */
    uint8_t *buf;               /* prefix buffer, grown up to cap */
    size_t buf_size;
    struct framer_stats stats;
};

/* midstream: the capture did not see the start of this direction, so scan
 * for a header instead of trusting the first byte.  obs may be NULL. */
void framer_init(struct framer *f, const struct framer_callbacks *cb, void *ctx,
                 struct transport_obs *obs, bool midstream);
/* Largest prefix buffered across chunks (default FRAMER_DEFAULT_CAP); at
 * least FRAMER_CONTROL_MAX. */
void framer_set_cap(struct framer *f, size_t cap);

/* Feed the next n bytes of the stream. */
void framer_feed(struct framer *f, const uint8_t *p, size_t n);
/* n bytes of the stream are missing (lost or not captured). */
void framer_gap(struct framer *f, uint64_t n);
/* The stream ended: a short control message found while scanning, that
 * waited for the header that must follow it, is taken when it is the
 * last thing the stream held (framer_resync.c). */
void framer_end(struct framer *f);
/* Upcoming bytes the framer would discard anyway (the unwanted rest of a
 * message): a reassembler may drop up to this many and call framer_skip(). */
uint64_t framer_skippable(const struct framer *f);
/* The caller dropped n bytes without feeding them (normally n <=
 * framer_skippable()); any excess over the skippable bytes is a gap. */
void framer_skip(struct framer *f, uint64_t n);
/* The next n bytes of the stream (n <= framer_skippable()) went by, not
 * shown: the same as framer_feed() of them (they count in stats.bytes),
 * without the bytes.  A reassembler that keeps them off its callbacks
 * (reasm_pass()) tells their number here. */
void framer_passed(struct framer *f, uint64_t n);

/* Bytes to the end of the message the stream stands in (0: at a header;
 * UINT64_MAX: not known, scanning or inside a header). */
uint64_t framer_message_left(const struct framer *f);

/* Forget the stream position (next byte is a header if !midstream) and free
 * the buffer; callbacks, obs and cap are kept, stats are cleared. */
void framer_reset(struct framer *f, bool midstream);
void framer_free(struct framer *f);

const struct framer_stats *framer_stats(const struct framer *f);
/* "bad control length", ... */
const char *framer_anomaly_name(enum framer_anomaly an);

/* True if p[0..4) is an SMB protocol id (0xFF/0xFE/0xFD/0xFC 'S' 'M' 'B'). */
bool framer_is_smb_id(const uint8_t *p, size_t n);

#endif
