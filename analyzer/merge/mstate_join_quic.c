/* mstate_join_quic.c - see mstate_join_quic.h. */
#include "mstate_join_quic.h"

#include <stddef.h>
#include <string.h>

#include "analysis.h"
#include "fmt.h"
#include "jget.h"
#include "mstate_detail.h"
#include "mstate_join_quic_edge.h"
#include "mstate_join_quic_hello.h"
#include "mstate_quic_tails.h"
#include "mstate_put.h"
#include "quic_facts.h"
#include "quic_table.h"
#include "quic_wire.h"

struct quic_tails *quic_tails_of(struct analysis *a)
{
    if (!a->quic_tails) {
        a->quic_tails = g_new0(struct quic_tails, 1);
        a->quic_tails->recs = g_array_new(FALSE, TRUE, sizeof(struct quic_tail));
        a->quic_tails->open = g_array_new(FALSE, TRUE, sizeof(struct quic_open));
    }
    return a->quic_tails;
}

static void open_put(struct analysis *a, const struct quic_open *o, guint cap)
{
    GArray *open = quic_tails_of(a)->open;
    if (open->len < cap)
        g_array_append_val(open, *o);
}

static void note_open(void *ctx, const struct quic_table_open *o)
{
    struct analysis *a = ctx;
    quic_hello_note_key(a, o);
    if (o->smb) /* an SMB connection: an edge of its own (mstate_join_quic) */
        return;
    struct quic_tails *qt = quic_tails_of(a);
    if (ts_diff(o->first_ts, a->first_ts) <= QUIC_TAIL_IDLE_US && qt->recs->len < ANALYSIS_MAX_EDGES) {
        struct quic_tail h; /* begun in the first flight's reach: maybe another capture's connection */
        memset(&h, 0, sizeof h);
        for (int d = 0; d < 2; d++) {
            h.addr[d] = o->addr[d];
            h.port[d] = o->port[d];
            h.packets[d] = o->packets[d];
            h.bytes[d] = o->bytes[d];
        }
        h.first_ts = o->first_ts;
        h.last_ts = o->last_ts;
        h.head = true;
        h.decided = o->decided;
        h.cipher = o->cipher;
        h.server_handshake = o->server_handshake;
        h.hello_pending = o->hello_pending;
        g_array_append_val(qt->recs, h);
    }
    struct quic_open r;
    memset(&r, 0, sizeof r);
    for (int d = 0; d < 2; d++) {
        r.addr[d] = o->addr[d];
        r.port[d] = o->port[d];
    }
    r.last_ts = o->last_ts;
    open_put(a, &r, ANALYSIS_MAX_EDGES);
}

void quic_open_note(struct analysis *a)
{
    if (!a->live_run)
        quic_table_list_open(a->quic, note_open, a);
}

void quic_tails_free(struct analysis *a)
{
    if (!a->quic_tails)
        return;
    g_array_free(a->quic_tails->recs, TRUE);
    g_array_free(a->quic_tails->open, TRUE);
    if (a->quic_tails->by)
        g_hash_table_destroy(a->quic_tails->by);
    quic_hello_free(a->quic_tails);
    g_free(a->quic_tails);
    a->quic_tails = NULL;
}

static int addr_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->bytes, b->bytes, sizeof a->bytes);
}

static int end_cmp(const struct ip_addr *a, uint16_t ap, const struct ip_addr *b, uint16_t bp)
{
    int c = addr_cmp(a, b);
    return c ? c : (ap > bp) - (ap < bp);
}

/* The ends of a 4-tuple in one order whatever side sent first. */
struct key {
    struct ip_addr lo, hi;
    uint16_t lo_port, hi_port;
};

static struct key key_of(const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp)
{
    struct key k;
    memset(&k, 0, sizeof k);
    bool swap = end_cmp(x, xp, y, yp) > 0;
    k.lo = swap ? *y : *x;
    k.hi = swap ? *x : *y;
    k.lo_port = swap ? yp : xp;
    k.hi_port = swap ? xp : yp;
    return k;
}

