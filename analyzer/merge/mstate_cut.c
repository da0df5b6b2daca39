/* mstate_cut.c - see mstate_cut.h.  The text is walked without a tree:
 * only the state's own members and those of groups_past, and the commas
 * between the cut arrays' elements; strings are skipped whole. */
#include "mstate_cut.h"

#include <string.h>

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
static bool members_once(const char *p, size_t n, size_t at, const char *const *keys, int nkeys, size_t *from,
                         size_t *to)
{
    bool regular = true;
    int seen[4] = { 0 };
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
};

JsonParser *mstate_cut_parse(const char *text, size_t len, struct mstate_cut *cut)
{
    memset(cut, 0, sizeof *cut);
    cut->text = text;
    size_t s = jtext_ws(text, len, 0);
    bool ok = true;
    if (s < len && text[s] == '{') {
        /* the state's members the cuts need, in one walk: groups, groups_past, smb_hosts */
        static const char *const top[] = { "groups", "groups_past", "smb_hosts" };
        size_t tf[3], tt[3];
        cut->irregular = !members_once(text, len, s, top, 3, tf, tt);
        ok = !cut->irregular && cut_one(cut, MSTATE_CUT_GROUPS, text, tf[0], tt[0]);
        for (int c = MSTATE_CUT_PAST_GROUPS; ok && c < MSTATE_CUT_N; c++) {
            int k = c == MSTATE_CUT_PAST_GROUPS ? 1 : 2;
            size_t f = 0, t = 0;
            if (tt[k] && text[tf[k]] == '{')
                cut->irregular |= !members_once(text, tt[k], tf[k], &cut_paths[c].key, 1, &f, &t);
            ok = !cut->irregular;
            ok = ok && cut_one(cut, (enum mstate_cut_at)c, text, f, t);
        }
    }
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
            skel = g_string_sized_new(len);
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

static size_t plain_scalar_end(const char *p, size_t i, size_t e)
{
    static const char *const words[] = { "null", "true", "false" };
    size_t k = i;
    for (size_t w = 0; w < 3; w++) {
        size_t n = strlen(words[w]);
        if (e - i >= n && memcmp(p + i, words[w], n) == 0) {
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
    if (k < e && p[k] != ',' && p[k] != ']' && p[k] != ' ' && p[k] != '\t' && p[k] != '\n' && p[k] != '\r')
        return 0;
    return k;
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
