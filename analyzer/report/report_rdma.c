/* report_rdma.c - SMB Direct facts (analyzer/model/rdma.h) in the reports. */
#include "report_rdma.h"

#include <inttypes.h>

#include "rdma.h"

static void negotiate_json(struct json *j, const struct smbd_conn *c)
{
    json_key(j, "negotiate_request");
    if (c->request_seen) {
        const struct smbd_negotiate_request *r = &c->request;
        json_begin_object(j);
        json_kuint(j, "min_version", r->min_version);
        json_kuint(j, "max_version", r->max_version);
        json_kuint(j, "credits_requested", r->credits_requested);
        json_kuint(j, "preferred_send_size", r->preferred_send_size);
        json_kuint(j, "max_receive_size", r->max_receive_size);
        json_kuint(j, "max_fragmented_size", r->max_fragmented_size);
        json_end_object(j);
    } else {
        json_null(j);
    }
    json_key(j, "negotiate_response");
    if (c->response_seen) {
        const struct smbd_negotiate_response *r = &c->response;
        json_begin_object(j);
        json_kuint(j, "negotiated_version", r->negotiated_version);
        json_kuint(j, "status", r->status);
        json_kuint(j, "credits_requested", r->credits_requested);
        json_kuint(j, "credits_granted", r->credits_granted);
        json_kuint(j, "max_read_write_size", r->max_read_write_size);
        json_kuint(j, "preferred_send_size", r->preferred_send_size);
        json_kuint(j, "max_receive_size", r->max_receive_size);
        json_kuint(j, "max_fragmented_size", r->max_fragmented_size);
        json_end_object(j);
    } else {
        json_null(j);
    }
}

static void iwarp_json(struct json *j, const struct smb_conn *s, const struct smb_direct_info *d)
{
    int c = s->client, sv = !s->client;
    json_key(j, "mpa");
    json_begin_object(j);
    json_kbool(j, "request_seen", d->mpa_request_seen);
    json_kbool(j, "reply_seen", d->mpa_reply_seen);
    json_kbool(j, "rejected", d->mpa_rejected);
    json_kuint(j, "revision", d->mpa_revision);
    json_kbool(j, "crc", d->mpa_crc);
    json_kbool(j, "markers_to_server", d->mpa_markers[c]);
    json_kbool(j, "markers_to_client", d->mpa_markers[sv]);
    json_kuint(j, "client_private_data_len", d->mpa_private_len[c]);
    json_kuint(j, "server_private_data_len", d->mpa_private_len[sv]);
    json_kuint(j, "fpdus", d->fpdus);
    json_kuint(j, "crc_bad", d->crc_bad);
    json_kuint(j, "markers", d->markers);
    json_kuint(j, "marker_pointer_bad", d->marker_ptr_bad);
    json_kuint(j, "desynchronised", d->desync);
    json_kbool(j, "midstream", d->mpa_midstream);
    json_kuint(j, "resyncs", d->resyncs);
    json_end_object(j);
}

static void roce_json(struct json *j, const struct smb_conn *s, const struct smb_direct_info *d)
{
    json_key(j, "roce");
    json_begin_object(j);
    json_kuint(j, "packets", d->roce_packets);
    json_kuint(j, "acks", d->roce_acks);
    json_kuint(j, "client_qp", d->qpn[s->client]);
    json_kuint(j, "server_qp", d->qpn[!s->client]);
    json_kuint(j, "psn_dropped_messages", d->psn_dropped);
    json_kuint(j, "psn_duplicates", d->psn_duplicates);
    json_kuint(j, "icrc_bad", d->icrc_bad);
    json_kuint(j, "icrc_unchecked", d->icrc_unchecked);
    json_end_object(j);
}

void report_json_smb_direct(struct json *j, const struct smb_conn *s)
{
    const struct smb_direct_info *d = s->smbd;
    json_kstr(j, "ip_proto", s->obs.carrier == CARRIER_RDMA_ROCE ? "udp" : "tcp");
    json_key(j, "smb_direct");
    if (!d) {
        json_null(j);
        return;
    }
    json_begin_object(j);
    json_kstr(j, "carrier", s->obs.carrier == CARRIER_RDMA_ROCE ? "roce" : "iwarp");
    if (s->obs.carrier == CARRIER_RDMA_ROCE)
        roce_json(j, s, d);
    else
        iwarp_json(j, s, d);
    json_kuint(j, "sends", d->sends);
    json_kuint(j, "sends_dropped", d->send_dropped);
    json_kuint(j, "rdma_writes", d->rdma_writes);
    json_kuint(j, "rdma_write_bytes", d->rdma_write_bytes);
    json_kuint(j, "rdma_read_requests", d->rdma_reads);
    json_key(j, "smbd");
    json_begin_object(j);
    negotiate_json(j, &d->smbd);
    json_kuint(j, "data_messages", d->smbd.data_messages[0] + d->smbd.data_messages[1]);
    json_kuint(j, "fragmented_messages", d->smbd_fragmented);
    json_kuint(j, "dropped_messages", d->smbd_dropped);
    json_kuint(j, "invalid_messages", d->smbd.invalid);
    json_end_object(j);
    json_end_object(j);
}

void report_text_smb_direct(FILE *out, const struct smb_conn *s, int w)
{
    const struct smb_direct_info *d = s->smbd;
    if (!d)
        return;
    fprintf(out, "    %-*s ", w, "SMB Direct");
    if (s->obs.carrier == CARRIER_RDMA_ROCE) {
        fprintf(out, "RoCEv2, QP 0x%06" PRIx32 " (client) / 0x%06" PRIx32 " (server), %" PRIu64 " packets, %" PRIu64
                " PSN losses, %" PRIu64 " bad ICRC (ignored)\n", d->qpn[s->client], d->qpn[!s->client], d->roce_packets,
                d->psn_dropped, d->icrc_bad);
    } else {
        if (d->mpa_midstream)
            fputs("iWARP, MPA startup not captured (recognised from its FPDUs)", out);
        else
            fprintf(out, "iWARP, MPA revision %u", d->mpa_revision);
        fprintf(out, ", CRC32c %s (%" PRIu64 " bad of %" PRIu64 " FPDUs), markers %s/%s%s\n",
                d->mpa_crc ? "on" : "off", d->crc_bad, d->fpdus,
                d->mpa_markers[s->client] ? "on" : "off", d->mpa_markers[!s->client] ? "on" : "off",
                d->mpa_rejected ? ", REJECTED" : "");
    }
    fprintf(out, "    %-*s ", w, "SMBD");
    if (d->smbd.response_seen)
        fprintf(out, "version 0x%04x, status 0x%08" PRIx32 ", credits %u granted, max read/write %" PRIu32
                ", max receive %" PRIu32 "\n", d->smbd.response.negotiated_version, d->smbd.response.status,
                d->smbd.response.credits_granted, d->smbd.response.max_read_write_size,
                d->smbd.response.max_receive_size);
    else
        fputs("negotiate not seen\n", out);
    fprintf(out, "    %-*s %" PRIu64 " sends, %" PRIu64 " SMB2 messages in several SMBD messages, %" PRIu64
            " RDMA writes (%" PRIu64 " bytes), %" PRIu64 " RDMA read requests\n", w, "RDMA Transfers", d->sends,
            d->smbd_fragmented, d->rdma_writes, d->rdma_write_bytes, d->rdma_reads);
}
