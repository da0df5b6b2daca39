/* mstate_syn_starts.c - see mstate_syn_starts.h. */
#include "mstate_syn_starts.h"

#include <string.h>

#include "conn_groups.h"
#include "distinct.h"
#include "hash_mix.h"
#include "mstate_detail.h"
#include "mstate_edges.h"
#include "mstate_ends_ix.h"
#include "mstate_group_order.h"
#include "mstate_groups_past.h"
#include "mstate_join_fin.h"
#include "mstate_join_nbss.h"
#include "mstate_join_syn.h"
#include "mstate_xchg.h"
#include "mstate_put.h"
#include "mstate_syn_rows.h"
#include "smb_hosts.h"

/* A row's host end: not the host's latest start in its run, or the latest
 * with no other start of the host there. */
#define SS_NOT_LATEST (-1)
#define SS_NO_OTHER (-2)

struct syn_start {
    struct conn_summary cs;
    int64_t isn;      /* -1: it did not begin with the client's SYN */
    uint8_t level;    /* where its run put its group (conn_groups.h) */
    int64_t excl[2];  /* client, server: SS_NOT_LATEST, SS_NO_OTHER or the host's last start without it */
    bool lowered[2];  /* merge: its host end folded without its start (mstate_fold_syn_starts) */
    bool joined;      /* merge: its SYN continued another part's syn flow */
    int64_t early_ts; /* then that flow's first packet */
    int64_t run;      /* merge: its state's run (first packet; INT64_MIN: none), where its group was noted */
};

struct syn_starts {
    GArray *rows;          /* struct syn_start */
    GArray *heap;          /* a run: struct heap_key of rows, a max-heap by first_ts */
    GArray *untils;        /* merge: each state's until (int64_t), where its rows stop */
    int64_t until;         /* every connection closed that began before this is a row */
    GHashTable *host_excl; /* merge, while a state's hosts are read: address -> struct host_excl */
    GArray *deferred;      /* merge: struct deferred_host, hosts whose only start in their run was a row's */
};

struct host_excl {
    int64_t last; /* the host's last start in its run without the row's; INT64_MIN: none */
    guint row;
};

struct deferred_host {
    struct host_rec rec;
    struct smb_host x;
    guint row;
};

static int64_t half_open_us(void)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    return lim.idle_half_open_us;
}

static struct syn_starts *get(struct analysis *a)
{
    if (!a->syn_starts) {
        a->syn_starts = g_new0(struct syn_starts, 1);
        a->syn_starts->rows = g_array_new(FALSE, TRUE, sizeof(struct syn_start));
        a->syn_starts->until = INT64_MAX;
    }
    return a->syn_starts;
}

void syn_starts_free(struct analysis *a)
{
    struct syn_starts *s = a->syn_starts;
    if (!s)
        return;
    g_array_free(s->rows, TRUE);
    if (s->heap)
        g_array_free(s->heap, TRUE);
    if (s->untils)
        g_array_free(s->untils, TRUE);
    if (s->host_excl)
        g_hash_table_destroy(s->host_excl);
    if (s->deferred)
        g_array_free(s->deferred, TRUE);
    g_free(s);
    a->syn_starts = NULL;
}

/* ---- a run: the earliest SYN_STARTS_KEPT, a max-heap by first_ts ------- */

#define AT(h, i) (&g_array_index((h), struct syn_start, (i)))

/* The heap holds each row's first packet and place (a row is 250 bytes:
 * rows arriving in time order each rose to the top, a dozen swaps of
 * whole rows apiece at 4,096 of them). */
struct heap_key {
    int64_t ts;
    guint slot; /* in rows */
};

#define KEY(h, i) (&g_array_index((h), struct heap_key, (i)))

static void swap(GArray *h, guint i, guint j)
{
    struct heap_key t = *KEY(h, i);
    *KEY(h, i) = *KEY(h, j);
    *KEY(h, j) = t;
}

