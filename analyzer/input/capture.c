/* capture.c - capture input: libpcap over our own byte source.
 *
 * libpcap is handed a stdio stream made with fopencookie() whose reads come
 * from a file descriptor, either as stored or through zlib's inflate.  Owning
 * that layer gives us three things libpcap cannot: gzip input recognised by its
 * magic bytes (so stdin works too: the bytes peeked to detect it simply stay in
 * our buffer), an exact count of the bytes libpcap consumed, and from that the
 * byte offset of a damaged record.
 *
 * libpcap's position is what we handed the stream minus what still waits in
 * the stream's buffer.  With glibc the latter is read from the public FILE
 * fields; elsewhere the stream is made unbuffered (exact, but glibc-style
 * unbuffered reads are slow: each one walks all open streams).
 *
 * pcapng files may carry blocks libpcap skips silently, so block starts are
 * tracked as bytes pass (a ring that covers the stream buffer's read-ahead);
 * the failing block is the last one starting before libpcap's position. */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define RAW_BUF (256u * 1024u)
#define STREAM_BUF (128u * 1024u) /* large: records across its end go the slow way */
/* Block starts remembered: every block is at least 12 bytes, so the ring
 * covers the stream buffer's read-ahead with room to spare. */
#define BLOCK_RING (STREAM_BUF / 8u)

/* Tracks pcapng block boundaries in the decompressed stream as it passes, so
 * an error can name the offset of the block libpcap was reading. */
struct ng_walk {
    uint64_t block_start;
    uint64_t block_end;     /* valid once have == 12 */
    uint8_t hdr[12];        /* type, total length, and the SHB byte-order magic */
    unsigned have;
    bool big_endian;
    bool lost;              /* a nonsense length: stop tracking, libpcap will complain */
    uint64_t starts[BLOCK_RING];
    uint64_t nstarts;       /* starts recorded; starts[i % BLOCK_RING] */
};

static void ng_walk_start(struct ng_walk *w, uint64_t pos)
{
    w->block_start = pos;
    w->have = 0;
    w->starts[w->nstarts % BLOCK_RING] = pos;
    w->nstarts++;
}

/* The start of the block that holds byte pos - 1 (pos > 0), if remembered. */
static bool ng_walk_block_before(const struct ng_walk *w, uint64_t pos, uint64_t *start)
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

enum cap_state { CAP_OPEN, CAP_EOF, CAP_ERROR };

struct capture {
    char name[256];
    int fd;
    bool own_fd;
    int64_t size_hint;

    /* stored bytes */
    uint8_t *raw;
    size_t raw_off, raw_len;
    bool raw_eof;
    uint64_t raw_consumed;

    /* gzip */
    bool gzip;
    bool z_ready;
    bool z_member_done;     /* last inflate() ended a gzip member */
    z_stream zs;

    uint64_t delivered;     /* decompressed bytes handed to libpcap */
    char io_err[200];       /* why the byte source failed, if it did */

    bool pcapng;
    uint8_t magic[4];       /* first decompressed bytes */
    unsigned magic_have;
    struct ng_walk walk;

    FILE *fp;
    pcap_t *pcap;
    /* fast record path (see fast_record()): classic pcap whose records need
     * no post-processing by libpcap */
    bool fast;
    bool fast_swapped;      /* record header fields in the other byte order */
    bool fast_nsec;         /* file timestamps in nanoseconds */
    uint32_t fast_snaplen;
    int dlt;
    uint64_t frame;
    enum cap_state state;
    char err[CAPTURE_ERRBUF_SIZE];
};

static void set_io_err(struct capture *cap, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_io_err(struct capture *cap, const char *fmt, ...)
{
    if (cap->io_err[0])
        return; /* keep the first cause */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cap->io_err, sizeof cap->io_err, fmt, ap);
    va_end(ap);
}

/* Refill the stored-bytes buffer; false at end of input or on error. */
static bool raw_fill(struct capture *cap)
{
    if (cap->raw_off < cap->raw_len)
        return true;
    if (cap->raw_eof)
        return false;
    cap->raw_off = cap->raw_len = 0;
    for (;;) {
        ssize_t n = read(cap->fd, cap->raw, RAW_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            set_io_err(cap, "read error: %s", strerror(errno));
            cap->raw_eof = true;
            return false;
        }
        if (n == 0) {
            cap->raw_eof = true;
            return false;
        }
        cap->raw_len = (size_t)n;
        return true;
    }
}

