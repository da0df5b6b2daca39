/* mstate_frags.c - IP datagrams a cut divides: carried, put together,
 * decoded (mstate_frags.h). */
#include "mstate_frags.h"

#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "ipfrag.h"
#include "mstate.h"
#include "mstate_frags_tcp.h"
#include "mstate_join_nbns.h"
#include "mstate_put.h"
#include "netbios.h"
#include "quic_table.h"

#define UNIT 8u
#define MAX_BYTES 65535u                       /* ipfrag.c's max_datagram_bytes */
#define MAX_UNITS ((MAX_BYTES + UNIT - 1) / UNIT)
#define WORDS ((MAX_UNITS + 63) / 64)
#define MERGE_BYTES_CAP (32u << 20)           /* all states' carried bytes a merge keeps */
#define ROCEV2_PORT 4791                       /* the RoCE table is not fed in a merge */

enum { F_SRC, F_DST, F_ID, F_KEY_PROTO, F_FATE, F_FIRST, F_LAST, F_CAPLEN, F_WIRELEN, F_PROTO, F_TOTAL, F_RUNS,
       F_N };

/* One datagram a state carried. */
struct frag_rec {
    struct ipfrag_key key;
    enum ipfrag_fate fate;
    int64_t first_ts, last_ts, run_first;
    uint32_t caplen, wirelen;
    bool have_first, have_total;
    uint8_t proto;
    uint32_t total, extent;
    guint run;            /* the state it came from (folded order) */
    guint in_lo, in_hi;   /* its run's inputs in a->inputs */
    bool taken;           /* joined: not written again */
    GArray *rows_before;  /* open: its run's UDP rows between its two addresses (struct row_names) */
    uint8_t *buf;         /* extent octets */
    uint64_t *bits;       /* WORDS words */
};

/* A NetBIOS row's names, of the flow between a datagram's addresses on
 * these ports (src_port: its source's). */
struct row_names {
    uint16_t src_port, dst_port;
    GPtrArray *names; /* char* */
};

static void row_names_clear(gpointer p) { g_ptr_array_unref(((struct row_names *)p)->names); }

struct mstate_frags {
    GArray *recs;          /* struct frag_rec */
    uint64_t not_carried;  /* the states' own, and those past MERGE_BYTES_CAP */
    size_t bytes;
    guint runs;
};

/* ---- writing ----------------------------------------------------------- */

/* The held units' runs of bytes, [offset, base64]. */
static void put_runs(struct json *b, uint32_t extent, const uint8_t *buf, const uint64_t *bits)
{
    json_begin_array(b);
    uint32_t units = (extent + UNIT - 1) / UNIT;
    for (uint32_t u = 0; u < units;) {
        if (!ipfrag_unit_held(bits, u)) {
            u++;
            continue;
        }
        uint32_t v = u;
        while (v < units && ipfrag_unit_held(bits, v))
            v++;
        uint32_t from = u * UNIT, to = v * UNIT < extent ? v * UNIT : extent;
        json_begin_array(b);
        json_int(b, from);
        gchar *text = g_base64_encode(buf + from, to - from);
        json_str(b, text);
        g_free(text);
        json_end_array(b);
        u = v;
    }
    json_end_array(b);
}

static void put_rec(struct json *b, const struct ipfrag_held *h)
{
    json_begin_array(b);
    vaddr(b, &h->key.src);
    vaddr(b, &h->key.dst);
    json_int(b, h->key.id);
    json_int(b, h->key.proto);
    json_int(b, h->fate);
    json_int(b, h->first_ts);
    json_int(b, h->last_ts);
    json_int(b, h->last_caplen);
    json_int(b, h->last_wirelen);
    json_int(b, h->have_first ? h->proto : -1);
    json_int(b, h->have_total ? (int64_t)h->total : -1);
    put_runs(b, h->extent, h->buf, h->bits);
    json_end_array(b);
}

static struct ipfrag_held held_of_rec(const struct frag_rec *r)
{
    return (struct ipfrag_held){ .key = r->key, .fate = r->fate, .first_ts = r->first_ts, .last_ts = r->last_ts,
                                 .last_caplen = r->caplen, .last_wirelen = r->wirelen,
                                 .have_first = r->have_first, .have_total = r->have_total, .proto = r->proto,
                                 .total = r->total, .extent = r->extent, .buf = r->buf, .bits = r->bits };
}

/* What a run may carry: open at its end, or dropped within the timeout of
 * its first packet (ipfrag.h keeps a little more). */
