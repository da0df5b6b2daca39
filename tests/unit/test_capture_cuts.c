/* capture input cut short: at every offset of a pcap and a pcapng file, deep
 * inside long ones, and anywhere in a gzip stream.  Each run with every
 * reader of the two formats -- ours over reads, ours over a map, and
 * libpcap (SMBSCOPE_READER) -- which must agree on the records kept and on
 * the byte offset the error names. */
#include <glib.h>
#include <glib/gstdio.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "capture_files.h"

/* Open a truncated copy; expect open failure below open_min, else n_ok
 * records then either clean EOF (cut on a boundary) or -1 naming the file and
 * the offset of the incomplete record. */
static void check_cut(const GByteArray *f, size_t cut, size_t open_min, const size_t *starts, int nstarts,
                      const int *recs_before, bool nsec)
{
    char *path = write_file("cut.cap", f->data, cut);
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    if (cut < open_min) {
        if (cap)
            g_error("cut at %zu: open succeeded, want failure", cut);
        g_assert_nonnull(strstr(errbuf, path));
        g_free(path);
        return;
    }
    if (!cap)
        g_error("cut at %zu: %s", cut, errbuf);
    int last;
    char err[CAPTURE_ERRBUF_SIZE];
    int n = read_all(cap, nsec, &last, err, sizeof err);
    /* the unit (record or block) the cut falls in */
    int u = 0;
    while (u + 1 < nstarts && starts[u + 1] <= cut)
        u++;
    g_assert_cmpint(n, ==, recs_before[u]);
    if (starts[u] == cut) {
        if (last != 0)
            g_error("cut at %zu (a boundary): %s", cut, err);
    } else {
        g_assert_cmpint(last, ==, -1);
        g_assert_nonnull(strstr(err, path));
        char want[64];
        g_snprintf(want, sizeof want, "byte offset %zu ", starts[u]);
        if (!strstr(err, want))
            g_error("cut at %zu: want \"%s\" in: %s", cut, want, err);
    }
    capture_close(cap);
    g_unlink(path);
    g_free(path);
}

static void test_truncated_pcap_every_offset(void)
{
    size_t off[NPKT + 1];
    GByteArray *f = pcap_file(false, false, DLT_EN10MB, off);
    int before[NPKT + 1];
    for (int i = 0; i <= NPKT; i++)
        before[i] = i;
    int cuts = 0;
    for (size_t cut = 0; cut < f->len; cut++)
        if (cut_wanted(cut, off, NPKT + 1))
            check_cut(f, cut, 24, off, NPKT + 1, before, false), cuts++;
    g_test_message("cuts: %d of %u (SMBSCOPE_FULL=1: all)", cuts, f->len);
    g_byte_array_unref(f);
}

static void test_truncated_pcapng_every_offset(void)
{
    for (int be = 0; be < 2; be++) {
    ng_be = be;
    struct ng_layout lay;
    GByteArray *f = pcapng_file(true, &lay);
    int before[16];
    for (int b = 0; b <= lay.nblk; b++) {
        before[b] = 0;
        for (int i = 0; i < NPKT; i++)
            if (lay.epb_block[i] < b)
                before[b]++;
    }
    int cuts = 0;
    for (size_t cut = 0; cut < f->len; cut++)
        if (cut_wanted(cut, lay.blk_off, lay.nblk + 1))
            check_cut(f, cut, lay.idb_end, lay.blk_off, lay.nblk + 1, before, true), cuts++;
    g_test_message("cuts: %d of %u (SMBSCOPE_FULL=1: all)", cuts, f->len);
    g_byte_array_unref(f);
    }
    ng_be = false;
}

/* A compressed file cut anywhere: a prefix of the records, then an error
 * naming the file (never a crash, never a silent clean end). */
