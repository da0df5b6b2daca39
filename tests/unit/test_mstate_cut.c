/* mstate_cut (analyzer/merge/mstate_cut.h): a state's text parsed with its
 * group rows, SMB host records, inputs and integer arrays (group_closes,
 * end_close_ranks, end_close_lingers, groups_past.closes) cut out, those
 * read a row or a value at a time.
 * Random states (rows of strings holding escaped quotes, brackets, braces,
 * commas; nesting; whitespace between any tokens; the cut members
 * anywhere among others): the canonical text put back from the cut
 * (mstate_cut_put()) is mstate_put_node() of the whole parse, byte for
 * byte; the rows read one at a time are the whole tree's elements, as
 * many as the cut counted; the tree holds "[]" in their place.  A state
 * written otherwise than smbscope writes it (a key escaped, a cut member
 * given twice) is refused (review: read as a tree instead, a forged
 * state's rows took 369 MB where the rows read one at a time hold 19); a
 * member that is not an array, or not the state's, stays in the tree; an
 * array whose text is not JSON, and a row past the values bound, are
 * refused.  An integer array read a value at a time (mstate_arr_i64(),
 * without a parse when it is an integer as json.c writes it) reads what
 * the tree reads (jget_elem_i64()): the same integers, the same error at
 * the same element. */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jget.h"
#include "json.h"
#include "mstate_canon.h"
#include "mstate_cut.h"

static void ws(GString *o, GRand *r)
{
    static const char *const spaces[] = { "", "", "", " ", "\n", "\t ", "\r\n  " };
    g_string_append(o, spaces[g_rand_int_range(r, 0, G_N_ELEMENTS(spaces))]);
}

static void str(GString *o, GRand *r)
{
    static const char *const bits[] = { "a", "b1", "\\\"", "\\\\", "]", "}", "[", "{", ",", ":", "\\u005d", "\\n",
                                        " ", "\\/", "\xc3\xa9", "\\\"]}", "groups", "records" };
    g_string_append_c(o, '"');
    for (int n = g_rand_int_range(r, 0, 6); n > 0; n--)
        g_string_append(o, bits[g_rand_int_range(r, 0, G_N_ELEMENTS(bits))]);
    g_string_append_c(o, '"');
}

static void value(GString *o, GRand *r, int depth);

static void array(GString *o, GRand *r, int depth, int max)
{
    g_string_append_c(o, '[');
    int n = g_rand_int_range(r, 0, max + 1);
    for (int i = 0; i < n; i++) {
        ws(o, r);
        value(o, r, depth + 1);
        ws(o, r);
        if (i + 1 < n)
            g_string_append_c(o, ',');
    }
    ws(o, r);
    g_string_append_c(o, ']');
}

static void value(GString *o, GRand *r, int depth)
{
    int k = g_rand_int_range(r, 0, depth > 3 ? 6 : 8);
    if (k < 6 && g_rand_int_range(r, 0, 8) == 0)
        k = g_rand_int_range(r, 6, 10) + 2; /* a scalar the parse reads another way */
    static const char *const scalars[] = { "0", "-17", "1234567890123", "true", "false", "null", "-0", "1.5", "2e3",
                                           "1234567890123456789" }; /* the last four: read by the parse */
    if (k >= 8) {
        g_string_append(o, scalars[k - 2]);
    } else if (k < 6 && g_rand_boolean(r)) {
        g_string_append(o, scalars[k]);
    } else if (k < 6) {
        str(o, r);
    } else if (k == 6) {
        array(o, r, depth, 4);
    } else {
        g_string_append_c(o, '{');
        int n = g_rand_int_range(r, 0, 4);
        for (int i = 0; i < n; i++) {
            ws(o, r);
            g_string_append_printf(o, "\"m%d\"", i);
            ws(o, r);
            g_string_append_c(o, ':');
            ws(o, r);
            value(o, r, depth + 1);
            if (i + 1 < n)
                g_string_append_c(o, ',');
        }
        ws(o, r);
        g_string_append_c(o, '}');
    }
}

