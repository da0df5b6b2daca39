/* quic_table.c - QUIC connections by connection ID; see quic_table.h. */
#include "quic_table.h"

#include <stddef.h>
#include <string.h>

#include "distinct.h"
#include "hash_mix.h"
#include "keylog.h"
#include "quic_facts.h"
#include "quic_paths.h"
#include "quic_session.h"

#define MAX_CIDS_PER_CONN 8
#define MAX_DATAGRAM 65535u
/* A connection silent this long (capture time) is over: QUIC idle timeouts
 * are tens of seconds.  Checked every SWEEP_EVERY datagrams and at the cap. */
#define IDLE_US (120 * 1000000LL)
#define SWEEP_EVERY 4096u
/* What one ready key set (an AEAD and a header-protection handle) holds in
 * libgcrypt, measured (mallinfo2 over 1,000 AES-128 GCM + ECB pairs): the
 * handles are most of a handshake's state once its buffers are gone. */
#define KEY_SET_BYTES 4096u

enum track_state { TRACK_HANDSHAKE = 0, TRACK_SMB, TRACK_NOT_SMB };

/* Aligned to a cache line: what every datagram of a known path reads (the
 * path index's key compare, the direction, the session pointer, the clock
 * and the counters) is the first 64 + 32 bytes; a datagram of a connection
 * past its first flight touches its index slot and these two lines only. */
#define TRACK_ALIGN 64

struct track {
    struct quic_path tuple;     /* the path index's key */
    bool client_is_a;           /* tuple.a is the client's endpoint (addr[0], port[0]) */
    uint8_t state;              /* enum track_state */
    uint32_t index;             /* in the table's tracks and active arrays */
    struct quic_session *sess;  /* NULL once nothing more can be learnt (see retire) */
    int64_t last_ts;
    uint64_t bytes[2], packets[2];
    /* cold: the first flight, SMB streams and closing */
    struct quic_table *t;
    struct ip_addr addr[2]; /* [0] client */
    uint16_t port[2];
    struct quic_reasm *crypto;  /* [2] until the hellos are read */
    struct quic_reasm *stream;  /* [2] the SMB stream's reassembly (key log) */
    struct smb_conn *smb;
    bool have_stream;
    uint64_t stream_id;
    uint32_t streams;
    uint64_t stream_dropped, stream_gaps;
    int64_t first_ts;
    struct quic_cid cids[MAX_CIDS_PER_CONN];
    uint8_t cid_owner[MAX_CIDS_PER_CONN]; /* side that receives packets with this DCID */
    uint8_t n_cids;
    uint32_t cost; /* its bytes in the table's budget (track_cost() when last counted) */
};
_Static_assert(offsetof(struct track, packets) + sizeof(((struct track *)0)->packets) <= 2 * TRACK_ALIGN,
    "a datagram of a known path reads the first two cache lines of its track only");

/* Freed sessions kept for the next connections: every QUIC connection
 * needs one for its first flight only, and at thousands of connections a
 * second the blocks going back and forth through malloc cost more than
 * their use. */
#define SPARE_MAX 16
struct spare {
    void *p[SPARE_MAX];
    unsigned n;
};

struct quic_table {
    const struct session_config *cfg;
    struct keylog *keylog;
    uint32_t max_conns;
    size_t max_bytes;     /* the budget over every track's cost (QUIC_TABLE_MAX_BYTES) */
    size_t bytes;         /* the tracks' costs, summed */
    GHashTable *by_cid;   /* struct quic_cid* (owned by the track) -> track */
    struct quic_paths by_tuple; /* the track's own tuple -> track */
    GPtrArray *tracks;
    /* int64_t: tracks[i]'s last_ts, the same value: an idle sweep reads this
     * array (8 bytes a track, in order) instead of a cache line of every
     * track, and closes the same tracks in the same order. */
    GArray *active;
    /* uint8_t: tracks[i]'s key sets with open cipher handles (parked ones
     * are not), kept beside active for the same reason: a parking pass
     * (make_room) reads these two arrays, not every track. */
    GArray *open_keys;
    uint32_t open_total;  /* open_keys summed */
    smb_conn_closed_fn closed; /* where closed SMB connections go */
    void *closed_ctx;
    uint32_t cid_lens;    /* bit n: some registered CID has length n */
    uint8_t *scratch;
    struct quic_kdf *kdf; /* kept HMAC handles (NULL: none, each derivation opens its own) */
    struct spare spare_sess; /* struct quic_session */
    int64_t now;
    /* No track was last active before this (a lower bound): a sweep before
     * this + IDLE_US would find nothing to close, and is skipped. */
    int64_t oldest_active;
    struct quic_table_stats stats;
    struct quic_table_work work;
};

