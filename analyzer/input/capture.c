/* capture.c - one capture input: pick the reader, keep the error contract.
 *
 * The bytes come from a source (source.c: a map of the file, or large reads,
 * decompressed when their magic says gzip, zstd or lz4).  Classic pcap and
 * pcapng are read by our own readers, in place (native.h); what they leave
 * aside goes to libpcap (pcap_lib.c), and any other format libwiretap reads
 * (wiretap_reader.c) to libwiretap.  SMBSCOPE_READER=libpcap|wiretap|mmap
 * forces one reader (mmap: ours over a map of the file instead of reads): the
 * tests compare them. */
#include "capture.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_head.h"
#include "part_sketch.h"
#include "native.h"
#include "pcap_lib.h"
#include "pump.h"
#include "reader.h"
#include "source.h"
#include "wiretap_reader.h"

enum reader_kind { RD_PCAP, RD_PCAPNG, RD_LIBPCAP, RD_WIRETAP };
enum cap_state { CAP_OPEN, CAP_EOF, CAP_ERROR };

struct capture {
    char name[256];
    struct source *src;
    enum reader_kind kind;
    struct pcap_native *pcap;
    struct pcapng_native *ng;
    struct pcap_lib *lib;
    struct wiretap_reader *wtap;
    int dlt;
    uint64_t frame;
    enum cap_state state;
    bool interrupted;       /* a stop request ended it (source_set_interrupt) */
    struct capture_head head; /* its first records, hashed (the part's identity) */
    struct part_sketch *sketch; /* a sample of the records read, when asked for */
    uint64_t slow_until; /* records up to this number take record_slow(): one comparison for both */
    char err[CAPTURE_ERRBUF_SIZE];
};

enum forced { FORCE_NONE, FORCE_MMAP, FORCE_LIBPCAP, FORCE_WIRETAP };

static enum forced forced_reader(void)
{
    const char *e = getenv("SMBSCOPE_READER");
    if (!e || !*e)
        return FORCE_NONE;
    if (strcmp(e, "libpcap") == 0)
        return FORCE_LIBPCAP;
    if (strcmp(e, "wiretap") == 0)
        return FORCE_WIRETAP;
    return strcmp(e, "mmap") == 0 ? FORCE_MMAP : FORCE_NONE; /* "stream": the default */
}

static void capture_free(struct capture *cap)
{
    if (!cap)
        return;
    pcap_native_close(cap->pcap);
    pcapng_native_close(cap->ng);
    pcap_lib_close(cap->lib);
    wiretap_reader_close(cap->wtap);
    source_close(cap->src);
    capture_head_free(&cap->head);
    free(cap->sketch);
    free(cap);
}

static const char *compressed_note(const struct capture *cap)
{
    switch (source_codec(cap->src)) {
    case CODEC_GZIP:
        return " (after gzip decompression)";
    case CODEC_ZSTD:
        return " (after zstd decompression)";
    case CODEC_LZ4:
        return " (after lz4 decompression)";
    case CODEC_NONE:
        break;
    }
    return "";
}

/* Our readers, then libpcap: true when one took the file, else errbuf. */
static bool open_pcap_family(struct capture *cap, enum native_kind kind, enum forced fr, char *errbuf)
{
    char why[READER_WHY_SIZE] = "";
    if (kind == NATIVE_PCAP && fr != FORCE_LIBPCAP) {
        cap->kind = RD_PCAP;
        cap->pcap = pcap_native_open(cap->src, why, sizeof why);
        if (cap->pcap)
            cap->dlt = pcap_native_linktype(cap->pcap);
    } else if (kind == NATIVE_PCAPNG && fr != FORCE_LIBPCAP) {
        cap->kind = RD_PCAPNG;
        cap->ng = pcapng_native_open(cap->src, why, sizeof why);
        if (cap->ng)
            cap->dlt = pcapng_native_linktype(cap->ng);
    } else {
        cap->kind = RD_LIBPCAP;
        cap->lib = pcap_lib_open(cap->src, why, sizeof why);
        if (cap->lib)
            cap->dlt = pcap_lib_linktype(cap->lib);
    }
    if (cap->pcap || cap->ng || cap->lib)
        return true;
    if (source_error(cap->src)[0])
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: %s-compressed input: %s", cap->name,
                 source_codec_name(source_codec(cap->src)), source_error(cap->src));
    else
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: not a readable pcap/pcapng capture%s: %s", cap->name,
                 compressed_note(cap), why);
    return false;
}

