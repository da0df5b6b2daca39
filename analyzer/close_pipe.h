/* close_pipe.h - a file run's closed connections folded on a thread of
 * their own.
 *
 * On a capture of many short connections the work a connection's close
 * does after its record is made (the connection groups' place, the folded
 * ones' groups_past row, the SMB hosts, the early-start rows for merge)
 * is a few percent of the packet thread, which is the whole wall, while
 * the second core has only the read thread.  The packet thread makes the
 * record (it needs the connection and its flow) and hands it over through
 * a bounded ring; one consumer thread folds the records in the order they
 * were pushed, so the tables are the ones the packet thread would have
 * built (same adds, same order): the reports do not change.
 *
 * The consumer owns what it folds into while it runs: nothing else may
 * read or write it before close_pipe_drain() or close_pipe_stop(), whose
 * mutex gives the caller everything the consumer wrote.  The ring is
 * handed over in batches under one mutex (no lock per record), and the
 * consumer is woken only when a batch of many is waiting, or at a drain:
 * a wake-up per record costs more than the fold it moves. */
#ifndef SMBSCOPE_CLOSE_PIPE_H
#define SMBSCOPE_CLOSE_PIPE_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_summary.h"

/* One closed connection to fold: its record and what the fold reads of
 * the packet thread's state at the close. */
struct close_item {
    struct conn_summary cs;
    int64_t syn_isn;      /* the client's ISN for syn_start_note() (-1: none) */
    int64_t run_first_ts; /* the run's first packet when it closed */
};

/* fold(ctx, item, next): one item, in push order; next is the item after
 * it when already pushed (a hint to fetch its slots), else NULL. */
typedef void (*close_fold_fn)(void *ctx, const struct close_item *it, const struct close_item *next);

struct close_pipe;

/* Whether a run folds on a thread: SMBSCOPE_CLOSE_THREAD=0 says no. */
bool close_pipe_wanted(void);
/* The consumer started; NULL when it cannot be (the caller folds in
 * place). */
struct close_pipe *close_pipe_start(close_fold_fn fold, void *ctx);
/* The slot the next push hands over, to be filled in place (waits while
 * the ring is full).  Not pushed, it is the next call's again. */
struct close_item *close_pipe_slot(struct close_pipe *p);
/* The slot close_pipe_slot() gave, filled: the consumer's. */
void close_pipe_push(struct close_pipe *p);
/* Consumer threads started by this process (tests: the thread ran). */
unsigned close_pipe_threads(void);
/* Returns once every item pushed is folded. */
void close_pipe_drain(struct close_pipe *p);
/* Drain, end the thread, free. */
void close_pipe_stop(struct close_pipe *p);

#endif
