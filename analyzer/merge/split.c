/* split.c - see split.h. */
#include "split.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "capture.h"
#include "census.h"
#include "conn_groups.h"
#include "conn_summary.h"
#include "distinct.h"
#include "flow.h"
#include "fold_mem.h"
#include "jobs.h"
#include "mem_trim.h"
#include "mstate_group_order.h"
#include "mstate_groups_past.h"
#include "merge.h"
#include "netbios.h"
#include "packet.h"
#include "past_cap.h"
#include "quic_crypto.h"
#include "session.h"
#include "session_priv.h"
#include "smb_hosts.h"
#include "split_closes.h"
#include "split_feed.h"
#include "split_route.h"

/* A connection of this thread that lingered after its FINs (or RST) in
 * the flow table's closed list.  One run's list holds every thread's, so
 * it leaves one run's table earlier than a thread's (linger_model()). */
struct linger_rec {
    int64_t trim_ts; /* the TCP record after the one that closed it (FINs both ways, or RST: it joined
                      * the list; INT64_MAX: none), where one run trimmed the list; LINGER_WAS_PUSHED:
                      * linger_model() found one run ended it past max_closed then (left) */
    int64_t left;    /* when this thread's table ended it by its linger timeout (every thread's table
                      * sees the capture's clock: one run's time too); LINGER_AT_END: at the end of the
                      * input; LINGER_PUSHED: past this thread's max_closed.  linger_model(): one run's
                      * end of it, LINGER_AT_END at the end */
    uint64_t last_frame; /* its last packet's: its place in one run's closed list (flow.c: a packet moves
                          * a connection to the list's tail) */
};

/* A NetBIOS row's flow (zero-filled, then set: compared as bytes). */
struct nb_flow_id {
    struct ip_addr client, server;
    uint16_t client_port, server_port;
    uint8_t proto;
};

/* A NetBIOS row one run makes as its connection closes (NBSS on a port
 * other than 139: analysis.c conn_to_ledger()), with that close. */
struct nb_made {
    struct nb_flow_id id;
    struct close_key key;
};

/* The lingering connections noted in all threads at most (24 bytes each:
 * 12 MiB).  More (over 500,000 connections closed with FINs in one file)
 * and linger_model() is not run: a connection ends when its thread ended
 * it by its linger timeout, else when it joined the list (the order of the
 * list, not its count: the groups and rows of one run past the caps may
 * then differ, as before the model; with the merge state written, one
 * run's close order is then not known and the file is analysed as one
 * run: split_closes.h). */
#define LINGER_RECS_MAX (1u << 19)

#define LINGER_AT_END INT64_MAX
#define LINGER_PUSHED INT64_MIN
#define LINGER_WAS_PUSHED INT64_MIN

/* A flow's slot of the split's observer (on_flow_packet()): NULL, or it
 * joined the closed list and the next TCP record is still to come, or that
 * record's time (ts_ptr()). */
#define JOINED_PENDING ((void *)(uintptr_t)1)

static void *ts_ptr(int64_t ts) { return (void *)(uintptr_t)((uint64_t)ts ^ (UINT64_C(1) << 63)); }
static int64_t ptr_ts(const void *p) { return (int64_t)((uint64_t)(uintptr_t)p ^ (UINT64_C(1) << 63)); }

/* What every thread has made so far, for edges_exact()'s test while the
 * threads run (note_edges()): each adds what it made since it last told. */
enum { EDGE_TALLY_EDGES, EDGE_TALLY_GROUPS, EDGE_TALLY_HOSTS, EDGE_TALLY_CLOSES, EDGE_TALLY_N };
struct edge_tally {
    atomic_uint_fast64_t made[EDGE_TALLY_N];
    uint64_t groups_cap, hosts_cap; /* one run's */
};

/* One thread's share.  Worker 0 runs on the main thread. */
struct worker {
    unsigned k, n;
    struct config cfg;        /* the run's, with this thread's share of the caps (share_caps()) */
    struct split_feed *feed;  /* the file's records, read once for every worker */
    struct analysis a;
    GArray *kept;             /* struct close_key per a.conns entry (keep_first_closed()) */
    GArray *edge_keys;        /* struct close_key per a.edges entry (edges_as_closed()) */
    GArray *nb_made;          /* struct nb_made per NetBIOS row made as its connection closed */
    bool nb_pending;          /* on_netbios_flow() made one for the connection closing now */
    struct nb_flow_id nb_pending_id;
    int64_t now;              /* the record in hand's time (INT64_MAX: the end) */
    int64_t tcp_now;          /* the last record's that may be TCP (the flow table's clock) */
    struct close_key last;    /* of the connection that closed last */
    uint64_t closed_early;    /* the flow table's stats.closed_early at the last flow's close */
    uint64_t linger_flow;     /* the flow on_flow_close() just noted lingering (its id), or 0 */
    uint64_t closes;          /* connections closed so far */
    GPtrArray *joined;        /* void **: observer slots of flows that joined the closed list since the
                               * last TCP record (on_flow_packet()) */
    GArray *made;             /* struct close_key per group of a.groups: of the connection that made it */
    GArray *lingering;        /* struct linger_rec per connection that lingered after its close */
    bool lingering_full;      /* LINGER_RECS_MAX / n of them: the others not noted */
    uint64_t landed[CONN_GROUP_LEVELS]; /* conn_groups_stats().folded below the full level when the last
                                         * close was noted */
    uint32_t groups_cap;      /* the full level's cap (one run's) */
    struct close_key refused_min; /* the earliest close (of a lingering one, a bound below it) of the
                                   * connections this thread's full level refused past its bound */
    bool refused;                 /* refused_min is set */
    GPtrArray *refused_list;      /* struct refused: keys refused below the full level (note_landed()) */
    GHashTable *refused_keys;     /* key -> 1 + its index in refused_list */
    GArray *refused_lingering;    /* struct refused_linger */
    struct conn_group_key below[2]; /* the closing connection's keys at any-client and any-host */
    bool below_set;               /* below is the last closed connection's (note_below()) */
    bool inexact;                 /* the split cannot tell one run's groups (note_landed()) */
    atomic_uint_fast64_t *nb_rows; /* NetBIOS rows every thread made so far (note_rows()) */
    uint64_t nb_rows_told;        /* this thread's of them */
    bool nb_past;                 /* past one run's rows: not one run's (note_rows()) */
    struct edge_tally *tally;     /* every thread's edges, groups and SMB hosts so far (note_edges()) */
    uint64_t told[EDGE_TALLY_N];  /* this thread's of them */
    bool edges_past;              /* past what edges_exact() allows: not one run's (note_edges()) */
    bool capped;                  /* its share of a shared cap was hit (note_caps()) */
    GThread *th;
    struct fold_order *order; /* fold_mem_order() of a, sorted on this worker's thread */
    /* one run's close order (split_closes.h) */
    GArray *numbered;         /* struct split_numbered: each close a numbered (mstate_close_next()), in order */
    GArray *made_at;          /* uint64_t per group of a.groups: numbered's place (1-based) of the close that
                               * made it (w->last's) */
    uint64_t last_at;         /* numbered's place of w->last's close */
    struct split_numbered flow_close; /* of the TCP flow that closed last (on_flow_close()) */
    uint64_t flow_close_id;   /* its id; 0: none since (taken by its connection's or its tail's close) */
    bool numbered_lost;       /* a close numbered here that was not noted: not one run's order */
    bool numbering;           /* the merge state is written (analysis_sketches()): closes noted */
    bool numbered_past;       /* numbered_lost told: the feed stopped (note_edges()) */
};

/* The closes every thread notes for one run's order, at most (64 bytes
 * each: 12 MiB; many170k's 170,000 connections: 10.4 MiB).  Past them the
 * threads stop as soon as their closes together pass it (note_edges(),
 * once a batch) and the file is analysed as one run: a JSON report with its
 * merge state needs one run's close order (split_closes.h), and the closes
 * of more connections would take the split past one run's memory bound. */
#define NUMBERED_MAX (3u << 16)

/* SIGINT/SIGTERM end reading as in one analysis (run.c): the report
 * follows, and the verdict says the input was not read to its end. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

static void set_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Those the flow table still held at the end of the input left one run in
 * opening order (flow_table_finish()), lingering or not, before the QUIC
 * and RoCEv2 tables' (analysis_finish()): one lingering since it opened
 * long ago comes first.  ts: the time of the record that closed s here.
 * One lingering after its FINs: when one run ended it is linger_model()'s
 * (linger_resolve()). */
/* One run's order of what happens at one time: split_closes.h (enum close_rank). */

