/* SMB Direct over iWARP recognised without its MPA startup (iwarp_probe.h):
 * every FPDU of samples/rdma-iwarp-5445.pcap passes where tshark puts an
 * FPDU (frame boundaries of the rdma_vectors TSV; every frame is one FPDU);
 * whole Sends are SMBD-shaped where tshark says smb_direct; every other
 * offset into the same real bytes, random data, and FPDUs whose CRC32c is
 * right but whose DDP/RDMAP or SMBD header is not are refused.  With MPA
 * markers (samples/rdma-iwarp-markers-15445.pcap), the place found for the
 * first marker is the real one. */
#include <string.h>

#include <glib.h>

#include "crc.h"
#include "iwarp_probe.h"
#include "mpa.h"
#include "rdma_test_util.h"

#define CAPTURE "rdma-iwarp-5445"

struct fpdu_at {
    size_t off, len;
    bool smbd_send; /* a whole untagged Send tshark dissected as smb_direct */
};

/* FPDU boundaries of the direction sent from `sport`, from tshark's rows. */
static GArray *boundaries(const struct tsv *t, guint sport)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(struct fpdu_at));
    size_t off = 0;
    for (guint i = 0; i < t->rows->len; i++) {
        gint64 len = tsv_num(t, i, "tcp.len");
        if (tsv_num(t, i, "tcp.srcport") != sport || len <= 0)
            continue;
        if (tsv_num(t, i, "iwarp_mpa.ulpdulength") > 0) { /* an FPDU, not the startup frame */
            struct fpdu_at f = { off, (size_t)len, false };
            f.smbd_send = tsv_num(t, i, "iwarp_ddp.tagged_flag") == 0 && tsv_num(t, i, "iwarp_ddp.last_flag") == 1 &&
                          tsv_num(t, i, "iwarp_ddp.mo") == 0 && tsv_num(t, i, "smb_direct.credits.requested") >= 0;
            g_array_append_val(a, f);
        }
        off += (size_t)len;
    }
    return a;
}

static void test_real_fpdus(void)
{
    struct tsv *t = tsv_load(CAPTURE ".tsv");
    static const guint ports[] = { 49712, 5445 };
    guint smbd = 0, total = 0;
    for (size_t pi = 0; pi < G_N_ELEMENTS(ports); pi++) {
        g_autofree char *name = g_strdup_printf(CAPTURE "-%u.stream", ports[pi]);
        GBytes *b = rdma_vector(name);
        gsize n;
        const uint8_t *p = g_bytes_get_data(b, &n);
        GArray *f = boundaries(t, ports[pi]);
        g_assert_cmpuint(f->len, >, 10);
        GHashTable *starts = g_hash_table_new(g_direct_hash, g_direct_equal);
        for (guint i = 0; i < f->len; i++) {
            const struct fpdu_at *x = &g_array_index(f, struct fpdu_at, i);
            g_hash_table_add(starts, GSIZE_TO_POINTER(x->off));
            enum iwarp_probe r = iwarp_fpdu_probe(p + x->off, x->len);
            g_assert_cmpint(r, ==, x->smbd_send ? IWARP_PROBE_SMBD : IWARP_PROBE_RDMA);
            /* coalesced with what follows (a partial FPDU at the end is fine) */
            g_assert_cmpint(iwarp_fpdu_probe(p + x->off, n - x->off), !=, IWARP_PROBE_NO);
            /* cut inside: no complete FPDU, no proof */
            g_assert_cmpint(iwarp_fpdu_probe(p + x->off, x->len - 1), ==, IWARP_PROBE_NO);
            smbd += x->smbd_send;
            total++;
        }
        /* any other offset into the same real bytes is refused */
        size_t first = g_array_index(f, struct fpdu_at, 0).off;
        for (size_t off = 0; off < n; off++) {
            if (off >= first && g_hash_table_contains(starts, GSIZE_TO_POINTER(off)))
                continue;
            size_t k = n - off < 1500 ? n - off : 1500;
            g_assert_cmpint(iwarp_fpdu_probe(p + off, k), ==, IWARP_PROBE_NO);
        }
        g_hash_table_unref(starts);
        g_array_unref(f);
        g_bytes_unref(b);
    }
    g_assert_cmpuint(total, ==, 48); /* tshark: 48 FPDUs, all good CRC32c */
    g_assert_cmpuint(smbd, >, 40);
    tsv_free(t);
}

