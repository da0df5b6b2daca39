/* roce.c - RoCEv2 BTH, extension headers, ICRC, SEND reassembly by PSN. */
#include "roce.h"

#include <string.h>

#include "crc.h"
#include "wire.h"

enum ext {
    EXT_DETH = 1u << 0,      /* 8: Q_Key, source QP (UD) */
    EXT_RETH = 1u << 1,      /* 16: VA, R_Key, DMA length */
    EXT_ATOMIC = 1u << 2,    /* 28 */
    EXT_AETH = 1u << 3,      /* 4: syndrome, MSN */
    EXT_ATOMICACK = 1u << 4, /* 8 */
    EXT_IMM = 1u << 5,       /* 4: immediate data */
    EXT_IETH = 1u << 6,      /* 4: R_Key to invalidate */
    EXT_CNP = 1u << 7,       /* 16 reserved octets of a congestion notification */
};

static const struct roce_op {
    uint8_t opcode;
    enum roce_send_part part;
    enum roce_kind kind;
    uint32_t ext;
    const char *name;
} ops[] = {
    { 0x00, ROCE_SEND_FIRST, ROCE_KIND_SEND, 0, "RC SEND First" },
    { 0x01, ROCE_SEND_MIDDLE, ROCE_KIND_SEND, 0, "RC SEND Middle" },
    { 0x02, ROCE_SEND_LAST, ROCE_KIND_SEND, 0, "RC SEND Last" },
    { 0x03, ROCE_SEND_LAST, ROCE_KIND_SEND, EXT_IMM, "RC SEND Last with Immediate" },
    { 0x04, ROCE_SEND_ONLY, ROCE_KIND_SEND, 0, "RC SEND Only" },
    { 0x05, ROCE_SEND_ONLY, ROCE_KIND_SEND, EXT_IMM, "RC SEND Only with Immediate" },
    { 0x06, ROCE_NOT_SEND, ROCE_KIND_RDMA_WRITE, EXT_RETH, "RC RDMA Write First" },
    { 0x07, ROCE_NOT_SEND, ROCE_KIND_RDMA_WRITE, 0, "RC RDMA Write Middle" },
    { 0x08, ROCE_NOT_SEND, ROCE_KIND_RDMA_WRITE, 0, "RC RDMA Write Last" },
    { 0x09, ROCE_NOT_SEND, ROCE_KIND_RDMA_WRITE, EXT_IMM, "RC RDMA Write Last with Immediate" },
    { 0x0A, ROCE_NOT_SEND, ROCE_KIND_RDMA_WRITE, EXT_RETH, "RC RDMA Write Only" },
    { 0x0B, ROCE_NOT_SEND, ROCE_KIND_RDMA_WRITE, EXT_RETH | EXT_IMM, "RC RDMA Write Only with Immediate" },
    { 0x0C, ROCE_NOT_SEND, ROCE_KIND_RDMA_READ, EXT_RETH, "RC RDMA Read Request" },
    { 0x0D, ROCE_NOT_SEND, ROCE_KIND_RDMA_READ, EXT_AETH, "RC RDMA Read Response First" },
    { 0x0E, ROCE_NOT_SEND, ROCE_KIND_RDMA_READ, 0, "RC RDMA Read Response Middle" },
    { 0x0F, ROCE_NOT_SEND, ROCE_KIND_RDMA_READ, EXT_AETH, "RC RDMA Read Response Last" },
    { 0x10, ROCE_NOT_SEND, ROCE_KIND_RDMA_READ, EXT_AETH, "RC RDMA Read Response Only" },
    { 0x11, ROCE_NOT_SEND, ROCE_KIND_ACK, EXT_AETH, "RC Acknowledge" },
    { 0x12, ROCE_NOT_SEND, ROCE_KIND_ACK, EXT_AETH | EXT_ATOMICACK, "RC Atomic Acknowledge" },
    { 0x13, ROCE_NOT_SEND, ROCE_KIND_OTHER, EXT_ATOMIC, "RC Compare Swap" },
    { 0x14, ROCE_NOT_SEND, ROCE_KIND_OTHER, EXT_ATOMIC, "RC Fetch Add" },
    { 0x16, ROCE_SEND_LAST, ROCE_KIND_SEND, EXT_IETH, "RC SEND Last with Invalidate" },
    { 0x17, ROCE_SEND_ONLY, ROCE_KIND_SEND, EXT_IETH, "RC SEND Only with Invalidate" },
    { 0x64, ROCE_NOT_SEND, ROCE_KIND_OTHER, EXT_DETH, "UD SEND Only" },
    { 0x65, ROCE_NOT_SEND, ROCE_KIND_OTHER, EXT_DETH | EXT_IMM, "UD SEND Only with Immediate" },
    { 0x81, ROCE_NOT_SEND, ROCE_KIND_OTHER, EXT_CNP, "CNP" },
};

