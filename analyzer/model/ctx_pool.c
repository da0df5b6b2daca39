/* ctx_pool.c - the bounded, reference-counted pool of negotiate context
 * lists (ctx_pool.h).  One pool per process, shared by the analyses that
 * --jobs runs in threads: every use holds pool_lock. */
#include "ctx_pool.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>

/* list -> reference count; keys are the pooled lists themselves */
static GHashTable *pool;
/* pthread's lock, not GLib's GMutex (a bare futex): ThreadSanitizer sees it */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * UINT64_C(0x100000001b3); }

static uint64_t item_hash(uint64_t h, const struct smb2_neg_ctx *c)
{
    h = mix(h, c->type | (uint64_t)c->data_len << 16 | (uint64_t)c->id_count << 32 | (uint64_t)c->malformed << 48);
    h = mix(h, c->salt_len | (uint64_t)c->flags << 16 | (uint64_t)c->ids_stored << 48);
    for (unsigned i = 0; i < c->ids_stored && i < SMB2_CTX_MAX_IDS; i++)
        h = mix(h, c->ids[i]);
    return h;
}

static guint list_hash(gconstpointer p)
{
    const struct smb2_neg_ctx_list *l = p;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    h = mix(h, (uint64_t)l->status | (uint64_t)l->offset << 8 | (uint64_t)l->stored << 40);
    h = mix(h, l->count | (uint64_t)l->walked << 16 | (uint64_t)l->has_netname << 32 |
                   (uint64_t)l->netname_truncated << 33);
    h = mix(h, (uint64_t)(uintptr_t)l->reason);
    for (unsigned i = 0; i < l->stored && i < SMB2_CTX_MAX_ITEMS; i++)
        h = item_hash(h, &l->items[i]);
    if (l->has_netname)
        h = mix(h, g_str_hash(l->netname));
    return (guint)(h ^ (h >> 32));
}

static bool item_equal(const struct smb2_neg_ctx *a, const struct smb2_neg_ctx *b)
{
    if (a->type != b->type || a->data_len != b->data_len || a->malformed != b->malformed ||
        a->id_count != b->id_count || a->ids_stored != b->ids_stored || a->salt_len != b->salt_len ||
        a->flags != b->flags)
        return false;
    for (unsigned i = 0; i < a->ids_stored && i < SMB2_CTX_MAX_IDS; i++)
        if (a->ids[i] != b->ids[i])
            return false;
    return true;
}

static gboolean list_equal(gconstpointer pa, gconstpointer pb)
{
    const struct smb2_neg_ctx_list *a = pa, *b = pb;
    if (a->status != b->status || a->reason != b->reason || a->offset != b->offset || a->count != b->count ||
        a->walked != b->walked || a->stored != b->stored || a->has_netname != b->has_netname ||
        a->netname_truncated != b->netname_truncated)
        return FALSE;
    for (unsigned i = 0; i < a->stored && i < SMB2_CTX_MAX_ITEMS; i++)
        if (!item_equal(&a->items[i], &b->items[i]))
            return FALSE;
    return !a->has_netname || strncmp(a->netname, b->netname, sizeof a->netname) == 0;
}

static struct smb2_neg_ctx_list *keep_locked(struct smb2_neg_ctx_list *l)
{
    /* the netname is compared as a string: make sure it is one */
    l->netname[sizeof l->netname - 1] = '\0';
    if (!pool)
        pool = g_hash_table_new(list_hash, list_equal);
    gpointer kept, refs;
    if (g_hash_table_lookup_extended(pool, l, &kept, &refs)) {
        g_hash_table_insert(pool, kept, GSIZE_TO_POINTER(GPOINTER_TO_SIZE(refs) + 1));
        if (kept != l)
            g_free(l);
        return kept;
    }
    if (g_hash_table_size(pool) < CTX_POOL_MAX)
        g_hash_table_insert(pool, l, GSIZE_TO_POINTER(1));
    return l;
}

static void drop_locked(struct smb2_neg_ctx_list *l)
{
    gpointer kept, refs;
    if (!pool || !g_hash_table_lookup_extended(pool, l, &kept, &refs) || kept != l) {
        g_free(l); /* never pooled: its connection's own */
        return;
    }
    size_t n = GPOINTER_TO_SIZE(refs);
    if (n > 1) {
        g_hash_table_insert(pool, kept, GSIZE_TO_POINTER(n - 1));
        return;
    }
    g_hash_table_remove(pool, l);
    g_free(l);
    if (g_hash_table_size(pool) == 0) {
        g_hash_table_destroy(pool);
        pool = NULL;
    }
}

struct smb2_neg_ctx_list *ctx_pool_keep(struct smb2_neg_ctx_list *l)
{
    if (!l)
        return NULL;
    pthread_mutex_lock(&pool_lock);
    struct smb2_neg_ctx_list *k = keep_locked(l);
    pthread_mutex_unlock(&pool_lock);
    return k;
}

void ctx_pool_drop(struct smb2_neg_ctx_list *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&pool_lock);
    drop_locked(l);
    pthread_mutex_unlock(&pool_lock);
}

size_t ctx_pool_size(void)
{
    pthread_mutex_lock(&pool_lock);
    size_t n = pool ? g_hash_table_size(pool) : 0;
    pthread_mutex_unlock(&pool_lock);
    return n;
}
