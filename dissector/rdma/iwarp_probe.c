/* iwarp_probe.c - SMB Direct over iWARP recognised from its FPDUs alone. */
#include "iwarp_probe.h"

#include "crc.h"
#include "ddp.h"
#include "smbd.h"
#include "wire.h"

#define RDMAP_READ_REQUEST_BODY 28 /* SinkSTag, SinkTO, RDMARDSZ, SrcSTag, SrcTO */
#define PROBE_MAX_FPDUS 64         /* bounds the work on one segment */

bool smbd_shape(const uint8_t *p, size_t n)
{
    struct smbd_negotiate_request req;
    struct smbd_negotiate_response rsp;
    struct smbd_data d;
    if (n == SMBD_NEGOTIATE_REQUEST_LEN && smbd_parse_negotiate_request(p, n, &req) == SMBD_OK)
        return true;
    if (n == SMBD_NEGOTIATE_RESPONSE_LEN && smbd_parse_negotiate_response(p, n, &rsp) == SMBD_OK &&
        rsp.negotiated_version == SMBD_VERSION_1)
        return true;
    if (smbd_parse_data(p, n, &d) != SMBD_OK || (d.flags & ~SMBD_FLAG_RESPONSE_REQUESTED) != 0)
        return false;
    if (d.data_length == 0)
        return n == SMBD_DATA_HEADER_LEN && d.remaining_length == 0 && d.data_offset == 0;
    return d.data_offset % 8 == 0 && (uint64_t)d.data_offset + d.data_length == n;
}

/* One ULPDU: 0 not DDP/RDMAP, 1 plausible, 2 plausible and a whole SMBD Send. */
static int ulpdu_check(const uint8_t *p, size_t n)
{
    struct wire w = wire_make(p, n);
    uint8_t ddp_ctl = wire_u8(&w), rdmap_ctl = wire_u8(&w);
    struct ddp_segment s;
    if (!wire_ok(&w) || (ddp_ctl & 0x3C) || (rdmap_ctl & 0x30) || !ddp_parse(p, n, &s) || s.ddp_version != 1 ||
        s.rdmap_version != 1)
        return 0;
    if (s.tagged)
        return s.opcode == RDMAP_WRITE || s.opcode == RDMAP_READ_RESPONSE;
    switch (s.opcode) {
    case RDMAP_READ_REQUEST:
        return s.qn == 1 && s.last && s.mo == 0 && s.payload_len == RDMAP_READ_REQUEST_BODY;
    case RDMAP_TERMINATE:
        return s.qn == 2 && s.last;
    case RDMAP_SEND:
    case RDMAP_SEND_SE:
        if (s.stag != 0) /* reserved unless the Send invalidates */
            return 0;
        /* fall through */
    case RDMAP_SEND_INVALIDATE:
    case RDMAP_SEND_SE_INVALIDATE:
        if (s.qn != 0)
            return 0;
        if (!s.last || s.mo != 0) /* a piece of a longer Send: no SMBD header to check */
            return 1;
        return smbd_shape(s.payload, s.payload_len) ? 2 : 0;
    default:
        return 0;
    }
}

enum iwarp_probe iwarp_fpdu_probe(const uint8_t *p, size_t n)
{
    struct wire w = wire_make(p, n);
    int complete = 0;
    bool smbd = false;
    while (wire_left(&w) >= 2 && complete < PROBE_MAX_FPDUS) {
        uint16_t len = (uint16_t)((wire_peek_u8(&w, 0) << 8) | wire_peek_u8(&w, 1));
        size_t body = 2 + (size_t)len;
        size_t total = body + ((4 - body % 4) % 4) + 4;
        if (len < DDP_TAGGED_HEADER)
            return IWARP_PROBE_NO;
        if (total > wire_left(&w))
            break; /* the segment ends inside an FPDU (coalesced segments) */
        const uint8_t *fpdu = wire_bytes(&w, total - 4);
        uint32_t sent = wire_u32le(&w);
        if (!wire_ok(&w) || sent != (crc32c_update(CRC32_INIT, fpdu, total - 4) ^ CRC32_INIT))
            return IWARP_PROBE_NO;
        int u = ulpdu_check(fpdu + 2, len);
        if (u == 0)
            return IWARP_PROBE_NO;
        smbd |= u == 2;
        complete++;
    }
    if (!complete)
        return IWARP_PROBE_NO;
    return smbd ? IWARP_PROBE_SMBD : IWARP_PROBE_RDMA;
}