static const struct roce_op *find_op(uint8_t opcode)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].opcode == opcode)
            return &ops[i];
    return NULL;
}

const char *roce_opcode_name(uint8_t opcode)
{
    const struct roce_op *op = find_op(opcode);
    return op ? op->name : "unknown";
}

static void parse_ext(struct wire *w, uint32_t ext, struct roce_bth *b)
{
    /* DETH, AtomicETH, AETH, AtomicAckETH and the CNP body are skipped:
     * SMB Direct needs only the SEND payload and the R_Key invalidated. */
    if (ext & EXT_DETH)
        wire_skip(w, 8);
    if (ext & EXT_RETH) {
        b->has_reth = true;
        b->reth_va = (uint64_t)wire_u32be(w) << 32;
        b->reth_va |= wire_u32be(w);
        b->reth_rkey = wire_u32be(w);
        b->reth_len = wire_u32be(w);
    }
    if (ext & EXT_ATOMIC)
        wire_skip(w, 28);
    if (ext & EXT_AETH)
        wire_skip(w, 4);
    if (ext & EXT_ATOMICACK)
        wire_skip(w, 8);
    if (ext & EXT_IMM) {
        b->has_imm = true;
        b->imm = wire_u32be(w);
    }
    if (ext & EXT_IETH) {
        b->has_ieth = true;
        b->inval_rkey = wire_u32be(w);
    }
    if (ext & EXT_CNP)
        wire_skip(w, 16);
}

bool roce_parse(const uint8_t *p, size_t n, struct roce_bth *b)
{
    memset(b, 0, sizeof *b);
    if (n < ROCE_BTH_LEN + ROCE_ICRC_LEN)
        return false;
    struct wire all = wire_make(p, n);
    struct wire w = wire_sub(&all, n - ROCE_ICRC_LEN);
    b->icrc = wire_u32le(&all);
    b->opcode = wire_u8(&w);
    uint8_t f = wire_u8(&w);
    b->se = (f & 0x80) != 0;
    b->migreq = (f & 0x40) != 0;
    b->padcnt = (f >> 4) & 0x03;
    b->tver = f & 0x0F;
    b->pkey = wire_u16be(&w);
    uint8_t r = wire_u8(&w);
    b->fecn = (r & 0x80) != 0;
    b->becn = (r & 0x40) != 0;
    b->destqp = wire_u24be(&w);
    uint8_t a = wire_u8(&w);
    b->ackreq = (a & 0x80) != 0;
    b->psn = wire_u24be(&w);
    const struct roce_op *op = find_op(b->opcode);
    if (!op)
        return false;
    b->part = op->part;
    b->kind = op->kind;
    parse_ext(&w, op->ext, b);
    if (!wire_ok(&w) || wire_left(&w) < b->padcnt)
        return false;
    b->payload_len = wire_left(&w) - b->padcnt;
    b->payload = wire_bytes(&w, b->payload_len);
    return wire_ok(&w);
}