static bool carried(const struct analysis *a, const struct ipfrag_held *h)
{
    if (h->fate == IPFRAG_OPEN)
        return true;
    int64_t t = ipfrag_timeout(a->frags);
    return h->first_ts >= a->first_ts && (uint64_t)h->first_ts - (uint64_t)a->first_ts <= (uint64_t)t;
}

static void begin(struct json *b, bool *open)
{
    if (*open)
        return;
    json_key(b, "ip_frags");
    json_begin_object(b);
    json_key(b, "datagrams");
    json_begin_array(b);
    *open = true;
}

void mstate_put_frags(struct json *b, const struct analysis *a)
{

    bool open = false;
    uint64_t skipped = 0;
    uint32_t n = 0;
    size_t bytes = 0;
    const struct mstate_frags *m = a->frag_carry;
    if (m) { /* a merge written folded (what it did not join), or --jobs' threads' */
        skipped = m->not_carried;
        for (guint i = 0; i < m->recs->len; i++) {
            const struct frag_rec *r = &g_array_index(m->recs, struct frag_rec, i);
            if (r->taken)
                continue;
            if (n >= MSTATE_FRAGS_CAP || bytes + r->extent > MSTATE_FRAGS_BYTES) {
                skipped++;
                continue;
            }
            begin(b, &open);
            struct ipfrag_held h = held_of_rec(r);
            put_rec(b, &h);
            n++;
            bytes += r->extent;
        }
    }
    if (a->frags) { /* a run's own (none in a merge) */
        size_t pos = 0;
        struct ipfrag_held h;
        while (ipfrag_held_next(a->frags, &pos, &h)) {
            if (!carried(a, &h))
                continue;
            if (n >= MSTATE_FRAGS_CAP || bytes + h.extent > MSTATE_FRAGS_BYTES) {
                skipped++;
                continue;
            }
            begin(b, &open);
            put_rec(b, &h);
            n++;
            bytes += h.extent;
        }
    }
    if (!open && !skipped)
        return;
    begin(b, &open);
    json_end_array(b);
    kint(b, "not_carried", skipped);
    json_end_object(b);
}

/* ---- reading ----------------------------------------------------------- */

static struct mstate_frags *carry_of(struct analysis *a)
{
    if (!a->frag_carry) {
        a->frag_carry = g_new0(struct mstate_frags, 1);
        a->frag_carry->recs = g_array_new(FALSE, TRUE, sizeof(struct frag_rec));
    }
    return a->frag_carry;
}

static void rec_free(struct frag_rec *r)
{
    g_free(r->buf);
    g_free(r->bits);
    if (r->rows_before)
        g_array_free(r->rows_before, TRUE);
    r->buf = NULL;
    r->bits = NULL;
    r->rows_before = NULL;
}

/* An open datagram: the names of its run's NetBIOS rows (st's, read and
 * checked by fold_netbios() before) between its two addresses (its ports
 * may be in another part: its first fragment).  Merge folds rows by run,
 * so the names of the datagram it puts together go after these
 * (place_names(): where the run over the parts saw them). */
static void add_row(struct frag_rec *r, const struct ip_addr *c, uint16_t cp, const struct ip_addr *sv, uint16_t sp,
                    GPtrArray *names)
{
    struct row_names rn = { .names = NULL };
    if (mstate_same_end(c, 0, &r->key.src, 0) && mstate_same_end(sv, 0, &r->key.dst, 0)) {
        rn.src_port = cp;
        rn.dst_port = sp;
    } else if (mstate_same_end(c, 0, &r->key.dst, 0) && mstate_same_end(sv, 0, &r->key.src, 0)) {
        rn.src_port = sp;
        rn.dst_port = cp;
    } else {
        return;
    }
    rn.names = g_ptr_array_ref(names);
    g_array_append_val(r->rows_before, rn);
}

/* The UDP NetBIOS rows of a state, read once: each open datagram of the
 * state takes a reference to the names of its rows (review F3: a copy per
 * datagram made a forged state's 17 MB of names 64 times as much). */
struct state_rows {
    GArray *rows; /* struct state_row */
};

struct state_row {
    struct ip_addr c, sv;
    uint16_t cp, sp;
    GPtrArray *names;
};

static void state_row_clear(gpointer p) { g_ptr_array_unref(((struct state_row *)p)->names); }

