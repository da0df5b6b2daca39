/* report_json.c - the JSON document.  Field names listed in README.md are a
 * contract: add fields freely, never rename those. */
#include "report_json.h"

#include <string.h>

#include "dialect.h"
#include "fmt.h"
#include "json.h"
#include "mstate.h"
#include "mstate_detail.h"
#include "part_id.h"
#include "smb_tables.h"

#ifndef SMBSCOPE_VERSION
#define SMBSCOPE_VERSION "unknown"
#endif

static void netbios_flow(struct json *j, const struct nb_flow *f)
{
    json_begin_object(j);
    json_kstr(j, "proto", f->proto == 6 ? "tcp" : "udp");
    jkaddr(j, "client", &f->client);
    json_kuint(j, "client_port", f->client_port);
    jkaddr(j, "server", &f->server);
    json_kuint(j, "server_port", f->server_port);
    json_kstr(j, "service", nb_service_name(f->service));
    json_kstr(j, "state", nb_state_name(nb_flow_state(f)));
    json_kuint(j, "packets", f->packets);
    json_kuint(j, "bytes", f->bytes);
    jktime(j, "first_seen", f->first_seen);
    jktime(j, "last_seen", f->last_seen);
    if (f->proto == 17 && f->service == NB_SERVICE_NBNS) {
        json_kuint(j, "queries", f->queries);
        json_kuint(j, "responses", f->responses);
    }
    json_key(j, "names");
    json_begin_array(j);
    for (guint i = 0; f->names && i < f->names->len; i++)
        json_str(j, g_ptr_array_index(f->names, i));
    json_end_array(j);
    if (f->names_dropped)
        json_kuint(j, "names_not_listed", f->names_dropped);
    json_end_object(j);
}

static void json_inputs(struct json *j, const struct analysis *a)
{
    json_key(j, "inputs");
    json_begin_array(j);
    for (guint i = 0; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        json_begin_object(j);
        json_key(j, "path");
        json_str_bytes(j, (const uint8_t *)in->path, strlen(in->path));
        json_kuint(j, "packets", in->packets);
        json_kuint(j, "bytes", in->bytes);
        json_kstr(j, "link_type", in->link_type);
        json_kstr(j, "format", in->format);
        json_kstr(j, "reader", in->reader);
        json_kbool(j, "gzip", in->gzip);
        json_kbool(j, "truncated", in->truncated);
        json_kbool(j, "interrupted", in->interrupted);
        json_key(j, "error");
        if (in->error)
            json_str_bytes(j, (const uint8_t *)in->error, strlen(in->error));
        else
            json_null(j);
        jktime(j, "first_seen", in->first_ts);
        jktime(j, "last_seen", in->last_ts);
        char id[PART_ID_LEN + 1];
        json_key(j, "part_id");
        if (part_id_of(in, id))
            json_str(j, id);
        else
            json_null(j);
        if (in->live) {
            json_key(j, "live");
            json_begin_object(j);
            if (in->capture_filter)
                json_kstr(j, "filter", in->capture_filter);
            if (in->have_drop_stats) {
                json_kuint(j, "received", in->if_received);
                json_kuint(j, "dropped", in->if_dropped);
                json_kuint(j, "ifdropped", in->if_ifdropped);
            }
            json_end_object(j);
        }
        json_key(j, "decode");
        json_begin_object(j);
        for (int s = 0; s < PKT_STATUS_COUNT; s++)
            if (in->status[s])
                json_kuint(j, packet_status_name((enum packet_status)s), in->status[s]);
        json_end_object(j);
        json_end_object(j);
    }
    json_end_array(j);
}

static void json_policy(struct json *j, const struct analysis *a)
{
    const struct policy *p = &a->cfg->policy;
    json_key(j, "policy");
    json_begin_object(j);
    json_kbool(j, "allow_netbios", p->allow_netbios);
    json_kbool(j, "allow_smb1", p->allow_smb1);
    json_key(j, "min_dialect");
    char dbuf[12];
    if (p->min_dialect)
        json_str(j, smb2_dialect_name(p->min_dialect, dbuf, sizeof dbuf));
    else
        json_null(j);
    json_kbool(j, "require_signing", p->require_signing);
    json_kbool(j, "require_encryption", p->require_encryption);
    json_kbool(j, "require_kerberos", p->require_kerberos);
    json_kuint(j, "race_window_ms", p->race_window_ms);
    json_allow_transport(j, p);
    json_end_object(j);
}

