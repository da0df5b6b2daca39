/* mstate_join_quic_hello.c - see mstate_join_quic_hello.h. */
#include "mstate_join_quic_hello.h"

#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "analysis.h"
#include "fmt.h"
#include "jget.h"
#include "json.h"
#include "mstate_detail.h"
#include "mstate_put.h"
#include "mstate_quic_tails.h"
#include "quic_crypto.h"
#include "quic_facts.h"
#include "quic_frames.h"
#include "quic_reasm.h"
#include "quic_table.h"
#include "session.h"
#include "tls_hello.h"

static void on_crypto(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    quic_reasm_add(ctx, off, data, len);
}

bool quic_hello_framed(const uint8_t *p, size_t len)
{
    unsigned n = 0;
    while (len) {
        size_t d = len >= 2 ? (size_t)p[0] << 8 | p[1] : 0;
        if (!d || d > QUIC_TAIL_INITIAL_MAX || d > len - 2 || ++n > QUIC_TAIL_INITIAL_DGRAMS)
            return false;
        p += 2 + d;
        len -= 2 + d;
    }
    return n > 0;
}

/* The Initial packets of one datagram decrypted, their CRYPTO frames into r. */
static void read_datagram(const struct quic_keys *k, uint32_t version, const uint8_t *p, size_t len,
                          struct quic_reasm *r)
{
    uint8_t scratch[QUIC_TAIL_INITIAL_MAX];
    for (int i = 0; i < 4 && len; i++) { /* coalesced packets: a few at most */
        struct quic_header h;
        if (!quic_parse_header(p, len, 0, &h) || !h.long_form || !h.packet_len || h.packet_len > len)
            break;
        struct quic_plain pl;
        if (h.type == QUIC_PKT_INITIAL && h.version == version &&
            quic_unprotect(k, p, h.packet_len, h.pn_off, UINT64_MAX, scratch, sizeof scratch, &pl) ==
                QUIC_UNPROTECT_OK) {
            struct quic_frame_sink sink = { r, on_crypto, NULL, NULL, NULL };
            struct quic_frame_stats fs;
            memset(&fs, 0, sizeof fs);
            quic_frames_walk(pl.payload, pl.payload_len, &sink, &fs);
        }
        p += h.packet_len;
        len -= h.packet_len;
    }
}

uint16_t quic_hello_server_suite(uint32_t version, const struct quic_cid *dcid, const uint8_t *p, size_t len)
{
    const struct quic_version_info *v = quic_version_lookup(version);
    uint8_t c[32], sv[32];
    if (!v || !quic_hello_framed(p, len) || !quic_crypto_init() || !quic_initial_secrets(v, dcid, c, sv))
        return 0;
    struct quic_keys k;
    memset(&k, 0, sizeof k);
    if (!quic_keys_from_secret(&k, v, QUIC_SUITE_AES_128_GCM_SHA256, sv, sizeof sv))
        return 0;
    struct quic_reasm *r = g_new(struct quic_reasm, 1);
    quic_reasm_init(r, 0);
    uint16_t suite = 0;
    while (len && !suite) {
        size_t d = (size_t)p[0] << 8 | p[1];
        read_datagram(&k, version, p + 2, d, r);
        p += 2 + d;
        len -= 2 + d;
        size_t need = tls_handshake_len(r->data, r->contiguous);
        struct tls_hello hello;
        if (need && need <= r->contiguous && tls_hello_parse(r->data, need, &hello) && hello.msg_type == TLS_SERVER_HELLO)
            suite = hello.cipher;
    }
    quic_reasm_release(r);
    g_free(r);
    quic_keys_clear(&k);
    return suite;
}

/* ---- the run's records, the state, merge (mstate_quic_tails.h) ---------- */

static GArray *keys_of(struct analysis *a)
{
    struct quic_tails *qt = quic_tails_of(a);
    if (!qt->keys)
        qt->keys = g_array_new(FALSE, TRUE, sizeof(struct quic_key_rec));
    return qt->keys;
}

static GPtrArray *initials_of(struct analysis *a)
{
    struct quic_tails *qt = quic_tails_of(a);
    if (!qt->initials)
        qt->initials = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    return qt->initials;
}

void quic_hello_free(struct quic_tails *qt)
{
    if (qt->keys)
        g_array_free(qt->keys, TRUE);
    if (qt->initials)
        g_ptr_array_free(qt->initials, TRUE);
}

