/* pcapng as Wireshark writes it, and our reader held to libpcap's answers.
 *
 * - interfaces of different link types, snapshot lengths, timestamp
 *   resolutions (10^-9, 2^-20, the default 10^-6) and offsets, with Enhanced,
 *   Simple and obsolete Packet blocks and comment/custom/unknown blocks
 *   between them: every record with its own link type and the timestamp the
 *   specification gives, through reads, a map, zstd and lz4;
 * - sections of both byte orders, each with its own interfaces;
 * - damaged files (pcap and pcapng, one interface: what libpcap reads): our
 *   reader and libpcap give the same records, return value and error text,
 *   offset included.
 *
 * Files are written here (capture_files.c), from draft-ietf-opsawg-pcapng. */
#include <glib.h>
#include <glib/gstdio.h>
#include <lz4frame.h>
#include <pcap/dlt.h>
#include <string.h>
#include <zstd.h>

#include "capture.h"
#include "capture_files.h"

#define SHB 0x0A0D0D0Au
#define TRAILER ((size_t)-1) /* the block's trailing length */

static void opt(GByteArray *b, uint16_t code, const void *v, uint16_t len)
{
    put_u16(b, code, ng_be);
    put_u16(b, len, ng_be);
    g_byte_array_append(b, v, len);
    static const uint8_t pad[3] = { 0 };
    g_byte_array_append(b, pad, (4 - len % 4) % 4);
}

static void shb(GByteArray *f)
{
    GByteArray *b = g_byte_array_new();
    put_u32(b, 0x1A2B3C4D, ng_be);
    put_u16(b, 1, ng_be);
    put_u16(b, 0, ng_be);
    put_u32(b, 0xFFFFFFFF, ng_be);
    put_u32(b, 0xFFFFFFFF, ng_be);
    ng_block(f, SHB, b);
    g_byte_array_unref(b);
}

/* An IDB; resol 0 = no if_tsresol; offset 0 = no if_tsoffset. */
static void idb(GByteArray *f, uint16_t linktype, uint32_t snaplen, uint8_t resol, int64_t offset, const char *filter)
{
    GByteArray *b = g_byte_array_new();
    put_u16(b, linktype, ng_be);
    put_u16(b, 0, ng_be);
    put_u32(b, snaplen, ng_be);
    if (resol)
        opt(b, 9, &resol, 1);
    if (offset) {
        GByteArray *o = g_byte_array_new();
        put_u32(o, (uint32_t)((uint64_t)offset >> (ng_be ? 32 : 0)), ng_be);
        put_u32(o, (uint32_t)((uint64_t)offset >> (ng_be ? 0 : 32)), ng_be);
        opt(b, 14, o->data, 8);
        g_byte_array_unref(o);
    }
    if (filter) {
        char v[64];
        v[0] = 0;
        memcpy(v + 1, filter, strlen(filter));
        opt(b, 11, v, (uint16_t)(strlen(filter) + 1));
    }
    if (resol || offset || filter)
        put_u32(b, 0, ng_be);
    ng_block(f, 1, b);
    g_byte_array_unref(b);
}

/* An EPB (type 6) or obsolete PB (type 2) with packet p. */
static void pkt_block(GByteArray *f, uint32_t type, uint32_t iface, uint64_t t, int p)
{
    GByteArray *b = g_byte_array_new();
    if (type == 6) {
        put_u32(b, iface, ng_be);
    } else {
        put_u16(b, (uint16_t)iface, ng_be);
        put_u16(b, 0, ng_be);
    }
    put_u32(b, (uint32_t)(t >> 32), ng_be);
    put_u32(b, (uint32_t)t, ng_be);
    put_u32(b, pkts[p].caplen, ng_be);
    put_u32(b, pkts[p].wirelen, ng_be);
    g_byte_array_append(b, pkts[p].data, pkts[p].caplen);
    ng_block(f, type, b);
    g_byte_array_unref(b);
}

static void spb(GByteArray *f, int p)
{
    GByteArray *b = g_byte_array_new();
    put_u32(b, pkts[p].caplen, ng_be);
    g_byte_array_append(b, pkts[p].data, pkts[p].caplen);
    ng_block(f, 3, b);
    g_byte_array_unref(b);
}

static void other_block(GByteArray *f, uint32_t type)
{
    GByteArray *b = g_byte_array_new();
    put_u32(b, 32473, ng_be); /* a PEN, for the custom block types */
    g_byte_array_append(b, (const uint8_t *)"not a packet", 12);
    ng_block(f, type, b);
    g_byte_array_unref(b);
}

struct want {
    int dlt;
    int64_t ts_us;
    int p;
};