static guint key_hash(gconstpointer p)
{
    const uint8_t *b = p;
    guint h = 2166136261u;
    for (size_t i = 0; i < sizeof(struct key); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean key_equal(gconstpointer a, gconstpointer b) { return memcmp(a, b, sizeof(struct key)) == 0; }

/* A datagram another capture's QUIC connection may own: QUIC's fixed bit
 * set, within the idle timeout of the run's first packet. */
static bool wanted(const struct analysis *a, const struct packet *p)
{
    return !a->live_run && p->payload_len > 0 && (p->payload[0] & 0x40) && p->ts_us - a->first_ts <= QUIC_TAIL_IDLE_US;
}

static uint32_t add32(uint32_t a, uint32_t b) { return a + b < a ? UINT32_MAX : a + b; }

/* The long-header packets of a tail's datagram (coalesced: at most a few;
 * most tails are short headers, refused at the first byte), sent by side d. */
static void note_long(struct quic_tail *t, int d, const uint8_t *q, size_t n)
{
    struct quic_header h;
    for (int i = 0; i < 4 && n && (q[0] & 0x80) && quic_parse_header(q, n, 0, &h); i++) {
        if (h.type == QUIC_PKT_RETRY)
            t->retry = true;
        else if (h.type == QUIC_PKT_0RTT)
            t->zero_rtt = add32(t->zero_rtt, 1);
        else if (h.type == QUIC_PKT_HANDSHAKE)
            t->handshake_sides |= (uint8_t)(1u << d);
        if (!h.packet_len || h.packet_len > n)
            break;
        q += h.packet_len;
        n -= h.packet_len;
    }
}

static struct quic_tail *note(struct analysis *a, const struct packet *p)
{
    struct quic_tails *qt = quic_tails_of(a);
    if (!qt->by)
        qt->by = g_hash_table_new_full(key_hash, key_equal, g_free, NULL);
    struct key k = key_of(&p->src, p->sport, &p->dst, p->dport);
    guint at = GPOINTER_TO_UINT(g_hash_table_lookup(qt->by, &k));
    if (!at) {
        if (qt->recs->len >= ANALYSIS_MAX_EDGES)
            return NULL;
        struct quic_tail t;
        memset(&t, 0, sizeof t);
        t.addr[0] = p->src;
        t.addr[1] = p->dst;
        t.port[0] = p->sport;
        t.port[1] = p->dport;
        t.first_ts = p->ts_us;
        g_array_append_val(qt->recs, t);
        at = qt->recs->len;
        g_hash_table_insert(qt->by, g_memdup2(&k, sizeof k), GUINT_TO_POINTER(at));
    }
    struct quic_tail *t = &g_array_index(qt->recs, struct quic_tail, at - 1);
    int d = end_cmp(&t->addr[0], t->port[0], &p->src, p->sport) == 0 ? 0 : 1;
    t->packets[d]++;
    t->bytes[d] += p->payload_wire_len;
    t->last_ts = p->ts_us;
    note_long(t, d, p->payload, p->payload_len);
    return t;
}

void quic_tail_packet(struct analysis *a, const struct packet *p)
{
    if (!wanted(a, p)) {
        quic_table_packet(a->quic, p);
        return;
    }
    struct quic_table_stats before = quic_table_stats(a->quic);
    quic_table_packet(a->quic, p);
    struct quic_table_stats after = quic_table_stats(a->quic);
    struct quic_tail *t = after.quic_datagrams == before.quic_datagrams ? note(a, p) : NULL;
    if (t && after.decrypt_failures != before.decrypt_failures) {
        t->failed_initials = add32(t->failed_initials, (uint32_t)(after.decrypt_failures - before.decrypt_failures));
        quic_hello_note_initial(a, t, p);
    }
}

/* ---- the merge state ---------------------------------------------------- */

/* One compact array: [addr0, port0, addr1, port1, first_ts, last_ts,
 * packets0, packets1, bytes0, bytes1]. */
enum { QF_A0, QF_P0, QF_A1, QF_P1, QF_FIRST, QF_LAST, QF_PK0, QF_PK1, QF_BY0, QF_BY1, QF_N };

/* Which records an array of the state holds. */
enum rec_kind { REC_TAIL, REC_HEAD, REC_START };

static enum rec_kind kind_of(const struct quic_tail *t)
{
    return !t->head ? REC_TAIL : t->decided ? REC_START : REC_HEAD;
}

static void build_recs(struct json *b, const struct analysis *a, const char *key, enum rec_kind kind)
{
    json_key(b, key);
    json_begin_array(b);
    for (guint i = 0; a->quic_tails && i < a->quic_tails->recs->len; i++) {
        const struct quic_tail *t = &g_array_index(a->quic_tails->recs, struct quic_tail, i);
        if (kind_of(t) != kind)
            continue;
        json_begin_array(b);
        put_ends(b, t->addr, t->port);
        json_int(b, t->first_ts);
        json_int(b, t->last_ts);
        for (int d = 0; d < 2; d++)
            vint(b, t->packets[d]);
        for (int d = 0; d < 2; d++)
            vint(b, t->bytes[d]);
        json_end_array(b);
    }
    json_end_array(b);
}

/* "quic_tail_facts": [index into quic_tails, retry (0/1), 0-RTT packets,
 * Initials that did not decrypt, Handshake senders (bit 0: addr0, bit 1:
 * addr1)], for the tails that have any, in increasing index. */
enum { TF_INDEX, TF_RETRY, TF_ZERO_RTT, TF_FAILED, TF_HANDSHAKE, TF_N };

static bool has_facts(const struct quic_tail *t)
{
    return t->retry || t->zero_rtt || t->failed_initials || t->handshake_sides;
}

static void build_facts(struct json *b, const struct analysis *a)
{
    json_key(b, "quic_tail_facts");
    json_begin_array(b);
    for (guint i = 0, at = 0; a->quic_tails && i < a->quic_tails->recs->len; i++) {
        const struct quic_tail *t = &g_array_index(a->quic_tails->recs, struct quic_tail, i);
        if (t->head)
            continue;
        if (has_facts(t)) {
            json_begin_array(b);
            vint(b, at);
            vint(b, t->retry);
            vint(b, t->zero_rtt);
            vint(b, t->failed_initials);
            vint(b, t->handshake_sides);
            json_end_array(b);
        }
        at++;
    }
    json_end_array(b);
}

/* "quic_head_facts": [index into quic_heads, suite, server Handshake
 * (0/1), ClientHello pending (0/1)], for the heads that have any. */
static void build_head_facts(struct json *b, const struct analysis *a)
{
    json_key(b, "quic_head_facts");
    json_begin_array(b);
    for (guint i = 0, at = 0; a->quic_tails && i < a->quic_tails->recs->len; i++) {
        const struct quic_tail *t = &g_array_index(a->quic_tails->recs, struct quic_tail, i);
        if (kind_of(t) != REC_HEAD)
            continue;
        if (t->cipher || t->server_handshake || t->hello_pending) {
            json_begin_array(b);
            vint(b, at);
            vint(b, t->cipher);
            vint(b, t->server_handshake);
            vint(b, t->hello_pending);
            json_end_array(b);
        }
        at++;
    }
    json_end_array(b);
}

static void fold_head_facts(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint base)
{
    struct jpath ap, ip;
    jpath_key(&ap, p, "quic_head_facts");
    JsonArray *arr = jget_arr(g, p, st, "quic_head_facts", ANALYSIS_MAX_EDGES);
    guint written = jget_member_len(st, "quic_heads");
    int64_t prev = -1;
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != 4) {
            jget_fail(g, &ip, "not [index, cipher, server_handshake, hello_pending]");
            return;
        }
        uint64_t at = jget_elem_u64(g, &ip, e, 0, ANALYSIS_MAX_EDGES);
        uint16_t cipher = (uint16_t)jget_elem_u64(g, &ip, e, 1, 65535);
        bool hs = jget_elem_u64(g, &ip, e, 2, 1) != 0, pending = jget_elem_u64(g, &ip, e, 3, 1) != 0;
        if (g->failed)
            return;
        if (!jget_later_index(at, &prev, written)) {
            jget_fail(g, &ip, "not the index of a later quic_heads record");
            return;
        }
        if (base + at >= a->quic_tails->recs->len)
            continue; /* past merge's own bound (fold_recs) */
        struct quic_tail *t = &g_array_index(a->quic_tails->recs, struct quic_tail, base + at);
        t->cipher = cipher;
        t->server_handshake = hs;
        t->hello_pending = pending;
    }
}