static void sift_up(GArray *h, guint i)
{
    while (i > 0 && KEY(h, (i - 1) / 2)->ts < KEY(h, i)->ts) {
        swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(GArray *h, guint i)
{
    for (;;) {
        guint l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->len && KEY(h, l)->ts > KEY(h, m)->ts)
            m = l;
        if (r < h->len && KEY(h, r)->ts > KEY(h, m)->ts)
            m = r;
        if (m == i)
            return;
        swap(h, i, m);
        i = m;
    }
}

static void heap_put(struct syn_starts *s, const struct syn_start *row)
{
    if (!s->heap)
        s->heap = g_array_new(FALSE, FALSE, sizeof(struct heap_key));
    GArray *h = s->heap;
    if (h->len < SYN_STARTS_KEPT) {
        struct heap_key k = { row->cs.first_ts, s->rows->len };
        g_array_append_val(s->rows, *row);
        g_array_append_val(h, k);
        sift_up(h, h->len - 1);
        return;
    }
    /* full: the latest goes, and with it every later start */
    if (row->cs.first_ts >= KEY(h, 0)->ts) {
        s->until = row->cs.first_ts;
        return;
    }
    s->until = KEY(h, 0)->ts;
    *AT(s->rows, KEY(h, 0)->slot) = *row;
    KEY(h, 0)->ts = row->cs.first_ts;
    sift_down(h, 0);
}

static uint8_t level_of(const struct conn_groups *g, const struct conn_summary *cs)
{
    struct conn_group_key k;
    for (int l = CONN_GROUP_FULL; l < CONN_GROUP_OTHER; l++) {
        conn_group_key_of(&k, cs, (enum conn_group_level)l);
        if (conn_groups_has(g, &k))
            return (uint8_t)l;
    }
    return CONN_GROUP_OTHER;
}

int64_t syn_start_isn(const struct flow_conn *c)
{
    return c && !c->midstream && !c->initiator_guessed && c->isn_known[0] ? (int64_t)c->isn[0] : -1;
}

void syn_start_note(struct analysis *a, const struct conn_summary *cs, int64_t isn, int64_t run_first_ts)
{
    if (a->live_run || a->merged_parts || ts_diff(cs->first_ts, run_first_ts) > half_open_us())
        return;
    struct syn_starts *s = get(a);
    if (cs->first_ts >= s->until)
        return;
    if (s->heap && s->heap->len >= SYN_STARTS_KEPT && cs->first_ts >= KEY(s->heap, 0)->ts) {
        s->until = cs->first_ts; /* what heap_put() does with it: before its row is made */
        return;
    }
    struct syn_start row;
    memset(&row, 0, sizeof row);
    row.cs = *cs;
    row.isn = isn;
    row.level = level_of(a->groups, cs);
    row.excl[0] = row.excl[1] = SS_NOT_LATEST; /* host_ends() says, when the state is written */
    heap_put(s, &row);
}

void syn_starts_fold_mem(struct analysis *dst, const struct analysis *src)
{
    const struct syn_starts *from = src->syn_starts;
    if (!from)
        return;
    struct syn_starts *s = get(dst);
    if (from->until < s->until)
        s->until = from->until;
    for (guint i = 0; i < from->rows->len; i++)
        if (AT(from->rows, i)->cs.first_ts < s->until)
            heap_put(s, AT(from->rows, i));
}

/* ---- the state ----------------------------------------------------------- */

static gint by_first(gconstpointer pa, gconstpointer pb)
{
    const struct syn_start *x = pa, *y = pb;
    if (x->cs.first_ts != y->cs.first_ts)
        return x->cs.first_ts < y->cs.first_ts ? -1 : 1;
    return memcmp(&x->cs.client, &y->cs.client, sizeof x->cs.client);
}

static gint by_first_ptr(gconstpointer pa, gconstpointer pb)
{
    return by_first(*(const struct syn_start *const *)pa, *(const struct syn_start *const *)pb);
}

/* Per host address, the two latest starts and the row of the latest: a
 * table keyed by the address in a row (rows stay put while it lives),
 * its values in one array (a GBytes key and a value allocated apiece cost
 * a fifth of writing 4,096 rows). */
struct top {
    int64_t t0, t1, row;
};

struct tops {
    GHashTable *idx; /* const struct ip_addr * -> its place in v + 1 */
    GArray *v;       /* struct top */
};

/* Addresses are the reports' too: keyed by the process's random number
 * (distinct.h), finished by hash_spread(). */
static guint addr_hash(gconstpointer p)
{
    const struct ip_addr *a = p;
    uint64_t w[2];
    memcpy(w, a->bytes, sizeof w);
    uint64_t k = distinct_process_key();
    uint64_t h = (k | 1) * (w[0] ^ a->family) + ((k >> 1) | 1) * w[1] + k;
    return (guint)(hash_spread(h) >> 32);
}

static gboolean addr_equal(gconstpointer a, gconstpointer b)
{
    const struct ip_addr *x = a, *y = b;
    return x->family == y->family && memcmp(x->bytes, y->bytes, sizeof x->bytes) == 0;
}

static void tops_init(struct tops *t, guint rows)
{
    t->idx = g_hash_table_new(addr_hash, addr_equal);
    t->v = g_array_sized_new(FALSE, FALSE, sizeof(struct top), 2 * rows);
}

static void tops_free(struct tops *t)
{
    g_hash_table_destroy(t->idx);
    g_array_free(t->v, TRUE);
}

static void top_put(struct tops *tt, const struct ip_addr *h, int64_t ts, guint row)
{
    guint at = GPOINTER_TO_UINT(g_hash_table_lookup(tt->idx, h));
    if (!at) {
        struct top n = { INT64_MIN, INT64_MIN, -1 };
        g_array_append_val(tt->v, n);
        at = tt->v->len;
        union { const struct ip_addr *c; gpointer p; } key = { h }; /* the table only reads it */
        g_hash_table_insert(tt->idx, key.p, GUINT_TO_POINTER(at));
    }
    struct top *t = &g_array_index(tt->v, struct top, at - 1);
    if (t->row == (int64_t)row)
        return; /* a connection of a host with itself */
    if (ts >= t->t0) {
        t->t1 = t->t0;
        t->t0 = ts;
        t->row = row;
    } else if (ts > t->t1) {
        t->t1 = ts;
    }
}

/* The latest start of h without row's (INT64_MIN: none). */
static int64_t top_without(const struct tops *tt, const struct ip_addr *h, guint row)
{
    guint at = GPOINTER_TO_UINT(g_hash_table_lookup(tt->idx, h));
    if (!at)
        return INT64_MIN;
    const struct top *t = &g_array_index(tt->v, struct top, at - 1);
    return t->row == (int64_t)row ? t->t1 : t->t0;
}

/* Each row's host ends (a run): the latest start of its host, and then the
 * host's last start without it.  Every other connection of that host the
 * state's hosts hold began before the row, inside the window: a row too. */
static void host_ends(const struct analysis *a, GArray *rows)
{
    const struct smb_hosts *hosts = a->core_hosts ? a->core_hosts : a->smb_hosts;
    struct tops top;
    tops_init(&top, rows->len);
    for (guint i = 0; i < rows->len; i++) {
        const struct syn_start *r = AT(rows, i);
        for (int d = 0; d < 2; d++)
            top_put(&top, d ? &r->cs.server : &r->cs.client, r->cs.first_ts, i);
    }
    for (guint i = 0; i < rows->len; i++) {
        struct syn_start *r = AT(rows, i);
        for (int d = 0; d < 2; d++) {
            const struct ip_addr *h = d ? &r->cs.server : &r->cs.client;
            int64_t at = smb_hosts_find(hosts, h);
            const struct host_rec *rec = NULL;
            if (at >= 0)
                smb_hosts_at(hosts, (uint32_t)at, &rec);
            int64_t without = top_without(&top, h, i);
            if (!rec || rec->last_seen != r->cs.first_ts || without > r->cs.first_ts)
                r->excl[d] = SS_NOT_LATEST;
            else
                r->excl[d] = without == INT64_MIN ? SS_NO_OTHER : without;
        }
    }
    tops_free(&top);
}

enum { SR_ISN, SR_LEVEL, SR_EXCL0, SR_EXCL1, SR_CONN, SR_N };

void mstate_build_syn_starts(struct json *b, const struct analysis *a)
{
    const struct syn_starts *s = a->syn_starts;
    if ((!s || (!s->rows->len && s->until == INT64_MAX)) && !a->state_folded.syn_starts)
        return; /* nothing: the state as before */
    struct syn_starts none = { .until = INT64_MAX }; /* a merge whose rows were all joined: the count alone */
    if (!s) {
        none.rows = g_array_new(FALSE, TRUE, sizeof(struct syn_start));
        s = &none;
    }
    /* sorted as pointers (a row is 250 bytes: sorting them moved each a
     * dozen times), then copied in that order */
    GPtrArray *order = g_ptr_array_sized_new(s->rows->len);
    for (guint i = 0; i < s->rows->len; i++) {
        const struct syn_start *r = AT(s->rows, i);
        if (a->merged_parts || ts_diff(r->cs.first_ts, a->first_ts) <= half_open_us()) {
            union { const struct syn_start *c; gpointer p; } u = { r }; /* only read */
            g_ptr_array_add(order, u.p);
        }
    }
    g_ptr_array_sort(order, by_first_ptr);
    GArray *rows = g_array_sized_new(FALSE, TRUE, sizeof(struct syn_start), order->len);
    for (guint i = 0; i < order->len; i++)
        g_array_append_val(rows, *(const struct syn_start *)g_ptr_array_index(order, i));
    g_ptr_array_free(order, TRUE);
    if (!a->merged_parts)
        host_ends(a, rows);
    /* the first SYN_STARTS_MAX as JSON, "until" their bound (what an older
     * smbscope reads); the rest compactly, "until_more" the bound of all */
    guint json_n = rows->len < SYN_STARTS_MAX ? rows->len : SYN_STARTS_MAX;
    int64_t until = json_n < rows->len ? AT(rows, json_n)->cs.first_ts : s->until;
    json_key(b, "syn_starts");
    json_begin_object(b);
    json_key(b, "until");
    json_int(b, until == INT64_MAX ? -1 : until);
    if (a->state_folded.syn_starts)
        kint(b, "folded", a->state_folded.syn_starts); /* stats.merged.state_folded.syn_starts */
    if (json_n < rows->len) {
        json_key(b, "until_more");
        json_int(b, s->until == INT64_MAX ? -1 : s->until);
        struct syn_rows_put *zp = syn_rows_put_begin(b, "rows_more", rows->len - json_n);
        for (guint i = json_n; i < rows->len; i++) {
            const struct syn_start *r = AT(rows, i);
            const struct syn_row_rec rec = { r->cs, r->isn, r->level, { r->excl[0], r->excl[1] } };
            syn_rows_put_one(zp, &rec);
        }
        syn_rows_put_end(zp, b);
    }
    json_key(b, "rows");
    json_begin_array(b);
    for (guint i = 0; i < json_n; i++) {
        const struct syn_start *r = AT(rows, i);
        json_begin_array(b);
        json_int(b, r->isn);
        vint(b, r->level);
        json_int(b, r->excl[0]);
        json_int(b, r->excl[1]);
        mstate_edge_put(b, &r->cs);
        json_end_array(b);
    }
    json_end_array(b);
    json_end_object(b);
    g_array_free(rows, TRUE);
    if (s == &none)
        g_array_free(none.rows, TRUE);
}

static int64_t excl_of(struct jget *g, const struct jpath *ip, JsonArray *e, guint i)
{
    int64_t v = jget_elem_i64(g, ip, e, i);
    if (!g->failed && v < SS_NO_OTHER)
        jget_fail(g, ip, "a host's last start out of range");
    return v;
}

/* Merge: a state's rows go to a, of that state's run. */
struct row_to {
    struct analysis *a;
    int64_t run;
};

/* A state's row, its hosts' last starts noted (merge).  Its level is where
 * merge holds its connection: the state's groups without a server are read
 * from its groups_past (mstate_groups_past.h). */
static void add_row(const struct row_to *to, struct syn_start *r)
{
    struct syn_starts *s = to->a->syn_starts;
    if (s->rows->len >= SYN_STARTS_MERGE_MAX)
        return; /* a bound for merge itself: not joined, its hosts folded as written */
    r->level = groups_past_level(to->a, &r->cs, r->level);
    r->run = to->run;
    for (int d = 0; d < 2; d++)
        r->lowered[d] = r->excl[d] != SS_NOT_LATEST;
    g_array_append_val(s->rows, *r);
    for (int d = 0; d < 2; d++) {
        if (r->excl[d] == SS_NOT_LATEST)
            continue;
        const struct ip_addr *h = d ? &r->cs.server : &r->cs.client;
        struct host_excl *v = g_new(struct host_excl, 1);
        v->last = r->excl[d] == SS_NO_OTHER ? INT64_MIN : r->excl[d];
        v->row = s->rows->len - 1;
        g_hash_table_replace(s->host_excl, g_bytes_new(h, sizeof *h), v);
    }
}

static void row_more(void *ctx, const struct syn_row_rec *rec)
{
    struct syn_start r;
    memset(&r, 0, sizeof r);
    r.cs = rec->cs;
    r.isn = rec->isn;
    r.level = rec->level;
    r.excl[0] = rec->excl[0];
    r.excl[1] = rec->excl[1];
    add_row(ctx, &r);
}

static void fold_rows(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    if (!json_object_has_member(st, "syn_starts"))
        return; /* written before they were carried, or none */
    struct jpath sp, ap, ip;
    jpath_key(&sp, p, "syn_starts");
    JsonObject *o = jget_obj(g, p, st, "syn_starts");
    int64_t until = o ? jget_i64(g, &sp, o, "until") : -1;
    if (!g->failed && until < -1)
        jget_fail(g, &sp, "until: not a time");
    if (o && json_object_has_member(o, "rows_more")) { /* the bound of the rows there too */
        until = jget_i64(g, &sp, o, "until_more");
        if (!g->failed && until < -1)
            jget_fail(g, &sp, "until_more: not a time");
    }
    if (o && json_object_has_member(o, "folded"))
        a->state_folded.syn_starts += jget_u64(g, &sp, o, "folded", INT64_MAX);
    jpath_key(&ap, &sp, "rows");
    JsonArray *arr = o ? jget_arr(g, &sp, o, "rows", 16 * SYN_STARTS_MAX) : NULL;
    if (g->failed)
        return;
    struct syn_starts *s = get(a);
    if (until >= 0 && until < s->until)
        s->until = until;
    if (until >= 0) { /* each state's own: the earliest of them says nothing of a later part's rows */
        if (!s->untils)
            s->untils = g_array_new(FALSE, FALSE, sizeof(int64_t));
        g_array_append_val(s->untils, until);
    }
    if (!s->host_excl)
        s->host_excl = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, g_free);
    struct jpath rp;
    jpath_key(&rp, p, "run");
    JsonObject *run = json_object_has_member(st, "run") ? jget_obj(g, p, st, "run") : NULL;
    struct row_to to = { a, run ? jget_ts_or_none(g, &rp, run, "first_ts") : INT64_MIN };
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonArray *e = jget_node_arr(json_array_get_element(arr, i));
        if (!e || json_array_get_length(e) != SR_N) {
            jget_fail(g, &ip, "not [isn, level, last start, last start, connection]");
            return;
        }
        struct syn_start r;
        memset(&r, 0, sizeof r);
        r.isn = jget_elem_i64(g, &ip, e, SR_ISN);
        if (!g->failed && (r.isn < -1 || r.isn > UINT32_MAX))
            jget_fail(g, &ip, "an ISN out of range");
        r.level = (uint8_t)jget_elem_u64(g, &ip, e, SR_LEVEL, CONN_GROUP_OTHER);
        r.excl[0] = excl_of(g, &ip, e, SR_EXCL0);
        r.excl[1] = excl_of(g, &ip, e, SR_EXCL1);
        struct jpath cp;
        jpath_index(&cp, &ip, SR_CONN);
        mstate_edge_read(g, &cp, jget_node_arr(json_array_get_element(e, SR_CONN)), &r.cs);
        if (g->failed)
            return;
        add_row(&to, &r);
    }
    syn_rows_read(g, &sp, o, "rows_more", SYN_STARTS_MERGE_MAX, row_more, &to); /* a merged state's: all it held */
}

