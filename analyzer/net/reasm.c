/* reasm.c - one direction of a TCP stream, put back in order.
 *
 * Policies (decided here, documented once):
 *
 * - Overlaps: FIRST COPY WINS.  Bytes already delivered or already held are
 *   never replaced by a later copy (the policy of most target-based
 *   reassemblers for the common stacks, and the only one possible with zero
 *   copy delivery).  When a later copy overlaps HELD bytes and differs, the
 *   segment is counted in overlap_conflicts.  Bytes already DELIVERED went
 *   out zero copy; to compare a later copy with them, a direction that has
 *   retransmitted once keeps a ring of its last lim->history delivered bytes
 *   (charged to the total budget), so conflicts with recently delivered
 *   data are caught from the second retransmission on.  Older bytes, and
 *   the first retransmission of a direction, are counted as retransmissions
 *   without comparison.
 * - Mid-stream start (no SYN): the direction starts at the first segment that
 *   carries data or a FIN (its own pure ACKs are not trusted: a 0-byte
 *   keep-alive sits at next-1), or earlier at the first acknowledgement from
 *   the peer (reasm_ack), which is exact: the peer acknowledges only what it
 *   received.  Bytes that later arrive before that offset are NOT
 *   rebased in: by then data has been delivered zero-copy.  They are counted
 *   in pre_start_bytes and dropped.  A direction whose SYN was missed but
 *   whose peer's SYN-ACK was seen starts exactly at the SYN-ACK's ack
 *   (reasm_start from the flow table).
 * - Keep-alive: a 1-byte segment at next-1 is a probe, counted, not data.
 * - Snaplen: the cut tail of a segment is a gap (truncated_bytes) at its
 *   place in the stream, as soon as the stream reaches it.
 * - Lost segments: a hole becomes a gap when (a) the peer acknowledged past it
 *   and ack_lag more segments of this direction were seen (the data will not
 *   come any more: the receiver had it), only up to data already seen beyond
 *   it; (b) a cap is hit; (c) the direction ends (reasm_finish), where the
 *   FIN offset or the highest acknowledgement also reveals a lost tail.  An
 *   acknowledgement exactly one beyond all data with no FIN captured is taken
 *   as the ACK of an uncaptured FIN, not as a lost byte.
 * - Skip: a pending skip moves 'next' forward before anything else happens;
 *   held pieces and segment parts below 'next' are then dropped unseen.
 * - Pass (quiet range): everything is done as for any data (counters,
 *   history, holes, held pieces, caps), only the consumer's data() is not
 *   called for the range's bytes: their number is told by one passed()
 *   before the next callback.  A gap is told whole, wherever it starts, so
 *   the consumer's view (bytes then gaps, in order) is what it was.
 */
#include "reasm.h"

#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "packet.h"
#include "wire.h"

struct reasm_piece {
    struct reasm_piece *prev, *next;
    uint64_t off;
    uint32_t len;
    bool missing; /* known-missing range (snaplen cut): no bytes stored */
    uint8_t data[];
};

/* What a piece is charged against the caps: its memory, but at least
 * PIECE_MIN_COST, so a flood of tiny out-of-order segments cannot make the
 * sorted list long (insertion walks it): at most cap / PIECE_MIN_COST
 * pieces per direction (4096 with the 1 MiB default). */
#define PIECE_MIN_COST 256u

static uint64_t piece_cost(uint32_t len, bool missing)
{
    uint64_t c = sizeof(struct reasm_piece) + (missing ? 0 : len);
    return c < PIECE_MIN_COST ? PIECE_MIN_COST : c;
}

void reasm_limits_default(struct reasm_limits *lim)
{
    lim->dir_cap = REASM_DEFAULT_DIR_CAP;
    lim->ack_lag = REASM_DEFAULT_ACK_LAG;
    lim->history = REASM_DEFAULT_HISTORY;
}

void reasm_init_cleared(struct reasm_dir *d, const struct reasm_limits *lim, struct reasm_budget *budget,
                        const struct reasm_consumer *cb, void *ctx)
{
    d->lim = lim;
    d->budget = budget;
    d->cb = cb;
    d->ctx = ctx;
}

void reasm_init(struct reasm_dir *d, const struct reasm_limits *lim, struct reasm_budget *budget,
                const struct reasm_consumer *cb, void *ctx)
{
    memset(d, 0, sizeof *d);
    reasm_init_cleared(d, lim, budget, cb, ctx);
}

