/* framer.c - the streaming NBSS / direct-TCP framer.
 *
 * Invariant while collecting (HEADBYTES, BODY, CONTROL): payload bytes
 * [0, consumed) of the current message are stored, in head[] or in buf
 * (stored_in_buf).  The zero-copy path never stores: when a whole wanted
 * prefix lies in the chunk it is handed out in place and consumed at once.
 */
#include "framer.h"

#include <stdlib.h>
#include <string.h>

#include "framer_priv.h"

static const char *const anomaly_names[FRAMER_AN_COUNT] = {
    [FRAMER_AN_CONTROL_LENGTH] = "bad control message length",
    [FRAMER_AN_UNKNOWN_TYPE] = "unknown message type",
    [FRAMER_AN_RESYNC] = "resynchronised after skipping bytes",
    [FRAMER_AN_GAP_LOST_SYNC] = "gap lost message alignment",
    [FRAMER_AN_MESSAGE_CUT] = "message cut by a gap",
    [FRAMER_AN_LENGTH_OVER_17BIT] = "length over 17 bits (impossible under NBSS)",
    [FRAMER_AN_PREFIX_CAPPED] = "wanted prefix capped",
    [FRAMER_AN_NOT_SMB] = "session message without SMB protocol id",
    [FRAMER_AN_NO_MEMORY] = "prefix buffer could not grow",
};

const char *framer_anomaly_name(enum framer_anomaly an)
{
    return (unsigned)an < FRAMER_AN_COUNT ? anomaly_names[an] : "unknown anomaly";
}

bool framer_is_smb_id(const uint8_t *p, size_t n)
{
    struct wire w = wire_make(p, n);
    uint32_t id = wire_u32be(&w); /* 0 when shorter than 4 */
    return (id >> 24) >= 0xfc && (id & 0xffffffu) == 0x534d42u; /* 'S' 'M' 'B' */
}

void framer_note_anomaly(struct framer *f, enum framer_anomaly an, uint64_t detail)
{
    f->stats.anomalies++;
    if (f->cb.anomaly)
        f->cb.anomaly(f->ctx, an, detail);
}

void framer_init(struct framer *f, const struct framer_callbacks *cb, void *ctx,
                 struct transport_obs *obs, bool midstream)
{
    memset(f, 0, sizeof *f);
    if (cb)
        f->cb = *cb;
    f->ctx = ctx;
    f->obs = obs;
    f->cap = FRAMER_DEFAULT_CAP;
    f->state = midstream ? FRAMER_RESYNC : FRAMER_HEADER;
}

void framer_set_cap(struct framer *f, size_t cap)
{
    f->cap = cap < FRAMER_CONTROL_MAX ? FRAMER_CONTROL_MAX : cap;
}

void framer_free(struct framer *f)
{
    free(f->buf);
    f->buf = NULL;
    f->buf_size = 0;
}

void framer_reset(struct framer *f, bool midstream)
{
    struct framer_callbacks cb = f->cb;
    void *ctx = f->ctx;
    struct transport_obs *obs = f->obs;
    size_t cap = f->cap;
    framer_free(f);
    framer_init(f, &cb, ctx, obs, midstream);
    f->cap = cap;
}

const struct framer_stats *framer_stats(const struct framer *f) { return &f->stats; }

uint64_t framer_message_left(const struct framer *f)
{
    switch (f->state) {
    case FRAMER_HEADER:
        return f->hdr_have ? UINT64_MAX : 0;
    case FRAMER_HEADBYTES:
    case FRAMER_BODY:
    case FRAMER_CONTROL:
        return (uint64_t)f->msg_len - f->consumed;
    case FRAMER_SKIP:
        return f->skip_left;
    default:
        return UINT64_MAX;
    }
}

uint64_t framer_skippable(const struct framer *f)
{
    return f->state == FRAMER_SKIP ? f->skip_left : 0;
}

/* Grow buf to hold n bytes (n <= cap). */
static bool ensure_buf(struct framer *f, size_t n)
{
    if (f->buf_size >= n)
        return true;
    size_t size = f->buf_size ? f->buf_size : 4096;
    while (size < n)
        size *= 2;
    if (size > f->cap)
        size = f->cap > n ? f->cap : n;
    uint8_t *nb = realloc(f->buf, size);
    if (!nb)
        return false;
    f->buf = nb;
    f->buf_size = size;
    return true;
}