static void state_rows_read(JsonObject *st, struct state_rows *sr)
{
    sr->rows = g_array_new(FALSE, FALSE, sizeof(struct state_row));
    g_array_set_clear_func(sr->rows, state_row_clear);
    JsonArray *rows = jget_member_arr(jget_member_obj(st, "netbios"), "rows");
    for (guint i = 0; rows && i < json_array_get_length(rows); i++) {
        JsonArray *row = jget_node_arr(json_array_get_element(rows, i));
        if (!row || json_array_get_length(row) != MSTATE_NB_ROW_FIELDS ||
            json_node_get_int(json_array_get_element(row, 0)) != 17)
            continue;
        struct state_row r;
        const char *cs = json_node_get_string(json_array_get_element(row, 1));
        const char *ss = json_node_get_string(json_array_get_element(row, 3));
        if (!cs || !ss || !jget_parse_addr(cs, &r.c) || !jget_parse_addr(ss, &r.sv))
            continue;
        r.cp = (uint16_t)json_node_get_int(json_array_get_element(row, 2));
        r.sp = (uint16_t)json_node_get_int(json_array_get_element(row, 4));
        JsonArray *names = jget_node_arr(json_array_get_element(row, MSTATE_NB_ROW_FIELDS - 1));
        r.names = g_ptr_array_new_with_free_func(g_free);
        for (guint k = 0; names && k < json_array_get_length(names); k++) {
            const char *n = json_node_get_string(json_array_get_element(names, k));
            if (n)
                g_ptr_array_add(r.names, g_strdup(n));
        }
        g_array_append_val(sr->rows, r);
    }
}

static void note_names(const struct state_rows *sr, struct frag_rec *r)
{
    if (r->fate != IPFRAG_OPEN || (r->have_first && r->proto != 17 && !(r->key.src.family == 6 && r->proto != 6)))
        return; /* (IPv6: UDP may follow extension headers) */
    r->rows_before = g_array_new(FALSE, FALSE, sizeof(struct row_names)); /* none: its run had no such row */
    g_array_set_clear_func(r->rows_before, row_names_clear);
    for (guint i = 0; i < sr->rows->len; i++) {
        const struct state_row *x = &g_array_index(sr->rows, struct state_row, i);
        add_row(r, &x->c, x->cp, &x->sv, x->sp, x->names);
    }
}

/* The runs of bytes of record rp into r (bits, buf of MAX_BYTES), checked:
 * units of 8 octets, increasing, within the datagram; false and g failed
 * otherwise. */
static bool read_runs(struct jget *g, const struct jpath *rp, JsonArray *runs, struct frag_rec *r, size_t *bytes)
{
    guint n = json_array_get_length(runs);
    uint32_t next = 0;
    for (guint i = 0; i < n && !g->failed; i++) {
        struct jpath ip;
        jpath_index(&ip, rp, i);
        JsonArray *e = jget_node_arr(json_array_get_element(runs, i));
        if (!e || json_array_get_length(e) != 2) {
            jget_fail(g, &ip, "not an [offset, bytes] run");
            return false;
        }
        uint64_t off = jget_elem_u64(g, &ip, e, 0, MAX_BYTES);
        const char *text = jget_elem_str(g, &ip, e, 1, (MAX_BYTES + 2) / 3 * 4);
        if (g->failed)
            return false;
        if (off % UNIT || off < next || (i > 0 && off == next)) {
            jget_fail(g, &ip, "not a run of 8-octet units after the one before it");
            return false;
        }
        gsize len = 0;
        guchar *raw = *text ? g_base64_decode(text, &len) : NULL;
        if (!raw || len == 0 || off + len > MAX_BYTES || (r->have_total && off + len > r->total)) {
            g_free(raw);
            jget_fail(g, &ip, "not the base64 of 1 to 65535 octets within the datagram");
            return false;
        }
        /* only the datagram's last unit is partial, and it ends it */
        if (len % UNIT && !(i + 1 == n && r->have_total && off + len == r->total)) {
            g_free(raw);
            jget_fail(g, &ip, "a partial unit of 8 octets that does not end the datagram");
            return false;
        }
        memcpy(r->buf + off, raw, len);
        g_free(raw);
        for (uint32_t u = (uint32_t)off / UNIT; u < (uint32_t)((off + len + UNIT - 1) / UNIT); u++)
            r->bits[u / 64] |= UINT64_C(1) << (u % 64);
        next = (uint32_t)(off + len);
        *bytes += len;
    }
    r->extent = next;
    return !g->failed;
}

static bool whole(const struct frag_rec *r);

