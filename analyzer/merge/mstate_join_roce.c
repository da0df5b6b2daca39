/* mstate_join_roce.c - see mstate_join_roce.h. */
#include "mstate_join_roce.h"

#include <string.h>

#include "analysis.h"
#include "classify.h"
#include "conn_summary.h"
#include "fmt.h"
#include "mstate_detail.h"
#include "mstate_join_frame.h"
#include "mstate_join_smbd.h"
#include "mstate_put.h"
#include "mstate_xchg.h"
#include "rdma.h"
#include "session.h"

/* [addr0, port0, addr1, 4791, qp0, qp1, first_ts, last_ts, packets0,
 * packets1, bytes0, bytes1, acks, rdma_writes, rdma_write_bytes,
 * rdma_read_requests, icrc_bad, icrc_unchecked, then per side: rest_psn,
 * rest_next_psn, rest_done, rest, head_psn, head] (side 0: the tail's
 * first sender; qp d: of the packets sent to side d, 0: not seen; the
 * SEND pieces of rdma.h's struct roce_tail, hex, "": none) */
enum { RT_A0, RT_P0, RT_A1, RT_P1, RT_QP0, RT_QP1, RT_FIRST, RT_LAST, RT_PK0, RT_PK1, RT_BY0, RT_BY1, RT_ACKS,
       RT_WRITES, RT_WBYTES, RT_READS, RT_ICRC_BAD, RT_ICRC_UNCHECKED, RT_SENDS };
enum { RS_REST_PSN, RS_REST_NEXT, RS_REST_DONE, RS_REST, RS_HEAD_PSN, RS_HEAD, RS_N };
#define RT_N (RT_SENDS + 2 * RS_N)

/* Tails merge itself holds (the states' together): past it not joinable. */
#define TAILS_HELD_MAX (16u * ROCE_TAILS_MAX)

static gint tail_order(gconstpointer pa, gconstpointer pb)
{
    const struct roce_tail *a = pa, *b = pb;
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    return memcmp(a, b, ROCE_TAIL_SORTED); /* zero-filled: comparable as bytes (not the pieces' addresses) */
}

void mstate_build_roce_tails(struct json *b, const struct analysis *a)
{
    GArray *all = a->roce ? roce_table_tails(a->roce) : NULL;
    if (!all || !all->len)
        return;
    /* in time order (a merge's come from its inputs in any order), as many as a run writes */
    GArray *t = g_array_sized_new(FALSE, FALSE, sizeof(struct roce_tail), all->len);
    for (guint i = 0; i < all->len; i++)
        if (!g_array_index(all, struct roce_tail, i).used)
            g_array_append_val(t, g_array_index(all, struct roce_tail, i));
    g_array_sort(t, tail_order);
    if (!t->len) {
        g_array_free(t, TRUE);
        return;
    }
    json_key(b, "roce_tails");
    json_begin_array(b);
    for (guint i = 0; i < t->len && i < ROCE_TAILS_MAX; i++) {
        const struct roce_tail *r = &g_array_index(t, struct roce_tail, i);
        const uint16_t port[2] = { r->port0, ROCEV2_UDP_PORT };
        json_begin_array(b);
        put_ends(b, r->addr, port);
        for (int d = 0; d < 2; d++)
            vint(b, r->qp[d]);
        json_int(b, r->first_ts);
        json_int(b, r->last_ts);
        for (int d = 0; d < 2; d++)
            vint(b, r->packets[d]);
        for (int d = 0; d < 2; d++)
            vint(b, r->bytes[d]);
        vint(b, r->acks);
        vint(b, r->writes);
        vint(b, r->write_bytes);
        vint(b, r->reads);
        vint(b, r->icrc_bad);
        vint(b, r->icrc_unchecked);
        for (int d = 0; d < 2; d++) {
            vint(b, r->rest[d] ? r->rest_psn[d] : 0);
            vint(b, r->rest[d] ? r->rest_next[d] : 0);
            vint(b, r->rest[d] && r->rest_done[d]);
            mstate_put_hex(b, r->rest[d], r->rest_len[d]);
            vint(b, r->head[d] ? r->head_psn[d] : 0);
            mstate_put_hex(b, r->head[d], r->head_len[d]);
        }
        json_end_array(b);
    }
    json_end_array(b);
    g_array_free(t, TRUE);
}