static const uint8_t *stored(const struct framer *f)
{
    return f->stored_in_buf ? f->buf : f->head;
}

/* Append up to (target - consumed) bytes of w to the store. */
static void store_more(struct framer *f, struct wire *w)
{
    size_t k = f->target - f->consumed;
    if (k > wire_left(w))
        k = wire_left(w);
    const uint8_t *src = wire_bytes(w, k);
    if (k && src) {
        uint8_t *dst = f->stored_in_buf ? f->buf : f->head;
        memcpy(dst + f->consumed, src, k);
    }
    f->consumed += (uint32_t)k;
}

/* The message's wanted bytes are dealt with: skip the rest. */
static void finish_message(struct framer *f)
{
    uint32_t rest = f->msg_len - f->consumed;
    f->stored_in_buf = false;
    if (rest) {
        f->state = FRAMER_SKIP;
        f->skip_left = rest;
    } else {
        f->state = FRAMER_HEADER;
    }
}

static void deliver(struct framer *f, const uint8_t *p, size_t avail)
{
    unsigned flags = f->msg_flags;
    if (avail == f->msg_len)
        flags |= FRAMER_MSG_COMPLETE;
    else if (!(flags & FRAMER_MSG_CUT))
        flags |= FRAMER_MSG_PREFIX;
    if (f->cb.message)
        f->cb.message(f->ctx, p, avail, f->msg_len, flags);
}

static void enter_resync(struct framer *f, const uint8_t *carry, size_t n, uint64_t skipped)
{
    f->state = FRAMER_RESYNC;
    f->hdr_have = 0;
    f->stored_in_buf = false;
    if (n > sizeof f->carry)
        n = sizeof f->carry;
    if (n)
        memcpy(f->carry, carry, n);
    f->carry_len = (uint8_t)n;
    f->skipped_run = skipped;
    f->stats.skipped_bytes += skipped;
}

/* --- session messages ---------------------------------------------------- */

static void note_smb(struct framer *f, const uint8_t *head, size_t n)
{
    if (framer_is_smb_id(head, n)) {
        f->msg_flags |= FRAMER_MSG_SMB;
        if (f->obs)
            f->obs->smb_messages++;
    } else if (f->msg_len > 0) {
        struct wire hw = wire_make(head, n);
        uint64_t first = 0;
        for (size_t i = 0; i < 4 && wire_left(&hw); i++)
            first = (first << 8) | wire_u8(&hw);
        framer_note_anomaly(f, FRAMER_AN_NOT_SMB, first);
    }
}

static void step_body(struct framer *f, struct wire *w)
{
    store_more(f, w);
    if (f->consumed < f->target)
        return;
    deliver(f, stored(f), f->target);
    finish_message(f);
}

/* The head is complete at head (zero: still unconsumed in w; else stored in
 * head[]).  Ask the consumer and move on to the body. */
static void head_done(struct framer *f, struct wire *w, const uint8_t *head, size_t head_len, bool zero)
{
    note_smb(f, head, head_len);
    size_t wanted = f->cb.want ? f->cb.want(f->ctx, head, head_len, f->msg_len) : f->msg_len;
    if (wanted > f->msg_len)
        wanted = f->msg_len;
    if (wanted > f->cap) {
        if (f->cb.want)
            framer_note_anomaly(f, FRAMER_AN_PREFIX_CAPPED, wanted);
        wanted = f->cap;
    }
    f->target = (uint32_t)wanted;
    f->state = FRAMER_BODY;
    if (zero) {
        if (wire_left(w) >= wanted) {
            const uint8_t *p = wire_bytes(w, wanted);
            f->consumed = (uint32_t)wanted;
            deliver(f, p, wanted);
            finish_message(f);
            return;
        }
        if (wanted <= FRAMER_HEAD) {
            /* cannot happen (the head is all there), kept for safety */
            f->stored_in_buf = false;
        } else if (ensure_buf(f, wanted)) {
            f->stored_in_buf = true;
        } else {
            framer_note_anomaly(f, FRAMER_AN_NO_MEMORY, wanted);
            size_t n = wire_left(w);
            const uint8_t *p = wire_bytes(w, n);
            f->consumed = (uint32_t)n;
            deliver(f, p, n);
            finish_message(f);
            return;
        }
        step_body(f, w);
        return;
    }
    /* head[] holds consumed bytes */
    if (wanted <= f->consumed) {
        deliver(f, f->head, wanted);
        finish_message(f);
        return;
    }
    if (!ensure_buf(f, wanted)) {
        framer_note_anomaly(f, FRAMER_AN_NO_MEMORY, wanted);
        deliver(f, f->head, f->consumed);
        finish_message(f);
        return;
    }
    memcpy(f->buf, f->head, f->consumed);
    f->stored_in_buf = true;
    step_body(f, w);
}

