/* mstate_detail.c - the connections[] entries of two parts of one
 * connection (mstate_edges.h) made one: the early part's entry (which saw
 * the start: negotiation, transport) with the late part's counters added,
 * its sessions and shares appended, its end and last packet time taken. */
#include "mstate_detail.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "classify.h"
#include "flow.h"
#include "fmt.h"
#include "jget.h"
#include "mstate_join_client.h"
#include "mstate_join_enc.h"
#include "mstate_join_nbss.h"
#include "mstate_join_rdma.h"
#include "mstate_canon.h"
#include "mstate_put.h"
#include "session_join.h"
#include "session.h"
#include "verdict.h"

static bool same_str(const char *v, const char *want) { return v && strcmp(v, want) == 0; }

/* A part's entry is named by its first packet time and its two ports
 * (either orientation); the addresses tell apart the few of one name. */
static bool entry_is(const struct mstate_detail_head *h, const struct conn_summary *cs, const char *c, const char *s,
                     const char *t, bool *swapped)
{
    if (!same_str(h->first_seen, t))
        return false;
    gint64 cp = h->client_port, sp = h->server_port;
    if (same_str(h->client, c) && same_str(h->server, s) && cp == cs->client_port && sp == cs->server_port) {
        *swapped = false;
        return true;
    }
    if (same_str(h->client, s) && same_str(h->server, c) && cp == cs->server_port && sp == cs->client_port) {
        *swapped = true;
        return true;
    }
    return false;
}

/* conn_detail_json's entries by their two ends (address and port, either
 * orientation): a merge joins each of up to thousands of edges by looking
 * its parts' entries up among tens of thousands (a scan of them each was
 * most of a 4-part merge); the few entries of two ends are then compared in
 * full (entry_is()).  Not by time: a join from a connection's start
 * rewrites its entry's first_seen (mstate_join_hs.c); no join rewrites an
 * end.  Built on the first look-up,
 * kept by this file's removals; rebuilt when the array is another or its
 * length changed behind it (entries read from the next report, or the
 * array trimmed: merge.c).  It holds a reference on the array (so no other
 * takes its address) and on every node it names. */
struct detail_index {
    GPtrArray *arr;
    guint len;
    GHashTable *by_ends; /* ends_key() -> GPtrArray of JsonNode* (array order) */
};

/* "address port" of both ends, the lower first. */
#define ENDS_KEY_LEN (2 * FMT_ADDR_LEN + 16)
static const char *ends_key(char *buf, const char *c, gint64 cp, const char *s, gint64 sp)
{
    char x[FMT_ADDR_LEN + 8], y[FMT_ADDR_LEN + 8];
    snprintf(x, sizeof x, "%s %" G_GINT64_FORMAT, c, cp);
    snprintf(y, sizeof y, "%s %" G_GINT64_FORMAT, s, sp);
    bool lo = strcmp(x, y) < 0;
    snprintf(buf, ENDS_KEY_LEN, "%s|%s", lo ? x : y, lo ? y : x);
    return buf;
}

/* An entry's key, NULL when it names no part (no ends: never found). */
static const char *entry_key(char *buf, const struct mstate_detail_head *h)
{
    const char *c = h->client, *s = h->server;
    gint64 cp = h->client_port, sp = h->server_port;
    if (!c || !s || cp < 0 || sp < 0 || strlen(c) >= FMT_ADDR_LEN || strlen(s) >= FMT_ADDR_LEN)
        return NULL;
    return ends_key(buf, c, cp, s, sp);
}

void mstate_detail_free(struct analysis *a)
{
    struct detail_index *x = a->detail_index;
    if (!x)
        return;
    g_hash_table_destroy(x->by_ends);
    g_ptr_array_unref(x->arr);
    g_free(x);
    a->detail_index = NULL;
}

static struct detail_index *index_of(struct analysis *a)
{
    GPtrArray *d = a->conn_detail_json;
    struct detail_index *x = a->detail_index;
    if (x && x->arr == d && x->len == d->len)
        return x;
    mstate_detail_free(a);
    x = g_new0(struct detail_index, 1);
    x->arr = g_ptr_array_ref(d);
    x->len = d->len;
    x->by_ends = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    JsonParser *scratch = NULL;
    for (guint i = 0; i < d->len; i++) {
        JsonNode *n = g_ptr_array_index(d, i);
        struct mstate_detail_head h;
        mstate_detail_head(n, &h, &scratch);
        char buf[ENDS_KEY_LEN];
        const char *key = entry_key(buf, &h);
        if (!key)
            continue;
        GPtrArray *same = g_hash_table_lookup(x->by_ends, key);
        if (!same) {
            same = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
            g_hash_table_insert(x->by_ends, g_strdup(key), same);
        }
        g_ptr_array_add(same, json_node_ref(n));
    }
    if (scratch)
        g_object_unref(scratch);
    a->detail_index = x;
    return x;
}

/* Packed entry i of the index's bucket same turned back into its object:
 * a new node in its place there and in the array (json-glib changes the
 * type of a node only while nothing else holds it).  A mutable parse: the
 * joins change it. */
