/* roce_pair.h - which queue-pair pair a RoCEv2 direction's first packet
 * joins: the decision the smbscope command (analyzer/model/rdma_roce.c) and
 * the Wireshark plugin (plugin/carriers.c) both make, in one place.
 *
 * The BTH names only the destination QP and the connection manager's
 * REQ/REP that would pair two QPs is usually not captured, so a packet from
 * B to A whose (sender, receiver, destination QP) is not known yet either
 * joins a pair that only A sent to so far, or starts a pair.  The PSNs
 * decide which (IBA 9.7): a direction's ACKs name the PSNs of its
 * reverse's requests, and a direction's requests are answered by its
 * reverse's ACKs.  Pure functions on what a pair's first direction sent
 * (struct roce_psns) and on one packet (struct roce_pair_pkt): the tables
 * that hold the pairs stay each tool's own. */
#ifndef SMBSCOPE_ROCE_PAIR_H
#define SMBSCOPE_ROCE_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roce.h"

/* Pairs missing their reverse looked at for one packet: the
 * ROCE_JOIN_SCAN_MAX oldest and as many newest (a capture cannot make a
 * join cost more).  The newest too: a new connection's reverse answers
 * within milliseconds, while pairs whose reverse is never captured (a
 * one-sided SPAN, asymmetric routing) stay oldest for the rest of the run;
 * review: 16 such before an SMB Direct connection split it in two,
 * INCONCLUSIVE where the run without them said FAIL. */
#define ROCE_JOIN_SCAN_MAX 16
#define ROCE_JOIN_CANDIDATES_MAX (2 * ROCE_JOIN_SCAN_MAX)

/* The PSNs a pair's first direction used before its reverse joined it: of
 * its requests (SEND, RDMA Write, RDMA Read Request, atomics: its own
 * sequence) and of its responses (ACKs, RDMA Read Responses: the sequence
 * of the requests they answer, its reverse's).  Zeroed: nothing seen. */
struct roce_psns {
    uint32_t req_first, req_last, resp_last;
    bool req, resp;
};

/* What the pairing reads of one packet: its opcode and PSN, and whether it
 * is an SMBD negotiate request (the first message of a connection). */
struct roce_pair_pkt {
    uint8_t opcode;
    uint32_t psn;
    bool negotiate;
};

enum roce_join_evidence { ROCE_JOIN_AGAINST = 0, ROCE_JOIN_NEUTRAL, ROCE_JOIN_FOR };

/* The packet of a decoded BTH (negotiate: an RC SEND Only whose payload is
 * an SMBD negotiate request, smbd.h). */
void roce_pair_pkt_from_bth(struct roce_pair_pkt *p, const struct roce_bth *b);

/* A packet of the pair's first direction, while its reverse is unknown. */
void roce_psns_note(struct roce_psns *e, uint8_t opcode, uint32_t psn);

/* What the PSNs say of packet p (from B to A) joining a pair whose first
 * direction (A to B) sent e. */
enum roce_join_evidence roce_join_evidence(const struct roce_psns *e, const struct roce_pair_pkt *p);

/* The pair p joins among the pairs missing their reverse from its receiver
 * to its sender, cand[0..n) oldest first (the callers give the
 * ROCE_JOIN_SCAN_MAX oldest and as many newest; only the first
 * ROCE_JOIN_CANDIDATES_MAX are looked at): the index of the first the PSNs
 * are for, else of the first they say nothing against; -1: none, the
 * packet starts a pair. */
int roce_join_pick(const struct roce_psns *const *cand, size_t n, const struct roce_pair_pkt *p);

#endif
