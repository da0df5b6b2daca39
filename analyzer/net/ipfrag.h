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
    /* The frame the fragment came in (packet.h caplen, wirelen): the
     * packet a datagram completes is its last fragment's frame. */
    uint32_t frame_caplen, frame_wirelen;
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
/* The table's 802.11 defragmenter, NULL when it was never made. */
const struct wlan_defrag *ipfrag_wlan_peek(const struct ipfrag_table *t);
/* smbscope merge: another run's counters added. */
void ipfrag_fold_stats(struct ipfrag_table *t, const struct ipfrag_stats *s);

/* ---- datagrams a cut divides (merge: analyzer/merge/mstate_frags.h) ----
 *
 * A capture cut between the fragments of one datagram leaves its first
 * pieces open at the end of one part and the rest at the start of the
 * next: each part counts an incomplete datagram.  The merge state carries
 * both halves and merge puts the datagram together as the run over both
 * parts would have.  So the table lets its open datagrams be read at the
 * end, and keeps a copy of those it dropped incomplete (timed out or
 * evicted) that began within the timeout of its first fragment: only those
 * can be the rest of a datagram begun before the capture did.  At most
 * IPFRAG_HEADS_MAX of them and IPFRAG_HEADS_BYTES of their bytes; past
 * that they are forgotten as before (still counted lost). */
#define IPFRAG_HEADS_MAX 32u
#define IPFRAG_HEADS_BYTES (256u * 1024u)

enum ipfrag_fate {
    IPFRAG_OPEN,      /* still being reassembled (counted in active) */
    IPFRAG_TIMED_OUT, /* counted in timed_out */
    IPFRAG_EVICTED,   /* counted in evicted */
    IPFRAG_FATES
};

/* One incomplete datagram as the table held it: the units of 8 octets it
 * had (bits, one per unit) and their bytes (buf, extent octets). */
struct ipfrag_held {
    struct ipfrag_key key;
    enum ipfrag_fate fate;
    int64_t first_ts, last_ts;       /* its first fragment's time, its last's */
    uint32_t last_caplen, last_wirelen; /* its last fragment's frame */
    bool have_first, have_total;
    uint8_t proto;                   /* from the offset-0 fragment (have_first) */
    uint32_t total;                  /* fragmentable length (have_total) */
    uint32_t extent;                 /* highest end offset held */
    const uint8_t *buf;
    const uint64_t *bits;
};

/* The next incomplete datagram from *pos (0 to begin): the open ones, then
 * the kept copies; false at the end.  Valid until the table changes. */
bool ipfrag_held_next(const struct ipfrag_table *t, size_t *pos, struct ipfrag_held *out);
static inline bool ipfrag_unit_held(const uint64_t *bits, uint32_t unit)
{
    return (bits[unit / 64] >> (unit % 64)) & 1u;
}
/* merge: a datagram the parts counted lost (its fate's counter) is one the
 * run over them did not lose: the counter taken back (not below 0). */
void ipfrag_unlose(struct ipfrag_table *t, enum ipfrag_fate fate);
/* The reassembly timeout (ipfrag_config). */
int64_t ipfrag_timeout(const struct ipfrag_table *t);
/* merge: a datagram the run over the parts completed. */
void ipfrag_count_reassembled(struct ipfrag_table *t);
/* merge: an 802.11 fragment a part counted as a lost MSDU that the run
 * over the parts takes for a repeat (analyzer/merge/mstate_wlan.h). */
void ipfrag_wlan_unlose_repeat(struct ipfrag_table *t);

/* The datagram of key completed (data, len: its fragmentable part; proto
 * the offset-0 fragment's), decoded into pkt down to its transport as
 * packet_decode() decodes it in the frame of its last fragment (at ts_us,
 * caplen, wirelen).  frags: a table for fragments inside it (dropped, as
 * in a run).  An IPv6 datagram whose fragmentable part begins with other
 * extension headers: stepped over as the run steps over them. */
enum packet_status ipfrag_decode(struct packet *pkt, const struct ipfrag_key *key, uint8_t proto, const uint8_t *data,
                                 uint32_t len, int64_t ts_us, uint32_t caplen, uint32_t wirelen,
                                 struct ipfrag_table *frags);

#endif