static void read_rec(struct jget *g, const struct jpath *ip, JsonArray *e, struct frag_rec *r, size_t *bytes)
{
    struct ip_addr src, dst;
    memset(&src, 0, sizeof src);
    memset(&dst, 0, sizeof dst);
    const char *s = jget_elem_str(g, ip, e, F_SRC, 64), *d = jget_elem_str(g, ip, e, F_DST, 64);
    if (g->failed)
        return;
    if (!jget_parse_addr(s, &src) || !jget_parse_addr(d, &dst) || src.family != dst.family) {
        jget_fail(g, ip, "source and destination: not two addresses of one family");
        return;
    }
    bool v6 = src.family == 6;
    r->key.src = src;
    r->key.dst = dst;
    r->key.id = (uint32_t)jget_elem_u64(g, ip, e, F_ID, v6 ? UINT32_MAX : UINT16_MAX);
    r->key.proto = (uint8_t)jget_elem_u64(g, ip, e, F_KEY_PROTO, v6 ? 0 : 255); /* IPv6: no protocol in its key */
    r->fate = (enum ipfrag_fate)jget_elem_u64(g, ip, e, F_FATE, IPFRAG_FATES - 1);
    r->first_ts = jget_elem_ts(g, ip, e, F_FIRST);
    r->last_ts = jget_elem_ts(g, ip, e, F_LAST);
    r->caplen = (uint32_t)jget_elem_u64(g, ip, e, F_CAPLEN, UINT32_MAX);
    r->wirelen = (uint32_t)jget_elem_u64(g, ip, e, F_WIRELEN, UINT32_MAX);
    int64_t proto = jget_elem_i64(g, ip, e, F_PROTO), total = jget_elem_i64(g, ip, e, F_TOTAL);
    if (g->failed)
        return;
    if (proto < -1 || proto > 255 || total < -1 || total > MAX_BYTES) {
        jget_fail(g, ip, "protocol or total length out of range");
        return;
    }
    if (r->last_ts < r->first_ts) {
        jget_fail(g, ip, "its last fragment before its first");
        return;
    }
    r->have_first = proto >= 0;
    r->proto = (uint8_t)(proto >= 0 ? proto : 0);
    r->have_total = total >= 0;
    r->total = (uint32_t)(total >= 0 ? total : 0);
    if (!v6 && r->have_first && r->proto != r->key.proto) {
        jget_fail(g, ip, "an IPv4 datagram's protocol not its key's");
        return;
    }
    struct jpath rp;
    jpath_index(&rp, ip, F_RUNS);
    JsonArray *runs = jget_node_arr(json_array_get_element(e, F_RUNS));
    if (!runs || json_array_get_length(runs) == 0 || json_array_get_length(runs) > MAX_UNITS) {
        jget_fail(g, &rp, "not an array of 1 to 8192 runs of bytes");
        return;
    }
    r->buf = g_malloc0(MAX_BYTES);
    r->bits = g_new0(uint64_t, WORDS);
    if (!read_runs(g, &rp, runs, r, bytes))
        return;
    if (r->have_first != ipfrag_unit_held(r->bits, 0)) {
        jget_fail(g, ip, "its first unit held without the first fragment's protocol, or that without it");
        return;
    }
    if (whole(r)) {
        jget_fail(g, ip, "a datagram whole: the run would have completed it");
        return;
    }
    r->buf = g_realloc(r->buf, r->extent); /* what it holds, not 64 KiB */
}

void mstate_fold_frags(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint in_lo)
{
    if (g->failed || !st || !json_object_has_member(st, "ip_frags"))
        return; /* absent: a run with nothing to carry, or an older smbscope's */
    struct jpath fp, dp, rp;
    jpath_key(&rp, p, "run");
    int64_t run_first = jget_ts_or_none(g, &rp, jget_obj(g, p, st, "run"), "first_ts");
    if (g->failed)
        return;
    struct mstate_frags *m = carry_of(a);
    jpath_key(&fp, p, "ip_frags");
    JsonObject *o = jget_obj(g, p, st, "ip_frags");
    JsonArray *arr = jget_arr(g, &fp, o, "datagrams", MSTATE_FRAGS_CAP);
    uint64_t not_carried = jget_u64(g, &fp, o, "not_carried", INT64_MAX);
    if (g->failed)
        return;
    m->not_carried += not_carried;
    guint run = m->runs++;
    jpath_key(&dp, &fp, "datagrams");
    size_t bytes = 0;
    struct state_rows sr = { NULL };
    if (json_array_get_length(arr))
        state_rows_read(st, &sr);
    for (guint i = 0; i < json_array_get_length(arr) && !g->failed; i++) {
        struct jpath ip;
        jpath_index(&ip, &dp, i);
        JsonArray *e = jget_node_arr(json_array_get_element(arr, i));
        if (!e || json_array_get_length(e) != F_N) {
            jget_fail(g, &ip, "not an array of a datagram's 12 members");
            break;
        }
        struct frag_rec r;
        memset(&r, 0, sizeof r);
        read_rec(g, &ip, e, &r, &bytes);
        if (!g->failed && bytes > MSTATE_FRAGS_BYTES)
            jget_fail(g, &fp, "more bytes than a state carries (256 KiB)");
        if (g->failed || m->bytes + r.extent > MERGE_BYTES_CAP) {
            m->not_carried += !g->failed; /* past the merge's own bound: stays lost */
            rec_free(&r);
            continue;
        }
        note_names(&sr, &r);
        r.run = run;
        r.run_first = run_first;
        r.in_lo = in_lo;
        r.in_hi = a->inputs->len;
        m->bytes += r.extent;
        g_array_append_val(m->recs, r);
    }
    if (sr.rows)
        g_array_free(sr.rows, TRUE); /* the names stay while a datagram refers to them */
}

