/* rdma_roce.c - SMB Direct over RoCEv2 (UDP 4791) in the analysis.
 *
 * A RoCEv2 "connection" is a pair of RC queue pairs.  The BTH names only
 * the destination QP, and the connection manager's REQ/REP (which would
 * pair them) is usually not captured, so the two directions are joined as
 * tshark_facts.py joins them: a packet from B to A whose destination QP is
 * unknown joins the first queue-pair pair from A to B still missing its
 * reverse direction, unless the PSNs say it is another's (roce_join_pick()
 * in dissector/rdma/roce_pair.c, which the Wireshark plugin calls too:
 * an ACK names the PSN of the request it acknowledges, so a direction's
 * ACKs and its reverse's requests must be near; an SMBD negotiate request
 * starts a connection, whose peer sent nothing before but the ACK of it).
 * One packet from A to another of B's queue pairs, seen before B's first
 * packet, then no longer takes B's direction from its real reverse (review
 * F10: the client's SMBD messages were lost, FAIL became INCONCLUSIVE).
 * SENDs are reassembled by PSN (roce.h) and handed to
 * SMBD; a pair becomes an SMB connection (smb_conn_new_endpoints) when its
 * first message is an SMBD negotiate request (client = its sender) or, for
 * a capture that began later, an SMBD data transfer message carrying an
 * SMB2 header.  Its ports are the client's UDP source port and 4791, where
 * every RoCEv2 packet goes (name_ports()).  Other RDMA traffic (NVMe-oF,
 * iSER ...) is counted only.
 * The table is bounded (max_conns).  When it is full, a new pair takes
 * the place of the least recently active pair whose first message showed it
 * is not SMB (NVMe-oF, iSER ...: nothing of it is reported); when every
 * pair is SMB or still undecided, the packet is counted untracked
 * (roce_table_dropped), which the verdict reports as a cap hit that leaves
 * the SMB rules undecided (verdict_unknowns.c).
 *
 * Pairs are found by (sender, receiver, destination QP) in a hash table
 * keyed with the process's random number (distinct_process_key()): the
 * capture chooses addresses and QPs, so it must not be able to choose
 * collisions.  Pairs still missing their reverse direction are queued by
 * their two addresses, oldest first, so joining one is a look-up too.
 *
 * Every packet's ICRC is checked first (roce_icrc_check): one that fails
 * was damaged on the way (the receiving RNIC drops it and the sender
 * retransmits), so it is counted (per pair when its BTH still names a known
 * pair, and in stats) and never used: it neither creates nor joins a pair,
 * nor gives SMB facts.  Packets cut by the snaplen cannot be checked. */
#include "rdma.h"

#include <string.h>

#include "classify.h"
#include "distinct.h"
#include "packet.h"
#include "roce.h"
#include "roce_pair.h"
#include "session.h"

#define ROCE_SEND_BUF 65536
#define ROCE_SEND_BUF_FIRST 2048
/* Every reassembly buffer of the table (SEND messages of several packets,
 * SMB2 messages in several SMBD messages) under one budget, like TCP's
 * --reassembly-total-cap: buffers are taken when a message starts and given
 * back when it completes or is dropped; a message that does not fit is
 * dropped and counted (roce_table_over_budget, and per connection in
 * sends_dropped / smbd dropped_messages). */
#define ROCE_BUF_BUDGET (16u << 20)

/* An SMBD reassembly that must discard its message (over the budget):
 * non-NULL so rdma_smbd_message() allocates nothing, capacity 0 so
 * smbd_reasm_add() copies nothing and drops the message at its end. */
static uint8_t discard_buf[1];

/* smbscope merge (rdma.h: RDMA_KEPT_SEND_REST): a direction's first SEND
 * packets, when they are the Middle and Last of a SEND whose First preceded
 * the capture, put together (the part before holds its start: merge makes
 * the SEND whole, mstate_join_frame.c).  Collected whatever the pair turns
 * out to be (it is decided by its first whole message, which comes later),
 * in PSN order, at most RDMA_KEEP_MAX octets, under the table's budget. */