static void *spare_get(struct spare *s, size_t size) { return s->n ? s->p[--s->n] : g_malloc(size); }

static void spare_put(struct spare *s, void *p)
{
    if (p && s->n < SPARE_MAX)
        s->p[s->n++] = p;
    else
        g_free(p);
}

static void spare_free(struct spare *s)
{
    while (s->n)
        g_free(s->p[--s->n]);
}

static void sweep(struct quic_table *t);
static bool evict_oldest(struct quic_table *t, const struct track *keep);


/* Keyed, as the path index is: a fixed FNV let a capture pick IDs that
 * share a bucket; the table is never walked for output. */
uint32_t quic_table_cid_hash(const struct quic_cid *c, uint64_t key)
{
    uint8_t w[24] = { 0 };
    size_t n = c->len < sizeof c->id ? c->len : sizeof c->id;
    memcpy(w, c->id, n);
    uint64_t h = hash_mix64(key ^ c->len ^ load_u64ne(w));
    h = hash_mix64(h ^ load_u64ne(w + 8));
    h = hash_mix64(h ^ load_u64ne(w + 16));
    return (uint32_t)(h ^ (h >> 32));
}

static guint cid_hash(gconstpointer k) { return quic_table_cid_hash(k, distinct_process_key()); }

static gboolean cid_equal(gconstpointer a, gconstpointer b) { return quic_cid_equal(a, b); }

struct quic_table *quic_table_new(const struct session_config *cfg, uint32_t max_conns, struct keylog *keylog,
    smb_conn_closed_fn closed, void *ctx)
{
    if (!quic_crypto_init())
        return NULL;
    struct quic_table *t = g_new0(struct quic_table, 1);
    t->cfg = cfg;
    t->keylog = keylog;
    t->max_conns = max_conns ? max_conns : QUIC_TABLE_DEFAULT_MAX_CONNS;
    t->max_bytes = QUIC_TABLE_MAX_BYTES;
    t->by_cid = g_hash_table_new(cid_hash, cid_equal);
    t->by_tuple.key = distinct_process_key(); /* paths.h: the capture picks the addresses */
    t->oldest_active = INT64_MAX;
    t->tracks = g_ptr_array_new();
    t->active = g_array_new(FALSE, FALSE, sizeof(int64_t));
    t->open_keys = g_array_new(FALSE, FALSE, sizeof(uint8_t));
    t->closed = closed;
    t->closed_ctx = ctx;
    t->scratch = g_malloc(MAX_DATAGRAM);
    t->kdf = quic_kdf_new();
    return t;
}

void quic_table_set_max_bytes(struct quic_table *t, size_t max_bytes) { t->max_bytes = max_bytes; }

static void register_cid(struct track *k, const struct quic_cid *cid, int owner)
{
    if (!cid->len || k->n_cids >= MAX_CIDS_PER_CONN)
        return;
    for (unsigned i = 0; i < k->n_cids; i++)
        if (quic_cid_equal(&k->cids[i], cid))
            return;
    if (g_hash_table_contains(k->t->by_cid, cid))
        return; /* another connection's: first come keeps it */
    k->cids[k->n_cids] = *cid;
    k->cid_owner[k->n_cids] = (uint8_t)owner;
    g_hash_table_insert(k->t->by_cid, &k->cids[k->n_cids], k);
    k->t->cid_lens |= 1u << cid->len;
    k->n_cids++;
}

/* The CIDs the handshake has shown so far: the client's original DCID and
 * the server's CID (packets to the server), the client's CID (to the client). */
static void sync_cids(struct track *k)
{
    register_cid(k, &k->sess->original_dcid, 1);
    register_cid(k, &k->sess->initial_dcid, 1);
    register_cid(k, &k->sess->server_cid, 1);
    register_cid(k, &k->sess->client_cid, 0);
}

/* ---- SMB stream ---- */

static void deliver(struct track *k, int dir)
{
    struct quic_reasm *r = &k->stream[dir];
    if (r->contiguous) {
        smb_conn_data(k->smb, dir, r->data, r->contiguous, k->t->now);
        quic_reasm_consume(r, r->contiguous);
    }
}

/* A hole of n bytes in the SMB stream of direction dir: the framer
 * resynchronises after it, and the connection counts it as TCP counts its
 * reassembly gaps (stream.gaps / gap_bytes at close). */
