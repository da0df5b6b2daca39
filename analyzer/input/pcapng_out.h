/* pcapng_out.h - write the packets smbscope read to a pcapng file (-w), so
 * the proof can be archived beside its report: one Section Header, one
 * Interface Description Block per input (link type, snap length, name,
 * microsecond timestamps) and one Enhanced Packet Block per packet, in host
 * byte order as pcapng allows.  Readable by tshark, tcpdump and smbscope. */
#ifndef SMBSCOPE_PCAPNG_OUT_H
#define SMBSCOPE_PCAPNG_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"

struct pcapng_out;

/* Create (truncate) path; "-" is standard output.  NULL and errbuf
 * (CAPTURE_ERRBUF_SIZE) on failure. */
struct pcapng_out *pcapng_out_open(const char *path, char *errbuf);
/* Describe an interface; returns its index for pcapng_out_packet(), -1 on a
 * write error. */
int pcapng_out_interface(struct pcapng_out *w, int dlt, uint32_t snaplen, const char *name);
bool pcapng_out_packet(struct pcapng_out *w, int iface, const struct capture_record *rec);
/* Bytes written so far (for -a filesize). */
uint64_t pcapng_out_bytes(const struct pcapng_out *w);
/* Flush and close; false and errbuf when any write failed. */
bool pcapng_out_close(struct pcapng_out *w, char *errbuf);

#endif
