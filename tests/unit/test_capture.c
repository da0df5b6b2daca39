/* capture input: pcap (usec/nsec, both byte orders), pcapng (usec/nsec
 * resolution, skipped blocks), gzip (also multi-member), stdin through a pipe,
 * truncation at every offset, corrupt headers, link type values.
 *
 * The files are written here at test time in a temporary directory, from the
 * layouts of the pcap and pcapng specifications (draft-ietf-opsawg-pcap,
 * draft-ietf-opsawg-pcapng). */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pcap/dlt.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "capture.h"
#include "packet.h"

#define NPKT 6

static char *tmpdir;

struct pkt_spec {
    int64_t ts_ns;
    uint32_t caplen, wirelen;
    uint8_t data[300];
};

static struct pkt_spec pkts[NPKT];

static void make_packets(void)
{
    for (int i = 0; i < NPKT; i++) {
        pkts[i].ts_ns = INT64_C(1700000000) * 1000000000 + (int64_t)i * 1234567891 + 999;
        pkts[i].caplen = (uint32_t)(60 + i * 37);
        pkts[i].wirelen = pkts[i].caplen + (i == 3 ? 1000 : 0); /* one snaplen-cut packet */
        for (uint32_t j = 0; j < pkts[i].caplen; j++)
            pkts[i].data[j] = (uint8_t)(i * 17 + j);
    }
}

/* ------------------------------------------------------------ writers */

static void put_u16(GByteArray *b, uint16_t v, bool be)
{
    uint8_t x[2] = { be ? (uint8_t)(v >> 8) : (uint8_t)v, be ? (uint8_t)v : (uint8_t)(v >> 8) };
    g_byte_array_append(b, x, 2);
}

static void put_u32(GByteArray *b, uint32_t v, bool be)
{
    if (be) {
        put_u16(b, (uint16_t)(v >> 16), true);
        put_u16(b, (uint16_t)v, true);
    } else {
        put_u16(b, (uint16_t)v, false);
        put_u16(b, (uint16_t)(v >> 16), false);
    }
}

/* A pcap file; rec_off[i] receives the offset of record i (rec_off[NPKT] = size). */
static GByteArray *pcap_file(bool nsec, bool be, uint32_t linktype, size_t *rec_off)
{
    GByteArray *b = g_byte_array_new();
    put_u32(b, nsec ? 0xa1b23c4d : 0xa1b2c3d4, be);
    put_u16(b, 2, be);
    put_u16(b, 4, be);
    put_u32(b, 0, be);
    put_u32(b, 0, be);
    put_u32(b, 65535, be);
    put_u32(b, linktype, be);
    for (int i = 0; i < NPKT; i++) {
        if (rec_off)
            rec_off[i] = b->len;
        int64_t sec = pkts[i].ts_ns / 1000000000, frac = pkts[i].ts_ns % 1000000000;
        put_u32(b, (uint32_t)sec, be);
        put_u32(b, (uint32_t)(nsec ? frac : frac / 1000), be);
        put_u32(b, pkts[i].caplen, be);
        put_u32(b, pkts[i].wirelen, be);
        g_byte_array_append(b, pkts[i].data, pkts[i].caplen);
    }
    if (rec_off)
        rec_off[NPKT] = b->len;
    return b;
}

/* byte order of the pcapng sections written by pcapng_file() */
static bool ng_be;

static void ng_block(GByteArray *b, uint32_t type, const GByteArray *body)
{
    uint32_t len = 12 + ((body->len + 3) & ~3u);
    put_u32(b, type, ng_be);
    put_u32(b, len, ng_be);
    g_byte_array_append(b, body->data, body->len);
    static const uint8_t pad[3] = { 0 };
    g_byte_array_append(b, pad, (len - 12) - body->len);
    put_u32(b, len, ng_be);
}

/* A little-endian pcapng file: SHB, IDB, EPBs with an unknown block after the
 * second one, an ISB at the end.  blk_off lists every block start (+ end);
 * epb_index[i] is the block number of packet i. */
struct ng_layout {
    size_t blk_off[16];
    int nblk;
    int epb_block[NPKT];
    size_t idb_end;
};