static void stream_gap(struct track *k, int dir, uint64_t n, int64_t ts)
{
    smb_conn_gap(k->smb, dir, n, ts);
    k->stream_dropped += n;
    k->stream_gaps++;
}

static void on_stream(void *ctx, enum quic_dir dir, uint64_t id, uint64_t off, const uint8_t *data, size_t len,
    bool fin)
{
    (void)fin;
    struct track *k = ctx;
    if (k->state != TRACK_SMB || (id & 3) != 0) /* client-initiated bidirectional streams only */
        return;
    if (!k->have_stream) {
        k->have_stream = true;
        k->stream_id = id;
        k->streams = 1;
        k->stream = g_new(struct quic_reasm, 2); /* storage on demand: only out of order */
        quic_reasm_init(&k->stream[0], 0);
        quic_reasm_init(&k->stream[1], 0);
    }
    if (id != k->stream_id) {
        if (id > k->stream_id && (id - k->stream_id) / 4 + 1 > k->streams)
            k->streams = (uint32_t)((id - k->stream_id) / 4 + 1);
        return;
    }
    struct quic_reasm *r = &k->stream[dir];
    /* In order and nothing pending: straight to the framer, no copy. */
    if (off == r->base && r->contiguous == 0 && !r->capped && !quic_reasm_pending(r)) {
        smb_conn_data(k->smb, (int)dir, data, len, k->t->now);
        r->base += len;
        return;
    }
    if (off + len > r->base + QUIC_REASM_CAP) {
        /* A hole the window cannot bridge (packets never captured, or keys
         * that did not open them): the framer is told of a gap of known
         * length and resynchronises after it, as on TCP. */
        deliver(k, (int)dir);
        uint64_t gap = off > r->base ? off - r->base : 0;
        if (gap)
            stream_gap(k, (int)dir, gap, k->t->now);
        quic_reasm_reset(r, off > r->base ? off : r->base);
    }
    quic_reasm_add(r, off, data, len);
    deliver(k, (int)dir);
}

static void on_new_cid(void *ctx, enum quic_dir dir, const struct quic_cid *cid)
{
    /* The sender will receive packets carrying this CID. */
    register_cid(ctx, cid, dir == QUIC_FROM_CLIENT ? 0 : 1);
}

/* ---- tracks ---- */

static size_t track_secret(void *ctx, const uint8_t random[32], enum quic_secret_kind kind, uint8_t *out, size_t cap)
{
    struct track *k = ctx;
    return keylog_lookup(k->t->keylog, random, kind, out, cap);
}

static struct track *track_new(struct quic_table *t, const struct packet *pkt)
{
    struct track *k = g_aligned_alloc0(1, sizeof *k, TRACK_ALIGN);
    k->t = t;
    k->addr[0] = pkt->src;
    k->addr[1] = pkt->dst;
    k->port[0] = pkt->sport;
    k->port[1] = pkt->dport;
    k->first_ts = pkt->ts_us;
    /* Their storage comes with the CRYPTO bytes, sized by them (a
     * ClientHello is a kilobyte or two), and goes once they are read. */
    k->crypto = g_new(struct quic_reasm, 2);
    quic_reasm_init(&k->crypto[0], 0);
    quic_reasm_init(&k->crypto[1], 0);
    struct quic_session_hooks hooks = {
        .ctx = k,
        .secret = t->keylog ? track_secret : NULL,
        .stream = on_stream,
        .new_cid = on_new_cid,
        .kdf = t->kdf,
    };
    k->sess = spare_get(&t->spare_sess, sizeof *k->sess);
    quic_session_init(k->sess, &hooks);
    k->sess->crypto[0] = &k->crypto[0];
    k->sess->crypto[1] = &k->crypto[1];
    return k;
}

/* A pair of reassembly buffers and their storage. */
static void reasm_pair_free(struct quic_reasm *r)
{
    if (!r)
        return;
    quic_reasm_release(&r[0]);
    quic_reasm_release(&r[1]);
    g_free(r);
}

static size_t reasm_pair_cost(const struct quic_reasm *r)
{
    return r ? 2 * sizeof *r + quic_reasm_storage(&r[0]) + quic_reasm_storage(&r[1]) : 0;
}

/* The CRYPTO buffers go (both hellos read, or nothing more to learn). */
static void drop_crypto(struct track *k)
{
    reasm_pair_free(k->crypto);
    k->crypto = NULL;
    if (k->sess)
        k->sess->crypto[0] = k->sess->crypto[1] = NULL;
}

