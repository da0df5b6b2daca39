/* mstate_read.c - fold a verified merge state into an analysis; see
 * mstate.h.  Every array is bounded by the cap the writing run had (a state
 * smbscope writes never holds more), every string by the length its field
 * can have; what is out of range is an error naming its path. */
#include "mstate.h"
#include "mstate_detail.h"

#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "distinct.h"
#include "hosts.h"
#include "ipfrag.h"
#include "jget.h"
#include "leaf_split.h"
#include "mstate_canon.h"
#include "mstate_conns.h"
#include "mstate_cut.h"
#include "mstate_dns_keys.h"
#include "mstate_frags.h"
#include "mstate_wlan.h"
#include "mstate_hashes.h"
#include "merge.h"
#include "mstate_leaves.h"
#include "mstate_pairs_more.h"
#include "netbios.h"
#include "part_id.h"
#include "part_sketch.h"
#include "quic_table.h"
#include "rdma.h"

#define MAX_INPUTS 65536u
#define MAX_PATH_LEN 4096
/* An input's error and capture filter as the writer puts them: a filter
 * from -F has no bound, a pcapng's interfaces' joined up to 16 of 64 KiB
 * (review: past 1,024 bytes merge refused smbscope's own report) */
#define MAX_TEXT_LEN (4u << 20)
#define MAX_NAMES 32u

static const char *const formats[] = { "pcap", "pcapng", NULL };
static const char *const readers[] = { "libpcap", "mmap", "wiretap", "live", "stream", NULL };

/* The static string input_info points to (an unknown one is interned: a
 * few bytes that live as long as the process, like the known ones). */
static const char *static_name(const char *const *known, const char *s)
{
    if (!s)
        return NULL;
    for (; *known; known++)
        if (strcmp(*known, s) == 0)
            return *known;
    return g_intern_string(s);
}

/* The inputs a row at a time from the state's text when cut (mstate_cut.h:
 * each may carry an overlap sketch of 19 KB, and a forged state of
 * nothing else held every one's text twice more, in the tree and in the
 * text the tree was parsed from). */
static void fold_inputs(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st,
                        const struct mstate_cut *cut)
{
    struct jpath ap, ip;
    jpath_key(&ap, p, "inputs");
    struct mstate_arr rows;
    bool have = mstate_arr_open(&rows, g, p, st, "inputs", MAX_INPUTS, cut, MSTATE_CUT_INPUTS);
    for (guint i = 0; have && !g->failed && i < rows.n; i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *row = mstate_arr_next(&rows, g, &ip);
        JsonObject *o = jget_object(g, &ip, row);
        struct input_info *in = g_new0(struct input_info, 1);
        in->path = g_strdup(jget_str(g, &ip, o, "path", MAX_PATH_LEN, false));
        in->link_type = g_strdup(jget_str(g, &ip, o, "link_type", 64, true));
        in->dlt = (int)jget_u64(g, &ip, o, "dlt", INT32_MAX); /* a pcap header's link type is 32 bits */
        in->format = static_name(formats, jget_str(g, &ip, o, "format", 32, true));
        in->reader = static_name(readers, jget_str(g, &ip, o, "reader", 32, true));
        in->gzip = jget_bool(g, &ip, o, "gzip");
        in->packets = jget_u64(g, &ip, o, "packets", INT64_MAX);
        in->bytes = jget_u64(g, &ip, o, "bytes", INT64_MAX);
        in->wire_bytes = jget_u64(g, &ip, o, "wire_bytes", INT64_MAX);
        in->truncated = jget_bool(g, &ip, o, "truncated");
        in->error = g_strdup(jget_str(g, &ip, o, "error", MAX_TEXT_LEN, true));
        in->first_ts = jget_ts_or_none(g, &ip, o, "first_ts");
        in->last_ts = jget_ts_or_none(g, &ip, o, "last_ts");
        in->capture_filter = g_strdup(jget_str(g, &ip, o, "capture_filter", MAX_TEXT_LEN, true));
        if (o && json_object_has_member(o, "part_id")) { /* absent: a report before identities (merge makes one: part_id.h) */
            const char *id = jget_str(g, &ip, o, "part_id", PART_ID_LEN, true);
            if (id && !part_id_valid(id))
                jget_fail(g, &ip, "part_id: not an identity smbscope writes");
            else if (id)
                in->part_id = g_strdup(id);
        }
        /* absent: no record sampled, or a report before sketches (part_sketch.h) */
        JsonObject *ov = o && json_object_has_member(o, "overlap") ? jget_obj(g, &ip, o, "overlap") : NULL;
        if (ov && !g->failed) {
            struct jpath op;
            jpath_key(&op, &ip, "overlap");
            uint32_t level = (uint32_t)jget_u64(g, &op, ov, "level", PART_SKETCH_LEVELS);
            const char *hashes = jget_str(g, &op, ov, "hashes", (PART_SKETCH_MAX * 8 + 2) / 3 * 4, false);
            const char *why = NULL;
            if (hashes && !g->failed && !part_overlap_decode(hashes, level, &in->overlap, &why))
                jget_fail(g, &op, why);
        }
        in->live = jget_bool(g, &ip, o, "live");
        in->have_drop_stats = jget_bool(g, &ip, o, "have_drop_stats");
        in->if_received = jget_u64(g, &ip, o, "if_received", INT64_MAX);
        in->if_dropped = jget_u64(g, &ip, o, "if_dropped", INT64_MAX);
        in->if_ifdropped = jget_u64(g, &ip, o, "if_ifdropped", INT64_MAX);
        JsonObject *so = jget_obj(g, &ip, o, "status");
        struct jpath sp;
        jpath_key(&sp, &ip, "status");
        for (int s = 0; so && !g->failed && s < PKT_STATUS_COUNT; s++) {
            const char *name = packet_status_name((enum packet_status)s);
            if (json_object_has_member(so, name))
                in->status[s] = jget_u64(g, &sp, so, name, INT64_MAX);
        }
        if (so && !g->failed) {
            guint known = 0;
            for (int s = 0; s < PKT_STATUS_COUNT; s++)
                known += json_object_has_member(so, packet_status_name((enum packet_status)s));
            if (known != json_object_get_size(so))
                jget_fail(g, &sp, "a decode outcome this smbscope does not know");
        }
        if (!in->path) /* only after an error */
            in->path = g_strdup("");
        g_ptr_array_add(a->inputs, in);
    }
    mstate_arr_close(&rows);
}