static bool open_wiretap(struct capture *cap, const char *path, char *errbuf)
{
    char why[READER_WHY_SIZE] = "";
    cap->kind = RD_WIRETAP;
    if (source_is_stdin(cap->src) && wiretap_available()) {
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE,
                 "%s: not a pcap or pcapng capture; other formats are read from a file, not standard input", cap->name);
        return false;
    }
    cap->wtap = wiretap_reader_open(path, why, sizeof why);
    if (!cap->wtap) {
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE,
                 "%s: not a readable capture file (neither pcap/pcapng nor a format libwiretap reads)%s: %s",
                 cap->name, compressed_note(cap), why);
        return false;
    }
    /* libwiretap reads the file itself (and decompresses it) */
    source_close(cap->src);
    cap->src = NULL;
    cap->dlt = wiretap_reader_linktype(cap->wtap);
    return true;
}

struct capture *capture_open(const char *path, char *errbuf)
{
    errbuf[0] = '\0';
    struct capture *cap = calloc(1, sizeof *cap);
    if (!cap) {
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: out of memory", path);
        return NULL;
    }
    cap->slow_until = CAPTURE_HEAD_RECORDS;
    enum forced fr = forced_reader();
    /* large reads into an aligned buffer by default: measured, they cost less
     * CPU than a map (page faults and unmapping; tests/bench/RESULTS.md) */
    cap->src = source_open(path, fr == FORCE_MMAP, errbuf, CAPTURE_ERRBUF_SIZE);
    if (!cap->src) {
        free(cap);
        return NULL;
    }
    snprintf(cap->name, sizeof cap->name, "%s", source_name(cap->src));
    size_t have = source_ensure(cap->src, 4);
    enum native_kind kind = have >= 4 ? native_sniff(source_ptr(cap->src)) : NATIVE_NONE;
    bool pcap_magic = pcap_lib_claims(source_ptr(cap->src), have);
    bool ok;
    /* a short or undecompressable start stays libpcap's to refuse: no
     * capture format is that small, and libwiretap's heuristics would take
     * a byte or two for a media file */
    bool other = kind == NATIVE_NONE && !pcap_magic && have >= 4 && !source_error(cap->src)[0];
    if (fr == FORCE_WIRETAP || (other && wiretap_available()))
        ok = open_wiretap(cap, path, errbuf);
    else
        ok = open_pcap_family(cap, kind, fr, errbuf);
    if (!ok) {
        capture_free(cap);
        return NULL;
    }
    return cap;
}

static int read_one(struct capture *cap, struct capture_record *rec, struct read_fault *f)
{
    switch (cap->kind) {
    case RD_PCAP:
        return pcap_native_next(cap->pcap, rec, f);
    case RD_PCAPNG:
        return pcapng_native_next(cap->ng, rec, f);
    case RD_LIBPCAP:
        return pcap_lib_next(cap->lib, rec, f);
    case RD_WIRETAP:
        return wiretap_reader_next(cap->wtap, rec, f);
    }
    return -1;
}

/* The reader stopped (rc 0 or -1): the end of the input, a stop request or
 * an error, told apart once.  Out of line: capture_next() runs per record. */
static int __attribute__((noinline)) capture_ended(struct capture *cap, int rc, const struct read_fault *f)
{
    if (source_interrupted()) { /* the bytes ended because of the stop request */
        cap->state = CAP_EOF;
        cap->interrupted = true;
        return 0;
    }
    const char *io = cap->src ? source_error(cap->src) : "";
    if (rc == 0 && !io[0]) {
        cap->state = CAP_EOF;
        return 0;
    }
    cap->state = CAP_ERROR;
    if (rc == 0)
        snprintf(cap->err, sizeof cap->err, "%s: %s after %llu complete records (decompressed byte offset %llu)",
                 cap->name, io, (unsigned long long)cap->frame, (unsigned long long)capture_bytes_read(cap));
    else if (!f->has_offset)
        snprintf(cap->err, sizeof cap->err, "%s: bad or incomplete record after %llu complete records: %s", cap->name,
                 (unsigned long long)cap->frame, f->why);
    else
        snprintf(cap->err, sizeof cap->err, "%s: bad or incomplete %s at byte offset %llu%s after %llu complete records: %s%s%s",
                 cap->name, f->block ? "block" : "record", (unsigned long long)f->offset,
                 cap->src && source_codec(cap->src) != CODEC_NONE ? " of the decompressed stream" : "",
                 (unsigned long long)cap->frame, f->why, io[0] ? "; " : "", io);
    return -1;
}

/* The first records hashed (the part's identity), and every record
 * sampled when asked (part_sketch.h). */
