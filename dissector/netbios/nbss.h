/* nbss.h - NetBIOS session service control messages (RFC 1002 4.3).
 *
 * The 4-byte header (type, flags, 16-bit length; flags bit 0x01 is the E
 * length extension) has the same layout as MS-SMB2 2.1 direct TCP (0x00 +
 * 24-bit length), so the framer reads lengths as 24 bits everywhere and this
 * file only judges control messages (0x81..0x85). */
#ifndef SMBSCOPE_NBSS_H
#define SMBSCOPE_NBSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "nbname.h"

#define NBSS_HEADER_LEN 4

enum nbss_status {
    NBSS_OK = 0,
    NBSS_BAD_LENGTH,     /* length field differs from what the type requires */
    NBSS_TRUNCATED,      /* fewer body bytes than the length field says */
    NBSS_BAD_NAME,       /* a session request name did not decode */
    NBSS_RESERVED_FLAGS, /* flags bits other than E set */
    NBSS_NOT_CONTROL,    /* type is not 0x81..0x85 */
    NBSS_STATUS_COUNT
};

/* A decoded control message.  Fields beyond type/flags/length are valid for
 * the type that uses them. */
struct nbss_control {
    uint8_t type;              /* enum nbss_type */
    uint8_t flags;             /* the raw second byte */
    uint32_t length;           /* 17-bit RFC length (E bit + 16 bits) */
    enum nbss_status status;   /* worst problem found */
    /* 0x81 session request */
    struct nbname called, calling;
    enum nbname_status called_status, calling_status;
    /* 0x83 negative response */
    uint8_t error_code;
    /* 0x84 retarget response: address as on the wire (big endian value) */
    uint32_t retarget_ipv4;
    uint16_t retarget_port;
};

/* Decode a complete control message: msg holds the 4-byte header and the
 * body (len bytes in all).  Never fails hard: returns the status also stored
 * in out->status. */
enum nbss_status nbss_control_decode(const uint8_t *msg, size_t len, struct nbss_control *out);

/* The same, for a header already parsed and a body that may be a prefix
 * (body_len < length is reported as NBSS_TRUNCATED). */
enum nbss_status nbss_control_decode_parts(uint8_t type, uint8_t flags, uint32_t length,
                                           const uint8_t *body, size_t body_len,
                                           struct nbss_control *out);

/* The body length a control type must have: 0, 1, 6; -1 for "variable"
 * (session request) or not a control type. */
int nbss_control_fixed_length(uint8_t type);

/* Negative session response error codes (RFC 1002 4.3.4), NULL if unknown. */
const char *nbss_error_text(uint8_t code);

const char *nbss_status_text(enum nbss_status st);

#endif
