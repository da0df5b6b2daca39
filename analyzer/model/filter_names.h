/* filter_names.h - whether libpcap would look a name of a capture filter
 * up on the network.  pcap_compile() resolves a host, net or gateway
 * given by name (getaddrinfo(), getnetbyname(): DNS), so compiling the
 * filter a pcapng file carries (its if_filter) would tell whoever wrote
 * the file when and where it was opened (review: a DNS query seen with
 * strace, reading the capture and merging its report).  Port, protocol
 * and 802.11 type names are read from local tables and stay allowed. */
#ifndef SMBSCOPE_FILTER_NAMES_H
#define SMBSCOPE_FILTER_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* true, and the first such name in name (cut to len), when filter gives a
 * host, net or gateway by name, as libpcap's scanner and its implied
 * qualifiers read it ("src fileserver", "port 21 or host a", a bare
 * "fileserver": a host). */
bool filter_names_host(const char *filter, char *name, size_t len);

#endif
