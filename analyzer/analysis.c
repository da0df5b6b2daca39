/* analysis.c - drive captures through the pipeline; see analysis.h. */
#include "analysis.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "capture.h"
#include "capture_head.h"
#include "census.h"
#include "close_pipe.h"
#include "conn_groups.h"
#include "smb_hosts.h"
#include "fmt.h"
#include "ipfrag.h"
#include "keylog.h"
#include "mstate_detail.h"
#include "mstate_group_order.h"
#include "mstate_groups_past.h"
#include "mstate_half_open.h"
#include "mstate_syn_starts.h"
#include "mstate_join_fin.h"
#include "mstate_join_hs.h"
#include "mstate_frags.h"
#include "mstate_wlan.h"
#include "mstate_frags_tcp.h"
#include "mstate_join_quic.h"
#include "mstate_join_syn.h"
#include "mstate_ends_ix.h"
#include "mstate_tails.h"
#include "mstate_leaves.h"
#include "mstate_xchg.h"
#include "pcapng_out.h"
#include "quic_table.h"
#include "verdict.h"
#include "write_streams.h"

/* The session model is the flow table's first observer; the stream writer
 * (--write-streams) is another, with its own per-connection pointer.  The
 * session model's pointer is the connection's struct smb_conn itself
 * (whether its classification event was sent is its `announced`). */

/* The session state of a TCP connection is made with its first stream
 * byte or gap, not at its SYN: a connection without data cannot carry SMB
 * (smb_conn_close() would say so), and a flood of SYNs or of empty
 * connections then costs only the flow table's entries. */
static void on_conn_open(void *ctx, struct flow_conn *c, void **user)
{
    (void)ctx;
    (void)c;
    *user = NULL;
}

static struct smb_conn *conn_user_of(struct analysis *a, struct flow_conn *c, void **user)
{
    if (!*user) {
        /* The session starts as it did when it was made at the flow's
         * opening, when the flow was still marked mid-stream (its SYN is
         * noted after the open callback): same framing mode, same answer.
         * It keeps the flow itself (not a copy) to ask it about the SYN. */
        *user = smb_conn_new(&a->session_cfg, c, true);
    }
    return *user;
}

/* The classification so far of an open connection (smb_conn_close() gives
 * the final one): server = responder unless the handshake was missed. */
static enum transport_class provisional_class(const struct smb_conn *s, const struct flow_conn *c)
{
    struct transport_obs o = s->obs;
    int server = c->initiator_guessed && c->port[0] < c->port[1] ? 0 : 1;
    o.server_port = c->port[server];
    o.handshake_seen = c->hs != FLOW_HS_NONE;
    return transport_classify(&o).cls;
}

static void on_data(void *ctx, struct flow_conn *c, void **user, int dir, const uint8_t *p, size_t n, int64_t ts)
{
    struct analysis *a = ctx;
    struct smb_conn *s = conn_user_of(a, c, user);
    smb_conn_data(s, dir, p, n, ts);
    /* the rest of a READ/WRITE payload: reassembly counts it without
     * bringing it here segment by segment (on_passed) */
    uint64_t skip = smb_conn_skippable(s, dir);
    if (skip)
        flow_conn_pass(c, dir, skip);
    if (!s->announced && a->events.conn_classified) {
        if (s->smb2_response_seen || s->smb1_response_seen || s->n_neg_codes) {
            s->announced = true;
            a->events.conn_classified(a->events.ctx, s, c, provisional_class(s, c), ts);
        }
    }
}

static void on_gap(void *ctx, struct flow_conn *c, void **user, int dir, uint64_t n, int64_t ts)
{
    smb_conn_gap(conn_user_of(ctx, c, user), dir, n, ts);
}

static void on_passed(void *ctx, struct flow_conn *c, void **user, int dir, uint64_t n, int64_t ts)
{
    (void)ts;
    smb_conn_passed(conn_user_of(ctx, c, user), dir, n);
}

/* A connection that carried NBSS belongs in the NetBIOS ledger: on 139 its
 * row exists already (port rule); elsewhere the classifier's finding makes
 * one.  The called and calling names go on the row. */