static void elem_addr(struct jget *g, const struct jpath *ip, JsonArray *a, guint i, struct ip_addr *out);

/* The pairs of encrypted ESP (esp_peers.h), written only when seen: at
 * most ESP_PEERS_MAX, each [address, address, packets, first time]. */
static void fold_esp_peers(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    JsonObject *o = jget_member_obj(st, "esp_peers");
    if (!o)
        return;
    struct jpath kp, ap;
    jpath_key(&kp, p, "esp_peers");
    jpath_key(&ap, &kp, "pairs");
    JsonArray *pairs = jget_member_arr(o, "pairs");
    guint n = pairs ? json_array_get_length(pairs) : 0;
    if (!pairs || n > ESP_PEERS_MAX) {
        jget_fail(g, &ap, "not an array of at most 16 address pairs");
        return;
    }
    struct esp_peers part = { 0 };
    for (guint i = 0; i < n; i++) {
        struct jpath ep;
        jpath_index(&ep, &ap, i);
        JsonArray *r = jget_node_arr(json_array_get_element(pairs, i));
        if (!r || json_array_get_length(r) != 4) {
            jget_fail(g, &ep, "not [address, address, packets, first time]");
            return;
        }
        struct ip_addr x, y;
        elem_addr(g, &ep, r, 0, &x);
        elem_addr(g, &ep, r, 1, &y);
        uint64_t packets = jget_elem_u64(g, &ep, r, 2, INT64_MAX);
        esp_peers_add(&part, &x, &y, packets, jget_elem_ts(g, &ep, r, 3));
    }
    part.other_packets = jget_u64(g, &kp, o, "other_packets", INT64_MAX);
    esp_peers_fold(&a->esp_peers, &part);
}

static void fold_counters(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    struct jpath kp;
    JsonObject *o = jget_obj(g, p, st, "run");
    jpath_key(&kp, p, "run");
    a->packets += jget_u64(g, &kp, o, "packets", INT64_MAX);
    int64_t f = jget_ts_or_none(g, &kp, o, "first_ts"), l = jget_ts_or_none(g, &kp, o, "last_ts");
    if (f < a->first_ts)
        a->first_ts = f;
    if (l > a->last_ts)
        a->last_ts = l;
    a->input_error |= jget_bool(g, &kp, o, "input_error");
    a->filtered_out += jget_u64(g, &kp, o, "filtered_out", INT64_MAX);
    fold_esp_peers(g, p, a, st);

    o = jget_obj(g, p, st, "flows");
    jpath_key(&kp, p, "flows");
    struct flow_stats fs = {
        .conns = jget_u64(g, &kp, o, "conns", INT64_MAX),
        .max_concurrent = jget_u64(g, &kp, o, "max_concurrent", INT64_MAX),
        .evictions = jget_u64(g, &kp, o, "evictions", INT64_MAX),
        .idle_closes = jget_u64(g, &kp, o, "idle_closes", INT64_MAX),
        .reuses = jget_u64(g, &kp, o, "reuses", INT64_MAX),
        .buffered_peak = jget_u64(g, &kp, o, "buffered_peak", INT64_MAX),
        .cap_hits = jget_u64(g, &kp, o, "cap_hits", INT64_MAX),
        .total_cap_hits = jget_u64(g, &kp, o, "total_cap_hits", INT64_MAX),
        .non_tcp = jget_u64(g, &kp, o, "non_tcp", INT64_MAX),
        .time_jumps = jget_u64(g, &kp, o, "time_jumps", INT64_MAX),
        .closed_early = jget_u64(g, &kp, o, "closed_early", INT64_MAX),
    };
    fs.time_jumps = 0; /* counted again from the parts (mstate_parts.c): the jumps between them too */
    flow_table_fold_stats(a->flows, &fs);

    o = jget_obj(g, p, st, "frags");
    jpath_key(&kp, p, "frags");
    struct ipfrag_stats fr = {
        .fragments = jget_u64(g, &kp, o, "fragments", INT64_MAX),
        .reassembled = jget_u64(g, &kp, o, "reassembled", INT64_MAX),
        .timed_out = jget_u64(g, &kp, o, "timed_out", INT64_MAX),
        .evicted = jget_u64(g, &kp, o, "evicted", INT64_MAX),
        .dropped_too_big = jget_u64(g, &kp, o, "dropped_too_big", INT64_MAX),
        .dropped_memory = jget_u64(g, &kp, o, "dropped_memory", INT64_MAX),
        .dropped_malformed = jget_u64(g, &kp, o, "dropped_malformed", INT64_MAX),
        .duplicates = jget_u64(g, &kp, o, "duplicates", INT64_MAX),
        .overlaps = jget_u64(g, &kp, o, "overlaps", INT64_MAX),
        .active = (uint32_t)jget_u64(g, &kp, o, "active", UINT32_MAX),
    };
    ipfrag_fold_stats(a->frags, &fr);

    o = jget_obj(g, p, st, "quic");
    jpath_key(&kp, p, "quic");
    struct quic_table_stats q = {
        .datagrams = jget_u64(g, &kp, o, "datagrams", INT64_MAX),
        .quic_datagrams = jget_u64(g, &kp, o, "quic_datagrams", INT64_MAX),
        .conns = jget_u64(g, &kp, o, "conns", INT64_MAX),
        .smb_conns = jget_u64(g, &kp, o, "smb_conns", INT64_MAX),
        .other_conns = jget_u64(g, &kp, o, "other_conns", INT64_MAX),
        .evictions = jget_u64(g, &kp, o, "evictions", INT64_MAX),
        .decrypt_failures = jget_u64(g, &kp, o, "decrypt_failures", INT64_MAX),
        .undecryptable = jget_u64(g, &kp, o, "undecryptable", INT64_MAX),
    };
    if (o && json_object_has_member(o, "evictions_lost")) /* written only when hit */
        q.evictions_lost = jget_u64(g, &kp, o, "evictions_lost", q.evictions);
    quic_table_fold_stats(a->quic, &q);

    o = jget_obj(g, p, st, "roce");
    jpath_key(&kp, p, "roce");
    uint64_t dropped = jget_u64(g, &kp, o, "dropped", INT64_MAX);
    uint64_t not_decoded = jget_u64(g, &kp, o, "not_decoded", INT64_MAX);
    roce_table_fold_counts(a->roce, dropped, not_decoded, jget_u64(g, &kp, o, "icrc_bad", INT64_MAX));
    if (o && json_object_has_member(o, "over_budget")) /* written only when hit */
        roce_table_fold_over_budget(a->roce, jget_u64(g, &kp, o, "over_budget", INT64_MAX));

    o = jget_obj(g, p, st, "iwarp");
    jpath_key(&kp, p, "iwarp");
    a->iwarp_crc_bad += jget_u64(g, &kp, o, "crc_bad", INT64_MAX);
    if (o && json_object_has_member(o, "over_budget")) /* written only when hit */
        rdma_iwarp_fold_over_budget(a->session_cfg.pool, jget_u64(g, &kp, o, "over_budget", INT64_MAX));
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A distinct set written by mstate_put_distinct(): its hashes added, or its
 * registers united. */
static uint64_t get_distinct(struct jget *g, const struct jpath *p, JsonObject *parent, const char *k,
                             struct distinct *d, bool carried)
{
    struct jpath dp, ep;
    JsonObject *o = jget_obj(g, p, parent, k);
    jpath_key(&dp, p, k);
    if (!o)
        return 0;
    if (json_object_has_member(o, "exact")) {
        JsonArray *arr = jget_arr(g, &dp, o, "exact", MSTATE_EXACT_CAP);
        jpath_key(&ep, &dp, "exact");
        for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
            const char *h = jget_elem_str(g, &ep, arr, i, 16);
            uint64_t v = 0;
            for (int c = 0; h && h[c]; c++)
                v = v << 4 | (uint64_t)(hexval(h[c]) & 15);
            if (h && (strlen(h) != 16 || strspn(h, "0123456789abcdef") != 16))
                jget_fail(g, &ep, "not a 16-digit hex hash");
            else if (h)
                distinct_add(d, v);
        }
        return 0;
    }
    uint8_t *regs = g_malloc(DISTINCT_HLL_REGS);
    bool hll = mstate_get_hll(g, &dp, o, regs); /* checked, whether or not the hashes make it */
    uint64_t n = hll && carried ? mstate_get_hashes_more(g, &dp, o, d) : 0;
    if (hll && !n && !g->failed)
        distinct_union_hll(d, regs);
    g_free(regs);
    return n;
}

