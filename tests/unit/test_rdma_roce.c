/* SMB Direct over RoCEv2: BTH, ICRC, SEND reassembly by PSN and SMBD, against
 * tshark's dissection of samples/rdma-roce-4791.pcap (vectors:
 * rdma_vectors/cut_rdma_vectors.py). */
#include <string.h>

#include <glib.h>

#include "rdma_test_util.h"
#include "roce.h"
#include "smbd.h"
#include "wire.h"

struct pkt {
    const uint8_t *ip;
    size_t iplen;
    const uint8_t *udp_payload;
    size_t udp_len;
    int from_server;
};

/* The IPv4 packets of the capture, in order. */
static GArray *load_packets(GBytes **keep)
{
    *keep = rdma_vector("rdma-roce-4791.ip");
    gsize n;
    const uint8_t *p = g_bytes_get_data(*keep, &n);
    GArray *a = g_array_new(FALSE, TRUE, sizeof(struct pkt));
    struct wire w = wire_make(p, n);
    while (wire_left(&w)) {
        uint32_t len = wire_u32be(&w);
        struct pkt k = { 0 };
        k.ip = wire_bytes(&w, len);
        g_assert_nonnull(k.ip);
        k.iplen = len;
        size_t ihl = (size_t)(k.ip[0] & 0x0F) * 4;
        g_assert_cmpuint(k.ip[9], ==, 17);
        k.udp_payload = k.ip + ihl + 8;
        k.udp_len = len - ihl - 8;
        k.from_server = k.ip[19] == 2; /* sent to 10.213.0.2, the client */
        g_array_append_val(a, k);
    }
    return a;
}

static void test_bth_and_icrc(void)
{
    GBytes *keep;
    GArray *pk = load_packets(&keep);
    struct tsv *t = tsv_load("rdma-roce-4791.tsv");
    g_assert_cmpuint(pk->len, ==, t->rows->len);
    for (guint i = 0; i < pk->len; i++) {
        struct pkt *k = &g_array_index(pk, struct pkt, i);
        g_assert_true(roce_icrc_ok(k->ip, k->iplen));
        g_assert_cmpint(roce_icrc_check(k->ip, k->iplen), ==, ROCE_ICRC_GOOD);
        struct roce_bth b;
        g_assert_true(roce_parse(k->udp_payload, k->udp_len, &b));
        /* the ICRC as sent: tshark shows it (infiniband.invariant.crc) without
         * checking it, read as a big-endian number; b.icrc reads it as the CRC
         * register (least significant octet first, as scapy and Linux rxe) */
        g_assert_cmphex(GUINT32_SWAP_LE_BE(b.icrc), ==, tsv_num(t, i, "infiniband.invariant.crc"));
        g_assert_cmpuint(b.opcode, ==, tsv_num(t, i, "infiniband.bth.opcode"));
        g_assert_cmpint(b.se, ==, tsv_num(t, i, "infiniband.bth.se"));
        g_assert_cmpuint(b.padcnt, ==, tsv_num(t, i, "infiniband.bth.padcnt"));
        g_assert_cmphex(b.destqp, ==, tsv_num(t, i, "infiniband.bth.destqp"));
        g_assert_cmpuint(b.psn, ==, tsv_num(t, i, "infiniband.bth.psn"));
        g_assert_cmpint(b.ackreq, ==, tsv_num(t, i, "infiniband.bth.a"));
        g_assert_cmpuint((b.payload_len + b.padcnt) % 4, ==, 0);
        /* every truncation before the end of the headers fails, none crashes */
        for (size_t n = 0; n < ROCE_BTH_LEN + ROCE_ICRC_LEN; n++) {
            struct roce_bth b2;
            g_assert_false(roce_parse(k->udp_payload, n, &b2));
        }
        for (size_t n = 0; n < k->udp_len; n++) {
            struct roce_bth b2;
            if (roce_parse(k->udp_payload, n, &b2))
                g_assert_cmpuint(b2.payload_len, <=, n);
        }
        /* one flipped bit anywhere after the masked fields breaks the ICRC */
        uint8_t *copy = g_memdup2(k->ip, k->iplen);
        copy[k->iplen - 5] ^= 0x01;
        g_assert_false(roce_icrc_ok(copy, k->iplen));
        g_assert_cmpint(roce_icrc_check(copy, k->iplen), ==, ROCE_ICRC_BAD);
        copy[k->iplen - 5] ^= 0x01;
        copy[8] ^= 0x40; /* TTL is variant: not covered */
        g_assert_true(roce_icrc_ok(copy, k->iplen));
        g_free(copy);
        for (size_t n = 0; n < k->iplen; n++) { /* a truncated packet never passes, nor counts as bad */
            g_assert_false(roce_icrc_ok(k->ip, n));
            g_assert_cmpint(roce_icrc_check(k->ip, n), ==, ROCE_ICRC_UNCHECKED);
        }
    }
    tsv_free(t);
    g_array_unref(pk);
    g_bytes_unref(keep);
}

/* Reassemble both directions, skipping packet `skip` (or none: -1) and
 * repeating packet `dup` (or none). */
