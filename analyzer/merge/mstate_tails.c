/* mstate_tails.c - see mstate_tails.h. */
#include "mstate_tails.h"

#include <string.h>

#include "flow.h"
#include "fmt.h"
#include "mstate_detail.h"
#include "mstate_ends_ix.h"
#include "mstate_group_order.h"
#include "mstate_join_fin.h"
#include "mstate_join_frame.h"
#include "mstate_join_syn.h"
#include "session.h"
#include "mstate_put.h"

/* A tail is one compact array: [addr0, port0, addr1, port1, first_ts,
 * last_ts, packets0, packets1, close_reason]. */
enum { TF_A0, TF_P0, TF_A1, TF_P1, TF_FIRST, TF_LAST, TF_PK0, TF_PK1, TF_REASON, TF_N };

/* A message's rest follows the cut at once (a transfer does not pause inside
 * a message): a data tail begins within this of its run's first packet.  It
 * bounds what a capture of much mid-stream traffic that is not SMB (TLS seen
 * from its middle finds no header either) lists; and data tails take at
 * most this many of the tails' places, the rest kept for the tails of ACKs
 * and FINs. */
#define DATA_TAIL_REACH_US (120 * 1000000LL)
#define DATA_TAILS_UNTIL (ANALYSIS_MAX_EDGES - 1024u)

void mstate_data_tail_note(struct analysis *a, const struct flow_conn *c, const char *reason, const struct smb_conn *s)
{
    mstate_close_class_note(a, c); /* a TCP connection with a session that was not SMB closes here */
    if (!c->midstream) { /* seen from its SYN: an iWARP startup cut before its first FPDU? */
        syn_flow_mpa_note(a, c, reason, s);
        return;
    }
    if ( s->smbd || (!c->dir[0].bytes && !c->dir[1].bytes) ||
        ts_diff(c->first_ts_us, a->first_ts) > DATA_TAIL_REACH_US || (a->tails && a->tails->len >= DATA_TAILS_UNTIL))
        return;
    for (int d = 0; d < 2; d++)
        if (s->frame_bytes[d] && s->frame_lead[d] != UINT64_MAX)
            return; /* a header found: not only a message's middle */
    struct analysis_tail *t = analysis_tail_add(a, c, reason);
    if (!t)
        return;
    for (int d = 0; d < 2; d++) {
        t->bytes[d] = c->dir[d].bytes;
        t->framed[d] = s->frame_bytes[d];
    }
    t->data = true;
}

/* [addr0, port0, addr1, port1, first_ts, last_ts, packets0, packets1,
 * bytes0, bytes1, framed0, framed1, close_reason] */
enum { DF_BY0 = 8, DF_BY1, DF_FR0, DF_FR1, DF_REASON, DF_N };

static void build_data_tails(struct json *b, const struct analysis *a)
{
    json_key(b, "data_tails");
    json_begin_array(b);
    for (guint i = 0; a->tails && i < a->tails->len; i++) {
        const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
        if (!t->data)
            continue;
        json_begin_array(b);
        put_ends(b, t->addr, t->port);
        json_int(b, t->first_ts);
        json_int(b, t->last_ts);
        for (int d = 0; d < 2; d++)
            vint(b, t->packets[d]);
        for (int d = 0; d < 2; d++)
            vint(b, t->bytes[d]);
        for (int d = 0; d < 2; d++)
            vint(b, t->framed[d]);
        json_str(b, t->close_reason);
        json_end_array(b);
    }
    json_end_array(b);
}

/* "tail_closes" / "data_tail_closes": each tail's close number, beside
 * the array (mstate_group_order.h). */
static void build_closes(struct json *b, const struct analysis *a, bool data)
{
    if (!mstate_closes_numbered(a))
        return;
    json_key(b, data ? "data_tail_closes" : "tail_closes");
    json_begin_array(b);
    for (guint i = 0; a->tails && i < a->tails->len; i++) {
        const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
        if (t->data == data)
            json_int(b, t->order_at);
    }
    json_end_array(b);
    if (data)
        return;
    json_key(b, "tail_fins_acked"); /* the tails (their places) that saw a FIN each way acknowledged */
    json_begin_array(b);
    guint at = 0;
    for (guint i = 0; a->tails && i < a->tails->len; i++) {
        const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
        if (t->data)
            continue;
        if (t->fins_acked)
            json_int(b, at);
        at++;
    }
    json_end_array(b);
}

/* "tail_synacks": [place, ISN] of the tails (their places, as
 * tail_fins_acked) that began with the responder's SYN-ACK: a capture cut
 * between a SYN and its SYN-ACK, the SYN's part left a syn_flow, and merge
 * needs the responder's ISN to find the first bytes a later part saw
 * follow it (mstate_join_syn.h: mstate_join_syn_heads).  Written only when
 * there is one (an older smbscope ignores the member: those connections
 * stay unjoined there, as before). */