void reasm_start(struct reasm_dir *d, uint32_t first_seq, bool midstream)
{
    if (d->started)
        return;
    d->started = true;
    d->midstream = midstream;
    d->base = first_seq;
}

/* Serial-number arithmetic: the offset of seq, taken within 2^31 of next. */
static int64_t unwrap(const struct reasm_dir *d, uint32_t seq)
{
    uint32_t at_next = d->base + (uint32_t)d->next;
    uint32_t u = seq - at_next;
    int64_t delta = u < 0x80000000u ? (int64_t)u : (int64_t)u - (int64_t)0x100000000;
    return (int64_t)d->next + delta;
}

/* ---- history of delivered bytes (conflict detection only) ---- */

static void hist_enable(struct reasm_dir *d)
{
    uint32_t h = d->lim->history;
    if (d->hist || !h || d->budget->used + h > d->budget->cap)
        return;
    d->hist = malloc(h);
    if (!d->hist)
        return;
    d->hist_valid = 0;
    d->budget->used += h;
    if (d->budget->used > d->budget->peak)
        d->budget->peak = d->budget->used;
}

/* bytes[0..len) were just delivered and end at d->next. */
static void hist_append(struct reasm_dir *d, const uint8_t *bytes, uint64_t len)
{
    uint32_t h = d->lim->history;
    uint64_t n = len < h ? len : h;
    uint64_t off = d->next - n;
    struct wire w = wire_make(bytes, (size_t)len);
    struct wire src = wire_window(&w, (size_t)(len - n), (size_t)n);
    uint64_t done = 0;
    while (src.p && done < n) {
        uint32_t pos = (uint32_t)((off + done) % h);
        uint64_t k = n - done < h - pos ? n - done : h - pos;
        memcpy(d->hist + pos, wire_window(&src, (size_t)done, (size_t)k).p, (size_t)k);
        done += k;
    }
    d->hist_valid = d->hist_valid + len < h ? d->hist_valid + len : h;
}

/* Do bytes [s, s+cap_len) differ from what was delivered there, as far as
 * the history remembers? */
static bool hist_differs(const struct reasm_dir *d, uint64_t s, const uint8_t *bytes, uint32_t cap_len)
{
    if (!d->hist || !d->hist_valid || !bytes)
        return false;
    uint32_t h = d->lim->history;
    uint64_t a = d->next - d->hist_valid, b = s + cap_len;
    if (s > a)
        a = s;
    if (b > d->next)
        b = d->next;
    struct wire w = wire_make(bytes, cap_len);
    for (uint64_t o = a; o < b;) {
        uint32_t pos = (uint32_t)(o % h);
        uint64_t k = b - o < h - pos ? b - o : h - pos;
        const uint8_t *q = wire_window(&w, (size_t)(o - s), (size_t)k).p;
        if (q && memcmp(d->hist + pos, q, (size_t)k) != 0)
            return true;
        o += k;
    }
    return false;
}

static void apply_skip(struct reasm_dir *d)
{
    if (d->skip) {
        d->hist_valid = 0; /* skipped bytes are not remembered */
        d->next += d->skip;
        d->st.skipped_bytes += d->skip;
        d->quiet_left = d->skip < d->quiet_left ? d->quiet_left - (uint32_t)d->skip : 0;
        d->skip = 0;
    }
}

/* Tell the consumer the quiet data that went by since it last heard. */
static void flush_quiet(struct reasm_dir *d)
{
    if (d->quiet_fed) {
        uint32_t n = d->quiet_fed;
        d->quiet_fed = 0;
        d->cb->passed(d->ctx, n, d->ts_us);
    }
}

/* Hand [off, off+len) to the consumer: bytes, or a gap when bytes is NULL.
 * The part below next (already delivered or skipped) is dropped. */