static void run_pipeline(struct smbd_pipe *pipe, struct roce_msg_rx rx[2], int skip, int dup)
{
    GBytes *keep;
    GArray *pk = load_packets(&keep);
    static uint8_t buf[2][65536];
    for (int d = 0; d < 2; d++)
        roce_msg_rx_init(&rx[d], buf[d], sizeof buf[d]);
    for (guint i = 0; i < pk->len; i++) {
        if ((int)i == skip)
            continue;
        for (int rep = 0; rep < ((int)i == dup ? 2 : 1); rep++) {
            struct pkt *k = &g_array_index(pk, struct pkt, i);
            struct roce_bth b;
            g_assert_true(roce_parse(k->udp_payload, k->udp_len, &b));
            const uint8_t *m;
            size_t len;
            if (roce_msg_add(&rx[k->from_server], &b, &m, &len) == ROCE_RX_DONE)
                smbd_pipe_send(pipe, k->from_server, m, len);
        }
    }
    g_array_unref(pk);
    g_bytes_unref(keep);
}

static guint first_row_with(const struct tsv *t, guint8 opcode)
{
    for (guint i = 0; i < t->rows->len; i++)
        if (tsv_num(t, i, "infiniband.bth.opcode") == opcode)
            return i;
    g_assert_not_reached();
    return 0;
}

/* The same SMB2 messages as over iWARP, where tshark sees every one of them
 * (tshark 4.0 does not reassemble InfiniBand SEND First/Middle/Last). */
static void test_pipeline(void)
{
    struct tsv *iwarp = tsv_load("rdma-iwarp-5445.tsv");
    struct tsv *roce = tsv_load("rdma-roce-4791.tsv");
    struct smbd_pipe *pipe = g_new0(struct smbd_pipe, 1);
    struct roce_msg_rx rx[2];
    smbd_pipe_init(pipe);
    run_pipeline(pipe, rx, -1, -1);
    const char *srcs[2] = { "10.213.0.2", "10.213.0.1" };
    for (int side = 0; side < 2; side++) {
        GArray *want = tshark_smb2_cmds(iwarp, srcs[side]);
        GArray *roce_seen = tshark_smb2_cmds(roce, srcs[side]);
        g_assert_cmpuint(pipe->cmds[side]->len, ==, want->len);
        for (guint i = 0; i < want->len; i++)
            g_assert_cmpuint(g_array_index(pipe->cmds[side], guint16, i), ==, g_array_index(want, guint16, i));
        /* what tshark missed on RoCE: only the READ response (SEND First/Middle/Last) */
        g_assert_cmpuint(want->len - roce_seen->len, ==, side ? 1 : 0);
        g_array_unref(want);
        g_array_unref(roce_seen);
    }
    g_assert_cmpuint(rx[1].messages, >, 0);
    guint row = first_row_with(roce, RC_SEND_ONLY);
    g_assert_cmpuint(pipe->conn.request.preferred_send_size, ==, tsv_num(roce, row, "smb_direct.preferred_send_size"));
    g_assert_cmpuint(pipe->conn.request.max_receive_size, ==, tsv_num(roce, row, "smb_direct.max_receive_size"));
    g_assert_cmpuint(pipe->conn.response.max_receive_size, ==, tsv_num(roce, 2, "smb_direct.max_receive_size"));
    g_assert_cmpuint(pipe->conn.response.credits_granted, ==, tsv_num(roce, 2, "smb_direct.credits.granted"));
    guint n_server = pipe->cmds[1]->len;
    smbd_pipe_free(pipe);

    /* losing the SEND Middle of the READ response drops exactly that message;
     * a retransmitted packet changes nothing */
    guint middle = first_row_with(roce, RC_SEND_MIDDLE);
    smbd_pipe_init(pipe);
    run_pipeline(pipe, rx, (int)middle, -1);
    g_assert_cmpuint(pipe->cmds[1]->len, ==, n_server - 1);
    g_assert_cmpuint(rx[1].dropped, ==, 1);
    smbd_pipe_free(pipe);
    smbd_pipe_init(pipe);
    run_pipeline(pipe, rx, -1, (int)middle);
    g_assert_cmpuint(pipe->cmds[1]->len, ==, n_server);
    g_assert_cmpuint(rx[1].duplicates, ==, 1);
    smbd_pipe_free(pipe);
    g_free(pipe);
    tsv_free(iwarp);
    tsv_free(roce);
}

static void test_opcodes(void)
{
    g_assert_cmpstr(roce_opcode_name(RC_SEND_ONLY_INVAL), ==, "RC SEND Only with Invalidate");
    g_assert_cmpstr(roce_opcode_name(0x15), ==, "unknown");
    uint8_t p[ROCE_BTH_LEN + 4 + 8 + ROCE_ICRC_LEN] = { RC_SEND_ONLY_INVAL, 0x80, 0xff, 0xff, 0, 0, 0, 0x22,
                                                         0x80, 0, 0, 1, 0x12, 0x34, 0x56, 0x78 };
    struct roce_bth b;
    g_assert_true(roce_parse(p, sizeof p, &b));
    g_assert_true(b.has_ieth && b.se);
    g_assert_cmphex(b.inval_rkey, ==, 0x12345678);
    g_assert_cmpuint(b.payload_len, ==, 8);
    g_assert_cmpint(b.part, ==, ROCE_SEND_ONLY);
    for (size_t n = 0; n < ROCE_BTH_LEN + 4 + ROCE_ICRC_LEN; n++)
        g_assert_false(roce_parse(p, n, &b));
    p[0] = 0x15; /* reserved opcode: not decoded */
    g_assert_false(roce_parse(p, sizeof p, &b));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rdma/roce/bth-icrc", test_bth_and_icrc);
    g_test_add_func("/rdma/roce/pipeline", test_pipeline);
    g_test_add_func("/rdma/roce/opcodes", test_opcodes);
    return g_test_run();
}
