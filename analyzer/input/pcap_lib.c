/* pcap_lib.c - libpcap reading over our byte source.
 *
 * libpcap is handed a stdio stream made with fopencookie() whose reads come
 * from the source (decompressed when it is compressed).  The stream's seek
 * callback answers only "where are we" (what it has been handed), so ftello()
 * -- which subtracts what still waits in the buffer -- gives the bytes
 * libpcap has taken, exactly, without private FILE fields; from that a damaged
 * record's offset.  (An unbuffered stream would be exact too, but glibc then
 * takes 100 times longer.)  pcapng blocks libpcap skips silently are
 * tracked as bytes pass, so an error names the block libpcap was reading.
 *
 * This reader serves what ours leaves to libpcap (Kuznetzov's patched pcap
 * header) and the comparison of both readers (SMBSCOPE_READER=libpcap). */
#include "pcap_lib.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* Block starts remembered: every block is at least 12 bytes, so the ring
 * covers the stream buffer's read-ahead with room to spare. */
#define BLOCK_RING (STREAM_BUF / 8u)
#define STREAM_BUF (128u * 1024u)

struct ng_walk {
    uint64_t block_start, block_end;
    uint8_t hdr[12];        /* type, total length, the SHB byte-order magic */
    unsigned have;
    bool big_endian;
    bool lost;              /* a nonsense length: stop tracking, libpcap will complain */
    uint64_t starts[BLOCK_RING];
    uint64_t nstarts;
};

struct pcap_lib {
    struct source *src;
    FILE *fp;
    pcap_t *pcap;
    uint64_t delivered;     /* bytes handed to the stream (some may wait in its buffer) */
    bool pcapng;
    struct ng_walk walk;
    uint64_t frame;
};

static void walk_start(struct ng_walk *w, uint64_t pos)
{
    w->block_start = pos;
    w->have = 0;
    w->starts[w->nstarts % BLOCK_RING] = pos;
    w->nstarts++;
}

/* The start of the block holding byte pos - 1, if remembered. */
static bool walk_block_before(const struct ng_walk *w, uint64_t pos, uint64_t *start)
{
    uint64_t first = w->nstarts > BLOCK_RING ? w->nstarts - BLOCK_RING : 0;
    for (uint64_t i = w->nstarts; i > first; i--) {
        uint64_t s = w->starts[(i - 1) % BLOCK_RING];
        if (s < pos) {
            *start = s;
            return true;
        }
    }
    return false;
}

/* The block header is complete: learn the block's end. */
static void walk_header(struct ng_walk *w)
{
    if (load_u32be(w->hdr) == 0x0A0D0D0Au) { /* SHB: its magic sets the byte order */
        uint32_t m = load_u32be(w->hdr + 8);
        if (m != 0x1A2B3C4Du && m != 0x4D3C2B1Au) {
            w->lost = true;
            return;
        }
        w->big_endian = m == 0x1A2B3C4Du;
    }
    uint32_t len = w->big_endian ? load_u32be(w->hdr + 4) : load_u32le(w->hdr + 4);
    if (len < sizeof w->hdr)
        w->lost = true;
    w->block_end = w->block_start + len;
}

static void walk_feed(struct ng_walk *w, uint64_t pos, const uint8_t *p, size_t n)
{
    struct wire in = wire_make(p, n);
    while (wire_left(&in) > 0 && !w->lost) {
        if (w->have < sizeof w->hdr) {
            size_t take = sizeof w->hdr - w->have;
            if (take > wire_left(&in))
                take = wire_left(&in);
            memcpy(w->hdr + w->have, wire_bytes(&in, take), take);
            w->have += (unsigned)take;
            pos += take;
            if (w->have < sizeof w->hdr)
                return;
            walk_header(w);
            if (w->lost)
                return;
        }
        uint64_t skip = w->block_end - pos;
        if (skip > wire_left(&in))
            skip = wire_left(&in);
        wire_skip(&in, (size_t)skip);
        pos += skip;
        if (pos == w->block_end)
            walk_start(w, pos);
    }
}