static void step_head(struct framer *f, struct wire *w)
{
    if (f->consumed == 0 && wire_left(w) >= f->target) {
        struct wire view = wire_window(w, w->off, f->target);
        const uint8_t *p = wire_bytes(&view, f->target);
        head_done(f, w, p, f->target, true);
        return;
    }
    store_more(f, w);
    if (f->consumed == f->target)
        head_done(f, w, f->head, f->target, false);
}

/* --- control messages ---------------------------------------------------- */

static void control_done(struct framer *f, const uint8_t *body, size_t n)
{
    struct nbss_control dec;
    struct wire hw = wire_make(f->hdr, sizeof f->hdr);
    nbss_control_decode_parts(f->type, wire_peek_u8(&hw, 1), f->msg_len, body, n, &dec);
    if (f->cb.control)
        f->cb.control(f->ctx, f->type, body, n, &dec);
    finish_message(f);
}

static void step_control(struct framer *f, struct wire *w)
{
    if (f->consumed == 0 && wire_left(w) >= f->target) {
        const uint8_t *p = wire_bytes(w, f->target);
        f->consumed = f->target;
        control_done(f, p, f->target);
        return;
    }
    if (f->consumed == 0 && f->target > FRAMER_HEAD) {
        if (!ensure_buf(f, f->target)) {
            framer_note_anomaly(f, FRAMER_AN_NO_MEMORY, f->target);
            f->target = FRAMER_HEAD;
        } else {
            f->stored_in_buf = true;
        }
    }
    store_more(f, w);
    if (f->consumed == f->target)
        control_done(f, stored(f), f->target);
}

/* --- headers ------------------------------------------------------------- */

static void on_header(struct framer *f, struct wire *w)
{
    struct wire hw = wire_make(f->hdr, sizeof f->hdr);
    uint8_t type = wire_u8(&hw);
    uint8_t flags = wire_peek_u8(&hw, 0);
    uint32_t len24 = wire_u24be(&hw);
    f->type = type;
    f->consumed = 0;
    f->msg_flags = 0;
    f->stored_in_buf = false;
    if (type == NBSS_SESSION_MESSAGE) {
        f->stats.messages++;
        f->msg_len = len24;
        if (f->obs)
            transport_obs_count_nbss(f->obs, NBSS_SESSION_MESSAGE, len24);
        if (len24 > NBSS_MAX_LENGTH)
            framer_note_anomaly(f, FRAMER_AN_LENGTH_OVER_17BIT, len24);
        f->target = len24 < FRAMER_HEAD ? len24 : FRAMER_HEAD;
        f->state = FRAMER_HEADBYTES;
        step_head(f, w);
        return;
    }
    if (type >= NBSS_SESSION_REQUEST && type <= NBSS_KEEPALIVE && (flags & 0xfe) == 0) {
        f->stats.controls++;
        if (f->obs)
            transport_obs_count_nbss(f->obs, type, len24);
        f->msg_len = len24; /* flags byte is 0 or 1 (E): the 17-bit length */
        int fixed = nbss_control_fixed_length(type);
        if (fixed >= 0 ? len24 != (uint32_t)fixed : len24 > FRAMER_CONTROL_MAX)
            framer_note_anomaly(f, FRAMER_AN_CONTROL_LENGTH, ((uint64_t)type << 24) | len24);
        f->target = len24 < FRAMER_CONTROL_MAX ? len24 : FRAMER_CONTROL_MAX;
        f->state = FRAMER_CONTROL;
        step_control(f, w);
        return;
    }
    framer_note_anomaly(f, FRAMER_AN_UNKNOWN_TYPE, ((uint64_t)type << 24) | len24);
    enter_resync(f, f->hdr + 1, 3, 1);
}