static void emit(struct reasm_dir *d, uint64_t off, const uint8_t *bytes, uint64_t len, bool truncated)
{
    apply_skip(d);
    if (off > d->next) /* never expected; keep the stream contiguous anyway */
        emit(d, d->next, NULL, off - d->next, false);
    uint64_t end = off + len;
    if (end <= d->next)
        return;
    if (off < d->next) {
        uint64_t cut = d->next - off;
        if (bytes) {
            struct wire w = wire_make(bytes, (size_t)len);
            bytes = wire_window(&w, (size_t)cut, (size_t)(len - cut)).p;
        }
        len -= cut;
    }
    d->next = end;
    /* the part of [off, end) inside the quiet range (reasm_pass()) */
    uint32_t quiet = len < d->quiet_left ? (uint32_t)len : d->quiet_left;
    d->quiet_left -= quiet;
    if (bytes) {
        d->st.bytes += len;
        if (d->hist)
            hist_append(d, bytes, len);
        if (quiet) {
            /* counted above as any data; the consumer hears of it later,
             * in one passed() call, and sees only what follows */
            d->quiet_fed += quiet;
            if (quiet == len)
                return;
            struct wire w = wire_make(bytes, (size_t)len);
            bytes = wire_window(&w, quiet, (size_t)(len - quiet)).p;
            len -= quiet;
        }
        flush_quiet(d);
        if (d->cb->data)
            d->cb->data(d->ctx, bytes, (size_t)len, d->ts_us);
    } else {
        d->hist_valid = 0;
        d->st.gaps++;
        d->st.gap_bytes += len;
        if (!d->st.bytes) {
            d->st.lead_gaps++;
            d->st.lead_gap += len;
        }
        if (truncated)
            d->st.truncated_bytes += len;
        /* a gap is told whole as before, quiet or not: the consumer
         * knew the range was there to skip and takes it as a gap in it */
        flush_quiet(d);
        if (d->cb->gap)
            d->cb->gap(d->ctx, len, d->ts_us);
    }
}

static void unlink_piece(struct reasm_dir *d, struct reasm_piece *p) { DLIST_REMOVE(d->head, d->tail, p, prev, next); }

static void free_piece(struct reasm_dir *d, struct reasm_piece *p)
{
    uint64_t c = piece_cost(p->len, p->missing);
    d->held_bytes -= c;
    d->budget->used -= c;
    free(p);
}

/* Deliver held pieces that the stream has reached. */
static void drain(struct reasm_dir *d)
{
    for (;;) {
        apply_skip(d);
        struct reasm_piece *h = d->head;
        if (!h || h->off > d->next)
            return;
        unlink_piece(d, h); /* before the callback: it may call reasm_skip */
        emit(d, h->off, h->missing ? NULL : h->data, h->len, h->missing);
        free_piece(d, h);
    }
}

/* Turn every hole below target into a gap, delivering held data between. */
static void resolve_holes(struct reasm_dir *d, uint64_t target)
{
    for (;;) {
        drain(d);
        if (d->next >= target)
            return;
        uint64_t hole_end = target;
        if (d->head && d->head->off < hole_end)
            hole_end = d->head->off;
        emit(d, d->next, NULL, hole_end - d->next, false);
    }
}

/* Compare the new bytes [c, c+n) with held piece h; true when they differ. */
static bool differs(const struct reasm_piece *h, uint64_t c, uint64_t n, const uint8_t *bytes, uint64_t bytes_off,
                    uint32_t bytes_len)
{
    if (h->missing || !bytes)
        return false;
    struct wire w = wire_make(bytes, bytes_len);
    struct wire nw = wire_window(&w, (size_t)(c - bytes_off), (size_t)n);
    if (!nw.p)
        return false;
    return memcmp(h->data + (c - h->off), nw.p, (size_t)n) != 0;
}

/* In-order delivery of [s, e_wire) where s <= next: packet bytes go
 * straight to the consumer, except where a held piece already covers the
 * range (first copy wins: the held piece is delivered instead). */
static void deliver_merge(struct reasm_dir *d, uint64_t s, const uint8_t *bytes, uint32_t cap_len,
                          uint32_t wire_len, bool *overlap, bool *conflict)
{
    uint64_t e_cap = s + cap_len, e_wire = s + wire_len;
    struct wire w = wire_make(bytes, cap_len);
    for (;;) {
        apply_skip(d);
        uint64_t c = d->next;
        if (c >= e_wire)
            break;
        struct reasm_piece *h = d->head;
        if (h && h->off <= c) {
            uint64_t hend = h->off + h->len;
            if (hend > c && c < e_wire) {
                *overlap = true;
                uint64_t ov_end = hend < e_cap ? hend : e_cap;
                if (ov_end > c && differs(h, c, ov_end - c, bytes, s, cap_len))
                    *conflict = true;
            }
            unlink_piece(d, h);
            emit(d, h->off, h->missing ? NULL : h->data, h->len, h->missing);
            free_piece(d, h);
            continue;
        }
        uint64_t lim = e_wire;
        if (h && h->off < lim)
            lim = h->off;
        if (c < e_cap) {
            uint64_t end = lim < e_cap ? lim : e_cap;
            struct wire part = wire_window(&w, (size_t)(c - s), (size_t)(end - c));
            emit(d, c, part.p, end - c, false);
        } else {
            emit(d, c, NULL, lim - c, true);
        }
    }
    drain(d);
}