void mstate_fold_syn_starts(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    fold_rows(g, p, a, st);
    groups_past_state_done(a); /* its groups_past's rows were this state's */
}

bool syn_starts_host_fold(struct analysis *a, struct host_rec *rec, const struct smb_host *x)
{
    if (!a->syn_starts || !a->syn_starts->host_excl)
        return false;
    GBytes *k = g_bytes_new_static(&rec->addr, sizeof rec->addr);
    const struct host_excl *v = g_hash_table_lookup(a->syn_starts->host_excl, k);
    g_bytes_unref(k);
    if (!v)
        return false;
    if (v->last != INT64_MIN) {
        rec->last_seen = v->last; /* the row's start comes back in mstate_syn_starts_join() */
        return false;
    }
    /* its times are the row's start alone: folded when the join knows it */
    struct syn_starts *s = a->syn_starts;
    if (!s->deferred)
        s->deferred = g_array_new(FALSE, TRUE, sizeof(struct deferred_host));
    struct deferred_host d = { *rec, *x, v->row };
    g_array_append_val(s->deferred, d);
    return true;
}

void syn_starts_hosts_done(struct analysis *a)
{
    if (a->syn_starts && a->syn_starts->host_excl)
        g_hash_table_remove_all(a->syn_starts->host_excl);
}