static JsonNode *unpack(struct analysis *a, GPtrArray *same, guint i)
{
    JsonNode *n = g_ptr_array_index(same, i);
    JsonParser *p = json_parser_new();
    JsonNode *o = NULL;
    guint at;
    if (json_parser_load_from_data(p, json_node_get_string(n), -1, NULL) && /* its own text: always */
        g_ptr_array_find(a->conn_detail_json, n, &at)) {
        o = json_node_copy(json_parser_get_root(p));
        a->conn_detail_json->pdata[at] = json_node_ref(o);
        json_node_unref(n);
        same->pdata[i] = o; /* the bucket's reference moves to it */
        json_node_unref(n);
    }
    g_object_unref(p);
    return o ? o : n;
}

/* The entry of a part: its endpoints (either orientation) and first packet
 * time; *swapped when it named the other side the client.  NULL when the
 * part was not detailed. */
static JsonNode *find_entry(struct analysis *a, const struct conn_summary *cs, bool *swapped)
{
    GPtrArray *d = a->conn_detail_json;
    if (!d || !d->len)
        return NULL;
    char c[FMT_ADDR_LEN], s[FMT_ADDR_LEN], t[FMT_TIME_LEN];
    fmt_addr(&cs->client, c);
    fmt_addr(&cs->server, s);
    fmt_time(cs->first_ts, t);
    char key[ENDS_KEY_LEN];
    GPtrArray *same = g_hash_table_lookup(index_of(a)->by_ends, ends_key(key, c, cs->client_port, s, cs->server_port));
    /* the first of the entries of one name and ends in the array's order, as
     * a scan finds: the index lists them in that order (built in it, its
     * removals keep it).  (It scanned the whole array when there were two:
     * copies of a report's edge entries made every look-up a scan.) */
    JsonParser *scratch = NULL;
    JsonNode *found = NULL;
    guint i = 0;
    for (; !found && same && i < same->len; i++) {
        JsonNode *n = g_ptr_array_index(same, i);
        struct mstate_detail_head h;
        mstate_detail_head(n, &h, &scratch);
        if (entry_is(&h, cs, c, s, t, swapped))
            found = n;
    }
    if (scratch)
        g_object_unref(scratch);
    if (found && mstate_detail_is_packed(found))
        found = unpack(a, same, i - 1); /* the joins read and change it */
    return found;
}

/* n (an entry of conn_detail_json) out of the array and the index. */
static void remove_entry(struct analysis *a, JsonNode *n)
{
    struct detail_index *x = index_of(a);
    char buf[ENDS_KEY_LEN];
    JsonParser *scratch = NULL;
    struct mstate_detail_head h;
    mstate_detail_head(n, &h, &scratch);
    const char *key = entry_key(buf, &h);
    if (scratch)
        g_object_unref(scratch);
    GPtrArray *same = key ? g_hash_table_lookup(x->by_ends, key) : NULL;
    if (same)
        g_ptr_array_remove(same, n);
    if (g_ptr_array_remove(a->conn_detail_json, n)) /* order kept: the report lists them so */
        x->len--;
}

static void add_int(JsonObject *dst, JsonObject *src, const char *k, const char *src_k)
{
    if (!dst || !src || !json_object_has_member(dst, k) || !json_object_has_member(src, src_k))
        return;
    json_object_set_int_member(dst, k, mstate_sum(json_object_get_int_member(dst, k), json_object_get_int_member(src, src_k)));
}

JsonNode *mstate_detail_pack(JsonNode *entry)
{
    char *t = mstate_node_text(entry);
    JsonNode *p = json_node_init_string(json_node_alloc(), t);
    g_free(t);
    return p;
}

bool mstate_detail_is_packed(JsonNode *n)
{
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING;
}

JsonObject *mstate_detail_view(JsonNode *n, JsonParser **scratch)
{
    if (!mstate_detail_is_packed(n))
        return json_node_get_object(n);
    if (!*scratch)
        *scratch = json_parser_new_immutable();
    if (!json_parser_load_from_data(*scratch, json_node_get_string(n), -1, NULL))
        return NULL; /* never: its text is json-glib's own */
    return json_node_get_object(json_parser_get_root(*scratch));
}

void mstate_detail_pack_all(struct analysis *a)
{
    GPtrArray *d = a->conn_detail_json;
    bool changed = false;
    for (guint i = 0; d && i < d->len; i++) {
        JsonNode *n = g_ptr_array_index(d, i);
        if (mstate_detail_is_packed(n))
            continue;
        d->pdata[i] = mstate_detail_pack(n);
        json_node_unref(n);
        changed = true;
    }
    if (changed)
        mstate_detail_free(a); /* it names the nodes */
}

char *mstate_detail_text(JsonNode *n)
{
    return mstate_detail_is_packed(n) ? g_strdup(json_node_get_string(n)) : mstate_node_text(n);
}

/* ---- an entry's head from its packed text -------------------------------- */

/* One past the string at t[i] == '"' (0: none); *esc when it holds a '\\'. */
static size_t head_str_end(const char *t, size_t i, bool *esc)
{
    for (i++; t[i]; i++) {
        if (t[i] == '\\') {
            *esc = true;
            if (!t[++i])
                return 0;
        } else if (t[i] == '"') {
            return i + 1;
        }
    }
    return 0;
}

