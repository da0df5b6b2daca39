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
#include "mstate_dns_keys.h"
#include "mstate_frags.h"
#include "mstate_wlan.h"
#include "mstate_hashes.h"
#include "mstate_leaves.h"
#include "mstate_pairs_more.h"
#include "mstate_put.h"
#include "mstate_select.h"
#include "netbios.h"
#include "part_id.h"
#include "part_sketch.h"
#include "quic_table.h"
#include "rdma.h"

/* An exact set as its hashes in hex (sorted: the same set, the same text),
 * or the HyperLogLog registers once estimating. */
static const char hex_digit[] = "0123456789abcdef";

static void hll_members(struct json *b, const uint8_t *r, uint64_t counted)
{
    char *hex = g_malloc(2 * DISTINCT_HLL_REGS + 1);
    for (uint32_t i = 0; i < DISTINCT_HLL_REGS; i++) {
        hex[2 * i] = hex_digit[r[i] >> 4];
        hex[2 * i + 1] = hex_digit[r[i] & 15];
    }
    hex[2 * DISTINCT_HLL_REGS] = '\0';
    kstr(b, "hll", hex);
    g_free(hex);
    kint(b, "counted", counted);
}

static void put_distinct(struct json *b, const char *k, const struct distinct *d, uint32_t exact_cap, bool carry)
{
    json_key(b, k);
    json_begin_object(b);
    uint32_t n;
    const uint64_t *slots = distinct_slots(d, &n);
    if (!distinct_is_estimate(d) && (!exact_cap || distinct_count(d) <= exact_cap)) {
        GArray *v = g_array_new(FALSE, FALSE, sizeof(uint64_t));
        for (uint32_t i = 0; slots && i < n; i++)
            if (slots[i])
                g_array_append_val(v, slots[i]);
        g_array_sort(v, mstate_cmp_u64);
        json_key(b, "exact");
        json_begin_array(b);
        for (guint i = 0; i < v->len; i++) {
            char hex[17];
            uint64_t x = g_array_index(v, uint64_t, i);
            for (int at = 15; at >= 0; at--, x >>= 4) /* "%016x" without snprintf: thousands per state */
                hex[at] = hex_digit[x & 15];
            hex[16] = '\0';
            json_str(b, hex);
        }
        json_end_array(b);
        g_array_free(v, TRUE);
    } else {
        hll_members(b, distinct_hll(d), distinct_count(d));
        if (carry)
            mstate_put_hashes_more(b, d);
    }
    json_end_object(b);
}

void mstate_put_distinct(struct json *b, const char *k, const struct distinct *d, uint32_t exact_cap)
{
    put_distinct(b, k, d, exact_cap, false);
}

void mstate_put_distinct_carried(struct json *b, const char *k, const struct distinct *d, uint32_t exact_cap)
{
    put_distinct(b, k, d, exact_cap, true);
}