/* ---- merge: the joins ---------------------------------------------------- */

/* The unordered pair of ends as one word (either order the same): the
 * joins below walk every edge, syn flow, tail and row for each edge or syn
 * flow, so they first ask a table of these whether anything else has the
 * ends at all (review: 16 cuts of one capture, 4,096 edges and 2,000 syn
 * flows each, took 65 s of CPU, nearly all same_ends()).  A word two pairs
 * share only sends the look-up on to the walk. */
static uint64_t end_word(const struct ip_addr *x, uint16_t p)
{
    struct {
        struct ip_addr a;
        uint16_t p;
    } k;
    memset(&k, 0, sizeof k);
    k.a.family = x->family;
    memcpy(k.a.bytes, x->bytes, sizeof k.a.bytes);
    k.p = p;
    return distinct_hash(&k, sizeof k);
}

static uint64_t ends_word(const struct ip_addr *x0, uint16_t p0, const struct ip_addr *x1, uint16_t p1)
{
    return end_word(x0, p0) + end_word(x1, p1);
}

/* Whether a pair of ends (ends_word()) was put. */
static void ends_put(GHashTable *t, uint64_t w) { g_hash_table_add(t, GSIZE_TO_POINTER((gsize)w)); }

static bool ends_has(GHashTable *t, uint64_t w) { return g_hash_table_contains(t, GSIZE_TO_POINTER((gsize)w)); }