/* What a track holds: itself, its session and the key sets it opened, its
 * buffers' storage, its SMB connection's records.  The table's budget is
 * over these (the indexes add a few dozen bytes a track). */
static size_t track_cost(const struct track *k)
{
    size_t n = sizeof *k + reasm_pair_cost(k->crypto) + reasm_pair_cost(k->stream);
    if (k->sess) /* a parked key set holds its 64 bytes of keys in the session, no handles */
        n += sizeof *k->sess + quic_session_open_keys(k->sess) * KEY_SET_BYTES;
    if (k->smb)
        n += sizeof *k->smb + (k->smb->quic ? sizeof *k->smb->quic : 0);
    return n;
}

static void track_free(struct track *k)
{
    if (k->sess)
        quic_session_clear(k->sess);
    spare_put(&k->t->spare_sess, k->sess);
    reasm_pair_free(k->crypto);
    reasm_pair_free(k->stream);
    if (k->smb)
        smb_conn_free(k->smb);
    g_aligned_free(k);
}

static void copy_facts(struct track *k)
{
    /* Allocated here, when the session's facts are copied (it retires or
     * closes): while the session is there it holds them, and the copy's
     * 2,352 bytes were a third of what a connection at rest holds.  Only
     * a closed connection's facts are read (reports, merge state). */
    if (!k->smb->quic)
        k->smb->quic = g_new0(struct smb_conn_quic, 1);
    struct smb_conn_quic *q = k->smb->quic;
    const struct quic_session *s = k->sess;
    q->version = s->version;
    memcpy(q->sni, s->client_hello.sni, sizeof q->sni);
    q->alpn_count = s->client_hello.alpn_count;
    q->alpn_truncated = s->client_hello.alpn_truncated;
    memcpy(q->alpn, s->client_hello.alpn, sizeof q->alpn);
    q->cipher = s->server_hello_seen ? s->cipher : 0;
    q->retry = s->retry_seen;
    q->handshake_completed = s->server_handshake_seen;
    q->handshake_done = s->handshake_done;
    q->decrypted = s->decrypted[0][QUIC_SPACE_APP] || s->decrypted[1][QUIC_SPACE_APP];
    q->client_hellos = s->client_hellos;
    q->zero_rtt = s->zero_rtt;
    q->undecryptable = s->undecryptable[0] + s->undecryptable[1];
    q->streams = k->streams;
    q->stream_bytes_dropped = k->stream_dropped;
    q->crypto_capped = s->crypto_capped;
}

/* Packets whose keys were known but did not open them (damaged in the
 * capture): a decode loss when the connection is or could be SMB.  Called
 * once, when the session goes. */
static void count_undecryptable(struct track *k)
{
    if (k->state != TRACK_NOT_SMB)
        k->t->stats.undecryptable += k->sess->undecryptable[0] + k->sess->undecryptable[1];
}

/* Nothing more to learn from this connection's packets: its facts are
 * copied (SMB) and the session, keys and buffers go; from now on each packet
 * costs one look-up and two counters. */
static void retire(struct track *k)
{
    if (k->state == TRACK_SMB)
        copy_facts(k);
    count_undecryptable(k);
    quic_session_clear(k->sess);
    spare_put(&k->t->spare_sess, k->sess);
    k->sess = NULL;
    drop_crypto(k);
}

/* After the ClientHello: SMB (ALPN "smb") or not.  A connection that is not
 * SMB drops its buffers and keys; its packets are only counted from now on. */
static void decide(struct track *k)
{
    struct quic_table *t = k->t;
    if (!tls_alpn_has(&k->sess->client_hello, SMB_QUIC_ALPN)) {
        k->state = TRACK_NOT_SMB;
        t->stats.other_conns++;
        retire(k);
        return;
    }
    k->state = TRACK_SMB;
    t->stats.smb_conns++;
    k->smb = smb_conn_new_endpoints(t->cfg, k->addr, k->port, 0, false);
    k->smb->obs.carrier = CARRIER_QUIC; /* its facts (smb->quic) come with copy_facts() */
}

/* The track's cost and open key sets counted again, nothing more. */
static void recount(struct quic_table *t, struct track *k)
{
    size_t c = track_cost(k);
    t->bytes = t->bytes - k->cost + c;
    k->cost = (uint32_t)c;
    uint8_t *open = &g_array_index(t->open_keys, uint8_t, k->index);
    t->open_total -= *open;
    *open = k->sess ? (uint8_t)quic_session_open_keys(k->sess) : 0;
    t->open_total += *open;
}

