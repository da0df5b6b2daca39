/* session.c - the session model: frames both directions of a connection,
 * decodes every SMB message and keeps the facts the reports need.
 *
 * Client and server: the sender of the SYN; without one (capture began
 * mid-connection) the sender of a NEGOTIATE request, else of any SMB request,
 * else the side with the higher port (servers listen on the lower one). */
#include "session_priv.h"

#include <stddef.h>
#include <string.h>

#include "ctx_pool.h"
#include "gss_memo.h"
#include "dialect.h"
#include "flow.h"
#include "nbss.h"
#include "session_xchg.h"

/* ---- lifecycle ------------------------------------------------------- */

GArray *session_empty_array(void)
{
    static GArray *empty; /* made once, kept for the process (shared by threads) */
    if (g_once_init_enter(&empty))
        g_once_init_leave(&empty, g_array_new(FALSE, FALSE, 1));
    return empty;
}

static void array_free(GArray *a)
{
    if (a != session_empty_array())
        g_array_free(a, TRUE);
}

#define SESSION_POOL_MAX 32u
#define SESSION_CTX_MEMO 4u

/* A value that connections share, read only, the pool's and freed with
 * it: a decoded context list (session_ctx_list_set()) or a NEGOTIATE
 * request's dialects (session_dialects_set()); refs counts the
 * connections that point to it (an entry without any may be refilled with
 * another value). */
struct memo {
    void *v;
    uint32_t refs;
};

struct session_pool {
    struct smb_conn_priv *conn[SESSION_POOL_MAX];
    struct smb_conn_live *live[SESSION_POOL_MAX];
    struct smb2_neg_ctx_list *ctx[SESSION_POOL_MAX]; /* a NEGOTIATE's context list, 800 bytes */
    GArray *dialects[SESSION_POOL_MAX];              /* uint16_t, emptied */
    unsigned n_conn, n_live, n_ctx, n_dialects;
    struct gss_memo *gss;                            /* NEGOTIATE response blobs, made on first use */
    struct iwarp_shared *iwarp;                      /* iWARP's buffer budget (rdma.h), made on first use */
    struct memo memo[SESSION_CTX_MEMO];  /* struct smb2_neg_ctx_list */
    struct memo dmemo[SESSION_CTX_MEMO]; /* GArray of uint16_t */
};

struct session_pool *session_pool_new(void) { return g_new0(struct session_pool, 1); }

void session_pool_free(struct session_pool *pool)
{
    if (!pool)
        return;
    for (unsigned i = 0; i < pool->n_conn; i++)
        g_free(pool->conn[i]);
    for (unsigned i = 0; i < pool->n_live; i++)
        g_free(pool->live[i]);
    for (unsigned i = 0; i < pool->n_ctx; i++)
        g_free(pool->ctx[i]);
    for (unsigned i = 0; i < pool->n_dialects; i++)
        g_array_free(pool->dialects[i], TRUE);
    g_free(pool->gss);
    rdma_iwarp_shared_free(pool->iwarp);
    for (unsigned i = 0; i < SESSION_CTX_MEMO; i++) {
        g_free(pool->memo[i].v);
        if (pool->dmemo[i].v)
            g_array_free(pool->dmemo[i].v, TRUE);
    }
    g_free(pool);
}

struct iwarp_shared *session_pool_iwarp(struct session_pool *pool, bool make)
{
    if (pool && !pool->iwarp && make)
        pool->iwarp = rdma_iwarp_shared_new();
    return pool ? pool->iwarp : NULL;
}

struct iwarp_shared *session_iwarp(struct smb_conn *s) { return session_pool_iwarp(priv(s)->pool, true); }

struct gss_memo *session_gss_memo(struct smb_conn *s)
{
    struct session_pool *pool = priv(s)->pool;
    if (!pool)
        return NULL;
    if (!pool->gss)
        pool->gss = g_new0(struct gss_memo, 1);
    return pool->gss;
}

void session_ctx_list_put(struct smb2_neg_ctx_list *dst, const struct smb2_neg_ctx_list *src)
{
    uint8_t n = src->stored < SMB2_CTX_MAX_ITEMS ? src->stored : SMB2_CTX_MAX_ITEMS;
    memcpy(dst, src, offsetof(struct smb2_neg_ctx_list, items) + n * sizeof src->items[0]);
    dst->has_netname = src->has_netname;
    dst->netname_truncated = src->netname_truncated;
    size_t len = src->has_netname ? strnlen(src->netname, sizeof src->netname - 1) : 0;
    memcpy(dst->netname, src->netname, len);
    dst->netname[len] = '\0';
}

