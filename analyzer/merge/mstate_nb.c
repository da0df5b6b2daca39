/* mstate_nb.c - the NetBIOS part of the merge state: the ledger's rows,
 * its overflow and non-IP counts, and the NetBIOS hosts, each capped (a
 * capture of many hosts holds tens of thousands of rows and records: the
 * state of a generated 1 GiB capture was 8 MB of them).
 *
 * Past MSTATE_NB_ROWS_CAP the rows farthest from the capture's first and
 * last packet go to the state's overflow as the ledger sends the rows past
 * its own cap there (packets, bytes, services, times, the flow counted by
 * the ledger's key hash; the client's host record counts the flow as
 * unlisted): a flow a capture cut in two can only be in both parts when
 * it runs up to an edge, and those rows are kept.  Past MSTATE_HOSTS_CAP
 * the host records least involved (flows, packets) are left out and the
 * estimator of every address goes along (merge's host total is then an
 * estimate, labelled so). */
#include "mstate.h"

#include <string.h>

#include <zlib.h>

#include "distinct.h"
#include "hosts.h"
#include "mstate_put.h"
#include "mstate_zrec.h"
#include "netbios.h"

/* A row and a host record are compact arrays (thousands of them: as
 * objects with named members, json-glib's tree of them when merge reads
 * the state was twice the size), their members named once in
 * "row_fields" / "record_fields" (mstate_read.c checks the names). */
const char *const mstate_nb_row_fields[MSTATE_NB_ROW_FIELDS] = {
    "proto", "client", "client_port", "server", "server_port", "service", "packets", "bytes", "first_seen",
    "last_seen", "syn", "synack", "rst_from_server", "icmp_refused", "server_spoke", "nbss_elsewhere", "requests",
    "queries", "responses", "queries_answered", "queries_untracked", "names_dropped", "names",
};
const char *const mstate_host_fields[MSTATE_HOST_FIELDS] = {
    "addr", "nb_roles", "services_sent", "refused", "nb_flows", "nb_flows_served", "nb_flows_unlisted",
    "nb_packets_sent", "first_seen", "last_seen",
};

static void names_of(struct json *b, const char *k, const char *const *names, size_t n)
{
    json_key(b, k);
    json_begin_array(b);
    for (size_t i = 0; i < n; i++)
        json_str(b, names[i]);
    json_end_array(b);
}

static void nb_row(struct json *b, const struct nb_flow *f)
{
    json_begin_array(b);
    json_uint(b, f->proto);
    vaddr(b, &f->client);
    json_uint(b, f->client_port);
    vaddr(b, &f->server);
    json_uint(b, f->server_port);
    json_uint(b, (uint64_t)f->service);
    json_uint(b, f->packets);
    json_uint(b, f->bytes);
    json_int(b, f->first_seen);
    json_int(b, f->last_seen);
    const bool flags[] = { f->syn, f->synack, f->rst_from_server, f->icmp_refused, f->server_spoke,
                           f->nbss_elsewhere };
    for (size_t i = 0; i < G_N_ELEMENTS(flags); i++)
        json_uint(b, flags[i]);
    const uint32_t counts[] = { f->requests, f->queries, f->responses, f->queries_answered, f->queries_untracked,
                                f->names_dropped };
    for (size_t i = 0; i < G_N_ELEMENTS(counts); i++)
        json_uint(b, counts[i]);
    json_begin_array(b);
    for (guint i = 0; f->names && i < f->names->len; i++) {
        char *v = g_utf8_make_valid(g_ptr_array_index(f->names, i), -1);
        json_str(b, v);
        g_free(v);
    }
    json_end_array(b);
    json_end_array(b);
}

struct rank {
    int64_t key;
    uint32_t i;
};