static void rows(GString *o, GRand *r)
{
    g_string_append_c(o, '[');
    int n = g_rand_int_range(r, 0, 12);
    for (int i = 0; i < n; i++) {
        ws(o, r);
        if (g_rand_int_range(r, 0, 8) == 0)
            value(o, r, 1); /* a row that is no array: the reader refuses it, the cut reads it */
        else
            array(o, r, 1, 8);
        ws(o, r);
        if (i + 1 < n)
            g_string_append_c(o, ',');
    }
    ws(o, r);
    g_string_append_c(o, ']');
}

/* An integer array: integers as json.c writes them, now and then one the
 * parse reads another way (-0, 19 digits, a fraction, an exponent) or
 * another value. */
static void ints(GString *o, GRand *r)
{
    static const char *const odd[] = { "-0", "1234567890123456789", "-9223372036854775808", "1.5", "2e3", "true",
                                       "null", "\"7\"", "[1]", "{}" };
    g_string_append_c(o, '[');
    int n = g_rand_int_range(r, 0, 40);
    for (int i = 0; i < n; i++) {
        ws(o, r);
        if (g_rand_int_range(r, 0, 30) == 0)
            g_string_append(o, odd[g_rand_int_range(r, 0, G_N_ELEMENTS(odd))]);
        else
            g_string_append_printf(o, "%" G_GINT64_FORMAT, (gint64)g_rand_int(r) * (g_rand_boolean(r) ? 1 : -100003));
        ws(o, r);
        if (i + 1 < n)
            g_string_append_c(o, ',');
    }
    ws(o, r);
    g_string_append_c(o, ']');
}

static void member(GString *o, GRand *r, const char *key, bool *first)
{
    if (!*first)
        g_string_append_c(o, ',');
    *first = false;
    ws(o, r);
    g_string_append_printf(o, "\"%s\"", key);
    ws(o, r);
    g_string_append_c(o, ':');
    ws(o, r);
}

/* {"key": rows, other members...} (the rows member somewhere among them;
 * key2, when not NULL, as another one most times) */
static void holder(GString *o, GRand *r, const char *key, const char *key2)
{
    bool first = true;
    int at = g_rand_int_range(r, 0, 3), n = g_rand_int_range(r, at, 4);
    int at2 = key2 && g_rand_int_range(r, 0, 4) ? g_rand_int_range(r, 0, n + 1) : -1;
    g_string_append_c(o, '{');
    for (int i = 0; i <= n; i++) {
        if (i == at || i == at2) {
            member(o, r, i == at ? key : key2, &first);
            if (i == at2)
                ints(o, r);
            else
                rows(o, r);
        } else {
            char k[16];
            snprintf(k, sizeof k, "x%d", i);
            member(o, r, k, &first);
            value(o, r, 2);
        }
    }
    ws(o, r);
    g_string_append_c(o, '}');
}

/* *twice: a cut member given twice (refused then) */
static char *random_state(GRand *r, bool *twice)
{
    int given[7] = { 0 };
    *twice = false;
    GString *o = g_string_new(NULL);
    static const char *const names[] = { "groups",          "groups_past",       "smb_hosts", "group_closes",
                                         "end_close_ranks", "end_close_lingers", "inputs",    "run",
                                         "edges",           "policy" };
    bool first = true;
    ws(o, r);
    g_string_append_c(o, '{');
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        size_t k = g_rand_int_range(r, 0, 12) ? i : (i + 1) % G_N_ELEMENTS(names); /* some twice: refused then */
        if (g_rand_int_range(r, 0, 6) == 0)
            continue;
        member(o, r, names[k], &first);
        if (k < 7 && ++given[k] > 1)
            *twice = true;
        if (k == 1)
            holder(o, r, "groups", "closes");
        else if (k == 2)
            holder(o, r, "records", NULL);
        else if (k == 0 || k == 6)
            rows(o, r);
        else if (k < 6)
            ints(o, r);
        else
            value(o, r, 1);
    }
    ws(o, r);
    g_string_append_c(o, '}');
    ws(o, r);
    return g_string_free(o, FALSE);
}