void mstate_get_distinct(struct jget *g, const struct jpath *p, JsonObject *parent, const char *k,
                         struct distinct *d)
{
    get_distinct(g, p, parent, k, d, false);
}

uint64_t mstate_get_distinct_carried(struct jget *g, const struct jpath *p, JsonObject *parent, const char *k,
                                     struct distinct *d)
{
    return get_distinct(g, p, parent, k, d, true);
}

bool mstate_get_hll(struct jget *g, const struct jpath *p, JsonObject *o, uint8_t *regs)
{
    const char *hex = jget_str(g, p, o, "hll", 2 * DISTINCT_HLL_REGS, false);
    if (!hex)
        return false;
    if (strlen(hex) != 2 * DISTINCT_HLL_REGS || strspn(hex, "0123456789abcdef") != 2 * DISTINCT_HLL_REGS) {
        jget_fail(g, p, "hll: not the registers' hex");
        return false;
    }
    for (uint32_t i = 0; i < DISTINCT_HLL_REGS; i++)
        regs[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    return true;
}

static void syn_times(struct jget *g, const struct jpath *p, JsonArray *pair, guint at, int64_t *t, uint32_t n)
{
    struct jpath kp;
    jpath_index(&kp, p, at);
    JsonNode *node = g->failed ? NULL : json_array_get_element(pair, at);
    JsonArray *arr = jget_node_arr(node);
    if (!arr && !g->failed)
        jget_fail(g, &kp, "not an array of times");
    guint len = arr ? json_array_get_length(arr) : 0;
    if (arr && len != (n < CENSUS_SYN_TIMES ? n : CENSUS_SYN_TIMES))
        jget_fail(g, &kp, "not one time per SYN counted (up to 4)");
    for (guint i = 0; !g->failed && i < len; i++)
        t[i] = jget_elem_ts(g, &kp, arr, i);
}

static void fold_census(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    struct census *c = a->census;
    struct jpath cp, ap, ip;
    JsonObject *o = jget_obj(g, p, st, "census");
    jpath_key(&cp, p, "census");
    c->snaplen_cut += jget_u64(g, &cp, o, "snaplen_cut", INT64_MAX);
    c->snaplen_cut_smb += jget_u64(g, &cp, o, "snaplen_cut_smb", INT64_MAX);
    uint32_t snaplen = (uint32_t)jget_u64(g, &cp, o, "snaplen", UINT32_MAX);
    if (snaplen > c->snaplen)
        c->snaplen = snaplen;
    c->pairs_dropped += jget_u64(g, &cp, o, "pairs_dropped", INT64_MAX);
    /* pairs the writer folded (MSTATE_PAIRS_CAP): their SYNs are not tracked here either */
    jget_u64(g, &cp, o, "pairs_cap", UINT32_MAX);
    uint64_t pairs_folded = jget_u64(g, &cp, o, "pairs_folded", INT64_MAX);
    uint64_t syns_folded = jget_u64(g, &cp, o, "pair_syns_folded", INT64_MAX);
    c->dns_messages += jget_u64(g, &cp, o, "dns_messages", INT64_MAX);
    c->dns_keys_dropped += jget_u64(g, &cp, o, "dns_keys_dropped", INT64_MAX);
    uint64_t keys_folded = jget_u64(g, &cp, o, "dns_keys_folded", INT64_MAX);
    /* the writer counts a set past MSTATE_EXACT_CAP as folded, for a
     * reader that unites its registers; those it carries (exact_more) are
     * counted exactly here: taken back out */
    uint64_t udp_folded = jget_u64(g, &cp, o, "udp_convs_folded", INT64_MAX);
    uint64_t udp_carried = mstate_get_distinct_carried(g, &cp, o, "udp_convs", c->udp_convs);
    if (!g->failed && udp_carried > udp_folded)
        jget_fail(g, &cp, "udp_convs_folded: fewer than udp_convs carries");
    a->state_folded.udp_convs += udp_folded - (g->failed ? 0 : udp_carried);
    JsonArray *keys = jget_arr(g, &cp, o, "dns_keys", MSTATE_DNS_KEYS_CAP);
    jpath_key(&ap, &cp, "dns_keys");
    for (guint i = 0; keys && !g->failed && i < json_array_get_length(keys); i++) {
        const char *k = jget_elem_str(g, &ap, keys, i, 15);
        if (k)
            census_add_dns_key(c, k);
    }
    /* keys the writer left out (MSTATE_DNS_KEYS_CAP): dropped here too,
     * but for those it carries (dns_keys_more: the rest in name order, as
     * the run kept them, after the listed ones) */
    uint64_t keys_carried = mstate_fold_dns_keys_more(g, &cp, c, o);
    if (!g->failed && keys_carried > keys_folded)
        jget_fail(g, &cp, "dns_keys_folded: fewer than dns_keys_more carries");
    keys_folded -= g->failed ? 0 : keys_carried;
    c->dns_keys_dropped += keys_folded;
    a->state_folded.dns_keys += keys_folded;
    JsonArray *pairs = jget_arr(g, &cp, o, "pairs", CENSUS_MAX_PAIRS);
    jpath_key(&ap, &cp, "pairs");
    for (guint i = 0; pairs && !g->failed && i < json_array_get_length(pairs); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *pn = json_array_get_element(pairs, i);
        JsonArray *pa = jget_node_arr(pn);
        if (!pa || json_array_get_length(pa) != 7) {
            jget_fail(g, &ip, "not [client, server, syn139, syn445, port139, t139, t445]");
            return;
        }
        struct census_pair e;
        memset(&e, 0, sizeof e);
        const char *cl = jget_elem_str(g, &ip, pa, 0, 64), *sv = jget_elem_str(g, &ip, pa, 1, 64);
        if ((cl && !jget_parse_addr(cl, &e.client)) || (sv && !jget_parse_addr(sv, &e.server)))
            jget_fail(g, &ip, "not an address");
        int64_t n139 = jget_elem_i64(g, &ip, pa, 2), n445 = jget_elem_i64(g, &ip, pa, 3);
        int64_t port = jget_elem_i64(g, &ip, pa, 4);
        if (n139 < 0 || n139 > UINT32_MAX || n445 < 0 || n445 > UINT32_MAX || port < 0 || port > 65535)
            jget_fail(g, &ip, "a count or port out of range");
        e.syn139 = (uint32_t)n139;
        e.syn445 = (uint32_t)n445;
        e.port139 = (uint16_t)port;
        syn_times(g, &ip, pa, 5, e.t139, e.syn139);
        syn_times(g, &ip, pa, 6, e.t445, e.syn445);
        if (!g->failed)
            census_fold_pair(c, &e);
    }
    /* the folded ones but those carried in pairs_more (mstate_pairs_more.h),
     * after the listed ones (the table's cap keeps those first) */
    uint64_t more = 0, more_syns = 0;
    mstate_fold_pairs_more(g, &cp, c, o, &more, &more_syns);
    if (!g->failed && (more > pairs_folded || more_syns > syns_folded))
        jget_fail(g, &cp, "pairs_more: more pairs or SYNs than pairs_folded and pair_syns_folded count");
    if (g->failed)
        return;
    a->state_folded.syn_pairs += pairs_folded - more;
    c->pairs_dropped += syns_folded - more_syns;
}

/* Element i of a compact array: an array of n members (NULL: g failed). */
static JsonArray *compact(struct jget *g, const struct jpath *ip, JsonArray *a, guint i, guint n)
{
    JsonNode *e = json_array_get_element(a, i);
    JsonArray *r = jget_node_arr(e);
    if (!r || json_array_get_length(r) != n) {
        jget_fail(g, ip, "not an array of its fields' members");
        return NULL;
    }
    return r;
}

static void elem_addr(struct jget *g, const struct jpath *ip, JsonArray *a, guint i, struct ip_addr *out)
{
    memset(out, 0, sizeof *out);
    const char *s = jget_elem_str(g, ip, a, i, 64);
    if (s && !jget_parse_addr(s, out)) {
        struct jpath ep;
        jpath_index(&ep, ip, i);
        jget_fail(g, &ep, "not an IPv4 or IPv6 address");
    }
}

static void read_row(struct jget *g, const struct jpath *ip, JsonArray *r, struct nb_flow *f)
{
    memset(f, 0, sizeof *f);
    if (!r)
        return;
    guint i = 0;
    f->proto = (uint8_t)jget_elem_u64(g, ip, r, i++, 255);
    if (!g->failed && f->proto != 6 && f->proto != 17)
        jget_fail(g, ip, "proto: neither 6 (TCP) nor 17 (UDP)");
    elem_addr(g, ip, r, i++, &f->client);
    f->client_port = (uint16_t)jget_elem_u64(g, ip, r, i++, 65535);
    elem_addr(g, ip, r, i++, &f->server);
    f->server_port = (uint16_t)jget_elem_u64(g, ip, r, i++, 65535);
    f->service = (enum nb_service)jget_elem_u64(g, ip, r, i++, NB_SERVICE_NBSS);
    f->packets = jget_elem_u64(g, ip, r, i++, INT64_MAX);
    f->bytes = jget_elem_u64(g, ip, r, i++, INT64_MAX);
    f->first_seen = jget_elem_ts(g, ip, r, i++);
    f->last_seen = jget_elem_ts(g, ip, r, i++);
    f->syn = jget_elem_u64(g, ip, r, i++, 1);
    f->synack = jget_elem_u64(g, ip, r, i++, 1);
    f->rst_from_server = jget_elem_u64(g, ip, r, i++, 1);
    f->icmp_refused = jget_elem_u64(g, ip, r, i++, 1);
    f->server_spoke = jget_elem_u64(g, ip, r, i++, 1);
    f->nbss_elsewhere = jget_elem_u64(g, ip, r, i++, 1);
    f->requests = (uint32_t)jget_elem_u64(g, ip, r, i++, UINT32_MAX);
    f->queries = (uint32_t)jget_elem_u64(g, ip, r, i++, UINT32_MAX);
    f->responses = (uint32_t)jget_elem_u64(g, ip, r, i++, UINT32_MAX);
    f->queries_answered = (uint32_t)jget_elem_u64(g, ip, r, i++, UINT32_MAX);
    f->queries_untracked = (uint32_t)jget_elem_u64(g, ip, r, i++, UINT32_MAX);
    f->names_dropped = (uint32_t)jget_elem_u64(g, ip, r, i++, UINT32_MAX);
    struct jpath np;
    jpath_index(&np, ip, i);
    JsonNode *nn = json_array_get_element(r, i);
    JsonArray *names = jget_node_arr(nn);
    if (!names || json_array_get_length(names) > MAX_NAMES) {
        if (!g->failed)
            jget_fail(g, &np, "names: not an array of at most its cap");
        return;
    }
    for (guint k = 0; !g->failed && k < json_array_get_length(names); k++) {
        const char *s = jget_elem_str(g, &np, names, k, 256);
        if (s)
            nb_flow_add_name(f, s);
    }
}

static void fold_netbios(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    struct nb_ledger *l = a->ledger;
    struct jpath np, ap, ip;
    JsonObject *o = jget_obj(g, p, st, "netbios");
    jpath_key(&np, p, "netbios");
    jget_names(g, &np, o, "row_fields", mstate_nb_row_fields, MSTATE_NB_ROW_FIELDS);
    JsonArray *rows = jget_arr(g, &np, o, "rows", MSTATE_NB_ROWS_CAP);
    jget_u64(g, &np, o, "rows_cap", UINT32_MAX);
    /* rows the writer sent to its overflow (MSTATE_NB_ROWS_CAP): counted
     * there, but those it carries too (rows_more, folded as rows by
     * mstate_fold_nb_past(): the overflow without them is overflow_run) */
    uint64_t folded = jget_u64(g, &np, o, "rows_folded", INT64_MAX);
    struct jpath mp;
    jpath_key(&mp, &np, "rows_more");
    bool more = !g->failed && o && json_object_has_member(o, "rows_more");
    uint64_t carried = more ? jget_u64(g, &mp, jget_obj(g, &np, o, "rows_more"), "n", MSTATE_NB_MORE_CAP) : 0;
    if (!g->failed && carried > folded)
        jget_fail(g, &np, "rows_folded: fewer than rows_more carries");
    a->state_folded.nb_rows += folded - carried;
    jpath_key(&ap, &np, "rows");
    for (guint i = 0; rows && !g->failed && i < json_array_get_length(rows); i++) {
        jpath_index(&ip, &ap, i);
        struct nb_flow f;
        read_row(g, &ip, compact(g, &ip, rows, i, MSTATE_NB_ROW_FIELDS), &f);
        if (!g->failed)
            mstate_nb_fold_row(l, &f);
        if (f.names)
            g_ptr_array_free(f.names, TRUE);
    }
    const char *ok = more ? "overflow_run" : "overflow";
    JsonObject *oo = jget_obj(g, &np, o, ok);
    jpath_key(&ip, &np, ok);
    struct nb_overflow ov = {
        .packets = jget_u64(g, &ip, oo, "packets", INT64_MAX),
        .bytes = jget_u64(g, &ip, oo, "bytes", INT64_MAX),
        .by_service = { jget_u64(g, &ip, oo, "nbns", INT64_MAX), jget_u64(g, &ip, oo, "nbdgm", INT64_MAX),
                        jget_u64(g, &ip, oo, "nbss", INT64_MAX) },
        .first_seen = jget_ts_or_none(g, &ip, oo, "first_seen"),
        .last_seen = jget_ts_or_none(g, &ip, oo, "last_seen"),
    };
    if (more) /* the run's own overflow: its flows carried past 4,096 (exact_more) */
        mstate_get_distinct_carried(g, &ip, oo, "flows", nb_ledger_overflow_set(l));
    else
        mstate_get_distinct(g, &ip, oo, "flows", nb_ledger_overflow_set(l));
    JsonObject *no = jget_obj(g, &np, o, "non_ip");
    jpath_key(&ip, &np, "non_ip");
    struct nb_non_ip ni = {
        .netbeui = jget_u64(g, &ip, no, "netbeui", INT64_MAX),
        .nbipx = jget_u64(g, &ip, no, "nbipx", INT64_MAX),
        .first_seen = jget_ts_or_none(g, &ip, no, "first_seen"),
        .last_seen = jget_ts_or_none(g, &ip, no, "last_seen"),
    };
    if (!g->failed)
        nb_ledger_fold_counts(l, &ov, &ni);
}

static void fold_hosts(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    struct host_table *t = nb_ledger_hosts_mut(a->ledger);
    struct jpath hp, ap, ip;
    JsonObject *o = jget_obj(g, p, st, "hosts");
    jpath_key(&hp, p, "hosts");
    JsonArray *bc = jget_arr(g, &hp, o, "broadcasts", 4096);
    jpath_key(&ap, &hp, "broadcasts");
    for (guint i = 0; bc && !g->failed && i < json_array_get_length(bc); i++) {
        const char *s = jget_elem_str(g, &ap, bc, i, 64);
        struct ip_addr addr;
        if (s && !jget_parse_addr(s, &addr))
            jget_fail(g, &ap, "not an address");
        else if (s)
            host_table_learn_broadcast(t, &addr);
    }
    jget_names(g, &hp, o, "record_fields", mstate_host_fields, MSTATE_HOST_FIELDS);
    JsonArray *recs = jget_arr(g, &hp, o, "records", MSTATE_HOSTS_CAP);
    jget_u64(g, &hp, o, "cap", UINT32_MAX);
    /* records the writer left out (MSTATE_HOSTS_CAP): its "all" makes the total an estimate */
    a->state_folded.hosts += jget_u64(g, &hp, o, "folded", INT64_MAX);
    jpath_key(&ap, &hp, "records");
    for (guint i = 0; recs && !g->failed && i < json_array_get_length(recs); i++) {
        jpath_index(&ip, &ap, i);
        JsonArray *r = compact(g, &ip, recs, i, MSTATE_HOST_FIELDS);
        if (!r)
            break;
        struct host_rec h;
        memset(&h, 0, sizeof h);
        elem_addr(g, &ip, r, 0, &h.addr);
        h.nb_roles = (uint8_t)jget_elem_u64(g, &ip, r, 1, 15);
        h.services_sent = (uint8_t)jget_elem_u64(g, &ip, r, 2, 7);
        h.refused = (uint8_t)jget_elem_u64(g, &ip, r, 3, 255);
        h.nb_flows = (uint32_t)jget_elem_u64(g, &ip, r, 4, UINT32_MAX);
        h.nb_flows_served = (uint32_t)jget_elem_u64(g, &ip, r, 5, UINT32_MAX);
        h.nb_flows_unlisted = (uint32_t)jget_elem_u64(g, &ip, r, 6, UINT32_MAX);
        h.nb_packets_sent = jget_elem_u64(g, &ip, r, 7, INT64_MAX);
        h.first_seen = jget_elem_ts(g, &ip, r, 8);
        h.last_seen = jget_elem_ts(g, &ip, r, 9);
        if (!g->failed)
            host_table_fold(t, &h);
    }
    /* the records past them, then the compact hosts and the NetBIOS rows
     * the state carries past its cap */
    GArray *more = mstate_fold_records_more(g, &hp, t, o);
    struct jpath rp;
    jpath_key(&rp, p, "run");
    mstate_fold_nb_past(g, p, a, st, jget_ts_or_none(g, &rp, jget_obj(g, p, st, "run"), "first_ts"), more);
    if (more)
        g_array_free(more, TRUE);
    if (o && json_object_has_member(o, "all")) { /* the writer's hosts past its cap: estimated here too */
        struct jpath allp;
        jpath_key(&allp, &hp, "all");
        uint8_t *regs = g_malloc(DISTINCT_HLL_REGS);
        if (mstate_get_hll(g, &allp, jget_obj(g, &hp, o, "all"), regs))
            host_table_fold_estimate(t, regs);
        g_free(regs);
    }
}

static void fold_state(struct jget *g, const struct jpath *root, struct analysis *a, JsonNode *state, JsonNode *detail,
                       const struct mstate_cut *cut)
{
    JsonObject *st = jget_object(g, root, state);
    guint in_lo = a->inputs->len;
    fold_inputs(g, root, a, st, cut);
    fold_counters(g, root, a, st);
    mstate_fold_parts(g, root, a, st);
    fold_census(g, root, a, st);
    fold_hosts(g, root, a, st);
    fold_netbios(g, root, a, st);
    mstate_fold_conns(g, root, a, st, detail, cut);
    mstate_fold_frags(g, root, a, st, in_lo); /* IP datagrams a cut divided (mstate_frags.h) */
    mstate_fold_wlan(g, root, a, st);         /* 802.11 retries across a cut (mstate_wlan.h) */
}

/* text: the leaf text to keep (taken), packed or not (NULL: made here). */
static void fold_run(struct jget *g, const struct jpath *root, struct analysis *a, JsonNode *state, JsonNode *detail,
                     char *text, size_t len, bool packed)
{
    fold_state(g, root, a, state, detail, NULL);
    if (g->failed)
        free(text);
    else if (packed)
        mstate_leaves_keep_packed(a, text, len);
    else if (text)
        mstate_leaves_keep_text(a, text, len);
    else
        mstate_leaves_keep(a, state, detail);
}

/* A run's leaf {state, connections} given as it is (format 6's form) at
 * path ip, folded (keep: as fold_run; packed when kept). */
static void fold_leaf_run(struct jget *g, const struct jpath *ip, struct analysis *a, JsonNode *leaf, char *keep,
                          size_t len)
{
    struct jpath sp;
    JsonObject *o = jget_object(g, ip, leaf);
    if (!o) {
        free(keep);
        return;
    }
    JsonNode *state = json_object_get_member(o, "state"), *detail = json_object_get_member(o, "connections");
    jpath_key(&sp, ip, "state");
    if (json_object_get_size(o) != 2 || !state || !detail || !JSON_NODE_HOLDS_ARRAY(detail)) {
        jget_fail(g, ip, "not {state, connections}");
        free(keep);
        return;
    }
    JsonObject *ls = jget_object(g, &sp, state);
    if (ls && mstate_is_leaves(ls)) {
        jget_fail(g, &sp, "leaves inside a leaf");
        free(keep);
        return;
    }
    if (ls)
        fold_run(g, &sp, a, state, detail, keep, len, false);
    else
        free(keep);
}

/* ---- a packed leaf, a piece at a time (leaf_split.h) ----------------------
 * Its state is parsed and folded as a run's report's is, but without its
 * connections[] (mstate_fold_conns() reads conns_detailed and stops, as
 * for --jobs); then each entry is parsed alone and kept as
 * mstate_fold_conns() keeps them, the count checked against conns_detailed
 * as they come.  Once something failed, the pieces after it are only
 * checked as JSON (a text that is not JSON, or not a leaf, says so first,
 * as the parse of the whole text did before anything was folded). */
struct leaf_fold {
    struct jget *g;
    struct jpath ip, sp;
    struct analysis *a;
    JsonParser *entries; /* one parser for every entry: its last tree freed as the next is read */
    uint64_t detailed, entries_seen;
    mstate_entry_added added;
    void *added_ctx;
    struct leaf_canon *canon; /* a run's report (mstate_fold_run_text()); NULL: a packed leaf */
    bool state_seen;
    char json_err[192];       /* a run's report: the first piece that was not JSON, and json-glib's why */
};

/* A run's report read as a leaf: its digest's text (the state's and the
 * entries' canonical text, as mstate_leaf_digest() walks their trees) and
 * its leaf text, packed, made a piece at a time as the pieces are parsed. */
struct leaf_canon {
    struct mstate_sink sink;
    FILE *f;                      /* into the sink: hashed while sink.hashing, and on into pack */
    FILE *pack;                   /* NULL: the leaf is not kept (past the caps) */
    struct mstate_packer *packer;
    struct json w;
    bool whole;                   /* false: a piece's text could not be made (the fold refuses it) */
};

static void canon_open(struct leaf_canon *c, bool keep)
{
    memset(c, 0, sizeof *c);
    c->pack = keep ? mstate_packer_open(&c->packer) : NULL;
    c->f = mstate_sink_open(&c->sink, c->pack, MSTATE_FORMAT);
    c->whole = c->f != NULL;
    if (c->f)
        json_init(&c->w, c->f, false);
}

/* {"state":S,"connections":[ with S hashed, then "\n" and the array hashed */
static void canon_state(struct leaf_canon *c, JsonNode *state, const struct mstate_cut *cut)
{
    if (!c->f)
        return;
    json_begin_object(&c->w);
    json_key(&c->w, "state");
    json_flush(&c->w);
    c->sink.hashing = true;
    c->whole &= mstate_cut_put(&c->w, state, cut);
    json_flush(&c->w);
    c->sink.hashing = false;
    mstate_sink_hash(&c->sink, "\n", 1);
    json_key(&c->w, "connections");
    json_flush(&c->w);
    c->sink.hashing = true;
    json_begin_array(&c->w);
}

/* The digest (out) and the packed leaf (NULL: not kept, or no memory). */
static char *canon_close(struct leaf_canon *c, bool state_seen, char out[MSTATE_DIGEST_LEN + 1], size_t *len)
{
    *len = 0;
    if (c->f && state_seen) {
        json_end_array(&c->w);
        json_flush(&c->w);
        c->sink.hashing = false;
        json_end_object(&c->w);
        json_flush(&c->w);
    }
    mstate_sink_digest(&c->sink, out);
    mstate_sink_close(&c->sink, c->f);
    return c->pack ? mstate_packer_close(c->packer, c->pack, len) : NULL;
}

/* text parsed by *p (made when NULL; the caller's to free either way). */
static bool parse_piece(JsonParser **p, const char *text, size_t len)
{
    if (!*p)
        *p = json_parser_new_immutable();
    return json_parser_load_from_data(*p, text, (gssize)len, NULL);
}

static enum leaf_took take_state(struct leaf_fold *f, const char *text, size_t len)
{
    struct mstate_cut cut; /* its group rows read a row at a time (mstate_cut.h) */
    JsonParser *p = mstate_cut_parse(text, len, &cut);
    if (!p) {
        snprintf(f->json_err, sizeof f->json_err, "%s",
                 cut.irregular ? "merge_state.state: not as smbscope writes it (a member's key escaped or repeated)"
                               : "not JSON: merge_state.state");
        return LEAF_NOT_JSON;
    }
    JsonNode *state = json_parser_get_root(p);
    f->state_seen = true;
    if (f->canon)
        canon_state(f->canon, state, &cut);
    JsonObject *ls = jget_object(f->g, &f->sp, state);
    if (ls && mstate_is_leaves(ls))
        jget_fail(f->g, &f->sp, "leaves inside a leaf");
    else if (ls)
        fold_state(f->g, &f->sp, f->a, state, NULL, &cut);
    if (!f->g->failed) /* within MAX_DETAIL: mstate_fold_conns() read it */
        f->detailed = (uint64_t)json_object_get_int_member(ls, "conns_detailed");
    g_object_unref(p);
    if (f->g->failed)
        return LEAF_FAILED;
    if (!f->a->conn_detail_json)
        f->a->conn_detail_json = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    return LEAF_TOOK;
}

static enum leaf_took take_entry(struct leaf_fold *f, const char *text, size_t len)
{
    if (!parse_piece(&f->entries, text, len)) {
        if (f->canon && !f->json_err[0]) { /* where, for a run's report (a leaf's says its zlib stream) */
            GError *e = NULL;
            json_parser_load_from_data(f->entries, text, (gssize)len, &e);
            snprintf(f->json_err, sizeof f->json_err, "not JSON: connections[%" G_GUINT64_FORMAT "]: %s",
                     f->entries_seen, e ? e->message : "");
            if (e)
                g_error_free(e);
        }
        return LEAF_NOT_JSON;
    }
    JsonParser *p = f->entries;
    if (f->canon && f->canon->f && f->state_seen)
        mstate_put_node(&f->canon->w, json_parser_get_root(p));
    if (f->g->failed)
        return LEAF_FAILED; /* checked as JSON only */
    if (++f->entries_seen > f->detailed) {
        jget_fail(f->g, &f->sp, "conns_detailed is not the number of connections[] entries");
        return LEAF_FAILED;
    }
    /* an object: the split cuts entries at their '{' */
    const char *why = mstate_detail_entry_check(json_parser_get_root(p));
    if (why) {
        jget_fail(f->g, &f->sp, why);
        return LEAF_FAILED;
    }
    g_ptr_array_add(f->a->conn_detail_json, mstate_detail_pack(json_parser_get_root(p))); /* its text (mstate_detail.h) */
    if (f->added)
        f->added(f->a, f->added_ctx);
    return LEAF_TOOK;
}

static enum leaf_took take_piece(void *ctx, enum leaf_piece kind, const char *text, size_t len)
{
    struct leaf_fold *f = ctx;
    if (kind == LEAF_PIECE_STATE)
        return take_state(f, text, len);
    return take_entry(f, text, len);
}

static void feed_split(void *ctx, const char *p, size_t n) { leaf_split_feed(ctx, p, n); }

/* A packed leaf at ip (its object o), folded as its run's report would be:
 * text its canonical text (taken; NULL: made here). */
static void fold_packed_leaf(struct jget *g, const struct jpath *ip, struct analysis *a, JsonNode *leaf,
                             JsonObject *o, char *text, size_t len, mstate_entry_added added, void *added_ctx)
{
    struct leaf_fold f = { .g = g, .ip = *ip, .a = a, .added = added, .added_ctx = added_ctx };
    jpath_key(&f.sp, ip, "state");
    struct leaf_split split;
    leaf_split_init(&split, take_piece, &f);
    const char *why = NULL;
    bool whole = mstate_leaf_stream(o, feed_split, &split, &why);
    char err[256];
    int r = leaf_split_end(&split, err, sizeof err);
    if (f.entries)
        g_object_unref(f.entries);
    /* the errors in the order a check of the whole text found them: its
     * zlib stream, its depth and members, its JSON and shape, its fold */
    if (!whole || r == 1) {
        g->failed = false;
        jget_fail(g, ip, !whole ? why : err);
    } else if (!g->failed && f.entries_seen != f.detailed) {
        jget_fail(g, &f.sp, "conns_detailed is not the number of connections[] entries");
    }
    if (g->failed) {
        free(text);
        return;
    }
    if (!text) /* as merge.c's leaf by leaf read makes it (the same bytes as the whole parse's) */
        text = mstate_node_canon(leaf, &len);
    mstate_leaves_keep_packed(a, text, len);
}

/* Leaf i of a merged report's leaves (mstate_leaves.h): a run's state with
 * its connections[], packed, folded as if its report were given.  text:
 * the leaf's canonical text (taken; NULL: made here).  A leaf not packed
 * (format 6's form) is read too, and packed when kept. */
static void fold_leaf(struct jget *g, const struct jpath *lp, guint i, struct analysis *a, JsonNode *leaf, char *text,
                      size_t len, mstate_entry_added added, void *added_ctx)
{
    struct jpath ip;
    jpath_index(&ip, lp, i);
    JsonObject *o = jget_object(g, &ip, leaf);
    if (!o || !mstate_leaf_is_packed(o))
        fold_leaf_run(g, &ip, a, leaf, text, len);
    else
        fold_packed_leaf(g, &ip, a, leaf, o, text, len, added, added_ctx);
}

static void fold_leaves(struct jget *g, const struct jpath *root, struct analysis *a, JsonObject *st)
{
    struct jpath lp;
    if (json_object_get_size(st) != 1) {
        jget_fail(g, root, "leaves and other members");
        return;
    }
    JsonArray *arr = jget_arr(g, root, st, "leaves", MSTATE_LEAVES_CAP);
    jpath_key(&lp, root, "leaves");
    if (arr && !g->failed && json_array_get_length(arr) == 0)
        jget_fail(g, &lp, "no run");
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++)
        fold_leaf(g, &lp, i, a, json_array_get_element(arr, i), NULL, 0, NULL, NULL);
}

