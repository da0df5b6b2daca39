/* mstate_cut.c - see mstate_cut.h.  The text is walked without a tree:
 * only the state's own members and those of groups_past, and the commas
 * between the cut arrays' elements; strings are skipped whole. */
#include "mstate_cut.h"

#include <string.h>

#include "jget.h"
#include "jtext.h"
#include "mstate_canon.h"

/* One past the value starting at p[i] (any JSON value; its brackets
 * balanced, its scalars up to the next delimiter), or 0. */
static size_t val_end(const char *p, size_t n, size_t i)
{
    if (i >= n)
        return 0;
    if (p[i] == '"')
        return jtext_str_end(p, n, i);
    if (p[i] != '{' && p[i] != '[') {
        size_t s = i;
        while (i < n && p[i] != ',' && p[i] != ']' && p[i] != '}' && p[i] != ' ' && p[i] != '\t' && p[i] != '\r' &&
               p[i] != '\n')
            i++;
        return i > s ? i : 0;
    }
    int depth = 0;
    for (; i < n; i++) {
        char c = p[i];
        if (c == '"') {
            i = jtext_str_end(p, n, i);
            if (!i)
                return 0;
            i--;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return i + 1;
        }
    }
    return 0;
}

/* The elements of the array [from, to) (p[from] == '[', p[to - 1] == ']'):
 * false when its text is not an array of values. */
static bool count_elements(const char *p, size_t from, size_t to, guint *n)
{
    size_t last = to - 1, i = jtext_ws(p, last, from + 1);
    *n = 0;
    if (i == last)
        return true;
    for (;;) {
        size_t e = val_end(p, last, i);
        if (!e)
            return false;
        ++*n;
        i = jtext_ws(p, last, e);
        if (i == last)
            return true;
        if (p[i] != ',')
            return false;
        i = jtext_ws(p, last, i + 1);
    }
}

/* The values [from[k], to[k]) of members keys[k] of the object at
 * p[at] == '{' (to[k] 0: absent): each taken only when it is there once,
 * as written (no key of the object written with escapes), and the
 * object's text walks.  One walk for all of them.  False when the object
 * is not as smbscope writes it: a key written with escapes, or one of keys
 * twice (the same tree to json-glib, but the rows would then be read
 * whole: review, 19 -> 369 MB on a forged state). */
#define MEMBERS_ONCE_MAX 8 /* keys looked for in one walk */
_Static_assert(MSTATE_CUT_N <= MEMBERS_ONCE_MAX, "the state's members the cuts need, in one walk");

static bool members_once(const char *p, size_t n, size_t at, const char *const *keys, int nkeys, size_t *from,
                         size_t *to)
{
    bool regular = true;
    int seen[MEMBERS_ONCE_MAX] = { 0 };
    size_t i = jtext_ws(p, n, at + 1);
    bool ok = false;
    for (int k = 0; k < nkeys; k++)
        from[k] = to[k] = 0;
    while (i < n && p[i] == '"') {
        size_t ke = jtext_str_end(p, n, i);
        if (ke && memchr(p + i, '\\', ke - i))
            regular = false;
        if (!ke || !regular)
            break;
        size_t v = jtext_ws(p, n, ke);
        if (v >= n || p[v] != ':')
            break;
        v = jtext_ws(p, n, v + 1);
        size_t e = val_end(p, n, v);
        if (!e)
            break;
        for (int k = 0; k < nkeys; k++)
            if (ke - i == strlen(keys[k]) + 2 && memcmp(p + i + 1, keys[k], ke - i - 2) == 0) {
                seen[k]++;
                from[k] = v;
                to[k] = e;
            }
        i = jtext_ws(p, n, e);
        if (i < n && p[i] == '}') {
            ok = true;
            break;
        }
        if (i >= n || p[i] != ',')
            break;
        i = jtext_ws(p, n, i + 1);
    }
    for (int k = 0; k < nkeys; k++) {
        regular &= seen[k] <= 1;
        if (!ok || seen[k] != 1)
            from[k] = to[k] = 0;
    }
    return regular;
}

bool mstate_cut_has(const struct mstate_cut *cut, enum mstate_cut_at at) { return cut && cut->to[at]; }

/* The array [from, to) cut as which when it is one (false: its text is
 * not an array of values, so not JSON; to 0: absent, left in the tree). */
static bool cut_one(struct mstate_cut *cut, enum mstate_cut_at which, const char *p, size_t from, size_t to)
{
    if (!to || p[from] != '[')
        return true; /* left in the tree */
    if (!count_elements(p, from, to, &cut->n[which]))
        return false;
    cut->from[which] = from;
    cut->to[which] = to;
    return true;
}

