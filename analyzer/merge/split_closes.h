/* split_closes.h - --jobs over one file (split.h): the threads' closes
 * numbered as one run over the file numbers them, so that the folded
 * report's merge state carries one run's close order (the state's
 * group_closes, edge_closes, edge_fins_acked, tail_closes,
 * data_tail_closes, end_closes_from, end_close_ranks, end_close_lingers,
 * fin_closes, end_lingers: mstate_group_order.h), and `smbscope merge` of
 * a --jobs report gives what merge of one run's report gives (review F11:
 * without them merge put the edges into the groups in the order of their
 * addresses, 1,027 groups of 12,000 NetBIOS clients where one run's report
 * merges to 1,028).
 *
 * Each thread notes its closes in its own order (those mstate_close_next()
 * numbers: an SMB connection's, a tail's), each with when one run closed
 * it (struct close_key: split.c works it out, linger_model() for the
 * connections one run's shared closed list ended).  The fold sorts them
 * all by that key: ties between two threads' closes are told apart by
 * frame (one run ends the connections idle at one record in the order of
 * their last packets' arrival, and those left at the end in the order it
 * opened them: their first frames); two closes of two threads that still
 * tie are not one run's order and the split gives up (the file analysed
 * as one run).  A run keeps ANALYSIS_MAX_EDGES tails and numbers no close
 * of a tail past them: the threads' tails past the first ANALYSIS_MAX_EDGES
 * in one run's order are dropped and not numbered. */
#ifndef SMBSCOPE_SPLIT_CLOSES_H
#define SMBSCOPE_SPLIT_CLOSES_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "analysis.h"

/* When a connection closed in one run, as near as a thread can tell
 * (keep_first_closed(), the groups' order): ordered by close_key_order(). */
struct close_key {
    bool at_end;    /* closed by the end of the input */
    uint8_t rank;   /* enum close_rank: of those at one time */
    int64_t when;   /* the time it closed in one run (enum close_rank says of what); INT64_MIN: by the
                     * flow table's end */
    int64_t tie;    /* of those of one rank at one time: the order one run ends them in */
    uint64_t seq;   /* then: a UDP table's, in the order of the thread that has every datagram */
    int64_t first_ts;
    uint64_t flow_id;
    int64_t last_ts;
    uint32_t linger; /* ended from the flow table's closed list (FIN or RST): 1 + its index in its worker's
                      * lingering (linger_model() says when one run ended it); 0: not so */
    uint64_t first_frame, last_frame; /* its TCP flow's (0: not TCP): one run's ties (at_end: opening order;
                                       * else the flow table's lists: last packet's arrival) */
};

/* What happens at one time, in one run's order.  A TCP record (when: its
 * time) makes its NetBIOS row (the ledger has a packet before the flow
 * table), then ends those of the closed list whose linger ran out (flow.c
 * expire()), then the others idle, each in list order (their last
 * packet).  The records up to the next TCP one (when: the last TCP
 * record's time) are datagrams: the QUIC and RoCEv2 tables end
 * connections (a sweep walks its array: the order of the thread that has
 * every datagram, seq) and NetBIOS rows are made, at their own times
 * (tie).  At the next TCP record, before anything else, the closed list
 * past max_closed ends its oldest (when: the time of the one that joined
 * it).  At the end: the flow table's in opening order, then the UDP
 * tables' (analysis_finish()). */
enum close_rank { RANK_TCP_ROW, RANK_CLOSED_LIST, RANK_TCP, RANK_PUSHED, RANK_DATAGRAM };

gint close_key_order(gconstpointer pa, gconstpointer pb);

/* A stable radix sort by byte of key (the bytes every key shares
 * skipped): qsort's callbacks were 9 M instructions for the 40,000
 * lingering connections of --many 20000 under 2 threads, this about 1 M. */
struct split_ord {
    uint64_t key;
    uint32_t ref;
};
void split_radix_sort(struct split_ord *v, guint n);

/* A close a thread numbered (mstate_close_next()), in its order: what
 * one run's order and its ranking at the end read of it (64 bytes a close:
 * 11 MB for many170k's 170,000 connections). */
struct split_numbered {
    int64_t when, tie;       /* close_key's (linger_resolve() done before split_closes_number()) */
    int64_t first_ts, last_ts; /* last_ts: its flow's last packet, as mstate_close_next() ranks the closes
                                * at the end */
    uint64_t first_frame, last_frame; /* its TCP flow's; 0: not TCP */
    uint32_t linger;         /* close_key's */
    uint32_t tail;           /* 1 + its index in the thread's tails; 0: an SMB connection */
    bool at_end;
    uint8_t rank;
    bool in_closed;          /* it was in the flow table's closed list (mstate_close_lingers()) */
};

struct close_key split_numbered_key(const struct split_numbered *x);
void split_numbered_set_key(struct split_numbered *x, const struct close_key *k);

/* One thread's closes and what the fold makes of them. */
struct split_thread_closes {
    struct analysis *a;   /* the thread's analysis (finished) */
    GArray *closes;       /* struct split_numbered, in the thread's order (its close numbers 1, 2, ...) */
    uint64_t *number;     /* split_closes_number(): one run's number of each (1-based; 0: not numbered) */
};

/* Every thread's closes in one run's order: number[] set, the threads'
 * tails past one run's dropped, their edges' and tails' order_at one run's,
 * the edges' fins_acked only at one run's end.  false: not one run's order
 * (two threads' closes tie; a thread's closes not all noted). */
bool split_closes_number(struct split_thread_closes *t, unsigned n);
/* The closes that made a thread's groups (made[i]: its own number of the
 * close that made group i), as one run numbers them (2 x the number, as
 * group_close holds them): for fold_order_group_closes(); g_free() it. */
int64_t *split_closes_groups(const struct split_thread_closes *t, const uint64_t *made, guint n);
/* After the fold (fold_mem_many(): a->tails and a->groups the threads'):
 * a's closes replayed in one run's order (close_seq, the closes at the end
 * ranked, the tails there placed by their last packet: mstate_close_rank()),
 * its tails in that order, fin_closes and end_lingers (end_lingers_moved:
 * the connections one run held lingering at its end less those the
 * threads held, linger_model()). */
void split_closes_fold(struct analysis *a, const struct split_thread_closes *t, unsigned n, int64_t end_lingers_moved);
/* The groups' closes by key, taken before merge_finish() (which may list
 * a->groups again, canonical_groups()); put back for the table the state
 * writes after it. */
GHashTable *split_closes_take_groups(struct analysis *a);
void split_closes_put_groups(struct analysis *a, GHashTable *by_key);

#endif