bool mstate_fold_leaf(struct analysis *a, guint i, JsonNode *leaf, char *text, size_t len,
                      mstate_entry_added added, void *added_ctx, char *errbuf, size_t errlen)
{
    struct jget g = { false, errbuf, errlen };
    struct jpath root, lp;
    jpath_key(&root, NULL, "merge_state.state");
    jpath_key(&lp, &root, "leaves");
    fold_leaf(&g, &lp, i, a, leaf, text, len, added, added_ctx);
    return !g.failed;
}

bool mstate_fold_text(struct analysis *a, JsonNode *state, JsonNode *detail, char *text, size_t len, char *errbuf,
                      size_t errlen)
{
    struct jget g = { false, errbuf, errlen };
    struct jpath root;
    jpath_key(&root, NULL, "merge_state.state");
    JsonObject *st = jget_object(&g, &root, state);
    if (st && mstate_is_leaves(st)) {
        free(text);
        fold_leaves(&g, &root, a, st); /* a merged report's connections[] is the view of its leaves' */
    } else if (st) {
        fold_run(&g, &root, a, state, detail, text, len, false);
    } else {
        free(text);
    }
    return !g.failed;
}

bool mstate_fold(struct analysis *a, JsonNode *state, JsonNode *detail, char *errbuf, size_t errlen)
{
    return mstate_fold_text(a, state, detail, NULL, 0, errbuf, errlen);
}

