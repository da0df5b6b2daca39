/* rdma.h - SMB Direct in the session model: the facts an SMB Direct
 * connection keeps for the reports (struct smb_direct_info, hung on
 * smb_conn.smbd), and the two carriers' glue:
 *   rdma_iwarp.c  a TCP stream that starts with an MPA key (any port) is
 *                 framed as MPA FPDUs -> DDP/RDMAP -> SMBD instead of NBSS;
 *   rdma_roce.c   UDP 4791: RoCEv2 RC queue-pair pairs -> SENDs -> SMBD.
 * Both end in smb_conn_message(): the same SMB2 decoders as TCP. */
#ifndef SMBSCOPE_RDMA_H
#define SMBSCOPE_RDMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "session.h"
#include "smbd.h"

struct smb_conn;
struct session_config;
struct packet;

enum { RDMA_KEPT_HEAD, RDMA_KEPT_LEAD, RDMA_KEPT_SEND_HEAD, RDMA_KEPT_SEND_REST, RDMA_KEPT_N };

struct smb_direct_info {
    /* iWARP (MPA startup; index = flow direction, 0 = the TCP initiator) */
    bool mpa_request_seen, mpa_reply_seen, mpa_rejected;
    bool mpa_midstream;           /* startup not captured: recognised from its FPDUs */
    int mpa_initiator;            /* direction of the MPA request (mid-stream: of the SMBD negotiate request, or -1) */
    uint8_t mpa_revision;
    bool mpa_markers[2];          /* markers in the FPDUs sent in direction d */
    bool mpa_crc;                 /* CRC32c in use (either side asked) */
    uint16_t mpa_private_len[2];
    uint64_t fpdus, crc_bad, markers, marker_ptr_bad, desync;
    uint64_t resyncs;             /* realignments after a gap (a probe-passing chunk) */
    /* RoCEv2 (index = side: 0 the first sender) */
    uint32_t qpn[2];              /* destination QP of the packets sent to side d */
    uint64_t roce_packets, roce_acks, roce_not_decoded, psn_dropped, psn_duplicates;
    uint64_t icrc_bad;            /* packets whose ICRC failed: counted, never decoded */
    uint64_t icrc_unchecked;      /* packets whose ICRC could not be checked (snaplen, IPv6 extensions) */
    /* both carriers */
    uint64_t sends, rdma_writes, rdma_write_bytes, rdma_reads, send_dropped;
    struct smbd_conn smbd;        /* negotiate request/response facts */
    uint64_t smbd_fragmented, smbd_dropped, smbd_credit_only;
    /* SMBD messages in pieces at a capture's edges (smbscope merge:
     * mstate_join_frame.h), per flow direction: the bytes the message in
     * progress still expected (0: none), the first data transfer message's
     * RemainingDataLength + DataLength (0: none), RDMA_LEAD_* flags */
    uint64_t smbd_left[2], smbd_lead[2];
    uint8_t smbd_edge_flags[2];
    /* the message in progress at the end is longer than the SMBD
     * reassembly's --pdu-cap: dropped at its end, as the run over the
     * parts drops it (rdma_keep_head()) */
    bool smbd_over[2];
    /* ... and their bytes, for merge to decode the message whole
     * (mstate_join_smbd.h), per flow direction: [RDMA_KEPT_HEAD] the start
     * of a SESSION_SETUP request in progress at the end (or of the first
     * data message's message, still in progress), [RDMA_KEPT_LEAD] the
     * first data message's message when it ended and was no SMB2 message
     * (another part's rest); [RDMA_KEPT_SEND_HEAD] the start of an RDMA
     * Send in progress at the end (its MSN send_head_msn), [RDMA_KEPT_SEND_REST]
     * the rest of a Send the direction's first DDP segments continued (MSN,
     * the MO it began at, the segments dropped for it); each at most
     * RDMA_KEEP_MAX octets, NULL: none */
    uint8_t *smbd_kept[2][RDMA_KEPT_N];
    uint32_t smbd_kept_len[2][RDMA_KEPT_N];
    uint32_t send_head_msn[2], send_rest_msn[2], send_rest_mo[2], send_rest_drops[2];
    /* A message in progress at the end longer than RDMA_MSG_KEEP_MAX (and
     * within the --pdu-cap: the run over the parts decodes it): its length,
     * when [RDMA_KEPT_HEAD] holds only the first octets the decoder reads of
     * it (smb_conn_message_want(): its header, at most RDMA_PREFIX_MAX), 0
     * otherwise; smbd_unkept when the decoder reads more than that (a
     * NEGOTIATE, SESSION_SETUP, TREE_CONNECT or compound of that size, or
     * --no-fast-path): merge counts it, not decoded, and says so
     * (stats.merged.smbd_messages_not_decoded). */
    uint32_t smbd_msg_len[2];
    bool smbd_unkept[2];
};
#define RDMA_KEEP_MAX 16384 /* a Send's piece kept (SMBD's largest receive size is 8,192 in practice) */
/* An SMB2 message's piece kept ([RDMA_KEPT_HEAD], [RDMA_KEPT_LEAD]): what
 * the run over the parts decodes at its default --pdu-cap (SMBD reassembly,
 * smbd_reasm_add(): a message longer than the cap is dropped, counted in
 * smb_direct.smbd.dropped_messages, in both); a message longer than this
 * (--pdu-cap raised) is counted, not decoded, by merge.  A state holds at
 * most SMBD_KEPT_RECS directions' pieces: 10 MiB at most. */