static struct frag_rec rec_of_held(const struct ipfrag_held *h)
{
    struct frag_rec r;
    memset(&r, 0, sizeof r);
    r.key = h->key;
    r.fate = h->fate;
    r.first_ts = h->first_ts;
    r.last_ts = h->last_ts;
    r.caplen = h->last_caplen;
    r.wirelen = h->last_wirelen;
    r.have_first = h->have_first;
    r.have_total = h->have_total;
    r.proto = h->proto;
    r.total = h->total;
    r.extent = h->extent;
    r.buf = g_memdup2(h->buf, h->extent);
    r.bits = g_new0(uint64_t, WORDS);
    memcpy(r.bits, h->bits, ((h->extent + UNIT - 1) / UNIT + 63) / 64 * sizeof *r.bits);
    return r;
}

void mstate_frags_fold_mem(struct analysis *dst, const struct analysis *src, guint in_lo, bool own_run)
{
    const struct mstate_frags *sm = src->frag_carry;
    struct mstate_frags *m = NULL;
    size_t pos = 0;
    struct ipfrag_held h;
    bool numbered = false;
    guint run = 0;
    while (src->frags && ipfrag_held_next(src->frags, &pos, &h)) {
        if (!carried(src, &h))
            continue;
        m = carry_of(dst);
        if (m->recs->len >= MSTATE_FRAGS_CAP || m->bytes + h.extent > MSTATE_FRAGS_BYTES) {
            m->not_carried++; /* the state's cap: counted as its writer counts them */
            continue;
        }
        /* an input of its own (--jobs over several files): a run that
         * mstate_frags_join() joins to the others' as merge joins reports
         * (review F5); a thread's share of one file: the one run */
        if (!numbered) {
            if (own_run || m->runs == 0)
                m->runs++;
            run = m->runs - 1;
            numbered = true;
        }
        struct frag_rec r = rec_of_held(&h);
        r.run = run;
        r.run_first = src->first_ts;
        r.in_lo = in_lo;
        r.in_hi = dst->inputs->len;
        m->bytes += r.extent;
        g_array_append_val(m->recs, r);
    }
    if (sm && sm->not_carried)
        carry_of(dst)->not_carried += sm->not_carried;
}

void mstate_frags_free(struct analysis *a)
{
    struct mstate_frags *m = a->frag_carry;
    if (!m)
        return;
    for (guint i = 0; i < m->recs->len; i++)
        rec_free(&g_array_index(m->recs, struct frag_rec, i));
    g_array_free(m->recs, TRUE);
    g_free(m);
    a->frag_carry = NULL;
}

/* ---- joining ----------------------------------------------------------- */

static bool whole(const struct frag_rec *r)
{
    if (!r->have_first || !r->have_total)
        return false;
    for (uint32_t u = 0; u < (r->total + UNIT - 1) / UNIT; u++)
        if (!ipfrag_unit_held(r->bits, u))
            return false;
    return true;
}

static int key_cmp(const struct ipfrag_key *x, const struct ipfrag_key *y)
{
    int c = memcmp(&x->src, &y->src, sizeof x->src);
    if (!c)
        c = memcmp(&x->dst, &y->dst, sizeof x->dst);
    if (!c)
        c = (x->id > y->id) - (x->id < y->id);
    if (!c)
        c = (x->proto > y->proto) - (x->proto < y->proto);
    return c;
}

/* A datagram's records in the order the run over the parts reads them:
 * its parts in order of their first packet, in a part by first fragment. */
static gint rec_order(gconstpointer pa, gconstpointer pb)
{
    const struct frag_rec *x = pa, *y = pb;
    int c = key_cmp(&x->key, &y->key);
    if (!c)
        c = (x->run_first > y->run_first) - (x->run_first < y->run_first);
    if (!c)
        c = (x->run > y->run) - (x->run < y->run);
    if (!c)
        c = (x->first_ts > y->first_ts) - (x->first_ts < y->first_ts);
    return c;
}

