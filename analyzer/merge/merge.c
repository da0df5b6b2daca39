/* merge.c - `smbscope merge`; see merge.h. */
#include "merge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "conn_groups.h"
#include "conn_summary.h"
#include "fmt.h"
#include "hosts.h"
#include "jget.h"
#include "jtext.h"
#include "leaf_split.h"
#include "mem_trim.h"
#include "mstate.h"
#include "mstate_canon.h"
#include "mstate_detail.h"
#include "mstate_edges.h"
#include "mstate_group_order.h"
#include "mstate_join_hs.h"
#include "mstate_frags.h"
#include "mstate_wlan.h"
#include "mstate_frags_tcp.h"
#include "mstate_join_nbns.h"
#include "mstate_join_quic.h"
#include "mstate_join_syn.h"
#include "mstate_syn_starts.h"
#include "mstate_join_nbss.h"
#include "mstate_leaves.h"
#include "mstate_tails.h"
#include "mstate_xchg.h"
#include "smb_hosts.h"
#include "netbios.h"
#include "part_id.h"
#include "part_overlap.h"
#include "run.h"
#include "verdict.h"

bool merge_is_command(int argc, char **argv) { return argc >= 2 && strcmp(argv[1], "merge") == 0; }

/* Options that are about reading packets have no meaning for reports. */
static bool check_options(const struct config *cfg, char *err, size_t errlen)
{
    static const char *const what = "merge reads reports, not packets";
    const char *opt = cfg->n_interfaces ? "-i" : cfg->write_file ? "-w" : cfg->write_streams_dir ? "--write-streams"
                      : cfg->filter ? "a capture filter" : cfg->max_packets ? "-c" : cfg->stop_after_us ? "-a"
                      : cfg->tls_keylog ? "--tls-keylog" : cfg->report_every_us ? "--report-every" : NULL;
    if (opt) {
        snprintf(err, errlen, "merge: %s cannot be used (%s)", opt, what);
        return false;
    }
    if (cfg->n_inputs == 0) {
        snprintf(err, errlen, "merge: no report given (JSON reports of smbscope --format json, - for stdin)");
        return false;
    }
    int stdin_uses = 0;
    for (int i = 0; i < cfg->n_inputs; i++)
        stdin_uses += strcmp(cfg->inputs[i], "-") == 0;
    if (stdin_uses > 1) {
        snprintf(err, errlen, "merge: standard input (-) given more than once");
        return false;
    }
    return true;
}

/* The whole file, at most MERGE_MAX_REPORT_BYTES. */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    bool use_stdin = strcmp(path, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = g_malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= MERGE_MAX_REPORT_BYTES) {
                snprintf(err, errlen, "larger than %u MiB: not a report merge reads", MERGE_MAX_REPORT_BYTES >> 20);
                break;
            }
            cap = cap * 2 > MERGE_MAX_REPORT_BYTES ? MERGE_MAX_REPORT_BYTES : cap * 2;
            buf = g_realloc(buf, cap + 1);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool bad = ferror(f) || (n == cap && cap >= MERGE_MAX_REPORT_BYTES);
    if (ferror(f))
        snprintf(err, errlen, "read error: %s", strerror(errno));
    if (!use_stdin)
        fclose(f);
    if (bad) {
        g_free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Deepest nesting of arrays and objects (strings skipped), or -1 at the
 * byte offset *at where it passes MERGE_MAX_DEPTH (json-glib recurses), -2
 * where an object passes MERGE_MAX_MEMBERS members (json-glib keeps an
 * object's members in a GHashTable of g_str_hash, whose collisions anyone
 * can write: 32,768 member names of one hash took 24 s to parse, the time
 * growing with the square of their number; smbscope writes at most a few
 * dozen members in any object). */
static int nesting(const char *p, size_t n, size_t *at)
{
    int depth = 0, max = 0;
    bool in_str = false;
    bool object[MERGE_MAX_DEPTH + 1] = { false };
    uint32_t members[MERGE_MAX_DEPTH + 1] = { 0 };
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > MERGE_MAX_DEPTH) {
                *at = i;
                return -1;
            }
            object[depth] = c == '{';
            members[depth] = 0;
            max = depth > max ? depth : max;
        } else if (c == '}' || c == ']') {
            depth -= depth > 0;
        } else if (c == ':' && depth > 0 && object[depth] && ++members[depth] > MERGE_MAX_MEMBERS) {
            *at = i;
            return -2;
        }
    }
    return max;
}

bool merge_json_checked(const char *p, size_t n, char *err, size_t errlen)
{
    size_t at = 0;
    int depth = nesting(p, n, &at);
    if (depth == -1)
        snprintf(err, errlen, "offset %zu: nested deeper than %d: not a report smbscope writes", at, MERGE_MAX_DEPTH);
    else if (depth == -2)
        snprintf(err, errlen, "offset %zu: an object of more than %d members: not a report smbscope writes", at,
                 MERGE_MAX_MEMBERS);
    return depth >= 0;
}

/* ---- the members merge reads ---------------------------------------------
 * A report's hosts[], connection_groups[] and the rest are most of its
 * bytes and not read: json-glib is given only the top-level members
 * "merge_state" and "connections" (a document json-glib would refuse as a
 * whole may pass this cut; what merge reads is still parsed and verified). */

/* The end of the value starting at p[i], or 0 when it does not end. */
static size_t value_end(const char *p, size_t n, size_t i)
{
    int depth = 0;
    while (i < n) {
        char c = p[i];
        if (c == '"') {
            i = jtext_str_end(p, n, i);
            if (!i)
                return 0;
            if (!depth)
                return i;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth < 0)
                return 0;
            if (!depth)
                return i + 1;
        } else if (!depth && (c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t')) {
            return i;
        }
        i++;
    }
    return depth || !i ? 0 : i;
}

/* A walk over the members of an object's text, one at a time, unparsed
 * (members_of() and member_start() below): mwalk_begin() at its '{', then while
 * mwalk_key(): the member's key (quoted) is [k, ke), its value starts at v;
 * mwalk_next() finds where the value ends (e, 0: no value) and steps past
 * the ',' after it (false: none, the walk ends; at the object's '}' when it
 * ended there). */