void quic_hello_note_key(struct analysis *a, const struct quic_table_open *o)
{
    if (!o->smb || !o->version || !o->initial_dcid.len || keys_of(a)->len >= ANALYSIS_MAX_EDGES)
        return;
    struct quic_key_rec k;
    memset(&k, 0, sizeof k);
    k.client = o->addr[0];
    k.server = o->addr[1];
    k.client_port = o->port[0];
    k.server_port = o->port[1];
    k.first_ts = o->first_ts;
    k.version = o->version;
    k.dcid = o->initial_dcid;
    k.hello_pending = o->hello_pending;
    g_array_append_val(keys_of(a), k);
}

void quic_hello_note_initial(struct analysis *a, struct quic_tail *t, const struct packet *p)
{
    /* a long header: a server's Initial among them */
    if (!p->payload_len || p->payload_len > QUIC_TAIL_INITIAL_MAX || !(p->payload[0] & 0x80))
        return;
    GPtrArray *in = initials_of(a);
    if (!t->initial) {
        if (in->len >= QUIC_TAIL_INITIALS_CAP)
            return;
        g_ptr_array_add(in, g_byte_array_new());
        t->initial = in->len;
    }
    GByteArray *ba = g_ptr_array_index(in, t->initial - 1);
    unsigned n = 0;
    for (guint o = 0; o + 2 <= ba->len; o += 2 + ((guint)ba->data[o] << 8 | ba->data[o + 1]))
        n++;
    if (n >= QUIC_TAIL_INITIAL_DGRAMS || ba->len + 2 + p->payload_len > QUIC_TAIL_INITIALS_MAX)
        return;
    const uint8_t len16[2] = { (uint8_t)(p->payload_len >> 8), (uint8_t)p->payload_len };
    g_byte_array_append(ba, len16, 2);
    g_byte_array_append(ba, p->payload, (guint)p->payload_len);
}

void quic_hello_build(struct json *b, const struct analysis *a)
{
    const struct quic_tails *qt = a->quic_tails;
    /* [client, client_port, server, server_port, first_ts, version, dcid hex, hello pending (0/1)] */
    json_key(b, "quic_edge_keys");
    json_begin_array(b);
    for (guint i = 0; qt && qt->keys && i < qt->keys->len; i++) {
        const struct quic_key_rec *k = &g_array_index(qt->keys, struct quic_key_rec, i);
        json_begin_array(b);
        vaddr(b, &k->client);
        vint(b, k->client_port);
        vaddr(b, &k->server);
        vint(b, k->server_port);
        json_int(b, k->first_ts);
        vint(b, k->version);
        mstate_put_hex(b, k->dcid.id, k->dcid.len);
        vint(b, k->hello_pending);
        json_end_array(b);
    }
    json_end_array(b);
    json_key(b, "quic_tail_initials"); /* [index into quic_tails, datagram hex] */
    json_begin_array(b);
    guint written = 0;
    for (guint i = 0, at = 0; qt && i < qt->recs->len; i++) {
        const struct quic_tail *t = &g_array_index(qt->recs, struct quic_tail, i);
        if (t->head)
            continue;
        if (t->initial && qt->initials && t->initial <= qt->initials->len && written < QUIC_TAIL_INITIALS_CAP) {
            const GByteArray *ba = g_ptr_array_index(qt->initials, t->initial - 1);
            json_begin_array(b);
            vint(b, at);
            mstate_put_hex(b, ba->data, ba->len);
            json_end_array(b);
            written++;
        }
        at++;
    }
    json_end_array(b);
}

static void fold_keys(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    struct jpath ap, ip;
    jpath_key(&ap, p, "quic_edge_keys");
    JsonArray *arr = jget_arr(g, p, st, "quic_edge_keys", ANALYSIS_MAX_EDGES);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != 8) {
            jget_fail(g, &ip, "not [client, port, server, port, first_ts, version, dcid, hello_pending]");
            return;
        }
        struct quic_key_rec k;
        memset(&k, 0, sizeof k);
        const char *c = jget_elem_str(g, &ip, e, 0, 64), *sv = jget_elem_str(g, &ip, e, 2, 64);
        if ((c && !jget_parse_addr(c, &k.client)) || (sv && !jget_parse_addr(sv, &k.server)))
            jget_fail(g, &ip, "not an address");
        k.client_port = (uint16_t)jget_elem_u64(g, &ip, e, 1, 65535);
        k.server_port = (uint16_t)jget_elem_u64(g, &ip, e, 3, 65535);
        k.first_ts = jget_elem_ts(g, &ip, e, 4);
        k.version = (uint32_t)jget_elem_u64(g, &ip, e, 5, UINT32_MAX);
        const char *d = jget_elem_str(g, &ip, e, 6, 2 * QUIC_MAX_CID);
        k.hello_pending = jget_elem_u64(g, &ip, e, 7, 1) != 0;
        size_t len = 0;
        if (g->failed)
            return;
        if (!quic_version_lookup(k.version) || !jget_hex(d, k.dcid.id, QUIC_MAX_CID, &len) || !len) {
            jget_fail(g, &ip, "not a QUIC version and connection ID of 1 to 20 bytes in hex");
            return;
        }
        k.dcid.len = (uint8_t)len;
        if (keys_of(a)->len < 16 * ANALYSIS_MAX_EDGES) /* a bound for merge itself */
            g_array_append_val(keys_of(a), k);
    }
}

