/* mstate_leaves.c - see mstate_leaves.h. */
#include "mstate_leaves.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mstate_canon.h"

struct mstate_leaves {
    GPtrArray *texts; /* char *: {"state":...,"connections":[...]} in canonical form */
    uint64_t bytes;
};

bool mstate_is_leaves(JsonObject *st) { return st && json_object_has_member(st, "leaves"); }

static struct mstate_leaves *leaves_of(struct analysis *a)
{
    if (!a->merge_leaves) {
        a->merge_leaves = g_new0(struct mstate_leaves, 1);
        a->merge_leaves->texts = g_ptr_array_new_with_free_func(free); /* open_memstream() texts */
    }
    return a->merge_leaves;
}

void mstate_leaves_keep_text(struct analysis *a, char *text, size_t len)
{
    struct mstate_leaves *l = leaves_of(a);
    if (!text || l->bytes == UINT64_MAX) { /* past the caps: the folded state is written */
        free(text);
        l->bytes = UINT64_MAX;
        return;
    }
    g_ptr_array_add(l->texts, text);
    l->bytes += len;
    if (l->texts->len > MSTATE_LEAVES_CAP || l->bytes > MSTATE_LEAVES_BYTES) { /* whatever the order: the totals */
        g_ptr_array_set_size(l->texts, 0);
        l->bytes = UINT64_MAX;
    }
}

/* {"state":S,"connections":D} onto a stream that hashes S, "\n" and D as
 * mstate_digest() does (json.c buffers: flushed before each switch). */
static void leaf_walk(struct mstate_sink *s, FILE *f, JsonNode *state, JsonNode *detail)
{
    struct json w;
    json_init(&w, f, false);
    json_begin_object(&w);
    json_key(&w, "state");
    json_flush(&w);
    s->hashing = true;
    mstate_put_node(&w, state);
    json_flush(&w);
    s->hashing = false;
    mstate_sink_hash(s, "\n", 1);
    json_key(&w, "connections");
    json_flush(&w);
    s->hashing = true;
    if (detail) {
        mstate_put_node(&w, detail);
    } else {
        json_begin_array(&w);
        json_end_array(&w);
    }
    json_flush(&w);
    s->hashing = false;
    json_end_object(&w);
    json_flush(&w);
}

void mstate_leaf_digest(JsonNode *state, JsonNode *detail, char out[MSTATE_DIGEST_LEN + 1], char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *mem = open_memstream(text, len);
    struct mstate_sink s;
    FILE *f = mstate_sink_open(&s, mem, MSTATE_FORMAT);
    if (f)
        leaf_walk(&s, f, state, detail);
    mstate_sink_digest(&s, out);
    mstate_sink_close(&s, f);
    if (mem)
        fclose(mem);
    if (!mem || !f) { /* no text: the leaf cannot be kept (the caps' answer: the folded state) */
        free(*text);
        *text = NULL;
    }
}

void mstate_leaves_keep(struct analysis *a, JsonNode *state, JsonNode *detail)
{
    if (leaves_of(a)->bytes == UINT64_MAX)
        return;
    char *text = NULL, digest[MSTATE_DIGEST_LEN + 1];
    size_t len = 0;
    mstate_leaf_digest(state, detail, digest, &text, &len);
    mstate_leaves_keep_text(a, text, len);
}

static gint text_order(gconstpointer pa, gconstpointer pb)
{
    return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

void mstate_leaves_sort(struct analysis *a)
{
    if (a->merge_leaves)
        g_ptr_array_sort(a->merge_leaves->texts, text_order);
}

bool mstate_leaves_fit(const struct analysis *a)
{
    const struct mstate_leaves *l = a->merge_leaves;
    return l && l->texts->len && l->bytes != UINT64_MAX;
}

void mstate_leaves_put(struct json *b, const struct analysis *a)
{
    const struct mstate_leaves *l = a->merge_leaves;
    json_begin_object(b);
    json_key(b, "leaves");
    json_begin_array(b);
    for (guint i = 0; i < l->texts->len; i++) {
        const char *t = g_ptr_array_index(l->texts, i);
        json_raw(b, t, strlen(t));
    }
    json_end_array(b);
    json_end_object(b);
}

void mstate_leaves_free(struct analysis *a)
{
    if (!a->merge_leaves)
        return;
    g_ptr_array_free(a->merge_leaves->texts, TRUE);
    g_free(a->merge_leaves);
    a->merge_leaves = NULL;
}
