/* mstate_wlan.c - 802.11 retries of a last fragment across a cut: carried,
 * matched (mstate_wlan.h). */
#include "mstate_wlan.h"

#include <string.h>

#include "ipfrag.h"
#include "mstate_put.h"
#include "wlan_defrag.h"

#define CAP WLAN_DEFRAG_SLOTS
#define ADDRS_HEX (2 * sizeof(((struct wlan_frag_key *)0)->addrs))

/* One run's records (a state's). */
struct wlan_run {
    int64_t first_ts; /* the run's first packet: the order of the run over the parts */
    guint seq;        /* fold order, for runs of one first time */
    struct wlan_done_rec done[CAP];
    struct wlan_frag_key open[CAP];
    struct wlan_retry_rec retries[CAP];
    unsigned n_done, n_open, n_retries;
};

struct mstate_wlan {
    GArray *runs; /* struct wlan_run */
};

/* ---- writing ----------------------------------------------------------- */

static void put_key(struct json *b, const struct wlan_frag_key *k)
{
    static const char hex[] = "0123456789abcdef";
    char s[ADDRS_HEX + 1];
    for (size_t i = 0; i < sizeof k->addrs; i++) {
        s[2 * i] = hex[k->addrs[i] >> 4];
        s[2 * i + 1] = hex[k->addrs[i] & 15];
    }
    s[ADDRS_HEX] = 0;
    json_str(b, s);
    json_int(b, k->seq);
}

static void put_run(struct json *b, const struct wlan_run *r)
{
    if (!r->n_done && !r->n_open && !r->n_retries)
        return;
    json_key(b, "wlan_frags");
    json_begin_object(b);
    json_key(b, "done");
    json_begin_array(b);
    for (unsigned i = 0; i < r->n_done; i++) {
        json_begin_array(b);
        put_key(b, &r->done[i].key);
        json_int(b, r->done[i].last);
        json_int(b, r->done[i].ts);
        json_end_array(b);
    }
    json_end_array(b);
    json_key(b, "open");
    json_begin_array(b);
    for (unsigned i = 0; i < r->n_open; i++) {
        json_begin_array(b);
        put_key(b, &r->open[i]);
        json_end_array(b);
    }
    json_end_array(b);
    json_key(b, "retries");
    json_begin_array(b);
    for (unsigned i = 0; i < r->n_retries; i++) {
        const struct wlan_retry_rec *x = &r->retries[i];
        json_begin_array(b);
        put_key(b, &x->key);
        json_int(b, x->frag);
        json_int(b, x->ts);
        json_int(b, x->done);
        json_end_array(b);
    }
    json_end_array(b);
    json_end_object(b);
}

/* A defragmenter's records (each at most CAP: wlan_defrag.h). */
static void run_of(struct wlan_run *r, const struct wlan_defrag *d)
{
    memset(r, 0, sizeof *r);
    while (r->n_done < CAP && wlan_defrag_done_at(d, r->n_done, &r->done[r->n_done]))
        r->n_done++;
    for (unsigned pos = 0; r->n_open < CAP && wlan_defrag_open_next(d, &pos, &r->open[r->n_open]);)
        r->n_open++;
    while (r->n_retries < CAP && wlan_defrag_retry_at(d, r->n_retries, &r->retries[r->n_retries]))
        r->n_retries++;
}

void mstate_put_wlan(struct json *b, const struct analysis *a)
{
    const struct wlan_defrag *d = a->frags ? ipfrag_wlan_peek(a->frags) : NULL;
    if (!d) /* none made: no 802.11 fragment, or a merge (it feeds no packet) */
        return;
    struct wlan_run r;
    run_of(&r, d);
    put_run(b, &r);
}

/* ---- reading ----------------------------------------------------------- */

static struct mstate_wlan *carry_of(struct analysis *a)
{
    if (!a->wlan_carry) {
        a->wlan_carry = g_new0(struct mstate_wlan, 1);
        a->wlan_carry->runs = g_array_new(FALSE, TRUE, sizeof(struct wlan_run));
    }
    return a->wlan_carry;
}

/* Elements 0 and 1 of e: a key. */
static void read_key(struct jget *g, const struct jpath *ip, JsonArray *e, struct wlan_frag_key *k)
{
    const char *s = jget_elem_str(g, ip, e, 0, ADDRS_HEX);
    k->seq = (uint16_t)jget_elem_u64(g, ip, e, 1, 4095);
    size_t n = 0;
    if (!g->failed && (!jget_hex(s, k->addrs, sizeof k->addrs, &n) || n != sizeof k->addrs))
        jget_fail(g, ip, "not 24 hex digits of two addresses");
}

/* Member name of o: an array of at most CAP arrays of width members, each
 * read by one(). */
static unsigned read_list(struct jget *g, const struct jpath *wp, JsonObject *o, const char *name, guint width,
                          void (*one)(struct jget *, const struct jpath *, JsonArray *, struct wlan_run *, unsigned),
                          struct wlan_run *r)
{
    struct jpath lp;
    jpath_key(&lp, wp, name);
    JsonArray *arr = jget_arr(g, wp, o, name, CAP);
    guint n = g->failed ? 0 : json_array_get_length(arr);
    for (guint i = 0; i < n && !g->failed; i++) {
        struct jpath ip;
        jpath_index(&ip, &lp, i);
        JsonArray *e = jget_node_arr(json_array_get_element(arr, i));
        if (!e || json_array_get_length(e) != width) {
            char why[48];
            snprintf(why, sizeof why, "not an array of %u members", width);
            jget_fail(g, &ip, why);
            break;
        }
        one(g, &ip, e, r, i);
    }
    return g->failed ? 0 : n;
}