/* Where each cut array is: a member of the state (outer NULL) or of one
 * of its objects. */
static const struct {
    const char *outer, *key;
} cut_paths[MSTATE_CUT_N] = {
    [MSTATE_CUT_GROUPS] = { NULL, "groups" },
    [MSTATE_CUT_PAST_GROUPS] = { "groups_past", "groups" },
    [MSTATE_CUT_SMB_HOSTS] = { "smb_hosts", "records" },
    [MSTATE_CUT_GROUP_CLOSES] = { NULL, "group_closes" },
    [MSTATE_CUT_PAST_CLOSES] = { "groups_past", "closes" },
    [MSTATE_CUT_END_RANKS] = { NULL, "end_close_ranks" },
    [MSTATE_CUT_END_LINGERS] = { NULL, "end_close_lingers" },
    [MSTATE_CUT_INPUTS] = { NULL, "inputs" },
};

/* Key k's place in keys[0..*n), added when absent. */
static int key_slot(const char **keys, int *n, const char *k)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(keys[i], k) == 0)
            return i;
    keys[*n] = k;
    return (*n)++;
}

/* The cuts of the state's text at p[s] == '{': the state's members they
 * need in one walk, then each object holding some (groups_past,
 * smb_hosts) in one walk of its own.  false: a cut array's text is not an
 * array of values, or the state is not as smbscope writes it
 * (cut->irregular). */
static bool find_cuts(struct mstate_cut *cut, const char *text, size_t len, size_t s)
{
    const char *top[MEMBERS_ONCE_MAX];
    int ntop = 0, slot[MSTATE_CUT_N];
    for (int c = 0; c < MSTATE_CUT_N; c++)
        slot[c] = key_slot(top, &ntop, cut_paths[c].outer ? cut_paths[c].outer : cut_paths[c].key);
    size_t tf[MEMBERS_ONCE_MAX], tt[MEMBERS_ONCE_MAX];
    cut->irregular = !members_once(text, len, s, top, ntop, tf, tt);
    bool ok = !cut->irregular, done[MSTATE_CUT_N] = { false };
    for (int c = 0; ok && c < MSTATE_CUT_N; c++) {
        if (done[c])
            continue;
        if (!cut_paths[c].outer) {
            ok = cut_one(cut, (enum mstate_cut_at)c, text, tf[slot[c]], tt[slot[c]]);
            continue;
        }
        /* every cut inside this one's object */
        const char *inner[MEMBERS_ONCE_MAX];
        int ninner = 0, which[MSTATE_CUT_N];
        for (int d = c; d < MSTATE_CUT_N; d++)
            which[d] = cut_paths[d].outer && strcmp(cut_paths[d].outer, cut_paths[c].outer) == 0
                           ? key_slot(inner, &ninner, cut_paths[d].key)
                           : -1;
        size_t f[MEMBERS_ONCE_MAX] = { 0 }, t[MEMBERS_ONCE_MAX] = { 0 };
        size_t of = tf[slot[c]], ot = tt[slot[c]];
        if (ot && text[of] == '{' && !members_once(text, ot, of, inner, ninner, f, t)) {
            cut->irregular = true;
            return false;
        }
        for (int d = c; ok && d < MSTATE_CUT_N; d++)
            if (which[d] >= 0) {
                ok = cut_one(cut, (enum mstate_cut_at)d, text, f[which[d]], t[which[d]]);
                done[d] = true;
            }
    }
    return ok;
}

JsonParser *mstate_cut_parse(const char *text, size_t len, struct mstate_cut *cut)
{
    memset(cut, 0, sizeof *cut);
    cut->text = text;
    size_t s = jtext_ws(text, len, 0);
    bool ok = s >= len || text[s] != '{' || find_cuts(cut, text, len, s);
    size_t kept = len; /* the skeleton's bytes: the text without the cuts */
    for (int c = 0; ok && c < MSTATE_CUT_N; c++)
        kept -= cut->to[c] ? cut->to[c] - cut->from[c] - 2 : 0;
    JsonParser *parser = json_parser_new_immutable();
    GString *skel = NULL;
    size_t at = 0;
    for (;;) { /* the cuts in the text's order (they never overlap: each inside another member) */
        int next = -1;
        for (int c = 0; ok && c < MSTATE_CUT_N; c++)
            if (cut->to[c] && cut->from[c] >= at && (next < 0 || cut->from[c] < cut->from[next]))
                next = c;
        if (next < 0)
            break;
        if (!skel)
            skel = g_string_sized_new(kept + 1);
        g_string_append_len(skel, text + at, (gssize)(cut->from[next] - at));
        g_string_append(skel, "[]");
        at = cut->to[next];
    }
    if (skel)
        g_string_append_len(skel, text + at, (gssize)(len - at));
    if (!ok || !json_parser_load_from_data(parser, skel ? skel->str : text, skel ? (gssize)skel->len : (gssize)len,
                                           NULL)) {
        g_object_unref(parser);
        parser = NULL;
    }
    if (skel)
        g_string_free(skel, TRUE);
    return parser;
}

