/* capture_files.c - see capture_files.h. */
#include "capture_files.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include <pcap/dlt.h>

char *tmpdir;
struct pkt_spec pkts[NPKT];

void make_packets(void)
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

void put_u16(GByteArray *b, uint16_t v, bool be)
{
    uint8_t x[2] = { be ? (uint8_t)(v >> 8) : (uint8_t)v, be ? (uint8_t)v : (uint8_t)(v >> 8) };
    g_byte_array_append(b, x, 2);
}

void put_u32(GByteArray *b, uint32_t v, bool be)
{
    if (be) {
        put_u16(b, (uint16_t)(v >> 16), true);
        put_u16(b, (uint16_t)v, true);
    } else {
        put_u16(b, (uint16_t)v, false);
        put_u16(b, (uint16_t)(v >> 16), false);
    }
}

GByteArray *pcap_file(bool nsec, bool be, uint32_t linktype, size_t *rec_off)
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

bool ng_be;

void ng_block(GByteArray *b, uint32_t type, const GByteArray *body)
{
    uint32_t len = 12 + ((body->len + 3) & ~3u);
    put_u32(b, type, ng_be);
    put_u32(b, len, ng_be);
    g_byte_array_append(b, body->data, body->len);
    static const uint8_t pad[3] = { 0 };
    g_byte_array_append(b, pad, (len - 12) - body->len);
    put_u32(b, len, ng_be);
}

GByteArray *pcapng_file(bool nsec, struct ng_layout *lay)
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

GByteArray *gzip_bytes(const uint8_t *p, size_t n)
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

char *write_file(const char *name, const uint8_t *p, size_t n)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    /* replaced, not rewritten in place (a reader may still map the old
     * one), and never synced: thousands of cut files are written */
    char *part = g_strconcat(path, ".part", NULL);
    FILE *f = fopen(part, "wb");
    g_assert_nonnull(f);
    g_assert_cmpuint(fwrite(p, 1, n, f), ==, n);
    g_assert_cmpint(fclose(f), ==, 0);
    g_assert_cmpint(g_rename(part, path), ==, 0);
    g_free(part);
    return path;
}

/* ------------------------------------------------------------ cut offsets */

bool full_mode(void)
{
    const char *v = g_getenv("SMBSCOPE_FULL");
    return v && strcmp(v, "1") == 0;
}

bool cut_wanted(size_t cut, const size_t *starts, int n)
{
    if (full_mode() || cut < starts[0])
        return true;
    int u = 0;
    while (u + 1 < n && starts[u + 1] <= cut)
        u++;
    size_t into = cut - starts[u];
    size_t left = u + 1 < n ? starts[u + 1] - cut : 0;
    return into < CUT_HEAD || left <= CUT_TAIL || into % CUT_STRIDE == 0;
}

/* ------------------------------------------------------------ checks */

int read_all(struct capture *cap, bool nsec, int *last, char *err, size_t errlen)
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

void check_whole(const char *path, bool nsec, const char *format, bool gz, size_t decompressed, size_t stored)
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
void setup_tmpdir(void)
{
    GError *err = NULL;
    tmpdir = g_dir_make_tmp("smbscope-capture-XXXXXX", &err);
    g_assert_nonnull(tmpdir);
}

void remove_tmpdir(void)
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
    g_free(tmpdir);
    tmpdir = NULL;
}