static void test_random(void)
{
    GRand *r = g_rand_new_with_seed(20261130);
    uint8_t buf[1600];
    for (int i = 0; i < 200000; i++) {
        size_t n = (size_t)g_rand_int_range(r, 0, sizeof buf + 1);
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)g_rand_int(r);
        if (i % 2 && n >= 2) { /* a length field that fits, so the CRC is what decides */
            size_t len = n > 24 ? (size_t)g_rand_int_range(r, 14, (gint32)(n - 5)) : 14;
            buf[0] = (uint8_t)(len >> 8);
            buf[1] = (uint8_t)len;
        }
        g_assert_cmpint(iwarp_fpdu_probe(buf, n), ==, IWARP_PROBE_NO);
    }
    g_rand_free(r);
}

static void put_crc(uint8_t *fpdu, size_t len)
{
    uint32_t c = crc32c_update(CRC32_INIT, fpdu, len - 4) ^ CRC32_INIT;
    for (int i = 0; i < 4; i++)
        fpdu[len - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
}

/* A real FPDU with one header field made impossible and its CRC32c made
 * right again: the structure checks alone must refuse it. */
static void test_good_crc_bad_headers(void)
{
    struct tsv *t = tsv_load(CAPTURE ".tsv");
    GBytes *b = rdma_vector(CAPTURE "-49712.stream");
    gsize n;
    const uint8_t *p = g_bytes_get_data(b, &n);
    GArray *f = boundaries(t, 49712);
    const struct fpdu_at *x = NULL;
    for (guint i = 0; i < f->len && !x; i++) /* the first SMBD data transfer message (past the negotiate) */
        if (g_array_index(f, struct fpdu_at, i).smbd_send && g_array_index(f, struct fpdu_at, i).len > 2 + 18 + 24 + 4)
            x = &g_array_index(f, struct fpdu_at, i);
    g_assert_nonnull(x);
    static const struct {
        size_t at;    /* octet of the FPDU (2 = DDP control) */
        uint8_t xor;
    } cases[] = {
        { 2, 0x03 },  /* DDP version 1 -> 2 */
        { 2, 0x04 },  /* a DDP reserved bit */
        { 3, 0xC0 },  /* RDMAP version 1 -> 2 */
        { 3, 0x10 },  /* an RDMAP reserved bit */
        { 3, 0x08 },  /* opcode Send -> 0xB: unknown */
        { 11, 0x01 }, /* queue number 0 -> 1 for a Send */
        { 2 + 18 + 6, 0x01 }, /* SMBD Reserved field (a data transfer message) not 0 */
        { 2 + 18 + 12, 0x01 }, /* SMBD DataOffset no longer 8-aligned / inside */
    };
    uint8_t *copy = g_malloc(x->len);
    memcpy(copy, p + x->off, x->len);
    put_crc(copy, x->len);
    g_assert_cmpint(iwarp_fpdu_probe(copy, x->len), ==, IWARP_PROBE_SMBD); /* the control */
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        memcpy(copy, p + x->off, x->len);
        copy[cases[i].at] ^= cases[i].xor;
        put_crc(copy, x->len);
        if (iwarp_fpdu_probe(copy, x->len) != IWARP_PROBE_NO)
            g_error("case %zu (octet %zu ^ 0x%02x) passed the probe", i, cases[i].at, cases[i].xor);
        copy[cases[i].at] ^= cases[i].xor; /* the CRC now fails on the real bytes */
        g_assert_cmpint(iwarp_fpdu_probe(copy, x->len), ==, IWARP_PROBE_NO);
    }
    g_free(copy);
    g_array_unref(f);
    g_bytes_unref(b);
    tsv_free(t);
}

/* Mid-stream with MPA markers (iwarp_fpdu_probe_markers): from each segment
 * start of samples/rdma-iwarp-markers-15445.pcap (the places a capture cut
 * from it can begin), the bytes up to 1,500 octets either leave the place
 * undecided (no marker in them) or give the real place of the first marker:
 * one every 512 octets counted from the direction's first FPDU.  Most
 * starts decide.  The FPDU starts of the stream without markers give none. */
