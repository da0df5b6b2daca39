/* flow.c - the TCP connection table: an open-addressing hash on the
 * unordered pair of endpoints, one activity list per timeout class (oldest
 * first), so idle expiry and eviction are O(1) per connection. */
#include "flow.h"

#include <stdlib.h>
#include <string.h>

#include "distinct.h"
#include "hash_mix.h"
#include "dlist.h"

#define FLOW_MULS 11 /* pair_hash()'s multipliers: one, then five for each end */

enum tclass { TC_HALF_OPEN = 0, TC_ESTABLISHED, TC_CLOSED, TC_COUNT };

/* A slot of the hash index: the connection and its hash, so that probing
 * reads the index only and an entry is read when its hash is the packet's.
 * (Chains through the entries read the entries they passed, and the end of
 * the oldest closed connection walked its chain through newer ones: cold
 * entries, one cache miss each.) */
struct flow_slot {
    uint64_t hash;
    struct flow_conn *c; /* NULL: empty */
};

struct flow_list {
    struct flow_conn *head, *tail; /* head = least recently active */
    uint32_t n;
};

struct flow_table {
    struct flow_limits lim;
    struct {
        struct flow_observer cb;
        void *ctx;
    } obs[FLOW_MAX_OBSERVERS];
    unsigned n_obs;
    bool packet_cbs; /* some observer has a packet callback */
    bool warm_cbs;   /* some observer has a warm callback */
    struct reasm_limits rlim;
    struct reasm_budget budget;

    struct flow_slot *slots; /* linear probing, never full */
    uint64_t nslots;         /* power of two */
    uint64_t count;
    struct flow_list lists[TC_COUNT];
    int64_t limit[TC_COUNT]; /* idle timeout of each class */
    /* No connection can be idle before this time: at most the earliest
     * (head's last packet + its class's timeout) of the three lists.  A
     * head's time only grows while it is head, so only a new head can
     * lower it; expire() scans only when the clock passes it (three list
     * heads, cold entries, read on every packet before). */
    int64_t idle_bound;
    int64_t now_us;  /* the highest packet time seen (timestamps the final gaps) */
    int64_t prev_us; /* the time of the packet before */
    int64_t first_us; /* the time of the first packet (smbscope merge: time jumps between captures) */
    bool have_now;
    struct flow_stats st;
    /* Closed entries kept for the next connections (linked by next): a
     * capture of short connections opens and closes one per connection,
     * and calloc + free were a tenth of the flow table's own cost. */
    struct flow_conn *spare;
    uint32_t n_spare;
    uint64_t mul[FLOW_MULS]; /* pair_hash()'s, random */
    uint64_t mul4;           /* ... and its constant for two IPv4 ends (their families' terms) */
};

#define FLOW_SPARE_MAX 64u

#define US_PER_S INT64_C(1000000)

void flow_limits_default(struct flow_limits *lim)
{
    /* About 2.1 KB per tracked SMB connection with its session state
     * (measured with 100,000 open SMB connections, tests/hostile conns-100k;
     * a half-open or empty connection costs its 712-byte entry only):
     * 10,000 of them, the 16 MiB reassembly budget, the census and the
     * rest keep a flood under the 64 MiB peak RSS bound (60 MB measured). */
    lim->max_conns = 10000;
    lim->idle_established_us = 7200 * US_PER_S;
    lim->idle_half_open_us = 120 * US_PER_S;
    lim->idle_closed_us = 60 * US_PER_S;
    lim->max_closed = FLOW_DEFAULT_MAX_CLOSED;
    lim->dir_buffer_cap = REASM_DEFAULT_DIR_CAP;
    lim->total_buffer_cap = REASM_DEFAULT_TOTAL_CAP;
    lim->ack_lag = REASM_DEFAULT_ACK_LAG;
    lim->history_bytes = REASM_DEFAULT_HISTORY;
}

static const char *const close_names[] = {
    [FLOW_CLOSE_FIN] = "fin",         [FLOW_CLOSE_RST] = "rst", [FLOW_CLOSE_IDLE] = "idle",
    [FLOW_CLOSE_EVICTED] = "evicted", [FLOW_CLOSE_REUSED] = "reused", [FLOW_CLOSE_END] = "end",
};