static void fold_initials(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint base)
{
    struct jpath ap, ip;
    jpath_key(&ap, p, "quic_tail_initials");
    JsonArray *arr = jget_arr(g, p, st, "quic_tail_initials", QUIC_TAIL_INITIALS_CAP);
    guint written = jget_member_len(st, "quic_tails");
    int64_t prev = -1;
    uint8_t *buf = g_malloc(QUIC_TAIL_INITIALS_MAX);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != 2) {
            jget_fail(g, &ip, "not [index, datagram]");
            break;
        }
        uint64_t at = jget_elem_u64(g, &ip, e, 0, ANALYSIS_MAX_EDGES);
        const char *d = jget_elem_str(g, &ip, e, 1, 2 * QUIC_TAIL_INITIALS_MAX);
        size_t len = 0;
        if (g->failed)
            break;
        if (!jget_later_index(at, &prev, written) || !jget_hex(d, buf, QUIC_TAIL_INITIALS_MAX, &len) ||
            !quic_hello_framed(buf, len)) {
            jget_fail(g, &ip, "not the index of a later quic_tails record and its datagrams in hex");
            break;
        }
        struct quic_tails *qt = quic_tails_of(a);
        if (base + at >= qt->recs->len || initials_of(a)->len >= 16 * ANALYSIS_MAX_EDGES)
            continue; /* past merge's own bounds */
        GByteArray *ba = g_byte_array_sized_new((guint)len);
        g_byte_array_append(ba, buf, (guint)len);
        g_ptr_array_add(initials_of(a), ba);
        g_array_index(qt->recs, struct quic_tail, base + at).initial = initials_of(a)->len;
    }
    g_free(buf);
}

void quic_hello_fold(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint base)
{
    /* absent: written before they were carried */
    if (!g->failed && json_object_has_member(st, "quic_edge_keys"))
        fold_keys(g, p, a, st);
    if (!g->failed && json_object_has_member(st, "quic_tail_initials"))
        fold_initials(g, p, a, st, base);
}

/* Keys in the order of their names (first packet, then ends): merge looks
 * one up by binary search (keys and edges are thousands at most in each
 * report, 16 times that in a merge). */
static int name_cmp(const struct quic_key_rec *k, const struct conn_summary *cs)
{
    if (k->first_ts != cs->first_ts)
        return k->first_ts < cs->first_ts ? -1 : 1;
    int c = memcmp(&k->client, &cs->client, sizeof k->client);
    if (!c)
        c = memcmp(&k->server, &cs->server, sizeof k->server);
    if (!c)
        c = (k->client_port > cs->client_port) - (k->client_port < cs->client_port);
    if (!c)
        c = (k->server_port > cs->server_port) - (k->server_port < cs->server_port);
    return c;
}

static gint key_order(gconstpointer pa, gconstpointer pb)
{
    const struct quic_key_rec *a = pa, *b = pb;
    struct conn_summary n;
    memset(&n, 0, sizeof n);
    n.client = b->client;
    n.server = b->server;
    n.client_port = b->client_port;
    n.server_port = b->server_port;
    n.first_ts = b->first_ts;
    int c = name_cmp(a, &n);
    return c ? c : memcmp(a, b, sizeof *a); /* zero-filled: comparable as bytes */
}

void quic_hello_sort(struct analysis *a)
{
    if (a->quic_tails && a->quic_tails->keys)
        g_array_sort(a->quic_tails->keys, key_order);
}

