/* ipfrag.c - bounded IP fragment reassembly (see ipfrag.h).
 *
 * Coverage is kept as a bitmap of 8-byte units: RFC 791 and RFC 8200 measure
 * fragment offsets in 8-byte units and require every fragment but the last to
 * be a multiple of 8 bytes long, so a unit is either wholly held or not (the
 * last fragment's final unit is the only partial one and it ends the
 * datagram).  Copying only units not yet held gives "first copy wins". */
#include "ipfrag.h"
#include "packet_priv.h"
#include "wlan_defrag.h"

#include <stdlib.h>
#include <string.h>

#define UNIT 8u

struct frag_slot {
    bool used;
    bool have_total;
    bool have_first;
    uint8_t proto;
    struct ipfrag_key key;
    int64_t first_ts;
    int64_t last_ts;       /* its latest fragment's time, and that fragment's frame: */
    uint32_t last_caplen, last_wirelen;
    uint64_t seq;          /* creation order, for eviction */
    uint32_t extent;       /* highest end offset seen */
    uint32_t total;        /* fragmentable length, once the last fragment is seen */
    uint32_t units_held;
    uint8_t *buf;
    size_t cap;
    uint64_t *bits;        /* one bit per UNIT, words_per_slot words */
};

struct ipfrag_table {
    struct ipfrag_config cfg;
    struct frag_slot *slots;
    uint64_t *bitmaps;
    size_t words_per_slot;
    uint64_t next_seq;
    int64_t oldest_ts;     /* lower bound of first_ts over used slots */
    struct ipfrag_stats st;
    struct wlan_defrag *wlan; /* 802.11 fragments (wlan_defrag.h), made at the first; they share st */
    /* Datagrams dropped incomplete near the start (ipfrag.h: heads), copies */
    int64_t first_frag_ts;  /* the table's first fragment (INT64_MAX: none yet) */
    struct head_copy {
        struct ipfrag_held h; /* its buf and bits are these: */
        uint8_t *buf;
        uint64_t *bits;
    } heads[IPFRAG_HEADS_MAX];
    uint32_t n_heads;
    size_t heads_bytes;
};

void ipfrag_config_default(struct ipfrag_config *cfg)
{
    cfg->max_datagrams = 256;
    cfg->max_datagram_bytes = 65535;
    cfg->max_total_bytes = 4u * 1024u * 1024u;
    cfg->timeout_us = 30 * INT64_C(1000000);
}

struct ipfrag_table *ipfrag_new(const struct ipfrag_config *cfg)
{
    struct ipfrag_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (cfg)
        t->cfg = *cfg;
    else
        ipfrag_config_default(&t->cfg);
    if (t->cfg.timeout_us < 0)
        t->cfg.timeout_us = 0;
    if (t->cfg.max_datagrams == 0)
        t->cfg.max_datagrams = 1;
    if (t->cfg.max_datagram_bytes == 0 || t->cfg.max_datagram_bytes > 0xFFFFFFu)
        t->cfg.max_datagram_bytes = 65535;
    size_t units = (t->cfg.max_datagram_bytes + UNIT - 1) / UNIT;
    t->words_per_slot = (units + 63) / 64;
    t->slots = calloc(t->cfg.max_datagrams, sizeof *t->slots);
    t->bitmaps = calloc((size_t)t->cfg.max_datagrams * t->words_per_slot, sizeof *t->bitmaps);
    if (!t->slots || !t->bitmaps) {
        ipfrag_free(t);
        return NULL;
    }
    for (uint32_t i = 0; i < t->cfg.max_datagrams; i++)
        t->slots[i].bits = t->bitmaps + (size_t)i * t->words_per_slot;
    t->oldest_ts = INT64_MAX;
    t->first_frag_ts = INT64_MAX;
    return t;
}

void ipfrag_free(struct ipfrag_table *t)
{
    if (!t)
        return;
    wlan_defrag_free(t->wlan);
    for (uint32_t i = 0; i < t->n_heads; i++) {
        free(t->heads[i].buf);
        free(t->heads[i].bits);
    }
    if (t->slots)
        for (uint32_t i = 0; i < t->cfg.max_datagrams; i++)
            free(t->slots[i].buf);
    free(t->slots);
    free(t->bitmaps);
    free(t);
}

const struct ipfrag_stats *ipfrag_stats(const struct ipfrag_table *t) { return &t->st; }

struct wlan_defrag *ipfrag_wlan(struct ipfrag_table *t)
{
    if (!t->wlan)
        t->wlan = wlan_defrag_new(&t->st, t->cfg.timeout_us);
    return t->wlan;
}

const struct wlan_defrag *ipfrag_wlan_peek(const struct ipfrag_table *t) { return t->wlan; }

