/* SMB Direct over iWARP: CRC32c, MPA request/reply and FPDU streams, DDP/RDMAP,
 * SMBD, against tshark's dissection of samples/rdma-iwarp-*.pcap
 * (vectors: rdma_vectors/cut_rdma_vectors.py). */
#include <string.h>

#include <glib.h>

#include "crc.h"
#include "ddp.h"
#include "mpa.h"
#include "rdma_test_util.h"
#include "smbd.h"

struct capture {
    const char *name;       /* vector base name */
    guint client_port, server_port;
    bool markers;
};
static const struct capture captures[] = {
    { "rdma-iwarp-5445", 49712, 5445, false },
    { "rdma-iwarp-markers-15445", 49713, 15445, true },
};

static GBytes *stream_of(const struct capture *c, guint sport)
{
    g_autofree char *name = g_strdup_printf("%s-%u.stream", c->name, sport);
    return rdma_vector(name);
}

static void test_crc_vectors(void)
{
    const uint8_t digits[] = "123456789";
    g_assert_cmphex(crc32c(digits, 9), ==, 0xE3069283u); /* RFC 3720 B.4 check value */
    g_assert_cmphex(crc32_ieee_update(CRC32_INIT, digits, 9) ^ CRC32_INIT, ==, 0xCBF43926u);
    /* incremental equals one-shot */
    uint32_t r = crc32c_update(CRC32_INIT, digits, 4);
    g_assert_cmphex(crc32c_update(r, digits + 4, 5) ^ CRC32_INIT, ==, 0xE3069283u);
    g_assert_cmphex(crc32c_update_table(CRC32_INIT, digits, 9) ^ CRC32_INIT, ==, 0xE3069283u);
}

/* The instruction path (where the CPU has it) equals the table on every
 * length 0..300, every start alignment and running registers; it must
 * also have been taken on this x86-64 machine, or the test says so. */
static void test_crc_hw_equal(void)
{
    uint8_t buf[320];
    GRand *r = g_rand_new_with_seed(4404);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)g_rand_int(r);
    for (size_t start = 0; start < 8; start++)
        for (size_t n = 0; n + start <= 300; n++) {
            uint32_t reg = g_rand_int(r);
            g_assert_cmphex(crc32c_update(reg, buf + start, n), ==, crc32c_update_table(reg, buf + start, n));
        }
    g_rand_free(r);
#if defined(__x86_64__)
    if (!crc32c_uses_hw())
        g_test_message("this CPU has no SSE4.2: only the table was compared");
#endif
}

/* Request (client stream) and reply (server stream) against tshark; every
 * truncation of them asks for more. */
static void test_mpa_startup(void)
{
    for (size_t ci = 0; ci < G_N_ELEMENTS(captures); ci++) {
        const struct capture *c = &captures[ci];
        g_autofree char *tsvname = g_strdup_printf("%s.tsv", c->name);
        struct tsv *t = tsv_load(tsvname);
        for (int side = 0; side < 2; side++) {
            GBytes *b = stream_of(c, side ? c->server_port : c->client_port);
            gsize n;
            const uint8_t *p = g_bytes_get_data(b, &n);
            struct mpa_startup s;
            g_assert_cmpint(mpa_parse_startup(p, n, &s), ==, MPA_OK);
            g_assert_cmpint(s.kind, ==, side ? MPA_REPLY : MPA_REQUEST);
            guint row = 3 + (guint)side; /* frames 4 and 5 */
            g_assert_cmpint(s.markers, ==, tsv_num(t, row, "iwarp_mpa.marker_flag"));
            g_assert_cmpint(s.crc, ==, tsv_num(t, row, "iwarp_mpa.crc_flag"));
            g_assert_cmpint(s.revision, ==, tsv_num(t, row, "iwarp_mpa.rev"));
            g_assert_cmpint(s.private_len, ==, tsv_num(t, row, "iwarp_mpa.pdlength"));
            g_assert_cmpuint(s.frame_len, ==, (guint64)tsv_num(t, row, "tcp.len"));
            g_assert_false(s.reject);
            for (size_t k = 0; k < s.frame_len; k++) {
                struct mpa_startup s2;
                g_assert_cmpint(mpa_parse_startup(p, k, &s2), ==, MPA_NEED_MORE);
            }
            g_bytes_unref(b);
        }
        tsv_free(t);
    }
    /* not MPA: direct-TCP SMB2 and a near-miss key */
    static const uint8_t smb2[] = { 0x00, 0x00, 0x00, 0xe4, 0xfe, 'S', 'M', 'B', 0x40, 0 };
    static const uint8_t near[] = "MPA ID Rex Frame";
    enum mpa_frame_kind k;
    g_assert_cmpint(mpa_key_match(smb2, sizeof smb2, &k), ==, MPA_BAD);
    g_assert_cmpint(mpa_key_match(near, 16, &k), ==, MPA_BAD);
    g_assert_cmpint(mpa_key_match(near, 9, &k), ==, MPA_NEED_MORE);
    /* private data over 512 octets is not MPA */
    uint8_t big[20] = "MPA ID Req Frame";
    big[16] = 0x40, big[17] = 1, big[18] = 0x02, big[19] = 0x01;
    struct mpa_startup s;
    g_assert_cmpint(mpa_parse_startup(big, sizeof big, &s), ==, MPA_BAD);
}