/* Whether two lists read the same (session.h, ctx_request): their headers
 * (padding included: both were cleared before they were filled, or copied
 * from such a list), their stored items and their netnames. */
static bool ctx_list_same(const struct smb2_neg_ctx_list *a, const struct smb2_neg_ctx_list *b)
{
    if (a->stored != b->stored || a->count != b->count || a->has_netname != b->has_netname ||
        memcmp(a, b, offsetof(struct smb2_neg_ctx_list, items)) != 0 ||
        a->netname_truncated != b->netname_truncated)
        return false;
    uint8_t n = a->stored < SMB2_CTX_MAX_ITEMS ? a->stored : SMB2_CTX_MAX_ITEMS;
    if (memcmp(a->items, b->items, n * sizeof a->items[0]) != 0)
        return false;
    return !a->has_netname || strncmp(a->netname, b->netname, sizeof a->netname) == 0;
}

/* The entry of memo[] whose value reads as key (same()), one more
 * connection counted; on a miss an entry no connection points to, its
 * value made or refilled by fill(); NULL when every entry holds another
 * value in use. */
static void *memo_take(struct memo *memo, const void *key, bool (*same)(const void *v, const void *key),
                       void *(*fill)(void *v, const void *key))
{
    struct memo *free_slot = NULL;
    for (unsigned i = 0; i < SESSION_CTX_MEMO; i++) {
        struct memo *m = &memo[i];
        if (m->v && same(m->v, key)) {
            m->refs++;
            return m->v;
        }
        if (!free_slot && !m->refs)
            free_slot = m;
    }
    if (!free_slot)
        return NULL;
    free_slot->v = fill(free_slot->v, key);
    free_slot->refs = 1;
    return free_slot->v;
}

/* A connection no longer points to v. */
static void memo_release(struct memo *memo, const void *v)
{
    for (unsigned i = 0; i < SESSION_CTX_MEMO; i++)
        if (memo[i].v == v) {
            memo[i].refs--;
            return;
        }
}

/* The context lists: a connection's list then is a pointer and a count,
 * not a copy: a busy server's clients send and get the same lists (the
 * preauth salt is not kept, only its length), and the copy went to a
 * block last written a thousand connections earlier, a cache miss a line. */
static bool ctx_same(const void *v, const void *key) { return ctx_list_same(v, key); }

static void *ctx_fill(void *v, const void *key)
{
    struct smb2_neg_ctx_list *l = v ? v : g_new(struct smb2_neg_ctx_list, 1);
    session_ctx_list_put(l, key);
    return l;
}

static struct smb2_neg_ctx_list *ctx_memo_take(struct session_pool *pool, const struct smb2_neg_ctx_list *l)
{
    return memo_take(pool->memo, l, ctx_same, ctx_fill);
}

/* A list given back: the pool's shared one released, an own one to the pool's spares or freed. */
static void ctx_list_drop(struct smb_conn_priv *p, struct smb2_neg_ctx_list *l, uint8_t bit)
{
    struct session_pool *pool = p->pool;
    if (p->pool_shared & bit)
        memo_release(pool->memo, l);
    else if (l && pool && pool->n_ctx < SESSION_POOL_MAX)
        pool->ctx[pool->n_ctx++] = l;
    else
        g_free(l);
    p->pool_shared &= (uint8_t)~bit;
}

void session_ctx_list_set(struct smb_conn *s, bool response, const struct smb2_neg_ctx_list *l)
{
    struct smb_conn_priv *p = priv(s);
    struct session_pool *pool = p->pool;
    struct smb2_neg_ctx_list **dst = response ? &s->ctx_response : &s->ctx_request;
    uint8_t bit = response ? SHARED_CTX_RESPONSE : SHARED_CTX_REQUEST;
    struct smb2_neg_ctx_list *m = pool ? ctx_memo_take(pool, l) : NULL;
    if (m) {
        if (*dst)
            ctx_list_drop(p, *dst, bit);
        *dst = m;
        p->pool_shared |= bit;
        return;
    }
    if (*dst && (p->pool_shared & bit)) { /* never written: another list replaces the shared one */
        ctx_list_drop(p, *dst, bit);
        *dst = NULL;
    }
    if (!*dst)
        *dst = pool && pool->n_ctx ? pool->ctx[--pool->n_ctx] : g_new(struct smb2_neg_ctx_list, 1);
    session_ctx_list_put(*dst, l);
}

