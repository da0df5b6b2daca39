/* evidence.h - what a verdict stands on, in numbers: packets and time span
 * read, conversations, SMB connections with and without their handshake,
 * NetBIOS flows, decode losses, caps hit.  Both reports print it. */
#ifndef SMBSCOPE_EVIDENCE_H
#define SMBSCOPE_EVIDENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "analysis.h"
#include "decode_loss.h"

struct evidence {
    uint32_t inputs, inputs_unreadable, inputs_damaged;
    uint64_t packets;
    int64_t first_ts, last_ts;          /* INT64_MAX / INT64_MIN when no packet */
    uint64_t tcp_connections, udp_conversations;
    bool udp_estimate;
    uint64_t smb_connections, smb_handshake, smb_midstream;
    uint64_t netbios_flows, netbios_itemised, netbios_not_itemised_packets, netbios_non_ip_frames;
    uint64_t status[PKT_STATUS_COUNT];  /* packet decode outcomes, all inputs */
    uint64_t frag_datagrams_lost;       /* timed out, evicted, dropped, or incomplete at the end */
    uint64_t roce_icrc_bad;             /* RoCEv2 packets with a bad ICRC: never decoded */
    uint64_t iwarp_crc_bad;             /* iWARP FPDUs with a bad CRC32c: never decoded */
    uint64_t quic_undecryptable;        /* QUIC packets (of SMB, or unrecognised Initials) whose keys failed */
    uint64_t snaplen_cut, snaplen_cut_smb;
    uint32_t snaplen;
    uint64_t stream_gaps, stream_gap_bytes;  /* over the SMB connections */
    uint64_t evictions, reassembly_cap_hits, race_pairs_dropped;
    uint32_t netbios_flow_cap;
    uint64_t connections_folded;        /* SMB connections folded past the group cap (conn_groups.h) */
    uint32_t connection_group_cap;
    uint64_t smb_hosts_unrecorded;      /* connection ends past the SMB host table's cap (smb_hosts.h) */
    uint64_t netbios_hosts_unrecorded;  /* NetBIOS addresses counted past the host records (hosts.h compact set) */
    uint32_t netbios_host_records;      /* that cap */
    uint64_t quic_evictions;            /* QUIC connections closed early at the table's caps (quic_table.h) */
    uint64_t quic_evictions_lost;       /* ... that could still show SMB evidence (verdict: unknown quic-evicted) */
    uint64_t roce_untracked;            /* RoCEv2 packets of pairs past the RoCE table's cap (rdma.h) */
    uint64_t roce_over_budget;          /* RoCEv2 SEND / SMBD messages dropped at the reassembly budget (rdma.h) */
    uint64_t iwarp_over_budget;         /* iWARP FPDU / Send / SMBD messages dropped at the reassembly budget (rdma.h) */
    bool live, have_drop_stats;
    uint64_t if_received, if_dropped, if_ifdropped;
};

void evidence_collect(struct evidence *e, const struct analysis *a);
/* Packets that could not be decoded to their ports, plus lost fragment datagrams. */
uint64_t evidence_decode_losses(const struct evidence *e);
/* The same by kind (decode_loss.h, shared with the plugin). */
void evidence_decode_loss_kinds(const struct evidence *e, struct decode_losses *l);

#endif