enum { REST_COLLECTING = 0, REST_DONE, REST_OVER };
/* Rests held at once (a state writes the pieces of 32 connections, each
 * way): at most 1 MiB, whatever the number of pairs. */
#define ROCE_RESTS_MAX 64
struct roce_rest {
    uint8_t *buf;
    size_t len;
    uint32_t first_psn, next_psn;
    uint8_t state;
    bool lost; /* packets of it not kept (a loss, a bound, a start before its Last) */
};

/* The index key of one direction: who sends, to whom, and the destination
 * QP it names.  Built zeroed (padding too): compared with memcmp. */
struct roce_key {
    struct ip_addr src, dst;
    uint32_t qp;
};

struct roce_conn {
    struct roce_key key[2];   /* key[d]: packets sent by side d (indexed once qp_known[!d]) */
    GList order_link;         /* in the table's order of creation (finish closes in it) */
    GList lru_link;           /* in not_smb_lru once not_smb */
    GList unpaired_link;      /* in its addresses' unpaired queue while qp_known[0] is false */
    struct ip_addr addr[2];   /* side 0: the first sender */
    uint16_t port[2];         /* side 0's UDP source port; 4791 for side 1 */
    uint16_t sport1;          /* side 1's UDP source port (0: it sent nothing yet) */
    uint32_t qp[2];           /* destination QP of the packets sent to side d */
    bool qp_known[2];
    struct roce_psns psn0;    /* side 0's PSNs while its reverse is not known (roce_pair.h) */
    struct roce_msg_rx rx[2];
    struct roce_rest rest[2];
    struct smbd_reasm reasm[2];
    struct smb_conn *s;       /* once SMBD was seen */
    bool not_smb, midstream;
    uint8_t responder;        /* the side that answered the SMBD negotiate (1 when not seen) */
    int64_t first_ts, last_ts;
    uint64_t bytes[2], packets[2];
    uint64_t acks, writes, write_bytes, reads;
    uint64_t icrc_bad, icrc_unchecked;
    uint64_t send_packets;
};

struct roce_table {
    struct session_config cfg;
    uint32_t max_conns;
    uint32_t count;
    GQueue order;              /* every pair, oldest first */
    GQueue not_smb_lru;        /* pairs that are not SMB, least recently active first */
    GHashTable *by_key;        /* struct roce_key* (inside a pair) -> struct roce_conn* */
    GHashTable *unpaired;      /* struct roce_key* (src, dst; qp 0) -> GQueue* of pairs missing their reverse */
    uint64_t dropped, not_decoded, icrc_bad, evicted;
    uint64_t buf_bytes;        /* reassembly buffers held now (under ROCE_BUF_BUDGET) */
    uint64_t over_budget;      /* messages dropped because the budget was spent */
    GArray *tails;             /* struct roce_tail (rdma.h) */
    uint32_t tails_sends;      /* of them with pieces of SENDs (at most ROCE_TAILS_SENDS_MAX) */
    guint tails_sorted;        /* roce_table_tails_sorted() */
    uint32_t rests_live;       /* struct roce_rest buffers held (at most ROCE_RESTS_MAX) */
};

static guint key_hash(gconstpointer p)
{
    /* multiply-xorshift over the key's words, seeded and mixed with the
     * process's random odd number: chosen inputs cannot aim at one slot */
    const struct roce_key *k = p;
    uint64_t mul = distinct_process_key(), h = mul ^ k->qp;
    uint64_t w[5];
    memcpy(w, k->src.bytes, 16);
    memcpy(w + 2, k->dst.bytes, 16);
    w[4] = (uint64_t)k->src.family << 8 | k->dst.family;
    for (int i = 0; i < 5; i++) {
        h = (h ^ w[i]) * mul;
        h ^= h >> 29;
    }
    h *= 0x9E3779B97F4A7C15ull;
    return (guint)(h >> 32);
}

static gboolean key_equal(gconstpointer a, gconstpointer b) { return memcmp(a, b, sizeof(struct roce_key)) == 0; }