/* The dialects (n of them at d): not copying them spares writing an
 * array last touched a thousand connections earlier, and emptying it
 * again at the connection's end. */
struct dialects_key {
    const uint16_t *d;
    guint n;
};

static bool dial_same(const void *v, const void *key)
{
    const GArray *a = v;
    const struct dialects_key *k = key;
    return a->len == k->n && memcmp(a->data, k->d, k->n * sizeof *k->d) == 0;
}

static void *dial_fill(void *v, const void *key)
{
    const struct dialects_key *k = key;
    GArray *a = v ? v : g_array_sized_new(FALSE, FALSE, sizeof(uint16_t), k->n);
    g_array_set_size(a, 0);
    g_array_append_vals(a, k->d, k->n);
    return a;
}

static GArray *dial_memo_take(struct session_pool *pool, const uint16_t *d, guint n)
{
    struct dialects_key k = { d, n };
    return memo_take(pool->dmemo, &k, dial_same, dial_fill);
}

/* dialects_offered given back (the shared array released, an own one
 * emptied to the pool's spares or freed) and made the empty array. */
static void dialects_drop(struct smb_conn_priv *p)
{
    struct smb_conn *s = &p->pub;
    struct session_pool *pool = p->pool;
    GArray *a = s->dialects_offered;
    if (p->pool_shared & SHARED_DIALECTS) {
        memo_release(pool->dmemo, a);
        p->pool_shared &= (uint8_t)~SHARED_DIALECTS;
    } else if (a != session_empty_array() && pool && pool->n_dialects < SESSION_POOL_MAX) {
        g_array_set_size(a, 0);
        pool->dialects[pool->n_dialects++] = a;
    } else {
        array_free(a);
    }
    s->dialects_offered = session_empty_array();
}

GArray *session_dialects_array(struct smb_conn *s)
{
    struct smb_conn_priv *p = priv(s);
    struct session_pool *pool = p->pool;
    GArray *shared = p->pool_shared & SHARED_DIALECTS ? s->dialects_offered : NULL;
    if (shared || s->dialects_offered == session_empty_array()) {
        GArray *own = pool && pool->n_dialects ? pool->dialects[--pool->n_dialects]
                                               : g_array_new(FALSE, FALSE, sizeof(uint16_t));
        if (shared) {
            g_array_append_vals(own, shared->data, shared->len);
            memo_release(pool->dmemo, shared);
            p->pool_shared &= (uint8_t)~SHARED_DIALECTS;
        }
        s->dialects_offered = own;
    }
    return s->dialects_offered;
}

void session_dialects_set(struct smb_conn *s, const uint16_t *d, guint n)
{
    struct smb_conn_priv *p = priv(s);
    GArray *m = n && p->pool ? dial_memo_take(p->pool, d, n) : NULL;
    if (m) {
        dialects_drop(p);
        s->dialects_offered = m;
        p->pool_shared |= SHARED_DIALECTS;
        return;
    }
    if (p->pool_shared & SHARED_DIALECTS)
        dialects_drop(p);
    if (s->dialects_offered->len)
        g_array_set_size(s->dialects_offered, 0);
    if (n)
        g_array_append_vals(session_dialects_array(s), d, n);
}

/* A block of a pool's list, or a new one, with bytes [clear_from,
 * clear_end) zeroed (the caller sets up those before; those after are
 * read only once written). */
static void *pool_take(struct session_pool *pool, bool live, size_t size, size_t clear_from, size_t clear_end)
{
    void *b = NULL;
    if (pool && live && pool->n_live)
        b = pool->live[--pool->n_live];
    else if (pool && !live && pool->n_conn)
        b = pool->conn[--pool->n_conn];
    if (!b)
        return g_malloc0(size);
    memset((char *)b + clear_from, 0, clear_end - clear_from);
    return b;
}

static void live_release(struct smb_conn_priv *p)
{
    struct session_pool *pool = p->pool;
    if (p->live && pool && pool->n_live < SESSION_POOL_MAX)
        pool->live[pool->n_live++] = p->live;
    else
        g_free(p->live);
    p->live = NULL;
}

