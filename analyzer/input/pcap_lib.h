/* pcap_lib.h - libpcap as a capture reader over a source (see pcap_lib.c). */
#ifndef SMBSCOPE_PCAP_LIB_H
#define SMBSCOPE_PCAP_LIB_H

#include <stdbool.h>

#include "capture.h"
#include "reader.h"
#include "source.h"

struct pcap_lib;

/* NULL and why (libpcap's message) when libpcap cannot open the bytes. */
struct pcap_lib *pcap_lib_open(struct source *src, char *why, size_t whylen);
/* 1 record, 0 end of input (check the source's error), -1 fault (filled). */
int pcap_lib_next(struct pcap_lib *r, struct capture_record *rec, struct read_fault *f);
int pcap_lib_linktype(const struct pcap_lib *r);
bool pcap_lib_is_pcapng(const struct pcap_lib *r);
/* Bytes of the (decompressed) stream libpcap has taken. */
uint64_t pcap_lib_consumed(const struct pcap_lib *r);
void pcap_lib_close(struct pcap_lib *r);

#endif
