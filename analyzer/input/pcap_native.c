/* pcap_native.c - classic pcap (draft-ietf-opsawg-pcap) read in place.
 *
 * Every rule here is libpcap 1.10's (sf-pcap.c), so both readers give the same
 * records: version checks, the 2.3 caplen/len swap, a captured length above
 * the link type's maximum is an error, above the snapshot length it is cut to
 * it, timestamps converted to nanoseconds from the header fields as libpcap
 * types them (seconds signed in the writer's byte order, unsigned swapped). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "wire.h"

#define FILE_HDR 24
#define REC_HDR 16

enum len_swap { LEN_NOT_SWAPPED, LEN_SWAPPED, LEN_MAYBE_SWAPPED };

struct pcap_native {
    struct source *src;
    bool swapped;           /* the writer's byte order is not ours */
    bool big_endian;        /* the file's byte order */
    bool nsec;
    enum len_swap len_swap;
    /* A record header in our byte order with lengths as written: the
     * common case, read by plain_next() without the general rules' checks
     * of byte order and length swaps. */
    bool plain;
    struct linktype_info lt;
    uint64_t frame;
};

static const uint32_t MAGIC_USEC = 0xa1b2c3d4u, MAGIC_NSEC = 0xa1b23c4du;

enum native_kind native_sniff(const uint8_t *m)
{
    uint32_t be = load_u32be(m), le = load_u32le(m);
    if (be == MAGIC_USEC || be == MAGIC_NSEC || le == MAGIC_USEC || le == MAGIC_NSEC)
        return NATIVE_PCAP;
    if (be == 0x0A0D0D0Au)
        return NATIVE_PCAPNG;
    return NATIVE_NONE;
}