static bool addr_eq(const struct ip_addr *a, const struct ip_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

static bool key_eq(const struct ipfrag_key *a, const struct ipfrag_key *b)
{
    return a->id == b->id && a->proto == b->proto && addr_eq(&a->src, &b->src) && addr_eq(&a->dst, &b->dst);
}

/* Forget a datagram; its buffer is kept for the next one. */
static void slot_release(struct ipfrag_table *t, struct frag_slot *s)
{
    size_t words = ((size_t)(s->extent + UNIT - 1) / UNIT + 63) / 64;
    if (words > t->words_per_slot)
        words = t->words_per_slot;
    memset(s->bits, 0, words * sizeof *s->bits);
    s->used = false;
    s->have_total = s->have_first = false;
    s->extent = s->total = s->units_held = 0;
    t->st.active--;
}

static void held_of(const struct frag_slot *s, enum ipfrag_fate fate, struct ipfrag_held *h)
{
    *h = (struct ipfrag_held){ .key = s->key, .fate = fate, .first_ts = s->first_ts, .last_ts = s->last_ts,
                               .last_caplen = s->last_caplen, .last_wirelen = s->last_wirelen,
                               .have_first = s->have_first, .have_total = s->have_total, .proto = s->proto,
                               .total = s->total, .extent = s->extent, .buf = s->buf, .bits = s->bits };
}

/* A datagram about to be dropped incomplete: a copy kept when it began
 * within the timeout of the table's first fragment (ipfrag.h), room left.
 * Only fragments take this path, and only in a capture's first timeout. */
static void keep_head(struct ipfrag_table *t, const struct frag_slot *s, enum ipfrag_fate fate)
{
    if (t->n_heads >= IPFRAG_HEADS_MAX || s->extent == 0 || s->first_ts < t->first_frag_ts ||
        (uint64_t)s->first_ts - (uint64_t)t->first_frag_ts > (uint64_t)t->cfg.timeout_us ||
        t->heads_bytes + s->extent > IPFRAG_HEADS_BYTES)
        return;
    size_t words = ((size_t)(s->extent + UNIT - 1) / UNIT + 63) / 64;
    uint8_t *buf = malloc(s->extent);
    uint64_t *bits = malloc(words * sizeof *bits);
    if (!buf || !bits) {
        free(buf);
        free(bits);
        return;
    }
    memcpy(buf, s->buf, s->extent);
    memcpy(bits, s->bits, words * sizeof *bits);
    struct head_copy *h = &t->heads[t->n_heads++];
    held_of(s, fate, &h->h);
    h->h.buf = h->buf = buf;
    h->h.bits = h->bits = bits;
    t->heads_bytes += s->extent;
}

/* now - then > timeout, without overflow for any timestamps */
static bool older_than(int64_t now, int64_t then, int64_t timeout)
{
    return now > then && (uint64_t)now - (uint64_t)then > (uint64_t)timeout;
}

void ipfrag_expire(struct ipfrag_table *t, int64_t now_us)
{
    if (t->wlan && now_us == INT64_MAX)
        wlan_defrag_expire(t->wlan, now_us); /* the end of the input (ipfrag_add() expires the IP ones as it goes) */
    if (t->st.active == 0 || !older_than(now_us, t->oldest_ts, t->cfg.timeout_us))
        return;
    int64_t oldest = INT64_MAX;
    for (uint32_t i = 0; i < t->cfg.max_datagrams; i++) {
        struct frag_slot *s = &t->slots[i];
        if (!s->used)
            continue;
        if (older_than(now_us, s->first_ts, t->cfg.timeout_us)) {
            t->st.timed_out++;
            keep_head(t, s, IPFRAG_TIMED_OUT);
            slot_release(t, s);
        } else if (s->first_ts < oldest) {
            oldest = s->first_ts;
        }
    }
    t->oldest_ts = oldest;
}

static struct frag_slot *slot_find(struct ipfrag_table *t, const struct ipfrag_key *key)
{
    for (uint32_t i = 0; i < t->cfg.max_datagrams; i++)
        if (t->slots[i].used && key_eq(&t->slots[i].key, key))
            return &t->slots[i];
    return NULL;
}

static struct frag_slot *slot_take(struct ipfrag_table *t, const struct ipfrag_key *key, int64_t ts)
{
    struct frag_slot *pick = NULL, *oldest = NULL;
    for (uint32_t i = 0; i < t->cfg.max_datagrams && !pick; i++) {
        struct frag_slot *s = &t->slots[i];
        if (!s->used)
            pick = s;
        else if (!oldest || s->seq < oldest->seq)
            oldest = s;
    }
    if (!pick) {
        t->st.evicted++;
        keep_head(t, oldest, IPFRAG_EVICTED);
        slot_release(t, oldest);
        pick = oldest;
    }
    pick->used = true;
    pick->key = *key;
    pick->first_ts = ts;
    pick->seq = t->next_seq++;
    if (ts < t->oldest_ts)
        t->oldest_ts = ts;
    t->st.active++;
    return pick;
}

/* Give back the buffers of idle slots (except keep), to make room. */
static void release_idle_buffers(struct ipfrag_table *t, const struct frag_slot *keep)
{
    for (uint32_t i = 0; i < t->cfg.max_datagrams; i++) {
        struct frag_slot *s = &t->slots[i];
        if (!s->used && s != keep && s->buf) {
            t->st.bytes_allocated -= s->cap;
            free(s->buf);
            s->buf = NULL;
            s->cap = 0;
        }
    }
}

static bool slot_reserve(struct ipfrag_table *t, struct frag_slot *s, uint32_t need)
{
    if (need <= s->cap)
        return true;
    size_t want = s->cap ? s->cap * 2 : 2048;
    while (want < need)
        want *= 2;
    if (want > t->cfg.max_datagram_bytes)
        want = t->cfg.max_datagram_bytes;
    if (want < need)
        return false;
    size_t grow = want - s->cap;
    if (t->st.bytes_allocated + grow > t->cfg.max_total_bytes)
        release_idle_buffers(t, s);
    if (t->st.bytes_allocated + grow > t->cfg.max_total_bytes) {
        /* the exact need may still fit where the doubled size does not */
        want = need;
        grow = want - s->cap;
        if (t->st.bytes_allocated + grow > t->cfg.max_total_bytes)
            return false;
    }
    uint8_t *nb = realloc(s->buf, want);
    if (!nb)
        return false;
    s->buf = nb;
    s->cap = want;
    t->st.bytes_allocated += grow;
    return true;
}

static enum ipfrag_result drop(struct ipfrag_table *t, struct frag_slot *s, uint64_t *counter)
{
    (*counter)++;
    if (s)
        slot_release(t, s);
    return IPFRAG_DROPPED;
}

enum ipfrag_result ipfrag_add(struct ipfrag_table *t, const struct ipfrag_key *key, int64_t ts_us,
                              const struct ipfrag_piece *piece, const uint8_t **out, uint32_t *out_len,
                              uint8_t *out_proto)
{
    t->st.fragments++;
    if (t->first_frag_ts == INT64_MAX)
        t->first_frag_ts = ts_us;
    ipfrag_expire(t, ts_us);

    uint64_t end = (uint64_t)piece->offset + piece->len;
    struct frag_slot *s = slot_find(t, key);
    if (end > t->cfg.max_datagram_bytes)
        return drop(t, s, &t->st.dropped_too_big);
    if (piece->offset % UNIT != 0 || (piece->more && (piece->len == 0 || piece->len % UNIT != 0)))
        return drop(t, s, &t->st.dropped_malformed);
    if (!s)
        s = slot_take(t, key, ts_us);

    if (!piece->more) {
        if ((s->have_total && s->total != end) || end < s->extent)
            return drop(t, s, &t->st.dropped_malformed);
        s->total = (uint32_t)end;
        s->have_total = true;
    } else if (s->have_total && end > s->total) {
        return drop(t, s, &t->st.dropped_malformed);
    }
    if (!slot_reserve(t, s, (uint32_t)end))
        return drop(t, s, &t->st.dropped_memory);
    if (piece->offset == 0) {
        s->have_first = true;
        s->proto = piece->next_proto;
    }

    bool added = false, overlapped = false;
    uint32_t first_unit = piece->offset / UNIT;
    uint32_t end_unit = (uint32_t)((end + UNIT - 1) / UNIT);
    for (uint32_t u = first_unit; u < end_unit; u++) {
        uint64_t mask = UINT64_C(1) << (u % 64);
        if (s->bits[u / 64] & mask) {
            overlapped = true;
            continue;
        }
        uint32_t from = u * UNIT;
        uint32_t to = from + UNIT < end ? from + UNIT : (uint32_t)end;
        memcpy(s->buf + from, piece->data + (from - piece->offset), to - from);
        s->bits[u / 64] |= mask;
        s->units_held++;
        added = true;
    }
    if (end > s->extent)
        s->extent = (uint32_t)end;
    s->last_ts = ts_us;
    s->last_caplen = piece->frame_caplen;
    s->last_wirelen = piece->frame_wirelen;
    if (!added)
        t->st.duplicates++;
    else if (overlapped)
        t->st.overlaps++;

    if (s->have_total && s->have_first && s->units_held == (s->total + UNIT - 1) / UNIT) {
        *out = s->buf;
        *out_len = s->total;
        *out_proto = s->proto;
        t->st.reassembled++;
        slot_release(t, s);
        return IPFRAG_COMPLETE;
    }
    return IPFRAG_HELD;
}

void ipfrag_fold_stats(struct ipfrag_table *t, const struct ipfrag_stats *s)
{
    t->st.fragments += s->fragments;
    t->st.reassembled += s->reassembled;
    t->st.timed_out += s->timed_out;
    t->st.evicted += s->evicted;
    t->st.dropped_too_big += s->dropped_too_big;
    t->st.dropped_memory += s->dropped_memory;
    t->st.dropped_malformed += s->dropped_malformed;
    t->st.duplicates += s->duplicates;
    t->st.overlaps += s->overlaps;
    t->st.active += s->active;
}

bool ipfrag_held_next(const struct ipfrag_table *t, size_t *pos, struct ipfrag_held *out)
{
    for (; *pos < t->cfg.max_datagrams; (*pos)++) {
        const struct frag_slot *s = &t->slots[*pos];
        if (s->used && s->extent) { /* extent 0: nothing held (a slot given only an empty last fragment) */
            held_of(s, IPFRAG_OPEN, out);
            (*pos)++;
            return true;
        }
    }
    size_t h = *pos - t->cfg.max_datagrams;
    if (h >= t->n_heads)
        return false;
    *out = t->heads[h].h;
    (*pos)++;
    return true;
}

void ipfrag_unlose(struct ipfrag_table *t, enum ipfrag_fate fate)
{
    switch (fate) {
    case IPFRAG_OPEN:
        t->st.active -= t->st.active > 0;
        break;
    case IPFRAG_TIMED_OUT:
        t->st.timed_out -= t->st.timed_out > 0;
        break;
    case IPFRAG_EVICTED:
        t->st.evicted -= t->st.evicted > 0;
        break;
    case IPFRAG_FATES:
        break;
    }
}

void ipfrag_count_reassembled(struct ipfrag_table *t) { t->st.reassembled++; }

void ipfrag_wlan_unlose_repeat(struct ipfrag_table *t)
{
    if (!t->st.dropped_malformed)
        return;
    t->st.dropped_malformed--;
    t->st.duplicates++;
}

int64_t ipfrag_timeout(const struct ipfrag_table *t) { return t->cfg.timeout_us; }

static bool v6_extension(uint8_t nh)
{
    return nh == IPPROTO_V6_HOPOPTS || nh == IPPROTO_V6_ROUTING || nh == IPPROTO_V6_DSTOPTS || nh == IPPROTO_V_AH ||
           nh == IPPROTO_V6_FRAGMENT || nh == IPPROTO_V6_NONE;
}

enum packet_status ipfrag_decode(struct packet *pkt, const struct ipfrag_key *key, uint8_t proto, const uint8_t *data,
                                 uint32_t len, int64_t ts_us, uint32_t caplen, uint32_t wirelen,
                                 struct ipfrag_table *frags)
{
    bool v6 = key->src.family == 6;
    memset(pkt, 0, sizeof *pkt);
    pkt->ts_us = ts_us;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen;
    pkt->src = key->src;
    pkt->dst = key->dst;
    pkt->ip_proto = proto;
    /* as packet_ip.c's reassemble() leaves a completed datagram */
    pkt->ip_fragment = true;
    pkt->ip_reassembled = true;
    struct l4_in in = { .proto = proto, .v6 = v6, .w = wire_make(data, len), .wire_len = len,
                        .short_st = PKT_MALFORMED, .frags = frags };
    /* IPv6: the fragmentable part may begin with extension headers (a
     * Destination Options header for the final destination, RFC 8200
     * 4.5); stepped over as packet_ip.c's pkt_decode_ipv6() steps over
     * them after the datagram is reassembled (a second fragment header
     * there is malformed).  Its bound counts the headers before the
     * fragment header too, which merge does not see: only a datagram of
     * more than MAX_IPV6_EXT headers in all can be judged otherwise. */
    for (int i = 0; v6 && v6_extension(in.proto); i++) {
        if (i == MAX_IPV6_EXT)
            return PKT_MALFORMED;
        uint8_t nh = in.proto;
        pkt->ip_proto = nh;
        if (nh == IPPROTO_V6_FRAGMENT)
            return PKT_MALFORMED;
        if (nh == IPPROTO_V6_NONE) {
            pkt->l4 = L4_OTHER;
            return PKT_OK;
        }
        enum packet_status st = pkt_ipv6_ext_step(&in, &in.proto); /* short: PKT_MALFORMED (in.short_st) */
        if (st != PKT_OK)
            return st;
    }
    pkt->ip_proto = in.proto;
    return pkt_decode_l4(pkt, &in);
}
