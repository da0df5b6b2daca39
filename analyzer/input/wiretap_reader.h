/* wiretap_reader.h - libwiretap (Wireshark's file reader) for the capture
 * formats our readers and libpcap do not read: Network Monitor 1 and 2,
 * Solaris snoop, and the rest tshark opens.  Optional at build time
 * (HAVE_WIRETAP); without it wiretap_available() is false and opening says
 * so. */
#ifndef SMBSCOPE_WIRETAP_READER_H
#define SMBSCOPE_WIRETAP_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "reader.h"

struct wiretap_reader;

bool wiretap_available(void);
/* Whether the first n bytes of the input start (or, n < 4, may start) a
 * magic number libpcap claims (pcap, its variants, pcapng): a file cut inside
 * a pcap header stays libpcap's to refuse. */
bool pcap_lib_claims(const uint8_t *p, size_t n);

struct wiretap_reader *wiretap_reader_open(const char *path, char *why, size_t whylen);
/* 1 record, 0 clean end, -1 fault (filled; no byte offset: libwiretap's
 * formats do not all have records at known offsets). */
int wiretap_reader_next(struct wiretap_reader *r, struct capture_record *rec, struct read_fault *f);
int wiretap_reader_linktype(const struct wiretap_reader *r);
/* Whether the file's link type is per record (pcapng-like formats). */
bool wiretap_reader_per_packet(const struct wiretap_reader *r);
const char *wiretap_reader_format(const struct wiretap_reader *r);     /* e.g. "netmon2", "snoop" */
const char *wiretap_reader_compression(const struct wiretap_reader *r); /* "gzip", "zstd", "lz4", "" */
const char *wiretap_reader_filter(const struct wiretap_reader *r);
uint64_t wiretap_reader_bytes(const struct wiretap_reader *r);
int64_t wiretap_reader_size(const struct wiretap_reader *r);
void wiretap_reader_close(struct wiretap_reader *r);

#endif
