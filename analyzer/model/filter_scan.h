/* filter_scan.h - what a capture filter asks of libpcap's compiler before
 * it is compiled: how many primitives it makes (its code grows worse than
 * linearly with them), and whether it names a host.  pcap_compile()
 * resolves a host, net or gateway
 * given by name (getaddrinfo(), getnetbyname(): DNS), so compiling the
 * filter a pcapng file carries (its if_filter) would tell whoever wrote
 * the file when and where it was opened (review: a DNS query seen with
 * strace, reading the capture and merging its report).  Port, protocol
 * and 802.11 type names are read from local tables and stay allowed. */
#ifndef SMBSCOPE_FILTER_SCAN_H
#define SMBSCOPE_FILTER_SCAN_H

#include <stdbool.h>
#include <stddef.h>

struct filter_scan {
    /* the primitives libpcap generates code for: the more of the words
     * host, net, port and portrange and of the primitives the filter joins
     * (its and/or, as words or && and ||, plus one).  Review: libpcap
     * repeats an omitted qualifier ("port 1 or 2 or 3" is three port
     * terms, "src 10.0.0.1 or 10.0.0.2" two hosts): 4 KiB of "port 1 or 2
     * ..." named port once and took 105 s to compile. */
    unsigned terms;
    /* the first host, net or gateway given by name (cut to 63 octets), as
     * libpcap's scanner and its implied qualifiers read it ("src
     * fileserver", "port 21 or host a", a bare "fileserver": a host);
     * empty when none */
    char host_name[64];
};

void filter_scan(const char *filter, struct filter_scan *out);

#endif
