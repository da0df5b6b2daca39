/* classify.h - the one transport classification of an SMB connection.
 *
 * The command and the Wireshark plugin both fill a transport_obs from what
 * they saw and call transport_classify(); neither decides on its own. */
#ifndef SMBSCOPE_CLASSIFY_H
#define SMBSCOPE_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum transport_class {
    TRANSPORT_NONE = 0,            /* no SMB and no NBSS seen: not an SMB connection */
    TRANSPORT_DIRECT,              /* MS-SMB2 2.1 direct TCP transport */
    TRANSPORT_NBT,                 /* RFC 1002 session service (port 139 or handshake) */
    TRANSPORT_NBT_NONSTANDARD_PORT,/* NBSS control messages on a port other than 139 */
    TRANSPORT_UNKNOWN_START,       /* began mid-connection: handshake unseen */
    TRANSPORT_QUIC,                /* SMB over QUIC (MS-SMB2 2.1): ALPN "smb" */
    TRANSPORT_RDMA_IWARP,          /* SMB Direct (MS-SMBD) over iWARP: MPA/DDP/RDMAP on TCP */
    TRANSPORT_RDMA_ROCE,           /* SMB Direct (MS-SMBD) over RoCEv2: InfiniBand BTH on UDP 4791 */
    TRANSPORT_CLASS_COUNT
};

#define SMBD_IWARP_PORT 5445       /* MS-SMBD's TCP port for iWARP */
#define ROCEV2_UDP_PORT 4791
#define SMB_QUIC_ALPN "smb"        /* the ALPN protocol id of SMB over QUIC (MS-SMB2 2.1) */

/* NBSS message types (RFC 1002 4.3.1). */
enum nbss_type {
    NBSS_SESSION_MESSAGE = 0x00,
    NBSS_SESSION_REQUEST = 0x81,
    NBSS_POSITIVE_RESPONSE = 0x82,
    NBSS_NEGATIVE_RESPONSE = 0x83,
    NBSS_RETARGET_RESPONSE = 0x84,
    NBSS_KEEPALIVE = 0x85,
};

#define NBSS_MAX_LENGTH 0x1ffffu  /* 17-bit length: the most NBSS can carry (RFC 1002 4.3.1) */

/* What carries the SMB bytes.  TCP is the zero value, so every TCP
 * observation stays what it was. */
enum transport_carrier {
    CARRIER_TCP = 0,
    CARRIER_QUIC,                 /* a QUIC connection whose ClientHello offered ALPN "smb" */
    CARRIER_RDMA_IWARP,           /* SMB Direct: MPA key at the start of a TCP stream, or mid-stream FPDUs; any port */
    CARRIER_RDMA_ROCE,            /* SMB Direct: RoCEv2 on UDP 4791 */
    CARRIER_COUNT
};

/* What one connection showed, both directions together. */
struct transport_obs {
    enum transport_carrier carrier;
    uint16_t server_port;
    bool handshake_seen;          /* TCP SYN or SYN-ACK of this connection captured */
    uint32_t session_messages;    /* 0x00 messages (SMB or not) */
    uint32_t smb_messages;        /* messages whose payload starts with an SMB protocol id */
    uint32_t session_requests;    /* 0x81 */
    uint32_t positive_responses;  /* 0x82 */
    uint32_t negative_responses;  /* 0x83 */
    uint32_t retarget_responses;  /* 0x84 */
    uint32_t keepalives;          /* 0x85 */
    uint32_t largest_message;     /* largest length field seen on a session message */
    bool length_over_17bit;       /* a length > 0x1FFFF: impossible under NBSS (RFC 1002) */
    uint32_t smbd_negotiates;     /* SMB Direct negotiate request/response messages (RDMA carriers) */
    uint32_t smbd_data;           /* SMB Direct data transfer messages with data (RDMA carriers), the pieces of
                                   * SMB2 messages too (a part of a capture may hold only a message's middle) */
};

/* Why a class was chosen: a bit set, rendered by transport_evidence_text(). */
enum transport_evidence_bit {
    EV_NBSS_HANDSHAKE = 1u << 0,     /* session request / positive / negative / retarget seen */
    EV_NBSS_KEEPALIVE = 1u << 1,     /* 0x85 keep-alive seen */
    EV_PORT_139 = 1u << 2,           /* server port is 139 */
    EV_NO_TCP_HANDSHAKE = 1u << 3,   /* capture started after the SYN */
    EV_LENGTH_OVER_17BIT = 1u << 4,  /* a 24-bit length NBSS cannot carry */
    EV_DIRECT_FRAMING = 1u << 5,     /* only 0x00 + length framing seen */
    EV_KEEPALIVE_ON_DIRECT = 1u << 6,/* 0x85 on a direct connection (smbd does this on 445) */
    EV_ALT_PORT = 1u << 7,           /* server port is not the carrier's standard one (TCP 139/445, QUIC 443) */
    EV_QUIC_ALPN = 1u << 8,          /* QUIC connection offering ALPN "smb" */
    EV_RDMA_IWARP = 1u << 9,         /* MPA FPDUs carried SMBD (after a captured MPA startup, or mid-stream) */
    EV_RDMA_ROCE = 1u << 10,         /* RoCEv2 RC SENDs carried SMBD */
};

struct transport_verdict {
    enum transport_class cls;
    uint32_t evidence; /* enum transport_evidence_bit */
};

struct transport_verdict transport_classify(const struct transport_obs *obs);

/* Whether a server port is an alternative one for its class: not 139/445
 * for TCP SMB, not 5445 for SMB Direct over iWARP; RoCEv2 always uses 4791. */
bool transport_is_alt_port(enum transport_class cls, uint16_t server_port);

/* "direct", "nbt", "nbt-nonstandard-port", "unknown-start", "quic", "rdma-iwarp",
 * "rdma-roce" ("none" for NONE). */
const char *transport_class_name(enum transport_class cls);
/* A sentence for people: "NetBIOS session service on port 139". */
const char *transport_class_description(enum transport_class cls);

/* Comma-separated evidence phrases ("NBSS session request/response seen, port
 * 139"); returns buf. */
const char *transport_evidence_text(uint32_t evidence, char *buf, size_t buflen);

/* Count one NBSS header of this type and length field into o (the
 * counter of its type; for a session message also largest_message and
 * length_over_17bit).  False, nothing counted, if the byte is no NBSS type. */
bool transport_obs_count_nbss(struct transport_obs *o, uint8_t type, uint32_t len);

/* The standard server port of a carrier (TCP 445, QUIC 443). */
uint16_t transport_carrier_port(enum transport_carrier carrier);

/* Name of an NBSS message type ("session message", "session request", ...),
 * NULL if the byte is not an NBSS type. */
const char *nbss_type_name(uint8_t type);
/* Short token for JSON keys: "message", "request", "positive", "negative",
 * "retarget", "keepalive"; NULL if not an NBSS type. */
const char *nbss_type_key(uint8_t type);

#endif