static void conn_release(struct smb_conn_priv *p)
{
    struct session_pool *pool = p->pool;
    if (pool && pool->n_conn < SESSION_POOL_MAX)
        pool->conn[pool->n_conn++] = p;
    else
        g_free(p);
}

/* Both directions start at a header unless the capture began mid-connection. */
static struct smb_conn *conn_new(const struct session_config *cfg, bool midstream)
{
    struct smb_conn_priv *p = pool_take(cfg->pool, false, sizeof *p, 0, sizeof *p);
    struct smb_conn *s = &p->pub;
    p->pool = cfg->pool;
    p->negotiate_dir = p->request_dir = -1;
    p->known_client = -1;
    p->start_seen = !midstream;
    s->pdu_cap = cfg->pdu_cap ? cfg->pdu_cap : FRAMER_DEFAULT_CAP;
    s->no_fast_path = cfg->no_fast_path;
    s->smb1_chosen = -1;
    s->smb1_dialects = s->dialects_offered = s->sessions = s->shares = session_empty_array();
    /* the two framers are cleared by framer_init() below (not twice), the
     * TREE_CONNECT ring is read only where pending_used says */
    p->live = pool_take(cfg->pool, true, sizeof *p->live, offsetof(struct smb_conn_live, fr) + sizeof p->live->fr,
                        offsetof(struct smb_conn_live, pending_tree));
    s->fr = p->live->fr;
    for (int d = 0; d < 2; d++) {
        p->dctx[d].s = s;
        p->dctx[d].dir = d;
        framer_init(&s->fr[d], &session_framer_cb, &p->dctx[d], &s->obs, midstream);
        framer_set_cap(&s->fr[d], s->pdu_cap);
    }
    return s;
}

struct smb_conn *smb_conn_new(const struct session_config *cfg, const struct flow_conn *fc, bool midstream)
{
    struct smb_conn *s = conn_new(cfg, midstream);
    priv(s)->fc = fc;
    if (!fc->initiator_guessed) {
        priv(s)->known_client = 0;
        priv(s)->known_rule = CLIENT_BY_SYN;
    }
    return s;
}

struct smb_conn *smb_conn_new_endpoints(const struct session_config *cfg, const struct ip_addr addr[2],
                                        const uint16_t port[2], int client, bool midstream)
{
    struct smb_conn *s = conn_new(cfg, midstream);
    for (int d = 0; d < 2; d++) {
        s->addr[d] = addr[d];
        s->port[d] = port[d];
    }
    if (client == 0 || client == 1) {
        priv(s)->known_client = client;
        priv(s)->known_rule = CLIENT_BY_TRANSPORT;
    }
    return s;
}

static bool carried_smb(const struct transport_obs *o);

/* The first bytes of a direction seen from its start (the flow saw the SYN
 * and no gap came first): a first byte that no NBSS / direct-TCP header can
 * have (RFC 1002 4.3.1 types 0x00, 0x81..0x85) -- a TLS record, an HTTP
 * request -- marks the direction.  When both directions are marked and
 * nothing SMB-like was seen, the connection is not SMB (both modes alike):
 * without this the framer resync-scans every byte of every HTTPS download,
 * slowly, and in gigabytes of such data now and then finds a false header. */
static bool judge_start(struct smb_conn *s, int dir, const uint8_t *p, size_t n)
{
    struct smb_conn_priv *pv = priv(s);
    if (pv->started & (1u << dir))
        return pv->not_smb;
    pv->started |= (uint8_t)(1u << dir);
    /* a TCP flow is created mid-stream and learns of its SYN afterwards:
     * ask it now (taking the flag at creation made the rule never apply) */
    bool from_start = pv->fc ? !pv->fc->midstream : pv->start_seen;
    if (p && n > 0 && from_start) {
        struct wire w = wire_make(p, n);
        uint8_t b = wire_u8(&w);
        if (b != 0x00 && (b < NBSS_SESSION_REQUEST || b > NBSS_KEEPALIVE))
            pv->bad_start |= (uint8_t)(1u << dir);
    }
    if (pv->bad_start == 3 && !carried_smb(&s->obs))
        pv->not_smb = true;
    return pv->not_smb;
}