/* Records of path under reader (NULL: default) must be want[0..n). */
static void expect(const char *path, const char *reader, const struct want *w, int n, const char *reader_name)
{
    g_setenv("SMBSCOPE_READER", reader ? reader : "", TRUE);
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    if (!cap)
        g_error("%s: %s", path, errbuf);
    g_assert_cmpstr(capture_reader(cap), ==, reader_name);
    g_assert_cmpstr(capture_format(cap), ==, "pcapng");
    g_assert_true(capture_multi_linktype(cap));
    struct capture_record rec;
    int i = 0, rc;
    while ((rc = capture_next(cap, &rec)) == 1) {
        g_assert_cmpint(i, <, n);
        g_assert_cmpint(rec.dlt, ==, w[i].dlt);
        g_assert_cmpint(rec.ts_us, ==, w[i].ts_us);
        g_assert_cmpmem(rec.data, rec.caplen, pkts[w[i].p].data, pkts[w[i].p].caplen);
        g_assert_cmpuint(rec.wirelen, ==, pkts[w[i].p].wirelen);
        i++;
    }
    if (rc != 0)
        g_error("%s (%s): %s", path, reader_name, capture_error(cap));
    g_assert_cmpint(i, ==, n);
    capture_close(cap);
    g_unsetenv("SMBSCOPE_READER");
}

static GByteArray *zstd_bytes(const GByteArray *in)
{
    GByteArray *out = g_byte_array_sized_new((guint)ZSTD_compressBound(in->len));
    g_byte_array_set_size(out, (guint)ZSTD_compressBound(in->len));
    size_t n = ZSTD_compress(out->data, out->len, in->data, in->len, 3);
    g_assert_false(ZSTD_isError(n));
    g_byte_array_set_size(out, (guint)n);
    return out;
}

static GByteArray *lz4_bytes(const GByteArray *in)
{
    size_t bound = LZ4F_compressFrameBound(in->len, NULL);
    GByteArray *out = g_byte_array_sized_new((guint)bound);
    g_byte_array_set_size(out, (guint)bound);
    size_t n = LZ4F_compressFrame(out->data, bound, in->data, in->len, NULL);
    g_assert_false(LZ4F_isError(n));
    g_byte_array_set_size(out, (guint)n);
    return out;
}

static void test_interfaces(void)
{
    const int64_t sec = 1700000000, off = 100;
    GByteArray *f = g_byte_array_new();
    ng_be = false;
    shb(f);
    idb(f, 1, 0, 9, off, "tcp port 445");               /* Ethernet, ns, offset */
    pkt_block(f, 6, 0, (uint64_t)(sec - off) * 1000000000u + 123456789u, 0);
    other_block(f, 0x00000BAD);                           /* custom, copyable */
    idb(f, 113, 256, 0x94, 0, NULL);                      /* Linux cooked, 2^-20 s */
    pkt_block(f, 6, 1, ((uint64_t)sec << 20) | 524288u, 1); /* half a second */
    other_block(f, 0x40000BAD);                           /* custom, not copyable */
    idb(f, 101, 65535, 0, 0, NULL);                       /* raw IP, microseconds */
    pkt_block(f, 2, 2, (uint64_t)sec * 1000000u + 42u, 2); /* obsolete Packet Block */
    other_block(f, 10);                                   /* decryption secrets */
    spb(f, 4);                                            /* Simple Packet Block: interface 0, no time */
    other_block(f, 0x0BADBEEF);                           /* unknown */
    pkt_block(f, 6, 1, ((uint64_t)(sec + 1) << 20) | 1u, 3);
    const struct want w[] = {
        { DLT_EN10MB, sec * 1000000 + 123456, 0 },
        { DLT_LINUX_SLL, sec * 1000000 + 500000, 1 },
        { DLT_RAW, sec * 1000000 + 42, 2 },
        { DLT_EN10MB, off * 1000000, 4 },
        /* 2^-20 s = 953.67 ns: truncated to 0 us, as libpcap does */
        { DLT_LINUX_SLL, (sec + 1) * 1000000, 3 },
    };
    char *path = write_file("ifaces.pcapng", f->data, f->len);
    expect(path, NULL, w, G_N_ELEMENTS(w), "stream");
    expect(path, "mmap", w, G_N_ELEMENTS(w), "mmap");
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    g_assert_nonnull(cap);
    g_assert_cmpint(capture_linktype(cap), ==, DLT_EN10MB);
    g_assert_cmpstr(capture_filter(cap), ==, "tcp port 445");
    capture_close(cap);
    GByteArray *z = zstd_bytes(f), *l = lz4_bytes(f);
    char *zp = write_file("ifaces.pcapng.zst", z->data, z->len), *lp = write_file("ifaces.lz4", l->data, l->len);
    expect(zp, NULL, w, G_N_ELEMENTS(w), "stream");
    expect(lp, NULL, w, G_N_ELEMENTS(w), "stream");
    cap = capture_open(zp, errbuf);
    g_assert_cmpstr(capture_compression(cap), ==, "zstd");
    capture_close(cap);
    /* libpcap stops at the second interface, after the first record */
    g_setenv("SMBSCOPE_READER", "libpcap", TRUE);
    cap = capture_open(path, errbuf);
    g_assert_nonnull(cap);
    struct capture_record rec;
    g_assert_cmpint(capture_next(cap, &rec), ==, 1);
    g_assert_cmpint(capture_next(cap, &rec), ==, -1);
    g_assert_nonnull(strstr(capture_error(cap), "different from the type of the first interface"));
    capture_close(cap);
    g_unsetenv("SMBSCOPE_READER");
    g_free(path);
    g_free(zp);
    g_free(lp);
    g_byte_array_unref(z);
    g_byte_array_unref(l);
    g_byte_array_unref(f);
}

