/* split.c - see split.h. */
#include "split.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "capture.h"
#include "census.h"
#include "conn_groups.h"
#include "flow.h"
#include "fold_mem.h"
#include "jobs.h"
#include "mem_trim.h"
#include "merge.h"
#include "packet.h"
#include "quic_crypto.h"
#include "session.h"
#include "session_priv.h"
#include "smb_hosts.h"
#include "split_feed.h"
#include "split_route.h"

/* When a connection closed in one run, as near as a thread can tell
 * (keep_first_closed()): ordered by close_key_order(). */
struct close_key {
    bool at_end;    /* closed by the end of the input */
    int64_t when;   /* the time it closed in one run; INT64_MIN: by the flow table's end */
    int64_t first_ts;
    uint64_t flow_id;
    int64_t linger_ts; /* lingering after its FINs at the end: its last packet's time; else INT64_MIN */
};

/* One thread's share.  Worker 0 runs on the main thread. */
struct worker {
    unsigned k, n;
    struct config cfg;        /* the run's, with this thread's share of the caps (share_caps()) */
    struct split_feed *feed;  /* the file's records, read once for every worker */
    struct analysis a;
    GArray *close_ts;         /* int64_t per a.conns entry: the time of the record that closed it */
    int64_t now;              /* the record in hand's time (INT64_MAX: the end) */
    struct close_key last;    /* of the connection that closed last */
    GArray *made;             /* struct close_key per group of a.groups: of the connection that made it */
    GArray *lingering;        /* int64_t linger_ts of every connection lingering at the end */
    GThread *th;
    struct fold_order *order; /* fold_mem_order() of a, sorted on this worker's thread */
};

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

static bool lingered(const struct smb_conn *s)
{
    return s->close_reason && (strcmp(s->close_reason, "fin") == 0 || strcmp(s->close_reason, "rst") == 0);
}

/* Closed connections linger and leave in the order of their last packet
 * (flow.h), later in a worker than in one run (each has its own
 * max_closed): that order, not the worker's.  But those the flow table
 * still held at the end of the input left one run in opening order
 * (flow_table_finish()), lingering or not, before the QUIC and RoCEv2
 * tables' (analysis_finish()): one lingering since it opened long ago
 * comes first.  ts: the time of the record that closed s here. */
static struct close_key close_key_of(const struct smb_conn *s, int64_t ts)
{
    bool at_end = ts == INT64_MAX;
    bool tcp_end = at_end && (s->obs.carrier == CARRIER_TCP || s->obs.carrier == CARRIER_RDMA_IWARP);
    return (struct close_key){ at_end, tcp_end ? INT64_MIN : lingered(s) ? s->last_ts : ts, s->first_ts, s->flow_id,
                               tcp_end && lingered(s) ? s->last_ts : INT64_MIN };
}

static gint close_key_order(gconstpointer pa, gconstpointer pb)
{
    const struct close_key *a = pa, *b = pb;
    if (a->at_end != b->at_end)
        return a->at_end ? 1 : -1;
    if (a->when != b->when)
        return a->when < b->when ? -1 : 1;
    if (a->first_ts != b->first_ts) /* closed by one record or at the end: in opening order */
        return a->first_ts < b->first_ts ? -1 : 1;
    return (a->flow_id > b->flow_id) - (a->flow_id < b->flow_id);
}

/* The groups made since the last connection closed were its: one run makes
 * a group as its first connection closes (analysis.c conn_closed()). */
static void note_made(struct worker *w)
{
    while (w->made->len < conn_groups_count(w->a.groups))
        g_array_append_val(w->made, w->last);
}

/* analysis events.conn_end: s closes (before it goes into the groups). */
static void on_conn_end(void *ctx, const struct smb_conn *s)
{
    struct worker *w = ctx;
    note_made(w);
    w->last = close_key_of(s, w->now);
    if (w->last.linger_ts != INT64_MIN)
        g_array_append_val(w->lingering, w->last.linger_ts);
}

static gint later_first(gconstpointer pa, gconstpointer pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a < b) - (a > b);
}