#define RDMA_MSG_KEEP_MAX (64u * 1024u)
/* The most of a longer message's start kept as what the decoder reads of
 * it (smbd_msg_len): its SMB2, TRANSFORM or compression header needs 72. */
#define RDMA_PREFIX_MAX 4096u
enum {
    RDMA_LEAD_PARTIAL = 1,  /* the first data message began a message in pieces */
    RDMA_LEAD_OPEN = 2,     /* ... whose message has not ended yet */
    RDMA_LEAD_DONE = 4,     /* it ended (not dropped) */
    RDMA_LEAD_NOT_SMB = 8,  /* ... and was no SMB2 message (a framing anomaly) */
    RDMA_LEFT_SMB = 16,     /* the message in progress at the end began with an SMB2 protocol id */
};

/* s->smbd freed with what it kept (session.c). */
void rdma_info_free(struct smb_direct_info *info);
/* The SMBD message r of direction d was assembling when its connection
 * ended, kept for merge (smbd_kept[d][RDMA_KEPT_HEAD]) when it began with
 * an SMB protocol id or is the first data message's, at most RDMA_KEEP_MAX
 * octets (both carriers). */
void rdma_keep_head(const struct smb_conn *s, struct smb_direct_info *info, int d, const struct smbd_reasm *r);

/* ---- iWARP (called by the session model, session.c) ---- */
struct rdma_iwarp;
/* Before the NBSS/direct framer: true when the bytes belong to iWARP (the
 * connection's first data was an MPA request or, for a connection whose
 * start was not captured (midstream), whole FPDUs that pass
 * iwarp_fpdu_probe(); it is then framed here). */
bool rdma_iwarp_data(struct smb_conn *s, struct rdma_iwarp **state, uint8_t *probe, bool first_data, bool midstream,
                     int dir, const uint8_t *p, size_t n, int64_t ts_us);
bool rdma_iwarp_gap(struct smb_conn *s, struct rdma_iwarp *state, int dir, uint64_t n);
void rdma_iwarp_free(struct rdma_iwarp *state);
/* What every iWARP connection of one analysis shares (its session pool's,
 * session_pool_iwarp()): the budget of their reassembly buffers (16 MiB,
 * rdma_budget.h) and the buffer FPDUs are read into. */
struct iwarp_shared *rdma_iwarp_shared_new(void);
void rdma_iwarp_shared_free(struct iwarp_shared *sh);
/* Messages (FPDUs, Sends, SMB2 messages in pieces, kept Send rests)
 * dropped because the budget was spent (evidence.h: a cap hit, and the
 * SMB rules undecided); smbscope merge and --jobs: another run's added. */
uint64_t rdma_iwarp_over_budget(struct session_pool *pool);
void rdma_iwarp_fold_over_budget(struct session_pool *pool, uint64_t over);