/* The first held piece that ends after offset c, or NULL.  Pieces are
 * sorted and disjoint, so their ends increase: walk from whichever end of
 * the list is nearer (appending after the tail, the common case, is O(1)). */
static struct reasm_piece *first_ending_after(const struct reasm_dir *d, uint64_t c)
{
    struct reasm_piece *t = d->tail, *h = d->head;
    if (!t || t->off + t->len <= c)
        return NULL;
    if (c < h->off + h->len)
        return h;
    if (c >= t->off || t->off - c < c - h->off) {
        while (t->prev && t->prev->off + t->prev->len > c)
            t = t->prev;
        return t;
    }
    while (h->off + h->len <= c)
        h = h->next;
    return h;
}

/* Walk the held list for the range [off, off+len): with dry set, return the
 * memory the missing parts would cost; otherwise insert them (copying bytes)
 * and report overlaps with held pieces.  Returns the cost. */
static uint64_t hold_range(struct reasm_dir *d, uint64_t off, const uint8_t *bytes, uint32_t len, bool missing,
                           bool dry, bool *overlap, bool *conflict, bool *added)
{
    uint64_t c = off, e = off + len, cost = 0;
    struct reasm_piece *p = first_ending_after(d, c);
    struct wire w = wire_make(bytes, missing ? 0 : len);
    while (c < e) {
        uint64_t piece_end = e;
        if (p && p->off < piece_end)
            piece_end = p->off;
        if (piece_end > c) {
            uint32_t n = (uint32_t)(piece_end - c);
            cost += piece_cost(n, missing);
            if (!dry) {
                struct reasm_piece *q = malloc(sizeof *q + (missing ? 0 : n));
                if (!q) /* out of memory: leave the hole; it becomes a gap later */
                    return cost;
                q->off = c;
                q->len = n;
                q->missing = missing;
                if (!missing)
                    memcpy(q->data, wire_window(&w, (size_t)(c - off), n).p, n);
                DLIST_INSERT_BEFORE(d->head, d->tail, p, q, prev, next);
                uint64_t qc = piece_cost(n, missing);
                d->held_bytes += qc;
                d->budget->used += qc;
                if (d->budget->used > d->budget->peak)
                    d->budget->peak = d->budget->used;
                if (d->held_bytes > d->st.held_peak)
                    d->st.held_peak = d->held_bytes;
                *added = true;
            }
            c = piece_end;
            continue;
        }
        /* p covers c: first copy wins, compare only. */
        uint64_t pend = p->off + p->len;
        uint64_t ov_end = pend < e ? pend : e;
        if (!dry) {
            *overlap = true;
            if (!missing && differs(p, c, ov_end - c, bytes, off, len))
                *conflict = true;
        }
        c = ov_end;
        p = p->next;
    }
    return cost;
}

static bool over_cap(const struct reasm_dir *d, uint64_t cost, bool *total)
{
    *total = d->budget->used + cost > d->budget->cap;
    return *total || d->held_bytes + cost > d->lim->dir_cap;
}

/* The segment's data [s, s+wire_len) with s > next (after skip): hold it,
 * making room by declaring the oldest hole lost when a cap would be passed. */