void mstate_fold_roce_tails(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    if (!json_object_has_member(st, "roce_tails"))
        return; /* none, or a report written before they were carried */
    struct jpath ap, ip;
    jpath_key(&ap, p, "roce_tails");
    JsonArray *arr = jget_arr(g, p, st, "roce_tails", ROCE_TAILS_MAX);
    GArray *held = roce_table_tails(a->roce);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonArray *e = jget_node_arr(json_array_get_element(arr, i));
        if (!e || json_array_get_length(e) != RT_N) {
            jget_fail(g, &ip, "not [addr, port, addr, port, qp, qp, first_ts, last_ts, packets, packets, bytes, bytes, "
                              "acks, rdma_writes, rdma_write_bytes, rdma_read_requests, icrc_bad, icrc_unchecked]");
            return;
        }
        struct roce_tail r;
        memset(&r, 0, sizeof r);
        uint16_t port[2];
        jget_elem_ends(g, &ip, e, r.addr, port);
        r.port0 = port[0];
        for (int d = 0; d < 2; d++) {
            r.qp[d] = (uint32_t)jget_elem_u64(g, &ip, e, RT_QP0 + (guint)d, 0xFFFFFF);
            r.packets[d] = jget_elem_u64(g, &ip, e, RT_PK0 + (guint)d, INT64_MAX);
            r.bytes[d] = jget_elem_u64(g, &ip, e, RT_BY0 + (guint)d, INT64_MAX);
        }
        r.first_ts = jget_elem_ts(g, &ip, e, RT_FIRST);
        r.last_ts = jget_elem_ts(g, &ip, e, RT_LAST);
        r.acks = jget_elem_u64(g, &ip, e, RT_ACKS, INT64_MAX);
        r.writes = jget_elem_u64(g, &ip, e, RT_WRITES, INT64_MAX);
        r.write_bytes = jget_elem_u64(g, &ip, e, RT_WBYTES, INT64_MAX);
        r.reads = jget_elem_u64(g, &ip, e, RT_READS, INT64_MAX);
        r.icrc_bad = jget_elem_u64(g, &ip, e, RT_ICRC_BAD, INT64_MAX);
        r.icrc_unchecked = jget_elem_u64(g, &ip, e, RT_ICRC_UNCHECKED, INT64_MAX);
        const char *bad = NULL;
        for (int d = 0; d < 2 && !g->failed && !bad; d++) {
            guint at = RT_SENDS + (guint)d * RS_N;
            r.rest_psn[d] = (uint32_t)jget_elem_u64(g, &ip, e, at + RS_REST_PSN, 0xFFFFFF);
            r.rest_next[d] = (uint32_t)jget_elem_u64(g, &ip, e, at + RS_REST_NEXT, 0xFFFFFF);
            r.rest_done[d] = jget_elem_u64(g, &ip, e, at + RS_REST_DONE, 1) != 0;
            r.head_psn[d] = (uint32_t)jget_elem_u64(g, &ip, e, at + RS_HEAD_PSN, 0xFFFFFF);
            const char *rh = jget_elem_str(g, &ip, e, at + RS_REST, 2 * RDMA_KEEP_MAX);
            const char *hh = jget_elem_str(g, &ip, e, at + RS_HEAD, 2 * RDMA_KEEP_MAX);
            if (g->failed)
                break;
            size_t rn, hn;
            r.rest[d] = smbd_get_hex(rh, RDMA_KEEP_MAX, &rn);
            r.head[d] = smbd_get_hex(hh, RDMA_KEEP_MAX, &hn);
            r.rest_len[d] = (uint32_t)rn;
            r.head_len[d] = (uint32_t)hn;
            bad = !r.rest[d] || !r.head[d] ? "a SEND piece not hex of at most 16384 octets"
                  : (!rn && (r.rest_psn[d] || r.rest_next[d] || r.rest_done[d])) || (!hn && r.head_psn[d])
                      ? "a SEND piece's numbers without its bytes"
                  : rn && r.rest_next[d] == r.rest_psn[d] ? "a SEND's rest of no packet"
                                                          : NULL;
            if (!rn) { /* none: NULL as a run's */
                g_free(r.rest[d]);
                r.rest[d] = NULL;
            }
            if (!hn) {
                g_free(r.head[d]);
                r.head[d] = NULL;
            }
        }
        if (g->failed || bad) {
            if (bad)
                jget_fail(g, &ip, bad);
            roce_tail_clear(&r);
            return;
        }
        bad = port[1] != ROCEV2_UDP_PORT ? "its second port not 4791"
                          : r.last_ts < r.first_ts ? "its last packet before its first"
                          : !r.packets[0] ? "no packet of its first sender"
                          : r.acks + r.writes + r.reads + r.icrc_bad > r.packets[0] + r.packets[1]
                              ? "more ACKs, Writes, Reads or bad ICRCs than packets"
                              : NULL;
        if (bad) {
            jget_fail(g, &ip, bad);
            roce_tail_clear(&r);
            return;
        }
        if (held->len < TAILS_HELD_MAX) /* a bound for merge itself: past it not joinable */
            g_array_append_val(held, r);
        else
            roce_tail_clear(&r);
    }
}

