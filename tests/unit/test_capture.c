/* capture input: pcap (usec/nsec, both byte orders), pcapng (usec/nsec
 * resolution, skipped blocks), gzip (also multi-member), stdin through a pipe,
 * two sections, corrupt headers, link type values, several inputs at once.
 * Cuts at every offset are in test_capture_cuts.c, pcapng's interfaces and
 * the other compressions in test_pcapng.c.
 *
 * The files are written here at test time (capture_files.c). */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pcap/dlt.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "capture_files.h"
#include "packet.h"

static void test_pcap_variants(void)
{
    for (int nsec = 0; nsec < 2; nsec++) {
        for (int be = 0; be < 2; be++) {
            GByteArray *f = pcap_file(nsec, be, DLT_EN10MB, NULL);
            char *path = write_file("v.pcap", f->data, f->len);
            check_whole(path, nsec, "pcap", false, f->len, f->len);
            GByteArray *z = gzip_bytes(f->data, f->len);
            char *zpath = write_file("v.pcap.data", z->data, z->len); /* name says nothing: magic decides */
            check_whole(zpath, nsec, "pcap", true, f->len, z->len);
            g_free(path);
            g_free(zpath);
            g_byte_array_unref(z);
            g_byte_array_unref(f);
        }
    }
}

static void test_pcapng_variants(void)
{
    for (int v = 0; v < 4; v++) {
        int nsec = v & 1;
        ng_be = (v & 2) != 0;
        struct ng_layout lay;
        GByteArray *f = pcapng_file(nsec, &lay);
        char *path = write_file("v.pcapng", f->data, f->len);
        check_whole(path, nsec, "pcapng", false, f->len, f->len);
        GByteArray *z = gzip_bytes(f->data, f->len);
        char *zpath = write_file("v.pcapng.gz", z->data, z->len);
        check_whole(zpath, nsec, "pcapng", true, f->len, z->len);
        g_free(path);
        g_free(zpath);
        g_byte_array_unref(z);
        g_byte_array_unref(f);
    }
}

/* gzip allows several members back to back; gzip -d yields their concatenation. */
static void test_gzip_multi_member(void)
{
    GByteArray *f = pcap_file(false, false, DLT_EN10MB, NULL);
    size_t half = f->len / 2;
    GByteArray *z = gzip_bytes(f->data, half);
    GByteArray *z2 = gzip_bytes(f->data + half, f->len - half);
    g_byte_array_append(z, z2->data, z2->len);
    char *path = write_file("multi.gz", z->data, z->len);
    check_whole(path, false, "pcap", true, f->len, z->len);
    g_free(path);
    g_byte_array_unref(z);
    g_byte_array_unref(z2);
    g_byte_array_unref(f);
}

struct feeder {
    int fd;
    GByteArray *bytes;
};

static gpointer feed_pipe(gpointer p)
{
    struct feeder *fd = p;
    size_t off = 0;
    while (off < fd->bytes->len) {
        size_t n = MIN(1000, fd->bytes->len - off); /* small writes: several reads */
        ssize_t w = write(fd->fd, fd->bytes->data + off, n);
        if (w < 0 && errno == EINTR)
            continue;
        g_assert_cmpint(w, >, 0);
        off += (size_t)w;
    }
    close(fd->fd);
    return NULL;
}

static void read_stdin_pipe(GByteArray *bytes, bool nsec, const char *format, bool gz, size_t decompressed)
{
    int p[2];
    g_assert_cmpint(pipe(p), ==, 0);
    int saved = dup(STDIN_FILENO);
    g_assert_cmpint(dup2(p[0], STDIN_FILENO), ==, STDIN_FILENO);
    close(p[0]);
    struct feeder fd = { p[1], bytes };
    GThread *th = g_thread_new("feeder", feed_pipe, &fd);
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open("-", errbuf);
    if (!cap)
        g_error("open stdin: %s", errbuf);
    g_assert_cmpstr(capture_name(cap), ==, "<stdin>");
    g_assert_cmpstr(capture_format(cap), ==, format);
    g_assert_true(capture_is_gzip(cap) == gz);
    g_assert_cmpint(capture_size_hint(cap), ==, -1);
    int last;
    char err[CAPTURE_ERRBUF_SIZE];
    g_assert_cmpint(read_all(cap, nsec, &last, err, sizeof err), ==, NPKT);
    g_assert_cmpint(last, ==, 0);
    g_assert_cmpuint(capture_bytes_read(cap), ==, decompressed);
    capture_close(cap);
    g_thread_join(th);
    g_assert_cmpint(dup2(saved, STDIN_FILENO), ==, STDIN_FILENO);
    close(saved);
}

