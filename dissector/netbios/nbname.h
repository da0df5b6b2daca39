/* nbname.h - NetBIOS names: first-level decoding (RFC 1001 14.1, RFC 1002
 * 4.1), scope labels, compression pointers (NBNS only), rendering and the
 * one table of 16th-byte suffix meanings.
 *
 * Pure C11, no allocation: a decoded name lives in a fixed struct. */
#ifndef SMBSCOPE_NBNAME_H
#define SMBSCOPE_NBNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define NBNAME_ENCODED_LEN 32   /* first label: 16 bytes, half-ASCII encoded */
#define NBNAME_MAX_WIRE 255     /* RFC 1001 14.1: whole encoded name, length octets included */
#define NBNAME_SCOPE_MAX 221    /* 255 - (1 + 32) - terminating 0 - first scope length octet */
#define NBNAME_MAX_POINTERS 16  /* compression pointers followed per name */
#define NBNAME_RENDER_MAX (15 * 4 + 4 + 1 + NBNAME_SCOPE_MAX * 4 + 1) /* worst case text incl. NUL */

enum nbname_status {
    NBNAME_OK = 0,
    NBNAME_TRUNCATED,        /* the bytes ended inside the name */
    NBNAME_BAD_LENGTH,       /* first label is not 32 bytes long */
    NBNAME_BAD_ENCODING,     /* a first-label character outside 'A'..'P' (decoded anyway) */
    NBNAME_TOO_LONG,         /* more than 255 bytes of encoded name (scope too long) */
    NBNAME_BAD_LABEL_TYPE,   /* label length byte 0x40..0xBF (reserved label types) */
    NBNAME_POINTER_NOT_ALLOWED, /* compression pointer where none is allowed (NBSS, NBDS) */
    NBNAME_BAD_POINTER,      /* pointer not strictly backwards (loop) or out of the message */
    NBNAME_TOO_MANY_POINTERS,
    NBNAME_STATUS_COUNT
};

struct nbname {
    uint8_t name[15];        /* raw name bytes, space padded as on the wire */
    uint8_t suffix;          /* 16th byte: the service type */
    uint8_t scope_len;       /* bytes in scope[] */
    uint8_t scope[NBNAME_SCOPE_MAX]; /* scope labels joined with '.', raw bytes */
    uint16_t wire_len;       /* bytes the name occupies at its position (pointer = 2) */
    uint8_t pointers;        /* compression pointers followed */
};

/* Decode the name at w's offset and advance w past it.  allow_pointers
 * enables RFC 1002 compression pointers (NBNS only); their offsets are
 * relative to w->p, so w must be a cursor over the whole NBNS message.  On
 * error w is left after the name if its end is known (so a caller may go on),
 * else exhausted (short_read); *out is filled as far as it could be. */
enum nbname_status nbname_decode(struct wire *w, bool allow_pointers, struct nbname *out);

/* Decode one first-level label payload (32 bytes 'A'..'P') into 16 bytes. */
bool nbname_decode_label(const uint8_t enc[NBNAME_ENCODED_LEN], uint8_t out16[16]);

/* Render "NAME<1c>" (suffix as two lower-case hex digits, as tshark does),
 * then ".scope" if any.  Trailing spaces of the 15 name bytes are trimmed;
 * bytes outside 0x21..0x7e (and '\\') are written as \xNN.  The wildcard
 * name ('*' + 15 NUL) renders as "*<00>".  Always NUL-terminates when
 * buflen > 0; returns the length the full text needs (like snprintf). */
size_t nbname_render(const struct nbname *n, char *buf, size_t buflen);

/* Same, for 15 raw bytes + suffix (node-status tables, NBDS). */
size_t nbname_render_raw(const uint8_t name15[15], uint8_t suffix, char *buf, size_t buflen);

/* What a 16th byte means.  group selects the group-name meaning where the
 * suffix is used both ways (0x00: workstation vs domain/workgroup name).
 * Returns NULL for a suffix not in the table. */
const char *nbname_suffix_meaning(uint8_t suffix, bool group);

/* "ok", "truncated", ... */
const char *nbname_status_text(enum nbname_status st);

#endif