static void key_set(struct roce_key *k, const struct ip_addr *src, const struct ip_addr *dst, uint32_t qp)
{
    memset(k, 0, sizeof *k);
    k->src.family = src->family;
    memcpy(k->src.bytes, src->bytes, sizeof k->src.bytes);
    k->dst.family = dst->family;
    memcpy(k->dst.bytes, dst->bytes, sizeof k->dst.bytes);
    k->qp = qp;
}

/* The queues' links are inside the pairs: only the queue itself is freed. */
static void queue_free(gpointer q) { g_free(q); }

struct roce_table *roce_table_new(const struct session_config *cfg, uint32_t max_conns)
{
    struct roce_table *t = g_new0(struct roce_table, 1);
    t->cfg = *cfg;
    t->max_conns = max_conns ? max_conns : 4096;
    g_queue_init(&t->order);
    g_queue_init(&t->not_smb_lru);
    t->by_key = g_hash_table_new(key_hash, key_equal);
    t->unpaired = g_hash_table_new_full(key_hash, key_equal, g_free, queue_free);
    t->tails = g_array_new(FALSE, TRUE, sizeof(struct roce_tail));
    return t;
}

uint64_t roce_table_dropped(const struct roce_table *t) { return t->dropped; }
GArray *roce_table_tails(struct roce_table *t) { return t->tails; }
guint *roce_table_tails_sorted(struct roce_table *t) { return &t->tails_sorted; }
uint64_t roce_table_evicted(const struct roce_table *t) { return t->evicted; }
uint64_t roce_table_over_budget(const struct roce_table *t) { return t->over_budget; }
void roce_table_fold_over_budget(struct roce_table *t, uint64_t over_budget) { t->over_budget += over_budget; }
uint64_t roce_table_not_decoded(const struct roce_table *t) { return t->not_decoded; }
uint64_t roce_table_icrc_bad(const struct roce_table *t) { return t->icrc_bad; }

void roce_table_fold_counts(struct roce_table *t, uint64_t dropped, uint64_t not_decoded, uint64_t icrc_bad)
{
    t->dropped += dropped;
    t->not_decoded += not_decoded;
    t->icrc_bad += icrc_bad;
}

static void conn_free(struct roce_table *t, struct roce_conn *c);
static void rest_release(struct roce_table *t, struct roce_rest *r, uint8_t state);

/* A pair leaves its addresses' queue of pairs missing their reverse. */
static void unpaired_remove(struct roce_table *t, struct roce_conn *c)
{
    struct roce_key k;
    key_set(&k, &c->addr[0], &c->addr[1], 0);
    GQueue *q = g_hash_table_lookup(t->unpaired, &k);
    if (!q)
        return;
    g_queue_unlink(q, &c->unpaired_link);
    if (!q->length)
        g_hash_table_remove(t->unpaired, &k);
}

/* Make room for a new pair: the least recently active pair that is not
 * SMB goes (nothing of it is reported).  False when none can. */
static bool evict_one(struct roce_table *t)
{
    GList *l = g_queue_pop_head_link(&t->not_smb_lru);
    if (!l)
        return false;
    struct roce_conn *c = l->data;
    for (int d = 0; d < 2; d++)
        if (c->qp_known[!d])
            g_hash_table_remove(t->by_key, &c->key[d]);
    if (!c->qp_known[0])
        unpaired_remove(t, c);
    g_queue_unlink(&t->order, &c->order_link);
    t->count--;
    t->evicted++;
    conn_free(t, c);
    return true;
}

/* The pair missing its reverse (queue q: from the packet's receiver to its
 * sender, oldest first) the packet joins, as roce_join_pick() decides (the
 * decision the Wireshark plugin makes too, dissector/rdma/roce_pair.h):
 * among the ROCE_JOIN_SCAN_MAX oldest and as many newest; NULL: none, the
 * packet makes a pair. */
