/* quic_session.c - one QUIC connection's packets; see quic_session.h. */
#include "quic_session.h"

#include <string.h>

/* A session re-derives Initial keys when a client Initial names a new DCID
 * (after a Retry).  More than this many different DCIDs is not a real
 * client: stop spending HMACs on it. */
#define MAX_KEY_DERIVATIONS 4

void quic_session_init(struct quic_session *s, const struct quic_session_hooks *hooks)
{
    memset(s, 0, sizeof *s);
    for (int sp = 0; sp < QUIC_SPACE_COUNT; sp++)
        s->largest_pn[sp][0] = s->largest_pn[sp][1] = UINT64_MAX;
    if (hooks)
        s->hooks = *hooks;
}

void quic_session_clear(struct quic_session *s)
{
    for (int sp = 0; sp < QUIC_SPACE_COUNT; sp++)
        for (int d = 0; d < 2; d++)
            quic_keys_clear(&s->keys[sp][d]);
    s->open_mask = s->open_sets = 0;
    s->keys_changed = false;
}

/* open_mask again, after key sets were derived, opened or parked (not on
 * every datagram: the six sets are six cache lines). */
static void count_open(struct quic_session *s)
{
    uint8_t m = 0, n = 0;
    for (int sp = 0; sp < QUIC_SPACE_COUNT; sp++)
        for (int d = 0; d < 2; d++)
            if (quic_keys_open(&s->keys[sp][d])) {
                m |= (uint8_t)(1u << (sp * 2 + d));
                n++;
            }
    s->open_mask = m;
    s->open_sets = n;
    s->keys_changed = false;
}

void quic_session_park_keys(struct quic_session *s, bool app)
{
    for (int sp = 0; sp < QUIC_SPACE_COUNT; sp++)
        if (app || sp != QUIC_SPACE_APP)
            for (int d = 0; d < 2; d++)
                if (s->open_mask & (1u << (sp * 2 + d)))
                    quic_keys_park(&s->keys[sp][d]);
    count_open(s);
}

bool quic_session_app_confirmed(const struct quic_session *s)
{
    return s->decrypted[QUIC_FROM_CLIENT][QUIC_SPACE_APP] && s->decrypted[QUIC_FROM_SERVER][QUIC_SPACE_APP];
}

static bool derive_initial(struct quic_session *s, const struct quic_cid *dcid)
{
    if (s->keys[QUIC_SPACE_INITIAL][0].ready && quic_cid_equal(dcid, &s->initial_dcid))
        return true;
    if (s->key_derivations >= MAX_KEY_DERIVATIONS)
        return false;
    s->key_derivations++;
    s->keys_changed = true;
    uint8_t c[32], sv[32];
    if (!quic_initial_secrets_kdf(s->hooks.kdf, s->vinfo, dcid, c, sv))
        return false;
    s->initial_dcid = *dcid;
    s->largest_pn[QUIC_SPACE_INITIAL][0] = s->largest_pn[QUIC_SPACE_INITIAL][1] = UINT64_MAX;
    /* Most QUIC seen is not SMB and is judged on the client's first flight:
     * the server's keys wait until a server Initial comes. */
    quic_keys_clear(&s->keys[QUIC_SPACE_INITIAL][1]);
    memcpy(s->server_initial_secret, sv, 32);
    s->server_initial_pending = true;
    return quic_keys_from_secret_kdf(s->hooks.kdf, &s->keys[QUIC_SPACE_INITIAL][0], s->vinfo,
        QUIC_SUITE_AES_128_GCM_SHA256, c, 32);
}

static void derive_server_initial(struct quic_session *s)
{
    if (!s->server_initial_pending)
        return;
    s->server_initial_pending = false;
    s->keys_changed = true;
    quic_keys_from_secret_kdf(s->hooks.kdf, &s->keys[QUIC_SPACE_INITIAL][1], s->vinfo, QUIC_SUITE_AES_128_GCM_SHA256,
        s->server_initial_secret, 32);
}

/* Handshake and 1-RTT keys from the key log, tried once per space when the
 * ServerHello has named the suite. Tries the first ClientHello's random
 * (what tshark keys by) and then the latest one. */
static void derive_from_keylog(struct quic_session *s, enum quic_space sp)
{
    if (s->keys_tried[sp] || !s->hooks.secret || !s->server_hello_seen || !quic_suite_supported(s->cipher))
        return;
    s->keys_tried[sp] = true;
    enum quic_secret_kind kinds[2] = {
        sp == QUIC_SPACE_HANDSHAKE ? QUIC_SECRET_CLIENT_HANDSHAKE : QUIC_SECRET_CLIENT_TRAFFIC_0,
        sp == QUIC_SPACE_HANDSHAKE ? QUIC_SECRET_SERVER_HANDSHAKE : QUIC_SECRET_SERVER_TRAFFIC_0,
    };
    const uint8_t *randoms[2] = { s->first_random, s->client_hello.random };
    for (int d = 0; d < 2; d++) {
        for (int r = 0; r < 2 && !s->keys[sp][d].ready; r++) {
            uint8_t secret[QUIC_MAX_SECRET];
            size_t n = s->hooks.secret(s->hooks.ctx, randoms[r], kinds[d], secret, sizeof secret);
            if (n) {
                quic_keys_from_secret_kdf(s->hooks.kdf, &s->keys[sp][d], s->vinfo, s->cipher, secret, n);
                s->keys_changed = true;
            }
        }
    }
}

