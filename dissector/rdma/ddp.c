/* ddp.c - DDP segments, RDMAP opcodes, Send reassembly (RFC 5041, RFC 5040). */
#include "ddp.h"

#include <string.h>

#include "wire.h"

bool ddp_parse(const uint8_t *p, size_t n, struct ddp_segment *out)
{
    memset(out, 0, sizeof *out);
    struct wire w = wire_make(p, n);
    uint8_t ddp_ctl = wire_u8(&w);
    uint8_t rdmap_ctl = wire_u8(&w);
    out->tagged = (ddp_ctl & 0x80) != 0;
    out->last = (ddp_ctl & 0x40) != 0;
    out->ddp_version = ddp_ctl & 0x03;
    out->rdmap_version = rdmap_ctl >> 6;
    out->opcode = rdmap_ctl & 0x0F;
    out->stag = wire_u32be(&w);
    if (out->tagged) {
        out->to = (uint64_t)wire_u32be(&w) << 32;
        out->to |= wire_u32be(&w);
    } else {
        out->qn = wire_u32be(&w);
        out->msn = wire_u32be(&w);
        out->mo = wire_u32be(&w);
    }
    if (!wire_ok(&w))
        return false;
    out->payload_len = wire_left(&w);
    out->payload = wire_bytes(&w, out->payload_len);
    return true;
}

static const struct {
    uint8_t opcode;
    bool send;
    const char *name;
} opcodes[] = {
    { RDMAP_WRITE, false, "RDMA Write" },
    { RDMAP_READ_REQUEST, false, "RDMA Read Request" },
    { RDMAP_READ_RESPONSE, false, "RDMA Read Response" },
    { RDMAP_SEND, true, "Send" },
    { RDMAP_SEND_INVALIDATE, true, "Send with Invalidate" },
    { RDMAP_SEND_SE, true, "Send with Solicited Event" },
    { RDMAP_SEND_SE_INVALIDATE, true, "Send with Solicited Event and Invalidate" },
    { RDMAP_TERMINATE, false, "Terminate" },
};

const char *rdmap_opcode_name(uint8_t opcode)
{
    for (size_t i = 0; i < sizeof opcodes / sizeof opcodes[0]; i++)
        if (opcodes[i].opcode == opcode)
            return opcodes[i].name;
    return "unknown";
}

bool rdmap_is_send(uint8_t opcode)
{
    for (size_t i = 0; i < sizeof opcodes / sizeof opcodes[0]; i++)
        if (opcodes[i].opcode == opcode)
            return opcodes[i].send;
    return false;
}

void ddp_msg_rx_init(struct ddp_msg_rx *rx, uint8_t *buf, size_t cap)
{
    memset(rx, 0, sizeof *rx);
    rx->buf = buf;
    rx->cap = buf ? cap : 0;
}

enum ddp_rx_result ddp_msg_add(struct ddp_msg_rx *rx, const struct ddp_segment *s, const uint8_t **msg, size_t *len)
{
    *msg = NULL;
    *len = 0;
    enum ddp_rx_result dropped_now = DDP_RX_MORE;
    if (rx->active && (s->msn != rx->msn || s->mo != rx->len)) {
        rx->active = false; /* a lost or reordered segment: this message is gone */
        rx->dropped++;
        dropped_now = DDP_RX_DROPPED;
    }
    if (!rx->active) {
        if (s->mo != 0)
            return DDP_RX_DROPPED; /* the middle of a message whose start we missed */
        if (s->last) { /* the common case: a whole message in one segment, no copy */
            rx->messages++;
            *msg = s->payload;
            *len = s->payload_len;
            return DDP_RX_DONE;
        }
        rx->active = true;
        rx->msn = s->msn;
        rx->len = 0;
    }
    if (s->payload_len > rx->cap - rx->len) {
        rx->active = false;
        rx->oversize++;
        return DDP_RX_DROPPED;
    }
    if (s->payload_len)
        memcpy(rx->buf + rx->len, s->payload, s->payload_len);
    rx->len += s->payload_len;
    if (!s->last)
        return dropped_now;
    rx->active = false;
    rx->messages++;
    *msg = rx->buf;
    *len = rx->len;
    return DDP_RX_DONE;
}