static struct roce_conn *join_pick(GQueue *q, const struct roce_bth *b)
{
    struct roce_conn *conns[ROCE_JOIN_CANDIDATES_MAX];
    const struct roce_psns *psns[ROCE_JOIN_CANDIDATES_MAX];
    size_t n = 0, old = q->length < ROCE_JOIN_SCAN_MAX ? q->length : ROCE_JOIN_SCAN_MAX;
    size_t young = q->length - old < ROCE_JOIN_SCAN_MAX ? q->length - old : ROCE_JOIN_SCAN_MAX;
    for (GList *l = q->head; n < old; l = l->next)
        conns[n++] = l->data;
    GList *l = q->tail;
    for (size_t i = 1; i < young; i++)
        l = l->prev;
    for (; n < old + young; l = l->next)
        conns[n++] = l->data;
    for (size_t i = 0; i < n; i++)
        psns[i] = &conns[i]->psn0;
    struct roce_pair_pkt p;
    roce_pair_pkt_from_bth(&p, b);
    int i = roce_join_pick(psns, n, &p);
    return i < 0 ? NULL : conns[i];
}

/* The pair and direction (side of the sender) of a packet; NULL when the
 * table is full, or (create false) when no pair knows its destination QP. */
static struct roce_conn *find(struct roce_table *t, const struct packet *pkt, const struct roce_bth *b, bool create,
                              int *dir)
{
    uint32_t destqp = b->destqp;
    struct roce_key k;
    key_set(&k, &pkt->src, &pkt->dst, destqp);
    gpointer stored, value;
    struct roce_conn *c;
    if (g_hash_table_lookup_extended(t->by_key, &k, &stored, &value)) {
        c = value;
        *dir = stored == (gpointer)&c->key[1]; /* the stored key is one of the pair's two */
        return c;
    }
    if (!create)
        return NULL;
    key_set(&k, &pkt->dst, &pkt->src, 0); /* the reverse direction of a pair from dst to src */
    GQueue *q = g_hash_table_lookup(t->unpaired, &k);
    if (q && (c = join_pick(q, b))) {
        unpaired_remove(t, c);
        c->qp_known[0] = true;
        c->qp[0] = destqp;
        c->sport1 = pkt->sport; /* its first packet: the one that joins it */
        key_set(&c->key[1], &c->addr[1], &c->addr[0], destqp);
        g_hash_table_insert(t->by_key, &c->key[1], c);
        *dir = 1;
        return c;
    }
    if (t->count >= t->max_conns && !evict_one(t))
        return NULL;
    c = g_new0(struct roce_conn, 1);
    c->addr[0] = pkt->src;
    c->addr[1] = pkt->dst;
    c->port[0] = pkt->sport;
    c->port[1] = ROCEV2_UDP_PORT;
    c->qp_known[1] = true;
    c->qp[1] = destqp;
    c->first_ts = pkt->ts_us;
    for (int d = 0; d < 2; d++)
        roce_msg_rx_init(&c->rx[d], NULL, 0);
    c->order_link.data = c->lru_link.data = c->unpaired_link.data = c;
    key_set(&c->key[0], &c->addr[0], &c->addr[1], destqp);
    g_hash_table_insert(t->by_key, &c->key[0], c);
    key_set(&k, &c->addr[0], &c->addr[1], 0);
    q = g_hash_table_lookup(t->unpaired, &k);
    if (!q) {
        q = g_new0(GQueue, 1);
        g_hash_table_insert(t->unpaired, g_memdup2(&k, sizeof k), q);
    }
    g_queue_push_tail_link(q, &c->unpaired_link);
    g_queue_push_tail_link(&t->order, &c->order_link);
    t->count++;
    *dir = 0;
    return c;
}

/* Whether the first message of a pair makes it an SMB Direct connection:
 * the SMBD negotiate request (its sender the client), or, the capture
 * having begun later, the negotiate response (its peer the client) or a
 * data transfer message with data (MS-SMBD carries only SMB2: also the
 * piece of a message whose start the capture did not see).  A data
 * transfer message without data (a keep-alive or a credit grant, what an
 * idle SMB Direct connection sends: its 20-byte header, padded by some
 * writers, mostly zero, which other protocols' SENDs may look like too)
 * decides nothing: the next message does, however many come first (review:
 * the first such message made the pair not SMB for its life, a PASS with
 * SMB2 on it; a bound would do the same after it).  Undecided pairs are not
 * evicted: past the table's pairs the packets are untracked, an unknown. */