/* Whether acc and y can be one datagram as ipfrag.c keeps it (different
 * ends: it drops them). */
static bool fits(const struct frag_rec *acc, const struct frag_rec *y)
{
    if (acc->have_total && y->have_total && acc->total != y->total)
        return false;
    uint32_t total = acc->have_total ? acc->total : y->total;
    return !(acc->have_total || y->have_total) || (acc->extent <= total && y->extent <= total);
}

/* What the run over the parts would have held (fits()): acc's bytes, then
 * y's where acc had none (first copy wins).  In place: a forged chain of
 * many records copies each one's bytes once, not the whole each time. */
static void unite(struct frag_rec *acc, const struct frag_rec *y)
{
    if (y->extent > acc->extent) {
        acc->buf = g_realloc(acc->buf, y->extent);
        memset(acc->buf + acc->extent, 0, y->extent - acc->extent);
        acc->extent = y->extent;
    }
    for (uint32_t u = 0; u < (y->extent + UNIT - 1) / UNIT; u++) {
        if (!ipfrag_unit_held(y->bits, u) || ipfrag_unit_held(acc->bits, u))
            continue;
        uint32_t from = u * UNIT, to = from + UNIT < y->extent ? from + UNIT : y->extent;
        memcpy(acc->buf + from, y->buf + from, to - from);
        acc->bits[u / 64] |= UINT64_C(1) << (u % 64);
    }
    if (y->have_first) {
        acc->have_first = true;
        acc->proto = y->proto;
    }
    if (y->have_total) {
        acc->have_total = true;
        acc->total = y->total;
    }
}

/* The input of r's run that holds its last fragment (the last one that
 * began by then). */
static struct input_info *input_of(struct analysis *a, const struct frag_rec *r)
{
    struct input_info *pick = NULL;
    for (guint i = r->in_lo; i < r->in_hi && i < a->inputs->len; i++) {
        struct input_info *in = g_ptr_array_index(a->inputs, i);
        if (!pick || in->first_ts <= r->last_ts)
            pick = in;
    }
    return pick;
}

/* The datagram acc, completed by y's pieces: decoded and counted as the
 * run counts the packet of y's last fragment; false (nothing changed)
 * when merge cannot count it as the run would (TCP, RoCEv2: their tables
 * are the parts' joins, not packets). */
/* The datagram's names (own: its row in a ledger of its own) where the run
 * over the parts saw them in row r: after the names of the open part's row
 * (before: their last in r), ahead of what the later parts' rows put
 * there first.  Merge folds rows by run, so without this they would be
 * where the later part saw them next, or last. */
/* A name put in place (in row, of a datagram merge decoded before). */
struct placed {
    const struct nb_flow *row;
    const char *name;
};

static void place_names(struct nb_flow *r, const struct nb_flow *own, const GArray *rows, const struct packet *pkt,
                        GArray *placed)
{
    if (!r || !r->names || !own || !own->names || !rows)
        return;
    const GPtrArray *before = NULL;
    for (guint i = 0; i < rows->len && !before; i++) {
        const struct row_names *rn = &g_array_index(rows, struct row_names, i);
        if (rn->src_port == pkt->sport && rn->dst_port == pkt->dport)
            before = rn->names;
    }
    gpointer *p = r->names->pdata;
    guint at = 0;
    for (guint i = 0; before && i < r->names->len; i++)
        for (guint k = 0; k < before->len; k++)
            if (strcmp(p[i], g_ptr_array_index(before, k)) == 0)
                at = i + 1;
    /* and after those of the datagrams put together before it (in time) */
    for (guint i = at; i < r->names->len; i++)
        for (guint k = 0; k < placed->len; k++) {
            const struct placed *q = &g_array_index(placed, struct placed, k);
            if (q->row == r && q->name == p[i])
                at = i + 1;
        }
    for (guint k = 0; k < own->names->len; k++) {
        const char *n = g_ptr_array_index(own->names, k);
        for (guint i = at; i < r->names->len; i++) {
            if (strcmp(p[i], n) != 0)
                continue;
            gpointer v = p[i]; /* to position at, the names between one further */
            memmove(p + at + 1, p + at, (i - at) * sizeof *p);
            p[at++] = v;
            struct placed q = { r, v };
            g_array_append_val(placed, q);
            break;
        }
    }
}

/* A datagram put together, decoded: counted after every join is made, in
 * the order of its last fragments (its names after those of the
 * datagrams before it). */
