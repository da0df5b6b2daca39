/* leaf_split (analyzer/merge/leaf_split.h): a packed leaf's text cut into
 * its state and connections[] entries as it comes.  Random leaves (strings
 * holding escaped quotes, brackets, braces, commas and colons; nesting;
 * whitespace between any tokens) fed in chunks of every size from 1 byte to
 * the whole: the pieces handed on are exactly the state's and each entry's
 * text; every prefix of a leaf is refused, with no piece past what is
 * whole; the depth and members errors are merge_json_checked()'s of the
 * whole text, offsets included; the shapes smbscope never writes and the
 * values bounds are refused. */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "leaf_split.h"
#include "merge.h"

struct got {
    GPtrArray *pieces; /* "S:" or "E:" then the text */
    enum leaf_took answer;
};

static enum leaf_took take(void *ctx, enum leaf_piece kind, const char *text, size_t len)
{
    struct got *g = ctx;
    GString *s = g_string_new(kind == LEAF_PIECE_STATE ? "S:" : "E:");
    g_string_append_len(s, text, (gssize)len);
    g_ptr_array_add(g->pieces, g_string_free(s, FALSE));
    return g->answer;
}

/* The text fed in chunks of chunk bytes (0: random sizes from rng); the
 * split's answer, its error in err. */
static int split(const char *text, size_t len, size_t chunk, GRand *rng, struct got *g, char *err, size_t errlen)
{
    struct leaf_split s;
    leaf_split_init(&s, take, g);
    for (size_t at = 0; at < len;) {
        size_t n = chunk ? chunk : (size_t)g_rand_int_range(rng, 1, 200);
        if (n > len - at)
            n = len - at;
        leaf_split_feed(&s, text + at, n);
        at += n;
    }
    return leaf_split_end(&s, err, errlen);
}

/* ---- random leaves ------------------------------------------------------ */

static void ws(GString *o, GRand *r)
{
    static const char *const spaces[] = { "", "", "", " ", "\n", "\t ", "\r\n  " };
    g_string_append(o, spaces[g_rand_int_range(r, 0, G_N_ELEMENTS(spaces))]);
}

static void str(GString *o, GRand *r)
{
    static const char *const bits[] = { "a", "b1", "\\\"", "\\\\", "]", "}", "[", "{", ",", ":", "\\u005d", "\\n",
                                        " ", "\\/", "\xc3\xa9", "\\\"]}" };
    g_string_append_c(o, '"');
    for (int n = g_rand_int_range(r, 0, 6); n > 0; n--)
        g_string_append(o, bits[g_rand_int_range(r, 0, G_N_ELEMENTS(bits))]);
    g_string_append_c(o, '"');
}

static void value(GString *o, GRand *r, int depth);

static void object(GString *o, GRand *r, int depth, int members)
{
    g_string_append_c(o, '{');
    for (int i = 0; i < members; i++) {
        if (i)
            g_string_append_c(o, ',');
        ws(o, r);
        str(o, r);
        ws(o, r);
        g_string_append_c(o, ':');
        ws(o, r);
        value(o, r, depth + 1);
        ws(o, r);
    }
    g_string_append_c(o, '}');
}

static void value(GString *o, GRand *r, int depth)
{
    static const char *const scalars[] = { "0", "-12", "3.5e2", "true", "false", "null", "123456789" };
    int kind = depth > 5 ? g_rand_int_range(r, 0, 2) : g_rand_int_range(r, 0, 4);
    if (kind == 0) {
        g_string_append(o, scalars[g_rand_int_range(r, 0, G_N_ELEMENTS(scalars))]);
    } else if (kind == 1) {
        str(o, r);
    } else if (kind == 2) {
        object(o, r, depth, g_rand_int_range(r, 0, 4));
    } else {
        g_string_append_c(o, '[');
        for (int i = 0, n = g_rand_int_range(r, 0, 4); i < n; i++) {
            if (i)
                g_string_append_c(o, ',');
            ws(o, r);
            value(o, r, depth + 1);
            ws(o, r);
        }
        g_string_append_c(o, ']');
    }
}

