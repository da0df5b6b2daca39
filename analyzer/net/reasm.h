/* reasm.h - one direction of a TCP byte stream, put back in order.
 *
 * The reassembler turns segments (in capture order) into an ordered series of
 * consumer callbacks: data(bytes) for bytes seen on the wire, gap(len) for
 * bytes that were sent but are not in the capture, then end().  Every byte
 * offset of the stream is covered by exactly one data, gap, passed or skip,
 * in order (passed: data the consumer asked not to be shown, reasm_pass()).
 *
 * Offsets are 64-bit positions from the first data byte of the direction (the
 * byte after the SYN, or the first byte seen when the capture starts mid
 * connection); 32-bit sequence numbers are unwrapped with serial-number
 * arithmetic (RFC 1982) against the next expected offset, so a stream may
 * cross 2^32 any number of times.
 *
 * Memory: in-order data is handed to the consumer straight from the packet
 * buffer (zero copy, no allocation).  Only out-of-order data is copied, into
 * malloc'd pieces whose total is capped per direction (reasm_limits.dir_cap)
 * and across all directions sharing one reasm_budget.  A cap hit declares the
 * oldest hole lost (a gap) so held data can be delivered and freed.
 */
#ifndef SMBSCOPE_REASM_H
#define SMBSCOPE_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reasm_consumer {
    /* bytes[0..len) follow everything delivered before; valid only during
     * the call.  ts_us is the capture time of the segment that completed
     * them. */
    void (*data)(void *ctx, const uint8_t *bytes, size_t len, int64_t ts_us);
    /* len bytes were sent but are not in the capture (never zero-filled). */
    void (*gap)(void *ctx, uint64_t len, int64_t ts_us);
    /* No more callbacks for this direction. */
    void (*end)(void *ctx, int64_t ts_us);
    /* OPTIONAL (needed by reasm_pass()).  len bytes the consumer asked not
     * to be shown (reasm_pass()) went by as data: told once, before the next
     * data(), gap() or end(), so the consumer counts them where it would
     * have seen them.  ts_us: the segment being processed then. */
    void (*passed)(void *ctx, uint64_t len, int64_t ts_us);
};

/* Shared by every direction of a flow table: the total cap on held bytes. */
struct reasm_budget {
    uint64_t cap;      /* bytes (payload + bookkeeping) held at most */
    uint64_t used;     /* held now */
    uint64_t peak;     /* highest 'used' seen */
    uint64_t cap_hits; /* times the total cap forced a gap */
    uint64_t any_cap_hits; /* times any cap (direction or total) forced a gap */
};

struct reasm_limits {
    uint32_t dir_cap; /* held bytes per direction (payload + bookkeeping) */
    uint32_t ack_lag; /* segments of this direction seen after the peer
                         acknowledged past a hole before the hole is
                         declared lost (tolerates capture reordering) */
    uint32_t history; /* bytes of delivered data remembered, once a direction
                         has retransmitted, to compare later copies with
                         (conflicts against delivered data); 0 = never */
};

#define REASM_DEFAULT_DIR_CAP (1u << 20)            /* 1 MiB */
#define REASM_DEFAULT_TOTAL_CAP (16ull << 20)       /* 16 MiB: with the rest, the 64 MiB peak RSS bound */
#define REASM_DEFAULT_ACK_LAG 4u
#define REASM_DEFAULT_HISTORY 4096u

void reasm_limits_default(struct reasm_limits *lim);

struct reasm_stats {
    uint64_t bytes;             /* delivered through data() */
    uint64_t gaps, gap_bytes;   /* delivered through gap() */
    uint64_t skipped_bytes;     /* consumed by reasm_skip() */
    uint64_t retransmissions;   /* segments whose bytes were all delivered or held already */
    uint64_t out_of_order;      /* segments that arrived beyond a hole and were held */
    uint64_t overlap_conflicts; /* segments overlapping held or recently delivered
                                   bytes with different bytes (first copy kept) */
    uint64_t keepalives;        /* 1-byte probes at next-1, not part of the stream */
    uint64_t truncated_bytes;   /* cut by the snaplen (also counted in gap_bytes) */
    uint64_t pre_start_bytes;   /* mid-stream: bytes before the first seen offset, ignored */
    uint64_t cap_hits;          /* a cap forced a hole to become a gap */
    uint64_t held_peak;         /* most bytes held at once */
    uint64_t lead_gaps, lead_gap; /* gaps before the first byte delivered (a stream started from the peer's
                                   ACKs, its data later), their bytes (smbscope merge: another capture may
                                   hold them, mstate_join_frame.h) */
};

struct reasm_piece; /* held out-of-order data or a known-missing range */

