/* rdma_roce.c - SMB Direct over RoCEv2 (UDP 4791) in the analysis.
 *
 * A RoCEv2 "connection" is a pair of RC queue pairs.  The BTH names only
 * the destination QP, and the connection manager's REQ/REP (which would
 * pair them) is usually not captured, so the two directions are joined as
 * tshark_facts.py joins them: a packet from B to A whose destination QP is
 * unknown joins the first queue-pair pair from A to B still missing its
 * reverse direction.  SENDs are reassembled by PSN (roce.h) and handed to
 * SMBD; a pair becomes an SMB connection (smb_conn_new_endpoints) when its
 * first message is an SMBD negotiate request (client = its sender) or, for
 * a capture that began later, an SMBD data transfer message carrying an
 * SMB2 header.  Other RDMA traffic (NVMe-oF, iSER ...) is counted only.
 * The table is bounded (max_conns); packets beyond it are counted.
 *
 * Every packet's ICRC is checked first (roce_icrc_check): one that fails
 * was damaged on the way (the receiving RNIC drops it and the sender
 * retransmits), so it is counted (per pair when its BTH still names a known
 * pair, and in stats) and never used: it neither creates nor joins a pair,
 * nor gives SMB facts.  Packets cut by the snaplen cannot be checked. */
#include "rdma.h"

#include <string.h>

#include "packet.h"
#include "roce.h"
#include "session.h"

#define ROCE_SEND_BUF 65536

struct roce_conn {
    struct ip_addr addr[2];   /* side 0: the first sender */
    uint16_t port[2];         /* side 0's UDP source port; 4791 for side 1 */
    uint32_t qp[2];           /* destination QP of the packets sent to side d */
    bool qp_known[2];
    struct roce_msg_rx rx[2];
    struct smbd_reasm reasm[2];
    struct smb_conn *s;       /* once SMBD was seen */
    bool not_smb, midstream;
    int64_t first_ts, last_ts;
    uint64_t bytes[2], packets[2];
    uint64_t acks, writes, write_bytes, reads;
    uint64_t icrc_bad, icrc_unchecked;
};

struct roce_table {
    struct session_config cfg;
    uint32_t max_conns;
    GPtrArray *conns;          /* struct roce_conn* */
    uint64_t dropped, not_decoded, icrc_bad;
};

struct roce_table *roce_table_new(const struct session_config *cfg, uint32_t max_conns)
{
    struct roce_table *t = g_new0(struct roce_table, 1);
    t->cfg = *cfg;
    t->max_conns = max_conns ? max_conns : 4096;
    t->conns = g_ptr_array_new();
    return t;
}

uint64_t roce_table_dropped(const struct roce_table *t) { return t->dropped; }
uint64_t roce_table_not_decoded(const struct roce_table *t) { return t->not_decoded; }
uint64_t roce_table_icrc_bad(const struct roce_table *t) { return t->icrc_bad; }

void roce_table_fold_counts(struct roce_table *t, uint64_t dropped, uint64_t not_decoded, uint64_t icrc_bad)
{
    t->dropped += dropped;
    t->not_decoded += not_decoded;
    t->icrc_bad += icrc_bad;
}