void mstate_build_quic_tails(struct json *b, const struct analysis *a)
{
    build_recs(b, a, "quic_tails", REC_TAIL);
    json_key(b, "quic_open"); /* [addr0, port0, addr1, port1, last_ts] */
    json_begin_array(b);
    for (guint i = 0; a->quic_tails && i < a->quic_tails->open->len; i++) {
        const struct quic_open *o = &g_array_index(a->quic_tails->open, struct quic_open, i);
        json_begin_array(b);
        put_ends(b, o->addr, o->port);
        json_int(b, o->last_ts);
        json_end_array(b);
    }
    json_end_array(b);
    build_recs(b, a, "quic_heads", REC_HEAD); /* the same arrays as quic_tails */
    build_recs(b, a, "quic_starts", REC_START);
    build_facts(b, a);
    quic_hello_build(b, a);
    build_head_facts(b, a);
}

static void read_one(struct jget *g, const struct jpath *ip, JsonArray *e, struct quic_tail *t)
{
    memset(t, 0, sizeof *t);
    if (!e || json_array_get_length(e) != QF_N) {
        jget_fail(g, ip, "not [addr, port, addr, port, first_ts, last_ts, packets, packets, bytes, bytes]");
        return;
    }
    jget_elem_ends(g, ip, e, t->addr, t->port);
    for (int d = 0; d < 2; d++) {
        t->packets[d] = jget_elem_u64(g, ip, e, d ? QF_PK1 : QF_PK0, INT64_MAX);
        t->bytes[d] = jget_elem_u64(g, ip, e, d ? QF_BY1 : QF_BY0, INT64_MAX);
    }
    t->first_ts = jget_elem_ts(g, ip, e, QF_FIRST);
    t->last_ts = jget_elem_ts(g, ip, e, QF_LAST);
}

