/* native.h - our own readers of classic pcap and pcapng, over a source
 * window: records are handed out in place (zero-copy when the source is a
 * map).  Their answers are libpcap's (records, timestamps at nanosecond
 * precision, captured and wire lengths, the offset of a damaged record);
 * beyond libpcap they read pcapng files with several link types, snapshot
 * lengths and byte orders, which libpcap refuses. */
#ifndef SMBSCOPE_NATIVE_H
#define SMBSCOPE_NATIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "reader.h"
#include "source.h"

enum native_kind { NATIVE_NONE, NATIVE_PCAP, NATIVE_PCAPNG };

/* Which of our formats the first 4 decompressed bytes announce.  Classic pcap
 * variants we leave to libpcap (Kuznetzov's patched header) are NONE. */
enum native_kind native_sniff(const uint8_t *magic4);

struct pcap_native;
/* Read the file header.  NULL and why on a bad header. */
struct pcap_native *pcap_native_open(struct source *src, char *why, size_t whylen);
/* 1 record, 0 clean end, -1 fault (filled). */
int pcap_native_next(struct pcap_native *r, struct capture_record *rec, struct read_fault *f);
int pcap_native_linktype(const struct pcap_native *r);
void pcap_native_close(struct pcap_native *r);

struct pcapng_native;
/* Read the first section header and every block up to the first interface
 * description (libpcap does the same when it opens a file). */
struct pcapng_native *pcapng_native_open(struct source *src, char *why, size_t whylen);
int pcapng_native_next(struct pcapng_native *r, struct capture_record *rec, struct read_fault *f);
/* The first interface's link type (DLT_ value). */
int pcapng_native_linktype(const struct pcapng_native *r);
/* The if_filter strings of every interface so far, as one filter: one as it
 * is, several as "(f1) and (f2) ..." (a probe passes only if every one lets
 * it through); NULL when none.  Valid until the next filter is met. */
const char *pcapng_native_filter(const struct pcapng_native *r);
/* The Interface Statistics Blocks' totals so far, summed over interfaces
 * and sections (the last ISB of each interface); false when there was none. */
bool pcapng_native_drops(const struct pcapng_native *r, uint64_t *recv, uint64_t *osdrop, uint64_t *ifdrop);
void pcapng_native_close(struct pcapng_native *r);

#endif