/* A leaf, and the pieces it must give ("S:..." then "E:..." each). */
static GString *leaf(GRand *r, GPtrArray *want)
{
    GString *o = g_string_new(NULL);
    ws(o, r);
    g_string_append(o, "{");
    ws(o, r);
    g_string_append(o, "\"state\"");
    ws(o, r);
    g_string_append(o, ":");
    ws(o, r);
    size_t from = o->len;
    object(o, r, 2, g_rand_int_range(r, 0, 6));
    g_ptr_array_add(want, g_strdup_printf("S:%.*s", (int)(o->len - from), o->str + from));
    ws(o, r);
    g_string_append(o, ",");
    ws(o, r);
    g_string_append(o, "\"connections\"");
    ws(o, r);
    g_string_append(o, ":");
    ws(o, r);
    g_string_append(o, "[");
    for (int i = 0, n = g_rand_int_range(r, 0, 5); i < n; i++) {
        if (i)
            g_string_append_c(o, ',');
        ws(o, r);
        from = o->len;
        object(o, r, 3, g_rand_int_range(r, 0, 5));
        g_ptr_array_add(want, g_strdup_printf("E:%.*s", (int)(o->len - from), o->str + from));
        ws(o, r);
    }
    g_string_append(o, "]");
    ws(o, r);
    g_string_append(o, "}");
    ws(o, r);
    return o;
}

static void same_pieces(GPtrArray *got, GPtrArray *want, const char *text)
{
    if (got->len != want->len)
        g_error("%u pieces, want %u: %s", got->len, want->len, text);
    for (guint i = 0; i < got->len; i++)
        if (strcmp(g_ptr_array_index(got, i), g_ptr_array_index(want, i)) != 0)
            g_error("piece %u: %s, want %s (of %s)", i, (char *)g_ptr_array_index(got, i),
                    (char *)g_ptr_array_index(want, i), text);
}

static void test_random(void)
{
    GRand *r = g_rand_new_with_seed(13);
    for (int round = 0; round < 400; round++) {
        GPtrArray *want = g_ptr_array_new_with_free_func(g_free);
        GString *t = leaf(r, want);
        /* the generator's text is JSON, as json-glib reads it */
        JsonParser *p = json_parser_new_immutable();
        g_assert_true(json_parser_load_from_data(p, t->str, (gssize)t->len, NULL));
        g_object_unref(p);
        size_t chunks[] = { 1, 2, 3, 5, 7, 64, t->len, 0, 0, 0 };
        for (size_t c = 0; c < G_N_ELEMENTS(chunks); c++) {
            struct got g = { g_ptr_array_new_with_free_func(g_free), LEAF_TOOK };
            char err[256] = "";
            int rc = split(t->str, t->len, chunks[c], r, &g, err, sizeof err);
            if (rc != 0)
                g_error("refused (%s), chunks of %zu: %s", err, chunks[c], t->str);
            same_pieces(g.pieces, want, t->str);
            g_ptr_array_free(g.pieces, TRUE);
        }
        /* every prefix is refused, and hands on only pieces that ended in it */
        for (size_t cut = 0; cut < t->len; cut++) {
            bool trailing_ws = true;
            for (size_t k = cut; k < t->len; k++)
                trailing_ws &= t->str[k] == ' ' || t->str[k] == '\n' || t->str[k] == '\t' || t->str[k] == '\r';
            struct got g = { g_ptr_array_new_with_free_func(g_free), LEAF_TOOK };
            char err[256] = "";
            int rc = split(t->str, cut, 0, r, &g, err, sizeof err);
            if (trailing_ws) {
                g_assert_cmpint(rc, ==, 0);
            } else {
                if (rc != 1 || strcmp(err, "zlib: its text is not JSON") != 0)
                    g_error("prefix of %zu bytes: %d %s: %s", cut, rc, err, t->str);
                g_assert_cmpuint(g.pieces->len, <=, want->len);
                for (guint i = 0; i < g.pieces->len; i++)
                    g_assert_cmpstr(g_ptr_array_index(g.pieces, i), ==, g_ptr_array_index(want, i));
            }
            g_ptr_array_free(g.pieces, TRUE);
        }
        g_string_free(t, TRUE);
        g_ptr_array_free(want, TRUE);
    }
    g_rand_free(r);
}