const char *flow_close_reason_name(enum flow_close_reason r)
{
    if ((unsigned)r < sizeof close_names / sizeof close_names[0] && close_names[r])
        return close_names[r];
    return "?";
}

/* ---- reassembly consumers: one per direction, ctx is the connection ---- */

/* Tell every observer that has callback fn: fn(ctx, c, &its user, args...). */
#define NOTIFY(t, c, fn, ...)                                                                \
    do {                                                                                     \
        for (unsigned i_ = 0; i_ < (t)->n_obs; i_++)                                         \
            if ((t)->obs[i_].cb.fn)                                                          \
                (t)->obs[i_].cb.fn((t)->obs[i_].ctx, (c), &(c)->user[i_], __VA_ARGS__);      \
    } while (0)

#define DIR_CONSUMER(D)                                                                      \
    static void data_##D(void *ctx, const uint8_t *b, size_t n, int64_t ts)                  \
    {                                                                                        \
        struct flow_conn *c = ctx;                                                           \
        NOTIFY(c->table, c, data, D, b, n, ts);                                              \
    }                                                                                        \
    static void gap_##D(void *ctx, uint64_t n, int64_t ts)                                   \
    {                                                                                        \
        struct flow_conn *c = ctx;                                                           \
        NOTIFY(c->table, c, gap, D, n, ts);                                                  \
    }                                                                                        \
    static void passed_##D(void *ctx, uint64_t n, int64_t ts)                                \
    {                                                                                        \
        struct flow_conn *c = ctx;                                                           \
        NOTIFY(c->table, c, passed, D, n, ts);                                               \
    }
DIR_CONSUMER(0)
DIR_CONSUMER(1)

static const struct reasm_consumer consumers[2] = {
    { data_0, gap_0, NULL, passed_0 },
    { data_1, gap_1, NULL, passed_1 },
};

bool flow_conn_pass(struct flow_conn *c, int dir, uint64_t n)
{
    if (c->table->n_obs != 1 || !c->table->obs[0].cb.passed)
        return false;
    reasm_pass(&c->stream[dir & 1], n);
    return true;
}

/* ---- keys ---- */

/* A connection's hash, keyed by the process's random number (distinct.h):
 * the addresses and ports are the capture's to choose, and with a fixed
 * hash anyone could list connections of one slot, whose probes then walk
 * one run of the index per packet (quadratic: 9,000 such connections took
 * 22 times the CPU of as many random ones).  Multiply-shift over 32-bit
 * pieces, as conn_groups.c: the top half of m0 + sum(m_i * x_i) mod 2^64
 * with random 64-bit m_i, universal as long as the m_i are unknown.
 * Symmetric: the two endpoints are ordered first (a total order on them,
 * so two connections share an ordered key only when they are one).  An
 * endpoint is its address's four words and its port with its family; the
 * IPv4 path (both ends IPv4: bytes 4-15 are zero, their terms nothing)
 * takes two pieces an end.  Nothing walks the index in its order, so no
 * output depends on the key. */
enum { MUL_ZERO, MUL_END0, MUL_END1 = MUL_END0 + 5 };
_Static_assert(MUL_END1 + 5 == FLOW_MULS, "one multiplier, then five an end");

static void muls_init(struct flow_table *t)
{
    uint64_t *m = t->mul;
    uint64_t x = distinct_process_key() ^ UINT64_C(0x666c6f77); /* not conn_groups.c's sequence */
    for (int i = 0; i < FLOW_MULS; i++) {
        uint64_t z = (x += UINT64_C(0x9E3779B97F4A7C15));
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        m[i] = z ^ (z >> 31);
    }
    t->mul4 = m[MUL_ZERO] + (m[MUL_END0 + 4] + m[MUL_END1 + 4]) * (4u << 16);
}

static uint32_t addr4(const struct ip_addr *a)
{
    uint32_t v;
    memcpy(&v, a->bytes, 4);
    return v;
}

/* One end's terms: m[0..3] * its address's words + m[4] * (port, family). */
static uint64_t end_terms(const uint64_t *m, const struct ip_addr *a, uint16_t port)
{
    uint32_t w[4];
    memcpy(w, a->bytes, sizeof w);
    return m[0] * w[0] + m[1] * w[1] + m[2] * w[2] + m[3] * w[3] + m[4] * ((uint32_t)a->family << 16 | port);
}

