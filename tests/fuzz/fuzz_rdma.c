/* libFuzzer harness: the SMB Direct decoders (dissector/rdma) end to end.
 *
 * First byte: the carrier (even: iWARP, odd: RoCEv2); second: options
 * (bit 0 markers, bit 1 CRC, bit 2 midstream, high bits the chunk size).
 *   iWARP: the rest is one TCP direction: MPA request/reply, then FPDUs fed
 *          in chunks -> DDP -> Send reassembly -> SMBD -> SMB2 reassembly.
 *   RoCEv2: the rest is records (2-octet length, then an IP packet whose
 *          UDP payload is taken from offset 28): ICRC check, BTH, SEND
 *          reassembly by PSN -> SMBD -> SMB2 reassembly.
 * The whole input also goes through iwarp_fpdu_probe() (mid-stream iWARP).
 * Invariants checked (abort): no read past the input (ASan), every
 * delivered message within its buffer, forward progress. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddp.h"
#include "iwarp_probe.h"
#include "mpa.h"
#include "roce.h"
#include "smbd.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t ulpdu_buf[MPA_MAX_ULPDU], send_buf[MPA_MAX_ULPDU], smb_buf[4096];

static void smbd(struct smbd_conn *c, struct smbd_reasm *r, int side, bool midstream, const uint8_t *m, size_t n)
{
    struct smbd_data d;
    if (smbd_conn_message(c, side, midstream, m, n, &d) != SMBD_MSG_DATA)
        return;
    if (d.data_length && (d.data < m || d.data + d.data_length > m + n))
        abort();
    const uint8_t *msg;
    size_t len;
    if (smbd_reasm_add(r, &d, &msg, &len) == SMBD_RX_DONE && msg == r->buf && len > r->cap)
        abort();
    (void)smbd_msg_kind_name(SMBD_MSG_DATA);
}

static void iwarp(const uint8_t *p, size_t n, uint8_t opt)
{
    struct mpa_startup st;
    size_t off = 0;
    if (mpa_parse_startup(p, n, &st) == MPA_OK) {
        if (st.frame_len > n || st.private_len > MPA_MAX_PRIVATE)
            abort();
        off = st.frame_len;
    }
    struct mpa_rx rx;
    struct ddp_msg_rx sends;
    struct smbd_conn conn;
    struct smbd_reasm reasm;
    memset(&conn, 0, sizeof conn);
    mpa_rx_init(&rx, opt & 1, opt & 2, ulpdu_buf, (opt & 0x80) ? 100 : sizeof ulpdu_buf);
    ddp_msg_rx_init(&sends, send_buf, (opt & 0x40) ? 64 : sizeof send_buf);
    smbd_reasm_init(&reasm, smb_buf, sizeof smb_buf);
    size_t chunk = 1 + (size_t)(opt >> 3);
    while (off < n) {
        size_t k = n - off < chunk ? n - off : chunk;
        struct mpa_fpdu f;
        bool got;
        size_t used = mpa_rx_feed(&rx, p + off, k, &f, &got);
        if (used == 0 || used > k || (got && f.len > rx.cap))
            abort();
        off += used;
        struct ddp_segment s;
        if (!got || !ddp_parse(f.ulpdu, f.len, &s))
            continue;
        (void)rdmap_opcode_name(s.opcode);
        const uint8_t *m;
        size_t len;
        if (!s.tagged && ddp_msg_add(&sends, &s, &m, &len) == DDP_RX_DONE)
            smbd(&conn, &reasm, 0, opt & 4, m, len);
    }
}

static void roce(const uint8_t *p, size_t n, uint8_t opt)
{
    struct roce_msg_rx rx;
    struct smbd_conn conn;
    struct smbd_reasm reasm;
    memset(&conn, 0, sizeof conn);
    roce_msg_rx_init(&rx, send_buf, (opt & 0x40) ? 600 : sizeof send_buf);
    smbd_reasm_init(&reasm, smb_buf, sizeof smb_buf);
    struct wire w = wire_make(p, n);
    while (wire_left(&w) >= 2) {
        uint16_t len = wire_u16be(&w);
        if (len > wire_left(&w))
            len = (uint16_t)wire_left(&w);
        const uint8_t *pkt = wire_bytes(&w, len);
        enum roce_icrc icrc = roce_icrc_check(pkt, len);
        if (icrc != ROCE_ICRC_UNCHECKED && icrc != ROCE_ICRC_GOOD && icrc != ROCE_ICRC_BAD)
            abort();
        struct roce_bth b;
        if (len < 28 || !roce_parse(pkt + 28, len - 28u, &b))
            continue;
        if (b.payload_len > (size_t)len - 28u)
            abort();
        (void)roce_opcode_name(b.opcode);
        const uint8_t *m;
        size_t mlen;
        if (roce_msg_add(&rx, &b, &m, &mlen) == ROCE_RX_DONE)
            smbd(&conn, &reasm, b.destqp & 1, opt & 4, m, mlen);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (data[0] & 1)
        roce(data + 2, size - 2, data[1]);
    else
        iwarp(data + 2, size - 2, data[1]);
    enum mpa_frame_kind k;
    (void)mpa_key_match(data, size, &k);
    /* mid-stream recognition over the raw input: any answer, never a read past it */
    enum iwarp_probe pr = iwarp_fpdu_probe(data, size);
    if (pr != IWARP_PROBE_NO && pr != IWARP_PROBE_RDMA && pr != IWARP_PROBE_SMBD)
        abort();
    return 0;
}
