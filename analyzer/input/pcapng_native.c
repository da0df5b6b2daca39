/* pcapng_native.c - pcapng (draft-ietf-opsawg-pcapng) read in place.
 *
 * Where libpcap 1.10 (sf-pcapng.c) reads a file, the answers are its own:
 * block checks and their messages, interface timestamp resolution and offset
 * (if_tsresol, if_tsoffset) converted to nanoseconds with its integer
 * arithmetic, Enhanced, Simple and obsolete Packet blocks, unknown blocks
 * skipped.  Where it gives up, we go on as Wireshark does: interfaces of
 * different link types and snapshot lengths (each record carries its own
 * link type) and sections of either byte order. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "wire.h"

enum {
    BT_IDB = 1, BT_PB = 2, BT_SPB = 3, BT_ISB = 5, BT_EPB = 6, BT_SHB = 0x0A0D0D0A,
    OPT_END = 0, IF_FILTER = 11, IF_TSRESOL = 9, IF_TSOFFSET = 14,
    ISB_IFRECV = 4, ISB_IFDROP = 5, ISB_OSDROP = 7, EPB_DROPCOUNT = 4,
};
#define PB_DROPS_UNKNOWN 0xFFFFu /* the obsolete Packet Block: "not available" */
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
/* Interfaces per section: 48 bytes each, so 2^20 let a 51 KB gzip of
 * identical IDBs take 67 MiB (review); dumpcap writes one per capture
 * interface, mergecap the union of its inputs': 65,536 is beyond any. */
#define MAX_IFACES (1u << 16)
/* The largest block: libpcap starts at 16 MiB and grows it to an EPB of its
 * link type's maximum packet with 128 KiB of options (128 MiB for D-Bus).
 * Ours stays at 16 MiB: a block is held whole in the window, and a 457 KB
 * gzip of one 100 MiB D-Bus block took 114 MiB (review).  Every link type
 * smbscope decodes has a 262,144-byte maximum, far below. */
#define MAX_BLOCK (16u * 1024u * 1024u)
#define LT_CACHE 8

enum scale { PASS, UP_DEC, DOWN_DEC, BIN };

/* An Interface Statistics Block's counters (dumpcap writes one per
 * interface at the end; each holds the totals so far: the last one counts). */
struct ng_drops {
    uint64_t recv, osdrop, ifdrop;
    bool seen;
};

struct ng_iface {
    struct linktype_info lt;
    uint64_t tsresol;
    int64_t tsoffset;
    enum scale scale;
    uint64_t factor;
    struct ng_drops drops; /* its last ISB's */
    /* Writers without ISBs may count losses per packet instead: the EPB
     * option epb_dropcount, the obsolete Packet Block's drops count, each
     * the packets lost since the one before (tshark: frame.drop_count). */
    uint64_t pkts, pkt_drops;
};

/* Distinct string if_filters of every interface of every section: the
 * verdict judges them together (filters_joined). */
#define MAX_FILTERS 16

struct pcapng_native {
    struct source *src;
    bool be;                    /* the current section's byte order */
    struct ng_iface *ifs;       /* the current section's interfaces */
    uint32_t nifs, ifs_cap;
    int first_dlt;
    bool seen_idb;
    char *filters[MAX_FILTERS]; /* distinct if_filter strings, in the order met */
    unsigned nfilters;
    bool filters_past;          /* more distinct ones than MAX_FILTERS */
    char *filters_joined;       /* them as one filter, when there are several */
    struct ng_drops drops_done; /* ISB totals of the sections before this one */
    uint64_t frame;
    struct linktype_info cache[LT_CACHE];
    unsigned ncache;
};

struct ng_block {
    uint64_t at;
    uint32_t type, len;
    bool be;
    struct wire body;
};

static int fail(struct read_fault *f, uint64_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct read_fault *f, uint64_t at, const char *fmt, ...)
{
    f->offset = at;
    f->has_offset = true;
    f->block = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof f->why, fmt, ap);
    va_end(ap);
    return -1;
}