static void hold_segment(struct reasm_dir *d, uint64_t s, const uint8_t *bytes, uint32_t cap_len,
                         uint32_t wire_len, bool *overlap, bool *conflict, bool *added)
{
    bool dummy = false, total = false, hit = false;
    for (;;) {
        uint64_t cost = hold_range(d, s, bytes, cap_len, false, true, &dummy, &dummy, &dummy) +
                        hold_range(d, s + cap_len, NULL, wire_len - cap_len, true, true, &dummy, &dummy, &dummy);
        if (!over_cap(d, cost, &total))
            break;
        if (!hit) {
            hit = true;
            d->st.cap_hits++;
            d->budget->any_cap_hits++;
            if (total)
                d->budget->cap_hits++;
        }
        uint64_t hole_end = s;
        if (d->head && d->head->off < hole_end)
            hole_end = d->head->off;
        if (hole_end > d->next)
            emit(d, d->next, NULL, hole_end - d->next, false);
        drain(d);
        if (s <= d->next) { /* the segment is in order now: no memory needed */
            deliver_merge(d, s, bytes, cap_len, wire_len, overlap, conflict);
            *added = true;
            return;
        }
    }
    if (cap_len)
        hold_range(d, s, bytes, cap_len, false, false, overlap, conflict, added);
    if (wire_len > cap_len)
        hold_range(d, s + cap_len, NULL, wire_len - cap_len, true, false, overlap, conflict, added);
}

/* Age the peer's acknowledgement: once ack_lag segments went by after the
 * peer acknowledged past a hole, the hole's bytes will not come. */
static void age_ack(struct reasm_dir *d)
{
    apply_skip(d);
    if (d->ack_mark <= d->next) {
        d->ack_mark = d->acked_end;
        d->ack_age = 0;
        return;
    }
    if (++d->ack_age < d->lim->ack_lag)
        return;
    uint64_t target = d->ack_mark < d->seen_end ? d->ack_mark : d->seen_end;
    if (target > d->next)
        resolve_holes(d, target);
    d->ack_mark = d->acked_end;
    d->ack_age = 0;
}

/* The segment every bulk transfer is made of: the next bytes in order,
 * whole, no SYN or FIN, nothing held or pending, data of 2 bytes or more
 * (1 may be a keep-alive).  What reasm_segment() below does with it, its
 * tests all decided by these few. */
static bool in_order_path = true; /* reasm_set_in_order_path(): tests only */

void reasm_set_in_order_path(bool on) { in_order_path = on; }

static bool segment_in_order(struct reasm_dir *d, uint32_t seq, uint8_t flags, const uint8_t *payload,
                             uint32_t cap_len, uint32_t wire_len, int64_t ts_us)
{
    if (!in_order_path || (flags & (TCP_SYN | TCP_FIN)) || !d->started || d->ended || d->head || d->skip || !payload ||
        cap_len != wire_len || wire_len < 2 || seq != d->base + (uint32_t)d->next)
        return false;
    d->ts_us = ts_us;
    uint64_t s = d->next, e = s + wire_len;
    if (e > d->seen_end)
        d->seen_end = e;
    emit(d, s, payload, wire_len, false);
    apply_skip(d);
    age_ack(d);
    return true;
}