/* The answer for text fed in chunks of 3 (and whole: the same). */
static int answer(const char *text, char *err, size_t errlen, guint *pieces)
{
    struct got g = { g_ptr_array_new_with_free_func(g_free), LEAF_TOOK };
    int rc = split(text, strlen(text), 3, NULL, &g, err, errlen);
    struct got w = { g_ptr_array_new_with_free_func(g_free), LEAF_TOOK };
    char werr[256] = "";
    int wrc = split(text, strlen(text), strlen(text) ? strlen(text) : 1, NULL, &w, werr, sizeof werr);
    g_assert_cmpint(rc, ==, wrc);
    if (rc)
        g_assert_cmpstr(err, ==, werr);
    if (pieces)
        *pieces = g.pieces->len;
    g_ptr_array_free(g.pieces, TRUE);
    g_ptr_array_free(w.pieces, TRUE);
    return rc;
}

static void refused(const char *text, const char *needle)
{
    char err[256] = "";
    int rc = answer(text, err, sizeof err, NULL);
    if (rc != 1 || !strstr(err, needle))
        g_error("%.80s: %d %s, want %s", text, rc, err, needle);
}

static void test_shapes(void)
{
    char err[256];
    guint n = 0;
    g_assert_cmpint(answer("{\"state\":{},\"connections\":[]}", err, sizeof err, &n), ==, 0);
    g_assert_cmpuint(n, ==, 1);
    g_assert_cmpint(answer("{\"state\":{\"a\":\"}]\\\"\"},\"connections\":[{},{\"x\":[1,{\"y\":\"]\"}]}]}", err,
                           sizeof err, &n), ==, 0);
    g_assert_cmpuint(n, ==, 3);
    refused("{\"bytes\":3,\"zlib\":\"eJw=\"}", "a packed leaf inside a packed leaf");
    refused("{\"connections\":[],\"state\":{}}", "not {state, connections}");
    refused("{\"state\":{}}", "not {state, connections}");
    refused("{\"state\":{},\"connections\":[],\"x\":1}", "not {state, connections}");
    refused("{\"state\":{},\"connections\":{}}", "not {state, connections}");
    refused("{\"state\":[],\"connections\":[]}", "state: not an object");
    refused("{\"st\\u0061te\":{},\"connections\":[]}", "not {state, connections}");
    refused("{\"state\":{},\"connections\":[1]}", "an entry that is not an object");
    refused("{\"state\":{},\"connections\":[{},]}", "not JSON");
    refused("{\"state\":{},\"connections\":[]}x", "not JSON");
    refused("{\"state\":{},\"connections\":[]", "not JSON");
    refused("", "not JSON");
    refused("[]", "not {state, connections}");
}

/* Depth and members: the whole text's check, its offset, first. */
static void test_nesting(void)
{
    const char *texts[] = {
        NULL, /* 100 '[' then 100 ']' */
        NULL, /* a leaf whose one entry is 70 deep */
        NULL, /* an object of 1,025 members in the state */
    };
    GString *a = g_string_new(NULL);
    for (int i = 0; i < 100; i++)
        g_string_append_c(a, '[');
    for (int i = 0; i < 100; i++)
        g_string_append_c(a, ']');
    GString *b = g_string_new("{\"state\":{\"x\":\"[[[\"},\"connections\":[{\"a\":");
    for (int i = 0; i < 70; i++)
        g_string_append_c(b, '[');
    for (int i = 0; i < 70; i++)
        g_string_append_c(b, ']');
    g_string_append(b, "}]}");
    GString *c = g_string_new("{\"state\":{\"o\":{");
    for (int i = 0; i < 1025; i++)
        g_string_append_printf(c, "%s\"k%d\":0", i ? "," : "", i);
    g_string_append(c, "}},\"connections\":[]}");
    texts[0] = a->str;
    texts[1] = b->str;
    texts[2] = c->str;
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
        char want[256] = "", err[256] = "";
        g_assert_false(merge_json_checked(texts[i], strlen(texts[i]), want, sizeof want));
        g_assert_cmpint(answer(texts[i], err, sizeof err, NULL), ==, 1);
        g_assert_cmpstr(err, ==, want);
    }
    g_string_free(a, TRUE);
    g_string_free(b, TRUE);
    g_string_free(c, TRUE);
}