static void test_truncated_gzip(void)
{
    GByteArray *f = pcap_file(false, false, DLT_EN10MB, NULL);
    GByteArray *z = gzip_bytes(f->data, f->len);
    /* every byte of the gzip header and the trailer (CRC-32, ISIZE), the
     * deflate data between at a stride (7; 29 outside SMBSCOPE_FULL=1) */
    size_t stride = full_mode() ? 7 : 29;
    for (size_t cut = 0; cut < z->len; cut += (cut < 40 || cut + 12 >= z->len ? 1 : stride)) {
        char *path = write_file("cut.gz", z->data, cut);
        char errbuf[CAPTURE_ERRBUF_SIZE];
        struct capture *cap = capture_open(path, errbuf);
        if (!cap) {
            g_assert_nonnull(strstr(errbuf, path));
        } else {
            int last;
            char err[CAPTURE_ERRBUF_SIZE];
            read_all(cap, false, &last, err, sizeof err);
            g_assert_cmpint(last, ==, -1);
            g_assert_nonnull(strstr(err, path));
            g_assert_nonnull(strstr(err, "gzip"));
            capture_close(cap);
        }
        g_free(path);
    }
    /* corrupt deflate data in the middle */
    GByteArray *bad = g_byte_array_new();
    g_byte_array_append(bad, z->data, z->len);
    for (size_t i = z->len / 2; i < z->len / 2 + 16; i++)
        bad->data[i] ^= 0x5A;
    char *path = write_file("bad.gz", bad->data, bad->len);
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    g_assert_nonnull(cap);
    /* deflate output before the damage is detected may be garbage (the CRC
     * comes at the end), so only the outcome is checked */
    struct capture_record rec;
    int rc;
    while ((rc = capture_next(cap, &rec)) == 1)
        ;
    g_assert_cmpint(rc, ==, -1);
    g_assert_nonnull(strstr(capture_error(cap), path));
    capture_close(cap);
    g_free(path);
    g_byte_array_unref(bad);
    g_byte_array_unref(z);
    g_byte_array_unref(f);
}

/* A pcapng file much longer than any read-ahead, with skipped blocks every
 * few packets: a cut deep inside still names the right block. */
static void test_truncated_long_pcapng(void)
{
    GByteArray *f = g_byte_array_new();
    GByteArray *body = g_byte_array_new();
    enum { N = 600 };
    size_t *starts = g_new(size_t, 2 * N + 4);
    int *pkts_before = g_new(int, 2 * N + 4);
    int nb = 0, npkt = 0;
    put_u32(body, 0x1A2B3C4D, false);
    put_u16(body, 1, false);
    put_u16(body, 0, false);
    put_u32(body, 0xFFFFFFFF, false);
    put_u32(body, 0xFFFFFFFF, false);
    ng_block(f, 0x0A0D0D0A, body);
    g_byte_array_set_size(body, 0);
    put_u16(body, DLT_EN10MB, false);
    put_u16(body, 0, false);
    put_u32(body, 65535, false);
    ng_block(f, 1, body);
    for (int i = 0; i < N; i++) {
        starts[nb] = f->len;
        pkts_before[nb++] = npkt;
        const struct pkt_spec *ps = &pkts[i % NPKT];
        g_byte_array_set_size(body, 0);
        put_u32(body, 0, false);
        put_u32(body, 0, false);
        put_u32(body, (uint32_t)i, false);
        put_u32(body, ps->caplen, false);
        put_u32(body, ps->wirelen, false);
        g_byte_array_append(body, ps->data, ps->caplen);
        ng_block(f, 6, body);
        npkt++;
        if (i % 7 == 3) {
            starts[nb] = f->len;
            pkts_before[nb++] = npkt;
            g_byte_array_set_size(body, 0);
            put_u32(body, 0, false);
            ng_block(f, 0x00000BAD, body);
        }
    }
    g_assert_cmpuint(f->len, >, 100000);
    for (int b = nb / 3; b < nb; b += 37) {
        for (size_t into = 1; into < 30; into += 11) {
            size_t cut = starts[b] + into;
            int u = b; /* the block the cut falls in (a short block may end before it) */
            while (u + 1 < nb && starts[u + 1] <= cut)
                u++;
            char *path = write_file("long.pcapng", f->data, cut);
            char errbuf[CAPTURE_ERRBUF_SIZE];
            struct capture *cap = capture_open(path, errbuf);
            g_assert_nonnull(cap);
            struct capture_record rec;
            int n = 0, rc;
            while ((rc = capture_next(cap, &rec)) == 1) {
                g_assert_cmpuint(rec.caplen, ==, pkts[n % NPKT].caplen);
                n++;
            }
            g_assert_cmpint(rc, ==, -1);
            g_assert_cmpint(n, ==, pkts_before[u]);
            char want[64];
            g_snprintf(want, sizeof want, "byte offset %zu ", starts[u]);
            if (!strstr(capture_error(cap), want))
                g_error("cut at %zu: want \"%s\" in: %s", cut, want, capture_error(cap));
            capture_close(cap);
            g_free(path);
        }
    }
    /* a corrupt block length deep inside: the walker stops there too */
    for (int b = nb / 2; b < nb / 2 + 3; b++) {
        GByteArray *bad = g_byte_array_new();
        g_byte_array_append(bad, f->data, f->len);
        bad->data[starts[b] + 4] = 5;
        bad->data[starts[b] + 5] = bad->data[starts[b] + 6] = bad->data[starts[b] + 7] = 0;
        char *path = write_file("corrupt.pcapng", bad->data, bad->len);
        char errbuf[CAPTURE_ERRBUF_SIZE];
        struct capture *cap = capture_open(path, errbuf);
        g_assert_nonnull(cap);
        struct capture_record rec;
        int n = 0, rc;
        while ((rc = capture_next(cap, &rec)) == 1)
            n++;
        g_assert_cmpint(rc, ==, -1);
        g_assert_cmpint(n, ==, pkts_before[b]);
        char want[64];
        g_snprintf(want, sizeof want, "byte offset %zu ", starts[b]);
        if (!strstr(capture_error(cap), want))
            g_error("want \"%s\" in: %s", want, capture_error(cap));
        capture_close(cap);
        g_free(path);
        g_byte_array_unref(bad);
    }
    g_free(starts);
    g_free(pkts_before);
    g_byte_array_unref(body);
    g_byte_array_unref(f);
}