/* Decode a whole direction fed in chunks of `chunk` octets. */
struct fpdu_list {
    GPtrArray *ulpdus; /* GBytes */
    struct mpa_rx rx;
    uint8_t buf[MPA_MAX_ULPDU];
};

static void decode_stream(struct fpdu_list *l, const uint8_t *p, size_t n, bool markers, size_t chunk)
{
    struct mpa_startup s;
    g_assert_cmpint(mpa_parse_startup(p, n, &s), ==, MPA_OK);
    mpa_rx_init(&l->rx, markers, true, l->buf, sizeof l->buf);
    l->ulpdus = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    for (size_t off = s.frame_len; off < n;) {
        size_t k = n - off < chunk ? n - off : chunk;
        size_t used = 0;
        while (used < k) {
            struct mpa_fpdu f;
            bool got;
            used += mpa_rx_feed(&l->rx, p + off + used, k - used, &f, &got);
            if (got) {
                g_assert_false(f.truncated);
                g_ptr_array_add(l->ulpdus, g_bytes_new(f.ulpdu, f.len));
            }
        }
        off += k;
    }
}

static void check_direction(const struct capture *c, const struct tsv *t, guint sport, size_t chunk)
{
    GBytes *b = stream_of(c, sport);
    gsize n;
    const uint8_t *p = g_bytes_get_data(b, &n);
    struct fpdu_list *l = g_new0(struct fpdu_list, 1);
    decode_stream(l, p, n, c->markers, chunk);
    guint k = 0;
    for (guint i = 0; i < t->rows->len; i++) {
        if ((guint)tsv_num(t, i, "tcp.srcport") != sport || tsv_num(t, i, "iwarp_mpa.ulpdulength") < 0)
            continue;
        g_assert_cmpuint(k, <, l->ulpdus->len);
        gsize len;
        const uint8_t *u = g_bytes_get_data(g_ptr_array_index(l->ulpdus, k), &len);
        g_assert_cmpuint(len, ==, (guint64)tsv_num(t, i, "iwarp_mpa.ulpdulength"));
        struct ddp_segment s;
        g_assert_true(ddp_parse(u, len, &s));
        g_assert_cmpint(s.tagged, ==, tsv_num(t, i, "iwarp_ddp.tagged_flag"));
        g_assert_cmpint(s.last, ==, tsv_num(t, i, "iwarp_ddp.last_flag"));
        g_assert_cmpint(s.opcode, ==, tsv_num(t, i, "iwarp_rdma.opcode"));
        if (s.tagged) {
            g_assert_cmphex(s.stag, ==, tsv_num(t, i, "iwarp_ddp.stag"));
        } else {
            g_assert_cmpuint(s.qn, ==, tsv_num(t, i, "iwarp_ddp.qn"));
            g_assert_cmpuint(s.msn, ==, tsv_num(t, i, "iwarp_ddp.msn"));
            g_assert_cmpuint(s.mo, ==, tsv_num(t, i, "iwarp_ddp.mo"));
            if (s.opcode == RDMAP_SEND_INVALIDATE || s.opcode == RDMAP_SEND_SE_INVALIDATE)
                g_assert_cmphex(s.stag, ==, tsv_num(t, i, "iwarp_rdma.inval_stag"));
        }
        k++;
    }
    g_assert_cmpuint(k, ==, l->ulpdus->len);
    g_assert_cmpuint(l->rx.fpdus, ==, k);
    g_assert_cmpuint(l->rx.crc_bad, ==, 0);
    g_assert_cmpuint(l->rx.marker_ptr_bad, ==, 0);
    g_assert_true(c->markers ? l->rx.markers_seen > 0 : l->rx.markers_seen == 0);
    g_ptr_array_unref(l->ulpdus);
    g_free(l);
    g_bytes_unref(b);
}