struct mwalk {
    const char *p;
    size_t n, i, k, ke, v, e;
};

static bool mwalk_begin(struct mwalk *w, const char *p, size_t n, size_t i)
{
    *w = (struct mwalk){ .p = p, .n = n, .i = i };
    if (i >= n || p[i] != '{')
        return false;
    w->i = jtext_ws(p, n, i + 1);
    return true;
}

static bool mwalk_key(struct mwalk *w)
{
    if (w->i >= w->n || w->p[w->i] != '"')
        return false;
    w->k = w->i;
    w->ke = jtext_str_end(w->p, w->n, w->i);
    size_t v = w->ke ? jtext_ws(w->p, w->n, w->ke) : w->n;
    if (v >= w->n || w->p[v] != ':')
        return false;
    w->v = jtext_ws(w->p, w->n, v + 1);
    return true;
}

static bool mwalk_is(const struct mwalk *w, const char *key)
{
    size_t klen = strlen(key);
    return w->ke - w->k == klen + 2 && memcmp(w->p + w->k + 1, key, klen) == 0;
}

static bool mwalk_next(struct mwalk *w)
{
    w->e = value_end(w->p, w->n, w->v);
    if (w->e <= w->v) {
        w->e = 0;
        return false;
    }
    w->i = jtext_ws(w->p, w->n, w->e);
    if (w->i >= w->n || w->p[w->i] != ',')
        return false;
    w->i = jtext_ws(w->p, w->n, w->i + 1);
    return true;
}

/* The values [from[k], to[k]) of members keys[k] of the object at
 * p[i] == '{' (0: absent; the last when repeated) and its number of
 * members; false when it is not an object this scan reads. */
static bool members_of(const char *p, size_t n, size_t i, const char *const *keys, int nkeys, size_t *from,
                       size_t *to, int *count)
{
    *count = 0;
    for (int k = 0; k < nkeys; k++)
        from[k] = to[k] = 0;
    struct mwalk w;
    if (!mwalk_begin(&w, p, n, i))
        return false;
    while (mwalk_key(&w)) {
        bool more = mwalk_next(&w);
        if (!w.e)
            return false;
        (*count)++;
        for (int k = 0; k < nkeys; k++)
            if (mwalk_is(&w, keys[k])) {
                from[k] = w.v;
                to[k] = w.e;
            }
        if (!more)
            break;
    }
    return w.i < n && p[w.i] == '}';
}

/* "{"connections": ..., "merge_state": ...}" cut from a report (g_free),
 * or NULL when it is not an object with both (then it is parsed whole). */
static const char *const cut_names[] = { "connections", "merge_state" };

/* Where the two members are ([from[k], to[k]), 0: absent); false when
 * the report is not an object this scan reads. */
static bool cut_find(const char *p, size_t n, size_t from[2], size_t to[2])
{
    int count;
    return members_of(p, n, jtext_ws(p, n, 0), cut_names, 2, from, to, &count);
}

static char *cut_members(const char *p, const size_t from[2], const size_t to[2], size_t *outlen, size_t *state_at)
{
    if (!to[0] || !to[1])
        return NULL;
    GString *g = g_string_sized_new(to[0] - from[0] + to[1] - from[1] + 64);
    g_string_append(g, "{\"connections\": ");
    g_string_append_len(g, p + from[0], (gssize)(to[0] - from[0]));
    g_string_append(g, ", \"merge_state\": ");
    *state_at = g->len; /* where merge_state's value starts in the cut */
    g_string_append_len(g, p + from[1], (gssize)(to[1] - from[1]));
    g_string_append(g, "}");
    *outlen = g->len;
    return g_string_free(g, FALSE);
}

/* The merge_state of a parsed report, its format checked: its state, its
 * digest text and the report's connections[]. */
static JsonNode *state_of(JsonNode *root, JsonNode **detail, const char **digest, char *err, size_t errlen)
{
    JsonObject *top = jget_node_obj(root);
    JsonObject *o = jget_member_obj(top, "merge_state");
    if (!o) {
        snprintf(err, errlen, "not an smbscope JSON report with a merge_state (smbscope --format json writes one unless --no-merge-state)");
        return NULL;
    }
    JsonNode *fmt = json_object_get_member(o, "format");
    if (!fmt || !JSON_NODE_HOLDS_VALUE(fmt) || json_node_get_value_type(fmt) != G_TYPE_INT64) {
        snprintf(err, errlen, "merge_state.format: missing or not an integer");
        return NULL;
    }
    gint64 format = json_node_get_int(fmt);
    if (format != MSTATE_FORMAT) {
        snprintf(err, errlen, "merge_state format %" G_GINT64_FORMAT " is not the format this smbscope reads (%d): "
                 "merge reports of the same smbscope version", format, MSTATE_FORMAT);
        return NULL;
    }
    JsonNode *dg = json_object_get_member(o, "digest"), *state = json_object_get_member(o, "state");
    if (!dg || !JSON_NODE_HOLDS_VALUE(dg) || json_node_get_value_type(dg) != G_TYPE_STRING || !state) {
        snprintf(err, errlen, "merge_state: digest or state missing");
        return NULL;
    }
    *detail = json_object_get_member(top, "connections");
    if (!*detail || !JSON_NODE_HOLDS_ARRAY(*detail)) {
        snprintf(err, errlen, "connections: missing or not an array");
        return NULL;
    }
    *digest = json_node_get_string(dg);
    return state;
}

static const char digest_mismatch[] =
    "merge_state digest does not match its content: the report was changed after smbscope wrote it";

/* The merge_state of a parsed report, verified; a run's state's leaf text
 * (mstate_leaves.h) made on the way (*text, free(); NULL for a merged one). */