static uint32_t u32(struct wire *w, bool be) { return be ? wire_u32be(w) : wire_u32le(w); }
static uint16_t u16(struct wire *w, bool be) { return be ? wire_u16be(w) : wire_u16le(w); }
static uint64_t u64(struct wire *w, bool be)
{
    uint64_t a = u32(w, be), b = u32(w, be);
    return be ? (a << 32 | b) : (b << 32 | a);
}

static int too_short(struct read_fault *f, const struct ng_block *b)
{
    return fail(f, b->at, "block of type %u in pcapng dump file is too short", b->type);
}

/* The next block, whole, with its trailer checked: 1, 0 at a clean end, -1. */
static int read_block(struct pcapng_native *r, struct ng_block *b, struct read_fault *f)
{
    struct source *src = r->src;
    b->at = source_pos(src);
    size_t have = source_avail(src) >= 12 ? source_avail(src) : source_ensure(src, 12);
    if (have == 0)
        return 0;
    if (have < 8)
        return fail(f, b->at, "truncated pcapng dump file; tried to read 8 bytes, only got %zu", have);
    struct wire w = wire_make(source_ptr(src), have);
    b->be = r->be;
    b->type = u32(&w, b->be);
    if (b->type == BT_SHB) { /* its own byte-order magic says how to read its length */
        if (have < 12)
            return fail(f, b->at, "truncated pcapng dump file; tried to read 12 bytes, only got %zu", have);
        uint32_t m = load_u32be(source_ptr(src) + 8);
        if (m != BYTE_ORDER_MAGIC && m != 0x4D3C2B1Au)
            return fail(f, b->at, "the file has a section with a bad byte order magic field");
        b->be = m == BYTE_ORDER_MAGIC;
    }
    b->len = u32(&w, b->be);
    if (b->len < 12)
        return fail(f, b->at, "block in pcapng dump file has a length of %u < 12", b->len);
    if (b->len % 4 != 0)
        return fail(f, b->at, "block in pcapng dump file has a length of %u that is not a multiple of 4", b->len);
    if (b->len > MAX_BLOCK)
        return fail(f, b->at, "pcapng block size %u > maximum %u", b->len, MAX_BLOCK);
    if (have < b->len)
        have = source_ensure(src, b->len);
    if (have < b->len)
        return fail(f, b->at, "truncated pcapng dump file; tried to read %u bytes, only got %zu", b->len - 8,
                    have - 8);
    w = wire_make(source_ptr(src), b->len);
    wire_skip(&w, b->len - 4);
    uint32_t trailer = u32(&w, b->be);
    if (trailer != b->len)
        return fail(f, b->at, "block total length in header and trailer don't match");
    w = wire_make(source_ptr(src) + 8, b->len - 12);
    b->body = w;
    return 1;
}

static bool lookup_cached(struct pcapng_native *r, uint32_t lt, uint32_t snaplen, struct linktype_info *out,
                          char *why, size_t whylen)
{
    for (unsigned i = 0; i < r->ncache; i++)
        if (r->cache[i].linktype == lt && r->cache[i].snaplen == snaplen) {
            *out = r->cache[i];
            return true;
        }
    if (!linktype_lookup(lt, snaplen, out, why, whylen))
        return false;
    r->cache[r->ncache++ % LT_CACHE] = *out;
    if (r->ncache > LT_CACHE)
        r->ncache = LT_CACHE;
    return true;
}

static int set_tsresol(struct ng_iface *ifc, uint8_t v, const struct ng_block *b, struct read_fault *f)
{
    if (v & 0x80) {
        if ((v & 0x7F) > 63)
            return fail(f, b->at, "Interface Description Block if_tsresol option resolution 2^-%u is too high",
                        v & 0x7Fu);
        ifc->tsresol = UINT64_C(1) << (v & 0x7F);
        ifc->scale = BIN;
        return 0;
    }
    if (v > 19)
        return fail(f, b->at, "Interface Description Block if_tsresol option resolution 10^-%u is too high", v);
    ifc->tsresol = 1;
    for (unsigned i = 0; i < v; i++)
        ifc->tsresol *= 10;
    ifc->scale = PASS;
    return 0;
}