static size_t read_stored(struct capture *cap, uint8_t *dst, size_t n)
{
    size_t got = 0;
    while (got < n && raw_fill(cap)) {
        size_t take = cap->raw_len - cap->raw_off;
        if (take > n - got)
            take = n - got;
        memcpy(dst + got, cap->raw + cap->raw_off, take);
        cap->raw_off += take;
        cap->raw_consumed += take;
        got += take;
    }
    return got;
}

/* Inflate into dst; handles concatenated gzip members.  Returns bytes produced;
 * sets io_err on corrupt or truncated compressed data. */
static size_t read_gzip(struct capture *cap, uint8_t *dst, size_t n)
{
    size_t got = 0;
    while (got < n && !cap->io_err[0]) {
        if (!raw_fill(cap)) {
            if (!cap->z_member_done && !cap->io_err[0])
                set_io_err(cap, "gzip stream ends before its end marker (file truncated?)");
            break;
        }
        if (cap->z_member_done) {
            /* more bytes after a complete member: a further member follows */
            if (inflateReset(&cap->zs) != Z_OK) {
                set_io_err(cap, "gzip: cannot restart inflate");
                break;
            }
            cap->z_member_done = false;
        }
        cap->zs.next_in = cap->raw + cap->raw_off;
        cap->zs.avail_in = (uInt)(cap->raw_len - cap->raw_off);
        cap->zs.next_out = dst + got;
        size_t room = n - got;
        cap->zs.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
        uInt in_before = cap->zs.avail_in, out_before = cap->zs.avail_out;
        int rc = inflate(&cap->zs, Z_NO_FLUSH);
        size_t used = in_before - cap->zs.avail_in;
        cap->raw_off += used;
        cap->raw_consumed += used;
        got += out_before - cap->zs.avail_out;
        if (rc == Z_STREAM_END) {
            cap->z_member_done = true;
        } else if (rc == Z_BUF_ERROR) {
            /* no progress possible with this input: need more (loop refills) */
            if (used == 0 && out_before == cap->zs.avail_out && cap->raw_off < cap->raw_len) {
                set_io_err(cap, "gzip: inflate made no progress");
                break;
            }
        } else if (rc != Z_OK) {
            set_io_err(cap, "corrupt gzip data at compressed byte offset %llu: %s",
                       (unsigned long long)cap->raw_consumed, cap->zs.msg ? cap->zs.msg : "inflate error");
            break;
        }
    }
    return got;
}

static void ng_walk_feed(struct ng_walk *w, uint64_t pos, const uint8_t *p, size_t n)
{
    while (n > 0 && !w->lost) {
        if (w->have < sizeof w->hdr) {
            size_t take = sizeof w->hdr - w->have;
            if (take > n)
                take = n;
            memcpy(w->hdr + w->have, p, take);
            w->have += (unsigned)take;
            p += take;
            n -= take;
            pos += take;
            if (w->have < sizeof w->hdr)
                return;
            bool shb = w->hdr[0] == 0x0A && w->hdr[1] == 0x0D && w->hdr[2] == 0x0D && w->hdr[3] == 0x0A;
            if (shb) {
                if (w->hdr[8] == 0x1A && w->hdr[9] == 0x2B && w->hdr[10] == 0x3C && w->hdr[11] == 0x4D)
                    w->big_endian = true;
                else if (w->hdr[8] == 0x4D && w->hdr[9] == 0x3C && w->hdr[10] == 0x2B && w->hdr[11] == 0x1A)
                    w->big_endian = false;
                else {
                    w->lost = true;
                    return;
                }
            }
            const uint8_t *l = w->hdr + 4;
            uint32_t len = w->big_endian ? ((uint32_t)l[0] << 24 | (uint32_t)l[1] << 16 | (uint32_t)l[2] << 8 | l[3])
                                         : ((uint32_t)l[3] << 24 | (uint32_t)l[2] << 16 | (uint32_t)l[1] << 8 | l[0]);
            if (len < sizeof w->hdr) {
                w->lost = true;
                return;
            }
            w->block_end = w->block_start + len;
        }
        uint64_t skip = w->block_end - pos;
        if (skip > n)
            skip = n;
        p += skip;
        n -= (size_t)skip;
        pos += skip;
        if (pos == w->block_end)
            ng_walk_start(w, pos);
    }
}