static JsonNode *verified_state(JsonNode *root, JsonNode **detail, char **text, size_t *len, char *err,
                                size_t errlen)
{
    const char *digest = NULL;
    *text = NULL;
    JsonNode *state = state_of(root, detail, &digest, err, errlen);
    if (!state)
        return NULL;
    char want[MSTATE_DIGEST_LEN + 1];
    JsonObject *so = jget_node_obj(state);
    if (so && mstate_is_leaves(so))
        mstate_digest(state, *detail, MSTATE_FORMAT, want);
    else
        mstate_leaf_digest(state, *detail, want, text, len);
    if (strcmp(want, digest) != 0) {
        snprintf(err, errlen, "%s", digest_mismatch);
        free(*text);
        *text = NULL;
        return NULL;
    }
    return state;
}

/* ---- a merged report, leaf by leaf ----------------------------------------
 * A merged report's state is its runs' states (mstate_leaves.h): parsed as
 * one tree it is all of them at once (json-glib's tree is several times
 * the text: merging two merged reports of two parts each peaked 110 MiB
 * against 81 MiB for the four parts' own reports).  When the state is
 * exactly {"leaves": [{...}, ...]}, the report is parsed without the leaves,
 * then each leaf on its own: hashed into the digest (the canonical text of
 * the state is that of each leaf between "{"leaves":[" and "]}", as
 * mstate_digest() of the whole would take it), folded, and its tree freed.
 * Anything else (a leaf that is no object, an empty or oversized list, a
 * key written with escapes) takes the whole parse, which says what is wrong. */

/* Where the value of member key of the object at p[i] == '{' starts (0:
 * not found), the values before it skipped (merge_state: "format" first). */
static size_t member_start(const char *p, size_t n, size_t i, const char *key)
{
    struct mwalk w;
    if (!mwalk_begin(&w, p, n, i))
        return 0;
    while (mwalk_key(&w)) {
        if (mwalk_is(&w, key))
            return w.v;
        if (!mwalk_next(&w))
            return 0;
    }
    return 0;
}

/* The objects of the array [from, to) (from at '['), at most max; false
 * when an element is not an object or the list is empty or longer. */
static bool objects_of(const char *p, size_t from, size_t to, GArray *out, guint max)
{
    size_t i = jtext_ws(p, to, from + 1);
    while (i < to && p[i] == '{') {
        size_t e = value_end(p, to, i);
        if (!e || out->len >= max)
            return false;
        size_t r[2] = { i, e };
        g_array_append_vals(out, r, 1);
        i = jtext_ws(p, to, e);
        if (i < to && p[i] == ',')
            i = jtext_ws(p, to, i + 1);
        else
            break;
    }
    return out->len && i < to && p[i] == ']';
}

/* The next element of the array whose elements start at *i (after its '['
 * or a ','): [*from, *to) an object, *i past its ','; false at the ']' (or
 * when the text is not an array of objects: *bad set). */
static bool next_object(const char *p, size_t to, size_t *i, size_t *from, size_t *end, bool *bad)
{
    size_t k = jtext_ws(p, to, *i);
    if (k < to && p[k] == ']' && !*from) /* [] */
        return false;
    size_t e = k < to && p[k] == '{' ? value_end(p, to, k) : 0;
    if (!e) {
        *bad = true;
        return false;
    }
    *from = k;
    *end = e;
    k = jtext_ws(p, to, e);
    if (k < to && p[k] == ',')
        *i = k + 1;
    else if (k < to && p[k] == ']')
        *i = to; /* the last one */
    else
        *bad = true;
    return !*bad;
}

/* The array [from, to) (from at '['): an array of objects, their number in
 * *count; false when it is not (the index of the first that is no object
 * in *count). */
static bool all_objects(const char *p, size_t from, size_t to, guint *count)
{
    size_t i = from + 1, a = 0, b = 0;
    bool bad = false;
    *count = 0;
    while (i < to && next_object(p, to, &i, &a, &b, &bad))
        ++*count;
    return !bad;
}

/* The values (containers, members, elements) of the JSON text [a, b):
 * its commas and openings outside strings, and one. */
static uint64_t values_of(const char *p, size_t a, size_t b)
{
    uint64_t v = 1;
    for (size_t i = a; i < b; i++) {
        if (p[i] == '"')
            i = jtext_str_end(p, b, i) - 1; /* a value_end()'d text: its strings end */
        else
            v += p[i] == ',' || p[i] == '{' || p[i] == '[';
    }
    return v;
}

/* Values an entry of a merged report's own connections[] may hold: a
 * connection joined from parts holds what each part's entry did (each at
 * most LEAF_ENTRY_VALUES, leaf_split.h) with the sessions and shares of all
 * of them; 16 parts' worth, so one entry's tree is at most a few MB. */
#define MERGED_ENTRY_VALUES (16u * LEAF_ENTRY_VALUES)

/* A merged report's own connections[] (the text [from, to), checked by
 * all_objects()) onto w in canonical form (mstate_put_node() of the whole
 * array), one element parsed at a time: the array is the view of the
 * report's leaves and only its digest reads it, and its tree was most of
 * the memory of merging a merged report of 20,000 connections again
 * (592 MiB for a 48 MB report).  false (err) when an element is not JSON. */
static bool put_entries(struct json *w, const char *p, size_t from, size_t to, char *err, size_t errlen)
{
    json_begin_array(w);
    JsonParser *parser = json_parser_new_immutable();
    size_t i = from + 1, a = 0, b = 0;
    bool bad = false, ok = true;
    for (guint k = 0; ok && i < to && next_object(p, to, &i, &a, &b, &bad); k++) {
        if (values_of(p, a, b) > MERGED_ENTRY_VALUES) {
            snprintf(err, errlen, "connections[%u]: an entry of more than %u values: not a report smbscope writes", k,
                     MERGED_ENTRY_VALUES);
            ok = false;
            break;
        }
        GError *gerr = NULL;
        ok = json_parser_load_from_data(parser, p + a, (gssize)(b - a), &gerr);
        if (ok) {
            mstate_put_node(w, json_parser_get_root(parser));
        } else {
            snprintf(err, errlen, "not JSON: connections[%u]: %s", k, gerr->message);
            g_error_free(gerr);
        }
        json_flush(w);
    }
    g_object_unref(parser);
    json_end_array(w);
    return ok;
}