static uint64_t pair_hash(const struct flow_table *t, const struct ip_addr *a, uint16_t pa, const struct ip_addr *b,
                          uint16_t pb)
{
    const uint64_t *m = t->mul;
    if (a->family == 4 && b->family == 4) {
        uint64_t ea = (uint64_t)addr4(a) << 16 | pa, eb = (uint64_t)addr4(b) << 16 | pb;
        uint64_t lo = ea < eb ? ea : eb, hi = ea < eb ? eb : ea;
        uint64_t h = t->mul4 + m[MUL_END0] * (uint32_t)(lo >> 16) + m[MUL_END0 + 4] * (uint16_t)lo +
                     m[MUL_END1] * (uint32_t)(hi >> 16) + m[MUL_END1 + 4] * (uint16_t)hi;
        return hash_top32(h); /* hash_mix.h: the sum's top half makes runs */
    }
    int c = a->family != b->family ? (a->family > b->family) - (a->family < b->family)
                                   : memcmp(a->bytes, b->bytes, 16);
    if (!c)
        c = (pa > pb) - (pa < pb);
    if (c > 0) {
        const struct ip_addr *x = a;
        uint16_t px = pa;
        a = b, pa = pb, b = x, pb = px;
    }
    return hash_top32(m[MUL_ZERO] + end_terms(m + MUL_END0, a, pa) + end_terms(m + MUL_END1, b, pb));
}