static void fold_recs(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, const char *key,
                      enum rec_kind kind)
{
    struct jpath ap, ip;
    jpath_key(&ap, p, key);
    JsonArray *arr = jget_arr(g, p, st, key, ANALYSIS_MAX_EDGES);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        struct quic_tail t;
        read_one(g, &ip, jget_node_arr(n), &t);
        if (g->failed)
            return;
        t.head = kind != REC_TAIL;
        t.decided = kind == REC_START;
        struct quic_tails *qt = quic_tails_of(a);
        if (qt->recs->len < 16 * ANALYSIS_MAX_EDGES) /* a bound for merge itself */
            g_array_append_val(qt->recs, t);
    }
}

/* "quic_tail_facts" of the quic_tails just folded (from base on): each
 * index a record of the state's quic_tails, strictly increasing; counts no
 * more than the record's packets (0-RTT packets: four times them, several
 * coalesced in one datagram). */
static void fold_facts(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint base)
{
    struct jpath ap, ip;
    jpath_key(&ap, p, "quic_tail_facts");
    JsonArray *arr = jget_arr(g, p, st, "quic_tail_facts", ANALYSIS_MAX_EDGES);
    guint written = jget_member_len(st, "quic_tails");
    int64_t prev = -1;
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != TF_N) {
            jget_fail(g, &ip, "not [index, retry, zero_rtt, failed_initials, handshake_sides]");
            return;
        }
        uint64_t at = jget_elem_u64(g, &ip, e, TF_INDEX, ANALYSIS_MAX_EDGES);
        bool retry = jget_elem_u64(g, &ip, e, TF_RETRY, 1) != 0;
        uint64_t zero_rtt = jget_elem_u64(g, &ip, e, TF_ZERO_RTT, UINT32_MAX);
        uint64_t failed = jget_elem_u64(g, &ip, e, TF_FAILED, UINT32_MAX);
        uint8_t sides = (uint8_t)jget_elem_u64(g, &ip, e, TF_HANDSHAKE, 3);
        if (g->failed)
            return;
        if (!jget_later_index(at, &prev, written)) {
            jget_fail(g, &ip, "not the index of a later quic_tails record");
            return;
        }
        if (base + at >= a->quic_tails->recs->len)
            continue; /* past merge's own bound (fold_recs) */
        struct quic_tail *t = &g_array_index(a->quic_tails->recs, struct quic_tail, base + at);
        /* 0-RTT packets: several coalesced in one datagram at most four (note_long) */
        uint64_t packets = t->packets[0] + t->packets[1]; /* each at most INT64_MAX as read */
        if (failed > packets || (packets <= UINT64_MAX / 4 && zero_rtt > 4 * packets)) {
            jget_fail(g, &ip, "more packets than its quic_tails record holds");
            return;
        }
        t->retry = retry;
        t->zero_rtt = (uint32_t)zero_rtt;
        t->failed_initials = (uint32_t)failed;
        t->handshake_sides = sides;
    }
}