/* What opened_again() weighs of a pair of ends: a row, an edge, a syn
 * flow or a tail, by its ends' word (sorted: each pair's a run). */
struct end_item {
    uint64_t w;
    int64_t first_ts;
    const void *self; /* an edge: itself, not weighed against itself */
    struct ip_addr x0, x1;
    uint16_t p0, p1;
    bool opens;
};

static void item_put(GArray *items, const struct ip_addr *x0, uint16_t p0, const struct ip_addr *x1, uint16_t p1,
                     int64_t first_ts, bool opens, const void *self)
{
    struct end_item it = { ends_word(x0, p0, x1, p1), first_ts, self, *x0, *x1, p0, p1, opens };
    g_array_append_val(items, it);
}

static gint by_word(gconstpointer pa, gconstpointer pb)
{
    const struct end_item *a = pa, *b = pb;
    return (a->w > b->w) - (a->w < b->w);
}

/* The first item of word w in items (sorted), or items->len. */
static guint items_from(const GArray *items, uint64_t w)
{
    guint lo = 0, hi = items->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(items, struct end_item, mid).w < w)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool same_ends(const struct ip_addr *x0, uint16_t p0, const struct ip_addr *x1, uint16_t p1,
                      const struct conn_summary *cs)
{
    return (mstate_same_end(x0, p0, &cs->client, cs->client_port) && mstate_same_end(x1, p1, &cs->server, cs->server_port)) ||
           (mstate_same_end(x0, p0, &cs->server, cs->server_port) && mstate_same_end(x1, p1, &cs->client, cs->client_port));
}

/* Whether anything of those ends other than self (an edge or syn flow)
 * and row `skip` (edges, tails, syn flows, rows) begins in [from, to): then
 * row `skip` is not the next thing the run over the parts saw of them. */
static bool seen_between(const struct analysis *a, const struct ip_addr *x0, uint16_t p0, const struct ip_addr *x1,
                         uint16_t p1, int64_t from, int64_t to, const void *self, const void *self2, guint skip)
{
    for (guint i = 0; a->edges && i < a->edges->len; i++) {
        const struct conn_summary *e = &g_array_index(a->edges, struct conn_summary, i);
        if ((const void *)e != self && (const void *)e != self2 && e->first_ts >= from && e->first_ts < to && same_ends(x0, p0, x1, p1, e))
            return true;
    }
    for (guint i = 0; a->tails && i < a->tails->len; i++) {
        const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
        if (t->first_ts >= from && t->first_ts < to &&
            ((mstate_same_end(x0, p0, &t->addr[0], t->port[0]) && mstate_same_end(x1, p1, &t->addr[1], t->port[1])) ||
             (mstate_same_end(x0, p0, &t->addr[1], t->port[1]) && mstate_same_end(x1, p1, &t->addr[0], t->port[0]))))
            return true;
    }
    for (guint i = 0; a->syn_flows && i < a->syn_flows->len; i++) {
        const struct syn_flow *f = &g_array_index(a->syn_flows, struct syn_flow, i);
        if ((const void *)f != self && (const void *)f != self2 && f->first_ts >= from && f->first_ts < to &&
            ((mstate_same_end(x0, p0, &f->addr[0], f->port[0]) && mstate_same_end(x1, p1, &f->addr[1], f->port[1])) ||
             (mstate_same_end(x0, p0, &f->addr[1], f->port[1]) && mstate_same_end(x1, p1, &f->addr[0], f->port[0]))))
            return true;
    }
    for (guint i = 0; i < a->syn_starts->rows->len; i++) {
        const struct syn_start *r = AT(a->syn_starts->rows, i);
        if (i != skip && r->cs.first_ts >= from && r->cs.first_ts < to && same_ends(x0, p0, x1, p1, &r->cs))
            return true;
    }
    return false;
}

static int64_t idle_us(bool established)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    return established ? lim.idle_established_us : lim.idle_half_open_us;
}

/* The rows' places by their ends (mstate_ends_ix.h): next_row() walks
 * only those of its ends (it walked every row for each syn flow). */
static struct mstate_ends_ix *rows_index(const GArray *rows)
{
    struct mstate_ends_ix *ix = mstate_ends_ix_new(rows);
    for (guint i = 0; i < rows->len; i++) {
        const struct syn_start *r = AT(rows, i);
        mstate_ends_ix_put(ix, mstate_ends_word(&r->cs.client, r->cs.client_port, &r->cs.server, r->cs.server_port, 0), i);
    }
    return ix;
}