/* s closed at the record of time ts (INT64_MAX: the end), the last TCP
 * record at tcp_ts; seq: its thread's closes before it. */
static struct close_key close_key_of(const struct smb_conn *s, int64_t ts, int64_t tcp_ts, uint64_t seq)
{
    bool at_end = ts == INT64_MAX;
    bool tcp = s->obs.carrier == CARRIER_TCP || s->obs.carrier == CARRIER_RDMA_IWARP;
    struct close_key k = { at_end, RANK_TCP, ts, s->last_ts, 0, s->first_ts, s->flow_id, s->last_ts, 0, 0, 0 };
    if (!tcp) {
        k.rank = RANK_DATAGRAM;
        k.when = at_end ? ts : tcp_ts;
        k.tie = ts;
        k.seq = seq;
    } else if (at_end) {
        k.when = INT64_MIN;
        k.tie = s->first_ts;
    }
    return k;
}

/* The groups made since the last connection closed were its: one run makes
 * a group as its first connection closes (analysis.c conn_closed()). */
static void note_made(struct worker *w)
{
    while (w->made->len < conn_groups_count(w->a.groups)) {
        g_array_append_val(w->made, w->last);
        g_array_append_val(w->made_at, w->last_at);
    }
}

/* The closes a numbered since the last one noted: a tail's (analysis.c
 * analysis_tail_add(), mstate_tails.c: a flow seen from its middle, as
 * its flow closes), at most one a flow; told by on_flow_close(). */
static void note_numbered_tails(struct worker *w)
{
    if (!w->numbering)
        return;
    while (w->numbered->len < w->a.close_seq) {
        if (w->numbered->len >= NUMBERED_MAX) {
            w->numbered_lost = true;
            return;
        }
        if (!w->flow_close_id || !w->a.tails || !w->a.tails->len) {
            w->numbered_lost = true;
            return;
        }
        struct split_numbered x = w->flow_close;
        x.tail = w->a.tails->len; /* the last tail added, 1-based */
        g_array_append_val(w->numbered, x);
        w->flow_close_id = 0;
    }
}

/* The connection closing now (w->last: close_key_of() done), numbered
 * right after this (analysis.c conn_closed()): its TCP flow's facts when
 * that flow closed just before. */
static void note_numbered_conn(struct worker *w, const struct smb_conn *s)
{
    struct split_numbered x;
    memset(&x, 0, sizeof x);
    bool tcp = s->obs.carrier == CARRIER_TCP || s->obs.carrier == CARRIER_RDMA_IWARP;
    if (tcp && w->flow_close_id && s->flow_id == w->flow_close_id) {
        x = w->flow_close;
        w->last.first_frame = x.first_frame; /* one run's ties (close_key_order()) */
        w->last.last_frame = x.last_frame;
    } else {
        x.last_ts = s->last_ts; /* mstate_close_next() without a flow */
    }
    w->flow_close_id = 0;
    if (!w->numbering || w->numbered_lost)
        return;
    if (w->numbered->len >= NUMBERED_MAX) {
        w->numbered_lost = true;
        return;
    }
    split_numbered_set_key(&x, &w->last);
    x.first_ts = w->last.first_ts;
    x.linger = w->last.linger;
    x.tail = 0;
    g_array_append_val(w->numbered, x);
    w->last_at = w->numbered->len;
    if (w->numbered->len != w->a.close_seq + 1)
        w->numbered_lost = true;
}

/* The connection a.conns gained since the last close was the one that
 * closed last (analysis.c conn_closed(): kept right after its conn_end);
 * so is an edge a.edges gained. */
static void note_kept(struct worker *w)
{
    while (w->kept->len < w->a.conns->len)
        g_array_append_val(w->kept, w->last);
    while (w->edge_keys->len < w->a.edges->len)
        g_array_append_val(w->edge_keys, w->last);
}

static bool close_key_before(const struct close_key *a, const struct close_key *b)
{
    return close_key_order(a, b) < 0;
}

/* A key a thread's level refused past its bound, and the earliest close
 * of a connection refused it there (note_landed()). */
struct refused {
    struct conn_group_key key;
    struct close_key when;
    bool has_when; /* else only lingering ones so far (struct refused_linger) */
};

/* A lingering connection refused (its close is linger_model()'s, resolved
 * by split_exact(); of those that left one run's closed list at one time,
 * it counts as the first: a bound below, 16 bytes a refusal): at the full
 * level (key 0) or key 1 + its index in refused_list.  At most
 * LINGER_RECS_MAX / N of them a thread (8 MiB in all, as the lingering
 * records): past it the split gives up. */
struct refused_linger {
    uint32_t linger, key;
    int64_t first_ts; /* those at the end leave in opening order */
};

/* The keys below the full level a thread keeps refused, at most (in caps
 * of the full level, and at least REFUSED_KEYS_MIN: a key and its close
 * are about 250 bytes): past it the split gives up (split_main(): one
 * analysis of the file). */
#define REFUSED_KEYS_CAPS PAST_CAP_CAPS
#define REFUSED_KEYS_MIN 4096u

static guint refused_hash(gconstpointer p)
{
    const uint8_t *b = p;
    uint64_t h = distinct_process_key(); /* the keys are the capture's to choose */
    for (size_t i = 0; i < sizeof(struct conn_group_key); i++)
        h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return (guint)(h >> 32 ^ h);
}

static gboolean refused_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(struct conn_group_key)) == 0;
}

/* The refused entry of key k at level l (made with no close); NULL past
 * the bound. */
static struct refused *refused_entry(struct worker *w, int l, const struct conn_group_key *k, guint *index)
{
    struct conn_group_key probe = *k;
    probe.level = (uint8_t)l;
    gpointer at = g_hash_table_lookup(w->refused_keys, &probe);
    if (at) {
        *index = GPOINTER_TO_UINT(at) - 1;
        return g_ptr_array_index(w->refused_list, *index);
    }
    uint32_t cap = conn_groups_stats(w->a.groups).cap;
    if (w->refused_list->len >= (REFUSED_KEYS_CAPS * cap > REFUSED_KEYS_MIN ? REFUSED_KEYS_CAPS * cap : REFUSED_KEYS_MIN))
        return NULL;
    struct refused *r = g_new0(struct refused, 1);
    r->key = probe;
    *index = w->refused_list->len;
    g_ptr_array_add(w->refused_list, r);
    g_hash_table_insert(w->refused_keys, &r->key, GUINT_TO_POINTER(*index + 1));
    return r;
}

static void refused_when(struct close_key *min, bool *has, const struct close_key *when)
{
    if (!*has || close_key_before(when, min))
        *min = *when;
    *has = true;
}

/* The connection that closed last here (w->last) was refused at level l
 * with key k there (NULL at the full level, where a key is one address
 * pair's: one thread's).  false: past the keys' bound. */
static bool note_refused(struct worker *w, int l, const struct conn_group_key *k)
{
    guint index = 0;
    struct refused *r = k ? refused_entry(w, l, k, &index) : NULL;
    if (k && !r)
        return false;
    if (w->last.linger) {
        if (w->refused_lingering->len >= LINGER_RECS_MAX / w->n)
            return false;
        struct refused_linger e = { w->last.linger, k ? index + 1 : 0, w->last.first_ts };
        g_array_append_val(w->refused_lingering, e);
    } else if (r) {
        refused_when(&r->when, &r->has_when, &w->last);
    } else {
        refused_when(&w->refused_min, &w->refused, &w->last);
    }
    return true;
}

/* Where the connection that closed last (w->last) went in this thread's
 * groups.  A thread keeps keys apart past its caps (group_past_cap()) up
 * to conn_groups.c's bound; past it a key is refused and the connection
 * folds a level down, where one run may have kept it: the split's answer
 * then stands only if one run refused it at that level too (split_exact()).
 * Noted for that: each key refused with its earliest close (at the full
 * level only the earliest close; below it the keys the connection had
 * there, w->below: note_below()).  Past the keys' bound, or when a close
 * cannot be told apart, the split gives up at once (split_main(): one
 * analysis of the file). */