static JsonParser *parse(const char *p, size_t n)
{
    JsonParser *parser = json_parser_new_immutable();
    if (!json_parser_load_from_data(parser, p, (gssize)n, NULL)) {
        g_object_unref(parser);
        return NULL;
    }
    return parser;
}

struct detail_trim;
static void detail_trim_after(struct analysis *a, struct detail_trim *t, uint64_t times);

/* After each entry a packed leaf adds: a leaf's entries are many more than
 * a merged report keeps (--connections all: 20,000 a run), dropped as they
 * come (detail_trim() says why that keeps what a trim after the whole
 * report kept: the leaf's state, its edges, is folded before its entries). */
static void entry_added(struct analysis *a, void *trim) { detail_trim_after(a, trim, 1); }

/* 1: folded, 0: refused (err), -1: not a state of leaves this reads (parse
 * it whole).  p is cut_members()' text, merge_state's value at state_at. */
static int fold_leaves_text(struct analysis *a, const char *p, size_t n, size_t state_at, struct detail_trim *trim,
                            char *err, size_t errlen)
{
    size_t st[2], lv[2];
    int count = 0;
    /* a run's state (most reports) is told by its first key, before anything scans all of it */
    static const char leaves_key[] = "\"leaves\"";
    static const char *const leaves_name[] = { "leaves" };
    st[0] = member_start(p, n, state_at, "state");
    size_t k = st[0] && p[st[0]] == '{' ? jtext_ws(p, n, st[0] + 1) : n;
    if (k + sizeof leaves_key - 1 > n || memcmp(p + k, leaves_key, sizeof leaves_key - 1) != 0)
        return -1;
    if (!members_of(p, n, st[0], leaves_name, 1, &lv[0], &lv[1], &count) || !lv[1] || count != 1 || p[lv[0]] != '[')
        return -1;
    GArray *leaves = g_array_new(FALSE, FALSE, 2 * sizeof(size_t));
    if (!objects_of(p, lv[0], lv[1], leaves, MSTATE_LEAVES_CAP)) {
        g_array_free(leaves, TRUE);
        return -1;
    }
    /* connections[] out of the skeleton too: hashed an element at a time (put_entries()) */
    size_t c0 = member_start(p, n, 0, "connections"), c1 = c0 ? value_end(p, n, c0) : 0;
    guint entries = 0;
    if (!c1 || p[c0] != '[' || c1 > lv[0]) {
        g_array_free(leaves, TRUE);
        return -1;
    }
    if (!all_objects(p, c0, c1, &entries)) {
        snprintf(err, errlen, "connections[%u]: an entry that is not an object", entries);
        g_array_free(leaves, TRUE);
        return 0;
    }
    GString *skel = g_string_new_len(p, (gssize)c0);
    g_string_append(skel, "[]");
    g_string_append_len(skel, p + c1, (gssize)(lv[0] - c1));
    g_string_append(skel, "[]");
    g_string_append_len(skel, p + lv[1], (gssize)(n - lv[1]));
    JsonParser *sp = parse(skel->str, skel->len);
    g_string_free(skel, TRUE);
    JsonNode *detail = NULL;
    const char *digest = NULL;
    if (!sp || !state_of(json_parser_get_root(sp), &detail, &digest, err, errlen)) {
        g_array_free(leaves, TRUE);
        if (sp)
            g_object_unref(sp);
        return sp ? 0 : -1;
    }
    struct mstate_sink s;
    FILE *f = mstate_sink_open(&s, NULL, MSTATE_FORMAT);
    struct json w;
    s.hashing = true;
    if (f) {
        json_init(&w, f, false);
        json_begin_object(&w);
        json_key(&w, "leaves");
        json_begin_array(&w);
    }
    int r = 1;
    for (guint i = 0; r == 1 && i < leaves->len; i++) {
        const size_t *rg = &g_array_index(leaves, size_t, 2 * i);
        JsonParser *lp = parse(p + rg[0], rg[1] - rg[0]);
        if (!lp) {
            r = -1; /* the whole parse says where */
            break;
        }
        JsonNode *leaf = json_parser_get_root(lp);
        /* its canonical text, hashed; kept as the leaf when it is in the order mstate_leaves.c writes */
        size_t tlen = 0;
        char *text = mstate_node_canon(leaf, &tlen);
        if (f && text) {
            json_raw(&w, text, tlen);
            json_flush(&w);
        } else if (f) {
            mstate_put_node(&w, leaf);
            json_flush(&w);
        }
        static const char leaf_head[] = "{\"state\":", packed_head[] = "{\"bytes\":";
        if (text && strncmp(text, leaf_head, sizeof leaf_head - 1) != 0 &&
            strncmp(text, packed_head, sizeof packed_head - 1) != 0) {
            free(text);
            text = NULL;
        }
        if (!mstate_fold_leaf(a, i, leaf, text, tlen, entry_added, trim, err, errlen))
            r = 0;
        g_object_unref(lp);
    }
    char want[MSTATE_DIGEST_LEN + 1];
    if (f) {
        json_end_array(&w);
        json_end_object(&w);
        json_flush(&w);
        mstate_sink_hash(&s, "\n", 1);
        if (r == 1 && !put_entries(&w, p, c0, c1, err, errlen))
            r = 0;
        json_flush(&w);
    }
    mstate_sink_digest(&s, want);
    mstate_sink_close(&s, f);
    if (r == 1 && strcmp(want, digest) != 0) {
        snprintf(err, errlen, "%s", digest_mismatch);
        r = 0;
    }
    g_array_free(leaves, TRUE);
    g_object_unref(sp);
    return r;
}