static char *canon_of(JsonNode *n, const struct mstate_cut *cut, bool *ok)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct json w;
    json_init(&w, f, false);
    if (cut)
        *ok = mstate_cut_put(&w, n, cut);
    else
        mstate_put_node(&w, n);
    json_flush(&w);
    fclose(f);
    return text;
}

/* The member the cut at took, in the whole tree (NULL: absent). */
static JsonArray *whole_rows(JsonNode *root, enum mstate_cut_at at)
{
    static const struct {
        const char *outer, *key;
    } where[MSTATE_CUT_N] = {
        [MSTATE_CUT_GROUPS] = { NULL, "groups" },
        [MSTATE_CUT_PAST_GROUPS] = { "groups_past", "groups" },
        [MSTATE_CUT_SMB_HOSTS] = { "smb_hosts", "records" },
        [MSTATE_CUT_GROUP_CLOSES] = { NULL, "group_closes" },
        [MSTATE_CUT_PAST_CLOSES] = { "groups_past", "closes" },
        [MSTATE_CUT_END_RANKS] = { NULL, "end_close_ranks" },
        [MSTATE_CUT_END_LINGERS] = { NULL, "end_close_lingers" },
        [MSTATE_CUT_INPUTS] = { NULL, "inputs" },
    };
    JsonObject *o = json_node_get_object(root);
    const char *outer = where[at].outer, *key = where[at].key;
    JsonNode *n = outer ? json_object_get_member(o, outer) : NULL;
    if (outer)
        o = n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
    n = o ? json_object_get_member(o, key) : NULL;
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/* The cut array read as integers (mstate_arr_i64(), _peek_i64()) reads
 * what the whole tree's does (jget_elem_i64()): each value, and the first
 * element that is no integer, named alike. */
static void check_ints(JsonNode *whole, JsonNode *skel, const struct mstate_cut *cut, enum mstate_cut_at at)
{
    JsonArray *w = whole_rows(whole, at);
    JsonObject *holder = json_node_get_object(skel);
    if (at == MSTATE_CUT_PAST_GROUPS || at == MSTATE_CUT_PAST_CLOSES || at == MSTATE_CUT_SMB_HOSTS)
        holder = jget_member_obj(holder, at == MSTATE_CUT_SMB_HOSTS ? "smb_hosts" : "groups_past");
    static const char *const keys[MSTATE_CUT_N] = {
        [MSTATE_CUT_GROUPS] = "groups", [MSTATE_CUT_PAST_GROUPS] = "groups", [MSTATE_CUT_SMB_HOSTS] = "records",
        [MSTATE_CUT_GROUP_CLOSES] = "group_closes", [MSTATE_CUT_PAST_CLOSES] = "closes",
        [MSTATE_CUT_END_RANKS] = "end_close_ranks", [MSTATE_CUT_END_LINGERS] = "end_close_lingers",
        [MSTATE_CUT_INPUTS] = "inputs",
    };
    const char *key = keys[at];
    char e1[128] = "", e2[128] = "";
    struct jget g1 = { false, e1, sizeof e1 }, g2 = { false, e2, sizeof e2 };
    struct jpath ap;
    jpath_key(&ap, NULL, key);
    struct mstate_arr a, b;
    g_assert_true(mstate_arr_open(&a, &g1, NULL, holder, key, G_MAXUINT, cut, at));
    g_assert_true(mstate_arr_peek(&b, holder, key, cut, at));
    g_assert_cmpuint(a.n, ==, json_array_get_length(w));
    for (guint i = 0; i < a.n; i++) {
        int64_t want = jget_elem_i64(&g2, &ap, w, i);
        int64_t got = mstate_arr_i64(&a, &g1, &ap);
        g_assert_cmpint(got, ==, want);
        g_assert_cmpint(mstate_arr_peek_i64(&b), ==, want);
        g_assert_true(g1.failed == g2.failed);
        if (g2.failed) {
            g_assert_cmpstr(e1, ==, e2);
            break;
        }
    }
    mstate_arr_close(&a);
    mstate_arr_close(&b);
}

/* irregular: the text is JSON but not as smbscope writes a state */
static void check_one(const char *text, bool irregular)
{
    JsonParser *whole = json_parser_new_immutable();
    g_assert_true(json_parser_load_from_data(whole, text, -1, NULL));
    struct mstate_cut cut;
    JsonParser *p = mstate_cut_parse(text, strlen(text), &cut);
    g_assert_true(cut.irregular == irregular);
    if (irregular) {
        g_assert_null(p);
        g_object_unref(whole);
        return;
    }
    g_assert_nonnull(p);
    bool ok = false;
    char *want = canon_of(json_parser_get_root(whole), NULL, NULL);
    char *got = canon_of(json_parser_get_root(p), &cut, &ok);
    g_assert_true(ok);
    g_assert_cmpstr(got, ==, want);
    for (int at = 0; at < MSTATE_CUT_N; at++) {
        JsonArray *w = whole_rows(json_parser_get_root(whole), (enum mstate_cut_at)at);
        if (!mstate_cut_has(&cut, (enum mstate_cut_at)at))
            continue;
        g_assert_nonnull(w);
        g_assert_cmpuint(cut.n[at], ==, json_array_get_length(w));
        JsonArray *left = whole_rows(json_parser_get_root(p), (enum mstate_cut_at)at);
        g_assert_nonnull(left);
        g_assert_cmpuint(json_array_get_length(left), ==, 0);
        struct mstate_rows r;
        const char *why = NULL;
        mstate_rows_begin(&r, &cut, (enum mstate_cut_at)at);
        for (guint i = 0; i < cut.n[at]; i++) {
            JsonNode *row = mstate_rows_next(&r, &why);
            g_assert_nonnull(row);
            g_assert_true(json_node_equal(row, json_array_get_element(w, i)));
        }
        g_assert_null(mstate_rows_next(&r, &why));
        g_assert_null(why);
        mstate_rows_end(&r);
        check_ints(json_parser_get_root(whole), json_parser_get_root(p), &cut, (enum mstate_cut_at)at);
    }
    free(want);
    free(got);
    g_object_unref(p);
    g_object_unref(whole);
}

static void test_random(void)
{
    GRand *r = g_rand_new_with_seed(13);
    guint cut_seen[MSTATE_CUT_N] = { 0 }, refused = 0;
    for (int i = 0; i < 2000; i++) {
        bool twice;
        char *text = random_state(r, &twice);
        check_one(text, twice);
        refused += twice;
        struct mstate_cut cut;
        JsonParser *p = mstate_cut_parse(text, strlen(text), &cut);
        for (int at = 0; p && at < MSTATE_CUT_N; at++)
            cut_seen[at] += mstate_cut_has(&cut, (enum mstate_cut_at)at);
        if (p)
            g_object_unref(p);
        g_free(text);
    }
    g_test_message("refused %u of 2000; cut %u, %u, %u", refused, cut_seen[0], cut_seen[1], cut_seen[2]);
    g_assert_cmpuint(refused, >, 200);
    for (int at = 0; at < MSTATE_CUT_N; at++)
        g_assert_cmpuint(cut_seen[at], >, 200); /* each cut made often */
    g_rand_free(r);
}

static bool cut_of(const char *text, enum mstate_cut_at at)
{
    struct mstate_cut cut;
    JsonParser *p = mstate_cut_parse(text, strlen(text), &cut);
    g_assert_nonnull(p);
    bool has = mstate_cut_has(&cut, at);
    g_object_unref(p);
    check_one(text, false); /* the same canonical text either way */
    return has;
}

/* Refused: JSON, but not a state as smbscope writes it. */
static bool irregular(const char *text)
{
    struct mstate_cut cut;
    JsonParser *p = mstate_cut_parse(text, strlen(text), &cut);
    check_one(text, cut.irregular);
    if (p)
        g_object_unref(p);
    return !p && cut.irregular;
}

static void test_not_cut(void)
{
    g_assert_true(cut_of("{\"groups\":[[1],[2]]}", MSTATE_CUT_GROUPS));
    g_assert_true(irregular("{\"gr\\u006fups\":[[1],[2]]}"));       /* escaped key */
    g_assert_true(irregular("{\"a\\\"\":1,\"groups\":[[1],[2]]}")); /* another key escaped */
    g_assert_true(irregular("{\"groups\":[[1]],\"groups\":[[2]]}")); /* twice */
    g_assert_false(irregular("{\"groups\":[[1]],\"x\":{\"a\\u0062\":1}}")); /* escapes deeper: another member's */
    g_assert_false(cut_of("{\"groups\":{\"a\":[1]}}", MSTATE_CUT_GROUPS));            /* not an array */
    g_assert_false(cut_of("{\"x\":{\"groups\":[[1]]}}", MSTATE_CUT_GROUPS));          /* not the state's */
    g_assert_true(cut_of("{\"groups_past\":{\"groups\":[[1]],\"closes\":[1]}}", MSTATE_CUT_PAST_GROUPS));
    g_assert_true(irregular("{\"groups_past\":{\"groups\":[[1]],\"groups\":[]}}"));
    g_assert_true(cut_of("{\"smb_hosts\":{\"cap\":1,\"records\":[[\"10.0.0.1\",1]]}}", MSTATE_CUT_SMB_HOSTS));
    g_assert_false(cut_of("{\"smb_hosts\":[{\"records\":[[1]]}]}", MSTATE_CUT_SMB_HOSTS));
}

static void test_refused(void)
{
    static const char *const bad[] = {
        "{\"groups\":[1 2]}", "{\"groups\":[[1],,[2]]}", "{\"groups\":[[1]],}", "{\"groups\":[[1]]", "{\"groups\":[[1]]}x",
        "{\"groups_past\":{\"groups\":[[1] [2]]}}", "{\"smb_hosts\":{\"records\":[[1],]}}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        struct mstate_cut cut;
        g_assert_null(mstate_cut_parse(bad[i], strlen(bad[i]), &cut));
    }
    /* a row past the bound: refused before it is parsed, its text not made */
    GString *t = g_string_new("{\"groups\":[[1],[");
    for (guint i = 0; i < MSTATE_CUT_ROW_VALUES; i++)
        g_string_append(t, i ? ",0" : "0");
    g_string_append(t, "],[2]]}");
    struct mstate_cut cut;
    JsonParser *p = mstate_cut_parse(t->str, t->len, &cut);
    g_assert_nonnull(p);
    struct mstate_rows r;
    const char *why = NULL;
    mstate_rows_begin(&r, &cut, MSTATE_CUT_GROUPS);
    g_assert_nonnull(mstate_rows_next(&r, &why));
    g_assert_null(mstate_rows_next(&r, &why));
    g_assert_nonnull(why);
    g_assert_nonnull(strstr(why, "more than 128 values"));
    mstate_rows_end(&r);
    bool ok = true;
    char *text = canon_of(json_parser_get_root(p), &cut, &ok);
    g_assert_false(ok);
    free(text);
    g_object_unref(p);
    g_string_free(t, TRUE);
    /* one value fewer: read */
    t = g_string_new("{\"groups\":[[");
    for (guint i = 0; i + 1 < MSTATE_CUT_ROW_VALUES; i++)
        g_string_append(t, i ? ",0" : "0");
    g_string_append(t, "]]}");
    check_one(t->str, false);
    g_string_free(t, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mstate_cut/random", test_random);
    g_test_add_func("/mstate_cut/not_cut", test_not_cut);
    g_test_add_func("/mstate_cut/refused", test_refused);
    return g_test_run();
}