static void test_stdin(void)
{
    GByteArray *f = pcap_file(true, false, DLT_EN10MB, NULL);
    read_stdin_pipe(f, true, "pcap", false, f->len);
    GByteArray *z = gzip_bytes(f->data, f->len);
    read_stdin_pipe(z, true, "pcap", true, f->len);
    g_byte_array_unref(z);
    g_byte_array_unref(f);
    struct ng_layout lay;
    f = pcapng_file(false, &lay);
    z = gzip_bytes(f->data, f->len);
    read_stdin_pipe(z, false, "pcapng", true, f->len);
    g_byte_array_unref(z);
    g_byte_array_unref(f);
}

/* Two sections in one file, then the file cut inside the second section's
 * first packet block: the error names that block.  (Sections of opposite
 * byte order: test_pcapng.c.) */
static void test_pcapng_two_sections(void)
{
    struct ng_layout lay;
    ng_be = true;
    GByteArray *f = pcapng_file(false, &lay);
    GByteArray *g = pcapng_file(false, &lay);
    ng_be = false;
    g_byte_array_append(f, g->data, g->len);
    char *path = write_file("two.pcapng", f->data, f->len);
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    g_assert_nonnull(cap);
    struct capture_record rec;
    int n = 0, rc;
    while ((rc = capture_next(cap, &rec)) == 1) {
        g_assert_cmpmem(rec.data, rec.caplen, pkts[n % NPKT].data, pkts[n % NPKT].caplen);
        g_assert_cmpint(rec.ts_us, ==, pkts[n % NPKT].ts_ns / 1000);
        n++;
    }
    g_assert_cmpstr(capture_error(cap), ==, "");
    g_assert_cmpint(rc, ==, 0);
    g_assert_cmpint(n, ==, 2 * NPKT);
    g_assert_cmpuint(capture_bytes_read(cap), ==, f->len);
    capture_close(cap);
    /* cut inside the second section's first packet block */
    size_t cut = (f->len - g->len) + lay.blk_off[lay.epb_block[0]] + 10;
    g_free(path);
    path = write_file("two-cut.pcapng", f->data, cut);
    cap = capture_open(path, errbuf);
    g_assert_nonnull(cap);
    n = 0;
    while ((rc = capture_next(cap, &rec)) == 1)
        n++;
    g_assert_cmpint(rc, ==, -1);
    g_assert_cmpint(n, ==, NPKT);
    char want[64];
    g_snprintf(want, sizeof want, "byte offset %zu ", cut - 10);
    if (!strstr(capture_error(cap), want))
        g_error("want \"%s\" in: %s", want, capture_error(cap));
    capture_close(cap);
    g_free(path);
    g_byte_array_unref(g);
    g_byte_array_unref(f);
}


static void test_corrupt_headers(void)
{
    char errbuf[CAPTURE_ERRBUF_SIZE];
    /* bad magic */
    GByteArray *f = pcap_file(false, false, DLT_EN10MB, NULL);
    f->data[0] ^= 0xFF;
    char *path = write_file("badmagic.pcap", f->data, f->len);
    g_assert_null(capture_open(path, errbuf));
    g_assert_nonnull(strstr(errbuf, path));
    g_assert_nonnull(strstr(errbuf, "not a readable"));
    g_free(path);
    g_byte_array_unref(f);

    /* impossible record length in the third record header */
    size_t off[NPKT + 1];
    f = pcap_file(false, false, DLT_EN10MB, off);
    f->data[off[2] + 8] = 0xFF;
    f->data[off[2] + 9] = 0xFF;
    f->data[off[2] + 10] = 0xFF;
    f->data[off[2] + 11] = 0x7F;
    path = write_file("badrec.pcap", f->data, f->len);
    struct capture *cap = capture_open(path, errbuf);
    g_assert_nonnull(cap);
    int last;
    char err[CAPTURE_ERRBUF_SIZE];
    g_assert_cmpint(read_all(cap, false, &last, err, sizeof err), ==, 2);
    g_assert_cmpint(last, ==, -1);
    char want[64];
    g_snprintf(want, sizeof want, "byte offset %zu ", off[2]);
    g_assert_nonnull(strstr(err, want));
    g_assert_nonnull(strstr(err, path));
    capture_close(cap);
    g_free(path);
    g_byte_array_unref(f);

    /* pcapng block whose total length is below the minimum */
    struct ng_layout lay;
    f = pcapng_file(false, &lay);
    size_t b = lay.blk_off[lay.epb_block[3]];
    f->data[b + 4] = 8;
    f->data[b + 5] = f->data[b + 6] = f->data[b + 7] = 0;
    path = write_file("badblock.pcapng", f->data, f->len);
    cap = capture_open(path, errbuf);
    g_assert_nonnull(cap);
    g_assert_cmpint(read_all(cap, false, &last, err, sizeof err), ==, 3);
    g_assert_cmpint(last, ==, -1);
    g_snprintf(want, sizeof want, "byte offset %zu ", b);
    if (!strstr(err, want))
        g_error("want \"%s\" in: %s", want, err);
    capture_close(cap);
    g_free(path);
    g_byte_array_unref(f);

    /* empty file, missing file, directory */
    path = write_file("empty.pcap", (const uint8_t *)"", 0);
    g_assert_null(capture_open(path, errbuf));
    g_assert_nonnull(strstr(errbuf, path));
    g_free(path);
    path = g_build_filename(tmpdir, "does-not-exist.pcap", NULL);
    g_assert_null(capture_open(path, errbuf));
    g_assert_nonnull(strstr(errbuf, path));
    g_assert_nonnull(strstr(errbuf, g_strerror(ENOENT)));
    g_free(path);
    g_assert_null(capture_open(tmpdir, errbuf));
    g_assert_nonnull(strstr(errbuf, tmpdir));
}