void mstate_roce_tails_fold_mem(struct analysis *dst, const struct analysis *src)
{
    GArray *from = src->roce ? roce_table_tails(src->roce) : NULL, *to = roce_table_tails(dst->roce);
    for (guint i = 0; from && i < from->len && to->len < TAILS_HELD_MAX; i++) {
        struct roce_tail t = g_array_index(from, struct roce_tail, i);
        if (t.used)
            continue;
        for (int d = 0; d < 2; d++) { /* its own copies: src frees its pieces */
            t.rest[d] = t.rest[d] ? g_memdup2(t.rest[d], t.rest_len[d]) : NULL;
            t.head[d] = t.head[d] ? g_memdup2(t.head[d], t.head_len[d]) : NULL;
        }
        g_array_append_val(to, t);
    }
}

static bool same_addr(const struct ip_addr *x, const struct ip_addr *y)
{
    return x->family == y->family && memcmp(x->bytes, y->bytes, sizeof x->bytes) == 0;
}

/* The queue pair number of cur's entry (--jobs: its session) of the
 * packets sent to its client (c 0) or server (c 1); 0: not seen. */
static uint32_t entry_qp(JsonObject *roce, const struct smb_conn *s, int c)
{
    if (roce && json_object_has_member(roce, c ? "server_qp" : "client_qp"))
        return (uint32_t)json_object_get_int_member(roce, c ? "server_qp" : "client_qp");
    if (s && s->smbd)
        return s->smbd->qpn[c ? !s->client : s->client];
    return 0;
}

/* A queue pair number of cur's entry (--jobs: its session), or of the
 * later parts of its chain (chain: sent to cur's client, to its server), the
 * tail contradicts: another pair of the same hosts. */
static bool other_qps(JsonObject *roce, const struct smb_conn *s, const struct roce_tail *t, bool fwd,
                      const uint32_t chain[2])
{
    for (int c = 0; c < 2; c++) { /* c: 0 the client, 1 the server */
        uint32_t tq = t->qp[fwd ? c : !c], have = entry_qp(roce, s, c);
        if (tq && ((have && tq != have) || (chain[c] && tq != chain[c])))
            return true;
    }
    return false;
}

void mstate_roce_chain_qps(struct analysis *a, const struct conn_summary *cur, const struct conn_summary *part,
                           uint32_t chain[2])
{
    if (part->carrier != CONN_CARRIER_UDP || !a->roce)
        return;
    JsonObject *e = mstate_detail_entry(a, part);
    JsonObject *roce = jget_member_obj(jget_member_obj(e, "smb_direct"), "roce");
    struct smb_conn *s = e ? NULL : mstate_detail_conn(a, part);
    bool same = same_addr(&part->client, &cur->client); /* a part named from its server: the other way round */
    for (int c = 0; c < 2; c++)
        if (!chain[c])
            chain[c] = entry_qp(roce, s, same ? c : !c);
}