static ssize_t cookie_read(void *c, char *buf, size_t size)
{
    struct capture *cap = c;
    uint8_t *dst = (uint8_t *)buf;
    size_t got = cap->gzip ? read_gzip(cap, dst, size) : read_stored(cap, dst, size);
    if (got == 0 && cap->io_err[0]) {
        errno = EIO;
        return -1;
    }
    while (cap->magic_have < sizeof cap->magic && (uint64_t)cap->magic_have < cap->delivered + got) {
        cap->magic[cap->magic_have] = dst[cap->magic_have - cap->delivered];
        cap->magic_have++;
    }
    /* Fed for pcap files too (harmless, cheap): the format is known only once
     * libpcap has read the magic. */
    ng_walk_feed(&cap->walk, cap->delivered, dst, got);
    cap->delivered += got;
    return (ssize_t)got;
}

static int cookie_close(void *c)
{
    (void)c; /* the descriptor and buffers belong to struct capture */
    return 0;
}

static void capture_free(struct capture *cap)
{
    if (!cap)
        return;
    if (cap->pcap)
        pcap_close(cap->pcap); /* also closes fp */
    else if (cap->fp)
        fclose(cap->fp);
    if (cap->z_ready)
        inflateEnd(&cap->zs);
    if (cap->own_fd && cap->fd >= 0)
        close(cap->fd);
    free(cap->raw);
    free(cap);
}

struct capture *capture_open(const char *path, char *errbuf)
{
    errbuf[0] = '\0';
    struct capture *cap = calloc(1, sizeof *cap);
    if (!cap) {
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: out of memory", path);
        return NULL;
    }
    cap->fd = -1;
    cap->size_hint = -1;
    bool is_stdin = strcmp(path, "-") == 0;
    snprintf(cap->name, sizeof cap->name, "%s", is_stdin ? "<stdin>" : path);

    cap->raw = malloc(RAW_BUF);
    if (!cap->raw) {
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: out of memory", cap->name);
        capture_free(cap);
        return NULL;
    }
    if (is_stdin) {
        cap->fd = STDIN_FILENO;
    } else {
        cap->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (cap->fd < 0) {
            snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: %s", cap->name, strerror(errno));
            capture_free(cap);
            return NULL;
        }
        cap->own_fd = true;
    }
    struct stat st;
    if (fstat(cap->fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: is a directory", cap->name);
            capture_free(cap);
            return NULL;
        }
        if (S_ISREG(st.st_mode))
            cap->size_hint = (int64_t)st.st_size;
    }

    /* Peek at the first bytes: they stay in cap->raw and are replayed. */
    while (cap->raw_len < 2 && !cap->raw_eof) {
        ssize_t n = read(cap->fd, cap->raw + cap->raw_len, RAW_BUF - cap->raw_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: read error: %s", cap->name, strerror(errno));
            capture_free(cap);
            return NULL;
        }
        if (n == 0)
            cap->raw_eof = true;
        cap->raw_len += (size_t)n;
    }
    if (cap->raw_len == 0) {
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: empty input, not a capture file", cap->name);
        capture_free(cap);
        return NULL;
    }
    if (cap->raw_len >= 2 && cap->raw[0] == 0x1f && cap->raw[1] == 0x8b) {
        cap->gzip = true;
        if (inflateInit2(&cap->zs, 15 + 16) != Z_OK) {
            snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: cannot initialise zlib", cap->name);
            capture_free(cap);
            return NULL;
        }
        cap->z_ready = true;
    }
    cookie_io_functions_t io = { .read = cookie_read, .write = NULL, .seek = NULL, .close = cookie_close };
    cap->fp = fopencookie(cap, "r", io);
    if (!cap->fp) {
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: cannot create stream: %s", cap->name, strerror(errno));
        capture_free(cap);
        return NULL;
    }
#ifdef __GLIBC__
    setvbuf(cap->fp, NULL, _IOFBF, STREAM_BUF);
#else
    setvbuf(cap->fp, NULL, _IONBF, 0);
#endif
    ng_walk_start(&cap->walk, 0);

    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    cap->pcap = pcap_fopen_offline_with_tstamp_precision(cap->fp, PCAP_TSTAMP_PRECISION_NANO, pcap_err);
    if (!cap->pcap) {
        /* on failure libpcap leaves fp to us (capture_free closes it) */
        if (cap->io_err[0])
            snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: %s%s", cap->name, cap->gzip ? "gzip-compressed input: " : "", cap->io_err);
        else
            snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: not a readable pcap/pcapng capture%s: %s", cap->name,
                     cap->gzip ? " (after gzip decompression)" : "", pcap_err);
        capture_free(cap);
        return NULL;
    }
    cap->dlt = pcap_datalink(cap->pcap);
    /* The section header block type 0A 0D 0D 0A is how every pcapng file starts. */
    cap->pcapng = cap->magic_have == 4 && memcmp(cap->magic, "\x0A\x0D\x0D\x0A", 4) == 0;