static void record_slow(struct capture *cap, const struct capture_record *rec)
{
    capture_head_record(&cap->head, rec);
    if (cap->sketch)
        part_sketch_add(cap->sketch, rec);
}

int capture_next(struct capture *cap, struct capture_record *rec)
{
    if (cap->state == CAP_EOF)
        return 0;
    if (cap->state == CAP_ERROR)
        return -1;
    /* only the small fields: zeroing the whole struct (its 512-byte reason)
     * was a third of the reader's time per record */
    struct read_fault f;
    f.offset = 0;
    f.has_offset = false;
    f.block = false;
    f.why[0] = '\0';
    int rc = read_one(cap, rec, &f);
    if (rc == 1) {
        rec->frame = ++cap->frame;
        if (rec->frame <= cap->slow_until)
            record_slow(cap, rec);
        return 1;
    }
    return capture_ended(cap, rc, &f);
}

void capture_set_interrupt(const volatile sig_atomic_t *flag) { source_set_interrupt(flag); }
void capture_set_read_thread(bool on) { pump_set_read_thread(on); }
bool capture_interrupted(const struct capture *cap) { return cap->interrupted; }

const char *capture_error(const struct capture *cap) { return cap->err; }
bool capture_head(const struct capture *cap, uint8_t out[32]) { return capture_head_digest(&cap->head, out); }
const struct part_sketch *capture_sketch(const struct capture *cap) { return cap->sketch; }

void capture_sketch_records(struct capture *cap)
{
    if (!cap->sketch)
        cap->sketch = calloc(1, sizeof *cap->sketch); /* NULL: no sketch (merge compares none) */
    if (cap->sketch)
        cap->slow_until = UINT64_MAX;
}
const char *capture_name(const struct capture *cap) { return cap->name; }
int capture_linktype(const struct capture *cap) { return cap->dlt; }

const char *capture_linktype_name(const struct capture *cap)
{
    const char *n = pcap_datalink_val_to_name(cap->dlt);
    return n ? n : "unknown";
}

const char *capture_format(const struct capture *cap)
{
    switch (cap->kind) {
    case RD_PCAP:
        return "pcap";
    case RD_PCAPNG:
        return "pcapng";
    case RD_LIBPCAP:
        return pcap_lib_is_pcapng(cap->lib) ? "pcapng" : "pcap";
    case RD_WIRETAP:
        return wiretap_reader_format(cap->wtap);
    }
    return "";
}

const char *capture_reader(const struct capture *cap)
{
    switch (cap->kind) {
    case RD_PCAP:
    case RD_PCAPNG:
        return source_is_mapped(cap->src) ? "mmap" : "stream";
    case RD_LIBPCAP:
        return "libpcap";
    case RD_WIRETAP:
        return "wiretap";
    }
    return "";
}

const char *capture_filter(const struct capture *cap)
{
    if (cap->kind == RD_PCAPNG)
        return pcapng_native_filter(cap->ng);
    if (cap->kind == RD_WIRETAP)
        return wiretap_reader_filter(cap->wtap);
    return NULL;
}

bool capture_drop_stats(const struct capture *cap, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped)
{
    *received = *dropped = *if_dropped = 0;
    return cap->kind == RD_PCAPNG && pcapng_native_drops(cap->ng, received, dropped, if_dropped);
}

const char *capture_compression(const struct capture *cap)
{
    if (cap->kind == RD_WIRETAP)
        return wiretap_reader_compression(cap->wtap);
    return source_codec_name(source_codec(cap->src));
}

bool capture_is_gzip(const struct capture *cap) { return strcmp(capture_compression(cap), "gzip") == 0; }

bool capture_multi_linktype(const struct capture *cap)
{
    return cap->kind == RD_PCAPNG || (cap->kind == RD_WIRETAP && wiretap_reader_per_packet(cap->wtap));
}

uint64_t capture_bytes_read(const struct capture *cap)
{
    if (cap->kind == RD_LIBPCAP)
        return pcap_lib_consumed(cap->lib);
    return cap->src ? source_pos(cap->src) : wiretap_reader_bytes(cap->wtap);
}

uint64_t capture_raw_bytes_read(const struct capture *cap)
{
    return cap->src ? source_raw_pos(cap->src) : wiretap_reader_bytes(cap->wtap);
}

int64_t capture_size_hint(const struct capture *cap)
{
    return cap->src ? source_size_hint(cap->src) : wiretap_reader_size(cap->wtap);
}

void capture_close(struct capture *cap)
{
    capture_free(cap);
}