static GByteArray *pcapng_file(bool nsec, struct ng_layout *lay)
{
    GByteArray *b = g_byte_array_new();
    GByteArray *body = g_byte_array_new();
    int n = 0;

    lay->blk_off[n++] = b->len;
    put_u32(body, 0x1A2B3C4D, ng_be);
    put_u16(body, 1, ng_be);
    put_u16(body, 0, ng_be);
    put_u32(body, 0xFFFFFFFF, ng_be);
    put_u32(body, 0xFFFFFFFF, ng_be);
    ng_block(b, 0x0A0D0D0A, body);

    lay->blk_off[n++] = b->len;
    g_byte_array_set_size(body, 0);
    put_u16(body, DLT_EN10MB, ng_be);
    put_u16(body, 0, ng_be);
    put_u32(body, 65535, ng_be);
    if (nsec) {
        put_u16(body, 9, ng_be); /* if_tsresol */
        put_u16(body, 1, ng_be);
        static const uint8_t resol[4] = { 9, 0, 0, 0 }; /* one byte: 10^-9, then padding */
        g_byte_array_append(body, resol, 4);
        put_u32(body, 0, ng_be); /* opt_endofopt */
    }
    ng_block(b, 1, body);
    lay->idb_end = b->len;

    for (int i = 0; i < NPKT; i++) {
        lay->epb_block[i] = n;
        lay->blk_off[n++] = b->len;
        g_byte_array_set_size(body, 0);
        uint64_t ts = (uint64_t)(nsec ? pkts[i].ts_ns : pkts[i].ts_ns / 1000);
        put_u32(body, 0, ng_be);
        put_u32(body, (uint32_t)(ts >> 32), ng_be);
        put_u32(body, (uint32_t)ts, ng_be);
        put_u32(body, pkts[i].caplen, ng_be);
        put_u32(body, pkts[i].wirelen, ng_be);
        g_byte_array_append(body, pkts[i].data, pkts[i].caplen);
        ng_block(b, 6, body);
        if (i == 1) {
            lay->blk_off[n++] = b->len;
            g_byte_array_set_size(body, 0);
            put_u32(body, 0xdeadbeef, ng_be);
            ng_block(b, 0x00000BAD, body); /* a block type libpcap skips */
        }
    }
    lay->blk_off[n++] = b->len;
    g_byte_array_set_size(body, 0);
    put_u32(body, 0, ng_be); /* interface statistics: if 0, timestamp, no options */
    put_u32(body, 0, ng_be);
    put_u32(body, 0, ng_be);
    ng_block(b, 5, body);
    lay->blk_off[n] = b->len;
    lay->nblk = n;
    g_byte_array_unref(body);
    return b;
}

static GByteArray *gzip_bytes(const uint8_t *p, size_t n)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    g_assert_cmpint(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), ==, Z_OK);
    GByteArray *out = g_byte_array_sized_new((guint)(compressBound((uLong)n) + 64));
    g_byte_array_set_size(out, (guint)(compressBound((uLong)n) + 64));
    zs.next_in = (Bytef *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = out->data;
    zs.avail_out = out->len;
    g_assert_cmpint(deflate(&zs, Z_FINISH), ==, Z_STREAM_END);
    g_byte_array_set_size(out, (guint)zs.total_out);
    deflateEnd(&zs);
    return out;
}

static char *write_file(const char *name, const uint8_t *p, size_t n)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    GError *err = NULL;
    g_assert_true(g_file_set_contents(path, (const char *)p, (gssize)n, &err));
    return path;
}

/* ------------------------------------------------------------ checks */

/* Read everything; records must match pkts[0..]; returns the count, the
 * last capture_next() value in *last and the error in err (if any). */
static int read_all(struct capture *cap, bool nsec, int *last, char *err, size_t errlen)
{
    struct capture_record rec;
    int n = 0, rc;
    while ((rc = capture_next(cap, &rec)) == 1) {
        g_assert_cmpint(n, <, NPKT);
        g_assert_cmpuint(rec.frame, ==, (uint64_t)n + 1);
        g_assert_cmpint(rec.ts_us, ==, nsec ? pkts[n].ts_ns / 1000 : pkts[n].ts_ns / 1000);
        g_assert_cmpuint(rec.caplen, ==, pkts[n].caplen);
        g_assert_cmpuint(rec.wirelen, ==, pkts[n].wirelen);
        g_assert_cmpmem(rec.data, rec.caplen, pkts[n].data, pkts[n].caplen);
        n++;
    }
    *last = rc;
    g_strlcpy(err, capture_error(cap), errlen);
    /* sticky end */
    g_assert_cmpint(capture_next(cap, &rec), ==, rc);
    return n;
}