static void maybe_smb(struct roce_table *t, struct roce_conn *c, int dir, const uint8_t *msg, size_t len)
{
    struct smbd_negotiate_request req;
    struct smbd_negotiate_response resp;
    struct smbd_data data;
    int client = -1;
    bool is_data = smbd_parse_data(msg, len, &data) == SMBD_OK;
    if (smbd_parse_negotiate_request(msg, len, &req) == SMBD_OK && len == SMBD_NEGOTIATE_REQUEST_LEN) {
        /* its sender the client, also when the pair's first packet was the
         * peer's (an ACK: the pair is named from its first sender; was: not
         * SMB, and a part before of that ACK alone made the run over both
         * parts lose the connection) */
        c->midstream = false;
        client = dir;
    } else if (!is_data && len == SMBD_NEGOTIATE_RESPONSE_LEN &&
               smbd_parse_negotiate_response(msg, len, &resp) == SMBD_OK && resp.negotiated_version == SMBD_VERSION_1) {
        c->midstream = true; /* the request preceded the capture */
        client = !dir;
    } else if (is_data && data.data_length) {
        c->midstream = true; /* the negotiate preceded the capture */
    } else if (is_data && len < SMBD_DATA_HEADER_LEN + 8 && !data.remaining_length) {
        return;
    } else {
        c->not_smb = true; /* from now on the first to go when the table is full */
        g_queue_push_tail_link(&t->not_smb_lru, &c->lru_link);
        for (int d = 0; d < 2; d++)
            rest_release(t, &c->rest[d], REST_OVER);
        return;
    }
    c->responder = client == 1 ? 0 : 1;
    c->s = smb_conn_new_endpoints(&t->cfg, c->addr, c->port, client, c->midstream);
    c->s->obs.carrier = CARRIER_RDMA_ROCE;
    c->s->smbd = g_new0(struct smb_direct_info, 1);
    for (int d = 0; d < 2; d++)
        smbd_reasm_init(&c->reasm[d], NULL, 0); /* a buffer once a message comes in pieces */
}

static void rx_release(struct roce_table *t, struct roce_msg_rx *rx)
{
    t->buf_bytes -= rx->cap;
    g_free(rx->buf);
    rx->buf = NULL;
    rx->cap = 0;
}

static void reasm_release(struct roce_table *t, struct smbd_reasm *r)
{
    if (r->buf != discard_buf) {
        t->buf_bytes -= r->cap;
        g_free(r->buf);
    }
    r->buf = NULL;
    r->cap = 0;
}

/* Room in the SEND buffer for this packet of a message of several packets,
 * grown on demand up to ROCE_SEND_BUF; what roce_msg_add() will refuse as
 * oversize or out of order is left to it.  Past the budget the buffer is
 * not grown: roce_msg_add() drops the message (oversize), counted here. */
static void rx_reserve(struct roce_table *t, struct roce_msg_rx *rx, const struct roce_bth *b)
{
    if (b->part != ROCE_SEND_FIRST && b->part != ROCE_SEND_MIDDLE && b->part != ROCE_SEND_LAST)
        return;
    if (b->part != ROCE_SEND_FIRST && !rx->active)
        return;
    size_t need = (b->part == ROCE_SEND_FIRST ? 0 : rx->len) + b->payload_len;
    if (need <= rx->cap || need > ROCE_SEND_BUF)
        return;
    size_t cap = rx->cap ? rx->cap : ROCE_SEND_BUF_FIRST;
    while (cap < need)
        cap *= 2;
    if (cap > ROCE_SEND_BUF)
        cap = ROCE_SEND_BUF;
    if (t->buf_bytes - rx->cap + cap > ROCE_BUF_BUDGET) {
        t->over_budget++; /* the buffer as it is (cap >= len) cannot take the packet: dropped, then released */
        return;
    }
    rx->buf = g_realloc(rx->buf, cap);
    t->buf_bytes += cap - rx->cap;
    rx->cap = cap;
}

