/* mpa.c - MPA request/reply and the FPDU stream (RFC 5044).
 *
 * The FPDU reader is incremental like the NBSS framer: it is fed whatever
 * TCP delivers and keeps at most one partial length/CRC/marker of state,
 * copying only the ULPDU into the caller's buffer.  The CRC32c is updated
 * as the octets pass (markers inside an FPDU are covered by it, as tshark
 * computes it), so nothing else is kept. */
#include "mpa.h"

#include <string.h>

#include "crc.h"
#include "wire.h"

static const uint8_t key_request[MPA_KEY_LEN] = "MPA ID Req Frame";
static const uint8_t key_reply[MPA_KEY_LEN] = "MPA ID Rep Frame";

enum { FLAG_MARKER = 0x80, FLAG_CRC = 0x40, FLAG_REJECT = 0x20, FLAG_RESERVED = 0x1F };

enum mpa_status mpa_key_match(const uint8_t *p, size_t n, enum mpa_frame_kind *kind)
{
    struct wire w = wire_make(p, n);
    size_t k = n < MPA_KEY_LEN ? n : MPA_KEY_LEN;
    const uint8_t *q = wire_bytes(&w, k);
    *kind = MPA_NOT_MPA;
    if (!q || k == 0)
        return MPA_NEED_MORE;
    if (q[0] != key_request[0]) /* both keys start "MPA ": every other stream's first data stops here */
        return MPA_BAD;
    bool req = memcmp(q, key_request, k) == 0, rep = memcmp(q, key_reply, k) == 0;
    if (!req && !rep)
        return MPA_BAD;
    if (k < MPA_KEY_LEN)
        return MPA_NEED_MORE;
    *kind = req ? MPA_REQUEST : MPA_REPLY;
    return MPA_OK;
}

enum mpa_status mpa_parse_startup(const uint8_t *p, size_t n, struct mpa_startup *out)
{
    memset(out, 0, sizeof *out);
    enum mpa_frame_kind kind;
    enum mpa_status st = mpa_key_match(p, n, &kind);
    if (st != MPA_OK)
        return st;
    struct wire w = wire_make(p, n);
    wire_skip(&w, MPA_KEY_LEN);
    uint8_t flags = wire_u8(&w);
    uint8_t rev = wire_u8(&w);
    uint16_t pd_len = wire_u16be(&w);
    if (!wire_ok(&w))
        return MPA_NEED_MORE;
    if (pd_len > MPA_MAX_PRIVATE)
        return MPA_BAD;
    const uint8_t *pd = wire_bytes(&w, pd_len);
    if (!wire_ok(&w))
        return MPA_NEED_MORE;
    out->kind = kind;
    out->markers = (flags & FLAG_MARKER) != 0;
    out->crc = (flags & FLAG_CRC) != 0;
    out->reject = (flags & FLAG_REJECT) != 0;
    out->reserved = flags & FLAG_RESERVED;
    out->revision = rev;
    out->private_len = pd_len;
    out->private_data = pd_len ? pd : NULL;
    out->frame_len = MPA_STARTUP_HEADER + (size_t)pd_len;
    return MPA_OK;
}

const char *mpa_frame_kind_name(enum mpa_frame_kind kind)
{
    static const char *const names[] = { "not MPA", "MPA request", "MPA reply" };
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : names[0];
}

void mpa_rx_init(struct mpa_rx *rx, bool markers, bool crc, uint8_t *buf, size_t cap)
{
    memset(rx, 0, sizeof *rx);
    rx->markers = markers;
    rx->crc = crc;
    rx->buf = buf;
    rx->cap = buf ? cap : 0;
    rx->state = MPA_RX_LENGTH;
}

static void start_fpdu(struct mpa_rx *rx)
{
    rx->in_fpdu = true;
    rx->fpdu_start = rx->pos;
    rx->crc_reg = CRC32_INIT;
    rx->state = MPA_RX_LENGTH;
    rx->hold_len = 0;
}

/* Markers: 16 reserved bits, then FPDUPTR, the octets from the start of the
 * FPDU the marker sits in to the marker (0 when it precedes the header). */
static void marker_done(struct mpa_rx *rx)
{
    rx->markers_seen++;
    uint64_t at = rx->pos - 4;
    if (load_u16be(rx->marker_bytes + 2) != (uint16_t)(at - rx->fpdu_start))
        rx->marker_ptr_bad++;
}