/* The earliest row of cs's ends (either order) beginning in [from, from +
 * idle]: G_MAXUINT when none (the first in the rows' order of a time). */
static guint next_row(const struct analysis *a, const struct mstate_ends_ix *ix, const struct ip_addr *x0,
                      uint16_t p0, const struct ip_addr *x1, uint16_t p1, int64_t from, int64_t idle)
{
    guint best = G_MAXUINT;
    struct mstate_ends_it it;
    for (guint i = mstate_ends_ix_first(ix, mstate_ends_word(x0, p0, x1, p1, 0), &it); i != G_MAXUINT;
         i = mstate_ends_ix_next(ix, &it)) {
        const struct syn_start *r = AT(a->syn_starts->rows, i);
        if (r->joined || r->cs.first_ts < from || ts_diff(r->cs.first_ts, from) > idle ||
            !same_ends(x0, p0, x1, p1, &r->cs))
            continue;
        if (best == G_MAXUINT || r->cs.first_ts < AT(a->syn_starts->rows, best)->cs.first_ts)
            best = i;
    }
    return best;
}

/* The first thing of e's ends a later part began after e's last packet,
 * when it opens a connection again (flow.c, starts_new_conn: a SYN, of
 * the client or of the other side; an edge's ISN is not carried, and a SYN
 * of the same ISN on an SMB connection retransmits nothing): a row, a syn
 * flow, an SMB edge seen from its start.  Its first packet, or -1 (none,
 * or what comes first continues e: a tail, an edge seen from its middle). */
static int64_t opened_again(const GArray *items, const struct conn_summary *e)
{
    int64_t from = e->last_ts, best = INT64_MAX;
    bool opens = false;
    uint64_t w = ends_word(&e->client, e->client_port, &e->server, e->server_port);
    for (guint i = items_from(items, w); i < items->len; i++) {
        const struct end_item *it = &g_array_index(items, struct end_item, i);
        if (it->w != w)
            break;
        if (it->self == e || !same_ends(&it->x0, it->p0, &it->x1, it->p1, e))
            continue;
        /* the earliest; at one time, one that continues e rather than opens */
        if (it->first_ts >= from && (it->first_ts < best || (it->first_ts == best && !it->opens))) {
            best = it->first_ts;
            opens = it->opens;
        }
    }
    return opens ? best : -1;
}

void syn_start_edge_note(struct conn_summary *cs, const struct flow_conn *c)
{
    cs->syn_isn_known = c && cs->carrier == CONN_CARRIER_TCP && !c->midstream && !c->initiator_guessed &&
                        c->isn_known[0] && (cs->flags & CONN_F_START_SEEN);
    cs->syn_isn = cs->syn_isn_known ? c->isn[0] : 0;
}

void mstate_build_edge_isns(struct json *b, const struct analysis *a)
{
    bool any = false;
    for (guint i = 0; a->edges && i < a->edges->len; i++) {
        const struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, i);
        if (!cs->syn_isn_known || (!a->merged_parts && ts_diff(cs->first_ts, a->first_ts) > half_open_us()))
            continue; /* begun past the window: no earlier capture's SYN can be its */
        if (!any) {
            json_key(b, "edge_isns");
            json_begin_array(b);
            any = true;
        }
        json_begin_array(b);
        json_int(b, i);
        json_int(b, cs->syn_isn);
        json_end_array(b);
    }
    if (any)
        json_end_array(b);
}

struct isn_put {
    struct analysis *a;
    guint base;
    bool all; /* every edge of the state folded (else past merge's own bound) */
};

static void edge_isn_put(void *ctx, guint place, uint32_t isn)
{
    struct isn_put *x = ctx;
    if (!x->all)
        return;
    struct conn_summary *cs = &g_array_index(x->a->edges, struct conn_summary, x->base + place);
    cs->syn_isn_known = true;
    cs->syn_isn = isn;
}

void mstate_fold_edge_isns(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint base,
                           guint n)
{
    struct isn_put x = { a, base, a->edges && a->edges->len - base == n }; /* else merge's own bound folded some */
    jget_place_isns(g, p, st, "edge_isns", ANALYSIS_MAX_EDGES, n, "edge", edge_isn_put, &x);
}

static void reuse(struct analysis *a);

/* The first thing of f's ends a later part began after f's last packet,
 * within its idle timeout, when it is an SMB edge that began with f's SYN
 * again: that edge, else NULL. */
static struct conn_summary *edge_again(struct analysis *a, const struct syn_flow *f)
{
    int64_t from = f->last_ts, best = INT64_MAX;
    struct conn_summary *edge = NULL;
    const struct conn_summary ends = { .client = f->addr[0], .server = f->addr[1], .client_port = f->port[0],
                                       .server_port = f->port[1] };
    for (guint i = 0; i < a->edges->len; i++) {
        struct conn_summary *x = &g_array_index(a->edges, struct conn_summary, i);
        if (x->first_ts >= from && x->first_ts < best && x->carrier == CONN_CARRIER_TCP &&
            same_ends(&f->addr[0], f->port[0], &f->addr[1], f->port[1], x)) {
            best = x->first_ts;
            edge = x;
        }
    }
    if (!edge || !edge->syn_isn_known || edge->syn_isn != f->isn || !(edge->flags & CONN_F_START_SEEN) ||
        !mstate_same_end(&f->addr[0], f->port[0], &edge->client, edge->client_port) ||
        ts_diff(edge->first_ts, f->last_ts) > idle_us(f->established) ||
        seen_between(a, &ends.client, ends.client_port, &ends.server, ends.server_port, from, edge->first_ts + 1, edge, f,
                     G_MAXUINT))
        return NULL;
    return edge;
}