void smb_conn_data(struct smb_conn *s, int dir, const uint8_t *p, size_t n, int64_t ts_us)
{
    struct smb_conn_priv *pv = priv(s);
    /* SMB Direct over iWARP: an MPA request as the connection's first data,
     * or (mid-stream) FPDUs with good CRC32c */
    if (s->fr && rdma_iwarp_data(s, &pv->iwarp, &pv->iwarp_probe, !pv->started, !pv->start_seen, dir & 1, p,
                                 n, ts_us))
        return;
    if (!s->fr || judge_start(s, dir & 1, p, n))
        return;
    framer_feed(&s->fr[dir & 1], p, n);
}

/* A framer discards the bytes it skips, whatever they hold; the iWARP
 * probe that came before it in smb_conn_data() is decided at the first data
 * (not iWARP, or the bytes would not have reached the framer), and
 * judge_start() has started the direction.  So the bytes would only be
 * counted: their number is enough. */
uint64_t smb_conn_skippable(const struct smb_conn *s, int dir)
{
    const struct smb_conn_priv *pv = (const struct smb_conn_priv *)s;
    if (!s->fr || s->no_fast_path || pv->iwarp || pv->not_smb)
        return 0;
    return framer_skippable(&s->fr[dir & 1]);
}

void smb_conn_passed(struct smb_conn *s, int dir, uint64_t n)
{
    /* what smb_conn_data() does past its probes (neither has anything
     * left to decide for a direction whose framer skips) */
    if (!s->fr || judge_start(s, dir & 1, NULL, 0))
        return;
    framer_passed(&s->fr[dir & 1], n);
}

void smb_conn_gap(struct smb_conn *s, int dir, uint64_t n, int64_t ts_us)
{
    if (s->fr && rdma_iwarp_gap(s, priv(s)->iwarp, dir & 1, n))
        return;
    if (!s->fr || judge_start(s, dir & 1, NULL, 0))
        return;
    framer_gap(&s->fr[dir & 1], n);
}

void smb_conn_message(struct smb_conn *s, int dir, const uint8_t *msg, size_t len, int64_t ts_us)
{
    if (!s->fr)
        return;
    session_whole_message(s, dir & 1, msg, len);
}

bool smb_conn_not_smb(const struct smb_conn *s) { return ((const struct smb_conn_priv *)s)->not_smb; }

static bool carried_smb(const struct transport_obs *o)
{
    /* A QUIC carrier exists only because its ClientHello offered ALPN "smb";
     * an SMB Direct negotiate or data transfer message serves only SMB2
     * (MS-SMBD). */
    return o->session_messages || o->smb_messages || o->session_requests || o->positive_responses ||
           o->negative_responses || o->retarget_responses || o->keepalives || o->carrier == CARRIER_QUIC ||
           o->smbd_negotiates || o->smbd_data;
}

/* What the transport knew of a connection when it ended. */
struct close_facts {
    int64_t first_ts, last_ts;
    uint64_t bytes[2], packets[2];
    uint64_t gaps, gap_bytes, overlap_conflicts, retransmissions;
    bool midstream, handshake_seen;
};

/* Which side is the client: the transport's word when it had one, else
 * the first NEGOTIATE, else the first request, else the higher port. */
static void name_client(struct smb_conn *s)
{
    struct smb_conn_priv *p = priv(s);
    if (p->known_client >= 0) {
        s->client = p->known_client;
        s->client_rule = p->known_rule;
    } else if (p->negotiate_dir >= 0) {
        s->client = p->negotiate_dir;
        s->client_rule = CLIENT_BY_NEGOTIATE;
    } else if (p->request_dir >= 0) {
        s->client = p->request_dir;
        s->client_rule = CLIENT_BY_REQUEST;
    } else {
        s->client = s->port[0] < s->port[1] ? 1 : 0;
        s->client_rule = CLIENT_BY_PORT;
    }
}

