/* mstate_frags_tcp.c - see mstate_frags_tcp.h. */
#include "mstate_frags_tcp.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "census.h"
#include "jget.h"
#include "netbios.h"
#include "mstate_detail.h"
#include "mstate_join_smbd.h"
#include "mstate_put.h"
#include "session.h"

#define UNKNOWN UINT64_MAX

/* One whole datagram carrying a TCP segment with data. */
struct frag_seg {
    struct packet pkt;   /* decoded (its payload in buf) */
    struct ip_addr src, dst;
    uint16_t sport, dport;
    uint32_t seq;
    int64_t ts;          /* its last fragment's: where the run hands it to TCP */
    uint8_t *buf;        /* the datagram's bytes (payload points into them) */
    const uint8_t *payload;
    uint32_t len;
    enum packet_status st;
    struct input_info *in;
    uint32_t opens;
    enum ipfrag_fate fate;
    int due;             /* -1: no join takes it yet; else its direction from the joining early part's client */
    bool placed;
};

/* A forged set of reports cannot make merge hold more than a run's table of
 * datagrams per state: mstate_frags.c bounds the records (MERGE_BYTES_CAP). */

void mstate_frags_tcp_add(struct analysis *a, const struct packet *pkt, enum packet_status st, uint8_t *buf,
                          struct input_info *in, uint32_t opens, enum ipfrag_fate fate)
{
    if (!a->frag_tcp)
        a->frag_tcp = g_array_new(FALSE, TRUE, sizeof(struct frag_seg));
    struct frag_seg g = { .pkt = *pkt, .src = pkt->src, .dst = pkt->dst, .sport = pkt->sport, .dport = pkt->dport,
                          .seq = pkt->seq, .ts = pkt->ts_us, .buf = buf, .payload = pkt->payload,
                          .len = pkt->payload_len, .st = st, .in = in, .opens = opens, .fate = fate, .due = -1 };
    g_array_append_val(a->frag_tcp, g);
}

/* The segment's direction from cs's client: 0, 1, or -1 (not its ends). */
static int dir_of(const struct frag_seg *g, const struct conn_summary *cs)
{
    if (mstate_same_end(&g->src, g->sport, &cs->client, cs->client_port) &&
        mstate_same_end(&g->dst, g->dport, &cs->server, cs->server_port))
        return 0;
    if (mstate_same_end(&g->src, g->sport, &cs->server, cs->server_port) &&
        mstate_same_end(&g->dst, g->dport, &cs->client, cs->client_port))
        return 1;
    return -1;
}

/* g completed between early's last packet and late's first: the run
 * handed it to the connection after the early part's packets, before
 * the late part's; its direction from early's client, else -1. */
static int between(const struct frag_seg *g, const struct conn_summary *early, const struct conn_summary *late)
{
    if (g->placed || g->ts < early->last_ts || g->ts > late->first_ts)
        return -1;
    return dir_of(g, early);
}

/* The stream bytes early had in direction d (0: from its client), from its
 * detail (its entry, or --jobs' session); UNKNOWN when it is not detailed. */
static uint64_t early_bytes(struct analysis *a, const struct conn_summary *early, int d)
{
    JsonObject *e = mstate_detail_entry(a, early);
    JsonObject *st = e ? jget_node_obj(json_object_get_member(e, "stream")) : NULL;
    const char *k = d == 0 ? "bytes_c2s" : "bytes_s2c";
    if (st && json_object_has_member(st, k))
        return (uint64_t)json_object_get_int_member(st, k);
    const struct smb_conn *s = e ? NULL : mstate_detail_conn(a, early);
    return s ? s->bytes[d == 0 ? s->client : !s->client] : UNKNOWN;
}

/* Early's framing in direction d stood where a message begins: at a
 * header, or (a session's framers start scanning, flow.c's first byte
 * unseen) never given a byte. */
static bool early_at_boundary(struct analysis *a, const struct conn_summary *early, int d, uint64_t left)
{
    return left == 0 || (left == UNKNOWN && early_bytes(a, early, d) == 0);
}