static bool same_endpoint(const struct ip_addr *a, uint16_t pa, const struct ip_addr *b, uint16_t pb)
{
    return pa == pb && a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* Direction of p within c, or -1 if p does not belong to c.  Between IPv4
 * ends (bytes 4-15 of an IPv4 address are zero) an end is its first four
 * bytes and its port: no 16-byte compares. */
static int match(const struct flow_conn *c, const struct packet *p)
{
    if (p->src.family == 4 && c->addr[0].family == 4) {
        uint32_t s = addr4(&p->src), d = addr4(&p->dst), c0 = addr4(&c->addr[0]), c1 = addr4(&c->addr[1]);
        if (c0 == s && c1 == d && c->port[0] == p->sport && c->port[1] == p->dport)
            return 0;
        if (c0 == d && c1 == s && c->port[0] == p->dport && c->port[1] == p->sport)
            return 1;
        return -1;
    }
    if (same_endpoint(&c->addr[0], c->port[0], &p->src, p->sport) &&
        same_endpoint(&c->addr[1], c->port[1], &p->dst, p->dport))
        return 0;
    if (same_endpoint(&c->addr[1], c->port[1], &p->src, p->sport) &&
        same_endpoint(&c->addr[0], c->port[0], &p->dst, p->dport))
        return 1;
    return -1;
}

/* ---- lists and hash ---- */

/* When c can first be idle (saturated: a timeout of years and a far clock). */
static int64_t idle_at(const struct flow_table *t, const struct flow_conn *c)
{
    int64_t lim = t->limit[c->tclass];
    return c->last_ts_us > INT64_MAX - lim ? INT64_MAX : c->last_ts_us + lim;
}

/* c is the head of its list now: the bound may come earlier. */
static void new_head(struct flow_table *t, const struct flow_conn *c)
{
    int64_t at = idle_at(t, c);
    if (at < t->idle_bound)
        t->idle_bound = at;
}

static void list_remove(struct flow_table *t, struct flow_conn *c)
{
    struct flow_list *l = &t->lists[c->tclass];
    if (l->head == c && c->lnext)
        new_head(t, c->lnext);
    DLIST_REMOVE(l->head, l->tail, c, lprev, lnext);
    l->n--;
}

static void list_append(struct flow_table *t, struct flow_conn *c)
{
    struct flow_list *l = &t->lists[c->tclass];
    if (!l->head)
        new_head(t, c);
    DLIST_APPEND(l->head, l->tail, c, lprev, lnext);
    l->n++;
}

/* list_remove() then list_append() to the same list, for c not its tail
 * (most packets of a connection that is not the last one active): the
 * list keeps its length and tail, and only the links that change are
 * written. */
static void move_to_tail(struct flow_table *t, struct flow_conn *c)
{
    struct flow_list *l = &t->lists[c->tclass];
    struct flow_conn *next = c->lnext;
    if (l->head == c) {
        new_head(t, next);
        l->head = next;
    } else {
        c->lprev->lnext = next;
    }
    next->lprev = c->lprev;
    c->lprev = l->tail;
    c->lnext = NULL;
    l->tail->lnext = c;
    l->tail = c;
}

static uint8_t class_of(const struct flow_conn *c)
{
    if (c->rst_seen || (c->fin[0] && c->fin[1]))
        return TC_CLOSED;
    if (c->hs == FLOW_HS_SYN || c->hs == FLOW_HS_SYNACK)
        return TC_HALF_OPEN;
    return TC_ESTABLISHED;
}


/* The index holds c: empty its slot, moving later entries of the probe
 * run back so that every entry stays reachable from its home slot
 * (backward-shift deletion: no tombstones). */
static void hash_remove(struct flow_table *t, const struct flow_conn *c)
{
    uint64_t mask = t->nslots - 1, j = c->hash & mask;
    while (t->slots[j].c != c)
        j = (j + 1) & mask;
    for (;;) {
        t->slots[j].c = NULL;
        uint64_t k = j, home;
        do {
            k = (k + 1) & mask;
            if (!t->slots[k].c)
                return;
            home = t->slots[k].hash & mask;
            /* the entry at k may fill j unless its home lies in (j, k] */
        } while (j <= k ? (home > j && home <= k) : (home > j || home <= k));
        t->slots[j] = t->slots[k];
        j = k;
    }
}

static void slot_put(struct flow_slot *slots, uint64_t mask, uint64_t hash, struct flow_conn *c)
{
    uint64_t i = hash & mask;
    while (slots[i].c)
        i = (i + 1) & mask;
    slots[i].hash = hash;
    slots[i].c = c;
}

/* Load kept at most 1/2 (3/4 from 65,536 slots on: 16 bytes a slot). */
static bool hash_crowded(const struct flow_table *t, uint64_t count)
{
    return t->nslots < 65536 ? count * 2 > t->nslots : count * 4 > t->nslots * 3;
}

static void hash_grow(struct flow_table *t)
{
    uint64_t n = t->nslots * 2;
    struct flow_slot *ns = calloc((size_t)n, sizeof *ns);
    if (!ns)
        return; /* keep the longer probes */
    for (uint64_t i = 0; i < t->nslots; i++)
        if (t->slots[i].c)
            slot_put(ns, n - 1, t->slots[i].hash, t->slots[i].c);
    free(t->slots);
    t->slots = ns;
    t->nslots = n;
}

/* ---- open / close ---- */

static enum flow_close_reason natural_reason(const struct flow_conn *c, enum flow_close_reason otherwise)
{
    if (c->rst_seen)
        return FLOW_CLOSE_RST;
    if (c->fin[0] && c->fin[1])
        return FLOW_CLOSE_FIN;
    return otherwise;
}

static void conn_close(struct flow_table *t, struct flow_conn *c, enum flow_close_reason r)
{
    reasm_finish(&c->stream[0], t->now_us);
    reasm_finish(&c->stream[1], t->now_us);
    enum flow_close_reason why = natural_reason(c, r);
    for (unsigned i = t->n_obs; i-- > 0;) /* the first observer sees it last */
        if (t->obs[i].cb.conn_close)
            t->obs[i].cb.conn_close(t->obs[i].ctx, c, &c->user[i], why);
    list_remove(t, c);
    hash_remove(t, c);
    t->count--;
    if (t->n_spare < FLOW_SPARE_MAX) {
        c->next = t->spare;
        t->spare = c;
        t->n_spare++;
    } else {
        free(c);
    }
}

/* Close the connections idle at time now (flow.h: Time), except keep.  The
 * activity lists are in order of last packet arrival, which with a clock
 * that jumps is not quite the order of last packet time: a connection
 * touched by a packet from the future stops the scan early, and the others
 * wait (eviction still bounds the table). */
static void expire(struct flow_table *t, int64_t now, const struct flow_conn *keep)
{
    if (now <= t->idle_bound) /* now - last > limit for none of the heads */
        return;
    int64_t bound = INT64_MAX;
    for (int k = 0; k < TC_COUNT; k++) {
        int64_t limit = t->limit[k];
        struct flow_conn *c = t->lists[k].head;
        while (c && now - c->last_ts_us > limit) {
            struct flow_conn *next = c->lnext;
            if (c != keep) {
                if (k != TC_CLOSED)
                    t->st.idle_closes++;
                conn_close(t, c, FLOW_CLOSE_IDLE);
            }
            c = next;
        }
        if (t->lists[k].head) {
            int64_t at = idle_at(t, t->lists[k].head);
            bound = at < bound ? at : bound;
        }
    }
    t->idle_bound = bound; /* exact again (keep, still head, may be idle: scanned next time too) */
}

/* The next closed connections to end, fetched ahead (a hint: nothing
 * changes).  Past max_closed, each new connection ends the oldest closed
 * one, whose memory was last touched about max_closed connections before:
 * its end read it from far caches, and the blocks it frees, reused by the
 * next connections, were written there from far caches too.  Run after
 * each such end, as a pipeline over the list's first entries: the entry
 * FLOW_WARM_AHEAD ends ahead (its link to the next came in one round
 * before), then the observers' blocks of the one two ahead (its user
 * pointers came in with it) and what those point to of the next one. */
static void __attribute__((noinline)) warm_ahead(struct flow_table *t)
{
    struct flow_conn *c[FLOW_WARM_AHEAD];
    c[0] = t->lists[TC_CLOSED].head;
    for (int i = 1; i < FLOW_WARM_AHEAD; i++)
        c[i] = c[i - 1] ? c[i - 1]->lnext : NULL;
    struct flow_conn *far = c[FLOW_WARM_AHEAD - 1] ? c[FLOW_WARM_AHEAD - 1]->lnext : NULL;
    if (far)
        for (size_t off = 0; off < sizeof *far; off += 64)
            __builtin_prefetch((const char *)far + off, 1);
    /* the index slot its end clears (hash_remove: the slot, and the
     * slots after it it may shift back), from the entry fetched one end
     * earlier: half of conn_close()'s stalls were that slot */
    if (c[FLOW_WARM_AHEAD - 1])
        __builtin_prefetch(&t->slots[c[FLOW_WARM_AHEAD - 1]->hash & (t->nslots - 1)], 1);
    if (!t->warm_cbs)
        return;
    for (int ahead = 2; ahead >= 1; ahead--) {
        struct flow_conn *w = c[ahead];
        if (!w)
            continue;
        for (unsigned i = 0; i < t->n_obs; i++)
            if (t->obs[i].cb.warm)
                t->obs[i].cb.warm(t->obs[i].ctx, w, &w->user[i], ahead);
    }
}

/* Closed connections linger (idle_closed_us) only so that late ACKs and
 * retransmissions do not open a new mid-stream flow; past max_closed of
 * them the oldest ends now (its close reason stays fin or rst), so
 * thousands of short connections a second do not hold their state for a
 * minute each.  A late packet of one then opens a flow without SMB. */
static void __attribute__((noinline)) trim_closed_run(struct flow_table *t, const struct flow_conn *keep)
{
    struct flow_list *l = &t->lists[TC_CLOSED];
    while (l->n > t->lim.max_closed && l->head && l->head != keep) {
        t->st.closed_early++;
        conn_close(t, l->head, FLOW_CLOSE_FIN);
        warm_ahead(t);
    }
}

/* The check per packet, inline; the ends out of line. */
static inline void trim_closed(struct flow_table *t, const struct flow_conn *keep)
{
    if (t->lists[TC_CLOSED].n > t->lim.max_closed)
        trim_closed_run(t, keep);
}

/* Note the packet's time; returns the time idle expiry may use. */
static int64_t clock_step(struct flow_table *t, int64_t ts)
{
    if (!t->have_now) {
        t->have_now = true;
        t->now_us = t->prev_us = t->first_us = ts;
        return ts;
    }
    int64_t step = ts - t->prev_us;
    if (step < -FLOW_JUMP_BACK_US || step > FLOW_JUMP_FORWARD_US)
        t->st.time_jumps++;
    int64_t clock = ts < t->prev_us ? ts : t->prev_us;
    t->prev_us = ts;
    if (ts > t->now_us)
        t->now_us = ts;
    return clock;
}

static void evict_one(struct flow_table *t)
{
    static const uint8_t order[] = { TC_CLOSED, TC_HALF_OPEN, TC_ESTABLISHED };
    for (size_t i = 0; i < sizeof order; i++) {
        struct flow_conn *c = t->lists[order[i]].head;
        if (c) {
            t->st.evictions++;
            conn_close(t, c, FLOW_CLOSE_EVICTED);
            return;
        }
    }
}

static struct flow_conn *conn_open(struct flow_table *t, const struct packet *p, uint64_t hash, bool src_initiates,
                                   bool guessed)
{
    if (t->count >= t->lim.max_conns)
        evict_one(t);
    if (hash_crowded(t, t->count + 1))
        hash_grow(t);
    if (t->count + 1 >= t->nslots)
        return NULL; /* the index could not grow and would be full */
    struct flow_conn *c = t->spare;
    if (c) {
        t->spare = c->next;
        t->n_spare--;
        memset(c, 0, sizeof *c);
    } else if (!(c = calloc(1, sizeof *c))) {
        return NULL;
    }
    c->id = ++t->st.conns;
    c->table = t;
    c->hash = hash;
    c->addr[0] = src_initiates ? p->src : p->dst;
    c->addr[1] = src_initiates ? p->dst : p->src;
    c->port[0] = src_initiates ? p->sport : p->dport;
    c->port[1] = src_initiates ? p->dport : p->sport;
    c->initiator_guessed = guessed;
    c->midstream = true;
    c->first_ts_us = c->last_ts_us = p->ts_us;
    c->first_frame = p->frame;
    for (int d = 0; d < 2; d++)
        reasm_init_cleared(&c->stream[d], &t->rlim, &t->budget, &consumers[d], c);

    slot_put(t->slots, t->nslots - 1, hash, c);
    c->tclass = TC_ESTABLISHED;
    list_append(t, c);
    t->count++;
    if (t->count > t->st.max_concurrent)
        t->st.max_concurrent = t->count;
    for (unsigned i = 0; i < t->n_obs; i++)
        if (t->obs[i].cb.conn_open)
            t->obs[i].cb.conn_open(t->obs[i].ctx, c, &c->user[i]);
    return c;
}

/* A SYN or SYN-ACK that cannot belong to the connection found starts a new
 * one: the old one was closed, or the ISN changed (port reuse). */
static bool starts_new_conn(const struct flow_conn *c, int dir, const struct packet *p)
{
    uint8_t f = p->tcp_flags;
    if (!(f & TCP_SYN) || (f & TCP_RST))
        return false;
    bool closed = class_of(c) == TC_CLOSED;
    if (!(f & TCP_ACK)) {
        if (dir != 0)
            return true; /* the responder now opens: a new connection the other way */
        if (c->isn_known[0])
            return c->isn[0] != p->seq;
        /* The SYN the SYN-ACK answered, captured late: same connection. */
        if (c->isn_known[1] && c->stream[0].started && !c->stream[0].midstream && c->stream[0].base == p->seq + 1)
            return false;
        return true; /* mid-stream or SYN-ACK-only connection, then a SYN */
    }
    /* SYN-ACK */
    if (dir != 1)
        return closed;
    if (c->isn_known[1] && c->isn[1] != p->seq)
        return closed || c->hs == FLOW_HS_ESTABLISHED;
    return false;
}

/* Returns whether what class_of() reads (hs, fin, rst) may have changed:
 * a segment without SYN, FIN or RST changes nothing unless it is the ACK
 * that ends a handshake (most packets of a connection: class_of() and the
 * chain of flag tests below were 25 instructions a packet). */
static bool update_state(struct flow_conn *c, int dir, const struct packet *p)
{
    uint8_t f = p->tcp_flags;
    if (!(f & (TCP_SYN | TCP_FIN | TCP_RST)) && !((f & TCP_ACK) && (c->hs == FLOW_HS_SYN || c->hs == FLOW_HS_SYNACK)))
        return false;
    if ((f & TCP_SYN) && !(f & TCP_ACK) && dir == 0) {
        c->isn[0] = p->seq;
        c->isn_known[0] = true;
        c->midstream = false;
        if (c->hs < FLOW_HS_SYN)
            c->hs = FLOW_HS_SYN;
    } else if ((f & TCP_SYN) && (f & TCP_ACK) && dir == 1) {
        c->isn[1] = p->seq;
        c->isn_known[1] = true;
        if (c->hs < FLOW_HS_SYNACK)
            c->hs = FLOW_HS_SYNACK;
        /* The initiator's first data byte is what the SYN-ACK acknowledges. */
        reasm_start(&c->stream[0], p->ack, false);
    } else if (!(f & TCP_SYN) && (f & TCP_ACK) && dir == 0 && c->hs == FLOW_HS_SYNACK) {
        c->hs = FLOW_HS_ESTABLISHED;
    } else if (!(f & (TCP_SYN | TCP_RST)) && (f & TCP_ACK) && c->hs == FLOW_HS_SYN) {
        /* An ACK either way after the SYN, without a captured SYN-ACK: it was
         * lost from the capture (or the capture is one-sided), the
         * connection is open all the same. */
        c->hs = FLOW_HS_ESTABLISHED;
    }
    if (f & TCP_FIN)
        c->fin[dir] = true;
    if ((f & TCP_RST) && !c->rst_seen) {
        c->rst_seen = true;
        c->rst_dir = (uint8_t)dir;
    }
    return true;
}

bool flow_table_clock(const struct flow_table *t, int64_t *first, int64_t *last)
{
    *first = t->first_us;
    *last = t->prev_us;
    return t->have_now;
}

void flow_table_packet(struct flow_table *t, const struct packet *p)
{
    int64_t clock = clock_step(t, p->ts_us);
    if (p->l4 != L4_TCP) {
        t->st.non_tcp++;
        return;
    }

    uint64_t hash = pair_hash(t, &p->src, p->sport, &p->dst, p->dport);
    struct flow_conn *c = NULL;
    int dir = -1;
    uint64_t mask = t->nslots - 1;
    for (uint64_t i = hash & mask; t->slots[i].c; i = (i + 1) & mask)
        if (t->slots[i].hash == hash && (dir = match(t->slots[i].c, p)) >= 0) {
            c = t->slots[i].c;
            break;
        }
    expire(t, clock, c);
    trim_closed(t, c);

    if (c && starts_new_conn(c, dir, p)) {
        t->st.reuses++;
        conn_close(t, c, FLOW_CLOSE_REUSED);
        c = NULL;
    }
    if (!c) {
        uint8_t f = p->tcp_flags;
        bool syn_only = (f & TCP_SYN) && !(f & TCP_ACK);
        bool synack = (f & TCP_SYN) && (f & TCP_ACK);
        c = conn_open(t, p, hash, !synack, !syn_only && !synack);
        if (!c)
            return;
        dir = synack ? 1 : 0;
    }

    struct flow_dir_stats *ds = &c->dir[dir];
    ds->packets++;
    ds->bytes += p->payload_wire_len;
    if (p->ts_us > c->last_ts_us)
        c->last_ts_us = p->ts_us;
    c->last_frame = p->frame;
    bool changed = update_state(c, dir, p);

    if (t->packet_cbs)
        NOTIFY(t, c, packet, dir, p);

    /* A RST's payload is a diagnostic, not stream data. */
    if (!(p->tcp_flags & TCP_RST))
        reasm_segment(&c->stream[dir], p->seq, p->tcp_flags, p->payload, p->payload_len, p->payload_wire_len,
                      p->ts_us);
    if (p->tcp_flags & TCP_ACK)
        reasm_ack(&c->stream[!dir], p->ack, p->ts_us);

    /* To the tail of its class's activity list (already there: nothing to
     * move, and the neighbours' entries stay untouched).  tclass is
     * class_of(c) after every packet (a new entry's state is of class
     * ESTABLISHED), so it is computed again only when the state changed. */
    uint8_t cls = changed ? class_of(c) : c->tclass;
    if (cls != c->tclass) {
        list_remove(t, c);
        c->tclass = cls;
        list_append(t, c);
    } else if (c->lnext) {
        move_to_tail(t, c);
    }
}

/* ---- table ---- */

struct flow_table *flow_table_new(const struct flow_limits *lim, const struct flow_observer *obs, void *ctx)
{
    struct flow_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (lim)
        t->lim = *lim;
    else
        flow_limits_default(&t->lim);
    if (t->lim.max_conns == 0)
        t->lim.max_conns = 1;
    if (obs)
        flow_table_add_observer(t, obs, ctx);
    t->rlim.dir_cap = t->lim.dir_buffer_cap;
    t->rlim.ack_lag = t->lim.ack_lag;
    t->rlim.history = t->lim.history_bytes;
    t->budget.cap = t->lim.total_buffer_cap;
    t->limit[TC_HALF_OPEN] = t->lim.idle_half_open_us;
    t->limit[TC_ESTABLISHED] = t->lim.idle_established_us;
    t->limit[TC_CLOSED] = t->lim.idle_closed_us;
    t->idle_bound = INT64_MAX;
    muls_init(t);
    t->nslots = 2048;
    t->slots = calloc((size_t)t->nslots, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    return t;
}

bool flow_table_add_observer(struct flow_table *t, const struct flow_observer *obs, void *ctx)
{
    if (t->n_obs >= FLOW_MAX_OBSERVERS)
        return false;
    t->obs[t->n_obs].cb = *obs;
    t->obs[t->n_obs].ctx = ctx;
    t->n_obs++;
    if (obs->packet)
        t->packet_cbs = true;
    if (obs->warm)
        t->warm_cbs = true;
    return true;
}

static int by_id(const void *a, const void *b)
{
    const struct flow_conn *x = *(const struct flow_conn *const *)a, *y = *(const struct flow_conn *const *)b;
    return (x->id > y->id) - (x->id < y->id);
}

void flow_table_finish(struct flow_table *t)
{
    /* Close in opening order so observers see a stable sequence. */
    struct flow_conn **all = t->count ? malloc((size_t)t->count * sizeof *all) : NULL;
    if (all) {
        size_t n = 0;
        for (int k = 0; k < TC_COUNT; k++)
            for (struct flow_conn *c = t->lists[k].head; c; c = c->lnext)
                all[n++] = c;
        qsort(all, n, sizeof *all, by_id);
        for (size_t i = 0; i < n; i++)
            conn_close(t, all[i], FLOW_CLOSE_END);
        free(all);
    }
    for (int k = 0; k < TC_COUNT; k++) /* out of memory above: any order */
        while (t->lists[k].head)
            conn_close(t, t->lists[k].head, FLOW_CLOSE_END);
}

void flow_table_free(struct flow_table *t)
{
    if (!t)
        return;
    for (int k = 0; k < TC_COUNT; k++) {
        struct flow_conn *c = t->lists[k].head;
        while (c) {
            struct flow_conn *next = c->lnext;
            reasm_release(&c->stream[0]);
            reasm_release(&c->stream[1]);
            free(c);
            c = next;
        }
    }
    while (t->spare) {
        struct flow_conn *next = t->spare->next;
        free(t->spare);
        t->spare = next;
    }
    free(t->slots);
    free(t);
}

struct flow_stats flow_table_stats(const struct flow_table *t)
{
    struct flow_stats s = t->st;
    s.current = t->count;
    s.buffered_bytes = t->budget.used;
    s.buffered_peak = t->budget.peak;
    s.total_cap_hits = t->budget.cap_hits;
    s.cap_hits = t->budget.any_cap_hits;
    return s;
}

void flow_table_fold_stats(struct flow_table *t, const struct flow_stats *s)
{
    struct flow_stats *d = &t->st;
    d->conns += s->conns;
    d->max_concurrent = s->max_concurrent > d->max_concurrent ? s->max_concurrent : d->max_concurrent;
    d->evictions += s->evictions;
    d->idle_closes += s->idle_closes;
    d->reuses += s->reuses;
    d->buffered_peak = s->buffered_peak > d->buffered_peak ? s->buffered_peak : d->buffered_peak;
    d->cap_hits += s->cap_hits;
    d->total_cap_hits += s->total_cap_hits;
    d->non_tcp += s->non_tcp;
    d->time_jumps += s->time_jumps;
    d->closed_early += s->closed_early;
}

void flow_table_unjoin(struct flow_table *t, uint64_t n) { t->st.conns -= n < t->st.conns ? n : t->st.conns; }

void flow_table_tick(struct flow_table *t, int64_t ts_us)
{
    uint64_t jumps = t->st.time_jumps;
    int64_t clock = clock_step(t, ts_us);
    t->st.time_jumps = jumps; /* the table that has the packet counts the jump */
    expire(t, clock, NULL);
    trim_closed(t, NULL);
}

uint64_t flow_table_longest_probe(const struct flow_table *t)
{
    uint64_t longest = 0, mask = t->nslots - 1;
    for (uint64_t i = 0; i < t->nslots; i++)
        if (t->slots[i].c) {
            uint64_t d = (i - t->slots[i].hash) & mask;
            longest = d > longest ? d : longest;
        }
    return longest;
}
