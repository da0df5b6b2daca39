/* analysis.c - drive captures through the pipeline; see analysis.h. */
#include "analysis.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "capture.h"
#include "census.h"
#include "fmt.h"
#include "ipfrag.h"
#include "verdict.h"
#include "pcapng_out.h"
#include "write_streams.h"

/* flow_conn.user is one slot; two observers share it here: the session
 * model and, with --write-streams, the stream writer.  Each sees its own
 * pointer in c->user during its callback. */
struct conn_slots {
    struct smb_conn *smb;
    void *streams;
    bool announced; /* events.conn_classified was called */
};

#define WITH_STREAMS_USER(c, slots, call)                                                                              \
    do {                                                                                                               \
        (c)->user = (slots)->streams;                                                                                  \
        call;                                                                                                          \
        (slots)->streams = (c)->user;                                                                                  \
        (c)->user = (slots);                                                                                           \
    } while (0)

static void on_conn_open(void *ctx, struct flow_conn *c)
{
    struct analysis *a = ctx;
    struct conn_slots *slots = g_new0(struct conn_slots, 1);
    slots->smb = smb_conn_new(&a->session_cfg, c);
    c->user = slots;
    if (a->streams && a->streams_obs.conn_open)
        WITH_STREAMS_USER(c, slots, a->streams_obs.conn_open(a->streams, c));
}