int mstate_fold_run_text(struct analysis *a, const char *state, size_t slen, const char *conns, size_t clen,
                         const char *digest, mstate_entry_added added, void *added_ctx, char *errbuf, size_t errlen)
{
    struct jget g = { false, errbuf, errlen };
    struct leaf_fold f = { .g = &g, .a = a, .added = added, .added_ctx = added_ctx };
    struct leaf_canon canon;
    jpath_key(&f.ip, NULL, "merge_state");
    jpath_key(&f.sp, NULL, "merge_state.state");
    canon_open(&canon, !mstate_leaves_full(a));
    f.canon = &canon;
    struct leaf_split split;
    leaf_split_init(&split, take_piece, &f);
    split.not_json = "not JSON";
    /* the leaf's text, {"state":S,"connections":C}, in pieces: nothing is copied but a piece cut across them */
    static const char head[] = "{\"state\":", mid[] = ",\"connections\":";
    leaf_split_feed(&split, head, sizeof head - 1);
    leaf_split_feed(&split, state, slen);
    leaf_split_feed(&split, mid, sizeof mid - 1);
    leaf_split_feed(&split, conns, clen);
    leaf_split_feed(&split, "}", 1);
    char err[256], want[MSTATE_DIGEST_LEN + 1];
    int r = leaf_split_end(&split, err, sizeof err);
    if (f.entries)
        g_object_unref(f.entries);
    size_t plen = 0;
    char *packed = canon_close(&canon, f.state_seen, want, &plen);
    /* the errors in the order the whole parse found them: JSON and shape,
     * the digest, the fold */
    int res = 1;
    if (r == 1) { /* its own error, not the fold's */
        snprintf(errbuf, errlen, "%s", strcmp(err, split.not_json) == 0 && f.json_err[0] ? f.json_err : err);
        res = 0;
    } else if (!canon.whole && !g.failed) {
        jget_fail(&g, &f.sp, "not JSON");
        res = 0;
    } else if (canon.whole && strcmp(want, digest) != 0) {
        res = -1;
    } else if (!g.failed && f.entries_seen != f.detailed) {
        jget_fail(&g, &f.sp, "conns_detailed is not the number of connections[] entries");
    }
    if (res == 1 && g.failed)
        res = 0;
    if (res != 1) {
        free(packed);
        return res;
    }
    if (canon.pack) /* NULL packed: no memory; the folded state is written, as for a leaf that could not be made */
        mstate_leaves_keep_packed(a, packed, plen);
    return 1;
}