struct completion {
    struct packet pkt;
    enum packet_status st;
    bool counted;
    bool tcp; /* handed to mstate_frags_tcp.c instead */
    struct input_info *in;
    const GArray *before;
    int64_t ts;
    guint seq;
    uint8_t *buf; /* pkt's bytes */
};

/* A UDP datagram off the NetBIOS ports whose first octet has QUIC's fixed
 * bit: the run hands it to its QUIC table, where it belongs to a
 * connection the parts' QUIC joins put together, not to merge's own
 * table (review F4: counted there, it made a second connection).  Not
 * counted: the parts' losses stay, as for TCP and RoCEv2. */
static bool maybe_quic(const struct packet *p)
{
    if (p->l4 != L4_UDP || p->payload_len == 0 || !(p->payload[0] & 0x40))
        return false;
    return !(p->sport == 137 || p->sport == 138 || p->dport == 137 || p->dport == 138);
}

/* The datagram acc, completed by y's pieces, decoded as the run decodes
 * the packet of y's last fragment (into *c, taking acc's bytes); false
 * when merge cannot count it as the run would (TCP, RoCEv2: their tables
 * are the parts' joins, not packets). */
static bool decode_whole(struct analysis *a, struct frag_rec *acc, const struct frag_rec *y, const GArray *before,
                         struct completion *c)
{
    struct ipfrag_table *scratch = ipfrag_new(NULL); /* a fragment inside it is dropped, as in a run */
    if (!scratch)
        return false;
    memset(c, 0, sizeof *c);
    c->st = ipfrag_decode(&c->pkt, &acc->key, acc->proto, acc->buf, acc->total, y->last_ts, y->caplen, y->wirelen,
                          scratch);
    ipfrag_free(scratch);
    c->in = input_of(a, y);
    c->counted = c->st == PKT_OK && c->pkt.l4 != L4_TCP && !(c->pkt.l4 == L4_UDP && c->pkt.dport == ROCEV2_PORT) &&
                 c->pkt.tunnel_depth == 0 && !maybe_quic(&c->pkt);
    /* a TCP segment with data: placed in its connection when the parts'
     * edges are joined, if it can be (mstate_frags_tcp.h) */
    c->tcp = c->st == PKT_OK && c->pkt.l4 == L4_TCP && c->pkt.tunnel_depth == 0 && c->pkt.payload_len > 0;
    /* RoCEv2: the run's queue pairs (PSNs, the SEND in progress) are
     * joined from the parts' records, which hold no place for a packet
     * between them; QUIC: likewise its connections (maybe_quic()): left
     * lost as the parts counted it, and said so */
    if (c->st == PKT_OK && c->pkt.tunnel_depth == 0 &&
        ((c->pkt.l4 == L4_UDP && c->pkt.dport == ROCEV2_PORT) || maybe_quic(&c->pkt)))
        a->frag_not_placed++;
    bool lost = c->st == PKT_TRUNCATED || c->st == PKT_MALFORMED; /* a bad header inside: the run counts that */
    if (!c->in || !c->in->status[PKT_FRAG_HELD] || (!c->counted && !lost && !c->tcp))
        return false;
    if (!c->tcp)
        c->in->status[PKT_FRAG_HELD]--; /* taken now: another completion in the same input sees it */
    c->before = before;
    c->ts = y->last_ts;
    c->buf = acc->buf;
    acc->buf = NULL;
    return true;
}