/* An SMBD data message that starts an SMB2 message in several pieces gets
 * its --pdu-cap buffer here, under the budget (rdma_smbd_message() would
 * take one otherwise); past it the message is discarded. */
static void reasm_reserve(struct roce_table *t, struct roce_conn *c, int dir, const uint8_t *msg, size_t len)
{
    struct smbd_reasm *r = &c->reasm[dir];
    struct smbd_data data;
    if (r->buf || smbd_parse_data(msg, len, &data) != SMBD_OK || !data.remaining_length)
        return;
    if (t->buf_bytes + c->s->pdu_cap > ROCE_BUF_BUDGET) {
        t->over_budget++;
        r->buf = discard_buf;
        r->cap = 0;
        return;
    }
    r->buf = g_malloc(c->s->pdu_cap);
    r->cap = c->s->pdu_cap;
    t->buf_bytes += r->cap;
}

static void rest_release(struct roce_table *t, struct roce_rest *r, uint8_t state)
{
    t->rests_live -= r->buf != NULL;
    t->buf_bytes -= r->len;
    g_free(r->buf);
    r->buf = NULL;
    r->len = 0;
    r->state = state;
}

/* A SEND packet of direction dir before the direction's first message
 * start (rest: see struct roce_rest): the Middle and Last packets that
 * open it, in PSN order, are the rest of a SEND another part began. */
static void rest_packet(struct roce_table *t, struct roce_rest *r, const struct roce_bth *b)
{
    if (r->state != REST_COLLECTING)
        return;
    if (b->part != ROCE_SEND_MIDDLE && b->part != ROCE_SEND_LAST) { /* a start: no rest (or it was whole) */
        r->lost |= r->buf != NULL; /* the middle of a SEND that never ended */
        rest_release(t, r, REST_OVER);
        return;
    }
    if (r->buf && ((r->next_psn - b->psn) & 0xFFFFFFu) && ((r->next_psn - b->psn) & 0xFFFFFFu) < 0x800000u)
        return; /* behind: a retransmission (roce_msg_add() ignores it likewise) */
    if ((r->buf && b->psn != r->next_psn) || r->len + b->payload_len > RDMA_KEEP_MAX || !b->payload_len ||
        t->buf_bytes + b->payload_len > ROCE_BUF_BUDGET || (!r->buf && t->rests_live >= ROCE_RESTS_MAX)) {
        r->lost = true;
        rest_release(t, r, REST_OVER); /* a loss, or past the bounds: not kept */
        return;
    }
    if (!r->buf) {
        r->first_psn = b->psn;
        t->rests_live++;
    }
    r->buf = g_realloc(r->buf, r->len + b->payload_len);
    memcpy(r->buf + r->len, b->payload, b->payload_len);
    r->len += b->payload_len;
    t->buf_bytes += b->payload_len;
    r->next_psn = (b->psn + 1) & 0xFFFFFFu;
    if (b->part == ROCE_SEND_LAST)
        r->state = REST_DONE;
}

static void send_packet(struct roce_table *t, struct roce_conn *c, int dir, const struct roce_bth *b, int64_t ts)
{
    if (c->not_smb) /* nothing of it is reported: no buffer, no budget spent */
        return;
    struct roce_msg_rx *rx = &c->rx[dir];
    if (!rx->active)
        rest_packet(t, &c->rest[dir], b);
    rx_reserve(t, rx, b);
    const uint8_t *msg;
    size_t len;
    if (roce_msg_add(rx, b, &msg, &len) == ROCE_RX_DONE) {
        if (!c->s && !c->not_smb)
            maybe_smb(t, c, dir, msg, len);
        if (c->s) {
            c->s->smbd->sends++;
            reasm_reserve(t, c, dir, msg, len);
            rdma_smbd_message(c->s, &c->reasm[dir], dir, dir == c->responder, c->midstream, msg, len, ts);
            if (c->reasm[dir].buf && !c->reasm[dir].active) /* the SMB2 message is complete or dropped */
                reasm_release(t, &c->reasm[dir]);
        }
    }
    if (rx->buf && !rx->active) /* the SEND message is complete or dropped */
        rx_release(t, rx);
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
    struct roce_conn *c = find(t, pkt, &b, icrc != ROCE_ICRC_BAD, &dir);
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
    if (c->not_smb && t->not_smb_lru.tail != &c->lru_link) { /* the most recently active now */
        g_queue_unlink(&t->not_smb_lru, &c->lru_link);
        g_queue_push_tail_link(&t->not_smb_lru, &c->lru_link);
    }
    c->icrc_unchecked += icrc == ROCE_ICRC_UNCHECKED;
    if (!c->qp_known[0])
        roce_psns_note(&c->psn0, b.opcode, b.psn);
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
        c->send_packets++;
        send_packet(t, c, dir, &b, pkt->ts_us);
        break;
    case ROCE_KIND_OTHER:
        break;
    }
}