/* Over the budget, before anything closes: the key sets of the least
 * recently active connections are parked (their cipher handles, about
 * 4 KiB a set, given back; the 64 bytes of keys kept), those last active in
 * the older half of the time since the oldest of them, never keep's.
 * Lossless: a parked connection's next packet opens its set again and
 * decrypts exactly as before.  Returns the bytes it gave back (0: no
 * other connection had an open set). */
static size_t park_older(struct quic_table *t, const struct track *keep)
{
    const int64_t *active = (const int64_t *)(void *)t->active->data;
    const uint8_t *open = (const uint8_t *)t->open_keys->data;
    guint skip = keep ? keep->index : G_MAXUINT;
    if (t->open_total <= (keep ? open[skip] : 0u))
        return 0; /* no other connection has a set open: no pass over them */
    int64_t oldest = INT64_MAX;
    for (guint i = 0; i < t->tracks->len; i++)
        if (open[i] && i != skip && active[i] < oldest)
            oldest = active[i];
    if (oldest == INT64_MAX)
        return 0;
    int64_t upto = t->now > oldest ? oldest + (t->now - oldest) / 2 : oldest;
    size_t before = t->bytes;
    for (guint i = 0; i < t->tracks->len; i++)
        if (open[i] && i != skip && active[i] <= upto) {
            struct track *k = g_ptr_array_index(t->tracks, i);
            quic_session_park_keys(k->sess, true);
            recount(t, k);
            t->work.parks++;
        }
    return before - t->bytes;
}

/* Over the byte budget (need more to come): idle connections close, the
 * key sets of the least recently active are parked, then the least
 * recently active close, never keep (the one being fed), counted as the
 * count cap's evictions are. */
static void make_room(struct quic_table *t, size_t need, const struct track *keep)
{
    if (t->bytes + need <= t->max_bytes)
        return;
    if (t->oldest_active < INT64_MAX && t->oldest_active + IDLE_US < t->now)
        sweep(t);
    while (t->bytes + need > t->max_bytes && park_older(t, keep))
        ;
    while (t->bytes + need > t->max_bytes && evict_oldest(t, keep))
        ;
}

/* The track's cost counted again (after a datagram, a decision, a retire).
 * Near the budget, a connection that now waits for its peer (a handshake,
 * or SMB without the key log: a server's flight at most is left to read)
 * parks its key sets at once: its next packet opens them again, and a pass
 * of park_older() over every connection is not needed for each new one. */
static void account(struct quic_table *t, struct track *k)
{
    recount(t, k);
    if (t->bytes > t->max_bytes - t->max_bytes / 4 && k->sess &&
        (k->state == TRACK_HANDSHAKE || (k->state == TRACK_SMB && !t->keylog)) &&
        g_array_index(t->open_keys, uint8_t, k->index)) {
        quic_session_park_keys(k->sess, true);
        recount(t, k);
    }
    if (t->bytes > t->work.state_bytes_peak)
        t->work.state_bytes_peak = t->bytes;
    if (t->bytes > t->max_bytes)
        make_room(t, 0, k);
}

static void feed_session(struct quic_table *t, struct track *k, int dir, const struct packet *pkt);

static void feed(struct quic_table *t, struct track *k, int dir, const struct packet *pkt)
{
    k->packets[dir]++;
    k->bytes[dir] += pkt->payload_wire_len;
    k->last_ts = pkt->ts_us;
    g_array_index(t->active, int64_t, k->index) = pkt->ts_us;
    if (pkt->ts_us < t->oldest_active)
        t->oldest_active = pkt->ts_us;
    t->stats.quic_datagrams++;
    if (!k->sess)
        return; /* the look-up was the cost */
    feed_session(t, k, dir, pkt);
    account(t, k);
}

static void feed_session(struct quic_table *t, struct track *k, int dir, const struct packet *pkt)
{
    t->work.session_datagrams++;
    quic_session_datagram(k->sess, (enum quic_dir)dir, pkt->payload, pkt->payload_len, t->scratch, MAX_DATAGRAM);
    if (k->state == TRACK_HANDSHAKE || !k->sess->server_handshake_seen)
        sync_cids(k);
    if (k->state == TRACK_HANDSHAKE && k->sess->client_hello_seen)
        decide(k);
    if (k->state == TRACK_NOT_SMB)
        return;
    /* Both hellos read: the CRYPTO buffers are no longer needed. */
    if (k->crypto && k->sess->client_hello_seen && k->sess->server_hello_seen)
        drop_crypto(k);
    /* Without a key log, the server's Handshake packets are the last thing
     * an SMB connection can show. */
    if (!k->t->keylog && k->state == TRACK_SMB && !k->crypto && k->sess->server_handshake_seen)
        retire(k);
    /* With it, once 1-RTT decrypts both ways only the 1-RTT keys are in
     * use: the Initial and Handshake sets are parked (4 of a connection's
     * 6; again after a late packet of theirs opened one). */
    else if (k->state == TRACK_SMB && k->sess && quic_session_handshake_keys_open(k->sess) &&
             quic_session_app_confirmed(k->sess))
        quic_session_park_keys(k->sess, false);
}