static void json_netbios(struct json *j, const struct analysis *a)
{
    json_key(j, "netbios");
    json_begin_object(j);
    json_key(j, "flows");
    json_begin_array(j);
    for (guint i = 0; i < nb_ledger_count(a->ledger); i++)
        netbios_flow(j, nb_ledger_row(a->ledger, i));
    json_end_array(j);
    /* Flows past --max-netbios-flows: counted, not listed. */
    const struct nb_overflow *o = nb_ledger_overflow(a->ledger);
    json_key(j, "not_itemised");
    if (o->packets) {
        json_begin_object(j);
        json_kuint(j, "flow_cap", nb_ledger_max_rows(a->ledger));
        json_kuint(j, "packets", o->packets);
        json_kuint(j, "bytes", o->bytes);
        for (int svc = NB_SERVICE_NBNS; svc <= NB_SERVICE_NBSS; svc++)
            json_kuint(j, nb_service_name((enum nb_service)svc), o->by_service[svc]);
        jktime(j, "first_seen", o->first_seen);
        jktime(j, "last_seen", o->last_seen);
        json_end_object(j);
    } else {
        json_null(j);
    }
    /* NetBIOS that is not over IP at all (legacy NetBEUI and IPX networks). */
    const struct nb_non_ip *n = nb_ledger_non_ip_counts(a->ledger);
    json_key(j, "non_ip");
    if (n->netbeui || n->nbipx) {
        json_begin_object(j);
        json_kuint(j, "netbeui_frames", n->netbeui);
        json_kuint(j, "nbipx_frames", n->nbipx);
        jktime(j, "first_seen", n->first_seen);
        jktime(j, "last_seen", n->last_seen);
        json_end_object(j);
    } else {
        json_null(j);
    }
    json_end_object(j);
}

