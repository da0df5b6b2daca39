/* wlan_defrag.h - bounded reassembly of fragmented 802.11 MSDUs.
 *
 * 802.11 fragments an MSDU into MPDUs numbered 0, 1, ... under one
 * sequence number, all but the last with the More Fragments bit, sent in
 * order (each acknowledged before the next: a repeat is a retransmission).
 * tshark reassembles them (wlan.defragment, on by default) and dissects
 * the MSDU in the frame of the last fragment; so does this table.
 *
 * A fixed number of MSDUs in flight, each at most WLAN_MSDU_MAX octets;
 * an MSDU that cannot complete (a fragment missing, its start not
 * captured, too big, evicted, timed out, or left at the end of the
 * input) is counted in the IP reassembly's statistics it shares
 * (ipfrag.h: the decode loss "fragment-incomplete", merge and --jobs
 * carry them), never silently passed over. */
#ifndef SMBSCOPE_WLAN_DEFRAG_H
#define SMBSCOPE_WLAN_DEFRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "ipfrag.h"

#define WLAN_DEFRAG_SLOTS 16
#define WLAN_MSDU_MAX 16384 /* an MSDU is at most 2,304 octets; an A-MSDU 11,454 */

struct wlan_defrag;

/* An MPDU's place in its MSDU: transmitter and receiver (addr2, addr1),
 * sequence number, fragment number. */
struct wlan_frag_key {
    uint8_t addrs[12];
    uint16_t seq;
};

/* st: the counters it shares (the IP reassembly table's); timeout_us: in
 * capture time after the first fragment.  NULL if out of memory. */
struct wlan_defrag *wlan_defrag_new(struct ipfrag_stats *st, int64_t timeout_us);
void wlan_defrag_free(struct wlan_defrag *d);

/* Offer fragment frag (more: its More Fragments bit; retry: its Retry
 * bit) of key's MSDU.  IPFRAG_COMPLETE: *out (valid until the next call)
 * holds the MSDU. */
enum ipfrag_result wlan_defrag_add(struct wlan_defrag *d, const struct wlan_frag_key *key, unsigned frag, bool more,
                                   bool retry, const uint8_t *data, uint32_t len, int64_t ts_us, const uint8_t **out,
                                   uint32_t *out_len);

/* The MSDU the last wlan_defrag_add() completed, while no fragment was
 * offered since: an A-MSDU's subframes after the first are read from it
 * (packet_decode_next()) after the first one's packet was fed.  False
 * when another call came between (its buffer may hold another MSDU). */
bool wlan_defrag_last(const struct wlan_defrag *d, const uint8_t **out, uint32_t *out_len);

/* MSDUs older than the timeout at now_us (INT64_MAX: every one left)
 * dropped and counted as timed out. */
void wlan_defrag_expire(struct wlan_defrag *d, int64_t now_us);

/* ---- a completed MSDU and the retry of its last fragment across a cut
 * (merge: analyzer/merge/mstate_wlan.h) ----
 *
 * A capture cut between an MSDU's last fragment and that fragment sent
 * again (its ACK lost: the Retry bit) leaves the retry alone at the start
 * of the later part, where no MSDU is open and the done-ring is empty: a
 * lost MSDU (dropped_malformed) that the run over both parts, its ring
 * holding the MSDU, counts a duplicate (review R5).  So the table lets a
 * run's state carry its done-ring (the last WLAN_DEFRAG_SLOTS MSDUs
 * completed, oldest first), the MSDUs open at its end, and the retries it
 * lost that an earlier part's ring could have held: a last fragment
 * (fragment number > 0, no More Fragments) with the Retry bit, no MSDU of
 * its key open, not a repeat of this run's ring, while fewer than
 * WLAN_DEFRAG_SLOTS MSDUs had completed in this run (past that, the ring
 * of the run over the parts holds none of an earlier part's).  At most
 * WLAN_DEFRAG_SLOTS of them; those past it stay losses. */
struct wlan_done_rec {
    struct wlan_frag_key key;
    unsigned last; /* its last fragment's number */
    int64_t ts;    /* when it completed */
};

struct wlan_retry_rec {
    struct wlan_frag_key key;
    unsigned frag;  /* the retried fragment's number */
    int64_t ts;
    unsigned done;  /* MSDUs this run completed before it (< WLAN_DEFRAG_SLOTS) */
};

/* The done-ring's entry i (0: the oldest), false past the last; the MSDU
 * open at the end, slot by slot from *pos (0 to begin); the retry i. */
bool wlan_defrag_done_at(const struct wlan_defrag *d, unsigned i, struct wlan_done_rec *out);
bool wlan_defrag_open_next(const struct wlan_defrag *d, unsigned *pos, struct wlan_frag_key *out);
bool wlan_defrag_retry_at(const struct wlan_defrag *d, unsigned i, struct wlan_retry_rec *out);
bool wlan_frag_key_eq(const struct wlan_frag_key *a, const struct wlan_frag_key *b);

#endif
