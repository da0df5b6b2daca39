/* rdma_budget.h - one total for the reassembly buffers of many RDMA
 * connections, as TCP's --reassembly-total-cap is for out-of-order data:
 * a buffer is taken when a message starts (or grows) and given back when
 * it completes or is dropped; a message that finds no room is dropped and
 * counted (over), which the verdict reports as a cap hit that leaves the
 * SMB rules undecided.  The capture chooses how many messages stay open at
 * once, so without a total it chooses the memory too.
 *
 * Used by iWARP (rdma_iwarp.c: every connection of one analysis); RoCEv2
 * (rdma_roce.c) keeps the same arithmetic in its table. */
#ifndef SMBSCOPE_RDMA_BUDGET_H
#define SMBSCOPE_RDMA_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define RDMA_BUF_BUDGET (16u << 20) /* bytes, as RoCEv2's and TCP's total */

struct rdma_budget {
    uint64_t limit; /* bytes; 0: none (a connection made without an analysis: unit tests) */
    uint64_t held;  /* bytes of buffers held now */
    uint64_t over;  /* messages dropped because the budget was spent */
};

/* n more bytes for one message's buffer; false (and the message counted
 * over the budget: the caller drops it) when they do not fit. */
static inline bool rdma_budget_take(struct rdma_budget *b, uint64_t n)
{
    if (b->limit && (b->held + n > b->limit || b->held + n < b->held)) {
        b->over++;
        return false;
    }
    b->held += n;
    return true;
}

static inline void rdma_budget_give(struct rdma_budget *b, uint64_t n) { b->held -= n; }

#endif