/* ---- a run's report, a piece at a time ----------------------------------
 * A run's (not merged) report was parsed whole: its connections[] (20,000
 * entries of a --connections all run: a 24 MB report, most of 170 MB of a
 * merge) and its state's group rows as one json-glib tree, up to what
 * MERGE_MAX_REPORT_BYTES of text makes.  Now its skeleton is parsed
 * without them ({"connections": [], "merge_state": {..., "state": {}}}:
 * format, digest), and its state and entries are read from the report's
 * text as a packed leaf's are, one piece at a time (mstate_fold_run_text():
 * nothing of the text is copied, not even the cut of cut_members()).
 * 1: folded, 0: refused (err), -1: not a run's report this reads (a
 * merged one, or members it cannot walk: cut and parsed as before, which
 * says what is wrong). */
/* Whether the object at p[i] == '{' is a run's state as this reads it
 * (1): its members walk and none is "leaves" (a merged report's: 0).  A
 * key written with escapes (json-glib reads "le\u0061ves" as leaves) is
 * nothing smbscope writes: -1, refused -- read as a tree instead, a forged
 * state's rows took the memory the piecewise reading bounds (review:
 * "\u0067roups", 19 -> 369 MB). */
static int run_state_text(const char *p, size_t n, size_t i)
{
    struct mwalk w;
    if (!mwalk_begin(&w, p, n, i))
        return 0;
    while (mwalk_key(&w)) {
        if (memchr(p + w.k, '\\', w.ke - w.k))
            return -1;
        if (mwalk_is(&w, "leaves"))
            return 0;
        if (!mwalk_next(&w))
            break; /* the last member (value_end() does not end a number at '}'), or not JSON: said later */
    }
    return 1;
}

static int fold_run_report(struct analysis *a, const char *p, size_t n, const size_t from[2], const size_t to[2],
                           struct detail_trim *trim, char *err, size_t errlen)
{
    if (!to[0] || !to[1])
        return -1;
    size_t c0 = from[0], c1 = to[0], m0 = from[1], m1 = to[1];
    size_t s0 = p[m0] == '{' ? member_start(p, m1, m0, "state") : 0, s1 = s0 ? value_end(p, m1, s0) : 0;
    int run = s1 && p[c0] == '[' ? run_state_text(p, s1, s0) : 0;
    if (run < 0) {
        snprintf(err, errlen, "merge_state.state: not as smbscope writes it (a member's key written with escapes)");
        return 0;
    }
    if (!run)
        return -1;
    GString *skel = g_string_new("{\"connections\": [], \"merge_state\": ");
    g_string_append_len(skel, p + m0, (gssize)(s0 - m0));
    g_string_append(skel, "{}");
    g_string_append_len(skel, p + s1, (gssize)(m1 - s1));
    g_string_append(skel, "}");
    JsonParser *sp = json_parser_new_immutable();
    GError *gerr = NULL;
    bool ok = json_parser_load_from_data(sp, skel->str, (gssize)skel->len, &gerr);
    g_string_free(skel, TRUE);
    if (!ok) {
        snprintf(err, errlen, "not JSON: %s", gerr->message);
        g_error_free(gerr);
        g_object_unref(sp);
        return 0;
    }
    JsonNode *detail = NULL;
    const char *digest = NULL;
    int r = 0;
    if (state_of(json_parser_get_root(sp), &detail, &digest, err, errlen)) {
        r = mstate_fold_run_text(a, p + s0, s1 - s0, p + c0, c1 - c0, digest, entry_added, trim, err, errlen);
        if (r == -1)
            snprintf(err, errlen, "%s", digest_mismatch);
        r = r == 1;
    }
    g_object_unref(sp);
    return r;
}

/* One report into the analysis; false (and err, without the file name)
 * when it is refused. */
static bool fold_report(struct analysis *a, const char *path, struct detail_trim *trim, char *err, size_t errlen)
{
    size_t len = 0;
    char *text = slurp(path, &len, err, errlen);
    if (!text)
        return false;
    if (!merge_json_checked(text, len, err, errlen)) {
        g_free(text);
        return false;
    }
    size_t from[2], to[2], cutlen = 0, state_at = 0;
    bool found = cut_find(text, len, from, to); /* one walk of the report's members for both readers */
    int run = found ? fold_run_report(a, text, len, from, to, trim, err, errlen) : -1;
    if (run >= 0) {
        g_free(text);
        return run == 1;
    }
    char *cut = found ? cut_members(text, from, to, &cutlen, &state_at) : NULL;
    if (cut) {
        g_free(text);
        text = cut;
        len = cutlen;
        int leaves = fold_leaves_text(a, text, len, state_at, trim, err, errlen);
        if (leaves >= 0) {
            g_free(text);
            return leaves == 1;
        }
    }
    JsonParser *parser = json_parser_new_immutable();
    GError *gerr = NULL;
    bool ok = json_parser_load_from_data(parser, text, (gssize)len, &gerr);
    g_free(text);
    if (!ok) {
        snprintf(err, errlen, "not JSON: %s", gerr->message);
        g_error_free(gerr);
        g_object_unref(parser);
        return false;
    }
    JsonNode *detail = NULL;
    char *leaf = NULL;
    size_t leaf_len = 0;
    JsonNode *state = verified_state(json_parser_get_root(parser), &detail, &leaf, &leaf_len, err, errlen);
    ok = state && mstate_fold_text(a, state, detail, leaf, leaf_len, err, errlen);
    g_object_unref(parser);
    return ok;
}

/* ---- a capture part given twice -----------------------------------------
 * Each input of a run carries its part's identity (part_id.h), a merged
 * report the identities of every run it merged (its leaves' inputs).  The
 * same part folded twice would count its connections, hosts and
 * violations twice and join nothing (a connection cannot continue into
 * itself), so a report holding a part that an earlier one held, or that it
 * holds twice itself, is refused naming both files and the part; there is
 * no option to skip it: a run of several inputs, a state folded past its
 * leaves and a merged report's connections[] cannot be taken apart (merge
 * the reports of the distinct parts instead, as mergecap and Zeek leave
 * repeats to the user).  Inputs without a packet have no identity and
 * are not compared; those of a report written before identities get one
 * made of their counts and times (part_id_of()). */