static void conn_to_ledger(struct analysis *a, const struct smb_conn *s)
{
    struct nb_flow *row = nb_ledger_find(a->ledger, 6, smb_conn_client(s), smb_conn_client_port(s),
                                         smb_conn_server(s), smb_conn_server_port(s));
    bool made = false;
    if (!row && s->verdict.cls == TRANSPORT_NBT_NONSTANDARD_PORT) {
        row = nb_ledger_add_nbss_conn(a->ledger, smb_conn_client(s), smb_conn_client_port(s), smb_conn_server(s),
                                      smb_conn_server_port(s), s->packets[0] + s->packets[1],
                                      s->bytes[0] + s->bytes[1], s->first_ts, s->last_ts,
                                      s->packets[!s->client] > 0);
        made = row != NULL;
    }
    if (!row)
        return;
    /* rendered by nbname_render(): already escaped text */
    if (s->called_name.len)
        nb_flow_add_name(row, (const char *)s->called_name.p);
    if (s->calling_name.len)
        nb_flow_add_name(row, (const char *)s->calling_name.p);
    if (made && a->events.netbios_flow)
        a->events.netbios_flow(a->events.ctx, row);
}

/* Whether a closed connection keeps its full detail (--connections). */
static bool keep_conn(const struct analysis *a, const struct conn_summary *cs)
{
    const struct config *cfg = a->cfg;
    switch (cfg->conn_detail) {
    case CONN_DETAIL_ALL:
        return true;
    case CONN_DETAIL_NONE:
        return false;
    case CONN_DETAIL_VIOLATIONS:
        return cs->rules && a->conns->len < a->conn_detail_limit;
    case CONN_DETAIL_FIRST:
    default:
        return a->conns->len < a->conn_detail_limit;
    }
}

/* A closed connection's record into the groups, the SMB hosts, the
 * folded ones' groups_past and the early starts (gah: conn_groups_ahead()
 * of it).  The packet thread's, or the close thread's in a file run
 * (close_pipe.h): it reads nothing the packet thread changes (what it
 * needs of that is in the item). */
static void fold_closed(struct analysis *a, const struct close_item *it, const struct conn_groups_ahead *gah)
{
    const struct conn_summary *cs = &it->cs;
    uint32_t had = conn_groups_count(a->groups);
    uint64_t full = conn_groups_level_conns(a->groups, CONN_GROUP_FULL);
    uint64_t by_server = conn_groups_level_conns(a->groups, CONN_GROUP_ANY_CLIENT);
    uint32_t past = groups_past_ahead(a, cs);
    conn_groups_add_ahead(a->groups, cs, gah);
    if (conn_groups_count(a->groups) > had)
        mstate_close_made_group(a, cs, had);
    if (conn_groups_level_conns(a->groups, CONN_GROUP_FULL) == full) /* folded past the cap */
        groups_past_note(a, cs, by_server, past);
    smb_hosts_add(a->smb_hosts, cs);
    syn_start_note(a, cs, it->syn_isn, it->run_first_ts); /* merge may find its first SYN in another capture */
}

/* The close thread's fold: the next item's group slots and hosts are
 * fetched while this one is placed (the wait for them was most of the
 * groups' time); the hashes made for it are kept for its turn (they do
 * not depend on the adds in between: conn_groups.h). */
static void fold_piped(void *ctx, const struct close_item *it, const struct close_item *next)
{
    struct analysis *a = ctx;
    struct conn_groups_ahead gah;
    if (a->pipe_ahead_for == it)
        gah = a->pipe_ahead;
    else
        conn_groups_ahead(a->groups, &it->cs, &gah);
    a->pipe_ahead_for = next;
    if (next) {
        conn_groups_ahead(a->groups, &next->cs, &a->pipe_ahead);
        smb_hosts_warm(a->smb_hosts, &next->cs.client, 1);
    }
    fold_closed(a, it, &gah);
}

void analysis_close_thread(struct analysis *a)
{
    if (!a->pipe && !a->live_run && !a->interval && close_pipe_wanted())
        a->pipe = close_pipe_start(fold_piped, a);
}

/* The groups, SMB hosts and the rest the close thread fills, complete
 * (the thread ended): the packet thread's again. */
static void close_thread_end(struct analysis *a)
{
    close_pipe_stop(a->pipe);
    a->pipe = NULL;
    a->pipe_ahead_for = NULL;
}

/* A closed connection that carried SMB, whatever carried it (c: its TCP flow,
 * or NULL): events, folded into the groups, and kept for the report's
 * detail or freed. */
