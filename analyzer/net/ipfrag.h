/* ipfrag.h - bounded IPv4/IPv6 fragment reassembly.
 *
 * A fixed number of datagram slots, each with a byte cap, a cap on all bytes
 * held, and a timeout measured in capture time.  Overlaps keep the first copy
 * of each byte (what was first seen on the wire wins).  Memory is allocated
 * when a slot first needs more room and is kept for reuse: no allocation per
 * fragment once the table has warmed up. */
#ifndef SMBSCOPE_IPFRAG_H
#define SMBSCOPE_IPFRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"

struct ipfrag_config {
    uint32_t max_datagrams;      /* concurrent datagrams being reassembled (default 256) */
    uint32_t max_datagram_bytes; /* fragmentable part of one datagram (default 65535) */
    size_t max_total_bytes;      /* all reassembly buffers together (default 4 MiB) */
    int64_t timeout_us;          /* capture time after the first fragment (default 30 s) */
};

struct ipfrag_stats {
    uint64_t fragments;         /* fragments offered */
    uint64_t reassembled;       /* datagrams completed */
    uint64_t timed_out;         /* datagrams dropped incomplete after the timeout */
    uint64_t evicted;           /* datagrams dropped because every slot was busy */
    uint64_t dropped_too_big;   /* datagrams dropped: over max_datagram_bytes */
    uint64_t dropped_memory;    /* datagrams dropped: max_total_bytes reached */
    uint64_t dropped_malformed; /* datagrams dropped: inconsistent ends, misaligned pieces */
    uint64_t duplicates;        /* fragments that added no new byte */
    uint64_t overlaps;          /* fragments that overlapped bytes already held */
    uint32_t active;            /* datagrams being reassembled now */
    size_t bytes_allocated;     /* reassembly buffer memory held */
};

/* Identifies a datagram: RFC 791 (src, dst, protocol, id) for IPv4, RFC 8200
 * (src, dst, id) for IPv6 (proto is 0 there). */
struct ipfrag_key {
    struct ip_addr src, dst;
    uint32_t id;
    uint8_t proto;
};

struct ipfrag_piece {
    uint32_t offset;         /* bytes from the start of the fragmentable part */
    bool more;               /* more-fragments flag */
    const uint8_t *data;     /* captured fragment bytes */
    uint32_t len;
    uint8_t next_proto;      /* IPv4 protocol / IPv6 fragment header next header */
};

enum ipfrag_result {
    IPFRAG_HELD,      /* kept, datagram not complete yet */
    IPFRAG_COMPLETE,  /* *out and *out_len hold the whole fragmentable part */
    IPFRAG_DROPPED,   /* the fragment (and perhaps its datagram) was dropped: see stats */
};

struct ipfrag_table;

void ipfrag_config_default(struct ipfrag_config *cfg);

/* cfg NULL = defaults.  NULL if out of memory. */
struct ipfrag_table *ipfrag_new(const struct ipfrag_config *cfg);
void ipfrag_free(struct ipfrag_table *t);

/* Offer one fragment captured at ts_us.  On IPFRAG_COMPLETE, *out points into
 * the table and stays valid until the next ipfrag_add() or ipfrag_expire();
 * *out_proto is the protocol carried (from the offset-0 fragment). */
enum ipfrag_result ipfrag_add(struct ipfrag_table *t, const struct ipfrag_key *key, int64_t ts_us,
                              const struct ipfrag_piece *piece, const uint8_t **out, uint32_t *out_len,
                              uint8_t *out_proto);

/* Drop datagrams older than the timeout at capture time now_us (also done by
 * ipfrag_add); call with INT64_MAX at the end of a capture to count leftovers. */
void ipfrag_expire(struct ipfrag_table *t, int64_t now_us);

const struct ipfrag_stats *ipfrag_stats(const struct ipfrag_table *t);
/* The table's 802.11 defragmenter (wlan_defrag.h), made at its first use
 * (NULL if out of memory); its MSDUs count in these statistics. */
struct wlan_defrag;
struct wlan_defrag *ipfrag_wlan(struct ipfrag_table *t);
/* smbscope merge: another run's counters added. */
void ipfrag_fold_stats(struct ipfrag_table *t, const struct ipfrag_stats *s);

#endif