/* One filter as it was; several as "(f1) and (f2) ...": a probe the verdict
 * sends passes only if every interface's filter lets it through, so what
 * any of them hides is judged hidden (an unfiltered interface may carry
 * another segment).  Past MAX_FILTERS an operand libpcap cannot compile
 * makes the filter one that "could not be checked", not a shorter one. */
static void join_filters(struct pcapng_native *r)
{
    size_t len = sizeof "(more interface filters than smbscope reads)";
    for (unsigned i = 0; i < r->nfilters; i++)
        len += strlen(r->filters[i]) + sizeof "() and ";
    char *j = malloc(len);
    if (!j)
        return; /* the last joined stays: fewer operands, never none */
    size_t at = 0;
    for (unsigned i = 0; i < r->nfilters; i++)
        at += (size_t)snprintf(j + at, len - at, "%s(%s)", i ? " and " : "", r->filters[i]);
    if (r->filters_past)
        snprintf(j + at, len - at, " and (more interface filters than smbscope reads)");
    free(r->filters_joined);
    r->filters_joined = j;
}

/* A filter string of some interface, kept once.  Every interface's counts:
 * dumpcap writes one IDB per -i with that interface's -f, and a capture
 * whose second interface was filtered is judged by that filter too
 * (review: only the first IDB's was read, and a capture filtered on
 * interface 1 passed). */
static void add_filter(struct pcapng_native *r, const char *p, size_t n)
{
    size_t len = strnlen(p, n);
    for (unsigned i = 0; i < r->nfilters; i++)
        if (strlen(r->filters[i]) == len && memcmp(r->filters[i], p, len) == 0)
            return;
    if (r->nfilters == MAX_FILTERS) {
        if (!r->filters_past) {
            r->filters_past = true;
            join_filters(r);
        }
        return;
    }
    char *f = strndup(p, len);
    if (!f)
        return;
    r->filters[r->nfilters++] = f;
    if (r->nfilters > 1)
        join_filters(r);
}

/* IDB options: if_tsresol, if_tsoffset (checked as libpcap checks them), and
 * if_filter. */