static void build_synacks(struct json *b, const struct analysis *a)
{
    guint at = 0;
    bool any = false;
    for (guint i = 0; a->tails && i < a->tails->len; i++) {
        const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
        if (t->data)
            continue;
        if (t->isn_resp_known) {
            if (!any) {
                json_key(b, "tail_synacks");
                json_begin_array(b);
                any = true;
            }
            json_begin_array(b);
            json_int(b, at);
            json_int(b, t->isn_resp);
            json_end_array(b);
        }
        at++;
    }
    if (any)
        json_end_array(b);
}

void mstate_build_tails(struct json *b, const struct analysis *a)
{
    json_key(b, "tails");
    json_begin_array(b);
    for (guint i = 0; a->tails && i < a->tails->len; i++) {
        const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
        if (t->data)
            continue;
        json_begin_array(b);
        put_ends(b, t->addr, t->port);
        json_int(b, t->first_ts);
        json_int(b, t->last_ts);
        for (int d = 0; d < 2; d++)
            vint(b, t->packets[d]);
        json_str(b, t->close_reason);
        json_end_array(b);
    }
    json_end_array(b);
    build_closes(b, a, false);
    build_synacks(b, a);
    build_data_tails(b, a);
    build_closes(b, a, true);
}

static uint64_t tu(struct jget *g, const struct jpath *p, JsonArray *e, guint i, uint64_t max)
{
    int64_t v = jget_elem_i64(g, p, e, i);
    if (!g->failed && (v < 0 || (uint64_t)v > max))
        jget_fail(g, p, "a port or count out of range");
    return g->failed ? 0 : (uint64_t)v;
}

/* "tails" (data: "data_tails", their bytes and bytes framed too). */
static void fold_tails(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, bool data)
{
    struct jpath ap, ip;
    const char *key = data ? "data_tails" : "tails";
    jpath_key(&ap, p, key);
    JsonArray *arr = jget_arr(g, p, st, key, ANALYSIS_MAX_EDGES);
    const char *ckey = data ? "data_tail_closes" : "tail_closes";
    JsonArray *closes = mstate_closes_peek(st, ckey);
    struct jpath rp;
    jpath_key(&rp, p, "run");
    int64_t run_first_ts = closes ? jget_ts_or_none(g, &rp, jget_obj(g, p, st, "run"), "first_ts") : 0;
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != (data ? DF_N : TF_N)) {
            jget_fail(g, &ip, data ? "not [addr, port, addr, port, first_ts, last_ts, packets, packets, bytes, bytes, "
                                     "framed, framed, close_reason]"
                                   : "not [addr, port, addr, port, first_ts, last_ts, packets, packets, close_reason]");
            return;
        }
        struct analysis_tail t;
        memset(&t, 0, sizeof t);
        for (int d = 0; d < 2; d++) {
            const char *s = jget_elem_str(g, &ip, e, d ? TF_A1 : TF_A0, 64);
            if (s && !jget_parse_addr(s, &t.addr[d]))
                jget_fail(g, &ip, "not an address");
            t.port[d] = (uint16_t)tu(g, &ip, e, d ? TF_P1 : TF_P0, 65535);
            t.packets[d] = tu(g, &ip, e, d ? TF_PK1 : TF_PK0, INT64_MAX);
        }
        t.first_ts = jget_elem_ts(g, &ip, e, TF_FIRST);
        t.last_ts = jget_elem_ts(g, &ip, e, TF_LAST);
        t.data = data;
        if (closes) { /* where the run over the parts closes a connection it ends */
            t.order_run = run_first_ts;
            t.order_at = mstate_close_at(closes, i);
        }
        for (int d = 0; data && d < 2; d++) {
            t.bytes[d] = tu(g, &ip, e, d ? DF_BY1 : DF_BY0, INT64_MAX);
            t.framed[d] = tu(g, &ip, e, d ? DF_FR1 : DF_FR0, INT64_MAX);
            if (!g->failed && t.framed[d] > t.bytes[d])
                jget_fail(g, &ip, "more bytes framed than carried");
        }
        const char *r = jget_elem_str(g, &ip, e, data ? DF_REASON : TF_REASON, sizeof t.close_reason - 1);
        if (g->failed)
            return;
        g_strlcpy(t.close_reason, r, sizeof t.close_reason);
        if (!a->tails)
            a->tails = g_array_new(FALSE, TRUE, sizeof(struct analysis_tail));
        if (a->tails->len < 16 * ANALYSIS_MAX_EDGES) /* a bound for merge itself */
            g_array_append_val(a->tails, t);
    }
    if (arr)
        mstate_closes_check(g, p, st, ckey, json_array_get_length(arr));
    guint n = arr ? json_array_get_length(arr) : 0;
    JsonArray *acked = !data && closes && !g->failed ? jget_arr(g, p, st, "tail_fins_acked", ANALYSIS_MAX_EDGES) : NULL;
    struct jpath kp;
    jpath_key(&kp, p, "tail_fins_acked");
    guint base = a->tails && a->tails->len >= n ? a->tails->len - n : 0;
    for (guint i = 0; acked && !g->failed && i < json_array_get_length(acked); i++) {
        uint64_t at = jget_elem_u64(g, &kp, acked, i, n ? n - 1 : 0);
        if (!g->failed && !n)
            jget_fail(g, &kp, "names a tail of a state without tails");
        if (!g->failed && base + at < a->tails->len && a->tails->len - base == n)
            g_array_index(a->tails, struct analysis_tail, base + at).fins_acked = true;
    }
}