static bool same(const struct ip_addr *a, const struct ip_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

/* The pair and direction (side of the sender) of a packet; NULL when the
 * table is full, or (create false) when no pair knows its destination QP. */
static struct roce_conn *find(struct roce_table *t, const struct packet *pkt, uint32_t destqp, bool create, int *dir)
{
    for (guint i = 0; i < t->conns->len; i++) {
        struct roce_conn *c = g_ptr_array_index(t->conns, i);
        for (int d = 0; d < 2; d++)
            if (same(&c->addr[d], &pkt->src) && same(&c->addr[!d], &pkt->dst) && c->qp_known[!d] &&
                c->qp[!d] == destqp) {
                *dir = d;
                return c;
            }
    }
    if (!create)
        return NULL;
    for (guint i = 0; i < t->conns->len; i++) { /* the reverse direction of a pair */
        struct roce_conn *c = g_ptr_array_index(t->conns, i);
        if (!c->qp_known[0] && same(&c->addr[1], &pkt->src) && same(&c->addr[0], &pkt->dst)) {
            c->qp_known[0] = true;
            c->qp[0] = destqp;
            *dir = 1;
            return c;
        }
    }
    if (t->conns->len >= t->max_conns)
        return NULL;
    struct roce_conn *c = g_new0(struct roce_conn, 1);
    c->addr[0] = pkt->src;
    c->addr[1] = pkt->dst;
    c->port[0] = pkt->sport;
    c->port[1] = ROCEV2_UDP_PORT;
    c->qp_known[1] = true;
    c->qp[1] = destqp;
    c->first_ts = pkt->ts_us;
    for (int d = 0; d < 2; d++)
        roce_msg_rx_init(&c->rx[d], NULL, 0);
    g_ptr_array_add(t->conns, c);
    *dir = 0;
    return c;
}

/* Whether the first message of a pair makes it an SMB Direct connection:
 * the SMBD negotiate request (its sender the client), or, the capture
 * having begun later, the negotiate response (its peer the client) or a
 * data transfer message with data (MS-SMBD carries only SMB2: also the
 * piece of a message whose start the capture did not see). */
static void maybe_smb(struct roce_table *t, struct roce_conn *c, int dir, const uint8_t *msg, size_t len)
{
    struct smbd_negotiate_request req;
    struct smbd_negotiate_response resp;
    struct smbd_data data;
    int client = -1;
    bool is_data = smbd_parse_data(msg, len, &data) == SMBD_OK;
    if (dir == 0 && smbd_parse_negotiate_request(msg, len, &req) == SMBD_OK && len == SMBD_NEGOTIATE_REQUEST_LEN) {
        c->midstream = false;
        client = 0;
    } else if (!is_data && len == SMBD_NEGOTIATE_RESPONSE_LEN &&
               smbd_parse_negotiate_response(msg, len, &resp) == SMBD_OK && resp.negotiated_version == SMBD_VERSION_1) {
        c->midstream = true; /* the request preceded the capture */
        client = !dir;
    } else if (is_data && data.data_length) {
        c->midstream = true; /* the negotiate preceded the capture */
    } else {
        c->not_smb = true;
        return;
    }
    c->s = smb_conn_new_endpoints(&t->cfg, c->addr, c->port, client, c->midstream);
    c->s->obs.carrier = CARRIER_RDMA_ROCE;
    c->s->smbd = g_new0(struct smb_direct_info, 1);
    for (int d = 0; d < 2; d++)
        smbd_reasm_init(&c->reasm[d], NULL, 0); /* a buffer once a message comes in pieces */
}

static void send_packet(struct roce_table *t, struct roce_conn *c, int dir, const struct roce_bth *b, int64_t ts)
{
    struct roce_msg_rx *rx = &c->rx[dir];
    if (b->part == ROCE_SEND_FIRST && !rx->buf) { /* a buffer only for messages of several packets */
        rx->buf = g_malloc(ROCE_SEND_BUF);
        rx->cap = ROCE_SEND_BUF;
    }
    const uint8_t *msg;
    size_t len;
    if (roce_msg_add(rx, b, &msg, &len) != ROCE_RX_DONE)
        return;
    if (!c->s && !c->not_smb)
        maybe_smb(t, c, dir, msg, len);
    if (!c->s)
        return;
    c->s->smbd->sends++;
    rdma_smbd_message(c->s, &c->reasm[dir], dir, dir == 1, c->midstream, msg, len, ts);
}

void roce_table_packet(struct roce_table *t, const struct packet *pkt)
{
    struct roce_bth b;
    if (!roce_parse(pkt->payload, pkt->payload_len, &b)) {
        t->not_decoded++;
        return;
    }
    enum roce_icrc icrc = pkt->ip_header ? roce_icrc_check(pkt->ip_header, pkt->ip_header_len) : ROCE_ICRC_UNCHECKED;
    int dir;
    struct roce_conn *c = find(t, pkt, b.destqp, icrc != ROCE_ICRC_BAD, &dir);
    if (icrc == ROCE_ICRC_BAD) {
        t->icrc_bad++;
        if (c) {
            c->icrc_bad++;
            c->last_ts = pkt->ts_us;
            c->packets[dir]++;
            c->bytes[dir] += pkt->payload_wire_len;
        }
        return;
    }
    if (!c) {
        t->dropped++;
        return;
    }
    c->last_ts = pkt->ts_us;
    c->packets[dir]++;
    c->bytes[dir] += pkt->payload_wire_len;
    c->icrc_unchecked += icrc == ROCE_ICRC_UNCHECKED;
    switch (b.kind) {
    case ROCE_KIND_ACK:
        c->acks++;
        break;
    case ROCE_KIND_RDMA_WRITE:
        c->write_bytes += b.payload_len;
        c->writes += b.opcode == RC_RDMA_WRITE_ONLY || b.opcode == 0x08 || b.opcode == 0x09 || b.opcode == 0x0B;
        break;
    case ROCE_KIND_RDMA_READ:
        c->reads += b.opcode == RC_RDMA_READ_REQUEST;
        break;
    case ROCE_KIND_SEND:
        send_packet(t, c, dir, &b, pkt->ts_us);
        break;
    case ROCE_KIND_OTHER:
        break;
    }
}

static void conn_free(struct roce_conn *c)
{
    for (int d = 0; d < 2; d++) {
        g_free(c->rx[d].buf);
        g_free(c->reasm[d].buf);
    }
    g_free(c);
}

void roce_table_finish(struct roce_table *t, smb_conn_closed_fn closed, void *ctx)
{
    for (guint i = 0; i < t->conns->len; i++) {
        struct roce_conn *c = g_ptr_array_index(t->conns, i);
        struct smb_conn *s = c->s;
        if (s) {
            struct smb_direct_info *info = s->smbd;
            info->roce_packets = c->packets[0] + c->packets[1];
            info->roce_acks = c->acks;
            info->rdma_writes = c->writes;
            info->rdma_write_bytes = c->write_bytes;
            info->rdma_reads = c->reads;
            info->icrc_bad = c->icrc_bad;
            info->icrc_unchecked = c->icrc_unchecked;
            for (int d = 0; d < 2; d++) {
                rdma_keep_head(info, d, &c->reasm[d]); /* smbscope merge: a message the capture's end divided */
                info->qpn[d] = c->qp[d];
                info->psn_dropped += c->rx[d].dropped;
                info->psn_duplicates += c->rx[d].duplicates;
                info->send_dropped += c->rx[d].oversize;
            }
            if (smb_conn_close_endpoints(s, c->first_ts, c->last_ts, c->bytes, c->packets, "end of capture"))
                closed(ctx, s);
            else
                smb_conn_free(s);
        }
        conn_free(c);
    }
    g_ptr_array_set_size(t->conns, 0);
}

void roce_table_free(struct roce_table *t)
{
    if (!t)
        return;
    for (guint i = 0; i < t->conns->len; i++) {
        struct roce_conn *c = g_ptr_array_index(t->conns, i);
        smb_conn_free(c->s);
        conn_free(c);
    }
    g_ptr_array_free(t->conns, TRUE);
    g_free(t);
}