static int rank_cmp(const void *pa, const void *pb)
{
    const struct rank *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static int index_cmp(const void *pa, const void *pb)
{
    const struct rank *a = pa, *b = pb;
    return (a->i > b->i) - (a->i < b->i);
}

/* The indices of the n items to keep of total (ranked by key, smallest
 * first), back in their own order; ranks past n are the folded ones. */
static void keep_first(struct rank *r, uint32_t total, uint32_t n)
{
    if (total <= n)
        return;
    qsort(r, total, sizeof *r, rank_cmp);
    qsort(r, n, sizeof *r, index_cmp);
}

/* What the rows folded past the cap change elsewhere in the state. */
struct nb_folds {
    uint64_t rows;
    GHashTable *unlisted; /* client address (struct ip_addr) -> GUINT_TO_POINTER(rows it opened) */
    GHashTable *row_hosts; /* the kept rows' client and server addresses: their records are kept first */
};

static guint addr_hash(gconstpointer p) { return (guint)distinct_hash(p, sizeof(struct ip_addr)); }
static gboolean addr_equal(gconstpointer a, gconstpointer b) { return memcmp(a, b, sizeof(struct ip_addr)) == 0; }

static void fold_row(struct nb_overflow *o, struct distinct *flows, struct nb_folds *fo, const struct nb_flow *f)
{
    if (!o->packets || f->first_seen < o->first_seen)
        o->first_seen = f->first_seen;
    if (!o->packets || f->last_seen > o->last_seen)
        o->last_seen = f->last_seen;
    o->packets += f->packets;
    o->bytes += f->bytes;
    if ((unsigned)f->service < G_N_ELEMENTS(o->by_service))
        o->by_service[f->service] += f->packets;
    distinct_add(flows, nb_flow_key_hash(f));
    fo->rows++;
    gpointer have = g_hash_table_lookup(fo->unlisted, &f->client);
    g_hash_table_replace(fo->unlisted, g_memdup2(&f->client, sizeof f->client),
                         GUINT_TO_POINTER(GPOINTER_TO_UINT(have) + 1));
}

/* The overflow's flow set with the folded rows' flows added (a copy: the
 * run's own set is not the writer's to change). */
static struct distinct *overflow_copy(struct nb_ledger *l)
{
    struct distinct *src = nb_ledger_overflow_set(l), *d = distinct_new(0);
    if (!d)
        return NULL;
    uint32_t n;
    const uint64_t *slots = distinct_slots(src, &n);
    if (distinct_is_estimate(src))
        distinct_union_hll(d, distinct_hll(src));
    for (uint32_t i = 0; slots && i < n; i++)
        if (slots[i])
            distinct_add(d, slots[i]);
    return d;
}

/* Whether the overflow's exact set with the folded rows' flows added is
 * past MSTATE_EXACT_CAP, so written as registers and a count: then
 * *counted is what overflow_copy()'s set would count, without the copy
 * (at 280,000 NetBIOS flows the copy grew to 2^20 slots: 12 MiB at the
 * report's peak, for registers the overflow holds already).  The rows'
 * hashes not in the overflow, each once (the set stores a hash of 0 as 1). */
static bool folded_count(struct nb_ledger *l, const struct rank *r, uint32_t nr, uint64_t *counted,
                         struct distinct **built)
{
    const struct distinct *src = nb_ledger_overflow_set(l);
    if (distinct_is_estimate(src))
        return false; /* no exact set to copy: overflow_copy() is cheap */
    uint64_t *h = g_new(uint64_t, nr);
    uint32_t m = 0;
    for (uint32_t i = 0; i < nr; i++) {
        uint64_t x = nb_flow_key_hash(nb_ledger_row(l, r[i].i));
        x = x ? x : 1;
        if (!distinct_has(src, x))
            h[m++] = x;
    }
    qsort(h, m, sizeof *h, mstate_cmp_u64);
    uint64_t total = distinct_count(src);
    for (uint32_t i = 0; i < m; i++)
        total += !i || h[i] != h[i - 1];
    g_free(h);
    if (total <= MSTATE_EXACT_CAP)
        return false;
    *counted = total;
    if (total > DISTINCT_DEFAULT_CAP) {
        /* the copy would have passed its exact cap: an estimate, never
         * below the cap (distinct_count) */
        struct distinct *e = distinct_new_estimator();
        if (!e)
            return false;
        distinct_union_hll(e, distinct_hll(src));
        for (uint32_t i = 0; i < nr; i++)
            distinct_add(e, nb_flow_key_hash(nb_ledger_row(l, r[i].i)));
        uint64_t est = distinct_estimate(e);
        *built = e; /* the registers rows() writes: the overflow's and the folded rows' */
        *counted = est < DISTINCT_DEFAULT_CAP ? DISTINCT_DEFAULT_CAP : est;
    }
    return true;
}

static void rows_more(struct json *b, const struct analysis *a, const struct rank *r, uint32_t kept, uint32_t n);

static void rows(struct json *b, const struct analysis *a, struct nb_folds *fo)
{
    struct nb_ledger *l = a->ledger;
    uint32_t n = nb_ledger_count(l);
    struct rank *r = g_new(struct rank, n ? n : 1);
    for (uint32_t i = 0; i < n; i++) {
        const struct nb_flow *f = nb_ledger_row(l, i);
        int64_t d0 = ts_diff(f->first_seen, a->first_ts), d1 = ts_diff(a->last_ts, f->last_seen);
        r[i] = (struct rank){ d0 < d1 ? d0 : d1, i };
    }
    uint32_t kept = n < MSTATE_NB_ROWS_CAP ? n : MSTATE_NB_ROWS_CAP;
    keep_first(r, n, kept);
    names_of(b, "row_fields", mstate_nb_row_fields, MSTATE_NB_ROW_FIELDS);
    json_key(b, "rows");
    json_begin_array(b);
    for (uint32_t i = 0; i < kept; i++) {
        const struct nb_flow *f = nb_ledger_row(l, r[i].i);
        nb_row(b, f);
        g_hash_table_add(fo->row_hosts, g_memdup2(&f->client, sizeof f->client));
        g_hash_table_add(fo->row_hosts, g_memdup2(&f->server, sizeof f->server));
    }
    json_end_array(b);
    struct nb_overflow o = *nb_ledger_overflow(l);
    uint64_t counted = 0;
    struct distinct *built = NULL; /* folded_count()'s estimator, when it made one: not made twice */
    bool big = n > kept && folded_count(l, r + kept, n - kept, &counted, &built);
    struct distinct *flows = !big ? (n > kept ? overflow_copy(l) : NULL) : built ? built : distinct_new_estimator();
    if (big && flows && !built)
        distinct_union_hll(flows, distinct_hll(nb_ledger_overflow_set(l)));
    for (uint32_t i = kept; flows && i < n; i++)
        fold_row(&o, flows, fo, nb_ledger_row(l, r[i].i));
    KINTS(b, { "rows_cap", MSTATE_NB_ROWS_CAP }, { "rows_folded", fo->rows + a->state_folded.nb_rows });
    json_key(b, "overflow");
    json_begin_object(b);
    KINTS(b, { "packets", o.packets }, { "bytes", o.bytes }, { "nbns", o.by_service[NB_SERVICE_NBNS] },
          { "nbdgm", o.by_service[NB_SERVICE_NBDGM] }, { "nbss", o.by_service[NB_SERVICE_NBSS] });
    kts(b, "first_seen", o.first_seen);
    kts(b, "last_seen", o.last_seen);
    if (big && flows)
        mstate_put_hll(b, "flows", distinct_hll(flows), counted);
    else
        mstate_put_distinct(b, "flows", flows ? flows : nb_ledger_overflow_set(l), MSTATE_EXACT_CAP);
    json_end_object(b);
    distinct_free(flows);
    if (n > kept && n - kept <= MSTATE_NB_MORE_CAP)
        rows_more(b, a, r, kept, n);
    g_free(r);
}

static void host_rec(struct json *b, const struct host_rec *r, uint32_t unlisted)
{
    json_begin_array(b);
    vaddr(b, &r->addr);
    const uint64_t v[] = { r->nb_roles, r->services_sent, r->refused, r->nb_flows, r->nb_flows_served,
                           (uint64_t)r->nb_flows_unlisted + unlisted, r->nb_packets_sent };
    for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
        json_uint(b, v[i]);
    json_int(b, r->first_seen);
    json_int(b, r->last_seen);
    json_end_array(b);
}

/* ---- the hosts past the records: compact ------------------------------ */

/* Every host the state keeps no record of goes as what the counts by role
 * need of it (hosts.h compact bits), sorted by address, one zlib stream per
 * family of entries [address, bits]: IPv4 as the difference from the one
 * before (4 bytes big-endian), IPv6 as its 16 bytes.  Merge or's them into
 * its table as one run would count them: the counts by role, the hosts to
 * fix and the total stay exact where the run counted them exactly, up to
 * MSTATE_COMPACT_HOSTS_CAP a state (IPv6: MSTATE_COMPACT_V6_CAP).  Written
 * without a sorted copy of them all (at two million hosts that copy, made
 * while the report's own peak, raised a run's peak RSS by 11 MiB past 64):
 * IPv4 in passes over the hosts, each over a range of /16s holding at most
 * PASS_HOSTS of them (or one /16), sorted alone; the stream goes out as
 * base64 as it is made. */

/* What the state says of a host without a record there (hosts.h bits). */
static unsigned bits_of(struct host_table *t, const struct nb_folds *fo, const struct ip_addr *a)
{
    const struct host_rec *h = host_table_find(t, a);
    unsigned bits = 0;
    if (h)
        bits = host_rec_compact_bits(h);
    else
        host_table_compact_find(t, a, &bits);
    /* a flow of its the state folded (rows()) */
    return bits | HOST_C_PRESENT | (g_hash_table_lookup(fo->unlisted, a) ? HOST_C_UNLISTED : 0);
}

/* The rows folded past the cap, carried whole when they are a run's own
 * (at most MSTATE_NB_MORE_CAP): netbios.rows_more = {"n": N, "zlib": ...},
 * a zlib stream of rows in binary (parsing them as JSON trees cost about
 * 100,000 instructions a row: row_put() says the layout), and
 * overflow_run, the overflow without them.  A reader that knows them folds
 * the rows as rows and takes the folding's marks back
 * (mstate_fold_nb_past()); one that does not reads the state as before
 * (rows folded, counted in rows_folded, the host counts that rest on them
 * labelled estimates). */
#define ROW_FIXED 98u        /* a binary row's bytes before its names, at most (IPv6) */
#define ROW_NAME_MAX 256u    /* a name's bytes at most (rows[]: 256 characters) */
#define ROW_MORE_UNLISTED 0x80u /* flags: the run counts flows of its client as not itemised */

/* A row in binary: proto, client (family, then 4 bytes for IPv4, 16 for
 * IPv6), client port, server (the same), server port, service (1, 1+4|16,
 * 2, 1+4|16, 2, 1), packets,
 * bytes, first and last seen (8 each, big-endian, times as int64), flags
 * (syn, synack, rst_from_server, icmp_refused, server_spoke,
 * nbss_elsewhere: bits 0-5; ROW_MORE_UNLISTED), requests, queries,
 * responses, queries_answered, queries_untracked, names_dropped (4 each),
 * then the names: their count (1), each its length (2) and bytes. */
static void row_put(struct zput *z, const struct nb_flow *f, bool unlisted)
{
    uint8_t h[ROW_FIXED], *p = h;
    *p++ = f->proto;
    *p++ = f->client.family;
    memcpy(p, f->client.bytes, f->client.family == 4 ? 4 : 16), p += f->client.family == 4 ? 4 : 16;
    mstate_put_be(p, f->client_port, 2), p += 2;
    *p++ = f->server.family;
    memcpy(p, f->server.bytes, f->server.family == 4 ? 4 : 16), p += f->server.family == 4 ? 4 : 16;
    mstate_put_be(p, f->server_port, 2), p += 2;
    *p++ = (uint8_t)f->service;
    mstate_put_be(p, f->packets, 8), p += 8;
    mstate_put_be(p, f->bytes, 8), p += 8;
    mstate_put_be(p, (uint64_t)f->first_seen, 8), p += 8;
    mstate_put_be(p, (uint64_t)f->last_seen, 8), p += 8;
    *p++ = (uint8_t)(f->syn | f->synack << 1 | f->rst_from_server << 2 | f->icmp_refused << 3 | f->server_spoke << 4 |
                     f->nbss_elsewhere << 5 | (unlisted ? ROW_MORE_UNLISTED : 0));
    const uint32_t counts[] = { f->requests, f->queries, f->responses, f->queries_answered, f->queries_untracked,
                                f->names_dropped };
    for (size_t i = 0; i < G_N_ELEMENTS(counts); i++)
        mstate_put_be(p, counts[i], 4), p += 4;
    guint nn = f->names ? f->names->len : 0;
    *p++ = (uint8_t)nn;
    zput_bytes(z, h, (size_t)(p - h));
    for (guint i = 0; i < nn; i++) {
        char *v = g_utf8_make_valid(g_ptr_array_index(f->names, i), -1);
        size_t len = strlen(v) < ROW_NAME_MAX ? strlen(v) : ROW_NAME_MAX;
        while (len && !g_utf8_validate(v, (gssize)len, NULL)) /* cut inside a character: back to its start */
            len--;
        uint8_t l2[2];
        mstate_put_be(l2, len, 2);
        zput_bytes(z, l2, 2);
        zput_bytes(z, (const uint8_t *)v, len);
        g_free(v);
    }
}

/* ---- the records past MSTATE_HOSTS_CAP, carried (records_more) -------- */

/* A record as bytes: family, address (4 or 16), nb_roles, services_sent,
 * refused, nb_flows, nb_flows_served, nb_flows_unlisted (4 each),
 * nb_packets_sent, first_seen, last_seen (8 each), big-endian.  Review: a
 * host past the state's 2,048 records came back from the compact set with
 * the part's first packet as its first and last seen and no flows or
 * packets, in every report with more NetBIOS hosts, even the merge of
 * one report alone. */
#define REC_MORE_MAX (1 + 16 + 3 + 12 + 24)

static size_t rec_more_put(uint8_t *p, const struct host_rec *h, uint32_t unlisted)
{
    uint8_t *q = p;
    size_t al = h->addr.family == 6 ? 16 : 4;
    *q++ = h->addr.family;
    memcpy(q, h->addr.bytes, al), q += al;
    *q++ = h->nb_roles;
    *q++ = h->services_sent;
    *q++ = h->refused;
    mstate_put_be(q, h->nb_flows, 4), q += 4;
    mstate_put_be(q, h->nb_flows_served, 4), q += 4;
    uint64_t ul = (uint64_t)h->nb_flows_unlisted + unlisted;
    mstate_put_be(q, ul > UINT32_MAX ? UINT32_MAX : ul, 4), q += 4;
    mstate_put_be(q, h->nb_packets_sent, 8), q += 8;
    mstate_put_be(q, (uint64_t)h->first_seen, 8), q += 8;
    mstate_put_be(q, (uint64_t)h->last_seen, 8), q += 8;
    return (size_t)(q - p);
}

/* The m records ranked after the state's (r, in rank order). */
static void records_more(struct json *b, struct host_table *t, const struct rank *r, uint32_t m,
                         const struct nb_folds *fo)
{
    struct zput *z = g_new(struct zput, 1);
    zput_begin(z, b, "records_more", m, 1);
    for (uint32_t i = 0; i < m; i++) {
        const struct host_rec *h = host_table_at(t, r[i].i);
        uint8_t e[REC_MORE_MAX];
        zput_bytes(z, e, rec_more_put(e, h, GPOINTER_TO_UINT(g_hash_table_lookup(fo->unlisted, &h->addr))));
    }
    zput_end(z, b);
    g_free(z);
}

/* The record at p (len bytes there): its size, 0 when more bytes are
 * needed, -1 (the reason in g) when it is not one smbscope writes. */
static int64_t rec_more_get(struct jget *g, const struct jpath *ip, const uint8_t *p, size_t len, struct host_rec *h)
{
    if (len < 1)
        return 0;
    if (p[0] != 4 && p[0] != 6) {
        jget_fail(g, ip, "addr: not an IPv4 or IPv6 address");
        return -1;
    }
    size_t al = p[0] == 6 ? 16 : 4, need = 1 + al + 3 + 12 + 24;
    if (len < need)
        return 0;
    memset(h, 0, sizeof *h);
    const uint8_t *q = p;
    h->addr.family = *q++;
    memcpy(h->addr.bytes, q, al), q += al;
    h->nb_roles = *q++;
    h->services_sent = *q++;
    h->refused = *q++;
    h->nb_flows = (uint32_t)mstate_get_be(q, 4), q += 4;
    h->nb_flows_served = (uint32_t)mstate_get_be(q, 4), q += 4;
    h->nb_flows_unlisted = (uint32_t)mstate_get_be(q, 4), q += 4;
    h->nb_packets_sent = mstate_get_be(q, 8), q += 8;
    h->first_seen = (int64_t)mstate_get_be(q, 8), q += 8;
    h->last_seen = (int64_t)mstate_get_be(q, 8);
    const char *why = NULL;
    if (h->nb_roles > 15 || h->services_sent > 7) /* the records' reader's bounds (mstate_read.c) */
        why = "nb_roles or services_sent: bits this smbscope does not write";
    else if (h->nb_packets_sent > INT64_MAX)
        why = "nb_packets_sent past 2^63";
    else if (h->first_seen < -JGET_TS_MAX || h->first_seen > JGET_TS_MAX || h->last_seen < -JGET_TS_MAX ||
             h->last_seen > JGET_TS_MAX)
        why = "not a capture time (microseconds within 2^62 of 1970)";
    if (why) {
        jget_fail(g, ip, why);
        return -1;
    }
    return (int64_t)need;
}

struct more_records {
    struct host_table *t;
    GArray *addrs;
};

static int64_t take_record(void *ctx, struct jget *g, const struct jpath *ip, const uint8_t *p, size_t len)
{
    struct more_records *m = ctx;
    struct host_rec h;
    int64_t used = rec_more_get(g, ip, p, len, &h);
    if (used > 0) {
        host_table_fold(m->t, &h);
        g_array_append_val(m->addrs, h.addr);
    }
    return used;
}

GArray *mstate_fold_records_more(struct jget *g, const struct jpath *hp, struct host_table *t, JsonObject *ho)
{
    if (g->failed || !ho || !json_object_has_member(ho, "records_more"))
        return NULL;
    struct jpath mp;
    jpath_key(&mp, hp, "records_more");
    JsonObject *c = jget_obj(g, hp, ho, "records_more");
    uint64_t n = jget_u64(g, &mp, c, "n", MSTATE_HOSTS_MORE_CAP);
    const char *b64 = c ? jget_str(g, &mp, c, "zlib", (size_t)MSTATE_HOSTS_MORE_CAP * REC_MORE_MAX / 3 * 4 + 64, false)
                        : NULL;
    if (g->failed || !b64)
        return NULL;
    struct more_records m = { t, g_array_new(FALSE, FALSE, sizeof(struct ip_addr)) };
    zread_records(g, &mp, b64, n, 64 * REC_MORE_MAX, take_record, &m, "records");
    return m.addrs;
}

/* Whether the run counts a host's flows as not itemised (its own rows
 * past the ledger's cap), without the state's folding. */
static bool run_unlisted(struct host_table *t, const struct ip_addr *a)
{
    const struct host_rec *h = host_table_find(t, a);
    unsigned bits = 0;
    if (h)
        return h->nb_flows_unlisted > 0;
    return host_table_compact_find(t, a, &bits) >= 0 && (bits & HOST_C_UNLISTED);
}

static void rows_more(struct json *b, const struct analysis *a, const struct rank *r, uint32_t kept, uint32_t n)
{
    struct nb_ledger *l = a->ledger;
    struct host_table *t = nb_ledger_hosts_mut(l);
    const struct nb_overflow *o = nb_ledger_overflow(l);
    json_key(b, "overflow_run");
    json_begin_object(b);
    KINTS(b, { "packets", o->packets }, { "bytes", o->bytes }, { "nbns", o->by_service[NB_SERVICE_NBNS] },
          { "nbdgm", o->by_service[NB_SERVICE_NBDGM] }, { "nbss", o->by_service[NB_SERVICE_NBSS] });
    kts(b, "first_seen", o->first_seen);
    kts(b, "last_seen", o->last_seen);
    /* past 4,096 its hashes too (exact_more): with the rows carried, a
     * merge counts the run's flows exactly (evidence.netbios_flows) */
    mstate_put_distinct_carried(b, "flows", nb_ledger_overflow_set(l), MSTATE_EXACT_CAP);
    json_end_object(b);
    struct zput *z = g_new(struct zput, 1);
    /* zlib's fastest level: at 6 the stream of 14,336 rows was a sixth of
     * a run's instructions (190 M of 1,308 M on 66,669 NBNS clients) */
    zput_begin(z, b, "rows_more", n - kept, 1);
    for (uint32_t i = kept; i < n; i++) {
        const struct nb_flow *f = nb_ledger_row(l, r[i].i);
        row_put(z, f, run_unlisted(t, &f->client));
    }
    zput_end(z, b);
    g_free(z);
}

/* The hosts the state keeps no record of, one at a time: the records past
 * r[kept] then the compact set.  False at the end. */
struct host_walk {
    struct host_table *t;
    const struct rank *r;
    uint32_t kept, n, i, slot, slots;
};

static bool walk_next(struct host_walk *w, struct ip_addr *a)
{
    if (w->i < w->n) {
        *a = host_table_at(w->t, w->r[w->i++].i)->addr;
        return true;
    }
    unsigned bits;
    while (w->slot < w->slots)
        if (host_table_compact_at(w->t, w->slot++, a, &bits))
            return true;
    return false;
}

static void walk_start(struct host_walk *w) { w->i = w->kept, w->slot = 0; }

static uint32_t v4_word(const struct ip_addr *a)
{
    return (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 | (uint32_t)a->bytes[2] << 8 | a->bytes[3];
}

/* IPv4 hosts a pass sorts at most (more only in a single /16): 512 KiB. */
#define PASS_HOSTS 131072u

static gint by_word(gconstpointer pa, gconstpointer pb)
{
    uint32_t x = *(const uint32_t *)pa, y = *(const uint32_t *)pb;
    return (x > y) - (x < y);
}

static gint by_addr16(gconstpointer pa, gconstpointer pb) { return memcmp(pa, pb, 16); }

/* The hosts of t past the records kept (r[kept..n)) and its compact set;
 * returns how many were left out (past the caps). */
static uint64_t compact_hosts(struct json *b, struct host_table *t, const struct rank *r, uint32_t kept, uint32_t n,
                              const struct nb_folds *fo)
{
    struct host_walk w = { t, r, kept, n, kept, 0, host_table_compact_slots(t) };
    struct ip_addr a;
    uint64_t n4 = 0, n6 = 0, left = 0;
    uint32_t *per16 = g_new0(uint32_t, 65536); /* IPv4 hosts per /16: the passes' ranges */
    while (walk_next(&w, &a)) {
        n4 += a.family == 4, n6 += a.family == 6, left += a.family != 4 && a.family != 6;
        if (a.family == 4)
            per16[v4_word(&a) >> 16]++;
    }
    uint64_t w4 = n4 < MSTATE_COMPACT_HOSTS_CAP ? n4 : MSTATE_COMPACT_HOSTS_CAP;
    uint64_t w6 = n6 <= MSTATE_COMPACT_V6_CAP && w4 + n6 <= MSTATE_COMPACT_HOSTS_CAP ? n6 : 0;
    left += n4 - w4 + n6 - w6;
    struct zput *z = g_new(struct zput, 1);
    if (w4) {
        zput_begin(z, b, "compact_v4", w4, 6);
        GArray *pass = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        uint32_t prev = 0;
        uint64_t put = 0;
        for (uint32_t lo = 0; lo < 65536 && put < w4;) {
            /* the /16s of this pass: at least one (at most 65,536 hosts),
             * then as many as fit in PASS_HOSTS */
            uint32_t hi = lo, in = 0;
            do
                in += per16[hi++];
            while (hi < 65536 && in + per16[hi] <= PASS_HOSTS);
            g_array_set_size(pass, 0);
            walk_start(&w);
            while (walk_next(&w, &a))
                if (a.family == 4 && v4_word(&a) >> 16 >= lo && v4_word(&a) >> 16 < hi) {
                    uint32_t v = v4_word(&a);
                    g_array_append_val(pass, v);
                }
            lo = hi;
            g_array_sort(pass, by_word);
            for (guint i = 0; i < pass->len && put < w4; i++, put++) {
                uint32_t v = g_array_index(pass, uint32_t, i), d = v - prev;
                struct ip_addr x;
                memset(&x, 0, sizeof x);
                x.family = 4;
                for (int j = 0; j < 4; j++)
                    x.bytes[j] = (uint8_t)(v >> (24 - 8 * j));
                uint8_t e[5] = { (uint8_t)(d >> 24), (uint8_t)(d >> 16), (uint8_t)(d >> 8), (uint8_t)d,
                                 (uint8_t)bits_of(t, fo, &x) };
                zput_bytes(z, e, sizeof e);
                prev = v;
            }
        }
        g_array_free(pass, TRUE);
        zput_end(z, b);
    }
    g_free(per16);
    if (w6) {
        zput_begin(z, b, "compact_v6", w6, 6);
        GArray *all = g_array_sized_new(FALSE, FALSE, 16, (guint)w6);
        walk_start(&w);
        while (walk_next(&w, &a))
            if (a.family == 6)
                g_array_append_vals(all, a.bytes, 1);
        g_array_sort(all, by_addr16);
        for (guint i = 0; i < all->len; i++) {
            uint8_t e[17];
            struct ip_addr x;
            memset(&x, 0, sizeof x);
            x.family = 6;
            memcpy(x.bytes, (const uint8_t *)all->data + (size_t)i * 16, 16);
            memcpy(e, x.bytes, 16);
            e[16] = (uint8_t)bits_of(t, fo, &x);
            zput_bytes(z, e, sizeof e);
        }
        g_array_free(all, TRUE);
        zput_end(z, b);
    }
    g_free(z);
    return left;
}

/* Entries inflated and folded at a time: the stream is never whole in
 * memory (2,162,688 IPv4 entries are 10.8 MB inflated, from a few KB). */
#define FOLD_CHUNK 4096u

/* The entries of a compact stream, checked and folded a chunk at a time. */
struct unpack {
    uint64_t v;          /* IPv4: the address before (the deltas' sum) */
    uint64_t done;       /* entries taken */
    uint8_t last6[16];   /* IPv6: the address before */
    /* addresses whose flows not itemised are the state's folding's alone
     * (mstate_fold_nb_past()), sorted: their bit taken out */
    const struct ip_addr *strip;
    guint nstrip, at_strip;
    struct ip_addr a[FOLD_CHUNK];
    uint8_t bits[FOLD_CHUNK];
};

/* m entries of e (stride width + 1) checked into u->a / u->bits; false
 * (refused, the reason in g) when one is not what the writer puts. */
static bool unpack_entries(struct jget *g, const struct jpath *kp, struct unpack *u, const uint8_t *e, uint32_t m,
                           size_t width)
{
    const size_t stride = width + 1; /* [address, bits] */
    for (uint32_t k = 0; k < m; k++, e += stride) {
        struct ip_addr *a = &u->a[k];
        memset(a, 0, sizeof *a);
        a->family = width == 4 ? 4 : 6;
        bool first = !u->done && !k;
        if (width == 4) {
            uint32_t d = (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3];
            u->v += d;
            if ((!first && !d) || u->v > UINT32_MAX) {
                jget_fail(g, kp, "addresses not in order");
                return false;
            }
            for (int j = 0; j < 4; j++)
                a->bytes[j] = (uint8_t)(u->v >> (24 - 8 * j));
        } else {
            memcpy(a->bytes, e, 16);
            if (!first && memcmp(k ? u->a[k - 1].bytes : u->last6, e, 16) >= 0) {
                jget_fail(g, kp, "addresses not in order");
                return false;
            }
        }
        unsigned bits = e[width];
        if (!(bits & HOST_C_PRESENT) || (bits & ~(15u | HOST_C_UNLISTED | HOST_C_REFUSED | HOST_C_PRESENT))) {
            jget_fail(g, kp, "bits this smbscope does not write");
            return false;
        }
        u->bits[k] = (uint8_t)(bits & ~(unsigned)HOST_C_PRESENT);
        while (u->at_strip < u->nstrip && memcmp(u->strip[u->at_strip].bytes, a->bytes, 16) < 0)
            u->at_strip++;
        if (u->at_strip < u->nstrip && !memcmp(u->strip[u->at_strip].bytes, a->bytes, 16))
            u->bits[k] &= (uint8_t)~HOST_C_UNLISTED;
    }
    return true;
}

static void fold_compact(struct jget *g, const struct jpath *p, struct host_table *t, JsonObject *o, const char *k,
                         size_t width, int64_t ts, const GArray *strip)
{
    struct jpath kp;
    jpath_key(&kp, p, k);
    JsonObject *c = jget_obj(g, p, o, k);
    /* what the writer puts: IPv6 at most MSTATE_COMPACT_V6_CAP */
    uint64_t cap = width == 16 ? MSTATE_COMPACT_V6_CAP : MSTATE_COMPACT_HOSTS_CAP;
    uint64_t n = jget_u64(g, &kp, c, "n", cap);
    const char *b64 = c ? jget_str(g, &kp, c, "zlib", 4 * cap * (width + 1), false) : NULL;
    if (g->failed || !b64)
        return;
    if (!zrec_b64_ok(g, &kp, b64))
        return;
    gsize zlen = 0;
    guchar *z = g_base64_decode(b64, &zlen);
    const size_t stride = width + 1;
    /* inflated a chunk at a time: a stream of exactly n entries, ending
     * there (uncompress()'s checks: a longer or shorter one is refused) */
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    struct unpack *u = g_new(struct unpack, 1);
    uint8_t *buf = g_malloc(FOLD_CHUNK * stride);
    u->v = 0;
    u->done = 0;
    u->strip = strip ? (const struct ip_addr *)(const void *)strip->data : NULL;
    u->nstrip = strip ? strip->len : 0;
    u->at_strip = 0;
    bool ok = inflateInit(&zs) == Z_OK;
    /* room for them all at once (past the records: what the caps leave;
     * a stream of fewer is refused below) */
    host_table_compact_reserve(t, width == 4 ? 4 : 6, n);
    zs.next_in = z;
    zs.avail_in = (uInt)zlen;
    size_t have = 0; /* bytes of buf inflated, not yet taken (less than an entry) */
    int rc = Z_OK;
    while (ok && !g->failed) {
        zs.next_out = buf + have;
        zs.avail_out = (uInt)(FOLD_CHUNK * stride - have);
        rc = inflate(&zs, Z_NO_FLUSH);
        have = FOLD_CHUNK * stride - zs.avail_out;
        uint32_t m = (uint32_t)(have / stride);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            ok = false;
            break;
        }
        if (m > n - u->done) { /* longer than n entries */
            ok = false;
            break;
        }
        if (m) {
            if (!unpack_entries(g, &kp, u, buf, m, width))
                break;
            host_table_fold_bits_many(t, u->a, u->bits, m, ts);
            u->done += m;
            memcpy(u->last6, u->a[m - 1].bytes, 16); /* for the next chunk's order check */
            memmove(buf, buf + (size_t)m * stride, have - (size_t)m * stride);
            have -= (size_t)m * stride;
        }
        if (rc == Z_STREAM_END)
            break;
    }
    inflateEnd(&zs);
    g_free(z);
    if (!g->failed && (!ok || rc != Z_STREAM_END || have || u->done != n))
        jget_fail(g, &kp, "zlib: not a zlib stream of n hosts");
    g_free(buf);
    g_free(u);
}

static void fold_compact_sets(struct jget *g, const struct jpath *p, struct host_table *t, JsonObject *o, int64_t ts,
                              const GArray *strip4, const GArray *strip6)
{
    /* absent: none (or written before they were carried: "folded" counts them) */
    if (!g->failed && o && json_object_has_member(o, "compact_v4"))
        fold_compact(g, p, t, o, "compact_v4", 4, ts, strip4);
    if (!g->failed && o && json_object_has_member(o, "compact_v6"))
        fold_compact(g, p, t, o, "compact_v6", 16, ts, strip6);
}

/* ---- the rows past the cap, carried (rows_more) ----------------------- */

struct more_client {
    uint32_t rows;  /* carried rows it is the client of */
    bool unlisted;  /* the run counts flows of its as not itemised (without the folding) */
};

struct more {
    GArray *rows;        /* struct nb_flow (names owned) */
    GHashTable *clients; /* struct ip_addr* -> struct more_client* */
};

/* The bytes of an address of a binary row by its family (0: neither). */
static size_t row_addr_len(uint8_t family) { return family == 4 ? 4 : family == 6 ? 16 : 0; }

static void row_addr(const uint8_t *p, struct ip_addr *a)
{
    memset(a, 0, sizeof *a);
    a->family = p[0];
    memcpy(a->bytes, p + 1, row_addr_len(p[0]));
}

/* The binary row at p (len bytes there): its size when whole and what
 * smbscope writes (f filled, names owned), 0 when more bytes are needed,
 * -1 (the reason in g) when it is not. */
static int64_t row_get(struct jget *g, const struct jpath *ip, const uint8_t *p, size_t len, struct nb_flow *f,
                       bool *unlisted)
{
    /* the fixed part's length from the two families */
    if (len < 2)
        return 0;
    size_t cl = row_addr_len(p[1]);
    if (!cl) {
        jget_fail(g, ip, "client: not an IPv4 or IPv6 address");
        return -1;
    }
    if (len < 2 + cl + 3)
        return 0;
    size_t sl = row_addr_len(p[2 + cl + 2]);
    if (!sl) {
        jget_fail(g, ip, "server: not an IPv4 or IPv6 address");
        return -1;
    }
    size_t fixed = ROW_FIXED - 32 + cl + sl;
    if (len < fixed)
        return 0;
    size_t need = fixed;
    for (unsigned i = 0; i < p[fixed - 1]; i++) {
        if (len < need + 2)
            return 0;
        need += 2 + mstate_get_be(p + need, 2);
    }
    if (len < need)
        return 0;
    memset(f, 0, sizeof *f);
    const uint8_t *q = p;
    const char *why = NULL;
    f->proto = *q++;
    row_addr(q, &f->client);
    q += 1 + cl;
    f->client_port = (uint16_t)mstate_get_be(q, 2), q += 2;
    row_addr(q, &f->server);
    q += 1 + sl;
    f->server_port = (uint16_t)mstate_get_be(q, 2), q += 2;
    unsigned service = *q++;
    f->service = (enum nb_service)service;
    f->packets = mstate_get_be(q, 8), q += 8;
    f->bytes = mstate_get_be(q, 8), q += 8;
    f->first_seen = (int64_t)mstate_get_be(q, 8), q += 8;
    f->last_seen = (int64_t)mstate_get_be(q, 8), q += 8;
    unsigned flags = *q++;
    f->syn = flags & 1, f->synack = flags >> 1 & 1, f->rst_from_server = flags >> 2 & 1;
    f->icmp_refused = flags >> 3 & 1, f->server_spoke = flags >> 4 & 1, f->nbss_elsewhere = flags >> 5 & 1;
    *unlisted = flags & ROW_MORE_UNLISTED;
    uint32_t *counts[] = { &f->requests, &f->queries, &f->responses, &f->queries_answered, &f->queries_untracked,
                           &f->names_dropped };
    for (size_t i = 0; i < G_N_ELEMENTS(counts); i++)
        *counts[i] = (uint32_t)mstate_get_be(q, 4), q += 4;
    unsigned nn = *q++;
    if (f->proto != 6 && f->proto != 17)
        why = "proto: neither 6 (TCP) nor 17 (UDP)";
    else if (service > NB_SERVICE_NBSS)
        why = "service: not one smbscope writes";
    else if (f->packets > INT64_MAX || f->bytes > INT64_MAX)
        why = "packets or bytes past 2^63";
    else if (f->first_seen < -JGET_TS_MAX || f->first_seen > JGET_TS_MAX || f->last_seen < -JGET_TS_MAX ||
             f->last_seen > JGET_TS_MAX)
        why = "not a capture time (microseconds within 2^62 of 1970)";
    else if (flags & 0x40)
        why = "flags: bits this smbscope does not write";
    else if (nn > 32)
        why = "names: more than its cap";
    for (unsigned i = 0; !why && i < nn; i++) {
        size_t n = (size_t)mstate_get_be(q, 2);
        const char *s = (const char *)q + 2;
        if (n > ROW_NAME_MAX || memchr(s, 0, n) || !g_utf8_validate(s, (gssize)n, NULL)) {
            why = "names: not a name smbscope writes";
            break;
        }
        char *v = g_strndup(s, n);
        nb_flow_add_name(f, v);
        g_free(v);
        q += 2 + n;
    }
    if (why) {
        if (f->names)
            g_ptr_array_free(f->names, TRUE);
        f->names = NULL;
        jget_fail(g, ip, why);
        return -1;
    }
    return (int64_t)need;
}

/* netbios.rows_more read whole into m (at most MSTATE_NB_MORE_CAP rows,
 * inflated a chunk at a time). */
static int64_t take_row(void *ctx, struct jget *g, const struct jpath *ip, const uint8_t *p, size_t len)
{
    struct more *m = ctx;
    struct nb_flow f;
    bool unlisted = false;
    int64_t used = row_get(g, ip, p, len, &f, &unlisted);
    if (used <= 0)
        return used;
    g_array_append_val(m->rows, f);
    struct more_client *mc = g_hash_table_lookup(m->clients, &f.client);
    if (!mc) {
        mc = g_new0(struct more_client, 1);
        g_hash_table_insert(m->clients, g_memdup2(&f.client, sizeof f.client), mc);
    }
    mc->rows++;
    mc->unlisted |= unlisted;
    return used;
}

static void more_read(struct jget *g, const struct jpath *np, JsonObject *no, struct more *m)
{
    struct jpath mp;
    jpath_key(&mp, np, "rows_more");
    JsonObject *c = jget_obj(g, np, no, "rows_more");
    uint64_t n = jget_u64(g, &mp, c, "n", MSTATE_NB_MORE_CAP);
    const size_t row_max = ROW_FIXED + 32 * (2 + ROW_NAME_MAX);
    const char *b64 = c ? jget_str(g, &mp, c, "zlib", (size_t)MSTATE_NB_MORE_CAP * row_max / 3 * 4, false) : NULL;
    if (g->failed || !b64)
        return;
    zread_records(g, &mp, b64, n, 65536 /* more than a row at most (row_max) */, take_row, m, "rows");
}

static gint by_addr(gconstpointer pa, gconstpointer pb)
{
    return memcmp(((const struct ip_addr *)pa)->bytes, ((const struct ip_addr *)pb)->bytes, 16);
}

void mstate_nb_fold_row(struct nb_ledger *l, const struct nb_flow *f)
{
    struct host_table *t = nb_ledger_hosts_mut(l);
    guint rows = nb_ledger_count(l);
    bool joined = false;
    nb_ledger_fold_row(l, f, &joined);
    if (joined) { /* a flow two runs both saw: the second run's hosts counted it again */
        host_table_unjoin_nb_flow(t, &f->client, &f->server);
    } else if (nb_ledger_count(l) == rows) {
        /* past the ledger's cap: one run counts the flow among its
         * client's flows not itemised (netbios.c note_hosts()); which
         * flows one run itemises (the first in time) the order of folding
         * need not give: the counts that rest on rows are estimates */
        struct host_rec *c = host_table_find(t, &f->client);
        if (c)
            c->nb_flows_unlisted++;
        else
            host_table_compact_or(t, &f->client, HOST_C_UNLISTED);
        nb_ledger_mark_fold_inexact(l);
    }
}

/* A client of carried rows with a record in the state: the folding's
 * flows not itemised taken back from it. */
static void unfold_unlisted(struct nb_ledger *l, struct host_table *t, const struct more *m, const struct ip_addr *x)
{
    const struct more_client *c = g_hash_table_lookup(m->clients, x);
    if (!c)
        return;
    struct host_rec *h = host_table_find(t, x);
    if (h)
        h->nb_flows_unlisted -= c->rows < h->nb_flows_unlisted ? c->rows : h->nb_flows_unlisted;
    else if (!c->unlisted)
        nb_ledger_mark_fold_inexact(l);
}

uint64_t mstate_fold_nb_past(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, int64_t ts,
                             const GArray *more_records)
{
    struct nb_ledger *l = a->ledger;
    struct host_table *t = nb_ledger_hosts_mut(l);
    struct jpath hp, np;
    jpath_key(&hp, p, "hosts");
    jpath_key(&np, p, "netbios");
    JsonObject *ho = jget_obj(g, p, st, "hosts"), *no = jget_obj(g, p, st, "netbios");
    struct more m = { g_array_new(FALSE, FALSE, sizeof(struct nb_flow)),
                      g_hash_table_new_full(addr_hash, addr_equal, g_free, g_free) };
    if (!g->failed && no && json_object_has_member(no, "rows_more"))
        more_read(g, &np, no, &m);
    /* the state's compact hosts, the clients whose mark of flows not
     * itemised is the folding's alone without it */
    GArray *strip[2] = { g_array_new(FALSE, FALSE, sizeof(struct ip_addr)),
                         g_array_new(FALSE, FALSE, sizeof(struct ip_addr)) };
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m.clients);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const struct ip_addr *x = k;
        if (!((struct more_client *)v)->unlisted && (x->family == 4 || x->family == 6))
            g_array_append_vals(strip[x->family == 6], x, 1);
    }
    g_array_sort(strip[0], by_addr);
    g_array_sort(strip[1], by_addr);
    fold_compact_sets(g, &hp, t, ho, ts, strip[0], strip[1]);
    g_array_free(strip[0], TRUE);
    g_array_free(strip[1], TRUE);
    /* the state's records of their clients: the folding's flows not
     * itemised taken back (folded into a record here; into the compact
     * set, where an or cannot be taken back: the counts are estimates) */
    JsonArray *recs = m.rows->len && ho ? jget_arr(g, &hp, ho, "records", MSTATE_HOSTS_CAP) : NULL;
    for (guint i = 0; recs && !g->failed && i < json_array_get_length(recs); i++) {
        JsonArray *r = jget_node_arr(json_array_get_element(recs, i));
        JsonNode *an = r && json_array_get_length(r) ? json_array_get_element(r, 0) : NULL;
        const char *s = an && JSON_NODE_HOLDS_VALUE(an) && json_node_get_value_type(an) == G_TYPE_STRING
                            ? json_node_get_string(an) : NULL;
        struct ip_addr x;
        if (!s || !jget_parse_addr(s, &x))
            continue; /* refused by the records' reader already */
        unfold_unlisted(l, t, &m, &x);
    }
    for (guint i = 0; m.rows->len && more_records && i < more_records->len; i++)
        unfold_unlisted(l, t, &m, &g_array_index(more_records, struct ip_addr, i));
    /* the rows themselves, as the state's rows[] */
    for (guint i = 0; i < m.rows->len; i++) {
        struct nb_flow *f = &g_array_index(m.rows, struct nb_flow, i);
        if (!g->failed)
            mstate_nb_fold_row(l, f);
        if (f->names)
            g_ptr_array_free(f->names, TRUE);
    }
    uint64_t carried = m.rows->len;
    g_array_free(m.rows, TRUE);
    g_hash_table_destroy(m.clients);
    return carried;
}