struct synack_put {
    struct analysis *a;
    guint had;
    bool all; /* every tail of the state folded (else past merge's own bound: not joinable) */
};

static void synack_put(void *ctx, guint place, uint32_t isn)
{
    struct synack_put *x = ctx;
    if (!x->all)
        return;
    struct analysis_tail *t = &g_array_index(x->a->tails, struct analysis_tail, x->had + place);
    t->isn_resp_known = true;
    t->isn_resp = isn;
}

/* "tail_synacks" of the n tails just folded (a->tails past had: all n of
 * them, or merge's own bound was reached and none is joinable); absent:
 * none, or written before they were carried. */
static void fold_synacks(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint had,
                         guint n)
{
    struct synack_put x = { a, had, a->tails && a->tails->len - had == n };
    jget_place_isns(g, p, st, "tail_synacks", ANALYSIS_MAX_EDGES, n, "tail", synack_put, &x);
}

void mstate_fold_tails(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    guint had = a->tails ? a->tails->len : 0;
    fold_tails(g, p, a, st, false);
    if (!g->failed)
        fold_synacks(g, p, a, st, had, jget_member_len(st, "tails"));
    if (!g->failed && json_object_has_member(st, "data_tails")) /* absent: written before they were carried */
        fold_tails(g, p, a, st, true);
}

/* Whether a tail starting at first_ts is cur's: after its last packet, and
 * for a connection closed after its FINs, within their linger (flow.h: a
 * later packet opens a connection of its own). */
static bool in_reach(const struct conn_summary *cur, bool lingering, int64_t first_ts)
{
    if (first_ts < cur->last_ts)
        return false;
    if (!lingering)
        return true;
    struct flow_limits lim;
    flow_limits_default(&lim);
    return ts_diff(first_ts, cur->last_ts) <= lim.idle_closed_us;
}

int64_t mstate_inputs_end(const struct analysis *a)
{
    int64_t end = INT64_MIN; /* the last packet of the inputs so far: the run over them ended there */
    for (guint i = 0; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        if (in->packets && in->last_ts > end)
            end = in->last_ts;
    }
    return end;
}

bool mstate_tail_lingers(int64_t end, const struct conn_summary *cs)
{
    if (!fin_linger_summary(cs) || cs->fins_acked) /* lingering after its FINs (one seen mid-stream is an edge
                                                      anyway), one not acknowledged (fin_linger_note) */
        return false;
    return end != INT64_MIN && in_reach(cs, true, end);
}

static uint64_t tail_word(const struct analysis_tail *t)
{
    return mstate_ends_word(&t->addr[0], t->port[0], &t->addr[1], t->port[1], 0);
}

guint mstate_tails_first(struct analysis *a, const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp,
                         struct mstate_ends_it *it)
{
    if (!a->tails)
        return G_MAXUINT;
    if (!mstate_ends_ix_for(a->tails_ix, a->tails, a->tails->len)) {
        mstate_ends_ix_free(a->tails_ix);
        a->tails_ix = mstate_ends_ix_new(a->tails);
        for (guint i = 0; i < a->tails->len; i++)
            mstate_ends_ix_put(a->tails_ix, tail_word(&g_array_index(a->tails, struct analysis_tail, i)), i);
    }
    return mstate_ends_ix_first(a->tails_ix, mstate_ends_word(x, xp, y, yp, 0), it);
}

guint mstate_tails_next(const struct analysis *a, struct mstate_ends_it *it) { return mstate_ends_ix_next(a->tails_ix, it); }

void mstate_tails_ix_done(struct analysis *a)
{
    mstate_ends_ix_free(a->tails_ix);
    a->tails_ix = NULL;
}

guint mstate_tail_place(const struct analysis *a, guint slot) { return mstate_ends_ix_place(a->tails_ix, slot); }

void mstate_tail_remove(struct analysis *a, guint slot)
{
    guint at = mstate_ends_ix_place(a->tails_ix, slot);
    mstate_ends_ix_removed(a->tails_ix, tail_word(&g_array_index(a->tails, struct analysis_tail, at)), slot);
    g_array_remove_index(a->tails, at);
}