struct reasm_dir {
    const struct reasm_limits *lim;
    struct reasm_budget *budget;
    const struct reasm_consumer *cb;
    void *ctx;

    bool started;    /* the offset of the first byte is known */
    bool midstream;  /* started from a data segment, not a SYN */
    bool syn_seen;
    bool fin_seen;
    bool fin_acked;  /* the peer acknowledged the FIN's own sequence number (smbscope merge: a
                        connection closed at the capture's end with a FIN not acknowledged may
                        have its last ACK in the next capture, analyzer/merge/mstate_tails.h) */
    bool ended;      /* reasm_finish() ran */
    uint32_t isn;    /* SYN sequence number (when syn_seen) */
    uint32_t base;   /* sequence number of offset 0 */

    uint64_t next;      /* offset of the next byte to hand out */
    uint64_t seen_end;  /* highest end offset of any segment seen */
    uint64_t fin_off;   /* offset the FIN occupies (== length of the stream) */
    uint64_t acked_end; /* highest offset the peer acknowledged */
    uint64_t ack_mark;  /* acknowledged offset being aged by ack_lag */
    uint32_t ack_age;   /* segments seen since ack_mark was set */
    uint32_t quiet_left; /* reasm_pass(): bytes from next on handed out without data() */
    uint64_t skip;      /* bytes the consumer asked to skip, not yet applied */
    int64_t ts_us;      /* time of the segment being processed */

    struct reasm_piece *head, *tail; /* held pieces, sorted, non-overlapping */
    uint64_t held_bytes;
    uint8_t *hist;       /* ring of the last lim->history delivered bytes, by offset */
    uint64_t hist_valid; /* bytes of it valid, ending at next */

    struct reasm_stats st;
    uint32_t quiet_fed;  /* data bytes of the quiet range not yet told through passed() */
};

/* Prepare a direction.  lim, budget and cb must outlive it. */
void reasm_init(struct reasm_dir *d, const struct reasm_limits *lim, struct reasm_budget *budget,
                const struct reasm_consumer *cb, void *ctx);

/* The same for a direction whose bytes are all zero already (a cleared
 * flow entry: the clear is not done twice). */
void reasm_init_cleared(struct reasm_dir *d, const struct reasm_limits *lim, struct reasm_budget *budget,
                        const struct reasm_consumer *cb, void *ctx);

/* Fix the sequence number of the first data byte before any segment (e.g.
 * from the ACK of a SYN-ACK when the SYN itself was not captured).  Ignored
 * once the direction has started. */
void reasm_start(struct reasm_dir *d, uint32_t first_seq, bool midstream);

/* One TCP segment of this direction.  flags are TCP_* from packet.h (SYN and
 * FIN each take one sequence number).  payload holds cap_len bytes of the
 * wire_len the segment carried (cap_len < wire_len when the snaplen cut it). */
void reasm_segment(struct reasm_dir *d, uint32_t seq, uint8_t flags, const uint8_t *payload,
                   uint32_t cap_len, uint32_t wire_len, int64_t ts_us);

/* Tests: false sends every segment through the general path, where the
 * segments of a bulk transfer (in order, whole, nothing held) take a short
 * one with the same effect (true, the default). */
void reasm_set_in_order_path(bool on);

/* The peer acknowledged this direction up to (not including) ack.  Before
 * any segment of this direction, it starts the direction there (mid-stream). */
void reasm_ack(struct reasm_dir *d, uint32_t ack, int64_t ts_us);

/* The consumer does not need the next n bytes (after everything delivered
 * so far).  May be called from inside a data() callback.  Skipped bytes are
 * never copied, never reported as data nor as gap. */
void reasm_skip(struct reasm_dir *d, uint64_t n);

/* The consumer needs no data() for the next n bytes (after everything
 * delivered so far; n < 2^32), but they stay part of the stream: unlike
 * reasm_skip(), every counter, gap, hole, cap and held piece is what it would
 * be without the call, and each byte is either a gap() as before or data
 * told in one passed() call (without data(): no callback chain per
 * segment).  A later call replaces the range.  May be called from inside a
 * data() or gap() callback; cb->passed must be set. */
void reasm_pass(struct reasm_dir *d, uint64_t n);

/* End of the direction: every hole still open, and any acknowledged or FIN
 * range not seen, becomes a gap; held data is delivered; then end().  Safe
 * to call twice. */
void reasm_finish(struct reasm_dir *d, int64_t ts_us);

/* Release held memory without callbacks (after finish, or to drop). */
void reasm_release(struct reasm_dir *d);

/* Offset of the next byte the consumer will see (for reports). */
static inline uint64_t reasm_offset(const struct reasm_dir *d) { return d->next + d->skip; }

#endif