/* One past the value at t[i] (0: not JSON this walks). */
static size_t head_value_end(const char *t, size_t i)
{
    bool esc = false;
    if (t[i] == '"')
        return head_str_end(t, i, &esc);
    if (t[i] != '{' && t[i] != '[') {
        while (t[i] && t[i] != ',' && t[i] != '}' && t[i] != ']')
            i++;
        return i;
    }
    int depth = 0;
    for (; t[i]; i++) {
        if (t[i] == '"') {
            i = head_str_end(t, i, &esc);
            if (!i)
                return 0;
            i--;
        } else if (t[i] == '{' || t[i] == '[') {
            depth++;
        } else if ((t[i] == '}' || t[i] == ']') && --depth == 0) {
            return i + 1;
        }
    }
    return 0;
}

enum { HEAD_FIRST_SEEN, HEAD_CLIENT, HEAD_SERVER, HEAD_CLIENT_PORT, HEAD_SERVER_PORT, HEAD_N };
static const char *const head_names[HEAD_N] = { "first_seen", "client", "server", "client_port", "server_port" };

/* The head from the compact text t; false when something in it needs the
 * parse (an escaped string, a value of another type, a string too long). */
static bool head_of_text(const char *t, struct mstate_detail_head *h)
{
    if (t[0] != '{')
        return false;
    size_t i = 1;
    while (t[i] == '"') {
        bool esc = false;
        size_t ke = head_str_end(t, i, &esc);
        if (!ke || t[ke] != ':')
            return false;
        int which = -1;
        for (int k = 0; !esc && k < HEAD_N; k++)
            if (ke - i - 2 == strlen(head_names[k]) && memcmp(t + i + 1, head_names[k], ke - i - 2) == 0)
                which = k;
        size_t v = ke + 1, e = head_value_end(t, v);
        if (!e)
            return false;
        if (which >= 0 && !(e - v == 4 && memcmp(t + v, "null", 4) == 0)) { /* null: absent, as the getters read it */
            if (which >= HEAD_CLIENT_PORT) {
                gint64 x = 0;
                for (size_t k = v; k < e; k++) {
                    if (t[k] < '0' || t[k] > '9' || k - v > 18) /* entries' numbers are 0 .. 2^62 */
                        return false;
                    x = x * 10 + (t[k] - '0');
                }
                if (e == v)
                    return false;
                *(which == HEAD_CLIENT_PORT ? &h->client_port : &h->server_port) = x;
            } else {
                bool sesc = false;
                if (t[v] != '"' || head_str_end(t, v, &sesc) != e || sesc || e - v - 2 >= sizeof h->buf[0])
                    return false;
                memcpy(h->buf[which], t + v + 1, e - v - 2);
                h->buf[which][e - v - 2] = 0;
                *(which == HEAD_FIRST_SEEN ? &h->first_seen : which == HEAD_CLIENT ? &h->client : &h->server) =
                    h->buf[which];
            }
        }
        if (t[e] == '}')
            return t[e + 1] == 0;
        if (t[e] != ',')
            return false;
        i = e + 1;
    }
    return t[i] == '}' && i == 1 && t[2] == 0;
}

void mstate_detail_head(JsonNode *n, struct mstate_detail_head *h, JsonParser **scratch)
{
    h->first_seen = h->client = h->server = NULL;
    h->client_port = h->server_port = -1;
    if (mstate_detail_is_packed(n) && head_of_text(json_node_get_string(n), h))
        return;
    h->first_seen = h->client = h->server = NULL;
    h->client_port = h->server_port = -1;
    JsonObject *o = mstate_detail_view(n, scratch);
    if (!o)
        return;
    h->first_seen = json_object_get_string_member_with_default(o, "first_seen", NULL);
    h->client = json_object_get_string_member_with_default(o, "client", NULL);
    h->server = json_object_get_string_member_with_default(o, "server", NULL);
    h->client_port = json_object_get_int_member_with_default(o, "client_port", -1);
    h->server_port = json_object_get_int_member_with_default(o, "server_port", -1);
}

/* Whether the generator's compact text of an entry is json.c's too. */
static bool plain_text(const char *t)
{
    for (; *t; t++)
        if (*t == '\\' || (unsigned char)*t >= 0x7f)
            return false;
    return true;
}

void mstate_detail_put(struct json *w, JsonNode *n)
{
    if (mstate_detail_is_packed(n) && plain_text(json_node_get_string(n))) {
        const char *t = json_node_get_string(n);
        json_raw(w, t, strlen(t));
        return;
    }
    JsonParser *scratch = NULL;
    mstate_put_node(w, mstate_detail_view(n, &scratch) && scratch ? json_parser_get_root(scratch) : n);
    if (scratch)
        g_object_unref(scratch);
}

/* o's integer member k (written by the report right after its array
 * after, only when not zero: sessions_not_listed, shares_not_listed) plus
 * add, in that place, as one run writes it (members after it moved behind). */
static void add_not_listed(JsonObject *o, const char *after, const char *k, gint64 add)
{
    if (!add)
        return;
    if (json_object_has_member(o, k)) {
        json_object_set_int_member(o, k, mstate_sum(json_object_get_int_member(o, k), add));
        return;
    }
    GList *keys = json_object_get_members(o);
    GList *at = g_list_find_custom(keys, after, (GCompareFunc)strcmp);
    GPtrArray *moved = g_ptr_array_new();
    for (GList *m = at ? at->next : NULL; m; m = m->next) { /* keys of o: valid until removed, so copied */
        g_ptr_array_add(moved, g_strdup(m->data));
        g_ptr_array_add(moved, json_node_copy(json_object_get_member(o, m->data)));
        json_object_remove_member(o, g_ptr_array_index(moved, moved->len - 2));
    }
    g_list_free(keys);
    json_object_set_int_member(o, k, add);
    for (guint i = 0; i < moved->len; i += 2) {
        json_object_set_member(o, g_ptr_array_index(moved, i), g_ptr_array_index(moved, i + 1));
        g_free(g_ptr_array_index(moved, i));
    }
    g_ptr_array_free(moved, TRUE);
}

