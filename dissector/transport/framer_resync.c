/* framer_resync.c - finding the framing again: after a gap, in a capture
 * that began mid-connection, or after a header no NBSS / direct-TCP stream
 * can have, the framer scans for a plausible header (framer.h). */
#include "framer.h"

#include <string.h>

#include "framer_priv.h"

enum { PL_NO = 0, PL_YES = 1, PL_MORE = -1 };

/* Is a header plausible at b[0..avail)?  A session message must be
 * followed by an SMB protocol id; a control message must have its exact
 * length (and a sane error code / first name label).  The short fixed-size
 * controls (82, 84, 85: four bytes that occur in any payload) must in
 * addition be followed by another plausible header (checked without this
 * extra rule), so a stray "85 00 00 00" inside file data does not capture
 * the stream.  PL_MORE: the available bytes agree so far but do not yet
 * decide. */
static int plausible(const uint8_t *bytes, size_t avail, bool chain)
{
    if (avail < 1)
        return PL_MORE;
    const struct wire b = wire_make(bytes, avail);
    uint8_t t = wire_peek_u8(&b, 0);
    /* expected bytes per position; 0 in mask = don't care */
    uint8_t want[8] = { 0 }, mask[8] = { 0 };
    size_t need;
    size_t follow = 0; /* control body length after which a header must follow */
    switch (t) {
    case 0x00:
        need = 8;
        if (avail >= 5 && wire_peek_u8(&b, 4) < 0xfc)
            return PL_NO;
        want[5] = 'S'; want[6] = 'M'; want[7] = 'B';
        mask[5] = mask[6] = mask[7] = 0xff;
        break;
    case NBSS_POSITIVE_RESPONSE:
    case NBSS_KEEPALIVE:
        need = 4;
        mask[1] = mask[2] = mask[3] = 0xff;
        follow = 4;
        break;
    case NBSS_NEGATIVE_RESPONSE:
        need = 5;
        mask[1] = mask[2] = mask[3] = 0xff;
        want[3] = 1;
        mask[4] = 0xf0; want[4] = 0x80;
        break;
    case NBSS_RETARGET_RESPONSE:
        need = 4;
        mask[1] = mask[2] = mask[3] = 0xff;
        want[3] = 6;
        follow = 10;
        break;
    case NBSS_SESSION_REQUEST:
        need = 6;
        mask[1] = 0xfe;
        mask[4] = 0xff; want[4] = NBNAME_ENCODED_LEN;
        if (avail >= 6 && (wire_peek_u8(&b, 5) < 'A' || wire_peek_u8(&b, 5) > 'P'))
            return PL_NO;
        break;
    default:
        return PL_NO;
    }
    for (size_t i = 1; i < need && i < avail; i++)
        if ((wire_peek_u8(&b, i) & mask[i]) != want[i])
            return PL_NO;
    if (avail >= 4) {
        struct wire lw = wire_window(&b, 1, 3);
        uint32_t len = wire_u24be(&lw);
        if (t != 0)
            len &= NBSS_MAX_LENGTH; /* the flags byte holds only the E bit */
        if (t == 0 && len < 32)       /* shorter than any SMB header */
            return PL_NO;
        if (t == NBSS_SESSION_REQUEST && (len < 68 || len > 2 * NBNAME_MAX_WIRE))
            return PL_NO;
    }
    if (avail < need)
        return PL_MORE;
    if (follow && chain) {
        if (avail <= follow)
            return PL_MORE;
        struct wire w = wire_window(&b, follow, avail - follow);
        return plausible(wire_bytes(&w, avail - follow), avail - follow, false);
    }
    return PL_YES;
}

/* Bytes that may start a header: 0x00 (session message) or 0x81..0x85. */
static bool resync_first_byte(uint8_t b) { return b == 0x00 || (b >= NBSS_SESSION_REQUEST && b <= NBSS_KEEPALIVE); }

#define BYTES8(b) (0x0101010101010101ull * (uint64_t)(b))

/* Index of the first byte of p[0..n) that may start a header (n if none),
 * looking at eight bytes per step: resync scans every byte of a stream
 * that is not SMB (or of a capture started inside a large READ), and
 * random data offers a candidate only once in about 40 bytes.  Exact: a
 * word is passed over only when none of its bytes is 0x00 or 0x81..0x85
 * (the "has zero byte" and "has byte between" bit tricks, both without
 * false negatives), so the caller tests the same positions as a plain
 * byte loop would. */
static size_t scan_first_byte(const struct wire *w)
{
    /* one bounds check for the whole span, then loads inside it (i < n) */
    struct wire view = *w;
    size_t i = 0, n = wire_left(&view);
    const uint8_t *p = wire_bytes(&view, n);
    if (!p)
        return n;
    for (; i + 8 <= n; i += 8) {
        uint64_t x = load_u64ne(p + i); /* byte order does not matter: all lanes alike */
        uint64_t zero = (x - BYTES8(0x01)) & ~x & BYTES8(0x80);
        /* 0x81..0x85 become 0x01..0x05 after flipping the top bit */
        uint64_t y = x ^ BYTES8(0x80);
        uint64_t y7 = y & BYTES8(0x7F);
        uint64_t between = (BYTES8(127 + 6) - y7) & ~y & (y7 + BYTES8(127 - 0)) & BYTES8(0x80);
        if (zero | between)
            break;
    }
    for (; i < n; i++)
        if (resync_first_byte(p[i]))
            return i;
    return n;
}

