/* roce_pair.c - the RoCEv2 pairing decision shared by the command and the
 * Wireshark plugin (roce_pair.h). */
#include "roce_pair.h"

#include "smbd.h"

#define PSN_MASK 0xFFFFFFu
/* How far apart (in PSNs) a direction's ACK and its reverse's requests may
 * be and still belong together: the requests in flight unseen when the
 * capture began (SMB Direct's are bounded by its credits and its RDMA
 * Read/Write sizes, far below this).  A stray packet's PSN, random among
 * 2^24, falls this near one time in 128. */
#define PSN_NEAR 0x10000u

enum psn_role { PSN_NONE = 0, PSN_REQUEST, PSN_RESPONSE };

/* Which sequence an RC opcode's PSN is in (IBA 9.7): a request's is its
 * sender's, a response's (ACK, Atomic ACK, RDMA Read Response) the
 * requester's it answers.  UD and CNP are no RC packets of the pair. */
static enum psn_role psn_role(uint8_t op)
{
    if (op >= 0x0D && op <= 0x12)
        return PSN_RESPONSE;
    if (op <= 0x0C || op == 0x13 || op == 0x14 || op == 0x16 || op == 0x17)
        return PSN_REQUEST;
    return PSN_NONE;
}

/* Whether x lies in lo..hi (24-bit PSNs, wrapping). */
static bool psn_within(uint32_t x, uint32_t lo, uint32_t hi)
{
    return ((x - lo) & PSN_MASK) <= ((hi - lo) & PSN_MASK);
}

void roce_pair_pkt_from_bth(struct roce_pair_pkt *p, const struct roce_bth *b)
{
    struct smbd_negotiate_request req;
    p->opcode = b->opcode;
    p->psn = b->psn;
    p->negotiate = b->part == ROCE_SEND_ONLY && b->payload_len == SMBD_NEGOTIATE_REQUEST_LEN &&
                   smbd_parse_negotiate_request(b->payload, b->payload_len, &req) == SMBD_OK;
}

void roce_psns_note(struct roce_psns *e, uint8_t opcode, uint32_t psn)
{
    switch (psn_role(opcode)) {
    case PSN_REQUEST:
        if (!e->req) {
            e->req = true;
            e->req_first = e->req_last = psn;
        } else if (!psn_within(psn, e->req_first, e->req_last)) { /* widen the range the nearer way */
            if (((psn - e->req_last) & PSN_MASK) < 0x800000u)
                e->req_last = psn;
            else
                e->req_first = psn;
        }
        break;
    case PSN_RESPONSE:
        e->resp = true;
        e->resp_last = psn;
        break;
    case PSN_NONE:
        break;
    }
}

enum roce_join_evidence roce_join_evidence(const struct roce_psns *e, const struct roce_pair_pkt *p)
{
    if (p->negotiate) {
        /* the first message of a connection (a retransmission keeps its
         * PSN): before it the peer sends nothing but the ACK of it */
        if (e->req)
            return ROCE_JOIN_AGAINST;
        return !e->resp ? ROCE_JOIN_NEUTRAL : e->resp_last == p->psn ? ROCE_JOIN_FOR : ROCE_JOIN_AGAINST;
    }
    switch (psn_role(p->opcode)) {
    case PSN_RESPONSE: /* answers A's requests */
        if (!e->req)
            return ROCE_JOIN_NEUTRAL;
        if (psn_within(p->psn, e->req_first, e->req_last))
            return ROCE_JOIN_FOR;
        return psn_within(p->psn, (e->req_first - PSN_NEAR) & PSN_MASK, (e->req_last + PSN_NEAR) & PSN_MASK)
                   ? ROCE_JOIN_NEUTRAL
                   : ROCE_JOIN_AGAINST;
    case PSN_REQUEST: /* A answered B's requests up to resp_last */
        if (!e->resp)
            return ROCE_JOIN_NEUTRAL;
        return psn_within(p->psn, (e->resp_last - PSN_NEAR) & PSN_MASK, (e->resp_last + PSN_NEAR) & PSN_MASK)
                   ? ROCE_JOIN_FOR
                   : ROCE_JOIN_AGAINST;
    case PSN_NONE:
        break;
    }
    return ROCE_JOIN_NEUTRAL;
}

int roce_join_pick(const struct roce_psns *const *cand, size_t n, const struct roce_pair_pkt *p)
{
    int neutral = -1;
    if (n > ROCE_JOIN_CANDIDATES_MAX)
        n = ROCE_JOIN_CANDIDATES_MAX;
    for (size_t i = 0; i < n; i++) {
        enum roce_join_evidence e = roce_join_evidence(cand[i], p);
        if (e == ROCE_JOIN_FOR)
            return (int)i;
        if (e == ROCE_JOIN_NEUTRAL && neutral < 0)
            neutral = (int)i;
    }
    return neutral;
}