static gint64 int_member(JsonObject *o, const char *k)
{
    JsonNode *n = o ? json_object_get_member(o, k) : NULL;
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64 ? json_node_get_int(n) : 0;
}

/* Elements of the late array the early one does not hold, appended, at
 * most max of them in all: those past it counted in not_listed with the
 * late part's own, as one run counts them (session_join.c join_shares()).
 * Review: merge listed every part's, past the report's cap, and a
 * connection over 141 parts made an entry merge then refused. */
static void append_new(JsonObject *early, JsonObject *late, const char *k, guint max, const char *not_listed)
{
    JsonNode *en = json_object_get_member(early, k), *ln = json_object_get_member(late, k);
    if (!en || !ln || !JSON_NODE_HOLDS_ARRAY(en) || !JSON_NODE_HOLDS_ARRAY(ln))
        return;
    JsonArray *ea = json_node_get_array(en), *la = json_node_get_array(ln);
    gint64 dropped = 0;
    for (guint i = 0; i < json_array_get_length(la); i++) {
        JsonNode *x = json_array_get_element(la, i);
        bool have = false;
        for (guint k2 = 0; !have && k2 < json_array_get_length(ea); k2++)
            have = json_node_equal(x, json_array_get_element(ea, k2));
        if (have)
            continue;
        if (json_array_get_length(ea) >= max)
            dropped++;
        else
            json_array_add_element(ea, json_node_copy(x));
    }
    add_not_listed(early, k, not_listed, mstate_sum(dropped, int_member(late, not_listed)));
}

static void max_int(JsonObject *dst, JsonObject *src, const char *k)
{
    if (!dst || !src || !json_object_has_member(dst, k) || !json_object_has_member(src, k))
        return;
    gint64 a = json_object_get_int_member(dst, k), b = json_object_get_int_member(src, k);
    json_object_set_int_member(dst, k, a > b ? a : b);
}

static void or_bool(JsonObject *dst, JsonObject *src, const char *k)
{
    if (!dst || !src || !json_object_has_member(dst, k) || !json_object_has_member(src, k))
        return;
    json_object_set_boolean_member(dst, k, json_object_get_boolean_member(dst, k) ||
                                               json_object_get_boolean_member(src, k));
}

/* Every integer member of src added to dst's (NBSS message type counts). */
static void add_all(JsonObject *dst, JsonObject *src)
{
    if (!dst || !src)
        return;
    GList *keys = json_object_get_members(src);
    for (GList *k = keys; k; k = k->next) {
        JsonNode *n = json_object_get_member(src, k->data);
        if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64) {
            gint64 have = json_object_get_int_member_with_default(dst, k->data, 0);
            json_object_set_int_member(dst, k->data, mstate_sum(have, json_node_get_int(n)));
        }
    }
    g_list_free(keys);
}

/* A session the late part saw again (same id): its counters added, what it
 * saw united; the early part's record otherwise stands; a new one appended
 * up to SESSION_MAX_SESSIONS, counted in sessions_not_listed past it (as
 * session_join.c join_sessions()). */
static void merge_sessions(JsonObject *early, JsonObject *late)
{
    JsonNode *en = json_object_get_member(early, "sessions"), *ln = json_object_get_member(late, "sessions");
    if (!en || !ln || !JSON_NODE_HOLDS_ARRAY(en) || !JSON_NODE_HOLDS_ARRAY(ln))
        return;
    JsonArray *ea = json_node_get_array(en), *la = json_node_get_array(ln);
    gint64 dropped = 0;
    for (guint i = 0; i < json_array_get_length(la); i++) {
        JsonObject *l = json_array_get_object_element(la, i);
        const char *id = l ? json_object_get_string_member_with_default(l, "session_id", "") : "";
        JsonObject *match = NULL;
        for (guint k = 0; !match && k < json_array_get_length(ea); k++) {
            JsonObject *e = json_array_get_object_element(ea, k);
            if (e && strcmp(json_object_get_string_member_with_default(e, "session_id", "-"), id) == 0)
                match = e;
        }
        if (!match && json_array_get_length(ea) >= SESSION_MAX_SESSIONS) {
            dropped++;
            continue;
        }
        if (!match) {
            json_array_add_element(ea, json_node_copy(json_array_get_element(la, i)));
            continue;
        }
        add_int(match, l, "encrypted_pdus", "encrypted_pdus");
        or_bool(match, l, "signed");
        or_bool(match, l, "established");
        or_bool(match, l, "encrypt_data");
    }
    add_not_listed(early, "sessions", "sessions_not_listed", mstate_sum(dropped, int_member(late, "sessions_not_listed")));
}

/* The NEGOTIATE members of a connections[] entry (report_json_conn.c:
 * conn_negotiate(), conn_security()), by side: those the entry always
 * has (the request's offers: join_negotiate()), those written only once that side was seen (in this order after
 * "capabilities"), and the members of the objects that hold both sides. */
static const char *const response_set[] = { "dialect", "smb_version" };
static const char *const only_when_seen[] = { "client_guid", "server_guid", "max_read", "max_write", "max_transact",
                                              "large_mtu" };