static const char *report_name(const char *path) { return strcmp(path, "-") ? path : "standard input"; }

/* The inputs a->inputs[from..] that report r (of paths) added, against
 * the parts of the reports before it (seen: identity -> 1 + its report). */
static bool parts_unrepeated(GHashTable *seen, const struct analysis *a, guint from, char *const *paths, int r,
                             char *err, size_t errlen)
{
    for (guint i = from; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        char id[PART_ID_LEN + 1];
        if (!part_id_of(in, id)) /* a report before identities: its counts and times alone (part_id.h) */
            continue;
        int other = GPOINTER_TO_INT(g_hash_table_lookup(seen, id)) - 1;
        if (other < 0) {
            g_hash_table_insert(seen, g_strdup(id), GINT_TO_POINTER(r + 1));
            continue;
        }
        char t0[FMT_TIME_LEN], t1[FMT_TIME_LEN];
        char where[512];
        if (other == r)
            snprintf(where, sizeof where, "twice in this report");
        else if (strcmp(paths[other], paths[r]) == 0)
            snprintf(where, sizeof where, "in this report given twice");
        else
            snprintf(where, sizeof where, "also in %s", report_name(paths[other]));
        snprintf(err, errlen,
                 "capture part %s (%s, %" G_GUINT64_FORMAT " packets, %s to %s) is %s: merged again it would count "
                 "its traffic twice (merge the reports of distinct parts)",
                 id, in->path, in->packets, fmt_time(in->first_ts, t0), fmt_time(in->last_ts, t1), where);
        return false;
    }
    return true;
}

/* First packet, path, then the part's identity: two sensors' runs of
 * `smbscope capture.pcap` over the same traffic give one path and one first
 * packet, and without it their order would be the order merge met them in
 * (a merge in two halves listing them otherwise than the flat merge). */
static gint input_order(gconstpointer pa, gconstpointer pb)
{
    const struct input_info *a = *(const struct input_info *const *)pa, *b = *(const struct input_info *const *)pb;
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    int c = strcmp(a->path, b->path);
    if (c != 0)
        return c;
    c = g_strcmp0(a->part_id, b->part_id);
    if (c != 0)
        return c;
    if (a->last_ts != b->last_ts)
        return a->last_ts < b->last_ts ? -1 : 1;
    return a->packets < b->packets ? -1 : a->packets > b->packets;
}

/* ---- connections[] entries in report order ------------------------------
 * Report order is first seen, then the entry's text.  The text is made
 * only for entries of one time, once per entry (entries do not change
 * between two sorts: a table of them is kept across the trims), not twice
 * per comparison: 1,024 copies of one report, whose copies of an entry are
 * all of one time, made a sort's every comparison serialise two entries. */
struct detail_key {
    JsonNode *n;
    const char *first_seen;
};

/* What the sorts and the trims read of an entry, read once (a packed one,
 * mstate_detail.h, is parsed for it): its text (made when two entries of
 * one time are compared; a packed one's is the node's), first seen, ports. */
struct entry_info {
    char *text, *first_seen;
    gint64 client_port, server_port;
};

static void info_free(gpointer p)
{
    struct entry_info *e = p;
    g_free(e->text);
    g_free(e->first_seen);
    g_free(e);
}

static struct entry_info *info_of(GHashTable *infos, JsonNode *n, JsonParser **scratch)
{
    struct entry_info *e = g_hash_table_lookup(infos, n);
    if (e)
        return e;
    e = g_new0(struct entry_info, 1);
    struct mstate_detail_head h; /* a packed entry's read from its text (mstate_detail.h) */
    mstate_detail_head(n, &h, scratch);
    e->first_seen = g_strdup(h.first_seen);
    e->client_port = h.client_port;
    e->server_port = h.server_port;
    g_hash_table_insert(infos, n, e);
    return e;
}

static const char *entry_text(GHashTable *infos, JsonNode *n)
{
    if (mstate_detail_is_packed(n))
        return json_node_get_string(n); /* its text is the node */
    struct entry_info *e = g_hash_table_lookup(infos, n); /* made by detail_sort() */
    if (!e->text)
        e->text = mstate_node_text(n);
    return e->text;
}

static gint key_order(gconstpointer pa, gconstpointer pb, gpointer infos)
{
    const struct detail_key *a = pa, *b = pb;
    int c = strcmp(a->first_seen, b->first_seen);
    if (c || a->n == b->n)
        return c;
    return strcmp(entry_text(infos, a->n), entry_text(infos, b->n));
}

static GHashTable *texts_new(void) { return g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, info_free); }

/* d in report order (a stable sort: entries of the same text keep theirs). */
static void detail_sort(GPtrArray *d, GHashTable *infos)
{
    GArray *keys = g_array_sized_new(FALSE, FALSE, sizeof(struct detail_key), d->len);
    JsonParser *scratch = NULL;
    for (guint i = 0; i < d->len; i++) {
        JsonNode *n = g_ptr_array_index(d, i);
        const struct entry_info *e = info_of(infos, n, &scratch);
        struct detail_key k = { n, e->first_seen ? e->first_seen : "" };
        g_array_append_val(keys, k);
    }
    if (scratch)
        g_object_unref(scratch);
    g_array_sort_with_data(keys, key_order, infos);
    for (guint i = 0; i < d->len; i++)
        d->pdata[i] = g_array_index(keys, struct detail_key, i).n;
    g_array_free(keys, TRUE);
}

/* As many entries as --connections keeps; the rest are counted as omitted.
 * After the joins, which change entries: texts made here. */
static void detail_limit(struct analysis *a)
{
    GPtrArray *d = a->conn_detail_json;
    if (!d)
        return;
    GHashTable *texts = texts_new();
    detail_sort(d, texts);
    g_hash_table_destroy(texts);
    uint64_t keep = a->cfg->conn_detail == CONN_DETAIL_ALL ? d->len
                    : a->cfg->conn_detail == CONN_DETAIL_NONE ? 0 : a->conn_detail_limit;
    if (keep < d->len) {
        a->conns_omitted += d->len - keep;
        g_ptr_array_set_size(d, (guint)keep);
    }
}

