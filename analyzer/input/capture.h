/* capture.h - read one capture input (pcap or pcapng, optionally gzip-compressed,
 * a file or "-" for stdin) record by record.
 *
 * Errors are values: capture_open() writes a reason into errbuf, capture_next()
 * returns -1 and capture_error() says why, always naming the input and, for a
 * damaged file, the byte offset (in the decompressed stream) of the record that
 * could not be read.  Every complete record before the damage is delivered. */
#ifndef SMBSCOPE_CAPTURE_H
#define SMBSCOPE_CAPTURE_H

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
};

/* Open path ("-" = standard input).  Returns NULL and fills errbuf
 * (CAPTURE_ERRBUF_SIZE bytes) on failure. */
struct capture *capture_open(const char *path, char *errbuf);

/* 1: a record in *rec; 0: clean end of input; -1: error, see capture_error().
 * After 0 or -1 every further call returns the same value. */
int capture_next(struct capture *cap, struct capture_record *rec);

/* The last error ("" if none).  Names the input. */
const char *capture_error(const struct capture *cap);

/* The input's name as shown in messages ("<stdin>" for "-"). */
const char *capture_name(const struct capture *cap);

/* pcap_datalink() value (DLT_*) and its libpcap name, e.g. "EN10MB"
 * ("unknown" when libpcap has none, e.g. 14). */
int capture_linktype(const struct capture *cap);
const char *capture_linktype_name(const struct capture *cap);

/* "pcap" or "pcapng"; whether the input was gzip-compressed. */
const char *capture_format(const struct capture *cap);
bool capture_is_gzip(const struct capture *cap);

/* Bytes of the (decompressed) capture file consumed so far. */
uint64_t capture_bytes_read(const struct capture *cap);

/* Bytes of the input as stored (compressed when gzip) consumed so far: compare
 * with capture_size_hint() for a progress line. */
uint64_t capture_raw_bytes_read(const struct capture *cap);

/* Size of the input as stored when known (a regular file), else -1. */
int64_t capture_size_hint(const struct capture *cap);

void capture_close(struct capture *cap);

#endif