void mstate_syn_starts_edges(struct analysis *a)
{
    if (!a->edges || !a->edges->len)
        return;
    get(a);
    GHashTable *edge_ends = g_hash_table_new(g_direct_hash, g_direct_equal); /* the TCP edges' */
    for (guint i = 0; i < a->edges->len; i++) {
        const struct conn_summary *x = &g_array_index(a->edges, struct conn_summary, i);
        if (x->carrier == CONN_CARRIER_TCP)
            ends_put(edge_ends, ends_word(&x->client, x->client_port, &x->server, x->server_port));
    }
    for (guint i = 0; a->syn_flows && i < a->syn_flows->len;) {
        const struct syn_flow *f = &g_array_index(a->syn_flows, struct syn_flow, i);
        struct conn_summary *e =
            strcmp(f->close_reason, "end") == 0 && f->isn_known &&
                    ends_has(edge_ends, ends_word(&f->addr[0], f->port[0], &f->addr[1], f->port[1]))
                ? edge_again(a, f)
                : NULL;
        if (!e) {
            i++;
            continue;
        }
        struct conn_summary before = *e;
        e->first_ts = f->first_ts;
        e->packets += f->packets[0] + f->packets[1];
        /* the records kept by the edge's first packet (as mstate_join_hs.c) */
        mstate_fins_rename(a, &before, e->first_ts);
        mstate_nbss_rename(a, &before, e->first_ts);
        guint x = mstate_xchg_find(a, &before);
        if (x != G_MAXUINT) {
            const struct mstate_xchg *m = g_ptr_array_index(a->edge_xchg, x);
            mstate_xchg_rename(a, x, e->first_ts, m->client_port, m->server_port);
        }
        mstate_detail_restart(a, &before, f->first_ts, f->packets[0], f->packets[1]);
        syn_flow_used(a, f); /* removes f: i now names the next */
    }
    g_hash_table_destroy(edge_ends);
    reuse(a);
}

static void reuse(struct analysis *a)
{
    if (a->edges->len + (a->syn_flows ? a->syn_flows->len : 0) +
                         (a->syn_starts ? a->syn_starts->rows->len : 0) < 2)
        return; /* an edge and something else of its ends at least */
    get(a);
    /* what opened_again() weighs, each pair of ends a run of its own: one
     * walk of its own items per edge, not of everything */
    GArray *items = g_array_new(FALSE, FALSE, sizeof(struct end_item));
    for (guint i = 0; i < a->syn_starts->rows->len; i++) {
        const struct syn_start *r = AT(a->syn_starts->rows, i);
        item_put(items, &r->cs.client, r->cs.client_port, &r->cs.server, r->cs.server_port, r->cs.first_ts, r->isn >= 0,
                 NULL);
    }
    for (guint i = 0; i < a->edges->len; i++) {
        const struct conn_summary *x = &g_array_index(a->edges, struct conn_summary, i);
        if (x->carrier == CONN_CARRIER_TCP)
            item_put(items, &x->client, x->client_port, &x->server, x->server_port, x->first_ts,
                     (x->flags & CONN_F_START_SEEN) != 0, x);
    }
    for (guint i = 0; a->syn_flows && i < a->syn_flows->len; i++) {
        const struct syn_flow *f = &g_array_index(a->syn_flows, struct syn_flow, i);
        item_put(items, &f->addr[0], f->port[0], &f->addr[1], f->port[1], f->first_ts, f->isn_known, NULL);
    }
    for (guint i = 0; a->tails && i < a->tails->len; i++) {
        const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
        item_put(items, &t->addr[0], t->port[0], &t->addr[1], t->port[1], t->first_ts, false, NULL);
    }
    g_array_sort(items, by_word);
    for (guint i = 0; i < a->edges->len; i++) {
        struct conn_summary *e = &g_array_index(a->edges, struct conn_summary, i);
        if (e->carrier != CONN_CARRIER_TCP || strcmp(e->close_reason, "end") != 0)
            continue;
        int64_t at = opened_again(items, e);
        if (at < 0 || ts_diff(at, e->last_ts) > idle_us(!e->half_open))
            continue;
        g_strlcpy(e->close_reason, "reused", sizeof e->close_reason);
        mstate_detail_set_end(a, e, "reused");
    }
    g_array_free(items, TRUE);
}

/* Row r's connection began with f's first SYN: its group, hosts, entry. */
static void restart(struct analysis *a, struct syn_start *r, const struct syn_flow *f)
{
    struct conn_group_key k;
    /* the group merge holds it in: its level, or the first lower one the
     * table holds (conn_groups_restart() looks the same way) */
    for (int l = r->level < CONN_GROUP_OTHER ? r->level : CONN_GROUP_OTHER;; l++) {
        conn_group_key_of(&k, &r->cs, (enum conn_group_level)l);
        if (l == CONN_GROUP_OTHER || conn_groups_has(a->groups, &k))
            break;
    }
    uint64_t more = f->packets[0] + f->packets[1];
    if (k.level != CONN_GROUP_FULL) {
        /* its run folded it: the run over the parts may give it both
         * addresses (begun earlier, it may close earlier there) */
        struct conn_summary whole = r->cs;
        whole.first_ts = f->first_ts;
        whole.packets += more;
        if (mstate_group_order_unfold(a, &k, &whole))
            goto detail;
    }
    /* one run over the parts closes it where its part did, begun earlier */
    mstate_group_order_restart(a, &k, r->run, f->first_ts);
    const struct conn_group_example was = { r->cs.client,        r->cs.server,   r->cs.client_port, r->cs.server_port,
                                            r->cs.ntlm_sessions, r->cs.first_ts, r->cs.last_ts,     r->cs.packets };
    conn_groups_restart(a->groups, &k, &was, f->first_ts, more);
detail:;
    /* the client of the row is f's initiator (same_ends: the SYN's sender) */
    bool fwd = mstate_same_end(&f->addr[0], f->port[0], &r->cs.client, r->cs.client_port);
    mstate_detail_restart(a, &r->cs, f->first_ts, f->packets[fwd ? 0 : 1], f->packets[fwd ? 1 : 0]);
    r->joined = true;
    r->early_ts = f->first_ts;
}