#ifdef __GLIBC__
    /* Classic pcap, Ethernet (libpcap post-processes some link types, e.g.
     * USB and NFLOG headers, never this one): records may be taken straight
     * from the stream buffer.  Magic: A1B2C3D4 microseconds, A1B23C4D
     * nanoseconds, in the writer's byte order. */
    if (!cap->pcapng && cap->magic_have == 4 && cap->dlt == DLT_EN10MB && pcap_major_version(cap->pcap) == 2 &&
        pcap_minor_version(cap->pcap) >= 3) { /* before 2.3 caplen and len were swapped */
        uint32_t le = (uint32_t)cap->magic[0] | (uint32_t)cap->magic[1] << 8 | (uint32_t)cap->magic[2] << 16 |
                      (uint32_t)cap->magic[3] << 24;
        uint32_t be = (uint32_t)cap->magic[3] | (uint32_t)cap->magic[2] << 8 | (uint32_t)cap->magic[1] << 16 |
                      (uint32_t)cap->magic[0] << 24;
        bool host_le = ((const union { uint16_t u; uint8_t b[2]; }){ .u = 1 }).b[0] == 1;
        uint32_t host = host_le ? le : be;
        uint32_t other = host_le ? be : le;
        if (host == 0xA1B2C3D4u || host == 0xA1B23C4Du || other == 0xA1B2C3D4u || other == 0xA1B23C4Du) {
            cap->fast = true;
            cap->fast_swapped = pcap_is_swapped(cap->pcap) == 1;
            cap->fast_nsec = (host == 0xA1B23C4Du || other == 0xA1B23C4Du);
            int snap = pcap_snapshot(cap->pcap);
            cap->fast_snaplen = snap > 0 ? (uint32_t)snap : 0;
        }
    }
#endif
    return cap;
}

/* Bytes libpcap has taken from the stream. */
static uint64_t consumed(const struct capture *cap)
{
#ifdef __GLIBC__
    return cap->delivered - (uint64_t)(cap->fp->_IO_read_end - cap->fp->_IO_read_ptr);
#else
    return cap->delivered;
#endif
}

/* pcapng timestamps are 64-bit counts in any resolution, so a hostile file
 * can name seconds whose microseconds overflow int64.  Clamp to about
 * +-73,000 years: any two timestamps can still be subtracted, and a
 * timeout added, without overflow downstream. */
#define TS_SEC_LIMIT (INT64_MAX / 4 / 1000000)

static int64_t ts_to_us(int64_t sec, int64_t nsec)
{
    if (sec > TS_SEC_LIMIT)
        sec = TS_SEC_LIMIT;
    else if (sec < -TS_SEC_LIMIT)
        sec = -TS_SEC_LIMIT;
    return sec * 1000000 + nsec / 1000;
}

#ifdef __GLIBC__
static uint32_t rec_u32(const uint8_t *q, bool swapped)
{
    uint32_t v;
    memcpy(&v, q, 4);
    return swapped ? __builtin_bswap32(v) : v;
}

/* The next classic-pcap record when it lies whole in the stream's buffer:
 * point into the buffer and step over it (glibc's public FILE fields; what
 * getc() does a byte at a time).  Anything else -- a record across the
 * buffer's end, an odd length, the end of input, an error -- is left to
 * libpcap at the very same position, so answers and error messages do not
 * change; this only spares two stdio reads and a copy per record. */