static gint completion_order(gconstpointer pa, gconstpointer pb)
{
    const struct completion *x = pa, *y = pb;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* One completion counted as analysis.c feed_packet() counts the packet. */
static void count(struct analysis *a, struct completion *c, GArray *placed)
{
    c->in->status[c->st]++;
    if (!c->counted)
        return;
    struct packet *pkt = &c->pkt;
    uint64_t pair_h = 0;
    bool census_due = census_packet_early(a->census, pkt, &pair_h);
    struct nb_flow *row = nb_ledger_packet_inline(a->ledger, pkt);
    /* the datagram in a ledger of its own: its names, and an NBNS query or
     * answer for mstate_join_nbns() to match with the parts' (merge's
     * ledger holds no query waiting: the states carry them) */
    struct nb_ledger *own = row ? nb_ledger_new(0) : NULL;
    if (own) {
        place_names(row, nb_ledger_packet_inline(own, pkt), c->before, pkt, placed);
        nbns_xids_take(a, own);
        nb_ledger_free(own);
    }
    if (pkt->l4 == L4_UDP)
        quic_table_packet(a->quic, pkt);
    if (census_due)
        census_packet_late(a->census, pkt, pair_h);
}

/* recs[i..n) of one datagram: each record open at its part's end takes
 * the later parts' records within the timeout of its first fragment. */
static void join_key(struct analysis *a, struct frag_rec *recs, guint n, GArray *out, GArray *done_list)
{
    int64_t timeout = ipfrag_timeout(a->frags);
    for (guint i = 0; i < n; i++) {
        if (recs[i].fate != IPFRAG_OPEN)
            continue;
        struct frag_rec acc = recs[i];
        acc.rows_before = NULL; /* recs[i]'s */
        acc.buf = g_memdup2(recs[i].buf, recs[i].extent ? recs[i].extent : 1);
        acc.bits = g_memdup2(recs[i].bits, WORDS * sizeof *acc.bits);
        guint j = i + 1, last = i;
        bool done = false, dropped = false, deferred = false;
        uint32_t opens = 0; /* the parts' open datagrams this one goes on from */
        for (; j < n && !done; j++) {
            struct frag_rec *y = &recs[j];
            if (y->run == recs[last].run || recs[last].fate != IPFRAG_OPEN)
                break;
            /* ipfrag.c drops the datagram at the first fragment past its timeout */
            if (y->last_ts > acc.first_ts && (uint64_t)y->last_ts - (uint64_t)acc.first_ts > (uint64_t)timeout)
                break;
            if (!fits(&acc, y))
                break;
            unite(&acc, y);
            struct completion c;
            bool complete = whole(&acc);
            if (complete && !decode_whole(a, &acc, y, recs[i].rows_before, &c)) {
                dropped = true; /* whole, not counted by merge (TCP): the parts' losses stay */
                break;
            }
            /* one datagram where the parts counted two: the earlier part's
             * open one goes on in the later part */
            opens++;
            if (complete && c.tcp) { /* its losses taken back only if it is placed */
                mstate_frags_tcp_add(a, &c.pkt, c.st, c.buf, c.in, opens, y->fate);
                deferred = true;
            } else if (complete) {
                c.seq = done_list->len;
                g_array_append_val(done_list, c);
            }
            recs[last].taken = true;
            y->taken = true;
            acc.fate = y->fate;
            acc.last_ts = y->last_ts;
            acc.caplen = y->caplen;
            acc.wirelen = y->wirelen;
            acc.run = y->run;
            acc.run_first = y->run_first;
            acc.in_lo = y->in_lo;
            acc.in_hi = y->in_hi;
            last = j;
            if (complete && !deferred) { /* completed: the later part's loss too */
                ipfrag_unlose(a->frags, y->fate);
                ipfrag_count_reassembled(a->frags);
            }
            done = complete;
        }
        for (uint32_t k = 0; !deferred && k < opens; k++)
            ipfrag_unlose(a->frags, IPFRAG_OPEN);
        if (last != i && !done && !dropped) { /* joined, still incomplete: carried on as one */
            acc.taken = false;
            g_array_append_val(out, acc);
        } else {
            rec_free(&acc);
        }
        i = last;
    }
}

void mstate_frags_join(struct analysis *a)
{
    struct mstate_frags *m = a->frag_carry;
    if (!m || m->recs->len < 2)
        return;
    g_array_sort(m->recs, rec_order);
    GArray *joined = g_array_new(FALSE, TRUE, sizeof(struct frag_rec));
    GArray *done_list = g_array_new(FALSE, TRUE, sizeof(struct completion));
    struct frag_rec *recs = (struct frag_rec *)(void *)m->recs->data;
    for (guint i = 0; i < m->recs->len;) {
        guint j = i + 1;
        while (j < m->recs->len && key_cmp(&recs[i].key, &recs[j].key) == 0)
            j++;
        if (j - i > 1)
            join_key(a, recs + i, j - i, joined, done_list);
        i = j;
    }
    g_array_sort(done_list, completion_order);
    GArray *placed = g_array_new(FALSE, FALSE, sizeof(struct placed));
    for (guint i = 0; i < done_list->len; i++) {
        struct completion *c = &g_array_index(done_list, struct completion, i);
        count(a, c, placed);
        g_free(c->buf);
    }
    g_array_free(placed, TRUE);
    g_array_free(done_list, TRUE); /* the records' rows_before they named are freed below */
    /* the records joined are written as their joint datagram (a merge
     * written folded), the others as they came */
    for (guint i = 0; i < m->recs->len;) {
        struct frag_rec *r = &g_array_index(m->recs, struct frag_rec, i);
        if (r->taken) {
            rec_free(r);
            g_array_remove_index(m->recs, i);
        } else {
            i++;
        }
    }
    g_array_append_vals(m->recs, joined->data, joined->len);
    g_array_free(joined, TRUE);
}