void mstate_rows_begin(struct mstate_rows *r, const struct mstate_cut *cut, enum mstate_cut_at at)
{
    memset(r, 0, sizeof *r);
    r->p = cut->text;
    r->i = jtext_ws(cut->text, cut->to[at] - 1, cut->from[at] + 1);
    r->to = cut->to[at] - 1; /* its ']' */
}

/* The next row's text [*a, *e) and r past it; false at the end.  *over
 * when it holds more than MSTATE_CUT_ROW_VALUES values. */
static bool next_range(struct mstate_rows *r, size_t *a, size_t *e, bool *over)
{
    if (r->i >= r->to)
        return false;
    *a = r->i;
    *e = val_end(r->p, r->to, *a); /* within the walk count_elements() made */
    uint64_t values = 1;
    for (size_t i = *a; i < *e && values <= MSTATE_CUT_ROW_VALUES; i++) {
        if (r->p[i] == '"')
            i = jtext_str_end(r->p, *e, i) - 1;
        else
            values += r->p[i] == ',' || r->p[i] == '{' || r->p[i] == '[';
    }
    *over = values > MSTATE_CUT_ROW_VALUES;
    r->i = jtext_ws(r->p, r->to, *e);
    if (r->i < r->to)
        r->i = jtext_ws(r->p, r->to, r->i + 1); /* past its ',' */
    return true;
}

JsonNode *mstate_rows_next(struct mstate_rows *r, const char **why)
{
    size_t a, e;
    bool over;
    *why = NULL;
    if (!next_range(r, &a, &e, &over))
        return NULL;
    if (over) {
        *why = "a row of more than 128 values: not one smbscope writes";
        return NULL;
    }
    if (!r->parser)
        r->parser = json_parser_new_immutable();
    if (!json_parser_load_from_data(r->parser, r->p + a, (gssize)(e - a), NULL)) {
        *why = "not JSON";
        return NULL;
    }
    return json_parser_get_root(r->parser);
}

void mstate_rows_end(struct mstate_rows *r)
{
    if (r->parser)
        g_object_unref(r->parser);
    r->parser = NULL;
}

/* ---- a row's canonical text without its parse ---------------------------
 * A row is parsed again when the fold reads it: for the digest its
 * canonical text (mstate_put_node() of its tree) is made from its text
 * when that text is JSON of arrays, plain strings (bytes json.c writes as
 * they are: 0x20-0x7e but '"' and '\\'), integers as json.c writes them
 * (no leading zero, no "-0", at most 18 digits) and true, false, null: then
 * it is the text without its blanks.  Anything else (an object, whose
 * repeated keys json-glib folds; an escape; a number json-glib reads as a
 * double) is parsed. */
static size_t plain_str_end(const char *p, size_t i, size_t e)
{
    for (i++; i < e; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"')
            return i + 1;
        if (c < 0x20 || c > 0x7e || c == '\\')
            return 0;
    }
    return 0;
}