/* One run's flow table holds at most max_closed connections lingering
 * (flow.h), each thread's as many (jobs_share_caps()): of those all
 * threads held at the end, one run held the last max_closed to close (by
 * their last packet); the others left before the end, in that order.  The
 * oldest last packet one run still held at the end (INT64_MIN: all). */
static int64_t linger_floor(struct worker *ws, unsigned n)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    GArray *all = g_array_new(FALSE, FALSE, sizeof(int64_t));
    for (unsigned k = 0; k < n; k++)
        g_array_append_vals(all, ws[k].lingering->data, ws[k].lingering->len);
    g_array_sort(all, later_first);
    int64_t floor = all->len > lim.max_closed ? g_array_index(all, int64_t, lim.max_closed - 1) : INT64_MIN;
    g_array_free(all, TRUE);
    return floor;
}

/* k as one run closed it, given linger_floor(). */
static void unend(struct close_key *k, int64_t floor)
{
    if (k->linger_ts != INT64_MIN && k->linger_ts < floor) {
        k->at_end = false;
        k->when = k->linger_ts;
    }
}

/* The connections a.conns gained closed at time ts (INT64_MAX: the end). */
static void note_closed(struct worker *w, int64_t ts)
{
    while (w->close_ts->len < w->a.conns->len)
        g_array_append_val(w->close_ts, ts);
}

/* A record another thread analyses: when one run gives it to its flow
 * table (it decodes as TCP: split_route() said so from its headers, or
 * packet_decode() does, frags NULL: an IP fragment is held, as its
 * datagram is not this thread's), this table's clock steps too (one run's
 * idle expiry and time jumps).  true when it did. */
static bool tick(struct worker *w, const struct capture_record *rec, enum split_tcp tcp)
{
    if (tcp == SPLIT_TCP_MAYBE) {
        struct packet pkt;
        if (packet_decode(rec->dlt, rec, NULL, &pkt) != PKT_OK || pkt.l4 != L4_TCP)
            return false;
    }
    flow_table_tick(w->a.flows, rec->ts_us);
    return true;
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
            if (worker[i] == k)
                analysis_feed(&w->a, 0, &recs[i]);
            else if (tcp[i] == SPLIT_TCP_NO || !tick(w, &recs[i], (enum split_tcp)tcp[i]))
                continue;
            if (w->a.conns->len != w->close_ts->len)
                note_closed(w, recs[i].ts_us);
        }
    }
    w->now = INT64_MAX;
    analysis_finish(&w->a);
    jobs_drop_edge_tables(&w->a); /* a.groups: those made as connections closed (not the edges') */
    note_made(w);
    note_closed(w, INT64_MAX); /* closed at the end, after every other */
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
static void keep_first_closed(struct analysis *a, struct worker *ws, unsigned n, int64_t floor)
{
    GArray *all = g_array_new(FALSE, FALSE, sizeof(struct kept));
    for (unsigned k = 0; k < n; k++) {
        GPtrArray *c = ws[k].a.conns;
        for (guint i = 0; i < c->len; i++) {
            struct smb_conn *s = g_ptr_array_index(c, i);
            struct kept e = { close_key_of(s, g_array_index(ws[k].close_ts, int64_t, i)), s };
            unend(&e.key, floor);
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

/* The SYN pairs and SMB hosts: twice a thread's share (jobs_share_caps()). */
static void share_tables(struct analysis *a, unsigned n)
{
    uint64_t pairs = jobs_share(2 * (uint64_t)CENSUS_MAX_PAIRS, n), hosts = jobs_share(2 * (uint64_t)SMB_HOSTS_DEFAULT_CAP, n);
    a->census->max_pairs = (uint32_t)(pairs < CENSUS_MAX_PAIRS ? pairs : CENSUS_MAX_PAIRS);
    smb_hosts_free(a->smb_hosts);
    a->smb_hosts = smb_hosts_new((uint32_t)(hosts < SMB_HOSTS_DEFAULT_CAP ? hosts : SMB_HOSTS_DEFAULT_CAP));
}

/* Each worker's analysis over the one feed of the file.  false: a
 * message printed. */
static bool workers_start(const struct config *cfg, struct worker *ws, unsigned n, struct capture *cap,
                          struct split_feed *feed)
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
        w->a.progress = false;
        g_ptr_array_add(w->a.inputs, input_of(cap, cfg->inputs[0]));
        w->close_ts = g_array_new(FALSE, FALSE, sizeof(uint64_t));
        w->made = g_array_new(FALSE, FALSE, sizeof(struct close_key));
        w->lingering = g_array_new(FALSE, FALSE, sizeof(int64_t));
        w->a.events.ctx = w;
        w->a.events.conn_end = on_conn_end;
    }
    return true;
}

static void workers_free(struct worker *ws, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        struct worker *w = &ws[k];
        if (w->a.inputs)
            analysis_free(&w->a);
        if (w->close_ts)
            g_array_free(w->close_ts, TRUE);
        if (w->made)
            g_array_free(w->made, TRUE);
        if (w->lingering)
            g_array_free(w->lingering, TRUE);
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
        fprintf(stderr, "smbscope: %s\n", in->error);
        *input_error = true;
    }
}

