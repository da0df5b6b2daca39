/* mstate_join_quic_edge.c - see mstate_join_quic_edge.h. */
#include "mstate_join_quic_edge.h"

#include <string.h>

#include "analysis.h"
#include "jget.h"
#include "mstate_detail.h"
#include "mstate_edges.h"
#include "mstate_join_quic.h"
#include "mstate_put.h"
#include "mstate_quic_tails.h"
#include "quic_facts.h"
#include "quic_table.h"
#include "session.h"

bool quic_edge_same(const struct conn_summary *cs, const struct conn_summary *late)
{
    /* the client named by its Initial in both parts: the same orientation */
    return cs->carrier == CONN_CARRIER_QUIC && late->carrier == CONN_CARRIER_QUIC &&
           mstate_same_end(&cs->client, cs->client_port, &late->client, late->client_port) &&
           mstate_same_end(&cs->server, cs->server_port, &late->server, late->server_port);
}

bool quic_edge_continues(const struct conn_summary *cs, const struct conn_summary *late)
{
    return quic_edge_same(cs, late) && strcmp(cs->close_reason, "end of capture") == 0 &&
           late->first_ts >= cs->last_ts && ts_diff(late->first_ts, cs->last_ts) <= QUIC_TAIL_IDLE_US;
}

static bool get_bool(JsonObject *o, const char *k) { return json_object_get_boolean_member_with_default(o, k, FALSE); }

static void set_or(JsonObject *e, JsonObject *l, const char *k)
{
    if (json_object_has_member(e, k) && json_object_has_member(l, k))
        json_object_set_boolean_member(e, k, get_bool(e, k) || get_bool(l, k));
}

static void set_sum(JsonObject *e, JsonObject *l, const char *k)
{
    if (json_object_has_member(e, k) && json_object_has_member(l, k))
        json_object_set_int_member(e, k, mstate_sum(json_object_get_int_member(e, k), json_object_get_int_member(l, k)));
}

static void take(JsonObject *e, JsonObject *l, const char *k)
{
    JsonNode *n = json_object_get_member(l, k);
    if (n && json_object_has_member(e, k))
        json_object_set_member(e, k, json_node_copy(n));
}

static bool is_null(JsonObject *o, const char *k)
{
    JsonNode *n = json_object_get_member(o, k);
    return !n || JSON_NODE_HOLDS_NULL(n);
}

void quic_edge_join_entry(JsonObject *early, JsonObject *late)
{
    JsonObject *e = jget_member_obj(early, "quic"), *l = jget_member_obj(late, "quic");
    if (!e || !l)
        return;
    bool retry = get_bool(e, "retry");
    if (retry) { /* the later ClientHello is the one the connection keeps, counted */
        take(e, l, "sni");
        take(e, l, "alpn");
        take(e, l, "alpn_truncated");
        set_sum(e, l, "client_hellos");
    }
    if (is_null(e, "cipher_suite"))
        take(e, l, "cipher_suite");
    static const char *const ors[] = { "retry", "handshake_completed", "handshake_done", "decrypted", "crypto_capped" };
    static const char *const sums[] = { "zero_rtt_packets", "undecryptable_packets", "stream_bytes_dropped" };
    for (size_t i = 0; i < G_N_ELEMENTS(ors); i++)
        set_or(e, l, ors[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(sums); i++)
        set_sum(e, l, sums[i]);
    if (json_object_has_member(e, "streams") && json_object_has_member(l, "streams") &&
        json_object_get_int_member(l, "streams") > json_object_get_int_member(e, "streams"))
        take(e, l, "streams");
}

void quic_edge_join_facts(struct smb_conn_quic *e, const struct smb_conn_quic *l)
{
    if (!e || !l)
        return;
    if (e->retry) {
        memcpy(e->sni, l->sni, sizeof e->sni);
        e->alpn_count = l->alpn_count;
        e->alpn_truncated = l->alpn_truncated;
        memcpy(e->alpn, l->alpn, sizeof e->alpn);
        e->client_hellos += l->client_hellos;
    }
    if (!e->cipher)
        e->cipher = l->cipher;
    e->retry |= l->retry;
    e->handshake_completed |= l->handshake_completed;
    e->handshake_done |= l->handshake_done;
    e->decrypted |= l->decrypted;
    e->crypto_capped |= l->crypto_capped;
    e->zero_rtt += l->zero_rtt;
    e->undecryptable += l->undecryptable;
    e->stream_bytes_dropped += l->stream_bytes_dropped;
    e->streams = l->streams > e->streams ? l->streams : e->streams;
}

void quic_edge_tail_facts(struct analysis *a, const struct conn_summary *cs, bool retry, uint32_t zero_rtt,
                          bool server_handshake)
{
    if (!retry && !zero_rtt && !server_handshake)
        return;
    JsonObject *q = jget_member_obj(mstate_detail_entry(a, cs), "quic");
    if (q) {
        if (retry && json_object_has_member(q, "retry"))
            json_object_set_boolean_member(q, "retry", TRUE);
        if (server_handshake && json_object_has_member(q, "handshake_completed"))
            json_object_set_boolean_member(q, "handshake_completed", TRUE);
        if (zero_rtt)
            mstate_add_int(q, "zero_rtt_packets", zero_rtt);
        return;
    }
    struct smb_conn *s = mstate_detail_conn(a, cs); /* --jobs: the session itself */
    if (s && s->quic) {
        s->quic->retry |= retry;
        s->quic->handshake_completed |= server_handshake;
        s->quic->zero_rtt += zero_rtt;
    }
}

void quic_edge_join(struct analysis *a, struct conn_summary *cs, const struct conn_summary *late)
{
    JsonObject *ee = mstate_detail_entry(a, cs), *le = mstate_detail_entry(a, late);
    if (ee && le) {
        quic_edge_join_entry(ee, le);
    } else {
        struct smb_conn *es = mstate_detail_conn(a, cs), *ls = mstate_detail_conn(a, late);
        if (es && ls)
            quic_edge_join_facts(es->quic, ls->quic);
    }
    quic_hello_rename(a, late, cs);
    struct conn_summary j;
    mstate_join_parts(&j, cs, late, &a->cfg->policy);
    mstate_detail_join(a, cs, late, &j);
    *cs = j;
    a->edges_joined++;
    struct quic_table_stats q = { .conns = 1, .smb_conns = 1 };
    quic_table_unjoin_stats(a->quic, &q);
}