static void conn_closed(struct analysis *a, struct smb_conn *s, const struct flow_conn *c, bool announced)
{
    conn_to_ledger(a, s);
    if (!announced && a->events.conn_classified)
        a->events.conn_classified(a->events.ctx, s, c, s->verdict.cls, s->first_ts);
    if (a->events.conn_end)
        a->events.conn_end(a->events.ctx, s);
    /* the record made in place: in the close thread's ring when there is one */
    struct close_item own;
    struct close_item *it = a->pipe ? close_pipe_slot(a->pipe) : &own;
    struct conn_summary *cs = &it->cs;
    conn_summary_from_conn(cs, s, &a->cfg->policy);
    /* the groups' index slots fetched now, probed below (most of the
     * groups' time was the wait for them); the close thread does it itself */
    struct conn_groups_ahead gah;
    if (!a->pipe)
        conn_groups_ahead(a->groups, cs, &gah);
    /* at the end, one lingering after its FINs may have its last ACK in the next capture */
    bool edge = !a->live_run && (analysis_is_edge(cs) || (a->finishing && fin_linger_note(a, cs, c)));
    mstate_close_number(a, cs, c);
    if (edge && a->edges->len < ANALYSIS_MAX_EDGES) {
        half_open_note(a, cs, c);
        syn_start_edge_note(cs, c);
        g_array_append_val(a->edges, *cs);
        mstate_xchg_keep(a, cs, s);
        hs_edge_note(a, cs, c);
    } else {
        a->edges_unjoinable += edge;
        it->syn_isn = syn_start_isn(c);
        it->run_first_ts = a->first_ts;
        if (a->pipe)
            close_pipe_push(a->pipe);
        else
            fold_closed(a, it, &gah);
    }
    if (keep_conn(a, cs)) {
        smb_conn_retain(s);
        g_ptr_array_add(a->conns, s);
    } else {
        a->conns_omitted++;
        smb_conn_free(s);
    }
}

/* A connection that never gave a byte, seen from its middle: the tail of
 * one another capture holds (smbscope merge joins them; a run keeps them
 * only for its merge state). */
static void note_tail(struct analysis *a, const struct flow_conn *c, enum flow_close_reason r)
{
    if (a->live_run || !c->midstream || c->dir[0].bytes || c->dir[1].bytes)
        return;
    analysis_tail_add(a, c, flow_close_reason_name(r));
}

struct analysis_tail *analysis_tail_add(struct analysis *a, const struct flow_conn *c, const char *reason)
{
    if (!a->tails)
        a->tails = g_array_new(FALSE, TRUE, sizeof(struct analysis_tail));
    if (a->tails->len >= ANALYSIS_MAX_EDGES)
        return NULL;
    g_array_set_size(a->tails, a->tails->len + 1); /* cleared: the array was made so */
    struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, a->tails->len - 1);
    for (int d = 0; d < 2; d++) {
        t->addr[d] = c->addr[d];
        t->port[d] = c->port[d];
        t->packets[d] = c->dir[d].packets;
    }
    t->first_ts = c->first_ts_us;
    t->last_ts = c->last_ts_us;
    g_strlcpy(t->close_reason, reason, sizeof t->close_reason);
    t->order_at = mstate_close_next(a, c, t->last_ts, a->tails->len - 1); /* a connection it ends closes here */
    t->fins_acked = !c->rst_seen && c->fin[0] && c->fin[1] && c->stream[0].fin_acked && c->stream[1].fin_acked;
    t->isn_resp_known = c->isn_known[1];
    t->isn_resp = c->isn[1];
    return t;
}

static void on_conn_close(void *ctx, struct flow_conn *c, void **user, enum flow_close_reason r)
{
    struct analysis *a = ctx;
    struct smb_conn *s = *user;
    *user = NULL;
    if (!s) {
        note_tail(a, c, r);
        syn_flow_note(a, c, r);
        return;
    }
    bool announced = s->announced;
    if (s->smbd) /* iWARP (SMB or not): FPDUs that failed their CRC were never read */
        a->iwarp_crc_bad += s->smbd->crc_bad;
    if (smb_conn_close(s, c, flow_close_reason_name(r))) {
        conn_closed(a, s, c, announced);
    } else {
        if (!a->live_run)
            mstate_data_tail_note(a, c, flow_close_reason_name(r), s); /* a message's middle: merge joins it */
        smb_conn_free(s);
    }
}

/* flow_observer.warm: c ends soon.  Its session's blocks, and the
 * record of its initiator (the client, for a connection seen from its
 * SYN), which smb_hosts_add() reads among 50,000 clients' in a large capture. */
static void on_conn_warm(void *ctx, struct flow_conn *c, void **user, int ahead)
{
    struct analysis *a = ctx;
    if (!*user)
        return;
    smb_conn_warm(*user, ahead);
    if (!a->pipe) /* else the close thread's table: it fetches its own */
        smb_hosts_warm(a->smb_hosts, &c->addr[0], ahead);
}

/* A QUIC or RoCEv2 connection that carried SMB has ended: the same path as TCP's. */
static void on_table_closed(void *ctx, struct smb_conn *s)
{
    conn_closed(ctx, s, NULL, false);
}

