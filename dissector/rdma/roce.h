/* roce.h - RoCEv2 (UDP 4791): the InfiniBand Base Transport Header, its
 * extension headers, the invariant CRC, and RC SEND reassembly by PSN.
 *
 * BTH (12 octets): OpCode | SE, M, PadCnt, TVer | P_Key | FECN, BECN,
 * reserved | DestQP (24) | A, reserved | PSN (24).  Extension headers follow
 * as the opcode says (RETH 16, AETH 4, ImmDt 4, IETH 4, DETH 8, AtomicETH 28,
 * AtomicAckETH 8), then the payload, PadCnt pad octets and the 4-octet ICRC. */
#ifndef SMBSCOPE_ROCE_H
#define SMBSCOPE_ROCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROCE_UDP_PORT 4791
#define ROCE_BTH_LEN 12
#define ROCE_ICRC_LEN 4

/* RC opcodes SMB Direct uses (IBA 9.2: transport RC = 0x00..0x1F). */
enum roce_opcode {
    RC_SEND_FIRST = 0x00,
    RC_SEND_MIDDLE = 0x01,
    RC_SEND_LAST = 0x02,
    RC_SEND_LAST_IMM = 0x03,
    RC_SEND_ONLY = 0x04,
    RC_SEND_ONLY_IMM = 0x05,
    RC_RDMA_WRITE_FIRST = 0x06,
    RC_RDMA_WRITE_ONLY = 0x0A,
    RC_RDMA_READ_REQUEST = 0x0C,
    RC_ACK = 0x11,
    RC_SEND_LAST_INVAL = 0x16,
    RC_SEND_ONLY_INVAL = 0x17,
};

/* Where a packet sits in a SEND message. */
enum roce_send_part { ROCE_NOT_SEND = 0, ROCE_SEND_FIRST, ROCE_SEND_MIDDLE, ROCE_SEND_LAST, ROCE_SEND_ONLY };

/* What an opcode is, for counting. */
enum roce_kind { ROCE_KIND_OTHER = 0, ROCE_KIND_SEND, ROCE_KIND_RDMA_WRITE, ROCE_KIND_RDMA_READ, ROCE_KIND_ACK };

struct roce_bth {
    uint8_t opcode;
    bool se, migreq, fecn, becn, ackreq;
    uint8_t padcnt, tver;
    uint16_t pkey;
    uint32_t destqp, psn;
    enum roce_send_part part;
    enum roce_kind kind;
    bool has_imm, has_ieth, has_reth;
    uint32_t imm;           /* ImmDt */
    uint32_t inval_rkey;    /* IETH: the R_Key to invalidate */
    uint64_t reth_va;
    uint32_t reth_rkey, reth_len;
    const uint8_t *payload; /* after the extension headers, before the pad */
    size_t payload_len;
    uint32_t icrc;          /* as sent (little-endian on the wire, like scapy and Linux rxe) */
};

/* Decode a UDP 4791 payload.  False when too short for the BTH, its
 * extension headers, its pad and the ICRC, or an opcode this decoder does
 * not know the layout of (counted by the caller as not decoded). */
bool roce_parse(const uint8_t *p, size_t n, struct roce_bth *out);

/* "RC SEND Only", ... ; "unknown". */
const char *roce_opcode_name(uint8_t opcode);

/* Check the ICRC of an IPv4 or IPv6 packet carrying RoCEv2 (ip = the IP
 * header, iplen = the IP total length): CRC-32 over 8 octets of 1s, the IP
 * header with its variant fields (IPv4 TOS, TTL, checksum; IPv6 traffic
 * class, flow label, hop limit) set to 1s, the UDP header with checksum 1s,
 * the BTH with FECN/BECN/reserved set to 1s, and the rest up to the ICRC. */
bool roce_icrc_ok(const uint8_t *ip, size_t iplen);
/* The same, telling a bad ICRC from one that cannot be checked: the packet
 * cut by the snaplen, IPv6 extension headers or an IP payload that is not
 * UDP (then the layout above does not hold). */
enum roce_icrc { ROCE_ICRC_UNCHECKED = 0, ROCE_ICRC_GOOD, ROCE_ICRC_BAD };
enum roce_icrc roce_icrc_check(const uint8_t *ip, size_t iplen);

/* SEND messages of one direction (one QP), reassembled by PSN. */
struct roce_msg_rx {
    uint8_t *buf;
    size_t cap;
    size_t len;
    uint32_t next_psn;
    bool active;
    uint64_t messages, dropped, duplicates, oversize;
};

enum roce_rx_result { ROCE_RX_MORE, ROCE_RX_DONE, ROCE_RX_DROPPED };

void roce_msg_rx_init(struct roce_msg_rx *rx, uint8_t *buf, size_t cap);
/* Add a SEND packet; ROCE_RX_DONE with the whole message.  A PSN behind
 * the expected one (a retransmission) is ignored; one ahead (a loss) drops
 * the message being built. */
enum roce_rx_result roce_msg_add(struct roce_msg_rx *rx, const struct roce_bth *b, const uint8_t **msg, size_t *len);

#endif
