/* iwarp_probe.c - SMB Direct over iWARP recognised from its FPDUs alone. */
#include "iwarp_probe.h"

#include <stdlib.h>

#include "crc.h"
#include "ddp.h"
#include "mpa.h"
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

/* The bytes as FPDUs with markers whose first sits at offset m in p: -1
 * when they are not, else the number of whole Sends shaped as SMBD (a
 * marker placed wrong inside the FPDU that holds the real one keeps its
 * CRC32c right, as the CRC covers both: the real place reads more whole
 * SMBD messages) and *kind. */
static int probe_at(const uint8_t *p, size_t n, uint32_t m, uint8_t *buf, enum iwarp_probe *kind)
{
    struct mpa_rx rx;
    mpa_rx_init(&rx, true, true, buf, MPA_MAX_ULPDU);
    rx.pos = (MPA_MARKER_INTERVAL - m) % MPA_MARKER_INTERVAL;
    int complete = 0, smbd = 0;
    size_t off = 0;
    while (off < n && complete < PROBE_MAX_FPDUS) {
        struct mpa_fpdu f;
        bool got;
        off += mpa_rx_feed(&rx, p + off, n - off, &f, &got);
        if (rx.marker_ptr_bad || (rx.state == MPA_RX_BODY && rx.ulpdu_len < DDP_TAGGED_HEADER))
            return -1;
        if (!got)
            continue;
        int u = f.crc_ok && !f.truncated ? ulpdu_check(f.ulpdu, f.len) : 0;
        if (u == 0)
            return -1;
        smbd += u == 2;
        complete++;
    }
    if (!complete || !rx.markers_seen || rx.marker_ptr_bad)
        return -1;
    *kind = smbd ? IWARP_PROBE_SMBD : IWARP_PROBE_RDMA;
    return smbd;
}

/* Can the first marker sit at m (cheap, before any CRC)?  Its reserved
 * bits are zero, and its FPDUPTR points back to an FPDU start (0: the one
 * after it) that the FPDUs before it, which hold no marker, reach exactly. */
static bool first_marker_at(const uint8_t *p, size_t n, uint32_t m)
{
    if (p[m] || p[m + 1])
        return false;
    uint32_t ptr = (uint32_t)p[m + 2] << 8 | p[m + 3];
    if (ptr > m || (m - ptr) % 4)
        return false;
    size_t at = 0, f = m - ptr;
    while (at < f) {
        if (at + 2 > n)
            return false;
        size_t len = (size_t)p[at] << 8 | p[at + 1];
        if (len < DDP_TAGGED_HEADER)
            return false;
        size_t body = 2 + len;
        at += body + (4 - body % 4) % 4 + 4;
    }
    return at == f;
}

/* The bytes begin with a marker (16 reserved bits and an FPDUPTR of 0: it
 * precedes the header) or with an FPDU header: a length a DDP header fits
 * in, DDP version 1 with its reserved bits clear, RDMAP version 1 likewise
 * (one look: any other TCP data stops here). */
static bool starts_like_fpdus(const uint8_t *p, size_t n)
{
    if (n < 4)
        return false;
    if (!p[0] && !p[1] && !p[2] && !p[3])
        return true;
    return ((size_t)p[0] << 8 | p[1]) >= DDP_TAGGED_HEADER && (p[2] & 0x3F) == 0x01 && (p[3] & 0xF0) == 0x40;
}

unsigned iwarp_fpdu_marker_places(const uint8_t *p, size_t n)
{
    unsigned places = 0;
    for (uint32_t m = 0; m < MPA_MARKER_INTERVAL && m + 4 <= n; m += 4)
        places += first_marker_at(p, n, m);
    return places;
}

enum iwarp_probe iwarp_fpdu_probe_markers(const uint8_t *p, size_t n, uint32_t *first_marker)
{
    /* Each place that passes the cheap test costs a CRC32c pass over the
     * bytes: crafted data (zeros and a pointer back to 0 at every place,
     * one FPDU of 64 KiB) made every place pass, 127 passes a segment.
     * Real streams give few; more than IWARP_PROBE_MAX_PLACES leave the
     * place undecided by these bytes, as a tie does. */
    if (!starts_like_fpdus(p, n) || iwarp_fpdu_marker_places(p, n) > IWARP_PROBE_MAX_PLACES)
        return IWARP_PROBE_NO;
    uint8_t *buf = NULL; /* the ULPDU buffer, only once a place passes the cheap test */
    enum iwarp_probe best = IWARP_PROBE_NO;
    int best_score = -1;
    bool tie = false;
    for (uint32_t m = 0; m < MPA_MARKER_INTERVAL && m + 4 <= n; m += 4) {
        if (!first_marker_at(p, n, m))
            continue;
        if (!buf && !(buf = malloc(MPA_MAX_ULPDU)))
            return IWARP_PROBE_NO;
        enum iwarp_probe kind;
        int score = probe_at(p, n, m, buf, &kind);
        if (score < 0 || score < best_score)
            continue;
        tie = score == best_score;
        if (score > best_score) {
            best_score = score;
            best = kind;
            *first_marker = m;
        }
    }
    free(buf);
    return tie ? IWARP_PROBE_NO : best; /* two places that read alike: not decided by these bytes */
}