#define REQUEST_ONLY 1 /* only_when_seen[0]: the request's; the others the response's */
static const struct {
    const char *obj, *req, *resp;
} both_sides[] = { { "security_mode", "client", "server" }, { "capabilities", "client", "server" },
                   { "negotiate_contexts", "request", "response" } };

static void copy_member(JsonObject *dst, JsonObject *src, const char *k)
{
    JsonNode *n = src ? json_object_get_member(src, k) : NULL;
    if (dst && n)
        json_object_set_member(dst, k, json_node_copy(n)); /* an existing member keeps its place */
}

static bool has_elements(JsonObject *o, const char *k)
{
    JsonNode *n = json_object_get_member(o, k);
    return n && JSON_NODE_HOLDS_ARRAY(n) && json_array_get_length(json_node_get_array(n)) > 0;
}

static void move_to_end(JsonObject *e, const char *key)
{
    JsonNode *n = json_object_get_member(e, key);
    if (!n)
        return;
    n = json_node_copy(n);
    json_object_remove_member(e, key);
    json_object_set_member(e, key, n);
}

/* The members just added go right after `after`, in their order, and the
 * members that followed it after them (the entry's member order is the
 * writer's). */
static void reorder_after(JsonObject *e, const char *after, const char *const *added, size_t n_added)
{
    GList *list = json_object_get_members(e);
    GPtrArray *keys = g_ptr_array_new_with_free_func(g_free); /* copies: moving a member frees its key */
    for (GList *k = list; k; k = k->next)
        g_ptr_array_add(keys, g_strdup(k->data));
    g_list_free(list);
    bool moving = false;
    for (guint i = 0; i < keys->len; i++) {
        const char *k = g_ptr_array_index(keys, i);
        bool is_added = false;
        for (size_t a = 0; a < n_added; a++)
            is_added |= strcmp(k, added[a]) == 0;
        if (is_added)
            continue;
        if (moving)
            move_to_end(e, k);
        if (strcmp(k, after) == 0) {
            moving = true;
            for (size_t a = 0; a < n_added; a++)
                move_to_end(e, added[a]);
        }
    }
    g_ptr_array_free(keys, TRUE);
}

/* A NEGOTIATE the late part saw is the connection's last (a request
 * there: the client's side is its; a response: the server's side, the
 * dialect), the early part's members stand for what the late part did not
 * see; signing required when either side asked. */
