/* ddp.h - DDP (RFC 5041) segments and their RDMAP (RFC 5040) control, and the
 * reassembly of untagged messages (RDMAP Send and its variants).
 *
 * Untagged segment header (18 octets): T=0, L, reserved, DV | RDMAP RV and
 * opcode | 32 bits the ULP owns (RDMAP: the STag to invalidate) | QN | MSN |
 * MO.  Tagged (14 octets): T=1, L, DV | RDMAP control | STag | TO (64 bits).
 * RDMA Write and Read Response are tagged: bulk data placed straight into
 * memory, counted here, never decoded. */
#ifndef SMBSCOPE_DDP_H
#define SMBSCOPE_DDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rdmap_opcode {
    RDMAP_WRITE = 0x0,
    RDMAP_READ_REQUEST = 0x1,
    RDMAP_READ_RESPONSE = 0x2,
    RDMAP_SEND = 0x3,
    RDMAP_SEND_INVALIDATE = 0x4,
    RDMAP_SEND_SE = 0x5,
    RDMAP_SEND_SE_INVALIDATE = 0x6,
    RDMAP_TERMINATE = 0x7,
};

#define DDP_UNTAGGED_HEADER 18
#define DDP_TAGGED_HEADER 14

struct ddp_segment {
    bool tagged, last;
    uint8_t ddp_version;    /* DV: 1 */
    uint8_t rdmap_version;  /* RV: 1 */
    uint8_t opcode;         /* enum rdmap_opcode */
    uint32_t stag;          /* tagged: the data sink STag; untagged: the STag to invalidate */
    uint64_t to;            /* tagged offset */
    uint32_t qn, msn, mo;   /* untagged: queue 0 = Send, 1 = Read Request, 2 = Terminate */
    const uint8_t *payload; /* into the ULPDU */
    size_t payload_len;
};

/* Decode one ULPDU (the bytes an MPA FPDU carried).  False when too short
 * for its header. */
bool ddp_parse(const uint8_t *p, size_t n, struct ddp_segment *out);

/* "Send", "Send with Invalidate", "RDMA Write" ...; "unknown" otherwise. */
const char *rdmap_opcode_name(uint8_t opcode);
/* Send, Send-Invalidate, Send-SE, Send-SE-Invalidate: the untagged ULP messages. */
bool rdmap_is_send(uint8_t opcode);

/* Send messages of one direction, reassembled from their DDP segments in
 * order (MO == bytes so far, same MSN); bounded by the caller's buffer. */
struct ddp_msg_rx {
    uint8_t *buf;
    size_t cap;
    size_t len;
    uint32_t msn;
    bool active;
    uint64_t messages, dropped, oversize;
};

enum ddp_rx_result { DDP_RX_MORE, DDP_RX_DONE, DDP_RX_DROPPED };

void ddp_msg_rx_init(struct ddp_msg_rx *rx, uint8_t *buf, size_t cap);
/* Add an untagged Send segment; DDP_RX_DONE with *msg and *len the whole message
 * (valid until the next call).  A segment out of order, or a message larger
 * than the buffer, drops the message being built (counted). */
enum ddp_rx_result ddp_msg_add(struct ddp_msg_rx *rx, const struct ddp_segment *s, const uint8_t **msg, size_t *len);

#endif