/* Three sections, big-, little-, big-endian; interfaces are per section. */
static void test_byte_orders(void)
{
    GByteArray *f = g_byte_array_new();
    struct want w[6];
    for (int s = 0; s < 3; s++) {
        ng_be = s != 1;
        shb(f);
        idb(f, s == 1 ? 113 : 1, 0, 0, 0, NULL);
        idb(f, 1, 0, 6, 0, NULL);
        for (int k = 0; k < 2; k++) {
            int p = 2 * s + k;
            pkt_block(f, 6, (uint32_t)k, (uint64_t)(pkts[p].ts_ns / 1000), p);
            w[p] = (struct want){ k == 0 && s == 1 ? DLT_LINUX_SLL : DLT_EN10MB, pkts[p].ts_ns / 1000, p };
        }
    }
    char *path = write_file("orders.pcapng", f->data, f->len);
    expect(path, NULL, w, 6, "stream");
    expect(path, "mmap", w, 6, "mmap");
    /* a packet on an interface of an earlier section */
    ng_be = true;
    shb(f);
    idb(f, 1, 0, 0, 0, NULL);
    size_t at = f->len;
    pkt_block(f, 6, 1, 0, 0);
    g_free(path);
    path = write_file("orders-bad.pcapng", f->data, f->len);
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    struct capture_record rec;
    int n = 0, rc;
    while ((rc = capture_next(cap, &rec)) == 1)
        n++;
    g_assert_cmpint(rc, ==, -1);
    g_assert_cmpint(n, ==, 6);
    char want[96];
    g_snprintf(want, sizeof want, "byte offset %zu ", at);
    g_assert_nonnull(strstr(capture_error(cap), want));
    g_assert_nonnull(strstr(capture_error(cap), "a packet arrived on interface 1"));
    capture_close(cap);
    ng_be = false;
    g_free(path);
    g_byte_array_unref(f);
}

/* Both readers on one file: records, return value and error text equal. */
static void same_as_libpcap(const char *label, const GByteArray *f)
{
    char *path = write_file("diff.cap", f->data, f->len);
    char results[2][2 * CAPTURE_ERRBUF_SIZE];
    GString *trace[2] = { g_string_new(""), g_string_new("") };
    for (int r = 0; r < 2; r++) {
        g_setenv("SMBSCOPE_READER", r ? "libpcap" : "", TRUE);
        char errbuf[CAPTURE_ERRBUF_SIZE];
        struct capture *cap = capture_open(path, errbuf);
        if (!cap) {
            g_snprintf(results[r], sizeof results[r], "open: %s", errbuf);
            continue;
        }
        struct capture_record rec;
        int rc;
        while ((rc = capture_next(cap, &rec)) == 1)
            g_string_append_printf(trace[r], "%" G_GINT64_FORMAT "/%u/%u/%d/%u;", rec.ts_us, rec.caplen, rec.wirelen,
                                   rec.dlt, rec.caplen ? rec.data[rec.caplen - 1] : 0);
        g_snprintf(results[r], sizeof results[r], "rc %d: %s", rc, capture_error(cap));
        capture_close(cap);
    }
    g_unsetenv("SMBSCOPE_READER");
    if (strcmp(trace[0]->str, trace[1]->str) != 0 || strcmp(results[0], results[1]) != 0)
        g_error("%s:\n ours    %s %s\n libpcap %s %s", label, trace[0]->str, results[0], trace[1]->str, results[1]);
    g_string_free(trace[0], TRUE);
    g_string_free(trace[1], TRUE);
    g_free(path);
}