/* A consumer's failure: later pieces still handed on; the split's own
 * errors (not JSON, here after it) win. */
static void test_consumer(void)
{
    const char *t = "{\"state\":{},\"connections\":[{},{}]}";
    struct got g = { g_ptr_array_new_with_free_func(g_free), LEAF_FAILED };
    char err[256] = "";
    g_assert_cmpint(split(t, strlen(t), 4, NULL, &g, err, sizeof err), ==, 2);
    g_assert_cmpuint(g.pieces->len, ==, 3);
    g_ptr_array_set_size(g.pieces, 0);
    const char *bad = "{\"state\":{},\"connections\":[{}]]";
    g_assert_cmpint(split(bad, strlen(bad), 4, NULL, &g, err, sizeof err), ==, 1);
    g_assert_cmpstr(err, ==, "zlib: its text is not JSON");
    g_ptr_array_set_size(g.pieces, 0);
    g.answer = LEAF_NOT_JSON;
    g_assert_cmpint(split(t, strlen(t), 4, NULL, &g, err, sizeof err), ==, 1);
    g_assert_cmpstr(err, ==, "zlib: its text is not JSON");
    g_assert_cmpuint(g.pieces->len, ==, 1); /* nothing after the state */
    g_ptr_array_free(g.pieces, TRUE);
}

/* An entry of n values: "{"a":[0,0,...]}" counts its '{', its '[' and
 * the commas. */
static GString *entry_of(guint values)
{
    GString *s = g_string_new("{\"state\":{},\"connections\":[{\"a\":[0");
    for (guint i = 2; i < values; i++)
        g_string_append(s, ",0");
    g_string_append(s, "]}]}");
    return s;
}

static void test_values(void)
{
    char err[256];
    GString *ok = entry_of(LEAF_ENTRY_VALUES), *over = entry_of(LEAF_ENTRY_VALUES + 1);
    g_assert_cmpint(answer(ok->str, err, sizeof err, NULL), ==, 0);
    refused(over->str, "a connections[] entry of more than 4096 values");
    g_string_free(ok, TRUE);
    g_string_free(over, TRUE);
    /* the state: a member of its own cap, an unknown member, unknown members together */
    GString *s = g_string_new("{\"state\":{\"edges\":[0");
    for (guint i = 1; i < LEAF_STATE_MEMBER_VALUES; i++)
        g_string_append(s, ",0");
    g_string_append(s, "]},\"connections\":[]}");
    g_assert_cmpint(answer(s->str, err, sizeof err, NULL), ==, 0);
    GString *s2 = g_string_new(s->str);
    g_string_insert(s2, strlen("{\"state\":{\"edges\":["), "0,");
    refused(s2->str, "state.edges: more values than its cap lets it hold");
    GString *g = g_string_new("{\"state\":{\"groups\""); /* a larger cap */
    g_string_append(g, s2->str + strlen("{\"state\":{\"edges\""));
    g_assert_cmpint(answer(g->str, err, sizeof err, NULL), ==, 0);
    GString *j = g_string_new(s->str);
    g_string_insert(j, strlen("{\"state\":{\""), "j"); /* "jedges": unknown, at the bound */
    g_assert_cmpint(answer(j->str, err, sizeof err, NULL), ==, 0);
    g_string_insert(j, strlen("{\"state\":{"), "\"k\":[0],"); /* and one more elsewhere */
    refused(j->str, "state.jedges (not a member smbscope writes): more values than such members may hold");
    g_string_free(s, TRUE);
    g_string_free(s2, TRUE);
    g_string_free(g, TRUE);
    g_string_free(j, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/leaf_split/random", test_random);
    g_test_add_func("/leaf_split/shapes", test_shapes);
    g_test_add_func("/leaf_split/nesting", test_nesting);
    g_test_add_func("/leaf_split/consumer", test_consumer);
    g_test_add_func("/leaf_split/values", test_values);
    return g_test_run();
}