static void conn_free(struct roce_table *t, struct roce_conn *c)
{
    for (int d = 0; d < 2; d++) {
        rx_release(t, &c->rx[d]);
        rest_release(t, &c->rest[d], REST_OVER);
        reasm_release(t, &c->reasm[d]);
    }
    g_free(c);
}

/* smbscope merge (rdma.h: RDMA_KEPT_SEND_*): the start of a SEND in
 * progress at the end (the PSN it expected next: send_head_msn) and the
 * rest of one the direction's first packets continued (the PSN it began
 * at: send_rest_msn; a SEND's rest carries no offset, so send_rest_mo and
 * send_rest_drops stay 0). */
static void keep_sends(struct smb_direct_info *info, const struct roce_conn *c, int d)
{
    const struct roce_msg_rx *rx = &c->rx[d];
    if (rx->active && rx->len && rx->len <= rx->cap && rx->len <= RDMA_KEEP_MAX) {
        info->smbd_kept[d][RDMA_KEPT_SEND_HEAD] = g_memdup2(rx->buf, rx->len);
        info->smbd_kept_len[d][RDMA_KEPT_SEND_HEAD] = (uint32_t)rx->len;
        info->send_head_msn[d] = rx->next_psn;
    }
    const struct roce_rest *r = &c->rest[d];
    if (r->state == REST_DONE && r->len) {
        info->smbd_kept[d][RDMA_KEPT_SEND_REST] = g_memdup2(r->buf, r->len);
        info->smbd_kept_len[d][RDMA_KEPT_SEND_REST] = (uint32_t)r->len;
        info->send_rest_msn[d] = r->first_psn;
    }
}

void roce_tail_clear(struct roce_tail *t)
{
    for (int d = 0; d < 2; d++) {
        g_free(t->rest[d]);
        g_free(t->head[d]);
        t->rest[d] = t->head[d] = NULL;
    }
}

/* Whether every SEND packet of side d is in its pieces (a rest from its
 * first packet, then at most a start in progress at the end). */
static bool sends_kept(const struct roce_conn *c, int d)
{
    const struct roce_msg_rx *rx = &c->rx[d];
    return !c->rest[d].lost && !rx->dropped && !rx->duplicates && !rx->oversize && !rx->messages &&
           (!rx->active || (rx->len && rx->len <= rx->cap && rx->len <= RDMA_KEEP_MAX));
}

/* An undecided pair at the end (rdma.h: struct roce_tail), the first
 * ROCE_TAILS_MAX of the run; with SEND packets only when its pieces hold
 * them all, and at most ROCE_TAILS_SENDS_MAX such. */