static void check_whole(const char *path, bool nsec, const char *format, bool gz, size_t decompressed, size_t stored)
{
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    if (!cap)
        g_error("open %s: %s", path, errbuf);
    g_assert_cmpint(capture_linktype(cap), ==, DLT_EN10MB);
    g_assert_cmpstr(capture_linktype_name(cap), ==, "EN10MB");
    g_assert_cmpstr(capture_format(cap), ==, format);
    g_assert_true(capture_is_gzip(cap) == gz);
    g_assert_cmpint(capture_size_hint(cap), ==, (int64_t)stored);
    int last;
    char err[CAPTURE_ERRBUF_SIZE];
    g_assert_cmpint(read_all(cap, nsec, &last, err, sizeof err), ==, NPKT);
    g_assert_cmpint(last, ==, 0);
    g_assert_cmpstr(err, ==, "");
    g_assert_cmpuint(capture_bytes_read(cap), ==, decompressed);
    g_assert_cmpuint(capture_raw_bytes_read(cap), ==, stored);
    capture_close(cap);
}

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
    for (size_t cut = 0; cut < f->len; cut++)
        check_cut(f, cut, 24, off, NPKT + 1, before, false);
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
    for (size_t cut = 0; cut < f->len; cut++)
        check_cut(f, cut, lay.idb_end, lay.blk_off, lay.nblk + 1, before, true);
    g_byte_array_unref(f);
    }
    ng_be = false;
}

/* Two sections in one file.  (Sections of opposite byte order are legal
 * pcapng but libpcap 1.10 rejects the second SHB: "pcapng block size ... >
 * maximum"; the error then names the offset of that SHB.) */
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

/* A compressed file cut anywhere: a prefix of the records, then an error
 * naming the file (never a crash, never a silent clean end). */
static void test_truncated_gzip(void)
{
    GByteArray *f = pcap_file(false, false, DLT_EN10MB, NULL);
    GByteArray *z = gzip_bytes(f->data, f->len);
    for (size_t cut = 0; cut < z->len; cut += (cut < 40 ? 1 : 7)) {
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
        { 105, DLT_IEEE802_11, "IEEE802_11", false },
        { 9, DLT_PPP, "PPP", false },
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

/* Several inputs open at once, read interleaved. */
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

static void remove_tmpdir(void)
{
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    if (d) {
        const char *n;
        while ((n = g_dir_read_name(d))) {
            char *p = g_build_filename(tmpdir, n, NULL);
            g_unlink(p);
            g_free(p);
        }
        g_dir_close(d);
    }
    g_rmdir(tmpdir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    GError *err = NULL;
    tmpdir = g_dir_make_tmp("smbscope-capture-XXXXXX", &err);
    g_assert_nonnull(tmpdir);
    make_packets();
    g_test_add_func("/capture/pcap-variants", test_pcap_variants);
    g_test_add_func("/capture/pcapng-variants", test_pcapng_variants);
    g_test_add_func("/capture/gzip-multi-member", test_gzip_multi_member);
    g_test_add_func("/capture/pcapng-two-sections", test_pcapng_two_sections);
    g_test_add_func("/capture/stdin", test_stdin);
    g_test_add_func("/capture/truncated-pcap-every-offset", test_truncated_pcap_every_offset);
    g_test_add_func("/capture/truncated-pcapng-every-offset", test_truncated_pcapng_every_offset);
    g_test_add_func("/capture/truncated-gzip", test_truncated_gzip);
    g_test_add_func("/capture/corrupt-headers", test_corrupt_headers);
    g_test_add_func("/capture/linktypes", test_linktypes);
    g_test_add_func("/capture/several-inputs", test_several_inputs);
    g_test_add_func("/capture/truncated-long-pcapng", test_truncated_long_pcapng);
    g_test_add_func("/capture/truncated-long-pcap", test_truncated_long_pcap);
    int rc = g_test_run();
    remove_tmpdir();
    g_free(tmpdir);
    return rc;
}
