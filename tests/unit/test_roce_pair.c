/* The RoCEv2 pairing decision (dissector/rdma/roce_pair.c) that the
 * command's table and the Wireshark plugin share: the PSN evidence, the
 * pick among waiting pairs, and the packet read from a BTH (against
 * tshark's dissection of samples/rdma-roce-4791.pcap: rdma_vectors). */
#include <string.h>

#include <glib.h>

#include "rdma_test_util.h"
#include "roce.h"
#include "roce_pair.h"
#include "wire.h"

enum { ACK = 0x11, SEND_ONLY = 0x04, READ_RESPONSE_ONLY = 0x10, UD_SEND_ONLY = 0x64, CNP = 0x81 };

static struct roce_pair_pkt pkt(uint8_t opcode, uint32_t psn, bool negotiate)
{
    struct roce_pair_pkt p = { opcode, psn, negotiate };
    return p;
}

static enum roce_join_evidence says(const struct roce_psns *e, uint8_t opcode, uint32_t psn)
{
    struct roce_pair_pkt p = pkt(opcode, psn, false);
    return roce_join_evidence(e, &p);
}

/* A waiting direction's requests, and the ACKs of its reverse. */
static void test_requests(void)
{
    struct roce_psns e;
    memset(&e, 0, sizeof e);
    g_assert_cmpint(says(&e, ACK, 5), ==, ROCE_JOIN_NEUTRAL); /* nothing to compare with */
    roce_psns_note(&e, SEND_ONLY, 100);
    roce_psns_note(&e, 0x0A, 105); /* an RDMA Write Only: a request too */
    roce_psns_note(&e, UD_SEND_ONLY, 0x700000); /* no RC packet of the pair: ignored */
    roce_psns_note(&e, CNP, 0x700000);
    g_assert_true(e.req && !e.resp);
    g_assert_cmphex(e.req_first, ==, 100);
    g_assert_cmphex(e.req_last, ==, 105);
    g_assert_cmpint(says(&e, ACK, 103), ==, ROCE_JOIN_FOR);
    g_assert_cmpint(says(&e, READ_RESPONSE_ONLY, 100), ==, ROCE_JOIN_FOR);
    /* within 65,536 of the range: requests in flight the capture missed */
    g_assert_cmpint(says(&e, ACK, 105 + 0x10000), ==, ROCE_JOIN_NEUTRAL);
    g_assert_cmpint(says(&e, ACK, 105 + 0x10001), ==, ROCE_JOIN_AGAINST);
    g_assert_cmpint(says(&e, ACK, (100 - 0x10000) & 0xFFFFFF), ==, ROCE_JOIN_NEUTRAL);
    g_assert_cmpint(says(&e, ACK, (100 - 0x10001) & 0xFFFFFF), ==, ROCE_JOIN_AGAINST);
    /* a request of the reverse says nothing while it acknowledged nothing */
    g_assert_cmpint(says(&e, SEND_ONLY, 0x123456), ==, ROCE_JOIN_NEUTRAL);
    g_assert_cmpint(says(&e, UD_SEND_ONLY, 0x123456), ==, ROCE_JOIN_NEUTRAL);

    /* the range widens the nearer way, across the 24-bit wrap too */
    roce_psns_note(&e, SEND_ONLY, 50);
    g_assert_cmphex(e.req_first, ==, 50);
    g_assert_cmpint(says(&e, ACK, 60), ==, ROCE_JOIN_FOR);
    memset(&e, 0, sizeof e);
    roce_psns_note(&e, SEND_ONLY, 0xFFFFFE);
    roce_psns_note(&e, SEND_ONLY, 0xFFFFFF);
    roce_psns_note(&e, SEND_ONLY, 1);
    g_assert_cmphex(e.req_first, ==, 0xFFFFFE);
    g_assert_cmphex(e.req_last, ==, 1);
    g_assert_cmpint(says(&e, ACK, 0), ==, ROCE_JOIN_FOR);
    g_assert_cmpint(says(&e, ACK, 2), ==, ROCE_JOIN_NEUTRAL);
}

/* A waiting direction's ACKs, and the requests of its reverse. */
static void test_responses(void)
{
    struct roce_psns e;
    memset(&e, 0, sizeof e);
    roce_psns_note(&e, ACK, 0x10);
    roce_psns_note(&e, ACK, 0x20);
    g_assert_true(e.resp && !e.req);
    g_assert_cmphex(e.resp_last, ==, 0x20);
    g_assert_cmpint(says(&e, SEND_ONLY, 0x21), ==, ROCE_JOIN_FOR);
    g_assert_cmpint(says(&e, SEND_ONLY, 0x20 + 0x10000), ==, ROCE_JOIN_FOR);
    g_assert_cmpint(says(&e, SEND_ONLY, 0x20 + 0x10001), ==, ROCE_JOIN_AGAINST);
    g_assert_cmpint(says(&e, SEND_ONLY, (0x20 - 0x10000) & 0xFFFFFF), ==, ROCE_JOIN_FOR);
    g_assert_cmpint(says(&e, SEND_ONLY, (0x20 - 0x10001) & 0xFFFFFF), ==, ROCE_JOIN_AGAINST);
    /* an ACK of the reverse: this direction made no request to answer */
    g_assert_cmpint(says(&e, ACK, 0x55), ==, ROCE_JOIN_NEUTRAL);
}

/* An SMBD negotiate request opens a connection: its peer sent at most the
 * ACK of it (same PSN: a retransmission keeps it). */
