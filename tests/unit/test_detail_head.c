/* mstate_detail_head() and mstate_detail_put() of a packed connections[]
 * entry (analyzer/merge/mstate_detail.h) read from its text without a
 * parse: random entries (the head's members present, absent, null, of
 * another type, strings with escapes and bytes past 0x7e, the same names
 * nested deeper; those mstate_detail_entry_check() passes, as merge keeps
 * only those) give the same head from the packed text as from the tree,
 * and the same canonical text (mstate_put_node() of the tree). */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mstate_canon.h"
#include "mstate_detail.h"

static void str(GString *o, GRand *r)
{
    static const char *const bits[] = { "10.0.0.1", "fe80::1", "2026-01-01T00:00:00.000001Z", "\\\"", "\\\\", "\\n",
                                        "\\u007f", "\\u0001", "\xc3\xa9", "}", "]", ",", ":", "a", "\\/" };
    g_string_append_c(o, '"');
    for (int n = g_rand_int_range(r, 0, 4); n > 0; n--)
        g_string_append(o, bits[g_rand_int_range(r, 0, G_N_ELEMENTS(bits))]);
    g_string_append_c(o, '"');
}

static void value(GString *o, GRand *r, int depth);

static void object(GString *o, GRand *r, int depth)
{
    static const char *const names[] = { "first_seen", "client", "server", "client_port", "server_port", "x",
                                         "stream", "sessions" };
    g_string_append_c(o, '{');
    int n = g_rand_int_range(r, 0, depth ? 4 : 9);
    for (int i = 0; i < n; i++) {
        if (i)
            g_string_append_c(o, ',');
        g_string_append_printf(o, "\"%s\":", names[g_rand_int_range(r, 0, G_N_ELEMENTS(names))]);
        value(o, r, depth + 1);
    }
    g_string_append_c(o, '}');
}

static void value(GString *o, GRand *r, int depth)
{
    switch (g_rand_int_range(r, 0, depth > 2 ? 5 : 7)) {
    case 0:
        g_string_append_printf(o, "%d", g_rand_int_range(r, 0, 70000));
        break;
    case 1:
        g_string_append(o, "null");
        break;
    case 2:
        g_string_append(o, g_rand_boolean(r) ? "true" : "false");
        break;
    case 3:
    case 4:
        str(o, r);
        break;
    case 5:
        object(o, r, depth);
        break;
    default:
        g_string_append_c(o, '[');
        value(o, r, depth + 1);
        g_string_append(o, ",1]");
        break;
    }
}

static char *put_text(JsonNode *n, bool packed_put)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct json w;
    json_init(&w, f, false);
    if (packed_put)
        mstate_detail_put(&w, n);
    else
        mstate_put_node(&w, n);
    json_flush(&w);
    fclose(f);
    return text;
}

static void same_str(const char *a, const char *b) { g_assert_cmpstr(a ? a : "(null)", ==, b ? b : "(null)"); }

static void test_random(void)
{
    GRand *r = g_rand_new_with_seed(7);
    guint fast = 0, checked = 0;
    for (int i = 0; i < 5000; i++) {
        GString *o = g_string_new(NULL);
        object(o, r, 0);
        JsonParser *p = json_parser_new();
        g_assert_true(json_parser_load_from_data(p, o->str, -1, NULL));
        JsonNode *tree = json_parser_get_root(p);
        if (mstate_detail_entry_check(tree)) { /* merge keeps only entries that pass it */
            g_object_unref(p);
            g_string_free(o, TRUE);
            continue;
        }
        checked++;
        JsonNode *packed = mstate_detail_pack(tree);
        g_assert_true(mstate_detail_is_packed(packed));
        struct mstate_detail_head a, b;
        JsonParser *sa = NULL, *sb = NULL;
        mstate_detail_head(packed, &a, &sa);
        mstate_detail_head(tree, &b, &sb);
        fast += sa == NULL;
        same_str(a.first_seen, b.first_seen);
        same_str(a.client, b.client);
        same_str(a.server, b.server);
        g_assert_cmpint(a.client_port, ==, b.client_port);
        g_assert_cmpint(a.server_port, ==, b.server_port);
        char *x = put_text(packed, true), *y = put_text(tree, false);
        g_assert_cmpstr(x, ==, y);
        free(x);
        free(y);
        if (sa)
            g_object_unref(sa);
        json_node_unref(packed);
        g_object_unref(p);
        g_string_free(o, TRUE);
    }
    g_assert_cmpuint(checked, >, 1000);
    g_assert_cmpuint(fast, >, checked / 3); /* many read from the text */
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/detail_head/random", test_random);
    return g_test_run();
}