/* The rows' hosts: for the rows carried on, each end's last start without
 * it among every part's (the highest of the host's folded record and the
 * other rows' starts); then the hosts folded without their rows' starts
 * (mstate_fold_syn_starts) raised again by them, a joined row's being its
 * flow's first packet, and the hosts deferred folded with them. */
static void hosts_again(struct analysis *a, struct syn_starts *s)
{
    GArray *rows = s->rows;
    struct tops top;
    tops_init(&top, rows->len);
    for (guint i = 0; i < rows->len; i++) {
        const struct syn_start *r = AT(rows, i);
        for (int d = 0; d < 2; d++)
            if (r->lowered[d])
                top_put(&top, d ? &r->cs.server : &r->cs.client, r->joined ? r->early_ts : r->cs.first_ts, i);
    }
    for (guint i = 0; i < rows->len; i++) {
        struct syn_start *r = AT(rows, i);
        for (int d = 0; d < 2; d++) {
            if (!r->lowered[d])
                continue;
            const struct ip_addr *h = d ? &r->cs.server : &r->cs.client;
            int64_t at = smb_hosts_find(a->smb_hosts, h);
            const struct host_rec *rec = NULL;
            if (at >= 0)
                smb_hosts_at(a->smb_hosts, (uint32_t)at, &rec);
            int64_t without = top_without(&top, h, i);
            if (rec && rec->last_seen > without)
                without = rec->last_seen;
            r->excl[d] = without > r->cs.first_ts ? SS_NOT_LATEST : without == INT64_MIN ? SS_NO_OTHER : without;
        }
    }
    tops_free(&top);
    for (guint i = 0; s->deferred && i < s->deferred->len; i++) {
        struct deferred_host *dh = &g_array_index(s->deferred, struct deferred_host, i);
        const struct syn_start *r = AT(rows, dh->row);
        dh->rec.first_seen = dh->rec.last_seen = r->joined ? r->early_ts : r->cs.first_ts;
        smb_hosts_fold(a->smb_hosts, &dh->rec, &dh->x);
    }
    for (guint i = 0; i < rows->len; i++) {
        const struct syn_start *r = AT(rows, i);
        for (int d = 0; d < 2; d++)
            smb_hosts_seen(a->smb_hosts, d ? &r->cs.server : &r->cs.client, r->joined ? r->early_ts : r->cs.first_ts);
    }
}

/* Whether a state's rows stop within idle after t: a SYN sent again
 * there may be past them. */
static bool rows_stop_after(const struct syn_starts *s, int64_t t, int64_t idle)
{
    for (guint i = 0; s->untils && i < s->untils->len; i++) {
        int64_t u = g_array_index(s->untils, int64_t, i);
        if (t < u && ts_diff(u, t) <= idle)
            return true;
    }
    return false;
}

void mstate_syn_starts_join(struct analysis *a)
{
    struct syn_starts *s = a->syn_starts;
    if (!s || (!s->rows->len && !s->deferred && s->until == INT64_MAX))
        return;
    struct mstate_ends_ix *rows = rows_index(s->rows); /* the rows do not move below (joined is marked) */
    for (guint i = 0; a->syn_flows && i < a->syn_flows->len;) {
        const struct syn_flow *f = &g_array_index(a->syn_flows, struct syn_flow, i);
        guint at = strcmp(f->close_reason, "end") != 0 || !f->isn_known
                       ? G_MAXUINT
                       : next_row(a, rows, &f->addr[0], f->port[0], &f->addr[1], f->port[1], f->last_ts,
                                  idle_us(f->established));
        struct syn_start *r = at == G_MAXUINT ? NULL : AT(s->rows, at);
        /* the same client (flow.c: a SYN of the responder opens another
         * connection), the same ISN, nothing of the ends between */
        /* a later part's rows end at its "until": a SYN sent again past it
         * is not known (counted) */
        if (!r && f->isn_known && strcmp(f->close_reason, "end") == 0 &&
            rows_stop_after(s, f->last_ts, idle_us(f->established)))
            a->state_folded.syn_starts++;
        if (!r || r->isn != (int64_t)f->isn ||
            !mstate_same_end(&f->addr[0], f->port[0], &r->cs.client, r->cs.client_port) ||
            seen_between(a, &f->addr[0], f->port[0], &f->addr[1], f->port[1], f->last_ts, r->cs.first_ts, f, NULL, at)) {
            i++;
            continue;
        }
        restart(a, r, f);
        syn_flow_used(a, f); /* removes f: i now names the next */
    }
    mstate_ends_ix_free(rows);
    hosts_again(a, s);
    /* the rows joined are done; the others stay for a later merge */
    guint w = 0;
    for (guint i = 0; i < s->rows->len; i++)
        if (!AT(s->rows, i)->joined)
            *AT(s->rows, w++) = *AT(s->rows, i);
    g_array_set_size(s->rows, w);
}