static void test_fpdu_streams(void)
{
    static const size_t chunks[] = { 1, 2, 3, 5, 64, 511, 512, 513, 1 << 20 };
    for (size_t ci = 0; ci < G_N_ELEMENTS(captures); ci++) {
        g_autofree char *tsvname = g_strdup_printf("%s.tsv", captures[ci].name);
        struct tsv *t = tsv_load(tsvname);
        for (size_t k = 0; k < G_N_ELEMENTS(chunks); k++) {
            check_direction(&captures[ci], t, captures[ci].client_port, chunks[k]);
            check_direction(&captures[ci], t, captures[ci].server_port, chunks[k]);
        }
        tsv_free(t);
    }
}

/* One corrupted octet: exactly that FPDU's CRC is bad, the stream goes on. */
static void test_bad_crc(void)
{
    for (size_t ci = 0; ci < G_N_ELEMENTS(captures); ci++) {
        const struct capture *c = &captures[ci];
        GBytes *b = stream_of(c, c->server_port);
        gsize n;
        const uint8_t *orig = g_bytes_get_data(b, &n);
        uint8_t *p = g_memdup2(orig, n);
        struct fpdu_list *clean = g_new0(struct fpdu_list, 1), *bad = g_new0(struct fpdu_list, 1);
        decode_stream(clean, p, n, c->markers, 1 << 20);
        struct mpa_startup s;
        g_assert_cmpint(mpa_parse_startup(p, n, &s), ==, MPA_OK);
        p[s.frame_len + 40] ^= 0x10; /* inside the SMBD negotiate response of the first FPDU */
        decode_stream(bad, p, n, c->markers, 1 << 20);
        g_assert_cmpuint(bad->rx.fpdus, ==, clean->rx.fpdus);
        g_assert_cmpuint(bad->rx.crc_bad, ==, 1);
        g_assert_cmpuint(bad->rx.marker_ptr_bad, ==, 0);
        g_ptr_array_unref(clean->ulpdus);
        g_ptr_array_unref(bad->ulpdus);
        g_free(clean);
        g_free(bad);
        g_free(p);
        g_bytes_unref(b);
    }
}

static void test_ddp_truncation(void)
{
    uint8_t seg[40] = { 0x41, 0x43 };           /* untagged, last, Send */
    struct ddp_segment s;
    for (size_t k = 0; k < DDP_UNTAGGED_HEADER; k++)
        g_assert_false(ddp_parse(seg, k, &s));
    for (size_t k = DDP_UNTAGGED_HEADER; k <= sizeof seg; k++) {
        g_assert_true(ddp_parse(seg, k, &s));
        g_assert_cmpuint(s.payload_len, ==, k - DDP_UNTAGGED_HEADER);
        g_assert_true(rdmap_is_send(s.opcode));
    }
    seg[0] = 0xC1, seg[1] = 0x40;                /* tagged, last, RDMA Write */
    for (size_t k = 0; k < DDP_TAGGED_HEADER; k++)
        g_assert_false(ddp_parse(seg, k, &s));
    g_assert_true(ddp_parse(seg, DDP_TAGGED_HEADER, &s));
    g_assert_false(rdmap_is_send(s.opcode));
    g_assert_cmpstr(rdmap_opcode_name(s.opcode), ==, "RDMA Write");
}

