/* mstate_leaves (analyzer/merge/mstate_leaves.h): the merged state's
 * leaves kept out of memory until the report is written.  Random leaf
 * texts -- many sharing long first parts, some the same text twice, some
 * longer than the pieces they are read back in -- kept, sorted and put:
 * the member written is the texts in strcmp() order, as when they were
 * held in memory, and keeping them did not hold their bytes on the heap. */
#include <glib.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "json.h"
#include "mstate_leaves.h"

static gint by_strcmp(gconstpointer pa, gconstpointer pb) { return strcmp(*(char *const *)pa, *(char *const *)pb); }

/* A leaf's text: {"bytes":N,"zlib":"<prefix><random base64>"}. */
static char *leaf_text(GRand *g, const char *prefix, size_t plen, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "{\"bytes\":%u,\"zlib\":\"", 1000u + (unsigned)g_rand_int_range(g, 0, 3));
    g_string_append_len(s, prefix, (gssize)plen);
    for (size_t i = 0; i < n; i++)
        g_string_append_c(s, b64[g_rand_int_range(g, 0, 64)]);
    g_string_append(s, "\"}");
    char *out = strdup(s->str); /* free()d by the keeper, as open_memstream() texts */
    g_string_free(s, TRUE);
    return out;
}

static size_t heap_bytes(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* Whether mallinfo2() sees a megabyte allocated. */
static bool allocator_counts(void)
{
    size_t before = heap_bytes();
    char *volatile p = malloc(1u << 20);
    bool seen = p && heap_bytes() >= before + (1u << 20);
    free(p);
    return seen;
}

/* t kept: what it left on the heap (the text taken counted as kept). */
static int64_t keep(struct analysis *a, char *t)
{
    size_t n = strlen(t), before = heap_bytes();
    mstate_leaves_keep_packed(a, t, n);
    return (int64_t)heap_bytes() - (int64_t)before + (int64_t)n;
}

static void test_spool(void)
{
    GRand *g = g_rand_new_with_seed(5);
    char prefix[200000];
    for (size_t i = 0; i < sizeof prefix; i++)
        prefix[i] = (char)('A' + g_rand_int_range(g, 0, 2)); /* few letters: long common parts */
    GPtrArray *want = g_ptr_array_new_with_free_func(g_free);
    struct analysis a;
    memset(&a, 0, sizeof a);
    size_t total = 0;
    char *first = leaf_text(g, "", 0, 10); /* the spool made: its memory not counted below */
    g_ptr_array_add(want, g_strdup(first));
    mstate_leaves_keep_packed(&a, first, strlen(first));
    int64_t held = 0; /* bytes the keeper kept on the heap: what each keep added, the text it took counted */
    for (int i = 0; i < 300; i++) {
        size_t plen = (size_t)g_rand_int_range(g, 0, 4) * (size_t)g_rand_int_range(g, 0, 66000); /* < sizeof prefix */
        size_t n = (size_t)g_rand_int_range(g, 0, 3) ? (size_t)g_rand_int_range(g, 0, 80) : 150000;
        char *t = leaf_text(g, prefix, plen, n);
        if (i % 50 == 7) { /* a text twice */
            char *again = strdup(t);
            g_ptr_array_add(want, g_strdup(again));
            total += strlen(again);
            held += keep(&a, again);
        }
        g_ptr_array_add(want, g_strdup(t));
        total += strlen(t);
        held += keep(&a, t);
    }
    g_test_message("%zu bytes of leaves kept, %" G_GINT64_FORMAT " bytes of them on the heap", total, held);
    g_assert_cmpuint(total, >, 8u << 20);
    if (allocator_counts()) /* not under ASan's, whose mallinfo2() says nothing */
        g_assert_cmpint(held, <, (int64_t)(total / 16)); /* held in memory, they were all of it */
    g_assert_true(mstate_leaves_fit(&a));

    mstate_leaves_sort(&a);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct json *w = g_new(struct json, 1);
    json_init(w, f, false);
    json_begin_array(w); /* a member of something: its comma before the next value */
    json_int(w, 1);
    mstate_leaves_put(w, &a);
    json_int(w, 2);
    json_end_array(w);
    json_flush(w);
    fclose(f);
    g_free(w);

    g_ptr_array_sort(want, by_strcmp);
    GString *exp = g_string_new("[1,{\"leaves\":[");
    for (guint i = 0; i < want->len; i++) {
        if (i)
            g_string_append_c(exp, ',');
        g_string_append(exp, g_ptr_array_index(want, i));
    }
    g_string_append(exp, "]},2]");
    g_assert_cmpuint(len, ==, exp->len);
    g_assert_true(memcmp(text, exp->str, len) == 0);
    g_string_free(exp, TRUE);
    free(text);
    mstate_leaves_free(&a);
    g_ptr_array_unref(want);
    g_rand_free(g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/leaves/spool", test_spool);
    return g_test_run();
}
