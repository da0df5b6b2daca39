/* wlan_defrag.c - see wlan_defrag.h. */
#include "wlan_defrag.h"

#include <stdlib.h>
#include <string.h>

struct wlan_slot {
    struct wlan_frag_key key;
    bool used;
    bool broken;       /* a fragment is missing: the MSDU cannot complete, its rest is swallowed */
    bool too_big;      /* over WLAN_MSDU_MAX (or out of memory): cannot complete either */
    unsigned next;     /* the fragment number expected next */
    int64_t first_ts;
    uint64_t age;      /* order of opening: the oldest is evicted first */
    uint32_t len, cap;
    uint8_t *buf;
};

/* An MSDU completed lately: its last fragment sent again (its ACK lost; a
 * monitor capture shows both, the second with the Retry bit) is a
 * duplicate, as a repeat of a held fragment is, not the start of an MSDU
 * whose first fragments were not captured -- when its Retry bit says so: a
 * new MSDU whose sequence number came round within the timeout is sent
 * without it, and is read (review: each such MSDU a
 * "fragmented datagram never completed", PASS turned INCONCLUSIVE, while
 * tshark dissected every SMB frame). */
struct wlan_done {
    struct wlan_frag_key key;
    bool used;
    unsigned last; /* its last fragment's number */
    int64_t ts;    /* when it completed */
};

struct wlan_defrag {
    struct ipfrag_stats *st;
    int64_t timeout_us;
    uint64_t opened;
    struct wlan_slot slots[WLAN_DEFRAG_SLOTS];
    struct wlan_done done[WLAN_DEFRAG_SLOTS]; /* a ring, the oldest written over */
    uint64_t done_next;                       /* MSDUs completed (the ring's next: done_next % SLOTS) */
    struct wlan_retry_rec retries[WLAN_DEFRAG_SLOTS]; /* wlan_defrag_retry_at() */
    unsigned n_retries;
    const uint8_t *last; /* wlan_defrag_last(): NULL once another fragment came */
    uint32_t last_len;
};

struct wlan_defrag *wlan_defrag_new(struct ipfrag_stats *st, int64_t timeout_us)
{
    struct wlan_defrag *d = calloc(1, sizeof *d);
    if (d) {
        d->st = st;
        d->timeout_us = timeout_us;
    }
    return d;
}

void wlan_defrag_free(struct wlan_defrag *d)
{
    if (!d)
        return;
    for (int i = 0; i < WLAN_DEFRAG_SLOTS; i++) {
        d->st->bytes_allocated -= d->slots[i].cap;
        free(d->slots[i].buf);
    }
    free(d);
}

/* The MSDU forgotten (its buffer kept for the next); counter: why it was
 * lost, NULL when it completed. */
static void slot_end(struct wlan_defrag *d, struct wlan_slot *s, uint64_t *counter)
{
    if (counter)
        (*counter)++;
    s->used = false;
    d->st->active--;
}

void wlan_defrag_expire(struct wlan_defrag *d, int64_t now_us)
{
    for (int i = 0; d && i < WLAN_DEFRAG_SLOTS; i++) {
        struct wlan_slot *s = &d->slots[i];
        if (s->used && now_us > s->first_ts && (uint64_t)now_us - (uint64_t)s->first_ts > (uint64_t)d->timeout_us)
            slot_end(d, s, &d->st->timed_out);
    }
}

static bool same_key(const struct wlan_frag_key *a, const struct wlan_frag_key *b)
{
    return a->seq == b->seq && memcmp(a->addrs, b->addrs, sizeof a->addrs) == 0;
}

bool wlan_frag_key_eq(const struct wlan_frag_key *a, const struct wlan_frag_key *b) { return same_key(a, b); }

static struct wlan_slot *slot_find(struct wlan_defrag *d, const struct wlan_frag_key *key)
{
    for (int i = 0; i < WLAN_DEFRAG_SLOTS; i++)
        if (d->slots[i].used && same_key(&d->slots[i].key, key))
            return &d->slots[i];
    return NULL;
}

/* Whether fragment frag of key repeats one of an MSDU completed within
 * the timeout: only its last fragment can be (each earlier one was
 * acknowledged before the next was sent; the last is sent again when its
 * ACK is lost).  Review: any earlier fragment number counted too, and a
 * new MSDU whose 12-bit sequence number came round, its first fragment
 * captured only as a retry, was dropped as a repeat: a lost MSDU and a
 * stream gap where tshark reassembled it. */
static bool done_repeat(const struct wlan_defrag *d, const struct wlan_frag_key *key, unsigned frag, int64_t ts)
{
    for (int i = 0; i < WLAN_DEFRAG_SLOTS; i++) {
        const struct wlan_done *e = &d->done[i];
        if (e->used && same_key(&e->key, key) && frag == e->last && ts >= e->ts &&
            (uint64_t)ts - (uint64_t)e->ts <= (uint64_t)d->timeout_us)
            return true;
    }
    return false;
}