/* The tail's RoCEv2 counts into cur's entry or --jobs' session. */
static void add_counts(JsonObject *sd, struct smb_conn *s, const struct roce_tail *t, bool fwd)
{
    JsonObject *roce = jget_member_obj(sd, "roce");
    if (sd && roce) {
        mstate_add_int(roce, "packets", t->packets[0] + t->packets[1]);
        mstate_add_int(roce, "acks", t->acks);
        mstate_add_int(roce, "icrc_bad", t->icrc_bad);
        mstate_add_int(roce, "icrc_unchecked", t->icrc_unchecked);
        mstate_add_int(sd, "rdma_writes", t->writes);
        mstate_add_int(sd, "rdma_write_bytes", t->write_bytes);
        mstate_add_int(sd, "rdma_read_requests", t->reads);
        for (int c = 0; c < 2; c++) {
            const char *k = c ? "server_qp" : "client_qp";
            uint32_t tq = t->qp[fwd ? c : !c];
            if (tq && json_object_has_member(roce, k) && !json_object_get_int_member(roce, k))
                json_object_set_int_member(roce, k, tq);
        }
        return;
    }
    if (!s || !s->smbd)
        return;
    struct smb_direct_info *d = s->smbd;
    d->roce_packets += t->packets[0] + t->packets[1];
    d->roce_acks += t->acks;
    d->icrc_bad += t->icrc_bad;
    d->icrc_unchecked += t->icrc_unchecked;
    d->rdma_writes += t->writes;
    d->rdma_write_bytes += t->write_bytes;
    d->rdma_reads += t->reads;
    for (int c = 0; c < 2; c++) {
        int side = c ? !s->client : s->client;
        uint32_t tq = t->qp[fwd ? c : !c];
        if (tq && !d->qpn[side])
            d->qpn[side] = tq;
    }
}

/* The two hosts of a tail or connection, lower address first. */
static void pair_of(const struct ip_addr *x, const struct ip_addr *y, const struct ip_addr *out[2])
{
    bool swap = x->family != y->family ? x->family > y->family : memcmp(x->bytes, y->bytes, sizeof x->bytes) > 0;
    out[0] = swap ? y : x;
    out[1] = swap ? x : y;
}

static int addr_cmp(const struct ip_addr *x, const struct ip_addr *y)
{
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    return memcmp(x->bytes, y->bytes, sizeof x->bytes);
}

static int pair_cmp(const struct ip_addr *const a[2], const struct ip_addr *const b[2])
{
    int c = addr_cmp(a[0], b[0]);
    return c ? c : addr_cmp(a[1], b[1]);
}

/* The join order: by their two hosts, then tail_order() (the earliest first). */
static gint join_order(gconstpointer pa, gconstpointer pb)
{
    const struct roce_tail *a = pa, *b = pb;
    const struct ip_addr *x[2], *y[2];
    pair_of(&a->addr[0], &a->addr[1], x);
    pair_of(&b->addr[0], &b->addr[1], y);
    int c = pair_cmp(x, y);
    return c ? c : tail_order(pa, pb);
}

/* The tails in join order, those joined left out (once, then after any
 * tail added: a look-up per edge is then a binary search, not a scan of
 * thousands). */
static GArray *sorted_tails(struct analysis *a)
{
    GArray *t = roce_table_tails(a->roce);
    guint *sorted = roce_table_tails_sorted(a->roce);
    if (*sorted == t->len + 1)
        return t;
    guint keep = 0;
    for (guint i = 0; i < t->len; i++) {
        struct roce_tail *r = &g_array_index(t, struct roce_tail, i);
        if (r->used) {
            roce_tail_clear(r);
            continue;
        }
        if (keep != i)
            g_array_index(t, struct roce_tail, keep) = *r;
        keep++;
    }
    g_array_set_size(t, keep);
    g_array_sort(t, join_order);
    *sorted = t->len + 1;
    return t;
}