/* What may follow a scalar inside an array. */
static bool delim(char c) { return c == ',' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t plain_scalar_end(const char *p, size_t i, size_t e)
{
    static const char *const words[] = { "null", "true", "false" };
    size_t k = i;
    for (size_t w = 0; w < 3; w++) {
        size_t n = p[i] == words[w][0] ? strlen(words[w]) : 0; /* most are numbers */
        if (n && e - i >= n && memcmp(p + i, words[w], n) == 0) {
            k = i + n;
            break;
        }
    }
    if (k == i) {
        if (k < e && p[k] == '-')
            k++;
        size_t d = k;
        while (k < e && p[k] >= '0' && p[k] <= '9')
            k++;
        if (k == d || k - d > 18 || (p[d] == '0' && (k - d > 1 || d > i)))
            return 0;
    }
    return k < e && !delim(p[k]) ? 0 : k;
}

static bool plain_row(const char *p, size_t a, size_t e, GString *out)
{
    int depth = 0;
    bool want_value = true, first = false; /* first: just after '[' (']' may come) */
    g_string_truncate(out, 0);
    for (size_t i = a; i < e;) {
        char c = p[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            i++;
            continue;
        }
        if (depth == 0 && !want_value)
            return false; /* something after the row */
        if (c == ']' && depth > 0 && (!want_value || first)) {
            g_string_append_c(out, c);
            depth--;
            want_value = first = false;
            i++;
        } else if (c == ',' && depth > 0 && !want_value) {
            g_string_append_c(out, c);
            want_value = true;
            i++;
        } else if (!want_value) {
            return false;
        } else if (c == '[') {
            if (++depth > (int)MSTATE_CUT_ROW_VALUES)
                return false;
            g_string_append_c(out, c);
            first = true;
            i++;
        } else {
            size_t k = c == '"' ? plain_str_end(p, i, e) : plain_scalar_end(p, i, e);
            if (!k)
                return false;
            g_string_append_len(out, p + i, (gssize)(k - i));
            want_value = first = false;
            i = k;
        }
    }
    return depth == 0 && !want_value;
}

/* false at a row that is not JSON or past MSTATE_CUT_ROW_VALUES (the
 * fold refuses it: its tree is never made, so neither is its text) */
static bool put_rows(struct json *w, const struct mstate_cut *cut, enum mstate_cut_at at)
{
    struct mstate_rows r;
    bool ok = true, over = false;
    size_t a, e;
    GString *plain = g_string_new(NULL);
    mstate_rows_begin(&r, cut, at);
    json_begin_array(w);
    for (guint i = 0; ok && i < cut->n[at] && next_range(&r, &a, &e, &over); i++) {
        if (over) {
            ok = false;
        } else if (plain_row(r.p, a, e, plain)) {
            json_raw(w, plain->str, plain->len);
        } else {
            if (!r.parser)
                r.parser = json_parser_new_immutable();
            ok = json_parser_load_from_data(r.parser, r.p + a, (gssize)(e - a), NULL);
            if (ok)
                mstate_put_node(w, json_parser_get_root(r.parser));
        }
    }
    json_end_array(w);
    mstate_rows_end(&r);
    g_string_free(plain, TRUE);
    return ok;
}

/* members of o (the state's, or its member outer's) as mstate_put_node()
 * puts them, the cut arrays from the text */
static bool put_object(struct json *w, JsonObject *o, const struct mstate_cut *cut, const char *outer)
{
    bool ok = true;
    json_begin_object(w);
    GList *keys = json_object_get_members(o); /* in the order they were read */
    for (GList *k = keys; k; k = k->next) {
        const char *name = k->data;
        JsonNode *m = json_object_get_member(o, name);
        json_key(w, name);
        int rows = -1, inner = -1;
        for (int c = 0; c < MSTATE_CUT_N; c++) {
            if (!mstate_cut_has(cut, (enum mstate_cut_at)c))
                continue;
            bool here = outer ? cut_paths[c].outer && strcmp(cut_paths[c].outer, outer) == 0 : !cut_paths[c].outer;
            if (here && strcmp(cut_paths[c].key, name) == 0)
                rows = c;
            else if (!outer && cut_paths[c].outer && strcmp(cut_paths[c].outer, name) == 0)
                inner = c;
        }
        if (rows >= 0)
            ok &= put_rows(w, cut, (enum mstate_cut_at)rows);
        else if (inner >= 0 && JSON_NODE_HOLDS_OBJECT(m))
            ok &= put_object(w, json_node_get_object(m), cut, name);
        else
            mstate_put_node(w, m);
    }
    g_list_free(keys);
    json_end_object(w);
    return ok;
}

bool mstate_cut_put(struct json *w, JsonNode *state, const struct mstate_cut *cut)
{
    bool any = false;
    for (int c = 0; cut && c < MSTATE_CUT_N; c++)
        any |= cut->to[c] != 0;
    if (!any || !JSON_NODE_HOLDS_OBJECT(state)) {
        mstate_put_node(w, state);
        return true;
    }
    return put_object(w, json_node_get_object(state), cut, NULL);
}

/* ---- a member that may be cut, an element at a time --------------------- */

bool mstate_arr_peek(struct mstate_arr *r, JsonObject *o, const char *k, const struct mstate_cut *cut,
                     enum mstate_cut_at at)
{
    memset(r, 0, sizeof *r);
    JsonArray *arr = jget_member_arr(o, k); /* when cut: "[]" in its place */
    if (!arr)
        return false;
    if (!mstate_cut_has(cut, at)) {
        r->tree = arr;
        r->n = json_array_get_length(arr);
        return true;
    }
    r->cut = true;
    r->n = cut->n[at];
    mstate_rows_begin(&r->text, cut, at);
    return true;
}

bool mstate_arr_open(struct mstate_arr *r, struct jget *g, const struct jpath *p, JsonObject *o, const char *k,
                     guint max, const struct mstate_cut *cut, enum mstate_cut_at at)
{
    memset(r, 0, sizeof *r);
    if (!jget_arr(g, p, o, k, max)) /* its errors: missing, not an array, too long when not cut */
        return false;
    if (mstate_cut_has(cut, at) && cut->n[at] > max) { /* as jget_arr() says it, before any is read */
        struct jpath kp;
        char buf[96];
        jpath_key(&kp, p, k);
        snprintf(buf, sizeof buf, "more than %u elements", max);
        jget_fail(g, &kp, buf);
        return false;
    }
    return mstate_arr_peek(r, o, k, cut, at);
}

JsonNode *mstate_arr_next(struct mstate_arr *r, struct jget *g, const struct jpath *ip)
{
    if (r->i >= r->n)
        return NULL;
    guint i = r->i++;
    if (!r->cut)
        return json_array_get_element(r->tree, i);
    const char *why = NULL;
    JsonNode *n = mstate_rows_next(&r->text, &why);
    if (!n)
        jget_fail(g, ip, why ? why : "not JSON");
    return n;
}

/* The next cut element as an integer written as json.c writes one (at
 * most 18 digits: no overflow), without a parse: 1, *v set; 0: not one
 * (parsed then); -1: none left. */
static int next_plain_int(struct mstate_arr *r, int64_t *v)
{
    struct mstate_rows *t = &r->text;
    if (r->i >= r->n || t->i >= t->to)
        return -1;
    size_t a = t->i, d = a + (t->p[a] == '-'), e = d;
    uint64_t x = 0;
    while (e < t->to && e - d <= 18 && t->p[e] >= '0' && t->p[e] <= '9')
        x = x * 10 + (uint64_t)(t->p[e++] - '0');
    if (e == d || e - d > 18 || (t->p[d] == '0' && (e - d > 1 || d > a)) || (e < t->to && !delim(t->p[e])))
        return 0; /* not an integer json.c writes (no leading zero, no "-0"): parsed */
    bool neg = d > a;
    *v = neg ? -(int64_t)x : (int64_t)x;
    r->i++;
    t->i = jtext_ws(t->p, t->to, e);
    if (t->i < t->to)
        t->i = jtext_ws(t->p, t->to, t->i + 1); /* past its ',' */
    return 1;
}

/* The next element: 1 an integer (*v), 0 another value (*why: "not JSON"
 * for one that does not parse), -1 none left. */
static int next_int(struct mstate_arr *r, int64_t *v, const char **why)
{
    *why = NULL;
    int k = r->cut ? next_plain_int(r, v) : 0;
    if (k)
        return k;
    if (r->i >= r->n)
        return -1;
    JsonNode *n;
    if (r->cut) {
        r->i++;
        n = mstate_rows_next(&r->text, why);
    } else {
        n = json_array_get_element(r->tree, r->i++);
    }
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
        return 0;
    *v = json_node_get_int(n);
    return 1;
}

int64_t mstate_arr_i64(struct mstate_arr *r, struct jget *g, const struct jpath *ap)
{
    if (g->failed)
        return 0;
    guint i = r->i;
    int64_t v = 0;
    const char *why;
    if (next_int(r, &v, &why) != 1) {
        struct jpath ip; /* made only here: millions of values are read */
        jpath_index(&ip, ap, i);
        jget_fail(g, &ip, why ? why : "not an integer");
        return 0;
    }
    return v;
}

uint64_t mstate_arr_u64(struct mstate_arr *r, struct jget *g, const struct jpath *ap, uint64_t max)
{
    guint i = r->i;
    int64_t v = mstate_arr_i64(r, g, ap);
    if (!g->failed && (v < 0 || (uint64_t)v > max)) {
        struct jpath ip;
        jpath_index(&ip, ap, i);
        jget_fail(g, &ip, "out of range");
        return 0;
    }
    return (uint64_t)v;
}

int64_t mstate_arr_peek_i64(struct mstate_arr *r)
{
    int64_t v = 0;
    const char *why;
    return next_int(r, &v, &why) == 1 ? v : 0;
}

void mstate_arr_close(struct mstate_arr *r)
{
    if (r->cut)
        mstate_rows_end(&r->text);
    memset(r, 0, sizeof *r);
}
