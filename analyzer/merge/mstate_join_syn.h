/* mstate_join_syn.h - TCP connections that never carried a byte and were
 * opened by a SYN (or SYN-ACK) in the merge state, and their joining: a
 * capture cut between a SYN and its retransmissions (or the RST that
 * refused it) leaves the connection open at the end of one capture and
 * begun again, or seen from its middle, in the next; the run over both
 * counts one TCP connection (flow.c: a SYN of the same ISN continues it). */
#ifndef SMBSCOPE_MSTATE_JOIN_SYN_H
#define SMBSCOPE_MSTATE_JOIN_SYN_H

#include <stdbool.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "flow.h"
#include "jget.h"
#include "json.h"

struct analysis;

/* One such connection, as its run saw it ([0] the initiator). */
struct syn_flow {
    struct ip_addr addr[2];
    uint16_t port[2];
    int64_t first_ts, last_ts;
    uint64_t packets[2];
    uint32_t isn;           /* the initiator's SYN, when isn_known */
    bool isn_known;
    uint32_t isn_resp;      /* the responder's SYN-ACK, when isn_resp_known */
    bool isn_resp_known;
    bool established;       /* the handshake completed (its idle timeout is the established one) */
    char close_reason[24];  /* flow_close_reason_name(): "end" when open at its capture's end */
    /* An iWARP connection whose only payload was its MPA startup, open at
     * its capture's end (cut before its first FPDU: "syn_flow_payloads" in
     * the state): its bytes each way, and what the startup settled. */
    bool mpa;
    bool mpa_request_seen, mpa_reply_seen, mpa_rejected, mpa_crc, mpa_markers[2];
    uint8_t mpa_revision;
    uint16_t mpa_private_len[2];
    uint64_t sent[2];
};

struct smb_conn;
/* A run's TCP connection seen from its SYN that was not SMB (s: its
 * session, closed): kept when its payload was an MPA startup alone and it
 * is open at the end (mstate_join_hs.c joins it to the later part). */
void syn_flow_mpa_note(struct analysis *a, const struct flow_conn *c, const char *reason, const struct smb_conn *s);

/* A run's TCP connection without payload nor SMB closes (analysis.c): kept
 * (at most ANALYSIS_MAX_EDGES) when it was opened by a SYN or SYN-ACK and is
 * open at the capture's end or began within the half-open timeout of the
 * run's first packet, the only ones another capture can continue. */
void syn_flow_note(struct analysis *a, const struct flow_conn *c, enum flow_close_reason r);

void mstate_build_syn_flows(struct json *b, const struct analysis *a);
void mstate_fold_syn_flows(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);
/* --jobs: src's records into dst's (as many as a run keeps). */
void syn_flows_fold_mem(struct analysis *dst, const struct analysis *src);

/* After the SMB edges are joined (merge_finish): a connection open at its
 * capture's end and the one of the same ends and ISN a later capture began
 * within the half-open timeout of its last packet (or saw from its middle
 * without payload: a tail) are one; each join counts one TCP connection
 * less.  What may still join another report's stays in the state. */
void mstate_join_syn_flows(struct analysis *a);

/* Before the SMB edges are joined (mstate_join_hs): a connection whose
 * handshake more than two parts hold (a SYN in one, the SYN-ACK in the
 * next, the ACK in the next, ...): each syn flow open at its capture's end
 * takes the tails of its ends that follow it within its idle timeout, up
 * to the next record of its ends that began again (an SMB edge, a data
 * tail, another syn flow): their packets, and the responder's ISN from a
 * tail that began with the SYN-ACK (state.tail_synacks), so that the SMB
 * edge a later part saw joins it as it would join a syn flow of the whole
 * handshake. */
void mstate_join_syn_heads(struct analysis *a);

/* A cut inside or right after the handshake: the early part saw its SYN
 * (a record here, open at its end, its ISN), the late part the connection's bytes from
 * their first (an SMB edge first seen mid-stream whose first data each way
 * is ISN + 1, mstate_join_hs.c): one connection seen from its start.
 * The syn flows indexed once by their ends (mstate_ends_ix.h): each
 * edge's look-up walks only the flows of its ends (each walked them all:
 * O(edges x flows), most of a merge of 16 parts' CPU).  A flow used is
 * left in a->syn_flows, never found again, until syn_flow_heads_free()
 * removes the used ones, their order kept (one removal each was a move of
 * the array's rest): nothing else reads a->syn_flows meanwhile. */
struct syn_flow_heads;
struct syn_flow_heads *syn_flow_heads_new(struct analysis *a);
struct syn_flow *syn_flow_heads_for(struct syn_flow_heads *h, const struct ip_addr *x, uint16_t xp,
                                    const struct ip_addr *y, uint16_t yp, int64_t first_ts);
void syn_flow_heads_used(struct syn_flow_heads *h, const struct syn_flow *f);
void syn_flow_heads_free(struct syn_flow_heads *h);
/* f, a later part's connection began again, removed (mstate_syn_starts.c). */
void syn_flow_used(struct analysis *a, const struct syn_flow *f);

/* Before the handshakes join (mstate_join_hs.h): a syn flow open at its
 * end and the next part's that began with the SYN again (the same ISN, a
 * retransmission across the cut) made one, its SYN-ACK's ISN kept. */
void mstate_join_syn_repeats(struct analysis *a);

#endif