struct frame_ctx {
    struct quic_session *s;
    enum quic_dir dir;
    enum quic_space space;
};

/* The handshake message at p, if avail holds all of it: a ClientHello or
 * ServerHello read (anything else or malformed: skipped).  Returns the bytes
 * it took (0: not complete yet). */
static size_t hello_at(struct quic_session *s, enum quic_dir dir, const uint8_t *p, size_t avail)
{
    size_t need = tls_handshake_len(p, avail);
    if (!need || need > avail)
        return 0;
    struct tls_hello h;
    if (!tls_hello_parse(p, need, &h)) {
        s->malformed++;
        return need;
    }
    if (dir == QUIC_FROM_CLIENT && h.msg_type == TLS_CLIENT_HELLO) {
        if (!s->client_hello_seen)
            memcpy(s->first_random, h.random, 32);
        s->client_hello = h;
        s->client_hello_seen = true;
        s->client_hellos++;
    } else if (dir == QUIC_FROM_SERVER && h.msg_type == TLS_SERVER_HELLO) {
        s->cipher = h.cipher;
        s->server_hello_seen = true;
    }
    return need;
}

static void try_hello(struct quic_session *s, enum quic_dir dir)
{
    struct quic_reasm *r = s->crypto[dir];
    size_t need = hello_at(s, dir, r->data, r->contiguous);
    if (need)
        quic_reasm_consume(r, (uint32_t)need);
}

static void on_crypto(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    struct frame_ctx *f = ctx;
    struct quic_reasm *r = f->s->crypto[f->dir];
    if (f->space != QUIC_SPACE_INITIAL || !r)
        return;
    /* In order with nothing held (a ClientHello in one Initial, the usual
     * case): its message is read in place, as try_hello() would read it
     * from the buffer, and only what follows it is buffered (for the next
     * frame's try_hello(), as before): no storage for a hello that came
     * whole. */
    size_t used = 0;
    if (data && off == r->base && r->contiguous == 0 && !quic_reasm_pending(r) && len <= QUIC_REASM_CAP) {
        used = hello_at(f->s, f->dir, data, len);
        r->base += used;
    }
    quic_reasm_add(r, off + used, data ? data + used : NULL, len - used);
    if (r->capped)
        f->s->crypto_capped = true;
    if (!used)
        try_hello(f->s, f->dir);
}

static void on_stream(void *ctx, uint64_t id, uint64_t off, const uint8_t *data, size_t len, bool fin)
{
    struct frame_ctx *f = ctx;
    if (f->space == QUIC_SPACE_APP && f->s->hooks.stream)
        f->s->hooks.stream(f->s->hooks.ctx, f->dir, id, off, data, len, fin);
}

static void on_new_cid(void *ctx, uint64_t seq, const struct quic_cid *cid)
{
    (void)seq;
    struct frame_ctx *f = ctx;
    if (f->s->hooks.new_cid)
        f->s->hooks.new_cid(f->s->hooks.ctx, f->dir, cid);
}

static enum quic_space space_of(enum quic_pkt_type t)
{
    return t == QUIC_PKT_INITIAL ? QUIC_SPACE_INITIAL : t == QUIC_PKT_HANDSHAKE ? QUIC_SPACE_HANDSHAKE : QUIC_SPACE_APP;
}

static void on_retry(struct quic_session *s, const struct quic_header *h)
{
    s->retries++;
    s->retry_seen = true;
    s->server_cid = h->scid;
    /* quiche answers a Retry with a new ClientHello: restart the client's
     * CRYPTO stream (the first random is kept for the key log). */
    if (s->crypto[QUIC_FROM_CLIENT])
        quic_reasm_reset(s->crypto[QUIC_FROM_CLIENT], 0);
    derive_initial(s, &h->scid);
}