/* The values pcap_datalink() gives for each LINKTYPE_ in a file header, and
 * that packet_decode() accepts them. */
static void test_linktypes(void)
{
    static const struct {
        uint32_t file_linktype;
        int dlt;
        const char *name;
        bool supported;
    } cases[] = {
        { 1, DLT_EN10MB, "EN10MB", true },
        { 101, DLT_RAW, "RAW", true }, /* LINKTYPE_RAW is mapped to the platform's DLT_RAW */
        { 14, 14, "unknown", true },   /* OpenBSD's DLT_RAW, passed through unmapped; libpcap has no name */
        { 228, DLT_IPV4, "IPV4", true },
        { 229, DLT_IPV6, "IPV6", true },
        { 113, DLT_LINUX_SLL, "LINUX_SLL", true },
        { 276, DLT_LINUX_SLL2, "LINUX_SLL2", true },
        { 0, DLT_NULL, "NULL", true },
        { 108, DLT_LOOP, "LOOP", true },
        { 105, DLT_IEEE802_11, "IEEE802_11", true }, /* analyzer/net/packet_link.c */
        { 9, DLT_PPP, "PPP", true },
        { 147, DLT_USER0, "unknown", false }, /* no name in the reader's table */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GByteArray *f = pcap_file(false, false, cases[i].file_linktype, NULL);
        char *path = write_file("lt.pcap", f->data, f->len);
        char errbuf[CAPTURE_ERRBUF_SIZE];
        struct capture *cap = capture_open(path, errbuf);
        g_assert_nonnull(cap);
        g_assert_cmpint(capture_linktype(cap), ==, cases[i].dlt);
        g_assert_cmpstr(capture_linktype_name(cap), ==, cases[i].name);
        g_assert_true(packet_linktype_supported(capture_linktype(cap)) == cases[i].supported);
        capture_close(cap);
        g_free(path);
        g_byte_array_unref(f);
    }
}


static void test_several_inputs(void)
{
    GByteArray *a = pcap_file(false, false, DLT_EN10MB, NULL);
    struct ng_layout lay;
    GByteArray *b = pcapng_file(true, &lay);
    GByteArray *bz = gzip_bytes(b->data, b->len);
    char *pa = write_file("a.pcap", a->data, a->len);
    char *pb = write_file("b.pcapng.gz", bz->data, bz->len);
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *ca = capture_open(pa, errbuf), *cb = capture_open(pb, errbuf);
    g_assert_nonnull(ca);
    g_assert_nonnull(cb);
    struct capture_record ra, rb;
    for (int i = 0; i < NPKT; i++) {
        g_assert_cmpint(capture_next(ca, &ra), ==, 1);
        g_assert_cmpint(capture_next(cb, &rb), ==, 1);
        g_assert_cmpuint(ra.frame, ==, rb.frame);
        g_assert_cmpint(ra.ts_us, ==, rb.ts_us);
        g_assert_cmpmem(ra.data, ra.caplen, rb.data, rb.caplen);
    }
    g_assert_cmpint(capture_next(ca, &ra), ==, 0);
    g_assert_cmpint(capture_next(cb, &rb), ==, 0);
    capture_close(ca);
    capture_close(cb);
    g_free(pa);
    g_free(pb);
    g_byte_array_unref(a);
    g_byte_array_unref(b);
    g_byte_array_unref(bz);
}