/* A track by connection ID, for a short header from an unknown 4-tuple (a
 * migrated or NAT-rebound path; RFC 9000 9: not before the handshake, so
 * long headers are never matched this way): the DCID is tried at each
 * length some registered CID has. */
static struct track *by_cid(struct quic_table *t, const struct packet *pkt, int *dir)
{
    const uint8_t *p = pkt->payload;
    size_t n = pkt->payload_len;
    struct quic_cid cid;
    struct track *k = NULL;
    /* A short header (RFC 9000 17.3: form bit 0, fixed bit 1), read in place
     * as quic_parse_header() reads one: most UDP that is not QUIC stops here,
     * the rest costs one look-up per CID length in use (shortest first). */
    if ((p[0] & 0xC0) != 0x40)
        return NULL;
    memset(&cid, 0, sizeof cid);
    for (uint32_t lens = t->cid_lens & ~1u; lens && !k; lens &= lens - 1) {
        unsigned len = (unsigned)__builtin_ctz(lens);
        if (len > QUIC_MAX_CID || n < 1 + (size_t)len + 1)
            continue;
        cid.len = (uint8_t)len;
        memcpy(cid.id, p + 1, len);
        t->work.index_lookups++;
        k = g_hash_table_lookup(t->by_cid, &cid);
    }
    if (!k)
        return NULL;
    for (unsigned i = 0; i < k->n_cids; i++)
        if (quic_cid_equal(&k->cids[i], &cid))
            *dir = k->cid_owner[i] == 1 ? 0 : 1;
    return k;
}

static struct track *lookup(struct quic_table *t, const struct packet *pkt, int *dir)
{
    if (quic_paths_may_hold(&t->by_tuple, pkt->sport, pkt->dport)) {
        bool src_is_a = false;
        t->work.index_lookups++;
        struct track *k = quic_paths_lookup(&t->by_tuple, &pkt->src, pkt->sport, &pkt->dst, pkt->dport, &src_is_a);
        if (k) {
            *dir = src_is_a == k->client_is_a ? 0 : 1;
            return k;
        }
    }
    return g_hash_table_size(t->by_cid) ? by_cid(t, pkt, dir) : NULL;
}

/* A client Initial that decrypts with its DCID's keys starts a connection. */
static void try_start(struct quic_table *t, const struct packet *pkt)
{
    struct quic_header h;
    if (pkt->payload_len < QUIC_MIN_INITIAL_DATAGRAM || !quic_looks_long(pkt->payload, pkt->payload_len)
        || !quic_parse_header(pkt->payload, pkt->payload_len, 0, &h) || h.type != QUIC_PKT_INITIAL)
        return;
    if (t->tracks->len >= t->max_conns)
        sweep(t);
    if (t->tracks->len >= t->max_conns)
        evict_oldest(t, NULL);
    /* room for what a handshake holds before its ClientHello is read */
    make_room(t, sizeof(struct track) + sizeof(struct quic_session) + KEY_SET_BYTES, NULL);
    struct track *k = track_new(t, pkt);
    t->work.session_datagrams++;
    quic_session_datagram(k->sess, QUIC_FROM_CLIENT, pkt->payload, pkt->payload_len, t->scratch, MAX_DATAGRAM);
    if (!k->sess->decrypted[0][QUIC_SPACE_INITIAL]) {
        t->stats.decrypt_failures++;
        track_free(k);
        return;
    }
    t->stats.conns++;
    k->index = t->tracks->len;
    g_ptr_array_add(t->tracks, k);
    g_array_append_val(t->active, pkt->ts_us);
    uint8_t none = 0; /* recount() counts its sets */
    g_array_append_val(t->open_keys, none);
    k->client_is_a = quic_path_canon_side(&k->addr[0], k->port[0], &k->addr[1], k->port[1], &k->tuple);
    if (!quic_paths_add(&t->by_tuple, &k->tuple, k))
        g_error("out of memory for the QUIC path index"); /* as g_hash_table_insert would abort */
    k->packets[0] = 1;
    k->bytes[0] = pkt->payload_wire_len;
    k->last_ts = pkt->ts_us;
    if (pkt->ts_us < t->oldest_active)
        t->oldest_active = pkt->ts_us;
    t->stats.quic_datagrams++;
    sync_cids(k);
    if (k->sess->client_hello_seen)
        decide(k);
    account(t, k);
}