static struct wlan_slot *slot_open(struct wlan_defrag *d, const struct wlan_frag_key *key, int64_t ts)
{
    struct wlan_slot *pick = NULL;
    for (int i = 0; i < WLAN_DEFRAG_SLOTS && !(pick && !pick->used); i++)
        if (!pick || !d->slots[i].used || d->slots[i].age < pick->age)
            pick = &d->slots[i];
    if (pick->used)
        slot_end(d, pick, &d->st->evicted);
    pick->used = true;
    pick->broken = pick->too_big = false;
    pick->key = *key;
    pick->next = 0;
    pick->len = 0;
    pick->first_ts = ts;
    pick->age = d->opened++;
    d->st->active++;
    return pick;
}

static bool slot_append(struct wlan_defrag *d, struct wlan_slot *s, const uint8_t *data, uint32_t len)
{
    uint32_t need = s->len + len;
    if (need > WLAN_MSDU_MAX)
        return false;
    if (need > s->cap) {
        uint32_t want = s->cap ? s->cap : 2048;
        while (want < need)
            want *= 2;
        uint8_t *nb = realloc(s->buf, want);
        if (!nb)
            return false;
        d->st->bytes_allocated += want - s->cap;
        s->buf = nb;
        s->cap = want;
    }
    if (len) /* an empty fragment into a slot never allocated: no memcpy from NULL (UBSan) */
        memcpy(s->buf + s->len, data, len);
    s->len = need;
    return true;
}

enum ipfrag_result wlan_defrag_add(struct wlan_defrag *d, const struct wlan_frag_key *key, unsigned frag, bool more,
                                   bool retry, const uint8_t *data, uint32_t len, int64_t ts_us, const uint8_t **out,
                                   uint32_t *out_len)
{
    d->st->fragments++;
    d->last = NULL;
    wlan_defrag_expire(d, ts_us);
    struct wlan_slot *s = slot_find(d, key);
    if ((s && frag < s->next) || (!s && retry && done_repeat(d, key, frag, ts_us))) { /* a retransmission */
        d->st->duplicates++;
        return IPFRAG_HELD;
    }
    if (!s) {
        /* a lone retried last fragment: the repeat of an MSDU an earlier
         * part may have completed (wlan_defrag.h), kept for merge */
        if (retry && !more && frag && d->done_next < WLAN_DEFRAG_SLOTS && d->n_retries < WLAN_DEFRAG_SLOTS)
            d->retries[d->n_retries++] = (struct wlan_retry_rec){ *key, frag, ts_us, (unsigned)d->done_next };
        s = slot_open(d, key, ts_us);
        s->broken = frag != 0; /* its start was not captured */
    }
    if (frag != s->next)
        s->broken = true; /* a fragment between was not captured */
    s->next = frag + 1;
    if (!s->broken && !slot_append(d, s, data, len))
        s->broken = s->too_big = true; /* the MSDU's other fragments still come here: one loss */
    if (more)
        return IPFRAG_HELD;
    if (s->broken) {
        slot_end(d, s, s->too_big ? &d->st->dropped_too_big : &d->st->dropped_malformed);
        return IPFRAG_HELD;
    }
    slot_end(d, s, NULL);
    d->done[d->done_next++ % WLAN_DEFRAG_SLOTS] = (struct wlan_done){ s->key, true, frag, ts_us };
    d->st->reassembled++;
    *out = d->last = s->buf;
    *out_len = d->last_len = s->len;
    return IPFRAG_COMPLETE;
}

bool wlan_defrag_done_at(const struct wlan_defrag *d, unsigned i, struct wlan_done_rec *out)
{
    uint64_t n = d && d->done_next < WLAN_DEFRAG_SLOTS ? d->done_next : WLAN_DEFRAG_SLOTS;
    if (!d || i >= n)
        return false;
    const struct wlan_done *e = &d->done[(d->done_next - n + i) % WLAN_DEFRAG_SLOTS];
    *out = (struct wlan_done_rec){ e->key, e->last, e->ts };
    return true;
}

bool wlan_defrag_open_next(const struct wlan_defrag *d, unsigned *pos, struct wlan_frag_key *out)
{
    for (; d && *pos < WLAN_DEFRAG_SLOTS; (*pos)++)
        if (d->slots[*pos].used) {
            *out = d->slots[(*pos)++].key;
            return true;
        }
    return false;
}

bool wlan_defrag_retry_at(const struct wlan_defrag *d, unsigned i, struct wlan_retry_rec *out)
{
    if (!d || i >= d->n_retries)
        return false;
    *out = d->retries[i];
    return true;
}

bool wlan_defrag_last(const struct wlan_defrag *d, const uint8_t **out, uint32_t *out_len)
{
    if (!d || !d->last)
        return false;
    *out = d->last;
    *out_len = d->last_len;
    return true;
}