static void set32(GByteArray *f, size_t at, uint32_t v, bool be)
{
    for (int i = 0; i < 4; i++)
        f->data[at + (size_t)i] = (uint8_t)(v >> (be ? 24 - 8 * i : 8 * i));
}

/* Damaged classic pcap files, each field libpcap checks. */
static void test_pcap_damage(void)
{
    static const struct {
        const char *what;
        int rec;       /* record whose header is changed, -1: the file header */
        size_t field;  /* byte offset in it */
        uint32_t value;
    } cases[] = {
        { "caplen above the snapshot length", 2, 8, 70000 },
        { "caplen above the maximum", 2, 8, 300000 },
        { "caplen above the wire length", 1, 12, 10 },
        { "microseconds out of range", 1, 4, 2000000 },
        { "seconds with the top bit set", 3, 0, 0x80000001u },
        { "snapshot length 100", -1, 16, 100 },
        { "snapshot length 0", -1, 16, 0 },
        { "version 2.3", -1, 6, 3 },
        { "version 2.2", -1, 6, 2 },
        { "version 2.5", -1, 6, 5 },
        { "version 1.0", -1, 4, 1 },
        { "link type with extension bits", -1, 20, 0x04000001u },
    };
    for (int be = 0; be < 2; be++) {
        for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
            size_t off[NPKT + 1];
            GByteArray *f = pcap_file(false, be, DLT_EN10MB, off);
            size_t at = (cases[c].rec < 0 ? 0 : off[cases[c].rec]) + cases[c].field;
            if (cases[c].rec < 0 && cases[c].field < 8) { /* 16-bit version fields */
                f->data[at + (be ? 0 : 1)] = 0;
                f->data[at + (be ? 1 : 0)] = (uint8_t)cases[c].value;
            } else {
                set32(f, at, cases[c].value, be);
            }
            same_as_libpcap(cases[c].what, f);
            for (size_t cut = off[2] - 3; cut < off[3] + 3; cut++) { /* and cut around a record */
                if (!cut_wanted(cut, off, NPKT + 1))
                    continue;
                GByteArray *g = g_byte_array_new();
                g_byte_array_append(g, f->data, (guint)cut);
                same_as_libpcap(cases[c].what, g);
                g_byte_array_unref(g);
            }
            g_byte_array_unref(f);
        }
    }
}

/* Damaged pcapng files (one interface), each check libpcap makes. */
static void test_pcapng_damage(void)
{
    static const struct {
        const char *what;
        int block;     /* in the ng_layout: 1 the IDB, 2.. packets */
        size_t field;
        uint32_t value;
    } cases[] = {
        { "block length below 12", 3, 4, 8 },
        { "block length not a multiple of 4", 3, 4, 101 },
        { "block length beyond the file", 3, 4, 0x00100000 },
        { "block length above the maximum", 3, 4, 0x7FFFFFF0 },
        { "trailer differs", 3, TRAILER, 0 },
        { "unknown interface", 3, 8, 5 },
        { "caplen above the block", 3, 20, 250 },
        { "caplen above the snapshot length", 3, 20, 70000 },
        { "IDB snapshot length 100", 1, 12, 100 },
        { "IDB if_tsresol 10^-20", 1, 20, 20 },
        { "IDB if_tsresol length 2", 1, 18, 2 },
        { "IDB option past its block", 1, 18, 64 },
    };
    for (int be = 0; be < 2; be++) {
        ng_be = be;
        for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
            struct ng_layout lay;
            GByteArray *f = pcapng_file(true, &lay);
            size_t b = lay.blk_off[cases[c].block];
            size_t at = cases[c].field == TRAILER ? lay.blk_off[cases[c].block + 1] - 4 : b + cases[c].field;
            if (cases[c].block == 1 && cases[c].field == 20) /* the if_tsresol value byte */
                f->data[at] = (uint8_t)cases[c].value;
            else if (cases[c].field == 18) /* the if_tsresol option length (16 bits) */
                f->data[at + (be ? 0 : 1)] = 0, f->data[at + (be ? 1 : 0)] = (uint8_t)cases[c].value;
            else
                set32(f, at, cases[c].value, be);
            same_as_libpcap(cases[c].what, f);
            g_byte_array_unref(f);
        }
    }
    ng_be = false;
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    setup_tmpdir();
    make_packets();
    g_test_add_func("/pcapng/interfaces", test_interfaces);
    g_test_add_func("/pcapng/byte-orders", test_byte_orders);
    g_test_add_func("/pcapng/pcap-damage-as-libpcap", test_pcap_damage);
    g_test_add_func("/pcapng/pcapng-damage-as-libpcap", test_pcapng_damage);
    int rc = g_test_run();
    remove_tmpdir();
    return rc;
}