static void test_markers(void)
{
    struct tsv *t = tsv_load("rdma-iwarp-markers-15445.tsv");
    static const guint ports[] = { 49713, 15445 };
    guint decided = 0, total = 0;
    for (size_t pi = 0; pi < G_N_ELEMENTS(ports); pi++) {
        g_autofree char *name = g_strdup_printf("rdma-iwarp-markers-15445-%u.stream", ports[pi]);
        GBytes *b = rdma_vector(name);
        gsize n;
        const uint8_t *p = g_bytes_get_data(b, &n);
        GArray *f = boundaries(t, ports[pi]);
        g_assert_cmpuint(f->len, >, 10);
        size_t base = g_array_index(f, struct fpdu_at, 0).off; /* the FPDU stream's first octet */
        for (guint i = 0; i < 2 * f->len; i++) {
            /* the segment alone (as TCP delivers it), then up to 1,500 octets from it */
            const struct fpdu_at *x = &g_array_index(f, struct fpdu_at, i / 2);
            size_t k = i % 2 ? (n - x->off < 1500 ? n - x->off : 1500) : x->len;
            uint32_t m = UINT32_MAX;
            total++;
            /* real FPDU streams stay well inside the probe's work bound */
            g_assert_cmpuint(iwarp_fpdu_marker_places(p + x->off, k), <=, IWARP_PROBE_MAX_PLACES);
            if (iwarp_fpdu_probe_markers(p + x->off, k, &m) == IWARP_PROBE_NO)
                continue;
            decided++;
            if ((x->off + m - base) % MPA_MARKER_INTERVAL != 0)
                g_error("%zu octets at %zu: first marker placed at +%u, not on the 512-octet grid", k, x->off, m);
        }
        g_array_unref(f);
        g_bytes_unref(b);
    }
    g_assert_cmpuint(decided, >, total / 3);
    tsv_free(t);

    t = tsv_load(CAPTURE ".tsv");
    GBytes *b = rdma_vector(CAPTURE "-49712.stream");
    gsize n;
    const uint8_t *p = g_bytes_get_data(b, &n);
    GArray *f = boundaries(t, 49712);
    for (guint i = 0; i < f->len; i++) {
        const struct fpdu_at *x = &g_array_index(f, struct fpdu_at, i);
        uint32_t m;
        g_assert_cmpint(iwarp_fpdu_probe_markers(p + x->off, n - x->off < 1500 ? n - x->off : 1500, &m), ==,
                        IWARP_PROBE_NO);
    }
    g_array_unref(f);
    g_bytes_unref(b);
    tsv_free(t);
}

/* Crafted bytes where every place passes the cheap test: one FPDU header
 * of 0xFFF0 octets (a Send's DDP/RDMAP versions), then at each multiple of
 * 4 up to 508 a "marker" of zeros pointing back to offset 0.  Every place
 * would cost a CRC32c pass over 64 KiB (127 a segment, found by review);
 * past IWARP_PROBE_MAX_PLACES the bytes decide nothing, before any CRC.
 * What this pins: such bytes count past the bound and are refused.  The
 * work saved is measured, not asserted (no timing in unit tests): 300 such
 * connections 6.46 s -> 0.16 s.  A control that the bound alone refuses
 * could not be made: fake places written into a real FPDU (its CRC32c
 * made right again) read as the real place and tie, bound or not. */
static void test_markers_bounded(void)
{
    size_t n = 0xFFF0 + 8;
    uint8_t *p = g_malloc0(n);
    p[0] = 0xFF;
    p[1] = 0xF0;
    p[2] = 0x41; /* DDP: last segment, version 1 */
    p[3] = 0x43; /* RDMAP: version 1, opcode 3 (Send) */
    for (uint32_t m = 4; m + 4 <= MPA_MARKER_INTERVAL; m += 4) {
        p[m + 2] = (uint8_t)(m >> 8);
        p[m + 3] = (uint8_t)m;
    }
    g_assert_cmpuint(iwarp_fpdu_marker_places(p, n), >, IWARP_PROBE_MAX_PLACES);
    uint32_t first = UINT32_MAX;
    g_assert_cmpint(iwarp_fpdu_probe_markers(p, n, &first), ==, IWARP_PROBE_NO);
    g_assert_cmpuint(first, ==, UINT32_MAX);
    g_free(p);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rdma/probe/real-fpdus", test_real_fpdus);
    g_test_add_func("/rdma/probe/random", test_random);
    g_test_add_func("/rdma/probe/good-crc-bad-headers", test_good_crc_bad_headers);
    g_test_add_func("/rdma/probe/markers", test_markers);
    g_test_add_func("/rdma/probe/markers-bounded", test_markers_bounded);
    return g_test_run();
}
