/* mstate_leaves.c - see mstate_leaves.h. */
#include "mstate_leaves.h"

#include <stdio.h>
#include <string.h>

#include "mstate_canon.h"

struct mstate_leaves {
    GPtrArray *texts; /* char *: {"state":...,"connections":[...]} in canonical form */
    uint64_t bytes;
};

bool mstate_is_leaves(JsonObject *st) { return st && json_object_has_member(st, "leaves"); }

void mstate_leaves_keep(struct analysis *a, JsonNode *state, JsonNode *detail)
{
    if (!a->merge_leaves) {
        a->merge_leaves = g_new0(struct mstate_leaves, 1);
        a->merge_leaves->texts = g_ptr_array_new_with_free_func(g_free);
    }
    struct mstate_leaves *l = a->merge_leaves;
    if (l->bytes == UINT64_MAX)
        return; /* past the caps: the folded state is written */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        l->bytes = UINT64_MAX;
        return;
    }
    struct json w;
    json_init(&w, f, false);
    json_begin_object(&w);
    json_key(&w, "state");
    mstate_put_node(&w, state); /* the text the digest of the merged state hashes on reading it back */
    json_key(&w, "connections");
    if (detail) {
        mstate_put_node(&w, detail);
    } else {
        json_begin_array(&w);
        json_end_array(&w);
    }
    json_end_object(&w);
    json_flush(&w);
    fclose(f);
    g_ptr_array_add(l->texts, text);
    l->bytes += len;
    if (l->texts->len > MSTATE_LEAVES_CAP || l->bytes > MSTATE_LEAVES_BYTES) { /* whatever the order: the totals */
        g_ptr_array_set_size(l->texts, 0);
        l->bytes = UINT64_MAX;
    }
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