void mstate_frags_tcp_edge(struct analysis *a, const struct conn_summary *early, const struct conn_summary *late,
                           const uint64_t end_seq[2], const uint64_t left[2], const uint64_t lead[2],
                           const uint64_t late_bytes[2])
{
    if (!a->frag_tcp || early->carrier != CONN_CARRIER_TCP)
        return;
    guint n[2] = { 0, 0 };
    for (guint i = 0; i < a->frag_tcp->len; i++) {
        int d = between(&g_array_index(a->frag_tcp, struct frag_seg, i), early, late);
        if (d >= 0)
            n[d]++;
    }
    for (guint i = 0; i < a->frag_tcp->len; i++) {
        struct frag_seg *g = &g_array_index(a->frag_tcp, struct frag_seg, i);
        int d = between(g, early, late);
        /* one segment a direction (two would need their order in the
         * stream), in order after the early part's, both framings at a
         * message boundary */
        if (d >= 0 && n[d] == 1 && end_seq[d] != UNKNOWN && (uint32_t)end_seq[d] == g->seq &&
            (lead[d] == 0 || (lead[d] == UNKNOWN && late_bytes[d] == 0)) && early_at_boundary(a, early, d, left[d]))
            g->due = d;
    }
}

/* g's payload as the run's connection takes it: a connection of its own
 * seen from its middle holding that packet; NULL when its framing is not
 * whole messages from its first octet to its last. */
static struct smb_conn *middle(struct analysis *a, const struct conn_summary *early, const struct frag_seg *g, int d,
                               struct conn_summary *out)
{
    struct smb_conn *s = mstate_middle_open(a, early);
    smb_conn_data(s, d, g->payload, g->len, g->ts);
    uint64_t bytes[2] = { 0, 0 }, packets[2] = { 0, 0 };
    bytes[d] = g->len;
    packets[d] = 1;
    mstate_middle_end(a, s, early, bytes, packets, "end", out);
    if (s->frame_lead[d] != 0 || s->frame_left[d] != 0 || s->resyncs || s->skipped_bytes || s->framer_anomalies) {
        smb_conn_free(s);
        return NULL;
    }
    return s;
}

void mstate_frags_tcp_join(struct analysis *a, struct conn_summary *early, const struct conn_summary *late)
{
    for (guint i = 0; a->frag_tcp && i < a->frag_tcp->len; i++) {
        struct frag_seg *g = &g_array_index(a->frag_tcp, struct frag_seg, i);
        if (g->due < 0 || g->placed)
            continue;
        int d = g->due;
        g->due = -1;
        if (between(g, early, late) != d)
            continue;
        struct conn_summary mid;
        struct smb_conn *s = middle(a, early, g, d, &mid);
        if (!s)
            continue;
        mstate_join_middle(a, early, s, &mid);
        g->placed = true;
        /* the datagram as the run counted it: reassembled, decoded, not lost */
        for (uint32_t k = 0; k < g->opens; k++)
            ipfrag_unlose(a->frags, IPFRAG_OPEN);
        ipfrag_unlose(a->frags, g->fate);
        ipfrag_count_reassembled(a->frags);
        /* and the packet as analysis.c feed_packet() counts one (a TCP
         * segment on 139 in the NetBIOS ledger, a SYN pair's in the census) */
        uint64_t pair_h = 0;
        bool census_due = census_packet_early(a->census, &g->pkt, &pair_h);
        nb_ledger_packet_inline(a->ledger, &g->pkt);
        if (census_due)
            census_packet_late(a->census, &g->pkt, pair_h);
        if (g->in && g->in->status[PKT_FRAG_HELD]) {
            g->in->status[PKT_FRAG_HELD]--;
            g->in->status[g->st]++;
        }
    }
}

void mstate_frags_tcp_finish(struct analysis *a)
{
    for (guint i = 0; a->frag_tcp && i < a->frag_tcp->len; i++)
        a->frag_not_placed += !g_array_index(a->frag_tcp, struct frag_seg, i).placed;
    mstate_frags_tcp_free(a);
}

void mstate_frags_tcp_free(struct analysis *a)
{
    for (guint i = 0; a->frag_tcp && i < a->frag_tcp->len; i++)
        g_free(g_array_index(a->frag_tcp, struct frag_seg, i).buf);
    if (a->frag_tcp)
        g_array_free(a->frag_tcp, TRUE);
    a->frag_tcp = NULL;
}