static void hosts(struct json *b, const struct analysis *a, const struct nb_folds *fo)
{
    struct host_table *t = nb_ledger_hosts_mut(a->ledger);
    uint32_t n = host_table_size(t);
    struct rank *r = g_new(struct rank, n ? n : 1);
    /* the hosts of the rows kept first (a row whose host has no record
     * would be a host the report lists besides the estimate), then the
     * most involved: flows, then packets */
    for (uint32_t i = 0; i < n; i++) {
        const struct host_rec *h = host_table_at(t, i);
        uint64_t flows = (uint64_t)h->nb_flows + h->nb_flows_served, pk = h->nb_packets_sent;
        uint64_t inv = (flows > 0xFFFFFu ? 0xFFFFFu : flows) << 40 | (pk > 0xFFFFFFFFFFu ? 0xFFFFFFFFFFu : pk);
        bool row = g_hash_table_contains(fo->row_hosts, &h->addr);
        r[i] = (struct rank){ (row ? INT64_MIN / 2 : 0) - (int64_t)(inv >> 2), i };
    }
    uint32_t kept = n < MSTATE_HOSTS_CAP ? n : MSTATE_HOSTS_CAP;
    keep_first(r, n, kept);
    json_key(b, "hosts");
    json_begin_object(b);
    names_of(b, "record_fields", mstate_host_fields, MSTATE_HOST_FIELDS);
    json_key(b, "records");
    json_begin_array(b);
    for (uint32_t i = 0; i < kept; i++) {
        const struct host_rec *h = host_table_at(t, r[i].i);
        host_rec(b, h, GPOINTER_TO_UINT(g_hash_table_lookup(fo->unlisted, &h->addr)));
    }
    json_end_array(b);
    if (n > kept)
        records_more(b, t, r + kept, n - kept < MSTATE_HOSTS_MORE_CAP ? n - kept : MSTATE_HOSTS_MORE_CAP, fo);
    uint64_t left = compact_hosts(b, t, r, kept, n, fo);
    g_free(r);
    KINTS(b, { "cap", MSTATE_HOSTS_CAP }, { "folded", left + a->state_folded.hosts });
    const struct ip_addr *bc;
    uint32_t nbc = host_table_broadcasts(t, &bc);
    json_key(b, "broadcasts");
    json_begin_array(b);
    for (uint32_t i = 0; i < nbc; i++) {
        char buf[FMT_ADDR_LEN];
        json_str(b, fmt_addr(&bc[i], buf));
    }
    json_end_array(b);
    bool est;
    host_table_total(t, &est);
    if (est || left || a->state_folded.hosts) /* the estimator holds every address, those left out too */
        mstate_put_distinct(b, "all", host_table_all(t), 0);
    json_end_object(b);
}

void mstate_build_netbios(struct json *b, const struct analysis *a)
{
    struct nb_folds fo = { 0, g_hash_table_new_full(addr_hash, addr_equal, g_free, NULL),
                           g_hash_table_new_full(addr_hash, addr_equal, g_free, NULL) };
    json_key(b, "netbios");
    json_begin_object(b);
    rows(b, a, &fo);
    const struct nb_non_ip *n = nb_ledger_non_ip_counts(a->ledger);
    json_key(b, "non_ip");
    json_begin_object(b);
    KINTS(b, { "netbeui", n->netbeui }, { "nbipx", n->nbipx });
    kts(b, "first_seen", n->first_seen);
    kts(b, "last_seen", n->last_seen);
    json_end_object(b);
    json_end_object(b);
    hosts(b, a, &fo);
    g_hash_table_destroy(fo.unlisted);
    g_hash_table_destroy(fo.row_hosts);
}