/* The workers' analyses into a, the file's counters into one input. */
static void fold_workers(struct analysis *a, struct worker *ws, unsigned n, const struct input_info *rd)
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
    for (unsigned k = 1; k < n; k++) {
        input_add(in, g_ptr_array_index(ws[k].a.inputs, 0));
        g_ptr_array_set_size(ws[k].a.inputs, 0);
    }
    int64_t floor = linger_floor(ws, n);
    keep_first_closed(a, ws, n, floor);
    for (unsigned k = 0; k < n; k++) { /* the groups in the order one run made them */
        for (guint i = 0; i < ws[k].made->len; i++)
            unend(&g_array_index(ws[k].made, struct close_key, i), floor);
        fold_order_groups_by(ws[k].order, ws[k].made->data, ws[k].made->len, sizeof(struct close_key), close_key_order);
    }
    struct analysis *as[JOBS_MAX];
    struct fold_order *order[JOBS_MAX];
    for (unsigned k = 0; k < n; k++) {
        as[k] = &ws[k].a;
        order[k] = ws[k].order;
    }
    fold_mem_many(a, as, order, n, true);
    /* The capture's clock (every thread's table saw it: flow_table_tick())
     * into the folded table: the merge state's part clock is one run's. */
    int64_t first, last;
    if (flow_table_clock(ws[0].a.flows, &first, &last)) {
        flow_table_tick(a->flows, first);
        flow_table_tick(a->flows, last);
    }
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
    if (!cap || (!packet_linktype_supported(capture_linktype(cap)) && !capture_multi_linktype(cap)) ||
        capture_compression(cap)[0]) {
        if (cap)
            capture_close(cap);
        return -1;
    }
    unsigned n = (unsigned)cfg->jobs < SPLIT_MAX_THREADS ? (unsigned)cfg->jobs : SPLIT_MAX_THREADS;
    struct worker *ws = g_new0(struct worker, n);
    struct split_feed *feed = split_feed_new(cap, n, &stop_signal);
    struct analysis a;
    bool ok = analysis_init(&a, cfg, err, sizeof err);
    if (!ok)
        fprintf(stderr, "smbscope: %s\n", err);
    else if (!feed)
        fprintf(stderr, "smbscope: out of memory\n");
    if (!ok || !feed || !workers_start(cfg, ws, n, cap, feed)) { /* workers_start() says why */
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
    split_feed_free(feed);
    capture_close(cap);
    fold_workers(&a, ws, n, &rd);
    workers_free(ws, n); /* before the report: its peak is then one analysis' */
    a.input_error |= input_error;
    a.interrupt_signal = rd.interrupted ? (stop_signal ? stop_signal : SIGINT) : 0;
    g_free(rd.error);
    g_free(rd.capture_filter);
    merge_finish(&a);
    fold_mem_seal_sets(&a); /* each flow was one worker's: a row or past the rows, never both */
    a.jobs_threads = n;
    a.jobs_requested = (unsigned)cfg->jobs;
    a.jobs_split = "flow-hash";
    int status = merge_report(cfg, &a);
    analysis_free(&a);
    return status;
}