void quic_table_packet(struct quic_table *t, const struct packet *pkt)
{
    if (!pkt->payload_len || pkt->payload_len > MAX_DATAGRAM)
        return;
    t->stats.datagrams++;
    t->now = pkt->ts_us;
    if (t->stats.datagrams % SWEEP_EVERY == 0 && t->oldest_active < INT64_MAX && t->oldest_active + IDLE_US < t->now)
        sweep(t);
    int dir = 0;
    uint64_t lookups = t->work.index_lookups;
    struct track *k = lookup(t, pkt, &dir);
    if (!k) {
        try_start(t, pkt);
        return;
    }
    if (!k->sess) {
        t->work.retired_datagrams++;
        t->work.retired_lookups += t->work.index_lookups - lookups;
    }
    feed(t, k, dir, pkt);
}

struct quic_table_work quic_table_work(const struct quic_table *t)
{
    struct quic_table_work w = t->work;
    w.state_bytes = t->bytes;
    return w;
}

/* The connection ends: what waited behind a hole in the SMB stream is
 * delivered after a gap of the hole's length. */
static void flush_stream(struct track *k)
{
    for (int dir = 0; k->stream && dir < 2; dir++) {
        uint32_t hole;
        while ((hole = quic_reasm_skip_hole(&k->stream[dir])) != 0) {
            stream_gap(k, dir, hole, k->last_ts);
            deliver(k, dir);
        }
    }
}

/* End a track: an SMB one goes to the output, then its keys go. */
static void track_close(struct quic_table *t, struct track *k, const char *reason)
{
    if (k->state == TRACK_SMB) {
        flush_stream(k);
        if (k->sess)
            copy_facts(k);
        struct smb_conn *s = k->smb;
        k->smb = NULL;
        s->gaps += k->stream_gaps; /* the member TCP connections fill from reassembly */
        s->gap_bytes += k->stream_dropped;
        if (smb_conn_close_endpoints(s, k->first_ts, k->last_ts, k->bytes, k->packets, reason))
            t->closed(t->closed_ctx, s);
        else
            smb_conn_free(s);
    }
    if (k->sess)
        count_undecryptable(k);
    for (unsigned i = 0; i < k->n_cids; i++)
        if (g_hash_table_lookup(t->by_cid, &k->cids[i]) == k)
            g_hash_table_remove(t->by_cid, &k->cids[i]);
    quic_paths_remove(&t->by_tuple, &k->tuple);
    t->bytes -= k->cost;
    track_free(k);
}

/* tracks[i] leaves both arrays; the last one takes its place. */
static void tracks_remove_at(struct quic_table *t, guint i)
{
    g_ptr_array_remove_index_fast(t->tracks, i);
    g_array_remove_index_fast(t->active, i);
    t->open_total -= g_array_index(t->open_keys, uint8_t, i);
    g_array_remove_index_fast(t->open_keys, i);
    if (i < t->tracks->len)
        ((struct track *)g_ptr_array_index(t->tracks, i))->index = i;
}

/* A connection closed now could still have shown SMB evidence (quic_table.h,
 * evictions_lost): its ClientHello not read yet (it may be SMB), or an SMB
 * connection whose streams the key log opens.  Without a key log an SMB
 * connection has nothing more for the policy (its content is hidden, judged
 * as such); one not SMB has nothing at all. */
static bool evidence_at_stake(const struct track *k)
{
    return k->state == TRACK_HANDSHAKE || (k->state == TRACK_SMB && k->sess && k->t->keylog);
}

/* At a cap: the least recently active connection but keep makes room
 * (counted).  False: none to close. */
static bool evict_oldest(struct quic_table *t, const struct track *keep)
{
    const int64_t *active = (const int64_t *)(void *)t->active->data;
    guint skip = keep ? keep->index : G_MAXUINT, oldest = G_MAXUINT;
    for (guint i = 0; i < t->tracks->len; i++)
        if (i != skip && (oldest == G_MAXUINT || active[i] < active[oldest]))
            oldest = i;
    if (oldest == G_MAXUINT)
        return false;
    struct track *k = g_ptr_array_index(t->tracks, oldest);
    t->stats.evictions_lost += evidence_at_stake(k);
    track_close(t, k, "evicted");
    tracks_remove_at(t, oldest);
    t->stats.evictions++;
    return true;
}

