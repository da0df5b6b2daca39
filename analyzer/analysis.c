/* analysis.c - drive captures through the pipeline; see analysis.h. */
#include "analysis.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "census.h"
#include "ipfrag.h"
#include "write_streams.h"

/* The session model is the flow table's first observer; the stream writer
 * (--write-streams) is another, with its own per-connection pointer. */
static void on_conn_open(void *ctx, struct flow_conn *c, void **user)
{
    struct analysis *a = ctx;
    *user = smb_conn_new(&a->session_cfg, c);
}

static void on_data(void *ctx, struct flow_conn *c, void **user, int dir, const uint8_t *p, size_t n, int64_t ts)
{
    smb_conn_data(*user, dir, p, n, ts);
}

static void on_gap(void *ctx, struct flow_conn *c, void **user, int dir, uint64_t n, int64_t ts)
{
    smb_conn_gap(*user, dir, n, ts);
}

/* A connection that carried NBSS belongs in the NetBIOS ledger: on 139 its
 * row exists already (port rule); elsewhere the classifier's finding makes
 * one.  The called and calling names go on the row. */
static void conn_to_ledger(struct analysis *a, const struct smb_conn *s)
{
    struct nb_flow *row = nb_ledger_find(a->ledger, 6, smb_conn_client(s), smb_conn_client_port(s),
                                         smb_conn_server(s), smb_conn_server_port(s));
    if (!row && s->verdict.cls == TRANSPORT_NBT_NONSTANDARD_PORT)
        row = nb_ledger_add_nbss_conn(a->ledger, smb_conn_client(s), smb_conn_client_port(s), smb_conn_server(s),
                                      smb_conn_server_port(s), s->packets[0] + s->packets[1],
                                      s->bytes[0] + s->bytes[1], s->first_ts, s->last_ts,
                                      s->packets[!s->client] > 0);
    if (!row)
        return;
    /* rendered by nbname_render(): already escaped text */
    if (s->called_name.len)
        nb_flow_add_name(row, (const char *)s->called_name.p);
    if (s->calling_name.len)
        nb_flow_add_name(row, (const char *)s->calling_name.p);
}

static void on_conn_close(void *ctx, struct flow_conn *c, void **user, enum flow_close_reason r)
{
    struct analysis *a = ctx;
    struct smb_conn *s = *user;
    *user = NULL;
    if (!s)
        return;
    if (smb_conn_close(s, c, flow_close_reason_name(r))) {
        conn_to_ledger(a, s);
        g_ptr_array_add(a->conns, s);
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
    a->conns = g_ptr_array_new_with_free_func(conn_free);
    a->ledger = nb_ledger_new(cfg->max_netbios_flows > UINT32_MAX ? UINT32_MAX : (uint32_t)cfg->max_netbios_flows);
    a->frags = ipfrag_new(NULL);
    a->census = census_new();
    a->session_cfg.pdu_cap = cfg->pdu_cap;
    a->session_cfg.no_fast_path = cfg->no_fast_path;
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
    const struct flow_observer obs = {
        .conn_open = on_conn_open,
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
        struct flow_observer streams_obs;
        write_streams_observer(a->streams, &streams_obs);
        flow_table_add_observer(a->flows, &streams_obs, a->streams);
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

void analysis_run_input(struct analysis *a, const char *path)
{
    struct input_info *in = g_new0(struct input_info, 1);
    in->path = g_strdup(path);
    in->first_ts = INT64_MAX;
    in->last_ts = INT64_MIN;
    g_ptr_array_add(a->inputs, in);

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
    in->reader = capture_reader(cap);
    in->capture_filter = capture_filter(cap) ? g_strdup(capture_filter(cap)) : NULL;
    /* pcapng interfaces may differ in link type: each record is decoded by its
     * own (unsupported ones are counted per record, not refused whole) */
    if (!packet_linktype_supported(in->dlt) && !capture_multi_linktype(cap)) {
        in->error = g_strdup_printf("%s: unsupported link type %s (%d)", capture_name(cap), in->link_type, in->dlt);
        fprintf(stderr, "smbscope: %s\n", in->error);
        a->input_error = true;
        capture_close(cap);
        return;
    }

    struct capture_record rec;
    struct packet pkt;
    int rc;
    while ((rc = capture_next(cap, &rec)) == 1) {
        in->packets++;
        a->packets++;
        in->wire_bytes += rec.wirelen;
        if (rec.ts_us < in->first_ts)
            in->first_ts = rec.ts_us;
        if (rec.ts_us > in->last_ts)
            in->last_ts = rec.ts_us;
        enum packet_status st = packet_decode(rec.dlt, &rec, a->frags, &pkt);
        if ((unsigned)st < PKT_STATUS_COUNT)
            in->status[st]++;
        if (st == PKT_NOT_IP)
            nb_ledger_non_ip(a->ledger, &pkt);
        if (st == PKT_OK) {
            census_packet(a->census, &pkt);
            nb_ledger_packet(a->ledger, &pkt);
            if (pkt.l4 == L4_TCP)
                flow_table_packet(a->flows, &pkt);
            else if (pkt.l4 == L4_UDP && pkt.dport == ROCEV2_UDP_PORT)
                roce_table_packet(a->roce, &pkt);
        }
        if (a->progress && (in->packets & 0x3FFF) == 0)
            progress(a, cap, false);
    }
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

void analysis_finish(struct analysis *a)
{
    flow_table_finish(a->flows);
    roce_table_finish(a->roce, a->conns);
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
    roce_table_free(a->roce);
    census_free(a->census);
    g_ptr_array_free(a->conns, TRUE);
    g_ptr_array_free(a->inputs, TRUE);
    memset(a, 0, sizeof *a);
}