static bool fast_record(struct capture *cap, struct capture_record *rec)
{
    FILE *fp = cap->fp;
    const uint8_t *p = (const uint8_t *)fp->_IO_read_ptr;
    size_t avail = (size_t)(fp->_IO_read_end - fp->_IO_read_ptr);
    if (avail < 16)
        return false;
    uint32_t sec = rec_u32(p, cap->fast_swapped);
    uint32_t frac = rec_u32(p + 4, cap->fast_swapped);
    uint32_t caplen = rec_u32(p + 8, cap->fast_swapped);
    uint32_t len = rec_u32(p + 12, cap->fast_swapped);
    /* libpcap's own checks (caplen above the snapshot length or its maximum)
     * and a fraction out of range stay libpcap's business */
    if (caplen > cap->fast_snaplen || caplen > len || frac >= (cap->fast_nsec ? 1000000000u : 1000000u) ||
        avail - 16 < caplen)
        return false;
    cap->frame++;
    rec->ts_us = (int64_t)sec * 1000000 + (int64_t)(cap->fast_nsec ? frac / 1000 : frac);
    rec->caplen = caplen;
    rec->wirelen = len;
    rec->data = p + 16;
    rec->frame = cap->frame;
    fp->_IO_read_ptr += 16 + (size_t)caplen;
    return true;
}
#endif

int capture_next(struct capture *cap, struct capture_record *rec)
{
    if (cap->state == CAP_EOF)
        return 0;
    if (cap->state == CAP_ERROR)
        return -1;
#ifdef __GLIBC__
    if (cap->fast && fast_record(cap, rec))
        return 1;
#endif
    uint64_t record_start = consumed(cap); /* exact for pcap: records follow each other */
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(cap->pcap, &h, &data);
    if (rc == 1) {
        cap->frame++;
        /* opened with nanosecond precision: tv_usec holds nanoseconds */
        rec->ts_us = ts_to_us((int64_t)h->ts.tv_sec, (int64_t)h->ts.tv_usec);
        rec->caplen = h->caplen;
        rec->wirelen = h->len;
        rec->data = data;
        rec->frame = cap->frame;
        return 1;
    }
    uint64_t failed_at = consumed(cap), block;
    if (cap->pcapng && failed_at > record_start && ng_walk_block_before(&cap->walk, failed_at, &block) &&
        block >= record_start)
        record_start = block;
    if (rc == PCAP_ERROR_BREAK && !cap->io_err[0]) {
        cap->state = CAP_EOF;
        return 0;
    }
    cap->state = CAP_ERROR;
    const char *what = cap->pcapng ? "block" : "record";
    if (rc == PCAP_ERROR_BREAK)
        snprintf(cap->err, sizeof cap->err, "%s: %s after %llu complete records (decompressed byte offset %llu)",
                 cap->name, cap->io_err, (unsigned long long)cap->frame, (unsigned long long)record_start);
    else
        snprintf(cap->err, sizeof cap->err, "%s: bad or incomplete %s at byte offset %llu%s after %llu complete records: %s%s%s",
                 cap->name, what, (unsigned long long)record_start, cap->gzip ? " of the decompressed stream" : "",
                 (unsigned long long)cap->frame, pcap_geterr(cap->pcap), cap->io_err[0] ? "; " : "", cap->io_err);
    return -1;
}

const char *capture_error(const struct capture *cap) { return cap->err; }
const char *capture_name(const struct capture *cap) { return cap->name; }
int capture_linktype(const struct capture *cap) { return cap->dlt; }

const char *capture_linktype_name(const struct capture *cap)
{
    const char *n = pcap_datalink_val_to_name(cap->dlt);
    return n ? n : "unknown";
}

const char *capture_format(const struct capture *cap) { return cap->pcapng ? "pcapng" : "pcap"; }
bool capture_is_gzip(const struct capture *cap) { return cap->gzip; }
uint64_t capture_bytes_read(const struct capture *cap) { return consumed(cap); }
uint64_t capture_raw_bytes_read(const struct capture *cap) { return cap->raw_consumed; }
int64_t capture_size_hint(const struct capture *cap) { return cap->size_hint; }

void capture_close(struct capture *cap)
{
    capture_free(cap);
}