static void conn_free(gpointer p) { smb_conn_free(p); }

static void input_free(gpointer p)
{
    struct input_info *in = p;
    g_free(in->path);
    g_free(in->link_type);
    g_free(in->error);
    g_free(in->capture_filter);
    g_free(in->part_id);
    part_overlap_clear(&in->overlap);
    g_free(in);
}

bool analysis_init(struct analysis *a, const struct config *cfg, char *errbuf, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->inputs = g_ptr_array_new_with_free_func(input_free);
    a->pcapng_ifs = g_array_new(FALSE, FALSE, sizeof(struct pcapng_if));
    a->conns = g_ptr_array_new_with_free_func(conn_free);
    a->groups = conn_groups_new(cfg->max_conn_groups);
    a->smb_hosts = smb_hosts_new(0);
    a->edges = g_array_new(FALSE, FALSE, sizeof(struct conn_summary));
    a->conn_detail_limit = cfg->conn_detail_limit ? cfg->conn_detail_limit : CONN_DETAIL_DEFAULT_LIMIT;
    a->ledger = nb_ledger_new(cfg->max_netbios_flows > UINT32_MAX ? UINT32_MAX : (uint32_t)cfg->max_netbios_flows);
    a->frags = ipfrag_new(NULL);
    a->census = census_new();
    a->session_cfg.pdu_cap = cfg->pdu_cap;
    a->session_cfg.no_fast_path = cfg->no_fast_path;
    a->session_cfg.pool = session_pool_new();
    a->roce = roce_table_new(&a->session_cfg, 0);
    a->first_ts = INT64_MAX;
    a->last_ts = INT64_MIN;

    struct flow_limits lim;
    flow_limits_default(&lim);
    if (cfg->max_connections)
        lim.max_conns = cfg->max_connections > UINT32_MAX ? UINT32_MAX : (uint32_t)cfg->max_connections;
    if (cfg->reasm_dir_cap)
        lim.dir_buffer_cap = cfg->reasm_dir_cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cfg->reasm_dir_cap;
    if (cfg->reasm_total_cap)
        lim.total_buffer_cap = cfg->reasm_total_cap;
    if (cfg->max_closed_conns)
        lim.max_closed = cfg->max_closed_conns;
    const struct flow_observer obs = {
        .conn_open = on_conn_open,
        .data = on_data,
        .gap = on_gap,
        .passed = on_passed,
        .conn_close = on_conn_close,
        .warm = on_conn_warm,
    };
    a->flows = flow_table_new(&lim, &obs, a);
    if (!a->flows || !a->frags || !a->census || !a->ledger) {
        snprintf(errbuf, errlen, "out of memory");
        return false;
    }
    if (cfg->write_streams_dir) {
        a->streams = write_streams_new(cfg->write_streams_dir, 0, errbuf, errlen);
        if (!a->streams)
            return false;
        struct flow_observer streams_obs;
        write_streams_observer(a->streams, &streams_obs);
        flow_table_add_observer(a->flows, &streams_obs, a->streams);
    }
    if (cfg->tls_keylog && !(a->keylog = keylog_load(cfg->tls_keylog, errbuf, errlen)))
        return false;
    a->quic = quic_table_new(&a->session_cfg, 0, a->keylog, on_table_closed, a);
    if (!a->quic) {
        snprintf(errbuf, errlen, "libgcrypt could not be initialised (QUIC)");
        return false;
    }
    if (cfg->quic_state_cap)
        quic_table_set_max_bytes(a->quic, cfg->quic_state_cap);
    a->progress = !cfg->quiet && isatty(STDERR_FILENO);
    a->started_us = g_get_monotonic_time();
    return true;
}

static void progress(struct analysis *a, const struct capture *cap, bool done)
{
    int64_t now = g_get_monotonic_time();
    if (!done && (now - a->started_us < G_USEC_PER_SEC || now - a->last_progress_us < G_USEC_PER_SEC / 4))
        return;
    if (done) {
        if (a->last_progress_us)
            fputs("\r\033[K", stderr);
        return;
    }
    a->last_progress_us = now;
    struct flow_stats fs = flow_table_stats(a->flows);
    int64_t total = capture_size_hint(cap);
    double mb = (double)capture_raw_bytes_read(cap) / 1e6;
    if (total > 0)
        fprintf(stderr, "\r\033[Ksmbscope: %.1f / %.1f MB, %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " connections",
                mb, (double)total / 1e6, a->packets, fs.conns);
    else
        fprintf(stderr, "\r\033[Ksmbscope: %.1f MB, %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " connections",
                mb, a->packets, fs.conns);
    fflush(stderr);
}