/* The detail entries past what the merged report keeps, dropped as the
 * reports are read (a report's 250 entries are megabytes as json-glib
 * nodes: ten reports took 100 MiB), counted as omitted as detail_limit()
 * does.  The entries of edge connections, which a join may still change,
 * move earlier or remove, are set aside and kept to the end.  Of the
 * others, those behind the first `keep` of them in report order are
 * dropped: none of those in front changes or goes (they name no edge) and
 * a later report only adds entries, so none dropped could be among the
 * kept ones at the end.  (Before, what was kept was every entry up to the
 * first-seen time of the entry at the limit and every edge entry, all
 * sorted again at each trim: copies of one report, or many reports of the
 * same times, kept every entry of that time, and thousands of edge
 * entries were sorted again per report.)  Amortised: a trim only once the
 * entries not set aside pass twice the limit. */
struct detail_trim {
    GHashTable *edges;     /* edge_key()s of edges_of[0, edges_seen) */
    GArray *edges_of;      /* the a->edges they were taken from */
    guint edges_seen;
    GPtrArray *edge_side;  /* entries of edge connections */
    GHashTable *texts;     /* JsonNode* -> struct entry_info */
    bool trimmed;
};

static void edge_key(char *buf, size_t len, const char *first_seen, uint64_t p0, uint64_t p1)
{
    snprintf(buf, len, "%s|%" G_GUINT64_FORMAT "|%" G_GUINT64_FORMAT, first_seen, p0 < p1 ? p0 : p1, p0 < p1 ? p1 : p0);
}

static bool is_edge(GHashTable *edges, const struct entry_info *e)
{
    const char *fs = e->first_seen;
    gint64 cp = e->client_port, sp = e->server_port;
    if (!fs || cp < 0 || sp < 0)
        return false; /* not one a join can find (mstate_detail.c entry_is()): it never changes nor goes, so
                       * it is kept or dropped by its order as the others are (kept whatever the limit, a
                       * forged leaf's entries without ends were all held to the end) */
    char key[FMT_TIME_LEN + 48];
    edge_key(key, sizeof key, fs, (uint64_t)cp, (uint64_t)sp);
    return g_hash_table_contains(edges, key);
}

/* The edges folded since the last trim, into t->edges (a->edges only
 * grows while reports are folded; another array or a shorter one: again). */
static void edges_update(struct detail_trim *t, const struct analysis *a)
{
    if (!t->edges)
        t->edges = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (t->edges_of != a->edges || (a->edges && a->edges->len < t->edges_seen)) {
        g_hash_table_remove_all(t->edges);
        t->edges_of = a->edges;
        t->edges_seen = 0;
    }
    for (guint i = t->edges_seen; a->edges && i < a->edges->len; i++) {
        const struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, i);
        char tm[FMT_TIME_LEN], key[FMT_TIME_LEN + 48];
        edge_key(key, sizeof key, fmt_time(cs->first_ts, tm), cs->client_port, cs->server_port);
        g_hash_table_add(t->edges, g_strdup(key));
    }
    t->edges_seen = a->edges ? a->edges->len : 0;
}

/* A trim once the entries pass times the limit and 64 more: 2 after a
 * report, 1 after each entry of a packed leaf (whose entries come one at a
 * time: each a tree of up to LEAF_ENTRY_VALUES values, leaf_split.h). */
static void detail_trim_after(struct analysis *a, struct detail_trim *t, uint64_t times)
{
    GPtrArray *d = a->conn_detail_json;
    if (!d || a->cfg->conn_detail == CONN_DETAIL_ALL)
        return;
    uint64_t keep = a->cfg->conn_detail == CONN_DETAIL_NONE ? 0 : a->conn_detail_limit;
    if (d->len <= times * keep + 64)
        return;
    edges_update(t, a);
    if (!t->edge_side)
        t->edge_side = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    if (!t->texts)
        t->texts = texts_new();
    GPtrArray *kept = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    JsonParser *scratch = NULL;
    for (guint i = 0; i < d->len; i++) {
        JsonNode *e = g_ptr_array_index(d, i);
        g_ptr_array_add(is_edge(t->edges, info_of(t->texts, e, &scratch)) ? t->edge_side : kept, json_node_ref(e));
    }
    if (scratch)
        g_object_unref(scratch);
    g_ptr_array_free(d, TRUE);
    detail_sort(kept, t->texts);
    for (guint i = (guint)keep; i < kept->len; i++) {
        g_hash_table_remove(t->texts, g_ptr_array_index(kept, i));
        a->conns_omitted++;
    }
    if (keep < kept->len)
        g_ptr_array_set_size(kept, (guint)keep);
    a->conn_detail_json = kept;
    t->trimmed = true;
}

static void detail_trim(struct analysis *a, struct detail_trim *t) { detail_trim_after(a, t, 2); }

/* After the last report: the entries set aside back, all in report order
 * (the joins find an entry by its ends, the first of equal ones in the
 * array: so which that is does not depend on the order of the reports). */
static void detail_trim_end(struct analysis *a, struct detail_trim *t)
{
    if (t->trimmed) {
        GPtrArray *d = a->conn_detail_json;
        for (guint i = 0; d && i < d->len; i++)
            g_ptr_array_add(t->edge_side, json_node_ref(g_ptr_array_index(d, i)));
        if (d)
            g_ptr_array_free(d, TRUE);
        detail_sort(t->edge_side, t->texts);
        a->conn_detail_json = t->edge_side;
        t->edge_side = NULL;
    }
    if (t->edge_side)
        g_ptr_array_free(t->edge_side, TRUE);
    if (t->edges)
        g_hash_table_destroy(t->edges);
    if (t->texts)
        g_hash_table_destroy(t->texts);
    memset(t, 0, sizeof *t);
}