static void one_done(struct jget *g, const struct jpath *ip, JsonArray *e, struct wlan_run *r, unsigned i)
{
    struct wlan_done_rec *x = &r->done[i];
    read_key(g, ip, e, &x->key);
    x->last = (unsigned)jget_elem_u64(g, ip, e, 2, 15);
    x->ts = jget_elem_ts(g, ip, e, 3);
    if (!g->failed && x->last == 0)
        jget_fail(g, ip, "an MSDU in fragments whose last is number 0");
}

static void one_open(struct jget *g, const struct jpath *ip, JsonArray *e, struct wlan_run *r, unsigned i)
{
    read_key(g, ip, e, &r->open[i]);
}

static void one_retry(struct jget *g, const struct jpath *ip, JsonArray *e, struct wlan_run *r, unsigned i)
{
    struct wlan_retry_rec *x = &r->retries[i];
    read_key(g, ip, e, &x->key);
    x->frag = (unsigned)jget_elem_u64(g, ip, e, 2, 15);
    x->ts = jget_elem_ts(g, ip, e, 3);
    x->done = (unsigned)jget_elem_u64(g, ip, e, 4, CAP - 1);
    if (!g->failed && x->frag == 0)
        jget_fail(g, ip, "a retried last fragment of number 0");
}

void mstate_fold_wlan(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    if (g->failed || !st || !json_object_has_member(st, "wlan_frags"))
        return; /* absent: a run without 802.11 fragments, or an older smbscope's */
    struct jpath rp, wp;
    jpath_key(&rp, p, "run");
    struct wlan_run r;
    memset(&r, 0, sizeof r);
    r.first_ts = jget_ts_or_none(g, &rp, jget_obj(g, p, st, "run"), "first_ts");
    jpath_key(&wp, p, "wlan_frags");
    JsonObject *o = jget_obj(g, p, st, "wlan_frags");
    if (g->failed)
        return;
    if (json_object_get_size(o) != 3) {
        jget_fail(g, &wp, "not {done, open, retries}");
        return;
    }
    r.n_done = read_list(g, &wp, o, "done", 4, one_done, &r);
    r.n_open = read_list(g, &wp, o, "open", 2, one_open, &r);
    r.n_retries = read_list(g, &wp, o, "retries", 5, one_retry, &r);
    if (g->failed)
        return;
    struct mstate_wlan *m = carry_of(a);
    r.seq = m->runs->len;
    g_array_append_val(m->runs, r);
}

void mstate_wlan_free(struct analysis *a)
{
    if (!a->wlan_carry)
        return;
    g_array_free(a->wlan_carry->runs, TRUE);
    g_free(a->wlan_carry);
    a->wlan_carry = NULL;
}

/* ---- matching ---------------------------------------------------------- */

/* An MSDU of the ring the run over the parts keeps; blocked: its key open
 * at the end of its run or a later one. */
struct ring_entry {
    struct wlan_done_rec rec;
    bool blocked;
};

static int run_order(gconstpointer pa, gconstpointer pb)
{
    const struct wlan_run *x = pa, *y = pb;
    if (x->first_ts != y->first_ts)
        return x->first_ts < y->first_ts ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static bool is_open(const struct wlan_run *r, const struct wlan_frag_key *k)
{
    for (unsigned i = 0; i < r->n_open; i++)
        if (wlan_frag_key_eq(&r->open[i], k))
            return true;
    return false;
}

/* wlan_defrag.c's done_repeat() over the entries of ring[from..n). */
static bool repeat_of(const struct ring_entry *ring, unsigned from, unsigned n, const struct wlan_retry_rec *x,
                      int64_t timeout)
{
    for (unsigned i = from; i < n; i++) {
        const struct wlan_done_rec *e = &ring[i].rec;
        if (!ring[i].blocked && wlan_frag_key_eq(&e->key, &x->key) && e->last == x->frag && x->ts >= e->ts &&
            (uint64_t)x->ts - (uint64_t)e->ts <= (uint64_t)timeout)
            return true;
    }
    return false;
}

void mstate_wlan_join(struct analysis *a)
{
    struct mstate_wlan *m = a->wlan_carry;
    if (!m || m->runs->len < 2 || !a->frags)
        return;
    g_array_sort(m->runs, run_order);
    int64_t timeout = ipfrag_timeout(a->frags);
    struct ring_entry ring[CAP];
    unsigned n = 0;
    for (guint k = 0; k < m->runs->len; k++) {
        const struct wlan_run *r = &g_array_index(m->runs, struct wlan_run, k);
        /* its retries against what the earlier runs left in the ring once
         * this one had completed x->done MSDUs of its own */
        for (unsigned i = 0; i < r->n_retries; i++) {
            const struct wlan_retry_rec *x = &r->retries[i];
            unsigned keep = CAP - x->done; /* x->done < CAP (read, and written so) */
            if (repeat_of(ring, n > keep ? n - keep : 0, n, x, timeout))
                ipfrag_wlan_unlose_repeat(a->frags);
        }
        for (unsigned i = 0; i < n; i++)
            ring[i].blocked |= is_open(r, &ring[i].rec.key);
        for (unsigned i = 0; i < r->n_done; i++) {
            if (n == CAP) {
                memmove(ring, ring + 1, (CAP - 1) * sizeof *ring);
                n--;
            }
            ring[n++] = (struct ring_entry){ r->done[i], is_open(r, &r->done[i].key) };
        }
    }
}