static struct input_info *input_new(struct analysis *a, const char *path)
{
    struct input_info *in = g_new0(struct input_info, 1);
    in->path = g_strdup(path);
    in->first_ts = INT64_MAX;
    in->last_ts = INT64_MIN;
    g_ptr_array_add(a->inputs, in);
    return in;
}

/* -w: the output file's interface for records of input idx with link type
 * dlt (a pcapng input may mix link types), described before its first use. */
static int pcapng_if_for(struct analysis *a, guint idx, int dlt, uint32_t snaplen)
{
    for (guint i = 0; i < a->pcapng_ifs->len; i++) {
        const struct pcapng_if *p = &g_array_index(a->pcapng_ifs, struct pcapng_if, i);
        if (p->input == idx && p->dlt == dlt)
            return p->ifid;
    }
    const struct input_info *in = g_ptr_array_index(a->inputs, idx);
    struct pcapng_if p = { idx, dlt, pcapng_out_interface(a->pcapng, dlt, snaplen, in->path) };
    g_array_append_val(a->pcapng_ifs, p);
    return p.ifid;
}

static void check_stop(struct analysis *a)
{
    const struct config *cfg = a->cfg;
    if (cfg->max_packets && a->packets >= cfg->max_packets)
        a->stop = true;
    if (cfg->stop_filesize && a->pcapng && pcapng_out_bytes(a->pcapng) >= cfg->stop_filesize)
        a->stop = true;
}

/* -a duration:N on a file: capture time since its first packet (live: wall
 * clock, checked by the live loop); the first packet past it is not read. */
static bool past_duration(const struct analysis *a, const struct input_info *in, const struct capture_record *rec)
{
    return a->cfg->stop_after_us && in->first_ts != INT64_MAX &&
           rec->ts_us - in->first_ts > (int64_t)a->cfg->stop_after_us;
}

/* A packet that is not IP, or not read: out of line (analysis_feed() stays as small as it was). */
static G_GNUC_NO_INLINE void feed_not_ok(struct analysis *a, const struct packet *pkt, enum packet_status st)
{
    if (st == PKT_NOT_IP)
        nb_ledger_non_ip(a->ledger, pkt);
    else if (st == PKT_ENCRYPTED_ESP)
        esp_peers_note(&a->esp_peers, pkt); /* its outer addresses: the report names the tunnel */
}

/* One packet decoded from a record (an 802.11 A-MSDU holds several). */
static inline void feed_packet(struct analysis *a, struct input_info *in, struct packet *pkt, enum packet_status st)
{
    if ((unsigned)st < PKT_STATUS_COUNT)
        in->status[st]++;
    if (G_UNLIKELY(st != PKT_OK)) {
        feed_not_ok(a, pkt, st);
    } else {
        /* the census's SYN pair is fetched now and counted after the
         * flow table's work (nothing in between reads the census) */
        uint64_t pair_h = 0;
        bool census_due = census_packet_early(a->census, pkt, &pair_h);
        const struct nb_flow *row = nb_ledger_packet_inline(a->ledger, pkt);
        if (row && row->packets == 1 && a->events.netbios_flow)
            a->events.netbios_flow(a->events.ctx, row);
        if (pkt->l4 == L4_TCP)
            flow_table_packet(a->flows, pkt);
        else if (pkt->l4 == L4_UDP && pkt->dport == ROCEV2_UDP_PORT)
            roce_table_packet(a->roce, pkt);
        else if (pkt->l4 == L4_UDP)
            quic_tail_packet(a, pkt); /* quic_table_packet(), and what it did not take noted */
        if (census_due)
            census_packet_late(a->census, pkt, pair_h);
    }
}

void analysis_feed(struct analysis *a, guint idx, const struct capture_record *rec)
{
    struct input_info *in = g_ptr_array_index(a->inputs, idx);
    in->packets++;
    a->packets++;
    in->wire_bytes += rec->wirelen;
    if (in->live)
        in->bytes += rec->caplen;
    if (rec->ts_us < in->first_ts)
        in->first_ts = rec->ts_us;
    if (rec->ts_us > in->last_ts)
        in->last_ts = rec->ts_us;
    if (rec->ts_us < a->first_ts)
        a->first_ts = rec->ts_us;
    if (rec->ts_us > a->last_ts)
        a->last_ts = rec->ts_us;
    struct packet pkt;
    enum packet_status st = packet_decode(rec->dlt, rec, a->frags, &pkt);
    if (G_UNLIKELY(pkt.ip_reassembled) && st == PKT_OK && pkt.tunnel_depth && pkt.l4 == L4_TCP)
        a->tunnel_frag_tcp = true;
    for (;;) { /* one copy of feed_packet(): a second kept LTO from inlining the census's call */
        feed_packet(a, in, &pkt, st);
        if (G_LIKELY(!pkt.link_next))
            break;
        st = packet_decode_next(rec, a->frags, &pkt); /* the next subframe of an 802.11 A-MSDU */
    }
    if (a->pcapng && !pcapng_out_packet(a->pcapng, pcapng_if_for(a, idx, rec->dlt, 262144), rec))
        a->stop = true; /* the write error is reported when the file is closed */
    if (a->interval)
        analysis_feed(a->interval, idx, rec);
    check_stop(a);
}