static bool decrypt_and_walk(struct quic_session *s, enum quic_dir dir, const struct quic_header *h,
    const uint8_t *pkt, uint8_t *scratch, size_t scratch_len)
{
    enum quic_space sp = space_of(h->type);
    if (sp != QUIC_SPACE_INITIAL)
        derive_from_keylog(s, sp);
    else if (dir == QUIC_FROM_SERVER)
        derive_server_initial(s);
    struct quic_keys *k = &s->keys[sp][dir];
    if (!k->ready)
        return false;
    if (!k->aead || !k->hp) { /* parked (quic_session_park_keys): opened again, or no memory */
        s->keys_changed = true;
        if (!quic_keys_resume(k))
            return false;
    }
    struct quic_plain pl;
    enum quic_unprotect_status st =
        quic_unprotect(k, pkt, h->packet_len, h->pn_off, s->largest_pn[sp][dir], scratch, scratch_len, &pl);
    if (st == QUIC_UNPROTECT_AUTH && sp == QUIC_SPACE_APP && pl.key_phase != s->key_phase[dir]) {
        /* RFC 9001 6: the peer flipped the key phase: the next generation.
         * A damaged packet that only looks like a flip must not cost the
         * keys, so the old generation comes back if the new one fails:
         * restored as it was (its header protection is the first
         * generation's, which its secret no longer gives). */
        struct quic_keys prev = *k;
        if (quic_keys_update(k, s->vinfo))
            st = quic_unprotect(k, pkt, h->packet_len, h->pn_off, s->largest_pn[sp][dir], scratch, scratch_len, &pl);
        if (st == QUIC_UNPROTECT_OK)
            s->key_phase[dir] = pl.key_phase;
        else if (!quic_keys_restore(k, &prev))
            quic_keys_clear(k); /* the old key did not take: no keys rather than wrong ones */
        s->keys_changed = true;
    }
    if (st != QUIC_UNPROTECT_OK) {
        s->undecryptable[dir]++;
        return false;
    }
    s->decrypted[dir][sp]++;
    if (s->largest_pn[sp][dir] == UINT64_MAX || pl.pn > s->largest_pn[sp][dir])
        s->largest_pn[sp][dir] = pl.pn;
    struct frame_ctx fc = { s, dir, sp };
    struct quic_frame_sink sink = { &fc, on_crypto, on_stream, on_new_cid, NULL };
    uint32_t done_before = s->frames.handshake_done;
    if (!quic_frames_walk(pl.payload, pl.payload_len, &sink, &s->frames))
        s->malformed++;
    if (s->frames.handshake_done != done_before)
        s->handshake_done = true;
    return true;
}

/* Returns whether the packet decrypted. */
static bool handle_packet(struct quic_session *s, enum quic_dir dir, const struct quic_header *h,
    const uint8_t *pkt, uint8_t *scratch, size_t scratch_len)
{
    s->packets[dir][h->type]++;
    switch (h->type) {
    case QUIC_PKT_VERSION_NEG:
        s->version_negotiation = true;
        return false;
    case QUIC_PKT_OTHER_VERSION:
        return false;
    case QUIC_PKT_RETRY:
        if (dir == QUIC_FROM_SERVER)
            on_retry(s, h);
        return false;
    case QUIC_PKT_0RTT:
        s->zero_rtt++;
        return false;
    case QUIC_PKT_INITIAL:
        if (!s->vinfo) {
            s->vinfo = h->vinfo;
            s->version = h->version;
            s->original_dcid = h->dcid;
        }
        if (dir == QUIC_FROM_CLIENT) {
            s->client_cid = h->scid;
            derive_initial(s, &h->dcid);
        } else {
            s->server_cid = h->scid;
        }
        break;
    case QUIC_PKT_HANDSHAKE:
        if (dir == QUIC_FROM_SERVER)
            s->server_handshake_seen = true;
        break;
    default:
        break;
    }
    if (!s->vinfo)
        return false;
    return decrypt_and_walk(s, dir, h, pkt, scratch, scratch_len);
}

unsigned quic_session_datagram(struct quic_session *s, enum quic_dir dir, const uint8_t *p, size_t len,
    uint8_t *scratch, size_t scratch_len)
{
    unsigned ok = 0;
    /* Short headers carry the receiver's CID without its length. */
    size_t short_len = dir == QUIC_FROM_CLIENT ? s->server_cid.len : s->client_cid.len;
    while (len) {
        struct quic_header h;
        if (!quic_parse_header(p, len, short_len, &h)) {
            /* Trailing zero bytes after coalesced packets are padding, not an error. */
            if (p[0] != 0)
                s->malformed++;
            break;
        }
        if (h.type != QUIC_PKT_VERSION_NEG && h.type != QUIC_PKT_OTHER_VERSION && h.type != QUIC_PKT_RETRY
            && h.type != QUIC_PKT_SHORT && s->vinfo && h.version != s->version) {
            s->malformed++; /* a coalesced packet of another version: not one connection */
            break;
        }
        if (handle_packet(s, dir, &h, p, scratch, scratch_len))
            ok++;
        p += h.packet_len;
        len -= h.packet_len;
    }
    if (s->keys_changed)
        count_open(s);
    return ok;
}

bool quic_datagram_dcid(const uint8_t *p, size_t len, size_t short_len, struct quic_cid *out)
{
    struct quic_header h;
    if (!quic_parse_header(p, len, short_len, &h))
        return false;
    *out = h.dcid;
    return true;
}