static void on_packet(void *ctx, struct flow_conn *c, int dir, const struct packet *p)
{
    struct analysis *a = ctx;
    struct conn_slots *slots = c->user;
    if (a->streams && a->streams_obs.packet)
        WITH_STREAMS_USER(c, slots, a->streams_obs.packet(a->streams, c, dir, p));
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

static void on_data(void *ctx, struct flow_conn *c, int dir, const uint8_t *p, size_t n, int64_t ts)
{
    struct analysis *a = ctx;
    struct conn_slots *slots = c->user;
    if (a->streams && a->streams_obs.data)
        WITH_STREAMS_USER(c, slots, a->streams_obs.data(a->streams, c, dir, p, n, ts));
    smb_conn_data(slots->smb, dir, p, n, ts);
    if (!slots->announced && a->events.conn_classified) {
        const struct smb_conn *s = slots->smb;
        if (s->smb2_response_seen || s->smb1_response_seen || s->n_neg_codes) {
            slots->announced = true;
            a->events.conn_classified(a->events.ctx, s, c, provisional_class(s, c), ts);
        }
    }
}

static void on_gap(void *ctx, struct flow_conn *c, int dir, uint64_t n, int64_t ts)
{
    struct analysis *a = ctx;
    struct conn_slots *slots = c->user;
    if (a->streams && a->streams_obs.gap)
        WITH_STREAMS_USER(c, slots, a->streams_obs.gap(a->streams, c, dir, n, ts));
    smb_conn_gap(slots->smb, dir, n, ts);
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

/* Whether a closed connection joins a->conns (see conn_keys in analysis.h):
 * always for files and below the cap; the verdict stays right beyond it,
 * since every kind of violation from every pair of hosts is kept. */
static bool keep_conn(struct analysis *a, const struct smb_conn *s)
{
    if (!a->live_run || a->conns->len < ANALYSIS_LIVE_CONNS_KEPT)
        return true;
    struct policy_conn_facts facts = verdict_conn_facts(s);
    uint32_t bits = policy_check_connection(&a->cfg->policy, &facts);
    if (!bits)
        return false;
    char c[FMT_ADDR_LEN], sv[FMT_ADDR_LEN];
    char *key = g_strdup_printf("%s|%s|%u|%x", fmt_addr(smb_conn_client(s), c), fmt_addr(smb_conn_server(s), sv),
                                smb_conn_server_port(s), bits);
    if (!a->conn_keys)
        a->conn_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (g_hash_table_contains(a->conn_keys, key)) {
        g_free(key);
        return false;
    }
    g_hash_table_add(a->conn_keys, key);
    return true;
}

static void on_conn_close(void *ctx, struct flow_conn *c, enum flow_close_reason r)
{
    struct analysis *a = ctx;
    struct conn_slots *slots = c->user;
    if (!slots)
        return;
    if (a->streams && a->streams_obs.conn_close)
        WITH_STREAMS_USER(c, slots, a->streams_obs.conn_close(a->streams, c, r));
    c->user = NULL;
    struct smb_conn *s = slots->smb;
    bool slots_announced = slots->announced;
    g_free(slots);
    if (smb_conn_close(s, c, flow_close_reason_name(r))) {
        conn_to_ledger(a, s);
        if (!slots_announced && a->events.conn_classified)
            a->events.conn_classified(a->events.ctx, s, c, s->verdict.cls, s->first_ts);
        if (a->events.conn_end)
            a->events.conn_end(a->events.ctx, s);
        if (keep_conn(a, s)) {
            g_ptr_array_add(a->conns, s);
        } else {
            a->conns_summarised++;
            smb_conn_free(s);
        }
    } else {
        smb_conn_free(s);
    }
}

static void conn_free(gpointer p) { smb_conn_free(p); }

static void input_free(gpointer p)
{
    struct input_info *in = p;
    g_free(in->path);
    g_free(in->link_type);
    g_free(in->error);
    g_free(in->capture_filter);
    g_free(in);
}

bool analysis_init(struct analysis *a, const struct config *cfg, char *errbuf, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->inputs = g_ptr_array_new_with_free_func(input_free);
    a->pcapng_ifs = g_array_new(FALSE, FALSE, sizeof(int));
    a->conns = g_ptr_array_new_with_free_func(conn_free);
    a->ledger = nb_ledger_new(cfg->max_netbios_flows > UINT32_MAX ? UINT32_MAX : (uint32_t)cfg->max_netbios_flows);
    a->frags = ipfrag_new(NULL);
    a->census = census_new();
    a->session_cfg.pdu_cap = cfg->pdu_cap;
    a->session_cfg.no_fast_path = cfg->no_fast_path;
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
    const struct flow_observer obs = {
        .conn_open = on_conn_open,
        .packet = on_packet,
        .data = on_data,
        .gap = on_gap,
        .conn_close = on_conn_close,
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
        write_streams_observer(a->streams, &a->streams_obs);
    }
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
    int none = -1;
    g_array_append_val(a->pcapng_ifs, none);
    return in;
}

/* -w: describe input idx in the output file before its first packet. */
static void pcapng_describe(struct analysis *a, guint idx, uint32_t snaplen)
{
    if (!a->pcapng)
        return;
    const struct input_info *in = g_ptr_array_index(a->inputs, idx);
    g_array_index(a->pcapng_ifs, int, idx) = pcapng_out_interface(a->pcapng, in->dlt, snaplen, in->path);
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
    enum packet_status st = packet_decode(in->dlt, rec, a->frags, &pkt);
    if ((unsigned)st < PKT_STATUS_COUNT)
        in->status[st]++;
    if (st == PKT_NOT_IP)
        nb_ledger_non_ip(a->ledger, &pkt);
    if (st == PKT_OK) {
        census_packet(a->census, &pkt);
        const struct nb_flow *row = nb_ledger_packet(a->ledger, &pkt);
        if (row && row->packets == 1 && a->events.netbios_flow)
            a->events.netbios_flow(a->events.ctx, row);
        if (pkt.l4 == L4_TCP)
            flow_table_packet(a->flows, &pkt);
    }
    if (a->pcapng && !pcapng_out_packet(a->pcapng, g_array_index(a->pcapng_ifs, int, idx), rec))
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
    pcapng_describe(a, idx, snaplen);
    if (a->interval)
        analysis_add_live_input(a->interval, name, dlt, link_type, snaplen);
    return idx;
}

/* The capture filter for a file, compiled for its link type; false (and
 * the input's error) when it does not apply to it. */
static bool file_filter(struct analysis *a, struct input_info *in, const char *name, struct bpf_program *prog)
{
    pcap_t *dead = pcap_open_dead(in->dlt, 262144);
    if (!dead || pcap_compile(dead, prog, a->cfg->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        in->error = g_strdup_printf("%s: capture filter '%s' does not apply to its link type %s: %s (adapt the "
                                    "filter to this capture, or analyse it on its own)",
                                    name, a->cfg->filter, in->link_type, dead ? pcap_geterr(dead) : "out of memory");
        if (dead)
            pcap_close(dead);
        return false;
    }
    pcap_close(dead);
    return true;
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

void analysis_run_input(struct analysis *a, const char *path)
{
    struct input_info *in = input_new(a, path);
    guint idx = a->inputs->len - 1;
    if (a->interval)
        input_new(a->interval, path);

    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    if (!cap) {
        in->error = g_strdup(errbuf);
        fprintf(stderr, "smbscope: %s\n", errbuf);
        a->input_error = true;
        return;
    }
    in->dlt = capture_linktype(cap);
    in->link_type = g_strdup(capture_linktype_name(cap));
    in->format = capture_format(cap);
    in->gzip = capture_is_gzip(cap);
    struct bpf_program prog = { 0, NULL };
    if (!packet_linktype_supported(in->dlt)) {
        in->error = g_strdup_printf("%s: unsupported link type %s (%d)", capture_name(cap), in->link_type, in->dlt);
    } else if (a->cfg->filter && !file_filter(a, in, capture_name(cap), &prog)) {
        /* in->error says why */
    }
    if (in->error) {
        fprintf(stderr, "smbscope: %s\n", in->error);
        a->input_error = true;
        capture_close(cap);
        return;
    }
    if (prog.bf_insns) { /* what was analysed was filtered: the verdict judges what the filter hides */
        char *f = in->capture_filter ? g_strdup_printf("(%s) and (%s)", in->capture_filter, a->cfg->filter)
                                     : g_strdup(a->cfg->filter);
        g_free(in->capture_filter);
        in->capture_filter = f;
    }
    pcapng_describe(a, idx, 262144);

    struct capture_record rec;
    int rc = 0;
    uint64_t read = 0;
    while (!a->stop && (rc = capture_next(cap, &rec)) == 1) {
        read++;
        if (past_duration(a, in, &rec)) {
            a->stop = true;
            break;
        }
        if (prog.bf_insns && !filter_pass(&prog, &rec)) {
            a->filtered_out++;
            continue;
        }
        analysis_feed(a, idx, &rec);
        if (a->progress && (read & 0x3FFF) == 0)
            progress(a, cap, false);
    }
    if (a->stop)
        rc = 0; /* -c or -a: a clean end */
    if (prog.bf_insns)
        pcap_freecode(&prog);
    if (a->progress)
        progress(a, cap, true);
    in->bytes = capture_bytes_read(cap);
    if (rc < 0) {
        in->truncated = true;
        in->error = g_strdup(capture_error(cap));
        fprintf(stderr, "smbscope: %s\n", in->error);
        a->input_error = true;
    }
    if (in->first_ts < a->first_ts)
        a->first_ts = in->first_ts;
    if (in->last_ts > a->last_ts && in->last_ts != INT64_MIN)
        a->last_ts = in->last_ts;
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
    flow_table_finish(a->flows);
    char werr[CAPTURE_ERRBUF_SIZE];
    if (a->pcapng && !pcapng_out_close(a->pcapng, werr)) {
        fprintf(stderr, "smbscope: %s\n", werr);
        a->input_error = true;
    }
    a->pcapng = NULL;
    char err[256];
    if (a->streams && write_streams_status(a->streams, err, sizeof err) != 0) {
        fprintf(stderr, "smbscope: --write-streams: %s\n", err);
        a->input_error = true;
    }
}

void analysis_free(struct analysis *a)
{
    if (a->flows)
        flow_table_free(a->flows);
    if (a->frags)
        ipfrag_free(a->frags);
    if (a->streams)
        write_streams_free(a->streams);
    nb_ledger_free(a->ledger);
    census_free(a->census);
    g_ptr_array_free(a->conns, TRUE);
    if (a->conn_keys)
        g_hash_table_destroy(a->conn_keys);
    g_ptr_array_free(a->inputs, TRUE);
    if (a->pcapng_ifs)
        g_array_free(a->pcapng_ifs, TRUE);
    if (a->pcapng) {
        char err[CAPTURE_ERRBUF_SIZE];
        pcapng_out_close(a->pcapng, err);
    }
    memset(a, 0, sizeof *a);
}