/* The first of the tails (in join order) of cur's two hosts. */
static guint first_of_hosts(const GArray *tails, const struct conn_summary *cur)
{
    const struct ip_addr *want[2];
    pair_of(&cur->client, &cur->server, want);
    guint lo = 0, hi = tails->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        const struct roce_tail *t = &g_array_index(tails, struct roce_tail, mid);
        const struct ip_addr *p[2];
        pair_of(&t->addr[0], &t->addr[1], p);
        if (pair_cmp(p, want) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool of_hosts(const struct roce_tail *t, const struct conn_summary *cur)
{
    const struct ip_addr *want[2], *p[2];
    pair_of(&cur->client, &cur->server, want);
    pair_of(&t->addr[0], &t->addr[1], p);
    return pair_cmp(p, want) == 0;
}

/* The earliest tail that follows cur, or G_MAXUINT. */
static guint next_tail(struct analysis *a, const struct conn_summary *cur, int64_t before, const uint32_t chain[2],
                       bool *fwd)
{
    GArray *tails = sorted_tails(a);
    const struct ip_addr *want[2];
    pair_of(&cur->client, &cur->server, want);
    guint lo = first_of_hosts(tails, cur);
    JsonObject *e = mstate_detail_entry(a, cur);
    JsonObject *roce = jget_member_obj(jget_member_obj(e, "smb_direct"), "roce");
    struct smb_conn *s = e ? NULL : mstate_detail_conn(a, cur);
    for (guint i = lo; i < tails->len; i++) {
        const struct roce_tail *t = &g_array_index(tails, struct roce_tail, i);
        const struct ip_addr *p[2];
        pair_of(&t->addr[0], &t->addr[1], p);
        if (pair_cmp(p, want) != 0)
            break;
        bool f = same_addr(&t->addr[0], &cur->client);
        if (t->used || t->first_ts < cur->last_ts || t->first_ts >= before || other_qps(roce, s, t, f, chain))
            continue;
        *fwd = f;
        return i; /* in time order: the earliest */
    }
    return G_MAXUINT;
}

bool mstate_join_roce_tails(struct analysis *a, struct conn_summary *cur, int64_t before, const uint32_t chain[2])
{
    if (cur->carrier != CONN_CARRIER_UDP || !a->roce || !roce_table_tails(a->roce)->len ||
        strcmp(cur->close_reason, "end of capture") != 0)
        return false;
    bool joined = false, fwd = true;
    guint at;
    while ((at = next_tail(a, cur, before, chain, &fwd)) != G_MAXUINT) {
        struct roce_tail *u = &g_array_index(roce_table_tails(a->roce), struct roce_tail, at);
        struct roce_tail t = *u; /* its pieces now t's (freed below) */
        u->used = true;
        u->rest[0] = u->rest[1] = u->head[0] = u->head[1] = NULL;
        const uint64_t by[2] = { t.bytes[fwd ? 0 : 1], t.bytes[fwd ? 1 : 0] };
        uint64_t c2s = t.packets[fwd ? 0 : 1], s2c = t.packets[fwd ? 1 : 0];
        struct conn_summary was = *cur;
        cur->packets += c2s + s2c;
        cur->bytes += by[0] + by[1];
        cur->last_ts = t.last_ts;
        JsonObject *e = mstate_detail_entry(a, &was);
        struct smb_conn *s = e ? NULL : mstate_detail_conn(a, &was);
        add_counts(jget_member_obj(e, "smb_direct"), s, &t, fwd);
        mstate_frame_roce_tail(a, cur, &t, fwd); /* its SEND pieces: SENDs of the connection made whole */
        struct conn_summary at_tail = *cur;
        at_tail.first_ts = t.first_ts;
        mstate_smbd_join_wholes(a, cur, &at_tail); /* the SMB2 messages they ended, decoded */
        if (e) {
            mstate_detail_tail(a, &was, cur, c2s, s2c, by); /* last seen, packets and bytes each way */
        } else if (s) { /* --jobs: its session (its end stays "end of capture") */
            s->last_ts = t.last_ts;
            s->packets[s->client] += c2s;
            s->packets[!s->client] += s2c;
            s->bytes[s->client] += by[0];
            s->bytes[!s->client] += by[1];
        }
        roce_tail_clear(&t);
        joined = true;
    }
    return joined;
}

/* The latest tail that ends before cur begins, or G_MAXUINT. */
static guint lead_tail(struct analysis *a, const struct conn_summary *cur, const uint32_t chain[2], bool *fwd)
{
    GArray *tails = sorted_tails(a);
    JsonObject *e = mstate_detail_entry(a, cur);
    JsonObject *roce = jget_member_obj(jget_member_obj(e, "smb_direct"), "roce");
    struct smb_conn *s = e ? NULL : mstate_detail_conn(a, cur);
    guint found = G_MAXUINT;
    for (guint i = first_of_hosts(tails, cur); i < tails->len; i++) {
        const struct roce_tail *t = &g_array_index(tails, struct roce_tail, i);
        if (!of_hosts(t, cur) || t->first_ts >= cur->first_ts)
            break; /* in time order: the rest begin later */
        bool f = same_addr(&t->addr[0], &cur->client);
        if (t->used || t->last_ts > cur->first_ts || other_qps(roce, s, t, f, chain))
            continue;
        *fwd = f;
        found = i;
    }
    return found;
}

/* The packets and bytes each way and the RoCEv2 counts of a tail before
 * cur (fwd: its side 0 is cur's client) into cur's entry or --jobs'
 * session (still under cur's name). */
static void lead_counts(struct analysis *a, const struct conn_summary *cur, const struct roce_tail *t, bool fwd)
{
    JsonObject *e = mstate_detail_entry(a, cur);
    struct smb_conn *s = e ? NULL : mstate_detail_conn(a, cur);
    add_counts(jget_member_obj(e, "smb_direct"), s, t, fwd);
    const uint64_t pk[2] = { t->packets[fwd ? 0 : 1], t->packets[fwd ? 1 : 0] };
    const uint64_t by[2] = { t->bytes[fwd ? 0 : 1], t->bytes[fwd ? 1 : 0] };
    if (s) {
        for (int d = 0; d < 2; d++) {
            s->packets[d ? !s->client : s->client] += pk[d];
            s->bytes[d ? !s->client : s->client] += by[d];
        }
        return;
    }
    JsonObject *st = jget_member_obj(e, "stream");
    const char *c = json_object_get_string_member_with_default(e, "client", NULL);
    char want[FMT_ADDR_LEN];
    bool swapped = c && strcmp(c, fmt_addr(&cur->client, want)) != 0; /* the entry names the other side */
    for (int d = 0; st && d < 2; d++) {
        mstate_add_int(st, (d != swapped) ? "packets_s2c" : "packets_c2s", pk[d]);
        mstate_add_int(st, (d != swapped) ? "bytes_s2c" : "bytes_c2s", by[d]);
    }
}

/* The exchanges of was (mstate_xchg.h) go by to's name. */
static void xchg_rename(struct analysis *a, const struct conn_summary *was, const struct conn_summary *to)
{
    guint x = mstate_xchg_find(a, was);
    if (x == G_MAXUINT)
        return;
    mstate_xchg_rename(a, x, to->first_ts, to->client_port, to->server_port);
}

void mstate_join_roce_port(struct analysis *a, struct conn_summary *cur, const struct conn_summary *late)
{
    if (cur->carrier != CONN_CARRIER_UDP || cur->client_port || !late->client_port ||
        !same_addr(&cur->client, &late->client))
        return;
    struct conn_summary was = *cur;
    cur->client_port = late->client_port;
    mstate_frame_rename_to(a, &was, cur);
    xchg_rename(a, &was, cur);
    mstate_detail_rename(a, &was, cur);
}

bool mstate_join_roce_lead(struct analysis *a, struct conn_summary *cur, const uint32_t chain[2])
{
    if (cur->carrier != CONN_CARRIER_UDP || !a->roce || !roce_table_tails(a->roce)->len)
        return false;
    bool joined = false, fwd = true;
    guint at;
    while ((at = lead_tail(a, cur, chain, &fwd)) != G_MAXUINT) {
        struct roce_tail *u = &g_array_index(roce_table_tails(a->roce), struct roce_tail, at);
        struct roce_tail t = *u; /* its pieces now t's (freed below) */
        u->used = true;
        u->rest[0] = u->rest[1] = u->head[0] = u->head[1] = NULL;
        struct conn_summary was = *cur;
        cur->first_ts = t.first_ts;
        cur->packets += t.packets[0] + t.packets[1];
        cur->bytes += t.bytes[0] + t.bytes[1];
        if (fwd && !cur->client_port) /* the client's port: its part saw none of its packets, the tail did */
            cur->client_port = t.port0;
        lead_counts(a, &was, &t, fwd);
        mstate_frame_roce_lead(a, &was, cur, &t, fwd); /* a SEND it began: the pair's first message */
        xchg_rename(a, &was, cur);
        mstate_detail_rename(a, &was, cur);
        mstate_smbd_join_wholes(a, cur, &was); /* the SMB2 message that SEND ended, decoded */
        roce_tail_clear(&t);
        joined = true;
    }
    return joined;
}