static bool host_is_le(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static uint32_t get32(struct wire *w, bool be) { return be ? wire_u32be(w) : wire_u32le(w); }
static uint16_t get16(struct wire *w, bool be) { return be ? wire_u16be(w) : wire_u16le(w); }

struct pcap_native *pcap_native_open(struct source *src, char *why, size_t whylen)
{
    size_t have = source_ensure(src, FILE_HDR);
    if (have < FILE_HDR) {
        /* libpcap reads the 20 bytes after the magic */
        snprintf(why, whylen, "truncated dump file; tried to read %d file header bytes, only got %zu", FILE_HDR,
                 have > 4 ? have - 4 : 0);
        return NULL;
    }
    struct wire w = wire_make(source_ptr(src), FILE_HDR);
    bool be = wire_u32be(&w) == MAGIC_USEC || load_u32be(source_ptr(src)) == MAGIC_NSEC;
    w.off = 0;
    uint32_t magic = get32(&w, be);
    uint16_t major = get16(&w, be), minor = get16(&w, be);
    wire_skip(&w, 8); /* thiszone, sigfigs: unused, as in libpcap */
    uint32_t snaplen = get32(&w, be), linktype = get32(&w, be);
    if (major < 2) {
        snprintf(why, whylen, "archaic pcap savefile format");
        return NULL;
    }
    if (!((major == 2 && minor <= 4) || (major == 543 && minor == 0))) {
        snprintf(why, whylen, "unsupported pcap savefile version %u.%u", major, minor);
        return NULL;
    }
    struct pcap_native *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    r->src = src;
    r->big_endian = be;
    r->swapped = be == host_is_le();
    r->nsec = magic == MAGIC_NSEC;
    if (major == 543 || minor < 3)
        r->len_swap = LEN_SWAPPED;
    else if (minor == 3)
        r->len_swap = LEN_MAYBE_SWAPPED;
    /* LT_LINKTYPE(): the low 26 bits name the type, the rest are extensions */
    if (!linktype_lookup(linktype & 0x03FFFFFFu, snaplen, &r->lt, why, whylen)) {
        free(r);
        return NULL;
    }
    r->plain = !r->swapped && r->len_swap == LEN_NOT_SWAPPED;
    source_consume(src, FILE_HDR);
    return r;
}

int pcap_native_linktype(const struct pcap_native *r) { return r->lt.dlt; }

void pcap_native_close(struct pcap_native *r) { free(r); }

static int fault(struct pcap_native *r, struct read_fault *f, uint64_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fault(struct pcap_native *r, struct read_fault *f, uint64_t at, const char *fmt, ...)
{
    (void)r;
    f->offset = at;
    f->has_offset = true;
    f->block = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof f->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* The record header's timestamp as libpcap types it: struct pcap_timeval
 * holds signed 32-bit fields, which SWAPLONG() turns unsigned. */
static int64_t field_i64(uint32_t v, bool swapped) { return swapped ? (int64_t)v : (int64_t)(int32_t)v; }

/* The general reader: any byte order, length swaps, short windows and
 * faults.  Out of line, so that the common record's path below saves no
 * registers for it. */
static int __attribute__((noinline)) general_next(struct pcap_native *r, struct capture_record *rec,
                                                  struct read_fault *f)
{
    struct source *src = r->src;
    uint64_t at = source_pos(src);
    size_t have = source_avail(src) >= REC_HDR ? source_avail(src) : source_ensure(src, REC_HDR);
    if (have == 0)
        return 0;
    if (have < REC_HDR)
        return fault(r, f, at, "truncated dump file; tried to read %d header bytes, only got %zu", REC_HDR, have);
    struct wire w = wire_make(source_ptr(src), have);
    uint32_t sec = get32(&w, r->big_endian), frac = get32(&w, r->big_endian);
    uint32_t caplen = get32(&w, r->big_endian), len = get32(&w, r->big_endian);
    if (r->len_swap == LEN_SWAPPED || (r->len_swap == LEN_MAYBE_SWAPPED && caplen > len)) {
        uint32_t t = caplen;
        caplen = len;
        len = t;
    }
    if (caplen > r->lt.max_snaplen) {
        if (caplen > r->lt.snapshot)
            return fault(r, f, at, "invalid packet capture length %u, bigger than snaplen of %u", caplen,
                         r->lt.snapshot);
        return fault(r, f, at, "invalid packet capture length %u, bigger than maximum of %u", caplen,
                     r->lt.max_snaplen);
    }
    /* longer than the snapshot length: libpcap keeps the first snapshot bytes */
    uint32_t keep = caplen > r->lt.snapshot ? r->lt.snapshot : caplen;
    size_t need = REC_HDR + (size_t)caplen;
    if (have < need)
        have = source_ensure(src, need);
    if (have < need) {
        size_t got = have - REC_HDR;
        return fault(r, f, at, "truncated dump file; tried to read %u captured bytes, only got %zu",
                     got < keep ? keep : caplen, got);
    }
    int64_t nsec = field_i64(frac, r->swapped);
    if (!r->nsec)
        nsec *= 1000;
    r->frame++;
    rec->ts_us = reader_ts_us(field_i64(sec, r->swapped), nsec);
    rec->caplen = keep;
    rec->wirelen = len;
    rec->data = source_ptr(src) + REC_HDR;
    rec->frame = r->frame;
    rec->dlt = r->lt.dlt;
    source_consume(src, need);
    return 1;
}

/* The common record: header in our byte order, lengths not swapped, the
 * whole record in the window, captured length within the snapshot (so
 * within the link type's maximum too, which is never below it).  Anything
 * else goes to general_next(), which gives libpcap's answer for it. */
int pcap_native_next(struct pcap_native *r, struct capture_record *rec, struct read_fault *f)
{
    struct source *src = r->src;
    size_t have = source_avail(src);
    if (r->plain && have >= REC_HDR) {
        const uint8_t *h = source_ptr(src);
        uint32_t hdr[4];
        memcpy(hdr, h, sizeof hdr);
        uint32_t caplen = hdr[2];
        if (caplen <= r->lt.snapshot && caplen <= r->lt.max_snaplen && have - REC_HDR >= caplen) {
            int64_t frac = (int64_t)(int32_t)hdr[1];
            /* reader_ts_us() of (sec, frac * 1000) is (clamped sec) * 10^6 + frac */
            rec->ts_us = r->nsec ? reader_ts_us((int64_t)(int32_t)hdr[0], frac)
                                 : reader_ts_us((int64_t)(int32_t)hdr[0], 0) + frac;
            rec->caplen = caplen;
            rec->wirelen = hdr[3];
            rec->data = h + REC_HDR;
            rec->frame = ++r->frame;
            rec->dlt = r->lt.dlt;
            source_consume(src, REC_HDR + (size_t)caplen);
            return 1;
        }
    }
    return general_next(r, rec, f);
}