static int idb_options(struct pcapng_native *r, struct ng_iface *ifc, struct ng_block *b, struct read_fault *f)
{
    bool saw_resol = false, saw_offset = false;
    while (wire_left(&b->body) != 0) {
        if (!wire_has(&b->body, 4))
            return too_short(f, b);
        uint16_t code = u16(&b->body, b->be), olen = u16(&b->body, b->be);
        struct wire v = wire_sub(&b->body, ((size_t)olen + 3) & ~(size_t)3);
        if (!wire_ok(&v))
            return too_short(f, b);
        if (code == OPT_END) {
            if (olen != 0)
                return fail(f, b->at, "Interface Description Block has opt_endofopt option with length %u != 0", olen);
            break;
        }
        if (code == IF_TSRESOL) {
            if (olen != 1)
                return fail(f, b->at, "Interface Description Block has if_tsresol option with length %u != 1", olen);
            if (saw_resol)
                return fail(f, b->at, "Interface Description Block has more than one if_tsresol option");
            saw_resol = true;
            if (set_tsresol(ifc, wire_u8(&v), b, f) < 0)
                return -1;
        } else if (code == IF_TSOFFSET) {
            if (olen != 8)
                return fail(f, b->at, "Interface Description Block has if_tsoffset option with length %u != 8", olen);
            if (saw_offset)
                return fail(f, b->at, "Interface Description Block has more than one if_tsoffset option");
            saw_offset = true;
            ifc->tsoffset = (int64_t)u64(&v, b->be);
        } else if (code == IF_FILTER && olen >= 1 && wire_peek_u8(&v, 0) == 0) {
            /* first byte 0: the filter as a libpcap/BPF string */
            add_filter(r, (const char *)v.p + 1, olen - 1u);
        }
    }
    return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* An interface's losses: its ISB's counters; past them, or without an ISB,
 * what its packets said they lost (received: those packets and the lost). */
static struct ng_drops iface_drops(const struct ng_iface *ifc)
{
    struct ng_drops d = ifc->drops;
    if (ifc->pkt_drops && ifc->pkt_drops > d.osdrop) {
        if (!d.seen)
            d.recv = sat_add(ifc->pkts, ifc->pkt_drops);
        d.osdrop = ifc->pkt_drops;
        d.seen = true;
    }
    return d;
}

static void add_drops(struct ng_drops *sum, const struct ng_iface *ifc)
{
    struct ng_drops dd = iface_drops(ifc), *d = &dd;
    if (!d->seen)
        return;
    sum->recv = sat_add(sum->recv, d->recv);
    sum->osdrop = sat_add(sum->osdrop, d->osdrop);
    sum->ifdrop = sat_add(sum->ifdrop, d->ifdrop);
    sum->seen = true;
}

static int add_iface(struct pcapng_native *r, struct ng_block *b, struct read_fault *f)
{
    if (!wire_has(&b->body, 8))
        return too_short(f, b);
    uint16_t linktype = u16(&b->body, b->be);
    wire_skip(&b->body, 2);
    uint32_t snaplen = u32(&b->body, b->be);
    if (r->nifs == r->ifs_cap) {
        if (r->ifs_cap >= MAX_IFACES)
            return fail(f, b->at, "more than %u interfaces in a section", MAX_IFACES);
        uint32_t ncap = r->ifs_cap ? r->ifs_cap * 2 : 4;
        struct ng_iface *n = realloc(r->ifs, ncap * sizeof *n);
        if (!n)
            return fail(f, b->at, "out of memory for %u interfaces", ncap);
        r->ifs = n;
        r->ifs_cap = ncap;
    }
    struct ng_iface ifc = { .tsresol = 1000000, .scale = PASS };
    if (idb_options(r, &ifc, b, f) < 0)
        return -1;
    if (ifc.scale != BIN) {
        if (ifc.tsresol < 1000000000u) {
            ifc.scale = UP_DEC;
            ifc.factor = 1000000000u / ifc.tsresol;
        } else if (ifc.tsresol > 1000000000u) {
            ifc.scale = DOWN_DEC;
            ifc.factor = ifc.tsresol / 1000000000u;
        }
    }
    if (!lookup_cached(r, linktype, snaplen, &ifc.lt, f->why, sizeof f->why))
        return fail(f, b->at, "%s", f->why);
    if (!r->seen_idb)
        r->first_dlt = ifc.lt.dlt;
    r->seen_idb = true;
    r->ifs[r->nifs++] = ifc;
    return 0;
}

/* A section header: a new byte order and a new set of interfaces. */
static int new_section(struct pcapng_native *r, struct ng_block *b, bool first, struct read_fault *f)
{
    if (!wire_has(&b->body, 16))
        return first ? fail(f, b->at, "block in pcapng dump file has a length of %u < 28", b->len) : too_short(f, b);
    wire_skip(&b->body, 4);
    uint16_t major = u16(&b->body, b->be), minor = u16(&b->body, b->be);
    if (first && !(major == 1 && (minor == 0 || minor == 2)))
        return fail(f, b->at, "unsupported pcapng savefile version %u.%u", major, minor);
    if (major != 1)
        return fail(f, b->at, "unknown pcapng savefile major version number %u", major);
    r->be = b->be;
    for (uint32_t i = 0; i < r->nifs; i++) /* the section's interfaces end: their totals stay */
        add_drops(&r->drops_done, &r->ifs[i]);
    r->nifs = 0;
    return 0;
}

/* An Interface Statistics Block: its interface's received and dropped
 * counters (options isb_ifrecv, isb_ifdrop, isb_osdrop), the latest kept. */
static int interface_stats(struct pcapng_native *r, struct ng_block *b, struct read_fault *f)
{
    if (!wire_has(&b->body, 12))
        return too_short(f, b);
    uint32_t id = u32(&b->body, b->be);
    wire_skip(&b->body, 8); /* timestamp */
    struct ng_drops d = { 0 };
    while (wire_has(&b->body, 4)) {
        uint16_t code = u16(&b->body, b->be), olen = u16(&b->body, b->be);
        struct wire v = wire_sub(&b->body, ((size_t)olen + 3) & ~(size_t)3);
        if (!wire_ok(&v) || code == OPT_END)
            break;
        uint64_t *slot = code == ISB_IFRECV ? &d.recv : code == ISB_IFDROP ? &d.ifdrop : code == ISB_OSDROP ? &d.osdrop : NULL;
        if (slot && olen == 8) {
            *slot = u64(&v, b->be);
            d.seen = true;
        }
    }
    if (id < r->nifs && d.seen) /* an ISB of an interface not described is skipped, as libpcap does */
        r->ifs[id].drops = d;
    return 0;
}

static uint64_t scale_frac(const struct ng_iface *ifc, uint64_t frac)
{
    switch (ifc->scale) {
    case PASS:
        return frac;
    case UP_DEC:
        return frac * ifc->factor;
    case DOWN_DEC:
        return frac / ifc->factor;
    case BIN:
        break;
    }
    return frac * 1000000000u / ifc->tsresol; /* libpcap's order: may wrap, as there */
}

/* An EPB's epb_dropcount, after its data of caplen bytes (body left just
 * past them); 0 without one.  A malformed option list ends the walk, as
 * it does in tshark: the packet itself is still read. */
static uint64_t epb_dropcount(struct wire *body, uint32_t caplen, bool be)
{
    struct wire w = *body;
    wire_skip(&w, (4 - (caplen & 3)) & 3);
    while (wire_has(&w, 4)) {
        uint16_t code = u16(&w, be), olen = u16(&w, be);
        struct wire v = wire_sub(&w, ((size_t)olen + 3) & ~(size_t)3);
        if (!wire_ok(&v) || code == OPT_END)
            break;
        if (code == EPB_DROPCOUNT && olen == 8)
            return u64(&v, be);
    }
    return 0;
}

/* A packet block into rec: 1, or -1 on a fault. */
static int packet(struct pcapng_native *r, struct ng_block *b, struct capture_record *rec, struct read_fault *f)
{
    uint32_t iface, caplen, len, pb_drops = 0;
    uint64_t t = 0;
    bool be = b->be;
    if (b->type == BT_SPB) {
        if (!wire_has(&b->body, 4))
            return too_short(f, b);
        len = u32(&b->body, be);
        iface = 0;
        if (r->nifs == 0)
            return fail(f, b->at, "a packet arrived on interface 0, but there's no Interface Description Block for that interface");
        caplen = len > r->ifs[0].lt.snapshot ? r->ifs[0].lt.snapshot : len;
    } else {
        if (!wire_has(&b->body, 20))
            return too_short(f, b);
        if (b->type == BT_EPB) {
            iface = u32(&b->body, be);
        } else {
            iface = u16(&b->body, be);
            pb_drops = u16(&b->body, be);
        }
        uint64_t hi = u32(&b->body, be), lo = u32(&b->body, be);
        t = hi << 32 | lo;
        caplen = u32(&b->body, be);
        len = u32(&b->body, be);
    }
    if (iface >= r->nifs)
        return fail(f, b->at, "a packet arrived on interface %u, but there's no Interface Description Block for that interface", iface);
    struct ng_iface *ifc = &r->ifs[iface];
    if (caplen > ifc->lt.snapshot)
        return fail(f, b->at, "invalid packet capture length %u, bigger than snaplen of %u", caplen, ifc->lt.snapshot);
    const uint8_t *data = wire_bytes(&b->body, caplen);
    if (!data)
        return too_short(f, b);
    ifc->pkts++;
    if (b->type == BT_EPB && wire_left(&b->body) >= 4)
        ifc->pkt_drops = sat_add(ifc->pkt_drops, epb_dropcount(&b->body, caplen, be));
    else if (b->type == BT_PB && pb_drops != PB_DROPS_UNKNOWN)
        ifc->pkt_drops = sat_add(ifc->pkt_drops, pb_drops);
    /* the usual resolutions divide by a constant (a multiply), not by a
     * variable (a 64-bit division per record); same quotient either way */
    uint64_t q, rem;
    if (ifc->tsresol == 1000000u) {
        q = t / 1000000u;
        rem = t % 1000000u;
    } else if (ifc->tsresol == 1000000000u) {
        q = t / 1000000000u;
        rem = t % 1000000000u;
    } else {
        q = t / ifc->tsresol;
        rem = t % ifc->tsresol;
    }
    uint64_t sec = q + (uint64_t)ifc->tsoffset;
    uint64_t frac = scale_frac(ifc, rem);
    r->frame++;
    /* libpcap: tv_sec = (time_t)sec, tv_usec = (int)frac */
    rec->ts_us = reader_ts_us((int64_t)sec, (int64_t)(int32_t)(uint32_t)frac);
    rec->caplen = caplen;
    rec->wirelen = len;
    rec->data = data;
    rec->frame = r->frame;
    rec->dlt = ifc->lt.dlt;
    return 1;
}

int pcapng_native_next(struct pcapng_native *r, struct capture_record *rec, struct read_fault *f)
{
    for (;;) {
        struct ng_block b;
        int rc = read_block(r, &b, f);
        if (rc <= 0)
            return rc;
        switch (b.type) {
        case BT_EPB:
        case BT_SPB:
        case BT_PB:
            rc = packet(r, &b, rec, f);
            break;
        case BT_IDB:
            rc = add_iface(r, &b, f);
            break;
        case BT_SHB:
            rc = new_section(r, &b, false, f);
            break;
        case BT_ISB:
            rc = interface_stats(r, &b, f);
            break;
        default:
            rc = 0; /* comments, name resolution, custom, unknown */
            break;
        }
        if (rc < 0)
            return -1;
        source_consume(r->src, b.len); /* the record's bytes stay valid until the next ensure */
        if (rc == 1)
            return 1;
    }
}

struct pcapng_native *pcapng_native_open(struct source *src, char *why, size_t whylen)
{
    struct pcapng_native *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    r->src = src;
    struct read_fault f = { 0 };
    struct ng_block b;
    int rc = read_block(r, &b, &f);
    if (rc == 1 && b.type == BT_SHB)
        rc = new_section(r, &b, true, &f) < 0 ? -1 : 1;
    if (rc == 1)
        source_consume(src, b.len);
    /* libpcap reads on to the first interface description */
    while (rc == 1 && !r->seen_idb) {
        rc = read_block(r, &b, &f);
        if (rc == 0) {
            snprintf(f.why, sizeof f.why, "the capture file has no Interface Description Blocks");
            rc = -1;
        } else if (rc == 1 && (b.type == BT_EPB || b.type == BT_SPB || b.type == BT_PB)) {
            snprintf(f.why, sizeof f.why, "the capture file has a packet block before any Interface Description Blocks");
            rc = -1;
        } else if (rc == 1) {
            if (b.type == BT_IDB && add_iface(r, &b, &f) < 0)
                rc = -1;
            else
                source_consume(src, b.len);
        }
    }
    if (rc < 0 || rc == 0) {
        snprintf(why, whylen, "%s", rc == 0 ? "the capture file has no Interface Description Blocks" : f.why);
        pcapng_native_close(r);
        return NULL;
    }
    return r;
}

int pcapng_native_linktype(const struct pcapng_native *r) { return r->first_dlt; }
const char *pcapng_native_filter(const struct pcapng_native *r)
{
    return r->nfilters == 1 && !r->filters_past ? r->filters[0] : r->filters_joined;
}

bool pcapng_native_drops(const struct pcapng_native *r, uint64_t *recv, uint64_t *osdrop, uint64_t *ifdrop)
{
    struct ng_drops sum = r->drops_done;
    for (uint32_t i = 0; i < r->nifs; i++)
        add_drops(&sum, &r->ifs[i]);
    *recv = sum.recv;
    *osdrop = sum.osdrop;
    *ifdrop = sum.ifdrop;
    return sum.seen;
}

void pcapng_native_close(struct pcapng_native *r)
{
    if (!r)
        return;
    free(r->ifs);
    for (unsigned i = 0; i < r->nfilters; i++)
        free(r->filters[i]);
    free(r->filters_joined);
    free(r);
}