static void join_negotiate(JsonObject *e, JsonObject *l, const struct conn_summary *joined)
{
    JsonNode *ld = json_object_get_member(l, "dialect");
    bool resp = ld && !JSON_NODE_HOLDS_NULL(ld);
    bool req = json_object_has_member(l, "client_guid") || has_elements(l, "dialects_offered") ||
               has_elements(l, "smb1_dialects_offered");
    if (!req && !resp)
        return;
    /* an SMB2 request after an SMB1 one: the SMB1 list stays, the SMB2 offer is the new one */
    if (has_elements(l, "smb1_dialects_offered"))
        copy_member(e, l, "smb1_dialects_offered");
    if (has_elements(l, "dialects_offered")) {
        copy_member(e, l, "dialects_offered");
        copy_member(e, l, "dialects_offered_from_smb1");
    }
    for (size_t i = 0; resp && i < G_N_ELEMENTS(response_set); i++)
        copy_member(e, l, response_set[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(only_when_seen); i++)
        if (i < REQUEST_ONLY ? req : resp)
            copy_member(e, l, only_when_seen[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(both_sides); i++) {
        JsonObject *eo = jget_member_obj(e, both_sides[i].obj), *lo = jget_member_obj(l, both_sides[i].obj);
        if (!eo || !lo)
            continue;
        JsonObject *o = json_object_new(); /* request side, then response side */
        copy_member(o, req ? lo : eo, both_sides[i].req);
        copy_member(o, resp ? lo : eo, both_sides[i].resp);
        json_object_set_object_member(e, both_sides[i].obj, o);
    }
    if (resp) {
        copy_member(jget_member_obj(e, "signing"), jget_member_obj(l, "signing"), "mode");
        copy_member(jget_member_obj(e, "encryption"), jget_member_obj(l, "encryption"), "cipher");
    }
    JsonObject *sg = jget_member_obj(e, "signing");
    if (sg && joined->signing == CONN_SIGNING_REQUIRED)
        json_object_set_string_member(sg, "mode", "required");
    reorder_after(e, "capabilities", only_when_seen, G_N_ELEMENTS(only_when_seen));
}

static void emit_finding(const char *text, void *arg) { json_array_add_string_element(arg, text); }

/* What the joined connection as a whole tells (report_json_conn.c: its
 * findings; session.c: SMB 3.0/3.0.2 encrypt with AES-128-CCM only). */
static void judge_entry(JsonObject *e, const struct conn_summary *j)
{
    JsonArray *f = json_array_new();
    JsonObject *st = jget_member_obj(e, "stream");
    uint64_t gaps = st ? (uint64_t)json_object_get_int_member_with_default(st, "gaps", 0) : j->gaps;
    verdict_conn_findings_of(j->transport, j->evidence, j->dialect, j->server_port, gaps, j->smb_version,
                             emit_finding, f);
    json_object_set_array_member(e, "findings", f);
    JsonObject *en = jget_member_obj(e, "encryption");
    JsonNode *c = en ? json_object_get_member(en, "cipher") : NULL;
    if (c && JSON_NODE_HOLDS_NULL(c) && json_object_get_boolean_member_with_default(en, "encrypted", false) &&
        (j->dialect == 0x0300 || j->dialect == 0x0302))
        json_object_set_string_member(en, "cipher", "AES-128-CCM");
}

static void merge_into(JsonObject *e, JsonObject *l, bool swapped, const struct conn_summary *joined)
{
    join_negotiate(e, l, joined);
    char t[FMT_TIME_LEN];
    json_object_set_string_member(e, "last_seen", fmt_time(joined->last_ts, t));
    JsonObject *es = jget_member_obj(e, "stream"), *ls = jget_member_obj(l, "stream");
    add_int(es, ls, "bytes_c2s", swapped ? "bytes_s2c" : "bytes_c2s");
    add_int(es, ls, "bytes_s2c", swapped ? "bytes_c2s" : "bytes_s2c");
    add_int(es, ls, "packets_c2s", swapped ? "packets_s2c" : "packets_c2s");
    add_int(es, ls, "packets_s2c", swapped ? "packets_c2s" : "packets_s2c");
    static const char *const sums[] = { "gaps", "gap_bytes", "overlap_conflicts", "retransmissions",
                                        "framing_anomalies", "decode_anomalies" };
    for (size_t i = 0; i < G_N_ELEMENTS(sums); i++)
        add_int(es, ls, sums[i], sums[i]);
    if (es && ls && json_object_has_member(ls, "end"))
        json_object_set_member(es, "end", json_node_copy(json_object_get_member(ls, "end")));
    add_int(jget_member_obj(e, "signing"), jget_member_obj(l, "signing"), "signed_pdus", "signed_pdus");
    add_int(jget_member_obj(e, "encryption"), jget_member_obj(l, "encryption"), "encrypted_pdus", "encrypted_pdus");
    add_int(e, l, "compressed_pdus", "compressed_pdus");
    or_bool(jget_member_obj(e, "encryption"), jget_member_obj(l, "encryption"), "encrypted");
    or_bool(jget_member_obj(e, "signing"), jget_member_obj(l, "signing"), "signed_seen");
    max_int(e, l, "largest_message");
    JsonObject *en = jget_member_obj(e, "nbss"), *ln = jget_member_obj(l, "nbss");
    add_all(en ? jget_member_obj(en, "types") : NULL, ln ? jget_member_obj(ln, "types") : NULL);
    mstate_join_neg_codes(en, ln);
    mstate_join_enc_emptied(e, l);
    merge_sessions(e, l);
    mstate_join_client_rule(e, l, swapped);
    mstate_join_enc_unseen(e, l);
    mstate_join_smb_direct(e, l, swapped);
    if (json_object_has_member(e, "transport_evidence")) { /* what the late part saw adds (mstate_join_parts) */
        char ev[256];
        json_object_set_string_member(e, "transport_evidence", transport_evidence_text(joined->evidence, ev, sizeof ev));
    }
    append_new(e, l, "shares", SESSION_MAX_SHARES, "shares_not_listed");
    judge_entry(e, joined);
}

/* The kept connection (--jobs moves them, not their JSON) of a part. */
static guint find_conn(GPtrArray *conns, const struct conn_summary *cs)
{
    for (guint i = 0; i < conns->len; i++) {
        const struct smb_conn *s = g_ptr_array_index(conns, i);
        if (s->first_ts == cs->first_ts && ((s->port[0] == cs->client_port && s->port[1] == cs->server_port) ||
                                            (s->port[1] == cs->client_port && s->port[0] == cs->server_port)))
            return i;
    }
    return G_MAXUINT;
}

/* A session holds its end as one of flow.c's static names: the joined
 * record's text (a copy in the record) named by it. */
static const char *static_reason(const char *text)
{
    for (int r = FLOW_CLOSE_FIN; r <= FLOW_CLOSE_END; r++)
        if (strcmp(flow_close_reason_name((enum flow_close_reason)r), text) == 0)
            return flow_close_reason_name((enum flow_close_reason)r);
    return "?";
}

struct smb_conn *mstate_detail_conn(struct analysis *a, const struct conn_summary *cs)
{
    guint i = a->conns ? find_conn(a->conns, cs) : G_MAXUINT;
    return i == G_MAXUINT ? NULL : g_ptr_array_index(a->conns, i);
}

/* join_conns(): --jobs over the parts of one capture keeps the parts'
 * sessions themselves: the late one joined into the early one
 * (session_join.c, the same joining as merge_into()), its verdict the
 * joined connection's; true when the late part was kept. */
static bool join_conns(struct analysis *a, const struct conn_summary *early, const struct conn_summary *late,
                       const struct conn_summary *joined)
{
    guint li = find_conn(a->conns, late);
    if (li == G_MAXUINT)
        return false;
    guint ei = find_conn(a->conns, early);
    struct smb_conn *l = g_ptr_array_index(a->conns, li);
    if (ei != G_MAXUINT) {
        struct smb_conn *e = g_ptr_array_index(a->conns, ei);
        smb_conn_join(e, l);
        e->last_ts = joined->last_ts;
        e->verdict.cls = (enum transport_class)joined->transport;
        e->verdict.evidence = joined->evidence;
    }
    g_ptr_array_remove_index(a->conns, li); /* frees it */
    return true;
}

void mstate_detail_join(struct analysis *a, const struct conn_summary *early, const struct conn_summary *late,
                        const struct conn_summary *joined)
{
    if (join_conns(a, early, late, joined))
        return;
    bool es = false, ls = false;
    JsonNode *en = find_entry(a, early, &es), *ln = find_entry(a, late, &ls);
    if (!ln) {
        /* the late part was counted, not detailed: one connection less */
        if (a->conns_omitted)
            a->conns_omitted--;
        if (en) {
            char t[FMT_TIME_LEN];
            json_object_set_string_member(json_node_get_object(en), "last_seen", fmt_time(joined->last_ts, t));
        }
        return;
    }
    /* RoCEv2: a part that saw no SMB2 request or response in whole (a
     * message's pieces only) names its first sender the client, perhaps
     * the early part's server (joined by addresses: mstate_edges.c) */
    bool flip = early->carrier == CONN_CARRIER_UDP &&
                (early->client.family != late->client.family ||
                 memcmp(early->client.bytes, late->client.bytes, sizeof early->client.bytes) != 0);
    if (en)
        merge_into(json_node_get_object(en), json_node_get_object(ln), (es != ls) != flip, joined);
    remove_entry(a, ln);
}

void mstate_detail_rename(struct analysis *a, const struct conn_summary *cs, const struct conn_summary *to)
{
    bool swapped = false;
    JsonNode *n = find_entry(a, cs, &swapped);
    if (!n) {
        struct smb_conn *s = mstate_detail_conn(a, cs); /* --jobs: kept in memory */
        if (s) {
            s->first_ts = to->first_ts;
            s->port[s->client] = to->client_port;
            s->port[!s->client] = to->server_port;
        }
        return;
    }
    JsonObject *o = json_node_get_object(n);
    char t[FMT_TIME_LEN];
    json_object_set_string_member(o, "first_seen", fmt_time(to->first_ts, t));
    if (to->client_port == cs->client_port && to->server_port == cs->server_port)
        return; /* the index goes by the ends only */
    /* its place in the array kept (the report's order); in the index under
     * its new ends (a bucket's order is the array's: a rename is rare and
     * two entries of the same ends and first packet rarer, so it goes last) */
    struct detail_index *x = index_of(a);
    char buf[ENDS_KEY_LEN];
    struct mstate_detail_head h;
    JsonParser *scratch = NULL; /* n is an object here (find_entry() unpacks): never parsed */
    mstate_detail_head(n, &h, &scratch);
    const char *key = entry_key(buf, &h);
    GPtrArray *same = key ? g_hash_table_lookup(x->by_ends, key) : NULL;
    if (same)
        g_ptr_array_remove(same, n); /* the bucket's reference (the array keeps its own) */
    json_object_set_int_member(o, swapped ? "server_port" : "client_port", to->client_port);
    json_object_set_int_member(o, swapped ? "client_port" : "server_port", to->server_port);
    mstate_detail_head(n, &h, &scratch);
    key = entry_key(buf, &h);
    if (scratch)
        g_object_unref(scratch);
    if (!key)
        return;
    same = g_hash_table_lookup(x->by_ends, key);
    if (!same) {
        same = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
        g_hash_table_insert(x->by_ends, g_strdup(key), same);
    }
    g_ptr_array_add(same, json_node_ref(n));
}

JsonObject *mstate_detail_entry(struct analysis *a, const struct conn_summary *cs)
{
    bool swapped;
    JsonNode *n = find_entry(a, cs, &swapped);
    return n ? json_node_get_object(n) : NULL;
}

void mstate_detail_set_end(struct analysis *a, const struct conn_summary *cs, const char *reason)
{
    bool swapped;
    JsonNode *n = find_entry(a, cs, &swapped);
    if (!n) {
        struct smb_conn *s = mstate_detail_conn(a, cs);
        if (s)
            s->close_reason = reason;
        return;
    }
    JsonObject *st = jget_member_obj(json_node_get_object(n), "stream");
    if (st)
        json_object_set_string_member(st, "end", reason);
}

/* c2s and s2c packets more in an entry's stream (swapped: its client is the
 * summary's server). */
static void add_stream_packets(JsonObject *st, bool swapped, uint64_t c2s, uint64_t s2c)
{
    const char *k[2] = { swapped ? "packets_s2c" : "packets_c2s", swapped ? "packets_c2s" : "packets_s2c" };
    const uint64_t add[2] = { c2s, s2c };
    for (int d = 0; d < 2; d++)
        json_object_set_int_member(st, k[d], mstate_sum(json_object_get_int_member_with_default(st, k[d], 0),
                                                        mstate_clamp(add[d])));
}


void mstate_detail_tail(struct analysis *a, const struct conn_summary *early, const struct conn_summary *joined,
                        uint64_t c2s, uint64_t s2c, const uint64_t *bytes)
{
    bool swapped = false;
    JsonNode *n = find_entry(a, early, &swapped);
    if (!n) {
        struct smb_conn *s = mstate_detail_conn(a, early); /* --jobs: kept in memory */
        if (s) {
            s->last_ts = joined->last_ts;
            s->packets[s->client] += c2s;
            s->packets[!s->client] += s2c;
            s->close_reason = static_reason(joined->close_reason);
            for (int d = 0; bytes && d < 2; d++)
                s->bytes[d == 0 ? s->client : !s->client] += bytes[d];
        }
        return; /* or counted, not detailed */
    }
    JsonObject *o = json_node_get_object(n);
    char t[FMT_TIME_LEN];
    json_object_set_string_member(o, "last_seen", fmt_time(joined->last_ts, t));
    JsonObject *st = jget_member_obj(o, "stream");
    if (!st)
        return;
    add_stream_packets(st, swapped, c2s, s2c);
    json_object_set_string_member(st, "end", joined->close_reason);
    const char *kb[2] = { swapped ? "bytes_s2c" : "bytes_c2s", swapped ? "bytes_c2s" : "bytes_s2c" };
    for (int d = 0; bytes && d < 2; d++)
        mstate_add_int(st, kb[d], bytes[d]);
}

void mstate_detail_restart(struct analysis *a, const struct conn_summary *cs, int64_t first_ts, uint64_t c2s,
                           uint64_t s2c)
{
    bool swapped = false;
    JsonNode *n = find_entry(a, cs, &swapped);
    if (!n) {
        struct smb_conn *s = mstate_detail_conn(a, cs); /* --jobs: kept in memory */
        if (s) {
            s->first_ts = first_ts;
            s->packets[s->client] += c2s;
            s->packets[!s->client] += s2c;
        }
        return;
    }
    JsonObject *o = json_node_get_object(n);
    char t[FMT_TIME_LEN];
    json_object_set_string_member(o, "first_seen", fmt_time(first_ts, t));
    JsonObject *st = jget_member_obj(o, "stream");
    if (!st)
        return;
    add_stream_packets(st, swapped, c2s, s2c);
}

/* Members a join reads, by the JSON type the writer gives them (client and
 * server: the entry's own ends are strings, capabilities' are arrays). */
static const struct {
    const char *name;
    JsonNodeType node;
    GType value; /* G_TYPE_INVALID: not a value */
    bool top_only;
} entry_members[] = {
    { "bytes_c2s", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "bytes_s2c", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "packets_c2s", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "packets_s2c", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "signed_pdus", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "encrypted_pdus", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "compressed_pdus", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "unseen_sessions_folded_pdus", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "client_hellos", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "zero_rtt_packets", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "fragmented_messages", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "sends", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "sends_dropped", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "data_messages", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "invalid_messages", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "gaps", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "gap_bytes", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "framing_anomalies", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "streams", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "message", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "client_port", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "server_port", JSON_NODE_VALUE, G_TYPE_INT64, false },
    { "session_id", JSON_NODE_VALUE, G_TYPE_STRING, false },
    { "first_seen", JSON_NODE_VALUE, G_TYPE_STRING, false },
    { "last_seen", JSON_NODE_VALUE, G_TYPE_STRING, false },
    { "path", JSON_NODE_VALUE, G_TYPE_STRING, false },
    { "client_rule", JSON_NODE_VALUE, G_TYPE_STRING, false },
    { "end", JSON_NODE_VALUE, G_TYPE_STRING, false },
    { "answered", JSON_NODE_VALUE, G_TYPE_BOOLEAN, false },
    { "encrypted", JSON_NODE_VALUE, G_TYPE_BOOLEAN, false },
    { "midstream", JSON_NODE_VALUE, G_TYPE_BOOLEAN, false },
    { "signed", JSON_NODE_VALUE, G_TYPE_BOOLEAN, false },
    { "client", JSON_NODE_VALUE, G_TYPE_STRING, true },
    { "server", JSON_NODE_VALUE, G_TYPE_STRING, true },
};

static bool member_typed(const char *name, JsonNode *n, bool top)
{
    for (size_t i = 0; i < G_N_ELEMENTS(entry_members); i++) {
        if (strcmp(entry_members[i].name, name) != 0 || (entry_members[i].top_only && !top))
            continue;
        if (JSON_NODE_TYPE(n) == JSON_NODE_NULL) /* "none yet": read as absent */
            return true;
        return JSON_NODE_TYPE(n) == entry_members[i].node &&
               (entry_members[i].value == G_TYPE_INVALID || json_node_get_value_type(n) == entry_members[i].value);
    }
    return true;
}

static const char *entry_walk(JsonNode *n, bool top)
{
    switch (JSON_NODE_TYPE(n)) {
    case JSON_NODE_OBJECT: {
        JsonObject *o = json_node_get_object(n);
        GList *names = json_object_get_members(o);
        const char *why = NULL;
        for (GList *k = names; k && !why; k = k->next) {
            JsonNode *m = json_object_get_member(o, k->data);
            why = member_typed(k->data, m, top) ? entry_walk(m, false)
                                                : "connections[]: a member of another type than smbscope writes";
        }
        g_list_free(names);
        return why;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *arr = json_node_get_array(n);
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            const char *why = entry_walk(json_array_get_element(arr, i), false);
            if (why)
                return why;
        }
        return NULL;
    }
    case JSON_NODE_VALUE:
        if (json_node_get_value_type(n) == G_TYPE_DOUBLE)
            return "connections[]: a number that is not an integer";
        if (json_node_get_value_type(n) == G_TYPE_INT64 &&
            (json_node_get_int(n) < 0 || json_node_get_int(n) > MSTATE_COUNT_MAX))
            return "connections[]: a number out of range (0 .. 2^62)";
        return NULL;
    default:
        return NULL;
    }
}

const char *mstate_detail_entry_check(JsonNode *e) { return entry_walk(e, true); }