static void tail_note(struct roce_table *t, const struct roce_conn *c)
{
    if (t->tails->len >= ROCE_TAILS_MAX)
        return;
    if (c->send_packets && (t->tails_sends >= ROCE_TAILS_SENDS_MAX || !sends_kept(c, 0) || !sends_kept(c, 1)))
        return;
    t->tails_sends += c->send_packets != 0;
    struct roce_tail r;
    memset(&r, 0, sizeof r);
    for (int d = 0; d < 2; d++) {
        const struct roce_rest *rs = &c->rest[d];
        if (rs->buf && rs->len) {
            r.rest[d] = g_memdup2(rs->buf, rs->len);
            r.rest_len[d] = (uint32_t)rs->len;
            r.rest_psn[d] = rs->first_psn;
            r.rest_next[d] = rs->next_psn;
            r.rest_done[d] = rs->state == REST_DONE;
        }
        const struct roce_msg_rx *rx = &c->rx[d];
        if (rx->active) {
            r.head[d] = g_memdup2(rx->buf, rx->len);
            r.head_len[d] = (uint32_t)rx->len;
            r.head_psn[d] = rx->next_psn;
        }
    }
    for (int d = 0; d < 2; d++) {
        r.addr[d] = c->addr[d];
        r.qp[d] = c->qp_known[d] ? c->qp[d] : 0;
        r.packets[d] = c->packets[d];
        r.bytes[d] = c->bytes[d];
    }
    r.port0 = c->port[0];
    r.first_ts = c->first_ts;
    r.last_ts = c->last_ts;
    r.acks = c->acks;
    r.writes = c->writes;
    r.write_bytes = c->write_bytes;
    r.reads = c->reads;
    r.icrc_bad = c->icrc_bad;
    r.icrc_unchecked = c->icrc_unchecked;
    g_array_append_val(t->tails, r);
}

static void table_clear(struct roce_table *t)
{
    g_hash_table_remove_all(t->by_key);
    g_hash_table_remove_all(t->unpaired);
    g_queue_init(&t->not_smb_lru);
    g_queue_init(&t->order);
    t->count = 0;
}

/* The ports of a closed connection s of pair c: every RoCEv2 packet goes
 * to UDP 4791, so that is the server's port, and the client's is its UDP
 * source port (0: the capture saw none of its packets).  The pair named
 * them from its first sender (side 0: its source port, side 1: 4791) before
 * the session knew its client; when the client is side 1 they are named
 * again, and the transport judged again (its server port: not an
 * alternative port, which a capture whose first packet of the pair was the
 * server's ACK reported, and which the run over an earlier part of that
 * ACK and a later part did not). */
static void name_ports(struct smb_conn *s, const struct roce_conn *c)
{
    if (s->client != 1)
        return;
    s->port[0] = ROCEV2_UDP_PORT;
    s->port[1] = c->sport1;
    s->obs.server_port = ROCEV2_UDP_PORT;
    s->verdict = transport_classify(&s->obs);
}

void roce_table_finish(struct roce_table *t, smb_conn_closed_fn closed, void *ctx)
{
    for (GList *l = t->order.head, *next; l; l = next) {
        next = l->next;
        struct roce_conn *c = l->data;
        struct smb_conn *s = c->s;
        if (!s && !c->not_smb)
            tail_note(t, c);
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
                rdma_keep_head(s, info, d, &c->reasm[d]); /* smbscope merge: a message the capture's end divided */
                keep_sends(info, c, d);
                info->qpn[d] = c->qp[d];
                info->psn_dropped += c->rx[d].dropped;
                info->psn_duplicates += c->rx[d].duplicates;
                info->send_dropped += c->rx[d].oversize;
            }
            if (smb_conn_close_endpoints(s, c->first_ts, c->last_ts, c->bytes, c->packets, "end of capture")) {
                name_ports(s, c);
                closed(ctx, s);
            } else {
                smb_conn_free(s);
            }
        }
        conn_free(t, c);
    }
    table_clear(t);
}

void roce_table_free(struct roce_table *t)
{
    if (!t)
        return;
    for (GList *l = t->order.head, *next; l; l = next) {
        next = l->next;
        struct roce_conn *c = l->data;
        smb_conn_free(c->s);
        conn_free(t, c);
    }
    g_hash_table_destroy(t->by_key);
    g_hash_table_destroy(t->unpaired);
    for (guint i = 0; i < t->tails->len; i++)
        roce_tail_clear(&g_array_index(t->tails, struct roce_tail, i));
    g_array_free(t->tails, TRUE);
    g_free(t);
}