/* A pcap file longer than any read-ahead cut deep inside a record. */
static void test_truncated_long_pcap(void)
{
    GByteArray *f = pcap_file(false, false, DLT_EN10MB, NULL);
    GArray *starts = g_array_new(false, false, sizeof(size_t));
    for (int i = 0; i < 3000; i++) {
        size_t at = f->len;
        g_array_append_val(starts, at);
        const struct pkt_spec *ps = &pkts[i % NPKT];
        put_u32(f, 1700000000, false);
        put_u32(f, 0, false);
        put_u32(f, ps->caplen, false);
        put_u32(f, ps->wirelen, false);
        g_byte_array_append(f, ps->data, ps->caplen);
    }
    for (guint r = 1000; r < starts->len; r += 501) {
        size_t cut = g_array_index(starts, size_t, r) + 20; /* inside the data */
        char *path = write_file("long.pcap", f->data, cut);
        char errbuf[CAPTURE_ERRBUF_SIZE];
        struct capture *cap = capture_open(path, errbuf);
        g_assert_nonnull(cap);
        struct capture_record rec;
        guint n = 0;
        int rc;
        while ((rc = capture_next(cap, &rec)) == 1)
            n++;
        g_assert_cmpint(rc, ==, -1);
        g_assert_cmpuint(n, ==, NPKT + r);
        char want[64];
        g_snprintf(want, sizeof want, "byte offset %zu ", g_array_index(starts, size_t, r));
        if (!strstr(capture_error(cap), want))
            g_error("want \"%s\" in: %s", want, capture_error(cap));
        capture_close(cap);
        g_free(path);
    }
    g_array_unref(starts);
    g_byte_array_unref(f);
}

static const char *const readers[] = { "", "mmap", "libpcap" };

static const struct {
    const char *path;
    void (*fn)(void);
} tests[] = {
    { "/capture/truncated-pcap-every-offset", test_truncated_pcap_every_offset },
    { "/capture/truncated-pcapng-every-offset", test_truncated_pcapng_every_offset },
    { "/capture/truncated-gzip", test_truncated_gzip },
    { "/capture/truncated-long-pcapng", test_truncated_long_pcapng },
    { "/capture/truncated-long-pcap", test_truncated_long_pcap },
};

/* Test number i under each reader. */
static void with_readers(gconstpointer i)
{
    for (size_t r = 0; r < G_N_ELEMENTS(readers); r++) {
        g_setenv("SMBSCOPE_READER", readers[r], TRUE);
        tests[GPOINTER_TO_SIZE(i)].fn();
    }
    g_unsetenv("SMBSCOPE_READER");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    setup_tmpdir();
    make_packets();
    for (size_t i = 0; i < G_N_ELEMENTS(tests); i++)
        g_test_add_data_func(tests[i].path, GSIZE_TO_POINTER(i), with_readers);
    int rc = g_test_run();
    remove_tmpdir();
    return rc;
}