static void test_negotiate(void)
{
    struct roce_psns e;
    memset(&e, 0, sizeof e);
    struct roce_pair_pkt neg = pkt(SEND_ONLY, 0x300, true);
    g_assert_cmpint(roce_join_evidence(&e, &neg), ==, ROCE_JOIN_NEUTRAL);
    roce_psns_note(&e, ACK, 0x300);
    g_assert_cmpint(roce_join_evidence(&e, &neg), ==, ROCE_JOIN_FOR);
    struct roce_pair_pkt near = pkt(SEND_ONLY, 0x301, true); /* near, but not the ACK of it */
    g_assert_cmpint(roce_join_evidence(&e, &near), ==, ROCE_JOIN_AGAINST);
    struct roce_pair_pkt plain = pkt(SEND_ONLY, 0x301, false);
    g_assert_cmpint(roce_join_evidence(&e, &plain), ==, ROCE_JOIN_FOR);
    roce_psns_note(&e, SEND_ONLY, 0x9000); /* the peer sent a request: not a new connection's */
    g_assert_cmpint(roce_join_evidence(&e, &neg), ==, ROCE_JOIN_AGAINST);
}

/* The first candidate the PSNs are for, else the first neutral one, never
 * one against; 32 looked at (the callers' 16 oldest and 16 newest). */
static void test_pick(void)
{
    struct roce_psns against, neutral, for_;
    memset(&against, 0, sizeof against);
    memset(&neutral, 0, sizeof neutral);
    memset(&for_, 0, sizeof for_);
    roce_psns_note(&against, SEND_ONLY, 0x800000);
    roce_psns_note(&for_, SEND_ONLY, 7);
    struct roce_pair_pkt ack = pkt(ACK, 7, false);
    const struct roce_psns *c[ROCE_JOIN_CANDIDATES_MAX + 4];
    g_assert_cmpint(roce_join_pick(c, 0, &ack), ==, -1);
    c[0] = &against;
    g_assert_cmpint(roce_join_pick(c, 1, &ack), ==, -1);
    c[1] = &neutral;
    c[2] = &neutral;
    g_assert_cmpint(roce_join_pick(c, 3, &ack), ==, 1);
    c[2] = &for_;
    g_assert_cmpint(roce_join_pick(c, 3, &ack), ==, 2);
    size_t all = ROCE_JOIN_CANDIDATES_MAX + 4;
    for (size_t i = 0; i < all; i++)
        c[i] = &against;
    c[ROCE_JOIN_CANDIDATES_MAX - 1] = &for_;
    g_assert_cmpint(roce_join_pick(c, all, &ack), ==, ROCE_JOIN_CANDIDATES_MAX - 1);
    c[ROCE_JOIN_CANDIDATES_MAX - 1] = &against;
    c[ROCE_JOIN_CANDIDATES_MAX] = &for_; /* past the candidates: not looked at */
    g_assert_cmpint(roce_join_pick(c, all, &ack), ==, -1);
}

/* The packet read from each BTH of the sample: opcode and PSN as tshark
 * shows them; a negotiate request exactly where tshark dissects an SMBD
 * negotiate request (versions offered, none negotiated). */
static void test_from_bth(void)
{
    GBytes *keep = rdma_vector("rdma-roce-4791.ip");
    struct tsv *t = tsv_load("rdma-roce-4791.tsv");
    gsize n;
    const uint8_t *data = g_bytes_get_data(keep, &n);
    struct wire w = wire_make(data, n);
    guint row = 0, negotiates = 0;
    while (wire_left(&w)) {
        uint32_t len = wire_u32be(&w);
        const uint8_t *ip = wire_bytes(&w, len);
        g_assert_nonnull(ip);
        size_t ihl = (size_t)(ip[0] & 0x0F) * 4;
        struct roce_bth b;
        g_assert_true(roce_parse(ip + ihl + 8, len - ihl - 8, &b));
        struct roce_pair_pkt p;
        roce_pair_pkt_from_bth(&p, &b);
        g_assert_cmpint(p.opcode, ==, tsv_num(t, row, "infiniband.bth.opcode"));
        g_assert_cmpint(p.psn, ==, tsv_num(t, row, "infiniband.bth.psn"));
        bool tshark_neg = *tsv_field(t, row, "smb_direct.version.min") && !*tsv_field(t, row, "smb_direct.version.negotiated");
        g_assert_cmpint(p.negotiate, ==, tshark_neg);
        negotiates += p.negotiate;
        row++;
    }
    g_assert_cmpuint(row, ==, t->rows->len);
    g_assert_cmpuint(negotiates, ==, 1);
    /* 20 octets of a SEND Only that are no SMBD negotiate request */
    uint8_t bth[ROCE_BTH_LEN + 20 + ROCE_ICRC_LEN];
    memset(bth, 0, sizeof bth);
    bth[0] = SEND_ONLY;
    bth[11] = 9;
    struct roce_bth b;
    g_assert_true(roce_parse(bth, sizeof bth, &b));
    struct roce_pair_pkt p;
    roce_pair_pkt_from_bth(&p, &b);
    g_assert_false(p.negotiate);
    g_assert_cmpuint(p.psn, ==, 9);
    tsv_free(t);
    g_bytes_unref(keep);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rdma/roce-pair/requests", test_requests);
    g_test_add_func("/rdma/roce-pair/responses", test_responses);
    g_test_add_func("/rdma/roce-pair/negotiate", test_negotiate);
    g_test_add_func("/rdma/roce-pair/pick", test_pick);
    g_test_add_func("/rdma/roce-pair/from-bth", test_from_bth);
    return g_test_run();
}
