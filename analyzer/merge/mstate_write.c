/* mstate_write.c - a finished analysis as its merge state; see mstate.h.
 * Every counter is written as a JSON integer (json-glib's gint64: counters
 * past INT64_MAX are clamped, times are microseconds since the epoch). */
#include "mstate.h"

#include <gcrypt.h>
#include <string.h>

#include "census.h"
#include "distinct.h"
#include "fmt.h"
#include "hosts.h"
#include "ipfrag.h"
#include "mstate_canon.h"
#include "mstate_conns.h"
#include "netbios.h"
#include "quic_table.h"
#include "rdma.h"

static void kint(struct json *b, const char *k, uint64_t v)
{
    json_key(b, k);
    json_int(b, v > INT64_MAX ? INT64_MAX : (gint64)v);
}

/* A run of integer members from a table: the state's counters are many,
 * and a table keeps each one a line of name and value. */
struct kv {
    const char *k;
    uint64_t v;
};

static void kints(struct json *b, const struct kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kint(b, kv[i].k, kv[i].v);
}

/* An object member of integers only. */
static void kobj_ints(struct json *b, const char *k, const struct kv *kv, size_t n)
{
    json_key(b, k);
    json_begin_object(b);
    kints(b, kv, n);
    json_end_object(b);
}

#define KINTS(b, ...)                                             \
    do {                                                          \
        const struct kv kv_[] = { __VA_ARGS__ };                  \
        kints(b, kv_, G_N_ELEMENTS(kv_));                         \
    } while (0)
#define KOBJ_INTS(b, name, ...)                                   \
    do {                                                          \
        const struct kv kv_[] = { __VA_ARGS__ };                  \
        kobj_ints(b, name, kv_, G_N_ELEMENTS(kv_));               \
    } while (0)

static void kts(struct json *b, const char *k, int64_t v)
{
    json_key(b, k);
    json_int(b, v);
}

static void kbool(struct json *b, const char *k, bool v)
{
    json_key(b, k);
    json_bool(b, v);
}

/* Bytes of any kind as valid UTF-8 (json-glib writes strings as given). */
static void kstr(struct json *b, const char *k, const char *s)
{
    json_key(b, k);
    if (!s) {
        json_null(b);
        return;
    }
    char *v = g_utf8_make_valid(s, -1);
    json_str(b, v);
    g_free(v);
}

static void kaddr(struct json *b, const char *k, const struct ip_addr *a)
{
    char buf[FMT_ADDR_LEN];
    kstr(b, k, a->family ? fmt_addr(a, buf) : NULL);
}

/* An exact set as its hashes in hex (sorted: the same set, the same text),
 * or the HyperLogLog registers once estimating. */