/* One tail joined to cur (see mstate_join_tail). */
static bool join_one(struct analysis *a, struct conn_summary *cur, int64_t before)
{
    bool lingering = strcmp(cur->close_reason, "fin") == 0;
    guint best = G_MAXUINT, best_slot = 0;
    bool best_swapped = false;
    /* only the tails of cur's ends, in the array's order (mstate_tails_of) */
    struct mstate_ends_it it;
    for (guint slot = mstate_tails_first(a, &cur->client, cur->client_port, &cur->server, cur->server_port, &it);
         slot != G_MAXUINT; slot = mstate_tails_next(a, &it)) {
        guint i = mstate_tail_place(a, slot);
        const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, i);
        bool fwd = mstate_same_end(&t->addr[0], t->port[0], &cur->client, cur->client_port) &&
                   mstate_same_end(&t->addr[1], t->port[1], &cur->server, cur->server_port);
        bool rev = mstate_same_end(&t->addr[1], t->port[1], &cur->client, cur->client_port) &&
                   mstate_same_end(&t->addr[0], t->port[0], &cur->server, cur->server_port);
        if ((!fwd && !rev) || !in_reach(cur, lingering, t->first_ts) || t->first_ts >= before)
            continue;
        if (best == G_MAXUINT || t->first_ts < g_array_index(a->tails, struct analysis_tail, best).first_ts) {
            best = i;
            best_slot = slot;
            best_swapped = !fwd;
        }
    }
    if (best == G_MAXUINT)
        return false;
    const struct analysis_tail *t = &g_array_index(a->tails, struct analysis_tail, best);
    bool both_fins = mstate_join_fins(a, cur, &t->addr[0], t->port[0], &t->addr[1], t->port[1], t->first_ts);
    uint64_t c2s = t->packets[best_swapped ? 1 : 0], s2c = t->packets[best_swapped ? 0 : 1];
    struct conn_summary was = *cur;
    cur->packets += c2s + s2c;
    cur->last_ts = t->last_ts;
    bool rst = strcmp(t->close_reason, "rst") == 0;
    if (!lingering || rst)
        g_strlcpy(cur->close_reason, t->close_reason, sizeof cur->close_reason);
    /* else it still lingers after its FINs: "fin" whatever ended the tail (flow.c: natural_reason) */
    if (!lingering && both_fins && (strcmp(t->close_reason, "end") == 0 || strcmp(t->close_reason, "idle") == 0))
        g_strlcpy(cur->close_reason, "fin", sizeof cur->close_reason); /* flow.c: natural_reason */
    /* a data tail (a message's middle): its bytes, and what the framing of the whole still has to skip */
    uint64_t by[2] = { t->bytes[best_swapped ? 1 : 0], t->bytes[best_swapped ? 0 : 1] };
    mstate_detail_tail(a, &was, cur, c2s, s2c, t->data ? by : NULL);
    if (t->data) {
        cur->bytes += by[0] + by[1];
        mstate_frame_tail(a, cur, t->framed[best_swapped ? 1 : 0], t->framed[best_swapped ? 0 : 1]);
    }
    if (lingering || strcmp(cur->close_reason, "fin") == 0) /* in the closed list: the tail's run's (mstate_group_order.h) */
        mstate_group_order_tail_joined(a, lingering, was.order_run, was.order_at, t->order_run, t->order_at);
    mstate_group_order_closes_at(cur, t->order_run, t->order_at); /* where the tail's run closed the tail */
    /* what one run over the parts finds at its end (the FINs acknowledged:
     * no edge): the tail's own were, or the tail ends one that has now
     * seen a FIN each way (the tail holds its last packets: the ACK the
     * last FIN waited for, as a capture of the whole exchange has it) */
    cur->fins_acked = t->fins_acked || lingering || both_fins;
    flow_table_unjoin(a->flows, 1); /* the tail's run counted it as a TCP connection of its own */
    a->edges_joined++;
    mstate_tail_remove(a, best_slot);
    return true;
}

bool mstate_join_tail_before(struct analysis *a, struct conn_summary *cur, int64_t before)
{
    if (!a->tails || cur->carrier != CONN_CARRIER_TCP || cur->proto != 6)
        return false;
    /* every tail it reaches, one after the other (a part holding only the
     * FINs, the next the last ACK): open at the end, or lingering after its FINs */
    bool joined = false;
    while ((strcmp(cur->close_reason, "end") == 0 || strcmp(cur->close_reason, "fin") == 0) &&
           join_one(a, cur, before))
        joined = true;
    return joined;
}

bool mstate_join_tail(struct analysis *a, struct conn_summary *cur) { return mstate_join_tail_before(a, cur, INT64_MAX); }
