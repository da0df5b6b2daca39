/* capture.h - read one capture input (pcap, pcapng, or any format libwiretap
 * reads; gzip-, zstd- or lz4-compressed or not; a file or "-" for stdin)
 * record by record.
 *
 * Errors are values: capture_open() writes a reason into errbuf, capture_next()
 * returns -1 and capture_error() says why, always naming the input and, for a
 * damaged file, the byte offset (in the decompressed stream) of the record that
 * could not be read.  Every complete record before the damage is delivered. */
#ifndef SMBSCOPE_CAPTURE_H
#define SMBSCOPE_CAPTURE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define CAPTURE_ERRBUF_SIZE 1024

struct capture;

struct capture_record {
    int64_t ts_us;        /* microseconds since the epoch (nanosecond files are truncated) */
    uint32_t caplen;      /* bytes present at data */
    uint32_t wirelen;     /* bytes the packet had on the wire */
    const uint8_t *data;  /* valid until the next capture_next() or capture_close() */
    uint64_t frame;       /* 1-based record number within this input */
    int dlt;              /* link type of this record (pcapng: its interface's), a DLT_ value */
};

/* Open path ("-" = standard input).  Returns NULL and fills errbuf
 * (CAPTURE_ERRBUF_SIZE bytes) on failure. */
struct capture *capture_open(const char *path, char *errbuf);

/* 1: a record in *rec; 0: clean end of input; -1: error, see capture_error().
 * After 0 or -1 every further call returns the same value. */
int capture_next(struct capture *cap, struct capture_record *rec);

/* Stop requests (SIGINT/SIGTERM while reading files): while *flag is
 * nonzero, capture_next() ends cleanly (0) instead of waiting for more bytes
 * of a slow input or reporting the record the stop cut; capture_interrupted()
 * then says so.  Process-wide; NULL turns it off. */
void capture_set_interrupt(const volatile sig_atomic_t *flag);
bool capture_interrupted(const struct capture *cap);

/* Whether an uncompressed input is read on a thread of its own (process-wide,
 * for the inputs opened after; on at start; SMBSCOPE_READ_THREAD=0/1 wins):
 * off when every core already runs an analysis (--jobs). */
void capture_set_read_thread(bool on);

/* The SHA-256 of the records read so far, at most the first 64 of them
 * (capture_head.h; false: none read): the part's identity is made of it
 * where every record read is analysed. */
bool capture_head(const struct capture *cap, uint8_t out[32]);

/* From now on, a sample of every record read (part_sketch.h), for --jobs'
 * split whose workers each see a share; capture_sketch() gives it (NULL
 * when not asked for). */
struct part_sketch;
void capture_sketch_records(struct capture *cap);
const struct part_sketch *capture_sketch(const struct capture *cap);

/* The last error ("" if none).  Names the input. */
const char *capture_error(const struct capture *cap);

/* The input's name as shown in messages ("<stdin>" for "-"). */
const char *capture_name(const struct capture *cap);

/* pcap_datalink() value (DLT_*) and its libpcap name, e.g. "EN10MB"
 * ("unknown" when libpcap has none, e.g. 14); of the first interface when a
 * pcapng file has several. */
int capture_linktype(const struct capture *cap);
const char *capture_linktype_name(const struct capture *cap);

/* "pcap", "pcapng", or libwiretap's name of the format ("netmon2", "snoop", ...). */
const char *capture_format(const struct capture *cap);
/* Whether the input was gzip-compressed; its compression ("gzip", "zstd",
 * "lz4", "" when none). */
bool capture_is_gzip(const struct capture *cap);
const char *capture_compression(const struct capture *cap);

/* Which reader reads it: "mmap" (ours, over a map of the file), "stream"
 * (ours, over reads or a decompressor), "libpcap" or "wiretap". */
const char *capture_reader(const struct capture *cap);

/* The capture filter the file says it was taken with so far (the pcapng
 * interfaces' if_filter strings as one, pcapng_native_filter(); a later
 * interface may add one: ask again at the end), NULL when it says none. */
const char *capture_filter(const struct capture *cap);
/* The drop counters the file holds (pcapng Interface Statistics Blocks:
 * received, dropped by the OS, dropped by the interface), summed; false
 * when it holds none.  Complete at the end of the input. */
bool capture_drop_stats(const struct capture *cap, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped);

/* Whether records may carry link types other than capture_linktype()'s
 * (pcapng interfaces, libwiretap formats): see capture_record.dlt. */
bool capture_multi_linktype(const struct capture *cap);

/* Bytes of the (decompressed) capture file consumed so far. */
uint64_t capture_bytes_read(const struct capture *cap);

/* Bytes of the input as stored (compressed when gzip) consumed so far: compare
 * with capture_size_hint() for a progress line. */
uint64_t capture_raw_bytes_read(const struct capture *cap);

/* Size of the input as stored when known (a regular file), else -1. */
int64_t capture_size_hint(const struct capture *cap);

void capture_close(struct capture *cap);

#endif