static ssize_t cookie_read(void *c, char *buf, size_t size)
{
    struct pcap_lib *r = c;
    size_t got = source_read(r->src, (uint8_t *)buf, size);
    if (got == 0 && source_error(r->src)[0]) {
        errno = EIO;
        return -1;
    }
    walk_feed(&r->walk, r->delivered, (const uint8_t *)buf, got);
    r->delivered += got;
    return (ssize_t)got;
}

/* Only ftell() is served: the stream's position is what it has been handed
 * (stdio subtracts what still waits in its buffer). */
static int cookie_seek(void *c, off64_t *off, int whence)
{
    struct pcap_lib *r = c;
    if (whence != SEEK_CUR || *off != 0) {
        errno = ESPIPE;
        return -1;
    }
    *off = (off64_t)r->delivered;
    return 0;
}

static int cookie_close(void *c)
{
    (void)c; /* the source belongs to capture.c */
    return 0;
}

struct pcap_lib *pcap_lib_open(struct source *src, char *why, size_t whylen)
{
    struct pcap_lib *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    r->src = src;
    r->delivered = source_pos(src);
    size_t have = source_ensure(src, 4);
    r->pcapng = have >= 4 && load_u32be(source_ptr(src)) == 0x0A0D0D0Au;
    walk_start(&r->walk, r->delivered);
    cookie_io_functions_t io = { .read = cookie_read, .write = NULL, .seek = cookie_seek, .close = cookie_close };
    r->fp = fopencookie(r, "r", io);
    if (!r->fp) {
        snprintf(why, whylen, "cannot create stream: %s", strerror(errno));
        free(r);
        return NULL;
    }
    setvbuf(r->fp, NULL, _IOFBF, STREAM_BUF);
    char err[PCAP_ERRBUF_SIZE] = "";
    r->pcap = pcap_fopen_offline_with_tstamp_precision(r->fp, PCAP_TSTAMP_PRECISION_NANO, err);
    if (!r->pcap) {
        snprintf(why, whylen, "%s", err);
        fclose(r->fp); /* on failure libpcap leaves the stream to us */
        free(r);
        return NULL;
    }
    return r;
}

int pcap_lib_linktype(const struct pcap_lib *r) { return pcap_datalink(r->pcap); }
bool pcap_lib_is_pcapng(const struct pcap_lib *r) { return r->pcapng; }

/* Bytes libpcap has taken: ftello() on our stream (see cookie_seek). */
uint64_t pcap_lib_consumed(const struct pcap_lib *r)
{
    off64_t pos = ftello64(r->fp);
    return pos >= 0 ? (uint64_t)pos : r->delivered;
}

int pcap_lib_next(struct pcap_lib *r, struct capture_record *rec, struct read_fault *f)
{
    uint64_t record_start = pcap_lib_consumed(r); /* exact for pcap: records follow each other */
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(r->pcap, &h, &data);
    if (rc == 1) {
        r->frame++;
        /* opened with nanosecond precision: tv_usec holds nanoseconds */
        rec->ts_us = reader_ts_us((int64_t)h->ts.tv_sec, (int64_t)h->ts.tv_usec);
        rec->caplen = h->caplen;
        rec->wirelen = h->len;
        rec->data = data;
        rec->frame = r->frame;
        rec->dlt = pcap_datalink(r->pcap);
        return 1;
    }
    if (rc == PCAP_ERROR_BREAK)
        return 0; /* capture.c adds the source's error, if any */
    uint64_t block, failed_at = pcap_lib_consumed(r);
    if (r->pcapng && failed_at > record_start && walk_block_before(&r->walk, failed_at, &block) &&
        block >= record_start)
        record_start = block;
    f->offset = record_start;
    f->has_offset = true;
    f->block = r->pcapng;
    snprintf(f->why, sizeof f->why, "%s", pcap_geterr(r->pcap));
    return -1;
}

void pcap_lib_close(struct pcap_lib *r)
{
    if (!r)
        return;
    pcap_close(r->pcap); /* also closes the stream */
    free(r);
}
