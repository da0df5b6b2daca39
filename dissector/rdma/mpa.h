/* mpa.h - MPA (RFC 5044): the iWARP framing of DDP segments over a TCP stream.
 *
 * A connection starts with an MPA Request (initiator) and an MPA Reply
 * (responder): a 16-byte key, flags (Marker, CRC, Reject), a revision and
 * up to 512 bytes of private data.  Then each direction is a stream of FPDUs:
 * ULPDU_LENGTH (16 bits), the ULPDU (one DDP segment), a pad to 4 octets and
 * a CRC32c when negotiated; with markers negotiated, a 4-byte marker sits at
 * every 512th octet of the direction's FPDU stream (counted from its first
 * FPDU), its FPDUPTR giving the distance back to the start of its FPDU. */
#ifndef SMBSCOPE_MPA_H
#define SMBSCOPE_MPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MPA_KEY_LEN 16
#define MPA_STARTUP_HEADER 20
#define MPA_MAX_PRIVATE 512
#define MPA_MARKER_INTERVAL 512
#define MPA_MAX_ULPDU 65535u

enum mpa_frame_kind { MPA_NOT_MPA = 0, MPA_REQUEST, MPA_REPLY };

enum mpa_status {
    MPA_OK = 0,
    MPA_NEED_MORE, /* a prefix of a valid frame: feed more bytes */
    MPA_BAD,       /* not an MPA request/reply */
};

struct mpa_startup {
    enum mpa_frame_kind kind;
    bool markers;           /* M: the sender wants markers in FPDUs it receives */
    bool crc;               /* C: the sender wants CRC32c */
    bool reject;            /* R: the responder rejects the connection */
    uint8_t reserved;       /* the 5 reserved flag bits (must be 0) */
    uint8_t revision;       /* 1 (RFC 5044) or 2 (RFC 6581 enhanced) */
    uint16_t private_len;
    const uint8_t *private_data; /* into the input, private_len bytes */
    size_t frame_len;       /* MPA_STARTUP_HEADER + private_len */
};

/* Does a TCP stream start with an MPA key?  MPA_OK with *kind set when the
 * first 16 bytes are the request or reply key, MPA_NEED_MORE when the bytes
 * so far are a prefix of one, MPA_BAD otherwise. */
enum mpa_status mpa_key_match(const uint8_t *p, size_t n, enum mpa_frame_kind *kind);

/* Decode a complete request/reply at p; MPA_NEED_MORE until all of its
 * private data is there; MPA_BAD for a private data length over 512. */
enum mpa_status mpa_parse_startup(const uint8_t *p, size_t n, struct mpa_startup *out);

const char *mpa_frame_kind_name(enum mpa_frame_kind kind);

/* One direction's FPDU stream, fed whatever TCP delivers. */
enum mpa_rx_state { MPA_RX_LENGTH, MPA_RX_BODY, MPA_RX_PAD, MPA_RX_CRC };

struct mpa_rx {
    bool markers, crc;          /* as negotiated for this direction */
    uint64_t pos;               /* octets of the FPDU stream consumed (markers included) */
    uint64_t fpdu_start;        /* pos where the current FPDU began */
    bool in_fpdu;               /* between the first octet of an FPDU and its end */
    enum mpa_rx_state state;
    uint8_t hold[4];            /* partial length, CRC or marker */
    uint8_t hold_len;
    uint8_t marker_left;        /* octets of the current marker still to skip */
    uint8_t marker_bytes[4];
    uint16_t ulpdu_len;
    uint32_t body_got;
    uint8_t pad_left;
    uint32_t crc_reg;
    uint8_t *buf;               /* the caller's ULPDU buffer */
    size_t cap;                 /* its size; MPA_MAX_ULPDU never truncates */
    /* counters */
    uint64_t fpdus, crc_bad, markers_seen, marker_ptr_bad, truncated;
};

struct mpa_fpdu {
    const uint8_t *ulpdu;       /* into rx->buf */
    size_t len;                 /* bytes in ulpdu (< ulpdu_len when truncated) */
    uint16_t ulpdu_len;         /* the length field */
    bool crc_checked, crc_ok;
    bool truncated;             /* longer than the caller's buffer */
};

void mpa_rx_init(struct mpa_rx *rx, bool markers, bool crc, uint8_t *buf, size_t cap);

/* Consume bytes from p; stops right after the first complete FPDU (*got set,
 * *out filled; out->ulpdu is valid until the next call).  Returns the bytes
 * consumed; call again with the rest. */
size_t mpa_rx_feed(struct mpa_rx *rx, const uint8_t *p, size_t n, struct mpa_fpdu *out, bool *got);

#endif
