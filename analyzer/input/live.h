/* live.h - live capture from network interfaces through libpcap
 * (pcap_create/pcap_activate), several interfaces at once.
 *
 * Opening needs privileges (root, or CAP_NET_RAW and CAP_NET_ADMIN); it is
 * done before the command drops them (-Z).  Reading is non-blocking: the
 * caller polls every interface's descriptor and dispatches what is ready, so
 * one loop serves all interfaces and notices signals and timers.  Errors are
 * values and name the interface. */
#ifndef SMBSCOPE_LIVE_H
#define SMBSCOPE_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"

#define LIVE_DEFAULT_SNAPLEN 262144
/* Kernel buffer: at 32 MiB a 300 MB SMB read over veth (125 MB/s) lost no
 * packet in immediate mode; at 8 MiB 19 of 5303 were dropped. */
#define LIVE_DEFAULT_BUFFER_KIB 32768
#define LIVE_ERRBUF_SIZE 1024

struct live_options {
    int snaplen;          /* 0 = LIVE_DEFAULT_SNAPLEN */
    int buffer_kib;       /* 0 = LIVE_DEFAULT_BUFFER_KIB */
    bool promisc;
    const char *filter;   /* compiled against each interface's link type; NULL = none */
};

struct live;

/* Open and activate every interface (immediate mode, non-blocking) and set
 * the filter on each.  NULL and errbuf on the first failure. */
struct live *live_open(char *const *ifaces, int n, const struct live_options *o, char *errbuf);
void live_close(struct live *lv);

int live_count(const struct live *lv);
const char *live_name(const struct live *lv, int i);
int live_linktype(const struct live *lv, int i);
const char *live_linktype_name(const struct live *lv, int i);
int live_snaplen(const struct live *lv, int i);

/* Called for each packet: i is the interface's index. */
typedef void (*live_packet_fn)(void *ctx, int i, const struct capture_record *rec);

/* Wait up to timeout_ms for packets on any interface, then deliver what is
 * ready (at most `budget` packets per interface, so a busy interface cannot
 * starve the caller's timers).  Returns packets delivered, 0 on timeout or
 * signal, -1 on an error (errbuf names the interface). */
int live_poll(struct live *lv, int timeout_ms, int budget, live_packet_fn fn, void *ctx, char *errbuf);

/* Stop a live_poll() in progress from fn (pcap_breakloop). */
void live_break(struct live *lv);

/* libpcap's counters for interface i (pcap_stats); false when it has none. */
bool live_stats(struct live *lv, int i, uint64_t *received, uint64_t *dropped, uint64_t *ifdropped);

/* Print the interfaces pcap_findalldevs() knows, tcpdump -D style.
 * false and errbuf when it fails. */
bool live_list_interfaces(FILE *out, char *errbuf);

#endif
