/* nbns.h - NetBIOS name service (RFC 1002 4.2, UDP 137) and datagram
 * service (RFC 1002 4.4, UDP 138) decoders.
 *
 * Each decoder fills a caller-provided fixed-size result: bounded arrays,
 * with counts of what did not fit.  No allocation. */
#ifndef SMBSCOPE_NBNS_H
#define SMBSCOPE_NBNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nbname.h"

#define NBNS_MAX_QUESTIONS 16
#define NBNS_MAX_RECORDS 16
#define NBNS_MAX_ADDRS 32        /* NB address entries over all records */
#define NBNS_MAX_NODE_NAMES 64   /* node status names over all records */

/* Header flag bits (the 16-bit word after the transaction id). */
#define NBNS_F_RESPONSE 0x8000u
#define NBNS_F_AA 0x0400u
#define NBNS_F_TC 0x0200u
#define NBNS_F_RD 0x0100u
#define NBNS_F_RA 0x0080u
#define NBNS_F_B 0x0010u

enum nbns_opcode {
    NBNS_OP_QUERY = 0,
    NBNS_OP_REGISTRATION = 5,
    NBNS_OP_RELEASE = 6,
    NBNS_OP_WACK = 7,
    NBNS_OP_REFRESH = 8,
    NBNS_OP_REFRESH_ALT = 9,
    NBNS_OP_MULTIHOMED = 15,
};

enum nbns_rr_type {
    NBNS_TYPE_A = 0x0001,
    NBNS_TYPE_NS = 0x0002,
    NBNS_TYPE_NULL = 0x000a,
    NBNS_TYPE_NB = 0x0020,
    NBNS_TYPE_NBSTAT = 0x0021,
};

/* NB address entry flags (RFC 1002 4.2.1.3 NB_FLAGS). */
#define NBNS_NB_GROUP 0x8000u
#define NBNS_NB_ONT_MASK 0x6000u   /* 0 B, 1 P, 2 M, 3 H node */
/* Node status name flags (RFC 1002 4.2.18 NAME_FLAGS). */
#define NBNS_NAME_GROUP 0x8000u
#define NBNS_NAME_DRG 0x1000u      /* deregistering */
#define NBNS_NAME_CNF 0x0800u      /* conflict */
#define NBNS_NAME_ACT 0x0400u      /* active */
#define NBNS_NAME_PRM 0x0200u      /* permanent */

enum nbns_status {
    NBNS_OK = 0,
    NBNS_TRUNCATED,    /* bytes ended before the counted sections */
    NBNS_BAD_NAME,     /* a name did not decode (see the entry's name_status) */
    NBNS_BAD_RDATA,    /* rdata length does not fit its type */
    NBNS_STATUS_COUNT
};

enum nbns_section { NBNS_ANSWER = 1, NBNS_AUTHORITY = 2, NBNS_ADDITIONAL = 3 };

struct nbns_question {
    struct nbname name;
    enum nbname_status name_status;
    uint16_t type, qclass;
};

struct nbns_addr {
    uint16_t flags;   /* NB_FLAGS: group, owner node type */
    uint32_t ipv4;    /* big-endian value as on the wire */
};

struct nbns_node_name {
    uint8_t name[15];
    uint8_t suffix;
    uint16_t flags;   /* NAME_FLAGS */
};

struct nbns_record {
    uint8_t section;          /* enum nbns_section */
    struct nbname name;
    enum nbname_status name_status;
    uint16_t type, rclass;
    uint32_t ttl;
    uint16_t rdlength;
    bool rdata_ok;            /* rdata matched its type's layout */
    /* NB: entries [addr_first, addr_first + addr_count) of nbns_msg.addrs;
     * A (IPv4 in rdata) is stored the same way with flags 0. */
    uint16_t addr_first, addr_count, addrs_dropped;
    /* NBSTAT: entries [node_first, node_first + node_count) of nbns_msg.nodes */
    uint8_t num_names;        /* NUM_NAMES as sent */
    uint16_t node_first, node_count, nodes_dropped;
    bool has_unit_id;
    uint8_t unit_id[6];       /* statistics: unit id (MAC address) */
    uint16_t wack_flags;      /* WACK rdata */
};

struct nbns_msg {
    uint16_t id;
    uint16_t flags;            /* the whole flags word */
    bool response;
    uint8_t opcode;            /* enum nbns_opcode */
    uint8_t rcode;
    uint16_t qdcount, ancount, nscount, arcount;
    struct nbns_question q[NBNS_MAX_QUESTIONS];
    uint16_t nq, q_dropped;
    struct nbns_record rr[NBNS_MAX_RECORDS];
    uint16_t nrr, rr_dropped;
    struct nbns_addr addrs[NBNS_MAX_ADDRS];
    uint16_t naddrs;
    struct nbns_node_name nodes[NBNS_MAX_NODE_NAMES];
    uint16_t nnodes;
    enum nbns_status status;   /* first problem found */
    size_t used;               /* bytes decoded */
};

/* Decode one NBNS message (the UDP payload).  Returns msg->status. */
enum nbns_status nbns_decode(const uint8_t *p, size_t n, struct nbns_msg *msg);

const char *nbns_opcode_name(uint8_t opcode);      /* "query", ...; NULL if unknown */
const char *nbns_rcode_name(uint8_t rcode);        /* "FMT_ERR" ...; "ok" for 0; NULL unknown */
const char *nbns_type_name(uint16_t type);         /* "NB", "NBSTAT", ...; NULL unknown */
const char *nbns_status_text(enum nbns_status st);

/* ---- NBDS, UDP 138 ---------------------------------------------------- */

enum nbds_type {
    NBDS_DIRECT_UNIQUE = 0x10,
    NBDS_DIRECT_GROUP = 0x11,
    NBDS_BROADCAST = 0x12,
    NBDS_ERROR = 0x13,
    NBDS_QUERY_REQUEST = 0x14,
    NBDS_POSITIVE_QUERY = 0x15,
    NBDS_NEGATIVE_QUERY = 0x16,
};

#define NBDS_F_MORE 0x01u   /* M: more fragments follow */
#define NBDS_F_FIRST 0x02u  /* F: first fragment */
#define NBDS_F_SNT_MASK 0x0cu

enum nbds_status {
    NBDS_OK = 0,
    NBDS_TRUNCATED,
    NBDS_BAD_NAME,
    NBDS_UNKNOWN_TYPE,
    NBDS_BAD_LENGTH,   /* DGM_LENGTH disagrees with the bytes present */
    NBDS_STATUS_COUNT
};

struct nbds_msg {
    uint8_t type;
    uint8_t flags;
    uint16_t dgm_id;
    uint32_t src_ipv4;       /* big-endian value */
    uint16_t src_port;
    /* 0x10..0x12 */
    uint16_t dgm_length, packet_offset;
    struct nbname src, dst;
    enum nbname_status src_status, dst_status;
    size_t user_offset, user_len; /* user data (usually SMB) within the input */
    /* 0x13 */
    uint8_t error_code;
    /* 0x14..0x16 use dst */
    enum nbds_status status;
};

enum nbds_status nbds_decode(const uint8_t *p, size_t n, struct nbds_msg *msg);
const char *nbds_type_name(uint8_t type);
const char *nbds_error_text(uint8_t code);
const char *nbds_status_text(enum nbds_status st);

#endif
