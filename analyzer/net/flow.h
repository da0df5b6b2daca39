/* flow.h - the TCP connection table.
 *
 * Feed every decoded packet (struct packet, analyzer/net/packet.h) in capture
 * order; TCP packets are matched to a connection by (family, both
 * addresses, both ports) in either orientation, each direction is put back in
 * order by analyzer/net/reasm.h, and an observer is told about connections,
 * segments, stream bytes and gaps.  Non-TCP packets are ignored.
 *
 * Direction 0 is initiator -> responder.  The initiator is the sender of the
 * SYN; without one, the receiver of a SYN-ACK; without either, the sender of
 * the first packet seen (initiator_guessed set).
 *
 * Time is capture time only; the clock is never read.  Capture time is not
 * trusted to be monotonic (merged captures, multi-interface captures with
 * skewed clocks, broken timestamps): a connection is idle when the current
 * packet's time is more than its timeout past the connection's last packet
 * (so a packet from the past expires nothing), the packet's own connection
 * is never expired by it, and the time used is the earlier of the packet's
 * and the packet before it, so one packet far in the future does not end
 * every connection (the packet after it confirms a real jump).  Steps back
 * of more than FLOW_JUMP_BACK_US or forward of more than FLOW_JUMP_FORWARD_US
 * are counted (flow_stats.time_jumps).  Memory is bounded: max_conns connections (the least recently
 * active is evicted, closed-first, and counted) and the reassembly caps of
 * reasm.h.
 */
#ifndef SMBSCOPE_FLOW_H
#define SMBSCOPE_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "packet.h"
#include "reasm.h"

struct flow_limits {
    uint32_t max_conns;          /* concurrent connections kept */
    int64_t idle_established_us; /* idle timeout, handshake done or mid-stream */
    int64_t idle_half_open_us;   /* idle timeout, SYN seen but not established */
    int64_t idle_closed_us;      /* linger after FIN both ways or RST (late ACKs) */
    uint32_t max_closed;         /* closed connections lingering at once; past it the oldest ends */
    uint32_t dir_buffer_cap;     /* out-of-order bytes held per direction */
    uint64_t total_buffer_cap;   /* out-of-order bytes held across all flows */
    uint32_t ack_lag;            /* see reasm_limits.ack_lag */
    uint32_t history_bytes;      /* see reasm_limits.history */
};

/* Defaults: 10,000 connections (712 bytes each on x86-64, about 2.1 KB
 * with an SMB session: the 64 MiB peak RSS bound holds with 100,000 SMB
 * connections open at once; a SYN scan fills it with half-open entries,
 * evicted first after closed ones, that expire in 2 min),
 * 2 h established (the TCP keep-alive default), 2 min half-open (a SYN is
 * retried for about 2 min),
 * 1 min after close (at most FLOW_DEFAULT_MAX_CLOSED closed connections
 * lingering at once), 1 MiB per direction, 16 MiB in total, ack_lag 4,
 * 4 KiB of history for directions that retransmit. */
void flow_limits_default(struct flow_limits *lim);

enum flow_hs_state {
    FLOW_HS_NONE = 0,    /* no SYN nor SYN-ACK seen (mid-stream) */
    FLOW_HS_SYN,         /* SYN seen */
    FLOW_HS_SYNACK,      /* SYN-ACK seen */
    FLOW_HS_ESTABLISHED, /* initiator ACKed the SYN-ACK (or sent data after it) */
};

#define FLOW_MAX_OBSERVERS 4
#define FLOW_DEFAULT_MAX_CLOSED 1024u
#define FLOW_JUMP_BACK_US INT64_C(1000000)           /* a clock that goes back a second */
#define FLOW_JUMP_FORWARD_US INT64_C(86400000000)    /* or forward a day at once */

enum flow_close_reason {
    FLOW_CLOSE_FIN = 0, /* FIN both ways; ended by linger timeout, reuse or end of input */
    FLOW_CLOSE_RST,     /* a RST was seen; ended likewise */
    FLOW_CLOSE_IDLE,    /* idle timeout while open */
    FLOW_CLOSE_EVICTED, /* the table was full */
    FLOW_CLOSE_REUSED,  /* a new SYN on the same ports while still open */
    FLOW_CLOSE_END,     /* end of input while still open */
};

const char *flow_close_reason_name(enum flow_close_reason r);

struct flow_dir_stats {
    uint64_t packets;
    uint64_t bytes; /* TCP payload bytes on the wire */
};

struct flow_conn {
    /* What a look-up reads, together at the start (one cache line): the
     * index holds the hash too, and an entry is read when its hash is the
     * packet's. */
    uint64_t hash;
    struct flow_conn *next;   /* the table's list of spare entries */
    struct ip_addr addr[2];   /* [0] initiator, [1] responder */
    uint16_t port[2];
    uint64_t id;              /* 1-based, in order of opening */

    bool initiator_guessed;   /* no SYN or SYN-ACK told who opened it */
    bool midstream;           /* no SYN seen from the initiator */
    enum flow_hs_state hs;
    bool rst_seen;
    uint8_t rst_dir;          /* direction of the first RST */
    bool fin[2];
    uint32_t isn[2];          /* when seen in a SYN / SYN-ACK */
    bool isn_known[2];
    int64_t first_ts_us, last_ts_us;
    uint64_t first_frame, last_frame;
    struct flow_dir_stats dir[2];
    struct reasm_dir stream[2]; /* stream[d].st holds the per-direction counters */