enum roce_icrc roce_icrc_check(const uint8_t *ip, size_t iplen)
{
    struct wire w = wire_make(ip, iplen);
    uint8_t hdr[60 + 8 + ROCE_BTH_LEN];
    size_t iph, tot;
    uint8_t v = wire_peek_u8(&w, 0) >> 4;
    if (v == 4) {
        iph = (size_t)(wire_peek_u8(&w, 0) & 0x0F) * 4;
        tot = ((size_t)wire_peek_u8(&w, 2) << 8) | wire_peek_u8(&w, 3);
        if (wire_peek_u8(&w, 9) != 17)
            return ROCE_ICRC_UNCHECKED;
    } else if (v == 6) {
        iph = 40;
        tot = 40 + (((size_t)wire_peek_u8(&w, 4) << 8) | wire_peek_u8(&w, 5));
        if (wire_peek_u8(&w, 6) != 17) /* extension headers: not a RoCEv2 layout we know */
            return ROCE_ICRC_UNCHECKED;
    } else {
        return ROCE_ICRC_UNCHECKED;
    }
    size_t fixed = iph + 8 + ROCE_BTH_LEN;
    if (!wire_ok(&w) || iph < 20 || tot > iplen) /* cut by the snaplen: the ICRC was not captured */
        return ROCE_ICRC_UNCHECKED;
    if (tot < fixed + ROCE_ICRC_LEN)
        return ROCE_ICRC_BAD;
    const uint8_t *q = wire_bytes(&w, fixed);
    memcpy(hdr, q, fixed);
    if (v == 4) {
        hdr[1] = 0xFF;                  /* TOS */
        hdr[8] = 0xFF;                  /* TTL */
        hdr[10] = hdr[11] = 0xFF;       /* header checksum */
    } else {
        hdr[0] |= 0x0F;                 /* traffic class and flow label */
        hdr[1] = hdr[2] = hdr[3] = 0xFF;
        hdr[7] = 0xFF;                  /* hop limit */
    }
    hdr[iph + 6] = hdr[iph + 7] = 0xFF; /* UDP checksum */
    hdr[iph + 8 + 4] = 0xFF;            /* FECN, BECN, reserved */
    static const uint8_t ones[8] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    uint32_t reg = crc32_ieee_update(CRC32_INIT, ones, sizeof ones);
    reg = crc32_ieee_update(reg, hdr, fixed);
    size_t rest = tot - fixed - ROCE_ICRC_LEN;
    reg = crc32_ieee_update(reg, wire_bytes(&w, rest), rest);
    uint32_t sent = wire_u32le(&w);
    if (!wire_ok(&w))
        return ROCE_ICRC_UNCHECKED;
    return sent == (reg ^ CRC32_INIT) ? ROCE_ICRC_GOOD : ROCE_ICRC_BAD;
}

bool roce_icrc_ok(const uint8_t *ip, size_t iplen) { return roce_icrc_check(ip, iplen) == ROCE_ICRC_GOOD; }

void roce_msg_rx_init(struct roce_msg_rx *rx, uint8_t *buf, size_t cap)
{
    memset(rx, 0, sizeof *rx);
    rx->buf = buf;
    rx->cap = buf ? cap : 0;
}

static bool psn_behind(uint32_t psn, uint32_t expected)
{
    /* 24-bit serial arithmetic: behind when within half the space below */
    return ((expected - psn) & 0xFFFFFFu) != 0 && ((expected - psn) & 0xFFFFFFu) < 0x800000u;
}

enum roce_rx_result roce_msg_add(struct roce_msg_rx *rx, const struct roce_bth *b, const uint8_t **msg, size_t *len)
{
    *msg = NULL;
    *len = 0;
    if (b->part == ROCE_NOT_SEND)
        return ROCE_RX_MORE;
    if (rx->active && psn_behind(b->psn, rx->next_psn)) {
        rx->duplicates++;
        return ROCE_RX_MORE;
    }
    bool starts = b->part == ROCE_SEND_FIRST || b->part == ROCE_SEND_ONLY;
    enum roce_rx_result res = ROCE_RX_MORE;
    if (rx->active && (starts || b->psn != rx->next_psn)) {
        rx->active = false; /* a lost packet: the message being built is gone */
        rx->dropped++;
        res = ROCE_RX_DROPPED;
    }
    if (!rx->active && !starts)
        return ROCE_RX_DROPPED; /* the rest of a message whose start we missed */
    if (b->part == ROCE_SEND_ONLY) {
        rx->messages++;
        *msg = b->payload;
        *len = b->payload_len;
        return ROCE_RX_DONE;
    }
    if (b->part == ROCE_SEND_FIRST) {
        rx->active = true;
        rx->len = 0;
    }
    if (b->payload_len > rx->cap - rx->len) {
        rx->active = false;
        rx->oversize++;
        return ROCE_RX_DROPPED;
    }
    if (b->payload_len)
        memcpy(rx->buf + rx->len, b->payload, b->payload_len);
    rx->len += b->payload_len;
    rx->next_psn = (b->psn + 1) & 0xFFFFFFu;
    if (b->part != ROCE_SEND_LAST)
        return res;
    rx->active = false;
    rx->messages++;
    *msg = rx->buf;
    *len = rx->len;
    return ROCE_RX_DONE;
}
