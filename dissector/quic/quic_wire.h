/* quic_wire.h - QUIC packet headers (RFC 8999, RFC 9000 17, RFC 9369 3).
 *
 * Parses the unprotected part of long and short headers, Retry and Version
 * Negotiation packets, and walks coalesced packets in one UDP datagram.
 * Versions are one table (salt, labels, long-header type codes) shared by
 * the header parser and the key derivation. Pure C11, reads via wire.h. */
#ifndef SMBSCOPE_QUIC_WIRE_H
#define SMBSCOPE_QUIC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define QUIC_MAX_CID 20
#define QUIC_VERSION_1 0x00000001u
#define QUIC_VERSION_2 0x6b3343cfu
/* RFC 9000 14.1: a client's Initial datagrams are at least this long. */
#define QUIC_MIN_INITIAL_DATAGRAM 1200u

struct quic_cid {
    uint8_t len;
    uint8_t id[QUIC_MAX_CID];
};

enum quic_pkt_type {
    QUIC_PKT_INITIAL = 0,
    QUIC_PKT_0RTT,
    QUIC_PKT_HANDSHAKE,
    QUIC_PKT_RETRY,
    QUIC_PKT_VERSION_NEG,
    QUIC_PKT_SHORT,
    QUIC_PKT_OTHER_VERSION, /* long header of a version we cannot parse past the CIDs */
    QUIC_PKT_TYPE_COUNT
};

/* One QUIC version: what differs between v1 and v2 (RFC 9369 3.1-3.3). */
struct quic_version_info {
    uint32_t version;
    const char *name;
    uint8_t initial_salt[20];
    const char *key_label, *iv_label, *hp_label, *ku_label;
    /* Long header type bits (0..3) -> enum quic_pkt_type. */
    enum quic_pkt_type long_type[4];
};

/* NULL for a version we have no table row for. */
const struct quic_version_info *quic_version_lookup(uint32_t version);
/* "1", "2", "negotiation" or NULL. */
const char *quic_version_name(uint32_t version);
/* "initial", "0-rtt", "handshake", "retry", "version-negotiation", "1-rtt", "other". */
const char *quic_pkt_type_name(enum quic_pkt_type type);

struct quic_header {
    enum quic_pkt_type type;
    bool long_form;
    uint32_t version;                      /* 0 for short headers and Version Negotiation */
    const struct quic_version_info *vinfo; /* NULL if unknown */
    struct quic_cid dcid, scid;
    size_t token_off, token_len;           /* Initial token, Retry token */
    size_t pn_off;                         /* protected packet number (Initial/0-RTT/Handshake/short) */
    size_t packet_len;                     /* bytes of this packet; a coalesced packet follows */
};

/* Decode a variable-length integer (RFC 9000 16). */
uint64_t quic_varint(struct wire *w);

/* Parse the header of the packet at p[0..len).  short_dcid_len is the
 * connection ID length the receiver uses (short headers do not carry it).
 * Returns false if p is not a well-formed QUIC packet header. */
bool quic_parse_header(const uint8_t *p, size_t len, size_t short_dcid_len, struct quic_header *h);

/* Cheap test used on every UDP datagram: a long header with the fixed bit
 * and a version from the table, or Version Negotiation; CID lengths legal. */
bool quic_looks_long(const uint8_t *p, size_t len);

/* Versions listed in a Version Negotiation packet: up to max into out. */
size_t quic_vn_versions(const uint8_t *p, size_t len, const struct quic_header *h, uint32_t *out, size_t max);

bool quic_cid_equal(const struct quic_cid *a, const struct quic_cid *b);

#endif