static void sweep(struct quic_table *t)
{
    t->work.sweeps++;
    t->work.sweep_visits += t->tracks->len;
    int64_t oldest = INT64_MAX;
    for (guint i = 0; i < t->tracks->len;) {
        int64_t last = g_array_index(t->active, int64_t, i);
        if (last + IDLE_US < t->now) {
            track_close(t, g_ptr_array_index(t->tracks, i), "idle");
            tracks_remove_at(t, i);
        } else {
            if (last < oldest)
                oldest = last;
            i++;
        }
    }
    t->oldest_active = oldest;
}

void quic_table_list_open(const struct quic_table *t, void (*fn)(void *ctx, const struct quic_table_open *o),
                          void *ctx)
{
    for (guint i = 0; i < t->tracks->len; i++) {
        const struct track *k = g_ptr_array_index(t->tracks, i);
        struct quic_table_open o;
        memset(&o, 0, sizeof o);
        for (int d = 0; d < 2; d++) {
            o.addr[d] = k->addr[d];
            o.port[d] = k->port[d];
        }
        o.first_ts = k->first_ts;
        o.last_ts = k->last_ts;
        o.smb = k->state == TRACK_SMB;
        o.decided = k->state != TRACK_HANDSHAKE;
        if (k->sess && !k->sess->server_hello_seen && k->sess->keys[QUIC_SPACE_INITIAL][0].ready) {
            o.version = k->sess->version;
            o.initial_dcid = k->sess->initial_dcid;
        }
        if (k->sess) {
            o.cipher = k->sess->server_hello_seen ? k->sess->cipher : 0;
            o.server_handshake = k->sess->server_handshake_seen;
            o.hello_pending = k->crypto && k->crypto[0].contiguous > 0;
        }
        for (int d = 0; d < 2; d++) {
            o.packets[d] = k->packets[d];
            o.bytes[d] = k->bytes[d];
        }
        fn(ctx, &o);
    }
}

void quic_table_finish(struct quic_table *t)
{
    for (guint i = 0; i < t->tracks->len; i++)
        track_close(t, g_ptr_array_index(t->tracks, i), "end of capture");
    g_ptr_array_set_size(t->tracks, 0);
    g_array_set_size(t->active, 0);
    g_array_set_size(t->open_keys, 0);
    t->open_total = 0;
}

struct quic_table_stats quic_table_stats(const struct quic_table *t) { return t->stats; }

void quic_table_fold_stats(struct quic_table *t, const struct quic_table_stats *s)
{
    t->stats.datagrams += s->datagrams;
    t->stats.quic_datagrams += s->quic_datagrams;
    t->stats.conns += s->conns;
    t->stats.smb_conns += s->smb_conns;
    t->stats.other_conns += s->other_conns;
    t->stats.evictions += s->evictions;
    t->stats.evictions_lost += s->evictions_lost;
    t->stats.decrypt_failures += s->decrypt_failures;
    t->stats.undecryptable += s->undecryptable;
}

void quic_table_unjoin(struct quic_table *t, uint64_t n) { t->stats.conns -= n <= t->stats.conns ? n : t->stats.conns; }

static uint64_t less(uint64_t have, uint64_t n) { return have - (n <= have ? n : have); }

void quic_table_unjoin_stats(struct quic_table *t, const struct quic_table_stats *s)
{
    t->stats.conns = less(t->stats.conns, s->conns);
    t->stats.smb_conns = less(t->stats.smb_conns, s->smb_conns);
    t->stats.other_conns = less(t->stats.other_conns, s->other_conns);
    t->stats.decrypt_failures = less(t->stats.decrypt_failures, s->decrypt_failures);
}

void quic_table_free(struct quic_table *t)
{
    if (!t)
        return;
    for (guint i = 0; i < t->tracks->len; i++)
        track_free(g_ptr_array_index(t->tracks, i));
    g_ptr_array_free(t->tracks, TRUE);
    g_array_free(t->active, TRUE);
    g_array_free(t->open_keys, TRUE);
    g_hash_table_destroy(t->by_cid);
    quic_paths_free(&t->by_tuple);
    spare_free(&t->spare_sess);
    g_free(t->scratch);
    quic_kdf_free(t->kdf);
    g_free(t);
}