static gint cmp_u64(gconstpointer pa, gconstpointer pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

void mstate_put_distinct(struct json *b, const char *k, const struct distinct *d)
{
    json_key(b, k);
    json_begin_object(b);
    uint32_t n;
    const uint64_t *slots = distinct_slots(d, &n);
    if (!distinct_is_estimate(d)) {
        GArray *v = g_array_new(FALSE, FALSE, sizeof(uint64_t));
        for (uint32_t i = 0; slots && i < n; i++)
            if (slots[i])
                g_array_append_val(v, slots[i]);
        g_array_sort(v, cmp_u64);
        json_key(b, "exact");
        json_begin_array(b);
        for (guint i = 0; i < v->len; i++) {
            char hex[17];
            snprintf(hex, sizeof hex, "%016" G_GINT64_MODIFIER "x", g_array_index(v, uint64_t, i));
            json_str(b, hex);
        }
        json_end_array(b);
        g_array_free(v, TRUE);
    } else {
        char *hex = g_malloc(2 * DISTINCT_HLL_REGS + 1);
        const uint8_t *r = distinct_hll(d);
        for (uint32_t i = 0; i < DISTINCT_HLL_REGS; i++)
            snprintf(hex + 2 * i, 3, "%02x", r[i]);
        kstr(b, "hll", hex);
        g_free(hex);
        kint(b, "counted", distinct_count(d));
    }
    json_end_object(b);
}

static void inputs(struct json *b, const struct analysis *a)
{
    json_key(b, "inputs");
    json_begin_array(b);
    for (guint i = 0; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        json_begin_object(b);
        kstr(b, "path", in->path);
        kstr(b, "link_type", in->link_type);
        kint(b, "dlt", (uint64_t)(in->dlt < 0 ? 0 : in->dlt));
        kstr(b, "format", in->format);
        kstr(b, "reader", in->reader);
        kbool(b, "gzip", in->gzip);
        KINTS(b, { "packets", in->packets }, { "bytes", in->bytes }, { "wire_bytes", in->wire_bytes });
        kbool(b, "truncated", in->truncated);
        kstr(b, "error", in->error);
        kts(b, "first_ts", in->first_ts);
        kts(b, "last_ts", in->last_ts);
        kstr(b, "capture_filter", in->capture_filter);
        kbool(b, "live", in->live);
        kbool(b, "have_drop_stats", in->have_drop_stats);
        KINTS(b, { "if_received", in->if_received }, { "if_dropped", in->if_dropped },
              { "if_ifdropped", in->if_ifdropped });
        json_key(b, "status");
        json_begin_object(b);
        for (int s = 0; s < PKT_STATUS_COUNT; s++)
            if (in->status[s])
                kint(b, packet_status_name((enum packet_status)s), in->status[s]);
        json_end_object(b);
        json_end_object(b);
    }
    json_end_array(b);
}

static void counters(struct json *b, const struct analysis *a)
{
    json_key(b, "run");
    json_begin_object(b);
    kint(b, "packets", a->packets);
    kts(b, "first_ts", a->first_ts);
    kts(b, "last_ts", a->last_ts);
    kbool(b, "input_error", a->input_error);
    kint(b, "filtered_out", a->filtered_out);
    json_end_object(b);

    struct flow_stats fs = flow_table_stats(a->flows);
    json_key(b, "flows");
    json_begin_object(b);
    KINTS(b, { "conns", fs.conns }, { "max_concurrent", fs.max_concurrent },
          { "evictions", fs.evictions }, { "idle_closes", fs.idle_closes }, { "reuses", fs.reuses },
          { "buffered_peak", fs.buffered_peak }, { "cap_hits", fs.cap_hits },
          { "total_cap_hits", fs.total_cap_hits }, { "non_tcp", fs.non_tcp }, { "time_jumps", fs.time_jumps },
          { "closed_early", fs.closed_early });
    json_end_object(b);

    const struct ipfrag_stats *fr = ipfrag_stats(a->frags);
    KOBJ_INTS(b, "frags", { "fragments", fr->fragments }, { "reassembled", fr->reassembled },
              { "timed_out", fr->timed_out }, { "evicted", fr->evicted }, { "dropped_too_big", fr->dropped_too_big },
              { "dropped_memory", fr->dropped_memory }, { "dropped_malformed", fr->dropped_malformed },
              { "duplicates", fr->duplicates }, { "overlaps", fr->overlaps }, { "active", fr->active });

    struct quic_table_stats q = quic_table_stats(a->quic);
    KOBJ_INTS(b, "quic", { "datagrams", q.datagrams }, { "quic_datagrams", q.quic_datagrams }, { "conns", q.conns },
              { "smb_conns", q.smb_conns }, { "other_conns", q.other_conns }, { "evictions", q.evictions },
              { "decrypt_failures", q.decrypt_failures }, { "undecryptable", q.undecryptable });

    KOBJ_INTS(b, "roce", { "dropped", roce_table_dropped(a->roce) }, { "not_decoded", roce_table_not_decoded(a->roce) },
              { "icrc_bad", roce_table_icrc_bad(a->roce) });

    KOBJ_INTS(b, "iwarp", { "crc_bad", a->iwarp_crc_bad });
}

static void times(struct json *b, const int64_t *t, uint32_t n)
{
    json_begin_array(b);
    for (uint32_t i = 0; i < n && i < CENSUS_SYN_TIMES; i++)
        json_int(b, t[i]);
    json_end_array(b);
}

static gint cmp_str(gconstpointer pa, gconstpointer pb)
{
    return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

/* compact: [client, server, syn139, syn445, port139, [t139...], [t445...]] */
static void pair(struct json *b, const struct census_pair *p)
{
    char buf[FMT_ADDR_LEN];
    json_begin_array(b);
    json_str(b, fmt_addr(&p->client, buf));
    json_str(b, fmt_addr(&p->server, buf));
    json_int(b, p->syn139);
    json_int(b, p->syn445);
    json_int(b, p->port139);
    times(b, p->t139, p->syn139);
    times(b, p->t445, p->syn445);
    json_end_array(b);
}

/* How far a pair's SYNs to 445 are from the capture's first or last
 * packet: 0 for a pair with a SYN to 139 (it decides a finding itself).
 * Only the earliest CENSUS_SYN_TIMES times take part in a race (census.h),
 * in a run and in a merge alike. */
struct pair_rank {
    int64_t dist;
    uint32_t slot;
};

static int64_t edge_distance(const struct census_pair *p, int64_t first, int64_t last)
{
    if (p->syn139)
        return -1;
    int64_t best = INT64_MAX;
    for (uint32_t i = 0; i < p->syn445 && i < CENSUS_SYN_TIMES; i++) {
        int64_t d = p->t445[i] - first < last - p->t445[i] ? p->t445[i] - first : last - p->t445[i];
        best = d < best ? d : best;
    }
    return best;
}

static int pair_rank_cmp(const void *pa, const void *pb)
{
    const struct pair_rank *a = pa, *b = pb;
    if (a->dist != b->dist)
        return a->dist < b->dist ? -1 : 1;
    return (a->slot > b->slot) - (a->slot < b->slot);
}

static void census(struct json *b, const struct analysis *a)
{
    const struct census *c = a->census;
    json_key(b, "census");
    json_begin_object(b);
    KINTS(b, { "snaplen_cut", c->snaplen_cut }, { "snaplen_cut_smb", c->snaplen_cut_smb }, { "snaplen", c->snaplen },
          { "pairs_dropped", c->pairs_dropped }, { "dns_messages", c->dns_messages },
          { "dns_keys_dropped", c->dns_keys_dropped });
    mstate_put_distinct(b, "udp_convs", c->udp_convs);
    GPtrArray *keys = g_ptr_array_new();
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, c->dns_keys);
    while (g_hash_table_iter_next(&it, &key, NULL))
        g_ptr_array_add(keys, key);
    g_ptr_array_sort(keys, cmp_str);
    json_key(b, "dns_keys");
    json_begin_array(b);
    for (guint i = 0; i < keys->len; i++) {
        char *v = g_utf8_make_valid(g_ptr_array_index(keys, i), -1);
        json_str(b, v);
        g_free(v);
    }
    json_end_array(b);
    g_ptr_array_free(keys, TRUE);
    /* At most MSTATE_PAIRS_CAP pairs: first those with a SYN to 139 (they
     * decide a finding), then the 445-only pairs nearest the capture's first
     * or last packet (a 139 SYN of the capture before or after can race
     * them; farther ones only tell merge that a 139-only client of another
     * capture also used 445).  The rest folded, their pairs and SYNs
     * counted (merge adds the SYNs to race_pairs_not_tracked). */
    uint32_t n = 0;
    struct pair_rank *rank = g_new(struct pair_rank, c->pairs_used ? c->pairs_used : 1);
    for (uint32_t s = 0; s < census_pair_slots(c) && n < c->pairs_used; s++) {
        const struct census_pair *p = census_pair_at(c, s);
        if (p)
            rank[n++] = (struct pair_rank){ edge_distance(p, a->first_ts, a->last_ts), s };
    }
    uint64_t folded = 0, folded_syns = 0;
    if (n > MSTATE_PAIRS_CAP) {
        qsort(rank, n, sizeof *rank, pair_rank_cmp);
        for (uint32_t i = MSTATE_PAIRS_CAP; i < n; i++) {
            const struct census_pair *p = census_pair_at(c, rank[i].slot);
            folded++;
            folded_syns += (uint64_t)p->syn139 + p->syn445;
        }
        n = MSTATE_PAIRS_CAP;
    }
    json_key(b, "pairs");
    json_begin_array(b);
    for (uint32_t i = 0; i < n; i++)
        pair(b, census_pair_at(c, rank[i].slot));
    json_end_array(b);
    g_free(rank);
    KINTS(b, { "pairs_cap", MSTATE_PAIRS_CAP }, { "pairs_folded", folded }, { "pair_syns_folded", folded_syns });
    json_end_object(b);
}

static void nb_row(struct json *b, const struct nb_flow *f)
{
    json_begin_object(b);
    kint(b, "proto", f->proto);
    kaddr(b, "client", &f->client);
    kint(b, "client_port", f->client_port);
    kaddr(b, "server", &f->server);
    kint(b, "server_port", f->server_port);
    kint(b, "service", (uint64_t)f->service);
    KINTS(b, { "packets", f->packets }, { "bytes", f->bytes });
    kts(b, "first_seen", f->first_seen);
    kts(b, "last_seen", f->last_seen);
    kbool(b, "syn", f->syn);
    kbool(b, "synack", f->synack);
    kbool(b, "rst_from_server", f->rst_from_server);
    kbool(b, "icmp_refused", f->icmp_refused);
    kbool(b, "server_spoke", f->server_spoke);
    kbool(b, "nbss_elsewhere", f->nbss_elsewhere);
    KINTS(b, { "requests", f->requests }, { "queries", f->queries }, { "responses", f->responses },
          { "queries_answered", f->queries_answered }, { "queries_untracked", f->queries_untracked },
          { "names_dropped", f->names_dropped });
    json_key(b, "names");
    json_begin_array(b);
    for (guint i = 0; f->names && i < f->names->len; i++) {
        char *v = g_utf8_make_valid(g_ptr_array_index(f->names, i), -1);
        json_str(b, v);
        g_free(v);
    }
    json_end_array(b);
    json_end_object(b);
}

static void netbios(struct json *b, struct nb_ledger *l)
{
    json_key(b, "netbios");
    json_begin_object(b);
    json_key(b, "rows");
    json_begin_array(b);
    for (guint i = 0; i < nb_ledger_count(l); i++)
        nb_row(b, nb_ledger_row(l, i));
    json_end_array(b);
    const struct nb_overflow *o = nb_ledger_overflow(l);
    json_key(b, "overflow");
    json_begin_object(b);
    KINTS(b, { "packets", o->packets }, { "bytes", o->bytes }, { "nbns", o->by_service[NB_SERVICE_NBNS] },
          { "nbdgm", o->by_service[NB_SERVICE_NBDGM] }, { "nbss", o->by_service[NB_SERVICE_NBSS] });
    kts(b, "first_seen", o->first_seen);
    kts(b, "last_seen", o->last_seen);
    mstate_put_distinct(b, "flows", nb_ledger_overflow_set(l));
    json_end_object(b);
    const struct nb_non_ip *n = nb_ledger_non_ip_counts(l);
    json_key(b, "non_ip");
    json_begin_object(b);
    KINTS(b, { "netbeui", n->netbeui }, { "nbipx", n->nbipx });
    kts(b, "first_seen", n->first_seen);
    kts(b, "last_seen", n->last_seen);
    json_end_object(b);
    json_end_object(b);
}

static void hosts(struct json *b, struct host_table *t)
{
    json_key(b, "hosts");
    json_begin_object(b);
    json_key(b, "records");
    json_begin_array(b);
    for (uint32_t i = 0; i < host_table_size(t); i++) {
        const struct host_rec *r = host_table_at(t, i);
        json_begin_object(b);
        kaddr(b, "addr", &r->addr);
        KINTS(b, { "nb_roles", r->nb_roles }, { "services_sent", r->services_sent }, { "refused", r->refused },
              { "nb_flows", r->nb_flows }, { "nb_flows_served", r->nb_flows_served },
              { "nb_flows_unlisted", r->nb_flows_unlisted }, { "nb_packets_sent", r->nb_packets_sent });
        kts(b, "first_seen", r->first_seen);
        kts(b, "last_seen", r->last_seen);
        json_end_object(b);
    }
    json_end_array(b);
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
    if (est)
        mstate_put_distinct(b, "all", host_table_all(t));
    json_end_object(b);
}

/* The state object, streamed. */
static void state(struct json *b, const struct analysis *a)
{
    json_begin_object(b);
    inputs(b, a);
    counters(b, a);
    mstate_build_parts(b, a);
    census(b, a);
    netbios(b, a->ledger);
    hosts(b, nb_ledger_hosts_mut(a->ledger));
    mstate_build_conns(b, a);
    json_end_object(b);
}

char *mstate_node_text(JsonNode *n)
{
    JsonGenerator *g = json_generator_new();
    json_generator_set_root(g, n);
    char *text = json_generator_to_data(g, NULL);
    g_object_unref(g);
    return text;
}

/* {"format": F, "state": {...}, "digest": "sha256:..."} written straight to
 * the report's stream as the state is walked (no tree: the state of a big
 * capture is megabytes, a tree of it ten times that), hashed on the way. */
void mstate_write_member(struct json *j, const struct analysis *a)
{
    json_flush(j); /* the key before us is out; we write to the same stream */
    struct mstate_sink s;
    FILE *f = mstate_sink_open(&s, j->out, MSTATE_FORMAT);
    if (!f) {
        mstate_sink_close(&s, NULL);
        json_null(j);
        return;
    }
    struct json w;
    json_init(&w, f, false);
    json_begin_object(&w);
    json_kint(&w, "format", MSTATE_FORMAT);
    json_key(&w, "state");
    json_flush(&w);
    s.hashing = true;
    state(&w, a);
    json_flush(&w);
    mstate_sink_hash(&s, "\n", 1);
    /* connections[] (written before, by the report): hashed only */
    FILE *out = s.out;
    s.out = NULL;
    struct json *dw = g_new(struct json, 1); /* its own writer: a value at the top, not a member of ours */
    json_init(dw, f, false);
    mstate_put_detail(dw, a);
    json_flush(dw);
    g_free(dw);
    s.hashing = false;
    s.out = out;
    char hex[MSTATE_DIGEST_LEN + 1];
    mstate_sink_digest(&s, hex);
    json_kstr(&w, "digest", hex);
    json_end_object(&w);
    json_flush(&w);
    mstate_sink_close(&s, f);
    json_raw(j, "", 0); /* the member's value is out: the report goes on after it */
}