    void *user[FLOW_MAX_OBSERVERS]; /* one per observer, passed to its callbacks */

    /* table bookkeeping */
    struct flow_conn *lprev, *lnext;    /* activity list of its timeout class */
    uint8_t tclass;
    struct flow_table *table;
};

/* What an observer is told.  user is the observer's own per-connection
 * pointer (NULL at conn_open, kept as the observer leaves it). */
struct flow_observer {
    void (*conn_open)(void *ctx, struct flow_conn *c, void **user);
    /* Every TCP segment of the connection, before its bytes are reassembled. */
    void (*packet)(void *ctx, struct flow_conn *c, void **user, int dir, const struct packet *p);
    void (*data)(void *ctx, struct flow_conn *c, void **user, int dir, const uint8_t *bytes, size_t len, int64_t ts_us);
    void (*gap)(void *ctx, struct flow_conn *c, void **user, int dir, uint64_t len, int64_t ts_us);
    /* Both directions have ended (their last gaps delivered) before this. */
    void (*conn_close)(void *ctx, struct flow_conn *c, void **user, enum flow_close_reason r);
    /* Optional, a hint only: c is the closed connection that lingering
     * ends next after `ahead` more (1 or 2; FLOW_WARM_AHEAD).  Its memory was
     * last touched about max_closed connections ago; an observer may
     * prefetch what its conn_close will read and what it frees for reuse
     * (ahead 2: its own block, whose address is in *user; ahead 1: what
     * that block points to).  Nothing may change. */
    void (*warm)(void *ctx, struct flow_conn *c, void **user, int ahead);
    /* len stream bytes the observer asked not to be shown (flow_conn_pass())
     * went by as data: told once, before the next data, gap or close. */
    void (*passed)(void *ctx, struct flow_conn *c, void **user, int dir, uint64_t len, int64_t ts_us);
};

/* Closed connections whose memory is fetched ahead of their end (flow.c). */
#define FLOW_WARM_AHEAD 3

struct flow_stats {
    uint64_t conns;            /* opened */
    uint64_t current;          /* open now */
    uint64_t max_concurrent;
    uint64_t evictions;
    uint64_t idle_closes;
    uint64_t reuses;           /* new connection on the ports of an existing one */
    uint64_t buffered_bytes;   /* out-of-order bytes held now */
    uint64_t buffered_peak;
    uint64_t cap_hits;         /* per-direction or total cap forced a gap */
    uint64_t total_cap_hits;   /* of which the total cap */
    uint64_t non_tcp;          /* packets ignored */
    uint64_t time_jumps;       /* packet to packet steps back > FLOW_JUMP_BACK_US or forward > FLOW_JUMP_FORWARD_US */
    uint64_t closed_early;     /* closed connections ended before their linger (max_closed) */
};

struct flow_table;

/* lim and obs are copied; NULL lim means defaults.  Returns NULL when out of
 * memory. */
struct flow_table *flow_table_new(const struct flow_limits *lim, const struct flow_observer *obs, void *ctx);
/* One more observer (obs is copied), told after those before it (conn_close:
 * before them, so the first observer sees a connection last).  False when
 * FLOW_MAX_OBSERVERS are there already. */
bool flow_table_add_observer(struct flow_table *t, const struct flow_observer *obs, void *ctx);
void flow_table_packet(struct flow_table *t, const struct packet *p);
/* End of input: every connection is ended (pending gaps delivered) and closed. */
void flow_table_finish(struct flow_table *t);
/* Frees everything; connections still open are dropped without callbacks. */
void flow_table_free(struct flow_table *t);
struct flow_stats flow_table_stats(const struct flow_table *t);
/* smbscope merge: another run's counters added (peaks: the larger). */
void flow_table_fold_stats(struct flow_table *t, const struct flow_stats *s);
/* smbscope merge: the times of the first and the last packet the table
 * was given (false: none): a jump between two captures read one after the
 * other is a jump of the run that reads them together. */
bool flow_table_clock(const struct flow_table *t, int64_t *first, int64_t *last);
/* --jobs (a file split by flow hash): a TCP packet at ts_us that another
 * thread's table analyses.  This table's clock steps and its idle
 * connections expire as flow_table_packet() would do for a packet of no
 * connection here, so every thread sees the capture's clock; the time
 * jump, if any, is counted by the table that has the packet. */
void flow_table_tick(struct flow_table *t, int64_t ts_us);
/* smbscope merge: n connections two runs both counted (split captures) are one each. */
void flow_table_unjoin(struct flow_table *t, uint64_t n);
/* The longest probe of the index: how far a connection's slot is from
 * where its hash starts (tests: crafted addresses stay spread). */
uint64_t flow_table_longest_probe(const struct flow_table *t);

/* Consumer hint: the next n bytes of direction dir are not needed (by any
 * observer: with several, only when all of them agree). */
static inline void flow_conn_skip(struct flow_conn *c, int dir, uint64_t n) { reasm_skip(&c->stream[dir], n); }

/* From inside a data callback: the observer needs no data callbacks for the
 * next n bytes of direction dir; everything else about them stays (counts,
 * gaps, loss, sequence tracking: reasm_pass()), and their number comes in
 * its passed callback.  Honoured only when the table has this one observer
 * (another, the stream writer, wants every byte); false otherwise. */
bool flow_conn_pass(struct flow_conn *c, int dir, uint64_t n);

#endif
