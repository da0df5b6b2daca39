/* filter_check.h - what a capture filter would have hidden.  pcapng records
 * the filter a capture was taken with (the interface block's if_filter);
 * compiled with libpcap for the capture's link type and run against one
 * probe packet per service the policy watches, it tells which parts of the
 * policy the capture is blind to. */
#ifndef SMBSCOPE_FILTER_CHECK_H
#define SMBSCOPE_FILTER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum filter_probe {
    PROBE_NBNS = 0,  /* UDP 137 */
    PROBE_NBDGM,     /* UDP 138 */
    PROBE_NBSS_TCP,  /* TCP 139 */
    PROBE_NBSS_UDP,  /* UDP 139 */
    PROBE_SMB_TCP,   /* TCP 445 (IPv4 and IPv6) */
    PROBE_COUNT
};

/* "UDP 137", "UDP 138", "TCP 139", "UDP 139", "TCP 445". */
const char *filter_probe_name(enum filter_probe p);

/* The longest filter checked, in bytes.  libpcap's code generator is
 * worse than linear in the number of terms even without its optimiser
 * ("tcp port K or ..." of 1,000 terms: 9 s; 16 pcapng interfaces' 150-term
 * filters joined: 80 s), and a pcapng file of 62 KB may carry such
 * filters.  4 KiB is about 200 "host A.B.C.D" terms, far beyond a filter a
 * person writes; but 4 KiB of "port 1 or ..." is 600 terms and took 5 s
 * (review, 2026-12-02), so the terms are bounded too. */
#define FILTER_CHECK_MAX_LEN 4096
/* The most primitives checked (filter_scan.h): a filter a person
 * writes names a few services and hosts, and 64 port terms compile in
 * milliseconds. */
#define FILTER_CHECK_MAX_TERMS 64

/* Bit (1u << probe) for every probe the filter drops, in either direction.
 * false (and errbuf) when it cannot be checked: longer than
 * FILTER_CHECK_MAX_LEN or FILTER_CHECK_MAX_TERMS, the filter does not compile for the link type, or
 * the link type has no probe builder. */
bool filter_check(int dlt, const char *filter, uint32_t *blinded, char *errbuf, size_t errlen);

#endif