void report_json(FILE *out, const struct analysis *a, const struct verdict *v)
{
    struct json jj, *j = &jj;
    json_init(j, out, true);
    /* the merge state renders on the other core meanwhile (mstate.h), from
     * before the verdict when main started it (analysis.h state_render) */
    struct mstate_render *st = !a->cfg->merge_state ? NULL : a->state_render ? a->state_render : mstate_render_start(a);
    json_begin_object(j);
    json_kstr(j, "smbscope_version", SMBSCOPE_VERSION);

    json_inputs(j, a);
    json_policy(j, a);
    json_verdict(j, a, v);

    json_netbios(j, a);

    json_key(j, "connections");
    report_json_connections(j, a);
    json_connection_groups(j, a);

    json_findings(j, v);
    struct host_views hv;
    host_views_build(&hv, a, v);
    json_hosts(j, &hv, v);
    host_views_free(&hv);
    json_evidence(j, a);

    struct flow_stats fs = flow_table_stats(a->flows);
    json_key(j, "stats");
    json_begin_object(j);
    json_kuint(j, "packets", a->packets);
    json_kuint(j, "tcp_connections", fs.conns);
    json_kuint(j, "max_concurrent_connections", fs.max_concurrent);
    json_kuint(j, "evictions", fs.evictions);
    json_kuint(j, "reassembly_buffer_peak", fs.buffered_peak);
    json_kuint(j, "reassembly_cap_hits", fs.cap_hits);
    json_kuint(j, "roce_untracked_packets", roce_table_dropped(a->roce));
    json_kuint(j, "roce_not_decoded_packets", roce_table_not_decoded(a->roce));
    json_kuint(j, "roce_icrc_bad_packets", roce_table_icrc_bad(a->roce));
    json_kuint(j, "iwarp_crc_bad_fpdus", a->iwarp_crc_bad);
    json_kuint(j, "time_jumps", fs.time_jumps);
    json_kuint(j, "connections_closed_early", fs.closed_early);
    /* connections counted in connection_groups[] but not detailed in
     * connections[] (the same number as connections_omitted) */
    if (a->conns_omitted)
        json_kuint(j, "connections_summarised", a->conns_omitted);
    json_quic_stats(j, a);
    if (a->merged_parts) { /* smbscope merge: which counters are not what one run would count */
        json_key(j, "merged");
        json_begin_object(j);
        json_kuint(j, "runs", a->merged_parts);
        json_kuint(j, "connections_joined", a->edges_joined); /* one connection's parts in several captures */
        if (a->smbd_not_decoded) /* SMB Direct messages longer than a run keeps the decoder's part of */
            json_kuint(j, "smbd_messages_not_decoded", a->smbd_not_decoded);
        if (a->frag_not_placed) /* TCP, RoCEv2, QUIC in IP fragments a cut divided, left lost (mstate_frags_tcp.h) */
            json_kuint(j, "fragment_datagrams_not_placed", a->frag_not_placed);
        json_key(j, "largest_of_runs"); /* peaks do not add up: the joint run's may be higher */
        json_begin_array(j);
        json_str(j, "max_concurrent_connections");
        json_str(j, "reassembly_buffer_peak");
        json_end_array(j);
        json_key(j, "sum_of_runs"); /* each run's linger cap on its own connections */
        json_begin_array(j);
        json_str(j, "connections_closed_early");
        json_end_array(j);
        /* records the reports' merge states left out past their caps (README:
         * smbscope merge): where this merge is not the joint run's answer */
        const struct kv_folded {
            const char *k;
            uint64_t v;
        } folded[] = { { "netbios_rows", a->state_folded.nb_rows }, { "netbios_hosts", a->state_folded.hosts },
                       { "smb_hosts", a->state_folded.smb_hosts }, { "syn_pairs", a->state_folded.syn_pairs },
                       { "dns_keys", a->state_folded.dns_keys }, { "udp_conversations", a->state_folded.udp_convs },
                       { "nbns_transactions", a->state_folded.nbns_xids },
                       { "connection_groups", a->state_folded.conn_groups },
                       { "lingering_connections", a->state_folded.fin_lingers },
                       { "syn_starts", a->state_folded.syn_starts } };
        json_key(j, "state_folded");
        json_begin_object(j);
        for (size_t i = 0; i < sizeof folded / sizeof folded[0]; i++)
            if (folded[i].v)
                json_kuint(j, folded[i].k, folded[i].v);
        json_end_object(j);

        json_end_object(j);
    }
    if (a->jobs_threads) { /* --jobs: the threads shared one run's caps, hits added (README) */
        json_key(j, "jobs");
        json_begin_object(j);
        json_kuint(j, "threads", a->jobs_threads);
        if (a->jobs_requested > a->jobs_threads)
            json_kuint(j, "requested", a->jobs_requested);
        json_kstr(j, "split", a->jobs_split);
        json_kstr(j, "caps", "shared");
        if (strcmp(a->jobs_split, "flow-hash") == 0) { /* how evenly the split shared the records */
            json_key(j, "records");
            json_begin_array(j);
            for (unsigned k = 0; k < a->jobs_threads && k < G_N_ELEMENTS(a->jobs_records); k++)
                json_uint(j, a->jobs_records[k]);
            json_end_array(j);
        }
        json_end_object(j);
    }
    json_end_object(j);

    /* What smbscope merge combines reports with (analyzer/merge/mstate.h):
     * by default (bounded: at most a megabyte whatever the capture);
     * --no-merge-state leaves it out. */
    if (a->cfg->merge_state) {
        json_key(j, "merge_state");
        mstate_render_put(st, j);
    }

    json_end_object(j);
    fputc('\n', out);
}

static gint conn_order(gconstpointer pa, gconstpointer pb)
{
    const struct smb_conn *a = *(const struct smb_conn *const *)pa, *b = *(const struct smb_conn *const *)pb;
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    return (a->flow_id > b->flow_id) - (a->flow_id < b->flow_id);
}

void report_json_connections(struct json *j, const struct analysis *a)
{
    GPtrArray *conns = report_sorted_conns(a);
    json_begin_array(j);
    for (guint i = 0; i < conns->len; i++)
        json_connection(j, g_ptr_array_index(conns, i));
    for (guint i = 0; a->conn_detail_json && i < a->conn_detail_json->len; i++) {
        char *text = mstate_detail_text(g_ptr_array_index(a->conn_detail_json, i)); /* packed or not */
        json_raw(j, text, strlen(text));
        g_free(text);
    }
    json_end_array(j);
    g_ptr_array_free(conns, TRUE);
}

GPtrArray *report_sorted_conns(const struct analysis *a)
{
    GPtrArray *arr = g_ptr_array_sized_new(a->conns->len);
    for (guint i = 0; i < a->conns->len; i++)
        g_ptr_array_add(arr, g_ptr_array_index(a->conns, i));
    g_ptr_array_sort(arr, conn_order);
    return arr;
}
