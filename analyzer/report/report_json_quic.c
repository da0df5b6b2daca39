/* report_json_quic.c - what SMB over QUIC adds to the JSON report: the
 * connection's carrier and QUIC handshake facts, the QUIC table's counters,
 * the --allow-transport list. */
#include "report_json.h"

#include "quic_crypto.h"
#include "quic_facts.h"
#include "quic_table.h"

void json_carrier(struct json *j, const struct smb_conn *s)
{
    const struct smb_conn_quic *q = s->quic;
    /* SMB Direct over RoCEv2 rides on UDP; iWARP on TCP */
    json_kstr(j, "carrier", q ? "quic" : s->obs.carrier == CARRIER_RDMA_ROCE ? "udp" : "tcp");
    json_key(j, "quic");
    if (!q) {
        json_null(j);
        return;
    }
    json_begin_object(j);
    json_kstr(j, "version", quic_version_name(q->version));
    json_kstr(j, "sni", q->sni[0] ? q->sni : NULL);
    json_key(j, "alpn");
    json_begin_array(j);
    for (unsigned i = 0; i < q->alpn_count; i++)
        json_str(j, q->alpn[i]);
    json_end_array(j);
    json_kbool(j, "alpn_truncated", q->alpn_truncated);
    json_kstr(j, "cipher_suite", quic_suite_name(q->cipher));
    json_kbool(j, "retry", q->retry);
    json_kbool(j, "handshake_completed", q->handshake_completed);
    json_kbool(j, "handshake_done", q->handshake_done);
    json_kbool(j, "decrypted", q->decrypted);
    json_kuint(j, "client_hellos", q->client_hellos);
    json_kuint(j, "zero_rtt_packets", q->zero_rtt);
    json_kuint(j, "undecryptable_packets", q->undecryptable);
    json_kuint(j, "streams", q->streams);
    json_kuint(j, "stream_bytes_dropped", q->stream_bytes_dropped);
    json_kbool(j, "crypto_capped", q->crypto_capped);
    json_end_object(j);
}

void json_quic_stats(struct json *j, const struct analysis *a)
{
    struct quic_table_stats q = quic_table_stats(a->quic);
    json_key(j, "quic");
    json_begin_object(j);
    json_kuint(j, "datagrams", q.quic_datagrams);
    json_kuint(j, "connections", q.conns);
    json_kuint(j, "smb_connections", q.smb_conns);
    json_kuint(j, "other_connections", q.other_conns);
    json_kuint(j, "evictions", q.evictions);
    json_kuint(j, "undecryptable_initials", q.decrypt_failures);
    json_kuint(j, "undecryptable_packets", q.undecryptable);
    json_end_object(j);
}

void json_allow_transport(struct json *j, const struct policy *p)
{
    json_key(j, "allow_transport");
    if (!p->n_transports) {
        json_null(j);
        return;
    }
    char buf[256];
    json_str(j, policy_transports_text(p, buf, sizeof buf));
}