guint analysis_add_live_input(struct analysis *a, const char *name, int dlt, const char *link_type, uint32_t snaplen)
{
    struct input_info *in = input_new(a, name);
    in->dlt = dlt;
    in->link_type = g_strdup(link_type);
    in->format = "live";
    in->reader = "live";
    in->live = true;
    a->live_run = true;
    if (a->cfg->filter)
        in->capture_filter = g_strdup(a->cfg->filter);
    guint idx = a->inputs->len - 1;
    if (a->pcapng)
        pcapng_if_for(a, idx, dlt, snaplen);
    if (a->interval)
        analysis_add_live_input(a->interval, name, dlt, link_type, snaplen);
    return idx;
}

/* The capture filter of a file, compiled per link type of its records (a
 * pcapng file may mix them). */
#define FILTER_LINKTYPES 8
struct file_filter {
    int n;
    int dlt[FILTER_LINKTYPES];
    struct bpf_program prog[FILTER_LINKTYPES];
};

/* The program for link type dlt; NULL (and the input's error) when the
 * filter does not apply to it. */
static const struct bpf_program *filter_for(struct analysis *a, struct input_info *in, struct file_filter *ff,
                                            int dlt, const char *name)
{
    for (int i = 0; i < ff->n; i++)
        if (ff->dlt[i] == dlt)
            return &ff->prog[i];
    const char *lt = pcap_datalink_val_to_name(dlt);
    pcap_t *dead = ff->n < FILTER_LINKTYPES ? pcap_open_dead(dlt, 262144) : NULL;
    if (!dead || pcap_compile(dead, &ff->prog[ff->n], a->cfg->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        in->error = g_strdup_printf("%s: capture filter '%s' does not apply to its link type %s: %s (adapt the "
                                    "filter to this capture, or analyse it on its own)",
                                    name, a->cfg->filter, lt ? lt : "unknown",
                                    dead ? pcap_geterr(dead) : "too many link types in one file");
        if (dead)
            pcap_close(dead);
        return NULL;
    }
    pcap_close(dead);
    ff->dlt[ff->n] = dlt;
    return &ff->prog[ff->n++];
}

static bool filter_pass(const struct bpf_program *prog, const struct capture_record *rec)
{
    struct pcap_pkthdr h;
    memset(&h, 0, sizeof h);
    h.ts.tv_sec = (time_t)(rec->ts_us / 1000000);
    h.ts.tv_usec = (suseconds_t)(rec->ts_us % 1000000);
    h.caplen = rec->caplen;
    h.len = rec->wirelen;
    return pcap_offline_filter(prog, &h, rec->data) != 0;
}

/* The input's facts from its reader; false (and its error) when it cannot
 * be analysed. */
static bool input_describe(struct analysis *a, struct input_info *in, struct capture *cap, struct file_filter *ff)
{
    in->dlt = capture_linktype(cap);
    in->link_type = g_strdup(capture_linktype_name(cap));
    in->format = capture_format(cap);
    in->gzip = capture_is_gzip(cap);
    in->reader = capture_reader(cap);
    analysis_input_filter(in, capture_filter(cap), NULL);
    /* pcapng interfaces may differ in link type: each record is decoded by its
     * own (unsupported ones are counted per record, not refused whole) */
    if (!packet_linktype_supported(in->dlt) && !capture_multi_linktype(cap)) {
        in->error = g_strdup_printf("%s: unsupported link type %s (%d)", capture_name(cap), in->link_type, in->dlt);
        return false;
    }
    if (!a->cfg->filter)
        return true;
    if (!filter_for(a, in, ff, in->dlt, capture_name(cap)))
        return false;
    analysis_input_filter(in, capture_filter(cap), a->cfg->filter);
    return true;
}

bool analysis_sketches(const struct config *cfg) { return cfg->merge_state && cfg->format == FORMAT_JSON; }

void analysis_input_filter(struct input_info *in, const char *file_filter, const char *cfg_filter)
{
    g_free(in->capture_filter);
    /* what was analysed was filtered: the verdict judges what the filter hides */
    in->capture_filter = file_filter && cfg_filter ? g_strdup_printf("(%s) and (%s)", file_filter, cfg_filter)
                         : file_filter            ? g_strdup(file_filter)
                                                  : g_strdup(cfg_filter);
}

void analysis_input_end(struct input_info *in, const struct capture *cap, const char *cfg_filter)
{
    analysis_input_filter(in, capture_filter(cap), cfg_filter);
    /* the part's first records as read (--jobs' split: every record read is
     * analysed); analysis_run_input() puts those it analysed instead */
    in->have_head = capture_head(cap, in->head);
    if (capture_sketch(cap)) /* --jobs' split: every record read is analysed */
        part_sketch_finish(capture_sketch(cap), &in->overlap);
    uint64_t recv, drop, ifdrop;
    if (capture_drop_stats(cap, &recv, &drop, &ifdrop)) {
        in->have_drop_stats = true;
        in->if_received = recv;
        in->if_dropped = drop;
        in->if_ifdropped = ifdrop;
    }
}

void analysis_run_input(struct analysis *a, const char *path)
{
    struct input_info *in = input_new(a, path);
    guint idx = a->inputs->len - 1;
    if (a->interval)
        input_new(a->interval, path);

    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    if (!cap && a->interrupt && *a->interrupt) { /* stopped before its first bytes came */
        in->interrupted = true;
        return;
    }
    if (!cap) {
        in->error = g_strdup(errbuf);
        fprintf(stderr, "smbscope: %s\n", errbuf);
        a->input_error = true;
        return;
    }
    struct file_filter ff = { 0 };
    if (!input_describe(a, in, cap, &ff)) {
        fprintf(stderr, "smbscope: %s\n", in->error);
        a->input_error = true;
        capture_close(cap);
        return;
    }
    if (a->pcapng) /* the input's own link type first, as its first interface */
        pcapng_if_for(a, idx, in->dlt, 262144);

    struct capture_record rec;
    struct capture_head head = { 0 }; /* the first records analysed (part_id.h) */
    /* a sample of them (part_sketch.h), for a report that carries its merge state */
    struct part_sketch *sketch = analysis_sketches(a->cfg) ? g_new0(struct part_sketch, 1) : NULL;
    int rc = 0;
    uint64_t read = 0;
    bool stopped_by_signal = false;
    while (!a->stop && !(stopped_by_signal = a->interrupt && *a->interrupt) && (rc = capture_next(cap, &rec)) == 1) {
        read++;
        if (past_duration(a, in, &rec)) {
            a->stop = true;
            break;
        }
        if (a->cfg->filter) {
            const struct bpf_program *prog = filter_for(a, in, &ff, rec.dlt, capture_name(cap));
            if (!prog) {
                rc = -2; /* in->error says why */
                break;
            }
            if (!filter_pass(prog, &rec)) {
                a->filtered_out++;
                continue;
            }
        }
        if (in->packets < CAPTURE_HEAD_RECORDS) /* the part is what is analysed: past a filter */
            capture_head_add(&head, &rec);
        if (sketch)
            part_sketch_add(sketch, &rec);
        analysis_feed(a, idx, &rec);
        if (a->progress && (read & 0x3FFF) == 0)
            progress(a, cap, false);
    }
    if (capture_interrupted(cap))
        stopped_by_signal = true;
    if (stopped_by_signal) {
        in->interrupted = true;
        rc = 0; /* not damage: the verdict says the input was not read to its end */
    }
    if (a->stop)
        rc = 0; /* -c or -a: a clean end */
    for (int i = 0; i < ff.n; i++)
        pcap_freecode(&ff.prog[i]);
    if (a->progress)
        progress(a, cap, true);
    in->bytes = capture_bytes_read(cap);
    analysis_input_end(in, cap, a->cfg->filter);
    in->have_head = capture_head_digest(&head, in->head);
    capture_head_free(&head);
    if (sketch)
        part_sketch_finish(sketch, &in->overlap);
    g_free(sketch);
    if (rc == -1) {
        in->truncated = true;
        in->error = g_strdup(capture_error(cap));
    }
    if (rc < 0) {
        fprintf(stderr, "smbscope: %s\n", in->error);
        a->input_error = true;
    }
    capture_close(cap);
}

bool analysis_open_write(struct analysis *a, const char *path, char *errbuf, size_t errlen)
{
    char err[CAPTURE_ERRBUF_SIZE];
    a->pcapng = pcapng_out_open(path, err);
    if (!a->pcapng)
        snprintf(errbuf, errlen, "%s", err);
    return a->pcapng != NULL;
}

void analysis_finish(struct analysis *a)
{
    a->finishing = true;
    flow_table_finish(a->flows);
    roce_table_finish(a->roce, on_table_closed, a);
    char werr[CAPTURE_ERRBUF_SIZE];
    if (a->pcapng && !pcapng_out_close(a->pcapng, werr)) {
        fprintf(stderr, "smbscope: %s\n", werr);
        a->input_error = true;
    }
    a->pcapng = NULL;
    quic_open_note(a); /* the merge state's QUIC connections open at the end (not SMB) */
    quic_table_finish(a->quic);
    close_thread_end(a); /* every close made: what the thread folded is read from here on */
    mstate_close_rank(a); /* the closes at the end in the order one run over more would close them */
    analysis_fold_edges(a);
    char err[256];
    if (a->streams && write_streams_status(a->streams, err, sizeof err) != 0) {
        fprintf(stderr, "smbscope: --write-streams: %s\n", err);
        a->input_error = true;
    }
}

void analysis_free(struct analysis *a)
{
    close_thread_end(a);
    if (a->flows)
        flow_table_free(a->flows);
    if (a->frags)
        ipfrag_free(a->frags);
    if (a->streams)
        write_streams_free(a->streams);
    roce_table_free(a->roce);
    census_free(a->census);
    g_ptr_array_free(a->conns, TRUE);
    if (a->edges)
        g_array_free(a->edges, TRUE);
    if (a->part_clocks)
        g_array_free(a->part_clocks, TRUE); /* its clear function frees the paths (mstate.h) */
    if (a->tails)
        g_array_free(a->tails, TRUE);
    mstate_ends_ix_free(a->tails_ix);
    if (a->syn_flows)
        g_array_free(a->syn_flows, TRUE);
    if (a->group_close)
        g_array_free(a->group_close, TRUE);
    if (a->finish_closes)
        g_array_free(a->finish_closes, TRUE);
    if (a->end_ranks)
        g_array_free(a->end_ranks, TRUE);
    if (a->end_lingering)
        g_array_free(a->end_lingering, TRUE);
    if (a->close_lasts)
        g_array_free(a->close_lasts, TRUE);
    quic_tails_free(a);
    mstate_frags_free(a);
    mstate_wlan_free(a);
    mstate_frags_tcp_free(a);
    syn_starts_free(a);
    hs_edges_free(a);
    mstate_xchg_free(a);
    mstate_leaves_free(a);
    a->edges = NULL;
    conn_groups_free(a->core_groups);
    smb_hosts_free(a->core_hosts);
    groups_past_free(a);
    a->core_groups = NULL;
    a->core_hosts = NULL;
    mstate_detail_free(a); /* it holds a reference on conn_detail_json */
    if (a->conn_detail_json)
        g_ptr_array_free(a->conn_detail_json, TRUE);
    a->conn_detail_json = NULL;
    a->conns = NULL;
    conn_groups_free(a->groups);
    smb_hosts_free(a->smb_hosts);
    quic_table_free(a->quic);
    keylog_free(a->keylog);
    nb_ledger_free(a->ledger);
    g_ptr_array_free(a->inputs, TRUE);
    if (a->pcapng_ifs)
        g_array_free(a->pcapng_ifs, TRUE);
    if (a->pcapng) {
        char err[CAPTURE_ERRBUF_SIZE];
        pcapng_out_close(a->pcapng, err);
    }
    /* last: freeing the QUIC and RoCE tables and the connections gave
     * their blocks back to it */
    session_pool_free(a->session_cfg.pool);
    memset(a, 0, sizeof *a);
}

bool analysis_is_edge(const struct conn_summary *cs)
{
    /* most reasons ("fin", "rst", ...) differ at the first letter */
    return !(cs->flags & CONN_F_START_SEEN) ||
           (cs->close_reason[0] == 'e' && (strcmp(cs->close_reason, "end") == 0 ||
                                           strcmp(cs->close_reason, "end of capture") == 0)); /* QUIC, RoCEv2 */
}

void analysis_fold_edges(struct analysis *a)
{
    if (!a->edges || !a->edges->len || a->core_groups || a->edges_apart)
        return;
    a->core_groups = conn_groups_new(a->cfg->max_conn_groups);
    conn_groups_merge(a->core_groups, a->groups);
    a->core_hosts = smb_hosts_copy(a->smb_hosts);
    for (guint i = 0; i < a->edges->len; i++) {
        const struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, i);
        conn_groups_add(a->groups, cs);
        smb_hosts_add(a->smb_hosts, cs);
    }
}
