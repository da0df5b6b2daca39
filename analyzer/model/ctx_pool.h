/* ctx_pool.h - closed connections share identical negotiate context lists.
 *
 * A capture holds tens of thousands of SMB 3.1.1 connections whose
 * negotiate context lists (800 bytes each way) are nearly always alike;
 * keeping each list once halves the memory of the connections kept for the
 * report (20000 connections: 62 MB -> 30 MB).  The pool is bounded (at most
 * CTX_POOL_MAX distinct lists; past that a list stays its connection's own),
 * reference counted, and gone once its last list is dropped.  Lists are
 * compared by their decoded fields, never by struct padding. */
#ifndef SMBSCOPE_CTX_POOL_H
#define SMBSCOPE_CTX_POOL_H

#include <stddef.h>

#include "smb2_ctx.h"

#define CTX_POOL_MAX 4096u

/* Take l (g_malloc'ed, owned by the caller): returns the pooled equal list
 * (l is freed) or l itself, pooled or, when the pool is full, still
 * private.  NULL gives NULL. */
struct smb2_neg_ctx_list *ctx_pool_keep(struct smb2_neg_ctx_list *l);
/* Give up a list from ctx_pool_keep(), or one never kept (it is freed). */
void ctx_pool_drop(struct smb2_neg_ctx_list *l);
/* Distinct lists in the pool (for tests). */
size_t ctx_pool_size(void);

#endif