int merge_main(const struct config *given)
{
    char err[3072]; /* two inputs described and what to do (part_overlap.c) */
    struct config merged_cfg = *given; /* its report can be merged again */
    merged_cfg.merge_state = true;
    const struct config *cfg = &merged_cfg;
    if (!check_options(cfg, err, sizeof err)) {
        fprintf(stderr, "smbscope: %s\nTry 'smbscope --help' for more information.\n", err);
        return 2;
    }
    struct analysis a;
    memset(&a, 0, sizeof a);
    if (!analysis_init(&a, cfg, err, sizeof err)) {
        fprintf(stderr, "smbscope: %s\n", err);
        if (a.inputs)
            analysis_free(&a);
        return 2;
    }
    struct detail_trim trim = { 0 };
    GHashTable *parts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    struct overlap_check *overlaps = overlap_check_new(); /* parts that share records (part_overlap.h) */
    mstate_group_order_begin(&a);
    for (int i = 0; i < cfg->n_inputs; i++) {
        const char *path = cfg->inputs[i];
        guint inputs_before = a.inputs->len;
        if (!fold_report(&a, path, &trim, err, sizeof err) ||
            !parts_unrepeated(parts, &a, inputs_before, cfg->inputs, i, err, sizeof err)) {
            fprintf(stderr, "smbscope: merge: %s: %s\n", report_name(path), err);
            g_hash_table_destroy(parts);
            overlap_check_free(overlaps);
            detail_trim_end(&a, &trim);
            mstate_group_order_free(&a);
            analysis_free(&a);
            return 2;
        }
        overlap_check_add(overlaps, &a, inputs_before, i);
        /* the report's entries kept as their text (mstate_detail.h); before
         * the trim: its table of texts names the entries it kept before */
        mstate_detail_pack_all(&a);
        detail_trim(&a, &trim);
        /* the report's tree is freed: give its pages back before the next
         * one is parsed (glibc keeps them otherwise, and the next tree and
         * the growing merged tables land beside them: ten 1 GiB-capture
         * part reports peaked 3.2 MiB higher without) */
        mem_trim();
    }
    g_hash_table_destroy(parts);
    int later = 0;
    bool apart = overlap_check_done(overlaps, &a, cfg->inputs, &later, err, sizeof err);
    overlap_check_free(overlaps);
    if (!apart) {
        fprintf(stderr, "smbscope: merge: %s: %s\n", report_name(cfg->inputs[later]), err);
        detail_trim_end(&a, &trim);
        mstate_group_order_free(&a);
        analysis_free(&a);
        return 2;
    }
    detail_trim_end(&a, &trim);
    merge_finish(&a);
    mstate_leaves_sort(&a); /* the same runs, the same state whatever the grouping and order */
    int status = merge_report(cfg, &a);
    analysis_free(&a);
    return status;
}


/* The groups again, created in first-seen order: the verdict lists lines
 * of one time in the order their groups were made, which must not depend
 * on the order the reports were folded in. */
static void canonical_groups(struct analysis *a)
{
    GArray *order = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (uint32_t i = 0; i < conn_groups_count(a->groups); i++)
        g_array_append_val(order, i);
    g_array_sort_with_data(order, mstate_group_first_seen_cmp, a->groups);
    struct conn_groups *g = conn_groups_new(a->cfg->max_conn_groups);
    for (guint i = 0; i < order->len; i++)
        conn_groups_add_group(g, conn_groups_at(a->groups, g_array_index(order, uint32_t, i)));
    g_array_free(order, TRUE);
    conn_groups_free(a->groups);
    a->groups = g;
}

void merge_finish(struct analysis *a)
{
    mstate_clocks_finish(a);
    mstate_frags_join(a); /* IP datagrams a cut divided, decoded as packets of the run (mstate_frags.h) */
    mstate_wlan_join(a);  /* 802.11 retries of a last fragment an earlier part completed (mstate_wlan.h) */
    mstate_join_syn_repeats(a); /* a SYN again in a later part: one flow, before its handshake joins */
    mstate_join_hs(a); /* before the edges join: a part seen from its start joins the next */
    mstate_syn_starts_edges(a); /* an edge begun with a SYN sent again; one whose 4-tuple a later SYN took */
    if (a->merged_parts == 1) /* one run's edges, numbered by where it closed them: in that order (jobs4) */
        a->edges_close_order = true;
    mstate_join_edges(a);
    mstate_frags_tcp_finish(a); /* TCP segments in datagrams a cut divided that no join placed (mstate_frags_tcp.h) */
    mstate_join_syn_flows(a);
    mstate_syn_starts_join(a); /* a syn flow a later part's connection began again */
    mstate_join_quic(a);
    mstate_join_nbns(a);
    mstate_tails_ix_done(a); /* the joins' indexes: their memory back before the report */
    mstate_nbss_ix_done(a);
    mstate_xchg_ix_done(a);
    /* the groups in the order one run meets them, the joined connections
     * among them; then the edges still open, as a run adds them last */
    mstate_group_order_end(a);
    analysis_fold_edges(a);
    canonical_groups(a);
    detail_limit(a);
    /* The same answer whatever the order of the reports. */
    g_ptr_array_sort(a->inputs, input_order);
    nb_ledger_sort_rows(a->ledger);
    host_table_sort(nb_ledger_hosts_mut(a->ledger));
    smb_hosts_sort(a->smb_hosts);
}

int merge_report(const struct config *cfg, const struct analysis *a)
{
    char err[1024];
    struct run run;
    int status;
    if (!run_prepare(&run, cfg, err, sizeof err)) {
        fprintf(stderr, "smbscope: %s\n", err);
        status = 2;
    } else {
        struct verdict v;
        verdict_compute(&v, a, &cfg->policy);
        run_report(&run, a, &v);
        status = v.exit_code;
        if (fflush(run.out) != 0 || ferror(run.out)) {
            fprintf(stderr, "smbscope: %s: write error\n", cfg->output ? cfg->output : "standard output");
            status = 2;
        }
        verdict_free(&v);
    }
    run_free(&run);
    return status;
}