static size_t take_marker(struct mpa_rx *rx, struct wire *w)
{
    size_t k = wire_left(w) < rx->marker_left ? wire_left(w) : rx->marker_left;
    const uint8_t *q = wire_bytes(w, k);
    memcpy(rx->marker_bytes + (4 - rx->marker_left), q, k);
    /* covered by the CRC unless it splits the CRC field itself; a marker
     * between the pad and the CRC is covered (RFC 5044 8.1, as tshark checks) */
    if (rx->state != MPA_RX_CRC || rx->hold_len == 0)
        rx->crc_reg = crc32c_update(rx->crc_reg, q, k);
    rx->marker_left = (uint8_t)(rx->marker_left - k);
    rx->pos += k;
    if (rx->marker_left == 0)
        marker_done(rx);
    return k;
}

static void finish(struct mpa_rx *rx, struct mpa_fpdu *out, bool *got)
{
    uint32_t sent = load_u32le(rx->hold);
    out->ulpdu = rx->buf;
    out->ulpdu_len = rx->ulpdu_len;
    out->len = rx->ulpdu_len < rx->cap ? rx->ulpdu_len : rx->cap;
    out->truncated = out->len < rx->ulpdu_len;
    out->crc_checked = rx->crc;
    out->crc_ok = !rx->crc || sent == (rx->crc_reg ^ CRC32_INIT);
    rx->fpdus++;
    rx->crc_bad += !out->crc_ok;
    rx->truncated += out->truncated;
    rx->in_fpdu = false;
    rx->state = MPA_RX_LENGTH;
    rx->hold_len = 0;
    *got = true;
}

/* One step inside an FPDU over at most `avail` octets (never across a marker). */
static void step(struct mpa_rx *rx, struct wire *w, size_t avail, struct mpa_fpdu *out, bool *got)
{
    size_t k = 0;
    const uint8_t *q;
    switch (rx->state) {
    case MPA_RX_LENGTH:
        k = avail < (size_t)(2 - rx->hold_len) ? avail : (size_t)(2 - rx->hold_len);
        q = wire_bytes(w, k);
        memcpy(rx->hold + rx->hold_len, q, k);
        rx->hold_len = (uint8_t)(rx->hold_len + k);
        rx->crc_reg = crc32c_update(rx->crc_reg, q, k);
        if (rx->hold_len == 2) {
            rx->ulpdu_len = load_u16be(rx->hold);
            rx->body_got = 0;
            rx->pad_left = (uint8_t)((4 - (2 + rx->ulpdu_len) % 4) % 4);
            rx->hold_len = 0;
            rx->state = rx->ulpdu_len ? MPA_RX_BODY : (rx->pad_left ? MPA_RX_PAD : MPA_RX_CRC);
        }
        break;
    case MPA_RX_BODY:
        k = rx->ulpdu_len - rx->body_got;
        k = avail < k ? avail : k;
        q = wire_bytes(w, k);
        if (rx->body_got < rx->cap)
            memcpy(rx->buf + rx->body_got, q, (rx->cap - rx->body_got) < k ? rx->cap - rx->body_got : k);
        rx->crc_reg = crc32c_update(rx->crc_reg, q, k);
        rx->body_got += (uint32_t)k;
        if (rx->body_got == rx->ulpdu_len)
            rx->state = rx->pad_left ? MPA_RX_PAD : MPA_RX_CRC;
        break;
    case MPA_RX_PAD:
        k = avail < rx->pad_left ? avail : rx->pad_left;
        q = wire_bytes(w, k);
        rx->crc_reg = crc32c_update(rx->crc_reg, q, k);
        rx->pad_left = (uint8_t)(rx->pad_left - k);
        if (!rx->pad_left)
            rx->state = MPA_RX_CRC;
        break;
    case MPA_RX_CRC:
        k = avail < (size_t)(4 - rx->hold_len) ? avail : (size_t)(4 - rx->hold_len);
        q = wire_bytes(w, k);
        memcpy(rx->hold + rx->hold_len, q, k);
        rx->hold_len = (uint8_t)(rx->hold_len + k);
        if (rx->hold_len == 4) {
            rx->pos += k;
            finish(rx, out, got);
            return;
        }
        break;
    }
    rx->pos += k;
}

size_t mpa_rx_feed(struct mpa_rx *rx, const uint8_t *p, size_t n, struct mpa_fpdu *out, bool *got)
{
    struct wire w = wire_make(p, n);
    *got = false;
    while (wire_left(&w) && !*got) {
        if (rx->markers && rx->marker_left == 0 && rx->pos % MPA_MARKER_INTERVAL == 0) {
            if (!rx->in_fpdu)
                start_fpdu(rx);
            rx->marker_left = 4;
        }
        if (rx->marker_left) {
            take_marker(rx, &w);
            continue;
        }
        if (!rx->in_fpdu)
            start_fpdu(rx);
        size_t avail = wire_left(&w);
        if (rx->markers) {
            size_t room = MPA_MARKER_INTERVAL - (size_t)(rx->pos % MPA_MARKER_INTERVAL);
            avail = avail < room ? avail : room;
        }
        step(rx, &w, avail, out, got);
    }
    return w.off;
}