static bool conn_close(struct smb_conn *s, const struct close_facts *f, const char *reason)
{
    struct smb_conn_priv *p = priv(s);
    /* smbscope merge (mstate_join_frame.h): where the framing stood at a cut */
    bool open_at_end = reason && reason[0] == 'e' && strcmp(reason, "end") == 0;
    for (int d = 0; d < 2; d++) {
        s->bytes[d] = f->bytes[d];
        s->packets[d] = f->packets[d];
        if (s->fr) {
            if (open_at_end)
                s->frame_left[d] = framer_message_left(&s->fr[d]);
            framer_end(&s->fr[d]); /* a control message that ended the stream */
            const struct framer_stats *fs = framer_stats(&s->fr[d]);
            if (f->midstream) {
                s->frame_lead[d] = fs->lead_found ? fs->lead_skipped : UINT64_MAX;
                s->frame_bytes[d] = fs->bytes;
            }
            s->resyncs += fs->resyncs;
            s->skipped_bytes += fs->skipped_bytes;
            framer_free(&s->fr[d]);
        }
    }
    /* before the live state goes; RoCEv2 ends "end of capture" (rdma_roce.c) */
    session_xchg_close(s, reason && (strcmp(reason, "end") == 0 ||
                                     (s->obs.carrier == CARRIER_RDMA_ROCE && strcmp(reason, "end of capture") == 0)));
    s->gaps += f->gaps;
    s->gap_bytes += f->gap_bytes;
    s->overlap_conflicts += f->overlap_conflicts;
    s->retransmissions += f->retransmissions;
    live_release(p);
    s->fr = NULL;
    rdma_iwarp_free(p->iwarp);
    p->iwarp = NULL;
    s->first_ts = f->first_ts;
    s->last_ts = f->last_ts;
    s->midstream = f->midstream;
    p->start_seen = !f->midstream; /* asked without the flow from now on (session_enc.c: a --jobs join) */
    s->handshake_seen = f->handshake_seen;
    s->close_reason = reason;
    name_client(s);

    /* a logon that never completed leaves its request blob: not reported */
    g_free(s->pending_auth);
    s->pending_auth = NULL;

    s->obs.server_port = s->port[!s->client];
    s->obs.handshake_seen = s->handshake_seen;
    s->verdict = transport_classify(&s->obs);

    /* SMB 3.0/3.0.2 has one cipher, AES-128-CCM (MS-SMB2 3.3.5.4). */
    if (!s->cipher_known && smb_conn_encrypted(s) && (s->dialect == SMB2_DIALECT_300 || s->dialect == SMB2_DIALECT_302)) {
        s->cipher = SMB2_CIPHER_AES128_CCM;
        s->cipher_known = true;
    }
    return carried_smb(&s->obs);
}

bool smb_conn_close(struct smb_conn *s, const struct flow_conn *fc, const char *reason)
{
    priv(s)->fc = NULL;
    struct close_facts f = {
        .first_ts = fc->first_ts_us,
        .last_ts = fc->last_ts_us,
        .midstream = fc->midstream,
        .handshake_seen = fc->hs != FLOW_HS_NONE,
    };
    for (int d = 0; d < 2; d++) {
        s->addr[d] = fc->addr[d];
        s->port[d] = fc->port[d];
        f.bytes[d] = fc->dir[d].bytes;
        f.packets[d] = fc->dir[d].packets;
        const struct reasm_stats *st = &fc->stream[d].st;
        f.gaps += st->gaps;
        f.gap_bytes += st->gap_bytes;
        f.overlap_conflicts += st->overlap_conflicts;
        f.retransmissions += st->retransmissions;
    }
    s->flow_id = fc->id;
    return conn_close(s, &f, reason);
}

bool smb_conn_close_endpoints(struct smb_conn *s, int64_t first_ts, int64_t last_ts, const uint64_t bytes[2],
                              const uint64_t packets[2], const char *reason)
{
    const struct smb_conn_priv *p = priv(s);
    struct close_facts f = {
        .first_ts = first_ts,
        .last_ts = last_ts,
        .midstream = !p->start_seen,
        .handshake_seen = p->start_seen,
    };
    for (int d = 0; d < 2; d++) {
        f.bytes[d] = bytes[d];
        f.packets[d] = packets[d];
    }
    return conn_close(s, &f, reason);
}