static void step_header(struct framer *f, struct wire *w)
{
    if (f->hdr_have == 0 && wire_left(w) >= 4) {
        /* the whole header in this chunk (nearly always): a fixed-size
         * copy, where the general one below calls memcpy() for a few bytes */
        memcpy(f->hdr, wire_bytes(w, 4), 4);
        on_header(f, w);
        return;
    }
    size_t k = 4u - f->hdr_have;
    if (k > wire_left(w))
        k = wire_left(w);
    const uint8_t *src = wire_bytes(w, k);
    if (k && src)
        memcpy(f->hdr + f->hdr_have, src, k);
    f->hdr_have = (uint8_t)(f->hdr_have + k);
    if (f->hdr_have < 4)
        return;
    f->hdr_have = 0;
    on_header(f, w);
}

/* --- driver -------------------------------------------------------------- */

void framer_run(struct framer *f, struct wire *w)
{
    while (wire_left(w) > 0) {
        switch (f->state) {
        case FRAMER_HEADER: step_header(f, w); break;
        case FRAMER_HEADBYTES: step_head(f, w); break;
        case FRAMER_BODY: step_body(f, w); break;
        case FRAMER_CONTROL: step_control(f, w); break;
        case FRAMER_SKIP: {
            size_t k = wire_left(w) < f->skip_left ? wire_left(w) : f->skip_left;
            wire_skip(w, k);
            f->skip_left -= (uint32_t)k;
            if (!f->skip_left)
                f->state = FRAMER_HEADER;
            break;
        }
        case FRAMER_RESYNC: framer_step_resync(f, w); break;
        }
    }
}

void framer_feed(struct framer *f, const uint8_t *p, size_t n)
{
    struct wire w = wire_make(p, n);
    f->stats.bytes += wire_left(&w);
    framer_run(f, &w);
}

static void lose_sync(struct framer *f, uint64_t gap)
{
    framer_note_anomaly(f, FRAMER_AN_GAP_LOST_SYNC, gap);
    enter_resync(f, NULL, 0, 0);
}

void framer_gap(struct framer *f, uint64_t n)
{
    if (n == 0)
        return;
    f->stats.gap_bytes += n;
    switch (f->state) {
    case FRAMER_SKIP:
        if (n <= f->skip_left) {
            f->skip_left -= (uint32_t)n;
            if (!f->skip_left)
                f->state = FRAMER_HEADER;
            return;
        }
        lose_sync(f, n);
        return;
    case FRAMER_HEADER:
        lose_sync(f, n);
        return;
    case FRAMER_HEADBYTES:
    case FRAMER_BODY:
    case FRAMER_CONTROL: {
        framer_note_anomaly(f, FRAMER_AN_MESSAGE_CUT, f->msg_len);
        if (f->state != FRAMER_CONTROL) {
            /* the head never reached want(): judge the id if it arrived */
            if (f->state == FRAMER_HEADBYTES && f->consumed >= 4)
                note_smb(f, f->head, f->consumed);
            f->msg_flags |= FRAMER_MSG_CUT;
            deliver(f, stored(f), f->consumed);
        }
        uint64_t rest = f->msg_len - f->consumed;
        f->stored_in_buf = false;
        if (n < rest) {
            f->state = FRAMER_SKIP;
            f->skip_left = (uint32_t)(rest - n);
        } else if (n == rest) {
            f->state = FRAMER_HEADER;
        } else {
            lose_sync(f, n - rest);
        }
        return;
    }
    case FRAMER_RESYNC:
        f->carry_len = 0;
        return;
    }
}

void framer_skip(struct framer *f, uint64_t n)
{
    if (f->state == FRAMER_SKIP) {
        uint64_t k = n < f->skip_left ? n : f->skip_left;
        f->skip_left -= (uint32_t)k;
        if (!f->skip_left)
            f->state = FRAMER_HEADER;
        n -= k;
    }
    /* dropping more than was skippable loses real bytes: a gap */
    framer_gap(f, n);
}

void framer_passed(struct framer *f, uint64_t n)
{
    if (f->state != FRAMER_SKIP || n > f->skip_left) {
        /* never from a reassembler that passed what framer_skippable()
         * said: bytes the framer needed and did not see are a gap to it */
        framer_gap(f, n);
        return;
    }
    f->stats.bytes += n;
    f->skip_left -= (uint32_t)n;
    if (!f->skip_left)
        f->state = FRAMER_HEADER;
}