static struct quic_key_rec *key_of(struct analysis *a, const struct conn_summary *cs)
{
    GArray *keys = a->quic_tails ? a->quic_tails->keys : NULL;
    guint lo = 0, hi = keys ? keys->len : 0;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (name_cmp(&g_array_index(keys, struct quic_key_rec, mid), cs) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return keys && lo < keys->len && !name_cmp(&g_array_index(keys, struct quic_key_rec, lo), cs)
               ? &g_array_index(keys, struct quic_key_rec, lo)
               : NULL;
}

void quic_hello_join(struct analysis *a, const struct conn_summary *cs, const struct quic_tail *t)
{
    struct quic_tails *qt = a->quic_tails;
    struct quic_key_rec *k = t->initial && qt && qt->initials && t->initial <= qt->initials->len ? key_of(a, cs) : NULL;
    if (!k)
        return;
    JsonObject *e = mstate_detail_entry(a, cs);
    JsonObject *q = jget_member_obj(e, "quic");
    struct smb_conn *s = q ? NULL : mstate_detail_conn(a, cs); /* --jobs: the session itself */
    JsonNode *have = q ? json_object_get_member(q, "cipher_suite") : NULL;
    if (q ? !have || !JSON_NODE_HOLDS_NULL(have) : !s || !s->quic || s->quic->cipher)
        return; /* not detailed, or the suite known */
    const GByteArray *ba = g_ptr_array_index(qt->initials, t->initial - 1);
    uint16_t suite = quic_hello_server_suite(k->version, &k->dcid, ba->data, ba->len);
    if (!suite)
        return;
    if (q)
        json_object_set_string_member(q, "cipher_suite", quic_suite_name(suite));
    else
        s->quic->cipher = suite;
}

void quic_hello_head(struct analysis *a, const struct conn_summary *cs, const struct quic_tail *t)
{
    struct quic_key_rec *k = key_of(a, cs);
    bool hello = k && k->hello_pending;
    if (k)
        k->hello_pending = false; /* completed once */
    if (!t->cipher && !t->server_handshake && !hello)
        return;
    JsonObject *e = mstate_detail_entry(a, cs);
    JsonObject *q = jget_member_obj(e, "quic");
    if (q) {
        JsonNode *c = json_object_get_member(q, "cipher_suite");
        if (t->cipher && c && JSON_NODE_HOLDS_NULL(c))
            json_object_set_string_member(q, "cipher_suite", quic_suite_name(t->cipher));
        if (t->server_handshake && json_object_has_member(q, "handshake_completed"))
            json_object_set_boolean_member(q, "handshake_completed", TRUE);
        if (hello)
            mstate_add_int(q, "client_hellos", 1);
        return;
    }
    struct smb_conn *s = e ? NULL : mstate_detail_conn(a, cs); /* --jobs: the session itself */
    if (s && s->quic) {
        if (!s->quic->cipher)
            s->quic->cipher = t->cipher;
        s->quic->handshake_completed |= t->server_handshake;
        s->quic->client_hellos += hello;
    }
}

void quic_hello_rename(struct analysis *a, const struct conn_summary *late, const struct conn_summary *cs)
{
    struct quic_key_rec *l = key_of(a, late), *e = key_of(a, cs);
    if (l && e) { /* the DCID after the Retry is the connection's (cs's name stays: the order too) */
        e->dcid = l->dcid;
        e->version = l->version;
    }
}

void quic_hello_keep(struct analysis *a)
{
    GArray *keys = a->quic_tails ? a->quic_tails->keys : NULL;
    if (!keys || !keys->len)
        return;
    GArray *kept = g_array_new(FALSE, TRUE, sizeof(struct quic_key_rec));
    for (guint j = 0; a->edges && j < a->edges->len && kept->len < ANALYSIS_MAX_EDGES; j++) {
        const struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, j);
        const struct quic_key_rec *k = cs->carrier == CONN_CARRIER_QUIC ? key_of(a, cs) : NULL;
        if (k)
            g_array_append_val(kept, *k);
    }
    g_array_sort(kept, key_order); /* in the order of their names whatever the edges' */
    g_array_free(keys, TRUE);
    a->quic_tails->keys = kept;
}

void quic_hello_copy_tail(struct analysis *dst, const struct analysis *src, struct quic_tail *t)
{
    const struct quic_tails *sq = src->quic_tails;
    if (!t->initial)
        return;
    GByteArray *bytes =
        sq && sq->initials && t->initial <= sq->initials->len ? g_ptr_array_index(sq->initials, t->initial - 1) : NULL;
    t->initial = 0;
    if (bytes && initials_of(dst)->len < QUIC_TAIL_INITIALS_CAP) {
        g_ptr_array_add(initials_of(dst), g_byte_array_ref(bytes));
        t->initial = initials_of(dst)->len;
    }
}