void smb_conn_retain(struct smb_conn *s)
{
    /* kept past its analysis's thread (--jobs folds kept connections into
     * another analysis): its blocks are freed, never pooled */
    struct smb_conn_priv *p = priv(s);
    if (s->ctx_pooled) {
        p->pool = NULL;
        return;
    }
    /* a shared list is the analysis pool's: the connection's own copy goes to ctx_pool */
    for (int k = 0; k < 2; k++) {
        struct smb2_neg_ctx_list **l = k ? &s->ctx_response : &s->ctx_request;
        if (p->pool_shared & (k ? SHARED_CTX_RESPONSE : SHARED_CTX_REQUEST)) {
            struct smb2_neg_ctx_list *own = g_new(struct smb2_neg_ctx_list, 1);
            session_ctx_list_put(own, *l);
            memo_release(p->pool->memo, *l);
            *l = own;
        }
    }
    if (p->pool_shared & SHARED_DIALECTS) {
        GArray *own = g_array_sized_new(FALSE, FALSE, sizeof(uint16_t), s->dialects_offered->len);
        g_array_append_vals(own, s->dialects_offered->data, s->dialects_offered->len);
        memo_release(p->pool->dmemo, s->dialects_offered);
        s->dialects_offered = own;
    }
    p->pool_shared = 0;
    p->pool = NULL;
    s->ctx_request = ctx_pool_keep(s->ctx_request);
    s->ctx_response = ctx_pool_keep(s->ctx_response);
    s->ctx_pooled = true;
}

/* A list never pooled is its connection's own: freed without asking the
 * pool (a hash and a compare per list, for the most connections, which are
 * folded into groups and freed as they close). */
static void ctx_list_free(struct smb_conn *s, struct smb2_neg_ctx_list *l, uint8_t bit)
{
    if (s->ctx_pooled)
        ctx_pool_drop(l);
    else
        ctx_list_drop(priv(s), l, bit);
}

void smb_conn_free(struct smb_conn *s)
{
    if (!s)
        return;
    if (s->fr)
        for (int d = 0; d < 2; d++)
            framer_free(&s->fr[d]);
    live_release(priv(s));
    rdma_iwarp_free(priv(s)->iwarp);
    rdma_info_free(s->smbd); /* with the bytes it kept for merge (rdma.h) */
    g_free(s->quic);
    for (guint i = 0; i < s->smb1_dialects->len; i++)
        wstr_free(&g_array_index(s->smb1_dialects, struct wstr, i));
    for (guint i = 0; i < s->sessions->len; i++) {
        struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, i);
        wstr_free(&r->user);
        wstr_free(&r->domain);
        wstr_free(&r->workstation);
    }
    for (guint i = 0; i < s->shares->len; i++) {
        struct smb_share_rec *r = &g_array_index(s->shares, struct smb_share_rec, i);
        wstr_free(&r->path);
        wstr_free(&r->service);
    }
    array_free(s->smb1_dialects);
    dialects_drop(priv(s));
    array_free(s->sessions);
    array_free(s->shares);
    wstr_free(&s->called_name);
    wstr_free(&s->calling_name);
    ctx_list_free(s, s->ctx_request, SHARED_CTX_REQUEST);
    ctx_list_free(s, s->ctx_response, SHARED_CTX_RESPONSE);
    g_free(s->pending_auth);
    g_free(s->xchg);
    g_free(s->enc_unseen);
    conn_release(priv(s));
}

static void prefetch_block(const void *p, size_t n, int write)
{
    for (size_t off = 0; p && off < n; off += 64) {
        if (write)
            __builtin_prefetch((const char *)p + off, 1);
        else
            __builtin_prefetch((const char *)p + off, 0);
    }
}

/* A context list goes back to the pool at the close, and the next
 * NEGOTIATE writes its header, first items and netname flags
 * (session_ctx_list_put()): those lines, not the whole 800 bytes. */
static void prefetch_ctx_list(const struct smb2_neg_ctx_list *l)
{
    if (!l)
        return;
    prefetch_block(l, offsetof(struct smb2_neg_ctx_list, items) + 4 * sizeof l->items[0], 1);
    __builtin_prefetch(&l->has_netname, 1);
}

void smb_conn_warm(const struct smb_conn *s, int ahead)
{
    const struct smb_conn_priv *p = (const struct smb_conn_priv *)s;
    if (ahead >= 2) {
        prefetch_block(p, sizeof *p, 1);
        return;
    }
    prefetch_block(p->live, offsetof(struct smb_conn_live, pending_tree), 1);
    if (!s->ctx_pooled) { /* a shared list is not written by the next connections */
        if (!(p->pool_shared & SHARED_CTX_REQUEST))
            prefetch_ctx_list(s->ctx_request);
        if (!(p->pool_shared & SHARED_CTX_RESPONSE))
            prefetch_ctx_list(s->ctx_response);
    }
}