void mstate_put_hll(struct json *b, const char *k, const uint8_t *regs, uint64_t counted)
{
    json_key(b, k);
    json_begin_object(b);
    hll_members(b, regs, counted);
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
        char id[PART_ID_LEN + 1];
        kstr(b, "part_id", part_id_of(in, id) ? id : NULL); /* merge refuses a part given twice */
        if (in->overlap.n) { /* and two that share records (part_overlap.h; an older smbscope ignores it) */
            json_key(b, "overlap");
            json_begin_object(b);
            kint(b, "level", in->overlap.level);
            char *t = part_overlap_encode(&in->overlap);
            kstr(b, "hashes", t);
            g_free(t);
            json_end_object(b);
        }
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
    const struct esp_peers *ep = &a->esp_peers;
    if (ep->n) { /* additive, only when seen: an older smbscope folds without the names */
        json_key(b, "esp_peers");
        json_begin_object(b);
        json_key(b, "pairs");
        json_begin_array(b);
        for (uint32_t i = 0; i < ep->n; i++) {
            char buf[FMT_ADDR_LEN];
            json_begin_array(b);
            json_str(b, fmt_addr(&ep->pairs[i].a, buf));
            json_str(b, fmt_addr(&ep->pairs[i].b, buf));
            json_int(b, (int64_t)ep->pairs[i].packets);
            json_int(b, ep->pairs[i].first_ts);
            json_end_array(b);
        }
        json_end_array(b);
        kint(b, "other_packets", ep->other_packets);
        json_end_object(b);
    }

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
    json_key(b, "quic");
    json_begin_object(b);
    KINTS(b, { "datagrams", q.datagrams }, { "quic_datagrams", q.quic_datagrams }, { "conns", q.conns },
          { "smb_conns", q.smb_conns }, { "other_conns", q.other_conns }, { "evictions", q.evictions },
          { "decrypt_failures", q.decrypt_failures }, { "undecryptable", q.undecryptable });
    if (q.evictions_lost) /* additive, only when hit: an older smbscope folds without it */
        kint(b, "evictions_lost", q.evictions_lost);
    json_end_object(b);

    json_key(b, "roce");
    json_begin_object(b);
    KINTS(b, { "dropped", roce_table_dropped(a->roce) }, { "not_decoded", roce_table_not_decoded(a->roce) },
          { "icrc_bad", roce_table_icrc_bad(a->roce) });
    if (roce_table_over_budget(a->roce)) /* additive, only when hit: an older smbscope folds without it */
        kint(b, "over_budget", roce_table_over_budget(a->roce));
    json_end_object(b);

    json_key(b, "iwarp");
    json_begin_object(b);
    kint(b, "crc_bad", a->iwarp_crc_bad);
    if (rdma_iwarp_over_budget(a->session_cfg.pool)) /* additive, only when hit: an older smbscope folds without it */
        kint(b, "over_budget", rdma_iwarp_over_budget(a->session_cfg.pool));
    json_end_object(b);
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
        int64_t d0 = ts_diff(p->t445[i], first), d1 = ts_diff(last, p->t445[i]);
        int64_t d = d0 < d1 ? d0 : d1;
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
    mstate_put_distinct_carried(b, "udp_convs", c->udp_convs, MSTATE_EXACT_CAP);
    GPtrArray *keys = g_ptr_array_new();
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, c->dns_keys);
    while (g_hash_table_iter_next(&it, &key, NULL))
        g_ptr_array_add(keys, key);
    g_ptr_array_sort(keys, cmp_str);
    /* at most MSTATE_DNS_KEYS_CAP (the first by name): merge counts the
     * rest as keys dropped (a NetBIOS name of them may read as never seen
     * in DNS) */
    guint nkeys = keys->len < MSTATE_DNS_KEYS_CAP ? keys->len : MSTATE_DNS_KEYS_CAP;
    const struct distinct *u = c->udp_convs;
    bool udp_est = !distinct_is_estimate(u) && distinct_count(u) > MSTATE_EXACT_CAP;
    KINTS(b, { "dns_keys_folded", keys->len - nkeys + a->state_folded.dns_keys },
          { "udp_convs_folded", (udp_est ? distinct_count(u) : 0) + a->state_folded.udp_convs });
    json_key(b, "dns_keys");
    json_begin_array(b);
    for (guint i = 0; i < nkeys; i++) {
        char *v = g_utf8_make_valid(g_ptr_array_index(keys, i), -1);
        json_str(b, v);
        g_free(v);
    }
    json_end_array(b);
    mstate_put_dns_keys_more(b, keys, nkeys); /* the rest, carried (still counted in dns_keys_folded) */
    g_ptr_array_free(keys, TRUE);
    /* At most MSTATE_PAIRS_CAP pairs: first those with a SYN to 139 (they
     * decide a finding), then the 445-only pairs nearest the capture's first
     * or last packet (a 139 SYN of the capture before or after can race
     * them; farther ones only tell merge that a 139-only client of another
     * capture also used 445).  The rest follow in pairs_more, and are
     * counted as folded too, their pairs and SYNs (a merge that does not
     * know pairs_more adds the SYNs to race_pairs_not_tracked;
     * mstate_pairs_more.h). */
    uint32_t n = 0;
    struct pair_rank *rank = g_new(struct pair_rank, c->pairs_used ? c->pairs_used : 1);
    for (uint32_t s = 0; s < census_pair_slots(c) && n < c->pairs_used; s++) {
        const struct census_pair *p = census_pair_at(c, s);
        if (p)
            rank[n++] = (struct pair_rank){ edge_distance(p, a->first_ts, a->last_ts), s };
    }
    uint64_t folded = 0, folded_syns = 0;
    uint32_t all = n;
    if (n > MSTATE_PAIRS_CAP) {
        mstate_select(rank, n, sizeof *rank, MSTATE_PAIRS_CAP, pair_rank_cmp); /* the first CAP, unordered */
        for (uint32_t i = MSTATE_PAIRS_CAP; i < n; i++) {
            const struct census_pair *p = census_pair_at(c, rank[i].slot);
            folded++;
            folded_syns += (uint64_t)p->syn139 + p->syn445;
        }
        n = MSTATE_PAIRS_CAP;
        qsort(rank, n, sizeof *rank, pair_rank_cmp); /* the kept ones in rank order */
    }
    json_key(b, "pairs");
    json_begin_array(b);
    for (uint32_t i = 0; i < n; i++)
        pair(b, census_pair_at(c, rank[i].slot));
    json_end_array(b);
    if (all > n) { /* in the order the selection left them (the same for the same census) */
        uint32_t *slots = g_new(uint32_t, all - n);
        for (uint32_t i = n; i < all; i++)
            slots[i - n] = rank[i].slot;
        mstate_put_pairs_more(b, c, slots, all - n);
        g_free(slots);
    }
    g_free(rank);
    KINTS(b, { "pairs_cap", MSTATE_PAIRS_CAP }, { "pairs_folded", folded + a->state_folded.syn_pairs },
          { "pair_syns_folded", folded_syns });
    json_end_object(b);
}