void mstate_fold_quic_tails(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    if (!json_object_has_member(st, "quic_tails"))
        return; /* a report of this format written before they were carried: nothing to join */
    struct jpath ap, ip;
    guint base = a->quic_tails ? a->quic_tails->recs->len : 0;
    fold_recs(g, p, a, st, "quic_tails", REC_TAIL);
    /* absent: written before they were carried */
    if (!g->failed && json_object_has_member(st, "quic_tail_facts"))
        fold_facts(g, p, a, st, base);
    quic_hello_fold(g, p, a, st, base);
    guint heads = quic_tails_of(a)->recs->len;
    if (!g->failed && json_object_has_member(st, "quic_heads"))
        fold_recs(g, p, a, st, "quic_heads", REC_HEAD);
    if (!g->failed && json_object_has_member(st, "quic_head_facts"))
        fold_head_facts(g, p, a, st, heads);
    if (!g->failed && json_object_has_member(st, "quic_starts"))
        fold_recs(g, p, a, st, "quic_starts", REC_START);
    JsonArray *open = g->failed ? NULL : jget_arr(g, p, st, "quic_open", ANALYSIS_MAX_EDGES);
    jpath_key(&ap, p, "quic_open");
    for (guint i = 0; open && !g->failed && i < json_array_get_length(open); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(open, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != 5) {
            jget_fail(g, &ip, "not [addr, port, addr, port, last_ts]");
            return;
        }
        struct quic_open o;
        memset(&o, 0, sizeof o);
        jget_elem_ends(g, &ip, e, o.addr, o.port);
        o.last_ts = jget_elem_ts(g, &ip, e, QF_FIRST);
        if (!g->failed)
            open_put(a, &o, 16 * ANALYSIS_MAX_EDGES); /* a bound for merge itself */
    }
}

/* ---- joining ------------------------------------------------------------ */

static gint tail_order(gconstpointer pa, gconstpointer pb)
{
    const struct quic_tail *a = pa, *b = pb;
    struct key x = key_of(&a->addr[0], a->port[0], &a->addr[1], a->port[1]);
    struct key y = key_of(&b->addr[0], b->port[0], &b->addr[1], b->port[1]);
    int c = memcmp(&x, &y, sizeof x);
    if (c)
        return c;
    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    return memcmp(a, b, sizeof *a); /* zero-filled: comparable as bytes */
}