/* Our classic pcap reader against libpcap's on the same file, record by
 * record, for records the common path reads (our byte order, lengths as
 * written, within the snapshot) and records it leaves to the general one
 * (a captured length above the snapshot: cut to it), with timestamps at
 * the edges of their types: seconds that are negative as int32, fractions
 * of a second past a second or negative, both resolutions. */
static void test_pcap_edges_as_libpcap(void)
{
    static const struct {
        uint32_t sec, frac, caplen, wirelen;
    } recs[] = {
        { 1700000000u, 999999u, 60, 60 },   { 0x80000001u, 5u, 54, 1514 }, { 0xFFFFFFFFu, 0xFFFFFFFFu, 100, 100 },
        { 1u, 2000000u, 120, 60 },          { 1700000001u, 0u, 0, 0 },     { 0x7FFFFFFFu, 0x80000000u, 64, 64 },
        { 1700000002u, 7u, 200, 300 },      { 1700000003u, 8u, 150, 150 },
    };
    const uint32_t snaplen = 128;
    for (int nsec = 0; nsec < 2; nsec++) {
        GByteArray *f = g_byte_array_new();
        put_u32(f, nsec ? 0xa1b23c4du : 0xa1b2c3d4u, false);
        put_u16(f, 2, false);
        put_u16(f, 4, false);
        put_u32(f, 0, false);
        put_u32(f, 0, false);
        put_u32(f, snaplen, false);
        put_u32(f, DLT_EN10MB, false);
        for (size_t i = 0; i < G_N_ELEMENTS(recs); i++) {
            put_u32(f, recs[i].sec, false);
            put_u32(f, recs[i].frac, false);
            put_u32(f, recs[i].caplen, false);
            put_u32(f, recs[i].wirelen, false);
            for (uint32_t k = 0; k < recs[i].caplen; k++) {
                uint8_t b = (uint8_t)(i * 31 + k);
                g_byte_array_append(f, &b, 1);
            }
        }
        char *path = write_file("edges.pcap", f->data, f->len);
        char errbuf[CAPTURE_ERRBUF_SIZE];
        g_setenv("SMBSCOPE_READER", "libpcap", TRUE);
        struct capture *lib = capture_open(path, errbuf);
        g_unsetenv("SMBSCOPE_READER");
        struct capture *ours = capture_open(path, errbuf);
        g_assert_nonnull(lib);
        g_assert_nonnull(ours);
        g_assert_cmpstr(capture_reader(lib), ==, "libpcap");
        g_assert_cmpstr(capture_reader(ours), ==, "stream");
        struct capture_record a, b;
        int n = 0, ra, rb;
        while ((ra = capture_next(lib, &a)) == 1) {
            rb = capture_next(ours, &b);
            g_assert_cmpint(rb, ==, 1);
            g_assert_cmpint(a.ts_us, ==, b.ts_us);
            g_assert_cmpuint(a.caplen, ==, b.caplen);
            g_assert_cmpuint(a.wirelen, ==, b.wirelen);
            g_assert_cmpuint(a.frame, ==, b.frame);
            g_assert_cmpint(a.dlt, ==, b.dlt);
            g_assert_cmpmem(a.data, a.caplen, b.data, b.caplen);
            n++;
        }
        g_assert_cmpint(ra, ==, 0);
        g_assert_cmpint(capture_next(ours, &b), ==, 0);
        g_assert_cmpint(n, ==, (int)G_N_ELEMENTS(recs));
        capture_close(lib);
        capture_close(ours);
        g_free(path);
        g_byte_array_unref(f);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    setup_tmpdir();
    make_packets();
    g_test_add_func("/capture/pcap-variants", test_pcap_variants);
    g_test_add_func("/capture/pcapng-variants", test_pcapng_variants);
    g_test_add_func("/capture/gzip-multi-member", test_gzip_multi_member);
    g_test_add_func("/capture/pcapng-two-sections", test_pcapng_two_sections);
    g_test_add_func("/capture/stdin", test_stdin);
    g_test_add_func("/capture/corrupt-headers", test_corrupt_headers);
    g_test_add_func("/capture/linktypes", test_linktypes);
    g_test_add_func("/capture/several-inputs", test_several_inputs);
    g_test_add_func("/capture/pcap-edges-as-libpcap", test_pcap_edges_as_libpcap);
    int rc = g_test_run();
    remove_tmpdir();
    return rc;
}