/* The state object, streamed. */
static void state(struct json *b, const struct analysis *a)
{
    if (mstate_leaves_fit(a)) { /* a merge: the runs it merged, whole (mstate_leaves.h) */
        mstate_leaves_put(b, a);
        return;
    }
    json_begin_object(b);
    inputs(b, a);
    counters(b, a);
    mstate_build_parts(b, a);
    census(b, a);
    mstate_build_netbios(b, a);
    mstate_build_conns(b, a);
    mstate_put_frags(b, a); /* additive, only when there is one (mstate_frags.h) */
    mstate_put_wlan(b, a);  /* likewise (mstate_wlan.h) */
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
 * out as the state is walked (no tree: the state of a big capture is
 * megabytes, a tree of it ten times that), hashed on the way; false when
 * the hashing stream could not be opened (nothing written). */
bool mstate_write_state(FILE *out, const struct analysis *a)
{
    struct mstate_sink s;
    FILE *f = mstate_sink_open(&s, out, MSTATE_FORMAT);
    if (!f) {
        mstate_sink_close(&s, NULL);
        return false;
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
    FILE *dout = s.out;
    s.out = NULL;
    struct json *dw = g_new(struct json, 1); /* its own writer: a value at the top, not a member of ours */
    json_init(dw, f, false);
    mstate_put_detail(dw, a);
    json_flush(dw);
    g_free(dw);
    s.hashing = false;
    s.out = dout;
    char hex[MSTATE_DIGEST_LEN + 1];
    mstate_sink_digest(&s, hex);
    json_kstr(&w, "digest", hex);
    json_end_object(&w);
    json_flush(&w);
    mstate_sink_close(&s, f);
    return true;
}

void mstate_write_member(struct json *j, const struct analysis *a)
{
    json_flush(j); /* the key before us is out; we write to the same stream */
    if (mstate_write_state(j->out, a))
        json_raw(j, "", 0); /* the member's value is out: the report goes on after it */
    else
        json_null(j);
}
