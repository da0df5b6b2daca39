/* evidence.c - see evidence.h. */
#include "evidence.h"

#include <string.h>

#include "census.h"
#include "hosts.h"
#include "conn_groups.h"
#include "smb_hosts.h"
#include "ipfrag.h"
#include "quic_table.h"

void evidence_collect(struct evidence *e, const struct analysis *a)
{
    memset(e, 0, sizeof *e);
    e->first_ts = a->first_ts;
    e->last_ts = a->last_ts;
    for (guint i = 0; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        e->inputs++;
        e->inputs_unreadable += in->error && !in->truncated && !in->packets;
        e->inputs_damaged += in->error && (in->truncated || in->packets);
        e->packets += in->packets;
        for (int k = 0; k < PKT_STATUS_COUNT; k++)
            e->status[k] += in->status[k];
        e->live |= in->live;
        if (in->have_drop_stats) {
            e->have_drop_stats = true;
            e->if_received += in->if_received;
            e->if_dropped += in->if_dropped;
            e->if_ifdropped += in->if_ifdropped;
        }
    }
    struct flow_stats fs = flow_table_stats(a->flows);
    e->tcp_connections = fs.conns;
    e->evictions = fs.evictions;
    e->reassembly_cap_hits = fs.cap_hits;
    e->udp_conversations = census_udp_conversations(a->census, &e->udp_estimate);
    e->snaplen_cut = a->census->snaplen_cut;
    e->snaplen_cut_smb = a->census->snaplen_cut_smb;
    e->snaplen = a->census->snaplen;
    e->race_pairs_dropped = a->census->pairs_dropped;
    struct conn_groups_stats gs = conn_groups_stats(a->groups);
    e->smb_connections = gs.connections;
    e->smb_handshake = gs.start_seen;
    e->smb_midstream = gs.connections - gs.start_seen;
    e->stream_gaps = gs.gaps;
    e->stream_gap_bytes = gs.gap_bytes;
    e->connections_folded = gs.connections - gs.folded[CONN_GROUP_FULL];
    e->connection_group_cap = gs.cap;
    e->smb_hosts_unrecorded = smb_hosts_unrecorded(a->smb_hosts);
    e->netbios_itemised = nb_ledger_count(a->ledger);
    e->netbios_flows = e->netbios_itemised + nb_ledger_overflow_flows(a->ledger);
    e->netbios_not_itemised_packets = nb_ledger_overflow(a->ledger)->packets;
    e->netbios_flow_cap = nb_ledger_max_rows(a->ledger);
    e->netbios_hosts_unrecorded = host_table_compact_count(nb_ledger_hosts(a->ledger));
    e->netbios_host_records = host_table_cap(nb_ledger_hosts(a->ledger));
    const struct nb_non_ip *n = nb_ledger_non_ip_counts(a->ledger);
    e->netbios_non_ip_frames = n->netbeui + n->nbipx;
    const struct ipfrag_stats *fr = ipfrag_stats(a->frags);
    e->frag_datagrams_lost = fr->timed_out + fr->evicted + fr->dropped_too_big + fr->dropped_memory +
                             fr->dropped_malformed + fr->active;
    e->roce_icrc_bad = roce_table_icrc_bad(a->roce);
    e->roce_untracked = roce_table_dropped(a->roce);
    e->roce_over_budget = roce_table_over_budget(a->roce);
    e->iwarp_over_budget = rdma_iwarp_over_budget(a->session_cfg.pool);
    e->iwarp_crc_bad = a->iwarp_crc_bad;
    struct quic_table_stats q = quic_table_stats(a->quic);
    e->quic_undecryptable = q.decrypt_failures + q.undecryptable;
    e->quic_evictions = q.evictions;
    e->quic_evictions_lost = q.evictions_lost;
}

void evidence_decode_loss_kinds(const struct evidence *e, struct decode_losses *l)
{
    l->n[LOSS_TRUNCATED] = e->status[PKT_TRUNCATED];
    l->n[LOSS_MALFORMED] = e->status[PKT_MALFORMED];
    l->n[LOSS_FRAG_DROPPED] = e->status[PKT_FRAG_DROPPED];
    l->n[LOSS_FRAG_INCOMPLETE] = e->frag_datagrams_lost;
    l->n[LOSS_ROCE_ICRC] = e->roce_icrc_bad;
    l->n[LOSS_IWARP_CRC] = e->iwarp_crc_bad;
    l->n[LOSS_QUIC_UNDECRYPTABLE] = e->quic_undecryptable;
    l->n[LOSS_UNSUPPORTED_LINK] = e->status[PKT_UNSUPPORTED_LINK];
    l->n[LOSS_ENCRYPTED_LINK] = e->status[PKT_ENCRYPTED_LINK];
    l->n[LOSS_ENCRYPTED_ESP] = e->status[PKT_ENCRYPTED_ESP];
}

uint64_t evidence_decode_losses(const struct evidence *e)
{
    struct decode_losses l;
    evidence_decode_loss_kinds(e, &l);
    return decode_loss_total(&l);
}