/* A direct-TCP header of an SMB message right at p: what plausible() says
 * YES to for type 0x00 when eight bytes are there (length >= 32, an SMB
 * protocol id after the header).  Every connection's framer starts by
 * scanning, and nearly every one starts with such a header. */
static bool smb_header_at(const uint8_t *p)
{
    uint32_t id = load_u32be(p + 4);
    return p[0] == 0x00 && load_u32be(p) >= 32 && (id >> 24) >= 0xfc && (id & 0xffffffu) == 0x534d42u;
}

/* A header found where the scan stands: the bytes skipped before it are
 * one resync anomaly, and framing restarts there.  Finding the first
 * header (every connection starts by scanning: SMB is recognised by
 * content) is not finding it *again*. */
static void restart_at_header(struct framer *f)
{
    if (f->skipped_run)
        framer_note_anomaly(f, FRAMER_AN_RESYNC, f->skipped_run);
    if (f->stats.messages || f->stats.controls) {
        f->stats.resyncs++;
    } else if (!f->stats.lead_found) {
        f->stats.lead_found = true;
        f->stats.lead_skipped = f->skipped_run;
    }
    f->skipped_run = 0;
    f->state = FRAMER_HEADER;
    f->hdr_have = 0;
}

void framer_step_resync(struct framer *f, struct wire *w)
{
    size_t left = wire_left(w);
    size_t clen = f->carry_len;
    size_t total = clen + left;
    if (clen == 0 && left >= 8) {
        /* the scan below would stop at offset 0 and find it plausible */
        struct wire view = *w;
        const uint8_t *p = wire_bytes(&view, 8);
        if (p && smb_header_at(p)) {
            restart_at_header(f);
            return;
        }
    }
    for (size_t i = 0; i < total; i++) {
        if (i >= clen) {
            /* past the carried bytes: jump to the next possible header */
            struct wire rest = wire_window(w, w->off + (i - clen), left - (i - clen));
            i += scan_first_byte(&rest);
            if (i >= total)
                break;
        }
        uint8_t b0 = i < clen ? f->carry[i] : wire_peek_u8(w, i - clen);
        if (b0 != 0x00 && (b0 < NBSS_SESSION_REQUEST || b0 > NBSS_KEEPALIVE))
            continue;
        /* cheap second look before gathering a window: most candidates
         * (zero fill, random data) die on one more byte */
        size_t probe = b0 == 0x00 ? 4 : 1;
        if (i + probe < total) {
            uint8_t bp = i + probe < clen ? f->carry[i + probe] : wire_peek_u8(w, i + probe - clen);
            if (b0 == 0x00 ? bp < 0xfc : (bp & 0xfe) != 0)
                continue;
        }
        uint8_t tmp[sizeof f->carry];
        size_t avail = total - i < sizeof tmp ? total - i : sizeof tmp;
        for (size_t k = 0; k < avail; k++)
            tmp[k] = (i + k < clen) ? f->carry[i + k] : wire_peek_u8(w, i + k - clen);
        int r = plausible(tmp, avail, true);
        if (r == PL_NO)
            continue;
        f->skipped_run += i;
        f->stats.skipped_bytes += i;
        if (r == PL_MORE) {
            /* keep the candidate (shorter than the window) for the next chunk */
            memcpy(f->carry, tmp, avail);
            f->carry_len = (uint8_t)avail;
            wire_skip(w, left);
            return;
        }
        /* found: restart framing at position i */
        restart_at_header(f);
        if (i < clen) {
            uint8_t rest[sizeof f->carry];
            size_t n = clen - i;
            memcpy(rest, f->carry + i, n);
            f->carry_len = 0;
            struct wire cw = wire_make(rest, n);
            framer_run(f, &cw);
            /* carried bytes precede w: if framing fell back into resync
             * there, its carry is still ahead of w, as it must be */
        } else {
            f->carry_len = 0;
            wire_skip(w, i - clen);
        }
        return;
    }
    f->skipped_run += total;
    f->stats.skipped_bytes += total;
    f->carry_len = 0;
    wire_skip(w, left);
}

/* plausible() trusts a positive response, retarget or keep-alive found by
 * scanning only with a header after it (those four bytes occur in any
 * payload); at the end of the stream none can follow.  The one complete
 * short control message that was the last thing its side sent (the
 * candidate carried is exactly it) is taken: a part of a capture seen
 * from its middle that ends right after a positive response or a
 * keep-alive counts it as the run over the whole capture does. */
void framer_end(struct framer *f)
{
    if (f->state != FRAMER_RESYNC || f->carry_len < 4)
        return;
    uint8_t t = f->carry[0];
    size_t len = t == NBSS_RETARGET_RESPONSE ? 10 : 4;
    if ((t != NBSS_POSITIVE_RESPONSE && t != NBSS_KEEPALIVE && t != NBSS_RETARGET_RESPONSE) || f->carry_len != len ||
        plausible(f->carry, len, false) != PL_YES)
        return;
    uint8_t msg[sizeof f->carry];
    memcpy(msg, f->carry, len);
    f->carry_len = 0;
    restart_at_header(f);
    struct wire w = wire_make(msg, len);
    framer_run(f, &w);
}