/* ---- RoCEv2 (called by the analysis, analysis.c) ---- */
struct roce_table;
struct roce_table *roce_table_new(const struct session_config *cfg, uint32_t max_conns);
/* A UDP packet to port 4791. */
void roce_table_packet(struct roce_table *t, const struct packet *pkt);
/* End of input: close every queue-pair pair; those that carried SMB are
 * appended to conns (struct smb_conn*). */
void roce_table_finish(struct roce_table *t, smb_conn_closed_fn closed, void *ctx);
void roce_table_free(struct roce_table *t);
/* Packets of queue-pair pairs not tracked because of the cap: the table was
 * full of pairs that are SMB or not yet known not to be (evidence.h: a cap
 * hit, and the SMB rules undecided). */
uint64_t roce_table_dropped(const struct roce_table *t);
/* Pairs that were not SMB closed to make room for new ones (stats only:
 * nothing of them is reported). */
uint64_t roce_table_evicted(const struct roce_table *t);
/* SEND or SMBD messages dropped because the table's reassembly buffers were
 * at their 16 MiB budget. */
uint64_t roce_table_over_budget(const struct roce_table *t);
void roce_table_fold_over_budget(struct roce_table *t, uint64_t over_budget);
/* smbscope merge: another run's counters added. */
void roce_table_fold_counts(struct roce_table *t, uint64_t dropped, uint64_t not_decoded, uint64_t icrc_bad);
/* UDP 4791 packets whose BTH could not be decoded (short, unknown opcode). */
uint64_t roce_table_not_decoded(const struct roce_table *t);
/* UDP 4791 packets with a bad ICRC (ignored), whether or not they joined a pair. */
uint64_t roce_table_icrc_bad(const struct roce_table *t);

/* smbscope merge: a queue-pair pair the run could not tell SMB from (no
 * message of it was whole: a part of a capture holding only its ACKs, RDMA
 * Writes or Reads), still open at the end.  The run reports nothing of it;
 * merge joins it to an SMB Direct connection of another part that it
 * continues (mstate_join_roce.h: state.roce_tails).  Side 0: its first
 * sender, its UDP source port port0. */
struct roce_tail {
    struct ip_addr addr[2];
    uint16_t port0;
    uint32_t qp[2];           /* destination QP of the packets sent to side d (0: not seen) */
    int64_t first_ts, last_ts;
    uint64_t packets[2], bytes[2];
    uint64_t acks, writes, write_bytes, reads, icrc_bad, icrc_unchecked;
    /* pieces of SEND messages per side (sender): the rest of one its first
     * packets continued (Middle ... Last; rest_done: its Last seen, else the
     * middle of one: rest_next the PSN after it) from PSN rest_psn, and
     * the start of one in progress at the end (head_psn: the PSN it
     * expected next); each at most RDMA_KEEP_MAX octets, NULL: none.  A
     * pair with SEND packets is a tail only when these hold them all. */
    uint8_t *rest[2], *head[2];
    uint32_t rest_len[2], head_len[2], rest_psn[2], rest_next[2], head_psn[2];
    bool rest_done[2];
    bool used; /* merge: joined (left out of a state written, skipped when joining) */
};
#define ROCE_TAIL_SORTED offsetof(struct roce_tail, rest) /* compared as bytes up to the pieces */
/* Tails a run keeps: the first pairs it created (a cut's pairs begin at
 * once); of them at most ROCE_TAILS_SENDS_MAX with pieces of SENDs. */
#define ROCE_TAILS_MAX 256
#define ROCE_TAILS_SENDS_MAX 32
/* t's pieces freed (and NULL). */
void roce_tail_clear(struct roce_tail *t);
/* The table's tails (struct roce_tail): a run's at its end (roce_table_finish()), a
 * merge's read from the states; merge takes out those it joins. */
GArray *roce_table_tails(struct roce_table *t);
/* merge's mark that the tails are in its join order (mstate_join_roce.c):
 * 1 + their number then, 0 otherwise. */
guint *roce_table_tails_sorted(struct roce_table *t);

/* Shared: a complete Send message (SMBD) of direction dir. */
void rdma_smbd_message(struct smb_conn *s, struct smbd_reasm *reasm, int dir, bool from_responder, bool midstream,
                       const uint8_t *msg, size_t len, int64_t ts_us);

#endif