void reasm_segment(struct reasm_dir *d, uint32_t seq, uint8_t flags, const uint8_t *payload,
                   uint32_t cap_len, uint32_t wire_len, int64_t ts_us)
{
    if (segment_in_order(d, seq, flags, payload, cap_len, wire_len, ts_us))
        return;
    if (d->ended)
        return;
    d->ts_us = ts_us;
    if (cap_len > wire_len) /* a decoder bug; trust what we hold */
        wire_len = cap_len;
    if (!payload)
        cap_len = 0;
    if (flags & TCP_SYN) {
        if (!d->started || (!d->syn_seen && !d->midstream && d->base == seq + 1)) {
            reasm_start(d, seq + 1, false);
            d->syn_seen = true;
            d->isn = seq;
        }
        seq += 1;
    }
    if (!d->started) {
        if (wire_len == 0 && !(flags & TCP_FIN))
            return; /* a pure ACK does not fix where the data starts */
        reasm_start(d, seq, true);
    }

    int64_t s_signed = unwrap(d, seq);
    int64_t e_signed = s_signed + wire_len;
    if ((flags & TCP_FIN) && !d->fin_seen && e_signed >= 0) {
        d->fin_seen = true;
        d->fin_off = (uint64_t)e_signed;
    }
    if (wire_len == 0) {
        age_ack(d);
        return;
    }
    if (e_signed <= 0) {
        d->st.pre_start_bytes += wire_len;
        return;
    }
    if (s_signed < 0) { /* mid-stream: bytes before the first seen offset */
        uint32_t cut = (uint32_t)-s_signed;
        d->st.pre_start_bytes += cut;
        struct wire w = wire_make(payload, cap_len);
        if (cut >= cap_len) {
            payload = NULL;
            cap_len = 0;
        } else {
            payload = wire_window(&w, cut, cap_len - cut).p;
            cap_len -= cut;
        }
        wire_len -= cut;
        s_signed = 0;
    }
    uint64_t s = (uint64_t)s_signed, e = s + wire_len;
    uint64_t seen_before = d->seen_end;
    if (e > d->seen_end)
        d->seen_end = e;

    apply_skip(d);
    if (wire_len == 1 && !(flags & (TCP_SYN | TCP_FIN)) && d->next > 0 && s + 1 == d->next) {
        d->st.keepalives++;
        age_ack(d);
        return;
    }

    bool overlap = false, conflict = false, added = false;
    if (s < d->next && s < seen_before) { /* a copy of bytes already delivered */
        overlap = true;
        conflict = hist_differs(d, s, payload, cap_len);
        hist_enable(d);
    }
    if (e <= d->next) {
        if (conflict)
            d->st.overlap_conflicts++;
        else if (e <= seen_before) /* not merely skipped-over new bytes */
            d->st.retransmissions++;
        age_ack(d);
        return;
    }
    if (s == d->next && !d->head && cap_len == wire_len) {
        /* In order, nothing held, nothing cut (most segments): the packet's
         * bytes go to the consumer as they are; what deliver_merge() would
         * do, without its walk. */
        emit(d, s, payload, wire_len, false);
        apply_skip(d);
        added = true;
    } else if (s <= d->next) {
        deliver_merge(d, s, payload, cap_len, wire_len, &overlap, &conflict);
        added = true;
    } else {
        hold_segment(d, s, payload, cap_len, wire_len, &overlap, &conflict, &added);
        if (added && s > d->next)
            d->st.out_of_order++;
    }
    if (conflict)
        d->st.overlap_conflicts++;
    else if (overlap || !added)
        d->st.retransmissions++;
    if (conflict || overlap || !added)
        hist_enable(d); /* this direction retransmits: remember from now on */
    age_ack(d);
}

void reasm_ack(struct reasm_dir *d, uint32_t ack, int64_t ts_us)
{
    if (d->ended)
        return;
    if (!d->started) {
        /* No segment of this direction yet: the peer says where its data
         * stands.  Anything it acknowledges later and we never see is a gap
         * (a one-sided capture still tells how much was sent). */
        reasm_start(d, ack, true);
        return;
    }
    (void)ts_us;
    int64_t a = unwrap(d, ack);
    if (a <= (int64_t)d->next || (uint64_t)a - d->next > (1u << 30))
        return;
    uint64_t ua = (uint64_t)a;
    if (d->fin_seen && ua > d->fin_off) {
        ua = d->fin_off; /* the FIN's own sequence number is not data */
        d->fin_acked = true;
    }
    if (ua > d->acked_end)
        d->acked_end = ua;
    if (d->ack_mark <= d->next) { /* start aging from this acknowledgement */
        d->ack_mark = d->acked_end;
        d->ack_age = 0;
    }
}

void reasm_skip(struct reasm_dir *d, uint64_t n)
{
    d->skip += n;
}

void reasm_pass(struct reasm_dir *d, uint64_t n)
{
    d->quiet_left = n < UINT32_MAX ? (uint32_t)n : UINT32_MAX;
}

void reasm_finish(struct reasm_dir *d, int64_t ts_us)
{
    if (d->ended)
        return;
    if (ts_us > d->ts_us)
        d->ts_us = ts_us;
    if (d->started) {
        if (d->tail)
            resolve_holes(d, d->tail->off + d->tail->len);
        uint64_t end;
        if (d->fin_seen) {
            end = d->fin_off;
        } else {
            end = d->acked_end;
            uint64_t have = d->next > d->seen_end ? d->next : d->seen_end;
            if (end == have + 1) /* the ACK of a FIN we did not capture */
                end = have;
        }
        apply_skip(d);
        if (end > d->next)
            resolve_holes(d, end);
    }
    d->ended = true;
    reasm_release(d);
    flush_quiet(d);
    d->quiet_left = 0;
    if (d->cb->end)
        d->cb->end(d->ctx, d->ts_us);
}

void reasm_release(struct reasm_dir *d)
{
    if (d->hist) {
        free(d->hist);
        d->hist = NULL;
        d->hist_valid = 0;
        d->budget->used -= d->lim->history;
    }
    while (d->head) {
        struct reasm_piece *p = d->head;
        unlink_piece(d, p);
        free_piece(d, p);
    }
}