/* The markers sample carries the READ response in two DDP segments. */
static void test_ddp_reassembly(void)
{
    const struct capture *c = &captures[1];
    GBytes *b = stream_of(c, c->server_port);
    gsize n;
    const uint8_t *p = g_bytes_get_data(b, &n);
    struct fpdu_list *l = g_new0(struct fpdu_list, 1);
    decode_stream(l, p, n, c->markers, 1 << 20);
    static uint8_t buf[65536];
    struct ddp_msg_rx rx, skip;
    ddp_msg_rx_init(&rx, buf, sizeof buf);
    ddp_msg_rx_init(&skip, buf, sizeof buf);
    guint multi = 0, sends = 0, dropped = 0;
    for (guint i = 0; i < l->ulpdus->len; i++) {
        gsize len;
        const uint8_t *u = g_bytes_get_data(g_ptr_array_index(l->ulpdus, i), &len);
        struct ddp_segment s;
        g_assert_true(ddp_parse(u, len, &s));
        if (s.tagged || !rdmap_is_send(s.opcode))
            continue;
        const uint8_t *m;
        size_t mlen;
        if (ddp_msg_add(&rx, &s, &m, &mlen) == DDP_RX_DONE) {
            sends++;
            multi += s.mo != 0;
        }
        if (!s.last)
            continue; /* `skip` never sees a first segment: the message must be dropped */
        dropped += ddp_msg_add(&skip, &s, &m, &mlen) == DDP_RX_DROPPED;
    }
    g_assert_cmpuint(multi, ==, 1);
    g_assert_cmpuint(rx.messages, ==, sends);
    g_assert_cmpuint(dropped, ==, 1);
    g_ptr_array_unref(l->ulpdus);
    g_free(l);
    g_bytes_unref(b);
}

/* The whole pipeline: every SMB2 message tshark saw, in order, per direction;
 * SMBD negotiate fields as tshark decodes them. */
static void test_smbd_pipeline(void)
{
    for (size_t ci = 0; ci < G_N_ELEMENTS(captures); ci++) {
        const struct capture *c = &captures[ci];
        g_autofree char *tsvname = g_strdup_printf("%s.tsv", c->name);
        struct tsv *t = tsv_load(tsvname);
        struct smbd_pipe *pipe = g_new0(struct smbd_pipe, 1);
        smbd_pipe_init(pipe);
        for (int side = 0; side < 2; side++) {
            GBytes *b = stream_of(c, side ? c->server_port : c->client_port);
            gsize n;
            const uint8_t *p = g_bytes_get_data(b, &n);
            struct fpdu_list *l = g_new0(struct fpdu_list, 1);
            decode_stream(l, p, n, c->markers, 1 << 20);
            static uint8_t buf[65536];
            struct ddp_msg_rx rx;
            ddp_msg_rx_init(&rx, buf, sizeof buf);
            for (guint i = 0; i < l->ulpdus->len; i++) {
                gsize len;
                const uint8_t *u = g_bytes_get_data(g_ptr_array_index(l->ulpdus, i), &len);
                struct ddp_segment s;
                const uint8_t *m;
                size_t mlen;
                g_assert_true(ddp_parse(u, len, &s));
                if (!s.tagged && rdmap_is_send(s.opcode) && ddp_msg_add(&rx, &s, &m, &mlen) == DDP_RX_DONE)
                    smbd_pipe_send(pipe, side, m, mlen);
            }
            g_ptr_array_unref(l->ulpdus);
            g_free(l);
            g_bytes_unref(b);
        }
        const char *srcs[2] = { "10.213.0.2", "10.213.0.1" };
        for (int side = 0; side < 2; side++) {
            GArray *want = tshark_smb2_cmds(t, srcs[side]);
            g_assert_cmpuint(pipe->cmds[side]->len, ==, want->len);
            for (guint i = 0; i < want->len; i++)
                g_assert_cmpuint(g_array_index(pipe->cmds[side], guint16, i), ==, g_array_index(want, guint16, i));
            g_array_unref(want);
        }
        g_assert_cmpuint(pipe->reasm[0].fragmented, ==, 2); /* NTLMSSP AUTH and the WRITE */
        g_assert_true(pipe->conn.request_seen && pipe->conn.response_seen);
        /* frames 6 and 7: the negotiate request and response */
        g_assert_cmphex(pipe->conn.request.min_version, ==, tsv_num(t, 5, "smb_direct.version.min"));
        g_assert_cmpuint(pipe->conn.request.credits_requested, ==, tsv_num(t, 5, "smb_direct.credits.requested"));
        g_assert_cmpuint(pipe->conn.request.max_receive_size, ==, tsv_num(t, 5, "smb_direct.max_receive_size"));
        g_assert_cmpuint(pipe->conn.request.max_fragmented_size, ==,
                         tsv_num(t, 5, "smb_direct.max_fragmented_size"));
        g_assert_cmphex(pipe->conn.response.negotiated_version, ==, tsv_num(t, 6, "smb_direct.version.negotiated"));
        g_assert_cmpuint(pipe->conn.response.credits_granted, ==, tsv_num(t, 6, "smb_direct.credits.granted"));
        g_assert_cmphex(pipe->conn.response.status, ==, tsv_num(t, 6, "smb_direct.status"));
        g_assert_cmpuint(pipe->conn.response.max_read_write_size, ==,
                         tsv_num(t, 6, "smb_direct.max_read_write_size"));
        g_assert_cmpuint(pipe->conn.response.max_receive_size, ==, tsv_num(t, 6, "smb_direct.max_receive_size"));
        smbd_pipe_free(pipe);
        g_free(pipe);
        tsv_free(t);
    }
}