static bool same_ends(const struct quic_tail *t, const struct ip_addr *x, uint16_t xp, const struct ip_addr *y,
                      uint16_t yp)
{
    struct key a = key_of(&t->addr[0], t->port[0], &t->addr[1], t->port[1]), b = key_of(x, xp, y, yp);
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Whether the tail's [0] is the side named by x (else the other). */
static bool sent_by(const struct quic_tail *t, const struct ip_addr *x, uint16_t xp)
{
    return end_cmp(&t->addr[0], t->port[0], x, xp) == 0;
}

static gint open_order(gconstpointer pa, gconstpointer pb) { return memcmp(pa, pb, sizeof(struct quic_open)); }

static bool follows(int64_t last_ts, int64_t first_ts)
{
    return first_ts >= last_ts && first_ts - last_ts <= QUIC_TAIL_IDLE_US;
}

/* Whether a record of open (sorted: open_order, as bytes) has the head's
 * ends, [0] the client in both, and the head follows it: a binary search
 * for the first record of those ends, then each record of them. */
static bool follows_open(const GArray *open, const struct quic_tail *h)
{
    struct quic_open probe;
    memset(&probe, 0, sizeof probe);
    for (int d = 0; d < 2; d++) {
        probe.addr[d] = h->addr[d];
        probe.port[d] = h->port[d];
    }
    const size_t n = offsetof(struct quic_open, last_ts);
    guint lo = 0, hi = open->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (memcmp(&g_array_index(open, struct quic_open, mid), &probe, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (guint i = lo; i < open->len; i++) {
        const struct quic_open *o = &g_array_index(open, struct quic_open, i);
        if (memcmp(o, &probe, n) != 0)
            return false;
        /* not its own record (its part lists it open too: its last datagram) */
        if (follows(o->last_ts, h->first_ts) && o->last_ts != h->last_ts)
            return true;
    }
    return false;
}

/* The tail's datagrams are a connection's another capture left open:
 * counted as QUIC datagrams (stats.datagrams counted them already: every
 * UDP payload), or a connection of its part's own (a head) no more. */
static void count_joined(struct analysis *a, const struct quic_tail *t)
{
    if (t->head) { /* begun by a client's new ClientHello: counted as not SMB too */
        struct quic_table_stats q = { .conns = 1, .other_conns = t->decided };
        quic_table_unjoin_stats(a->quic, &q);
    } else {
        struct quic_table_stats q;
        memset(&q, 0, sizeof q);
        q.quic_datagrams = t->packets[0] + t->packets[1];
        quic_table_fold_stats(a->quic, &q);
        /* the server's Initials whose keys were the connection's: they decrypt in the run over both */
        struct quic_table_stats f = { .decrypt_failures = t->failed_initials };
        quic_table_unjoin_stats(a->quic, &f);
    }
    a->edges_joined++;
}

/* The tail's datagrams into the connection cs left open (its record,
 * connections[] entry, the QUIC datagram count). */
static void join_one(struct analysis *a, struct conn_summary *cs, const struct quic_tail *t)
{
    JsonObject *e = mstate_detail_entry(a, cs);
    int c = sent_by(t, &cs->client, cs->client_port) ? 0 : 1; /* the tail's side of the client */
    quic_edge_tail_facts(a, cs, t->retry, t->zero_rtt, (t->handshake_sides >> (1 - c)) & 1);
    quic_hello_join(a, cs, t);
    if (t->head) /* what its run read of the handshake (a ClientHello split by the cut: its rest) */
        quic_hello_head(a, cs, t);
    uint64_t pk[2] = { t->packets[c], t->packets[1 - c] }, by[2] = { t->bytes[c], t->bytes[1 - c] };
    cs->packets += pk[0] + pk[1];
    cs->bytes += by[0] + by[1];
    cs->last_ts = t->last_ts;
    if (e) {
        char ts[FMT_TIME_LEN];
        json_object_set_string_member(e, "last_seen", fmt_time(t->last_ts, ts));
        JsonObject *st = jget_member_obj(e, "stream");
        mstate_add_int(st, "packets_c2s", pk[0]);
        mstate_add_int(st, "packets_s2c", pk[1]);
        mstate_add_int(st, "bytes_c2s", by[0]);
        mstate_add_int(st, "bytes_s2c", by[1]);
    } else {
        struct smb_conn *s = mstate_detail_conn(a, cs); /* --jobs: the session itself */
        if (s) {
            s->last_ts = t->last_ts;
            for (int d = 0; d < 2; d++) {
                s->packets[d == 0 ? s->client : !s->client] += pk[d];
                s->bytes[d == 0 ? s->client : !s->client] += by[d];
            }
        }
    }
    count_joined(a, t);
}

/* The first tail of recs (sorted: tail_order) not before the ends of x
 * (recs->len: none; the caller checks that its ends are x's). */
static guint first_of_ends(const GArray *recs, const struct key *x)
{
    guint lo = 0, hi = recs->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        const struct quic_tail *t = &g_array_index(recs, struct quic_tail, mid);
        struct key y = key_of(&t->addr[0], t->port[0], &t->addr[1], t->port[1]);
        if (memcmp(&y, x, sizeof y) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A head an earlier part began (a client Initial whose ClientHello its run
 * could not complete: split over Initials the cut divides) that the SMB
 * connection cs of a later part follows on the same ends, cs's client its
 * sender: the run over both began the connection there.  cs begins at the
 * head (its first packet, packets and bytes, the ClientHello completed), the
 * head's connection is not one of its own. */
static void join_head_before(struct analysis *a, struct conn_summary *cs, GArray *recs)
{
    struct key x = key_of(&cs->client, cs->client_port, &cs->server, cs->server_port);
    for (guint k = first_of_ends(recs, &x); k < recs->len; k++) {
        const struct quic_tail *t = &g_array_index(recs, struct quic_tail, k);
        struct key y = key_of(&t->addr[0], t->port[0], &t->addr[1], t->port[1]);
        if (memcmp(&x, &y, sizeof x) != 0 || t->first_ts >= cs->first_ts)
            break;
        if (!t->head || t->decided || !sent_by(t, &cs->client, cs->client_port) || !follows(t->last_ts, cs->first_ts))
            continue;
        JsonObject *e = mstate_detail_entry(a, cs); /* found by cs's first packet: before it changes */
        struct smb_conn *s = e ? NULL : mstate_detail_conn(a, cs);
        cs->first_ts = t->first_ts;
        cs->packets += t->packets[0] + t->packets[1];
        cs->bytes += t->bytes[0] + t->bytes[1];
        if (e) {
            char ts[FMT_TIME_LEN];
            json_object_set_string_member(e, "first_seen", fmt_time(t->first_ts, ts));
            JsonObject *st = jget_member_obj(e, "stream");
            mstate_add_int(st, "packets_c2s", t->packets[0]);
            mstate_add_int(st, "packets_s2c", t->packets[1]);
            mstate_add_int(st, "bytes_c2s", t->bytes[0]);
            mstate_add_int(st, "bytes_s2c", t->bytes[1]);
            JsonObject *q = jget_member_obj(e, "quic");
            if (t->hello_pending)
                mstate_add_int(q, "client_hellos", 1);
        } else if (s) {
            s->first_ts = t->first_ts;
            for (int d = 0; d < 2; d++) {
                s->packets[d == 0 ? s->client : !s->client] += t->packets[d];
                s->bytes[d == 0 ? s->client : !s->client] += t->bytes[d];
            }
            if (s->quic)
                s->quic->client_hellos += t->hello_pending;
        }
        count_joined(a, t);
        g_array_remove_index(recs, k);
        return;
    }
}

void mstate_join_quic(struct analysis *a)
{
    GArray *recs = quic_tails_of(a)->recs; /* none: QUIC edges may still join each other */
    quic_hello_sort(a);
    g_array_sort(recs, tail_order); /* per 4-tuple, in time order */
    /* Each tail that follows the connection joins it in turn (parts of one
     * capture merged first keep theirs apart: every tail is one part, and
     * counts as one join whatever reports were merged first). */
    for (guint i = 0; a->edges && i < a->edges->len; i++) {
        struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, i);
        if (cs->carrier == CONN_CARRIER_QUIC)
            join_head_before(a, cs, recs);
    }
    for (guint i = 0; a->edges && i < a->edges->len; i++) {
        struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, i);
        while (cs->carrier == CONN_CARRIER_QUIC && strcmp(cs->close_reason, "end of capture") == 0) {
            /* A later part's connection of these ends begun by the ClientHello
             * after a Retry (edges sorted by ends, then time: the next one):
             * the tails before it are this connection's first, then it. */
            guint n = i + 1;
            const struct conn_summary *late = n < a->edges->len ? &g_array_index(a->edges, struct conn_summary, n) : NULL;
            int64_t before = late && quic_edge_same(cs, late) ? late->first_ts : INT64_MAX;
            for (guint k = 0; k < recs->len; k++) {
                const struct quic_tail *t = &g_array_index(recs, struct quic_tail, k);
                if (same_ends(t, &cs->client, cs->client_port, &cs->server, cs->server_port) &&
                    follows(cs->last_ts, t->first_ts) && t->first_ts < before) {
                    join_one(a, cs, t);
                    g_array_remove_index(recs, k);
                    k--; /* the next tail of the tuple is now at k */
                }
            }
            if (!late || !quic_edge_continues(cs, late))
                break;
            quic_edge_join(a, cs, late);
            g_array_remove_index(a->edges, n); /* cs stays at i */
            cs = &g_array_index(a->edges, struct conn_summary, i);
        }
    }
    /* A QUIC connection that is not SMB: the tails that follow it are its
     * datagrams (stats.quic.datagrams), each a join; it stays open for a
     * later report while within the idle timeout of the last packet. */
    GArray *open = a->quic_tails->open;
    g_array_sort(open, open_order);
    /* A head (a connection a later part began from an Initial without its
     * ClientHello) that follows a connection left open is that one: its
     * own part lists it open too, so the deduplication below keeps its end. */
    for (guint k = 0; k < recs->len; k++) {
        const struct quic_tail *t = &g_array_index(recs, struct quic_tail, k);
        if (t->head && follows_open(open, t)) {
            count_joined(a, t);
            g_array_remove_index(recs, k);
            k--;
        }
    }
    /* One record per 4-tuple (a later part that saw the connection's own
     * packets lists it too): a tail that follows any of its records, or a
     * tail joined before it, joins; the latest end stays (the same whatever
     * the order). */
    GArray *ends = g_array_new(FALSE, FALSE, sizeof(int64_t));
    guint kept = 0;
    for (guint i = 0; i < open->len;) {
        struct quic_open o = g_array_index(open, struct quic_open, i);
        g_array_set_size(ends, 0);
        for (; i < open->len && !memcmp(&g_array_index(open, struct quic_open, i), &o, offsetof(struct quic_open, last_ts));
             i++) {
            int64_t e = g_array_index(open, struct quic_open, i).last_ts;
            g_array_append_val(ends, e);
            o.last_ts = e > o.last_ts ? e : o.last_ts;
        }
        for (guint k = 0; k < recs->len; k++) {
            const struct quic_tail *t = &g_array_index(recs, struct quic_tail, k);
            if (t->head) /* its own part's record is among these: joined above or not at all */
                continue;
            bool joins = false;
            for (guint e = 0; !joins && e < ends->len && same_ends(t, &o.addr[0], o.port[0], &o.addr[1], o.port[1]); e++)
                joins = follows(g_array_index(ends, int64_t, e), t->first_ts);
            if (!joins)
                continue;
            count_joined(a, t);
            g_array_append_val(ends, t->last_ts);
            o.last_ts = t->last_ts > o.last_ts ? t->last_ts : o.last_ts;
            g_array_remove_index(recs, k);
            k--; /* the next tail of the tuple is now at k */
        }
        if (ts_diff(a->last_ts, o.last_ts) <= QUIC_TAIL_IDLE_US && kept < ANALYSIS_MAX_EDGES)
            memcpy(&g_array_index(open, struct quic_open, kept++), &o, sizeof o);
    }
    g_array_free(ends, TRUE);
    g_array_set_size(open, kept);
    /* What may still continue another report's connection: within the idle
     * timeout of the first packet. */
    guint w = 0;
    for (guint i = 0; i < recs->len; i++) {
        const struct quic_tail *t = &g_array_index(recs, struct quic_tail, i);
        if (ts_diff(t->first_ts, a->first_ts) <= QUIC_TAIL_IDLE_US && w < ANALYSIS_MAX_EDGES)
            g_array_index(recs, struct quic_tail, w++) = *t;
    }
    g_array_set_size(recs, w);
    quic_hello_keep(a);
}

void quic_tails_fold_mem(struct analysis *dst, const struct analysis *src)
{
    for (guint i = 0; src->quic_tails && i < src->quic_tails->open->len; i++)
        open_put(dst, &g_array_index(src->quic_tails->open, struct quic_open, i), ANALYSIS_MAX_EDGES);
    for (guint i = 0; src->quic_tails && i < src->quic_tails->recs->len; i++) {
        struct quic_tails *qt = quic_tails_of(dst);
        if (qt->recs->len >= ANALYSIS_MAX_EDGES)
            break;
        struct quic_tail t = g_array_index(src->quic_tails->recs, struct quic_tail, i);
        quic_hello_copy_tail(dst, src, &t);
        g_array_append_val(qt->recs, t);
    }
    for (guint i = 0; src->quic_tails && src->quic_tails->keys && i < src->quic_tails->keys->len; i++) {
        struct quic_tails *qt = quic_tails_of(dst);
        if (!qt->keys)
            qt->keys = g_array_new(FALSE, TRUE, sizeof(struct quic_key_rec));
        if (qt->keys->len < ANALYSIS_MAX_EDGES)
            g_array_append_val(qt->keys, g_array_index(src->quic_tails->keys, struct quic_key_rec, i));
    }
}