static void note_landed(struct worker *w)
{
    bool below = w->below_set;
    w->below_set = false;
    /* one lands below the full level only past its bound: as many groups at least */
    if (w->inexact || conn_groups_count(w->a.groups) < PAST_CAP_CAPS * w->groups_cap)
        return;
    struct conn_groups_stats st = conn_groups_stats(w->a.groups);
    uint64_t added = 0;
    int deepest = CONN_GROUP_FULL;
    for (int l = CONN_GROUP_ANY_CLIENT; l < CONN_GROUP_LEVELS; l++) {
        uint64_t d = st.folded[l] - w->landed[l];
        added += d;
        if (d)
            deepest = l;
        w->landed[l] = st.folded[l];
    }
    if (deepest == CONN_GROUP_FULL)
        return;
    bool ok = added == 1 && (deepest == CONN_GROUP_ANY_CLIENT || below);
    for (int l = CONN_GROUP_FULL; ok && l < deepest; l++)
        ok = note_refused(w, l, l == CONN_GROUP_FULL ? NULL : &w->below[l - 1]);
    if (!ok) {
        w->inexact = true;
        split_feed_abort(w->feed);
    }
}

/* The keys below the full level of s, closing now, when this thread's
 * groups may refuse it there (a level below the full one is refused only
 * past the full level's bound and its own cap: as many groups at least). */
static void note_below(struct worker *w, const struct smb_conn *s)
{
    uint32_t cap = w->groups_cap;
    if (conn_groups_count(w->a.groups) < PAST_CAP_CAPS * cap + (cap / 4 ? cap / 4 : 1))
        return;
    struct conn_summary cs;
    conn_summary_from_conn(&cs, s, &w->cfg.policy);
    conn_group_key_of(&w->below[0], &cs, CONN_GROUP_ANY_CLIENT);
    conn_group_key_of(&w->below[1], &cs, CONN_GROUP_ANY_HOST);
    w->below_set = true;
}

/* analysis events.conn_end: s closes (before it goes into the groups;
 * its TCP flow, if any, went by on_flow_close() just before). */
static void on_conn_end(void *ctx, const struct smb_conn *s)
{
    struct worker *w = ctx;
    note_numbered_tails(w);
    note_landed(w);
    note_made(w);
    note_kept(w);
    note_below(w, s);
    w->last = close_key_of(s, w->now, w->tcp_now, w->closes++);
    if (w->linger_flow && s->flow_id == w->linger_flow)
        w->last.linger = w->lingering->len;
    w->linger_flow = 0;
    note_numbered_conn(w, s);
    if (w->nb_pending) {
        struct nb_made m = { w->nb_pending_id, w->last };
        g_array_append_val(w->nb_made, m);
        w->nb_pending = false;
    }
}

static struct nb_flow_id nb_flow_id_of(const struct nb_flow *f)
{
    struct nb_flow_id id;
    memset(&id, 0, sizeof id);
    id.client = f->client;
    id.server = f->server;
    id.client_port = f->client_port;
    id.server_port = f->server_port;
    id.proto = f->proto;
    return id;
}

/* The file's NetBIOS flows are past the rows one run itemises: the
 * split's answer is not one run's (netbios_rows_exact()); the feed stops
 * at once and the file is analysed as one run (a file of 30,000 NetBIOS
 * clients was split to its end first). */
static void nb_past(struct worker *w)
{
    w->nb_past = true;
    split_feed_abort(w->feed);
}

/* The rows this thread made since it last told, told to the others: past
 * one run's rows (every thread's count, as one run's ledger counts them)
 * one run's ledger is full. */
static void note_rows(struct worker *w)
{
    uint64_t have = nb_ledger_count(w->a.ledger);
    if (have == w->nb_rows_told)
        return;
    uint64_t all = atomic_fetch_add_explicit(w->nb_rows, have - w->nb_rows_told, memory_order_relaxed) + have -
                   w->nb_rows_told;
    w->nb_rows_told = have;
    if (all > nb_ledger_max_rows(w->a.ledger))
        nb_past(w);
}

/* nb_ledger.h admit: this thread's ledger is full, one run's too. */
static bool nb_row_past_cap(void *data, const struct nb_flow *f, uint32_t past, uint32_t cap)
{
    nb_past(data);
    return false;
}

/* analysis events.netbios_flow: a row made.  One made as its connection
 * closes (before that connection's conn_end) is noted with that close,
 * one made by a datagram with the last TCP record's time
 * (close_key_order()); one made by a TCP packet is in its place by its
 * first packet (nb_row_key()). */
static void on_netbios_flow(void *ctx, const struct nb_flow *f)
{
    struct worker *w = ctx;
    note_rows(w);
    if (f->nbss_elsewhere) {
        w->nb_pending = true;
        w->nb_pending_id = nb_flow_id_of(f);
    } else if (f->proto != 6) {
        struct nb_made m = { nb_flow_id_of(f), { false, RANK_DATAGRAM, w->tcp_now, w->now, 0, f->first_seen, 0,
                                                 f->first_seen, 0, 0, 0 } };
        g_array_append_val(w->nb_made, m);
    }
}

/* Flow observer (after analysis.c's in the table, so it is told first):
 * every TCP flow ended from the closed list, SMB or not, as one run's
 * list holds them all. */
/* Flow observer: c's packet made it one of the closed list's (flow.c
 * class_of()); the next TCP record's time comes with note_tcp_record(). */
static void on_flow_packet(void *ctx, struct flow_conn *c, void **user, int dir, const struct packet *p)
{
    if (*user || !(p->tcp_flags & (TCP_FIN | TCP_RST)) || !(c->rst_seen || (c->fin[0] && c->fin[1])))
        return;
    struct worker *w = ctx;
    *user = JOINED_PENDING;
    g_ptr_array_add(w->joined, user);
}

/* A TCP record (this thread's or another's) at time ts, before anything
 * of it: where one run trimmed the closed list the last ones joined. */
static inline void note_tcp_record(struct worker *w, int64_t ts)
{
    w->tcp_now = ts;
    if (G_UNLIKELY(w->joined->len)) {
        for (guint i = 0; i < w->joined->len; i++)
            *(void **)g_ptr_array_index(w->joined, i) = ts_ptr(ts);
        g_ptr_array_set_size(w->joined, 0);
    }
}

static void on_flow_close(void *ctx, struct flow_conn *c, void **user, enum flow_close_reason r)
{
    struct worker *w = ctx;
    note_numbered_tails(w);
    /* what its connection's or its tail's close (numbered next) is noted with */
    bool at_end = w->now == INT64_MAX;
    w->flow_close = (struct split_numbered){ at_end ? INT64_MIN : w->now, at_end ? c->first_ts_us : c->last_ts_us,
                                             c->first_ts_us, c->last_ts_us, c->first_frame, c->last_frame, 0, 0,
                                             at_end, RANK_TCP, mstate_close_lingers(c) };
    w->flow_close_id = c->id;
    if (*user == JOINED_PENDING)
        g_ptr_array_remove_fast(w->joined, user);
    uint64_t early = flow_table_stats(c->table).closed_early;
    bool pushed = early != w->closed_early;
    w->closed_early = early;
    w->linger_flow = 0;
    if (r != FLOW_CLOSE_FIN && r != FLOW_CLOSE_RST)
        return;
    if (w->lingering->len >= LINGER_RECS_MAX / w->n) { /* linger_model() is not run */
        w->lingering_full = true;
        return;
    }
    struct linger_rec e = { *user == JOINED_PENDING ? INT64_MAX : *user ? ptr_ts(*user) : c->last_ts_us,
                            w->now == INT64_MAX ? LINGER_AT_END : pushed ? LINGER_PUSHED : w->now, c->last_frame };
    g_array_append_val(w->lingering, e);
    w->linger_flow = c->id;
    w->flow_close.linger = w->lingering->len;
}

/* A lingering connection of worker k, index i: ref k + n * i. */
struct linger_refs {
    struct worker *ws;
    unsigned n;
};

static struct linger_rec *linger_at(const struct linger_refs *r, uint32_t ref)
{
    return &g_array_index(r->ws[ref % r->n].lingering, struct linger_rec, ref / r->n);
}

/* The lingering connections in one run's closed list at a time, by their
 * places in it (a binary heap, the head the one with the first last
 * packet; its frame beside its ref: no look-up to compare). */
struct linger_place {
    uint64_t last_frame;
    uint32_t ref;
};

struct linger_heap {
    struct linger_place *v;
    guint n;
};

static inline bool heap_before(struct linger_place a, struct linger_place b)
{
    return a.last_frame != b.last_frame ? a.last_frame < b.last_frame : a.ref < b.ref;
}