static void test_smbd_truncation_and_bad(void)
{
    uint8_t req[20] = { 0x00, 0x01, 0x00, 0x01, 0, 0, 0xff, 0 };
    struct smbd_negotiate_request r;
    for (size_t k = 0; k < sizeof req; k++)
        g_assert_cmpint(smbd_parse_negotiate_request(req, k, &r), ==, SMBD_SHORT);
    g_assert_cmpint(smbd_parse_negotiate_request(req, sizeof req, &r), ==, SMBD_OK);
    req[0] = 0x01, req[1] = 0x02; /* MinVersion above 0x0100 */
    g_assert_cmpint(smbd_parse_negotiate_request(req, sizeof req, &r), ==, SMBD_BAD);
    uint8_t resp[32] = { 0 };
    struct smbd_negotiate_response s;
    for (size_t k = 0; k < sizeof resp; k++)
        g_assert_cmpint(smbd_parse_negotiate_response(resp, k, &s), ==, SMBD_SHORT);
    g_assert_cmpint(smbd_parse_negotiate_response(resp, sizeof resp, &s), ==, SMBD_OK);

    /* data: 24-byte header + 8 data octets, then inconsistent RemainingDataLength */
    uint8_t d[32] = { 1, 0, 1, 0, 0, 0, 0, 0, 16, 0, 0, 0, 24, 0, 0, 0, 8, 0, 0, 0 };
    struct smbd_data data;
    for (size_t k = 0; k < SMBD_DATA_HEADER_LEN; k++)
        g_assert_cmpint(smbd_parse_data(d, k, &data), ==, SMBD_SHORT);
    for (size_t k = SMBD_DATA_HEADER_LEN; k < sizeof d; k++)
        g_assert_cmpint(smbd_parse_data(d, k, &data), ==, SMBD_BAD); /* data beyond the message */
    g_assert_cmpint(smbd_parse_data(d, sizeof d, &data), ==, SMBD_OK);
    static uint8_t buf[64];
    struct smbd_reasm re;
    smbd_reasm_init(&re, buf, sizeof buf);
    const uint8_t *m;
    size_t len;
    g_assert_cmpint(smbd_reasm_add(&re, &data, &m, &len), ==, SMBD_RX_MORE);     /* 8 of 24 */
    data.remaining_length = 4;                                                    /* should be 8 */
    g_assert_cmpint(smbd_reasm_add(&re, &data, &m, &len), ==, SMBD_RX_DROPPED);
    data.remaining_length = 0;
    g_assert_cmpint(smbd_reasm_add(&re, &data, &m, &len), ==, SMBD_RX_DONE);     /* a whole one */
    g_assert_cmpuint(len, ==, 8);
    data.remaining_length = 100; /* 108 > 64: counted as oversize, dropped at its end */
    g_assert_cmpint(smbd_reasm_add(&re, &data, &m, &len), ==, SMBD_RX_MORE);
    g_assert_cmpuint(re.oversize, ==, 1);
    data.data_offset = 8; /* DataOffset into the header */
    g_assert_cmpint(smbd_parse_data(d, sizeof d, &data), ==, SMBD_OK);
    d[12] = 8;
    g_assert_cmpint(smbd_parse_data(d, sizeof d, &data), ==, SMBD_BAD);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rdma/crc", test_crc_vectors);
    g_test_add_func("/rdma/crc-hw-equal", test_crc_hw_equal);
    g_test_add_func("/rdma/mpa/startup", test_mpa_startup);
    g_test_add_func("/rdma/mpa/fpdu-streams", test_fpdu_streams);
    g_test_add_func("/rdma/mpa/bad-crc", test_bad_crc);
    g_test_add_func("/rdma/ddp/truncation", test_ddp_truncation);
    g_test_add_func("/rdma/ddp/reassembly", test_ddp_reassembly);
    g_test_add_func("/rdma/smbd/pipeline", test_smbd_pipeline);
    g_test_add_func("/rdma/smbd/truncation", test_smbd_truncation_and_bad);
    return g_test_run();
}