static void heap_push(struct linger_heap *h, struct linger_place x)
{
    guint i = h->n++;
    while (i && heap_before(x, h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = x;
}

static uint32_t heap_pop(struct linger_heap *h)
{
    uint32_t top = h->v[0].ref;
    struct linger_place last = h->v[--h->n];
    guint i = 0;
    for (;;) {
        guint c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && heap_before(h->v[c + 1], h->v[c]))
            c++;
        if (!heap_before(h->v[c], last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

/* One run's closed list holds every thread's lingering connections, in
 * the order of their last packets (a packet moves a connection to the
 * list's tail), at most max_closed of them (flow.c trim_closed()): past it
 * the head (the first last packet of those in it) ends as another joins
 * (each thread held as many of its own: it ended them later, or at the end
 * of the input).  The linger timeout ends the head too, at the time every
 * thread's table saw (for one ended past a thread's own max_closed, its
 * last packet plus the timeout, or the end when that lies past the
 * capture's clock: a thread holds fewer than max_closed of one run only
 * with more than two threads).  Each lingering connection's left then
 * says when one run ended it.  A connection joins the list at its last
 * packet (the final ACK after both FINs a round trip later) and one run
 * trims the list at the next TCP packet, here at that same time.  (By the
 * time they joined, not by their last packets, the model ended a thread's
 * connections in another order than one run: 142 of 3,368 closes of
 * 3,000 short connections among 64 lanes.) */
static void linger_model(struct worker *ws, unsigned n, const struct config *cfg, int64_t clock_last)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    uint64_t max_closed = cfg->max_closed_conns ? cfg->max_closed_conns : lim.max_closed;
    struct linger_refs r = { ws, n };
    guint total = 0;
    for (unsigned k = 0; k < n; k++)
        total += ws[k].lingering->len;
    struct split_ord *order = g_new(struct split_ord, total ? total : 1);
    guint m = 0;
    for (unsigned k = 0; k < n; k++)
        for (guint i = 0; i < ws[k].lingering->len; i++) {
            struct linger_rec *e = &g_array_index(ws[k].lingering, struct linger_rec, i);
            if (e->left == LINGER_PUSHED) /* its linger timeout, or the end: as near as known */
                e->left = clock_last - e->trim_ts >= lim.idle_closed_us ? e->trim_ts + lim.idle_closed_us : LINGER_AT_END;
            /* by the time it joined the list (the time's bits, sign flipped, sort
             * as unsigned), of one time by ref */
            order[m++] = (struct split_ord){ (uint64_t)e->trim_ts ^ (UINT64_C(1) << 63), k + n * i };
        }
    split_radix_sort(order, total);
    struct linger_heap h = { g_new(struct linger_place, total ? total : 1), 0 };
    for (guint j = 0; j < total; j++) {
        int64_t t = linger_at(&r, order[j].ref)->trim_ts;
        if (t == INT64_MAX) /* joined at the last TCP record: no trim after it */
            break;
        /* at the next TCP record: expiry (the list's head, whose linger ran out), then the trim */
        while (h.n && linger_at(&r, h.v[0].ref)->left <= t)
            heap_pop(&h);
        heap_push(&h, (struct linger_place){ linger_at(&r, order[j].ref)->last_frame, order[j].ref });
        if (h.n > max_closed) {
            struct linger_rec *e = linger_at(&r, heap_pop(&h));
            e->left = t;
            e->trim_ts = LINGER_WAS_PUSHED;
        }
    }
    g_free(h.v);
    g_free(order);
}

/* Past LINGER_RECS_MAX: one ended past its thread's max_closed ends
 * when it joined the list. */
static void linger_unmodelled(struct worker *ws, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        for (guint i = 0; i < ws[k].lingering->len; i++) {
            struct linger_rec *e = &g_array_index(ws[k].lingering, struct linger_rec, i);
            if (e->left == LINGER_PUSHED) {
                e->left = e->trim_ts;
                e->trim_ts = LINGER_WAS_PUSHED;
            }
        }
}

/* k as one run closed it (linger_model() or linger_unmodelled() done). */
static void linger_resolve(struct close_key *k, const struct worker *w)
{
    if (!k->linger)
        return;
    const struct linger_rec *e = &g_array_index(w->lingering, struct linger_rec, k->linger - 1);
    k->at_end = e->left == LINGER_AT_END;
    k->when = k->at_end ? INT64_MIN : e->left;
    k->rank = k->at_end ? RANK_TCP : e->trim_ts == LINGER_WAS_PUSHED ? RANK_PUSHED : RANK_CLOSED_LIST;
    k->tie = k->at_end ? k->first_ts : k->last_ts;
}

/* A record another thread analyses: when one run gives it to its flow
 * table (it decodes as TCP: split_route() said so from its headers, or
 * packet_decode() does, frags NULL: an IP fragment is held, as its
 * datagram is not this thread's), this table's clock steps too (one run's
 * idle expiry and time jumps). */
static void tick(struct worker *w, const struct capture_record *rec, enum split_tcp tcp)
{
    if (tcp == SPLIT_TCP_MAYBE) {
        struct packet pkt;
        if (packet_decode(rec->dlt, rec, NULL, &pkt) != PKT_OK || pkt.l4 != L4_TCP)
            return;
    }
    flow_table_tick(w->a.flows, rec->ts_us);
}

/* edges_exact()'s test of every thread's edges, groups and SMB hosts. */
static bool edges_within(uint64_t edges, uint64_t groups, uint64_t hosts, uint64_t groups_cap, uint64_t hosts_cap)
{
    return edges <= ANALYSIS_MAX_EDGES || (groups + edges <= groups_cap && hosts + 2 * edges <= hosts_cap);
}

/* edges_exact() decided while the threads run: the edges, the groups and
 * the SMB hosts of every thread only grow (a thread's edges stop at
 * ANALYSIS_MAX_EDGES, its groups and hosts once its tables are full), so
 * once their sums so far fail the test the sums at the end fail it too:
 * the feed stops at once and the file is analysed as one run (before:
 * split to its end first, then read again).  Told once a batch. */
static void note_edges(struct worker *w)
{
    const uint64_t have[EDGE_TALLY_N] = { w->a.edges->len, conn_groups_count(w->a.groups),
                                          smb_hosts_size(w->a.smb_hosts), w->numbered->len };
    uint64_t all[EDGE_TALLY_N];
    for (int i = 0; i < EDGE_TALLY_N; i++) {
        uint64_t d = have[i] - w->told[i]; /* modulo 2^64 as the sum is: right whatever the sign */
        all[i] = atomic_fetch_add_explicit(&w->tally->made[i], d, memory_order_relaxed) + d;
        w->told[i] = have[i];
    }
    if (!w->edges_past && !edges_within(all[EDGE_TALLY_EDGES], all[EDGE_TALLY_GROUPS], all[EDGE_TALLY_HOSTS],
                                        w->tally->groups_cap, w->tally->hosts_cap)) {
        w->edges_past = true;
        split_feed_abort(w->feed);
    }
    if (w->numbering && !w->numbered_past && (w->numbered_lost || all[EDGE_TALLY_CLOSES] > NUMBERED_MAX)) {
        w->numbered_past = w->numbered_lost = true; /* no longer one run's close order: one run's answer */
        split_feed_abort(w->feed);
    }
}

/* This thread's flow table evicted a connection, or its reassembly hit
 * the total cap: caps it holds a share of (jobs_share_caps()), which one
 * run may not have hit (16,000 NetBIOS clients of scale_check's mix: one
 * run held at most 7,424 connections of its 10,000 and evicted none; the
 * thread given more TCP pairs for the UDP the other takes, with its own
 * closed list, went past its 5,000 and evicted 622).  The split's answer
 * may not be one run's: the feed stops and the file is analysed as one
 * run (fold_workers()). */
static void note_caps(struct worker *w)
{
    struct flow_stats st = flow_table_stats(w->a.flows);
    if (G_UNLIKELY(st.evictions || st.total_cap_hits) && !w->capped) {
        w->capped = true;
        split_feed_abort(w->feed);
    }
    /* TCP out of a tunnel's reassembled datagram: the fragments came to
     * this thread (split_route.c reads no tunnel inside a fragment), the
     * connection's unfragmented packets to their own pair's.  Review: GRE
     * or VXLAN over a path that fragments the outer datagrams made one
     * connection two halves, INCONCLUSIVE with stream gaps where one run
     * said PASS. */
    if (G_UNLIKELY(w->a.tunnel_frag_tcp) && !w->inexact) {
        w->inexact = true;
        split_feed_abort(w->feed);
    }
}

/* Every record of the file: this thread's own analysed, the others' as
 * clock ticks. */
static gpointer work(gpointer data)
{
    struct worker *w = data;
    const unsigned k = w->k; /* in registers: analysis_feed() may write anywhere */
    const struct split_batch *b;
    while ((b = split_feed_next(w->feed, k))) {
        const struct capture_record *recs = b->recs;
        const uint8_t *worker = b->worker, *tcp = b->tcp;
        for (unsigned i = 0, n = b->n; i < n; i++) {
            w->now = recs[i].ts_us;
            if (tcp[i] != SPLIT_TCP_NO)
                note_tcp_record(w, w->now);
            if (worker[i] == k)
                analysis_feed(&w->a, 0, &recs[i]);
            else if (tcp[i] != SPLIT_TCP_NO)
                tick(w, &recs[i], (enum split_tcp)tcp[i]);
        }
        note_caps(w);
        note_edges(w);
    }
    w->now = INT64_MAX;
    analysis_finish(&w->a);
    note_numbered_tails(w);
    note_caps(w);
    jobs_drop_edge_tables(&w->a); /* a.groups: those made as connections closed (not the edges') */
    note_landed(w);
    note_made(w);
    note_kept(w);
    w->order = fold_mem_order(&w->a);
    mem_trim(); /* what the finished analysis freed (every connection's state) back before the fold's peak */
    return NULL;
}

bool split_applies(const struct config *cfg)
{
    return cfg->jobs > 1 && cfg->n_inputs == 1 && !cfg->n_interfaces && strcmp(cfg->inputs[0], "-") != 0 &&
           !cfg->filter && !jobs_conflict(cfg);
}

/* The input as analysis_run_input() describes it (every worker's copy). */
static struct input_info *input_of(struct capture *cap, const char *path)
{
    struct input_info *in = g_new0(struct input_info, 1);
    in->path = g_strdup(path);
    in->first_ts = INT64_MAX;
    in->last_ts = INT64_MIN;
    in->dlt = capture_linktype(cap);
    in->link_type = g_strdup(capture_linktype_name(cap));
    in->format = capture_format(cap);
    in->gzip = capture_is_gzip(cap);
    in->reader = capture_reader(cap);
    analysis_input_filter(in, capture_filter(cap), NULL);
    return in;
}

/* A worker's share of the file's counters into the first worker's input. */
static void input_add(struct input_info *dst, const struct input_info *src)
{
    dst->packets += src->packets;
    dst->wire_bytes += src->wire_bytes;
    for (int s = 0; s < PKT_STATUS_COUNT; s++)
        dst->status[s] += src->status[s];
    if (src->first_ts < dst->first_ts)
        dst->first_ts = src->first_ts;
    if (src->last_ts > dst->last_ts)
        dst->last_ts = src->last_ts;
}

struct kept {
    struct close_key key;
    struct smb_conn *s;
};

static gint kept_order(gconstpointer pa, gconstpointer pb)
{
    return close_key_order(&((const struct kept *)pa)->key, &((const struct kept *)pb)->key);
}

/* The connections one run would have kept for detail: each worker kept
 * the first to close of its own; of them all, the first to close. */
static void keep_first_closed(struct analysis *a, struct worker *ws, unsigned n)
{
    GArray *all = g_array_new(FALSE, FALSE, sizeof(struct kept));
    for (unsigned k = 0; k < n; k++) {
        GPtrArray *c = ws[k].a.conns;
        for (guint i = 0; i < c->len; i++) {
            struct smb_conn *s = g_ptr_array_index(c, i);
            struct kept e = { g_array_index(ws[k].kept, struct close_key, i), s };
            linger_resolve(&e.key, &ws[k]);
            g_array_append_val(all, e);
        }
        g_ptr_array_set_free_func(c, NULL);
        g_ptr_array_set_size(c, 0);
    }
    g_array_sort(all, kept_order);
    uint64_t keep = a->cfg->conn_detail == CONN_DETAIL_ALL ? all->len : a->conn_detail_limit;
    for (guint i = 0; i < all->len; i++) {
        struct smb_conn *s = g_array_index(all, struct kept, i).s;
        if (i < keep) {
            g_ptr_array_add(a->conns, s);
        } else {
            a->conns_omitted++;
            smb_conn_free(s);
        }
    }
    g_array_free(all, TRUE);
}

static gint nb_made_order(gconstpointer pa, gconstpointer pb)
{
    return memcmp(&((const struct nb_made *)pa)->id, &((const struct nb_made *)pb)->id, sizeof(struct nb_flow_id));
}

/* One run lists NetBIOS rows as it makes them: at a flow's first packet
 * (137, 138, 139), or as a connection showing NBSS elsewhere closes
 * (made: row -> its close key); at one time, the packet's first (the
 * flow table closes after the ledger has the packet). */
struct nb_rows_made {
    GHashTable *made; /* row (its address) -> 1 + its index in all */
    GArray *all;      /* struct nb_made */
};

static const struct close_key *nb_made_key(const struct nb_rows_made *m, const struct nb_flow *f)
{
    guint i = GPOINTER_TO_UINT(g_hash_table_lookup(m->made, GSIZE_TO_POINTER((gsize)(uintptr_t)f)));
    return i ? &g_array_index(m->all, struct nb_made, i - 1).key : NULL;
}

/* When one run made row f (TCP rows made at their first packet are not
 * noted: that packet's time). */
static struct close_key nb_row_key(const struct nb_rows_made *m, const struct nb_flow *f)
{
    const struct close_key *k = nb_made_key(m, f);
    return k ? *k : (struct close_key){ false, RANK_TCP_ROW, f->first_seen, f->first_seen, 0, f->first_seen, 0,
                                        f->first_seen, 0, 0, 0 };
}

static gint nb_row_made_order(gconstpointer pa, gconstpointer pb, gpointer data)
{
    struct close_key ka = nb_row_key(data, pa), kb = nb_row_key(data, pb);
    return close_key_order(&ka, &kb);
}

/* Every thread's rows made as a connection closed (linger_model()
 * done), by flow: what nb_rows_as_made() reads once the threads are gone. */
static GArray *nb_made_all(struct worker *ws, unsigned n)
{
    GArray *all = g_array_new(FALSE, FALSE, sizeof(struct nb_made));
    for (unsigned k = 0; k < n; k++) {
        for (guint i = 0; i < ws[k].nb_made->len; i++)
            linger_resolve(&g_array_index(ws[k].nb_made, struct nb_made, i).key, &ws[k]);
        g_array_append_vals(all, ws[k].nb_made->data, ws[k].nb_made->len);
    }
    g_array_sort(all, nb_made_order);
    return all;
}

/* After merge_finish() (rows in first-seen order): in one run's order.
 * all: nb_made_all()'s, freed. */
static void nb_rows_as_made(struct analysis *a, GArray *all)
{
    /* keyed by the rows' addresses: not the capture's to choose */
    struct nb_rows_made m = { g_hash_table_new(g_direct_hash, g_direct_equal), all };
    for (guint i = 0; all->len && i < nb_ledger_count(a->ledger); i++) {
        const struct nb_flow *f = nb_ledger_row(a->ledger, i);
        struct nb_made probe = { nb_flow_id_of(f), { 0 } };
        const struct nb_made *hit = bsearch(&probe, all->data, all->len, sizeof probe, nb_made_order);
        if (hit)
            g_hash_table_insert(m.made, GSIZE_TO_POINTER((gsize)(uintptr_t)f),
                                GUINT_TO_POINTER((guint)(hit - (const struct nb_made *)(const void *)all->data) + 1));
    }
    nb_ledger_sort_rows_by(a->ledger, nb_row_made_order, &m);
    g_hash_table_destroy(m.made);
    g_array_free(all, TRUE);
}

/* The SYN pairs and SMB hosts: twice a thread's share (jobs_share_caps()). */
static void share_tables(struct analysis *a, unsigned n)
{
    uint64_t pairs = jobs_share(2 * (uint64_t)CENSUS_MAX_PAIRS, n), hosts = jobs_share(2 * (uint64_t)SMB_HOSTS_DEFAULT_CAP, n);
    a->census->max_pairs = (uint32_t)(pairs < CENSUS_MAX_PAIRS ? pairs : CENSUS_MAX_PAIRS);
    smb_hosts_free(a->smb_hosts);
    a->smb_hosts = smb_hosts_new((uint32_t)(hosts < SMB_HOSTS_DEFAULT_CAP ? hosts : SMB_HOSTS_DEFAULT_CAP));
}

/* conn_groups.h admit: a thread makes its groups in the order its own
 * connections close, which is not one run's (one lingering after its FINs
 * ends later in a thread than in one run: linger_model()), so its first
 * keys of a level need not be one run's.  It keeps keys apart past its
 * caps (conn_groups.c bounds them) and the fold, in one run's order,
 * folds down what one run would. */
static bool group_past_cap(void *data, const struct conn_group_key *k, uint32_t past, uint32_t cap) { return true; }

/* Each worker's analysis over the one feed of the file.  false: a
 * message printed. */
static bool workers_start(const struct config *cfg, struct worker *ws, unsigned n, struct capture *cap,
                          struct split_feed *feed, atomic_uint_fast64_t *nb_rows, struct edge_tally *tally)
{
    for (unsigned k = 0; k < n; k++) {
        struct worker *w = &ws[k];
        char err[512];
        w->k = k;
        w->n = n;
        w->feed = feed;
        jobs_share_caps(&w->cfg, cfg, n);
        if (!analysis_init(&w->a, &w->cfg, err, sizeof err)) {
            fprintf(stderr, "smbscope: %s\n", err);
            return false;
        }
        share_tables(&w->a, n);
        w->groups_cap = conn_groups_stats(w->a.groups).cap;
        conn_groups_admit_past_cap(w->a.groups, group_past_cap, w);
        w->nb_rows = nb_rows;
        w->tally = tally;
        nb_ledger_admit_past_cap(w->a.ledger, nb_row_past_cap, w);
        w->a.edges_apart = true; /* no capped copy of the groups without the edges (jobs_drop_edge_tables()) */
        w->a.progress = false;
        g_ptr_array_add(w->a.inputs, input_of(cap, cfg->inputs[0]));
        w->kept = g_array_new(FALSE, FALSE, sizeof(struct close_key));
        w->edge_keys = g_array_new(FALSE, FALSE, sizeof(struct close_key));
        w->made = g_array_new(FALSE, FALSE, sizeof(struct close_key));
        w->made_at = g_array_new(FALSE, FALSE, sizeof(uint64_t));
        w->numbered = g_array_new(FALSE, FALSE, sizeof(struct split_numbered));
        w->numbering = analysis_sketches(cfg);
        w->lingering = g_array_new(FALSE, FALSE, sizeof(struct linger_rec));
        w->a.events.ctx = w;
        w->a.events.conn_end = on_conn_end;
        w->a.events.netbios_flow = on_netbios_flow;
        w->nb_made = g_array_new(FALSE, FALSE, sizeof(struct nb_made));
        w->refused_list = g_ptr_array_new_with_free_func(g_free);
        w->refused_keys = g_hash_table_new(refused_hash, refused_equal);
        w->refused_lingering = g_array_new(FALSE, FALSE, sizeof(struct refused_linger));
        w->joined = g_ptr_array_new();
        const struct flow_observer obs = { .packet = on_flow_packet, .conn_close = on_flow_close };
        if (!flow_table_add_observer(w->a.flows, &obs, w)) {
            fprintf(stderr, "smbscope: out of memory\n");
            return false;
        }
    }
    return true;
}

static void workers_free(struct worker *ws, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        struct worker *w = &ws[k];
        if (w->a.inputs)
            analysis_free(&w->a);
        if (w->kept)
            g_array_free(w->kept, TRUE);
        if (w->edge_keys)
            g_array_free(w->edge_keys, TRUE);
        if (w->nb_made)
            g_array_free(w->nb_made, TRUE);
        if (w->joined)
            g_ptr_array_free(w->joined, TRUE);
        if (w->made)
            g_array_free(w->made, TRUE);
        if (w->made_at)
            g_array_free(w->made_at, TRUE);
        if (w->numbered)
            g_array_free(w->numbered, TRUE);
        if (w->lingering)
            g_array_free(w->lingering, TRUE);
        if (w->refused_keys)
            g_hash_table_destroy(w->refused_keys);
        if (w->refused_list)
            g_ptr_array_free(w->refused_list, TRUE);
        if (w->refused_lingering)
            g_array_free(w->refused_lingering, TRUE);
        fold_order_free(w->order);
    }
    g_free(ws);
}

/* Workers 1 .. n-1 on threads of their own (started after the stop
 * flag is set: the feed reads it), worker 0 on this one, the others
 * joined: the file's facts (its one reader's) into in.  The caller then
 * frees the feed and closes the reader, before the fold's peak. */
static void run_workers(struct worker *ws, unsigned n, struct capture *cap, struct input_info *in,
                        bool *input_error)
{
    stop_signal = 0;
    set_signals(on_stop_signal);
    capture_set_interrupt(&stop_signal);
    for (unsigned k = 1; k < n; k++)
        ws[k].th = g_thread_new("smbscope-split", work, &ws[k]);
    work(&ws[0]);
    for (unsigned k = 1; k < n; k++)
        g_thread_join(ws[k].th);
    set_signals(SIG_DFL); /* a second Ctrl-C while reporting ends at once */
    capture_set_interrupt(NULL);
    bool interrupted = stop_signal != 0 || capture_interrupted(cap);
    in->bytes = capture_bytes_read(cap);
    if (interrupted) {
        in->interrupted = true;
    } else if (split_feed_rc(ws[0].feed) == -1) {
        in->truncated = true;
        in->error = g_strdup(capture_error(cap));
        *input_error = true; /* said by split_main(), once it keeps the split's answer */
    }
}

/* What split_exact() replays in one run's order: a thread's group made
 * (grp), or a key refused (level, key NULL at the full level). */
struct replay {
    struct close_key when;
    const struct conn_group *grp;
    const struct conn_group_key *key;
    int level;
};

static gint replay_order(gconstpointer pa, gconstpointer pb)
{
    const struct replay *a = pa, *b = pb;
    gint c = close_key_order(&a->when, &b->when);
    return c ? c : (a->grp != NULL) - (b->grp != NULL); /* at one time a refusal first: the stricter */
}

/* Whether one run refused every key a thread's groups refused past their
 * bound (note_landed()), at the level they did.  The fold adds the
 * threads' groups in the order one run made them (their made keys,
 * linger_resolve() done); replayed so into a table of one run's caps, one
 * run's groups stand as they did at each refusal: one run refused it
 * there if the level was full and did not hold the key.  A full key is
 * one address pair's (one thread's), so the thread that refused it never
 * made it: only the level's being full is asked. */
/* Whether the threads' NetBIOS rows are one run's: together within the
 * rows one run itemises, none past a thread's own.  Past them one run
 * itemises the first flows in time and folds the rest, which threads that
 * each itemised their own cannot give back (review: 20,000 NetBIOS flows,
 * --jobs 2 counted 5,400 packets not itemised where one run counts 7,232):
 * the file is then analysed as one run (split_main()). */
static bool netbios_rows_exact(struct worker *ws, unsigned n)
{
    uint64_t rows = 0;
    for (unsigned k = 0; k < n; k++) {
        const struct nb_ledger *l = ws[k].a.ledger;
        if (ws[k].nb_past || nb_ledger_overflow(l)->packets)
            return false;
        rows += nb_ledger_count(l);
    }
    return rows <= nb_ledger_max_rows(ws[0].a.ledger);
}

static bool split_exact(struct worker *ws, unsigned n, uint32_t cap)
{
    bool refused = false;
    for (unsigned k = 0; k < n; k++) {
        struct worker *w = &ws[k];
        if (w->inexact)
            return false;
        for (guint i = 0; i < w->refused_lingering->len; i++) {
            const struct refused_linger *e = &g_array_index(w->refused_lingering, struct refused_linger, i);
            struct close_key when = { .linger = e->linger, .first_ts = e->first_ts, .last_ts = INT64_MIN };
            linger_resolve(&when, w);
            if (e->key) {
                struct refused *r = g_ptr_array_index(w->refused_list, e->key - 1);
                refused_when(&r->when, &r->has_when, &when);
            } else {
                refused_when(&w->refused_min, &w->refused, &when);
            }
        }
        refused |= w->refused;
    }
    bool keys = false;
    for (unsigned k = 0; k < n; k++)
        keys |= ws[k].refused_list->len > 0;
    if (!refused && !keys)
        return true;
    if (!keys) { /* the full level only: one run's holds the first cap of the threads' full groups */
        struct close_key first = { 0 };
        bool have = false;
        for (unsigned k = 0; k < n; k++)
            if (ws[k].refused)
                refused_when(&first, &have, &ws[k].refused_min);
        uint64_t before = 0;
        for (unsigned k = 0; k < n; k++)
            for (guint i = 0; i < ws[k].made->len; i++)
                before += conn_groups_at(ws[k].a.groups, i)->key.level == CONN_GROUP_FULL &&
                          close_key_before(&g_array_index(ws[k].made, struct close_key, i), &first);
        return before >= cap;
    }
    GArray *ev = g_array_new(FALSE, FALSE, sizeof(struct replay));
    for (unsigned k = 0; k < n; k++) {
        for (guint i = 0; i < ws[k].made->len; i++) {
            struct replay r = { g_array_index(ws[k].made, struct close_key, i), conn_groups_at(ws[k].a.groups, i), NULL, 0 };
            g_array_append_val(ev, r);
        }
        if (ws[k].refused) {
            struct replay r = { ws[k].refused_min, NULL, NULL, CONN_GROUP_FULL };
            g_array_append_val(ev, r);
        }
        for (guint i = 0; i < ws[k].refused_list->len; i++) {
            const struct refused *f = g_ptr_array_index(ws[k].refused_list, i);
            struct replay r = { f->when, NULL, &f->key, f->key.level };
            g_array_append_val(ev, r);
        }
    }
    g_array_sort(ev, replay_order);
    struct conn_groups *one = conn_groups_new(cap);
    bool exact = true;
    for (guint i = 0; exact && i < ev->len; i++) {
        const struct replay *r = &g_array_index(ev, struct replay, i);
        if (r->grp)
            conn_groups_add_group(one, r->grp);
        else
            exact = conn_groups_level_full(one, (enum conn_group_level)r->level) &&
                    (!r->key || !conn_groups_has(one, r->key));
    }
    conn_groups_free(one);
    g_array_free(ev, TRUE);
    return exact;
}

/* Whether the edges (connections open at the end, or first seen in their
 * middle, analysis.c conn_closed()) one run kept are the threads' together:
 * at most ANALYSIS_MAX_EDGES of them.  Past it one run added the ones
 * after its first ANALYSIS_MAX_EDGES to its groups and SMB hosts as they
 * closed, the threads those past their own: which keys capped tables keep
 * then differs, so it holds only while no table can fill (the groups and
 * hosts of every thread and every edge within one run's caps). */
static bool edges_exact(struct worker *ws, unsigned n, const struct analysis *a)
{
    uint64_t edges = 0, groups = 0, hosts = 0;
    for (unsigned k = 0; k < n; k++) {
        if (ws[k].edges_past)
            return false;
        edges += ws[k].a.edges->len;
        groups += conn_groups_count(ws[k].a.groups);
        hosts += smb_hosts_size(ws[k].a.smb_hosts);
    }
    return edges_within(edges, groups, hosts, conn_groups_stats(a->groups).cap, smb_hosts_cap(a->smb_hosts));
}

struct edge_ref {
    struct close_key key;
    const struct conn_summary *cs;
};

static gint edge_ref_order(gconstpointer pa, gconstpointer pb)
{
    return close_key_order(&((const struct edge_ref *)pa)->key, &((const struct edge_ref *)pb)->key);
}

static gint edge_close_order(gconstpointer pa, gconstpointer pb)
{
    int64_t a = ((const struct conn_summary *)pa)->order_at, b = ((const struct conn_summary *)pb)->order_at;
    return (a > b) - (a < b);
}

/* The threads' edges (fold_conns() put them in a->edges thread after
 * thread) in the order one run closed them, order_at their rank:
 * merge_finish() adds them to the groups so (a->edges_close_order). */
static void edges_as_closed(struct analysis *a, struct worker *ws, unsigned n)
{
    GArray *refs = g_array_new(FALSE, FALSE, sizeof(struct edge_ref));
    for (unsigned k = 0; k < n; k++)
        for (guint i = 0; i < ws[k].a.edges->len && i < ws[k].edge_keys->len; i++) {
            struct edge_ref r = { g_array_index(ws[k].edge_keys, struct close_key, i),
                                  &g_array_index(ws[k].a.edges, struct conn_summary, i) };
            linger_resolve(&r.key, &ws[k]);
            g_array_append_val(refs, r);
        }
    if (a->closes_one_run) { /* numbered as one run numbers them (split_closes.h): in that order */
        g_array_sort(a->edges, edge_close_order);
        a->edges_close_order = true;
    } else if (refs->len == a->edges->len) { /* else not every edge has its close: the order of their ends */
        g_array_sort(refs, edge_ref_order);
        g_array_set_size(a->edges, 0);
        for (guint i = 0; i < refs->len; i++) {
            struct conn_summary cs = *g_array_index(refs, struct edge_ref, i).cs;
            cs.order_at = 2 * ((int64_t)i + 1); /* numbered as one run numbers its closes */
            g_array_append_val(a->edges, cs);
        }
        a->edges_close_order = true;
    }
    g_array_free(refs, TRUE);
}

/* The lingering connections one run (or, before linger_model(), a
 * thread) ended at the end of the input. */
static int64_t lingering_at_end(const struct worker *ws, unsigned n)
{
    int64_t at_end = 0;
    for (unsigned k = 0; k < n; k++)
        for (guint i = 0; i < ws[k].lingering->len; i++)
            at_end += g_array_index(ws[k].lingering, struct linger_rec, i).left == LINGER_AT_END;
    return at_end;
}

/* Whether every thread's groups are whole combinations (none refused
 * past its bound and folded below the full level, note_landed()). */
static bool groups_whole(const struct worker *ws, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        for (uint32_t i = 0; i < conn_groups_count(ws[k].a.groups); i++)
            if (conn_groups_at(ws[k].a.groups, i)->key.level != CONN_GROUP_FULL)
                return false;
    return true;
}

/* Every thread's closes numbered as one run numbers them (linger_model()
 * done; full: it was not run): false when they are not one run's order
 * (split_closes.h). */
static bool number_closes(struct worker *ws, unsigned n, struct split_thread_closes *tc, bool full)
{
    bool ok = !full;
    for (unsigned k = 0; k < n; k++) {
        struct worker *w = &ws[k];
        ok &= !w->numbered_lost && w->numbered->len == w->a.close_seq;
        for (guint i = 0; ok && i < w->numbered->len; i++) {
            struct split_numbered *x = &g_array_index(w->numbered, struct split_numbered, i);
            if (!x->linger)
                continue;
            struct close_key key = split_numbered_key(x);
            linger_resolve(&key, w);
            /* a connection this thread ended before its end (past its own share of the
             * closed list, more than two threads) that one run ended at its end: one run
             * may keep it an edge (fin_linger_note()) where the thread grouped it */
            ok &= !(key.at_end && !x->at_end && !x->tail);
            split_numbered_set_key(x, &key);
        }
        tc[k] = (struct split_thread_closes){ &w->a, w->numbered, NULL };
    }
    return ok && split_closes_number(tc, n);
}

/* The workers' analyses into a, the file's counters into one input;
 * false (a freed by the caller) when the split's answer may not be one run's
 * (split_exact()), unless the input was interrupted (a stop signal: its
 * report follows at once, as near as the split gives it). */
static bool fold_workers(struct analysis *a, struct worker *ws, unsigned n, const struct input_info *rd)
{
    struct input_info *in = g_ptr_array_index(ws[0].a.inputs, 0);
    in->bytes = rd->bytes;
    in->truncated = rd->truncated;
    in->interrupted = rd->interrupted;
    in->error = rd->error ? g_strdup(rd->error) : NULL;
    analysis_input_filter(in, rd->capture_filter, NULL);
    in->have_drop_stats = rd->have_drop_stats;
    in->if_received = rd->if_received;
    in->if_dropped = rd->if_dropped;
    in->if_ifdropped = rd->if_ifdropped;
    G_STATIC_ASSERT(G_N_ELEMENTS(a->jobs_records) >= SPLIT_MAX_THREADS);
    for (unsigned k = 0; k < n; k++)
        a->jobs_records[k] = ((const struct input_info *)g_ptr_array_index(ws[k].a.inputs, 0))->packets;

    memcpy(in->head, rd->head, sizeof in->head); /* the part's identity: the reader's first records */
    in->have_head = rd->have_head;
    part_overlap_clear(&in->overlap); /* the reader's sample of every record (part_sketch.h) */
    in->overlap = rd->overlap;
    in->overlap.hashes = rd->overlap.n ? g_memdup2(rd->overlap.hashes, rd->overlap.n * sizeof(uint64_t)) : NULL;
    for (unsigned k = 1; k < n; k++) {
        input_add(in, g_ptr_array_index(ws[k].a.inputs, 0));
        g_ptr_array_set_size(ws[k].a.inputs, 0);
    }
    int64_t first, last;
    bool clock = flow_table_clock(ws[0].a.flows, &first, &last);
    bool full = false;
    for (unsigned k = 0; k < n; k++)
        full |= ws[k].lingering_full;
    int64_t at_end_before = lingering_at_end(ws, n);
    if (!full)
        linger_model(ws, n, a->cfg, clock ? last : INT64_MIN);
    else
        linger_unmodelled(ws, n);
    for (unsigned k = 0; k < n; k++)
        for (guint i = 0; i < ws[k].made->len; i++)
            linger_resolve(&g_array_index(ws[k].made, struct close_key, i), &ws[k]);
    bool capped = false;
    for (unsigned k = 0; k < n; k++)
        capped |= ws[k].capped;
    if ((capped || !split_exact(ws, n, conn_groups_stats(a->groups).cap) || !netbios_rows_exact(ws, n) ||
         !edges_exact(ws, n, a)) &&
        !rd->interrupted)
        return false;
    /* The merge state written: it carries one run's close order
     * (split_closes.h), or the file is analysed as one run.  Past the
     * lingering connections modelled (linger_model()) one run's order of
     * them is not known. */
    struct split_thread_closes tc[SPLIT_MAX_THREADS];
    memset(tc, 0, sizeof tc);
    bool numbered = analysis_sketches(a->cfg) && number_closes(ws, n, tc, full);
    if (analysis_sketches(a->cfg) && !numbered && !rd->interrupted) {
        for (unsigned k = 0; k < n; k++)
            g_free(tc[k].number);
        return false;
    }
    keep_first_closed(a, ws, n);
    for (unsigned k = 0; k < n; k++) { /* the groups in the order one run made them */
        fold_order_groups_by(ws[k].order, ws[k].made->data, ws[k].made->len, sizeof(struct close_key), close_key_order);
        if (numbered)
            fold_order_group_closes(ws[k].order, split_closes_groups(&tc[k], (const uint64_t *)(const void *)ws[k].made_at->data,
                                                                     ws[k].made_at->len),
                                    ws[k].made_at->len);
    }
    struct analysis *as[JOBS_MAX];
    struct fold_order *order[JOBS_MAX];
    for (unsigned k = 0; k < n; k++) {
        as[k] = &ws[k].a;
        order[k] = ws[k].order;
    }
    fold_mem_many(a, as, order, n, true);
    if (numbered)
        split_closes_fold(a, tc, n, lingering_at_end(ws, n) - at_end_before);
    for (unsigned k = 0; k < n; k++)
        g_free(tc[k].number);
    /* The fold lists what it folded past the groups' cap (state.groups_past:
     * groups_past_note_group()) as one run does only for whole combinations;
     * a thread's groups below its full level are not.  Without the list merge
     * reads the report as an older one's, the same answer where no server was
     * dropped (the connections below by server: merge reads the list's in
     * their place); where one was, the file is analysed as one run. */
    if (!groups_whole(ws, n)) {
        if (numbered && !rd->interrupted &&
            conn_groups_level_conns(a->groups, CONN_GROUP_ANY_HOST) + conn_groups_level_conns(a->groups, CONN_GROUP_OTHER))
            return false;
        groups_past_free(a);
    }
    edges_as_closed(a, ws, n);
    /* The capture's clock (every thread's table saw it: flow_table_tick())
     * into the folded table: the merge state's part clock is one run's. */
    if (clock) {
        flow_table_tick(a->flows, first);
        flow_table_tick(a->flows, last);
    }
    return true;
}

/* The records split_sample() reads at most, and their bytes. */
#define SAMPLE_RECORDS 16384u
#define SAMPLE_BYTES (16u << 20)

/* How many of the file's first records go to worker 0 by their kind, not
 * their address pair (split_route.h: UDP, other protocols, frames not
 * IP), for the feed's balance (split_feed_balance()).  Read with a reader
 * of its own, as the feed reads (uncompressed files only): the first 16 MiB
 * or 16,384 records, whichever ends first (a few ms).  Nothing when the
 * file cannot be read again: the pairs are then shared evenly. */
static void split_sample(const char *path, struct split_feed *feed)
{
    char err[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, err);
    if (!cap)
        return;
    uint64_t n = 0, unroutable = 0, bytes = 0;
    struct capture_record rec;
    while (n < SAMPLE_RECORDS && bytes < SAMPLE_BYTES && capture_next(cap, &rec) == 1) {
        enum split_tcp t;
        unroutable += split_route(&rec, SPLIT_MAX_THREADS, &t) == 0 && t == SPLIT_TCP_NO;
        bytes += rec.caplen;
        n++;
    }
    capture_close(cap);
    split_feed_balance(feed, unroutable, n);
}

int split_main(const struct config *cfg)
{
    if (!quic_crypto_init()) { /* once, before the threads: libgcrypt's own set-up is not thread-safe */
        fprintf(stderr, "smbscope: libgcrypt could not be initialised (QUIC)\n");
        return 2;
    }
    /* the empty array every connection shares, made before the threads:
     * GLib's g_once inside it is invisible to ThreadSanitizer */
    session_empty_array();
    mem_map_large(); /* as over several inputs (jobs.c): the fold's tables and the verdict's arrays grow by mremap */
    char err[CAPTURE_ERRBUF_SIZE > 512 ? CAPTURE_ERRBUF_SIZE : 512];
    struct capture *cap = capture_open(cfg->inputs[0], err);
    /* A file that cannot be read says why in one analysis, as without
     * --jobs; a compressed one is analysed once (every thread would
     * decompress all of it, which costs more than the split gains). */
    /* 802.11 too (split_route.h); a later interface's, where the split
     * meets its first record (split_feed.c) */
    int dlt = cap ? capture_linktype(cap) : 0;
    if (!cap || (!packet_linktype_supported(dlt) && !capture_multi_linktype(cap)) || capture_compression(cap)[0] ||
        split_link_unsplittable(dlt)) {
        if (cap)
            capture_close(cap);
        return -1;
    }
    if (analysis_sketches(cfg))
        capture_sketch_records(cap); /* the part's sample: every record read (part_sketch.h) */
    unsigned n = (unsigned)cfg->jobs < SPLIT_MAX_THREADS ? (unsigned)cfg->jobs : SPLIT_MAX_THREADS;
    struct worker *ws = g_new0(struct worker, n);
    struct split_feed *feed = split_feed_new(cap, n, &stop_signal);
    struct analysis a;
    bool ok = analysis_init(&a, cfg, err, sizeof err);
    if (!ok)
        fprintf(stderr, "smbscope: %s\n", err);
    else if (!feed)
        fprintf(stderr, "smbscope: out of memory\n");
    if (feed)
        split_sample(cfg->inputs[0], feed);
    atomic_uint_fast64_t nb_rows;
    atomic_init(&nb_rows, 0);
    struct edge_tally tally = { .groups_cap = ok ? conn_groups_stats(a.groups).cap : 0,
                                .hosts_cap = ok ? smb_hosts_cap(a.smb_hosts) : 0 };
    for (int i = 0; i < EDGE_TALLY_N; i++)
        atomic_init(&tally.made[i], 0);
    if (!ok || !feed || !workers_start(cfg, ws, n, cap, feed, &nb_rows, &tally)) { /* workers_start() says why */
        if (a.inputs)
            analysis_free(&a);
        workers_free(ws, n);
        split_feed_free(feed);
        capture_close(cap);
        return 2;
    }
    struct input_info rd = { 0 };
    bool input_error = false;
    run_workers(ws, n, cap, &rd, &input_error);
    analysis_input_end(&rd, cap, NULL); /* --jobs takes no filter expression */
    bool given_up = split_feed_aborted(feed);
    split_feed_free(feed);
    capture_close(cap);
    if (given_up || !fold_workers(&a, ws, n, &rd)) {
        /* the split's answer may not be one run's (split_exact()): the
         * file is analysed as one run (main.c), which reads it again */
        workers_free(ws, n);
        analysis_free(&a);
        g_free(rd.error);
        g_free(rd.capture_filter);
        part_overlap_clear(&rd.overlap);
        return -1;
    }
    if (input_error)
        fprintf(stderr, "smbscope: %s\n", rd.error);
    GArray *nb_made = nb_made_all(ws, n);
    workers_free(ws, n); /* before the report: its peak is then one analysis' */
    a.input_error |= input_error;
    a.interrupt_signal = rd.interrupted ? (stop_signal ? stop_signal : SIGINT) : 0;
    g_free(rd.error);
    g_free(rd.capture_filter);
    part_overlap_clear(&rd.overlap);
    GHashTable *group_closes = split_closes_take_groups(&a);
    merge_finish(&a);
    split_closes_put_groups(&a, group_closes); /* for the table the state writes */
    nb_rows_as_made(&a, nb_made);
    fold_mem_seal_sets(&a); /* each flow was one worker's: a row or past the rows, never both */
    a.jobs_threads = n;
    a.jobs_requested = (unsigned)cfg->jobs;
    a.jobs_split = "flow-hash";
    int status = merge_report(cfg, &a);
    analysis_free(&a);
    return status;
}
